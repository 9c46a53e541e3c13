"""The sidebar's dataset chooser: the registry's datasets, the files the operator shares, an
upload, or a k-core cut of one, bound to the URL's ``dataset``; a dataset that is not on this
machine yet offers its download (a failure is one sentence in words, :func:`download_failure`)."""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
import streamlit as st

from .. import words
from ..datasets import fetch_dataset, file_labels, is_path_spec, kcore_spec, split_spec
from ..datasets.uploads import is_upload, upload_files
from ..errors import UserError
from . import loaders, state, text
from .upload_form import upload_form

DATASET_CHANGE_CLEARS = (state.MODEL, state.ITEM, state.USER, state.PICKS)
"""What a new dataset clears from the URL: ids of another dataset mean nothing in it."""


def _is_file_spec(spec: str) -> bool:
    """A file dataset the app may open from a link: one a stored model records (e.g. trained
    from the command line) or one under a folder of RECSYS_DATA_DIRS. Any other path is
    refused without being looked at."""
    try:
        base, _ = split_spec(spec)
    except UserError:
        return False
    if is_upload(base) or not is_path_spec(base):
        return False
    try:
        loaders.check(base)
    except UserError:
        return False
    return True


def _dataset_label(row: dict) -> str:
    if row["synthetic"]:
        return f"{row['name']} (synthetic demo data)"
    name = words.dataset_name(row["name"])
    return name if row["local"] else f"{name} (not downloaded)"


def dataset_picker(current: str, status, redraw_links: Callable[[], None]) -> str:
    """The dataset select box. The URL's dataset is shown only if a link may open it
    (:func:`recsys_core.datasets.require_shareable`); a path it may not open leaves the box
    empty and is returned as is, so loading it gives the one sentence and the page stops.

    A registry dataset that is not on this machine stops the page after saying so in the main
    area (``status``, the slot at its top), with the download button in the sidebar
    (:func:`_not_downloaded`; ``redraw_links`` draws the page links again before it stops)."""
    rows = loaders.source_rows()
    registry = [row["name"] for row in rows]
    labels = {row["name"]: _dataset_label(row) for row in rows}
    files = loaders.shared_file_specs()  # allowed file datasets, shown by file name only
    labels.update(file_labels(files))
    names = registry + [spec for spec in files if spec not in registry]
    try:  # "demo@kcore=5,5" (the Data page's thresholded dataset): check its base below
        base, cut = split_spec(current)
    except UserError:
        base, cut = current, None  # malformed: refused or unknown below
    placed = _place(base, cut, names, labels)
    if placed is None:
        _refused(names, labels)
        _upload_expander()
        return current  # loaders.dataset refuses it with one sentence
    current, cut = placed
    if cut is not None:
        base, current = current, kcore_spec(current, *cut)
        short = base if base in registry else labels.get(base, base)
        labels[current] = f"{short}, k-core {cut[0]}/{cut[1]}"
        names.append(current)
    choice = state.bound(
        st.selectbox,
        "Dataset",
        key="sidebar_dataset",
        param=state.DATASET,
        default=None,  # always in the URL
        current=current,
        valid=names,
        reset=DATASET_CHANGE_CLEARS,
        options=names,
        format_func=lambda option: labels.get(option, option),
        label_visibility="collapsed",
    )
    row = next((r for r in rows if r["name"] == choice), None)
    if row is not None and not row["local"] and row["remote"]:
        _not_downloaded(row, status if status is not None else st.empty(), redraw_links)
    _upload_expander()
    return choice


def _place(
    base: str, cut: tuple[int, int] | None, names: list[str], labels: dict[str, str]
) -> tuple[str, tuple[int, int] | None] | None:
    """(the dataset to show, its k-core cut) for the URL's ``base``, adding an upload or an
    allowed file to ``names`` and ``labels``; the demo (with a warning) for a gone upload or an
    unknown name; None for a path a link may not open."""
    if base in names:
        return base, cut
    if is_upload(base):
        try:
            loaders.check(base)
            labels[base] = f"{upload_files(base)[2]} (uploaded)"
            names.append(base)
        except UserError:
            st.warning("That uploaded dataset is gone; showing the demo.")
            return state.DEFAULT_DATASET, None
        return base, cut
    if _is_file_spec(base):  # allowed, but not in the (cached, capped) listing
        labels[base] = file_labels([base])[base]
        names.append(base)
        return base, cut
    if is_path_spec(base):
        return None
    shown = f" `{base}`" if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", base) else ""
    st.warning(f"Unknown dataset{shown}; showing the demo.")
    return state.DEFAULT_DATASET, None


def _refused(names: list[str], labels: dict[str, str]) -> None:
    """An empty select box for a path the app refused: picking a dataset leaves it."""

    def pick() -> None:
        picked = st.session_state.pop("sidebar_dataset_refused", None)
        if picked is not None:
            state.set_view(dataset=picked, **dict.fromkeys(DATASET_CHANGE_CLEARS))

    st.selectbox(
        "Dataset",
        names,
        index=None,
        placeholder="Pick a dataset",
        format_func=lambda option: labels.get(option, option),
        key="sidebar_dataset_refused",
        on_change=pick,
        label_visibility="collapsed",
    )


