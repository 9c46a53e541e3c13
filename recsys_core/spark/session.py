"""Spark sessions: finding pyspark and Java, naming a master, starting one process-wide session.

:func:`get_session` returns one process-wide ``SparkSession``: ``local[*]`` by default, a
cluster master (``spark://host:7077``, ``yarn``, ``k8s://...``) when named, or Spark Connect
when the master is ``sc://host:15002`` or ``SPARK_REMOTE`` is set. A host:port master is probed
with a short TCP timeout first (``RECSYS_SPARK_TIMEOUT`` seconds, default 5), so an unreachable
one fails in seconds with a sentence instead of hanging. Local sessions bind to 127.0.0.1, have
no UI, keep their scratch files under ``RECSYS_HOME/cache/spark``, log at ERROR
(``RECSYS_SPARK_LOG_LEVEL``) and use few shuffle partitions; ``RECSYS_SPARK_JAVA_OPTIONS`` adds
JVM options; anything else comes from Spark's own configuration
(``SPARK_CONF_DIR/spark-defaults.conf``, ``SPARK_DRIVER_MEMORY``, ``PYSPARK_SUBMIT_ARGS``).

pyspark is imported only inside the functions that start Spark; this module imports nothing of
``recsys_core`` but ``config``, ``errors`` and ``util``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .. import config
from ..errors import UserError
from ..util.files import atomic_write_text

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


class SparkError(UserError, RuntimeError):
    """Spark cannot be used here (pyspark or Java missing, master unreachable, a bad folder)."""


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
        atomic_write_text(path, _LOG4J.format(level=level))
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
            f"Spark did not start on {master.url} ({first_line(error)}); check Java, the "
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
            f"Spark Connect at {master.url} refused the session ({first_line(error)}); check "
            "the server and its version."
        ) from None


def _alive(session: Any) -> bool:
    """Whether a classic session's context still runs (pyspark has no public call for it: a
    stopped SparkContext sets its private ``_jsc`` to None)."""
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


def current_session() -> Any | None:
    """The session :func:`get_session` started (None before, or after :func:`stop_session`)."""
    return _SESSION["session"]


def current_master() -> Master | None:
    """The master of :func:`current_session` (None when there is none)."""
    return _SESSION["master"]


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


def first_line(error: BaseException) -> str:
    """The first line of an error's message (at most 200 characters), for one-sentence errors."""
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line[:200].rstrip(".")
