"""Evaluation: equality with implicit's and LightFM's own evaluation, every metric against a slow
per-user reference (hypothesis), users without training data, bounded blocks, learning curves.

Two precisions: ``precision`` is hits / k averaged over users (LightFM's ``precision_at_k``,
RecTools, Cornac); ``precision_implicit`` is implicit's hits / min(k, test items), micro-averaged
(``ranking_metrics_at_k``). Metrics stored while ``precision`` meant implicit's are relabelled."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_core import Dataset
from recsys_core.algorithms.base import Recommender
from recsys_core.evaluation import (
    BLOCK_MEMORY_CAP,
    CONVENTIONS,
    METRIC_INFO,
    METRICS,
    METRICS_VERSION,
    blocks,
    evaluate,
    evaluate_model,
    learning_curve,
    save_result,
    upgrade_per_user,
    upgrade_stored_metrics,
)
from recsys_core.evaluation.blocks import block_rows
from recsys_core.split import make_split
from recsys_core.training import fit_model


# ----------------------------------------------------------------------------------- fixtures
def planted(n_users=240, n_items=160, groups=4, per_user=24, seed=0, name="planted"):
    """Users like mostly items of their group, with random counts (few exact score ties)."""
    rng = np.random.default_rng(seed)
    user_group = rng.integers(groups, size=n_users)
    item_group = np.arange(n_items) % groups
    users, items = [], []
    for user in range(n_users):
        own = np.flatnonzero(item_group == user_group[user])
        liked = set(rng.choice(own, size=int(per_user * 0.75), replace=False).tolist())
        liked |= set(rng.choice(n_items, size=per_user // 4, replace=False).tolist())
        users += [f"u{user}"] * len(liked)
        items += [f"i{item}" for item in sorted(liked)]
    frame = pd.DataFrame(
        {"user": users, "item": items, "weight": rng.integers(1, 6, size=len(users))}
    )
    meta = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "category": [f"c{g}" for g in item_group],
            "tags": [[f"t{g}", f"t{i % 7 + 10}"] for i, g in enumerate(item_group)],
        }
    )
    return Dataset.from_frame(name, frame, meta)


@pytest.fixture(scope="module")
def data():
    dataset = planted()
    return dataset, make_split(dataset, "holdout:4", random_state=0)


REFERENCE = {"precision_implicit": "precision", "map": "map", "ndcg": "ndcg", "auc": "auc"}
"""Our name -> the key of implicit's ranking_metrics_at_k."""


def _implicit_reference(model, split, k=10):
    from implicit.evaluation import ranking_metrics_at_k

    return ranking_metrics_at_k(model.model_, split.train, split.test, K=k, show_progress=False)


# ------------------------------------------------------------------------ implicit reference
@pytest.mark.parametrize(
    "algorithm, params",
    [
        ("als", {"factors": 16, "iterations": 6}),
        ("bpr", {"factors": 16, "iterations": 40, "learning_rate": 0.05}),
        ("lmf", {"factors": 8, "iterations": 10}),
        ("item-knn", {"K": 60, "similarity": "cosine"}),
        ("item-knn", {"K": 60, "similarity": "bm25"}),
    ],
)
@pytest.mark.parametrize("k", [5, 10])
def test_equals_implicit_ranking_metrics(data, algorithm, params, k):
    dataset, split = data
    model = fit_model(dataset, algorithm, params, interactions=split.train)
    ours = evaluate(model, split.train, split.test, k)
    reference = _implicit_reference(model, split, k)
    for name, theirs in REFERENCE.items():
        assert ours.metrics[name] == pytest.approx(reference[theirs], abs=1e-9, rel=0), name
    assert ours.conventions["precision_implicit"] == "implicit"
    # the model found the planted structure: the comparison is not between two zeros
    assert ours.metrics["precision_implicit"] > 0.1  # random lists score about 0.03
    # holdout:4: every user has 4 test items, so implicit divides hits by 4 and we by k
    assert ours.metrics["precision"] == pytest.approx(
        reference["precision"] * 4 / k, abs=1e-9, rel=0
    )
    assert ours.metrics["precision"] < 0.85 * reference["precision"]


def test_equals_implicit_on_a_split_with_users_without_training_data():
    dataset = planted(n_users=120, per_user=8, seed=3)
    split = make_split(dataset, "random:0.5", random_state=1)
    model = fit_model(dataset, "als", {"factors": 8, "iterations": 4}, interactions=split.train)
    ours = evaluate(model, split.train, split.test, 10)
    reference = _implicit_reference(model, split, 10)
    for name, theirs in REFERENCE.items():
        assert ours.metrics[name] == pytest.approx(reference[theirs], abs=1e-9, rel=0), name


