"""Files are parsed once: the kept arrays under RECSYS_HOME/cache/parsed (datasets/parsed.py).

Every test starts from a RECSYS_HOME of its own (``fresh_home``) and counts the parses by
wrapping ``tabular.load._load_file``, the one function that reads a file.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import mmap
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_core import config
from recsys_core.cli import main
from recsys_core.dataset import Dataset
from recsys_core.datasets import load_dataset, parsed, tabular
from recsys_core.datasets.parsed import keys as parsed_keys
from recsys_core.datasets.parsed import read as parsed_read
from recsys_core.datasets.parsed import write as parsed_write
from recsys_core.datasets.tabular import build
from recsys_core.datasets.tabular import load as tabular_load
from recsys_core.errors import DatasetError

pytestmark = pytest.mark.filterwarnings("ignore:.*duplicate rows:UserWarning")

LIKES = (
    "user,item,weight,timestamp\n"
    + "".join(
        f"u{u},i{(u * 7 + k) % 23},{1 + (u + k) % 3},{1_600_000_000 + 60 * (u * 5 + k)}\n"
        for u in range(40)
        for k in range(5)
    )
    + "u1,i8,3,1600000360\n"
)  # a row identical to an earlier one: a note is kept with the data
ITEMS = "item_id,name,tags,price\n" + "".join(
    f"i{i},Item {i},{'a|b' if i % 2 else ''},{i * 1.5}\n" for i in range(23)
)


@pytest.fixture
def parses(monkeypatch, fresh_home):
    """A list that gets one entry per real parse of a file."""
    calls: list[str] = []
    real = tabular_load._load_file

    def counting(path, **kwargs):
        calls.append(Path(path).name)
        return real(path, **kwargs)

    monkeypatch.setattr(tabular_load, "_load_file", counting)
    return calls


@pytest.fixture
def files(tmp_path):
    (tmp_path / "likes.csv").write_text(LIKES)
    (tmp_path / "items.csv").write_text(ITEMS)
    return tmp_path


def load(path, **options) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tabular.load_file(path, **options)


def entry_folders() -> list[Path]:
    parsed.wait()  # entries are written by a thread once a parse is over
    return sorted(p for p in parsed.root().iterdir() if not p.name.startswith("."))


def assert_same(a: Dataset, b: Dataset) -> None:
    for kind in ("interactions", "ratings", "timestamps"):
        x, y = getattr(a, kind), getattr(b, kind)
        assert (x is None) == (y is None), kind
        if x is not None:
            assert x.shape == y.shape and x.dtype == y.dtype, kind
            for part in ("indptr", "indices", "data"):
                assert np.array_equal(getattr(x, part), getattr(y, part)), (kind, part)
    assert a.user_ids.tolist() == b.user_ids.tolist()
    assert a.item_ids.tolist() == b.item_ids.tolist()
    pd.testing.assert_frame_equal(a.items, b.items)
    assert a.extras == b.extras
    assert (a.name, a.description) == (b.name, b.description)
    assert a.fingerprint == b.fingerprint


def mapped(array) -> bool:
    """Whether an array's memory is a file mapped from disk (the page cache)."""
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def recomputed_fingerprint(dataset: Dataset) -> str:
    return dataset.replace().fingerprint  # a new Dataset computes it from its arrays


