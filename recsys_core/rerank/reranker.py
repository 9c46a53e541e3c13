"""The Reranker: one re-ranking prepared for one model and dataset, and one-call helpers.

A model scores; the Reranker decides what a person sees. It takes a pool of the model's best
candidates (:func:`~.blocks.pool_size`: ``max(5 k, 50)`` items, fetched through the model's own
``recommend`` / ``similar_items`` / ``recommend_for_history``) and returns k of them: filters
first, then the popularity mix, then the greedy for diversity and calibration
(:mod:`.greedy`). What one (settings, model, dataset) needs is computed once in the
constructor; the block path for evaluation is :class:`~.blocks.BlockReranking`, its base.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from .blocks import BlockReranking, pool_size
from .calibration import OnePenalties
from .categories import dataset_codes
from .greedy import Similarity, greedy_categories_one, greedy_vectors_one
from .native_kernel import rerank_one as native_rerank_one
from .settings import RerankSettings


class Reranker(BlockReranking):
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
    vectors : ndarray of float32, shape [n_items, d], or None
        The model's item vectors at unit length (when the diversity dial compares them).
    tail : ndarray of float32, shape [n_items]
        ``1 - log(1 + popularity) / log(1 + max popularity)``: 1 for an item nobody trained
        on; the popularity dial's term.
    codes : ndarray of int64, shape [n_items], or None
        Each item's category code (-1: none); None without categories.
    category_names : tuple of str
        The category of each code.

    ``recommend``, ``recommend_for_history`` and ``similar_items`` answer like the model's
    own (one list, :meth:`rerank_one`); ``select`` re-ranks a block of score rows for an
    evaluation (:class:`~.blocks.BlockReranking`), with the same choices.
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
        self.popularity = _users_per_item(self.interactions, self.n_items)
        top = math.log1p(max(float(self.popularity.max(initial=0)), 1.0))
        self.tail = (1.0 - np.log1p(self.popularity) / top).astype(np.float32)  # 1 = unseen
        self.codes, self.category_names = dataset_codes(dataset)
        self.allowed = allowed_items(self.settings, dataset, self.popularity)
        blocked = np.flatnonzero(~self.allowed).astype(np.int64)
        self.blocked = blocked if len(blocked) else None
        self._local = threading.local()  # per-thread work buffers of select
        self.vectors: np.ndarray | None = None
        self.similarity_source = "none"
        if self.settings.diversity > 0:
            self.vectors = _unit_vectors(model, self.n_items)
            if self.vectors is not None:
                self.similarity_source = "vectors"
            elif self.codes is not None:
                self.similarity_source = "category"
        # what every call asks, answered once (a property costs a microsecond a call)
        s = self.settings
        self._has_dials = s.has_dials
        self._popular = s.popularity > 0
        # the popularity term of the mix, float32 as ``popularity * tail[ids]`` computes it
        self._weighted_tail = s.popularity * self.tail if self._popular else None
        self._diversify = s.diversity > 0 and self.similarity_source != "none"
        self._calibrates = s.calibration > 0 and self.codes is not None
        self._n_codes = len(self.category_names)
        self._targets: np.ndarray | None = None  # every user's history distribution
        self._asked = 0
        # one list in one C call, the settings bound: kernel(ids, scores, k, targets, row)
        self._kernel = self._bind_kernel()
        # recommend asks the model for its pool unordered (the kernel orders it) where the
        # kernel takes every list: not where calibration meets items without a category
        self._pool_unordered = (
            self._kernel is not None
            and hasattr(model, "recommend_pool")
            and not (self._calibrates and bool((self.codes[self.allowed] < 0).any()))
        )

    def require_candidates(self) -> None:
        """Refuse filters that let no item of the dataset through (every list would be empty:
        nothing to show or evaluate), in one sentence.

        Raises
        ------
        ParameterError
        """
        if not self.allowed.any():
            raise _nothing_passes(self.dataset, self.settings)

    def __repr__(self) -> str:
        return f"Reranker({str(self.settings)!r}, {getattr(self.model, 'name', '?')})"

    # -------------------------------------------------------------- the model's queries
    def recommend(
        self, user_index: int, k: int = 10, *, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """``model.recommend(user_index, k)`` re-ranked: 1-D int64 indices and the model's
        float32 scores, in the re-ranked order (so scores need not decrease). Exactly k items
        when k allowed items are left."""
        model, k = self.model, int(k)
        if not self._has_dials:
            return model.recommend(
                user_index, k, exclude_seen=exclude_seen, filter_items=self.blocked
            )
        pool = min(self.n_items, max(5 * k, 50))  # pool_size(k, n_items), without a call
        target, row = None, 0
        if self._calibrates:
            target = self._targets if self._targets is not None else self._every_target()
            user = int(user_index)
            if target is not None:  # the user's row of every target, read in place
                row = user
            else:
                matrix = self.interactions
                target = self.target_of(
                    matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]
                )
        if self._pool_unordered:  # the kernel orders the pool itself
            ids, scores = model.recommend_pool(
                user_index, pool, exclude_seen=exclude_seen, filter_items=self.blocked
            )
            try:
                got = self._kernel(ids, scores, k, target, row)
            except ValueError:  # an empty pool: numpy's path says so
                got = None
            if got is not None:
                return got
        ids, scores = model.recommend(
            user_index, pool, exclude_seen=exclude_seen, filter_items=self.blocked
        )
        return self.rerank_one(ids, scores, k, target, row=row)

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
            target = self.target_of(np.unique(np.asarray(item_indices, dtype=np.int64)))
        return self.rerank_one(ids, scores, k, target)

    def similar_items(self, item_index: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """``model.similar_items(item_index, k)`` re-ranked (calibration needs a user's history,
        so it does not apply here; the other dials and the filters do)."""
        k = int(k)
        ids, scores = self.model.similar_items(int(item_index), self._fetch(k))
        ids, scores = self._drop_blocked(ids, scores)
        return self.rerank_one(ids, scores, k, None, calibrate=False)

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

    def _bind_kernel(self) -> Any:
        """The C kernel (:mod:`.native_kernel`) with this reranker's settings bound: the
        popularity dial and its weighted tail, the diversity dial, whether by vectors, the
        vectors in grid units (int16: the unit vectors times 2^11, exact), the category codes
        and the calibration dial. None where it is not built, where no dial is turned, or
        where it cannot take the vectors (512 dimensions or more: an int16 dot product could
        overflow int32)."""
        native = native_rerank_one()
        if native is None or not (self._popular or self._diversify or self._calibrates):
            return None
        by_vectors = self._diversify and self.similarity_source == "vectors"
        grid = np.zeros((0, 1), np.int16)
        if by_vectors:
            if self.vectors.shape[1] >= 512:
                return None
            grid = np.rint(self.vectors * (1.0 / COSINE_GRID)).astype(np.int16)
        return functools.partial(
            native,
            float(self.settings.popularity) if self._popular else 0.0,
            # the C side reads these in place
            np.ascontiguousarray(self._weighted_tail, np.float32)
            if self._popular
            else np.zeros(1, np.float32),
            float(self.settings.diversity) if self._diversify else 0.0,
            by_vectors,
            grid,
            self.codes.astype(np.int32) if self.codes is not None else np.zeros(1, np.int32),
            self._n_codes,
            float(self.settings.calibration) if self._calibrates else 0.0,
        )

    def rerank_one(self, ids, scores, k, target, *, calibrate: bool = True, row: int = 0):
        """One list re-ranked: ``ids`` and ``scores`` a query's answer (best first, every entry
        a candidate), ``target[row]`` the user's history distribution (``target`` [rows,
        n_categories], or None). The same choices as
        :meth:`~.blocks.BlockReranking.rerank_block` of a one-row block: in one C call
        (:mod:`.native_kernel`) where it is built, else :meth:`rerank_one_numpy`."""
        calibrate = calibrate and target is not None and self._calibrates
        kernel = self._kernel
        if kernel is not None and (calibrate or self._popular or self._diversify):
            try:
                got = kernel(ids, scores, int(k), target if calibrate else None, row)
            except (TypeError, ValueError):
                # another dtype or layout than a query's answer (int64 and float32,
                # contiguous), or an empty list: numpy's path takes it
                got = None
            if got is not None:
                return got
        if calibrate:
            target = target[row : row + 1]
        return self.rerank_one_numpy(ids, scores, k, target if calibrate else None)

    def rerank_one_numpy(self, ids, scores, k, target, *, calibrate: bool = True):
        """:meth:`rerank_one` with numpy, with arithmetic sized for one row: a few array
        operations where a block needs a few dozen, and the calibration greedy in plain Python
        over one head per category (one user's query pays microseconds per numpy call, so the
        count of calls is the cost)."""
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
            penalties = OnePenalties(target, codes, self._n_codes, calibration, k)
            if not penalties.active:
                penalties = None
        if by_vectors:
            vectors = self.vectors[ids]
            chosen = greedy_vectors_one(base, k, s.diversity, vectors, calibration, penalties)
        else:
            chosen = greedy_categories_one(
                base, k, s.diversity if diversify else 0.0, codes, calibration, penalties
            )
        if diversify:
            # never less diverse than the same list without the diversity dial
            plain = (
                greedy_categories_one(base, k, 0.0, codes, calibration, penalties)
                if calibrate
                else list(range(k))
            )
            similarity = (
                Similarity(vectors=vectors[None]) if by_vectors else Similarity(codes=codes[None])
            )
            if similarity.spread_one(chosen) < similarity.spread_one(plain) - 1e-6:
                chosen = plain
        return ids[chosen], scores[chosen]

    # -------------------------------------------------------------- calibration targets
    def history_targets(self, history: sp.csr_matrix) -> np.ndarray:
        """Each history row's category distribution, float64 [b, n_categories] (rows of 0
        for a history without a categorised item)."""
        history = sp.csr_matrix(history)
        n_codes = len(self.category_names)
        row_of = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
        codes = self.codes[history.indices]
        known = codes >= 0
        counts = np.bincount(
            row_of[known] * n_codes + codes[known], minlength=history.shape[0] * n_codes
        ).astype(np.float64)
        counts = counts.reshape(history.shape[0], n_codes)
        total = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)

    def _every_target(self) -> np.ndarray | None:
        """Every user's :meth:`history_targets`, float64 [n_users, n_categories], computed in one
        pass over the interactions once this reranker has answered a few users (a reranker
        the app keeps; a command line's asks once) and if it takes at most 64 MB; else None
        (each query computes its own)."""
        found = self._targets
        if found is None:
            self._asked += 1
            n_users = self.interactions.shape[0]
            if self._asked > 8 and n_users * max(len(self.category_names), 1) <= 1 << 23:
                found = self.target_rows(np.arange(n_users))
                found.setflags(write=False)
                self._targets = found
        return found

    def target_rows(self, users: np.ndarray) -> np.ndarray:
        """:meth:`history_targets` of some rows of ``interactions`` (the same numbers, without
        building their matrix)."""
        matrix = self.interactions
        starts, ends = matrix.indptr[users], matrix.indptr[users + 1]
        lengths = ends - starts
        n_codes = len(self.category_names)
        row_of = np.repeat(np.arange(len(users)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        codes = self.codes.take(
            matrix.indices.take(np.repeat(starts, lengths) + offsets, mode="clip"), mode="clip"
        )
        known = codes >= 0
        counts = np.bincount(
            row_of[known] * n_codes + codes[known], minlength=len(users) * n_codes
        ).astype(np.float64)
        counts = counts.reshape(len(users), n_codes)
        total = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)

    def target_of(self, history: np.ndarray) -> np.ndarray:
        """:meth:`history_targets` of one history given as item indices: float64
        [1, n_categories]."""
        codes = self.codes[history]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.category_names))
        counts = counts.astype(np.float64)[None, :]
        total = counts.sum()
        return counts / total if total > 0 else counts

    def similarity(self, ids: np.ndarray, valid: np.ndarray | None) -> Similarity:
        """The diversity dial's :class:`~.greedy.Similarity` of candidates ``ids`` int [b, m]
        (``valid`` bool [b, m], None: every one is a candidate)."""
        safe = np.maximum(ids, 0) if valid is not None else ids
        if self.similarity_source == "vectors":
            return Similarity(vectors=self.vectors[safe])
        codes = self.codes[safe]
        return Similarity(codes=np.where(valid, codes, -1) if valid is not None else codes)


def allowed_items(settings: RerankSettings, dataset: Any, popularity: np.ndarray) -> np.ndarray:
    """The items the filters of ``settings`` (resolved against ``dataset``) let through, bool
    [n_items]; ``popularity`` is the users per item the popularity bounds compare."""
    s = settings
    n_items = int(dataset.n_items)
    allowed = np.ones(n_items, dtype=bool)
    if s.only_categories or s.exclude_categories:  # names resolved: each has a code
        codes, names = dataset_codes(dataset)
        code_of = {name: code for code, name in enumerate(names)}
        if s.only_categories:
            allowed &= np.isin(codes, [code_of[n] for n in s.only_categories])
        if s.exclude_categories:
            allowed &= ~np.isin(codes, [code_of[n] for n in s.exclude_categories])
    if s.only_tags or s.exclude_tags:
        only, excluded = set(s.only_tags), set(s.exclude_tags)
        tags = dataset.items["tags"]
        if only:
            allowed &= np.fromiter((bool(only.intersection(t)) for t in tags), bool, count=n_items)
        if excluded:
            allowed &= np.fromiter(
                (not excluded.intersection(t) for t in tags), bool, count=n_items
            )
    if s.exclude_items:
        allowed[dataset.item_indices(s.exclude_items)] = False
    if s.min_popularity is not None:
        allowed &= popularity >= s.min_popularity
    if s.max_popularity is not None:
        allowed &= popularity <= s.max_popularity
    return allowed


def check_before_training(settings: RerankSettings, dataset: Any) -> None:
    """Refuse, before a model is trained for an evaluation, filters that no item of
    ``dataset`` can pass on any split (:meth:`Reranker.require_candidates` checks again on the
    split's train part): popularity is counted on all of the data, at least any train part's
    count, so a maximum is left out here.

    Raises
    ------
    ParameterError
    """
    settings = settings.resolve(dataset)
    popularity = _users_per_item(dataset.interactions, int(dataset.n_items))
    if not allowed_items(settings.replace(max_popularity=None), dataset, popularity).any():
        raise _nothing_passes(dataset, settings)


def _nothing_passes(dataset: Any, settings: RerankSettings) -> ParameterError:
    return ParameterError(f"No item of {dataset.label} passes the filters {settings}; loosen them.")


def _users_per_item(interactions: sp.spmatrix, n_items: int) -> np.ndarray:
    """Training users per item, float64 [n_items]: what "popularity" counts."""
    counts = np.bincount(sp.csr_matrix(interactions).indices, minlength=n_items)
    return counts.astype(np.float64)


COSINE_GRID = 2.0**-11
"""The diversity dial's unit vectors are rounded to multiples of this (2^-11): each product
of two components is then a multiple of 2^-22 and every partial sum of a dot product is
below 2 in size (Cauchy-Schwarz, the rounded norms being about 1), so float32 holds each
exactly. A cosine comes out the same to the last bit whatever computes it (numpy's BLAS, a
block's batched product, the C kernel's vectorised loop, in any order), so one user's list
and an evaluation's always agree. The rounding moves a cosine by about 1e-4."""


def _unit_vectors(model: Any, n_items: int) -> np.ndarray | None:
    """The model's item vectors at unit length, on :data:`COSINE_GRID`, float32 [n_items, d]:
    the diversity dial's cosine. None for a model without a latent space, or vectors that do
    not fit the catalogue or are not finite."""
    if not model.supports("item_vectors"):
        return None
    vectors = model.item_vectors()
    if vectors is None:
        return None
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != n_items or not np.isfinite(vectors).all():
        return None
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    grid = np.rint(vectors / norms / COSINE_GRID) * COSINE_GRID
    return np.ascontiguousarray(grid, dtype=np.float32)


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
