"""``vectors``: item vectors computed elsewhere (image or text embeddings), browsable like a model.

The vectors are read from a file and aligned to the dataset's items by id (``items["item_id"]``):

- ``.parquet`` / ``.csv`` / ``.tsv``: an ``item_id`` column plus either numeric vector columns
  (every other numeric column, in file order) or one column holding a list per row;
- ``.npy``: a 2-D float array. Rows are matched to the ids in ``ids_path`` (``.txt`` one id per
  line, ``.npy`` array of str, or ``.csv`` / ``.parquet`` with an ``item_id`` column); without
  ``ids_path`` the rows must be exactly the dataset's items, in order.

Ids in the file that the dataset lacks are ignored. Dataset items missing from the file are an
error naming how many matched, unless ``allow_missing`` gives them a zero vector; an item whose
vector is all zeros is similar to nothing and never recommended (its scores are ``-inf``).

``similar_items`` is the cosine (``metric=cosine``) or the dot product (``metric=dot``) of the
vectors. ``recommend`` scores an item by its mean similarity to the user's history, i.e. the dot
product with the mean of the (normalised, for cosine) history vectors; each history item counts
once, and ``recommend_for_history`` weights them by the weights given. ``user_vectors`` are those
means. The store saves the aligned matrix, so a loaded model does not need the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DatasetError, NotFittedError, ParameterError
from ..util.ids import first_duplicate, positions
from . import stored
from .base import Recommender, normalise_rows
from .capabilities import LATENT_CAPABILITIES
from .params import Param
from .registry import register

TABLE_SUFFIXES = (".parquet", ".csv", ".tsv")


@register
class VectorsRecommender(Recommender):
    name = "vectors"
    label = "Item vectors from a file"
    description = (
        "Item vectors computed elsewhere (image or text embeddings), aligned to the dataset's "
        "items; similarity by cosine or dot product."
    )
    params = (
        Param(
            "path",
            str,
            "",
            "A .npy, .parquet or .csv file of vectors (with an item_id column).",
            label="Vectors file",
        ),
        Param(
            "ids_path",
            str,
            "",
            "For .npy: the item ids of its rows (.txt, .npy, .csv, .parquet).",
            label="Item ids file",
        ),
        Param(
            "metric",
            str,
            "cosine",
            "Cosine compares directions only; dot also rewards longer vectors.",
            choices=("cosine", "dot"),
            label="Similarity measure",
        ),
        Param(
            "allow_missing",
            bool,
            False,
            "Give items missing from the file a zero vector instead of refusing the file.",
            label="Allow missing items",
        ),
    )
    needs = frozenset({"items"})
    capabilities = LATENT_CAPABILITIES

    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        values = self._validated_params()
        matrix = sp.csr_matrix(interactions, dtype=np.float32)
        if not values["path"]:
            raise ParameterError(
                "vectors needs path=FILE, a .npy, .parquet or .csv file of item vectors."
            )
        if items is None:
            raise DatasetError(
                "vectors needs the dataset's items to align the vectors by id; train it through "
                "fit_model or pass items=dataset.items."
            )
        if len(items) != matrix.shape[1]:
            raise DatasetError(
                f"The items table has {len(items):,} rows for {matrix.shape[1]:,} items; "
                "pass the items of the dataset being trained on."
            )
        if progress:
            progress(0.0, f"Reading {values['path']}")
        dataset_ids = items["item_id"].astype(str).to_numpy()
        self.vectors_ = read_item_vectors(
            values["path"],
            dataset_ids,
            ids_path=values["ids_path"] or None,
            allow_missing=values["allow_missing"],
        )
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        self._space = None
        if progress:
            progress(1.0, "Done")
        return self

    # ------------------------------------------------------------------ primitives
    def _scoring_space(self) -> np.ndarray:
        if getattr(self, "_space", None) is None:
            vectors = self.vectors_
            self._space = normalise_rows(vectors) if self.metric == "cosine" else vectors
            self._blank = ~np.any(vectors != 0, axis=1)
        return self._space

    def _hide_blank(self, scores: np.ndarray) -> np.ndarray:
        """Items without a vector (all zeros) are similar to nothing and never recommended."""
        if self._blank.any():
            scores[:, self._blank] = -np.inf
        return scores

    def _similar_scores(self, items):
        space = self._scoring_space()
        scores = self._hide_blank(space[items] @ space.T)
        scores[self._blank[items]] = -np.inf
        return scores

    def _profiles(self, history: sp.csr_matrix) -> np.ndarray:
        history = sp.csr_matrix(history, dtype=np.float32)
        totals = np.asarray(history.sum(axis=1), dtype=np.float32)
        totals[totals == 0] = 1.0
        return np.asarray(history @ self._scoring_space(), dtype=np.float32) / totals

    def _score_history(self, history):
        return self._hide_blank(self._profiles(history) @ self._scoring_space().T)

    def _binary_rows(self, users: np.ndarray) -> sp.csr_matrix:
        if self.user_items_ is None:
            raise NotFittedError("The model has no interactions attached; call attach() first.")
        rows = sp.csr_matrix(self.user_items_[users], dtype=np.float32, copy=True)
        rows.data[:] = 1.0
        return rows

    def _score_users(self, users):
        return self._score_history(self._binary_rows(users))

    def item_vectors(self):
        self._check_fitted()
        return self.vectors_

    def user_vectors(self):
        """Each user's mean history vector (normalised vectors for cosine), float32
        [n_users, dims]; users without history get zeros."""
        self._check_fitted()
        return self._profiles(self._binary_rows(np.arange(self.n_users_)))

    # ------------------------------------------------------------------ store
    def to_arrays(self):
        self._check_fitted()
        return {"vectors": self.vectors_, "n_users": np.array(self.n_users_, np.int64)}

    @classmethod
    def from_arrays(cls, arrays, params):
        model = cls(**params)
        model._validated_params()
        model.vectors_ = stored.array(arrays, "vectors", "item vector matrix", shape=(None, None))
        model.n_items_ = len(model.vectors_)
        model.n_users_ = stored.count(arrays, "n_users", "user count")
        model._space = None
        return model


# ---------------------------------------------------------------------------------- reading
def read_item_vectors(
    path: str | Path,
    item_ids: np.ndarray,
    *,
    ids_path: str | Path | None = None,
    allow_missing: bool = False,
) -> np.ndarray:
    """Read a vectors file and align its rows to ``item_ids``.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.parquet``, ``.csv`` or ``.tsv`` (see the module docstring).
    item_ids : np.ndarray of str, shape [n_items]
        The dataset's item ids, in column order.
    ids_path : str or Path, optional
        Ids of a ``.npy`` file's rows.
    allow_missing : bool
        Give dataset items absent from the file a zero vector instead of refusing.

    Returns
    -------
    np.ndarray of float32, shape [n_items, dims]
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(
            f"The vectors file {str(path)!r} does not exist; give the path of a .npy, .parquet "
            "or .csv file."
        )
    item_ids = np.asarray(item_ids).astype(str)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        vectors = _load_npy(path)
        if ids_path:
            file_ids = _read_ids(Path(ids_path).expanduser())
            if len(file_ids) != len(vectors):
                raise DatasetError(
                    f"{path.name} has {len(vectors):,} rows but {Path(ids_path).name} lists "
                    f"{len(file_ids):,} ids; they must line up row for row."
                )
        elif len(vectors) != len(item_ids):
            raise DatasetError(
                f"{path.name} has {len(vectors):,} rows but the dataset has {len(item_ids):,} "
                "items; pass ids_path (the item id of each row) so they can be matched."
            )
        else:
            file_ids = item_ids
    elif suffix in TABLE_SUFFIXES:
        file_ids, vectors = _load_table(path)
    else:
        raise DatasetError(
            f"Cannot read vectors from {path.name!r}; use a .npy, .parquet, .csv or .tsv file."
        )
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise DatasetError(f"{path.name} must hold a 2-D table of numbers (one row per item).")
    if not np.all(np.isfinite(vectors)):
        bad = int(np.argwhere(~np.isfinite(vectors))[0, 0])
        raise DatasetError(
            f"{path.name} has a missing or infinite value in the row of item {file_ids[bad]!r}; "
            "fill or drop it."
        )
    return _align(path.name, file_ids, vectors, item_ids, allow_missing)


