"""``content``: TF-IDF over item names, categories and tags; item-item cosine.

The content-based counterpart to collaborative filtering: it never looks at who liked what to
decide similarity, only at the items' metadata. Three TF-IDF blocks (scikit-learn
``TfidfVectorizer``) are built separately, each row L2-normalised, weighted and stacked, then the
rows are L2-normalised again, so similarity is a plain dot product:

- names: word tokens (``name_weight``);
- tags: each whole tag is one token (``tag_weight``, default 2: tags are curated and say more than
  a free-text name);
- category: the category is one token (``category_weight``).

``similar_items`` is that cosine. ``recommend`` scores an item by the sum of its similarities to
the user's history (each history item counts once; ``recommend_for_history`` uses the weights
given). ``item_vectors`` is None: the TF-IDF rows are sparse with one column per word and tag
(tens of thousands for Sketchfab), too wide to hand out densely, so similarity is computed from
the sparse rows directly and the projection page greys this model out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DatasetError, NotFittedError
from . import stored
from .base import Recommender
from .capabilities import ITEM_ITEM_CAPABILITIES
from .params import Param
from .registry import register


@register
class ContentRecommender(Recommender):
    name = "content"
    label = "Content (TF-IDF)"
    description = "Item-item cosine over TF-IDF of names, categories and tags; ignores the likes."
    params = (
        Param(
            "name_weight",
            float,
            1.0,
            "How much the words of item names count in the similarity (0 ignores them).",
            0.0,
            10.0,
            search=(0.0, 5.0),
            label="Weight of name words",
        ),
        Param(
            "tag_weight",
            float,
            2.0,
            "How much shared tags count in the similarity (0 ignores them).",
            low=0.0,
            high=10.0,
            search=(0.0, 5.0),
            label="Weight of tags",
        ),
        Param(
            "category_weight",
            float,
            1.0,
            "How much a shared category counts in the similarity (0 ignores it).",
            low=0.0,
            high=10.0,
            search=(0.0, 5.0),
            label="Weight of the category",
        ),
        Param(
            "min_df",
            int,
            1,
            "Ignore words and tags on fewer items than this (drops rare noise).",
            1,
            1000,
            log=True,
            search=(1, 20),
            label="Minimum items per word",
        ),
        Param(
            "sublinear_tf",
            bool,
            True,
            "Count a word repeated in a name as 1 + log(times) instead of times.",
            label="Dampen repeated words",
        ),
    )
    needs = frozenset({"items"})
    capabilities = ITEM_ITEM_CAPABILITIES

    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        values = self._validated_params()
        matrix = sp.csr_matrix(interactions, dtype=np.float32)
        if items is None:
            raise DatasetError(
                "content needs the dataset's item metadata (names, categories, tags); "
                "train it through fit_model or pass items=dataset.items."
            )
        if len(items) != matrix.shape[1]:
            raise DatasetError(
                f"The items table has {len(items):,} rows for {matrix.shape[1]:,} items; "
                "pass the items of the dataset being trained on."
            )
        if progress:
            progress(0.0, "Building TF-IDF features")
        self.features_ = item_tfidf(
            items,
            name_weight=values["name_weight"],
            tag_weight=values["tag_weight"],
            category_weight=values["category_weight"],
            min_df=values["min_df"],
            sublinear_tf=values["sublinear_tf"],
        )
        if self.features_.nnz == 0:
            raise DatasetError(
                "The items have no names, categories or tags to compare; content needs "
                "metadata (or raise the weights above 0)."
            )
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        if progress:
            progress(1.0, "Done")
        return self

    # ------------------------------------------------------------------ primitives
    def _similar_scores(self, items):
        rows = self.features_[items]
        return np.asarray((rows @ self.features_.T).toarray(), dtype=np.float32)

    def _score_history(self, history):
        profile = sp.csr_matrix(history, dtype=np.float32) @ self.features_
        return np.asarray((profile @ self.features_.T).toarray(), dtype=np.float32)

    def _score_users(self, users):
        if self.user_items_ is None:
            raise NotFittedError("The model has no interactions attached; call attach() first.")
        history = sp.csr_matrix(self.user_items_[users], dtype=np.float32, copy=True)
        history.data[:] = 1.0
        return self._score_history(history)

    # ------------------------------------------------------------------ store
    def to_arrays(self):
        self._check_fitted()
        features = self.features_
        return {
            "data": features.data.astype(np.float32),
            "indices": features.indices.astype(np.int64),
            "indptr": features.indptr.astype(np.int64),
            "shape": np.array(features.shape, np.int64),
            "n_users": np.array(self.n_users_, np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays, params):
        model = cls(**params)
        model._validated_params()
        shape = stored.dimensions(arrays, "shape", "item feature matrix's shape")
        model.features_ = stored.csr(arrays, shape, "item feature matrix", columns="feature")
        if shape[1] > max(model.features_.nnz, 1):  # every TF-IDF column is used by some item
            raise stored.DamagedArrays("its item feature matrix claims more features than it uses")
        model.n_items_ = shape[0]
        model.n_users_ = stored.count(arrays, "n_users", "user count")
        return model


def item_tfidf(
    items: pd.DataFrame,
    *,
    name_weight: float = 1.0,
    tag_weight: float = 2.0,
    category_weight: float = 1.0,
    min_df: int = 1,
    sublinear_tf: bool = True,
) -> sp.csr_matrix:
    """The weighted, stacked TF-IDF rows of every item.

    Parameters
    ----------
    items : pd.DataFrame, n_items rows
        ``name`` (str), ``category`` (str) and ``tags`` (list of str), each optional.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape [n_items, n_terms]
        Rows L2-normalised (all-zero rows stay zero), so ``X @ X.T`` is the cosine.
    """
    n_items = len(items)
    names = items["name"].fillna("").astype(str).tolist() if "name" in items else [""] * n_items
    if "item_id" in items and "name" in items:
        ids = items["item_id"].astype(str).tolist()
        names = ["" if name == item_id else name for name, item_id in zip(names, ids)]
    tags = [_tokens(v) for v in items["tags"]] if "tags" in items else [[]] * n_items
    if "category" in items:
        categories = [_tokens(v) for v in items["category"].fillna("").astype(str)]
    else:
        categories = [[]] * n_items
    blocks = [
        _block(names, name_weight, min_df, sublinear_tf, analyzer="word"),
        _block(tags, tag_weight, min_df, sublinear_tf, analyzer=_identity),
        _block(categories, category_weight, min_df, sublinear_tf, analyzer=_identity),
    ]
    stacked = sp.hstack([b for b in blocks if b is not None] or [sp.csr_matrix((n_items, 0))])
    return _l2_rows(sp.csr_matrix(stacked, dtype=np.float32))


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _tokens(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        value = [value] if value.strip() else []
    return [str(v).strip().lower() for v in value if str(v).strip()]


def _block(documents, weight, min_df, sublinear_tf, analyzer) -> sp.csr_matrix | None:
    if weight <= 0:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer  # 1.2 s: not on every page

    vectorizer = TfidfVectorizer(
        analyzer=analyzer,
        min_df=min_df,
        sublinear_tf=sublinear_tf,
        dtype=np.float32,
        lowercase=analyzer == "word",
    )
    try:
        block = vectorizer.fit_transform(documents)
    except ValueError:  # empty vocabulary: nothing of this kind to compare
        return None
    return sp.csr_matrix(block, dtype=np.float32) * np.float32(weight)


def _l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    out = sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ matrix, dtype=np.float32)
    out.sort_indices()
    return out
