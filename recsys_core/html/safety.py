"""Escaping and URL allow-listing: the checks every piece of HTML the app builds goes through.

:func:`escape` makes any value HTML text; :func:`safe_url` keeps only http(s) URLs (and, for
images, ``data:image/`` URIs), :func:`safe_href` only http(s) links out, and
:func:`safe_internal_href` only same-site paths and query strings, so a ``javascript:`` URL never
reaches an ``href`` or ``src``.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

__all__ = [
    "SafeHtml",
    "escape",
    "is_data_image",
    "is_http",
    "safe_href",
    "safe_internal_href",
    "safe_url",
]

# Browsers drop ASCII tab and newline anywhere in a URL and C0 controls / spaces at its ends,
# so "java\tscript:" is "javascript:" to them: strip the same before looking at the scheme.
_URL_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
_URL_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21))) + "\x7f"
_HTTP = re.compile(r"^https?://[^/\\?#\s]+", re.IGNORECASE)
_DATA_IMAGE = re.compile(r"^data:image/[a-z0-9.+-]+[;,]", re.IGNORECASE)


class SafeHtml(str):
    """Markup built by :mod:`recsys_core.html` (every user string in it escaped, every URL
    checked)."""

    __slots__ = ()


def escape(text: Any) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped; None is ``""``."""
    if text is None:
        return ""
    return _html.escape(str(text), quote=True)


def is_http(url: str) -> bool:
    """Whether ``url`` (already through :func:`safe_url`) is an http(s) URL with a host."""
    return bool(_HTTP.match(url))


def is_data_image(url: str) -> bool:
    """Whether ``url`` (already through :func:`safe_url`) is a ``data:image/`` URI."""
    return bool(_DATA_IMAGE.match(url))


def safe_url(url: Any, *, allow_data_images: bool = True) -> str:
    """``url`` if it is safe in ``src`` / ``href``, else ``""``.

    Only absolute ``http://`` and ``https://`` URLs (with a host) are allowed, and, when
    ``allow_data_images``, ``data:image/...`` URIs (for ``<img src>``). Anything else, e.g.
    ``javascript:``, ``vbscript:``, ``data:text/html``, ``file:``, relative or protocol-relative
    URLs, becomes ``""``. Tabs and newlines are removed first, as browsers do. The result still has
    to be escaped (:func:`escape`) when it goes into an attribute.
    """
    if url is None:
        return ""
    text = str(url)
    text = _URL_TAB_NEWLINE.sub("", text).strip(_C0_AND_SPACE)
    if not text:
        return ""
    if _HTTP.match(text):
        return text
    if allow_data_images and _DATA_IMAGE.match(text):
        return text
    return ""


def safe_href(url: Any) -> str:
    """A link out: ``url`` if it is http(s), else ``""`` (no ``data:`` URIs in links)."""
    return safe_url(url, allow_data_images=False)


def safe_internal_href(href: Any) -> str:
    """A link inside the app: a query string (``?item=...``) or an absolute path (``/similar?...``).

    Protocol-relative (``//host``) and backslash tricks (``/\\host``) are refused; anything that
    is not a same-site path or query becomes ``""``.
    """
    if href is None:
        return ""
    text = _URL_INVISIBLE.sub("", _URL_TAB_NEWLINE.sub("", str(href)))
    if text.startswith("?"):
        return text
    if text.startswith("/") and not text.startswith(("//", "/\\")) and "\\" not in text:
        return text
    return ""
