"""The Evaluate page's workflow, without streamlit: evaluate a stored model under a protocol or
reuse the metrics its meta already records, record an evaluation in the store, save a search's
best candidate, and keep per-user values and learning curves as parquet in the disk cache.

- :func:`evaluate_stored_model` follows the command line: a model trained on the whole dataset
  is refit with its algorithm and parameters on the split's train part (``evaluate DATASET ALGO
  --param ...``); a model trained on this very split (``evaluate --save``, a search's best
  model) is evaluated as stored (``evaluate --model``).
- :func:`record` writes the aggregates, with the slices, to the model's ``meta.json`` under the
  protocol key (``holdout:5:seed=0@k=10``), and the per-user values to
  ``$RECSYS_HOME/cache/evaluate/per_user`` (:data:`PER_USER`).
- :data:`CURVES` keeps learning curves per (dataset fingerprint, algorithm, parameters, split,
  seed, k, metric): :func:`cached_learning_curve`.

Cache files are parquet written atomically (:func:`recsys_core.util.files.atomic_write`) and
read without unpickling; a damaged one is logged, removed and computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import config, evaluation  # evaluation: the package's public names, read when called
from ..algorithms import algorithms
from ..algorithms.registry import missing_input
from ..dataset import Dataset
from ..errors import UserError
from ..split import make_split, normalise_spec
from ..store import ModelStore
from ..util.files import atomic_write
from ..util.jsonsafe import json_safe
from ..util.progress import Progress, scaled

logger = logging.getLogger(__name__)

DEFAULT_SPLIT = "holdout:5"
DEFAULT_SEED = 0
DEFAULT_K = 10
NOT_REFIT = frozenset({"vectors", "spark-als"})
"""Families the app does not train again on a split (vectors come from a file; Spark runs
elsewhere)."""
CURVE_USERS = 2000
"""Test users a learning curve measures (a fixed sample, drawn with the protocol's seed)."""


@dataclass(frozen=True)
class Protocol:
    """How models are evaluated: a split spec (normalised), its seed and the list length."""

    split: str = DEFAULT_SPLIT
    seed: int = DEFAULT_SEED
    k: int = DEFAULT_K

    @property
    def key(self) -> str:
        """The key of the store's metrics, e.g. ``holdout:5:seed=0@k=10``."""
        return evaluation.protocol_key(self.split, self.seed, self.k)


def trained_on_split(meta: dict, split: str, seed: int) -> bool:
    """Whether a stored model was trained on the train part of this split (same spec, same
    seed), so it is evaluated as stored rather than refit.

    Parameters
    ----------
    meta : dict
        The model's ``meta.json`` (or its listing entry); ``extra.split`` says how it was
        trained.
    split, seed : str, int
        The protocol's split spec (normalised) and seed.
    """
    info = (meta.get("extra") or {}).get("split") or {}
    if not info.get("spec"):
        return False
    try:
        return normalise_spec(info["spec"]) == split and info.get("seed") == seed
    except UserError:
        return False


def can_refit(name: str, data: Dataset) -> bool:
    """Whether the app may train the family ``name`` on a split of ``data`` (learning curves,
    search): trainable here (:func:`recsys_core.algorithms.algorithms`), not one of
    :data:`NOT_REFIT`, and nothing its fit needs missing from ``data``."""
    cls = algorithms().get(name)
    return cls is not None and name not in NOT_REFIT and missing_input(cls, data) is None


# ------------------------------------------------------------------------- evaluating models
@dataclass(frozen=True)
class Outcome:
    """What happened to one model when it was evaluated."""

    model_id: str
    how: str  # "reused", "refit", "stored" or "failed"
    seconds: float = 0.0
    error: str | None = None


def reusable_metrics(meta: dict, proto: Protocol) -> dict | None:
    """The metrics ``meta`` records under ``proto.key``, if they can be shown as they are
    (None when there are none, or when they were relabelled from an older version: their
    slices lack hits / k, so the model is evaluated again)."""
    found = (meta.get("metrics") or {}).get(proto.key)
    if found is None or (isinstance(found, dict) and found.get("relabelled_from_version")):
        return None
    return found


def evaluate_stored_model(
    data: Dataset,
    model_id: str,
    proto: Protocol,
    *,
    recompute: bool = False,
    store: ModelStore | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Evaluate one stored model under ``proto`` and record the result in its meta.

    Parameters
    ----------
    data : Dataset
        The dataset the model was trained on.
    model_id : str
        The stored model.
    proto : Protocol
        Split, seed and k.
    recompute : bool
        Evaluate even when the meta already records metrics under ``proto.key``.
    store : ModelStore, optional
        Default: the store under ``$RECSYS_HOME``.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    Outcome
        ``how`` is ``"reused"`` (the recorded metrics stand; nothing computed), ``"stored"``
        (a model trained on this split, evaluated as stored) or ``"refit"`` (trained again
        with its algorithm and parameters on the split's train part). The summary goes to
        ``meta["metrics"][proto.key]`` with ``slices`` and ``evaluated`` added, the per-user
        values to :data:`PER_USER`.
    """
    store = store or ModelStore()
    meta = store.meta(model_id)
    if not recompute and reusable_metrics(meta, proto) is not None:
        if progress is not None:
            progress(1.0, "Reused the stored metrics")
        return Outcome(model_id, "reused")
    start = time.perf_counter()
    split = make_split(data, proto.split, random_state=proto.seed)
    step = scaled(progress, 0.0, 0.85)
    if trained_on_split(meta, proto.split, proto.seed):
        result = evaluation.evaluate_stored(
            model_id, proto.k, store=store, progress=step, record=False
        )
        how = "stored"
    else:
        result = evaluation.evaluate_model(
            data,
            meta["algorithm"],
            meta.get("params") or {},
            proto.split,
            proto.k,
            proto.seed,
            split=split,
            progress=step,
        )
        how = "refit"
    if progress is not None:
        progress(0.88, "Slicing: light and heavy users, popular and long-tail items")
    record(store, model_id, proto, result, split, how)
    if progress is not None:
        progress(1.0, "Done")
    return Outcome(model_id, how, time.perf_counter() - start)


def record(
    store: ModelStore,
    model_id: str,
    proto: Protocol,
    result: evaluation.EvaluationResult,
    split: Any,
    how: str,
) -> dict:
    """Record an evaluation of a stored model: the summary with its slices in the meta (under
    the protocol key), the per-user values in :data:`PER_USER`; returns the new meta.

    Parameters
    ----------
    result : EvaluationResult
        With ``model`` set (the slices score its lists again).
    split : Split
        The split ``result`` was measured on (``train``, ``test``).
    how : str
        ``"refit"`` or ``"stored"``, kept as ``evaluated`` in the summary.
    """
    slices = evaluation.slice_metrics(result.model, split.train, split.test, proto.k, result=result)
    summary = result.summary()
    summary["evaluated"] = how
    summary["slices"] = json_safe(slices.to_dict(orient="records"))
    meta = store.record_metrics(model_id, proto.key, summary)
    PER_USER.put(per_user_payload(meta, proto), result.per_user)
    return meta


def evaluate_and_save(
    data: Dataset,
    algorithm: str,
    params: dict,
    proto: Protocol,
    *,
    source: dict | None = None,
    extra: dict | None = None,
    store: ModelStore | None = None,
    progress: Progress | None = None,
) -> str:
    """Fit one candidate on the train part of ``proto``'s split, store it (as ``tune`` does
    when it saves) and record its metrics, slices and per-user values; returns its id.

    Parameters
    ----------
    algorithm, params : str, dict
        The candidate (a search's best).
    source : dict, optional
        How its dataset loads again (:func:`recsys_core.datasets.recorded_source`).
    extra : dict, optional
        Kept in the meta's ``extra`` (a search: its metric and results file).
    """
    split = make_split(data, proto.split, random_state=proto.seed)
    result = evaluation.evaluate_model(
        data,
        algorithm,
        params,
        proto.split,
        proto.k,
        proto.seed,
        split=split,
        progress=scaled(progress, 0.0, 0.85),
    )
    store = store or ModelStore()
    model_id = evaluation.save_result(result, data, store=store, source=source, extra=extra)
    if progress is not None:
        progress(0.9, "Recording its metrics")
    record(store, model_id, proto, result, split, "stored")
    return model_id


# ----------------------------------------------------------------------------- the disk cache
def digest(payload: Any) -> str:
    """A short hex digest of ``payload``'s JSON (keys sorted): a cache file's name."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


class FrameCache:
    """Data frames kept as parquet under ``$RECSYS_HOME/cache/evaluate/<kind>``, one file per
    payload (what the frame was computed from), named by its :func:`digest`.

    Files are written atomically and read with ``pd.read_parquet`` (no pickle). A file that
    does not read back is logged as a warning and removed: the caller computes it again.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def path(self, payload: Any) -> Path:
        """The file of ``payload`` (its folder is created)."""
        return config.cache_dir("evaluate", self.kind) / f"{digest(payload)}.parquet"

    def get(self, payload: Any) -> pd.DataFrame | None:
        """The frame kept for ``payload``; None when there is none or its file is damaged."""
        path = self.path(payload)
        if not path.exists():
            return None
        try:
            return pd.read_parquet(path)
        except Exception as error:  # noqa: BLE001 - a damaged cache file is recomputed
            logger.warning(
                "The %s cache file %s is damaged (%s); it is computed again.",
                self.kind,
                path.name,
                type(error).__name__,
            )
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def put(self, payload: Any, frame: pd.DataFrame) -> Path:
        """Keep ``frame`` for ``payload`` (replacing any file there); returns its path."""
        return atomic_write(self.path(payload), lambda temp: frame.to_parquet(temp, index=False))


PER_USER = FrameCache("per_user")
"""Per-user values of an evaluation (:attr:`EvaluationResult.per_user`), by model and protocol."""
CURVES = FrameCache("curves")
"""Learning curves (:func:`recsys_core.evaluation.learning_curve`), by :func:`curve_payload`."""


def per_user_payload(meta: dict, proto: Protocol) -> list:
    """What a model's per-user values under ``proto`` are kept by: its id, when it was stored
    (a model stored again under the same id does not read the old values) and the protocol."""
    return [meta.get("model_id"), meta.get("created"), proto.key]


def stored_per_user(meta: dict, proto: Protocol) -> pd.DataFrame | None:
    """The per-user values kept when the model of ``meta`` was evaluated under ``proto``
    (columns as :func:`recsys_core.evaluation.upgrade_per_user` names them); None if none."""
    frame = PER_USER.get(per_user_payload(meta, proto))
    return None if frame is None else evaluation.upgrade_per_user(frame)


def curve_payload(
    fingerprint: str, algorithm: str, params: dict, proto: Protocol, metric: str
) -> dict:
    """What a learning curve is computed from (its :data:`CURVES` key and the page's record
    of the last one drawn)."""
    return {
        "fingerprint": fingerprint,
        "algorithm": algorithm,
        "params": params,
        "split": proto.split,
        "seed": proto.seed,
        "k": proto.k,
        "metric": metric,
        "max_users": CURVE_USERS,
        "metrics_version": evaluation.METRICS_VERSION,
    }


def cached_learning_curve(
    data: Dataset, payload: dict, *, progress: Progress | None = None
) -> tuple[pd.DataFrame, bool]:
    """The learning curve of ``payload`` (:func:`curve_payload`): read from :data:`CURVES`, or
    computed (:func:`recsys_core.evaluation.learning_curve`) and kept there.

    Returns
    -------
    tuple of (pd.DataFrame, bool)
        The tidy frame (``epoch``, ``split``, ``metric``, ``value``) and whether it came from
        the cache.
    """
    if payload["fingerprint"] != data.fingerprint:
        raise ValueError("The curve's payload belongs to another dataset.")
    found = CURVES.get(payload)
    if found is not None:
        return found, True
    frame = evaluation.learning_curve(
        data,
        payload["algorithm"],
        payload["params"],
        payload["split"],
        payload["k"],
        payload["metric"],
        payload["seed"],
        progress=progress,
        max_users=payload["max_users"],
    )
    CURVES.put(payload, frame)
    return frame, False
