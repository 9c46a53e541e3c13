"""In Chromium: markup in data and in URLs is shown as text, and makes no request anywhere.

A canary HTTP server on loopback records every request. The dataset's item names, tags,
categories and user and item ids, an upload's file name and the URL parameters hold Markdown /
HTML / KaTeX / directive / shortcode payloads that point at it (images, links, bare URLs). Every
page is visited; then the canary must have received nothing, no element may link to or load
from it (``href``, ``src``, SVG ``xlink:href`` of Plotly labels included), and each payload is on
the page as its literal text. The AppTest half: tests/app/test_text_is_text.py.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlencode

import pytest

from recsys_core.datasets import tabular
from recsys_core.datasets.uploads import save_upload, upload_files
from recsys_core.html import WORD_JOINER

from ..app.test_text_is_text import payload_files, payloads, train_on
from .conftest import screenshot, wait_for_app


class Canary:
    """A loopback HTTP server that answers anything and remembers every request."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            do_POST = do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canary():
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory, canary, app_url):
    """The payload dataset (pointing at the canary), its models, and an upload whose file name
    is markup (a file name has no slash, but to a browser ``http:host`` is ``http://host/``)."""
    likes, items = payload_files(tmp_path_factory.mktemp("canary"), canary.host, n_users=50)
    models = train_on(likes, items)
    data = tabular.load_file(likes, items_path=items)
    upload_name = (
        f"![i](http:{canary.host}) [sign in](http:{canary.host}) :red[a] $x^2$ <img src=x>.csv"
    )
    upload = save_upload(likes.read_bytes(), upload_name)
    assert upload_files(upload)[2] == upload_name  # kept as given
    return {
        "likes": str(likes),
        "data": data,
        "models": models,
        "upload": upload,
        "upload_name": upload_name,
    }


