"""The Evaluate page's pieces: the protocol (split, k, seed) kept in the URL, evaluating stored
models with their metrics recorded in the store, the metrics table, per-user distributions and
slices, learning curves, and hyperparameter search.

Nothing here computes a metric: :mod:`recsys_core.evaluation` and :mod:`recsys_core.tuning` do.

- Evaluating a stored model follows the command line: a model trained on the whole dataset is
  refit with its algorithm and parameters on the split's train part (``evaluate DATASET ALGO
  --param ...``); a model trained on this very split (``evaluate --save``, a search's best
  model) is evaluated as stored (``evaluate --model``). The aggregates, with the slices, go to
  the model's ``meta.json`` under the protocol key (``holdout:5:seed=0@k=10``), so the table is
  read back from the store and never recomputed; per-user values are kept beside it as parquet
  under ``$RECSYS_HOME/cache/evaluate`` for the histograms.
- Learning curves are cached as parquet per (dataset fingerprint, algorithm, parameters, split,
  seed, k, metric); a search's rows live in :mod:`recsys_core.tuning`'s resumable results file.
- Heavy work runs only on a button press.

URL parameters (besides dataset, model): ``split``, ``seed``, ``eval_k``, ``section``
(metrics, curves, search), ``dist`` and ``slice`` (the per-user and slice charts' metric),
``curve_algo``, ``curve_metric``, ``search_algo``, ``search_mode``, ``search_metric``. Every
control is bound to its parameter (:func:`recsys_core.ui.state.bound`); the protocol and the
open section are one fragment, the two charts under the table are fragments of their own.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative

from .. import config, evaluation, tuning, words
from ..algorithms import algorithms, get_algorithm, parse_params
from ..algorithms.base import Param
from ..dataset import Dataset
from ..errors import ParameterError, UserError
from ..html import plotly_escape
from ..split import make_split, normalise_spec, parse_split_spec
from ..store import ModelStore
from . import fragments, loaders, state, text

# ------------------------------------------------------------------------------------ the URL
SPLIT = "split"
SEED = "seed"
EVAL_K = "eval_k"
SECTION = "section"
SECTIONS = ("Metrics", "Learning curves", "Search")
SECTION_SLUGS = {"Metrics": "metrics", "Learning curves": "curves", "Search": "search"}
SECTION_NAMES = {slug: label for label, slug in SECTION_SLUGS.items()}
DIST_METRIC = "dist"
SLICE_METRIC = "slice"
CURVE_ALGORITHM = "curve_algo"
CURVE_METRIC = "curve_metric"
SEARCH_ALGORITHM = "search_algo"
SEARCH_MODE = "search_mode"
SEARCH_METRIC = "search_metric"

DEFAULT_SPLIT = "holdout:5"
DEFAULT_SEED = 0
DEFAULT_K = 10
MAX_K = 200

# widget keys
MODELS_KEY = "eval_models"
RECOMPUTE_KEY = "eval_recompute"
RUN_KEY = "eval_run"
DIST_METRIC_KEY = "eval_dist_metric"
SLICE_METRIC_KEY = "eval_slice_metric"
CURVE_ALGO_KEY = "eval_curve_algorithm"
CURVE_FORM = "eval_curve_form"
CURVE_LAST = "eval_curve_last"
SEARCH_ALGO_KEY = "eval_search_algorithm"
SEARCH_MODE_KEY = "eval_search_mode"
SEARCH_LAST = "eval_search_last"
SEARCH_SAVE_KEY = "eval_search_save"
SEARCH_MODES = {"grid": "Grid", "random": "Random"}

LOWER_IS_BETTER = frozenset({"mean_popularity", "fit_seconds"})
"""Table columns where the smallest value is the best (popularity bias, training time)."""
NOT_SEARCHABLE = frozenset({"vectors", "spark-als"})
"""Families the page does not refit (vectors come from a file; Spark runs elsewhere)."""
PER_USER_METRICS = {"precision": "precision", "ndcg": "ndcg", "recall": "recall", "ap": "map"}
"""Per-user histogram: per-user column -> the summary metric it averages to (its words)."""
OUTCOME_KEY = "eval_outcomes"
"""session_state: the last Evaluate press's outcomes, shown after the rerun it causes."""
COLOURS = tuple(qualitative.Plotly)
METRICS_DOC = config.PROJECT_ROOT / "docs" / "METRICS.md"


@dataclass(frozen=True)
class Protocol:
    """How models are evaluated: a split spec, its seed and the list length."""

    split: str = DEFAULT_SPLIT
    seed: int = DEFAULT_SEED
    k: int = DEFAULT_K

    @property
    def key(self) -> str:
        """The key of the store's metrics, e.g. ``holdout:5:seed=0@k=10``."""
        return evaluation.protocol_key(self.split, self.seed, self.k)

    @property
    def label(self) -> str:
        """In words: "5 held-out likes per user · seed 0 · top 10"."""
        return words.split_label(self.split, k=self.k, seed=self.seed)

    @property
    def help(self) -> str:
        """How the split holds likes out, in one line."""
        return words.split_help(self.split)


def metric_words(key: str) -> str:
    """A metric or column key in short words, for headers and buttons (``"auc_full"`` ->
    "AUC, all items"); :func:`metric_help` holds the full label."""
    return words.metric_short(key)


def metric_help(key: str) -> str:
    """A metric's full label and one-line help in words, with its exact definition after."""
    label, plain = words.metric_label(key)
    exact = evaluation.METRIC_INFO.get(key)
    text_ = f"{label}: {plain}" if plain else label
    return f"{text_} Exactly: {exact}." if exact else text_


def _clamped(low: int, high: int) -> Callable[[str], int]:
    """A URL parser for a whole number kept within [low, high]."""

    def parse(raw: str) -> int:
        return max(low, min(high, int(str(raw).strip())))

    return parse


def _split(raw: str) -> str:
    """A URL parser for a split spec: normalised, ValueError when it is not one."""
    try:
        return normalise_spec(raw)
    except UserError as error:
        raise ValueError(str(error)) from error


