"""The first visit (AppTest): a fresh store's demo gets a first model by itself, once; other
datasets say how to get one."""

from __future__ import annotations

import pytest

from recsys_core import config, training
from recsys_core.algorithms import parse_params
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from .helpers import grid_item_ids, html_blocks, open_page, shown


@pytest.fixture
def first_model_on(fresh_home, monkeypatch):
    """A fresh RECSYS_HOME with the first model allowed (the suite turns it off)."""
    monkeypatch.setenv(training.FIRST_MODEL_ENV, "on")
    return fresh_home


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def _no_second_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained a second time")

    monkeypatch.setattr(training, "fit_model", refuse)


def test_similar_on_a_fresh_demo_trains_the_first_model_and_shows_12(first_model_on, monkeypatch):
    at = open_page("similar", dataset="demo")
    assert not at.exception, at.exception
    store = ModelStore()
    [entry] = store.list()
    assert entry.ok and entry.algorithm == "als"
    assert entry.meta["params"] == parse_params("als", None)  # ALS with its defaults
    assert training.is_first_model(entry.meta)
    assert _param(at, "model") == entry.model_id  # in the URL: the sidebar and links carry it
    assert at.selectbox(key="sidebar_model").value == entry.model_id
    demo = load_dataset("demo")
    assert _param(at, "item") == demo.example_item
    model = store.load(entry.model_id, demo)
    expected, _ = model.similar_items(demo.item_index(demo.example_item), 12)
    [grid] = _grids(at)
    assert grid_item_ids(grid) == [demo.item_id(i) for i in expected]
    assert len(expected) == 12
    assert not [i for i in at.info if "No model" in i.value]

    _no_second_training(monkeypatch)
    again = open_page("similar", dataset="demo")  # a second visit (no model in its URL)
    assert not again.exception, again.exception
    assert _param(again, "model") == entry.model_id
    assert grid_item_ids(_grids(again)[0]) == grid_item_ids(grid)
    assert [e.model_id for e in ModelStore().list()] == [entry.model_id]


def test_the_start_page_says_it_trained_then_ready_with_a_link(first_model_on, monkeypatch):
    at = open_page("start", dataset="demo")
    assert not at.exception, at.exception
    [entry] = ModelStore().list()
    said = " ".join(shown(m.value) for m in at.markdown)
    assert "Ready." in said and "A first model, ALS (WRMF), was trained on the demo" in said
    assert "Similar items" in said
    # the next step is a link to Similar items that keeps the view (the model now)
    links = [p for p in at.get("page_link") if p.proto.label == "Browse similar items"]
    assert links and "similar" in links[0].proto.page
    assert f"model={entry.model_id}" in links[0].proto.query_string
    assert "dataset=demo" in links[0].proto.query_string

    _no_second_training(monkeypatch)
    other_session = open_page("start", dataset="demo")  # another browser: no second model
    assert not other_session.exception
    said = " ".join(shown(m.value) for m in other_session.markdown)
    assert "One model, ALS (WRMF), is trained on this dataset" in said
    assert len(ModelStore().list()) == 1


def test_another_dataset_keeps_the_message_worded_helpfully(first_model_on, tmp_path, monkeypatch):
    likes = tmp_path / "shared" / "likes.csv"
    likes.parent.mkdir()
    likes.write_text(
        "user,item\n" + "".join(f"u{u},i{(u * 5 + j) % 13}\n" for u in range(24) for j in range(4))
    )
    monkeypatch.setenv(config.DATA_DIRS_ENV, str(likes.parent))
    for page in ("similar", "start"):
        at = open_page(page, dataset=str(likes))
        assert not at.exception, at.exception
        infos = [shown(i.value) for i in at.info]
        assert any(
            "No model is trained on likes.csv" in i and "Train a model" in i and "sidebar" in i
            for i in infos
        ), infos
    cut = open_page("similar", dataset="demo@kcore=5,5")  # not the demo itself
    assert not cut.exception
    assert any("No model is trained on" in shown(i.value) for i in cut.info)
    assert ModelStore().list() == []


def test_with_the_switch_off_the_demo_says_how_to_train(fresh_home):
    at = open_page("similar", dataset="demo")
    assert not at.exception
    assert any("No model is trained on demo" in shown(i.value) for i in at.info)
    assert ModelStore().list() == []


def test_compare_on_a_fresh_demo_trains_the_first_model_then_asks_for_a_second(first_model_on):
    from recsys_core.ui import compare as compare_ui

    at = open_page("compare", dataset="demo")
    assert not at.exception, at.exception
    [entry] = ModelStore().list()
    assert training.is_first_model(entry.meta)
    assert [shown(i.value) for i in at.info] == [
        "Only one model here finds similar items (ALS (WRMF)): train another one in the sidebar "
        "(Item k-NN, for example)."
    ]
    assert not at.get("segmented_control") and not _grids(at)
    assert compare_ui.MODELS not in [m.key for m in at.multiselect]
