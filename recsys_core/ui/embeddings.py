"""The Embeddings page's pieces: its settings (kept in the URL), the projection with a progress
bar, the plotly scatter, selection handling and the downloads.

The maths lives in :mod:`recsys_core.projection`; this module only draws. Figures are built by
:func:`build_figure` (plain plotly, no streamlit) so they can be tested and exported. Every
user-generated string in a figure (names, categories, tags, ids) goes through
:func:`recsys_core.html.plotly_escape` first: plotly renders hover labels and text as a small HTML
subset, and the HTML download embeds them in a script.

URL parameters (besides dataset, model, item, k): ``proj`` (pca, tsne, umap), ``points``
(items, users), ``colour`` (category, group, tag, popularity), ``tag`` (the tag to colour by),
``near`` (a tag whose nearest items are shown, lightfm with tag features), ``perplexity``,
``sample``. ``model=a,b`` draws b beside a, Procrustes-aligned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .. import html, projection
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UserError
from ..projection import Projection
from . import fragments, loaders, state, text

METHOD = "proj"
POINTS = "points"
COLOUR = "colour"
TAG = "tag"
NEAR = "near"
PERPLEXITY = "perplexity"
SAMPLE = "sample"
SECOND_KEY = "emb_second"

DEFAULT_PERPLEXITY = 30
TSNE_DEFAULT_SAMPLE = 25_000
"""t-SNE and UMAP map at most this many points unless asked for more (a stratified sample)."""
MIN_SAMPLE = 200
GRID_LIMIT = 60

COLOUR_LABELS = {
    "category": "Category",
    "group": "Planted group (demo)",
    "tag": "A tag",
    "popularity": "Popularity (log)",
    "activity": "Activity (log)",
}
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
"""24 colours (the demo has 12 categories and 24 planted groups): the first 15 are strong and
distinct; beyond 24 classes the rest are pooled as "other"."""
MAX_LEGEND = 24
"""Categorical colourings keep the largest classes and pool the rest as "other"."""


@dataclass(frozen=True)
class Settings:
    """What the user chose: method, points, colouring, and the method's parameters."""

    method: str = "tsne"
    points: str = "items"
    colour: str = "category"
    tag: str | None = None
    perplexity: int = DEFAULT_PERPLEXITY
    sample: int | None = None
    k: int = state.DEFAULT_K
    second: str | None = None


# ------------------------------------------------------------------------------------ settings
def colour_modes(data: Dataset, points: str) -> list[str]:
    """The colourings this dataset supports for items or users."""
    if points == "users":
        modes = ["activity"]
        if data.users is not None and "group" in data.users.columns:
            modes.insert(0, "group")
        return modes
    modes = ["category", "tag", "popularity"]
    if "group" in data.items.columns:
        modes.insert(1, "group")
    if not any(data.items["category"].astype(str) != ""):
        modes.remove("category")
    if not any(len(t) for t in data.items["tags"]):
        modes.remove("tag")
    return modes


def tag_options(data: Dataset) -> list[str]:
    """The dataset's tags, most frequent first."""
    counts = Counter(tag for tags in data.items["tags"] for tag in tags)
    return [tag for tag, _ in counts.most_common()]


def _clamped(low: int, high: int) -> Callable[[str], int]:
    """A URL parser for an int kept within [low, high] ("1e9" becomes high; "inf", "nan" and
    words are ValueError, so the default)."""

    def parse(raw: str) -> int:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return max(low, min(high, int(value)))

    return parse


def default_colour(modes: Sequence[str]) -> str:
    """The demo's planted groups when there are some, else the first colouring."""
    return "group" if "group" in modes else modes[0]


