"""The Data page's figures: dataset figures, long tails, top items, categories, tags, k-core.

Everything is computed here, vectorised over the CSR arrays, and returned as numpy arrays or
small DataFrames; the plotly figure builders at the end only draw them. No Streamlit.

The long tail is drawn as a rank plot (count of the r-th most active user / most popular item
against r, both axes logarithmic): a straight line is a power law, a flat head followed by a
cliff is a catalogue with no tail. For big catalogues the ranks are thinned to a log-spaced
subset (every rank at the head, fewer further out), which looks the same on log axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .dataset import Dataset
from .errors import ParameterError
from .html.cards import category_colour
from .html.markup import plotly_escape
from .preprocess import KcoreReport

__all__ = [
    "ORIGINAL_POST",
    "category_counts",
    "category_figure",
    "figures",
    "head_share",
    "kcore_table",
    "log_binned",
    "long_tail_figure",
    "rank_counts",
    "tag_counts",
    "tag_figure",
    "top_items",
]

ORIGINAL_POST = {
    "title": "Intro to Implicit Matrix Factorization: Classic ALS with Sketchfab Models",
    "url": "https://www.ethanrosenthal.com/2016/10/19/implicit-mf-part-1/",
    "min_user": 5,
    "min_item": 5,
    "users_before": 62_583,
    "items_before": 28_806,
    "density_before": 0.00035,
    "users_after": 15_274,
    "items_after": 25_655,
    "density_after": 0.00140,
}
"""The WRMF post's thresholding of the Sketchfab likes (``threshold_likes(df, 5, 5)``)."""


# ------------------------------------------------------------------------------------ figures
def figures(data: Dataset) -> dict[str, Any]:
    """The headline figures: users, items, interactions, density and the label.

    Returns
    -------
    dict
        ``n_users``, ``n_items``, ``n_interactions`` (int), ``density`` (float in [0, 1]),
        ``label`` (str, "... (synthetic demo data)" for the demo), ``synthetic`` (bool),
        ``users_without``, ``items_without`` (int: rows / columns with no interaction).
    """
    return {
        "n_users": data.n_users,
        "n_items": data.n_items,
        "n_interactions": data.n_interactions,
        "density": data.density,
        "label": data.label,
        "synthetic": bool(data.synthetic),
        "users_without": int(np.count_nonzero(data.user_counts == 0)),
        "items_without": int(np.count_nonzero(data.item_counts == 0)),
    }


def _counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 1:
        raise ParameterError(f"counts must be one-dimensional, got shape {counts.shape}.")
    if counts.size and (counts.min() < 0):
        raise ParameterError("counts must be >= 0 (interactions per user or per item).")
    return counts.astype(np.int64, copy=False)


def rank_counts(counts: np.ndarray, max_points: int | None = 2000) -> pd.DataFrame:
    """Counts sorted from largest to smallest, against their rank (for a log-log long tail).

    Parameters
    ----------
    counts : array of int, shape [n]
        Interactions per user (``Dataset.user_counts``) or per item (``Dataset.item_counts``).
    max_points : int or None
        Keep at most about this many ranks, log-spaced (every rank at the head); None keeps all.
        The first and the last rank are always kept.

    Returns
    -------
    pd.DataFrame
        Columns ``rank`` (1-based, int64) and ``count`` (int64), descending ``count``. Zero counts
        are left out (they cannot be drawn on a log axis; :func:`figures` counts them).
    """
    ordered = np.sort(_counts(counts))[::-1]
    ordered = ordered[ordered > 0]
    ranks = np.arange(1, len(ordered) + 1, dtype=np.int64)
    if max_points is not None and len(ordered) > max_points > 1:
        spaced = np.geomspace(1, len(ordered), num=max_points)
        keep = np.unique(np.rint(spaced).astype(np.int64)) - 1
        ordered, ranks = ordered[keep], ranks[keep]
    return pd.DataFrame({"rank": ranks, "count": ordered.astype(np.int64)})


def log_binned(counts: np.ndarray, bins_per_decade: int = 8) -> pd.DataFrame:
    """A histogram of counts in logarithmic bins (how many users have 1, 2-3, 4-7 ... interactions).

    Parameters
    ----------
    counts : array of int, shape [n]
    bins_per_decade : int
        Bins per factor of ten; bin edges are whole numbers, so the first bins hold one value each.

    Returns
    -------
    pd.DataFrame
        Columns ``low`` and ``high`` (inclusive whole-number edges), ``n`` (how many counts fall
        in the bin) and ``density`` (``n`` divided by the bin's width, for a log-log plot of the
        distribution). Zero counts are left out; ``n`` sums to the number of non-zero counts.
    """
    if bins_per_decade < 1:
        raise ParameterError(f"bins_per_decade must be >= 1, got {bins_per_decade!r}.")
    values = _counts(counts)
    values = values[values > 0]
    if values.size == 0:
        return pd.DataFrame({"low": [], "high": [], "n": [], "density": []})
    top = int(values.max())
    n_edges = max(2, int(np.ceil(np.log10(top + 1) * bins_per_decade)) + 1)
    edges = np.unique(np.floor(np.geomspace(1, top + 1, num=n_edges)).astype(np.int64))
    if edges[-1] <= top:
        edges = np.append(edges, top + 1)
    n = np.histogram(values, bins=edges)[0]
    low, high = edges[:-1], edges[1:] - 1
    frame = pd.DataFrame({"low": low, "high": high, "n": n.astype(np.int64)})
    frame["density"] = frame["n"] / (frame["high"] - frame["low"] + 1)
    return frame[frame["n"] > 0].reset_index(drop=True)


