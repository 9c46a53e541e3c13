"""Cached loaders for the app.

- Datasets and trained models are shared, read-only objects: ``st.cache_resource``, keyed by
  what identifies them (dataset spec + RECSYS_HOME; model id + dataset fingerprint).
- Small serialisable results (store listings, resolved image URLs, summaries) go in
  ``st.cache_data``.
Nothing heavy runs on a rerun that does not need it.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from .. import config
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..datasets import (
    DatasetNotAvailable,
    load_dataset,
    recorded_files,
    require_shareable,
    shared_files,
    sources,
    split_spec,
)
from ..errors import UserError
from ..store import ModelStore
from ..thumbnails import resolve_image_batch


def home() -> str:
    return str(config.home())


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _dataset(spec: str, home: str, _progress: Any = None) -> Dataset:
    check(spec)  # also here: models and images reach this cache with the spec alone
    return load_dataset(spec, progress=_progress, **_file_options(spec))


@st.cache_data(show_spinner=False, ttl=5)
def _shared(home: str, data_dirs: str) -> tuple[dict[str, dict], list[str]]:
    recorded = _stored_files()
    return recorded, shared_files(recorded)


def _stored_files() -> dict[str, dict]:
    """The file datasets stored models record, read from the store now."""
    return recorded_files(ModelStore().list())


def _recorded() -> dict[str, dict]:
    return _shared(home(), os.environ.get(config.DATA_DIRS_ENV, ""))[0]


def shared_file_specs() -> list[str]:
    """File datasets a link may open (recorded by stored models, or under RECSYS_DATA_DIRS)."""
    return _shared(home(), os.environ.get(config.DATA_DIRS_ENV, ""))[1]


def check(spec: str) -> str:
    """``spec`` if the app may open it from a link, else :class:`DatasetNotAvailable` (one
    sentence that names nothing of it). A refusal is checked again against the store itself
    (not the listing cached for 5 s), so a model trained a moment ago opens its file at once."""
    try:
        return require_shareable(spec, recorded=_recorded())
    except DatasetNotAvailable:
        return require_shareable(spec, recorded=_stored_files())


def _file_options(spec: str) -> dict:
    """Options a stored model recorded for a file dataset (e.g. its items file), so a model
    trained from the command line on ``likes.csv --items items.csv`` browses with its names
    (also for ``likes.csv@kcore=U,I``). Read from the store itself: it runs once per load."""
    try:
        base, _ = split_spec(spec)
    except UserError:
        return {}
    if base in sources() or base.startswith("upload:"):
        return {}
    return dict(_stored_files().get(base) or {})


def dataset(spec: str, progress: Any = None) -> Dataset:
    """The Dataset for a spec from the URL or the sidebar: checked with :func:`check` before
    anything is read (a refusal raises DatasetNotAvailable), then loaded once per spec.
    ``progress(fraction, message)`` hears about a load that is not cached yet."""
    return _dataset(check(spec), home(), _progress=progress)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _model(model_id: str, fingerprint: str, spec: str, home: str) -> Recommender:
    return ModelStore().load(model_id, _dataset(spec, home))


def model(model_id: str, data: Dataset, spec: str) -> Recommender:
    """A stored model, loaded once per (model id, dataset) and shared across sessions."""
    return _model(model_id, data.fingerprint, spec, home())


@st.cache_data(show_spinner=False, ttl=5)
def _model_entries(fingerprint: str | None, home: str) -> list[dict]:
    entries = ModelStore().list(fingerprint)
    return [entry.to_dict() for entry in entries]


def model_entries(fingerprint: str | None = None) -> list[dict]:
    """Stored models (dicts from ``ModelEntry.to_dict``), newest first; refreshed every 5 s."""
    return _model_entries(fingerprint, home())


def clear_model_listing() -> None:
    _model_entries.clear()


@st.cache_data(show_spinner=False, ttl=30)
def _source_rows(home: str) -> list[dict]:
    rows = []
    for name, source in sources().items():
        rows.append(
            {
                "name": name,
                "local": bool(source.is_local()),
                "remote": source.fetch is not None,
                "synthetic": source.synthetic,
                "description": source.description,
                "size": source.size_hint,
            }
        )
    return rows


def source_rows() -> list[dict]:
    """Known datasets with whether they are on disk (refreshed every 30 s)."""
    return _source_rows(home())


def clear_sources() -> None:
    _source_rows.clear()


@st.cache_data(show_spinner=False, ttl=3600, max_entries=2000)
def _images(
    fingerprint: str, indices: tuple[int, ...], spec: str, home: str
) -> tuple[list[str], bool]:
    batch = resolve_image_batch(_dataset(spec, home), list(indices), timeout=2.0)
    return batch.sources, bool(batch.pending)


def images(data: Dataset, spec: str, indices) -> list[str]:
    """Image sources for the items on screen (resolved concurrently, cached).

    A complete answer is kept for an hour. One with a placeholder standing in for an image the
    service failed to give is not kept here at all: ``thumbnails``' own disk cache remembers the
    failure for a few minutes (so reruns do not wait on a dead service) and then asks again, so
    the image shows a few minutes after the service recovers, not an hour.
    """
    key = (data.fingerprint, tuple(int(i) for i in indices), spec, home())
    sources, pending = _images(*key)
    if pending:
        _images.clear(*key)
    return sources


def parse_created(created: object) -> datetime | None:
    """The datetime of a stored ISO timestamp (``meta.json``'s ``created``), None if unreadable."""
    if not created or not isinstance(created, str):
        return None
    try:
        return datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(created: str | None) -> str:
    """'3 min ago' from an ISO timestamp."""
    then = parse_created(created)
    if then is None:
        return ""
    seconds = max(0.0, time.time() - then.astimezone(UTC).timestamp())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"
