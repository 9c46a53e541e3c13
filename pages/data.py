"""Data: the dataset's figures, its long tail, its most popular items, its categories and tags,
and a k-core preview that can make the thresholded dataset the current one."""

import streamlit as st

from recsys_core.ui import data_page, sidebar

data, spec = sidebar.render()
st.title("Data", anchor=False)
if data is None:
    if not data_page.broken_kcore(spec):
        st.info("Pick a dataset in the sidebar to see its figures.")
    st.stop()

data_page.figures_section(data, spec)
data_page.long_tail_section(data, spec)
data_page.popular_section(data, spec)
data_page.categories_section(data, spec)
data_page.kcore_section(data, spec)
