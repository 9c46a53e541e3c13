"""The re-ranking greedy: k picks, each the open candidate of the best gain.

Maximal marginal relevance (Carbonell & Goldstein 1998) over a similarity (the cosine of the
model's item vectors, or "same category"), with Steck's calibration term
(:mod:`.calibration`) in the same pass. Two versions of each: a block of rows (evaluation)
and one row (one user's query), computing every gain with the same floating-point operations
so both choose alike. :class:`Similarity` measures a list's spread (mean pairwise
1 - similarity), what the "never less diverse" check compares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .calibration import Calibration, OnePenalties


class Similarity:
    """Similarities within each row's candidates: the cosine of the model's item vectors
    (``vectors`` float32 [b, m, d], unit rows), or 1 for two items of the same category
    (``codes`` int [b, m], -1: none)."""

    def __init__(self, *, vectors: np.ndarray | None = None, codes: np.ndarray | None = None):
        self.vectors, self.codes = vectors, codes

    def spread_one(self, chosen: Sequence[int] | np.ndarray) -> float:
        """:meth:`spread` of one row's chosen positions (1-D, no padding)."""
        n = len(chosen)
        if n < 2:
            return 0.0
        if self.vectors is not None:
            total = self.vectors[0][chosen].sum(axis=0, dtype=np.float64)
            same = float(total @ total) - n
        else:
            codes = self.codes[0][chosen]
            codes = codes[codes >= 0]
            same = float((np.bincount(codes).astype(np.float64) ** 2).sum()) - len(codes)
        return 1.0 - same / (n * (n - 1.0))

    def spread_first(self, k: int) -> np.ndarray:
        """:meth:`spread` of the first k positions of every row (all candidates)."""
        if self.vectors is not None:
            total = self.vectors[:, :k].sum(axis=1, dtype=np.float64)
            return _spread_of(total, np.full(len(total), float(k)))
        return self.spread(np.arange(k)[None, :].repeat(len(self.codes), axis=0))

    def spread(self, chosen: np.ndarray) -> np.ndarray:
        """Mean (1 - similarity) over the pairs of each row's chosen positions, float64 [b]
        (0 for fewer than two). Without building the pairs: for unit vectors the sum of
        ``v_i . v_j`` over pairs is ``|sum v|^2 - n``; for categories, of ``[c_i == c_j]``,
        ``sum over categories of count^2 - n`` (items without one are never similar)."""
        valid = chosen >= 0
        n = valid.sum(axis=1).astype(np.float64)
        rows = np.arange(len(chosen))[:, None]
        safe = np.maximum(chosen, 0)
        if self.vectors is not None:  # one gather, then the sum in float64, row after row
            b, m, d = self.vectors.shape
            picked = np.take(
                self.vectors.reshape(b * m, d), rows * m + safe, axis=0, mode="clip"
            )  # [b, k, d]
            if not valid.all():
                picked *= valid[:, :, None]
            return _spread_of(picked.sum(axis=1, dtype=np.float64), n)
        codes = np.where(valid, self.codes[rows, safe], -1)
        known = codes >= 0
        width = int(codes.max(initial=0)) + 1
        flat = (rows * width + codes)[known]
        counts = np.bincount(flat, minlength=len(chosen) * width).astype(np.float64)
        same = (counts**2).reshape(len(chosen), width).sum(axis=1) - known.sum(axis=1)
        pairs = n * (n - 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs > 0, 1.0 - same / np.maximum(pairs, 1.0), 0.0)


