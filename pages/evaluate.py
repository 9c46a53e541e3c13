"""Evaluate: held-out metrics of stored models, learning curves and hyperparameter search."""

import streamlit as st

from recsys_core.ui import evaluate_page as ui
from recsys_core.ui import sidebar, state

data, spec = sidebar.render()
if data is None:
    st.stop()
view = state.view()

st.title("Evaluate", anchor=False)
st.caption(
    "How well do the models rank what users went on to like? Choose a split and k; every "
    "section below uses them. Metrics are stored with each model, so a second look costs nothing."
)
proto = ui.protocol_controls(data, view)
tabs = ui.section_tabs(view)

with tabs["Metrics"]:
    if tabs["Metrics"].open:
        ui.metrics_section(data, spec, state.view(), proto)
with tabs["Learning curves"]:
    if tabs["Learning curves"].open:
        ui.curves_section(data, state.view(), proto)
with tabs["Search"]:
    if tabs["Search"].open:
        ui.search_section(data, spec, state.view(), proto)
