"""The disk cache of projections, under ``config.cache_dir("projections")``.

One entry per (what was projected, content hash of the vectors, method, parameters): an
``.npz`` (read with ``allow_pickle=False``) and a ``.json`` beside it, each written atomically
(:func:`recsys_core.util.files.atomic_write`). The file name starts with the model id when there
is one, so a model's entries are easy to find. A damaged entry is recomputed, never raised.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path

import numpy as np

from .. import config
from ..util.files import atomic_write, atomic_write_json, write_via
from .methods import TSNE_EARLY_ITERATIONS, TSNE_ITERATIONS
from .result import Projection

CACHE_VERSION = 1


def cache_dir() -> Path:
    """Where projections are cached (under RECSYS_HOME)."""
    return config.cache_dir("projections")


def cache_key(
    data: np.ndarray,
    extra: np.ndarray | None,
    strata: np.ndarray | None,
    method: str,
    params: dict,
) -> str:
    """The content hash naming an entry: the vectors (and extra rows, strata), the method and
    everything that determined the map. The same bytes as ever, so old entries are still hits."""
    digest = hashlib.blake2b(digest_size=10)
    for part in (data, extra):
        if part is None:
            digest.update(b"-")
            continue
        digest.update(np.asarray(part.shape, np.int64).tobytes())
        digest.update(np.ascontiguousarray(part, dtype=np.float32).tobytes())
    if strata is not None:
        digest.update("\x1f".join(map(str, np.asarray(strata).tolist())).encode("utf-8"))
    payload = {"v": CACHE_VERSION, "method": method, "params": params}
    if method == "tsne":
        payload["schedule"] = [TSNE_EARLY_ITERATIONS, TSNE_ITERATIONS]
    digest.update(json.dumps(payload, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def cache_path(name: str | None, key: str) -> Path:
    """The entry's path without suffix: ``<name>-<key>`` (the name made file-safe)."""
    prefix = "".join(c if c.isalnum() or c in "-_." else "_" for c in (name or "vectors"))[:80]
    return cache_dir() / f"{prefix}-{key}"


def read_cache(path: Path, key: str) -> Projection | None:
    """The cached projection, or None when absent or damaged (then it is recomputed)."""
    npz, meta_path = path.with_suffix(".npz"), path.with_suffix(".json")
    if not npz.exists() or not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(npz, allow_pickle=False) as arrays:
            coords = np.asarray(arrays["coords"], dtype=np.float32)
            indices = np.asarray(arrays["indices"], dtype=np.int64)
            tags = np.asarray(arrays["tag_coords"], dtype=np.float32) if meta["has_tags"] else None
        ok = (
            meta.get("key") == key
            and coords.ndim == 2
            and coords.shape == (len(indices), 2)
            and np.isfinite(coords).all()
            and (tags is None or (tags.ndim == 2 and tags.shape[1] == 2))
            and (tags is None or len(tags) == len(meta["tag_names"]))
        )
        if not ok:
            return None
        return Projection(
            coords=coords,
            indices=indices,
            method=str(meta["method"]),
            params=dict(meta["params"]),
            seconds=float(meta["seconds"]),
            note=str(meta.get("note", "")),
            n_total=int(meta["n_total"]),
            tag_coords=tags,
            tag_names=tuple(meta["tag_names"]),
            cached=True,
            key=key,
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def write_cache(path: Path, result: Projection) -> None:
    """Write the entry (the arrays, then the meta that makes it a hit), each file atomically;
    a full or read-only disk only costs the cache."""
    arrays = {"coords": result.coords, "indices": result.indices}
    if result.tag_coords is not None:
        arrays["tag_coords"] = result.tag_coords
    meta = {
        "key": result.key,
        "method": result.method,
        "params": result.params,
        "seconds": result.seconds,
        "note": result.note,
        "n_total": result.n_total,
        "has_tags": result.tag_coords is not None,
        "tag_names": list(result.tag_names),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        atomic_write(path.with_suffix(".npz"), write_via(lambda handle: np.savez(handle, **arrays)))
        atomic_write_json(path.with_suffix(".json"), meta, indent=None, sort_keys=False)
    except OSError:
        pass


def clear_cache(name: str | None = None) -> int:
    """Delete cached projections (all, or those whose file name starts with ``name``)."""
    removed = 0
    for entry in cache_dir().iterdir():
        if entry.suffix in (".npz", ".json") and (name is None or entry.name.startswith(name)):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
