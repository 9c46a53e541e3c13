"""In the browser: a malicious item name, tag and link produce no element, attribute or alert."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from recsys_core.datasets import tabular
from recsys_core.training import train

from ..app.test_safety import EVIL_NAME, evil_files
from .conftest import screenshot, wait_for_app


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evil-browser")
    likes, items = evil_files(folder, n_users=41)  # its own model id
    dataset = tabular.load_file(likes, items_path=items)
    source = {"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}}
    return likes, train(dataset, "item-knn", {"K": 10}, source=source).model_id


@pytest.mark.parametrize("item", ["evil", "it1"])
def test_no_markup_from_names_in_the_browser(page, app_url, evil, item):
    likes, model_id = evil
    page.goto(
        f"{app_url}/similar?dataset={quote(str(likes), safe='')}&model={model_id}&item={item}"
    )
    wait_for_app(page)
    page.wait_for_selector(".rx-grid")
    page.wait_for_timeout(500)
    assert page.dialogs == [], f"the page raised alerts: {page.dialogs}"
    # the name is on the page as text
    assert page.get_by_text(EVIL_NAME).count() >= 1
    # and nothing on the page came out of it
    assert page.locator("img[src='x']").count() == 0
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('*')].filter(e => [...e.attributes]"
            ".some(a => a.name.startsWith('on'))).length"
        )
        == 0
    )
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('a[href], img[src]')].filter(e => "
            "(e.getAttribute('href') || e.getAttribute('src')).toLowerCase()"
            ".startsWith('javascript:')).length"
        )
        == 0
    )
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('script')].filter(s => s.textContent"
            ".includes('alert(2)')).length"
        )
        == 0
    )
    screenshot(page, f"safety-{item}")
