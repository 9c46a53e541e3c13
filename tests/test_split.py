"""split: every spec disjoint, complete, reproducible; holdout counts, leave-last, predefined."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_core.dataset import Dataset, as_csr, normalise_items
from recsys_core.errors import DatasetError, ParameterError
from recsys_core.split import Split, check_split, make_split, normalise_spec, parse_split_spec


def random_matrix(n_users=300, n_items=200, seed=0) -> sp.csr_matrix:
    """Long-tailed activity: some users with 1-3 interactions, some with dozens."""
    rng = np.random.default_rng(seed)
    activity = np.minimum(rng.zipf(1.6, n_users), n_items // 2)
    rows = np.repeat(np.arange(n_users), activity)
    cols = np.concatenate([rng.choice(n_items, a, replace=False) for a in activity])
    data = rng.integers(1, 5, len(rows)).astype(np.float32)
    return as_csr(sp.csr_matrix((data, (rows, cols)), shape=(n_users, n_items)))


def make_dataset(matrix, *, timestamps=None, extras=None) -> Dataset:
    n_users, n_items = matrix.shape
    item_ids = np.array([f"i{j}" for j in range(n_items)])
    return Dataset(
        name="tiny",
        interactions=matrix,
        user_ids=np.array([f"u{u}" for u in range(n_users)]),
        item_ids=item_ids,
        items=normalise_items(None, item_ids),
        timestamps=timestamps,
        extras=extras or {},
    )


def distinct_timestamps(matrix, seed=1) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    stamps = matrix.astype(np.float64)
    stamps.data = 1.5e9 + rng.permutation(matrix.nnz).astype(np.float64) * 60
    return stamps


@pytest.fixture(scope="module")
def matrix():
    return random_matrix()


@pytest.fixture(scope="module")
def dataset(matrix):
    keys = np.flatnonzero(np.random.default_rng(3).random(matrix.nnz) < 0.1)
    linear = _linear(matrix)[keys]
    return make_dataset(
        matrix,
        timestamps=distinct_timestamps(matrix),
        extras={"predefined_splits": {"u1": linear, "ua": _linear(matrix)[::7]}},
    )


def _linear(matrix) -> np.ndarray:
    coo = matrix.tocoo()
    return coo.row.astype(np.int64) * matrix.shape[1] + coo.col


def _pairs(matrix) -> set[tuple[int, int]]:
    coo = matrix.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist()))


SPECS = ["holdout:2", "holdout:3:0.5", "random:0.2", "leave-last:1", "leave-last:3", "u1", "ua"]


@pytest.mark.parametrize("spec", SPECS)
def test_split_is_disjoint_complete_and_canonical(dataset, spec):
    split = make_split(dataset, spec, random_state=4)
    source = dataset.interactions
    assert split.train.shape == split.test.shape == source.shape
    assert split.train.dtype == split.test.dtype == np.float32
    for part in (split.train, split.test):
        assert sp.isspmatrix_csr(part) and part.has_canonical_format
    assert not (_pairs(split.train) & _pairs(split.test))
    assert (split.train + split.test != source).nnz == 0
    assert split.test_mask.dtype == bool and split.test_mask.shape == (source.nnz,)
    assert split.test_mask.sum() == split.test.nnz > 0
    np.testing.assert_array_equal(split.test.data, source.data[split.test_mask])
    per_user_test = np.diff(split.test.indptr)
    per_user_train = np.diff(split.train.indptr)
    assert split.n_test_users == int((per_user_test > 0).sum())
    assert split.n_users_without_train == int(((per_user_test > 0) & (per_user_train == 0)).sum())
    np.testing.assert_array_equal(split.test_users, np.flatnonzero(per_user_test))
    assert split.spec == spec


@pytest.mark.parametrize("spec", ["holdout:2", "holdout:3:0.5", "random:0.2", "leave-last:1"])
def test_same_seed_same_split_other_seed_other_split(dataset, spec):
    first = make_split(dataset, spec, random_state=11)
    again = make_split(dataset, spec, random_state=11)
    np.testing.assert_array_equal(first.test_mask, again.test_mask)
    assert first.random_state == 11
    if spec.startswith("leave-last"):
        return  # timestamps are distinct, so the seed only breaks ties: same split for any seed
    other = make_split(dataset, spec, random_state=12)
    assert not np.array_equal(first.test_mask, other.test_mask)


def test_leave_last_seed_breaks_ties_only():
    matrix = as_csr(sp.csr_matrix(np.ones((1, 40))))
    stamps = matrix.astype(np.float64)  # every timestamp 1.0: all tied
    dataset = make_dataset(matrix, timestamps=stamps)
    masks = {tuple(make_split(dataset, "leave-last:1", random_state=s).test_mask) for s in range(6)}
    assert len(masks) > 1


def test_holdout_moves_exactly_n_per_eligible_user(matrix):
    n = 3
    split = make_split(matrix, f"holdout:{n}", random_state=0)
    counts = np.diff(matrix.indptr)
    per_user = np.diff(split.test.indptr)
    eligible = counts >= 2 * n
    assert eligible.any() and (~eligible & (counts > 0)).any()  # the data has both kinds
    np.testing.assert_array_equal(per_user[eligible], n)
    np.testing.assert_array_equal(per_user[~eligible], 0)
    assert split.n_test_users == eligible.sum()
    assert split.n_users_without_train == 0


def test_holdout_fraction_picks_that_share_of_eligible_users(matrix):
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= 4)
    split = make_split(matrix, "holdout:2:0.25", random_state=5)
    users = split.test_users
    assert len(users) == int(np.floor(0.25 * len(eligible)))
    assert set(users.tolist()) <= set(eligible.tolist())
    np.testing.assert_array_equal(np.diff(split.test.indptr)[users], 2)
    assert normalise_spec("holdout:2:1") == "holdout:2"


def test_holdout_draws_every_interaction_sometimes():
    # Uniform within a user: over many seeds each of the user's 6 items lands in test.
    matrix = as_csr(sp.csr_matrix(np.ones((1, 6))))
    hits = sum(make_split(matrix, "holdout:1", random_state=s).test_mask for s in range(300))
    assert hits.min() > 25  # expected 50 each


def test_random_split_size(matrix):
    split = make_split(matrix, "random:0.2", random_state=1)
    assert split.test.nnz == round(0.2 * matrix.nnz)
    # users with a single interaction that went to test have nothing left in train
    per_user_test = np.diff(split.test.indptr)
    per_user_train = np.diff(split.train.indptr)
    expected = int(((per_user_test > 0) & (per_user_train == 0)).sum())
    assert expected > 0 and split.n_users_without_train == expected


def test_leave_last_picks_the_latest_timestamps(dataset):
    n = 2
    split = make_split(dataset, f"leave-last:{n}", random_state=0)
    matrix, stamps = dataset.interactions, dataset.timestamps
    for user in range(matrix.shape[0]):
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        items = matrix.indices[start:end]
        times = stamps.data[start:end]
        got = set(split.test.indices[split.test.indptr[user] : split.test.indptr[user + 1]])
        if end - start < n + 1:
            assert got == set()
        else:
            assert got == set(items[np.argsort(-times)[:n]].tolist())
    assert split.n_users_without_train == 0


def test_leave_last_needs_timestamps(matrix):
    with pytest.raises(DatasetError, match="no timestamps.*holdout:5"):
        make_split(matrix, "leave-last:1")
    with pytest.raises(DatasetError, match="tiny has no timestamps"):
        make_split(make_dataset(matrix), "leave-last:1")


def test_predefined_split_takes_exactly_its_pairs(dataset):
    keys = dataset.extras["predefined_splits"]["u1"]
    split = make_split(dataset, "u1")
    n_items = dataset.n_items
    expected = {(int(k // n_items), int(k % n_items)) for k in keys}
    assert _pairs(split.test) == expected
    assert split.random_state == 0 and split.spec == "u1"
    upper = make_split(dataset, "U1")  # names are case-insensitive
    assert upper.spec == "u1" and upper.test.nnz == split.test.nnz


def test_predefined_split_counts_users_without_train_and_ignores_unknown_pairs():
    matrix = as_csr(sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0]], np.float32)))
    # user 0 keeps one, user 1 loses both, user 2 keeps its one; (2, 2) is not an interaction
    keys = np.array([0 * 3 + 1, 1 * 3 + 1, 1 * 3 + 2, 2 * 3 + 2], dtype=np.int64)
    dataset = make_dataset(matrix, extras={"predefined_splits": {"ub": keys}})
    split = make_split(dataset, "ub")
    assert _pairs(split.test) == {(0, 1), (1, 1), (1, 2)}
    assert (split.n_test_users, split.n_users_without_train) == (2, 1)


def test_predefined_split_errors(dataset, matrix):
    with pytest.raises(ParameterError, match="'u9' is not a predefined split of tiny.*u1, ua"):
        make_split(dataset, "u9")
    with pytest.raises(ParameterError, match="it has: none"):
        make_split(matrix, "ua")
    stranger = make_dataset(matrix, extras={"predefined_splits": {"u1": np.array([-5])}})
    with pytest.raises(DatasetError, match="None of the 1 test pairs"):
        make_split(stranger, "u1")


def test_apply_splits_a_timestamps_matrix_the_same_way(dataset):
    split = make_split(dataset, "holdout:2", random_state=2)
    stamps = dataset.timestamps.copy()
    stamps.data[:5] = 0.0  # explicit zeros ("unknown") still count as entries
    train_ts, test_ts = split.apply(stamps)
    for ours, part in ((train_ts, split.train), (test_ts, split.test)):
        assert ours.dtype == np.float64
        np.testing.assert_array_equal(ours.indptr, part.indptr)
        np.testing.assert_array_equal(ours.indices, part.indices)
    lookup = dict(zip(_linear(dataset.interactions).tolist(), stamps.data.tolist()))
    assert test_ts.data.tolist() == [lookup[k] for k in _linear(split.test).tolist()]
    assert train_ts.data.tolist() == [lookup[k] for k in _linear(split.train).tolist()]
    with pytest.raises(ParameterError, match="lacks .* interactions split by 'holdout:2'"):
        split.apply(as_csr(random_matrix(seed=9)))
    with pytest.raises(ParameterError, match="pass a matrix of the data's shape"):
        split.apply(sp.csr_matrix((3, 3)))
    # a Split built by hand (no stored input pattern) recovers it from train and test
    bare = dataclasses.replace(split, _indptr=None, _indices=None)
    for ours, theirs in zip(bare.apply(stamps), (train_ts, test_ts)):
        assert (ours != theirs).nnz == 0


def test_apply_ratings_with_pairs_below_min_rating():
    frame = pd.DataFrame(
        {
            "user": ["a"] * 6 + ["b"] * 5,
            "item": list("pqrstu") + list("pqrst"),
            "rating": [5, 4, 1, 5, 2, 4, 5, 5, 4, 1, 4],
        }
    )
    dataset = Dataset.from_frame("ratings", frame, min_rating=3)
    assert dataset.ratings.nnz == 11 and dataset.n_interactions == 8
    split = make_split(dataset, "holdout:1", random_state=0)
    train, test = split.apply(dataset.ratings)
    np.testing.assert_array_equal(test.indptr, split.test.indptr)
    np.testing.assert_array_equal(test.indices, split.test.indices)
    assert test.data.min() >= 3  # test pairs are interactions, never a low rating
    assert train.nnz == 11 - split.test.nnz  # the low ratings stay in train
    assert not (_pairs(train) & _pairs(test))
    kept, _ = split.apply(dataset.ratings, others="drop")
    assert _pairs(kept) == _pairs(split.train)
    with pytest.raises(ParameterError, match="others"):
        split.apply(dataset.ratings, others="test")


def test_non_canonical_input_is_canonicalised():
    dense = np.array([[0, 2, 1, 3], [1, 1, 1, 1]], np.float32)
    canonical = as_csr(dense)
    # each row's entries reversed: unsorted indices
    order = np.concatenate(
        [np.arange(a, b)[::-1] for a, b in zip(canonical.indptr, canonical.indptr[1:])]
    )
    messy = sp.csr_matrix(
        (canonical.data[order], canonical.indices[order], canonical.indptr), shape=canonical.shape
    )
    assert not messy.has_sorted_indices
    split = make_split(messy, "random:0.5", random_state=0)
    assert (split.train + split.test != canonical).nnz == 0
    np.testing.assert_array_equal(split.test.data, canonical.data[split.test_mask])


def test_check_split_names_the_overlap():
    train = as_csr(np.array([[1, 1, 0], [0, 1, 1]], np.float32))
    test = as_csr(np.array([[0, 1, 0], [0, 1, 0]], np.float32))
    message = (
        "train and test share 2 interactions. This will cause incorrect evaluation, "
        "check your data split."
    )
    with pytest.raises(DatasetError) as error:
        check_split(train, test)
    assert str(error.value) == message
    with pytest.raises(DatasetError, match="2 x 3 but test is 2 x 4"):
        check_split(train, sp.csr_matrix((2, 4)))
    check_split(train, as_csr(np.array([[0, 0, 1], [1, 0, 0]], np.float32)))  # disjoint: fine


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("holdout:5", ("holdout", (5,))),
        (" Holdout : 5 : 0.5 ", ("holdout", (5, 0.5))),
        ("random:0.2", ("random", (0.2,))),
        ("leave-last:1", ("leave-last", (1,))),
        ("leave_last:2", ("leave-last", (2,))),
        ("ua", ("predefined", ("ua",))),
    ],
)
def test_parse_split_spec(spec, expected):
    assert parse_split_spec(spec) == expected


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("", "empty"),
        ("holdout", "needs N"),
        ("holdout:0", "N=0"),
        ("holdout:five", "whole number"),
        ("holdout:5:0", "outside"),
        ("holdout:5:1.5", "outside"),
        ("random:1", "outside"),
        ("random:nan", "finite"),
        ("random", "test fraction"),
        ("leave-last:1:2", "needs N"),
        ("kfold:5", "not a known kind"),
        ("u 1", "not a known kind"),
    ],
)
def test_parse_split_spec_rejects_bad_specs(spec, fragment):
    with pytest.raises(ParameterError, match=fragment) as error:
        parse_split_spec(spec)
    assert "holdout:N" in str(error.value)


def test_errors_for_data_that_cannot_be_split(matrix):
    with pytest.raises(DatasetError, match="No user of the matrix has the 400 interactions"):
        make_split(matrix, "holdout:200")
    with pytest.raises(DatasetError, match="too few"):
        make_split(as_csr(np.array([[1, 0]], np.float32)), "random:0.5")
    with pytest.raises(ParameterError, match="Dataset or a CSR"):
        make_split(matrix.tocoo(), "holdout:1")
    with pytest.raises(ParameterError, match="random_state"):
        make_split(matrix, "holdout:1", random_state=1.5)
    with pytest.raises(ParameterError, match="0 or more"):
        make_split(matrix, "holdout:1", random_state=-1)


def test_split_is_frozen(matrix):
    split = make_split(matrix, "holdout:1")
    assert isinstance(split, Split)
    with pytest.raises(AttributeError):
        split.spec = "random:0.1"
    with pytest.raises(ValueError):
        split.test_mask[0] = not split.test_mask[0]
    assert "holdout:1" in repr(split)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 30), st.integers(4, 30)),
    spec=st.sampled_from(["holdout:1", "holdout:2:0.5", "random:0.3", "leave-last:1"]),
)
def test_split_property(seed, shape, spec):
    rng = np.random.default_rng(seed)
    dense = (rng.random(shape) < 0.3).astype(np.float32)
    dense[0, :4] = 1  # at least one user every spec can split
    matrix = as_csr(dense)
    data = make_dataset(matrix, timestamps=distinct_timestamps(matrix, seed))
    split = make_split(data, spec, random_state=seed)
    assert not (_pairs(split.train) & _pairs(split.test))
    assert _pairs(split.train) | _pairs(split.test) == _pairs(matrix)
    assert split.test.nnz > 0


def test_rank_within_rows_packed_key_equals_two_key_sort():
    from recsys_core.split import _rank_within_rows

    matrix = random_matrix(seed=4)
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = np.random.default_rng(0).permutation(matrix.nnz).astype(np.int64)
    bits = int(matrix.nnz).bit_length()
    packed = _rank_within_rows(rows, matrix.shape[0], matrix.indptr, keys, bits)
    two_keys = _rank_within_rows(rows, matrix.shape[0], matrix.indptr, keys, 62)  # fallback
    np.testing.assert_array_equal(packed, two_keys)
    for user in (0, 5, 17):
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        np.testing.assert_array_equal(packed[start:end], np.argsort(np.argsort(keys[start:end])))
