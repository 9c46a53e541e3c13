"""One view in the URL, kept across pages: the page list, the sidebar's links, the bound pickers,
the deep-link workaround and the dataset-loading status (AppTest; the browser tests of the same
sequences are in tests/browser/test_sequences_browser.py)."""

from __future__ import annotations

import inspect
from urllib.parse import parse_qs

import pandas as pd
import pytest

from recsys_core import config
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.ui import grid_component, navigation, state
from recsys_core.ui import users as users_ui

from .helpers import ROOT, grid_item_ids, html_blocks, open_page


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def _sidebar_links(at) -> dict[str, dict[str, str]]:
    """{page url path: the query parameters its sidebar link carries}."""
    found = {}
    for link in at.sidebar.get("page_link"):
        query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
        found[link.proto.page] = query
    return found


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


# ------------------------------------------------------------------ Streamlit's private names
def test_the_deep_link_workaround_still_has_what_it_relies_on():
    """navigation.ensure_app_navigation relies on Streamlit's legacy multipage mode as 1.67 has
    it. If this fails after a Streamlit upgrade, look again at how a fresh server's first
    request for /similar runs (see the function's docstring) before changing the workaround."""
    from streamlit.commands import navigation as st_navigation
    from streamlit.runtime import pages_manager
    from streamlit.runtime.scriptrunner import script_runner

    assert "uses_pages_directory" in vars(pages_manager.PagesManager), (
        "PagesManager.uses_pages_directory is gone: the deep-link workaround needs a new look"
    )
    assert callable(getattr(script_runner, "_mpa_v1", None)), (
        "script_runner._mpa_v1 is gone: the deep-link workaround needs a new look"
    )
    runner = inspect.getsource(script_runner.ScriptRunner)
    assert "PagesManager.uses_pages_directory" in runner and "_mpa_v1(" in runner
    assert "uses_pages_directory = False" in inspect.getsource(st_navigation.navigation)
    assert navigation.APP_SCRIPT == ROOT / "app.py" and navigation.APP_SCRIPT.exists()


# ------------------------------------------------------------------------------ pages and links
def test_the_pages_are_listed_once_and_exist():
    assert [p.url_path for p in navigation.PAGES] == [
        "",
        "similar",
        "compare",
        "users",
        "embeddings",
        "evaluate",
        "data",
    ]
    for info in navigation.PAGES:
        assert (ROOT / info.script).is_file()
    assert "navigation.pages()" in (ROOT / "app.py").read_text()


def test_sidebar_links_carry_dataset_model_item_and_user(app_models):
    demo = load_dataset("demo")
    model = app_models["item-knn"]
    item, user = demo.item_ids[7], demo.user_ids[3]
    at = open_page("similar", dataset="demo", model=model, item=item, user=user, k="20")
    assert not at.exception
    links = _sidebar_links(at)
    assert set(links) == {"", "similar", "compare", "users", "embeddings", "evaluate", "data"}
    for query in links.values():
        assert query == {"dataset": "demo", "model": model, "item": item, "user": user}


def test_links_carry_the_defaults_a_page_writes(app_models):
    """A URL without model, item or user: the page shows defaults and writes them to the URL,
    and the links carry them, so the next page shows the same."""
    demo = load_dataset("demo")
    at = open_page("similar", dataset="demo")
    assert not at.exception
    newest = ModelStore().list(demo.fingerprint)[0].model_id
    assert _param(at, "model") == newest and _param(at, "item") == demo.example_item
    # and the user Users would show, so Users writes nothing on arrival (see sidebar.py)
    default_user = demo.user_id(users_ui.default_user(demo))
    assert _sidebar_links(at)["users"] == {
        "dataset": "demo",
        "model": newest,
        "item": demo.example_item,
        "user": default_user,
    }
    users = open_page("users", dataset="demo", model=app_models["als"])
    assert not users.exception
    assert _param(users, "user") == default_user
    assert _sidebar_links(users)["compare"]["user"] == _param(users, "user")


# ------------------------------------------------------------------------- pickers bound to URL
def test_six_model_switches_in_a_row_each_take_effect(app_models):
    demo = load_dataset("demo")
    item = demo.example_item
    at = open_page("similar", dataset="demo", model=app_models["als"], item=item)
    store = ModelStore()
    order = ["item-knn", "lightfm", "als", "item-knn", "lightfm", "als"]
    for name in order:
        at.selectbox(key="sidebar_model").set_value(app_models[name]).run()
        assert not at.exception
        assert _param(at, "model") == app_models[name]
        assert at.selectbox(key="sidebar_model").value == app_models[name]
        expected, _ = store.load(app_models[name], demo).similar_items(demo.item_index(item), 12)
        assert grid_item_ids(_grids(at)[0]) == [demo.item_id(i) for i in expected]


def test_the_sidebar_model_replaces_the_first_of_a_comparison(app_models):
    pair = f"{app_models['als']},{app_models['item-knn']}"
    at = open_page("similar", dataset="demo", model=pair, item=load_dataset("demo").example_item)
    assert at.selectbox(key="sidebar_model").value == app_models["als"]
    at.selectbox(key="sidebar_model").set_value(app_models["lightfm"]).run()
    assert _param(at, "model") == f"{app_models['lightfm']},{app_models['item-knn']}"
    at.selectbox(key="sidebar_model").set_value(app_models["item-knn"]).run()
    assert _param(at, "model") == app_models["item-knn"]  # not twice


