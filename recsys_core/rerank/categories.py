"""A dataset's item categories as integer codes, computed once per dataset.

What the category filters, the calibration dial and diversity by "same category" read.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import pandas as pd

_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CODES_LOCK = threading.Lock()


def dataset_codes(dataset: Any) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """:func:`category_codes` of a dataset's items, computed once per dataset (a Dataset is
    frozen; the codes are read-only)."""
    with _CODES_LOCK:
        found = _CODES.get(dataset)
    if found is None:
        found = category_codes(dataset.items, int(dataset.n_items))
        if found[0] is not None:
            found[0].setflags(write=False)
        try:
            with _CODES_LOCK:
                _CODES[dataset] = found
        except TypeError:  # an object without weak references: not kept
            pass
    return found


def category_codes(items: pd.DataFrame, n_items: int) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Category codes int64 [n_items] (-1: none) and the names; (None, ()) without any."""
    if "category" not in items:
        return None, ()
    column = items["category"].fillna("").astype(str).str.strip()
    codes, names = pd.factorize(column.where(column != "", None))
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) != n_items or (codes < 0).all():
        return None, ()
    return codes, tuple(str(name) for name in names)
