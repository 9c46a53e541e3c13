"""A dataset that cannot be downloaded, in Chromium: one sentence in the main area saying what
happened and what to do in the app, no exception text, and the way to the upload form works.

The app runs in a server of its own whose requests go through a proxy on a closed 127.0.0.1
port (``HTTPS_PROXY``, which ``requests`` honours): the download fails as it does on a machine
that is offline, and nothing leaves the loopback interface.
"""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import screenshot, serve_app, wait_for_app

SENTENCE = (
    "Could not download MovieLens 100k: this machine is offline or cannot reach its server. "
    "Use the demo data or upload a file on the Data page."
)
RAW = (
    "ConnectionPool",
    "ProxyError",
    "NameResolution",
    "Max retries",
    "127.0.0.1",
    "grouplens.org",
    "fetch again",
    "python -m",
    "Traceback",
    "Errno",
)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def offline_url(tmp_path_factory):
    """`streamlit run app.py` with an empty RECSYS_HOME, every outside request refused."""
    home = tmp_path_factory.mktemp("offline_home")
    closed = f"http://127.0.0.1:{_port()}"
    proxies = dict(
        HTTPS_PROXY=closed,
        HTTP_PROXY=closed,
        https_proxy=closed,
        http_proxy=closed,
        NO_PROXY="",
        no_proxy="",
    )
    with serve_app(home, RECSYS_FIRST_MODEL="off", **proxies) as url:
        yield url


@pytest.mark.parametrize("size", [(1400, 1000), (1280, 720)], ids=["1400x1000", "1280x720"])
def test_an_offline_download_is_one_sentence_in_the_main_area(browser, offline_url, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{offline_url}/similar?dataset=movielens-100k")
        wait_for_app(page)
        main = page.locator("[data-testid=stMain]")
        sidebar = page.locator("section[data-testid='stSidebar']")
        main.get_by_text("MovieLens 100k is not on this machine yet. Press Download").wait_for()

        sidebar.get_by_role("button", name="Download MovieLens 100k").click()
        error = main.locator("[data-testid='stAlertContentError']")
        error.first.wait_for()
        wait_for_app(page)
        assert error.count() == 1
        text = error.first.locator("[data-testid=stMarkdownContainer]").inner_text()
        assert text.strip() == SENTENCE  # the alert's whole text, its icon aside
        assert sidebar.locator("[data-testid='stAlertContentError']").count() == 0
        shown = page.locator("[data-testid=stApp]").inner_text()
        for raw in RAW:
            assert raw not in shown, raw
        # what the sentence offers is right under it, in view without scrolling
        demo = main.get_by_role("button", name="Use the demo data")
        upload = main.get_by_role("link", name="Upload a file on the Data page")
        for control in (error.first, demo, upload):
            box = control.bounding_box()
            assert box and box["y"] + box["height"] <= size[1], control
        screenshot(page, f"offline-download-{size[0]}x{size[1]}")

        upload.click()
        page.wait_for_url("**/data?**")
        wait_for_app(page)
        query = parse_qs(urlparse(page.url).query)
        assert query.get("dataset") == ["demo"] and query.get("section") == ["upload"]
        assert main.locator("input[type=file]").count() == 2  # interactions, items
        assert main.get_by_role("tab", name="Your own data", selected=True).count() == 1
        screenshot(page, f"offline-upload-{size[0]}x{size[1]}")
    finally:
        context.close()


def test_use_the_demo_data_leaves_the_dataset_that_failed(browser, offline_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{offline_url}/data?dataset=movielens-100k")
        wait_for_app(page)
        page.locator("[data-testid=stMain]").get_by_role("button", name="Use the demo data").click()
        page.wait_for_function(
            "() => new URLSearchParams(location.search).get('dataset') === 'demo'"
        )
        wait_for_app(page)
        page.locator("[data-testid=stMain]").get_by_text("8,000").first.wait_for()
        assert "not on this machine" not in page.locator("[data-testid=stMain]").inner_text()
    finally:
        context.close()
