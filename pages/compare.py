"""Compare: two to four stored models side by side, on the same item or the same user."""

import streamlit as st

from recsys_core import overlap
from recsys_core.errors import UserError
from recsys_core.ui import compare as ui
from recsys_core.ui import loaders, sidebar, state, text, widgets
from recsys_core.ui import users as users_ui

data, spec = sidebar.render()
if data is None:
    st.stop()
view = state.view()

st.title("Compare", anchor=False)
st.caption(
    "Two to four models side by side on the same item or the same user. Items in more than one "
    "list are marked as shared; click a thumbnail to compare on it."
)

entries = [e for e in loaders.model_entries(data.fingerprint) if not e.get("damaged")]
if len(entries) < ui.MIN_MODELS:
    st.info(
        "Comparing needs at least two trained models for this dataset: train another one in the "
        "sidebar (for example item-knn beside als)."
    )
    st.stop()
chosen = ui.model_selector(entries, view)
view = state.view()
if len(chosen) < ui.MIN_MODELS:
    st.info("Pick at least two models to compare.")
    st.stop()
names = ui.letters(chosen)
by_id = {e["model_id"]: e for e in entries}
titles = {m: f"{names[m]} · {by_id[m].get('algorithm')}" for m in chosen}

mode_col, k_col = st.columns([3, 2], vertical_alignment="bottom")
with mode_col:
    mode = ui.mode_selector(view, data.example_item, ui.default_user_id(data))
with k_col:
    k = widgets.k_slider("How many", key="compare_k")

if mode == "item":
    current = widgets.resolve_item(data, view.item)
    picked = widgets.item_picker(data, current, key="compare_item")
    if picked is None and view.item:  # unknown id: the warning names the closest items
        st.stop()
    if picked is None:
        picked = data.item_index(data.example_item)
    if picked != current:
        state.set_view(item=data.item_id(picked))
        st.rerun()
    ui.item_header(data, spec, picked)
else:
    users_ui.user_picker(data, key="compare_user")
    user = users_ui.resolve_user(data, view.user)
    if user is None:
        if view.user:
            st.stop()
        # no user in the URL: the default one, in the URL (and the page links)
        state.set_view(user=data.user_id(users_ui.default_user(data)))
        st.rerun()
    st.markdown(users_ui.user_line(data, user) + " · seen items left out")
view = state.view()

ui.metrics_table([by_id[m] for m in chosen], titles)

results, notes = {}, {}
for model_id in chosen:
    try:
        model = loaders.model(model_id, data, spec)
    except UserError as error:
        notes[model_id] = str(error)
        continue
    label = model.label or model.name
    try:
        if mode == "item":
            results[model_id] = model.similar_items(picked, k)
        else:
            results[model_id] = model.recommend(user, k)
    except NotImplementedError:
        notes[model_id] = (
            f"{label} has no notion of item similarity."
            if mode == "item"
            else f"{label} cannot recommend to a known user."
        )

lists = {names[m]: ui.as_int_list(results[m][0]) for m in chosen if m in results}
shared = overlap.shared_items(lists)
for column, model_id in zip(st.columns(len(chosen), gap="medium"), chosen):
    with column:
        entry = by_id[model_id]
        st.markdown(text.fmt("#### {}", titles[model_id]))
        ui.model_subtitle(entry)
        if model_id in notes:
            text.info(notes[model_id], icon=":material/block:")
            continue
        indices, scores = results[model_id]
        widgets.grid(
            data,
            spec,
            indices,
            scores=scores,
            page="compare",
            captions=ui.also_in_captions(lists, names[model_id]),
            shared=shared,
            min_width=ui.CARD_WIDTH[len(chosen)],
            empty_text="Nothing to show for this one.",
            key=f"compare_grid_{names[model_id]}",
        )

if len(lists) >= ui.MIN_MODELS:
    st.subheader("Overlap", anchor=False)
    table = overlap.pairwise_overlap(lists)
    by_letter = {names[m]: titles[m] for m in chosen}
    table["first"] = table["first"].map(by_letter)
    table["second"] = table["second"].map(by_letter)
    st.dataframe(
        table.rename(
            columns={
                "first": "Model",
                "second": "Other model",
                "shared": "Shared items",
                "jaccard": "Jaccard",
                "rbo": f"RBO (p = {overlap.DEFAULT_P})",
            }
        ),
        hide_index=True,
        column_config={
            "Jaccard": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1),
            f"RBO (p = {overlap.DEFAULT_P})": st.column_config.ProgressColumn(
                format="%.3f", min_value=0, max_value=1
            ),
        },
    )
    st.caption(
        "Jaccard: shared items over all items in the two lists, order ignored. RBO: rank-biased "
        "overlap (Webber et al. 2010, extrapolated), which weighs agreement at the top most; "
        "1 means the same ranking, 0 nothing in common."
    )
