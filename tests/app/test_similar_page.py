"""The Similar items page, the way a person uses it (AppTest)."""

from __future__ import annotations

import numpy as np

from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from .helpers import grid_item_ids, html_blocks, open_page


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def test_url_opens_the_grid_of_the_models_neighbours(app_models):
    demo = load_dataset("demo")
    item = demo.example_item
    at = open_page("similar", dataset="demo", model=app_models["als"], item=item, k="12")
    assert not at.exception
    grids = _grids(at)
    assert grids, "no thumbnail grid drawn"
    shown = grid_item_ids(grids[0])
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(demo.item_index(item), 12)
    assert shown == [demo.item_id(i) for i in expected]
    assert at.slider(key="similar_k").value == 12


def test_selecting_another_item_changes_the_grid(app_models):
    demo = load_dataset("demo")
    first, second = demo.item_ids[np.argsort(-demo.item_counts)[:2]]
    at = open_page("similar", dataset="demo", model=app_models["item-knn"], item=first)
    before = grid_item_ids(_grids(at)[0])
    at.text_input(key="item_query").input(demo.item_name(demo.item_index(second))).run()
    assert not at.exception
    assert at.query_params["item"] == [str(second)] or at.query_params["item"] == str(second)
    after = grid_item_ids(_grids(at)[0])
    assert after and after != before


def test_unknown_item_in_the_url_suggests_the_closest(app_models):
    at = open_page("similar", dataset="demo", model=app_models["als"], item="i99999")
    assert not at.exception
    assert any("not in demo" in w.value for w in at.warning)
    assert _grids(at), "the closest items are shown as a grid"


def test_switching_the_model_changes_the_grid(app_models):
    demo = load_dataset("demo")
    item = demo.example_item
    als = grid_item_ids(
        _grids(open_page("similar", dataset="demo", model=app_models["als"], item=item))[0]
    )
    knn = grid_item_ids(
        _grids(open_page("similar", dataset="demo", model=app_models["item-knn"], item=item))[0]
    )
    assert als != knn


def test_lightfm_with_features_shows_tags(app_models):
    demo = load_dataset("demo")
    at = open_page("similar", dataset="demo", model=app_models["lightfm"], item=demo.example_item)
    assert not at.exception
    assert any("Suggested tags" in s.value for s in at.subheader)
    assert len(_grids(at)) == 2
