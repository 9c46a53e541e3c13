"""What a listing of the store shows: one :class:`ModelEntry` per folder, damaged ones included.

A listing checks each model's meta and its arrays' headers, and rebuilds models of up to
:data:`LISTING_CHECK_BYTES` (once per process until their files change, :mod:`.damage`); a
damaged or foreign entry is listed with one sentence saying why and never breaks a listing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..algorithms import loader
from ..errors import StoreError
from .arrays import ARRAYS, Damaged, arrays_bytes, read_npz
from .damage import known_damage, known_good, remember_good
from .folders import ID_PATTERN, PARKED, TMP_PREFIX, parked_ids, recover, sweep_stale
from .meta import params_problem, quoted, read_meta
from .rebuild import rebuild

LISTING_CHECK_BYTES = 8 << 20
"""Models whose arrays take at most this (8 MB) are rebuilt by a listing, so damage in their
data is listed too; larger ones are checked when loaded (see :func:`inspect`)."""


@dataclass(frozen=True)
class ModelEntry:
    """One folder of the store as seen by :meth:`ModelStore.list`.

    ``meta`` is the parsed ``meta.json`` (None when it could not be read); ``damaged`` is None for
    a good entry, else one sentence saying what is wrong.
    """

    model_id: str
    path: Path
    meta: dict | None = None
    damaged: str | None = None

    @property
    def ok(self) -> bool:
        return self.damaged is None

    @property
    def algorithm(self) -> str | None:
        return (self.meta or {}).get("algorithm")

    @property
    def created(self) -> str:
        return str((self.meta or {}).get("created") or "")

    def to_dict(self) -> dict:
        """A JSON-ready summary (what ``models --json`` prints per model)."""
        meta = self.meta or {}
        return {
            "model_id": self.model_id,
            "algorithm": meta.get("algorithm"),
            "params": meta.get("params"),
            "dataset": meta.get("dataset"),
            "dataset_label": meta.get("dataset_label"),
            "fingerprint": meta.get("fingerprint"),
            "variant": meta.get("variant"),
            "n_users": meta.get("n_users"),
            "n_items": meta.get("n_items"),
            "fit_seconds": meta.get("fit_seconds"),
            "created": meta.get("created"),
            "metrics": meta.get("metrics") or {},
            "damaged": self.damaged,
        }


def list_entries(root: Path, fingerprint: str | None = None) -> list[ModelEntry]:
    """Every entry of the store at ``root``, newest first (see :meth:`ModelStore.list`), once
    the copies an interrupted replace parked are put back."""
    try:
        children = list(os.scandir(root))
    except FileNotFoundError:
        return []
    parked = parked_ids([child.name for child in children])
    if parked:  # a replace was interrupted: put the old copies back (or drop them) first
        for model_id in parked:
            recover(root, model_id, 0.0)
        children = list(os.scandir(root))
    entries = []
    for child in children:
        if child.name.startswith("."):
            match = PARKED.match(child.name)
            parked_copy = match is not None and ID_PATTERN.match(match["model_id"])
            if child.name.startswith(TMP_PREFIX) and not parked_copy:
                sweep_stale(Path(child.path))
            continue
        if not child.is_dir():
            if fingerprint is None:
                stray = ModelEntry(child.name, Path(child.path), None, "a stray file, not a model")
                entries.append(stray)
            continue
        meta, reason = inspect(root, child.name)
        if fingerprint is not None and (meta is None or meta.get("fingerprint") != fingerprint):
            continue
        entries.append(ModelEntry(child.name, Path(child.path), meta, reason))
    return sorted(entries, key=_newest_first, reverse=True)


def inspect(root: Path, model_id: str) -> tuple[dict | None, str | None]:
    """(meta or None, None or the reason the entry is damaged).

    Cheap: the meta and the arrays' headers are read; a model whose arrays take at most
    :data:`LISTING_CHECK_BYTES` is also rebuilt (every check of a load but the dataset's),
    once per process until its files change. Larger ones are checked when loaded.
    """
    folder = root / model_id
    if not ID_PATTERN.match(model_id):
        return None, "a foreign folder, not a model id"
    meta, reason = read_meta(folder)
    if reason is not None:
        return meta, reason
    cls = loader(meta["algorithm"])
    if cls is None:
        return meta, f"unknown algorithm {quoted(meta['algorithm'])}"
    problem = params_problem(cls, meta["params"])
    if problem is not None:
        return meta, problem
    try:
        headers = read_npz(folder / ARRAYS, data=False)
    except Damaged as error:
        return meta, str(error)
    known = known_damage(folder)
    if known is not None or known_good(folder):
        return meta, known
    if arrays_bytes(headers) <= LISTING_CHECK_BYTES:
        try:
            rebuild(root, model_id, meta)
        except StoreError as error:
            return meta, getattr(error, "reason", None) or str(error)
        remember_good(folder)
    return meta, None


def _newest_first(entry: ModelEntry) -> tuple:
    try:
        mtime = entry.path.stat().st_mtime
    except OSError:
        mtime = 0.0
    stamp = entry.created or datetime.fromtimestamp(mtime, UTC).isoformat()
    return (stamp, entry.model_id)
