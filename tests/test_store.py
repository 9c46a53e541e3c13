"""The model store: round trips, stable ids, damaged entries, atomic writes, two-process races."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_core.algorithms import algorithms
from recsys_core.dataset import Dataset
from recsys_core.errors import StoreError
from recsys_core.store import ModelStore, model_id_for
from recsys_core.store import models as store_models
from recsys_core.training import fit_model, train

# families whose round trip is checked when registered (the others are added as they appear)
ROUND_TRIP = ("popularity", "als", "bpr", "lmf", "ease", "item-knn", "svd", "lightfm", "content")
SMALL_PARAMS = {
    "als": {"factors": 8, "iterations": 3},
    "bpr": {"factors": 8, "iterations": 5},
    "lmf": {"factors": 8, "iterations": 3},
    "lightfm": {"no_components": 8, "epochs": 2},
    "svd": {"factors": 8},
}


def make_dataset(seed: int = 0, n_users: int = 60, n_items: int = 40, name: str = "tiny"):
    """A small dataset with two planted taste groups (users and items split in halves)."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for user in range(n_users):
        group = user % 2
        pool = np.arange(n_items // 2) + group * (n_items // 2)
        chosen = rng.choice(pool, size=8, replace=False)
        users += [f"u{user}"] * len(chosen)
        items += [f"i{item}" for item in chosen]
    frame = pd.DataFrame({"user": users, "item": items})
    meta = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "name": [f"thing {i}" for i in range(n_items)],
            "category": ["a" if i < n_items // 2 else "b" for i in range(n_items)],
            "tags": [["x"] if i % 3 else ["y"] for i in range(n_items)],
        }
    )
    return Dataset.from_frame(name, frame, meta)


@pytest.fixture(scope="module")
def dataset():
    return make_dataset()


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


def fitted(dataset, algorithm="popularity", **params):
    return fit_model(dataset, algorithm, {**SMALL_PARAMS.get(algorithm, {}), **params})