def controls(data: Dataset, model: Recommender) -> Settings:
    """Method, points, colouring and parameters, each bound to its URL parameter.

    Each control is set from the URL before it is drawn and writes the URL once when changed
    (:func:`recsys_core.ui.state.bound`); values equal to the default stay out of the URL.
    """
    methods = projection.available_methods()
    cols = st.columns([1, 0.8, 1.2, 1.1, 1.6], vertical_alignment="bottom")
    method = state.bound(
        cols[0].selectbox, "Projection", key="emb_method", param=METHOD,
        default="tsne" if "tsne" in methods else methods[0], valid=methods, options=methods,
        format_func=lambda m: projection.METHOD_LABELS[m],
        help="PCA is instant and keeps global distances; t-SNE shows neighbourhoods (clusters)."
        + ("" if "umap" in methods else f" UMAP: {projection.UMAP_HINT} to enable it."),
    )
    point_options = ["items", "users"] if model.supports("user_vectors") else ["items"]
    points = state.bound(
        cols[1].selectbox, "Points", key="emb_points", param=POINTS, default="items",
        valid=point_options, options=point_options, format_func=str.capitalize,
        reset=(COLOUR, TAG, SAMPLE),
    )
    modes = colour_modes(data, points)
    colour = state.bound(
        cols[2].selectbox, "Colour by", key=f"emb_colour_{points}", param=COLOUR,
        default=default_colour(modes), valid=modes, options=modes, format_func=COLOUR_LABELS.get,
    )
    tag = None
    if colour == "tag":
        tags = tag_options(data)
        tag = state.bound(cols[3].selectbox, "Tag", key="emb_tag", param=TAG, default=tags[0],
                          valid=tags, options=tags)
    second = second_model(data, cols[4])
    n = data.n_items if points == "items" else data.n_users
    low = min(MIN_SAMPLE, n)
    default_sample = min(n, TSNE_DEFAULT_SAMPLE)
    with st.expander("Parameters", icon=":material/tune:"):
        left, middle, right = st.columns(3)
        perplexity = state.bound(
            left.slider, "t-SNE perplexity", key="emb_perplexity", param=PERPLEXITY,
            default=DEFAULT_PERPLEXITY, parse=_clamped(5, 100), min_value=5, max_value=100,
            disabled=method != "tsne",
            help="About how many neighbours each point keeps close: low values show small, "
            "tight clusters; high values keep more of the global layout.",
        )
        sample = state.bound(
            middle.number_input, "Sample size", key=f"emb_sample_{points}", param=SAMPLE,
            default=default_sample, parse=_clamped(low, n), min_value=low, max_value=n,
            step=max(100, n // 100), disabled=method == "pca",
            help=f"t-SNE and UMAP map a stratified sample when this is below {n:,} (PCA always "
            "maps everything: it takes a moment). About a minute for 25,000 items on 2 cores.",
        )
        k = state.bound(
            right.slider, "Neighbours shown", key="emb_k", param=state.K,
            default=state.DEFAULT_K, parse=_clamped(state.K_MIN, state.K_MAX),
            min_value=state.K_MIN, max_value=state.K_MAX,
        )
    sample_value = None if method == "pca" or int(sample) >= n else int(sample)
    return Settings(method, points, colour, tag, int(perplexity), sample_value, int(k), second)


# ------------------------------------------------------------------------------------ the page
CHART = "emb_chart"
LAST = "emb_last_selection"
SELECT = ("points", "box", "lasso")


@fragments.fragment
def explorer(data: Dataset, spec: str, model: Recommender) -> None:
    """Everything below the title: the controls, the map(s), the selection and the grids.

    A fragment: changing a control, clicking or selecting on the map reruns this part only (the
    sidebar stays); a change of item or model reruns the page (see :mod:`.fragments`).
    """
    from . import widgets

    settings = controls(data, model)
    view = state.view()
    items_map = settings.points == "items"
    current = widgets.resolve_item(data, view.item) if items_map else None
    if items_map:
        widgets.item_picker(data, current, key="emb_item")

    result = compute(data, model, view.model, settings)
    if result is None:
        return
    near, tag_items = view.extra.get(NEAR) if model.supports("tags") else None, []
    if near:
        try:
            tag_items = model.items_for_tag(near, settings.k)[0]
        except UserError as error:
            text.warning(str(error))
            near = None
    neighbours, scores = (
        model.similar_items(current, settings.k) if current is not None else ([], [])
    )
    fig = build_figure(
        data, result, points=settings.points, colour=settings.colour, tag=settings.tag,
        highlight=current, neighbours=neighbours, near_tag=near, tag_items=tag_items,
        height=540 if settings.second else 640, legend=not settings.second,
    )
    left, right = st.columns(2) if settings.second else (st.container(), None)
    with left:
        event = st.plotly_chart(fig, key=CHART, on_select="rerun", selection_mode=SELECT)
        text.caption(" ".join(p for p in (summary(result, settings.points), result.note) if p))
    if right is not None:
        with right:
            side_by_side(data, spec, settings, result, current)

    # one clicked point becomes the selected item (or the focused tag); several are listed below
    rows, tags = selection(event)
    fresh = (tuple(rows), tuple(tags)) != st.session_state.get(LAST, ((), ()))
    st.session_state[LAST] = (tuple(rows), tuple(tags))
    if fresh and items_map and len(rows) == 1 and not tags and rows[0] != current:
        state.set_view(item=data.item_id(rows[0]))
        st.rerun()  # the item is carried by the sidebar's links: the whole page
    if fresh and items_map and len(tags) == 1 and not rows and result.tag_names:
        state.set_view(**{NEAR: result.tag_names[tags[0]]})
        st.rerun(scope="fragment")

    downloads(data, result, fig, settings.points, f"{view.model}-{settings.method}")
    if not items_map:
        user_list(data, view, rows)
        return
    if len(rows) > 1:
        shown = sorted(rows, key=lambda r: -data.item_counts[r])[:GRID_LIMIT]
        more = f" (the {len(shown)} most liked shown)" if len(rows) > len(shown) else ""
        st.subheader(f"{len(rows):,} items selected{more}", anchor=False)
        widgets.grid(data, spec, shown, page="embeddings", view=view, key="emb_selected_grid")
    if current is not None:
        st.subheader("Selected item", anchor=False)
        widgets.selected_item_panel(data, spec, current)
        text.subheader(f"Its {len(neighbours)} nearest, by {model.label or model.name}")
        if missing(result, neighbours):
            st.caption(f"{missing(result, neighbours)} of them are outside the sampled map.")
        widgets.grid(data, spec, neighbours, scores=scores, page="embeddings", view=view,
                     key="emb_neighbours_grid")
    if model.supports("tags"):
        tag_section(data, spec, model, view, near, tag_items)


def side_by_side(data: Dataset, spec: str, settings: Settings, result: Projection,
                 current: int | None) -> None:
    """The second model's map, turned to the first one's orientation."""
    try:
        other = loaders.model(settings.second, data, spec)
    except UserError as error:
        text.error(str(error))
        return
    other_result = compute(data, other, settings.second, settings, label="Second map: ")
    if other_result is None:
        return
    aligned = projection.align_projection(other_result, result)
    other_near = other.similar_items(current, settings.k)[0] if current is not None else []
    st.plotly_chart(
        build_figure(
            data, aligned, points=settings.points, colour=settings.colour, tag=settings.tag,
            highlight=current, neighbours=other_near, height=540, legend=False,
        ),
        key="emb_chart_second",
    )
    text.caption(f"{other.label or other.name}: {summary(other_result, settings.points)} "
                 f"{aligned.note}")


# ---------------------------------------------------------------------------------- projection
def compute(
    data: Dataset, model: Recommender, model_id: str, settings: Settings, label: str = ""
) -> Projection | None:
    """The projection (from the disk cache when it was made before), with a progress bar while
    it is computed; None after an st.error for a user-caused problem."""
    slot = st.empty()
    bar: list = []

    def progress(fraction: float, message: str) -> None:
        if fraction >= 1.0 and not bar:
            return  # a cache hit: nothing to show
        if not bar:
            bar.append(slot.progress(0.0, text=text.md_escape(message)))
        bar[0].progress(
            min(max(float(fraction), 0.0), 1.0), text=text.md_escape(f"{label}{message}")
        )

    strata = None
    if settings.sample is not None and settings.points == "items":
        categories = data.items["category"].astype(str).to_numpy()
        if (categories != "").any():
            strata = categories
    try:
        result = projection.project_model(
            model,
            settings.method,
            what=settings.points,
            perplexity=settings.perplexity,
            sample=settings.sample,
            strata=strata,
            model_id=model_id,
            progress=progress,
        )
    except UserError as error:
        slot.empty()
        text.error(str(error))
        return None
    slot.empty()
    return result


def summary(result: Projection, points: str) -> str:
    """One line under a map: what it is, how many points, how long it took."""
    noun = "items" if points == "items" else "users"
    shown = f"{len(result.indices):,} of {result.n_total:,} {noun}" if result.sampled else (
        f"{result.n_total:,} {noun}"
    )
    metric = result.params.get("metric", "cosine")
    timing = (
        f"read from the cache (computed in {result.seconds:.1f} s)"
        if result.cached
        else f"computed in {result.seconds:.1f} s"
    )
    return f"{result.label} of {shown}, {metric} · {timing}."


# -------------------------------------------------------------------------------------- figure
def _log_counts(counts: np.ndarray) -> np.ndarray:
    """log10 of the counts, with 0 drawn like 1 (the colour bar reads 1, 10, 100, ...)."""
    return np.log10(np.maximum(np.asarray(counts, dtype=np.float64), 1.0))


def _classes(values: np.ndarray, limit: int = MAX_LEGEND) -> tuple[np.ndarray, list[str]]:
    """Class labels with the rarest pooled as "other" beyond ``limit``; the order to draw."""
    values = np.asarray(values).astype(str)
    values = np.where(values == "", "(none)", values)
    counts = Counter(values.tolist())
    keep = [name for name, _ in counts.most_common(limit)]
    if len(counts) > limit:
        values = np.where(np.isin(values, keep), values, "other")
        keep.append("other")
    return values, sorted(keep, key=lambda c: (c in ("other", "(none)"), c.lower()))


def _class_colours(names: list[str]) -> dict[str, str]:
    """Distinct colours in name order; "other" and "(none)" in grey."""
    colours: dict[str, str] = {}
    for name in names:
        if name in ("other", "(none)"):
            colours[name] = OTHER
        else:
            colours[name] = PALETTE[len([c for c in colours.values() if c != OTHER]) % len(PALETTE)]
    return colours


def _hover(data: Dataset, rows: np.ndarray, points: str) -> tuple[np.ndarray, str]:
    """customdata [row, name, category, count] (strings escaped) and the hover template."""
    if points == "users":
        counts = data.user_counts[rows]
        names = [html.plotly_escape(u) for u in data.user_ids[rows]]
        extra = [""] * len(rows)
        template = "<b>User %{customdata[1]}</b><br>%{customdata[3]:,} interactions<extra></extra>"
    else:
        counts = data.item_counts[rows]
        names = [html.plotly_escape(n) for n in data.items["name"].to_numpy()[rows]]
        categories = data.items["category"].to_numpy()[rows]
        extra = [html.plotly_escape(c) or "no category" for c in categories]
        template = (
            "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]:,} likes"
            "<extra></extra>"
        )
    custom = np.empty((len(rows), 4), dtype=object)
    custom[:, 0] = rows.astype(int)
    custom[:, 1] = names
    custom[:, 2] = extra
    custom[:, 3] = counts.astype(int)
    return custom, template


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
) -> go.Figure:
    """The scatter of a projection.

    Parameters
    ----------
    data : Dataset
        For names, categories, tags and popularity.
    result : Projection
        Of the dataset's items (``points="items"``) or users.
    colour : str
        ``category``, ``group`` (the demo's planted groups), ``tag`` (has ``tag`` or not),
        ``popularity`` / ``activity`` (log of the interaction count).
    highlight : int, optional
        A row drawn as a large star, with lines to its ``neighbours`` (rows).
    near_tag, tag_items : optional
        A tag (lightfm) drawn highlighted with lines to its nearest items.
    show_tags : bool
        Draw the projection's tags (if any) as labelled diamonds.
    legend : bool or "below"
        Show the legend (at the right, or below the map).

    Every trace has ``meta``: ``"items"`` (the points; one trace per class when colouring by
    class), ``"lines"``, ``"neighbours"``, ``"selected"``, ``"tags"``, ``"tag-items"``.
    Item points carry ``customdata = [row, name, category, count]``; tag points
    ``[-1 - tag_row, name, "tag", 0]``, so a selection tells items and tags apart.
    """
    rows = result.indices
    xy = result.coords
    size = 7 if len(rows) <= 3_000 else 5 if len(rows) <= 10_000 else 3.5
    custom, template = _hover(data, rows, points)
    traces: list[go.Scattergl] = []

    def points_trace(mask, name, marker, showlegend=True):
        return go.Scattergl(
            x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name, meta="items",
            customdata=custom[mask], hovertemplate=template, showlegend=showlegend,
            marker=marker,
        )

    if colour in ("category", "group"):
        frame = data.items if points == "items" else data.users
        column = "group_label" if colour == "group" and "group_label" in frame.columns else colour
        values, names = _classes(frame[column].to_numpy()[rows])
        palette = _class_colours(names)
        for name in names:
            mask = values == name
            traces.append(points_trace(
                mask,
                html.plotly_escape(name),
                dict(size=size, color=palette[name], opacity=0.8),
            ))
    elif colour == "tag" and points == "items":
        tags = data.items["tags"].to_numpy()[rows]
        has = np.array([tag in t for t in tags], dtype=bool)
        traces.append(points_trace(~has, "other items", dict(size=size, color=OTHER, opacity=0.6)))
        traces.append(points_trace(
            has,
            f"tagged {html.plotly_escape(tag)}",
            dict(size=size + 1, color=HIGHLIGHT, opacity=0.9),
        ))
    else:
        counts = data.item_counts[rows] if points == "items" else data.user_counts[rows]
        logs = _log_counts(counts)
        top = max(1, math.ceil(float(logs.max()) if len(logs) else 1))
        ticks = list(range(0, top + 1))
        noun = "likes" if points == "items" else "interactions"
        traces.append(points_trace(
            np.ones(len(rows), bool),
            noun,
            dict(
                size=size, color=logs, colorscale="Viridis", opacity=0.85, showscale=True,
                colorbar=dict(
                    title=dict(text=noun), tickvals=ticks, ticktext=[f"{10**t:,}" for t in ticks],
                    thickness=14, len=0.6, y=0.5,
                ),
            ),
            showlegend=False,
        ))
        legend = "below" if legend else legend

    def located(indices):
        pos = result.positions(np.asarray(list(indices), dtype=np.int64))
        keep = ~np.isnan(pos[:, 0])
        return np.asarray(list(indices), dtype=np.int64)[keep], pos[keep]

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
        near_rows, near_xy = located(neighbours)
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
            item_rows, item_xy = located(tag_items)
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
        legend=dict(itemsizing="constant", font=dict(size=11), title=dict(text=""))
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


