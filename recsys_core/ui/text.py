"""Text from data, files and URLs, drawn as text: Streamlit's text elements with escaping.

Streamlit renders Markdown (links, images, KaTeX, ``:red[...]`` directives, emoji and icon
shortcodes, bare URLs) in ``st.markdown``, ``st.caption``, ``st.error`` / ``warning`` /
``info`` / ``success``, ``st.toast``, headers, widget labels, ``help`` tooltips, progress
texts and the options of ``st.radio``, ``st.segmented_control`` and ``st.pills`` (not those of
``st.selectbox`` or ``st.multiselect``, which are plain text, nor ``st.dataframe`` cells).
An item name, tag, category, user id, file name, URL parameter or an error message that may
quote one goes through :func:`recsys_core.html.md_escape` on its way there:

- a message that is all plain text: ``text.error(str(error))``, ``text.caption(...)``;
- our Markdown around such values: ``st.markdown(text.fmt("**Tags:** {}", tags))``, where
  :func:`fmt` escapes every argument (after its format spec and ``!r``) and not the template.
"""

from __future__ import annotations

import string
from typing import Any

import streamlit as st

from ..html import md_escape

__all__ = [
    "caption",
    "error",
    "fmt",
    "info",
    "md_escape",
    "subheader",
    "success",
    "toast",
    "warning",
    "write",
]


class _Escaping(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return md_escape(format(value, format_spec))


_FORMATTER = _Escaping()


def fmt(template: str, /, *args: Any, **kwargs: Any) -> str:
    """``template.format(*args, **kwargs)`` with every argument escaped for Markdown.

    The template is ours (it may hold Markdown); the arguments are shown as typed:
    ``fmt("No item matches {!r}.", "[x](http://h/)")`` renders the brackets and the URL as
    text, and ``fmt("{:,} likes", 1200)`` is ``1\\,200 likes`` (drawn as ``1,200 likes``).
    """
    return _FORMATTER.format(template, *args, **kwargs)


def error(message: Any, *, icon: str | None = None) -> None:
    """``st.error`` of a plain-text message (e.g. ``str(user_error)``), escaped."""
    st.error(md_escape(message), icon=icon)


def warning(message: Any, *, icon: str | None = None) -> None:
    """``st.warning`` of a plain-text message, escaped."""
    st.warning(md_escape(message), icon=icon)


def info(message: Any, *, icon: str | None = None) -> None:
    """``st.info`` of a plain-text message, escaped."""
    st.info(md_escape(message), icon=icon)


def success(message: Any, *, icon: str | None = None) -> None:
    """``st.success`` of a plain-text message, escaped."""
    st.success(md_escape(message), icon=icon)


def caption(message: Any) -> None:
    """``st.caption`` of plain text, escaped."""
    st.caption(md_escape(message))


def write(message: Any) -> None:
    """A paragraph of plain text (``st.markdown``, escaped)."""
    st.markdown(md_escape(message))


def subheader(message: Any) -> None:
    """``st.subheader`` of plain text (an item's name, a dataset's label), no anchor."""
    st.subheader(md_escape(message), anchor=False)


def toast(message: Any, *, icon: str | None = None) -> None:
    """``st.toast`` of a plain-text message, escaped."""
    st.toast(md_escape(message), icon=icon)
