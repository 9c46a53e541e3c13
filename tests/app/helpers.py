"""Helpers for AppTest page tests: open a page with query parameters, read what it drew."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def open_page(page: str, **params: str) -> AppTest:
    """Run app.py's navigation on ``pages/<page>.py`` with the given query parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    return at


def html_blocks(at: AppTest) -> list[str]:
    """The markup of every ``st.html`` block and thumbnail grid, in page order per kind.

    Thumbnail grids are a component (recsys_core/ui/grid_component.py), which AppTest does not
    run: their markup is the component's data.
    """
    from recsys_core.ui.grid_component import NAME

    blocks = [element.proto.body for element in at.get("html")]
    for element in at.get("bidi_component"):
        if element.proto.component_name == NAME:
            blocks.append(json.loads(element.proto.json))
    return blocks


class _Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.names: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._in_name = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "a" and "rx-name" in (attributes.get("class") or ""):
            self.links.append(attributes.get("href") or "")
            self._in_name = True
            self.names.append("")

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_name = False

    def handle_data(self, data):
        if self._in_name:
            self.names[-1] += data


def cards(block: str) -> _Cards:
    """Parse a thumbnail grid: card links (href) and names, and every element seen."""
    parser = _Cards()
    parser.feed(block)
    for i, name in enumerate(parser.names):
        parser.names[i] = re.sub(r"^\d+", "", name).strip()
    return parser


def grid_item_ids(block: str) -> list[str]:
    """The item ids the cards of a grid link to, in order."""
    from urllib.parse import parse_qs, urlparse

    return [parse_qs(urlparse(href).query).get("item", [""])[0] for href in cards(block).links]


def shown(markdown: str) -> str:
    """The text a Markdown value made of escaped text (``recsys_core.html.md_escape``) shows:
    backslash escapes resolved, word joiners dropped."""
    from recsys_core.html import WORD_JOINER

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")
