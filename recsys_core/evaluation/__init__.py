"""Held-out ranking metrics, end-to-end evaluation, slices and learning curves.

- :mod:`.metrics`: the metrics' definitions, each user's values for a block of lists, their
  aggregates and :class:`EvaluationResult`;
- :mod:`.blocks`: block sizing (:data:`BLOCK_MEMORY_CAP`) and reading a sparse matrix by rows;
- :mod:`.ranking`: :func:`evaluate`, the blocked loop (score, exclude training items, top k,
  measure);
- :mod:`.stored`: split, fit, evaluate and record (:func:`evaluate_model`, :func:`save_result`),
  or evaluate a stored model on its split again (:func:`evaluate_stored`);
- :mod:`.slices`: accuracy of light/heavy users and popular/long-tail items;
- :mod:`.curves`: a metric per epoch (:func:`learning_curve`), the WRMF post's MSE.

Metrics stored while ``precision`` meant implicit's convention (their ``conventions`` say
``"precision": "implicit"``) are relabelled when read: :func:`upgrade_stored_metrics`.
"""

from __future__ import annotations

from .blocks import BLOCK_MEMORY_CAP
from .curves import EPOCH_PARAMS, als_training_loss, dense_mse, learning_curve
from .metrics import (
    ACCURACY_METRICS,
    BEYOND_ACCURACY,
    CONVENTIONS,
    METRIC_INFO,
    METRICS,
    METRICS_VERSION,
    EvaluationResult,
    protocol_key,
    upgrade_per_user,
    upgrade_stored_metrics,
)
from .ranking import block_scores, evaluate
from .slices import SLICE_METRICS, slice_metrics
from .stored import (
    StoredSplit,
    evaluate_model,
    evaluate_split,
    evaluate_stored,
    library_versions,
    open_stored_split,
    save_result,
    split_for,
    split_variant,
)

__all__ = [
    "ACCURACY_METRICS",
    "BEYOND_ACCURACY",
    "BLOCK_MEMORY_CAP",
    "CONVENTIONS",
    "EPOCH_PARAMS",
    "METRICS",
    "METRICS_VERSION",
    "METRIC_INFO",
    "SLICE_METRICS",
    "EvaluationResult",
    "StoredSplit",
    "als_training_loss",
    "block_scores",
    "dense_mse",
    "evaluate",
    "evaluate_model",
    "evaluate_split",
    "evaluate_stored",
    "learning_curve",
    "library_versions",
    "open_stored_split",
    "protocol_key",
    "save_result",
    "slice_metrics",
    "split_for",
    "split_variant",
    "upgrade_per_user",
    "upgrade_stored_metrics",
]
