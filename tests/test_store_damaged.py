"""Damaged store entries never crash the CLI or a page: a corpus of bad arrays and bad meta.json.

Each entry is a copy of a good model with one thing broken. The CLI runs in a subprocess, so a
segfault (exit 139, what an item-knn index of 1e9 did to scipy) is seen as one: every damaged
entry must give exit code 2 and one line on stderr, and the listing must still list the good
models. The Similar page (AppTest) shows the good model and notes the damaged ones.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recsys_core import datasets
from recsys_core.datasets import load_dataset
from recsys_core.errors import StoreError
from recsys_core.store import ModelStore
from recsys_core.training import train

PROJECT_ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "item-knn": {"K": 10},
    "als": {"factors": 8, "iterations": 2},
    "popularity": {},
    "ease": {},
    "svd": {"factors": 8},
    "lightfm": {"no_components": 8, "epochs": 1, "use_item_features": True},
    "content": {},
}


# ------------------------------------------------------------------------------- the corpus
def _set(key: str, change: Callable[[np.ndarray], np.ndarray]):
    def damage(arrays: dict) -> dict:
        return {**arrays, key: change(np.array(arrays[key]))}

    return damage


def _at(index, value):
    def change(array: np.ndarray) -> np.ndarray:
        array = array.astype(np.float64) if isinstance(value, float) else array
        array[index] = value
        return array

    return change


def _drop(key: str):
    return lambda arrays: {k: v for k, v in arrays.items() if k != key}


def _swap_indptr(indptr: np.ndarray) -> np.ndarray:
    indptr[3], indptr[4] = indptr[4] + 5, indptr[3]
    return indptr


# (case id, algorithm, damage to the arrays, what the sentence says)
ARRAY_CASES = [
    ("knn-index-1e9", "item-knn", _set("indices", _at(5, 10**9)), "points past the last item"),
    ("knn-index-negative", "item-knn", _set("indices", _at(0, -1)), "before the first item"),
    ("knn-indptr-decreasing", "item-knn", _set("indptr", _swap_indptr), "broken row pointer"),
    ("knn-indptr-end", "item-knn", _set("indptr", _at(-1, 10**6)), "broken row pointer"),
    ("knn-indptr-start", "item-knn", _set("indptr", _at(0, 3)), "broken row pointer"),
    ("knn-shape-huge", "item-knn", _set("shape", lambda s: s * 10**6), "impossible size"),
    ("knn-shape-double", "item-knn", _set("shape", lambda s: s * 2), "row pointer for"),
    ("knn-not-square", "item-knn", _set("shape", lambda s: s - [0, 1]), "not square"),
    ("knn-shape-3d", "item-knn", _set("shape", lambda s: np.array([3, 3, 3])), "entries"),
    ("knn-data-nan", "item-knn", _set("data", _at(0, np.nan)), "NaN"),
    ("knn-data-short", "item-knn", _set("data", lambda d: d[:-1]), "values for"),
    ("knn-float-indices", "item-knn", _set("indices", lambda i: i.astype(float)), "integers"),
    ("knn-object-indices", "item-knn", _set("indices", lambda i: i.astype(object)), "object"),
    ("knn-missing-indptr", "item-knn", _drop("indptr"), "missing"),
    ("als-wrong-rank", "als", _set("item_factors", lambda f: f[:, :-1]), "columns"),
    ("als-fewer-items", "als", _set("item_factors", lambda f: f[:-1]), "items"),
    ("als-nan-factor", "als", _set("user_factors", _at((0, 0), np.nan)), "NaN"),
    ("als-inf-factor", "als", _set("item_factors", _at((1, 1), np.inf)), "NaN or infinite"),
    ("als-huge-float64", "als", _set("item_factors", _at((1, 1), 1e300)), "NaN or infinite"),
    ("als-text-factors", "als", _set("item_factors", lambda f: f.astype(str)), "not numbers"),
    ("als-complex", "als", _set("user_factors", lambda f: f.astype(np.complex64)), "numbers"),
    ("als-3d", "als", _set("user_factors", lambda f: f[:, :, None]), "dimension"),
    ("als-missing", "als", _drop("item_factors"), "missing"),
    ("popularity-scalar", "popularity", _set("popularity", lambda p: p[:1].reshape(())), "dim"),
    ("popularity-users", "popularity", _set("n_users", lambda n: n * 10**9), "user count"),
    ("popularity-users-list", "popularity", _set("n_users", lambda n: np.array([1, 2])), "single"),
    ("ease-not-square", "ease", _set("B", lambda b: b[:, :-1]), "square"),
    ("svd-sigma", "svd", _set("sigma", lambda s: s[:-1]), "singular value vector"),
    ("lightfm-bias", "lightfm", _set("item_bias", lambda b: b[:-1]), "item bias"),
    ("lightfm-tag-index", "lightfm", _set("item_tags_indices", _at(0, 10**9)), "past the last tag"),
    ("lightfm-tag-names", "lightfm", _set("tag_names", _at((0, 0), 0x7FFFFFFF)), "not text"),
    ("content-wide", "content", _set("shape", _at(1, 10**9)), "more features than it uses"),
]


def _write_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _truncated(path: Path, arrays: dict) -> None:
    _write_npz(path, arrays)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _compressed(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _not_a_zip(path: Path, arrays: dict) -> None:
    path.write_bytes(b"\x00garbage" * 100)


def _empty_zip(path: Path, arrays: dict) -> None:
    with zipfile.ZipFile(path, "w"):
        pass


def _foreign_member(path: Path, arrays: dict) -> None:
    _write_npz(path, arrays)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("readme.txt", "hello")


def _lying_header(path: Path, arrays: dict) -> None:
    """An npy header that claims ten times the rows its data has."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<i4", "fortran_order": False, "shape": (len(arrays["indices"]) * 10,)}
    )
    members = {k: v for k, v in arrays.items() if k != "indices"}
    _write_npz(path, members)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("indices.npy", buffer.getvalue() + arrays["indices"].tobytes())