def _dump_split(value: str) -> str:
    """A split typed into the box, normalised when it is a spec (else as typed: the page then
    says why it shows the default)."""
    try:
        return normalise_spec(str(value).strip())
    except UserError:
        return str(value).strip()


def _section(raw: str) -> str:
    """A URL parser for the section: its short name (``curves``) or, from older links, its
    label (``Learning curves``)."""
    return SECTION_NAMES.get(raw, raw)


def protocol(max_k: int = MAX_K) -> Protocol:
    """The protocol in the URL (defaults for anything missing or malformed, k at most
    ``max_k``)."""
    return Protocol(
        split=state.read(SPLIT, DEFAULT_SPLIT, _split),
        seed=state.read(SEED, DEFAULT_SEED, _clamped(0, 2**31 - 1)),
        k=state.read(EVAL_K, min(DEFAULT_K, max_k), _clamped(1, max_k)),
    )


def _sync(key: str, value: Any) -> None:
    """Set a keyed widget from the URL when the URL changed elsewhere (a link, the back button)."""
    seen = f"{key}_seen"
    if st.session_state.get(seen) != value:
        st.session_state[key] = value
    st.session_state[seen] = value


# ------------------------------------------------------------------------------ the protocol
def split_options(data: Dataset, current: str) -> list[str]:
    """Split specs offered for this dataset (leave-last only with timestamps, predefined ones
    when the data ships them), the current one included."""
    options = ["holdout:5", "holdout:2", "holdout:10", "random:0.2", "random:0.1"]
    if data.timestamps is not None:
        options += ["leave-last:1", "leave-last:5"]
    options += sorted((data.extras.get("predefined_splits") or {}).keys())
    if current not in options:
        options.insert(0, current)
    return options


def describe_split(spec: str) -> str:
    """A split in words: "5 held-out likes per user" (the spec itself if unparsable)."""
    return words.split_label(spec)


def protocol_controls(data: Dataset) -> Protocol:
    """Split, k and seed, shared by every section, each bound to its URL parameter."""
    max_k = max(1, min(MAX_K, data.n_items))
    current = protocol(max_k)
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    state.bound(
        left.selectbox, "Held-out likes (the test)", key="eval_split", param=SPLIT,
        default=DEFAULT_SPLIT, parse=_split, dump=_dump_split,
        options=split_options(data, current.split), format_func=describe_split,
        accept_new_options=True,
        help=f"{current.help} To try another, type holdout:N (N likes per user), random:P (a "
        "share of all likes) or leave-last:N (each user's latest).",
    )
    state.bound(
        middle.number_input, words.metric_label("k")[0], key="eval_k", param=EVAL_K,
        default=min(DEFAULT_K, max_k), help=words.metric_label("k")[1] + " Metrics count the "
        "hits in each user's top k.",
        parse=_clamped(1, max_k), min_value=1, max_value=max_k, step=1,
    )
    state.bound(
        right.number_input, "Random seed", key="eval_seed", param=SEED, default=DEFAULT_SEED,
        parse=_clamped(0, 2**31 - 1), min_value=0, step=1,
        help="Which likes are drawn to be held out: the same seed holds out the same likes.",
    )
    raw = st.query_params.get(SPLIT)
    if raw:
        try:
            normalise_spec(raw)
        except UserError as error:
            text.error(f"{error} Showing {describe_split(DEFAULT_SPLIT)} instead.")
    return current


def section_tabs() -> dict[str, Any]:
    """Tabs for the sections, bound to the URL's ``section``; only the open one runs."""
    tabs = state.bound(
        st.tabs, list(SECTIONS), key="eval_section", param=SECTION, default=SECTIONS[0],
        parse=_section, dump=lambda label: SECTION_SLUGS[label], valid=SECTIONS,
    )
    return dict(zip(SECTIONS, tabs, strict=True))


@fragments.fragment
def body(data: Dataset, spec: str) -> None:
    """The protocol and the open section. A fragment: changing the split, k, the seed, the
    section or a control inside a section reruns this part only."""
    proto = protocol_controls(data)
    tabs = section_tabs()
    view = state.view()
    with tabs["Metrics"]:
        if tabs["Metrics"].open:
            metrics_section(data, spec, view, proto)
        else:  # a note left by an Evaluate press is not shown on a later visit
            st.session_state.pop(OUTCOME_KEY, None)
    with tabs["Learning curves"]:
        if tabs["Learning curves"].open:
            curves_section(data, view, proto)
    with tabs["Search"]:
        if tabs["Search"].open:
            search_section(data, spec, view, proto)
    from .steering_sweep import section as steering_sweep  # here: it follows the protocol

    steering_sweep(data, spec, proto)


# --------------------------------------------------------------------------- labels, params
def params_text(algorithm: str | None, params: dict | None, limit: int = 4) -> str:
    """The parameters that differ from the defaults, in words and schema order ("defaults" if
    none): "latent factors 16, training passes 3"."""
    return words.params_label(str(algorithm), params, limit=limit, changed_only=True) or (
        "defaults")


def _seed_of(entry: dict) -> str:
    """' · seed 11' when the model's seed is not its algorithm's default ('' otherwise): two
    models that differ only by their seed keep different names."""
    params = entry.get("params") or {}
    try:
        schema = {p.name: p for p in get_algorithm(str(entry.get("algorithm"))).params}
    except UserError:
        return ""
    for key in ("random_state", "seed"):
        if key in params and key in schema and params[key] != schema[key].default:
            return f" · seed {params[key]}"
    return ""


def model_name(entry: dict) -> str:
    """'ALS (WRMF) · latent factors 16, training passes 3 · seed 11', with the split for a
    model trained on one, and the id when the parameters do not fit (so names stay unique)."""
    text = params_text(entry.get("algorithm"), entry.get("params"))
    name = f"{words.algorithm_label(str(entry.get('algorithm')))} · {text}{_seed_of(entry)}"
    variant = str(entry.get("variant") or "")
    if variant.startswith("split="):
        name += f" · trained on {words.split_label(variant)}"
    elif variant:
        name += f" · {variant}"
    if text.endswith("…"):
        name += f" · {entry['model_id']}"
    return name


