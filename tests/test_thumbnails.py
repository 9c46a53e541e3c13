"""Thumbnail resolution against a local stand-in for Sketchfab's model API (127.0.0.1 only)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from recsys_core import thumbnails
from recsys_core.dataset import Dataset
from recsys_core.thumbnails import (
    cache,
    fetch,
    parse_item_reference,
    pick_thumbnail,
    placeholder_data_uri,
    resolve_images,
)

MIDS = [f"{i:02d}" + "0123456789abcdef0123456789abcd" for i in range(12)]
assert all(len(mid) == 32 for mid in MIDS)


def model_json(mid: str) -> bytes:
    """A Sketchfab-like model document; the 200-wide image is neither first nor last."""
    images = [
        {"url": f"https://media.example/{mid}/1024.jpeg", "width": 1024, "height": 576},
        {"url": f"https://media.example/{mid}/720.jpeg", "width": 720, "height": 405},
        {"url": f"https://media.example/{mid}/200.jpeg", "width": 200, "height": 113},
        {"url": f"https://media.example/{mid}/100.jpeg", "width": 100, "height": 56},
    ]
    return json.dumps({"uid": mid, "name": "m", "thumbnails": {"images": images}}).encode()


class FakeApi:
    """Per-mid behaviour: ``ok`` (default), ``404``, ``429``, ``500``, ``badjson``, ``noimages``,
    or ``("slow", seconds)``; counts requests per mid."""

    def __init__(self) -> None:
        self.behaviour: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):  # noqa: N802 (http.server's naming)
                mid = self.path.rstrip("/").rsplit("/", 1)[-1]
                with api.lock:
                    api.counts[mid] = api.counts.get(mid, 0) + 1
                kind = api.behaviour.get(mid, "ok")
                if isinstance(kind, tuple) and kind[0] == "slow":
                    time.sleep(kind[1])
                    kind = "ok"
                try:
                    if kind == "ok":
                        self._send(200, model_json(mid))
                    elif kind == "404":
                        self._send(404, b'{"detail":"Not found."}')
                    elif kind == "429":
                        self._send(429, b'{"detail":"slow down"}', {"Retry-After": "120"})
                    elif kind == "500":
                        self._send(500, b"oops")
                    elif kind == "badjson":
                        self._send(200, b"{not json at all")
                    elif kind == "noimages":
                        self._send(200, b'{"uid": "x", "thumbnails": {"images": []}}')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def _send(self, status, body, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v3/models/"

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api(monkeypatch, fresh_home):
    server = FakeApi()
    monkeypatch.setattr(fetch, "API_BASE", server.base)
    yield server
    server.close()


def sketchfab_dataset(n: int = 6, **item_columns) -> Dataset:
    mids = MIDS[:n]
    frame = pd.DataFrame({"user": ["u1"] * n + ["u2"], "item": mids + [mids[0]]})
    items = pd.DataFrame(
        {
            "item_id": mids,
            "name": [f"Model {i}" for i in range(n)],
            "category": ["cars-vehicles", "animals-pets"] * (n // 2) + ["art"] * (n % 2),
            "url": [f"https://sketchfab.com/models/{mid}" for mid in mids],
            **item_columns,
        }
    )
    return Dataset.from_frame("sketchfab", frame, items)


def placeholder_for(dataset: Dataset, index: int) -> str:
    row = dataset.items.iloc[index]
    return placeholder_data_uri(row["name"], row["category"])


def wanted_url(dataset: Dataset, index: int) -> str:
    return f"https://media.example/{dataset.item_id(index)}/200.jpeg"


# ---------------------------------------------------------------------------- the API
def test_success_picks_the_200_wide_image_and_keeps_order(api):
    ds = sketchfab_dataset()
    order = [3, 0, 5, 3]
    got = resolve_images(ds, order, timeout=5)
    assert got == [wanted_url(ds, i) for i in order]
    assert api.counts == {ds.item_id(i): 1 for i in {3, 0, 5}}  # the duplicate asked once


def test_only_the_items_asked_for_are_requested(api):
    ds = sketchfab_dataset()
    resolve_images(ds, [1], timeout=5)
    assert list(api.counts) == [ds.item_id(1)]


@pytest.mark.parametrize("kind", ["404", "429", "500", "badjson", "noimages"])
def test_failures_give_the_placeholder(api, kind):
    ds = sketchfab_dataset()
    api.behaviour[ds.item_id(1)] = kind
    got = resolve_images(ds, [0, 1, 2], timeout=5)
    assert got[1] == placeholder_for(ds, 1)
    assert got[1].startswith("data:image/svg+xml;base64,")
    assert got[0] == wanted_url(ds, 0) and got[2] == wanted_url(ds, 2)


def test_connection_refused_gives_placeholders_quickly(monkeypatch, fresh_home):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(fetch, "API_BASE", f"http://127.0.0.1:{port}/v3/models/")
    ds = sketchfab_dataset()
    start = time.perf_counter()
    got = resolve_images(ds, range(6), timeout=3)
    assert time.perf_counter() - start < 2.0
    assert got == [placeholder_for(ds, i) for i in range(6)]


def test_a_slow_server_costs_at_most_the_timeout_for_the_whole_batch(api):
    ds = sketchfab_dataset(12)
    for mid in MIDS:
        api.behaviour[mid] = ("slow", 2.0)
    timeout = 0.4
    start = time.perf_counter()
    got = resolve_images(ds, range(12), timeout=timeout, max_workers=4)  # 3 waves if sequential
    elapsed = time.perf_counter() - start
    assert elapsed < timeout + 0.35, elapsed
    assert got == [placeholder_for(ds, i) for i in range(12)]
    assert api.total() <= 4  # the queued requests were never sent


def test_a_request_started_just_before_the_deadline_does_not_hold_the_call(api):
    ds = sketchfab_dataset()
    api.behaviour[ds.item_id(0)] = ("slow", 0.9)  # answers in time...
    api.behaviour[ds.item_id(1)] = ("slow", 5.0)  # ...then this one starts at 0.9 s
    start = time.perf_counter()
    got = resolve_images(ds, [0, 1], timeout=1.5, max_workers=1)
    elapsed = time.perf_counter() - start
    assert got == [wanted_url(ds, 0), placeholder_for(ds, 1)]
    # about 1.5 s, not 0.9 + 1.5: the second request runs on alone (margin for a loaded machine)
    assert elapsed < 1.5 + 0.6, elapsed


def test_a_session_that_raises_never_escapes(fresh_home):
    class Broken:
        def get(self, *args, **kwargs):
            raise RuntimeError("boom")

    ds = sketchfab_dataset()
    assert resolve_images(ds, [0, 1], session=Broken()) == [placeholder_for(ds, i) for i in (0, 1)]


def test_a_given_session_is_used(api):
    import requests

    ds = sketchfab_dataset()
    session = requests.Session()
    seen = []
    real_get = session.get

    def spy(url, **kwargs):
        seen.append(url)
        return real_get(url, **kwargs)

    session.get = spy
    assert resolve_images(ds, [2], session=session, timeout=5) == [wanted_url(ds, 2)]
    assert seen == [api.base + ds.item_id(2)]


# ---------------------------------------------------------------------------- the cache
def test_cache_hit_makes_no_request(api):
    ds = sketchfab_dataset()
    first = resolve_images(ds, range(4), timeout=5)
    assert api.total() == 4
    cache.reset_memory()  # as a new process would: read back from the file
    second = resolve_images(ds, range(4), timeout=5)
    assert second == first
    assert api.total() == 4
    stored = json.loads(thumbnails.cache_path().read_text())
    assert stored["entries"][ds.item_id(0)]["u"] == wanted_url(ds, 0)


def test_concurrent_callers_all_land_in_the_cache(api, fresh_home):
    ds = sketchfab_dataset(12)
    threads = [
        threading.Thread(target=resolve_images, args=(ds, [i, i + 4, i + 8]), kwargs={"timeout": 5})
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    path = thumbnails.cache_path()
    assert path.parent == fresh_home / "cache" / "thumbnails"
    assert set(json.loads(path.read_text())["entries"]) == set(MIDS)
    cache.reset_memory()
    assert resolve_images(ds, range(12), timeout=0) == [wanted_url(ds, i) for i in range(12)]
    assert api.total() == 12


def test_misses_are_cached_then_expire(api, monkeypatch):
    ds = sketchfab_dataset()
    mid = ds.item_id(0)
    api.behaviour[mid] = "404"
    now = time.time()
    monkeypatch.setattr(cache, "now", lambda: now)
    assert resolve_images(ds, [0], timeout=5) == [placeholder_for(ds, 0)]
    assert api.counts[mid] == 1
    monkeypatch.setattr(cache, "now", lambda: now + thumbnails.MISS_TTL - 60)
    resolve_images(ds, [0], timeout=5)
    assert api.counts[mid] == 1  # still a remembered miss
    api.behaviour[mid] = "ok"
    monkeypatch.setattr(cache, "now", lambda: now + thumbnails.MISS_TTL + 1)
    assert resolve_images(ds, [0], timeout=5) == [wanted_url(ds, 0)]
    assert api.counts[mid] == 2


def test_hits_expire_after_the_hit_ttl(api, monkeypatch):
    ds = sketchfab_dataset()
    now = time.time()
    monkeypatch.setattr(cache, "now", lambda: now)
    resolve_images(ds, [0], timeout=5)
    monkeypatch.setattr(cache, "now", lambda: now + thumbnails.MISS_TTL * 24)
    resolve_images(ds, [0], timeout=5)
    assert api.total() == 1
    monkeypatch.setattr(cache, "now", lambda: now + thumbnails.HIT_TTL + 1)
    resolve_images(ds, [0], timeout=5)
    assert api.total() == 2


def test_rate_limits_are_remembered_for_retry_after(api, monkeypatch):
    ds = sketchfab_dataset()
    mid = ds.item_id(0)
    api.behaviour[mid] = "429"
    now = time.time()
    monkeypatch.setattr(cache, "now", lambda: now)
    resolve_images(ds, [0], timeout=5)
    resolve_images(ds, [0], timeout=5)
    assert api.counts[mid] == 1
    monkeypatch.setattr(cache, "now", lambda: now + 121)  # Retry-After: 120
    api.behaviour[mid] = "ok"
    assert resolve_images(ds, [0], timeout=5) == [wanted_url(ds, 0)]


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xffgarbage{{{",
        b"[1, 2, 3]",
        b'{"version": 1, "entries": []}',
        b'{"version": 1, "entries": {"MID": {"u": "javascript:alert(1)", "x": 9e99}}}',
        b"",
    ],
)
def test_a_corrupted_cache_file_is_ignored_and_rebuilt(api, content):
    ds = sketchfab_dataset()
    path = thumbnails.cache_path()
    path.write_bytes(content.replace(b"MID", ds.item_id(0).encode()))
    assert resolve_images(ds, [0, 1], timeout=5) == [wanted_url(ds, 0), wanted_url(ds, 1)]
    assert api.total() == 2
    stored = json.loads(path.read_text())
    assert set(stored["entries"]) == {ds.item_id(0), ds.item_id(1)}
    assert not list(path.parent.glob("*.tmp"))  # no temporary file left behind


def test_timeout_zero_reads_the_cache_only(api):
    ds = sketchfab_dataset()
    assert resolve_images(ds, [0, 1], timeout=0) == [placeholder_for(ds, i) for i in (0, 1)]
    assert api.total() == 0
    resolve_images(ds, [0], timeout=5)
    assert resolve_images(ds, [0, 1], timeout=0) == [wanted_url(ds, 0), placeholder_for(ds, 1)]


def test_answers_after_the_deadline_still_fill_the_cache(api):
    ds = sketchfab_dataset()
    api.behaviour[ds.item_id(0)] = ("slow", 0.4)
    api.behaviour[ds.item_id(1)] = ("slow", 0.4)
    # one worker: the first answers in time (0.4 s), the second after the deadline (0.8 s)
    got = resolve_images(ds, [0, 1], timeout=0.6, max_workers=1)
    assert got == [wanted_url(ds, 0), placeholder_for(ds, 1)]
    for _ in range(100):
        if resolve_images(ds, [1], timeout=0) == [wanted_url(ds, 1)]:
            break
        time.sleep(0.02)
    assert resolve_images(ds, [1], timeout=0) == [wanted_url(ds, 1)]
    assert api.total() == 2


# ---------------------------------------------------------------------------- other sources
def test_metadata_image_urls_are_used_as_they_are_and_unsafe_ones_dropped(api):
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    ds = sketchfab_dataset(
        4,
        image_url=["https://img.example/a.png", data_uri, "javascript:alert(1)", ""],
    )
    got = resolve_images(ds, range(4), timeout=5)
    assert got[:2] == ["https://img.example/a.png", data_uri]
    assert got[2:] == [wanted_url(ds, 2), wanted_url(ds, 3)]  # fell back to the API
    assert set(api.counts) == {ds.item_id(2), ds.item_id(3)}


def test_other_datasets_get_placeholders_without_requests(api):
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["i1", "i2"]})
    items = pd.DataFrame(
        {"item_id": ["i1", "i2"], "name": ["Toy Story", "Heat"], "category": ["Comedy", ""]}
    )
    ds = Dataset.from_frame("movielens-100k", frame, items)
    got = resolve_images(ds, [0, 1])
    assert got == [placeholder_data_uri("Toy Story", "Comedy"), placeholder_data_uri("Heat", "")]
    assert api.total() == 0


def test_an_items_frame_with_sketchfab_links_uses_the_api(api):
    items = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "name": ["x", "y"],
            "url": [f"https://sketchfab.com/3d-models/cool-car-{MIDS[0]}", "https://example.com"],
        }
    )
    got = resolve_images(items, [0, 1], timeout=5)
    assert got == [f"https://media.example/{MIDS[0]}/200.jpeg", placeholder_data_uri("y", "")]


def test_indices_outside_the_table_are_a_bug(api):
    with pytest.raises(IndexError):
        resolve_images(sketchfab_dataset(), [6])
    assert resolve_images(sketchfab_dataset(), []) == []


# ---------------------------------------------------------------------------- pieces
def test_pick_thumbnail_prefers_200_then_the_closest_wider_then_the_widest():
    def images(*widths):
        return [{"url": f"https://x/{w}", "width": w} for w in widths]

    assert pick_thumbnail(images(1024, 200, 720)) == "https://x/200"
    assert pick_thumbnail(images(1024, 256, 720, 100)) == "https://x/256"
    assert pick_thumbnail(images(50, 120, 100)) == "https://x/120"
    bad = [{"url": "javascript:alert(1)", "width": 200}, {"url": "https://x/a", "width": "?"}]
    assert pick_thumbnail(bad) is None
    assert pick_thumbnail(None) is None and pick_thumbnail({"images": []}) is None


def test_placeholder_escapes_the_name_and_is_valid_svg():
    name = '<img src=x onerror=alert(1)> & "quotes" \x07'
    uri = placeholder_data_uri(name, '"><script>')
    svg = base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    assert not [el for el in root.iter() if el.tag.split("}")[-1] in {"img", "script"}]
    text = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("title"))
    assert "<img src=x" in text  # the picture's title, as text
    assert placeholder_data_uri(name, '"><script>') == uri  # deterministic


MID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"https://sketchfab.com/models/{MID}", MID),
        (f"https://sketchfab.com/models/{MID}?utm_source=x#comments", MID),
        (f"https://sketchfab.com/models/{MID}/embed?autostart=1", MID),
        (f"https://sketchfab.com/3d-models/old-wooden-chair-{MID}", MID),
        (f"https://sketchfab.com/3d-models/old-wooden-chair-{MID}?ref=related", MID),
        (f"https://www.sketchfab.com/3d-models/{MID}", MID),
        (f"sketchfab.com/3d-models/chair-{MID.upper()}", MID),
        (f"  <https://sketchfab.com/models/{MID}>  ", MID),
        (f"look at this: https://sketchfab.com/3d-models/a-b-{MID}/ nice!", MID),
        (f"https://api.sketchfab.com/v3/models/{MID}", MID),
        ("https://sketchfab.com/feed", None),
        (f"https://notsketchfab.com/models/{MID}", None),
        ("https://example.com/page", None),
        ("http://localhost:8501/similar?dataset=demo&item=i42&k=12", "i42"),
        ("/similar?item=abc%20def", "abc def"),
        (MID, MID),
        ("  i42 ", "i42"),
        ("'1234'", "1234"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_item_reference(text, expected):
    assert parse_item_reference(text) == expected


# ---------------------------------------------------------------------------- the card's fallback
def _card_parts(card: str) -> tuple[dict, list[str]]:
    """The card's <img> attributes and its <style> texts."""
    from tests.test_html import parse

    found = parse(card)
    (img,) = [attrs for tag, attrs in found.elements if tag == "img"]
    styles = [chunk for chunk in found.text if "::before" in chunk]
    return img, styles


