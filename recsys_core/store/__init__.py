"""The model store: trained models on disk, one folder per model, never pickled.

Layout under ``root`` (default ``$RECSYS_HOME/models``)::

    <model_id>/arrays.npz     np.savez of model.to_arrays(); read with allow_pickle=False
    <model_id>/meta.json      algorithm, params, dataset, versions, fit time, metrics (below)
    .locks/<model_id>.lock    fcntl.flock target guarding writes of that model
    .tmp-*                    folders being written (renamed into place when complete)

The model id is derived from the dataset fingerprint, the algorithm and its parameters
(:func:`model_id_for`), so training the same thing twice finds the first one.

Writes are atomic: the folder is written under a temporary name inside the store, fsynced, then
renamed into place, all under an exclusive lock on the model id; if a good copy appeared
meanwhile it is kept and the new one dropped. Replacing a model (``train --force``) swaps the
two folders in one step where the filesystem offers it (Linux ``renameat2(RENAME_EXCHANGE)``);
elsewhere the old folder is parked as ``.tmp-old-<model_id>-*`` until the new one is in place,
and a parked copy whose model is missing (the writer was killed between its two renames) is put
back by the next one to take the lock, list the store or ask for the model. So a kill at any
moment leaves the old model or the new one. ``meta.json`` updates are a temporary file plus
``os.replace`` under the same lock.

Everything read back is treated as untrusted. ``meta.json`` is read with a size cap
(:data:`META_MAX_BYTES`), any JSON shape or depth, and the fields the store, the CLI and the app
use are checked for type (a bad field is left out of the entry's ``meta``). ``arrays.npz`` is read
member by member (plain numeric ``.npy`` only: no objects, no compression, sizes that match the
file) and each adapter's ``from_arrays`` checks dtypes, shapes, finiteness and sparse indices
(:mod:`recsys_core.algorithms.stored`) before scipy or implicit see them; the rebuilt model must
agree with its meta and with the dataset. A damaged or foreign entry is listed with one sentence
saying why and never breaks a listing; loading it raises :class:`~recsys_core.errors.StoreError`
("Model X is damaged: ...; train it again."). A listing checks the meta and the arrays' headers,
and rebuilds models of up to :data:`LISTING_CHECK_BYTES` (once per process until their files
change); damage in the data of a larger model (an index out of range, a NaN) is found when it is
loaded, and from then on this process's listings report it too.

``meta.json`` keys (schema 1): ``schema``, ``model_id``, ``algorithm``, ``params``, ``dataset``
(name), ``dataset_label``, ``fingerprint``, ``dataset_source`` (``{"spec", "data_dir",
"options"}``: what to pass to ``load_dataset`` to get the dataset back; ``spec`` is a registry
name or an absolute file path), ``reused_sources`` (optional: the other sources of the same
content the model was asked to train on and reused for, in the same shape; see
:meth:`ModelStore.add_sources`), ``n_users``, ``n_items``, ``versions`` (library versions),
``fit_seconds``, ``created`` (ISO 8601 UTC), ``metrics`` (``{protocol key: {metric: value}}``),
``extra`` (free-form dict from the caller).
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import difflib
import errno
import fcntl
import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, config
from ..algorithms.base import Recommender
from ..algorithms.stored import describe_dtype
from ..dataset import Dataset
from ..datasets import sources_of  # below the store: recorded_files reads it too
from ..errors import StoreError, UserError
from .metrics_format import METRICS, upgrade_stored_metrics

SCHEMA_VERSION = 1
ARRAYS = "arrays.npz"
META = "meta.json"
_TMP_PREFIX = ".tmp-"
_LOCK_DIR = ".locks"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")
_STALE_TMP_SECONDS = 3600.0
_PARKED = re.compile(r"^\.tmp-old-(?P<model_id>.+)-[0-9a-f]{8}$")
_ALGORITHM_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
META_MAX_BYTES = 1 << 20
MAX_REUSED_SOURCES = 64
"""The most ``reused_sources`` a meta keeps (the newest; each a path of at most a few KB)."""
"""The largest ``meta.json`` read (1 MB; the store writes a few KB)."""
_RECOVERY_WAIT_SECONDS = 2.0
LISTING_CHECK_BYTES = 8 << 20
"""Models whose arrays take at most this (8 MB) are rebuilt by a listing, so damage in their
data is listed too; larger ones are checked when loaded (see :meth:`ModelStore._inspect`)."""
_VERSION_DISTRIBUTIONS = {
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "implicit": ("implicit",),
    "lightfm": ("lightfm", "lightfm-next"),
    "sklearn": ("scikit-learn",),
}


def model_id_for(
    fingerprint: str, algorithm: str, params: dict[str, Any], variant: str | None = None
) -> str:
    """The store key of a model: ``"<algorithm>-<12 hex digits>"``, e.g. ``"als-1a2b3c4d5e6f"``.

    Parameters
    ----------
    fingerprint : str
        The dataset's content fingerprint (``Dataset.fingerprint``).
    algorithm : str
        Registry key.
    params : dict
        Full parameter values (``get_params()``); serialised as sorted JSON, so key order and
        ``1`` vs ``1.0`` for a float parameter validated the same way give the same id.
    variant : str, optional
        Anything else that changes the trained model for the same dataset (for example the train
        part of a split: ``"split=user-holdout:0.2:seed=0"``); None for the whole dataset.
    """
    payload = json.dumps(
        {"fingerprint": fingerprint, "algorithm": algorithm, "params": params, "variant": variant},
        sort_keys=True,
        separators=(",", ":"),
        default=_json_default,
    )
    digest = hashlib.blake2b(payload.encode("utf-8"), digest_size=6).hexdigest()
    return f"{algorithm}-{digest}"


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a stored model depends on (None where not installed)."""
    versions: dict[str, str | None] = {}
    for key, names in _VERSION_DISTRIBUTIONS.items():
        versions[key] = None
        for name in names:
            try:
                versions[key] = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    versions["recsys_core"] = __version__
    return versions


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


