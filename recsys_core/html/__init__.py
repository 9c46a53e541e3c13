"""Safe HTML for the app: escaping, URL allow-listing and the thumbnail grid.

Item names, tags, categories and uploaded text are user-generated. Everything here that builds
HTML escapes every such string (:func:`escape`) and passes every URL through :func:`safe_url`
(http(s) only, plus ``data:image/`` for images), so a name like ``<img src=x onerror=alert(1)>``
shows up as text and a ``javascript:`` link never reaches an ``href`` or ``src``.

Builders return :class:`SafeHtml`, a ``str`` marking markup made here; :func:`thumbnail_grid_html`
escapes anything else it is given as plain text.

In the app the grid is drawn by ``recsys_core/ui/grid_component.py`` (a Streamlit component that
turns a plain click on a card into a rerun in place); each card's ``href`` is still the whole view
with its item, so a middle click opens it in a new tab, and links out open in a new tab.

Modules: :mod:`.safety` (escaping and URL checks: the lowest, imported by
:mod:`recsys_core.thumbnails`), :mod:`.cards` (cards, grid, item picture, score chips),
:mod:`.markup` (text inside Streamlit Markdown and Plotly labels), :mod:`.exports` (CSV cells and
download file names).
"""

from __future__ import annotations

from .cards import (
    GRID_CSS,
    category_colour,
    item_picture,
    score_chips,
    thumbnail_card,
    thumbnail_grid_html,
)
from .exports import csv_cell, csv_text, file_name
from .markup import WORD_JOINER, md_escape, plotly_escape
from .safety import SafeHtml, escape, safe_href, safe_internal_href, safe_url

__all__ = [
    "GRID_CSS",
    "WORD_JOINER",
    "SafeHtml",
    "category_colour",
    "csv_cell",
    "csv_text",
    "escape",
    "file_name",
    "item_picture",
    "md_escape",
    "plotly_escape",
    "safe_href",
    "safe_internal_href",
    "safe_url",
    "score_chips",
    "thumbnail_card",
    "thumbnail_grid_html",
]
