"""Cached loaders: datasets in ``st.cache_resource`` keyed by spec (Datasets are immutable and
shared read-only), summaries in ``st.cache_data``."""

from __future__ import annotations

import streamlit as st

from .. import config
from ..dataset import Dataset
from ..datasets import load_dataset, sources


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def dataset(spec: str, home: str) -> Dataset:
    """The Dataset for a registry name or an uploaded file's path (``home`` keys the cache)."""
    return load_dataset(spec)


def current_dataset(spec: str) -> Dataset:
    return dataset(spec, str(config.home()))


@st.cache_data(show_spinner=False, ttl=30)
def source_table(home: str) -> list[dict]:
    """Known datasets with whether they are on disk (refreshed every 30 s)."""
    rows = []
    for name, source in sources().items():
        rows.append(
            {
                "dataset": name,
                "on disk": "yes" if source.is_local() else "no",
                "description": source.description,
            }
        )
    return rows