# ------------------------------------------------------------------------- LightFM reference
@pytest.mark.parametrize("features", [False, True])
def test_equals_lightfm_precision_and_auc(data, features):
    from lightfm.evaluation import auc_score, precision_at_k, recall_at_k

    dataset, split = data
    params = {"epochs": 8, "no_components": 16, "use_item_features": features}
    model = fit_model(dataset, "lightfm", params, interactions=split.train)
    item_features = model.features_.matrix if features else None
    ours = evaluate(model, split.train, split.test, 10, full_auc=True)
    library = model.model_
    precision = precision_at_k(library, split.test, split.train, k=10, item_features=item_features)
    recall = recall_at_k(library, split.test, split.train, k=10, item_features=item_features)
    auc = auc_score(library, split.test, split.train, item_features=item_features)
    # per-user arrays: same users (those with test items) in the same order
    assert len(precision) == len(ours.per_user)
    # lightfm's precision is float32 (hits / k rounded to float32): equal after the same rounding
    assert precision.dtype == np.float32
    np.testing.assert_array_equal(ours.per_user["precision"].to_numpy(np.float32), precision)
    np.testing.assert_allclose(ours.per_user["recall"], recall, rtol=0, atol=1e-12)
    # lightfm returns float32 AUCs, so equality holds to float32 precision
    np.testing.assert_allclose(ours.per_user["auc_full"], auc, rtol=0, atol=2e-6)
    exact_mean = precision.astype(np.float64).mean()
    assert ours.metrics["precision"] == pytest.approx(exact_mean, abs=1e-8, rel=0)
    assert ours.metrics["auc_full"] == pytest.approx(float(auc.mean()), abs=1e-6, rel=0)
    assert ours.conventions["precision"] == "lightfm" == ours.conventions["auc_full"]
    assert ours.metrics["precision"] > 0.08


@pytest.mark.parametrize("k", [4, 8, 5, 10])
def test_precision_is_lightfm_precision_at_k_mean(data, k):
    """The headline precision is the mean of lightfm.evaluation.precision_at_k on the same
    LightFM model, train (excluded from the ranking) and test matrices, over the users with
    test items; implicit's convention is precision_implicit, and they differ."""
    from lightfm.evaluation import precision_at_k

    dataset, split = data
    model = fit_model(
        dataset,
        "lightfm",
        {"epochs": 8, "no_components": 16, "random_state": 3},
        interactions=split.train,
    )
    ours = evaluate(model, split.train, split.test, k)
    library = precision_at_k(model.model_, split.test, split.train, k=k)
    assert len(library) == ours.protocol["n_users"] == (np.diff(split.test.indptr) > 0).sum()
    theirs = library.mean()  # float32, as LightFM returns it
    if k in (4, 8):
        # hits / k is exact in float32: the per-user values are the same numbers, so the mean
        # of LightFM's values (summed in float64) equals ours to 1e-9 and beyond
        assert ours.metrics["precision"] == pytest.approx(
            float(library.mean(dtype=np.float64)), abs=1e-12, rel=0
        )
    else:
        assert ours.metrics["precision"] == pytest.approx(
            float(library.mean(dtype=np.float64)), abs=float(np.finfo(np.float32).eps), rel=0
        )
    # LightFM's own float32 mean: equal to ours rounded to float32, within one float32 step
    assert abs(np.float32(ours.metrics["precision"]) - theirs) <= np.spacing(theirs)
    # not two zeros, and not implicit's convention (4 test items per user: hits / 4 > hits / 8)
    assert ours.metrics["precision"] > 0.05
    if k > 4:
        assert ours.metrics["precision_implicit"] > ours.metrics["precision"] * 1.2
        assert abs(ours.metrics["precision_implicit"] - float(theirs)) > 0.02


def test_precision_implicit_is_implicits_precision_on_als(data):
    """precision_implicit equals implicit's ranking_metrics_at_k["precision"] on an ALS model;
    precision does not (it divides by k)."""
    dataset, split = data
    model = fit_model(
        dataset,
        "als",
        {"factors": 16, "iterations": 6, "random_state": 0},
        interactions=split.train,
    )
    ours = evaluate(model, split.train, split.test, 10)
    reference = _implicit_reference(model, split, 10)
    assert ours.metrics["precision_implicit"] == pytest.approx(
        reference["precision"], abs=1e-9, rel=0
    )
    assert ours.metrics["precision_implicit"] > 0.1
    assert ours.metrics["precision"] < 0.5 * reference["precision"]


