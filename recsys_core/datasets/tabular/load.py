"""Interactions from a csv / tsv / psv / parquet file, plus an optional items file.

This is what ``load_dataset("path/to/likes.csv")`` and the app's upload use. Columns are found by
name (``user``/``user_id``/``uid``/``userId``, ``item``/``item_id``/``mid``/``movieId``/``itemId``,
``weight``/``count``/``plays``, ``rating``, ``timestamp``/``time``/``ts``) or mapped explicitly
with ``columns={"user": "customer", "item": "sku"}``; a header-less file takes a list of names,
``columns=["user", "item", "rating", "timestamp"]``.

Files are read with pyarrow in batches, so a file of millions of rows costs little more than the
matrix it becomes; every bad value is reported with its row (counted from the first data row, the
header not counted) and column. Every file either loads or raises one :class:`DatasetError`
sentence naming the file (its ``label``: the name the user knows it by, never a server path).
A file is parsed once: later loads of the same content read the arrays kept by
:mod:`recsys_core.datasets.parsed`.
"""

from __future__ import annotations

import csv
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ...dataset import Dataset
from ...errors import DatasetError
from .. import parsed
from ..progress import Progress
from .build import build_from_columns, factorize_chunks
from .columns import Columns
from .delimited import DELIMITERS, read_delimited
from .items import read_items
from .limits import MAX_BYTES, check_file, item_cell_limit, row_limit
from .messages import quote_names, short_value
from .parquet import PARQUET_SUFFIXES, read_parquet

logger = logging.getLogger(__name__)

OPTIONS = {"min_rating", "name", "sep", "quotechar", "drop_duplicates", "encoding"}
"""The ``**options`` :func:`load_file` takes."""


def load_file(  # long: 63 of its lines are the docstring, the public contract of file loading
    path: str | Path,
    *,
    items_path: str | Path | None = None,
    columns: Mapping[str, str | None] | Sequence[str] | None = None,
    progress: Progress | None = None,
    max_bytes: int | None = MAX_BYTES,
    max_rows: int | None = None,
    label: str | None = None,
    items_label: str | None = None,
    **options: Any,
) -> Dataset:
    """Load interactions from a csv / tsv / psv / parquet file.

    Parameters
    ----------
    path : path
        The interactions: one row per (user, item) event, with optional weight, rating and
        timestamp columns. ``.csv`` is comma-separated, ``.tsv`` tab-, ``.psv`` pipe-separated
        (double quotes for quoting); other suffixes are sniffed from the header line. Text is
        UTF-8 (UTF-16 / UTF-32 with a byte-order mark are decoded too); any line endings.
    items_path : path, optional
        Item metadata: an id column (``item_id``/``id``/``mid``...) and any of ``name``
        (``title``, ``modelname``), ``url``, ``image_url``, ``category``, ``tags`` (separated by
        ``|``, ``,`` or ``;``); other columns are kept as extras.
    columns : mapping or list, optional
        ``{"user": "customer", "item": "sku", "weight": None}`` maps roles to columns (None
        ignores a column that would be detected); a list names the columns of a header-less file.
    progress : callable, optional
        ``progress(fraction, message)``.
    max_bytes : int or None
        Refuse files larger than this, and parquet files that decode to more (None: no limit).
    max_rows : int, optional
        Refuse interactions files with more rows (default :func:`row_limit`, which the
        operator sets with ``RECSYS_MAX_ROWS``); items files are bounded by
        :func:`item_cell_limit` rows x columns.
    label, items_label : str, optional
        The names the user knows the files by (default their file names; for an upload, the
        names it was uploaded with), used in every message instead of a server path.
    **options
        ``min_rating`` (with a rating column), ``name`` (dataset name, default the file name),
        ``sep`` (delimiter), ``quotechar`` (default ``"``; ``\\`` for Rec-a-Sketch files),
        ``drop_duplicates`` (default True: identical rows count once),
        ``encoding`` (default: UTF-8, falling back to cp1252/latin-1 with a note in
        ``extras["warnings"]``).

    Returns
    -------
    Dataset
        ``extras`` holds ``source_path``, ``columns`` (role -> column used), ``n_rows``,
        ``duplicates_dropped`` and ``warnings``. The file is parsed once: later loads of the
        same content with the same options read the arrays kept under
        ``RECSYS_HOME/cache/parsed`` (:mod:`recsys_core.datasets.parsed`; its notes are warned
        again), unless ``RECSYS_PARSE_CACHE=0``.

    Raises
    ------
    DatasetError
        One sentence naming the file (and the row and column where that helps) for a missing,
        empty, header-only, oversized or corrupt file, a missing user or item column (naming
        the columns found and wanted), duplicate column names, a row with the wrong number of
        fields, a bad value, or a time relative to the clock (``now``, ``12:00``). Nothing else
        escapes: an unforeseen reader error becomes such a sentence too (logged with its
        traceback at debug level).
    """
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise DatasetError(
            f"Unknown option(s) {quote_names(unknown)} for a file dataset; use "
            f"{quote_names(sorted(OPTIONS))}."
        )
    path = Path(path).expanduser()
    check_file(path, max_bytes, label)  # without a label, a missing file is named by its path
    label = label or path.name
    items_file = None if items_path is None else Path(items_path).expanduser()
    max_rows = row_limit() if max_rows is None else max_rows

    def parse(report: Progress | None) -> tuple[Dataset, pd.DataFrame | None]:
        kept: dict[str, Any] = {}
        dataset = _parse_file(
            path,
            items_path=items_file,
            columns=columns,
            progress=report,
            max_bytes=max_bytes,
            max_rows=max_rows,
            label=label,
            items_label=items_label,
            options=options,
            kept=kept,
        )
        return dataset, kept.get("items")

    if not parsed.enabled():
        return parse(progress)[0]
    return parsed.load_or_parse(
        path,
        items_path=items_file,
        key_options=_key_options(path, items_file, columns, max_bytes, options),
        max_rows=max_rows,
        label=label,
        items_label=(items_label or items_file.name) if items_file is not None else None,
        name=options.get("name") or label,
        progress=progress,
        parse=parse,
    )


