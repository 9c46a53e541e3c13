"""Re-ranking settings: three dials and the filters, read from and written to one string.

:class:`RerankSettings` is frozen and reads and writes one canonical string
(``"popularity=0.5,diversity=0.3"``): the URL's ``rerank``, the CLI's ``--rerank`` and the
store's key (:func:`protocol_key_with`, :func:`split_protocol_key`). :meth:`RerankSettings.
resolve` checks the names against a dataset; :func:`choices` lists what the filters can name.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from ..errors import ParameterError
from .categories import dataset_codes

DIALS = ("popularity", "diversity", "calibration")
"""The three dials, each a number from 0 (off) to 1 (strongest)."""

DIAL_HELP = {
    "popularity": "0 keeps the model's order; 1 puts the least popular of its candidates first",
    "diversity": "0 keeps the model's order; 1 picks each next item as unlike the ones above "
    "as possible (maximal marginal relevance)",
    "calibration": "0 keeps the model's order; 1 gives the list the categories of the user's "
    "history in the same proportions (Steck 2018)",
}

_LISTS = {  # key in the string -> field
    "exclude_category": "exclude_categories",
    "only_category": "only_categories",
    "exclude_tag": "exclude_tags",
    "only_tag": "only_tags",
    "exclude_item": "exclude_items",
}
_COUNTS = ("min_popularity", "max_popularity")
KEYS = DIALS + tuple(_LISTS) + _COUNTS
"""Every key of the settings string, in canonical order."""

KEY_SEPARATOR = "|rerank:"
"""Joins an evaluation protocol key and a re-ranking in the store:
``"holdout:5:seed=0@k=10|rerank:popularity=0.5"`` (see :func:`split_protocol_key`)."""

_DECIMALS = 3  # dials are kept to 3 decimals, so the string round-trips exactly
_ESCAPES = (("%", "%25"), (",", "%2C"), ("|", "%7C"), ("=", "%3D"))


# -------------------------------------------------------------------------------- the settings
@dataclass(frozen=True)
class RerankSettings:
    """What to do to a model's list: three dials (0 to 1) and filters.

    Attributes
    ----------
    popularity, diversity, calibration : float
        Dials from 0 (off) to 1; kept to 3 decimals.
    exclude_categories, only_categories : tuple of str
        Categories never shown / the only ones shown (sorted, without repeats).
    exclude_tags, only_tags : tuple of str
        Items carrying any of these tags are never shown / only items carrying one are shown.
    exclude_items : tuple of str
        Item ids never shown.
    min_popularity, max_popularity : int or None
        Only items with at least / at most this many training users.

    ``str(settings)`` is the canonical string (dials at 0 left out; ``""`` for none) and
    ``RerankSettings.parse(str(settings)) == settings``.
    """

    popularity: float = 0.0
    diversity: float = 0.0
    calibration: float = 0.0
    exclude_categories: tuple[str, ...] = ()
    only_categories: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    only_tags: tuple[str, ...] = ()
    exclude_items: tuple[str, ...] = ()
    min_popularity: int | None = None
    max_popularity: int | None = None

    def __post_init__(self) -> None:
        for name in DIALS:
            object.__setattr__(self, name, _dial(name, getattr(self, name)))
        for key, name in _LISTS.items():
            object.__setattr__(self, name, _names(key, getattr(self, name)))
        for name in _COUNTS:
            object.__setattr__(self, name, _count(name, getattr(self, name)))
        low, high = self.min_popularity, self.max_popularity
        if low is not None and high is not None and low > high:
            raise ParameterError(
                f"min_popularity ({low}) is above max_popularity ({high}); no item can pass both."
            )

    # ------------------------------------------------------------------ the string
    @classmethod
    def parse(cls, text: str | None) -> RerankSettings:
        """Settings from ``"popularity=0.5,diversity=0.3,exclude_category=Food|Music"``.

        Keys (any subset, any order): :data:`KEYS`; ``-`` may stand for ``_``. Lists are
        separated by ``|``; a ``,``, ``|``, ``=`` or ``%`` inside a name is written ``%2C``,
        ``%7C``, ``%3D``, ``%25`` (as :meth:`to_string` does). Empty or None: no re-ranking.

        Raises
        ------
        ParameterError
            One sentence: an unknown key, a key given twice, a missing value, a dial outside
            0-1, a popularity that is not a whole number.
        """
        if text is None:
            return cls()
        if not isinstance(text, str):
            raise ParameterError(
                f"Re-ranking settings are text such as 'popularity=0.5', not {type(text).__name__}."
            )
        values: dict[str, Any] = {}
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            key, has_value, value = part.partition("=")
            key = key.strip().lower().replace("-", "_")
            if key not in KEYS:
                close = difflib.get_close_matches(key, KEYS, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ParameterError(
                    f"Unknown re-ranking setting {key!r}{hint}; use {', '.join(KEYS)}."
                )
            if not has_value or not value.strip():
                example = "0.5" if key in DIALS else "10" if key in _COUNTS else "NAME"
                raise ParameterError(
                    f"Re-ranking setting {key} needs a value, as in {key}={example}."
                )
            name = _LISTS.get(key, key)
            if key in _LISTS:
                names = [_unescape(v.strip()) for v in value.split("|") if v.strip()]
                values[name] = tuple(values.get(name, ())) + tuple(names)
                continue
            if name in values:
                raise ParameterError(f"Re-ranking setting {key} is given twice; keep one.")
            values[name] = value.strip()
        return cls(**values)

    def to_string(self) -> str:
        """The canonical string: keys in :data:`KEYS` order, dials at 0 and empty filters left
        out, names sorted and escaped; ``""`` when nothing is set."""
        parts = [f"{name}={_number(getattr(self, name))}" for name in DIALS if getattr(self, name)]
        for key, name in _LISTS.items():
            names = getattr(self, name)
            if names:
                parts.append(f"{key}={'|'.join(_escape(n) for n in names)}")
        parts += [
            f"{name}={getattr(self, name)}" for name in _COUNTS if getattr(self, name) is not None
        ]
        return ",".join(parts)

    __str__ = to_string

    # ------------------------------------------------------------------ what is set
    @property
    def has_dials(self) -> bool:
        """Whether any dial is above 0 (the order can change)."""
        return any(getattr(self, name) > 0 for name in DIALS)

    @property
    def has_filters(self) -> bool:
        """Whether any filter is set (items can be left out)."""
        return any(getattr(self, name) for name in _LISTS.values()) or any(
            getattr(self, name) is not None for name in _COUNTS
        )

    @property
    def is_identity(self) -> bool:
        """True when these settings change nothing (the model's own list)."""
        return not self.has_dials and not self.has_filters

    def replace(self, **changes: Any) -> RerankSettings:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def with_filters(
        self,
        *,
        exclude_categories: Iterable[str] = (),
        only_categories: Iterable[str] = (),
        exclude_tags: Iterable[str] = (),
        only_tags: Iterable[str] = (),
        exclude_items: Iterable[str] = (),
    ) -> RerankSettings:
        """A copy with more names added to the filters (the CLI's repeatable flags)."""
        return replace(
            self,
            exclude_categories=self.exclude_categories + tuple(exclude_categories),
            only_categories=self.only_categories + tuple(only_categories),
            exclude_tags=self.exclude_tags + tuple(exclude_tags),
            only_tags=self.only_tags + tuple(only_tags),
            exclude_items=self.exclude_items + tuple(exclude_items),
        )

    def resolve(self, dataset: Any) -> RerankSettings:
        """These settings checked against a dataset, with its spelling of each name.

        Categories and tags match case-insensitively (``food`` -> ``Food``); item ids exactly.

        Raises
        ------
        ParameterError
            One sentence naming the unknown category, tag or item and the closest known ones.
        """
        changes: dict[str, tuple[str, ...]] = {}
        wanted_categories = self.exclude_categories + self.only_categories
        wanted_tags = self.exclude_tags + self.only_tags
        if wanted_categories:
            known = sorted(dataset_codes(dataset)[1])
            for name in ("exclude_categories", "only_categories"):
                changes[name] = tuple(
                    _match(value, known, "category", dataset) for value in getattr(self, name)
                )
        if wanted_tags:
            known = _tag_names(dataset.items)
            for name in ("exclude_tags", "only_tags"):
                changes[name] = tuple(
                    _match(value, known, "tag", dataset) for value in getattr(self, name)
                )
        for item in self.exclude_items:
            if not dataset.has_item(item):
                close = [dataset.item_id(int(i)) for i in dataset.closest_item_ids(item, 3)]
                hint = f"; the closest ids are {', '.join(close)}" if close else ""
                raise ParameterError(f"Item {item!r} is not in {dataset.label}{hint}.")
        return replace(self, **changes) if changes else self


def parse_rerank(
    text: str | None = None,
    *,
    exclude_categories: Iterable[str] = (),
    only_categories: Iterable[str] = (),
) -> RerankSettings:
    """:meth:`RerankSettings.parse` plus the CLI's ``--exclude-category`` / ``--only-category``
    names (taken as typed, no escaping)."""
    settings = RerankSettings.parse(text)
    return settings.with_filters(
        exclude_categories=exclude_categories, only_categories=only_categories
    )


def choices(dataset: Any) -> dict[str, list[str]]:
    """What the filters can name in a dataset: ``{"categories": [...], "tags": [...]}``, each
    sorted (empty without any), for pickers."""
    return {"categories": sorted(dataset_codes(dataset)[1]), "tags": _tag_names(dataset.items)}


def protocol_key_with(base_key: str, settings: RerankSettings | str | None) -> str:
    """The store key of an evaluation with a re-ranking: ``base_key`` alone for none."""
    text = str(settings) if settings is not None else ""
    return f"{base_key}{KEY_SEPARATOR}{text}" if text else base_key


def split_protocol_key(key: str) -> tuple[str, str]:
    """``"holdout:5:seed=0@k=10|rerank:popularity=0.5"`` -> ``("holdout:5:seed=0@k=10",
    "popularity=0.5")``; a key without a re-ranking -> ``(key, "")``."""
    base, _, text = str(key).partition(KEY_SEPARATOR)
    return base, text


def _dial(name: str, value: Any) -> float:
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not 0.0 <= number <= 1.0:  # NaN fails both
        raise ParameterError(f"The {name} dial needs a number from 0 to 1, got {value!r}.")
    return round(number, _DECIMALS) + 0.0  # + 0.0: no -0.0


def _count(name: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (number >= 0 and float(number).is_integer()):
        raise ParameterError(f"{name} needs a whole number of users, 0 or more, got {value!r}.")
    return int(number)


def _names(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    out = set()
    for name in value or ():
        if not isinstance(name, str):
            raise ParameterError(f"{key} takes names, got {name!r}.")
        name = name.strip()
        if name:
            out.add(name)
    return tuple(sorted(out))


def _number(value: float) -> str:
    return f"{value:.{_DECIMALS}f}".rstrip("0").rstrip(".")


def _escape(name: str) -> str:
    for raw, escaped in _ESCAPES:
        name = name.replace(raw, escaped)
    return name


def _unescape(text: str) -> str:
    for raw, escaped in reversed(_ESCAPES):
        text = text.replace(escaped, raw).replace(escaped.lower(), raw)
    return text


def _tag_names(items: pd.DataFrame) -> list[str]:
    if "tags" not in items:
        return []
    return sorted({str(tag) for tags in items["tags"] for tag in tags})


def _match(value: str, known: list[str], what: str, dataset: Any) -> str:
    if value in known:
        return value
    folded = {name.casefold(): name for name in known}
    if value.casefold() in folded:
        return folded[value.casefold()]
    label = getattr(dataset, "label", "the dataset")
    if not known:
        raise ParameterError(f"{label} has no item {what}s, so {what} {value!r} filters nothing.")
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
    if not close:
        close = known[:3]
    raise ParameterError(f"No {what} {value!r} in {label}; the closest are {', '.join(close)}.")
