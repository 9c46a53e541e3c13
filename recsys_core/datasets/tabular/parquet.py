"""Parquet files: their size checked from the metadata alone, then read in batches.

Text columns stored as dictionaries are read as dictionaries, so what they decode to is counted
before it is decoded; a parquet file may not decode to more than ``max_bytes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DatasetError
from ..progress import Progress
from .columns import Columns, resolve_columns
from .limits import BATCH_BYTES
from .messages import safe_detail, too_big_decoded, too_many_cells, too_many_rows
from .values import is_text

PARQUET_SUFFIXES = {".parquet", ".pq"}


def damaged_parquet(
    label: str, error: BaseException, path: Path, fix: str = "export it again or use csv."
) -> DatasetError:
    """``label`` is a damaged parquet file (what the reader said); ``fix``."""
    return DatasetError(
        f"{label} is a damaged parquet file ({safe_detail(error, path, label)}); {fix}"
    )


def open_parquet(path: Path, label: str | None = None, *, text_columns: Sequence[str] = ()):
    """A ``pyarrow.parquet.ParquetFile``; ``text_columns`` are read as dictionaries, so a
    repeated value is decoded once (and what it expands to can be counted before it is)."""
    import pyarrow.parquet as pq

    label = label or path.name
    try:
        parquet = pq.ParquetFile(path)
        if text_columns:
            parquet = pq.ParquetFile(
                path, metadata=parquet.metadata, read_dictionary=list(text_columns)
            )
        parquet.schema_arrow  # noqa: B018 - a damaged schema fails here, not later
        return parquet
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError) as error:
        raise DatasetError(
            f"{label} is not a readable parquet file ({safe_detail(error, path, label)}); "
            "export it again or use csv."
        ) from None


def text_fields(parquet: Any, names: Sequence[str]) -> list[str]:
    """The top-level text / bytes columns among ``names`` that the file stores as dictionaries.

    Those are read as dictionaries, so what they decode to is counted before it is decoded (one
    long value repeated on every row is a few bytes on disk); plain pages are bounded by their
    uncompressed size in the metadata already.
    """

    def is_text(kind: pa.DataType) -> bool:
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
        )

    wanted = set(names)
    text = {f.name for f in parquet.schema_arrow if f.name in wanted and is_text(f.type)}
    meta = parquet.metadata
    found: set[str] = set()
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for leaf in range(row_group.num_columns):
            chunk = row_group.column(leaf)
            if chunk.path_in_schema in text and chunk.has_dictionary_page:
                found.add(chunk.path_in_schema)
    return sorted(found)


def _longest_dictionary_value(path: Path, label: str, columns: Sequence[str]) -> int:
    """Bytes of the longest value in the dictionaries of these columns (0 without any).

    Reads each row group's dictionary page and one row, not the column.
    """
    if not columns:
        return 0
    parquet = open_parquet(path, label, text_columns=columns)
    longest = 0
    try:
        for group in range(parquet.metadata.num_row_groups):
            if parquet.metadata.row_group(group).num_rows <= 0:
                continue
            batch = next(
                parquet.iter_batches(
                    batch_size=1, row_groups=[group], columns=list(columns), use_threads=False
                ),
                None,
            )
            for array in batch.columns if batch is not None else ():
                if pa.types.is_dictionary(array.type) and len(array.dictionary):
                    lengths = pc.binary_length(array.dictionary)
                    longest = max(longest, int(pc.max(lengths).as_py() or 0))
    except (pa.ArrowException, OSError, ValueError, IndexError) as error:
        raise damaged_parquet(label, error, path) from None
    return longest


def check_parquet_size(
    parquet: Any,
    label: str,
    names: Sequence[str],
    *,
    max_rows: int | None = None,
    max_cells: int | None = None,
    max_bytes: int | None = None,
) -> int:
    """Refuse, from the metadata alone, a parquet file that would expand past the limits.

    Returns the number of rows. Rows come from the file and its row groups (the larger count);
    bytes are the columns' uncompressed pages, and at least 8 bytes a value.
    """
    meta = parquet.metadata
    wanted = set(names)
    rows, in_groups, uncompressed = max(meta.num_rows, 0), 0, 0
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        in_groups += max(row_group.num_rows, 0)
        for leaf in range(row_group.num_columns):
            chunk = row_group.column(leaf)
            if chunk.path_in_schema.split(".")[0] in wanted:
                uncompressed += max(int(chunk.total_uncompressed_size), 0)
    rows = max(rows, in_groups)
    if max_rows is not None and rows > max_rows:
        raise too_many_rows(label, max_rows)
    if max_cells is not None and rows * max(len(names), 1) > max_cells:
        raise too_many_cells(label, rows, len(names), max_cells)
    if max_bytes is not None and max(uncompressed, rows * 8 * len(names)) > max_bytes:
        raise too_big_decoded(label, max_bytes)
    return rows


def read_parquet(
    path: Path,
    columns: Mapping[str, str | None] | None,
    progress: Progress | None,
    *,
    label: str | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> tuple[Columns, dict[str, str]]:
    label = label or path.name
    if columns is not None and not isinstance(columns, Mapping):
        raise DatasetError(
            f"{label} is a parquet file with named columns; map roles with "
            "columns={'user': ..., 'item': ...} instead of a list."
        )
    parquet = open_parquet(path, label)
    roles = resolve_columns(parquet.schema_arrow.names, columns, source=label)
    wanted = list(dict.fromkeys(roles.values()))
    total = check_parquet_size(parquet, label, wanted, max_rows=max_rows, max_bytes=max_bytes)
    # Batches small enough that one of them, decoded, stays under BATCH_BYTES even if every row
    # holds the longest value of a dictionary column; the running total stops at max_bytes.
    longest = _longest_dictionary_value(path, label, text_fields(parquet, wanted))
    batch_rows = int(min(1 << 20, max(1, BATCH_BYTES // (longest + 8))))
    # Text ids are read as dictionaries: each distinct id is decoded once per row group, not
    # once per row, and the rows keep small integer codes.
    schema = parquet.schema_arrow
    text_ids = [
        roles[role]
        for role in ("user", "item")
        if is_text(schema.field(roles[role]).type)
        or (
            pa.types.is_dictionary(schema.field(roles[role]).type)
            and is_text(schema.field(roles[role]).type.value_type)
        )
    ]
    if text_ids:
        parquet = open_parquet(path, label, text_columns=text_ids)
    state = Columns(max_rows=max_rows, max_decoded=max_bytes)
    try:
        pool = pa.default_memory_pool()
        batches = parquet.iter_batches(batch_size=batch_rows, columns=wanted, use_threads=True)
        for number, batch in enumerate(batches):
            state.take(batch, roles, label)
            del batch
            if number % 16 == 15:
                pool.release_unused()  # decoded row groups, once converted
            if progress is not None:
                progress(0.9 * state.n_rows / max(total, 1), f"read {state.n_rows:,} rows")
    except DatasetError:
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError) as error:
        raise damaged_parquet(label, error, path) from None
    return state, roles