# ------------------------------------------------------------------------------ hit and miss
def test_the_second_load_reads_the_kept_arrays(parses, files, monkeypatch):
    monkeypatch.setattr(parsed_read, "MMAP_BYTES", 0)  # map every array, as a large file's are
    with warnings.catch_warnings(record=True) as first_notes:
        warnings.simplefilter("always")
        first = tabular.load_file(files / "likes.csv", items_path=files / "items.csv")
    assert parses == ["likes.csv"]
    with warnings.catch_warnings(record=True) as again_notes:
        warnings.simplefilter("always")
        again = tabular.load_file(files / "likes.csv", items_path=files / "items.csv")
    assert parses == ["likes.csv"]  # not parsed again
    assert_same(first, again)
    assert again.fingerprint == recomputed_fingerprint(again) == recomputed_fingerprint(first)
    assert "item_counts" in again.__dict__  # read back, not counted again
    assert np.array_equal(again.item_counts, again.replace().item_counts)
    assert again.items.loc[again.item_index("i3"), "tags"] == ["a", "b"]
    assert again.extras["duplicates_dropped"] == 1
    notes = [str(w.message) for w in again_notes]
    assert (
        notes
        == [str(w.message) for w in first_notes]
        == ["1 duplicate rows of likes.csv were counted once."]
    )
    assert mapped(again.interactions.indices) and mapped(again.timestamps.data)
    assert not mapped(first.interactions.indices)
    assert not again.interactions.indices.flags.writeable
    # the CLI and the app load through load_dataset: the same entry
    assert load_dataset(str(files / "likes.csv"), items_path=str(files / "items.csv")).n_users
    assert parses == ["likes.csv"] and len(entry_folders()) == 1


def test_ratings_and_timestamps_and_a_parquet_file_round_trip(parses, tmp_path):
    rng = np.random.default_rng(0)
    n = 5_000
    table = pa.table(
        {
            "userId": rng.integers(0, 300, n),
            "movieId": pa.array([f" m{x} " for x in rng.integers(0, 200, n)]),
            "rating": rng.integers(1, 11, n) / 2,
            "timestamp": rng.integers(10**9, 2 * 10**9, n),
        }
    )
    pq.write_table(table, tmp_path / "ratings.parquet")
    first = load(tmp_path / "ratings.parquet", min_rating=3.5)
    again = load(tmp_path / "ratings.parquet", min_rating=3.5)
    assert parses == ["ratings.parquet"]
    assert_same(first, again)
    assert again.ratings is not None and again.timestamps is not None
    assert again.ratings.nnz > again.n_interactions  # ratings below 3.5 are not likes
    assert "m7" in set(again.item_ids) and " m7 " not in set(again.item_ids)
    load(tmp_path / "ratings.parquet")  # another option: another entry
    assert parses == ["ratings.parquet"] * 2 and len(entry_folders()) == 2
    assert np.array_equal(load(tmp_path / "ratings.parquet").ratings.data, first.ratings.data)


def test_an_edited_file_is_parsed_again_even_with_its_size_and_time(parses, files, monkeypatch):
    monkeypatch.setattr(parsed_keys, "_SETTLE_NS", 0)  # remember the hash at once (stat pre-check)
    path = files / "likes.csv"
    first = load(path)
    stamp = os.stat(path)
    load(path)
    assert parses == ["likes.csv"]
    assert list((parsed.root() / ".stamps").iterdir())  # the hash is remembered by stat
    time.sleep(0.05)  # past the file system's time stamp tick
    edited = LIKES.replace("u39,", "u98,")  # the same size
    path.write_text(edited)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # and the same modified time
    assert os.stat(path).st_size == stamp.st_size
    changed = load(path)
    assert parses == ["likes.csv"] * 2
    assert "u98" in set(changed.user_ids) and "u98" not in set(first.user_ids)
    load(path)
    assert parses == ["likes.csv"] * 2


def test_the_content_hash_covers_every_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(parsed_keys, "_HASH_PIECE", 1000)  # many pieces, hashed on every core
    data = bytes(range(256)) * 20  # 5,120 bytes: 6 pieces
    (tmp_path / "a.bin").write_bytes(data)
    expected = hashlib.sha256(len(data).to_bytes(8, "big"))
    for start in range(0, len(data), 1000):
        expected.update(hashlib.sha256(data[start : start + 1000]).digest())
    assert parsed.content_hash(tmp_path / "a.bin") == expected.hexdigest()
    for position in (0, 2500, len(data) - 1):  # an edit in any piece changes it
        edited = bytearray(data)
        edited[position] ^= 1
        (tmp_path / "b.bin").write_bytes(bytes(edited))
        assert parsed.content_hash(tmp_path / "b.bin") != expected.hexdigest()


