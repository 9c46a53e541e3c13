"""Steer the lists in the app (AppTest): the sidebar's dials and filters live in the URL as one
``rerank`` parameter, and Similar items, Users and Compare show exactly what the core's
Reranker returns for the same settings; a link's bad value is one sentence and is ignored;
Evaluate's sweep of one dial is computed once, stored, and read back on the next visit."""

from __future__ import annotations

import io
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pytest

from recsys_core import overlap
from recsys_core.datasets import load_dataset
from recsys_core.rerank import Reranker, RerankSettings
from recsys_core.store import ModelStore
from recsys_core.sweep import SWEEP_VALUES
from recsys_core.ui import compare as compare_ui
from recsys_core.ui import steering, steering_sweep

from .helpers import grid_item_ids, html_blocks, open_page, shown

K = 10
STEERED = "popularity=0.5,exclude_category=Electronics"
BAD_VALUES = [
    "popularity=7",
    "colour=blue",
    "exclude_category=Nope",
    "min_popularity=9,max_popularity=2",
    "x" * 3000,
]


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def _ids(demo, indices):
    return [demo.item_id(int(i)) for i in indices]


def _category(demo, item_id):
    return demo.items.at[demo.item_index(item_id), "category"]


def _model(model_id, demo):
    return ModelStore().load(model_id, demo)


def _warnings(at):
    return [shown(w.value) for w in at.warning]


def _user(demo):
    return int(np.flatnonzero(demo.user_counts >= 10)[0])


# ------------------------------------------------------------------------------ Similar items
@pytest.mark.parametrize(
    "setting",
    [STEERED, "diversity=0.7", "only_category=Food|Music", "popularity=1,exclude_tag=low-poly"],
)
def test_similar_shows_the_rerankers_list(app_models, demo, setting):
    item = demo.example_item
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=item, k=str(K), rerank=setting
    )
    assert not at.exception
    grid = grid_item_ids(_grids(at)[0])
    reranker = Reranker(setting, _model(app_models["als"], demo), demo)
    expected, _ = reranker.similar_items(demo.item_index(item), K)
    assert grid == _ids(demo, expected) and len(grid) == K
    plain, _ = _model(app_models["als"], demo).similar_items(demo.item_index(item), K)
    assert grid != _ids(demo, plain)  # the steering changed the list
    notes = [shown(c.value) for c in at.caption if "Steered:" in c.value]
    assert notes == [
        f":material/tune: **Steered:** {steering.summary(reranker.settings)} · scores "
        "are the model's · change it in the sidebar's *Steer the lists*"
    ]


def test_an_excluded_category_leaves_none_of_it_and_still_k_items(app_models, demo):
    item = demo.example_item
    assert _category(demo, item) == "Electronics"  # its neighbours are mostly Electronics
    at = open_page(
        "similar",
        dataset="demo",
        model=app_models["lightfm"],
        item=item,
        k=str(K),
        rerank="exclude_category=Electronics",
    )
    assert not at.exception
    grid = grid_item_ids(_grids(at)[0])
    assert len(grid) == K
    assert "Electronics" not in {_category(demo, i) for i in grid}
    plain, _ = _model(app_models["lightfm"], demo).similar_items(demo.item_index(item), K)
    assert "Electronics" in {_category(demo, i) for i in _ids(demo, plain)}


