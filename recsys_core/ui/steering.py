"""Steer the lists: the re-ranking dials and filters (:mod:`recsys_core.rerank`) in the app.

They are drawn in one place, the sidebar's *Steer the lists* expander under the model picker
(:func:`sidebar`), and live in the URL as one canonical parameter, ``rerank`` (the string of
:meth:`recsys_core.rerank.RerankSettings.to_string`, e.g.
``rerank=popularity=0.5,exclude_category=Electronics``), which the sidebar's page links and the
thumbnails carry. Every control is bound the way :func:`recsys_core.ui.state.bound` binds them:
its value is set from the URL before it is drawn, and its callback writes the whole string
once, so any number of changes in a row take effect and back / forward walk them.

A link is input: a value that does not parse, or names a category or tag the dataset does not
have, is one sentence (on the page when it steers a list, else in the sidebar) and is ignored;
the lists are then the model's own.

Similar items, Users and Compare show the steered lists (:func:`source`: the model itself when
nothing is set, else a cached :class:`~recsys_core.rerank.Reranker` that answers like it), with
a one-line :func:`note` saying how they are steered.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ..dataset import Dataset
from ..errors import ParameterError, UserError
from ..rerank import DIAL_HELP, DIALS, Reranker, RerankSettings
from . import loaders, state, text

PARAM = "rerank"
"""The URL parameter holding the canonical settings string."""
MAX_LENGTH = 2000
"""Characters of a ``rerank`` value read from a link at most (a longer one is refused)."""
LABEL = "Steer the lists"
ICON = ":material/tune:"

DIAL_WORDS = {"popularity": "Long tail", "diversity": "Variety", "calibration": "Calibration"}
"""What people read for each dial (the key stays the key in the URL and the CLI)."""
FILTER_WORDS = {
    "exclude_categories": "Leave out categories",
    "only_categories": "Only these categories",
    "exclude_tags": "Leave out tags",
    "only_tags": "Only items with one of these tags",
}
FILTER_HELP = {
    "exclude_categories": "Items of these categories are never shown; the lists still hold "
    "as many items.",
    "only_categories": "Only items of these categories are shown.",
    "exclude_tags": "Items carrying any of these tags are never shown.",
    "only_tags": "Only items carrying at least one of these tags are shown.",
}
LIKES_HELP = (
    "Only items that at least / at most this many users liked in the model's training data "
    "(empty: no limit)."
)

# session_state keys
KEY_PREFIX = "steer_"
RESET_KEY = "steer_reset"
ERROR_KEY = "steer_error"
"""A change the settings cannot take (at least more than at most), shown after the rerun."""

_UNSET = object()  # never equal to a widget's value: every change writes the whole string
_SLOT: contextvars.ContextVar = contextvars.ContextVar("recsys_steering_slot", default=None)


# ------------------------------------------------------------------------------ the URL
@dataclass(frozen=True)
class Steering:
    """The URL's steering, checked against the dataset.

    Attributes
    ----------
    settings : RerankSettings
        Resolved against the dataset (its spelling of each name); no re-ranking when the URL
        has none or a value that cannot be used.
    problem : str or None
        One sentence when the URL's value cannot be used (it is then ignored).
    """

    settings: RerankSettings = RerankSettings()
    problem: str | None = None

    @property
    def active(self) -> bool:
        """Whether the lists are steered (a dial above 0 or a filter)."""
        return not self.settings.is_identity

    @property
    def text(self) -> str:
        """The canonical string (``""`` for none)."""
        return self.settings.to_string()


def _ignored(error: Exception | str) -> str:
    """One sentence for a link's steering that cannot be used."""
    message = " ".join(str(error).split())
    message = message[:1].lower() + message[1:] if message else "it cannot be read"
    return f"The steering in this link is ignored: {message.rstrip('.')}."


def current(data: Dataset | None) -> Steering:
    """The URL's steering, resolved against ``data`` (never raises: a bad value is a
    :attr:`Steering.problem` and no steering)."""
    raw = st.query_params.get(PARAM) or ""
    if not raw.strip():
        return Steering()
    if len(raw) > MAX_LENGTH:
        return Steering(problem=_ignored(f"it is longer than {MAX_LENGTH:,} characters"))
    try:
        settings = RerankSettings.parse(raw)
        if data is not None:
            settings = _resolved(settings, data)
    except UserError as error:
        return Steering(problem=_ignored(error))
    return Steering(settings)


def _resolved(settings: RerankSettings, data: Dataset) -> RerankSettings:
    if not (
        settings.exclude_categories
        or settings.only_categories
        or settings.exclude_tags
        or settings.only_tags
        or settings.exclude_items
    ):
        return settings  # nothing to look up
    return settings.resolve(data)