def test_a_renamed_copy_is_not_parsed_again_and_is_named_as_it_is_now(parses, files):
    load(files / "likes.csv", items_path=files / "items.csv")
    (files / "copy").mkdir()
    shutil.copy(files / "likes.csv", files / "copy" / "my likes.csv")
    shutil.copy(files / "items.csv", files / "copy" / "names.csv")
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        copy = tabular.load_file(
            files / "copy" / "my likes.csv", items_path=files / "copy" / "names.csv"
        )
    assert parses == ["likes.csv"]
    assert copy.name == "my likes.csv" and copy.description == "Interactions from my likes.csv"
    assert copy.extras["source_path"] == str(files / "copy" / "my likes.csv")
    assert [str(w.message) for w in notes] == [
        "1 duplicate rows of my likes.csv were counted once."
    ]
    load(files / "copy" / "my likes.csv", items_path=files / "copy" / "names.csv", name="x")
    assert parses == ["likes.csv"]
    (files / "likes.txt").write_text(LIKES)  # a suffix read another way (sniffed)
    load(files / "likes.txt")
    assert parses == ["likes.csv", "likes.txt"]


def test_an_upload_is_parsed_once_for_its_check_and_its_loads(parses):
    from recsys_core.datasets.uploads import save_upload

    spec = save_upload(LIKES.encode(), "Likes.csv", ITEMS.encode(), "Items.csv")
    assert parses == ["interactions.csv"]  # checked in its temporary folder
    dataset = load_dataset(spec)
    assert parses == ["interactions.csv"]
    assert dataset.name == "Likes.csv" and dataset.item_name(dataset.item_index("i3")) == "Item 3"


def test_the_limits_in_force_still_apply_to_a_kept_file(parses, files, monkeypatch):
    load(files / "likes.csv")
    monkeypatch.setenv(tabular.ROWS_ENV, "10")
    with pytest.raises(DatasetError, match=r"^likes.csv has more than 10 rows, the limit here"):
        load(files / "likes.csv")
    monkeypatch.delenv(tabular.ROWS_ENV)
    load(files / "likes.csv")
    assert parses == ["likes.csv"] * 2  # the refused load parsed; the kept copy is still good


def test_without_the_cache_every_load_parses(parses, files, monkeypatch):
    monkeypatch.setenv(parsed.ENV, "0")
    load(files / "likes.csv")
    load(files / "likes.csv")
    assert parses == ["likes.csv"] * 2 and not entry_folders()


def test_a_file_written_while_it_is_parsed_is_not_kept(parses, files):
    path = files / "likes.csv"

    def progress(fraction, message):
        if "u77" not in path.read_text():  # at the first report, the file changes
            with open(path, "a") as handle:
                handle.write("u77,i1,1,1600000000\n")

    load(path, progress=progress)
    assert not entry_folders()
    assert "u77" in set(load(path).user_ids)
    assert parses == ["likes.csv"] * 2 and len(entry_folders()) == 1


def test_a_cache_that_cannot_be_written_costs_nothing_but_the_next_parse(
    parses, files, monkeypatch, caplog
):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parsed_write, "_save", full)
    with caplog.at_level(logging.WARNING, logger=parsed.logger.name):
        dataset = load(files / "likes.csv")
        parsed.wait()
    assert dataset.n_users == 40
    assert not entry_folders()
    assert not [p for p in parsed.root().iterdir() if p.name.startswith(".tmp-")]
    [record] = [r for r in caplog.records if r.name == parsed.logger.name]
    assert record.getMessage().startswith("Could not keep the parsed copy of likes.csv")


# ------------------------------------------------------------------------------ damage
def _truncate(folder: Path) -> None:
    target = folder / "interactions.indices.npy"
    target.write_bytes(target.read_bytes()[:-7])


def _garbage_meta(folder: Path) -> None:
    (folder / "meta.json").write_bytes(b"\x00{not json")


