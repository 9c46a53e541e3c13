"""The Embeddings map as a Plotly figure, only for the "Figure (HTML)" download: built
server-side on request (the page draws the canvas map of :mod:`.embeddings_map`; Plotly's
bundle never reaches the browser), from the same :class:`~.embeddings_map.MapView`, marks and
colours.

Strings from the data are escaped with :func:`recsys_core.html.plotly_escape` (Plotly renders
labels as a small HTML subset).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import html
from ..dataset import Dataset
from ..projection import Projection
from .embeddings_colours import HIGHLIGHT, NEIGHBOUR, TAG_COLOUR, Colouring, colouring
from .embeddings_map import MapView, Marks, hover_text, marks

if TYPE_CHECKING:
    import plotly.graph_objects as go


def build_figure(
    data: Dataset,
    result: Projection,
    view: MapView = MapView(),  # noqa: B008 - frozen, never changed
) -> go.Figure:
    """The map as a Plotly figure (Plotly is imported here, on demand).

    A colour scale puts the legend under the map. Every trace has ``meta``: ``"items"`` (the
    points; one trace per class when colouring by class), ``"lines"``, ``"neighbours"``,
    ``"selected"``, ``"tags"``, ``"tag-items"``. Item points carry ``customdata = [row, name,
    category, count]``; tag points ``[-1 - tag_row, name, "tag", 0]``.
    """
    import plotly.graph_objects as go

    paint = colouring(data, result.indices, points=view.points, colour=view.colour, tag=view.tag)
    template = _template(view.points)
    traces = _point_traces(data, result, view, paint, template)
    traces += _mark_traces(data, result, view, marks(result, view), template)
    fig = go.Figure(traces)
    _layout(fig, result, view, paint)
    return fig


def _point_traces(
    data: Dataset, result: Projection, view: MapView, paint: Colouring, template: str
) -> list:
    """The points: one trace per class, or one along the colour scale."""
    rows, xy = result.indices, result.coords
    size = 7 if len(rows) <= 3_000 else 5 if len(rows) <= 10_000 else 3.5
    custom = _custom(data, rows, view.points)

    def trace(mask, name, marker, showlegend=True):
        return _scattergl(
            x=xy[mask, 0],
            y=xy[mask, 1],
            mode="markers",
            name=name,
            meta="items",
            customdata=custom[mask],
            hovertemplate=template,
            showlegend=showlegend,
            marker=marker,
        )

    if paint.scale is not None:
        noun = "likes" if view.points == "items" else "interactions"
        top = paint.scale["top"]
        colorbar = dict(
            title=dict(text=noun),
            tickvals=list(range(top + 1)),
            ticktext=[tick["label"] for tick in paint.scale["ticks"]],
            thickness=14,
            len=0.6,
            y=0.5,
        )
        marker = dict(
            size=size,
            color=paint.scale["values"],
            colorscale="Viridis",
            opacity=0.85,
            showscale=True,
            cmin=0,
            cmax=top,
            colorbar=colorbar,
        )
        return [trace(np.ones(len(rows), bool), noun, marker, showlegend=False)]
    emphasis = view.colour == "tag"
    traces = []
    for code, (name, colour) in enumerate(zip(paint.names, paint.colours)):
        bigger = emphasis and code == 1
        opacity = 0.6 if emphasis and not bigger else 0.8 if not bigger else 0.9
        marker = dict(size=size + (1 if bigger else 0), color=colour, opacity=opacity)
        traces.append(trace(paint.codes == code, html.plotly_escape(name), marker))
    return traces


def _mark_traces(
    data: Dataset, result: Projection, view: MapView, found: Marks, template: str
) -> list:
    """The selected item (a star), lines to its neighbours, the tags and a tag's items."""
    traces = []
    ring = dict(color="#222", width=1.5)
    if found.anchor is not None and len(found.neighbour_rows):
        traces.append(_lines(found.anchor, found.neighbour_xy, NEIGHBOUR))
    if len(found.neighbour_rows):
        name = f"{len(found.neighbour_rows)} nearest (model's own space)"
        marker = dict(size=13, color=NEIGHBOUR, line=ring)
        traces.append(
            _marked(
                data,
                view,
                found.neighbour_rows,
                found.neighbour_xy,
                "neighbours",
                name,
                marker,
                template,
            )
        )
    if found.anchor is not None:
        marker = dict(size=22, symbol="star", color=HIGHLIGHT, line=ring)
        rows, at = np.array([view.highlight]), found.anchor
        star = _marked(data, view, rows, at[None, :], "selected", "selected", marker, template)
        traces.append({**star, "x": [at[0]], "y": [at[1]]})  # one point: plain lists
    if found.tags:
        names = [html.plotly_escape(t) for t in result.tag_names]
        tag_custom = np.empty((len(names), 4), dtype=object)
        tag_custom[:, 0] = -1 - np.arange(len(names))
        tag_custom[:, 1] = names
        tag_custom[:, 2] = "tag"
        tag_custom[:, 3] = 0
        traces.append(
            _scattergl(
                x=result.tag_coords[:, 0],
                y=result.tag_coords[:, 1],
                mode="markers+text",
                meta="tags",
                name="tags",
                text=names,
                textposition="top center",
                textfont=dict(size=9, color=TAG_COLOUR),
                customdata=tag_custom,
                hovertemplate="<b>tag %{customdata[1]}</b><extra></extra>",
                marker=dict(size=9, symbol="diamond", color=TAG_COLOUR, opacity=0.85),
            )
        )
    if found.near_at is not None:
        traces.append(_lines(found.near_at, found.tag_item_xy, TAG_COLOUR))
        name = f"nearest {html.plotly_escape(view.near_tag)}"
        marker = dict(size=12, color="#ffffff", line=dict(color=TAG_COLOUR, width=2))
        traces.append(
            _marked(
                data,
                view,
                found.tag_item_rows,
                found.tag_item_xy,
                "tag-items",
                name,
                marker,
                template,
            )
        )
    return traces


