"""Cached loaders for the app.

- Datasets and trained models are shared, read-only objects: ``st.cache_resource``, keyed by
  what identifies them (dataset spec + RECSYS_HOME; model id + dataset fingerprint).
- Small serialisable results (store listings, resolved image URLs, summaries) go in
  ``st.cache_data``.
Nothing heavy runs on a rerun that does not need it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import streamlit as st

from .. import config
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..datasets import load_dataset, sources
from ..store import ModelStore
from ..thumbnails import resolve_images


def home() -> str:
    return str(config.home())


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _dataset(spec: str, home: str) -> Dataset:
    return load_dataset(spec, **_file_options(spec))


def _file_options(spec: str) -> dict:
    """Options a stored model recorded for a file dataset (e.g. its items file), so a model
    trained from the command line on ``likes.csv --items items.csv`` browses with its names."""
    from ..datasets import is_path_spec, sources

    if spec in sources() or not is_path_spec(spec):
        return {}
    for entry in ModelStore().list():
        source = (entry.meta or {}).get("dataset_source") or {}
        if source.get("spec") == spec and source.get("options"):
            return dict(source["options"])
    return {}


def dataset(spec: str) -> Dataset:
    """The Dataset for a registry name or an uploaded file's path."""
    return _dataset(spec, home())


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
def _images(fingerprint: str, indices: tuple[int, ...], spec: str, home: str) -> list[str]:
    return resolve_images(_dataset(spec, home), list(indices), timeout=2.0)


def images(data: Dataset, spec: str, indices) -> list[str]:
    """Image sources for the items on screen (resolved concurrently, cached)."""
    return _images(data.fingerprint, tuple(int(i) for i in indices), spec, home())


def age(created: str | None) -> str:
    """'3 min ago' from an ISO timestamp."""
    if not created:
        return ""
    try:
        then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0.0, time.time() - then.astimezone(UTC).timestamp())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"
