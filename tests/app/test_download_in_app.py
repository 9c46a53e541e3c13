"""The sidebar's download button: a dataset not on disk is fetched with a progress bar, then used;
a download that fails says so in one sentence in the main area, with what to do in the app.

The GroupLens address is pointed at a local HTTP server serving a small ml-100k zip (or at a
closed port on 127.0.0.1, for a machine that is offline); nothing touches the network.
"""

from __future__ import annotations

import hashlib
import socket
from dataclasses import replace

import pytest
import requests

from recsys_core.datasets import get_source, movielens
from recsys_core.errors import DownloadError
from recsys_core.ui import dataset_chooser

from ..test_download import ROUTES, server  # noqa: F401  (the local HTTP server fixture)
from .helpers import open_page, shown

OFFLINE = (
    "Could not download MovieLens 100k: this machine is offline or cannot reach its server. "
    "Use the demo data or upload a file on the Data page."
)
RAW = (
    "HTTPConnectionPool",
    "HTTPSConnectionPool",
    "NameResolutionError",
    "127.0.0.1",
    "Errno",
    "fetch again",
    "python -m",
    "--data-dir",
    "Traceback",
)
"""What the app never shows of a failed download: the exception's text, a server address,
command-line advice."""


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _download(at):
    buttons = [b for b in at.sidebar.button if b.label == "Download MovieLens 100k"]
    assert buttons, [b.label for b in at.sidebar.button]
    buttons[0].click().run()
    assert not at.exception, at.exception
    return at


def _every_text(at) -> str:
    """Everything the page wrote as text: alerts, captions, markdown, in both areas."""
    parts = []
    for kind in ("error", "warning", "info", "success", "caption", "markdown", "exception"):
        parts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    return "\n".join(shown(p) for p in parts)


def test_download_button_fetches_then_shows_the_dataset(server, fresh_home, monkeypatch):  # noqa: F811
    monkeypatch.setattr(movielens, "BASE_URL", server)
    variant = movielens.VARIANTS["movielens-100k"]
    digest = hashlib.md5(ROUTES["ml-100k.zip"]).hexdigest()
    monkeypatch.setitem(movielens.VARIANTS, "movielens-100k", replace(variant, md5=digest))
    assert not get_source("movielens-100k").is_local()

    at = open_page("start", dataset="movielens-100k")
    assert not at.exception
    assert any("MovieLens 100k is not on this machine yet" in i.value for i in at.sidebar.info)
    # the main area says so too, and what else there is to do
    main = [shown(i.value) for i in at.main.info]
    assert any(
        m.startswith("MovieLens 100k is not on this machine yet. Press Download") for m in main
    ), main
    _download(at)
    assert get_source("movielens-100k").is_local()
    assert any("5 users" in c.value for c in at.sidebar.caption)
    assert not [b for b in at.sidebar.button if b.label.startswith("Download")]
    assert not at.error


def test_offline_is_one_sentence_in_the_main_area(fresh_home, monkeypatch):
    monkeypatch.setattr(movielens, "BASE_URL", f"http://127.0.0.1:{_closed_port()}/")
    at = _download(open_page("similar", dataset="movielens-100k"))
    assert [shown(e.value) for e in at.main.error] == [OFFLINE]
    assert not at.sidebar.error  # the sentence is in the main area, once
    everything = _every_text(at)
    for raw in RAW:
        assert raw not in everything, raw
    assert not get_source("movielens-100k").is_local()
    # what the sentence offers is on screen
    assert at.button(key="use_demo_instead").label == "Use the demo data"
    links = [link.proto for link in at.get("page_link") if "Data page" in link.proto.label]
    assert len(links) == 1, links
    assert links[0].page in ("data", "/data") or links[0].page.endswith("data"), links[0]
    assert "dataset=demo" in links[0].query_string and "section=upload" in links[0].query_string


