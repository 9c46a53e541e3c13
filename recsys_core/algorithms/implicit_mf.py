"""``als``, ``bpr`` and ``lmf``: matrix factorisation adapters over benfred/implicit 0.7 (CPU).

The library's models are kept as ``model_`` so its own fast paths stay available; our queries
are computed from the same factors, so they agree with the library's (``item-knn``, implicit's
neighbours, is :mod:`.item_knn`).

- ``als`` (WRMF, Hu, Koren and Volinsky 2008): confidence ``1 + alpha * weight`` for an observed
  pair, 1 for the rest. implicit 0.7's own ``alpha`` multiplies the weights (``alpha * weight``,
  no ``+ 1``), so the adapter builds the confidences itself and gives implicit ``alpha=1``.
  A history is scored by solving the user's least-squares problem exactly (implicit's
  ``recalculate_user``), which is what training solves (approximately, by conjugate gradient)
  for a known user: ``recommend_for_history`` on a user's own history ~ ``recommend``.
  ``explain`` is implicit's ``explain`` (Hu et al., section 5).
- ``bpr`` and ``lmf``: the item factors carry the library's bias columns (BPR: one, the item
  bias, with a constant 1 in the user vector; LMF: two), so ``user_vectors() @
  item_vectors().T`` is exactly the score. A new history is folded in *approximately*: the user
  vector that best reproduces the history over all items in a weighted least-squares sense
  (``_fold_in``); these models were not trained that way, so it agrees with ``recommend`` on
  the top items but not exactly.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from implicit.recommender_base import ModelFitError as LibraryFitError
from threadpoolctl import threadpool_limits

from ..errors import ModelFitError
from . import stored
from .base import OnEpoch, Progress, Recommender, as_csr32, contribution_shares, normalise_rows
from .capabilities import LATENT_CAPABILITIES
from .params import Param
from .registry import register


class _StopTraining(Exception):
    """Raised from implicit's epoch callback when ``on_epoch`` returns False."""


def _fit_error(name: str, error: Exception, hint: str) -> ModelFitError:
    return ModelFitError(f"{name} training failed ({error}); {hint}")