# ------------------------------------------------------------------------------------ selection
def selection(event: object) -> tuple[list[int], list[int]]:
    """(item or user rows, tag rows) selected in a chart event, in selection order, unique."""
    try:
        selected = event.selection.points  # type: ignore[attr-defined]
    except (AttributeError, KeyError):
        return [], []
    rows: list[int] = []
    tags: list[int] = []
    for point in selected or []:
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)):
            custom = custom[0] if custom else None
        if custom is None:
            continue
        try:
            value = int(custom)
        except (TypeError, ValueError):
            continue
        target = rows if value >= 0 else tags
        value = value if value >= 0 else -1 - value
        if value not in target:
            target.append(value)
    return rows, tags


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


def downloads(data: Dataset, result: Projection, fig: go.Figure, points: str, stem: str) -> None:
    """CSV of the projection and the figure as a self-contained HTML file (PNG: the camera)."""
    cols = st.columns([1, 1, 3], vertical_alignment="center")
    cols[0].download_button(
        "Projection (CSV)",
        data=lambda: projection_table(data, result, points).to_csv(index=False),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"dl_csv_{stem}",
    )
    cols[1].download_button(
        "Figure (HTML)",
        data=lambda: fig.to_html(include_plotlyjs=True, full_html=True),
        file_name=f"{stem}.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
        key=f"dl_html_{stem}",
    )
    cols[2].caption("PNG: the camera icon in the chart's toolbar saves the view as an image.")


