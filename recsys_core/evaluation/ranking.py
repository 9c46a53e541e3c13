"""The blocked evaluation loop: :func:`evaluate` ranks held-out items for blocks of users.

Each block of users is scored at once (:func:`block_scores`: the model's public
``score_users``, or ``score_history`` of the training rows for a family that cannot score known
users), each user's training items are set to ``-inf``, the top k is taken by
:func:`recsys_core.util.topk.top_k` (no full sort of the catalogue) and every metric is computed
from the ``[block, k]`` hit matrix (:class:`~.metrics.ListMetrics`). Memory is bounded by the
block size (:func:`~.blocks.block_rows`): nothing of shape users x items is ever built.

Users evaluated are those with at least one test item (both reference libraries' convention);
users among them with no training item are counted (``n_users_without_train``) and scored like
any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..algorithms.base import Progress, Recommender
from ..errors import ParameterError
from ..util.topk import top_k
from .blocks import as_csr, block_rows, row_entries
from .metrics import (
    EvaluationResult,
    ListMetrics,
    aggregate,
    item_facts,
    personalisation,
)

__all__ = ["Rerank", "block_scores", "evaluate"]

Rerank = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
"""``rerank(scores, users, k) -> ids``: a block's lists in place of its plain top k."""


def evaluate(
    model: Recommender,
    train: sp.csr_matrix | None,
    test: sp.csr_matrix,
    k: int = 10,
    *,
    item_popularity: np.ndarray | None = None,
    item_categories: np.ndarray | pd.Series | None = None,
    item_vectors: np.ndarray | None | str = "auto",
    full_auc: bool = False,
    users: np.ndarray | None = None,
    block_size: int | None = None,
    progress: Progress | None = None,
    rerank: Rerank | None = None,
) -> EvaluationResult:
    """Ranking metrics of a fitted model on held-out interactions.

    Parameters
    ----------
    model : Recommender
        Fitted; scored through ``model.score_users`` (or ``score_history`` of the training
        rows for families that cannot score known users, ``supports("recommend")`` false).
    train : csr_matrix, shape [n_users, n_items], or None
        The interactions the model was trained on: each user's items there are never
        recommended. None ranks every item (a training-set learning curve).
    test : csr_matrix, shape [n_users, n_items]
        Held-out interactions: every stored entry is a relevant item. Users without any are
        not evaluated.
    k : int
        Length of the recommendation lists, 1 to n_items.
    item_popularity : array of float, shape [n_items], optional
        Popularity for ``mean_popularity`` and ``novelty`` (default: training users per item).
    item_categories : array-like, shape [n_items], optional
        One category per item for ``diversity_category`` (empty or missing: left out).
    item_vectors : array of float, shape [n_items, d], None or "auto"
        Vectors for ``diversity_vectors``; "auto" uses ``model.item_vectors()`` when the model
        ``supports("item_vectors")``.
    full_auc : bool
        Also compute ``auc_full`` (LightFM's full-ranking AUC); costs a comparison of each test
        item's score with the user's whole row.
    users : array of int, optional
        Evaluate only these rows (a sample); default every row with a test item.
    block_size : int, optional
        Users scored at once; default so that a block holds about 2**21 scores (8 MB). Never
        more than :data:`~.blocks.BLOCK_MEMORY_CAP` (64 MB) of float32 scores; the results do
        not depend on it.
    progress : callable, optional
        ``progress(fraction, message)`` after each block.
    rerank : callable, optional
        ``rerank(scores, users, k) -> ids``, replacing the plain top k of each block: scores
        float32 [b, n_items] (training items -inf; it may modify them), users int [b], ids
        int64 [b, k] with -1 padding (:meth:`recsys_core.rerank.Reranker.select`). Every
        metric but ``auc_full`` (a property of the full ranking) is computed on its lists.

    Returns
    -------
    EvaluationResult
    """
    train, test, k = _checked(model, train, test, k)
    start = time.perf_counter()
    n_users, n_items = test.shape
    test_counts = np.diff(test.indptr)
    if users is None:
        users = np.flatnonzero(test_counts > 0)
    else:
        users = np.asarray(users, dtype=np.int64)
        users = users[test_counts[users] > 0]
    train_counts = np.diff(train.indptr) if train is not None else np.zeros(n_users, dtype=np.int64)
    counted = train if train is not None else test
    items = item_facts(model, counted, n_users, item_popularity, item_categories, item_vectors)
    lists = ListMetrics(k, test, test_counts, train_counts, items)
    rows = block_rows(n_items, block_size)
    columns, ids = _rank_blocks(model, train, users, lists, rows, full_auc, rerank, progress)
    result = _result(columns, ids, lists, users, full_auc, start)
    if progress is not None and len(users) == 0:
        progress(1.0, "No user has a test item")
    return result


