"""What a training job may use: when the app trains in a job, how many threads, what priority.

Environment variables set by the operator: :data:`BACKGROUND_ENV` (interactions from which the
app trains in a job), :data:`THREADS_ENV` (a job's threads), :data:`NICE_ENV` (its niceness).
"""

from __future__ import annotations

import os

from ..dataset import Dataset

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