def _bad_crc(path: Path, arrays: dict) -> None:
    """Flip the last data byte of one member: the zip's checksum no longer matches."""
    _write_npz(path, arrays)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("B.npy")
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 :][:4])
    end = info.header_offset + 30 + name_length + extra_length + info.compress_size
    data[end - 1] ^= 0xFF
    path.write_bytes(bytes(data))


# (case id, algorithm, writer of arrays.npz, what the sentence says)
FILE_CASES = [
    ("npz-truncated", "item-knn", _truncated, "truncated"),
    ("npz-compressed", "item-knn", _compressed, "compressed"),
    ("npz-not-a-zip", "als", _not_a_zip, "not an npz"),
    ("npz-empty", "als", _empty_zip, "empty"),
    ("npz-foreign-member", "popularity", _foreign_member, "other than arrays"),
    ("npz-lying-header", "item-knn", _lying_header, "does not match its header"),
    ("npz-bad-crc", "ease", _bad_crc, "checksum"),
    ("npz-missing", "als", None, "missing"),
]

NESTED = "[" * 100_000 + "]" * 100_000


def _meta_with(**fields):
    return lambda meta: json.dumps({**meta, **fields})


# (case id, new meta.json text or bytes from the good meta, keeps its dataset, sentence)
META_CASES = [
    ("meta-nested", lambda meta: NESTED, False, "nested too deeply"),
    ("meta-nested-object", lambda meta: '{"a":' * 50_000 + "1" + "}" * 50_000, False, "nested"),
    ("meta-metrics-list", _meta_with(metrics=[1, 2, 3]), True, "'metrics'"),
    ("meta-metrics-strings", _meta_with(metrics={"p": {"precision": "x"}}), True, "'metrics'"),
    ("meta-created-number", _meta_with(created=12345), True, "'created'"),
    ("meta-created-text", _meta_with(created="yesterday"), True, "'created'"),
    ("meta-list", lambda meta: json.dumps([meta]), False, "not a JSON object"),
    ("meta-string", lambda meta: json.dumps("hello"), False, "not a JSON object"),
    ("meta-5mb", _meta_with(extra={"pad": "x" * 5_000_000}), False, "larger than 1 MB"),
    ("meta-utf8", lambda meta: b'{"algorithm": "\xff\xfe"}', False, "UTF-8"),
    ("meta-params-list", _meta_with(params=[1, 2]), True, "'params'"),
    ("meta-params-unknown", _meta_with(params={"nosuch": 1}), True, "does not have"),
    ("meta-params-range", _meta_with(params={"K": -5, "similarity": "cosine"}), True, "invalid"),
    ("meta-n-items-text", _meta_with(n_items="40"), True, "'n_items'"),
    ("meta-n-items-wrong", _meta_with(n_items=7), True, "meta.json has 7"),
    ("meta-source-text", _meta_with(dataset_source="demo"), True, "'dataset_source'"),
    (
        "meta-fit-nan",
        lambda meta: json.dumps({**meta, "fit_seconds": float("nan")}),
        True,
        "'fit_seconds'",
    ),
    ("meta-schema-new", _meta_with(schema=99), True, "schema 99"),
    ("meta-no-algorithm", lambda meta: json.dumps({"schema": 1, "params": {}}), False, "lacks"),
    (
        "meta-algorithm-markup",
        _meta_with(algorithm="![x](http://127.0.0.1:9/x)"),
        True,
        "'algorithm'",
    ),
    ("meta-algorithm-unknown", _meta_with(algorithm="nosuch"), True, "'nosuch'"),
    ("meta-huge-int", lambda meta: '{"schema": ' + "9" * 5000 + "}", False, "not valid JSON"),
    ("meta-not-json", lambda meta: "{'python': True}", False, "not valid JSON"),
]

