"""md_escape and plotly_escape: a string from data renders as itself, never as markup.

What Streamlit does with Markdown (streamlit 1.67, frontend StreamlitMarkdown.tsx): react-markdown
with remark-gfm (autolink literals), remark-math (KaTeX), remark-directive (``:red[...]``,
``:small[...]``, ``:help[...]``, badges), remark-emoji, its own ``:material_x:`` icons and
``:streamlit:`` logo, and typographic arrows. The parsers (CommonMark, GFM, math, directives)
honour backslash escapes; the rest rewrite text nodes *after* parsing, so they are emulated
here with the regular expressions Streamlit ships (checked against the installed bundle below).
The browser check of the same payloads is tests/browser/test_canary_browser.py.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys_core.html import WORD_JOINER, md_escape, plotly_escape
from recsys_core.ui.text import fmt

HOST = "127.0.0.1:8765"
PAYLOADS = [
    f"![x](http://{HOST}/img)",
    f"[Your session expired – sign in again](http://{HOST}/)",
    ":red[alarm]",
    "$x^2$",
    "$$\\int$$",
    f"http://{HOST}/bare",
    "<img src=x onerror=alert(1)>",
    "**bold**",
    "# heading",
    ":material/warning:",
    ":material_warning:",
    ":smile: :+1: :streamlit:",
    "C:\\Users\\new\\table \\\\server\\share \\*",
    "a -> b <- c -- d >= e <= f ~= g <-> h",
    f"www.{HOST}.example and mail@example.org",
    f"<http://{HOST}/angle>",
    "&amp; &lt;b&gt; &copy; &#60;",
    ":small[s] :help[h] :red-badge[b] :color[c]{foreground=red} :shimmer[x]",
    "~~strike~~ `code` _em_ __strong__",
    "- item",
    "1. one",
    "> quote",
    "| a | b |",
    f"[x]: http://{HOST}/ref",
    "[^1] [ref][x]",
    "\\$5 and $6",
    "javascript:alert(1)",
]

ASCII_PUNCTUATION = set(string.punctuation)


def text_node(markdown: str) -> str:
    """What a CommonMark parser leaves of ``markdown`` when it is one plain paragraph: every
    backslash escape of an ASCII punctuation character resolved."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def unescaped_punctuation(markdown: str) -> list[str]:
    """ASCII punctuation characters not preceded by a backslash escape."""
    found, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown) and markdown[i + 1] in ASCII_PUNCTUATION:
            i += 2
            continue
        if markdown[i] in ASCII_PUNCTUATION:
            found.append(markdown[i])
        i += 1
    return found


# What Streamlit rewrites after parsing (copied from its bundle; see test_streamlit_still_...).
STREAMLIT_TEXT_REWRITES = {
    "emoji (remark-emoji)": re.compile(r":\+1:|:-1:|:[\w-]+:", re.ASCII),
    "material icon": re.compile(r":material_(\w+):", re.ASCII),
    "streamlit logo": re.compile(r":streamlit:"),
    "autolink literal url": re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.I),
    "autolink literal email": re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII),
    "typographic symbols": re.compile(r"(^|[\s\ufeff])(<->|->|<-|--|>=|<=|~=)([\s\ufeff]|$)"),
}
# What Streamlit looks for in the raw source before parsing.
STREAMLIT_SOURCE_CHECKS = {
    "material icon prefix": re.compile(r":material/"),
    "emoji plugin trigger": re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:", re.ASCII),
}


def check_literal(value: str) -> None:
    markdown = md_escape(value)
    # one line, no unescaped punctuation: no parser construct can start (emphasis, links,
    # images, autolinks, HTML, entities, code, math, directives, headings, lists, tables)
    assert "\n" not in markdown and "\r" not in markdown
    assert not markdown.startswith("    ")
    assert unescaped_punctuation(markdown) == [], markdown
    node = text_node(markdown)
    # shown as typed (whitespace collapsed, as HTML shows it anyway; word joiners are invisible)
    assert node.replace(WORD_JOINER, "") == re.sub(r"\s+", " ", value)
    for name, pattern in STREAMLIT_TEXT_REWRITES.items():
        assert not pattern.search(node), (name, value, node)
    for name, pattern in STREAMLIT_SOURCE_CHECKS.items():
        assert not pattern.search(markdown), (name, value, markdown)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_literal(payload):
    check_literal(payload)


