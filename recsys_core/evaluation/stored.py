"""Evaluation as the store sees it: split, fit, evaluate and record (:func:`evaluate_model`,
:func:`save_result`), or reopen a stored model on the split it was trained on and evaluate it
again (:func:`evaluate_stored`, :func:`open_stored_split`).

A model trained on a split's train part is stored as the variant :func:`split_variant`, with the
split in ``meta["extra"]["split"]`` and its metrics under ``meta["metrics"][protocol key]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..algorithms import get_algorithm
from ..algorithms.base import OnEpoch, Progress, Recommender
from ..errors import UserError
from ..rerank import Reranker, RerankSettings
from ..split import make_split
from ..store import ModelStore, library_versions
from ..training import fit_model
from ..util.progress import scaled
from .metrics import EvaluationResult
from .ranking import evaluate

__all__ = [
    "StoredSplit",
    "evaluate_model",
    "evaluate_split",
    "evaluate_stored",
    "library_versions",
    "open_stored_split",
    "save_result",
    "split_for",
    "split_variant",
    "train_ratings",
]


def split_for(dataset: Any, split_spec: str, seed: int | None) -> Any:
    """The dataset's split named by ``split_spec`` (``"holdout:5"``...) drawn with ``seed``."""
    return make_split(dataset, split_spec, random_state=seed)


def train_ratings(dataset: Any, split: Any, algorithm: str) -> sp.csr_matrix | None:
    """The dataset's explicit ratings without the split's test pairs (for ``needs`` ratings).

    Ratings may cover more pairs than the interactions (those below ``min_rating``); every
    rating stays in training except those of the held-out pairs.
    """
    if "ratings" not in get_algorithm(algorithm).needs or dataset.ratings is None:
        return None
    ratings = sp.csr_matrix(dataset.ratings, dtype=np.float32, copy=True)
    ratings.sort_indices()
    test = split.test
    n_items = ratings.shape[1]
    rating_rows = np.repeat(np.arange(ratings.shape[0], dtype=np.int64), np.diff(ratings.indptr))
    test_rows = np.repeat(np.arange(test.shape[0], dtype=np.int64), np.diff(test.indptr))
    held_out = np.isin(rating_rows * n_items + ratings.indices, test_rows * n_items + test.indices)
    ratings.data[held_out] = 0
    ratings.eliminate_zeros()
    return ratings


def evaluate_split(
    model: Recommender,
    dataset: Any,
    split: Any,
    k: int,
    algorithm: str | None,
    full_auc: bool | None,
    block_size: int | None,
    progress: Progress | None,
    rerank: Any = None,
) -> EvaluationResult:
    """:func:`~.ranking.evaluate` on a split's train and test parts, with the dataset's
    categories.

    Parameters
    ----------
    model : Recommender
        Fitted on ``split.train``.
    dataset : Dataset
        Its ``items["category"]`` (when present) gives ``diversity_category``.
    split : Split
        ``train`` and ``test`` csr matrices, shape [n_users, n_items].
    k : int
        List length.
    algorithm : str or None
        The model's registry key: ``full_auc`` defaults to True for ``lightfm`` (its own
        ``auc_score`` convention).
    full_auc : bool or None
        Compute ``auc_full``; None for the default above.
    block_size : int or None
        As in ``evaluate``.
    progress : callable or None
        ``progress(fraction, message)``.
    rerank : RerankSettings or str, optional
        Re-rank every list (:class:`recsys_core.rerank.Reranker`, popularity counted on the
        train part); the protocol then records it (``protocol["rerank"]``), so the result is
        stored under its own key. Identity settings are no re-ranking.

    Returns
    -------
    EvaluationResult
    """
    if full_auc is None:
        full_auc = algorithm == "lightfm"
    select = None
    if rerank is not None:
        settings = rerank if isinstance(rerank, RerankSettings) else RerankSettings.parse(rerank)
        if not settings.is_identity:
            reranker = Reranker(settings, model, dataset, split.train)
            reranker.require_candidates()
            select, rerank = reranker.select, str(reranker.settings)
        else:
            rerank = None
    result = evaluate(
        model,
        split.train,
        split.test,
        k,
        item_categories=dataset.items["category"] if "category" in dataset.items else None,
        full_auc=full_auc,
        block_size=block_size,
        progress=progress,
        rerank=select,
    )
    if rerank is not None:
        result.protocol["rerank"] = rerank
    return result


