"""The Compare page's pieces: model choice (in the URL), Item / User mode, metrics and overlap
tables, the columns' export.

Models are named by a letter (A to D) in the order chosen, so the columns, the overlap table and
the "also in" captions stay short even when two models share an algorithm. The page opens with
two models that take part in its mode: similar items need a model with a notion of item
similarity (not popularity); recommendations to a user, any recommending model.

When the lists are steered (the sidebar's *Steer the lists*, :mod:`recsys_core.ui.steering`),
every column shows its model's steered list; the toggle *Each model with and without the
steering* (``rerank_side=1`` in the URL) puts each model's own list beside its steered one
(``A`` and ``A′``), with the shared items marked and the overlap figures as for two models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from .. import html
from ..algorithms import algorithms, loader
from ..dataset import Dataset
from ..evaluation import METRICS
from ..rerank import split_protocol_key
from ..words import (
    algorithm_label,
    metric_label,
    overlap_label,
    params_label,
    split_help,
    split_label,
)
from . import loaders, sidebar, state, steering, text
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
SIDE_KEY = "compare_rerank_side"

SIDE_PARAM = "rerank_side"
"""URL parameter: ``1`` puts each model's own list beside its steered one."""
SIDE_MODELS = 2
"""Models shown with and without the steering at most (two columns each)."""
STEERED_MARK = "′"
"""Marks a steered column's letter: ``A′`` is model A's steered list."""
STEERED_SUFFIX = ", steered"

MODES = {"item": ":material/category: Item", "user": ":material/person: User"}
"""The mode control's options, under its label "Compare on the same"."""
CAPABILITY = {"item": "similar_items", "user": "recommend"}
"""What a model needs to take part in each mode."""
CAN = {"item": "finds similar items", "user": "recommends to a user"}
"""Each mode's capability in words ("Only one model here finds similar items ...")."""
NOT_IN_MODE = {"item": "no similar items", "user": "cannot recommend to a user"}
"""How the model picker marks a model that does not take part in the current mode."""
SUGGESTED = ("item-knn", "als", "ease", "lightfm")
"""Algorithms suggested to train next: fast, and each takes part in both modes."""

NOT_RANKED = frozenset({"mean_popularity"})
"""Metrics with no better direction (popularity bias is a trait, not a score): not highlighted."""


# ------------------------------------------------------------------------------ models
def supports(entry: Mapping, mode: str) -> bool:
    """Whether a stored model (a ``loaders.model_entries`` dict) takes part in ``mode``: "item"
    needs similar items (popularity has none), "user" recommendations. Read from its family's
    capabilities, without loading the model."""
    cls = loader(str(entry.get("algorithm")))
    return cls is not None and cls.supports(CAPABILITY.get(mode, "recommend"))


def default_models(
    entries: Sequence[dict], wanted: Sequence[str], mode: str | None = None
) -> list[str]:
    """The models to compare, at most four.

    Two or more stored models in the URL (``wanted``) are kept as they are: a link names its
    comparison. Fewer are completed to a pair with the newest other models that take part in
    ``mode`` (:func:`supports`; any model when ``mode`` is None), preferring algorithms not yet
    in the list; a URL's model that does not take part in ``mode`` is left out. The result has
    fewer than two models only when fewer than two take part.
    """
    ids = [e["model_id"] for e in entries]
    chosen = [m for m in dict.fromkeys(wanted) if m in ids][:MAX_MODELS]
    if len(chosen) >= MIN_MODELS:
        return chosen
    usable = [e for e in entries if mode is None or supports(e, mode)]
    usable_ids = {e["model_id"] for e in usable}
    chosen = [m for m in chosen if m in usable_ids]
    taken = {e["algorithm"] for e in usable if e["model_id"] in chosen}
    for prefer_new_algorithm in (True, False):
        for entry in usable:  # newest first
            if len(chosen) >= MIN_MODELS:
                return chosen
            if entry["model_id"] in chosen:
                continue
            if prefer_new_algorithm and entry["algorithm"] in taken:
                continue
            chosen.append(entry["model_id"])
            taken.add(entry["algorithm"])
    return chosen


