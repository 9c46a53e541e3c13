"""Text inside other markups: Streamlit's Markdown and Plotly's labels.

:func:`md_escape` makes any value literal text in Streamlit Markdown (``st.markdown``,
``st.error``, widget labels...), :func:`plotly_escape` in a Plotly label (hover text, ticks,
legends), so a name like ``**bold** :red[x]`` or ``<b>x</b>`` shows as typed.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

__all__ = ["WORD_JOINER", "md_escape", "plotly_escape"]

WORD_JOINER = "\u2060"
"""Invisible, zero-width, no line break: splits a pattern that Streamlit's Markdown rewrites in
already-parsed text (where a backslash escape no longer helps)."""

_WHITESPACE = re.compile(r"\s+")
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Rewritten after parsing, so escapes cannot stop them (Streamlit's StreamlitMarkdown.tsx and
# the remark plugins it runs over text nodes):
_SHORTCODE = re.compile(r":(?=[\w+-]+:)")  # :smile: (remark-emoji), :material_x:, :streamlit:
_SCHEME_SLASHES = re.compile(r":(?=//)")  # http://host (GFM autolink literal)
_WWW = re.compile(r"(www)(?=\.)", re.IGNORECASE)  # www.host (GFM autolink literal)
_EMAIL_AT = re.compile(r"(?<=[-.\w+])@")  # a@b.co (GFM autolink literal -> mailto:)
# " -> " becomes "→" (JavaScript's \s also holds U+FEFF, which Python's does not)
_ARROW = re.compile(r"(?:(?<=[\s\ufeff])|^)(<->|->|<-|--|>=|<=|~=)(?=[\s\ufeff]|$)")


def md_escape(text: Any) -> str:
    """``text`` as literal text inside Streamlit Markdown (``st.markdown``, ``st.error``,
    ``st.caption``, widget labels, ...): it renders exactly as typed, with no markup.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of
    them), which stops emphasis, headings, lists, code, links ``[t](u)``, images ``![x](u)``,
    autolinks ``<u>``, raw HTML and entities, KaTeX ``$...$``, Streamlit's directives
    (``:red[...]``, ``:small[...]``, ``:help[...]``) and its ``:material/icon:`` icons.
    Patterns that Streamlit rewrites *after* parsing, where an escape is gone, get an invisible
    :data:`WORD_JOINER` instead: emoji shortcodes (``:smile:``, ``:material_x:``,
    ``:streamlit:``), bare URLs and e-mail addresses (GFM autolinks) and the typographic
    arrows (``" -> "``). Whitespace, newlines included, becomes one space, so a value never
    starts a new block.

    Parameters
    ----------
    text : Any
        A name, tag, id, file name, URL parameter or error message; None is ``""``.

    Returns
    -------
    str
        Markdown whose rendering is ``text`` (whitespace collapsed; word joiners are invisible).
    """
    if text is None:
        return ""
    value = _WHITESPACE.sub(" ", str(text))
    value = _SHORTCODE.sub(":" + WORD_JOINER, value)
    value = _SCHEME_SLASHES.sub(":" + WORD_JOINER, value)
    value = _WWW.sub(r"\1" + WORD_JOINER, value)
    value = _EMAIL_AT.sub(WORD_JOINER + "@", value)
    value = _ARROW.sub(lambda m: m[1][0] + WORD_JOINER + m[1][1:], value)
    return _ASCII_PUNCTUATION.sub(r"\\\1", value)


def plotly_escape(text: Any) -> str:
    """``text`` as literal text in a Plotly label (hover text, tick labels, legend entries,
    titles, annotations), which Plotly renders as a small HTML subset (``<a href>``, ``<b>``,
    ``<br>``, ``<span style>``...).

    Only ``&``, ``<`` and ``>`` are escaped: Plotly decodes ``&amp;``, ``&lt;`` and ``&gt;``
    but shows ``&quot;`` as typed, and a quote cannot open a tag once ``<`` is escaped.
    None is ``""``.
    """
    if text is None:
        return ""
    return _html.escape(str(text), quote=False)
