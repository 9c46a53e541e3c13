"""A job's files under ``$RECSYS_HOME/jobs/``: its status, its lock and its cancel request.

``<key>.json`` is the status (written atomically, :func:`recsys_core.util.files.atomic_write`),
``<key>.lock`` an flock held by the running child for its whole life, ``<key>.cancel`` a cancel
request (the run id it cancels) and ``<key>.log`` the child's stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..util.files import atomic_write_json

SCHEMA = 1
STATUS_MAX_BYTES = 256 * 1024
ACTIVE = ("starting", "running")
FINISHED = ("done", "failed", "cancelled")
KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")
"""What a job key (the id of the model it produces) looks like."""
ALGORITHM_LABEL = "algorithm_label"
"""The request's key for the algorithm's human name (the child's error sentences use it, so the
job process needs no words of the render layer)."""


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


def status_from(payload: Any, key: str) -> JobStatus | None:
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
        model_id=text("model_id", 130) if KEY.match(text("model_id", 130) or "") else None,
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


def job_path(key: str, suffix: str) -> Path:
    """``<jobs_dir>/<key><suffix>``; ValueError for a key that is not a model id."""
    if not KEY.match(str(key)):
        raise ValueError(f"{key!r} is not a job key; keys are model ids like 'als-1a2b3c4d5e6f'.")
    return jobs_dir() / f"{key}{suffix}"


def read_status(key: str) -> JobStatus | None:
    """The job's status file, read and checked (None if missing, oversized or unusable)."""
    try:
        with open(job_path(key, ".json"), "rb") as handle:
            raw = handle.read(STATUS_MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > STATUS_MAX_BYTES:
        return None
    try:
        return status_from(json.loads(raw.decode("utf-8")), key)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def write_status(status: dict) -> None:
    """Write a status file atomically (a reader sees the old one or the new one)."""
    atomic_write_json(job_path(status["key"], ".json"), status, indent=None, sort_keys=False)


def update_status(key: str, **changes: Any) -> JobStatus | None:
    """Read, change and write a status (the caller holds the job's lock)."""
    current = read_status(key)
    if current is None:
        return None
    payload = current.to_dict()
    payload.update(changes)
    payload["updated"] = time.time()
    write_status(payload)
    return read_status(key)


def cancel_requested(key: str, run: str) -> bool:
    """Whether a cancel request for this run of the job is on file."""
    try:
        return job_path(key, ".cancel").read_text(encoding="utf-8").strip() == run
    except OSError:
        return False


@contextlib.contextmanager
def try_lock(key: str) -> Iterator[int | None]:
    """The job's lock if nobody holds it (yields its file descriptor, else None); released on
    exit unless the descriptor was handed to a child."""
    fd = os.open(job_path(key, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def running(key: str) -> bool:
    """Whether a job process holds ``key``'s lock."""
    with try_lock(key) as fd:
        return fd is None