def _reading(path: Path | None) -> str | None:
    """How a file's suffix says to read it (part of the parsed-file cache's key)."""
    if path is None:
        return None
    suffix = path.suffix.lower()
    return "parquet" if suffix in PARQUET_SUFFIXES else DELIMITERS.get(suffix, "sniffed")


def _key_options(
    path: Path, items_path: Path | None, columns: Any, max_bytes: int | None, options: dict
) -> dict[str, Any]:
    """What, besides the files' bytes, changes what a parse gives."""
    if isinstance(columns, Mapping):
        columns = sorted((str(role), None if c is None else str(c)) for role, c in columns.items())
    elif columns is not None:
        columns = [str(c) for c in columns]
    min_rating = options.get("min_rating")
    parquet = any(_reading(p) == "parquet" for p in (path, items_path))
    return {
        "reading": [_reading(path), _reading(items_path)],
        "columns": columns,
        "sep": options.get("sep"),
        "quotechar": options.get("quotechar"),
        "encoding": options.get("encoding"),
        "min_rating": None if min_rating is None else repr(min_rating),
        "drop_duplicates": bool(options.get("drop_duplicates", True)),
        "max_bytes": max_bytes if parquet else None,  # what a parquet file may decode to
        "item_cells": item_cell_limit() if items_path is not None else None,
    }


def _parse_file(
    path: Path,
    *,
    items_path: Path | None,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    progress: Progress | None,
    max_bytes: int | None,
    max_rows: int,
    label: str,
    items_label: str | None,
    options: dict[str, Any],
    kept: dict[str, Any],
) -> Dataset:
    """:func:`_load_file`, with every failure one DatasetError sentence."""
    try:
        return _load_file(
            path,
            items_path=items_path,
            columns=columns,
            progress=progress,
            max_bytes=max_bytes,
            max_rows=max_rows,
            label=label,
            items_label=items_label,
            options=options,
            kept=kept,
        )
    except DatasetError:
        raise
    except MemoryError:
        raise DatasetError(
            f"{label} is too large to load on this machine; use a sample of it."
        ) from None
    except (
        ArithmeticError,
        LookupError,
        TypeError,
        ValueError,
        UnicodeError,
        OSError,
        csv.Error,
        pa.ArrowException,
    ) as error:
        # a reader failed in a way not foreseen above: one sentence for the user, the traceback
        # for whoever runs the server (the tests fail on this record)
        logger.debug("unexpected error reading %s", label, exc_info=True)
        logger.error("unexpected %s reading %s", type(error).__name__, label)
        raise DatasetError(
            f"{label} could not be read ({type(error).__name__}); check that it is a csv, tsv or "
            "parquet file of user and item columns."
        ) from None


