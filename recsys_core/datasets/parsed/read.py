"""Reading an entry back: ``np.load(..., allow_pickle=False)``, every part checked.

Arrays over 1 MB are memory-mapped (the page cache shares them between the app's processes).
Every part is checked against the meta (dtype, shape) and the CSR structure is checked
(``indptr`` monotone from 0 to nnz, indices within the columns, finite likes) before scipy sees
it. The entry's fingerprint and item counts are the ones computed from these arrays when they
were written, so they are not computed again (the counts must add up to the interactions). A
damaged entry is reported in one sentence in the log, removed, and parsed again; it never fails
a load.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from ...dataset import Dataset, finish_items, normalise_items
from .folder import ITEMS, MATRICES, META, READER_VERSION, SCHEMA, Damaged, discard, logger

META_MAX_BYTES = 1 << 20
MMAP_BYTES = 1 << 20
"""Arrays larger than this are memory-mapped when read back."""
_NAME = re.compile(r"^[a-z_]+(\.[a-z]+)?$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_INDEX_DTYPES = ("int32", "int64")
_DATA_DTYPES = {"interactions": ("float32",), "ratings": ("float32",), "timestamps": ("float64",)}


def read_entry(
    folder: Path,
    key: str,
    max_rows: int,
    label: str,
    items_label: str | None,
    name: str,
    path: Path,
    *,
    stacklevel: int = 4,
) -> Dataset | None:
    """The kept dataset, None if there is none (or it has more rows than allowed now).

    A damaged entry is logged in one sentence, removed, and None returned.
    """
    if not (folder / META).exists():
        return None
    try:
        meta = read_meta(folder, key)
        if meta["n_rows"] > max_rows:
            return None
        dataset = _assemble(folder, meta, label, items_label, name, path)
    except Exception as error:  # noqa: BLE001 - a kept copy never fails a load
        reason = error if isinstance(error, Damaged) else f"{type(error).__name__} reading it"
        logger.warning(
            "The parsed copy of %s in the cache is damaged (%s); parsing the file again.",
            label,
            reason,
        )
        discard(folder)
        return None
    with contextlib.suppress(OSError):
        os.utime(folder)  # last used: `cache clean --unused-days` goes by it
    for note in dataset.extras["warnings"]:
        warnings.warn(note, UserWarning, stacklevel=stacklevel)
    return dataset


def read_meta(folder: Path, key: str) -> dict:
    try:
        with open(folder / META, "rb") as handle:
            raw = handle.read(META_MAX_BYTES + 1)
    except OSError:
        raise Damaged(f"{META} is unreadable") from None
    if len(raw) > META_MAX_BYTES:
        raise Damaged(f"{META} is larger than any the cache writes")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeError, ValueError, RecursionError):
        raise Damaged(f"{META} is not JSON") from None
    checks: dict[str, Callable[[Any], bool]] = {
        "schema": lambda v: v == SCHEMA,
        "reader": lambda v: v == READER_VERSION,
        "key": lambda v: v == key,
        "label": lambda v: isinstance(v, str),
        "items_label": lambda v: v is None or isinstance(v, str),
        "shape": lambda v: isinstance(v, list) and len(v) == 2 and all(_count(n) for n in v),
        "n_rows": _count,
        "arrays": lambda v: (
            isinstance(v, dict)
            and all(
                isinstance(n, str)
                and _NAME.match(n)
                and isinstance(s, dict)
                and isinstance(s.get("dtype"), str)
                and isinstance(s.get("shape"), list)
                and all(_count(d) for d in s["shape"])
                for n, s in v.items()
            )
        ),
        "matrices": lambda v: (
            isinstance(v, dict)
            and "interactions" in v
            and all(
                k in MATRICES
                and isinstance(p, dict)
                and set(p) == {"indptr", "indices", "data"}
                and all(isinstance(x, str) for x in p.values())
                for k, p in v.items()
            )
        ),
        "items": lambda v: isinstance(v, bool),
        "extras": lambda v: isinstance(v, dict),
        "warnings": lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
        "fingerprint": lambda v: isinstance(v, str) and bool(_FINGERPRINT.match(v)),
    }
    if not isinstance(meta, dict):
        raise Damaged(f"{META} is not an object")
    for field_name, check in checks.items():
        if field_name not in meta or not check(meta[field_name]):
            raise Damaged(f"{META} has a missing or wrong {field_name!r}")
    return meta


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


def _load(folder: Path, meta: dict, name: str) -> np.ndarray:
    spec = meta["arrays"].get(name)
    if spec is None:
        raise Damaged(f"{META} names an array {name!r} it does not describe")
    file = folder / f"{name}.npy"
    try:
        dtype = np.dtype(spec["dtype"])
    except TypeError:
        raise Damaged(f"{META} gives {name} an unknown dtype") from None
    if dtype.hasobject or dtype.kind not in "iufU" or dtype.fields is not None:
        raise Damaged(f"{META} gives {name} a dtype the cache never writes")
    big = math.prod(spec["shape"]) * dtype.itemsize > MMAP_BYTES
    try:
        array = np.load(file, mmap_mode="r" if big else None, allow_pickle=False)
    except FileNotFoundError:
        raise Damaged(f"{name}.npy is missing") from None
    except ValueError as error:
        if "pickle" in str(error) or "object" in str(error).lower():
            raise Damaged(f"{name}.npy holds objects, which are never unpickled") from None
        raise Damaged(f"{name}.npy is truncated or not an array") from None
    except (OSError, EOFError, TypeError, SyntaxError, OverflowError, MemoryError):
        raise Damaged(f"{name}.npy is truncated or not an array") from None
    if not isinstance(array, np.ndarray):
        raise Damaged(f"{name}.npy is not an array")
    if array.dtype != dtype or list(array.shape) != spec["shape"]:
        raise Damaged(f"{name}.npy does not have the dtype and shape its meta gives")
    return array


def _matrix(
    folder: Path,
    meta: dict,
    kind: str,
    shape: tuple[int, int],
    loaded: dict[str, np.ndarray],
    checked: set[tuple[str, str]],
) -> sp.csr_matrix:
    """One CSR matrix, its structure checked; index arrays the matrices share are read once
    (``loaded``, by name) and checked once (``checked``: (indptr, indices) pairs)."""
    names = meta["matrices"][kind]
    pattern = (names["indptr"], names["indices"])
    indptr, indices = (
        loaded[name] if name in loaded else _load(folder, meta, name) for name in pattern
    )
    data = _load(folder, meta, names["data"])
    if pattern in checked:
        if data.shape != indices.shape:
            raise Damaged(f"the {kind} matrix's parts do not fit together")
        _check_values(data, kind)
        return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)
    if indptr.dtype.name not in _INDEX_DTYPES or indices.dtype.name not in _INDEX_DTYPES:
        raise Damaged(f"the {kind} index arrays are not integers")
    n_rows, n_cols = shape
    if indptr.ndim != 1 or len(indptr) != n_rows + 1 or indices.ndim != 1:
        raise Damaged(f"the {kind} matrix does not have the dataset's shape")
    if data.shape != indices.shape or int(indptr[0]) != 0 or int(indptr[-1]) != len(indices):
        raise Damaged(f"the {kind} matrix's parts do not fit together")
    if n_rows and bool(np.any(indptr[1:] < indptr[:-1])):
        raise Damaged(f"the {kind} row pointers go backwards")
    # one pass: seen as unsigned, a negative index is larger than any column
    if len(indices) and int(indices.view(indices.dtype.str.replace("i", "u")).max()) >= n_cols:
        raise Damaged(f"the {kind} column indices are out of range")
    _check_values(data, kind)
    loaded.update({pattern[0]: indptr, pattern[1]: indices})
    checked.add(pattern)
    return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def _check_values(data: np.ndarray, kind: str) -> None:
    """The values' dtype; and for the likes, what models train on, that every one is finite
    (ratings and timestamps are only read where they are shown)."""
    if data.dtype.name not in _DATA_DTYPES[kind]:
        raise Damaged(f"the {kind} values are {data.dtype.name}")
    if kind == "interactions" and not bool(np.isfinite(data).all()):
        raise Damaged(f"the {kind} values are not all finite")


def _read_items(folder: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq  # only here: most entries have no items file

    try:
        table = pq.read_table(folder / ITEMS, use_threads=False)
    except (OSError, pa.ArrowException, ValueError):
        raise Damaged(f"{ITEMS} is truncated or not parquet") from None
    if any(isinstance(f.type, pa.ExtensionType) for f in table.schema):
        raise Damaged(f"{ITEMS} holds a column type the cache never writes")
    try:
        frame = finish_items(table.to_pandas())
    except (KeyError, ValueError, TypeError, pa.ArrowException):
        raise Damaged(f"{ITEMS} is not an items table") from None
    return frame


def _assemble(
    folder: Path, meta: dict, label: str, items_label: str | None, name: str, path: Path
) -> Dataset:
    shape = (meta["shape"][0], meta["shape"][1])
    loaded: dict[str, np.ndarray] = {}
    checked: set[tuple[str, str]] = set()
    matrices = {
        kind: _matrix(folder, meta, kind, shape, loaded, checked) for kind in meta["matrices"]
    }
    user_ids = _load(folder, meta, "user_ids")
    item_ids = _load(folder, meta, "item_ids")
    for ids, size in ((user_ids, shape[0]), (item_ids, shape[1])):
        if ids.dtype.kind != "U" or ids.shape != (size,):
            raise Damaged("the id arrays do not match the matrix")
    if matrices["interactions"].nnz == 0:
        raise Damaged("the interactions matrix is empty")
    items = _read_items(folder) if meta["items"] else None
    notes = [
        _relabel(_relabel(note, meta["label"], label), meta["items_label"], items_label)
        for note in meta["warnings"]
    ]
    extras = dict(meta["extras"])
    extras.update(source_path=str(path), warnings=notes)
    try:
        dataset = Dataset(
            name=name,
            interactions=matrices["interactions"],
            user_ids=user_ids,
            item_ids=item_ids,
            items=normalise_items(items, item_ids),
            timestamps=matrices.get("timestamps"),
            ratings=matrices.get("ratings"),
            description=f"Interactions from {label}",
            extras=extras,
        )
    except (ValueError, TypeError, KeyError) as error:  # DatasetError is a ValueError
        raise Damaged(f"its parts do not make a dataset ({type(error).__name__})") from None
    # computed from these very arrays when they were written (checked above for structure):
    # the fingerprint hashes them all, the counts go over every interaction (a pass of 20M)
    dataset.__dict__["fingerprint"] = meta["fingerprint"]
    if "item_counts" in meta["arrays"]:
        counts = np.array(_load(folder, meta, "item_counts"))
        if (
            counts.shape != (shape[1],)
            or counts.dtype != np.int64
            or bool((counts < 0).any())
            or int(counts.sum()) != dataset.n_interactions
        ):
            raise Damaged("item_counts.npy does not count the interactions")
        counts.setflags(write=False)
        dataset.__dict__["item_counts"] = counts
    return dataset


def _relabel(note: str, old: str | None, new: str | None) -> str:
    if old and new and old != new:
        return note.replace(old, new)
    return note
