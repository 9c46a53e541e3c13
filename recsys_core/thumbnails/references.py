"""Item references: the Sketchfab model id or the item id in what a person pastes.

:func:`parse_item_reference` reads a Sketchfab link, a link to this app or a bare id;
:func:`sketchfab_model_id` says which Sketchfab model an item is, if any.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["parse_item_reference", "sketchfab_model_id"]

_MID = re.compile(r"[0-9a-fA-F]{32}")

_SLUG_MID = re.compile(r"(?:^|-)([0-9a-fA-F]{32})$")

_SKETCHFAB_LINK = re.compile(
    r"(?<![a-z0-9.-])(?:https?://)?(?:[a-z0-9-]+\.)*sketchfab\.com/[^\s<>\"']*", re.IGNORECASE
)

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _mid_from_path(path: str) -> str | None:
    parts = [part for part in path.split("/") if part]
    for head, tail in zip(parts, parts[1:]):
        if head == "models" and _MID.fullmatch(tail):
            return tail.lower()
        if head == "3d-models":
            match = _SLUG_MID.search(tail)
            if match:
                return match.group(1).lower()
    return None


def _is_sketchfab_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "sketchfab.com" or host.endswith(".sketchfab.com")


def parse_item_reference(text: Any) -> str | None:
    """The item id in pasted text: a Sketchfab link, an app link, or a bare id.

    Sketchfab links in the ``/models/<mid>`` and ``/3d-models/<slug>-<mid>`` forms (``mid`` is 32
    hex digits; returned in lower case), with or without scheme, query string or fragment, also
    inside a longer text. A link to this app (``...?item=<id>``) gives its ``item`` parameter.
    Anything else that is not a URL is taken as a bare id (stripped of spaces and quotes).

    Returns
    -------
    str or None
        None for empty text, and for a URL that names no item.

    Examples
    --------
    >>> parse_item_reference(
    ...     "https://sketchfab.com/3d-models/old-chair-0123456789abcdef0123456789ABCDEF?x=1"
    ... )
    '0123456789abcdef0123456789abcdef'
    >>> parse_item_reference("  i42 ")
    'i42'
    """
    if text is None:
        return None
    raw = str(text).strip().strip("<>\"'`").strip()
    if not raw:
        return None
    link = _SKETCHFAB_LINK.search(raw)
    if link:
        value = link.group(0)
        split = urlsplit(value if _SCHEME.match(value) else "https://" + value)
        if _is_sketchfab_host(split.hostname or ""):
            return _mid_from_path(split.path)
    looks_like_url = bool(_SCHEME.match(raw)) or raw.startswith(("www.", "?", "/"))
    if looks_like_url:
        split = urlsplit(raw)
        found = parse_qs(split.query).get("item")
        if found and found[0].strip():
            return found[0].strip()
        return _mid_from_path(split.path) if not split.netloc else None
    return raw


def sketchfab_model_id(
    item_id: Any = None, url: Any = None, *, sketchfab: bool = False
) -> str | None:
    """The Sketchfab model id of an item, or None when it is not a Sketchfab model.

    ``url`` is read as a Sketchfab link first; with ``sketchfab=True`` (the item comes from the
    ``sketchfab`` dataset) an ``item_id`` of 32 hex digits is the model id itself.
    """
    if url:
        text = str(url).strip()
        link = _SKETCHFAB_LINK.search(text)
        if link:
            mid = parse_item_reference(link.group(0))
            if mid and _MID.fullmatch(mid):
                return mid
    if sketchfab and item_id is not None:
        text = str(item_id).strip()
        if _MID.fullmatch(text):
            return text.lower()
    return None
