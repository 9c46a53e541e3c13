"""The job process: ``python -m recsys_core.training_jobs run KEY`` trains what the status asks.

It lowers its own priority, keeps to the thread budget the request carries, loads the dataset the
way the app did, checks its fingerprint and calls :func:`recsys_core.training.train` (so the
model lands in the store exactly as from the CLI), reporting progress into the status file at
most every :data:`WRITE_EVERY` seconds. A cancel request or SIGTERM stops it by raising
:class:`JobCancelled`; any other error becomes one sentence in the status and a traceback in the
job's log.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
import traceback
from typing import Any

from threadpoolctl import threadpool_limits

from ..datasets import load_dataset
from ..errors import DatasetError, UserError
from ..training import TrainResult, train
from .budget import NICE
from .status import ALGORITHM_LABEL, KEY, JobStatus, cancel_requested, read_status, write_status

WRITE_EVERY = 0.25
"""Seconds between two progress writes of the child (an epoch or phase change always writes)."""
_EPOCH = re.compile(r"\b(?:epoch|iteration)\s+(\d+)\s*(?:/|of)\s*(\d+)", re.IGNORECASE)


class JobCancelled(BaseException):
    """Raised inside the child when it is asked to stop (a BaseException, like
    KeyboardInterrupt, so no ``except Exception`` on the way swallows it)."""


class _Reporter:
    """The child's side of the status file: progress written at most every
    :data:`WRITE_EVERY` seconds (always on a phase or epoch change), and the cancel check."""

    def __init__(self, status: JobStatus) -> None:
        self.payload = status.to_dict()
        self.key = status.key
        self.run = status.run
        self.last = 0.0

    def cancelled(self) -> bool:
        return cancel_requested(self.key, self.run)

    def write(self, force: bool = False, **changes: Any) -> None:
        before = (self.payload.get("phase"), self.payload.get("epoch"))
        self.payload.update(changes)
        now = time.time()
        changed = before != (self.payload.get("phase"), self.payload.get("epoch"))
        if force or changed or now - self.last >= WRITE_EVERY:
            self.payload["updated"] = now
            write_status(self.payload)
            self.last = now

    def progress(self, phase: str):
        def report(fraction: float, message: str) -> None:
            if self.cancelled():
                raise JobCancelled
            changes: dict[str, Any] = {
                "phase": phase,
                "fraction": float(fraction),
                "message": str(message or "")[:200],
            }
            found = _EPOCH.search(str(message or ""))
            if found:
                changes["epoch"], changes["epochs"] = int(found[1]), int(found[2])
            self.write(**changes)

        return report


def _one_sentence(error: BaseException, label: str) -> str:
    """What a failed job says: a UserError's own sentence, or one for anything else
    (``label``: the algorithm's human name, :data:`ALGORITHM_LABEL` of the request)."""
    if isinstance(error, UserError):
        return " ".join(str(error).split())[:1000]
    if isinstance(error, MemoryError):
        return (
            f"Training {label} ran out of memory; try fewer factors "
            "or a smaller dataset (a k-core on the Data page)."
        )
    return (
        f"Training {label} stopped with an unexpected error "
        f"({type(error).__name__}); the details are in the job's log on the server."
    )


def run_child(key: str) -> int:
    """The job process: train what ``key``'s status asks for, reporting into it.

    Returns the exit code: 0 done, 1 no active status, 2 failed, 3 cancelled.
    """
    current = read_status(key)
    if current is None or not current.active:
        return 1
    nice = current.request.get("nice")
    with contextlib.suppress(OSError):
        os.nice(nice if isinstance(nice, int) and 0 <= nice <= 19 else NICE)
    reporter = _Reporter(current)
    if reporter.cancelled():
        reporter.write(
            force=True,
            state="cancelled",
            message="Cancelled",
            pid=os.getpid(),
            finished=time.time(),
        )
        return 3

    def on_term(signum: int, frame: Any) -> None:
        raise JobCancelled

    signal.signal(signal.SIGTERM, on_term)
    request = current.request
    reporter.write(
        force=True,
        state="running",
        phase="loading",
        fraction=0.0,
        message="Loading the dataset",
        pid=os.getpid(),
        started=time.time(),
    )
    try:
        result = _train_requested(request, reporter)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the model is stored: it is done
        reporter.write(
            force=True,
            state="done",
            phase="",
            fraction=1.0,
            message="Done",
            model_id=result.model_id,
            reused=result.reused,
            fit_seconds=result.fit_seconds,
            finished=time.time(),
        )
        return 0
    except JobCancelled:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        reporter.write(force=True, state="cancelled", message="Cancelled", finished=time.time())
        return 3
    except BaseException as error:  # noqa: BLE001 - one sentence in the status, trace in the log
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        traceback.print_exc()
        label = str(request.get(ALGORITHM_LABEL) or request.get("algorithm"))
        reporter.write(
            force=True, state="failed", error=_one_sentence(error, label), finished=time.time()
        )
        return 2


def _train_requested(request: dict, reporter: _Reporter) -> TrainResult:
    """Load the dataset the request names, check it is the one on screen, and train on it
    within the request's thread budget."""
    threads = int(request.get("threads") or 1)
    with threadpool_limits(threads, user_api="openmp"):
        dataset = load_dataset(
            request["spec"],
            progress=reporter.progress("loading"),
            **(request.get("options") or {}),
        )
        if dataset.fingerprint != request.get("fingerprint"):
            raise DatasetError(
                f"{dataset.label} changed since Train was pressed; reload the page and train again."
            )
        reporter.write(force=True, phase="training", fraction=0.0, message="Starting to train")
        return train(
            dataset,
            str(request.get("algorithm")),
            request.get("params"),
            source=request.get("source"),
            extra=request.get("extra"),
            progress=reporter.progress("training"),
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m recsys_core.training_jobs run KEY [LOCK_FD]`` (started by
    :func:`~.control.start`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "run" or not KEY.match(args[1]):
        sys.stderr.write("usage: python -m recsys_core.training_jobs run KEY\n")
        return 2
    return run_child(args[1])
