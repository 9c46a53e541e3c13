"""Sequences of actions in a real browser, each step taking effect: six model switches in a row,
a round of the sidebar's page links, new-user picks through reload and back, a deep link on a
freshly started server, and thumbnail clicks that rerun in place with one history entry each."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.ui import state
from recsys_core.ui.model_picker import model_label

from .conftest import ROOT, _free_port, screenshot, wait_for_app

K = 12
SIDEBAR = "section[data-testid='stSidebar']"
MARK = "() => { window.__sameDocument = 'kept'; }"
KEPT = "() => window.__sameDocument === 'kept'"  # gone after a full page load


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def _query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _models(page) -> list[str]:
    return state.parse_list(_query(page).get("model"))


def _grid_ids(page, grid: int = 0) -> list[str]:
    hrefs = page.evaluate(
        "n => { const g = document.querySelectorAll('.rx-grid')[n];"
        " return g ? [...g.querySelectorAll('a.rx-name')].map(a => a.getAttribute('href')) : []; }",
        grid,
    )
    return [parse_qs(urlparse(h).query).get("item", [""])[0] for h in hrefs]


def _wait_grid(page, expected: list[str], grid: int = 0) -> None:
    page.wait_for_function(
        "([n, ids]) => { const g = document.querySelectorAll('.rx-grid')[n]; if (!g) return false;"
        " const got = [...g.querySelectorAll('a.rx-name')].map(a =>"
        " new URLSearchParams(a.getAttribute('href').split('?')[1]).get('item'));"
        " return got.join() === ids.join(); }",
        arg=[grid, expected],
    )


def _wait_param(page, key: str, value: str | None) -> None:
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).get(k) === v", arg=[key, value]
    )


def _pick_model(page, model_id: str) -> None:
    entry = next(e for e in ModelStore().list() if e.model_id == model_id)
    page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").nth(1).click()
    page.get_by_role("option", name=model_label(entry.to_dict()), exact=True).click()


def _sidebar_model(page) -> str:
    return page.locator(f"{SIDEBAR} [data-testid='stSelectbox'] input").nth(1).input_value()


def _heading(page, name: str) -> None:
    page.get_by_role("heading", name=name, exact=True).first.wait_for()


# ------------------------------------------------------------------------- six model switches
def test_six_model_switches_in_a_row_on_similar_items(page, app_url, app_models, demo):
    item = demo.example_item
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}&item={item}&k={K}")
    wait_for_app(page)
    store = ModelStore()
    for name in ["item-knn", "lightfm", "als", "item-knn", "lightfm", "als"]:
        model_id = app_models[name]
        _pick_model(page, model_id)
        _wait_param(page, "model", model_id)
        wait_for_app(page)
        model = store.load(model_id, demo)
        expected, _ = model.similar_items(demo.item_index(item), K)
        _wait_grid(page, [demo.item_id(i) for i in expected])
        assert _query(page)["model"] == model_id, name
        assert _query(page)["item"] == item
        label = model_label(next(e for e in store.list() if e.model_id == model_id).to_dict())
        assert _sidebar_model(page) == label
        _heading(page, f"Most similar, by {model.label or model.name}")


def test_six_model_switches_in_a_row_on_users(page, app_url, app_models, demo):
    user = demo.example_user
    page.goto(f"{app_url}/users?dataset=demo&model={app_models['als']}&user={user}&k={K}")
    wait_for_app(page)
    store = ModelStore()
    for name in ["item-knn", "popularity", "lightfm", "als", "item-knn", "popularity"]:
        model_id = app_models[name]
        _pick_model(page, model_id)
        _wait_param(page, "model", model_id)
        wait_for_app(page)
        model = store.load(model_id, demo)
        expected, _ = model.recommend(demo.user_index(user), K)
        _wait_grid(page, [demo.item_id(i) for i in expected], grid=1)  # 0: the history
        assert _query(page)["model"] == model_id and _query(page)["user"] == user, name
        _heading(page, f"Recommended by {model.label or model.name}")


# ------------------------------------------------------------------ the sidebar's page links
def test_sidebar_links_keep_dataset_model_and_item(page, app_url, app_models, demo):
    model, item = app_models["item-knn"], demo.item_ids[40]
    page.goto(f"{app_url}/similar?dataset=demo&model={model}&item={item}")
    wait_for_app(page)
    page.add_init_script(MARK)
    page.evaluate(MARK)
    name = demo.item_name(demo.item_index(item))
    _heading(page, name)
    steps = [
        ("Users", "/users", "Users"),
        ("Compare", "/compare", "Compare"),
        ("Similar items", "/similar", "Similar items"),
    ]
    for link, path, heading in steps:
        current = page.locator(f"{SIDEBAR} a[data-testid='stPageLink-NavLink']", has_text=link)
        current.click()
        page.wait_for_function("p => location.pathname === p", arg=path)
        wait_for_app(page)
        _heading(page, heading)
        query = _query(page)
        assert query["dataset"] == "demo", link
        assert _models(page)[0] == model, link
        assert query["item"] == item, link
        assert page.evaluate(KEPT), f"{link}: the browser loaded the page again"
        if path == "/compare":
            page.wait_for_selector(".rx-grid")
            assert page.get_by_text(name).count() >= 1  # compared on the same item
    _heading(page, name)
    entry = next(e for e in ModelStore().list() if e.model_id == model)
    assert _sidebar_model(page) == model_label(entry.to_dict())
    screenshot(page, "sequence-similar-after-links")


# ------------------------------------------------------------------------------ new user picks
def test_new_user_picks_survive_reload_and_back(page, app_url, app_models, demo):
    page.goto(f"{app_url}/users?dataset=demo&model={app_models['als']}&mode=new&k=8")
    wait_for_app(page)
    box = page.get_by_placeholder("Part of a name, then Enter adds the best match")
    matches = [demo.item_id(int(i)) for i in demo.search_items("rocket", limit=40)]
    assert len(matches) > 3
    box.fill("rocket")
    box.press("Enter")  # one item, the best match, however many match
    _wait_param(page, "picks", matches[0])
    wait_for_app(page)
    box.press("Enter")  # the same text again adds nothing
    wait_for_app(page)
    assert state.parse_list(_query(page)["picks"]) == [matches[0]]

    box.click()  # the search box lists its suggestions again; a click on one adds that one
    name = demo.item_name(demo.item_index(matches[3]))
    page.get_by_role("option", name=name).first.click()
    two = state.dump_list([matches[0], matches[3]])
    _wait_param(page, "picks", two)
    wait_for_app(page)
    _wait_grid(page, [matches[0], matches[3]])
    assert _query(page)["mode"] == "new"
    model = ModelStore().load(app_models["als"], demo)
    picks = [demo.item_index(matches[0]), demo.item_index(matches[3])]
    expected, _ = model.recommend_for_history(picks, 8)
    _wait_grid(page, [demo.item_id(i) for i in expected], grid=1)
    screenshot(page, "sequence-users-new")

    page.reload()
    wait_for_app(page)
    _wait_grid(page, [matches[0], matches[3]])
    assert state.parse_list(_query(page)["picks"]) == [matches[0], matches[3]]

    page.go_back()  # one pick
    _wait_param(page, "picks", matches[0])
    wait_for_app(page)
    _wait_grid(page, [matches[0]])
    page.go_back()  # none yet
    page.wait_for_function("() => !new URLSearchParams(location.search).has('picks')")
    wait_for_app(page)
    assert page.locator(".rx-grid").count() == 0
    page.go_forward()
    _wait_param(page, "picks", matches[0])
    wait_for_app(page)
    _wait_grid(page, [matches[0]])


# ------------------------------------------------------------------------------ thumbnail clicks
def test_five_thumbnail_clicks_rerun_in_place_then_back_five_times(page, app_url, app_models, demo):
    start = demo.example_item
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}&item={start}&k={K}")
    wait_for_app(page)
    page.wait_for_selector(".rx-grid a.rx-thumb")
    page.evaluate(MARK)
    visited = [start]
    length = page.evaluate("history.length")
    for step in range(5):
        target = _grid_ids(page)[step + 1]
        page.locator(".rx-grid").first.locator("a.rx-thumb").nth(step + 1).click()
        _wait_param(page, "item", target)
        wait_for_app(page)
        _heading(page, demo.item_name(demo.item_index(target)))
        assert page.evaluate(KEPT), f"click {step + 1} loaded the page again"
        assert page.evaluate("history.length") == length + step + 1, "one entry per click"
        assert _query(page)["model"] == app_models["als"]
        visited.append(target)
    screenshot(page, "sequence-similar-clicked")
    for target in reversed(visited[:-1]):
        page.go_back()
        _wait_param(page, "item", target)
        wait_for_app(page)
        _heading(page, demo.item_name(demo.item_index(target)))
        assert page.evaluate(KEPT)
    page.go_forward()
    _wait_param(page, "item", visited[1])


def test_a_users_thumbnail_opens_similar_items_in_place(page, app_url, app_models, demo):
    user = demo.example_user
    page.goto(f"{app_url}/users?dataset=demo&model={app_models['als']}&user={user}")
    wait_for_app(page)
    page.wait_for_selector(".rx-grid a.rx-thumb")
    page.evaluate(MARK)
    length = page.evaluate("history.length")
    target = _grid_ids(page, grid=1)[0]
    page.locator(".rx-grid").nth(1).locator("a.rx-thumb").first.click()
    page.wait_for_function("() => location.pathname === '/similar'")
    _wait_param(page, "item", target)
    wait_for_app(page)
    _heading(page, demo.item_name(demo.item_index(target)))
    assert page.evaluate(KEPT), "the browser loaded the page again"
    assert page.evaluate("history.length") == length + 1, "one history entry for the move"
    assert _query(page)["user"] == user and _query(page)["model"] == app_models["als"]
    page.go_back()
    page.wait_for_function("() => location.pathname === '/users'")
    wait_for_app(page)
    _heading(page, "Users")
    assert _query(page)["user"] == user


# ------------------------------------------------------------------ a fresh server's first link
@pytest.fixture
def fresh_server(app_models, session_home):
    """A `streamlit run app.py` no session has visited yet (Streamlit's legacy multipage mode)."""
    port = _free_port()
    env = dict(os.environ, RECSYS_HOME=str(session_home))
    log_path = session_home / "fresh-streamlit.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text())
        else:
            process.kill()
            raise RuntimeError("streamlit did not start within 60 s")
        yield url
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_deep_link_opened_first_on_a_fresh_server(browser, fresh_server, app_models, demo):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    # remember whether Streamlit's own page list ever shows, even for a moment
    tab.add_init_script(
        "new MutationObserver(() => { if (document.querySelector("
        "'[data-testid=stSidebarNav]')) window.__legacyNav = true; })"
        ".observe(document, {subtree: true, childList: true});"
    )
    item, model = demo.item_ids[25], app_models["item-knn"]
    tab.goto(f"{fresh_server}/similar?dataset=demo&model={model}&item={item}&k=8")
    wait_for_app(tab)
    _heading(tab, "Similar items")
    _heading(tab, demo.item_name(demo.item_index(item)))
    expected, _ = ModelStore().load(model, demo).similar_items(demo.item_index(item), 8)
    _wait_grid(tab, [demo.item_id(i) for i in expected])
    links = tab.locator(f"{SIDEBAR} a[data-testid='stPageLink-NavLink']")
    assert links.count() == 7
    assert [links.nth(i).inner_text().split("\n")[-1] for i in range(7)] == [
        "Start",
        "Similar items",
        "Compare",
        "Users",
        "Embeddings",
        "Evaluate",
        "Data",
    ]
    assert tab.evaluate("() => !window.__legacyNav"), "Streamlit's legacy page list showed"
    # through app.py's navigation (not the legacy mode, which runs the page alone): its page
    # title and wide layout, and Start at / (the legacy mode serves it at /start)
    assert tab.title() == "Recommendation explorer"
    start = links.first.get_attribute("href")
    assert start.startswith("?dataset=demo"), start
    width = tab.evaluate(
        "() => document.querySelector('[data-testid=stMainBlockContainer]').offsetWidth"
    )
    assert width > 900, "not the app's wide layout"
    assert tab.locator("[data-testid='stException']").count() == 0
    _query_of = {k: v[0] for k, v in parse_qs(urlparse(tab.url).query).items()}
    assert _query_of["item"] == item and _query_of["model"] == model
    context.close()


# ------------------------------------------------------------------------------ screenshots
@pytest.mark.parametrize("name", ["start", "similar", "users", "compare"])
def test_screenshots_of_the_browse_pages(page, app_url, app_models, demo, name):
    models = {
        "compare": f"{app_models['als']},{app_models['item-knn']}",
    }.get(name, app_models["als"])
    path = "" if name == "start" else name
    page.goto(
        f"{app_url}/{path}?dataset=demo&model={models}&item={demo.example_item}"
        f"&user={demo.example_user}"
    )
    wait_for_app(page)
    page.wait_for_selector("h1")
    if name != "start":
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rx-grid img')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length >= 8"
        )
    current = page.locator(f"{SIDEBAR} a[data-testid='stPageLink-NavLink']")
    assert current.count() == 7
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, f"browse-{name}")
