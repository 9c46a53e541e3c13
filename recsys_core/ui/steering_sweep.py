"""Evaluate's trade-off of one steering dial: precision against coverage, novelty or the
popularity of what is recommended, one point per setting of the dial (0, 0.25 … 1).

The points are computed once and stored like other metrics, by the core's stored sweep
(:func:`recsys_core.sweep.sweep_stored`): each under its protocol key with the steering
(``holdout:5:seed=0@k=10|rerank:popularity=0.5``) in the meta of a model trained on the
split's train part. The view's model is that model when it was trained on the protocol's split;
otherwise it is trained again with its own parameters on the split's train part and stored as
that variant (what ``evaluate DATASET ALGO --param ... --save --sweep DIAL`` does), so the next
look, from the app or the command line, reads the points instead of computing them.

The other dials and the filters stay as the sidebar's *Steer the lists* sets them.

URL parameters: ``sweep`` (the dial; present while the section is open) and ``sweep_axis``
(``coverage``, ``novelty`` or ``mean_popularity``). The section is an expander whose closed
content does not run; heavy work runs only on a button press, with a progress bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .. import words
from ..dataset import Dataset
from ..datasets import recorded_source
from ..errors import UserError
from ..evaluation import evaluate_model, save_result, split_variant
from ..evaluation.workflow import NOT_REFIT, trained_on_split
from ..html import plotly_escape
from ..rerank import DIALS, RerankSettings
from ..split import make_split
from ..store import ModelStore, model_id_for
from ..sweep import SWEEP_VALUES, sweep_stored
from . import loaders, state, steering, text

DIAL_PARAM = "sweep"
AXIS_PARAM = "sweep_axis"
AXES = ("coverage", "novelty", "mean_popularity")
"""What precision is drawn against (the x axis)."""
DEFAULT_AXIS = "coverage"
TABLE_METRICS = (
    "precision",
    "recall",
    "ndcg",
    "coverage",
    "novelty",
    "mean_popularity",
    "diversity_category",
)

# widget keys
OPEN_KEY = "sweep_open"
DIAL_KEY = "sweep_dial"
AXIS_KEY = "sweep_axis"
RUN_KEY = "sweep_run"
LABEL = "Steering: what a dial costs in metrics"

_UNSET = object()


# ------------------------------------------------------------------------------ which model
def target_model(meta: dict, data: Dataset, split: str, seed: int) -> tuple[str, bool]:
    """The stored model a sweep of ``meta``'s model reads and writes its points in, and
    whether it is stored yet.

    Parameters
    ----------
    meta : dict
        The view's model's ``meta.json``.
    split, seed : str, int
        The protocol's split spec (normalised) and seed.

    Returns
    -------
    (model_id, stored) : tuple of str and bool
        The model itself when it was trained on this split; else the id its training on the
        split's train part gets in the store (:func:`recsys_core.store.model_id_for`, the
        variant of :func:`recsys_core.evaluation.split_variant`), and whether that exists.
    """
    if trained_on_split(meta, split, seed):
        return str(meta["model_id"]), True
    variant = model_id_for(
        data.fingerprint,
        str(meta["algorithm"]),
        meta.get("params") or {},
        split_variant(split, seed),
    )
    return variant, ModelStore().exists(variant)


def stored_points(
    target: str, stored: bool, dial: str, k: int, base: RerankSettings
) -> pd.DataFrame:
    """The sweep's points as the store holds them (NaN metrics where not computed yet):
    :func:`recsys_core.sweep.sweep_stored` without computing anything."""
    if stored:
        return sweep_stored(target, dial, SWEEP_VALUES, k, base=base, compute=False)
    rows = [
        {
            "dial": dial,
            "value": v,
            "rerank": str(base.replace(**{dial: v})),
            **{m: math.nan for m in TABLE_METRICS},
            "stored": False,
        }
        for v in SWEEP_VALUES
    ]
    return pd.DataFrame(rows)


def compute(
    data: Dataset,
    spec: str,
    meta: dict,
    proto,
    dial: str,
    base: RerankSettings,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[str, pd.DataFrame]:
    """Compute the missing points and store them; returns (the model they are stored with,
    the sweep). A model not trained on the protocol's split is trained on its train part
    first (with its own parameters) and stored as that variant, as ``evaluate ... --save``
    does."""
    target, stored = target_model(meta, data, proto.split, proto.seed)
    low = 0.0
    if not stored:
        name = words.algorithm_label(str(meta["algorithm"]))

        def fitting(fraction: float, message: str = "") -> None:
            if progress is not None:
                progress(0.4 * min(max(fraction, 0.0), 1.0), message or f"Training {name}…")

        split = make_split(data, proto.split, random_state=proto.seed)
        result = evaluate_model(
            data,
            str(meta["algorithm"]),
            meta.get("params") or {},
            proto.split,
            proto.k,
            proto.seed,
            split=split,
            progress=fitting,
        )
        target = save_result(result, data, source=recorded_source(spec))
        low = 0.4

    def sweeping(fraction: float, message: str = "") -> None:
        if progress is not None:
            progress(
                low + (1.0 - low) * min(max(fraction, 0.0), 1.0), message or "Sweeping the dial…"
            )

    frame = sweep_stored(target, dial, SWEEP_VALUES, proto.k, base=base, progress=sweeping)
    return target, frame


# ------------------------------------------------------------------------------ drawing
def figure(frame: pd.DataFrame, dial: str, axis: str, marked: float | None = None) -> go.Figure:
    """Precision against ``axis``, one point per setting of ``dial`` (labelled with it), in
    the dial's order; the setting ``marked`` (the sidebar's) drawn larger."""
    ordered = frame.sort_values("value")
    word = steering.DIAL_WORDS[dial]
    x_label, y_label = words.metric_short(axis), words.metric_short("precision")
    values = [f"{v:g}" for v in ordered["value"]]
    hover = [
        plotly_escape(f"{word} {v}: {y_label} {p:.4f}, {x_label} {x:.4f}")
        for v, p, x in zip(values, ordered["precision"], ordered[axis], strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=ordered[axis],
            y=ordered["precision"],
            mode="lines+markers+text",
            text=values,
            textposition="top center",
            hovertext=hover,
            hoverinfo="text",
            marker={"size": 10, "color": "#4C78A8"},
            line={"color": "#4C78A8", "width": 2},
            name=plotly_escape(word),
            showlegend=False,
        )
    )
    if marked is not None:
        mine = ordered[(ordered["value"] - marked).abs() < 1e-9]
        if len(mine):
            fig.add_trace(
                go.Scatter(
                    x=mine[axis],
                    y=mine["precision"],
                    mode="markers",
                    hoverinfo="skip",
                    marker={
                        "size": 18,
                        "color": "rgba(0,0,0,0)",
                        "line": {"color": "#E45756", "width": 3},
                    },
                    name=plotly_escape(f"{word} as the sidebar sets it"),
                    showlegend=True,
                )
            )
    fig.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={
            "text": plotly_escape(f"{y_label} against {x_label.lower()}, {word} from 0 to 1"),
            "x": 0,
            "xanchor": "left",
            "font": {"size": 14},
        },
        xaxis_title=plotly_escape(x_label),
        yaxis_title=plotly_escape(y_label),
        legend={"orientation": "h", "y": -0.22, "x": 0, "xanchor": "left"},
    )
    fig.update_xaxes(zeroline=False)
    return fig


def table(frame: pd.DataFrame, dial: str) -> None:
    """The sweep's points as a table: the dial's value, then the metrics in words."""
    shown = frame[["value", *TABLE_METRICS]].sort_values("value").reset_index(drop=True)
    config = {
        "value": st.column_config.NumberColumn(
            steering.DIAL_WORDS[dial], format="%.2f", help=steering.DIAL_HELP[dial]
        )
    }
    for metric in TABLE_METRICS:
        label, help_ = words.metric_label(metric)
        config[metric] = st.column_config.NumberColumn(
            words.metric_short(metric), help=help_ or label, format="%.4f"
        )
    st.dataframe(shown, hide_index=True, column_config=config, width="stretch", key="sweep_table")


# ------------------------------------------------------------------------------ the section
def _open_dial() -> str:
    raw = st.query_params.get(DIAL_PARAM)
    return raw if raw in DIALS else DIALS[0]


def section(data: Dataset, spec: str, proto) -> None:
    """The expander with the sweep of one dial for the view's model under ``proto`` (the
    Evaluate page's protocol: split, seed, k)."""
    box = state.bound(
        st.expander,
        LABEL,
        key=OPEN_KEY,
        param=DIAL_PARAM,
        default=False,
        parse=lambda raw: raw in DIALS,
        dump=lambda _: _open_dial(),
        icon=steering.ICON,
    )
    with box:
        if not box.open:  # nothing read or drawn while closed
            return
        _body(data, spec, proto)


