"""Users: a user's history beside their recommendations, each with "because you liked ...";
or a new user (cold start) who picks a few items and gets recommendations at once."""

import numpy as np
import streamlit as st

from recsys_core import html
from recsys_core.ui import sidebar, state, steering, text, widgets
from recsys_core.ui import users as ui

data, spec = sidebar.render()
if data is None:
    st.stop()
view = state.view()

st.title("Users", anchor=False)
st.caption(
    "What a user liked, beside what the model recommends to them and why. "
    "Click a thumbnail to see the items most like it."
)
mode = ui.mode_control()

if mode == "new":
    picks = ui.new_user_picks(data)
    model = widgets.model_or_stop(data, spec, view.model)
    if not picks:
        st.info(
            "Pick a few items this new user liked (search above, or "
            "*Three of one taste*): recommendations appear at once, without retraining."
        )
        st.stop()
    if not model.supports("recommend_for_history"):
        text.info(f"{model.label or model.name} cannot recommend for a user it was not trained on.")
        st.stop()
    label = model.label or model.name
    slider, save = st.columns([3, 2, 0.8], vertical_alignment="bottom")[1:]
    with slider:
        k = widgets.k_slider("How many recommendations", key="users_k")
    steer = steering.current(data)
    steered = steering.source(steer, model, view.model, data, spec)
    indices, scores = steered.recommend_for_history(np.asarray(picks, np.int64), k)
    with save:
        widgets.download_csv(
            ui.export_table(
                data,
                user="new user",
                model=label,
                first=("pick", picks),
                recommended=indices,
                scores=scores,
                steering=steer.text,
            ),
            file_name=html.file_name("new-user", label),
            key="users_new_csv",
            help="Download the picks and the recommendations as a CSV file",
        )
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader(f"Their picks ({len(picks)})", anchor=False)
        widgets.grid(data, spec, picks, page="similar", min_width=110, key="users_picks_grid")
    with right:
        text.subheader(f"Recommended by {label}")
        steering.note(steer)
        widgets.grid(
            data,
            spec,
            indices,
            scores=scores,
            page="similar",
            min_width=140,
            empty_text=steering.empty_text(
                steer, "The model has nothing to recommend from these picks."
            ),
            key="users_new_recommendations",
        )
        steering.shortfall(steer, len(indices), k)
    st.stop()

ui.user_picker(data)
user = ui.resolve_user(data, view.user)
if user is None:
    if view.user:  # an unknown id: the warning above names close ones
        st.stop()
    # no user in the URL: the default one, in the URL (and the page links)
    state.set_view(user=data.user_id(ui.default_user(data)))
    st.rerun()

model = widgets.model_or_stop(data, spec, view.model)
label = model.label or model.name
head, slider, save = st.columns([3, 2, 0.8], vertical_alignment="bottom")
head.markdown(ui.user_line(data, user))
with slider:
    k = widgets.k_slider("How many recommendations", key="users_k")

history, how = ui.history_order(data, user)
steer = steering.current(data)
if model.supports("recommend"):
    indices, scores = steering.source(steer, model, view.model, data, spec).recommend(user, k)
else:
    indices, scores = np.zeros(0, np.int64), np.zeros(0, np.float32)
    text.info(f"{model.name} cannot score known users.")
why = ui.cached_explanations(view.model, data, spec, user, indices) if len(indices) else None

shown = history
if len(history) > ui.HISTORY_LIMIT and not st.session_state.get("users_history_all"):
    shown = history[: ui.HISTORY_LIMIT]
with save:
    widgets.download_csv(
        ui.export_table(
            data,
            user=data.user_id(user),
            model=label,
            first=("history", shown),
            recommended=indices,
            scores=scores,
            why=why,
            steering=steer.text,
        ),
        file_name=html.file_name("user", data.user_id(user), label),
        key="users_csv",
        help="Download the history shown and the recommendations as a CSV file",
    )

left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader(f"Their history ({len(history):,})", anchor=False)
    if len(history) > ui.HISTORY_LIMIT:
        st.toggle(f"Show all {len(history):,}", key="users_history_all")
    st.caption(
        f"{how.capitalize()}"
        + (f"; the first {len(shown)} shown." if len(shown) < len(history) else ".")
    )
    widgets.grid(
        data,
        spec,
        shown,
        page="similar",
        min_width=110,
        empty_text="This user has no interactions.",
        key="users_history_grid",
    )
with right:
    text.subheader(f"Recommended by {label}")
    text.caption(
        "Seen items left out. Under each card, the liked items that contributed most, "
        "with their share of the score."
        if why
        else f"Seen items left out. {label} does not explain its choices."
    )
    steering.note(steer)
    ui.recommendation_grid(
        data,
        spec,
        indices,
        scores,
        why,
        view=view,
        min_width=150,
        empty_text=steering.empty_text(
            steer, "The model has nothing new to recommend to this user."
        ),
    )
    steering.shortfall(steer, len(indices), k)
