"""train() reuses a stored model for the same content and parameters, and the reused model
records every path it was asked to train on: a copy of a file under another name then opens by
link like the original (``datasets.require_shareable``), and the store still reads metas
written before that field existed."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from recsys_core.datasets import (
    DatasetNotAvailable,
    is_shareable,
    load_dataset,
    recorded_files,
    require_shareable,
)
from recsys_core.store import META, ModelStore, default_source, sources_of
from recsys_core.training import train


def stored() -> dict[str, dict]:
    """The file datasets the store's models record now (what the app reads)."""
    return recorded_files(ModelStore().list())


def write_likes(path, n_users: int = 14):
    rows = [(f"u{u}", f"i{(u * 3 + j) % 9}") for u in range(n_users) for j in range(4)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(path, index=False)
    return path


def source(path, **options) -> dict:
    """What the CLI (``data_cmds.dataset_source``) and the app pass ``train`` for a file."""
    return {"spec": str(path), "data_dir": None, "options": options}


def train_file(path, force: bool = False):
    return train(load_dataset(str(path)), "popularity", source=source(path), force=force)


@pytest.fixture
def copies(fresh_home, tmp_path):
    """The same likes in two files at different paths: (a, b)."""
    a = write_likes(tmp_path / "first" / "likes.csv")
    b = tmp_path / "second" / "copy.csv"
    b.parent.mkdir()
    shutil.copyfile(a, b)
    return a, b


def test_a_copy_trained_after_the_original_reuses_the_model_and_opens_by_link(copies):
    a, b = copies
    first = train_file(a)
    assert not first.reused
    assert require_shareable(str(a), recorded=stored()) == str(a)
    with pytest.raises(DatasetNotAvailable):
        require_shareable(str(b), recorded=stored())  # nothing asked for b yet

    second = train_file(b)
    assert second.reused and second.model_id == first.model_id
    assert require_shareable(str(b), recorded=stored()) == str(b)
    assert is_shareable(f"{b}@kcore=2,2", recorded=stored())
    assert require_shareable(str(a), recorded=stored()) == str(a)  # the original still opens
    meta = ModelStore().meta(first.model_id)
    assert meta["dataset_source"]["spec"] == str(a)  # the CLI still reopens the original
    assert meta["reused_sources"] == [source(b)]
    assert list(stored()) == [str(a), str(b)]

    again = train_file(b)  # a path it records: nothing written
    assert again.reused
    assert ModelStore().meta(first.model_id)["reused_sources"] == [source(b)]


def test_a_copy_opens_in_the_app_by_link(copies):
    from tests.app.helpers import open_page

    a, b = copies
    model_id = train_file(a).model_id
    train_file(b)
    at = open_page("users", dataset=str(b), model=model_id)
    assert not at.exception and not at.error
    assert at.query_params["dataset"] in (str(b), [str(b)])
    assert any("14 users" in c.value for c in at.sidebar.caption)  # b itself is loaded


def test_each_path_keeps_its_own_options(copies, tmp_path):
    a, b = copies
    items = tmp_path / "items.csv"
    pd.DataFrame({"item_id": [f"i{i}" for i in range(9)], "name": list("abcdefghi")}).to_csv(
        items, index=False
    )
    dataset_a = load_dataset(str(a), items_path=str(items))
    train(dataset_a, "popularity", source=source(a, items_path=str(items)))
    dataset_b = load_dataset(str(b), items_path=str(items))
    assert train(dataset_b, "popularity", source=source(b, items_path=str(items))).reused
    assert stored() == {str(a): {"items_path": str(items)}, str(b): {"items_path": str(items)}}


def test_force_keeps_the_paths_the_replaced_model_recorded(copies):
    a, b = copies
    model_id = train_file(a).model_id
    forced = train_file(b, force=True)
    assert not forced.reused and forced.model_id == model_id
    meta = ModelStore().meta(model_id)
    assert meta["dataset_source"]["spec"] == str(b)
    assert meta["reused_sources"] == [source(a)]
    assert is_shareable(str(a), recorded=stored()) and is_shareable(str(b), recorded=stored())


def test_a_meta_written_before_reused_sources_still_loads_and_learns_the_copy(copies):
    a, b = copies
    store = ModelStore()
    model_id = train_file(a).model_id
    path = store.path(model_id) / META
    old = json.loads(path.read_text())
    assert "reused_sources" not in old  # what every meta looked like before this field
    assert sources_of(old) == [source(a)]
    [entry] = store.list()
    assert entry.ok and store.load(model_id, load_dataset(str(a))).is_fitted

    assert train_file(b).reused
    assert sources_of(store.meta(model_id)) == [source(a), source(b)]


def test_a_malformed_reused_sources_is_damage_never_a_crash(copies):
    a, _ = copies
    store = ModelStore()
    model_id = train_file(a).model_id
    path = store.path(model_id) / META
    meta = json.loads(path.read_text())
    meta["reused_sources"] = [{"spec": 5}]
    path.write_text(json.dumps(meta))
    [entry] = store.list()
    assert not entry.ok and "'reused_sources'" in entry.damaged
    assert "reused_sources" not in entry.meta  # the malformed field is left out
    assert stored() == {str(a): {}}


def test_a_file_trained_without_a_source_records_its_path_and_opens_again(
    fresh_home, tmp_path, monkeypatch
):
    """``train()`` without ``source=`` (tests, the evaluate page on a file) records the file's
    absolute path, not its name: the model opens again from any folder, and a link may open it."""
    path = write_likes(tmp_path / "data" / "likes.csv")
    monkeypatch.chdir(path.parent)
    dataset = load_dataset("likes.csv")  # a relative path, as typed
    result = train(dataset, "popularity")
    store = ModelStore()
    assert store.meta(result.model_id)["dataset_source"] == source(path.resolve())
    assert stored() == {str(path.resolve()): {}}

    monkeypatch.chdir(tmp_path)
    model, reopened = store.open(result.model_id)
    assert reopened.fingerprint == dataset.fingerprint and model.is_fitted

    monkeypatch.chdir(path.parent)
    cut = default_source(load_dataset("likes.csv@kcore=2,2"))
    assert cut["spec"] == f"{path.resolve()}@kcore=2,2"
    monkeypatch.chdir(tmp_path)
    assert load_dataset(cut["spec"]).n_interactions == dataset.n_interactions


def test_a_registry_dataset_records_its_name(fresh_home):
    assert default_source(load_dataset("demo"))["spec"] == "demo"
    assert default_source(load_dataset("demo@kcore=5,5"))["spec"] == "demo@kcore=5,5"
