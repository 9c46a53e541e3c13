"""Start: what is happening (a first model on a fresh store, then ready), the current dataset's
figures, where to go next (links that keep the view) and the datasets."""

import streamlit as st

from recsys_core.ui import first_visit, loaders, navigation, sidebar, state, text

DESTINATIONS = {
    "similar": ("Similar items", "Pick an item; see what the model finds like it."),
    "compare": ("Compare models", "Two to four models side by side, on one item or one user."),
    "users": ("Users", "A user's likes beside what the model recommends, and why."),
    "embeddings": ("Embeddings", "The model's map of items: neighbours sit close together."),
    "evaluate": ("Evaluate and tune", "How well each model finds held-out likes; search settings."),
    "data": ("Data", "The dataset itself: popular items, the long tail, categories."),
}
"""Where to go next: ``{url path: (link label, one line on what is there)}``."""

data, spec = sidebar.render()
st.title("Recommendation explorer", anchor=False)
st.caption(
    "Train recommenders on likes, browse what they recommend, compare them, look at their "
    "latent space, evaluate and tune them."
)
if data is not None:
    first_visit.start_status(data)

    text.subheader(data.label)
    cols = st.columns(4)
    cols[0].metric("Users", f"{data.n_users:,}")
    cols[1].metric("Items", f"{data.n_items:,}")
    cols[2].metric(
        "Interactions",
        f"{data.n_interactions:,}",
        help="Likes, plays or ratings: one per user and item.",
    )
    cols[3].metric(
        "Density", f"{data.density:.2%}", help="The share of user-item pairs with an interaction."
    )
    if data.description:
        text.caption(data.description)

    st.subheader("Where to go next", anchor=False)
    params = state.carried()  # the same view the sidebar's links carry
    places = list(DESTINATIONS.items())
    for row in range(0, len(places), 3):  # a row of columns per three, so the rows line up
        for column, (url_path, (label, about)) in zip(
            st.columns(3, gap="medium"), places[row : row + 3]
        ):
            info = navigation.BY_PATH[url_path]
            with column:
                st.page_link(info.script, label=label, icon=info.icon, query_params=params)
                st.caption(about)

st.subheader("Datasets", anchor=False)
rows = [
    {
        "dataset": r["name"],
        "on this machine": "yes" if r["local"] else "no: download it from the sidebar",
        "about": r["description"],
    }
    for r in loaders.source_rows()
]
st.dataframe(rows, hide_index=True, width="stretch")
