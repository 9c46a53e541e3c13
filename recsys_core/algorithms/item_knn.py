"""``item-knn``: implicit's cosine / BM25 / TF-IDF item-item neighbours (benfred/implicit 0.7).

The similarity matrix ``S`` keeps the ``K`` nearest items of each row (the item itself
included); a user's score is ``history @ S``, so history item ``j`` contributes
``weight_j * S[j, item]`` (``explain``). ``similar_items(i)`` returns the neighbours stored in
row ``i`` only (fewer than ``k`` when ``K`` is small). The library's model is kept as
``model_`` so its own fast paths stay available; our queries use the same matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from . import stored
from .base import Recommender, as_csr32
from .capabilities import ITEM_ITEM_CAPABILITIES
from .params import Param
from .registry import register

SIMILARITIES = ("cosine", "bm25", "tfidf")


@register
class ItemKNN(Recommender):
    name = "item-knn"
    label = "Item k-NN"
    description = (
        "Item-item nearest neighbours (cosine, BM25 or TF-IDF weighting): recommends items "
        "close to the ones a user liked."
    )
    params = (
        Param(
            "similarity",
            str,
            "cosine",
            "How co-likes are weighted before items are compared: cosine, BM25 or TF-IDF.",
            choices=SIMILARITIES,
            label="Similarity measure",
        ),
        Param(
            "K",
            int,
            20,
            "Most similar items kept for each item (the item itself "
            "included); more give broader lists.",
            2,
            10_000,
            log=True,
            search=(20, 400),
            label="Neighbours per item (K)",
        ),
    )
    capabilities = ITEM_ITEM_CAPABILITIES

    def _library_model(self):
        from implicit import nearest_neighbours as nn

        kind = {
            "cosine": nn.CosineRecommender,
            "bm25": nn.BM25Recommender,
            "tfidf": nn.TFIDFRecommender,
        }[self.similarity]
        return kind(K=int(self.K), num_threads=0)

    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        from implicit import nearest_neighbours as nn

        self._validated_params()
        matrix = as_csr32(interactions)
        if progress:
            progress(0.0, f"Computing {self.similarity} neighbours")
        with threadpool_limits(1, "blas"):
            model = self._library_model()
            # implicit's own fit does the same weighting but hands all_pairs_knn a COO matrix
            # (a warning and a conversion); weight here and give the base class a CSR
            item_users = matrix.T
            if self.similarity == "cosine":
                weighted = nn.normalize(item_users).T.tocsr()
            elif self.similarity == "tfidf":
                weighted = nn.normalize(nn.tfidf_weight(item_users)).T.tocsr()
            else:
                weighted = nn.bm25_weight(item_users, model.K1, model.B).T.tocsr()
            nn.ItemItemRecommender.fit(model, weighted, show_progress=False)
        self._set_similarity(model)
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        if progress:
            progress(1.0, "Done")
        return self

    fit.__doc__ = Recommender.fit.__doc__

    def _set_similarity(self, model) -> None:
        self.model_ = model
        similarity = sp.csr_matrix(model.similarity, dtype=np.float32)
        similarity.sort_indices()
        self.similarity_ = similarity

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return (self.user_items_[users] @ self.similarity_).toarray()

    def _score_history(self, history: sp.csr_matrix) -> np.ndarray:
        return (as_csr32(history) @ self.similarity_).toarray()

    def _similar_scores(self, items: np.ndarray) -> np.ndarray:
        rows = self.similarity_[items]
        scores = np.full(rows.shape, -np.inf, dtype=np.float32)
        coo = rows.tocoo()
        scores[coo.row, coo.col] = coo.data
        return scores

    def explain(
        self, user_index: int, item_index: int, k: int = 5
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._explain_by_item_weights(
            user_index,
            item_index,
            k,
            lambda history, item: self.similarity_[history][:, [item]].toarray().ravel(),
        )

    explain.__doc__ = Recommender.explain.__doc__

    def to_arrays(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        s = self.similarity_
        return {
            "data": s.data,
            "indices": s.indices,
            "indptr": s.indptr,
            "shape": np.asarray(s.shape, dtype=np.int64),
            "n_users": np.asarray(self.n_users_, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Recommender:
        from implicit.nearest_neighbours import NearestNeighboursScorer  # its public home

        model = cls(**params)
        model._validated_params()
        shape = stored.dimensions(arrays, "shape", "similarity matrix's shape")
        if shape[0] != shape[1]:
            raise stored.DamagedArrays("its similarity matrix is not square")
        # checked before scipy or implicit see it: an index past the last item crashes them
        similarity = stored.csr(arrays, shape, "similarity matrix", columns="item")
        library = model._library_model()
        library.similarity = similarity.astype(np.float64)
        library.scorer = NearestNeighboursScorer(library.similarity)
        model._set_similarity(library)
        model.n_users_ = stored.count(arrays, "n_users", "user count")
        model.n_items_ = shape[1]
        return model
