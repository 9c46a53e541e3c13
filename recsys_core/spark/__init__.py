"""Spark: sessions, interactions indexed on Spark's side, and ALS factors in and out.

``pyspark`` is an optional extra (``pip install -r requirements-spark.txt``; Java 17 or newer for
a local or classic session). Nothing here imports it at module level: the product, the model
store and stored ``spark-als`` models work without it, and every function that needs it raises
:class:`SparkError` with one sentence when it (or Java) is missing.

Sessions
    :func:`get_session` returns one process-wide ``SparkSession``: ``local[*]`` by default, a
    cluster master (``spark://host:7077``, ``yarn``, ``k8s://...``) when named, or Spark Connect
    when the master is ``sc://host:15002`` or ``SPARK_REMOTE`` is set. A host:port master is
    probed with a short TCP timeout first (``RECSYS_SPARK_TIMEOUT`` seconds, default 5), so an
    unreachable one fails in seconds with a sentence instead of hanging. Local sessions bind to
    127.0.0.1, have no UI, keep their scratch files under ``RECSYS_HOME/cache/spark``, log at
    ERROR (``RECSYS_SPARK_LOG_LEVEL``) and use few shuffle partitions; ``RECSYS_SPARK_JAVA_OPTIONS``
    adds JVM options; anything else comes from Spark's own configuration
    (``SPARK_CONF_DIR/spark-defaults.conf``, ``SPARK_DRIVER_MEMORY``, ``PYSPARK_SUBMIT_ARGS``).
    No Python code runs on executors (ALS, StringIndexer and the Arrow transfers are JVM-side),
    so a cluster needs nothing of this package.

Interactions
    :func:`read_interactions` reads a parquet file or folder (any URI Spark reads) with Spark;
    :func:`index_interactions` gives users and items contiguous indices on Spark's side
    (``StringIndexer``, ids ordered as text, as the Dataset orders them) and collects only the
    id maps; :func:`train_als` fits ``pyspark.ml.recommendation.ALS`` and collects the factors
    into numpy arrays aligned to those indices.

Factors
    :func:`write_model_dir` writes a trained model as Spark does (``ALSModel.save``) plus the id
    maps (``user_ids/`` and ``item_ids/`` parquet: ``index``, ``id``); :func:`read_model_dir`
    reads such a folder, or any folder with ``userFactors``/``itemFactors`` parquet, with pyarrow
    only (no Spark, no Java); :func:`align_factors` puts factors in a Dataset's index order.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from .. import config
from ..errors import UserError

Progress = Callable[[float, str], None]

DEFAULT_MASTER = "local[*]"
PYSPARK_REQUIREMENT = "requirements-spark.txt"
MIN_JAVA = 17
CONNECT_PORT = 15002
TIMEOUT_ENV = "RECSYS_SPARK_TIMEOUT"
DEFAULT_TIMEOUT = 5.0
JAVA_OPTIONS_ENV = "RECSYS_SPARK_JAVA_OPTIONS"
"""Extra JVM options of a local driver, e.g. ``-XX:TieredStopAtLevel=1`` (starts small jobs
twice as fast; the tests use it) or ``-Xss4m``."""
LOCAL_BLOCKS = 2
"""ALS blocks on a local master when ``blocks=0``: with at most two partial sums Spark's
aggregations are exact whatever the task order, so a seed gives the same factors every run."""

USER_IDS = "user_ids"
ITEM_IDS = "item_ids"
USER_FACTORS = "userFactors"
ITEM_FACTORS = "itemFactors"
TRAINING_PARAMS = "training_params"


class SparkError(UserError, RuntimeError):
    """Spark cannot be used here (pyspark or Java missing, master unreachable, a bad folder)."""


class IdAlignmentError(UserError, ValueError):
    """Factors whose ids do not line up with the dataset they are meant for."""


# ------------------------------------------------------------------------------ requirements
def pyspark_available() -> bool:
    """Whether ``pyspark`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("pyspark") is not None
    except (ImportError, ValueError):
        return False


def pyspark_missing_message(what: str = "spark-als") -> str:
    return (
        f"{what} needs pyspark, which is not installed; install it with "
        f"`pip install -r {PYSPARK_REQUIREMENT}` (and Java {MIN_JAVA}+ for local training)."
    )


def require_pyspark(what: str = "spark-als") -> Any:
    """Import and return ``pyspark``; :class:`SparkError` with the install command if missing."""
    try:
        return importlib.import_module("pyspark")
    except ImportError:
        raise SparkError(pyspark_missing_message(what)) from None


def find_java() -> str | None:
    """The java executable Spark would start: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def java_version(java: str) -> int | None:
    """The major version of a java executable (17 for "17.0.15"), None if it does not say."""
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def require_java() -> str:
    """The java executable for a local or classic session; SparkError if absent or too old."""
    java = find_java()
    if java is None:
        where = (
            f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java"
            if os.environ.get("JAVA_HOME")
            else "no java is on the PATH"
        )
        raise SparkError(
            f"Spark needs Java {MIN_JAVA} or newer and {where}; install it (Debian: "
            f"apt-get install openjdk-{MIN_JAVA}-jre-headless) or point JAVA_HOME at one."
        )
    version = java_version(java)
    if version is not None and version < MIN_JAVA:
        raise SparkError(
            f"Spark 4 needs Java {MIN_JAVA} or newer but {java} is Java {version}; install a newer "
            "one or point JAVA_HOME at it."
        )
    return java


# ------------------------------------------------------------------------------------ masters
@dataclass(frozen=True)
class Master:
    """Where a session runs: ``kind`` is "local", "connect" (Spark Connect) or "cluster"."""

    kind: str
    url: str

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def resolve_master(master: str | None = None) -> Master:
    """The session to use for a ``master`` parameter (None or "" or ``local[*]``: the default).

    ``SPARK_REMOTE`` (Spark Connect) replaces the default local master; naming another master
    while it is set is an error, since pyspark cannot honour both.
    """
    text = (master or "").strip()
    remote = os.environ.get("SPARK_REMOTE", "").strip()
    if text.startswith("sc://"):
        return Master("connect", text)
    if remote and text in ("", DEFAULT_MASTER):
        return Master("connect", remote)
    if remote:
        raise SparkError(
            f"SPARK_REMOTE={remote} and master={text} are both set; unset SPARK_REMOTE to use "
            "that master or drop the master parameter to use Spark Connect."
        )
    text = text or DEFAULT_MASTER
    if text == "local" or text.startswith("local["):
        return Master("local", text)
    if not re.match(r"^(spark|yarn|k8s|mesos)(://|$)", text):
        raise SparkError(
            f"master={text!r} is not a Spark master; use local[*], spark://host:7077, yarn, "
            "k8s://https://host:443 or sc://host:15002 (Spark Connect)."
        )
    return Master("cluster", text)


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _endpoints(master: Master) -> list[tuple[str, int]]:
    """host:port pairs a master URL names (several for a standalone HA master list)."""
    if master.kind == "connect":
        parsed = urlparse(master.url)
        return [(parsed.hostname or "localhost", parsed.port or CONNECT_PORT)]
    if master.url.startswith("spark://"):
        out = []
        for part in master.url[len("spark://") :].split(","):
            host, _, port = part.partition(":")
            out.append((host, int(port) if port.isdigit() else 7077))
        return out
    if master.url.startswith("k8s://"):
        parsed = urlparse(master.url[len("k8s://") :])
        if parsed.hostname:
            default = 443 if parsed.scheme == "https" else 80
            return [(parsed.hostname, parsed.port or default)]
    return []  # local, yarn (found through HADOOP_CONF_DIR): nothing to probe


def check_reachable(master: Master, timeout: float | None = None) -> None:
    """Raise SparkError if no host:port of ``master`` accepts a TCP connection in ``timeout`` s."""
    endpoints = _endpoints(master)
    if not endpoints:
        return
    timeout = _timeout() if timeout is None else timeout
    errors = []
    for host, port in endpoints:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as error:
            errors.append(f"{host}:{port}: {error.strerror or error}")
    what = "Spark Connect server" if master.kind == "connect" else "Spark master"
    raise SparkError(
        f"The {what} {master.url} is unreachable ({'; '.join(errors)}); start it, or check the "
        f"address and the network (timeout {timeout:g} s, set {TIMEOUT_ENV} to change it)."
    )


# ------------------------------------------------------------------------------------ sessions
_LOCK = threading.RLock()
_SESSION: dict[str, Any] = {"session": None, "master": None}


def local_conf(master: Master) -> dict[str, str]:
    """Defaults for a local session: loopback only, no UI, scratch under RECSYS_HOME."""
    scratch = config.cache_dir("spark")
    cores = _local_cores(master.url)
    return {
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(max(2, cores)),
        "spark.default.parallelism": str(max(2, cores)),
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": (
            f"-Djava.io.tmpdir={scratch / 'tmp'} -XX:-UsePerfData "
            f"-Dlog4j.configurationFile={_log_config(scratch)} "
            + os.environ.get(JAVA_OPTIONS_ENV, "")
        ).strip(),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }


_LOG4J = """\
# written by recsys_core.spark: Spark's own messages at ERROR and above, to stderr
rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{{1}}: %m%n%ex
"""


def _log_config(scratch: Path) -> Path:
    """A log4j2 configuration that keeps Spark quiet (``RECSYS_SPARK_LOG_LEVEL``, default error)."""
    level = os.environ.get("RECSYS_SPARK_LOG_LEVEL", "error").lower()
    path = scratch / f"log4j2-{level}.properties"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(_LOG4J.format(level=level), encoding="utf-8")
        os.replace(tmp, path)
    return path


def _local_cores(url: str) -> int:
    match = re.match(r"^local\[(\d+)", url)
    if match:
        return int(match.group(1))
    return os.cpu_count() or 1


def get_session(
    master: str | None = None,
    conf: dict[str, str] | None = None,
    *,
    app_name: str = "recsys-explorer",
) -> Any:
    """The process-wide SparkSession for ``master`` (reused while the master is the same).

    Parameters
    ----------
    master : str, optional
        ``local[*]`` (default), ``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...`` or
        ``sc://host:15002``; ``SPARK_REMOTE`` replaces the default (see :func:`resolve_master`).
    conf : dict, optional
        Extra Spark settings, applied when a session is started (a running one is reused as it
        is; call :func:`stop_session` first to change them).

    Raises
    ------
    SparkError
        pyspark or Java missing, the master unreachable, or Spark failing to start.
    """
    chosen = resolve_master(master)
    require_pyspark()
    with _LOCK:
        current = _SESSION["session"]
        if current is not None and _SESSION["master"] == chosen and _alive(current):
            return current
        if current is not None:
            stop_session()
        check_reachable(chosen)
        if chosen.kind == "connect":
            session = _connect_session(chosen, conf, app_name)
        else:
            require_java()
            session = _classic_session(chosen, conf, app_name)
        _SESSION.update(session=session, master=chosen)
        return session


def _classic_session(master: Master, conf: dict[str, str] | None, app_name: str) -> Any:
    from pyspark.sql import SparkSession

    settings = local_conf(master) if master.is_local else {}
    settings.update(conf or {})
    if master.is_local:
        scratch = config.cache_dir("spark")
        for part in ("local", "tmp", "warehouse"):
            (scratch / part).mkdir(parents=True, exist_ok=True)
    if master.is_local:
        # the launcher reads it before any setting: no lookup of the machine's public address
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master.url).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # py4j / JVM start-up failures
        raise SparkError(
            f"Spark did not start on {master.url} ({_first_line(error)}); check Java, the "
            "master and spark-defaults.conf."
        ) from None
    context = session.sparkContext
    context.setLogLevel(os.environ.get("RECSYS_SPARK_LOG_LEVEL", "ERROR"))
    if master.is_local:
        context.setCheckpointDir(str(config.cache_dir("spark", "checkpoints")))
    return session


def _connect_session(master: Master, conf: dict[str, str] | None, app_name: str) -> Any:
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies("pyspark.sql.connect")
    except ImportError as error:
        raise SparkError(
            f"Spark Connect needs pyspark's connect extra ({error.name or error} is missing); "
            "install it with `pip install 'pyspark[connect]'` at the pinned version."
        ) from None
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.remote(master.url).appName(app_name)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as error:
        raise SparkError(
            f"Spark Connect at {master.url} refused the session ({_first_line(error)}); check "
            "the server and its version."
        ) from None


def _alive(session: Any) -> bool:
    try:
        if hasattr(session, "sparkContext") and not _is_connect(session):
            return session.sparkContext._jsc is not None
        return True
    except Exception:
        return False


def _is_connect(session: Any) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


def stop_session() -> None:
    """Stop the process-wide session (the next :func:`get_session` starts a new one)."""
    with _LOCK:
        session = _SESSION["session"]
        _SESSION.update(session=None, master=None)
        if session is not None:
            try:
                session.stop()
            except Exception:  # noqa: BLE001 - stopping a dead session is not an error
                pass


def jvm_pid(session: Any | None = None) -> int | None:
    """The pid of the local driver JVM (None for Spark Connect or when unknown)."""
    session = session or _SESSION["session"]
    if session is None or _is_connect(session):
        return None
    try:
        from pyspark import SparkContext

        proc = SparkContext._gateway.proc  # the spark-submit launcher, which execs java
        return int(proc.pid)
    except Exception:  # noqa: BLE001
        return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line[:200].rstrip(".")


# ------------------------------------------------------------------------------- interactions
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


def _is_uri(path: str) -> bool:
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
    if not _is_uri(text):
        local = Path(text).expanduser()
        if not local.exists():
            raise SparkError(f"There is no parquet file or folder at {text}; check the path.")
        text = str(local.resolve())
    try:
        frame = spark.read.parquet(text)
        columns = list(frame.columns)
    except Exception as error:
        raise SparkError(
            f"Spark could not read {text} as parquet ({_first_line(error)}); check that it is a "
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
            f"Spark could not index the ids ({_first_line(error)}); check the input columns."
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
    index = table.column("index").to_numpy()
    ids = table.column("id").to_numpy(zero_copy_only=False).astype(object)
    out = np.empty(len(index), dtype=object)
    out[index] = ids
    return out.astype(str)


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


# ------------------------------------------------------------------------------------ training
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


def fit_als(frame: Any, estimator: Any) -> Any:
    """``estimator.fit(frame)`` with Spark's failures turned into one sentence."""
    try:
        return estimator.fit(frame)
    except Exception as error:
        message = _first_line(error)
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
    chosen = _SESSION.get("master")
    if chosen is not None and chosen.is_local:
        return LOCAL_BLOCKS
    return 0


# ------------------------------------------------------------------------------ model folders
@dataclass
class SparkFactors:
    """Factors read from a Spark ALS model folder (see :func:`read_model_dir`).

    ``user_ids`` / ``item_ids`` are the original ids (str) of the rows of ``user_factors`` /
    ``item_factors``; ``params`` holds Spark's parameters from the model's metadata.
    """

    user_ids: np.ndarray
    user_factors: np.ndarray
    item_ids: np.ndarray
    item_factors: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    spark_version: str | None = None
    ids_are: str = "original"


def write_model_dir(
    model: Any,
    path: str,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    params: dict[str, Any] | None = None,
) -> None:
    """Save an ALSModel (``ALSModel.save`` layout) plus ``user_ids/`` and ``item_ids/`` parquet
    (``index``, ``id``) and the training parameters (``training_params/``, one JSON line:
    ALSModel's own metadata keeps only the rank).

    ``path`` may be any URI Spark writes; everything is written by Spark.
    """
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or _SESSION["session"]
    target = str(path)
    if not _is_uri(target):
        target = str(Path(target).expanduser().resolve())
    try:
        model.write().overwrite().save(target)
        for name, ids in ((USER_IDS, user_ids), (ITEM_IDS, item_ids)):
            table = pa.table(
                {"index": pa.array(np.arange(len(ids), dtype=np.int32)), "id": pa.array(ids)}
            )
            spark.createDataFrame(table).write.mode("overwrite").parquet(f"{target}/{name}")
        if params:
            line = json.dumps({k: params[k] for k in sorted(params)})
            spark.createDataFrame([(line,)], "value string").coalesce(1).write.mode(
                "overwrite"
            ).text(f"{target}/{TRAINING_PARAMS}")
    except Exception as error:
        raise SparkError(f"Spark could not write {target} ({_first_line(error)}).") from None


def read_model_dir(path: str | Path, *, ids: str = "auto") -> SparkFactors:
    """Read a Spark ALS model folder with pyarrow only (no Spark, no Java).

    Parameters
    ----------
    path : str or Path
        A folder written by ``ALSModel.save`` (``metadata/``, ``userFactors/``,
        ``itemFactors/``), by :func:`write_model_dir` (the same plus ``user_ids/``,
        ``item_ids/``), or any folder holding ``userFactors`` and ``itemFactors`` parquet
        (``model.userFactors.write.parquet(...)``).
    ids : {"auto", "original", "index"}
        What the factors' integer ``id`` column means. "auto": an index into the id maps when
        the folder has them, else the original ids (ALS trained on integer ids such as
        MovieLens'). "index": matrix indices of the dataset the factors are aligned to.

    Returns
    -------
    SparkFactors
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise SparkError(
            f"There is no folder at {path}; give the folder an ALS model was saved to (copy it "
            "from HDFS or S3 first)."
        )
    found = {name: _find_parquet(root, name) for name in (USER_FACTORS, ITEM_FACTORS)}
    missing = [name for name, where in found.items() if where is None]
    if missing:
        raise SparkError(
            f"{root} has no {' or '.join(missing)} parquet; give the folder ALSModel.save wrote "
            "(with userFactors/ and itemFactors/ inside)."
        )
    user_table = _read_table(found[USER_FACTORS])
    item_table = _read_table(found[ITEM_FACTORS])
    params, version = _read_metadata(root)
    rank = int(params.get("rank") or _rank_of(item_table))
    user_raw = np.asarray(user_table.column("id").to_numpy(), dtype=np.int64)
    item_raw = np.asarray(item_table.column("id").to_numpy(), dtype=np.int64)
    user_vectors = _vectors(user_table, rank)
    item_vectors = _vectors(item_table, rank)
    maps = {name: _find_parquet(root, name) for name in (USER_IDS, ITEM_IDS)}
    has_maps = all(maps.values())
    if ids not in ("auto", "original", "index"):
        raise SparkError(f"ids={ids!r} is not one of auto, original, index.")
    if ids == "auto":
        ids = "maps" if has_maps else "original"
    if ids == "maps":
        user_ids = _mapped(user_raw, _read_id_map(maps[USER_IDS]), "user")
        item_ids = _mapped(item_raw, _read_id_map(maps[ITEM_IDS]), "item")
        ids_are = "original"
    else:
        user_ids, item_ids = user_raw.astype(str), item_raw.astype(str)
        ids_are = ids
    return SparkFactors(
        user_ids=user_ids,
        user_factors=user_vectors,
        item_ids=item_ids,
        item_factors=item_vectors,
        params=params,
        spark_version=version,
        ids_are=ids_are,
    )


def _find_parquet(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / f"{name}.parquet"):
        if candidate.exists():
            return candidate
    return None


def _read_table(path: Path) -> pa.Table:
    try:
        dataset = pads.dataset(
            str(path), format="parquet", exclude_invalid_files=True, ignore_prefixes=["_", "."]
        )
        return dataset.to_table()
    except (pa.ArrowException, OSError) as error:
        raise SparkError(f"{path} is not readable parquet ({str(error)[:120]}).") from None


def _rank_of(table: pa.Table) -> int:
    if table.num_rows == 0:
        raise SparkError("The factors table is empty; the model was trained on no data.")
    return len(table.column("features")[0].as_py())


def _vectors(table: pa.Table, rank: int) -> np.ndarray:
    if "id" not in table.column_names or "features" not in table.column_names:
        raise SparkError(
            f"A factors table needs columns id and features, not {', '.join(table.column_names)}."
        )
    values = pc.list_flatten(table.column("features").combine_chunks()).to_numpy()
    values = np.asarray(values, dtype=np.float32)
    if len(values) != table.num_rows * rank:
        raise SparkError(f"The factors are not all of rank {rank}; the folder is damaged.")
    return values.reshape(table.num_rows, rank)


def _read_id_map(path: Path) -> np.ndarray:
    table = _read_table(path)
    index = np.asarray(table.column("index").to_numpy(), dtype=np.int64)
    ids = table.column("id").to_numpy(zero_copy_only=False)
    out = np.empty(len(index), dtype=object)
    out[index] = ids
    return out.astype(str)


def _mapped(raw: np.ndarray, id_map: np.ndarray, what: str) -> np.ndarray:
    if len(raw) and (raw.min() < 0 or raw.max() >= len(id_map)):
        raise IdAlignmentError(
            f"The {what} factors have index {int(raw.max())} but the {what} id map has "
            f"{len(id_map):,} ids; the folder mixes two trainings, write it again."
        )
    return id_map[raw]


_SPARK_TO_PARAMS = {
    "rank": "rank",
    "maxIter": "maxIter",
    "regParam": "regParam",
    "alpha": "alpha",
    "seed": "seed",
    "implicitPrefs": "implicitPrefs",
    "numUserBlocks": "numUserBlocks",
    "blocks": "blocks",
    "master": "master",
}


def _read_metadata(root: Path) -> tuple[dict[str, Any], str | None]:
    """Spark's parameters from ``metadata/`` (the rank only, for an ALSModel) and from
    ``training_params/`` (what :func:`write_model_dir` adds), and the Spark version."""
    params, version = _read_json_lines(root / "metadata", spark_meta=True)
    trained, _ = _read_json_lines(root / TRAINING_PARAMS, spark_meta=False)
    params.update(trained)
    return params, version


def _read_json_lines(folder: Path, *, spark_meta: bool) -> tuple[dict[str, Any], str | None]:
    if not folder.is_dir():
        return {}, None
    for part in sorted(folder.glob("part-*")):
        try:
            text = part.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if not text:
            continue
        try:
            meta = json.loads(text.splitlines()[0])
        except json.JSONDecodeError:
            continue
        if not isinstance(meta, dict):
            continue
        params: dict[str, Any] = {}
        if spark_meta:
            params.update(meta.get("defaultParamMap") or {})
            params.update(meta.get("paramMap") or {})
            if "rank" in meta:
                params["rank"] = meta["rank"]
        else:
            params.update(meta)
        return {k: params[k] for k in _SPARK_TO_PARAMS if k in params}, meta.get("sparkVersion")
    return {}, None


# ---------------------------------------------------------------------------------- alignment
@dataclass
class Aligned:
    """Vectors in a dataset's index order: ``vectors[i]`` belongs to the dataset's id ``i``.

    ``found[i]`` says whether id ``i`` had a vector (others are zero); ``n_extra`` counts the
    factor rows whose id the dataset does not have (left out).
    """

    vectors: np.ndarray
    found: np.ndarray
    n_extra: int

    @property
    def n_missing(self) -> int:
        return int((~self.found).sum())


def align_factors(ids: np.ndarray, vectors: np.ndarray, dataset_ids: np.ndarray) -> Aligned:
    """Reorder factor rows (with original ``ids``) to ``dataset_ids``' order.

    Parameters
    ----------
    ids : array of str, shape [n]
    vectors : float32 array, shape [n, rank]
    dataset_ids : array of str, shape [m]

    Returns
    -------
    Aligned
        ``vectors`` of shape [m, rank]; rows of ids the factors lack are zero.
    """
    index = pd.Index(np.asarray(ids).astype(str))
    if not index.is_unique:
        duplicated = index[index.duplicated()][0]
        raise IdAlignmentError(
            f"The factors hold id {duplicated!r} more than once; they come from a damaged or "
            "merged folder."
        )
    position = index.get_indexer(np.asarray(dataset_ids).astype(str))
    found = position >= 0
    out = np.zeros((len(dataset_ids), vectors.shape[1]), dtype=np.float32)
    out[found] = vectors[position[found]]
    return Aligned(out, found, int(len(ids) - found.sum()))


def check_alignment(
    aligned: Aligned, dataset_ids: np.ndarray, factor_ids: np.ndarray, what: str, label: str,
    *, allow_missing: bool,
) -> None:
    """Raise IdAlignmentError when no id, or (unless ``allow_missing``) not every id, matches."""
    n = len(dataset_ids)
    if n and not aligned.found.any():
        sample_ours = str(dataset_ids[0])
        sample_theirs = str(factor_ids[0]) if len(factor_ids) else "none"
        raise IdAlignmentError(
            f"None of the {n:,} {what} ids of {label} (e.g. {sample_ours!r}) are among the "
            f"{len(factor_ids):,} ids of the factors (e.g. {sample_theirs!r}); align them with "
            "the dataset they were trained on (or use --ids index for matrix indices)."
        )
    if aligned.n_missing and not allow_missing:
        example = str(dataset_ids[np.flatnonzero(~aligned.found)[0]])
        raise IdAlignmentError(
            f"{aligned.n_missing:,} of the {n:,} {what}s of {label} have no factors (e.g. "
            f"{example!r}); train on interactions that cover the dataset, or pass "
            "--allow-missing to give them zero vectors."
        )


# ----------------------------------------------------------------------------- into the store
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
    from ..algorithms.spark_als import SparkALS

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
    from ..algorithms.spark_als import SparkALS
    from ..store import ModelStore

    users = align_factors(user_ids, user_factors, dataset.user_ids)
    items = align_factors(item_ids, item_factors, dataset.item_ids)
    check_alignment(items, dataset.item_ids, item_ids, "item", dataset.label,
                    allow_missing=allow_missing)
    check_alignment(users, dataset.user_ids, user_ids, "user", dataset.label,
                    allow_missing=True)
    model = SparkALS.from_factors(users.vectors, items.vectors, params)
    missing = np.flatnonzero(~users.found)
    folded = 0
    if len(missing):
        history = dataset.interactions[missing]
        vectors = model._fold_in(history)
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
    (:func:`index_interactions`), sums repeated pairs and trains; only the id maps and the
    factors are collected.

    Parameters
    ----------
    path : str or Path
        Parquet file or folder (local, or any URI Spark reads) with user, item[, weight].
    params : dict
        Full ``spark-als`` parameters (``parse_params("spark-als", ...)``).
    dataset : Dataset, optional
        Store the factors in the model store aligned to this dataset (:func:`store_factors`).
    output : str, optional
        Also write a Spark model folder with the id maps (:func:`write_model_dir`) that
        ``export-factors`` reads later, e.g. on a cluster's shared storage.
    """
    import time

    if dataset is None and output is None:
        raise SparkError(
            "Say where the factors go: --dataset SPEC stores them aligned to a dataset, --output "
            "DIR writes a Spark model folder for export-factors (or both)."
        )
    text = str(path)
    if not _is_uri(text) and not Path(text).expanduser().exists():
        raise SparkError(f"There is no parquet file or folder at {text}; check the path.")
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
    start = time.perf_counter()
    indexed = index_interactions(frame, progress=lambda f, m: step(0.05, m))
    pairs = indexed.frame.persist()
    try:
        n_interactions = int(pairs.count())
        step(0.15, f"Training on Spark ({params['maxIter']} iterations, {n_interactions:,} pairs)")
        estimator = als_estimator(
            rank=params["rank"],
            max_iter=params["maxIter"],
            reg_param=params["regParam"],
            alpha=params["alpha"],
            seed=params["seed"],
            blocks=auto_blocks(int(params.get("blocks") or 0), session),
        )
        fitted = fit_als(pairs, estimator)
        step(0.85, "Collecting the factors")
        n_users, n_items = indexed.shape
        user_factors, item_factors = collect_factors(fitted, n_users, n_items)
    finally:
        pairs.unpersist()
    fit_seconds = time.perf_counter() - start
    if output is not None:
        step(0.9, f"Writing {output}")
        write_model_dir(fitted, output, indexed.user_ids, indexed.item_ids, params)
    stored = None
    if dataset is not None:
        step(0.95, f"Aligning to {dataset.label} and storing")
        stored = store_factors(
            indexed.user_ids,
            user_factors,
            indexed.item_ids,
            item_factors,
            dataset,
            params,
            allow_missing=allow_missing,
            fit_seconds=fit_seconds,
            source=source,
            extra={"trained_from": str(path), "n_interactions": n_interactions},
            store=store,
        )
    step(1.0, "Done")
    return ParquetTraining(
        n_users=n_users,
        n_items=n_items,
        n_interactions=n_interactions,
        fit_seconds=fit_seconds,
        params=dict(params),
        output=output,
        stored=stored,
    )


def read_factors(path: str, *, ids: str = "auto") -> SparkFactors:
    """A model folder's factors: with pyarrow for a local folder, with Spark for a URI."""
    if not _is_uri(str(path)) or str(path).startswith("file://"):
        local = str(path)[len("file://") :] if str(path).startswith("file://") else str(path)
        return read_model_dir(local, ids=ids)
    session = get_session()
    from pyspark.ml.recommendation import ALSModel

    try:
        model = ALSModel.load(str(path))
    except Exception as error:
        raise SparkError(
            f"Spark could not load an ALS model from {path} ({_first_line(error)})."
        ) from None
    user_table = model.userFactors.toArrow()
    item_table = model.itemFactors.toArrow()
    rank = int(model.rank)
    user_raw = np.asarray(user_table.column("id").to_numpy(), dtype=np.int64)
    item_raw = np.asarray(item_table.column("id").to_numpy(), dtype=np.int64)
    maps = {}
    if ids in ("auto", "maps"):
        for name in (USER_IDS, ITEM_IDS):
            try:
                table = session.read.parquet(f"{path}/{name}").toArrow()
            except Exception:  # noqa: BLE001 - no id maps: the ids are original ids
                break
            maps[name] = table
    if len(maps) == 2:
        user_ids = _mapped(user_raw, _id_array(maps[USER_IDS]), "user")
        item_ids = _mapped(item_raw, _id_array(maps[ITEM_IDS]), "item")
        ids_are = "original"
    else:
        user_ids, item_ids = user_raw.astype(str), item_raw.astype(str)
        ids_are = "index" if ids == "index" else "original"
    params = {"rank": rank, **{k: _param(model, k) for k in ("maxIter", "regParam", "alpha",
                                                             "seed", "implicitPrefs")}}
    return SparkFactors(
        user_ids=user_ids,
        user_factors=_vectors(user_table, rank),
        item_ids=item_ids,
        item_factors=_vectors(item_table, rank),
        params={k: v for k, v in params.items() if v is not None},
        spark_version=getattr(session, "version", None),
        ids_are=ids_are,
    )


def _id_array(table: pa.Table) -> np.ndarray:
    index = np.asarray(table.column("index").to_numpy(), dtype=np.int64)
    out = np.empty(len(index), dtype=object)
    out[index] = table.column("id").to_numpy(zero_copy_only=False)
    return out.astype(str)


def _param(model: Any, name: str) -> Any:
    try:
        return model.getOrDefault(name)
    except Exception:  # noqa: BLE001 - a model without that parameter
        return None


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
        for what, raw, n in (("user", factors.user_ids, dataset.n_users),
                             ("item", factors.item_ids, dataset.n_items)):
            numbers = raw.astype(np.int64)
            if len(numbers) and (numbers.min() < 0 or numbers.max() >= n):
                raise IdAlignmentError(
                    f"The {what} factors have index {int(numbers.max())} but {dataset.label} has "
                    f"{n:,} {what}s; these factors were trained on other data."
                )
        user_ids = dataset.user_ids[factors.user_ids.astype(np.int64)]
        item_ids = dataset.item_ids[factors.item_ids.astype(np.int64)]
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


__all__ = [
    "Aligned",
    "DEFAULT_MASTER",
    "IdAlignmentError",
    "IndexedInteractions",
    "Master",
    "ParquetTraining",
    "SparkError",
    "SparkFactors",
    "StoredFactors",
    "align_factors",
    "als_estimator",
    "auto_blocks",
    "check_alignment",
    "check_reachable",
    "collect_factors",
    "csr_to_frame",
    "export_factors",
    "factors_to_numpy",
    "find_java",
    "fit_als",
    "get_session",
    "index_interactions",
    "java_version",
    "jvm_pid",
    "pyspark_available",
    "read_factors",
    "read_interactions",
    "read_model_dir",
    "require_java",
    "require_pyspark",
    "resolve_master",
    "spark_params",
    "stop_session",
    "store_factors",
    "train_parquet",
    "write_model_dir",
]
