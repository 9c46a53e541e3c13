"""Evaluate: being built (see the open issues)."""

import streamlit as st

from recsys_core.ui import sidebar

data, spec = sidebar.render()
st.title("Evaluate", anchor=False)
st.info("This page is being built.")
