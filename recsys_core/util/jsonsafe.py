"""Values as plain JSON types: numpy scalars and arrays, tuples, sets and paths, NaN.

One helper for what the store, the evaluation results, tuning and the command line's ``--json``
all need: :func:`json_safe` returns plain Python values (``json.dumps`` of them never fails and
never writes ``NaN``), :func:`json_default` is the ``default=`` hook for ``json.dump``.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    """The ``default=`` of ``json.dump``: numpy scalars and arrays, paths, sets and tuples.

    Raises
    ------
    TypeError
        For any other type, as ``json`` itself does.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_safe(value: Any, *, nan: Any = None) -> Any:
    """``value`` as plain JSON types, recursively.

    Parameters
    ----------
    value : Any
        Dicts (keys become strings), lists, tuples, sets, numpy scalars and arrays, paths,
        numbers, strings, booleans and None.
    nan : Any
        What a non-finite float (NaN, +-inf) becomes; None by default (JSON has no NaN).

    Returns
    -------
    Any
        Only dict, list, str, int, float, bool and None.
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item, nan=nan) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item, nan=nan) for item in value]
    if isinstance(value, np.ndarray):
        return [json_safe(item, nan=nan) for item in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return nan
    if isinstance(value, PurePath):
        return str(value)
    return value
