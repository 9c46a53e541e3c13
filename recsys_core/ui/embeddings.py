"""The Embeddings page's pieces: its settings (kept in the URL), the projection with progress
(and a first picture while a large one is computed), the map, selection and the downloads.

The maths lives in :mod:`recsys_core.projection`; this module only draws. The map is the canvas
component of :mod:`.scatter_component` (no Plotly in the browser: its bundle alone made this
page the slowest); :func:`map_data` builds what it draws (an Arrow table of points and a small
JSON meta, no streamlit) so it can be tested. :func:`build_figure` builds the same map as a
Plotly figure for the "Figure (HTML)" download only, server-side and when it is asked for;
every user-generated string in it goes through :func:`recsys_core.html.plotly_escape` (Plotly
renders labels as a small HTML subset). The canvas map shows strings as text only.

A t-SNE or UMAP projection that is not cached is computed in a background thread shared by the
server's sessions (:func:`compute`): the page shows its progress, a rerun (a colouring changed
meanwhile) finds the same computation instead of starting it again, and one nobody waits for
stops. Above :data:`FIRST_PICTURE_FROM` points a PCA map of every point is shown at once,
labelled as a preview, and replaced by the full map when it is ready.

URL parameters (besides dataset, model, item, k): ``proj`` (pca, tsne, umap), ``points``
(items, users), ``colour`` (category, group, tag, popularity, activity), ``tag`` (the tag to
colour by), ``near`` (a tag whose nearest items are shown, lightfm with tag features),
``perplexity``, ``sample``. ``model=a,b`` draws b beside a, Procrustes-aligned.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from .. import html, projection, words
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UserError
from ..projection import Projection
from . import fragments, loaders, scatter_component, state, text

if TYPE_CHECKING:
    import plotly.graph_objects as go

METHOD = "proj"
POINTS = "points"
COLOUR = "colour"
TAG = "tag"
NEAR = "near"
PERPLEXITY = "perplexity"
SAMPLE = "sample"
SECOND_KEY = "emb_second"
SELECTION = "emb_selection"
"""Session state: the rows last selected with the box or lasso, with the map they belong to."""

DEFAULT_PERPLEXITY = 30
TSNE_DEFAULT_SAMPLE = 25_000
"""t-SNE and UMAP map at most this many points unless asked for more (a stratified sample)."""
MIN_SAMPLE = 200
GRID_LIMIT = 60
FIRST_PICTURE_FROM = 20_000
"""A t-SNE or UMAP map of more points than this that is not cached yet first shows a PCA map of
every point (a second or two at 138k), replaced by the full map when it is ready."""
POLL_SECONDS = 0.2
ABANDON_SECONDS = 20.0
"""A background projection nobody has waited for this long stops (at its next progress report)."""

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


def colour_help(modes: Sequence[str]) -> str:
    """One line per colouring, in plain words (the select box's help)."""
    lines = []
    for mode in modes:
        label, help_ = words.colour_label(mode)
        lines.append(f"- **{label}**: {help_}" if help_ else f"- **{label}**")
    return "\n".join(lines)


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
    """The demo's taste groups when there are some, else the first colouring."""
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
        default=default_colour(modes), valid=modes, options=modes,
        format_func=lambda m: words.colour_label(m)[0], help=colour_help(modes),
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
            "maps everything: it takes a moment). About a minute for 25,000 items on 2 cores; "
            f"above {FIRST_PICTURE_FROM:,} points a PCA map is shown while it is computed.",
        )
        k = state.bound(
            right.slider, "Neighbours shown", key="emb_k", param=state.K,
            default=state.DEFAULT_K, parse=_clamped(state.K_MIN, state.K_MAX),
            min_value=state.K_MIN, max_value=state.K_MAX,
        )
    sample_value = None if method == "pca" or int(sample) >= n else int(sample)
    return Settings(method, points, colour, tag, int(perplexity), sample_value, int(k), second)


