"""Time columns: seconds since the epoch from numbers, Arrow dates and timestamps, or date
strings (naive times are UTC).

A time relative to when the file is read (``now``, ``today``, a bare ``12:00``) is refused, so a
file's fingerprint never drifts; a column mixing numbers and dates is refused too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dateutil import parser as date_parser

from ...errors import DatasetError
from .messages import bad_value
from .values import first_true

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
        raise bad_value(source, offset + row + 1, column, text.iloc[row], "a number or a date")
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


def seconds(
    array: pa.Array, source: str, column: str, offset: int, time_kind: str | None
) -> tuple[np.ndarray, str]:
    """Seconds since the epoch (float64) from numbers, dates, timestamps or date strings, and
    which they were (``"number"`` or ``"date"``; ``time_kind`` is what earlier batches were)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if array.null_count:
        row = offset + first_true(array.is_null()) + 1
        raise bad_value(source, row, column, None, "a time")
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
    if time_kind is not None and time_kind != found:
        raise DatasetError(
            f"Column {column!r} of {source} mixes numbers and dates (from row {offset + 1:,}); "
            "use one format for every row."
        )
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise bad_value(source, offset + row + 1, column, values[row], "a finite time")
    return values, found
