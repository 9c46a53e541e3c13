"""Items files: item metadata (an id column and any of name, url, image, category, tags).

Every value of a text file is read as text, kept verbatim (quotes, pipes, backslashes, newlines,
HTML); a parquet file's columns become plain columns pandas and the app can show. Unknown
columns are kept as extras. An items file may hold at most :func:`.limits.item_cell_limit` rows
x columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from ...dataset import finish_items
from ...errors import DatasetError
from .columns import ITEM_ALIASES, decoded_nbytes, refuse_duplicate_names, resolve_columns
from .delimited import (
    arrow_encoding,
    encoding_note,
    header_names,
    locate_bad_record,
    sniff_delimiter,
    sniff_encoding,
    text_encoding,
)
from .limits import BLOCK_SIZE, MAX_BYTES, check_file, item_cell_limit
from .messages import quote_names, safe_detail, too_big_decoded, too_many_cells
from .parquet import (
    PARQUET_SUFFIXES,
    check_parquet_size,
    damaged_parquet,
    open_parquet,
    text_fields,
)

_ITEM_TEXT = ("item_id", "name", "url", "image_url", "category")
"""Item roles that must hold text."""


def _decode_bytes(array: pa.ChunkedArray) -> tuple[pa.ChunkedArray, bool]:
    """Bytes as text: (array, True) if some bytes were not UTF-8 and were replaced."""
    try:
        return array.cast(pa.string()), False
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = [
            None if value is None else value.decode("utf-8", "replace")
            for value in array.to_pylist()
        ]
        return pa.chunked_array([pa.array(values, pa.string())]), True


def _items_table_columns(
    table: pa.Table, roles: Mapping[str, str], label: str, notes: list[str]
) -> pa.Table:
    """A parquet items table made of plain columns pandas and the app can show.

    Text and bytes become text (bytes that are not UTF-8 shown as U+FFFD, with a note); dates,
    times and decimals become text; numbers and booleans stay; tags may be a list column.
    Nested columns other than tags are left out with a note; a nested id, name, url, image or
    category column is refused.
    """
    role_of = {column: role for role, column in roles.items()}
    arrays, names, dropped = [], [], []
    for position, field_ in enumerate(table.schema):
        array = table.column(position)
        kind = field_.type
        role = role_of.get(field_.name)
        if pa.types.is_dictionary(kind):
            array = array.cast(kind.value_type)
            kind = array.type
        nested = pa.types.is_nested(kind) or pa.types.is_union(kind)
        if (
            role == "tags"
            and (
                pa.types.is_list(kind)
                or pa.types.is_large_list(kind)
                or pa.types.is_fixed_size_list(kind)
            )
            and not (pa.types.is_nested(kind.value_type) or pa.types.is_union(kind.value_type))
        ):
            arrays.append(array)
        elif nested and role in _ITEM_TEXT + ("tags",):
            raise DatasetError(
                f"Column {field_.name!r} of {label} holds {kind} values; it needs text."
            )
        elif nested:
            dropped.append(field_.name)
            continue
        elif (
            pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
            or pa.types.is_binary_view(kind)
        ):
            array, replaced = _decode_bytes(array)
            if replaced:
                notes.append(
                    f"Column {field_.name!r} of {label} is not valid UTF-8; it was read with "
                    "the bad bytes shown as \ufffd."
                )
            arrays.append(array)
        elif (
            pa.types.is_temporal(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_string_view(kind)
        ):
            arrays.append(array.cast(pa.string()))
        else:
            arrays.append(array)
        names.append(field_.name)
    if dropped:
        notes.append(
            f"Column(s) {quote_names(dropped)} of {label} hold nested values; they were left out."
        )
    return pa.table(arrays, names=names)


def _read_items_parquet(
    path: Path, label: str, notes: list[str], max_bytes: int | None, max_cells: int
) -> tuple[pd.DataFrame, dict[str, str]]:
    parquet = open_parquet(path, label)
    schema = parquet.schema_arrow
    refuse_duplicate_names(schema.names, label)
    roles = resolve_columns(
        schema.names, None, source=label, aliases=ITEM_ALIASES, required=("item_id",)
    )
    check_parquet_size(parquet, label, schema.names, max_cells=max_cells, max_bytes=max_bytes)
    parquet = open_parquet(path, label, text_columns=text_fields(parquet, schema.names))
    try:
        table = parquet.read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError, IndexError) as error:
        raise damaged_parquet(label, error, path, "export it again.") from None
    if max_bytes is not None:
        decoded = sum(decoded_nbytes(chunk) for column in table.columns for chunk in column.chunks)
        if decoded > max_bytes:
            raise too_big_decoded(label, max_bytes)
    table = _items_table_columns(table, roles, label, notes)
    return table.to_pandas(), roles


def _read_items_delimited(
    path: Path,
    label: str,
    sep: str | None,
    encoding: str | None,
    notes: list[str],
    max_cells: int,
) -> tuple[pd.DataFrame, dict[str, str]]:
    marked = None if encoding is not None else text_encoding(path, label)
    chosen = encoding or marked or "utf-8"
    for attempt in range(2):
        delimiter = sep or sniff_delimiter(path, chosen)
        names = header_names(path, delimiter, chosen)
        if not names:
            raise DatasetError(f"{label} is empty; it needs a header with an id column.")
        refuse_duplicate_names(names, label)
        resolve_columns(names, None, source=label, aliases=ITEM_ALIASES, required=("item_id",))
        try:
            table = _read_text_table(path, label, names, delimiter, chosen, max_cells)
            break
        except (pa.ArrowException, UnicodeError) as error:
            message = str(error)
            if "UTF8" in message and attempt == 0 and encoding is None and marked is None:
                chosen, line = sniff_encoding(path)
                if chosen != "utf-8":
                    notes.append(encoding_note(label, chosen, line))
                    continue
            raise _items_read_error(error, path, label, names, delimiter, chosen) from None
    refuse_duplicate_names(table.column_names, label)  # Arrow's reading of the header
    roles = resolve_columns(
        table.column_names, None, source=label, aliases=ITEM_ALIASES, required=("item_id",)
    )
    return table.to_pandas(), roles


def _read_text_table(
    path: Path, label: str, names: list[str], delimiter: str, encoding: str, max_cells: int
) -> pa.Table:
    """Every column of a delimited items file as text, at most ``max_cells`` values."""
    batches: list[pa.RecordBatch] = []
    n_rows = 0
    with open(path, "rb") as handle:
        reader = pa_csv.open_csv(
            handle,
            read_options=pa_csv.ReadOptions(
                block_size=BLOCK_SIZE, encoding=arrow_encoding(encoding)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, quote_char='"', newlines_in_values=True
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        schema = reader.schema
        for batch in reader:
            n_rows += batch.num_rows
            if n_rows * max(batch.num_columns, 1) > max_cells:
                raise too_many_cells(label, n_rows, batch.num_columns, max_cells)
            batches.append(batch)
    return pa.Table.from_batches(batches, schema=schema)


def _items_read_error(
    error: BaseException, path: Path, label: str, names: list[str], delimiter: str, encoding: str
) -> DatasetError:
    """The sentence for an items file that cannot be read."""
    message = str(error)
    if "Expected" in message and "columns" in message:
        row, text = locate_bad_record(path, delimiter, encoding, len(names), True)
        where = f"Row {row:,} of {label}" if row else f"A row of {label}"
        shown = f" ({text[:60]!r})" if text else ""
        return DatasetError(
            f"{where} has a different number of fields from the header{shown}; fix "
            "that row or check the quoting."
        )
    if "Empty CSV" in message:
        return DatasetError(f"{label} is empty; it needs a header with an id column.")
    if isinstance(error, UnicodeError):
        return DatasetError(f"{label} is not valid {encoding} text; save it again as UTF-8 csv.")
    return DatasetError(
        f"{label} could not be read ({safe_detail(error, path, label)}); check that it is a "
        "csv, tsv or psv file with a header line."
    )


def read_items(
    path: str | Path,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    notes: list[str] | None = None,
    max_bytes: int | None = MAX_BYTES,
    label: str | None = None,
    max_cells: int | None = None,
) -> pd.DataFrame:
    """An items table with standard column names (``item_id``, ``name``, ``url``, ...).

    Every value of a text file is read as text, kept verbatim (quotes, pipes, backslashes,
    newlines, HTML); unknown columns are kept as extras.

    Parameters
    ----------
    path : path
        A csv / tsv / psv / txt or parquet file.
    label : str, optional
        The name the user knows the file by (default its file name), used in every message.
    max_cells : int, optional
        The most rows x columns read (default :func:`item_cell_limit`).

    Returns
    -------
    pd.DataFrame, one row per item
        ``item_id`` (str) and whichever of ``name``, ``url``, ``image_url``, ``category``,
        ``tags`` the file has, then its other columns.

    Raises
    ------
    DatasetError
        For a missing, empty, header-only, oversized or unreadable file, no id column,
        duplicate column names, or a nested id / name / url / image / category column.
    """
    path = Path(path)
    check_file(path, max_bytes, label)
    label = label or path.name
    notes = notes if notes is not None else []
    max_cells = item_cell_limit() if max_cells is None else max_cells
    if path.suffix.lower() in PARQUET_SUFFIXES:
        frame, roles = _read_items_parquet(path, label, notes, max_bytes, max_cells)
    else:
        frame, roles = _read_items_delimited(path, label, sep, encoding, notes, max_cells)
    if frame.empty:
        raise DatasetError(
            f"{label} has a header but no rows; add a row per item, or leave the items file out."
        )
    frame = frame.rename(columns={column: role for role, column in roles.items()})
    return finish_items(frame)
