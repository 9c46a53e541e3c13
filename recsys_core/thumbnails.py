"""Item images for the app: metadata URLs, Sketchfab's model API, and generated placeholders.

:func:`resolve_images` returns one ``<img src>``-ready string per item asked for:

1. the dataset's ``image_url`` when it is ``http(s)://`` or a ``data:image/`` URI;
2. for Sketchfab items (dataset ``sketchfab``, or a ``url`` like
   ``https://sketchfab.com/models/<mid>``), the 200-pixel-wide image of
   ``https://api.sketchfab.com/v3/models/<mid>`` -> ``thumbnails.images``, fetched only for the
   items asked for, concurrently, under one deadline for the whole batch, and cached on disk
   (hits for :data:`HIT_TTL`, misses for :data:`MISS_TTL`, transient failures for
   :data:`TRANSIENT_TTL`);
3. otherwise, or when anything fails (404, 429, timeout, bad JSON, offline), a generated
   placeholder: an SVG data URI in the category's colour with the item's name.

A slow or dead image server never delays a call by more than ``timeout`` and never raises:
requests still running at the deadline finish in the background and only fill the cache.

The cache is one JSON file, ``RECSYS_HOME/cache/thumbnails/sketchfab.json``, written atomically
(temporary file + rename). A damaged file is ignored and rewritten on the next store; two
processes writing at once may drop each other's newest entries, which are then fetched again.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from . import __version__, config
from .html import safe_href, safe_url

__all__ = [
    "API_BASE",
    "HIT_TTL",
    "MISS_TTL",
    "TRANSIENT_TTL",
    "cache_path",
    "parse_item_reference",
    "pick_thumbnail",
    "placeholder_data_uri",
    "placeholder_svg",
    "resolve_images",
    "sketchfab_model_id",
]

API_BASE = "https://api.sketchfab.com/v3/models/"
"""Sketchfab's public model API; ``API_BASE + mid`` is one model's JSON (tests point it at a local
server)."""
THUMBNAIL_WIDTH = 200
HIT_TTL = 30 * 24 * 3600.0
"""Seconds a resolved image URL is kept."""
MISS_TTL = 3600.0
"""Seconds a definite miss (404, no image, bad JSON) is kept before asking again."""
TRANSIENT_TTL = 300.0
"""Seconds a transient failure (timeout, 429, 5xx, offline) is kept, so an offline machine does
not wait for the timeout on every page; a 429's ``Retry-After`` is honoured up to MISS_TTL."""
MAX_RESPONSE_BYTES = 2_000_000
CACHE_VERSION = 1

