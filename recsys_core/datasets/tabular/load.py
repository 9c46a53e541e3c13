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

Every file either loads or raises one :class:`DatasetError` sentence naming the file (its
``label``: the name the user knows it by, never a server path). What a file expands to is bounded
before memory is committed: at most :func:`row_limit` rows of interactions (``RECSYS_MAX_ROWS``),
:func:`item_cell_limit` rows x columns of items (``RECSYS_MAX_ITEM_CELLS``), and no more decoded
data than ``max_bytes`` (a parquet file may not hold more than a csv file of that size could).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import time
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

MAX_VALUE = 1e30
"""Largest weight or rating (float32 holds them, and sums of a few of them, without overflow)."""

MAX_BYTES = 4 * 1024**3
"""Default size limit for one file, and for what a parquet file decodes to (the app passes a
smaller one for uploads)."""

MAX_ROWS = 50_000_000
"""Most rows read from one interactions file; the operator changes it with ``RECSYS_MAX_ROWS``."""
ROWS_ENV = "RECSYS_MAX_ROWS"

MAX_ITEM_CELLS = 20_000_000
"""Most rows x columns read from one items file (``RECSYS_MAX_ITEM_CELLS``)."""
ITEM_CELLS_ENV = "RECSYS_MAX_ITEM_CELLS"

logger = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 20
BATCH_BYTES = 64 * 1024**2
"""Most bytes one parquet batch may decode to (the batch size shrinks for long values)."""

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


# ---------------------------------------------------------------------- limits
def _limit_from_env(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip().replace("_", "").replace(",", "")
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        logger.warning("%s=%r is not a whole number; using %s.", variable, text, default)
        return default
    return max(value, 1)


def row_limit() -> int:
    """The most rows read from one interactions file: ``RECSYS_MAX_ROWS`` or :data:`MAX_ROWS`."""
    return _limit_from_env(ROWS_ENV, MAX_ROWS)


def item_cell_limit() -> int:
    """The most rows x columns read from one items file: ``RECSYS_MAX_ITEM_CELLS`` or
    :data:`MAX_ITEM_CELLS`."""
    return _limit_from_env(ITEM_CELLS_ENV, MAX_ITEM_CELLS)


def _too_many_rows(label: str, limit: int) -> DatasetError:
    return DatasetError(
        f"{label} has more than {limit:,} rows, the limit here; use a sample of it."
    )


def _too_many_cells(label: str, rows: int, n_columns: int, limit: int) -> DatasetError:
    return DatasetError(
        f"{label} has {rows:,} rows of {n_columns:,} columns, more than the {limit:,} values "
        "an items file may hold here; keep only the columns and items you need."
    )


def _size(n_bytes: float) -> str:
    """``4 GB``, ``200 MB``, ``1.5 GB`` (binary units, as Streamlit states its upload limit)."""
    if n_bytes >= 1024**3:
        return f"{n_bytes / 1024**3:,.2f}".rstrip("0").rstrip(".") + " GB"
    return f"{n_bytes / 1024**2:,.0f} MB"


def _too_big_decoded(label: str, max_bytes: int) -> DatasetError:
    return DatasetError(
        f"{label} expands to more than {_size(max_bytes)} when read, the limit for one file "
        "here; use a sample of it."
    )


def _detail(error: BaseException, path: Path | None = None, label: str = "") -> str:
    """A reader's message made safe to show: one line, short, without server paths."""
    text = " ".join(str(error).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    if path is not None:
        for secret in (str(path), str(path.parent), path.name):
            if secret and secret != label:
                text = text.replace(secret, label or "the file")
    text = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/:]+){2,}", "<path>", text)
    return text[:77] + "..." if len(text) > 80 else text


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


