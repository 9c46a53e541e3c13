"""Re-ranking: steer any model's lists with three dials and a few business rules.

A model scores; this module decides what a person sees. It takes a pool of the model's best
candidates (``pool_size(k)``: ``max(5 k, 50)`` items, fetched through the model's own
``recommend`` / ``similar_items`` / ``recommend_for_history`` or, in :func:`evaluation.evaluate`,
from each block of scores) and returns k of them:

- **filters** (exclude or keep only categories, tags and listed items; a minimum or maximum
  popularity) are applied before the pool is taken, so the list still holds exactly k items
  whenever k allowed items are left;
- **popularity** (0 = the model's order, 1 = the least popular candidates first): a penalty on
  log popularity mixed linearly with the pool's min-max normalised scores (why this one and not
  inverse-propensity weighting: ``docs/METRICS.md``);
- **diversity**: maximal marginal relevance (Carbonell & Goldstein 1998) over the cosine of the
  model's item vectors, or over "same category" for a model without vectors; never less diverse
  than the list without it;
- **calibration** (Steck 2018): the list's categories in proportion to those of the user's
  history, by greedy minimisation of KL(history || list).

Every dial at 0 with no filter returns the model's own answer, untouched. Lists are the same
whichever way they are asked for (one user's query or a block in an evaluation): both paths
compute every gain with the same floating-point operations (what each costs:
``docs/METRICS.md``, "What a re-ranking costs"). Settings are a frozen
:class:`RerankSettings` that reads and writes one canonical string
(``"popularity=0.5,diversity=0.3"``): the URL's, the CLI's ``--rerank`` and the store's key.
:class:`Reranker` holds what one (settings, model, dataset) needs, computed once; its
``recommend`` / ``similar_items`` / ``recommend_for_history`` answer like the model's, and
``select`` re-ranks a block of full score rows (what ``evaluate(..., rerank=...)`` calls).

Never imports streamlit.
"""

from __future__ import annotations

import difflib
import math
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ParameterError

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
_CALIBRATION_ALPHA = 0.01  # Steck's smoothing of the list's distribution
_CHUNK = 1024  # rows re-ranked at once in a block
_POOL_STRIDE = 8  # a pool's bound comes from every 8th score of a wide row ...
_POOL_EXPECT = 3  # ... set so that about 3 times the pool reach it (see Reranker._pool)
_VECTOR_BYTES = 3 << 20  # the diversity greedy runs on rows whose vectors fill about this


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
        parts += [f"{name}={getattr(self, name)}" for name in _COUNTS
                  if getattr(self, name) is not None]
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
            known = sorted(_dataset_codes(dataset)[1])
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
    return {"categories": sorted(_dataset_codes(dataset)[1]), "tags": _tag_names(dataset.items)}


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
        raise ParameterError(
            f"{name} needs a whole number of users, 0 or more, got {value!r}."
        )
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
    raise ParameterError(
        f"No {what} {value!r} in {label}; the closest are {', '.join(close)}."
    )


# ------------------------------------------------------------------------------ the reranker
def pool_size(k: int, n_items: int) -> int:
    """How many of the model's best candidates a re-ranking chooses from: ``max(5 k, 50)``,
    at most the catalogue."""
    return int(min(n_items, max(5 * int(k), 50)))


