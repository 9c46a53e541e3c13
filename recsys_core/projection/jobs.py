"""Projections for the app: a look in the disk cache that never computes, and the background
computations shared by the server's sessions.

A t-SNE or UMAP map that is not cached can take a minute. The app computes it in a background
thread (:class:`Jobs`): every session that asks for the same map waits for the same computation
(a rerun finds it instead of starting it again), one map is computed at a time (each may use both
cores), and one nobody has waited for in :data:`ABANDON_SECONDS` stops at its next progress
report. :func:`from_cache` answers at once whether the map is cached, and
:func:`wants_first_picture` whether a large one is worth a quick PCA picture while it is computed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dataset import Dataset
from .maps import project_model
from .methods import Progress
from .result import Projection

ABANDON_SECONDS = 20.0
"""A background projection nobody has waited for this long stops (at its next progress report)."""
POLL_SECONDS = 0.2
"""How often :meth:`Jobs.wait` reports a job's progress."""
FIRST_PICTURE_FROM = 20_000
"""A t-SNE or UMAP map of more points than this that is not cached yet first shows a PCA map of
every point (a second or two at 138k), replaced by the full map when it is ready."""


class Abandoned(Exception):
    """A background projection nobody waits for any more."""


class _NotCached(Exception):
    """Raised by :func:`from_cache`'s progress callback: the projection would be computed."""


@dataclass
class Job:
    """One projection computed in the background, shared by every session that waits for it."""

    future: Future = field(default_factory=Future)
    fraction: float = 0.0
    message: str = "Waiting for another map to finish…"
    polled: float = field(default_factory=time.monotonic)


class Jobs:
    """The server's background projections, one at a time, by key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = threading.Semaphore(1)
        self.jobs: dict[Hashable, Job] = {}

    def attach(self, key: Hashable, run: Callable[[Progress], Any]) -> Job:
        """The job computing ``key``, started with ``run(progress)`` unless one is under way (a
        job that failed is started again)."""
        with self.lock:
            job = self.jobs.get(key)
            if job is not None and not (job.future.done() and job.future.exception()):
                job.polled = time.monotonic()
                return job
            job = Job()
            self.jobs[key] = job

        def progress(fraction: float, message: str) -> None:
            if time.monotonic() - job.polled > ABANDON_SECONDS:
                raise Abandoned()
            job.fraction, job.message = float(fraction), str(message)

        def work() -> None:
            with self.running:
                try:
                    progress(0.0, "Starting…")
                    job.future.set_result(run(progress))
                except BaseException as error:  # noqa: BLE001 - handed to whoever waits
                    job.future.set_exception(error)

        threading.Thread(target=work, name="recsys-projection", daemon=True).start()
        return job

    def forget(self, key: Hashable, job: Job) -> None:
        """Drop a finished job (later visits read the disk cache)."""
        with self.lock:
            if self.jobs.get(key) is job:
                del self.jobs[key]

    def wait(
        self,
        key: Hashable,
        run: Callable[[Progress], Any],
        *,
        progress: Progress,
        poll: float | None = None,
    ) -> Any:
        """Attach to (or start) the job for ``key`` and wait for its result, calling
        ``progress(fraction, message)`` every ``poll`` seconds (:data:`POLL_SECONDS`).

        Raises
        ------
        Exception
            Whatever ``run`` raised (the job stays, failed, until the next :meth:`attach`).
        """
        job = self.attach(key, run)
        while True:
            job.polled = time.monotonic()
            progress(job.fraction, job.message)
            try:
                result = job.future.result(timeout=POLL_SECONDS if poll is None else poll)
            except TimeoutError:
                continue
            self.forget(key, job)
            return result


def from_cache(model: Any, method: str, **kwargs: Any) -> Projection | None:
    """The projection from the disk cache, or None when it would have to be computed.

    :func:`.maps.project_model` reports 1.0 on a cache hit and starts at 0.0 when it has to
    compute: the progress callback stops it there, before any work. ``kwargs`` are
    :func:`.maps.project_model`'s.
    """

    def stop(fraction: float, message: str) -> None:
        if fraction < 1.0:
            raise _NotCached()

    try:
        return project_model(model, method, progress=stop, **kwargs)
    except _NotCached:
        return None


def wants_first_picture(method: str, n: int) -> bool:
    """Whether a map by ``method`` of ``n`` points that is not cached gets a first picture (a
    PCA map of every point) while it is computed: t-SNE and UMAP of more than
    :data:`FIRST_PICTURE_FROM` points."""
    return method != "pca" and n > FIRST_PICTURE_FROM


def category_strata(data: Dataset, points: str, sample: int | None) -> np.ndarray | None:
    """What a sample of the map is stratified by: the items' categories (str [n_items]) for a
    sampled map of items in a dataset that has some; None otherwise (k-means clusters)."""
    if sample is None or points != "items":
        return None
    categories = data.items["category"].astype(str).to_numpy()
    return categories if (categories != "").any() else None
