"""Safe HTML: user-generated names never become markup, unsafe URLs never reach href / src."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from recsys_core.html import (
    SafeHtml,
    escape,
    safe_href,
    safe_internal_href,
    safe_url,
    thumbnail_card,
    thumbnail_grid_html,
)
from recsys_core.thumbnails import placeholder_data_uri

EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_TAG = '"><script>'


class Collector(HTMLParser):
    """Every start tag with its attributes, and all text, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(markup: str) -> Collector:
    collector = Collector()
    collector.feed(markup)
    collector.close()
    return collector


def tags(collector: Collector) -> list[str]:
    return [tag for tag, _ in collector.elements]


# ---------------------------------------------------------------------------- escape / URLs
def test_escape_quotes_everything_that_matters():
    assert escape('<a href="x">\'&') == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;"
    assert escape(None) == "" and escape(3.5) == "3.5"


@pytest.mark.parametrize(
    "url",
    [
        "https://sketchfab.com/models/abc",
        "http://example.com/a?b=1&c=2",
        "HTTPS://EXAMPLE.COM/",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/svg+xml;base64,PHN2Zy8+",
    ],
)
def test_safe_url_keeps_http_and_data_images(url):
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:,hello",
        "file:///etc/passwd",
        "//evil.example/x.png",
        "/relative/path.png",
        "x.png",
        "https://",
        "http:/evil.example",
        "",
        None,
    ],
)
def test_safe_url_refuses_everything_else(url):
    assert safe_url(url) == ""
    assert safe_href(url) == ""


def test_links_out_refuse_data_uris_and_strip_tabs():
    assert safe_href("data:image/png;base64,iVBORw0KGgo=") == ""
    assert safe_href("https://ex\tample.com/") == "https://example.com/"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("?dataset=demo&item=i1", "?dataset=demo&item=i1"),
        ("/similar?item=i1", "/similar?item=i1"),
        ("//evil.example/", ""),
        ("/\\evil.example/", ""),
        ("/\t/evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("https://example.com/", ""),
        (None, ""),
    ],
)
def test_internal_links_stay_on_the_site(href, expected):
    assert safe_internal_href(href) == expected


# ---------------------------------------------------------------------------- cards
def evil_card(**overrides) -> SafeHtml:
    fields = dict(
        name=EVIL_NAME,
        image_url="javascript:alert(1)",
        score=0.87312,
        category='<b onmouseover="alert(1)">cat</b>',
        url="javascript:alert(1)",
        href="javascript:alert(1)",
        tags=[EVIL_TAG, "<svg/onload=alert(1)>"],
        caption="</div><script>alert(1)</script>",
    )
    fields.update(overrides)
    return thumbnail_card(**fields)


def test_user_strings_never_become_elements_or_attributes():
    grid = thumbnail_grid_html([evil_card(), evil_card(image_url=placeholder_data_uri(EVIL_NAME))])
    found = parse(grid)
    assert set(tags(found)) <= {"style", "div", "span", "img", "a"}
    assert "script" not in tags(found) and "svg" not in tags(found) and "b" not in tags(found)
    assert tags(found).count("img") == 1  # the second card's image only; none from the names
    for tag, attrs in found.elements:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert set(attrs) <= {"class", "style", "src", "alt", "loading", "referrerpolicy",
                              "href", "target", "rel", "title"}, (tag, attrs)
    (img_attrs,) = [attrs for tag, attrs in found.elements if tag == "img"]
    assert img_attrs["src"].startswith("data:image/svg+xml;base64,")
    assert img_attrs["alt"] == EVIL_NAME  # the name is an attribute *value*, intact
    text = "".join(found.text)
    for original in (EVIL_NAME, EVIL_TAG, "</div><script>alert(1)</script>"):
        assert original in text  # shown as text, character for character


def test_javascript_urls_never_reach_href_or_src():
    markup = thumbnail_grid_html([evil_card()])
    found = parse(markup)
    urls = [attrs.get(key) for _, attrs in found.elements for key in ("href", "src")]
    assert all(url is None for url in urls)  # nothing safe was given, so no link and no image
    assert "javascript" not in markup.lower()


def test_a_normal_card_has_its_image_links_score_and_category():
    card = thumbnail_card(
        name="Old chair",
        image_url="https://media.example/c/200.jpeg",
        score=0.87312,
        category="Furniture",
        url="https://sketchfab.com/models/abc",
        href="?dataset=demo&item=i1",
        tags=["wood", "low-poly", "game-ready", "extra"],
        rank=3,
        shared=True,
    )
    found = parse(thumbnail_grid_html([card]))
    (img,) = [attrs for tag, attrs in found.elements if tag == "img"]
    assert img["src"] == "https://media.example/c/200.jpeg" and img["alt"] == "Old chair"
    links = [attrs for tag, attrs in found.elements if tag == "a"]
    inside = [a for a in links if a["href"] == "?dataset=demo&item=i1"]
    assert len(inside) == 2 and all(a["target"] == "_self" for a in inside)  # image and name
    (out,) = [a for a in links if a["href"] == "https://sketchfab.com/models/abc"]
    assert out["target"] == "_blank" and "noopener" in out["rel"]
    text = "".join(found.text)
    assert "0.873" in text and "Furniture" in text and "shared" in text
    assert "extra" not in text  # three tags at most
    classes = [attrs.get("class", "") for _, attrs in found.elements]
    assert "rx-card rx-shared" in classes and "rx-score" in classes and "rx-grid" in classes


def test_the_grid_escapes_anything_that_is_not_a_card():
    found = parse(thumbnail_grid_html([EVIL_NAME, thumbnail_card(name="ok", image_url="")]))
    assert "img" not in tags(found)
    assert EVIL_NAME in "".join(found.text)


def test_an_empty_grid_says_so_safely():
    found = parse(thumbnail_grid_html([], empty_text=EVIL_NAME))
    assert "img" not in tags(found) and EVIL_NAME in "".join(found.text)


@pytest.mark.parametrize(
    ("score", "shown"),
    [(0.87312, "0.873"), (12.3456, "12.3"), (0.0, "0"), (123456.7, "123,457"), (None, None)],
)
def test_score_badge_formatting(score, shown):
    found = parse(thumbnail_card(name="x", image_url="", score=score))
    badges = [i for i, (_, attrs) in enumerate(found.elements) if attrs.get("class") == "rx-score"]
    if shown is None:
        assert not badges
    else:
        assert len(badges) == 1 and shown in "".join(found.text)
