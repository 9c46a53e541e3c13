"""One user's re-ranking in C (``recsys_rerank_native``, built by ``pip install -r
requirements.txt``): exactly the lists of the numpy path, for every dial and filter, model
families with and without item vectors, data full of ties, items without a category; and a
hostile call (wrong arrays, items outside them) is an exception, never a read outside
memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_core.dataset import Dataset
from recsys_core.datasets import load_dataset
from recsys_core.evaluation import split_for
from recsys_core.rerank import Reranker, native_kernel
from recsys_core.rerank.reranker import COSINE_GRID
from recsys_core.training import fit_model

SETTINGS = [
    "popularity=0.5",
    "popularity=1",
    "diversity=0.5",
    "diversity=1",
    "calibration=0.5",
    "calibration=1",
    "popularity=0.5,diversity=0.3,calibration=0.3",
    "popularity=1,diversity=1,calibration=1",
    "diversity=0.9,calibration=0.2",
    "popularity=0.2,calibration=0.9,exclude_category=Food",
]


def test_the_c_kernel_is_built_and_passes_its_check():
    assert native_kernel.rerank_one() is not None, native_kernel.why_not()


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


@pytest.fixture(scope="module")
def split(demo):
    return split_for(demo, "holdout:5", 0)


@pytest.fixture(scope="module")
def models(demo, split):
    return {
        name: fit_model(demo, name, params, interactions=split.train)
        for name, params in (
            ("als", {"factors": 16, "iterations": 4, "random_state": 0}),
            ("item-knn", {"K": 40}),  # no item vectors: diversity by category
            ("ease", {}),
        )
    }


def _numpy_recommend(reranker, user, k):
    pool = max(5 * k, 50)
    ids, scores = reranker.model.recommend(user, pool, filter_items=reranker.blocked)
    target = None
    if reranker._calibrates:
        matrix = reranker.interactions
        target = reranker.target_of(matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]])
    return reranker.rerank_one_numpy(ids, scores, k, target)


def _same(a, b):
    return np.array_equal(a[0], b[0]) and np.array_equal(a[1].view(np.int32), b[1].view(np.int32))


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("family", ["als", "item-knn", "ease"])
def test_c_lists_are_numpys_lists(demo, split, models, family, setting):
    model = models[family]
    reranker = Reranker(setting, model, demo, split.train)
    assert reranker._kernel is not None
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)[::11]
    for user in users.tolist():
        for k in (10, 3):
            assert _same(reranker.recommend(user, k), _numpy_recommend(reranker, user, k)), user
    for item in range(0, demo.n_items, 37):
        fetched = reranker._drop_blocked(*model.similar_items(item, reranker._fetch(10)))
        expected = reranker.rerank_one_numpy(*fetched, 10, None, calibrate=False)
        assert _same(reranker.similar_items(item, 10), expected), item


def _select_both_ways(reranker, scores, users, k):
    """``select`` row by row in C, and the same block in numpy's block path."""
    with_c = reranker.select(scores.copy(), users, k)
    kernel, reranker._kernel = reranker._kernel, None
    try:
        with_numpy = reranker.select(scores.copy(), users, k)
    finally:
        reranker._kernel = kernel
    return with_c, with_numpy


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("family", ["als", "item-knn"])
def test_an_evaluation_block_in_c_is_numpys_block(demo, split, models, family, setting):
    model = models[family]
    reranker = Reranker(setting, model, demo, split.train)
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)[::5]
    scores = model.score_users(users)
    seen = split.train[users]
    scores[seen.nonzero()] = -np.inf
    scores[:7, 40:] = -np.inf  # rows with fewer candidates than the pool: numpy takes them
    for k in (10, 3):
        with_c, with_numpy = _select_both_ways(reranker, scores, users, k)
        assert np.array_equal(with_c, with_numpy), (setting, k)
        assert (with_c[:7] >= 0).sum() <= 7 * 40


def _tied_dataset(with_missing_categories: bool) -> Dataset:
    """Scores full of exact ties: few users, duplicated rows, a handful of categories (and
    items without one)."""
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(60), 12)
    items = rng.integers(0, 40, len(users))
    likes = pd.DataFrame({"user": [f"u{u}" for u in users], "item": [f"i{i}" for i in items]})
    likes = likes.drop_duplicates()
    names = sorted(set(likes["item"]))
    categories = [["A", "B", "C"][int(n[1:]) % 3] for n in names]
    if with_missing_categories:
        categories = [c if int(n[1:]) % 5 else "" for c, n in zip(categories, names)]
    frame = pd.DataFrame({"item": names, "name": names, "category": categories})
    return Dataset.from_frame("tied", likes, frame)


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("family", ["popularity", "item-knn", "als"])
def test_c_lists_on_ties_and_items_without_a_category(family, missing):
    data = _tied_dataset(missing)
    params = {"factors": 4, "iterations": 2, "random_state": 0} if family == "als" else {}
    model = fit_model(data, family, params)
    for setting in SETTINGS[:-1] + ["diversity=0.7,calibration=0.7", "calibration=0.4"]:
        reranker = Reranker(setting, model, data)
        for user in range(data.n_users):
            for k in (1, 2, 10, 40):
                got = reranker.recommend(user, k)
                assert _same(got, _numpy_recommend(reranker, user, k)), (setting, user, k)
        users = np.arange(data.n_users)
        scores = model.score_users(users)
        scores[data.interactions[users].nonzero()] = -np.inf
        for k in (1, 10):
            with_c, with_numpy = _select_both_ways(reranker, scores, users, k)
            assert np.array_equal(with_c, with_numpy), (setting, k)


