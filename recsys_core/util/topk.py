"""Top-k selection: the k best scores of a row, or of each row of a block, best first.

One implementation for every ranking in recsys_core (a model's ``recommend``, evaluation's
blocked ranking, the re-ranker's candidate pools), so every list follows the same rules:

- best first, and among equal scores the lower index first (``-0.0`` equals ``0.0``): the
  order of a stable ``argsort`` of the negated scores;
- NaN and ``-inf`` are never chosen (``-inf`` is how callers mark an item that must not come
  back); ``+inf`` is the best score there is;
- a 2-D block gives ``min(k, n_columns)`` columns, padded with index -1 and score ``-inf``
  where a row has fewer candidates; a 1-D row gives only what it has.

How (each step measured against the one it replaced; numpy's ``argpartition`` is fast on
distinct scores but several times slower on rows of many equal scores with a few lower ones,
such as the zeros and ``-inf`` training items of a neighbourhood model, so it runs last):

- Wide float32 blocks: the k-th best of every ``stride``-th score is at most the row's k-th
  best, so the scores that reach it (about ``k * stride``) hold the top k. One comparison pass
  finds them; each becomes one int64 key, the negated score's order-preserving bits above its
  column, so a partition and a sort of k keys give best first with ties by lower index.
- A row where too many scores reach the bound usually has its k-th best *at* the bound (a tie
  over many items): then the answer is the scores above it and the first tied ones by index,
  found by comparison passes without a partition.
- The rest (narrow or non-float32 rows, rows of NaN): an ``argpartition`` of the row, ties at
  the cut settled by index.
- One row takes its own route (the app's one-user query; three times faster on a 3,000-item
  row than the block route): a threshold from a strided sample of about 1,024 scores narrows
  the row to its best candidates, kept in index order so ties still go to the lower index.
"""

from __future__ import annotations

import numpy as np

__all__ = ["top_k", "top_k_unordered"]

_MAX_STRIDE = 16
_MIN_STRIDE = 4
"""The sampled bound pays off on rows at least ``16 * k * _MIN_STRIDE`` wide."""
_EXCLUDED_BITS = int(np.array(np.inf, dtype=np.float32).view(np.int32))
"""A key whose high half is at least this (negated score ``+inf`` or NaN) is not chosen."""
_PADDING = np.iinfo(np.int64).max


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best scores of a row, or of each row, best first (ties: lower index first).

    Parameters
    ----------
    scores : np.ndarray, shape [n] or [n_rows, n]
        Scores, larger is better. NaN and ``-inf`` are never chosen. Not modified.
    k : int
        How many; at least 1.

    Returns
    -------
    (indices, values)
        A 1-D row gives int64 positions and their scores (``scores.dtype``), as many as it
        has candidates, up to k. A 2-D block gives int64 and ``scores.dtype`` (at least
        float32) arrays of shape [n_rows, min(k, n)], padded with index -1 and score ``-inf``
        where a row has fewer than k candidates.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    scores = np.asarray(scores)
    if scores.ndim == 1:
        return _top_k_row(scores, k)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a row or a block of rows, not {scores.ndim}-D.")
    indices = _block(scores, min(k, scores.shape[1]))
    values = np.take_along_axis(scores, np.maximum(indices, 0), axis=1)
    missing = indices < 0
    if missing.any():
        values = values.astype(np.result_type(values.dtype, np.float32), copy=False)
        values[missing] = -np.inf
    return indices, values


