"""``ease``: Embarrassingly Shallow Autoencoder (Steck 2019), closed form in numpy / LAPACK.

``B = I - P / diag(P)`` with ``P = (X'X + lambda I)^-1``, so ``diag(B) = 0``; a user's scores are
``x B``. The Gram matrix is dense (``n_items^2`` float64), so EASE refuses, with a message that
names the alternative, when the item count would not fit in memory (:func:`memory_needed`).

- ``similar_items(i)`` ranks items by row ``i`` of ``B``: the scores a user who liked only ``i``
  would get (``B`` is not symmetric).
- ``explain``: history item ``j`` contributes ``x[u, j] * B[j, item]`` (exact decomposition).
- There is no latent space: ``item_vectors()`` and ``user_vectors()`` are None.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..errors import ModelFitError
from . import stored
from .base import Recommender
from .capabilities import ITEM_ITEM_CAPABILITIES
from .params import Param
from .registry import register

BYTES_PER_ITEM_PAIR = 12
"""Peak memory per item pair: the float64 Gram / inverse (8) plus the float32 ``B`` (4)."""


def memory_needed(n_items: int) -> int:
    """Bytes EASE needs at its peak for ``n_items`` items (``12 * n_items**2``)."""
    return BYTES_PER_ITEM_PAIR * int(n_items) ** 2


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``; physical memory where unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 8 * 1024**3


def _gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:.1f} GB"


@register
class EASE(Recommender):
    name = "ease"
    label = "EASE"
    description = (
        "Embarrassingly shallow autoencoder (Steck 2019): a closed-form item-item weight "
        "matrix; strong on small and medium catalogues."
    )
    params = (
        Param(
            "lambda",
            float,
            500.0,
            "L2 penalty on the item-item weights: larger smooths them toward zero.",
            0.01,
            1e7,
            log=True,
            search=(10.0, 1e4),
            label="Regularisation (lambda)",
        ),
    )
    capabilities = ITEM_ITEM_CAPABILITIES

    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        values = self._validated_params()
        matrix = sp.csr_matrix(interactions, dtype=np.float32)
        n_items = matrix.shape[1]
        needed = memory_needed(n_items)
        free = available_memory()
        if needed > free / 2:
            raise ModelFitError(
                f"EASE needs about {_gigabytes(needed)} for {n_items:,} items but only "
                f"{_gigabytes(free)} of memory is available; use item-knn or als for a "
                "catalogue this size."
            )
        if progress:
            progress(0.0, f"Gram matrix of {n_items:,} items")
        gram = _gram(matrix)
        gram[np.diag_indices(n_items)] += values["lambda"]
        if progress:
            progress(0.3, "Inverting the Gram matrix")
        inverse = _spd_inverse(gram)
        del gram
        diagonal = np.diag(inverse).copy()
        inverse /= -diagonal[None, :]
        inverse[np.diag_indices(n_items)] = 0.0
        self.B_ = np.ascontiguousarray(inverse, dtype=np.float32)  # C order: fast row slices
        del inverse
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        if progress:
            progress(1.0, "Done")
        return self

    fit.__doc__ = Recommender.fit.__doc__

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.user_items_[users] @ self.B_)

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray(sp.csr_matrix(history, dtype=np.float32) @ self.B_)

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        return self.B_[items]

    def explain(
        self, user_index: int, item_index: int, k: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._explain_by_item_weights(
            user_index, item_index, k, lambda history, item: self.B_[history, item]
        )

    explain.__doc__ = Recommender.explain.__doc__

    def to_arrays(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {"B": self.B_, "n_users": np.asarray(self.n_users_, dtype=np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Recommender:
        model = cls(**params)
        model._validated_params()
        model.B_ = stored.array(arrays, "B", "item weight matrix", shape=(None, None))
        if model.B_.shape[0] != model.B_.shape[1]:
            raise stored.DamagedArrays("its item weight matrix is not square")
        model.n_users_ = stored.count(arrays, "n_users", "user count")
        model.n_items_ = model.B_.shape[0]
        return model


_BLOCK = 1024


def _gram(matrix: sp.csr_matrix) -> np.ndarray:
    """Dense ``X'X`` as a Fortran-ordered float64 array, built a block of columns at a time
    (the sparse product of the whole matrix can be larger than the dense result)."""
    n_items = matrix.shape[1]
    by_column = sp.csc_matrix(matrix, dtype=np.float64)
    transposed = by_column.T.tocsr()
    gram = np.empty((n_items, n_items), dtype=np.float64, order="F")
    for start in range(0, n_items, _BLOCK):
        stop = min(start + _BLOCK, n_items)
        gram[:, start:stop] = (transposed @ by_column[:, start:stop]).toarray()
    return gram


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite Fortran-ordered matrix, in place (LAPACK
    potrf + potri, which fill the upper triangle; the lower one is copied a block at a time)."""
    lapack = scipy.linalg.lapack
    factor, info = lapack.dpotrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise ModelFitError(
            "The EASE Gram matrix is not positive definite; raise lambda (for example to 500)."
        )
    inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ModelFitError("Inverting the EASE Gram matrix failed; raise lambda.")
    n = len(inverse)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        # rows start:stop, columns before the block: the transpose of the upper part above it
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
    return inverse
