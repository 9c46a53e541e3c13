"""``spark-train``: interactions in parquet, read and indexed by Spark, trained with Spark's ALS.

:func:`train_parquet` never passes the interactions through this process: Spark reads them
(:mod:`.read`), indexes the ids, sums repeated pairs and trains (:mod:`.als`); only the id maps
and the factors are collected, then written as a Spark model folder (:mod:`.folders`) and/or
stored aligned to a Dataset (:mod:`.imports`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .als import collect_factors, estimator_for, fit_als
from .folders import write_model_dir
from .imports import StoredFactors, store_factors
from .read import IndexedInteractions, index_interactions, is_uri, read_interactions
from .session import Progress, SparkError, get_session


@dataclass
class ParquetTraining:
    """What :func:`train_parquet` did."""

    n_users: int
    n_items: int
    n_interactions: int
    fit_seconds: float
    params: dict[str, Any]
    output: str | None = None
    stored: StoredFactors | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_interactions": self.n_interactions,
            "fit_seconds": self.fit_seconds,
            "params": self.params,
            "output": self.output,
        }
        if self.stored is not None:
            out.update(self.stored.to_dict())
        else:
            out["model_id"] = None
        return out


def train_parquet(
    path: str | Path,
    params: dict[str, Any],
    *,
    dataset: Any = None,
    output: str | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    weight_col: str | None = None,
    drop_duplicates: bool = True,
    allow_missing: bool = False,
    source: dict | None = None,
    store: Any = None,
    progress: Progress | None = None,
) -> ParquetTraining:
    """Train ``spark-als`` on a parquet file or folder read by Spark; store and/or write it.

    The interactions never pass through this process: Spark reads them, indexes the ids
    (:func:`.read.index_interactions`), sums repeated pairs and trains; only the id maps and the
    factors are collected.

    Parameters
    ----------
    path : str or Path
        Parquet file or folder (local, or any URI Spark reads) with user, item[, weight].
    params : dict
        Full ``spark-als`` parameters (``parse_params("spark-als", ...)``).
    dataset : Dataset, optional
        Store the factors in the model store aligned to this dataset
        (:func:`.imports.store_factors`).
    output : str, optional
        Also write a Spark model folder with the id maps (:func:`.folders.write_model_dir`) that
        ``export-factors`` reads later, e.g. on a cluster's shared storage.
    """
    _check_destination(path, dataset, output)
    step = progress or (lambda fraction, message: None)
    step(0.0, "Starting Spark")
    session = get_session(params.get("master"))
    frame = read_interactions(
        session,
        path,
        user_col=user_col,
        item_col=item_col,
        weight_col=weight_col,
        drop_duplicates=drop_duplicates,
    )
    trained = _index_and_fit(frame, params, session, step)
    indexed = trained.indexed
    if output is not None:
        step(0.9, f"Writing {output}")
        write_model_dir(trained.model, output, indexed.user_ids, indexed.item_ids, params)
    stored = None
    if dataset is not None:
        step(0.95, f"Aligning to {dataset.label} and storing")
        stored = store_factors(
            indexed.user_ids,
            trained.user_factors,
            indexed.item_ids,
            trained.item_factors,
            dataset,
            params,
            allow_missing=allow_missing,
            fit_seconds=trained.fit_seconds,
            source=source,
            extra={"trained_from": str(path), "n_interactions": trained.n_interactions},
            store=store,
        )
    step(1.0, "Done")
    n_users, n_items = indexed.shape
    return ParquetTraining(
        n_users=n_users,
        n_items=n_items,
        n_interactions=trained.n_interactions,
        fit_seconds=trained.fit_seconds,
        params=dict(params),
        output=output,
        stored=stored,
    )


def _check_destination(path: str | Path, dataset: Any, output: str | None) -> None:
    """Refuse, before Spark starts, a training whose factors go nowhere or whose input is absent."""
    if dataset is None and output is None:
        raise SparkError(
            "Say where the factors go: --dataset SPEC stores them aligned to a dataset, --output "
            "DIR writes a Spark model folder for export-factors (or both)."
        )
    text = str(path)
    if not is_uri(text) and not Path(text).expanduser().exists():
        raise SparkError(f"There is no parquet file or folder at {text}; check the path.")


@dataclass
class _Trained:
    """What :func:`_index_and_fit` returns: the ids, Spark's ALSModel and its factors."""

    indexed: IndexedInteractions
    model: Any
    user_factors: np.ndarray  # float32, [n_users, rank], rows in indexed.user_ids' order
    item_factors: np.ndarray  # float32, [n_items, rank], rows in indexed.item_ids' order
    n_interactions: int
    fit_seconds: float


def _index_and_fit(frame: Any, params: dict[str, Any], session: Any, step: Progress) -> _Trained:
    """Index the ids on Spark's side, then fit ALS on the pairs (kept in Spark's memory while
    they are counted and trained on) and collect the factors; timed from the indexing on."""
    start = time.perf_counter()
    indexed = index_interactions(frame, progress=lambda f, m: step(0.05, m))
    pairs = indexed.frame.persist()
    try:
        n_interactions = int(pairs.count())
        step(0.15, f"Training on Spark ({params['maxIter']} iterations, {n_interactions:,} pairs)")
        fitted = fit_als(pairs, estimator_for(params, session))
        step(0.85, "Collecting the factors")
        user_factors, item_factors = collect_factors(fitted, *indexed.shape)
    finally:
        pairs.unpersist()
    fit_seconds = time.perf_counter() - start
    return _Trained(indexed, fitted, user_factors, item_factors, n_interactions, fit_seconds)