def _encoding_note(label: str, encoding: str, line: int | None) -> str:
    how = "with the bad bytes shown as \ufffd" if encoding == UTF8_REPLACE else f"as {encoding}"
    where = f" (first bad byte on line {line})" if line else ""
    return f"{label} is not valid UTF-8{where}; it was read {how}."


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM it starts with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_encoding(path: Path, label: str | None = None) -> str | None:
    """The encoding a byte-order mark names (``"utf-16"`` / ``"utf-32"``), else None (UTF-8 or
    a legacy 8-bit encoding, see :func:`sniff_encoding`).

    Raises ``DatasetError`` for a file with NUL bytes and no byte-order mark: UTF-16 or UTF-32
    text without its mark, or not text at all.
    """
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        raise DatasetError(
            f"{label or path.name} has NUL bytes, so it is not UTF-8 text (it may be UTF-16 or "
            "UTF-32 without a byte-order mark, or not a text file); save it as UTF-8 csv."
        )
    return None


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
    mapped = columns is not None  # the caller maps columns: it can be told how
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
        how = f" or map them with columns={{{example}}}" if mapped else ""
        raise DatasetError(
            f"{source} has the column(s) {_names(found)} but needs {wanted}; rename them in the "
            f"header{how}."
        )
    for role, column in resolved.items():
        count = found.count(column)
        if count > 1:
            raise DatasetError(
                f"{source} has {count} columns named {column!r}; rename all but one so it is "
                f"clear which holds the {role}."
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
    dictionaries: dict[str, list] = field(default_factory=dict)  # the last one per id role
    max_rows: int | None = None
    max_decoded: int | None = None  # bytes the columns may decode to (parquet)
    decoded: int = 0


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


def _whole_numbers(values: np.ndarray) -> bool:
    """Whether every float is a whole number that int64 holds exactly (then ``7.0`` is id 7)."""
    with np.errstate(invalid="ignore"):
        return bool(
            np.all(np.isfinite(values))
            and np.all(np.abs(values) <= 2.0**53)
            and np.all(values == np.round(values))
        )


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _dictionary_ids(
    array: pa.DictionaryArray, source: str, column: str, offset: int, memo: list | None = None
):
    """Text ids read as a dictionary (parquet dictionary pages, csv): the distinct values are
    trimmed and checked, the rows keep their small integer codes (no string per row).

    ``memo`` (a list, filled here) holds the last batch's dictionary: the batches of one parquet
    row group repeat it, and they then share one trimmed copy instead of holding one each.
    """
    if array.null_count:
        row = offset + _first_true(array.is_null()) + 1
        raise _bad_value(source, row, column, None, "an id")
    if memo and memo[0].equals(array.dictionary):
        values, bad = memo[1], memo[2]
    else:
        values = pc.ascii_trim_whitespace(array.dictionary)
        bad = pc.or_kleene(pc.is_null(values), pc.equal(pc.binary_length(values), 0))
        bad = np.asarray(bad.fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)
        if memo is not None:
            memo[:] = [array.dictionary, values, bad]
    if bad.any():
        indices = np.asarray(array.indices.to_numpy(zero_copy_only=False))
        hit = np.flatnonzero(bad[indices])
        if len(hit):
            row = offset + int(hit[0]) + 1
            raise _bad_value(source, row, column, values[int(indices[hit[0]])].as_py(), "an id")
    return pa.DictionaryArray.from_arrays(array.indices, values)


def _ids(
    array: pa.Array, source: str, column: str, offset: int, memo: list | None = None
) -> pa.Array:
    """Ids as trimmed, non-empty UTF-8 strings (integral floats lose their ``.0``); text read as
    a dictionary stays one (see :func:`_factorize_chunks`)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        if _is_text(kind.value_type):
            return _dictionary_ids(array, source, column, offset, memo)
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_floating(kind):
        values = array.to_numpy(zero_copy_only=False)
        if _whole_numbers(values):
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
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
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
    too_big = np.abs(values) > MAX_VALUE
    if too_big.any():
        row = int(np.flatnonzero(too_big)[0])
        raise _bad_value(
            source, offset + row + 1, column, values[row], f"a number up to {MAX_VALUE:g}"
        )
    return values.astype(np.float32)


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_RELATIVE_WORDS = {"now", "today", "tomorrow", "yesterday"}


def _arrow_seconds(array: pa.Array) -> np.ndarray:
    """Seconds since the epoch of an Arrow date or timestamp column (any unit, any zone)."""
    kind = array.type
    if pa.types.is_date32(kind):
        days = array.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
        return (days * 86400).astype(np.float64)
    if pa.types.is_date64(kind):
        raw, unit = array.cast(pa.int64()).to_numpy(zero_copy_only=False), "ms"
    else:
        raw, unit = array.cast(pa.int64()).to_numpy(zero_copy_only=False), kind.unit
    if unit == "ns":  # whole microseconds divide as they always did (stable fingerprints)
        micros, rest = np.divmod(raw, 1000)
        return micros / 1e6 + rest / 1e9
    return raw / float(_PER_SECOND[unit])


def _timestamp_seconds(parsed: pd.Series) -> np.ndarray:
    """Seconds since the epoch of parsed (UTC) times, over the whole range pandas can hold.

    Within pandas' nanosecond range this is ``(parsed - epoch) / 1 s`` exactly as it always was
    (so fingerprints do not change); outside it (before 1677, after 2262) it divides in the
    column's own unit instead of overflowing.
    """
    values = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    raw = values.view(np.int64)
    factor = _PER_SECOND[unit]
    out = raw / float(factor)
    to_ns = 1_000_000_000 // factor
    fits = np.abs(raw) <= np.iinfo(np.int64).max // to_ns
    out[fits] = (raw[fits] * to_ns).astype(np.float64) / 1e9
    return out


def _python_seconds(text: str) -> float:
    """Seconds of one date string pandas could not parse (e.g. a year before 1677), else NaN."""
    from datetime import UTC, datetime

    from dateutil import parser as date_parser

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = date_parser.parse(text, default=datetime(2000, 1, 1))
        except (ValueError, OverflowError, TypeError):
            return float("nan")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
    except OverflowError:
        return float("nan")


def _is_relative(text: str) -> bool:
    """Whether a date string that pandas parses depends on when it is read (``now``, ``12:00``)."""
    from datetime import datetime

    from dateutil import parser as date_parser

    if text.strip().lower() in _RELATIVE_WORDS:
        return True
    try:
        first = date_parser.parse(text, default=datetime(2000, 1, 1))
        second = date_parser.parse(text, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError, TypeError):
        return False
    return first != second  # the date came from the default: the string has none of its own


def _parse_dates(text: pd.Series, source: str, column: str, offset: int) -> np.ndarray:
    """Seconds since the epoch of date strings; naive times are UTC.

    ISO 8601 is parsed in one pass, other formats once per distinct value. Raises
    ``DatasetError`` for a string that is not a date, or one relative to when it is read
    (``now``, ``today``, a bare ``12:00``), which would give the file another fingerprint on
    every load.
    """
    values = np.full(len(text), np.nan)
    try:
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        done = parsed.notna().to_numpy()
        values[done] = _timestamp_seconds(parsed[done])
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        done = np.zeros(len(text), dtype=bool)
    if not done.all():  # other formats: once per distinct value
        retry = text[~done]
        uniques = pd.Series(pd.unique(retry), dtype=object)
        seconds = np.full(len(uniques), np.nan)
        try:
            mixed = pd.to_datetime(uniques, errors="coerce", utc=True, format="mixed")
            found = mixed.notna().to_numpy()
            seconds[found] = _timestamp_seconds(mixed[found])
        except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
            found = np.zeros(len(uniques), dtype=bool)
        for position in np.flatnonzero(~found):  # what pandas cannot hold, e.g. year 1600
            seconds[position] = _python_seconds(str(uniques.iloc[position]))
        codes = pd.Index(uniques).get_indexer(retry)
        values[~done] = seconds[codes]
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        if _is_relative(str(text.iloc[row])):  # "Now", "TODAY": what pandas does not take
            raise _relative(source, offset + row + 1, column, str(text.iloc[row]))
        raise _bad_value(source, offset + row + 1, column, text.iloc[row], "a number or a date")
    # pandas reads "now", "today" and a bare time of day relative to the clock: look at the
    # values near the clock only (the other ones cannot be relative)
    near = np.abs(values - time.time()) < 3 * 86400
    if near.any():
        for value in pd.unique(text[near]):
            if _is_relative(str(value)):
                row = int(np.flatnonzero((text == value).to_numpy() & near)[0])
                raise _relative(source, offset + row + 1, column, str(value))
    return values


def _relative(source: str, row: int, column: str, value: str) -> DatasetError:
    return DatasetError(
        f"Row {row:,} of {source} has {value[:40]!r} in column {column!r}, a time relative to "
        "when the file is read; write full dates (like 2024-05-01 12:00) so the file reads the "
        "same every time."
    )


def _seconds(array: pa.Array, source: str, column: str, offset: int, state: _Columns):
    """Seconds since the epoch (float64) from numbers, dates, timestamps or date strings."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if array.null_count:
        row = offset + _first_true(array.is_null()) + 1
        raise _bad_value(source, row, column, None, "a time")
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values, found = array.to_numpy(zero_copy_only=False).astype(np.float64), "number"
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        values, found = _arrow_seconds(array), "date"
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = pc.utf8_trim_whitespace(array)
        try:
            values, found = array.cast(pa.float64()).to_numpy(zero_copy_only=False), "number"
        except pa.ArrowInvalid:
            text = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
            values, found = _parse_dates(text, source, column, offset), "date"
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


def _decoded_nbytes(array: pa.Array) -> int:
    """Bytes an array takes once decoded (a dictionary column: as plain text)."""
    if pa.types.is_dictionary(array.type):
        values = array.dictionary
        if pa.types.is_string(values.type) or pa.types.is_binary(values.type) or (
            pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
        ):
            lengths = pc.binary_length(values).to_numpy(zero_copy_only=False)
            indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
            return int(lengths.astype(np.int64)[indices].sum()) + 4 * len(array)
        try:
            return max(values.type.bit_width // 8, 1) * len(array)
        except ValueError:  # not a fixed-width type
            return int(array.nbytes)
    return int(array.nbytes)


def _take_batch(
    batch: pa.RecordBatch, roles: Mapping[str, str], state: _Columns, source: str
) -> None:
    offset = state.n_rows
    if state.max_rows is not None and offset + batch.num_rows > state.max_rows:
        raise _too_many_rows(source, state.max_rows)
    arrays = {role: batch.column(batch.schema.get_field_index(column))
              for role, column in roles.items()}
    if state.max_decoded is not None:  # before any dictionary column is decoded
        state.decoded += sum(_decoded_nbytes(array) for array in arrays.values())
        if state.decoded > state.max_decoded:
            raise _too_big_decoded(source, state.max_decoded)
    for role, column in roles.items():
        array = arrays[role]
        if role in ("user", "item"):
            memo = state.dictionaries.setdefault(role, [])
            state.ids.setdefault(role, []).append(_ids(array, source, column, offset, memo))
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


def _header_names(path: Path, sep: str, encoding: str, quote: str = '"') -> list[str]:
    text = _header_text(path, encoding)
    try:  # newline="": a header ended by a lone CR (an old Mac file) is a line too
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar=quote):
            if any(cell.strip() for cell in record):
                return record
    except csv.Error:  # e.g. a header longer than the csv module's field limit
        pass
    return []


def _check_file(path: Path, max_bytes: int | None, label: str | None = None) -> None:
    try:
        if not path.exists():
            raise DatasetError(f"There is no file at {label or path}; check the path.")
        if path.is_dir():
            raise DatasetError(
                f"{label or path} is a folder; give the path of a csv, tsv or parquet file."
            )
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as error:
        raise DatasetError(
            f"{label or path} cannot be opened ({error.strerror or 'unreadable'}); check the "
            "path and its permissions."
        ) from None
    label = label or path.name
    if size == 0:
        raise DatasetError(
            f"{label} is empty; it needs a header line and at least one row of user and item."
        )
    if max_bytes is not None and size > max_bytes:
        raise DatasetError(
            f"{label} is {_size(size)}, above the {_size(max_bytes)} limit for one file; use a "
            "sample of it."
        )


def _locate_bad_record(
    path: Path, sep: str, encoding: str, expected: int, header: bool, quote: str = '"'
):
    """(row, text) of the first record whose field count differs from ``expected``."""
    codec = "utf-8" if encoding == UTF8_REPLACE else encoding
    with open(path, encoding=codec, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep, quotechar=quote)
        try:
            for number, record in enumerate(reader):
                if header and number == 0:
                    continue
                if record and len(record) != expected:
                    return number + (0 if header else 1), sep.join(record)
        except csv.Error:  # a field over the csv module's limit, a NUL byte: no location
            pass
    return None, None


_TEXT_IDS = pa.dictionary(pa.int32(), pa.string())


def _read_delimited(
    path: Path,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    sep: str | None,
    encoding: str | None,
    progress: Progress | None,
    notes: list[str],
    quotechar: str | None = None,
    *,
    label: str | None = None,
    max_rows: int | None = None,
) -> tuple[_Columns, dict[str, str]]:
    """Read the role columns batch by batch, at most ``max_rows`` rows.

    Numbers are parsed by Arrow directly (fast, compact); if a value does not parse, the file is
    read again with those columns as text, which finds the bad row or parses dates. A file with
    a UTF-16 / UTF-32 byte-order mark is decoded as such; a file that is not UTF-8 is read again
    in the encoding :func:`sniff_encoding` picks.
    """
    source = label or path.name
    marked = None if encoding is not None else text_encoding(path, source)
    chosen = encoding or marked or "utf-8"
    typed = True  # weight / rating / timestamp parsed as numbers by Arrow
    retried_encoding = encoding is not None or marked is not None
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
        # ids as dictionaries: each distinct id is one string, each row a small integer code
        types = {
            column: _TEXT_IDS if role in ("user", "item") else (
                pa.float64() if typed else pa.string()
            )
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
        )
        convert_options = pa_csv.ConvertOptions(
            include_columns=list(dict.fromkeys(roles.values())),
            column_types=types,
            null_values=[""],  # "NA", "nan", "null" are values to report as they are
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        state = _Columns(max_rows=max_rows)
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
        except (pa.ArrowException, UnicodeError) as error:
            state = _Columns()  # let the partial read go before any retry
            message = str(error)
            # a header that is not UTF-8 reads differently here and in _header_names
            unreadable = "UTF8" in message or isinstance(error, pa.ArrowKeyError)
            if unreadable and not retried_encoding:
                retried_encoding = True
                chosen, line = sniff_encoding(path)
                if chosen != "utf-8":
                    notes.append(_encoding_note(source, chosen, line))
                    continue
            if "conversion error" in message and typed:
                typed = False
                continue
            # (no invalid_row_handler: Arrow decodes the row's text for it and prints a
            # traceback when that text is not UTF-8; the message has the counts)
            counts = re.search(r"Expected (\d+) columns, got (\d+)", message)
            if counts:
                expected, actual = int(counts[1]), int(counts[2])
                row, text = _locate_bad_record(path, delimiter, chosen, expected, header, quote)
                where = f"Row {row:,} of {source}" if row else f"A row of {source}"
                shown = f" ({text[:60]!r})" if text else ""
                raise DatasetError(
                    f"{where} has {actual} field(s) where the header has {expected}{shown}; fix "
                    "that row or check the delimiter and quoting."
                ) from None
            if "Empty CSV" in message:
                raise DatasetError(
                    f"{source} is empty; it needs a header line and at least one row of user and "
                    "item."
                ) from None
            if isinstance(error, UnicodeError):
                raise DatasetError(
                    f"{source} is not valid {chosen} text; save it again as UTF-8 csv."
                ) from None
            raise DatasetError(
                f"{source} could not be read ({_detail(error, path, source)}); check that it is "
                "a csv, tsv or psv file with a header line."
            ) from None
        return state, roles


# ---------------------------------------------------------------------- parquet
def _open_parquet(path: Path, label: str | None = None, *, text_columns: Sequence[str] = ()):
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
            f"{label} is not a readable parquet file ({_detail(error, path, label)}); export it "
            "again or use csv."
        ) from None


def _text_fields(parquet: Any, names: Sequence[str]) -> list[str]:
    """The top-level text / bytes columns among ``names`` that the file stores as dictionaries.

    Those are read as dictionaries, so what they decode to is counted before it is decoded (one
    long value repeated on every row is a few bytes on disk); plain pages are bounded by their
    uncompressed size in the metadata already.
    """
    def is_text(kind: pa.DataType) -> bool:
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return (
            pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
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
    parquet = _open_parquet(path, label, text_columns=columns)
    longest = 0
    try:
        for group in range(parquet.metadata.num_row_groups):
            if parquet.metadata.row_group(group).num_rows <= 0:
                continue
            batch = next(parquet.iter_batches(
                batch_size=1, row_groups=[group], columns=list(columns), use_threads=False
            ), None)
            for array in batch.columns if batch is not None else ():
                if pa.types.is_dictionary(array.type) and len(array.dictionary):
                    lengths = pc.binary_length(array.dictionary)
                    longest = max(longest, int(pc.max(lengths).as_py() or 0))
    except (pa.ArrowException, OSError, ValueError, IndexError) as error:
        raise DatasetError(
            f"{label} is a damaged parquet file ({_detail(error, path, label)}); export it again "
            "or use csv."
        ) from None
    return longest


def _check_parquet_size(
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
        raise _too_many_rows(label, max_rows)
    if max_cells is not None and rows * max(len(names), 1) > max_cells:
        raise _too_many_cells(label, rows, len(names), max_cells)
    if max_bytes is not None and max(uncompressed, rows * 8 * len(names)) > max_bytes:
        raise _too_big_decoded(label, max_bytes)
    return rows


def _duplicate_names(names: Sequence[str], label: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DatasetError(
                f"{label} has {list(names).count(name)} columns named {name!r}; rename all but "
                "one."
            )
        seen.add(name)


def _read_parquet(
    path: Path,
    columns: Mapping[str, str | None] | None,
    progress: Progress | None,
    *,
    label: str | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> tuple[_Columns, dict[str, str]]:
    label = label or path.name
    if columns is not None and not isinstance(columns, Mapping):
        raise DatasetError(
            f"{label} is a parquet file with named columns; map roles with "
            "columns={'user': ..., 'item': ...} instead of a list."
        )
    parquet = _open_parquet(path, label)
    roles = resolve_columns(parquet.schema_arrow.names, columns, source=label)
    wanted = list(dict.fromkeys(roles.values()))
    total = _check_parquet_size(
        parquet, label, wanted, max_rows=max_rows, max_bytes=max_bytes
    )
    # Batches small enough that one of them, decoded, stays under BATCH_BYTES even if every row
    # holds the longest value of a dictionary column; the running total stops at max_bytes.
    longest = _longest_dictionary_value(path, label, _text_fields(parquet, wanted))
    batch_rows = int(min(1 << 20, max(1, BATCH_BYTES // (longest + 8))))
    # Text ids are read as dictionaries: each distinct id is decoded once per row group, not
    # once per row, and the rows keep small integer codes.
    schema = parquet.schema_arrow
    text_ids = [
        roles[role] for role in ("user", "item")
        if _is_text(schema.field(roles[role]).type)
        or (pa.types.is_dictionary(schema.field(roles[role]).type)
            and _is_text(schema.field(roles[role]).type.value_type))
    ]
    if text_ids:
        parquet = _open_parquet(path, label, text_columns=text_ids)
    state = _Columns(max_rows=max_rows, max_decoded=max_bytes)
    try:
        pool = pa.default_memory_pool()
        batches = parquet.iter_batches(batch_size=batch_rows, columns=wanted, use_threads=True)
        for number, batch in enumerate(batches):
            _take_batch(batch, roles, state, label)
            del batch
            if number % 16 == 15:
                pool.release_unused()  # decoded row groups, once converted
            if progress is not None:
                progress(0.9 * state.n_rows / max(total, 1), f"read {state.n_rows:,} rows")
    except DatasetError:
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError) as error:
        raise DatasetError(
            f"{label} is a damaged parquet file ({_detail(error, path, label)}); export it again "
            "or use csv."
        ) from None
    return state, roles


# ---------------------------------------------------------------------- items files
_ITEM_TEXT = ("item_id", "name", "url", "image_url", "category")


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
        if role == "tags" and (
            pa.types.is_list(kind) or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)
        ) and not (pa.types.is_nested(kind.value_type) or pa.types.is_union(kind.value_type)):
            arrays.append(array)
        elif nested and role in _ITEM_TEXT + ("tags",):
            raise DatasetError(
                f"Column {field_.name!r} of {label} holds {kind} values; it needs text."
            )
        elif nested:
            dropped.append(field_.name)
            continue
        elif (
            pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind) or pa.types.is_binary_view(kind)
        ):
            array, replaced = _decode_bytes(array)
            if replaced:
                notes.append(
                    f"Column {field_.name!r} of {label} is not valid UTF-8; it was read with "
                    "the bad bytes shown as \ufffd."
                )
            arrays.append(array)
        elif (
            pa.types.is_temporal(kind) or pa.types.is_decimal(kind)
            or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
        ):
            arrays.append(array.cast(pa.string()))
        else:
            arrays.append(array)
        names.append(field_.name)
    if dropped:
        notes.append(
            f"Column(s) {_names(dropped)} of {label} hold nested values; they were left out."
        )
    return pa.table(arrays, names=names)


def _read_items_parquet(
    path: Path, label: str, notes: list[str], max_bytes: int | None, max_cells: int
) -> tuple[pd.DataFrame, dict[str, str]]:
    parquet = _open_parquet(path, label)
    schema = parquet.schema_arrow
    _duplicate_names(schema.names, label)
    roles = resolve_columns(
        schema.names, None, source=label, aliases=ITEM_ALIASES, required=("item_id",)
    )
    _check_parquet_size(parquet, label, schema.names, max_cells=max_cells, max_bytes=max_bytes)
    parquet = _open_parquet(path, label, text_columns=_text_fields(parquet, schema.names))
    try:
        table = parquet.read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError, IndexError) as error:
        raise DatasetError(
            f"{label} is a damaged parquet file ({_detail(error, path, label)}); export it again."
        ) from None
    if max_bytes is not None:
        decoded = sum(
            _decoded_nbytes(chunk) for column in table.columns for chunk in column.chunks
        )
        if decoded > max_bytes:
            raise _too_big_decoded(label, max_bytes)
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
        first = _header_text(path, chosen).splitlines()
        delimiter = sep or DELIMITERS.get(path.suffix.lower()) or _sniff_delimiter(
            first[0] if first else ""
        )
        names = _header_names(path, delimiter, chosen)
        if not names:
            raise DatasetError(f"{label} is empty; it needs a header with an id column.")
        _duplicate_names(names, label)
        roles = resolve_columns(
            names, None, source=label, aliases=ITEM_ALIASES, required=("item_id",)
        )
        batches: list[pa.RecordBatch] = []
        n_rows = 0
        try:
            with open(path, "rb") as handle:
                reader = pa_csv.open_csv(
                    handle,
                    read_options=pa_csv.ReadOptions(
                        block_size=BLOCK_SIZE,
                        encoding=chosen if chosen not in ("utf-8", "utf8") else "utf8",
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
                        raise _too_many_cells(label, n_rows, batch.num_columns, max_cells)
                    batches.append(batch)
            break
        except (pa.ArrowException, UnicodeError) as error:
            batches = []
            message = str(error)
            if "UTF8" in message and attempt == 0 and encoding is None and marked is None:
                chosen, line = sniff_encoding(path)
                if chosen != "utf-8":
                    notes.append(_encoding_note(label, chosen, line))
                    continue
            if "Expected" in message and "columns" in message:
                row, text = _locate_bad_record(path, delimiter, chosen, len(names), True)
                where = f"Row {row:,} of {label}" if row else f"A row of {label}"
                shown = f" ({text[:60]!r})" if text else ""
                raise DatasetError(
                    f"{where} has a different number of fields from the header{shown}; fix "
                    "that row or check the quoting."
                ) from None
            if "Empty CSV" in message:
                raise DatasetError(
                    f"{label} is empty; it needs a header with an id column."
                ) from None
            if isinstance(error, UnicodeError):
                raise DatasetError(
                    f"{label} is not valid {chosen} text; save it again as UTF-8 csv."
                ) from None
            raise DatasetError(
                f"{label} could not be read ({_detail(error, path, label)}); check that it is a "
                "csv, tsv or psv file with a header line."
            ) from None
    table = pa.Table.from_batches(batches, schema=schema)
    del batches
    _duplicate_names(table.column_names, label)  # Arrow's reading of the header
    roles = resolve_columns(
        table.column_names, None, source=label, aliases=ITEM_ALIASES, required=("item_id",)
    )
    return table.to_pandas(), roles


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
    _check_file(path, max_bytes, label)
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


def finish_items(frame: pd.DataFrame) -> pd.DataFrame:
    """The last step of :func:`read_items` (ids as trimmed text, other text columns as Python
    strings); applied again to an items table read back from the parsed-file cache."""
    ids = frame["item_id"]
    if pd.api.types.is_float_dtype(ids) and _whole_numbers(ids.dropna().to_numpy(np.float64)):
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
        if _whole_numbers(as_float):
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


def _factorize_chunks(chunks: list[pa.Array]) -> Factorized:
    """:func:`factorize_ids` of an id column read in batches; the list is emptied.

    Batches of text read as dictionaries are factorized through their dictionaries: these are
    unified (each distinct id hashed once per batch dictionary), the ids that rows use are
    sorted, and each row's code is looked up from its dictionary code, so no string is made per
    row and no row is hashed again.
    """
    if not chunks or not all(pa.types.is_dictionary(chunk.type) for chunk in chunks):
        if any(pa.types.is_dictionary(chunk.type) for chunk in chunks):
            chunks[:] = [
                chunk.cast(chunk.type.value_type) if pa.types.is_dictionary(chunk.type)
                else chunk for chunk in chunks
            ]
        if len({chunk.type for chunk in chunks}) > 1:  # whole numbers in some batches only
            chunks[:] = [chunk.cast(pa.string()) for chunk in chunks]
        column = pa.chunked_array(chunks)
        chunks.clear()
        return Factorized(*factorize_ids(column))
    if len({chunk.type for chunk in chunks}) > 1:  # e.g. int8 and int32 codes
        chunks[:] = [chunk.cast(_TEXT_IDS) for chunk in chunks]
    unified = pa.chunked_array(chunks).unify_dictionaries()
    chunks.clear()
    parts = [np.asarray(chunk.indices.to_numpy(zero_copy_only=False)) for chunk in unified.chunks]
    dictionary = unified.chunk(0).dictionary if unified.num_chunks else pa.array([], pa.string())
    del unified
    used = np.zeros(len(dictionary), dtype=bool)
    for part in parts:
        used[part] = True
    kept = np.flatnonzero(used)
    ids, kept_codes = factorize_ids(dictionary.take(pa.array(kept)))
    code_of = np.full(len(dictionary), -1, dtype=np.int32)
    code_of[kept] = kept_codes
    codes = np.empty(sum(len(part) for part in parts), dtype=np.int32)
    start = 0
    while parts:
        part = parts.pop(0)
        np.take(code_of, part, out=codes[start:start + len(part)])
        start += len(part)
    return Factorized(ids, codes)


def _index_dtype(nnz: int, n_cols: int):
    return np.int32 if max(nnz, n_cols) < np.iinfo(np.int32).max else np.int64


_SORT_BLOCK = 1 << 20
"""Rows handled at a time by the sort and the matrix build (bounded temporaries)."""


def _csr(pair_key: np.ndarray, data: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR from sorted distinct linear keys (row * n_items + col) and their values."""
    n_users, n_items = shape
    index_dtype = _index_dtype(len(pair_key), n_items)
    # the keys are sorted, so each row starts where its first key would go
    firsts = np.arange(n_users + 1, dtype=np.int64) * max(n_items, 1)
    indptr = np.searchsorted(pair_key, firsts).astype(index_dtype)
    cols = np.empty(len(pair_key), dtype=index_dtype)
    for start in range(0, len(pair_key), _SORT_BLOCK):
        block = pair_key[start:start + _SORT_BLOCK]
        cols[start:start + len(block)] = block % max(n_items, 1)
    return sp.csr_matrix((data, cols, indptr), shape=shape, copy=False)


def _stable_sort(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, key[order])`` for a stable ``order`` of int64 keys in ``[0, bound)``; ``key``
    is sorted in place (the caller gives it up).

    Where a key and its row number fit in 63 bits together, they are packed into one int64 and
    sorted as values: numpy sorts values with SIMD, several times faster than ``argsort``, and
    the row number in the low bits breaks ties in file order, as a stable sort does. ``order``
    is int32 when the rows allow it.
    """
    n = len(key)
    row_bits = max(int(n - 1).bit_length(), 1)
    index_dtype = np.int32 if n < np.iinfo(np.int32).max else np.int64
    if n == 0 or max(int(bound) - 1, 1).bit_length() + row_bits > 63:
        order = np.argsort(key, kind="stable").astype(index_dtype, copy=False)
        return order, key[order]
    for start in range(0, n, _SORT_BLOCK):
        block = key[start:start + _SORT_BLOCK]
        block <<= row_bits
        block |= np.arange(start, start + len(block), dtype=np.int64)
    key.sort()
    order = np.empty(n, dtype=index_dtype)
    mask = np.int64((1 << row_bits) - 1)
    for start in range(0, n, _SORT_BLOCK):
        block = key[start:start + _SORT_BLOCK]
        order[start:start + len(block)] = block & mask
        block >>= row_bits
    return order, key


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

    order, key = _stable_sort(key, shape[0] * shape[1])
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
    ratings = pattern = None
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
        if in_matrix is None or bool(in_matrix.all()):  # the same pattern: share its indices
            in_matrix = None
            pattern = ratings
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
    if pattern is not None:
        interactions = sp.csr_matrix(
            (data, pattern.indices, pattern.indptr), shape=shape, copy=False
        )
    else:
        interactions = _csr(pair_key, data, shape)
    del pair_key, data, pattern
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
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise DatasetError(
            f"Unknown option(s) {_names(unknown)} for a file dataset; use "
            f"{_names(sorted(_OPTIONS))}."
        )
    path = Path(path).expanduser()
    _check_file(path, max_bytes, label)  # without a label, a missing file is named by its path
    label = label or path.name
    items_file = None if items_path is None else Path(items_path).expanduser()
    max_rows = row_limit() if max_rows is None else max_rows

    def parse(report: Progress | None) -> tuple[Dataset, pd.DataFrame | None]:
        kept: dict[str, Any] = {}
        dataset = _parse_file(
            path, items_path=items_file, columns=columns, progress=report,
            max_bytes=max_bytes, max_rows=max_rows, label=label, items_label=items_label,
            options=options, kept=kept,
        )
        return dataset, kept.get("items")

    from . import parsed

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
    except (ArithmeticError, LookupError, TypeError, ValueError, UnicodeError, OSError,
            csv.Error, pa.ArrowException) as error:
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
    notes: list[str] = []
    if path.suffix.lower() in PARQUET_SUFFIXES:
        state, roles = _read_parquet(
            path, columns, progress,  # type: ignore[arg-type]
            label=label, max_rows=max_rows, max_bytes=max_bytes,
        )
    else:
        state, roles = _read_delimited(
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
    # Factorize now so the id strings go before the matrix is built, and hand the columns over in
    # a dict that build_from_columns empties, so each one is freed once it has been used.
    pool = pa.default_memory_pool()
    pool.release_unused()  # the reader's buffers
    columns_read: dict[str, Any] = {}
    state.dictionaries.clear()
    for step, role in enumerate(("user", "item")):
        if progress is not None:
            progress(0.9 + 0.02 * step, f"indexing the {role}s")
        columns_read[role] = _factorize_chunks(state.ids.pop(role))
        pool.release_unused()  # hand the freed id strings back to the OS
    for role in list(state.numbers):
        chunks = state.numbers.pop(role)
        columns_read[role] = np.concatenate(chunks)
        del chunks
    name = options.get("name") or label
    if progress is not None:
        progress(0.94, "building the matrix")
    dataset = build_from_columns(
        name,
        columns_read,
        items=items,
        min_rating=options.get("min_rating"),
        drop_duplicates=bool(options.get("drop_duplicates", True)),
        description=f"Interactions from {label}",
        extras={"source_path": str(path), "columns": dict(roles), "n_rows": state.n_rows},
    )
    if dataset.n_interactions == 0:
        min_rating = options.get("min_rating")
        if "rating" in roles and min_rating is not None:
            why = f"every rating is below the minimum of {min_rating:g}"
            fix = "use a lower minimum rating"
        else:
            why, fix = "every weight is 0", "give some rows a weight above 0"
        raise DatasetError(f"{label} has no interactions, as {why}; {fix}.")
    if items is not None:
        known = set(items["item_id"])
        matched = int(sum(item_id in known for item_id in dataset.item_ids.tolist()))
        if matched == 0:
            raise DatasetError(
                f"None of the {dataset.n_items:,} item ids in {label} (e.g. "
                f"{_short(dataset.item_ids[0])}) is in the id column of {items_label} (e.g. "
                f"{_short(items['item_id'].iloc[0])}); check that both files use the same ids."
            )
        if matched < dataset.n_items:
            notes.append(
                f"{dataset.n_items - matched:,} of {dataset.n_items:,} items have no row in "
                f"{items_label}; they are shown by id."
            )
    dropped = dataset.extras.get("duplicates_dropped", 0)
    if dropped:
        notes.append(f"{dropped:,} duplicate rows of {label} were counted once.")
    dataset.extras["warnings"] = notes
    for note in notes:  # the CLI prints these as "warning: ..." lines, the app as notices
        warnings.warn(note, UserWarning, stacklevel=3)
    if progress is not None:
        progress(1.0, f"{dataset.n_interactions:,} interactions")
    return dataset


def _short(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


__all__ = [
    "MAX_BYTES",
    "MAX_ITEM_CELLS",
    "MAX_ROWS",
    "ROLE_ALIASES",
    "ITEM_ALIASES",
    "build_dataset",
    "build_from_columns",
    "factorize_ids",
    "item_cell_limit",
    "load_file",
    "read_items",
    "resolve_columns",
    "row_limit",
    "sniff_encoding",
    "text_encoding",
]
