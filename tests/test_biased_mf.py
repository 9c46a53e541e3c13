"""biased-mf adapter: explicit ALS with biases against a slow reference and a planted matrix."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_core.algorithms import biased_mf, create, get_algorithm
from recsys_core.algorithms.biased_mf import BiasedMF, solve_block
from recsys_core.dataset import Dataset
from recsys_core.errors import DatasetError
from recsys_core.training import fit_model


def planted_ratings(n_users=300, n_items=200, rank=3, density=0.15, noise=0.3, seed=0):
    """mu + b_u + c_i + p_u.q_i + noise on a random 15% of the cells; 20% of them held out."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.7, (n_users, rank))
    q = rng.normal(0, 0.7, (n_items, rank))
    b = rng.normal(0, 0.5, n_users)
    c = rng.normal(0, 0.7, n_items)
    full = 3.5 + b[:, None] + c[None, :] + p @ q.T
    rows, cols = np.nonzero(rng.random((n_users, n_items)) < density)
    values = full[rows, cols] + rng.normal(0, noise, len(rows))
    test = rng.random(len(rows)) < 0.2

    def part(mask):
        return sp.csr_matrix((values[mask], (rows[mask], cols[mask])), shape=full.shape)

    return part(~test), part(test)


@pytest.fixture(scope="module")
def split():
    return planted_ratings()


@pytest.fixture(scope="module")
def fitted(split):
    train, _ = split
    return create("biased-mf", factors=3, regularization=1.0, iterations=15).fit(
        (train > 0).astype(np.float32), ratings=train
    )


def slow_step(rated, factors, bias, mu, reg):
    """Per-row reference: solve [p, b] for one row at a time with explicit loops."""
    dense = rated.toarray()
    out = np.zeros((dense.shape[0], factors.shape[1] + 1))
    for row in range(dense.shape[0]):
        others = np.flatnonzero(dense[row])
        d = factors.shape[1] + 1
        matrix = reg * np.eye(d)
        vector = np.zeros(d)
        for j in others:
            x = np.append(factors[j], 1.0)
            matrix += np.outer(x, x)
            vector += x * (dense[row, j] - mu - bias[j])
        out[row] = np.linalg.solve(matrix, vector)
    return out


def test_registered():
    cls = get_algorithm("biased-mf")
    assert cls is BiasedMF
    assert cls.needs == frozenset({"ratings"})
    assert {p.name for p in cls.params} == {
        "factors",
        "regularization",
        "iterations",
        "random_state",
    }


@pytest.mark.parametrize("chunk", [1 << 23, 200, 50])  # one block; several row and pair blocks
def test_one_als_step_equals_the_slow_reference(monkeypatch, chunk):
    monkeypatch.setattr(biased_mf, "_CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((25, 15)) < 0.3, rng.integers(1, 6, (25, 15)), 0).astype(float)
    dense[4] = 0  # a user without ratings
    dense[:, 7] = 0  # an item without ratings
    rated = sp.csr_matrix(dense)
    model = create("biased-mf", factors=4, regularization=0.7, iterations=1, random_state=1)
    model.fit(rated > 0, ratings=rated)
    start = {k: getattr(model, k).copy() for k in ("item_factors_", "item_bias_")}
    mu = rated.data.mean()
    model.als_step(rated)
    users = slow_step(rated, start["item_factors_"], start["item_bias_"], mu, 0.7)
    np.testing.assert_allclose(model.user_factors_, users[:, :-1], atol=1e-10)
    np.testing.assert_allclose(model.user_bias_, users[:, -1], atol=1e-10)
    items = slow_step(rated.T.tocsr(), users[:, :-1], users[:, -1], mu, 0.7)
    np.testing.assert_allclose(model.item_factors_, items[:, :-1], atol=1e-10)
    np.testing.assert_allclose(model.item_bias_, items[:, -1], atol=1e-10)
    assert np.all(model.user_factors_[4] == 0) and model.user_bias_[4] == 0
    assert np.all(model.item_factors_[7] == 0) and model.item_bias_[7] == 0


def test_recovers_planted_low_rank_plus_bias(split, fitted):
    train, test = split
    baseline = float(np.sqrt(np.mean((test.data - train.data.mean()) ** 2)))
    assert fitted.rmse(test) < 0.4 * baseline  # measured 0.36 vs 1.25
    assert fitted.train_rmse_[-1] < fitted.train_rmse_[0]
    assert len(fitted.train_rmse_) == 15
    assert fitted.train_rmse_[-1] == pytest.approx(fitted.rmse(train))


def test_recommend_ranks_by_predicted_rating(split, fitted):
    train, _ = split
    n_items = train.shape[1]
    indices, scores = fitted.recommend(5, n_items, exclude_seen=False)
    expected = fitted.predict(np.full(n_items, 5), np.arange(n_items))
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-5)
    assert np.all(np.diff(scores) <= 0)
    seen = set(train[5].indices)
    assert not seen & set(fitted.recommend(5, n_items)[0])


