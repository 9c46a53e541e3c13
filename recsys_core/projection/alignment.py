"""Turning one map to face another: an orthogonal Procrustes fit.

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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import orthogonal_procrustes

from .result import Projection


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
