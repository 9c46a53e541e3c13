"""Plain words for the keys people read: metrics, splits, overlaps, colourings, taste groups.

The keys stay the keys (URL parameters, the CLI, stored metrics, CSV columns); what a person
reads goes through these functions. Every function falls back to the key itself for a key it
does not know, and never raises.

Modules: :mod:`.metrics` (metrics and evaluation columns), :mod:`.protocols` (splits, seeds, list
lengths), :mod:`.algorithms` (algorithm names, parameters), :mod:`.overlaps` (Compare's overlaps,
Embeddings' alignment), :mod:`.data` (dataset names, taste groups, colourings, natural sort).

API
---
``metric_label(key) -> (label, help)``
    Any metric or column key of :mod:`recsys_core.evaluation`: summary metrics (``precision``,
    ``precision_implicit``, ``recall``, ``map``, ``ndcg``, ``auc``, ``auc_full``, ``hit_rate``,
    ``mrr``, ``coverage``, ``mean_popularity``, ``novelty``, ``diversity_category``,
    ``diversity_vectors``, ``personalisation``), per-user columns (``ap``, ``hit``, ``rr``,
    ``hits``, ``n_train``, ``n_test``), protocol fields (``k``, ``n_users``, ``fit_seconds``...),
    learning-curve metrics (``mse``, ``loss``) and slice columns.
    ``metric_label("precision") == ("Precision (hits / k)", "Share of the top k ...")``.
``split_label(spec, k=None, seed=None) -> str``
    A split spec, a protocol key or a model variant in words:
    ``split_label("holdout:5", k=10, seed=0) == "5 held-out likes per user · seed 0 · top 10"``;
    ``split_label("holdout:5:seed=0@k=10")`` gives the same (the store's protocol key);
    ``split_label("leave-last:1", k=10) == "Leave the last like out · top 10"``;
    ``split_label("u1", k=10) == "MovieLens split u1 · top 10"``.
``split_help(spec) -> str``
    One line on how the split is made (``"For every user with at least 10 likes, 5 random
    ..."``).
``overlap_label(key) -> (label, help)``
    ``jaccard``, ``rbo``, ``shared``, ``first``, ``second`` (:func:`overlap.pairwise_overlap`'s
    columns) and ``disparity`` (:class:`projection.Alignment`):
    ``overlap_label("rbo") == ("Rank-biased overlap", "Agreement weighted toward the top: ...")``.
``colour_label(key) -> (label, help)``
    The Embeddings colourings: ``category``, ``group`` ("Taste group"), ``tag``,
    ``popularity``, ``activity``.
``group_label(value, names=None) -> str``
    One taste group (the demo's ``items["group"]`` / ``users["group"]``, int or digit string)
    in words, numbered from 1: ``group_label(0, data.extras.get("group_labels")) ==
    "Taste group 1 (Animals / low-poly)"``, ``group_label(3) == "Taste group 4"``; a users'
    ``"3|7"`` becomes ``"Taste groups 4 and 8"``; anything else is returned as text.
``group_labels(values, names=None) -> list[str]``
    :func:`group_label` over a column (each distinct value worked out once).
``natural_key(text) -> tuple``
    Sort key that orders numbers inside text by value: ``sorted(labels, key=natural_key)`` puts
    "Taste group 2" before "Taste group 10" (and "0, 1, 2, ... 10" in that order).
``param_label(algorithm, key) -> (label, help)``
    A parameter of a registered algorithm (its :class:`~recsys_core.algorithms.base.Param`'s
    ``label`` and ``help``), e.g. ``param_label("als", "alpha") == ("Confidence scale
    (alpha)", "How much more a like counts ...")``.
``algorithm_label(name) -> str``
    ``algorithm_label("als") == "ALS (WRMF)"``.
``params_label(algorithm, params, limit=3, changed_only=False) -> str``
    A model's parameters in words, the ones that differ from the defaults first (seeds and
    thread counts left out): ``params_label("als", {"factors": 40, "alpha": 50.0}) ==
    "latent factors 40, confidence scale (alpha) 50"``.
``metric_short(key) -> str``
    A short form of :func:`metric_label`'s label for table headers and buttons, where the
    long one would not fit: ``metric_short("precision_implicit") == "Implicit's precision"``
    (its help still comes from :func:`metric_label`).
``dataset_name(name) -> str``
    A registered dataset's name for people: ``dataset_name("movielens-100k") == "MovieLens
    100k"``, ``dataset_name("demo") == "the demo data"``; other names are returned as they are.
"""

from __future__ import annotations

from .algorithms import algorithm_label, param_label, params_label
from .data import (
    COLOUR_WORDS,
    colour_label,
    dataset_name,
    group_label,
    group_labels,
    natural_key,
)
from .metrics import METRIC_SHORT, METRIC_WORDS, metric_label, metric_short
from .overlaps import OVERLAP_WORDS, overlap_label
from .protocols import RERANK_SEPARATOR, SEP, split_help, split_label

__all__ = [
    "COLOUR_WORDS",
    "METRIC_SHORT",
    "METRIC_WORDS",
    "OVERLAP_WORDS",
    "RERANK_SEPARATOR",
    "SEP",
    "algorithm_label",
    "colour_label",
    "dataset_name",
    "group_label",
    "group_labels",
    "metric_label",
    "metric_short",
    "natural_key",
    "overlap_label",
    "param_label",
    "params_label",
    "split_help",
    "split_label",
]
