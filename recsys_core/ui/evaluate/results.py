"""The Evaluate page's Metrics section: pick stored models, evaluate them on a button press
(:func:`recsys_core.evaluation.workflow.evaluate_stored_model`: reused from the store when
already recorded), and show what the store holds: four tables, the metrics' definitions, the
command line that prints the same numbers, then the per-user and slice charts
(:mod:`.per_user`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from ... import config, evaluation, words
from ...dataset import Dataset
from ...errors import UserError
from ...evaluation import workflow
from ...split import parse_split_spec
from ...store import ModelStore
from .. import loaders, state, text
from ..model_picker import model_label
from . import per_user
from .protocol import (
    MODELS_KEY,
    OUTCOME_KEY,
    RECOMPUTE_KEY,
    RUN_KEY,
    Protocol,
    metric_help,
    metric_words,
    sync,
)

LOWER_IS_BETTER = frozenset({"mean_popularity", "fit_seconds"})
"""Table columns where the smallest value is the best (popularity bias, training time)."""
METRICS_DOC = config.PROJECT_ROOT / "docs" / "METRICS.md"
ACCURACY_COLUMNS = (*evaluation.ACCURACY_METRICS, "auc_full")
HIT_COLUMNS = ("precision", "precision_implicit", "recall", "hit_rate")
"""The accuracy metrics that count hits (the first table); the others weigh where they rank."""
TABLES = (
    ("Accuracy: how many held-out likes the top k finds", "eval_table_accuracy"),
    ("Accuracy: how high they rank", "eval_table_ranking"),
    ("Beyond accuracy", "eval_table_beyond"),
    ("Cost", "eval_table_cost"),
)
MODEL_COLUMN_WIDTH = 260
"""Pixels of the model column, so a table's metrics fit beside it on a 1280-pixel screen."""


# ------------------------------------------------------------------------- evaluating models
def run_evaluations(
    data: Dataset, model_ids: Sequence[str], proto: Protocol, recompute: bool
) -> list[workflow.Outcome]:
    """Evaluate the chosen models one after the other, with a progress bar over them."""
    bar = st.progress(0.0, text="Starting…")
    outcomes = []
    for position, model_id in enumerate(model_ids):

        def progress(
            fraction: float, message: str = "", position: int = position, model_id: str = model_id
        ) -> None:
            overall = (position + min(max(fraction, 0.0), 1.0)) / len(model_ids)
            note = f"Model {position + 1} of {len(model_ids)} ({model_id}): {message}"
            bar.progress(min(overall, 1.0), text=text.md_escape(note))

        try:
            outcomes.append(
                workflow.evaluate_stored_model(
                    data, model_id, proto, recompute=recompute, progress=progress
                )
            )
        except (UserError, NotImplementedError) as error:
            outcomes.append(workflow.Outcome(model_id, "failed", error=str(error)))
    bar.empty()
    loaders.clear_model_listing()
    return outcomes


def outcome_note(outcomes: Sequence[workflow.Outcome]) -> None:
    """What an Evaluate press did, in one line, then each failure's sentence."""
    done = [o for o in outcomes if o.how in ("refit", "stored")]
    reused = [o for o in outcomes if o.how == "reused"]
    parts = []
    if done:
        parts.append(f"evaluated {len(done)} model(s) in {sum(o.seconds for o in done):.1f} s")
    if reused:
        parts.append(f"reused the stored metrics of {len(reused)}")
    if parts:
        note = "; ".join(parts)
        text.success(note[0].upper() + note[1:] + ".", icon=":material/check_circle:")
    for outcome in outcomes:
        if outcome.how == "failed":
            text.error(f"{outcome.model_id}: {outcome.error}")


# ------------------------------------------------------------------------------ the tables
def stored_summaries(model_ids: Sequence[str], proto: Protocol) -> dict[str, dict]:
    """``{model_id: meta}`` for the models (fresh from disk), skipping unreadable ones."""
    store = ModelStore()
    metas = {}
    for model_id in model_ids:
        try:
            metas[model_id] = store.meta(model_id)
        except UserError:
            continue
    return metas


