"""Training jobs: a model trained in a separate, lower-priority process that reports progress,
can be cancelled, outlives the page that asked for it and never runs twice at once.

The app trains a small dataset inside the script run (a few seconds; see
:func:`runs_in_background`); a large one goes here, so that the server keeps answering every
other browser session while it trains.

How a job runs
--------------
:func:`start` writes the job's request into its status file and starts
``python -m recsys_core.training_jobs run KEY``: a fresh interpreter in its own process group,
which lowers its own priority (``os.nice``, :func:`niceness`), keeps to a thread budget
(:func:`thread_budget`: OpenMP and BLAS pools), loads the dataset the way the app did, checks
its fingerprint and calls :func:`recsys_core.training.train`, the same function
``python -m recsys_core train`` calls, so the model lands in the store exactly as from the CLI
(atomically: :class:`~recsys_core.store.ModelStore` writes a temporary folder and renames it).

Why a subprocess and not ``multiprocessing``: the Streamlit server is multi-threaded, so a
``fork`` without ``exec`` could copy locks held by other threads and OpenMP pools into the
child; ``spawn`` re-imports the parent's ``__main__`` (Streamlit's bootstrap) and ties the child
to the parent's pipes. A subprocess is a clean interpreter, killable as a process group, and
survives the page (and even the server) that started it. Not the CLI's ``train`` verb itself:
its progress is a human bar on stderr, while a job writes a JSON status that any server
process, or a page reopened later, reads.

Files under ``$RECSYS_HOME/jobs/`` (the key is the model id the job will produce:
:func:`job_key`, from the dataset's fingerprint, the algorithm and its full parameters)::

    <key>.json     the status (written atomically: a temporary file, then os.replace)
    <key>.lock     an flock held by the running child for its whole life: the parent takes it,
                   then hands the open file to the child (pass_fds), so "is it running?" is
                   "is the lock held?" -- no stale pid can fake it, and the kernel drops it
                   when the child dies, however it dies
    <key>.cancel   a cancel request (the run id it cancels)
    <key>.log      the child's stderr: tracebacks of unexpected errors, never shown in the app

Cancelling (:func:`request_cancel`, :func:`cancel`) writes the request (the child checks it at
every progress report and stops by raising), sends SIGTERM to the process group (the child
stops at the next Python instruction), and SIGKILL after :data:`CANCEL_GRACE` seconds if it is
still there (a long native iteration). The store is written atomically, so whichever way it
stops, no model and no half-written folder is left.

Errors in the child come back as one sentence in the status (``error``): a
:class:`~recsys_core.errors.UserError`'s own message, or a sentence for anything else (whose
traceback goes to the job's log).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config

if TYPE_CHECKING:
    from .dataset import Dataset

SCHEMA = 1
BACKGROUND_ENV = "RECSYS_BACKGROUND_TRAINING"
"""Environment variable: the number of interactions from which the app trains in a job."""
BACKGROUND_MIN_INTERACTIONS = 1_000_000
"""Datasets with at least this many interactions train in a job (the default of
:data:`BACKGROUND_ENV`). A job costs about 3 s before it trains (measured on a shared 2-core
machine: 1.3 s until the new interpreter runs, 1.5-2 s more to import the algorithms and read
the dataset back): on the demo (200k interactions) item k-NN fits in 0.2 s and ALS in 2-4 s in
the script run, so small datasets keep training there, where they feel instant. From about a
million interactions ALS takes tens of seconds and more, and would hold the server's cores."""
THREADS_ENV = "RECSYS_TRAINING_THREADS"
"""Environment variable: the thread budget of a job (default :func:`thread_budget`)."""
NICE = 10
"""How much a job lowers its priority. With Linux's scheduler a nice-10 thread gets about a
tenth of a core that a normal one wants too, so the server's threads come first. The child
stays in the server's session (its own process group, not a new session), so it shares the
server's autogroup and the nice value counts against the server's own threads."""
NICE_ENV = "RECSYS_TRAINING_NICE"
"""Environment variable: the niceness a job adds (default :data:`NICE`; 0 to 19)."""
CANCEL_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL when a job does not stop by itself."""
KEEP_FINISHED = 24 * 3600.0
"""Seconds a finished job's status is kept (and listed) before :func:`jobs` removes it."""
STATUS_MAX_BYTES = 256 * 1024
WRITE_EVERY = 0.25
"""Seconds between two progress writes of the child (an epoch or phase change always writes)."""

