"""The first visit in Chromium: a server on an EMPTY RECSYS_HOME trains the demo's first model by
itself, once, even for two sessions opened at the same time, and Similar items shows its grid of
12 without a click."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys_core import training
from recsys_core.store import ModelStore

from .conftest import screenshot, serve_app, wait_for_app

WATCH = """
window.__seen = {note: false, bar: false};
new MutationObserver(() => {
  const main = document.querySelector('[data-testid=stMain]');
  if (!main) return;
  if (main.innerText.includes('training a first model')) window.__seen.note = true;
  if (main.querySelector('[data-testid=stProgress]')) window.__seen.bar = true;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
"""Records whether the main area ever showed the training note and a progress bar."""


@pytest.fixture(scope="module")
def empty_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("empty_home")


@pytest.fixture(scope="module")
def fresh_url(empty_home):
    """A `streamlit run app.py` on an empty RECSYS_HOME, with the first model allowed."""
    assert not (empty_home / "models").exists() or not any((empty_home / "models").iterdir())
    with serve_app(empty_home, **{training.FIRST_MODEL_ENV: "on"}) as url:
        yield url


def _tab(browser, width=1400, height=1000):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(WATCH)
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    return context, tab


def _grid_of_12(tab) -> list[str]:
    tab.wait_for_function(
        "() => document.querySelectorAll('.rx-grid a.rx-name').length >= 12", timeout=180_000
    )
    wait_for_app(tab)
    return tab.eval_on_selector_all(".rx-grid a.rx-name", "els => els.map(e => e.href)")


def test_two_sessions_on_an_empty_store_get_the_grid_without_a_click_and_one_model(
    browser, fresh_url, empty_home
):
    store = ModelStore(empty_home / "models")
    assert store.list() == []
    first_context, first = _tab(browser)
    second_context, second = _tab(browser, 1280, 720)
    try:
        # two people open the demo at the same moment, before any model exists
        first.goto(f"{fresh_url}/similar?dataset=demo")
        second.goto(f"{fresh_url}/similar?dataset=demo")
        cards = _grid_of_12(first)
        assert len(cards) == 12
        assert len(_grid_of_12(second)) == 12
        screenshot(first, "first-visit-similar-1400x1000")
        screenshot(second, "first-visit-similar-1280x720")
        # the training said so in the main area, with a progress bar
        seen = first.evaluate("window.__seen")
        assert seen["note"] and seen["bar"], seen

        # one model, stored like any other, in both sessions' URLs
        [entry] = store.list()
        assert entry.ok and entry.algorithm == "als" and training.is_first_model(entry.meta)
        for tab in (first, second):
            assert tab.evaluate("new URLSearchParams(location.search).get('model')") == (
                entry.model_id
            )
            assert tab.evaluate("new URLSearchParams(location.search).get('item')")
        # the selected item is shown above its grid
        main = first.locator("[data-testid=stMain]")
        assert main.get_by_text("Most similar", exact=False).count() >= 1

        # a reload (the URL now names the model) and a new visit without it: no second training
        created = entry.created
        first.reload()
        assert len(_grid_of_12(first)) == 12
        assert not first.evaluate("window.__seen")["note"]
        third_context, third = _tab(browser)
        try:
            third.goto(f"{fresh_url}/similar?dataset=demo")
            assert len(_grid_of_12(third)) == 12
            assert not third.evaluate("window.__seen")["note"]
        finally:
            third_context.close()
        assert [(e.model_id, e.created) for e in store.list()] == [(entry.model_id, created)]
    finally:
        first_context.close()
        second_context.close()


def test_start_says_ready_and_links_to_similar_items(browser, fresh_url, empty_home):
    for width, height in ((1400, 1000), (1280, 720)):
        context, tab = _tab(browser, width, height)
        try:
            tab.goto(f"{fresh_url}/?dataset=demo")
            wait_for_app(tab)
            main = tab.locator("[data-testid=stMain]")
            main.get_by_text("Ready.", exact=False).first.wait_for()
            link = main.get_by_role("link", name="Browse similar items")
            href = link.get_attribute("href")
            assert "similar" in href and "dataset=demo" in href and "model=als-" in href
            screenshot(tab, f"first-visit-start-{width}x{height}")
            if width == 1400:
                link.click()
                assert len(_grid_of_12(tab)) == 12
        finally:
            context.close()
    assert len(ModelStore(empty_home / "models").list()) == 1