# ------------------------------------------------------------------------------- matrix factors
class _ImplicitFactorModel(Recommender):
    """Shared by als, bpr and lmf: an implicit matrix-factorisation model kept as ``model_``."""

    capabilities = LATENT_CAPABILITIES | {"epochs"}
    _diverged_hint: ClassVar[str] = "try a lower learning_rate or a higher regularization."
    FOLD_ALPHA: ClassVar[float] = 40.0
    """Confidence of a history item in the approximate fold-in (``_fold_in``)."""
    _loss_in_callback: ClassVar[bool] = False
    """implicit passes the training loss as the callback's last argument (ALS only)."""
    _bias_columns: ClassVar[int] = 0
    """Factor columns implicit adds to ``factors`` for its biases (BPR: 1, LMF: 2)."""

    # ------------------------------------------------------------ what each family provides
    def _library_model(self, values: dict[str, Any]):  # pragma: no cover - abstract
        raise NotImplementedError

    def _training_matrix(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """The matrix handed to implicit's ``fit`` (ALS: confidences)."""
        return matrix

    def _epochs(self) -> int:
        return int(self.iterations)

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
        matrix = as_csr32(interactions)
        if matrix.nnz == 0:
            raise ModelFitError(f"{self.name} cannot train on an empty interaction matrix.")
        train = self._training_matrix(matrix)
        total = self._epochs()
        if progress:
            progress(0.0, f"Training {self.name}")
        self.epochs_done_ = 0
        self.training_loss_: list[float] = []

        def callback(epoch: int, *extra: Any) -> None:
            self.epochs_done_ = epoch + 1
            self._invalidate()
            if self._loss_in_callback and extra and extra[-1] is not None:
                self.training_loss_.append(float(extra[-1]))
            if progress:
                progress(min(1.0, (epoch + 1) / total), f"Epoch {epoch + 1}/{total}")
            if on_epoch is not None and on_epoch(epoch + 1, self) is False:
                raise _StopTraining

        with threadpool_limits(1, "blas"):
            model = self._library_model(values)
            # fitted state first, so that on_epoch can query the model between epochs
            self.model_ = model
            self.n_users_, self.n_items_ = matrix.shape
            self.user_items_ = matrix
            self._normed_items = None
            try:
                model.fit(train, show_progress=False, callback=callback)
            except _StopTraining:
                self._check_factors()
            except LibraryFitError as error:
                self.n_items_ = None
                raise _fit_error(self.name, error, self._diverged_hint) from error
            except BaseException:
                self.n_items_ = None
                raise
        self._invalidate()
        if progress:
            progress(1.0, "Done")
        return self

    fit.__doc__ = Recommender.fit.__doc__

    def _check_factors(self) -> None:
        model = self.model_
        if np.isnan(model.user_factors).any() or np.isnan(model.item_factors).any():
            self.n_items_ = None
            raise ModelFitError(f"{self.name} training produced NaN factors; {self._diverged_hint}")

    def _invalidate(self) -> None:
        """Forget caches derived from the factors (they change every epoch)."""
        model = getattr(self, "model_", None)
        if model is not None:
            _forget_library_caches(model)
        self._normed_items = None
        self._gram = None

    # ------------------------------------------------------------ queries
    def item_vectors(self) -> np.ndarray | None:
        self._check_fitted()
        return self.model_.item_factors

    def user_vectors(self) -> np.ndarray | None:
        self._check_fitted()
        return self.model_.user_factors

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self.model_.user_factors[users] @ self.model_.item_factors.T

    def recommend(self, user_index, k=10, *, exclude_seen=True, filter_items=None):
        """Batches go through implicit's own multithreaded top-k (same scores, same seen-item
        filter, as fast as implicit's ``recommend``); one user takes the base class's path."""
        if np.ndim(user_index) == 0:
            return super().recommend(
                user_index, k, exclude_seen=exclude_seen, filter_items=filter_items
            )
        from implicit.cpu.topk import topk

        users = self._check_users(user_index)
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        seen = None
        if exclude_seen and self.user_items_ is not None:
            seen = as_csr32(self.user_items_[users])
        extra = None if filter_items is None else np.asarray(filter_items, dtype=np.int32)
        with threadpool_limits(1, "blas"):
            ids, scores = topk(
                self.model_.item_factors,
                np.ascontiguousarray(self.model_.user_factors[users]),
                min(int(k), self.n_items_),
                filter_query_items=seen,
                filter_items=extra,
                num_threads=0,
            )
        scores = np.asarray(scores, dtype=np.float32)
        ids = np.where(np.isfinite(scores), ids, -1).astype(np.int64)
        scores[ids < 0] = -np.inf
        return ids, scores

    recommend.__doc__ = (recommend.__doc__ or "") + "\n" + (Recommender.recommend.__doc__ or "")

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._fold_in(history) @ self.model_.item_factors.T

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        normed = self._normed_items
        if normed is None:  # a model is shared by the app's sessions (threads): the Fortran
            normed = normalise_rows(self.model_.item_factors)  # copy is set before the array
            self._normed_items_f = np.asfortranarray(normed)  # another thread checks
            self._normed_items = normed
        if len(items) == 1:  # one item: a matrix-vector product (Fortran order is the fast one)
            return (self._normed_items_f @ normed[int(items[0])])[None, :]
        return normed[items] @ normed.T

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Approximate user vectors for histories the model was not trained on.

        Solves ``min_u sum_i c_i (p_i - u . y_i)^2 + reg * |u|^2`` over all items ``i``, with
        ``p_i = 1`` and ``c_i = 1 + FOLD_ALPHA * weight`` for history items and ``p_i = 0``,
        ``c_i = 1`` for the rest (the WRMF objective for one user with the item factors ``Y``
        fixed); ``reg`` is 10 % of the mean squared item-factor norm times the factor count.
        """
        if self._gram is None:
            factors = np.asarray(self.model_.item_factors, dtype=np.float64)
            gram = factors.T @ factors
            ridge = 0.1 * np.trace(gram) / max(len(factors), 1) * factors.shape[1]
            self._gram = (factors, gram + max(ridge, 1e-9) * np.eye(factors.shape[1]))
        factors, gram = self._gram
        out = np.zeros((history.shape[0], factors.shape[1]), dtype=np.float32)
        for row in range(history.shape[0]):
            start, end = history.indptr[row], history.indptr[row + 1]
            if start == end:
                continue
            cols = history.indices[start:end]
            conf = 1.0 + self.FOLD_ALPHA * np.asarray(history.data[start:end], np.float64)
            ys = factors[cols]
            a = gram + (ys.T * (conf - 1.0)) @ ys
            b = ys.T @ conf
            out[row] = np.linalg.solve(a, b)
        return out

    # ------------------------------------------------------------ store
    def to_arrays(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {
            "user_factors": np.asarray(self.model_.user_factors),
            "item_factors": np.asarray(self.model_.item_factors),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Recommender:
        model = cls(**params)
        values = model._validated_params()
        # implicit's compiled code trusts these shapes (ALS passes ``factors`` to its solver)
        shape = (None, values["factors"] + cls._bias_columns)
        user_factors = stored.array(arrays, "user_factors", "user factor matrix", shape=shape)
        item_factors = stored.array(arrays, "item_factors", "item factor matrix", shape=shape)
        with threadpool_limits(1, "blas"):
            library = model._library_model(values)
        library.user_factors = user_factors
        library.item_factors = item_factors
        model.model_ = library
        model.n_users_ = library.user_factors.shape[0]
        model.n_items_ = library.item_factors.shape[0]
        model._invalidate()
        return model


def _forget_library_caches(library: Any) -> None:
    """Drop what an implicit model caches from its factors (norms; ALS's ``YtY`` and ``XtX``).

    implicit 0.7.3 keeps these in private attributes and resets them only inside its own
    ``fit`` (at the start, not between epochs) and ``partial_fit_users`` / ``partial_fit_items``
    (which recompute factors): it has no public call that only forgets them. We change the
    factors under it, between epochs (``on_epoch`` may query the model, and ALS's
    ``recalculate_user`` would then use last epoch's ``YtY``) and when loading stored factors,
    so this is the one place that writes implicit's private state.
    """
    library._user_norms = library._item_norms = None
    if hasattr(library, "_YtY"):
        library._YtY = None
        library._XtX = None


def _common_params(
    factors: int,
    iterations: int,
    factors_search: tuple[int, int],
    iterations_search: tuple[int, int],
) -> tuple[Param, ...]:
    """``factors`` and ``iterations`` with their defaults and search ranges."""
    return (
        Param(
            "factors",
            int,
            factors,
            "Length of each user's and item's vector: more capture finer tastes and train slower.",
            low=1,
            high=1024,
            log=True,
            search=factors_search,
            label="Latent factors",
        ),
        Param(
            "iterations",
            int,
            iterations,
            "Passes over the data (epochs); more fit better up to a point and take longer.",
            low=1,
            high=10_000,
            search=iterations_search,
            label="Training passes",
        ),
    )


@register
class ALS(_ImplicitFactorModel):
    name = "als"
    label = "ALS (WRMF)"
    description = (
        "Weighted matrix factorisation by alternating least squares (Hu, Koren and Volinsky); "
        "confidence 1 + alpha * weight."
    )
    params = _common_params(64, 15, (16, 256), (5, 30)) + (
        Param(
            "regularization",
            float,
            0.01,
            "L2 penalty on the factors: larger keeps them small and guards against overfitting.",
            0.0,
            1e4,
            log=True,
            search=(1e-3, 10.0),
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
            "random_state",
            int,
            0,
            "Seed of the initial factors: the same seed gives the same model.",
            low=0,
            label="Random seed",
        ),
        Param(
            "calculate_training_loss",
            bool,
            False,
            "Compute the training loss after every pass, for learning curves (slower).",
            label="Track training loss",
        ),
    )
    presets = {
        "sketchfab-best": {
            "alpha": 50.0,
            "factors": 40,
            "regularization": 0.1,
            "iterations": 22,
        }
    }
    _diverged_hint = "try a higher regularization or a lower alpha."
    _loss_in_callback = True

    def _library_model(self, values: dict[str, Any]):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=values["factors"],
            regularization=values["regularization"],
            alpha=1.0,  # confidences are built by _confidence (1 + alpha * weight)
            iterations=values["iterations"],
            calculate_training_loss=values["calculate_training_loss"],
            random_state=values["random_state"],
        )

    def _confidence(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """``1 + alpha * weight`` on the stored entries (float32 CSR, same pattern)."""
        data = np.asarray(matrix.data, dtype=np.float32) * np.float32(self.alpha)
        data += np.float32(1.0)
        return sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)

    def _training_matrix(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        return self._confidence(matrix)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Exact least-squares user vectors (implicit's ``recalculate_user``)."""
        conf = self._confidence(as_csr32(history))
        # no threadpool_limits here (it costs milliseconds a call), and one OpenMP thread for a
        # few rows: starting the pool costs more than the solve (30 ms against 30 us on 2 cores)
        library = self.model_
        if conf.shape[0] < 256:
            library.YtY  # noqa: B018  (computed and cached on the shared model first)
            library = copy.copy(library)  # a shallow copy: nothing shared is mutated
            library.num_threads = 1
        vectors = library.recalculate_user(np.arange(conf.shape[0]), conf)
        return np.asarray(vectors, dtype=np.float32)

    def training_loss(self, interactions: sp.csr_matrix) -> float:
        """implicit's normalised WRMF loss of the current factors on ``interactions``.

        The confidences are built as ``fit`` builds them, so on the training matrix this is the
        number ``calculate_training_loss=True`` records after an epoch (``training_loss_``).

        Parameters
        ----------
        interactions : csr_matrix, shape [n_users, n_items]
            Implicit weights, as given to ``fit``.
        """
        from implicit.cpu.als import calculate_loss

        self._check_fitted()
        matrix = sp.csr_matrix(interactions, dtype=np.float32, copy=True)
        matrix.sort_indices()
        confidence = sp.csr_matrix(self._training_matrix(matrix), dtype=np.float32)
        return float(
            calculate_loss(
                confidence,
                np.ascontiguousarray(self.model_.user_factors, dtype=np.float32),
                np.ascontiguousarray(self.model_.item_factors, dtype=np.float32),
                float(self.regularization),
                num_threads=1,
            )
        )

    def explain(
        self, user_index: int, item_index: int, k: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check_users(user_index)
        self._check_items(item_index)
        history = self._history(user_index)
        if history.size == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        row = self._confidence(as_csr32(self.user_items_[int(user_index)]))
        _, top, _ = self.model_.explain(0, row, int(item_index), N=len(history))
        contributions = dict(top)
        values = np.array([contributions.get(int(j), 0.0) for j in history], dtype=np.float64)
        return contribution_shares(history, values, k)

    explain.__doc__ = Recommender.explain.__doc__


@register
class BPR(_ImplicitFactorModel):
    name = "bpr"
    label = "BPR"
    description = (
        "Bayesian personalised ranking: factors trained so that liked items outrank sampled "
        "others (implicit)."
    )
    params = _common_params(64, 100, (16, 256), (20, 200)) + (
        Param(
            "learning_rate",
            float,
            0.01,
            "Step size of each SGD update: too large diverges, too small learns slowly.",
            1e-5,
            1.0,
            log=True,
            search=(1e-3, 0.1),
            label="Learning rate",
        ),
        Param(
            "regularization",
            float,
            0.01,
            "L2 penalty on the factors: larger keeps them small and guards against overfitting.",
            0.0,
            10.0,
            log=True,
            search=(1e-4, 0.1),
            label="Regularisation",
        ),
        Param(
            "num_threads",
            int,
            1,
            "CPU threads for training; more than 1 is faster but not reproducible.",
            1,
            64,
            label="Training threads",
        ),
        Param(
            "random_state",
            int,
            0,
            "Seed of the initial factors and of the sampled "
            "negatives: the same seed gives the same model.",
            low=0,
            label="Random seed",
        ),
    )

    _bias_columns = 1

    def _library_model(self, values: dict[str, Any]):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return _sgd_model(BayesianPersonalizedRanking, values)


@register
class LMF(_ImplicitFactorModel):
    name = "lmf"
    label = "Logistic MF"
    description = "Logistic matrix factorisation (Johnson 2014): the probability of a like."
    params = _common_params(30, 30, (16, 128), (10, 60)) + (
        Param(
            "learning_rate",
            float,
            1.0,
            "Step size of the adagrad updates: too large diverges, too small learns slowly.",
            1e-4,
            10.0,
            log=True,
            search=(0.1, 3.0),
            label="Learning rate",
        ),
        Param(
            "regularization",
            float,
            0.6,
            "L2 penalty on the factors: larger keeps them small and guards against overfitting.",
            0.0,
            100.0,
            log=True,
            search=(0.05, 5.0),
            label="Regularisation",
        ),
        Param(
            "num_threads",
            int,
            1,
            "CPU threads for training; more than 1 is faster but not reproducible.",
            1,
            64,
            label="Training threads",
        ),
        Param(
            "random_state",
            int,
            0,
            "Seed of the initial factors and of the sampled "
            "negatives: the same seed gives the same model.",
            low=0,
            label="Random seed",
        ),
    )

    _bias_columns = 2

    def _library_model(self, values: dict[str, Any]):
        from implicit.cpu.lmf import LogisticMatrixFactorization

        return _sgd_model(LogisticMatrixFactorization, values)


def _sgd_model(library_class: type, values: dict[str, Any]):
    """An implicit SGD-trained model (BPR, LMF) from our validated parameters."""
    return library_class(
        factors=values["factors"],
        learning_rate=values["learning_rate"],
        regularization=values["regularization"],
        iterations=values["iterations"],
        num_threads=values["num_threads"],
        random_state=values["random_state"],
    )
