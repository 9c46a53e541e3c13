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
meanwhile it is kept and the new one dropped. ``meta.json`` updates are a temporary file plus
``os.replace`` under the same lock. A damaged or foreign entry (bad json, missing or truncated
npz, unknown algorithm, a stray file) is listed with the reason and never breaks a listing;
loading it raises :class:`~recsys_core.errors.StoreError`.

``meta.json`` keys (schema 1): ``schema``, ``model_id``, ``algorithm``, ``params``, ``dataset``
(name), ``dataset_label``, ``fingerprint``, ``dataset_source`` (``{"spec", "data_dir",
"options"}``: what to pass to ``load_dataset`` to get the dataset back; ``spec`` is a registry
name or an absolute file path), ``n_users``, ``n_items``, ``versions`` (library versions),
``fit_seconds``, ``created`` (ISO 8601 UTC), ``metrics`` (``{protocol key: {metric: value}}``),
``extra`` (free-form dict from the caller).
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import errno
import fcntl
import hashlib
import importlib.metadata
import json
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

from . import __version__, config
from .algorithms.base import Recommender
from .dataset import Dataset
from .errors import StoreError

SCHEMA_VERSION = 1
ARRAYS = "arrays.npz"
META = "meta.json"
_TMP_PREFIX = ".tmp-"
_LOCK_DIR = ".locks"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")
_STALE_TMP_SECONDS = 3600.0
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
        """Whether a folder for ``model_id`` exists (good or damaged)."""
        if not _ID_PATTERN.match(str(model_id)):
            return False
        return (self.root / model_id).is_dir()

    @contextlib.contextmanager
    def lock(self, model_id: str, on_wait: Callable[[], Any] | None = None) -> Iterator[None]:
        """Hold the exclusive lock on ``model_id`` (re-entrant within a thread).

        Other processes and threads writing the same model wait; readers never take it.
        ``on_wait()`` is called once if the lock is busy, before waiting for it.
        """
        _check_id(model_id)
        lock_dir = self.root / _LOCK_DIR
        lock_dir.mkdir(exist_ok=True)
        with _file_lock(lock_dir / f"{model_id}.lock", on_wait):
            yield

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
            if np.asarray(value).dtype.kind == "O":
                raise TypeError(
                    f"{model.name}.to_arrays()[{key!r}] is an object array; the store never "
                    "pickles, so return numeric or string arrays."
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
        """Rename ``tmp`` to ``target`` (caller holds the lock); an old folder is swapped out."""
        old = None
        try:
            if target.exists() or target.is_symlink():
                old = self.root / f"{_TMP_PREFIX}old-{target.name}-{uuid.uuid4().hex[:8]}"
                os.rename(target, old)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None and not target.exists():
                os.rename(old, target)
                old = None
            raise
        finally:
            if old is not None:
                _remove(old)
        _fsync_dir(self.root)

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
        """The parsed meta.json of a model; StoreError if unknown or unreadable."""
        self._require(model_id)
        meta, reason = self._read_meta(self.root / model_id)
        if reason is not None:
            raise StoreError(f"Model {model_id} is damaged ({reason}); delete it and train again.")
        return meta

    def load(self, model_id: str, dataset: Dataset | None = None) -> Recommender:
        """Rebuild a stored model; with ``dataset``, attach its interactions (the seen items).

        Raises
        ------
        StoreError
            Unknown id (the message lists the closest ones), a damaged entry, or a ``dataset``
            whose fingerprint is not the one the model was trained on.
        """
        from .algorithms import loader

        meta = self.meta(model_id)
        cls = loader(meta["algorithm"])
        if cls is None:
            raise StoreError(
                f"Model {model_id} was trained with algorithm {meta['algorithm']!r}, which is not "
                "available here; install its library or delete the model."
            )
        if dataset is not None and dataset.fingerprint != meta.get("fingerprint"):
            trained_on = meta.get("dataset_label") or meta.get("dataset")
            raise StoreError(
                f"Model {model_id} was trained on {trained_on} (fingerprint "
                f"{meta.get('fingerprint')}), not on {dataset.label} (fingerprint "
                f"{dataset.fingerprint}); load the dataset it was trained on or train it again."
            )
        arrays = self._read_arrays(model_id)
        try:
            model = cls.from_arrays(arrays, dict(meta.get("params") or {}))
        except (KeyError, ValueError, TypeError, IndexError) as error:
            raise StoreError(
                f"Model {model_id} is damaged (its arrays do not rebuild a {meta['algorithm']} "
                f"model: {error}); delete it and train again."
            ) from None
        model.fit_seconds_ = meta.get("fit_seconds")
        if dataset is not None:
            model.attach(dataset.interactions)
        return model

    def open(
        self, model_id: str, *, progress: Callable[[float, str], None] | None = None
    ) -> tuple[Recommender, Dataset]:
        """The model and the dataset it was trained on (reloaded from ``meta["dataset_source"]``).

        Raises StoreError if the dataset found there is no longer the one the model was trained
        on (a file that changed since), and the loader's DatasetError if it cannot be read.
        """
        from .datasets import load_dataset

        meta = self.meta(model_id)
        source = meta.get("dataset_source") or {"spec": meta.get("dataset")}
        spec = source.get("spec") or meta.get("dataset")
        if not spec:
            raise StoreError(
                f"Model {model_id} does not record its dataset; delete it and train it again."
            )
        dataset = load_dataset(
            str(spec),
            data_dir=source.get("data_dir"),
            progress=progress,
            **dict(source.get("options") or {}),
        )
        return self.load(model_id, dataset), dataset

    def _read_arrays(self, model_id: str) -> dict[str, np.ndarray]:
        path = self.root / model_id / ARRAYS
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except FileNotFoundError:
            raise StoreError(
                f"Model {model_id} is damaged ({ARRAYS} is missing); delete it and train again."
            ) from None
        except ValueError as error:
            if "allow_pickle" in str(error) or "Object arrays" in str(error):
                reason = f"{ARRAYS} holds an object array, which the store refuses to unpickle"
            else:
                reason = f"{ARRAYS} is unreadable: {error}"
            raise StoreError(f"Model {model_id} is damaged ({reason}); delete it.") from None
        except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise StoreError(
                f"Model {model_id} is damaged ({ARRAYS} is unreadable: {error}); delete it and "
                "train again."
            ) from None

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
        for child in children:
            if child.name.startswith("."):
                if child.name.startswith(_TMP_PREFIX):
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
        """(meta or None, None or the reason the entry is damaged); cheap: no array is read."""
        folder = self.root / model_id
        if not _ID_PATTERN.match(model_id):
            return None, "a foreign folder, not a model id"
        meta, reason = self._read_meta(folder)
        if reason is not None:
            return meta, reason
        from .algorithms import loader

        if loader(str(meta.get("algorithm"))) is None:
            return meta, f"unknown algorithm {meta.get('algorithm')!r}"
        arrays = folder / ARRAYS
        if not arrays.is_file():
            return meta, f"{ARRAYS} is missing"
        try:
            with zipfile.ZipFile(arrays) as archive:
                if not archive.namelist():
                    return meta, f"{ARRAYS} is empty"
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            return meta, f"{ARRAYS} is truncated or not an npz ({error})"
        return meta, None

    @staticmethod
    def _read_meta(folder: Path) -> tuple[dict | None, str | None]:
        path = folder / META
        if not folder.is_dir():
            return None, "not a folder"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, f"{META} is missing"
        except (OSError, UnicodeDecodeError) as error:
            return None, f"{META} is unreadable ({error})"
        try:
            meta = json.loads(text)
        except json.JSONDecodeError as error:
            return None, f"{META} is not valid JSON ({error.msg} at line {error.lineno})"
        if not isinstance(meta, dict):
            return None, f"{META} is not a JSON object"
        missing = [key for key in ("schema", "algorithm", "params") if key not in meta]
        if missing:
            return meta, f"{META} lacks {', '.join(missing)}"
        if not isinstance(meta["schema"], int) or meta["schema"] > SCHEMA_VERSION:
            return meta, f"{META} has schema {meta['schema']!r}, newer than this version reads"
        return meta, None

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
        raise StoreError(f"There is no model {model_id!r} in {self.root}; {hint}.")

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


_HELD = threading.local()


@contextlib.contextmanager
def _file_lock(path: Path, on_wait: Callable[[], Any] | None = None) -> Iterator[None]:
    """An exclusive ``fcntl.flock`` on ``path``, re-entrant within one thread.

    flock locks belong to an open file description, so two threads (or processes) opening the
    file separately exclude each other; the kernel drops the lock if the process dies.
    """
    held: dict = getattr(_HELD, "locks", None) or {}
    _HELD.locks = held
    key = str(path)
    if key in held:
        held[key][1] += 1
        try:
            yield
        finally:
            held[key][1] -= 1
        return
    handle = open(path, "a+b")  # noqa: SIM115 (closed below)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        held[key] = [handle, 1]
        try:
            yield
        finally:
            del held[key]
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


__all__ = [
    "ModelEntry",
    "ModelStore",
    "SCHEMA_VERSION",
    "default_source",
    "library_versions",
    "model_id_for",
]
