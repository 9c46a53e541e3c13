"""What the Embeddings map shows: the canvas map's data (:func:`map_data`, for
:mod:`.scatter_component`) and the table of the CSV download (:func:`projection_table`).

No Streamlit calls here: each is a function of a dataset, a projection
(:class:`~recsys_core.projection.Projection`) and the page's choices (:class:`MapView`: points,
colouring, the selected item and its neighbours...), so each is tested directly. The Plotly
figure of the HTML download draws the same :class:`MapView` (:mod:`.embeddings_figure`), with
the same marks (:func:`marks`) and colours (:mod:`.embeddings_colours`). Strings from the data
reach the canvas map as they are (it shows them as text only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import words
from ..dataset import Dataset
from ..projection import Projection
from . import scatter_component
from .embeddings_colours import (
    HIGHLIGHT,
    NEIGHBOUR,
    TAG_COLOUR,
    Colouring,
    class_values,
    colouring,
)


@dataclass(frozen=True)
class MapView:
    """What the page chose to show on a map, for the canvas map and the Plotly figure alike.

    Attributes
    ----------
    points : {"items", "users"}
        What the projection's rows are.
    colour, tag : str
        The colouring (:func:`.embeddings_colours.colouring`).
    highlight : int, optional
        The selected item's row: a star, with lines to its ``neighbours`` (rows).
    near_tag, tag_items : optional
        A tag (lightfm) drawn with lines to its nearest items (rows).
    selected, selected_tags : sequence of int
        Rows and tag indices selected with the box or lasso (the rest is dimmed; canvas only).
    show_tags : bool
        Draw the projection's tags (if any) as labelled diamonds.
    height : int
        In pixels.
    legend : bool
        Show the legend.
    """

    points: str = "items"
    colour: str = "category"
    tag: str | None = None
    highlight: int | None = None
    neighbours: Sequence[int] = ()
    near_tag: str | None = None
    tag_items: Sequence[int] = ()
    selected: Sequence[int] = ()
    selected_tags: Sequence[int] = ()
    show_tags: bool = True
    height: int = 640
    legend: bool = True


@dataclass(frozen=True)
class Marks:
    """Where a map's marks go: the selected item, its neighbours, the tags and a tag's items.

    ``anchor`` is the selected item's place (None when none is selected or it is outside a
    sample); ``neighbour_rows`` [m] and ``neighbour_xy`` [m, 2] its neighbours on the map;
    ``tags`` whether the tags are drawn; ``near_at`` the chosen tag's place (None unless some
    of its items are on the map), with ``tag_item_rows`` and ``tag_item_xy``.
    """

    anchor: np.ndarray | None = None
    neighbour_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    neighbour_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    tags: bool = False
    near_at: np.ndarray | None = None
    tag_item_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tag_item_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))


def marks(result: Projection, view: MapView) -> Marks:
    """The marks of ``view`` on the map ``result`` (rows not on the map are left out)."""
    found: dict[str, Any] = {}
    if view.highlight is not None:
        at = result.positions([view.highlight])[0]
        found["anchor"] = None if np.isnan(at[0]) else at
        found["neighbour_rows"], found["neighbour_xy"] = located(result, view.neighbours)
    found["tags"] = bool(view.show_tags and result.tag_coords is not None and len(result.tag_names))
    if found["tags"] and view.near_tag is not None and view.near_tag in result.tag_names:
        rows, xy = located(result, view.tag_items)
        if len(rows):
            found["near_at"] = result.tag_coords[list(result.tag_names).index(view.near_tag)]
            found["tag_item_rows"], found["tag_item_xy"] = rows, xy
    return Marks(**found)


def located(result: Projection, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(the ``rows`` on the map, int64 [m]; their coordinates, float32 [m, 2]), in order."""
    places = result.places(np.asarray(list(rows), dtype=np.int64))
    return result.indices[places], result.coords[places]


def hover_text(data: Dataset, rows: np.ndarray, points: str) -> tuple[list, list, np.ndarray]:
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


