"""The server's side of training jobs: start one, read its status, list, cancel, wait, forget.

:func:`start` writes the job's request into its status file and starts ``python -m
recsys_core.training_jobs run KEY`` (:mod:`.child`) in its own process group, handing it the
job's lock. :func:`status` settles a job whose process is gone without a word. Cancelling
(:func:`request_cancel`, :func:`cancel`) writes the request, sends SIGTERM to the process group
and SIGKILL after :data:`CANCEL_GRACE` seconds if it is still there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..algorithms import get_algorithm, parse_params
from ..dataset import Dataset
from ..store.folders import model_id_for
from ..store.models import ModelStore
from .budget import niceness, thread_budget
from .status import (
    ALGORITHM_LABEL,
    KEY,
    SCHEMA,
    JobStatus,
    cancel_requested,
    job_path,
    jobs_dir,
    read_status,
    running,
    try_lock,
    update_status,
    write_status,
)

CANCEL_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL when a job does not stop by itself."""
KEEP_FINISHED = 24 * 3600.0
"""Seconds a finished job's status is kept (and listed) before :func:`jobs` removes it."""
_CHILDREN: dict[str, subprocess.Popen] = {}
"""Processes this server started, by key: polled so they are reaped (no zombies)."""
_CHILDREN_LOCK = threading.Lock()


def job_key(fingerprint: str, algorithm: str, params: dict[str, Any]) -> str:
    """The key of a job: the id of the model it produces (dataset + algorithm + parameters),
    so asking again for the same training finds the same job, or the stored model."""
    return model_id_for(fingerprint, algorithm, params)


def start(
    dataset: Dataset,
    algorithm: str,
    params: dict[str, Any] | None = None,
    *,
    spec: str,
    options: dict[str, Any] | None = None,
    source: dict | None = None,
    extra: dict | None = None,
    preset: str | None = None,
    threads: int | None = None,
) -> JobStatus:
    """Start training ``algorithm`` on ``dataset`` in a job, or find the one already running.

    Parameters
    ----------
    dataset : Dataset
        The dataset on screen: its fingerprint keys the job, and the child checks that the
        dataset it loads from ``spec`` has the same one.
    algorithm, params, preset
        As for :func:`recsys_core.training.train` (validated here, before anything starts).
    spec : str
        How the app loaded the dataset (a registry name, a file path, ``upload:<key>``,
        ``...@kcore=U,I``); the child calls ``load_dataset(spec, **options)``.
    options : dict, optional
        Loader options the app used (an items file recorded for a file dataset).
    source, extra : dict, optional
        Kept in the stored model's meta, as for :func:`~recsys_core.training.train`.
    threads : int, optional
        The job's thread budget (default :func:`thread_budget`).

    Returns
    -------
    JobStatus
        The new job (``"starting"``), the one already running for the same key, or ``"done"``
        with ``reused`` when the store holds that model already (nothing is started).
    """
    values = parse_params(algorithm, params, preset)
    key = job_key(dataset.fingerprint, algorithm, values)
    request = {
        "algorithm": algorithm,
        ALGORITHM_LABEL: get_algorithm(algorithm).label or algorithm,
        "params": values,
        "spec": str(spec),
        "options": dict(options or {}),
        "source": source,
        "extra": extra,
        "fingerprint": dataset.fingerprint,
        "label": dataset.label,
        "n_interactions": int(dataset.n_interactions),
        "threads": int(threads or thread_budget()),
        "nice": niceness(),
    }
    json.dumps(request)  # JSON-serialisable, or fail here rather than in the child
    store = ModelStore()
    for _ in range(200):  # a status() probe holds the lock for a moment: try again
        with try_lock(key) as fd:
            if fd is not None:
                return _launch(key, fd, request, store)
        current = status(key)
        if current is not None and current.active:
            return current
        time.sleep(0.01)
    current = status(key)
    if current is None:
        raise RuntimeError(f"The training job {key} is locked but has no status.")
    return current


