"""The Embeddings page in a real browser: the canvas map (no Plotly), its tooltip, clicks, legend,
box selection, colourings and the browser's history.

The map keeps its state on its element (``.rx-scatter``'s ``rxScatter``): the tests ask it where
a point is on screen (``screenOf``) and which row a click there would hit (``rowAt``), then use
the real mouse.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest

from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from ..app.test_text_is_text import payload_files, payloads, train_on
from .conftest import screenshot, wait_for_app

MAP = "[data-testid=stMain] .st-key-scatter_main .rx-scatter"
SCATTER = f"document.querySelector('{MAP}').rxScatter"


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.wait_for_selector(f"{MAP}[data-state=drawn]")


def _param(page, name: str) -> str | None:
    return page.evaluate(f"() => new URLSearchParams(location.search).get('{name}')")


def _point(page, position: int) -> dict:
    """Screen coordinates of a point, and the row a click there selects."""
    return page.evaluate(
        f"""p => {{ const s = {SCATTER}; const at = s.screenOf(p);
        return {{ x: at.x, y: at.y, row: s.rowAt(at.x, at.y) }}; }}""",
        position,
    )


def _tip(page) -> str | None:
    return page.evaluate(
        f"() => {{ const t = document.querySelector('{MAP} .rx-sc-tip');"
        " return t.hidden ? null : t.textContent; }"
    )


def _grid_items(page) -> list[str]:
    return [
        parse_qs(urlparse(href).query).get("item", [""])[0]
        for href in page.eval_on_selector_all(
            ".rx-grid a.rx-name", "links => links.map(a => a.getAttribute('href'))"
        )
    ]


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


def test_no_plotly_every_item_drawn_and_a_click_selects_the_item(page, app_url, app_models, demo):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open(page, f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca")
    assert page.evaluate(f"() => {SCATTER}.n") == demo.n_items
    assert page.locator(".js-plotly-plot").count() == 0
    assert not [url for url in requests if "Plotly" in url]  # Plotly's bundle never loads

    point = _point(page, 5)
    assert point["row"] >= 0
    page.mouse.move(point["x"] - 25, point["y"] - 25)
    page.mouse.move(point["x"], point["y"], steps=5)
    page.wait_for_function(f"() => !document.querySelector('{MAP} .rx-sc-tip').hidden")
    assert demo.items.at[point["row"], "name"] in _tip(page)
    history = page.evaluate("() => history.length")
    page.mouse.click(point["x"], point["y"])
    expected = demo.item_id(point["row"])
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('item') === id",
        arg=expected,
    )
    wait_for_app(page)
    assert page.evaluate("() => history.length") == history + 1  # one history entry
    page.wait_for_selector(".rx-grid a.rx-name")
    model = ModelStore().load(app_models["als"], demo)
    neighbours, _ = model.similar_items(demo.item_index(expected), 5)
    assert {demo.item_id(i) for i in neighbours} <= set(_grid_items(page))
    page.wait_for_function(f"() => Boolean({SCATTER}.meta.highlight)")  # the star is drawn
    screenshot(page, "embeddings-clicked")


def test_the_tooltip_shows_a_hostile_name_as_text(page, app_url, tmp_path_factory):
    likes, items = payload_files(tmp_path_factory.mktemp("emb-payloads"), "127.0.0.1:9", n_users=49)
    models = train_on(likes, items, algorithms=("als",))
    query = urlencode(
        {"dataset": str(likes), "model": models["als"], "proj": "pca", "colour": "category"},
        quote_via=quote,
    )
    _open(page, f"{app_url}/embeddings?{query}")
    for name in ("<img src=x onerror=alert(1)>", '<a href="http://127.0.0.1:9/a">link</a>'):
        assert name in payloads("127.0.0.1:9")["names"]
        position = page.evaluate(
            f"""name => {{ const s = {SCATTER};
            for (let p = 0; p < s.n; p += 1) if (s.labels.get(p) === name) return p;
            return -1; }}""",
            name,
        )
        assert position >= 0, name
        point = _point(page, position)
        page.mouse.move(point["x"] - 20, point["y"] - 20)
        page.mouse.move(point["x"], point["y"], steps=4)
        page.wait_for_function(f"() => !document.querySelector('{MAP} .rx-sc-tip').hidden")
        assert page.evaluate(f"() => {SCATTER}.hover") == position
        title = page.evaluate(f"() => document.querySelector('{MAP} .rx-sc-tip-title').textContent")
        assert title == name  # the literal text
    assert page.locator(f"{MAP} img, {MAP} a").count() == 0  # nothing made from a name
    legend = page.eval_on_selector_all(f"{MAP} .rx-sc-name", "els => els.map(e => e.textContent)")
    for category in payloads("127.0.0.1:9")["categories"]:
        assert category in legend, (category, legend)
    assert page.dialogs == []


def test_a_legend_entry_hides_and_shows_its_points(page, app_url, app_models, demo):
    _open(
        page,
        f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca&colour=category",
    )
    entries = page.locator(f"{MAP} .rx-sc-entry")
    first = entries.first
    name = first.locator(".rx-sc-name").text_content()
    count = (demo.items["category"] == name).sum()
    assert count > 0
    assert page.evaluate(f"() => {SCATTER}.shown()") == demo.n_items
    first.click()
    assert first.get_attribute("aria-pressed") == "false"
    assert page.evaluate(f"() => {SCATTER}.shown()") == demo.n_items - count
    position = page.evaluate(
        f"""name => {{ const s = {SCATTER};
        for (let p = 0; p < s.n; p += 1) if (s.classes[s.codes[p]].name === name) return p; }}""",
        name,
    )
    point = _point(page, position)
    assert point["row"] == -1 or demo.items.at[point["row"], "category"] != name  # not hoverable
    screenshot(page, "embeddings-legend-hidden")
    first.click()
    assert first.get_attribute("aria-pressed") == "true"
    assert page.evaluate(f"() => {SCATTER}.shown()") == demo.n_items
    entries.nth(1).dblclick()  # only this one
    only = entries.nth(1).locator(".rx-sc-name").text_content()
    assert page.evaluate(f"() => {SCATTER}.shown()") == (demo.items["category"] == only).sum()


def test_a_box_selection_lists_the_selected_items(page, app_url, app_models, demo):
    _open(page, f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca")
    page.locator(f"{MAP} [data-tool=box]").click()
    box = page.evaluate(
        f"() => {{ const r = document.querySelector('{MAP} canvas')"
        ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }"
    )
    left, top, width, height = box
    x0, y0, x1, y1 = left + width * 0.3, top + height * 0.3, left + width * 0.5, top + height * 0.5
    expected = page.evaluate(
        f"""([x0, y0, x1, y1]) => {{ const s = {SCATTER}; const rows = [];
        for (let p = 0; p < s.n; p += 1) {{ const at = s.screenOf(p);
          if (at.x >= x0 && at.x <= x1 && at.y >= y0 && at.y <= y1) rows.push(s.rows[p]); }}
        return rows; }}""",
        [x0, y0, x1, y1],
    )
    assert len(expected) > 1
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=3)
    page.mouse.move(x1, y1, steps=3)
    page.mouse.up()
    heading = page.get_by_role("heading", name=f"{len(expected):,} items selected")
    heading.wait_for()
    wait_for_app(page)
    shown = sorted(expected, key=lambda r: -demo.item_counts[r])[:60]
    grids = page.locator(".st-key-emb_selected_grid .rx-grid a.rx-name")
    hrefs = grids.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert [parse_qs(urlparse(h).query)["item"][0] for h in hrefs] == [
        demo.item_id(r) for r in shown
    ]
    selected = page.evaluate(f"() => {SCATTER}.meta.selection.length")
    assert selected == len(expected)  # drawn highlighted, the rest dimmed
    screenshot(page, "embeddings-box-selection")
    page.locator(f"{MAP} [data-tool=clear]").click()
    heading.wait_for(state="detached")


def _legend(page) -> tuple[str, list[str]]:
    title = page.evaluate(
        f"() => (document.querySelector('{MAP} .rx-sc-legend-title') || {{}}).textContent || ''"
    )
    return title, page.eval_on_selector_all(f"{MAP} .rx-sc-name", "e => e.map(x => x.textContent)")


def _pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the main area's select box labelled ``label``."""
    page.get_by_test_id("stMain").get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def _drawn(page, colour: str | None) -> None:
    """Wait for the URL's colour, the page settled, and the map coloured that way."""
    page.wait_for_function(
        "c => new URLSearchParams(location.search).get('colour') === c", arg=colour
    )
    wait_for_app(page)
    expected = {
        None: lambda title, names: title == "Taste group" and names[0].startswith("Taste group 1"),
        "popularity": lambda title, names: title.startswith("Popularity: likes per item"),
        "category": lambda title, names: title == "Category" and len(names) > 2,
        "tag": lambda title, names: title.startswith("Tag: ") and names[1].startswith("tagged "),
    }[colour]
    for _ in range(50):  # the map is redrawn just after the run ends
        title, names = _legend(page)
        if expected(title, names):
            break
        page.wait_for_timeout(100)
    assert expected(title, names), (colour, title, names)
    shown = page.get_by_test_id("stMain").get_by_role("combobox", name="Colour by")
    labels = {None: "Taste group", "popularity": "Popularity", "category": "Category"}
    label = {**labels, "tag": "Tag"}[colour]
    assert shown.input_value() == label


