"""Evaluate: held-out metrics of stored models, learning curves and hyperparameter search."""

import streamlit as st

from recsys_core.ui import evaluate as ui
from recsys_core.ui import fragments, sidebar

data, spec = sidebar.render()
if data is None:
    st.stop()

st.title("Evaluate", anchor=False)
st.caption(
    "How well do the models find the likes they were not shown? Choose which likes to hold out "
    "and how long a list to score; every section below uses them. Metrics are stored with each "
    "model, so a second look costs nothing."
)
fragments.mark_full_run()
ui.body(data, spec)
