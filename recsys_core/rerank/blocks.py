"""Re-ranking a block of score rows (what evaluation calls): the block half of the Reranker.

:class:`BlockReranking` is a base of :class:`~recsys_core.rerank.reranker.Reranker`: its
methods read the reranker's prepared state (settings, codes, vectors, the popularity term) and
add what evaluation needs: :meth:`~BlockReranking.select` takes each row's pool of candidates
(:meth:`~BlockReranking.pool`) and re-ranks runs of rows at once
(:meth:`~BlockReranking.rerank_block`), with the same choices as one user's query.
"""

from __future__ import annotations

import numpy as np

from ..util.topk import top_k
from .greedy import Similarity, greedy_categories, greedy_vectors

_CHUNK = 1024  # rows re-ranked at once in a block
_POOL_STRIDE = 8  # a pool's bound comes from every 8th score of a wide row ...
_POOL_EXPECT = 3  # ... set so that about 3 times the pool reach it (see BlockReranking.pool)
_VECTOR_BYTES = 3 << 20  # the diversity greedy runs on rows whose vectors fill about this


def pool_size(k: int, n_items: int) -> int:
    """How many of the model's best candidates a re-ranking chooses from: ``max(5 k, 50)``,
    at most the catalogue."""
    return int(min(n_items, max(5 * int(k), 50)))


