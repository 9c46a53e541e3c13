"""Interactions from a csv / tsv / psv / parquet file, plus an optional items file.

This is what ``load_dataset("path/to/likes.csv")`` and the app's upload use. Columns are found by
name (``user``/``user_id``/``uid``/``userId``, ``item``/``item_id``/``mid``/``movieId``/``itemId``,
``weight``/``count``/``plays``, ``rating``, ``timestamp``/``time``/``ts``) or mapped explicitly
with ``columns={"user": "customer", "item": "sku"}``; a header-less file takes a list of names,
``columns=["user", "item", "rating", "timestamp"]``.

Files are read with pyarrow in batches, so a file of millions of rows costs little more than the
matrix it becomes; every bad value is reported with its row (counted from the first data row, the
header not counted) and column. :func:`build_dataset` is the memory-lean twin of
:meth:`Dataset.from_frame` (same result, tested) that the other file-based sources share.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import scipy.sparse as sp

from ..dataset import Dataset, normalise_items
from ..errors import DatasetError

Progress = Callable[[float, str], None]

MAX_BYTES = 4 * 1024**3
"""Default size limit for one file (the app passes a smaller one for uploads)."""

BLOCK_SIZE = 1 << 20

ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id", "uid", "userId"),
    "item": ("item", "item_id", "mid", "movieId", "itemId"),
    "weight": ("weight", "count", "plays", "play_count"),
    "rating": ("rating",),
    "timestamp": ("timestamp", "time", "ts", "datetime"),
}
"""Column names recognised for each role (compared without case, ``_``, ``-`` or spaces)."""

ITEM_ALIASES: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id", "id", "item", "mid", "movieId", "itemId"),
    "name": ("name", "title", "modelname"),
    "url": ("url", "link"),
    "image_url": ("image_url", "image", "thumbnail", "thumbnail_url"),
    "category": ("category",),
    "tags": ("tags", "tag"),
}

DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
_OPTIONS = {"min_rating", "name", "sep", "quotechar", "drop_duplicates", "encoding"}
RECASKETCH_HEADERS = ({"modelname", "mid", "uid"}, {"mid", "type", "value"})
"""Rec-a-Sketch files: pipe-separated with ``\\`` as the quote character."""


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _names(values: Sequence[str], limit: int = 8) -> str:
    shown = [repr(str(v)) for v in list(values)[:limit]]
    more = len(values) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _alternatives(values: Sequence[str]) -> str:
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


# ---------------------------------------------------------------------- text encodings
def _replace_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != "recsys_utf_8_replace":
        return None
    utf8 = codecs.lookup("utf-8")

    class Decoder(codecs.BufferedIncrementalDecoder):
        def _buffer_decode(self, data, errors, final):  # noqa: ANN001
            return codecs.utf_8_decode(data, "replace", final)

    return codecs.CodecInfo(
        name="recsys-utf-8-replace",
        encode=utf8.encode,
        decode=lambda data, errors="replace": codecs.utf_8_decode(data, "replace", True),
        incrementalencoder=utf8.incrementalencoder,
        incrementaldecoder=Decoder,
    )


codecs.register(_replace_codec)
UTF8_REPLACE = "recsys-utf-8-replace"


def sniff_encoding(path: Path) -> tuple[str, int | None]:
    """Pick a text encoding for a file: ``("utf-8", None)`` when it is valid UTF-8.

    Otherwise returns the encoding to read it with and the line of the first byte that is not
    UTF-8: ``cp1252`` (or ``latin-1``) when the file has no UTF-8 multi-byte characters at all (a
    legacy export), else UTF-8 with the bad bytes replaced by U+FFFD (a mostly-UTF-8 file).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    first_bad: int | None = None
    lines = 1
    has_multibyte = False
    cp1252_ok = True
    cp1252 = codecs.getincrementaldecoder("cp1252")("strict")
    with open(path, "rb") as handle:
        while True:
            block = handle.read(1 << 20)
            final = not block
            if first_bad is None:
                try:
                    text = decoder.decode(block, final)
                    lines += text.count("\n")
                    has_multibyte = has_multibyte or any(ord(c) > 127 for c in text)
                except UnicodeDecodeError as error:
                    # pending bytes from the previous block were not counted yet: close enough
                    first_bad = lines + block[: max(error.start, 0)].count(b"\n")
                    text = codecs.decode(block, "utf-8", "replace")
                    has_multibyte = has_multibyte or any(127 < ord(c) != 0xFFFD for c in text)
            else:
                try:
                    text = codecs.decode(block, "utf-8", "replace")
                    has_multibyte = has_multibyte or any(
                        127 < ord(c) != 0xFFFD for c in text
                    )
                except UnicodeDecodeError:  # pragma: no cover - "replace" never raises
                    pass
            if cp1252_ok:
                try:
                    cp1252.decode(block, final)
                except UnicodeDecodeError:
                    cp1252_ok = False
            if final:
                break
    if first_bad is None:
        return "utf-8", None
    if has_multibyte:
        return UTF8_REPLACE, first_bad
    return ("cp1252" if cp1252_ok else "latin-1"), first_bad


