"""The Embeddings page below its title: the controls (:mod:`.embeddings_controls`), the
projection with progress (and a first picture while a large one is computed), the map, the
second model's map beside it, the selection, the grids and the downloads.

The maths lives in :mod:`recsys_core.projection` (the background computations and the cache in
:mod:`recsys_core.projection.jobs`); what a map shows (its canvas data, the CSV) in
:mod:`.embeddings_map`, the Plotly figure of the HTML download in :mod:`.embeddings_figure`; the
map itself is the canvas component of :mod:`.scatter_component` (no Plotly in the browser: its
bundle alone made this page the slowest). This module draws and handles clicks.

A t-SNE or UMAP projection that is not cached is computed in a background job shared by the
server's sessions (:func:`compute`): the page shows its progress, a rerun (a colouring changed
meanwhile) finds the same computation instead of starting it again, and one nobody waits for
stops. Above :data:`recsys_core.projection.jobs.FIRST_PICTURE_FROM` points a PCA map of every
point is shown at once, labelled as a preview, and replaced by the full map when it is ready.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import streamlit as st

from .. import projection
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UserError
from ..projection import Projection, jobs
from . import fragments, loaders, scatter_component, state, text, widgets
from .embeddings_controls import NEAR, Settings, controls
from .embeddings_figure import build_figure
from .embeddings_map import MapView, map_data, projection_table

SELECTION = "emb_selection"
"""Session state: the rows last selected with the box or lasso, with the map they belong to."""
GRID_LIMIT = 60
MAIN_KEY = "scatter_main"
SECOND_MAP_KEY = "scatter_second"
PREVIEW_KEY = "scatter_preview"


@fragments.fragment
def explorer(data: Dataset, spec: str, model: Recommender) -> None:
    """Everything below the title: the controls, the map(s), the selection and the grids.

    A fragment: changing a control, clicking or selecting on the map reruns this part only (the
    sidebar stays); a change of item or model reruns the page (see :mod:`.fragments`).
    """
    settings = controls(data, model)
    view = state.view()
    items_map = settings.points == "items"
    current = widgets.resolve_item(data, view.item) if items_map else None
    left, right = st.columns(2) if settings.second else (st.container(), None)
    result, holder = _projection(data, model, view, settings, left)
    if result is None:
        return
    near, tag_items = _near_tag(model, view, settings.k)
    neighbours, scores = (
        model.similar_items(current, settings.k) if current is not None else ([], [])
    )
    rows, tags = selection(view, settings.points)
    shown = MapView(
        points=settings.points,
        colour=settings.colour,
        tag=settings.tag,
        highlight=current,
        neighbours=neighbours,
        near_tag=near,
        tag_items=tag_items,
        selected=rows,
        selected_tags=tags,
        height=540 if settings.second else 640,
        legend=not settings.second,
    )
    _main_map(data, model, view, settings, result, shown, left, holder)
    if right is not None:
        with right:
            side_by_side(data, spec, settings, result, current, shown)
    alone = replace(shown, legend=True)  # the download stands alone: its legend is shown
    stem = f"{view.model}-{settings.method}"
    downloads(data, result, settings, stem, figure=lambda: build_figure(data, result, alone))
    if items_map:  # under the map, so the map is in view on a laptop screen
        widgets.item_picker(data, current, key="emb_item")
        _item_grids(data, spec, model, view, result, rows, current, neighbours, scores)
        if model.supports("tags"):
            tag_section(data, spec, model, view, near)
    else:
        user_list(data, view, rows)


def _projection(
    data: Dataset, model: Recommender, view: state.View, settings: Settings, left: Any
) -> tuple[Projection | None, Any]:
    """(the first model's projection, None after an error; the first picture's place, or None
    when none was drawn): the map goes where the first picture was."""
    holder: list = []  # the first picture's place, only when one is drawn (see compute)

    def preview(first: Projection) -> None:
        if not holder:
            holder.append(left.empty())
        _draw_preview(holder[0], data, first, settings)

    with left:
        result = compute(data, model, view.model, settings, preview=preview)
    if result is None and holder:
        holder[0].empty()
    return result, holder[0] if holder else None


def _near_tag(model: Recommender, view: state.View, k: int) -> tuple[str | None, list]:
    """(the tag whose nearest items are shown, those items): lightfm with tag features."""
    near = view.extra.get(NEAR) if model.supports("tags") else None
    if not near:
        return None, []
    try:
        return near, model.items_for_tag(near, k)[0]
    except UserError as error:
        text.warning(str(error))
        return None, []


def _main_map(
    data: Dataset,
    model: Recommender,
    view: state.View,
    settings: Settings,
    result: Projection,
    shown: MapView,
    left: Any,
    holder: Any,
) -> None:
    """The first model's map and the line under it. The map replaces the first picture, or is
    drawn where it always is: the same place in every run keeps the component (its zoom, pan
    and tool) across reruns."""
    heading = (model.label or model.name) if settings.second else ""
    stem = f"{view.model}-{settings.method}-{settings.points}"
    table, meta = map_data(data, result, shown, stem=stem, heading=heading)
    handlers = _handlers(data, result, view, settings.points)
    with holder.container() if holder is not None else left:
        scatter_component.show(table, meta, key=MAIN_KEY, **handlers)
    with left:
        text.caption(" ".join(p for p in (summary(result, settings.points), result.note) if p))


def _item_grids(
    data: Dataset,
    spec: str,
    model: Recommender,
    view: state.View,
    result: Projection,
    rows: Sequence[int],
    current: int | None,
    neighbours: Sequence[int],
    scores: Sequence[float],
) -> None:
    """The items selected on the map, then the selected item and its nearest."""
    if len(rows) > 1:
        shown = sorted(rows, key=lambda r: -data.item_counts[r])[:GRID_LIMIT]
        more = f" (the {len(shown)} most liked shown)" if len(rows) > len(shown) else ""
        st.subheader(f"{len(rows):,} items selected{more}", anchor=False)
        widgets.grid(data, spec, shown, page="embeddings", view=view, key="emb_selected_grid")
    if current is None:
        return
    st.subheader("Selected item", anchor=False)
    widgets.selected_item_panel(data, spec, current)
    text.subheader(f"Its {len(neighbours)} nearest, by {model.label or model.name}")
    outside = result.missing(neighbours)
    if outside:
        st.caption(f"{outside} of them are outside the sampled map.")
    widgets.grid(
        data,
        spec,
        neighbours,
        scores=scores,
        page="embeddings",
        view=view,
        key="emb_neighbours_grid",
    )


def _draw_preview(slot: Any, data: Dataset, first: Projection, settings: Settings) -> None:
    """The first picture (PCA of every point) while the full map is computed: no clicks."""
    banner = (
        f"First picture: PCA of all {first.n_total:,} {settings.points}. The "
        f"{projection.METHOD_LABELS.get(settings.method, settings.method)} map replaces it when "
        "it is ready."
    )
    shown = MapView(
        points=settings.points,
        colour=settings.colour,
        tag=settings.tag,
        show_tags=False,
        height=540 if settings.second else 640,
        legend=not settings.second,
    )
    table, meta = map_data(data, first, shown, banner=banner, interactive=False)
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


def side_by_side(
    data: Dataset,
    spec: str,
    settings: Settings,
    result: Projection,
    current: int | None,
    shown: MapView,
) -> None:
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
    name = other.label or other.name
    table, meta = map_data(
        data,
        aligned,
        replace(shown, neighbours=other_near, near_tag=None, tag_items=(), legend=False),
        stem=f"{settings.second}-{settings.method}-{settings.points}",
        heading=f"{name} (turned to match)",
    )
    view = state.view()
    scatter_component.show(
        table, meta, key=SECOND_MAP_KEY, **_handlers(data, aligned, view, settings.points)
    )
    text.caption(f"{name}: {summary(other_result, settings.points)} {aligned.note}")


# ---------------------------------------------------------------------------------- projection
@st.cache_resource(show_spinner=False)
def _jobs() -> jobs.Jobs:
    """The server's background projections (one set for every session)."""
    return jobs.Jobs()


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
    (:class:`recsys_core.projection.jobs.Jobs`) while this run shows the progress; with more
    than :data:`recsys_core.projection.jobs.FIRST_PICTURE_FROM` points, ``preview`` is first
    called with a PCA map of every point (the caller draws it where the full map will go).
    """
    slot = st.empty()
    strata = jobs.category_strata(data, settings.points, settings.sample)
    kwargs = dict(
        what=settings.points,
        perplexity=settings.perplexity,
        sample=settings.sample,
        strata=strata,
        model_id=model_id,
    )
    method = settings.method
    try:
        hit = jobs.from_cache(model, method, **kwargs)
        if hit is not None:
            return hit
        if method == "pca":
            return projection.project_model(model, method, progress=_bar(slot, label), **kwargs)
        n = settings.sample or (data.n_items if settings.points == "items" else data.n_users)
        if preview is not None and jobs.wants_first_picture(method, n):
            # before the background job starts: it would compete for the interpreter's lock
            slot.progress(0.0, text=text.md_escape(f"{label}Drawing a first picture (PCA)…"))
            first = projection.project_model(model, "pca", what=settings.points, model_id=model_id)
            preview(first)
        key = (
            data.fingerprint,
            model_id or id(model),
            method,
            settings.points,
            settings.perplexity,
            settings.sample,
        )
        return _jobs().wait(
            key,
            lambda progress: projection.project_model(model, method, progress=progress, **kwargs),
            progress=_bar(slot, label),
        )
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
    shown = (
        f"{len(result.indices):,} of {result.n_total:,} {noun}"
        if result.sampled
        else f"{result.n_total:,} {noun}"
    )
    metric = result.params.get("metric", "cosine")
    timing = (
        f"read from the cache (computed in {result.seconds:.1f} s)"
        if result.cached
        else f"computed in {result.seconds:.1f} s"
    )
    return f"{result.label} of {shown}, {metric} · {timing}."


# ------------------------------------------------------------------------ downloads, lists, tags
def downloads(
    data: Dataset, result: Projection, settings: Settings, stem: str, *, figure: Callable
) -> None:
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
    data: Dataset, spec: str, model: Recommender, view: state.View, near: str | None
) -> None:
    """lightfm with tag features: "items nearest this tag", from a click on a tag or a picker."""
    st.subheader("Items nearest a tag", anchor=False)
    st.caption(
        "The tags live in the same space as the items: click a tag's diamond on the map, "
        "or pick one here."
    )
    names = list(model.tag_names())
    state.bound(
        st.selectbox,
        "Tag",
        key="emb_near",
        param=NEAR,
        default=None,
        valid=names,
        options=names,
        placeholder="Choose a tag",
    )
    if near:
        items, scores = model.items_for_tag(near, view.k)
        widgets.grid(
            data, spec, items, scores=scores, page="embeddings", view=view, key="emb_tag_grid"
        )
