"""The Embeddings page in a real browser: every item drawn, a click shows the item's neighbours."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from .conftest import screenshot, wait_for_app

ITEM_POINTS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  return gd._fullData.filter(t => t.meta === 'items').reduce((n, t) => n + t.x.length, 0);
}"""

A_POINT = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const layout = gd._fullLayout;
  const trace = gd._fullData.find(t => t.meta === 'items' && t.x.length > 10);
  const i = 5, box = gd.getBoundingClientRect();
  return {
    x: box.left + layout._size.l + layout.xaxis.l2p(trace.x[i]),
    y: box.top + layout._size.t + layout.yaxis.l2p(trace.y[i]),
    row: trace.customdata[i][0],
  };
}"""


def test_scatter_has_every_item_and_a_click_shows_neighbours(page, app_url, app_models):
    demo = load_dataset("demo")
    page.goto(f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullData")
    assert page.evaluate(ITEM_POINTS) == demo.n_items

    point = page.evaluate(A_POINT)
    page.mouse.move(point["x"], point["y"])
    page.wait_for_timeout(300)
    page.mouse.click(point["x"], point["y"])
    expected = demo.item_id(int(point["row"]))
    page.wait_for_function(
        "id => new URLSearchParams(location.search).get('item') === id", arg=expected,
        timeout=60_000,
    )
    wait_for_app(page)
    page.wait_for_selector(".rx-grid a.rx-name")
    shown = [
        parse_qs(urlparse(href).query).get("item", [""])[0]
        for href in page.eval_on_selector_all(
            ".rx-grid a.rx-name", "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    model = ModelStore().load(app_models["als"], demo)
    neighbours, _ = model.similar_items(demo.item_index(expected), 5)
    assert {demo.item_id(i) for i in neighbours} <= set(shown)
    screenshot(page, "embeddings-clicked")


ITEM_TRACES = """() => {
  const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');
  return gd._fullData.filter(t => t.meta === 'items').map(t => t.name);
}"""


def _colour_param(page) -> str | None:
    return page.evaluate("() => new URLSearchParams(location.search).get('colour')")


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
        None: lambda names: len(names) > 2 and "likes" not in names,  # planted groups
        "popularity": lambda names: names == ["likes"],
        "category": lambda names: len(names) > 2 and not any("tagged" in n for n in names),
        "tag": lambda names: len(names) == 2 and names[1].startswith("tagged "),
    }[colour]
    page.wait_for_function(f"() => {{ try {{ return ({ITEM_TRACES})().length; }} "
                           "catch (e) { return 0; } }")
    names = page.evaluate(ITEM_TRACES)
    for _ in range(50):  # the figure is redrawn just after the run ends
        if expected(names):
            break
        page.wait_for_timeout(100)
        names = page.evaluate(ITEM_TRACES)
    assert expected(names), (colour, names)
    shown = page.get_by_test_id("stMain").get_by_role("combobox", name="Colour by")
    label = {None: "Planted group (demo)", "popularity": "Popularity (log)",
             "category": "Category", "tag": "A tag"}[colour]
    assert shown.input_value() == label


def test_three_colourings_in_a_row_then_back_twice(page, app_url, app_models):
    page.goto(f"{app_url}/embeddings?dataset=demo&model={app_models['als']}&proj=pca")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot")
    _drawn(page, None)
    for label, colour in (("Popularity (log)", "popularity"), ("Category", "category"),
                          ("A tag", "tag")):
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


SIDEBAR_ITEMS = """() => [...document.querySelectorAll('[data-testid=stSidebar] a[href]')]
  .map(a => new URL(a.getAttribute('href'), location.href).searchParams.get('item'))
  .filter(item => item)"""


def test_an_item_picked_inside_the_map_section_reaches_the_sidebar_links(page, app_url,
                                                                           app_models):
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