class ModelStore:
    """Trained models on disk (see the module docstring for the layout and guarantees).

    Parameters
    ----------
    root : path, optional
        The store folder; default ``config.models_dir()`` (``$RECSYS_HOME/models``).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else config.models_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"ModelStore({str(self.root)!r})"

    # ------------------------------------------------------------------ keys and paths
    model_id_for = staticmethod(model_id_for)

    def path(self, model_id: str) -> Path:
        """The folder of a model (whether or not it exists)."""
        _check_id(model_id)
        return self.root / model_id

    def exists(self, model_id: str) -> bool:
        """Whether a folder for ``model_id`` exists (good or damaged).

        A model whose replacement was interrupted (its old copy parked, see the module
        docstring) is put back first.
        """
        if not _ID_PATTERN.match(str(model_id)):
            return False
        if (self.root / model_id).is_dir():
            return True
        if self._parked(model_id):
            self._recover(model_id, _RECOVERY_WAIT_SECONDS)
        return (self.root / model_id).is_dir()

    @contextlib.contextmanager
    def lock(self, model_id: str, on_wait: Callable[[], Any] | None = None) -> Iterator[None]:
        """Hold the exclusive lock on ``model_id`` (re-entrant within a thread).

        Other processes and threads writing the same model wait; readers never take it.
        ``on_wait()`` is called once if the lock is busy, before waiting for it. Whoever takes
        the lock first puts back a copy parked by a writer that was killed mid-replace.
        """
        _check_id(model_id)
        lock_dir = self.root / _LOCK_DIR
        lock_dir.mkdir(exist_ok=True)
        with _file_lock(lock_dir / f"{model_id}.lock", on_wait):
            self._settle(model_id)
            yield

    def _recover(self, model_id: str, wait: float) -> None:
        """Settle ``model_id``'s parked copies if its lock comes free within ``wait`` seconds
        (a live writer holding it settles them itself)."""
        lock_dir = self.root / _LOCK_DIR
        try:
            lock_dir.mkdir(exist_ok=True)
            with _file_lock(lock_dir / f"{model_id}.lock", timeout=wait) as held:
                if held:
                    self._settle(model_id)
        except OSError:
            pass  # a read-only store: nothing to repair, the listing carries on

    def _settle(self, model_id: str) -> None:
        """Put a parked copy back if ``model_id``'s folder is missing, and remove parked copies
        no longer needed (the caller holds the lock)."""
        parked = self._parked(model_id)
        if not parked:
            return
        target = self.root / model_id
        if not target.exists():
            with contextlib.suppress(OSError):
                os.rename(parked.pop(), target)
                _fsync_dir(self.root)
        for path in parked:
            _remove(path)

    def _parked(self, model_id: str) -> builtins.list[Path]:
        """Old copies of ``model_id`` parked by an interrupted replace (usually none)."""
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        found = []
        for name in names:
            match = _PARKED.match(name)
            if match and match["model_id"] == model_id:
                found.append(self.root / name)
        return sorted(found)

    # ------------------------------------------------------------------ writing
    def save(
        self,
        model: Recommender,
        dataset: Dataset,
        *,
        fit_seconds: float | None = None,
        extra: dict | None = None,
        source: dict | None = None,
        variant: str | None = None,
        overwrite: bool = False,
    ) -> str:
        """Write a fitted model; returns its model id.

        Parameters
        ----------
        model : Recommender
            Fitted on ``dataset`` (or on a part of it, then say which with ``variant``).
        dataset : Dataset
            Its name, label and fingerprint go into the meta; n_items must match the model.
        fit_seconds : float, optional
            Training wall time (default ``model.fit_seconds_`` when set).
        extra : dict, optional
            JSON-serialisable extras kept under ``meta["extra"]``.
        source : dict, optional
            How to load the dataset again: ``{"spec": name or path, "data_dir": ..., "options":
            {...}}``; default the dataset's name (or ``dataset.extras["path"]`` for files).
        variant : str, optional
            See :func:`model_id_for`.
        overwrite : bool
            Replace a good model with the same id (``train --force``); otherwise an existing
            good copy is kept and this one dropped. A damaged copy is always replaced.
        """
        if not model.is_fitted:
            raise StoreError(f"The {model.name} model is not fitted; fit it before saving it.")
        if model.n_items_ != dataset.n_items:
            raise ValueError(
                f"The model has {model.n_items_:,} items but {dataset.label} has "
                f"{dataset.n_items:,}; save it with the dataset it was trained on."
            )
        params = _plain(model.get_params())
        model_id = model_id_for(dataset.fingerprint, model.name, params, variant)
        arrays = model.to_arrays()
        for key, value in arrays.items():
            dtype = np.asarray(value).dtype
            if dtype.kind not in "biuf" or dtype.fields is not None:
                kind = "an object" if dtype.hasobject else f"a {dtype}"
                raise TypeError(
                    f"{model.name}.to_arrays()[{key!r}] is {kind} array; the store never "
                    "pickles and reads numbers only, so return numeric arrays."
                )
        if fit_seconds is None:
            fit_seconds = getattr(model, "fit_seconds_", None)
        meta = {
            "schema": SCHEMA_VERSION,
            "model_id": model_id,
            "algorithm": model.name,
            "params": params,
            "dataset": dataset.name,
            "dataset_label": dataset.label,
            "fingerprint": dataset.fingerprint,
            "dataset_source": _plain(source or default_source(dataset)),
            "variant": variant,
            "synthetic": bool(dataset.synthetic),
            "n_users": int(getattr(model, "n_users_", None) or dataset.n_users),
            "n_items": int(model.n_items_),
            "versions": library_versions(),
            "fit_seconds": None if fit_seconds is None else float(fit_seconds),
            "created": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "metrics": {},
            "extra": _plain(extra or {}),
        }
        with self.lock(model_id):
            target = self.root / model_id
            if target.exists() and not overwrite and self._inspect(model_id)[1] is None:
                return model_id  # a good copy is already there: keep it, drop ours
            tmp = self._write_tmp(model_id, arrays, meta)
            self._move_into_place(tmp, target)
        return model_id

    def _write_tmp(self, model_id: str, arrays: dict, meta: dict) -> Path:
        tmp = self.root / f"{_TMP_PREFIX}{model_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            with open(tmp / ARRAYS, "wb") as handle:
                np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})
                handle.flush()
                os.fsync(handle.fileno())
            _write_json(tmp / META, meta)
            _fsync_dir(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return tmp

    def _move_into_place(self, tmp: Path, target: Path) -> None:
        """Put the folder ``tmp`` at ``target`` (the caller holds the lock), so that a kill at
        any moment leaves the old folder or the new one there.

        A new model is one rename. A replacement is one exchange of the two folders where the
        filesystem offers it; elsewhere the old folder is parked (``.tmp-old-<id>-*``) before
        the new one is renamed in, and :meth:`_settle` puts it back if that never happens.
        """
        if not (target.exists() or target.is_symlink()):
            try:
                os.rename(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            _fsync_dir(self.root)
            return
        try:
            swapped = _exchange(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if swapped:  # tmp now holds the old folder
            _fsync_dir(self.root)
            _remove(tmp)
            return
        old = self.root / f"{_TMP_PREFIX}old-{target.name}-{uuid.uuid4().hex[:8]}"
        try:
            _park(target, old)
            _place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if not target.exists() and old.exists():
                os.rename(old, target)
            raise
        _fsync_dir(self.root)
        _remove(old)

    def update_meta(self, model_id: str, **fields: Any) -> dict:
        """Change fields of a model's meta.json atomically; returns the new meta.

        ``metrics`` (a dict) is merged into the existing metrics by key (one key per evaluation
        protocol); every other field replaces its value.
        """
        with self.lock(model_id):
            meta = self.meta(model_id)
            for key, value in fields.items():
                if key == "metrics" and isinstance(value, dict):
                    merged = dict(meta.get("metrics") or {})
                    merged.update(_plain(value))
                    meta["metrics"] = merged
                else:
                    meta[key] = _plain(value)
            path = self.path(model_id) / META
            tmp = path.with_name(f"{_TMP_PREFIX}{META}-{uuid.uuid4().hex[:8]}")
            try:
                _write_json(tmp, meta)
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_dir(path.parent)
        return meta

    def add_sources(self, model_id: str, sources: builtins.list[dict]) -> bool:
        """Record that ``model_id`` also stands for the dataset loaded from each of ``sources``
        (``{"spec", "data_dir", "options"}``, as for :meth:`save`): a file with the same content
        at another path, whose training reused this model. Kept in ``meta["reused_sources"]``
        (at most :data:`MAX_REUSED_SOURCES`, the newest), so a link may open every file the
        model was asked to train on (:func:`recsys_core.datasets.recorded_files`).

        Returns
        -------
        bool
            Whether the meta changed (a source it records already is left as it is).
        """
        with self.lock(model_id):
            meta = self.meta(model_id)
            known = sources_of(meta)
            added: builtins.list[dict] = []
            for source in map(_plain, sources):
                fits = _is_source(source) and isinstance(source.get("spec"), str)
                if fits and source not in known and source not in added:
                    added.append(source)
            if not added:
                return False
            reused = builtins.list(meta.get("reused_sources") or []) + added
            self.update_meta(model_id, reused_sources=reused[-MAX_REUSED_SOURCES:])
        return True

    def record_metrics(self, model_id: str, protocol: str, metrics: dict[str, Any]) -> dict:
        """Store one evaluation's metrics under ``meta["metrics"][protocol]`` (merged, atomic).

        ``protocol`` names how the numbers were obtained, e.g. ``"user-holdout:0.2@k=10"``, so
        results of different protocols sit side by side and re-evaluating replaces only its own.
        """
        return self.update_meta(model_id, metrics={str(protocol): dict(metrics)})

    def delete(self, model_id: str) -> None:
        """Remove a model (good or damaged); StoreError for an unknown id."""
        self._require(model_id)
        with self.lock(model_id):
            target = self.root / model_id
            if not target.exists():
                return
            trash = self.root / f"{_TMP_PREFIX}del-{model_id}-{uuid.uuid4().hex[:8]}"
            os.rename(target, trash)
            _remove(trash)
            _fsync_dir(self.root)

    # ------------------------------------------------------------------ reading
    def meta(self, model_id: str) -> dict:
        """The parsed, checked meta.json of a model; StoreError if unknown or damaged."""
        self._require(model_id)
        meta, reason = self._read_meta(self.root / model_id)
        if reason is not None:
            raise self._damaged(model_id, reason)
        return meta

    def load(self, model_id: str, dataset: Dataset | None = None) -> Recommender:
        """Rebuild a stored model; with ``dataset``, attach its interactions (the seen items).

        Raises
        ------
        StoreError
            Unknown id (the message lists the closest ones), a damaged entry (one sentence:
            what is wrong), or a ``dataset`` whose fingerprint is not the one the model was
            trained on.
        """
        meta = self.meta(model_id)
        if dataset is not None:
            self._check_fingerprint(model_id, meta, dataset)
        model = self._rebuild(model_id, meta)
        if dataset is not None:
            self._check_sizes(model_id, model, dataset.n_users, dataset.n_items, "the dataset")
            model.attach(dataset.interactions)
        return model

    def open(
        self, model_id: str, *, progress: Callable[[float, str], None] | None = None
    ) -> tuple[Recommender, Dataset]:
        """The model and the dataset it was trained on (reloaded from ``meta["dataset_source"]``).

        The model is rebuilt (and its arrays checked) before the dataset is read, so a damaged
        model is reported at once. Raises StoreError if the dataset found there is no longer
        the one the model was trained on (a file that changed since), and the loader's
        DatasetError if it cannot be read.
        """
        from ..datasets import load_dataset

        meta = self.meta(model_id)
        source = meta.get("dataset_source") or {"spec": meta.get("dataset")}
        spec = source.get("spec") or meta.get("dataset")
        if not spec:
            raise StoreError(
                f"Model {model_id} does not record its dataset; delete it and train it again."
            )
        model = self._rebuild(model_id, meta)
        try:
            dataset = load_dataset(
                str(spec),
                data_dir=source.get("data_dir"),
                progress=progress,
                **dict(source.get("options") or {}),
            )
        except TypeError:  # options this version's loaders do not take
            raise self._damaged(
                model_id, f"{META} records dataset options that do not load its dataset"
            ) from None
        self._check_fingerprint(model_id, meta, dataset)
        self._check_sizes(model_id, model, dataset.n_users, dataset.n_items, "the dataset")
        model.attach(dataset.interactions)
        return model, dataset

    def _rebuild(self, model_id: str, meta: dict) -> Recommender:
        """The model from its checked arrays; it must agree with its meta's sizes."""
        from ..algorithms import loader
        from ..algorithms.stored import DamagedArrays

        algorithm = meta["algorithm"]
        cls = loader(algorithm)
        if cls is None:
            raise StoreError(
                f"Model {model_id} was trained with algorithm {_quoted(algorithm)}, which is not "
                "available here; install its library or delete the model."
            )
        problem = _params_problem(cls, meta["params"])
        if problem is not None:
            raise self._damaged(model_id, problem)
        arrays = self._read_arrays(model_id)
        try:
            model = cls.from_arrays(arrays, dict(meta["params"]))
        except DamagedArrays as error:
            raise self._damaged(model_id, str(error)) from None
        except (UserError, KeyError, ValueError, TypeError, IndexError, OverflowError,
                MemoryError):
            raise self._damaged(
                model_id, f"its arrays do not rebuild a {algorithm} model"
            ) from None
        self._check_sizes(model_id, model, meta.get("n_users"), meta.get("n_items"), META)
        model.fit_seconds_ = meta.get("fit_seconds")
        return model

    @staticmethod
    def _check_fingerprint(model_id: str, meta: dict, dataset: Dataset) -> None:
        if dataset.fingerprint == meta.get("fingerprint"):
            return
        trained_on = meta.get("dataset_label") or meta.get("dataset")
        raise StoreError(
            f"Model {model_id} was trained on {trained_on} (fingerprint "
            f"{meta.get('fingerprint')}), not on {dataset.label} (fingerprint "
            f"{dataset.fingerprint}); load the dataset it was trained on or train it again."
        )

    def _check_sizes(
        self,
        model_id: str,
        model: Recommender,
        n_users: int | None,
        n_items: int | None,
        where: str,
    ) -> None:
        """The rebuilt model's user and item counts must be ``where``'s (None: not known)."""
        for count, expected, what in (
            (getattr(model, "n_users_", None), n_users, "users"),
            (model.n_items_, n_items, "items"),
        ):
            if count is not None and expected is not None and int(count) != int(expected):
                raise self._damaged(
                    model_id,
                    f"its arrays hold {int(count):,} {what} where {where} has {int(expected):,}",
                )

    def _damaged(self, model_id: str, reason: str) -> StoreError:
        """The one-sentence error for a damaged entry, remembered for this process's listings."""
        _remember_damage(self.root / model_id, reason)
        error = StoreError(f"Model {model_id} is damaged: {reason}; train it again.")
        error.reason = reason
        return error

    def _read_arrays(self, model_id: str) -> dict[str, np.ndarray]:
        try:
            return _read_npz(self.root / model_id / ARRAYS, data=True)
        except _Damaged as error:
            raise self._damaged(model_id, str(error)) from None

    def list(self, fingerprint: str | None = None) -> builtins.list[ModelEntry]:
        """Every entry of the store, newest first; damaged ones included with a reason.

        Parameters
        ----------
        fingerprint : str, optional
            Only models trained on the dataset with this fingerprint (entries whose meta cannot
            be read are then left out, since their dataset is unknown).
        """
        entries = []
        try:
            children = builtins.list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        parked = {_PARKED.match(c.name)["model_id"] for c in children if _PARKED.match(c.name)}
        parked = {model_id for model_id in parked if _ID_PATTERN.match(model_id)}
        if parked:  # a replace was interrupted: put the old copies back (or drop them) first
            for model_id in parked:
                self._recover(model_id, 0.0)
            children = builtins.list(os.scandir(self.root))
        for child in children:
            if child.name.startswith("."):
                match = _PARKED.match(child.name)
                parked_copy = match is not None and _ID_PATTERN.match(match["model_id"])
                if child.name.startswith(_TMP_PREFIX) and not parked_copy:
                    self._sweep_stale(Path(child.path))
                continue
            if not child.is_dir():
                if fingerprint is not None:
                    continue
                entries.append(
                    ModelEntry(child.name, Path(child.path), None, "a stray file, not a model")
                )
                continue
            meta, reason = self._inspect(child.name)
            if fingerprint is not None and (meta is None or meta.get("fingerprint") != fingerprint):
                continue
            entries.append(ModelEntry(child.name, Path(child.path), meta, reason))

        def newest_first(entry: ModelEntry) -> tuple:
            try:
                mtime = entry.path.stat().st_mtime
            except OSError:
                mtime = 0.0
            stamp = entry.created or datetime.fromtimestamp(mtime, UTC).isoformat()
            return (stamp, entry.model_id)

        return sorted(entries, key=newest_first, reverse=True)

    def ids(self) -> builtins.list[str]:
        """The ids of the good models (newest first)."""
        return [entry.model_id for entry in self.list() if entry.ok]

    def _inspect(self, model_id: str) -> tuple[dict | None, str | None]:
        """(meta or None, None or the reason the entry is damaged).

        Cheap: the meta and the arrays' headers are read; a model whose arrays take at most
        :data:`LISTING_CHECK_BYTES` is also rebuilt (every check of a load but the dataset's),
        once per process until its files change. Larger ones are checked when loaded.
        """
        from ..algorithms import loader

        folder = self.root / model_id
        if not _ID_PATTERN.match(model_id):
            return None, "a foreign folder, not a model id"
        meta, reason = self._read_meta(folder)
        if reason is not None:
            return meta, reason
        cls = loader(meta["algorithm"])
        if cls is None:
            return meta, f"unknown algorithm {_quoted(meta['algorithm'])}"
        problem = _params_problem(cls, meta["params"])
        if problem is not None:
            return meta, problem
        try:
            headers = _read_npz(folder / ARRAYS, data=False)
        except _Damaged as error:
            return meta, str(error)
        known = _known_damage(folder)
        if known is not None or _known_good(folder):
            return meta, known
        size = sum(dtype.itemsize * math.prod(shape) for dtype, shape in headers.values())
        if size <= LISTING_CHECK_BYTES:
            try:
                self._rebuild(model_id, meta)
            except StoreError as error:
                return meta, getattr(error, "reason", None) or str(error)
            _remember_good(folder)
        return meta, None

    @staticmethod
    def _read_meta(folder: Path) -> tuple[dict | None, str | None]:
        """(meta, None) or (what could be kept of it, or None, the reason it is damaged)."""
        path = folder / META
        if not folder.is_dir():
            return None, "not a folder"
        try:
            with open(path, "rb") as handle:
                raw = handle.read(META_MAX_BYTES + 1)
        except FileNotFoundError:
            return None, f"{META} is missing"
        except OSError:
            return None, f"{META} is unreadable"
        if len(raw) > META_MAX_BYTES:
            return None, f"{META} is larger than {META_MAX_BYTES // (1 << 20)} MB"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"{META} is not UTF-8 text"
        try:
            meta = json.loads(text)
        except json.JSONDecodeError as error:
            return None, f"{META} is not valid JSON ({error.msg} at line {error.lineno})"
        except RecursionError:
            return None, f"{META} is nested too deeply to be a model's meta"
        except ValueError:  # e.g. an integer of more digits than Python converts
            return None, f"{META} is not valid JSON"
        clean, reason = _check_meta(meta)
        if clean is not None and isinstance(clean.get("metrics"), dict):
            clean["metrics"] = upgrade_stored_metrics(clean["metrics"])
        return clean, reason

    def _require(self, model_id: str) -> None:
        if self.exists(model_id):
            return
        known = [child.name for child in self.root.iterdir() if not child.name.startswith(".")]
        close = difflib.get_close_matches(str(model_id), known, n=3, cutoff=0.5)
        if not close:
            prefix = [name for name in known if name.startswith(str(model_id).split("-")[0])]
            close = sorted(prefix)[:3]
        if close:
            hint = f"closest: {', '.join(close)}"
        elif known:
            hint = "list them with `python -m recsys_core models`"
        else:
            hint = "the store is empty; train one with `python -m recsys_core train DATASET ALGO`"
        raise StoreError(f"There is no model {model_id!r} in the model store; {hint}.")

    def _sweep_stale(self, path: Path) -> None:
        """Remove a temporary folder left by a crashed writer (older than an hour)."""
        try:
            if time.time() - path.stat().st_mtime > _STALE_TMP_SECONDS:
                _remove(path)
        except OSError:
            pass


