"""Uploading a file in the browser: a good file becomes the dataset, a bad one gets one sentence."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from .conftest import screenshot, wait_for_app

LIKES = "user,item\n" + "".join(f"u{u},i{(u * 3 + j) % 17}\n" for u in range(30) for j in range(4))
ITEMS = "item_id,name,category\n" + "".join(f"i{i},Uploaded thing {i},Things\n" for i in range(17))


def _upload(page, app_url, files):
    page.goto(f"{app_url}/?dataset=demo")
    wait_for_app(page)
    page.get_by_text("Upload interactions").click()
    inputs = page.locator("section[data-testid='stSidebar'] input[type=file]")
    for position, (name, text) in enumerate(files):
        inputs.nth(position).set_input_files(
            files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
        )
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Use this data").click()


def test_a_good_upload_becomes_the_current_dataset(page, app_url, app_models):
    _upload(page, app_url, [("likes.csv", LIKES), ("items.csv", ITEMS)])
    page.wait_for_function(
        "() => (new URLSearchParams(location.search).get('dataset') || '').startsWith('upload:')"
    )
    wait_for_app(page)
    sidebar = page.locator("section[data-testid='stSidebar']")
    sidebar.get_by_text("30 users").wait_for()
    assert "likes.csv: 30 users" in sidebar.inner_text()
    spec = parse_qs(urlparse(page.evaluate("location.href")).query)["dataset"][0]
    assert spec.startswith("upload:")
    screenshot(page, "upload")


def test_a_bad_upload_gets_one_sentence_and_keeps_the_demo(page, app_url, app_models):
    _upload(page, app_url, [("bad.csv", "customer,sku\nu1,a\n")])
    error = page.locator("section[data-testid='stSidebar'] [data-testid='stAlertContentError']")
    error.first.wait_for()
    assert "column" in error.first.inner_text().lower()
    assert parse_qs(urlparse(page.evaluate("location.href")).query).get("dataset") == ["demo"]