# ------------------------------------------------------------------------------------ the page
MAIN_KEY = "scatter_main"
SECOND_MAP_KEY = "scatter_second"
PREVIEW_KEY = "scatter_preview"


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

    left, right = st.columns(2) if settings.second else (st.container(), None)
    holder: list = []  # the first picture's place, only when one is drawn (see compute)

    def preview(first: Projection) -> None:
        if not holder:
            holder.append(left.empty())
        _draw_preview(holder[0], data, first, settings)

    with left:
        result = compute(data, model, view.model, settings, preview=preview)
    if result is None:
        if holder:
            holder[0].empty()
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
    rows, tags = selection(view, settings.points)
    options = dict(
        points=settings.points, colour=settings.colour, tag=settings.tag, highlight=current,
        neighbours=neighbours, selected=rows, selected_tags=tags,
        height=540 if settings.second else 640,
    )
    table, meta = map_data(data, result, near_tag=near, tag_items=tag_items,
                           legend=not settings.second, stem=_stem(view, settings), **options)
    # the map replaces the first picture, or is drawn where it always is: the same place in
    # every run keeps the component (its zoom, pan and tool) across reruns
    with holder[0].container() if holder else left:
        scatter_component.show(table, meta, key=MAIN_KEY, **_handlers(data, result, view,
                                                                       settings.points))
    with left:
        text.caption(" ".join(p for p in (summary(result, settings.points), result.note) if p))
    if right is not None:
        with right:
            side_by_side(data, spec, settings, result, current, options)

    downloads(data, result, settings, f"{view.model}-{settings.method}",
              figure=lambda: build_figure(data, result, near_tag=near, tag_items=tag_items,
                                          **options))
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


def _stem(view: state.View, settings: Settings) -> str:
    return f"{view.model}-{settings.method}-{settings.points}"


def _draw_preview(slot: Any, data: Dataset, first: Projection, settings: Settings) -> None:
    """The first picture (PCA of every point) while the full map is computed: no clicks."""
    noun = settings.points
    banner = (
        f"First picture: PCA of all {first.n_total:,} {noun}. The "
        f"{projection.METHOD_LABELS.get(settings.method, settings.method)} map replaces it when "
        "it is ready (progress below)."
    )
    table, meta = map_data(data, first, points=settings.points, colour=settings.colour,
                           tag=settings.tag, show_tags=False, banner=banner, interactive=False,
                           height=540 if settings.second else 640, legend=not settings.second)
    with slot.container():
        scatter_component.show(table, meta, key=PREVIEW_KEY)


def _handlers(data: Dataset, result: Projection, view: state.View, points: str) -> dict:
    """The map's click and selection callbacks (run before the rerun they cause)."""
    scope = _scope(view, points)
    n = data.n_items if points == "items" else data.n_users
    tag_names = list(result.tag_names)

    def clicked(kind: str, index: int) -> None:
        if kind == "tag":
            if index < len(tag_names):
                state.set_view(**{NEAR: tag_names[index]})  # this part reruns
            return
        if index >= n:
            return
        if points == "items":
            state.set_view(item=data.item_id(index))  # carried: the whole page reruns
        else:
            st.session_state[SELECTION] = {"scope": scope, "rows": [index], "tags": []}

    def selected(rows: list[int], tags: list[int]) -> None:
        st.session_state[SELECTION] = {
            "scope": scope,
            "rows": [r for r in rows if r < n],
            "tags": [t for t in tags if t < len(tag_names)],
        }

    return {"on_click": clicked, "on_select": selected}


def _scope(view: state.View, points: str) -> tuple:
    return (view.dataset, view.model, points)


def selection(view: state.View, points: str) -> tuple[list[int], list[int]]:
    """(item or user rows, tag indices) selected on this view's map with the box or lasso."""
    kept = st.session_state.get(SELECTION)
    if not isinstance(kept, dict) or kept.get("scope") != _scope(view, points):
        return [], []
    return list(kept.get("rows", [])), list(kept.get("tags", []))


