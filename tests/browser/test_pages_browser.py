"""Every page opens from a link in a real browser; Compare and Users show their grids."""

from __future__ import annotations

import pytest

from recsys_core.datasets import load_dataset

from .conftest import loaded_thumbnails, screenshot, wait_for_app


def test_compare_view_opens_from_a_url(page, app_url, app_models):
    demo = load_dataset("demo")
    models = f"{app_models['als']},{app_models['item-knn']}"
    page.goto(f"{app_url}/compare?dataset=demo&model={models}&item={demo.example_item}&k=8")
    wait_for_app(page)
    page.wait_for_selector(".rx-grid")
    grids = page.locator(".rx-grid").count()
    assert grids >= 2, f"one grid per model, got {grids}"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rx-grid img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 16"
    )
    assert loaded_thumbnails(page) >= 16
    assert page.get_by_text("Jaccard").count() >= 1  # the overlap table
    screenshot(page, "compare")


def test_users_page_shows_history_and_recommendations(page, app_url, app_models):
    demo = load_dataset("demo")
    page.goto(f"{app_url}/users?dataset=demo&model={app_models['als']}&user={demo.example_user}")
    wait_for_app(page)
    page.wait_for_selector(".rx-grid")
    assert page.locator(".rx-grid").count() >= 2  # history and recommendations
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rx-grid')].every(grid => [...grid"
        ".querySelectorAll('img')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0))"
    )
    screenshot(page, "users")


@pytest.mark.parametrize("name", ["start", "embeddings", "evaluate", "data"])
def test_every_page_opens_without_an_exception(page, app_url, app_models, name):
    demo = load_dataset("demo")
    path = "" if name == "start" else name
    page.goto(f"{app_url}/{path}?dataset=demo&model={app_models['als']}&item={demo.example_item}")
    wait_for_app(page)
    page.wait_for_selector("h1")
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, name)
