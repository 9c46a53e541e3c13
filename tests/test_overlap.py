"""Jaccard and rank-biased overlap: hand-computed values, a slow reference, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_core.overlap import jaccard, pairwise_overlap, rbo, shared_items


def reference_rbo(a, b, p):
    """Webber et al. 2010, equation 32, written out term by term with set intersections."""
    short, long_ = (list(a), list(b)) if len(a) <= len(b) else (list(b), list(a))
    s, l = len(short), len(long_)  # noqa: E741
    if s == 0:
        return 1.0 if l == 0 else 0.0

    def x(d):
        return len(set(short[: min(d, s)]) & set(long_[:d]))

    total = sum(x(d) / d * p**d for d in range(1, l + 1))
    total += sum(x(s) * (d - s) / (s * d) * p**d for d in range(s + 1, l + 1))
    return (1 - p) / p * total + ((x(l) - x(s)) / l + x(s) / s) * p**l


# ------------------------------------------------------------------------------ by hand
def test_identical_lists_score_one():
    items = list("abcdefghij")
    assert jaccard(items, items) == 1.0
    assert rbo(items, items) == pytest.approx(1.0, abs=1e-12)
    assert rbo(items, items, p=0.5) == pytest.approx(1.0, abs=1e-12)


def test_disjoint_lists_score_zero():
    assert jaccard("abc", "xyz") == 0.0
    assert rbo("abc", "xyz") == 0.0
    assert rbo("abc", "uvwxyz") == 0.0


def test_jaccard_by_hand():
    assert jaccard([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(2 / 6)
    assert jaccard([1, 2, 3], [3, 2, 1]) == 1.0  # order does not matter
    assert jaccard([], []) == 1.0
    assert jaccard([], [1]) == 0.0


def test_rbo_by_hand_same_length():
    # S = a b c, L = a c b, p = 0.9: X = 1, 1, 3 so A = 1, 1/2, 1
    # RBO_ext = (0.1 / 0.9) * (0.9 + 0.5 * 0.81 + 1 * 0.729) + 1 * 0.729
    expected = (0.1 / 0.9) * (0.9 + 0.405 + 0.729) + 0.729
    assert expected == pytest.approx(0.955)
    assert rbo(list("abc"), list("acb"), p=0.9) == pytest.approx(expected, abs=1e-12)


def test_rbo_by_hand_uneven_lengths():
    # S = a b (s = 2), L = a c b (l = 3), p = 0.9: X1 = 1, X2 = 1, X3 = |{a,b} & {a,c,b}| = 2
    # seen     = 0.9 * 1/1 + 0.81 * 1/2 + 0.729 * 2/3       = 1.791
    # extended = X2 * (3 - 2) / (2 * 3) * 0.729             = 0.1215
    # tail     = ((X3 - X2) / 3 + X2 / 2) * 0.729           = 0.6075
    # RBO_ext  = 0.1 / 0.9 * (1.791 + 0.1215) + 0.6075      = 0.82
    assert rbo(list("ab"), list("acb"), p=0.9) == pytest.approx(0.82, abs=1e-12)
    assert rbo(list("acb"), list("ab"), p=0.9) == pytest.approx(0.82, abs=1e-12)


def test_rbo_weighs_the_top_more_than_jaccard_does():
    top_agree = rbo(list("abcdef"), list("abcxyz"))
    bottom_agree = rbo(list("xyzdef"), list("uvwdef"))
    assert jaccard(list("abcdef"), list("abcxyz")) == jaccard(list("xyzdef"), list("uvwdef"))
    assert top_agree > bottom_agree + 0.3


def test_prefix_of_the_longer_list_extrapolates_to_one():
    # S is exactly the top of L: the agreement seen so far is perfect, RBO_ext stays 1.
    assert rbo(list("abc"), list("abcdefg")) == pytest.approx(1.0, abs=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="more than once"):
        rbo([1, 2, 1], [1, 2])
    with pytest.raises(ValueError, match="between 0 and 1"):
        rbo([1], [1], p=1.0)


def test_numpy_arrays_are_rankings_too():
    assert rbo(np.array([3, 1, 2]), [3, 1, 2]) == pytest.approx(1.0)
    assert jaccard(np.array([3, 1]), np.array([1, 5])) == pytest.approx(1 / 3)


def test_pairwise_table_and_shared_items():
    lists = {"A": [1, 2, 3], "B": [3, 2, 9], "C": [7, 8]}
    table = pairwise_overlap(lists)
    assert list(zip(table["first"], table["second"])) == [("A", "B"), ("A", "C"), ("B", "C")]
    assert table["shared"].tolist() == [2, 0, 0]
    assert table["jaccard"].tolist() == pytest.approx([0.5, 0.0, 0.0])
    assert table["rbo"].iloc[0] == pytest.approx(rbo([1, 2, 3], [3, 2, 9]))
    assert shared_items(lists) == {2, 3}


# ------------------------------------------------------------------------------ properties
rankings = st.lists(st.integers(0, 30), max_size=25, unique=True)
persistence = st.floats(0.05, 0.98)


@settings(max_examples=200, deadline=None)
@given(rankings, rankings, persistence)
def test_rbo_matches_the_reference_and_is_symmetric_and_bounded(a, b, p):
    value = rbo(a, b, p)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(rbo(b, a, p), abs=1e-12)
    assert value == pytest.approx(min(1.0, max(0.0, reference_rbo(a, b, p))), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(rankings, rankings)
def test_jaccard_is_symmetric_and_bounded(a, b):
    value = jaccard(a, b)
    assert 0.0 <= value <= 1.0
    assert value == jaccard(b, a)
    assert (value == 1.0) == (set(a) == set(b))


@settings(max_examples=100, deadline=None)
@given(rankings.filter(bool), persistence)
def test_a_ranking_agrees_fully_with_itself_and_not_with_a_stranger(a, p):
    assert rbo(a, a, p) == pytest.approx(1.0, abs=1e-9)
    stranger = [x + 1000 for x in a]
    assert rbo(a, stranger, p) == 0.0
    assert math.isclose(jaccard(a, list(reversed(a))), 1.0)
