"""Spark: sessions, interactions indexed on Spark's side, and ALS factors in and out.

``pyspark`` is an optional extra (``pip install -r requirements-spark.txt``; Java 17 or newer for
a local or classic session). Nothing here imports it at module level: the product, the model
store and stored ``spark-als`` models work without it, and every function that needs it raises
:class:`SparkError` with one sentence when it (or Java) is missing.

The Spark engine (imports nothing of ``recsys_core`` but ``config``, ``errors`` and ``util``, so
the ``spark-als`` algorithm can use it):

- :mod:`.session`: finding pyspark and Java, naming a master, the process-wide SparkSession;
- :mod:`.read`: interactions read from parquet by Spark and indexed on Spark's side;
- :mod:`.als`: Spark's ALS estimator, the fit, the factors collected into numpy arrays;
- :mod:`.folders`: Spark ALS model folders, written by Spark, read with pyarrow alone;
- :mod:`.align`: factors with original ids put in a Dataset's index order.

The package re-exports the engine's entry points (``__all__``); the rest is imported from its
module. Two modules sit above the algorithms and the model store and are never re-exported here,
so that importing the engine (as ``spark-als`` does) never imports the store:

- :mod:`.imports`: ``store_factors`` and ``export_factors``, Spark factors as stored models;
- :mod:`.train`: ``train_parquet`` (``spark-train``), parquet to Spark ALS to store or folder.
"""

from __future__ import annotations

from .align import IdAlignmentError, align_factors
from .folders import read_factors, read_model_dir, write_model_dir
from .read import index_interactions, read_interactions
from .session import (
    DEFAULT_MASTER,
    Master,
    SparkError,
    find_java,
    get_session,
    pyspark_available,
    require_java,
    require_pyspark,
    resolve_master,
    stop_session,
)

__all__ = [
    "DEFAULT_MASTER",
    "IdAlignmentError",
    "Master",
    "SparkError",
    "align_factors",
    "find_java",
    "get_session",
    "index_interactions",
    "pyspark_available",
    "read_factors",
    "read_interactions",
    "read_model_dir",
    "require_java",
    "require_pyspark",
    "resolve_master",
    "stop_session",
    "write_model_dir",
]
