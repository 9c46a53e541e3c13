"""The Embeddings map as a Streamlit component: a canvas scatter, no Plotly in the browser.

Plotly's bundle (4.7 MB of JavaScript, loaded and compiled in every new tab) made the
Embeddings page the one page slower than twice Streamlit's floor. This component draws the map
on a 2-D canvas (class by class, squares above 20,000 points), so 100k+ points stay smooth
while zooming and panning; its script (``scatter_component.js``, beside this file) is a few
kilobytes. What the Plotly map offered, it keeps:

- colours by class with a legend (click an entry to hide or show it, double-click to show it
  alone), or a colour scale for counts;
- a hover tooltip with the point's name, detail and count (text only: ``textContent``);
- a click on a point or tag sends ``{"row": r}`` or ``{"tag": t}`` (trigger ``clicked``);
- box (toolbar or shift-drag) and lasso selection send ``{"rows": [...], "tags": [...]}``
  (trigger ``selected``; empty lists when the selection is cleared);
- wheel zoom, drag to pan, zoom buttons, "show everything" (or double-click on empty space), a
  PNG download of the map;
- the selected item as a star with lines to its neighbours, a tag and its nearest items,
  lightfm's tags as labelled diamonds, the current selection (others dimmed);
- a badge on the map ("Sample: 25,000 of 138,493 users shown") and a banner for a preview.

The data travel compactly: the points are one Arrow table (float32 ``x``, ``y``; int32 ``row``
and ``n``; uint8 / uint16 class code ``c``; ``label`` and ``detail`` strings), about 20 bytes a
point plus its name; everything else is a small JSON ``meta``:

``title``, ``height``, ``classes`` ([{name, colour, count}], indexed by ``c``), ``scale``
({colours, ticks: [{at, label}]} for counts; the classes are its colour steps), ``legend``
(False to hide it), ``legend_title``, ``legend_id`` (the legend's hidden entries reset when it
changes), ``view_id`` (zoom and pan are kept while it stays the same), ``keys`` (legend lines
for the marks: [{label, colour, shape}]), ``highlight`` ({x, y}), ``neighbours`` ([{x, y}]),
``near`` and ``near_items`` (a tag and its nearest items), ``tags`` ({x, y, names}),
``selection`` (positions in the table), ``selected_tags``, ``badge``, ``banner``, ``heading``
(a title in the corner, when two maps stand side by side),
``interactive`` (False: no click or selection, for a preview), ``label_prefix``,
``count_one`` / ``count_many`` (the count's noun), ``click_hint``, ``colours`` and
``file_stem``.

The component is registered once, at import, without a shadow root (``isolate_styles=False``,
like the thumbnail grid in :mod:`.grid_component`); its CSS classes all start with ``rx-sc``.
AppTest does not run components: tests read the element's data (:func:`decode`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import streamlit as st

NAME = "recsys_scatter"
KEY_PREFIX = "scatter_"
"""Every map's key starts with this: its element container gets the class ``st-key-<key>``,
which the browser tests and bench_app.py wait on (``[class*="st-key-scatter_"]``)."""
MAX_SELECTION = 1_000_000
"""A selection event longer than this is not one the map could send."""

JS = (Path(__file__).with_name("scatter_component.js")).read_text(encoding="utf-8")

CSS = r"""
.rx-scatter { position: relative; display: flex; flex-direction: column; gap: 0.6rem;
  outline: none; font-family: inherit; }
.rx-scatter.rx-sc-legend-right { flex-direction: row; align-items: flex-start; }
.rx-sc-plot { position: relative; flex: 1 1 auto; min-width: 0; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.12); background: #fbfbfc; overflow: hidden; }
.rx-sc-canvas { display: block; touch-action: none; cursor: grab; }
.rx-sc-preview .rx-sc-plot { border-style: dashed; }
.rx-sc-toolbar { position: absolute; top: 0.5rem; right: 0.5rem; display: flex; gap: 2px;
  align-items: center; padding: 3px; border-radius: 0.45rem; background: rgba(255,255,255,0.92);
  border: 1px solid rgba(49, 51, 63, 0.1); box-shadow: 0 1px 3px rgba(0,0,0,0.06); }
.rx-sc-tool { display: inline-flex; align-items: center; justify-content: center; width: 28px;
  height: 28px; padding: 0; border: 0; border-radius: 0.35rem; background: transparent;
  color: rgba(49, 51, 63, 0.7); cursor: pointer; }
