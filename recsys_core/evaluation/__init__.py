"""Held-out ranking metrics, end-to-end evaluation and learning curves.

:func:`evaluate` scores blocks of users at once (``model._score_users``), removes each user's
training items, takes the top k with ``argpartition`` (no full sort of the catalogue) and computes
every metric from the ``[block, k]`` hit matrix. Memory is bounded by the block size: nothing of
shape users x items is ever built.

Definitions follow the reference libraries where they differ from the textbook (one line each in
``docs/METRICS.md`` and :data:`METRIC_INFO`):

- ``precision`` is precision@k as readers, LightFM, RecTools and Cornac count it: hits / k,
  averaged over the users with test items (the mean of ``lightfm.evaluation.precision_at_k``);
- ``precision_implicit``, ``map``, ``ndcg`` and ``auc`` equal
  ``implicit.evaluation.ranking_metrics_at_k`` (its precision is hits / min(k, n_test), summed
  over users then divided; AUC is implicit's top-k limited AUC);
- ``recall`` and ``auc_full`` equal the means of ``lightfm.evaluation.recall_at_k`` and
  ``auc_score`` (AUC over the full ranking of the items the user did not train on);
- the rest are the usual definitions.

Metrics stored while ``precision`` meant implicit's convention (their ``conventions`` say
``"precision": "implicit"``) are relabelled when read: :func:`upgrade_stored_metrics`.

Users evaluated are those with at least one test item (both libraries' convention); users among
them with no training item are counted (``n_users_without_train``) and scored like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..algorithms.base import OnEpoch, Progress, Recommender
from ..errors import ParameterError

# ------------------------------------------------------------------------------------- metadata
METRIC_INFO: dict[str, str] = {
    "precision": "hits in the top k / k, averaged over users (precision@k as LightFM, RecTools "
    "and Cornac count it; a user with fewer than k test items scores at most test items / k)",
    "precision_implicit": "hits in the top k / min(k, test items), summed over users then "
    "divided (implicit's convention; equals recall when every user has the same number of "
    "test items, at most k, as with holdout:5 at k = 10)",
    "recall": "hits in the top k / test items, averaged over users",
    "map": "average precision at k: sum over hits of (hits so far / position), divided by "
    "min(k, test items), averaged over users (implicit's convention)",
    "ndcg": "binary-gain DCG of the top k (1 / log2(position + 1)) over the ideal DCG of "
    "min(k, test items) hits, averaged over users (implicit's convention)",
    "auc": "implicit's AUC limited to the top k: pairs (test item, other item) ordered right, "
    "items outside the top k counted as half right; averaged over users",
    "auc_full": "ROC AUC over the full ranking of the items not in the user's training data, "
    "ties counted against the test item (LightFM's auc_score); averaged over users",
    "hit_rate": "share of users with at least one test item in the top k",
    "mrr": "1 / position of the first test item in the top k (0 when none), averaged over users",
    "coverage": "share of the catalogue recommended to at least one evaluated user",
    "mean_popularity": "mean number of training users of the recommended items, averaged "
    "over users (popularity bias)",
    "novelty": "mean self-information -log2(p) of the recommended items, p = share of training "
    "users who have the item (at least 1 / users), averaged over users",
    "diversity_category": "share of pairs of recommended items with different categories "
    "(items without a category left out), averaged over users",
    "diversity_vectors": "mean cosine distance (1 - cosine) between pairs of recommended items' "
    "vectors, averaged over users",
    "personalisation": "1 - mean overlap |A & B| / k between two users' top-k lists, over "
    "all pairs of evaluated users",
}

CONVENTIONS: dict[str, str] = {
    "precision": "lightfm",
    "precision_implicit": "implicit",
    "recall": "lightfm",
    "map": "implicit",
    "ndcg": "implicit",
    "auc": "implicit",
    "auc_full": "lightfm",
}
"""Which reference library each accuracy metric reproduces exactly (the rest are textbook)."""

ACCURACY_METRICS = (
    "precision", "precision_implicit", "recall", "map", "ndcg", "auc", "hit_rate", "mrr",
)
BEYOND_ACCURACY = (
    "coverage",
    "mean_popularity",
    "novelty",
    "diversity_category",
    "diversity_vectors",
    "personalisation",
)
METRICS = ACCURACY_METRICS + ("auc_full",) + BEYOND_ACCURACY

METRICS_VERSION = 2
"""Written as ``metrics_version`` with every stored summary. Version 2: ``precision`` is hits / k
and implicit's convention is ``precision_implicit``. Version 1 (no marker) had implicit's under
``precision`` and hits / k under ``precision_k`` (see :func:`upgrade_stored_metrics`)."""

_PER_USER_COLUMN = {"map": "ap", "hit_rate": "hit", "mrr": "rr"}
_BLOCK_BUDGET = 1 << 21  # scores per block: 8 MB of float32, so a block stays in cache
BLOCK_MEMORY_CAP = 64 << 20
"""Most bytes of float32 scores one block may hold (rows x items x 4), whatever ``block_size``
asks: an evaluation's working memory does not grow with the number of users."""


# ----------------------------------------------------------------------------------- the result
@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    metrics : dict
        Aggregates by name (see :data:`METRIC_INFO`); ``auc_full`` only when computed,
        diversity metrics NaN when no categories or vectors were available.
    per_user : pd.DataFrame
        One row per evaluated user: ``user`` (row index), ``n_train``, ``n_test``, ``hits``, and
        the per-user value of each metric (``precision`` = hits / k, ``precision_implicit`` =
        hits / min(k, n_test), ``recall``, ``ap``, ``ndcg``, ``auc``, ``hit``, ``rr``,
        ``mean_popularity``, ``novelty``, ``diversity_category``, ``diversity_vectors``,
        ``personalisation``, ``auc_full``). Aggregates are their means, except
        ``precision_implicit`` (weighted by min(k, n_test)) and ``coverage`` (a property of the
        set of lists).
    protocol : dict
        How the numbers were obtained: ``k``, ``n_users``, ``n_users_total``,
        ``n_users_without_train``, ``n_items``, ``n_test_interactions``, ``eval_seconds``, and
        from :func:`evaluate_model` also ``split``, ``seed``, ``fit_seconds``, ``algorithm``,
        ``params``, ``dataset``, ``fingerprint``, ``versions``.
    conventions : dict
        ``{metric: "implicit" | "lightfm"}`` for metrics that follow a library's definition.
    model : Recommender or None
        The fitted model (from :func:`evaluate_model`); not serialised.
    """

    metrics: dict[str, float]
    per_user: pd.DataFrame
    protocol: dict[str, Any]
    conventions: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONS))
    model: Recommender | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, name: str) -> float:
        return self.metrics[name]

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-ready dict: metrics (NaN as None), protocol, and conventions."""
        out: dict[str, Any] = {key: _json_float(value) for key, value in self.metrics.items()}
        for key, value in self.protocol.items():
            out.setdefault(key, value)
        out["conventions"] = dict(self.conventions)
        return out

    def summary(self) -> dict[str, Any]:
        """What the store keeps in ``meta["metrics"][protocol key]``: the aggregates (NaN as
        None) plus ``k``, ``split``, ``seed``, user counts, timings, conventions and
        ``metrics_version`` (:data:`METRICS_VERSION`); ``rerank`` (the settings string) for
        lists re-ranked by :mod:`recsys_core.rerank`."""
        out: dict[str, Any] = {key: _json_float(value) for key, value in self.metrics.items()}
        for key in ("k", "split", "seed", "n_users", "n_users_without_train", "fit_seconds",
                    "eval_seconds", "rerank"):
            if key in self.protocol:
                out[key] = _json_float(self.protocol[key])
        out["conventions"] = dict(self.conventions)
        out["metrics_version"] = METRICS_VERSION
        return out

    def protocol_key(self) -> str:
        """The key under which the store keeps these metrics, e.g. ``"holdout:5:seed=0@k=10"``
        (``"...@k=10|rerank:popularity=0.5"`` for re-ranked lists)."""
        return protocol_key(self.protocol.get("split"), self.protocol.get("seed"),
                            self.protocol["k"], self.protocol.get("rerank"))


