"""``svd``: PureSVD (Cremonesi, Koren and Turrin 2010), a truncated SVD of the interactions.

``X ~ U diag(s) V'`` with ``factors`` components (scikit-learn's randomized SVD, seeded by
``random_state``). A user's scores are ``x V V'``: the user's row projected on the item space and
back. That formula serves known users and new histories alike, so ``recommend_for_history`` on a
user's own history equals ``recommend`` (up to float rounding).

- ``item_vectors()`` is ``V diag(s)``: their dot products are those of the columns of the rank-k
  reconstruction, and their cosines give ``similar_items``.
- ``user_vectors()`` is ``x V diag(s)^-1`` (``U`` for a training user), so that
  ``user_vectors() @ item_vectors().T`` is the score matrix ``X V V'``.
- ``explain`` uses the base rule (cosine of each history item to the item).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFitError, ParameterError
from . import stored
from .base import Recommender, normalise_rows
from .capabilities import LATENT_CAPABILITIES
from .params import Param
from .registry import register


@register
class PureSVD(Recommender):
    name = "svd"
    label = "PureSVD"
    description = "Truncated SVD of the interaction matrix (PureSVD): scores are x V V'."
    params = (
        Param(
            "factors",
            int,
            64,
            "Singular vectors kept: more capture finer structure and cost more memory.",
            low=1,
            high=2048,
            log=True,
            search=(8, 256),
            label="Latent factors",
        ),
        Param(
            "random_state",
            int,
            0,
            "Seed of the randomised SVD: the same seed gives the same model.",
            low=0,
            label="Random seed",
        ),
    )
    capabilities = LATENT_CAPABILITIES

    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        values = self._validated_params()
        matrix = sp.csr_matrix(interactions, dtype=np.float32)
        if matrix.nnz == 0:
            raise ModelFitError("svd cannot train on an empty interaction matrix.")
        factors = values["factors"]
        limit = min(matrix.shape)
        if factors >= limit:
            raise ParameterError(
                f"svd factors={factors} must be below the smaller side of the matrix "
                f"({limit:,}); lower factors."
            )
        if progress:
            progress(0.0, f"Truncated SVD, {factors} factors")
        from sklearn.utils.extmath import randomized_svd  # 1.2 s: only when training

        _, sigma, vt = randomized_svd(
            matrix, factors, n_iter="auto", random_state=values["random_state"]
        )
        self.V_ = np.ascontiguousarray(vt.T, dtype=np.float32)
        self.sigma_ = sigma.astype(np.float32)
        self.user_factors_ = np.asarray(matrix @ self.V_, dtype=np.float32)
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        self._normed_items = None
        if progress:
            progress(1.0, "Done")
        return self

    fit.__doc__ = Recommender.fit.__doc__

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.V_.T

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        projected = np.asarray(sp.csr_matrix(history, dtype=np.float32) @ self.V_, np.float32)
        return projected @ self.V_.T

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        if self._normed_items is None:
            self._normed_items = normalise_rows(self.item_vectors())
        return self._normed_items[items] @ self._normed_items.T

    def item_vectors(self) -> np.ndarray | None:
        self._check_fitted()
        return self.V_ * self.sigma_[None, :]

    def user_vectors(self) -> np.ndarray | None:
        self._check_fitted()
        sigma = np.where(self.sigma_ > 0, self.sigma_, 1.0).astype(np.float32)
        return self.user_factors_ / sigma[None, :]

    item_vectors.__doc__ = Recommender.item_vectors.__doc__
    user_vectors.__doc__ = Recommender.user_vectors.__doc__

    def to_arrays(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {"V": self.V_, "sigma": self.sigma_, "user_factors": self.user_factors_}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Recommender:
        model = cls(**params)
        model._validated_params()
        model.V_ = stored.array(arrays, "V", "item factor matrix", shape=(None, None))
        width = model.V_.shape[1]
        model.sigma_ = stored.array(arrays, "sigma", "singular value vector", shape=(width,))
        model.user_factors_ = stored.array(
            arrays, "user_factors", "user factor matrix", shape=(None, width)
        )
        model.n_users_ = model.user_factors_.shape[0]
        model.n_items_ = model.V_.shape[0]
        model._normed_items = None
        return model