.rx-sc-tool svg { width: 18px; height: 18px; fill: currentColor; }
.rx-sc-tool:hover { background: rgba(49, 51, 63, 0.07); color: #31333f; }
.rx-sc-tool.rx-sc-active { background: rgba(255, 75, 75, 0.12); color: #d83a3a; }
.rx-sc-sep { width: 1px; height: 18px; margin: 0 3px; background: rgba(49, 51, 63, 0.15); }
.rx-sc-banner { position: absolute; top: 0.55rem; left: 0.6rem; max-width: 60%;
  padding: 0.3rem 0.6rem; border-radius: 0.4rem; font-size: 0.85rem; line-height: 1.3;
  background: rgba(28, 131, 225, 0.1); color: #0b4a85; border: 1px solid rgba(28,131,225,0.25); }
.rx-sc-heading { position: absolute; top: 0.7rem; left: 0.8rem; max-width: 45%;
  font-weight: 600; font-size: 0.9rem; color: #31333f; pointer-events: none;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.rx-sc-badge { position: absolute; left: 0.6rem; bottom: 0.5rem; padding: 0.15rem 0.5rem;
  border-radius: 0.4rem; font-size: 0.8rem; color: rgba(49, 51, 63, 0.75);
  background: rgba(255, 255, 255, 0.88); border: 1px solid rgba(49, 51, 63, 0.1);
  pointer-events: none; }
.rx-sc-tip { position: absolute; z-index: 3; max-width: 320px; padding: 0.4rem 0.6rem;
  border-radius: 0.4rem; background: #ffffff; color: #31333f; font-size: 0.85rem;
  line-height: 1.35; box-shadow: 0 2px 10px rgba(0, 0, 0, 0.16); pointer-events: none;
  border: 1px solid rgba(49, 51, 63, 0.12); overflow-wrap: anywhere; }
.rx-sc-tip-title { font-weight: 600; }
.rx-sc-tip-line { color: rgba(49, 51, 63, 0.8); }
.rx-sc-tip-hint { margin-top: 0.2rem; font-size: 0.75rem; color: rgba(49, 51, 63, 0.55); }
.rx-sc-legend { font-size: 0.82rem; line-height: 1.25; color: #31333f; overflow-y: auto; }
.rx-sc-legend:empty { display: none; }
.rx-sc-legend-right .rx-sc-legend { flex: 0 0 270px; width: 270px; }
.rx-sc-legend-title { font-weight: 600; margin: 0.1rem 0 0.35rem 0.3rem; }
.rx-sc-entries { display: flex; flex-wrap: wrap; gap: 1px 0.4rem; }
.rx-sc-legend-right .rx-sc-entries { flex-direction: column; flex-wrap: nowrap; }
.rx-sc-entry { display: flex; align-items: center; gap: 0.45rem; width: auto; text-align: left;
  padding: 0.18rem 0.35rem; border: 0; border-radius: 0.3rem; background: transparent;
  color: inherit; font: inherit; cursor: pointer; }
.rx-sc-legend-right .rx-sc-entry { width: 100%; }
.rx-sc-entry:hover { background: rgba(49, 51, 63, 0.06); }
.rx-sc-entry.rx-sc-off { opacity: 0.38; }
.rx-sc-entry.rx-sc-off .rx-sc-swatch { background: transparent !important;
  box-shadow: inset 0 0 0 1.5px rgba(49, 51, 63, 0.5); }
.rx-sc-swatch { flex: 0 0 auto; width: 0.7rem; height: 0.7rem; border-radius: 50%; }
.rx-sc-name { flex: 1 1 auto; min-width: 0; overflow-wrap: anywhere; }
.rx-sc-count { flex: 0 0 auto; color: rgba(49, 51, 63, 0.5); font-variant-numeric: tabular-nums; }
.rx-sc-scale-wrap { position: relative; margin: 0.2rem 0.8rem 1.4rem 0.4rem; max-width: 320px; }
.rx-sc-scale { height: 0.7rem; border-radius: 0.2rem; }
.rx-sc-ticks { position: relative; height: 1rem; }
.rx-sc-tick { position: absolute; top: 0.2rem; transform: translateX(-50%); font-size: 0.75rem;
  color: rgba(49, 51, 63, 0.7); white-space: nowrap; }
.rx-sc-keys { margin-top: 0.5rem; padding-top: 0.4rem; border-top: 1px solid rgba(49,51,63,0.1);
  display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; }
.rx-sc-legend-right .rx-sc-keys { flex-direction: column; }
.rx-sc-key { display: flex; align-items: center; gap: 0.45rem; padding: 0 0.35rem;
  color: rgba(49, 51, 63, 0.85); }
.rx-sc-mark { flex: 0 0 auto; width: 0.75rem; height: 0.75rem; background: var(--rx-mark); }
.rx-sc-mark-dot { border-radius: 50%; box-shadow: inset 0 0 0 1.5px #222; }
.rx-sc-mark-ring { border-radius: 50%; background: #fff;
  box-shadow: inset 0 0 0 2px var(--rx-mark); }
.rx-sc-mark-star { clip-path: polygon(50% 0, 61% 35%, 98% 35%, 68% 57%, 79% 91%, 50% 70%,
  21% 91%, 32% 57%, 2% 35%, 39% 35%); width: 0.95rem; height: 0.95rem; }
.rx-sc-mark-diamond { transform: rotate(45deg) scale(0.8); }
"""

_SCATTER = st.components.v2.component(NAME, js=JS, css=CSS, isolate_styles=False)


def points_table(
    coords: np.ndarray,
    rows: np.ndarray,
    codes: np.ndarray,
    counts: np.ndarray,
    labels: Sequence[str],
    details: Sequence[str] | None = None,
) -> pa.Table:
    """The points as the Arrow table the component reads.

    Parameters
    ----------
    coords : np.ndarray of float, shape [n, 2]
        Map coordinates.
    rows : np.ndarray of int, shape [n]
        The dataset row of each point (sent back on click and selection).
    codes : np.ndarray of int, shape [n]
        Each point's index into the ``classes`` of the meta (colour).
    counts : np.ndarray of int, shape [n]
        Likes or interactions, shown in the tooltip.
    labels, details : sequence of str, length n
        The tooltip's title (a name) and second line (a category or group); strings from the
        data, shown as text.
    """
    coords = np.asarray(coords, dtype=np.float32).reshape(-1, 2)
    n = len(coords)
    codes = np.asarray(codes)
    code_type = pa.uint8() if codes.size == 0 or int(codes.max()) < 256 else pa.uint16()
    detail_values = [""] * n if details is None else [str(d) for d in details]
    return pa.table(
        {
            "x": pa.array(coords[:, 0], pa.float32()),
            "y": pa.array(coords[:, 1], pa.float32()),
            "row": pa.array(np.asarray(rows, dtype=np.int32), pa.int32()),
            "c": pa.array(
                codes.astype(np.uint16 if code_type == pa.uint16() else np.uint8), code_type
            ),
            "n": pa.array(np.asarray(counts, dtype=np.int32), pa.int32()),
            "label": pa.array([str(v) for v in labels], pa.string()),
            "detail": pa.array(detail_values, pa.string()).dictionary_encode(),
        }
    )


def show(
    table: pa.Table,
    meta: dict,
    *,
    key: str,
    on_click: Callable[[str, int], None] | None = None,
    on_select: Callable[[list[int], list[int]], None] | None = None,
) -> None:
    """Draw a map under ``key`` (which must start with :data:`KEY_PREFIX`).

    Parameters
    ----------
    table : pa.Table
        From :func:`points_table`.
    meta : dict
        JSON-serialisable settings (module docstring).
    on_click : callable, optional
        ``on_click("row", dataset_row)`` or ``on_click("tag", tag_index)``, called as a widget
        callback (before the rerun) for a click the map sent.
    on_select : callable, optional
        ``on_select(rows, tags)`` for a box or lasso selection (empty lists: cleared).
    """
    if not key.startswith(KEY_PREFIX):
        raise ValueError(f"scatter keys start with {KEY_PREFIX!r}, got {key!r}")
    callbacks: dict[str, Any] = {}
    if on_click is not None:
        callbacks["on_clicked_change"] = functools.partial(_clicked, key, on_click)
    if on_select is not None:
        callbacks["on_selected_change"] = functools.partial(_selected, key, on_select)
    _SCATTER(key=key, data={"points": table, "meta": meta}, **callbacks)


def click_value(value: Any) -> tuple[str, int] | None:
    """``("row", r)`` or ``("tag", t)`` for a click the map sent; None for anything else."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, index),) = value.items()
    if kind not in ("row", "tag") or isinstance(index, bool) or not isinstance(index, int):
        return None
    return (kind, index) if index >= 0 else None


def selection_value(value: Any) -> tuple[list[int], list[int]] | None:
    """``(rows, tags)`` of a selection the map sent (unique, in order); None for anything else."""
    if not isinstance(value, dict):
        return None
    rows, tags = value.get("rows"), value.get("tags", [])
    if not isinstance(rows, list) or not isinstance(tags, list):
        return None
    if len(rows) + len(tags) > MAX_SELECTION:
        return None
    out = []
    for values in (rows, tags):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            return None
        out.append(list(dict.fromkeys(values)))
    return out[0], out[1]


def _event(key: str, name: str) -> Any:
    return (st.session_state.get(key) or {}).get(name)


def _clicked(key: str, handler: Callable[[str, int], None]) -> None:
    found = click_value(_event(key, "clicked"))
    if found is not None:
        handler(*found)


def _selected(key: str, handler: Callable[[list[int], list[int]], None]) -> None:
    found = selection_value(_event(key, "selected"))
    if found is not None:
        handler(*found)


def decode(proto: Any) -> tuple[dict, pa.Table]:
    """``(meta, points)`` of a drawn map's element proto (for AppTest, which runs no script)."""
    mixed = json.loads(proto.mixed.json)
    blobs = proto.mixed.arrow_blobs
    ref = mixed["points"]["__streamlit_arrow_ref__"]
    with pa.ipc.open_stream(blobs[ref].data) as reader:
        table = reader.read_all()
    return mixed["meta"], table
