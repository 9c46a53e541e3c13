"""What every projection returns: :class:`Projection`, a 2-D map of some rows of vectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
"""Each method's name as people read it."""


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

    def places(self, rows: Any) -> np.ndarray:
        """Where the input ``rows`` that are on the map stand in ``indices`` (and ``coords``).

        Returns
        -------
        np.ndarray of int64, shape [m]
            One position per row of ``rows`` on the map, in the order given; rows not projected
            (outside a sample) are left out.
        """
        rows, where, found = self._lookup(rows)
        return where[found]

    def positions(self, rows: Any) -> np.ndarray:
        """Coordinates of input rows, float32 [len(rows), 2]; NaN for rows not projected."""
        rows, where, found = self._lookup(rows)
        out = np.full((len(rows), 2), np.nan, np.float32)
        out[found] = self.coords[where[found]]
        return out

    def _lookup(self, rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows as int64 [m], their searchsorted places in ``indices``, whether each is there)."""
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if len(self.indices) == 0 or len(rows) == 0:
            return rows, np.zeros(len(rows), np.int64), np.zeros(len(rows), bool)
        where = np.clip(np.searchsorted(self.indices, rows), 0, len(self.indices) - 1)
        return rows, where.astype(np.int64), self.indices[where] == rows

    def missing(self, rows: Any) -> int:
        """How many of the input ``rows`` are not on the (sampled) map."""
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        return len(rows) - len(self.places(rows))

    def to_frame(self) -> pd.DataFrame:
        """``row``, ``x``, ``y``: one line per projected row."""
        return pd.DataFrame({"row": self.indices, "x": self.coords[:, 0], "y": self.coords[:, 1]})