def _url_settings() -> RerankSettings:
    """The URL's settings as typed (no steering when they do not parse): the base a control's
    change is applied to."""
    try:
        raw = st.query_params.get(PARAM) or ""
        return RerankSettings.parse(raw) if len(raw) <= MAX_LENGTH else RerankSettings()
    except UserError:
        return RerankSettings()


def settings_param(settings: RerankSettings | None) -> dict[str, str]:
    """``{"rerank": <string>}`` for a link or ``st.page_link`` ({} for no steering)."""
    value = settings.to_string() if settings is not None else ""
    return {PARAM: value} if value else {}


# ------------------------------------------------------------------------------ words
def _number(value: float) -> str:
    return f"{value:g}"


def _names(names: tuple[str, ...], limit: int = 2) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" +{len(names) - limit}" if len(names) > limit else "")


def summary(settings: RerankSettings) -> str:
    """The steering in a few words: ``"Long tail 0.5 · no Electronics"`` ("" for none)."""
    parts = [
        f"{DIAL_WORDS[d]} {_number(getattr(settings, d))}"
        for d in DIALS
        if getattr(settings, d) > 0
    ]
    if settings.only_categories:
        parts.append(f"only {_names(settings.only_categories)}")
    if settings.exclude_categories:
        parts.append(f"no {_names(settings.exclude_categories)}")
    if settings.only_tags:
        parts.append(f"only tagged {_names(settings.only_tags)}")
    if settings.exclude_tags:
        parts.append(f"no tag {_names(settings.exclude_tags)}")
    if settings.exclude_items:
        count = len(settings.exclude_items)
        parts.append(f"{count} item{'s' if count > 1 else ''} left out")
    low, high = settings.min_popularity, settings.max_popularity
    if low is not None and high is not None:
        parts.append(f"{low:,}–{high:,} likes")
    elif low is not None:
        parts.append(f"≥ {low:,} likes")
    elif high is not None:
        parts.append(f"≤ {high:,} likes")
    return " · ".join(parts)


# ------------------------------------------------------------------------------ the sidebar
def _write(field: str) -> Callable[[Any], str]:
    """``dump`` for :func:`state.bound`: the URL's settings with ``field`` changed, as the
    canonical string (a change the settings refuse leaves the URL as it is and says why)."""

    def dump(value: Any) -> str:
        base = _url_settings()
        try:
            if field == "likes":
                low, high = value
                changed = base.replace(min_popularity=low, max_popularity=high)
            else:
                changed = base.replace(**{field: value})
        except ParameterError as error:
            st.session_state[ERROR_KEY] = str(error)
            return st.query_params.get(PARAM) or ""
        return changed.to_string()

    return dump


def _bound(widget: Callable[..., Any], label: str, field: str, value: Any, **kwargs: Any) -> Any:
    return state.bound(
        widget,
        label,
        key=f"{KEY_PREFIX}{field}",
        param=PARAM,
        default=_UNSET,
        current=value,
        dump=_write(field),
        **kwargs,
    )


def _categories(data: Dataset) -> list[str]:
    column = data.items["category"].fillna("").astype(str).str.strip()
    return sorted(set(column[column != ""]))


def _tags(data: Dataset) -> list[str]:
    return sorted({str(tag) for tags in data.items["tags"] for tag in tags})


@st.cache_data(show_spinner=False, max_entries=8)
def _names_of(fingerprint: str, spec: str, home: str) -> tuple[list[str], list[str]]:
    data = loaders.dataset(spec)
    return _categories(data), _tags(data)


def _likes_input(
    column, label: str, field: str, value: int | None, other: int | None, low: bool, top: int
) -> None:
    def dump(number: Any) -> str:
        number = None if number is None else int(number)
        return _write("likes")((number, other) if low else (other, number))

    with column:
        state.bound(
            st.number_input,
            label,
            key=f"{KEY_PREFIX}{field}",
            param=PARAM,
            default=_UNSET,
            current=value,
            dump=dump,
            min_value=0,
            max_value=max(int(top), 0),
            step=1,
            placeholder="any",
            help=LIKES_HELP,
        )


