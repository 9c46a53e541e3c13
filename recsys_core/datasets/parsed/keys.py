"""Content keys: an entry is named by a hash of the files' bytes and of the options that
change what a parse gives.

``sha256`` of every byte (the CPU's SHA instructions make it about 1 GB/s a core; 64 MB pieces
are hashed on every core and their hashes hashed), so an edit anywhere gives another key. The
hash is remembered with the file's stat (device, inode, size, modification and change times, as
``make`` and git's index trust them); a stat that differs, or a file changed less than two
seconds before it was hashed, is hashed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...util.files import atomic_write_text
from ..progress import Progress
from .folder import READER_VERSION, SCHEMA, STAMPS, root

_SETTLE_NS = 2_000_000_000
_HASH_BLOCK = 1 << 22
_HASH_PIECE = 1 << 26


def signature(stat: os.stat_result) -> list[int]:
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
    stamps = root() / STAMPS
    stamp = stamps / (hashlib.sha256(os.fsencode(real)).hexdigest()[:32] + ".json")
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        if stamp.stat().st_size < 4096:
            record = json.loads(stamp.read_text(encoding="utf-8"))
            if (
                record["path"] == str(real)
                and record["stat"] == signature(before)
                and re.fullmatch(r"[0-9a-f]{64}", record["sha256"])
            ):
                return record["sha256"]
    digest = content_hash(real, progress)
    after = os.stat(real)
    settled = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) > _SETTLE_NS
    if signature(after) == signature(before) and settled:
        with contextlib.suppress(OSError):
            stamps.mkdir(exist_ok=True)
            payload = {"path": str(real), "stat": signature(after), "sha256": digest}
            atomic_write_text(stamp, json.dumps(payload))
    return digest


def entry_key(parts: dict[str, Any]) -> str:
    """32 hex digits naming the entry for these key parts (content hashes and options)."""
    text = json.dumps(  # default=str, as always: the key's text must never change
        {"schema": SCHEMA, "reader": READER_VERSION, **parts},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def stats(paths: list[Path]) -> list[list[int]]:
    return [signature(os.stat(path)) for path in paths]
