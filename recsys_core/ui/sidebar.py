"""The shared sidebar: the current dataset (pick, download, upload) and the current model (pick
from the store, or train one from a form generated from the registry's parameter schema)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

import streamlit as st

from ..algorithms import algorithms, get_algorithm, parse_params
from ..algorithms.base import Param
from ..dataset import Dataset
from ..datasets import fetch_dataset, file_labels, is_path_spec, kcore_spec, split_spec
from ..errors import UserError
from ..training import train
from ..uploads import is_upload, save_upload, source_for, upload_files
from . import loaders, state, text

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"
TRAIN_FORM = "train_form"
DEFAULT_ALGORITHM = "als"


def _ensure_navigation() -> None:
    """Run through app.py's ``st.navigation`` even when the first request is a deep link.

    Streamlit starts in its legacy multipage mode when a ``pages/`` folder sits beside the entry
    script, until some session runs ``st.navigation``; a first visit to ``/similar?...`` would
    then run the page alone. Switch the mode off and rerun: the rerun goes through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        # run app.py's navigation now (it runs this page again, inside it) rather than rerun:
        # a rerun would drop the widget event that started this run (a form submit, a click)
        runpy.run_path(str(APP_SCRIPT), run_name="__main__")
        st.stop()


def render() -> tuple[Dataset | None, str]:
    """Draw the sidebar; returns the current dataset (None if it cannot be loaded) and its spec."""
    _ensure_navigation()
    view = state.view()
    with st.sidebar:
        st.markdown("### Dataset")
        spec = _dataset_picker(view.dataset)
        try:
            data = loaders.dataset(spec)
        except UserError as error:
            text.error(str(error))
            return None, spec
        text.caption(
            f"{data.label}: {data.n_users:,} users · {data.n_items:,} items · "
            f"{data.n_interactions:,} interactions ({data.density:.2%} dense)"
        )
        st.markdown("### Model")
        _model_picker(data, spec, view)
        _train_form(data, spec)
    return data, spec


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
    return row["name"] if row["local"] else f"{row['name']} (not downloaded)"


def _url_selectbox(
    label: str, options: list[str], current: str | None, labels: dict, *, key: str
) -> str:
    """A keyed selectbox that follows the URL's value.

    When the URL changed elsewhere (another page, a form, a trained model, the back button), the
    widget's remembered value would switch the view straight back; so its value is set from the
    URL whenever the URL's value differs from the one last seen (popping the key is not enough in
    a browser). ``current`` None (or absent) starts it on the first option.
    """
    seen = f"{key}_seen"
    if st.session_state.get(seen) != current or st.session_state.get(key) not in options:
        st.session_state[key] = current if current in options else options[0]
    st.session_state[seen] = current
    return st.selectbox(
        label,
        options,
        format_func=lambda option: labels.get(option, option),
        key=key,
        label_visibility="collapsed",
    )


