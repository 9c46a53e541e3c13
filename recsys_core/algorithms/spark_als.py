"""``spark-als``: implicit-feedback ALS trained by Spark MLlib, browsed like any latent model.

Training runs ``pyspark.ml.recommendation.ALS(implicitPrefs=True, ...)`` on a SparkSession
(:func:`recsys_core.spark.als.fit_matrix`; :func:`recsys_core.spark.session.get_session` starts
``local[*]`` by default, a cluster master with ``master=spark://host:7077``, Spark Connect with
``SPARK_REMOTE`` or ``master=sc://...``). This module imports only that Spark engine, never the
model store: storing factors trained elsewhere is :mod:`recsys_core.spark.imports`. The
matrix goes to Spark with the matrix indices as ids, and the factors come back as numpy arrays in
the same order; from then on the model is plain numpy: ``score = U V^T``, similar items by cosine
of the item factors. Loading a stored model never imports pyspark (the registry keeps the class
for loading where pyspark is absent).

Spark's conventions, which the history fold-in and ``explain`` reproduce exactly:

- confidence ``c = 1 + alpha * weight`` and preference 1 for an observed pair, confidence 1 and
  preference 0 for the rest (Hu, Koren and Volinsky), as the ``als`` family;
- the L2 penalty of a user is ``regParam * n_u``, ``n_u`` the number of items the user has
  (ALS-WR, Zhou et al. 2008): Spark scales ``regParam`` by each row's count, implicit's
  ``regularization`` is not scaled. For a user with 25 interactions ``regParam=0.004`` weighs
  like ``regularization=0.1``;
- the user vector for a history is therefore ``(Y'Y + Y' (C - I) Y + regParam * n * I)^-1
  Y' C p``, the solve Spark does for each user in every iteration: a training user's own history
  gives back its trained vector (to float precision).

Spark runs all ``maxIter`` iterations in one call: progress is reported when Spark starts, when
training starts, when the factors are collected and at the end; ``on_epoch`` is not supported
(no ``epochs`` capability). Users or items without an interaction get zero vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFitError
from ..spark.als import fit_matrix
from ..spark.session import DEFAULT_MASTER, pyspark_available, pyspark_missing_message
from . import register, register_load_only, stored
from .base import (
    LATENT_CAPABILITIES,
    OnEpoch,
    Param,
    Progress,
    Recommender,
    contribution_shares,
    normalise_rows,
)
from .base import (
    as_csr32 as _as_csr32,
)


class SparkALS(Recommender):
    name = "spark-als"
    label = "Spark ALS"
    description = (
        "Implicit ALS trained by Spark MLlib (local, on a cluster, or through Spark Connect); "
        "confidence 1 + alpha * weight, L2 penalty scaled by each user's and item's count."
    )
    params = (
        Param(
            "rank",
            int,
            64,
            "Length of each user's and item's vector: more capture finer tastes and train slower.",
            low=1,
            high=1024,
            log=True,
            search=(16, 256),
            label="Latent factors (rank)",
        ),
        Param(
            "maxIter",
            int,
            15,
            "ALS sweeps (users, then items); more converge further and take longer.",
            low=1,
            high=10_000,
            search=(5, 30),
            label="Training passes",
        ),
        Param(
            "regParam",
            float,
            0.01,
            "L2 penalty, multiplied by each user's (item's) number of interactions (ALS-WR).",
            low=0.0,
            high=1e4,
            log=True,
            search=(1e-3, 1.0),
            label="Regularisation",
        ),
        Param(
            "alpha",
            float,
            40.0,
            "How much more a like counts than a missing one: confidence = 1 + alpha x weight.",
            low=0.0,
            high=1e5,
            log=True,
            search=(1.0, 100.0),
            label="Confidence scale (alpha)",
        ),
        Param(
            "seed",
            int,
            0,
            "Seed of the initial factors: the same seed gives the same model.",
            low=0,
            label="Random seed",
        ),
        Param(
            "master",
            str,
            DEFAULT_MASTER,
            "Where Spark runs: local[*], spark://host:7077, yarn, k8s://... or sc://host:15002 "
            "(SPARK_REMOTE replaces the default).",
            label="Spark master",
        ),
        Param(
            "blocks",
            int,
            0,
            "ALS user and item blocks (partitions); 0: 2 on a local master (reproducible), "
            "Spark's default (10) elsewhere.",
            low=0,
            high=100_000,
            label="Partitions (blocks)",
        ),
    )
    capabilities = LATENT_CAPABILITIES

    # ------------------------------------------------------------ training
    def fit(
        self,
        interactions: sp.csr_matrix,
        *,
        items=None,
        ratings=None,
        progress: Progress | None = None,
        on_epoch: OnEpoch | None = None,
    ) -> Recommender:
        values = self._validated_params()
        matrix = _as_csr32(interactions)
        if matrix.nnz == 0:
            raise ModelFitError(f"{self.name} cannot train on an empty interaction matrix.")
        user_factors, item_factors = fit_matrix(matrix, values, progress)
        if not (np.isfinite(user_factors).all() and np.isfinite(item_factors).all()):
            raise ModelFitError(
                f"{self.name} training produced NaN factors; try a higher regParam or a lower "
                "alpha."
            )
        self._set_factors(user_factors, item_factors)
        self.user_items_ = matrix
        if progress:
            progress(1.0, "Done")
        return self

    fit.__doc__ = Recommender.fit.__doc__

    @classmethod
    def from_factors(
        cls, user_factors: np.ndarray, item_factors: np.ndarray, params: dict[str, Any]
    ) -> SparkALS:
        """A fitted model from factors trained elsewhere (``export-factors``), no Spark needed.

        Parameters
        ----------
        user_factors : float array, shape [n_users, rank]
        item_factors : float array, shape [n_items, rank]
        params : dict
            Values for the schema (missing ones take their defaults).
        """
        model = cls(**params)
        model._validated_params()
        user_factors = np.asarray(user_factors, dtype=np.float32)
        item_factors = np.asarray(item_factors, dtype=np.float32)
        if user_factors.ndim != 2 or item_factors.ndim != 2:
            raise ValueError("user_factors and item_factors must be 2-D arrays.")
        if user_factors.shape[1] != item_factors.shape[1]:
            raise ValueError(
                f"user factors have rank {user_factors.shape[1]} but item factors "
                f"{item_factors.shape[1]}."
            )
        model._set_factors(user_factors, item_factors)
        return model

    def _set_factors(self, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)
        self.n_users_ = self.user_factors_.shape[0]
        self.n_items_ = self.item_factors_.shape[0]
        self._normed_items = None
        self._gram = None

    # ------------------------------------------------------------ queries
    def item_vectors(self) -> np.ndarray | None:
        self._check_fitted()
        return self.item_factors_

    def user_vectors(self) -> np.ndarray | None:
        self._check_fitted()
        return self.user_factors_

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self.fold_in(history) @ self.item_factors_.T

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        if self._normed_items is None:
            self._normed_items = normalise_rows(self.item_factors_)
        normed = self._normed_items
        return normed[items] @ normed.T

    def _item_gram(self) -> tuple[np.ndarray, np.ndarray]:
        if self._gram is None:
            factors = self.item_factors_.astype(np.float64)
            self._gram = (factors, factors.T @ factors)
        return self._gram

    def _system(self, cols: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Spark's normal equations for one user: ``A u = b`` (see the module docstring)."""
        factors, gram = self._item_gram()
        extra = float(self.alpha) * np.abs(np.asarray(weights, np.float64))
        ys = factors[cols]
        a = gram + (ys.T * extra) @ ys
        a[np.diag_indices_from(a)] += float(self.regParam) * len(cols)
        b = ys.T @ (1.0 + extra)
        return a, b

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User vectors for histories: Spark's own per-user least-squares solve.

        Parameters
        ----------
        history : csr_matrix, shape [n_rows, n_items]
            One row per history; only positive weights count.

        Returns
        -------
        np.ndarray of float32, shape [n_rows, rank]
            The vector Spark's ALS would give each history (zero for an empty one).
        """
        history = _as_csr32(history)
        out = np.zeros((history.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        for row in range(history.shape[0]):
            start, end = history.indptr[row], history.indptr[row + 1]
            keep = history.data[start:end] > 0
            cols = history.indices[start:end][keep]
            if len(cols) == 0:
                continue
            a, b = self._system(cols, history.data[start:end][keep])
            out[row] = _solve(a, b)
        return out

    def explain(
        self, user_index: int, item_index: int, k: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check_users(user_index)
        self._check_items(item_index)
        history = self._history(user_index)
        if history.size == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        row = self.user_items_[int(user_index)]
        weights = np.asarray(row.data, np.float64)
        keep = weights > 0
        cols, weights = row.indices[keep], weights[keep]
        a, _ = self._system(cols, weights)
        factors, _ = self._item_gram()
        direction = _solve(a, factors[int(item_index)])
        contributions = (1.0 + float(self.alpha) * weights) * (factors[cols] @ direction)
        return contribution_shares(cols.astype(np.int64), contributions, k)

    explain.__doc__ = (Recommender.explain.__doc__ or "") + (
        "\n        spark-als: history item j contributes ``c_j * y_j' A^-1 y_item`` (Hu et al., "
        "section 5), which sums to the folded-in score of the item.\n"
    )

    # ------------------------------------------------------------ store
    def to_arrays(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Recommender:
        users = stored.array(arrays, "user_factors", "user factor matrix", shape=(None, None))
        items = stored.array(arrays, "item_factors", "item factor matrix", shape=(None, None))
        stored.same_width(users, items, "user and item factor matrices")
        return cls.from_factors(users, items, params)


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:  # regParam 0 and a rank-deficient history
        return np.linalg.lstsq(a, b, rcond=None)[0]


if pyspark_available():
    register(SparkALS)
else:  # stored spark-als models still load; training says how to install pyspark
    register_load_only(SparkALS, pyspark_missing_message("Training spark-als"))
