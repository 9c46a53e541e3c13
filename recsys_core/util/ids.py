"""Id positions: where ids sit in an array of ids, and id arrays put back in index order.

One helper for the lookups that align something keyed by original ids (factors trained
elsewhere, a vectors file, a predefined split) to a Dataset's index order:

- :func:`positions`: the position of each wanted id in an array (or mapping) of known ids, -1
  for an id that is not there;
- :func:`first_duplicate`: the first id that occurs twice (a lookup needs unique ids);
- :func:`in_index_order`: ids given with their index (an id map read from a table) as one
  array whose element ``i`` is the id of index ``i``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

MISSING = -1
"""The position :func:`positions` gives an id that is not among the known ones."""


def positions(known: Any, wanted: Any) -> np.ndarray:
    """The position of each of ``wanted`` in ``known``; ``MISSING`` (-1) where it is absent.

    Parameters
    ----------
    known : array-like of shape [n], or Mapping
        Unique ids in any order (a Dataset's sorted ``item_ids``, a file's ids as they come),
        or a mapping from id to position (a Dataset's lookup dict).
    wanted : array-like of shape [m]
        Ids to look up; compared as they are (convert both sides to ``str`` first when one of
        them may hold numbers).

    Returns
    -------
    np.ndarray of int64, shape [m]
        ``known[result[j]] == wanted[j]`` wherever ``result[j] >= 0``.

    Raises
    ------
    ValueError
        ``known`` is an array holding an id more than once (see :func:`first_duplicate`).
    """
    if isinstance(known, Mapping):
        return np.fromiter(
            (known.get(key, MISSING) for key in np.asarray(wanted).tolist()),
            dtype=np.int64,
            count=len(wanted),
        )
    index = pd.Index(np.asarray(known))
    if not index.is_unique:
        raise ValueError(
            f"The ids hold {first_duplicate(known)!r} more than once; a lookup needs unique ids."
        )
    return index.get_indexer(np.asarray(wanted)).astype(np.int64, copy=False)


def first_duplicate(ids: Any) -> Any | None:
    """The first id of ``ids`` (array-like of shape [n]) seen a second time, None if all differ."""
    index = pd.Index(np.asarray(ids))
    if index.is_unique:
        return None
    return index[index.duplicated()][0]


def in_index_order(index: Any, ids: Any) -> np.ndarray:
    """Ids listed with their index (an id map's two columns) as one array in index order.

    Parameters
    ----------
    index : array-like of int, shape [n]
        A permutation of ``0..n-1``: the index of each id.
    ids : array-like, shape [n]
        The ids, in the same row order as ``index``.

    Returns
    -------
    np.ndarray of str, shape [n]
        Element ``i`` is the id whose index is ``i``.
    """
    index = np.asarray(index, dtype=np.int64)
    out = np.empty(len(index), dtype=object)
    out[index] = np.asarray(ids, dtype=object)
    return out.astype(str)
