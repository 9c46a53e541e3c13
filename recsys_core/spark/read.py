"""Interactions read by Spark from parquet and indexed on Spark's side.

:func:`read_interactions` reads a parquet file or folder (any URI Spark reads) with Spark, finds
the user, item and weight columns by name; :func:`index_interactions` gives users and items
contiguous indices on Spark's side (``StringIndexer``, ids ordered as text, as the Dataset
orders them), sums repeated pairs and collects only the id maps to the driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..util.ids import in_index_order
from .session import Progress, SparkError, first_line

ID_ALIASES = {
    "user": ("user", "user_id", "uid", "userid", "customer", "customer_id"),
    "item": ("item", "item_id", "mid", "movieid", "itemid", "product", "product_id"),
    "weight": ("weight", "count", "plays", "play_count"),
    "timestamp": ("timestamp", "time", "ts", "datetime"),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def _pick(columns: list[str], role: str, wanted: str | None, path: str) -> str | None:
    if wanted:
        if wanted not in columns:
            raise SparkError(
                f"{path} has no column {wanted!r}; its columns are {', '.join(columns)}."
            )
        return wanted
    by_norm = {_norm(c): c for c in columns}
    for alias in ID_ALIASES[role]:
        if _norm(alias) in by_norm:
            return by_norm[_norm(alias)]
    if role in ("weight", "timestamp"):
        return None
    raise SparkError(
        f"{path} has no {role} column (looked for {', '.join(ID_ALIASES[role][:4])}); its columns "
        f"are {', '.join(columns)}: name it with --{role}-col."
    )


def is_uri(path: str) -> bool:
    """Whether ``path`` is a URI (``hdfs://``, ``s3a://``, ``file://``) rather than a local path."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path))


def read_interactions(
    spark: Any,
    path: str | Path,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    weight_col: str | None = None,
    drop_duplicates: bool = True,
) -> Any:
    """Interactions from a parquet file or folder, read by Spark (never by pandas).

    Parameters
    ----------
    spark : SparkSession
    path : str or Path
        A local parquet file or folder, or any URI Spark reads (``hdfs://``, ``s3a://``).
    user_col, item_col, weight_col : str, optional
        Column names; by default found by name (``user``/``user_id``/``uid``...,
        ``item``/``item_id``/``mid``..., ``weight``/``count``/``plays``). Without a weight
        column every row weighs 1 (a rating column is not taken as a weight unless named).
    drop_duplicates : bool
        Count rows identical in user, item, weight and timestamp (when there is one) once, as
        the product's file loader does by default.

    Returns
    -------
    pyspark DataFrame with columns ``user`` (string), ``item`` (string), ``weight`` (float):
        rows with an empty id or a weight that is not positive are left out; repeated pairs are
        not merged yet (:func:`index_interactions` sums them, like the Dataset does).
    """
    from pyspark.sql import functions as F

    text = str(path)
    if not is_uri(text):
        local = Path(text).expanduser()
        if not local.exists():
            raise SparkError(f"There is no parquet file or folder at {text}; check the path.")
        text = str(local.resolve())
    try:
        frame = spark.read.parquet(text)
        columns = list(frame.columns)
    except Exception as error:
        raise SparkError(
            f"Spark could not read {text} as parquet ({first_line(error)}); check that it is a "
            "parquet file or a folder of them."
        ) from None
    user = _pick(columns, "user", user_col, text)
    item = _pick(columns, "item", item_col, text)
    weight = _pick(columns, "weight", weight_col, text)
    timestamp = _pick(columns, "timestamp", None, text)
    chosen = [
        F.col(user).cast("string").alias("user"),
        F.col(item).cast("string").alias("item"),
        (F.col(weight).cast("float") if weight else F.lit(1.0).cast("float")).alias("weight"),
    ]
    out = frame.select(*chosen, *([F.col(timestamp).alias("timestamp")] if timestamp else []))
    if drop_duplicates:
        out = out.dropDuplicates()
    if timestamp:
        out = out.drop("timestamp")
    return out.where(
        F.col("user").isNotNull()
        & F.col("item").isNotNull()
        & (F.length(F.trim("user")) > 0)
        & (F.length(F.trim("item")) > 0)
        & F.col("weight").isNotNull()
        & (F.col("weight") > 0)
    )


@dataclass
class IndexedInteractions:
    """Interactions indexed on Spark's side and the id maps collected to the driver.

    ``frame`` has ``user`` and ``item`` (int, contiguous from 0) and ``rating`` (float, the
    summed weight of the pair); ``user_ids[i]`` is the original id of index ``i``.
    """

    frame: Any
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.user_ids), len(self.item_ids)


def index_interactions(frame: Any, progress: Progress | None = None) -> IndexedInteractions:
    """Index users and items with ``StringIndexer`` (ids ordered as text, like the Dataset).

    Parameters
    ----------
    frame : pyspark DataFrame with ``user``, ``item`` (string) and ``weight`` (float)
        As :func:`read_interactions` returns.

    Returns
    -------
    IndexedInteractions
        Repeated pairs summed; only the distinct ids (two small tables) reach the driver.
    """
    from pyspark.ml.feature import StringIndexer
    from pyspark.sql import functions as F

    if progress:
        progress(0.0, "Indexing user and item ids on Spark")
    indexer = StringIndexer(
        inputCols=["user", "item"],
        outputCols=["user_index", "item_index"],
        stringOrderType="alphabetAsc",
        handleInvalid="error",
    )
    try:
        fitted = indexer.fit(frame)
    except Exception as error:
        raise SparkError(
            f"Spark could not index the ids ({first_line(error)}); check the input columns."
        ) from None
    indexed = fitted.transform(frame)
    user_ids = _id_map(indexed, "user", "user_index")
    item_ids = _id_map(indexed, "item", "item_index")
    if len(user_ids) == 0 or len(item_ids) == 0:
        raise SparkError("The interactions are empty after dropping empty ids and weights <= 0.")
    pairs = (
        indexed.select(
            F.col("user_index").cast("int").alias("user"),
            F.col("item_index").cast("int").alias("item"),
            F.col("weight"),
        )
        .groupBy("user", "item")
        .agg(F.sum("weight").cast("float").alias("rating"))
    )
    return IndexedInteractions(pairs, user_ids, item_ids)


def _id_map(indexed: Any, column: str, index_column: str) -> np.ndarray:
    """The distinct (id, index) pairs as an array of ids in index order."""
    from pyspark.sql import functions as F

    table = (
        indexed.select(F.col(column).alias("id"), F.col(index_column).cast("int").alias("index"))
        .distinct()
        .toArrow()
    )
    return in_index_order(
        table.column("index").to_numpy(), table.column("id").to_numpy(zero_copy_only=False)
    )
