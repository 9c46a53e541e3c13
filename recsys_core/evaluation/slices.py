"""Accuracy on slices of one evaluation: light and heavy users, popular and long-tail items."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..algorithms.base import Recommender
from ..errors import ParameterError
from .blocks import as_csr, item_counts
from .metrics import EvaluationResult, accuracy
from .ranking import evaluate

__all__ = ["SLICE_METRICS", "slice_metrics"]

SLICE_METRICS = ("precision", "precision_implicit", "recall", "ndcg", "map", "hit_rate", "mrr")
"""The accuracy metrics :func:`slice_metrics` reports per slice (the definitions of
:data:`~.metrics.METRIC_INFO`)."""


def slice_metrics(
    model: Recommender,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    k: int = 10,
    *,
    result: EvaluationResult | None = None,
    head_fraction: float = 0.2,
    block_size: int | None = None,
) -> pd.DataFrame:
    """Accuracy on slices of one evaluation: light vs heavy users, popular vs long-tail items.

    - Users: the evaluated users split at the median of their training activity (``n_train``):
      light users have at most the median, heavy users more.
    - Items: the ``head_fraction`` most popular items of the catalogue by training users (ties
      by lower index) are "popular", the rest "long tail". Each slice scores the same top-k
      lists against only the test items in it (a user without such a test item is not in it),
      so long-tail recall is the share of long-tail test items the model recovers.

    Parameters
    ----------
    model : Recommender
        Fitted on ``train``.
    train, test : csr_matrix, shape [n_users, n_items]
        The split the model was evaluated on.
    k : int
        List length.
    result : EvaluationResult, optional
        ``evaluate(model, train, test, k)`` when already computed (its ``per_user`` gives the
        user slices); computed here otherwise.
    head_fraction : float
        Share of the catalogue counted as popular, in (0, 1).

    Returns
    -------
    pd.DataFrame
        One row per slice, in the order light users, heavy users, popular items, long-tail
        items: ``group`` ("users" / "items"), ``slice``, ``definition`` (one line),
        ``n_users``, ``n_test_interactions``, and :data:`SLICE_METRICS` (NaN for an empty
        slice). ``precision_implicit`` is micro-averaged, the rest are means over the slice's
        users.
    """
    if not 0 < head_fraction < 1:
        raise ParameterError(f"head_fraction needs to be between 0 and 1, got {head_fraction}.")
    train, test = as_csr(train, "train"), as_csr(test, "test")
    k = int(k)
    if result is None:
        result = evaluate(model, train, test, k, item_vectors=None, block_size=block_size)
    rows = _user_slices(result.per_user, k)
    rows += _item_slices(model, train, test, k, result.per_user, head_fraction, block_size)
    return pd.DataFrame(rows)


def _user_slices(per_user: pd.DataFrame, k: int) -> list[dict]:
    """The light and heavy users' rows: split at the median training activity."""
    activity = per_user["n_train"].to_numpy()
    median = float(np.median(activity)) if len(activity) else 0.0
    light = activity <= median
    shown = f"{median:g}"
    return [
        _slice_row("users", "light users", f"at most {shown} training items", per_user[light], k),
        _slice_row(
            "users", "heavy users", f"more than {shown} training items", per_user[~light], k
        ),
    ]


def _item_slices(
    model: Recommender,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    k: int,
    per_user: pd.DataFrame,
    head_fraction: float,
    block_size: int | None,
) -> list[dict]:
    """The popular and long-tail items' rows: the same lists scored against only the test
    items of each slice."""
    n_items = train.shape[1]
    popularity = item_counts(train.indices, n_items)
    n_head = min(max(1, int(round(head_fraction * n_items))), n_items - 1)
    head = np.zeros(n_items, dtype=bool)
    head[np.argsort(-popularity, kind="stable")[:n_head]] = True
    in_head = head[test.indices]
    total = max(int(test.nnz), 1)
    rows = []
    for name, keep, share in (
        ("popular items", in_head, n_head),
        ("long-tail items", ~in_head, n_items - n_head),
    ):
        part = test.copy()
        part.data = np.where(keep, part.data, 0).astype(part.data.dtype)
        part.eliminate_zeros()
        definition = (
            f"{'the' if name.startswith('popular') else 'the other'} {share:,} items "
            f"({share / n_items:.0%} of the catalogue, {keep.sum() / total:.0%} of test "
            "interactions)"
        )
        if part.nnz == 0:
            rows.append(_slice_row("items", name, definition, per_user.iloc[:0], k))
            continue
        sliced = evaluate(model, train, part, k, item_vectors=None, block_size=block_size)
        rows.append(_slice_row("items", name, definition, sliced.per_user, k))
    return rows


def _slice_row(group: str, name: str, definition: str, per_user: pd.DataFrame, k: int) -> dict:
    row: dict[str, Any] = {
        "group": group,
        "slice": name,
        "definition": definition,
        "n_users": int(len(per_user)),
        "n_test_interactions": int(per_user["n_test"].sum()) if len(per_user) else 0,
    }
    if len(per_user) == 0:
        row.update({metric: float("nan") for metric in SLICE_METRICS})
        return row
    for metric in SLICE_METRICS:
        row[metric] = accuracy(per_user, metric, k)
    return row
