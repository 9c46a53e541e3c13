"""The three ways to map vectors to two dimensions: PCA, t-SNE and (where installed) UMAP.

Each runner takes the rows to fit, float32 [n, d], already in the metric's space
(:func:`normalise` for cosine), and returns their map, [n, 2]. :func:`run` picks one by name;
:func:`recsys_core.projection.maps.project` checks, samples and caches around it.

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
initialisation.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable

import numpy as np

from ..errors import ParameterError

Progress = Callable[[float, str], None]
"""``progress(fraction, message)``: how far a projection is, in [0, 1], and what it does."""

METHODS = ("pca", "tsne", "umap")
METRICS = ("cosine", "euclidean")
TSNE_EARLY_ITERATIONS = 250
TSNE_ITERATIONS = 250
TSNE_JOBS = 2
TSNE_PARALLEL_FROM = 10_000
"""openTSNE runs on TSNE_JOBS threads from this many points, on one below: its threads spin
between iterations, which cost more than they gave at 250 to 5,000 points on a busy 2-core
machine (0.2 s vs 3 s at 250 points, 6.5 s vs 21 s at 3,000)."""
UMAP_HINT = "pip install umap-learn"
UMAP_MISSING = f"UMAP is not installed here; {UMAP_HINT} to enable it, or use pca or tsne."


# ---------------------------------------------------------------------------------- availability
def umap_available() -> bool:
    """Whether the ``umap`` package (umap-learn) is installed, found without importing it: a
    cold ``import umap`` takes about 35 s (numba), and every page that lists the methods asks.

    A module already in ``sys.modules`` answers for itself (None there means "blocked").
    """
    if "umap" in sys.modules:
        return sys.modules["umap"] is not None
    try:
        return importlib.util.find_spec("umap") is not None
    except (ImportError, ValueError):
        return False


def available_methods() -> list[str]:
    """The methods this installation offers: PCA, t-SNE, and UMAP where installed."""
    return ["pca", "tsne"] + (["umap"] if umap_available() else [])


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (rows of zeros stay zero), float32 [n, d]."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


# --------------------------------------------------------------------------------------- runners
def run(
    method: str,
    space: np.ndarray,
    *,
    random_state: int,
    perplexity: float,
    n_neighbors: int,
    report: Progress,
) -> np.ndarray:
    """The map of ``space`` (float32 [n, d]) by ``method``, float [n, 2].

    ``perplexity`` is t-SNE's (already fitted to ``n``), ``n_neighbors`` UMAP's; each runner is
    looked up here when called, so a test may count the calls.
    """
    if method == "tsne":
        return tsne(space, perplexity, random_state, report)
    if method == "umap":
        return umap(space, n_neighbors, random_state, report)
    return pca(space, random_state)


def pca(space: np.ndarray, random_state: int) -> np.ndarray:
    """scikit-learn's PCA to two components (one factor: the second axis is zero)."""
    from sklearn.decomposition import PCA

    if space.shape[1] < 2:
        space = np.hstack([space, np.zeros((len(space), 2 - space.shape[1]), space.dtype)])
    return PCA(n_components=2, random_state=random_state).fit_transform(space)


def tsne(space: np.ndarray, perplexity: float, random_state: int, report: Progress) -> np.ndarray:
    """openTSNE: neighbours, PCA initialisation, early exaggeration, then refinement.

    Where openTSNE is not installed, scikit-learn's Barnes-Hut TSNE (same perplexity, PCA
    initialisation, same seed): several times slower at Sketchfab size, same kind of map.
    """
    try:
        from openTSNE import TSNEEmbedding, affinity, initialization
    except ImportError:
        return _sklearn_tsne(space, perplexity, random_state, report)

    n = len(space)
    jobs = TSNE_JOBS if n >= TSNE_PARALLEL_FROM else 1
    report(0.05, f"Finding each point's neighbours ({n:,} points)…")
    affinities = affinity.PerplexityBasedNN(
        space, perplexity=perplexity, n_jobs=jobs, random_state=random_state, verbose=False
    )
    init = initialization.pca(space, random_state=random_state)
    embedding = TSNEEmbedding(
        init,
        affinities,
        negative_gradient_method="auto",
        n_jobs=jobs,
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
        TSNE_EARLY_ITERATIONS,
        exaggeration=12,
        momentum=0.5,
        callbacks=stage(0, "Laying out the clusters"),
        callbacks_every_iters=every,
    )
    embedding = embedding.optimize(
        TSNE_ITERATIONS,
        momentum=0.8,
        callbacks=stage(TSNE_EARLY_ITERATIONS, "Refining the map"),
        callbacks_every_iters=every,
    )
    return np.asarray(embedding)


def _sklearn_tsne(
    space: np.ndarray, perplexity: float, random_state: int, report: Progress
) -> np.ndarray:
    from sklearn.manifold import TSNE

    report(
        0.1,
        f"Running scikit-learn's t-SNE ({len(space):,} points; install openTSNE for a faster one)…",
    )
    return TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        random_state=random_state,
        max_iter=TSNE_EARLY_ITERATIONS + TSNE_ITERATIONS,
    ).fit_transform(space)


def umap(space: np.ndarray, n_neighbors: int, random_state: int, report: Progress) -> np.ndarray:
    """umap-learn's UMAP to two components, euclidean (the rows are normalised for cosine)."""
    try:
        module = importlib.import_module("umap")
    except ImportError:  # found by umap_available but broken (a missing numba, say)
        raise ParameterError(UMAP_MISSING) from None
    report(0.1, f"Running UMAP ({len(space):,} points)…")
    reducer = module.UMAP(
        n_components=2,
        n_neighbors=min(int(n_neighbors), len(space) - 1),
        metric="euclidean",
        random_state=random_state,
    )
    return reducer.fit_transform(space)
