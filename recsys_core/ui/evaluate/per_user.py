"""Under the Evaluate page's metrics table: how each test user scores (histograms of the
per-user values kept in the disk cache, :func:`recsys_core.evaluation.workflow.stored_per_user`)
and where each model wins (the slices recorded with the metrics). Each is a fragment of its own,
its metric bound to the URL (``dist``, ``slice``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ... import evaluation
from ...evaluation import workflow
from .. import fragments, state, text
from ..model_picker import model_label
from .figures import histogram_figure, slices_figure
from .protocol import (
    DIST_METRIC,
    DIST_METRIC_KEY,
    SLICE_METRIC,
    SLICE_METRIC_KEY,
    Protocol,
    metric_words,
)

PER_USER_METRICS = {"precision": "precision", "ndcg": "ndcg", "recall": "recall", "ap": "map"}
"""Per-user histogram: per-user column -> the summary metric it averages to (its words)."""


def per_user_frames(metas: dict[str, dict], proto: Protocol) -> dict[str, pd.DataFrame]:
    """``{model name: per-user frame}`` for the models whose per-user values were kept."""
    out = {}
    for meta in metas.values():
        if proto.key not in (meta.get("metrics") or {}):
            continue
        frame = workflow.stored_per_user(meta, proto)
        if frame is not None:
            out[model_label(meta, row=True)] = frame
    return out


@fragments.fragment
def distributions(metas: dict[str, dict], proto: Protocol) -> None:
    """Per-user histograms of one metric (bound to ``dist``), one per model, and the share of
    users with no hit."""
    st.subheader("Per-user distributions", anchor=False)
    frames = per_user_frames(metas, proto)
    evaluated = [m for m in metas.values() if proto.key in (m.get("metrics") or {})]
    names = [model_label(m, row=True) for m in evaluated]
    missing = [name for name in names if name not in frames]
    if not frames:
        st.info(
            "Per-user values are kept when a model is evaluated here: tick *Recompute* and "
            "press Evaluate to draw them.",
            icon=":material/bar_chart:",
        )
        return
    metric = (
        state.bound(
            st.segmented_control,
            "Per-user metric",
            key=DIST_METRIC_KEY,
            param=DIST_METRIC,
            default="ndcg",
            valid=list(PER_USER_METRICS),
            options=list(PER_USER_METRICS),
            format_func=lambda key: metric_words(PER_USER_METRICS[key]),
            required=True,
            help="How each test user's list scores; the chart shows how many users get each score.",
        )
        or "ndcg"
    )
    label = metric_words(PER_USER_METRICS[metric])
    st.plotly_chart(
        histogram_figure(frames, metric, label),
        width="stretch",
        key="eval_histogram",
        config={"displaylogo": False},
    )
    zero = "; ".join(
        f"{100 * (f[metric] == 0).mean():.0f}% for {name}" for name, f in frames.items()
    )
    kept = f" Not kept for {', '.join(missing)} (evaluated elsewhere)." if missing else ""
    text.caption(f"Share of test users with no hit at all: {zero}.{kept}")


def slices_frame(metas: dict[str, dict], proto: Protocol) -> pd.DataFrame:
    """Tidy: one row per (model, slice) from the slices recorded with the metrics."""
    rows = []
    for meta in metas.values():
        found = (meta.get("metrics") or {}).get(proto.key) or {}
        for row in found.get("slices") or []:
            rows.append({"model": model_label(meta, row=True), **row})
    return pd.DataFrame(rows)


@fragments.fragment
def slices(metas: dict[str, dict], proto: Protocol) -> None:
    """One metric (bound to ``slice``) on light and heavy users, popular and long-tail items,
    one bar per model, with what each slice holds."""
    st.subheader("Where each model wins", anchor=False)
    frame = slices_frame(metas, proto)
    if frame.empty:
        st.info(
            "Slices are recorded when a model is evaluated here: tick *Recompute* and press "
            "Evaluate to see them.",
            icon=":material/pie_chart:",
        )
        return
    metric = (
        state.bound(
            st.segmented_control,
            "Slice metric",
            key=SLICE_METRIC_KEY,
            param=SLICE_METRIC,
            default="recall",
            valid=list(evaluation.SLICE_METRICS),
            options=list(evaluation.SLICE_METRICS),
            format_func=metric_words,
            required=True,
            help="The metric measured on each slice of users and items.",
        )
        or "recall"
    )
    st.plotly_chart(
        slices_figure(frame, metric),
        width="stretch",
        key="eval_slices",
        config={"displaylogo": False},
    )
    first = frame.drop_duplicates("slice").set_index("slice")
    st.caption(
        "Light and heavy users: "
        + first.loc["light users", "definition"]
        + " / "
        + first.loc["heavy users", "definition"]
        + ". Popular items: "
        + first.loc["popular items", "definition"]
        + "; long tail: "
        + first.loc["long-tail items", "definition"]
        + ". Item slices score the same lists "
        "against only the test items in the slice."
    )
