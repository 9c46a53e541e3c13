"""Which rows a sampled projection maps: a stratified sample, by category or k-means cluster."""

from __future__ import annotations

import numpy as np

STRATA_CLUSTERS = 50
"""k-means clusters that stratify a sample when no labels are given."""


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


def kmeans_labels(space: np.ndarray, random_state: int) -> np.ndarray:
    """A k-means cluster per row of ``space`` [n, d] (at most :data:`STRATA_CLUSTERS`), int [n]."""
    from sklearn.cluster import MiniBatchKMeans

    clusters = int(min(STRATA_CLUSTERS, max(2, len(space) // 50)))
    km = MiniBatchKMeans(clusters, random_state=random_state, n_init=1, batch_size=2048)
    return km.fit_predict(space)