def _spread_of(total: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean (1 - cosine) over the pairs of n unit vectors whose sum (float64) is ``total``:
    ``1 - (|total|^2 - n) / (n (n - 1))``, 0 for fewer than two. float64 [b]."""
    same = np.einsum("bd,bd->b", total, total) - n
    pairs = n * (n - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, 1.0 - same / np.maximum(pairs, 1.0), 0.0)


# ---------------------------------------------------------------------------------- the greedy
# Every greedy below picks, k times, the open candidate maximising
#
#     (1 - c) * ((1 - d) * base[i] - d * max_{j chosen} sim(i, j)) - c * KL(target || list + i)
#
# (d = diversity, c = calibration; the max term from the second pick on, the KL term only with
# calibration), the first in the row's order on ties (rows are sorted by base). They compute
# each gain with the same floating-point operations in the same order, so they choose alike:
# ``relevance + closed - weight * nearest - penalty``, with relevance = base * (1 - d)(1 - c),
# weight = d (1 - c), nearest the max similarity so far and penalty the calibration term
# (:class:`Calibration`). Keeping ``weight * nearest`` instead of ``nearest`` changes no bit:
# multiplying by a positive number preserves order, so max(w a, w b) = w max(a, b) exactly.
def greedy_vectors(
    base: np.ndarray,
    valid: np.ndarray,
    k: int,
    diversity: float,
    vectors: np.ndarray,
    calibration: float,
    target: np.ndarray | None,
    codes: np.ndarray | None,
    with_plain: bool = False,
) -> tuple[np.ndarray, ...]:
    """The greedy of a block over the cosine of item vectors (maximal marginal relevance,
    with calibration in the same pass).

    Parameters
    ----------
    base : float64 [b, m]
        Each row sorted, best first; -inf where not ``valid``.
    valid : bool [b, m]
    vectors : float32 [b, m, d]
        The candidates' unit vectors.
    target : float64 [b, n_codes] or None
        History distributions (calibration only).
    codes : int [b, m] or None
        The candidates' categories, -1 for none (calibration only).
    with_plain : bool
        Also choose the lists without the diversity term (what the diversity check compares
        with): the same greedy on b more rows in the same loop, so the numpy calls of a step
        serve both (the matrix products only the first b).

    Returns
    -------
    chosen : int64 [b, k]
        Positions, -1 where a row runs out of candidates.
    spread : float64 [b]
        :meth:`Similarity.spread` of the chosen lists, from the vectors the greedy gathered
        anyway (summed in the same order, so the same bits).
    plain, plain_spread
        The same for the lists without the diversity term (``with_plain`` only).
    """
    greedy = _VectorGreedy(
        base, valid, k, diversity, vectors, calibration, target, codes, with_plain
    )
    for step in range(k):
        picked = greedy.pick(step)
        if picked is None:  # every row is out of candidates
            break
        if step + 1 < k:  # after the last pick there is nothing more to update
            greedy.close(*picked)
    return greedy.result()


class _VectorGreedy:
    """The state of :func:`greedy_vectors` from one step to the next (arguments as there;
    with ``with_plain`` the lists without the diversity term are b more rows)."""

    def __init__(
        self,
        base: np.ndarray,
        valid: np.ndarray,
        k: int,
        diversity: float,
        vectors: np.ndarray,
        calibration: float,
        target: np.ndarray | None,
        codes: np.ndarray | None,
        with_plain: bool,
    ) -> None:
        b, m = base.shape
        self.b, self.with_plain, self.vectors = b, with_plain, vectors
        self.weight = diversity * (1.0 - calibration)
        self.every = bool(valid[:, k - 1].all())  # every row has k candidates: each step picks
        # relevance + closed: -inf once closed
        open_gain = np.where(valid, base, 0.0) * ((1.0 - diversity) * (1.0 - calibration))
        if with_plain:
            plain_gain = np.where(valid, base, 0.0) * ((1.0 - 0.0) * (1.0 - calibration))
            open_gain = np.concatenate([open_gain, plain_gain])
            valid = np.concatenate([valid, valid])
            if target is not None:
                target, codes = np.concatenate([target, target]), np.concatenate([codes, codes])
        open_gain[~valid] = -np.inf
        self.open_gain = open_gain
        self.rows = np.arange(len(open_gain))
        self.row_positions = self.rows * m
        self.open_cells = open_gain.ravel()
        self.flat_vectors = vectors.reshape(b * m, vectors.shape[2])
        self.calibrated = Calibration(target, codes, calibration) if calibration > 0 else None
        self.cells = self.calibrated.cells.ravel() if self.calibrated is not None else None
        self.nearest: np.ndarray | None = None  # [b, m]: weight * the max similarity so far
        self.gain = np.empty(open_gain.shape)
        self.scaled = np.empty((b, m))
        self.total = np.zeros((len(self.rows), vectors.shape[2]))  # the chosen vectors' sum
        self.n = np.zeros(len(self.rows))
        self.vector_positions = (
            self.row_positions if not with_plain else np.tile(self.row_positions[:b], 2)
        )
        self.chosen = np.full((len(self.rows), k), -1, dtype=np.int64)

    def gains(self) -> np.ndarray:
        """Every candidate's gain at this step, float64 [rows, m] (written in ``self.gain``)."""
        gain, open_gain, b = self.gain, self.open_gain, self.b
        term = self.calibrated.penalty() if self.calibrated is not None else None
        if self.nearest is None:
            if term is None:
                np.copyto(gain, open_gain)
            else:
                np.subtract(open_gain, term, out=gain)
        else:
            np.subtract(open_gain[:b], self.nearest, out=gain[:b])
            if term is not None:
                gain[:b] -= term[:b]
                if self.with_plain:  # no diversity term there: relevance + closed - penalty
                    np.subtract(open_gain[b:], term[b:], out=gain[b:])
        return gain

    def pick(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Choose the best open candidate of every row that has one: the rows, their picks
        and the picked vectors [rows, d]; None when no row has a candidate left."""
        gain = self.gains()
        pick = gain.argmax(axis=1)
        picked = np.take(self.flat_vectors, self.vector_positions + pick, axis=0, mode="clip")
        if self.every:
            live, live_pick = self.rows, pick
            self.total += picked
            self.n += 1.0
            self.chosen[:, step] = pick
        else:
            ok = gain[self.rows, pick] > -np.inf
            if not ok.any():
                return None
            live, live_pick = self.rows[ok], pick[ok]
            self.total[live] += picked[live]
            self.n[live] += 1.0
            self.chosen[live, step] = live_pick
        return live, live_pick, picked

    def close(self, live: np.ndarray, live_pick: np.ndarray, picked: np.ndarray) -> None:
        """After a pick: the chosen candidates closed, every candidate's (weighted) nearest
        similarity and the calibration counts updated."""
        cells = self.row_positions[live] + live_pick
        self.open_cells[cells] = -np.inf
        # rows out of candidates get a similarity too: all their gains are -inf, unread
        near = np.matmul(self.vectors, picked[: self.b, :, None])[:, :, 0]
        if self.nearest is None:
            self.nearest = np.multiply(near, self.weight, dtype=np.float64)
        else:
            np.multiply(near, self.weight, out=self.scaled, dtype=np.float64)
            np.maximum(self.nearest, self.scaled, out=self.nearest)
        if self.calibrated is not None:
            self.calibrated.add_cells(self.cells.take(cells, mode="clip"))

    def result(self) -> tuple[np.ndarray, ...]:
        """What :func:`greedy_vectors` returns."""
        spread = _spread_of(self.total, self.n)
        b = self.b
        if self.with_plain:
            return self.chosen[:b], spread[:b], self.chosen[b:], spread[b:]
        return self.chosen, spread


def greedy_categories(
    base: np.ndarray,
    valid: np.ndarray,
    k: int,
    diversity: float,
    codes: np.ndarray,
    n_codes: int,
    calibration: float,
    target: np.ndarray | None,
) -> np.ndarray:
    """The greedy of a block when similarity is "same category" (1, or 0 for an item without
    one) or there is no diversity term: calibration alone, or diversity by categories.

    Then a candidate's gain depends on it only through its relevance and its category, and
    relevance falls along a row, so the best candidate of a category is its first open one:
    each step compares one head per category ([b, n_codes + 1], the last column for items
    without a category) instead of every candidate, and the tie rule (the first position)
    becomes the lowest head position among the best gains. Arguments as
    :func:`greedy_vectors` (``codes`` [b, m] required); returns int64 [b, k] positions.
    """
    b, m = base.shape
    rows = np.arange(b)
    width = n_codes + 1
    heads = _CategoryHeads(base, valid, codes, n_codes, (1.0 - diversity) * (1.0 - calibration))
    weight = diversity * (1.0 - calibration)
    seen = np.zeros(width * b) if diversity > 0 else None  # 1: the category is in the list
    calibrated = Calibration(target, codes, calibration) if calibration > 0 else None
    chosen = np.full((b, k), -1, dtype=np.int64)
    gain = np.empty((width, b))
    tied = np.empty((width, b), dtype=np.int64)
    for step in range(k):
        np.copyto(gain, heads.heads)
        if seen is not None and step:
            gain -= weight * seen.reshape(width, b)
        if calibrated is not None:
            gain -= calibrated.columns()
        best = gain.max(axis=0)
        np.copyto(tied, m)
        np.copyto(tied, heads.positions, where=gain == best)
        position = tied.min(axis=0)  # the first position among the best gains
        ok = best > -np.inf
        if ok.all():
            live = rows
        elif not ok.any():
            break
        else:
            live, position = rows[ok], position[ok]
        chosen[live, step] = position
        pick, cell = heads.take(live, position, live is rows)
        if seen is not None:
            seen[cell] = pick < n_codes
        if calibrated is not None:
            calibrated.add_cells(cell)
    return chosen


class _CategoryHeads:
    """The heads of :func:`greedy_categories`: each row's first open candidate of each
    category (the last column: items without one), its best since relevance falls along a
    row. The arrays are [width, b], a column's rows side by side, so the step's max and min
    run across rows (a reduction over 13 values per row is slow in numpy): cell = column * b
    + row. ``heads`` [width, b]: each head's relevance (-inf for none left); ``positions``
    [width, b]: its position in the row."""

    def __init__(
        self, base: np.ndarray, valid: np.ndarray, codes: np.ndarray, n_codes: int, scale: float
    ) -> None:
        b, m = base.shape
        self.b, self.m = b, m
        rows = np.arange(b)
        width = n_codes + 1
        column = np.where(codes >= 0, codes, n_codes)
        column[~valid] = width  # past the last column: never a head
        # positions by column, in order: one sort of unique keys (column * m + position)
        keys = column * m
        keys += np.arange(m)
        keys.sort(axis=1)
        self.grouped = (keys % m).ravel()  # row * m + i: the i-th position of the row by column
        self.column = column.ravel()
        found = np.bincount(
            (rows[:, None] * (width + 1) + column).ravel(), minlength=b * (width + 1)
        ).reshape(b, width + 1)
        self.counts = np.ascontiguousarray(found[:, :width].T).ravel()
        self.starts = np.ascontiguousarray((np.cumsum(found, axis=1) - found)[:, :width].T).ravel()
        self.row_positions = rows * m
        cell_positions = np.tile(self.row_positions, width)  # each cell's row * m
        self.taken = np.zeros(width * b, dtype=np.int64)
        self.relevance = (np.where(valid, base, 0.0) * scale).ravel()
        self.head_position = self.grouped[cell_positions + np.minimum(self.starts, m - 1)]
        self.head = np.where(
            self.counts > 0, self.relevance[cell_positions + self.head_position], -np.inf
        )
        self.heads = self.head.reshape(width, b)
        self.positions = self.head_position.reshape(width, b)

    def take(self, live: np.ndarray, position: np.ndarray, every: bool):
        """The chosen ``position`` of each ``live`` row (all rows when ``every``) leaves its
        category's queue; that category's next candidate becomes its head. Returns each
        pick's column and cell."""
        offsets = self.row_positions if every else self.row_positions[live]
        pick = self.column.take(offsets + position, mode="clip")
        cell = pick * self.b
        cell += live
        count = self.taken.take(cell, mode="clip")
        count += 1
        self.taken[cell] = count
        following = self.grouped.take(
            offsets + np.minimum(self.starts.take(cell, mode="clip") + count, self.m - 1),
            mode="clip",
        )
        self.head_position[cell] = following
        self.head[cell] = np.where(
            count < self.counts.take(cell, mode="clip"),
            self.relevance.take(offsets + following, mode="clip"),
            -np.inf,
        )
        return pick, cell


def greedy_vectors_one(
    base: np.ndarray,
    k: int,
    diversity: float,
    vectors: np.ndarray,
    calibration: float,
    penalties: OnePenalties | None,
) -> list[int]:
    """:func:`greedy_vectors` for one row (``base`` 1-D, sorted, every entry a candidate,
    k at most its length; ``vectors`` [m, d]; the calibration terms from ``penalties``, None
    without): the same gains from the same operations (the same matrix-vector product per
    pick), so the same choices."""
    m = len(base)
    open_gain = base * ((1.0 - diversity) * (1.0 - calibration))
    weight = diversity * (1.0 - calibration)
    if penalties is not None:
        terms, columns = penalties.terms, penalties.candidate_columns()
        every_column = np.arange(penalties.zero + 1)
        column_counts = np.zeros(penalties.zero + 1, dtype=np.int64)
        codes = penalties.codes.tolist()
        none = penalties.codes < 0 if penalties.with_none else None
        counts = np.zeros((1, penalties.n_codes))
        n = 0

        def _term() -> np.ndarray:  # each candidate's calibration term now
            term = terms[n][column_counts, every_column].take(columns)
            if none is not None:
                term[none] = penalties.none_term(counts, n)
            return term

    nearest = None
    gain = np.empty(m)
    scaled = np.empty(m)
    chosen: list[int] = []
    for step in range(k):
        if nearest is None:
            if penalties is None:  # the first pick: the best base (the row is in its order)
                pick = 0
            else:
                np.subtract(open_gain, _term(), out=gain)
                pick = int(gain.argmax())
        else:
            np.subtract(open_gain, nearest, out=gain)
            if penalties is not None:
                gain -= _term()
            pick = int(gain.argmax())
        chosen.append(pick)
        open_gain[pick] = -np.inf
        if step + 1 < k:
            near = vectors @ vectors[pick]
            if nearest is None:
                nearest = np.multiply(near, weight, dtype=np.float64)
            else:
                np.multiply(near, weight, out=scaled, dtype=np.float64)
                np.maximum(nearest, scaled, out=nearest)
        if penalties is not None:
            code = codes[pick]
            if code >= 0:
                n += 1
                counts[0, code] += 1.0
                column = penalties.column_of.get(code)
                if column is not None:
                    column_counts[column] += 1
    return chosen


def greedy_categories_one(
    base: np.ndarray,
    k: int,
    diversity: float,
    codes: np.ndarray,
    calibration: float,
    penalties: OnePenalties | None,
) -> list[int]:
    """:func:`greedy_categories` for one row, in plain Python over one head per category (a
    handful of floats a step: cheaper than a dozen numpy calls). The same gains from the
    same operations (the calibration terms looked up in ``penalties``' table; None: no
    calibration), so the same choices. Returns the chosen positions."""
    relevance = (base * ((1.0 - diversity) * (1.0 - calibration))).tolist()
    queues: dict[int, list[int]] = {}
    for position, code in enumerate(codes.tolist()):
        queue = queues.get(code)
        if queue is None:
            queues[code] = [position]
        else:
            queue.append(position)
    # one slot per category present (-1: items without one), with its queue in order; the
    # count of a category in the list is the count taken from its queue
    slots = list(queues.items())
    taken = [0] * len(slots)
    heads = [relevance[queue[0]] for _, queue in slots]
    weight = diversity * (1.0 - calibration)
    similar = [0.0] * len(slots)  # weight once the slot's category is in the list
    if penalties is not None:
        table = penalties.table
        columns = [penalties.column_of.get(code, penalties.zero) for code, _ in slots]
        none_slot = next((i for i, (code, _) in enumerate(slots) if code < 0), None)
        if none_slot is not None:
            counts = np.zeros((1, penalties.n_codes))
    n = 0  # categorised items in the list
    chosen: list[int] = []
    for step in range(k):
        if penalties is None:
            gains = [h - w for h, w in zip(heads, similar)] if step and weight else heads
        else:
            terms = table[n]
            if step and weight:
                gains = [h - w - terms[c][j] for h, w, c, j in zip(heads, similar, taken, columns)]
            else:
                gains = [h - terms[c][j] for h, c, j in zip(heads, taken, columns)]
            if none_slot is not None:
                gains[none_slot] = (
                    heads[none_slot] - similar[none_slot] if step and weight else heads[none_slot]
                ) - penalties.none_term(counts, n)
        best = max(gains)
        if best == -math.inf:
            break
        slot = gains.index(best)
        if gains.count(best) > 1:  # a tie: the first position wins
            slot = min((slots[i][1][taken[i]], i) for i, g in enumerate(gains) if g == best)[1]
        code, queue = slots[slot]
        chosen.append(queue[taken[slot]])
        taken[slot] += 1
        heads[slot] = relevance[queue[taken[slot]]] if taken[slot] < len(queue) else -math.inf
        if code >= 0:
            similar[slot] = weight
            n += 1
            if penalties is not None and none_slot is not None:
                counts[0, code] += 1.0
    return chosen
