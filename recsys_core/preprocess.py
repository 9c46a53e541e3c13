"""Preprocessing: dedupe, iterative k-core thresholding and confidence weighting.

Everything here is vectorised over the CSR arrays (``np.bincount`` on ``indices``, ``np.diff`` on
``indptr``); nothing loops over users or items in Python.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, overload

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .dataset import Dataset, as_csr
from .errors import DatasetError, ParameterError

CONFIDENCE_SCHEMES = ("alpha", "bm25", "tfidf")


# ---------------------------------------------------------------------------------- dedupe
@overload
def dedupe(data: Dataset) -> Dataset: ...
@overload
def dedupe(data: pd.DataFrame) -> pd.DataFrame: ...


def dedupe(data: Dataset | pd.DataFrame) -> Dataset | pd.DataFrame:
    """Count every (user, item) pair once.

    Parameters
    ----------
    data : Dataset or pd.DataFrame
        A Dataset, or a long frame of interactions with ``user`` and ``item`` columns.

    Returns
    -------
    Dataset or pd.DataFrame
        For a frame: the frame without repeated (user, item) rows (first row kept, index reset).
        For a Dataset (whose matrix has already summed repeated rows): the same Dataset with every
        weight set to 1.0, so a like recorded twice counts once. Use it on like / click data only:
        on play counts it throws the counts away. Timestamps and ratings are kept as they are.
    """
    if isinstance(data, pd.DataFrame):
        missing = [c for c in ("user", "item") if c not in data.columns]
        if missing:
            raise DatasetError(
                "dedupe needs the columns 'user' and 'item' but the frame has "
                f"{list(data.columns)}."
            )
        return data.drop_duplicates(subset=["user", "item"], keep="first").reset_index(drop=True)
    if not isinstance(data, Dataset):
        raise ParameterError(f"dedupe takes a Dataset or a DataFrame, not {type(data).__name__}.")
    matrix = data.interactions
    if matrix.nnz == 0 or bool(np.all(matrix.data == 1.0)):
        return data
    ones = sp.csr_matrix(
        (np.ones(matrix.nnz, np.float32), matrix.indices.copy(), matrix.indptr.copy()),
        shape=matrix.shape,
    )
    ones.has_sorted_indices = True
    return data.replace(interactions=ones)


# ---------------------------------------------------------------------------------- k-core
@dataclass(frozen=True)
class KcoreReport:
    """Before and after figures of an iterative k-core.

    ``rounds`` counts the passes (users, then items) that removed something; 0 means the data
    already met both minimums.
    """

    min_user: int
    min_item: int
    users_before: int
    items_before: int
    interactions_before: int
    density_before: float
    users_after: int
    items_after: int
    interactions_after: int
    density_after: float
    rounds: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"k-core (users >= {self.min_user}, items >= {self.min_item}): "
            f"{self.users_before:,} x {self.items_before:,} "
            f"({self.interactions_before:,} interactions, {self.density_before:.3%} dense) -> "
            f"{self.users_after:,} x {self.items_after:,} "
            f"({self.interactions_after:,} interactions, {self.density_after:.3%} dense) "
            f"in {self.rounds} round{'s' if self.rounds != 1 else ''}"
        )


def _check_minimum(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name} must be a whole number >= 0, got {value!r}.")
    return int(value)


def _kcore_masks(
    matrix: sp.csr_matrix, min_user: int, min_item: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows and columns that survive the iterative k-core, and the number of rounds.

    Each round drops users with fewer than ``min_user`` interactions among the kept items, then
    items with fewer than ``min_item`` interactions among the kept users, until nothing changes.
    Only the entries' row and column arrays are touched (no matrix is rebuilt per round).
    """
    n_users, n_items = matrix.shape
    rows = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(matrix.indptr))
    cols = matrix.indices
    user_alive = np.ones(n_users, bool)
    item_alive = np.ones(n_items, bool)
    entry_rows, entry_cols = rows, cols
    rounds = 0
    while True:
        changed = False
        user_degree = np.bincount(entry_rows, minlength=n_users)
        drop = user_alive & (user_degree < min_user)
        if drop.any():
            user_alive &= ~drop
            keep = user_alive[entry_rows]
            entry_rows, entry_cols = entry_rows[keep], entry_cols[keep]
            changed = True
        item_degree = np.bincount(entry_cols, minlength=n_items)
        drop = item_alive & (item_degree < min_item)
        if drop.any():
            item_alive &= ~drop
            keep = item_alive[entry_cols]
            entry_rows, entry_cols = entry_rows[keep], entry_cols[keep]
            changed = True
        if not changed:
            return user_alive, item_alive, rounds
        rounds += 1