def test_use_the_demo_data_leaves_the_dataset_that_failed(fresh_home, monkeypatch):
    monkeypatch.setattr(movielens, "BASE_URL", f"http://127.0.0.1:{_closed_port()}/")
    at = _download(open_page("start", dataset="movielens-100k"))
    at.button(key="use_demo_instead").click().run()
    assert not at.exception, at.exception
    assert at.query_params["dataset"] in ("demo", ["demo"])
    assert at.selectbox(key="sidebar_dataset").value == "demo"
    assert not at.error


def test_a_failed_checksum_says_why_in_one_sentence(server, fresh_home, monkeypatch):  # noqa: F811
    monkeypatch.setattr(movielens, "BASE_URL", server)  # the real md5 does not match the fixture
    at = _download(open_page("start", dataset="movielens-100k"))
    errors = [shown(e.value) for e in at.main.error]
    assert errors == [
        "Could not download MovieLens 100k: the file that arrived failed its checksum (damaged "
        "on the way or changed at the source). Try again, or use the demo data or upload a "
        "file on the Data page."
    ]
    assert not at.sidebar.error
    for raw in RAW:
        assert raw not in _every_text(at), raw
    assert not get_source("movielens-100k").is_local()


def test_an_http_error_names_its_status_only(server, fresh_home, monkeypatch):  # noqa: F811
    monkeypatch.setattr(movielens, "BASE_URL", server + "gone/")  # 404 for every file
    at = _download(open_page("start", dataset="movielens-100k"))
    assert [shown(e.value) for e in at.main.error] == [
        "Could not download MovieLens 100k: its server answered with an error (HTTP 404). "
        "Try again later, or use the demo data or upload a file on the Data page."
    ]


# ------------------------------------------------------------- the sentence for each failure
def _raised(cause: BaseException, message: str) -> DownloadError:
    """A DownloadError raised from ``cause``, as recsys_core.datasets.download raises it."""
    try:
        try:
            raise cause
        except BaseException as error:
            raise DownloadError(message) from error
    except DownloadError as error:
        return error


@pytest.mark.parametrize(
    ("cause", "message", "expected"),
    [
        (
            requests.ConnectionError(
                "HTTPSConnectionPool(host='files.grouplens.org', port=443): Max retries exceeded "
                "(Caused by NameResolutionError(\"Failed to resolve 'files.grouplens.org'\"))"
            ),
            "Could not connect to https://files.grouplens.org/datasets/movielens/ml-100k.zip "
            "(HTTPSConnectionPool...); check your connection and run fetch again.",
            OFFLINE,
        ),
        (
            requests.ConnectTimeout("HTTPSConnectionPool(host='files.grouplens.org')"),
            "Downloading https://files.grouplens.org/x.zip timed out after 5 s connect / 30 s "
            "read; check your connection and run fetch again.",
            "Could not download MovieLens 100k: its server did not answer in time. Try again, or "
            "use the demo data or upload a file on the Data page.",
        ),
        (
            requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
            "The download of https://files.grouplens.org/x.zip was cut off after 1.0 MB of "
            "5.0 MB; run fetch again.",
            "Could not download MovieLens 100k: the download was cut off. Try again, or use the "
            "demo data or upload a file on the Data page.",
        ),
    ],
    ids=["offline", "timeout", "cut-off"],
)
def test_each_failure_reads_as_words_without_the_exception(cause, message, expected):
    error = _raised(cause, message)
    sentence = dataset_chooser.download_failure("movielens-100k", error)
    assert sentence == expected
    for raw in RAW:
        assert raw not in sentence


def test_an_unsafe_or_unexpected_archive_is_still_one_sentence():
    error = DownloadError(
        "The archive member '../x' would be written outside the destination "
        "folder; the zip is unsafe, so delete it and fetch it again."
    )
    assert dataset_chooser.download_failure("movielens-1m", error) == (
        "Could not download MovieLens 1M: the file that arrived is not the release expected. "
        "Use the demo data or upload a file on the Data page."
    )
