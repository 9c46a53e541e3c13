"""Checks for arrays read back from the model store, made before numpy maths, scipy or implicit
see them.

A stored model is data from disk, and a damaged (or hand-edited) ``arrays.npz`` must end in one
sentence, never in a crash: scipy trusts the index arrays of a CSR matrix, so an index past the
last column makes a product read or write outside its buffers (a segfault that takes the whole
server down). Every adapter's ``from_arrays`` takes its arrays through these helpers, which
return plain, writable numpy arrays of the wanted dtype or raise :class:`DamagedArrays`.

The message of :class:`DamagedArrays` is a clause that completes "Model X is damaged: ...",
e.g. "its similarity matrix points past the last item"; the store adds the model id and the fix.
It never echoes values read from the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

MAX_DIMENSION = 2**31 - 1
"""The largest count of users, items or columns a stored shape may claim."""

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_KIND_NAMES = {"iu": "integers", "iuf": "numbers"}


class DamagedArrays(ValueError):
    """A stored array is missing, of the wrong dtype or shape, not finite, or out of range."""


def array(
    arrays: Mapping[str, np.ndarray],
    key: str,
    what: str,
    dtype: type = np.float32,
    *,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
) -> np.ndarray:
    """``arrays[key]`` as a C-contiguous array of ``dtype``, after checking it.

    Parameters
    ----------
    arrays : mapping of str to np.ndarray
        What the store read from ``arrays.npz``.
    key : str
        The array's name in the file.
    what : str
        A short noun for messages ("item factor matrix").
    dtype : numpy dtype
        The result's dtype: a float dtype accepts stored integers or floats, an integer dtype
        only stored integers.
    shape : sequence of int or None, optional
        The expected shape; None entries take any size (the number of entries fixes ``ndim``).
    finite : bool
        Refuse NaN, infinite values and values beyond float32's range (float results only).

    Returns
    -------
    np.ndarray of ``dtype``, the stored shape

    Raises
    ------
    DamagedArrays
        Missing, not numeric (objects, strings, complex), wrong number of dimensions or sizes,
        a value that does not fit ``dtype``, or NaN / infinity where ``finite``.
    """
    if key not in arrays:
        raise DamagedArrays(f"its {what} is missing, so the arrays do not rebuild the model")
    value = np.asarray(arrays[key])
    want_float = np.dtype(dtype).kind == "f"
    kinds = "iuf" if want_float else "iu"
    if value.dtype.kind not in kinds or value.dtype.fields is not None:
        described = describe_dtype(value.dtype)
        raise DamagedArrays(f"its {what} holds {described}, not {_KIND_NAMES[kinds]}")
    if shape is not None:
        _check_shape(value, shape, what)
    if want_float:
        with np.errstate(over="ignore", invalid="ignore"):
            result = np.ascontiguousarray(value, dtype=dtype)
        if finite and result.size:
            if not np.isfinite(result).all():
                raise DamagedArrays(f"its {what} holds NaN or infinite values")
            if np.abs(result).max() > _FLOAT32_MAX:  # every consumer computes in float32
                raise DamagedArrays(f"its {what} holds values too large to compute with")
        return result
    info = np.iinfo(dtype)
    if value.size and (value.min() < info.min or value.max() > info.max):
        raise DamagedArrays(f"its {what} holds integers too large for {np.dtype(dtype).name}")
    return np.ascontiguousarray(value, dtype=dtype)


def count(
    arrays: Mapping[str, np.ndarray], key: str, what: str, *, high: int = MAX_DIMENSION
) -> int:
    """A stored non-negative integer scalar (``n_users``, ``epochs_done``) as a Python int."""
    value = array(arrays, key, what, dtype=np.int64)
    if value.size != 1 or value.ndim > 1:
        raise DamagedArrays(f"its {what} is not a single number")
    number = int(value.reshape(-1)[0])
    if not 0 <= number <= high:
        raise DamagedArrays(f"its {what} is out of range")
    return number


def number(arrays: Mapping[str, np.ndarray], key: str, what: str) -> float:
    """A stored finite float scalar (``global_mean``) as a Python float."""
    value = array(arrays, key, what, dtype=np.float64)
    if value.size != 1 or value.ndim > 1:
        raise DamagedArrays(f"its {what} is not a single number")
    return float(value.reshape(-1)[0])


def dimensions(arrays: Mapping[str, np.ndarray], key: str, what: str) -> tuple[int, int]:
    """A stored 2-D shape (``[rows, columns]``), each in ``[0, MAX_DIMENSION]``."""
    value = array(arrays, key, what, dtype=np.int64, shape=(2,))
    if value.min() < 0 or value.max() > MAX_DIMENSION:
        raise DamagedArrays(f"its {what} claims an impossible size")
    return int(value[0]), int(value[1])


def csr(
    arrays: Mapping[str, np.ndarray],
    shape: tuple[int, int],
    what: str,
    *,
    columns: str = "item",
    keys: tuple[str | None, str, str] = ("data", "indices", "indptr"),
) -> sp.csr_matrix:
    """A float32 CSR matrix from stored ``data`` / ``indices`` / ``indptr``, checked first.

    The row pointer must start at 0, never decrease and end at the number of entries; every
    column index must lie in ``[0, shape[1])``; the values must be finite.

    Parameters
    ----------
    arrays : mapping of str to np.ndarray
    shape : (int, int)
        The matrix's shape (already checked by the caller against the other arrays).
    what : str
        A short noun for messages ("similarity matrix").
    columns : str
        What a column is, for messages ("item", "feature", "tag").
    keys : (str or None, str, str)
        The names of the data, indices and indptr arrays in the file; no data key for a
        pattern-only matrix (every stored entry is 1).

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape ``shape``
    """
    data_key, indices_key, indptr_key = keys
    rows, n_columns = shape
    indptr = array(arrays, indptr_key, f"{what}'s row pointer", dtype=np.int64, shape=(None,))
    indices = array(arrays, indices_key, f"{what}'s column index", dtype=np.int64, shape=(None,))
    if data_key is None:
        data = np.ones(len(indices), np.float32)
    else:
        data = array(arrays, data_key, what, shape=(None,))
    if len(indptr) != rows + 1:
        raise DamagedArrays(
            f"its {what} has a row pointer for {max(len(indptr) - 1, 0):,} rows instead of {rows:,}"
        )
    if indptr[0] != 0 or (np.diff(indptr) < 0).any() or indptr[-1] != len(indices):
        raise DamagedArrays(
            f"its {what} has a broken row pointer (it must start at 0, never decrease and end at "
            "the number of entries)"
        )
    if len(data) != len(indices):
        raise DamagedArrays(f"its {what} has {len(data):,} values for {len(indices):,} entries")
    if len(indices):
        if indices.min() < 0:
            raise DamagedArrays(f"its {what} points before the first {columns}")
        if indices.max() >= n_columns:
            raise DamagedArrays(f"its {what} points past the last {columns}")
    index_dtype = np.int32 if max(n_columns, len(indices)) < 2**31 else np.int64
    return sp.csr_matrix(
        (
            np.asarray(data, dtype=np.float32),
            indices.astype(index_dtype),
            indptr.astype(index_dtype),
        ),
        shape=(rows, n_columns),
    )


def same_width(first: np.ndarray, second: np.ndarray, what: str) -> None:
    """Two matrices multiplied together must have the same number of columns."""
    if first.shape[1] != second.shape[1]:
        raise DamagedArrays(
            f"its {what} have {first.shape[1]} and {second.shape[1]} columns; they must match"
        )


def _check_shape(value: np.ndarray, shape: Sequence[int | None], what: str) -> None:
    if value.ndim != len(shape):
        raise DamagedArrays(f"its {what} has {value.ndim} dimension(s) instead of {len(shape)}")
    for axis, (got, want) in enumerate(zip(value.shape, shape, strict=True)):
        if want is not None and got != want:
            name = ("rows", "columns")[axis] if value.ndim == 2 else "entries"
            raise DamagedArrays(f"its {what} has {got:,} {name} instead of {want:,}")


def describe_dtype(dtype: np.dtype) -> str:
    """What values of ``dtype`` are, in words ("Python objects", "text", "float64 values")."""
    if dtype.hasobject:
        return "Python objects"
    return {
        "b": "true/false values",
        "c": "complex numbers",
        "U": "text",
        "S": "bytes",
        "V": "raw records",
        "M": "dates",
        "m": "durations",
    }.get(dtype.kind, f"{dtype.name} values")


__all__ = [
    "DamagedArrays",
    "MAX_DIMENSION",
    "array",
    "count",
    "csr",
    "describe_dtype",
    "dimensions",
    "number",
    "same_width",
]