def _controls() -> tuple[str, str]:
    """The dial to sweep and the metric precision is drawn against, bound to the URL."""
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    dial = state.bound(
        left.selectbox,
        "Dial to sweep",
        key=DIAL_KEY,
        param=DIAL_PARAM,
        default=_UNSET,
        current=_open_dial(),
        options=list(DIALS),
        format_func=steering.DIAL_WORDS.get,
        help="Evaluated at 0, 0.25, 0.5, 0.75 and 1, the other dials and filters as the "
        "sidebar's Steer the lists sets them.",
    )
    axis = state.bound(
        right.segmented_control,
        "Precision against",
        key=AXIS_KEY,
        param=AXIS_PARAM,
        default=DEFAULT_AXIS,
        valid=AXES,
        options=list(AXES),
        required=True,
        format_func=words.metric_short,
    )
    return dial, axis


def _body(data: Dataset, spec: str, proto) -> None:
    view = state.view()
    steer = steering.current(data)
    dial, axis = _controls()
    if steer.problem:
        text.warning(steer.problem)
    if not view.model:
        st.info("Pick a model in the sidebar to sweep its dials.")
        return
    try:
        meta = ModelStore().meta(view.model)
    except UserError as error:
        text.error(str(error))
        return
    base = steer.settings.replace(**{dial: 0.0})
    target, stored = target_model(meta, data, proto.split, proto.seed)
    if not stored and str(meta.get("algorithm")) in NOT_REFIT:
        text.info(
            f"{words.algorithm_label(str(meta.get('algorithm')))} is not trained again "
            "here; sweep a model trained on this split instead."
        )
        return
    frame = stored_points(target, stored, dial, proto.k, base)
    missing = int(frame["precision"].isna().sum())
    name = words.algorithm_label(str(meta.get("algorithm")))
    fixed = steering.summary(base)
    text.caption(
        f"{name} on {proto.label}, one point per setting of the dial (its value beside it)"
        + (f"; the rest of the steering ({fixed}) as the sidebar sets it" if fixed else "")
        + ". Up and to the right is better for coverage and novelty, up and to the left for "
        "popularity."
    )
    if missing:
        if _offer_sweep(data, spec, meta, proto, dial, base, name, stored, missing, len(frame)):
            return
        if missing == len(frame):
            return
    st.plotly_chart(
        figure(
            frame.dropna(subset=["precision"]),
            dial,
            axis,
            marked=getattr(steer.settings, dial) if not steer.problem else None,
        ),
        width="stretch",
        key="sweep_chart",
        config={"displaylogo": False},
    )
    table(frame, dial)
    text.caption(
        f"Stored with model {target} (trained on the split's train part); the same "
        "numbers from the command line:"
    )
    st.code(command(target, proto.k, dial, base), language="bash", wrap_lines=True)