def _launch(key: str, fd: int, request: dict, store: ModelStore) -> JobStatus:
    """Start the child (the caller holds the job's lock on ``fd``; the child inherits it)."""
    now = time.time()
    run = uuid.uuid4().hex[:8]
    base = {
        "schema": SCHEMA,
        "key": key,
        "run": run,
        "created": now,
        "updated": now,
        "request": request,
        "cancel_requested": False,
    }
    with contextlib.suppress(OSError):
        job_path(key, ".cancel").unlink()
    if _write_reused(key, base, store):
        return read_status(key)  # type: ignore[return-value]
    write_status(
        {
            **base,
            "state": "starting",
            "phase": "starting",
            "fraction": 0.0,
            "message": "Starting the training process",
        }
    )
    env = _child_env(int(request["threads"]))
    log = open(job_path(key, ".log"), "wb")  # noqa: SIM115 (the child writes it; closed below)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys_core.training_jobs", "run", key, str(fd)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            pass_fds=(fd,),
            process_group=0,
        )
    except OSError as error:
        write_status(
            {
                **base,
                "state": "failed",
                "finished": time.time(),
                "error": f"The training process could not start ({error.strerror or error}).",
            }
        )
        return read_status(key)  # type: ignore[return-value]
    finally:
        log.close()
    with _CHILDREN_LOCK:  # the child writes its own pid in its first status; till then, ours
        _CHILDREN[key] = process
    return status(key)  # type: ignore[return-value]


def _write_reused(key: str, base: dict, store: ModelStore) -> bool:
    """Write a ``"done"`` status reusing the stored model ``key``; False (nothing written) when
    it is not stored, or damaged: the job trains it again."""
    if not store.exists(key):
        return False
    try:
        meta = store.meta(key)
    except Exception:  # a damaged copy: the job trains it again  # noqa: BLE001
        return False
    write_status(
        {
            **base,
            "state": "done",
            "phase": "",
            "fraction": 1.0,
            "message": "Reused the stored model",
            "finished": base["created"],
            "model_id": key,
            "reused": True,
            "fit_seconds": meta.get("fit_seconds"),
        }
    )
    return True


def _child_env(threads: int) -> dict[str, str]:
    """The job process's environment: its thread budget for OpenMP and numba, one BLAS thread,
    and this project on the path."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env.update(
        {
            "OMP_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": str(threads),
            "PYTHONPATH": os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p),
        }
    )
    return env


_EXIT_CODES: dict[str, int] = {}
"""How this server's children ended, by key (negative: killed by that signal)."""


def _reap(key: str) -> None:
    with _CHILDREN_LOCK:
        process = _CHILDREN.get(key)
        if process is not None and process.poll() is not None:
            _EXIT_CODES[key] = process.returncode
            del _CHILDREN[key]


def status(key: str) -> JobStatus | None:
    """The job's status, or None if there is none. A job that looks active but whose process is
    gone without a word is settled here: cancelled if that was asked for (or done, if its model
    made it into the store), else failed."""
    if not KEY.match(str(key)):
        return None
    _reap(key)
    current = read_status(key)
    if current is None or not current.active:
        return current
    if not current.cancel_requested and cancel_requested(key, current.run):
        current = replace(current, cancel_requested=True)
    with try_lock(key) as fd:
        if fd is None:
            if current.pid is None:
                with _CHILDREN_LOCK:
                    process = _CHILDREN.get(key)
                if process is not None:
                    current = replace(current, pid=process.pid)
            return current  # running
        current = read_status(key)  # read again under the lock: the child may have just finished
        if current is None or not current.active:
            return current
        return _settle(key, current)


def _settle(key: str, current: JobStatus) -> JobStatus:
    """Finish the status of a job whose process is gone (the caller holds the lock)."""
    store = ModelStore()
    store.discard_partial(key)  # a temporary folder the killed child left in the store
    now = time.time()
    if store.exists(key):
        changes: dict[str, Any] = {
            "state": "done",
            "model_id": key,
            "fraction": 1.0,
            "message": "Done",
            "finished": now,
        }
    elif current.cancel_requested or cancel_requested(key, current.run):
        changes = {"state": "cancelled", "message": "Cancelled", "finished": now}
    else:
        changes = {"state": "failed", "finished": now, "error": _vanished(key)}
    return update_status(key, **changes) or current


