"""The Evaluate page's Learning curves section: an algorithm's metric after every training pass,
on the test part and on the train part, computed on a button press and kept in the disk cache
(:func:`recsys_core.evaluation.workflow.cached_learning_curve`). The algorithm and the metric are
bound to the URL (``curve_algo``, ``curve_metric``); the form starts from the parameters of the
sidebar's model when it is of that algorithm."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ... import evaluation, words
from ...algorithms import algorithms, get_algorithm, parse_params
from ...dataset import Dataset
from ...errors import UserError
from ...evaluation import workflow
from .. import state, text
from ..model_picker import model_label, params_text
from ..train_form import param_input
from .figures import curve_figure
from .protocol import (
    CURVE_ALGO_KEY,
    CURVE_ALGORITHM,
    CURVE_FORM,
    CURVE_LAST,
    CURVE_METRIC,
    Protocol,
    default_algorithm,
    metric_words,
    view_entry,
)


def _curve_form(algorithm: str, from_model: dict | None) -> tuple[dict[str, Any], bool]:
    """The parameters' form (from the sidebar's model, else the defaults); returns the values
    and whether *Draw learning curve* was pressed."""
    base = parse_params(algorithm, (from_model or {}).get("params"))
    source = from_model["model_id"] if from_model else "defaults"
    with st.form(f"{CURVE_FORM}_{algorithm}_{source}", border=True):
        columns = st.columns(3)
        values = {}
        for position, param in enumerate(get_algorithm(algorithm).params):
            with columns[position % 3]:
                values[param.name] = param_input(
                    param, base[param.name], f"eval_curve_{algorithm}_{source}_{param.name}"
                )
        drawn = st.form_submit_button(
            "Draw learning curve",
            type="primary",
            icon=":material/show_chart:",
            key="eval_curve_run",
        )
    return values, drawn


def _compute(data: Dataset, algorithm: str, values: dict, proto: Protocol, metric: str) -> bool:
    """Compute the curve of the form's values (unless the cache holds it), with a progress bar;
    keeps its payload as the one to draw. False, with the reason shown, when it failed."""
    try:
        params = parse_params(algorithm, values)
    except UserError as error:
        text.error(str(error))
        return False
    payload = workflow.curve_payload(data.fingerprint, algorithm, params, proto, metric)
    if workflow.CURVES.get(payload) is None:
        bar = st.progress(0.0, text=f"Training {words.algorithm_label(algorithm)}…")
        try:
            workflow.cached_learning_curve(
                data,
                payload,
                progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=text.md_escape(m)),
            )
        except (UserError, NotImplementedError) as error:
            bar.empty()
            text.error(str(error))
            return False
        bar.empty()
    st.session_state[CURVE_LAST] = payload
    return True


def curves_section(data: Dataset, view: state.View, proto: Protocol) -> None:
    """Pick an algorithm with epochs and a metric, set its parameters, draw its curve."""
    names = [
        n
        for n, cls in sorted(algorithms().items())
        if "epochs" in cls.capabilities and workflow.can_refit(n, data)
    ]
    if not names:
        text.info(f"No algorithm with epochs can train on {data.label}.")
        return
    entry = view_entry(data, view)
    top = st.columns([2, 2, 3], vertical_alignment="bottom")
    algorithm = state.bound(
        top[0].selectbox,
        "Algorithm",
        key=CURVE_ALGO_KEY,
        param=CURVE_ALGORITHM,
        default=names[default_algorithm(names, entry)],
        valid=names,
        options=names,
        format_func=words.algorithm_label,
    )
    metrics = list(evaluation.ACCURACY_METRICS)
    metric = state.bound(
        top[1].selectbox,
        "Metric",
        key="eval_curve_metric",
        param=CURVE_METRIC,
        default=metrics[0],
        valid=metrics,
        options=metrics,
        format_func=metric_words,
        help="Measured on the test part after every training pass.",
    )
    from_model = entry if entry and entry.get("algorithm") == algorithm else None
    top[2].caption(
        text.md_escape(
            "Starting from the parameters of the model in the sidebar "
            f"({model_label(from_model, row=True)})."
            if from_model
            else f"Starting from the defaults of {words.algorithm_label(algorithm)}."
        )
    )
    values, drawn = _curve_form(algorithm, from_model)
    text.caption(
        f"Trained once on the train part of {proto.label}; after each training pass "
        "the metric is measured on the test part (training items excluded) and on the "
        "train part (nothing excluded), on up to 2,000 test users."
    )
    if drawn and not _compute(data, algorithm, values, proto, metric):
        return
    payload = st.session_state.get(CURVE_LAST)
    if not payload or payload.get("fingerprint") != data.fingerprint:
        st.info("Choose parameters and press *Draw learning curve*.", icon=":material/show_chart:")
        return
    frame = workflow.CURVES.get(payload)
    if frame is None:
        st.info("Press *Draw learning curve* again.", icon=":material/show_chart:")
        return
    draw_curve(frame, payload)


def draw_curve(frame: pd.DataFrame, payload: dict) -> None:
    """The curve of ``payload``, its best test point in words, and (for ALS) the mean squared
    error and training loss in an expander drawn only when opened."""
    metric = payload["metric"]
    name = words.algorithm_label(payload["algorithm"])
    label = f"{name} · {params_text(payload['algorithm'], payload['params'])}"
    epochs = int(frame["epoch"].max()) if len(frame) else 0
    measured = words.metric_label(f"{metric}@{payload['k']}")[0]
    title = f"{measured}, per training pass: {label}"
    st.plotly_chart(
        curve_figure(frame, metric, title),
        width="stretch",
        key="eval_curve_chart",
        config={"displaylogo": False},
    )
    test = frame[(frame["metric"] == metric) & (frame["split"] == "test")]
    if len(test):
        best = test.loc[test["value"].idxmax()]
        where = words.split_label(payload["split"], seed=payload["seed"])
        text.caption(
            f"{epochs} training passes on {where}; best on the test part: "
            f"{metric_words(metric)} {best['value']:.4f} after pass "
            f"{int(best['epoch'])}."
        )
    extra = [m for m in ("mse", "loss") if m in set(frame["metric"])]
    if extra:
        box = st.expander(
            "Mean squared error and training loss (the WRMF post's curves)",
            icon=":material/stacked_line_chart:",
            key="eval_curve_more",
            on_change="rerun",
        )
        with box:
            if not box.open:  # drawn only when opened
                return
            cols = st.columns(len(extra))
            for column, key in zip(cols, extra, strict=True):
                column.plotly_chart(
                    curve_figure(frame, key, metric_words(key)),
                    width="stretch",
                    key=f"eval_curve_{key}",
                    config={"displaylogo": False},
                )
