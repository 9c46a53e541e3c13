"""Parsed files, kept: a file dataset is parsed once, then read back as arrays.

:func:`recsys_core.datasets.tabular.load_file` (which the command line, the app and uploads all
go through) parses a csv / tsv / parquet file once and keeps the result under
``RECSYS_HOME/cache/parsed``::

    <key>/meta.json            what the arrays are, the parse's notes, the dataset's fingerprint
    <key>/<name>.npy           CSR parts (indptr, indices, data) of interactions, ratings and
                               timestamps (an index array the matrices share is kept once),
                               user_ids and item_ids (fixed-width text), item_counts
    <key>/items.parquet        the items file as read (before it is aligned to the item ids)
    .stamps/<path hash>.json   a file's content hash, valid while its stat is unchanged
    .locks/<key>.lock          held while that entry is parsed and written
    .tmp-*                     entries being written (renamed into place when complete)

**The key** is a hash of the file's content (and of its items file's), the options that change
what a parse gives (columns, delimiter, quoting, encoding, ``min_rating``, ``drop_duplicates``,
how the file's suffix is read, the limits a parquet file is checked against) and the reader's
version. So an edited file is parsed again, a renamed or copied file is not, and uploads (kept by
content) share entries with the same file given on the command line. The label a file is shown
by is not part of the key: names and notes are written with the current one.

**Content hash.** ``sha256`` of every byte (the CPU's SHA instructions make it about 1 GB/s a
core, twice ``blake2b`` here; 64 MB pieces are hashed on every core and their hashes hashed), so
an edit anywhere, even one that keeps the size and the time stamp, gives another key. Sampled
blocks would miss an edit between them. To avoid reading a large file
on every command, the hash is remembered with the file's stat (device, inode, size, modification
and change times, as ``make`` and git's index trust them); a stat that differs, or a file changed
less than two seconds before it was hashed (a second write could keep its time stamp), is hashed
again.

**Reading back** is ``np.load(..., allow_pickle=False)``, memory-mapped for arrays over 1 MB (the
page cache shares them between the app's processes), with every part checked against the meta
(dtype, shape) and the CSR structure checked (``indptr`` monotone from 0 to nnz, indices within
the columns, finite likes) before scipy sees it. The entry's fingerprint and item counts are
the ones computed from these arrays when they were written, so they are not computed again (the
counts must add up to the interactions). A damaged entry (truncated, garbage, foreign shapes, an
object array) is reported in one sentence in the log (stderr on the command line), removed and
parsed again; it never fails a load. If the cache cannot be written (a read-only or full disk)
the data is parsed and returned as before.

**Writing** is atomic: the arrays go to a temporary folder that is renamed into place, under a
lock on the key, so concurrent loads of the same content parse once (the others wait, then read
it) and readers never see half an entry. The entry (its fingerprint, then its arrays) is written
by a thread once the parse is over, so the load returns at once and the caller's next step (a
training, a page) runs meanwhile; the lock is released when the entry is whole, and a command's
process ends only then (the thread is not a daemon; :func:`wait` waits for it). Nothing is
fsynced: after a crash, a damaged entry is just parsed again.

``python -m recsys_core cache list`` shows the entries; ``cache clean`` removes them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import re
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import config
from ..dataset import Dataset, normalise_items

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Parse = Callable[[Progress | None], "tuple[Dataset, pd.DataFrame | None]"]

SCHEMA = 1
READER_VERSION = 1
"""Bump when the reader gives another result for the same file and options."""
FOLDER = "parsed"
META = "meta.json"
ITEMS = "items.parquet"
META_MAX_BYTES = 1 << 20
MMAP_BYTES = 1 << 20
"""Arrays larger than this are memory-mapped when read back."""
STALE_SECONDS = 3600
"""Temporary folders older than this (a killed writer's) are removed by the next write."""
_SETTLE_NS = 2_000_000_000
_HASH_BLOCK = 1 << 22
_HASH_PIECE = 1 << 26
_KEY = re.compile(r"^[0-9a-f]{32}$")
_NAME = re.compile(r"^[a-z_]+(\.[a-z]+)?$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_TMP = ".tmp-"
_STAMPS = ".stamps"
_LOCKS = ".locks"
_MATRICES = {"interactions": "f", "ratings": "f", "timestamps": "f"}
_INDEX_DTYPES = ("int32", "int64")
_DATA_DTYPES = {"interactions": ("float32",), "ratings": ("float32",), "timestamps": ("float64",)}


class _Damaged(Exception):
    """What is wrong with an entry (a clause: "interactions.indices.npy is truncated")."""


def root() -> Path:
    """The folder parsed files are kept in (``RECSYS_HOME/cache/parsed``)."""
    return config.cache_dir(FOLDER)


# ----------------------------------------------------------------------------- content keys
def _signature(stat: os.stat_result) -> list[int]:
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def content_hash(path: Path, progress: Progress | None = None) -> str:
    """A sha256 tree hash of a file's bytes (hex): the sha256 of its size and of the sha256 of
    each 64 MB piece, the pieces hashed by as many threads as there are cores (``hashlib``
    lets go of the GIL), so a large file is read at the speed of all of them."""
    size = os.stat(path).st_size
    pieces = max(-(-size // _HASH_PIECE), 1)

    def piece(number: int) -> bytes:
        digest = hashlib.sha256()
        buffer = bytearray(_HASH_BLOCK)
        view = memoryview(buffer)
        start, end = number * _HASH_PIECE, min((number + 1) * _HASH_PIECE, size)
        with open(path, "rb") as handle:
            handle.seek(start)
            while start < end:
                got = handle.readinto(view[: min(_HASH_BLOCK, end - start)])
                if not got:
                    break
                digest.update(view[:got])
                start += got
        return digest.digest()

    top = hashlib.sha256(size.to_bytes(8, "big"))
    workers = min(pieces, os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            pool = stack.enter_context(ThreadPoolExecutor(workers, "recsys-hash"))
            digests = pool.map(piece, range(pieces))
        else:
            digests = map(piece, range(pieces))
        for done, digest in enumerate(digests, 1):
            top.update(digest)
            if progress is not None and pieces > 2:  # from this thread only (the app's)
                progress(0.02 * done / pieces, "checking the file")
    return top.hexdigest()


def file_hash(path: Path, progress: Progress | None = None) -> str:
    """:func:`content_hash` of ``path``, remembered while the file's stat stays the same."""
    real = Path(os.path.realpath(path))
    before = os.stat(real)
    stamps = root() / _STAMPS
    stamp = stamps / (hashlib.sha256(os.fsencode(real)).hexdigest()[:32] + ".json")
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        if stamp.stat().st_size < 4096:
            record = json.loads(stamp.read_text(encoding="utf-8"))
            if (record["path"] == str(real) and record["stat"] == _signature(before)
                    and re.fullmatch(r"[0-9a-f]{64}", record["sha256"])):
                return record["sha256"]
    digest = content_hash(real, progress)
    after = os.stat(real)
    settled = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) > _SETTLE_NS
    if _signature(after) == _signature(before) and settled:
        with contextlib.suppress(OSError):
            stamps.mkdir(exist_ok=True)
            temp = stamps / f"{_TMP}{uuid.uuid4().hex[:8]}"
            payload = {"path": str(real), "stat": _signature(after), "sha256": digest}
            temp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(temp, stamp)
    return digest


def entry_key(parts: dict[str, Any]) -> str:
    """32 hex digits naming the entry for these key parts (content hashes and options)."""
    text = json.dumps(
        {"schema": SCHEMA, "reader": READER_VERSION, **parts},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _stats(paths: list[Path]) -> list[list[int]]:
    return [_signature(os.stat(path)) for path in paths]


# ----------------------------------------------------------------------------- loading
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
        stats = _stats(files)  # before hashing: a change from here on is not kept
        hashes = [file_hash(file, progress) for file in files]
        base = root()
    except (OSError, ValueError) as error:  # an unreadable file: the parse says why
        logger.debug("not using the parsed-file cache for %s: %s", label, error)
        return parse(progress)[0]
    key = entry_key({"files": hashes, **key_options})
    folder = base / key
    found = _read(folder, key, max_rows, label, items_label, name, path)
    if found is not None:
        _done(progress, found, cached=True)
        return found
    try:
        (base / _LOCKS).mkdir(exist_ok=True)
        lock = _KeyLock(base / _LOCKS / f"{key}.lock")
        lock.acquire(on_wait=lambda: progress and progress(
            0.0, "waiting for another parse of this file"
        ))
    except OSError as error:
        logger.debug("parsing %s without the cache: %s", label, error)
        return parse(progress)[0]
    handed_over = False
    try:
        found = _read(folder, key, max_rows, label, items_label, name, path)  # written meanwhile?
        if found is not None:
            _done(progress, found, cached=True)
            return found
        started = time.perf_counter()
        dataset, items = parse(progress)
        seconds = time.perf_counter() - started
        try:
            unchanged = _stats(files) == stats
        except OSError:
            unchanged = False
        if unchanged:  # a file written to while it was parsed is not kept under the old content
            handed_over = _keep_in_background(
                lock, base, key, dataset, items, label=label, items_label=items_label,
                seconds=seconds,
            )
            if not handed_over:
                _write(base, key, dataset, items, label=label, items_label=items_label,
                       seconds=seconds)
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
            _write(*args, **kwargs)
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


def _read(
    folder: Path, key: str, max_rows: int, label: str, items_label: str | None, name: str,
    path: Path,
) -> Dataset | None:
    """The kept dataset, None if there is none (or it has more rows than allowed now).

    A damaged entry is logged in one sentence, removed, and None returned.
    """
    if not (folder / META).exists():
        return None
    try:
        meta = _read_meta(folder, key)
        if meta["n_rows"] > max_rows:
            return None
        dataset = _assemble(folder, meta, label, items_label, name, path)
    except Exception as error:  # noqa: BLE001 - a kept copy never fails a load
        reason = error if isinstance(error, _Damaged) else f"{type(error).__name__} reading it"
        logger.warning(
            "The parsed copy of %s in the cache is damaged (%s); parsing the file again.",
            label, reason,
        )
        _discard(folder)
        return None
    with contextlib.suppress(OSError):
        os.utime(folder)  # last used: `cache clean --unused-days` goes by it
    for note in dataset.extras["warnings"]:
        warnings.warn(note, UserWarning, stacklevel=4)
    return dataset


# ----------------------------------------------------------------------------- writing
def _buffer(array: np.ndarray) -> tuple:
    return (array.__array_interface__["data"][0], array.shape, array.dtype.str)


def _write(
    base: Path, key: str, dataset: Dataset, items: pd.DataFrame | None, *, label: str,
    items_label: str | None, seconds: float,
) -> None:
    """Keep ``dataset`` as entry ``key`` (atomically); a failure is logged, never raised."""
    temp = base / f"{_TMP}{key}-{uuid.uuid4().hex[:8]}"
    try:
        _sweep(base)
        temp.mkdir()
        arrays: dict[str, dict] = {}
        written: dict[tuple, str] = {}
        matrices: dict[str, dict[str, str]] = {}
        for kind in _MATRICES:
            matrix = getattr(dataset, kind)
            if matrix is None:
                continue
            parts = {}
            for part in ("indptr", "indices", "data"):
                array = np.ascontiguousarray(getattr(matrix, part))
                shared = written.get(_buffer(array)) if part != "data" else None
                if shared is None:
                    shared = f"{kind}.{part}"
                    _save(temp, shared, array, arrays)
                    written[_buffer(array)] = shared
                parts[part] = shared
            matrices[kind] = parts
        for ids in ("user_ids", "item_ids"):
            _save(temp, ids, np.asarray(getattr(dataset, ids)), arrays)
        _save(temp, "item_counts", np.asarray(dataset.item_counts, dtype=np.int64), arrays)
        if items is not None:
            _save_items(temp / ITEMS, items)
        extras = {k: v for k, v in dataset.extras.items() if k not in ("source_path", "warnings")}
        meta = {
            "schema": SCHEMA,
            "reader": READER_VERSION,
            "key": key,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "label": label,
            "items_label": items_label if items is not None else None,
            "source": os.path.abspath(str(dataset.extras.get("source_path", ""))),
            "shape": [int(dataset.n_users), int(dataset.n_items)],
            "n_rows": int(dataset.extras.get("n_rows", 0)),
            "arrays": arrays,
            "matrices": matrices,
            "items": items is not None,
            "extras": extras,
            "warnings": [str(note) for note in dataset.extras.get("warnings", [])],
            "fingerprint": dataset.fingerprint,
            "parse_seconds": round(seconds, 3),
        }
        (temp / META).write_text(json.dumps(meta, default=str), encoding="utf-8")
        final = base / key
        try:
            os.rename(temp, final)
        except OSError:  # there is one already: keep it if it is whole, else replace it
            try:
                _read_meta(final, key)
                return
            except _Damaged:
                _discard(final)
            os.rename(temp, final)
    except Exception as error:  # noqa: BLE001 - the cache must never fail a load
        logger.warning(
            "Could not keep the parsed copy of %s (%s: %s); it will be parsed again next time.",
            label, type(error).__name__, error,
        )
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def _save(folder: Path, name: str, array: np.ndarray, arrays: dict[str, dict]) -> None:
    if array.dtype.hasobject:
        raise TypeError(f"{name} holds objects")
    with open(folder / f"{name}.npy", "wb") as handle:
        np.save(handle, array, allow_pickle=False)
    arrays[name] = {"dtype": array.dtype.str, "shape": list(array.shape)}


def _save_items(path: Path, items: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(items, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), path)


def _sweep(base: Path) -> None:
    """Remove temporary folders a killed writer left behind."""
    now = time.time()
    for entry in base.iterdir():
        if entry.name.startswith(_TMP):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)


def _discard(folder: Path) -> None:
    """Remove an entry: renamed aside first, so no reader sees it half removed."""
    trash = folder.with_name(f"{_TMP}old-{folder.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


# ----------------------------------------------------------------------------- reading
def _read_meta(folder: Path, key: str) -> dict:
    try:
        with open(folder / META, "rb") as handle:
            raw = handle.read(META_MAX_BYTES + 1)
    except OSError:
        raise _Damaged(f"{META} is unreadable") from None
    if len(raw) > META_MAX_BYTES:
        raise _Damaged(f"{META} is larger than any the cache writes")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeError, ValueError, RecursionError):
        raise _Damaged(f"{META} is not JSON") from None
    checks: dict[str, Callable[[Any], bool]] = {
        "schema": lambda v: v == SCHEMA,
        "reader": lambda v: v == READER_VERSION,
        "key": lambda v: v == key,
        "label": lambda v: isinstance(v, str),
        "items_label": lambda v: v is None or isinstance(v, str),
        "shape": lambda v: isinstance(v, list) and len(v) == 2 and all(_count(n) for n in v),
        "n_rows": _count,
        "arrays": lambda v: isinstance(v, dict) and all(
            isinstance(n, str) and _NAME.match(n) and isinstance(s, dict)
            and isinstance(s.get("dtype"), str)
            and isinstance(s.get("shape"), list) and all(_count(d) for d in s["shape"])
            for n, s in v.items()
        ),
        "matrices": lambda v: isinstance(v, dict) and "interactions" in v and all(
            k in _MATRICES and isinstance(p, dict)
            and set(p) == {"indptr", "indices", "data"}
            and all(isinstance(x, str) for x in p.values())
            for k, p in v.items()
        ),
        "items": lambda v: isinstance(v, bool),
        "extras": lambda v: isinstance(v, dict),
        "warnings": lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
        "fingerprint": lambda v: isinstance(v, str) and bool(_FINGERPRINT.match(v)),
    }
    if not isinstance(meta, dict):
        raise _Damaged(f"{META} is not an object")
    for field_name, check in checks.items():
        if field_name not in meta or not check(meta[field_name]):
            raise _Damaged(f"{META} has a missing or wrong {field_name!r}")
    return meta


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


def _load(folder: Path, meta: dict, name: str) -> np.ndarray:
    spec = meta["arrays"].get(name)
    if spec is None:
        raise _Damaged(f"{META} names an array {name!r} it does not describe")
    file = folder / f"{name}.npy"
    try:
        dtype = np.dtype(spec["dtype"])
    except TypeError:
        raise _Damaged(f"{META} gives {name} an unknown dtype") from None
    if dtype.hasobject or dtype.kind not in "iufU" or dtype.fields is not None:
        raise _Damaged(f"{META} gives {name} a dtype the cache never writes")
    big = math.prod(spec["shape"]) * dtype.itemsize > MMAP_BYTES
    try:
        array = np.load(file, mmap_mode="r" if big else None, allow_pickle=False)
    except FileNotFoundError:
        raise _Damaged(f"{name}.npy is missing") from None
    except ValueError as error:
        if "pickle" in str(error) or "object" in str(error).lower():
            raise _Damaged(f"{name}.npy holds objects, which are never unpickled") from None
        raise _Damaged(f"{name}.npy is truncated or not an array") from None
    except (OSError, EOFError, TypeError, SyntaxError, OverflowError, MemoryError):
        raise _Damaged(f"{name}.npy is truncated or not an array") from None
    if not isinstance(array, np.ndarray):
        raise _Damaged(f"{name}.npy is not an array")
    if array.dtype != dtype or list(array.shape) != spec["shape"]:
        raise _Damaged(f"{name}.npy does not have the dtype and shape its meta gives")
    return array


def _matrix(
    folder: Path, meta: dict, kind: str, shape: tuple[int, int],
    loaded: dict[str, np.ndarray], checked: set[tuple[str, str]],
) -> sp.csr_matrix:
    """One CSR matrix, its structure checked; index arrays the matrices share are read once
    (``loaded``, by name) and checked once (``checked``: (indptr, indices) pairs)."""
    names = meta["matrices"][kind]
    pattern = (names["indptr"], names["indices"])
    indptr, indices = (
        loaded[name] if name in loaded else _load(folder, meta, name) for name in pattern
    )
    data = _load(folder, meta, names["data"])
    if pattern in checked:
        if data.shape != indices.shape:
            raise _Damaged(f"the {kind} matrix's parts do not fit together")
        _check_values(data, kind)
        return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)
    if indptr.dtype.name not in _INDEX_DTYPES or indices.dtype.name not in _INDEX_DTYPES:
        raise _Damaged(f"the {kind} index arrays are not integers")
    n_rows, n_cols = shape
    if indptr.ndim != 1 or len(indptr) != n_rows + 1 or indices.ndim != 1:
        raise _Damaged(f"the {kind} matrix does not have the dataset's shape")
    if data.shape != indices.shape or int(indptr[0]) != 0 or int(indptr[-1]) != len(indices):
        raise _Damaged(f"the {kind} matrix's parts do not fit together")
    if n_rows and bool(np.any(indptr[1:] < indptr[:-1])):
        raise _Damaged(f"the {kind} row pointers go backwards")
    # one pass: seen as unsigned, a negative index is larger than any column
    if len(indices) and int(indices.view(indices.dtype.str.replace("i", "u")).max()) >= n_cols:
        raise _Damaged(f"the {kind} column indices are out of range")
    _check_values(data, kind)
    loaded.update({pattern[0]: indptr, pattern[1]: indices})
    checked.add(pattern)
    return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def _check_values(data: np.ndarray, kind: str) -> None:
    """The values' dtype; and for the likes, what models train on, that every one is finite
    (ratings and timestamps are only read where they are shown)."""
    if data.dtype.name not in _DATA_DTYPES[kind]:
        raise _Damaged(f"the {kind} values are {data.dtype.name}")
    if kind == "interactions" and not bool(np.isfinite(data).all()):
        raise _Damaged(f"the {kind} values are not all finite")


def _read_items(folder: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(folder / ITEMS, use_threads=False)
    except (OSError, pa.ArrowException, ValueError):
        raise _Damaged(f"{ITEMS} is truncated or not parquet") from None
    if any(isinstance(f.type, pa.ExtensionType) for f in table.schema):
        raise _Damaged(f"{ITEMS} holds a column type the cache never writes")
    from .tabular import finish_items

    try:
        frame = finish_items(table.to_pandas())
    except (KeyError, ValueError, TypeError, pa.ArrowException):
        raise _Damaged(f"{ITEMS} is not an items table") from None
    return frame


def _assemble(
    folder: Path, meta: dict, label: str, items_label: str | None, name: str, path: Path
) -> Dataset:
    shape = (meta["shape"][0], meta["shape"][1])
    loaded: dict[str, np.ndarray] = {}
    checked: set[tuple[str, str]] = set()
    matrices = {
        kind: _matrix(folder, meta, kind, shape, loaded, checked) for kind in meta["matrices"]
    }
    user_ids = _load(folder, meta, "user_ids")
    item_ids = _load(folder, meta, "item_ids")
    for ids, size in ((user_ids, shape[0]), (item_ids, shape[1])):
        if ids.dtype.kind != "U" or ids.shape != (size,):
            raise _Damaged("the id arrays do not match the matrix")
    if matrices["interactions"].nnz == 0:
        raise _Damaged("the interactions matrix is empty")
    items = _read_items(folder) if meta["items"] else None
    notes = [
        _relabel(_relabel(note, meta["label"], label), meta["items_label"], items_label)
        for note in meta["warnings"]
    ]
    extras = dict(meta["extras"])
    extras.update(source_path=str(path), warnings=notes)
    try:
        dataset = Dataset(
            name=name,
            interactions=matrices["interactions"],
            user_ids=user_ids,
            item_ids=item_ids,
            items=normalise_items(items, item_ids),
            timestamps=matrices.get("timestamps"),
            ratings=matrices.get("ratings"),
            description=f"Interactions from {label}",
            extras=extras,
        )
    except (ValueError, TypeError, KeyError) as error:  # DatasetError is a ValueError
        raise _Damaged(f"its parts do not make a dataset ({type(error).__name__})") from None
    # computed from these very arrays when they were written (checked above for structure):
    # the fingerprint hashes them all, the counts go over every interaction (a pass of 20M)
    dataset.__dict__["fingerprint"] = meta["fingerprint"]
    if "item_counts" in meta["arrays"]:
        counts = np.array(_load(folder, meta, "item_counts"))
        if (counts.shape != (shape[1],) or counts.dtype != np.int64 or bool((counts < 0).any())
                or int(counts.sum()) != dataset.n_interactions):
            raise _Damaged("item_counts.npy does not count the interactions")
        counts.setflags(write=False)
        dataset.__dict__["item_counts"] = counts
    return dataset


def _relabel(note: str, old: str | None, new: str | None) -> str:
    if old and new and old != new:
        return note.replace(old, new)
    return note


# ----------------------------------------------------------------------------- listing, cleaning
def _size(folder: Path) -> int:
    total = 0
    for file in folder.iterdir():
        with contextlib.suppress(OSError):
            total += file.stat().st_size
    return total


def entries() -> list[dict[str, Any]]:
    """The kept parsed files, most recently used first.

    Returns
    -------
    list of dict
        ``key``, ``file`` (the name it was parsed as, ``+`` its items file's), ``source`` (its
        path then), ``users``, ``items``, ``rows``, ``bytes`` (on disk), ``created``, ``used``
        (ISO 8601 UTC) and ``damaged`` (a reason, or None).
    """
    base = root()
    found = []
    for folder in base.iterdir():
        if not (_KEY.match(folder.name) and folder.is_dir()):
            continue
        row: dict[str, Any] = {"key": folder.name, "file": "", "source": "", "users": None,
                               "items": None, "rows": None, "created": None, "damaged": None}
        try:
            meta = _read_meta(folder, folder.name)
            shown = meta["label"] + (f" + {meta['items_label']}" if meta["items_label"] else "")
            row.update(file=shown, source=str(meta.get("source", "")),
                       users=meta["shape"][0], items=meta["shape"][1], rows=meta["n_rows"],
                       created=meta.get("created"))
        except _Damaged as reason:
            row["damaged"] = str(reason)
        with contextlib.suppress(OSError):
            row["bytes"] = _size(folder)
            used = folder.stat().st_mtime
            row["used"] = datetime.fromtimestamp(used, UTC).isoformat(timespec="seconds")
        row.setdefault("bytes", 0)
        row.setdefault("used", None)
        found.append(row)
    return sorted(found, key=lambda r: r["used"] or "", reverse=True)


def clean(unused_days: float | None = None) -> tuple[int, int]:
    """Remove kept parsed files: all of them, or those not used for ``unused_days`` days.

    Temporary folders of writers that are gone and the remembered file hashes go too (with
    everything). Files in use by a running process stay readable by it until it ends.

    Returns
    -------
    (int, int)
        Entries removed and bytes freed.
    """
    base = root()
    cutoff = None if unused_days is None else time.time() - float(unused_days) * 86400
    removed = freed = 0
    for folder in list(base.iterdir()):
        if not (_KEY.match(folder.name) and folder.is_dir()):
            continue
        with contextlib.suppress(OSError):
            if cutoff is not None and folder.stat().st_mtime >= cutoff:
                continue
            size = _size(folder)
            _discard(folder)
            if not folder.exists():
                removed += 1
                freed += size
    if cutoff is None:
        shutil.rmtree(base / _STAMPS, ignore_errors=True)
    _sweep(base)
    return removed, freed


ENV = "RECSYS_PARSE_CACHE"


def enabled() -> bool:
    """Whether file datasets go through the cache (``RECSYS_PARSE_CACHE=0`` turns it off)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "false", "off")


__all__ = [
    "ENV",
    "READER_VERSION",
    "clean",
    "content_hash",
    "enabled",
    "entries",
    "entry_key",
    "file_hash",
    "load_or_parse",
    "root",
    "wait",
]
