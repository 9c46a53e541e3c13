"""The upload form (the sidebar's and the Data page's): an interactions file and, optionally,
an items file, kept under ``RECSYS_HOME/uploads`` only once they load; a refused file gets one
sentence naming it as the user named it (:func:`upload_failure`)."""

from __future__ import annotations

import streamlit as st

from ..datasets.uploads import SUFFIXES, save_upload
from ..errors import UserError
from . import loaders, state, text


def upload_form(prefix: str = "up") -> None:
    """Upload an interactions file (and an items file). ``save_upload`` loads it before keeping
    it, so a bad file gets one sentence naming it as the user named it, and nothing is kept.

    ``prefix`` keeps the widget keys of two forms apart (the sidebar's ``up``, the Data page's
    own); the sidebar's keys are ``up_main`` and ``up_items``.
    """
    st.caption(
        "A csv, tsv or parquet file with user and item columns (optional weight, rating, "
        "timestamp), and optionally an items file with item_id, name, image_url, category, tags."
    )
    kinds = sorted(suffix.lstrip(".") for suffix in SUFFIXES)
    form = "upload_form" if prefix == "up" else f"{prefix}_form"
    with st.form(form, clear_on_submit=False, border=False):
        main = st.file_uploader("Interactions", type=kinds, key=f"{prefix}_main")
        items = st.file_uploader("Items (optional)", type=kinds, key=f"{prefix}_items")
        submitted = st.form_submit_button(
            "Use this data",
            key=f"{prefix}_submit",
            type="secondary" if prefix == "up" else "primary",  # the Data page's own form
        )
    if submitted:
        if main is None:
            text.error("Choose an interactions file first, then press Use this data.")
            return
        names = [main.name] + ([items.name] if items is not None else [])
        try:
            spec = save_upload(
                main.getvalue(),
                main.name,
                items.getvalue() if items is not None else None,
                items.name if items is not None else None,
            )
            loaders.dataset(spec)  # kept only once it loaded: this fills the cache
        except UserError as error:  # one sentence naming the file as uploaded; nothing was kept
            text.error(upload_failure(str(error), names))
            return
        state.set_view(dataset=spec, models=None, item=None, user=None)
        st.rerun()


def upload_failure(message: str, names: list[str]) -> str:
    """A refused upload's sentence, naming the user's own file: the loader's sentence names it
    almost always; when it does not ("An id column has empty values..."), the file names are
    put in front."""
    if not any(name and name in message for name in names):
        shown = " and ".join(names)
        message = f"{shown}: {message[:1].lower()}{message[1:]}"
    return message
