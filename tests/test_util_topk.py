"""``recsys_core.util.topk.top_k`` against the obvious reference: a full stable argsort.

Random rows of every kind the callers produce: distinct scores, few distinct values (ties at
the cut), many zeros with a few scores above and ``-inf`` (a neighbourhood model's scores
with the training items excluded), NaN and ``+inf``; narrow and wide rows (the wide ones take
the sampled bound), float32 and float64, one row and blocks.
"""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core.util.topk import top_k


def reference(row: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best k of a row by a full stable argsort: NaN and -inf left out, ties by index."""
    candidates = np.flatnonzero(~np.isnan(row) & (row != -np.inf))
    order = np.argsort(-row[candidates].astype(np.float64), kind="stable")
    chosen = candidates[order][:k]
    return chosen.astype(np.int64), row[chosen]


def draw(rng: np.random.Generator, kind: str, shape: tuple[int, int]) -> np.ndarray:
    if kind == "distinct":
        scores = rng.normal(size=shape)
    elif kind == "levels":
        scores = rng.integers(0, 4, size=shape).astype(float)
    else:  # "sparse": mostly 0, a few positive, some -inf; some rows with fewer than k positive
        scores = np.zeros(shape)
        hits = rng.random(shape) < rng.choice([0.0005, 0.002, 0.02], size=(shape[0], 1))
        scores[hits] = rng.random(int(hits.sum()))
    scores[rng.random(shape) < 0.05] = -np.inf
    special = rng.random(shape) < 0.002
    scores[special] = rng.choice([np.nan, np.inf, -0.0], size=int(special.sum()))
    return scores


def check_block(scores: np.ndarray, k: int) -> None:
    indices, values = top_k(scores, k)
    width = min(k, scores.shape[1])
    assert indices.shape == values.shape == (len(scores), width)
    assert indices.dtype == np.int64
    for row in range(len(scores)):
        want, want_values = reference(scores[row], k)
        got = indices[row]
        np.testing.assert_array_equal(got[: len(want)], want)
        np.testing.assert_array_equal(values[row][: len(want)], want_values)
        assert (got[len(want) :] == -1).all()
        assert (values[row][len(want) :] == -np.inf).all()


@pytest.mark.parametrize("kind", ["distinct", "levels", "sparse"])
@pytest.mark.parametrize("n", [1, 7, 300, 5000, 70_000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_matches_a_stable_argsort(kind, n, dtype):
    rng = np.random.default_rng([n, len(kind), np.dtype(dtype).itemsize])
    rows = 3 if n >= 70_000 else 12
    scores = draw(rng, kind, (rows, n)).astype(dtype)
    for k in sorted({1, 2, 10, 57, n, n + 3}):
        check_block(scores, k)


@pytest.mark.parametrize("kind", ["distinct", "levels", "sparse"])
@pytest.mark.parametrize("n", [1, 9, 3000, 5000, 200_000])
def test_one_row_matches_a_stable_argsort_and_drops_what_is_missing(kind, n):
    rng = np.random.default_rng([n, len(kind)])
    for scores in draw(rng, kind, (4, n)).astype(np.float32):
        for k in sorted({1, 10, 50, n, n + 1}):
            indices, values = top_k(scores, k)
            want, want_values = reference(scores, k)
            np.testing.assert_array_equal(indices, want)
            np.testing.assert_array_equal(values, want_values)
            assert indices.dtype == np.int64 and values.dtype == np.float32


def test_wide_rows_tied_at_the_bound_keep_the_lowest_indices():
    """A row whose k-th best is shared by almost every item (zeros) and a row with fewer
    candidates than k: the sampled bound's tie rule and its padding."""
    scores = np.zeros((3, 80_000), np.float32)
    scores[0, [70_000, 5, 40_000]] = [3.0, 2.0, 1.0]
    scores[1, :] = -np.inf
    scores[1, [9, 3]] = [1.0, 1.0]
    scores[2, 100:] = -np.inf
    scores[2, 50] = np.nan
    indices, values = top_k(scores, 6)
    assert indices[0].tolist() == [70_000, 5, 40_000, 0, 1, 2]
    assert indices[1].tolist() == [3, 9, -1, -1, -1, -1]
    assert values[1].tolist() == [1.0, 1.0] + [-np.inf] * 4
    assert indices[2].tolist() == [0, 1, 2, 3, 4, 5]
    one, one_values = top_k(scores[1], 6)
    assert one.tolist() == [3, 9] and one_values.tolist() == [1.0, 1.0]


def test_scores_are_not_modified_and_bad_arguments_say_so():
    rng = np.random.default_rng(0)
    scores = draw(rng, "sparse", (4, 5000)).astype(np.float32)
    before = scores.copy()
    top_k(scores, 10)
    top_k(scores[0], 10)
    np.testing.assert_array_equal(scores, before)
    with pytest.raises(ValueError, match="k must be at least 1"):
        top_k(scores, 0)
    with pytest.raises(ValueError, match="row or a block"):
        top_k(scores[None], 3)
    empty, values = top_k(np.zeros((0, 5), np.float32), 3)
    assert empty.shape == values.shape == (0, 3)