def _load_file(
    path: Path,
    *,
    items_path: Path | None,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    progress: Progress | None,
    max_bytes: int | None,
    max_rows: int,
    label: str,
    items_label: str | None,
    options: dict[str, Any],
    kept: dict[str, Any] | None = None,
) -> Dataset:
    """Parse a file (no cache): read its role columns, then its items file, then build."""
    notes: list[str] = []
    state, roles = _read_interactions(
        path,
        columns,
        progress,
        notes,
        options,
        label=label,
        max_rows=max_rows,
        max_bytes=max_bytes,
    )
    items = None
    if items_path is not None:
        items_label = items_label or items_path.name
        items = read_items(
            items_path,
            sep=None,
            encoding=options.get("encoding"),
            notes=notes,
            max_bytes=max_bytes,
            label=items_label,
        )
        if kept is not None:  # as read: the parsed-file cache keeps it
            kept["items"] = items
    columns_read = _hand_over(state, progress)
    if progress is not None:
        progress(0.94, "building the matrix")
    dataset = build_from_columns(
        options.get("name") or label,
        columns_read,
        items=items,
        min_rating=options.get("min_rating"),
        drop_duplicates=bool(options.get("drop_duplicates", True)),
        description=f"Interactions from {label}",
        extras={"source_path": str(path), "columns": dict(roles), "n_rows": state.n_rows},
    )
    _check_built(dataset, roles, options.get("min_rating"), label, items, items_label, notes)
    dropped = dataset.extras.get("duplicates_dropped", 0)
    if dropped:
        notes.append(f"{dropped:,} duplicate rows of {label} were counted once.")
    dataset.extras["warnings"] = notes
    for note in notes:  # the CLI prints these as "warning: ..." lines, the app as notices
        warnings.warn(note, UserWarning, stacklevel=3)
    if progress is not None:
        progress(1.0, f"{dataset.n_interactions:,} interactions")
    return dataset


def _read_interactions(
    path: Path,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    progress: Progress | None,
    notes: list[str],
    options: dict[str, Any],
    *,
    label: str,
    max_rows: int,
    max_bytes: int | None,
) -> tuple[Columns, dict[str, str]]:
    """The role columns of an interactions file, read by its kind; refused without a row."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        state, roles = read_parquet(
            path,
            columns,
            progress,  # type: ignore[arg-type]
            label=label,
            max_rows=max_rows,
            max_bytes=max_bytes,
        )
    else:
        state, roles = read_delimited(
            path,
            columns,
            options.get("sep"),
            options.get("encoding"),
            progress,
            notes,
            options.get("quotechar"),
            label=label,
            max_rows=max_rows,
        )
    if state.n_rows == 0:
        raise DatasetError(
            f"{label} has a header but no rows; add at least one row of "
            f"{roles['user']} and {roles['item']}."
        )
    return state, roles


def _hand_over(state: Columns, progress: Progress | None) -> dict[str, Any]:
    """The columns read, emptied out of ``state`` into a dict that build_from_columns empties.

    Ids are factorized now so the id strings go before the matrix is built, and each column is
    freed once it has been used.
    """
    pool = pa.default_memory_pool()
    pool.release_unused()  # the reader's buffers
    columns_read: dict[str, Any] = {}
    state.dictionaries.clear()
    for step, role in enumerate(("user", "item")):
        if progress is not None:
            progress(0.9 + 0.02 * step, f"indexing the {role}s")
        columns_read[role] = factorize_chunks(state.ids.pop(role))
        pool.release_unused()  # hand the freed id strings back to the OS
    for role in list(state.numbers):
        chunks = state.numbers.pop(role)
        columns_read[role] = np.concatenate(chunks)
        del chunks
    return columns_read


def _check_built(
    dataset: Dataset,
    roles: Mapping[str, str],
    min_rating: float | None,
    label: str,
    items: pd.DataFrame | None,
    items_label: str | None,
    notes: list[str],
) -> None:
    """Refuse a dataset with no interactions, or whose items file matches none of its items;
    note the items the items file leaves out."""
    if dataset.n_interactions == 0:
        if "rating" in roles and min_rating is not None:
            why = f"every rating is below the minimum of {min_rating:g}"
            fix = "use a lower minimum rating"
        else:
            why, fix = "every weight is 0", "give some rows a weight above 0"
        raise DatasetError(f"{label} has no interactions, as {why}; {fix}.")
    if items is None:
        return
    known = set(items["item_id"])
    matched = int(sum(item_id in known for item_id in dataset.item_ids.tolist()))
    if matched == 0:
        raise DatasetError(
            f"None of the {dataset.n_items:,} item ids in {label} (e.g. "
            f"{short_value(dataset.item_ids[0])}) is in the id column of {items_label} (e.g. "
            f"{short_value(items['item_id'].iloc[0])}); check that both files use the same ids."
        )
    if matched < dataset.n_items:
        notes.append(
            f"{dataset.n_items - matched:,} of {dataset.n_items:,} items have no row in "
            f"{items_label}; they are shown by id."
        )
