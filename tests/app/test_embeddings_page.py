"""The Embeddings page, the way a person uses it (AppTest), and its figure builder."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from recsys_core import projection
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.ui import embeddings as ui

from .helpers import grid_item_ids, html_blocks, open_page, shown


def _array(value):
    """A plotly JSON array: a list, or plotly's typed-array form {"dtype", "bdata"}."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return data.reshape(value["shape"]) if "shape" in value else data
    return np.asarray(value if value is not None else [], dtype=object)


def _figures(at):
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _traces(figure, meta):
    return [t for t in figure["data"] if t.get("meta") == meta]


def _rows(trace):
    """The item rows of a trace (first column of customdata)."""
    custom = trace.get("customdata")
    if isinstance(custom, dict):
        return [int(v) for v in _array(custom)[:, 0]]
    return [int(row[0]) for row in custom]


def _point_count(figure, meta="items"):
    return sum(len(_array(t.get("x"))) for t in _traces(figure, meta))


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def test_the_map_draws_every_item_of_the_demo(app_models, demo):
    at = open_page("embeddings", dataset="demo", model=app_models["als"])
    assert not at.exception
    figures = _figures(at)
    assert len(figures) == 1
    assert _point_count(figures[0]) == demo.n_items
    rows = sorted(r for t in _traces(figures[0], "items") for r in _rows(t))
    assert rows == list(range(demo.n_items))
    names = [t["name"] for t in _traces(figures[0], "items")]
    assert len(names) == demo.items["group_label"].nunique()  # the demo colours by planted group
    assert "customdata[1]" in _traces(figures[0], "items")[0]["hovertemplate"]
    assert "proj" not in at.query_params  # opening the page adds nothing to the URL
    assert any("t-SNE (perplexity 30) of 3,000 items" in shown(c.value) for c in at.caption)


def test_the_url_item_is_highlighted_with_its_neighbours(app_models, demo):
    item = demo.example_item
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], item=item, k="8", proj="pca"
    )
    assert not at.exception
    figure = _figures(at)[0]
    index = demo.item_index(item)
    (selected,) = _traces(figure, "selected")
    assert _rows(selected) == [index]
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(index, 8)
    (neighbours,) = _traces(figure, "neighbours")
    assert _rows(neighbours) == [int(i) for i in expected]
    (lines,) = _traces(figure, "lines")
    assert len(_array(lines["x"])) == 3 * 8  # from the item to each neighbour, None between
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    assert grid_item_ids(grids[0]) == [demo.item_id(i) for i in expected]


def test_a_second_view_reads_the_projection_from_the_cache(app_models, monkeypatch):
    projection.clear_cache(app_models["als"])
    calls = {"n": 0}
    real = projection._pca

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(projection, "_pca", counted)
    first = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca")
    second = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca")
    assert not first.exception and not second.exception
    assert calls["n"] == 1
    assert any("computed in" in c.value and "cache" not in c.value for c in first.caption)
    assert any("read from the cache" in c.value for c in second.caption)


def test_changing_a_setting_writes_it_to_the_url(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca")
    at.selectbox(key="emb_colour_items").set_value("popularity").run()
    assert not at.exception
    assert at.query_params["colour"] in ("popularity", ["popularity"])
    assert at.query_params["proj"] in ("pca", ["pca"])
    again = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca",
                      colour="popularity")
    assert again.selectbox(key="emb_colour_items").value == "popularity"


def test_a_sample_is_drawn_and_said(app_models, demo):
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="tsne", sample="400"
    )
    assert not at.exception
    assert _point_count(_figures(at)[0]) == 400
    assert any("stratified sample of 400 of 3,000" in shown(c.value) for c in at.caption)


def test_models_without_vectors_get_a_friendly_message(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["item-knn"])
    assert not at.exception
    assert not at.get("plotly_chart")
    assert any("no latent space" in i.value and "als" in i.value for i in at.info)


def test_lightfm_draws_its_tags_and_the_items_nearest_one(app_models, demo):
    model = ModelStore().load(app_models["lightfm"], demo)
    tag = model.tag_names()[0]
    at = open_page(
        "embeddings", dataset="demo", model=app_models["lightfm"], proj="pca", near=tag, k="6"
    )
    assert not at.exception
    figure = _figures(at)[0]
    (tags,) = _traces(figure, "tags")
    assert len(_array(tags["x"])) == len(model.tag_names())
    (tag_items,) = _traces(figure, "tag-items")
    expected, _ = model.items_for_tag(tag, 6)
    assert _rows(tag_items) == [int(i) for i in expected]
    assert any(s.value == "Items nearest a tag" for s in at.subheader)
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    assert grid_item_ids(grids[-1]) == [demo.item_id(i) for i in expected]


def test_side_by_side_aligns_a_second_model_with_the_same_item(app_models, demo):
    item = demo.example_item
    models = f"{app_models['als']},{app_models['lightfm']}"
    at = open_page("embeddings", dataset="demo", model=models, item=item, proj="pca")
    assert not at.exception
    left, right = _figures(at)
    index = demo.item_index(item)
    assert _rows(_traces(left, "selected")[0]) == [index]
    assert _rows(_traces(right, "selected")[0]) == [index]
    assert _point_count(right) == demo.n_items
    assert any("Aligned by Procrustes over 3,000 shared rows" in shown(c.value) for c in at.caption)


def test_user_vectors_can_be_drawn(app_models, demo):
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="pca", points="users"
    )
    assert not at.exception
    assert _point_count(_figures(at)[0]) == demo.n_users


def test_an_unknown_item_warns_and_still_draws(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], item="nope", proj="pca")
    assert not at.exception
    assert any("not in demo" in w.value for w in at.warning)
    assert _figures(at)


