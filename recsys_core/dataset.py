"""The one data container: :class:`Dataset`.

A ``Dataset`` owns the mapping between original ids and matrix indices; nothing else in the
product keeps its own dictionaries from ids to indices. Ids are kept as strings (``str(id)``), so an
id that is a number in one file and a string in another still matches.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DatasetError, UnknownIdError
from .item_search import NO_MATCH, NameIndex

ITEM_COLUMNS = ("item_id", "name", "url", "image_url", "category", "tags")


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.setflags(write=False)
    return array


def _freeze_csr(matrix: sp.csr_matrix) -> sp.csr_matrix:
    for part in (matrix.data, matrix.indices, matrix.indptr):
        part.setflags(write=False)
    return matrix


def as_csr(matrix: Any, dtype: Any = np.float32) -> sp.csr_matrix:
    """A canonical CSR copy of ``matrix`` (sorted indices, duplicates summed, given dtype)."""
    csr = sp.csr_matrix(matrix, dtype=dtype, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    csr.eliminate_zeros()
    return csr


def normalise_items(items: pd.DataFrame | None, item_ids: np.ndarray) -> pd.DataFrame:
    """An items frame indexed 0..n_items-1 with the standard columns, aligned to ``item_ids``.

    ``items`` may be None or hold any subset of the standard columns; ``item_id`` (if present) is
    used to align rows, otherwise the rows are taken to be in ``item_ids`` order. Missing names
    fall back to the id, missing tags to an empty list.
    """
    n = len(item_ids)
    if items is None or len(items) == 0:
        frame = pd.DataFrame({"item_id": item_ids})
    elif "item_id" in items.columns:
        meta = items.copy()
        meta["item_id"] = meta["item_id"].astype(str)
        meta = meta.drop_duplicates("item_id").set_index("item_id")
        frame = meta.reindex(pd.Index(item_ids, name="item_id")).reset_index()
    else:
        if len(items) != n:
            raise DatasetError(
                f"The items table has {len(items):,} rows but the interactions have {n:,} items; "
                "add an item_id column so they can be matched."
            )
        frame = items.reset_index(drop=True).copy()
        frame.insert(0, "item_id", item_ids)
    frame["item_id"] = frame["item_id"].astype(str)
    for column in ("name", "url", "image_url", "category"):
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].fillna("").astype(str)
    frame["name"] = frame["name"].where(frame["name"] != "", frame["item_id"])
    if "tags" not in frame.columns:
        frame["tags"] = [[] for _ in range(n)]
    else:
        frame["tags"] = [_as_tag_list(value) for value in frame["tags"]]
    ordered = list(ITEM_COLUMNS) + [c for c in frame.columns if c not in ITEM_COLUMNS]
    return frame[ordered].reset_index(drop=True)


def whole_numbers(values: np.ndarray) -> bool:
    """Whether every float is a whole number that int64 holds exactly (then ``7.0`` is id 7)."""
    with np.errstate(invalid="ignore"):
        return bool(
            np.all(np.isfinite(values))
            and np.all(np.abs(values) <= 2.0**53)
            and np.all(values == np.round(values))
        )


def finish_items(frame: pd.DataFrame) -> pd.DataFrame:
    """An items table as read from a file, its ``item_id`` column as trimmed text (whole
    numbers without ``.0``) and its other text columns as Python strings; the last step of
    reading an items file, applied again to one read back from the parsed-file cache."""
    ids = frame["item_id"]
    if pd.api.types.is_float_dtype(ids) and whole_numbers(ids.dropna().to_numpy(np.float64)):
        ids = ids.astype("Int64")
    frame["item_id"] = ids.astype(str).str.strip()
    for column in frame.columns:
        if column not in ("item_id", "tags") and frame[column].dtype != object:
            if pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].astype(object)
    return frame


def _as_tag_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, str):
        parts = value.replace("|", ",").replace(";", ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [str(v) for v in value if str(v)]
    return [str(value)]


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Implicit-feedback interactions with the ids and metadata that give them meaning.

    Parameters
    ----------
    name : str
        Registry name or file name (``"demo"``, ``"movielens-100k"``, ``"likes.csv"``).
    interactions : scipy.sparse.csr_matrix of float32, shape [n_users, n_items]
        Implicit weights (1.0 for a like, counts for plays), canonical: sorted indices, no
        duplicates, no explicit zeros.
    user_ids, item_ids : np.ndarray of str, shapes [n_users] and [n_items]
        Original ids; position = matrix row / column.
    items : pd.DataFrame, n_items rows indexed 0..n_items-1
        ``item_id``, ``name``, ``url``, ``image_url``, ``category``, ``tags`` (list of str), extras.
    users : pd.DataFrame or None
        Optional per-user extras indexed like the rows (for the demo: the planted ``group``).
    timestamps : csr_matrix of float64 or None
        Same sparsity as ``interactions``; seconds since the epoch.
    ratings : csr_matrix of float32 or None
        Explicit ratings (every rated pair, even those below ``min_rating``).
    synthetic : bool
        True for generated data; shown as "synthetic demo data" wherever the name is shown.
    """

    name: str
    interactions: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    items: pd.DataFrame
    users: pd.DataFrame | None = None
    timestamps: sp.csr_matrix | None = None
    ratings: sp.csr_matrix | None = None
    synthetic: bool = False
    description: str = ""
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_users, n_items = self.interactions.shape
        if not sp.isspmatrix_csr(self.interactions):
            raise DatasetError("interactions needs to be a CSR sparse matrix.")
        if len(self.user_ids) != n_users or len(self.item_ids) != n_items:
            raise DatasetError(
                f"The id arrays ({len(self.user_ids):,} users, {len(self.item_ids):,} items) "
                f"do not match the matrix shape {n_users:,} x {n_items:,}."
            )
        if len(self.items) != n_items:
            raise DatasetError(
                f"The items table has {len(self.items):,} rows for {n_items:,} items."
            )
        for extra in (self.timestamps, self.ratings):
            if extra is not None and extra.shape != self.interactions.shape:
                raise DatasetError("timestamps and ratings must have the interactions' shape.")
        object.__setattr__(self, "user_ids", _frozen(np.asarray(self.user_ids).astype(str)))
        object.__setattr__(self, "item_ids", _frozen(np.asarray(self.item_ids).astype(str)))
        _freeze_csr(self.interactions)
        for extra in (self.timestamps, self.ratings):
            if extra is not None:
                _freeze_csr(extra)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        name: str,
        frame: pd.DataFrame,
        items: pd.DataFrame | None = None,
        *,
        users: pd.DataFrame | None = None,
        min_rating: float | None = None,
        **kwargs: Any,
    ) -> Dataset:
        """Build from a long frame with ``user``, ``item`` and optional ``weight``,
        ``timestamp`` and ``rating`` columns.

        Duplicate (user, item) pairs are merged: weights summed, latest timestamp, last rating.
        With ``rating`` present, the implicit matrix holds weight 1 per rated pair, and pairs rated
        below ``min_rating`` are left out of it (they stay in ``ratings``).
        """
        missing = [c for c in ("user", "item") if c not in frame.columns]
        if missing:
            raise DatasetError(f"The interactions frame lacks the column(s) {missing}.")
        if len(frame) == 0:
            raise DatasetError(f"{name} has no interactions.")
        users_col = frame["user"].astype(str).to_numpy()
        items_col = frame["item"].astype(str).to_numpy()
        user_ids, rows = np.unique(users_col, return_inverse=True)
        item_ids, cols = np.unique(items_col, return_inverse=True)
        shape = (len(user_ids), len(item_ids))
        rows = rows.astype(np.int32)
        cols = cols.astype(np.int32)

        ratings = None
        if "rating" in frame.columns:
            rating = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(np.float32)
            ratings = _last_per_pair(rows, cols, rating, shape)
            keep = np.ones(len(rating), bool) if min_rating is None else rating >= min_rating
            weight = np.ones(int(keep.sum()), np.float32)
            interactions = sp.csr_matrix((weight, (rows[keep], cols[keep])), shape=shape)
            interactions.data[:] = 1.0  # one entry per rated pair, whatever the duplicates
            interactions = as_csr(interactions)
            interactions.data[:] = 1.0
        else:
            if "weight" in frame.columns:
                weight = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(np.float32)
            else:
                weight = np.ones(len(frame), np.float32)
            interactions = as_csr(sp.csr_matrix((weight, (rows, cols)), shape=shape))

        timestamps = None
        if "timestamp" in frame.columns:
            ts = _to_seconds(frame["timestamp"])
            timestamps = _max_per_pair(rows, cols, ts, shape)
            timestamps = _restrict(timestamps, interactions)
        items_frame = normalise_items(items, item_ids)
        users_frame = None
        if users is not None:
            users_frame = users.copy()
            users_frame.index = users_frame.index.astype(str)
            users_frame = users_frame.reindex(user_ids).reset_index(names="user_id")
        dataset = cls(
            name=name,
            interactions=interactions,
            user_ids=user_ids,
            item_ids=item_ids,
            items=items_frame,
            users=users_frame,
            timestamps=timestamps,
            ratings=ratings,
            **kwargs,
        )
        return dataset

    def replace(self, **changes: Any) -> Dataset:
        """A new Dataset with some fields replaced (the fingerprint is recomputed)."""
        fields = {
            "name": self.name,
            "interactions": self.interactions,
            "user_ids": self.user_ids,
            "item_ids": self.item_ids,
            "items": self.items,
            "users": self.users,
            "timestamps": self.timestamps,
            "ratings": self.ratings,
            "synthetic": self.synthetic,
            "description": self.description,
            "extras": dict(self.extras),
        }
        fields.update(changes)
        return Dataset(**fields)

    def subset(self, user_index: np.ndarray, item_index: np.ndarray, name: str | None = None):
        """The dataset restricted to the given rows and columns (sorted index arrays)."""
        user_index = np.asarray(user_index)
        item_index = np.asarray(item_index)

        def cut(matrix):
            if matrix is None:
                return None
            return as_csr(matrix[user_index][:, item_index], dtype=matrix.dtype)

        interactions = cut(self.interactions)
        timestamps = cut(self.timestamps)
        if timestamps is not None:
            timestamps = _restrict(timestamps, interactions)
        users = None
        if self.users is not None:
            users = self.users.iloc[user_index].reset_index(drop=True)
        return self.replace(
            name=name or self.name,
            interactions=interactions,
            user_ids=self.user_ids[user_index],
            item_ids=self.item_ids[item_index],
            items=self.items.iloc[item_index].reset_index(drop=True),
            users=users,
            timestamps=timestamps,
            ratings=cut(self.ratings),
        )

    # ------------------------------------------------------------------ figures
    @property
    def n_users(self) -> int:
        return self.interactions.shape[0]

    @property
    def n_items(self) -> int:
        return self.interactions.shape[1]

    @property
    def n_interactions(self) -> int:
        return int(self.interactions.nnz)

    @property
    def density(self) -> float:
        cells = self.n_users * self.n_items
        return self.n_interactions / cells if cells else 0.0

    @property
    def label(self) -> str:
        """The name as shown to people ("demo (synthetic demo data)")."""
        return f"{self.name} (synthetic demo data)" if self.synthetic else self.name

    @cached_property
    def item_counts(self) -> np.ndarray:
        """Interactions per item, int64 [n_items]."""
        return np.bincount(self.interactions.indices, minlength=self.n_items).astype(np.int64)

    @cached_property
    def user_counts(self) -> np.ndarray:
        """Interactions per user, int64 [n_users]."""
        return np.diff(self.interactions.indptr).astype(np.int64)

    @property
    def example_item(self) -> str:
        """The id of an item with many interactions (the most popular)."""
        return str(self.item_ids[int(np.argmax(self.item_counts))])

    @property
    def example_user(self) -> str:
        """The id of a user with many interactions (the most active)."""
        return str(self.user_ids[int(np.argmax(self.user_counts))])

    def summary(self) -> dict:
        """The figures ``info --json`` prints."""
        return {
            "name": self.name,
            "label": self.label,
            "synthetic": self.synthetic,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_interactions": self.n_interactions,
            "density": self.density,
            "example_item": self.example_item,
            "example_user": self.example_user,
            "has_ratings": self.ratings is not None,
            "has_timestamps": self.timestamps is not None,
            "fingerprint": self.fingerprint,
        }

    def __repr__(self) -> str:
        return (
            f"<Dataset {self.name}: {self.n_users:,} users x {self.n_items:,} items x "
            f"{self.n_interactions:,} interactions ({self.density:.2%} dense)>"
        )

    # ------------------------------------------------------------------ fingerprint
    @cached_property
    def fingerprint(self) -> str:
        """A stable 16-hex-digit hash of the content (matrix, ids, ratings, timestamps).

        Item metadata other than ids is left out, so refreshing a thumbnail URL keeps the key.
        """
        digest = hashlib.blake2b(digest_size=8)
        for matrix in (self.interactions, self.ratings, self.timestamps):
            if matrix is None:
                digest.update(b"-")
                continue
            digest.update(np.asarray(matrix.shape, np.int64).tobytes())
            for part in (matrix.indptr, matrix.indices, matrix.data):
                digest.update(np.ascontiguousarray(part).tobytes())
        for ids in (self.user_ids, self.item_ids):
            digest.update("\x1f".join(ids.tolist()).encode("utf-8"))
        return digest.hexdigest()

    # ------------------------------------------------------------------ id lookups
    @cached_property
    def _item_lookup(self) -> dict[str, int]:
        return {item_id: i for i, item_id in enumerate(self.item_ids.tolist())}

    @cached_property
    def _user_lookup(self) -> dict[str, int]:
        return {user_id: u for u, user_id in enumerate(self.user_ids.tolist())}

    @cached_property
    def _lower_names(self) -> np.ndarray:
        return self.items["name"].str.lower().to_numpy(dtype=object)

    def item_index(self, item_id: Any) -> int:
        """The column of an original item id; ``UnknownIdError`` (a KeyError) if absent."""
        key = str(item_id).strip()
        index = self._item_lookup.get(key)
        if index is None:
            raise UnknownIdError(f"Item {key!r} is not in {self.label}; {self._suggest_items(key)}")
        return index

    def item_indices(self, item_ids: Iterable[Any]) -> np.ndarray:
        return np.array([self.item_index(i) for i in item_ids], dtype=np.int64)

    def has_item(self, item_id: Any) -> bool:
        return str(item_id).strip() in self._item_lookup

    def has_user(self, user_id: Any) -> bool:
        return str(user_id).strip() in self._user_lookup

    def user_index(self, user_id: Any) -> int:
        """The row of an original user id; ``UnknownIdError`` (a KeyError) if absent."""
        key = str(user_id).strip()
        index = self._user_lookup.get(key)
        if index is None:
            close = difflib.get_close_matches(key, self.user_ids[:50_000].tolist(), n=3)
            hint = (
                f"did you mean {', '.join(map(repr, close))}?"
                if close
                else (f"try one like {self.example_user!r}.")
            )
            raise UnknownIdError(f"User {key!r} is not in {self.label}; {hint}")
        return index

    def user_indices(self, user_ids: Iterable[Any]) -> np.ndarray:
        return np.array([self.user_index(u) for u in user_ids], dtype=np.int64)

    def item_id(self, index: int) -> str:
        return str(self.item_ids[index])

    def user_id(self, index: int) -> str:
        return str(self.user_ids[index])

    def item_name(self, index: int) -> str:
        return str(self.items.at[int(index), "name"])

    @cached_property
    def _name_index(self) -> NameIndex:
        return NameIndex(self.items["name"].tolist())

    def search_items(self, query: str, limit: int = 20) -> np.ndarray:
        """Item indices whose name has every word of ``query``, in any order, best first.

        Words are compared case- and accent-insensitively, and each query word may be the
        start of a name's word, so ``"typewriter chrome"`` and ``"type chr"`` both find
        "Chrome Typewriter" (type-ahead). Order: an exact id match, then names equal to the
        query, then names where every query word starts one of their words, then names where
        every query word is inside one of their words (``"ox"`` finds "Boombox"); within each,
        most popular first, then by index. An empty query returns the most popular items.

        Returns
        -------
        np.ndarray of int64, shape [<= limit]
        """
        raw = (query or "").strip()
        counts = self.item_counts
        limit = max(int(limit), 0)
        if not raw:
            return np.argsort(-counts, kind="stable")[:limit].astype(np.int64)
        exact = None
        for key in (raw, raw.lower(), raw.upper()):
            exact = self._item_lookup.get(key)
            if exact is not None:
                break
        tier = self._name_index.tiers(raw, need=limit)
        if exact is not None:
            tier[exact] = 0
        found = np.flatnonzero(tier < NO_MATCH)
        order = np.lexsort((found, -counts[found], tier[found]))
        return found[order][:limit].astype(np.int64)

    def closest_items(self, text: str, n: int = 3) -> list[int]:
        """Indices of the items whose names or ids are closest to ``text`` (for suggestions)."""
        text = str(text).strip().lower()
        if not text:
            return []
        found = self.search_items(text, limit=n).tolist()
        if len(found) < n:
            names = self._lower_names.tolist()
            pool = names if len(names) <= 50_000 else names[:50_000]
            for name in difflib.get_close_matches(text, pool, n=n, cutoff=0.5):
                index = names.index(name)
                if index not in found:
                    found.append(index)
        return found[:n]

    def closest_item_ids(self, text: str, n: int = 3) -> list[int]:
        """Indices of the items whose ids are closest to ``text`` (a mistyped id)."""
        pool = self.item_ids[:100_000].tolist()
        return [self._item_lookup[i] for i in difflib.get_close_matches(str(text), pool, n=n)]

    def _suggest_items(self, key: str) -> str:
        close = self.closest_items(key) or self.closest_item_ids(key)
        if close:
            names = ", ".join(f"{self.item_name(i)!r} (id {self.item_id(i)})" for i in close)
            return f"closest: {names}."
        return f"try one like {self.example_item!r}."