def default_source(dataset: Dataset) -> dict:
    """How to load ``dataset`` again: its registry name, or its file path when it has one."""
    spec = dataset.extras.get("path") or dataset.extras.get("source") or dataset.name
    return {"spec": str(spec), "data_dir": None, "options": {}}


# ---------------------------------------------------------------------------------- helpers
def _check_id(model_id: str) -> None:
    if not _ID_PATTERN.match(str(model_id)):
        raise StoreError(
            f"{model_id!r} is not a model id; ids look like 'als-1a2b3c4d5e6f' "
            "(see `python -m recsys_core models`)."
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, set, frozenset, tuple)):
        return str(value) if isinstance(value, Path) else builtins.list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types (numpy scalars to Python, tuples to lists)."""
    return json.loads(json.dumps(value, default=_json_default))


def _write_json(path: Path, payload: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=_json_default)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:  # some filesystems refuse fsync on folders
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# ------------------------------------------------------------------------ replacing a folder
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_RENAMEAT2: list = []  # [the libc function or None], looked up once


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False, having changed nothing, where the system or the filesystem lacks it.
    """
    if not _RENAMEAT2:
        function = None
        with contextlib.suppress(OSError, AttributeError, TypeError):
            function = ctypes.CDLL(None, use_errno=True).renameat2
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_uint]
            function.restype = ctypes.c_int
        _RENAMEAT2.append(function)
    function = _RENAMEAT2[0]
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                      _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(first))


