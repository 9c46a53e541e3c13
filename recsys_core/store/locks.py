"""The store's write lock: an exclusive ``fcntl.flock`` on a file, re-entrant within a thread."""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_HELD = threading.local()


@contextlib.contextmanager
def file_lock(
    path: Path, on_wait: Callable[[], Any] | None = None, timeout: float | None = None
) -> Iterator[bool]:
    """An exclusive ``fcntl.flock`` on ``path``, re-entrant within one thread.

    flock locks belong to an open file description, so two threads (or processes) opening the
    file separately exclude each other; the kernel drops the lock if the process dies. With a
    ``timeout`` (seconds), gives up when the lock stays busy that long: the context then yields
    False instead of True and holds nothing.
    """
    held: dict = getattr(_HELD, "locks", None) or {}
    _HELD.locks = held
    key = str(path)
    if key in held:
        held[key][1] += 1
        try:
            yield True
        finally:
            held[key][1] -= 1
        return
    handle = open(path, "a+b")  # noqa: SIM115 (closed below)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if timeout is not None:
                if not _poll_lock(handle, timeout):
                    yield False
                    return
            else:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        held[key] = [handle, 1]
        try:
            yield True
        finally:
            del held[key]
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _poll_lock(handle: Any, timeout: float) -> bool:
    """Try a non-blocking flock every 20 ms until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            continue
    return False
