"""Vectors, or a model's vectors, to a 2-D map: :func:`project` and :func:`project_model`.

:func:`project` maps any float matrix of vectors ``[n, d]`` to ``[n, 2]`` in named steps: check
the input, look in the disk cache (:mod:`.cache`), normalise for the metric, draw a stratified
sample if asked (:mod:`.sampling`), run the method (:mod:`.methods`), write the cache.
:func:`project_model` does it for a model's item vectors (with, for lightfm trained with tag
features, the tag vectors in the same map) or its user vectors, in the metric that matches how
the model measures similarity (:func:`model_metric`; see :mod:`.methods` for why).

A ``sample`` projects a stratified subset (see :func:`.sampling.stratified_sample`) and says so
in :attr:`Projection.note`; the app samples above 25,000 points by default.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..algorithms import algorithms
from ..errors import ParameterError, UserError
from ..store import ModelStore
from . import methods
from .cache import cache_key, cache_path, read_cache, write_cache
from .methods import METHODS, METRICS, UMAP_MISSING, Progress, normalise, umap_available
from .result import METHOD_LABELS, Projection
from .sampling import kmeans_labels, stratified_sample

LATENT_FAMILIES = "als, bpr, lmf, svd, biased-mf, lightfm or vectors"


class NoVectorsError(UserError, ValueError):
    """A model without a latent space (item-knn, popularity, ease, content) cannot be projected."""


# --------------------------------------------------------------------------------------- project
def project(
    vectors: np.ndarray,
    method: str = "pca",
    *,
    metric: str = "cosine",
    random_state: int = 0,
    perplexity: float = 30,
    n_neighbors: int = 15,
    sample: int | None = None,
    strata: np.ndarray | None = None,
    progress: Progress | None = None,
    cache: bool = True,
    cache_name: str | None = None,
    extra: np.ndarray | None = None,
    extra_names: tuple[str, ...] = (),
) -> Projection:
    """Map vectors to two dimensions, from the disk cache when this projection was made before.

    Parameters
    ----------
    vectors : np.ndarray of float, shape [n, d]
        One row per item (or user).
    method : {"pca", "tsne", "umap"}
        UMAP only where ``umap`` is installed (:func:`.methods.available_methods`).
    metric : {"cosine", "euclidean"}
        ``cosine`` L2-normalises the rows first (then euclidean equals cosine ranking).
    random_state : int
        Seed of every random draw (the sample, the neighbour index, the initialisation).
    perplexity : float
        t-SNE's effective number of neighbours (5 to 100); lowered for tiny inputs.
    n_neighbors : int
        UMAP's neighbourhood size.
    sample : int, optional
        Project at most this many rows: a stratified sample (by ``strata``, or by k-means
        cluster of the vectors) when ``n`` is larger. None projects every row.
    strata : np.ndarray, shape [n], optional
        Labels to stratify a sample by (a category per item); ignored without a sample.
    progress : callable, optional
        ``progress(fraction, message)``.
    cache : bool
        Read and write the disk cache (False: always compute, write nothing).
    cache_name : str, optional
        A readable prefix for the cache files (the model id); the key is the content hash.
    extra : np.ndarray, shape [m, d], optional
        More rows mapped with the (sampled) rows in the same fit and never sampled (tag
        vectors); returned as ``tag_coords``.
    extra_names : tuple of str
        Names of the ``extra`` rows (``tag_names``).

    Returns
    -------
    Projection
        ``coords`` float32 [n or sample, 2] and the projected row ``indices``.

    Raises
    ------
    ParameterError
        An unknown method or metric, UMAP where it is not installed, a bad sample size or
        perplexity.
    UserError
        Vectors with NaN or infinite values, or fewer than 3 rows.
    """
    method, metric = _check_method(method), _check_metric(metric)
    data = _check_vectors(vectors)
    extra_data = None if extra is None else _check_vectors(extra, what="extra vectors", minimum=0)
    sample = _check_sizes(method, len(data), sample, perplexity, n_neighbors)
    params = _params(method, metric, random_state, perplexity, n_neighbors, sample, strata)
    key = cache_key(data, extra_data, strata if sample is not None else None, method, params)
    path = cache_path(cache_name, key)
    if cache and (hit := read_cache(path, key)) is not None:
        if progress:
            progress(1.0, "Read from the cache.")
        return hit
    report = progress or _silent
    result = _compute(data, extra_data, extra_names, method, params, strata, key, report)
    if cache:
        write_cache(path, result)
    report(1.0, f"{METHOD_LABELS[method]} done in {result.seconds:.1f} s.")
    return result


def _silent(fraction: float, message: str) -> None:
    """The progress callback of a projection nobody watches."""


def _params(
    method: str,
    metric: str,
    random_state: int,
    perplexity: float,
    n_neighbors: int,
    sample: int | None,
    strata: np.ndarray | None,
) -> dict[str, Any]:
    """Everything that determines the map (part of the cache key, kept in the result)."""
    params: dict[str, Any] = {"metric": metric, "random_state": int(random_state)}
    if method == "tsne":
        params["perplexity"] = float(perplexity)
    if method == "umap":
        params["n_neighbors"] = int(n_neighbors)
    if sample is not None:
        params["sample"] = sample
        params["strata"] = "labels" if strata is not None else "k-means"
    return params


def _compute(
    data: np.ndarray,
    extra: np.ndarray | None,
    extra_names: tuple[str, ...],
    method: str,
    params: dict[str, Any],
    strata: np.ndarray | None,
    key: str,
    report: Progress,
) -> Projection:
    """The projection itself: normalise, sample, fit the rows and the extra rows together."""
    start = time.perf_counter()
    report(0.0, f"Preparing the {METHOD_LABELS[method]} projection…")
    cosine = params["metric"] == "cosine"
    space = normalise(data) if cosine else data.astype(np.float32, copy=False)
    extra_space = None if extra is None else normalise(extra) if cosine else extra
    random_state = params["random_state"]
    sample = params.get("sample")
    indices, notes = _sample_rows(space, method, sample, strata, random_state, report)
    fit_rows = space[indices]
    if extra_space is not None and len(extra_space):
        fit_rows = np.vstack([fit_rows, extra_space])
    perplexity = params.get("perplexity", 30.0)
    if method == "tsne":
        effective = min(perplexity, max((len(fit_rows) - 1) / 3.0, 1.0))
        if effective < perplexity:
            notes.append(f"Perplexity lowered to {effective:.0f} for {len(fit_rows):,} points.")
        perplexity = effective
    coords = methods.run(
        method,
        fit_rows,
        random_state=random_state,
        perplexity=perplexity,
        n_neighbors=params.get("n_neighbors", 15),
        report=report,
    )
    coords = np.ascontiguousarray(coords, dtype=np.float32)
    n_main = len(indices)
    return Projection(
        coords=coords[:n_main],
        indices=indices,
        method=method,
        params=params,
        seconds=time.perf_counter() - start,
        note=" ".join(notes),
        n_total=len(data),
        tag_coords=coords[n_main:] if extra_space is not None else None,
        tag_names=tuple(str(name) for name in extra_names),
        key=key,
    )


def _sample_rows(
    space: np.ndarray,
    method: str,
    sample: int | None,
    strata: np.ndarray | None,
    random_state: int,
    report: Progress,
) -> tuple[np.ndarray, list[str]]:
    """(the rows to map, int64 sorted; the notes for people): all rows, or a stratified sample."""
    n = len(space)
    if sample is None:
        return np.arange(n, dtype=np.int64), []
    report(0.02, f"Drawing a stratified sample of {sample:,} of {n:,}…")
    labels = strata if strata is not None else kmeans_labels(space, random_state)
    indices = stratified_sample(labels, sample, random_state=random_state)
    by = "category" if strata is not None else "k-means cluster"
    note = (
        f"{METHOD_LABELS[method]} of a stratified sample of {len(indices):,} of {n:,} points "
        f"(by {by}); raise the sample size to map them all."
    )
    return indices, [note]


# --------------------------------------------------------------------------------------- models
def project_model(
    model_or_id: Any,
    method: str = "pca",
    *,
    what: str = "items",
    metric: str | None = None,
    random_state: int = 0,
    perplexity: float = 30,
    n_neighbors: int = 15,
    sample: int | None = None,
    strata: np.ndarray | None = None,
    with_tags: bool = True,
    model_id: str | None = None,
    progress: Progress | None = None,
    cache: bool = True,
) -> Projection:
    """Project a model's item vectors (with its tag vectors, if any) or its user vectors.

    Parameters
    ----------
    model_or_id : Recommender or str
        A fitted model, or a model id in the store.
    what : {"items", "users"}
        Which vectors.
    metric : {"cosine", "euclidean"}, optional
        Default: :func:`model_metric` (how the model measures similarity).
    with_tags : bool
        For a lightfm model with tag features and ``what="items"``: fit the map on the items
        and the tags together and return the tags' positions as ``tag_coords``.
    model_id : str, optional
        The store id of a model passed as an object (names its cache files).
    random_state, perplexity, n_neighbors, sample, strata, progress, cache
        As for :func:`project`.

    Raises
    ------
    NoVectorsError
        The model has no latent vectors (item-knn, popularity, ease, content).
    """
    model, resolved_id = _resolve_model(model_or_id)
    model_id = model_id or resolved_id
    if what not in ("items", "users"):
        raise ParameterError(f"what needs items or users, got {what!r}.")
    if not model.supports("item_vectors" if what == "items" else "user_vectors"):
        raise NoVectorsError(
            f"{getattr(model, 'label', '') or model.name} has no latent vectors to project; "
            f"pick a model of the {LATENT_FAMILIES} family."
        )
    vectors = model.item_vectors() if what == "items" else model.user_vectors()
    extra, names = None, ()
    if what == "items" and with_tags and model.supports("tags"):
        extra = np.asarray(model.tag_vectors(), dtype=np.float32)
        names = tuple(model.tag_names())
    return project(
        vectors,
        method,
        metric=metric or model_metric(model),
        random_state=random_state,
        perplexity=perplexity,
        n_neighbors=n_neighbors,
        sample=sample,
        strata=strata,
        progress=progress,
        cache=cache,
        cache_name=f"{model_id or model.name}-{what}",
        extra=extra,
        extra_names=names,
    )


def model_metric(model: Any) -> str:
    """The metric that matches how the model measures similarity (see :mod:`.methods`)."""
    if getattr(model, "name", "") == "vectors" and getattr(model, "metric", "cosine") == "dot":
        return "euclidean"
    return "cosine"


def latent_entries(entries: list[dict], exclude: str | None = None) -> list[dict]:
    """The store entries (``ModelStore.list`` rows) of models with vectors to project, in order:
    not damaged, of a registered algorithm that has item vectors, and not ``exclude``."""
    registry = algorithms()
    out = []
    for entry in entries:
        cls = registry.get(str(entry.get("algorithm")))
        if entry.get("damaged") or cls is None or entry.get("model_id") == exclude:
            continue
        if cls.supports("item_vectors"):
            out.append(entry)
    return out


def _resolve_model(model_or_id: Any) -> tuple[Any, str | None]:
    if isinstance(model_or_id, str):
        return ModelStore().load(model_or_id), model_or_id
    return model_or_id, getattr(model_or_id, "model_id_", None)


# ------------------------------------------------------------------------------------- checking
def _check_method(method: str) -> str:
    text = str(method).strip().lower().replace("-", "")
    if text not in METHODS:
        raise ParameterError(f"Projection method {method!r} is unknown; use pca, tsne or umap.")
    if text == "umap" and not umap_available():
        raise ParameterError(UMAP_MISSING)
    return text


def _check_metric(metric: str) -> str:
    text = str(metric).strip().lower()
    if text not in METRICS:
        raise ParameterError(f"Projection metric {metric!r} is unknown; use cosine or euclidean.")
    return text


def _check_sizes(
    method: str, n: int, sample: int | None, perplexity: float, n_neighbors: int
) -> int | None:
    """The sample size to draw (None: every row), after checking it and the method's size."""
    if sample is not None and (int(sample) != sample or sample < 3):
        raise ParameterError(f"sample needs an integer of at least 3, got {sample!r}.")
    if method == "tsne" and not 2 <= float(perplexity) <= 200:
        raise ParameterError(f"perplexity needs a number from 2 to 200, got {perplexity!r}.")
    if method == "umap" and not 2 <= int(n_neighbors) <= 200:
        raise ParameterError(f"n_neighbors needs an integer from 2 to 200, got {n_neighbors!r}.")
    return None if sample is None or int(sample) >= n else int(sample)


def _check_vectors(vectors: Any, what: str = "vectors", minimum: int = 3) -> np.ndarray:
    data = np.asarray(vectors)
    if data.ndim != 2:
        raise UserError(f"The {what} need a 2-D array [rows, dimensions], got shape {data.shape}.")
    data = data.astype(np.float32, copy=False)
    if len(data) < minimum:
        raise UserError(f"A projection needs at least {minimum} rows; got {len(data)}.")
    if data.size and not np.isfinite(data).all():
        bad = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])
        raise UserError(
            f"Row {bad} of the {what} holds NaN or infinite values; retrain the model (it may "
            "have diverged) before projecting it."
        )
    return data