def test_the_cosines_are_exact_whatever_sums_them():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((200, 96))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    grid = (np.rint(vectors / COSINE_GRID) * COSINE_GRID).astype(np.float32)
    exact = grid.astype(np.float64) @ grid[7].astype(np.float64)  # exact in float64 too
    assert np.array_equal(grid @ grid[7], exact.astype(np.float32))
    assert np.array_equal(grid[::-1] @ grid[7], exact[::-1].astype(np.float32))


def test_a_hostile_call_is_an_exception(demo, models):
    function = native_kernel.rerank_one()
    reranker = Reranker("popularity=0.5,diversity=0.5", models["als"], demo)
    bound = reranker._kernel
    assert bound.func is function
    popularity, tail, diversity, by_vectors, vectors, codes, n_codes, _ = bound.args
    ids = np.array([1, 2, 3], np.int64)
    scores = np.array([3.0, 2.0, 1.0], np.float32)
    targets = np.full((1, n_codes), 1.0 / n_codes)

    def call(**changes):
        arguments = dict(
            popularity=popularity,
            tail=tail,
            diversity=diversity,
            by_vectors=by_vectors,
            vectors=vectors,
            codes=codes,
            n_codes=n_codes,
            calibration=0.0,
            ids=ids,
            scores=scores,
            k=2,
            targets=None,
            row=0,
        )
        arguments.update(changes)
        return function(*arguments.values())

    got_ids, got_scores = call()
    assert len(got_ids) == 2 and set(got_ids) <= {1, 2, 3}
    assert got_ids.dtype == np.int64 and got_scores.dtype == np.float32
    assert np.array_equal(got_scores, scores[got_ids - 1])
    assert len(call(k=5)[0]) == 3  # k longer than the list: the whole list
    with pytest.raises(ValueError, match="outside"):
        call(ids=np.array([1, demo.n_items + 5, 3], np.int64))
    with pytest.raises(ValueError, match="outside"):
        call(ids=np.array([1, -4, 3], np.int64))
    with pytest.raises(TypeError, match="scores"):
        call(scores=scores.astype(np.float64))
    with pytest.raises(TypeError, match="scores"):
        call(scores=scores.astype(">f4"))  # another byte order
    with pytest.raises(TypeError, match="ids"):
        call(ids=[1, 2, 3])
    with pytest.raises(ValueError, match="contiguous"):
        call(vectors=vectors[:, ::2])
    with pytest.raises(ValueError, match="lengths"):
        call(scores=scores[:2])
    with pytest.raises(ValueError, match="lengths"):
        call(k=0)
    assert len(call(targets=targets, calibration=0.5)[0]) == 2  # calibrated
    with pytest.raises(ValueError, match="lengths"):
        call(targets=targets, calibration=0.5, row=1)  # a row outside the targets
    with pytest.raises(ValueError, match="lengths"):
        call(row=-1)
    with pytest.raises(ValueError, match="lengths"):
        call(targets=targets[:, :2], calibration=0.5)  # fewer categories than the codes
    with pytest.raises(ValueError, match="settings"):
        call(targets=targets)  # a history without the calibration dial
    with pytest.raises(ValueError, match="outside"):
        call(n_codes=1, diversity=0.5, by_vectors=False)  # codes beyond the categories
    with pytest.raises(TypeError, match="codes"):
        call(codes=codes.astype(np.int64))
    with pytest.raises(TypeError, match="vectors"):
        call(vectors=vectors.astype(np.float32))
    with pytest.raises(TypeError, match="13 arguments"):
        function(ids, scores)
    with pytest.raises(TypeError, match="targets"):
        call(targets=targets.astype(np.float32), calibration=0.5)
    assert call(scores=np.array([3.0, np.nan, 1.0], np.float32)) is None  # numpy decides


def test_a_non_finite_score_is_left_to_numpy(demo, models):
    reranker = Reranker("diversity=0.5", models["als"], demo)
    ids = np.arange(60, dtype=np.int64)
    scores = np.linspace(2, 1, 60).astype(np.float32)
    scores[5] = -np.inf
    got = reranker.rerank_one(ids, scores, 10, None)
    assert _same(got, reranker.rerank_one_numpy(ids, scores, 10, None))
