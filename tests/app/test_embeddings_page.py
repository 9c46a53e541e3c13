"""The Embeddings page, the way a person uses it (AppTest), and what its map draws.

The map is a component (recsys_core/ui/scatter_component.py) that AppTest does not run: the
tests read what it was given (an Arrow table of points and a JSON meta).
"""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core import projection, words
from recsys_core.datasets import load_dataset
from recsys_core.projection import jobs
from recsys_core.store import ModelStore
from recsys_core.ui import embeddings as ui
from recsys_core.ui import embeddings_controls as controls
from recsys_core.ui import scatter_component

from .helpers import grid_item_ids, html_blocks, open_page, shown


def _maps(at) -> list[tuple[dict, dict]]:
    """(meta, columns) of every map drawn, in page order; columns as numpy arrays / lists."""
    out = []
    for element in at.get("bidi_component"):
        if element.proto.component_name != scatter_component.NAME:
            continue
        meta, table = scatter_component.decode(element.proto)
        columns = {name: table.column(name).to_pylist() for name in ("label", "detail")}
        for name in ("x", "y", "row", "c", "n"):
            columns[name] = table.column(name).to_numpy()
        out.append((meta, columns))
    return out


def _classes(meta, columns) -> dict[str, list[int]]:
    """{class name: rows of the points coloured so}."""
    names = [c["name"] for c in meta["classes"]]
    found: dict[str, list[int]] = {}
    for row, code in zip(columns["row"], columns["c"]):
        found.setdefault(names[code], []).append(int(row))
    return found


def _positions_of(meta, columns, positions) -> list[int]:
    return [int(columns["row"][p]) for p in positions]


def _located(columns, point) -> int:
    """The row of the map point at a meta {x, y}."""
    hits = np.flatnonzero(
        np.isclose(columns["x"], point["x"]) & np.isclose(columns["y"], point["y"])
    )
    return int(columns["row"][hits[0]])


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def test_the_map_draws_every_item_of_the_demo(app_models, demo):
    at = open_page("embeddings", dataset="demo", model=app_models["als"])
    assert not at.exception
    maps = _maps(at)
    assert len(maps) == 1
    meta, columns = maps[0]
    assert sorted(columns["row"].tolist()) == list(range(demo.n_items))
    assert columns["x"].dtype == np.float32 and columns["c"].dtype == np.uint8  # compact
    names = [c["name"] for c in meta["classes"]]
    # the demo colours by taste group, in words, sorted by number (2 before 10)
    assert len(names) == demo.items["group"].nunique()
    assert names == sorted(names, key=words.natural_key)
    assert names[0].startswith("Taste group 1 (") and names[1].startswith("Taste group 2 (")
    assert sum(c["count"] for c in meta["classes"]) == demo.n_items
    row = int(columns["row"][0])
    assert columns["label"][0] == demo.items.at[row, "name"]  # the tooltip's name, as is
    assert columns["detail"][0] == demo.items.at[row, "category"]
    assert columns["n"][0] == demo.item_counts[row]
    assert meta["badge"] == "" and meta["interactive"] is True
    assert "proj" not in at.query_params  # opening the page adds nothing to the URL
    assert any("t-SNE (perplexity 30) of 3,000 items" in shown(c.value) for c in at.caption)
    assert not at.get("plotly_chart")  # no Plotly in the browser


def test_the_url_item_is_highlighted_with_its_neighbours(app_models, demo):
    item = demo.example_item
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], item=item, k="8", proj="pca"
    )
    assert not at.exception
    meta, columns = _maps(at)[0]
    index = demo.item_index(item)
    assert _located(columns, meta["highlight"]) == index
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(index, 8)
    assert [_located(columns, p) for p in meta["neighbours"]] == [int(i) for i in expected]
    assert [k["shape"] for k in meta["keys"]] == ["star", "dot"]
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    assert grid_item_ids(grids[0]) == [demo.item_id(i) for i in expected]


def test_a_second_view_reads_the_projection_from_the_cache(app_models, monkeypatch):
    projection.clear_cache(app_models["als"])
    calls = {"n": 0}
    real = projection.methods.pca

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(projection.methods, "pca", counted)
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
    again = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="pca", colour="popularity"
    )
    assert again.selectbox(key="emb_colour_items").value == "popularity"


def test_colourings_are_named_in_plain_words_with_help(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca")
    box = at.selectbox(key="emb_colour_items")
    assert box.options == ["Category", "Taste group", "Tag", "Popularity"]
    assert "Planted" not in " ".join(box.options)
    assert "**Taste group**: The demo's planted taste groups" in box.help
    users = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="pca", points="users"
    )
    meta, _ = _maps(users)[0]
    names = [c["name"] for c in meta["classes"]]
    numbers = [int(name.split()[2]) for name in names]
    assert numbers == sorted(numbers) and numbers[:3] == [1, 2, 3]  # not 0, 1, 10, 11
    assert meta["legend_title"] == "Taste group" and meta["label_prefix"] == "User "