def _load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DatasetError(
            f"{path.name} is not a plain numeric .npy array ({error}); save it with np.save."
        ) from None
    if array.dtype.kind not in "fiu":
        raise DatasetError(f"{path.name} holds {array.dtype} values; it needs numbers.")
    return np.asarray(array, dtype=np.float32)


def _read_ids(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"The ids file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            ids = np.load(path, allow_pickle=False)
        except ValueError:
            raise DatasetError(
                f"{path.name} must be a .npy array of strings or numbers (not objects); save it "
                "with np.save(path, np.array(ids, dtype=str))."
            ) from None
        return np.asarray(ids).astype(str).ravel()
    if suffix in TABLE_SUFFIXES:
        frame = _read_frame(path)
        column = "item_id" if "item_id" in frame.columns else frame.columns[0]
        return frame[column].astype(str).to_numpy()
    lines = path.read_text(encoding="utf-8").splitlines()
    return np.array([line.strip() for line in lines if line.strip()], dtype=str)


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            if "item_id" in frame.columns:
                frame["item_id"] = frame["item_id"].astype(str)
            return frame
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return pd.read_csv(path, sep=sep, dtype={"item_id": str})
    except (OSError, ValueError) as error:
        raise DatasetError(f"Cannot read {path.name}: {error}.") from None


def _load_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = _read_frame(path)
    if "item_id" not in frame.columns:
        raise DatasetError(
            f"{path.name} needs an item_id column; its columns are {', '.join(map(str, frame))}."
        )
    ids = frame["item_id"].astype(str).to_numpy()
    rest = frame.drop(columns=["item_id"])
    numeric = rest.select_dtypes(include="number")
    if numeric.shape[1] == 0 and rest.shape[1] == 1 and len(rest):
        cells = rest.iloc[:, 0].tolist()
        try:
            vectors = np.vstack([np.asarray(cell, dtype=np.float32) for cell in cells])
        except (TypeError, ValueError):
            raise DatasetError(
                f"The column {rest.columns[0]!r} of {path.name} must hold a list of numbers "
                "per row, all of the same length."
            ) from None
        return ids, vectors
    if numeric.shape[1] == 0:
        raise DatasetError(
            f"{path.name} has no numeric vector columns besides item_id; add one column per "
            "dimension or one list column."
        )
    return ids, numeric.to_numpy(dtype=np.float32)


def _align(
    name: str,
    file_ids: np.ndarray,
    vectors: np.ndarray,
    item_ids: np.ndarray,
    allow_missing: bool,
) -> np.ndarray:
    duplicate = first_duplicate(file_ids)
    if duplicate is not None:
        raise DatasetError(f"{name} has more than one row for item {duplicate!r}; keep one.")
    position = positions(file_ids, item_ids)
    found = position >= 0
    matched = int(found.sum())
    if matched == 0:
        raise DatasetError(
            f"None of the {len(file_ids):,} ids in {name} match the dataset's {len(item_ids):,} "
            f"item ids (the file has ids like {file_ids[0]!r}, the dataset like {item_ids[0]!r})."
        )
    if matched < len(item_ids) and not allow_missing:
        missing = item_ids[~found][0]
        raise DatasetError(
            f"{name} has vectors for {matched:,} of the dataset's {len(item_ids):,} items "
            f"(first missing: {missing!r}); add the missing items or set allow_missing=true."
        )
    aligned = np.zeros((len(item_ids), vectors.shape[1]), np.float32)
    aligned[found] = vectors[position[found]]
    return aligned
