"""What the Embeddings map shows, in the three forms it is given: the canvas map's data
(:func:`map_data`, for :mod:`.scatter_component`), a Plotly figure (:func:`build_figure`, only
for the "Figure (HTML)" download, built server-side on request) and a table
(:func:`projection_table`, the CSV download).

No Streamlit calls here: each is a function of a dataset, a projection
(:class:`~recsys_core.projection.Projection`) and the page's choices (points, colouring, the
selected item and its neighbours...), so each is tested directly. Colourings are named in words
(:mod:`recsys_core.words`): taste groups are "Taste group 3 (Animals / scan)", numbered from 1
and sorted by number. Strings from the data reach the canvas map as they are (it shows them as
text only) and the Plotly figure escaped with :func:`recsys_core.html.plotly_escape` (Plotly
renders labels as a small HTML subset).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import html, words
from ..dataset import Dataset
from ..projection import Projection
from . import scatter_component

if TYPE_CHECKING:
    import plotly.graph_objects as go

HIGHLIGHT = "#e4572e"
NEIGHBOUR = "#f2a541"
TAG_COLOUR = "#2b2d42"
OTHER = "#c9ccd3"
PALETTE = (
    # tableau 10, then five strong colours unlike them, then tableau 20's light half
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#000075", "#800000", "#469990", "#f032e6", "#ffe119", "#aec7e8",
    "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)
"""24 colours (the demo has 12 categories and 24 taste groups): the first 15 are strong and
distinct; beyond 24 classes the rest are pooled as "other"."""
MAX_LEGEND = 24
"""Categorical colourings keep the largest classes and pool the rest as "other"."""
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725")
"""Plotly's Viridis stops: counts (popularity, activity) are coloured along them."""
SCALE_STEPS = 256


# ------------------------------------------------------------------------------------ colours
def _log_counts(counts: np.ndarray) -> np.ndarray:
    """log10 of the counts, with 0 drawn like 1 (the colour bar reads 1, 10, 100, ...)."""
    return np.log10(np.maximum(np.asarray(counts, dtype=np.float64), 1.0))


def _classes(values: np.ndarray, limit: int = MAX_LEGEND) -> tuple[np.ndarray, list[str]]:
    """(each value's class index into the names, the class names in drawing order): the
    ``limit`` largest classes, the rest pooled as "other"; sorted naturally ("Taste group 2"
    before "Taste group 10"), "other" and "(none)" last. Empty values are "(none)"."""
    text = pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str)
    codes, uniques = pd.factorize(text.where(text != "", "(none)"), sort=False)
    counts = np.bincount(codes, minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    keep = [str(uniques[i]) for i in order[:limit]]
    pooled = len(uniques) > limit
    names = sorted(keep + (["other"] if pooled else []),
                   key=lambda c: (c in ("other", "(none)"), words.natural_key(c)))
    where = {name: i for i, name in enumerate(names)}
    other = where.get("other", -1)
    lookup = np.array([where.get(str(u), other) for u in uniques], dtype=np.int64)
    return lookup[codes], names


def _class_colours(names: list[str]) -> dict[str, str]:
    """Distinct colours in name order; "other" and "(none)" in grey."""
    colours: dict[str, str] = {}
    for name in names:
        if name in ("other", "(none)"):
            colours[name] = OTHER
        else:
            colours[name] = PALETTE[len([c for c in colours.values() if c != OTHER]) % len(PALETTE)]
    return colours


def _scale_colours(steps: int = SCALE_STEPS) -> list[str]:
    """``steps`` colours along :data:`VIRIDIS`, as hex."""
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in VIRIDIS], dtype=float)
    at = np.linspace(0, len(stops) - 1, steps)
    low = np.floor(at).astype(int).clip(0, len(stops) - 2)
    mix = (at - low)[:, None]
    rgb = np.rint(stops[low] * (1 - mix) + stops[low + 1] * mix).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


def class_values(data: Dataset, rows: np.ndarray, points: str, colour: str) -> np.ndarray:
    """The class of each point for a categorical colouring (``category`` or ``group``), in the
    words people read: taste groups are "Taste group 3 (Animals / scan)", numbered from 1."""
    frame = data.items if points == "items" else data.users
    if frame is None or colour not in frame.columns:
        return np.full(len(rows), "(none)", dtype=object)
    values = frame[colour].to_numpy()[rows]
    if colour == "group":  # worded once per distinct group, not once per point
        names = (getattr(data, "extras", None) or {}).get("group_labels")
        codes, uniques = pd.factorize(pd.Series(values, dtype=object))
        labels = np.asarray([*words.group_labels(list(uniques), names), "(none)"], dtype=object)
        return labels[codes]  # -1 (a missing group) is the last: "(none)"
    return values


