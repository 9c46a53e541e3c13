"""One column of a batch as the dataset needs it: ids as trimmed text (or whole numbers), weights
and ratings as finite float32; every bad value reported with its row and column.

Rows are counted from the first data row (the header not counted): ``offset`` is the number of
rows of the file before this batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...dataset import whole_numbers
from ...errors import DatasetError
from .limits import MAX_VALUE
from .messages import bad_value

TEXT_IDS = pa.dictionary(pa.int32(), pa.string())
"""How text id columns are read: each distinct id is one string, each row a small integer code."""


def first_true(mask: pa.Array | pa.ChunkedArray) -> int:
    """The position of the first True of a boolean Arrow array (one that has one)."""
    values = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.flatnonzero(values)[0])


def is_text(kind: pa.DataType) -> bool:
    """Whether an Arrow type is (large) UTF-8 text."""
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
        row = offset + first_true(array.is_null()) + 1
        raise bad_value(source, row, column, None, "an id")
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
            raise bad_value(source, row, column, values[int(indices[hit[0]])].as_py(), "an id")
    return pa.DictionaryArray.from_arrays(array.indices, values)


def as_ids(
    array: pa.Array, source: str, column: str, offset: int, memo: list | None = None
) -> pa.Array:
    """Ids as trimmed, non-empty UTF-8 strings (integral floats lose their ``.0``); text read as
    a dictionary stays one (see :func:`.build.factorize_chunks`)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        if is_text(kind.value_type):
            return _dictionary_ids(array, source, column, offset, memo)
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_floating(kind):
        values = array.to_numpy(zero_copy_only=False)
        if whole_numbers(values):
            array = pa.array(values.astype(np.int64))
    if array.null_count:
        row = offset + first_true(array.is_null()) + 1
        raise bad_value(source, row, column, None, "an id")
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
        row = offset + first_true(empty) + 1
        raise bad_value(source, row, column, "", "an id")
    return array


def _locate_bad_number(array: pa.Array, source: str, column: str, offset: int, wanted: str):
    values = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = ~np.isfinite(parsed.to_numpy(np.float64))
    row = int(np.flatnonzero(bad)[0]) if bad.any() else 0
    return bad_value(source, offset + row + 1, column, values.iloc[row], wanted)


def as_numbers(
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
        row = offset + first_true(array.is_null()) + 1
        raise bad_value(source, row, column, None, wanted)
    values = array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if non_negative:
        bad |= values < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        reason = "a number >= 0 (implicit-feedback weights cannot be negative)"
        if not non_negative or np.isnan(values[row]) or np.isinf(values[row]):
            reason = "a finite number"
        raise bad_value(source, offset + row + 1, column, values[row], reason)
    too_big = np.abs(values) > MAX_VALUE
    if too_big.any():
        row = int(np.flatnonzero(too_big)[0])
        raise bad_value(
            source, offset + row + 1, column, values[row], f"a number up to {MAX_VALUE:g}"
        )
    return values.astype(np.float32)
