"""Data: the dataset's figures, then one section at a time: its long tail, its most popular
items, its categories and tags, a k-core preview that can make the thresholded dataset the
current one, and an upload of the visitor's own files (also offered when no dataset opens)."""

import streamlit as st

from recsys_core.ui import data_page, fragments, sidebar

data, spec = sidebar.render()
st.title("Data", anchor=False)
if data is None:
    if not data_page.broken_kcore(spec):
        st.info("Pick a dataset in the sidebar to see its figures, or upload your own here.")
        data_page.upload_section(None, spec)
    st.stop()

data_page.figures_section(data, spec)
fragments.mark_full_run()
data_page.sections(data, spec)