def test_history_fold_in_is_the_user_step(split, fitted):
    train, _ = split
    row = train[7]
    solution = solve_block(row, fitted.item_factors_, fitted.item_bias_, fitted.global_mean_, 1.0)
    expected = (
        fitted.global_mean_
        + solution[0, -1]
        + fitted.item_bias_
        + fitted.item_factors_ @ solution[0, :-1]
    )
    indices, scores = fitted.recommend_for_history(row.indices, 10, weights=row.data)
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-5)
    assert not set(indices) & set(row.indices)
    # without weights the history counts as top-rated: a loved-items user
    loved, _ = fitted.recommend_for_history(row.indices, 10)
    assert len(loved) == 10


def test_on_epoch_per_iteration_and_cancel(split):
    train, test = split
    curve = []

    def on_epoch(iteration, model):
        curve.append(model.rmse(test))
        return iteration < 4

    model = create("biased-mf", factors=3, regularization=1.0, iterations=10)
    model.fit(train > 0, ratings=train, on_epoch=on_epoch)
    assert len(curve) == 4 and len(model.train_rmse_) == 4
    assert curve[-1] < curve[0]


def test_needs_ratings():
    matrix = sp.csr_matrix(np.eye(3, dtype=np.float32))
    with pytest.raises(DatasetError, match="needs explicit ratings"):
        create("biased-mf").fit(matrix)
    with pytest.raises(DatasetError, match="2 x 3"):
        create("biased-mf").fit(matrix, ratings=sp.csr_matrix(np.ones((2, 3))))
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"]})
    with pytest.raises(DatasetError, match="ratings"):
        fit_model(Dataset.from_frame("likes", frame), "biased-mf")


def test_through_fit_model_with_ratings():
    frame = pd.DataFrame(
        {"user": list("aabbcc"), "item": list("xyxyzx"), "rating": [5, 1, 4, 2, 3, 5]}
    )
    dataset = Dataset.from_frame("rated", frame, min_rating=3)
    model = fit_model(dataset, "biased-mf", {"factors": 2, "iterations": 3})
    assert model.global_mean_ == pytest.approx(20 / 6)
    assert model.rmse(dataset.ratings) < 2


def test_save_load_round_trip(split, fitted):
    train, test = split
    buffer = io.BytesIO()
    np.savez(buffer, **fitted.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    loaded = BiasedMF.from_arrays(arrays, fitted.get_params()).attach(train > 0)
    users = np.arange(20)
    for a, b in zip(fitted.recommend(users, 10), loaded.recommend(users, 10)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fitted.similar_items(users, 5), loaded.similar_items(users, 5)):
        np.testing.assert_array_equal(a, b)
    assert loaded.rmse(test) == fitted.rmse(test)
    assert loaded.train_rmse_ == fitted.train_rmse_
