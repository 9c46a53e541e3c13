"""Datasets: what is known, what is on disk, and the current dataset's figures."""

import streamlit as st

from recsys_core import config
from recsys_core.errors import UserError
from recsys_core.ui import loaders

st.title("Recommendation explorer")
st.caption("Train, browse, compare and evaluate implicit-feedback recommenders.")

st.subheader("Datasets")
st.dataframe(loaders.source_table(str(config.home())), hide_index=True, width="stretch")

try:
    demo = loaders.current_dataset("demo")
except UserError as error:
    st.error(str(error))
else:
    st.subheader(demo.label)
    cols = st.columns(4)
    cols[0].metric("Users", f"{demo.n_users:,}")
    cols[1].metric("Items", f"{demo.n_items:,}")
    cols[2].metric("Interactions", f"{demo.n_interactions:,}")
    cols[3].metric("Density", f"{demo.density:.2%}")
    st.caption(demo.description)
