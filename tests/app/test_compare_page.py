"""The Compare page, the way a person uses it (AppTest)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recsys_core import overlap
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.training import train
from recsys_core.ui import compare as compare_ui
from recsys_core.ui import loaders
from recsys_core.words import metric_label

from .helpers import grid_item_ids, html_blocks, open_page, shown


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def _column_config(element) -> dict:
    """{column key: its column_config (label, help...)} of a drawn st.dataframe."""
    raw = json.loads(element.proto.columns or "{}")
    return {
        key.removeprefix("col:name:") if key.startswith("col:") else key: value
        for key, value in raw.items()
    }


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
    table = _table(at, "jaccard")
    assert len(table) == 3  # A-B, A-C, B-C
    pairs = [(0, 1), (0, 2), (1, 2)]
    for row, (a, b) in zip(table.itertuples(index=False), pairs):
        values = dict(zip(table.columns, row))
        assert values["jaccard"] == pytest.approx(overlap.jaccard(lists[a], lists[b]))
        assert values["rbo"] == pytest.approx(overlap.rbo(lists[a], lists[b]))
        assert values["shared"] == len(set(lists[a]) & set(lists[b]))
    assert table["jaccard"].max() > 0  # not a table of zeros
    assert list(table["first"]) == ["A · ALS (WRMF)", "A · ALS (WRMF)", "B · Item k-NN"]
    # people read words, with a one-line help, not "RBO (p = 0.9)"
    [drawn] = [d for d in at.dataframe if "rbo" in d.value.columns]
    config = _column_config(drawn)
    assert config["rbo"]["label"] == "Rank-biased overlap"
    assert config["rbo"]["help"].startswith("Agreement weighted toward the top")
    assert config["jaccard"]["label"] == "Jaccard overlap"
    assert "RBO" not in json.dumps(config)


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
    assert list(table.index) == ["A · Item k-NN", "B · Popularity"]
    assert table.loc["A · Item k-NN", "precision"] == pytest.approx(0.30)
    assert table.loc["B · Popularity", "coverage"] == pytest.approx(0.6)
    assert "k" not in table.columns  # protocol fields are not metrics
    # the keys stay the columns; people read the words, and the protocol in words
    [drawn] = [d for d in at.dataframe if "precision" in d.value.columns]
    config = _column_config(drawn)
    assert config["precision"]["label"] == metric_label("precision")[0]
    assert config["precision"]["help"] == metric_label("precision")[1]
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "5 held-out likes per user · seed 0 · top 10" in captions
    assert "holdout:5:seed=0@k=10" not in captions

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


# ----------------------------------------------------------------- the models it opens with
def _chosen_entries(at):
    by_id = {e["model_id"]: e for e in loaders.model_entries(load_dataset("demo").fingerprint)}
    return [by_id[m] for m in _param(at, "model").split(",")]


def test_item_mode_opens_with_two_models_that_find_similar_items(app_models, demo):
    # the sidebar's model (first in the URL) is popularity: it has no similar items
    at = open_page(
        "compare", dataset="demo", model=app_models["popularity"], item=demo.example_item
    )
    assert not at.exception
    chosen = _chosen_entries(at)
    assert len(chosen) == 2
    assert all(compare_ui.supports(e, "item") for e in chosen)
    assert "popularity" not in {e["algorithm"] for e in chosen}
    assert chosen[0]["algorithm"] != chosen[1]["algorithm"]  # two algorithms when there are
    assert len(_grids(at)) == 2
    assert not [i for i in at.info if "no notion" in i.value]
    # without any model in the URL too
    plain = open_page("compare", dataset="demo", item=demo.example_item)
    assert not plain.exception
    assert all(compare_ui.supports(e, "item") for e in _chosen_entries(plain))
    assert len(_grids(plain)) == 2


def test_user_mode_opens_with_two_recommending_models(app_models, demo):
    user = demo.user_ids[3]
    at = open_page("compare", dataset="demo", model=app_models["popularity"], user=user)
    assert not at.exception
    chosen = _chosen_entries(at)
    assert len(chosen) == 2 and chosen[0]["model_id"] == app_models["popularity"]
    assert all(compare_ui.supports(e, "user") for e in chosen)
    assert len(_grids(at)) == 2


def test_the_picker_marks_models_outside_the_mode(app_models, demo):
    at = open_page("compare", dataset="demo", item=demo.example_item)
    picker = at.multiselect(key=compare_ui.MODELS)
    marked = [o for o in picker.options if o.endswith("no similar items")]
    assert len(marked) >= 1 and all(o.lower().startswith("popularity") for o in marked)


def test_default_models_by_hand():
    entries = [  # newest first
        {"model_id": "popularity-1", "algorithm": "popularity"},
        {"model_id": "als-2", "algorithm": "als"},
        {"model_id": "als-3", "algorithm": "als"},
        {"model_id": "item-knn-4", "algorithm": "item-knn"},
    ]
    assert compare_ui.default_models(entries, ["popularity-1"], "item") == ["als-2", "item-knn-4"]
    assert compare_ui.default_models(entries, ["popularity-1"], "user") == ["popularity-1", "als-2"]
    assert compare_ui.default_models(entries, ["als-3"], "item") == ["als-3", "item-knn-4"]
    assert compare_ui.default_models(entries, [], "item") == ["als-2", "item-knn-4"]
    # a link that names two is kept as it is
    assert compare_ui.default_models(entries, ["popularity-1", "als-3"], "item") == [
        "popularity-1",
        "als-3",
    ]
    assert compare_ui.default_models(entries[:2], [], "item") == ["als-2"]  # only one can


def _store_with(fresh_home, *algorithms):
    demo = load_dataset("demo")
    params = {"als": {"factors": 8, "iterations": 2, "random_state": 0}}
    for name in algorithms:
        train(demo, name, params.get(name, {}))
    loaders.clear_model_listing()
    return demo


def test_only_one_model_for_the_mode_says_so_with_what_to_do(fresh_home):
    demo = _store_with(fresh_home, "als", "popularity")
    at = open_page("compare", dataset="demo", item=demo.example_item)
    assert not at.exception
    said = [shown(i.value) for i in at.info]
    assert said == [
        "Only one model here finds similar items (ALS (WRMF)): train another one in the sidebar "
        "(Item k-NN, for example), or compare on the same user instead."
    ]
    assert not _grids(at)
    # both recommend to a user: switching there compares them
    at.segmented_control(key=compare_ui.MODE).set_value("user").run()
    assert not at.exception
    assert len(_grids(at)) == 2
    assert {e["algorithm"] for e in _chosen_entries(at)} == {"als", "popularity"}


def test_a_single_model_says_to_train_another(fresh_home):
    demo = _store_with(fresh_home, "als")
    at = open_page("compare", dataset="demo", item=demo.example_item)
    assert not at.exception
    assert [shown(i.value) for i in at.info] == [
        "Only one model here finds similar items (ALS (WRMF)): train another one in the sidebar "
        "(Item k-NN, for example)."
    ]
    assert not at.get("segmented_control")  # nothing to switch to


# ------------------------------------------------------------------------ the CSV download
@pytest.fixture
def downloads(monkeypatch):
    """What every st.download_button of a run was given."""
    import streamlit

    seen = []
    real = streamlit.download_button

    def spy(label, data=None, file_name=None, *args, **kwargs):
        seen.append({"label": label, "data": data, "file_name": file_name, **kwargs})
        return real(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    return seen


@pytest.mark.parametrize("mode", ["item", "user"])
def test_the_csv_download_holds_what_is_on_screen(app_models, demo, downloads, mode):
    import io

    import pandas as pd

    ids = [app_models["als"], app_models["item-knn"], app_models["lightfm"]]
    anchor = {"item": demo.example_item, "user": demo.user_ids[5]}[mode]
    at = open_page("compare", dataset="demo", model=",".join(ids), k="8", **{mode: anchor})
    assert not at.exception
    [button] = [b for b in at.get("download_button") if "CSV" in b.label]
    assert button.label == "Download these lists (CSV)"
    [download] = [d for d in downloads if d["label"] == button.label]
    assert download["file_name"] == f"compare-demo-{mode}-{anchor}.csv"
    assert download["mime"] == "text/csv"
    table = pd.read_csv(io.StringIO(download["data"]), dtype={"item_id": str, f"for_{mode}": str})
    assert list(table.columns) == [
        "model",
        "model_id",
        "algorithm",
        f"for_{mode}",
        "rank",
        "item_id",
        "name",
        "category",
        "score",
        "also_in",
    ]
    grids = _grids(at)
    titles = ["A · ALS (WRMF)", "B · Item k-NN", "C · LightFM"]
    assert list(dict.fromkeys(table["model"])) == titles
    for model_id, title, grid in zip(ids, titles, grids):
        rows = table[table["model"] == title]
        assert list(rows["model_id"].unique()) == [model_id]
        assert list(rows["rank"]) == list(range(1, 9))
        assert list(rows["item_id"]) == grid_item_ids(grid)  # the cards, in order
        assert list(rows["name"]) == [demo.item_name(demo.item_index(i)) for i in rows["item_id"]]
        assert set(rows[f"for_{mode}"]) == {anchor}
    # the scores are the models' own
    model = ModelStore().load(ids[0], demo)
    if mode == "item":
        _, scores = model.similar_items(demo.item_index(anchor), 8)
    else:
        _, scores = model.recommend(demo.user_index(anchor), 8)
    assert np.allclose(table[table["model"] == titles[0]]["score"], scores, atol=1e-6)
    # "also in" lists the other columns that show the same item
    first = table[table["model"] == titles[0]].set_index("item_id")
    others = {t[0]: set(table[table["model"] == t]["item_id"]) for t in titles[1:]}
    for item_id, also in first["also_in"].fillna("").items():
        assert set(also.split()) == {letter for letter, items in others.items() if item_id in items}


def test_the_compared_item_never_shows_a_broken_image():
    from recsys_core.thumbnails import placeholder_data_uri

    markup = compare_ui.header_html(
        name='Chrome <b>"Typewriter"</b>',
        category="Electronics",
        image_url="http://127.0.0.1:9/missing.png",
        count=1234,
        item_id="i42",
    )
    assert "<img" not in markup  # no <img>, so no broken-image icon
    generated = placeholder_data_uri('Chrome <b>"Typewriter"</b>', "Electronics")
    backgrounds = markup.split("background-image:", 1)[1]
    # the image first, the generated picture under it (shown when the image cannot load)
    assert backgrounds.index("127.0.0.1:9/missing.png") < backgrounds.index(generated[:60])
    assert "<b>" not in markup and "&lt;b&gt;" in markup
    assert "1,234 interactions" in markup