def test_holdout_5_at_k_10_precision_is_not_recall():
    """With holdout:5 and k = 10 implicit's precision is hits / 5 = recall; precision is hits /
    10, so the Evaluate page no longer shows two identical columns."""
    dataset = planted(n_users=120, per_user=24, seed=7)
    result = evaluate_model(dataset, "als", {"factors": 8, "iterations": 4}, "holdout:5", 10, 0)
    metrics = result.metrics
    assert (result.per_user["n_test"] == 5).all()
    assert metrics["recall"] > 0.1
    assert metrics["precision_implicit"] == pytest.approx(metrics["recall"], abs=1e-12)
    assert metrics["precision"] == pytest.approx(metrics["recall"] / 2, abs=1e-12)
    assert abs(metrics["precision"] - metrics["recall"]) > 0.05
    hits = result.per_user["hits"].to_numpy()
    assert metrics["precision"] == pytest.approx(hits.sum() / (10 * len(hits)), abs=1e-12)


def test_a_user_with_fewer_than_k_test_items_counts_hits_over_k():
    # user 0: 2 test items, both in its top 5; user 1: 6 test items, 2 in its top 5
    scores = np.array(
        [[9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]], dtype=np.float32
    )
    test = sp.csr_matrix(
        np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 1, 1, 1, 1, 0]], dtype=np.float32)
    )
    result = evaluate(FixedScores(scores), None, test, 5)
    assert result.per_user["hits"].tolist() == [2, 2]
    per_user = result.per_user.set_index("user")
    assert per_user.loc[0, "precision"] == pytest.approx(2 / 5)  # not 2 / min(5, 2) = 1
    assert per_user.loc[0, "precision_implicit"] == pytest.approx(1.0)
    assert per_user.loc[1, "precision"] == pytest.approx(2 / 5)
    assert result.metrics["precision"] == pytest.approx((2 / 5 + 2 / 5) / 2, abs=1e-15)
    assert result.metrics["precision_implicit"] == pytest.approx((2 + 2) / (2 + 5), abs=1e-15)
    assert result.metrics["recall"] == pytest.approx((1 + 2 / 6) / 2, abs=1e-15)


# --------------------------------------------------------------------- slow obvious reference
class FixedScores(Recommender):
    """A 'model' whose scores are a given dense matrix."""

    name = "fixed"
    capabilities = frozenset({"recommend"})

    def __init__(self, scores):
        super().__init__()
        self.scores_ = np.asarray(scores, dtype=np.float32)
        self.n_users_, self.n_items_ = self.scores_.shape
        self.calls = []

    def _score_users(self, users):
        self.calls.append(len(users))
        return self.scores_[users]