def _upload_expander() -> None:
    with st.expander("Upload interactions", icon=":material/upload_file:"):
        upload_form()


def _not_downloaded(row: dict, slot, redraw_links: Callable[[], None]) -> None:
    """A registry dataset that is not on this machine: the sidebar offers its download, the
    main area (``slot``) says so in one sentence with what the app can do instead (the demo
    data, an upload on the Data page). A failed download replaces that sentence with one
    saying what happened (:func:`download_failure`), never the exception's text. Stops the
    page (there is no dataset to show)."""
    name = row["name"]
    what = words.dataset_name(name)
    size = f" ({row['size']})" if row.get("size") else ""
    text.info(f"{what} is not on this machine yet{size}.")
    pressed = st.button(f"Download {what}", key="download_dataset", icon=":material/download:")
    failure = None
    if pressed:
        with slot.container():
            bar = st.progress(0.0, text=f"Downloading {what}…")

        def progress(fraction: float, message: str) -> None:
            bar.progress(
                min(max(float(fraction), 0.0), 1.0),
                text=text.md_escape(f"Downloading {what}: {message}"),
            )

        try:
            fetch_dataset(name, progress=progress)
        except UserError as error:
            failure = download_failure(name, error)
        else:
            loaders.clear_sources()
            st.rerun()
    with slot.container():
        if failure is not None:
            text.error(failure, icon=":material/cloud_off:")
        else:
            text.info(
                f"{what} is not on this machine yet. Press Download {what} in the sidebar, "
                "or use the demo data or upload a file on the Data page.",
                icon=":material/cloud_download:",
            )
        _alternatives()
    redraw_links()
    st.stop()


def _alternatives() -> None:
    """What to do instead of a dataset that cannot be had: the demo, or an upload."""

    def use_demo() -> None:
        state.set_view(dataset=state.DEFAULT_DATASET, **dict.fromkeys(DATASET_CHANGE_CLEARS))

    left, right, _ = st.columns([1, 1.3, 2], vertical_alignment="center")
    left.button(
        "Use the demo data", key="use_demo_instead", icon=":material/science:", on_click=use_demo
    )
    right.page_link(
        "pages/data.py",
        label="Upload a file on the Data page",
        icon=":material/upload_file:",
        query_params={state.DATASET: state.DEFAULT_DATASET, "section": "upload"},
    )


_THEN = "Use the demo data or upload a file on the Data page."
_AGAIN = "Try again, or use the demo data or upload a file on the Data page."


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it (``raise ... from``), outermost first."""
    chain: list[BaseException] = []
    found: BaseException | None = error
    while found is not None and found not in chain and len(chain) < 10:
        chain.append(found)
        found = found.__cause__ or found.__context__
    return chain


def download_failure(name: str, error: BaseException) -> str:
    """One sentence on a failed download for the app: what happened, in words, and what to do
    in the app (the demo data, an upload on the Data page, or trying again). Nothing of the
    exception's own text (addresses, library names) and no command-line advice.

    Parameters
    ----------
    name : str
        The registry name of the dataset (``"movielens-100k"``).
    error : BaseException
        What :func:`recsys_core.datasets.fetch_dataset` raised (a ``DownloadError`` that keeps
        the network error as its cause).

    Returns
    -------
    str
        E.g. ``"Could not download MovieLens 100k: this machine is offline or cannot reach its
        server. Use the demo data or upload a file on the Data page."``
    """
    what = words.dataset_name(name)
    causes = _causes(error)
    message = " ".join(str(error).lower().split())
    status = re.search(r"\bhttp (\d{3})\b", message)
    network = [
        c
        for c in causes[1:]
        if isinstance(c, requests.ConnectionError)
        or (isinstance(c, OSError) and not isinstance(c, requests.RequestException))
    ]
    if (
        any(isinstance(c, requests.Timeout) for c in causes)
        or "timed out" in message
        or "stalled" in message
    ):
        reason, then = "its server did not answer in time", _AGAIN
    elif "cut off" in message or "bytes but" in message:
        reason, then = "the download was cut off", _AGAIN
    elif "checksum" in message:
        reason = "the file that arrived failed its checksum (damaged on the way or changed at "
        reason += "the source)"
        then = _AGAIN
    elif network or "could not connect" in message:
        reason, then = "this machine is offline or cannot reach its server", _THEN
    elif status is not None:
        reason = f"its server answered with an error (HTTP {status.group(1)})"
        then = "Try again later, or use the demo data or upload a file on the Data page."
    else:
        reason, then = "the file that arrived is not the release expected", _THEN
    return f"Could not download {what}: {reason}. {then}"
