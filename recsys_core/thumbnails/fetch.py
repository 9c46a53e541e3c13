"""Item images for the app: metadata URLs, Sketchfab's model API, and generated placeholders.

:func:`resolve_images` returns one ``<img src>``-ready string per item asked for:

1. the dataset's ``image_url`` when it is ``http(s)://`` or a ``data:image/`` URI (the browser
   fetches it; :func:`recsys_core.html.thumbnail_card` shows the placeholder when it fails);
2. for Sketchfab items (dataset ``sketchfab``, or a ``url`` like
   ``https://sketchfab.com/models/<mid>``), the 200-pixel-wide image of
   ``https://api.sketchfab.com/v3/models/<mid>`` -> ``thumbnails.images``, fetched only for the
   items asked for, concurrently, under one deadline for the whole batch, and cached on disk
   (hits for :data:`HIT_TTL`, definite misses for :data:`MISS_TTL`, everything else that went
   wrong for :data:`TRANSIENT_TTL`, a few minutes);
3. otherwise, or when anything fails (404, 429, timeout, bad JSON, offline), a generated
   placeholder: an SVG data URI picturing the item's object in its material, on its category's
   colour (:mod:`recsys_core.pictures`).

The trust boundary with the image API:

- A call never waits more than ``timeout`` and never raises for network trouble. Requests still
  running then finish in the background, only to fill the cache, and every one of them is cut
  (its socket shut down) ``2 * timeout`` after the call began: a server that trickles bytes, in
  its headers or its body, holds no thread longer than that (the per-read timeout alone would
  let it hold one for as long as it keeps sending).
- No redirect to another origin (scheme, host, port) is followed; at most :data:`MAX_REDIRECTS`
  redirects within the API's own origin are (e.g. an added trailing slash). A redirect elsewhere
  is a transient failure: the placeholder, asked again after :data:`TRANSIENT_TTL`.
- Bodies over :data:`MAX_RESPONSE_BYTES` are refused; only http(s) image URLs are kept.

The cache is one JSON file, ``RECSYS_HOME/cache/thumbnails/sketchfab.json``, written atomically
(temporary file + rename). A damaged file is ignored and rewritten on the next store; two
processes writing at once may drop each other's newest entries, which are then fetched again.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urljoin, urlsplit

import pandas as pd

from . import __version__, config
from .html import safe_href, safe_url
from .pictures import picture_data_uri, picture_svg

__all__ = [
    "API_BASE",
    "HIT_TTL",
    "MAX_REDIRECTS",
    "MISS_TTL",
    "TRANSIENT_TTL",
    "ImageBatch",
    "cache_path",
    "parse_item_reference",
    "pick_thumbnail",
    "placeholder_data_uri",
    "placeholder_svg",
    "resolve_image_batch",
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
"""Seconds a definite miss is kept before asking again: a 404 or 410, or a model document (valid
JSON) without a usable image. Only an answer from a working API counts as definite."""
TRANSIENT_TTL = 300.0
"""Seconds any other failure is kept (timeout, cut off, refused, 5xx, other 4xx, a redirect not
followed, a body that is not JSON or too large), so an offline machine does not wait for the
timeout on every page, yet an image comes back a few minutes after the service does. A 429's
``Retry-After`` is honoured up to MISS_TTL."""
MAX_RESPONSE_BYTES = 2_000_000
MAX_REDIRECTS = 2
"""Redirects followed within the API's own origin; none to any other origin."""
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
# One renderer for every generated picture (recsys_core.pictures): the demo's items use it as
# their image, so a placeholder looks like the demo's own pictures.
def placeholder_svg(name: Any, category: Any = "") -> str:
    """The item's generated picture: a 200 x 150 SVG of its object (the noun of its name) in its
    material, on its category's colour; the name is only the SVG's (XML-escaped) title.

    Deterministic; see :func:`recsys_core.pictures.picture_svg`.
    """
    return picture_svg(name, category)


def placeholder_data_uri(name: Any, category: Any = "") -> str:
    """:func:`placeholder_svg` as a ``data:image/svg+xml;base64,...`` URI for ``<img src>``
    (cached)."""
    return picture_data_uri(name, category)


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


class _Answer(NamedTuple):
    """What the API said about one model: the image URL (None: no image), how many seconds to
    keep that, and whether it is final (an image, or a definite miss) or may change soon."""

    url: str | None
    ttl: float
    final: bool


def _hit(url: str) -> _Answer:
    return _Answer(url, HIT_TTL, True)


def _miss() -> _Answer:
    return _Answer(None, MISS_TTL, True)


def _failed(ttl: float | None = None) -> _Answer:
    return _Answer(None, TRANSIENT_TTL if ttl is None else ttl, False)


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