def protocol_key(split: str | None, seed: int | None, k: int, rerank: Any = None) -> str:
    """``"<split>:seed=<seed>@k=<k>"``: names an evaluation protocol in a model's meta.json;
    with a re-ranking (settings or their string), ``"...|rerank:<settings>"`` so its metrics
    never replace the plain ones (:func:`recsys_core.rerank.split_protocol_key` splits it)."""
    key = f"{split or 'given'}:seed={seed}@k={int(k)}"
    text = str(rerank) if rerank is not None else ""
    return f"{key}|rerank:{text}" if text else key


def upgrade_stored_metrics(metrics: Any) -> Any:
    """A model's ``meta["metrics"]`` with every summary in today's names.

    Summaries written before :data:`METRICS_VERSION` 2 (no ``metrics_version``, and either
    ``conventions["precision"] == "implicit"`` or a ``precision_k`` value) held implicit's
    precision under ``precision`` and hits / k under ``precision_k``. They are relabelled, so a
    stored number is never shown under the wrong name: ``precision`` becomes
    ``precision_implicit``, ``precision_k`` becomes ``precision``, the conventions follow, and
    each slice row's ``precision`` becomes ``precision_implicit`` (its hits / k precision was
    not recorded: None until the model is evaluated again). Nothing is recomputed.

    Parameters
    ----------
    metrics : dict
        ``{protocol key: summary}`` as read from ``meta.json`` (anything else is returned
        unchanged).

    Returns
    -------
    dict
        A new dict; summaries already current are the same objects.
    """
    if not isinstance(metrics, dict):
        return metrics
    return {key: _upgrade_summary(found) for key, found in metrics.items()}


def _upgrade_summary(found: Any) -> Any:
    if not isinstance(found, dict) or found.get("metrics_version") is not None:
        return found
    conventions = found.get("conventions")
    old = "precision_k" in found or (
        isinstance(conventions, dict) and conventions.get("precision") == "implicit"
    )
    if not old:
        return found
    out = {key: value for key, value in found.items() if key not in ("precision", "precision_k")}
    if "precision_k" in found:
        out["precision"] = found["precision_k"]
    if "precision" in found:
        out["precision_implicit"] = found["precision"]
    if isinstance(conventions, dict):
        relabelled = {key: value for key, value in conventions.items()
                      if key not in ("precision", "precision_k")}
        relabelled.update(
            {key: CONVENTIONS[key] for key in ("precision", "precision_implicit") if key in out}
        )
        out["conventions"] = relabelled
    if isinstance(found.get("slices"), list):
        out["slices"] = [_upgrade_slice(row) for row in found["slices"]]
    out["metrics_version"] = METRICS_VERSION
    out["relabelled_from_version"] = 1
    return out


def _upgrade_slice(row: Any) -> Any:
    if not isinstance(row, dict) or "precision" not in row:
        return row
    out = {key: value for key, value in row.items() if key != "precision"}
    out["precision"] = None
    out["precision_implicit"] = row["precision"]
    return out


