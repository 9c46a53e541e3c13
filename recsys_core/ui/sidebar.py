"""The shared sidebar: the links to the pages, the current dataset (pick, download, upload) and
the current model (pick from the store, or train one from a form generated from the registry's
parameter schema).

The pickers are bound to the URL (:func:`recsys_core.ui.state.bound`): the URL's value is shown,
and a change is written to the URL by the widget's callback, once, so any number of changes in a
row take effect.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import streamlit as st

from .. import words
from ..algorithms import algorithms, get_algorithm, parse_params
from ..algorithms.base import Param
from ..dataset import Dataset
from ..datasets import fetch_dataset, file_labels, is_path_spec, kcore_spec, split_spec
from ..errors import UserError
from ..training import train, wants_first_model
from ..uploads import is_upload, save_upload, source_for, upload_files
from . import loaders, navigation, state, steering, text

TRAIN_FORM = "train_form"
DEFAULT_ALGORITHM = "als"
PROGRESS_EVERY = 0.25
"""Seconds between two updates of a loading dataset's progress bar."""
DATASET_CHANGE_CLEARS = (state.MODEL, state.ITEM, state.USER, state.PICKS)
"""What a new dataset clears from the URL: ids of another dataset mean nothing in it."""


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
        spec = _dataset_picker(view.dataset, links, status)
    try:
        data = _load(spec, status, opening)
    except UserError as error:
        _draw_links(links, {})  # nothing of a dataset that does not open
        with st.sidebar:
            text.error(str(error))
        return None, spec
    carried = _draw_links(links, {**state.carried(), state.DATASET: spec})  # the one shown
    with st.sidebar:
        text.caption(
            f"{data.label}: {data.n_users:,} users · {data.n_items:,} items · "
            f"{data.n_interactions:,} interactions ({data.density:.2%} dense)"
        )
        st.markdown("### Model")
        _model_picker(data, spec, state.view())
        steering.sidebar(data, spec)
        if {**state.carried(), state.DATASET: spec} != carried:
            _draw_links(links, {**state.carried(), state.DATASET: spec})
        _train_form(data, spec)
    return data, spec


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
                    text=text.md_escape(f"Loading the dataset: {message}" if message else
                                        "Loading the dataset…"),
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
    from streamlit.runtime.scriptrunner import add_script_run_ctx

    def run() -> None:
        try:
            draw()
        except BaseException:  # noqa: BLE001 - a stopped or rerun script: the bar can wait
            pass

    worker = threading.Thread(target=run, name="dataset-progress", daemon=True)
    add_script_run_ctx(worker)
    worker.start()
    worker.join()


# --------------------------------------------------------------------------------------- dataset
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


def _dataset_picker(current: str, links, status=None) -> str:
    """The dataset select box. The URL's dataset is shown only if a link may open it
    (:func:`recsys_core.datasets.require_shareable`); a path it may not open leaves the box
    empty and is returned as is, so loading it gives the one sentence and the page stops.

    A registry dataset that is not on this machine stops the page after saying so in the main
    area (``status``, the slot at its top), with the download button in the sidebar
    (:func:`_not_downloaded`)."""
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
    if base in names:
        pass
    elif is_upload(base):
        try:
            loaders.check(base)
            labels[base] = f"{upload_files(base)[2]} (uploaded)"
            names.append(base)
        except UserError:
            st.warning("That uploaded dataset is gone; showing the demo.")
            base, cut = state.DEFAULT_DATASET, None
    elif _is_file_spec(base):  # allowed, but not in the (cached, capped) listing
        labels[base] = file_labels([base])[base]
        names.append(base)
    elif is_path_spec(base):
        def pick() -> None:
            picked = st.session_state.pop("sidebar_dataset_refused", None)
            if picked is not None:
                state.set_view(dataset=picked, **dict.fromkeys(DATASET_CHANGE_CLEARS))

        st.selectbox(
            "Dataset", names, index=None, placeholder="Pick a dataset",
            format_func=lambda option: labels.get(option, option),
            key="sidebar_dataset_refused", on_change=pick, label_visibility="collapsed",
        )
        with st.expander("Upload interactions", icon=":material/upload_file:"):
            upload_form()
        return current  # loaders.dataset refuses it with one sentence
    else:
        shown = f" `{base}`" if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", base) else ""
        st.warning(f"Unknown dataset{shown}; showing the demo.")
        base, cut = state.DEFAULT_DATASET, None
    current = base
    if cut is not None:
        current = kcore_spec(base, *cut)
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
        _not_downloaded(row, links, status if status is not None else st.empty())
    with st.expander("Upload interactions", icon=":material/upload_file:"):
        upload_form()
    return choice


def _not_downloaded(row: dict, links, slot) -> None:
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
            bar.progress(min(max(float(fraction), 0.0), 1.0),
                         text=text.md_escape(f"Downloading {what}: {message}"))

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
    _draw_links(links)
    st.stop()


