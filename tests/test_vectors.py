"""vectors adapter: item vectors from .npy / .parquet / .csv files aligned to the dataset's ids."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_core.algorithms import create, get_algorithm
from recsys_core.algorithms.vectors import VectorsRecommender
from recsys_core.dataset import Dataset
from recsys_core.errors import DatasetError, ParameterError
from recsys_core.training import fit_model

N_ITEMS, DIMS = 12, 6
IDS = np.array([f"m{j:02d}" for j in range(N_ITEMS)])


def planted_vectors(seed: int = 0) -> np.ndarray:
    """Random vectors where item 7 is a noisy copy of item 3, and item 9 a long copy of item 2."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(N_ITEMS, DIMS)).astype(np.float32)
    vectors[7] = vectors[3] + 0.05 * rng.normal(size=DIMS)
    vectors[9] = 0.5 * vectors[2] + 0.3 * rng.normal(size=DIMS)
    vectors[9] *= 20  # far in angle-ish terms, but huge: the dot product loves it
    return vectors


def items_frame() -> pd.DataFrame:
    return pd.DataFrame({"item_id": IDS, "name": [f"model {i}" for i in IDS]})


def likes() -> sp.csr_matrix:
    dense = np.zeros((3, N_ITEMS), np.float32)
    dense[0, [3, 4]] = 1
    dense[1, [2]] = 1
    return sp.csr_matrix(dense)


def write(tmp_path, kind: str, vectors: np.ndarray, ids: np.ndarray = IDS) -> str:
    """Write the vectors (rows shuffled, plus an id the dataset lacks) in a given format."""
    order = np.random.default_rng(1).permutation(len(ids))
    extra = np.ones((1, vectors.shape[1]), np.float32)
    rows = np.vstack([vectors[order], extra])
    row_ids = np.append(ids[order], "not-in-dataset")
    path = tmp_path / f"vectors.{kind}"
    if kind == "npy":
        np.save(path, rows)
        np.save(tmp_path / "ids.npy", row_ids.astype(str))
    elif kind == "list.parquet":
        pd.DataFrame({"item_id": row_ids, "embedding": list(rows)}).to_parquet(path)
    else:
        frame = pd.DataFrame(rows, columns=[f"v{d}" for d in range(rows.shape[1])])
        frame.insert(0, "item_id", row_ids)
        frame["label"] = "text column, ignored"
        if kind == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path)
    return str(path)


def fit(path: str, **params):
    return create("vectors", path=path, **params).fit(likes(), items=items_frame())


@pytest.mark.parametrize("kind", ["npy", "csv", "parquet", "list.parquet"])
def test_formats_align_to_dataset_ids(tmp_path, kind):
    vectors = planted_vectors()
    path = write(tmp_path, kind, vectors)
    extra = {"ids_path": str(tmp_path / "ids.npy")} if kind == "npy" else {}
    model = fit(path, **extra)
    np.testing.assert_allclose(model.item_vectors(), vectors, rtol=1e-6)
    indices, scores = model.similar_items(3, 3)
    assert indices[0] == 7 and scores[0] > 0.99
    assert model.similar_items(7, 1)[0][0] == 3


def test_npy_in_dataset_order_needs_no_ids(tmp_path):
    vectors = planted_vectors()
    np.save(tmp_path / "v.npy", vectors)
    model = fit(str(tmp_path / "v.npy"))
    assert model.similar_items(3, 1)[0][0] == 7


def test_ids_from_a_text_file(tmp_path):
    vectors = planted_vectors()
    np.save(tmp_path / "v.npy", vectors[::-1])
    (tmp_path / "ids.txt").write_text("\n".join(IDS[::-1]) + "\n")
    model = fit(str(tmp_path / "v.npy"), ids_path=str(tmp_path / "ids.txt"))
    np.testing.assert_array_equal(model.item_vectors(), vectors)