def test_a_grid_the_filters_leave_short_says_how_many_passed(app_models, demo):
    popularity = np.bincount(demo.interactions.indices, minlength=demo.n_items)
    least = int(np.sort(popularity)[-4])  # four items at least this popular
    item = demo.example_item
    setting = f"min_popularity={least}"
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=item, k=str(K), rerank=setting
    )
    assert not at.exception
    grid = grid_item_ids(_grids(at)[0])
    expected = Reranker(setting, _model(app_models["als"], demo), demo).similar_items(
        demo.item_index(item), K
    )[0]
    assert grid == _ids(demo, expected) and 0 < len(grid) < K
    assert (
        f"Only {len(grid)} items pass the steering's filters here; loosen them in the sidebar "
        f"for {K}." in [c.value for c in at.caption]
    )
    user = demo.user_id(_user(demo))
    at = open_page(
        "users", dataset="demo", model=app_models["als"], user=user, k=str(K), rerank=setting
    )
    assert not at.exception
    shortfall = [c.value for c in at.caption if c.value.startswith("Only ")]
    seen = set(demo.interactions[demo.user_index(user)].indices.tolist())
    left = sum(1 for i in np.flatnonzero(popularity >= least) if int(i) not in seen)
    assert 0 < left < K  # the user has not seen them all
    word = "1 item passes" if left == 1 else f"{left} items pass"
    assert shortfall == [
        f"Only {word} the steering's filters here; loosen them in the sidebar for {K}."
    ]
    at = open_page("similar", dataset="demo", model=app_models["als"], item=item, k=str(K))
    assert not [c for c in at.caption if c.value.startswith("Only ")]  # no filters: no note
    # Compare: under each steered column (side by side: not under the model's own list)
    at = open_page(
        "compare", dataset="demo", model=app_models["als"], item=item, k=str(K), rerank=setting
    )
    at.toggle(key=compare_ui.SIDE_KEY).set_value(True).run()
    assert not at.exception
    grids = [grid_item_ids(g) for g in _grids(at)]  # A, A steered (, B, B steered)
    assert len(grids[0]) == K and grids[1] == _ids(demo, expected)
    short = [g for g in grids[1::2] if len(g) < K]
    assert [c.value for c in at.caption if c.value.startswith("Only ")] == [
        f"Only {len(g)} items pass the steering's filters here; loosen them in the sidebar for {K}."
        for g in short
    ]


def test_no_steering_is_the_models_own_list_and_no_note(app_models, demo):
    item = demo.example_item
    at = open_page(
        "similar",
        dataset="demo",
        model=app_models["als"],
        item=item,
        k=str(K),
        rerank="popularity=0",
    )
    assert not at.exception
    plain, _ = _model(app_models["als"], demo).similar_items(demo.item_index(item), K)
    assert grid_item_ids(_grids(at)[0]) == _ids(demo, plain)
    assert not [c for c in at.caption if "Steered" in c.value]
    assert not at.warning


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_a_bad_value_is_one_sentence_and_ignored(app_models, demo, bad):
    item = demo.example_item
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=item, k=str(K), rerank=bad
    )
    assert not at.exception
    [warning] = _warnings(at)  # once: on the page, not again in the sidebar
    assert warning.startswith("The steering in this link is ignored: ")
    assert warning.count(". ") == 0 and warning.endswith(".") and len(warning) < 400
    assert "Traceback" not in warning and "x" * 200 not in warning
    plain, _ = _model(app_models["als"], demo).similar_items(demo.item_index(item), K)
    assert grid_item_ids(_grids(at)[0]) == _ids(demo, plain)  # the model's own list
    assert _param(at, "rerank") == bad  # the link is left as it was


def test_a_bad_value_on_a_page_that_does_not_steer_is_said_in_the_sidebar(app_models):
    at = open_page("data", dataset="demo", model=app_models["als"], rerank="popularity=7")
    assert not at.exception
    assert [shown(w.value) for w in at.sidebar.warning] == [
        "The steering in this link is ignored: the popularity dial needs a number from 0 to 1, "
        "got '7'."
    ]


# ------------------------------------------------------------------------------ Users
def test_users_shows_the_rerankers_recommendations(app_models, demo):
    user = _user(demo)
    setting = "popularity=0.4,diversity=0.3,calibration=0.5,exclude_category=Music"
    at = open_page(
        "users",
        dataset="demo",
        model=app_models["als"],
        user=demo.user_id(user),
        k=str(K),
        rerank=setting,
    )
    assert not at.exception
    _, recs = _grids(at)
    expected, _ = Reranker(setting, _model(app_models["als"], demo), demo).recommend(user, K)
    got = grid_item_ids(recs)
    assert got == _ids(demo, expected) and len(got) == K
    assert "Music" not in {_category(demo, i) for i in got}
    assert not set(got) & {demo.item_id(i) for i in demo.interactions[user].indices}
    assert any("Steered:" in c.value for c in at.caption)


