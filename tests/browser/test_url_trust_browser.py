"""In the browser: a link that names a server file gets one sentence, and nothing of the file."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from recsys_core.datasets import NOT_AVAILABLE

from .conftest import screenshot, wait_for_app

SECRET = "SECRET-b81c"


@pytest.fixture(scope="module")
def private_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("private-browser") / "private_likes.csv"
    rows = [f"u{u},{SECRET}{(u + j) % 5}" for u in range(20) for j in range(3)]
    path.write_text("user,item\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "where",
    ["similar-etc", "start-traversal", "similar-csv", "data-csv-kcore"],
)
def test_a_link_to_a_server_file_shows_one_sentence(page, app_url, private_csv, where):
    page_name, kind = where.split("-", 1)
    spec = {
        "etc": "/etc/passwd",
        "traversal": "../../../../etc/passwd",
        "csv": str(private_csv),
        "csv-kcore": f"{private_csv}@kcore=1,1",
    }[kind]
    path = "" if page_name == "start" else page_name
    page.goto(f"{app_url}/{path}?dataset={quote(spec, safe='')}&item=1")
    wait_for_app(page)
    page.get_by_text(NOT_AVAILABLE).first.wait_for()
    body = page.inner_text("body")
    assert body.count(NOT_AVAILABLE) == 1
    assert "root:x" not in body and "root:" not in body
    assert SECRET not in body and "private_likes" not in body and "passwd" not in body
    assert page.locator(".rx-grid").count() == 0  # no item grid
    assert page.dialogs == []
    screenshot(page, f"url-trust-{where}")


def test_the_sidebar_leads_back_to_a_dataset(page, app_url):
    page.goto(f"{app_url}/similar?dataset={quote('/etc/passwd', safe='')}")
    wait_for_app(page)
    page.get_by_text(NOT_AVAILABLE).first.wait_for()
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="demo (synthetic demo data)").click()
    page.wait_for_url("**dataset=demo**")
    wait_for_app(page)
    assert NOT_AVAILABLE not in page.inner_text("body")
    assert "root:" not in page.inner_text("body")
