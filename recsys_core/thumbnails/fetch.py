"""Fetching thumbnails from Sketchfab's model API: many models at once, under one deadline.

:func:`fetch_many` asks the API about several models concurrently and returns the answers that
came within ``timeout``; later answers only fill the cache (:mod:`.cache`). No redirect leaves
the API's origin, bodies over :data:`MAX_RESPONSE_BYTES` are refused, and every request is cut
``2 * timeout`` after the batch began (:mod:`.connections`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..html.safety import safe_href
from .cache import MISS_TTL, TRANSIENT_TTL, Answer, failed, hit, miss, store
from .connections import Sockets, new_session, origin

__all__ = [
    "API_BASE",
    "MAX_REDIRECTS",
    "MAX_RESPONSE_BYTES",
    "THUMBNAIL_WIDTH",
    "fetch_many",
    "pick_thumbnail",
]

API_BASE = "https://api.sketchfab.com/v3/models/"
"""Sketchfab's public model API; ``API_BASE + mid`` is one model's JSON (tests point it at a local
server)."""

THUMBNAIL_WIDTH = 200

MAX_RESPONSE_BYTES = 2_000_000

MAX_REDIRECTS = 2
"""Redirects followed within the API's own origin; none to any other origin."""


def pick_thumbnail(images: Any, width: int = THUMBNAIL_WIDTH) -> str | None:
    """The URL of the image ``width`` pixels wide, else the narrowest wider one, else the widest.

    ``images`` is Sketchfab's ``thumbnails.images``: a list of ``{"url", "width", "height", ...}``.
    Entries without an http(s) URL or a numeric width are skipped; None when nothing is left.
    """
    if not isinstance(images, list):
        return None
    usable: list[tuple[float, str]] = []
    for image in images:
        if not isinstance(image, dict):
            continue
        url = safe_href(image.get("url"))
        try:
            size = float(image.get("width"))
        except (TypeError, ValueError):
            continue
        if url and math.isfinite(size) and size > 0:
            usable.append((size, url))
    if not usable:
        return None
    exact = [url for size, url in usable if size == width]
    if exact:
        return exact[0]
    wider = [(size, url) for size, url in usable if size > width]
    if wider:
        return min(wider, key=lambda pair: pair[0])[1]
    return max(usable, key=lambda pair: pair[0])[1]


def _retry_after(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return TRANSIENT_TTL
    return min(max(seconds, 60.0), MISS_TTL) if math.isfinite(seconds) else TRANSIENT_TTL


def _fetch_one(session: Any, mid: str, timeout: float, deadline: float) -> Answer:
    """What the API says about one model; never raises.

    A request that has not started by ``deadline`` is not made (cached for 0 s, i.e. not at all).
    Nothing goes on past ``deadline + timeout`` (the caller stopped waiting at ``deadline``; a late
    answer only fills the cache): each read's timeout is the time left, and the batch cuts the
    sockets at that moment too. Redirects are followed only within the API's origin.
    """
    if time.monotonic() >= deadline:
        return failed(0.0)
    hard_stop = deadline + timeout
    try:
        home, url = origin(API_BASE + mid)
    except Exception:
        return failed()
    for _hop in range(MAX_REDIRECTS + 1):
        left = hard_stop - time.monotonic()
        if left <= 0:
            return failed()
        try:
            response = session.get(
                url,
                timeout=(min(timeout, left), min(timeout, left)),
                stream=True,
                allow_redirects=False,
            )
        except Exception:  # timeout, refused, cut, DNS, offline, anything the adapter throws
            return failed()
        try:
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("Location")
                if not location:
                    return failed()
                target_origin, target = origin(urljoin(url, location))
                if target_origin != home:
                    return failed()  # not followed: no request ever leaves the API's origin
                url = target
                continue
            return _read_answer(response, status, hard_stop)
        except Exception:  # a connection dropped or cut mid-body, a decoding error
            return failed()
        finally:
            try:
                response.close()
            except Exception:
                pass
    return failed()  # too many redirects


def _read_answer(response: Any, status: int, hard_stop: float) -> Answer:
    if status in (404, 410):
        return miss()
    if status == 429:
        return failed(_retry_after(response.headers.get("Retry-After")))
    if status != 200:
        return failed()
    body = bytearray()
    for chunk in response.iter_content(chunk_size=16384):
        body.extend(chunk)
        if len(body) > MAX_RESPONSE_BYTES or time.monotonic() > hard_stop:
            return failed()
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except ValueError:  # an error page, a truncated body: not an answer from the API
        return failed()
    if not isinstance(data, dict):
        return failed()
    thumbnails = data.get("thumbnails")
    images = thumbnails.get("images") if isinstance(thumbnails, dict) else None
    url = pick_thumbnail(images)
    return hit(url) if url else miss()


class _Batch:
    """Collects answers as they arrive; the ones after the caller's deadline go to the cache alone.

    Once every request has ended it closes the batch's own requests session and stops the
    watchdog that would otherwise cut the sockets at the hard stop.
    """

    def __init__(
        self, path: Path, total: int, session: Any, own_session: bool, watchdog: Any = None
    ) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.answers: dict[str, Answer] = {}
        self.closed = False
        self.remaining = total
        self.session = session
        self.own_session = own_session
        self.watchdog = watchdog

    def record(self, mid: str, future: Future) -> None:
        answer = None
        if not future.cancelled() and future.exception() is None:
            answer = future.result()
        late: dict[str, Answer] = {}
        with self.lock:
            if answer is not None:
                if self.closed:
                    late[mid] = answer
                else:
                    self.answers[mid] = answer
            self.remaining -= 1
            finished = self.remaining == 0
        if late:
            store(self.path, late)
        if finished:
            self.finish()

    def finish(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.own_session:
            try:
                self.session.close()
            except Exception:
                pass

    def close(self) -> dict[str, Answer]:
        with self.lock:
            self.closed = True
            answers = dict(self.answers)
        store(self.path, answers)
        return answers


def fetch_many(
    mids: Sequence[str], *, timeout: float, max_workers: int, session: Any, path: Path
) -> dict[str, Answer]:
    """Answers for the mids that came within ``timeout`` seconds.

    Requests still running go on in the background, until ``2 * timeout`` after the start at the
    latest: then a watchdog shuts their sockets down (for sessions made here; a given session is
    bounded by the time left at each read only).
    """
    start = time.monotonic()
    deadline = start + timeout
    own_session = session is None
    workers = max(1, min(int(max_workers), len(mids)))
    sockets = Sockets()
    try:
        session = session if session is not None else new_session(workers, sockets)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnails")
    except Exception:
        return {}
    watchdog = None
    if own_session:
        watchdog = threading.Timer(max(0.0, deadline + timeout - time.monotonic()), sockets.cut)
        watchdog.daemon = True
        watchdog.name = "thumbnails-watchdog"
    batch = _Batch(path, len(mids), session, own_session, watchdog)
    submitted = 0
    try:
        if watchdog is not None:
            watchdog.start()
        futures = []
        for mid in mids:
            future = executor.submit(_fetch_one, session, mid, timeout, deadline)
            submitted += 1
            future.add_done_callback(partial(batch.record, mid))
            futures.append(future)
        wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    except Exception:
        pass
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        with batch.lock:  # requests never submitted will never report
            batch.remaining -= len(mids) - submitted
            finished = batch.remaining == 0
        if finished:
            batch.finish()
    return batch.close()
