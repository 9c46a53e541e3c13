"""The sidebar's download button: a dataset not on disk is fetched with a progress bar, then used.

The GroupLens address is pointed at a local HTTP server serving a small ml-100k zip.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from recsys_core.datasets import get_source, movielens

from ..test_download import ROUTES, server  # noqa: F401  (the local HTTP server fixture)
from .helpers import open_page


def test_download_button_fetches_then_shows_the_dataset(server, fresh_home, monkeypatch):  # noqa: F811
    monkeypatch.setattr(movielens, "BASE_URL", server)
    variant = movielens.VARIANTS["movielens-100k"]
    digest = hashlib.md5(ROUTES["ml-100k.zip"]).hexdigest()
    monkeypatch.setitem(movielens.VARIANTS, "movielens-100k", replace(variant, md5=digest))
    assert not get_source("movielens-100k").is_local()

    at = open_page("start", dataset="movielens-100k")
    assert not at.exception
    assert any("not on this machine" in i.value for i in at.sidebar.info)
    buttons = [b for b in at.sidebar.button if b.label == "Download movielens-100k"]
    assert buttons, "a download button for the missing dataset"
    buttons[0].click().run()
    assert not at.exception, at.exception
    assert get_source("movielens-100k").is_local()
    assert any("5 users" in c.value for c in at.sidebar.caption)
    assert not [b for b in at.sidebar.button if b.label.startswith("Download")]


def test_a_failed_download_says_why_in_one_sentence(server, fresh_home, monkeypatch):  # noqa: F811
    monkeypatch.setattr(movielens, "BASE_URL", server)  # the real md5 does not match the fixture
    at = open_page("start", dataset="movielens-100k")
    [b for b in at.sidebar.button if b.label == "Download movielens-100k"][0].click().run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "checksum" in errors[0].lower()
    assert not get_source("movielens-100k").is_local()
