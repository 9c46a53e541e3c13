"""Compare: two to four stored models side by side, on the same item or the same user."""

import streamlit as st

from recsys_core import overlap
from recsys_core.errors import UserError
from recsys_core.ui import compare as ui
from recsys_core.ui import first_visit, loaders, sidebar, state, steering, text, widgets
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
steer = steering.current(data)
side = ui.side_by_side_toggle(steer)  # one model is enough to compare with its steered self
least = 1 if side else ui.MIN_MODELS
mode = ui.mode_of(view)
named = [m for m in view.models if m in {e["model_id"] for e in entries}]
if len(named) < least and sum(ui.supports(e, mode) for e in entries) < least:
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
if len(chosen) < least:
    st.info("Pick at least two models to compare." if least > 1 else "Pick a model to compare.")
    st.stop()
by_id = {e["model_id"]: e for e in entries}
titles = ui.titles(chosen, by_id)
columns = ui.columns(chosen, titles, steered=steer.active, side_by_side=side)

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
if side and len(chosen) > ui.SIDE_MODELS:
    st.caption(f"With and without the steering: the first {ui.SIDE_MODELS} models.")
steering.note(steer, calibration_applies=mode == "user")

results, notes = {}, {}
for column in columns:
    try:
        model = loaders.model(column.model_id, data, spec)
    except UserError as error:
        notes[column.key] = str(error)
        continue
    label = model.label or model.name
    if not model.supports(ui.CAPABILITY[mode]):
        notes[column.key] = (
            f"{label} has no notion of item similarity; compare it on the same user instead."
            if mode == "item"
            else f"{label} cannot recommend to a known user."
        )
        continue
    answer = steering.source(steer, model, column.model_id, data, spec) if column.steered else model
    if mode == "item":
        results[column.key] = answer.similar_items(picked, k)
    else:
        results[column.key] = answer.recommend(user, k)

lists = {c.key: ui.as_int_list(results[c.key][0]) for c in columns if c.key in results}
shared = overlap.shared_items(lists)
level = "#####" if len(columns) > 3 else "####"  # four narrow columns: headings on one line
for place, column in zip(st.columns(len(columns), gap="medium"), columns):
    with place:
        st.markdown(level + text.fmt(" {}", column.heading))
        ui.model_subtitle(
            by_id[column.model_id],
            steering.summary(steer.settings) if side and column.steered else "",
        )
        if column.key in notes:
            text.info(notes[column.key], icon=":material/block:")
            continue
        indices, scores = results[column.key]
        widgets.grid(
            data,
            spec,
            indices,
            scores=scores,
            page="compare",
            captions=ui.also_in_captions(lists, column.key),
            shared=shared,
            min_width=ui.CARD_WIDTH[len(columns)],
            empty_text=steering.empty_text(steer, "Nothing to show for this one.")
            if column.steered
            else "Nothing to show for this one.",
            key=f"compare_grid_{column.key.replace(ui.STEERED_MARK, '_steered')}",
        )
        if column.steered:
            steering.shortfall(steer, len(indices), k)

if results:
    keys = [c.key for c in columns]
    ui.download(
        ui.results_frame(
            data,
            keys,
            {c.key: c.title for c in columns},
            results,
            mode=mode,
            anchor=anchor,
            entries={c.key: by_id[c.model_id] for c in columns},
            model_ids={c.key: c.model_id for c in columns},
            steering={c.key: steer.text if c.steered else "" for c in columns}
            if steer.active
            else None,
        ),
        dataset=data.name,
        mode=mode,
        anchor=anchor,
    )

if len(lists) >= 2:
    st.subheader("Overlap", anchor=False)
    ui.overlap_table(overlap.pairwise_overlap(lists), {c.key: c.title for c in columns})
