"""Ranking metrics: their definitions, each user's values for a block of top-k lists, and
their aggregates (:class:`EvaluationResult`).

Definitions follow the reference libraries where they differ from the textbook (one line each in
``docs/METRICS.md`` and :data:`METRIC_INFO`):

- ``precision`` is precision@k as readers, LightFM, RecTools and Cornac count it: hits / k,
  averaged over the users with test items (the mean of ``lightfm.evaluation.precision_at_k``);
- ``precision_implicit``, ``map``, ``ndcg`` and ``auc`` equal
  ``implicit.evaluation.ranking_metrics_at_k`` (its precision is hits / min(k, n_test), summed
  over users then divided; AUC is implicit's top-k limited AUC);
- ``recall`` and ``auc_full`` equal the means of ``lightfm.evaluation.recall_at_k`` and
  ``auc_score`` (AUC over the full ranking of the items the user did not train on);
- the rest are the usual definitions.

Every value is computed from the ``[block, k]`` hit matrix of a block's lists
(:class:`ListMetrics`), except ``auc_full``, which reads the block's full score rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..algorithms.base import Recommender
from ..store.metrics_format import (
    ACCURACY_METRICS,
    BEYOND_ACCURACY,
    CONVENTIONS,
    METRICS,
    METRICS_VERSION,
    protocol_key,
    upgrade_per_user,
    upgrade_stored_metrics,
)
from .blocks import BLOCK_BUDGET, item_counts, row_entries

__all__ = [
    "ACCURACY_METRICS",
    "BEYOND_ACCURACY",
    "CONVENTIONS",
    "METRICS",
    "METRICS_VERSION",
    "METRIC_INFO",
    "EvaluationResult",
    "ItemFacts",
    "ListMetrics",
    "accuracy",
    "aggregate",
    "full_auc",
    "hit_matrix",
    "item_facts",
    "json_float",
    "personalisation",
    "protocol_key",
    "upgrade_per_user",
    "upgrade_stored_metrics",
]

# ------------------------------------------------------------------------------------- metadata
METRIC_INFO: dict[str, str] = {
    "precision": "hits in the top k / k, averaged over users (precision@k as LightFM, RecTools "
    "and Cornac count it; a user with fewer than k test items scores at most test items / k)",
    "precision_implicit": "hits in the top k / min(k, test items), summed over users then "
    "divided (implicit's convention; equals recall when every user has the same number of "
    "test items, at most k, as with holdout:5 at k = 10)",
    "recall": "hits in the top k / test items, averaged over users",
    "map": "average precision at k: sum over hits of (hits so far / position), divided by "
    "min(k, test items), averaged over users (implicit's convention)",
    "ndcg": "binary-gain DCG of the top k (1 / log2(position + 1)) over the ideal DCG of "
    "min(k, test items) hits, averaged over users (implicit's convention)",
    "auc": "implicit's AUC limited to the top k: pairs (test item, other item) ordered right, "
    "items outside the top k counted as half right; averaged over users",
    "auc_full": "ROC AUC over the full ranking of the items not in the user's training data, "
    "ties counted against the test item (LightFM's auc_score); averaged over users",
    "hit_rate": "share of users with at least one test item in the top k",
    "mrr": "1 / position of the first test item in the top k (0 when none), averaged over users",
    "coverage": "share of the catalogue recommended to at least one evaluated user",
    "mean_popularity": "mean number of training users of the recommended items, averaged "
    "over users (popularity bias)",
    "novelty": "mean self-information -log2(p) of the recommended items, p = share of training "
    "users who have the item (at least 1 / users), averaged over users",
    "diversity_category": "share of pairs of recommended items with different categories "
    "(items without a category left out), averaged over users",
    "diversity_vectors": "mean cosine distance (1 - cosine) between pairs of recommended items' "
    "vectors, averaged over users",
    "personalisation": "1 - mean overlap |A & B| / k between two users' top-k lists, over "
    "all pairs of evaluated users",
}

_PER_USER_COLUMN = {"map": "ap", "hit_rate": "hit", "mrr": "rr"}


# ----------------------------------------------------------------------------------- the result
@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    metrics : dict
        Aggregates by name (see :data:`METRIC_INFO`); ``auc_full`` only when computed,
        diversity metrics NaN when no categories or vectors were available.
    per_user : pd.DataFrame
        One row per evaluated user: ``user`` (row index), ``n_train``, ``n_test``, ``hits``, and
        the per-user value of each metric (``precision`` = hits / k, ``precision_implicit`` =
        hits / min(k, n_test), ``recall``, ``ap``, ``ndcg``, ``auc``, ``hit``, ``rr``,
        ``mean_popularity``, ``novelty``, ``diversity_category``, ``diversity_vectors``,
        ``personalisation``, ``auc_full``). Aggregates are their means, except
        ``precision_implicit`` (weighted by min(k, n_test)) and ``coverage`` (a property of the
        set of lists).
    protocol : dict
        How the numbers were obtained: ``k``, ``n_users``, ``n_users_total``,
        ``n_users_without_train``, ``n_items``, ``n_test_interactions``, ``eval_seconds``, and
        from :func:`evaluate_model` also ``split``, ``seed``, ``fit_seconds``, ``algorithm``,
        ``params``, ``dataset``, ``fingerprint``, ``versions``.
    conventions : dict
        ``{metric: "implicit" | "lightfm"}`` for metrics that follow a library's definition.
    model : Recommender or None
        The fitted model (from :func:`evaluate_model`); not serialised.
    """

    metrics: dict[str, float]
    per_user: pd.DataFrame
    protocol: dict[str, Any]
    conventions: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONS))
    model: Recommender | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, name: str) -> float:
        return self.metrics[name]

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-ready dict: metrics (NaN as None), protocol, and conventions."""
        out: dict[str, Any] = {key: json_float(value) for key, value in self.metrics.items()}
        for key, value in self.protocol.items():
            out.setdefault(key, value)
        out["conventions"] = dict(self.conventions)
        return out

    def summary(self) -> dict[str, Any]:
        """What the store keeps in ``meta["metrics"][protocol key]``: the aggregates (NaN as
        None) plus ``k``, ``split``, ``seed``, user counts, timings, conventions and
        ``metrics_version`` (:data:`METRICS_VERSION`); ``rerank`` (the settings string) for
        lists re-ranked by :mod:`recsys_core.rerank`."""
        out: dict[str, Any] = {key: json_float(value) for key, value in self.metrics.items()}
        for key in (
            "k",
            "split",
            "seed",
            "n_users",
            "n_users_without_train",
            "fit_seconds",
            "eval_seconds",
            "rerank",
        ):
            if key in self.protocol:
                out[key] = json_float(self.protocol[key])
        out["conventions"] = dict(self.conventions)
        out["metrics_version"] = METRICS_VERSION
        return out

    def protocol_key(self) -> str:
        """The key under which the store keeps these metrics, e.g. ``"holdout:5:seed=0@k=10"``
        (``"...@k=10|rerank:popularity=0.5"`` for re-ranked lists)."""
        return protocol_key(
            self.protocol.get("split"),
            self.protocol.get("seed"),
            self.protocol["k"],
            self.protocol.get("rerank"),
        )


def json_float(value: Any) -> Any:
    """A float as JSON can hold it (NaN and infinities as None); anything else unchanged."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if not np.isfinite(value) else value
    return value


