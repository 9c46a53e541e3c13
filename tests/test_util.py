"""recsys_core.util: atomic writes and JSON-safe values."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from recsys_core.util.files import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    place_folder,
)
from recsys_core.util.jsonsafe import json_default, json_safe


def test_atomic_write_json_writes_numpy_values_as_plain_json(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_json(
        path,
        {"f": np.float32(1.5), "i": np.int64(7), "v": np.arange(3), "t": (1, 2), "p": Path("/x")},
    )
    assert json.loads(path.read_text()) == {
        "f": 1.5,
        "i": 7,
        "v": [0, 1, 2],
        "t": [1, 2],
        "p": "/x",
    }
    assert list(tmp_path.iterdir()) == [path]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"old")

    def fail(temp: Path) -> None:
        temp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


def test_readers_never_see_a_half_written_file(tmp_path):
    path = tmp_path / "big.bin"
    contents = [bytes([n]) * 2_000_000 for n in range(1, 5)]
    atomic_write_bytes(path, contents[0])
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = path.read_bytes()
            seen.add(data[:1] + data[-1:] + len(data).to_bytes(4, "big"))

    reader = threading.Thread(target=read)
    reader.start()
    for data in contents * 3:
        atomic_write_bytes(path, data)
    stop.set()
    reader.join()
    whole = {c[:1] + c[-1:] + len(c).to_bytes(4, "big") for c in contents}
    assert seen <= whole


def _folder(path: Path, content: str, *, whole: bool = True) -> Path:
    path.mkdir()
    (path / "data.txt").write_text(content)
    if whole:
        (path / "done").write_text("")
    return path


def _whole(folder: Path) -> bool:
    return (folder / "done").is_file()


def test_place_folder_puts_a_folder_in_place_and_keeps_a_whole_one_there(tmp_path):
    final = tmp_path / "entry"
    assert place_folder(_folder(tmp_path / ".tmp-1", "first"), final, keep=_whole)
    assert (final / "data.txt").read_text() == "first"
    assert not place_folder(_folder(tmp_path / ".tmp-2", "second"), final, keep=_whole)
    assert (final / "data.txt").read_text() == "first"  # the whole one stays
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_place_folder_replaces_a_folder_that_is_not_whole(tmp_path):
    final = _folder(tmp_path / "entry", "half", whole=False)
    assert place_folder(_folder(tmp_path / ".tmp-1", "new"), final, keep=_whole)
    assert (final / "data.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]  # the old one is gone


def test_concurrent_writers_of_one_folder_leave_one_whole_folder(tmp_path):
    final = tmp_path / "entry"
    barrier = threading.Barrier(6)
    placed: list[bool] = []

    def write(number: int) -> None:
        temp = _folder(tmp_path / f".tmp-{number}", f"writer {number}")
        barrier.wait()
        placed.append(place_folder(temp, final, keep=_whole))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert placed.count(True) == 1 and len(placed) == 6
    assert _whole(final) and (final / "data.txt").read_text().startswith("writer ")
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_json_safe_turns_nan_into_none_and_keys_into_text():
    value = json_safe({1: np.float64("nan"), "x": [np.int32(2), {"y": float("inf")}], "z": {3}})
    assert value == {"1": None, "x": [2, {"y": None}], "z": [3]}
    json.dumps(value, allow_nan=False)
    assert json_safe(float("nan"), nan="n/a") == "n/a"
    assert math.isclose(json_safe(np.float32(0.25)), 0.25)


def test_json_default_refuses_what_json_refuses():
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        json_default(object())
