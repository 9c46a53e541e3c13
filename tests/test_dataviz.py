"""The Data page's numbers (recsys_core.dataviz) and the k-core dataset spec, against obvious
references: bincount, Counter, sorted lists, preprocess.kcore."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_core import dataviz
from recsys_core.dataset import Dataset, normalise_items
from recsys_core.datasets import kcore_spec, load_dataset, split_spec
from recsys_core.errors import DatasetError, ParameterError
from recsys_core.preprocess import kcore, kcore_preview


def _dataset(rows, cols, shape, categories=None, tags=None, name="tiny") -> Dataset:
    matrix = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (np.asarray(rows), np.asarray(cols))), shape=shape
    )
    n_users, n_items = shape
    item_ids = np.array([f"i{j}" for j in range(n_items)])
    items = pd.DataFrame(
        {
            "category": categories if categories is not None else [""] * n_items,
            "tags": tags if tags is not None else [[] for _ in range(n_items)],
        }
    )
    return Dataset(
        name=name,
        interactions=matrix,
        user_ids=np.array([f"u{u}" for u in range(n_users)]),
        item_ids=item_ids,
        items=normalise_items(items, item_ids),
    )


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


# ----------------------------------------------------------------------------------- counts
def test_figures_are_the_datasets(demo):
    info = dataviz.figures(demo)
    matrix = demo.interactions
    assert info["n_users"] == matrix.shape[0] == 8000
    assert info["n_items"] == matrix.shape[1]
    assert info["n_interactions"] == matrix.nnz
    assert info["density"] == pytest.approx(matrix.nnz / (matrix.shape[0] * matrix.shape[1]))
    assert info["label"] == "demo (synthetic demo data)" and info["synthetic"]


def test_rank_counts_are_the_sorted_bincount(demo):
    per_item = np.bincount(demo.interactions.indices, minlength=demo.n_items)
    ranked = dataviz.rank_counts(demo.item_counts, max_points=None)
    assert ranked["count"].tolist() == sorted(per_item[per_item > 0].tolist(), reverse=True)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    per_user = demo.interactions.getnnz(axis=1)
    users = dataviz.rank_counts(demo.user_counts, max_points=None)
    assert users["count"].tolist() == sorted(per_user.tolist(), reverse=True)


def test_thinned_rank_counts_keep_the_ends_and_the_curve():
    counts = np.arange(1, 100_001)[::-1]  # rank r has count 100001 - r
    ranked = dataviz.rank_counts(counts, max_points=300)
    assert len(ranked) <= 300
    assert ranked["rank"].iloc[0] == 1 and ranked["rank"].iloc[-1] == 100_000
    assert ranked["rank"].iloc[:10].tolist() == list(range(1, 11))  # the head is exact
    assert (ranked["count"] == 100_001 - ranked["rank"]).all()  # every kept point is true


def test_rank_counts_leave_zeros_out_and_refuse_bad_input():
    assert dataviz.rank_counts(np.array([0, 3, 0, 1]))["count"].tolist() == [3, 1]
    with pytest.raises(ParameterError):
        dataviz.rank_counts(np.array([[1, 2]]))
    with pytest.raises(ParameterError):
        dataviz.rank_counts(np.array([1, -1]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5000), max_size=300), st.integers(1, 12))
def test_log_bins_partition_the_counts(values, per_decade):
    counts = np.array(values, dtype=np.int64)
    bins = dataviz.log_binned(counts, bins_per_decade=per_decade)
    positive = counts[counts > 0]
    assert bins["n"].sum() == len(positive)
    for low, high, n in zip(bins["low"], bins["high"], bins["n"]):
        assert n == np.count_nonzero((positive >= low) & (positive <= high))
    assert (bins["low"].to_numpy()[1:] > bins["high"].to_numpy()[:-1]).all()  # no overlap


def test_head_share_against_a_sorted_sum(demo):
    counts = demo.item_counts
    shares = dataviz.head_share(counts, (0.01, 0.5, 1.0))
    ordered = sorted(counts.tolist(), reverse=True)
    assert shares[0.01] == pytest.approx(sum(ordered[:30]) / sum(ordered))  # ceil(3000 * .01)
    assert shares[0.5] == pytest.approx(sum(ordered[:1500]) / sum(ordered))
    assert shares[1.0] == pytest.approx(1.0)


def test_top_items_are_the_most_popular(demo):
    top = dataviz.top_items(demo, 10)
    counts = np.bincount(demo.interactions.indices, minlength=demo.n_items)
    assert counts[top].tolist() == sorted(counts.tolist(), reverse=True)[:10]
    assert top[0] == demo.item_index(demo.example_item)


# ---------------------------------------------------------------------- categories and tags
def test_category_counts_equal_a_counter(demo):
    frame = dataviz.category_counts(demo)
    expected_items = Counter(demo.items["category"])
    assert dict(zip(frame["category"], frame["items"])) == dict(expected_items)
    interactions = Counter()
    for category, count in zip(demo.items["category"], demo.item_counts):
        interactions[category] += int(count)
    assert dict(zip(frame["category"], frame["interactions"])) == dict(interactions)
    assert frame["items"].is_monotonic_decreasing
    assert frame["interactions"].sum() == demo.n_interactions


def test_tag_counts_equal_a_counter(demo):
    frame = dataviz.tag_counts(demo, top=None)
    expected = Counter(tag for tags in demo.items["tags"] for tag in set(tags))
    assert dict(zip(frame["tag"], frame["items"])) == dict(expected)
    interactions = Counter()
    for tags, count in zip(demo.items["tags"], demo.item_counts):
        for tag in set(tags):
            interactions[tag] += int(count)
    assert dict(zip(frame["tag"], frame["interactions"])) == dict(interactions)
    top = dataviz.tag_counts(demo, top=20)
    assert len(top) == 20
    assert top["items"].tolist() == sorted(expected.values(), reverse=True)[:20]


def test_tags_repeated_or_missing_and_no_categories():
    data = _dataset(
        [0, 1, 1, 2],
        [0, 0, 1, 2],
        (3, 3),
        categories=["", "x", None],
        tags=[["a", "a", "b"], [], None],
    )
    tags = dataviz.tag_counts(data)
    assert dict(zip(tags["tag"], tags["items"])) == {"a": 1, "b": 1}  # "a" counted once
    assert dict(zip(tags["tag"], tags["interactions"])) == {"a": 2, "b": 2}
    categories = dataviz.category_counts(data)
    assert dict(zip(categories["category"], categories["items"])) == {"(none)": 2, "x": 1}
    empty = _dataset([0], [0], (1, 2))
    assert dataviz.tag_counts(empty).empty
    assert list(dataviz.tag_counts(empty).columns) == ["tag", "items", "interactions"]


# ------------------------------------------------------------------------------------ k-core
def test_kcore_table_is_the_preview(demo):
    report = kcore_preview(demo, 20, 15)
    table = dataviz.kcore_table(report)
    assert table.loc["before"].tolist()[:3] == [demo.n_users, demo.n_items, demo.n_interactions]
    assert table.loc["after", "users"] == report.users_after
    assert table.loc["after", "items"] == report.items_after
    assert table.loc["after", "interactions"] == report.interactions_after
    assert table.loc["after", "density (%)"] == pytest.approx(100 * report.density_after)
    assert table.loc["after", "rounds"] == report.rounds > 0


def test_split_and_build_kcore_specs():
    assert split_spec("demo") == ("demo", None)
    assert split_spec("demo@kcore=5,10") == ("demo", (5, 10))
    assert split_spec("upload:0123456789ab@kcore=2,3") == ("upload:0123456789ab", (2, 3))
    assert kcore_spec("demo", 5, 10) == "demo@kcore=5,10"
    assert kcore_spec("demo@kcore=1,1", 5, 5) == "demo@kcore=5,5"
    with pytest.raises(DatasetError, match="demo@kcore=5,5"):
        split_spec("demo@kcore=five")


def test_kcore_spec_loads_what_kcore_builds(demo):
    thresholded = load_dataset("demo@kcore=20,15")
    expected, report = kcore(demo, 20, 15)
    assert (thresholded.interactions != expected.interactions).nnz == 0
    assert thresholded.user_ids.tolist() == expected.user_ids.tolist()
    assert thresholded.item_ids.tolist() == expected.item_ids.tolist()
    assert thresholded.items["name"].tolist() == expected.items["name"].tolist()
    assert thresholded.fingerprint == expected.fingerprint != demo.fingerprint
    assert thresholded.n_users == report.users_after < demo.n_users
    assert thresholded.label == "demo, k-core 20/15 (synthetic demo data)"
    assert thresholded.extras["source"] == "demo@kcore=20,15"
    assert load_dataset("demo@kcore=20,15") is thresholded  # memoised


def test_kcore_spec_round_trips_through_the_store(demo):
    from recsys_core.store import ModelStore
    from recsys_core.training import train

    data = load_dataset("demo@kcore=30,30")
    result = train(data, "popularity", {})
    model, reopened = ModelStore().open(result.model_id)  # how the CLI reloads it
    assert reopened.fingerprint == data.fingerprint
    assert model.recommend(0, 3)[0].shape == (3,)


def test_an_over_strict_kcore_spec_is_a_dataset_error():
    with pytest.raises(DatasetError, match="lower the thresholds"):
        load_dataset("demo@kcore=100000,5")


def test_kcore_of_a_file(tmp_path):
    path = tmp_path / "likes.csv"
    rows = ["user,item"] + [f"u{u},i{i}" for u in range(6) for i in range(u + 1)]
    path.write_text("\n".join(rows) + "\n")
    full = load_dataset(str(path))
    cut = load_dataset(f"{path}@kcore=3,2")
    expected, _ = kcore(full, 3, 2)
    assert (cut.n_users, cut.n_items) == (expected.n_users, expected.n_items) == (4, 5)
    assert cut.fingerprint == expected.fingerprint


# ------------------------------------------------------------------------------------ figures
def test_figures_draw_the_data(demo):
    figure = dataviz.long_tail_figure(demo.item_counts, "items")
    ranked = dataviz.rank_counts(demo.item_counts)
    assert list(figure.data[0].y) == ranked["count"].tolist()
    assert figure.layout.xaxis.type == figure.layout.yaxis.type == "log"
    histogram = dataviz.long_tail_figure(demo.user_counts, "users", kind="histogram")
    assert sum(histogram.data[0].y) == demo.n_users
    categories = dataviz.category_counts(demo)
    assert list(dataviz.category_figure(categories).data[0].x) == categories["items"].tolist()
    tags = dataviz.tag_counts(demo)
    assert list(dataviz.tag_figure(tags).data[0].y) == tags["tag"].tolist()
    with pytest.raises(ParameterError):
        dataviz.long_tail_figure(demo.item_counts, "things")