def slow_reference(scores, train, test, k, categories, vectors):
    """Every metric, one user at a time, from its definition (scores must be distinct)."""
    n_users, n_items = scores.shape
    popularity = np.bincount(train.indices, minlength=n_items)
    rows, lists = [], []
    for user in range(n_users):
        relevant = set(test[user].indices.tolist())
        if not relevant:
            continue
        seen = set(train[user].indices.tolist())
        candidates = [i for i in range(n_items) if i not in seen]
        ranked = sorted(candidates, key=lambda i: -scores[user, i])
        top = ranked[:k]
        lists.append(top)
        hits = [i in relevant for i in top] + [False] * (k - len(top))
        n_hits = sum(hits)
        n_rel = len(relevant)
        cut = min(k, n_rel)
        ap = sum(sum(hits[: p + 1]) / (p + 1) for p in range(k) if hits[p]) / cut
        dcg = sum(1 / math.log2(p + 2) for p in range(k) if hits[p])
        idcg = sum(1 / math.log2(p + 2) for p in range(cut))
        # implicit's AUC: pairs (relevant, other) over the list; outside it, half credit
        pairs = 0.0
        for p in range(k):
            if not hits[p]:
                pairs += sum(hits[:p])
        negatives = n_items - n_rel
        misses = k - n_hits
        pairs += (n_hits + n_rel) / 2 * (negatives - misses)
        auc = pairs / (n_rel * negatives) if negatives else 0.5  # implicit divides by zero
        # textbook AUC over the full ranking of unseen items (LightFM's, with distinct scores)
        others = [i for i in candidates if i not in relevant]
        ordered = sum(scores[user, r] > scores[user, o] for r in relevant for o in others)
        auc_full = ordered / (n_rel * len(others)) if others else 0.5
        first = next((p for p in range(k) if hits[p]), None)
        known = [categories[i] for i in top if categories[i] != ""]
        cat_pairs = [(a, b) for x, a in enumerate(known) for b in known[x + 1 :]]
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-300)
        vec_pairs = [(a, b) for x, a in enumerate(top) for b in top[x + 1 :]]
        rows.append(
            {
                "user": user,
                "hits": n_hits,
                "precision": n_hits / k,
                "precision_implicit": n_hits / cut,
                "recall": n_hits / n_rel,
                "ap": ap,
                "ndcg": dcg / idcg,
                "auc": auc,
                "auc_full": auc_full,
                "hit": float(n_hits > 0),
                "rr": 0.0 if first is None else 1 / (first + 1),
                "mean_popularity": np.mean([popularity[i] for i in top]) if top else np.nan,
                "novelty": np.mean([-math.log2(max(popularity[i], 1) / n_users) for i in top])
                if top
                else np.nan,
                "diversity_category": np.mean([a != b for a, b in cat_pairs])
                if cat_pairs
                else np.nan,
                "diversity_vectors": np.mean([1 - unit[a] @ unit[b] for a, b in vec_pairs])
                if vec_pairs
                else np.nan,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame, {}
    n = len(lists)
    overlaps = [len(set(lists[a]) & set(lists[b])) / k for a in range(n) for b in range(a + 1, n)]
    aggregates = {
        "precision_implicit": frame["hits"].sum()
        / sum(min(k, len(test[u].indices)) for u in frame.user),
        "coverage": len(set().union(*map(set, lists))) / n_items,
        "personalisation": 1 - np.mean(overlaps) if overlaps else np.nan,
    }
    return frame, aggregates


@st.composite
def problems(draw):
    n_users = draw(st.integers(1, 9))
    n_items = draw(st.integers(2, 14))
    k = draw(st.integers(1, n_items))
    seed = draw(st.integers(0, 2**31))
    p_train = draw(st.sampled_from([0.0, 0.2, 0.5, 0.9]))
    p_test = draw(st.sampled_from([0.1, 0.3, 0.6]))
    block = draw(st.sampled_from([None, 1, 2, 5]))
    return n_users, n_items, k, seed, p_train, p_test, block


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_metric_matches_a_slow_per_user_reference(problem):
    n_users, n_items, k, seed, p_train, p_test, block = problem
    rng = np.random.default_rng(seed)
    # distinct scores, so the ranking is unambiguous for both implementations
    scores = rng.permutation(n_users * n_items).reshape(n_users, n_items).astype(np.float32)
    draw = rng.random((n_users, n_items))
    train = sp.csr_matrix((draw < p_train).astype(np.float32))
    test = sp.csr_matrix(((draw >= p_train) & (draw < p_train + p_test)).astype(np.float32))
    categories = np.array(rng.choice(["a", "b", "c", ""], size=n_items), dtype=object)
    vectors = rng.normal(size=(n_items, 3))
    model = FixedScores(scores)
    result = evaluate(
        model,
        train,
        test,
        k,
        item_categories=categories,
        item_vectors=vectors,
        full_auc=True,
        block_size=block,
    )
    expected, aggregates = slow_reference(scores, train, test, k, categories, vectors)
    got = result.per_user
    assert len(got) == len(expected)
    if len(expected) == 0:
        assert result.protocol["n_users"] == 0
        assert all(math.isnan(v) for v in result.metrics.values())
        return
    assert got["user"].tolist() == expected["user"].tolist()
    for column in expected.columns:
        np.testing.assert_allclose(
            got[column].to_numpy(float),
            expected[column].to_numpy(float),
            rtol=1e-9,
            atol=1e-12,
            err_msg=column,
        )
    assert result.metrics["precision_implicit"] == pytest.approx(
        aggregates["precision_implicit"], rel=1e-12
    )
    assert result.metrics["coverage"] == pytest.approx(aggregates["coverage"], rel=1e-12)
    if math.isnan(aggregates["personalisation"]):
        assert math.isnan(result.metrics["personalisation"])
    else:
        assert result.metrics["personalisation"] == pytest.approx(
            aggregates["personalisation"], rel=1e-9, abs=1e-12
        )
    for name, column in {
        "precision": "precision",
        "recall": "recall",
        "map": "ap",
        "ndcg": "ndcg",
        "auc": "auc",
        "hit_rate": "hit",
        "mrr": "rr",
        "auc_full": "auc_full",
    }.items():
        assert result.metrics[name] == pytest.approx(expected[column].mean(), rel=1e-9, abs=1e-12)
    if block is not None:
        assert max(model.calls) <= block


# ---------------------------------------------------------------------- protocol and edges
def test_users_without_training_data_are_counted_not_crashed_on():
    dataset = planted(n_users=100, per_user=4, seed=5)
    split = make_split(dataset, "random:0.6", random_state=0)
    assert split.n_users_without_train > 0
    result = evaluate_model(dataset, "als", {"factors": 4, "iterations": 2}, "random:0.6", 5, 0)
    assert result.protocol["n_users_without_train"] == split.n_users_without_train
    without = result.per_user[result.per_user["n_train"] == 0]
    assert len(without) == split.n_users_without_train
    for name in ("precision", "recall", "map", "ndcg", "auc", "coverage"):
        assert np.isfinite(result.metrics[name]), name
    assert result.protocol["n_users"] == split.n_test_users


def test_evaluate_model_records_the_protocol(data):
    dataset, _ = data
    result = evaluate_model(dataset, "popularity", None, "holdout:4", 7, 3)
    protocol = result.protocol
    assert (protocol["split"], protocol["seed"], protocol["k"]) == ("holdout:4", 3, 7)
    assert protocol["algorithm"] == "popularity" and protocol["fingerprint"] == dataset.fingerprint
    assert protocol["versions"]["implicit"] and protocol["versions"]["numpy"]
    assert protocol["fit_seconds"] >= 0
    flat = result.to_dict()
    for key in (
        "precision",
        "recall",
        "map",
        "ndcg",
        "auc",
        "hit_rate",
        "coverage",
        "k",
        "n_users",
        "fit_seconds",
        "split",
        "seed",
    ):
        assert key in flat, key
    assert result.protocol_key() == "holdout:4:seed=3@k=7"


def test_results_do_not_depend_on_the_block_size(data):
    dataset, split = data
    model = fit_model(dataset, "als", {"factors": 8, "iterations": 3}, interactions=split.train)
    whole = evaluate(model, split.train, split.test, 10, full_auc=True)
    for block in (1, 17):
        parts = evaluate(model, split.train, split.test, 10, full_auc=True, block_size=block)
        for name, value in whole.metrics.items():
            assert parts.metrics[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name


def test_blocks_bound_the_scores_held_at_once():
    rng = np.random.default_rng(0)
    scores = rng.random((50, 30))
    test = sp.csr_matrix((rng.random((50, 30)) < 0.2).astype(np.float32))
    model = FixedScores(scores)
    evaluate(model, None, test, 5, block_size=8)
    assert max(model.calls) <= 8 and sum(model.calls) == int((np.diff(test.indptr) > 0).sum())


@pytest.mark.parametrize("n_items", [1, 30, 26_744, 2_000_000, 50_000_000])
def test_a_block_never_holds_more_than_the_memory_cap_of_scores(n_items):
    for asked in (None, 1, 16, 4096, 10**9):
        rows = block_rows(n_items, asked)
        assert 1 <= rows and (rows == 1 or rows * n_items * 4 <= BLOCK_MEMORY_CAP), (asked, rows)
        if asked is not None:
            assert rows <= asked
    # the 20M shape (138k x 26,744): 78 users at a time, 8 MB of scores, not 14 GB
    assert block_rows(26_744, None) == 78


def test_results_and_progress_are_identical_across_block_sizes(data, monkeypatch):
    dataset, split = data
    model = fit_model(dataset, "als", {"factors": 8, "iterations": 3}, interactions=split.train)
    n_items = split.train.shape[1]
    n_users = int((np.diff(split.test.indptr) > 0).sum())
    reference = evaluate(model, split.train, split.test, 10, full_auc=True, block_size=1)
    monkeypatch.setattr(blocks, "BLOCK_MEMORY_CAP", 23 * n_items * 4)
    sizes: list[int] = []
    original = model._score_users
    monkeypatch.setattr(
        model, "_score_users", lambda users: sizes.append(len(users)) or original(users)
    )
    calls: list[float] = []
    for asked in (7, 23, None, 10**6):
        calls.clear()
        sizes.clear()
        result = evaluate(
            model,
            split.train,
            split.test,
            10,
            full_auc=True,
            block_size=asked,
            progress=lambda fraction, message: calls.append(fraction),
        )
        assert max(sizes) == min(asked or 23, 23) and sum(sizes) == n_users
        assert calls == sorted(calls) and calls[-1] == 1.0 and len(calls) == len(sizes)
        pd.testing.assert_frame_equal(result.per_user, reference.per_user, check_exact=True)
        assert result.metrics.keys() == reference.metrics.keys()
        for name, value in reference.metrics.items():
            assert result.metrics[name] == value or (
                math.isnan(value) and math.isnan(result.metrics[name])
            ), name


def test_training_items_are_never_recommended_and_nan_scores_never_win():
    scores = np.array([[5.0, 4.0, np.nan, 3.0, 2.0, 1.0]], dtype=np.float32)
    train = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 1, 0, 0, 0]], dtype=np.float32))
    result = evaluate(FixedScores(scores), train, test, 2)
    # top 2 among unseen items with a score: 1 (a hit) and 3; item 2 (NaN) is never chosen
    assert result.per_user["hits"].tolist() == [1]
    assert result.metrics["precision"] == pytest.approx(0.5)
    assert result.metrics["mrr"] == pytest.approx(1.0)


