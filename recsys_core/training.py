"""Fit a registered algorithm on a Dataset: the one place that knows what each family needs.

``fit_model`` builds the ``fit`` arguments from the Dataset (item metadata for families that need
``items``, explicit ratings for those that need ``ratings``), so the CLI, the app, evaluation and
tuning all train the same way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import scipy.sparse as sp

from .algorithms import get_algorithm, parse_params
from .algorithms.base import OnEpoch, Progress, Recommender
from .dataset import Dataset
from .datasets import sources_of
from .errors import DatasetError, StoreError
from .store.folders import model_id_for
from .store.meta import default_source
from .store.models import ModelStore


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

    A reused model records ``source`` besides the one it was trained on
    (:meth:`ModelStore.add_sources`): the same content in a file at another path gives the same
    model, and a link may open every path the model was asked to train on. ``force`` keeps the
    paths the replaced model recorded.

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
    asked = source or default_source(dataset)

    def waiting() -> None:
        if progress is not None:
            progress(0.0, "Waiting for another process training the same model")

    with store.lock(model_id, on_wait=waiting):
        reused = None if force else _reuse(store, model_id, dataset, asked, progress)
        if reused is not None:
            return reused
        earlier = _recorded_sources(store, model_id)
        model = fit_model(dataset, algorithm, values, progress=progress, on_epoch=on_epoch)
        saved = store.save(
            model,
            dataset,
            fit_seconds=model.fit_seconds_,
            source=asked,
            extra=extra,
            overwrite=True,
        )
        if earlier and saved == model_id:
            store.add_sources(model_id, earlier)  # the paths a replaced model could be opened by
    # an adapter that changes its parameters in fit keeps its own key (saved != model_id)
    return TrainResult(saved, model, model.fit_seconds_, False)


def _reuse(
    store: ModelStore,
    model_id: str,
    dataset: Dataset,
    asked: dict,
    progress: Progress | None,
) -> TrainResult | None:
    """The stored ``model_id`` attached to ``dataset``, having recorded ``asked`` among its
    sources; None when it is not stored or damaged (then it is trained again and replaced)."""
    if not store.exists(model_id):
        return None
    try:
        model = store.load(model_id, dataset)
    except StoreError:
        return None
    store.add_sources(model_id, [asked])
    if progress is not None:
        progress(1.0, "Reused the stored model")
    return TrainResult(model_id, model, store.meta(model_id).get("fit_seconds"), True)


def _recorded_sources(store: ModelStore, model_id: str) -> list[dict]:
    """The sources a stored ``model_id`` records (none when absent or damaged)."""
    if not store.exists(model_id):
        return []
    try:
        return sources_of(store.meta(model_id))
    except StoreError:
        return []


# ------------------------------------------------------------------------------- the first model
FIRST_MODEL_ENV = "RECSYS_FIRST_MODEL"
"""Set to ``0``, ``off``, ``false`` or ``no`` to keep the app from training a first model by
itself (the test suite does, so no test trains one unexpectedly)."""
FIRST_MODEL_DATASET = "demo"
"""The one dataset that gets a first model by itself: the synthetic demo (not its k-cores)."""
FIRST_MODEL_ALGORITHM = "als"
"""The first model's algorithm, trained with its default parameters (a few seconds)."""
FIRST_MODEL_EXTRA = {"trained_by": "first start"}
"""Kept in the first model's ``meta["extra"]``, so the app can say where it came from."""


def first_model_enabled() -> bool:
    """Whether :data:`FIRST_MODEL_ENV` allows a first model (default yes)."""
    value = os.environ.get(FIRST_MODEL_ENV, "").strip().lower()
    return value not in {"0", "off", "false", "no"}


def is_first_model_dataset(dataset: Dataset) -> bool:
    """Whether ``dataset`` is the demo itself (a k-core of it, an upload or a file is not)."""
    return dataset.name == FIRST_MODEL_DATASET and bool(dataset.synthetic)


def wants_first_model(dataset: Dataset, store: ModelStore | None = None) -> bool:
    """Whether the app should train the first model now.

    True only when it is enabled (:func:`first_model_enabled`), ``dataset`` is the demo
    (:func:`is_first_model_dataset`) and the store holds nothing at all: no model of any
    dataset, not even a damaged one. So it happens on a fresh ``RECSYS_HOME`` only, and once: the
    model it trains makes the store non-empty. Cheap: a folder listing.
    """
    if not first_model_enabled() or not is_first_model_dataset(dataset):
        return False
    store = store if store is not None else ModelStore()
    return not store.list()


def ensure_first_model(
    dataset: Dataset,
    *,
    store: ModelStore | None = None,
    progress: Progress | None = None,
) -> TrainResult | None:
    """Train the default model (ALS, its defaults) on the demo when the store is fresh.

    Training goes through :func:`train`, so the model is stored like any other, and under the
    store's lock on its id: two sessions that both find the store empty train it once (the
    second waits for the first, then reuses its model; its ``progress`` hears "Waiting for
    another process training the same model" and then "Reused the stored model").

    Parameters
    ----------
    dataset : Dataset
        The dataset on screen; nothing happens unless it is the demo.
    store : ModelStore, optional
        Default ``ModelStore()`` (``$RECSYS_HOME/models``).
    progress : callable, optional
        ``progress(fraction, message)`` as for :func:`fit_model` (one call per ALS iteration).

    Returns
    -------
    TrainResult or None
        The stored first model (``reused`` when another session trained it meanwhile); None
        when no first model is wanted (:func:`wants_first_model`).
    """
    store = store if store is not None else ModelStore()
    if not wants_first_model(dataset, store):
        return None
    return train(
        dataset,
        FIRST_MODEL_ALGORITHM,
        None,
        store=store,
        progress=progress,
        extra=dict(FIRST_MODEL_EXTRA),
    )


def is_first_model(meta: dict | None) -> bool:
    """Whether a stored model's meta (or ``ModelEntry.to_dict()``) marks the first model."""
    extra = (meta or {}).get("extra") or {}
    return isinstance(extra, dict) and extra.get("trained_by") == FIRST_MODEL_EXTRA["trained_by"]