@pytest.mark.parametrize(
    "payload",
    [
        ":smile:",
        ":material_warning:",
        ":streamlit:",
        "http://h.example/x",
        "www.h.example",
        "mail@example.org",
        "a -> b",
        "x \ufeff-- y",
    ],
)
def test_backslashes_alone_would_not_do(payload):
    """The emulation can fail: escaping punctuation alone leaves these to Streamlit's rewrites
    of parsed text; the word joiners of md_escape are what stops them."""
    only_backslashes = re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", payload)
    assert any(p.search(text_node(only_backslashes)) for p in STREAMLIT_TEXT_REWRITES.values())
    check_literal(payload)


@given(st.text(max_size=60))
def test_any_text_is_literal(value):
    check_literal(value)


@given(st.text(alphabet=":/+-_.@<>=~ abwxyzhtps", max_size=40))
def test_pattern_soup_is_literal(value):
    check_literal(value)


def test_word_joiners_only_where_needed():
    assert md_escape("plain words 123") == "plain words 123"
    assert md_escape("12:00 a-b") == "12\\:00 a\\-b"
    assert WORD_JOINER not in md_escape("see: this, a -b")
    assert md_escape(None) == ""
    assert md_escape(1200) == "1200"


def test_whitespace_never_starts_a_block():
    assert md_escape("line one\n# two\r\n    three\tfour") == "line one \\# two three four"
    assert md_escape("a\n===") == "a \\=\\=\\="


def test_fmt_escapes_arguments_not_the_template():
    assert fmt("**Tags:** {}", "*x*") == "**Tags:** \\*x\\*"
    assert fmt("No item matches {!r}.", "[a](b)") == "No item matches \\'\\[a\\]\\(b\\)\\'."
    assert fmt("{:,} likes", 1200) == "1\\,200 likes"
    assert fmt("{name} by {algo}", name="$x$", algo="als") == "\\$x\\$ by als"


def test_plotly_escape_leaves_no_tag():
    for payload in PAYLOADS + ['<a href="http://h/">x</a>', "<b>b</b><br>", "a&b"]:
        escaped = plotly_escape(payload)
        assert "<" not in escaped and ">" not in escaped
        # plotly decodes &amp; &lt; &gt; (not &quot;, which is why quotes stay as they are)
        decoded = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert decoded == payload
    assert plotly_escape("\"q\" 's'") == "\"q\" 's'"
    assert plotly_escape(None) == ""


def _bundle() -> str | None:
    import streamlit

    folder = Path(streamlit.__file__).parent / "static" / "static" / "js"
    found = sorted(folder.glob("StreamlitMarkdown.*.js"))
    return found[0].read_text(encoding="utf-8") if found else None


def test_streamlit_still_rewrites_what_we_emulate():
    """If a Streamlit upgrade changes its Markdown plugins, md_escape needs a look: the
    emulated rewrites above must still be the ones the installed frontend bundle runs."""
    bundle = _bundle()
    if bundle is None:
        pytest.skip("streamlit's frontend bundle is not where 1.67 keeps it")
    for source in (
        r"/:material_(\w+):/g",
        r"/:streamlit:/g",
        r"[/(^|\s)->(\s|$)/g,",
        r"/(https?:\/\/|www(?=\.))([-.\w]+)([^ \t\r\n]*)/gi",
        r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)/gu",
        r"replaceAll(`:material/`,`:material_`)",
        r"/:(?!material\/|streamlit:)[\w+-][\w_+-]*:/",
    ):
        assert source in bundle, source
    folder = Path(__import__("streamlit").__file__).parent / "static" / "static" / "js"
    emoji = "".join(p.read_text(encoding="utf-8") for p in folder.glob("remark-emoji.*.js"))
    assert r"/:\+1:|:-1:|:[\w-]+:/g" in emoji