def _offer_sweep(data, spec, meta, proto, dial, base, name, stored, missing, total) -> bool:
    """Say how many settings are not evaluated yet, with the Sweep button; True when it ran
    into an error the page has shown (then the page stops)."""
    how = (
        ""
        if stored
        else f" {name} is first trained again on the split's train part "
        "(its own parameters) and kept with its evaluations."
    )
    text.info(
        f"{missing} of {total} settings not evaluated yet: press Sweep." + how,
        icon=":material/insights:",
    )
    if st.button(
        f"Sweep {steering.DIAL_WORDS[dial]}",
        key=RUN_KEY,
        type="primary",
        icon=":material/play_arrow:",
    ):
        bar = st.progress(0.0, text="Starting…")

        def progress(fraction: float, message: str = "") -> None:
            bar.progress(
                min(max(float(fraction), 0.0), 1.0), text=text.md_escape(message or "Sweeping…")
            )

        try:
            compute(data, spec, meta, proto, dial, base, progress)
        except UserError as error:
            bar.empty()
            text.error(str(error))
            return True
        loaders.clear_model_listing()  # a new variant, new metrics: every list shows them
        st.rerun(scope="app")
    return False


def command(model_id: str, k: int, dial: str, base: RerankSettings) -> str:
    """The command line that prints the same sweep (read from the store)."""
    import shlex

    line = f"python -m recsys_core evaluate --model {model_id} -k {int(k)} --sweep {dial}"
    return line + (f" --rerank {shlex.quote(str(base))}" if str(base) else "")
