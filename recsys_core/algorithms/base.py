"""The one contract every algorithm adapter implements: :class:`Recommender`.

Documented once, here; adapters reuse these docstrings. Every query returns ``(indices, scores)``:
1-D arrays for one user or item, 2-D arrays (one row each) for a batch. Indices are matrix indices
(the Dataset maps them to ids). What a family can do is asked one way, ``supports(name)``
(:mod:`.capabilities`), so the app can grey an option out; calling a method of a capability the
model lacks raises ``NotImplementedError`` with a sentence.

Adapters follow scikit-learn's estimator manners: ``__init__`` only stores keyword parameters
(declared in the class's ``params`` schema, :mod:`.params`); ``fit`` validates them, trains, sets
attributes that end in ``_`` and returns ``self``; every random draw comes from ``random_state``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import NotFittedError, ParameterError
from ..util.topk import top_k, top_k_unordered
from .capabilities import CAPABILITIES, LATENT_CAPABILITIES, check_capability, family_or_model
from .params import Param

__all__ = [
    "BLOCK_USERS",
    "CAPABILITIES",
    "LATENT_CAPABILITIES",
    "OnEpoch",
    "Param",
    "Progress",
    "Recommender",
    "as_csr32",
    "contribution_shares",
    "normalise_rows",
]

Progress = Callable[[float, str], None]
"""``progress(fraction_done, message)``; fraction in [0, 1]."""

OnEpoch = Callable[[int, "Recommender"], Any]
"""``on_epoch(epoch, model)`` after each epoch of an iterative model (1-based). The model can be
queried inside the callback (learning curves). Returning ``False`` stops training (cancel)."""

BLOCK_USERS = 1024
"""Users scored at once by batch ``recommend`` (bounds memory to BLOCK_USERS x n_items floats)."""


class Recommender:
    """Base class of every algorithm adapter.

    Class attributes an adapter sets:

    - ``name``: the registry key (``"als"``).
    - ``label``: a short human name (``"ALS (WRMF)"``); ``description``: one sentence.
    - ``params``: tuple of :class:`~.params.Param`; ``presets``: ``{preset: {param: value}}``.
    - ``needs``: what ``fit`` needs besides the interactions: ``"ratings"``, ``"items"``.
    - ``capabilities``: the subset of :data:`~.capabilities.CAPABILITIES` the family supports.

    Scoring is written once here on top of two primitives an adapter provides:
    ``_score_users(user_indices) -> float32 [n, n_items]`` and, for history-based queries,
    ``_score_history(history: csr [n, n_items]) -> float32 [n, n_items]``. Similarity comes from
    ``_similar_scores(item_indices) -> float32 [n, n_items]`` (default: cosine of item vectors).
    Adapters may override the public methods for speed as long as results are the same.
    The primitives return a new array (the base class may modify it in place) or a read-only
    one (which it copies first), never a writable view of the model's own state.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    needs: ClassVar[frozenset[str]] = frozenset()
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **params: Any) -> None:
        known = {p.name for p in self.params}
        unknown = set(params) - known
        if unknown:
            raise ParameterError(
                f"{self.name} has no parameter {sorted(unknown)[0]!r}; valid: "
                f"{', '.join(sorted(known)) or 'none'}."
            )
        for p in self.params:
            setattr(self, p.name, params.get(p.name, p.default))
        self.user_items_: sp.csr_matrix | None = None

    # ---------------------------------------------------------------- parameters
    def get_params(self) -> dict[str, Any]:
        """The parameters as plain values (run metadata and part of the store's key)."""
        return {p.name: getattr(self, p.name) for p in self.params}

    def _validated_params(self) -> dict[str, Any]:
        """Validate every parameter (called at the start of ``fit``)."""
        return {p.name: p.validate(getattr(self, p.name)) for p in self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- capabilities
    @family_or_model
    def supports(self_or_cls, capability: str) -> bool:
        """Whether the family (asked on the class) or this configured model (asked on an
        instance) can do ``capability``, one of :data:`~.capabilities.CAPABILITIES`.

        The one way to ask: check it before calling a capability's methods (they raise
        ``NotImplementedError`` on a model that lacks it). An unknown name is a ValueError.
        """
        if check_capability(capability) not in self_or_cls.capabilities:
            return False
        return not isinstance(self_or_cls, Recommender) or self_or_cls._configured_for(capability)

    def _configured_for(self, capability: str) -> bool:
        """Whether this model's parameters allow a capability its family has (the hook for
        lightfm's ``"tags"``, which need ``use_item_features``)."""
        return True

    def _lacks(self, capability: str, sentence: str | None = None) -> NotImplementedError:
        """The error a method of a capability this model lacks raises."""
        return NotImplementedError(sentence or f"{self.name} does not support {capability}.")

    # ---------------------------------------------------------------- training
    def fit(
        self,
        interactions: sp.csr_matrix,
        *,
        items: pd.DataFrame | None = None,
        ratings: sp.csr_matrix | None = None,
        progress: Progress | None = None,
        on_epoch: OnEpoch | None = None,
    ) -> Recommender:
        """Train on implicit feedback.

        Parameters
        ----------
        interactions : scipy.sparse.csr_matrix of float32, shape [n_users, n_items]
            Implicit weights (1 per like, counts for plays). Kept as ``user_items_``: the seen
            items that ``recommend(exclude_seen=True)`` leaves out.
        items : pd.DataFrame, optional
            The dataset's item metadata (name, category, tags), for families that need it
            (``needs`` contains ``"items"``: content, lightfm with item features).
        ratings : csr_matrix of float32, optional
            Explicit ratings for families that need them (``biased-mf``).
        progress : callable, optional
            ``progress(fraction, message)``, called at least at the start and the end.
        on_epoch : callable, optional
            ``on_epoch(epoch, model)`` after each epoch of iterative families; return ``False``
            to stop (the model stays usable, trained for the epochs done).

        Returns
        -------
        self
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement fit.")

    def attach(self, user_items: sp.csr_matrix) -> Recommender:
        """Set the seen-items matrix after loading from the store (the dataset's interactions)."""
        self._check_fitted()
        if user_items.shape[1] != self.n_items_:
            raise ValueError(
                f"The interactions have {user_items.shape[1]:,} items but the model was trained "
                f"on {self.n_items_:,}; load the dataset the model was trained on."
            )
        self.user_items_ = sp.csr_matrix(user_items)
        return self

    # ---------------------------------------------------------------- fitted state
    @property
    def is_fitted(self) -> bool:
        return getattr(self, "n_items_", None) is not None

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"You must fit the {self.name} model before trying to obtain recommendations."
            )

    def _check_users(self, user_index: Any) -> np.ndarray:
        self._check_fitted()
        n_known = getattr(self, "n_users_", None)
        if isinstance(user_index, int | np.integer) and n_known and 0 <= user_index < n_known:
            return np.array([user_index], dtype=np.int64)  # the common single-user call
        users = np.atleast_1d(np.asarray(user_index))
        if users.dtype.kind not in "iu":
            raise IndexError(f"User indices must be integers, got {users.dtype}.")
        n_users = getattr(self, "n_users_", None)
        if n_users is None and self.user_items_ is not None:
            n_users = self.user_items_.shape[0]
        if n_users is not None and users.size and (users.min() < 0 or users.max() >= n_users):
            bad = users[(users < 0) | (users >= n_users)][0]
            raise IndexError(f"User index {bad} is out of range for {n_users:,} users.")
        return users.astype(np.int64)

    def _check_items(self, item_index: Any) -> np.ndarray:
        self._check_fitted()
        if isinstance(item_index, int | np.integer) and 0 <= item_index < self.n_items_:
            return np.array([item_index], dtype=np.int64)  # the common single-item call
        items = np.atleast_1d(np.asarray(item_index))
        if items.dtype.kind not in "iu":
            raise IndexError(f"Item indices must be integers, got {items.dtype}.")
        if items.size and (items.min() < 0 or items.max() >= self.n_items_):
            bad = items[(items < 0) | (items >= self.n_items_)][0]
            raise IndexError(f"Item index {bad} is out of range for {self.n_items_:,} items.")
        return items.astype(np.int64)

    # ---------------------------------------------------------------- primitives (adapters)
    def _score_users(self, users: np.ndarray) -> np.ndarray:
        raise self._lacks("recommend", f"{self.name} cannot score known users.")

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        raise self._lacks(
            "recommend_for_history",
            f"{self.name} cannot recommend from a history it was not fit on.",
        )

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        vectors = self.item_vectors()
        if vectors is None:
            raise self._lacks("similar_items", f"{self.name} has no notion of item similarity.")
        cached = getattr(self, "_normed_cache", None)
        if cached is None or cached[0] is not vectors:
            cached = (vectors, normalise_rows(vectors))
            self._normed_cache = cached
        normed = cached[1]
        return normed[items] @ normed.T

    # ---------------------------------------------------------------- scores
    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Every item's score for known users (capability ``"recommend"``), seen items included.

        Parameters
        ----------
        user_indices : array of int, shape [n]
            Rows of the training matrix.

        Returns
        -------
        np.ndarray of float32, shape [n, n_items]
            A new C-ordered array the caller may modify. Larger is better; ``-inf`` marks an
            item the model can never recommend (an item without a vector).
        """
        return _own_float32(self._score_users(self._check_users(user_indices)))

    def score_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Every item's score for users known only by their histories (capability
        ``"recommend_for_history"``), the history items included.

        Parameters
        ----------
        history : csr_matrix of float32, shape [n, n_items]
            One row per user: the items they interacted with and their weights.

        Returns
        -------
        np.ndarray of float32, shape [n, n_items]
            A new C-ordered array the caller may modify (as :meth:`score_users`).
        """
        self._check_fitted()
        if history.shape[1] != self.n_items_:
            raise ValueError(
                f"The history has {history.shape[1]:,} items but the model was trained on "
                f"{self.n_items_:,}."
            )
        return _own_float32(self._score_history(sp.csr_matrix(history)))

    # ---------------------------------------------------------------- queries
    def recommend(
        self,
        user_index: int | np.ndarray,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        filter_items: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items for one user or a batch of users.

        Parameters
        ----------
        user_index : int or array of int
            Row(s) of the training matrix.
        k : int
            How many items; at most the number of items.
        exclude_seen : bool
            True: items in the user's row of ``user_items_`` (the training interactions, or the
            matrix given to ``attach``) are never returned. False: they compete like any other.
        filter_items : array of int, optional
            Items never returned, for every user.

        Returns
        -------
        (indices, scores)
            int64 and float32 arrays, best first, ties by lower index. 1-D for an int user (as
            many as are left, up to k); 2-D [n_users, k] for an array, rows padded with index
            -1 and score -inf where a user has fewer than k candidates. Batches are scored in
            blocks of ``BLOCK_USERS`` users, so memory stays bounded whatever the batch size.
        """
        users = self._check_users(user_index)
        _check_k(k)
        seen = self.user_items_ if exclude_seen and self.user_items_ is not None else None
        if np.ndim(user_index) == 0:
            return top_k(self._user_row(users, seen, filter_items), k)
        n_out = min(int(k), self.n_items_)
        indices = np.empty((len(users), n_out), np.int64)
        values = np.empty((len(users), n_out), np.float32)
        for start in range(0, len(users), BLOCK_USERS):
            block = users[start : start + BLOCK_USERS]
            scores = _own_float32(self._score_users(block))
            if seen is not None:
                _exclude(scores, seen[block])
            if filter_items is not None and len(filter_items):
                scores[:, np.asarray(filter_items, dtype=np.int64)] = -np.inf
            got = top_k(scores, k)
            indices[start : start + len(block)], values[start : start + len(block)] = got
        return indices, values

    def recommend_pool(
        self,
        user_index: int,
        k: int,
        *,
        exclude_seen: bool = True,
        filter_items: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`recommend` of one user without the final ordering: the same items and
        scores (int64 and float32), in no particular order. For a caller that orders them
        itself: the re-ranking's C kernel, whose 50 candidates numpy would otherwise order
        with a ``lexsort`` of about 2 µs, a few percent of the query. A subclass that answers
        one user's ``recommend`` in its own way overrides this too."""
        if np.ndim(user_index) != 0:
            raise ValueError("recommend_pool takes one user.")
        users = self._check_users(user_index)
        _check_k(k)
        seen = self.user_items_ if exclude_seen and self.user_items_ is not None else None
        return top_k_unordered(self._user_row(users, seen, filter_items), k)

    def _user_row(
        self, users: np.ndarray, seen: sp.csr_matrix | None, filter_items: np.ndarray | None
    ) -> np.ndarray:
        """One user's scores (``users`` holds one), float32, with the seen items (rows of
        ``seen``) and ``filter_items`` at -inf: never chosen."""
        scores = _writable_row(self._score_users(users))
        if seen is not None:
            u = int(users[0])
            scores[seen.indices[seen.indptr[u] : seen.indptr[u + 1]]] = -np.inf
        if filter_items is not None and len(filter_items):
            scores[np.asarray(filter_items, dtype=np.int64)] = -np.inf
        return scores

    def recommend_for_history(
        self,
        item_indices: np.ndarray,
        k: int = 10,
        *,
        weights: np.ndarray | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items for a user who is not in the training data, from the items they liked.

        Parameters
        ----------
        item_indices : array of int
            The history (columns of the matrix).
        weights : array of float, optional
            One weight per history item (default 1).
        exclude_seen : bool
            Leave the history items out of the result.

        Returns
        -------
        (indices, scores) : 1-D int64 and float32 arrays, best first.
        """
        items = self._check_items(item_indices)
        _check_k(k)
        weight = np.ones(len(items), np.float32) if weights is None else np.asarray(weights)
        history = sp.csr_matrix(
            (weight.astype(np.float32), (np.zeros(len(items), int), items)),
            shape=(1, self.n_items_),
        )
        history.sum_duplicates()
        scores = _writable_row(self._score_history(history))
        if exclude_seen:
            scores[history.indices] = -np.inf
        return top_k(scores, k)

    def similar_items(
        self, item_index: int | np.ndarray, k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k items most similar to an item (or to each of a batch of items).

        The item itself is never in its own list (every family, consistently). Scores are the
        family's similarity (cosine for latent factors and item-knn, larger is closer).

        Returns
        -------
        (indices, scores) : 1-D for an int, 2-D [n, k] for an array (padded with -1 / -inf).
        """
        items = self._check_items(item_index)
        _check_k(k)
        if np.ndim(item_index) == 0:
            scores = _writable_row(self._similar_scores(items))
            scores[int(items[0])] = -np.inf
            return top_k(scores, k)
        scores = _own_float32(self._similar_scores(items))
        scores[np.arange(len(items)), items] = -np.inf
        return top_k(scores, k)

    def item_vectors(self) -> np.ndarray | None:
        """Item latent vectors, float32 [n_items, factors]; None without a latent space."""
        return None

    def user_vectors(self) -> np.ndarray | None:
        """User latent vectors, float32 [n_users, factors]; None without a latent space."""
        return None

    def explain(
        self, user_index: int, item_index: int, k: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        """The user's history items that contributed most to recommending ``item_index``.

        Returns
        -------
        (indices, shares) : history item indices, most contributing first, and each one's share
            of the total positive contribution (float64, summing to at most 1).

        The default is cosine similarity of each history item to the item in the model's own
        similarity; families with an exact decomposition (ALS, item-knn, EASE) override it.
        """
        self._check_users(user_index)
        self._check_items(item_index)
        history = self._history(user_index)
        if history.size == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        contributions = self._similar_scores(np.array([item_index]))[0][history]
        return contribution_shares(history, contributions, k)

    def _explain_by_item_weights(
        self,
        user_index: int,
        item_index: int,
        k: int,
        weights_of: Callable[[np.ndarray, int], np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """``explain`` for item-item linear models (item-knn, EASE): history item j contributes
        ``x_uj * W[j, item]``, with ``weights_of(history, item)`` giving the ``W[j, item]``."""
        self._check_users(user_index)
        self._check_items(item_index)
        history = self._history(user_index)
        if history.size == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        x = self.user_items_[int(user_index)].data.astype(np.float64)
        contributions = x * np.asarray(weights_of(history, int(item_index)), dtype=np.float64)
        return contribution_shares(history, contributions, k)

    def _history(self, user_index: int) -> np.ndarray:
        if self.user_items_ is None:
            raise NotFittedError("The model has no interactions attached; call attach() first.")
        row = self.user_items_[int(user_index)]
        return row.indices.astype(np.int64)

    # ---------------------------------------------------------------- store
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild the fitted model, as plain numeric arrays (no objects).

        The store writes them with ``np.savez`` and reads them with ``allow_pickle=False``.
        ``user_items_`` is not included: the loader calls ``attach`` with the dataset.
        """
        raise NotImplementedError(f"{self.name} cannot be saved.")

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Recommender:
        """Rebuild a fitted model from ``to_arrays()`` output and ``get_params()``."""
        raise NotImplementedError(f"{cls.name} cannot be loaded.")

    # ---------------------------------------------------------------- tags (lightfm)
    def _lacks_tags(self) -> NotImplementedError:
        return self._lacks(
            "tags",
            f"{self.name} has no tag embeddings; only lightfm trained with "
            "use_item_features=true has them.",
        )

    def tag_names(self) -> list[str]:
        """Every tag with a learned embedding, in the order of :meth:`tag_vectors`."""
        raise self._lacks_tags()

    def tag_vectors(self) -> np.ndarray:
        """The tag features' embeddings, float32 [n_tags, components] (no bias)."""
        raise self._lacks_tags()

    def tag_index(self, tag: str) -> int:
        """The row of ``tag`` in :meth:`tag_vectors`; exact, then case-insensitive match.

        An unknown tag raises ``UnknownIdError`` naming the closest known tags.
        """
        raise self._lacks_tags()

    def items_for_tag(self, tag: str, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The k items nearest to a tag's embedding ("show me the most tiltbrush models").

        Returns
        -------
        (indices, scores) : int64 item indices and float32 cosine similarities, best first.
        """
        raise self._lacks_tags()

    def suggest_tags(self, item_index: int, k: int = 5) -> tuple[list[str], np.ndarray]:
        """Tags whose embeddings are nearest to an item's, leaving out the tags it already has.

        Returns
        -------
        (tags, scores) : tag names and float32 cosine similarities, best first.
        """
        raise self._lacks_tags()


# ---------------------------------------------------------------------------------------- helpers
def _check_k(k: int) -> None:
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k}.")


def _own_float32(scores: Any) -> np.ndarray:
    """A score block as a float32 C-ordered array of its own (copied only when it is not)."""
    if sp.issparse(scores):
        scores = scores.toarray()
    scores = np.asarray(scores)
    if (
        scores.dtype != np.float32
        or not scores.flags.writeable
        or not scores.flags.owndata
        or not scores.flags.c_contiguous
    ):
        scores = np.array(scores, dtype=np.float32, order="C", ndmin=2)
    return scores


def _writable_row(scores: np.ndarray) -> np.ndarray:
    """The first row of a score block as a float32 array we may modify."""
    row = np.asarray(scores)
    row = row[0] if row.ndim == 2 else row
    if row.dtype != np.float32 or not row.flags.writeable:
        row = np.array(row, dtype=np.float32, copy=True)
    return row


def _exclude(scores: np.ndarray, rows: sp.csr_matrix) -> None:
    """Set the stored entries of ``rows`` (one per score row) to -inf in ``scores``."""
    if rows.nnz:
        coo = rows.tocoo()
        scores[coo.row, coo.col] = -np.inf


def as_csr32(matrix: Any) -> sp.csr_matrix:
    """``matrix`` as float32 CSR with sorted indices, copied only when needed.

    Compiled library code (implicit) takes writable buffers, so a read-only matrix (a Dataset's
    frozen interactions) is copied too.
    """
    csr = matrix if sp.issparse(matrix) and matrix.format == "csr" else sp.csr_matrix(matrix)
    if csr.dtype != np.float32:
        csr = csr.astype(np.float32)
    if not all(part.flags.writeable for part in (csr.data, csr.indices, csr.indptr)):
        csr = csr.copy()
    if not csr.has_sorted_indices:
        csr = csr.sorted_indices()
    return csr


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32 [n, d]."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def contribution_shares(
    history: np.ndarray, contributions: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k history items contributing most (ties by lower index) and each one's share of the
    total positive contribution: int64 [<= k] and float64 [<= k] (``explain``'s result)."""
    contributions = np.asarray(contributions, dtype=np.float64)
    positive = np.clip(contributions, 0, None)
    total = positive.sum()
    order = np.lexsort((history, -contributions))[:k]
    shares = positive[order] / total if total > 0 else np.zeros(len(order))
    return history[order].astype(np.int64), shares
