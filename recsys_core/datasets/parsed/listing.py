"""What the cache keeps (``cache list``) and removing it (``cache clean``)."""

from __future__ import annotations

import contextlib
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .folder import KEY, STAMPS, Damaged, discard, root, sweep
from .read import read_meta


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
        if not (KEY.match(folder.name) and folder.is_dir()):
            continue
        row: dict[str, Any] = {
            "key": folder.name,
            "file": "",
            "source": "",
            "users": None,
            "items": None,
            "rows": None,
            "created": None,
            "damaged": None,
        }
        try:
            meta = read_meta(folder, folder.name)
            shown = meta["label"] + (f" + {meta['items_label']}" if meta["items_label"] else "")
            row.update(
                file=shown,
                source=str(meta.get("source", "")),
                users=meta["shape"][0],
                items=meta["shape"][1],
                rows=meta["n_rows"],
                created=meta.get("created"),
            )
        except Damaged as reason:
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
        if not (KEY.match(folder.name) and folder.is_dir()):
            continue
        with contextlib.suppress(OSError):
            if cutoff is not None and folder.stat().st_mtime >= cutoff:
                continue
            size = _size(folder)
            discard(folder)
            if not folder.exists():
                removed += 1
                freed += size
    if cutoff is None:
        shutil.rmtree(base / STAMPS, ignore_errors=True)
    sweep(base)
    return removed, freed