ALL_CASES = (
    [(c, "array") for c in ARRAY_CASES]
    + [(c, "file") for c in FILE_CASES]
    + [(c, "meta") for c in META_CASES]
)


def _case_id(number: int) -> str:
    """A valid model id for the n-th damaged copy (the store lists foreign names separately)."""
    return f"damaged-{number:012d}"


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("damaged_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECSYS_HOME", str(path))
        datasets.clear_memo()
        yield path
    datasets.clear_memo()


@pytest.fixture(autouse=True)
def _module_home(home, monkeypatch):
    monkeypatch.setenv("RECSYS_HOME", str(home))


@pytest.fixture(scope="module")
def demo(home):
    return load_dataset("demo")


@pytest.fixture(scope="module")
def store(home, demo):
    """The good models plus one damaged copy per case: {case id: model id} in ``store.cases``."""
    store = ModelStore()
    store.good = {
        name: train(demo, name, params, store=store).model_id for name, params in GOOD.items()
    }
    store.cases = {}
    for number, (case, kind) in enumerate(ALL_CASES):
        name = case[0]
        algorithm = case[1] if kind != "meta" else "item-knn"
        source = store.root / store.good[algorithm]
        target = store.root / _case_id(number)
        shutil.copytree(source, target)
        arrays_path = target / "arrays.npz"
        if kind == "array":
            with np.load(arrays_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            _write_npz(arrays_path, case[2](arrays))
        elif kind == "file":
            with np.load(arrays_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            if case[2] is None:
                arrays_path.unlink()
            else:
                case[2](arrays_path, arrays)
        else:
            meta = json.loads((target / "meta.json").read_text())
            text = case[1](meta)
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            (target / "meta.json").write_bytes(data)
        store.cases[name] = target.name
    return store


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m recsys_core ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "recsys_core", *args],
        cwd=PROJECT_ROOT,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _env(home: Path) -> dict:
    return {
        **os.environ,
        "RECSYS_HOME": str(home),
        "PYTHONPATH": str(PROJECT_ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
    }


# Runs many CLI commands, each in a forked child of one process that imported the CLI once (a
# fresh interpreter per command costs seconds): a crash in a child is its own exit status.
_DRIVER = """
import json, os, sys, tempfile
from recsys_core.algorithms import algorithms
from recsys_core.cli import build_parser, main

build_parser(), algorithms()  # every import done once, before the forks

results = []
for args in json.loads(sys.stdin.read()):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            try:
                code = main(args)
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        results.append([os.waitstatus_to_exitcode(status), out.read().decode(errors="replace"),
                        err.read().decode(errors="replace")])
print(json.dumps(results))
"""


def cli_many(home: Path, commands: list[list[str]]) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of each CLI command; a signal is a negative exit code."""
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps(commands),
        cwd=PROJECT_ROOT,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [tuple(result) for result in json.loads(done.stdout)]


def _sentence(case) -> str:
    return case[-1]


LOAD_ONLY = {"ease-not-square", "npz-bad-crc"}
"""Damage a fresh listing cannot see: in the data of a model too large for it to rebuild (EASE
on the demo: 36 MB); it reads only the headers of those."""


def _load_everything(store, demo) -> None:
    """Load every damaged copy (this process then remembers the damage for its listings)."""
    for model_id in store.cases.values():
        with pytest.raises(StoreError):
            store.load(model_id, demo)


# ------------------------------------------------------------------------------- in-process
@pytest.mark.parametrize(("case", "kind"), ALL_CASES, ids=[c[0][0] for c in ALL_CASES])
def test_loading_a_damaged_entry_is_one_sentence(case, kind, store, demo):
    model_id = store.cases[case[0]]
    with pytest.raises(StoreError) as caught:
        store.load(model_id, demo)
    message = str(caught.value)
    assert message.startswith(f"Model {model_id} ")
    assert _sentence(case) in message, message
    assert "\n" not in message and len(message) < 400
    assert "http" not in message and "xxxx" not in message  # nothing of the file is echoed
    if case[0] != "meta-algorithm-unknown":
        assert message.endswith("; train it again."), message


def test_the_listing_survives_every_damaged_entry(store, demo):
    _load_everything(store, demo)
    entries = {entry.model_id: entry for entry in store.list()}
    for model_id in store.good.values():
        assert entries[model_id].ok, entries[model_id].damaged
    for case, _ in ALL_CASES:
        entry = entries[store.cases[case[0]]]
        assert not entry.ok, case[0]
        assert "\n" not in entry.damaged and "http" not in entry.damaged
        json.dumps(entry.to_dict())  # every field the listing hands out is plain JSON
    by_dataset = {entry.model_id for entry in store.list(demo.fingerprint)}
    assert set(store.good.values()) <= by_dataset
    kept = {store.cases[c[0]] for c in META_CASES if c[2]}
    lost = {store.cases[c[0]] for c in META_CASES if not c[2]}
    assert kept <= by_dataset and not lost & by_dataset
    assert store.ids() == [e.model_id for e in store.list() if e.model_id in store.good.values()]


def test_a_bad_field_is_left_out_of_the_entry(store):
    entries = {entry.model_id: entry for entry in store.list()}
    metrics = entries[store.cases["meta-metrics-list"]]
    assert metrics.meta["algorithm"] == "item-knn" and "metrics" not in metrics.meta
    assert metrics.to_dict()["metrics"] == {}
    created = entries[store.cases["meta-created-number"]]
    assert "created" not in created.meta and created.created == ""
    assert entries[store.cases["meta-list"]].meta is None


# ------------------------------------------------------------------------------------ CLI
@pytest.fixture(scope="module")
def cli_results(store, demo, home):
    """``recommend`` and ``similar`` on every damaged copy, each in its own process."""
    commands = []
    for model_id in store.cases.values():
        commands.append(["recommend", model_id, demo.user_id(0), "-k", "5"])
        commands.append(["similar", model_id, demo.example_item, "-k", "5"])
    results = cli_many(home, commands)
    return {tuple(command[:2]): result for command, result in zip(commands, results)}


def _one_error_line(result: tuple[int, str, str], model_id: str, sentence: str) -> None:
    code, out, err = result
    assert code == 2, (code, err[-2000:])
    lines = err.splitlines()
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("error: Model ") and model_id in lines[0], lines[0]
    assert sentence in lines[0], lines[0]
    assert out == ""


@pytest.mark.parametrize(("case", "kind"), ALL_CASES, ids=[c[0][0] for c in ALL_CASES])
def test_the_cli_exits_2_with_one_line(case, kind, store, cli_results):
    model_id = store.cases[case[0]]
    for verb in ("recommend", "similar"):
        _one_error_line(cli_results[(verb, model_id)], model_id, _sentence(case))


@pytest.mark.parametrize("case", ["knn-index-1e9", "knn-indptr-end", "knn-shape-double"])
def test_the_reported_crash_exits_2_not_139(case, store, demo, home):
    """The crash as reported: ``python -m recsys_core recommend`` on an item-knn model whose
    index array holds 1e9 exited 139 (scipy segfaulted)."""
    model_id = store.cases[case]
    for verb, key in (("recommend", demo.user_id(0)), ("similar", demo.example_item)):
        done = cli(home, verb, model_id, key)
        _one_error_line((done.returncode, done.stdout, done.stderr), model_id, "damaged")


def test_models_lists_the_good_models_and_marks_the_damaged(store, home):
    done = cli(home, "models", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    listed = {entry["model_id"]: entry for entry in json.loads(done.stdout)["models"]}
    for algorithm, model_id in store.good.items():
        assert listed[model_id]["damaged"] is None and listed[model_id]["algorithm"] == algorithm
    seen = [case for case, _ in ALL_CASES if case[0] not in LOAD_ONLY]
    for case in seen:
        entry = listed[store.cases[case[0]]]
        assert entry["damaged"], case[0]
        assert "http" not in json.dumps(entry)
    table = cli(home, "models")
    assert table.returncode == 0 and "Traceback" not in table.stderr
    assert table.stdout.count("DAMAGED") == len(seen)


def test_a_model_that_loads_still_answers(store, home, demo):
    done = cli(home, "similar", store.good["item-knn"], demo.example_item, "-k", "5", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["items"]) == 5


# ------------------------------------------------------------------------------ the app
def _texts(elements) -> str:
    return " ".join(str(e.value).replace("\\", "") for e in elements)


def _grid_shown(at) -> bool:
    from tests.app.helpers import html_blocks

    return any("Most similar" in s.value for s in at.subheader) and any(
        "rx-grid" in block for block in html_blocks(at)
    )


def test_the_similar_page_shows_the_good_model_and_notes_the_damaged(store, demo):
    from recsys_core.ui import loaders
    from tests.app.helpers import open_page

    _load_everything(store, demo)
    loaders.clear_model_listing()
    at = open_page("similar", dataset="demo", model=store.good["item-knn"], item=demo.example_item)
    assert not at.exception
    assert _grid_shown(at), "the good model's grid is drawn"
    assert not at.error
    notes = _texts(at.caption)
    kept = [store.cases[c[0]] for c in META_CASES if c[2]]
    kept += [store.cases[c[0]] for c in ARRAY_CASES + FILE_CASES]
    missing = [model_id for model_id in kept if model_id not in notes]
    assert not missing, notes[:3000]
    assert any("damaged" in e.label for e in at.expander)
    assert len(at.selectbox(key="sidebar_model").options) == len(GOOD)


def test_the_similar_page_says_a_damaged_model_is_damaged(store, demo):
    """A large model whose damage the listing has not seen yet: the page says so in one
    sentence, without grid or crash; then the listing marks it and the page offers a good
    model instead."""
    from recsys_core.store import damage as store_damage
    from recsys_core.ui import loaders
    from tests.app.helpers import open_page

    model_id = store.cases["ease-not-square"]
    store_damage._FOUND_DAMAGED.clear()
    loaders.clear_model_listing()
    at = open_page("similar", dataset="demo", model=model_id, item=demo.example_item)
    assert not at.exception
    assert "is damaged: its item weight matrix is not square" in _texts(at.error)
    assert not _grid_shown(at)

    assert store_damage.known_damage(store.root / model_id)  # what the page found
    _load_everything(store, demo)  # the others too, so the page falls back to a good model
    loaders.clear_model_listing()
    at = open_page("similar", dataset="demo", model=model_id, item=demo.example_item)
    assert not at.exception and not at.error, _texts(at.error)
    assert model_id in _texts(at.warning) and model_id in _texts(at.caption)
    assert _grid_shown(at)


def test_the_similar_page_with_a_damaged_meta_in_the_url(store, demo):
    from recsys_core.ui import loaders
    from tests.app.helpers import open_page

    model_id = store.cases["meta-metrics-list"]
    _load_everything(store, demo)
    loaders.clear_model_listing()
    at = open_page("similar", dataset="demo", model=model_id, item=demo.example_item)
    assert not at.exception and not at.error, _texts(at.error)
    assert model_id in _texts(at.warning)
    assert _grid_shown(at)


# ------------------------------------------------------------- every adapter, every array
def _small_dataset():
    """60 users x 40 items with ratings, tags and categories (every family can train on it)."""
    import pandas as pd

    from recsys_core.dataset import Dataset

    rng = np.random.default_rng(0)
    rows = [
        (f"u{u}", f"i{i}", float(rng.integers(1, 6)))
        for u in range(60)
        for i in rng.choice(40, size=8, replace=False)
    ]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(40)],
            "name": [f"thing {i}" for i in range(40)],
            "category": ["a" if i < 20 else "b" for i in range(40)],
            "tags": [["x"] if i % 3 else ["y", "z"] for i in range(40)],
        }
    )
    return Dataset.from_frame("small", frame, items)


SMALL = {
    "als": {"factors": 4, "iterations": 2},
    "bpr": {"factors": 4, "iterations": 2},
    "lmf": {"factors": 4, "iterations": 2},
    "lightfm": {"no_components": 4, "epochs": 1, "use_item_features": True},
    "svd": {"factors": 4},
    "biased-mf": {"factors": 4, "iterations": 2},
    "item-knn": {"K": 5},
}


def _fitted_arrays(name: str, dataset, tmp_path: Path) -> tuple[dict, dict]:
    from recsys_core.algorithms import loader
    from recsys_core.training import fit_model

    if name == "vectors":  # fitted from a file of vectors; its arrays are the aligned matrix
        np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(40, 3)))
        return (
            {
                "vectors": np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32),
                "n_users": np.array(60),
            },
            {"path": str(tmp_path / "v.npy")},
        )
    if name == "spark-als":  # trained by Spark elsewhere; stored as two factor matrices
        cls = loader(name)
        rng = np.random.default_rng(2)
        params = {p.name: p.default for p in cls.params}
        return {
            "user_factors": rng.normal(size=(60, 3)).astype(np.float32),
            "item_factors": rng.normal(size=(40, 3)).astype(np.float32),
        }, params
    model = fit_model(dataset, name, SMALL.get(name, {}))
    return model.to_arrays(), model.get_params()


def _mutations(array: np.ndarray) -> dict[str, object]:
    out: dict[str, object] = {
        "dropped": None,
        "empty": array.reshape(-1)[:0],
        "extra-dimension": array[..., None],
        "objects": array.astype(object),
        "text": array.astype(str),
    }
    if array.size and array.dtype.kind == "f":
        out["nan"] = np.where(np.arange(array.size).reshape(array.shape) == 0, np.nan, array)
        out["huge"] = np.full_like(array, 1e300, dtype=np.float64)
    if array.size and array.dtype.kind in "iu":
        for label, value in (("1e9", 10**9), ("negative", -1)):
            changed = array.astype(np.int64).copy()
            changed.reshape(-1)[-1] = value
            out[label] = changed
    return out


def _exercise(model, dataset) -> None:
    """Every query a page or the CLI makes; a capability the family lacks is fine."""
    model.attach(dataset.interactions)
    calls = [
        lambda: model.recommend(np.arange(dataset.n_users), 5),
        lambda: model.recommend(0, 5),
        lambda: model.similar_items(np.arange(dataset.n_items), 5),
        lambda: model.similar_items(0, 5),
        lambda: model.recommend_for_history(dataset.interactions[0].indices, 5),
        lambda: model.explain(0, int(dataset.interactions[0].indices[0]), 3),
        lambda: model.item_vectors(),
        lambda: model.user_vectors(),
    ]
    if model.supports("tags"):
        calls += [lambda: model.suggest_tags(0, 3), lambda: model.items_for_tag("x", 3)]
    for call in calls:
        try:
            call()
        except NotImplementedError:
            continue


def _all_algorithms() -> list[str]:
    from recsys_core.algorithms import algorithms, loader

    names = sorted(algorithms())
    return names + (["spark-als"] if "spark-als" not in names and loader("spark-als") else [])


@pytest.mark.parametrize("name", _all_algorithms())
def test_every_adapter_refuses_damaged_arrays_or_rebuilds_a_working_model(name, tmp_path):
    """For every array of every family, each mutation is refused with DamagedArrays or gives a
    model that answers every query (or that the store's size check against the meta refuses)."""
    from recsys_core.algorithms import loader
    from recsys_core.algorithms.stored import DamagedArrays

    dataset = _small_dataset()
    arrays, params = _fitted_arrays(name, dataset, tmp_path)
    cls = loader(name)
    _exercise(cls.from_arrays(arrays, params), dataset)  # the undamaged arrays work
    refused = 0
    for key, array in arrays.items():
        for label, mutated in _mutations(np.asarray(array)).items():
            damaged = {k: v for k, v in arrays.items() if k != key}
            if mutated is not None:
                damaged[key] = mutated
            try:
                model = cls.from_arrays(damaged, params)
            except DamagedArrays as error:
                refused += 1
                assert str(error).startswith("its ") and "\n" not in str(error)
                continue
            except Exception as error:  # pragma: no cover - what the test is for
                raise AssertionError(f"{key} {label}: {type(error).__name__}: {error}") from None
            sizes = (getattr(model, "n_users_", None), model.n_items_)
            if sizes != (dataset.n_users, dataset.n_items):
                continue  # the store compares these with the meta and the dataset
            start = time.perf_counter()
            try:
                _exercise(model, dataset)
            except Exception as error:  # pragma: no cover - what the test is for
                raise AssertionError(
                    f"{key} {label} was accepted, then {type(error).__name__}: {error}"
                ) from None
            # accepted damage must not make a query huge (a claimed width of 1e9 columns did)
            assert time.perf_counter() - start < 10, f"{key} {label} was accepted, then slow"
    assert refused >= len(arrays) * 3
