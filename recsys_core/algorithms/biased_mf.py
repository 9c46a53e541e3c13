"""``biased-mf``: explicit-rating matrix factorisation with biases, trained by ALS.

The model (the Lazy Programmer's derivation) predicts

    r_ui ~ mu + b_u + c_i + p_u . q_i

with ``mu`` the global mean of the training ratings, ``b_u`` / ``c_i`` user and item biases and
``p_u`` / ``q_i`` latent factors, minimising the squared error over the rated pairs plus
``regularization * (|p|^2 + |q|^2 + b^2 + c^2)``. Alternating least squares fixes the items and
solves every user exactly, then the reverse. Each user's ``[p_u, b_u]`` is solved *jointly*, as
one ridge regression on the augmented item vectors ``[q_i, 1]`` with targets ``r_ui - mu - c_i``
(an exact block minimisation; the post updates ``p_u`` and ``b_u`` one after the other):

    [p_u, b_u] = (sum_i x_i x_i' + lambda I)^-1 sum_i x_i (r_ui - mu - c_i),   x_i = [q_i, 1]

Vectorised per block: the right-hand sides are one sparse-dense product, the Gram matrices of
all rows are another (the ratings' 0/1 pattern times the upper triangles of the outer products
``x_i x_i'``), and all systems of a row chunk are solved in one batched ``np.linalg.solve``. On
a 6,000 x 3,500 matrix with 1M ratings and 10 factors, the Gram step takes 0.03 s this way
against 4.8 s summing outer products per rated pair with ``np.add.reduceat``. Users or items
without ratings get zero factors and bias.

``recommend`` ranks by predicted rating. ``item_vectors`` are the ``q_i`` (no bias), so
``similar_items`` is their cosine. ``recommend_for_history`` folds a new user in with the same
user step from the ratings given as ``weights`` (without weights, each history item counts as
rated at the top of the training scale). Training RMSE is recorded per iteration
(``train_rmse_``); :meth:`BiasedMF.rmse` scores any held-out ratings.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import DatasetError
from . import stored
from .base import Recommender
from .capabilities import LATENT_CAPABILITIES
from .params import Param
from .registry import register

_CHUNK_ELEMENTS = 1 << 23  # float64 elements per temporary block (64 MB)


@register
class BiasedMF(Recommender):
    name = "biased-mf"
    label = "Biased MF (explicit ALS)"
    description = (
        "Explicit-rating matrix factorisation with a global mean and user and item biases, "
        "trained by alternating least squares."
    )
    params = (
        Param(
            "factors",
            int,
            10,
            "Length of each user's and item's vector: more capture finer "
            "tastes, train slower and can overfit.",
            low=1,
            high=512,
            log=True,
            search=(4, 128),
            label="Latent factors",
        ),
        Param(
            "regularization",
            float,
            10.0,
            "L2 penalty on factors and biases: larger keeps the model simpler.",
            1e-4,
            1e4,
            log=True,
            search=(0.1, 100.0),
            label="Regularisation",
        ),
        Param(
            "iterations",
            int,
            15,
            "ALS sweeps (users, then items); more converge further and take longer.",
            low=1,
            high=1000,
            search=(5, 50),
            label="Training passes",
        ),
        Param(
            "random_state",
            int,
            0,
            "Seed of the initial item factors: the same seed gives the same model.",
            low=0,
            label="Random seed",
        ),
    )
    needs = frozenset({"ratings"})
    capabilities = LATENT_CAPABILITIES | {"epochs"}

    # ------------------------------------------------------------------ training
    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        values = self._validated_params()
        matrix = sp.csr_matrix(interactions, dtype=np.float32)
        if ratings is None:
            raise DatasetError(
                "biased-mf needs explicit ratings and none were given; use a MovieLens dataset "
                "or a file with a rating column."
            )
        rated = sp.csr_matrix(ratings, dtype=np.float64, copy=True)
        rated.sum_duplicates()
        rated.sort_indices()
        if rated.shape != matrix.shape:
            raise DatasetError(
                f"The ratings are {rated.shape[0]:,} x {rated.shape[1]:,} but the interactions "
                f"are {matrix.shape[0]:,} x {matrix.shape[1]:,}; pass the same dataset's ratings."
            )
        if rated.nnz == 0:
            raise DatasetError("biased-mf got an empty ratings matrix; it needs rated pairs.")
        if not np.all(np.isfinite(rated.data)):
            raise DatasetError("The ratings contain missing or infinite values; drop those rows.")
        factors = values["factors"]
        rng = np.random.default_rng(values["random_state"])
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        self.global_mean_ = float(rated.data.mean())
        self.rating_max_ = float(rated.data.max())
        self.user_factors_ = np.zeros((self.n_users_, factors))
        self.user_bias_ = np.zeros(self.n_users_)
        self.item_factors_ = rng.normal(0.0, 1.0 / np.sqrt(factors), (self.n_items_, factors))
        self.item_bias_ = np.zeros(self.n_items_)
        self.train_rmse_: list[float] = []
        by_item = rated.T.tocsr()
        by_item.sort_indices()
        iterations = values["iterations"]
        if progress:
            progress(0.0, "Training biased MF (ALS)")
        for iteration in range(iterations):
            self.als_step(rated, by_item)
            self.train_rmse_.append(self.rmse(rated))
            if progress:
                progress(
                    (iteration + 1) / iterations,
                    f"Iteration {iteration + 1} of {iterations}: train RMSE "
                    f"{self.train_rmse_[-1]:.4f}",
                )
            if on_epoch is not None and on_epoch(iteration + 1, self) is False:
                break
        return self

    def als_step(self, rated: sp.csr_matrix, by_item: sp.csr_matrix | None = None) -> None:
        """One ALS sweep: solve every user's ``[p_u, b_u]``, then every item's ``[q_i, c_i]``.

        Parameters
        ----------
        rated : csr_matrix of float64, shape [n_users, n_items]
            The training ratings.
        by_item : csr_matrix, optional
            ``rated.T`` as CSR (computed when absent).
        """
        reg = float(self.regularization)
        mu = self.global_mean_
        if by_item is None:
            by_item = rated.T.tocsr()
        solution = solve_block(rated, self.item_factors_, self.item_bias_, mu, reg)
        self.user_factors_, self.user_bias_ = solution[:, :-1], solution[:, -1]
        solution = solve_block(by_item, self.user_factors_, self.user_bias_, mu, reg)
        self.item_factors_, self.item_bias_ = solution[:, :-1], solution[:, -1]

    # ------------------------------------------------------------------ predictions
    def predict(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        """Predicted ratings for pairs: float64 [n_pairs] for user and item index arrays."""
        self._check_fitted()
        users = np.asarray(user_indices, dtype=np.int64)
        items = np.asarray(item_indices, dtype=np.int64)
        out = np.empty(len(users))
        step = 1 << 18
        for start in range(0, len(users), step):
            u, i = users[start : start + step], items[start : start + step]
            out[start : start + step] = (
                self.global_mean_
                + self.user_bias_[u]
                + self.item_bias_[i]
                + np.einsum("ij,ij->i", self.user_factors_[u], self.item_factors_[i])
            )
        return out

    def rmse(self, ratings: sp.csr_matrix) -> float:
        """Root mean squared error of the predictions on every stored rating of ``ratings``.

        Parameters
        ----------
        ratings : csr_matrix, shape [n_users, n_items]
            Ratings to score (the training ratings or a held-out split's).
        """
        coo = sp.coo_matrix(ratings)
        if coo.nnz == 0:
            raise DatasetError("There are no ratings to compute an RMSE on.")
        error = self.predict(coo.row, coo.col) - coo.data.astype(np.float64)
        return float(np.sqrt(np.mean(error**2)))

    def _score_users(self, users):
        scores = self.user_factors_[users] @ self.item_factors_.T
        scores += self.global_mean_ + self.item_bias_[None, :] + self.user_bias_[users][:, None]
        return scores.astype(np.float32)

    def _score_history(self, history):
        solution = solve_block(
            sp.csr_matrix(history, dtype=np.float64),
            self.item_factors_,
            self.item_bias_,
            self.global_mean_,
            float(self.regularization),
        )
        scores = solution[:, :-1] @ self.item_factors_.T
        scores += self.global_mean_ + self.item_bias_[None, :] + solution[:, -1:]
        return scores.astype(np.float32)

    def recommend_for_history(self, item_indices, k=10, *, weights=None, exclude_seen=True):
        """Top-k items for a new user from their ratings (``weights``; default: all top-rated).

        Returns
        -------
        (indices, scores) : 1-D int64 and float32 arrays, best first (predicted ratings).
        """
        self._check_fitted()
        if weights is None:
            weights = np.full(len(np.atleast_1d(item_indices)), self.rating_max_, np.float32)
        return super().recommend_for_history(
            item_indices, k, weights=weights, exclude_seen=exclude_seen
        )

    def item_vectors(self):
        self._check_fitted()
        return self.item_factors_.astype(np.float32)

    def user_vectors(self):
        self._check_fitted()
        return self.user_factors_.astype(np.float32)

    # ------------------------------------------------------------------ store
    def to_arrays(self):
        self._check_fitted()
        return {
            "user_factors": self.user_factors_,
            "user_bias": self.user_bias_,
            "item_factors": self.item_factors_,
            "item_bias": self.item_bias_,
            "global_mean": np.array(self.global_mean_),
            "rating_max": np.array(self.rating_max_),
            "train_rmse": np.asarray(self.train_rmse_, np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays, params):
        model = cls(**params)
        model._validated_params()
        users = stored.array(
            arrays, "user_factors", "user factor matrix", dtype=np.float64, shape=(None, None)
        )
        items = stored.array(
            arrays,
            "item_factors",
            "item factor matrix",
            dtype=np.float64,
            shape=(None, users.shape[1]),
        )
        model.user_factors_, model.item_factors_ = users, items
        model.user_bias_ = stored.array(
            arrays, "user_bias", "user bias vector", dtype=np.float64, shape=(len(users),)
        )
        model.item_bias_ = stored.array(
            arrays, "item_bias", "item bias vector", dtype=np.float64, shape=(len(items),)
        )
        model.global_mean_ = stored.number(arrays, "global_mean", "mean rating")
        model.rating_max_ = stored.number(arrays, "rating_max", "highest rating")
        rmse = stored.array(
            arrays,
            "train_rmse",
            "training error curve",
            dtype=np.float64,
            shape=(None,),
            finite=False,
        )
        model.train_rmse_ = [float(v) for v in rmse]
        model.n_users_, model.n_items_ = len(model.user_factors_), len(model.item_factors_)
        return model


def solve_block(
    rated: sp.csr_matrix,
    other_factors: np.ndarray,
    other_bias: np.ndarray,
    global_mean: float,
    regularization: float,
) -> np.ndarray:
    """Solve every row's ``[factors, bias]`` with the other side held fixed.

    Parameters
    ----------
    rated : csr_matrix of float64, shape [n_rows, n_other]
        Ratings, one row per user (user step) or per item (item step, the transpose).
    other_factors : float64 [n_other, factors]
        The fixed side's factors.
    other_bias : float64 [n_other]
        The fixed side's biases.
    global_mean : float
    regularization : float
        ``lambda`` added to the diagonal of every system.

    Returns
    -------
    float64 [n_rows, factors + 1]
        Each row's factors followed by its bias; rows without ratings get zeros.
    """
    rated = sp.csr_matrix(rated, dtype=np.float64)
    n_rows, n_other = rated.shape
    x = np.hstack([other_factors, np.ones((n_other, 1))])
    d = x.shape[1]
    residual = sp.csr_matrix(
        (rated.data - global_mean - other_bias[rated.indices], rated.indices, rated.indptr),
        shape=rated.shape,
    )
    rhs = np.asarray(residual @ x)
    # Gram matrices sum_i x_i x_i' of every row at once: the 0/1 pattern of the ratings times
    # the upper triangles of the outer products x_i x_i' (a sparse-dense product in C), in row
    # chunks and triangle blocks that keep every temporary under the budget
    pattern = sp.csr_matrix((np.ones(rated.nnz), rated.indices, rated.indptr), shape=rated.shape)
    upper, lower = np.triu_indices(d)
    n_pairs = len(upper)
    pair_block = int(max(1, min(n_pairs, _CHUNK_ELEMENTS // max(n_other, 1))))
    blocks = [(s, min(s + pair_block, n_pairs)) for s in range(0, n_pairs, pair_block)]
    cached = x[:, upper] * x[:, lower] if len(blocks) == 1 else None
    row_block = int(max(1, _CHUNK_ELEMENTS // (d * d)))
    eye = regularization * np.eye(d)
    out = np.empty((n_rows, d))
    for start in range(0, n_rows, row_block):
        stop = min(start + row_block, n_rows)
        part = pattern[start:stop]
        triangle = np.empty((stop - start, n_pairs))
        for first, last in blocks:
            outer = (
                cached if cached is not None else x[:, upper[first:last]] * x[:, lower[first:last]]
            )
            triangle[:, first:last] = part @ outer
        gram = np.empty((stop - start, d, d))
        gram[:, upper, lower] = triangle
        gram[:, lower, upper] = triangle
        gram += eye
        out[start:stop] = np.linalg.solve(gram, rhs[start:stop, :, None])[:, :, 0]
    return out