def _park(target: Path, parked: Path) -> None:
    """Move the old folder aside (the fallback replace's first rename)."""
    os.rename(target, parked)


def _place(folder: Path, target: Path) -> None:
    """Move the new folder into place (the fallback replace's second rename)."""
    os.rename(folder, target)


# ---------------------------------------------------------------------- reading arrays.npz
class _Damaged(Exception):
    """What is wrong with a stored file (a clause: "arrays.npz is truncated ...")."""


def _read_npz(path: Path, *, data: bool) -> dict[str, Any]:
    """The arrays of an ``arrays.npz`` (with ``data=False`` only ``(dtype, shape)`` of each).

    Read member by member without ``np.load``: only plain numeric ``.npy`` members stored
    uncompressed (what ``np.savez`` writes), each exactly as long as its header says, so no
    object is unpickled and the memory taken is bounded by the file's size.

    Raises
    ------
    _Damaged
        Missing, empty, truncated, not a zip of arrays, compressed, an object / text / record
        array, a header that does not match the data, or a bad checksum.
    """
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if not infos:
                raise _Damaged(f"{ARRAYS} is empty")
            if sum(info.compress_size for info in infos) > size:
                raise _Damaged(f"{ARRAYS} is truncated")
            found = {}
            for info in infos:
                if info.is_dir() or not info.filename.endswith(".npy"):
                    raise _Damaged(f"{ARRAYS} holds something other than arrays")
                if info.compress_type != zipfile.ZIP_STORED:
                    raise _Damaged(f"{ARRAYS} is compressed, which the store never writes")
                if info.file_size != info.compress_size:
                    raise _Damaged(f"{ARRAYS} is truncated or not an npz archive")
                with archive.open(info) as handle:
                    found[info.filename[:-4]] = _read_member(handle, info.file_size, data)
            return found
    except FileNotFoundError:
        raise _Damaged(f"{ARRAYS} is missing") from None
    except _Damaged:
        raise
    except zipfile.BadZipFile as error:
        if "CRC" in str(error):
            raise _Damaged(f"{ARRAYS} fails its checksum (it changed on disk)") from None
        raise _Damaged(f"{ARRAYS} is truncated or not an npz archive") from None
    except (zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError, RuntimeError,
            NotImplementedError, OverflowError, MemoryError):
        raise _Damaged(f"{ARRAYS} is truncated or not an npz archive") from None


