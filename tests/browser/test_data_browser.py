"""The Data page in a real browser: its sections are tabs bound to the URL, so three section
changes in a row each take effect and the back and forward buttons walk them."""

from __future__ import annotations

from .conftest import screenshot, wait_for_app

SHOWN = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  const open = [...main.querySelectorAll('[role=tab]')]
    .filter(t => t.getAttribute('aria-selected') === 'true').map(t => t.innerText.trim());
  const titles = [...main.querySelectorAll('.js-plotly-plot')]
    .map(gd => (gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '');
  return {
    section: new URLSearchParams(location.search).get('section'),
    open: open,
    titles: titles,
    grids: main.querySelectorAll('.rx-grid').length,
    kcore: [...main.querySelectorAll('label')].some(l => l.innerText.includes('per user')),
  };
}"""

EXPECTED = {
    None: {"open": ["Most popular items"], "charts": 0, "grids": 1, "kcore": False},
    "tail": {"open": ["Long tail"], "charts": 2, "grids": 0, "kcore": False},
    "categories": {"open": ["Categories and tags"], "charts": 2, "grids": 0, "kcore": False},
    "kcore": {"open": ["K-core thresholding"], "charts": 0, "grids": 0, "kcore": True},
}


def _shows(page, section: str | None) -> dict:
    page.wait_for_function(
        "s => new URLSearchParams(location.search).get('section') === s", arg=section
    )
    wait_for_app(page)
    want = EXPECTED[section]
    page.wait_for_function(
        f"w => {{ const s = ({SHOWN})(); return s.titles.length === w.charts "
        "&& s.titles.every(t => t) && s.grids === w.grids && s.kcore === w.kcore; }",
        arg=want,
    )
    shown = page.evaluate(SHOWN)
    assert shown["open"] == want["open"], shown
    return shown


def test_three_sections_in_a_row_then_back_twice(page, app_url):
    page.goto(f"{app_url}/data?dataset=demo")
    wait_for_app(page)
    _shows(page, None)
    for label, section in (
        ("Long tail", "tail"),
        ("Categories and tags", "categories"),
        ("K-core thresholding", "kcore"),
    ):
        page.get_by_role("tab", name=label).click()
        _shows(page, section)
    page.go_back()
    titles = _shows(page, "categories")["titles"]
    assert any("categor" in t.lower() for t in titles), titles
    page.go_back()
    titles = _shows(page, "tail")["titles"]
    assert "Interactions per user" in titles[0] and "Interactions per item" in titles[1], titles
    page.go_forward()
    _shows(page, "categories")
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "data-sections")
