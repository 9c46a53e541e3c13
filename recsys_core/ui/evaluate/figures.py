"""The Evaluate page's Plotly figures, built from frames and drawn by the sections: per-user
histograms, slices, learning curves and a search's parallel coordinates. Every text a figure
shows is escaped for Plotly (:func:`recsys_core.html.plotly_escape`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from ...algorithms import get_algorithm
from ...html import plotly_escape
from .protocol import metric_words

COLOURS = tuple(qualitative.Plotly)
"""One colour per model, in the order the models are listed."""


def histogram_figure(frames: dict[str, pd.DataFrame], column: str, label: str) -> go.Figure:
    """Per-user histograms side by side (share of test users per 0.1 bin), one per model.

    Parameters
    ----------
    frames : dict of str to pd.DataFrame
        ``{model name: per-user frame}``, one row per test user.
    column : str
        The per-user column drawn (values in [0, 1]).
    label : str
        The metric in words (the x axis says "<label> per user").
    """
    fig = go.Figure()
    for position, (name, frame) in enumerate(frames.items()):
        fig.add_trace(
            go.Histogram(
                x=frame[column].to_numpy(dtype=float),
                name=plotly_escape(name),
                histnorm="percent",
                xbins={"start": 0.0, "end": 1.0 + 1e-9, "size": 0.1},
                marker_color=COLOURS[position % len(COLOURS)],
            )
        )
    fig.update_layout(
        barmode="group",
        bargap=0.15,
        height=340,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title=plotly_escape(f"{label} per user"),
        yaxis_title="% of test users",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def slices_figure(frame: pd.DataFrame, metric: str) -> go.Figure:
    """Bars of ``metric`` per slice, one colour per model (``frame``: one row per (model,
    slice) with ``slice``, ``definition`` and the metric)."""
    fig = go.Figure()
    order = list(dict.fromkeys(frame["slice"]))
    for position, (name, part) in enumerate(frame.groupby("model", sort=False)):
        part = part.set_index("slice").reindex(order)
        fig.add_trace(
            go.Bar(
                x=[plotly_escape(s) for s in order],
                y=part[metric],
                name=plotly_escape(name),
                marker_color=COLOURS[position % len(COLOURS)],
                text=[f"{v:.3f}" if pd.notna(v) else "" for v in part[metric]],
                textposition="outside",
                hovertext=[plotly_escape(d) for d in part["definition"]],
                hovertemplate="%{x}: %{y:.4f}<br>%{hovertext}",
            )
        )
    fig.update_layout(
        barmode="group",
        height=360,
        yaxis_title=plotly_escape(metric_words(metric)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def curve_figure(frame: pd.DataFrame, metric: str, title: str) -> go.Figure:
    """Train and test lines of one metric per epoch (``frame``: a learning curve's tidy rows)."""
    fig = go.Figure()
    for position, part in enumerate(("train", "test")):
        rows = frame[(frame["metric"] == metric) & (frame["split"] == part)].sort_values("epoch")
        fig.add_trace(
            go.Scatter(
                x=rows["epoch"],
                y=rows["value"],
                mode="lines+markers",
                name=part,
                line={"color": COLOURS[position], "width": 3 if part == "test" else 2},
            )
        )
    fig.update_layout(
        height=380,
        title=plotly_escape(title),
        xaxis_title="Training pass (epoch)",
        yaxis_title=plotly_escape(metric_words(metric)),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(dtick=1 if frame["epoch"].max() <= 20 else None)
    return fig


def parcoords_figure(
    table: pd.DataFrame, searched: Sequence[str], metric: str, algorithm: str
) -> go.Figure:
    """One line per candidate across its parameters, coloured and ended by the metric."""
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    dims = []
    for name in searched:
        column = table[name]
        param = schema.get(name)
        words_ = plotly_escape(param.label if param is not None else name)
        if param is not None and (param.choices is not None or param.type in (bool, str)):
            labels = sorted({str(v) for v in column})
            codes = [labels.index(str(v)) for v in column]
            dims.append(
                {
                    "label": words_,
                    "values": codes,
                    "tickvals": list(range(len(labels))),
                    "ticktext": [plotly_escape(label) for label in labels],
                }
            )
            continue
        values = column.astype(float)
        if param is not None and param.log and (values > 0).all():
            ticks = log_ticks(values)  # a log axis that reads in the parameter's own values
            dims.append(
                {
                    "label": f"{words_} (log scale)",
                    "values": np.log10(values),
                    "tickvals": np.log10(ticks).tolist(),
                    "ticktext": [f"{tick:g}" for tick in ticks],
                }
            )
        else:
            dims.append({"label": words_, "values": values})
    score = table[metric].astype(float).fillna(0.0)
    dims.append(
        {"label": plotly_escape(metric_words(metric)), "values": score, "tickformat": ".3f"}
    )
    fig = go.Figure(
        go.Parcoords(
            line={"color": score, "colorscale": "Viridis", "showscale": False},
            dimensions=dims,
        )
    )
    fig.update_layout(height=380, margin={"l": 60, "r": 40, "t": 50, "b": 20})
    return fig


def log_ticks(values: pd.Series) -> list[float]:
    """Tick values for a log axis over ``values``: the values themselves when few, else 1, 2
    and 5 times the powers of ten between their ends."""
    distinct = sorted({float(v) for v in values})
    if len(distinct) <= 6:
        return distinct
    low, high = distinct[0], distinct[-1]
    ticks = [
        m * 10.0**e
        for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for m in (1, 2, 5)
    ]
    inside = [t for t in ticks if low <= t <= high]
    return inside if len(inside) >= 2 else [low, high]