def temp_entries(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.name.startswith(".tmp-") or path.name.endswith(".tmp"):
            found.append(str(path.relative_to(root)))
    return found


# ------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("algorithm", ROUND_TRIP)
def test_save_then_load_gives_identical_results(algorithm, dataset, store):
    if algorithm not in algorithms():
        pytest.skip(f"{algorithm} is not registered yet")
    model = fitted(dataset, algorithm)
    model_id = store.save(model, dataset)
    loaded = store.load(model_id, dataset)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    users = np.arange(dataset.n_users)
    if model.supports("recommend"):
        for exclude_seen in (True, False):
            want = model.recommend(users, 10, exclude_seen=exclude_seen)
            got = loaded.recommend(users, 10, exclude_seen=exclude_seen)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    if model.supports("similar_items"):
        items = np.arange(dataset.n_items)
        want = model.similar_items(items, 5)
        got = loaded.similar_items(items, 5)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    if model.item_vectors() is not None:
        np.testing.assert_array_equal(loaded.item_vectors(), model.item_vectors())


def test_loaded_model_excludes_the_attached_datasets_seen_items(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    loaded = store.load(model_id, dataset)
    user = 3
    seen = set(dataset.interactions[user].indices.tolist())
    items, _ = loaded.recommend(user, dataset.n_items)
    assert seen and not seen & set(items.tolist())
    assert len(items) == dataset.n_items - len(seen)


# ------------------------------------------------------------------------------------- ids
def test_model_ids_are_stable_and_depend_on_every_key_part():
    params = {"factors": 40, "alpha": 50.0, "regularization": 0.1}
    first = model_id_for("ab" * 8, "als", params)
    assert re.fullmatch(r"als-[0-9a-f]{12}", first)
    assert model_id_for("ab" * 8, "als", dict(reversed(params.items()))) == first
    assert model_id_for("ab" * 8, "als", {**params, "factors": 41}) != first
    assert model_id_for("cd" * 8, "als", params) != first
    assert model_id_for("ab" * 8, "bpr", params).startswith("bpr-")
    assert model_id_for("ab" * 8, "als", params, variant="split=0.2") != first
    # a fixed value: ids written by one version are found by the next
    assert model_id_for("0" * 16, "popularity", {"weighted": False}) == model_id_for(
        "0" * 16, "popularity", {"weighted": False}
    )


def test_saving_the_same_model_twice_reuses_the_first(dataset, store):
    model_id = store.save(fitted(dataset), dataset, fit_seconds=1.5)
    created = store.meta(model_id)["created"]
    again = store.save(fitted(dataset), dataset, fit_seconds=9.0)
    assert again == model_id
    assert store.meta(model_id)["created"] == created
    assert store.meta(model_id)["fit_seconds"] == 1.5
    assert [entry.model_id for entry in store.list()] == [model_id]
    other = store.save(fitted(dataset, weighted=True), dataset)
    assert other != model_id and len(store.list()) == 2


def test_train_reuses_a_stored_model_unless_forced(dataset, store, monkeypatch):
    from recsys_core import training

    calls = []
    real_fit = training.fit_model
    monkeypatch.setattr(
        training, "fit_model", lambda *a, **k: calls.append(a[1]) or real_fit(*a, **k)
    )
    first = train(dataset, "popularity", store=store)
    assert not first.reused and calls == ["popularity"]
    assert first.model_id == model_id_for(dataset.fingerprint, "popularity", {"weighted": False})
    second = train(dataset, "popularity", {"weighted": "false"}, store=store)
    assert second.reused and second.model_id == first.model_id and len(calls) == 1
    assert second.model.user_items_ is not None  # attached to the dataset
    forced = train(dataset, "popularity", store=store, force=True)
    assert not forced.reused and len(calls) == 2 and forced.model_id == first.model_id
    assert len(store.list()) == 1 and temp_entries(store.root) == []


def test_meta_records_what_the_model_is(dataset, store):
    model_id = store.save(fitted(dataset), dataset, extra={"note": "hi"})
    meta = store.meta(model_id)
    assert meta["algorithm"] == "popularity"
    assert meta["params"] == {"weighted": False}
    assert meta["dataset"] == "tiny" and meta["fingerprint"] == dataset.fingerprint
    assert meta["dataset_source"]["spec"] == "tiny"
    assert (meta["n_users"], meta["n_items"]) == (dataset.n_users, dataset.n_items)
    assert meta["versions"]["numpy"] == np.__version__
    assert set(meta["versions"]) >= {"scipy", "implicit", "lightfm", "sklearn", "recsys_core"}
    assert meta["created"].endswith("+00:00") and meta["schema"] == 1
    assert meta["metrics"] == {} and meta["extra"] == {"note": "hi"}
    assert isinstance(meta["fit_seconds"], float)


def test_metrics_merge_by_protocol_and_updates_are_atomic(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    store.record_metrics(model_id, "holdout:0.2@10", {"ndcg": 0.1, "recall": 0.2})
    store.record_metrics(model_id, "leave-last@10", {"ndcg": 0.3})
    store.update_meta(model_id, metrics={"holdout:0.2@10": {"ndcg": 0.15}}, label="mine")
    meta = store.meta(model_id)
    assert meta["metrics"] == {"holdout:0.2@10": {"ndcg": 0.15}, "leave-last@10": {"ndcg": 0.3}}
    assert meta["label"] == "mine" and meta["algorithm"] == "popularity"
    assert temp_entries(store.root) == []
    assert sorted(os.listdir(store.path(model_id))) == ["arrays.npz", "meta.json"]


def test_list_filters_by_fingerprint_newest_first(dataset, store):
    other = make_dataset(seed=1, name="other")
    first = store.save(fitted(dataset), dataset)
    time.sleep(0.01)
    second = store.save(fitted(other), other)
    time.sleep(0.01)
    third = store.save(fitted(dataset, weighted=True), dataset)
    assert [e.model_id for e in store.list()] == [third, second, first]
    assert [e.model_id for e in store.list(dataset.fingerprint)] == [third, first]
    assert [e.model_id for e in store.list(other.fingerprint)] == [second]
    assert store.ids() == [third, second, first]


# -------------------------------------------------------------------------------- errors
def test_unknown_ids_suggest_the_closest(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    with pytest.raises(StoreError, match=re.escape(model_id)) as caught:
        store.load(model_id[:-1] + ("0" if model_id[-1] != "0" else "1"))
    assert "closest" in str(caught.value)
    with pytest.raises(StoreError, match="no model"):
        store.meta("als-000000000000")
    with pytest.raises(StoreError, match="no model '../../etc'"):
        store.load("../../etc")
    with pytest.raises(StoreError, match="not a model id"):
        store.path("../../etc")
    with pytest.raises(StoreError, match="no model"):
        store.delete("als-000000000000")


def test_loading_with_another_dataset_names_both(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    other = make_dataset(seed=7, name="other")
    with pytest.raises(StoreError) as caught:
        store.load(model_id, other)
    message = str(caught.value)
    assert dataset.fingerprint in message and other.fingerprint in message
    assert "tiny" in message and "other" in message


def test_delete_removes_the_folder(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    store.delete(model_id)
    assert not store.exists(model_id) and store.list() == []
    assert temp_entries(store.root) == []


# ---------------------------------------------------------------------------- damaged entries
def _copy_as(store: ModelStore, model_id: str, new_id: str) -> Path:
    target = store.root / new_id
    shutil.copytree(store.root / model_id, target)
    return target


def test_damaged_and_foreign_entries_are_listed_never_raised(dataset, store):
    good = store.save(fitted(dataset), dataset)
    size = (store.root / good / "arrays.npz").stat().st_size

    truncated = _copy_as(store, good, "popularity-aaaaaaaaaaaa")
    with open(truncated / "arrays.npz", "r+b") as handle:
        handle.truncate(size // 2)
    bad_json = _copy_as(store, good, "popularity-bbbbbbbbbbbb")
    (bad_json / "meta.json").write_text('{"algorithm": "popularity", ')
    no_meta = _copy_as(store, good, "popularity-cccccccccccc")
    (no_meta / "meta.json").unlink()
    no_npz = _copy_as(store, good, "popularity-dddddddddddd")
    (no_npz / "arrays.npz").unlink()
    unknown = _copy_as(store, good, "nosuch-eeeeeeeeeeee")
    meta = json.loads((unknown / "meta.json").read_text())
    (unknown / "meta.json").write_text(json.dumps({**meta, "algorithm": "nosuch"}))
    (store.root / "Holiday Photos").mkdir()
    (store.root / "notes.txt").write_text("hello")

    entries = {entry.model_id: entry for entry in store.list()}
    assert entries[good].ok and entries[good].meta["algorithm"] == "popularity"
    reasons = {key: entry.damaged for key, entry in entries.items() if not entry.ok}
    assert set(reasons) == {
        truncated.name,
        bad_json.name,
        no_meta.name,
        no_npz.name,
        unknown.name,
        "Holiday Photos",
        "notes.txt",
    }
    assert "truncated" in reasons[truncated.name]
    assert "not valid JSON" in reasons[bad_json.name]
    assert "meta.json is missing" in reasons[no_meta.name]
    assert "arrays.npz is missing" in reasons[no_npz.name]
    assert "unknown algorithm 'nosuch'" in reasons[unknown.name]
    assert "foreign" in reasons["Holiday Photos"]
    assert "stray file" in reasons["notes.txt"]
    assert store.ids() == [good]
    # filtered by dataset: entries whose meta is readable and names it, damaged or not
    assert {e.model_id for e in store.list(dataset.fingerprint)} == {
        good,
        truncated.name,
        no_npz.name,
        unknown.name,
    }

    for name in reasons:
        with pytest.raises(StoreError):
            store.load(name, dataset)
    assert store.load(good, dataset).is_fitted


def test_a_damaged_copy_is_replaced_by_the_next_save(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    (store.root / model_id / "meta.json").write_text("not json")
    assert store.save(fitted(dataset), dataset) == model_id
    assert store.list()[0].ok and store.load(model_id, dataset).is_fitted
    assert temp_entries(store.root) == []


def test_object_arrays_are_refused_on_load(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    path = store.root / model_id / "arrays.npz"
    np.savez(path, popularity=np.array([{"evil": 1}, None], dtype=object), n_users=np.array(3))
    with pytest.raises(StoreError, match="object array"):
        store.load(model_id, dataset)


def test_object_arrays_are_refused_on_save(dataset, store, monkeypatch):
    model = fitted(dataset)
    monkeypatch.setattr(model, "to_arrays", lambda: {"bad": np.array([object()], dtype=object)})
    with pytest.raises(TypeError, match="never pickles"):
        store.save(model, dataset)
    assert store.list() == [] and temp_entries(store.root) == []


def test_arrays_that_do_not_rebuild_the_model_are_damaged(dataset, store):
    model_id = store.save(fitted(dataset), dataset)
    np.savez(store.root / model_id / "arrays.npz", something_else=np.arange(3))
    with pytest.raises(StoreError, match="do not rebuild"):
        store.load(model_id, dataset)


# ------------------------------------------------------------------------------ atomic writes
def test_a_failed_write_leaves_nothing_behind(dataset, store, monkeypatch):
    def broken_savez(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        store.save(fitted(dataset), dataset)
    assert store.list() == [] and temp_entries(store.root) == []


def test_a_failed_overwrite_keeps_the_old_model(dataset, store, monkeypatch):
    model_id = store.save(fitted(dataset), dataset)
    created = store.meta(model_id)["created"]

    def broken_json(path, payload):
        Path(path).write_text("{")
        raise OSError("disk full")

    monkeypatch.setattr(store_models, "write_json", broken_json)
    with pytest.raises(OSError):
        store.save(fitted(dataset), dataset, overwrite=True)
    with pytest.raises(OSError):
        store.update_meta(model_id, label="x")
    monkeypatch.undo()
    assert store.meta(model_id)["created"] == created and "label" not in store.meta(model_id)
    assert store.list()[0].ok and temp_entries(store.root) == []


def test_a_good_copy_that_appeared_meanwhile_is_kept(dataset, store, monkeypatch):
    """The check under the lock: the second writer finds the first's folder and drops its own."""
    model = fitted(dataset)
    first = store.save(model, dataset, fit_seconds=1.0)
    inode = (store.root / first / "arrays.npz").stat().st_ino
    wrote = []
    real = store._write_tmp
    monkeypatch.setattr(store, "_write_tmp", lambda *a: wrote.append(a[0]) or real(*a))
    assert store.save(model, dataset, fit_seconds=2.0) == first
    assert wrote == []  # nothing written
    assert (store.root / first / "arrays.npz").stat().st_ino == inode
    assert store.meta(first)["fit_seconds"] == 1.0


def test_stale_temporary_folders_are_swept_by_a_listing(store):
    stale = store.root / ".tmp-als-000000000000-dead"
    stale.mkdir()
    fresh = store.root / ".tmp-als-000000000000-live"
    fresh.mkdir()
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert store.list() == []
    assert not stale.exists() and fresh.exists()


# ------------------------------------------------------------------------------------- races
def test_two_threads_training_the_same_model_end_with_one(dataset, store):
    results, errors = [], []

    def run():
        try:
            results.append(train(dataset, "popularity", store=store))
        except Exception as error:  # pragma: no cover - surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.model_id for r in results}) == 1
    assert sum(not r.reused for r in results) == 1
    assert [e.ok for e in store.list()] == [True] and temp_entries(store.root) == []


def _race_worker(root, mode, barrier, queue):
    """Runs in a spawned process: build the same dataset, wait for the other, then write."""
    from recsys_core.algorithms.popularity import Popularity
    from recsys_core.store import ModelStore
    from recsys_core.training import fit_model, train

    real_fit = Popularity.fit

    def slow_fit(self, *args, **kwargs):
        time.sleep(0.3)  # long enough for the two processes to overlap
        return real_fit(self, *args, **kwargs)

    Popularity.fit = slow_fit
    dataset = make_dataset()
    store = ModelStore(root)
    barrier.wait(timeout=60)
    if mode == "train":
        result = train(dataset, "popularity", store=store)
        queue.put((result.model_id, result.reused, os.getpid()))
    else:  # both fit, then both save at once: the second finds the first under the lock
        model = fit_model(dataset, "popularity")
        barrier.wait(timeout=60)
        queue.put((store.save(model, dataset, fit_seconds=float(os.getpid())), None, os.getpid()))


@pytest.mark.parametrize("mode", ["train", "save"])
def test_two_processes_writing_the_same_model_end_with_one_good_model(mode, dataset, store):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    queue = context.Queue()
    workers = [
        context.Process(target=_race_worker, args=(str(store.root), mode, barrier, queue))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    ids = {model_id for model_id, _, _ in results}
    assert len(ids) == 1
    model_id = ids.pop()
    if mode == "train":
        assert sorted(reused for _, reused, _ in results) == [False, True]
    else:  # exactly one of the two writes was kept
        assert store.meta(model_id)["fit_seconds"] in {float(pid) for _, _, pid in results}
    entries = store.list()
    assert [(e.model_id, e.ok) for e in entries] == [(model_id, True)]
    assert temp_entries(store.root) == []
    loaded = store.load(model_id, dataset)
    np.testing.assert_array_equal(
        loaded.recommend(np.arange(5), 5)[0], fitted(dataset).recommend(np.arange(5), 5)[0]
    )
