"""The main paths in a real browser: pick an item, see thumbnails, click through, switch model."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from recsys_core.datasets import load_dataset

from .conftest import loaded_thumbnails, screenshot, wait_for_app

K = 12


def _query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _grid_ids(page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        ".rx-grid a.rx-name", "links => links.map(a => a.getAttribute('href'))"
    )
    return [parse_qs(urlparse(h).query).get("item", [""])[0] for h in hrefs]


def test_search_see_thumbnails_click_through_and_back(page, app_url, app_models):
    demo = load_dataset("demo")
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}&k={K}")
    wait_for_app(page)

    # search an item by name
    target = demo.item_index(demo.item_ids[5])
    name = demo.item_name(target)
    box = page.get_by_placeholder("Search by name, or paste an item link or id")
    box.fill(name)
    box.press("Enter")
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('item') === id",
        arg=demo.item_id(target),
    )
    wait_for_app(page)
    assert page.get_by_role("heading", name=name).count() >= 1

    # at least k thumbnails, really loaded
    page.wait_for_function(
        "k => [...document.querySelectorAll('.rx-grid img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= k",
        arg=K,
    )
    assert loaded_thumbnails(page) >= K
    before = _grid_ids(page)
    assert len(before) == K
    screenshot(page, "similar")

    # click a thumbnail: it becomes the selected item, and the URL says so
    clicked = before[0]
    page.locator(".rx-grid a.rx-thumb").first.click()
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('item') === id", arg=clicked
    )
    wait_for_app(page)
    clicked_name = demo.item_name(demo.item_index(clicked))
    page.get_by_role("heading", name=clicked_name).first.wait_for()
    assert _query(page)["model"] == app_models["als"]
    assert _grid_ids(page) != before

    # the back button walks back to the previous item
    page.go_back()
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('item') === id",
        arg=demo.item_id(target),
    )
    wait_for_app(page)
    page.get_by_role("heading", name=name).first.wait_for()


def test_switching_the_model_changes_the_grid(page, app_url, app_models):
    demo = load_dataset("demo")
    item = demo.example_item
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}&item={item}&k={K}")
    wait_for_app(page)
    page.wait_for_selector(".rx-grid a.rx-name")
    als = _grid_ids(page)

    from recsys_core.store import ModelStore
    from recsys_core.ui.model_picker import model_label

    entry = next(e for e in ModelStore().list() if e.model_id == app_models["item-knn"])
    page.locator("section[data-testid='stSidebar'] [data-testid='stSelectbox']").nth(1).click()
    page.get_by_role("option", name=model_label(entry.to_dict())).first.click()
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('model') === id",
        arg=app_models["item-knn"],
    )
    wait_for_app(page)
    page.wait_for_function(
        "old => { const ids = [...document.querySelectorAll('.rx-grid a.rx-name')]"
        ".map(a => new URLSearchParams(a.getAttribute('href').split('?')[1]).get('item'));"
        " return ids.length > 0 && ids.join() !== old.join(); }",
        arg=als,
    )
    assert _grid_ids(page) != als
    screenshot(page, "similar-item-knn")
