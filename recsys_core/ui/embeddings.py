"""The Embeddings page's pieces: its settings (kept in the URL), the projection with progress
(and a first picture while a large one is computed), the map, selection and the downloads.

The maths lives in :mod:`recsys_core.projection`; what a map shows (its canvas data, the Plotly
figure of the HTML download, the CSV) in :mod:`.embeddings_map`; the map itself is the canvas
component of :mod:`.scatter_component` (no Plotly in the browser: its bundle alone made this
page the slowest). This module reads the controls, computes, draws and handles clicks.

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
import streamlit as st

from .. import projection, words
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UserError
from ..projection import Projection
from . import embeddings_map as emap
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
PARAMETERS_KEY = "emb_parameters"
"""Session state: whether the Parameters expander is open (its widgets are drawn only then)."""
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
    perplexity_parse, sample_parse = _clamped(5, 100), _clamped(low, n)
    k_parse = _clamped(state.K_MIN, state.K_MAX)
    box = st.expander("Parameters", icon=":material/tune:", key=PARAMETERS_KEY,
                      on_change="rerun")
    with box:
        if not box.open:  # drawn only when opened: three fewer widgets on every visit
            perplexity = state.read(PERPLEXITY, DEFAULT_PERPLEXITY, perplexity_parse)
            sample = state.read(SAMPLE, default_sample, sample_parse)
            k = state.read(state.K, state.DEFAULT_K, k_parse)
        else:
            left, middle, right = st.columns(3)
            perplexity = state.bound(
                left.slider, "t-SNE perplexity", key="emb_perplexity", param=PERPLEXITY,
                default=DEFAULT_PERPLEXITY, parse=perplexity_parse, min_value=5, max_value=100,
                disabled=method != "tsne",
                help="About how many neighbours each point keeps close: low values show "
                "small, tight clusters; high values keep more of the global layout.",
            )
            sample = state.bound(
                middle.number_input, "Sample size", key=f"emb_sample_{points}", param=SAMPLE,
                default=default_sample, parse=sample_parse, min_value=low, max_value=n,
                step=max(100, n // 100), disabled=method == "pca",
                help=f"t-SNE and UMAP map a stratified sample when this is below {n:,} (PCA "
                "always maps everything: it takes a moment). About a minute for 25,000 items "
                f"on 2 cores; above {FIRST_PICTURE_FROM:,} points a PCA map is shown while it "
                "is computed.",
            )
            k = state.bound(
                right.slider, "Neighbours shown", key="emb_k", param=state.K,
                default=state.DEFAULT_K, parse=k_parse,
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
    heading = (model.label or model.name) if settings.second else ""
    table, meta = emap.map_data(data, result, near_tag=near, tag_items=tag_items,
                                legend=not settings.second, stem=_stem(view, settings),
                                heading=heading, **options)
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
              figure=lambda: emap.build_figure(data, result, near_tag=near,
                                               tag_items=tag_items, **options))
    if items_map:  # under the map, so the map is in view on a laptop screen
        widgets.item_picker(data, current, key="emb_item")
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
        "it is ready."
    )
    table, meta = emap.map_data(
        data, first, points=settings.points, colour=settings.colour, tag=settings.tag,
        show_tags=False, banner=banner, interactive=False,
        height=540 if settings.second else 640, legend=not settings.second,
    )
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
    table, meta = emap.map_data(data, aligned, legend=False,
                                stem=f"{settings.second}-{settings.method}-{settings.points}",
                                heading=f"{other.label or other.name} (turned to match)",
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
        n = settings.sample or (data.n_items if settings.points == "items" else data.n_users)
        if preview is not None and n > FIRST_PICTURE_FROM:
            # before the background job starts: it would compete for the interpreter's lock
            slot.progress(0.0, text=text.md_escape(f"{label}Drawing a first picture (PCA)…"))
            preview(projection.project_model(model, "pca", what=settings.points,
                                             model_id=model_id))
        jobs = _jobs()
        job = jobs.attach(
            key, lambda progress: projection.project_model(model, method, progress=progress,
                                                           **kwargs)
        )
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


def downloads(data: Dataset, result: Projection, settings: Settings, stem: str, *,
              figure: Callable[[], go.Figure]) -> None:
    """CSV of the projection and the map as a self-contained HTML file (Plotly, built on
    request, server-side: the page itself never loads Plotly); PNG: the map's toolbar."""
    cols = st.columns([1, 1, 3], vertical_alignment="center")
    cols[0].download_button(
        "Projection (CSV)",
        data=lambda: emap.projection_table(data, result, settings.points).to_csv(index=False),
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
