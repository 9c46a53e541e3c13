"""The disk cache of the image API's answers: one JSON file, written atomically.

``RECSYS_HOME/cache/thumbnails/sketchfab.json`` holds ``{"version": 1, "entries": {mid: {"u":
url or None, "x": expires_at[, "t": 1]}}}``: hits are kept for :data:`HIT_TTL`, definite misses
for :data:`MISS_TTL`, anything else that went wrong (``"t"``) for :data:`TRANSIENT_TTL`. A
damaged file is ignored and rewritten on the next store; two processes writing at once may drop
each other's newest entries, which are then fetched again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from .. import config
from ..html.safety import safe_href
from ..util.files import atomic_write_json

__all__ = [
    "CACHE_VERSION",
    "HIT_TTL",
    "MISS_TTL",
    "TRANSIENT_TTL",
    "Answer",
    "cache_path",
    "failed",
    "hit",
    "lookup",
    "miss",
    "now",
    "reset_memory",
    "store",
]

HIT_TTL = 30 * 24 * 3600.0
"""Seconds a resolved image URL is kept."""

MISS_TTL = 3600.0
"""Seconds a definite miss is kept before asking again: a 404 or 410, or a model document (valid
JSON) without a usable image. Only an answer from a working API counts as definite."""

TRANSIENT_TTL = 300.0
"""Seconds any other failure is kept (timeout, cut off, refused, 5xx, other 4xx, a redirect not
followed, a body that is not JSON or too large), so an offline machine does not wait for the
timeout on every page, yet an image comes back a few minutes after the service does. A 429's
``Retry-After`` is honoured up to MISS_TTL."""

CACHE_VERSION = 1

_CACHE_LOCK = threading.Lock()

_MEMO: dict[str, tuple[tuple[int, int], dict[str, dict]]] = {}


class Answer(NamedTuple):
    """What the API said about one model: the image URL (None: no image), how many seconds to
    keep that, and whether it is final (an image, or a definite miss) or may change soon."""

    url: str | None
    ttl: float
    final: bool


def hit(url: str) -> Answer:
    return Answer(url, HIT_TTL, True)


def miss() -> Answer:
    return Answer(None, MISS_TTL, True)


def failed(ttl: float | None = None) -> Answer:
    return Answer(None, TRANSIENT_TTL if ttl is None else ttl, False)


def now() -> float:
    """Wall-clock seconds (a function so tests can move time forward)."""
    return time.time()


def cache_path() -> Path:
    """The Sketchfab thumbnail cache file (under ``RECSYS_HOME/cache/thumbnails``)."""
    return config.cache_dir("thumbnails") / "sketchfab.json"


def _valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("x"), (int, float))
        and (entry.get("u") is None or (isinstance(entry.get("u"), str) and safe_href(entry["u"])))
    )


def _read_cache(path: Path) -> dict[str, dict]:
    """Entries ``{mid: {"u": url or None, "x": expires_at[, "t": 1]}}`` (``t``: a transient
    failure, asked again soon); {} when missing or damaged."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    memo = _MEMO.get(str(path))
    if memo is not None and memo[0] == stamp:
        return memo[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = data["entries"] if data.get("version") == CACHE_VERSION else {}
        entries = {str(k): v for k, v in raw.items() if _valid_entry(v)}
    except Exception:  # damaged or foreign file: start afresh, it is only a cache
        entries = {}
    _MEMO[str(path)] = (stamp, entries)
    return entries


def lookup(path: Path, mids: Iterable[str]) -> dict[str, Answer]:
    """Fresh cache entries for ``mids`` (``ttl`` is the seconds left)."""
    with _CACHE_LOCK:
        entries = _read_cache(path)
    moment = now()
    found: dict[str, Answer] = {}
    for mid in mids:
        entry = entries.get(mid)
        if entry is not None and entry["x"] > moment:
            final = entry["u"] is not None or not entry.get("t")
            found[mid] = Answer(entry["u"], entry["x"] - moment, final)
    return found


def store(path: Path, results: dict[str, Answer]) -> None:
    """Merge ``{mid: answer}`` into the cache file (atomically); never raises."""
    results = {mid: value for mid, value in results.items() if value.ttl > 0}
    if not results:
        return
    with _CACHE_LOCK:
        try:
            moment = now()
            entries = {k: v for k, v in _read_cache(path).items() if v["x"] > moment}
            for mid, answer in results.items():
                entries[mid] = {"u": answer.url, "x": round(moment + answer.ttl, 1)}
                if not answer.final:
                    entries[mid]["t"] = 1
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"version": CACHE_VERSION, "entries": entries}
            atomic_write_json(path, payload, indent=None, sort_keys=False)
            stat = path.stat()
            _MEMO[str(path)] = ((stat.st_mtime_ns, stat.st_size), entries)
        except Exception:  # a read-only or full disk only costs the cache
            pass


def reset_memory() -> None:
    """Forget the entries kept in memory: the next lookup reads the file, as a new process
    would."""
    with _CACHE_LOCK:
        _MEMO.clear()