def test_models_that_only_score_histories_are_evaluated_from_the_training_rows():
    class HistoryOnly(Recommender):
        name = "history-only"

        def __init__(self, similarity):
            super().__init__()
            self.similarity = similarity
            self.n_items_ = similarity.shape[0]

        def _score_users(self, users):
            raise NotImplementedError("no known users")

        def _score_history(self, history):
            return np.asarray(history @ self.similarity)

    rng = np.random.default_rng(1)
    draw = rng.random((20, 12))
    train = sp.csr_matrix((draw < 0.3).astype(np.float32))
    test = sp.csr_matrix(((draw >= 0.3) & (draw < 0.6)).astype(np.float32))
    similarity = rng.random((12, 12))
    history = evaluate(HistoryOnly(similarity), train, test, 3)
    reference = evaluate(FixedScores(np.asarray(train @ similarity)), train, test, 3)
    assert history.metrics == pytest.approx(reference.metrics, nan_ok=True)
    assert history.protocol["n_users"] == reference.protocol["n_users"] > 0


def test_read_only_broadcast_scores_are_fine(data):
    dataset, split = data
    model = fit_model(dataset, "popularity", None, interactions=split.train)
    result = evaluate(model, split.train, split.test, 10)
    assert result.metrics["personalisation"] < 0.5  # everybody gets nearly the same list
    assert 0 < result.metrics["precision"] < 0.2