def sidebar(data: Dataset, spec: str) -> Steering:
    """Draw *Steer the lists* (in the current container: the sidebar, under the model picker):
    the three dials, the filters, a one-line summary with a reset when set, and the sentence
    for a link's value that cannot be used. Returns the URL's steering."""
    steer = current(data)
    shown = steer.settings
    categories, tags = _names_of(data.fingerprint, spec, loaders.home())
    with st.expander(LABEL, icon=ICON, expanded=False):
        _dials(shown)
        st.caption("Filters (the lists keep their length)")
        if categories:
            _name_filters(shown, ("exclude_categories", "only_categories"), categories)
        if tags:
            _name_filters(shown, ("exclude_tags", "only_tags"), tags)
        _likes_filters(shown, int(data.item_counts.max(initial=0)))
    refused = st.session_state.pop(ERROR_KEY, None)
    if refused:
        text.warning(refused)
    if steer.active:
        _summary_and_reset(shown)
    slot = st.empty()
    if steer.problem:
        with slot:
            text.warning(steer.problem)
    _SLOT.set(slot)
    return steer


def _dials(shown: RerankSettings) -> None:
    for dial in DIALS:
        _bound(
            st.slider,
            DIAL_WORDS[dial],
            dial,
            float(getattr(shown, dial)),
            min_value=0.0,
            max_value=1.0,
            step=0.05,
            format="%.2f",
            help=DIAL_HELP[dial][:1].upper() + DIAL_HELP[dial][1:] + ".",
        )


def _name_filters(shown: RerankSettings, fields: tuple[str, str], names: list[str]) -> None:
    """Exclude and keep-only for categories or tags. A name kept only is not offered to
    exclude, nor the other way round (a list of nothing); a link that has a name in both
    still shows it in both, and the page says that nothing is left."""
    for field, other in (fields, fields[::-1]):
        chosen, taken = set(getattr(shown, field)), set(getattr(shown, other))
        _bound(
            st.multiselect,
            FILTER_WORDS[field],
            field,
            list(getattr(shown, field)),
            options=[n for n in names if n not in taken or n in chosen],
            placeholder="None",
            help=FILTER_HELP[field],
        )


def _likes_filters(shown: RerankSettings, top: int) -> None:
    left, right = st.columns(2)
    _likes_input(
        left, "Min. likes", "min_popularity", shown.min_popularity, shown.max_popularity, True, top
    )
    _likes_input(
        right,
        "Max. likes",
        "max_popularity",
        shown.max_popularity,
        shown.min_popularity,
        False,
        top,
    )


def _summary_and_reset(shown: RerankSettings) -> None:
    words, reset = st.columns([3, 1], vertical_alignment="center", gap="small")
    words.caption(f"{ICON} " + text.fmt("{}", summary(shown)))
    reset.button(
        "Reset",
        key=RESET_KEY,
        type="tertiary",
        on_click=state.set_view,
        kwargs={PARAM: None},
        help="Show the models' own lists again",
    )


# ------------------------------------------------------------------------------ the pages
def note(steer: Steering, *, calibration_applies: bool = True) -> None:
    """One line over a steered grid: how it is steered. A link's value that cannot be used is
    said here instead of in the sidebar (one sentence, once). Nothing when not steered."""
    slot = _SLOT.get()
    if steer.problem:
        if slot is not None:
            slot.empty()
        text.warning(steer.problem, icon=ICON)
        return
    if not steer.active:
        return
    line = f"{ICON} **Steered:** " + text.fmt("{}", summary(steer.settings))
    if steer.settings.calibration > 0 and not calibration_applies:
        line += " (calibration follows a user's history, so it leaves similar items as they are)"
    line += " · scores are the model's · change it in the sidebar's *Steer the lists*"
    st.caption(line)


def shortfall(steer: Steering, shown: int, k: int) -> None:
    """Under a grid the filters left short of k (but not empty: :func:`empty_text` says that),
    how many passed."""
    if steer.problem or not steer.settings.has_filters or not 0 < shown < k:
        return
    passed = "1 item passes" if shown == 1 else f"{shown} items pass"
    st.caption(f"Only {passed} the steering's filters here; loosen them in the sidebar for {k}.")


def empty_text(steer: Steering, plain: str) -> str:
    """A grid's text when it is empty: ``plain``, or that the steering's filters left nothing."""
    if steer.settings.has_filters:
        return "No item is left after the steering's filters; loosen them in the sidebar."
    return plain


@st.cache_resource(show_spinner=False, max_entries=16)
def _reranker(model_id: str, fingerprint: str, spec: str, home: str, settings: str) -> Reranker:
    data = loaders.dataset(spec)
    return Reranker(settings, loaders.model(model_id, data, spec), data)


def source(steer: Steering, model: Any, model_id: str, data: Dataset, spec: str) -> Any:
    """What answers the page's queries: ``model`` itself when nothing is steered, else its
    :class:`~recsys_core.rerank.Reranker` (cached per model and settings), which has the same
    ``similar_items`` / ``recommend`` / ``recommend_for_history``."""
    if not steer.active:
        return model
    return _reranker(model_id, data.fingerprint, spec, loaders.home(), steer.text)
