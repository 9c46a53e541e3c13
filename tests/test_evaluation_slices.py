"""slice_metrics: light vs heavy users and popular vs long-tail items, against a slow reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_core import Dataset
from recsys_core.algorithms.base import Recommender
from recsys_core.errors import ParameterError
from recsys_core.evaluation import SLICE_METRICS, evaluate, slice_metrics
from recsys_core.split import make_split
from recsys_core.training import fit_model


def _dataset(n_users=120, n_items=60, seed=1) -> Dataset:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8  # a long tail
    users, items = [], []
    for user in range(n_users):
        size = int(rng.integers(6, 30))
        liked = rng.choice(n_items, size=size, replace=False, p=popularity / popularity.sum())
        users += [f"u{user}"] * size
        items += [f"i{i}" for i in sorted(liked)]
    return Dataset.from_frame("slices", pd.DataFrame({"user": users, "item": items}))


@pytest.fixture(scope="module")
def fitted():
    data = _dataset()
    split = make_split(data, "holdout:3", random_state=0)
    model = fit_model(data, "als", {"factors": 8, "iterations": 4}, interactions=split.train)
    return model, split


def _reference(model, train, test, k, head_fraction):
    """Per user: rank every item by score, drop training items, take k; count hits by slice."""
    n_users, n_items = train.shape
    scores = np.asarray(model.score_users(np.arange(n_users)), dtype=np.float64)
    popularity = np.asarray((train > 0).sum(axis=0)).ravel()
    n_head = int(round(head_fraction * n_items))
    head = set(np.argsort(-popularity, kind="stable")[:n_head].tolist())
    rows = {}
    train_counts = np.diff(train.indptr)
    evaluated = [u for u in range(n_users) if test[u].nnz]
    median = np.median([train_counts[u] for u in evaluated])
    slices = {
        "light users": lambda u, item: train_counts[u] <= median,
        "heavy users": lambda u, item: train_counts[u] > median,
        "popular items": lambda u, item: item in head,
        "long-tail items": lambda u, item: item not in head,
    }
    for name, keep in slices.items():
        hits_total, denominators, recalls, hit_flags, at_k = 0, 0, [], [], []
        for user in evaluated:
            seen = set(train[user].indices.tolist())
            order = [i for i in np.argsort(-scores[user], kind="stable") if i not in seen][:k]
            relevant = {i for i in test[user].indices.tolist() if keep(user, i)}
            if not relevant:
                continue
            hits = sum(1 for i in order if i in relevant)
            hits_total += hits
            denominators += min(k, len(relevant))
            recalls.append(hits / len(relevant))
            at_k.append(hits / k)
            hit_flags.append(hits > 0)
        rows[name] = {
            "n_users": len(recalls),
            "precision": float(np.mean(at_k)) if at_k else math.nan,
            "precision_implicit": hits_total / denominators if denominators else math.nan,
            "recall": float(np.mean(recalls)) if recalls else math.nan,
            "hit_rate": float(np.mean(hit_flags)) if hit_flags else math.nan,
        }
    return rows


@pytest.mark.parametrize("head_fraction", [0.2, 0.5])
def test_slices_match_a_slow_reference(fitted, head_fraction):
    model, split = fitted
    frame = slice_metrics(model, split.train, split.test, 5, head_fraction=head_fraction)
    assert list(frame["slice"]) == [
        "light users",
        "heavy users",
        "popular items",
        "long-tail items",
    ]
    assert list(frame["group"]) == ["users", "users", "items", "items"]
    expected = _reference(model, split.train, split.test, 5, head_fraction)
    for _, row in frame.iterrows():
        want = expected[row["slice"]]
        assert row["n_users"] == want["n_users"]
        for metric in ("precision", "precision_implicit", "recall", "hit_rate"):
            assert row[metric] == pytest.approx(want[metric], abs=1e-12), (row["slice"], metric)


def test_slices_partition_the_evaluation(fitted):
    model, split = fitted
    result = evaluate(model, split.train, split.test, 5)
    frame = slice_metrics(model, split.train, split.test, 5, result=result).set_index("slice")
    users = frame.loc[["light users", "heavy users"]]
    assert users["n_users"].sum() == result.protocol["n_users"]
    assert users["n_test_interactions"].sum() == split.test.nnz
    items = frame.loc[["popular items", "long-tail items"]]
    assert items["n_test_interactions"].sum() == split.test.nnz
    # users slices are a partition: implicit's micro-averaged precision recombines to the total
    # with weights sum(min(k, test items)), precision (hits / k) with weights n_users
    at_k = (users["precision"] * users["n_users"]).sum() / users["n_users"].sum()
    assert at_k == pytest.approx(result["precision"], abs=1e-12)
    weights = [
        np.minimum(5, result.per_user.loc[mask, "n_test"]).sum()
        for mask in (
            result.per_user["n_train"] <= result.per_user["n_train"].median(),
            result.per_user["n_train"] > result.per_user["n_train"].median(),
        )
    ]
    combined = (users["precision_implicit"].to_numpy() * weights).sum() / sum(weights)
    assert combined == pytest.approx(result["precision_implicit"], abs=1e-12)
    assert set(SLICE_METRICS) <= set(frame.columns)
    # a popularity-biased model finds popular test items far more easily than long-tail ones
    assert items.loc["popular items", "recall"] > items.loc["long-tail items", "recall"]


def test_empty_slice_is_nan_and_bad_fraction_is_an_error():
    train = sp.csr_matrix(np.array([[1, 0, 1, 0], [1, 1, 0, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32))

    class Fixed(Recommender):
        name = "fixed"
        capabilities = frozenset({"recommend"})
        n_items_ = 4

        def _score_users(self, users):
            return np.tile(np.array([4.0, 3.0, 2.0, 1.0], dtype=np.float32), (len(users), 1))

    frame = slice_metrics(Fixed(), train, test, 2, head_fraction=0.5).set_index("slice")
    # popular = items 0 and 1 (2 training users, then 1 each: ties by lower index)
    assert frame.loc["popular items", "n_users"] == 1
    assert frame.loc["long-tail items", "n_users"] == 1
    with pytest.raises(ParameterError):
        slice_metrics(Fixed(), train, test, 2, head_fraction=1.0)
    empty = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    frame = slice_metrics(Fixed(), train, empty, 2, head_fraction=0.5).set_index("slice")
    assert frame.loc["long-tail items", "n_users"] == 0
    assert math.isnan(frame.loc["long-tail items", "precision"])