def test_a_card_with_an_http_image_carries_the_placeholder_as_its_fallback():
    from recsys_core.html import thumbnail_card

    name = '<img src=x onerror=alert(1)> \') url("https://evil.example/x")'
    card = thumbnail_card(name=name, image_url="https://img.example/a.png", category="Lamps")
    img, styles = _card_parts(card)
    assert img["src"] == "https://img.example/a.png" and img["class"] == "rx-fb"
    fallback = placeholder_data_uri(name, "Lamps")
    assert img["style"] == f"--rx-fb:url('{fallback}')"  # the name only inside the base64
    assert len(styles) == 1 and ".rx-fb::before" in styles[0]
    assert img["alt"] == name  # the name stays an attribute value (and text), nothing more


@pytest.mark.parametrize(
    ("image_url", "fallback_url"),
    [
        ("data:image/png;base64,iVBORw0KGgo=", None),  # a data URI does not fail to load
        ("https://img.example/a.png", ""),  # asked for none
        ("https://img.example/a.png", "https://evil.example/x.png"),  # not a data URI
        ("https://img.example/a.png", "data:image/svg+xml;base64,AAAA');}*{color:red"),
        ("https://img.example/a.png", "data:text/html;base64,PHNjcmlwdD4="),
    ],
)
def test_no_fallback_for_data_images_or_unsafe_fallbacks(image_url, fallback_url):
    from recsys_core.html import thumbnail_card

    card = thumbnail_card(name="x", image_url=image_url, fallback_url=fallback_url)
    img, styles = _card_parts(card)
    assert img["src"] == image_url
    assert "style" not in img and "class" not in img and not styles
    assert "evil.example" not in card and "color:red" not in card


def test_a_given_base64_fallback_is_used():
    from recsys_core.html import thumbnail_card

    given = "data:image/png;base64,iVBORw0KGgo="
    img, _ = _card_parts(
        thumbnail_card(name="x", image_url="http://img.example/a.png", fallback_url=given)
    )
    assert img["style"] == f"--rx-fb:url('{given}')"