def side_by_side(data: Dataset, spec: str, settings: Settings, result: Projection,
                 current: int | None, options: dict) -> None:
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
    table, meta = map_data(data, aligned, legend=False,
                           stem=f"{settings.second}-{settings.method}-{settings.points}",
                           **{**options, "neighbours": other_near})
    view = state.view()
    scatter_component.show(table, meta, key=SECOND_MAP_KEY,
                           **_handlers(data, aligned, view, settings.points))
    text.caption(f"{other.label or other.name}: {summary(other_result, settings.points)} "
                 f"{aligned.note}")


# ---------------------------------------------------------------------------------- projection
class _NotCached(Exception):
    """Raised by :func:`cached`'s progress callback: the projection would have to be computed."""


class _Abandoned(Exception):
    """A background projection nobody waits for any more."""


@dataclass
class _Job:
    """One projection computed in the background, shared by every session that waits for it."""

    future: Future = field(default_factory=Future)
    fraction: float = 0.0
    message: str = "Waiting for another map to finish…"
    polled: float = field(default_factory=time.monotonic)


class _Jobs:
    """The server's background projections, one at a time (each may use both cores)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = threading.Semaphore(1)
        self.jobs: dict[tuple, _Job] = {}

    def attach(self, key: tuple, run: Callable[[projection.Progress], Projection]) -> _Job:
        """The job computing ``key``, started with ``run(progress)`` unless one is under way."""
        with self.lock:
            job = self.jobs.get(key)
            if job is not None and not (job.future.done() and job.future.exception()):
                job.polled = time.monotonic()
                return job
            job = _Job()
            self.jobs[key] = job

        def progress(fraction: float, message: str) -> None:
            if time.monotonic() - job.polled > ABANDON_SECONDS:
                raise _Abandoned()
            job.fraction, job.message = float(fraction), str(message)

        def work() -> None:
            with self.running:
                try:
                    progress(0.0, "Starting…")
                    job.future.set_result(run(progress))
                except BaseException as error:  # noqa: BLE001 - handed to whoever waits
                    job.future.set_exception(error)

        threading.Thread(target=work, name="recsys-projection", daemon=True).start()
        return job

    def forget(self, key: tuple, job: _Job) -> None:
        """Drop a finished job (later visits read the disk cache)."""
        with self.lock:
            if self.jobs.get(key) is job:
                del self.jobs[key]


@st.cache_resource(show_spinner=False)
def _jobs() -> _Jobs:
    return _Jobs()


def cached(model: Recommender, method: str, **kwargs: Any) -> Projection | None:
    """The projection from the disk cache, or None when it would have to be computed.

    :func:`projection.project_model` reports 1.0 on a cache hit and starts at 0.0 when it has
    to compute: the progress callback stops it there, before any work.
    """

    def stop(fraction: float, message: str) -> None:
        if fraction < 1.0:
            raise _NotCached()

    try:
        return projection.project_model(model, method, progress=stop, **kwargs)
    except _NotCached:
        return None


def compute(
    data: Dataset,
    model: Recommender,
    model_id: str,
    settings: Settings,
    label: str = "",
    preview: Callable[[Projection], None] | None = None,
) -> Projection | None:
    """The projection (from the disk cache when it was made before), with a progress bar while
    it is computed; None after an st.error for a user-caused problem.

    PCA is computed in the script run. t-SNE and UMAP are computed in the background
    (:class:`_Jobs`) while this run shows the progress; with more than
    :data:`FIRST_PICTURE_FROM` points, ``preview`` is first called with a PCA map of every
    point (the caller draws it where the full map will go).
    """
    slot = st.empty()
    strata = None
    if settings.sample is not None and settings.points == "items":
        categories = data.items["category"].astype(str).to_numpy()
        if (categories != "").any():
            strata = categories
    kwargs = dict(what=settings.points, perplexity=settings.perplexity, sample=settings.sample,
                  strata=strata, model_id=model_id)
    method = settings.method
    try:
        hit = cached(model, method, **kwargs)
        if hit is not None:
            return hit
        if method == "pca":
            return projection.project_model(model, method, progress=_bar(slot, label), **kwargs)
        key = (data.fingerprint, model_id or id(model), method, settings.points,
               settings.perplexity, settings.sample)
        jobs = _jobs()
        job = jobs.attach(
            key, lambda progress: projection.project_model(model, method, progress=progress,
                                                           **kwargs)
        )
        n = settings.sample or (data.n_items if settings.points == "items" else data.n_users)
        if preview is not None and n > FIRST_PICTURE_FROM:
            slot.progress(0.0, text=text.md_escape(f"{label}Drawing a first picture (PCA)…"))
            first = projection.project_model(model, "pca", what=settings.points,
                                             model_id=model_id)
            job.polled = time.monotonic()
            preview(first)
        show = _bar(slot, label)
        while True:
            job.polled = time.monotonic()
            show(job.fraction, job.message)
            try:
                result = job.future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                continue
            jobs.forget(key, job)
            return result
    except UserError as error:
        slot.empty()
        text.error(str(error))
        return None
    finally:
        slot.empty()


def _bar(slot: Any, label: str) -> projection.Progress:
    """A progress callback drawing into ``slot`` (nothing for an instant cache read)."""
    bar: list = []

    def progress(fraction: float, message: str) -> None:
        if fraction >= 1.0 and not bar:
            return  # a cache hit: nothing to show
        value = min(max(float(fraction), 0.0), 1.0)
        message = text.md_escape(f"{label}{message}")
        if not bar:
            bar.append(slot.progress(value, text=message))
        else:
            bar[0].progress(value, text=message)

    return progress


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


# ------------------------------------------------------------------------------------ colours
def _log_counts(counts: np.ndarray) -> np.ndarray:
    """log10 of the counts, with 0 drawn like 1 (the colour bar reads 1, 10, 100, ...)."""
    return np.log10(np.maximum(np.asarray(counts, dtype=np.float64), 1.0))


def _classes(values: np.ndarray, limit: int = MAX_LEGEND) -> tuple[np.ndarray, list[str]]:
    """Class labels with the rarest pooled as "other" beyond ``limit``; the order to draw
    (natural: "Taste group 2" before "Taste group 10"; "other" and "(none)" last)."""
    values = np.asarray(values).astype(str)
    values = np.where(values == "", "(none)", values)
    counts = Counter(values.tolist())
    keep = [name for name, _ in counts.most_common(limit)]
    if len(counts) > limit:
        values = np.where(np.isin(values, keep), values, "other")
        keep.append("other")
    return values, sorted(keep, key=lambda c: (c in ("other", "(none)"), words.natural_key(c)))


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
    if colour == "group":
        names = (getattr(data, "extras", None) or {}).get("group_labels")
        return np.asarray(words.group_labels(values, names), dtype=object)
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
        values, names = _classes(class_values(data, rows, points, colour))
        palette = _class_colours(names)
        index = {name: i for i, name in enumerate(names)}
        codes = np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))
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


def downloads(data: Dataset, result: Projection, settings: Settings, stem: str, *,
              figure: Callable[[], go.Figure]) -> None:
    """CSV of the projection and the map as a self-contained HTML file (Plotly, built on
    request, server-side: the page itself never loads Plotly); PNG: the map's toolbar."""
    cols = st.columns([1, 1, 3], vertical_alignment="center")
    cols[0].download_button(
        "Projection (CSV)",
        data=lambda: projection_table(data, result, settings.points).to_csv(index=False),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"dl_csv_{stem}",
    )
    cols[1].download_button(
        "Figure (HTML)",
        data=lambda: figure().to_html(include_plotlyjs=True, full_html=True),
        file_name=f"{stem}.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
        key=f"dl_html_{stem}",
        help="An interactive copy of the map to share (zoom, hover), in one HTML file.",
    )
    cols[2].caption("PNG: the download button in the map's toolbar saves the view as an image.")


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
