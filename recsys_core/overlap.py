"""How much two ranked lists agree: Jaccard overlap and rank-biased overlap (RBO).

- :func:`jaccard` ignores the order: ``|A & B| / |A | B|``.
- :func:`rbo` is the extrapolated rank-biased overlap ``RBO_ext`` of Webber, Moffat and Zobel,
  "A similarity measure for indefinite rankings" (ACM TOIS 28(4), 2010), equation 32, which also
  covers lists of different lengths (equation 30 when they are as long). Agreement at the top
  weighs most: with ``p = 0.9`` the first 10 ranks carry about 86% of the weight.
- :func:`pairwise_overlap` tabulates both for every pair of named lists (the Compare page's
  overlap table), and :func:`shared_items` finds the items in more than one list.

Conventions: two empty lists are identical (1.0); an empty and a non-empty list share nothing
(0.0). A list must not repeat an item (a ranking has each item once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_P", "jaccard", "pairwise_overlap", "rbo", "shared_items"]

DEFAULT_P = 0.9
"""The persistence of :func:`rbo`: the chance a reader goes on from one rank to the next."""


def _as_list(ranking: Sequence[Hashable] | np.ndarray) -> list:
    items = np.asarray(ranking).tolist() if isinstance(ranking, np.ndarray) else list(ranking)
    if len(set(items)) != len(items):
        repeated = next(item for item, count in Counter(items).items() if count > 1)
        raise ValueError(f"A ranking lists {repeated!r} more than once; give each item once.")
    return items


def jaccard(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Jaccard overlap of two rankings seen as sets: ``|A & B| / |A | B|`` in [0, 1].

    Parameters
    ----------
    a, b : sequence of hashable, lengths [n_a] and [n_b]
        Item ids or indices, each item at most once.

    Returns
    -------
    float
        1.0 for the same items (in any order, and for two empty lists), 0.0 for disjoint ones.
    """
    first, second = set(_as_list(a)), set(_as_list(b))
    union = first | second
    if not union:
        return 1.0
    return len(first & second) / len(union)


def rbo(a: Sequence[Hashable], b: Sequence[Hashable], p: float = DEFAULT_P) -> float:
    """Extrapolated rank-biased overlap ``RBO_ext`` of two rankings, in [0, 1].

    With ``S`` the shorter ranking (length ``s``), ``L`` the longer (length ``l``), ``X_d`` the
    number of items the two share down to depth ``d`` (for ``d > s``: all of ``S`` against the
    first ``d`` of ``L``), Webber et al.'s equation 32 is::

        RBO_ext = (1 - p) / p * (sum_{d=1..l} X_d / d * p^d
                                 + sum_{d=s+1..l} X_s * (d - s) / (s * d) * p^d)
                  + ((X_l - X_s) / l + X_s / s) * p^l

    i.e. the agreement seen at the deepest rank is assumed to go on for ever.

    Parameters
    ----------
    a, b : sequence of hashable, lengths [n_a] and [n_b]
        Best first; each item at most once.
    p : float in (0, 1)
        Persistence: smaller values weigh the top ranks more.

    Returns
    -------
    float
        1.0 for identical rankings (and for two empty ones), 0.0 when they share no item;
        symmetric in ``a`` and ``b``.
    """
    if not 0.0 < float(p) < 1.0:
        raise ValueError(f"p must be strictly between 0 and 1, got {p}.")
    first, second = _as_list(a), _as_list(b)
    short, long_ = (first, second) if len(first) <= len(second) else (second, first)
    s, l = len(short), len(long_)  # noqa: E741 (the paper's names)
    if s == 0:
        return 1.0 if l == 0 else 0.0

    # X_d for d = 1..l: items of short[:min(d, s)] that are in long_[:d] (incremental overlap).
    overlap = np.zeros(l, dtype=np.float64)
    seen_short: set = set()
    seen_long: set = set()
    shared = 0
    for depth in range(l):
        item_long = long_[depth]
        if depth < s:
            item_short = short[depth]
            if item_short == item_long:
                shared += 1
            else:
                shared += (item_short in seen_long) + (item_long in seen_short)
            seen_short.add(item_short)
        else:
            shared += item_long in seen_short
        seen_long.add(item_long)
        overlap[depth] = shared

    depths = np.arange(1, l + 1, dtype=np.float64)
    weights = float(p) ** depths
    x_s, x_l = overlap[s - 1], overlap[l - 1]
    seen = np.sum(overlap / depths * weights)
    beyond = depths[s:]
    extended = np.sum(x_s * (beyond - s) / (s * beyond) * weights[s:])
    value = (1.0 - p) / p * (seen + extended) + ((x_l - x_s) / l + x_s / s) * p**l
    return float(min(1.0, max(0.0, value)))  # clip rounding only


def shared_items(lists: Mapping[str, Sequence[Hashable]]) -> set:
    """The items that appear in more than one of the named lists."""
    counts: Counter = Counter()
    for ranking in lists.values():
        counts.update(set(_as_list(ranking)))
    return {item for item, count in counts.items() if count > 1}


def pairwise_overlap(lists: Mapping[str, Sequence[Hashable]], p: float = DEFAULT_P) -> pd.DataFrame:
    """Jaccard and RBO between every pair of named rankings.

    Parameters
    ----------
    lists : mapping of name -> sequence of hashable
        Two or more rankings (e.g. each model's top k for the same item), best first.
    p : float
        Persistence of :func:`rbo`.

    Returns
    -------
    pd.DataFrame, one row per unordered pair (in the mapping's order)
        Columns ``first``, ``second`` (the names), ``shared`` (items in both, int),
        ``jaccard`` and ``rbo`` (floats in [0, 1]).
    """
    rows = []
    for (name_a, list_a), (name_b, list_b) in combinations(lists.items(), 2):
        rows.append(
            {
                "first": name_a,
                "second": name_b,
                "shared": len(set(_as_list(list_a)) & set(_as_list(list_b))),
                "jaccard": jaccard(list_a, list_b),
                "rbo": rbo(list_a, list_b, p),
            }
        )
    frame = pd.DataFrame(rows, columns=["first", "second", "shared", "jaccard", "rbo"])
    return frame.astype({"shared": "int64", "jaccard": "float64", "rbo": "float64"})