def suggestion(data: Dataset, entries: Sequence[dict]) -> str | None:
    """An algorithm to train next, in words: the first of :data:`SUGGESTED` this dataset can
    train and the store does not hold yet (else the first it can train); None if none."""
    registry = algorithms()
    stored = {str(e.get("algorithm")) for e in entries}
    trainable = [
        name
        for name in SUGGESTED
        if name in registry and ("ratings" not in registry[name].needs or data.ratings is not None)
    ]
    fresh = [name for name in trainable if name not in stored] or trainable
    return algorithm_label(fresh[0]) if fresh else None


def too_few_sentence(data: Dataset, entries: Sequence[dict], mode: str) -> str:
    """One sentence for fewer than two stored models that take part in ``mode``: which one,
    and what to do (train another in the sidebar, or compare on the other mode where two can).
    """
    usable = [e for e in entries if supports(e, mode)]
    other = "user" if mode == "item" else "item"
    can_switch = sum(supports(e, other) for e in entries) >= MIN_MODELS
    train = suggestion(data, entries)
    how_many = "two" if not usable else "another one"
    todo = f"train {how_many} in the sidebar" + (f" ({train}, for example)" if train else "")
    if can_switch:
        todo += f", or compare on the same {other} instead"
    if not usable:
        return f"No model here {CAN[mode]} yet: {todo}."
    only = algorithm_label(str(usable[0].get("algorithm")))
    return f"Only one model here {CAN[mode]} ({only}): {todo}."


def letters(model_ids: Sequence[str]) -> dict[str, str]:
    """{model id: "A"} in the order given."""
    return {model_id: LETTERS[i] for i, model_id in enumerate(model_ids)}


def titles(model_ids: Sequence[str], entries: Mapping[str, dict]) -> dict[str, str]:
    """{model id: "A · ALS (WRMF)"}: the column titles, in words."""
    names = letters(model_ids)
    return {
        m: f"{names[m]} · {algorithm_label(str(entries[m].get('algorithm')))}" for m in model_ids
    }


def _on_models() -> None:
    # a person who narrows the choice to fewer than two is mid-edit: do not fill it up again
    st.session_state[EDITING] = len(st.session_state.get(MODELS) or []) < MIN_MODELS


def model_selector(entries: Sequence[dict], view: state.View, mode: str | None = None) -> list[str]:
    """A multiselect of the dataset's stored models, bound to the URL's ``model`` (comma list).

    The URL's models are completed to a pair that takes part in ``mode``
    (:func:`default_models`) and written back, with a rerun so the page links carry them,
    unless the person is narrowing the choice. A model that does not take part in ``mode`` is
    still offered, marked as such.
    """
    ids = [e["model_id"] for e in entries]
    labels = {e["model_id"]: sidebar.model_label(e) for e in entries}
    if mode is not None:
        for entry in entries:
            if not supports(entry, mode):
                labels[entry["model_id"]] += f" · {NOT_IN_MODE[mode]}"
    if st.session_state.get(EDITING):
        chosen = [m for m in view.models if m in ids][:MAX_MODELS]
    else:
        chosen = default_models(entries, view.models, mode)
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


# ------------------------------------------------------------------------------ steering
@dataclass(frozen=True)
class Column:
    """One column of the page: a model's list, steered or not.

    Attributes
    ----------
    key : str
        The list's name in the overlap table and the "also in" captions: the model's letter,
        ``A``, with :data:`STEERED_MARK` for its steered list when both are shown (``A′``).
    model_id : str
    title : str
        ``"A · ALS (WRMF)"``; ``"A′ · ALS (WRMF), steered"`` (tables, the CSV).
    steered : bool
        Whether the list is steered.
    """

    key: str
    model_id: str
    title: str
    steered: bool

    @property
    def heading(self) -> str:
        """The column's heading: its title without ", steered" (the letter's prime and the
        line under it say so), so headings stay on one line and the grids start level."""
        return self.title.removesuffix(STEERED_SUFFIX)


