"""Fit a registered algorithm on a Dataset: the one place that knows what each family needs.

``fit_model`` builds the ``fit`` arguments from the Dataset (item metadata for families that need
``items``, explicit ratings for those that need ``ratings``), so the CLI, the app, evaluation and
tuning all train the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import scipy.sparse as sp

from .algorithms import get_algorithm, parse_params
from .algorithms.base import OnEpoch, Progress, Recommender
from .dataset import Dataset
from .errors import DatasetError, StoreError
from .store import ModelStore, model_id_for


def fit_model(
    dataset: Dataset,
    algorithm: str,
    params: dict[str, Any] | None = None,
    *,
    preset: str | None = None,
    interactions: sp.csr_matrix | None = None,
    ratings: sp.csr_matrix | None = None,
    progress: Progress | None = None,
    on_epoch: OnEpoch | None = None,
) -> Recommender:
    """A fitted model of ``algorithm`` on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        Supplies the item metadata and ratings the family needs.
    algorithm : str
        Registry key (``"als"``, ``"lightfm"`` ...).
    params : dict, optional
        Parameter values (strings from the CLI are parsed); validated against the schema.
    preset : str, optional
        A named preset of the algorithm, applied before ``params``.
    interactions : csr_matrix, optional
        Training matrix (a split's train part); default the whole ``dataset.interactions``.
    ratings : csr_matrix, optional
        Explicit ratings to train on (default ``dataset.ratings``; pass the split's train ratings
        when evaluating).

    Returns
    -------
    Recommender
        Fitted; ``model.fit_seconds_`` holds the wall time of ``fit``.
    """
    cls = get_algorithm(algorithm)
    values = parse_params(algorithm, params, preset)
    model = cls(**values)
    train = dataset.interactions if interactions is None else interactions
    kwargs: dict[str, Any] = {}
    if "items" in cls.needs:
        kwargs["items"] = dataset.items
    if "ratings" in cls.needs:
        chosen = dataset.ratings if ratings is None else ratings
        if chosen is None:
            raise DatasetError(
                f"{algorithm} needs explicit ratings and {dataset.label} has none; "
                "use a MovieLens dataset or a file with a rating column."
            )
        kwargs["ratings"] = chosen
    start = time.perf_counter()
    model.fit(train, progress=progress, on_epoch=on_epoch, **kwargs)
    model.fit_seconds_ = time.perf_counter() - start
    return model


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did: the stored model's id, the model (attached to the dataset), the
    training wall time (of the run that made it, when reused) and whether it was reused."""

    model_id: str
    model: Recommender
    fit_seconds: float | None
    reused: bool


def train(
    dataset: Dataset,
    algorithm: str,
    params: dict[str, Any] | None = None,
    *,
    preset: str | None = None,
    store: ModelStore | None = None,
    force: bool = False,
    source: dict | None = None,
    extra: dict | None = None,
    progress: Progress | None = None,
    on_epoch: OnEpoch | None = None,
) -> TrainResult:
    """Fit ``algorithm`` on the whole ``dataset`` and save it in the model store.

    The model id comes from the dataset fingerprint, the algorithm and the full parameters
    (:func:`recsys_core.store.model_id_for`); a good stored model with that id is loaded and
    returned instead of training again, unless ``force``. Training happens under the store's lock
    on that id, so a second process (or browser session) asking for the same model waits for the
    first and then reuses its result; a damaged stored copy is retrained and replaced.

    Parameters
    ----------
    dataset, algorithm, params, preset, progress, on_epoch
        As for :func:`fit_model`.
    store : ModelStore, optional
        Default ``ModelStore()`` (``$RECSYS_HOME/models``).
    force : bool
        Train again and replace a stored model with the same id. The replacement is atomic
        (:meth:`ModelStore.save` with ``overwrite``): a process killed at any moment leaves the
        old model or the new one, never none.
    source : dict, optional
        How to load the dataset again (``{"spec", "data_dir", "options"}``), kept in the meta
        for the CLI's ``similar`` / ``recommend``; default the dataset's name or file path.
    extra : dict, optional
        JSON-serialisable extras kept in the meta.

    Returns
    -------
    TrainResult
    """
    store = store if store is not None else ModelStore()
    values = parse_params(algorithm, params, preset)
    model_id = model_id_for(dataset.fingerprint, algorithm, values)

    def waiting() -> None:
        if progress is not None:
            progress(0.0, "Waiting for another process training the same model")

    with store.lock(model_id, on_wait=waiting):
        if not force and store.exists(model_id):
            try:
                model = store.load(model_id, dataset)
            except StoreError:
                pass  # damaged: train again and replace it
            else:
                if progress is not None:
                    progress(1.0, "Reused the stored model")
                return TrainResult(model_id, model, store.meta(model_id).get("fit_seconds"), True)
        model = fit_model(dataset, algorithm, values, progress=progress, on_epoch=on_epoch)
        saved = store.save(
            model,
            dataset,
            fit_seconds=model.fit_seconds_,
            source=source,
            extra=extra,
            overwrite=True,
        )
    if saved != model_id:  # an adapter that changes its parameters in fit: keep its own key
        model_id = saved
    return TrainResult(model_id, model, model.fit_seconds_, False)
