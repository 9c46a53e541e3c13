"""Plain words for the keys people read: metrics, splits, overlaps, colourings, taste groups.

The keys stay the keys (URL parameters, the CLI, stored metrics, CSV columns); what a person
reads goes through these functions. Every function falls back to the key itself for a key it
does not know, and never raises.

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

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "COLOUR_WORDS",
    "METRIC_WORDS",
    "OVERLAP_WORDS",
    "algorithm_label",
    "colour_label",
    "group_label",
    "group_labels",
    "metric_label",
    "natural_key",
    "overlap_label",
    "param_label",
    "params_label",
    "dataset_name",
    "metric_short",
    "split_help",
    "split_label",
]

SEP = " · "
"""Between the parts of a label ("5 held-out likes per user · seed 0 · top 10")."""

# ----------------------------------------------------------------------------------- metrics
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
        "Rewards hits near the top: the precision at each hit, averaged per user, then over "
        "users.",
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


# ------------------------------------------------------------------------------------- splits
_MOVIELENS_SPLITS = ("ua", "ub", "u1", "u2", "u3", "u4", "u5")
"""ml-100k's predefined splits (``datasets.movielens.SPLITS_100K``; kept here so this module
imports nothing heavy)."""

_PROTOCOL = re.compile(r"^(?P<split>.*):seed=(?P<seed>[^:@]*)@k=(?P<k>\d+)$")
_VARIANT = re.compile(r"^split=(?P<split>.*):seed=(?P<seed>[^:@]*)$")


def _likes(n: int) -> str:
    return "1 like" if n == 1 else f"{n:,} likes"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"


def _parse_stored(spec: str) -> tuple[str, int | None, int | None]:
    """``"holdout:5:seed=0@k=10"`` -> ``("holdout:5", 0, 10)``; ``"split=holdout:5:seed=0"``
    -> ``("holdout:5", 0, None)``; anything else -> ``(spec, None, None)``."""
    for pattern in (_PROTOCOL, _VARIANT):
        match = pattern.match(spec)
        if match:
            seed = match.group("seed")
            k = match.groupdict().get("k")
            return (
                match.group("split"),
                int(seed) if seed.isdigit() else None,
                int(k) if k else None,
            )
    return spec, None, None


def _split_words(spec: str) -> tuple[str, bool] | None:
    """``(words, seeded)`` for a split spec, None when it is not one."""
    from .split import parse_split_spec  # light: split imports numpy and scipy only

    if spec == "given":
        return "Train and test given", False
    try:
        kind, args = parse_split_spec(spec)
    except Exception:  # a UserError, or anything odd: the key stays the label
        return None
    if kind == "holdout":
        n = int(args[0])
        who = "per user" if len(args) == 1 else f"for {_percent(args[1])} of users"
        return f"{n:,} held-out {'like' if n == 1 else 'likes'} {who}", True
    if kind == "random":
        return f"Random {_percent(args[0])} held out", True
    if kind == "leave-last":
        n = int(args[0])
        return ("Leave the last like out" if n == 1 else f"Leave the last {n:,} likes out"), False
    name = str(args[0])
    if name.lower() in _MOVIELENS_SPLITS:
        return f"MovieLens split {name}", False
    return f"Predefined split {name}", False


RERANK_SEPARATOR = "|rerank:"  # recsys_core.rerank.KEY_SEPARATOR (words imports nothing heavy)


def split_label(spec: Any, k: int | None = None, seed: int | None = None) -> str:
    """A split (spec, protocol key or model variant) in words, with its seed and list length.

    Parameters
    ----------
    spec : str
        ``"holdout:5"``, ``"holdout:5:0.5"``, ``"random:0.2"``, ``"leave-last:1"``, a
        predefined split name (``"u1"``), ``"given"``, a protocol key
        ``"holdout:5:seed=0@k=10"`` or a model variant ``"split=holdout:5:seed=0"``.
    k, seed : int, optional
        The list length and the split's seed; given, they override the ones in a stored key.
        The seed is shown only for splits that draw at random (holdout, random).

    Returns
    -------
    str
        ``"5 held-out likes per user · seed 0 · top 10"``; the spec itself when unreadable.
    """
    text = str(spec).strip() if spec is not None else "given"
    text, _, steering = text.partition(RERANK_SEPARATOR)
    base, stored_seed, stored_k = _parse_stored(text)
    seed = stored_seed if seed is None else seed
    k = stored_k if k is None else k
    found = _split_words(base)
    if found is None:
        return text
    words, seeded = found
    parts = [words]
    if seeded and seed is not None:
        parts.append(f"seed {seed}")
    if k is not None:
        parts.append(f"top {int(k)}")
    if steering:  # a re-ranked protocol key: "… · steered: popularity 0.5, diversity 0.3"
        parts.append("steered: " + ", ".join(p.replace("=", " ") for p in steering.split(",")))
    return SEP.join(parts)


def split_help(spec: Any) -> str:
    """One line on how a split (spec, protocol key or variant) holds likes out; "" if unknown."""
    from .split import parse_split_spec

    base, _, _ = _parse_stored(str(spec).strip() if spec is not None else "given")
    if base == "given":
        return "The training and test likes were given separately."
    try:
        kind, args = parse_split_spec(base)
    except Exception:
        return ""
    if kind == "holdout":
        n = int(args[0])
        who = "every user" if len(args) == 1 else f"a random {_percent(args[1])} of the users"
        hidden = "1 random like is" if n == 1 else f"{n:,} random likes are"
        them = "it" if n == 1 else "them"
        return (
            f"For {who} with at least {_likes(2 * n)}, {hidden} hidden from training; the model "
            f"has to find {them}."
        )
    if kind == "random":
        return (
            f"A random {_percent(args[0])} of all likes is hidden from training; the model has "
            "to find them."
        )
    if kind == "leave-last":
        n = int(args[0])
        if n == 1:
            return "Each user's latest like is hidden from training; the model has to predict it."
        return (
            f"Each user's {n:,} latest likes are hidden from training; the model has to predict "
            "them."
        )
    name = str(args[0])
    if name.lower() in ("ua", "ub"):
        return f"MovieLens 100k's own split {name}: 10 ratings of every user held out."
    if name.lower() in _MOVIELENS_SPLITS:
        return f"MovieLens 100k's own split {name}: one fifth of the ratings held out (5 folds)."
    return f"The split {name} shipped with the data."


# ----------------------------------------------------------------------------------- overlaps
def _rbo_top_weight(p: float, depth: int) -> float:
    """Share of RBO's weight on the first ``depth`` ranks (Webber et al. 2010, equation 21)."""
    tail = sum(p**i / i for i in range(1, depth))
    return 1 - p ** (depth - 1) + (1 - p) / p * depth * (math.log(1 / (1 - p)) - tail)