def columns(
    chosen: Sequence[str], titles: Mapping[str, str], *, steered: bool, side_by_side: bool
) -> list[Column]:
    """The page's columns: one per chosen model (steered when ``steered``), or, side by side,
    each of the first :data:`SIDE_MODELS` models without and with the steering."""
    names = letters(chosen)
    if not (steered and side_by_side):
        return [Column(names[m], m, titles[m], steered) for m in chosen]
    out = []
    for model_id in chosen[:SIDE_MODELS]:
        letter, title = names[model_id], titles[model_id]
        out.append(Column(letter, model_id, title, False))
        rest = title.split(" · ", 1)[1] if " · " in title else title
        out.append(
            Column(
                letter + STEERED_MARK,
                model_id,
                f"{letter}{STEERED_MARK} · {rest}{STEERED_SUFFIX}",
                True,
            )
        )
    return out


def side_by_side_toggle(steer: steering.Steering) -> bool:
    """The toggle *Each model with and without the steering*, bound to the URL's
    ``rerank_side``; drawn only when the lists are steered (False otherwise)."""
    if not steer.active:
        return False
    return bool(
        state.bound(
            st.toggle,
            "Each model with and without the steering",
            key=SIDE_KEY,
            param=SIDE_PARAM,
            default=False,
            parse=lambda raw: raw == "1",
            dump=lambda on: "1" if on else "",
            help=f"Put each model's own list beside its steered one (the first {SIDE_MODELS} "
            "models), with the items in both marked and how far the two lists overlap.",
        )
    )


# ------------------------------------------------------------------------------ mode
def mode_of(view: state.View) -> str:
    """ "user" when the URL names a user and no item, else "item"."""
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
        "Compare on the same",
        list(MODES),
        key=MODE,
        format_func=MODES.get,
        required=True,
        on_change=_on_mode,
        args=(default_item, default_user),
    )
    return mode


# ------------------------------------------------------------------------------ metrics
def protocols(entries: Sequence[dict]) -> list[str]:
    """Evaluation protocols found in the entries' metrics, the most widely shared first."""
    counts: dict[str, int] = {}
    for entry in entries:
        for protocol in entry.get("metrics") or {}:
            if split_protocol_key(protocol)[1]:  # a steered evaluation (a sweep's point)
                continue
            counts[protocol] = counts.get(protocol, 0) + 1
    return sorted(counts, key=lambda p: (-counts[p], p))


def metrics_frame(entries: Sequence[dict], names: Mapping[str, str], protocol: str) -> pd.DataFrame:
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
    """Draw the metrics of the chosen models (best per column highlighted); None if none.

    The frame keeps the metric keys as its columns; people read
    :func:`recsys_core.words.metric_label`'s words, with its help on the header, and the
    protocol in :func:`recsys_core.words.split_label`'s words.
    """
    found = protocols(entries)
    if not found:
        return None
    protocol = found[0]
    if len(found) > 1:
        protocol = st.selectbox(
            "Evaluation protocol",
            found,
            key=PROTOCOL,
            format_func=split_label,
            help="Metrics are comparable only within one protocol (split, seed and k).",
        )
    frame = metrics_frame(entries, names, protocol)
    ranked = [c for c in frame.columns if c not in NOT_RANKED]
    styler = frame.style.format("{:.4f}", na_rep="–").highlight_max(
        subset=ranked, axis=0, props="font-weight:700;background-color:rgba(18,184,134,.28)"
    )
    config = {}
    for column in frame.columns:
        label, help_ = metric_label(column)
        config[column] = st.column_config.Column(label, help=help_ or None)
    st.dataframe(styler, width="stretch", placeholder="–", column_config=config)
    missing = [n for n, row in frame.iterrows() if row.isna().all()]
    how = split_help(protocol)
    text.caption(
        f"Held-out metrics ({split_label(protocol)}); best per column highlighted"
        + ("; mean popularity is not ranked." if "mean_popularity" in frame else ".")
        + (f" Not evaluated under this protocol: {', '.join(missing)}." if missing else "")
        + (f" {how}" if how else "")
    )
    return frame