# ------------------------------------------------------------------------------------ one row
def _top_k_row(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of one row."""
    indices, values = _unordered_row(scores, k)
    order = np.lexsort((indices, -values))
    return indices[order], values[order]


def top_k_unordered(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of one row without its final ordering: the same items (int64) and scores,
    in no particular order, for a caller that orders them itself (ordering 50 of them is
    numpy's ``lexsort``, about 2 µs: a few percent of a one-user query)."""
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    scores = np.asarray(scores)
    if scores.ndim != 1:
        raise ValueError(f"scores must be one row, not {scores.ndim}-D.")
    return _unordered_row(scores, k)


def _unordered_row(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):  # +inf and -inf add up to NaN too
        has_nan = scores.dtype.kind == "f" and np.isnan(scores.sum())  # one fast pass
    if has_nan:
        scores = np.where(np.isnan(scores), -np.inf, scores)
    part = _select(scores, min(k, len(scores))).astype(np.int64, copy=False)
    values = scores[part]
    keep = values > -np.inf
    if keep.all():
        return part, values
    return part[keep], values[keep]


def _select(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest of a row without NaN, unordered; ties at the cut go to the
    lower index."""
    n = len(scores)
    if k >= n:
        return np.arange(n)
    if n >= 4096 and k * 64 <= n:
        # a threshold from a strided sample of about 1,024 scores that about 4 k scores reach
        stride = n // 1024
        sample = scores[::stride]
        rank = min(len(sample), max(2, -(-4 * k // stride)) + 1)
        threshold = np.partition(sample, len(sample) - rank)[len(sample) - rank]
        candidates = np.flatnonzero(scores >= threshold)
        if k <= len(candidates) < n // 2:  # in index order, so ties still go to the lower index
            return candidates[_select(scores[candidates], k)]
        if len(candidates) >= k:
            above = np.flatnonzero(scores > threshold)
            if len(above) < k:  # the k-th best is the threshold itself, tied over many items
                return np.concatenate([above, candidates[scores[candidates] == threshold]])[:k]
    order = np.argpartition(scores, n - k - 1)
    part = order[n - k :]
    threshold = scores[part].min()
    if scores[order[n - k - 1]] < threshold:  # the (k+1)-th is strictly lower: no tie at the cut
        return part
    above = part[scores[part] > threshold]
    ties = np.flatnonzero(scores == threshold)
    return np.concatenate([above, ties[: k - len(above)]])


# ---------------------------------------------------------------------------------- a block
def _block(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's k best (``k <= n``), -1 past a row's candidates."""
    n_rows, n = scores.shape
    stride = min(_MAX_STRIDE, n // (16 * k)) if k else 0
    if stride < _MIN_STRIDE or n_rows == 0 or scores.dtype != np.float32 or n >= 1 << 31:
        return _exact(scores, k)  # (a column must fit in the low 32 bits of a key)
    sample = scores[:, ::stride]
    width = sample.shape[1]
    bound = np.partition(sample, width - k, axis=1)[:, width - k]
    flat = np.flatnonzero(scores >= bound[:, None])
    rows = flat // n
    cols = flat - rows * n
    counts = np.bincount(rows, minlength=n_rows)
    bad = (counts < k) | (counts > max(64 * k, 8 * k * stride))
    kept = counts
    if bad.any():
        keep = ~bad[rows]
        rows, cols = rows[keep], cols[keep]
        kept = np.where(bad, 0, counts)
    starts = np.cumsum(kept) - kept
    within = np.arange(len(rows)) - starts[rows]
    keys = np.full((n_rows, max(int(kept.max()), k)), _PADDING, dtype=np.int64)
    negated = np.negative(scores[rows, cols]) + np.float32(0)  # -0.0 as 0.0
    keys[rows, within] = (_ordered_bits(negated) << 32) | cols
    if keys.shape[1] > k:
        keys = np.take_along_axis(keys, np.argpartition(keys, k - 1, axis=1)[:, :k], axis=1)
    keys.sort(axis=1)
    indices = keys & 0xFFFFFFFF
    indices[(keys >> 32) >= _EXCLUDED_BITS] = -1  # -inf scores and padding
    if bad.any():
        indices[bad] = _unbounded(scores[bad], bound[bad], counts[bad], k)
    return indices


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """float32 without NaN or ``-0.0`` -> int64 in the same order."""
    bits = values.view(np.int32).astype(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)


def _unbounded(scores: np.ndarray, bound: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """The rows the bound did not narrow: where fewer than k scores lie above it but at least
    k reach it, the k-th best is the bound (ties over many items) and comparison passes settle
    the row; the others take :func:`_exact`."""
    out = np.empty((len(scores), k), dtype=np.int64)
    settled = (counts >= k) & ((scores > bound[:, None]).sum(axis=1) < k)
    if settled.any():
        negated = np.negative(scores[settled])
        out[settled] = _ordered(negated, _first_k(negated, -bound[settled], k))
    if not settled.all():
        out[~settled] = _exact(scores[~settled], k)
    return out


def _exact(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's k best by an ``argpartition`` of every row (any dtype, any width)."""
    negated = np.negative(scores)  # NaN sorts last in a partition, so it is never chosen
    n_rows, n = negated.shape
    if k < n:
        order = np.argpartition(negated, k, axis=1)
        part = order[:, :k]
        kth = np.take_along_axis(negated, part, axis=1).max(axis=1)
        after = np.take_along_axis(negated, order[:, k : k + 1], axis=1)[:, 0]
        tied = np.flatnonzero(kth == after)
        if len(tied):  # a tie at the cut: the lower indices of the tied scores win
            part[tied] = _first_k(negated[tied], kth[tied], k)
    else:
        part = np.broadcast_to(np.arange(n), (n_rows, n)).copy()
    return _ordered(negated, part)


def _first_k(negated: np.ndarray, cut: np.ndarray, k: int) -> np.ndarray:
    """The k columns of each row below ``cut`` or equal to it, the first equal ones by index
    (fewer than k lie below it, at least k below or at it)."""
    value = cut[:, None]
    below = negated < value
    equal = negated == value
    wanted = k - below.sum(axis=1, keepdims=True, dtype=np.int32)
    chosen = below | (equal & (np.cumsum(equal, axis=1, dtype=np.int32) <= wanted))
    return (np.flatnonzero(chosen) % negated.shape[1]).reshape(len(negated), k)


def _ordered(negated: np.ndarray, part: np.ndarray) -> np.ndarray:
    """``part``'s columns of each row best first (ties by index), -1 for ``-inf`` and NaN."""
    values = np.take_along_axis(negated, part, axis=1)
    order = np.lexsort((part, values), axis=1)
    indices = np.take_along_axis(part, order, axis=1).astype(np.int64)
    chosen = np.take_along_axis(values, order, axis=1)
    indices[np.isposinf(chosen) | np.isnan(chosen)] = -1
    return indices
