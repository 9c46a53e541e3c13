"""lightfm adapter: planted blocks, tag features, save/load, epochs and divergence."""

from __future__ import annotations

import io

import lightfm
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_core.algorithms import create, get_algorithm
from recsys_core.algorithms.lightfm_model import LightFMRecommender, decode_names, encode_names
from recsys_core.dataset import Dataset
from recsys_core.errors import DatasetError, ModelFitError, UnknownIdError
from recsys_core.features import item_feature_matrix
from recsys_core.training import fit_model

GROUP_TAGS = ("tiltbrush", "lowpoly", "photogrammetry")
USERS_PER, ITEMS_PER = 40, 20


def planted(seed: int = 0, p: float = 0.5):
    """Three taste groups: users like about half of their group's items and nothing else.

    Items carry their group's tag (the tag defines the cluster) and a tag shared by all.
    Item 45 (group 2) lacks its group tag: suggest_tags should propose it.
    """
    rng = np.random.default_rng(seed)
    groups = len(GROUP_TAGS)
    user_group = np.repeat(np.arange(groups), USERS_PER)
    item_group = np.repeat(np.arange(groups), ITEMS_PER)
    dense = (rng.random((len(user_group), len(item_group))) < p) & (
        user_group[:, None] == item_group[None, :]
    )
    tags = [[GROUP_TAGS[g], "common"] for g in item_group]
    tags[45] = ["common"]
    items = pd.DataFrame(
        {
            "item_id": [f"i{j}" for j in range(len(item_group))],
            "name": [f"model {j}" for j in range(len(item_group))],
            "category": [f"cat{g}" for g in item_group],
            "tags": tags,
        }
    )
    return sp.csr_matrix(dense.astype(np.float32)), items, user_group, item_group


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def with_features(data):
    matrix, items, _, _ = data
    return create("lightfm", use_item_features=True, epochs=20).fit(matrix, items=items)


def test_registered_with_schema():
    cls = get_algorithm("lightfm")
    assert cls is LightFMRecommender
    names = {p.name for p in cls.params}
    assert {
        "loss",
        "no_components",
        "learning_rate",
        "item_alpha",
        "user_alpha",
        "epochs",
        "use_item_features",
        "random_state",
    } <= names
    assert next(p for p in cls.params if p.name == "loss").choices == (
        "warp",
        "bpr",
        "logistic",
        "warp-kos",
    )


@pytest.mark.parametrize("loss", ["warp", "bpr", "warp-kos"])
@pytest.mark.parametrize("use_item_features", [False, True])
def test_recovers_block_structure(data, loss, use_item_features):
    matrix, items, user_group, item_group = data
    model = create("lightfm", loss=loss, epochs=20, use_item_features=use_item_features)
    model.fit(matrix, items=items)
    recs, _ = model.recommend(np.arange(matrix.shape[0]), 5)
    assert (item_group[recs] == user_group[:, None]).mean() >= 0.8
    similar, _ = model.similar_items(np.arange(matrix.shape[1]), 5)
    assert (item_group[similar] == item_group[:, None]).mean() >= 0.9
    history = np.flatnonzero(item_group == 1)[:6]
    folded, _ = model.recommend_for_history(history, 5)
    assert (item_group[folded] == 1).mean() >= 0.8
    assert not set(folded) & set(history)


