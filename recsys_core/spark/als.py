"""ALS on Spark: the estimator, the fit, and the factors collected into numpy arrays.

:func:`fit_matrix` trains ``pyspark.ml.recommendation.ALS(implicitPrefs=True)`` on a CSR matrix
(the matrix indices are the ids, the entries go to Spark as Arrow batches) and returns the
factors aligned to those indices; ``spark-als`` (:mod:`recsys_core.algorithms.spark_als`) and
``spark-train`` (:mod:`.train`) both use the pieces below. No Python code runs on executors (ALS,
StringIndexer and the Arrow transfers are JVM-side), so a cluster needs nothing of this package.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .align import IdAlignmentError
from .session import Progress, SparkError, current_master, first_line, get_session

LOCAL_BLOCKS = 2
"""ALS blocks on a local master when ``blocks=0``: with at most two partial sums Spark's
aggregations are exact whatever the task order, so a seed gives the same factors every run."""

_FITTING = {"count": 0}
_FITTING_LOCK = threading.Lock()


def fit_matrix(
    matrix: Any, params: dict[str, Any], progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Train Spark's implicit ALS on a CSR matrix and collect its factors.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix, shape [n_users, n_items]
        Positive weights; its row and column indices are the ids Spark sees.
    params : dict
        ``spark-als`` parameters: ``rank``, ``maxIter``, ``regParam``, ``alpha``, ``seed``,
        ``master``, ``blocks``.
    progress : callable, optional
        ``progress(fraction, message)`` when Spark starts (0.0), when training starts (0.05)
        and when the factors are collected (0.9).

    Returns
    -------
    user_factors, item_factors : float32 arrays, shapes [n_users, rank] and [n_items, rank]
        Users or items without an interaction have zero vectors.

    Raises
    ------
    SparkError
        pyspark or Java missing, the master unreachable, or Spark's ALS failing.
    """
    if progress:
        progress(0.0, "Starting Spark")
    session = get_session(params["master"])
    with _FITTING_LOCK:
        _FITTING["count"] += 1
    try:
        frame = csr_to_frame(session, matrix)
        if progress:
            progress(0.05, f"Training on Spark ({params['maxIter']} iterations)")
        fitted = fit_als(frame, estimator_for(params, session))
        if progress:
            progress(0.9, "Collecting the factors")
        return collect_factors(fitted, *matrix.shape)
    finally:
        with _FITTING_LOCK:
            _FITTING["count"] -= 1
            if _FITTING["count"] == 0:
                release_cached_factors(session)


def csr_to_frame(spark: Any, matrix: Any) -> Any:
    """A Spark DataFrame (``user`` int, ``item`` int, ``rating`` float) of a CSR's entries.

    Ids are the matrix indices; the data goes to Spark as Arrow batches.
    """
    coo = matrix.tocoo()
    table = pa.table(
        {
            "user": pa.array(coo.row.astype(np.int32)),
            "item": pa.array(coo.col.astype(np.int32)),
            "rating": pa.array(coo.data.astype(np.float32)),
        }
    )
    return spark.createDataFrame(table)


def als_estimator(
    *,
    rank: int,
    max_iter: int,
    reg_param: float,
    alpha: float,
    seed: int,
    blocks: int,
) -> Any:
    """``pyspark.ml.recommendation.ALS`` for implicit feedback on ``user``/``item``/``rating``."""
    from pyspark.ml.recommendation import ALS

    kwargs: dict[str, Any] = {}
    if blocks > 0:
        kwargs.update(numUserBlocks=int(blocks), numItemBlocks=int(blocks))
    return ALS(
        rank=int(rank),
        maxIter=int(max_iter),
        regParam=float(reg_param),
        alpha=float(alpha),
        seed=int(seed),
        implicitPrefs=True,
        nonnegative=False,
        userCol="user",
        itemCol="item",
        ratingCol="rating",
        coldStartStrategy="drop",
        **kwargs,
    )


def estimator_for(params: dict[str, Any], session: Any) -> Any:
    """:func:`als_estimator` for ``spark-als`` parameters (``rank``, ``maxIter``, ``regParam``,
    ``alpha``, ``seed``, ``blocks``; 0 blocks: :func:`auto_blocks`)."""
    return als_estimator(
        rank=params["rank"],
        max_iter=params["maxIter"],
        reg_param=params["regParam"],
        alpha=params["alpha"],
        seed=params["seed"],
        blocks=auto_blocks(int(params.get("blocks") or 0), session),
    )


def fit_als(frame: Any, estimator: Any) -> Any:
    """``estimator.fit(frame)`` with Spark's failures turned into one sentence."""
    try:
        return estimator.fit(frame)
    except Exception as error:
        message = first_line(error)
        hint = "check the driver memory (SPARK_DRIVER_MEMORY) and the Spark logs"
        if "OutOfMemory" in message or "Java heap" in message:
            hint = "give the driver or the executors more memory (SPARK_DRIVER_MEMORY=8g)"
        raise SparkError(f"Spark's ALS failed ({message}); {hint}.") from None


def factors_to_numpy(table: pa.Table, n_rows: int, rank: int | None = None) -> np.ndarray:
    """An ``[n_rows, rank]`` float32 array from a factors table (``id`` int, ``features``).

    Rows whose id is absent stay zero; an id outside ``0..n_rows-1`` is an IdAlignmentError.
    """
    ids = np.asarray(table.column("id").to_numpy(), dtype=np.int64)
    features = table.column("features").combine_chunks()
    values = np.asarray(pc.list_flatten(features).to_numpy(), dtype=np.float32)
    if rank is None:
        rank = len(values) // len(ids) if len(ids) else 0
    if len(values) != len(ids) * rank:
        raise IdAlignmentError(
            f"The factors table has vectors of uneven length (expected {rank} each); it is not "
            "an ALS model's factors."
        )
    out = np.zeros((n_rows, rank), dtype=np.float32)
    if len(ids) and (ids.min() < 0 or ids.max() >= n_rows):
        bad = ids[(ids < 0) | (ids >= n_rows)][0]
        raise IdAlignmentError(
            f"The factors have id {bad}, outside the {n_rows:,} indices of the data they were "
            "trained on; train and align them on the same interactions."
        )
    out[ids] = values.reshape(len(ids), rank)
    return out


def collect_factors(model: Any, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """A fitted ALSModel's user and item factors as float32 arrays aligned to the indices."""
    rank = int(model.rank)
    users = factors_to_numpy(model.userFactors.toArrow(), n_users, rank)
    items = factors_to_numpy(model.itemFactors.toArrow(), n_items, rank)
    return users, items


def auto_blocks(blocks: int, session: Any) -> int:
    """``blocks`` as given, or for 0: ``LOCAL_BLOCKS`` on a local master, Spark's default else."""
    if blocks > 0:
        return int(blocks)
    chosen = current_master()
    if chosen is not None and chosen.is_local:
        return LOCAL_BLOCKS
    return 0


def release_cached_factors(session: Any) -> None:
    """Unpersist the factor RDDs Spark's ALS leaves cached (a local session outlives a fit).

    pyspark has no public list of a context's cached RDDs: this goes through the JVM context
    (``sparkContext._jsc``), the one place it is touched for that.
    """
    try:
        persistent = session.sparkContext._jsc.getPersistentRDDs()
        for rdd in list(persistent.values()):
            if rdd.name() in ("userFactors", "itemFactors"):
                rdd.unpersist(False)
    except Exception:  # noqa: BLE001 - Spark Connect or an older Spark: Spark frees them later
        pass