def _usable(name: str, data: Dataset) -> bool:
    cls = get_algorithm(name)
    return name not in NOT_SEARCHABLE and not ("ratings" in cls.needs and data.ratings is None)


def cli_command(spec: str, entry: dict, proto: Protocol) -> str:
    """The command line that prints the same numbers for a stored model."""
    info = (entry.get("extra") or {}).get("split") or {}
    if _same_split(info, proto):
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


def _same_split(info: dict, proto: Protocol) -> bool:
    if not info.get("spec"):
        return False
    try:
        return normalise_spec(info["spec"]) == proto.split and info.get("seed") == proto.seed
    except UserError:
        return False


# ---------------------------------------------------------------------------- disk caching
def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def _cache_path(kind: str, payload: Any) -> Path:
    return config.cache_dir("evaluate", kind) / f"{_digest(payload)}.parquet"


def _write_frame(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_frame(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, never fatal
        return None


def _per_user_path(meta: dict, proto: Protocol) -> Path:
    return _cache_path("per_user", [meta.get("model_id"), meta.get("created"), proto.key])


# ------------------------------------------------------------------------- evaluating models
@dataclass(frozen=True)
class Outcome:
    """What happened to one model when Evaluate was pressed."""

    model_id: str
    how: str  # "reused", "refit", "stored" or "failed"
    seconds: float = 0.0
    error: str | None = None


def evaluate_stored_model(
    data: Dataset,
    model_id: str,
    proto: Protocol,
    *,
    recompute: bool = False,
    store: ModelStore | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Outcome:
    """Evaluate one stored model under ``proto`` and record the result in its meta.

    Reuses the metrics already recorded under the protocol key unless ``recompute``. Otherwise a
    model trained on this split is evaluated as stored (``evaluate --model``); any other is refit
    with its algorithm and parameters on the split's train part (``evaluate DATASET ALGO``). The
    summary goes to ``meta["metrics"][proto.key]`` with ``slices`` and ``evaluated`` added, and
    the per-user values to a parquet file beside the cache.
    """
    store = store or ModelStore()
    meta = store.meta(model_id)
    found = (meta.get("metrics") or {}).get(proto.key)
    if not recompute and found is not None and not (
        isinstance(found, dict) and found.get("relabelled_from_version")  # old: slices lack p@k
    ):
        if progress is not None:
            progress(1.0, "Reused the stored metrics")
        return Outcome(model_id, "reused")
    start = time.perf_counter()
    split = make_split(data, proto.split, random_state=proto.seed)
    scaled = _scaled(progress, 0.0, 0.85)
    if _same_split((meta.get("extra") or {}).get("split") or {}, proto):
        result = evaluation.evaluate_stored(model_id, proto.k, store=store, progress=scaled,
                                            record=False)
        how = "stored"
    else:
        result = evaluation.evaluate_model(
            data, meta["algorithm"], meta.get("params") or {}, proto.split, proto.k,
            proto.seed, split=split, progress=scaled,
        )
        how = "refit"
    if progress is not None:
        progress(0.88, "Slicing: light and heavy users, popular and long-tail items")
    record(store, model_id, proto, result, split, how)
    if progress is not None:
        progress(1.0, "Done")
    return Outcome(model_id, how, time.perf_counter() - start)


def record(store: ModelStore, model_id: str, proto: Protocol,
           result: evaluation.EvaluationResult, split: Any, how: str) -> dict:
    """Record an evaluation of a stored model: the summary with its slices in the meta (under
    the protocol key), the per-user values as parquet; returns the new meta."""
    slices = evaluation.slice_metrics(result.model, split.train, split.test, proto.k,
                                      result=result)
    summary = result.summary()
    summary["evaluated"] = how
    summary["slices"] = [
        {key: _finite(value) for key, value in row.items()}
        for row in slices.to_dict(orient="records")
    ]
    meta = store.record_metrics(model_id, proto.key, summary)
    _write_frame(_per_user_path(meta, proto), result.per_user)
    return meta


def _scaled(progress: Callable[[float, str], None] | None, low: float,
            high: float) -> Callable[[float, str], None] | None:
    if progress is None:
        return None

    def scaled(fraction: float, message: str = "") -> None:
        progress(low + (high - low) * min(max(float(fraction), 0.0), 1.0), message)

    return scaled


def _finite(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def run_evaluations(
    data: Dataset, model_ids: Sequence[str], proto: Protocol, recompute: bool
) -> list[Outcome]:
    """Evaluate the chosen models one after the other, with a progress bar over them."""
    bar = st.progress(0.0, text="Starting…")
    outcomes = []
    for position, model_id in enumerate(model_ids):
        def progress(fraction: float, message: str = "", position: int = position,
                     model_id: str = model_id) -> None:
            overall = (position + min(max(fraction, 0.0), 1.0)) / len(model_ids)
            note = f"Model {position + 1} of {len(model_ids)} ({model_id}): {message}"
            bar.progress(min(overall, 1.0), text=text.md_escape(note))

        try:
            outcomes.append(evaluate_stored_model(data, model_id, proto, recompute=recompute,
                                                  progress=progress))
        except (UserError, NotImplementedError) as error:
            outcomes.append(Outcome(model_id, "failed", error=str(error)))
    bar.empty()
    loaders.clear_model_listing()
    return outcomes


def outcome_note(outcomes: Sequence[Outcome]) -> None:
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


# ------------------------------------------------------------------------------ the table
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
        rows[model_name(meta)] = row
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
        metric_words("mean_popularity") + " ↓", help=metric_help("mean_popularity")
        + " Lower is better."
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
        rows.append({"Metric": short,
                     "What it measures": help_ if label == short else f"{label}: {help_}",
                     "Equals": {"lightfm": "LightFM's", "implicit": "implicit's"}.get(
                         evaluation.CONVENTIONS.get(key, ""), "textbook"),
                     "Name in the command line": key})
    return pd.DataFrame(rows).set_index("Metric")


def definitions() -> None:
    """Every metric in words, then docs/METRICS.md (the exact definitions), one click away."""
    box = st.expander("Metric definitions", icon=":material/menu_book:", key="eval_definitions",
                      on_change="rerun")
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


def metrics_table(frame: pd.DataFrame, proto: Protocol, metas: dict[str, dict]) -> None:
    """Four tables (hits, ranks, beyond accuracy, training time), best per column highlighted,
    each narrow enough to show every column without scrolling on a 1280-pixel screen."""
    hits = [c for c in frame.columns if c in HIT_COLUMNS]
    ranks = [c for c in frame.columns if c in ACCURACY_COLUMNS and c not in HIT_COLUMNS]
    beyond = [c for c in frame.columns if c not in ACCURACY_COLUMNS and c != "fit_seconds"]
    cost = [c for c in frame.columns if c == "fit_seconds"]
    config = column_help()
    config["_index"] = st.column_config.TextColumn(
        "Model", width=MODEL_COLUMN_WIDTH, help="The stored model, in words.")
    for (title, key), columns in zip(TABLES, (hits, ranks, beyond, cost), strict=True):
        if not columns:
            continue
        st.markdown(f"**{title}**")
        st.dataframe(style_table(frame[columns]), width="stretch" if columns != cost else
                     "content", column_config=config, placeholder="–", key=key)
        if key == "eval_table_accuracy" and {"precision", "precision_implicit"} & set(columns):
            text.caption(which_precision(proto))
    first = next(iter((m.get("metrics") or {}).get(proto.key) for m in metas.values()
                      if (m.get("metrics") or {}).get(proto.key)), {}) or {}
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


def reproduce(spec: str, metas: dict[str, dict], proto: Protocol) -> None:
    box = st.expander("The same numbers from the command line", icon=":material/terminal:",
                      key="eval_cli", on_change="rerun")
    with box:
        if not box.open:  # drawn only when opened (a code block loads a syntax highlighter)
            return
        st.code("\n".join(cli_command(spec, meta, proto) for meta in metas.values()),
                language="bash", wrap_lines=True)


# ---------------------------------------------------------------- per-user and slice views
def per_user_frames(metas: dict[str, dict], proto: Protocol) -> dict[str, pd.DataFrame]:
    """``{model name: per-user frame}`` for the models whose per-user values were kept."""
    out = {}
    for meta in metas.values():
        if proto.key not in (meta.get("metrics") or {}):
            continue
        frame = _read_frame(_per_user_path(meta, proto))
        if frame is not None:
            out[model_name(meta)] = evaluation.upgrade_per_user(frame)
    return out


def histogram_figure(frames: dict[str, pd.DataFrame], column: str, label: str) -> go.Figure:
    """Per-user histograms side by side (share of test users per 0.1 bin), one per model."""
    fig = go.Figure()
    for position, (name, frame) in enumerate(frames.items()):
        fig.add_trace(
            go.Histogram(
                x=frame[column].to_numpy(dtype=float),
                name=plotly_escape(name),
                histnorm="percent",
                xbins={"start": 0.0, "end": 1.0 + 1e-9, "size": 0.1},
                marker_color=COLOURS[position % len(COLOURS)],
            )
        )
    fig.update_layout(
        barmode="group", bargap=0.15, height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title=plotly_escape(f"{label} per user"), yaxis_title="% of test users",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


@fragments.fragment
def distributions(metas: dict[str, dict], proto: Protocol) -> None:
    st.subheader("Per-user distributions", anchor=False)
    frames = per_user_frames(metas, proto)
    evaluated = [m for m in metas.values() if proto.key in (m.get("metrics") or {})]
    missing = [model_name(m) for m in evaluated if model_name(m) not in frames]
    if not frames:
        st.info("Per-user values are kept when a model is evaluated here: tick *Recompute* and "
                "press Evaluate to draw them.", icon=":material/bar_chart:")
        return
    metric = state.bound(
        st.segmented_control, "Per-user metric", key=DIST_METRIC_KEY, param=DIST_METRIC,
        default="ndcg", valid=list(PER_USER_METRICS), options=list(PER_USER_METRICS),
        format_func=lambda key: metric_words(PER_USER_METRICS[key]), required=True,
        help="How each test user's list scores; the chart shows how many users get each score.",
    ) or "ndcg"
    label = metric_words(PER_USER_METRICS[metric])
    st.plotly_chart(histogram_figure(frames, metric, label), width="stretch",
                    key="eval_histogram", config={"displaylogo": False})
    zero = "; ".join(f"{100 * (f[metric] == 0).mean():.0f}% for {name}"
                     for name, f in frames.items())
    kept = f" Not kept for {', '.join(missing)} (evaluated elsewhere)." if missing else ""
    text.caption(f"Share of test users with no hit at all: {zero}.{kept}")


def slices_frame(metas: dict[str, dict], proto: Protocol) -> pd.DataFrame:
    """Tidy: one row per (model, slice) from the slices recorded with the metrics."""
    rows = []
    for meta in metas.values():
        found = (meta.get("metrics") or {}).get(proto.key) or {}
        for row in found.get("slices") or []:
            rows.append({"model": model_name(meta), **row})
    return pd.DataFrame(rows)


def slices_figure(frame: pd.DataFrame, metric: str) -> go.Figure:
    fig = go.Figure()
    order = list(dict.fromkeys(frame["slice"]))
    for position, (name, part) in enumerate(frame.groupby("model", sort=False)):
        part = part.set_index("slice").reindex(order)
        fig.add_trace(go.Bar(
            x=[plotly_escape(s) for s in order], y=part[metric], name=plotly_escape(name),
            marker_color=COLOURS[position % len(COLOURS)],
            text=[f"{v:.3f}" if pd.notna(v) else "" for v in part[metric]],
            textposition="outside",
            hovertext=[plotly_escape(d) for d in part["definition"]],
            hovertemplate="%{x}: %{y:.4f}<br>%{hovertext}",
        ))
    fig.update_layout(barmode="group", height=360, yaxis_title=plotly_escape(metric_words(metric)),
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    return fig


@fragments.fragment
def slices(metas: dict[str, dict], proto: Protocol) -> None:
    st.subheader("Where each model wins", anchor=False)
    frame = slices_frame(metas, proto)
    if frame.empty:
        st.info("Slices are recorded when a model is evaluated here: tick *Recompute* and press "
                "Evaluate to see them.", icon=":material/pie_chart:")
        return
    metric = state.bound(
        st.segmented_control, "Slice metric", key=SLICE_METRIC_KEY, param=SLICE_METRIC,
        default="recall", valid=list(evaluation.SLICE_METRICS),
        options=list(evaluation.SLICE_METRICS), format_func=metric_words, required=True,
        help="The metric measured on each slice of users and items.",
    ) or "recall"
    st.plotly_chart(slices_figure(frame, metric), width="stretch", key="eval_slices",
                    config={"displaylogo": False})
    first = frame.drop_duplicates("slice").set_index("slice")
    st.caption(
        "Light and heavy users: " + first.loc["light users", "definition"] + " / "
        + first.loc["heavy users", "definition"] + ". Popular items: "
        + first.loc["popular items", "definition"] + "; long tail: "
        + first.loc["long-tail items", "definition"] + ". Item slices score the same lists "
        "against only the test items in the slice."
    )


def metrics_section(data: Dataset, spec: str, view: state.View, proto: Protocol) -> None:
    """Pick stored models, evaluate them on a button press, and show what the store holds."""
    entries = [e for e in loaders.model_entries(data.fingerprint) if not e.get("damaged")]
    if not entries:
        st.info("No trained model for this dataset yet: train one in the sidebar (or find one "
                "with Search), then evaluate it here.", icon=":material/model_training:")
        return
    ids = [e["model_id"] for e in entries]
    names = {e["model_id"]: model_name(e) for e in entries}
    chosen = [m for m in view.models if m in ids] or ids[:1]
    _sync(MODELS_KEY, chosen)

    def on_models() -> None:
        state.set_view(models=list(st.session_state.get(MODELS_KEY) or []) or None)

    picked = st.multiselect("Models", ids, key=MODELS_KEY, format_func=names.get,
                            on_change=on_models, placeholder="Pick stored models")
    middle, right = st.columns([4, 1], vertical_alignment="center")
    recompute = middle.checkbox(
        "Recompute", key=RECOMPUTE_KEY,
        help="Evaluate again even when the store already holds metrics for these settings.",
    )
    pressed = right.button("Evaluate", key=RUN_KEY, type="primary", icon=":material/play_arrow:",
                           width="stretch", disabled=not picked)
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
    if not picked:
        st.info("Pick one or more models to evaluate.")
        return
    metas = stored_summaries(picked, proto)
    frame = metrics_frame(metas, proto)
    pending = [names.get(m, m) for m in picked if m in metas and model_name(metas[m])
               not in frame.index]
    if frame.empty:
        text.info(f"Not evaluated on {proto.label} yet: press Evaluate (a few seconds per "
                  "model on the demo).", icon=":material/leaderboard:")
        definitions()
        return
    metrics_table(frame, proto, metas)
    if pending:
        text.caption(f"Not evaluated with these settings yet: {', '.join(pending)}.")
    definitions()
    reproduce(spec, {m: metas[m] for m in metas if model_name(metas[m]) in frame.index}, proto)
    distributions(metas, proto)
    slices(metas, proto)


# -------------------------------------------------------------------------------- parameters
def param_input(param: Param, value: Any, key: str) -> Any:
    """One widget for one schema parameter, labelled in words (the key stays ``param.name``)."""
    label = param.label
    if param.type is bool:
        return st.checkbox(label, value=bool(value), help=param.help, key=key)
    if param.choices is not None:
        options = list(param.choices)
        return st.selectbox(label, options,
                            index=options.index(value) if value in options else 0,
                            help=param.help, key=key)
    if param.type is int:
        return st.number_input(
            label, value=int(value), step=1, help=param.help, key=key,
            min_value=int(param.low) if param.low is not None else None,
            max_value=int(param.high) if param.high is not None else None,
        )
    if param.type is float:
        return st.number_input(
            label, value=float(value), format="%g", help=param.help, key=key,
            min_value=float(param.low) if param.low is not None else None,
            max_value=float(param.high) if param.high is not None else None,
        )
    return st.text_input(label, value=str(value or ""), help=param.help, key=key)


def _view_entry(data: Dataset, view: state.View) -> dict | None:
    for entry in loaders.model_entries(data.fingerprint):
        if entry["model_id"] == view.model and not entry.get("damaged"):
            return entry
    return None


def _default_algorithm(names: Sequence[str], entry: dict | None) -> int:
    if entry and entry.get("algorithm") in names:
        return list(names).index(entry["algorithm"])
    return list(names).index("als") if "als" in names else 0


# -------------------------------------------------------------------------- learning curves
def curve_payload(data: Dataset, algorithm: str, params: dict, proto: Protocol,
                  metric: str) -> dict:
    return {"fingerprint": data.fingerprint, "algorithm": algorithm, "params": params,
            "split": proto.split, "seed": proto.seed, "k": proto.k, "metric": metric,
            "max_users": 2000, "metrics_version": evaluation.METRICS_VERSION}


def curve_figure(frame: pd.DataFrame, metric: str, title: str) -> go.Figure:
    """Train and test lines of one metric per epoch."""
    fig = go.Figure()
    for position, part in enumerate(("train", "test")):
        rows = frame[(frame["metric"] == metric) & (frame["split"] == part)].sort_values("epoch")
        fig.add_trace(go.Scatter(
            x=rows["epoch"], y=rows["value"], mode="lines+markers", name=part,
            line={"color": COLOURS[position], "width": 3 if part == "test" else 2},
        ))
    fig.update_layout(height=380, title=plotly_escape(title),
                      xaxis_title="Training pass (epoch)",
                      yaxis_title=plotly_escape(metric_words(metric)),
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(dtick=1 if frame["epoch"].max() <= 20 else None)
    return fig


def curves_section(data: Dataset, view: state.View, proto: Protocol) -> None:
    names = [n for n, cls in sorted(algorithms().items())
             if "epochs" in cls.capabilities and _usable(n, data)]
    if not names:
        text.info(f"No algorithm with epochs can train on {data.label}.")
        return
    entry = _view_entry(data, view)
    top = st.columns([2, 2, 3], vertical_alignment="bottom")
    algorithm = state.bound(
        top[0].selectbox, "Algorithm", key=CURVE_ALGO_KEY, param=CURVE_ALGORITHM,
        default=names[_default_algorithm(names, entry)], valid=names, options=names,
        format_func=words.algorithm_label,
    )
    metrics = list(evaluation.ACCURACY_METRICS)
    metric = state.bound(top[1].selectbox, "Metric", key="eval_curve_metric", param=CURVE_METRIC,
                         default=metrics[0], valid=metrics, options=metrics,
                         format_func=metric_words,
                         help="Measured on the test part after every training pass.")
    cls = get_algorithm(algorithm)
    from_model = entry if entry and entry.get("algorithm") == algorithm else None
    base = parse_params(algorithm, (from_model or {}).get("params"))
    top[2].caption(text.md_escape(
        f"Starting from the parameters of the model in the sidebar ({model_name(from_model)})."
        if from_model else f"Starting from the defaults of {words.algorithm_label(algorithm)}."
    ))
    source = from_model["model_id"] if from_model else "defaults"
    with st.form(f"{CURVE_FORM}_{algorithm}_{source}", border=True):
        columns = st.columns(3)
        values = {}
        for position, param in enumerate(cls.params):
            with columns[position % 3]:
                values[param.name] = param_input(
                    param, base[param.name], f"eval_curve_{algorithm}_{source}_{param.name}"
                )
        drawn = st.form_submit_button("Draw learning curve", type="primary",
                                      icon=":material/show_chart:", key="eval_curve_run")
    text.caption(f"Trained once on the train part of {proto.label}; after each training pass "
                 "the metric is measured on the test part (training items excluded) and on the "
                 "train part (nothing excluded), on up to 2,000 test users.")
    if drawn:
        try:
            params = parse_params(algorithm, values)
        except UserError as error:
            text.error(str(error))
            return
        payload = curve_payload(data, algorithm, params, proto, metric)
        path = _cache_path("curves", payload)
        if _read_frame(path) is None:
            bar = st.progress(0.0, text=f"Training {words.algorithm_label(algorithm)}…")
            try:
                frame = evaluation.learning_curve(
                    data, algorithm, params, proto.split, proto.k, metric, proto.seed,
                    progress=lambda f, m: bar.progress(
                        min(max(f, 0.0), 1.0), text=text.md_escape(m)
                    ),
                )
            except (UserError, NotImplementedError) as error:
                bar.empty()
                text.error(str(error))
                return
            bar.empty()
            _write_frame(path, frame)
        st.session_state[CURVE_LAST] = payload
    payload = st.session_state.get(CURVE_LAST)
    if not payload or payload.get("fingerprint") != data.fingerprint:
        st.info("Choose parameters and press *Draw learning curve*.", icon=":material/show_chart:")
        return
    frame = _read_frame(_cache_path("curves", payload))
    if frame is None:
        st.info("Press *Draw learning curve* again.", icon=":material/show_chart:")
        return
    draw_curve(frame, payload)


def draw_curve(frame: pd.DataFrame, payload: dict) -> None:
    metric = payload["metric"]
    name = words.algorithm_label(payload["algorithm"])
    label = f"{name} · {params_text(payload['algorithm'], payload['params'])}"
    epochs = int(frame["epoch"].max()) if len(frame) else 0
    measured = words.metric_label(f"{metric}@{payload['k']}")[0]
    title = f"{measured}, per training pass: {label}"
    st.plotly_chart(curve_figure(frame, metric, title),
                    width="stretch", key="eval_curve_chart", config={"displaylogo": False})
    test = frame[(frame["metric"] == metric) & (frame["split"] == "test")]
    if len(test):
        best = test.loc[test["value"].idxmax()]
        where = words.split_label(payload["split"], seed=payload["seed"])
        text.caption(f"{epochs} training passes on {where}; best on the test part: "
                     f"{metric_words(metric)} {best['value']:.4f} after pass "
                     f"{int(best['epoch'])}.")
    extra = [m for m in ("mse", "loss") if m in set(frame["metric"])]
    if extra:
        box = st.expander("Mean squared error and training loss (the WRMF post's curves)",
                          icon=":material/stacked_line_chart:", key="eval_curve_more",
                          on_change="rerun")
        with box:
            if not box.open:  # drawn only when opened
                return
            cols = st.columns(len(extra))
            for column, key in zip(cols, extra, strict=True):
                column.plotly_chart(curve_figure(frame, key, metric_words(key)), width="stretch",
                                    key=f"eval_curve_{key}", config={"displaylogo": False})


# ----------------------------------------------------------------------------------- search
def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def search_request(algorithm: str, mode: str, texts: dict[str, str], sampled: Sequence[str],
                   n_random: int, metric: str, budget: float, proto: Protocol) -> dict:
    """The form's answers as a :func:`recsys_core.tuning.tune` request (a plain dict).

    Grid: every parameter with two or more comma-separated values is searched; single values
    that differ from the default are fixed. Random: the ``sampled`` parameters are drawn from
    the schema's ranges ``n_random`` times, the rest stay at their defaults.
    """
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    request: dict[str, Any] = {"algorithm": algorithm, "metric": metric,
                               "budget": float(budget) if budget else None,
                               "split": proto.split, "seed": proto.seed, "k": proto.k}
    if mode == "grid":
        grid: dict[str, list[str]] = {}
        fixed: dict[str, str] = {}
        for name, text in texts.items():
            values = [v.strip() for v in str(text).split(",") if v.strip()]
            if not values:
                raise ParameterError(f"Give {name} at least one value (its default is "
                                     f"{_value_text(schema[name].default)}).")
            parsed = [schema[name].parse(v) for v in values]  # a bad value fails here
            if len(values) > 1:
                grid[name] = values
            elif parsed[0] != schema[name].default:
                fixed[name] = values[0]
        if not grid:
            raise ParameterError("Give at least one parameter two or more comma-separated "
                                 "values, e.g. factors = 16, 32.")
        request.update({"grid": grid, "fixed": fixed or None})
    else:
        if not sampled:
            raise ParameterError("Choose at least one parameter to sample.")
        request.update({"n_random": int(n_random),
                        "space": {name: None for name in sampled}})
    return request


def run_search(data: Dataset, spec: str, request: dict, *, save_best: bool,
               progress: Callable[[float, str], None] | None = None) -> tuning.TuningResult:
    """Run (or resume) the search of a request; the same request always resumes the same file."""
    return tuning.tune(
        data,
        request["algorithm"],
        grid=request.get("grid"),
        n_random=request.get("n_random"),
        space=request.get("space"),
        fixed=request.get("fixed"),
        split_spec=request["split"],
        k=request["k"],
        metric=request["metric"],
        seed=request["seed"],
        budget=request.get("budget"),
        progress=progress,
        resume=True,
        save_best=save_best,
        source=_source(spec),
    )


def _source(spec: str) -> dict | None:
    from ..datasets import kcore_spec, split_spec
    from ..datasets.uploads import is_upload, source_for

    base, cut = split_spec(spec)
    if not is_upload(base):
        return None
    source = source_for(base)
    if cut is not None:
        source["spec"] = kcore_spec(source["spec"], *cut)
    return source


def parcoords_figure(table: pd.DataFrame, searched: Sequence[str], metric: str,
                     algorithm: str) -> go.Figure:
    """One line per candidate across its parameters, coloured and ended by the metric."""
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    dims = []
    for name in searched:
        column = table[name]
        param = schema.get(name)
        words_ = plotly_escape(param.label if param is not None else name)
        if param is not None and (param.choices is not None or param.type in (bool, str)):
            labels = sorted({str(v) for v in column})
            codes = [labels.index(str(v)) for v in column]
            dims.append({"label": words_, "values": codes,
                         "tickvals": list(range(len(labels))),
                         "ticktext": [plotly_escape(label) for label in labels]})
            continue
        values = column.astype(float)
        if param is not None and param.log and (values > 0).all():
            ticks = _log_ticks(values)  # a log axis that reads in the parameter's own values
            dims.append({"label": f"{words_} (log scale)", "values": np.log10(values),
                         "tickvals": np.log10(ticks).tolist(),
                         "ticktext": [f"{tick:g}" for tick in ticks]})
        else:
            dims.append({"label": words_, "values": values})
    score = table[metric].astype(float).fillna(0.0)
    dims.append({"label": plotly_escape(metric_words(metric)), "values": score,
                 "tickformat": ".3f"})
    fig = go.Figure(go.Parcoords(
        line={"color": score, "colorscale": "Viridis", "showscale": False},
        dimensions=dims,
    ))
    fig.update_layout(height=380, margin={"l": 60, "r": 40, "t": 50, "b": 20})
    return fig


def _log_ticks(values: pd.Series) -> list[float]:
    """Tick values for a log axis over ``values``: the values themselves when few, else 1, 2
    and 5 times the powers of ten between their ends."""
    distinct = sorted({float(v) for v in values})
    if len(distinct) <= 6:
        return distinct
    low, high = distinct[0], distinct[-1]
    ticks = [m * 10.0**e for e in range(math.floor(math.log10(low)),
                                         math.ceil(math.log10(high)) + 1) for m in (1, 2, 5)]
    inside = [t for t in ticks if low <= t <= high]
    return inside if len(inside) >= 2 else [low, high]


def search_section(data: Dataset, spec: str, view: state.View, proto: Protocol) -> None:
    names = [n for n in sorted(algorithms()) if _usable(n, data)]
    top = st.columns([2, 1.4, 2, 3], vertical_alignment="bottom")
    algorithm = state.bound(
        top[0].selectbox, "Algorithm", key=SEARCH_ALGO_KEY, param=SEARCH_ALGORITHM,
        default=names[_default_algorithm(names, _view_entry(data, view))], valid=names,
        options=names, format_func=words.algorithm_label,
    )
    mode = state.bound(top[1].segmented_control, "Search", key=SEARCH_MODE_KEY,
                       param=SEARCH_MODE, default="grid", valid=("grid", "random"),
                       options=["grid", "random"], format_func=SEARCH_MODES.get,
                       required=True) or "grid"
    metrics = list(evaluation.ACCURACY_METRICS)
    metric = state.bound(top[2].selectbox, "Rank by", key="eval_search_metric",
                         param=SEARCH_METRIC, default=metrics[0], valid=metrics, options=metrics,
                         format_func=metric_words)
    top[3].caption("Grid: give comma-separated values; every combination is tried. "
                   "Random: values drawn from each parameter's search range (on a log scale "
                   "where that suits it).")
    cls = get_algorithm(algorithm)
    with st.form(f"eval_search_form_{algorithm}_{mode}", border=True):
        texts: dict[str, str] = {}
        sampled: list[str] = []
        n_random = 0
        if mode == "grid":
            columns = st.columns(3)
            for position, param in enumerate(cls.params):
                helper = param.help + (f" Choices: {', '.join(map(str, param.choices))}."
                                       if param.choices else "")
                texts[param.name] = columns[position % 3].text_input(
                    param.label, value=_value_text(param.default), help=helper,
                    key=f"eval_grid_{algorithm}_{param.name}",
                )
        else:
            left, right = st.columns([3, 1])
            labels = {p.name: p.label for p in cls.params}
            sampled = left.multiselect(
                "Parameters to draw", [p.name for p in cls.params],
                default=tuning.default_space(algorithm), key=f"eval_random_{algorithm}_params",
                format_func=lambda key: labels.get(key, key),
            )
            n_random = right.number_input("Candidates", 1, 500, 8, key="eval_random_n")
        left, middle, right = st.columns(3, vertical_alignment="bottom")
        budget = left.number_input("Time budget in seconds (0: none)", 0, 24 * 3600, 0, step=30,
                                   key="eval_search_budget")
        submitted = middle.form_submit_button("Search", type="primary", icon=":material/tune:",
                                             key="eval_search_run", width="stretch")
    text.caption(f"Every candidate is trained on the train part of {proto.label} and ranked by "
                 "the metric. Rows are saved as they finish: pressing Search again with the "
                 "same form resumes where a time budget (or a closed tab) stopped it.")
    if submitted:
        try:
            request = search_request(algorithm, mode, texts, sampled, n_random, metric, budget,
                                     proto)
            tuning.candidates(algorithm, grid=request.get("grid"),
                              n_random=request.get("n_random"), space=request.get("space"),
                              fixed=request.get("fixed"))
        except UserError as error:
            text.error(str(error))
            return
        bar = st.progress(0.0, text="Starting the search…")
        try:
            result = run_search(
                data, spec, request, save_best=False,
                progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0),
                                                   text=text.md_escape(m)),
            )
        except UserError as error:
            bar.empty()
            text.error(str(error))
            return
        bar.empty()
        st.session_state[SEARCH_LAST] = {"fingerprint": data.fingerprint, "request": request,
                                         "result": result.to_dict()}
    last = st.session_state.get(SEARCH_LAST)
    if not last or last.get("fingerprint") != data.fingerprint:
        st.info("Fill in the form and press *Search*.", icon=":material/tune:")
        return
    show_search(data, spec, last)


def search_table(payload: dict) -> pd.DataFrame:
    """The search's rows, best first: searched parameters, the metrics, time, status."""
    result = payload["result"]
    frame = pd.DataFrame(result["rows"])
    if frame.empty:
        return frame
    metric = result["metric"]
    shown = [*result["searched"], *[m for m in evaluation.ACCURACY_METRICS if m in frame],
             "fit_seconds", "best_epoch", "status"]
    frame = frame[[c for c in shown if c in frame]].dropna(axis=1, how="all")
    if metric not in frame:
        return frame
    return frame.sort_values(metric, ascending=False, na_position="last").reset_index(drop=True)


def search_columns(algorithm: str, columns: Sequence[str]) -> dict[str, Any]:
    """The search table's column labels in words: parameters, metrics, time, status."""
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    out: dict[str, Any] = {}
    for key in columns:
        if key in schema:
            out[key] = st.column_config.Column(schema[key].label, help=schema[key].help)
        elif key in evaluation.METRIC_INFO:
            out[key] = st.column_config.NumberColumn(metric_words(key), format="%.4f",
                                                     help=metric_help(key))
        elif key == "fit_seconds":
            out[key] = st.column_config.NumberColumn(metric_words(key), format="%.2f",
                                                     help=words.metric_label(key)[1])
        elif key == "best_epoch":
            out[key] = st.column_config.NumberColumn(
                "Best training pass", help="The pass after which the metric was highest.")
        elif key == "status":
            out[key] = st.column_config.TextColumn(
                "Status", help="ok, or why the candidate did not finish.")
        else:
            out[key] = st.column_config.Column(metric_words(key))
    return out


def show_search(data: Dataset, spec: str, payload: dict) -> None:
    result, request = payload["result"], payload["request"]
    metric = result["metric"]
    table = search_table(payload)
    state_text = ("complete" if result["complete"]
                  else "stopped by the time budget: press Search again to resume")
    st.subheader(f"{words.algorithm_label(request['algorithm'])}: {result['n_done']} of "
                 f"{result['n_candidates']} candidates", anchor=False)
    where = words.split_label(request["split"], k=request["k"], seed=request["seed"])
    text.caption(f"Search {state_text}; {result['n_resumed']} row(s) came from an earlier run. "
                 f"Ranked by {metric_words(metric)} on {where}. Click a column header to sort.")
    if table.empty:
        st.info("No candidate has finished yet.")
        return
    st.dataframe(table, width="stretch", hide_index=True, key="eval_search_table",
                 column_config=search_columns(request["algorithm"], table.columns))
    ok = table[table["status"] == "ok"] if "status" in table else table
    if result["searched"] and len(ok) > 1:
        st.plotly_chart(parcoords_figure(ok, result["searched"], metric, request["algorithm"]),
                        width="stretch", key="eval_search_parcoords",
                        config={"displaylogo": False, "displayModeBar": False})
    best = result.get("best")
    if not best:
        return
    shown = params_text(request["algorithm"], best.get("params"), limit=6)
    st.markdown(text.fmt("**Best:** {} {:.4f} with {}", metric_words(metric),
                         best.get(metric, float("nan")), shown))
    if st.button("Save the best model", key=SEARCH_SAVE_KEY, icon=":material/save:",
                 help="Fits it on the split's train part, stores it with its metrics and "
                 "selects it."):
        bar = st.progress(0.0, text="Fitting the best candidate…")
        try:
            model_id = save_best(
                data, spec, request, best["params"], result["results_path"],
                progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0),
                                                   text=text.md_escape(m)),
            )
        except (UserError, NotImplementedError) as error:
            bar.empty()
            text.error(str(error))
            return
        bar.empty()
        loaders.clear_model_listing()
        text.toast(f"Stored the best model as {model_id}", icon=":material/check_circle:")
        state.set_view(models=[model_id], **{SPLIT: request["split"], SEED: request["seed"],
                                            EVAL_K: request["k"], SECTION: None})
        st.rerun()


def save_best(data: Dataset, spec: str, request: dict, params: dict, results_path: str,
              progress: Callable[[float, str], None] | None = None) -> str:
    """Fit the best candidate on the split's train part and store it with its metrics (as
    ``tune`` does when it saves), slices and per-user values included; returns its id.

    Fits only that candidate: a search stopped by its budget is not resumed by saving.
    """
    proto = Protocol(request["split"], request["seed"], request["k"])
    split = make_split(data, proto.split, random_state=proto.seed)
    result = evaluation.evaluate_model(
        data, request["algorithm"], params, proto.split, proto.k, proto.seed, split=split,
        progress=_scaled(progress, 0.0, 0.85),
    )
    store = ModelStore()
    model_id = evaluation.save_result(
        result, data, store=store, source=_source(spec),
        extra={"tuning": {"metric": request["metric"], "results": Path(results_path).name}},
    )
    if progress is not None:
        progress(0.9, "Recording its metrics")
    record(store, model_id, proto, result, split, "stored")
    return model_id