def evaluate_model(
    dataset: Any,
    algorithm: str,
    params: dict[str, Any] | None = None,
    split_spec: str = "holdout:5",
    k: int = 10,
    seed: int | None = 0,
    *,
    preset: str | None = None,
    full_auc: bool | None = None,
    block_size: int | None = None,
    progress: Progress | None = None,
    split: Any = None,
    on_epoch: OnEpoch | None = None,
    rerank: Any = None,
) -> EvaluationResult:
    """Split, fit on the train part, evaluate on the test part: the whole protocol.

    Parameters
    ----------
    dataset : Dataset
    algorithm : str
        Registry key.
    params : dict, optional
        Parameter values (CLI strings are parsed); with ``preset`` applied first.
    split_spec : str
        ``"holdout:5"``, ``"random:0.2"``, ``"leave-last:1"``, ``"ua"`` ... (see ``split.py``).
    k : int
        List length.
    seed : int or None
        ``random_state`` of the split; the model's own ``random_state`` parameter is left as
        given (fix it in ``params`` for a fully repeatable run).
    full_auc : bool, optional
        Compute ``auc_full``; default True for ``lightfm`` (whose reference it is).
    split : Split, optional
        A split already made (tuning reuses one); ``split_spec`` and ``seed`` then only label it.
    progress : callable, optional
        ``progress(fraction, message)``: the first 80% for fitting, the rest for evaluating.
    on_epoch : callable, optional
        Passed to the adapter's ``fit`` (early stopping in :mod:`recsys_core.tuning`).
    rerank : RerankSettings or str, optional
        Re-rank every list (:mod:`recsys_core.rerank`); recorded as ``protocol["rerank"]``.

    Returns
    -------
    EvaluationResult
        With ``model`` set and ``protocol`` holding ``split``, ``seed``, ``fit_seconds``,
        ``algorithm``, ``params``, ``dataset``, ``fingerprint`` and ``versions``.
    """
    if split is None:
        if progress is not None:
            progress(0.0, f"Splitting {dataset.label} ({split_spec})")
        split = split_for(dataset, split_spec, seed)
    model = fit_model(
        dataset,
        algorithm,
        params,
        preset=preset,
        interactions=split.train,
        ratings=train_ratings(dataset, split, algorithm),
        progress=scaled(progress, 0.0, 0.8),
        on_epoch=on_epoch,
    )
    result = evaluate_split(
        model,
        dataset,
        split,
        k,
        algorithm,
        full_auc,
        block_size,
        scaled(progress, 0.8, 1.0),
        rerank=rerank,
    )
    result.model = model
    result.protocol.update(_fit_protocol(model, dataset, algorithm, split_spec, seed))
    return result


def _fit_protocol(
    model: Recommender, dataset: Any, algorithm: str, split_spec: str, seed: int | None
) -> dict[str, Any]:
    """What :func:`evaluate_model` adds to a result's protocol: how the model was fitted."""
    return {
        "split": split_spec,
        "seed": seed,
        "fit_seconds": float(getattr(model, "fit_seconds_", float("nan"))),
        "algorithm": algorithm,
        "params": _plain_params(model.get_params()),
        "dataset": dataset.name,
        "fingerprint": dataset.fingerprint,
        "versions": library_versions(),
    }


def split_variant(split_spec: str, seed: int | None) -> str:
    """The store ``variant`` of a model trained on the train part of a split."""
    return f"split={split_spec}:seed={seed}"


