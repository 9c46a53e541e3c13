"""A :class:`Dataset` from column arrays, without a Python object per row.

:func:`build_dataset` is the memory-lean twin of :meth:`Dataset.from_frame` (same result, tested)
that every file-based source shares: ids are factorized with Arrow, pairs sorted once on int64
keys, and each column is dropped as soon as it has been used, so a file of millions of rows
needs little more memory than the matrices it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from ...dataset import Dataset, normalise_items, whole_numbers
from ...errors import DatasetError
from .values import TEXT_IDS


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
        if whole_numbers(as_float):
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


def factorize_chunks(chunks: list[pa.Array]) -> Factorized:
    """:func:`factorize_ids` of an id column read in batches; the list is emptied.

    Batches of text read as dictionaries are factorized through their dictionaries: these are
    unified (each distinct id hashed once per batch dictionary), the ids that rows use are
    sorted, and each row's code is looked up from its dictionary code, so no string is made per
    row and no row is hashed again.
    """
    if not chunks or not all(pa.types.is_dictionary(chunk.type) for chunk in chunks):
        if any(pa.types.is_dictionary(chunk.type) for chunk in chunks):
            chunks[:] = [
                chunk.cast(chunk.type.value_type) if pa.types.is_dictionary(chunk.type) else chunk
                for chunk in chunks
            ]
        if len({chunk.type for chunk in chunks}) > 1:  # whole numbers in some batches only
            chunks[:] = [chunk.cast(pa.string()) for chunk in chunks]
        column = pa.chunked_array(chunks)
        chunks.clear()
        return Factorized(*factorize_ids(column))
    if len({chunk.type for chunk in chunks}) > 1:  # e.g. int8 and int32 codes
        chunks[:] = [chunk.cast(TEXT_IDS) for chunk in chunks]
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
        np.take(code_of, part, out=codes[start : start + len(part)])
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
        block = pair_key[start : start + _SORT_BLOCK]
        cols[start : start + len(block)] = block % max(n_items, 1)
    return sp.csr_matrix((data, cols, indptr), shape=shape, copy=False)


def stable_sort(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
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
        block = key[start : start + _SORT_BLOCK]
        block <<= row_bits
        block |= np.arange(start, start + len(block), dtype=np.int64)
    key.sort()
    order = np.empty(n, dtype=index_dtype)
    mask = np.int64((1 << row_bits) - 1)
    for start in range(0, n, _SORT_BLOCK):
        block = key[start : start + _SORT_BLOCK]
        order[start : start + len(block)] = block & mask
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
    columns = {
        "user": user,
        "item": item,
        "weight": weight,
        "rating": rating,
        "timestamp": timestamp,
    }
    del user, item, weight, rating, timestamp
    return build_from_columns(
        name,
        columns,
        items=items,
        min_rating=min_rating,
        drop_duplicates=drop_duplicates,
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
    user_ids, item_ids, order, starts, pair_key, n_rows, dropped = _sorted_pairs(
        name, columns, drop_duplicates
    )
    shape = (len(user_ids), len(item_ids))
    # One value per pair; each sorted copy is dropped as soon as it is reduced.
    data, ratings, pattern, latest, in_matrix = _pair_values(
        columns, order, starts, n_rows, pair_key, shape, min_rating
    )
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


def _sorted_pairs(name: str, columns: dict[str, Any], drop_duplicates: bool) -> tuple:
    """Factorize the ``user`` and ``item`` columns (popped from ``columns``) and sort the rows by
    pair: ``(user_ids, item_ids, order, starts, pair_key, n_rows, dropped)``, where ``order`` is
    the rows in pair order (file order within a pair), ``starts`` where each pair starts in it,
    ``pair_key`` each pair's ``row * n_items + col``, ``n_rows`` the rows kept and ``dropped``
    the identical rows left out (with ``drop_duplicates`` and no rating column)."""
    user = columns.pop("user")
    user_ids, rows = user.as_tuple() if isinstance(user, Factorized) else factorize_ids(user)
    del user
    item = columns.pop("item")
    item_ids, cols = item.as_tuple() if isinstance(item, Factorized) else factorize_ids(item)
    del item
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

    order, key = stable_sort(key, shape[0] * shape[1])
    new_pair = np.empty(n, dtype=bool)
    new_pair[0] = True
    np.not_equal(key[1:], key[:-1], out=new_pair[1:])
    dropped = 0
    if columns.get("rating") is None and drop_duplicates:
        others = [
            np.asarray(columns[c]) for c in ("weight", "timestamp") if columns.get(c) is not None
        ]
        order, key, new_pair, dropped = _drop_duplicate_rows(order, key, new_pair, others)
        del others
    starts = np.flatnonzero(new_pair)
    del new_pair
    n_rows = len(key)
    pair_key = key[starts]
    del key
    return user_ids, item_ids, order, starts, pair_key, n_rows, dropped


def _drop_duplicate_rows(
    order: np.ndarray, key: np.ndarray, new_pair: np.ndarray, others: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Leave out rows identical in every column to an earlier row (same pair, and the same
    ``others`` values): ``(order, key, new_pair, dropped)`` without them."""
    duplicate = ~new_pair  # the row repeats the previous row's pair
    if others and duplicate.any():
        # Only rows of repeated pairs need a closer look: sort them by the other columns
        # within their pair (pairs stay where they are) so identical rows are adjacent.
        repeated = duplicate.copy()
        repeated[:-1] |= duplicate[1:]
        where = np.flatnonzero(repeated)
        rows_here = order[where]
        rows_here = rows_here[np.lexsort((*[values[rows_here] for values in others], key[where]))]
        order[where] = rows_here
        for values in others:
            ordered = values[rows_here]
            same = np.zeros(len(where), dtype=bool)
            same[1:] = ordered[1:] == ordered[:-1]
            duplicate[where] &= same
        del repeated, where, rows_here, ordered, same
    dropped = int(duplicate.sum())
    if dropped:
        keep = ~duplicate
        order, key, new_pair = order[keep], key[keep], new_pair[keep]
        del keep
    return order, key, new_pair, dropped


def _pair_values(
    columns: dict[str, Any],
    order: np.ndarray,
    starts: np.ndarray,
    n_rows: int,
    pair_key: np.ndarray,
    shape: tuple[int, int],
    min_rating: float | None,
) -> tuple:
    """One value per pair from the ``weight``, ``rating`` and ``timestamp`` columns (popped from
    ``columns``): ``(data, ratings, pattern, latest, in_matrix)``. ``data`` holds the implicit
    weights (summed, or 1 per rated pair), ``ratings`` the last rating of each pair as a matrix
    and ``pattern`` that matrix when every pair is in the implicit one (its indices are shared),
    ``latest`` each pair's latest time, ``in_matrix`` which pairs the implicit matrix keeps
    (None: all of them)."""
    weight = columns.pop("weight", None)
    rating = columns.pop("rating", None)
    timestamp = columns.pop("timestamp", None)
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
    return data, ratings, pattern, latest, in_matrix
