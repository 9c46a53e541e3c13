"""The Compare page, the way a person uses it (AppTest)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core import overlap
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.training import train
from recsys_core.ui import compare as compare_ui
from recsys_core.ui import loaders

from .helpers import grid_item_ids, html_blocks, open_page


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def _table(at, column):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def test_url_with_two_models_shows_each_models_similar_items(app_models, demo):
    ids = [app_models["als"], app_models["item-knn"]]
    item = demo.example_item
    at = open_page("compare", dataset="demo", model=",".join(ids), item=item, k="10")
    assert not at.exception
    grids = _grids(at)
    assert len(grids) == 2
    store = ModelStore()
    expected = []
    for model_id, grid in zip(ids, grids):
        model = store.load(model_id, demo)
        indices, _ = model.similar_items(demo.item_index(item), 10)
        expected.append([demo.item_id(i) for i in indices])
        assert grid_item_ids(grid) == expected[-1]
    assert expected[0] != expected[1]
    # items in both lists are marked as shared, in both grids, and only those
    both = set(expected[0]) & set(expected[1])
    assert both, "the demo's ALS and item-knn should agree on some neighbours"
    assert grids[0].count('class="rx-flag"') == len(both) == grids[1].count('class="rx-flag"')
    assert at.multiselect(key=compare_ui.MODELS).value == ids
    assert _param(at, "model") == ",".join(ids)


def test_overlap_table_equals_overlap_module(app_models, demo):
    ids = [app_models["als"], app_models["item-knn"], app_models["lightfm"]]
    item = demo.example_item
    at = open_page("compare", dataset="demo", model=",".join(ids), item=item, k="12")
    assert not at.exception
    lists = [[demo.item_index(i) for i in grid_item_ids(g)] for g in _grids(at)]
    assert len(lists) == 3 and all(len(x) == 12 for x in lists)
    table = _table(at, "Jaccard")
    rbo_column = next(c for c in table.columns if c.startswith("RBO"))
    assert len(table) == 3  # A-B, A-C, B-C
    pairs = [(0, 1), (0, 2), (1, 2)]
    for row, (a, b) in zip(table.itertuples(index=False), pairs):
        values = dict(zip(table.columns, row))
        assert values["Jaccard"] == pytest.approx(overlap.jaccard(lists[a], lists[b]))
        assert values[rbo_column] == pytest.approx(overlap.rbo(lists[a], lists[b]))
        assert values["Shared items"] == len(set(lists[a]) & set(lists[b]))
    assert table["Jaccard"].max() > 0  # not a table of zeros


def test_metrics_table_appears_when_models_were_evaluated(app_models, demo):
    # two models of their own, so the session's shared models keep their meta untouched
    knn = train(demo, "item-knn", {"K": 10}).model_id
    pop = train(demo, "popularity", {"weighted": True}).model_id
    store = ModelStore()
    protocol = "holdout:5:seed=0@k=10"
    store.record_metrics(knn, protocol, {"precision": 0.30, "ndcg": 0.25, "coverage": 0.2, "k": 10})
    store.record_metrics(pop, protocol, {"precision": 0.05, "ndcg": 0.04, "coverage": 0.6, "k": 10})
    loaders.clear_model_listing()

    at = open_page("compare", dataset="demo", model=f"{knn},{pop}", item=demo.example_item)
    assert not at.exception
    table = _table(at, "precision")
    assert list(table.index) == ["A · item-knn", "B · popularity"]
    assert table.loc["A · item-knn", "precision"] == pytest.approx(0.30)
    assert table.loc["B · popularity", "coverage"] == pytest.approx(0.6)
    assert "k" not in table.columns  # protocol fields are not metrics

    # without metrics, no metrics table
    plain = open_page(
        "compare",
        dataset="demo",
        model=f"{app_models['als']},{app_models['item-knn']}",
        item=demo.example_item,
    )
    assert not [d for d in plain.dataframe if "precision" in d.value.columns]


def test_a_model_without_similar_items_gets_a_note_not_an_error(app_models, demo):
    ids = [app_models["als"], app_models["popularity"]]
    at = open_page("compare", dataset="demo", model=",".join(ids), item=demo.example_item)
    assert not at.exception
    assert len(_grids(at)) == 1
    assert any("no notion of item similarity" in i.value for i in at.info)
    assert not [d for d in at.dataframe if "Jaccard" in d.value.columns]  # one list: no pairs


def test_user_mode_compares_recommendations_for_the_same_user(app_models, demo):
    ids = [app_models["als"], app_models["popularity"]]
    user = demo.user_ids[7]
    at = open_page("compare", dataset="demo", model=",".join(ids), user=user, k="8")
    assert not at.exception
    assert at.segmented_control(key=compare_ui.MODE).value == "user"
    store = ModelStore()
    for model_id, grid in zip(ids, _grids(at)):
        model = store.load(model_id, demo)
        indices, _ = model.recommend(demo.user_index(user), 8)
        assert grid_item_ids(grid) == [demo.item_id(i) for i in indices]
        seen = set(demo.interactions[demo.user_index(user)].indices.tolist())
        assert not seen & {demo.item_index(i) for i in grid_item_ids(grid)}


def test_switching_mode_and_models_rewrites_the_url(app_models, demo):
    ids = [app_models["als"], app_models["item-knn"]]
    at = open_page("compare", dataset="demo", model=",".join(ids), item=demo.example_item)
    at.segmented_control(key=compare_ui.MODE).set_value("user").run()
    assert not at.exception
    assert _param(at, "item") is None and _param(at, "user")
    user = demo.user_index(_param(at, "user"))
    model = ModelStore().load(ids[0], demo)
    expected, _ = model.recommend(user, 12)
    assert grid_item_ids(_grids(at)[0]) == [demo.item_id(i) for i in expected]

    at.segmented_control(key=compare_ui.MODE).set_value("item").run()
    assert _param(at, "item") == demo.example_item and _param(at, "user") is None

    three = ids + [app_models["lightfm"]]
    at.multiselect(key=compare_ui.MODELS).set_value(three).run()
    assert not at.exception
    assert _param(at, "model") == ",".join(three)
    assert len(_grids(at)) == 3


def test_one_model_in_the_url_is_completed_to_a_pair(app_models, demo):
    at = open_page("compare", dataset="demo", model=app_models["als"], item=demo.example_item)
    assert not at.exception
    chosen = _param(at, "model").split(",")
    assert chosen[0] == app_models["als"] and len(chosen) == 2
    assert len(_grids(at)) >= 1
    assert np.unique(chosen).size == 2
