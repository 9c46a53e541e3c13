"""The stored-metrics format: what a model's ``meta["metrics"]`` holds and how old entries read.

The metric names (:data:`METRICS`, :data:`ACCURACY_METRICS`, :data:`BEYOND_ACCURACY`), the
library conventions they follow (:data:`CONVENTIONS`), :data:`METRICS_VERSION`, the protocol key
a summary is kept under (:func:`protocol_key`) and the upgrade of summaries and per-user tables
written before version 2 (:func:`upgrade_stored_metrics`, :func:`upgrade_per_user`).

It sits in the store, below :mod:`recsys_core.evaluation`: the store checks and upgrades the
metrics it reads without importing evaluation, and evaluation writes them in this format.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

CONVENTIONS: dict[str, str] = {
    "precision": "lightfm",
    "precision_implicit": "implicit",
    "recall": "lightfm",
    "map": "implicit",
    "ndcg": "implicit",
    "auc": "implicit",
    "auc_full": "lightfm",
}
"""Which reference library each accuracy metric reproduces exactly (the rest are textbook)."""


ACCURACY_METRICS = (
    "precision",
    "precision_implicit",
    "recall",
    "map",
    "ndcg",
    "auc",
    "hit_rate",
    "mrr",
)
BEYOND_ACCURACY = (
    "coverage",
    "mean_popularity",
    "novelty",
    "diversity_category",
    "diversity_vectors",
    "personalisation",
)
METRICS = ACCURACY_METRICS + ("auc_full",) + BEYOND_ACCURACY

METRICS_VERSION = 2
"""Written as ``metrics_version`` with every stored summary. Version 2: ``precision`` is hits / k
and implicit's convention is ``precision_implicit``. Version 1 (no marker) had implicit's under
``precision`` and hits / k under ``precision_k`` (see :func:`upgrade_stored_metrics`)."""


def protocol_key(split: str | None, seed: int | None, k: int, rerank: Any = None) -> str:
    """``"<split>:seed=<seed>@k=<k>"``: names an evaluation protocol in a model's meta.json;
    with a re-ranking (settings or their string), ``"...|rerank:<settings>"`` so its metrics
    never replace the plain ones (:func:`recsys_core.rerank.split_protocol_key` splits it)."""
    key = f"{split or 'given'}:seed={seed}@k={int(k)}"
    text = str(rerank) if rerank is not None else ""
    return f"{key}|rerank:{text}" if text else key


def upgrade_stored_metrics(metrics: Any) -> Any:
    """A model's ``meta["metrics"]`` with every summary in today's names.

    Summaries written before :data:`METRICS_VERSION` 2 (no ``metrics_version``, and either
    ``conventions["precision"] == "implicit"`` or a ``precision_k`` value) held implicit's
    precision under ``precision`` and hits / k under ``precision_k``. They are relabelled, so a
    stored number is never shown under the wrong name: ``precision`` becomes
    ``precision_implicit``, ``precision_k`` becomes ``precision``, the conventions follow, and
    each slice row's ``precision`` becomes ``precision_implicit`` (its hits / k precision was
    not recorded: None until the model is evaluated again). Nothing is recomputed.

    Parameters
    ----------
    metrics : dict
        ``{protocol key: summary}`` as read from ``meta.json`` (anything else is returned
        unchanged).

    Returns
    -------
    dict
        A new dict; summaries already current are the same objects.
    """
    if not isinstance(metrics, dict):
        return metrics
    return {key: _upgrade_summary(found) for key, found in metrics.items()}


def _upgrade_summary(found: Any) -> Any:
    if not isinstance(found, dict) or found.get("metrics_version") is not None:
        return found
    conventions = found.get("conventions")
    old = "precision_k" in found or (
        isinstance(conventions, dict) and conventions.get("precision") == "implicit"
    )
    if not old:
        return found
    out = {key: value for key, value in found.items() if key not in ("precision", "precision_k")}
    if "precision_k" in found:
        out["precision"] = found["precision_k"]
    if "precision" in found:
        out["precision_implicit"] = found["precision"]
    if isinstance(conventions, dict):
        relabelled = {
            key: value
            for key, value in conventions.items()
            if key not in ("precision", "precision_k")
        }
        relabelled.update(
            {key: CONVENTIONS[key] for key in ("precision", "precision_implicit") if key in out}
        )
        out["conventions"] = relabelled
    if isinstance(found.get("slices"), list):
        out["slices"] = [_upgrade_slice(row) for row in found["slices"]]
    out["metrics_version"] = METRICS_VERSION
    out["relabelled_from_version"] = 1
    return out


def _upgrade_slice(row: Any) -> Any:
    if not isinstance(row, dict) or "precision" not in row:
        return row
    out = {key: value for key, value in row.items() if key != "precision"}
    out["precision"] = None
    out["precision_implicit"] = row["precision"]
    return out


def upgrade_per_user(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-user values kept before :data:`METRICS_VERSION` 2 (a ``precision_k`` column, and
    implicit's per-user precision under ``precision``) in today's names; others unchanged."""
    if "precision_k" not in frame.columns:
        return frame
    return frame.rename(columns={"precision": "precision_implicit", "precision_k": "precision"})


__all__ = [
    "ACCURACY_METRICS",
    "BEYOND_ACCURACY",
    "CONVENTIONS",
    "METRICS",
    "METRICS_VERSION",
    "protocol_key",
    "upgrade_per_user",
    "upgrade_stored_metrics",
]