def latent_models(data: Dataset, exclude: str | None = None) -> list[dict]:
    """Stored models of this dataset that have vectors to project (for "side by side")."""
    from ..algorithms import algorithms

    registry = algorithms()
    out = []
    for entry in loaders.model_entries(data.fingerprint):
        cls = registry.get(str(entry.get("algorithm")))
        if entry.get("damaged") or cls is None or entry["model_id"] == exclude:
            continue
        if cls.supports("item_vectors"):
            out.append(entry)
    return out


def second_model(data: Dataset, where: Any = None) -> str | None:
    """The "side by side with" picker; the second model lives in the URL (``model=a,b``).

    Set from the URL before drawing, written to it (once) by its callback, like
    :func:`recsys_core.ui.state.bound` but over the second place of ``model``.
    """
    where = where or st
    view = state.view()
    others = latent_models(data, exclude=view.model)
    labels = {entry["model_id"]: _model_label(entry) for entry in others}
    options = ["", *labels]  # "": no other model (None would show as no choice at all)
    current = view.models[1] if len(view.models) > 1 and view.models[1] in labels else ""
    if st.session_state.get(SECOND_KEY) != current:
        st.session_state[SECOND_KEY] = current

    def write() -> None:
        chosen = st.session_state.get(SECOND_KEY)
        first = state.view().model
        state.set_view(models=[first, *([chosen] if chosen else [])])

    choice = where.selectbox(
        "Side by side with",
        options,
        format_func=lambda i: labels.get(i, "no other model"),
        key=SECOND_KEY,
        on_change=write,
        help="Another model's map of the same items, turned to this one's orientation "
        "(orthogonal Procrustes over the items both maps show).",
    )
    return choice or None


