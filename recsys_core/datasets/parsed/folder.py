"""The parse cache's folder: where it is, what its entries and their files are called, and
removing an entry or a killed writer's leftovers.

``RECSYS_HOME/cache/parsed``::

    <key>/meta.json            what the arrays are, the parse's notes, the dataset's fingerprint
    <key>/<name>.npy           the arrays (see :mod:`.write`)
    <key>/items.parquet        the items file as read
    .stamps/<path hash>.json   a file's content hash, valid while its stat is unchanged
    .locks/<key>.lock          held while that entry is parsed and written
    .tmp-*                     entries being written (renamed into place when complete)
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from ... import config

logger = logging.getLogger(__package__)
"""One logger for the whole cache (``recsys_core.datasets.parsed``)."""

SCHEMA = 1
READER_VERSION = 1
"""Bump when the reader gives another result for the same file and options."""
FOLDER = "parsed"
META = "meta.json"
ITEMS = "items.parquet"
STALE_SECONDS = 3600
"""Temporary folders older than this (a killed writer's) are removed by the next write."""
KEY = re.compile(r"^[0-9a-f]{32}$")
"""An entry's folder name."""
TMP = ".tmp-"
STAMPS = ".stamps"
LOCKS = ".locks"
MATRICES = ("interactions", "ratings", "timestamps")
"""The matrices an entry may hold (interactions always)."""
ENV = "RECSYS_PARSE_CACHE"


class Damaged(Exception):
    """What is wrong with an entry (a clause: "interactions.indices.npy is truncated")."""


def root() -> Path:
    """The folder parsed files are kept in (``RECSYS_HOME/cache/parsed``)."""
    return config.cache_dir(FOLDER)


def enabled() -> bool:
    """Whether file datasets go through the cache (``RECSYS_PARSE_CACHE=0`` turns it off)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "false", "off")


def sweep(base: Path) -> None:
    """Remove temporary folders a killed writer left behind."""
    now = time.time()
    for entry in base.iterdir():
        if entry.name.startswith(TMP):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)


def discard(folder: Path) -> None:
    """Remove an entry: renamed aside first, so no reader sees it half removed."""
    trash = folder.with_name(f"{TMP}old-{folder.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)
