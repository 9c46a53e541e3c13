"""The re-ranking over every registered algorithm (the behaviour suite's checkerboard and
models, ``tests/test_algorithms.py``), stored models included: each dial at 0 is the model's
own list; each dial at 1 still gives k valid items; filters give exactly k items, none
excluded; the popularity dial never raises a list's mean popularity and the diversity dial
never lowers its diversity. A capability a family lacks skips, as in the suite."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core.evaluation import block_scores
from recsys_core.rerank import DIALS, Reranker, RerankSettings
from recsys_core.util.topk import top_k
from tests.test_algorithms import ALGORITHMS, FAST_PARAMS, Fitted, _round_trip, capable
from tests.test_algorithms import make_checkerboard as _checkerboard

K = 6
USERS = (0, 7, 29, 30, 45, 59)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    dataset, _, block = _checkerboard()
    return dataset, Fitted(dataset, FAST_PARAMS, tmp_path_factory.mktemp("vectors"), block)


@pytest.fixture(scope="module")
def stored(board):
    """Each model rebuilt from its stored arrays (what the store hands the app)."""
    dataset, fitted = board
    copies: dict = {}

    def get(name):
        if name not in copies:
            copies[name] = capable(name, lambda: _round_trip(fitted(name), dataset))
        return copies[name]

    return get


def models(board, stored, name):
    return [("fitted", board[1](name)), ("stored", stored(name))]


@pytest.mark.parametrize("name", ALGORITHMS)
def test_each_dial_at_zero_is_the_models_own_list(board, stored, name):
    dataset, _ = board
    for label, model in models(board, stored, name):
        for dial in DIALS:
            reranker = Reranker(RerankSettings(**{dial: 0.0}), model, dataset)
            for user in USERS:
                got, want = reranker.recommend(user, K), model.recommend(user, K)
                np.testing.assert_array_equal(got[0], want[0], err_msg=f"{label} {dial}")
                np.testing.assert_array_equal(got[1], want[1])
            if model.supports("similar_items"):
                np.testing.assert_array_equal(
                    reranker.similar_items(3, K)[0], model.similar_items(3, K)[0]
                )
        # a filter that leaves everything, with every dial at 0: the same lists in evaluation
        everything = Reranker("min_popularity=0", model, dataset)
        users = np.arange(dataset.n_users)
        scores = block_scores(model, dataset.interactions, users)
        np.testing.assert_array_equal(
            everything.select(scores.copy(), users, K), top_k(scores, K)[0]
        )


@pytest.mark.parametrize("name", ALGORITHMS)
def test_the_unordered_pool_is_the_models_own_pool(board, stored, name):
    """What Reranker.recommend asks when the C kernel orders the pool itself."""
    dataset, _ = board
    blocked = np.array([2, 5], np.int64)
    for label, model in models(board, stored, name):
        for user in USERS:
            for k, filters in ((K, None), (20, blocked), (dataset.n_items, None)):
                ids, scores = model.recommend_pool(user, k, filter_items=filters)
                want_ids, want_scores = model.recommend(user, k, filter_items=filters)
                assert ids.dtype == np.int64 and scores.dtype == np.float32, label
                order = np.lexsort((ids, -scores))  # the model's own order
                np.testing.assert_array_equal(ids[order], want_ids, err_msg=f"{label} {k}")
                np.testing.assert_array_equal(scores[order], want_scores)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("dial", DIALS)
def test_each_dial_at_one_gives_k_unseen_items(board, stored, name, dial):
    dataset, _ = board
    for _, model in models(board, stored, name):
        reranker = Reranker(RerankSettings(**{dial: 1.0}), model, dataset)
        for user in USERS:
            got, scores = reranker.recommend(user, K)
            seen = set(dataset.interactions[user].indices.tolist())
            assert len(got) == K and len(set(got.tolist())) == K and not seen & set(got)
            assert np.isfinite(scores).all()
            pool, _ = model.recommend(user, 40)
            assert set(got.tolist()) <= set(pool.tolist())  # chosen among the model's own
        if model.supports("similar_items"):
            got, _ = reranker.similar_items(3, K)
            assert 3 not in got and len(set(got.tolist())) == len(got) > 0


@pytest.mark.parametrize("name", ALGORITHMS)
def test_filters_give_exactly_k_and_nothing_excluded(board, stored, name):
    dataset, _ = board
    block_a = set(np.flatnonzero(dataset.items["category"] == "block-a").tolist())
    banned = {dataset.item_id(i) for i in (21, 22, 23)}
    text = "exclude_category=block-a,exclude_item=" + "|".join(sorted(banned))
    for _, model in models(board, stored, name):
        for dials in (
            "",
            ",popularity=1",
            ",diversity=1",
            ",calibration=1",
            ",popularity=0.5,diversity=0.5,calibration=0.5",
        ):
            reranker = Reranker(text + dials, model, dataset)
            blocked = block_a | {dataset.item_index(i) for i in banned}
            full = 0
            for user in USERS:  # group a has block b to choose from; group b little left
                got, _ = reranker.recommend(user, K)
                left = (
                    set(range(dataset.n_items))
                    - blocked
                    - set(dataset.interactions[user].indices.tolist())
                )
                assert len(got) == min(K, len(left)), (dials, user)
                assert not blocked & set(got.tolist())
                full += len(got) == K
            assert full >= 3
            users = np.arange(dataset.n_users)
            lists = reranker.select(block_scores(model, dataset.interactions, users), users, K)
            left = [
                len(
                    set(range(dataset.n_items))
                    - blocked
                    - set(dataset.interactions[u].indices.tolist())
                )
                for u in users
            ]
            np.testing.assert_array_equal((lists >= 0).sum(axis=1), np.minimum(K, left))
            assert not blocked & set(lists.ravel().tolist())
            if model.supports("similar_items"):
                got, _ = capable(name, lambda r=reranker: r.similar_items(30, K))
                assert not blocked & set(got.tolist()) and 30 not in got
            if model.supports("recommend_for_history"):
                got, _ = reranker.recommend_for_history(np.array([0, 1, 2]), K)
                assert len(got) == K and not blocked & set(got.tolist())


@pytest.mark.parametrize("name", ALGORITHMS)
def test_popularity_dial_never_raises_mean_popularity(board, name):
    dataset, fitted = board
    model = fitted(name)
    popularity = np.bincount(dataset.interactions.indices, minlength=dataset.n_items)
    users = np.arange(dataset.n_users)
    scores = block_scores(model, dataset.interactions, users)
    means = []
    for value in (0.0, 0.2, 0.5, 0.8, 1.0):
        lists = Reranker(RerankSettings(popularity=value), model, dataset).select(
            scores.copy(), users, K
        )
        means.append(popularity[lists].mean(axis=1))
    for before, after in zip(means, means[1:]):
        assert np.all(after <= before + 1e-9)
    assert means[-1].mean() < means[0].mean()


@pytest.mark.parametrize("name", ALGORITHMS)
def test_diversity_dial_never_lowers_diversity(board, name):
    dataset, fitted = board
    model = fitted(name)
    users = np.arange(dataset.n_users)
    scores = block_scores(model, dataset.interactions, users)
    plain = Reranker("", model, dataset).select(scores.copy(), users, K)
    for value in (0.25, 0.5, 1.0):
        reranker = Reranker(RerankSettings(diversity=value), model, dataset)
        lists = reranker.select(scores.copy(), users, K)
        both = np.concatenate([lists, plain], axis=1)
        similarity = reranker.similarity(both, both >= 0)
        positions = np.arange(2 * K)
        mine = similarity.spread(np.tile(positions[:K], (len(users), 1)))
        theirs = similarity.spread(np.tile(positions[K:], (len(users), 1)))
        assert np.all(mine >= theirs - 1e-6), f"{name} at {value}"
