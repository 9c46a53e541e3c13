"""The Embeddings page's settings: method, points, colouring, parameters and the second model,
each bound to its URL parameter (:func:`recsys_core.ui.state.bound`).

URL parameters (besides dataset, model, item, k): ``proj`` (pca, tsne, umap), ``points``
(items, users), ``colour`` (category, group, tag, popularity, activity), ``tag`` (the tag to
colour by), ``near`` (a tag whose nearest items are shown, lightfm with tag features),
``perplexity``, ``sample``. ``model=a,b`` draws b beside a, Procrustes-aligned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .. import projection, words
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..projection import jobs
from . import loaders, state
from .model_picker import model_label

METHOD = "proj"
POINTS = "points"
COLOUR = "colour"
TAG = "tag"
NEAR = "near"
PERPLEXITY = "perplexity"
SAMPLE = "sample"
SECOND_KEY = "emb_second"
PARAMETERS_KEY = "emb_parameters"
"""Session state: whether the Parameters expander is open (its widgets are drawn only then)."""

DEFAULT_PERPLEXITY = 30
TSNE_DEFAULT_SAMPLE = 25_000
"""t-SNE and UMAP map at most this many points unless asked for more (a stratified sample)."""
MIN_SAMPLE = 200


@dataclass(frozen=True)
class Settings:
    """What the user chose: method, points, colouring, and the method's parameters."""

    method: str = "tsne"
    points: str = "items"
    colour: str = "category"
    tag: str | None = None
    perplexity: int = DEFAULT_PERPLEXITY
    sample: int | None = None
    k: int = state.DEFAULT_K
    second: str | None = None


# ---------------------------------------------------------------------------------- colourings
def colour_modes(data: Dataset, points: str) -> list[str]:
    """The colourings this dataset supports for items or users."""
    if points == "users":
        modes = ["activity"]
        if data.users is not None and "group" in data.users.columns:
            modes.insert(0, "group")
        return modes
    modes = ["category", "tag", "popularity"]
    if "group" in data.items.columns:
        modes.insert(1, "group")
    if not any(data.items["category"].astype(str) != ""):
        modes.remove("category")
    if not any(len(t) for t in data.items["tags"]):
        modes.remove("tag")
    return modes


def colour_help(modes: Sequence[str]) -> str:
    """One line per colouring, in plain words (the select box's help)."""
    lines = []
    for mode in modes:
        label, help_ = words.colour_label(mode)
        lines.append(f"- **{label}**: {help_}" if help_ else f"- **{label}**")
    return "\n".join(lines)


def tag_options(data: Dataset) -> list[str]:
    """The dataset's tags, most frequent first."""
    counts = Counter(tag for tags in data.items["tags"] for tag in tags)
    return [tag for tag, _ in counts.most_common()]


def default_colour(modes: Sequence[str]) -> str:
    """The demo's taste groups when there are some, else the first colouring."""
    return "group" if "group" in modes else modes[0]


def _clamped(low: int, high: int) -> Callable[[str], int]:
    """A URL parser for an int kept within [low, high] ("1e9" becomes high; "inf", "nan" and
    words are ValueError, so the default)."""

    def parse(raw: str) -> int:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return max(low, min(high, int(value)))

    return parse


# ------------------------------------------------------------------------------------ controls
def controls(data: Dataset, model: Recommender) -> Settings:
    """Method, points, colouring and parameters, each bound to its URL parameter.

    Each control is set from the URL before it is drawn and writes the URL once when changed
    (:func:`recsys_core.ui.state.bound`); values equal to the default stay out of the URL.
    """
    cols = st.columns([1, 0.8, 1.2, 1.1, 1.6], vertical_alignment="bottom")
    method = _method(cols[0])
    point_options = ["items", "users"] if model.supports("user_vectors") else ["items"]
    points = state.bound(
        cols[1].selectbox,
        "Points",
        key="emb_points",
        param=POINTS,
        default="items",
        valid=point_options,
        options=point_options,
        format_func=str.capitalize,
        reset=(COLOUR, TAG, SAMPLE),
    )
    colour, tag = _colouring(data, points, cols[2], cols[3])
    second = second_model(data, cols[4])
    n = data.n_items if points == "items" else data.n_users
    perplexity, sample, k = _parameters(method, points, n)
    sample_value = None if method == "pca" or int(sample) >= n else int(sample)
    return Settings(method, points, colour, tag, int(perplexity), sample_value, int(k), second)


def _method(where: Any) -> str:
    """The projection method's select box."""
    methods = projection.available_methods()
    return state.bound(
        where.selectbox,
        "Projection",
        key="emb_method",
        param=METHOD,
        default="tsne" if "tsne" in methods else methods[0],
        valid=methods,
        options=methods,
        format_func=lambda m: projection.METHOD_LABELS[m],
        help="PCA is instant and keeps global distances; t-SNE shows neighbourhoods (clusters)."
        + ("" if "umap" in methods else f" UMAP is optional: {projection.UMAP_HINT} adds it."),
    )


