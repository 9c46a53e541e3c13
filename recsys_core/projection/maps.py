"""Two-dimensional maps of a model's latent space: PCA, t-SNE and (where installed) UMAP.

:func:`project` maps any float matrix of vectors ``[n, d]`` to ``[n, 2]``; :func:`project_model`
does it for a model's item vectors (with, for lightfm trained with tag features, the tag vectors
in the same map) or its user vectors. Results are cached on disk under
``config.cache_dir("projections")``, so a second view of the same projection is instant.

Metric
------
Every latent-factor family here (als, bpr, lmf, svd, biased-mf, lightfm, and vectors with
``metric=cosine``) measures item similarity as the cosine of the vectors
(``Recommender.similar_items``). So the projections use cosine too, in the simplest exact form:
rows are L2-normalised, then everything is euclidean. For unit vectors
``|a - b|^2 = 2 - 2 cos(a, b)``, so euclidean neighbours are cosine neighbours, PCA of the
normalised rows keeps the directions the model compares, and both t-SNE libraries and UMAP get
one plain euclidean input. ``vectors`` with ``metric=dot`` is projected with ``euclidean`` (raw
rows): norms matter to a dot product, and euclidean is the nearest metric that keeps them.
:func:`model_metric` makes that choice; ``metric=`` overrides it.

t-SNE
-----
openTSNE (FFT-accelerated interpolation from 10k points on 2 threads, Barnes-Hut on one thread
below, see :data:`TSNE_PARALLEL_FROM`) is used, not scikit-learn's ``TSNE``: on ALS vectors (64
factors) of 5k items scikit-learn took 57 s and openTSNE 11 s; at 25k scikit-learn was stopped
after a minute and openTSNE took 40 s, so a Sketchfab-sized catalogue is mapped whole, without
sampling (wall-clock on a shared 2-core machine; ``benchmarks/bench_projection.py`` prints the
numbers). The schedule is openTSNE's early exaggeration (250 iterations, exaggeration 12) then
250 normal iterations (its default of 500 gave the same silhouette of the planted groups at 25k
for twice the time), PCA initialisation, ``random_state`` for the neighbour index and the
initialisation. A ``sample`` projects a stratified subset (see :func:`stratified_sample`) and
says so in :attr:`Projection.note`; the app samples above 25,000 points by default.

Alignment
---------
t-SNE and PCA maps are only defined up to rotation and reflection, so two models' maps of the
same items come out in arbitrary orientations. :func:`align_projection` rotates (and reflects,
and scales) one 2-D map onto another with an orthogonal Procrustes fit over the items they
share. We align the 2-D maps, not the vectors before projecting: both PCA and t-SNE are
invariant to a rotation of their input, so aligning the vectors would not change the pictures.
A rigid map only removes the arbitrary rotation and reflection: where two models arrange their
clusters differently (t-SNE places whole clusters arbitrarily; two models' top two principal
axes may contrast different groups) the disparity stays high (0.86 to 0.99 between the demo's
ALS and BPR models, PCA and t-SNE alike), and the page prints it beside the second map.
:func:`align` is the general tool (any dimension, zero-padded when they differ).

Cache
-----
One entry per (what was projected, content hash of the vectors, method, parameters): an
``.npz`` (written with ``np.savez``, read with ``allow_pickle=False``) and a ``.json`` beside
it, both written atomically (temporary file + ``os.replace``). The file name starts with the
model id when there is one, so a model's entries are easy to find. A damaged entry is
recomputed, never raised.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes

from . import config
from .errors import ParameterError, UserError

Progress = Callable[[float, str], None]

METHODS = ("pca", "tsne", "umap")
METRICS = ("cosine", "euclidean")
CACHE_VERSION = 1
TSNE_EARLY_ITERATIONS = 250
TSNE_ITERATIONS = 250
TSNE_JOBS = 2
TSNE_PARALLEL_FROM = 10_000
"""openTSNE runs on TSNE_JOBS threads from this many points, on one below: its threads spin
between iterations, which cost more than they gave at 250 to 5,000 points on a busy 2-core
machine (0.2 s vs 3 s at 250 points, 6.5 s vs 21 s at 3,000)."""
STRATA_CLUSTERS = 50
"""k-means clusters that stratify a sample when no labels are given."""
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
UMAP_HINT = "pip install umap-learn"
LATENT_FAMILIES = "als, bpr, lmf, svd, biased-mf, lightfm or vectors"


class NoVectorsError(UserError, ValueError):
    """A model without a latent space (item-knn, popularity, ease, content) cannot be projected."""


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class Projection:
    """A 2-D map of some rows of a matrix of vectors.

    Attributes
    ----------
    coords : np.ndarray of float32, shape [n, 2]
        The map, one row per projected row.
    indices : np.ndarray of int64, shape [n]
        Which rows of the input were projected (sorted): all of them, or a stratified sample.
    method : str
        ``"pca"``, ``"tsne"`` or ``"umap"``.
    params : dict
        Everything that determined the map (metric, random_state, perplexity, sample, ...).
    seconds : float
        Time the computation took (not the cache read).
    note : str
        One sentence for people when something was adapted (a sample, a lowered perplexity).
    n_total : int
        Rows in the input before sampling.
    tag_coords : np.ndarray of float32, shape [n_tags, 2], or None
        Tag vectors mapped with the items (lightfm with tag features).
    tag_names : tuple of str
        The tags of ``tag_coords``, in order.
    cached : bool
        True when read from the disk cache.
    key : str
        The cache key.
    """

    coords: np.ndarray
    indices: np.ndarray
    method: str
    params: dict = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""
    n_total: int = 0
    tag_coords: np.ndarray | None = None
    tag_names: tuple[str, ...] = ()
    cached: bool = False
    key: str = ""

    @property
    def sampled(self) -> bool:
        return len(self.indices) < self.n_total

    @property
    def label(self) -> str:
        """``"t-SNE (perplexity 30)"``: the method as shown to people."""
        name = METHOD_LABELS.get(self.method, self.method)
        if self.method == "tsne":
            return f"{name} (perplexity {self.params.get('perplexity', 30):g})"
        if self.method == "umap":
            return f"{name} ({self.params.get('n_neighbors')} neighbours)"
        return name

    def positions(self, rows: Any) -> np.ndarray:
        """Coordinates of input rows, float32 [len(rows), 2]; NaN for rows not projected."""
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        out = np.full((len(rows), 2), np.nan, np.float32)
        if len(self.indices) == 0 or len(rows) == 0:
            return out
        where = np.clip(np.searchsorted(self.indices, rows), 0, len(self.indices) - 1)
        found = self.indices[where] == rows
        out[found] = self.coords[where[found]]
        return out

    def to_frame(self) -> pd.DataFrame:
        """``row``, ``x``, ``y``: one line per projected row."""
        return pd.DataFrame(
            {"row": self.indices, "x": self.coords[:, 0], "y": self.coords[:, 1]}
        )


# ---------------------------------------------------------------------------------- availability
def umap_available() -> bool:
    """Whether the ``umap`` package (umap-learn) imports."""
    try:
        importlib.import_module("umap")
    except ImportError:
        return False
    return True


def available_methods() -> list[str]:
    """The methods this installation offers: PCA, t-SNE, and UMAP where installed."""
    return ["pca", "tsne"] + (["umap"] if umap_available() else [])


def model_metric(model: Any) -> str:
    """The metric that matches how the model measures similarity (see the module docstring)."""
    if getattr(model, "name", "") == "vectors" and getattr(model, "metric", "cosine") == "dot":
        return "euclidean"
    return "cosine"


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
        UMAP only where ``umap`` imports (:func:`available_methods`).
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
    method = _check_method(method)
    metric = _check_metric(metric)
    data = _check_vectors(vectors)
    extra_data = None if extra is None else _check_vectors(extra, what="extra vectors", minimum=0)
    n = data.shape[0]
    if sample is not None and (int(sample) != sample or sample < 3):
        raise ParameterError(f"sample needs an integer of at least 3, got {sample!r}.")
    if method == "tsne" and not 2 <= float(perplexity) <= 200:
        raise ParameterError(f"perplexity needs a number from 2 to 200, got {perplexity!r}.")
    if method == "umap" and not 2 <= int(n_neighbors) <= 200:
        raise ParameterError(f"n_neighbors needs an integer from 2 to 200, got {n_neighbors!r}.")
    sample = None if sample is None or int(sample) >= n else int(sample)
    params: dict[str, Any] = {"metric": metric, "random_state": int(random_state)}
    if method == "tsne":
        params["perplexity"] = float(perplexity)
    if method == "umap":
        params["n_neighbors"] = int(n_neighbors)
    if sample is not None:
        params["sample"] = sample
        params["strata"] = "labels" if strata is not None else "k-means"
    key = _cache_key(data, extra_data, strata if sample is not None else None, method, params)
    path = _cache_path(cache_name, key)
    if cache:
        hit = _read_cache(path, key)
        if hit is not None:
            if progress:
                progress(1.0, "Read from the cache.")
            return hit

    report = progress or (lambda fraction, message: None)
    start = time.perf_counter()
    report(0.0, f"Preparing the {METHOD_LABELS[method]} projection…")
    space = _normalise(data) if metric == "cosine" else data.astype(np.float32, copy=False)
    extra_space = None
    if extra_data is not None:
        extra_space = _normalise(extra_data) if metric == "cosine" else extra_data
    indices = np.arange(n, dtype=np.int64)
    notes = []
    if sample is not None:
        report(0.02, f"Drawing a stratified sample of {sample:,} of {n:,}…")
        labels = strata if strata is not None else _kmeans_labels(space, random_state)
        indices = stratified_sample(labels, sample, random_state=random_state)
        by = "category" if strata is not None else "k-means cluster"
        notes.append(
            f"{METHOD_LABELS[method]} of a stratified sample of {len(indices):,} of {n:,} points "
            f"(by {by}); raise the sample size to map them all."
        )
    fit_rows = space[indices]
    if extra_space is not None and len(extra_space):
        fit_rows = np.vstack([fit_rows, extra_space])
    if method == "tsne":
        effective = min(float(perplexity), max((len(fit_rows) - 1) / 3.0, 1.0))
        if effective < float(perplexity):
            notes.append(f"Perplexity lowered to {effective:.0f} for {len(fit_rows):,} points.")
        coords = _tsne(fit_rows, effective, random_state, report)
    elif method == "umap":
        coords = _umap(fit_rows, int(n_neighbors), random_state, report)
    else:
        coords = _pca(fit_rows, random_state)
    coords = np.ascontiguousarray(coords, dtype=np.float32)
    seconds = time.perf_counter() - start
    n_main = len(indices)
    result = Projection(
        coords=coords[:n_main],
        indices=indices,
        method=method,
        params=params,
        seconds=seconds,
        note=" ".join(notes),
        n_total=n,
        tag_coords=coords[n_main:] if extra_space is not None else None,
        tag_names=tuple(str(name) for name in extra_names),
        key=key,
    )
    if cache:
        _write_cache(path, result)
    report(1.0, f"{METHOD_LABELS[method]} done in {seconds:.1f} s.")
    return result


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
    vectors = model.item_vectors() if what == "items" else model.user_vectors()
    if vectors is None:
        raise NoVectorsError(
            f"{getattr(model, 'label', '') or model.name} has no latent vectors to project; "
            f"pick a model of the {LATENT_FAMILIES} family."
        )
    extra, names = None, ()
    if what == "items" and with_tags and _has_tags(model):
        extra = np.asarray(model.tag_vectors(), dtype=np.float32)
        names = tuple(model.tag_names())
    name = f"{model_id or model.name}-{what}"
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
        cache_name=name,
        extra=extra,
        extra_names=names,
    )


def has_vectors(model: Any) -> bool:
    """Whether the model has item vectors to project."""
    supports = getattr(model, "supports", None)
    return bool(supports and supports("item_vectors"))


def _has_tags(model: Any) -> bool:
    supports = getattr(model, "supports", None)
    return bool(supports and supports("tags"))


def _resolve_model(model_or_id: Any) -> tuple[Any, str | None]:
    if isinstance(model_or_id, str):
        from .store import ModelStore

        return ModelStore().load(model_or_id), model_or_id
    return model_or_id, getattr(model_or_id, "model_id_", None)


# --------------------------------------------------------------------------------------- sample
def stratified_sample(labels: np.ndarray, size: int, *, random_state: int = 0) -> np.ndarray:
    """A sorted sample of ``size`` row indices, spread over the labels in proportion.

    Every label gets its share (largest remainders), and at least one row while the sample has
    room for one per label, so small groups stay on the map.

    Parameters
    ----------
    labels : array, shape [n]
        A stratum per row (categories, cluster ids; anything hashable).
    size : int
        Rows to keep (at most ``n``).
    random_state : int
        Seed of the draw.

    Returns
    -------
    np.ndarray of int64, shape [min(size, n)]
    """
    labels = np.asarray(labels)
    n = len(labels)
    size = min(int(size), n)
    rng = np.random.default_rng(random_state)
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = counts / n * size
    share = np.floor(exact).astype(np.int64)
    if size >= len(counts):
        share = np.maximum(share, 1)
    share = np.minimum(share, counts)
    while share.sum() > size:  # the minimum of one pushed it over: take from the largest
        share[np.argmax(share)] -= 1
    remainder = exact - share
    for stratum in np.argsort(-remainder, kind="stable"):
        if share.sum() >= size:
            break
        if share[stratum] < counts[stratum]:
            share[stratum] += 1
    chosen = []
    for stratum, take in enumerate(share.tolist()):
        if take:
            members = np.flatnonzero(codes == stratum)
            chosen.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64) if chosen else np.zeros(0, np.int64)


def _kmeans_labels(space: np.ndarray, random_state: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    clusters = int(min(STRATA_CLUSTERS, max(2, len(space) // 50)))
    km = MiniBatchKMeans(clusters, random_state=random_state, n_init=1, batch_size=2048)
    return km.fit_predict(space)


# --------------------------------------------------------------------------------------- methods
def _pca(space: np.ndarray, random_state: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    if space.shape[1] < 2:  # one factor: the second axis is zero
        space = np.hstack([space, np.zeros((len(space), 2 - space.shape[1]), space.dtype)])
    return PCA(n_components=2, random_state=random_state).fit_transform(space)


def _tsne(space: np.ndarray, perplexity: float, random_state: int, report: Progress) -> np.ndarray:
    """openTSNE: neighbours, PCA initialisation, early exaggeration, then refinement.

    Where openTSNE is not installed, scikit-learn's Barnes-Hut TSNE (same perplexity, PCA
    initialisation, same seed): several times slower at Sketchfab size, same kind of map.
    """
    try:
        from openTSNE import TSNEEmbedding, affinity, initialization
    except ImportError:
        from sklearn.manifold import TSNE

        report(0.1, f"Running scikit-learn's t-SNE ({len(space):,} points; install openTSNE "
                    "for a faster one)…")
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=random_state,
            max_iter=TSNE_EARLY_ITERATIONS + TSNE_ITERATIONS,
        ).fit_transform(space)

    n = len(space)
    jobs = TSNE_JOBS if n >= TSNE_PARALLEL_FROM else 1
    report(0.05, f"Finding each point's neighbours ({n:,} points)…")
    affinities = affinity.PerplexityBasedNN(
        space, perplexity=perplexity, n_jobs=jobs, random_state=random_state, verbose=False
    )
    init = initialization.pca(space, random_state=random_state)
    embedding = TSNEEmbedding(
        init, affinities, negative_gradient_method="auto", n_jobs=jobs,
        random_state=random_state,
    )
    total = TSNE_EARLY_ITERATIONS + TSNE_ITERATIONS
    every = 25

    def stage(offset: int, text: str):
        def callback(iteration, error, current):
            done = offset + iteration
            report(0.2 + 0.8 * done / total, f"{text} (iteration {done} of {total})…")
            return False

        return callback

    report(0.2, "Laying out the clusters (early exaggeration)…")
    embedding = embedding.optimize(
        TSNE_EARLY_ITERATIONS, exaggeration=12, momentum=0.5,
        callbacks=stage(0, "Laying out the clusters"), callbacks_every_iters=every,
    )
    embedding = embedding.optimize(
        TSNE_ITERATIONS, momentum=0.8,
        callbacks=stage(TSNE_EARLY_ITERATIONS, "Refining the map"), callbacks_every_iters=every,
    )
    return np.asarray(embedding)


def _umap(space: np.ndarray, n_neighbors: int, random_state: int, report: Progress) -> np.ndarray:
    umap = importlib.import_module("umap")
    report(0.1, f"Running UMAP ({len(space):,} points)…")
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(int(n_neighbors), len(space) - 1),
        metric="euclidean",
        random_state=random_state,
    )
    return reducer.fit_transform(space)


# ------------------------------------------------------------------------------------- alignment
@dataclass(frozen=True)
class Alignment:
    """An orthogonal Procrustes fit: ``aligned = (x - source_mean) @ rotation * scale +
    target_mean`` (rows zero-padded to ``rotation``'s size when the dimensions differ).

    ``rotation`` is orthogonal (it may include a reflection); ``disparity`` is the residual
    sum of squares over the target's total sum of squares (0 is a perfect fit, 1 no fit).
    """

    rotation: np.ndarray
    scale: float
    source_mean: np.ndarray
    target_mean: np.ndarray
    disparity: float

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map source-space points, float [m, d_source] -> float32 [m, max(d_source, d_target)]."""
        points = _pad(np.asarray(points, dtype=np.float64), self.rotation.shape[0])
        aligned = (points - self.source_mean) @ self.rotation * self.scale + self.target_mean
        return aligned.astype(np.float32)


def fit_alignment(source: np.ndarray, target: np.ndarray, *, scale: bool = True) -> Alignment:
    """Fit the orthogonal map (plus translation and, optionally, a uniform scale) that brings
    ``source`` closest to ``target`` in least squares (``scipy.linalg.orthogonal_procrustes``).

    Parameters
    ----------
    source, target : np.ndarray, shapes [n, d_source] and [n, d_target]
        The same n things (items) in two spaces; the smaller dimension is zero-padded.
    scale : bool
        Fit a uniform scale as well (t-SNE maps of two models have different spreads).
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or target.ndim != 2 or len(source) != len(target):
        raise ValueError(
            f"align needs two matrices with the same rows, got shapes {source.shape} and "
            f"{target.shape}."
        )
    dims = max(source.shape[1], target.shape[1])
    source, target = _pad(source, dims), _pad(target, dims)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    a, b = source - source_mean, target - target_mean
    rotation, singular_sum = orthogonal_procrustes(a, b)
    norm = float((a * a).sum())
    factor = float(singular_sum) / norm if scale and norm > 0 else 1.0
    residual = float(((a @ rotation * factor - b) ** 2).sum())
    total = float((b * b).sum())
    return Alignment(
        rotation=rotation,
        scale=factor,
        source_mean=source_mean,
        target_mean=target_mean,
        disparity=residual / total if total > 0 else 0.0,
    )


def align(source: np.ndarray, target: np.ndarray, *, scale: bool = True) -> np.ndarray:
    """``source`` rotated (and reflected, translated, scaled) onto ``target``.

    Returns
    -------
    np.ndarray of float32, shape [n, max(d_source, d_target)]
    """
    return fit_alignment(source, target, scale=scale).apply(source)


def align_projection(source: Projection, target: Projection) -> Projection:
    """``source`` turned to the orientation of ``target``, fitted over the rows both projected.

    The two maps must be of the same rows (items of one dataset); samples may differ. Tags
    move with their map. ``note`` gains the fit's disparity, in words.

    Raises
    ------
    ValueError
        Fewer than 3 rows in common.
    """
    shared, in_source, in_target = np.intersect1d(
        source.indices, target.indices, assume_unique=True, return_indices=True
    )
    if len(shared) < 3:
        raise ValueError(
            f"The two projections share {len(shared)} rows; Procrustes needs at least 3."
        )
    fit = fit_alignment(source.coords[in_source], target.coords[in_target])
    tags = None if source.tag_coords is None else fit.apply(source.tag_coords)[:, :2]
    text = (
        f"Turned to face the same way as the first map (rotated, mirrored or scaled only), "
        f"matched on the {len(shared):,} points both show. What still differs after turning: "
        f"{fit.disparity:.2f} (0 is the same layout, 1 an unrelated one)."
    )
    return replace(
        source,
        coords=fit.apply(source.coords)[:, :2],
        tag_coords=tags,
        note=" ".join(part for part in (source.note, text) if part),
    )


def _pad(points: np.ndarray, dims: int) -> np.ndarray:
    if points.shape[1] >= dims:
        return points
    return np.hstack([points, np.zeros((len(points), dims - points.shape[1]), points.dtype)])


# ------------------------------------------------------------------------------------- checking
def _check_method(method: str) -> str:
    text = str(method).strip().lower().replace("-", "")
    if text not in METHODS:
        raise ParameterError(f"Projection method {method!r} is unknown; use pca, tsne or umap.")
    if text == "umap" and not umap_available():
        raise ParameterError(
            f"UMAP is not installed here; {UMAP_HINT} to enable it, or use pca or tsne."
        )
    return text


def _check_metric(metric: str) -> str:
    text = str(metric).strip().lower()
    if text not in METRICS:
        raise ParameterError(f"Projection metric {metric!r} is unknown; use cosine or euclidean.")
    return text


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


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


# ---------------------------------------------------------------------------------------- cache
def cache_dir() -> Path:
    """Where projections are cached (under RECSYS_HOME)."""
    return config.cache_dir("projections")


def _cache_key(
    data: np.ndarray,
    extra: np.ndarray | None,
    strata: np.ndarray | None,
    method: str,
    params: dict,
) -> str:
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


def _cache_path(name: str | None, key: str) -> Path:
    prefix = "".join(c if c.isalnum() or c in "-_." else "_" for c in (name or "vectors"))[:80]
    return cache_dir() / f"{prefix}-{key}"


def _read_cache(path: Path, key: str) -> Projection | None:
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


def _write_cache(path: Path, result: Projection) -> None:
    """Write the entry atomically; a full or read-only disk only costs the cache."""
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
    token = uuid.uuid4().hex[:8]
    tmp_npz = path.parent / f".tmp-{token}.npz"
    tmp_json = path.parent / f".tmp-{token}.json"
    try:
        with open(tmp_npz, "wb") as handle:
            np.savez(handle, **arrays)
        tmp_json.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp_npz, path.with_suffix(".npz"))
        os.replace(tmp_json, path.with_suffix(".json"))
    except OSError:
        for tmp in (tmp_npz, tmp_json):
            tmp.unlink(missing_ok=True)


def clear_cache(name: str | None = None) -> int:
    """Delete cached projections (all, or those whose file name starts with ``name``)."""
    removed = 0
    for entry in cache_dir().iterdir():
        if entry.suffix in (".npz", ".json") and (name is None or entry.name.startswith(name)):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
