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

Every dial at 0 with no filter returns the model's own answer, untouched. Settings are a frozen
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import ParameterError

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

SWEEP_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)
SWEEP_METRICS = (
    "precision", "recall", "ndcg", "coverage", "novelty", "mean_popularity",
    "diversity_category", "diversity_vectors",
)
_DECIMALS = 3  # dials are kept to 3 decimals, so the string round-trips exactly
_ESCAPES = (("%", "%25"), (",", "%2C"), ("|", "%7C"), ("=", "%3D"))
_CALIBRATION_ALPHA = 0.01  # Steck's smoothing of the list's distribution
_CHUNK = 1024  # rows re-ranked at once in a block


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
        if not self.settings.has_dials:
            return model.recommend(user_index, k, exclude_seen=exclude_seen,
                                   filter_items=self.blocked)
        ids, scores = model.recommend(user_index, pool_size(k, self.n_items),
                                      exclude_seen=exclude_seen, filter_items=self.blocked)
        target = None
        if self._calibrates:
            matrix, user = self.interactions, int(user_index)
            history = matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]
            target = self._target_of(history)
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
        wanted = pool_size(k, self.n_items) if self.settings.has_dials else k
        extra = 0 if self.blocked is None else len(self.blocked)
        return int(min(self.n_items, wanted + extra))

    def _drop_blocked(self, ids: np.ndarray, scores: np.ndarray):
        if self.blocked is None:
            return ids, scores
        keep = self.allowed[ids]
        return ids[keep], scores[keep]

    def _one(self, ids, scores, k, target, *, calibrate: bool = True):
        """One list (best first, every entry a candidate) re-ranked: :meth:`_rerank` for a
        single row, the same arithmetic without the 2-D bookkeeping (one user's query pays
        for a few dozen small numpy calls, not for a block's)."""
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float32)
        s = self.settings
        diversify = s.diversity > 0 and self.similarity_source != "none"
        calibrate = calibrate and target is not None and s.calibration > 0
        if len(ids) == 0 or not (s.popularity > 0 or diversify or calibrate):
            return ids[:k], scores[:k]
        wide = scores.astype(np.float64)
        low, high = wide.min(), wide.max()
        relevance = (wide - low) / (high - low) if high > low else np.ones(len(wide))
        base = relevance
        if s.popularity > 0:
            base = (1.0 - s.popularity) * relevance + s.popularity * self._tail[ids]
        order = np.argsort(-base, kind="stable")
        if not diversify and not calibrate:
            order = order[:k]
            return ids[order], scores[order]
        ids, scores, base = ids[order], scores[order], base[order]
        similarity = self._similarity(ids[None, :], None) if diversify else None
        codes = self.codes[ids] if calibrate else None
        calibration = s.calibration if calibrate else 0.0
        chosen = _greedy_one(base, k, s.diversity if diversify else 0.0, similarity,
                             calibration, target, codes)
        if diversify:
            plain = (_greedy_one(base, k, 0.0, None, calibration, target, codes) if calibrate
                     else np.arange(min(k, len(ids))))
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
        from .evaluation import _top_k

        if self.blocked is not None:
            scores[:, self.blocked] = -np.inf
        k = int(k)
        if not self.settings.has_dials:
            return _top_k(scores, k)
        pool, pool_scores = self._pool(scores, pool_size(k, self.n_items))
        users = np.asarray(users, dtype=np.int64)
        out = np.full((len(pool), k), -1, dtype=np.int64)
        for first in range(0, len(pool), _CHUNK):  # bounded memory for the greedy's arrays
            part = slice(first, first + _CHUNK)
            target = self._target(self.interactions[users[part]]) if self._calibrates else None
            chosen = self._rerank(pool[part], pool_scores[part], k, target, True)
            picked = np.take_along_axis(pool[part], np.maximum(chosen, 0), axis=1)
            out[part, : chosen.shape[1]] = np.where(chosen >= 0, picked, -1)
        return out

    def _pool(self, scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The m best items of each row, best first (ties: lower index), and their scores:
        int64 and float32 [b, m], -1 / -inf padding.

        A lower bound of the m-th best score of each row comes from an in-place partition of
        a sample of the row (every stride-th score, stride 1 to 4) copied into a buffer kept
        per thread (a new [b, n_items] array per block costs more in page faults than the
        partition itself), then the few items at or above it are sorted.
        """
        from .evaluation import _top_k

        b, n = scores.shape
        if m >= n:
            pool = _top_k(scores, m)
            return pool, _gather(scores, pool)
        # the m-th best of every stride-th score is at most the m-th best of all, and keeps
        # about m * stride candidates: wide rows partition a quarter of their scores
        stride = max(1, min(4, n // (16 * m)))
        width = -(-n // stride)
        work, mask = self._buffers(b, n)
        sample = work[:, :width]
        np.copyto(sample, scores[:, ::stride])
        sample.partition(width - m, axis=1)
        if np.isnan(sample[:, -1]).any():  # a partition puts NaN last: never chosen, so -inf
            scores[np.isnan(scores)] = -np.inf
            np.copyto(sample, scores[:, ::stride])
            sample.partition(width - m, axis=1)
        bound = np.maximum(sample[:, width - m], np.finfo(np.float32).min)  # finite ones only
        np.greater_equal(scores, bound[:, None], out=mask)
        flat = np.flatnonzero(mask)
        rows = flat // n
        cols = flat - rows * n
        counts = np.bincount(rows, minlength=b)
        width = int(counts.max(initial=0))
        if width > 8 * m:  # many ties at the bound (counts as scores): the general path
            pool = _top_k(scores, m)
            return pool, _gather(scores, pool)
        starts = np.cumsum(counts) - counts
        within = np.arange(len(rows)) - starts[rows]
        negated = np.full((b, max(width, m)), np.inf, dtype=np.float32)
        negated[rows, within] = -scores[rows, cols]
        columns = np.full(negated.shape, -1, dtype=np.int64)
        columns[rows, within] = cols  # ascending in a row
        if negated.shape[1] > m:  # the m best of the candidates, then a sort of those only
            part = np.argpartition(negated, (m - 1, m), axis=1)
            cut = np.take_along_axis(negated, part[:, m - 1 : m + 1], axis=1)
            part = part[:, :m]
            tied = np.flatnonzero(cut[:, 0] == cut[:, 1])
            if len(tied):  # a tie at the cut: the lower indices win (they come first)
                value = cut[tied, :1]
                better = negated[tied] < value
                equal = negated[tied] == value
                wanted = m - better.sum(axis=1, keepdims=True)
                chosen = better | (equal & (np.cumsum(equal, axis=1) <= wanted))
                part[tied] = np.nonzero(chosen)[1].reshape(len(tied), m)
            negated = np.take_along_axis(negated, part, axis=1)
            columns = np.take_along_axis(columns, part, axis=1)
        order = np.lexsort((columns, negated), axis=1)
        pool = np.take_along_axis(columns, order, axis=1)
        values = -np.take_along_axis(negated, order, axis=1)
        pool[np.isneginf(values)] = -1
        return pool, values

    def _buffers(self, b: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        found = getattr(self._local, "buffers", None)
        if found is None or found[0].shape != (b, n):
            found = (np.empty((b, n), np.float32), np.empty((b, n), bool))
            self._local.buffers = found
        return found

    # -------------------------------------------------------------- the dials
    @property
    def _calibrates(self) -> bool:
        return self.settings.calibration > 0 and self.codes is not None

    @property
    def _only_calibration(self) -> bool:
        s = self.settings
        return s.popularity == 0 and s.diversity == 0

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
        k = min(int(k), ids.shape[1])
        # relevance: the pool's scores, min-max normalised per row (scale-free, any sign)
        low = np.where(valid, scores, np.inf).min(axis=1, keepdims=True).astype(np.float64)
        high = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True).astype(np.float64)
        spread = high - low
        with np.errstate(invalid="ignore", divide="ignore"):
            wide = scores.astype(np.float64)
            relevance = np.where(valid & (spread > 0), (wide - low) / spread, 1.0)
        base = relevance
        if s.popularity > 0:
            base = (1.0 - s.popularity) * relevance + s.popularity * self._tail[np.maximum(ids, 0)]
        base = np.where(valid, base, -np.inf)
        diversify = s.diversity > 0 and self.similarity_source != "none"
        calibrate = calibrate and target is not None and s.calibration > 0
        if not diversify and not calibrate:
            order = np.argsort(-base, axis=1, kind="stable")[:, :k]
            return np.where(np.take_along_axis(valid, order, axis=1), order, -1)
        # greedy: rows sorted by base first, so ties go to the better base
        order = np.argsort(-base, axis=1, kind="stable")
        base = np.take_along_axis(base, order, axis=1)
        valid = np.take_along_axis(valid, order, axis=1)
        ids = np.take_along_axis(ids, order, axis=1)
        similarity = self._similarity(ids, valid) if diversify else None
        codes = self.codes[np.maximum(ids, 0)] if calibrate else None
        calibration = s.calibration if calibrate else 0.0
        chosen = _greedy(base, valid, k, s.diversity if diversify else 0.0, similarity,
                         calibration, target, codes)
        if diversify:
            # never less diverse than the same list without the diversity dial
            if calibrate:
                plain = _greedy(base, valid, k, 0.0, None, calibration, target, codes)
            else:
                plain = np.arange(k)[None, :].repeat(len(base), axis=0)
                plain[~valid[:, :k]] = -1
            worse = similarity.spread(chosen) < similarity.spread(plain) - 1e-6
            if worse.any():
                chosen[worse] = plain[worse]
        return np.where(chosen >= 0, np.take_along_axis(order, np.maximum(chosen, 0), axis=1),
                        -1)

    def _similarity(self, ids: np.ndarray, valid: np.ndarray | None) -> _Similarity:
        safe = np.maximum(ids, 0) if valid is not None else ids
        if self.similarity_source == "vectors":
            return _Similarity(vectors=self._vectors[safe])
        codes = self.codes[safe]
        return _Similarity(codes=np.where(valid, codes, -1) if valid is not None else codes)


class _Similarity:
    """Similarities within each row's candidates, computed only as the greedy needs them:
    the cosine of the model's item vectors (``vectors`` float32 [b, m, d], unit rows), or 1
    for two items of the same category (``codes`` int [b, m], -1: none)."""

    def __init__(self, *, vectors: np.ndarray | None = None, codes: np.ndarray | None = None):
        self.vectors, self.codes = vectors, codes

    def to(self, rows: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
        """float [len(rows), m]: each given row's candidates (None: every row) against its
        candidate at ``positions``."""
        if self.vectors is not None:
            own = self.vectors if rows is None else self.vectors[rows]
            return np.matmul(own, own[np.arange(len(own)), positions][:, :, None])[:, :, 0]
        codes = self.codes if rows is None else self.codes[rows]
        picked = codes[np.arange(len(codes)), positions]
        return ((codes == picked[:, None]) & (picked >= 0)[:, None]).astype(np.float32)

    def spread_one(self, chosen: np.ndarray) -> float:
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

    def spread(self, chosen: np.ndarray) -> np.ndarray:
        """Mean (1 - similarity) over the pairs of each row's chosen positions, float64 [b]
        (0 for fewer than two). Without building the pairs: for unit vectors the sum of
        ``v_i . v_j`` over pairs is ``|sum v|^2 - n``; for categories, of ``[c_i == c_j]``,
        ``sum over categories of count^2 - n`` (items without one are never similar)."""
        valid = chosen >= 0
        n = valid.sum(axis=1).astype(np.float64)
        rows = np.arange(len(chosen))[:, None]
        safe = np.maximum(chosen, 0)
        if self.vectors is not None:  # a gather per position (take_along_axis is slow here)
            total = np.zeros((len(chosen), self.vectors.shape[2]))
            every = np.arange(len(chosen))
            for position in range(chosen.shape[1]):
                picked = self.vectors[every, safe[:, position]]
                if not valid[:, position].all():
                    picked = picked * valid[:, position, None]
                total += picked
            same = np.einsum("bd,bd->b", total, total) - n
        else:
            codes = np.where(valid, self.codes[rows, safe], -1)
            known = codes >= 0
            width = int(codes.max(initial=0)) + 1
            flat = (rows * width + codes)[known]
            counts = np.bincount(flat, minlength=len(chosen) * width).astype(np.float64)
            same = (counts**2).reshape(len(chosen), width).sum(axis=1) - known.sum(axis=1)
        pairs = n * (n - 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs > 0, 1.0 - same / np.maximum(pairs, 1.0), 0.0)


def _gather(scores: np.ndarray, pool: np.ndarray) -> np.ndarray:
    rows = np.arange(len(pool))[:, None]
    return np.where(pool >= 0, scores[rows, np.maximum(pool, 0)], -np.inf).astype(np.float32)


def _greedy(
    base: np.ndarray,
    valid: np.ndarray,
    k: int,
    diversity: float,
    similarity: _Similarity | None,
    calibration: float,
    target: np.ndarray | None,
    codes: np.ndarray | None,
) -> np.ndarray:
    """Greedy selection of k positions per row, maximising at each step

    ``(1 - c) * ((1 - d) * base[i] - d * max_{j chosen} sim(i, j)) - c * KL(target || list + i)``

    (d = diversity, c = calibration): maximal marginal relevance and Steck's calibration in one
    pass. Rows must be sorted by ``base`` (ties: the first wins). Returns int64 [b, k]
    positions, -1 where a row runs out of candidates.
    """
    b, m = base.shape
    rows = np.arange(b)
    relevance = np.where(valid, base, 0.0) * ((1.0 - diversity) * (1.0 - calibration))
    closed = np.where(valid, 0.0, -np.inf)  # -inf: not a candidate (padding, or chosen)
    nearest = None  # [b, m]: max similarity to the chosen ones (no term before the first)
    weight = diversity * (1.0 - calibration)
    calibrated = _Calibration(target, codes, calibration) if calibration > 0 else None

    chosen = np.full((b, k), -1, dtype=np.int64)
    for step in range(k):
        gain = relevance + closed
        if nearest is not None:
            gain -= weight * nearest
        if calibrated is not None:
            gain -= calibrated.penalty()
        pick = np.argmax(gain, axis=1)
        ok = gain[rows, pick] > -np.inf
        every = bool(ok.all())
        if every:
            live, live_pick = rows, pick
        elif not ok.any():
            break
        else:
            live, live_pick = rows[ok], pick[ok]
        chosen[live, step] = live_pick
        closed[live, live_pick] = -np.inf
        if similarity is not None and diversity > 0 and step + 1 < k:
            near = similarity.to(None if every else live, live_pick)
            if nearest is None:
                nearest = np.zeros((b, m), dtype=np.float64)
                nearest[live] = near
            elif every:
                np.maximum(nearest, near, out=nearest)
            else:
                nearest[live] = np.maximum(nearest[live], near)
        if calibrated is not None:
            calibrated.add(live, codes[live, live_pick])
    return chosen


def _greedy_one(
    base: np.ndarray,
    k: int,
    diversity: float,
    similarity: _Similarity | None,
    calibration: float,
    target: np.ndarray | None,
    codes: np.ndarray | None,
) -> np.ndarray:
    """:func:`_greedy` for one row (``base`` 1-D, sorted, every entry a candidate; ``target``
    [1, n_codes]): the same gains, the same choices. Returns int64 positions."""
    m = len(base)
    relevance = base * ((1.0 - diversity) * (1.0 - calibration))
    closed = np.zeros(m)
    nearest = None
    weight = diversity * (1.0 - calibration)
    vectors = similarity.vectors[0] if similarity is not None and similarity.vectors is not None \
        else None
    calibrated = _Calibration(target, codes[None, :], calibration) if calibration > 0 else None
    row = np.zeros(1, dtype=np.int64)
    chosen: list[int] = []
    for step in range(min(int(k), m)):
        gain = relevance + closed
        if nearest is not None:
            gain -= weight * nearest
        if calibrated is not None:
            gain -= calibrated.penalty()[0]
        pick = int(gain.argmax())
        if gain[pick] == -np.inf:
            break
        chosen.append(pick)
        closed[pick] = -np.inf
        if diversity > 0 and step + 1 < k:
            if vectors is not None:
                near = vectors @ vectors[pick]
            else:
                own = similarity.codes[0]
                near = ((own == own[pick]) & (own[pick] >= 0)).astype(np.float32)
            if nearest is None:
                nearest = near.astype(np.float64)
            else:
                np.maximum(nearest, near, out=nearest)
        if calibrated is not None:
            calibrated.add(row, codes[pick : pick + 1])
    return np.asarray(chosen, dtype=np.int64)


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
        self.target = target
        self.scale = np.where(target.sum(axis=1) > 0, calibration, 0.0)[:, None]
        self.weight = -target * self.scale  # -c p_j
        self.smoothed = a * target + (target == 0)  # the 1 where p_j = 0 keeps logs finite
        self.counts = np.zeros((b, n_codes))
        self.n = np.zeros((b, 1))
        column = np.where(codes >= 0, codes, n_codes)  # the last column: no category
        self.flat = np.arange(b)[:, None] * (n_codes + 1) + column
        self.with_none = bool((codes < 0).any())
        self.out = np.zeros((b, n_codes + 1))

    def penalty(self) -> np.ndarray:
        """float64 [b, m]: each candidate's calibration penalty (subtract from its gain)."""
        a = _CALIBRATION_ALPHA
        share = (1.0 - a) / (self.n + 1.0)
        after = self.counts * share
        after += self.smoothed
        part = self.out[:, :-1]
        np.divide(share, after, out=part)
        np.log1p(part, out=part)
        part *= self.weight
        if self.with_none:
            unchanged = self.counts * ((1.0 - a) / np.maximum(self.n, 1.0)) + self.smoothed
            change = self.target * (np.log(after) - np.log(unchanged))
            self.out[:, -1] = change.sum(axis=1) * self.scale[:, 0]
        return np.take(self.out, self.flat)

    def add(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Count the category of the item just chosen in each of ``rows``."""
        if len(codes) == 1:  # one user's list: scalars, not fancy indexing
            code = int(codes[0])
            if code >= 0:
                self.counts[rows[0], code] += 1.0
                self.n[rows[0], 0] += 1.0
            return
        known = codes >= 0
        self.counts[rows[known], codes[known]] += 1.0
        self.n[rows[known]] += 1.0


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


# ---------------------------------------------------------------------------------- the sweep
def sweep(
    model: Any,
    dataset: Any,
    split: Any,
    dial: str,
    values: Sequence[float] = SWEEP_VALUES,
    k: int = 10,
    *,
    base: RerankSettings | str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Evaluate one model at several settings of one dial (the trade-off curve).

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train``.
    dataset : Dataset
    split : Split
        ``train`` and ``test`` csr matrices [n_users, n_items].
    dial : str
        One of :data:`DIALS`.
    values : sequence of float
        The dial's settings, each from 0 to 1 (default 0, .25, .5, .75, 1).
    base : RerankSettings or str, optional
        The other dials and filters, kept fixed.

    Returns
    -------
    pd.DataFrame
        One row per value: ``dial``, ``value``, ``rerank`` (the canonical string), and
        :data:`SWEEP_METRICS`.
    """
    from .evaluation import _evaluate_split

    settings = _sweep_settings(dial, values, base)
    rows = []
    for number, current in enumerate(settings):
        scaled = _part(progress, number, len(settings))
        result = _evaluate_split(model, dataset, split, k, None, False, None, scaled,
                                 rerank=current)
        rows.append(_sweep_row(dial, current, result.metrics))
    return pd.DataFrame(rows)


def sweep_stored(
    model_id: str,
    dial: str,
    values: Sequence[float] = SWEEP_VALUES,
    k: int = 10,
    *,
    base: RerankSettings | str | None = None,
    store: Any = None,
    compute: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """:func:`sweep` of a stored model (trained on a split), each point stored like other
    metrics: under ``meta["metrics"][protocol_key_with(key, settings)]``. Points already stored
    (at the current metrics version) are read, not computed again.

    Parameters
    ----------
    compute : bool
        False: only read what is stored (missing points have NaN metrics), never evaluate.

    Returns
    -------
    pd.DataFrame
        As :func:`sweep`, plus ``key`` (the store key) and ``stored`` (True: read, not computed).
    """
    from .evaluation import METRICS_VERSION, _evaluate_split, open_stored_split, protocol_key
    from .store import ModelStore

    store = store if store is not None else ModelStore()
    settings = _sweep_settings(dial, values, base)
    meta = store.meta(model_id)
    info = (meta.get("extra") or {}).get("split") or {}
    plain = protocol_key(info.get("spec"), info.get("seed"), k)
    found = meta.get("metrics") or {}
    rows: list[dict[str, Any]] = []
    missing = []
    for current in settings:
        key = protocol_key_with(plain, current)
        summary = found.get(key)
        if isinstance(summary, dict) and summary.get("metrics_version") == METRICS_VERSION:
            metrics = {m: _nan(summary.get(m)) for m in SWEEP_METRICS}
            rows.append({**_sweep_row(dial, current, metrics), "key": key, "stored": True})
        else:
            rows.append({**_sweep_row(dial, current, {}), "key": key, "stored": False})
            missing.append(len(rows) - 1)
    if missing and compute:
        opened = open_stored_split(model_id, store=store, progress=_part(progress, 0, 2))
        for number, index in enumerate(missing):
            current = settings[index]
            scaled = _part(_part(progress, 1, 2), number, len(missing))
            result = _evaluate_split(opened.model, opened.dataset, opened.split, k,
                                     meta.get("algorithm"), False, None, scaled, rerank=current)
            opened.describe(result)
            store.record_metrics(model_id, result.protocol_key(), result.summary())
            rows[index] = {**_sweep_row(dial, current, result.metrics),
                           "key": result.protocol_key(), "stored": False}
    if progress is not None:
        progress(1.0, "Done")
    return pd.DataFrame(rows)


def _sweep_settings(dial: str, values: Sequence[float], base: Any) -> list[RerankSettings]:
    if dial not in DIALS:
        raise ParameterError(f"Unknown dial {dial!r}; sweep one of {', '.join(DIALS)}.")
    start = base if isinstance(base, RerankSettings) else RerankSettings.parse(base)
    if not len(values):
        raise ParameterError("A sweep needs at least one value of the dial.")
    return [start.replace(**{dial: value}) for value in values]


def _sweep_row(dial: str, settings: RerankSettings, metrics: dict) -> dict[str, Any]:
    row: dict[str, Any] = {"dial": dial, "value": getattr(settings, dial), "rerank": str(settings)}
    row.update({m: float(metrics.get(m, math.nan)) for m in SWEEP_METRICS})
    return row


def _nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (
        math.nan
    )


def _part(progress: Callable[[float, str], None] | None, number: int, total: int):
    if progress is None:
        return None

    def scaled(fraction: float, message: str = "") -> None:
        progress((number + min(max(float(fraction), 0.0), 1.0)) / max(total, 1), message)

    return scaled


__all__ = [
    "DIALS",
    "DIAL_HELP",
    "KEYS",
    "KEY_SEPARATOR",
    "SWEEP_METRICS",
    "SWEEP_VALUES",
    "RerankSettings",
    "Reranker",
    "choices",
    "parse_rerank",
    "pool_size",
    "protocol_key_with",
    "recommend",
    "similar_items",
    "split_protocol_key",
    "sweep",
    "sweep_stored",
]