@dataclass(frozen=True)
class Colouring:
    """How the points are coloured: a class per point, or a colour scale for counts."""

    codes: np.ndarray
    """int, shape [n]: each point's index into ``names`` / ``colours``."""
    names: list[str]
    colours: list[str]
    title: str
    scale: dict | None = None
    """For counts: ``{"colours": [...], "ticks": [{"at", "label"}], "values": log10 counts}``."""


def colouring(data: Dataset, rows: np.ndarray, *, points: str = "items",
              colour: str = "category", tag: str | None = None) -> Colouring:
    """The classes (or colour scale) of the points ``rows`` for a colouring key."""
    rows = np.asarray(rows, dtype=np.int64)
    title = words.colour_label(colour)[0]
    if colour in ("category", "group"):
        codes, names = _classes(class_values(data, rows, points, colour))
        palette = _class_colours(names)
        return Colouring(codes, names, [palette[n] for n in names], title)
    if colour == "tag" and points == "items":
        tags = data.items["tags"].to_numpy()[rows]
        has = np.fromiter((tag in t for t in tags), dtype=bool, count=len(rows))
        return Colouring(has.astype(np.int64), ["other items", f"tagged {tag}"],
                         [OTHER, HIGHLIGHT], f"{title}: {tag}")
    counts = data.item_counts[rows] if points == "items" else data.user_counts[rows]
    logs = _log_counts(counts)
    top = max(1, math.ceil(float(logs.max()) if len(logs) else 1))
    codes = np.rint(logs / top * (SCALE_STEPS - 1)).astype(np.int64)
    noun = "likes per item" if points == "items" else "interactions per user"
    ticks = [{"at": t / top, "label": f"{10 ** t:,}"} for t in range(0, top + 1)]
    colours = _scale_colours()
    return Colouring(codes, [""] * SCALE_STEPS, colours, f"{title}: {noun} (log scale)",
                     scale={"colours": colours[:: SCALE_STEPS // 16] + [colours[-1]],
                            "ticks": ticks, "values": logs, "top": top})


# ------------------------------------------------------------------------------------ the map
def _hover_text(data: Dataset, rows: np.ndarray, points: str) -> tuple[list, list, np.ndarray]:
    """(labels, details, counts) of the points: name and category, or user id and group."""
    if points == "users":
        labels = [str(u) for u in data.user_ids[rows]]
        if data.users is not None and "group" in data.users.columns:
            details = list(class_values(data, rows, "users", "group"))
        else:
            details = [""] * len(rows)
        return labels, details, data.user_counts[rows]
    labels = [str(n) for n in data.items["name"].to_numpy()[rows]]
    details = [str(c) or "No category" for c in data.items["category"].to_numpy()[rows]]
    return labels, details, data.item_counts[rows]


def _located(result: Projection, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows on the map, their coordinates [m, 2]) of ``indices``, dropping rows not on it."""
    wanted = np.asarray(list(indices), dtype=np.int64)
    pos = result.positions(wanted)
    keep = ~np.isnan(pos[:, 0])
    return wanted[keep], pos[keep]


def _table_positions(result: Projection, rows: Sequence[int]) -> list[int]:
    """Positions in the map's points (``result.indices``) of the dataset ``rows`` on it."""
    rows = np.asarray(list(rows), dtype=np.int64)
    if not len(rows) or not len(result.indices):
        return []
    where = np.clip(np.searchsorted(result.indices, rows), 0, len(result.indices) - 1)
    return [int(p) for p in where[result.indices[where] == rows]]


def _xy(points: np.ndarray) -> list[dict]:
    return [{"x": float(x), "y": float(y)} for x, y in np.asarray(points, dtype=float)]


def map_data(
    data: Dataset,
    result: Projection,
    *,
    points: str = "items",
    colour: str = "category",
    tag: str | None = None,
    highlight: int | None = None,
    neighbours: Sequence[int] = (),
    near_tag: str | None = None,
    tag_items: Sequence[int] = (),
    selected: Sequence[int] = (),
    selected_tags: Sequence[int] = (),
    show_tags: bool = True,
    height: int = 640,
    legend: bool = True,
    banner: str = "",
    heading: str = "",
    interactive: bool = True,
    stem: str = "map",
) -> tuple[pa.Table, dict]:
    """What the canvas map draws: the points (:func:`scatter_component.points_table`) and its
    meta (see :mod:`.scatter_component`).

    Parameters
    ----------
    data : Dataset
        For names, categories, tags and counts.
    result : Projection
        Of the dataset's items (``points="items"``) or users.
    colour, tag : str
        The colouring (:func:`colouring`).
    highlight : int, optional
        The selected item's row: a star, with lines to its ``neighbours`` (rows).
    near_tag, tag_items : optional
        A tag (lightfm) drawn with lines to its nearest items.
    selected, selected_tags : sequence of int
        Rows and tag indices selected with the box or lasso (the rest is dimmed).
    show_tags : bool
        Draw the projection's tags (if any) as labelled diamonds.
    banner : str
        A message over the map (a preview says so); ``interactive=False`` sends no clicks.
    heading : str
        A title in the map's corner (the model, when two maps stand side by side).

    Returns
    -------
    (pa.Table, dict)
        One row per point of ``result`` (in ``result.indices`` order) and the meta.
    """
    rows = result.indices
    noun = "items" if points == "items" else "users"
    paint = colouring(data, rows, points=points, colour=colour, tag=tag)
    labels, details, counts = _hover_text(data, rows, points)
    table = scatter_component.points_table(result.coords, rows, paint.codes, counts, labels,
                                           details)
    present = np.bincount(paint.codes, minlength=len(paint.names))
    if paint.scale is None:
        classes = [{"name": name, "colour": colour_, "count": int(count)}
                   for name, colour_, count in zip(paint.names, paint.colours, present)]
    else:
        classes = [{"name": "", "colour": colour_} for colour_ in paint.colours]
    meta: dict[str, Any] = {
        "title": f"{result.label} map of {len(rows):,} {noun}, coloured by "
                 f"{words.colour_label(colour)[0].lower()}",
        "height": int(height),
        "classes": classes,
        "legend": bool(legend),
        "legend_title": paint.title,
        "legend_id": f"{points}:{colour}:{tag or ''}",
        "view_id": f"{result.key or result.method}:{points}:{len(rows)}",
        "interactive": bool(interactive),
        "label_prefix": "" if points == "items" else "User ",
        "count_one": "like" if points == "items" else "interaction",
        "count_many": "likes" if points == "items" else "interactions",
        "click_hint": "Click to select it" if points == "items" else "Click to list this user",
        "colours": {"highlight": HIGHLIGHT, "neighbour": NEIGHBOUR, "tag": TAG_COLOUR},
        "file_stem": stem,
        "badge": (f"Sample: {len(rows):,} of {result.n_total:,} {noun} shown"
                  if result.sampled else ""),
        "banner": banner,
        "heading": heading,
        "selection": _table_positions(result, selected),
        "selected_tags": [int(t) for t in selected_tags],
    }
    if paint.scale is not None:
        meta["scale"] = {"colours": paint.scale["colours"], "ticks": paint.scale["ticks"]}
    keys = []
    if highlight is not None:
        anchor = result.positions([highlight])[0]
        near_rows, near_xy = _located(result, neighbours)
        if not np.isnan(anchor[0]):
            meta["highlight"] = {"x": float(anchor[0]), "y": float(anchor[1])}
            keys.append({"label": "Selected item", "colour": HIGHLIGHT, "shape": "star"})
        if len(near_rows):
            meta["neighbours"] = _xy(near_xy)
            keys.append({"label": f"Its {len(near_rows)} nearest (the model's own space)",
                         "colour": NEIGHBOUR, "shape": "dot"})
    if show_tags and result.tag_coords is not None and len(result.tag_names):
        meta["tags"] = {"x": [float(v) for v in result.tag_coords[:, 0]],
                        "y": [float(v) for v in result.tag_coords[:, 1]],
                        "names": [str(t) for t in result.tag_names]}
        keys.append({"label": "Tags (click one for its nearest items)", "colour": TAG_COLOUR,
                     "shape": "diamond"})
        if near_tag is not None and near_tag in result.tag_names:
            at = result.tag_coords[list(result.tag_names).index(near_tag)]
            item_rows, item_xy = _located(result, tag_items)
            if len(item_rows):
                meta["near"] = {"x": float(at[0]), "y": float(at[1])}
                meta["near_items"] = _xy(item_xy)
                keys.append({"label": f"Nearest to the tag {near_tag}", "colour": TAG_COLOUR,
                             "shape": "ring"})
    meta["keys"] = keys
    return table, meta


# -------------------------------------------------------------------- the figure (HTML download)
def build_figure(
    data: Dataset,
    result: Projection,
    *,
    points: str = "items",
    colour: str = "category",
    tag: str | None = None,
    highlight: int | None = None,
    neighbours: Sequence[int] = (),
    near_tag: str | None = None,
    tag_items: Sequence[int] = (),
    show_tags: bool = True,
    height: int = 640,
    legend: bool | str = True,
    **_: Any,
) -> go.Figure:
    """The map as a Plotly figure, for the "Figure (HTML)" download (the page draws
    :func:`map_data` on a canvas; Plotly is imported here, on demand, server-side).

    Parameters are :func:`map_data`'s (``legend="below"`` puts the legend under the map).
    Every trace has ``meta``: ``"items"`` (the points; one trace per class when colouring by
    class), ``"lines"``, ``"neighbours"``, ``"selected"``, ``"tags"``, ``"tag-items"``.
    Item points carry ``customdata = [row, name, category, count]``; tag points
    ``[-1 - tag_row, name, "tag", 0]``.
    """
    import plotly.graph_objects as go

    rows = result.indices
    xy = result.coords
    size = 7 if len(rows) <= 3_000 else 5 if len(rows) <= 10_000 else 3.5
    custom, template = _hover(data, rows, points)
    paint = colouring(data, rows, points=points, colour=colour, tag=tag)
    traces: list = []

    def points_trace(mask, name, marker, showlegend=True):
        return go.Scattergl(
            x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name, meta="items",
            customdata=custom[mask], hovertemplate=template, showlegend=showlegend,
            marker=marker,
        )

    if paint.scale is None:
        emphasis = colour == "tag"
        for code, (name, colour_) in enumerate(zip(paint.names, paint.colours)):
            mask = paint.codes == code
            bigger = emphasis and code == 1
            traces.append(points_trace(
                mask, html.plotly_escape(name),
                dict(size=size + (1 if bigger else 0), color=colour_,
                     opacity=0.6 if emphasis and not bigger else 0.8 if not bigger else 0.9),
            ))
    else:
        top = paint.scale["top"]
        traces.append(points_trace(
            np.ones(len(rows), bool),
            "likes" if points == "items" else "interactions",
            dict(
                size=size, color=paint.scale["values"], colorscale="Viridis", opacity=0.85,
                showscale=True, cmin=0, cmax=top,
                colorbar=dict(
                    title=dict(text="likes" if points == "items" else "interactions"),
                    tickvals=list(range(top + 1)),
                    ticktext=[tick["label"] for tick in paint.scale["ticks"]],
                    thickness=14, len=0.6, y=0.5,
                ),
            ),
            showlegend=False,
        ))
        legend = "below" if legend else legend

    def lines_from(origin, targets, colour_, meta):
        xs, ys = [], []
        for x, y in targets:
            xs += [origin[0], x, None]
            ys += [origin[1], y, None]
        return go.Scattergl(
            x=xs, y=ys, mode="lines", meta=meta, hoverinfo="skip", showlegend=False,
            line=dict(color=colour_, width=1.5),
        )

    if highlight is not None:
        anchor = result.positions([highlight])[0]
        near_rows, near_xy = _located(result, neighbours)
        if not np.isnan(anchor[0]) and len(near_rows):
            traces.append(lines_from(anchor, near_xy, NEIGHBOUR, "lines"))
        if len(near_rows):
            near_custom, _ = _hover(data, near_rows, points)
            traces.append(go.Scattergl(
                x=near_xy[:, 0], y=near_xy[:, 1], mode="markers", meta="neighbours",
                name=f"{len(near_rows)} nearest (model's own space)", customdata=near_custom,
                hovertemplate=template,
                marker=dict(size=13, color=NEIGHBOUR, line=dict(color="#222", width=1.5)),
            ))
        if not np.isnan(anchor[0]):
            own, _ = _hover(data, np.array([highlight]), points)
            traces.append(go.Scattergl(
                x=[anchor[0]], y=[anchor[1]], mode="markers", meta="selected",
                name="selected", customdata=own, hovertemplate=template,
                marker=dict(size=22, symbol="star", color=HIGHLIGHT,
                            line=dict(color="#222", width=1.5)),
            ))

    if show_tags and result.tag_coords is not None and len(result.tag_names):
        names = [html.plotly_escape(t) for t in result.tag_names]
        tag_custom = np.empty((len(names), 4), dtype=object)
        tag_custom[:, 0] = -1 - np.arange(len(names))
        tag_custom[:, 1] = names
        tag_custom[:, 2] = "tag"
        tag_custom[:, 3] = 0
        traces.append(go.Scattergl(
            x=result.tag_coords[:, 0], y=result.tag_coords[:, 1], mode="markers+text",
            meta="tags", name="tags", text=names, textposition="top center",
            textfont=dict(size=9, color=TAG_COLOUR), customdata=tag_custom,
            hovertemplate="<b>tag %{customdata[1]}</b><extra></extra>",
            marker=dict(size=9, symbol="diamond", color=TAG_COLOUR, opacity=0.85),
        ))
        if near_tag is not None and near_tag in result.tag_names:
            at = result.tag_coords[list(result.tag_names).index(near_tag)]
            item_rows, item_xy = _located(result, tag_items)
            if len(item_rows):
                traces.append(lines_from(at, item_xy, TAG_COLOUR, "lines"))
                item_custom, _ = _hover(data, item_rows, points)
                traces.append(go.Scattergl(
                    x=item_xy[:, 0], y=item_xy[:, 1], mode="markers", meta="tag-items",
                    name=f"nearest {html.plotly_escape(near_tag)}", customdata=item_custom,
                    hovertemplate=template,
                    marker=dict(size=12, color="#ffffff", line=dict(color=TAG_COLOUR, width=2)),
                ))

    fig = go.Figure(traces)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="#fafafa",
        showlegend=bool(legend),
        legend=dict(itemsizing="constant", font=dict(size=11),
                    title=dict(text=html.plotly_escape(paint.title)))
        if legend != "below"
        else dict(
            itemsizing="constant", font=dict(size=10), orientation="h", yanchor="top", y=-0.02,
            x=0, title=dict(text=""),
        ),
        dragmode="pan",
        hovermode="closest",
        uirevision=result.key,
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title=None)
    fig.update_yaxes(
        showticklabels=False, showgrid=False, zeroline=False, title=None,
        scaleanchor="x", scaleratio=1,
    )
    return fig