def _lookup(path: Path, mids: Iterable[str], now: float) -> dict[str, _Answer]:
    """Fresh cache entries for ``mids`` (``ttl`` is the seconds left)."""
    with _CACHE_LOCK:
        entries = _read_cache(path)
    found: dict[str, _Answer] = {}
    for mid in mids:
        entry = entries.get(mid)
        if entry is not None and entry["x"] > now:
            final = entry["u"] is not None or not entry.get("t")
            found[mid] = _Answer(entry["u"], entry["x"] - now, final)
    return found


def _store(path: Path, results: dict[str, _Answer]) -> None:
    """Merge ``{mid: answer}`` into the cache file (atomically); never raises."""
    results = {mid: value for mid, value in results.items() if value.ttl > 0}
    if not results:
        return
    with _CACHE_LOCK:
        try:
            now = _now()
            entries = {k: v for k, v in _read_cache(path).items() if v["x"] > now}
            for mid, answer in results.items():
                entries[mid] = {"u": answer.url, "x": round(now + answer.ttl, 1)}
                if not answer.final:
                    entries[mid]["t"] = 1
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
class _Sockets:
    """The sockets opened for one batch; :meth:`cut` shuts every one down, so a read blocked on
    any of them returns at once (and any socket opened afterwards is shut down as it opens)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.done = False

    def add(self, sock: Any) -> None:
        if not isinstance(sock, socket.socket):
            return
        with self.lock:
            if not self.done:
                self.open.append(sock)
                return
        _shut(sock)

    def cut(self) -> None:
        with self.lock:
            self.done = True
            sockets, self.open = self.open, []
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed (its descriptor is -1: nothing else is touched)
        pass


def _watch_pools(manager: Any, sockets: _Sockets) -> None:
    """Make the urllib3 pool ``manager`` register every socket it opens with ``sockets``."""
    watched = {}
    for scheme, pool_cls in manager.pool_classes_by_scheme.items():
        base = pool_cls.ConnectionCls

        def _new_conn(self: Any, _base: Any = base) -> Any:
            sock = _base._new_conn(self)  # the TCP socket (before TLS wraps it)
            sockets.add(sock)
            return sock

        def connect(self: Any, _base: Any = base) -> None:
            _base.connect(self)
            sockets.add(self.sock)  # the socket requests are read from (the TLS one for https)

        connection_cls = type(
            f"Watched{base.__name__}", (base,), {"_new_conn": _new_conn, "connect": connect}
        )
        watched[scheme] = type(
            f"Watched{pool_cls.__name__}", (pool_cls,), {"ConnectionCls": connection_cls}
        )
    manager.pool_classes_by_scheme = watched


def _new_session(pool_size: int, sockets: _Sockets | None = None) -> Any:
    """A requests session whose connections (direct or through a proxy) register their sockets
    with ``sockets``, so the batch can cut them at its hard stop."""
    import requests
    from requests.adapters import HTTPAdapter

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            if sockets is not None:
                _watch_pools(self.poolmanager, sockets)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            known = proxy in self.proxy_manager
            manager = super().proxy_manager_for(proxy, **kwargs)
            if sockets is not None and not known:
                _watch_pools(manager, sockets)
            return manager

    session = requests.Session()
    adapter = _Adapter(pool_connections=2, pool_maxsize=max(1, pool_size), max_retries=0)
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


def _origin(url: str) -> tuple[tuple[str, str, int | None], str]:
    """``((scheme, host, port), url)`` as requests will connect for ``url``: the URL prepared by
    requests and read by urllib3's parser, the one that opens the connection (``urlsplit``
    reads ``http://a:1\\@b:2/`` as host b, urllib3 as host a). Raises for a URL requests
    refuses."""
    import requests
    from urllib3.util import parse_url

    prepared = str(requests.Request("GET", url).prepare().url)
    parsed = parse_url(prepared)
    scheme = (parsed.scheme or "").lower()
    port = parsed.port or {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parsed.host or "").lower().rstrip("."), port), prepared


def _fetch_one(session: Any, mid: str, timeout: float, deadline: float) -> _Answer:
    """What the API says about one model; never raises.

    A request that has not started by ``deadline`` is not made (cached for 0 s, i.e. not at all).
    Nothing goes on past ``deadline + timeout`` (the caller stopped waiting at ``deadline``; a late
    answer only fills the cache): each read's timeout is the time left, and the batch cuts the
    sockets at that moment too. Redirects are followed only within the API's origin.
    """
    if time.monotonic() >= deadline:
        return _failed(0.0)
    hard_stop = deadline + timeout
    try:
        origin, url = _origin(API_BASE + mid)
    except Exception:
        return _failed()
    for _hop in range(MAX_REDIRECTS + 1):
        left = hard_stop - time.monotonic()
        if left <= 0:
            return _failed()
        try:
            response = session.get(
                url, timeout=(min(timeout, left), min(timeout, left)), stream=True,
                allow_redirects=False,
            )
        except Exception:  # timeout, refused, cut, DNS, offline, anything the adapter throws
            return _failed()
        try:
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("Location")
                if not location:
                    return _failed()
                target_origin, target = _origin(urljoin(url, location))
                if target_origin != origin:
                    return _failed()  # not followed: no request ever leaves the API's origin
                url = target
                continue
            return _read_answer(response, status, hard_stop)
        except Exception:  # a connection dropped or cut mid-body, a decoding error
            return _failed()
        finally:
            try:
                response.close()
            except Exception:
                pass
    return _failed()  # too many redirects


def _read_answer(response: Any, status: int, hard_stop: float) -> _Answer:
    if status in (404, 410):
        return _miss()
    if status == 429:
        return _failed(_retry_after(response.headers.get("Retry-After")))
    if status != 200:
        return _failed()
    body = bytearray()
    for chunk in response.iter_content(chunk_size=16384):
        body.extend(chunk)
        if len(body) > MAX_RESPONSE_BYTES or time.monotonic() > hard_stop:
            return _failed()
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except ValueError:  # an error page, a truncated body: not an answer from the API
        return _failed()
    if not isinstance(data, dict):
        return _failed()
    thumbnails = data.get("thumbnails")
    images = thumbnails.get("images") if isinstance(thumbnails, dict) else None
    url = pick_thumbnail(images)
    return _hit(url) if url else _miss()


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
        self.answers: dict[str, _Answer] = {}
        self.closed = False
        self.remaining = total
        self.session = session
        self.own_session = own_session
        self.watchdog = watchdog

    def record(self, mid: str, future: Future) -> None:
        answer = None
        if not future.cancelled() and future.exception() is None:
            answer = future.result()
        late: dict[str, _Answer] = {}
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

    def close(self) -> dict[str, _Answer]:
        with self.lock:
            self.closed = True
            answers = dict(self.answers)
        _store(self.path, answers)
        return answers


def _fetch_many(
    mids: Sequence[str], *, timeout: float, max_workers: int, session: Any, path: Path
) -> dict[str, _Answer]:
    """Answers for the mids that came within ``timeout`` seconds.

    Requests still running go on in the background, until ``2 * timeout`` after the start at the
    latest: then a watchdog shuts their sockets down (for sessions made here; a given session is
    bounded by the time left at each read only).
    """
    start = time.monotonic()
    deadline = start + timeout
    own_session = session is None
    workers = max(1, min(int(max_workers), len(mids)))
    sockets = _Sockets()
    try:
        session = session if session is not None else _new_session(workers, sockets)
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


class ImageBatch(NamedTuple):
    """What :func:`resolve_image_batch` found.

    Attributes
    ----------
    sources : list of str, length n
        An http(s) URL or a ``data:image/`` URI per item, in the order asked.
    pending : list of int
        Positions in ``sources`` that hold a placeholder only because the image API failed or did
        not answer in time: asking again later (after :data:`TRANSIENT_TTL` at most) may give an
        image. Empty when every answer is final (an image, a definite miss, or no API involved).
    """

    sources: list[str]
    pending: list[int]


def resolve_image_batch(
    dataset_or_items: Any,
    item_indices: Iterable[int],
    *,
    timeout: float = 2.0,
    max_workers: int = 8,
    session: Any = None,
) -> ImageBatch:
    """:func:`resolve_images`, also telling which placeholders may still become images.

    Callers that cache the result (the app's ``st.cache_data``) keep it only when ``pending`` is
    empty, so a placeholder shown during an outage is not pinned after the service recovers.
    Parameters, return values and errors otherwise as :func:`resolve_images`.
    """
    items, is_sketchfab = _items_frame(dataset_or_items)
    rows = [int(index) for index in item_indices]
    n_items = len(items)
    bad = [index for index in rows if not 0 <= index < n_items]
    if bad:
        raise IndexError(f"Item index {bad[0]} is outside 0..{n_items - 1}.")
    if not rows:
        return ImageBatch([], [])
    names = _column(items, "name", rows)
    categories = _column(items, "category", rows)
    image_urls = _column(items, "image_url", rows)
    urls = _column(items, "url", rows)
    ids = _column(items, "item_id", rows) if "item_id" in items.columns else [
        str(items.index[i]) for i in rows
    ]

    results: list[str | None] = [None] * len(rows)
    pending: list[int] = []
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
            answer = found.get(mid)
            if answer is not None and answer.url:
                for position in positions:
                    results[position] = answer.url
            elif answer is None or not answer.final:
                pending.extend(positions)

    sources = [
        value if value else placeholder_data_uri(names[i], categories[i])
        for i, value in enumerate(results)
    ]
    return ImageBatch(sources, sorted(pending))


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
        The most this call waits for the network, in seconds, for the whole batch; requests still
        running are cut ``timeout`` seconds later. 0 uses the cache only.
    max_workers : int
        Concurrent requests to the image API.
    session : requests.Session, optional
        Session to send requests with (a fresh one per call when None). A given session is used
        as it is: redirects are still not followed and every read is bounded by the time left,
        but its sockets are not cut at the hard stop.

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
    return resolve_image_batch(
        dataset_or_items, item_indices, timeout=timeout, max_workers=max_workers, session=session
    ).sources
