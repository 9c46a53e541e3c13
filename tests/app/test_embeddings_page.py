"""The Embeddings page, the way a person uses it (AppTest), and what its map draws.

The map is a component (recsys_core/ui/scatter_component.py) that AppTest does not run: the
tests read what it was given (an Arrow table of points and a JSON meta).
"""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core import projection, words
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.ui import embeddings as ui
from recsys_core.ui import embeddings_map as emap
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
    hits = np.flatnonzero(np.isclose(columns["x"], point["x"]) & np.isclose(columns["y"],
                                                                            point["y"]))
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
    again = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca",
                      colour="popularity")
    assert again.selectbox(key="emb_colour_items").value == "popularity"


def test_colourings_are_named_in_plain_words_with_help(app_models):
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca")
    box = at.selectbox(key="emb_colour_items")
    assert box.options == ["Category", "Taste group", "Tag", "Popularity"]
    assert "Planted" not in " ".join(box.options)
    assert "**Taste group**: The demo's planted taste groups" in box.help
    users = open_page("embeddings", dataset="demo", model=app_models["als"], proj="pca",
                      points="users")
    meta, _ = _maps(users)[0]
    names = [c["name"] for c in meta["classes"]]
    numbers = [int(name.split()[2]) for name in names]
    assert numbers == sorted(numbers) and numbers[:3] == [1, 2, 3]  # not 0, 1, 10, 11
    assert meta["legend_title"] == "Taste group" and meta["label_prefix"] == "User "


def test_a_sample_is_drawn_and_said(app_models, demo):
    at = open_page(
        "embeddings", dataset="demo", model=app_models["als"], proj="tsne", sample="400"
    )
    assert not at.exception
    meta, columns = _maps(at)[0]
    assert len(columns["row"]) == 400
    assert meta["badge"] == "Sample: 400 of 3,000 items shown"  # on the map itself
    assert any("stratified sample of 400 of 3,000" in shown(c.value) for c in at.caption)


def test_a_large_map_shows_a_pca_picture_first_then_the_full_one(app_models, demo,
                                                                  monkeypatch):
    """Above FIRST_PICTURE_FROM points, a t-SNE not cached yet shows a PCA map of every point
    (no clicks), replaced in the same place by the t-SNE map when it is ready."""
    monkeypatch.setattr(ui, "FIRST_PICTURE_FROM", 100)
    drawn: list[tuple[str, dict, int]] = []
    real = scatter_component.show

    def recorded(table, meta, *, key, **kwargs):
        drawn.append((key, meta, table.num_rows))
        return real(table, meta, key=key, **kwargs)

    monkeypatch.setattr(scatter_component, "show", recorded)
    at = open_page("embeddings", dataset="demo", model=app_models["als"], proj="tsne",
                   sample="300", perplexity="11")  # a perplexity no other test caches
    assert not at.exception
    keys = [key for key, _, _ in drawn]
    assert keys == [ui.PREVIEW_KEY, ui.MAIN_KEY]
    preview, full = drawn[0][1], drawn[1][1]
    assert drawn[0][2] == demo.n_items and preview["interactive"] is False
    assert "First picture: PCA of all 3,000 items" in preview["banner"]
    assert preview["title"].startswith("PCA map of 3,000 items")
    assert drawn[1][2] == 300 and full["interactive"] is True and full["banner"] == ""
    assert full["title"].startswith("t-SNE (perplexity 11) map of 300 items")
    (meta, columns), = _maps(at)  # the preview was replaced, not added
    assert meta["title"] == full["title"] and len(columns["row"]) == 300

    drawn.clear()  # cached now: the full map at once, no first picture
    again = open_page("embeddings", dataset="demo", model=app_models["als"], proj="tsne",
                      sample="300", perplexity="11")
    assert not again.exception
    assert [key for key, _, _ in drawn] == [ui.MAIN_KEY]


