"""The Users page, the way a person uses it (AppTest), and its activity bands."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.ui import state, widgets
from recsys_core.ui import users as users_ui

from .helpers import cards, grid_item_ids, html_blocks, open_page
from .test_similar_page import csv_rows, offered_files, search, search_box_data


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


@pytest.fixture
def downloads(monkeypatch):
    """``read(url) -> (file name, bytes)`` of a file the page offered for download."""
    return offered_files(monkeypatch)


def _moderate_user(demo, low=8, high=20):
    """A user with a history short enough to be shown whole."""
    counts = demo.user_counts
    return int(np.flatnonzero((counts >= low) & (counts <= high))[0])


def test_url_shows_history_and_recommendations_without_seen_items(app_models, demo):
    user = _moderate_user(demo)
    user_id = demo.user_id(user)
    at = open_page("users", dataset="demo", model=app_models["als"], user=user_id, k="10")
    assert not at.exception
    history_grid, recs_grid = _grids(at)

    history = grid_item_ids(history_grid)
    row = demo.interactions[user]
    assert sorted(history) == sorted(demo.item_id(i) for i in row.indices)
    # most recent first (the demo has timestamps)
    stamps = dict(zip(demo.timestamps[user].indices.tolist(), demo.timestamps[user].data.tolist()))
    times = [stamps[demo.item_index(i)] for i in history]
    assert times == sorted(times, reverse=True)

    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.recommend(user, 10)
    recs = grid_item_ids(recs_grid)
    assert recs == [demo.item_id(i) for i in expected]
    assert not set(recs) & set(history)

    # each recommendation says why, naming a history item the model's explain() puts first
    assert recs_grid.count("because you liked") == 10
    top, _ = model.explain(user, int(expected[0]), k=2)
    first_card = recs_grid.split('class="ux-cell"')[1]
    assert demo.item_name(int(top[0]))[:20] in first_card
    # clicking a thumbnail goes to /similar for that item
    link = urlparse(cards(recs_grid).links[0])
    assert link.path == "/similar"
    assert parse_qs(link.query)["item"] == [recs[0]]
    assert parse_qs(link.query)["model"] == [app_models["als"]]


def test_a_model_that_cannot_explain_just_omits_the_caption(app_models, demo):
    user_id = demo.user_id(_moderate_user(demo))
    at = open_page("users", dataset="demo", model=app_models["popularity"], user=user_id)
    assert not at.exception
    recs_grid = _grids(at)[1]
    assert len(grid_item_ids(recs_grid)) == 12
    assert "because you liked" not in recs_grid


def test_random_active_and_light_users_fall_in_their_band(app_models, demo):
    counts = demo.user_counts
    active_floor = np.quantile(counts, users_ui.ACTIVE_QUANTILE)
    light_ceiling = np.quantile(counts, users_ui.LIGHT_QUANTILE)
    at = open_page("users", dataset="demo", model=app_models["item-knn"])
    assert not at.exception
    drawn = {"active": set(), "light": set()}
    for _ in range(3):
        for band in ("active", "light"):
            at.button(key=f"users_random_{band}").click().run()
            assert not at.exception
            drawn[band].add(_param(at, "user"))
            user = demo.user_index(_param(at, "user"))
            if band == "active":
                assert counts[user] >= active_floor
            else:
                assert users_ui.LIGHT_MIN <= counts[user] <= light_ceiling
            history = grid_item_ids(_grids(at)[0])
            assert len(history) == min(counts[user], users_ui.HISTORY_LIMIT)
    assert len(drawn["active"] | drawn["light"]) > 2  # random draws, not one fixed user


def test_activity_bands_by_hand(demo):
    active = users_ui.activity_band(demo, "active")
    light = users_ui.activity_band(demo, "light")
    counts = demo.user_counts
    assert 0.09 * demo.n_users <= len(active) <= 0.12 * demo.n_users
    assert counts[active].min() > counts[light].max()
    assert counts[light].min() >= users_ui.LIGHT_MIN
    assert not set(active.tolist()) & set(light.tolist())
    assert users_ui.random_user(demo, "light", random_state=3) == users_ui.random_user(
        demo, "light", random_state=3
    )


def test_history_without_timestamps_is_least_popular_first(demo):
    user = _moderate_user(demo)
    plain = demo.replace(timestamps=None)
    order, how = users_ui.history_order(plain, user)
    assert how == "least popular first"
    assert sorted(order.tolist()) == sorted(demo.interactions[user].indices.tolist())
    counts = demo.item_counts[order]
    assert (np.diff(counts) >= 0).all() and counts[0] < counts[-1]
    _, how = users_ui.history_order(demo, user)
    assert how == "most recent first"


def test_search_by_id_and_unknown_ids(app_models, demo):
    at = open_page("users", dataset="demo", model=app_models["als"])
    target = demo.user_ids[41]
    at.text_input(key="users_query").input(target).run()
    assert not at.exception
    assert _param(at, "user") == target

    partial = target[:-1]  # several ids contain it: a list to pick from, most active first
    at.text_input(key="users_query").input(partial).run()
    options = at.selectbox(key="users_match").options
    assert len(options) > 1
    assert all(partial in option for option in options)

    bad = open_page("users", dataset="demo", model=app_models["als"], user="nobody-42")
    assert not bad.exception
    assert any("not in demo" in w.value for w in bad.warning)
    assert not _grids(bad)


def test_new_user_picks_one_at_a_time_into_the_url_and_gets_recommendations(app_models, demo):
    at = open_page("users", dataset="demo", model=app_models["als"], k="10")
    at.segmented_control(key=users_ui.MODE).set_value("new").run()
    assert not at.exception
    assert _param(at, "mode") == "new"
    assert not _grids(at)  # nothing picked yet: a friendly hint instead
    assert at.info

    # typing suggests (every word, any order) and adds nothing by itself
    matches = [int(i) for i in demo.search_items("rocket", limit=widgets.SEARCH_LIMIT)]
    assert len(matches) >= 3
    search(at, users_ui.NEW_QUERY, "rocket")
    assert [o["id"] for o in search_box_data(at, users_ui.NEW_QUERY)["options"]] == [
        demo.item_id(i) for i in matches
    ]
    assert _param(at, "picks") is None
    # Enter adds exactly one item, the best match, however many match
    search(at, users_ui.NEW_QUERY, "rocket", pick={"id": None, "query": "rocket"})
    assert state.parse_list(_param(at, "picks")) == [demo.item_id(matches[0])]
    # the same again adds nothing; the item is marked as added among the suggestions
    search(at, users_ui.NEW_QUERY, "rocket", pick={"id": None, "query": "rocket"})
    assert state.parse_list(_param(at, "picks")) == [demo.item_id(matches[0])]
    marks = {o["id"]: o["mark"] for o in search_box_data(at, users_ui.NEW_QUERY)["options"]}
    assert marks[demo.item_id(matches[0])] == "added"
    assert sum(1 for mark in marks.values() if mark) == 1
    # choosing one of the suggestions adds that one
    search(
        at, users_ui.NEW_QUERY, "rocket", pick={"id": demo.item_id(matches[2]), "query": "rocket"}
    )
    assert not at.exception
    picks = [matches[0], matches[2]]
    ids = [demo.item_id(i) for i in picks]
    assert state.parse_list(_param(at, "picks")) == ids
    assert at.multiselect(key=users_ui.NEW_PICKS).value == ids
    assert at.multiselect(key=users_ui.NEW_PICKS).options == [
        widgets.item_label(demo, i) for i in picks
    ]  # only the picks: typing there adds nothing
    picked_grid, recs_grid = _grids(at)
    assert grid_item_ids(picked_grid) == ids
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.recommend_for_history(np.array(picks), 10)
    assert grid_item_ids(recs_grid) == [demo.item_id(i) for i in expected]

    # the same URL in a new session (a reload, a link) shows the same picks and recommendations
    again = open_page(
        "users",
        dataset="demo",
        model=app_models["als"],
        k="10",
        mode="new",
        picks=_param(at, "picks"),
    )
    assert not again.exception
    assert again.multiselect(key=users_ui.NEW_PICKS).value == ids
    assert [grid_item_ids(g) for g in _grids(again)] == [grid_item_ids(g) for g in _grids(at)]

    at.multiselect(key=users_ui.NEW_PICKS).unselect(ids[0]).run()
    assert state.parse_list(_param(at, "picks")) == ids[1:]
    at.button(key="users_new_clear").click().run()
    assert _param(at, "picks") is None
    assert not _grids(at)
    at.button(key="users_new_surprise").click().run()
    assert not at.exception
    assert len(at.multiselect(key=users_ui.NEW_PICKS).value) == 3
    assert len(state.parse_list(_param(at, "picks"))) == 3
    assert len(_grids(at)) == 2


def test_picks_with_commas_and_unknown_ids_in_the_url(app_models, demo):
    assert state.parse_list(state.dump_list(["a,b", "50%", "c"])) == ["a,b", "50%", "c"]
    known = demo.item_ids[3]
    at = open_page(
        "users",
        dataset="demo",
        model=app_models["als"],
        mode="new",
        picks=state.dump_list(["nope", known, known]),
    )
    assert not at.exception
    assert at.multiselect(key=users_ui.NEW_PICKS).value == [known]
    assert grid_item_ids(_grids(at)[0]) == [known]


def test_evil_names_stay_text_in_history_and_explanations(tmp_path):
    from recsys_core.datasets import tabular
    from recsys_core.training import train

    from .test_safety import EVIL_NAME, Elements, evil_files

    likes, items = evil_files(tmp_path, n_users=43)  # own content (not 40 or 41)
    dataset = tabular.load_file(likes, items_path=items)
    source = {"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}}
    knn = train(dataset, "item-knn", {"K": 10}, source=source).model_id
    pop = train(dataset, "popularity", {}, source=source).model_id

    pages = [
        open_page("users", dataset=str(likes), model=knn, user="u3"),
        open_page("compare", dataset=str(likes), model=f"{knn},{pop}", user="u3"),
        open_page("compare", dataset=str(likes), model=f"{knn},{pop}", item="it2"),
    ]
    for at in pages:
        assert not at.exception
        body = "".join(html_blocks(at))
        assert _grids(at), [e.value for e in [*at.error, *at.warning, *at.info]]
        parser = Elements()
        parser.feed(body)
        for tag, attrs in parser.elements:
            assert tag not in {"script", "b"}
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            for value in attrs.values():
                assert "javascript:" not in (value or "").lower()
    assert "&lt;img src=x onerror=alert(1)&gt;" in "".join(html_blocks(pages[0]))
    assert EVIL_NAME not in "".join(html_blocks(pages[0]))


def test_the_csv_download_is_the_history_and_recommendations_shown(app_models, demo, downloads):
    user = _moderate_user(demo)
    user_id = demo.user_id(user)
    at = open_page("users", dataset="demo", model=app_models["als"], user=user_id, k="6")
    assert not at.exception
    name, content = downloads(at.get("download_button")[0].proto.url)
    assert name.startswith(f"user-{user_id}-") and name.endswith(".csv")
    rows = csv_rows(content)
    history_grid, recs_grid = _grids(at)
    history = [r for r in rows if r["list"] == "history"]
    recommended = [r for r in rows if r["list"] == "recommended"]
    assert len(history) + len(recommended) == len(rows)
    assert [r["item_id"] for r in history] == grid_item_ids(history_grid)
    assert [r["item_id"] for r in recommended] == grid_item_ids(recs_grid)
    assert {r["user_id"] for r in rows} == {user_id}
    model = ModelStore().load(app_models["als"], demo)
    expected, scores = model.recommend(user, 6)
    assert np.allclose([float(r["score"]) for r in recommended], scores, atol=1e-6)
    assert [int(r["rank"]) for r in recommended] == list(range(1, 7))
    assert all(r["because"].startswith("because you liked ") for r in recommended)
    top, _ = model.explain(user, int(expected[0]), k=2)
    assert demo.item_name(int(top[0])) in recommended[0]["because"]  # whole names, not cut
    assert {r["model"] for r in rows} == {model.label or model.name}
    assert all(r["score"] == "" and r["because"] == "" for r in history)


def test_the_new_user_csv_has_the_picks_and_recommendations(app_models, demo, downloads):
    picks = [demo.item_ids[3], demo.item_ids[9]]
    at = open_page(
        "users",
        dataset="demo",
        model=app_models["als"],
        mode="new",
        picks=state.dump_list(picks),
        k="5",
    )
    assert not at.exception
    _, content = downloads(at.get("download_button")[0].proto.url)
    rows = csv_rows(content)
    assert [r["item_id"] for r in rows if r["list"] == "pick"] == picks
    recommended = [r["item_id"] for r in rows if r["list"] == "recommended"]
    assert recommended == grid_item_ids(_grids(at)[1]) and len(recommended) == 5
    assert {r["user_id"] for r in rows} == {"new user"}