def test_mismatches_are_clear_dataset_errors(tmp_path):
    vectors = planted_vectors()
    np.save(tmp_path / "short.npy", vectors[:10])
    with pytest.raises(DatasetError, match="10 rows but the dataset has 12 items; pass ids_path"):
        fit(str(tmp_path / "short.npy"))
    partial = write(tmp_path, "csv", vectors[:9], IDS[:9])
    with pytest.raises(DatasetError, match="vectors for 9 of the dataset's 12 items"):
        fit(partial)
    model = fit(partial, allow_missing=True)
    assert np.all(model.item_vectors()[9:] == 0)
    assert set(model.similar_items(0, 12)[0]) == set(range(1, 9))  # never the blank items
    assert model.similar_items(10, 5)[0].size == 0
    assert not {9, 10, 11} & set(model.recommend(0, 12)[0])
    foreign = write(tmp_path, "parquet", vectors, np.array([f"x{j}" for j in range(N_ITEMS)]))
    with pytest.raises(DatasetError, match="None of the 13 ids"):
        fit(foreign)
    frame = pd.DataFrame({"item_id": ["m00", "m00"], "v": [1.0, 2.0]})
    frame.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DatasetError, match="more than one row for item 'm00'"):
        fit(str(tmp_path / "dup.csv"))
    pd.DataFrame({"id": IDS, "v": 1.0}).to_csv(tmp_path / "noid.csv", index=False)
    with pytest.raises(DatasetError, match="needs an item_id column"):
        fit(str(tmp_path / "noid.csv"))
    with pytest.raises(DatasetError, match="does not exist"):
        fit(str(tmp_path / "absent.npy"))
    with pytest.raises(ParameterError, match="path=FILE"):
        create("vectors").fit(likes(), items=items_frame())
    bad = vectors.copy()
    bad[5, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DatasetError, match="'m05'"):
        fit(str(tmp_path / "nan.npy"))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="np.save"):
        fit(str(tmp_path / "obj.npy"))


def test_metric_dot_prefers_long_vectors(tmp_path):
    np.save(tmp_path / "v.npy", planted_vectors())
    cosine = fit(str(tmp_path / "v.npy"))
    dot = fit(str(tmp_path / "v.npy"), metric="dot")
    assert dot.similar_items(2, 1)[0][0] == 9
    vectors = planted_vectors()
    np.testing.assert_allclose(dot.similar_items(2, 1)[1][0], vectors[2] @ vectors[9], rtol=1e-5)
    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    best = max((j for j in range(N_ITEMS) if j != 2), key=lambda j: normed[2] @ normed[j])
    assert cosine.similar_items(2, 1)[0][0] == best


def test_recommend_is_mean_similarity_to_history(tmp_path):
    vectors = planted_vectors()
    np.save(tmp_path / "v.npy", vectors)
    model = fit(str(tmp_path / "v.npy"))
    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = (normed[[3, 4]] @ normed.T).mean(axis=0)
    indices, scores = model.recommend(0, 5)
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-5)
    assert not {3, 4} & set(indices)
    assert model.recommend_for_history([3], 1)[0][0] == 7
    for a, b in zip(model.recommend_for_history([3, 4], 5), (indices, scores)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    users = model.user_vectors()
    np.testing.assert_allclose(users[0], normed[[3, 4]].mean(axis=0), rtol=1e-5)
    assert np.all(users[2] == 0)  # no history
    assert model.explain(0, 7)[0][0] == 3


def test_save_load_round_trip(tmp_path):
    np.save(tmp_path / "v.npy", planted_vectors())
    model = fit(str(tmp_path / "v.npy"))
    buffer = io.BytesIO()
    np.savez(buffer, **model.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    (tmp_path / "v.npy").unlink()  # a loaded model does not need the file
    loaded = VectorsRecommender.from_arrays(arrays, model.get_params()).attach(likes())
    for a, b in zip(
        model.similar_items(np.arange(N_ITEMS), 4), loaded.similar_items(np.arange(N_ITEMS), 4)
    ):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.recommend(np.arange(3), 4), loaded.recommend(np.arange(3), 4)):
        np.testing.assert_array_equal(a, b)


def test_through_fit_model(tmp_path):
    frame = pd.DataFrame({"user": ["u1", "u1", "u2"], "item": ["m03", "m07", "m02"]})
    dataset = Dataset.from_frame("tiny", frame)
    path = write(tmp_path, "csv", planted_vectors())
    assert get_algorithm("vectors").needs == frozenset({"items"})
    model = fit_model(dataset, "vectors", {"path": path})
    assert model.n_items_ == 3
    assert model.similar_items(dataset.item_index("m03"), 1)[0][0] == dataset.item_index("m07")