def _hover(data: Dataset, rows: np.ndarray, points: str) -> tuple[np.ndarray, str]:
    """customdata [row, name, category, count] (strings escaped) and the hover template."""
    labels, details, counts = _hover_text(data, np.asarray(rows, dtype=np.int64), points)
    if points == "users":
        template = ("<b>User %{customdata[1]}</b><br>%{customdata[2]}<br>"
                    "%{customdata[3]:,} interactions<extra></extra>")
    else:
        template = (
            "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]:,} likes"
            "<extra></extra>"
        )
    custom = np.empty((len(rows), 4), dtype=object)
    custom[:, 0] = np.asarray(rows).astype(int)
    custom[:, 1] = [html.plotly_escape(label) for label in labels]
    custom[:, 2] = [html.plotly_escape(detail) for detail in details]
    custom[:, 3] = np.asarray(counts).astype(int)
    return custom, template


# ------------------------------------------------------------------------------------ downloads
def projection_table(data: Dataset, result: Projection, points: str = "items") -> pd.DataFrame:
    """The projection as a table: one line per point (and per tag), ready for a CSV."""
    rows = result.indices
    if points == "users":
        frame = pd.DataFrame(
            {
                "kind": "user",
                "id": data.user_ids[rows],
                "interactions": data.user_counts[rows],
            }
        )
        if data.users is not None and "group" in data.users.columns:
            frame["group"] = data.users["group"].to_numpy()[rows]
    else:
        items = data.items
        frame = pd.DataFrame(
            {
                "kind": "item",
                "id": data.item_ids[rows],
                "name": items["name"].to_numpy()[rows],
                "category": items["category"].to_numpy()[rows],
                "likes": data.item_counts[rows],
            }
        )
        if "group_label" in items.columns:
            frame["group"] = items["group_label"].to_numpy()[rows]
    frame["x"] = result.coords[:, 0]
    frame["y"] = result.coords[:, 1]
    if result.tag_coords is not None and len(result.tag_names):
        tags = pd.DataFrame(
            {
                "kind": "tag",
                "id": list(result.tag_names),
                "name": list(result.tag_names),
                "x": result.tag_coords[:, 0],
                "y": result.tag_coords[:, 1],
            }
        )
        frame = pd.concat([frame, tags], ignore_index=True)
    return frame
