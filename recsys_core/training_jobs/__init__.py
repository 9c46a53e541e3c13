"""Training jobs: a model trained in a separate, lower-priority process that reports progress,
can be cancelled, outlives the page that asked for it and never runs twice at once.

The app trains a small dataset inside the script run (a few seconds; see
:func:`runs_in_background`); a large one goes here, so that the server keeps answering every
other browser session while it trains.

How a job runs
--------------
:func:`start` writes the job's request into its status file and starts ``python -m
recsys_core.training_jobs run KEY`` (:mod:`.child`): a fresh interpreter in its own process group,
which lowers its own priority (``os.nice``, :func:`niceness`), keeps to a thread budget
(:func:`thread_budget`: OpenMP and BLAS pools), loads the dataset the way the app did, checks its
fingerprint and calls :func:`recsys_core.training.train`, the same function ``python -m recsys_core
train`` calls, so the model lands in the store exactly as from the CLI (atomically:
:class:`~recsys_core.store.ModelStore` writes a temporary folder and renames it).

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

Modules: :mod:`.control` (the server's side: start, status, jobs, cancel, wait, forget),
:mod:`.child` (the job process), :mod:`.status` (the status file, the lock, the cancel request),
:mod:`.budget` (when the app trains in a job, its threads and priority).
"""

from __future__ import annotations

from .budget import (
    BACKGROUND_ENV,
    BACKGROUND_MIN_INTERACTIONS,
    NICE,
    NICE_ENV,
    THREADS_ENV,
    background_threshold,
    cores,
    niceness,
    runs_in_background,
    thread_budget,
)
from .child import WRITE_EVERY, JobCancelled, main, run_child
from .control import (
    CANCEL_GRACE,
    KEEP_FINISHED,
    cancel,
    forget,
    job_key,
    jobs,
    request_cancel,
    start,
    status,
    wait,
)
from .status import ACTIVE, FINISHED, SCHEMA, STATUS_MAX_BYTES, JobStatus, jobs_dir

__all__ = [
    "ACTIVE",
    "BACKGROUND_ENV",
    "BACKGROUND_MIN_INTERACTIONS",
    "CANCEL_GRACE",
    "FINISHED",
    "KEEP_FINISHED",
    "NICE",
    "NICE_ENV",
    "SCHEMA",
    "STATUS_MAX_BYTES",
    "THREADS_ENV",
    "WRITE_EVERY",
    "JobCancelled",
    "JobStatus",
    "background_threshold",
    "cancel",
    "cores",
    "forget",
    "job_key",
    "jobs",
    "jobs_dir",
    "main",
    "niceness",
    "request_cancel",
    "run_child",
    "runs_in_background",
    "start",
    "status",
    "thread_budget",
    "wait",
]
