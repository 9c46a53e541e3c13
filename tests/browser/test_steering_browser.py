"""Steer the lists in a real browser: a dial and a filter set in the sidebar change the grid and
the URL; three changes of a dial in a row each take effect; Similar -> Users -> Compare keep the
steering; a reload and the back button reopen the same steered grid; Compare puts a model
beside its steered self; Evaluate sweeps a dial. Screenshots at 1400x1000 and 1280x720."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from recsys_core.datasets import load_dataset
from recsys_core.rerank import Reranker
from recsys_core.store import ModelStore
from recsys_core.ui import compare as compare_ui
from recsys_core.ui import steering_sweep

from .conftest import screenshot, wait_for_app

K = 10
COMPARE_K = 12  # the cards Compare draws per model in the walk
SIDEBAR = "section[data-testid='stSidebar']"
SIZES = {"1400x1000": (1400, 1000), "1280x720": (1280, 720)}


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def _query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


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


def _wait_param(page, key: str, value: str | None, timeout: float | None = None) -> None:
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).get(k) === v",
        arg=[key, value],
        timeout=timeout,
    )


def _open_steering(page) -> None:
    expander = page.locator(f"{SIDEBAR} [data-testid='stExpander']", has_text="Steer the lists")
    if expander.locator("details").get_attribute("open") is None:
        expander.get_by_text("Steer the lists").click()
    _slider(page, "popularity").wait_for(state="attached")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stSidebar] details')]"
        ".some(d => d.open && d.innerText.includes('Long tail'))"
    )


def _slider(page, dial: str):
    return page.locator(f"{SIDEBAR} .st-key-steer_{dial} input[type=range]")


def _pick_option(page, box, name: str, tries: int = 3) -> None:
    """Type into a multiselect and click the option ``name``; the pick alone must write it to
    the URL. On a loaded machine the open list can be redrawn under the pointer and the click
    lands on nothing (the list closes with the typed text still in the box, nothing picked):
    the person would click again, so the test does, at most ``tries`` times; a pick that never
    reaches the URL still fails."""
    for attempt in range(tries):
        box.locator("input").click()
        page.keyboard.press("Control+A")
        page.keyboard.type(name[:7])
        page.get_by_role("option", name=name, exact=True).click()
        try:
            _wait_param(page, "rerank", f"exclude_category={name}", timeout=15_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


def _similar(demo, model_id: str, settings: str, item: str, k: int = K) -> list[str]:
    model = ModelStore().load(model_id, demo)
    indices, _ = Reranker(settings, model, demo).similar_items(demo.item_index(item), k)
    return [demo.item_id(int(i)) for i in indices]


def _category(demo, item_id: str) -> str:
    return demo.items.at[demo.item_index(item_id), "category"]


WALK_DIALS = ("", "popularity=1,", "popularity=0.95,", "popularity=0.9,")
"""The steering the walk sets in turn, before its ``exclude_category=`` filter."""


def _walk_models(demo, als: str) -> list:
    """The models the walk shows an item's similar items from: ALS, and the partner Compare
    completes it with (``compare.default_models``, from the same store listing the page reads;
    which one depends on what else the session stored)."""
    store = ModelStore()
    entries = [e.to_dict() for e in store.list(demo.fingerprint)]
    entries = [e for e in entries if not e.get("damaged")]
    shown = compare_ui.default_models(entries, [als], "item")
    assert als in shown and len(shown) == 2, shown
    return [store.load(model_id, demo) for model_id in shown]


def _walk_item(demo, als: str) -> tuple[str, str]:
    """The item the walk shows and its category, which the walk leaves out: an item whose
    similar items in ALS, with its own category left out, fill every grid of the walk, and
    whose similar items in Compare's partner (:func:`_walk_models`) fill its column too, or at
    least leave one item in it.

    Not simply the example item: item-knn keeps only its K nearest neighbours, and for most
    items all of them share the item's category, so its Compare column rightly says that no
    item is left (and a session's item-knn with K below 12 never fills a column of 12). The
    example item when it qualifies, then the other items of its category, then any other.
    """
    als_model, partner = _walk_models(demo, als)
    first = demo.example_item
    own = demo.items["category"] == _category(demo, first)
    order = [demo.item_index(first)] + [int(i) for i in np.flatnonzero(own.to_numpy())]
    order += [int(i) for i in np.flatnonzero(~own.to_numpy())]
    order = list(dict.fromkeys(order))

    def count(model, index: int, dials: str, category: str) -> int:
        steer = f"{dials}exclude_category={category}"
        return len(Reranker(steer, model, demo).similar_items(index, COMPARE_K)[0])

    for least in (COMPARE_K, 1):  # a full partner column when one exists
        for index in order:
            category = demo.items.at[index, "category"]
            if all(count(als_model, index, d, category) == COMPARE_K for d in WALK_DIALS) and (
                count(partner, index, WALK_DIALS[-1], category) >= least
            ):
                return demo.item_id(index), str(category)
    raise AssertionError(
        f"no demo item keeps {COMPARE_K} similar items in ALS and one in "
        f"{partner.name} once its category is left out"
    )


def test_steer_in_the_sidebar_then_walk_the_pages(page, app_url, app_models, demo):
    als = app_models["als"]
    item, category = _walk_item(demo, als)
    page.goto(f"{app_url}/similar?dataset=demo&model={als}&item={item}&k={K}")
    wait_for_app(page)
    plain = _grid_ids(page)
    _open_steering(page)

    # a filter: leave out the item's own category
    box = page.locator(f"{SIDEBAR} [data-testid='stMultiSelect']", has_text="Leave out categories")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(400)  # the expander's opening animation
    _pick_option(page, box, category)
    page.keyboard.press("Escape")  # then close the list
    wait_for_app(page)
    expected = _similar(demo, als, f"exclude_category={category}", item)
    _wait_grid(page, expected)
    assert len(expected) == K and category not in {_category(demo, i) for i in expected}
    assert expected != plain

    # the dial, three times in a row: each takes effect
    thumb = _slider(page, "popularity")
    for key, dials in zip(("End", "ArrowLeft", "ArrowLeft"), WALK_DIALS[1:], strict=True):
        thumb.focus()
        thumb.press(key)
        wanted = f"{dials}exclude_category={category}"
        _wait_param(page, "rerank", wanted)
        wait_for_app(page)
        _wait_grid(page, _similar(demo, als, wanted, item))
    steered = f"{WALK_DIALS[-1]}exclude_category={category}"
    page.get_by_text(f"Long tail 0.9 · no {category}").first.wait_for()
    page.get_by_text("Steered:").first.wait_for()
    screenshot(page, "steering-sidebar-open-1400x1000")
    similar_grid = _grid_ids(page)

    # Similar -> Users -> Compare keep the steering
    page.locator(f"{SIDEBAR} a[data-testid='stPageLink-NavLink']", has_text="Users").click()
    page.wait_for_function("() => location.pathname === '/users'")
    wait_for_app(page)
    assert _query(page)["rerank"] == steered
    user = _query(page)["user"]
    model = ModelStore().load(als, demo)
    recs, _ = Reranker(steered, model, demo).recommend(demo.user_index(user), 12)
    users_grid = [demo.item_id(int(i)) for i in recs]
    _wait_grid(page, users_grid, grid=1)
    page.get_by_text("Steered:").first.wait_for()

    page.locator(f"{SIDEBAR} a[data-testid='stPageLink-NavLink']", has_text="Compare").click()
    page.wait_for_function("() => location.pathname === '/compare'")
    wait_for_app(page)
    query = _query(page)
    assert query["rerank"] == steered
    page.get_by_text("Steered:").first.wait_for()
    models = query["model"].split(",")
    assert len(models) == 2
    page.wait_for_function("() => document.querySelectorAll('.rx-grid').length === 2")
    compare_grids = []
    for n, model_id in enumerate(models):
        source = Reranker(steered, ModelStore().load(model_id, demo), demo)
        indices, _ = source.similar_items(demo.item_index(item), COMPARE_K)
        assert len(indices) >= 1  # _walk_item's promise: no column is left empty
        compare_grids.append([demo.item_id(int(i)) for i in indices])
        _wait_grid(page, compare_grids[-1], grid=n)

    # a reload, then back: the same steered grids
    page.reload()
    wait_for_app(page)
    assert _query(page)["rerank"] == steered
    for n, ids in enumerate(compare_grids):
        _wait_grid(page, ids, grid=n)
    _back_to(page, "/users")
    assert _query(page)["rerank"] == steered
    _wait_grid(page, users_grid, grid=1)
    _back_to(page, "/similar")
    _wait_grid(page, similar_grid)
    assert _query(page)["rerank"] == steered
    page.reload()
    wait_for_app(page)
    _wait_grid(page, similar_grid)


def _back_to(page, path: str, most: int = 5) -> None:
    """Press back until the browser is on ``path`` (a page may have added entries of its own:
    the model or user it shows)."""
    for _ in range(most):
        page.go_back()
        wait_for_app(page)
        if urlparse(page.url).path == path:
            return
    raise AssertionError(f"{path} is not {most} steps back")


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots(browser, app_url, app_models, demo, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    als, knn = app_models["als"], app_models["item-knn"]
    steered = "popularity=0.75,diversity=0.25,exclude_category=Electronics"
    try:
        page.goto(
            f"{app_url}/similar?dataset=demo&model={als}&item={demo.example_item}&rerank={steered}"
        )
        wait_for_app(page)
        _open_steering(page)
        page.get_by_text("Steered:").first.wait_for()
        screenshot(page, f"steering-similar-{size}")

        user = demo.example_user
        page.goto(
            f"{app_url}/compare?dataset=demo&model={als},{knn}&user={user}&k=8"
            f"&rerank={steered}&rerank_side=1"
        )
        wait_for_app(page)  # grids are components: they mount just after the run ends
        page.wait_for_function("() => document.querySelectorAll('.rx-grid').length === 4")
        page.get_by_text("steered: Long tail 0.75 · Variety 0.25 · no Electronics").first.wait_for()
        screenshot(page, f"steering-compare-{size}")
    finally:
        context.close()


def test_evaluate_sweep(browser, app_url, app_models, demo):
    als = app_models["als"]
    meta = ModelStore().meta(als)
    target, stored = steering_sweep.target_model(meta, demo, "holdout:5", 0)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(
            f"{app_url}/evaluate?dataset=demo&model={als}&sweep=popularity"
            "&rerank=exclude_category=Electronics"
        )
        wait_for_app(page)
        page.get_by_role("button", name="Sweep Long tail").click()
        page.locator("[data-testid='stPlotlyChart']").last.wait_for()
        wait_for_app(page)
        assert ModelStore().exists(target)
        chart = page.locator("[data-testid='stExpander']", has_text="what a dial costs")
        chart.scroll_into_view_if_needed()
        screenshot(page, "steering-evaluate-sweep-1400x1000")
        page.set_viewport_size({"width": 1280, "height": 720})
        page.reload()
        wait_for_app(page)
        assert page.get_by_role("button", name="Sweep Long tail").count() == 0  # stored
        page.locator(
            "[data-testid='stExpander']", has_text="what a dial costs"
        ).scroll_into_view_if_needed()
        screenshot(page, "steering-evaluate-sweep-1280x720")
    finally:
        context.close()
        if not stored and ModelStore().exists(target):
            ModelStore().delete(target)  # the session's store as the other tests expect it
