"""Start: the datasets, the current dataset's figures, its models, and where to go next."""

import streamlit as st

from recsys_core.ui import loaders, sidebar, state, text

data, spec = sidebar.render()
st.title("Recommendation explorer", anchor=False)
st.caption(
    "Train implicit-feedback recommenders, browse what they recommend, compare them, look at "
    "their latent space, evaluate and tune."
)
if data is not None:
    text.subheader(data.label)
    cols = st.columns(4)
    cols[0].metric("Users", f"{data.n_users:,}")
    cols[1].metric("Items", f"{data.n_items:,}")
    cols[2].metric("Interactions", f"{data.n_interactions:,}")
    cols[3].metric("Density", f"{data.density:.2%}")
    if data.description:
        text.caption(data.description)
    view = state.view()
    params = {"dataset": view.dataset}
    if view.model:
        params["model"] = view.model
    destinations = [
        ("pages/similar.py", "Browse similar items", ":material/grid_view:"),
        ("pages/compare.py", "Compare models", ":material/compare:"),
        ("pages/users.py", "See users' recommendations", ":material/person:"),
        ("pages/embeddings.py", "Explore the latent space", ":material/scatter_plot:"),
        ("pages/evaluate.py", "Evaluate and tune", ":material/leaderboard:"),
        ("pages/data.py", "Look at the data", ":material/dataset:"),
    ]
    columns = st.columns(3)
    for position, (target, label, icon) in enumerate(destinations):
        columns[position % 3].page_link(target, label=label, icon=icon, query_params=params)

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
