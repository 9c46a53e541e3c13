"""Learning curves: a metric per epoch on the train and test parts of a split, as the model trains
(:func:`learning_curve`), and the WRMF post's dense MSE (:func:`dense_mse`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..algorithms import get_algorithm, parse_params
from ..algorithms.base import Progress, Recommender
from ..errors import ParameterError
from ..training import fit_model
from .blocks import BLOCK_BUDGET, as_csr, row_entries
from .metrics import ACCURACY_METRICS
from .ranking import evaluate
from .stored import split_for, train_ratings

__all__ = ["EPOCH_PARAMS", "als_training_loss", "dense_mse", "learning_curve"]

EPOCH_PARAMS = {"als": "iterations", "bpr": "iterations", "lmf": "iterations", "lightfm": "epochs"}
"""The parameter that counts epochs for each family with learning curves."""


def learning_curve(
    dataset: Any,
    algorithm: str,
    params: dict[str, Any] | None = None,
    split_spec: str = "holdout:5",
    k: int = 10,
    metric: str = "precision",
    seed: int | None = 0,
    progress: Progress | None = None,
    *,
    preset: str | None = None,
    max_users: int | None = 2000,
    every: int = 1,
    split: Any = None,
) -> pd.DataFrame:
    """A metric per epoch on the train and test parts, as a tidy frame for plotting.

    The model is fitted once on the split's train part; after every ``every`` epochs (through the
    adapter's ``on_epoch`` callback) ``metric`` is computed on the test part (training items
    excluded) and on the train part itself (nothing excluded, as in the WRMF post). For ``als``
    the rows also hold ``mse`` (:func:`dense_mse`: the post's MSE over every cell of the sampled
    users' rows) on train and test, and ``loss`` (implicit's weighted training loss) on train.

    Parameters
    ----------
    metric : str
        One of :data:`ACCURACY_METRICS` or ``"auc_full"``.
    max_users : int or None
        Evaluate a fixed random sample of this many test users each epoch (drawn with ``seed``);
        None for all.
    every : int
        Evaluate every this many epochs (and always after the last).

    Returns
    -------
    pd.DataFrame
        Columns ``epoch`` (int, 1-based), ``split`` ("train" / "test"), ``metric``, ``value``;
        one row per (epoch, split, metric).
    """
    values, total_epochs = _epoch_params(algorithm, params, preset, metric)
    if split is None:
        split = split_for(dataset, split_spec, seed)
    rng = np.random.default_rng(seed)
    test_users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    if max_users is not None and len(test_users) > max_users:
        test_users = np.sort(rng.choice(test_users, size=int(max_users), replace=False))
    points = _CurvePoints(algorithm, split, k, metric, test_users, every, total_epochs, progress)
    fit_model(
        dataset,
        algorithm,
        values,
        interactions=split.train,
        ratings=train_ratings(dataset, split, algorithm),
        on_epoch=points,
    )
    if not points.seen_epochs:
        raise NotImplementedError(
            f"The {algorithm} adapter does not call on_epoch yet, so it has no learning curve."
        )
    frame = pd.DataFrame(points.rows, columns=["epoch", "split", "metric", "value"])
    frame["epoch"] = frame["epoch"].astype(np.int64)
    if progress is not None:
        progress(1.0, "Done")
    return frame


def _epoch_params(
    algorithm: str, params: dict[str, Any] | None, preset: str | None, metric: str
) -> tuple[dict[str, Any], int]:
    """The parsed parameters of a learning curve's model and its number of epochs; one
    sentence for a metric or a family without a curve."""
    if metric not in ACCURACY_METRICS and metric != "auc_full":
        raise ParameterError(
            f"Unknown metric {metric!r}; use one of {', '.join(ACCURACY_METRICS)}, auc_full."
        )
    cls = get_algorithm(algorithm)
    if not cls.supports("epochs") and algorithm not in EPOCH_PARAMS:
        raise ParameterError(
            f"{algorithm} trains in one step, so it has no learning curve; use one of "
            f"{', '.join(EPOCH_PARAMS)}."
        )
    values = parse_params(algorithm, params, preset)
    total_epochs = int(values.get(EPOCH_PARAMS.get(algorithm, "iterations"), 0) or 0)
    return values, total_epochs


class _CurvePoints:
    """The ``on_epoch`` callback of a learning curve: measures the model after every ``every``
    epochs (and the last) and keeps the rows."""

    def __init__(
        self,
        algorithm: str,
        split: Any,
        k: int,
        metric: str,
        users: np.ndarray,
        every: int,
        total_epochs: int,
        progress: Progress | None,
    ) -> None:
        self.algorithm, self.split, self.k, self.metric = algorithm, split, k, metric
        self.users, self.total_epochs, self.progress = users, total_epochs, progress
        self.every = max(1, int(every))
        self.rows: list[dict[str, Any]] = []
        self.seen_epochs: list[int] = []

    def __call__(self, epoch: int, model: Recommender) -> None:
        self.seen_epochs.append(epoch)
        if epoch % self.every and epoch != self.total_epochs:
            return None
        split, metric, users = self.split, self.metric, self.users
        full = metric == "auc_full"
        on_test = evaluate(
            model, split.train, split.test, self.k, users=users, item_vectors=None, full_auc=full
        )
        on_train = evaluate(
            model, None, split.train, self.k, users=users, item_vectors=None, full_auc=full
        )
        self._add(epoch, "train", metric, on_train.metrics[metric])
        self._add(epoch, "test", metric, on_test.metrics[metric])
        if self.algorithm == "als":
            self._add(epoch, "train", "mse", dense_mse(model, split.train, users))
            self._add(epoch, "test", "mse", dense_mse(model, split.test, users))
            loss = als_training_loss(model, split.train)
            if loss is not None:
                self._add(epoch, "train", "loss", loss)
        if self.progress is not None and self.total_epochs:
            self.progress(
                min(epoch / self.total_epochs, 1.0), f"Epoch {epoch} of {self.total_epochs}"
            )
        return None

    def _add(self, epoch: int, split: str, metric: str, value: float) -> None:
        self.rows.append({"epoch": epoch, "split": split, "metric": metric, "value": value})


def dense_mse(
    model: Recommender,
    matrix: sp.csr_matrix,
    users: np.ndarray | None = None,
    block_size: int | None = None,
) -> float:
    """The WRMF post's MSE: over every cell of the given rows (default all), the squared
    difference between ``matrix`` (its values, 0 where it has no entry) and the model's score.

    Computed per block as ``sum(s**2) - 2 sum(s * v) + sum(v**2)`` over the stored entries, so
    the dense matrix is never built.

    Parameters
    ----------
    model : Recommender
        Fitted; scored by ``score_users``.
    matrix : csr_matrix, shape [n_users, n_items]
    users : array of int, optional
        Rows to measure (default every row).
    block_size : int, optional
        Rows scored at once.

    Returns
    -------
    float
        NaN without cells.
    """
    matrix = as_csr(matrix, "matrix")
    n_items = matrix.shape[1]
    users = np.arange(matrix.shape[0]) if users is None else np.asarray(users, dtype=np.int64)
    if block_size is None:
        block_size = max(16, BLOCK_BUDGET // max(n_items, 1))
    total = 0.0
    for first in range(0, len(users), block_size):
        block = users[first : first + block_size]
        scores = np.asarray(model.score_users(block), dtype=np.float64)
        row_of, cols, positions = row_entries(matrix, block)
        values = matrix.data[positions].astype(np.float64)
        total += float(np.einsum("ij,ij->", scores, scores))
        total += float((values**2).sum() - 2.0 * (scores[row_of, cols] * values).sum())
    cells = len(users) * n_items
    return total / cells if cells else float("nan")


def als_training_loss(model: Recommender, train: sp.csr_matrix) -> float | None:
    """implicit's normalised WRMF training loss of an ``als`` model (None for other families):
    the model's public ``training_loss`` (implicit's ``calculate_loss`` on the confidences the
    adapter hands to ``fit``, the number ``calculate_training_loss`` logs)."""
    if model.name != "als":
        return None
    return model.training_loss(train)
