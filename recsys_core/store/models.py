""":class:`ModelStore`: save, find, load, list and delete trained models (one folder each).

Writes happen under an exclusive lock on the model id (:mod:`.locks`): the folder is written
under a temporary name, fsynced and put in place in one step (:func:`.folders.move_into_place`);
``meta.json`` updates are a temporary file plus ``os.replace``
(:func:`recsys_core.util.files.atomic_write`). Readers never take the lock.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import config
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..datasets import load_dataset, sources_of
from ..errors import StoreError
from ..util.files import atomic_write
from .arrays import ARRAYS, check_numeric, write_arrays
from .damage import damaged_error
from .folders import (
    ID_PATTERN,
    RECOVERY_WAIT_SECONDS,
    check_id,
    fsync_dir,
    lock_path,
    model_id_for,
    move_into_place,
    parked_copies,
    partial_folders,
    recover,
    remove_path,
    settle,
    temporary_folder,
)
from .listing import ModelEntry, inspect, list_entries
from .locks import file_lock
from .meta import MAX_REUSED_SOURCES, META, is_source, new_meta, plain, read_meta, write_json
from .rebuild import check_fingerprint, check_sizes, rebuild


class ModelStore:
    """Trained models on disk (see :mod:`recsys_core.store` for the layout and guarantees).

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
        check_id(model_id)
        return self.root / model_id

    def exists(self, model_id: str) -> bool:
        """Whether a folder for ``model_id`` exists (good or damaged).

        A model whose replacement was interrupted (its old copy parked, see
        :mod:`.folders`) is put back first.
        """
        if not ID_PATTERN.match(str(model_id)):
            return False
        if (self.root / model_id).is_dir():
            return True
        if parked_copies(self.root, model_id):
            recover(self.root, model_id, RECOVERY_WAIT_SECONDS)
        return (self.root / model_id).is_dir()

    @contextlib.contextmanager
    def lock(self, model_id: str, on_wait: Callable[[], Any] | None = None) -> Iterator[None]:
        """Hold the exclusive lock on ``model_id`` (re-entrant within a thread).

        Other processes and threads writing the same model wait; readers never take it.
        ``on_wait()`` is called once if the lock is busy, before waiting for it. Whoever takes
        the lock first puts back a copy parked by a writer that was killed mid-replace.
        """
        check_id(model_id)
        with file_lock(lock_path(self.root, model_id), on_wait):
            settle(self.root, model_id)
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
            {...}}``; default :func:`~.meta.default_source` (the dataset's registry name, or
            its file's absolute path).
        variant : str, optional
            See :func:`~.folders.model_id_for`.
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
        params = plain(model.get_params())
        model_id = model_id_for(dataset.fingerprint, model.name, params, variant)
        arrays = model.to_arrays()
        check_numeric(model.name, arrays)
        if fit_seconds is None:
            fit_seconds = getattr(model, "fit_seconds_", None)
        meta = new_meta(
            model,
            dataset,
            model_id,
            params,
            fit_seconds=fit_seconds,
            source=source,
            variant=variant,
            extra=extra,
        )
        with self.lock(model_id):
            target = self.root / model_id
            if target.exists() and not overwrite and inspect(self.root, model_id)[1] is None:
                return model_id  # a good copy is already there: keep it, drop ours
            tmp = self._write_tmp(model_id, arrays, meta)
            move_into_place(tmp, target)
        return model_id

    def _write_tmp(self, model_id: str, arrays: dict, meta: dict) -> Path:
        tmp = temporary_folder(self.root, model_id)
        tmp.mkdir()
        try:
            write_arrays(tmp / ARRAYS, arrays)
            write_json(tmp / META, meta)
            fsync_dir(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return tmp

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
                    merged.update(plain(value))
                    meta["metrics"] = merged
                else:
                    meta[key] = plain(value)
            path = self.path(model_id) / META
            atomic_write(path, lambda temp: write_json(temp, meta))
            fsync_dir(path.parent)
        return meta

    def add_sources(self, model_id: str, sources: builtins.list[dict]) -> bool:
        """Record that ``model_id`` also stands for the dataset loaded from each of ``sources``
        (``{"spec", "data_dir", "options"}``, as for :meth:`save`): a file with the same content
        at another path, whose training reused this model. Kept in ``meta["reused_sources"]``
        (at most :data:`~.meta.MAX_REUSED_SOURCES`, the newest), so a link may open every file
        the model was asked to train on (:func:`recsys_core.datasets.recorded_files`).

        Returns
        -------
        bool
            Whether the meta changed (a source it records already is left as it is).
        """
        with self.lock(model_id):
            meta = self.meta(model_id)
            known = sources_of(meta)
            added: builtins.list[dict] = []
            for source in map(plain, sources):
                fits = is_source(source) and isinstance(source.get("spec"), str)
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
            trash = temporary_folder(self.root, model_id, "del-")
            os.rename(target, trash)
            remove_path(trash)
            fsync_dir(self.root)

    def discard_partial(self, model_id: str) -> None:
        """Remove folders of ``model_id`` a killed writer left half-written (taken under the
        model's lock, so a live writer's folder is never touched)."""
        if not partial_folders(self.root, model_id):
            return
        with self.lock(model_id):
            for path in partial_folders(self.root, model_id):
                shutil.rmtree(path, ignore_errors=True)

    # ------------------------------------------------------------------ reading
    def meta(self, model_id: str) -> dict:
        """The parsed, checked meta.json of a model; StoreError if unknown or damaged."""
        self._require(model_id)
        meta, reason = read_meta(self.root / model_id)
        if reason is not None:
            raise damaged_error(self.root, model_id, reason)
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
            check_fingerprint(model_id, meta, dataset)
        model = rebuild(self.root, model_id, meta)
        if dataset is not None:
            self._attach(model_id, model, dataset)
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
        meta = self.meta(model_id)
        source = meta.get("dataset_source") or {"spec": meta.get("dataset")}
        spec = source.get("spec") or meta.get("dataset")
        if not spec:
            raise StoreError(
                f"Model {model_id} does not record its dataset; delete it and train it again."
            )
        model = rebuild(self.root, model_id, meta)
        try:
            dataset = load_dataset(
                str(spec),
                data_dir=source.get("data_dir"),
                progress=progress,
                **dict(source.get("options") or {}),
            )
        except TypeError:  # options this version's loaders do not take
            reason = f"{META} records dataset options that do not load its dataset"
            raise damaged_error(self.root, model_id, reason) from None
        check_fingerprint(model_id, meta, dataset)
        self._attach(model_id, model, dataset)
        return model, dataset

    def _attach(self, model_id: str, model: Recommender, dataset: Dataset) -> None:
        """Give the model the dataset's interactions, once its sizes are the dataset's."""
        check_sizes(self.root, model_id, model, dataset.n_users, dataset.n_items, "the dataset")
        model.attach(dataset.interactions)

    def list(self, fingerprint: str | None = None) -> builtins.list[ModelEntry]:
        """Every entry of the store, newest first; damaged ones included with a reason.

        Parameters
        ----------
        fingerprint : str, optional
            Only models trained on the dataset with this fingerprint (entries whose meta cannot
            be read are then left out, since their dataset is unknown).
        """
        return list_entries(self.root, fingerprint)

    def ids(self) -> builtins.list[str]:
        """The ids of the good models (newest first)."""
        return [entry.model_id for entry in self.list() if entry.ok]

    def _require(self, model_id: str) -> None:
        """StoreError naming the closest ids unless ``model_id`` is in the store."""
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