def metrics_frame(metas: dict[str, dict], proto: Protocol) -> pd.DataFrame:
    """One row per model evaluated under ``proto`` (index: model name), one column per metric
    in :data:`recsys_core.evaluation.METRICS` order that some model has, then fit_seconds."""
    rows = {}
    for meta in metas.values():
        found = (meta.get("metrics") or {}).get(proto.key)
        if not found:
            continue
        row = {}
        for name in (*evaluation.METRICS, "fit_seconds"):
            value = found.get(name)
            row[name] = float(value) if isinstance(value, (int, float)) else math.nan
        rows[model_label(meta, row=True)] = row
    columns = [*evaluation.METRICS, "fit_seconds"]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "model"
    return frame.dropna(axis=1, how="all")


def style_table(frame: pd.DataFrame) -> Any:
    """Best per column in bold on green: the highest, or the lowest for LOWER_IS_BETTER."""
    props = "font-weight:700;background-color:rgba(18,184,134,.28)"
    higher = [c for c in frame.columns if c not in LOWER_IS_BETTER]
    lower = [c for c in frame.columns if c in LOWER_IS_BETTER]
    formats = {c: "{:.4f}" for c in frame.columns}
    formats.update({"mean_popularity": "{:,.1f}", "fit_seconds": "{:.2f} s"})
    styler = frame.style.format({c: f for c, f in formats.items() if c in frame}, na_rep="–")
    if len(frame) > 1:
        styler = styler.highlight_max(subset=higher, axis=0, props=props)
        if lower:
            styler = styler.highlight_min(subset=lower, axis=0, props=props)
    return styler


def column_help(keys: Sequence[str] = ()) -> dict[str, Any]:
    """Column labels in words, each with its one-line help: every metric, the training time,
    the model column (the index) and any other ``keys`` (a search's parameters, its status)."""
    out: dict[str, Any] = {
        name: st.column_config.NumberColumn(metric_words(name), help=metric_help(name))
        for name in (*evaluation.METRIC_INFO, *evaluation.SLICE_METRICS)
    }
    out["mean_popularity"] = st.column_config.NumberColumn(
        metric_words("mean_popularity") + " ↓",
        help=metric_help("mean_popularity") + " Lower is better.",
    )
    out["fit_seconds"] = st.column_config.NumberColumn(
        metric_words("fit_seconds") + " ↓",
        help="Seconds to train the model on the split's train part. Lower is better.",
    )
    out["_index"] = st.column_config.TextColumn("Model", help="The stored model, in words.")
    for key in keys:
        out.setdefault(key, st.column_config.Column(metric_words(key)))
    return out


def which_precision(proto: Protocol) -> str:
    """Which precision is which, in words (the page says it under the accuracy table)."""
    headline, implicit = metric_words("precision"), metric_words("precision_implicit")
    text_ = (
        f"{headline} is precision as readers, LightFM, RecTools and Cornac count it: the hits "
        f"in each user's top {proto.k} divided by {proto.k}, averaged over users. {implicit} is "
        "the number the implicit library reports: hits divided by the smaller of k and the "
        "user's held-out likes, summed over users before dividing."
    )
    try:
        kind, args = parse_split_spec(proto.split)
    except UserError:
        kind, args = "", ()
    if kind == "holdout" and len(args) == 1 and int(args[0]) <= proto.k:
        text_ += (
            f" With {int(args[0])} held-out likes per user and a top {proto.k}, implicit's "
            f"equals recall, and the headline precision is {int(args[0])}/{proto.k} of it."
        )
    return text_


def conventions_caption() -> str:
    """Which library each accuracy metric follows, in words."""
    by_library: dict[str, list[str]] = {}
    for metric, library in evaluation.CONVENTIONS.items():
        by_library.setdefault(library, []).append(metric_words(metric))
    implicit = "; ".join(by_library.get("implicit", []))
    lightfm = "; ".join(by_library.get("lightfm", []))
    return (
        f"Equal to LightFM's own numbers: {lightfm}. Equal to implicit's: {implicit}. The rest "
        "are textbook definitions. ↓ marks columns where lower is better."
    )