def _colouring(data: Dataset, points: str, where: Any, tag_where: Any) -> tuple[str, str | None]:
    """The colouring's select box, and the tag's when colouring by one tag."""
    modes = colour_modes(data, points)
    colour = state.bound(
        where.selectbox,
        "Colour by",
        key=f"emb_colour_{points}",
        param=COLOUR,
        default=default_colour(modes),
        valid=modes,
        options=modes,
        format_func=lambda m: words.colour_label(m)[0],
        help=colour_help(modes),
    )
    if colour != "tag":
        return colour, None
    tags = tag_options(data)
    tag = state.bound(
        tag_where.selectbox,
        "Tag",
        key="emb_tag",
        param=TAG,
        default=tags[0],
        valid=tags,
        options=tags,
    )
    return colour, tag


def _parameters(method: str, points: str, n: int) -> tuple[int, int, int]:
    """(perplexity, sample size, neighbours shown): the Parameters expander's widgets when it
    is open, else the URL's values (three fewer widgets on every visit)."""
    low = min(MIN_SAMPLE, n)
    default_sample = min(n, TSNE_DEFAULT_SAMPLE)
    perplexity_parse, sample_parse = _clamped(5, 100), _clamped(low, n)
    k_parse = _clamped(state.K_MIN, state.K_MAX)
    box = st.expander("Parameters", icon=":material/tune:", key=PARAMETERS_KEY, on_change="rerun")
    with box:
        if not box.open:
            return (
                state.read(PERPLEXITY, DEFAULT_PERPLEXITY, perplexity_parse),
                state.read(SAMPLE, default_sample, sample_parse),
                state.read(state.K, state.DEFAULT_K, k_parse),
            )
        left, middle, right = st.columns(3)
        perplexity = state.bound(
            left.slider,
            "t-SNE perplexity",
            key="emb_perplexity",
            param=PERPLEXITY,
            default=DEFAULT_PERPLEXITY,
            parse=perplexity_parse,
            min_value=5,
            max_value=100,
            disabled=method != "tsne",
            help="About how many neighbours each point keeps close: low values show "
            "small, tight clusters; high values keep more of the global layout.",
        )
        sample = state.bound(
            middle.number_input,
            "Sample size",
            key=f"emb_sample_{points}",
            param=SAMPLE,
            default=default_sample,
            parse=sample_parse,
            min_value=low,
            max_value=n,
            step=max(100, n // 100),
            disabled=method == "pca",
            help=f"t-SNE and UMAP map a stratified sample when this is below {n:,} (PCA "
            "always maps everything: it takes a moment). About a minute for 25,000 items "
            f"on 2 cores; above {jobs.FIRST_PICTURE_FROM:,} points a PCA map is shown while it "
            "is computed.",
        )
        k = state.bound(
            right.slider,
            "Neighbours shown",
            key="emb_k",
            param=state.K,
            default=state.DEFAULT_K,
            parse=k_parse,
            min_value=state.K_MIN,
            max_value=state.K_MAX,
        )
    return perplexity, sample, k


# -------------------------------------------------------------------------------- second model
def latent_models(data: Dataset, exclude: str | None = None) -> list[dict]:
    """Stored models of this dataset that have vectors to project (for "side by side")."""
    return projection.latent_entries(loaders.model_entries(data.fingerprint), exclude=exclude)


def second_model(data: Dataset, where: Any = None) -> str | None:
    """The "side by side with" picker; the second model lives in the URL (``model=a,b``).

    Set from the URL before drawing, written to it (once) by its callback, like
    :func:`recsys_core.ui.state.bound` but over the second place of ``model``.
    """
    where = where or st
    view = state.view()
    others = latent_models(data, exclude=view.model)
    labels = {entry["model_id"]: model_label(entry) for entry in others}
    options = ["", *labels]  # "": no other model (None would show as no choice at all)
    current = view.models[1] if len(view.models) > 1 and view.models[1] in labels else ""
    if st.session_state.get(SECOND_KEY) != current:
        st.session_state[SECOND_KEY] = current

    def write() -> None:
        chosen = st.session_state.get(SECOND_KEY)
        first = state.view().model
        state.set_view(models=[first, *([chosen] if chosen else [])])

    choice = where.selectbox(
        "Side by side with",
        options,
        format_func=lambda i: labels.get(i, "no other model"),
        key=SECOND_KEY,
        on_change=write,
        help="Another model's map of the same items, turned to this one's orientation "
        "(orthogonal Procrustes over the items both maps show).",
    )
    return choice or None
