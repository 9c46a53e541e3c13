"""Spark-trained factors into the model store: ``spark-als`` models aligned to a Dataset.

:func:`store_factors` aligns factors with original ids to a Dataset (users without factors are
folded in from their history with Spark's own solve) and saves them as a ``spark-als`` model;
:func:`export_factors` does it for a Spark ALS model folder (``export-factors``). This module
sits above the model store and the algorithms; the Spark engine below it (:mod:`.session`,
:mod:`.read`, :mod:`.als`, :mod:`.folders`, :mod:`.align`) imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..algorithms.spark_als import SparkALS
from ..errors import UserError
from ..store import ModelStore
from .align import align_factors, check_alignment, ids_of_indices
from .folders import read_factors


@dataclass
class StoredFactors:
    """What :func:`store_factors` did: the model id and how the ids lined up."""

    model_id: str
    model: Any
    missing_users: int
    folded_users: int
    extra_users: int
    missing_items: int
    extra_items: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "n_users": int(self.model.n_users_),
            "n_items": int(self.model.n_items_),
            "missing_users": self.missing_users,
            "folded_users": self.folded_users,
            "extra_users": self.extra_users,
            "missing_items": self.missing_items,
            "extra_items": self.extra_items,
        }


def spark_params(raw: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """``spark-als`` parameters from Spark's own (metadata of a saved ALSModel).

    Values out of the schema's range (Spark's default seed is a negative hash) fall back to the
    schema default; the raw values are kept separately by the caller.
    """
    schema = {p.name: p for p in SparkALS.params}
    values = {name: p.default for name, p in schema.items()}
    candidates = {key: raw[key] for key in schema if key in raw}
    if "numUserBlocks" in raw and "blocks" not in raw:
        candidates["blocks"] = raw["numUserBlocks"]
    candidates.update(overrides)
    for key, value in candidates.items():
        try:
            values[key] = schema[key].validate(value)
        except UserError:
            continue
    return values


def store_factors(
    user_ids: np.ndarray,
    user_factors: np.ndarray,
    item_ids: np.ndarray,
    item_factors: np.ndarray,
    dataset: Any,
    params: dict[str, Any],
    *,
    allow_missing: bool = False,
    fit_seconds: float | None = None,
    source: dict | None = None,
    extra: dict | None = None,
    store: Any = None,
) -> StoredFactors:
    """Align factors with original ids to ``dataset`` and save them as a ``spark-als`` model.

    Parameters
    ----------
    user_ids, item_ids : arrays of str, shapes [n_u] and [n_i]
        The original id of each factor row.
    user_factors, item_factors : float arrays, shapes [n_u, rank] and [n_i, rank]
    dataset : Dataset
        The model is stored for it: rows and columns in its index order.
    params : dict
        ``spark-als`` parameters (``rank``, ``maxIter``, ...).
    allow_missing : bool
        Give dataset items without factors zero vectors instead of refusing. Dataset users
        without factors are always accepted: their vectors are folded in from their history in
        the dataset (Spark's own least-squares solve), or zero without one.

    Raises
    ------
    IdAlignmentError
        No user or item id in common, or (unless ``allow_missing``) items without factors.
    """
    users = align_factors(user_ids, user_factors, dataset.user_ids)
    items = align_factors(item_ids, item_factors, dataset.item_ids)
    check_alignment(
        items, dataset.item_ids, item_ids, "item", dataset.label, allow_missing=allow_missing
    )
    check_alignment(users, dataset.user_ids, user_ids, "user", dataset.label, allow_missing=True)
    model = SparkALS.from_factors(users.vectors, items.vectors, params)
    missing = np.flatnonzero(~users.found)
    folded = 0
    if len(missing):
        history = dataset.interactions[missing]
        vectors = model.fold_in(history)
        model.user_factors_[missing] = vectors
        folded = int((np.diff(history.indptr) > 0).sum())
    info = {
        "missing_users": int(len(missing)),
        "folded_users": folded,
        "extra_users": users.n_extra,
        "missing_items": items.n_missing,
        "extra_items": items.n_extra,
    }
    store = store if store is not None else ModelStore()
    model_id = store.save(
        model,
        dataset,
        fit_seconds=fit_seconds,
        source=source,
        extra={**(extra or {}), "alignment": info},
        overwrite=True,
    )
    model.attach(dataset.interactions)
    model.fit_seconds_ = fit_seconds
    return StoredFactors(model_id, model, **info)


def export_factors(
    path: str,
    dataset: Any,
    *,
    params: dict[str, Any] | None = None,
    ids: str = "auto",
    allow_missing: bool = False,
    source: dict | None = None,
    store: Any = None,
) -> StoredFactors:
    """Store the factors of a Spark ALS model folder for ``dataset`` (``export-factors``).

    Parameters
    ----------
    path : str
        A local folder (read with pyarrow, no Spark) or a URI (read with Spark's ALSModel.load);
        see :func:`read_model_dir` for the layouts and ``ids``.
    dataset : Dataset
    params : dict, optional
        ``spark-als`` parameters that override what the folder records (an ALSModel folder
        keeps only its rank; ``regParam`` and ``alpha`` matter for history fold-in).
    """
    factors = read_factors(path, ids=ids)
    if factors.ids_are == "index":
        user_ids = ids_of_indices(factors.user_ids, dataset.user_ids, "user", dataset.label)
        item_ids = ids_of_indices(factors.item_ids, dataset.item_ids, "item", dataset.label)
    else:
        user_ids, item_ids = factors.user_ids, factors.item_ids
    recorded = {"master": "(exported)", **factors.params}
    params = spark_params(recorded, **(params or {}))
    extra = {
        "exported_from": str(path),
        "spark_version": factors.spark_version,
        "spark_params": factors.params,
    }
    if factors.params.get("implicitPrefs") is False:
        extra["note"] = "trained with implicitPrefs=false (explicit ratings)"
    return store_factors(
        user_ids,
        factors.user_factors,
        item_ids,
        factors.item_factors,
        dataset,
        params,
        allow_missing=allow_missing,
        source=source,
        extra=extra,
        store=store,
    )