def glossary() -> pd.DataFrame:
    """Every metric of the tables as their headers name it: what it measures (with its full
    label), which library's number it equals, and its name in the command line and the store
    (index: the header's words)."""
    rows = []
    for key in evaluation.METRICS:
        label, help_ = words.metric_label(key)
        short = metric_words(key)  # as in the tables' headers
        rows.append(
            {
                "Metric": short,
                "What it measures": help_ if label == short else f"{label}: {help_}",
                "Equals": {"lightfm": "LightFM's", "implicit": "implicit's"}.get(
                    evaluation.CONVENTIONS.get(key, ""), "textbook"
                ),
                "Name in the command line": key,
            }
        )
    return pd.DataFrame(rows).set_index("Metric")


def definitions() -> None:
    """Every metric in words, then docs/METRICS.md (the exact definitions), one click away."""
    box = st.expander(
        "Metric definitions", icon=":material/menu_book:", key="eval_definitions", on_change="rerun"
    )
    with box:
        if not box.open:  # read and drawn only when opened
            return
        st.table(glossary())  # a static table: long explanations wrap
        try:
            doc = METRICS_DOC.read_text(encoding="utf-8")
            title, _, rest = doc.partition("\n")  # its own title, smaller under the glossary
            heading = title.lstrip("# ").strip() if title.startswith("# ") else ""
            body = rest if heading else doc
            st.markdown(f"#### {heading}: exact definitions\n{body}" if heading else body)
        except OSError:
            st.markdown("\n".join(f"- **{k}**: {v}" for k, v in evaluation.METRIC_INFO.items()))


def metrics_table(frame: pd.DataFrame, proto: Protocol, metas: dict[str, dict]) -> None:
    """Four tables (hits, ranks, beyond accuracy, training time), best per column highlighted,
    each narrow enough to show every column without scrolling on a 1280-pixel screen."""
    hits = [c for c in frame.columns if c in HIT_COLUMNS]
    ranks = [c for c in frame.columns if c in ACCURACY_COLUMNS and c not in HIT_COLUMNS]
    beyond = [c for c in frame.columns if c not in ACCURACY_COLUMNS and c != "fit_seconds"]
    cost = [c for c in frame.columns if c == "fit_seconds"]
    config_ = column_help()
    config_["_index"] = st.column_config.TextColumn(
        "Model", width=MODEL_COLUMN_WIDTH, help="The stored model, in words."
    )
    for (title, key), columns in zip(TABLES, (hits, ranks, beyond, cost), strict=True):
        if not columns:
            continue
        st.markdown(f"**{title}**")
        st.dataframe(
            style_table(frame[columns]),
            width="stretch" if columns != cost else "content",
            column_config=config_,
            placeholder="–",
            key=key,
        )
        if key == "eval_table_accuracy" and {"precision", "precision_implicit"} & set(columns):
            text.caption(which_precision(proto))
    first = (
        next(
            iter(
                (m.get("metrics") or {}).get(proto.key)
                for m in metas.values()
                if (m.get("metrics") or {}).get(proto.key)
            ),
            {},
        )
        or {}
    )
    users = first.get("n_users")
    how = (
        "Models trained on the whole dataset are trained again on the split's train part with "
        "their own parameters; models trained on this split are evaluated as stored."
    )
    text.caption(
        f"Measured on {proto.label}"
        + (f" ({int(users):,} test users)" if users else "")
        + f"; best per column highlighted. {how} {conventions_caption()}"
    )


# --------------------------------------------------------------------------- the command line
def cli_command(spec: str, entry: dict, proto: Protocol) -> str:
    """The command line that prints the same numbers for a stored model."""
    if workflow.trained_on_split(entry, proto.split, proto.seed):
        return f"python -m recsys_core evaluate --model {entry['model_id']} -k {proto.k} --json"
    params = " ".join(
        f"--param {key}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in (entry.get("params") or {}).items()
    )
    dataset = spec if " " not in spec else json.dumps(spec)
    return (
        f"python -m recsys_core evaluate {dataset} {entry.get('algorithm')} {params} "
        f"--split {proto.split} --seed {proto.seed} -k {proto.k} --json"
    )