def _params(at) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_url_with_every_control_set_reopens_the_same_view(app_models, demo):
    tag = ui.tag_options(demo)[1]
    item = demo.example_item
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], item=item, proj="tsne",
        colour="tag", tag=tag, perplexity="20", sample="400", k="7",
    )
    assert not at.exception
    values = {key: at.selectbox(key=key).value
              for key in ("emb_method", "emb_points", "emb_colour_items", "emb_tag")}
    assert values == {"emb_method": "tsne", "emb_points": "items", "emb_colour_items": "tag",
                      "emb_tag": tag}
    assert at.slider(key="emb_perplexity").value == 20
    assert at.number_input(key="emb_sample_items").value == 400
    assert at.slider(key="emb_k").value == 7
    figure = _figures(at)[0]
    tagged = [t for t in _traces(figure, "items") if t["name"].startswith("tagged")]
    rows = _rows(tagged[0])
    assert rows and all(tag in demo.items.at[r, "tags"] for r in rows)
    assert _point_count(figure) == 400
    assert len(_rows(_traces(figure, "neighbours")[0])) <= 7
    assert any("t-SNE (perplexity 20) of 400 of 3,000 items" in shown(c.value)
               for c in at.caption)
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(demo.item_index(item), 7)
    assert grid_item_ids(grids[-1]) == [demo.item_id(i) for i in expected]


def test_a_default_value_leaves_the_url_and_points_reset_the_colouring(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca",
                   colour="popularity")
    at.selectbox(key="emb_colour_items").set_value("group").run()
    assert not at.exception
    assert _params(at) == {"dataset": "demo", "model": app_models["als"], "proj": "pca"}
    at.selectbox(key="emb_colour_items").set_value("category").run()
    at.selectbox(key="emb_points").set_value("users").run()
    assert not at.exception
    assert _params(at) == {"dataset": "demo", "model": app_models["als"], "proj": "pca",
                           "points": "users"}
    assert at.selectbox(key="emb_colour_users").value == "group"


def test_bad_values_in_the_url_fall_back_to_the_defaults(app_models, demo):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="mds",
                   points="both", colour="smell", perplexity="inf", sample="-5", k="900")
    assert not at.exception
    assert at.selectbox(key="emb_method").value == "tsne"
    assert at.selectbox(key="emb_points").value == "items"
    assert at.selectbox(key="emb_colour_items").value == "group"
    assert at.slider(key="emb_perplexity").value == ui.DEFAULT_PERPLEXITY
    assert at.number_input(key="emb_sample_items").value == ui.MIN_SAMPLE  # clamped up
    assert at.slider(key="emb_k").value == 50  # clamped down


def test_the_second_model_comes_from_the_url_and_goes_back_to_it(app_models):
    models = f"{app_models['als']},{app_models['lightfm']}"
    at = open_page("embeddings", dataset="demo", model=models, proj="pca")
    assert not at.exception
    assert at.selectbox(key=ui.SECOND_KEY).value == app_models["lightfm"]
    assert len(_figures(at)) == 2
    at.selectbox(key=ui.SECOND_KEY).set_value("").run()
    assert not at.exception
    assert _params(at)["model"] == app_models["als"]
    assert len(_figures(at)) == 1


# ------------------------------------------------------------------------ figure and selection
def _pca(app_models, name="als"):
    return projection.project_model(app_models[name], "pca")


def test_colour_by_tag_splits_tagged_from_the_rest(app_models, demo):
    result = _pca(app_models)
    tag = ui.tag_options(demo)[0]
    fig = ui.build_figure(demo, result, colour="tag", tag=tag)
    traces = [t for t in fig.data if t.meta == "items"]
    tagged = [t for t in traces if t.name.startswith("tagged")][0]
    expected = sum(tag in tags for tags in demo.items["tags"])
    assert len(tagged.x) == expected > 0
    assert sum(len(t.x) for t in traces) == demo.n_items


def test_colour_by_popularity_is_one_log_scaled_trace(app_models, demo):
    fig = ui.build_figure(demo, _pca(app_models), colour="popularity")
    (trace,) = [t for t in fig.data if t.meta == "items"]
    np.testing.assert_allclose(trace.marker.color, np.log10(np.maximum(demo.item_counts, 1)))
    assert trace.marker.showscale


def test_names_reach_the_figure_escaped(app_models, demo):
    items = demo.items.copy()
    items.loc[0, "name"] = "<img src=x onerror=alert(1)>"
    hostile = demo.replace(items=items)
    fig = ui.build_figure(hostile, _pca(app_models), colour="category")
    text = fig.to_html(include_plotlyjs=False)
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_selection_events_become_item_and_tag_rows():
    class Event:
        def __init__(self, points):
            self.selection = type("S", (), {"points": points})()

    points = [
        {"customdata": [5, "a", "b", 1]},
        {"customdata": [5, "a", "b", 1]},
        {"customdata": [-3, "tag", "tag", 0]},
        {"customdata": 7},
        {"x": 1.0},
    ]
    assert ui.selection(Event(points)) == ([5, 7], [2])
    assert ui.selection(object()) == ([], [])


def test_the_csv_has_one_line_per_point_and_tag(app_models, demo):
    result = _pca(app_models, "lightfm")
    table = ui.projection_table(demo, result)
    assert (table["kind"] == "item").sum() == demo.n_items
    assert (table["kind"] == "tag").sum() == len(result.tag_names)
    assert list(table.columns[:5]) == ["kind", "id", "name", "category", "likes"]
    assert np.isfinite(table[["x", "y"]].to_numpy(float)).all()
