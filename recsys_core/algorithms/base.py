"""The one contract every algorithm adapter implements: :class:`Recommender`.

Documented once, here; adapters reuse these docstrings. Every query returns ``(indices, scores)``:
1-D arrays for one user or item, 2-D arrays (one row each) for a batch. Indices are matrix indices
(the Dataset maps them to ids). A capability a family lacks raises ``NotImplementedError`` with a
sentence; ``supports(name)`` answers without raising so the app can grey the option out.

Adapters follow scikit-learn's estimator manners: ``__init__`` only stores keyword parameters
(declared in the class's ``params`` schema); ``fit`` validates them, trains, sets attributes that
end in ``_`` and returns ``self``; every random draw comes from ``random_state``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import NotFittedError, ParameterError

Progress = Callable[[float, str], None]
"""``progress(fraction_done, message)``; fraction in [0, 1]."""

OnEpoch = Callable[[int, "Recommender"], Any]
"""``on_epoch(epoch, model)`` after each epoch of an iterative model (1-based). The model can be
queried inside the callback (learning curves). Returning ``False`` stops training (cancel)."""

CAPABILITIES = (
    "recommend",
    "recommend_for_history",
    "similar_items",
    "item_vectors",
    "user_vectors",
    "explain",
    "tags",
    "epochs",
)

LATENT_CAPABILITIES = frozenset(CAPABILITIES[:6])
"""What every latent-factor family supports (add ``"epochs"`` for iterative ones)."""


# ---------------------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class Param:
    """One hyperparameter of an algorithm: the app's forms and the CLI's ``--param`` come from it.

    ``type`` is one of int, float, str, bool. Numbers may have ``low``/``high`` bounds (inclusive):
    the *valid* range, what ``fit`` accepts. Strings may have ``choices``.

    ``search`` is the *search* range ``(low, high)`` (inclusive) a random search draws from when
    no range is given (``tune --random N``, the Evaluate page): the values worth trying on a
    typical dataset at a typical cost, a sub-range of the valid one (ALS factors are valid from 1
    to 1024 but searched from 16 to 256). ``log`` draws it log-uniformly (then its low end is
    positive) and shows the parameter on a log axis. A number without ``search`` (seeds, threads)
    is not searched unless a range is given explicitly.

    ``label`` is what a person reads in a form ("Latent factors", "Random seed"), and ``help``
    its one-line explanation; the ``name`` stays the key of the URL, the CLI's ``--param`` and
    the store. Declare it after the other fields (``label="..."``); left out, it is the name in
    words ("max_sampled" -> "Max sampled").
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    log: bool = False
    search: tuple[float, float] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", _words_of(self.name))
        if self.search is None:
            return
        where = f"Param {self.name}'s search range {self.search!r}"
        if self.type not in (int, float) or len(self.search) != 2:
            raise ValueError(f"{where} needs a numeric parameter and (low, high).")
        low, high = self.search
        if self.type is int and not (float(low).is_integer() and float(high).is_integer()):
            raise ValueError(f"{where} needs integer ends.")
        if not low < high:
            raise ValueError(f"{where} is empty.")
        below = self.low is not None and low < self.low
        if below or (self.high is not None and high > self.high):
            raise ValueError(f"{where} leaves the valid range ({self.describe()}).")
        if self.log and low <= 0:
            raise ValueError(f"{where} is log-uniform, so its low end must be positive.")

    @property
    def searchable(self) -> bool:
        """Whether a random search draws this parameter by default: choices, or a search range
        (bools are left alone)."""
        return self.type is not bool and (self.choices is not None or self.search is not None)

    def parse(self, text: Any) -> Any:
        """Turn a CLI string (or a value) into a validated value of the right type."""
        if isinstance(text, str):
            raw = text.strip()
            try:
                if self.type is bool:
                    lowered = raw.lower()
                    if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                        raise ValueError(raw)
                    value: Any = lowered in {"true", "1", "yes"}
                elif self.type is int:
                    as_float = float(raw)
                    if not as_float.is_integer():
                        raise ValueError(raw)
                    value = int(as_float)
                elif self.type is float:
                    value = float(raw)
                else:
                    value = raw
            except ValueError:
                raise ParameterError(
                    f"Parameter {self.name} needs {self.describe()}, got {text!r}."
                ) from None
        else:
            value = text
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        is_bool = isinstance(value, bool)
        is_float = isinstance(value, float | np.floating)
        if self.type is int and is_float and float(value).is_integer():
            value = int(value)
        if self.type is float and isinstance(value, int | np.integer) and not is_bool:
            value = float(value)
        if isinstance(value, np.generic):
            value = value.item()
        wrong_bool = self.type is not bool and isinstance(value, bool)
        ok = isinstance(value, self.type) and not wrong_bool
        if self.type is float and isinstance(value, float) and math.isnan(value):
            ok = False
        if ok and self.choices is not None and value not in self.choices:
            ok = False
        if ok and self.low is not None and value < self.low:
            ok = False
        if ok and self.high is not None and value > self.high:
            ok = False
        if not ok:
            raise ParameterError(f"Parameter {self.name} needs {self.describe()}, got {value!r}.")
        return value

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "text"}[self.type]
        if self.low is not None and self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{kind} of at least {self.low:g}"
        return kind

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "label": self.label,
            "help": self.help,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices is not None else None,
            "log": self.log,
            "search": list(self.search) if self.search is not None else None,
        }