def test_bad_arguments_are_one_sentence_errors(data):
    from recsys_core.errors import ParameterError

    dataset, split = data
    model = fit_model(dataset, "popularity", None, interactions=split.train)
    with pytest.raises(ParameterError, match="k needs to be from 1"):
        evaluate(model, split.train, split.test, 0)
    with pytest.raises(ValueError, match="same split"):
        evaluate(model, split.train[:5], split.test, 5)


# ---------------------------------------------------------------------------- learning curves
def test_als_learning_curve_has_metric_mse_and_a_falling_loss(data):
    dataset, _ = data
    frame = learning_curve(
        dataset,
        "als",
        {"factors": 8, "iterations": 4},
        "holdout:4",
        10,
        "precision",
        0,
        max_users=None,
    )
    assert list(frame.columns) == ["epoch", "split", "metric", "value"]
    precision = frame[frame.metric == "precision"]
    assert sorted(precision.epoch.unique()) == [1, 2, 3, 4]
    assert set(precision.split) == {"train", "test"}
    mse = frame[frame.metric == "mse"]
    assert len(mse) == 8 and (mse.value >= 0).all()
    loss = frame[frame.metric == "loss"].sort_values("epoch").value.to_numpy()
    assert len(loss) == 4 and loss[-1] < loss[0]
    # train precision (nothing excluded) is far above test precision, as in the WRMF post
    last = precision[precision.epoch == 4].set_index("split").value
    assert last["train"] > last["test"]


@pytest.mark.parametrize(
    "algorithm, params",
    [
        ("lightfm", {"epochs": 3, "no_components": 8}),
        ("bpr", {"iterations": 3, "factors": 8}),
        ("lmf", {"iterations": 3, "factors": 8}),
    ],
)
def test_learning_curve_last_test_point_equals_evaluate_model(data, algorithm, params):
    dataset, _ = data
    calls = []
    frame = learning_curve(
        dataset,
        algorithm,
        params,
        "holdout:4",
        10,
        "ndcg",
        0,
        progress=lambda f, m: calls.append(f),
        max_users=None,
    )
    test = frame[(frame.split == "test") & (frame.metric == "ndcg")].sort_values("epoch")
    assert test.epoch.tolist() == [1, 2, 3]
    final = evaluate_model(dataset, algorithm, params, "holdout:4", 10, 0)
    assert test.value.iloc[-1] == pytest.approx(final.metrics["ndcg"], abs=1e-12)
    assert calls and calls[-1] == 1.0