def _encoding_note(path: Path, encoding: str, line: int | None) -> str:
    how = "with the bad bytes shown as \ufffd" if encoding == UTF8_REPLACE else f"as {encoding}"
    where = f" (first bad byte on line {line})" if line else ""
    return f"{path.name} is not valid UTF-8{where}; it was read {how}."


# ---------------------------------------------------------------------- column detection
def resolve_columns(
    found: Sequence[str],
    columns: Mapping[str, str | None] | None,
    *,
    source: str,
    aliases: Mapping[str, Sequence[str]] = ROLE_ALIASES,
    required: Sequence[str] = ("user", "item"),
) -> dict[str, str]:
    """Map roles to the file's column names: explicit entries first, then known names.

    Returns ``{role: column}`` for the roles present. Raises ``DatasetError`` naming the
    columns found and the ones wanted when a required role has no column.
    """
    found = [str(c) for c in found]
    columns = dict(columns or {})
    unknown = [role for role in columns if role not in aliases]
    if unknown:
        raise DatasetError(
            f"Unknown column role(s) {_names(unknown)} for {source}; map any of "
            f"{_names(list(aliases))} to a column name."
        )
    resolved: dict[str, str] = {}
    for role, column in columns.items():
        if column is None:
            continue
        if str(column) not in found:
            raise DatasetError(
                f"{source} has no column {str(column)!r} (mapped to {role}); its columns are "
                f"{_names(found)}."
            )
        resolved[role] = str(column)
    by_norm: dict[str, str] = {}
    for column in found:
        by_norm.setdefault(_norm(column), column)
    used = set(resolved.values())
    for role, names in aliases.items():
        if role in columns:
            continue
        for alias in names:
            column = by_norm.get(_norm(alias))
            if column is not None and column not in used:
                resolved[role] = column
                used.add(column)
                break
    missing = [role for role in required if role not in resolved]
    if missing:
        wanted = " and ".join(
            f"{'an' if role in ('item', 'item_id') else 'a'} {role} column "
            f"({_alternatives(list(aliases[role]))})"
            for role in missing
        )
        example = ", ".join(f"{role!r}: ..." for role in missing)
        raise DatasetError(
            f"{source} has the column(s) {_names(found)} but needs {wanted}; rename them in the "
            f"header or map them with columns={{{example}}}."
        )
    return resolved


# ---------------------------------------------------------------------- value conversion
@dataclass
class _Columns:
    """Role columns collected batch by batch."""

    ids: dict[str, list[pa.Array]] = field(default_factory=dict)
    numbers: dict[str, list[np.ndarray]] = field(default_factory=dict)
    n_rows: int = 0
    time_kind: str | None = None


def _first_true(mask: pa.Array | pa.ChunkedArray) -> int:
    values = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.flatnonzero(values)[0])


def _bad_value(source: str, row: int, column: str, value: Any, wanted: str) -> DatasetError:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DatasetError(
            f"Row {row:,} of {source} has no value in column {column!r}; fill it in or remove "
            "that row."
        )
    if isinstance(value, (float, int, np.floating, np.integer)):
        shown = f"{float(value):g}"
    else:
        text = str(value)
        shown = repr(text if len(text) <= 40 else text[:37] + "...")
    return DatasetError(
        f"Row {row:,} of {source} has {shown} in column {column!r}, which is not {wanted}; fix "
        "or remove that row."
    )