def test_a_new_user_gets_the_rerankers_recommendations(app_models, demo):
    picks = [demo.item_id(i) for i in (3, 40, 77)]
    at = open_page(
        "users",
        dataset="demo",
        model=app_models["als"],
        mode="new",
        picks=",".join(picks),
        k=str(K),
        rerank=STEERED,
    )
    assert not at.exception
    _, recs = _grids(at)
    reranker = Reranker(STEERED, _model(app_models["als"], demo), demo)
    expected, _ = reranker.recommend_for_history(np.array([3, 40, 77]), K)
    got = grid_item_ids(recs)
    assert got == _ids(demo, expected) and len(got) == K
    assert "Electronics" not in {_category(demo, i) for i in got}


@pytest.mark.parametrize("bad", BAD_VALUES[:2])
def test_users_with_a_bad_value(app_models, demo, bad):
    user = _user(demo)
    at = open_page(
        "users",
        dataset="demo",
        model=app_models["als"],
        user=demo.user_id(user),
        k=str(K),
        rerank=bad,
    )
    assert not at.exception
    assert len(_warnings(at)) == 1
    expected, _ = _model(app_models["als"], demo).recommend(user, K)
    assert grid_item_ids(_grids(at)[1]) == _ids(demo, expected)


# ------------------------------------------------------------------------------ Compare
def test_compare_steers_every_column(app_models, demo):
    ids = [app_models["als"], app_models["lightfm"]]
    user = _user(demo)
    at = open_page(
        "compare",
        dataset="demo",
        model=",".join(ids),
        user=demo.user_id(user),
        k=str(K),
        rerank=STEERED,
    )
    assert not at.exception
    grids = _grids(at)
    assert len(grids) == 2
    for model_id, grid in zip(ids, grids):
        expected, _ = Reranker(STEERED, _model(model_id, demo), demo).recommend(user, K)
        assert grid_item_ids(grid) == _ids(demo, expected)
    assert at.toggle(key=compare_ui.SIDE_KEY).value is False


def test_compare_puts_each_model_with_and_without_the_steering(app_models, demo):
    ids = [app_models["als"], app_models["item-knn"], app_models["lightfm"]]
    item = demo.example_item
    at = open_page(
        "compare", dataset="demo", model=",".join(ids), item=item, k=str(K), rerank="diversity=0.8"
    )
    assert not at.exception
    assert len(_grids(at)) == 3
    at.toggle(key=compare_ui.SIDE_KEY).set_value(True).run()
    assert not at.exception
    assert _param(at, "rerank_side") == "1"
    grids = _grids(at)
    assert len(grids) == 4  # A, A steered, B, B steered (the first two models)
    titles = [shown(m.value) for m in at.markdown if m.value.startswith("####")]
    assert titles == [
        "##### A · ALS (WRMF)",
        "##### A′ · ALS (WRMF)",
        "##### B · Item k-NN",
        "##### B′ · Item k-NN",
    ]
    subtitles = [h.proto.body for h in at.get("html") if "steered: " in h.proto.body]
    assert len(subtitles) == 2 and all(">steered: Variety 0.8<" in h for h in subtitles)
    lists = {}
    for (name, model_id, steered), grid in zip(
        [("A", ids[0], False), ("A′", ids[0], True), ("B", ids[1], False), ("B′", ids[1], True)],
        grids,
    ):
        model = _model(model_id, demo)
        source = Reranker("diversity=0.8", model, demo) if steered else model
        expected, _ = source.similar_items(demo.item_index(item), K)
        assert grid_item_ids(grid) == _ids(demo, expected)
        lists[name] = list(expected)
    # the shared items are marked, with the other lists that hold them
    shared = overlap.shared_items(lists)
    assert shared
    cards = grids[0].split('class="rx-card')[1:]
    assert len(cards) == K
    for card, index in zip(cards, lists["A"]):
        also = [n for n in ("A′", "B", "B′") if index in lists[n]]
        assert (f"also in {', '.join(also)}" in card) == bool(also)
        assert card.startswith(" rx-shared") == bool(also)
    # the overlap figures of every pair, with and without the steering
    [table] = [d.value for d in at.dataframe if "jaccard" in d.value.columns]
    expected = overlap.pairwise_overlap(lists)
    assert len(table) == 6
    row = table[
        (table["first"] == "A · ALS (WRMF)") & (table["second"] == "A′ · ALS (WRMF), steered")
    ].iloc[0]
    want = expected[(expected["first"] == "A") & (expected["second"] == "A′")].iloc[0]
    assert row["shared"] == want["shared"] and row["jaccard"] == pytest.approx(want["jaccard"])
    assert row["rbo"] == pytest.approx(want["rbo"])
    assert any("first 2 models" in c.value for c in at.caption)
    # back to every column steered
    at.toggle(key=compare_ui.SIDE_KEY).set_value(False).run()
    assert _param(at, "rerank_side") is None and len(_grids(at)) == 3


