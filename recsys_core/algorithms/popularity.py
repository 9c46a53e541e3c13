"""``popularity``: the baseline every chart needs. Scores items by how many users interacted."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from . import stored
from .base import Recommender
from .params import Param
from .registry import register


@register
class Popularity(Recommender):
    name = "popularity"
    label = "Popularity"
    description = "Recommends the most popular items to everyone; the baseline to beat."
    params = (
        Param(
            "weighted",
            bool,
            False,
            "Rank by summed interaction weights (plays, counts) instead of by number of users.",
            label="Weight by interaction strength",
        ),
    )
    capabilities = frozenset({"recommend", "recommend_for_history"})

    def fit(self, interactions, *, items=None, ratings=None, progress=None, on_epoch=None):
        self._validated_params()
        start = time.perf_counter()
        if progress:
            progress(0.0, "Counting interactions")
        matrix = sp.csr_matrix(interactions)
        if self.weighted:
            counts = np.asarray(matrix.sum(axis=0)).ravel()
        else:
            counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
        self.popularity_ = counts.astype(np.float32)
        self.n_users_, self.n_items_ = matrix.shape
        self.user_items_ = matrix
        self.fit_seconds_ = time.perf_counter() - start
        if progress:
            progress(1.0, "Done")
        return self

    def _score_users(self, users):
        return np.broadcast_to(self.popularity_, (len(users), self.n_items_))

    def _score_history(self, history):
        return np.broadcast_to(self.popularity_, (history.shape[0], self.n_items_))

    def explain(self, user_index, item_index, k=5):
        raise self._lacks(
            "explain", "popularity recommends the same items to everyone; no history."
        )

    def to_arrays(self):
        self._check_fitted()
        return {"popularity": self.popularity_, "n_users": np.array(self.n_users_)}

    @classmethod
    def from_arrays(cls, arrays, params):
        model = cls(**params)
        model._validated_params()
        model.popularity_ = stored.array(arrays, "popularity", "popularity vector", shape=(None,))
        model.n_items_ = len(model.popularity_)
        model.n_users_ = stored.count(arrays, "n_users", "user count")
        return model
