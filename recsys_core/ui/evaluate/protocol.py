"""What every section of the Evaluate page shares: the protocol (split, seed, k) kept in the
URL, the URL parameters and session keys of every section, the metrics' names in words, and the
view's model.

URL parameters (besides dataset, model): ``split``, ``seed``, ``eval_k``, ``section``
(metrics, curves, search), ``dist`` and ``slice`` (the per-user and slice charts' metric),
``curve_algo``, ``curve_metric``, ``search_algo``, ``search_mode``, ``search_metric``. Every
control is bound to its parameter (:func:`recsys_core.ui.state.bound`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ... import evaluation, words
from ...dataset import Dataset
from ...errors import UserError
from ...evaluation import workflow
from ...split import normalise_spec
from .. import loaders, state, text

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

DEFAULT_SPLIT = workflow.DEFAULT_SPLIT
DEFAULT_SEED = workflow.DEFAULT_SEED
DEFAULT_K = workflow.DEFAULT_K
MAX_K = 200

# ---------------------------------------------------------------------------- session keys
MODELS_KEY = "eval_models"
RECOMPUTE_KEY = "eval_recompute"
RUN_KEY = "eval_run"
DIST_METRIC_KEY = "eval_dist_metric"
SLICE_METRIC_KEY = "eval_slice_metric"
CURVE_ALGO_KEY = "eval_curve_algorithm"
CURVE_FORM = "eval_curve_form"
CURVE_LAST = "eval_curve_last"
"""session_state: the payload of the last learning curve drawn."""
SEARCH_ALGO_KEY = "eval_search_algorithm"
SEARCH_MODE_KEY = "eval_search_mode"
SEARCH_LAST = "eval_search_last"
"""session_state: the last search's request and result."""
SEARCH_SAVE_KEY = "eval_search_save"
OUTCOME_KEY = "eval_outcomes"
"""session_state: the last Evaluate press's outcomes, shown after the rerun it causes."""


class Protocol(workflow.Protocol):
    """How models are evaluated (:class:`recsys_core.evaluation.workflow.Protocol`), in words."""

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


# ------------------------------------------------------------------------ reading the URL
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


def sync(key: str, value: Any) -> None:
    """Set a keyed widget from the URL when the URL changed elsewhere (a link, the back button)."""
    seen = f"{key}_seen"
    if st.session_state.get(seen) != value:
        st.session_state[key] = value
    st.session_state[seen] = value


# ------------------------------------------------------------------------------ the controls
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
        left.selectbox,
        "Held-out likes (the test)",
        key="eval_split",
        param=SPLIT,
        default=DEFAULT_SPLIT,
        parse=_split,
        dump=_dump_split,
        options=split_options(data, current.split),
        format_func=describe_split,
        accept_new_options=True,
        help=f"{current.help} To try another, type holdout:N (N likes per user), random:P (a "
        "share of all likes) or leave-last:N (each user's latest).",
    )
    state.bound(
        middle.number_input,
        words.metric_label("k")[0],
        key="eval_k",
        param=EVAL_K,
        default=min(DEFAULT_K, max_k),
        help=words.metric_label("k")[1] + " Metrics count the hits in each user's top k.",
        parse=_clamped(1, max_k),
        min_value=1,
        max_value=max_k,
        step=1,
    )
    state.bound(
        right.number_input,
        "Random seed",
        key="eval_seed",
        param=SEED,
        default=DEFAULT_SEED,
        parse=_clamped(0, 2**31 - 1),
        min_value=0,
        step=1,
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
        st.tabs,
        list(SECTIONS),
        key="eval_section",
        param=SECTION,
        default=SECTIONS[0],
        parse=_section,
        dump=lambda label: SECTION_SLUGS[label],
        valid=SECTIONS,
    )
    return dict(zip(SECTIONS, tabs, strict=True))


# ---------------------------------------------------------------------------- the view's model
def view_entry(data: Dataset, view: state.View) -> dict | None:
    """The listing entry of the view's model (the sidebar's), if it is stored and whole."""
    for entry in loaders.model_entries(data.fingerprint):
        if entry["model_id"] == view.model and not entry.get("damaged"):
            return entry
    return None


def default_algorithm(names: Sequence[str], entry: dict | None) -> int:
    """Which of ``names`` a section starts on: the view's model's algorithm, else ALS."""
    if entry and entry.get("algorithm") in names:
        return list(names).index(entry["algorithm"])
    return list(names).index("als") if "als" in names else 0