def upgrade_per_user(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-user values kept before :data:`METRICS_VERSION` 2 (a ``precision_k`` column, and
    implicit's per-user precision under ``precision``) in today's names; others unchanged."""
    if "precision_k" not in frame.columns:
        return frame
    return frame.rename(columns={"precision": "precision_implicit", "precision_k": "precision"})


def _json_float(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if not np.isfinite(value) else value
    return value


# ------------------------------------------------------------------------------------- evaluate
def evaluate(
    model: Recommender,
    train: sp.csr_matrix | None,
    test: sp.csr_matrix,
    k: int = 10,
    *,
    item_popularity: np.ndarray | None = None,
    item_categories: np.ndarray | pd.Series | None = None,
    item_vectors: np.ndarray | None | str = "auto",
    full_auc: bool = False,
    users: np.ndarray | None = None,
    block_size: int | None = None,
    progress: Progress | None = None,
    rerank: Callable[[np.ndarray, np.ndarray, int], np.ndarray] | None = None,
) -> EvaluationResult:
    """Ranking metrics of a fitted model on held-out interactions.

    Parameters
    ----------
    model : Recommender
        Fitted; scored through ``model._score_users`` (or ``_score_history`` of the training
        rows for families that cannot score known users).
    train : csr_matrix, shape [n_users, n_items], or None
        The interactions the model was trained on: each user's items there are never
        recommended. None ranks every item (a training-set learning curve).
    test : csr_matrix, shape [n_users, n_items]
        Held-out interactions: every stored entry is a relevant item. Users without any are
        not evaluated.
    k : int
        Length of the recommendation lists, 1 to n_items.
    item_popularity : array of float, shape [n_items], optional
        Popularity for ``mean_popularity`` and ``novelty`` (default: training users per item).
    item_categories : array-like, shape [n_items], optional
        One category per item for ``diversity_category`` (empty or missing: left out).
    item_vectors : array of float, shape [n_items, d], None or "auto"
        Vectors for ``diversity_vectors``; "auto" uses ``model.item_vectors()`` when it has them.
    full_auc : bool
        Also compute ``auc_full`` (LightFM's full-ranking AUC); costs a comparison of each test
        item's score with the user's whole row.
    users : array of int, optional
        Evaluate only these rows (a sample); default every row with a test item.
    block_size : int, optional
        Users scored at once; default so that a block holds about 2**21 scores (8 MB). Never
        more than :data:`BLOCK_MEMORY_CAP` (64 MB) of float32 scores; the results do not
        depend on it.
    progress : callable, optional
        ``progress(fraction, message)`` after each block.
    rerank : callable, optional
        ``rerank(scores, users, k) -> ids``, replacing the plain top k of each block: scores
        float32 [b, n_items] (training items -inf; it may modify them), users int [b], ids
        int64 [b, k] with -1 padding (:meth:`recsys_core.rerank.Reranker.select`). Every
        metric but ``auc_full`` (a property of the full ranking) is computed on its lists.

    Returns
    -------
    EvaluationResult
    """
    test = _as_csr(test, "test")
    n_users, n_items = test.shape
    if train is not None:
        train = _as_csr(train, "train")
        if train.shape != test.shape:
            raise ValueError(
                f"train has shape {train.shape} but test has {test.shape}; they must come "
                "from the same split."
            )
    k = int(k)
    if not 1 <= k <= n_items:
        raise ParameterError(f"k needs to be from 1 to the number of items ({n_items:,}), got {k}.")
    model_items = getattr(model, "n_items_", n_items)
    if model_items != n_items:
        raise ValueError(
            f"The model was trained on {model_items:,} items but the test matrix has "
            f"{n_items:,}; evaluate it on a split of the dataset it was trained on."
        )
    start = time.perf_counter()
    test_counts = np.diff(test.indptr)
    if users is None:
        users = np.flatnonzero(test_counts > 0)
    else:
        users = np.asarray(users, dtype=np.int64)
        users = users[test_counts[users] > 0]
    train_counts = (
        np.diff(train.indptr) if train is not None else np.zeros(n_users, dtype=np.int64)
    )
    if item_popularity is None:
        source = train if train is not None else test
        popularity = _item_counts(source.indices, n_items).astype(np.float64)
    else:
        popularity = np.asarray(item_popularity, dtype=np.float64).ravel()
        if popularity.shape != (n_items,):
            raise ValueError(f"item_popularity needs {n_items:,} values, got {popularity.size:,}.")
    information = -np.log2(np.maximum(popularity, 1.0) / max(n_users, 1))
    codes = _category_codes(item_categories, n_items)
    vectors = _unit_vectors(model, item_vectors, n_items)

    block_size = _block_rows(n_items, block_size)

    cg = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    cg_sum = np.cumsum(cg)
    positions = np.arange(1, k + 1, dtype=np.float64)
    scorer = _Scorer(model, train)

    columns: dict[str, np.ndarray] = {}  # one array per value, filled block by block
    all_ids = np.full((len(users), k), -1, dtype=np.int64)
    for first in range(0, len(users), block_size):
        block = users[first : first + block_size]
        scores = scorer.scores(block)  # float32 [b, n_items], training items -inf
        if full_auc:
            block_full_auc = _full_auc(scores, block, test, train_counts, n_items)
        ids = _top_k(scores, k) if rerank is None else rerank(scores, block, k)
        del scores
        all_ids[first : first + len(block)] = ids

        hits = _hits(ids, block, test, n_items)
        n_hits = hits.sum(axis=1).astype(np.float64)
        n_test = test_counts[block].astype(np.float64)
        denominator = np.minimum(k, n_test)
        cumulative = np.cumsum(hits, axis=1, dtype=np.float64)
        ap = (hits * cumulative / positions).sum(axis=1) / denominator
        ndcg = (hits * cg).sum(axis=1) / cg_sum[denominator.astype(np.int64) - 1]
        misses = k - n_hits
        negatives = n_items - n_test
        auc_sum = (cumulative * ~hits).sum(axis=1) + (n_hits + n_test) / 2.0 * (negatives - misses)
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = np.where(negatives > 0, auc_sum / (n_test * negatives), 0.5)
        first_hit = np.argmax(hits, axis=1)
        rr = np.where(n_hits > 0, 1.0 / (first_hit + 1.0), 0.0)
        valid = ids >= 0
        safe = np.where(valid, ids, 0)
        values = {
            "user": block,
            "n_train": train_counts[block],
            "n_test": test_counts[block],
            "hits": n_hits.astype(np.int64),
            "precision": n_hits / k,
            "precision_implicit": n_hits / denominator,
            "recall": n_hits / n_test,
            "ap": ap,
            "ndcg": ndcg,
            "auc": auc,
            "hit": (n_hits > 0).astype(np.float64),
            "rr": rr,
            "mean_popularity": _row_mean(popularity[safe], valid),
            "novelty": _row_mean(information[safe], valid),
            "diversity_category": _category_diversity(codes, safe, valid),
            "diversity_vectors": _vector_diversity(vectors, safe, valid),
        }
        if full_auc:
            values["auc_full"] = block_full_auc
        for key, value in values.items():
            value = np.asarray(value)
            if key not in columns:
                columns[key] = np.empty(len(users), dtype=value.dtype)
            columns[key][first : first + len(block)] = value
        if progress is not None:
            done = min(first + len(block), len(users))
            progress(done / max(len(users), 1), f"Evaluated {done:,} of {len(users):,} users")

    per_user = pd.DataFrame(
        columns
        if columns
        else {key: np.zeros(0) for key in ("user", "n_train", "n_test", "hits")}
    )
    per_user["personalisation"] = _personalisation(all_ids, k, n_items)
    metrics = _aggregate(per_user, all_ids, n_items, full_auc)
    protocol = {
        "k": k,
        "n_users": int(len(users)),
        "n_users_total": int(n_users),
        "n_users_without_train": int((train_counts[users] == 0).sum()),
        "n_items": int(n_items),
        "n_test_interactions": int(test_counts[users].sum()),
        "eval_seconds": time.perf_counter() - start,
    }
    if progress is not None and len(users) == 0:
        progress(1.0, "No user has a test item")
    return EvaluationResult(metrics=metrics, per_user=per_user, protocol=protocol)


def _item_counts(indices: np.ndarray, n_items: int) -> np.ndarray:
    """``np.bincount(indices, minlength=n_items)`` a million entries at a time: bincount
    casts int32 indices to int64, a copy the size of every interaction at once otherwise."""
    counts = np.zeros(n_items, dtype=np.int64)
    for first in range(0, len(indices), 1 << 20):
        counts += np.bincount(indices[first : first + (1 << 20)], minlength=n_items)
    return counts


def _block_rows(n_items: int, block_size: int | None) -> int:
    """Users scored at once: ``block_size`` (default about :data:`_BLOCK_BUDGET` scores, 16 to
    4,096 rows), never more than :data:`BLOCK_MEMORY_CAP` bytes of float32 scores nor fewer
    than one row."""
    per_row = 4 * max(int(n_items), 1)
    if block_size is None:
        block_size = max(16, min(4096, _BLOCK_BUDGET // max(int(n_items), 1)))
    return max(1, min(int(block_size), BLOCK_MEMORY_CAP // per_row))


def _aggregate(per_user: pd.DataFrame, ids: np.ndarray, n_items: int, full_auc: bool) -> dict:
    metrics: dict[str, float] = {}
    n = len(per_user)
    if n == 0:
        for name in METRICS:
            if name != "auc_full" or full_auc:
                metrics[name] = float("nan")
        return metrics
    for name in ACCURACY_METRICS:
        metrics[name] = _accuracy(per_user, name, ids.shape[1])
    if full_auc:
        metrics["auc_full"] = float(per_user["auc_full"].mean())
    recommended = np.unique(ids[ids >= 0])
    metrics["coverage"] = float(len(recommended) / n_items)
    for name in BEYOND_ACCURACY[1:]:
        column = per_user[name].to_numpy(dtype=np.float64)
        finite = np.isfinite(column)
        metrics[name] = float(column[finite].mean()) if finite.any() else float("nan")
    return metrics


def _accuracy(per_user: pd.DataFrame, name: str, k: int) -> float:
    """One accuracy aggregate from the per-user values: a mean over users, except implicit's
    precision (hits summed over users, divided by the sum of min(k, test items))."""
    if name == "precision_implicit":
        denominator = np.minimum(k, per_user["n_test"].to_numpy()).sum()
        return float(per_user["hits"].sum() / denominator)
    return float(per_user[_PER_USER_COLUMN.get(name, name)].mean())


# ------------------------------------------------------------------------------------- scoring
class _Scorer:
    """Scores a block of users (float32, a private copy) with training items set to -inf."""

    def __init__(self, model: Recommender, train: sp.csr_matrix | None) -> None:
        self.model = model
        self.train = train
        self.by_history: bool | None = None

    def scores(self, users: np.ndarray) -> np.ndarray:
        raw = None
        if self.by_history is not True:
            try:
                raw = self.model._score_users(users)
                self.by_history = False
            except NotImplementedError:
                if self.train is None:
                    raise
                self.by_history = True
        if self.by_history:
            raw = self.model._score_history(self.train[users])
        if sp.issparse(raw):
            raw = raw.toarray()
        scores = np.asarray(raw)
        if (
            scores.dtype != np.float32
            or not scores.flags.writeable
            or not scores.flags.owndata
            or not scores.flags.c_contiguous
        ):
            scores = np.array(scores, dtype=np.float32, order="C")
        if self.train is not None:
            row_of, cols, _ = _row_entries(self.train, users)
            scores[row_of, cols] = -np.inf
        return scores


def _row_entries(
    matrix: sp.csr_matrix, users: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stored entry of the given rows, in row order, without building a matrix:
    ``(position of its user in users, column, position in matrix.data)``."""
    starts = matrix.indptr[users].astype(np.int64)
    lengths = matrix.indptr[users + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    row_of = np.repeat(np.arange(len(users)), lengths)
    offsets = np.cumsum(lengths) - lengths
    positions = np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, lengths)
    return row_of, matrix.indices[positions].astype(np.int64), positions


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Item indices of each row's k best scores, best first, ties by lower index; -1 where
    fewer than k items have a score above -inf (NaN scores are never chosen).

    Exact, without a partition of every full row: a row's k-th best score among every
    ``stride``-th item is a lower bound of its k-th best overall, so the items scoring at least
    that much (about ``k * stride`` of them) hold the top k. One comparison pass over the
    block, then a partition of the candidates' (score, column) keys and a sort of k of them.
    Rows where the bound fails (NaN, too many ties) fall back to ``argpartition``.
    """
    n_rows, n_items = scores.shape
    stride = min(16, n_items // (16 * k))
    if stride < 4 or n_rows == 0 or n_items >= 1 << 31:  # a column must fit in 32 bits
        return _top_k_partition(scores, k)
    sample = scores[:, ::stride]
    width = sample.shape[1]
    bound = np.partition(sample, width - k, axis=1)[:, width - k]
    flat = np.flatnonzero(scores >= bound[:, None])
    rows = flat // n_items
    cols = flat - rows * n_items
    counts = np.bincount(rows, minlength=n_rows)
    bad = (counts < k) | (counts > max(64 * k, 8 * k * stride))
    if bad.any():
        keep = ~bad[rows]
        rows, cols = rows[keep], cols[keep]
        counts[bad] = 0
    starts = np.cumsum(counts) - counts
    within = np.arange(len(rows)) - starts[rows]
    padded = max(int(counts.max()), k)
    # one int64 key per candidate, (negated score, column) in order: the negated score's bits
    # made order-preserving (-0 as +0) above the column, so a partition plus a sort of k keys
    # gives best first with ties by lower index (NaN is never a candidate)
    keys = np.full((n_rows, padded), np.iinfo(np.int64).max, dtype=np.int64)  # padding last
    keys[rows, within] = (_ordered_bits(np.negative(scores[rows, cols]) + np.float32(0.0))
                          << 32) | cols
    if padded > k:
        keys = np.take_along_axis(keys, np.argpartition(keys, k - 1, axis=1)[:, :k], axis=1)
    else:
        keys = keys[:, :k]
    keys.sort(axis=1)
    ids = keys & 0xFFFFFFFF
    ids[(keys >> 32) >= _POSITIVE_INFINITY_BITS] = -1  # -inf scores (training items), padding
    if bad.any():
        ids[bad] = _top_k_partition(scores[bad], k)
    return ids


_POSITIVE_INFINITY_BITS = int(np.array(np.inf, dtype=np.float32).view(np.int32))


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """float32 (no NaN) -> int64 whose order is the values' order (-0 before +0)."""
    bits = values.view(np.int32).astype(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)


def _top_k_partition(scores: np.ndarray, k: int) -> np.ndarray:
    """The same as :func:`_top_k` with an ``argpartition`` of every row (small or odd rows)."""
    negated = np.negative(scores)  # NaN sorts last in a partition, so it is never chosen
    n_items = negated.shape[1]
    if k < n_items:
        order = np.argpartition(negated, (k - 1, k), axis=1)
        part = order[:, :k]
        cut = np.take_along_axis(negated, order[:, k - 1 : k + 1], axis=1)
        tied = np.flatnonzero(cut[:, 0] == cut[:, 1])
        if len(tied):  # a tie at the cut: the lower indices of the tied scores win
            rows = negated[tied]
            value = cut[tied, :1]
            better = rows < value
            equal = rows == value
            wanted = k - better.sum(axis=1, keepdims=True)
            chosen = better | (equal & (np.cumsum(equal, axis=1) <= wanted))
            part[tied] = np.nonzero(chosen)[1].reshape(len(tied), k)
    else:
        part = np.broadcast_to(np.arange(n_items), negated.shape).copy()
    values = np.take_along_axis(negated, part, axis=1)
    order = np.lexsort((part, values), axis=1)
    ids = np.take_along_axis(part, order, axis=1).astype(np.int64)
    chosen = np.take_along_axis(values, order, axis=1)
    ids[np.isposinf(chosen) | np.isnan(chosen)] = -1
    return ids


def _hits(ids: np.ndarray, block: np.ndarray, test: sp.csr_matrix, n_items: int) -> np.ndarray:
    """Boolean [b, k]: whether each recommended item is one of the user's test items."""
    row_of, cols, _ = _row_entries(test, block)
    if len(cols) == 0:
        return np.zeros(ids.shape, dtype=bool)
    test_keys = np.sort(row_of * n_items + cols)
    rec_keys = np.arange(len(block), dtype=np.int64)[:, None] * n_items + ids
    found = np.minimum(np.searchsorted(test_keys, rec_keys), len(test_keys) - 1)
    return (test_keys[found] == rec_keys) & (ids >= 0)


def _full_auc(
    scores: np.ndarray,
    block: np.ndarray,
    test: sp.csr_matrix,
    train_counts: np.ndarray,
    n_items: int,
) -> np.ndarray:
    """LightFM's auc_score for each user of the block (see ``calculate_auc_from_rank``).

    Rank of a test item = items the user did not train on, other than itself, scoring at least
    as high. Positives sorted by rank; the i-th (0-based) has ``max(rank - i, 0)`` negatives
    ahead; AUC = mean of ``1 - ahead / negatives`` with negatives = n_items - test - train.
    """
    row_of, cols, _ = _row_entries(test, block)
    thresholds = scores[row_of, cols]
    ranks = np.empty(len(cols), dtype=np.float64)
    chunk = max(1, _BLOCK_BUDGET // max(n_items, 1))
    for first in range(0, len(cols), chunk):
        part = slice(first, first + chunk)
        ahead = scores[row_of[part]] >= thresholds[part, None]  # training items are -inf
        ranks[part] = ahead.sum(axis=1) - 1  # the item itself
    order = np.lexsort((ranks, row_of))
    row_sorted = row_of[order]
    starts = np.searchsorted(row_sorted, np.arange(len(block)))
    within = np.arange(len(order)) - starts[row_sorted]
    ahead = np.maximum(ranks[order] - within, 0.0)
    positives = np.bincount(row_of, minlength=len(block)).astype(np.float64)
    negatives = n_items - positives - train_counts[block]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = 1.0 - ahead / negatives[row_sorted]
        auc = np.bincount(row_sorted, weights=share, minlength=len(block)) / positives
    undefined = (positives == 0) | (negatives <= 0)
    return np.where(undefined, 0.5, auc)


# --------------------------------------------------------------------------- beyond accuracy
def _row_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    count = valid.sum(axis=1)
    total = np.where(valid, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _category_codes(categories: Any, n_items: int) -> np.ndarray | None:
    if categories is None:
        return None
    series = pd.Series(np.asarray(categories, dtype=object))
    if len(series) != n_items:
        raise ValueError(f"item_categories needs {n_items:,} values, got {len(series):,}.")
    missing = series.isna() | (series.astype(str).str.strip() == "")
    codes, _ = pd.factorize(series.astype(str))
    codes = codes.astype(np.int64)
    codes[missing.to_numpy()] = -1
    if (codes < 0).all():
        return None
    return codes


def _category_diversity(
    codes: np.ndarray | None, ids: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    if codes is None:
        return np.full(len(ids), np.nan)
    item_codes = np.where(valid, codes[ids], -1)
    known = item_codes >= 0
    k = ids.shape[1]
    pairs = known[:, :, None] & known[:, None, :] & ~np.eye(k, dtype=bool)
    same = (item_codes[:, :, None] == item_codes[:, None, :]) & pairs
    n_pairs = pairs.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, 1.0 - same.sum(axis=(1, 2)) / np.maximum(n_pairs, 1), np.nan)


def _unit_vectors(model: Recommender, item_vectors: Any, n_items: int) -> np.ndarray | None:
    if isinstance(item_vectors, str):
        if item_vectors != "auto":
            raise ValueError(
                f"item_vectors must be an array, None or 'auto', not {item_vectors!r}."
            )
        try:
            item_vectors = model.item_vectors()
        except (NotImplementedError, AttributeError):
            item_vectors = None
    if item_vectors is None:
        return None
    vectors = np.asarray(item_vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != n_items:
        raise ValueError(
            f"item_vectors needs shape [{n_items:,}, d], got {list(vectors.shape)}."
        )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _vector_diversity(
    vectors: np.ndarray | None, ids: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    if vectors is None:
        return np.full(len(ids), np.nan)
    chosen = vectors[ids] * valid[:, :, None]
    cosine = np.einsum("bkd,bld->bkl", chosen, chosen)
    k = ids.shape[1]
    pairs = valid[:, :, None] & valid[:, None, :] & ~np.eye(k, dtype=bool)
    n_pairs = pairs.sum(axis=(1, 2))
    distance = np.where(pairs, 1.0 - cosine, 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, distance / np.maximum(n_pairs, 1), np.nan)


def _personalisation(ids: np.ndarray, k: int, n_items: int) -> np.ndarray:
    """Per user: 1 - mean overlap |A & B| / k with every other user's list (mean = aggregate)."""
    n = len(ids)
    if n < 2:
        return np.full(n, np.nan)
    valid = ids >= 0
    counts = np.bincount(ids[valid], minlength=n_items).astype(np.float64)
    shared = np.where(valid, counts[np.where(valid, ids, 0)] - 1.0, 0.0).sum(axis=1)
    return 1.0 - shared / ((n - 1) * k)


def _as_csr(matrix: Any, name: str) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise ValueError(f"{name} needs to be a scipy sparse matrix, got {type(matrix).__name__}.")
    if not sp.isspmatrix_csr(matrix):
        matrix = sp.csr_matrix(matrix)
    if not matrix.has_canonical_format:  # duplicates would count an item twice
        matrix = matrix.copy()
        matrix.sum_duplicates()
    return matrix


# ------------------------------------------------------------------------- end to end
def _split_for(dataset: Any, split_spec: str, seed: int | None):
    from ..split import make_split

    return make_split(dataset, split_spec, random_state=seed)


def _train_ratings(dataset: Any, split: Any, algorithm: str) -> sp.csr_matrix | None:
    """The dataset's explicit ratings without the split's test pairs (for ``needs`` ratings).

    Ratings may cover more pairs than the interactions (those below ``min_rating``); every
    rating stays in training except those of the held-out pairs.
    """
    from ..algorithms import get_algorithm

    if "ratings" not in get_algorithm(algorithm).needs or dataset.ratings is None:
        return None
    ratings = sp.csr_matrix(dataset.ratings, dtype=np.float32, copy=True)
    ratings.sort_indices()
    test = split.test
    n_items = ratings.shape[1]
    rating_rows = np.repeat(np.arange(ratings.shape[0], dtype=np.int64), np.diff(ratings.indptr))
    test_rows = np.repeat(np.arange(test.shape[0], dtype=np.int64), np.diff(test.indptr))
    held_out = np.isin(rating_rows * n_items + ratings.indices, test_rows * n_items + test.indices)
    ratings.data[held_out] = 0
    ratings.eliminate_zeros()
    return ratings


def library_versions() -> dict[str, str | None]:
    """numpy, scipy, implicit, lightfm, scikit-learn and recsys_core versions."""
    from ..store import library_versions as versions

    return versions()


def _evaluate_split(model, dataset, split, k, algorithm, full_auc, block_size, progress,
                    rerank=None):
    """``evaluate`` on a split's train/test parts, with the dataset's categories; full AUC by
    default for lightfm (its own ``auc_score`` convention). ``rerank`` (settings or their
    string) re-ranks every list, popularity counted on the train part; the protocol then
    records it (``protocol["rerank"]``), so the result is stored under its own key."""
    if full_auc is None:
        full_auc = algorithm == "lightfm"
    select = None
    if rerank is not None:
        from ..rerank import Reranker, RerankSettings

        settings = rerank if isinstance(rerank, RerankSettings) else RerankSettings.parse(rerank)
        if not settings.is_identity:
            reranker = Reranker(settings, model, dataset, split.train)
            select, rerank = reranker.select, str(reranker.settings)
        else:
            rerank = None
    result = evaluate(
        model,
        split.train,
        split.test,
        k,
        item_categories=dataset.items["category"] if "category" in dataset.items else None,
        full_auc=full_auc,
        block_size=block_size,
        progress=progress,
        rerank=select,
    )
    if rerank is not None:
        result.protocol["rerank"] = rerank
    return result


def evaluate_model(
    dataset: Any,
    algorithm: str,
    params: dict[str, Any] | None = None,
    split_spec: str = "holdout:5",
    k: int = 10,
    seed: int | None = 0,
    *,
    preset: str | None = None,
    full_auc: bool | None = None,
    block_size: int | None = None,
    progress: Progress | None = None,
    split: Any = None,
    on_epoch: OnEpoch | None = None,
    rerank: Any = None,
) -> EvaluationResult:
    """Split, fit on the train part, evaluate on the test part: the whole protocol.

    Parameters
    ----------
    dataset : Dataset
    algorithm : str
        Registry key.
    params : dict, optional
        Parameter values (CLI strings are parsed); with ``preset`` applied first.
    split_spec : str
        ``"holdout:5"``, ``"random:0.2"``, ``"leave-last:1"``, ``"ua"`` ... (see ``split.py``).
    k : int
        List length.
    seed : int or None
        ``random_state`` of the split; the model's own ``random_state`` parameter is left as
        given (fix it in ``params`` for a fully repeatable run).
    full_auc : bool, optional
        Compute ``auc_full``; default True for ``lightfm`` (whose reference it is).
    split : Split, optional
        A split already made (tuning reuses one); ``split_spec`` and ``seed`` then only label it.
    progress : callable, optional
        ``progress(fraction, message)``: the first 80% for fitting, the rest for evaluating.
    on_epoch : callable, optional
        Passed to the adapter's ``fit`` (early stopping in :mod:`recsys_core.tuning`).
    rerank : RerankSettings or str, optional
        Re-rank every list (:mod:`recsys_core.rerank`); recorded as ``protocol["rerank"]``.

    Returns
    -------
    EvaluationResult
        With ``model`` set and ``protocol`` holding ``split``, ``seed``, ``fit_seconds``,
        ``algorithm``, ``params``, ``dataset``, ``fingerprint`` and ``versions``.
    """
    from ..training import fit_model

    if split is None:
        if progress is not None:
            progress(0.0, f"Splitting {dataset.label} ({split_spec})")
        split = _split_for(dataset, split_spec, seed)
    fit_progress = _scaled(progress, 0.0, 0.8)
    model = fit_model(
        dataset,
        algorithm,
        params,
        preset=preset,
        interactions=split.train,
        ratings=_train_ratings(dataset, split, algorithm),
        progress=fit_progress,
        on_epoch=on_epoch,
    )
    result = _evaluate_split(
        model, dataset, split, k, algorithm, full_auc, block_size, _scaled(progress, 0.8, 1.0),
        rerank=rerank,
    )
    result.model = model
    result.protocol.update(
        {
            "split": split_spec,
            "seed": seed,
            "fit_seconds": float(getattr(model, "fit_seconds_", float("nan"))),
            "algorithm": algorithm,
            "params": _plain_params(model.get_params()),
            "dataset": dataset.name,
            "fingerprint": dataset.fingerprint,
            "versions": library_versions(),
        }
    )
    return result


def split_variant(split_spec: str, seed: int | None) -> str:
    """The store ``variant`` of a model trained on the train part of a split."""
    return f"split={split_spec}:seed={seed}"


def save_result(
    result: EvaluationResult,
    dataset: Any,
    *,
    store: Any = None,
    source: dict | None = None,
    extra: dict | None = None,
) -> str:
    """Store the model of an :func:`evaluate_model` result with its metrics; returns its id.

    The model was trained on the split's train part, so it is stored as that variant, with the
    split recorded in ``meta["extra"]["split"]`` (so ``evaluate --model`` can rebuild it) and the
    metrics under ``meta["metrics"][result.protocol_key()]``.
    """
    from ..store import ModelStore

    if result.model is None:
        raise ValueError("The result has no model; save results of evaluate_model.")
    store = store if store is not None else ModelStore()
    split_spec, seed = result.protocol.get("split"), result.protocol.get("seed")
    info = {"split": {"spec": split_spec, "seed": seed}}
    info.update(extra or {})
    model_id = store.save(
        result.model,
        dataset,
        fit_seconds=result.protocol.get("fit_seconds"),
        source=source,
        variant=split_variant(split_spec, seed),
        extra=info,
        overwrite=True,
    )
    store.record_metrics(model_id, result.protocol_key(), result.summary())
    result.protocol["model_id"] = model_id
    return model_id


def evaluate_stored(
    model_id: str,
    k: int = 10,
    *,
    store: Any = None,
    full_auc: bool | None = None,
    block_size: int | None = None,
    progress: Progress | None = None,
    record: bool = True,
    rerank: Any = None,
) -> EvaluationResult:
    """Evaluate a stored model on the split it was trained on; record the metrics in its meta.

    Only models trained on a split's train part (``evaluate DATASET ALGO --save``, ``tune``)
    can be evaluated: for a model trained on the whole dataset every held-out interaction was
    seen in training, which is a UserError naming the fix. ``rerank`` (settings or their
    string) re-ranks every list; the metrics are then recorded under their own key.
    """
    opened = open_stored_split(model_id, store=store, progress=_scaled(progress, 0.0, 0.2))
    result = _evaluate_split(
        opened.model, opened.dataset, opened.split, k, opened.meta.get("algorithm"), full_auc,
        block_size, _scaled(progress, 0.2, 1.0), rerank=rerank,
    )
    opened.describe(result)
    if record:
        opened.store.record_metrics(model_id, result.protocol_key(), result.summary())
    return result


@dataclass
class StoredSplit:
    """A stored model reopened on the split it was trained on (:func:`open_stored_split`)."""

    model_id: str
    model: Recommender
    dataset: Any
    split: Any
    meta: dict
    store: Any

    def describe(self, result: EvaluationResult) -> None:
        """Fill a result's protocol (split, seed, model id...) and model from this one."""
        info = (self.meta.get("extra") or {}).get("split") or {}
        result.model = self.model
        result.protocol.update(
            {
                "split": info["spec"],
                "seed": info.get("seed"),
                "fit_seconds": self.meta.get("fit_seconds"),
                "algorithm": self.meta.get("algorithm"),
                "params": self.meta.get("params"),
                "dataset": self.dataset.name,
                "fingerprint": self.dataset.fingerprint,
                "versions": library_versions(),
                "model_id": self.model_id,
            }
        )


def open_stored_split(
    model_id: str, *, store: Any = None, progress: Progress | None = None
) -> StoredSplit:
    """A stored model, its dataset and the split it was trained on (rebuilt from its meta),
    with the split's train part attached; a UserError naming the fix for a model trained on
    the whole dataset."""
    from ..errors import UserError
    from ..store import ModelStore

    store = store if store is not None else ModelStore()
    meta = store.meta(model_id)
    info = (meta.get("extra") or {}).get("split") or {}
    if not info.get("spec"):
        trained_on = meta.get("dataset_label") or meta.get("dataset")
        raise UserError(
            f"Model {model_id} was trained on all of {trained_on}, so any held-out split "
            f"overlaps its training data; run `evaluate {meta.get('dataset')} "
            f"{meta.get('algorithm')} --save` to store a model trained on a split."
        )
    model, dataset = store.open(model_id, progress=progress)
    split = _split_for(dataset, info["spec"], info.get("seed"))
    model.attach(split.train)  # history-based families score from the attached interactions
    return StoredSplit(model_id, model, dataset, split, meta, store)


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value.item() if isinstance(value, np.generic) else value
            for key, value in params.items()}


def _scaled(progress: Progress | None, low: float, high: float) -> Progress | None:
    if progress is None:
        return None

    def scaled(fraction: float, message: str = "") -> None:
        progress(low + (high - low) * min(max(float(fraction), 0.0), 1.0), message)

    return scaled


# ------------------------------------------------------------------------- learning curves
EPOCH_PARAMS = {"als": "iterations", "bpr": "iterations", "lmf": "iterations",
                "lightfm": "epochs"}
"""The parameter that counts epochs for each family with learning curves."""


def learning_curve(
    dataset: Any,
    algorithm: str,
    params: dict[str, Any] | None = None,
    split_spec: str = "holdout:5",
    k: int = 10,
    metric: str = "precision",
    seed: int | None = 0,
    progress: Progress | None = None,
    *,
    preset: str | None = None,
    max_users: int | None = 2000,
    every: int = 1,
    split: Any = None,
) -> pd.DataFrame:
    """A metric per epoch on the train and test parts, as a tidy frame for plotting.

    The model is fitted once on the split's train part; after every ``every`` epochs (through the
    adapter's ``on_epoch`` callback) ``metric`` is computed on the test part (training items
    excluded) and on the train part itself (nothing excluded, as in the WRMF post). For ``als``
    the rows also hold ``mse`` (:func:`dense_mse`: the post's MSE over every cell of the sampled
    users' rows) on train and test, and ``loss`` (implicit's weighted training loss) on train.

    Parameters
    ----------
    metric : str
        One of :data:`ACCURACY_METRICS` or ``"auc_full"``.
    max_users : int or None
        Evaluate a fixed random sample of this many test users each epoch (drawn with ``seed``);
        None for all.
    every : int
        Evaluate every this many epochs (and always after the last).

    Returns
    -------
    pd.DataFrame
        Columns ``epoch`` (int, 1-based), ``split`` ("train" / "test"), ``metric``, ``value``;
        one row per (epoch, split, metric).
    """
    from ..algorithms import get_algorithm, parse_params
    from ..training import fit_model

    if metric not in ACCURACY_METRICS and metric != "auc_full":
        raise ParameterError(
            f"Unknown metric {metric!r}; use one of {', '.join(ACCURACY_METRICS)}, auc_full."
        )
    cls = get_algorithm(algorithm)
    if "epochs" not in cls.capabilities and algorithm not in EPOCH_PARAMS:
        raise ParameterError(
            f"{algorithm} trains in one step, so it has no learning curve; use one of "
            f"{', '.join(EPOCH_PARAMS)}."
        )
    values = parse_params(algorithm, params, preset)
    total_epochs = int(values.get(EPOCH_PARAMS.get(algorithm, "iterations"), 0) or 0)
    if split is None:
        split = _split_for(dataset, split_spec, seed)
    rng = np.random.default_rng(seed)
    test_users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    if max_users is not None and len(test_users) > max_users:
        test_users = np.sort(rng.choice(test_users, size=int(max_users), replace=False))
    rows: list[dict[str, Any]] = []
    every = max(1, int(every))
    seen_epochs: list[int] = []

    def on_epoch(epoch: int, model: Recommender) -> None:
        seen_epochs.append(epoch)
        if epoch % every and epoch != total_epochs:
            return None
        full = metric == "auc_full"
        on_test = evaluate(model, split.train, split.test, k, users=test_users,
                           item_vectors=None, full_auc=full)
        on_train = evaluate(model, None, split.train, k, users=test_users,
                            item_vectors=None, full_auc=full)
        rows.append({"epoch": epoch, "split": "train", "metric": metric,
                     "value": on_train.metrics[metric]})
        rows.append({"epoch": epoch, "split": "test", "metric": metric,
                     "value": on_test.metrics[metric]})
        if algorithm == "als":
            rows.append({"epoch": epoch, "split": "train", "metric": "mse",
                         "value": dense_mse(model, split.train, test_users)})
            rows.append({"epoch": epoch, "split": "test", "metric": "mse",
                         "value": dense_mse(model, split.test, test_users)})
            loss = als_training_loss(model, split.train)
            if loss is not None:
                rows.append({"epoch": epoch, "split": "train", "metric": "loss", "value": loss})
        if progress is not None and total_epochs:
            progress(min(epoch / total_epochs, 1.0), f"Epoch {epoch} of {total_epochs}")
        return None

    fit_model(
        dataset,
        algorithm,
        values,
        interactions=split.train,
        ratings=_train_ratings(dataset, split, algorithm),
        on_epoch=on_epoch,
    )
    if not seen_epochs:
        raise NotImplementedError(
            f"The {algorithm} adapter does not call on_epoch yet, so it has no learning curve."
        )
    frame = pd.DataFrame(rows, columns=["epoch", "split", "metric", "value"])
    frame["epoch"] = frame["epoch"].astype(np.int64)
    if progress is not None:
        progress(1.0, "Done")
    return frame


def dense_mse(
    model: Recommender,
    matrix: sp.csr_matrix,
    users: np.ndarray | None = None,
    block_size: int | None = None,
) -> float:
    """The WRMF post's MSE: over every cell of the given rows (default all), the squared
    difference between ``matrix`` (its values, 0 where it has no entry) and the model's score.

    Computed per block as ``sum(s**2) - 2 sum(s * v) + sum(v**2)`` over the stored entries, so
    the dense matrix is never built.
    """
    matrix = _as_csr(matrix, "matrix")
    n_items = matrix.shape[1]
    users = np.arange(matrix.shape[0]) if users is None else np.asarray(users, dtype=np.int64)
    if block_size is None:
        block_size = max(16, _BLOCK_BUDGET // max(n_items, 1))
    total = 0.0
    for first in range(0, len(users), block_size):
        block = users[first : first + block_size]
        scores = np.asarray(model._score_users(block), dtype=np.float64)
        row_of, cols, positions = _row_entries(matrix, block)
        values = matrix.data[positions].astype(np.float64)
        total += float(np.einsum("ij,ij->", scores, scores))
        total += float((values**2).sum() - 2.0 * (scores[row_of, cols] * values).sum())
    cells = len(users) * n_items
    return total / cells if cells else float("nan")


def als_training_loss(model: Recommender, train: sp.csr_matrix) -> float | None:
    """implicit's normalised WRMF training loss of an ``als`` model (None if not applicable).

    Computed on the matrix the adapter hands to implicit's ``fit`` (its confidences), with
    ``implicit.cpu._als.calculate_loss``: the same number ``calculate_training_loss`` logs.
    """
    library = getattr(model, "model_", None)
    make_matrix = getattr(model, "_training_matrix", None)
    params = model.get_params()
    if library is None or make_matrix is None or "regularization" not in params:
        return None
    try:
        from implicit.cpu._als import calculate_loss
    except ImportError:  # pragma: no cover - implicit is a dependency
        return None
    matrix = sp.csr_matrix(train, dtype=np.float32, copy=True)
    matrix.sort_indices()
    confidence = sp.csr_matrix(make_matrix(matrix), dtype=np.float32)
    return float(
        calculate_loss(
            confidence,
            np.ascontiguousarray(library.user_factors, dtype=np.float32),
            np.ascontiguousarray(library.item_factors, dtype=np.float32),
            float(params["regularization"]),
            num_threads=1,
        )
    )


# ---------------------------------------------------------------------------------- slices
SLICE_METRICS = ("precision", "precision_implicit", "recall", "ndcg", "map", "hit_rate", "mrr")
"""The accuracy metrics :func:`slice_metrics` reports per slice (same definitions as above)."""


def slice_metrics(
    model: Recommender,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    k: int = 10,
    *,
    result: EvaluationResult | None = None,
    head_fraction: float = 0.2,
    block_size: int | None = None,
) -> pd.DataFrame:
    """Accuracy on slices of one evaluation: light vs heavy users, popular vs long-tail items.

    - Users: the evaluated users split at the median of their training activity (``n_train``):
      light users have at most the median, heavy users more.
    - Items: the ``head_fraction`` most popular items of the catalogue by training users (ties
      by lower index) are "popular", the rest "long tail". Each slice scores the same top-k
      lists against only the test items in it (a user without such a test item is not in it),
      so long-tail recall is the share of long-tail test items the model recovers.

    Parameters
    ----------
    model : Recommender
        Fitted on ``train``.
    train, test : csr_matrix, shape [n_users, n_items]
        The split the model was evaluated on.
    k : int
        List length.
    result : EvaluationResult, optional
        ``evaluate(model, train, test, k)`` when already computed (its ``per_user`` gives the
        user slices); computed here otherwise.
    head_fraction : float
        Share of the catalogue counted as popular, in (0, 1).

    Returns
    -------
    pd.DataFrame
        One row per slice, in the order light users, heavy users, popular items, long-tail
        items: ``group`` ("users" / "items"), ``slice``, ``definition`` (one line),
        ``n_users``, ``n_test_interactions``, and :data:`SLICE_METRICS` (NaN for an empty
        slice). ``precision_implicit`` is micro-averaged, the rest are means over the slice's
        users.
    """
    if not 0 < head_fraction < 1:
        raise ParameterError(f"head_fraction needs to be between 0 and 1, got {head_fraction}.")
    train, test = _as_csr(train, "train"), _as_csr(test, "test")
    k = int(k)
    if result is None:
        result = evaluate(model, train, test, k, item_vectors=None, block_size=block_size)
    per_user = result.per_user
    rows = []
    activity = per_user["n_train"].to_numpy()
    median = float(np.median(activity)) if len(activity) else 0.0
    light = activity <= median
    shown = f"{median:g}"
    rows.append(_slice_row("users", "light users", f"at most {shown} training items",
                           per_user[light], k))
    rows.append(_slice_row("users", "heavy users", f"more than {shown} training items",
                           per_user[~light], k))

    n_items = train.shape[1]
    popularity = _item_counts(train.indices, n_items)
    n_head = min(max(1, int(round(head_fraction * n_items))), n_items - 1)
    head = np.zeros(n_items, dtype=bool)
    head[np.argsort(-popularity, kind="stable")[:n_head]] = True
    in_head = head[test.indices]
    total = max(int(test.nnz), 1)
    for name, keep, share in (("popular items", in_head, n_head),
                              ("long-tail items", ~in_head, n_items - n_head)):
        part = test.copy()
        part.data = np.where(keep, part.data, 0).astype(part.data.dtype)
        part.eliminate_zeros()
        definition = (
            f"{'the' if name.startswith('popular') else 'the other'} {share:,} items "
            f"({share / n_items:.0%} of the catalogue, {keep.sum() / total:.0%} of test "
            "interactions)"
        )
        if part.nnz == 0:
            rows.append(_slice_row("items", name, definition, per_user.iloc[:0], k))
            continue
        sliced = evaluate(model, train, part, k, item_vectors=None, block_size=block_size)
        rows.append(_slice_row("items", name, definition, sliced.per_user, k))
    return pd.DataFrame(rows)


def _slice_row(group: str, name: str, definition: str, per_user: pd.DataFrame, k: int) -> dict:
    row: dict[str, Any] = {
        "group": group,
        "slice": name,
        "definition": definition,
        "n_users": int(len(per_user)),
        "n_test_interactions": int(per_user["n_test"].sum()) if len(per_user) else 0,
    }
    if len(per_user) == 0:
        row.update({metric: float("nan") for metric in SLICE_METRICS})
        return row
    for metric in SLICE_METRICS:
        row[metric] = _accuracy(per_user, metric, k)
    return row


__all__ = [
    "ACCURACY_METRICS",
    "BEYOND_ACCURACY",
    "CONVENTIONS",
    "EPOCH_PARAMS",
    "METRICS",
    "METRICS_VERSION",
    "METRIC_INFO",
    "EvaluationResult",
    "als_training_loss",
    "evaluate",
    "evaluate_model",
    "evaluate_stored",
    "open_stored_split",
    "StoredSplit",
    "save_result",
    "split_variant",
    "learning_curve",
    "dense_mse",
    "protocol_key",
    "SLICE_METRICS",
    "slice_metrics",
    "upgrade_per_user",
    "upgrade_stored_metrics",
]
