"""The shared sidebar: the links to the pages, the current dataset (pick, download, upload:
:mod:`.dataset_chooser`, :mod:`.upload_form`) and the current model (pick from the store:
:mod:`.model_picker`, or train one from a form generated from the registry's parameter schema:
:mod:`.train_form`), with the steering dials between them (:mod:`.steering`).

The pickers are bound to the URL (:func:`recsys_core.ui.state.bound`): the URL's value is shown,
and a change is written to the URL by the widget's callback, once, so any number of changes in a
row take effect.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from ..dataset import Dataset
from ..errors import UserError
from . import loaders, navigation, state, steering, text
from . import users as users_ui
from .dataset_chooser import DATASET_CHANGE_CLEARS, dataset_picker
from .model_picker import model_label, model_picker
from .train_form import train_form
from .upload_form import upload_form

# model_label (used by Compare) and upload_form (by the Data page) are re-exported here
__all__ = ["model_label", "render", "upload_form"]

PROGRESS_EVERY = 0.25
"""Seconds between two updates of a loading dataset's progress bar."""


def render() -> tuple[Dataset | None, str]:
    """Draw the sidebar; returns the current dataset (None if it cannot be loaded) and its spec.

    The page links come first in the sidebar. They are drawn at once (carrying a dataset only
    if it is a plain name), again once the dataset is loaded (a dataset the app refuses is not
    carried) and again if the sidebar wrote a default (the model shown when the URL names
    none), so they carry the view on screen. A page that writes more defaults (an item, a
    user) reruns, which draws them again.
    """
    navigation.ensure_app_navigation()
    view = state.view()
    status, opening = navigation.status()  # the main area says the dataset is loading
    links = st.sidebar.empty()
    _draw_links(links, state.carried() if _plain_name(view.dataset) else {})
    with st.sidebar:
        st.markdown("### Dataset")
        spec = dataset_picker(view.dataset, status, lambda: _draw_links(links))
    try:
        data = _load(spec, status, opening)
    except UserError as error:
        _draw_links(links, {})  # nothing of a dataset that does not open
        _unavailable(status, str(error))  # said once, in the main area
        return None, spec
    carried = _draw_links(links, _link_params(data, spec))  # the dataset shown
    with st.sidebar:
        text.caption(
            f"{data.label}: {data.n_users:,} users · {data.n_items:,} items · "
            f"{data.n_interactions:,} interactions ({data.density:.2%} dense)"
        )
        st.markdown("### Model")
        model_picker(data, spec, state.view())
        steering.sidebar(data, spec)
        if _link_params(data, spec) != carried:
            _draw_links(links, _link_params(data, spec))
        train_form(data, spec)
    return data, spec


def _link_params(data: Dataset, spec: str) -> dict[str, str]:
    """What the page links carry: the URL's dataset, model(s), item and user, with the user
    the Users page would show when the URL names none. So Users opens on a link that already
    names its user and writes nothing on arrival: a URL written while the browser changes page
    can land in the history under the old page's path (Streamlit pushes the new query on the
    path it is leaving), and back would then reopen a view nobody saw."""
    params = {**state.carried(), state.DATASET: spec}
    if state.USER not in params and data.n_users:
        params[state.USER] = data.user_id(users_ui.default_user(data))
    return params


def _unavailable(slot, sentence: str) -> None:
    """The main area when the dataset does not open (a damaged file, a link to a dataset that
    is not here): the sentence, once, and a way on (this button, or the sidebar's dataset
    chooser), never a blank page."""
    with slot.container():
        text.error(sentence, icon=":material/database_off:")
        st.button(
            "Open the demo data",
            key="sidebar_open_demo",
            icon=":material/dataset:",
            on_click=state.set_view,
            kwargs={
                state.DATASET: state.DEFAULT_DATASET,
                **dict.fromkeys(DATASET_CHANGE_CLEARS),
            },
        )


def _draw_links(slot, params: dict[str, str] | None = None) -> dict[str, str]:
    """The page links in ``slot``, carrying ``params`` (default: what the URL carries)."""
    params = state.carried() if params is None else params
    with slot.container():
        navigation.links(params)
    return params


def _plain_name(spec: str) -> bool:
    """Whether ``spec`` is a plain dataset name (the demo, a registry name) a link may carry
    before it is checked: nothing like a path."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", spec) is not None


def _load(spec: str, holder, opening: bool = False) -> Dataset:
    """The dataset, loaded once per spec (cached). While it loads, the main area (``holder``,
    an ``st.empty`` at its top) says so: the cache's spinner and the loader's progress bar,
    under the ``navigation.OPENING`` note on a visit's first run; nothing shows on a later run
    when it is loaded already."""
    with holder.container():
        if opening:
            st.info(navigation.OPENING, icon=":material/hourglass_top:")
        bar = st.empty()
        last = [0.0]

        def progress(fraction: float, message: str) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY and fraction < 1.0:
                return
            last[0] = now
            _outside_cache(
                lambda: bar.progress(
                    min(max(float(fraction), 0.0), 1.0),
                    text=text.md_escape(
                        f"Loading the dataset: {message}" if message else "Loading the dataset…"
                    ),
                )
            )

        try:
            return loaders.dataset(spec, progress=progress)
        finally:
            holder.empty()


def _outside_cache(draw: Callable[[], None]) -> None:
    """Run ``draw`` (a Streamlit call) from a helper thread with this session's context.

    Streamlit records what a cached function draws, to replay it when the function is cached
    (and refuses to replay an element into a container made outside the function). A load's
    progress bar is drawn from inside the cached loader but must not be replayed: drawn from
    another thread, it is not recorded (the recording is per thread). If the session's run is
    stopped meanwhile, the bar is left as is.
    """

    def run() -> None:
        try:
            draw()
        except BaseException:  # noqa: BLE001 - a stopped or rerun script: the bar can wait
            pass

    worker = threading.Thread(target=run, name="dataset-progress", daemon=True)
    add_script_run_ctx(worker)
    worker.start()
    worker.join()