def test_three_colourings_in_a_row_then_back_twice(page, app_url, app_models):
    _open(page, f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca")
    _drawn(page, None)
    screenshot(page, "embeddings")
    for label, colour in (("Popularity", "popularity"), ("Category", "category"), ("Tag", "tag")):
        _pick(page, "Colour by", label)
        _drawn(page, colour)
    assert "proj=pca" in page.url and f"model={app_models['als']}" in page.url
    page.go_back()
    _drawn(page, "category")
    page.go_back()
    _drawn(page, "popularity")
    page.go_forward()
    _drawn(page, "category")
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "embeddings-colour-history")


def test_a_clicked_item_and_back_and_forward(page, app_url, app_models, demo):
    """Two points clicked in a row, then back and forward walk them, map and star included."""
    _open(page, f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca&item=i0001")
    seen = ["i0001"]
    for position in (40, 400):
        point = _point(page, position)
        page.mouse.click(point["x"], point["y"])
        item = demo.item_id(point["row"])
        page.wait_for_function(
            "id => new URLSearchParams(location.search).get('item') === id", arg=item
        )
        wait_for_app(page)
        seen.append(item)

    def star_is(item: str) -> None:
        """The URL's item, and the map redrawn with its star on that item's point."""
        page.wait_for_function(
            "id => new URLSearchParams(location.search).get('item') === id", arg=item
        )
        wait_for_app(page)
        page.wait_for_function(  # the map's data arrive just after the run ends
            f"""r => {{ const s = {SCATTER}; const star = s.meta.highlight;
            const p = [...s.rows].indexOf(r);
            return star && p >= 0 && Math.abs(star.x - s.xs[p]) < 1e-4
              && Math.abs(star.y - s.ys[p]) < 1e-4; }}""",
            arg=demo.item_index(item),
            timeout=20_000,
        )

    star_is(seen[2])
    page.go_back()
    star_is(seen[1])
    page.go_back()
    star_is(seen[0])
    page.go_forward()
    star_is(seen[1])


SIDEBAR_ITEMS = """() => [...document.querySelectorAll('[data-testid=stSidebar] a[href]')]
  .map(a => new URL(a.getAttribute('href'), location.href).searchParams.get('item'))
  .filter(item => item)"""


def test_an_item_picked_inside_the_map_section_reaches_the_sidebar_links(page, app_url, app_models):
    """Everything below the title reruns alone, but a new item reruns the whole page: the
    sidebar's page links carry the item the map shows."""
    page.goto(f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca&item=i1")
    wait_for_app(page)
    assert set(page.evaluate(SIDEBAR_ITEMS)) == {"i1"}
    seen = ["i1"]
    for _ in range(2):
        page.get_by_test_id("stMain").get_by_role("button", name="Surprise me").click()
        page.wait_for_function(
            "old => !old.includes(new URLSearchParams(location.search).get('item'))", arg=seen
        )
        wait_for_app(page)
        item = page.evaluate("() => new URLSearchParams(location.search).get('item')")
        page.wait_for_function(f"i => ({SIDEBAR_ITEMS})().every(x => x === i)", arg=item)
        assert set(page.evaluate(SIDEBAR_ITEMS)) == {item}
        seen.append(item)
    page.go_back()
    page.wait_for_function(
        "i => new URLSearchParams(location.search).get('item') === i", arg=seen[1]
    )
    wait_for_app(page)
    assert set(page.evaluate(SIDEBAR_ITEMS)) == {seen[1]}


def test_screenshots_at_two_sizes(browser, app_url, app_models, demo):
    for width, height in ((1400, 1000), (1280, 720)):
        context = browser.new_context(viewport={"width": width, "height": height})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        _open(
            tab,
            f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca"
            f"&item={demo.example_item}",
        )
        box = tab.evaluate(
            f"() => document.querySelector('{MAP} canvas').getBoundingClientRect().width"
        )
        assert box > 400  # the map keeps most of the width; the legend moves below if needed
        screenshot(tab, f"embeddings-{width}x{height}")
        context.close()
