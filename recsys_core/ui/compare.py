"""The Compare page's pieces: model choice (in the URL), Item / User mode, metrics table, columns.

Models are named by a letter (A to D) in the order chosen, so the columns, the overlap table and
the "also in" captions stay short even when two models share an algorithm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from .. import html
from ..evaluation import METRICS
from . import loaders, sidebar, state, text
from . import users as users_ui

MIN_MODELS, MAX_MODELS = 2, 4
LETTERS = "ABCD"
CARD_WIDTH = {2: 140, 3: 120, 4: 100}
"""Narrowest card (CSS px) per number of compared models: two to three cards a column."""

# session_state keys
MODELS = "compare_models"
MODE = "compare_mode"
LAST_ITEM = "compare_last_item"
LAST_USER = "compare_last_user"
PROTOCOL = "compare_protocol"
EDITING = "compare_models_editing"

MODES = {"item": ":material/category: Same item", "user": ":material/person: Same user"}

NOT_RANKED = frozenset({"mean_popularity"})
"""Metrics with no better direction (popularity bias is a trait, not a score): not highlighted."""


# ------------------------------------------------------------------------------ models
def default_models(entries: Sequence[dict], wanted: Sequence[str]) -> list[str]:
    """The URL's models that are stored (at most four); with fewer than two, filled up with the
    newest other models, preferring algorithms not yet in the list."""
    ids = [e["model_id"] for e in entries]
    chosen = [m for m in dict.fromkeys(wanted) if m in ids][:MAX_MODELS]
    if len(chosen) >= MIN_MODELS:
        return chosen
    algorithms = {e["algorithm"] for e in entries if e["model_id"] in chosen}
    for prefer_new_algorithm in (True, False):
        for entry in entries:  # newest first
            if len(chosen) >= MIN_MODELS:
                return chosen
            if entry["model_id"] in chosen:
                continue
            if prefer_new_algorithm and entry["algorithm"] in algorithms:
                continue
            chosen.append(entry["model_id"])
            algorithms.add(entry["algorithm"])
    return chosen


def letters(model_ids: Sequence[str]) -> dict[str, str]:
    """{model id: "A"} in the order given."""
    return {model_id: LETTERS[i] for i, model_id in enumerate(model_ids)}


def _on_models() -> None:
    # a person who narrows the choice to fewer than two is mid-edit: do not fill it up again
    st.session_state[EDITING] = len(st.session_state.get(MODELS) or []) < MIN_MODELS


def model_selector(entries: Sequence[dict], view: state.View) -> list[str]:
    """A multiselect of the dataset's stored models, bound to the URL's ``model`` (comma list).

    The URL's models are completed to a pair (:func:`default_models`) and written back, with a
    rerun so the page links carry them, unless the person is narrowing the choice.
    """
    ids = [e["model_id"] for e in entries]
    labels = {e["model_id"]: sidebar.model_label(e) for e in entries}
    if st.session_state.get(EDITING):
        chosen = [m for m in view.models if m in ids][:MAX_MODELS]
    else:
        chosen = default_models(entries, view.models)
    if list(view.models) != chosen:
        state.set_view(models=chosen or None)
        st.rerun()
    return state.bound(
        st.multiselect,
        "Models to compare",
        key=MODELS,
        param=state.MODEL,
        default=[],
        parse=lambda raw: [m for m in state.parse_list(raw) if m in ids][:MAX_MODELS],
        dump=state.dump_list,
        on_change=_on_models,
        options=ids,
        format_func=lambda m: labels.get(m, m),
        max_selections=MAX_MODELS,
        placeholder="Pick two to four stored models",
    )


# ------------------------------------------------------------------------------ mode
def mode_of(view: state.View) -> str:
    """"user" when the URL names a user and no item, else "item"."""
    return "user" if view.user and not view.item else "item"


def _on_mode(data_item: str, data_user: str) -> None:
    mode = st.session_state.get(MODE)
    view = state.view()
    if mode == "user" and mode_of(view) != "user":
        if view.item:
            st.session_state[LAST_ITEM] = view.item
        state.set_view(item=None, user=st.session_state.get(LAST_USER) or view.user or data_user)
    elif mode == "item" and mode_of(view) != "item":
        if view.user:
            st.session_state[LAST_USER] = view.user
        state.set_view(user=None, item=st.session_state.get(LAST_ITEM) or data_item)


def mode_selector(view: state.View, default_item: str, default_user: str) -> str:
    """The Item / User toggle; it follows the URL, and switching it rewrites the URL."""
    mode = mode_of(view)
    st.session_state[MODE] = mode
    st.segmented_control(
        "Compare on",
        list(MODES),
        key=MODE,
        format_func=MODES.get,
        required=True,
        on_change=_on_mode,
        args=(default_item, default_user),
        label_visibility="collapsed",
    )
    return mode


# ------------------------------------------------------------------------------ metrics
def protocols(entries: Sequence[dict]) -> list[str]:
    """Evaluation protocols found in the entries' metrics, the most widely shared first."""
    counts: dict[str, int] = {}
    for entry in entries:
        for protocol in entry.get("metrics") or {}:
            counts[protocol] = counts.get(protocol, 0) + 1
    return sorted(counts, key=lambda p: (-counts[p], p))


