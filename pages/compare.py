"""Compare: two to four stored models side by side, on the same item or the same user."""

import streamlit as st

from recsys_core import overlap
from recsys_core.errors import UserError
from recsys_core.ui import compare as ui
from recsys_core.ui import first_visit, loaders, sidebar, state, text, widgets
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
if not entries:
    first_visit.train_first_model(data)  # a fresh store's demo: reruns with its first model
mode = ui.mode_of(view)
named = [m for m in view.models if m in {e["model_id"] for e in entries}]
if len(named) < ui.MIN_MODELS and sum(ui.supports(e, mode) for e in entries) < ui.MIN_MODELS:
    text.info(ui.too_few_sentence(data, entries, mode), icon=":material/compare:")
    if len(entries) >= ui.MIN_MODELS:  # the other mode may have two: let the person switch
        ui.mode_selector(view, data.example_item, ui.default_user_id(data))
    st.stop()
models_col, mode_col, k_col = st.columns([3, 1.4, 1.2], vertical_alignment="bottom")
with models_col:
    chosen = ui.model_selector(entries, view, mode)
with mode_col:
    mode = ui.mode_selector(view, data.example_item, ui.default_user_id(data))
with k_col:
    k = widgets.k_slider("How many", key="compare_k")
view = state.view()
if len(chosen) < ui.MIN_MODELS:
    st.info("Pick at least two models to compare.")
    st.stop()
names = ui.letters(chosen)
by_id = {e["model_id"]: e for e in entries}
titles = ui.titles(chosen, by_id)

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
    anchor = data.item_id(picked)
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
    anchor = data.user_id(user)
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
            f"{label} has no notion of item similarity; compare it on the same user instead."
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

if results:
    ui.download(
        ui.results_frame(data, chosen, titles, results, mode=mode, anchor=anchor, entries=by_id),
        dataset=data.name,
        mode=mode,
        anchor=anchor,
    )

if len(lists) >= ui.MIN_MODELS:
    st.subheader("Overlap", anchor=False)
    ui.overlap_table(overlap.pairwise_overlap(lists), {names[m]: titles[m] for m in chosen})