def _ids(array: pa.Array, source: str, column: str, offset: int) -> pa.Array:
    """Ids as trimmed, non-empty UTF-8 strings (integral floats lose their ``.0``)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_floating(kind):
        values = array.to_numpy(zero_copy_only=False)
        finite = np.isfinite(values)
        if finite.all() and np.all(values == np.round(values)):
            array = pa.array(values.astype(np.int64))
    if array.null_count:
        row = offset + _first_true(array.is_null()) + 1
        raise _bad_value(source, row, column, None, "an id")
    if pa.types.is_integer(array.type):
        return array  # factorize_ids turns whole numbers into text once per distinct id
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        try:
            array = array.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise DatasetError(
                f"Column {column!r} of {source} holds {array.type} values, which cannot be used "
                "as ids; use text or whole numbers."
            ) from error
    array = pc.ascii_trim_whitespace(array)
    empty = pc.equal(pc.binary_length(array), 0)
    if pc.any(empty).as_py():
        row = offset + _first_true(empty) + 1
        raise _bad_value(source, row, column, "", "an id")
    return array


def _locate_bad_number(array: pa.Array, source: str, column: str, offset: int, wanted: str):
    values = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = ~np.isfinite(parsed.to_numpy(np.float64))
    row = int(np.flatnonzero(bad)[0]) if bad.any() else 0
    return _bad_value(source, offset + row + 1, column, values.iloc[row], wanted)


def _numbers(
    array: pa.Array, source: str, column: str, offset: int, *, non_negative: bool
) -> np.ndarray:
    """A float32 column; every value finite (and >= 0 for weights)."""
    wanted = "a number"
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        try:
            array = pc.utf8_trim_whitespace(array).cast(pa.float64())
        except pa.ArrowInvalid:
            raise _locate_bad_number(array, source, column, offset, wanted) from None
    elif not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        if pa.types.is_boolean(array.type):
            array = array.cast(pa.int8())
        else:
            raise DatasetError(
                f"Column {column!r} of {source} holds {array.type} values; it needs numbers."
            )
    if array.null_count:
        row = offset + _first_true(array.is_null()) + 1
        raise _bad_value(source, row, column, None, wanted)
    values = array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if non_negative:
        bad |= values < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        reason = "a number >= 0 (implicit-feedback weights cannot be negative)"
        if not non_negative or np.isnan(values[row]) or np.isinf(values[row]):
            reason = "a finite number"
        raise _bad_value(source, offset + row + 1, column, values[row], reason)
    return values.astype(np.float32)


def _seconds(array: pa.Array, source: str, column: str, offset: int, state: _Columns):
    """Seconds since the epoch (float64) from numbers, dates, timestamps or date strings."""
    kind = array.type
    if array.null_count:
        row = offset + _first_true(array.is_null()) + 1
        raise _bad_value(source, row, column, None, "a time")
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values, found = array.to_numpy(zero_copy_only=False).astype(np.float64), "number"
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if pa.types.is_date(kind):
            array = array.cast(pa.timestamp("s"))
        micros = array.cast(pa.timestamp("us", tz=array.type.tz)).cast(pa.int64())
        values, found = micros.to_numpy(zero_copy_only=False) / 1e6, "date"
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = pc.utf8_trim_whitespace(array)
        try:
            values, found = array.cast(pa.float64()).to_numpy(zero_copy_only=False), "number"
        except pa.ArrowInvalid:
            text = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
            parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
            if parsed.isna().any():  # other formats: parse those rows one by one
                retry = parsed.isna()
                parsed[retry] = pd.to_datetime(
                    text[retry], errors="coerce", utc=True, format="mixed"
                )
            bad = parsed.isna().to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise _bad_value(
                    source, offset + row + 1, column, text.iloc[row], "a number or a date"
                ) from None
            epoch = pd.Timestamp(0, tz="UTC")
            values = ((parsed - epoch) / pd.Timedelta(seconds=1)).to_numpy(np.float64)
            found = "date"
    else:
        raise DatasetError(
            f"Column {column!r} of {source} holds {kind} values; it needs numbers or dates."
        )
    if state.time_kind is None:
        state.time_kind = found
    elif state.time_kind != found:
        raise DatasetError(
            f"Column {column!r} of {source} mixes numbers and dates (from row {offset + 1:,}); "
            "use one format for every row."
        )
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad_value(source, offset + row + 1, column, values[row], "a finite time")
    return values


def _take_batch(
    batch: pa.RecordBatch, roles: Mapping[str, str], state: _Columns, source: str
) -> None:
    offset = state.n_rows
    for role, column in roles.items():
        array = batch.column(batch.schema.get_field_index(column))
        if role in ("user", "item"):
            state.ids.setdefault(role, []).append(_ids(array, source, column, offset))
        elif role == "timestamp":
            state.numbers.setdefault(role, []).append(
                _seconds(array, source, column, offset, state)
            )
        else:
            state.numbers.setdefault(role, []).append(
                _numbers(array, source, column, offset, non_negative=role == "weight")
            )
    state.n_rows += batch.num_rows


# ---------------------------------------------------------------------- delimited files
def _sniff_delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in ("\t", "|", ",", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _header_text(path: Path, encoding: str) -> str:
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    codec = "utf-8" if encoding in ("utf-8", "utf8", UTF8_REPLACE) else encoding
    return head.decode(codec, errors="replace").lstrip("\ufeff")


def _header_names(path: Path, sep: str, encoding: str) -> list[str]:
    text = _header_text(path, encoding)
    for record in csv.reader(io.StringIO(text), delimiter=sep, quotechar='"'):
        if any(cell.strip() for cell in record):
            return record
    return []


def _check_file(path: Path, max_bytes: int | None) -> None:
    if not path.exists():
        raise DatasetError(f"There is no file at {path}; check the path.")
    if path.is_dir():
        raise DatasetError(f"{path} is a folder; give the path of a csv, tsv or parquet file.")
    size = path.stat().st_size
    if size == 0:
        raise DatasetError(
            f"{path.name} is empty; it needs a header line and at least one row of user and item."
        )
    if max_bytes is not None and size > max_bytes:
        raise DatasetError(
            f"{path.name} is {size / 1e9:,.2f} GB, above the {max_bytes / 1e9:,.2f} GB limit for "
            "one file; convert it to parquet, split it, or raise max_bytes."
        )


def _locate_bad_record(
    path: Path, sep: str, encoding: str, expected: int, header: bool, quote: str = '"'
):
    """(row, text) of the first record whose field count differs from ``expected``."""
    codec = "utf-8" if encoding == UTF8_REPLACE else encoding
    with open(path, encoding=codec, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep, quotechar=quote)
        for number, record in enumerate(reader):
            if header and number == 0:
                continue
            if record and len(record) != expected:
                return number + (0 if header else 1), sep.join(record)
    return None, None


def _read_delimited(
    path: Path,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    sep: str | None,
    encoding: str | None,
    progress: Progress | None,
    notes: list[str],
    quotechar: str | None = None,
) -> tuple[_Columns, dict[str, str]]:
    """Read the role columns batch by batch.

    Numbers are parsed by Arrow directly (fast, compact); if a value does not parse, the file is
    read again with those columns as text, which finds the bad row or parses dates. A file that
    is not UTF-8 is read again in the encoding :func:`sniff_encoding` picks.
    """
    source = path.name
    chosen = encoding or "utf-8"
    typed = True  # weight / rating / timestamp parsed as numbers by Arrow
    retried_encoding = encoding is not None
    while True:
        if sep is None:
            first = _header_text(path, chosen).splitlines()
            delimiter = DELIMITERS.get(path.suffix.lower()) or _sniff_delimiter(
                first[0] if first else ""
            )
        else:
            delimiter = sep
        header = not (isinstance(columns, Sequence) and not isinstance(columns, str))
        if header:
            names = _header_names(path, delimiter, chosen)
            if not names:
                raise DatasetError(
                    f"{source} is empty; it needs a header line and at least one row of user and "
                    "item."
                )
            roles = resolve_columns(names, columns, source=source)  # type: ignore[arg-type]
        else:
            names = [str(c) for c in columns]  # type: ignore[union-attr]
            roles = resolve_columns(names, None, source=source)
        quote = quotechar
        if quote is None:
            recasketch = delimiter == "|" and any(
                wanted <= {n.strip() for n in names} for wanted in RECASKETCH_HEADERS
            )
            quote = "\\" if recasketch else '"'
        bad_rows: list[Any] = []

        def on_invalid(row: Any, bad_rows: list = bad_rows) -> str:
            bad_rows.append(row)
            return "error"

        types = {
            column: pa.string() if role in ("user", "item") or not typed else pa.float64()
            for role, column in roles.items()
        }
        read_options = pa_csv.ReadOptions(
            block_size=BLOCK_SIZE,
            encoding=chosen if chosen not in ("utf-8", "utf8") else "utf8",
            column_names=None if header else names,
        )
        parse_options = pa_csv.ParseOptions(
            delimiter=delimiter,
            quote_char=quote,
            newlines_in_values=True,
            invalid_row_handler=on_invalid,
        )
        convert_options = pa_csv.ConvertOptions(
            include_columns=list(dict.fromkeys(roles.values())),
            column_types=types,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        state = _Columns()
        size = max(path.stat().st_size, 1)
        try:
            with open(path, "rb") as handle:
                reader = pa_csv.open_csv(
                    handle,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
                for batch in reader:
                    _take_batch(batch, roles, state, source)
                    if progress is not None:
                        done = min(handle.tell() / size, 1.0)
                        progress(0.9 * done, f"read {state.n_rows:,} rows")
        except pa.ArrowInvalid as error:
            state = _Columns()  # let the partial read go before any retry
            message = str(error)
            if "UTF8" in message and not retried_encoding:
                retried_encoding = True
                chosen, line = sniff_encoding(path)
                if chosen != "utf-8":
                    notes.append(_encoding_note(path, chosen, line))
                    continue
            if "conversion error" in message and typed:
                typed = False
                continue
            if bad_rows or "Expected" in message and "columns" in message:
                expected = bad_rows[0].expected_columns if bad_rows else len(names)
                actual = bad_rows[0].actual_columns if bad_rows else None
                row, text = _locate_bad_record(path, delimiter, chosen, expected, header, quote)
                if text is None and bad_rows:
                    text = bad_rows[0].text
                where = f"Row {row:,} of {source}" if row else f"A row of {source}"
                got = f"{actual} field(s)" if actual is not None else "a different number of fields"
                shown = (text or "")[:60]
                raise DatasetError(
                    f"{where} has {got} where the header has {expected} ({shown!r}); fix that row "
                    "or check the delimiter and quoting."
                ) from None
            if "Empty CSV" in message:
                raise DatasetError(
                    f"{source} is empty; it needs a header line and at least one row of user and "
                    "item."
                ) from None
            raise DatasetError(
                f"{source} could not be read ({message[:80]}); check its format."
            ) from None
        return state, roles


# ---------------------------------------------------------------------- parquet
def _open_parquet(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DatasetError(
            f"{path.name} is not a readable parquet file ({str(error)[:80]}); export it again or "
            "use csv."
        ) from None


def _read_parquet(
    path: Path,
    columns: Mapping[str, str | None] | None,
    progress: Progress | None,
) -> tuple[_Columns, dict[str, str]]:
    if columns is not None and not isinstance(columns, Mapping):
        raise DatasetError(
            f"{path.name} is a parquet file with named columns; map roles with "
            "columns={'user': ..., 'item': ...} instead of a list."
        )
    parquet = _open_parquet(path)
    roles = resolve_columns(parquet.schema_arrow.names, columns, source=path.name)
    state = _Columns()
    total = max(parquet.metadata.num_rows, 1)
    try:
        pool = pa.default_memory_pool()
        batches = parquet.iter_batches(
            batch_size=1 << 16, columns=list(dict.fromkeys(roles.values())), use_threads=False
        )
        for number, batch in enumerate(batches):
            _take_batch(batch, roles, state, path.name)
            del batch
            if number % 16 == 15:
                pool.release_unused()  # decoded row groups, once converted
            if progress is not None:
                progress(0.9 * state.n_rows / total, f"read {state.n_rows:,} rows")
    except (pa.ArrowException, OSError) as error:
        raise DatasetError(
            f"{path.name} is a damaged parquet file ({str(error)[:80]}); export it again or use "
            "csv."
        ) from None
    return state, roles


# ---------------------------------------------------------------------- items files
def read_items(
    path: str | Path,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    notes: list[str] | None = None,
    max_bytes: int | None = MAX_BYTES,
) -> pd.DataFrame:
    """An items table with standard column names (``item_id``, ``name``, ``url``, ...).

    Every value is read as text, kept verbatim (quotes, pipes, backslashes, newlines, HTML);
    unknown columns are kept as extras. Raises ``DatasetError`` if no id column is found.
    """
    path = Path(path)
    notes = notes if notes is not None else []
    _check_file(path, max_bytes)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            table = _open_parquet(path).read()
        except (pa.ArrowException, OSError) as error:
            raise DatasetError(
                f"{path.name} is a damaged parquet file ({str(error)[:80]}); export it again."
            ) from None
        frame = table.to_pandas(types_mapper=None)
    else:
        chosen = encoding or "utf-8"
        for attempt in range(2):
            first = _header_text(path, chosen).splitlines()
            delimiter = sep or DELIMITERS.get(path.suffix.lower()) or _sniff_delimiter(
                first[0] if first else ""
            )
            names = _header_names(path, delimiter, chosen)
            try:
                table = pa_csv.read_csv(
                    path,
                    read_options=pa_csv.ReadOptions(
                        encoding=chosen if chosen not in ("utf-8", "utf8") else "utf8"
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
                break
            except pa.ArrowInvalid as error:
                message = str(error)
                if "UTF8" in message and attempt == 0 and encoding is None:
                    chosen, line = sniff_encoding(path)
                    if chosen != "utf-8":
                        notes.append(_encoding_note(path, chosen, line))
                        continue
                if "Expected" in message and "columns" in message:
                    row, text = _locate_bad_record(path, delimiter, chosen, len(names), True)
                    where = f"Row {row:,} of {path.name}" if row else f"A row of {path.name}"
                    raise DatasetError(
                        f"{where} has a different number of fields from the header "
                        f"({(text or '')[:60]!r}); fix that row or check the quoting."
                    ) from None
                raise DatasetError(
                    f"{path.name} could not be read ({message[:80]}); check its format."
                ) from None
        frame = table.to_pandas()
    if frame.empty and len(frame.columns) == 0:
        raise DatasetError(f"{path.name} is empty; it needs a header with an id column.")
    roles = resolve_columns(
        list(frame.columns), None, source=path.name, aliases=ITEM_ALIASES, required=("item_id",)
    )
    frame = frame.rename(columns={column: role for role, column in roles.items()})
    ids = frame["item_id"]
    if pd.api.types.is_float_dtype(ids) and np.all(ids.dropna() == np.round(ids.dropna())):
        ids = ids.astype("Int64")
    frame["item_id"] = ids.astype(str).str.strip()
    for column in frame.columns:
        if column not in ("item_id", "tags") and frame[column].dtype != object:
            if pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].astype(object)
    return frame


# ---------------------------------------------------------------------- building a Dataset
def _as_arrow(values: Any) -> pa.ChunkedArray:
    if isinstance(values, pa.ChunkedArray):
        return values
    if isinstance(values, pa.Array):
        return pa.chunked_array([values])
    if isinstance(values, (list, tuple)) and values and isinstance(values[0], pa.Array):
        return pa.chunked_array(values)
    if isinstance(values, pd.Series) and pd.api.types.is_string_dtype(values.dtype):
        if values.dtype != object:  # Arrow-backed text: no copy
            converted = pa.array(values.array)
            if isinstance(converted, pa.ChunkedArray):
                return converted
            return pa.chunked_array([converted])
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if series.dtype == object:
        series = series.astype(str)
    return pa.chunked_array([pa.Array.from_pandas(series)])


def factorize_ids(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids (as str) and the int32 code of each value, like ``np.unique``.

    Parameters
    ----------
    values : pyarrow array, numpy array, pandas Series or list, shape [n]
        Ids of any type; numbers become their decimal text (``7`` and ``"7"`` are one id).

    Returns
    -------
    ids : np.ndarray of object (str), shape [n_unique]
    codes : np.ndarray of int32, shape [n]
    """
    array = _as_arrow(values)
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
    elif pa.types.is_floating(kind):
        as_float = array.to_numpy()
        if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
            array = pa.chunked_array([pa.array(as_float.astype(np.int64))])
    if pa.types.is_integer(array.type):
        # factorize the numbers, then order the distinct ids by their text
        uniques = pc.unique(array)
        if uniques.null_count:
            raise DatasetError("An id column has empty values; fill them in or remove those rows.")
        text = uniques.cast(pa.string())
        by_text = np.asarray(pc.sort_indices(text).to_numpy(), dtype=np.int64)
        rank = np.empty(len(by_text), dtype=np.int32)
        rank[by_text] = np.arange(len(by_text), dtype=np.int32)
        position = np.asarray(pc.index_in(array, value_set=uniques).to_numpy(), dtype=np.int64)
        ids = text.take(pa.array(by_text)).to_numpy(zero_copy_only=False).astype(object)
        return ids, rank[position]
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    uniques = pc.unique(array)
    if uniques.null_count:
        raise DatasetError("An id column has empty values; fill them in or remove those rows.")
    # Arrow compares UTF-8 bytes, which orders like Python compares str (by code point)
    ordered = uniques.take(pc.sort_indices(uniques))
    codes = pc.index_in(array, value_set=ordered)
    codes = np.asarray(codes.to_numpy(), dtype=np.int32)
    return ordered.to_numpy(zero_copy_only=False).astype(object), codes


