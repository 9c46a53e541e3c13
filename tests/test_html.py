"""Safe HTML: user-generated names never become markup, unsafe URLs never reach href / src."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from recsys_core.html import (
    SafeHtml,
    csv_cell,
    csv_text,
    escape,
    file_name,
    item_picture,
    safe_href,
    safe_internal_href,
    safe_url,
    score_chips,
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
        assert set(attrs) <= {
            "class",
            "style",
            "src",
            "alt",
            "loading",
            "referrerpolicy",
            "href",
            "target",
            "rel",
            "title",
        }, (tag, attrs)
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


# ---------------------------------------------------------------------------- the selected item
def _backgrounds(markup: str) -> list[str]:
    """The url(...) layers of the picture box's background-image, in order."""
    import re

    (box,) = [attrs for tag, attrs in parse(markup).elements if tag == "div"]
    style = box["style"]
    return re.findall(r'url\("([^"]*)"\)', style.split("background-image:", 1)[1])


def test_the_picture_falls_back_to_the_generated_one_under_an_http_image():
    markup = item_picture(
        name="Old chair", image_url="https://img.example/c.jpg", category="Furniture"
    )
    found = parse(markup)
    assert "img" not in tags(found)  # no <img>: nothing that can show a broken-image icon
    (box,) = [attrs for tag, attrs in found.elements if tag == "div"]
    assert box["role"] == "img" and box["aria-label"] == "Old chair"
    assert _backgrounds(markup) == [
        "https://img.example/c.jpg",
        placeholder_data_uri("Old chair", "Furniture"),
    ]  # the image over the item's own generated picture
    generated = item_picture(name="Old chair", image_url=placeholder_data_uri("Old chair"))
    assert _backgrounds(generated) == [placeholder_data_uri("Old chair")]  # nothing to fall to


@pytest.mark.parametrize("url", ["javascript:alert(1)", "", None, "/relative.png", "x"])
def test_the_picture_of_an_unsafe_or_missing_image_is_the_generated_one(url):
    markup = item_picture(name=EVIL_NAME, image_url=url, category=EVIL_TAG)
    assert _backgrounds(markup) == [placeholder_data_uri(EVIL_NAME, EVIL_TAG)]
    assert "javascript" not in markup.lower()


def test_the_picture_url_cannot_leave_its_css_string():
    markup = item_picture(
        name=EVIL_NAME, image_url='https://h/a") ;background:url("x\\ y\'<', category=EVIL_TAG
    )
    found = parse(markup)
    assert set(tags(found)) == {"style", "div"}
    layers = _backgrounds(markup)
    assert layers[0] == "https://h/a%22%29%20;background:url%28%22x%5C%20y%27%3C"
    assert len(layers) == 2
    (box,) = [attrs for tag, attrs in found.elements if tag == "div"]
    assert box["aria-label"] == EVIL_NAME and box["title"] == EVIL_NAME  # values, intact


# ---------------------------------------------------------------------------- chips
def test_chips_show_each_label_with_its_score_as_text():
    markup = score_chips([EVIL_TAG, "wood"], [0.83123, 0.0001])
    found = parse(markup)
    assert set(tags(found)) == {"style", "div", "span"}
    text = "".join(found.text)
    assert EVIL_TAG in text and "0.831" in text and "1.0e-04" in text
    names = [attrs for _, attrs in found.elements if attrs.get("class") == "rx-chip-name"]
    scores = [attrs for _, attrs in found.elements if attrs.get("class") == "rx-chip-score"]
    assert len(names) == len(scores) == 2
    with pytest.raises(ValueError):
        score_chips(["a", "b"], [0.1])  # one score per label
    empty = parse(score_chips([], [], empty_text=EVIL_NAME))
    assert EVIL_NAME in "".join(empty.text) and "img" not in tags(empty)


def test_plain_chips_and_their_link_out():
    found = parse(score_chips(["wood"], link=("Open its page", "https://sketchfab.com/m/1")))
    assert not [a for _, a in found.elements if a.get("class") == "rx-chip-score"]
    (link,) = [attrs for tag, attrs in found.elements if tag == "a"]
    assert link["href"] == "https://sketchfab.com/m/1" and link["target"] == "_blank"
    assert "noopener" in link["rel"]
    bad = parse(score_chips(["wood"], link=("Open", "javascript:alert(1)")))
    assert "a" not in tags(bad)


# ---------------------------------------------------------------------------- CSV exports
@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1:A2)", "'+SUM(A1:A2)"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        ("\r=x", "'\r=x"),
        ('  =HYPERLINK("http://x")', '\'  =HYPERLINK("http://x")'),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-42", "-42"),
        ("+3.5e2", "+3.5e2"),
        ("Plain = name", "Plain = name"),
        ("", ""),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_csv_cells_never_run_as_formulas(value, written):
    assert csv_cell(value) == written


def test_csv_text_neutralises_every_text_column_and_keeps_numbers():
    import csv
    import io

    import pandas as pd

    frame = pd.DataFrame(
        {
            "name": ["=1+1", "ok"],
            "category": ["@x", "Lamps"],
            "score": [-0.5, 2.0],
            "rank": [1, 2],
            "=header": ["a", "b"],
        }
    )
    rows = list(csv.reader(io.StringIO(csv_text(frame))))
    assert rows[0] == ["name", "category", "score", "rank", "'=header"]
    assert rows[1] == ["'=1+1", "'@x", "-0.5", "1", "a"]
    assert rows[2] == ["ok", "Lamps", "2.0", "2", "b"]


def test_file_names_keep_only_safe_characters():
    assert file_name("similar", "i42", "ALS (WRMF)") == "similar-i42-ALS-WRMF.csv"
    assert file_name("user", "../../etc/passwd", EVIL_NAME) == (
        "user-etc-passwd-img-src-x-onerror-alert-1.csv"
    )
    assert file_name("", "...") == "download.csv"
    assert len(file_name("x" * 500)) <= 44
