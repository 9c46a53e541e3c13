"""The recommendation explorer: navigation over the pages, nothing else.

Each page draws the shared sidebar (recsys_core/ui/sidebar.py) itself, first thing, so the
sidebar and the page share one view (the URL's query parameters).
"""

import streamlit as st

st.set_page_config(page_title="Recommendation explorer", page_icon=":material/explore:", layout="wide")

pages = [
    st.Page("pages/similar.py", title="Similar items", icon=":material/grid_view:", url_path="similar", default=True),
    st.Page("pages/home.py", title="Datasets", icon=":material/dataset:", url_path="datasets"),
]
st.navigation(pages).run()
