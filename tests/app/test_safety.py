"""User-generated text never becomes markup: an item named like an XSS payload stays text."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest

from recsys_core.datasets import load_dataset
from recsys_core.html import md_escape
from recsys_core.training import train

from .helpers import html_blocks, open_page

EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_TAG = '"><script>alert(2)</script>'


def evil_files(folder, n_users=40):
    """A small dataset whose most popular item has a malicious name, tag and link."""
    rows = []
    for user in range(n_users):
        rows.append((f"u{user}", "evil"))
        for item in range(user % 5, user % 5 + 4):
            rows.append((f"u{user}", f"it{item}"))
    likes = folder / "evil_likes.csv"
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(likes, index=False)
    items = folder / "evil_items.csv"
    meta = [("evil", EVIL_NAME, EVIL_TAG, "javascript:alert(3)", "<b>bold</b>")]
    meta += [
        (f"it{i}", f"Plain item {i}", "plain", "https://example.org/x", "Things") for i in range(9)
    ]
    columns = ["item_id", "name", "tags", "url", "category"]
    pd.DataFrame(meta, columns=columns).to_csv(items, index=False)
    return likes, items


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evil")
    likes, items = evil_files(folder)
    from recsys_core.datasets import tabular

    dataset = tabular.load_file(likes, items_path=items)
    assert EVIL_NAME in dataset.items["name"].tolist()
    result = train(
        dataset,
        "item-knn",
        {"K": 10},
        source={"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}},
    )
    return likes, items, dataset, result.model_id


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def test_evil_names_stay_text_in_the_app(evil):
    likes, items, dataset, model_id = evil
    at = open_page("similar", dataset=str(likes), model=model_id, item="it1")
    assert not at.exception
    blocks = [b for b in html_blocks(at) if "rx-grid" in b]
    assert blocks, [e.value for e in [*at.error, *at.warning, *at.info]]
    body = "".join(blocks)
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # shown, as text
    parser = Elements()
    parser.feed(body)
    for tag, attrs in parser.elements:
        assert tag != "script"
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs.get("src", "").startswith(("data:image/", "http")), attrs
            assert attrs.get("src") != "x"
        for value in attrs.values():
            assert "javascript:" not in (value or "").lower()
    assert not any(tag == "b" for tag, _ in parser.elements)


def test_evil_item_selected_panel_is_escaped(evil):
    likes, items, dataset, model_id = evil
    at = open_page("similar", dataset=str(likes), model=model_id, item="evil")
    assert not at.exception
    assert any(md_escape(EVIL_NAME) == s.value for s in at.subheader)  # as text, not markup
    for block in html_blocks(at):
        parser = Elements()
        parser.feed(block)
        assert all(not any(a.startswith("on") for a in attrs) for _, attrs in parser.elements)
    # the javascript: link never becomes a link button
    assert not [b for b in at.get("link_button")]
    assert load_dataset(str(likes), items_path=str(items)).fingerprint == dataset.fingerprint
