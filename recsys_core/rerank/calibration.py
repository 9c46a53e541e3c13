"""Steck's calibration term of the re-ranking greedy (Steck 2018, "Calibrated recommendations").

The calibration dial gives a list the categories of the user's history in the same
proportions, by greedy minimisation of KL(history || list). :class:`Calibration` holds the
term of every candidate for a block of rows, one step of the greedy at a time;
:class:`OnePenalties` the same terms for one row, as a table the one-row greedies look up.
Both compute each term with the same floating-point operations, so they choose alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_CALIBRATION_ALPHA = 0.01  # Steck's smoothing of the list's distribution


class Calibration:
    """Steck's calibration term of the greedy for a block of rows, one step at a time.

    ``penalty()`` is, for each candidate, ``c * KL(p || q~)`` of the list with that candidate
    added, up to a constant per row (no choice changes it): ``q~ = (1 - a) q + a p`` (Steck's
    smoothing, a = 0.01, so KL stays finite), p the history's categories, q the list's. Adding
    an item of category j changes only the j-th term of the cross entropy, by
    ``-p_j log(1 + s / A_j)`` (A the smoothed counts over n + 1, s = (1 - a) / (n + 1)); an item
    without a category changes n + 1 back to n in every term (computed only when some
    candidate has none). Rows whose history has no categorised item get no penalty.

    Parameters
    ----------
    target : float64 [b, n_codes]
        Each row's history distribution (rows of 0: none).
    codes : int [b, m]
        The candidates' categories (-1: none).
    """

    def __init__(self, target: np.ndarray, codes: np.ndarray, calibration: float) -> None:
        a = _CALIBRATION_ALPHA
        b, n_codes = target.shape
        self.b = b
        self.target = target
        # [n_codes, b]: a category's rows side by side (the greedies reduce across rows)
        by_column = np.ascontiguousarray(target.T)
        self.scale = np.where(by_column.sum(axis=0) > 0, calibration, 0.0)  # [b]
        self.weight = -by_column * self.scale  # -c p_j
        self.smoothed = a * by_column + (by_column == 0)  # 1 where p_j = 0: logs stay finite
        # the list's count of each category, and a last row for items without one (counted
        # there, never read): a chosen candidate's cell is the same in counts and in ``out``
        self.tally = np.zeros((n_codes + 1, b))
        self.counts = self.tally[:-1]
        self.n = np.zeros((1, b))
        self.codes = codes
        self.cells = codes % (n_codes + 1)  # -1 (no category) to the last row
        self.cells *= b
        self.cells += np.arange(b)[:, None]
        self.taken = np.empty(codes.shape)
        self.after = np.empty((n_codes, b))
        self.part = np.empty((n_codes, b))
        self.out = np.zeros((n_codes + 1, b))
        # The logarithm is the cost, so it is taken only where a term can differ from 0 and
        # be read: a category of the history (weight not 0) that a candidate of the row has.
        # Every other term that can be read is log1p(x) * -0.0 = -0.0 (the weight there is
        # -0.0), at every step.
        present = np.zeros(self.tally.size, dtype=bool)  # a candidate of the row has it
        present[self.cells] = True
        needed = (self.weight != 0).ravel() & present[: n_codes * b]
        self.out[:-1] = -0.0
        self.needed: tuple[np.ndarray, np.ndarray] | None = None
        cells = np.flatnonzero(needed)  # the same cell of ``part`` and of ``out``
        if len(cells) < 0.75 * len(needed):  # else every term, in place (fewer calls)
            self.needed = (cells, self.weight.ravel().take(cells))
        self.with_none = bool(codes.min(initial=0) < 0)
        if self.with_none:
            none = np.flatnonzero((codes < 0).any(axis=1))  # rows with a candidate without one
            self.none_rows = none
            self.smoothed_rows = a * target[none] + (target[none] == 0)

    def columns(self) -> np.ndarray:
        """float64 [n_codes + 1, b]: the penalty of adding an item of each category (the
        last row: an item without one) to each row's list."""
        a = _CALIBRATION_ALPHA
        share = (1.0 - a) / (self.n + 1.0)
        after, part = self.after, self.part
        np.multiply(self.counts, share, out=after)
        after += self.smoothed
        np.divide(share, after, out=part)
        if self.needed is None:
            terms = self.out[:-1]
            np.log1p(part, out=terms)
            terms *= self.weight
        else:
            cells, weight = self.needed
            terms = part.ravel().take(cells)
            np.log1p(terms, out=terms)
            terms *= weight
            self.out.ravel()[cells] = terms
        if self.with_none:  # row by row as the one-row greedy sums it (the same bits)
            rows = self.none_rows
            self.out[-1, rows] = (
                _none_penalty(
                    self.target[rows],
                    np.ascontiguousarray(self.counts[:, rows].T),
                    self.n[:, rows].T,
                    np.ascontiguousarray(after[:, rows].T),
                    self.smoothed_rows,
                )
                * self.scale[rows]
            )
        return self.out

    def penalty(self) -> np.ndarray:
        """float64 [b, m]: each candidate's calibration penalty (subtract from its gain)."""
        return np.take(self.columns(), self.cells, out=self.taken, mode="clip")

    def add(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Count the category of the item just chosen in each of ``rows`` (-1: none)."""
        width = self.counts.shape[0]
        self.add_cells(np.where(codes >= 0, codes, width) * self.b + rows)

    def add_cells(self, cells: np.ndarray) -> None:
        """Count the items just chosen, given by their cells (``self.cells`` of the chosen
        candidates: one per row, no row twice)."""
        tally = self.tally.ravel()
        tally[cells] += 1.0
        known = cells < self.counts.size  # not the last row: a category
        n = self.n.ravel()
        if known.all():
            if len(cells) == self.b:
                n += 1.0
            else:
                n[cells % self.b] += 1.0
        else:
            n[cells[known] % self.b] += 1.0


def _none_penalty(target, counts, n, after, smoothed) -> np.ndarray:
    """The calibration term of adding an item without a category: n + 1 back to n in every
    term of the cross entropy. float64 [b] (before the dial's scale)."""
    unchanged = counts * ((1.0 - _CALIBRATION_ALPHA) / np.maximum(n, 1.0)) + smoothed
    change = target * (np.log(after) - np.log(unchanged))
    return change.sum(axis=1)


_SHARES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _shares(k: int) -> tuple[np.ndarray, np.ndarray]:
    """For n, c = 0..k-1: ``share(n) = (1 - a) / (n + 1)`` [k, 1, 1] and ``c * share(n)``
    [k, k, 1], as :meth:`Calibration.columns` computes them (kept per k)."""
    found = _SHARES.get(k)
    if found is None:
        steps = np.arange(k, dtype=np.float64)
        share = ((1.0 - _CALIBRATION_ALPHA) / (steps + 1.0))[:, None, None]
        found = (share, steps[None, :, None] * share)
        for array in found:
            array.setflags(write=False)
        _SHARES[k] = found
    return found


class OnePenalties:
    """:class:`Calibration` for one row, as the one-row greedies use it: every category
    term the greedy can read, for every (items counted so far, of them in the category), in
    one array computation with :meth:`Calibration.columns`' operations on the same values
    (so the same bits), kept as nested lists to look up per step. Only the categories of the
    history among the candidates have a term (the others' is -0.0, and reads as 0.0 here).
    The term of an item without a category depends on every count, so it is computed at
    each step, and only when a candidate has none. The greedies keep their own counts, so
    one table serves both passes of a list.

    ``active`` is False for a history without a categorised item (no penalty at all).

    Attributes
    ----------
    table : list
        ``table[n][c][column_of[j]]``: the term of category j after n categorised items, c
        of them in j; ``table[n][c][zero]`` is 0.0. ``terms`` holds the same, float64
        [k, k, zero + 1].
    """

    def __init__(
        self,
        target: np.ndarray,
        codes: np.ndarray,
        n_codes: int,
        calibration: float,
        k: int,
        present: Iterable[int] | None = None,
    ) -> None:
        history = target[0].tolist()
        self.active = any(history)
        if not self.active:
            return
        if present is None:
            present = np.unique(codes).tolist()
        wanted = [j for j in present if j >= 0 and history[j] > 0]
        self.column_of = {j: i for i, j in enumerate(wanted)}
        self.zero = len(wanted)
        share = _shares(k)
        p = target[:, wanted]  # [1, j], every p_j > 0: smoothed = a p + 0, weight = -c p
        # after[n, c, j] = c * share(n) + smoothed_j, share(n) = (1 - a) / (n + 1)
        after = share[1] + (_CALIBRATION_ALPHA * p)[None]  # [k, k, j]
        terms = np.zeros((k, k, self.zero + 1))
        part = terms[:, :, : self.zero]
        np.divide(share[0], after, out=part)
        np.log1p(part, out=part)
        part *= p * -calibration
        self.terms = terms
        self.table = terms.tolist()
        self.codes = codes
        self.n_codes = n_codes
        self.with_none = min(present) < 0
        if self.with_none:
            self.target, self.calibration = target, calibration
            self.smoothed = _CALIBRATION_ALPHA * target + (target == 0)
        self._columns: np.ndarray | None = None

    def candidate_columns(self) -> np.ndarray:
        """Each candidate's column of the table, int64 [m] (``zero`` for no term)."""
        if self._columns is None:
            self._columns = np.array(
                [self.column_of.get(c, self.zero) for c in self.codes.tolist()], np.int64
            )
        return self._columns

    def none_term(self, counts: np.ndarray, n: int) -> float:
        """The term of an item without a category, the list holding ``counts`` float64
        [1, n_codes] of each category (n in all)."""
        a = _CALIBRATION_ALPHA
        n_ = np.full((1, 1), float(n))
        after = counts * ((1.0 - a) / (n_ + 1.0))
        after += self.smoothed
        return float(
            _none_penalty(self.target, counts, n_, after, self.smoothed)[0] * self.calibration
        )

    def by_column(self, counts: np.ndarray, n: int) -> list[float]:
        """The terms of each category (the last entry: an item without one) for a list
        holding ``counts`` [1, n_codes] (n categorised items)."""
        row = [0.0] * (self.n_codes + 1)
        terms = self.table[n]
        for code, column in self.column_of.items():
            row[code] = terms[int(counts[0, code])][column]
        if self.with_none:
            row[-1] = self.none_term(counts, n)
        return row