def _checked(
    model: Recommender, train: sp.csr_matrix | None, test: sp.csr_matrix, k: int
) -> tuple[sp.csr_matrix | None, sp.csr_matrix, int]:
    """``evaluate``'s matrices as canonical CSR and k as an int; one sentence for a mismatch."""
    test = as_csr(test, "test")
    n_items = test.shape[1]
    if train is not None:
        train = as_csr(train, "train")
        if train.shape != test.shape:
            raise ValueError(
                f"train has shape {train.shape} but test has {test.shape}; they must come "
                "from the same split."
            )
    k = int(k)
    if not 1 <= k <= n_items:
        raise ParameterError(f"k needs to be from 1 to the number of items ({n_items:,}), got {k}.")
    model_items = getattr(model, "n_items_", n_items)
    if model_items != n_items:
        raise ValueError(
            f"The model was trained on {model_items:,} items but the test matrix has "
            f"{n_items:,}; evaluate it on a split of the dataset it was trained on."
        )
    return train, test, k


def _rank_blocks(
    model: Recommender,
    train: sp.csr_matrix | None,
    users: np.ndarray,
    lists: ListMetrics,
    block_size: int,
    full_auc: bool,
    rerank: Rerank | None,
    progress: Progress | None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Score, rank and measure the users block by block: ``(per-user columns, lists)``, the
    lists int64 [len(users), k] with -1 padding."""
    k = lists.k
    columns: dict[str, np.ndarray] = {}  # one array per value, filled block by block
    all_ids = np.full((len(users), k), -1, dtype=np.int64)
    for first in range(0, len(users), block_size):
        block = users[first : first + block_size]
        scores = block_scores(model, train, block)  # float32 [b, n_items], training items -inf
        if full_auc:
            block_full_auc = lists.full_auc(scores, block)
        ids = top_k(scores, k)[0] if rerank is None else rerank(scores, block, k)
        del scores
        all_ids[first : first + len(block)] = ids
        values = lists.of_block(block, ids)
        if full_auc:
            values["auc_full"] = block_full_auc
        for key, value in values.items():
            value = np.asarray(value)
            if key not in columns:
                columns[key] = np.empty(len(users), dtype=value.dtype)
            columns[key][first : first + len(block)] = value
        if progress is not None:
            done = min(first + len(block), len(users))
            progress(done / max(len(users), 1), f"Evaluated {done:,} of {len(users):,} users")
    return columns, all_ids


def _result(
    columns: dict[str, np.ndarray],
    ids: np.ndarray,
    lists: ListMetrics,
    users: np.ndarray,
    full_auc: bool,
    start: float,
) -> EvaluationResult:
    """The per-user table (with ``personalisation``), the aggregates and the protocol
    (``eval_seconds`` since ``start``, a ``time.perf_counter()``)."""
    n_users, n_items = lists.test.shape
    per_user = pd.DataFrame(
        columns if columns else {key: np.zeros(0) for key in ("user", "n_train", "n_test", "hits")}
    )
    per_user["personalisation"] = personalisation(ids, lists.k, n_items)
    metrics = aggregate(per_user, ids, n_items, full_auc)
    protocol = {
        "k": lists.k,
        "n_users": int(len(users)),
        "n_users_total": int(n_users),
        "n_users_without_train": int((lists.train_counts[users] == 0).sum()),
        "n_items": int(n_items),
        "n_test_interactions": int(lists.test_counts[users].sum()),
        "eval_seconds": time.perf_counter() - start,
    }
    return EvaluationResult(metrics=metrics, per_user=per_user, protocol=protocol)


def block_scores(model: Recommender, train: sp.csr_matrix | None, users: np.ndarray) -> np.ndarray:
    """Every item's score for a block of users, each user's training items set to ``-inf``.

    Parameters
    ----------
    model : Recommender
        Fitted. Scored by ``score_users``; a model that does not ``supports("recommend")`` is
        scored by ``score_history`` of the users' training rows (when ``train`` is given).
    train : csr_matrix, shape [n_users, n_items], or None
        The training interactions (None: nothing excluded).
    users : array of int, shape [b]

    Returns
    -------
    np.ndarray of float32, shape [b, n_items]
        A C-ordered array of its own the caller may modify.
    """
    if train is None or model.supports("recommend"):
        scores = model.score_users(users)
    else:
        scores = model.score_history(train[users])
    if train is not None:
        row_of, cols, _ = row_entries(train, users)
        scores[row_of, cols] = -np.inf
    return scores