def reproduce(spec: str, metas: dict[str, dict], proto: Protocol) -> None:
    """The command lines of the shown models, in an expander drawn only when opened."""
    box = st.expander(
        "The same numbers from the command line",
        icon=":material/terminal:",
        key="eval_cli",
        on_change="rerun",
    )
    with box:
        if not box.open:  # drawn only when opened (a code block loads a syntax highlighter)
            return
        st.code(
            "\n".join(cli_command(spec, meta, proto) for meta in metas.values()),
            language="bash",
            wrap_lines=True,
        )


# ----------------------------------------------------------------------------- the section
def _pick_and_evaluate(
    data: Dataset, names: dict[str, str], view: state.View, proto: Protocol
) -> list[str]:
    """The model picker (``names``: ``{model id: name}``), Recompute and Evaluate; runs the
    evaluations on a press (then the whole page reruns so every list of models shows the new
    metrics); returns the picked ids."""
    ids = list(names)
    chosen = [m for m in view.models if m in ids] or ids[:1]
    sync(MODELS_KEY, chosen)

    def on_models() -> None:
        state.set_view(models=list(st.session_state.get(MODELS_KEY) or []) or None)

    picked = st.multiselect(
        "Models",
        ids,
        key=MODELS_KEY,
        format_func=names.get,
        on_change=on_models,
        placeholder="Pick stored models",
    )
    middle, right = st.columns([4, 1], vertical_alignment="center")
    recompute = middle.checkbox(
        "Recompute",
        key=RECOMPUTE_KEY,
        help="Evaluate again even when the store already holds metrics for these settings.",
    )
    pressed = right.button(
        "Evaluate",
        key=RUN_KEY,
        type="primary",
        icon=":material/play_arrow:",
        width="stretch",
        disabled=not picked,
    )
    if pressed and picked:
        outcomes = run_evaluations(data, picked, proto, recompute)
        if any(o.how in ("refit", "stored") for o in outcomes):
            # new metrics in the store: the whole page reruns, so the sidebar's model label
            # (and every other list of models) shows them; the note follows the rerun
            st.session_state[OUTCOME_KEY] = outcomes
            st.rerun(scope="app")
        outcome_note(outcomes)
    elif OUTCOME_KEY in st.session_state:
        outcome_note(st.session_state.pop(OUTCOME_KEY))
    return picked


def metrics_section(data: Dataset, spec: str, view: state.View, proto: Protocol) -> None:
    """Pick stored models, evaluate them on a button press, and show what the store holds."""
    entries = [e for e in loaders.model_entries(data.fingerprint) if not e.get("damaged")]
    if not entries:
        st.info(
            "No trained model for this dataset yet: train one in the sidebar (or find one "
            "with Search), then evaluate it here.",
            icon=":material/model_training:",
        )
        return
    names = {e["model_id"]: model_label(e, row=True) for e in entries}
    picked = _pick_and_evaluate(data, names, view, proto)
    if not picked:
        st.info("Pick one or more models to evaluate.")
        return
    metas = stored_summaries(picked, proto)
    frame = metrics_frame(metas, proto)
    pending = [
        names.get(m, m)
        for m in picked
        if m in metas and model_label(metas[m], row=True) not in frame.index
    ]
    if frame.empty:
        text.info(
            f"Not evaluated on {proto.label} yet: press Evaluate (a few seconds per "
            "model on the demo).",
            icon=":material/leaderboard:",
        )
        definitions()
        return
    metrics_table(frame, proto, metas)
    if pending:
        text.caption(f"Not evaluated with these settings yet: {', '.join(pending)}.")
    definitions()
    shown = {m: metas[m] for m in metas if model_label(metas[m], row=True) in frame.index}
    reproduce(spec, shown, proto)
    per_user.distributions(metas, proto)
    per_user.slices(metas, proto)