def _read_member(handle: Any, size: int, data: bool) -> Any:
    """One ``.npy`` member: its array, or ``(dtype, shape)`` when not ``data``."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise _Damaged(f"{ARRAYS} holds an array in a format this version does not read")
    except (ValueError, TypeError, SyntaxError):
        raise _Damaged(f"{ARRAYS} holds an array whose header is unreadable") from None
    if dtype.hasobject:
        raise _Damaged(f"{ARRAYS} holds an object array, which the store refuses to unpickle")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise _Damaged(f"{ARRAYS} holds an array of {describe_dtype(dtype)}, not numbers")
    count = math.prod(shape)
    if min(shape, default=0) < 0 or handle.tell() + count * dtype.itemsize != size:
        raise _Damaged(f"{ARRAYS} holds an array whose size does not match its header")
    if not data:
        return dtype, tuple(shape)
    flat = np.empty(count, dtype=dtype)
    buffer = memoryview(flat).cast("B")
    filled = 0
    while filled < len(buffer):
        got = handle.readinto(buffer[filled:])
        if not got:
            raise _Damaged(f"{ARRAYS} is truncated")
        filled += got
    handle.read(1)  # at the end of the member: zipfile checks the CRC
    return flat.reshape(shape, order="F" if fortran else "C")


# ------------------------------------------------------------------------ checking meta.json
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_params(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_scalar(v) for k, v in value.items()
    )


def _is_source(value: Any) -> bool:
    """``{"spec": str, "data_dir": str or None, "options": {keyword: value}}``."""
    if not isinstance(value, dict):
        return False
    texts = [value.get("spec"), value.get("data_dir")]
    if not all(text is None or isinstance(text, str) for text in texts):
        return False
    options = value.get("options")
    return options is None or (
        isinstance(options, dict) and all(key.isidentifier() for key in options)
    )


def _is_versions(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    )


def _is_metrics(value: Any) -> bool:
    """``{protocol: {metric: value}}``: the aggregates are numbers (or None), ``k`` an integer,
    ``slices`` a list of tables, ``conventions`` a table."""
    if not isinstance(value, dict):
        return False
    for protocol, found in value.items():
        if not isinstance(protocol, str) or not isinstance(found, dict):
            return False
        for key, item in found.items():
            if not isinstance(key, str):
                return False
            if key in METRICS or key in ("fit_seconds", "eval_seconds"):
                ok = item is None or _is_number(item)
            elif key == "k":
                ok = _is_int(item)
            elif key == "slices":
                ok = isinstance(item, builtins.list) and all(isinstance(r, dict) for r in item)
            elif key == "conventions":
                ok = isinstance(item, dict)
            else:
                ok = _is_scalar(item) or isinstance(item, (dict, builtins.list))
            if not ok:
                return False
    return True


_META_FIELDS: dict[str, Callable[[Any], bool]] = {
    "schema": _is_int,
    "model_id": _optional(lambda v: isinstance(v, str)),
    "algorithm": lambda v: isinstance(v, str) and _ALGORITHM_NAME.match(v) is not None,
    "params": _is_params,
    "dataset": _optional(lambda v: isinstance(v, str)),
    "dataset_label": _optional(lambda v: isinstance(v, str)),
    "fingerprint": _optional(lambda v: isinstance(v, str)),
    "dataset_source": _optional(_is_source),
    "reused_sources": _optional(
        lambda v: isinstance(v, builtins.list) and all(_is_source(s) for s in v)
    ),
    "variant": _optional(lambda v: isinstance(v, str)),
    "synthetic": _optional(lambda v: isinstance(v, bool)),
    "n_users": _optional(lambda v: _is_int(v) and v >= 0),
    "n_items": _optional(lambda v: _is_int(v) and v >= 0),
    "versions": _optional(_is_versions),
    "fit_seconds": _optional(lambda v: _is_number(v) and math.isfinite(v) and v >= 0),
    "created": _optional(_is_timestamp),
    "metrics": _optional(_is_metrics),
    "extra": _optional(lambda v: isinstance(v, dict)),
}
_REQUIRED_META = ("schema", "algorithm", "params")


def _check_meta(meta: Any) -> tuple[dict | None, str | None]:
    """(meta, None) when every known field has the right shape; else (the meta without its
    malformed fields, the first reason). Never raises, whatever JSON it is given."""
    if not isinstance(meta, dict):
        return None, f"{META} is not a JSON object"
    clean: dict = {}
    reason = None
    for key, value in meta.items():
        check = _META_FIELDS.get(key)
        if check is None or check(value):
            clean[key] = value
        elif reason is None:
            reason = f"{META} has a malformed {key!r} field"
    missing = [key for key in _REQUIRED_META if key not in meta]
    if missing:
        return clean, f"{META} lacks {', '.join(missing)}"
    if reason is not None:
        return clean, reason
    if clean["schema"] > SCHEMA_VERSION or clean["schema"] < 1:
        shown = clean["schema"] if abs(clean["schema"]) < 10**6 else "of another version"
        return clean, f"{META} has schema {shown}, which this version does not read"
    return clean, None


def _params_problem(cls: type[Recommender], params: dict) -> str | None:
    """Why stored parameters do not fit the algorithm's schema (None when they do)."""
    schema = {p.name: p for p in cls.params}
    for key, value in params.items():
        param = schema.get(key)
        if param is None:
            return f"{META} names a parameter {cls.name} does not have"
        try:
            param.validate(value)
        except UserError:
            return f"{META} has an invalid value for the parameter {key}"
    return None


