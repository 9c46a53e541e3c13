"""Writing an entry: the arrays go to a temporary folder that is renamed into place.

``<key>/<name>.npy`` holds the CSR parts (indptr, indices, data) of the interactions, ratings and
timestamps (an index array the matrices share is kept once), ``user_ids`` and ``item_ids``
(fixed-width text) and ``item_counts``; ``items.parquet`` the items file as read; ``meta.json``
what they are. A reader never sees half an entry; a failure (a read-only or full disk) is
logged, never raised. Nothing is fsynced: after a crash, a damaged entry is just parsed again.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ...dataset import Dataset
from ...util.files import place_folder
from ...util.jsonsafe import json_default
from .folder import (
    ITEMS,
    MATRICES,
    META,
    READER_VERSION,
    SCHEMA,
    TMP,
    Damaged,
    logger,
    sweep,
)
from .read import read_meta


def _buffer(array: np.ndarray) -> tuple:
    return (array.__array_interface__["data"][0], array.shape, array.dtype.str)


def write_entry(
    base: Path,
    key: str,
    dataset: Dataset,
    items: pd.DataFrame | None,
    *,
    label: str,
    items_label: str | None,
    seconds: float,
) -> None:
    """Keep ``dataset`` as entry ``key`` (atomically); a failure is logged, never raised."""
    temp = base / f"{TMP}{key}-{uuid.uuid4().hex[:8]}"
    try:
        sweep(base)
        temp.mkdir()
        arrays: dict[str, dict] = {}
        written: dict[tuple, str] = {}
        matrices: dict[str, dict[str, str]] = {}
        for kind in MATRICES:
            matrix = getattr(dataset, kind)
            if matrix is None:
                continue
            parts = {}
            for part in ("indptr", "indices", "data"):
                array = np.ascontiguousarray(getattr(matrix, part))
                shared = written.get(_buffer(array)) if part != "data" else None
                if shared is None:
                    shared = f"{kind}.{part}"
                    _save(temp, shared, array, arrays)
                    written[_buffer(array)] = shared
                parts[part] = shared
            matrices[kind] = parts
        for ids in ("user_ids", "item_ids"):
            _save(temp, ids, np.asarray(getattr(dataset, ids)), arrays)
        _save(temp, "item_counts", np.asarray(dataset.item_counts, dtype=np.int64), arrays)
        if items is not None:
            _save_items(temp / ITEMS, items)
        extras = {k: v for k, v in dataset.extras.items() if k not in ("source_path", "warnings")}
        meta = {
            "schema": SCHEMA,
            "reader": READER_VERSION,
            "key": key,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "label": label,
            "items_label": items_label if items is not None else None,
            "source": os.path.abspath(str(dataset.extras.get("source_path", ""))),
            "shape": [int(dataset.n_users), int(dataset.n_items)],
            "n_rows": int(dataset.extras.get("n_rows", 0)),
            "arrays": arrays,
            "matrices": matrices,
            "items": items is not None,
            "extras": extras,
            "warnings": [str(note) for note in dataset.extras.get("warnings", [])],
            "fingerprint": dataset.fingerprint,
            "parse_seconds": round(seconds, 3),
        }
        (temp / META).write_text(json.dumps(meta, default=json_default), encoding="utf-8")
        # there may be one already (another writer's): kept if it is whole, else replaced
        place_folder(temp, base / key, keep=lambda final: _whole(final, key))
    except Exception as error:  # noqa: BLE001 - the cache must never fail a load
        logger.warning(
            "Could not keep the parsed copy of %s (%s: %s); it will be parsed again next time.",
            label,
            type(error).__name__,
            error,
        )
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def _whole(folder: Path, key: str) -> bool:
    try:
        read_meta(folder, key)
    except Damaged:
        return False
    return True


def _save(folder: Path, name: str, array: np.ndarray, arrays: dict[str, dict]) -> None:
    if array.dtype.hasobject:
        raise TypeError(f"{name} holds objects")
    with open(folder / f"{name}.npy", "wb") as handle:
        np.save(handle, array, allow_pickle=False)
    arrays[name] = {"dtype": array.dtype.str, "shape": list(array.shape)}


def _save_items(path: Path, items: pd.DataFrame) -> None:
    import pyarrow.parquet as pq  # only here: most entries have no items file

    table = pa.Table.from_pandas(items, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), path)