def test_a_sample_is_drawn_and_said(app_models, demo):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="tsne", sample="400")
    assert not at.exception
    meta, columns = _maps(at)[0]
    assert len(columns["row"]) == 400
    assert meta["badge"] == "Sample: 400 of 3,000 items shown"  # on the map itself
    assert any("stratified sample of 400 of 3,000" in shown(c.value) for c in at.caption)


def test_a_large_map_shows_a_pca_picture_first_then_the_full_one(app_models, demo, monkeypatch):
    """Above FIRST_PICTURE_FROM points, a t-SNE not cached yet shows a PCA map of every point
    (no clicks), replaced in the same place by the t-SNE map when it is ready."""
    monkeypatch.setattr(jobs, "FIRST_PICTURE_FROM", 100)
    drawn: list[tuple[str, dict, int]] = []
    real = scatter_component.show

    def recorded(table, meta, *, key, **kwargs):
        drawn.append((key, meta, table.num_rows))
        return real(table, meta, key=key, **kwargs)

    monkeypatch.setattr(scatter_component, "show", recorded)
    at = open_page(
        "embeddings",
        dataset="demo",
        model=app_models["als"],
        proj="tsne",
        sample="300",
        perplexity="11",
    )  # a perplexity no other test caches
    assert not at.exception
    keys = [key for key, _, _ in drawn]
    assert keys == [ui.PREVIEW_KEY, ui.MAIN_KEY]
    preview, full = drawn[0][1], drawn[1][1]
    assert drawn[0][2] == demo.n_items and preview["interactive"] is False
    assert "First picture: PCA of all 3,000 items" in preview["banner"]
    assert preview["title"].startswith("PCA map of 3,000 items")
    assert drawn[1][2] == 300 and full["interactive"] is True and full["banner"] == ""
    assert full["title"].startswith("t-SNE (perplexity 11) map of 300 items")
    ((meta, columns),) = _maps(at)  # the preview was replaced, not added
    assert meta["title"] == full["title"] and len(columns["row"]) == 300

    drawn.clear()  # cached now: the full map at once, no first picture
    again = open_page(
        "embeddings",
        dataset="demo",
        model=app_models["als"],
        proj="tsne",
        sample="300",
        perplexity="11",
    )
    assert not again.exception
    assert [key for key, _, _ in drawn] == [ui.MAIN_KEY]


def test_models_without_vectors_get_a_friendly_message(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["item-knn"])
    assert not at.exception
    assert not _maps(at)
    assert any("no latent space" in i.value and "als" in i.value for i in at.info)


def test_lightfm_draws_its_tags_and_the_items_nearest_one(app_models, demo):
    model = ModelStore().load(app_models["lightfm"], demo)
    tag = model.tag_names()[0]
    at = open_page(
        "embeddings", dataset="demo", model=app_models["lightfm"], proj="pca", near=tag, k="6"
    )
    assert not at.exception
    meta, columns = _maps(at)[0]
    assert meta["tags"]["names"] == list(model.tag_names())
    assert len(meta["tags"]["x"]) == len(model.tag_names())
    expected, _ = model.items_for_tag(tag, 6)
    assert [_located(columns, p) for p in meta["near_items"]] == [int(i) for i in expected]
    at_tag = meta["tags"]["names"].index(tag)
    assert meta["near"] == {"x": meta["tags"]["x"][at_tag], "y": meta["tags"]["y"][at_tag]}
    assert any(s.value == "Items nearest a tag" for s in at.subheader)
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    assert grid_item_ids(grids[-1]) == [demo.item_id(i) for i in expected]


def test_side_by_side_aligns_a_second_model_with_the_same_item(app_models, demo):
    item = demo.example_item
    models = f"{app_models['als']},{app_models['lightfm']}"
    at = open_page("embeddings", dataset="demo", model=models, item=item, proj="pca")
    assert not at.exception
    (left, left_columns), (right, right_columns) = _maps(at)
    index = demo.item_index(item)
    assert _located(left_columns, left["highlight"]) == index
    assert _located(right_columns, right["highlight"]) == index
    assert len(right_columns["row"]) == demo.n_items
    assert right["legend"] is False and left["legend"] is False  # two half-width maps
    model = ModelStore().load(app_models["als"], demo)
    assert left["heading"] == model.label and right["heading"].endswith("(turned to match)")
    captions = [shown(c.value) for c in at.caption]
    assert any(
        "matched on the 3,000 points both show" in c
        and "What still differs after turning: 0." in c
        and "0 is the same layout" in c
        for c in captions
    ), captions
    assert not any("Procrustes" in c or "disparity" in c for c in captions)