def test_scores_equal_lightfm_predict(data, with_features):
    matrix, items, _, _ = data
    features = item_feature_matrix(items).matrix
    every_item = np.arange(matrix.shape[1], dtype=np.int32)
    for user in (0, 55, 110):
        expected = with_features.model_.predict(
            np.full(len(every_item), user, np.int32), every_item, item_features=features
        )
        got = with_features._score_users(np.array([user]))[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_item_features_layout(data):
    _, items, _, item_group = data
    features = item_feature_matrix(items)
    n_items = len(items)
    assert features.matrix.shape == (n_items, n_items + 3 + 4)
    assert features.names[0] == "item:i0"
    assert list(features.names[n_items : n_items + 3]) == [
        "category:cat0",
        "category:cat1",
        "category:cat2",
    ]
    assert sorted(features.tag_names) == sorted([*GROUP_TAGS, "common"])
    np.testing.assert_allclose(np.asarray(features.matrix.sum(axis=1)).ravel(), 1.0, rtol=1e-6)
    # item 0: identity, its category and two tags, each 1/4
    row = features.matrix[0]
    assert row.nnz == 4 and np.allclose(row.data, 0.25)
    membership = features.item_tags().toarray()
    tiltbrush = features.tag_names.index("tiltbrush")
    np.testing.assert_array_equal(membership[:, tiltbrush], (item_group == 0).astype(float))


def test_items_for_tag_returns_the_tag_cluster(data, with_features):
    _, _, _, item_group = data
    for g, tag in enumerate(GROUP_TAGS):
        indices, scores = with_features.items_for_tag(tag, k=ITEMS_PER - 2)
        assert (item_group[indices] == g).mean() >= 0.9, tag
        assert np.all(np.diff(scores) <= 1e-6)
    upper, _ = with_features.items_for_tag("TILTBRUSH", k=3)  # case-insensitive
    assert set(upper) <= set(np.flatnonzero(item_group == 0))


def test_suggest_tags_proposes_the_neighbours_tag(with_features):
    tags, scores = with_features.suggest_tags(45, k=1)
    assert tags == ["photogrammetry"]
    assert scores.shape == (1,)
    # tags an item already has are never suggested
    tags, _ = with_features.suggest_tags(0, k=10)
    assert "tiltbrush" not in tags and "common" not in tags
    assert set(tags) == {"lowpoly", "photogrammetry"}


def test_unknown_tag_names_close_tags(with_features):
    with pytest.raises(UnknownIdError, match="tiltbrush"):
        with_features.items_for_tag("tiltbrsh")
    assert sorted(with_features.tag_names()) == sorted([*GROUP_TAGS, "common"])
    assert with_features.tag_vectors().shape == (4, with_features.no_components)


def test_tags_need_item_features(data):
    matrix, items, _, _ = data
    model = create("lightfm", epochs=2).fit(matrix, items=items)
    assert LightFMRecommender.supports("tags")
    assert not model.supports("tags")
    assert create("lightfm", use_item_features=True).supports("tags")
    assert model.supports("similar_items")
    with pytest.raises(NotImplementedError, match="use_item_features"):
        model.items_for_tag("tiltbrush")
    with pytest.raises(NotImplementedError):
        model.suggest_tags(0)


def test_features_without_items_is_a_dataset_error(data):
    matrix, _, _, _ = data
    with pytest.raises(DatasetError, match="items"):
        create("lightfm", use_item_features=True, epochs=1).fit(matrix)


def test_save_load_round_trip(data, with_features):
    matrix, _, _, _ = data
    arrays = with_features.to_arrays()
    assert all(value.dtype.kind in "biuf" for value in arrays.values())  # numbers only
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    loaded = LightFMRecommender.from_arrays(arrays, with_features.get_params()).attach(matrix)
    users = np.arange(matrix.shape[0])
    for a, b in zip(with_features.recommend(users, 10), loaded.recommend(users, 10)):
        np.testing.assert_array_equal(a, b)
    some = users[:30]
    for a, b in zip(with_features.similar_items(some, 5), loaded.similar_items(some, 5)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(
        with_features.recommend_for_history([1, 2, 3]), loaded.recommend_for_history([1, 2, 3])
    ):
        np.testing.assert_array_equal(a, b)
    assert loaded.tag_names() == with_features.tag_names()
    assert loaded.suggest_tags(45, 2)[0] == with_features.suggest_tags(45, 2)[0]
    np.testing.assert_array_equal(
        loaded.items_for_tag("lowpoly")[0], with_features.items_for_tag("lowpoly")[0]
    )
    assert loaded.supports("tags")


def test_fit_is_reset_plus_fit_partial_and_on_epoch_cancels(data):
    matrix, items, _, _ = data
    seen = []

    def on_epoch(epoch, model):
        seen.append((epoch, model.recommend(0, 3)[0].tolist()))
        return epoch < 3

    model = create("lightfm", epochs=10).fit(matrix, items=items, on_epoch=on_epoch)
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert model.epochs_done_ == 3
    model.fit_partial(matrix, epochs=2)
    assert model.epochs_done_ == 5
    model.fit(matrix, items=items)
    assert model.epochs_done_ == 10
    # same seed, same model: fit is deterministic with one thread
    again = create("lightfm", epochs=10).fit(matrix, items=items)
    np.testing.assert_array_equal(model.item_vectors(), again.item_vectors())


def test_nan_embeddings_raise_model_fit_error(data, monkeypatch):
    matrix, items, _, _ = data
    original = lightfm.LightFM.fit_partial

    def poisoned(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        self.item_embeddings[0, 0] = np.nan
        return out

    monkeypatch.setattr(lightfm.LightFM, "fit_partial", poisoned)
    with pytest.raises(ModelFitError, match="diverged. Try decreasing the learning rate"):
        create("lightfm", epochs=2).fit(matrix, items=items)


def test_library_divergence_error_is_translated(data, monkeypatch):
    matrix, items, _, _ = data

    def diverging(self, *args, **kwargs):
        raise ValueError("Not all estimated parameters are finite, your model may have diverged.")

    monkeypatch.setattr(lightfm.LightFM, "fit_partial", diverging)
    with pytest.raises(ModelFitError, match="learning rate"):
        create("lightfm", epochs=2).fit(matrix, items=items)


def test_same_embeddings_as_the_raw_library_call(data):
    matrix, items, _, _ = data
    raw = lightfm.LightFM(no_components=30, loss="warp", random_state=np.random.RandomState(0))
    raw.fit(matrix.tocoo(), epochs=5)
    ours = create("lightfm", epochs=5).fit(matrix, items=items)
    np.testing.assert_array_equal(ours.item_vectors(), raw.item_embeddings)
    np.testing.assert_array_equal(ours.user_vectors(), raw.user_embeddings)


def test_trains_on_a_read_only_dataset_matrix(data):
    matrix, items, _, _ = data
    rows, cols = matrix.nonzero()
    frame = pd.DataFrame({"user": [f"u{r:03d}" for r in rows], "item": items["item_id"][cols]})
    dataset = Dataset.from_frame("planted", frame, items=items)
    assert not dataset.interactions.indices.flags.writeable
    model = fit_model(dataset, "lightfm", {"epochs": 2, "use_item_features": True})
    assert model.n_items_ == dataset.n_items
    assert model.items_for_tag("lowpoly", 3)[0].shape == (3,)


def test_tag_names_are_stored_as_numbers_and_round_trip():
    names = ["tiltbrush", "low-poly", "日本語", "two words", "x" * 40]
    codes = encode_names(names)
    assert codes.dtype == np.uint32 and codes.shape == (5, 40)
    assert decode_names(codes).tolist() == names
    assert decode_names(encode_names([])).tolist() == []
