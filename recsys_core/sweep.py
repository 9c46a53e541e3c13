"""The steering sweep: one model evaluated at each value of one re-ranking dial.

A sweep is the trade-off curve of a dial (precision against coverage, novelty or popularity):
:func:`sweep` evaluates a model in memory on a split at each value; :func:`sweep_stored` does
the same for a stored model on the split it was trained on, storing each point like other
metrics (under :func:`~recsys_core.rerank.protocol_key_with` of the plain protocol key) and
reading back the points already stored. The CLI's ``evaluate ... --sweep DIAL`` and the app's
Evaluate page (:mod:`recsys_core.ui.steering_sweep`) call them.

Layer 4 (beside tuning): imports evaluation, store and rerank; nothing below imports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .errors import ParameterError
from .evaluation import METRICS_VERSION, evaluate_split, open_stored_split, protocol_key
from .rerank import DIALS, RerankSettings, protocol_key_with
from .store import ModelStore

SWEEP_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The dial's values a sweep evaluates by default."""

SWEEP_METRICS = (
    "precision",
    "recall",
    "ndcg",
    "coverage",
    "novelty",
    "mean_popularity",
    "diversity_category",
    "diversity_vectors",
)
"""The metrics of each row of a sweep."""


def sweep(
    model: Any,
    dataset: Any,
    split: Any,
    dial: str,
    values: Sequence[float] = SWEEP_VALUES,
    k: int = 10,
    *,
    base: RerankSettings | str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Evaluate one model at several settings of one dial (the trade-off curve).

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train``.
    dataset : Dataset
    split : Split
        ``train`` and ``test`` csr matrices [n_users, n_items].
    dial : str
        One of :data:`~recsys_core.rerank.DIALS`.
    values : sequence of float
        The dial's settings, each from 0 to 1 (default 0, .25, .5, .75, 1).
    base : RerankSettings or str, optional
        The other dials and filters, kept fixed.

    Returns
    -------
    pd.DataFrame
        One row per value: ``dial``, ``value``, ``rerank`` (the canonical string), and
        :data:`SWEEP_METRICS`.
    """
    settings = _sweep_settings(dial, values, base)
    rows = []
    for number, current in enumerate(settings):
        scaled = _part(progress, number, len(settings))
        result = evaluate_split(model, dataset, split, k, None, False, None, scaled, rerank=current)
        rows.append(_sweep_row(dial, current, result.metrics))
    return pd.DataFrame(rows)


def sweep_stored(
    model_id: str,
    dial: str,
    values: Sequence[float] = SWEEP_VALUES,
    k: int = 10,
    *,
    base: RerankSettings | str | None = None,
    store: Any = None,
    compute: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """:func:`sweep` of a stored model (trained on a split), each point stored like other
    metrics: under ``meta["metrics"][protocol_key_with(key, settings)]``. Points already stored
    (at the current metrics version) are read, not computed again.

    Parameters
    ----------
    compute : bool
        False: only read what is stored (missing points have NaN metrics), never evaluate.

    Returns
    -------
    pd.DataFrame
        As :func:`sweep`, plus ``key`` (the store key) and ``stored`` (True: read, not computed).
    """
    store = store if store is not None else ModelStore()
    settings = _sweep_settings(dial, values, base)
    meta = store.meta(model_id)
    info = (meta.get("extra") or {}).get("split") or {}
    plain = protocol_key(info.get("spec"), info.get("seed"), k)
    found = meta.get("metrics") or {}
    rows: list[dict[str, Any]] = []
    missing = []
    for current in settings:
        key = protocol_key_with(plain, current)
        summary = found.get(key)
        if isinstance(summary, dict) and summary.get("metrics_version") == METRICS_VERSION:
            metrics = {m: _nan(summary.get(m)) for m in SWEEP_METRICS}
            rows.append({**_sweep_row(dial, current, metrics), "key": key, "stored": True})
        else:
            rows.append({**_sweep_row(dial, current, {}), "key": key, "stored": False})
            missing.append(len(rows) - 1)
    if missing and compute:
        opened = open_stored_split(model_id, store=store, progress=_part(progress, 0, 2))
        for number, index in enumerate(missing):
            current = settings[index]
            scaled = _part(_part(progress, 1, 2), number, len(missing))
            result = evaluate_split(
                opened.model,
                opened.dataset,
                opened.split,
                k,
                meta.get("algorithm"),
                False,
                None,
                scaled,
                rerank=current,
            )
            opened.describe(result)
            store.record_metrics(model_id, result.protocol_key(), result.summary())
            rows[index] = {
                **_sweep_row(dial, current, result.metrics),
                "key": result.protocol_key(),
                "stored": False,
            }
    if progress is not None:
        progress(1.0, "Done")
    return pd.DataFrame(rows)


def _sweep_settings(dial: str, values: Sequence[float], base: Any) -> list[RerankSettings]:
    if dial not in DIALS:
        raise ParameterError(f"Unknown dial {dial!r}; sweep one of {', '.join(DIALS)}.")
    start = base if isinstance(base, RerankSettings) else RerankSettings.parse(base)
    if not len(values):
        raise ParameterError("A sweep needs at least one value of the dial.")
    return [start.replace(**{dial: value}) for value in values]


def _sweep_row(dial: str, settings: RerankSettings, metrics: dict) -> dict[str, Any]:
    row: dict[str, Any] = {"dial": dial, "value": getattr(settings, dial), "rerank": str(settings)}
    row.update({m: float(metrics.get(m, math.nan)) for m in SWEEP_METRICS})
    return row


def _nan(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


def _part(progress: Callable[[float, str], None] | None, number: int, total: int):
    if progress is None:
        return None

    def scaled(fraction: float, message: str = "") -> None:
        progress((number + min(max(float(fraction), 0.0), 1.0)) / max(total, 1), message)

    return scaled


__all__ = ["SWEEP_METRICS", "SWEEP_VALUES", "sweep", "sweep_stored"]