def _quoted(name: Any) -> str:
    """A name read from a file, quoted when it looks like a registry key, else described."""
    text = str(name)
    return repr(text) if _ALGORITHM_NAME.match(text) else "(a name this version cannot show)"


# ------------------------------------------------------------ damage found while loading
_FOUND_DAMAGED: dict[str, tuple[tuple, str]] = {}
"""``{folder: (signature of its files, reason)}``: damage a load found in the arrays' data,
reported by this process's listings until the files change."""
_FOUND_GOOD: dict[str, tuple] = {}
"""``{folder: signature of its files}``: models a listing rebuilt without finding damage."""


def _signature(folder: Path) -> tuple:
    parts = []
    for name in (ARRAYS, META):
        try:
            info = os.stat(folder / name)
            parts.append((info.st_ino, info.st_size, info.st_mtime_ns))
        except OSError:
            parts.append(None)
    return tuple(parts)


def _remember_damage(folder: Path, reason: str) -> None:
    _FOUND_DAMAGED[str(folder)] = (_signature(folder), reason)


def _remember_good(folder: Path) -> None:
    _FOUND_GOOD[str(folder)] = _signature(folder)


def _known_good(folder: Path) -> bool:
    return _FOUND_GOOD.get(str(folder)) == _signature(folder)