_MID = re.compile(r"[0-9a-fA-F]{32}")
_SLUG_MID = re.compile(r"(?:^|-)([0-9a-fA-F]{32})$")
_SKETCHFAB_LINK = re.compile(
    r"(?<![a-z0-9.-])(?:https?://)?(?:[a-z0-9-]+\.)*sketchfab\.com/[^\s<>\"']*", re.IGNORECASE
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _now() -> float:
    """Wall-clock seconds (a function so tests can move time forward)."""
    return time.time()


# ---------------------------------------------------------------------------- item references
def _mid_from_path(path: str) -> str | None:
    parts = [part for part in path.split("/") if part]
    for head, tail in zip(parts, parts[1:]):
        if head == "models" and _MID.fullmatch(tail):
            return tail.lower()
        if head == "3d-models":
            match = _SLUG_MID.search(tail)
            if match:
                return match.group(1).lower()
    return None


def _is_sketchfab_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "sketchfab.com" or host.endswith(".sketchfab.com")


def parse_item_reference(text: Any) -> str | None:
    """The item id in pasted text: a Sketchfab link, an app link, or a bare id.

    Sketchfab links in the ``/models/<mid>`` and ``/3d-models/<slug>-<mid>`` forms (``mid`` is 32
    hex digits; returned in lower case), with or without scheme, query string or fragment, also
    inside a longer text. A link to this app (``...?item=<id>``) gives its ``item`` parameter.
    Anything else that is not a URL is taken as a bare id (stripped of spaces and quotes).

    Returns
    -------
    str or None
        None for empty text, and for a URL that names no item.

    Examples
    --------
    >>> parse_item_reference(
    ...     "https://sketchfab.com/3d-models/old-chair-0123456789abcdef0123456789ABCDEF?x=1"
    ... )
    '0123456789abcdef0123456789abcdef'
    >>> parse_item_reference("  i42 ")
    'i42'
    """
    if text is None:
        return None
    raw = str(text).strip().strip("<>\"'`").strip()
    if not raw:
        return None
    link = _SKETCHFAB_LINK.search(raw)
    if link:
        value = link.group(0)
        split = urlsplit(value if _SCHEME.match(value) else "https://" + value)
        if _is_sketchfab_host(split.hostname or ""):
            return _mid_from_path(split.path)
    looks_like_url = bool(_SCHEME.match(raw)) or raw.startswith(("www.", "?", "/"))
    if looks_like_url:
        split = urlsplit(raw)
        found = parse_qs(split.query).get("item")
        if found and found[0].strip():
            return found[0].strip()
        return _mid_from_path(split.path) if not split.netloc else None
    return raw


def sketchfab_model_id(
    item_id: Any = None, url: Any = None, *, sketchfab: bool = False
) -> str | None:
    """The Sketchfab model id of an item, or None when it is not a Sketchfab model.

    ``url`` is read as a Sketchfab link first; with ``sketchfab=True`` (the item comes from the
    ``sketchfab`` dataset) an ``item_id`` of 32 hex digits is the model id itself.
    """
    if url:
        text = str(url).strip()
        link = _SKETCHFAB_LINK.search(text)
        if link:
            mid = parse_item_reference(link.group(0))
            if mid and _MID.fullmatch(mid):
                return mid
    if sketchfab and item_id is not None:
        text = str(item_id).strip()
        if _MID.fullmatch(text):
            return text.lower()
    return None


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


# ---------------------------------------------------------------------------- placeholders
# One renderer for every generated thumbnail: the demo dataset's (category colours and glyphs,
# the name XML-escaped), so a placeholder looks like the demo's own images.
def placeholder_svg(name: Any, category: Any = "") -> str:
    """A 200 x 150 SVG thumbnail in the category's colours with the item's name (XML-escaped).

    Deterministic; see :func:`recsys_core.datasets.demo.render_thumbnail_svg`.
    """
    from .datasets.demo import render_thumbnail_svg

    return render_thumbnail_svg(_text(name), _text(category))


@lru_cache(maxsize=8192)
def _placeholder_uri(name: str, category: str) -> str:
    from .datasets.demo import thumbnail_data_uri

    return thumbnail_data_uri(name, category)


def placeholder_data_uri(name: Any, category: Any = "") -> str:
    """:func:`placeholder_svg` as a ``data:image/svg+xml;base64,...`` URI for ``<img src>``."""
    return _placeholder_uri(_text(name), _text(category))


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


# ---------------------------------------------------------------------------- disk cache
_CACHE_LOCK = threading.Lock()
_MEMO: dict[str, tuple[tuple[int, int], dict[str, dict]]] = {}


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
    """Entries ``{mid: {"u": url or None, "x": expires_at}}``; {} when missing or damaged."""
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


def _lookup(path: Path, mids: Iterable[str], now: float) -> dict[str, str | None]:
    """Fresh cache entries for ``mids``: url for a hit, None for a remembered miss."""
    with _CACHE_LOCK:
        entries = _read_cache(path)
    found: dict[str, str | None] = {}
    for mid in mids:
        entry = entries.get(mid)
        if entry is not None and entry["x"] > now:
            found[mid] = entry["u"]
    return found


def _store(path: Path, results: dict[str, tuple[str | None, float]]) -> None:
    """Merge ``{mid: (url or None, ttl)}`` into the cache file (atomically); never raises."""
    results = {mid: value for mid, value in results.items() if value[1] > 0}
    if not results:
        return
    with _CACHE_LOCK:
        try:
            now = _now()
            entries = {k: v for k, v in _read_cache(path).items() if v["x"] > now}
            for mid, (url, ttl) in results.items():
                entries[mid] = {"u": url, "x": round(now + ttl, 1)}
            payload = json.dumps(
                {"version": CACHE_VERSION, "entries": entries}, separators=(",", ":")
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(payload)
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            stat = path.stat()
            _MEMO[str(path)] = ((stat.st_mtime_ns, stat.st_size), entries)
        except Exception:  # a read-only or full disk only costs the cache
            pass


# ---------------------------------------------------------------------------- fetching
def _new_session(pool_size: int) -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"recsys-explorer/{__version__}"
    session.headers["Accept"] = "application/json"
    return session


def _retry_after(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return TRANSIENT_TTL
    return min(max(seconds, 60.0), MISS_TTL) if math.isfinite(seconds) else TRANSIENT_TTL


def _fetch_one(session: Any, mid: str, timeout: float, deadline: float) -> tuple[str | None, float]:
    """``(image url or None, seconds to cache that answer)`` for one model; never raises.

    A request that has not started by ``deadline`` is not made (cached for 0 s, i.e. not at all).
    Reading the body stops at ``deadline + timeout`` (the caller stopped waiting at ``deadline``;
    a late answer only fills the cache).
    """
    if time.monotonic() >= deadline:
        return None, 0.0
    try:
        response = session.get(API_BASE + mid, timeout=(timeout, timeout), stream=True)
    except Exception:  # timeout, refused, DNS, offline, anything the adapter throws
        return None, TRANSIENT_TTL
    try:
        status = response.status_code
        if status in (404, 410):
            return None, MISS_TTL
        if status == 429:
            return None, _retry_after(response.headers.get("Retry-After"))
        if status != 200:
            return None, TRANSIENT_TTL if status >= 500 else MISS_TTL
        body = bytearray()
        hard_stop = deadline + timeout
        for chunk in response.iter_content(chunk_size=16384):
            body.extend(chunk)
            if len(body) > MAX_RESPONSE_BYTES or time.monotonic() > hard_stop:
                return None, TRANSIENT_TTL
        try:
            data = json.loads(bytes(body).decode("utf-8"))
        except ValueError:
            return None, MISS_TTL
        thumbnails = data.get("thumbnails") if isinstance(data, dict) else None
        images = thumbnails.get("images") if isinstance(thumbnails, dict) else None
        url = pick_thumbnail(images)
        return (url, HIT_TTL) if url else (None, MISS_TTL)
    except Exception:  # a connection dropped mid-body, a decoding error
        return None, TRANSIENT_TTL
    finally:
        try:
            response.close()
        except Exception:
            pass


class _Batch:
    """Collects answers as they arrive; the ones after the caller's deadline go to the cache alone.

    Also closes the batch's own requests session once every request has ended.
    """

    def __init__(self, path: Path, total: int, session: Any, own_session: bool) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[str | None, float]] = {}
        self.closed = False
        self.remaining = total
        self.session = session
        self.own_session = own_session

    def record(self, mid: str, future: Future) -> None:
        answer = None
        if not future.cancelled() and future.exception() is None:
            answer = future.result()
        late: dict[str, tuple[str | None, float]] = {}
        with self.lock:
            if answer is not None:
                if self.closed:
                    late[mid] = answer
                else:
                    self.answers[mid] = answer
            self.remaining -= 1
            finished = self.remaining == 0
        if late:
            _store(self.path, late)
        if finished and self.own_session:
            try:
                self.session.close()
            except Exception:
                pass

    def close(self) -> dict[str, tuple[str | None, float]]:
        with self.lock:
            self.closed = True
            answers = dict(self.answers)
        _store(self.path, answers)
        return answers


def _fetch_many(
    mids: Sequence[str], *, timeout: float, max_workers: int, session: Any, path: Path
) -> dict[str, str | None]:
    """Image URLs for the mids answered within ``timeout`` seconds (None: answered, no image)."""
    deadline = time.monotonic() + timeout
    own_session = session is None
    workers = max(1, min(int(max_workers), len(mids)))
    try:
        session = session if session is not None else _new_session(workers)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnails")
    except Exception:
        return {}
    batch = _Batch(path, len(mids), session, own_session)
    futures = []
    try:
        for mid in mids:
            future = executor.submit(_fetch_one, session, mid, timeout, deadline)
            future.add_done_callback(partial(batch.record, mid))
            futures.append(future)
        wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    except Exception:
        pass
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    answers = batch.close()
    return {mid: url for mid, (url, _ttl) in answers.items()}


# ---------------------------------------------------------------------------- the entry point
def _items_frame(dataset_or_items: Any) -> tuple[pd.DataFrame, bool]:
    """The items table and whether its items are Sketchfab models by origin."""
    if isinstance(dataset_or_items, pd.DataFrame):
        items = dataset_or_items
        name = str(items.attrs.get("dataset", ""))
    else:
        items = dataset_or_items.items
        name = str(getattr(dataset_or_items, "name", ""))
    return items, name.strip().lower().startswith("sketchfab")


def _column(items: pd.DataFrame, column: str, rows: Sequence[int]) -> list[Any]:
    if column not in items.columns:
        return [""] * len(rows)
    return items[column].iloc[list(rows)].tolist()


def resolve_images(
    dataset_or_items: Any,
    item_indices: Iterable[int],
    *,
    timeout: float = 2.0,
    max_workers: int = 8,
    session: Any = None,
) -> list[str]:
    """One image source per item, ready for ``<img src>``; never raises for network trouble.

    Parameters
    ----------
    dataset_or_items : Dataset or pandas.DataFrame
        A :class:`~recsys_core.dataset.Dataset`, or its ``items`` table (columns ``item_id``,
        ``name``, ``url``, ``image_url``, ``category``; rows in item-index order). A frame whose
        ``attrs["dataset"]`` is ``"sketchfab"`` is treated like the Sketchfab dataset.
    item_indices : iterable of int, length n
        Item indices (matrix columns) to resolve; only these are looked up.
    timeout : float
        The most this call waits for the network, in seconds, for the whole batch. 0 uses the
        cache only.
    max_workers : int
        Concurrent requests to the image API.
    session : requests.Session, optional
        Session to send requests with (a fresh one per call when None).

    Returns
    -------
    list of str, length n
        An http(s) URL or a ``data:image/`` URI per item, in the order asked; a generated
        placeholder (:func:`placeholder_data_uri`) wherever no image could be found in time.

    Raises
    ------
    IndexError
        If an index is outside the items table (a bug in the caller, not a network problem).
    """
    items, is_sketchfab = _items_frame(dataset_or_items)
    rows = [int(index) for index in item_indices]
    n_items = len(items)
    bad = [index for index in rows if not 0 <= index < n_items]
    if bad:
        raise IndexError(f"Item index {bad[0]} is outside 0..{n_items - 1}.")
    if not rows:
        return []
    names = _column(items, "name", rows)
    categories = _column(items, "category", rows)
    image_urls = _column(items, "image_url", rows)
    urls = _column(items, "url", rows)
    ids = _column(items, "item_id", rows) if "item_id" in items.columns else [
        str(items.index[i]) for i in rows
    ]

    results: list[str | None] = [None] * len(rows)
    wanted: dict[str, list[int]] = {}
    for position in range(len(rows)):
        direct = safe_url(image_urls[position])
        if direct:
            results[position] = direct
            continue
        mid = sketchfab_model_id(ids[position], urls[position], sketchfab=is_sketchfab)
        if mid:
            wanted.setdefault(mid, []).append(position)

    if wanted:
        path = cache_path()
        found = _lookup(path, wanted, _now())
        missing = [mid for mid in wanted if mid not in found]
        if missing and timeout > 0:
            found.update(
                _fetch_many(
                    missing, timeout=float(timeout), max_workers=max_workers, session=session,
                    path=path,
                )
            )
        for mid, positions in wanted.items():
            url = found.get(mid)
            if url:
                for position in positions:
                    results[position] = url

    return [
        value if value else placeholder_data_uri(names[i], categories[i])
        for i, value in enumerate(results)
    ]