@dataclass(frozen=True)
class Factorized:
    """Ids already factorized by :func:`factorize_ids`: sorted ``ids`` and int32 ``codes``."""

    ids: np.ndarray
    codes: np.ndarray

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ids, self.codes


def _index_dtype(nnz: int, n_cols: int):
    return np.int32 if max(nnz, n_cols) < np.iinfo(np.int32).max else np.int64


def _csr(pair_key: np.ndarray, data: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR from sorted distinct linear keys (row * n_items + col) and their values."""
    n_users, n_items = shape
    index_dtype = _index_dtype(len(pair_key), n_items)
    indptr = np.zeros(n_users + 1, dtype=index_dtype)
    rows = pair_key // max(n_items, 1)
    np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
    del rows
    cols = (pair_key % max(n_items, 1)).astype(index_dtype)
    return sp.csr_matrix((data, cols, indptr), shape=shape, copy=False)


def build_dataset(
    name: str,
    user: Any,
    item: Any,
    *,
    weight: np.ndarray | None = None,
    rating: np.ndarray | None = None,
    timestamp: np.ndarray | None = None,
    items: pd.DataFrame | None = None,
    min_rating: float | None = None,
    drop_duplicates: bool = False,
    **kwargs: Any,
) -> Dataset:
    """A :class:`Dataset` from column arrays, without a Python object per row.

    Gives the same result as ``Dataset.from_frame`` on a frame with these columns (ids as str,
    duplicate pairs merged: weights summed, latest timestamp, last rating; with ratings, weight 1
    per pair rated at least ``min_rating``) but sorts once on int64 keys, so a file of millions of
    rows needs little more memory than the resulting matrices.

    Parameters
    ----------
    name : str
    user, item : array-like of ids, shape [n], or :class:`Factorized`
    weight : float array, shape [n], optional
        Implicit weights (ignored when ``rating`` is given, as in ``from_frame``).
    rating : float array, shape [n], optional
        Explicit ratings, kept in ``Dataset.ratings``.
    timestamp : float array, shape [n], optional
        Seconds since the epoch.
    items : DataFrame, optional
        Item metadata with an ``item_id`` column.
    min_rating : float, optional
        With ``rating``: pairs rated below it are left out of the implicit matrix.
    drop_duplicates : bool
        Drop rows identical in every given column before merging pairs (without a weight or
        timestamp column this makes every pair weigh 1). Not applied to rated data, where a
        pair weighs 1 anyway. The number dropped goes to ``extras["duplicates_dropped"]``.
    **kwargs
        Passed to :class:`Dataset` (``description``, ``extras``, ``synthetic``).
    """
    columns = {"user": user, "item": item, "weight": weight, "rating": rating,
               "timestamp": timestamp}
    del user, item, weight, rating, timestamp
    return build_from_columns(
        name, columns, items=items, min_rating=min_rating, drop_duplicates=drop_duplicates,
        **kwargs,
    )


def build_from_columns(
    name: str,
    columns: dict[str, Any],
    *,
    items: pd.DataFrame | None = None,
    min_rating: float | None = None,
    drop_duplicates: bool = False,
    **kwargs: Any,
) -> Dataset:
    """:func:`build_dataset` on a dict of columns (``user``, ``item``, optional ``weight``,
    ``rating``, ``timestamp``) that it empties as it goes, so that each column is freed as soon
    as it has been used; the caller must keep no other reference to them."""
    user = columns.pop("user")
    user_ids, rows = user.as_tuple() if isinstance(user, Factorized) else factorize_ids(user)
    del user
    item = columns.pop("item")
    item_ids, cols = item.as_tuple() if isinstance(item, Factorized) else factorize_ids(item)
    del item
    weight = columns.pop("weight", None)
    rating = columns.pop("rating", None)
    timestamp = columns.pop("timestamp", None)
    n = len(rows)
    if n == 0:
        raise DatasetError(f"{name} has no interactions.")
    if len(cols) != n:
        raise DatasetError(f"{name}: the user and item columns have different lengths.")
    shape = (len(user_ids), len(item_ids))
    key = rows.astype(np.int64)
    del rows
    key *= shape[1]
    key += cols
    del cols

    order = np.argsort(key, kind="stable")
    if n < np.iinfo(np.int32).max:
        order = order.astype(np.int32)
    key = key[order]
    new_pair = np.empty(n, dtype=bool)
    new_pair[0] = True
    np.not_equal(key[1:], key[:-1], out=new_pair[1:])
    dropped = 0
    if rating is None and drop_duplicates:
        duplicate = ~new_pair  # the row repeats the previous row's pair
        others = [np.asarray(a) for a in (weight, timestamp) if a is not None]
        if others and duplicate.any():
            # Only rows of repeated pairs need a closer look: sort them by the other columns
            # within their pair (pairs stay where they are) so identical rows are adjacent.
            repeated = duplicate.copy()
            repeated[:-1] |= duplicate[1:]
            where = np.flatnonzero(repeated)
            rows_here = order[where]
            rows_here = rows_here[
                np.lexsort((*[values[rows_here] for values in others], key[where]))
            ]
            order[where] = rows_here
            for values in others:
                ordered = values[rows_here]
                same = np.zeros(len(where), dtype=bool)
                same[1:] = ordered[1:] == ordered[:-1]
                duplicate[where] &= same
            del repeated, where, rows_here, ordered, same
        del others  # it holds the weight and timestamp columns, freed further down
        dropped = int(duplicate.sum())
        if dropped:
            keep = ~duplicate
            order, key, new_pair = order[keep], key[keep], new_pair[keep]
            del keep
        del duplicate
    starts = np.flatnonzero(new_pair)
    del new_pair
    n_rows = len(key)
    pair_key = key[starts]
    del key

    # One value per pair; each sorted copy is dropped as soon as it is reduced.
    latest = None
    if timestamp is not None:
        in_order = np.asarray(timestamp, dtype=np.float64)[order]
        del timestamp
        latest = np.maximum.reduceat(in_order, starts)
        del in_order
    ratings = None
    in_matrix: np.ndarray | None = None  # None: every pair is in the implicit matrix
    if rating is not None:
        rating = np.asarray(rating, dtype=np.float32)
        last = rating[order[np.append(starts[1:], n_rows) - 1]]
        if min_rating is not None:
            in_matrix = np.logical_or.reduceat((rating >= np.float32(min_rating))[order], starts)
        del rating
        ratings = _csr(pair_key, last, shape)
        del last
        n_kept = len(starts) if in_matrix is None else int(in_matrix.sum())
        data = np.ones(n_kept, dtype=np.float32)
    else:
        if weight is None:
            data = np.diff(np.append(starts, n_rows)).astype(np.float32)
        else:
            in_order = np.asarray(weight, dtype=np.float32)[order]
            del weight
            data = np.add.reduceat(in_order, starts)
            del in_order
        nonzero = data != 0
        if not nonzero.all():
            in_matrix = nonzero
            data = data[in_matrix]
    del order, starts
    if in_matrix is not None:
        pair_key = pair_key[in_matrix]
    interactions = _csr(pair_key, data, shape)
    del pair_key, data
    timestamps = None
    if latest is not None:
        if in_matrix is not None:
            latest = latest[in_matrix]
        # the same (immutable) index arrays as the interactions: same pattern, half the memory
        timestamps = sp.csr_matrix(
            (latest, interactions.indices, interactions.indptr), shape=shape, copy=False
        )

    extras = dict(kwargs.pop("extras", {}) or {})
    if drop_duplicates and ratings is None:
        extras["duplicates_dropped"] = dropped
    return Dataset(
        name=name,
        interactions=interactions,
        user_ids=user_ids,
        item_ids=item_ids,
        items=normalise_items(items, item_ids.astype(str)),
        timestamps=timestamps,
        ratings=ratings,
        extras=extras,
        **kwargs,
    )


# ---------------------------------------------------------------------- the entry point
def load_file(
    path: str | Path,
    *,
    items_path: str | Path | None = None,
    columns: Mapping[str, str | None] | Sequence[str] | None = None,
    progress: Progress | None = None,
    max_bytes: int | None = MAX_BYTES,
    **options: Any,
) -> Dataset:
    """Load interactions from a csv / tsv / psv / parquet file.

    Parameters
    ----------
    path : path
        The interactions: one row per (user, item) event, with optional weight, rating and
        timestamp columns. ``.csv`` is comma-separated, ``.tsv`` tab-, ``.psv`` pipe-separated
        (double quotes for quoting); other suffixes are sniffed from the header line.
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
        Refuse files larger than this (None: no limit).
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
        ``duplicates_dropped`` and ``warnings``.

    Raises
    ------
    DatasetError
        For a missing, empty, header-only, oversized or corrupt file, a missing user or item
        column (naming the columns found and wanted), a row with the wrong number of fields, or
        a bad value (naming its row and column).
    """
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise DatasetError(
            f"Unknown option(s) {_names(unknown)} for a file dataset; use "
            f"{_names(sorted(_OPTIONS))}."
        )
    path = Path(path).expanduser()
    _check_file(path, max_bytes)
    notes: list[str] = []
    if path.suffix.lower() in PARQUET_SUFFIXES:
        state, roles = _read_parquet(path, columns, progress)  # type: ignore[arg-type]
    else:
        state, roles = _read_delimited(
            path,
            columns,
            options.get("sep"),
            options.get("encoding"),
            progress,
            notes,
            options.get("quotechar"),
        )
    if state.n_rows == 0:
        raise DatasetError(
            f"{path.name} has a header but no rows; add at least one row of "
            f"{roles['user']} and {roles['item']}."
        )
    items = None
    if items_path is not None:
        items = read_items(
            items_path,
            sep=None,
            encoding=options.get("encoding"),
            notes=notes,
            max_bytes=max_bytes,
        )
    if progress is not None:
        progress(0.9, "building the matrix")
    # Factorize now so the id strings go before the matrix is built, and hand the columns over in
    # a dict that build_from_columns empties, so each one is freed once it has been used.
    pool = pa.default_memory_pool()
    pool.release_unused()  # the reader's buffers
    columns_read: dict[str, Any] = {}
    for role in ("user", "item"):
        chunks = state.ids.pop(role)
        if len({chunk.type for chunk in chunks}) > 1:  # whole numbers in some batches only
            chunks = [chunk.cast(pa.string()) for chunk in chunks]
        columns_read[role] = Factorized(*factorize_ids(pa.chunked_array(chunks)))
        del chunks
        pool.release_unused()  # hand the freed id strings back to the OS
    for role in list(state.numbers):
        chunks = state.numbers.pop(role)
        columns_read[role] = np.concatenate(chunks)
        del chunks
    name = options.get("name") or path.name
    dataset = build_from_columns(
        name,
        columns_read,
        items=items,
        min_rating=options.get("min_rating"),
        drop_duplicates=bool(options.get("drop_duplicates", True)),
        description=f"Interactions from {path.name}",
        extras={"source_path": str(path), "columns": dict(roles), "n_rows": state.n_rows},
    )
    if items is not None:
        known = set(items["item_id"])
        matched = int(sum(item_id in known for item_id in dataset.item_ids.tolist()))
        if matched == 0:
            raise DatasetError(
                f"None of the {dataset.n_items:,} item ids in {path.name} (e.g. "
                f"{dataset.item_ids[0]!r}) is in the id column of {Path(items_path).name} (e.g. "
                f"{items['item_id'].iloc[0]!r}); check that both files use the same ids."
            )
        if matched < dataset.n_items:
            notes.append(
                f"{dataset.n_items - matched:,} of {dataset.n_items:,} items have no row in "
                f"{Path(items_path).name}; they are shown by id."
            )
    dropped = dataset.extras.get("duplicates_dropped", 0)
    if dropped:
        notes.append(f"{dropped:,} duplicate rows of {path.name} were counted once.")
    dataset.extras["warnings"] = notes
    for note in notes:  # the CLI prints these as "warning: ..." lines, the app as notices
        warnings.warn(note, UserWarning, stacklevel=2)
    if progress is not None:
        progress(1.0, f"{dataset.n_interactions:,} interactions")
    return dataset


__all__ = [
    "MAX_BYTES",
    "ROLE_ALIASES",
    "ITEM_ALIASES",
    "build_dataset",
    "build_from_columns",
    "factorize_ids",
    "load_file",
    "read_items",
    "resolve_columns",
    "sniff_encoding",
]
