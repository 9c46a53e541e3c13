"""Embeddings: the latent space in two dimensions, with the recommender behind the points."""

import streamlit as st

from recsys_core import projection
from recsys_core.ui import embeddings as ui
from recsys_core.ui import fragments, sidebar, state, text, widgets

data, spec = sidebar.render()
if data is None:
    st.stop()
view = state.view()

st.title("Embeddings", anchor=False)
st.caption(
    "Nearby points are ones the model finds alike. Hover a point for its name, click it to select "
    "it, draw a box or lasso to list several; the wheel zooms, a drag pans. The star is the "
    "selected item, the orange points its nearest neighbours in the model's own space."
)
model = widgets.model_or_stop(data, spec, view.model)
if not model.supports("item_vectors"):
    text.info(
        f"{model.label or model.name} has no latent space to draw: it scores items without "
        f"vectors. Pick a latent model ({projection.LATENT_FAMILIES}) in the sidebar, or train "
        "one there.",
        icon=":material/scatter_plot:",
    )
    st.stop()

fragments.mark_full_run()
ui.explorer(data, spec, model)
