"""The recommendation explorer: navigation over the pages and the shared sidebar, nothing else."""

import streamlit as st

st.set_page_config(page_title="Recommendation explorer", page_icon="🧭", layout="wide")

pages = [
    st.Page("pages/home.py", title="Datasets", icon="🗂️", url_path="home", default=True),
]
st.navigation(pages).run()