# ------------------------------------------------------------------------------------ the map
def map_data(
    data: Dataset,
    result: Projection,
    view: MapView = MapView(),  # noqa: B008 - frozen, never changed
    *,
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
        Of the dataset's items (``view.points="items"``) or users.
    view : MapView
        What to show.
    banner : str
        A message over the map (a preview says so); ``interactive=False`` sends no clicks.
    heading : str
        A title in the map's corner (the model, when two maps stand side by side).
    stem : str
        The name of the map's PNG download.

    Returns
    -------
    (pa.Table, dict)
        One row per point of ``result`` (in ``result.indices`` order) and the meta.
    """
    rows = result.indices
    paint = colouring(data, rows, points=view.points, colour=view.colour, tag=view.tag)
    labels, details, counts = hover_text(data, rows, view.points)
    table = scatter_component.points_table(
        result.coords, rows, paint.codes, counts, labels, details
    )
    meta = _meta(result, view, paint)
    meta.update(banner=banner, heading=heading, interactive=bool(interactive), file_stem=stem)
    meta.update(_marks_meta(marks(result, view), result, view))
    return table, meta


def _meta(result: Projection, view: MapView, paint: Colouring) -> dict[str, Any]:
    """The map's meta but its marks: title, classes or scale, legend, wording, selection."""
    rows, items = result.indices, view.points == "items"
    noun = "items" if items else "users"
    present = np.bincount(paint.codes, minlength=len(paint.names))
    if paint.scale is None:
        classes = [
            {"name": name, "colour": colour, "count": int(count)}
            for name, colour, count in zip(paint.names, paint.colours, present)
        ]
    else:
        classes = [{"name": "", "colour": colour} for colour in paint.colours]
    meta: dict[str, Any] = {
        "title": f"{result.label} map of {len(rows):,} {noun}, coloured by "
        f"{words.colour_label(view.colour)[0].lower()}",
        "height": int(view.height),
        "classes": classes,
        "legend": bool(view.legend),
        "legend_title": paint.title,
        "legend_id": f"{view.points}:{view.colour}:{view.tag or ''}",
        "view_id": f"{result.key or result.method}:{view.points}:{len(rows)}",
        "label_prefix": "" if items else "User ",
        "count_one": "like" if items else "interaction",
        "count_many": "likes" if items else "interactions",
        "click_hint": "Click to select it" if items else "Click to list this user",
        "colours": {"highlight": HIGHLIGHT, "neighbour": NEIGHBOUR, "tag": TAG_COLOUR},
        "badge": (
            f"Sample: {len(rows):,} of {result.n_total:,} {noun} shown" if result.sampled else ""
        ),
        "selection": [int(p) for p in result.places(np.asarray(list(view.selected)))],
        "selected_tags": [int(t) for t in view.selected_tags],
    }
    if paint.scale is not None:
        meta["scale"] = {"colours": paint.scale["colours"], "ticks": paint.scale["ticks"]}
    return meta


def _marks_meta(found: Marks, result: Projection, view: MapView) -> dict[str, Any]:
    """The meta of the marks: ``highlight``, ``neighbours``, ``tags``, ``near``, ``near_items``
    and the legend's ``keys`` for them."""
    meta: dict[str, Any] = {}
    keys = []
    if found.anchor is not None:
        meta["highlight"] = {"x": float(found.anchor[0]), "y": float(found.anchor[1])}
        keys.append({"label": "Selected item", "colour": HIGHLIGHT, "shape": "star"})
    if len(found.neighbour_rows):
        meta["neighbours"] = _xy(found.neighbour_xy)
        keys.append(
            {
                "label": f"Its {len(found.neighbour_rows)} nearest (the model's own space)",
                "colour": NEIGHBOUR,
                "shape": "dot",
            }
        )
    if found.tags:
        meta["tags"] = {
            "x": [float(v) for v in result.tag_coords[:, 0]],
            "y": [float(v) for v in result.tag_coords[:, 1]],
            "names": [str(t) for t in result.tag_names],
        }
        keys.append(
            {
                "label": "Tags (click one for its nearest items)",
                "colour": TAG_COLOUR,
                "shape": "diamond",
            }
        )
    if found.near_at is not None:
        meta["near"] = {"x": float(found.near_at[0]), "y": float(found.near_at[1])}
        meta["near_items"] = _xy(found.tag_item_xy)
        keys.append(
            {"label": f"Nearest to the tag {view.near_tag}", "colour": TAG_COLOUR, "shape": "ring"}
        )
    meta["keys"] = keys
    return meta


def _xy(points: np.ndarray) -> list[dict]:
    return [{"x": float(x), "y": float(y)} for x, y in np.asarray(points, dtype=float)]


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