def _model_label(entry: dict) -> str:
    from .sidebar import model_label

    return model_label(entry)


def missing(result: Projection, rows: Sequence[int]) -> int:
    """How many of ``rows`` are not on the (sampled) map."""
    if not len(rows):
        return 0
    return int(np.isnan(result.positions(np.asarray(rows))[:, 0]).sum())


def user_list(data: Dataset, view: state.View, rows: Sequence[int]) -> None:
    """Selected users as links to the Users page."""
    if not rows:
        return
    st.subheader(f"{len(rows):,} user(s) selected", anchor=False)
    lines = []
    for row in list(rows)[:GRID_LIMIT]:
        user = data.user_id(row)
        link = state.link("users", dataset=view.dataset, model=view.model, user=user)
        count = int(data.user_counts[row])
        lines.append(f"- [{text.md_escape(user)}]({link}): {count:,} interactions")
    st.markdown("\n".join(lines))


def tag_section(
    data: Dataset,
    spec: str,
    model: Recommender,
    view: state.View,
    near: str | None,
    tag_items: Sequence[int],
) -> None:
    """lightfm with tag features: "items nearest this tag", from a click on a tag or a picker."""
    from . import widgets

    st.subheader("Items nearest a tag", anchor=False)
    st.caption("The tags live in the same space as the items: click a tag's diamond on the map, "
               "or pick one here.")
    names = list(model.tag_names())
    state.bound(st.selectbox, "Tag", key="emb_near", param=NEAR, default=None, valid=names,
                options=names, placeholder="Choose a tag")
    if near:
        items, scores = model.items_for_tag(near, view.k)
        widgets.grid(data, spec, items, scores=scores, page="embeddings", view=view,
                     key="emb_tag_grid")