def _overlap_words() -> dict[str, tuple[str, str]]:
    from .overlap import DEFAULT_P

    top = _rbo_top_weight(DEFAULT_P, 10)
    return {
        "jaccard": (
            "Jaccard overlap",
            "Items in both lists over items in either: 1 is the same items, 0 none shared; the "
            "order is ignored.",
        ),
        "rbo": (
            "Rank-biased overlap",
            f"Agreement weighted toward the top: the first 10 places carry {top:.0%} of the "
            f"weight (p = {DEFAULT_P:g}); 1 is the same list, 0 none shared.",
        ),
        "shared": ("Shared items", "Items in both lists."),
        "first": ("First list", "The list compared."),
        "second": ("Second list", "The list it is compared with."),
        "disparity": (
            "Map difference after alignment (0 = same shape)",
            "What is left after turning one map onto the other (Procrustes disparity): 0 is "
            "the same layout, 1 an unrelated one.",
        ),
    }


OVERLAP_WORDS: dict[str, tuple[str, str]] = _overlap_words()
"""``{key: (label, help)}`` for :func:`overlap_label`."""


def overlap_label(key: str) -> tuple[str, str]:
    """The words for an overlap or alignment key (``jaccard``, ``rbo``, ``disparity``...).

    Returns
    -------
    (label, help) : tuple of str
        ``(key, "")`` for a key this module does not know.
    """
    return OVERLAP_WORDS.get(str(key), (str(key), ""))


# ---------------------------------------------------------------------------------- colourings
COLOUR_WORDS: dict[str, tuple[str, str]] = {
    "category": ("Category", "Each item's category."),
    "group": (
        "Taste group",
        "The demo's planted taste groups: the audience each item was made for, or each user's "
        "main group.",
    ),
    "tag": ("Tag", "The items that carry the chosen tag, against the rest."),
    "popularity": ("Popularity", "How many users liked each item (log scale)."),
    "activity": ("Activity", "How many items each user liked (log scale)."),
}
"""``{key: (label, help)}`` for :func:`colour_label` (the Embeddings page's colourings)."""


def colour_label(key: str) -> tuple[str, str]:
    """The words for a colouring of the Embeddings map.

    Returns
    -------
    (label, help) : tuple of str
        ``(key, "")`` for a key this module does not know.
    """
    return COLOUR_WORDS.get(str(key), (str(key), ""))


# -------------------------------------------------------------------------------- taste groups
def _group_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu":  # numpy integer
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def group_label(value: Any, names: Sequence[str] | None = None) -> str:
    """One taste group in words, numbered from 1 for people (the data's group 0 is "Taste
    group 1").

    Parameters
    ----------
    value : int or str
        A group number (``items["group"]``, ``users["group"]``: int, numpy int or digit
        string), or a users' ``"3|7"`` (``users["groups"]``); anything else is returned as text.
    names : sequence of str, optional
        A name per group number (the demo's ``dataset.extras["group_labels"]``).

    Returns
    -------
    str
        ``"Taste group 1 (Animals / low-poly)"``, ``"Taste group 4"``, ``"Taste groups 4 and
        8"``.
    """
    number = _group_number(value)
    if number is not None and number >= 0:
        name = ""
        if names is not None and number < len(names) and str(names[number]).strip():
            name = f" ({str(names[number]).strip()})"
        return f"Taste group {number + 1}{name}"
    text = "" if value is None else str(value)
    parts = text.split("|")
    if len(parts) > 1 and all(part.strip().isdigit() for part in parts):
        numbers = [str(int(part) + 1) for part in parts]
        return "Taste groups " + ", ".join(numbers[:-1]) + " and " + numbers[-1]
    return text


