"""One user's re-ranking in one C call, where the C module is built.

:meth:`~.reranker.Reranker.rerank_one_numpy` re-ranks one list with a few dozen numpy calls of
a microsecond each: 1.2 to 4.6 times the model's own ``recommend`` (about 60 µs on the demo).
``recsys_rerank_native`` (``native/recsys_rerank_native.c``, built by ``pip install -r
requirements.txt`` against numpy's headers) is the same computation in one call: the order of
the pool (the model's, then the popularity mix's), the greedy over the model's item vectors or
over categories, Steck's calibration terms and the "never less diverse" check, with the same
floating-point operations in the same order and no fused multiply-add, so it chooses exactly
the same lists. Its cosines are exact integers (the vectors are on ``reranker.COSINE_GRID``,
passed in grid units as int16); its logarithm is the C library's, checked against numpy's at
first use (numpy may use another on some CPUs). Where the module is missing, or disagrees, or
a list has what it does not take (calibration with a candidate without a category, a
non-finite score), numpy answers.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

KERNEL_VERSION = 6
"""The C source's KERNEL_VERSION this code expects (raised with every change of arithmetic)."""

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {"checked": False, "function": None, "why": None}


def rerank_one() -> Any:
    """The C ``rerank_one``, or None where it is not built or fails its check."""
    if not _STATE["checked"]:
        with _LOCK:
            if not _STATE["checked"]:
                _STATE["function"], _STATE["why"] = _load()
                _STATE["checked"] = True
    return _STATE["function"]


def why_not() -> str | None:
    """Why the C kernel is not in use (None when it is)."""
    rerank_one()
    return _STATE["why"]


def _load() -> tuple[Any, str | None]:
    try:
        import recsys_rerank_native as native
    except ImportError as error:  # not built, or built against a numpy this one cannot serve
        return (
            None,
            f"recsys_rerank_native cannot be imported ({error}; pip install -r requirements.txt)",
        )
    if getattr(native, "KERNEL_VERSION", None) != KERNEL_VERSION:
        return (
            None,
            "recsys_rerank_native was built from older source (pip install -r requirements.txt)",
        )
    values = np.random.default_rng(0).random(4096) * 3.0
    values[:4] = (0.0, 1e-300, 1e-9, 2.5)
    logs = np.empty_like(values)
    native.log1p_each(values, logs)
    if not np.array_equal(logs.view(np.int64), np.log1p(values).view(np.int64)):
        return None, "the C library's log1p differs from numpy's in the last bits"
    return native.rerank_one, None
