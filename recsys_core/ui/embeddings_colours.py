"""How the Embeddings map colours its points: by class (category, taste group, one tag) with a
legend, or along a colour scale for counts (popularity, activity), and the colours of its marks.

No Streamlit here: :func:`colouring` is a function of a dataset, the rows on the map and the
page's choice, used by the canvas map (:mod:`.embeddings_map`) and the Plotly figure of the HTML
download (:mod:`.embeddings_figure`) alike. Classes are named in words (:mod:`recsys_core.words`):
taste groups are "Taste group 3 (Animals / scan)", numbered from 1 and sorted by number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import words
from ..dataset import Dataset

HIGHLIGHT = "#e4572e"
NEIGHBOUR = "#f2a541"
TAG_COLOUR = "#2b2d42"
OTHER = "#c9ccd3"
PALETTE = (
    # tableau 10, then five strong colours unlike them, then tableau 20's light half
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#000075",
    "#800000",
    "#469990",
    "#f032e6",
    "#ffe119",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
)
"""24 colours (the demo has 12 categories and 24 taste groups): the first 15 are strong and
distinct; beyond 24 classes the rest are pooled as "other"."""
MAX_LEGEND = 24
"""Categorical colourings keep the largest classes and pool the rest as "other"."""
VIRIDIS = (
    "#440154",
    "#482878",
    "#3e4989",
    "#31688e",
    "#26828e",
    "#1f9e89",
    "#35b779",
    "#6ece58",
    "#b5de2b",
    "#fde725",
)
"""Plotly's Viridis stops: counts (popularity, activity) are coloured along them."""
SCALE_STEPS = 256


def _log_counts(counts: np.ndarray) -> np.ndarray:
    """log10 of the counts, with 0 drawn like 1 (the colour bar reads 1, 10, 100, ...)."""
    return np.log10(np.maximum(np.asarray(counts, dtype=np.float64), 1.0))


def classes(values: np.ndarray, limit: int = MAX_LEGEND) -> tuple[np.ndarray, list[str]]:
    """(each value's class index into the names, the class names in drawing order): the
    ``limit`` largest classes, the rest pooled as "other"; sorted naturally ("Taste group 2"
    before "Taste group 10"), "other" and "(none)" last. Empty values are "(none)"."""
    text = pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str)
    codes, uniques = pd.factorize(text.where(text != "", "(none)"), sort=False)
    counts = np.bincount(codes, minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    keep = [str(uniques[i]) for i in order[:limit]]
    pooled = len(uniques) > limit
    names = sorted(
        keep + (["other"] if pooled else []),
        key=lambda c: (c in ("other", "(none)"), words.natural_key(c)),
    )
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
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in VIRIDIS], dtype=float)
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


def colouring(
    data: Dataset,
    rows: np.ndarray,
    *,
    points: str = "items",
    colour: str = "category",
    tag: str | None = None,
) -> Colouring:
    """The classes (or colour scale) of the points ``rows`` for a colouring key."""
    rows = np.asarray(rows, dtype=np.int64)
    title = words.colour_label(colour)[0]
    if colour in ("category", "group"):
        codes, names = classes(class_values(data, rows, points, colour))
        palette = _class_colours(names)
        return Colouring(codes, names, [palette[n] for n in names], title)
    if colour == "tag" and points == "items":
        tags = data.items["tags"].to_numpy()[rows]
        has = np.fromiter((tag in t for t in tags), dtype=bool, count=len(rows))
        return Colouring(
            has.astype(np.int64),
            ["other items", f"tagged {tag}"],
            [OTHER, HIGHLIGHT],
            f"{title}: {tag}",
        )
    counts = data.item_counts[rows] if points == "items" else data.user_counts[rows]
    logs = _log_counts(counts)
    top = max(1, math.ceil(float(logs.max()) if len(logs) else 1))
    codes = np.rint(logs / top * (SCALE_STEPS - 1)).astype(np.int64)
    noun = "likes per item" if points == "items" else "interactions per user"
    ticks = [{"at": t / top, "label": f"{10**t:,}"} for t in range(0, top + 1)]
    colours = _scale_colours()
    return Colouring(
        codes,
        [""] * SCALE_STEPS,
        colours,
        f"{title}: {noun} (log scale)",
        scale={
            "colours": colours[:: SCALE_STEPS // 16] + [colours[-1]],
            "ticks": ticks,
            "values": logs,
            "top": top,
        },
    )