ACTIVE = ("starting", "running")
FINISHED = ("done", "failed", "cancelled")
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")
_EPOCH = re.compile(r"\b(?:epoch|iteration)\s+(\d+)\s*(?:/|of)\s*(\d+)", re.IGNORECASE)
_CHILDREN: dict[str, subprocess.Popen] = {}
"""Processes this server started, by key: polled so they are reaped (no zombies)."""
_CHILDREN_LOCK = threading.Lock()


class JobCancelled(BaseException):
    """Raised inside the child when it is asked to stop (a BaseException, like
    KeyboardInterrupt, so no ``except Exception`` on the way swallows it)."""


# ------------------------------------------------------------------------------ the status
@dataclass(frozen=True)
class JobStatus:
    """What a job is doing, as read from its status file.

    ``state`` is ``"starting"`` (the process is being started), ``"running"``, ``"done"``,
    ``"failed"`` or ``"cancelled"``; ``phase`` (while running) ``"loading"``, ``"training"`` or
    ``"saving"``; ``fraction`` in [0, 1] of that phase, with its ``message``; ``epoch`` and
    ``epochs`` for iterative models (None otherwise). Times are Unix seconds. When done,
    ``model_id`` is the stored model (``reused`` if it was in the store already); when failed,
    ``error`` is one sentence.
    """

    key: str
    state: str
    run: str = ""
    phase: str = ""
    fraction: float = 0.0
    message: str = ""
    epoch: int | None = None
    epochs: int | None = None
    created: float = 0.0
    started: float | None = None
    updated: float = 0.0
    finished: float | None = None
    pid: int | None = None
    model_id: str | None = None
    reused: bool = False
    fit_seconds: float | None = None
    error: str | None = None
    cancel_requested: bool = False
    request: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Starting or running."""
        return self.state in ACTIVE

    @property
    def algorithm(self) -> str:
        return str(self.request.get("algorithm") or self.key.split("-")[0])

    @property
    def params(self) -> dict:
        return dict(self.request.get("params") or {})

    @property
    def fingerprint(self) -> str | None:
        return self.request.get("fingerprint")

    @property
    def dataset_label(self) -> str:
        return str(self.request.get("label") or "")

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the job was asked for (until it finished, once it has)."""
        end = self.finished if self.finished is not None else (now or time.time())
        return max(0.0, end - self.created)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _status_from(payload: Any, key: str) -> JobStatus | None:
    """A JobStatus from a parsed status file, every field type-checked (None if unusable)."""
    if not isinstance(payload, dict) or payload.get("key") != key:
        return None
    state = payload.get("state")
    if state not in ACTIVE + FINISHED:
        return None

    def number(name: str, default: Any = None) -> Any:
        value = payload.get(name)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok and value == value else default

    def integer(name: str) -> int | None:
        value = payload.get(name)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    def text(name: str, limit: int = 500) -> str | None:
        value = payload.get(name)
        return value[:limit] if isinstance(value, str) else None

    request = payload.get("request")
    return JobStatus(
        key=key,
        state=state,
        run=text("run", 64) or "",
        phase=text("phase", 32) or "",
        fraction=min(max(number("fraction", 0.0), 0.0), 1.0),
        message=text("message") or "",
        epoch=integer("epoch"),
        epochs=integer("epochs"),
        created=number("created", 0.0),
        started=number("started"),
        updated=number("updated", 0.0),
        finished=number("finished"),
        pid=integer("pid"),
        model_id=text("model_id", 130) if _KEY.match(text("model_id", 130) or "") else None,
        reused=payload.get("reused") is True,
        fit_seconds=number("fit_seconds"),
        error=text("error", 1000),
        cancel_requested=payload.get("cancel_requested") is True,
        request=request if isinstance(request, dict) else {},
    )


# ------------------------------------------------------------------------------ files
def jobs_dir() -> Path:
    """``$RECSYS_HOME/jobs`` (created if missing)."""
    return config.subdir("jobs")


