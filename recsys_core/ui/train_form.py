"""The sidebar's "Train a model" form, generated from the registry's parameter schema: the
algorithm, a preset of starting values, one widget per parameter; Train runs in the script (a
progress bar and Cancel) or, for a large dataset, as a job of its own (:mod:`.training_panel`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from .. import words
from ..algorithms import algorithms, get_algorithm, parse_params
from ..algorithms.params import Param
from ..algorithms.registry import missing_input
from ..dataset import Dataset
from ..datasets import recorded_source
from ..errors import UserError
from ..training import train
from . import loaders, state, text, training_panel

TRAIN_FORM = "train_form"
DEFAULT_ALGORITHM = "als"


def _param_widget(algorithm: str, param: Param, value: Any, preset: str | None = None) -> Any:
    # one key per preset, so choosing a preset shows its values (not the last ones typed)
    prefix = f"param_{algorithm}_{preset}" if preset else f"param_{algorithm}"
    return param_input(param, value, f"{prefix}_{param.name}")


def param_input(param: Param, value: Any, key: str) -> Any:
    """One widget for one schema parameter (the sidebar's form, Evaluate's learning curves),
    labelled in words; the key stays ``param.name`` in the URL, ``--param`` and the store."""
    label = param.label
    if param.type is bool:
        return st.checkbox(label, value=bool(value), help=param.help, key=key)
    if param.choices is not None:
        options = list(param.choices)
        return st.selectbox(
            label,
            options,
            index=options.index(value) if value in options else 0,
            help=param.help,
            key=key,
        )
    if param.type in (int, float):  # a whole number steps by one; a float shows as typed
        cast = param.type
        return st.number_input(
            label,
            min_value=cast(param.low) if param.low is not None else None,
            max_value=cast(param.high) if param.high is not None else None,
            value=cast(value) if value is not None else None,
            help=param.help,
            key=key,
            **({"step": 1} if cast is int else {"format": "%g"}),
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
    if missing_input(cls, data) == "ratings":
        return (
            f"{words.algorithm_label(cls.name)} needs explicit ratings, which {data.label} "
            "does not have."
        )
    return None


def train_form(data: Dataset, spec: str) -> None:
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
            "Starting values",
            presets,
            key=f"train_preset_{algorithm}",
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
    source = recorded_source(spec)  # an upload's file, cut to its k-core; None otherwise
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