# ------------------------------------------------------------------------------ overlap
OVERLAP_COLUMNS = ("first", "second", "shared", "jaccard", "rbo")
"""The overlap table's columns: :func:`recsys_core.overlap.pairwise_overlap`'s keys."""


def overlap_table(table: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Draw :func:`recsys_core.overlap.pairwise_overlap`'s table with the models' titles
    (``names``: {letter: title}). Its keys stay the columns; people read
    :func:`recsys_core.words.overlap_label`'s words, with the one-line help on each header.
    Returns the frame drawn."""
    shown = table[list(OVERLAP_COLUMNS)].copy()
    shown["first"] = shown["first"].map(lambda n: names.get(n, n))
    shown["second"] = shown["second"].map(lambda n: names.get(n, n))
    config: dict = {}
    for column in OVERLAP_COLUMNS:
        label, help_ = overlap_label(column)
        if column in {"jaccard", "rbo"}:
            config[column] = st.column_config.ProgressColumn(
                label, help=help_, format="%.3f", min_value=0, max_value=1
            )
        elif column == "shared":
            config[column] = st.column_config.NumberColumn(label, help=help_)
        else:
            config[column] = st.column_config.TextColumn(
                "Model" if column == "first" else "Other model"
            )
    st.dataframe(shown, hide_index=True, column_config=config)
    st.caption(
        " ".join(
            text.fmt("**{}** — {}{}", label, help_[:1].lower(), help_[1:])
            for label, help_ in (overlap_label("jaccard"), overlap_label("rbo"))
        )
    )
    return shown


# ------------------------------------------------------------------------------ export
def results_frame(
    data: Dataset,
    chosen: Sequence[str],
    names: Mapping[str, str],
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    mode: str,
    anchor: str,
    entries: Mapping[str, dict] | None = None,
    model_ids: Mapping[str, str] | None = None,
    steering: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """What the columns show, as one table: a row per card, column by column, in rank order.

    Parameters
    ----------
    data : Dataset
    chosen : sequence of str
        Model ids in column order; one without results (a note instead) has no rows.
    names : mapping
        ``{model id: "A · ALS (WRMF)"}``: the column titles (:func:`titles`).
    results : mapping
        ``{model id: (item indices int [k], scores float [k])}``, as the grids got them.
    mode : str
        ``"item"`` (items similar to ``anchor``) or ``"user"`` (recommended to ``anchor``).
    anchor : str
        The id of the item or user compared on.
    entries : mapping, optional
        ``{model id: model_entries dict}``, for the ``algorithm`` column.
    model_ids : mapping, optional
        ``{column: model id}`` when the columns are not model ids (:class:`Column` keys: a
        model with and without the steering); ``entries`` is then keyed by column too.
    steering : mapping, optional
        ``{column: canonical re-ranking string}`` (``""`` for a model's own list): adds a
        last column, ``steering``.

    Returns
    -------
    pandas.DataFrame, shape [n_cards, 10 or 11]
        ``model`` (its title), ``model_id``, ``algorithm``, ``for_item`` or ``for_user``,
        ``rank`` (1 first), ``item_id``, ``name``, ``category``, ``score`` and ``also_in``
        (the letters of the other columns that list the same item, space separated), and
        ``steering`` when given.
    """
    lists = {m: as_int_list(results[m][0]) for m in chosen if m in results}
    letter = {m: names[m].split(" · ")[0] for m in lists}
    rows = []
    for model_id, items in lists.items():
        scores = np.asarray(results[model_id][1], dtype=float)
        algorithm = ((entries or {}).get(model_id) or {}).get("algorithm") or ""
        for rank, index in enumerate(items, start=1):
            others = [letter[o] for o, listed in lists.items() if o != model_id and index in listed]
            row = {
                "model": names[model_id],
                "model_id": (model_ids or {}).get(model_id, model_id),
                "algorithm": algorithm,
                f"for_{mode}": anchor,
                "rank": rank,
                "item_id": data.item_id(index),
                "name": data.item_name(index),
                "category": data.items.at[index, "category"],
                "score": float(scores[rank - 1]),
                "also_in": " ".join(others),
            }
            if steering is not None:
                row["steering"] = steering.get(model_id, "")
            rows.append(row)
    columns = [
        "model",
        "model_id",
        "algorithm",
        f"for_{mode}",
        "rank",
        "item_id",
        "name",
        "category",
        "score",
        "also_in",
    ]
    return pd.DataFrame(rows, columns=columns + (["steering"] if steering is not None else []))


def download(frame: pd.DataFrame, *, dataset: str, mode: str, anchor: str) -> None:
    """The download button for :func:`results_frame`'s table: a CSV whose text cells a
    spreadsheet shows as text (:func:`recsys_core.html.csv_text`), never runs."""
    st.download_button(
        "Download these lists (CSV)",
        data=html.csv_text(frame),
        file_name=html.file_name("compare", dataset, mode, anchor),
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="compare_csv",
        help="One row per card: the model, its rank, the item's id, name and category, the score.",
    )


# ------------------------------------------------------------------------------ drawing
def also_in_captions(lists: Mapping[str, Sequence[int]], name: str) -> list[str]:
    """For each item of ``lists[name]``: 'also in B, C' (or '')."""
    out = []
    for item in lists[name]:
        others = [n for n, items in lists.items() if n != name and item in set(items)]
        out.append(f"also in {', '.join(others)}" if others else "")
    return out


def header_html(
    *, name: str, category: str, image_url: str, count: int, item_id: str
) -> html.SafeHtml:
    """The compared item, compact: its picture, name, category, interactions and id.

    The picture is :func:`recsys_core.html.item_picture`: an ``image_url`` that cannot load
    leaves the item's generated picture in view, never a broken-image icon. Every string is
    escaped.
    """
    picture = html.item_picture(name=name, image_url=image_url, category=category)
    return html.SafeHtml(
        '<div style="display:flex;align-items:center;gap:14px;margin:2px 0 6px">'
        f'<div style="width:96px;flex:none">{picture}</div>'
        '<div style="min-width:0"><div style="font-weight:700;font-size:1.05rem">'
        f'{html.escape(name)}</div><div style="opacity:.75;font-size:.85rem">'
        f"{html.escape(category or 'no category')} · "
        f"{int(count):,} interactions · id {html.escape(item_id)}"
        "</div></div></div>"
    )


def item_header(data: Dataset, spec: str, index: int) -> None:
    """The compared item, compact: small picture, name, category, interactions."""
    row = data.items.iloc[int(index)]
    st.html(
        header_html(
            name=row["name"],
            category=row["category"],
            image_url=loaders.images(data, spec, [index])[0],
            count=int(data.item_counts[int(index)]),
            item_id=str(row["item_id"]),
        )
    )


def model_subtitle(entry: dict, steered: str = "") -> None:
    """One line under a column's title: key parameters in words
    (:func:`recsys_core.words.params_label`) and age (the full label on hover); for a steered
    list shown beside the model's own, ``steered`` (how, in words) instead."""
    params = params_label(str(entry.get("algorithm")), entry.get("params"), limit=3)
    when = loaders.age(entry.get("created"))
    variant = "trained on a split" if entry.get("variant") else ""
    line = " · ".join(part for part in (params, variant, when) if part)
    if steered:
        line = f"steered: {steered}"
    st.html(
        f'<div title="{html.escape(sidebar.model_label(entry))}" style="font-size:.8rem;'
        'opacity:.7;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin-top:-6px">'
        f"{html.escape(line or 'default parameters')}</div>"
    )


def default_user_id(data) -> str:
    return data.user_id(users_ui.default_user(data))


def as_int_list(indices: np.ndarray) -> list[int]:
    return [int(i) for i in np.asarray(indices).tolist() if int(i) >= 0]