def test_a_background_projection_is_shared_and_stops_when_nobody_waits(monkeypatch):
    """Two runs waiting for the same projection share one computation; one nobody polls for
    ABANDON_SECONDS stops at its next progress report."""
    import threading
    import time

    jobs = ui._Jobs()
    started = threading.Event()
    release = threading.Event()
    calls = {"n": 0}

    def run(progress):
        calls["n"] += 1
        started.set()
        release.wait(5)
        progress(0.5, "half")
        return "map"

    first = jobs.attach(("k",), run)
    assert started.wait(5)
    assert jobs.attach(("k",), run) is first
    release.set()
    assert first.future.result(5) == "map" and calls["n"] == 1

    monkeypatch.setattr(ui, "ABANDON_SECONDS", 0.05)
    release.clear()
    started.clear()
    lonely = jobs.attach(("other",), run)
    assert started.wait(5)
    time.sleep(0.1)  # nobody polls
    release.set()
    with pytest.raises(ui._Abandoned):
        lonely.future.result(5)
    assert jobs.attach(("other",), lambda progress: "again").future.result(5) == "again"


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
    assert any("matched on the 3,000 points both show" in c and "What still differs after "
               "turning: 0." in c and "0 is the same layout" in c for c in captions), captions
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
    # the parameters are drawn only when their expander is open
    assert not [w for w in [*at.slider, *at.number_input] if w.key.startswith("emb_")]
    at.session_state[ui.PARAMETERS_KEY] = True
    at.run()
    assert at.slider(key="emb_perplexity").value == 20
    assert at.number_input(key="emb_sample_items").value == 400
    assert at.slider(key="emb_k").value == 7
    meta, columns = _maps(at)[0]
    classes = _classes(meta, columns)
    assert list(classes) == ["other items", f"tagged {tag}"] or set(classes) == {
        "other items", f"tagged {tag}"}
    rows = classes[f"tagged {tag}"]
    assert rows and all(tag in demo.items.at[r, "tags"] for r in rows)
    assert not any(tag in demo.items.at[r, "tags"] for r in classes["other items"])
    assert len(columns["row"]) == 400
    assert len(meta.get("neighbours", [])) <= 7
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
    at.session_state[ui.PARAMETERS_KEY] = True
    at.run()
    assert at.slider(key="emb_perplexity").value == ui.DEFAULT_PERPLEXITY
    assert at.number_input(key="emb_sample_items").value == ui.MIN_SAMPLE  # clamped up
    assert at.slider(key="emb_k").value == 50  # clamped down


def test_the_second_model_comes_from_the_url_and_goes_back_to_it(app_models):
    models = f"{app_models['als']},{app_models['lightfm']}"
    at = open_page("embeddings", dataset="demo", model=models, proj="pca")
    assert not at.exception
    assert at.selectbox(key=ui.SECOND_KEY).value == app_models["lightfm"]
    assert len(_maps(at)) == 2
    at.selectbox(key=ui.SECOND_KEY).set_value("").run()
    assert not at.exception
    assert _params(at)["model"] == app_models["als"]
    assert len(_maps(at)) == 1


# ------------------------------------------------------------------------- the map's content
def _pca(app_models, name="als"):
    return projection.project_model(app_models[name], "pca")


def test_colour_by_popularity_is_a_log_scale(app_models, demo):
    result = _pca(app_models)
    table, meta = emap.map_data(demo, result, colour="popularity")
    codes = table.column("c").to_numpy()
    logs = np.log10(np.maximum(demo.item_counts[result.indices], 1))
    top = np.ceil(logs.max())
    np.testing.assert_array_equal(codes, np.rint(logs / top * (emap.SCALE_STEPS - 1)))
    assert len(meta["classes"]) == emap.SCALE_STEPS and "scale" in meta
    assert [t["label"] for t in meta["scale"]["ticks"]][:3] == ["1", "10", "100"]
    assert meta["legend_title"] == "Popularity: likes per item (log scale)"
    fig = emap.build_figure(demo, result, colour="popularity")  # the HTML download agrees
    (trace,) = [t for t in fig.data if t.meta == "items"]
    np.testing.assert_allclose(trace.marker.color, logs)


def test_the_selection_is_sent_back_as_positions_on_the_map(app_models, demo):
    result = projection.project_model(app_models["als"], "tsne", sample=400,
                                      strata=demo.items["category"].astype(str).to_numpy())
    on_map = [int(result.indices[3]), int(result.indices[10])]
    off_map = next(r for r in range(demo.n_items) if r not in set(result.indices.tolist()))
    table, meta = emap.map_data(demo, result, selected=[*on_map, off_map])
    rows = table.column("row").to_numpy()
    assert [int(rows[p]) for p in meta["selection"]] == on_map


def test_names_reach_the_map_as_they_are_and_the_figure_escaped(app_models, demo):
    items = demo.items.copy()
    items.loc[0, "name"] = "<img src=x onerror=alert(1)>"
    hostile = demo.replace(items=items)
    result = _pca(app_models)
    table, _ = emap.map_data(hostile, result, colour="category")
    assert table.column("label").to_pylist()[0] == "<img src=x onerror=alert(1)>"  # text
    fig = emap.build_figure(hostile, result, colour="category")
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
    table = emap.projection_table(demo, result)
    assert (table["kind"] == "item").sum() == demo.n_items
    assert (table["kind"] == "tag").sum() == len(result.tag_names)
    assert list(table.columns[:5]) == ["kind", "id", "name", "category", "likes"]
    assert np.isfinite(table[["x", "y"]].to_numpy(float)).all()


def test_classes_beyond_the_legend_are_pooled_and_sorted_by_number():
    values = np.array(["g10", "g2", "g2", "", "g1", None, "g10"], dtype=object)
    codes, names = emap._classes(values, limit=3)
    assert names == ["g2", "g10", "(none)", "other"]  # by number, the pooled and empty last
    assert [names[c] for c in codes] == ["g10", "g2", "g2", "(none)", "other", "(none)", "g10"]