def _dataset_picker(current: str) -> str:
    """The dataset select box. The URL's dataset is shown only if a link may open it
    (:func:`recsys_core.datasets.require_shareable`); a path it may not open leaves the box
    empty and is returned as is, so loading it gives the one sentence and the page stops."""
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
                state.set_view(dataset=picked, models=None, item=None, user=None)

        st.selectbox(
            "Dataset", names, index=None, placeholder="Pick a dataset",
            format_func=lambda option: labels.get(option, option),
            key="sidebar_dataset_refused", on_change=pick, label_visibility="collapsed",
        )
        with st.expander("Upload interactions", icon=":material/upload_file:"):
            _upload_form()
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
    choice = _url_selectbox("Dataset", names, current, labels, key="sidebar_dataset")
    if choice != current:
        state.set_view(dataset=choice, models=None, item=None, user=None)
        st.rerun()
    row = next((r for r in rows if r["name"] == choice), None)
    if row is not None and not row["local"] and row["remote"]:
        st.info(f"{choice} is not on this machine yet. {row['size']}".strip())
        if st.button(f"Download {choice}", key="download_dataset", icon=":material/download:"):
            bar = st.progress(0.0, text="Starting the download…")
            try:
                fetch_dataset(choice, progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
            except UserError as error:
                st.error(str(error))
            else:
                loaders.clear_sources()
                st.rerun()
        st.stop()
    with st.expander("Upload interactions", icon=":material/upload_file:"):
        _upload_form()
    return choice


def _upload_form() -> None:
    """Upload an interactions file (and an items file). ``save_upload`` loads it before keeping
    it, so a bad file gets one sentence naming it as the user named it, and nothing is kept."""
    st.caption(
        "A csv, tsv or parquet file with user and item columns (optional weight, rating, "
        "timestamp), and optionally an items file with item_id, name, image_url, category, tags."
    )
    from ..uploads import SUFFIXES

    kinds = sorted(suffix.lstrip(".") for suffix in SUFFIXES)
    with st.form("upload_form", clear_on_submit=False, border=False):
        main = st.file_uploader("Interactions", type=kinds, key="up_main")
        items = st.file_uploader("Items (optional)", type=kinds, key="up_items")
        submitted = st.form_submit_button("Use this data")
    if submitted:
        if main is None:
            text.error("Choose an interactions file first, then press Use this data.")
            return
        try:
            spec = save_upload(
                main.getvalue(),
                main.name,
                items.getvalue() if items is not None else None,
                items.name if items is not None else None,
            )
            loaders.dataset(spec)  # kept only once it loaded: this fills the cache
        except UserError as error:  # one sentence naming the file as uploaded; nothing was kept
            text.error(str(error))
            return
        state.set_view(dataset=spec, models=None, item=None, user=None)
        st.rerun()


# ----------------------------------------------------------------------------------------- model
def _params_summary(algorithm: str | None, params: dict | None, limit: int = 3) -> str:
    """The parameters that differ from the defaults first, then the leading ones (schema order);
    seeds and thread counts left out."""
    if not params:
        return ""
    try:
        schema = get_algorithm(str(algorithm)).params
    except UserError:
        schema = ()
    defaults = {p.name: p.default for p in schema}
    order = [p.name for p in schema] or list(params)
    order = [k for k in order if k in params and k not in {"random_state", "num_threads"}]
    changed = [k for k in order if k in defaults and params[k] != defaults[k]]
    rest = [k for k in order if k not in changed and not isinstance(params[k], bool)]

    def show(key: str) -> str:
        value = params[key]
        if isinstance(value, bool):
            return key if value else f"no {key}"
        return f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"

    return ", ".join(show(k) for k in (changed + rest)[:limit])


def _metric_summary(metrics: dict | None) -> str:
    if not metrics:
        return ""
    latest = list(metrics.values())[-1]
    if isinstance(latest, dict) and "precision" in latest:
        return f" · p@{latest.get('k', 10)} {latest['precision']:.3f}"
    return ""


def model_label(entry: dict) -> str:
    """'als (factors=40, …) · 3 min ago · p@10 0.123'."""
    params = _params_summary(entry.get("algorithm"), entry.get("params"))
    label = f"{entry.get('algorithm')} ({params})" if params else str(entry.get("algorithm"))
    when = loaders.age(entry.get("created"))
    return label + (f" · {when}" if when else "") + _metric_summary(entry.get("metrics"))


def _model_picker(data: Dataset, spec: str, view: state.View) -> None:
    entries = loaders.model_entries(data.fingerprint)
    good = [e for e in entries if not e.get("damaged")]
    damaged = [e for e in entries if e.get("damaged")]
    if not good:
        st.info("No trained model for this dataset yet: train one below.")
    else:
        ids = [e["model_id"] for e in good]
        labels = {e["model_id"]: model_label(e) for e in good}
        current = view.model if view.model in ids else None
        if view.model and current is None:
            text.warning(f"Model {view.model!r} is not stored for this dataset; pick another.")
        choice = _url_selectbox("Model", ids, current, labels, key="sidebar_model")
        if choice != view.model and len(view.models) <= 1:
            state.set_view(models=[choice])
    if damaged:
        with st.expander(f"{len(damaged)} damaged model(s)", icon=":material/warning:"):
            for entry in damaged:
                text.caption(f"{entry['model_id']}: {entry['damaged']}")


def _param_widget(algorithm: str, param: Param, value: Any, preset: str | None = None) -> Any:
    # one key per preset, so choosing a preset shows its values (not the last ones typed)
    prefix = f"param_{algorithm}_{preset}" if preset else f"param_{algorithm}"
    key = f"{prefix}_{param.name}"
    label = param.name
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


def _usable(cls, data: Dataset) -> str | None:
    """Why an algorithm cannot train on this dataset (None if it can)."""
    if "ratings" in cls.needs and data.ratings is None:
        return f"{cls.name} needs explicit ratings, which {data.label} does not have."
    return None


def _train_form(data: Dataset, spec: str) -> None:
    registry = algorithms()
    names = sorted(registry)
    first = not loaders.model_entries(data.fingerprint)
    with st.expander("Train a model", icon=":material/model_training:", expanded=first):
        default = names.index(DEFAULT_ALGORITHM) if DEFAULT_ALGORITHM in names else 0
        algorithm = st.selectbox(
            "Algorithm",
            names,
            index=default,
            format_func=lambda n: f"{n} — {registry[n].label or n}",
            key="train_algorithm",
        )
        cls = get_algorithm(algorithm)
        st.caption(cls.description)
        problem = _usable(cls, data)
        if problem:
            text.warning(problem)
            return
        presets = ["(defaults)"] + list(cls.presets)
        preset = st.selectbox("Preset", presets, key=f"train_preset_{algorithm}")
        base = parse_params(algorithm, None, None if preset == "(defaults)" else preset)
        with st.form(f"{TRAIN_FORM}_{algorithm}_{preset}", border=False):
            chosen = None if preset == "(defaults)" else preset
            values = {p.name: _param_widget(algorithm, p, base[p.name], chosen) for p in cls.params}
            submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
        if submitted:
            _run_training(data, spec, algorithm, values)


def _run_training(data: Dataset, spec: str, algorithm: str, values: dict) -> None:
    bar = st.progress(0.0, text=f"Training {algorithm}…")
    st.button("Cancel", key="cancel_training", help="Stops training; nothing is saved.")

    def progress(fraction: float, message: str) -> None:
        bar.progress(
            min(max(float(fraction), 0.0), 1.0),
            text=text.md_escape(message or f"Training {algorithm}…"),
        )

    base, cut = split_spec(spec)
    source = source_for(base) if is_upload(base) else None
    if source is not None and cut is not None:  # an upload cut to a k-core
        source["spec"] = kcore_spec(source["spec"], *cut)
    try:
        result = train(data, algorithm, values, progress=progress, source=source)
    except UserError as error:
        text.error(str(error))
        return
    loaders.clear_model_listing()
    verb = "Reused" if result.reused else "Trained"
    text.toast(f"{verb} {algorithm} model {result.model_id}", icon=":material/check_circle:")
    state.set_view(models=[result.model_id])
    st.rerun()
