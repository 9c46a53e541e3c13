"""content adapter: TF-IDF over names, tags and categories; item-item cosine."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_core.algorithms import create, get_algorithm
from recsys_core.algorithms.content import ContentRecommender, item_tfidf
from recsys_core.dataset import Dataset
from recsys_core.errors import DatasetError
from recsys_core.training import fit_model


def catalogue() -> pd.DataFrame:
    """Nine items in three tag families; items 0 and 8 share the name word "castle" only."""
    rows = [
        ("a", "Stone castle", "architecture", ["medieval", "stone"]),
        ("b", "Old tower", "architecture", ["medieval", "stone"]),
        ("c", "Keep ruins", "architecture", ["medieval", "ruin"]),
        ("d", "Red car", "vehicles", ["car", "lowpoly"]),
        ("e", "Truck", "vehicles", ["car", "truck", "lowpoly"]),
        ("f", "Race car", "vehicles", ["car", "racing"]),
        ("g", "Oak tree", "nature", ["tree", "plant"]),
        ("h", "Pine tree", "nature", ["tree", "plant", "forest"]),
        ("i", "Sand castle", "nature", ["beach", "plant"]),
    ]
    return pd.DataFrame(rows, columns=["item_id", "name", "category", "tags"])


def interactions(n_users: int = 3) -> sp.csr_matrix:
    # user 0 liked the two stone buildings, user 1 two cars, user 2 nothing
    dense = np.zeros((n_users, 9), np.float32)
    dense[0, [0, 1]] = 1
    dense[1, [3, 5]] = 1
    return sp.csr_matrix(dense)


@pytest.fixture
def model():
    return create("content").fit(interactions(), items=catalogue())


def test_registered():
    cls = get_algorithm("content")
    assert cls is ContentRecommender
    assert cls.needs == frozenset({"items"})
    assert not cls.supports("item_vectors")
    assert cls.supports("similar_items") and cls.supports("recommend_for_history")


def test_similar_items_share_tags(model):
    indices, scores = model.similar_items(0, 3)
    assert indices.tolist()[:2] == [1, 2]  # same tags first, then the other medieval building
    assert scores[0] > scores[1] > 0
    cars, _ = model.similar_items(3, 2)
    assert set(cars) == {4, 5}
    assert 0 not in model.similar_items(0, 8)[0]  # never the item itself


def test_rows_are_unit_vectors_and_similarity_is_cosine():
    features = item_tfidf(catalogue())
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    model = create("content").fit(interactions(), items=catalogue())
    _, scores = model.similar_items(0, 1)
    dense = features.toarray()
    assert scores[0] == pytest.approx(float(dense[0] @ dense[1]), rel=1e-5)


def test_weights_change_what_counts():
    # by tags, "Sand castle" (8) is far from "Stone castle" (0); by name alone it is the nearest
    by_name = create("content", tag_weight=0.0, category_weight=0.0).fit(
        interactions(), items=catalogue()
    )
    assert by_name.similar_items(0, 1)[0][0] == 8
    by_tags = create("content", name_weight=0.0).fit(interactions(), items=catalogue())
    assert 8 not in by_tags.similar_items(0, 3)[0]


def test_recommend_sums_similarity_to_history(model):
    indices, scores = model.recommend(0, 2)
    assert indices[0] == 2  # the remaining medieval item
    assert 0 not in indices and 1 not in indices
    full = model.recommend(0, 9, exclude_seen=False)
    assert {0, 1} <= set(full[0][:3])
    cars, _ = model.recommend(1, 1)
    assert cars[0] == 4
    # the score is the sum of cosines to the history
    features = item_tfidf(catalogue()).toarray()
    expected = features[[0, 1]].sum(axis=0) @ features.T
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-5)
    history, history_scores = model.recommend_for_history([0, 1], 2)
    np.testing.assert_array_equal(history, indices)
    np.testing.assert_allclose(history_scores, scores, rtol=1e-6)


def test_explain_points_at_the_similar_history_item(model):
    indices, shares = model.explain(0, 2)
    assert set(indices) == {0, 1}
    assert shares.sum() == pytest.approx(1.0)


def test_needs_items_and_matching_rows():
    with pytest.raises(DatasetError, match="item metadata"):
        create("content").fit(interactions())
    with pytest.raises(DatasetError, match="8 rows for 9 items"):
        create("content").fit(interactions(), items=catalogue().iloc[:8])


def test_names_that_are_only_ids_are_ignored():
    items = catalogue()[["item_id"]].assign(name=lambda f: f["item_id"], tags=[["x"]] * 9)
    features = item_tfidf(items)
    assert features.shape[1] == 1  # only the tag "x", no token per id


def test_save_load_round_trip(model):
    buffer = io.BytesIO()
    np.savez(buffer, **model.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    loaded = ContentRecommender.from_arrays(arrays, model.get_params()).attach(interactions())
    for a, b in zip(model.recommend(np.arange(3), 4), loaded.recommend(np.arange(3), 4)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.similar_items(np.arange(9), 3), loaded.similar_items(np.arange(9), 3)):
        np.testing.assert_array_equal(a, b)


def test_through_fit_model_with_a_dataset():
    frame = pd.DataFrame({"user": ["u1", "u1", "u2"], "item": ["a", "b", "d"]})
    dataset = Dataset.from_frame("tiny", frame, items=catalogue())
    model = fit_model(dataset, "content")
    assert model.n_items_ == 3  # only the items with interactions are in the dataset
    assert model.similar_items(dataset.item_index("a"), 1)[0][0] == dataset.item_index("b")
