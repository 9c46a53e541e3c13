"""Two-dimensional maps of a model's latent space: PCA, t-SNE and (where installed) UMAP.

- :mod:`.maps`: :func:`project` (any vectors ``[n, d]`` to ``[n, 2]``) and
  :func:`project_model` (a model's item, tag or user vectors), in named steps;
- :mod:`.methods`: the runners (PCA, t-SNE, UMAP), the metric and why;
- :mod:`.sampling`: stratified samples (by category or k-means cluster);
- :mod:`.cache`: the disk cache under ``config.cache_dir("projections")``;
- :mod:`.alignment`: one map turned to face another (orthogonal Procrustes);
- :mod:`.jobs`: the app's background computations and cache look-ups;
- :mod:`.result`: :class:`Projection`, what every one of them returns.

The names callers use are re-exported here.
"""

from __future__ import annotations

from .alignment import Alignment, align, align_projection, fit_alignment
from .cache import CACHE_VERSION, cache_dir, clear_cache
from .maps import (
    LATENT_FAMILIES,
    NoVectorsError,
    latent_entries,
    model_metric,
    project,
    project_model,
)
from .methods import (
    METHODS,
    METRICS,
    UMAP_HINT,
    Progress,
    available_methods,
    normalise,
    umap_available,
)
from .result import METHOD_LABELS, Projection
from .sampling import stratified_sample

__all__ = [
    "CACHE_VERSION",
    "LATENT_FAMILIES",
    "METHODS",
    "METHOD_LABELS",
    "METRICS",
    "UMAP_HINT",
    "Alignment",
    "NoVectorsError",
    "Progress",
    "Projection",
    "align",
    "align_projection",
    "available_methods",
    "cache_dir",
    "clear_cache",
    "fit_alignment",
    "latent_entries",
    "model_metric",
    "normalise",
    "project",
    "project_model",
    "stratified_sample",
    "umap_available",
]