def save_result(
    result: EvaluationResult,
    dataset: Any,
    *,
    store: Any = None,
    source: dict | None = None,
    extra: dict | None = None,
) -> str:
    """Store the model of an :func:`evaluate_model` result with its metrics; returns its id.

    The model was trained on the split's train part, so it is stored as that variant, with the
    split recorded in ``meta["extra"]["split"]`` (so ``evaluate --model`` can rebuild it) and the
    metrics under ``meta["metrics"][result.protocol_key()]``.
    """
    if result.model is None:
        raise ValueError("The result has no model; save results of evaluate_model.")
    store = store if store is not None else ModelStore()
    split_spec, seed = result.protocol.get("split"), result.protocol.get("seed")
    info = {"split": {"spec": split_spec, "seed": seed}}
    info.update(extra or {})
    model_id = store.save(
        result.model,
        dataset,
        fit_seconds=result.protocol.get("fit_seconds"),
        source=source,
        variant=split_variant(split_spec, seed),
        extra=info,
        overwrite=True,
    )
    store.record_metrics(model_id, result.protocol_key(), result.summary())
    result.protocol["model_id"] = model_id
    return model_id


def evaluate_stored(
    model_id: str,
    k: int = 10,
    *,
    store: Any = None,
    full_auc: bool | None = None,
    block_size: int | None = None,
    progress: Progress | None = None,
    record: bool = True,
    rerank: Any = None,
) -> EvaluationResult:
    """Evaluate a stored model on the split it was trained on; record the metrics in its meta.

    Only models trained on a split's train part (``evaluate DATASET ALGO --save``, ``tune``)
    can be evaluated: for a model trained on the whole dataset every held-out interaction was
    seen in training, which is a UserError naming the fix. ``rerank`` (settings or their
    string) re-ranks every list; the metrics are then recorded under their own key.
    """
    opened = open_stored_split(model_id, store=store, progress=scaled(progress, 0.0, 0.2))
    result = evaluate_split(
        opened.model,
        opened.dataset,
        opened.split,
        k,
        opened.meta.get("algorithm"),
        full_auc,
        block_size,
        scaled(progress, 0.2, 1.0),
        rerank=rerank,
    )
    opened.describe(result)
    if record:
        opened.store.record_metrics(model_id, result.protocol_key(), result.summary())
    return result


@dataclass
class StoredSplit:
    """A stored model reopened on the split it was trained on (:func:`open_stored_split`)."""

    model_id: str
    model: Recommender
    dataset: Any
    split: Any
    meta: dict
    store: Any

    def describe(self, result: EvaluationResult) -> None:
        """Fill a result's protocol (split, seed, model id...) and model from this one."""
        info = (self.meta.get("extra") or {}).get("split") or {}
        result.model = self.model
        result.protocol.update(
            {
                "split": info["spec"],
                "seed": info.get("seed"),
                "fit_seconds": self.meta.get("fit_seconds"),
                "algorithm": self.meta.get("algorithm"),
                "params": self.meta.get("params"),
                "dataset": self.dataset.name,
                "fingerprint": self.dataset.fingerprint,
                "versions": library_versions(),
                "model_id": self.model_id,
            }
        )


def open_stored_split(
    model_id: str, *, store: Any = None, progress: Progress | None = None
) -> StoredSplit:
    """A stored model, its dataset and the split it was trained on (rebuilt from its meta),
    with the split's train part attached; a UserError naming the fix for a model trained on
    the whole dataset."""
    store = store if store is not None else ModelStore()
    meta = store.meta(model_id)
    info = (meta.get("extra") or {}).get("split") or {}
    if not info.get("spec"):
        trained_on = meta.get("dataset_label") or meta.get("dataset")
        raise UserError(
            f"Model {model_id} was trained on all of {trained_on}, so any held-out split "
            f"overlaps its training data; run `evaluate {meta.get('dataset')} "
            f"{meta.get('algorithm')} --save` to store a model trained on a split."
        )
    model, dataset = store.open(model_id, progress=progress)
    split = split_for(dataset, info["spec"], info.get("seed"))
    model.attach(split.train)  # history-based families score from the attached interactions
    return StoredSplit(model_id, model, dataset, split, meta, store)


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.item() if isinstance(value, np.generic) else value
        for key, value in params.items()
    }
