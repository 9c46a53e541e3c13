"""Item feature matrices built from a Dataset's ``items`` frame (for LightFM with side information).

The layout follows the LightFM Sketchfab post: an identity block (one feature per item, so each
item keeps a latent vector of its own), then one-hot ``category`` features, then one-hot tag
features. Each row is normalised to sum to 1 (``lightfm.data.Dataset``'s default), so an item
with many tags is not represented by a longer vector than an item with one.

Feature names carry their kind as a prefix: ``item:<item_id>``, ``category:<name>``,
``tag:<name>``; :class:`ItemFeatures` finds the blocks again from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DatasetError

ITEM_PREFIX = "item:"
CATEGORY_PREFIX = "category:"
TAG_PREFIX = "tag:"


@dataclass(frozen=True, eq=False)
class ItemFeatures:
    """A feature matrix and the names of its columns.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of float32, shape [n_items, n_features]
        Row ``i`` holds item ``i``'s weights over the features (rows sum to 1 when normalised).
    names : np.ndarray of str, shape [n_features]
        ``item:<id>``, ``category:<name>`` or ``tag:<name>``, in column order.
    """

    matrix: sp.csr_matrix
    names: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.matrix.shape[1])

    def columns(self, prefix: str) -> np.ndarray:
        """Column indices (int64) of the features whose name starts with ``prefix``."""
        return np.flatnonzero(np.char.startswith(self.names.astype(str), prefix)).astype(np.int64)

    @property
    def tag_columns(self) -> np.ndarray:
        """Column indices of the tag block, int64 [n_tags]."""
        return self.columns(TAG_PREFIX)

    @property
    def tag_names(self) -> list[str]:
        """Tag names (without the ``tag:`` prefix), in column order."""
        return [str(name)[len(TAG_PREFIX) :] for name in self.names[self.tag_columns]]

    def item_tags(self) -> sp.csr_matrix:
        """Which items carry which tag: binary float32 csr [n_items, n_tags]."""
        block = sp.csr_matrix(self.matrix[:, self.tag_columns], dtype=np.float32)
        block.data[:] = 1.0
        return block


def item_feature_matrix(
    items: pd.DataFrame,
    *,
    identity: bool = True,
    categories: bool = True,
    tags: bool = True,
    min_count: int = 1,
    normalize: bool = True,
) -> ItemFeatures:
    """Build the item feature matrix: identity block, one-hot categories, one-hot tags.

    Parameters
    ----------
    items : pd.DataFrame, n_items rows indexed like the matrix columns
        Needs ``item_id``; uses ``category`` (str, empty for none) and ``tags`` (list of str)
        when present (a Dataset's ``items`` always has them).
    identity : bool
        Include one feature per item (``item:<id>``).
    categories, tags : bool
        Include the one-hot category / tag blocks.
    min_count : int
        Leave out categories and tags carried by fewer items than this.
    normalize : bool
        Scale each row to sum to 1.

    Returns
    -------
    ItemFeatures
        ``matrix`` float32 csr [n_items, n_features] and ``names`` str [n_features]. Column order:
        identity (item order), categories (sorted), tags (sorted).
    """
    if "item_id" not in items.columns:
        raise DatasetError("The items table needs an item_id column to build item features.")
    n_items = len(items)
    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    if identity:
        blocks.append(sp.identity(n_items, dtype=np.float32, format="csr"))
        names.extend(ITEM_PREFIX + str(item_id) for item_id in items["item_id"])
    if categories and "category" in items.columns:
        lists = [[str(c)] if isinstance(c, str) and c.strip() else [] for c in items["category"]]
        block, vocabulary = _one_hot(lists, n_items, min_count)
        blocks.append(block)
        names.extend(CATEGORY_PREFIX + value for value in vocabulary)
    if tags and "tags" in items.columns:
        lists = [_tag_list(value) for value in items["tags"]]
        block, vocabulary = _one_hot(lists, n_items, min_count)
        blocks.append(block)
        names.extend(TAG_PREFIX + value for value in vocabulary)
    if not blocks:
        raise DatasetError("No item features were requested; enable identity, categories or tags.")
    matrix = sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=np.float32)
    if normalize:
        sums = np.asarray(matrix.sum(axis=1)).ravel()
        sums[sums == 0] = 1.0
        matrix = sp.csr_matrix(sp.diags(1.0 / sums) @ matrix, dtype=np.float32)
    matrix.sort_indices()
    return ItemFeatures(matrix=matrix, names=np.array(names, dtype=str))


def _tag_list(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        value = value.replace("|", ",").replace(";", ",").split(",")
    return sorted({str(v).strip() for v in value if str(v).strip()})


def _one_hot(lists: list[list[str]], n_items: int, min_count: int):
    counts: dict[str, int] = {}
    for values in lists:
        for value in set(values):
            counts[value] = counts.get(value, 0) + 1
    vocabulary = sorted(v for v, c in counts.items() if c >= max(1, min_count))
    column = {value: j for j, value in enumerate(vocabulary)}
    rows, cols = [], []
    for i, values in enumerate(lists):
        for value in set(values):
            j = column.get(value)
            if j is not None:
                rows.append(i)
                cols.append(j)
    block = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (np.array(rows, int), np.array(cols, int))),
        shape=(n_items, len(vocabulary)),
    )
    block.sort_indices()
    return block, vocabulary