def group_labels(values: Iterable[Any], names: Sequence[str] | None = None) -> list[str]:
    """:func:`group_label` of every value of a column, shape [n] -> list of n str."""
    cache: dict[Any, str] = {}
    out = []
    for value in values:
        key = (type(value).__name__, value) if _hashable(value) else None
        if key is not None and key in cache:
            out.append(cache[key])
            continue
        label = group_label(value, names)
        if key is not None:
            cache[key] = label
        out.append(label)
    return out


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def natural_key(text: Any) -> tuple:
    """A sort key that orders the numbers inside text by value, case-insensitively.

    ``sorted(["Taste group 10", "Taste group 2"], key=natural_key)`` gives group 2 first;
    ``sorted(["10", "1", "0"], key=natural_key)`` gives ``["0", "1", "10"]``.
    """
    parts = re.split(r"(\d+)", str(text))
    return tuple(int(part) if index % 2 else part.casefold() for index, part in enumerate(parts))


# ------------------------------------------------------------------------- algorithms, params
def param_label(algorithm: str, key: str) -> tuple[str, str]:
    """A registered algorithm's parameter in words: its Param's ``(label, help)``.

    ``(key, "")`` when the algorithm or the parameter is unknown.
    """
    from .algorithms import loader

    try:
        cls = loader(str(algorithm))
    except Exception:
        cls = None
    for param in getattr(cls, "params", ()):
        if param.name == key:
            return param.label, param.help
    return str(key), ""


def algorithm_label(name: str) -> str:
    """A registered algorithm's short human name (``"ALS (WRMF)"``); the name if unknown."""
    from .algorithms import loader

    try:
        cls = loader(str(name))
    except Exception:
        cls = None
    return getattr(cls, "label", "") or str(name)


_QUIET_PARAMS = frozenset({"random_state", "num_threads", "seed"})
"""Parameters a summary leaves out: they change no result a person compares (or only the
seed's draw)."""


def _lower_first(label: str) -> str:
    """"Latent factors" -> "latent factors"; an acronym ("ALS", "K") stays as it is."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _value_words(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def params_label(
    algorithm: str,
    params: dict[str, Any] | None,
    limit: int = 3,
    changed_only: bool = False,
) -> str:
    """A model's parameters in words, for a picker or a table row.

    Parameters
    ----------
    algorithm : str
        A registered algorithm (its Params give the words and the defaults).
    params : dict
        ``{key: value}`` as stored with the model.
    limit : int
        At most this many parameters; more are marked with "…".
    changed_only : bool
        Only the parameters that differ from the defaults ("" when none do); otherwise those
        first, then the leading ones in schema order.

    Returns
    -------
    str
        ``"latent factors 40, confidence scale (alpha) 50"``; a boolean reads as its label
        (true) or "no " + its label (false); "" for no parameters. Seeds and thread counts are
        left out.
    """
    if not params:
        return ""
    from .algorithms import loader

    try:
        cls = loader(str(algorithm))
    except Exception:
        cls = None
    schema = {p.name: p for p in getattr(cls, "params", ())}
    order = [name for name in schema if name in params] + [k for k in params if k not in schema]
    order = [key for key in order if key not in _QUIET_PARAMS]
    changed = [k for k in order if k in schema and params[k] != schema[k].default]
    rest = [] if changed_only else [
        k for k in order if k not in changed and not isinstance(params[k], bool)
    ]
    shown = changed + rest

    def one(key: str) -> str:
        label = _lower_first(schema[key].label) if key in schema else str(key)
        value = params[key]
        if isinstance(value, bool):
            return label if value else f"no {label}"
        return f"{label} {_value_words(value)}"

    text = ", ".join(one(key) for key in shown[:limit])
    return text + (" …" if len(shown) > limit else "")


_DATASET_NAMES = {
    "demo": "the demo data",
    "sketchfab": "Sketchfab data",
}
"""Registry names whose words are not the name's own parts."""


def dataset_name(name: str) -> str:
    """A registered dataset's name for people, to use inside a sentence.

    ``"movielens-100k"`` -> ``"MovieLens 100k"``, ``"movielens-latest-small"`` ->
    ``"MovieLens latest-small"``, ``"movielens-1m"`` -> ``"MovieLens 1M"``, ``"demo"`` ->
    ``"the demo data"``; any other name is returned as it is.
    """
    text = str(name)
    if text in _DATASET_NAMES:
        return _DATASET_NAMES[text]
    match = re.fullmatch(r"movielens-(\d+)([km])", text)
    if match:
        size, unit = match.groups()
        return f"MovieLens {size}{unit if unit == 'k' else unit.upper()}"
    if text.startswith("movielens-") and len(text) > len("movielens-"):
        return "MovieLens " + text[len("movielens-"):]
    return text


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
