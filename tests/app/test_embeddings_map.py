"""What the Embeddings map shows (recsys_core/ui/embeddings_map.py, embeddings_colours.py and
embeddings_figure.py): the canvas map's data, its colours, the HTML download's Plotly figure and
the CSV, each a function of a dataset, a projection and a MapView."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core import projection
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.ui import embeddings_colours as colours
from recsys_core.ui import scatter_component
from recsys_core.ui.embeddings_figure import build_figure
from recsys_core.ui.embeddings_map import MapView, map_data, projection_table


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def _pca(app_models, name="als"):
    return projection.project_model(app_models[name], "pca")


def test_colour_by_popularity_is_a_log_scale(app_models, demo):
    result = _pca(app_models)
    table, meta = map_data(demo, result, MapView(colour="popularity"))
    codes = table.column("c").to_numpy()
    logs = np.log10(np.maximum(demo.item_counts[result.indices], 1))
    top = np.ceil(logs.max())
    np.testing.assert_array_equal(codes, np.rint(logs / top * (colours.SCALE_STEPS - 1)))
    assert len(meta["classes"]) == colours.SCALE_STEPS and "scale" in meta
    assert [t["label"] for t in meta["scale"]["ticks"]][:3] == ["1", "10", "100"]
    assert meta["legend_title"] == "Popularity: likes per item (log scale)"
    fig = build_figure(demo, result, MapView(colour="popularity"))  # the HTML download agrees
    (trace,) = [t for t in fig.data if t.meta == "items"]
    np.testing.assert_allclose(trace.marker.color, logs)


def test_the_selection_is_sent_back_as_positions_on_the_map(app_models, demo):
    result = projection.project_model(
        app_models["als"], "tsne", sample=400, strata=demo.items["category"].astype(str).to_numpy()
    )
    on_map = [int(result.indices[3]), int(result.indices[10])]
    off_map = next(r for r in range(demo.n_items) if r not in set(result.indices.tolist()))
    table, meta = map_data(demo, result, MapView(selected=[*on_map, off_map]))
    rows = table.column("row").to_numpy()
    assert [int(rows[p]) for p in meta["selection"]] == on_map


def test_names_reach_the_map_as_they_are_and_the_figure_escaped(app_models, demo):
    items = demo.items.copy()
    items.loc[0, "name"] = "<img src=x onerror=alert(1)>"
    hostile = demo.replace(items=items)
    result = _pca(app_models)
    table, _ = map_data(hostile, result, MapView(colour="category"))
    assert table.column("label").to_pylist()[0] == "<img src=x onerror=alert(1)>"  # text
    fig = build_figure(hostile, result, MapView(colour="category"))
    text = fig.to_html(include_plotlyjs=False)
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_click_and_selection_values_are_checked():
    assert scatter_component.click_value({"row": 5}) == ("row", 5)
    assert scatter_component.click_value({"tag": 2}) == ("tag", 2)
    for bad in ({"row": -1}, {"row": "5"}, {"row": True}, {"x": 1}, {"row": 1, "tag": 2}, 7):
        assert scatter_component.click_value(bad) is None
    assert scatter_component.selection_value({"rows": [5, 5, 7], "tags": [2]}) == ([5, 7], [2])
    assert scatter_component.selection_value({"rows": [], "tags": []}) == ([], [])
    for bad in ({"rows": [1.5]}, {"rows": "1"}, {"rows": [-2]}, {"rows": [1], "tags": [None]}):
        assert scatter_component.selection_value(bad) is None


def test_the_csv_has_one_line_per_point_and_tag(app_models, demo):
    result = _pca(app_models, "lightfm")
    table = projection_table(demo, result)
    assert (table["kind"] == "item").sum() == demo.n_items
    assert (table["kind"] == "tag").sum() == len(result.tag_names)
    assert list(table.columns[:5]) == ["kind", "id", "name", "category", "likes"]
    assert np.isfinite(table[["x", "y"]].to_numpy(float)).all()


def test_classes_beyond_the_legend_are_pooled_and_sorted_by_number():
    values = np.array(["g10", "g2", "g2", "", "g1", None, "g10"], dtype=object)
    codes, names = colours.classes(values, limit=3)
    assert names == ["g2", "g10", "(none)", "other"]  # by number, the pooled and empty last
    assert [names[c] for c in codes] == ["g10", "g2", "g2", "(none)", "other", "(none)", "g10"]


def test_the_map_and_the_figure_draw_the_same_marks(app_models, demo):
    """The star, the neighbours, the tags and a tag's items stand at the same places on the
    canvas map and in the HTML download's figure (one computation of the marks for both)."""
    model = ModelStore().load(app_models["lightfm"], demo)
    result = _pca(app_models, "lightfm")
    tag = model.tag_names()[0]
    item = int(result.indices[5])
    shown = MapView(
        highlight=item,
        neighbours=model.similar_items(item, 6)[0],
        near_tag=tag,
        tag_items=model.items_for_tag(tag, 4)[0],
    )
    _, meta = map_data(demo, result, shown)
    traces = {t.meta: t for t in build_figure(demo, result, shown).data if t.meta != "lines"}
    assert [k["shape"] for k in meta["keys"]] == ["star", "dot", "diamond", "ring"]
    assert meta["highlight"] == pytest.approx(
        {"x": traces["selected"].x[0], "y": traces["selected"].y[0]}
    )
    for key, meta_key in (("neighbours", "neighbours"), ("tag-items", "near_items")):
        figure_xy = np.column_stack([traces[key].x, traces[key].y])
        meta_xy = np.array([[p["x"], p["y"]] for p in meta[meta_key]])
        np.testing.assert_allclose(figure_xy, meta_xy, rtol=1e-6)
    assert len(meta["neighbours"]) == 6 and len(meta["near_items"]) == 4
    assert list(traces["tags"].text) == meta["tags"]["names"]
    bare = MapView(highlight=item, neighbours=shown.neighbours, show_tags=False)
    _, plain = map_data(demo, result, bare)
    assert "tags" not in plain and "near" not in plain  # no tags, so no tag's items either
