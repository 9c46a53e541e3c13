"""Similar items: the Rec-a-Sketch page. Pick an item, see what the model finds like it."""

import streamlit as st

from recsys_core import html
from recsys_core.ui import sidebar, state, steering, text, widgets

data, spec = sidebar.render()
if data is None:
    st.stop()
view = state.view()

st.title("Similar items", anchor=False)
st.caption("Users who liked this also liked… Click a thumbnail to make it the selected item.")

current = widgets.resolve_item(data, view.item)
picked = widgets.item_picker(data, current)
if picked is None and view.item:  # unknown id in the URL: offer the closest items instead
    close = data.closest_items(view.item, n=6) or data.closest_item_ids(view.item, n=6)
    if close:
        st.markdown("**Did you mean one of these?**")
        widgets.grid(data, spec, close, page="similar", view=view, key="similar_closest")
    st.stop()
if picked is None:  # no item in the URL: the example item, in the URL (and the page links)
    state.set_view(item=data.example_item)
    st.rerun()

widgets.selected_item_panel(data, spec, picked)
model = widgets.model_or_stop(data, spec, view.model)
label = model.label or model.name

if not model.supports("similar_items"):
    text.info(
        f"{label} recommends without a notion of item similarity; pick another model in the "
        "sidebar."
    )
    st.stop()

head, how_many, save = st.columns([5, 3, 1.2], vertical_alignment="bottom")
with how_many:
    k = widgets.k_slider("How many", key="similar_k")
steer = steering.current(data)
steered = steering.source(steer, model, view.model, data, spec)
indices, scores = steered.similar_items(picked, k)
with head:
    text.subheader(f"Most similar, by {label}")
with save:
    widgets.download_csv(
        widgets.items_table(
            data,
            indices,
            scores,
            similar_to=data.item_id(picked),
            similar_to_name=data.item_name(picked),
            model=label,
            **({"steering": steer.text} if steer.active else {}),
        ),
        file_name=html.file_name("similar", data.item_id(picked), label),
        key="similar_csv",
        help="Download these items as a CSV file (rank, id, name, category, score, model)",
    )
steering.note(steer, calibration_applies=False)
widgets.grid(
    data,
    spec,
    indices,
    scores=scores,
    page="similar",
    empty_text=steering.empty_text(
        steer, "This model has no neighbours for this item (it may have no interactions)."
    ),
    key="similar_grid",
)
steering.shortfall(steer, len(indices), k)

if model.supports("tags"):
    st.subheader("Suggested tags for this item", anchor=False)
    st.caption(
        f"The tags {label} places closest to this item, with their score (higher is closer)."
    )
    tags, tag_scores = model.suggest_tags(picked, 8)
    st.html(html.score_chips(list(tags), list(tag_scores), empty_text="No tag to suggest."))

    st.subheader("Items for a tag", anchor=False)
    st.caption(f"Pick any tag: the items {label} places closest to it.")
    names = model.tag_names()
    own = list(data.items.at[picked, "tags"])
    default = names.index(own[0]) if own and own[0] in names else 0
    with st.columns([2, 3])[0]:
        tag = st.selectbox("Tag", names, index=default, key="similar_tag")
    tag_items, tag_item_scores = model.items_for_tag(tag, k)
    widgets.grid(
        data, spec, tag_items, scores=tag_item_scores, page="similar", key="similar_tag_grid"
    )