def metrics_frame(
    entries: Sequence[dict], names: Mapping[str, str], protocol: str
) -> pd.DataFrame:
    """One row per model (index: its name), one column per metric of ``protocol``.

    Columns follow :data:`recsys_core.evaluation.METRICS` order and hold only the metrics some
    model has; a model not evaluated under ``protocol`` has a row of NaN.
    """
    rows = {}
    for entry in entries:
        found = (entry.get("metrics") or {}).get(protocol) or {}
        rows[names[entry["model_id"]]] = {
            m: float(found[m]) if isinstance(found.get(m), (int, float)) else math.nan
            for m in METRICS
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(METRICS))
    return frame.dropna(axis=1, how="all")


def metrics_table(entries: Sequence[dict], names: Mapping[str, str]) -> pd.DataFrame | None:
    """Draw the metrics of the chosen models (best per column highlighted); None if none."""
    found = protocols(entries)
    if not found:
        return None
    protocol = found[0]
    if len(found) > 1:
        protocol = st.selectbox(
            "Evaluation protocol", found, key=PROTOCOL,
            help="Metrics are comparable only within one protocol (split, seed and k).",
        )
    frame = metrics_frame(entries, names, protocol)
    ranked = [c for c in frame.columns if c not in NOT_RANKED]
    styler = frame.style.format("{:.4f}", na_rep="–").highlight_max(
        subset=ranked, axis=0, props="font-weight:700;background-color:rgba(18,184,134,.28)"
    )
    st.dataframe(styler, width="stretch", placeholder="–")
    missing = [n for n, row in frame.iterrows() if row.isna().all()]
    text.caption(
        f"Held-out metrics ({protocol}); best per column highlighted"
        + ("; mean popularity is not ranked." if "mean_popularity" in frame else ".")
        + (f" Not evaluated under this protocol: {', '.join(missing)}." if missing else "")
    )
    return frame


# ------------------------------------------------------------------------------ drawing
def also_in_captions(
    lists: Mapping[str, Sequence[int]], name: str
) -> list[str]:
    """For each item of ``lists[name]``: 'also in B, C' (or '')."""
    out = []
    for item in lists[name]:
        others = [n for n, items in lists.items() if n != name and item in set(items)]
        out.append(f"also in {', '.join(others)}" if others else "")
    return out


def item_header(data, spec: str, index: int) -> None:
    """The compared item, compact: small thumbnail, name, category, interactions."""
    image = loaders.images(data, spec, [index])[0]
    row = data.items.iloc[int(index)]
    colour = html.category_colour(row["category"])
    st.html(
        '<div style="display:flex;align-items:center;gap:14px;margin:2px 0 6px">'
        f'<img src="{html.escape(html.safe_url(image))}" alt="{html.escape(row["name"])}" '
        f'style="width:96px;aspect-ratio:4/3;object-fit:cover;border-radius:10px;'
        f'background:{colour};box-shadow:0 1px 6px rgba(0,0,0,.15)">'
        '<div style="min-width:0"><div style="font-weight:700;font-size:1.05rem">'
        f'{html.escape(row["name"])}</div><div style="opacity:.75;font-size:.85rem">'
        f'{html.escape(row["category"] or "no category")} · '
        f'{int(data.item_counts[int(index)]):,} interactions · id {html.escape(row["item_id"])}'
        "</div></div></div>"
    )


HIDDEN_PARAMS = frozenset({"random_state", "num_threads", "calculate_training_loss"})


def model_subtitle(entry: dict) -> None:
    """One line under a column's title: key parameters and age (the full label on hover)."""
    params = entry.get("params") or {}
    shown = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in params.items()
        if k not in HIDDEN_PARAMS
    ]
    when = loaders.age(entry.get("created"))
    variant = "trained on a split" if entry.get("variant") else ""
    text = " · ".join(part for part in (", ".join(shown[:3]), variant, when) if part)
    st.html(
        f'<div title="{html.escape(sidebar.model_label(entry))}" style="font-size:.8rem;'
        'opacity:.7;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin-top:-6px">'
        f"{html.escape(text or 'default parameters')}</div>"
    )


def default_user_id(data) -> str:
    return data.user_id(users_ui.default_user(data))


def as_int_list(indices: np.ndarray) -> list[int]:
    return [int(i) for i in np.asarray(indices).tolist() if int(i) >= 0]
