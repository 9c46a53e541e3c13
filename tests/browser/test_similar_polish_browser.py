"""Similar items and Users, as a person sees them in Chromium: the item search suggests while
typing (words in any order), a pick selects exactly one item; the selected item's picture is the
generated one when its ``image_url`` cannot load; on a 1280 x 720 laptop the first row of the
grid is on the first screen; the CSV button downloads what the grid shows; screenshots."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, quote, urlparse

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from .conftest import ARTIFACTS, screenshot, wait_for_app
from .test_thumbnail_fallback_browser import ImageServer, _dead_port

K = 12
SEARCH = "Search by name, or paste an item link or id"


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def _query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _wait_item(page, item_id: str) -> None:
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('item') === id", arg=item_id
    )
    wait_for_app(page)


def _heading(page, name: str):
    return page.get_by_role("heading", name=name, exact=True)


# ------------------------------------------------------------------------------ type-ahead
def test_typing_suggests_words_in_any_order_and_one_pick_selects_one_item(
    page, app_url, app_models, demo
):
    start = demo.example_item
    target = demo.search_items("typewriter chrome", limit=5)
    assert len(target) == 1
    target_id, target_name = demo.item_id(int(target[0])), demo.item_name(int(target[0]))
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}&item={start}&k={K}")
    wait_for_app(page)
    history = page.evaluate("() => history.length")

    box = page.get_by_placeholder(SEARCH)
    box.click()
    box.press_sequentially("typewriter chrome", delay=40)  # typed, not pasted; no Enter
    options = page.get_by_role("option")
    options.first.wait_for()
    page.wait_for_function(
        "() => { const list = document.querySelector('.rxs-list');"
        " return list && !list.hidden && !list.classList.contains('rxs-stale'); }"
    )
    assert options.count() == 1
    assert target_name in options.first.inner_text()
    # the words typed are bold in the suggestion, whatever their order
    bold = page.locator(".rxs-opt b").all_inner_texts()
    assert sorted(w.lower() for w in bold) == ["chrome", "typewriter"]
    assert _query(page)["item"] == start  # typing alone changes nothing
    screenshot(page, "similar-typeahead")

    options.first.click()
    _wait_item(page, target_id)
    _heading(page, target_name).wait_for()
    assert _heading(page, demo.item_name(demo.item_index(start))).count() == 0
    assert page.locator(".rxs-list").is_hidden()  # the list closed on the pick
    assert page.evaluate("() => history.length") == history + 1  # one pick, one entry
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(int(target[0]), K)
    page.wait_for_function(
        "ids => [...document.querySelectorAll('.rx-grid a.rx-name')].map(a =>"
        " new URLSearchParams(a.getAttribute('href').split('?')[1]).get('item')).join()"
        " === ids.join()",
        arg=[demo.item_id(i) for i in expected],
    )

    # Enter at once (before any suggestion came back) picks the best match
    best = demo.search_items("rocket", limit=1)
    box.fill("rocket")
    box.press("Enter")
    _wait_item(page, demo.item_id(int(best[0])))
    # arrows move the highlight; Enter picks the highlighted one
    box.fill("typewriter")
    page.wait_for_function(
        "() => { const list = document.querySelector('.rxs-list');"
        " return list && !list.hidden && !list.classList.contains('rxs-stale')"
        " && list.querySelectorAll('.rxs-opt').length > 2; }"
    )
    second = demo.item_id(int(demo.search_items("typewriter", limit=2)[1]))
    box.press("ArrowDown")
    box.press("Enter")
    _wait_item(page, second)

    # back walks the picks: one entry each
    page.go_back()
    _wait_item(page, demo.item_id(int(best[0])))
    page.go_back()
    _wait_item(page, target_id)
    page.go_back()
    _wait_item(page, start)
    assert page.dialogs == []


# ------------------------------------------------------------------------------ broken image
NAME, CATEGORY = "Broken lamp", "Lamps"


@pytest.fixture
def images():
    server = ImageServer()  # the placeholder SVG at /good.svg, 404 for anything else
    yield server
    server.close()


def _lamps(folder, origin: str):
    """A small dataset whose three most liked items share a name and category; their
    ``image_url``: a 404, a port nobody listens on, the generated picture served."""
    likes = folder / "lamps.csv"
    rows = [(f"u{u}", item) for u in range(30) for item in ("x0", "x1", "x2", f"t{3 + u % 9}")]
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(likes, index=False)
    urls = {
        0: f"{origin}/missing.png",
        1: f"http://127.0.0.1:{_dead_port()}/offline.png",
        2: f"{origin}/good.svg",
    }
    items = folder / "lamps-items.csv"
    ids = [f"x{i}" if i < 3 else f"t{i}" for i in range(12)]
    pd.DataFrame(
        {
            "item_id": ids,
            "name": [NAME if i < 3 else f"Thing {i}" for i in range(12)],
            "category": CATEGORY,
            "image_url": [urls.get(i, "") for i in range(12)],
        }
    ).to_csv(items, index=False)
    return likes, items


def _panel_pixels(page) -> np.ndarray:
    shot = page.locator(".rx-pic").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=float)


def test_a_broken_image_url_shows_the_generated_picture_in_the_selected_panel(
    page, app_url, images, tmp_path
):
    from recsys_core.datasets import tabular
    from recsys_core.training import train

    likes, items = _lamps(tmp_path, images.origin)
    dataset = tabular.load_file(likes, items_path=items)
    source = {"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}}
    model = train(dataset, "item-knn", {"K": 10}, source=source).model_id  # records the file

    seen = {}
    for item in ("x2", "x0", "x1"):
        page.goto(
            f"{app_url}/similar?dataset={quote(str(likes), safe='')}&model={model}&item={item}"
        )
        wait_for_app(page)
        _heading(page, NAME).wait_for()
        panel = page.locator(".rx-pic").first
        panel.wait_for()
        page.wait_for_timeout(600)  # the failed request and the repaint
        # no <img> in the panel that failed to load (no broken-image icon anywhere in it)
        broken = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=stHtml] img')]"
            ".filter(i => i.offsetParent !== null && i.complete && i.naturalWidth === 0).length"
        )
        assert broken == 0, item
        box = panel.bounding_box()
        assert box["width"] > 100 and box["height"] > 70, box
        seen[item] = _panel_pixels(page)
        if item == "x0":
            panel.screenshot(path=str(ARTIFACTS / "selected-broken-image.png"))
    assert "/missing.png" in images.paths and "/good.svg" in images.paths  # both were asked for

    served = seen["x2"]
    assert served.std() > 10  # a picture, not a flat colour
    for item in ("x0", "x1"):
        shown = seen[item]
        height = min(shown.shape[0], served.shape[0])
        width = min(shown.shape[1], served.shape[1])
        diff = np.abs(shown[3 : height - 3, 3 : width - 3] - served[3 : height - 3, 3 : width - 3])
        assert diff.mean() < 4.0, (item, diff.mean())  # the same generated picture


# ------------------------------------------------------------------------------ the fold
def test_the_first_row_of_the_grid_is_on_a_laptops_first_screen(browser, app_url, app_models):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}&k={K}")
        wait_for_app(page)
        page.wait_for_function(
            "() => { const img = document.querySelector('.rx-grid .rx-thumb img');"
            " return img && img.complete && img.naturalWidth > 0; }"
        )
        page.wait_for_timeout(300)
        first = page.evaluate(
            "() => { const cards = [...document.querySelectorAll('.rx-grid .rx-card')];"
            " const top = cards[0].getBoundingClientRect().top;"
            " const row = cards.filter(c => Math.abs(c.getBoundingClientRect().top - top) < 2);"
            " return row.map(c => c.querySelector('.rx-thumb').getBoundingClientRect().bottom); }"
        )
        scrolled = page.evaluate(
            "() => document.querySelector('[data-testid=stMain]').scrollTop || window.scrollY"
        )
        assert scrolled == 0
        assert len(first) >= 4, first  # a row, not one card
        assert max(first) <= 720, first  # every picture of the first row, whole
        screenshot(page, "similar-1280x720")
    finally:
        context.close()


# ------------------------------------------------------------------------------ CSV
def test_the_csv_button_downloads_the_grid(page, app_url, app_models, demo):
    item = demo.example_item
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['item-knn']}&item={item}&k=6")
    wait_for_app(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").click()
    saved = download.value
    assert saved.suggested_filename.startswith(f"similar-{item}-")
    rows = list(csv.DictReader(io.StringIO(open(saved.path(), encoding="utf-8").read())))
    model = ModelStore().load(app_models["item-knn"], demo)
    expected, _ = model.similar_items(demo.item_index(item), 6)
    assert [r["item_id"] for r in rows] == [demo.item_id(i) for i in expected]


# ------------------------------------------------------------------------------ screenshots
@pytest.mark.parametrize("size", [(1400, 1000), (1280, 720)], ids=["1400x1000", "1280x720"])
def test_screenshots_of_similar_and_users(browser, app_url, app_models, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    name = f"{size[0]}x{size[1]}"
    try:
        pages = {
            f"similar-{name}": f"/similar?dataset=demo&model={app_models['als']}",
            f"similar-tags-{name}": f"/similar?dataset=demo&model={app_models['lightfm']}",
            f"users-{name}": f"/users?dataset=demo&model={app_models['als']}",
            f"users-new-{name}": f"/users?dataset=demo&model={app_models['als']}&mode=new"
            "&picks=i0001,i0002",
        }
        for shot, path in pages.items():
            page.goto(app_url + path)
            wait_for_app(page)
            page.wait_for_selector(".rx-grid")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.rx-grid img')].slice(0, 4)"
                ".every(i => i.complete)"
            )
            assert page.locator("[data-testid=stException]").count() == 0, shot
            screenshot(page, shot)
    finally:
        context.close()
