"""The recommendation explorer: navigation over the pages, nothing else.

Each page draws the shared sidebar (recsys_core/ui/sidebar.py) first, so the sidebar and the
page share one view: the URL's query parameters (dataset, model, item, user, k).
"""

import streamlit as st

st.set_page_config(
    page_title="Recommendation explorer", page_icon=":material/explore:", layout="wide"
)

pages = {
    "Browse": [
        st.Page("pages/start.py", title="Start", icon=":material/home:", default=True),
        st.Page("pages/similar.py", title="Similar items", icon=":material/grid_view:",
                url_path="similar"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:",
                url_path="compare"),
        st.Page("pages/users.py", title="Users", icon=":material/person:", url_path="users"),
    ],
    "Understand": [
        st.Page("pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:",
                url_path="embeddings"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/leaderboard:",
                url_path="evaluate"),
        st.Page("pages/data.py", title="Data", icon=":material/dataset:", url_path="data"),
    ],
}
st.navigation(pages).run()