def _known_damage(folder: Path) -> str | None:
    found = _FOUND_DAMAGED.get(str(folder))
    if found is None:
        return None
    signature, reason = found
    if signature != _signature(folder):
        _FOUND_DAMAGED.pop(str(folder), None)
        return None
    return reason


_HELD = threading.local()


@contextlib.contextmanager
def _file_lock(
    path: Path, on_wait: Callable[[], Any] | None = None, timeout: float | None = None
) -> Iterator[bool]:
    """An exclusive ``fcntl.flock`` on ``path``, re-entrant within one thread.

    flock locks belong to an open file description, so two threads (or processes) opening the
    file separately exclude each other; the kernel drops the lock if the process dies. With a
    ``timeout`` (seconds), gives up when the lock stays busy that long: the context then yields
    False instead of True and holds nothing.
    """
    held: dict = getattr(_HELD, "locks", None) or {}
    _HELD.locks = held
    key = str(path)
    if key in held:
        held[key][1] += 1
        try:
            yield True
        finally:
            held[key][1] -= 1
        return
    handle = open(path, "a+b")  # noqa: SIM115 (closed below)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if timeout is not None:
                if not _poll_lock(handle, timeout):
                    yield False
                    return
            else:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        held[key] = [handle, 1]
        try:
            yield True
        finally:
            del held[key]
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _poll_lock(handle: Any, timeout: float) -> bool:
    """Try a non-blocking flock every 20 ms until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            continue
    return False


__all__ = [
    "ModelEntry",
    "ModelStore",
    "SCHEMA_VERSION",
    "default_source",
    "library_versions",
    "model_id_for",
    "sources_of",
]