class BlockReranking:
    """The block methods of a :class:`~recsys_core.rerank.reranker.Reranker` (which sets
    every attribute they read: ``settings``, ``blocked``, ``n_items``, ``codes``,
    ``vectors``, ``similarity_source``, the popularity term and the per-thread buffers)."""

    def select(self, scores: np.ndarray, users: np.ndarray, k: int) -> np.ndarray:
        """The re-ranked top k of each row of a score block: what :func:`evaluation.evaluate`
        calls instead of its own top k.

        Parameters
        ----------
        scores : ndarray of float32, shape [b, n_items]
            The model's scores, items not to recommend (training items) at -inf. Blocked items
            are set to -inf in place.
        users : ndarray of int, shape [b]
            The rows of ``interactions`` the scores belong to (for calibration).
        k : int

        Returns
        -------
        ndarray of int64, shape [b, k]
            Item indices, -1 where fewer than k candidates are left.
        """
        if self.blocked is not None:
            scores[:, self.blocked] = -np.inf
        k = int(k)
        if not self._has_dials:
            return top_k(scores, k)[0]
        pool, pool_scores = self.pool(scores, pool_size(k, self.n_items))
        users = np.asarray(users, dtype=np.int64)
        out = np.full((len(pool), k), -1, dtype=np.int64)
        for first in range(0, len(pool), _CHUNK):  # bounded memory for the greedy's arrays
            part = slice(first, first + _CHUNK)
            ids, id_scores = pool[part], pool_scores[part]
            target = self.target_rows(users[part]) if self._calibrates else None
            if self._kernel is not None:  # row by row in C; numpy takes the rows it leaves
                rows = self._kernel_rows(ids, id_scores, k, target, out[part])
                if not len(rows):
                    continue
                ids, id_scores, out_rows = ids[rows], id_scores[rows], first + rows
                target = None if target is None else target[rows]
            else:
                out_rows = part
            chosen = self.rerank_block(ids, id_scores, k, target, True)
            picked = _along(ids, np.maximum(chosen, 0))
            out[out_rows, : chosen.shape[1]] = np.where(chosen >= 0, picked, -1)
        return out

    def _kernel_rows(
        self,
        pool: np.ndarray,
        pool_scores: np.ndarray,
        k: int,
        target: np.ndarray | None,
        out: np.ndarray,
    ) -> np.ndarray:
        """Each full row of a pool re-ranked by the C kernel into ``out`` (the same lists as
        :meth:`rerank_block`; with all three dials on the demo about a third of what numpy's
        block path adds to an evaluation, ``benchmarks/bench_rerank.py``). Returns the rows it
        did not take: padded ones, and those with a candidate it leaves to numpy."""
        kernel = self._kernel
        full = (pool[:, -1] >= 0) & np.isfinite(pool_scores[:, -1])
        left = []
        for row in range(len(pool)):
            got = None
            if full[row]:
                try:
                    got = kernel(pool[row], pool_scores[row], k, target, row)
                except (TypeError, ValueError):  # another dtype than a pool's: numpy's
                    got = None
            if got is None:
                left.append(row)
            else:
                out[row, : len(got[0])] = got[0]
        return np.asarray(left, dtype=np.int64)

    def pool(self, scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The m best items of each row, best first (ties: lower index), and their scores:
        int64 and float32 [b, m], -1 / -inf padding.

        A bound: the j-th best of every stride-th score (stride 8 on wide rows, j = 3m /
        stride, so about 3m scores of a row reach it; the sample is partitioned in a buffer
        kept per thread) is at most the row's m-th best whenever at least m scores reach it.
        Those candidates become one int64 key each, the negated score's order-preserving bits
        above the column (as in :mod:`recsys_core.util.topk`), so a partition and a sort of m
        keys give best first with ties by lower index. Rows where fewer than m scores (-inf
        and NaN never count) or more than 8m (ties) reach the bound take
        :func:`~recsys_core.util.topk.top_k`. (That function's own sampled bound, the k-th of
        every 16th score, needs rows 64 k wide, so a pool of 50 from 3,000 items would take
        its exact path, a partition of every row: the bound here, the 19th of every 8th,
        keeps a pool as cheap as evaluation's top 10.)
        """
        b, n = scores.shape
        if m >= n or b == 0 or n >= 1 << 31:  # a column must fit in 32 bits
            return top_k(scores, m)
        stride = max(1, min(_POOL_STRIDE, n // (4 * m)))
        width = -(-n // stride)
        rank = m if stride == 1 else min(width, -(-_POOL_EXPECT * m // stride))
        sample, mask = self._buffers(b, width, n)
        np.copyto(sample, scores[:, ::stride])
        sample.partition(width - rank, axis=1)
        bound = np.maximum(sample[:, width - rank], np.finfo(np.float32).min)  # finite only
        np.greater_equal(scores, bound[:, None], out=mask)
        flat = np.flatnonzero(mask)
        rows = flat // n
        cols = flat - rows * n
        counts = np.bincount(rows, minlength=b)
        bad = (counts < m) | (counts > 8 * m)
        if bad.any():
            keep = ~bad[rows]
            flat, rows, cols = flat[keep], rows[keep], cols[keep]
            counts[bad] = 0
        starts = np.cumsum(counts) - counts
        within = np.arange(len(rows)) - starts[rows]
        keys = np.full(
            (b, max(int(counts.max(initial=0)), m)), np.iinfo(np.int64).max, dtype=np.int64
        )
        keys[rows, within] = (
            _ordered_bits(np.negative(scores.take(flat, mode="clip")) + np.float32(0.0)) << 32
        ) | cols
        if keys.shape[1] > m:
            keys.partition(m - 1, axis=1)
            keys = keys[:, :m]
        keys.sort(axis=1)
        pool = keys & 0xFFFFFFFF
        if bad.any():
            pool[bad] = top_k(scores[bad], m)[0]
        return pool, _gather(scores, pool)

    def _buffers(self, b: int, width: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Work arrays of :meth:`pool`, kept per thread (a new block-sized array per block
        costs more in page faults than the work): float32 [b, width], bool [b, n]."""
        found = getattr(self._local, "buffers", None)
        if found is None or found[0].size < b * width or found[1].size < b * n:
            found = (np.empty(b * width, np.float32), np.empty(b * n, bool))
            self._local.buffers = found
        return found[0][: b * width].reshape(b, width), found[1][: b * n].reshape(b, n)

    def rerank_block(
        self,
        ids: np.ndarray,
        scores: np.ndarray,
        k: int,
        target: np.ndarray | None,
        calibrate: bool,
    ) -> np.ndarray:
        """Positions (into each row of ``ids``) of the k items chosen, in order; -1 padding.

        ``ids`` [b, m] are the model's best candidates, best first (-1 padding), ``scores``
        their scores (-inf padding), ``target`` the rows' history distributions
        [b, n_categories] (calibration only).
        """
        valid = (ids >= 0) & np.isfinite(scores)
        full = bool(valid.all())
        k = min(int(k), ids.shape[1])
        base = self._base(ids, scores, valid, full)
        diversify = self._diversify
        calibrate = calibrate and target is not None and self._calibrates
        # rows in the order of base, ties by position; without the popularity term base is the
        # normalised score, which never rises along a row (scores best first, -inf padding
        # last, and rounding keeps order), so that order is the row's own
        order = _stable_order(base) if self._popular else None
        if not diversify and not calibrate:
            order = (
                order[:, :k]
                if order is not None
                else np.arange(k)[None, :].repeat(len(base), axis=0)
            )
            return order if full else np.where(_along(valid, order), order, -1)
        # greedy: rows sorted by base first, so ties go to the better base
        if order is not None:
            base = _along(base, order)
            ids = _along(ids, order)
            if not full:
                valid = _along(valid, order)
        safe = ids if full else np.maximum(ids, 0)
        chosen = self._greedy(base, valid, safe, full, k, target, calibrate)
        if order is None:
            return chosen
        return np.where(chosen >= 0, _along(order, np.maximum(chosen, 0)), -1)

    def _base(self, ids: np.ndarray, scores: np.ndarray, valid: np.ndarray, full: bool):
        """Each candidate's base, float64 [b, m]: its score min-max normalised per row
        (scale-free, any sign; 1 on a row of equal scores), mixed with the popularity term;
        -inf where not ``valid`` (``full``: every candidate is)."""
        s = self.settings
        if full:  # best first: the first score is the highest, the last the lowest
            low = scores[:, -1:].astype(np.float64)
            high = scores[:, :1].astype(np.float64)
        else:
            low = np.where(valid, scores, np.inf).min(axis=1, keepdims=True).astype(np.float64)
            high = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True).astype(np.float64)
        spread = high - low
        with np.errstate(invalid="ignore", divide="ignore"):
            base = np.subtract(scores, low, dtype=np.float64)
            base /= spread
        flat = ~(spread[:, 0] > 0)
        if not full:
            base[~valid] = 1.0
        if flat.any():
            base[flat] = 1.0
        if self._popular:
            base *= 1.0 - s.popularity
            base += self._weighted_tail.take(ids if full else np.maximum(ids, 0), mode="clip")
        if not full:
            base[~valid] = -np.inf
        return base

    def _greedy(
        self,
        base: np.ndarray,
        valid: np.ndarray,
        safe: np.ndarray,
        full: bool,
        k: int,
        target: np.ndarray | None,
        calibrate: bool,
    ) -> np.ndarray:
        """The greedy's positions, int64 [b, k] (-1 padding), of rows sorted by base
        (``safe``: their item ids, 0 for padding), never less diverse than the same lists
        without the diversity dial."""
        s = self.settings
        diversify = self._diversify
        calibration = s.calibration if calibrate else 0.0
        by_vectors = diversify and self.similarity_source == "vectors"
        codes = (
            self.codes.take(safe, mode="clip")
            if calibrate or (diversify and not by_vectors)
            else None
        )
        if not by_vectors:
            chosen = greedy_categories(
                base,
                valid,
                k,
                s.diversity if diversify else 0.0,
                codes,
                self._n_codes,
                calibration,
                target,
            )
            if not diversify:
                return chosen
        # never less diverse than the same list without the diversity dial (with
        # calibration: the calibrated list, chosen in the same pass over vectors)
        plain = None
        if not calibrate:
            plain = np.arange(k)[None, :].repeat(len(base), axis=0)
            if not valid[:, k - 1].all():
                plain[~valid[:, :k]] = -1
        if by_vectors:
            return self._by_vectors(base, valid, safe, k, calibration, target, codes, plain)
        if plain is None:
            plain = greedy_categories(
                base, valid, k, 0.0, codes, self._n_codes, calibration, target
            )
        similarity = Similarity(codes=codes if full else np.where(valid, codes, -1))
        worse = similarity.spread(chosen) < similarity.spread(plain) - 1e-6
        chosen[worse] = plain[worse]
        return chosen

    def _by_vectors(
        self,
        base: np.ndarray,
        valid: np.ndarray,
        safe: np.ndarray,
        k: int,
        calibration: float,
        target: np.ndarray | None,
        codes: np.ndarray | None,
        plain: np.ndarray | None,
    ) -> np.ndarray:
        """:meth:`_greedy` over the cosine of item vectors, rows a few hundred at a time:
        their candidates' vectors stay in cache through the k steps (a whole block's are
        megabytes). ``plain``: the lists to compare with, None with calibration (then the
        calibrated lists, chosen in the same pass)."""
        calibrate = plain is None
        chosen = np.empty((len(base), k), dtype=np.int64)
        rows = max(16, _VECTOR_BYTES // (4 * safe.shape[1] * self.vectors.shape[1]))
        for first in range(0, len(base), rows):
            part = slice(first, first + rows)
            vectors = self._candidate_vectors(safe[part])
            found = greedy_vectors(
                base[part],
                valid[part],
                k,
                self.settings.diversity,
                vectors,
                calibration,
                None if target is None else target[part],
                None if codes is None else codes[part],
                with_plain=calibrate,
            )
            if calibrate:
                mine, spread, theirs, plain_spread = found
            else:
                (mine, spread), theirs = found, plain[part]
                plain_spread = (
                    Similarity(vectors=vectors).spread_first(k)
                    if valid[part, k - 1].all()
                    else Similarity(vectors=vectors).spread(theirs)
                )
            worse = spread < plain_spread - 1e-6
            if worse.any():
                mine[worse] = theirs[worse]
            chosen[part] = mine
        return chosen

    def _candidate_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The unit vectors of a block's candidates, float32 [b, m, d], gathered into a buffer
        kept per thread (a new array of this size per block costs its page faults)."""
        b, m = ids.shape
        d = self.vectors.shape[1]
        found = getattr(self._local, "vectors", None)
        if found is None or found.size < b * m * d:
            found = np.empty(b * m * d, np.float32)
            self._local.vectors = found
        out = found[: b * m * d].reshape(b, m, d)
        return np.take(self.vectors, ids, axis=0, out=out, mode="clip")


def _stable_order(base: np.ndarray) -> np.ndarray:
    """``np.argsort(-base, axis=1, kind="stable")``, faster: the default sort (several times
    faster on short rows) gives the same order wherever a row has no two equal values, so
    only rows with a tie are sorted again, stably."""
    negated = -base
    order = np.argsort(negated, axis=1)
    ranked = _along(negated, order)
    tied = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(negated[tied], axis=1, kind="stable")
    return order


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """float32 without NaN or ``-0.0`` -> int64 in the same order."""
    bits = values.view(np.int32).astype(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)


def _along(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``np.take_along_axis(values, positions, axis=1)`` for positions known to be in range
    (each row's, of a C-contiguous [b, m] array): one flat take without a bounds check
    (``mode="clip"``), several times faster on the greedy's small rows."""
    b, m = values.shape
    return np.take(values, positions + (np.arange(b) * m)[:, None], mode="clip")


def _gather(scores: np.ndarray, pool: np.ndarray) -> np.ndarray:
    values = _along(scores, np.maximum(pool, 0))
    return np.where(pool >= 0, values, -np.inf).astype(np.float32, copy=False)
