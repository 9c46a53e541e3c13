"""The image API as a hostile or broken service: outages that end, trickling answers, redirects.

Every server here listens on loopback (127.0.0.1, or 127.0.0.2 as "another host"); the clock that
decides cache expiry is ``thumbnails.cache.now``, moved forward by the tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recsys_core import thumbnails
from recsys_core.thumbnails import cache, fetch, resolve_image_batch, resolve_images
from tests.test_thumbnails import (
    MIDS,
    model_json,
    placeholder_for,
    sketchfab_dataset,
    wanted_url,
)


class Server:
    """A loopback HTTP server whose answer to each GET is ``behaviour(handler, path)``; it
    records every path asked for and stops trickling when closed."""

    def __init__(self, behaviour, host: str = "127.0.0.1") -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's naming)
                with server.lock:
                    server.paths.append(self.path)
                try:
                    behaviour(self, server)
                except OSError:  # the client hung up or cut the connection
                    pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base(self) -> str:
        return self.origin + "/v3/models/"

    def count(self) -> int:
        with self.lock:
            return len(self.paths)

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler, status: int, body: bytes = b"", headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def mid_of(handler) -> str:
    return handler.path.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def serve(monkeypatch, fresh_home):
    """``serve(behaviour, host=...)`` starts a server; the first one started is the image API."""
    started: list[Server] = []

    def start(behaviour, host: str = "127.0.0.1") -> Server:
        server = Server(behaviour, host)
        if not started:
            monkeypatch.setattr(fetch, "API_BASE", server.base)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def clock(monkeypatch):
    """``clock.now`` is what thumbnails sees as the time; tests move it forward."""

    class Clock:
        now = time.time()

    monkeypatch.setattr(cache, "now", lambda: Clock.now)
    return Clock


def thumbnail_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("thumbnails")]


def wait_until(predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ---------------------------------------------------------------------------- (a) outages end
def test_retry_window_is_minutes_not_an_hour():
    assert 60 <= thumbnails.TRANSIENT_TTL <= 600
    assert thumbnails.TRANSIENT_TTL < thumbnails.MISS_TTL


@pytest.mark.parametrize("failure", ["500", "503", "403", "badjson", "refused-mid-body"])
def test_a_failed_image_is_retried_after_minutes(serve, clock, failure):
    state = {"down": True}

    def behaviour(handler, server):
        if not state["down"]:
            send(handler, 200, model_json(mid_of(handler)))
        elif failure == "badjson":
            send(handler, 200, b"<html>Service Unavailable</html>")
        elif failure == "refused-mid-body":
            handler.send_response(200)
            handler.send_header("Content-Length", "5000")
            handler.end_headers()
            handler.wfile.write(b'{"uid": "x", "thumb')
            handler.close_connection = True
        else:
            send(handler, int(failure), b"{}")

    api = serve(behaviour)
    ds = sketchfab_dataset()
    first = resolve_image_batch(ds, [0, 1], timeout=3)
    assert first.sources == [placeholder_for(ds, 0), placeholder_for(ds, 1)]
    assert first.pending == [0, 1]  # may still become images
    assert api.count() == 2

    state["down"] = False  # the service recovers...
    clock.now += thumbnails.TRANSIENT_TTL - 5  # ...but the failure is remembered a while
    again = resolve_image_batch(ds, [0, 1], timeout=3)
    assert again.sources == first.sources and again.pending == [0, 1]
    assert api.count() == 2  # no request: an offline service does not slow every page

    clock.now += 10  # past the retry window: minutes after the outage, not an hour
    recovered = resolve_image_batch(ds, [0, 1], timeout=3)
    assert recovered.sources == [wanted_url(ds, 0), wanted_url(ds, 1)]
    assert recovered.pending == []
    assert api.count() == 4


def test_a_definite_miss_is_final_and_kept_longer(serve, clock):
    def behaviour(handler, server):
        send(handler, 404, b'{"detail": "Not found."}')

    api = serve(behaviour)
    ds = sketchfab_dataset()
    batch = resolve_image_batch(ds, [0], timeout=3)
    assert batch.sources == [placeholder_for(ds, 0)] and batch.pending == []
    clock.now += thumbnails.TRANSIENT_TTL + 1
    assert resolve_image_batch(ds, [0], timeout=3).pending == []
    assert api.count() == 1  # a 404 from a working API is an answer, asked again after MISS_TTL


def test_the_streamlit_cache_does_not_pin_a_placeholder(serve, clock, monkeypatch):
    """Through the app's loader: a page drawn during an outage shows the image once the retry
    window is over, although ``st.cache_data`` would keep a value for an hour."""
    from recsys_core.ui import loaders

    state = {"down": True}

    def behaviour(handler, server):
        if state["down"]:
            send(handler, 503, b"{}")
        else:
            send(handler, 200, model_json(mid_of(handler)))

    api = serve(behaviour)
    ds = sketchfab_dataset()
    monkeypatch.setattr(loaders, "_dataset", lambda spec, home: ds)
    loaders._images.clear()
    try:
        assert loaders.images(ds, "sketchfab-test", [0, 1]) == [
            placeholder_for(ds, 0),
            placeholder_for(ds, 1),
        ]
        state["down"] = False
        # a rerun within the window: the disk cache answers (no request, no wait)
        assert loaders.images(ds, "sketchfab-test", [0, 1])[0] == placeholder_for(ds, 0)
        assert api.count() == 2
        clock.now += thumbnails.TRANSIENT_TTL + 1
        got = loaders.images(ds, "sketchfab-test", [0, 1])
        assert got == [wanted_url(ds, 0), wanted_url(ds, 1)]
        assert api.count() == 4
        # a complete answer is kept by Streamlit: no further request, even after the window
        clock.now += thumbnails.TRANSIENT_TTL + 1
        cache.reset_memory()
        thumbnails.cache_path().unlink()
        assert loaders.images(ds, "sketchfab-test", [0, 1]) == got
        assert api.count() == 4
    finally:
        loaders._images.clear()


# ---------------------------------------------------------------------------- (b) trickling
def trickle(where: str, interval: float = 0.5, total: int = 120):
    """A server that sends one byte every ``interval`` seconds, in the headers or the body."""

    def behaviour(handler, server):
        if where == "headers":
            payload = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * total
        else:
            body = model_json(mid_of(handler))
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body) + total}\r\n\r\n".encode()
            handler.wfile.write(head)
            handler.wfile.flush()
            payload = body[:total]
        for byte in payload:
            if server.stopping.wait(interval):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return behaviour


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_service_is_cut_at_the_total_deadline(serve, where):
    threads_before = threading.active_count()
    api = serve(trickle(where))
    ds = sketchfab_dataset(8)
    timeout = 1.0
    start = time.monotonic()
    got = resolve_images(ds, range(8), timeout=timeout, max_workers=8)
    elapsed = time.monotonic() - start
    assert got == [placeholder_for(ds, i) for i in range(8)]
    assert elapsed < timeout + 1.5, elapsed
    # all 8 were asked at once (on a busy machine the last may reach the server's handler
    # just after the call returns; one at a time, the first would still be trickling)...
    assert wait_until(lambda: api.count() == 8, 1.0), api.count()
    # ...and every request is cut at the hard stop (2 x timeout), though bytes keep coming
    assert wait_until(lambda: not thumbnail_threads(), 2 * timeout + 3.0 - elapsed), [
        t.name for t in thumbnail_threads()
    ]
    assert time.monotonic() - start < 2 * timeout + 3.0
    # the cut requests are remembered as transient failures: the next page does not wait
    start = time.monotonic()
    batch = resolve_image_batch(ds, range(8), timeout=timeout)
    assert time.monotonic() - start < 0.3
    assert api.count() == 8 and batch.pending == list(range(8))
    api.close()  # the server's own threads end as well: nothing of the batch lingers
    assert wait_until(lambda: threading.active_count() <= threads_before, 2.0), (
        threading.enumerate()
    )


def test_a_slow_but_working_service_still_fills_the_cache_before_the_cut(serve):
    def behaviour(handler, server):
        if not server.stopping.wait(0.3):
            send(handler, 200, model_json(mid_of(handler)))

    api = serve(behaviour)
    ds = sketchfab_dataset(4)
    # two at a time: the first two answer at 0.3 s, the last two at 0.6 s, after the call
    start = time.monotonic()
    got = resolve_images(ds, range(4), timeout=0.45, max_workers=2)
    assert got == [wanted_url(ds, 0), wanted_url(ds, 1)] + [placeholder_for(ds, i) for i in (2, 3)]
    assert wait_until(lambda: not thumbnail_threads(), 1.0)
    assert time.monotonic() - start < 0.85  # all done: the watchdog stopped too, not at 0.9 s
    assert resolve_images(ds, range(4), timeout=0) == [wanted_url(ds, i) for i in range(4)]
    assert api.count() == 4


# ---------------------------------------------------------------------------- (c) redirects
def redirect_to(location_of):
    def behaviour(handler, server):
        send(handler, 302, b"", {"Location": location_of(handler)})

    return behaviour


def canary_server(serve, host: str = "127.0.0.1") -> Server:
    def behaviour(handler, server):
        send(handler, 200, model_json(mid_of(handler)))

    return serve(behaviour, host)


@pytest.mark.parametrize("other", ["another port", "127.0.0.2", "https scheme"])
def test_a_redirect_to_another_host_is_not_followed(serve, clock, other):
    targets: dict[str, Server] = {}
    api = serve(redirect_to(lambda handler: targets["url"] + handler.path))
    if other == "another port":
        canary = canary_server(serve)
        targets["url"] = canary.origin
    elif other == "127.0.0.2":
        canary = canary_server(serve, "127.0.0.2")
        targets["url"] = canary.origin
    else:  # same host and port, another scheme: another origin too
        canary = canary_server(serve)
        targets["url"] = api.origin.replace("http://", "https://")
    ds = sketchfab_dataset()
    batch = resolve_image_batch(ds, [0, 1], timeout=3)
    assert batch.sources == [placeholder_for(ds, 0), placeholder_for(ds, 1)]
    assert batch.pending == [0, 1]  # asked again in a few minutes, like any failure
    assert api.count() == 2
    assert canary.count() == 0  # the other host never received a request


def test_a_redirect_within_the_api_origin_is_followed(serve):
    def behaviour(handler, server):
        if not handler.path.endswith("/"):
            send(handler, 301, b"", {"Location": handler.path + "/"})  # Django's APPEND_SLASH
        else:
            send(handler, 200, model_json(mid_of(handler)))

    api = serve(behaviour)
    ds = sketchfab_dataset()
    assert resolve_images(ds, [0], timeout=3) == [wanted_url(ds, 0)]
    assert api.paths == [f"/v3/models/{MIDS[0]}", f"/v3/models/{MIDS[0]}/"]


def test_a_redirect_loop_within_the_origin_ends(serve):
    api = serve(redirect_to(lambda handler: handler.path + "x"))
    ds = sketchfab_dataset()
    assert resolve_images(ds, [0], timeout=3) == [placeholder_for(ds, 0)]
    assert api.count() == thumbnails.MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{canary}\\@127.0.0.1:{api}/x",  # urlsplit: api; requests: canary
        "http://127.0.0.1:{api}@127.0.0.1:{canary}/x",  # a user part that looks like the API
        "//127.0.0.1:{canary}/x",  # protocol-relative
        "HTTP://127.0.0.1.:{canary}/x",
    ],
)
def test_tricky_redirects_to_another_host_are_not_followed(serve, location):
    ports = {}
    api = serve(redirect_to(lambda handler: location.format(**ports)))
    other = canary_server(serve)
    ports.update(api=api.httpd.server_address[1], canary=other.httpd.server_address[1])
    ds = sketchfab_dataset()
    assert resolve_images(ds, [0], timeout=2) == [placeholder_for(ds, 0)]
    assert api.count() == 1
    assert other.count() == 0


def test_the_cache_file_records_transient_failures(serve):
    def behaviour(handler, server):
        send(handler, 500, b"{}")

    serve(behaviour)
    ds = sketchfab_dataset()
    resolve_images(ds, [0], timeout=3)
    entry = json.loads(thumbnails.cache_path().read_text())["entries"][MIDS[0]]
    assert entry["u"] is None and entry["t"] == 1


def test_connection_refused_is_a_transient_failure(monkeypatch, fresh_home, clock):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(fetch, "API_BASE", f"http://127.0.0.1:{port}/v3/models/")
    ds = sketchfab_dataset()
    assert resolve_image_batch(ds, [0], timeout=2).pending == [0]