def _wrong_shape(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta["shape"][0] += 1
    (folder / "meta.json").write_text(json.dumps(meta))


def _wrong_dtype(folder: Path) -> None:
    np.save(
        folder / "interactions.data.npy",
        np.load(folder / "interactions.data.npy").astype(np.float64),
    )


def _index_out_of_range(folder: Path) -> None:
    indices = np.load(folder / "interactions.indices.npy")
    indices[3] = 10_000
    np.save(folder / "interactions.indices.npy", indices)


def _negative_index(folder: Path) -> None:
    indices = np.load(folder / "interactions.indices.npy")
    indices[0] = -1
    np.save(folder / "interactions.indices.npy", indices)


def _object_array(folder: Path) -> None:
    ids = np.load(folder / "user_ids.npy")
    planted = np.array([str(x) for x in ids], dtype=object)
    np.save(folder / "user_ids.npy", planted, allow_pickle=True)
    meta = json.loads((folder / "meta.json").read_text())
    meta["arrays"]["user_ids"]["dtype"] = "|O"  # the meta claims it too
    (folder / "meta.json").write_text(json.dumps(meta))


def _object_array_quietly(folder: Path) -> None:
    ids = np.load(folder / "user_ids.npy")
    np.save(folder / "user_ids.npy", np.array(list(ids), dtype=object), allow_pickle=True)


def _counts_off(folder: Path) -> None:
    counts = np.load(folder / "item_counts.npy")
    counts[0] += 1
    np.save(folder / "item_counts.npy", counts)


def _missing(folder: Path) -> None:
    (folder / "item_ids.npy").unlink()


def _items_garbage(folder: Path) -> None:
    (folder / "items.parquet").write_bytes(b"PAR1 not really")


DAMAGE = {
    "truncated npy": (_truncate, "interactions.indices.npy is truncated"),
    "garbage meta": (_garbage_meta, "meta.json is not JSON"),
    "wrong shapes": (_wrong_shape, "matrix does not have the dataset's shape"),
    "wrong dtype": (_wrong_dtype, "does not have the dtype and shape"),
    "index out of range": (_index_out_of_range, "column indices are out of range"),
    "negative index": (_negative_index, "column indices are out of range"),
    "object array in meta": (_object_array, "a dtype the cache never writes"),
    "object array": (_object_array_quietly, "user_ids.npy holds objects"),
    "missing array": (_missing, "item_ids.npy is missing"),
    "counts off": (_counts_off, "item_counts.npy does not count the interactions"),
    "items not parquet": (_items_garbage, "items.parquet is truncated or not parquet"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_entry_is_reported_and_parsed_again(damage, parses, files, monkeypatch, caplog):
    harm, reason = DAMAGE[damage]
    good = load(files / "likes.csv", items_path=files / "items.csv")
    [folder] = entry_folders()
    harm(folder)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with caplog.at_level(logging.WARNING, logger=parsed.logger.name):
        again = load(files / "likes.csv", items_path=files / "items.csv")
    assert parses == ["likes.csv"] * 2
    assert_same(good, again)
    [record] = [r for r in caplog.records if r.name == parsed.logger.name]
    text = record.getMessage()
    assert text.startswith("The parsed copy of likes.csv in the cache is damaged (")
    assert reason in text and text.endswith("; parsing the file again.") and "\n" not in text
    caplog.clear()
    load(files / "likes.csv", items_path=files / "items.csv")  # written again, whole
    assert parses == ["likes.csv"] * 2 and not caplog.records
    assert len(entry_folders()) == 1


def test_a_damaged_entry_in_the_cli_is_one_line_on_stderr(files, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "RECSYS_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "recsys_core", "info", str(files / "likes.csv"), "--json"]

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            command, cwd=config.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    first = run()
    assert first.returncode == 0, first.stderr
    [folder] = [p for p in (home / "cache" / "parsed").iterdir() if not p.name.startswith(".")]
    _truncate(folder)
    again = run()
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["fingerprint"] == json.loads(first.stdout)["fingerprint"]
    [damaged] = [line for line in again.stderr.splitlines() if "parsed copy" in line]
    assert damaged == (
        "The parsed copy of likes.csv in the cache is damaged (interactions.indices.npy is "
        "truncated or not an array); parsing the file again."
    )
    assert "Traceback" not in again.stderr


def test_np_load_never_unpickles_in_the_cache_module():
    trees = [ast.parse(p.read_text()) for p in Path(parsed.__file__).parent.glob("*.py")]
    calls = [
        node
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("load", "save")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "np"
    ]
    assert calls
    for call in calls:
        flags = {k.arg: k.value for k in call.keywords}
        assert isinstance(flags.get("allow_pickle"), ast.Constant), ast.unparse(call)
        assert flags["allow_pickle"].value is False, ast.unparse(call)


# ------------------------------------------------------------------------------ concurrency
def test_concurrent_loads_parse_once_and_leave_one_good_entry(parses, files):
    results: list[Dataset] = []
    errors: list[BaseException] = []

    def work():
        try:
            results.append(load(files / "likes.csv", items_path=files / "items.csv"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and len(results) == 4
    assert parses == ["likes.csv"]  # the others waited on the lock, then read the entry
    assert len(entry_folders()) == 1
    assert not [p for p in parsed.root().iterdir() if p.name.startswith(".tmp-")]
    for result in results[1:]:
        assert_same(results[0], result)


def test_two_writers_of_one_entry_leave_one_good_entry(parses, files):
    dataset = load(files / "likes.csv")
    [folder] = entry_folders()
    shutil.rmtree(folder)
    base = parsed.root()
    barrier = threading.Barrier(3)

    def write():
        barrier.wait()
        parsed_write.write_entry(
            base, folder.name, dataset, None, label="likes.csv", items_label=None, seconds=0.1
        )

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert entry_folders() == [folder]
    assert not [p for p in base.iterdir() if p.name.startswith(".tmp-")]
    assert_same(dataset, load(files / "likes.csv"))
    assert parses == ["likes.csv"]


def test_processes_loading_at_once_leave_one_good_entry(files, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "RECSYS_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}
    code = (
        "import sys, warnings; warnings.simplefilter('ignore');"
        "from recsys_core.datasets import tabular;"
        "print(tabular.load_file(sys.argv[1]).fingerprint)"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(files / "likes.csv")],
            cwd=config.PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    printed = {worker.communicate(timeout=120)[0].strip() for worker in workers}
    assert all(worker.returncode == 0 for worker in workers)
    assert len(printed) == 1
    folders = [p for p in (home / "cache" / "parsed").iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1
    assert not [p for p in folders[0].parent.iterdir() if p.name.startswith(".tmp-")]


# ------------------------------------------------------------------------------ the verb
def test_cache_list_and_clean(parses, files, capsys):
    load(files / "likes.csv")
    load(files / "likes.csv", items_path=files / "items.csv")
    assert main(["cache", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(row["file"] for row in listed["entries"]) == [
        "likes.csv",
        "likes.csv + items.csv",
    ]
    assert all(row["rows"] == 201 and row["users"] == 40 for row in listed["entries"])
    assert listed["bytes"] == sum(row["bytes"] for row in listed["entries"]) > 0
    assert main(["cache", "list"]) == 0
    text = capsys.readouterr().out
    assert "likes.csv + items.csv" in text and "2 kept" in text

    old = time.time() - 3 * 86400
    older = [f for f in entry_folders() if json.loads((f / "meta.json").read_text())["items"]]
    os.utime(older[0], (old, old))
    assert main(["cache", "clean", "--unused-days", "2"]) == 0
    assert "Removed 1 parsed file(s) unused for 2 day(s)" in capsys.readouterr().out
    assert len(entry_folders()) == 1
    assert main(["cache", "clean", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 1
    assert entry_folders() == []
    assert main(["cache", "list"]) == 0
    assert "No parsed files are kept" in capsys.readouterr().out
    load(files / "likes.csv")
    assert parses == ["likes.csv", "likes.csv", "likes.csv"]  # parsed again after the clean
    assert main(["cache", "clean", "--unused-days", "-1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --unused-days takes a number of days >= 0, not -1."
    )


def test_a_damaged_entry_is_listed_with_its_reason(parses, files, capsys):
    load(files / "likes.csv")
    [folder] = entry_folders()
    _garbage_meta(folder)
    assert main(["cache", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["entries"]
    assert row["damaged"] == "meta.json is not JSON"


# ------------------------------------------------------------------------------ the reader
def test_text_ids_read_as_dictionaries_are_checked_row_by_row(tmp_path, fresh_home):
    values = pa.array(["a", " b ", "", "c"])
    users = pa.DictionaryArray.from_arrays(pa.array([0, 1, 3, 1, 0], pa.int32()), values)
    items = pa.array(["x", "y", "x", "z", "z"])
    pq.write_table(pa.table({"user": users, "item": items}), tmp_path / "d.parquet")
    dataset = load(tmp_path / "d.parquet")  # "" is in the dictionary but no row uses it
    assert dataset.user_ids.tolist() == ["a", "b", "c"]
    assert dataset.n_interactions == 5
    bad = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1], pa.int32()), values[:3])
    pq.write_table(pa.table({"user": bad, "item": items[:4]}), tmp_path / "e.parquet")
    with pytest.raises(DatasetError, match=r"^Row 3 of e.parquet has no value in column 'user'"):
        load(tmp_path / "e.parquet")
    (tmp_path / "e.csv").write_text("user,item\na,x\n  ,y\n")
    with pytest.raises(DatasetError, match=r"^Row 2 of e.csv has no value in column 'user'"):
        load(tmp_path / "e.csv")


@pytest.mark.parametrize("bound", [1_000, 2**62])  # packed into one int64, or argsort
def test_the_pair_sort_is_a_stable_argsort(bound):
    rng = np.random.default_rng(3)
    key = rng.integers(0, min(bound, 50), 10_000).astype(np.int64) * (bound // 50 or 1)
    expected = np.argsort(key, kind="stable")
    order, ordered = build.stable_sort(key.copy(), bound)
    assert order.dtype == np.int32
    assert np.array_equal(order, expected) and np.array_equal(ordered, key[expected])


def test_the_reader_gives_what_from_frame_gives(fresh_home, tmp_path):
    rng = np.random.default_rng(5)
    n = 3_000
    frame = pd.DataFrame(
        {
            "user": rng.integers(0, 120, n).astype(str),
            "item": [f"i{x}" for x in rng.integers(0, 90, n)],
            "weight": rng.integers(1, 4, n).astype(float),
            "timestamp": rng.integers(0, 10**6, n).astype(float),
        }
    )
    frame.to_csv(tmp_path / "events.csv", index=False)
    loaded = load(tmp_path / "events.csv", drop_duplicates=False)
    reference = Dataset.from_frame("events.csv", frame)
    assert loaded.user_ids.tolist() == reference.user_ids.tolist()
    assert np.array_equal(loaded.interactions.toarray(), reference.interactions.toarray())
    assert np.array_equal(loaded.timestamps.toarray(), reference.timestamps.toarray())
    cached = load(tmp_path / "events.csv", drop_duplicates=False)
    assert cached.fingerprint == loaded.fingerprint == recomputed_fingerprint(cached)


def test_progress_reaches_the_end_cold_and_cached(parses, files):
    seen: list[tuple[float, str]] = []
    load(files / "likes.csv", progress=lambda f, m="": seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and seen[-1] == (1.0, "200 interactions")
    assert any(m.startswith("indexing the users") for _, m in seen)
    seen.clear()
    load(files / "likes.csv", progress=lambda f, m="": seen.append((f, m)))
    assert seen[-1] == (1.0, "200 interactions (parsed before)")