def _last_per_pair(rows, cols, values, shape) -> sp.csr_matrix:
    """CSR with the last value seen for each (row, col) pair."""
    order = np.lexsort((np.arange(len(rows)), cols, rows))
    r, c, v = rows[order], cols[order], values[order]
    last = np.ones(len(r), bool)
    if len(r) > 1:
        last[:-1] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    matrix = sp.csr_matrix((v[last], (r[last], c[last])), shape=shape, dtype=np.float32)
    matrix.sort_indices()
    return matrix


def _max_per_pair(rows, cols, values, shape) -> sp.csr_matrix:
    order = np.lexsort((values, cols, rows))
    r, c, v = rows[order], cols[order], values[order]
    last = np.ones(len(r), bool)
    if len(r) > 1:
        last[:-1] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    matrix = sp.csr_matrix((v[last], (r[last], c[last])), shape=shape, dtype=np.float64)
    matrix.sort_indices()
    return matrix


def _linear_keys(matrix: sp.csr_matrix) -> np.ndarray:
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows * matrix.shape[1] + matrix.indices


def _restrict(values: sp.csr_matrix, pattern: sp.csr_matrix) -> sp.csr_matrix:
    """``values`` on the sparsity pattern of ``pattern`` (both canonical CSR, same shape).

    The result's ``data`` lines up with ``pattern.data`` entry for entry; positions of the
    pattern with no value get 0.
    """
    value_keys = _linear_keys(values)
    pattern_keys = _linear_keys(pattern)
    position = np.searchsorted(value_keys, pattern_keys)
    clipped = np.minimum(position, max(len(value_keys) - 1, 0))
    found = (position < len(value_keys)) & (value_keys[clipped] == pattern_keys)
    data = np.zeros(pattern.nnz, dtype=values.dtype)
    data[found] = values.data[clipped[found]]
    return sp.csr_matrix((data, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)


def _to_seconds(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        return pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    seconds = (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    return seconds.to_numpy(np.float64)