def _path(key: str, suffix: str) -> Path:
    if not _KEY.match(str(key)):
        raise ValueError(f"{key!r} is not a job key; keys are model ids like 'als-1a2b3c4d5e6f'.")
    return jobs_dir() / f"{key}{suffix}"


def _read(key: str) -> JobStatus | None:
    try:
        with open(_path(key, ".json"), "rb") as handle:
            raw = handle.read(STATUS_MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > STATUS_MAX_BYTES:
        return None
    try:
        return _status_from(json.loads(raw.decode("utf-8")), key)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _write(status: dict) -> None:
    """Write a status file atomically (a reader sees the old one or the new one)."""
    target = _path(status["key"], ".json")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(status, handle, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _update(key: str, **changes: Any) -> JobStatus | None:
    """Read, change and write a status (the caller holds the job's lock)."""
    current = _read(key)
    if current is None:
        return None
    payload = current.to_dict()
    payload.update(changes)
    payload["updated"] = time.time()
    _write(payload)
    return _read(key)


@contextlib.contextmanager
def _try_lock(key: str) -> Iterator[int | None]:
    """The job's lock if nobody holds it (yields its file descriptor, else None); released on
    exit unless the descriptor was handed to a child."""
    fd = os.open(_path(key, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def _running(key: str) -> bool:
    """Whether a job process holds ``key``'s lock."""
    with _try_lock(key) as fd:
        return fd is None


# ------------------------------------------------------------------------------ the budget
def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def thread_budget(n_cores: int | None = None) -> int:
    """Threads a job may use: :data:`THREADS_ENV` if set, else ``max(1, cores - 1)``, so one
    core stays with the server (2 cores: 1 thread)."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return max(1, (n_cores or cores()) - 1)


def niceness() -> int:
    """How much a job lowers its priority: :data:`NICE_ENV` if set (0 to 19), else
    :data:`NICE`."""
    raw = os.environ.get(NICE_ENV, "").strip()
    return min(19, int(raw)) if raw.isdigit() else NICE


def background_threshold() -> int:
    """Interactions from which the app trains in a job (:data:`BACKGROUND_ENV`, default
    :data:`BACKGROUND_MIN_INTERACTIONS`)."""
    raw = os.environ.get(BACKGROUND_ENV, "").strip()
    return int(raw) if raw.isdigit() else BACKGROUND_MIN_INTERACTIONS


def runs_in_background(dataset: Dataset) -> bool:
    """Whether the app should train on ``dataset`` in a job (see
    :data:`BACKGROUND_MIN_INTERACTIONS` for why small ones do not)."""
    return int(dataset.n_interactions) >= background_threshold()


def job_key(fingerprint: str, algorithm: str, params: dict[str, Any]) -> str:
    """The key of a job: the id of the model it produces (dataset + algorithm + parameters),
    so asking again for the same training finds the same job, or the stored model."""
    from .store import model_id_for

    return model_id_for(fingerprint, algorithm, params)


# ------------------------------------------------------------------------------ the parent
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
    from .algorithms import parse_params
    from .store import ModelStore

    values = parse_params(algorithm, params, preset)
    key = job_key(dataset.fingerprint, algorithm, values)
    request = {
        "algorithm": algorithm,
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
        with _try_lock(key) as fd:
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


def _launch(key: str, fd: int, request: dict, store) -> JobStatus:
    """Start the child (the caller holds the job's lock on ``fd``; the child inherits it)."""
    now = time.time()
    run = uuid.uuid4().hex[:8]
    base = {
        "schema": SCHEMA, "key": key, "run": run, "created": now, "updated": now,
        "request": request, "cancel_requested": False,
    }
    with contextlib.suppress(OSError):
        _path(key, ".cancel").unlink()
    if store.exists(key):
        try:
            meta = store.meta(key)
        except Exception:  # a damaged copy: the job trains it again  # noqa: BLE001
            meta = None
        if meta is not None:
            _write({**base, "state": "done", "phase": "", "fraction": 1.0,
                    "message": "Reused the stored model", "finished": now, "model_id": key,
                    "reused": True, "fit_seconds": meta.get("fit_seconds")})
            return _read(key)  # type: ignore[return-value]
    _write({**base, "state": "starting", "phase": "starting", "fraction": 0.0,
            "message": "Starting the training process"})
    threads = str(request["threads"])
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env.update({
        "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": threads,
        "PYTHONPATH": os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p),
    })
    log = open(_path(key, ".log"), "wb")  # noqa: SIM115 (the child writes it; closed below)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys_core.training_jobs", "run", key, str(fd)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            pass_fds=(fd,), process_group=0,
        )
    except OSError as error:
        _write({**base, "state": "failed", "finished": time.time(),
                "error": f"The training process could not start ({error.strerror or error})."})
        return _read(key)  # type: ignore[return-value]
    finally:
        log.close()
    with _CHILDREN_LOCK:  # the child writes its own pid in its first status; till then, ours
        _CHILDREN[key] = process
    return status(key)  # type: ignore[return-value]


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
    if not _KEY.match(str(key)):
        return None
    _reap(key)
    current = _read(key)
    if current is None or not current.active:
        return current
    if not current.cancel_requested and _cancel_requested(key, current.run):
        current = replace(current, cancel_requested=True)
    with _try_lock(key) as fd:
        if fd is None:
            if current.pid is None:
                with _CHILDREN_LOCK:
                    process = _CHILDREN.get(key)
                if process is not None:
                    current = replace(current, pid=process.pid)
            return current  # running
        current = _read(key)  # read again under the lock: the child may have just finished
        if current is None or not current.active:
            return current
        return _settle(key, current)


def _settle(key: str, current: JobStatus) -> JobStatus:
    """Finish the status of a job whose process is gone (the caller holds the lock)."""
    from .store import ModelStore

    store = ModelStore()
    _remove_partial(store, key)
    now = time.time()
    if store.exists(key):
        changes: dict[str, Any] = {"state": "done", "model_id": key, "fraction": 1.0,
                                   "message": "Done", "finished": now}
    elif current.cancel_requested or _cancel_requested(key, current.run):
        changes = {"state": "cancelled", "message": "Cancelled", "finished": now}
    else:
        changes = {"state": "failed", "finished": now, "error": _vanished(key)}
    return _update(key, **changes) or current


def _vanished(key: str) -> str:
    """The sentence for a job process that ended without writing how."""
    with _CHILDREN_LOCK:
        code = _EXIT_CODES.pop(key, None)
    if code is None or code == -signal.SIGKILL:  # not ours to know, or killed outright
        return ("The training process was killed (the machine may have run out of memory); "
                "try fewer factors or a smaller dataset.")
    return ("The training process stopped unexpectedly; the details are in the job's log on "
            "the server.")


def _remove_partial(store, key: str) -> None:
    """Remove a temporary folder of ``key`` a killed writer left in the store (taken under the
    store's lock on that id, so a live writer's folder is never touched)."""
    pattern = re.compile(rf"^\.tmp-{re.escape(key)}-[0-9a-f]{{8}}$")
    try:
        names = [name for name in os.listdir(store.root) if pattern.match(name)]
    except OSError:
        return
    if not names:
        return
    with store.lock(key):
        for name in names:
            shutil.rmtree(store.root / name, ignore_errors=True)


def _cancel_requested(key: str, run: str) -> bool:
    try:
        return _path(key, ".cancel").read_text(encoding="utf-8").strip() == run
    except OSError:
        return False


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
    _path(key, ".cancel").write_text(current.run, encoding="utf-8")  # the child checks it
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
    if not _running(key):
        return False
    current = _read(key)
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
        if not _running(key):
            return True
        time.sleep(0.05)
    return not _running(key)


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
    with _try_lock(key) as fd:
        if fd is None:
            return
        current = _read(key)
        if current is not None and current.active:
            return
        for suffix in (".json", ".cancel", ".log"):
            with contextlib.suppress(OSError, ValueError):
                _path(key, suffix).unlink()


# ------------------------------------------------------------------------------ the child
class _Reporter:
    """The child's side of the status file: progress written at most every
    :data:`WRITE_EVERY` seconds (always on a phase or epoch change), and the cancel check."""

    def __init__(self, status: JobStatus) -> None:
        self.payload = status.to_dict()
        self.key = status.key
        self.run = status.run
        self.last = 0.0

    def cancelled(self) -> bool:
        return _cancel_requested(self.key, self.run)

    def write(self, force: bool = False, **changes: Any) -> None:
        before = (self.payload.get("phase"), self.payload.get("epoch"))
        self.payload.update(changes)
        now = time.time()
        changed = before != (self.payload.get("phase"), self.payload.get("epoch"))
        if force or changed or now - self.last >= WRITE_EVERY:
            self.payload["updated"] = now
            _write(self.payload)
            self.last = now

    def progress(self, phase: str):
        def report(fraction: float, message: str) -> None:
            if self.cancelled():
                raise JobCancelled
            changes: dict[str, Any] = {"phase": phase, "fraction": float(fraction),
                                       "message": str(message or "")[:200]}
            found = _EPOCH.search(str(message or ""))
            if found:
                changes["epoch"], changes["epochs"] = int(found[1]), int(found[2])
            self.write(**changes)

        return report


def _one_sentence(error: BaseException, algorithm: str) -> str:
    """What a failed job says: a UserError's own sentence, or one for anything else."""
    from .errors import UserError
    from .words import algorithm_label

    if isinstance(error, UserError):
        return " ".join(str(error).split())[:1000]
    if isinstance(error, MemoryError):
        return (f"Training {algorithm_label(algorithm)} ran out of memory; try fewer factors "
                "or a smaller dataset (a k-core on the Data page).")
    return (f"Training {algorithm_label(algorithm)} stopped with an unexpected error "
            f"({type(error).__name__}); the details are in the job's log on the server.")


def run_child(key: str) -> int:
    """The job process: train what ``key``'s status asks for, reporting into it."""
    current = _read(key)
    if current is None or not current.active:
        return 1
    nice = current.request.get("nice")
    with contextlib.suppress(OSError):
        os.nice(nice if isinstance(nice, int) and 0 <= nice <= 19 else NICE)
    reporter = _Reporter(current)
    if reporter.cancelled():
        reporter.write(force=True, state="cancelled", message="Cancelled", pid=os.getpid(),
                       finished=time.time())
        return 3

    def on_term(signum: int, frame: Any) -> None:
        raise JobCancelled

    signal.signal(signal.SIGTERM, on_term)
    request = current.request
    algorithm = str(request.get("algorithm"))
    reporter.write(force=True, state="running", phase="loading", fraction=0.0,
                   message="Loading the dataset", pid=os.getpid(), started=time.time())
    try:
        from threadpoolctl import threadpool_limits

        from .datasets import load_dataset
        from .errors import DatasetError
        from .training import train

        threads = int(request.get("threads") or 1)
        with threadpool_limits(threads, user_api="openmp"):
            dataset = load_dataset(
                request["spec"], progress=reporter.progress("loading"),
                **(request.get("options") or {}),
            )
            if dataset.fingerprint != request.get("fingerprint"):
                raise DatasetError(
                    f"{dataset.label} changed since Train was pressed; reload the page and "
                    "train again."
                )
            reporter.write(force=True, phase="training", fraction=0.0,
                           message="Starting to train")
            result = train(
                dataset, algorithm, request.get("params"),
                source=request.get("source"), extra=request.get("extra"),
                progress=reporter.progress("training"),
            )
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the model is stored: it is done
        reporter.write(force=True, state="done", phase="", fraction=1.0, message="Done",
                       model_id=result.model_id, reused=result.reused,
                       fit_seconds=result.fit_seconds, finished=time.time())
        return 0
    except JobCancelled:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        reporter.write(force=True, state="cancelled", message="Cancelled",
                       finished=time.time())
        return 3
    except BaseException as error:  # noqa: BLE001 - one sentence in the status, trace in the log
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        import traceback

        traceback.print_exc()
        reporter.write(force=True, state="failed", error=_one_sentence(error, algorithm),
                       finished=time.time())
        return 2


def main(argv: list[str] | None = None) -> int:
    """``python -m recsys_core.training_jobs run KEY [LOCK_FD]`` (started by :func:`start`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "run" or not _KEY.match(args[1]):
        sys.stderr.write("usage: python -m recsys_core.training_jobs run KEY\n")
        return 2
    return run_child(args[1])


if __name__ == "__main__":
    sys.exit(main())