def _words_of(name: str) -> str:
    """A parameter key in words: ``"max_sampled"`` -> ``"Max sampled"``, ``"regParam"`` ->
    ``"Reg param"`` (the fallback label of a Param declared without one)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    text = " ".join(spaced.split()).lower()
    return text[:1].upper() + text[1:] if text else name


# ------------------------------------------------------------------------------------ recommender
class Recommender:
    """Base class of every algorithm adapter.

    Class attributes an adapter sets:

    - ``name``: the registry key (``"als"``).
    - ``label``: a short human name (``"ALS (WRMF)"``); ``description``: one sentence.
    - ``params``: tuple of :class:`Param`; ``presets``: ``{preset name: {param: value}}``.
    - ``needs``: what ``fit`` needs besides the interactions: ``"ratings"``, ``"items"``.
    - ``capabilities``: the subset of :data:`CAPABILITIES` the family supports.

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

    @classmethod
    def supports(cls, capability: str) -> bool:
        """Whether the family supports a capability from :data:`CAPABILITIES`."""
        return capability in cls.capabilities

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

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
        raise NotImplementedError(f"{self.name} cannot score known users.")

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError(f"{self.name} cannot recommend from a history it was not fit on.")

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        vectors = self.item_vectors()
        if vectors is None:
            raise NotImplementedError(f"{self.name} has no notion of item similarity.")
        cached = getattr(self, "_normed_cache", None)
        if cached is None or cached[0] is not vectors:
            cached = (vectors, _normalise_rows(vectors))
            self._normed_cache = cached
        normed = cached[1]
        return normed[items] @ normed.T

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
            int64 and float32 arrays, best first. 1-D for an int user (as many as are left,
            up to k); 2-D [n_users, k] for an array, rows padded with index -1 and score -inf
            where a user has fewer than k candidates. Batches are scored in blocks of
            ``BLOCK_USERS`` users, so memory stays bounded whatever the batch size.
        """
        users = self._check_users(user_index)
        _check_k(k)
        seen = self.user_items_ if exclude_seen and self.user_items_ is not None else None
        if np.ndim(user_index) == 0:
            scores = _writable_row(self._score_users(users))
            if seen is not None:
                u = int(users[0])
                scores[seen.indices[seen.indptr[u] : seen.indptr[u + 1]]] = -np.inf
            return _top_k_single(scores, k, filter_items)
        n_out = min(int(k), self.n_items_)
        indices = np.empty((len(users), n_out), np.int64)
        values = np.empty((len(users), n_out), np.float32)
        for start in range(0, len(users), BLOCK_USERS):
            block = users[start : start + BLOCK_USERS]
            scores = np.asarray(self._score_users(block), dtype=np.float32)
            exclude = seen[block] if seen is not None else None
            got_i, got_v = self._top_k(scores, k, exclude, filter_items, single=False)
            indices[start : start + len(block)] = got_i
            values[start : start + len(block)] = got_v
        return indices, values

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
        weight = np.ones(len(items), np.float32) if weights is None else np.asarray(weights)
        history = sp.csr_matrix(
            (weight.astype(np.float32), (np.zeros(len(items), int), items)),
            shape=(1, self.n_items_),
        )
        history.sum_duplicates()
        scores = np.asarray(self._score_history(history), dtype=np.float32)
        seen = history if exclude_seen else None
        return self._top_k(scores, k, seen, None, single=True)

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
            return _top_k_single(scores, k, None)
        scores = np.asarray(self._similar_scores(items), dtype=np.float32)
        own = sp.csr_matrix(
            (np.ones(len(items), np.float32), (np.arange(len(items)), items)),
            shape=(len(items), self.n_items_),
        )
        return self._top_k(scores, k, own, None, single=False)

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
        return _shares(history, contributions, k)

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
        return _shares(history, contributions, k)

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

    # ---------------------------------------------------------------- helpers
    def _top_k(
        self,
        scores: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None,
        filter_items: np.ndarray | None,
        *,
        single: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        scores = np.asarray(scores)
        if scores.dtype != np.float32 or not scores.flags.writeable or scores.ndim != 2:
            scores = np.array(scores, dtype=np.float32, copy=True, ndmin=2)
        if np.isnan(scores.sum()):  # one fast pass; only then look for the NaN
            scores[np.isnan(scores)] = -np.inf
        if exclude is not None and exclude.nnz:
            coo = exclude.tocoo()
            scores[coo.row, coo.col] = -np.inf
        if filter_items is not None and len(filter_items):
            scores[:, np.asarray(filter_items, dtype=np.int64)] = -np.inf
        indices, values = top_k_rows(scores, int(k))
        if single:
            keep = np.isfinite(values[0])
            return indices[0][keep], values[0][keep]
        indices = np.where(np.isfinite(values), indices, -1)
        return indices, values


# ---------------------------------------------------------------------------------------- helpers
BLOCK_USERS = 1024
"""Users scored at once by batch ``recommend`` (bounds memory to BLOCK_USERS x n_items floats)."""


def _check_k(k: int) -> None:
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k}.")


def _writable_row(scores: np.ndarray) -> np.ndarray:
    """The first row of a score block as a float32 array we may modify."""
    row = np.asarray(scores)
    row = row[0] if row.ndim == 2 else row
    if row.dtype != np.float32 or not row.flags.writeable:
        row = np.array(row, dtype=np.float32, copy=True)
    return row


def _top_k_single(
    scores: np.ndarray, k: int, filter_items: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one score row (modified in place), best first, -inf entries dropped."""
    if filter_items is not None and len(filter_items):
        scores[np.asarray(filter_items, dtype=np.int64)] = -np.inf
    if np.isnan(scores.sum()):  # one fast pass; NaN (or +inf with -inf) only then is looked for
        scores[np.isnan(scores)] = -np.inf
    part = _select_row(scores, int(k))
    part_scores = scores[part]
    order = np.lexsort((part, -part_scores))
    indices = part[order].astype(np.int64)
    values = part_scores[order].astype(np.float32)
    keep = values > -np.inf
    if not keep.all():
        indices, values = indices[keep], values[keep]
    return indices, values