# ------------------------------------------------------------------------- what items are like
@dataclass(frozen=True)
class ItemFacts:
    """What the beyond-accuracy metrics read of each item (:func:`item_facts`).

    Attributes
    ----------
    popularity : np.ndarray of float64, shape [n_items]
        For ``mean_popularity``.
    information : np.ndarray of float64, shape [n_items]
        Self-information ``-log2(p)`` for ``novelty``.
    codes : np.ndarray of int64, shape [n_items], or None
        Category codes (-1: none) for ``diversity_category``; None without categories.
    vectors : np.ndarray of float64, shape [n_items, d], or None
        Unit vectors for ``diversity_vectors``; None without vectors.
    """

    popularity: np.ndarray
    information: np.ndarray
    codes: np.ndarray | None
    vectors: np.ndarray | None


def item_facts(
    model: Recommender,
    counted: sp.csr_matrix,
    n_users: int,
    item_popularity: np.ndarray | None,
    item_categories: Any,
    item_vectors: np.ndarray | None | str,
) -> ItemFacts:
    """The :class:`ItemFacts` of an evaluation (see :func:`~.ranking.evaluate`'s parameters).

    Parameters
    ----------
    model : Recommender
        Asked for its item vectors when ``item_vectors`` is "auto".
    counted : csr_matrix, shape [n_users, n_items]
        Whose users per item are the default popularity (the training interactions).
    n_users : int
        Users of the matrix, for novelty's shares.
    item_popularity, item_categories, item_vectors
        As given to ``evaluate``; a ValueError for a wrong length or shape.
    """
    n_items = counted.shape[1]
    if item_popularity is None:
        popularity = item_counts(counted.indices, n_items).astype(np.float64)
    else:
        popularity = np.asarray(item_popularity, dtype=np.float64).ravel()
        if popularity.shape != (n_items,):
            raise ValueError(f"item_popularity needs {n_items:,} values, got {popularity.size:,}.")
    information = -np.log2(np.maximum(popularity, 1.0) / max(n_users, 1))
    codes = _category_codes(item_categories, n_items)
    vectors = _unit_vectors(model, item_vectors, n_items)
    return ItemFacts(popularity, information, codes, vectors)