def head_share(counts: np.ndarray, fractions: Sequence[float] = (0.01, 0.1, 0.2)) -> dict:
    """Share of all interactions held by the top fraction of rows (e.g. the top 1% of items).

    Returns
    -------
    dict
        ``{fraction: share}``, share in [0, 1]; the top fraction is ``ceil(fraction * n)`` rows.
    """
    ordered = np.sort(_counts(counts))[::-1]
    total = ordered.sum()
    out = {}
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ParameterError(f"fractions must be in (0, 1], got {fraction!r}.")
        top = int(np.ceil(fraction * len(ordered)))
        out[fraction] = float(ordered[:top].sum() / total) if total else 0.0
    return out


def top_items(data: Dataset, n: int = 24) -> np.ndarray:
    """Indices of the ``n`` most popular items (most interactions first; ties by index).

    Returns
    -------
    np.ndarray of int64, shape [min(n, n_items)]
    """
    if n < 0:
        raise ParameterError(f"n must be >= 0, got {n!r}.")
    order = np.argsort(-data.item_counts, kind="stable")
    return order[:n].astype(np.int64)


# ----------------------------------------------------------------------- categories and tags
def category_counts(data: Dataset) -> pd.DataFrame:
    """Items and interactions per category, most items first.

    Returns
    -------
    pd.DataFrame
        Columns ``category`` (str; items without one are counted as "(none)"), ``items`` and
        ``interactions`` (int64). ``items`` sums to ``n_items``, ``interactions`` to
        ``n_interactions``.
    """
    category = data.items["category"].fillna("").astype(str).str.strip()
    category = category.where(category != "", "(none)")
    frame = pd.DataFrame({"category": category.to_numpy(), "interactions": data.item_counts})
    grouped = frame.groupby("category", sort=False).agg(
        items=("interactions", "size"), interactions=("interactions", "sum")
    )
    grouped = grouped.reset_index().astype({"items": np.int64, "interactions": np.int64})
    return grouped.sort_values(
        ["items", "interactions", "category"], ascending=[False, False, True]
    ).reset_index(drop=True)


def tag_counts(data: Dataset, top: int | None = 20) -> pd.DataFrame:
    """Items and interactions per tag, most items first (an item counts once per distinct tag).

    Parameters
    ----------
    top : int or None
        Keep the ``top`` most used tags; None keeps them all.

    Returns
    -------
    pd.DataFrame
        Columns ``tag`` (str), ``items`` (int64: items carrying it) and ``interactions`` (int64:
        interactions on those items). Empty (with those columns) when no item has tags.
    """
    tags = data.items["tags"].map(_tag_list)
    frame = pd.DataFrame({"tag": tags.to_numpy(), "interactions": data.item_counts})
    frame = frame.explode("tag").dropna(subset=["tag"])
    frame["tag"] = frame["tag"].astype(str).str.strip()
    frame = frame[frame["tag"] != ""]
    frame = frame.assign(item=frame.index).drop_duplicates(subset=["item", "tag"])
    if frame.empty:
        return pd.DataFrame(
            {
                "tag": pd.Series([], dtype=str),
                "items": pd.Series([], dtype=np.int64),
                "interactions": pd.Series([], dtype=np.int64),
            }
        )
    grouped = frame.groupby("tag", sort=False).agg(
        items=("item", "size"), interactions=("interactions", "sum")
    )
    grouped = grouped.reset_index().astype({"items": np.int64, "interactions": np.int64})
    grouped = grouped.sort_values(
        ["items", "interactions", "tag"], ascending=[False, False, True]
    ).reset_index(drop=True)
    return grouped if top is None else grouped.head(int(top))


def _tag_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    try:
        return list(value)
    except TypeError:
        return []


# ------------------------------------------------------------------------------------- k-core
def kcore_table(report: KcoreReport) -> pd.DataFrame:
    """The before / after table of a k-core preview.

    Returns
    -------
    pd.DataFrame
        Indexed ``["before", "after"]``, columns ``users``, ``items``, ``interactions`` (int64),
        ``density (%)`` (float, percent) and ``rounds`` (0 before; the report's rounds after).
    """
    return pd.DataFrame(
        {
            "users": [report.users_before, report.users_after],
            "items": [report.items_before, report.items_after],
            "interactions": [report.interactions_before, report.interactions_after],
            "density (%)": [100.0 * report.density_before, 100.0 * report.density_after],
            "rounds": [0, report.rounds],
        },
        index=pd.Index(["before", "after"], name="k-core"),
    ).astype({"users": np.int64, "items": np.int64, "interactions": np.int64, "rounds": np.int64})