@pytest.fixture
def watched(page, canary):
    """The page, with every request the browser makes to the canary recorded."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if canary.host in r.url else None)
    page.canary_requests = asked
    return page


def url(app_url: str, path: str, **params: str) -> str:
    return f"{app_url}/{path}?{urlencode(params, quote_via=quote)}"


REFERENCES = """(host) => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const name of ['href', 'src', 'srcset', 'action', 'formaction', 'poster', 'data',
                        'xlink:href']) {
      const value = el.getAttribute(name);
      if (!value) continue;
      let target = null;
      try { target = new URL(value, location.href).host; } catch (e) { continue; }
      if (target === host || value.includes(host))
        found.push(`${el.tagName} ${name}=${value}`);
    }
    const style = el.getAttribute('style') || '';
    if (style.includes(host)) found.push(`${el.tagName} style=${style}`);
  }
  return found;
}"""


def visit(page, address: str, canary: Canary) -> str:
    """Open a page; check that nothing on it points at or loaded from the canary; return its
    visible text (word joiners removed: they are invisible)."""
    page.goto(address)
    wait_for_app(page)
    page.wait_for_timeout(700)  # images and fonts
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.dialogs == [], page.dialogs
    assert page.evaluate(REFERENCES, canary.host) == []
    assert page.canary_requests == [], page.canary_requests
    assert canary.hits == [], canary.hits
    math = page.evaluate(
        "() => [...document.querySelectorAll('.katex annotation')].map(a => a.textContent)"
    )
    assert not set(math) & {"x^2", "\\int", "t", "u", "c"}, math
    return page.evaluate("() => document.body.innerText").replace(WORD_JOINER, "")


def headers(page) -> list[str]:
    texts = page.evaluate(
        "() => [...document.querySelectorAll('h1, h2, h3, h4')].map(h => h.innerText)"
    )
    return [t.replace(WORD_JOINER, "").strip() for t in texts]


def plot_texts(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent)"
    )


def test_each_item_name_is_its_own_text(watched, app_url, canary, world):
    data = world["data"]
    for name in payloads(canary.host)["names"]:
        row = data.items.loc[data.items["name"] == name].iloc[0]
        text = visit(
            watched,
            url(
                app_url,
                "similar",
                dataset=world["likes"],
                model=world["models"]["item-knn"],
                item=str(row["item_id"]),
            ),
            canary,
        )
        assert name in headers(watched), (name, headers(watched))
        # the panel's facts line ("**category** · N interactions · id X") and one chip per tag
        assert f"{row['category']} · " in text
        assert f"interactions · id {row['item_id']}" in text
        chips = watched.eval_on_selector_all(
            ".rx-chip-name", "chips => chips.map(c => c.textContent)"
        )
        for tag in row["tags"]:
            assert str(tag) in chips, (tag, chips)
    screenshot(watched, "canary-similar")


def test_every_page_with_the_payload_data(watched, app_url, canary, world):
    data, models = world["data"], world["models"]
    both = f"{models['als']},{models['item-knn']}"
    odd_id = payloads(canary.host)["item_ids"][0]
    odd_name = str(data.items.loc[data.items["item_id"] == odd_id, "name"].iloc[0])
    base = {"dataset": world["likes"], "model": both}

    visit(watched, url(app_url, "", **base), canary)

    text = visit(watched, url(app_url, "compare", **base, item=odd_id), canary)
    assert odd_name in text  # the compared item's header (HTML), as text

    for user in payloads(canary.host)["users"]:
        text = visit(watched, url(app_url, "users", **base, user=user), canary)
        assert f"User {user} · " in text, user

    pca = {"proj": "pca", "colour": "category"}
    visit(watched, url(app_url, "embeddings", **base, **pca, item=odd_id), canary)
    assert odd_name in headers(watched)
    legend = watched.eval_on_selector_all(  # the canvas map's legend (scatter_component)
        ".rx-sc-legend .rx-sc-name", "names => names.map(n => n.textContent)"
    )
    for category in payloads(canary.host)["categories"]:
        assert category in legend, (category, legend)  # the legend entry, literally
    hover = _hover_the_star(watched)
    assert odd_name in hover, hover
    assert watched.evaluate(REFERENCES, canary.host) == []
    screenshot(watched, "canary-embeddings")

    visit(watched, url(app_url, "embeddings", **base, **pca, points="users"), canary)
    visit(watched, url(app_url, "evaluate", **base), canary)

    visit(watched, url(app_url, "data", **base), canary)  # the most popular items
    visit(watched, url(app_url, "data", **base, section="categories"), canary)
    bars = plot_texts(watched)
    for category in payloads(canary.host)["categories"]:
        assert category in bars, (category, bars)  # the category axis, literally
    for tag in payloads(canary.host)["tags"]:
        assert tag in bars, (tag, bars)
    screenshot(watched, "canary-data")
    assert canary.hits == []


def _hover_the_star(page) -> str:
    """Move the mouse over the selected item's star on the (canvas) map; the tooltip's text."""
    point = page.evaluate(
        """() => {
          const map = document.querySelector('.rx-scatter').rxScatter;
          const at = map.screenOfData(map.meta.highlight.x, map.meta.highlight.y);
          return [at.x, at.y];
        }"""
    )
    page.mouse.move(point[0] - 30, point[1] - 30)
    page.mouse.move(point[0], point[1], steps=5)
    page.wait_for_selector(".rx-sc-tip:not([hidden])", timeout=10_000)
    return page.evaluate("() => document.querySelector('.rx-sc-tip').textContent")


URL_PAYLOADS = [
    "[Your session expired – sign in again](http://{host}/)",
    "![x](http://{host}/url.png)",
    "http://{host}/bare :red[alarm] $x^2$ :material/warning:",
    "<img src=http://{host}/tag.png> <a href=http://{host}/>a</a>",
]


@pytest.mark.parametrize("template", URL_PAYLOADS)
def test_url_parameters_stay_text(watched, app_url, canary, world, template):
    payload = template.format(host=canary.host)
    models = world["models"]
    base = {"dataset": world["likes"], "model": models["als"]}
    for path, param in (("similar", "item"), ("users", "user"), ("evaluate", "split")):
        text = visit(watched, url(app_url, path, **{**base, param: payload}), canary)
        assert payload in text, (path, param)  # named back, as typed
    for path, param in (
        ("compare", "model"),
        ("embeddings", "near"),
        ("embeddings", "tag"),
        ("", "dataset"),
        ("data", "dataset"),
    ):
        visit(watched, url(app_url, path, **{**base, param: payload}), canary)
    screenshot(watched, f"canary-url-{URL_PAYLOADS.index(template)}")


def test_an_upload_named_like_markup(watched, app_url, canary, world):
    label = world["upload_name"]
    for path in ("", "data"):
        text = visit(watched, url(app_url, path, dataset=world["upload"]), canary)
        assert label in headers(watched), headers(watched)
        assert f"Uploaded in the app: {label}." in text
    screenshot(watched, "canary-upload")