def _select_row(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores of one row (unordered); ties cut by k go to the lower
    index, so every code path picks the same items."""
    n = scores.shape[0]
    k = min(k, n)
    if k >= n:
        return np.arange(n)
    if n >= 4096 and k * 64 <= n:
        # Pre-filter: a threshold from a strided sample keeps a few hundred candidates, and the
        # exact selection runs on those (the top k are all >= the threshold when at least k are).
        stride = n // 1024
        sample = scores[::stride]
        cut = len(sample) - _sample_rank(k, stride, len(sample))
        threshold = np.partition(sample, cut)[cut]
        candidates = np.flatnonzero(scores >= threshold)
        if k <= len(candidates) < n // 2:  # in index order, so ties still go to the lower index
            return candidates[_select_row(scores[candidates], k)]
    order = np.argpartition(scores, n - k - 1)
    part = order[n - k :]
    threshold = scores[part].min()
    if scores[order[n - k - 1]] < threshold:  # the (k+1)-th is strictly lower: no tie at the cut
        return part
    above = part[scores[part] > threshold]
    ties = np.flatnonzero(scores == threshold)
    return np.concatenate([above, ties[: k - len(above)]])


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


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row, best first: ``argpartition`` then a sort of the k (no full argsort).

    Ties are broken by the lower index first. Returns int64 indices and float32 scores
    [n_rows, min(k, n_cols)].
    """
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    if k == 0:
        return np.zeros((n_rows, 0), np.int64), np.zeros((n_rows, 0), np.float32)
    if n_cols >= 4096 and k * 64 <= n_cols:
        return _top_k_prefiltered(scores, k)
    if k < n_cols:
        order = np.argpartition(scores, n_cols - k - 1, axis=1)
        part = order[:, n_cols - k :]
        threshold = np.take_along_axis(scores, part, axis=1).min(axis=1)
        below = np.take_along_axis(scores, order[:, n_cols - k - 1 : n_cols - k], axis=1)[:, 0]
        for row in np.flatnonzero(below >= threshold):  # a tie at the cut: lowest index wins
            part[row] = _select_row(scores[row], k)
    else:
        part = np.tile(np.arange(n_cols), (n_rows, 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    indices = np.take_along_axis(part, order, axis=1).astype(np.int64)
    values = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    return indices, values


def _sample_rank(k: int, stride: int, size: int) -> int:
    """Which largest value of a 1-in-``stride`` sample to use as the pre-filter threshold: about
    ``4 k`` scores (at least 3 sample steps' worth) lie above it, so at least k almost always do;
    the rare row where fewer do takes the exact path."""
    return min(size, max(2, -(-4 * k // stride)) + 1)


def _top_k_prefiltered(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``top_k_rows`` for wide rows and small k: a per-row threshold from a strided sample keeps
    a few hundred candidates per row, and one lexsort over all candidates orders them (by row,
    then score descending, then index ascending). Rows where the threshold keeps fewer than k or
    too many candidates take the exact one-row path."""
    n_rows, n_cols = scores.shape
    stride = n_cols // 1024
    sample = scores[:, ::stride]
    cut = sample.shape[1] - _sample_rank(k, stride, sample.shape[1])
    threshold = np.partition(sample, cut, axis=1)[:, cut]
    mask = scores >= threshold[:, None]
    counts = mask.sum(axis=1)
    good = (counts >= k) & (counts < n_cols // 2)
    mask[~good] = False
    rows, cols = np.nonzero(mask)
    values = scores[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.concatenate([[0], np.cumsum(counts * good)[:-1]])
    take = (starts[good][:, None] + np.arange(k)[None, :]).ravel()
    indices = np.empty((n_rows, k), np.int64)
    out = np.empty((n_rows, k), np.float32)
    indices[good] = cols[take].reshape(-1, k)
    out[good] = values[take].reshape(-1, k)
    for row in np.flatnonzero(~good):
        part = _select_row(scores[row], k)
        part_scores = scores[row, part]
        sort = np.lexsort((part, -part_scores))
        indices[row] = part[sort]
        out[row] = part_scores[sort]
    return indices, out


def _normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _shares(history: np.ndarray, contributions: np.ndarray, k: int):
    contributions = np.asarray(contributions, dtype=np.float64)
    positive = np.clip(contributions, 0, None)
    total = positive.sum()
    order = np.lexsort((history, -contributions))[:k]
    shares = positive[order] / total if total > 0 else np.zeros(len(order))
    return history[order].astype(np.int64), shares


normalise_rows = _normalise_rows
contribution_shares = _shares
