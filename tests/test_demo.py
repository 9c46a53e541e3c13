"""The synthetic demo: planted structure, long tails, determinism, names, thumbnails, cache."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from recsys_core import datasets
from recsys_core.datasets import demo
from recsys_core.errors import DatasetError

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def data():
    return demo.generate(0)


def _svg_of(data_uri: str) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert data_uri.startswith(prefix)
    return base64.b64decode(data_uri[len(prefix) :]).decode("utf-8")


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def _cooccurrence(data) -> np.ndarray:
    x = data.interactions.astype(np.float64).tocsc()
    return (x.T @ x).toarray()


def _top10_same_group(vectors: np.ndarray, groups: np.ndarray) -> np.ndarray:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :10]
    return (groups[top] == groups[:, None]).mean(axis=1)


# ---------------------------------------------------------------------------- shape and contract
def test_shape_repr_and_contract(data):
    assert (data.n_users, data.n_items) == (8_000, 3_000)
    assert 180_000 <= data.n_interactions <= 230_000
    assert re.fullmatch(
        r"<Dataset demo: 8,000 users x 3,000 items x \d{3},\d{3} interactions "
        r"\(0\.\d\d% dense\)>",
        repr(data),
    ), repr(data)
    assert f"{data.n_interactions:,}" in repr(data)
    assert data.synthetic and data.label == "demo (synthetic demo data)"
    assert "synthetic demo data" in data.description
    assert data.interactions.dtype == np.float32 and set(np.unique(data.interactions.data)) == {1}
    assert data.items["group"].between(0, len(demo.GROUPS) - 1).all()
    assert data.items["url"].eq("").all()
    assert set(data.items["category"]) == set(demo.CATEGORY_NAMES)
    assert len(demo.CATEGORY_NAMES) >= 12
    assert data.users is not None and list(data.users["user_id"]) == list(data.user_ids)


def test_registry_source_is_local_synthetic_default():
    source = datasets.get_source("demo")
    assert source.synthetic and source.is_local() and source.fetch is None
    assert "synthetic demo data" in source.description
    assert next(iter(datasets.sources())) == "demo"


def test_users_frame_holds_the_planted_groups(data):
    users = data.users
    parsed = [list(map(int, g.split("|"))) for g in users["groups"]]
    assert all(p[0] == g for p, g in zip(parsed, users["group"]))
    assert all(len(set(p)) == len(p) == n for p, n in zip(parsed, users["n_groups"]))
    counts = users["n_groups"].value_counts()
    assert set(counts.index) == {1, 2, 3} and counts[1] > 0.25 * len(users)
    # ~90% of each user's likes fall in their groups (the rest is noise)
    item_group = data.items["group"].to_numpy()
    rows = np.repeat(np.arange(data.n_users), np.diff(data.interactions.indptr))
    member = np.zeros((data.n_users, len(demo.GROUPS)), bool)
    for u, groups in enumerate(parsed):
        member[u, groups] = True
    inside = member[rows, item_group[data.interactions.indices]].mean()
    assert 0.85 <= inside <= 0.95


# ---------------------------------------------------------------------------- planted structure
def test_cooccurrence_within_groups_is_several_times_across(data):
    co = _cooccurrence(data)
    groups = data.items["group"].to_numpy()
    same = groups[:, None] == groups[None, :]
    off_diagonal = ~np.eye(len(groups), dtype=bool)
    within = co[same & off_diagonal].mean()
    across = co[~same].mean()
    assert within > 5 * across, (within, across)


def test_item_knn_neighbours_share_the_group(data):
    co = _cooccurrence(data)
    norms = np.sqrt(np.diag(co))
    cosine = co / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(cosine, -np.inf)
    top = np.argsort(-cosine, axis=1)[:, :10]
    groups = data.items["group"].to_numpy()
    share = (groups[top] == groups[:, None]).mean(axis=1)
    assert share[data.item_counts >= 10].mean() > 0.8


def test_als_neighbours_share_the_group(data):
    implicit_als = pytest.importorskip("implicit.cpu.als")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = implicit_als.AlternatingLeastSquares(factors=32, iterations=8, random_state=0)
        model.fit(data.interactions.copy(), show_progress=False)  # implicit wants writable arrays
    share = _top10_same_group(np.asarray(model.item_factors), data.items["group"].to_numpy())
    assert share[data.item_counts >= 10].mean() > 0.8


def test_long_tails(data):
    items = np.sort(data.item_counts)[::-1]
    assert items[: len(items) // 10].sum() > 0.3 * items.sum()  # top 10% of items
    assert (items == 0).mean() < 0.02  # but nearly every item is liked at least once
    users = np.sort(data.user_counts)[::-1]
    assert users.min() >= 3
    assert users[: len(users) // 10].sum() > 0.25 * users.sum()  # top 10% of users
    assert users.max() > 10 * np.median(users)


def test_timestamps_span_two_years_on_the_same_pattern(data):
    ts = data.timestamps
    assert ts is not None and ts.shape == data.interactions.shape
    np.testing.assert_array_equal(ts.indptr, data.interactions.indptr)
    np.testing.assert_array_equal(ts.indices, data.interactions.indices)
    start, end = 1_640_995_200, 1_640_995_200 + 2 * 365 * 86_400  # 2022-01-01 .. 2024-01-01
    assert start <= ts.data.min() and ts.data.max() <= end
    assert ts.data.max() - ts.data.min() > 1.5 * 365 * 86_400
    # leave-last-out needs one latest like per user: ties on the maximum are rare
    ties = 0
    for u in range(0, data.n_users, 7):
        row = ts.data[ts.indptr[u] : ts.indptr[u + 1]]
        ties += int((row == row.max()).sum() > 1)
    assert ties < 0.01 * (data.n_users / 7)


# ---------------------------------------------------------------------------- determinism
def test_same_seed_same_data_other_seed_other_data(data):
    again = demo.generate(0)
    assert again.fingerprint == data.fingerprint
    assert again.items["name"].tolist() == data.items["name"].tolist()
    assert again.users["groups"].tolist() == data.users["groups"].tolist()
    other = demo.generate(1)
    assert other.fingerprint != data.fingerprint
    assert other.items["name"].tolist() != data.items["name"].tolist()


def test_small_sizes_and_bad_options():
    small = demo.generate(3, n_users=200, n_items=120, n_likes=3_000)
    assert (small.n_users, small.n_items) == (200, 120)
    assert small.user_counts.min() >= 3
    with pytest.raises(DatasetError, match="n_items"):
        demo.generate(0, n_items=10)
    with pytest.raises(DatasetError, match="seed"):
        demo.generate(-1)
    with pytest.raises(DatasetError, match="colour"):
        demo.load(colour="red")
    with pytest.raises(DatasetError, match="--data-dir"):
        demo.load(data_dir="/somewhere")


# ---------------------------------------------------------------------------- names and tags
def test_names_are_readable_and_unique(data):
    names = data.items["name"]
    assert names.is_unique
    pattern = re.compile(r"[A-Z][A-Za-z-]*( [A-Z][A-Za-z-]*){1,4}")
    assert all(pattern.fullmatch(n) for n in names), names[~names.map(bool)]
    adjectives = {adj for cluster in demo.STYLES.values() for _, adj in cluster}
    assert all(any(n.startswith(a + " ") for a in adjectives) for n in names)
    # the noun belongs to the item's own group
    for name, group in zip(names[:300], data.items["group"][:300]):
        nouns = demo.GROUPS[group][1].nouns
        assert any(name.endswith(" " + noun) for noun in nouns), (name, group)


def test_tags_carry_style_and_category(data):
    style_tags = set(demo.STYLE_TAGS)
    for tags, category in zip(data.items["tags"], data.items["category"]):
        assert isinstance(tags, list) and tags[0] in style_tags
        category_tag = next(c.tag for c in demo.CATEGORIES if c.name == category)
        assert category_tag in tags
    everything = {t for tags in data.items["tags"] for t in tags}
    assert {
        "low-poly",
        "pbr",
        "rigged",
        "animated",
        "tiltbrush",
        "photogrammetry",
        "voxel",
        "stylized",
    } <= everything


# ---------------------------------------------------------------------------- thumbnails
def test_item_images_are_their_generated_pictures(data):
    # each item's picture shows its noun in its material (tests/test_pictures.py tests them)
    from recsys_core.pictures import picture_data_uri

    for i in range(0, data.n_items, 250):
        name, category = data.items.at[i, "name"], data.items.at[i, "category"]
        assert data.items.at[i, "image_url"] == picture_data_uri(name, category)
        root = ET.fromstring(_svg_of(data.items.at[i, "image_url"]))
        assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 200 150"
        assert root.find(f"{SVG}title").text == name
        assert not _texts(_svg_of(data.items.at[i, "image_url"]))  # the card prints the name


# ---------------------------------------------------------------------------- the cache
def test_cache_is_written_and_reused(fresh_home, monkeypatch):
    first = demo.load()
    path = demo.cache_path(0)
    assert path.is_file() and path.is_relative_to(fresh_home)
    assert not list(path.parent.glob(".demo-*"))  # no temporary file left behind

    def boom(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(demo, "generate", boom)
    second = demo.load()
    assert second.fingerprint == first.fingerprint
    assert second.items["name"].tolist() == first.items["name"].tolist()
    assert second.items["image_url"].tolist() == first.items["image_url"].tolist()
    assert second.users["groups"].tolist() == first.users["groups"].tolist()
    assert datasets.load_dataset("demo").fingerprint == first.fingerprint


def _tamper(path):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["indices"] = arrays["indices"][::-1].copy()  # valid zip, wrong content
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "tampered"])
def test_a_damaged_cache_warns_and_regenerates(fresh_home, damage):
    expected = demo.load(n_users=300, n_items=96, n_likes=4_000).fingerprint
    path = demo.cache_path(0, n_users=300, n_items=96, n_likes=4_000)
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        _tamper(path)
    with pytest.warns(demo.DemoCacheWarning, match="damaged"):
        again = demo.load(n_users=300, n_items=96, n_likes=4_000)
    assert again.fingerprint == expected
    with np.load(path, allow_pickle=False) as npz:  # rewritten whole
        assert str(npz["fingerprint"]) == expected
