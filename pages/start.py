"""Start: the datasets, the current dataset's figures, its models, and where to go next."""

import streamlit as st

from recsys_core.ui import loaders, sidebar, state

data, spec = sidebar.render()
st.title("Recommendation explorer", anchor=False)
st.caption(
    "Train implicit-feedback recommenders, browse what they recommend, compare them, look at "
    "their latent space, evaluate and tune."
)
if data is not None:
    st.subheader(data.label, anchor=False)
    cols = st.columns(4)
    cols[0].metric("Users", f"{data.n_users:,}")
    cols[1].metric("Items", f"{data.n_items:,}")
    cols[2].metric("Interactions", f"{data.n_interactions:,}")
    cols[3].metric("Density", f"{data.density:.2%}")
    if data.description:
        st.caption(data.description)
    view = state.view()
    params = {"dataset": view.dataset}
    if view.model:
        params["model"] = view.model
    links = st.columns(3)
    links[0].page_link("pages/similar.py", label="Browse similar items", icon=":material/grid_view:", query_params=params)
    links[1].page_link("pages/compare.py", label="Compare models", icon=":material/compare:", query_params=params)
    links[2].page_link("pages/users.py", label="See users' recommendations", icon=":material/person:", query_params=params)

st.subheader("Datasets", anchor=False)
rows = [
    {
        "dataset": r["name"],
        "on this machine": "yes" if r["local"] else "no (download from the sidebar)",
        "about": r["description"],
    }
    for r in loaders.source_rows()
]
st.dataframe(rows, hide_index=True, width="stretch")