def _vanished(key: str) -> str:
    """The sentence for a job process that ended without writing how."""
    with _CHILDREN_LOCK:
        code = _EXIT_CODES.pop(key, None)
    if code is None or code == -signal.SIGKILL:  # not ours to know, or killed outright
        return (
            "The training process was killed (the machine may have run out of memory); "
            "try fewer factors or a smaller dataset."
        )
    return (
        "The training process stopped unexpectedly; the details are in the job's log on the server."
    )


def jobs(fingerprint: str | None = None) -> list[JobStatus]:
    """Every job with a status (active ones first, then newest first); finished ones older than
    :data:`KEEP_FINISHED` are removed instead. ``fingerprint`` keeps one dataset's."""
    found = []
    now = time.time()
    try:
        names = os.listdir(jobs_dir())
    except OSError:
        return []
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        key = name[: -len(".json")]
        current = status(key)
        if current is None:
            continue
        if not current.active and now - (current.finished or current.updated) > KEEP_FINISHED:
            forget(key)
            continue
        if fingerprint is None or current.fingerprint == fingerprint:
            found.append(current)
    return sorted(found, key=lambda s: (not s.active, -s.created))


def request_cancel(key: str) -> JobStatus | None:
    """Ask a job to stop and return at once: the request for the child, SIGTERM to its process
    group now, SIGKILL after :data:`CANCEL_GRACE` seconds (from a timer thread) if it is still
    running. The status turns ``"cancelled"`` when the process is gone."""
    current = status(key)
    if current is None or not current.active:
        return current
    job_path(key, ".cancel").write_text(current.run, encoding="utf-8")  # the child checks it
    _signal(key, current.run, signal.SIGTERM)

    def kill_if_still_there() -> None:
        if _signal(key, current.run, signal.SIGKILL):
            _wait_gone(key, 5.0)
        status(key)

    timer = threading.Timer(CANCEL_GRACE, kill_if_still_there)
    timer.daemon = True
    timer.start()
    return status(key)


def _signal(key: str, run: str, signum: int) -> bool:
    """Send ``signum`` to the job's process group if that run still holds the lock."""
    if not running(key):
        return False
    current = read_status(key)
    pid = current.pid if current is not None and current.run == run else None
    if pid is None:
        with _CHILDREN_LOCK:
            process = _CHILDREN.get(key)
        pid = process.pid if process is not None else None
    if pid is None or pid <= 1:
        return False
    try:
        os.killpg(pid, signum)  # the child leads its own group: anything it started goes too
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _wait_gone(key: str, timeout: float) -> bool:
    """Wait until the job's process has exited (and is reaped, if it is ours)."""
    deadline = time.monotonic() + timeout
    with _CHILDREN_LOCK:
        process = _CHILDREN.get(key)
    if process is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        _reap(key)
        return True
    while time.monotonic() < deadline:
        if not running(key):
            return True
        time.sleep(0.05)
    return not running(key)


def cancel(key: str, timeout: float = CANCEL_GRACE + 5.0) -> JobStatus | None:
    """Stop a job and wait until its process is gone; returns its final status (``"done"`` if
    it finished before the request reached it)."""
    current = request_cancel(key)
    if current is None or not current.active:
        return current
    if not _wait_gone(key, CANCEL_GRACE + 0.5):
        _signal(key, current.run, signal.SIGKILL)
        _wait_gone(key, max(0.5, timeout - CANCEL_GRACE))
    return status(key)


def wait(key: str, timeout: float = 600.0, poll: float = 0.1) -> JobStatus | None:
    """Wait until the job is finished (or ``timeout`` seconds); returns its status."""
    deadline = time.monotonic() + timeout
    current = status(key)
    while current is not None and current.active and time.monotonic() < deadline:
        time.sleep(poll)
        current = status(key)
    return current


def forget(key: str) -> None:
    """Remove a finished job's files (an active job is left alone)."""
    with try_lock(key) as fd:
        if fd is None:
            return
        current = read_status(key)
        if current is not None and current.active:
            return
        for suffix in (".json", ".cancel", ".log"):
            with contextlib.suppress(OSError, ValueError):
                job_path(key, suffix).unlink()