def test_compare_one_model_with_and_without_the_steering(fresh_home):
    from recsys_core.training import train

    demo = load_dataset("demo")
    only = train(demo, "als", {"factors": 8, "iterations": 2, "random_state": 0}).model_id
    at = open_page(
        "compare",
        dataset="demo",
        model=only,
        item=demo.example_item,
        k="8",
        rerank="popularity=1",
        rerank_side="1",
    )
    assert not at.exception
    assert len(_grids(at)) == 2


def test_compare_csv_says_which_lists_are_steered(app_models, demo, monkeypatch):
    import streamlit

    seen = []
    real = streamlit.download_button

    def spy(label, data=None, file_name=None, *args, **kwargs):
        seen.append({"label": label, "data": data})
        return real(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    ids = [app_models["als"], app_models["lightfm"]]
    at = open_page(
        "compare",
        dataset="demo",
        model=",".join(ids),
        item=demo.example_item,
        k="5",
        rerank=STEERED,
        rerank_side="1",
    )
    assert not at.exception
    [download] = [d for d in seen if "lists" in d["label"]]
    table = pd.read_csv(io.StringIO(download["data"]), keep_default_na=False)
    assert list(table.columns)[-1] == "steering"
    by_model = table.groupby("model")["steering"].first().to_dict()
    assert by_model == {
        "A · ALS (WRMF)": "",
        "A′ · ALS (WRMF), steered": STEERED,
        "B · LightFM": "",
        "B′ · LightFM, steered": STEERED,
    }
    assert set(table["model_id"]) == set(ids)


def test_compares_metrics_leave_out_steered_evaluations():
    entries = [
        {
            "metrics": {
                "holdout:5:seed=0@k=10": {},
                "holdout:5:seed=0@k=10|rerank:popularity=0.5": {},
            }
        }
    ]
    assert compare_ui.protocols(entries) == ["holdout:5:seed=0@k=10"]


# ------------------------------------------------------------------------------ the sidebar
def test_the_sidebar_writes_one_canonical_parameter(app_models, demo):
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=demo.example_item, k=str(K)
    )
    assert not at.exception and _param(at, "rerank") is None
    at.slider(key="steer_popularity").set_value(0.5).run()
    assert _param(at, "rerank") == "popularity=0.5"
    at.multiselect(key="steer_exclude_categories").set_value(["Music", "Electronics"]).run()
    assert _param(at, "rerank") == "popularity=0.5,exclude_category=Electronics|Music"
    for value in (0.25, 0.75, 1.0):  # three changes in a row: each takes effect
        at.slider(key="steer_popularity").set_value(value).run()
        expected = RerankSettings(popularity=value, exclude_categories=("Electronics", "Music"))
        assert _param(at, "rerank") == str(expected)
        grid = grid_item_ids(_grids(at)[0])
        want, _ = Reranker(expected, _model(app_models["als"], demo), demo).similar_items(
            demo.item_index(demo.example_item), K
        )
        assert grid == _ids(demo, want)
    at.number_input(key="steer_min_popularity").set_value(20).run()
    assert _param(at, "rerank").endswith(",min_popularity=20")
    at.number_input(key="steer_max_popularity").set_value(5).run()  # below the minimum
    assert _param(at, "rerank").endswith(",min_popularity=20")  # refused: the URL stays
    assert [w for w in _warnings(at) if "above max_popularity" in w] == [
        "min_popularity (20) is above max_popularity (5); no item can pass both."
    ]
    summary = [shown(c.value) for c in at.sidebar.caption if "Long tail" in c.value]
    assert summary == [":material/tune: Long tail 1 · no Electronics, Music · ≥ 20 likes"]
    at.slider(key="steer_popularity").set_value(0.0).run()
    assert _param(at, "rerank") == "exclude_category=Electronics|Music,min_popularity=20"
    at.button(key=steering.RESET_KEY).click().run()
    assert _param(at, "rerank") is None
    assert at.slider(key="steer_popularity").value == 0.0
    assert at.multiselect(key="steer_exclude_categories").value == []


