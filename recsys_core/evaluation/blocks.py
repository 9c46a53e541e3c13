"""How evaluation reads a sparse matrix by blocks of users, and how big a block may be.

Nothing of shape users x items is ever built: users are scored a block at a time
(:func:`block_rows` rows), and each block's entries are read straight from the CSR arrays
(:func:`row_entries`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "BLOCK_BUDGET",
    "BLOCK_MEMORY_CAP",
    "as_csr",
    "block_rows",
    "item_counts",
    "row_entries",
]

BLOCK_BUDGET = 1 << 21
"""Scores per block by default: 8 MB of float32, so a block stays in cache."""
BLOCK_MEMORY_CAP = 64 << 20
"""Most bytes of float32 scores one block may hold (rows x items x 4), whatever ``block_size``
asks: an evaluation's working memory does not grow with the number of users."""


def block_rows(n_items: int, block_size: int | None) -> int:
    """Users scored at once: ``block_size`` (default about :data:`BLOCK_BUDGET` scores, 16 to
    4,096 rows), never more than :data:`BLOCK_MEMORY_CAP` bytes of float32 scores nor fewer
    than one row.

    Parameters
    ----------
    n_items : int
        Width of a score row.
    block_size : int or None
        Rows asked for; None for the default.

    Returns
    -------
    int
        At least 1.
    """
    per_row = 4 * max(int(n_items), 1)
    if block_size is None:
        block_size = max(16, min(4096, BLOCK_BUDGET // max(int(n_items), 1)))
    return max(1, min(int(block_size), BLOCK_MEMORY_CAP // per_row))


def row_entries(
    matrix: sp.csr_matrix, users: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stored entry of the given rows, in row order, without building a matrix.

    Parameters
    ----------
    matrix : csr_matrix, shape [n_users, n_items]
    users : array of int, shape [b]
        Rows to read.

    Returns
    -------
    (row_of, columns, positions)
        int arrays of the same length: the position of each entry's user in ``users``, its
        column (int64), and its position in ``matrix.data``.
    """
    starts = matrix.indptr[users].astype(np.int64)
    lengths = matrix.indptr[users + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    row_of = np.repeat(np.arange(len(users)), lengths)
    offsets = np.cumsum(lengths) - lengths
    positions = np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, lengths)
    return row_of, matrix.indices[positions].astype(np.int64), positions


def item_counts(indices: np.ndarray, n_items: int) -> np.ndarray:
    """``np.bincount(indices, minlength=n_items)`` a million entries at a time: bincount
    casts int32 indices to int64, a copy the size of every interaction at once otherwise.

    Parameters
    ----------
    indices : array of int, shape [nnz]
        Column indices (a CSR matrix's ``indices``).
    n_items : int

    Returns
    -------
    np.ndarray of int64, shape [n_items]
    """
    counts = np.zeros(n_items, dtype=np.int64)
    for first in range(0, len(indices), 1 << 20):
        counts += np.bincount(indices[first : first + (1 << 20)], minlength=n_items)
    return counts


def as_csr(matrix: Any, name: str) -> sp.csr_matrix:
    """``matrix`` as canonical CSR (duplicates summed, so an item is never counted twice); a
    ValueError naming ``name`` for anything but a scipy sparse matrix."""
    if not sp.issparse(matrix):
        raise ValueError(f"{name} needs to be a scipy sparse matrix, got {type(matrix).__name__}.")
    if not sp.isspmatrix_csr(matrix):
        matrix = sp.csr_matrix(matrix)
    if not matrix.has_canonical_format:  # duplicates would count an item twice
        matrix = matrix.copy()
        matrix.sum_duplicates()
    return matrix