def test_dense_mse_is_the_wrmf_posts_mse(data):
    from sklearn.metrics import mean_squared_error

    from recsys_core.evaluation import dense_mse

    dataset, split = data
    model = fit_model(dataset, "als", {"factors": 8, "iterations": 3}, interactions=split.train)
    users = np.arange(3, 200, 4)
    for part in (split.train, split.test):
        expected = mean_squared_error(
            part[users].toarray().ravel(), np.asarray(model.score_users(users)).ravel()
        )
        assert dense_mse(model, part, users, block_size=7) == pytest.approx(expected, rel=1e-6)


def test_learning_curve_refuses_families_without_epochs(data):
    from recsys_core.errors import ParameterError

    dataset, _ = data
    with pytest.raises(ParameterError, match="no learning curve"):
        learning_curve(dataset, "ease", None, "holdout:4", 10, "precision", 0)


def test_every_metric_has_a_definition_line_in_the_docs():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "METRICS.md").read_text()
    for name in METRICS:
        assert name in METRIC_INFO
        assert f"`{name}`" in text, name
    assert set(CONVENTIONS.values()) == {"implicit", "lightfm"}
    for name, library in CONVENTIONS.items():
        assert f"| `{name}` | {library} |" in text, name


# ------------------------------------------------------------ metrics stored before version 2
def _old_summary(result):
    """What the store kept before METRICS_VERSION 2 for the same evaluation: implicit's
    precision under "precision", hits / k under "precision_k", no marker."""
    old = {
        key: value
        for key, value in result.summary().items()
        if key not in ("precision", "precision_implicit", "metrics_version")
    }
    old["precision"] = result.metrics["precision_implicit"]
    old["precision_k"] = result.metrics["precision"]
    old["conventions"] = {
        "precision": "implicit",
        "precision_k": "lightfm",
        "recall": "lightfm",
        "map": "implicit",
        "ndcg": "implicit",
        "auc": "implicit",
        "auc_full": "lightfm",
    }
    old["slices"] = [{"slice": "light users", "n_users": 3, "precision": 0.4, "recall": 0.3}]
    return old


def test_old_stored_metrics_are_relabelled_when_read(data, tmp_path):
    from recsys_core.store import ModelStore

    dataset, _ = data
    store = ModelStore(tmp_path / "models")
    result = evaluate_model(dataset, "als", {"factors": 8, "iterations": 3}, "holdout:4", 10, 0)
    assert result.metrics["precision_implicit"] > result.metrics["precision"] * 2  # 4 test items
    model_id = save_result(result, dataset, store=store)
    current = store.meta(model_id)["metrics"][result.protocol_key()]
    assert current["metrics_version"] == METRICS_VERSION == 2
    assert current["precision"] == pytest.approx(result.metrics["precision"], abs=1e-15)
    assert "relabelled_from_version" not in current
    assert upgrade_stored_metrics({"p": current}) == {"p": current}  # current: untouched

    # an entry written by the previous version, as it sits in meta.json
    store.record_metrics(model_id, "old:seed=0@k=10", _old_summary(result))
    raw = json.loads((store.path(model_id) / "meta.json").read_text())["metrics"]
    assert raw["old:seed=0@k=10"]["precision"] == result.metrics["precision_implicit"]

    for read in (
        store.meta(model_id)["metrics"],
        next(e for e in store.list() if e.model_id == model_id).to_dict()["metrics"],
    ):
        old = read["old:seed=0@k=10"]
        assert old["precision"] == pytest.approx(result.metrics["precision"], abs=1e-15)
        assert old["precision_implicit"] == pytest.approx(
            result.metrics["precision_implicit"], abs=1e-15
        )
        assert "precision_k" not in old
        assert old["conventions"]["precision"] == "lightfm"
        assert old["conventions"]["precision_implicit"] == "implicit"
        assert "precision_k" not in old["conventions"]
        assert old["metrics_version"] == 2 and old["relabelled_from_version"] == 1
        assert old["slices"] == [
            {
                "slice": "light users",
                "n_users": 3,
                "precision": None,
                "precision_implicit": 0.4,
                "recall": 0.3,
            }
        ]
        for name in ("recall", "map", "ndcg", "auc", "coverage"):
            assert old[name] == current[name], name  # every other metric as it was
        assert read[result.protocol_key()] == current

    # written back (the next record_metrics rewrites the meta): relabelled once, not twice
    store.record_metrics(model_id, "other:seed=0@k=5", {"k": 5})
    again = json.loads((store.path(model_id) / "meta.json").read_text())["metrics"]
    assert again["old:seed=0@k=10"]["precision"] == pytest.approx(result.metrics["precision"])
    assert store.meta(model_id)["metrics"]["old:seed=0@k=10"] == again["old:seed=0@k=10"]


