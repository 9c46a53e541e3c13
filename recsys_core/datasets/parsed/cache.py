"""The dataset of a file: read back from its kept copy, or parsed (and kept) under a lock.

Concurrent loads of the same content parse once: the entry's lock is held while it is parsed and
written, and the others wait, then read it. The entry (its fingerprint, then its arrays) is
written by a thread once the parse is over, so the load returns at once and the caller's next
step (a training, a page) runs meanwhile; the lock is released when the entry is whole, and a
command's process ends only then (the thread is not a daemon; :func:`wait` waits for it).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ...dataset import Dataset
from ..progress import Progress
from .folder import LOCKS, logger, root
from .keys import entry_key, file_hash, stats
from .read import read_entry
from .write import write_entry

Parse = Callable[[Progress | None], "tuple[Dataset, pd.DataFrame | None]"]
"""``parse(progress) -> (Dataset, items frame as read or None)``."""


def load_or_parse(
    path: Path,
    *,
    items_path: Path | None,
    key_options: dict[str, Any],
    max_rows: int,
    label: str,
    items_label: str | None,
    name: str,
    progress: Progress | None,
    parse: Parse,
) -> Dataset:
    """The dataset of a file: read back from its parsed copy, or parsed (and kept).

    Parameters
    ----------
    path, items_path : Path
        The interactions file and the optional items file (hashed for the key).
    key_options : dict
        JSON-able options that change what a parse gives (part of the key).
    max_rows : int
        The row limit now in force: a kept copy of a file with more rows is not used (the parse
        then refuses the file with its own sentence).
    label, items_label, name : str
        What the files and the dataset are called now (the kept notes are reworded with them).
    progress : callable, optional
        ``progress(fraction, message)``.
    parse : callable
        ``parse(progress) -> (Dataset, items frame as read or None)``; its DatasetError passes
        through unchanged.

    Returns
    -------
    Dataset
    """
    files = [path] + ([items_path] if items_path is not None else [])
    try:
        before = stats(files)  # before hashing: a change from here on is not kept
        hashes = [file_hash(file, progress) for file in files]
        base = root()
    except (OSError, ValueError) as error:  # an unreadable file: the parse says why
        logger.debug("not using the parsed-file cache for %s: %s", label, error)
        return parse(progress)[0]
    key = entry_key({"files": hashes, **key_options})
    names = (label, items_label, name, path)
    found = read_entry(base / key, key, max_rows, *names)
    if found is not None:
        _done(progress, found, cached=True)
        return found
    return _parse_and_keep(base, key, files, before, max_rows, names, progress, parse)


def _parse_and_keep(
    base: Path,
    key: str,
    files: list[Path],
    before: list[list[int]],
    max_rows: int,
    names: tuple[str, str | None, str, Path],
    progress: Progress | None,
    parse: Parse,
) -> Dataset:
    """Parse under the entry's lock (unless another load wrote the entry meanwhile), then keep
    the result in a thread that releases the lock once the entry is whole."""
    label, items_label = names[0], names[1]
    try:
        (base / LOCKS).mkdir(exist_ok=True)
        lock = _KeyLock(base / LOCKS / f"{key}.lock")
        lock.acquire(
            on_wait=lambda: progress and progress(0.0, "waiting for another parse of this file")
        )
    except OSError as error:
        logger.debug("parsing %s without the cache: %s", label, error)
        return parse(progress)[0]
    handed_over = False
    try:
        # written meanwhile?
        found = read_entry(base / key, key, max_rows, *names, stacklevel=5)
        if found is not None:
            _done(progress, found, cached=True)
            return found
        started = time.perf_counter()
        dataset, items = parse(progress)
        seconds = time.perf_counter() - started
        try:
            unchanged = stats(files) == before
        except OSError:
            unchanged = False
        if unchanged:  # a file written to while it was parsed is not kept under the old content
            handed_over = _keep_in_background(
                lock,
                base,
                key,
                dataset,
                items,
                label=label,
                items_label=items_label,
                seconds=seconds,
            )
            if not handed_over:
                write_entry(
                    base, key, dataset, items, label=label, items_label=items_label, seconds=seconds
                )
        return dataset
    finally:
        if not handed_over:
            lock.release()


class _KeyLock:
    """An exclusive ``flock`` on an entry's lock file, held through its own file descriptor, so
    that the thread that writes the entry can release it after the loading thread has returned.
    Threads and processes exclude each other alike; the kernel drops it if the process dies."""

    def __init__(self, path: Path) -> None:
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self, on_wait: Callable[[], Any]) -> None:
        assert self._fd is not None
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                on_wait()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock


_PENDING: list[threading.Thread] = []
_PENDING_LOCK = threading.Lock()


def _keep_in_background(lock: _KeyLock, *args: Any, **kwargs: Any) -> bool:
    """Write the entry (its fingerprint, then its arrays) in a thread that releases ``lock``
    when done, so the load returns as soon as the parse is over. The thread is not a daemon: a
    command's process ends once the entry is whole. False if no thread could be started."""

    def keep() -> None:
        try:
            write_entry(*args, **kwargs)
        finally:
            lock.release()

    thread = threading.Thread(target=keep, name="recsys-keep-parsed", daemon=False)
    with _PENDING_LOCK:
        _PENDING[:] = [t for t in _PENDING if t.is_alive()]
        try:
            thread.start()
        except RuntimeError:
            return False
        _PENDING.append(thread)
    return True


def wait(timeout: float | None = None) -> None:
    """Wait until the parsed files this process is keeping are written."""
    with _PENDING_LOCK:
        threads = list(_PENDING)
    for thread in threads:
        thread.join(timeout)


def _done(progress: Progress | None, dataset: Dataset, *, cached: bool) -> None:
    if progress is not None:
        how = " (parsed before)" if cached else ""
        progress(1.0, f"{dataset.n_interactions:,} interactions{how}")
