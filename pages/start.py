"""Start: the datasets, the current dataset's figures, its models, and where to go next."""

import streamlit as st

from recsys_core.ui import loaders, navigation, sidebar, state, text

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
    destinations = {
        "similar": "Browse similar items",
        "compare": "Compare models",
        "users": "See users' recommendations",
        "embeddings": "Explore the latent space",
        "evaluate": "Evaluate and tune",
        "data": "Look at the data",
    }
    params = state.carried()  # the same view the sidebar's links carry
    columns = st.columns(3)
    for position, (url_path, label) in enumerate(destinations.items()):
        info = navigation.BY_PATH[url_path]
        columns[position % 3].page_link(
            info.script, label=label, icon=info.icon, query_params=params
        )

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
