"""Downloads against a local HTTP server on 127.0.0.1 (no internet), and zip extraction."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from recsys_core.datasets import fetch_dataset, get_source, load_dataset, movielens, sketchfab
from recsys_core.datasets.download import download, extract_zip
from recsys_core.errors import DownloadError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


def ml100k_zip() -> bytes:
    """A tiny ml-100k.zip: u.data, u.item, u.genre and one split, under ml-100k/."""
    ratings = [
        (u, i, 1 + (u * i) % 5, 880000000 + u * 100 + i)
        for u in range(1, 6)
        for i in range(1, 8)
        if (u + i) % 3
    ]
    u_data = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings)
    u_item = "".join(
        f"{i}|Film {i} (1994)|01-Jan-1994||http://us.imdb.com/{i}|"
        + "|".join("1" if g == i % 19 else "0" for g in range(19))
        + "\n"
        for i in range(1, 8)
    )
    genres = "".join(f"g{g}|{g}\n" for g in range(19))
    test = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings[:5])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/", "")
        archive.writestr("ml-100k/u.data", u_data)
        archive.writestr("ml-100k/u.item", u_item)
        archive.writestr("ml-100k/u.genre", genres)
        archive.writestr("ml-100k/ua.test", test)
        archive.writestr("ml-100k/ua.base", u_data)
    return buffer.getvalue()


ROUTES: dict[str, bytes] = {}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(1.5)
        if path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "2000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            time.sleep(1.5)
            return
        if path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        body = ROUTES.get(path.lstrip("/"))
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client that gave up: expected here
        pass


@pytest.fixture(scope="module")
def server():
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    ROUTES.update(
        {
            "file.bin": PAYLOAD,
            "slow": b"late",
            "bad.zip": b"this is not a zip archive at all",
            "ml-100k.zip": ml100k_zip(),
        }
    )
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_happy_path_with_progress(server, tmp_path):
    seen = []
    dest = download(
        server + "file.bin",
        tmp_path / "sub" / "file.bin",
        progress=lambda f, m: seen.append((f, m)),
        md5=hashlib.md5(PAYLOAD).hexdigest(),
        expected_size=len(PAYLOAD),
        chunk=64 << 10,
    )
    assert dest.read_bytes() == PAYLOAD
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(fractions) >= 16  # one call per 64 KiB chunk
    assert "MB" in seen[-2][1]
    assert leftovers(dest.parent) == []


def test_timeout_before_the_response(server, tmp_path):
    started = time.monotonic()
    with pytest.raises(DownloadError, match="timed out") as caught:
        download(server + "slow", tmp_path / "slow.bin", timeout=(1, 0.3))
    assert time.monotonic() - started < 1.4
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_stall_in_the_middle_of_the_body(server, tmp_path):
    with pytest.raises(DownloadError, match="stalled for more than 0.3 s after 0.0 MB"):
        download(server + "stall", tmp_path / "stall.bin", timeout=(1, 0.3))
    assert list(tmp_path.iterdir()) == []


def test_http_404(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(server + "missing.zip", tmp_path / "missing.zip")
    assert list(tmp_path.iterdir()) == []


def test_truncated_body(server, tmp_path):
    with pytest.raises(DownloadError, match="cut off"):
        download(server + "truncated", tmp_path / "t.bin")
    assert list(tmp_path.iterdir()) == []


def test_bad_checksum_and_size_keep_the_old_file(server, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"previous version")
    with pytest.raises(DownloadError, match="checksum"):
        download(server + "file.bin", dest, md5="0" * 32)
    with pytest.raises(DownloadError, match="expected"):
        download(server + "file.bin", dest, expected_size=12)
    assert dest.read_bytes() == b"previous version"
    assert leftovers(tmp_path) == []


def test_connection_refused(tmp_path):
    with pytest.raises(DownloadError, match="Could not connect"):
        download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", timeout=(1, 1))
    assert list(tmp_path.iterdir()) == []


def test_bad_zip(server, tmp_path):
    archive = download(server + "bad.zip", tmp_path / "bad.zip")
    with pytest.raises(DownloadError, match="not a zip archive"):
        extract_zip(archive, tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())


def test_damaged_zip_member_leaves_nothing(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("data/a.txt", b"A" * 1000)
        archive.writestr("data/b.txt", b"B" * 1000)
    raw = bytearray(buffer.getvalue())
    raw[raw.index(b"B" * 100) + 10] = ord("C")  # flips a byte: CRC mismatch
    (tmp_path / "d.zip").write_bytes(bytes(raw))
    with pytest.raises(DownloadError, match="damaged"):
        extract_zip(tmp_path / "d.zip", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.zip", "out"]


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt"])
def test_zip_path_traversal_is_refused(tmp_path, member):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", b"fine")
        archive.writestr(zipfile.ZipInfo(member), b"evil")
    (tmp_path / "evil.zip").write_bytes(buffer.getvalue())
    with pytest.raises(DownloadError, match="outside the destination"):
        extract_zip(tmp_path / "evil.zip", tmp_path / "a" / "b")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "a" / "evil.txt").exists()
    assert list((tmp_path / "a" / "b").iterdir()) == []


def test_extract_zip_replaces_old_entries(tmp_path):
    (tmp_path / "z.zip").write_bytes(ml100k_zip())
    (tmp_path / "out" / "ml-100k").mkdir(parents=True)
    (tmp_path / "out" / "ml-100k" / "stale.txt").write_text("old")
    extract_zip(tmp_path / "z.zip", tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out" / "ml-100k").iterdir())
    assert names == ["u.data", "u.genre", "u.item", "ua.base", "ua.test"]
    assert leftovers(tmp_path) == []


def test_fetch_then_load_movielens_100k(server, fresh_home, monkeypatch):
    monkeypatch.setattr(movielens, "BASE_URL", server)
    variant = movielens.VARIANTS["movielens-100k"]
    digest = hashlib.md5(ROUTES["ml-100k.zip"]).hexdigest()
    monkeypatch.setitem(movielens.VARIANTS, "movielens-100k", replace(variant, md5=digest))
    assert not get_source("movielens-100k").is_local()
    seen = []
    folder = fetch_dataset("movielens-100k", progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0
    assert folder == fresh_home / "datasets" / "movielens-100k"
    assert (folder / "ml-100k" / "u.data").is_file()
    assert not (folder / "ml-100k.zip").exists()
    assert get_source("movielens-100k").is_local()
    data = load_dataset("movielens-100k")
    assert data.n_users == 5 and data.n_items == 7
    assert data.ratings is not None and data.timestamps is not None
    assert len(data.extras["predefined_splits"]["ua"]) == 5


def test_fetch_with_wrong_md5_leaves_nothing(server, fresh_home, monkeypatch):
    monkeypatch.setattr(movielens, "BASE_URL", server)
    with pytest.raises(DownloadError, match="checksum"):
        fetch_dataset("movielens-100k")  # the real md5 does not match the fixture
    folder = fresh_home / "datasets" / "movielens-100k"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_fetch_of_a_bad_zip_leaves_nothing(server, fresh_home, monkeypatch):
    monkeypatch.setattr(movielens, "BASE_URL", server)
    ROUTES["ml-1m.zip"] = b"not a zip"
    variant = replace(movielens.VARIANTS["movielens-1m"], md5=None)
    monkeypatch.setitem(movielens.VARIANTS, "movielens-1m", variant)
    with pytest.raises(DownloadError, match="not a zip archive"):
        fetch_dataset("movielens-1m")
    assert list((fresh_home / "datasets" / "movielens-1m").iterdir()) == []


def test_load_with_download_fetches_sketchfab(server, fresh_home, monkeypatch):
    ROUTES[sketchfab.LIKES_FILE] = b"modelname|mid|uid\n\\Fox | red\\|m1|u1\nOwl|m2|u1\nOwl|m2|u2\n"
    ROUTES[sketchfab.FEATS_FILE] = b"mid|type|value\nm1|category|animals\n"
    monkeypatch.setattr(sketchfab, "RAW_BASE", server)
    data = load_dataset("sketchfab", download=True)
    assert data.n_interactions == 3
    assert data.item_name(data.item_index("m1")) == "Fox | red"
    assert data.items.at[data.item_index("m1"), "category"] == "animals"
    assert get_source("sketchfab").is_local()
