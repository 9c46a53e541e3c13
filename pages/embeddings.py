"""Embeddings: the latent space in two dimensions, with the recommender behind the points."""

import streamlit as st

from recsys_core import projection
from recsys_core.errors import UserError
from recsys_core.ui import embeddings as ui
from recsys_core.ui import sidebar, state, text, widgets

CHART = "emb_chart"
LAST = "emb_last_selection"
SELECT = ("points", "box", "lasso")

data, spec = sidebar.render()
if data is None:
    st.stop()
view = state.view()

st.title("Embeddings", anchor=False)
st.caption(
    "Each point is placed by the model's vectors: nearby points are ones the model finds alike. "
    "Click, box or lasso points to see them; the star is the selected item, the orange points "
    "its nearest neighbours in the model's own space (not the map's)."
)
model = widgets.model_or_stop(data, spec, view.model)
if not projection.has_vectors(model):
    text.info(
        f"{model.label or model.name} has no latent space to draw: it scores items without "
        f"vectors. Pick a latent model ({projection.LATENT_FAMILIES}) in the sidebar, or train "
        "one there.",
        icon=":material/scatter_plot:",
    )
    st.stop()

settings = ui.controls(data, model, view)
second_id = settings.second
view = state.view()
items_map = settings.points == "items"

current = widgets.resolve_item(data, view.item) if items_map else None
if items_map:
    picked = widgets.item_picker(data, current, key="emb_item")
    if picked is not None and picked != current:
        state.set_view(item=data.item_id(picked))
        st.rerun()

result = ui.compute(data, model, view.model, settings)
if result is None:
    st.stop()

near, tag_items = view.extra.get(ui.NEAR) if model.supports("tags") else None, []
if near:
    try:
        tag_items = model.items_for_tag(near, view.k)[0]
    except UserError as error:
        text.warning(str(error))
        near = None
neighbours, scores = model.similar_items(current, view.k) if current is not None else ([], [])

fig = ui.build_figure(
    data, result, points=settings.points, colour=settings.colour, tag=settings.tag,
    highlight=current, neighbours=neighbours, near_tag=near, tag_items=tag_items,
    height=540 if second_id else 640, legend=not second_id,
)
left, right = st.columns(2) if second_id else (st.container(), None)
with left:
    event = st.plotly_chart(fig, key=CHART, on_select="rerun", selection_mode=SELECT)
    text.caption(" ".join(p for p in (ui.summary(result, settings.points), result.note) if p))
if right is not None:
    with right:
        other = widgets.model_or_stop(data, spec, second_id)
        other_result = ui.compute(data, other, second_id, settings, label="Second map: ")
        if other_result is not None:
            aligned = projection.align_projection(other_result, result)
            other_near = other.similar_items(current, view.k)[0] if current is not None else []
            st.plotly_chart(
                ui.build_figure(
                    data, aligned, points=settings.points, colour=settings.colour,
                    tag=settings.tag, highlight=current, neighbours=other_near, height=540,
                    legend=False,
                ),
                key="emb_chart_second",
            )
            text.caption(f"{other.label or other.name}: "
                         f"{ui.summary(other_result, settings.points)} {aligned.note}")

# one clicked point becomes the selected item (or the focused tag); several are listed below
rows, tags = ui.selection(event)
fresh = (tuple(rows), tuple(tags)) != st.session_state.get(LAST, ((), ()))
st.session_state[LAST] = (tuple(rows), tuple(tags))
if fresh and items_map and len(rows) == 1 and not tags and rows[0] != current:
    state.set_view(item=data.item_id(rows[0]))
    st.rerun()
if fresh and items_map and len(tags) == 1 and not rows and result.tag_names:
    state.set_view(**{ui.NEAR: result.tag_names[tags[0]]})
    st.rerun()

ui.downloads(data, result, fig, settings.points, f"{view.model}-{settings.method}")

if not items_map:
    ui.user_list(data, view, rows)
    st.stop()
if len(rows) > 1:
    shown = sorted(rows, key=lambda r: -data.item_counts[r])[: ui.GRID_LIMIT]
    more = f" (the {len(shown)} most liked shown)" if len(rows) > len(shown) else ""
    st.subheader(f"{len(rows):,} items selected{more}", anchor=False)
    widgets.grid(data, spec, shown, page="embeddings", view=view)
if current is not None:
    st.subheader("Selected item", anchor=False)
    widgets.selected_item_panel(data, spec, current)
    text.subheader(f"Its {len(neighbours)} nearest, by {model.label or model.name}")
    if ui.missing(result, neighbours):
        st.caption(f"{ui.missing(result, neighbours)} of them are outside the sampled map.")
    widgets.grid(data, spec, neighbours, scores=scores, page="embeddings", view=view)
if model.supports("tags"):
    ui.tag_section(data, spec, model, view, near, tag_items)