# ------------------------------------------------------------------------------------ plotly
_USER_COLOUR = "#2563eb"
_ITEM_COLOUR = "#ea580c"


def _layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        showlegend=False,
        template="plotly_white",
    )
    return figure


def long_tail_figure(
    counts: np.ndarray,
    what: str = "items",
    *,
    kind: str = "rank",
    max_points: int | None = 2000,
    height: int = 360,
) -> go.Figure:
    """Interactions per user or per item: the long tail.

    Parameters
    ----------
    counts : array of int, shape [n]
    what : {"users", "items"}
        Picks the wording and the colour.
    kind : {"rank", "histogram"}
        "rank": a log-log rank plot (:func:`rank_counts`); "histogram": how many users / items
        fall in each logarithmic bin of counts (:func:`log_binned`), bins labelled "4-7".
    """
    if what not in {"users", "items"}:
        raise ParameterError(f"what must be 'users' or 'items', got {what!r}.")
    if kind not in {"rank", "histogram"}:
        raise ParameterError(f"kind must be 'rank' or 'histogram', got {kind!r}.")
    noun = "user" if what == "users" else "item"
    colour = _USER_COLOUR if what == "users" else _ITEM_COLOUR
    if kind == "histogram":
        bins = log_binned(counts)
        labels = [
            f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}" for lo, hi in zip(bins["low"], bins["high"])
        ]
        figure = go.Figure(
            go.Bar(
                x=labels,
                y=bins["n"],
                marker={"color": colour},
                hovertemplate=f"%{{y:,}} {what} with %{{x}} interactions<extra></extra>",
            )
        )
        figure.update_xaxes(title=f"interactions per {noun} (log bins)", type="category")
        figure.update_yaxes(title=what)
        return _layout(figure, f"Interactions per {noun}", height)
    ranked = rank_counts(counts, max_points=max_points)
    figure = go.Figure(
        go.Scattergl(
            x=ranked["rank"],
            y=ranked["count"],
            mode="lines+markers",
            marker={"size": 4, "color": colour},
            line={"width": 1.5, "color": colour},
            hovertemplate=f"{noun} #%{{x:,}}<br>%{{y:,}} interactions<extra></extra>",
        )
    )
    order = "most active first" if what == "users" else "most popular first"
    figure.update_xaxes(type="log", title=f"{noun} rank ({order})", **_log_ticks(ranked["rank"]))
    figure.update_yaxes(type="log", title="interactions", **_log_ticks(ranked["count"]))
    return _layout(figure, f"Interactions per {noun}", height)


def _log_ticks(values: pd.Series) -> dict:
    """Ticks at 1, 2, 5, 10, 20, 50 ... over the values' range (fewer over many decades),
    labelled in full ("2,000") rather than plotly's bare "2" and "5" between decades."""
    if len(values) == 0:
        return {}
    low, high = float(values.min()), float(values.max())
    decades = np.log10(high / low) if low > 0 else 0.0
    mantissas = (1, 2, 5) if decades <= 3 else (1, 3) if decades <= 5 else (1,)
    ticks = [
        mantissa * 10**exponent
        for exponent in range(int(np.floor(np.log10(low))), int(np.floor(np.log10(high))) + 1)
        for mantissa in mantissas
        if low / 1.5 <= mantissa * 10**exponent <= high * 1.5
    ]
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [f"{t:,}" for t in ticks]}


def _bar(
    frame: pd.DataFrame, label: str, title: str, colour: str | list[str], height: int
) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=frame["items"],
            y=[plotly_escape(value) for value in frame[label]],  # names are data: text only
            orientation="h",
            marker={"color": colour},
            customdata=frame[["interactions"]].to_numpy(),
            hovertemplate=(
                "%{y}<br>%{x:,} items<br>%{customdata[0]:,} interactions<extra></extra>"
            ),
        )
    )
    figure.update_yaxes(autorange="reversed", title=None, automargin=True)
    figure.update_xaxes(title="items")
    return _layout(figure, title, height)


def category_figure(frame: pd.DataFrame, *, height: int | None = None) -> go.Figure:
    """Horizontal bars of items per category (from :func:`category_counts`)."""
    height = height or max(240, 60 + 26 * len(frame))
    colours = [category_colour(c) for c in frame["category"]]  # as on the thumbnails
    return _bar(frame, "category", "Items per category", colours, height)


def tag_figure(frame: pd.DataFrame, *, height: int | None = None) -> go.Figure:
    """Horizontal bars of items per tag (from :func:`tag_counts`)."""
    height = height or max(240, 60 + 22 * len(frame))
    return _bar(frame, "tag", f"Top {len(frame)} tags", _ITEM_COLOUR, height)