def _density(n_interactions: int, n_users: int, n_items: int) -> float:
    cells = n_users * n_items
    return n_interactions / cells if cells else 0.0


def _report(
    matrix: sp.csr_matrix,
    user_alive: np.ndarray,
    item_alive: np.ndarray,
    min_user: int,
    min_item: int,
    rounds: int,
) -> KcoreReport:
    n_users, n_items = matrix.shape
    rows = np.repeat(user_alive, np.diff(matrix.indptr))
    kept = int(np.count_nonzero(rows & item_alive[matrix.indices]))
    users_after, items_after = int(user_alive.sum()), int(item_alive.sum())
    return KcoreReport(
        min_user=min_user,
        min_item=min_item,
        users_before=n_users,
        items_before=n_items,
        interactions_before=int(matrix.nnz),
        density_before=_density(int(matrix.nnz), n_users, n_items),
        users_after=users_after,
        items_after=items_after,
        interactions_after=kept,
        density_after=_density(kept, users_after, items_after),
        rounds=rounds,
    )


def _as_interactions(data: Dataset | sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    if isinstance(data, Dataset):
        return data.interactions
    if sp.issparse(data) and data.format == "csr":
        matrix = sp.csr_matrix(data)
        if not matrix.has_canonical_format:
            matrix = as_csr(matrix, dtype=matrix.dtype)
        return matrix
    raise ParameterError(
        f"interactions needs to be a Dataset or a CSR sparse matrix, not {type(data).__name__}."
    )


def kcore_preview(
    interactions: Dataset | sp.csr_matrix, min_user: int = 5, min_item: int = 5
) -> KcoreReport:
    """The figures of :func:`kcore` without building the smaller dataset (the app's slider).

    Parameters
    ----------
    interactions : csr_matrix, shape [n_users, n_items], or Dataset
        Entries count as interactions whatever their weight.
    min_user, min_item : int
        Minimum interactions a user / an item must keep.

    Returns
    -------
    KcoreReport
        Never raises for an empty result: the ``*_after`` figures are then 0.
    """
    min_user = _check_minimum("min_user", min_user)
    min_item = _check_minimum("min_item", min_item)
    matrix = _as_interactions(interactions)
    user_alive, item_alive, rounds = _kcore_masks(matrix, min_user, min_item)
    return _report(matrix, user_alive, item_alive, min_user, min_item, rounds)


def kcore(dataset: Dataset, min_user: int = 5, min_item: int = 5) -> tuple[Dataset, KcoreReport]:
    """Iterative k-core: drop users, then items, below their minimums until stable.

    As in the original WRMF post (which took Sketchfab from 62,583 x 28,806 to 15,274 x 25,655):
    removing a rare item can push a user under the minimum and vice versa, so the two passes
    alternate until neither removes anything. The result is the largest sub-matrix in which every
    user has at least ``min_user`` and every item at least ``min_item`` interactions.

    Parameters
    ----------
    dataset : Dataset
        Interactions of shape [n_users, n_items]; every stored entry counts as one interaction.
    min_user, min_item : int
        Minimum interactions per user and per item (0 keeps everything on that side).

    Returns
    -------
    (Dataset, KcoreReport)
        The dataset cut down with :meth:`Dataset.subset` (ids, items, timestamps and ratings
        follow; predefined splits in ``extras`` are renumbered), and the before / after figures.

    Raises
    ------
    DatasetError
        If the thresholds leave no interactions; the message gives the figures.
    """
    if not isinstance(dataset, Dataset):
        raise ParameterError(
            f"kcore takes a Dataset, not {type(dataset).__name__}; use kcore_preview for a matrix."
        )
    min_user = _check_minimum("min_user", min_user)
    min_item = _check_minimum("min_item", min_item)
    matrix = dataset.interactions
    user_alive, item_alive, rounds = _kcore_masks(matrix, min_user, min_item)
    report = _report(matrix, user_alive, item_alive, min_user, min_item, rounds)
    if report.interactions_after == 0:
        raise DatasetError(
            f"A k-core with min_user={min_user} and min_item={min_item} leaves "
            f"nothing of {dataset.name}'s {report.users_before:,} users x {report.items_before:,} "
            f"items x {report.interactions_before:,} interactions; lower the thresholds."
        )
    if user_alive.all() and item_alive.all():
        return dataset, report
    smaller = dataset.subset(np.flatnonzero(user_alive), np.flatnonzero(item_alive))
    splits = dataset.extras.get("predefined_splits")
    if splits:
        extras = dict(smaller.extras)
        extras["predefined_splits"] = {
            name: _reindex_keys(keys, dataset.n_items, user_alive, item_alive)
            for name, keys in splits.items()
        }
        smaller = smaller.replace(extras=extras)
    return smaller, report


def _reindex_keys(
    keys: np.ndarray, n_items: int, user_alive: np.ndarray, item_alive: np.ndarray
) -> np.ndarray:
    """Linear keys ``user * n_items + item`` renumbered for the kept rows and columns (pairs of
    dropped users or items left out), sorted int64."""
    rows, cols = np.divmod(np.asarray(keys, dtype=np.int64), n_items)
    kept = user_alive[rows] & item_alive[cols]
    new_row = np.cumsum(user_alive) - 1
    new_col = np.cumsum(item_alive) - 1
    return np.sort(new_row[rows[kept]] * int(item_alive.sum()) + new_col[cols[kept]])


# ---------------------------------------------------------------------------------- weighting
def confidence(
    matrix: sp.csr_matrix,
    scheme: str = "alpha",
    *,
    alpha: float = 40.0,
    K1: float = 100.0,  # noqa: N803  (implicit's spelling)
    B: float = 0.8,  # noqa: N803
) -> sp.csr_matrix:
    """Turn raw implicit feedback into confidence weights.

    Parameters
    ----------
    matrix : csr_matrix, shape [n_users, n_items]
        Raw weights (1 per like, play counts, ...).
    scheme : {"alpha", "bm25", "tfidf"}
        ``alpha``: ``1 + alpha * d`` on the stored entries (Hu, Koren and Volinsky 2008).
        ``bm25`` and ``tfidf``: exactly ``implicit.nearest_neighbours.bm25_weight`` /
        ``tfidf_weight`` applied to ``matrix`` as given (rows are the "documents", columns the
        "terms": idf per column, length normalisation per row). To weigh the way implicit's
        ``BM25Recommender`` does (idf per user), pass ``matrix.T.tocsr()`` and transpose back.
    alpha : float
        Scale for ``alpha`` (the WRMF post searched 1 to 1000); must be >= 0.
    K1, B : float
        BM25 saturation and length normalisation (implicit's defaults 100 and 0.8).

    Returns
    -------
    csr_matrix of float32, same shape and sparsity pattern as ``matrix`` (sorted indices). As in
    implicit, a bm25 / tfidf entry weighs 0 or less where a column is in (nearly) every row.
    """
    if not (sp.issparse(matrix) and matrix.format == "csr"):
        raise ParameterError(f"confidence needs a CSR sparse matrix, not {type(matrix).__name__}.")
    scheme = str(scheme).strip().lower()
    if scheme not in CONFIDENCE_SCHEMES:
        raise ParameterError(
            f"Unknown confidence scheme {scheme!r}; use one of {', '.join(CONFIDENCE_SCHEMES)}."
        )
    out = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    out.sum_duplicates()
    out.sort_indices()
    data = out.data
    if scheme == "alpha":
        if not np.isfinite(alpha) or alpha < 0:
            raise ParameterError(f"alpha must be a finite number >= 0, got {alpha!r}.")
        out.data = 1.0 + alpha * data
        return out.astype(np.float32)
    n_rows, n_cols = out.shape
    rows = np.repeat(np.arange(n_rows), np.diff(out.indptr))
    cols = out.indices
    idf = np.log(float(n_rows)) - np.log1p(np.bincount(cols, minlength=n_cols))
    if scheme == "tfidf":
        out.data = np.sqrt(data) * idf[cols]
        return out.astype(np.float32)
    if not np.isfinite(K1) or K1 < 0 or not np.isfinite(B) or not 0 <= B <= 1:
        raise ParameterError(f"bm25 needs K1 >= 0 and B in [0, 1], got K1={K1!r}, B={B!r}.")
    row_sums = np.bincount(rows, weights=data, minlength=n_rows)
    average_length = row_sums.mean() if n_rows else 0.0
    length_norm = (1.0 - B) + B * row_sums / average_length
    out.data = data * (K1 + 1.0) / (K1 * length_norm[rows] + data) * idf[cols]
    return out.astype(np.float32)