def test_a_name_kept_only_is_not_offered_to_exclude(app_models, demo):
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=demo.example_item, k=str(K)
    )
    only, exclude = "steer_only_categories", "steer_exclude_categories"
    every = list(at.multiselect(key=only).options)
    assert "Music" in every and every == list(at.multiselect(key=exclude).options)
    for step, (field, names) in enumerate(
        [(exclude, ["Music"]), (only, ["Food", "Animals"]), (exclude, ["Music", "Electronics"])]
    ):  # changes in a row: each one's names leave the other's options, the rest stay
        at.multiselect(key=field).set_value(names).run()
        assert not at.exception, step
        kept, dropped = at.multiselect(key=only), at.multiselect(key=exclude)
        assert not set(kept.options) & set(dropped.value), step
        assert not set(dropped.options) & set(kept.value), step
        assert set(kept.options) | set(dropped.value) == set(every), step
    assert _param(at, "rerank") == "exclude_category=Electronics|Music,only_category=Animals|Food"
    # a link with a name in both shows it in both and says that nothing is left
    at = _steered_similar(app_models, demo, "exclude_category=Food,only_category=Food")
    assert not at.exception
    assert at.multiselect(key=only).value == ["Food"] == at.multiselect(key=exclude).value
    [grid] = _grids(at) or [b for b in html_blocks(at) if "rx-empty" in b]
    assert "No item is left after the steering&#x27;s filters; loosen them" in grid


def _steered_similar(app_models, demo, rerank):
    return open_page(
        "similar", dataset="demo", model=app_models["als"], item=demo.example_item, rerank=rerank
    )


def test_the_controls_follow_the_url(app_models, demo):
    at = _steered_similar(app_models, demo, "diversity=0.3,only_category=food,max_popularity=100")
    assert not at.exception
    assert at.slider(key="steer_diversity").value == pytest.approx(0.3)
    assert at.multiselect(key="steer_only_categories").value == ["Food"]  # the data's spelling
    assert at.number_input(key="steer_max_popularity").value == 100
    assert at.number_input(key="steer_min_popularity").value is None


def test_the_page_links_carry_the_steering(app_models, demo):
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=demo.example_item, rerank=STEERED
    )
    assert not at.exception
    links = at.sidebar.get("page_link")
    assert len(links) == 7
    for link in links:
        query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
        assert query["rerank"] == STEERED and query["item"] == demo.example_item
    # and the thumbnails
    assert "rerank=popularity%3D0.5%2Cexclude_category%3DElectronics" in _grids(at)[0]


