"""Projections: PCA against scikit-learn, the disk cache, Procrustes, t-SNE on the demo."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from recsys_core import projection
from recsys_core.datasets import load_dataset
from recsys_core.errors import ParameterError, UserError
from recsys_core.projection import (
    NoVectorsError,
    Projection,
    align,
    align_projection,
    fit_alignment,
    project,
    project_model,
    stratified_sample,
)
from recsys_core.store import ModelStore

TSNE_SILHOUETTE_FLOOR = 0.5
"""Measured 0.72 for the planted groups in the t-SNE map of the fixture's ALS model (24 factors,
6 iterations); PCA's two axes give -0.14 and shuffled groups about -0.02. 0.5 leaves room for
library and platform differences while still failing if the map mixes the groups."""


def _blobs(n=300, d=12, centres=4, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 4, (centres, d))
    labels = rng.integers(0, centres, n)
    return (means[labels] + rng.normal(0, 1, (n, d))).astype(np.float32), labels


def _rotation(d, seed=1):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


@pytest.fixture
def home(fresh_home):
    return fresh_home


# -------------------------------------------------------------------------------------- pca
def test_pca_equals_scikit_learn_on_the_same_input(home):
    vectors, _ = _blobs()
    got = project(vectors, "pca", metric="euclidean", cache=False)
    expected = PCA(n_components=2, random_state=0).fit_transform(vectors)
    assert got.coords.dtype == np.float32 and got.coords.shape == (300, 2)
    np.testing.assert_allclose(got.coords, expected, rtol=1e-4, atol=1e-4)
    assert np.array_equal(got.indices, np.arange(300))


def test_cosine_pca_is_pca_of_the_normalised_rows(home):
    vectors, _ = _blobs()
    vectors *= np.random.default_rng(3).uniform(0.1, 10, (len(vectors), 1)).astype(np.float32)
    got = project(vectors, "pca", metric="cosine", cache=False)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = PCA(n_components=2, random_state=0).fit_transform(unit)
    np.testing.assert_allclose(got.coords, expected, rtol=1e-4, atol=1e-4)


def test_one_factor_vectors_still_project(home):
    vectors = np.arange(10, dtype=np.float32)[:, None]
    got = project(vectors, "pca", metric="euclidean", cache=False)
    assert got.coords.shape == (10, 2)
    assert np.allclose(got.coords[:, 1], 0)


# ------------------------------------------------------------------------------------ cache
def _counting(monkeypatch, name):
    """Count the calls of a runner of recsys_core.projection.methods ("pca", "tsne", "umap")."""
    calls = {"n": 0}
    real = getattr(projection.methods, name)

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(projection.methods, name, counted)
    return calls


def test_second_call_reads_the_cache(home, monkeypatch):
    calls = _counting(monkeypatch, "pca")
    vectors, _ = _blobs()
    first = project(vectors, "pca", cache_name="m1")
    second = project(vectors, "pca", cache_name="m1")
    assert calls["n"] == 1
    assert not first.cached and second.cached
    np.testing.assert_array_equal(first.coords, second.coords)
    np.testing.assert_array_equal(first.indices, second.indices)
    assert second.seconds == pytest.approx(first.seconds)
    files = sorted(p.name for p in projection.cache_dir().iterdir())
    assert len(files) == 2 and all(f.startswith("m1-") for f in files)


def test_other_parameters_or_vectors_are_other_entries(home, monkeypatch):
    calls = _counting(monkeypatch, "pca")
    vectors, _ = _blobs()
    project(vectors, "pca")
    project(vectors, "pca", metric="euclidean")
    project(vectors, "pca", sample=100)
    changed = vectors.copy()
    changed[0, 0] += 1
    project(changed, "pca")
    assert calls["n"] == 4
    project(vectors, "pca", metric="euclidean")
    assert calls["n"] == 4


def test_the_cache_key_is_the_one_entries_were_written_under():
    """Entries written before the package split stay hits: the key of fixed input is pinned
    (computed by the single-module projection.py of commit f0357e5)."""
    vectors = np.arange(30, dtype=np.float32).reshape(10, 3)
    plain = {"metric": "cosine", "random_state": 0}
    assert projection.cache.cache_key(vectors, None, None, "pca", plain) == "d3dbeb71d774416f8822"
    sampled = {**plain, "perplexity": 30.0, "sample": 5, "strata": "labels"}
    strata = np.array(list("ababababab"))
    key = projection.cache.cache_key(vectors, vectors[:2], strata, "tsne", sampled)
    assert key == "4951f17f0ff8c16f0502"


def test_an_entry_is_two_files_named_for_the_model_and_read_as_written(home):
    vectors, _ = _blobs(n=40)
    first = project(vectors, "pca", cache_name="als-1-items")
    stem = projection.cache_dir() / f"als-1-items-{first.key}"
    meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["key"] == first.key and meta["n_total"] == 40 and meta["has_tags"] is False
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["coords", "indices"]
        np.testing.assert_array_equal(arrays["coords"], first.coords)
    assert not [p for p in projection.cache_dir().iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "damage",
    [
        lambda npz, meta: npz.write_bytes(b"not a zip file"),
        lambda npz, meta: npz.write_bytes(npz.read_bytes()[:40]),
        lambda npz, meta: meta.write_text("{broken json"),
        lambda npz, meta: meta.write_text('{"key": "another"}'),
        lambda npz, meta: npz.unlink(),
        lambda npz, meta: _object_array(npz),
        lambda npz, meta: _wrong_shape(npz),
    ],
    ids=["garbage", "truncated", "bad-json", "wrong-key", "missing-npz", "pickled", "shape"],
)
def test_a_damaged_cache_entry_is_recomputed(home, monkeypatch, damage):
    calls = _counting(monkeypatch, "pca")
    vectors, _ = _blobs()
    first = project(vectors, "pca", cache_name="m")
    npz = next(projection.cache_dir().glob("m-*.npz"))
    damage(npz, npz.with_suffix(".json"))
    again = project(vectors, "pca", cache_name="m")
    assert calls["n"] == 2 and not again.cached
    np.testing.assert_allclose(again.coords, first.coords)
    third = project(vectors, "pca", cache_name="m")  # the entry was rewritten
    assert third.cached and calls["n"] == 2


def _object_array(npz):
    np.savez(npz.open("wb"), coords=np.array([object()] * 3), indices=np.arange(3))


def _wrong_shape(npz):
    with npz.open("wb") as handle:
        np.savez(handle, coords=np.zeros((5, 3), np.float32), indices=np.arange(5))


def test_no_cache_writes_nothing(home):
    vectors, _ = _blobs()
    project(vectors, "pca", cache=False)
    assert list(projection.cache_dir().iterdir()) == []


def test_the_cache_lives_under_recsys_home(home):
    assert str(projection.cache_dir()).startswith(str(home))


# ------------------------------------------------------------------------------- procrustes
def test_procrustes_recovers_a_known_rotation():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(200, 6))
    rotation = _rotation(6)
    source = (target @ rotation.T) * 2.5 + 7.0
    fit = fit_alignment(source, target)
    np.testing.assert_allclose(fit.rotation, rotation, atol=1e-8)
    assert fit.scale == pytest.approx(1 / 2.5)
    assert fit.disparity == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(align(source, target), target, atol=1e-4)


def test_procrustes_handles_a_reflection_and_noise():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(500, 2))
    mirror = np.array([[1.0, 0.0], [0.0, -1.0]]) @ _rotation(2, seed=5)
    source = target @ mirror + rng.normal(0, 0.05, target.shape)
    aligned = align(source, target)
    assert np.abs(aligned - target).mean() < 0.06
    assert np.abs(source - target).mean() > 0.5


def test_procrustes_pads_different_dimensions():
    rng = np.random.default_rng(2)
    small = rng.normal(size=(100, 3))
    rotation = _rotation(5, seed=3)
    big = np.hstack([small, np.zeros((100, 2))]) @ rotation
    aligned = align(small, big)
    assert aligned.shape == (100, 5)
    np.testing.assert_allclose(aligned, big, atol=1e-4)
    with pytest.raises(ValueError, match="same rows"):
        align(small, big[:50])


def test_align_projection_uses_the_shared_rows_and_moves_tags():
    rng = np.random.default_rng(4)
    coords = rng.normal(size=(50, 2)).astype(np.float32)
    tags = rng.normal(size=(4, 2)).astype(np.float32)
    target = Projection(coords=coords[:40], indices=np.arange(40), method="tsne", n_total=50)
    rotation = _rotation(2, seed=9)
    moved = (coords @ rotation.T * 3).astype(np.float32)
    source = Projection(
        coords=moved[10:],
        indices=np.arange(10, 50),
        method="tsne",
        n_total=50,
        tag_coords=(tags @ rotation.T * 3).astype(np.float32),
        tag_names=tuple("abcd"),
    )
    aligned = align_projection(source, target)
    np.testing.assert_allclose(aligned.coords, coords[10:], atol=1e-4)
    np.testing.assert_allclose(aligned.tag_coords, tags, atol=1e-4)
    assert "the 30 points both show" in aligned.note
    lonely = Projection(coords=coords[:2], indices=np.array([48, 49]), method="pca", n_total=50)
    with pytest.raises(ValueError, match="share 0 rows"):
        align_projection(lonely, target)


# ------------------------------------------------------------------------------------ t-SNE
def test_tsne_of_the_demo_als_model_separates_the_planted_groups(app_models, tmp_path, monkeypatch):
    monkeypatch.setattr(projection.cache, "cache_dir", lambda: tmp_path)
    demo = load_dataset("demo")
    model = ModelStore().load(app_models["als"], demo)
    groups = demo.items["group"].to_numpy()
    seen = []
    tsne = project_model(model, "tsne", progress=lambda f, m: seen.append(f), cache=False)
    pca = project_model(model, "pca", cache=False)
    assert tsne.coords.shape == (demo.n_items, 2) and np.isfinite(tsne.coords).all()
    tsne_score = silhouette_score(tsne.coords, groups)
    pca_score = silhouette_score(pca.coords, groups)
    shuffled = silhouette_score(tsne.coords, np.random.default_rng(0).permutation(groups))
    assert tsne_score > TSNE_SILHOUETTE_FLOOR, tsne_score
    assert tsne_score > pca_score + 0.3 and shuffled < 0.05
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_tsne_is_reproducible_for_one_random_state(home):
    vectors, _ = _blobs(n=250)
    first = project(vectors, "tsne", perplexity=20, cache=False)
    second = project(vectors, "tsne", perplexity=20, cache=False)
    np.testing.assert_allclose(first.coords, second.coords, atol=1e-5)


def test_tiny_inputs_lower_the_perplexity_and_say_so(home):
    vectors, _ = _blobs(n=30)
    got = project(vectors, "tsne", perplexity=30, cache=False)
    assert got.coords.shape == (30, 2) and "Perplexity lowered" in got.note


# ---------------------------------------------------------------------------------- sampling
def test_stratified_sample_keeps_every_stratum_in_proportion():
    labels = np.array(["a"] * 900 + ["b"] * 90 + ["c"] * 10)
    chosen = stratified_sample(labels, 100, random_state=0)
    assert len(chosen) == 100 and np.all(np.diff(chosen) > 0)
    counts = {k: int((labels[chosen] == k).sum()) for k in "abc"}
    assert counts == {"a": 90, "b": 9, "c": 1}
    assert np.array_equal(chosen, stratified_sample(labels, 100, random_state=0))
    assert not np.array_equal(chosen, stratified_sample(labels, 100, random_state=1))
    rare = stratified_sample(np.array(["x"] * 995 + list("vwyz") + ["u"]), 10)
    assert len(rare) == 10 and {995, 996, 997, 998, 999} <= set(rare.tolist())


def test_a_sample_is_projected_and_noted(home):
    vectors, labels = _blobs(n=400)
    got = project(vectors, "tsne", sample=120, cache=False)
    assert got.coords.shape == (120, 2) and got.sampled and got.n_total == 400
    assert "stratified sample of 120 of 400" in got.note and "k-means" in got.note
    by_label = project(vectors, "pca", sample=100, strata=labels, cache=False)
    assert "by category" in by_label.note
    positions = by_label.positions(np.arange(400))
    on_map = ~np.isnan(positions[:, 0])
    assert on_map.sum() == 100 and np.array_equal(np.flatnonzero(on_map), by_label.indices)


# ------------------------------------------------------------------------------------ models
def test_models_without_vectors_raise_a_friendly_error(app_models):
    demo = load_dataset("demo")
    knn = ModelStore().load(app_models["item-knn"], demo)
    with pytest.raises(NoVectorsError, match="no latent vectors.*als, bpr"):
        project_model(knn)
    assert not knn.supports("item_vectors")


def test_project_model_by_id_items_and_users(app_models):
    demo = load_dataset("demo")
    items = project_model(app_models["als"], "pca")
    users = project_model(app_models["als"], "pca", what="users")
    assert items.coords.shape == (demo.n_items, 2)
    assert users.coords.shape == (demo.n_users, 2)
    assert items.key != users.key


def test_lightfm_tags_are_projected_with_the_items(app_models):
    model = ModelStore().load(app_models["lightfm"])
    got = project_model(model, "pca", model_id=app_models["lightfm"])
    names = model.tag_names()
    assert got.tag_coords.shape == (len(names), 2) and list(got.tag_names) == names
    assert got.coords.shape == (model.n_items_, 2)
    # one fit for items and tags: PCA of the stacked, normalised rows
    stacked = np.vstack([model.item_vectors(), model.tag_vectors()])
    stacked = stacked / np.linalg.norm(stacked, axis=1, keepdims=True)
    expected = PCA(n_components=2, random_state=0).fit_transform(stacked)
    np.testing.assert_allclose(got.tag_coords, expected[model.n_items_ :], atol=1e-3)
    cached = project_model(model, "pca", model_id=app_models["lightfm"])
    assert cached.cached and cached.tag_names == got.tag_names


# ------------------------------------------------------------------------------------ errors
def test_umap_where_not_installed_says_how_to_enable_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap -> ImportError
    assert "umap" not in projection.available_methods()
    with pytest.raises(ParameterError, match="pip install umap-learn"):
        project(np.ones((10, 3)), "umap")


def test_umap_is_used_where_installed(home, monkeypatch):
    fake = types.ModuleType("umap")
    seen = {}

    class UMAP:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def fit_transform(self, x):
            return x[:, :2] * 2

    fake.UMAP = UMAP
    monkeypatch.setitem(sys.modules, "umap", fake)
    assert projection.available_methods() == ["pca", "tsne", "umap"]
    vectors, _ = _blobs(n=50)
    got = project(vectors, "umap", n_neighbors=7, random_state=3, cache=False)
    assert seen == {"n_components": 2, "n_neighbors": 7, "metric": "euclidean", "random_state": 3}
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(got.coords, unit[:, :2] * 2, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "mds"}, "unknown; use pca, tsne or umap"),
        ({"metric": "manhattan"}, "unknown; use cosine or euclidean"),
        ({"sample": 2}, "sample needs an integer of at least 3"),
        ({"method": "tsne", "perplexity": 500}, "perplexity needs a number from 2 to 200"),
    ],
)
def test_bad_parameters_are_one_sentence(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        project(np.ones((10, 3)), **kwargs)


def test_nan_vectors_name_the_row():
    vectors = np.ones((10, 3), np.float32)
    vectors[4, 1] = np.nan
    with pytest.raises(UserError, match="Row 4 .* NaN"):
        project(vectors, cache=False)


# ------------------------------------------------------------------------------------ result
def test_places_and_missing_find_rows_on_a_sampled_map():
    result = Projection(
        coords=np.arange(8, dtype=np.float32).reshape(4, 2),
        indices=np.array([2, 5, 7, 9]),
        method="pca",
        n_total=12,
    )
    assert result.places([9, 3, 2, 11]).tolist() == [3, 0]
    assert result.missing([9, 3, 2, 11]) == 2 and result.missing([]) == 0
    np.testing.assert_array_equal(result.positions([5])[0], [2, 3])
    assert np.isnan(result.positions([0])).all()


def test_latent_entries_keep_the_models_with_vectors():
    entries = [
        {"model_id": "a", "algorithm": "als"},
        {"model_id": "b", "algorithm": "item-knn"},
        {"model_id": "c", "algorithm": "bpr", "damaged": "meta.json is missing"},
        {"model_id": "d", "algorithm": "no-such-algorithm"},
        {"model_id": "e", "algorithm": "lightfm"},
    ]
    assert [e["model_id"] for e in projection.latent_entries(entries)] == ["a", "e"]
    assert [e["model_id"] for e in projection.latent_entries(entries, exclude="a")] == ["e"]
