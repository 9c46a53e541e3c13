"""Words for comparing lists and maps: the overlap measures of Compare and the alignment of
Embeddings.

:func:`overlap_label` gives the label and help of ``jaccard``, ``rbo``, ``shared``, ``first``,
``second`` (:func:`recsys_core.overlap.pairwise_overlap`'s columns) and ``disparity``
(:class:`recsys_core.projection.Alignment`).
"""

from __future__ import annotations

import math

from ..overlap import DEFAULT_P

__all__ = ["OVERLAP_WORDS", "overlap_label", "rbo_top_weight"]


def rbo_top_weight(p: float, depth: int) -> float:
    """Share of RBO's weight on the first ``depth`` ranks (Webber et al. 2010, equation 21)."""
    tail = sum(p**i / i for i in range(1, depth))
    return 1 - p ** (depth - 1) + (1 - p) / p * depth * (math.log(1 / (1 - p)) - tail)


def _overlap_words() -> dict[str, tuple[str, str]]:
    top = rbo_top_weight(DEFAULT_P, 10)
    return {
        "jaccard": (
            "Jaccard overlap",
            "Items in both lists over items in either: 1 is the same items, 0 none shared; the "
            "order is ignored.",
        ),
        "rbo": (
            "Rank-biased overlap",
            f"Agreement weighted toward the top: the first 10 places carry {top:.0%} of the "
            f"weight (p = {DEFAULT_P:g}); 1 is the same list, 0 none shared.",
        ),
        "shared": ("Shared items", "Items in both lists."),
        "first": ("First list", "The list compared."),
        "second": ("Second list", "The list it is compared with."),
        "disparity": (
            "Map difference after alignment (0 = same shape)",
            "What is left after turning one map onto the other (Procrustes disparity): 0 is "
            "the same layout, 1 an unrelated one.",
        ),
    }


OVERLAP_WORDS: dict[str, tuple[str, str]] = _overlap_words()
"""``{key: (label, help)}`` for :func:`overlap_label`."""


def overlap_label(key: str) -> tuple[str, str]:
    """The words for an overlap or alignment key (``jaccard``, ``rbo``, ``disparity``...).

    Returns
    -------
    (label, help) : tuple of str
        ``(key, "")`` for a key this module does not know.
    """
    return OVERLAP_WORDS.get(str(key), (str(key), ""))