def test_relabelling_needs_an_old_marker():
    # hand-written or current entries without a sign of the old convention are left alone
    plain = {"precision": 0.3, "k": 10}
    assert upgrade_stored_metrics({"p": plain}) == {"p": plain}
    # an old entry without conventions is recognised by its precision_k
    old = upgrade_stored_metrics({"p": {"precision": 0.5, "precision_k": 0.25, "k": 10}})["p"]
    assert (old["precision"], old["precision_implicit"]) == (0.25, 0.5)
    # an old entry without precision_k keeps implicit's number only, under its own name
    old = upgrade_stored_metrics(
        {"p": {"precision": 0.5, "conventions": {"precision": "implicit"}}}
    )["p"]
    assert "precision" not in old and old["precision_implicit"] == 0.5
    assert upgrade_stored_metrics(None) is None and upgrade_stored_metrics([1]) == [1]


def test_old_per_user_values_are_relabelled():
    frame = pd.DataFrame({"user": [0, 1], "precision": [1.0, 0.5], "precision_k": [0.2, 0.3]})
    relabelled = upgrade_per_user(frame)
    assert relabelled["precision"].tolist() == [0.2, 0.3]
    assert relabelled["precision_implicit"].tolist() == [1.0, 0.5]
    assert "precision_k" not in relabelled
    current = pd.DataFrame({"user": [0], "precision": [0.2], "precision_implicit": [1.0]})
    assert upgrade_per_user(current) is current


# ------------------------------------------------------------------------- explicit ratings
def rated(n_users=80, n_items=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        for item in rng.choice(n_items, size=15, replace=False):
            liked = (item % 4) == (user % 4)
            rows.append(
                (f"u{user}", f"m{item}", int(np.clip(round(2.5 + 2 * liked + rng.normal()), 1, 5)))
            )
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return Dataset.from_frame("rated", frame, min_rating=4)


def test_ratings_of_held_out_pairs_are_never_trained_on():
    from recsys_core.evaluation.stored import train_ratings

    dataset = rated()
    assert dataset.ratings.nnz > dataset.interactions.nnz  # low ratings are not positives
    split = make_split(dataset, "holdout:2", random_state=0)
    kept = train_ratings(dataset, split, "biased-mf")
    n_items = dataset.n_items

    def keys(matrix):
        return set(
            (
                np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)) * n_items
                + matrix.indices
            ).tolist()
        )

    assert not keys(kept) & keys(split.test)
    assert keys(kept) | keys(split.test) == keys(dataset.ratings)
    assert train_ratings(dataset, split, "als") is None
    result = evaluate_model(dataset, "biased-mf", None, "holdout:2", 5, 0)
    assert np.isfinite(result.metrics["precision"]) and result.protocol["n_users"] > 0


# ------------------------------------------------------------------------------ top-k selection
@st.composite
def score_rows(draw):
    n_rows = draw(st.integers(1, 6))
    n_items = draw(st.sampled_from([3, 40, 700, 2500]))
    k = draw(st.integers(1, min(30, n_items)))
    seed = draw(st.integers(0, 2**31))
    levels = draw(st.sampled_from([3, 50, 0]))  # few distinct values (ties) or continuous
    specials = draw(st.sampled_from([0.0, 0.01, 0.5]))
    return n_rows, n_items, k, seed, levels, specials


@settings(max_examples=150, deadline=None)
@given(score_rows())
def test_top_k_is_exact_with_ties_nan_and_infinities(problem):
    from recsys_core.util.topk import top_k

    n_rows, n_items, k, seed, levels, specials = problem
    rng = np.random.default_rng(seed)
    scores = (
        rng.integers(levels, size=(n_rows, n_items))
        if levels
        else rng.normal(size=(n_rows, n_items))
    ).astype(np.float32)
    special = rng.random(scores.shape) < specials
    scores[special] = rng.choice([np.nan, np.inf, -np.inf], size=int(special.sum()))
    ids, _ = top_k(scores.copy(), k)
    assert ids.shape == (n_rows, k)
    for row in range(n_rows):
        valid = [
            i for i in range(n_items) if not np.isnan(scores[row, i]) and scores[row, i] != -np.inf
        ]
        expected = sorted(valid, key=lambda i: (-scores[row, i], i))[:k]
        got = ids[row][ids[row] >= 0]
        assert len(got) == len(expected) and len(set(got.tolist())) == len(got)
        # the same scores in the same order (which of several tied items may differ)
        np.testing.assert_array_equal(scores[row, got], scores[row, expected])
        assert (ids[row][len(got) :] == -1).all()
        if levels == 0 and specials == 0.0:
            assert got.tolist() == expected  # distinct scores: the very same items
