"""preprocess: dedupe, iterative k-core (against a slow reference), confidence weighting."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from implicit.nearest_neighbours import bm25_weight, tfidf_weight

from recsys_core.dataset import Dataset, as_csr, normalise_items
from recsys_core.errors import DatasetError, ParameterError
from recsys_core.preprocess import confidence, dedupe, kcore, kcore_preview


def make_dataset(matrix, *, timestamps=None, name="tiny", extras=None) -> Dataset:
    matrix = as_csr(matrix)
    n_users, n_items = matrix.shape
    item_ids = np.array([f"i{j}" for j in range(n_items)])
    return Dataset(
        name=name,
        interactions=matrix,
        user_ids=np.array([f"u{u}" for u in range(n_users)]),
        item_ids=item_ids,
        items=normalise_items(None, item_ids),
        timestamps=timestamps,
        extras=extras or {},
    )


def random_matrix(n_users, n_items, density, seed) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density).astype(np.float32)
    return as_csr(sp.csr_matrix(dense))


def slow_kcore(pairs, n_users, n_items, min_user, min_item):
    """The obvious reference: sets of pairs, alternate passes until nothing changes."""
    pairs = set(pairs)
    users, items = set(range(n_users)), set(range(n_items))
    rounds = 0
    while True:
        degree = Counter(u for u, _ in pairs)
        dropped_users = {u for u in users if degree[u] < min_user}
        users -= dropped_users
        pairs = {(u, i) for u, i in pairs if u in users}
        degree = Counter(i for _, i in pairs)
        dropped_items = {i for i in items if degree[i] < min_item}
        items -= dropped_items
        pairs = {(u, i) for u, i in pairs if i in items}
        if not dropped_users and not dropped_items:
            return users, items, pairs, rounds
        rounds += 1


def check_against_reference(matrix, min_user, min_item):
    coo = matrix.tocoo()
    pairs = list(zip(coo.row.tolist(), coo.col.tolist()))
    users, items, pairs, rounds = slow_kcore(pairs, *matrix.shape, min_user, min_item)
    report = kcore_preview(matrix, min_user, min_item)
    assert (report.users_after, report.items_after) == (len(users), len(items))
    assert report.interactions_after == len(pairs)
    assert report.rounds == rounds
    assert report.interactions_before == matrix.nnz
    dataset = make_dataset(matrix)
    if not pairs:
        with pytest.raises(DatasetError, match="lower the thresholds"):
            kcore(dataset, min_user, min_item)
        return
    smaller, full_report = kcore(dataset, min_user, min_item)
    assert full_report == report
    assert smaller.user_ids.tolist() == [f"u{u}" for u in sorted(users)]
    assert smaller.item_ids.tolist() == [f"i{i}" for i in sorted(items)]
    sub = smaller.interactions.tocoo()
    got = {
        (int(smaller.user_ids[u][1:]), int(smaller.item_ids[i][1:]))
        for u, i in zip(sub.row, sub.col)
    }
    assert got == pairs
    assert np.diff(smaller.interactions.indptr).min() >= min_user
    assert np.bincount(smaller.interactions.indices, minlength=smaller.n_items).min() >= min_item


@pytest.mark.parametrize(
    "shape, density, min_user, min_item, seed",
    [
        ((300, 200), 0.03, 5, 5, 0),
        ((300, 200), 0.05, 8, 3, 1),
        ((120, 400), 0.08, 3, 10, 2),
        ((200, 150), 0.05, 5, 6, 7),
        ((50, 50), 0.2, 0, 12, 3),
        ((50, 50), 0.2, 12, 0, 4),
    ],
)
def test_kcore_matches_slow_reference(shape, density, min_user, min_item, seed):
    matrix = random_matrix(*shape, density, seed)
    check_against_reference(matrix, min_user, min_item)
    # the cases are chosen so that something is cut and something is left
    report = kcore_preview(matrix, min_user, min_item)
    assert 0 < report.interactions_after < report.interactions_before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_users=st.integers(1, 14),
    n_items=st.integers(1, 14),
    data=st.data(),
    min_user=st.integers(0, 5),
    min_item=st.integers(0, 5),
)
def test_kcore_property_matches_reference(n_users, n_items, data, min_user, min_item):
    cells = data.draw(
        st.lists(st.integers(0, n_users * n_items - 1), min_size=1, max_size=80, unique=True)
    )
    rows, cols = np.divmod(np.array(cells), n_items)
    matrix = as_csr(
        sp.csr_matrix((np.ones(len(cells), np.float32), (rows, cols)), shape=(n_users, n_items))
    )
    check_against_reference(matrix, min_user, min_item)


def test_kcore_peels_a_chain_one_round_at_a_time():
    # A path u0-i0, u0-i1, u1-i1, u1-i2, ...: with minimums of 2, each round can only cut the
    # two ends, so it takes many rounds; a separate dense 3 x 3 block survives.
    n = 8
    rows = [u for u in range(n) for _ in range(2)] + [n + u for u in range(3) for _ in range(3)]
    cols = [u + d for u in range(n) for d in range(2)]
    cols += [n + 1 + i for _ in range(3) for i in range(3)]
    matrix = as_csr(sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 3, n + 4)))
    check_against_reference(matrix, 2, 2)
    report = kcore_preview(matrix, 2, 2)
    assert (report.users_after, report.items_after, report.interactions_after) == (3, 3, 9)
    assert report.rounds >= n // 2


def test_kcore_keeps_timestamps_aligned_and_reports_figures():
    matrix = random_matrix(200, 150, 0.05, 7)
    stamps = matrix.copy().astype(np.float64)
    coo = matrix.tocoo()
    stamps.data = (coo.row * 1000 + coo.col).astype(np.float64)  # encodes the pair
    dataset = make_dataset(matrix, timestamps=stamps)
    smaller, report = kcore(dataset, 5, 6)
    assert report.users_after < dataset.n_users and report.items_after < dataset.n_items
    assert report.users_after == smaller.n_users and report.items_after == smaller.n_items
    assert report.interactions_after == smaller.n_interactions
    assert report.density_after == pytest.approx(smaller.density)
    assert report.density_before == pytest.approx(dataset.density)
    sub = smaller.timestamps.tocoo()
    users = smaller.user_ids[sub.row].astype("U8")
    items = smaller.item_ids[sub.col].astype("U8")
    expected = [int(u[1:]) * 1000 + int(i[1:]) for u, i in zip(users, items)]
    assert sub.data.tolist() == expected
    assert "->" in str(report) and f"{report.users_after:,}" in str(report)
    assert report.as_dict()["rounds"] == report.rounds


def test_kcore_renumbers_predefined_splits():
    matrix = random_matrix(200, 150, 0.05, 7)
    coo = matrix.tocoo()
    keys = coo.row.astype(np.int64)[::5] * 150 + coo.col[::5]
    dataset = make_dataset(matrix, extras={"predefined_splits": {"u1": keys}})
    smaller, _ = kcore(dataset, 5, 6)
    new_keys = smaller.extras["predefined_splits"]["u1"]
    n_items = smaller.n_items
    got = {
        (smaller.user_ids[k // n_items], smaller.item_ids[k % n_items]) for k in new_keys.tolist()
    }
    kept_users, kept_items = set(smaller.user_ids), set(smaller.item_ids)
    old = {(f"u{k // 150}", f"i{k % 150}") for k in keys.tolist()}
    assert got == {(u, i) for u, i in old if u in kept_users and i in kept_items}
    assert 0 < len(got) < len(old)
    assert dataset.extras["predefined_splits"]["u1"] is keys  # the original is untouched


def test_kcore_that_changes_nothing_returns_the_same_dataset():
    dataset = make_dataset(np.ones((4, 3)))
    same, report = kcore(dataset, 3, 4)
    assert same is dataset and report.rounds == 0


def test_kcore_threshold_leaving_nothing_names_the_figures():
    dataset = make_dataset(random_matrix(40, 30, 0.1, 3), name="likes.csv")
    with pytest.raises(DatasetError) as error:
        kcore(dataset, 1000, 1)
    message = str(error.value)
    assert "min_user=1000" in message and "40 users x 30 items" in message
    assert f"{dataset.n_interactions:,} interactions" in message
    report = kcore_preview(dataset.interactions, 1000, 1)
    assert (report.users_after, report.items_after, report.interactions_after) == (0, 0, 0)
    assert report.density_after == 0.0


@pytest.mark.parametrize("bad", [-1, 2.5, "5", True])
def test_kcore_rejects_bad_thresholds(bad):
    with pytest.raises(ParameterError, match="whole number"):
        kcore_preview(random_matrix(5, 5, 0.5, 0), bad, 1)


def test_dedupe_frame_and_dataset():
    frame = pd.DataFrame({"user": ["a", "a", "b", "a"], "item": ["x", "x", "y", "z"]})
    out = dedupe(frame)
    assert out[["user", "item"]].values.tolist() == [["a", "x"], ["b", "y"], ["a", "z"]]
    dataset = Dataset.from_frame("likes", frame)
    assert dataset.interactions.data.max() == 2.0  # the repeated row was summed
    once = dedupe(dataset)
    assert once.interactions.data.tolist() == [1.0, 1.0, 1.0]
    assert once.interactions.nnz == dataset.interactions.nnz
    assert once.fingerprint != dataset.fingerprint
    assert dedupe(once) is once
    with pytest.raises(DatasetError, match="'user' and 'item'"):
        dedupe(pd.DataFrame({"uid": [1]}))


# ---------------------------------------------------------------------------------- weighting
@pytest.fixture
def counts():
    rng = np.random.default_rng(5)
    matrix = random_matrix(80, 60, 0.15, 11)
    matrix.data = rng.integers(1, 30, matrix.nnz).astype(np.float32)
    return matrix


@pytest.mark.parametrize("K1, B", [(100.0, 0.8), (1.2, 0.75), (3.0, 0.0)])
def test_bm25_equals_implicit(counts, K1, B):  # noqa: N803
    ours = confidence(counts, "bm25", K1=K1, B=B)
    theirs = bm25_weight(counts, K1=K1, B=B).tocsr()
    theirs.sort_indices()
    assert ours.dtype == np.float32 and ours.shape == counts.shape
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6)


def test_bm25_and_tfidf_equal_implicit_on_transposed_data(counts):
    item_users = counts.T.tocsr()
    ours = confidence(item_users, "bm25").T.tocsr()
    theirs = bm25_weight(item_users).T.tocsr()
    theirs.sort_indices()
    ours.sort_indices()
    np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6)


def test_tfidf_equals_implicit(counts):
    ours = confidence(counts, "tfidf")
    theirs = tfidf_weight(counts).tocsr()
    theirs.sort_indices()
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6)


def test_alpha_confidence(counts):
    weighted = confidence(counts, "alpha", alpha=15.0)
    np.testing.assert_allclose(weighted.data, 1.0 + 15.0 * counts.data)
    assert weighted.nnz == counts.nnz and weighted.dtype == np.float32
    assert counts.data.min() >= 1  # the input was not modified in place
    assert confidence(counts).data[0] == pytest.approx(1.0 + 40.0 * counts.data[0])


def test_confidence_rejects_bad_input(counts):
    with pytest.raises(ParameterError, match="Unknown confidence scheme 'bm26'"):
        confidence(counts, "bm26")
    with pytest.raises(ParameterError, match="alpha"):
        confidence(counts, "alpha", alpha=-1)
    with pytest.raises(ParameterError, match="B in"):
        confidence(counts, "bm25", B=2)
    with pytest.raises(ParameterError, match="CSR"):
        confidence(counts.tocoo())
