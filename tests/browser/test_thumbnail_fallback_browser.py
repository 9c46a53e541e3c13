"""A broken direct ``image_url`` shows the item's placeholder picture, never a broken-image icon.

An upload whose items file points three items' ``image_url`` at a loopback server: one at a 404,
one at a port nobody listens on, one at a working copy of the placeholder picture. On the Data
page's grid the two broken ones must look exactly like the working one (the fallback is drawn by
CSS under Streamlit's sanitiser, which strips ``onerror``).
"""

from __future__ import annotations

import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

import numpy as np
import pytest
from PIL import Image

from recsys_core.thumbnails import placeholder_data_uri, placeholder_svg

from .conftest import screenshot, wait_for_app

NAME, CATEGORY = "Broken lamp", "Lamps"


class ImageServer:
    """Serves the placeholder SVG at ``/good.svg`` and 404 for anything else; records paths."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        svg = placeholder_svg(NAME, CATEGORY).encode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.paths.append(self.path)
                if self.path == "/good.svg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/svg+xml")
                    self.send_header("Content-Length", str(len(svg)))
                    self.end_headers()
                    self.wfile.write(svg)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def images():
    server = ImageServer()
    yield server
    server.close()


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _files(origin: str) -> tuple[str, str]:
    # x0..x2 are the most liked, so they lead the Data page's "Most popular items"; no id is
    # a prefix of another (the cards are found by their links' item=...)
    likes = "user,item\n" + "".join(
        f"u{u},{'x' if i < 3 else 't'}{i}\n" for u in range(30) for i in (0, 1, 2, 3 + u % 9)
    )
    urls = {
        0: f"{origin}/missing.png",  # 404
        1: f"http://127.0.0.1:{_dead_port()}/offline.png",  # connection refused
        2: f"{origin}/good.svg",  # the same picture, served
    }
    items = "item_id,name,category,image_url\n" + "".join(
        f"{'x' if i < 3 else 't'}{i},{NAME if i < 3 else f'Thing {i}'},{CATEGORY},"
        f"{urls.get(i, '')}\n"
        for i in range(12)
    )
    return likes, items


def _thumb(page, item: str):
    return page.locator(f".rx-card:has(a.rx-name[href*='item={item}']) .rx-thumb")


def _pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), dtype=float)


def test_a_broken_image_url_shows_the_placeholder(page, app_url, app_models, images):
    likes, items = _files(images.origin)
    page.goto(f"{app_url}/?dataset=demo")
    wait_for_app(page)
    page.get_by_text("Upload interactions").click()
    inputs = page.locator("section[data-testid='stSidebar'] input[type=file]")
    for position, (name, text) in enumerate([("lamps.csv", likes), ("lamps-items.csv", items)]):
        inputs.nth(position).set_input_files(
            files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
        )
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Use this data").click()
    page.wait_for_function(
        "() => (new URLSearchParams(location.search).get('dataset') || '').startsWith('upload:')"
    )
    spec = parse_qs(urlparse(page.url).query)["dataset"][0]

    page.goto(f"{app_url}/data?dataset={quote(spec)}")
    wait_for_app(page)
    for item in ("x0", "x1", "x2"):
        _thumb(page, item).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('.rx-grid img')];"
        " return imgs.length >= 3 && imgs.every(i => i.complete); }"
    )
    page.wait_for_timeout(300)

    state = {
        item: page.evaluate(
            "img => { const before = getComputedStyle(img, '::before');"
            " const box = img.getBoundingClientRect();"
            " return {natural: img.naturalWidth, content: before.content,"
            " background: before.backgroundImage, width: box.width, height: box.height,"
            " beforeWidth: parseFloat(before.width), beforeHeight: parseFloat(before.height)}; }",
            _thumb(page, item).locator("img").element_handle(),
        )
        for item in ("x0", "x1", "x2")
    }
    assert "/missing.png" in images.paths  # the browser did ask, and got a 404
    placeholder = placeholder_data_uri(NAME, CATEGORY)
    for item in ("x0", "x1"):  # broken: the ::before box covers the whole image
        seen = state[item]
        assert seen["natural"] == 0, seen
        assert seen["content"] not in ("none", "normal"), seen
        assert placeholder in seen["background"], seen["background"][:80]
        assert seen["width"] > 100 and seen["height"] > 70, seen
        assert seen["beforeWidth"] == pytest.approx(seen["width"], abs=0.01), seen
        assert seen["beforeHeight"] == pytest.approx(seen["height"], abs=0.01), seen
    assert state["x2"]["natural"] > 0  # loaded: a replaced element, no ::before box drawn

    # what the user sees: each broken card is the served picture, pixel for pixel (no icon)
    served = _pixels(_thumb(page, "x2"))
    assert served.std() > 10  # a picture, not a flat colour
    for item in ("x0", "x1"):
        shown = _pixels(_thumb(page, item))
        assert abs(shown.shape[0] - served.shape[0]) <= 1 >= abs(shown.shape[1] - served.shape[1])
        # the cards sit at fractional x positions: compare the common area, edges left out
        height, width = min(shown.shape[0], served.shape[0]), min(shown.shape[1], served.shape[1])
        diff = np.abs(shown[2 : height - 2, 2 : width - 2] - served[2 : height - 2, 2 : width - 2])
        assert diff.mean() < 3.0, (item, diff.mean())
        assert (diff.max(axis=2) > 80).mean() < 0.01, (item, (diff.max(axis=2) > 80).mean())

    _thumb(page, "x0").screenshot(path="/tmp/thumbnail_fallback_card.png")
    page.screenshot(path="/tmp/thumbnail_fallback.png", full_page=True)
    screenshot(page, "thumbnail-fallback")
