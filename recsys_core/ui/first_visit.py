"""The first visit: on a fresh store the demo gets a first model by itself, with its progress in
the main area; elsewhere, a page without a model says how to get one.

The workflow is the core's (:func:`recsys_core.training.ensure_first_model`: the demo only, a
store that holds nothing, once, under the store's lock); this module draws it. A page asks for
it where it gets its model (``widgets.model_or_stop`` calls :func:`no_model_or_stop`), and the
Start page draws :func:`start_status`, which also says what is ready and where to go next.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from .. import training
from ..dataset import Dataset
from ..errors import UserError
from ..words import algorithm_label
from . import loaders, navigation, state, text

TRAINED = "_first_model_trained"
"""session_state key: the id of the first model this session trained (or waited for)."""

TRAINING_NOTE = (
    "**Getting ready:** training a first model, {algorithm}, on the demo, so every page has "
    "recommendations to show. It takes a few seconds and happens once."
)
NO_MODEL = (
    "No model is trained on {} yet. Open **Train a model** in the sidebar, keep the suggested "
    "settings and press **Train**: it takes a few seconds."
)


def train_first_model(data: Dataset) -> None:
    """On a fresh store with the demo on screen: train the first model here, with a progress
    bar, put it in the URL and rerun the page (which then shows it). Returns (drawing nothing)
    when no first model is wanted, or after one sentence if training failed."""
    if not training.wants_first_model(data):
        return
    label = algorithm_label(training.FIRST_MODEL_ALGORITHM)
    st.info(TRAINING_NOTE.format(algorithm=label), icon=":material/model_training:")
    bar = st.progress(0.0, text=f"Training {label}…")

    def progress(fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if message.startswith("Waiting"):  # train() waits on the store's lock
            said = "Another visitor started the same training a moment ago: waiting for it…"
        else:
            said = f"Training {label}: {fraction:.0%}"
        bar.progress(fraction, text=text.md_escape(said))

    try:
        result = training.ensure_first_model(data, progress=progress)
    except UserError as error:  # e.g. a store that cannot be written: the page's message follows
        bar.empty()
        text.error(str(error))
        return
    if result is None:  # another session's model appeared meanwhile
        bar.empty()
        return
    loaders.clear_model_listing()
    st.session_state[TRAINED] = result.model_id
    state.set_view(models=[result.model_id])
    st.rerun()


def no_model_or_stop(data: Dataset) -> NoReturn:
    """For a page whose view has no model: the first model (fresh demo), else one sentence on
    how to get one; then the page stops (it reruns with the model when one was trained)."""
    train_first_model(data)
    if loaders.model_entries(data.fingerprint):
        st.info("Pick a model in the sidebar.", icon=":material/arrow_back:")
    else:
        st.info(text.fmt(NO_MODEL, data.label), icon=":material/model_training:")
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


def start_status(data: Dataset) -> None:
    """The Start page's status: training the first model (fresh demo), then ready, with the
    next step as a link that keeps the view; or how to get a model."""
    train_first_model(data)
    entries = [e for e in loaders.model_entries(data.fingerprint) if not e.get("damaged")]
    if not entries:
        st.info(
            text.fmt(NO_MODEL, data.label)
            + " Meanwhile, **Data** shows the dataset itself: its most popular items, its long "
            "tail and its categories.",
            icon=":material/model_training:",
        )
        return
    view = state.view()
    current = next((e for e in entries if e["model_id"] == view.model), entries[0])
    label = algorithm_label(str(current.get("algorithm")))
    if st.session_state.get(TRAINED) == current["model_id"]:
        seconds = current.get("fit_seconds")
        took = f" in {seconds:.1f} s" if isinstance(seconds, int | float) else ""
        said = f"**Ready.** A first model, {label}, was trained on the demo{took}."
    elif len(entries) == 1:
        said = f"**Ready.** One model, {label}, is trained on this dataset."
    else:
        said = (
            f"**Ready.** {len(entries)} models are trained on this dataset; the pages show "
            f"the one picked in the sidebar ({label})."
        )
    with st.container(border=True):
        st.markdown(
            said + " Next: open **Similar items**, pick an item and see what the model finds "
            "like it; every thumbnail is a click away from its own neighbours.",
        )
        info = navigation.BY_PATH["similar"]
        st.page_link(
            info.script,
            label="Browse similar items",
            icon=":material/arrow_forward:",
            query_params=state.carried(),
        )