# ------------------------------------------------------------------------- per-user values
class ListMetrics:
    """Each user's metrics for blocks of top-k lists of one evaluation.

    Parameters
    ----------
    k : int
        List length.
    test : csr_matrix, shape [n_users, n_items]
        Held-out interactions (canonical CSR).
    test_counts, train_counts : np.ndarray of int, shape [n_users]
        Test and training items per user.
    items : ItemFacts
    """

    def __init__(
        self,
        k: int,
        test: sp.csr_matrix,
        test_counts: np.ndarray,
        train_counts: np.ndarray,
        items: ItemFacts,
    ) -> None:
        self.k = k
        self.test = test
        self.n_items = test.shape[1]
        self.test_counts = test_counts
        self.train_counts = train_counts
        self.items = items
        self.cg = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
        self.cg_sum = np.cumsum(self.cg)
        self.positions = np.arange(1, k + 1, dtype=np.float64)

    def of_block(self, block: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Every per-user value but ``auc_full`` and ``personalisation``.

        Parameters
        ----------
        block : array of int, shape [b]
            The users (rows of ``test``).
        ids : array of int64, shape [b, k]
            Their lists, best first, -1 padding.

        Returns
        -------
        dict
            Column name -> array of shape [b], in :class:`EvaluationResult`'s ``per_user``
            order.
        """
        hits = hit_matrix(ids, block, self.test, self.n_items)
        n_hits = hits.sum(axis=1).astype(np.float64)
        values: dict[str, np.ndarray] = {
            "user": block,
            "n_train": self.train_counts[block],
            "n_test": self.test_counts[block],
            "hits": n_hits.astype(np.int64),
        }
        values.update(self._accuracy(hits, n_hits, self.test_counts[block].astype(np.float64)))
        values.update(self._beyond_accuracy(ids))
        return values

    def _accuracy(
        self, hits: np.ndarray, n_hits: np.ndarray, n_test: np.ndarray
    ) -> dict[str, np.ndarray]:
        k, n_items = self.k, self.n_items
        denominator = np.minimum(k, n_test)
        cumulative = np.cumsum(hits, axis=1, dtype=np.float64)
        ap = (hits * cumulative / self.positions).sum(axis=1) / denominator
        ndcg = (hits * self.cg).sum(axis=1) / self.cg_sum[denominator.astype(np.int64) - 1]
        misses = k - n_hits
        negatives = n_items - n_test
        auc_sum = (cumulative * ~hits).sum(axis=1) + (n_hits + n_test) / 2.0 * (negatives - misses)
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = np.where(negatives > 0, auc_sum / (n_test * negatives), 0.5)
        first_hit = np.argmax(hits, axis=1)
        rr = np.where(n_hits > 0, 1.0 / (first_hit + 1.0), 0.0)
        return {
            "precision": n_hits / k,
            "precision_implicit": n_hits / denominator,
            "recall": n_hits / n_test,
            "ap": ap,
            "ndcg": ndcg,
            "auc": auc,
            "hit": (n_hits > 0).astype(np.float64),
            "rr": rr,
        }

    def _beyond_accuracy(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        items = self.items
        valid = ids >= 0
        safe = np.where(valid, ids, 0)
        return {
            "mean_popularity": _row_mean(items.popularity[safe], valid),
            "novelty": _row_mean(items.information[safe], valid),
            "diversity_category": _category_diversity(items.codes, safe, valid),
            "diversity_vectors": _vector_diversity(items.vectors, safe, valid),
        }

    def full_auc(self, scores: np.ndarray, block: np.ndarray) -> np.ndarray:
        """``auc_full`` of each user of the block from its full score rows
        (:func:`full_auc`)."""
        return full_auc(scores, block, self.test, self.train_counts, self.n_items)


def hit_matrix(ids: np.ndarray, block: np.ndarray, test: sp.csr_matrix, n_items: int) -> np.ndarray:
    """Boolean [b, k]: whether each recommended item is one of the user's test items."""
    row_of, cols, _ = row_entries(test, block)
    if len(cols) == 0:
        return np.zeros(ids.shape, dtype=bool)
    test_keys = np.sort(row_of * n_items + cols)
    rec_keys = np.arange(len(block), dtype=np.int64)[:, None] * n_items + ids
    found = np.minimum(np.searchsorted(test_keys, rec_keys), len(test_keys) - 1)
    return (test_keys[found] == rec_keys) & (ids >= 0)


def full_auc(
    scores: np.ndarray,
    block: np.ndarray,
    test: sp.csr_matrix,
    train_counts: np.ndarray,
    n_items: int,
) -> np.ndarray:
    """LightFM's auc_score for each user of the block (see ``calculate_auc_from_rank``).

    Rank of a test item = items the user did not train on, other than itself, scoring at least
    as high. Positives sorted by rank; the i-th (0-based) has ``max(rank - i, 0)`` negatives
    ahead; AUC = mean of ``1 - ahead / negatives`` with negatives = n_items - test - train.

    Parameters
    ----------
    scores : np.ndarray of float32, shape [b, n_items]
        The block's scores, training items -inf.
    block : array of int, shape [b]
    test : csr_matrix, shape [n_users, n_items]
    train_counts : array of int, shape [n_users]
    n_items : int

    Returns
    -------
    np.ndarray of float64, shape [b]
        0.5 where undefined (no test item, or no negative).
    """
    row_of, cols, _ = row_entries(test, block)
    thresholds = scores[row_of, cols]
    ranks = np.empty(len(cols), dtype=np.float64)
    chunk = max(1, BLOCK_BUDGET // max(n_items, 1))
    for first in range(0, len(cols), chunk):
        part = slice(first, first + chunk)
        ahead = scores[row_of[part]] >= thresholds[part, None]  # training items are -inf
        ranks[part] = ahead.sum(axis=1) - 1  # the item itself
    order = np.lexsort((ranks, row_of))
    row_sorted = row_of[order]
    starts = np.searchsorted(row_sorted, np.arange(len(block)))
    within = np.arange(len(order)) - starts[row_sorted]
    ahead = np.maximum(ranks[order] - within, 0.0)
    positives = np.bincount(row_of, minlength=len(block)).astype(np.float64)
    negatives = n_items - positives - train_counts[block]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = 1.0 - ahead / negatives[row_sorted]
        auc = np.bincount(row_sorted, weights=share, minlength=len(block)) / positives
    undefined = (positives == 0) | (negatives <= 0)
    return np.where(undefined, 0.5, auc)


# --------------------------------------------------------------------------- beyond accuracy
def _row_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    count = valid.sum(axis=1)
    total = np.where(valid, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _category_codes(categories: Any, n_items: int) -> np.ndarray | None:
    if categories is None:
        return None
    series = pd.Series(np.asarray(categories, dtype=object))
    if len(series) != n_items:
        raise ValueError(f"item_categories needs {n_items:,} values, got {len(series):,}.")
    missing = series.isna() | (series.astype(str).str.strip() == "")
    codes, _ = pd.factorize(series.astype(str))
    codes = codes.astype(np.int64)
    codes[missing.to_numpy()] = -1
    if (codes < 0).all():
        return None
    return codes


def _category_diversity(codes: np.ndarray | None, ids: np.ndarray, valid: np.ndarray) -> np.ndarray:
    if codes is None:
        return np.full(len(ids), np.nan)
    item_codes = np.where(valid, codes[ids], -1)
    known = item_codes >= 0
    k = ids.shape[1]
    pairs = known[:, :, None] & known[:, None, :] & ~np.eye(k, dtype=bool)
    same = (item_codes[:, :, None] == item_codes[:, None, :]) & pairs
    n_pairs = pairs.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, 1.0 - same.sum(axis=(1, 2)) / np.maximum(n_pairs, 1), np.nan)


def _unit_vectors(model: Recommender, item_vectors: Any, n_items: int) -> np.ndarray | None:
    if isinstance(item_vectors, str):
        if item_vectors != "auto":
            raise ValueError(
                f"item_vectors must be an array, None or 'auto', not {item_vectors!r}."
            )
        item_vectors = model.item_vectors() if model.supports("item_vectors") else None
    if item_vectors is None:
        return None
    vectors = np.asarray(item_vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != n_items:
        raise ValueError(f"item_vectors needs shape [{n_items:,}, d], got {list(vectors.shape)}.")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _vector_diversity(vectors: np.ndarray | None, ids: np.ndarray, valid: np.ndarray) -> np.ndarray:
    if vectors is None:
        return np.full(len(ids), np.nan)
    chosen = vectors[ids] * valid[:, :, None]
    cosine = np.einsum("bkd,bld->bkl", chosen, chosen)
    k = ids.shape[1]
    pairs = valid[:, :, None] & valid[:, None, :] & ~np.eye(k, dtype=bool)
    n_pairs = pairs.sum(axis=(1, 2))
    distance = np.where(pairs, 1.0 - cosine, 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, distance / np.maximum(n_pairs, 1), np.nan)


def personalisation(ids: np.ndarray, k: int, n_items: int) -> np.ndarray:
    """Per user: 1 - mean overlap |A & B| / k with every other user's list (mean = aggregate).

    Parameters
    ----------
    ids : array of int64, shape [n, k]
        Every evaluated user's list, -1 padding.
    k : int
    n_items : int

    Returns
    -------
    np.ndarray of float64, shape [n]
        NaN with fewer than two users.
    """
    n = len(ids)
    if n < 2:
        return np.full(n, np.nan)
    valid = ids >= 0
    counts = np.bincount(ids[valid], minlength=n_items).astype(np.float64)
    shared = np.where(valid, counts[np.where(valid, ids, 0)] - 1.0, 0.0).sum(axis=1)
    return 1.0 - shared / ((n - 1) * k)


# ------------------------------------------------------------------------------ aggregates
def aggregate(per_user: pd.DataFrame, ids: np.ndarray, n_items: int, full_auc: bool) -> dict:
    """Every metric's aggregate from the per-user values and the lists.

    Parameters
    ----------
    per_user : pd.DataFrame
        :class:`EvaluationResult`'s ``per_user``.
    ids : array of int64, shape [n_users, k]
        The lists (for ``coverage``).
    n_items : int
    full_auc : bool
        Whether ``auc_full`` was computed.

    Returns
    -------
    dict
        ``{metric: float}`` in :data:`METRICS` order; NaN for every metric without users.
    """
    metrics: dict[str, float] = {}
    n = len(per_user)
    if n == 0:
        for name in METRICS:
            if name != "auc_full" or full_auc:
                metrics[name] = float("nan")
        return metrics
    for name in ACCURACY_METRICS:
        metrics[name] = accuracy(per_user, name, ids.shape[1])
    if full_auc:
        metrics["auc_full"] = float(per_user["auc_full"].mean())
    recommended = np.unique(ids[ids >= 0])
    metrics["coverage"] = float(len(recommended) / n_items)
    for name in BEYOND_ACCURACY[1:]:
        column = per_user[name].to_numpy(dtype=np.float64)
        finite = np.isfinite(column)
        metrics[name] = float(column[finite].mean()) if finite.any() else float("nan")
    return metrics


def accuracy(per_user: pd.DataFrame, name: str, k: int) -> float:
    """One accuracy aggregate from the per-user values: a mean over users, except implicit's
    precision (hits summed over users, divided by the sum of min(k, test items))."""
    if name == "precision_implicit":
        denominator = np.minimum(k, per_user["n_test"].to_numpy()).sum()
        return float(per_user["hits"].sum() / denominator)
    return float(per_user[_PER_USER_COLUMN.get(name, name)].mean())