def test_k_and_mode_follow_the_url_and_write_it(app_models):
    demo = load_dataset("demo")
    at = open_page(
        "similar", dataset="demo", model=app_models["als"], item=demo.example_item, k="999"
    )
    assert at.slider(key="similar_k").value == state.K_MAX  # clamped
    for k in (7, 30, 12, 9):
        at.slider(key="similar_k").set_value(k).run()
        assert at.slider(key="similar_k").value == k
        assert _param(at, "k") == (None if k == state.DEFAULT_K else str(k))
        assert len(grid_item_ids(_grids(at)[0])) == k
    users = open_page("users", dataset="demo", model=app_models["als"], mode="new")
    assert users.segmented_control(key="users_mode").value == "new"
    users.segmented_control(key="users_mode").set_value("known").run()
    assert _param(users, "mode") is None and _param(users, "user")


def test_a_new_dataset_clears_the_ids_of_the_old_one(app_models, tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    pd.DataFrame({"user": ["u1", "u2", "u2"], "item": ["a", "a", "b"]}).to_csv(
        folder / "tiny.csv", index=False
    )
    monkeypatch.setenv(config.DATA_DIRS_ENV, str(folder))
    demo = load_dataset("demo")
    at = open_page(
        "similar",
        dataset="demo",
        model=app_models["als"],
        item=demo.example_item,
        user=demo.user_ids[0],
        mode="new",
        picks=demo.item_ids[0],
    )
    spec = str(folder / "tiny.csv")
    at.selectbox(key="sidebar_dataset").set_value(spec).run()
    assert not at.exception
    assert _param(at, "dataset") == spec
    for gone in ("model", "item", "user", "picks"):
        assert _param(at, gone) is None or gone == "item"  # the page writes its own example
    assert _param(at, "item") in {"a", "b"}


# ------------------------------------------------------------------------------ grid clicks
def test_a_grid_click_is_checked_before_it_changes_anything():
    assert grid_component.click_target(
        {"page": "similar", "query": "item=i3&dataset=demo", "here": True}
    ) == ("similar", "item=i3&dataset=demo", True)
    assert grid_component.click_target({"page": "users", "query": "", "here": False}) == (
        "users",
        "",
        False,
    )
    for bad in (
        None,
        "similar",
        {"page": "../secret", "query": "", "here": True},
        {"page": "similar", "query": 3, "here": True},
        {"page": "similar", "query": "", "here": "yes"},
        {"page": "similar", "query": "x" * 9000, "here": True},
    ):
        assert grid_component.click_target(bad) is None


def test_cards_link_to_the_current_view_with_their_item(app_models):
    """A card's link is the whole current view with its item, on the page it opens: what a
    middle click opens in a new tab, and what a plain click applies in place."""
    demo = load_dataset("demo")
    user = demo.user_ids[11]
    at = open_page("users", dataset="demo", model=app_models["als"], user=user, k="8")
    recs = _grids(at)[1]
    expected = f"dataset=demo&model={app_models['als']}&user={user}&k=8"
    from .helpers import cards

    for href, item in zip(cards(recs).links, grid_item_ids(recs), strict=True):
        assert href == f"/similar?{expected}&item={item}"


# ------------------------------------------------------------------------------ loading status
def test_a_dataset_that_loads_with_progress_opens_and_reopens(app_models, tmp_path, monkeypatch):
    """The progress of a load is drawn outside the cached loader: the second run (a cache hit)
    replays nothing and shows the page."""
    folder = tmp_path / "shared"
    folder.mkdir()
    rows = [(f"u{u}", f"it{(u * 7 + j) % 40}") for u in range(300) for j in range(5)]
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(folder / "likes.csv", index=False)
    monkeypatch.setenv(config.DATA_DIRS_ENV, str(folder))
    spec = str(folder / "likes.csv")
    from recsys_core.ui import sidebar

    monkeypatch.setattr(sidebar, "PROGRESS_EVERY", 0.0)
    calls = []
    real = sidebar._outside_cache
    monkeypatch.setattr(sidebar, "_outside_cache", lambda draw: (calls.append(1), real(draw)))
    first = open_page("similar", dataset=spec)
    assert not first.exception
    assert calls, "the loader reported no progress"
    assert any("300 users" in c.value for c in first.sidebar.caption)
    assert not [i for i in first.info if navigation.OPENING in i.value]  # cleared once loaded
    first.run()
    assert not first.exception
    second = open_page("users", dataset=spec)
    assert not second.exception
    assert not [e for e in second.main.get("progress")]  # cleared once loaded


@pytest.mark.parametrize("page", ["similar", "users", "compare", "start"])
def test_pages_open_through_the_one_navigation(app_models, page):
    at = open_page(page, dataset="demo", model=app_models["als"])
    assert not at.exception
    assert len(_sidebar_links(at)) == len(navigation.PAGES)
