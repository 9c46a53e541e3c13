"""Words for the metrics: what a person reads for each key of :mod:`recsys_core.evaluation`.

:func:`metric_label` gives a metric's or evaluation column's label and help, :func:`metric_short`
a label short enough for a table header or a button.
"""

from __future__ import annotations

__all__ = ["METRIC_SHORT", "METRIC_WORDS", "metric_label", "metric_short"]

METRIC_WORDS: dict[str, tuple[str, str]] = {
    # accuracy (docs/METRICS.md has the exact definitions and which library each follows)
    "precision": (
        "Precision (hits / k)",
        "Share of the top k that the user had held out, averaged over users (precision@k as "
        "LightFM, RecTools and Cornac count it).",
    ),
    "precision_implicit": (
        "Precision, implicit's convention (hits / min(k, held-out))",
        "Hits over k, or over the user's held-out likes when fewer, summed over users then "
        "divided (implicit's precision).",
    ),
    "recall": (
        "Recall",
        "Share of each user's held-out likes found in the top k, averaged over users.",
    ),
    "map": (
        "Mean average precision",
        "Rewards hits near the top: the precision at each hit, averaged per user, then over users.",
    ),
    "ndcg": (
        "NDCG (ranking quality)",
        "Hits weighted by how high they rank, over the best possible list: 1 means every hit "
        "is at the top.",
    ),
    "auc": (
        "AUC within the top k",
        "Chance a held-out like is ranked above another item, judged on the top k only "
        "(implicit's AUC).",
    ),
    "auc_full": (
        "AUC over the whole catalogue",
        "Chance a held-out like is ranked above an item the user never liked, over the full "
        "ranking (LightFM's AUC).",
    ),
    "hit_rate": (
        "Hit rate",
        "Share of users with at least one held-out like in their top k.",
    ),
    "mrr": (
        "Mean reciprocal rank",
        "1 / position of the first hit in the top k (0 without one), averaged over users.",
    ),
    # beyond accuracy
    "coverage": (
        "Catalogue coverage",
        "Share of the catalogue recommended to at least one user.",
    ),
    "mean_popularity": (
        "Popularity of what is recommended",
        "Mean number of users who liked each recommended item in training: higher leans on "
        "bestsellers.",
    ),
    "novelty": (
        "Novelty",
        "How unexpected the recommended items are (-log2 of the share of users who liked "
        "them): higher is less mainstream.",
    ),
    "diversity_category": (
        "Category diversity",
        "Share of pairs of recommended items that are in different categories.",
    ),
    "diversity_vectors": (
        "Diversity (vector distance)",
        "Mean distance (1 - cosine) between the recommended items' vectors.",
    ),
    "personalisation": (
        "Personalisation",
        "How different users' lists are: 1 - their mean overlap (1 means no two users share "
        "an item).",
    ),
    # per-user columns (EvaluationResult.per_user)
    "user": ("User", "The user (row of the matrix)."),
    "n_train": ("Training likes", "The user's likes the model was trained on."),
    "n_test": ("Held-out likes", "The user's likes hidden from training, to be found."),
    "hits": ("Hits", "Held-out likes found in the user's top k."),
    "ap": (
        "Average precision",
        "The precision at each of the user's hits, averaged over min(k, held-out likes).",
    ),
    "hit": ("Hit", "1 when at least one held-out like is in the user's top k, else 0."),
    "rr": ("Reciprocal rank", "1 / position of the user's first hit (0 without one)."),
    # protocol and summary fields
    "k": ("List length (k)", "How many items each user is recommended."),
    "split": ("Split", "How likes were held out for testing."),
    "seed": ("Random seed", "Seed of the split's random draws."),
    "n_users": ("Users evaluated", "Users with at least one held-out like."),
    "n_users_total": ("Users in the data", "Every user of the dataset."),
    "n_users_without_train": (
        "Users with nothing to train on",
        "Evaluated users whose every like was held out (scored like any other).",
    ),
    "n_items": ("Items", "Items in the catalogue."),
    "n_test_interactions": ("Held-out likes", "Likes hidden from training, over all users."),
    "algorithm": ("Algorithm", "The family of model that was trained."),
    "params": ("Parameters", "The values the model was trained with."),
    "dataset": ("Dataset", "The data the model was evaluated on."),
    "model_id": ("Model", "The stored model's id."),
    "fit_seconds": ("Training time (s)", "Seconds to train the model on the training part."),
    "eval_seconds": ("Evaluation time (s)", "Seconds to score and measure every user."),
    # learning curves
    "mse": (
        "Mean squared error",
        "Mean squared difference between the like matrix (0 where none) and the scores.",
    ),
    "loss": ("Training loss", "The loss ALS minimises, on the training part."),
    # slices (evaluation.slice_metrics)
    "group": ("Slice of", "Users or items."),
    "slice": ("Slice", "The part of the evaluation the row measures."),
    "definition": ("Definition", "Which users or items are in the slice."),
}
"""``{key: (label, help)}`` for :func:`metric_label`."""

_METRIC_ALIASES = {"precision_k": "precision"}
"""Older or alternative keys (``precision_k`` was hits / k before metrics version 2)."""


def metric_label(key: str) -> tuple[str, str]:
    """The words for a metric or evaluation column key.

    Parameters
    ----------
    key : str
        ``"precision"``, ``"auc_full"``, ``"n_test"``...; a trailing ``@k`` part
        (``"ndcg@10"``) is read as the metric with its list length.

    Returns
    -------
    (label, help) : tuple of str
        ``(key, "")`` for a key this module does not know.
    """
    text = str(key)
    name, at, k = text.partition("@")
    name = _METRIC_ALIASES.get(name, name)
    if name not in METRIC_WORDS:
        return text, ""
    label, help_ = METRIC_WORDS[name]
    if at and k.isdigit():
        return f"{label} in the top {int(k)}", help_
    return label, help_


METRIC_SHORT: dict[str, str] = {
    "precision": "Precision (hits / k)",
    "precision_implicit": "Implicit's precision",
    "recall": "Recall",
    "map": "Mean avg. precision",
    "ndcg": "NDCG",
    "auc": "AUC in the top k",
    "auc_full": "AUC, all items",
    "hit_rate": "Hit rate",
    "mrr": "Reciprocal rank",
    "coverage": "Coverage",
    "mean_popularity": "Popularity",
    "novelty": "Novelty",
    "diversity_category": "Category diversity",
    "diversity_vectors": "Vector diversity",
    "personalisation": "Personalisation",
    "fit_seconds": "Training time (s)",
    "eval_seconds": "Evaluation time (s)",
}
"""``{key: short label}`` for :func:`metric_short`: at most 22 characters, no underscore."""


def metric_short(key: str) -> str:
    """A metric's label short enough for a table header or a button; :func:`metric_label`'s
    label for a key without a short form (``precision_k`` reads as ``precision``)."""
    text = str(key)
    name = _METRIC_ALIASES.get(text, text)
    return METRIC_SHORT.get(name) or metric_label(text)[0]