def test_user_vectors_can_be_drawn(app_models, demo):
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="pca", points="users"
    )
    assert not at.exception
    meta, columns = _maps(at)[0]
    assert len(columns["row"]) == demo.n_users
    row = int(columns["row"][0])
    assert columns["label"][0] == demo.user_ids[row] and columns["n"][0] == demo.user_counts[row]
    assert meta["count_many"] == "interactions"


def test_an_unknown_item_warns_and_still_draws(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], item="nope", proj="pca")
    assert not at.exception
    assert any("not in demo" in w.value for w in at.warning)
    assert _maps(at)


def _params(at) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_url_with_every_control_set_reopens_the_same_view(app_models, demo):
    tag = controls.tag_options(demo)[1]
    item = demo.example_item
    at = open_page(
        "embeddings",
        dataset="demo",
        model=app_models["als"],
        item=item,
        proj="tsne",
        colour="tag",
        tag=tag,
        perplexity="20",
        sample="400",
        k="7",
    )
    assert not at.exception
    values = {
        key: at.selectbox(key=key).value
        for key in ("emb_method", "emb_points", "emb_colour_items", "emb_tag")
    }
    assert values == {
        "emb_method": "tsne",
        "emb_points": "items",
        "emb_colour_items": "tag",
        "emb_tag": tag,
    }
    # the parameters are drawn only when their expander is open
    assert not [w for w in [*at.slider, *at.number_input] if w.key.startswith("emb_")]
    at.session_state[controls.PARAMETERS_KEY] = True
    at.run()
    assert at.slider(key="emb_perplexity").value == 20
    assert at.number_input(key="emb_sample_items").value == 400
    assert at.slider(key="emb_k").value == 7
    meta, columns = _maps(at)[0]
    classes = _classes(meta, columns)
    assert list(classes) == ["other items", f"tagged {tag}"] or set(classes) == {
        "other items",
        f"tagged {tag}",
    }
    rows = classes[f"tagged {tag}"]
    assert rows and all(tag in demo.items.at[r, "tags"] for r in rows)
    assert not any(tag in demo.items.at[r, "tags"] for r in classes["other items"])
    assert len(columns["row"]) == 400
    assert len(meta.get("neighbours", [])) <= 7
    assert any("t-SNE (perplexity 20) of 400 of 3,000 items" in shown(c.value) for c in at.caption)
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(demo.item_index(item), 7)
    assert grid_item_ids(grids[-1]) == [demo.item_id(i) for i in expected]


def test_a_default_value_leaves_the_url_and_points_reset_the_colouring(app_models):
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="pca", colour="popularity"
    )
    at.selectbox(key="emb_colour_items").set_value("group").run()
    assert not at.exception
    assert _params(at) == {"dataset": "demo", "model": app_models["als"], "proj": "pca"}
    at.selectbox(key="emb_colour_items").set_value("category").run()
    at.selectbox(key="emb_points").set_value("users").run()
    assert not at.exception
    assert _params(at) == {
        "dataset": "demo",
        "model": app_models["als"],
        "proj": "pca",
        "points": "users",
    }
    assert at.selectbox(key="emb_colour_users").value == "group"


def test_bad_values_in_the_url_fall_back_to_the_defaults(app_models, demo):
    at = open_page(
        "embeddings",
        dataset="demo",
        model=app_models["als"],
        proj="mds",
        points="both",
        colour="smell",
        perplexity="inf",
        sample="-5",
        k="900",
    )
    assert not at.exception
    assert at.selectbox(key="emb_method").value == "tsne"
    assert at.selectbox(key="emb_points").value == "items"
    assert at.selectbox(key="emb_colour_items").value == "group"
    at.session_state[controls.PARAMETERS_KEY] = True
    at.run()
    assert at.slider(key="emb_perplexity").value == controls.DEFAULT_PERPLEXITY
    assert at.number_input(key="emb_sample_items").value == controls.MIN_SAMPLE  # clamped up
    assert at.slider(key="emb_k").value == 50  # clamped down


def test_the_second_model_comes_from_the_url_and_goes_back_to_it(app_models):
    models = f"{app_models['als']},{app_models['lightfm']}"
    at = open_page("embeddings", dataset="demo", model=models, proj="pca")
    assert not at.exception
    assert at.selectbox(key=controls.SECOND_KEY).value == app_models["lightfm"]
    assert len(_maps(at)) == 2
    at.selectbox(key=controls.SECOND_KEY).set_value("").run()
    assert not at.exception
    assert _params(at)["model"] == app_models["als"]
    assert len(_maps(at)) == 1
