"""Text is text: names, tags, categories, user and item ids, file names, URL parameters and the
error messages that quote them reach every page escaped (Markdown, HTML and Plotly labels).

A dataset whose strings are Markdown / HTML / KaTeX / directive / shortcode payloads, two models
trained on it, every page opened on it (and with payloads in the URL); then every string the app
sent is checked where it is rendered:

- Markdown fields (messages, captions, headers, labels, tooltips, progress texts, radio and
  segmented-control options): a payload never appears as written, only escaped;
- ``st.html`` blocks: no element or attribute made from a payload;
- Plotly figures: no payload as written in any string (labels are HTML there).

The browser half (a canary server that must receive no request) is
tests/browser/test_canary_browser.py.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pytest

from recsys_core import dataviz
from recsys_core.datasets import tabular
from recsys_core.datasets.uploads import save_upload
from recsys_core.training import train
from recsys_core.ui import grid_component, scatter_component
from recsys_core.ui import text as text_module

from .helpers import open_page, shown

FAKE_HOST = "127.0.0.1:9"  # AppTest renders nothing: no request can be made


def payloads(host: str) -> dict[str, list[str]]:
    """Markup payloads that point at ``host``, by where they go in the data."""
    return {
        "names": [
            f"![x](http://{host}/img)",
            f"[Your session expired – sign in again](http://{host}/)",
            ":red[alarm]",
            "$x^2$",
            "$$\\int$$",
            f"http://{host}/bare",
            "<img src=x onerror=alert(1)>",
            "**bold**",
            "# heading",
            ":material/warning:",
            "C:\\new\\table \\\\share",
            f'<a href="http://{host}/a">link</a>',
        ],
        "categories": [
            f'<a href="http://{host}/cat">cat</a>',
            f"![c](http://{host}/catimg)",
            ":blue[category] $c$",
        ],
        "tags": [
            f"![t](http://{host}/tag)",
            ":violet[tag]",
            "$t$",
            "<b>tag</b>",
            f"http://{host}/tagbare",
        ],
        "users": [
            f"[u](http://{host}/user)",
            ":red[u1]",
            "$u$",
            "<b>u</b>",
        ],
        "item_ids": [f"![id](http://{host}/id)"],
    }


def payload_files(folder, host: str, n_users: int = 48):
    """likes.csv and items.csv whose strings are the payloads (plus plain filler)."""
    found = payloads(host)
    names = found["names"]
    item_ids = found["item_ids"] + [f"i{i}" for i in range(1, len(names) + 4)]
    user_ids = found["users"] + [f"u{u}" for u in range(len(found["users"]), n_users)]
    rows = []
    for position, user in enumerate(user_ids):
        for offset in range(5):
            item = item_ids[(position * 3 + offset * (1 + position % 4)) % len(item_ids)]
            rows.append((user, item))
    likes = folder / "likes.csv"
    pd.DataFrame(rows, columns=["user", "item"]).drop_duplicates().to_csv(likes, index=False)
    meta = []
    for position, item in enumerate(item_ids):
        name = names[position] if position < len(names) else f"Plain item {position}"
        category = found["categories"][position % 4] if position % 4 < 3 else "Plain"
        tags = "|".join(found["tags"][position % 5 : position % 5 + 2]) or "plain"
        meta.append((item, name, tags, category))
    items = folder / "items.csv"
    pd.DataFrame(meta, columns=["item_id", "name", "tags", "category"]).to_csv(items, index=False)
    return likes, items


def train_on(likes, items, algorithms=("item-knn", "als")) -> dict[str, str]:
    """Models recorded with the file (so a link may open it): {algorithm: model id}."""
    dataset = tabular.load_file(likes, items_path=items)
    source = {"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}}
    params = {"item-knn": {"K": 10}, "als": {"factors": 8, "iterations": 3}}
    return {
        name: train(dataset, name, params.get(name, {}), source=source).model_id
        for name in algorithms
    }


# --------------------------------------------------------------------------- what the app sent
PLAIN_FIELDS = {
    # plain text in the browser (checked in Chromium: selectbox and multiselect options are
    # drawn as text, not Markdown), or not text at all
    "options",
    "default",
    "value",
    "values",
    "raw_value",
    "raw_values",
    "placeholder",
    "id",
    "form_id",
    "page",
    "page_script_hash",
    "query_string",
    "url",
    "file_name",
    "mime",
    "data",
    "code_text",
    "language",
    "spec",
    "config",
    "theme",
    "icon",
    "content_icon",
    "type",
    "format",
    "tag",
    "columns",
    "deferred_file_id",
}
MARKDOWN_OPTIONS = {"radio"}  # st.radio draws its options as Markdown (so do segmented controls:
# their options are "options.content" here, not plain)


def _strings(message, path=()):
    """(field path, value) of every string in a protobuf message, recursively."""
    for field, value in message.ListFields():
        name = field.name
        repeated = getattr(field, "is_repeated", None)
        if repeated is None:  # protobuf < 5.28
            repeated = field.label == field.LABEL_REPEATED
        items = value if repeated else [value]
        if field.type == field.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                continue
            for item in items:
                yield from _strings(item, (*path, name))
        elif field.type == field.TYPE_STRING:
            for item in items:
                yield (*path, name), item


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "xlink:href", "poster", "data"}


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def sent(at) -> dict[str, list[tuple[str, str]]]:
    """Every string the app sent, sorted by how the browser renders it."""
    out: dict[str, list[tuple[str, str]]] = {"markdown": [], "html": [], "plotly": []}
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields"):
            continue
        kind = getattr(node, "type", "")
        if kind == "html":
            out["html"].append(("html.body", proto.body))
            continue
        if kind == "plotly_chart":
            out["plotly"].append(("plotly.spec", proto.spec))
            continue
        if kind == "bidi_component" and proto.component_name == grid_component.NAME:
            # a thumbnail grid: its data is HTML (shown by the component's script, ours)
            out["html"].append(("grid.data", json.loads(proto.json)))
            continue
        if kind == "bidi_component" and proto.component_name == scatter_component.NAME:
            # the Embeddings map: names reach it as data and are drawn as text only
            # (textContent, canvas); tests/browser/test_embeddings_browser.py hovers one
            continue
        for path, value in _strings(proto):
            if path[-1] in PLAIN_FIELDS and not (
                path[-1] == "options" and kind in MARKDOWN_OPTIONS
            ):
                continue
            out["markdown"].append((f"{kind}.{'.'.join(path)}", value))
    return out


def _figure_strings(spec: str) -> list[str]:
    found: list[str] = []

    def visit(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in {"hovertemplate", "texttemplate"}:  # ours, with <b>, <br>
                    visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(json.loads(spec))
    return found


def as_written(payload: str, markdown: str) -> bool:
    """Whether ``payload`` occurs in ``markdown`` as written, its first character not escaped
    (``\\# heading`` holds ``# heading``, escaped)."""
    start = markdown.find(payload)
    while start >= 0:
        if start == 0 or markdown[start - 1] != "\\":
            return True
        start = markdown.find(payload, start + 1)
    return False


def assert_text_is_text(at, strings: list[str]) -> str:
    """No payload reaches the page as markup; returns all Markdown as shown (for more checks)."""
    assert not at.exception, at.exception
    drawn = sent(at)
    for where, value in drawn["markdown"]:
        for payload in strings:
            assert not as_written(payload, value), (where, payload, value)
    for _, body in drawn["html"]:
        parser = _Markup()
        parser.feed(body)
        for tag, attrs in parser.elements:
            assert tag not in {"script", "b", "iframe"}, (tag, attrs)
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            for name in URL_ATTRIBUTES & set(attrs):  # no link or source made from a payload
                assert "127.0.0.1:9/" not in (attrs[name] or ""), (tag, attrs)
            assert "127.0.0.1:9/" not in (attrs.get("style") or ""), (tag, attrs)
    for _, spec in drawn["plotly"]:
        for value in _figure_strings(spec):
            assert "<a" not in value and "<img" not in value and "<b>" not in value, value
            for payload in strings:
                if "<" in payload or "&" in payload:
                    assert payload not in value, (payload, value)
    return "\n".join(shown(value) for _, value in drawn["markdown"])


ALL = [p for group in payloads(FAKE_HOST).values() for p in group]


@pytest.fixture(scope="module")
def payload_data(tmp_path_factory):
    likes, items = payload_files(tmp_path_factory.mktemp("payloads"), FAKE_HOST)
    models = train_on(likes, items)
    data = tabular.load_file(likes, items_path=items)
    assert set(payloads(FAKE_HOST)["names"]) <= set(data.items["name"])
    return likes, data, models


def _item(data, name: str) -> str:
    return str(data.items.loc[data.items["name"] == name, "item_id"].iloc[0])


@pytest.mark.parametrize("name", payloads(FAKE_HOST)["names"])
def test_similar_page_shows_each_name_as_text(payload_data, name):
    likes, data, models = payload_data
    at = open_page("similar", dataset=str(likes), model=models["item-knn"], item=_item(data, name))
    text = assert_text_is_text(at, ALL)
    assert [shown(s.value) for s in at.subheader][0] == name  # the selected item's name, as is
    assert name in text


PAGES = [
    ("start", {}),
    ("similar", {}),
    ("similar", {"item": "![id](http://127.0.0.1:9/id)"}),
    ("compare", {}),
    ("compare", {"user": ":red[u1]"}),
    ("users", {"user": "[u](http://127.0.0.1:9/user)"}),
    ("users", {"user": "$u$"}),
    ("embeddings", {"item": "![id](http://127.0.0.1:9/id)", "colour": "category"}),
    ("embeddings", {"item": "i3", "colour": "tag", "tag": "<b>tag</b>"}),
    ("embeddings", {"points": "users", "colour": "category"}),
    ("evaluate", {}),
    ("data", {}),
    ("data", {"section": "categories"}),
]


@pytest.mark.parametrize(("page", "params"), PAGES, ids=lambda v: str(v))
def test_every_page_draws_the_payload_data_as_text(payload_data, page, params):
    likes, data, models = payload_data
    at = open_page(
        page, dataset=str(likes), model=f"{models['als']},{models['item-knn']}", **params
    )
    assert_text_is_text(at, ALL)


URL_PAYLOADS = [
    "[Your session expired – sign in again](http://127.0.0.1:9/)",
    "![x](http://127.0.0.1:9/url)",
    ":red[alarm] $x^2$ <img src=x onerror=alert(1)>",
    "http://127.0.0.1:9/bare :material/warning:",
]


@pytest.mark.parametrize("payload", URL_PAYLOADS)
@pytest.mark.parametrize(
    ("page", "param"),
    [
        ("similar", "item"),
        ("similar", "model"),
        ("users", "user"),
        ("compare", "item"),
        ("compare", "model"),
        ("embeddings", "near"),
        ("embeddings", "tag"),
        ("evaluate", "split"),
        ("data", "dataset"),
        ("start", "dataset"),
    ],
)
def test_url_parameters_are_text(payload_data, payload, page, param):
    likes, data, models = payload_data
    params = {"dataset": str(likes), "model": models["als"], param: payload}
    at = open_page(page, **params)
    assert_text_is_text(at, [*ALL, payload])
    messages = [shown(m.value) for m in [*at.error, *at.warning, *at.info]]
    echoed = [m for m in messages if payload in m]
    if param in {"item", "user", "split"}:  # named back to the person, as typed
        assert echoed, messages


def test_an_upload_named_like_markup_is_text(payload_data):
    likes, data, models = payload_data
    name = ":red[alarm] $x^2$ **bold** <img src=x onerror=alert(1)> [a](http:x) www.x.org :+1:.csv"
    spec = save_upload(likes.read_bytes(), name)
    for page in ("start", "data", "similar"):
        at = open_page(page, dataset=spec)
        text = assert_text_is_text(at, [name, name[:-4]])
        assert name in text, page  # the file's own name, shown as typed


def test_the_checks_can_fail(payload_data, monkeypatch):
    """With the escaping taken out, the same walk catches the payloads: in Markdown (the
    selected item's name), in HTML is not tested here (test_safety.py), and in Plotly labels."""
    likes, data, models = payload_data
    monkeypatch.setattr(text_module, "md_escape", lambda value: "" if value is None else str(value))
    monkeypatch.setattr(dataviz, "plotly_escape", lambda value: str(value))
    at = open_page(
        "similar", dataset=str(likes), model=models["item-knn"], item=_item(data, ALL[0])
    )
    with pytest.raises(AssertionError, match="subheader"):
        assert_text_is_text(at, ALL)
    at = open_page("data", dataset=str(likes), section="categories")
    with pytest.raises(AssertionError, match="<a href"):
        assert_text_is_text(at, [])