def _alternatives() -> None:
    """What to do instead of a dataset that cannot be had: the demo, or an upload."""

    def use_demo() -> None:
        state.set_view(dataset=state.DEFAULT_DATASET, **dict.fromkeys(DATASET_CHANGE_CLEARS))

    left, right, _ = st.columns([1, 1.3, 2], vertical_alignment="center")
    left.button("Use the demo data", key="use_demo_instead", icon=":material/science:",
                on_click=use_demo)
    right.page_link("pages/data.py", label="Upload a file on the Data page",
                    icon=":material/upload_file:",
                    query_params={state.DATASET: state.DEFAULT_DATASET, "section": "upload"})


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
    network = [c for c in causes[1:] if isinstance(c, requests.ConnectionError) or (
        isinstance(c, OSError) and not isinstance(c, requests.RequestException))]
    if any(isinstance(c, requests.Timeout) for c in causes) or "timed out" in message \
            or "stalled" in message:
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
    from ..uploads import SUFFIXES

    kinds = sorted(suffix.lstrip(".") for suffix in SUFFIXES)
    form = "upload_form" if prefix == "up" else f"{prefix}_form"
    with st.form(form, clear_on_submit=False, border=False):
        main = st.file_uploader("Interactions", type=kinds, key=f"{prefix}_main")
        items = st.file_uploader("Items (optional)", type=kinds, key=f"{prefix}_items")
        submitted = st.form_submit_button(
            "Use this data", key=f"{prefix}_submit",
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


# ----------------------------------------------------------------------------------------- model
def _metric_summary(metrics: dict | None) -> str:
    """' · top-10 precision 0.123' from the latest stored evaluation ('' without one)."""
    if not metrics:
        return ""
    plain = [v for key, v in metrics.items() if words.RERANK_SEPARATOR not in str(key)]
    if not plain:  # only re-ranked evaluations: the label names the model's own lists
        return ""
    latest = plain[-1]
    if isinstance(latest, dict) and isinstance(latest.get("precision"), int | float):
        return f" · top-{latest.get('k', 10)} precision {float(latest['precision']):.3f}"
    return ""  # none stored, or NaN written as null


def _trained_at(created: str | None) -> str:
    """'3 Dec 14:05' (server time) from an ISO timestamp; '' if there is none."""
    then = loaders.parse_created(created)
    if then is None:
        return ""
    then = then.astimezone() if then.tzinfo else then
    return f"{then.day} {then:%b %H:%M}"


def model_label(entry: dict) -> str:
    """'ALS (WRMF) · latent factors 40, … · 3 Dec 14:05 · top-10 precision 0.123'.

    The algorithm and the parameters that differ from its defaults in words
    (:func:`recsys_core.words.params_label`), when it was trained, and the precision of its
    latest stored evaluation. The same text from one minute to the next (no "3 min ago"): the
    browser keeps a select box's choice as its label, so a label that changes by itself would
    lose the choice.
    """
    algorithm = entry.get("algorithm")
    params = words.params_label(str(algorithm), entry.get("params"), limit=2, changed_only=True)
    name = words.algorithm_label(str(algorithm))
    label = f"{name} · {params}" if params else name
    when = _trained_at(entry.get("created"))
    return label + (f" · {when}" if when else "") + _metric_summary(entry.get("metrics"))


def _model_picker(data: Dataset, spec: str, view: state.View) -> None:
    """The model select box, bound to the first model of the URL's ``model`` (the one every
    single-model page shows). The other models of a comparison stay in the URL behind it."""
    entries = loaders.model_entries(data.fingerprint)
    good = [e for e in entries if not e.get("damaged")]
    damaged = [e for e in entries if e.get("damaged")]
    if not good and wants_first_model(data):  # the page is training it (ui/first_visit.py)
        st.caption("Training a first model on the demo: it appears here in a few seconds.")
    elif not good:
        st.info("No trained model for this dataset yet: train one below.")
    else:
        ids = [e["model_id"] for e in good]
        labels = {e["model_id"]: model_label(e) for e in good}
        if view.model not in ids:  # none named, or one not stored: the newest, in the URL
            broken = next((e for e in damaged if e.get("model_id") == view.model), None)
            if broken is not None:
                reason = broken["damaged"]
                text.warning(f"Model {view.model} is damaged ({reason}); showing another.")
            elif view.model:
                text.warning(f"Model {view.model!r} is not stored for this dataset; pick another.")
            state.set_view(models=[ids[0], *(m for m in view.models[1:] if m != ids[0])])

        def first(raw: str) -> str | None:
            models = state.parse_list(raw)
            return models[0] if models else None

        def in_front(model_id: str) -> str:
            others = state.parse_list(st.query_params.get(state.MODEL))[1:]
            return state.dump_list([model_id, *(m for m in others if m != model_id)])

        state.bound(
            st.selectbox,
            "Model",
            key="sidebar_model",
            param=state.MODEL,
            default=None,  # always in the URL
            parse=first,
            dump=in_front,
            valid=ids,
            options=ids,
            format_func=lambda option: labels.get(option, option),
            label_visibility="collapsed",
        )
    if damaged:
        with st.expander(f"{len(damaged)} damaged model(s)", icon=":material/warning:"):
            for entry in damaged:
                text.caption(f"{entry['model_id']}: {entry['damaged']}")


def _param_widget(algorithm: str, param: Param, value: Any, preset: str | None = None) -> Any:
    # one key per preset, so choosing a preset shows its values (not the last ones typed)
    prefix = f"param_{algorithm}_{preset}" if preset else f"param_{algorithm}"
    key = f"{prefix}_{param.name}"
    label = param.label  # words; the key stays param.name (URL, --param, the store)
    if param.type is bool:
        return st.checkbox(label, value=bool(value), help=param.help, key=key)
    if param.choices is not None:
        options = list(param.choices)
        return st.selectbox(
            label, options, index=options.index(value) if value in options else 0,
            help=param.help, key=key,
        )
    if param.type is int:
        return st.number_input(
            label,
            min_value=int(param.low) if param.low is not None else None,
            max_value=int(param.high) if param.high is not None else None,
            value=int(value) if value is not None else None,
            step=1,
            help=param.help,
            key=key,
        )
    if param.type is float:
        return st.number_input(
            label,
            min_value=float(param.low) if param.low is not None else None,
            max_value=float(param.high) if param.high is not None else None,
            value=float(value),
            format="%g",
            help=param.help,
            key=key,
        )
    return st.text_input(label, value=str(value or ""), help=param.help, key=key)


def _preset_label(preset: str) -> str:
    """'(defaults)' -> 'Defaults'; 'sketchfab-best' -> 'Sketchfab best'."""
    if preset == "(defaults)":
        return "Defaults"
    words_ = preset.replace("-", " ").replace("_", " ")
    return words_[:1].upper() + words_[1:]


def _usable(cls, data: Dataset) -> str | None:
    """Why an algorithm cannot train on this dataset (None if it can)."""
    if "ratings" in cls.needs and data.ratings is None:
        return (f"{words.algorithm_label(cls.name)} needs explicit ratings, which {data.label} "
                "does not have.")
    return None


def _train_form(data: Dataset, spec: str) -> None:
    from . import training_panel

    training_panel.render(data, spec)  # jobs training on this dataset: progress, Cancel
    registry = algorithms()
    names = sorted(registry)
    first = not loaders.model_entries(data.fingerprint)
    with st.expander("Train a model", icon=":material/model_training:", expanded=first):
        default = names.index(DEFAULT_ALGORITHM) if DEFAULT_ALGORITHM in names else 0
        algorithm = st.selectbox(
            "Algorithm",
            names,
            index=default,
            format_func=words.algorithm_label,
            key="train_algorithm",
        )
        cls = get_algorithm(algorithm)
        st.caption(cls.description)
        problem = _usable(cls, data)
        if problem:
            text.warning(problem)
            return
        presets = ["(defaults)"] + list(cls.presets)
        preset = st.selectbox(
            "Starting values", presets, key=f"train_preset_{algorithm}",
            format_func=_preset_label,
            help="The algorithm's defaults, or a set of values known to work on a dataset.",
        )
        base = parse_params(algorithm, None, None if preset == "(defaults)" else preset)
        with st.form(f"{TRAIN_FORM}_{algorithm}_{preset}", border=False):
            chosen = None if preset == "(defaults)" else preset
            values = {p.name: _param_widget(algorithm, p, base[p.name], chosen) for p in cls.params}
            submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
        if submitted:
            _run_training(data, spec, algorithm, values)


def _run_training(data: Dataset, spec: str, algorithm: str, values: dict) -> None:
    from . import training_panel

    base, cut = split_spec(spec)
    source = source_for(base) if is_upload(base) else None
    if source is not None and cut is not None:  # an upload cut to a k-core
        source["spec"] = kcore_spec(source["spec"], *cut)
    if training_panel.in_background(data):  # a large dataset: a process of its own, polled
        training_panel.start(data, spec, algorithm, values, source=source)
        return
    name = words.algorithm_label(algorithm)
    bar = st.progress(0.0, text=f"Training {name}…")
    st.button("Cancel", key="cancel_training", help="Stops training; nothing is saved.")

    def progress(fraction: float, message: str) -> None:
        bar.progress(
            min(max(float(fraction), 0.0), 1.0),
            text=text.md_escape(message or f"Training {name}…"),
        )

    try:
        result = train(data, algorithm, values, progress=progress, source=source)
    except UserError as error:
        text.error(str(error))
        return
    loaders.clear_model_listing()
    verb = "Reused" if result.reused else "Trained"
    text.toast(f"{verb} {name} model {result.model_id}", icon=":material/check_circle:")
    state.set_view(models=[result.model_id])
    st.rerun()