class Reranker:
    """One re-ranking, prepared for one model and dataset (cheap to call many times).

    Parameters
    ----------
    settings : RerankSettings or str
        What to do (a string is parsed); checked against the dataset (:meth:`~RerankSettings.
        resolve`).
    model : Recommender
        Fitted; its item vectors (if any) are the diversity dial's similarity.
    dataset : Dataset
        Item ids, categories and tags for the filters and the category-based dials.
    interactions : csr_matrix, shape [n_users, n_items], optional
        What "popularity" counts (training users per item) and whose rows are the users'
        histories for calibration: the training part of a split when evaluating; default the
        model's attached ``user_items_``, else the dataset's interactions.

    Attributes
    ----------
    settings : RerankSettings
        Resolved against the dataset.
    popularity : ndarray of float64, shape [n_items]
        Training users per item.
    allowed : ndarray of bool, shape [n_items]
        Items the filters let through.
    blocked : ndarray of int64
        The others (``filter_items`` for the model's queries).
    similarity_source : str
        ``"vectors"``, ``"category"`` or ``"none"``: what the diversity dial compares.
    """

    def __init__(
        self,
        settings: RerankSettings | str | None,
        model: Any,
        dataset: Any,
        interactions: sp.csr_matrix | None = None,
    ) -> None:
        if not isinstance(settings, RerankSettings):
            settings = RerankSettings.parse(settings)
        self.settings = settings.resolve(dataset)
        self.model = model
        self.dataset = dataset
        self.n_items = int(dataset.n_items)
        if interactions is None:
            interactions = getattr(model, "user_items_", None)
        if interactions is None:
            interactions = dataset.interactions
        self.interactions = sp.csr_matrix(interactions)
        if self.interactions.shape[1] != self.n_items:
            raise ValueError(
                f"The interactions have {self.interactions.shape[1]:,} items but the dataset "
                f"has {self.n_items:,}; use the dataset the model was trained on."
            )
        counts = np.bincount(self.interactions.indices, minlength=self.n_items)
        self.popularity = counts.astype(np.float64)
        top = math.log1p(max(float(counts.max(initial=0)), 1.0))
        self._tail = (1.0 - np.log1p(self.popularity) / top).astype(np.float32)  # 1 = unseen
        self.codes, self.category_names = _dataset_codes(dataset)
        self.allowed = self._allowed(dataset)
        blocked = np.flatnonzero(~self.allowed).astype(np.int64)
        self.blocked = blocked if len(blocked) else None
        self._local = threading.local()  # per-thread work buffers of select
        self._vectors: np.ndarray | None = None
        self.similarity_source = "none"
        if self.settings.diversity > 0:
            self._vectors = _unit_vectors(model, self.n_items)
            if self._vectors is not None:
                self.similarity_source = "vectors"
            elif self.codes is not None:
                self.similarity_source = "category"
        # what every call asks, answered once (a property costs a microsecond a call)
        s = self.settings
        self._has_dials = s.has_dials
        self._popular = s.popularity > 0
        # the popularity term of the mix, float32 as ``popularity * tail[ids]`` computes it
        self._weighted_tail = s.popularity * self._tail if self._popular else None
        self._diversify = s.diversity > 0 and self.similarity_source != "none"
        self._calibrates = s.calibration > 0 and self.codes is not None
        self._n_codes = len(self.category_names)

    def __repr__(self) -> str:
        return f"Reranker({str(self.settings)!r}, {getattr(self.model, 'name', '?')})"

    # -------------------------------------------------------------- filters
    def _allowed(self, dataset: Any) -> np.ndarray:
        s = self.settings
        allowed = np.ones(self.n_items, dtype=bool)
        if s.only_categories or s.exclude_categories:  # names resolved: each has a code
            code_of = {name: code for code, name in enumerate(self.category_names)}
            if s.only_categories:
                allowed &= np.isin(self.codes, [code_of[n] for n in s.only_categories])
            if s.exclude_categories:
                allowed &= ~np.isin(self.codes, [code_of[n] for n in s.exclude_categories])
        if s.only_tags or s.exclude_tags:
            only, excluded = set(s.only_tags), set(s.exclude_tags)
            tags = dataset.items["tags"]
            if only:
                allowed &= np.fromiter((bool(only.intersection(t)) for t in tags), bool,
                                       count=self.n_items)
            if excluded:
                allowed &= np.fromiter((not excluded.intersection(t) for t in tags), bool,
                                       count=self.n_items)
        if s.exclude_items:
            allowed[dataset.item_indices(s.exclude_items)] = False
        if s.min_popularity is not None:
            allowed &= self.popularity >= s.min_popularity
        if s.max_popularity is not None:
            allowed &= self.popularity <= s.max_popularity
        return allowed

    # -------------------------------------------------------------- the model's queries
    def recommend(
        self, user_index: int, k: int = 10, *, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """``model.recommend(user_index, k)`` re-ranked: 1-D int64 indices and the model's
        float32 scores, in the re-ranked order (so scores need not decrease). Exactly k items
        when k allowed items are left."""
        model, k = self.model, int(k)
        if not self._has_dials:
            return model.recommend(user_index, k, exclude_seen=exclude_seen,
                                   filter_items=self.blocked)
        pool = min(self.n_items, max(5 * k, 50))  # pool_size(k, n_items), without a call
        ids, scores = model.recommend(user_index, pool, exclude_seen=exclude_seen,
                                      filter_items=self.blocked)
        target = None
        if self._calibrates:
            targets = self._every_target()
            user = int(user_index)
            if targets is not None:
                target = targets[user : user + 1]
            else:
                matrix = self.interactions
                target = self._target_of(
                    matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]])
        return self._one(ids, scores, k, target)

    def recommend_for_history(
        self,
        item_indices: np.ndarray,
        k: int = 10,
        *,
        weights: np.ndarray | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``model.recommend_for_history`` re-ranked (a new user: calibration follows the
        given history)."""
        k = int(k)
        fetch = self._fetch(k)
        ids, scores = self.model.recommend_for_history(
            item_indices, fetch, weights=weights, exclude_seen=exclude_seen
        )
        ids, scores = self._drop_blocked(ids, scores)
        target = None
        if self._calibrates:
            target = self._target_of(np.unique(np.asarray(item_indices, dtype=np.int64)))
        return self._one(ids, scores, k, target)

    def similar_items(self, item_index: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """``model.similar_items(item_index, k)`` re-ranked (calibration needs a user's history,
        so it does not apply here; the other dials and the filters do)."""
        k = int(k)
        ids, scores = self.model.similar_items(int(item_index), self._fetch(k))
        ids, scores = self._drop_blocked(ids, scores)
        return self._one(ids, scores, k, None, calibrate=False)

    def _fetch(self, k: int) -> int:
        """How many to ask a query without ``filter_items`` for: the pool (or k without
        dials) plus every blocked item, at most the catalogue."""
        wanted = pool_size(k, self.n_items) if self._has_dials else k
        extra = 0 if self.blocked is None else len(self.blocked)
        return int(min(self.n_items, wanted + extra))

    def _drop_blocked(self, ids: np.ndarray, scores: np.ndarray):
        if self.blocked is None:
            return ids, scores
        keep = self.allowed[ids]
        return ids[keep], scores[keep]

    def _one(self, ids, scores, k, target, *, calibrate: bool = True):
        """One list re-ranked: ``ids`` and ``scores`` a query's answer (best first, every entry
        a candidate), ``target`` [1, n_categories] or None. The same choices as
        :meth:`_rerank` of a one-row block, with arithmetic sized for one row: a few array
        operations where a block needs a few dozen, and the calibration greedy in plain
        Python over one head per category (one user's query pays microseconds per numpy
        call, so the count of calls is the cost)."""
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float32)
        diversify = self._diversify
        calibrate = calibrate and target is not None and self._calibrates
        m = len(ids)
        if m == 0 or not (self._popular or diversify or calibrate):
            return ids[:k], scores[:k]
        # relevance: min-max normalised (best first: the last score is the lowest)
        low, high = float(scores[-1]), float(scores[0])
        base = np.subtract(scores, low, dtype=np.float64)
        if high > low:
            base /= high - low
        else:
            base[:] = 1.0
        if self._popular:
            base *= 1.0 - self.settings.popularity
            base += self._weighted_tail.take(ids, mode="clip")
            order = np.argsort(-base, kind="stable")
            if not diversify and not calibrate:
                order = order[:k]
                return ids[order], scores[order]
            ids, scores, base = ids[order], scores[order], base[order]
        # (without the popularity term base is the normalised score: already in order)
        s, k = self.settings, min(int(k), m)
        calibration = s.calibration if calibrate else 0.0
        by_vectors = diversify and self.similarity_source == "vectors"
        codes = self.codes[ids] if calibrate or (diversify and not by_vectors) else None
        penalties = None
        if calibrate:  # one table of calibration terms for both passes
            penalties = _OnePenalties(target, codes, self._n_codes, calibration, k)
            if not penalties.active:
                penalties = None
        if by_vectors:
            vectors = self._vectors[ids]
            chosen = _greedy_vectors_one(base, k, s.diversity, vectors, calibration, penalties)
        else:
            chosen = _greedy_categories_one(base, k, s.diversity if diversify else 0.0, codes,
                                            calibration, penalties)
        if diversify:
            # never less diverse than the same list without the diversity dial
            plain = (_greedy_categories_one(base, k, 0.0, codes, calibration, penalties)
                     if calibrate else list(range(k)))
            similarity = (_Similarity(vectors=vectors[None]) if by_vectors
                          else _Similarity(codes=codes[None]))
            if similarity.spread_one(chosen) < similarity.spread_one(plain) - 1e-6:
                chosen = plain
        return ids[chosen], scores[chosen]

    # -------------------------------------------------------------- blocks (evaluation)
    def select(self, scores: np.ndarray, users: np.ndarray, k: int) -> np.ndarray:
        """The re-ranked top k of each row of a score block: what :func:`evaluation.evaluate`
        calls instead of its own top k.

        Parameters
        ----------
        scores : ndarray of float32, shape [b, n_items]
            The model's scores, items not to recommend (training items) at -inf. Blocked items
            are set to -inf in place.
        users : ndarray of int, shape [b]
            The rows of ``interactions`` the scores belong to (for calibration).
        k : int

        Returns
        -------
        ndarray of int64, shape [b, k]
            Item indices, -1 where fewer than k candidates are left.
        """
        from ..evaluation import _top_k

        if self.blocked is not None:
            scores[:, self.blocked] = -np.inf
        k = int(k)
        if not self._has_dials:
            return _top_k(scores, k)
        pool, pool_scores = self._pool(scores, pool_size(k, self.n_items))
        users = np.asarray(users, dtype=np.int64)
        out = np.full((len(pool), k), -1, dtype=np.int64)
        for first in range(0, len(pool), _CHUNK):  # bounded memory for the greedy's arrays
            part = slice(first, first + _CHUNK)
            target = self._target_rows(users[part]) if self._calibrates else None
            chosen = self._rerank(pool[part], pool_scores[part], k, target, True)
            picked = _along(pool[part], np.maximum(chosen, 0))
            out[part, : chosen.shape[1]] = np.where(chosen >= 0, picked, -1)
        return out

    def _pool(self, scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The m best items of each row, best first (ties: lower index), and their scores:
        int64 and float32 [b, m], -1 / -inf padding.

        A bound: the j-th best of every stride-th score (stride 8 on wide rows, j = 3m /
        stride, so about 3m scores of a row reach it; the sample is partitioned in a buffer
        kept per thread) is at most the row's m-th best whenever at least m scores reach it.
        Those candidates become one int64 key each, the negated score's order-preserving bits
        above the column (as in :mod:`recsys_core.util.topk`), so a partition and a sort of m
        keys give best first with ties by lower index. Rows where fewer than m scores (-inf
        and NaN never count) or more than 8m (ties) reach the bound take
        :func:`~recsys_core.util.topk.top_k`. (That function's own sampled bound, the k-th of
        every 16th score, needs rows 64 k wide, so a pool of 50 from 3,000 items would take
        its exact path, a partition of every row: the bound here, the 19th of every 8th,
        keeps a pool as cheap as evaluation's top 10.)
        """
        from ..util.topk import top_k

        b, n = scores.shape
        if m >= n or b == 0 or n >= 1 << 31:  # a column must fit in 32 bits
            return top_k(scores, m)
        stride = max(1, min(_POOL_STRIDE, n // (4 * m)))
        width = -(-n // stride)
        rank = m if stride == 1 else min(width, -(-_POOL_EXPECT * m // stride))
        sample, mask = self._buffers(b, width, n)
        np.copyto(sample, scores[:, ::stride])
        sample.partition(width - rank, axis=1)
        bound = np.maximum(sample[:, width - rank], np.finfo(np.float32).min)  # finite only
        np.greater_equal(scores, bound[:, None], out=mask)
        flat = np.flatnonzero(mask)
        rows = flat // n
        cols = flat - rows * n
        counts = np.bincount(rows, minlength=b)
        bad = (counts < m) | (counts > 8 * m)
        if bad.any():
            keep = ~bad[rows]
            flat, rows, cols = flat[keep], rows[keep], cols[keep]
            counts[bad] = 0
        starts = np.cumsum(counts) - counts
        within = np.arange(len(rows)) - starts[rows]
        keys = np.full((b, max(int(counts.max(initial=0)), m)), np.iinfo(np.int64).max,
                       dtype=np.int64)
        keys[rows, within] = (
            _ordered_bits(np.negative(scores.take(flat, mode="clip")) + np.float32(0.0)) << 32
        ) | cols
        if keys.shape[1] > m:
            keys.partition(m - 1, axis=1)
            keys = keys[:, :m]
        keys.sort(axis=1)
        pool = keys & 0xFFFFFFFF
        if bad.any():
            pool[bad] = top_k(scores[bad], m)[0]
        return pool, _gather(scores, pool)

    def _buffers(self, b: int, width: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Work arrays of :meth:`_pool`, kept per thread (a new block-sized array per block
        costs more in page faults than the work): float32 [b, width], bool [b, n]."""
        found = getattr(self._local, "buffers", None)
        if found is None or found[0].size < b * width or found[1].size < b * n:
            found = (np.empty(b * width, np.float32), np.empty(b * n, bool))
            self._local.buffers = found
        return found[0][: b * width].reshape(b, width), found[1][: b * n].reshape(b, n)

    # -------------------------------------------------------------- the dials
    def _target(self, history: sp.csr_matrix) -> np.ndarray:
        """Each history row's category distribution, float64 [b, n_categories] (rows of 0
        for a history without a categorised item)."""
        history = sp.csr_matrix(history)
        n_codes = len(self.category_names)
        row_of = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
        codes = self.codes[history.indices]
        known = codes >= 0
        counts = np.bincount(row_of[known] * n_codes + codes[known],
                             minlength=history.shape[0] * n_codes).astype(np.float64)
        counts = counts.reshape(history.shape[0], n_codes)
        total = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)

    def _every_target(self) -> np.ndarray | None:
        """Every user's :meth:`_target`, float64 [n_users, n_categories], computed in one
        pass over the interactions once this reranker has answered a few users (a reranker
        the app keeps; a command line's asks once) and if it takes at most 64 MB; else None
        (each query computes its own)."""
        found = getattr(self, "_targets", None)
        if found is None:
            self._asked = getattr(self, "_asked", 0) + 1
            n_users = self.interactions.shape[0]
            if self._asked > 8 and n_users * max(len(self.category_names), 1) <= 1 << 23:
                found = self._target_rows(np.arange(n_users))
                found.setflags(write=False)
                self._targets = found
        return found

    def _target_rows(self, users: np.ndarray) -> np.ndarray:
        """:meth:`_target` of some rows of ``interactions`` (the same numbers, without
        building their matrix)."""
        matrix = self.interactions
        starts, ends = matrix.indptr[users], matrix.indptr[users + 1]
        lengths = ends - starts
        n_codes = len(self.category_names)
        row_of = np.repeat(np.arange(len(users)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        codes = self.codes.take(matrix.indices.take(np.repeat(starts, lengths) + offsets,
                                                    mode="clip"), mode="clip")
        known = codes >= 0
        counts = np.bincount(row_of[known] * n_codes + codes[known],
                             minlength=len(users) * n_codes).astype(np.float64)
        counts = counts.reshape(len(users), n_codes)
        total = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)

    def _target_of(self, history: np.ndarray) -> np.ndarray:
        """:meth:`_target` of one history given as item indices: float64 [1, n_categories]."""
        codes = self.codes[history]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.category_names))
        counts = counts.astype(np.float64)[None, :]
        total = counts.sum()
        return counts / total if total > 0 else counts

    def _rerank(
        self,
        ids: np.ndarray,
        scores: np.ndarray,
        k: int,
        target: np.ndarray | None,
        calibrate: bool,
    ) -> np.ndarray:
        """Positions (into each row of ``ids``) of the k items chosen, in order; -1 padding.

        ``ids`` [b, m] are the model's best candidates, best first (-1 padding), ``scores``
        their scores (-inf padding).
        """
        s = self.settings
        valid = (ids >= 0) & np.isfinite(scores)
        full = bool(valid.all())
        k = min(int(k), ids.shape[1])
        # relevance: the pool's scores, min-max normalised per row (scale-free, any sign)
        if full:  # best first: the first score is the highest, the last the lowest
            low = scores[:, -1:].astype(np.float64)
            high = scores[:, :1].astype(np.float64)
        else:
            low = np.where(valid, scores, np.inf).min(axis=1, keepdims=True).astype(np.float64)
            high = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True).astype(
                np.float64)
        spread = high - low
        with np.errstate(invalid="ignore", divide="ignore"):
            base = np.subtract(scores, low, dtype=np.float64)
            base /= spread
        flat = ~(spread[:, 0] > 0)
        if not full:
            base[~valid] = 1.0
        if flat.any():
            base[flat] = 1.0
        if self._popular:
            base *= 1.0 - s.popularity
            base += self._weighted_tail.take(ids if full else np.maximum(ids, 0), mode="clip")
        if not full:
            base[~valid] = -np.inf
        diversify = self._diversify
        calibrate = calibrate and target is not None and self._calibrates
        # rows in the order of base, ties by position; without the popularity term base is the
        # normalised score, which never rises along a row (scores best first, -inf padding
        # last, and rounding keeps order), so that order is the row's own
        order = _stable_order(base) if self._popular else None
        if not diversify and not calibrate:
            order = order[:, :k] if order is not None else np.arange(k)[None, :].repeat(
                len(base), axis=0)
            return order if full else np.where(_along(valid, order), order, -1)
        # greedy: rows sorted by base first, so ties go to the better base
        if order is not None:
            base = _along(base, order)
            ids = _along(ids, order)
            if not full:
                valid = _along(valid, order)
        calibration = s.calibration if calibrate else 0.0
        by_vectors = diversify and self.similarity_source == "vectors"
        safe = ids if full else np.maximum(ids, 0)
        codes = self.codes.take(safe, mode="clip") if calibrate or (
            diversify and not by_vectors) else None
        if not by_vectors:
            chosen = _greedy_categories(base, valid, k, s.diversity if diversify else 0.0,
                                        codes, self._n_codes, calibration, target)
            if not diversify:
                return chosen if order is None else np.where(
                    chosen >= 0, _along(order, np.maximum(chosen, 0)), -1)
        # never less diverse than the same list without the diversity dial (with
        # calibration: the calibrated list, chosen in the same pass over vectors)
        plain = None
        if not calibrate:
            plain = np.arange(k)[None, :].repeat(len(base), axis=0)
            if not valid[:, k - 1].all():
                plain[~valid[:, :k]] = -1
        if not by_vectors:
            if plain is None:
                plain = _greedy_categories(base, valid, k, 0.0, codes, self._n_codes,
                                           calibration, target)
            similarity = _Similarity(codes=codes if full else np.where(valid, codes, -1))
            worse = similarity.spread(chosen) < similarity.spread(plain) - 1e-6
            chosen[worse] = plain[worse]
        else:
            # rows a few hundred at a time: their candidates' vectors stay in cache through
            # the k steps (a whole block's are megabytes)
            chosen = np.empty((len(base), k), dtype=np.int64)
            rows = max(16, _VECTOR_BYTES // (4 * safe.shape[1] * self._vectors.shape[1]))
            for first in range(0, len(base), rows):
                part = slice(first, first + rows)
                vectors = self._candidate_vectors(safe[part])
                found = _greedy_vectors(
                    base[part], valid[part], k, s.diversity, vectors, calibration,
                    None if target is None else target[part],
                    None if codes is None else codes[part], with_plain=calibrate)
                if calibrate:
                    mine, spread, theirs, plain_spread = found
                else:
                    (mine, spread), theirs = found, plain[part]
                    plain_spread = (_Similarity(vectors=vectors).spread_first(k)
                                    if valid[part, k - 1].all()
                                    else _Similarity(vectors=vectors).spread(theirs))
                worse = spread < plain_spread - 1e-6
                if worse.any():
                    mine[worse] = theirs[worse]
                chosen[part] = mine
        if order is None:
            return chosen
        return np.where(chosen >= 0, _along(order, np.maximum(chosen, 0)), -1)

    def _candidate_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The unit vectors of a block's candidates, float32 [b, m, d], gathered into a buffer
        kept per thread (a new array of this size per block costs its page faults)."""
        b, m = ids.shape
        d = self._vectors.shape[1]
        found = getattr(self._local, "vectors", None)
        if found is None or found.size < b * m * d:
            found = np.empty(b * m * d, np.float32)
            self._local.vectors = found
        out = found[: b * m * d].reshape(b, m, d)
        return np.take(self._vectors, ids, axis=0, out=out, mode="clip")

    def _similarity(self, ids: np.ndarray, valid: np.ndarray | None) -> _Similarity:
        safe = np.maximum(ids, 0) if valid is not None else ids
        if self.similarity_source == "vectors":
            return _Similarity(vectors=self._vectors[safe])
        codes = self.codes[safe]
        return _Similarity(codes=np.where(valid, codes, -1) if valid is not None else codes)


class _Similarity:
    """Similarities within each row's candidates: the cosine of the model's item vectors
    (``vectors`` float32 [b, m, d], unit rows), or 1 for two items of the same category
    (``codes`` int [b, m], -1: none)."""

    def __init__(self, *, vectors: np.ndarray | None = None, codes: np.ndarray | None = None):
        self.vectors, self.codes = vectors, codes

    def spread_one(self, chosen: Sequence[int] | np.ndarray) -> float:
        """:meth:`spread` of one row's chosen positions (1-D, no padding)."""
        n = len(chosen)
        if n < 2:
            return 0.0
        if self.vectors is not None:
            total = self.vectors[0][chosen].sum(axis=0, dtype=np.float64)
            same = float(total @ total) - n
        else:
            codes = self.codes[0][chosen]
            codes = codes[codes >= 0]
            same = float((np.bincount(codes).astype(np.float64) ** 2).sum()) - len(codes)
        return 1.0 - same / (n * (n - 1.0))

    def spread_first(self, k: int) -> np.ndarray:
        """:meth:`spread` of the first k positions of every row (all candidates)."""
        if self.vectors is not None:
            total = self.vectors[:, :k].sum(axis=1, dtype=np.float64)
            return _spread_of(total, np.full(len(total), float(k)))
        return self.spread(np.arange(k)[None, :].repeat(len(self.codes), axis=0))

    def spread(self, chosen: np.ndarray) -> np.ndarray:
        """Mean (1 - similarity) over the pairs of each row's chosen positions, float64 [b]
        (0 for fewer than two). Without building the pairs: for unit vectors the sum of
        ``v_i . v_j`` over pairs is ``|sum v|^2 - n``; for categories, of ``[c_i == c_j]``,
        ``sum over categories of count^2 - n`` (items without one are never similar)."""
        valid = chosen >= 0
        n = valid.sum(axis=1).astype(np.float64)
        rows = np.arange(len(chosen))[:, None]
        safe = np.maximum(chosen, 0)
        if self.vectors is not None:  # one gather, then the sum in float64, row after row
            b, m, d = self.vectors.shape
            picked = np.take(self.vectors.reshape(b * m, d), rows * m + safe, axis=0,
                             mode="clip")  # [b, k, d]
            if not valid.all():
                picked *= valid[:, :, None]
            return _spread_of(picked.sum(axis=1, dtype=np.float64), n)
        codes = np.where(valid, self.codes[rows, safe], -1)
        known = codes >= 0
        width = int(codes.max(initial=0)) + 1
        flat = (rows * width + codes)[known]
        counts = np.bincount(flat, minlength=len(chosen) * width).astype(np.float64)
        same = (counts**2).reshape(len(chosen), width).sum(axis=1) - known.sum(axis=1)
        pairs = n * (n - 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs > 0, 1.0 - same / np.maximum(pairs, 1.0), 0.0)


def _spread_of(total: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean (1 - cosine) over the pairs of n unit vectors whose sum (float64) is ``total``:
    ``1 - (|total|^2 - n) / (n (n - 1))``, 0 for fewer than two. float64 [b]."""
    same = np.einsum("bd,bd->b", total, total) - n
    pairs = n * (n - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, 1.0 - same / np.maximum(pairs, 1.0), 0.0)


def _stable_order(base: np.ndarray) -> np.ndarray:
    """``np.argsort(-base, axis=1, kind="stable")``, faster: the default sort (several times
    faster on short rows) gives the same order wherever a row has no two equal values, so
    only rows with a tie are sorted again, stably."""
    negated = -base
    order = np.argsort(negated, axis=1)
    ranked = _along(negated, order)
    tied = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(negated[tied], axis=1, kind="stable")
    return order


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """float32 without NaN or ``-0.0`` -> int64 in the same order."""
    bits = values.view(np.int32).astype(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)


def _along(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``np.take_along_axis(values, positions, axis=1)`` for positions known to be in range
    (each row's, of a C-contiguous [b, m] array): one flat take without a bounds check
    (``mode="clip"``), several times faster on the greedy's small rows."""
    b, m = values.shape
    return np.take(values, positions + (np.arange(b) * m)[:, None], mode="clip")


def _gather(scores: np.ndarray, pool: np.ndarray) -> np.ndarray:
    values = _along(scores, np.maximum(pool, 0))
    return np.where(pool >= 0, values, -np.inf).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------- the greedy
# Every greedy below picks, k times, the open candidate maximising
#
#     (1 - c) * ((1 - d) * base[i] - d * max_{j chosen} sim(i, j)) - c * KL(target || list + i)
#
# (d = diversity, c = calibration; the max term from the second pick on, the KL term only with
# calibration), the first in the row's order on ties (rows are sorted by base). They compute
# each gain with the same floating-point operations in the same order, so they choose alike:
# ``relevance + closed - weight * nearest - penalty``, with relevance = base * (1 - d)(1 - c),
# weight = d (1 - c), nearest the max similarity so far and penalty the calibration term
# (:class:`_Calibration`). Keeping ``weight * nearest`` instead of ``nearest`` changes no bit:
# multiplying by a positive number preserves order, so max(w a, w b) = w max(a, b) exactly.
def _greedy_vectors(
    base: np.ndarray,
    valid: np.ndarray,
    k: int,
    diversity: float,
    vectors: np.ndarray,
    calibration: float,
    target: np.ndarray | None,
    codes: np.ndarray | None,
    with_plain: bool = False,
) -> tuple[np.ndarray, ...]:
    """The greedy of a block over the cosine of item vectors (maximal marginal relevance,
    with calibration in the same pass).

    Parameters
    ----------
    base : float64 [b, m]
        Each row sorted, best first; -inf where not ``valid``.
    valid : bool [b, m]
    vectors : float32 [b, m, d]
        The candidates' unit vectors.
    target : float64 [b, n_codes] or None
        History distributions (calibration only).
    codes : int [b, m] or None
        The candidates' categories, -1 for none (calibration only).
    with_plain : bool
        Also choose the lists without the diversity term (what the diversity check compares
        with): the same greedy on b more rows in the same loop, so the numpy calls of a step
        serve both (the matrix products only the first b).

    Returns
    -------
    chosen : int64 [b, k]
        Positions, -1 where a row runs out of candidates.
    spread : float64 [b]
        :meth:`_Similarity.spread` of the chosen lists, from the vectors the greedy gathered
        anyway (summed in the same order, so the same bits).
    plain, plain_spread
        The same for the lists without the diversity term (``with_plain`` only).
    """
    b, m = base.shape
    weight = diversity * (1.0 - calibration)
    every = bool(valid[:, k - 1].all())  # every row has k candidates: each step picks in each
    # relevance + closed: -inf once closed
    open_gain = np.where(valid, base, 0.0) * ((1.0 - diversity) * (1.0 - calibration))
    if with_plain:
        plain_gain = np.where(valid, base, 0.0) * ((1.0 - 0.0) * (1.0 - calibration))
        open_gain = np.concatenate([open_gain, plain_gain])
        valid = np.concatenate([valid, valid])
        if target is not None:
            target, codes = np.concatenate([target, target]), np.concatenate([codes, codes])
    open_gain[~valid] = -np.inf
    rows = np.arange(len(open_gain))
    row_positions = rows * m
    open_cells = open_gain.ravel()
    flat_vectors = vectors.reshape(b * m, vectors.shape[2])
    calibrated = _Calibration(target, codes, calibration) if calibration > 0 else None
    cells = calibrated.cells.ravel() if calibrated is not None else None
    nearest = None  # [b, m]: weight * the max similarity to the chosen ones
    gain = np.empty(open_gain.shape)
    scaled = np.empty((b, m))
    total = np.zeros((len(rows), vectors.shape[2]))  # the sum of the chosen vectors
    n = np.zeros(len(rows))
    vector_positions = row_positions if not with_plain else np.tile(row_positions[:b], 2)
    chosen = np.full((len(rows), k), -1, dtype=np.int64)
    for step in range(k):
        term = calibrated.penalty() if calibrated is not None else None
        if nearest is None:
            if term is None:
                np.copyto(gain, open_gain)
            else:
                np.subtract(open_gain, term, out=gain)
        else:
            np.subtract(open_gain[:b], nearest, out=gain[:b])
            if term is not None:
                gain[:b] -= term[:b]
                if with_plain:  # no diversity term there: relevance + closed - penalty
                    np.subtract(open_gain[b:], term[b:], out=gain[b:])
        pick = gain.argmax(axis=1)
        picked = np.take(flat_vectors, vector_positions + pick, axis=0, mode="clip")
        if every:
            live, live_pick = rows, pick
            total += picked
            n += 1.0
            chosen[:, step] = pick
        else:
            ok = gain[rows, pick] > -np.inf
            if not ok.any():
                break
            live, live_pick = rows[ok], pick[ok]
            total[live] += picked[live]
            n[live] += 1.0
            chosen[live, step] = live_pick
        if step + 1 == k:  # the last pick: nothing more to update
            break
        open_cells[row_positions[live] + live_pick] = -np.inf
        # rows out of candidates get a similarity too: all their gains are -inf, unread
        near = np.matmul(vectors, picked[:b, :, None])[:, :, 0]
        if nearest is None:
            nearest = np.multiply(near, weight, dtype=np.float64)
        else:
            np.multiply(near, weight, out=scaled, dtype=np.float64)
            np.maximum(nearest, scaled, out=nearest)
        if calibrated is not None:
            calibrated.add_cells(cells.take(row_positions[live] + live_pick, mode="clip"))
    spread = _spread_of(total, n)
    if with_plain:
        return chosen[:b], spread[:b], chosen[b:], spread[b:]
    return chosen, spread


def _greedy_categories(
    base: np.ndarray,
    valid: np.ndarray,
    k: int,
    diversity: float,
    codes: np.ndarray,
    n_codes: int,
    calibration: float,
    target: np.ndarray | None,
) -> np.ndarray:
    """The greedy of a block when similarity is "same category" (1, or 0 for an item without
    one) or there is no diversity term: calibration alone, or diversity by categories.

    Then a candidate's gain depends on it only through its relevance and its category, and
    relevance falls along a row, so the best candidate of a category is its first open one:
    each step compares one head per category ([b, n_codes + 1], the last column for items
    without a category) instead of every candidate, and the tie rule (the first position)
    becomes the lowest head position among the best gains. Arguments as
    :func:`_greedy_vectors` (``codes`` [b, m] required); returns int64 [b, k] positions.
    """
    b, m = base.shape
    rows = np.arange(b)
    width = n_codes + 1
    column = np.where(codes >= 0, codes, n_codes)
    column[~valid] = width  # past the last column: never a head
    # positions by column, in order: one sort of unique keys (column * m + position)
    keys = column * m
    keys += np.arange(m)
    keys.sort(axis=1)
    grouped = (keys % m).ravel()  # row * m + i: the i-th position of the row by column
    column = column.ravel()
    found = np.bincount((rows[:, None] * (width + 1) + column.reshape(b, m)).ravel(),
                        minlength=b * (width + 1)).reshape(b, width + 1)
    # the per-category arrays are [width, b], a column's rows side by side, so the step's
    # max and min run across rows (a reduction over 13 values per row is slow in numpy):
    # cell = column * b + row
    counts = np.ascontiguousarray(found[:, :width].T).ravel()
    starts = np.ascontiguousarray((np.cumsum(found, axis=1) - found)[:, :width].T).ravel()
    row_positions = rows * m
    cell_positions = np.tile(row_positions, width)  # each cell's row * m
    taken = np.zeros(width * b, dtype=np.int64)
    relevance = (np.where(valid, base, 0.0) * ((1.0 - diversity) * (1.0 - calibration))).ravel()
    head_position = grouped[cell_positions + np.minimum(starts, m - 1)]
    head = np.where(counts > 0, relevance[cell_positions + head_position], -np.inf)
    heads, positions = head.reshape(width, b), head_position.reshape(width, b)
    weight = diversity * (1.0 - calibration)
    seen = np.zeros(width * b) if diversity > 0 else None  # 1: the category is in the list
    calibrated = _Calibration(target, codes, calibration) if calibration > 0 else None
    chosen = np.full((b, k), -1, dtype=np.int64)
    gain = np.empty((width, b))
    tied = np.empty((width, b), dtype=np.int64)
    for step in range(k):
        np.copyto(gain, heads)
        if seen is not None and step:
            gain -= weight * seen.reshape(width, b)
        if calibrated is not None:
            gain -= calibrated.columns()
        best = gain.max(axis=0)
        np.copyto(tied, m)
        np.copyto(tied, positions, where=gain == best)
        position = tied.min(axis=0)  # the first position among the best gains
        ok = best > -np.inf
        if ok.all():
            live = rows
        elif not ok.any():
            break
        else:
            live, position = rows[ok], position[ok]
        chosen[live, step] = position
        offsets = row_positions if live is rows else row_positions[live]
        pick = column.take(offsets + position, mode="clip")
        cell = pick * b
        cell += live
        count = taken.take(cell, mode="clip")
        count += 1
        taken[cell] = count
        following = grouped.take(
            offsets + np.minimum(starts.take(cell, mode="clip") + count, m - 1), mode="clip")
        head_position[cell] = following
        head[cell] = np.where(count < counts.take(cell, mode="clip"),
                              relevance.take(offsets + following, mode="clip"), -np.inf)
        if seen is not None:
            seen[cell] = pick < n_codes
        if calibrated is not None:
            calibrated.add_cells(cell)
    return chosen


def _greedy_vectors_one(
    base: np.ndarray,
    k: int,
    diversity: float,
    vectors: np.ndarray,
    calibration: float,
    penalties: _OnePenalties | None,
) -> list[int]:
    """:func:`_greedy_vectors` for one row (``base`` 1-D, sorted, every entry a candidate,
    k at most its length; ``vectors`` [m, d]; the calibration terms from ``penalties``, None
    without): the same gains from the same operations (the same matrix-vector product per
    pick), so the same choices."""
    m = len(base)
    open_gain = base * ((1.0 - diversity) * (1.0 - calibration))
    weight = diversity * (1.0 - calibration)
    if penalties is not None:
        terms, columns = penalties.terms, penalties.candidate_columns()
        every_column = np.arange(penalties.zero + 1)
        column_counts = np.zeros(penalties.zero + 1, dtype=np.int64)
        codes = penalties.codes.tolist()
        none = penalties.codes < 0 if penalties.with_none else None
        counts = np.zeros((1, penalties.n_codes))
        n = 0

        def _term() -> np.ndarray:  # each candidate's calibration term now
            term = terms[n][column_counts, every_column].take(columns)
            if none is not None:
                term[none] = penalties.none_term(counts, n)
            return term
    nearest = None
    gain = np.empty(m)
    scaled = np.empty(m)
    chosen: list[int] = []
    for step in range(k):
        if nearest is None:
            if penalties is None:  # the first pick: the best base (the row is in its order)
                pick = 0
            else:
                np.subtract(open_gain, _term(), out=gain)
                pick = int(gain.argmax())
        else:
            np.subtract(open_gain, nearest, out=gain)
            if penalties is not None:
                gain -= _term()
            pick = int(gain.argmax())
        chosen.append(pick)
        open_gain[pick] = -np.inf
        if step + 1 < k:
            near = vectors @ vectors[pick]
            if nearest is None:
                nearest = np.multiply(near, weight, dtype=np.float64)
            else:
                np.multiply(near, weight, out=scaled, dtype=np.float64)
                np.maximum(nearest, scaled, out=nearest)
        if penalties is not None:
            code = codes[pick]
            if code >= 0:
                n += 1
                counts[0, code] += 1.0
                column = penalties.column_of.get(code)
                if column is not None:
                    column_counts[column] += 1
    return chosen


def _greedy_categories_one(
    base: np.ndarray,
    k: int,
    diversity: float,
    codes: np.ndarray,
    calibration: float,
    penalties: _OnePenalties | None,
) -> list[int]:
    """:func:`_greedy_categories` for one row, in plain Python over one head per category (a
    handful of floats a step: cheaper than a dozen numpy calls). The same gains from the
    same operations (the calibration terms looked up in ``penalties``' table; None: no
    calibration), so the same choices. Returns the chosen positions."""
    relevance = (base * ((1.0 - diversity) * (1.0 - calibration))).tolist()
    queues: dict[int, list[int]] = {}
    for position, code in enumerate(codes.tolist()):
        queue = queues.get(code)
        if queue is None:
            queues[code] = [position]
        else:
            queue.append(position)
    # one slot per category present (-1: items without one), with its queue in order; the
    # count of a category in the list is the count taken from its queue
    slots = list(queues.items())
    taken = [0] * len(slots)
    heads = [relevance[queue[0]] for _, queue in slots]
    weight = diversity * (1.0 - calibration)
    similar = [0.0] * len(slots)  # weight once the slot's category is in the list
    if penalties is not None:
        table = penalties.table
        columns = [penalties.column_of.get(code, penalties.zero) for code, _ in slots]
        none_slot = next((i for i, (code, _) in enumerate(slots) if code < 0), None)
        if none_slot is not None:
            counts = np.zeros((1, penalties.n_codes))
    n = 0  # categorised items in the list
    chosen: list[int] = []
    for step in range(k):
        if penalties is None:
            gains = [h - w for h, w in zip(heads, similar)] if step and weight else heads
        else:
            terms = table[n]
            if step and weight:
                gains = [h - w - terms[c][j]
                         for h, w, c, j in zip(heads, similar, taken, columns)]
            else:
                gains = [h - terms[c][j] for h, c, j in zip(heads, taken, columns)]
            if none_slot is not None:
                gains[none_slot] = (heads[none_slot] - similar[none_slot] if step and weight
                                    else heads[none_slot]) - penalties.none_term(counts, n)
        best = max(gains)
        if best == -math.inf:
            break
        slot = gains.index(best)
        if gains.count(best) > 1:  # a tie: the first position wins
            slot = min((slots[i][1][taken[i]], i) for i, g in enumerate(gains) if g == best)[1]
        code, queue = slots[slot]
        chosen.append(queue[taken[slot]])
        taken[slot] += 1
        heads[slot] = relevance[queue[taken[slot]]] if taken[slot] < len(queue) else -math.inf
        if code >= 0:
            similar[slot] = weight
            n += 1
            if penalties is not None and none_slot is not None:
                counts[0, code] += 1.0
    return chosen


class _Calibration:
    """Steck's calibration term of the greedy for a block of rows, one step at a time.

    ``penalty()`` is, for each candidate, ``c * KL(p || q~)`` of the list with that candidate
    added, up to a constant per row (no choice changes it): ``q~ = (1 - a) q + a p`` (Steck's
    smoothing, a = 0.01, so KL stays finite), p the history's categories, q the list's. Adding
    an item of category j changes only the j-th term of the cross entropy, by
    ``-p_j log(1 + s / A_j)`` (A the smoothed counts over n + 1, s = (1 - a) / (n + 1)); an item
    without a category changes n + 1 back to n in every term (computed only when some
    candidate has none). Rows whose history has no categorised item get no penalty.

    Parameters
    ----------
    target : float64 [b, n_codes]
        Each row's history distribution (rows of 0: none).
    codes : int [b, m]
        The candidates' categories (-1: none).
    """

    def __init__(self, target: np.ndarray, codes: np.ndarray, calibration: float) -> None:
        a = _CALIBRATION_ALPHA
        b, n_codes = target.shape
        self.b = b
        self.target = target
        # [n_codes, b]: a category's rows side by side (the greedies reduce across rows)
        by_column = np.ascontiguousarray(target.T)
        self.scale = np.where(by_column.sum(axis=0) > 0, calibration, 0.0)  # [b]
        self.weight = -by_column * self.scale  # -c p_j
        self.smoothed = a * by_column + (by_column == 0)  # 1 where p_j = 0: logs stay finite
        # the list's count of each category, and a last row for items without one (counted
        # there, never read): a chosen candidate's cell is the same in counts and in ``out``
        self.tally = np.zeros((n_codes + 1, b))
        self.counts = self.tally[:-1]
        self.n = np.zeros((1, b))
        self.codes = codes
        self.cells = codes % (n_codes + 1)  # -1 (no category) to the last row
        self.cells *= b
        self.cells += np.arange(b)[:, None]
        self.taken = np.empty(codes.shape)
        self.after = np.empty((n_codes, b))
        self.part = np.empty((n_codes, b))
        self.out = np.zeros((n_codes + 1, b))
        # The logarithm is the cost, so it is taken only where a term can differ from 0 and
        # be read: a category of the history (weight not 0) that a candidate of the row has.
        # Every other term that can be read is log1p(x) * -0.0 = -0.0 (the weight there is
        # -0.0), at every step.
        present = np.zeros(self.tally.size, dtype=bool)  # a candidate of the row has it
        present[self.cells] = True
        needed = (self.weight != 0).ravel() & present[: n_codes * b]
        self.out[:-1] = -0.0
        self.needed: tuple[np.ndarray, np.ndarray] | None = None
        cells = np.flatnonzero(needed)  # the same cell of ``part`` and of ``out``
        if len(cells) < 0.75 * len(needed):  # else every term, in place (fewer calls)
            self.needed = (cells, self.weight.ravel().take(cells))
        self.with_none = bool(codes.min(initial=0) < 0)
        if self.with_none:
            none = np.flatnonzero((codes < 0).any(axis=1))  # rows with a candidate without one
            self.none_rows = none
            self.smoothed_rows = a * target[none] + (target[none] == 0)

    def columns(self) -> np.ndarray:
        """float64 [n_codes + 1, b]: the penalty of adding an item of each category (the
        last row: an item without one) to each row's list."""
        a = _CALIBRATION_ALPHA
        share = (1.0 - a) / (self.n + 1.0)
        after, part = self.after, self.part
        np.multiply(self.counts, share, out=after)
        after += self.smoothed
        np.divide(share, after, out=part)
        if self.needed is None:
            terms = self.out[:-1]
            np.log1p(part, out=terms)
            terms *= self.weight
        else:
            cells, weight = self.needed
            terms = part.ravel().take(cells)
            np.log1p(terms, out=terms)
            terms *= weight
            self.out.ravel()[cells] = terms
        if self.with_none:  # row by row as the one-row greedy sums it (the same bits)
            rows = self.none_rows
            self.out[-1, rows] = _none_penalty(
                self.target[rows], np.ascontiguousarray(self.counts[:, rows].T),
                self.n[:, rows].T, np.ascontiguousarray(after[:, rows].T),
                self.smoothed_rows) * self.scale[rows]
        return self.out

    def penalty(self) -> np.ndarray:
        """float64 [b, m]: each candidate's calibration penalty (subtract from its gain)."""
        return np.take(self.columns(), self.cells, out=self.taken, mode="clip")

    def add(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Count the category of the item just chosen in each of ``rows`` (-1: none)."""
        width = self.counts.shape[0]
        self.add_cells(np.where(codes >= 0, codes, width) * self.b + rows)

    def add_cells(self, cells: np.ndarray) -> None:
        """Count the items just chosen, given by their cells (``self.cells`` of the chosen
        candidates: one per row, no row twice)."""
        tally = self.tally.ravel()
        tally[cells] += 1.0
        known = cells < self.counts.size  # not the last row: a category
        n = self.n.ravel()
        if known.all():
            if len(cells) == self.b:
                n += 1.0
            else:
                n[cells % self.b] += 1.0
        else:
            n[cells[known] % self.b] += 1.0


def _none_penalty(target, counts, n, after, smoothed) -> np.ndarray:
    """The calibration term of adding an item without a category: n + 1 back to n in every
    term of the cross entropy. float64 [b] (before the dial's scale)."""
    unchanged = counts * ((1.0 - _CALIBRATION_ALPHA) / np.maximum(n, 1.0)) + smoothed
    change = target * (np.log(after) - np.log(unchanged))
    return change.sum(axis=1)


_SHARES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _shares(k: int) -> tuple[np.ndarray, np.ndarray]:
    """For n, c = 0..k-1: ``share(n) = (1 - a) / (n + 1)`` [k, 1, 1] and ``c * share(n)``
    [k, k, 1], as :meth:`_Calibration.columns` computes them (kept per k)."""
    found = _SHARES.get(k)
    if found is None:
        steps = np.arange(k, dtype=np.float64)
        share = ((1.0 - _CALIBRATION_ALPHA) / (steps + 1.0))[:, None, None]
        found = (share, steps[None, :, None] * share)
        for array in found:
            array.setflags(write=False)
        _SHARES[k] = found
    return found


class _OnePenalties:
    """:class:`_Calibration` for one row, as the one-row greedies use it: every category
    term the greedy can read, for every (items counted so far, of them in the category), in
    one array computation with :meth:`_Calibration.columns`' operations on the same values
    (so the same bits), kept as nested lists to look up per step. Only the categories of the
    history among the candidates have a term (the others' is -0.0, and reads as 0.0 here).
    The term of an item without a category depends on every count, so it is computed at
    each step, and only when a candidate has none. The greedies keep their own counts, so
    one table serves both passes of a list.

    ``active`` is False for a history without a categorised item (no penalty at all).

    Attributes
    ----------
    table : list
        ``table[n][c][column_of[j]]``: the term of category j after n categorised items, c
        of them in j; ``table[n][c][zero]`` is 0.0. ``terms`` holds the same, float64
        [k, k, zero + 1].
    """

    def __init__(self, target: np.ndarray, codes: np.ndarray, n_codes: int,
                 calibration: float, k: int, present: Iterable[int] | None = None) -> None:
        history = target[0].tolist()
        self.active = any(history)
        if not self.active:
            return
        if present is None:
            present = np.unique(codes).tolist()
        wanted = [j for j in present if j >= 0 and history[j] > 0]
        self.column_of = {j: i for i, j in enumerate(wanted)}
        self.zero = len(wanted)
        share = _shares(k)
        p = target[:, wanted]  # [1, j], every p_j > 0: smoothed = a p + 0, weight = -c p
        # after[n, c, j] = c * share(n) + smoothed_j, share(n) = (1 - a) / (n + 1)
        after = share[1] + (_CALIBRATION_ALPHA * p)[None]  # [k, k, j]
        terms = np.zeros((k, k, self.zero + 1))
        part = terms[:, :, : self.zero]
        np.divide(share[0], after, out=part)
        np.log1p(part, out=part)
        part *= p * -calibration
        self.terms = terms
        self.table = terms.tolist()
        self.codes = codes
        self.n_codes = n_codes
        self.with_none = min(present) < 0
        if self.with_none:
            self.target, self.calibration = target, calibration
            self.smoothed = _CALIBRATION_ALPHA * target + (target == 0)
        self._columns: np.ndarray | None = None

    def candidate_columns(self) -> np.ndarray:
        """Each candidate's column of the table, int64 [m] (``zero`` for no term)."""
        if self._columns is None:
            self._columns = np.array(
                [self.column_of.get(c, self.zero) for c in self.codes.tolist()], np.int64)
        return self._columns

    def none_term(self, counts: np.ndarray, n: int) -> float:
        """The term of an item without a category, the list holding ``counts`` float64
        [1, n_codes] of each category (n in all)."""
        a = _CALIBRATION_ALPHA
        n_ = np.full((1, 1), float(n))
        after = counts * ((1.0 - a) / (n_ + 1.0))
        after += self.smoothed
        return float(_none_penalty(self.target, counts, n_, after, self.smoothed)[0]
                     * self.calibration)

    def by_column(self, counts: np.ndarray, n: int) -> list[float]:
        """The terms of each category (the last entry: an item without one) for a list
        holding ``counts`` [1, n_codes] (n categorised items)."""
        row = [0.0] * (self.n_codes + 1)
        terms = self.table[n]
        for code, column in self.column_of.items():
            row[code] = terms[int(counts[0, code])][column]
        if self.with_none:
            row[-1] = self.none_term(counts, n)
        return row


_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CODES_LOCK = threading.Lock()


def _dataset_codes(dataset: Any) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """:func:`_codes` of a dataset's items, computed once per dataset (a Dataset is frozen)."""
    with _CODES_LOCK:
        found = _CODES.get(dataset)
    if found is None:
        found = _codes(dataset.items, int(dataset.n_items))
        if found[0] is not None:
            found[0].setflags(write=False)
        try:
            with _CODES_LOCK:
                _CODES[dataset] = found
        except TypeError:  # an object without weak references: not kept
            pass
    return found


def _codes(items: pd.DataFrame, n_items: int) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Category codes int64 [n_items] (-1: none) and the names; (None, ()) without any."""
    if "category" not in items:
        return None, ()
    column = items["category"].fillna("").astype(str).str.strip()
    codes, names = pd.factorize(column.where(column != "", None))
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) != n_items or (codes < 0).all():
        return None, ()
    return codes, tuple(str(name) for name in names)


def _unit_vectors(model: Any, n_items: int) -> np.ndarray | None:
    try:
        vectors = model.item_vectors()
    except (NotImplementedError, AttributeError):
        return None
    if vectors is None:
        return None
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != n_items or not np.isfinite(vectors).all():
        return None
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)


# ------------------------------------------------------------------------- one-call helpers
def recommend(
    model: Any,
    dataset: Any,
    user_index: int,
    k: int = 10,
    settings: RerankSettings | str | None = None,
    *,
    exclude_seen: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``model.recommend(user_index, k)`` with a re-ranking (None or identity: the model's own
    answer). Build a :class:`Reranker` once instead when calling many times."""
    if settings is None or RerankSettings.parse(str(settings)).is_identity:
        return model.recommend(user_index, k, exclude_seen=exclude_seen)
    return Reranker(settings, model, dataset).recommend(user_index, k, exclude_seen=exclude_seen)


def similar_items(
    model: Any,
    dataset: Any,
    item_index: int,
    k: int = 10,
    settings: RerankSettings | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``model.similar_items(item_index, k)`` with a re-ranking (None or identity: the model's
    own answer)."""
    if settings is None or RerankSettings.parse(str(settings)).is_identity:
        return model.similar_items(item_index, k)
    return Reranker(settings, model, dataset).similar_items(item_index, k)


__all__ = [
    "DIALS",
    "DIAL_HELP",
    "KEYS",
    "KEY_SEPARATOR",
    "RerankSettings",
    "Reranker",
    "choices",
    "parse_rerank",
    "pool_size",
    "protocol_key_with",
    "recommend",
    "similar_items",
    "split_protocol_key",
]