def _marked(
    data: Dataset,
    view: MapView,
    rows: np.ndarray,
    xy: np.ndarray,
    meta: str,
    name: str,
    marker: dict,
    template: str,
) -> dict:
    """A trace of marked points (neighbours, the selected item, a tag's items), with hovers."""
    return _scattergl(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="markers",
        meta=meta,
        name=name,
        customdata=_custom(data, rows, view.points),
        hovertemplate=template,
        marker=marker,
    )


def _lines(origin: np.ndarray, targets: np.ndarray, colour: str) -> dict:
    """Lines from ``origin`` [2] to each of ``targets`` [m, 2], as one trace."""
    xs: list = []
    ys: list = []
    for x, y in targets:
        xs += [origin[0], x, None]
        ys += [origin[1], y, None]
    return _scattergl(
        x=xs,
        y=ys,
        mode="lines",
        meta="lines",
        hoverinfo="skip",
        showlegend=False,
        line=dict(color=colour, width=1.5),
    )


def _scattergl(**spec: Any) -> dict:
    """A WebGL scatter trace as Plotly's plain spec (``go.Figure`` makes it a trace object), so
    Plotly is imported once, in :func:`build_figure`."""
    return {"type": "scattergl", **spec}


def _layout(fig: go.Figure, result: Projection, view: MapView, paint: Colouring) -> None:
    """Size, legend (under the map for a colour scale), pan, equal axes without ticks."""
    below = paint.scale is not None and view.legend
    if below:
        legend = dict(
            itemsizing="constant",
            font=dict(size=10),
            orientation="h",
            yanchor="top",
            y=-0.02,
            x=0,
            title=dict(text=""),
        )
    else:
        legend = dict(
            itemsizing="constant",
            font=dict(size=11),
            title=dict(text=html.plotly_escape(paint.title)),
        )
    fig.update_layout(
        height=view.height,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="#fafafa",
        showlegend=bool(view.legend),
        legend=legend,
        dragmode="pan",
        hovermode="closest",
        uirevision=result.key,
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title=None)
    fig.update_yaxes(
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        title=None,
        scaleanchor="x",
        scaleratio=1,
    )


def _template(points: str) -> str:
    """The hover template of item or user points."""
    if points == "users":
        return (
            "<b>User %{customdata[1]}</b><br>%{customdata[2]}<br>"
            "%{customdata[3]:,} interactions<extra></extra>"
        )
    return "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]:,} likes<extra></extra>"


def _custom(data: Dataset, rows: np.ndarray, points: str) -> np.ndarray:
    """customdata [row, name, category, count] of the points (strings escaped), object [m, 4]."""
    labels, details, counts = hover_text(data, np.asarray(rows, dtype=np.int64), points)
    custom = np.empty((len(rows), 4), dtype=object)
    custom[:, 0] = np.asarray(rows).astype(int)
    custom[:, 1] = [html.plotly_escape(label) for label in labels]
    custom[:, 2] = [html.plotly_escape(detail) for detail in details]
    custom[:, 3] = np.asarray(counts).astype(int)
    return custom