def test_summary_in_words():
    settings = RerankSettings(
        popularity=0.5,
        diversity=0.25,
        exclude_categories=("A", "B", "C"),
        only_tags=("x",),
        min_popularity=3,
        max_popularity=40,
    )
    assert steering.summary(settings) == (
        "Long tail 0.5 · Variety 0.25 · no A, B +1 · only tagged x · 3–40 likes"
    )
    assert steering.summary(RerankSettings()) == ""


# ------------------------------------------------------------------------------ Evaluate
def _sweep_table(at):
    return [d.value for d in at.dataframe if list(d.value.columns)[:2] == ["value", "precision"]]


@pytest.fixture
def fresh_als(fresh_home):
    from recsys_core.training import train

    demo = load_dataset("demo")
    return demo, train(demo, "als", {"factors": 16, "iterations": 4, "random_state": 0}).model_id


def test_the_sweep_is_computed_once_stored_and_reused(fresh_als, monkeypatch):
    demo, model_id = fresh_als
    at = open_page(
        "evaluate",
        dataset="demo",
        model=model_id,
        sweep="popularity",
        rerank="exclude_category=Music",
    )
    assert not at.exception
    assert not _sweep_table(at)
    [note] = [shown(i.value) for i in at.info if "press Sweep" in i.value]
    assert note.startswith("5 of 5 settings not evaluated yet")
    progress = []
    real = steering_sweep.compute

    def watched(*args, **kwargs):
        def hear(fraction, message=""):
            progress.append(fraction)

        return real(*args[:6], progress=hear)

    monkeypatch.setattr(steering_sweep, "compute", watched)
    at.button(key=steering_sweep.RUN_KEY).click().run(timeout=600)
    assert not at.exception
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    # stored with the model trained on the split's train part, one key per point
    target, stored = steering_sweep.target_model(ModelStore().meta(model_id), demo, "holdout:5", 0)
    assert stored and target != model_id
    keys = ModelStore().meta(target)["metrics"]
    for value in SWEEP_VALUES:
        text = str(RerankSettings(popularity=value, exclude_categories=("Music",)))
        assert f"holdout:5:seed=0@k=10|rerank:{text}" in keys
    [table] = _sweep_table(at)
    assert list(table["value"]) == list(SWEEP_VALUES)
    assert table["mean_popularity"].iloc[-1] < table["mean_popularity"].iloc[0]
    assert table["precision"].notna().all()

    # the second visit reads the points: nothing is trained or evaluated again
    def refuse(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr("recsys_core.sweep.evaluate_split", refuse)
    monkeypatch.setattr(steering_sweep, "evaluate_model", refuse)
    again = open_page(
        "evaluate",
        dataset="demo",
        model=model_id,
        sweep="popularity",
        rerank="exclude_category=Music",
        sweep_axis="novelty",
    )
    assert not again.exception
    assert not [i for i in again.info if "press Sweep" in i.value]
    assert not [b for b in again.button if b.key == steering_sweep.RUN_KEY]
    [table2] = _sweep_table(again)
    pd.testing.assert_frame_equal(table, table2)
    [chart] = [c for c in again.get("plotly_chart")]
    assert "Novelty" in chart.proto.spec and "Long tail 0.25" in chart.proto.spec


def test_the_sweeps_variant_id_is_the_one_the_store_gives(fresh_als):
    from recsys_core.evaluation import evaluate_model, save_result

    demo, model_id = fresh_als
    meta = ModelStore().meta(model_id)
    predicted, stored = steering_sweep.target_model(meta, demo, "holdout:2", 3)
    assert not stored
    result = evaluate_model(demo, "als", meta["params"], "holdout:2", 10, 3)
    assert save_result(result, demo) == predicted


def test_the_sweep_section_runs_only_when_open(app_models, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("read while closed")

    monkeypatch.setattr(steering_sweep, "stored_points", refuse)
    at = open_page("evaluate", dataset="demo", model=app_models["als"])
    assert not at.exception
    assert [e for e in at.expander if e.label == steering_sweep.LABEL]
