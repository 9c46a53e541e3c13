"""The re-ranking layer (``recsys_core.rerank``): its settings string, the dials against slow
references written from their definitions, the filters, the evaluation hook and the stored
sweep; and what the issue measures on the demo (ALS, holdout:5, k = 10)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_core import rerank
from recsys_core.dataset import Dataset
from recsys_core.errors import ParameterError, UserError
from recsys_core.evaluation import (
    block_scores,
    evaluate,
    evaluate_model,
    evaluate_stored,
    protocol_key,
    save_result,
    split_for,
)
from recsys_core.rerank import Reranker, RerankSettings, parse_rerank
from recsys_core.rerank.calibration import Calibration, OnePenalties
from recsys_core.rerank.greedy import Similarity, greedy_categories, greedy_vectors
from recsys_core.store import ModelStore
from recsys_core.sweep import SWEEP_METRICS, sweep, sweep_stored
from recsys_core.training import fit_model
from recsys_core.util.topk import top_k


# ----------------------------------------------------------------------------- the settings
def test_parse_and_canonical_string():
    got = RerankSettings.parse(" diversity = 0.30, popularity=.5 ,exclude-category=Music|Food ")
    assert got.popularity == 0.5 and got.diversity == 0.3 and got.calibration == 0.0
    assert got.exclude_categories == ("Food", "Music")
    assert str(got) == "popularity=0.5,diversity=0.3,exclude_category=Food|Music"
    assert RerankSettings.parse(str(got)) == got
    assert str(RerankSettings.parse("popularity=0,diversity=0.0")) == ""
    assert RerankSettings.parse("").is_identity and RerankSettings.parse(None).is_identity
    assert RerankSettings.parse("popularity=0.12345").popularity == 0.123
    repeated = RerankSettings.parse("exclude_category=A,exclude_category=B|A")
    assert repeated.exclude_categories == ("A", "B")


def test_names_with_separators_round_trip():
    odd = RerankSettings(
        only_categories=("Arts, crafts", "a|b", "x=y", "50%"),
        exclude_items=("i,1",),
        min_popularity=3,
        max_popularity=40,
    )
    text = str(odd)
    assert text.count(",") == 3  # only the separators of the four settings
    assert RerankSettings.parse(text) == odd


@given(
    dials=st.tuples(*(st.floats(0, 1, allow_nan=False) for _ in range(3))),
    names=st.lists(st.text(min_size=1, max_size=8).filter(lambda t: t.strip()), max_size=3),
    low=st.one_of(st.none(), st.integers(0, 50)),
)
@settings(max_examples=80, deadline=None)
def test_any_settings_round_trip_through_their_string(dials, names, low):
    made = RerankSettings(*dials, exclude_categories=names, only_tags=names[:1], min_popularity=low)
    again = RerankSettings.parse(str(made))
    assert again == made
    assert str(again) == str(made)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("popularity=1.5", "popularity dial needs a number from 0 to 1"),
        ("diversity=-0.1", "diversity dial needs a number from 0 to 1"),
        ("calibration=nan", "calibration dial needs a number from 0 to 1"),
        ("popularity=high", "popularity dial needs a number from 0 to 1"),
        ("popularty=0.5", "did you mean popularity"),
        ("colour=red", "Unknown re-ranking setting 'colour'"),
        ("diversity", "needs a value, as in diversity=0.5"),
        ("exclude_category=", "needs a value"),
        ("popularity=0.2,popularity=0.4", "given twice"),
        ("min_popularity=2.5", "whole number"),
        ("max_popularity=-1", "whole number"),
        ("min_popularity=9,max_popularity=3", "no item can pass both"),
    ],
)
def test_bad_settings_are_one_sentence(text, words):
    with pytest.raises(ParameterError) as caught:
        RerankSettings.parse(text)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message and message.endswith(".")


def test_cli_flags_join_the_string():
    got = parse_rerank("popularity=0.5", exclude_categories=["Food"], only_categories=["a,b"])
    assert got.exclude_categories == ("Food",) and got.only_categories == ("a,b",)
    assert RerankSettings.parse(str(got)) == got


def test_protocol_keys_keep_reranked_metrics_apart():
    plain = protocol_key("holdout:5", 0, 10)
    keyed = protocol_key("holdout:5", 0, 10, RerankSettings(popularity=0.5))
    assert plain == "holdout:5:seed=0@k=10"
    assert keyed == "holdout:5:seed=0@k=10|rerank:popularity=0.5"
    assert protocol_key("holdout:5", 0, 10, RerankSettings()) == plain
    assert rerank.split_protocol_key(keyed) == (plain, "popularity=0.5")
    assert rerank.split_protocol_key(plain) == (plain, "")
    assert rerank.protocol_key_with(plain, "diversity=0.3") == plain + "|rerank:diversity=0.3"


# ------------------------------------------------------------------------ a small dataset
def small_dataset(seed: int = 0, n_users: int = 40, n_items: int = 60) -> Dataset:
    """Random likes with a long tail; items in 4 categories (a few without one) and tags."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1)
    rows = []
    for user in range(n_users):
        liked = rng.choice(
            n_items, size=int(rng.integers(3, 12)), replace=False, p=weights / weights.sum()
        )
        rows += [(f"u{user}", f"i{item}") for item in liked]
    frame = pd.DataFrame(rows, columns=["user", "item"])
    categories = np.array(["Food", "Music", "Art", "Sport"])[np.arange(n_items) % 4]
    categories[::13] = ""
    items = pd.DataFrame(
        {
            "item_id": [f"i{j}" for j in range(n_items)],
            "category": categories,
            "tags": [["even" if j % 2 == 0 else "odd", f"t{j % 3}"] for j in range(n_items)],
        }
    )
    return Dataset.from_frame("small", frame, items)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small dataset read from files (so the store can reopen it) and an ALS model."""
    from recsys_core.datasets import load_dataset

    made = small_dataset()
    folder = tmp_path_factory.mktemp("small")
    rows, cols = made.interactions.nonzero()
    pd.DataFrame({"user": made.user_ids[rows], "item": made.item_ids[cols]}).to_csv(
        folder / "small.csv", index=False
    )
    items = made.items[["item_id", "category"]].assign(tags=made.items["tags"].map("|".join))
    items.to_csv(folder / "small-items.csv", index=False)
    source = {
        "spec": str(folder / "small.csv"),
        "data_dir": None,
        "options": {"items_path": str(folder / "small-items.csv")},
    }
    dataset = load_dataset(source["spec"], **source["options"])
    assert dataset.n_items == made.n_items and dataset.items["tags"].map(len).min() == 2
    dataset.extras["source"] = source  # what the store records to reopen it
    model = fit_model(dataset, "als", {"factors": 8, "iterations": 5, "random_state": 0})
    return dataset, model


def test_resolve_takes_the_datasets_spelling_and_names_unknowns(small):
    dataset, _ = small
    got = RerankSettings(exclude_categories=("food",), only_tags=("EVEN",)).resolve(dataset)
    assert got.exclude_categories == ("Food",) and got.only_tags == ("even",)
    with pytest.raises(ParameterError) as caught:
        RerankSettings(only_categories=("Fodo",)).resolve(dataset)
    assert str(caught.value) == f"No category 'Fodo' in {dataset.label}; the closest are Food."
    with pytest.raises(ParameterError, match="No tag 'evn'"):
        RerankSettings(exclude_tags=("evn",)).resolve(dataset)
    with pytest.raises(ParameterError, match="Item 'nope' is not in"):
        RerankSettings(exclude_items=("nope",)).resolve(dataset)


def test_filters_leave_out_exactly_what_they_name(small):
    dataset, model = small
    items = dataset.items
    popularity = np.bincount(dataset.interactions.indices, minlength=dataset.n_items)
    cases = {
        "exclude_category=Food|Art": ~items["category"].isin(["Food", "Art"]),
        "only_category=Music": items["category"] == "Music",
        "exclude_tag=even": items["tags"].map(lambda t: "even" not in t),
        "only_tag=t1|t2": items["tags"].map(lambda t: bool({"t1", "t2"} & set(t))),
        "exclude_item=i0|i5": ~items["item_id"].isin(["i0", "i5"]),
        "min_popularity=2,max_popularity=6": (popularity >= 2) & (popularity <= 6),
    }
    for text, wanted in cases.items():
        reranker = Reranker(text, model, dataset)
        np.testing.assert_array_equal(reranker.allowed, np.asarray(wanted, bool), err_msg=text)
        for dials in ("", ",popularity=0.7,diversity=0.4,calibration=0.3"):
            both = Reranker(text + dials, model, dataset)
            for user in range(dataset.n_users):
                seen = set(dataset.interactions[user].indices.tolist())
                left = set(np.flatnonzero(both.allowed).tolist()) - seen
                got, scores = both.recommend(user, 5)
                assert len(got) == min(5, len(left)), (text + dials, user)
                assert set(got.tolist()) <= left and len(set(got.tolist())) == len(got)
                assert scores.dtype == np.float32 and got.dtype == np.int64


def test_similar_and_history_queries_keep_the_filters(small):
    dataset, model = small
    reranker = Reranker("exclude_category=Music,diversity=0.5,popularity=0.3", model, dataset)
    music = set(np.flatnonzero(dataset.items["category"] == "Music").tolist())
    for item in range(0, dataset.n_items, 7):
        got, _ = reranker.similar_items(item, 8)
        assert len(got) == 8 and not music & set(got.tolist()) and item not in got
    history = np.array([1, 2, 3])
    got, _ = Reranker(
        "exclude_category=Music,calibration=0.6", model, dataset
    ).recommend_for_history(history, 8)
    assert len(got) == 8 and not music & set(got.tolist()) and not {1, 2, 3} & set(got)


def test_identity_settings_are_the_model_itself(small):
    dataset, model = small
    for user in range(0, dataset.n_users, 3):
        want = model.recommend(user, 6)
        for got in (
            rerank.recommend(model, dataset, user, 6, "popularity=0"),
            Reranker("diversity=0,calibration=0", model, dataset).recommend(user, 6),
        ):
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        rerank.similar_items(model, dataset, 4, 5, None)[0], model.similar_items(4, 5)[0]
    )


@pytest.mark.parametrize(
    "text",
    [
        "popularity=0.6",
        "diversity=0.5",
        "calibration=0.7",
        "diversity=1,calibration=0.4",
        "popularity=0.3,diversity=0.3,calibration=0.3,exclude_tag=t0",
    ],
)
def test_one_user_and_a_block_choose_the_same(small, text):
    dataset, model = small
    reranker = Reranker(text, model, dataset)
    users = np.arange(dataset.n_users)
    scores = block_scores(model, dataset.interactions, users)
    block = reranker.select(scores, users, 7)
    for user in users:
        one, _ = reranker.recommend(int(user), 7)
        np.testing.assert_array_equal(one, block[user][block[user] >= 0])


# ------------------------------------------------------------------ the dials, by definition
ALPHA = 0.01


def reference_kl(target: np.ndarray, codes: list[int]) -> float:
    """Steck's miscalibration KL(p || (1 - a) q + a p) of a list's categories (codes >= 0)."""
    counts = np.bincount([c for c in codes if c >= 0], minlength=len(target)).astype(float)
    q = counts / counts.sum() if counts.sum() else counts
    smoothed = (1 - ALPHA) * q + ALPHA * target
    return float(sum(p * math.log(p / s) for p, s in zip(target, smoothed) if p > 0))


def reference_rerank(scores, ids, k, tail, unit, codes, target, p, d, c):
    """The dials as written in docs/METRICS.md, one candidate at a time (slow, obvious)."""
    m = len(ids)
    rel = (scores - scores.min()) / (scores.max() - scores.min())
    base = [(1 - p) * rel[i] + p * tail[ids[i]] for i in range(m)]
    order = sorted(range(m), key=lambda i: -base[i])  # stable: model order on ties

    def sim(i, j):
        if unit is not None:
            return float(unit[ids[i]].astype(float) @ unit[ids[j]].astype(float))
        a, b = codes[ids[i]], codes[ids[j]]
        return 1.0 if a >= 0 and a == b else 0.0

    def greedy(dd):
        chosen = []
        for _ in range(min(k, m)):
            best, best_gain = None, -math.inf
            for i in order:
                if i in chosen:
                    continue
                near = max((sim(i, j) for j in chosen), default=0.0)
                gain = (1 - c) * ((1 - dd) * base[i] - dd * near)
                if c > 0 and target is not None and target.sum() > 0:
                    gain -= c * reference_kl(target, [codes[ids[j]] for j in chosen + [i]])
                if gain > best_gain + 1e-12:
                    best, best_gain = i, gain
            chosen.append(best)
        return chosen

    def spread(chosen):
        pairs = [(i, j) for i in chosen for j in chosen if i != j]
        return sum(1 - sim(i, j) for i, j in pairs) / len(pairs) if pairs else 0.0

    if d == 0 and (c == 0 or target is None):
        return [ids[i] for i in order[:k]]
    chosen = greedy(d)
    if d > 0:
        plain = greedy(0.0) if c > 0 else order[:k]
        if spread(chosen) < spread(plain) - 1e-6:
            chosen = plain
    return [ids[i] for i in chosen]


class VectorModel:
    """Just enough of a model for a Reranker: item vectors (or none)."""

    def __init__(self, vectors):
        self.vectors, self.user_items_ = vectors, None

    def supports(self, capability):
        return capability == "item_vectors" and self.vectors is not None

    def item_vectors(self):
        return self.vectors


@pytest.mark.parametrize("use_vectors", [True, False])
@pytest.mark.parametrize(
    "dials",
    [
        (0.5, 0, 0),
        (1, 0, 0),
        (0, 0.5, 0),
        (0, 1, 0),
        (0, 0, 0.5),
        (0, 0, 1),
        (0.3, 0.4, 0.5),
        (0.2, 0.7, 0),
    ],
)
def test_dials_match_their_definition(small, use_vectors, dials):
    dataset, _ = small
    rng = np.random.default_rng(int(sum(dials) * 100) + use_vectors)
    vectors = rng.normal(size=(dataset.n_items, 5)).astype(np.float32) if use_vectors else None
    p, d, c = dials
    reranker = Reranker(RerankSettings(p, d, c), VectorModel(vectors), dataset)
    unit = reranker.vectors if use_vectors else None
    codes = reranker.codes
    users = np.arange(12)
    scores = rng.normal(size=(len(users), dataset.n_items)).astype(np.float32)
    pools = top_k(scores, 25)[0]
    for row, user in enumerate(users):
        ids = pools[row]
        row_scores = scores[row, ids].astype(np.float64)
        history = dataset.interactions[int(user)].indices
        target = reranker.target_of(history)[0]
        want = reference_rerank(row_scores, ids, 8, reranker.tail, unit, codes, target, p, d, c)
        got, _ = reranker.rerank_one(ids, scores[row, ids], 8, target[None, :])
        assert got.tolist() == [int(i) for i in want], (dials, row)


def test_calibration_penalties_differ_as_the_full_kl():
    """Each candidate's penalty is the list's KL with it added, up to a constant per row."""
    rng = np.random.default_rng(5)
    target = rng.dirichlet(np.ones(5), size=4)
    target[0, 2] = 0.0
    target[0] /= target[0].sum()
    candidates = np.tile([0, 1, 2, 3, 4, -1], (4, 1))
    for calibration in (1.0, 0.4):
        calibrated = Calibration(target, candidates, calibration)
        listed = [[] for _ in range(4)]
        for _ in range(3):  # after 0, 1 and 2 items chosen
            got = calibrated.penalty()
            for row in range(4):
                full = [reference_kl(target[row], listed[row] + [int(c)]) for c in candidates[row]]
                np.testing.assert_allclose(
                    got[row] - got[row, 0], calibration * (np.array(full) - full[0]), atol=1e-9
                )
            picked = rng.integers(-1, 5, size=4)
            calibrated.add(np.arange(4), picked)
            for row in range(4):
                listed[row].append(int(picked[row]))


@given(
    seed=st.integers(0, 10_000),
    low=st.floats(0, 1),
    high=st.floats(0, 1),
    k=st.integers(1, 12),
    filtered=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_popularity_dial_never_raises_mean_popularity(seed, low, high, k, filtered):
    """For every list, mean popularity at a higher dial <= at a lower one <= the model's."""
    dataset = small_dataset(seed % 7)
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(10, dataset.n_items)).astype(np.float32)
    low, high = sorted((low, high))
    extra = ",exclude_category=Art" if filtered else ""
    lists = [
        Reranker(f"popularity={value}{extra}", VectorModel(None), dataset).select(
            scores.copy(), np.arange(10), k
        )
        for value in (0.0, low, high)
    ]
    popularity = np.bincount(dataset.interactions.indices, minlength=dataset.n_items)
    means = [np.where(ids >= 0, popularity[np.maximum(ids, 0)], 0).sum(axis=1) for ids in lists]
    assert np.all(means[1] <= means[0] + 1e-9) and np.all(means[2] <= means[1] + 1e-9)


@given(
    seed=st.integers(0, 10_000),
    dial=st.floats(0.01, 1),
    k=st.integers(2, 12),
    use_vectors=st.booleans(),
    others=st.sampled_from(["", ",popularity=0.5", ",calibration=0.5"]),
)
@settings(max_examples=60, deadline=None)
def test_diversity_dial_never_lowers_diversity(seed, dial, k, use_vectors, others):
    """Every list is at least as diverse (mean pairwise 1 - similarity, in the dial's own
    similarity) as the list the same settings give without the diversity dial."""
    dataset = small_dataset(seed % 7)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(dataset.n_items, 4)).astype(np.float32) if use_vectors else None
    scores = rng.normal(size=(10, dataset.n_items)).astype(np.float32)
    users = np.arange(10)
    with_dial = Reranker(f"diversity={dial}{others}", VectorModel(vectors), dataset)
    without = Reranker(others.strip(","), VectorModel(vectors), dataset)
    a = with_dial.select(scores.copy(), users, k)
    b = without.select(scores.copy(), users, k)
    similarity = with_dial.similarity(
        np.maximum(np.concatenate([a, b], 1), 0), np.concatenate([a, b], 1) >= 0
    )
    positions = np.arange(2 * k)
    spread_a = similarity.spread(np.where(a >= 0, positions[:k], -1))
    spread_b = similarity.spread(np.where(b >= 0, positions[k:], -1))
    assert np.all(spread_a >= spread_b - 1e-6)


# ------------------------------------------------- the fast paths choose as the plain ones
def reference_pool(scores: np.ndarray, m: int) -> np.ndarray:
    """Each row's m best finite scores, best first, ties by lower index; -1 padding."""
    out = np.full((len(scores), m), -1, dtype=np.int64)
    for row, values in enumerate(scores):
        finite = np.flatnonzero(np.isfinite(values))
        order = finite[np.lexsort((finite, -values[finite]))][:m]
        out[row, : len(order)] = order
    return out


@pytest.mark.parametrize("n_items", [60, 130, 420, 2000])
@pytest.mark.parametrize("ties", ["none", "some", "many"])
def test_pool_is_the_best_m_of_each_row(n_items, ties):
    """The sampled bound of ``Reranker.pool`` (and its exact fallback for rows where fewer than m
    scores, or too many tied ones, reach it) gives each row's m best, ties by lower index;
    -inf and NaN never enter."""
    dataset = small_dataset(1, n_users=30, n_items=n_items)
    reranker = Reranker("popularity=0.5", VectorModel(None), dataset)
    rng = np.random.default_rng(n_items)
    scores = rng.normal(size=(30, n_items)).astype(np.float32)
    if ties == "some":
        scores = np.round(scores, 1)
    elif ties == "many":
        scores = rng.integers(0, 4, size=scores.shape).astype(np.float32)
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    scores[3, : n_items - 20] = -np.inf  # a row with fewer than m candidates
    scores[4, rng.random(n_items) < 0.5] = np.nan
    scores[5] = 0.0
    scores[5, ::3] = -0.0  # -0 and +0 tie, the lower index first
    for m in (10, 50):
        m = min(m, n_items)
        pool, values = reranker.pool(scores.copy(), m)
        want = reference_pool(scores, m)
        np.testing.assert_array_equal(pool, want)
        gathered = np.where(want >= 0, scores[np.arange(30)[:, None], np.maximum(want, 0)], -np.inf)
        np.testing.assert_array_equal(values, gathered.astype(np.float32))


class PlainCalibration:
    """The calibration term as first written: every category's term at every step."""

    def __init__(self, target, codes, calibration):
        b, n_codes = target.shape
        self.target, self.codes = target, codes
        self.scale = np.where(target.sum(axis=1) > 0, calibration, 0.0)[:, None]
        self.weight = -target * self.scale
        self.smoothed = ALPHA * target + (target == 0)
        self.counts, self.n = np.zeros((b, n_codes)), np.zeros((b, 1))
        self.out = np.zeros((b, n_codes + 1))
        column = np.where(codes >= 0, codes, n_codes)
        self.flat = np.arange(b)[:, None] * (n_codes + 1) + column

    def penalty(self):
        share = (1.0 - ALPHA) / (self.n + 1.0)
        after = self.counts * share
        after += self.smoothed
        part = self.out[:, :-1]
        np.divide(share, after, out=part)
        np.log1p(part, out=part)
        part *= self.weight
        if (self.codes < 0).any():
            unchanged = self.counts * ((1.0 - ALPHA) / np.maximum(self.n, 1.0)) + self.smoothed
            change = self.target * (np.log(after) - np.log(unchanged))
            self.out[:, -1] = change.sum(axis=1) * self.scale[:, 0]
        return np.take(self.out, self.flat)

    def add(self, rows, codes):
        known = codes >= 0
        self.counts[rows[known], codes[known]] += 1.0
        self.n[rows[known]] += 1.0


def plain_greedy(base, valid, k, diversity, vectors, codes_similar, calibration, target, codes):
    """The greedy over every candidate at every step, as first written (the gains of
    ``docs/METRICS.md``, argmax: the first position on ties)."""
    b, m = base.shape
    rows = np.arange(b)
    relevance = np.where(valid, base, 0.0) * ((1.0 - diversity) * (1.0 - calibration))
    closed = np.where(valid, 0.0, -np.inf)
    nearest = None
    weight = diversity * (1.0 - calibration)
    calibrated = PlainCalibration(target, codes, calibration) if calibration > 0 else None
    chosen = np.full((b, k), -1, dtype=np.int64)
    for step in range(k):
        gain = relevance + closed
        if nearest is not None:
            gain -= weight * nearest
        if calibrated is not None:
            gain -= calibrated.penalty()
        pick = np.argmax(gain, axis=1)
        ok = gain[rows, pick] > -np.inf
        if not ok.any():
            break
        live, live_pick = rows[ok], pick[ok]
        chosen[live, step] = live_pick
        closed[live, live_pick] = -np.inf
        if diversity > 0 and step + 1 < k:
            if vectors is not None:
                own = vectors[live]
                near = np.matmul(own, own[np.arange(len(own)), live_pick][:, :, None])[:, :, 0]
            else:
                own = codes_similar[live]
                picked = own[np.arange(len(own)), live_pick]
                near = ((own == picked[:, None]) & (picked >= 0)[:, None]).astype(np.float32)
            if nearest is None:
                nearest = np.zeros((b, m))
            nearest[live] = np.maximum(nearest[live], near) if step else near
        if calibrated is not None:
            calibrated.add(live, codes[live, live_pick])
    return chosen


def plain_rerank(reranker, ids, scores, k, target):
    """``Reranker.rerank_block`` as first written: the plain greedy, twice with diversity and
    calibration (the list without the diversity dial for the check)."""
    s = reranker.settings
    valid = (ids >= 0) & np.isfinite(scores)
    k = min(k, ids.shape[1])
    low = np.where(valid, scores, np.inf).min(axis=1, keepdims=True).astype(np.float64)
    high = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True).astype(np.float64)
    spread = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        relevance = np.where(valid & (spread > 0), (scores - low) / spread, 1.0)
    base = relevance
    if s.popularity > 0:
        base = (1.0 - s.popularity) * relevance + s.popularity * reranker.tail[np.maximum(ids, 0)]
    base = np.where(valid, base, -np.inf)
    diversify = s.diversity > 0 and reranker.similarity_source != "none"
    calibrate = target is not None and s.calibration > 0 and reranker.codes is not None
    order = np.argsort(-base, axis=1, kind="stable")
    if not diversify and not calibrate:
        order = order[:, :k]
        return np.where(np.take_along_axis(valid, order, axis=1), order, -1)
    base = np.take_along_axis(base, order, axis=1)
    valid = np.take_along_axis(valid, order, axis=1)
    ids = np.take_along_axis(ids, order, axis=1)
    similarity = reranker.similarity(ids, valid) if diversify else None
    codes = reranker.codes[np.maximum(ids, 0)] if calibrate else None
    c = s.calibration if calibrate else 0.0
    d = s.diversity if diversify else 0.0
    vectors = similarity.vectors if diversify else None
    similar_codes = similarity.codes if diversify else None
    chosen = plain_greedy(base, valid, k, d, vectors, similar_codes, c, target, codes)
    if diversify:
        if calibrate:
            plain = plain_greedy(base, valid, k, 0.0, None, None, c, target, codes)
        else:
            plain = np.where(valid[:, :k], np.arange(k), -1)
        worse = similarity.spread(chosen) < similarity.spread(plain) - 1e-6
        chosen[worse] = plain[worse]
    return np.where(chosen >= 0, np.take_along_axis(order, np.maximum(chosen, 0), axis=1), -1)


@pytest.mark.parametrize("use_vectors", [True, False])
@pytest.mark.parametrize(
    "text",
    [
        "calibration=0.5",
        "calibration=1",
        "diversity=0.6",
        "diversity=1",
        "diversity=0.4,calibration=0.5",
        "popularity=0.4,diversity=0.3,calibration=0.3",
        "popularity=1,diversity=1,calibration=1",
        "diversity=0.5,calibration=0.7,only_tag=t1",
    ],
)
def test_fast_greedies_choose_as_the_plain_greedy(use_vectors, text):
    """On data full of exact ties (scores from a few values, duplicated vectors, four
    categories and uncategorised items, histories with no categorised item), the block
    greedies (one head per category; a single pass over vectors) and the one-row greedies
    choose exactly what the plain greedy over every candidate chooses."""
    dataset = small_dataset(2, n_users=40, n_items=90)
    rng = np.random.default_rng(len(text) + use_vectors)
    vectors = None
    if use_vectors:
        vectors = rng.integers(-1, 2, size=(dataset.n_items, 3)).astype(np.float32)
        vectors[np.abs(vectors).sum(axis=1) == 0, 0] = 1.0
    reranker = Reranker(text, VectorModel(vectors), dataset)
    users = np.arange(dataset.n_users)
    scores = rng.integers(0, 5, size=(len(users), dataset.n_items)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    scores[7, 20:] = -np.inf  # fewer candidates than k
    for k in (4, 10):
        block = scores.copy()
        block[:, ~reranker.allowed] = -np.inf
        pool, values = reranker.pool(block, rerank.pool_size(k, dataset.n_items))
        target = reranker.history_targets(dataset.interactions[users])
        target[3] = 0.0  # no categorised history: no calibration term
        got = reranker.rerank_block(pool, values, k, target, True)
        want = plain_rerank(reranker, pool, values, k, target)
        np.testing.assert_array_equal(got, want, err_msg=f"{text} k={k}")
        for row in users:
            keep = pool[row] >= 0
            one, _ = reranker.rerank_one(
                pool[row][keep], values[row][keep], k, target[row : row + 1]
            )
            lists = np.where(want[row] >= 0, pool[row][np.maximum(want[row], 0)], -1)
            assert one.tolist() == lists[lists >= 0].tolist(), (text, k, row)


def test_spreads_the_greedy_keeps_are_the_spreads():
    """The diversity check compares spreads the vector greedy sums as it picks (and the first
    k of every row); they are, bit for bit, :meth:`Similarity.spread` of those lists."""
    rng = np.random.default_rng(4)
    for b, m, k in ((30, 50, 10), (7, 20, 20), (12, 9, 4)):
        vectors = rng.normal(size=(b, m, 6)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
        base = -np.sort(-rng.random((b, m)), axis=1)
        valid = np.ones((b, m), dtype=bool)
        valid[0, k // 2 :] = False  # a row that runs out
        base[~valid] = -np.inf
        similarity = Similarity(vectors=vectors)
        for dial in (0.3, 1.0):
            chosen, spread = greedy_vectors(base, valid, k, dial, vectors, 0.0, None, None)
            np.testing.assert_array_equal(spread, similarity.spread(chosen))
        # with calibration, the lists without the diversity term come from the same loop
        target = rng.dirichlet(np.ones(3), size=b)
        codes = rng.integers(-1, 3, size=(b, m))
        both = greedy_vectors(base, valid, k, 0.4, vectors, 0.5, target, codes, with_plain=True)
        alone = greedy_vectors(base, valid, k, 0.4, vectors, 0.5, target, codes)
        plain = greedy_categories(base, valid, k, 0.0, codes, 3, 0.5, target)
        np.testing.assert_array_equal(both[0], alone[0])
        np.testing.assert_array_equal(both[1], alone[1])
        np.testing.assert_array_equal(both[2], plain)
        np.testing.assert_array_equal(both[3], similarity.spread(plain))
        first = np.tile(np.arange(k), (b, 1))
        np.testing.assert_array_equal(similarity.spread_first(k), similarity.spread(first))


def test_block_histories_are_the_rows_histories(small):
    """The calibration targets of a block, read straight from the interactions' arrays, are
    those of the rows' own matrix."""
    dataset, model = small
    reranker = Reranker("calibration=0.5", model, dataset)
    users = np.array([5, 0, 5, 17, dataset.n_users - 1])
    np.testing.assert_array_equal(
        reranker.target_rows(users), reranker.history_targets(dataset.interactions[users])
    )


def test_one_row_calibration_terms_are_the_blocks():
    """The one-row greedy's table of calibration terms holds, bit for bit, what the block's
    ``Calibration`` computes step by step (items without a category included)."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        n_codes, k = int(rng.integers(1, 7)), int(rng.integers(1, 12))
        target = rng.dirichlet(np.ones(n_codes))[None, :]
        target[0, rng.random(n_codes) < 0.3] = 0.0
        if target.sum() == 0:
            target[0, 0] = 1.0
        target /= target.sum()
        codes = np.concatenate([np.arange(n_codes), [-1]])
        block = Calibration(target, codes[None, :], 0.7)
        one = OnePenalties(target, codes, n_codes, 0.7, k)
        counts, n = np.zeros((1, n_codes)), 0
        for _ in range(k):
            np.testing.assert_array_equal(
                np.asarray(one.by_column(counts, n)), block.columns()[:, 0]
            )
            code = int(rng.integers(-1, n_codes))
            block.add(np.zeros(1, dtype=np.int64), np.array([code]))
            if code >= 0:
                counts[0, code] += 1
                n += 1


def test_scores_with_nan_are_never_chosen(small):
    dataset, _ = small
    scores = np.random.default_rng(1).normal(size=(3, dataset.n_items)).astype(np.float32)
    scores[:, :50] = np.nan
    got = Reranker("popularity=0.5", VectorModel(None), dataset).select(scores, np.arange(3), 12)
    left = min(12, dataset.n_items - 50)
    assert np.all((got >= 50) | (got == -1)) and np.all((got >= 0).sum(axis=1) == left)


# ------------------------------------------------------------------------ evaluation hook
@pytest.fixture(scope="module")
def evaluated(small):
    dataset, _ = small
    split = split_for(dataset, "holdout:2", 0)
    result = evaluate_model(
        dataset,
        "als",
        {"factors": 8, "iterations": 5, "random_state": 0},
        "holdout:2",
        5,
        0,
        split=split,
    )
    return dataset, split, result


def test_evaluate_with_identity_rerank_is_plain(evaluated):
    dataset, split, result = evaluated
    again = evaluate_model(
        dataset,
        "als",
        result.protocol["params"],
        "holdout:2",
        5,
        0,
        split=split,
        rerank="popularity=0",
    )
    assert "rerank" not in again.protocol
    for name, value in result.metrics.items():
        assert again.metrics[name] == pytest.approx(value, nan_ok=True), name


def test_evaluate_with_rerank_keys_its_metrics(evaluated):
    dataset, split, result = evaluated
    filtered = evaluate(
        result.model,
        split.train,
        split.test,
        5,
        rerank=Reranker("exclude_category=Food", result.model, dataset, split.train).select,
    )
    assert filtered.metrics["precision"] <= result.metrics["precision"] + 0.2
    tail = evaluate_model(
        dataset,
        "als",
        result.protocol["params"],
        "holdout:2",
        5,
        0,
        split=split,
        rerank=RerankSettings(popularity=1),
    )
    assert tail.protocol["rerank"] == "popularity=1"
    assert tail.protocol_key() == "holdout:2:seed=0@k=5|rerank:popularity=1"
    assert tail.summary()["rerank"] == "popularity=1"
    assert tail.metrics["mean_popularity"] < result.metrics["mean_popularity"]


def test_stored_metrics_and_sweep_sit_beside_the_plain_ones(evaluated, monkeypatch):
    dataset, split, result = evaluated
    store = ModelStore()
    model_id = save_result(result, dataset, store=store, source=dataset.extras["source"])
    plain = store.meta(model_id)["metrics"]["holdout:2:seed=0@k=5"]
    evaluate_stored(model_id, 5, store=store, rerank="diversity=0.5")
    metrics = store.meta(model_id)["metrics"]
    assert metrics["holdout:2:seed=0@k=5"] == plain
    assert metrics["holdout:2:seed=0@k=5|rerank:diversity=0.5"]["rerank"] == "diversity=0.5"

    frame = sweep_stored(model_id, "popularity", (0, 0.5, 1), 5, store=store)
    assert list(frame["value"]) == [0, 0.5, 1]
    assert list(frame["stored"]) == [True, False, False]  # at 0: the plain metrics, reused
    assert frame["precision"].iloc[0] == pytest.approx(plain["precision"])
    assert frame["key"].iloc[1] == "holdout:2:seed=0@k=5|rerank:popularity=0.5"
    assert frame["mean_popularity"].iloc[2] < frame["mean_popularity"].iloc[0]

    def refuse(*args, **kwargs):
        raise AssertionError("a stored point was computed again")

    monkeypatch.setattr("recsys_core.sweep.evaluate_split", refuse)
    again = sweep_stored(model_id, "popularity", (0, 0.5, 1), 5, store=store)
    assert again["stored"].all()
    pd.testing.assert_frame_equal(again.drop(columns="stored"), frame.drop(columns="stored"))
    only_read = sweep_stored(model_id, "popularity", (0.25,), 5, store=store, compute=False)
    assert math.isnan(only_read["precision"].iloc[0]) and not only_read["stored"].iloc[0]


def test_sweep_of_a_model_in_memory(evaluated):
    dataset, split, result = evaluated
    frame = sweep(
        result.model, dataset, split, "diversity", (0, 1), 5, base="exclude_category=Food"
    )
    assert list(frame["rerank"]) == ["exclude_category=Food", "diversity=1,exclude_category=Food"]
    assert set(SWEEP_METRICS) <= set(frame.columns)
    with pytest.raises(ParameterError, match="Unknown dial 'colour'"):
        sweep(result.model, dataset, split, "colour")


def test_sweep_of_a_model_trained_on_everything_names_the_fix(small):
    dataset, model = small
    store = ModelStore()
    model_id = store.save(model, dataset, overwrite=True, source=dataset.extras["source"])
    with pytest.raises(UserError, match="--save"):
        sweep_stored(model_id, "popularity", (0.5,), 5, store=store)


# -------------------------------------------------------------- measured on the demo
@pytest.mark.slow
def test_the_demo_measurements_of_the_issue():
    """ALS (defaults, seed 0), holdout:5, k = 10: popularity=1 cuts mean popularity by at
    least 30% and raises coverage; diversity=0.5 raises category diversity; excluding a
    category gives every user exactly 10 items, none of it."""
    from recsys_core.datasets import load_dataset

    demo = load_dataset("demo")
    split = split_for(demo, "holdout:5", 0)
    plain = evaluate_model(demo, "als", {"random_state": 0}, "holdout:5", 10, 0, split=split)
    model = plain.model
    frame = sweep(model, demo, split, "popularity", (1.0,), 10)
    assert frame["mean_popularity"].iloc[0] <= 0.7 * plain.metrics["mean_popularity"]
    assert frame["coverage"].iloc[0] > plain.metrics["coverage"]
    diverse = sweep(model, demo, split, "diversity", (0.5,), 10)
    assert diverse["diversity_category"].iloc[0] > plain.metrics["diversity_category"]

    category = demo.items["category"].value_counts().index[0]
    reranker = Reranker(f"exclude_category={category}", model, demo, split.train)
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    lists = reranker.select(block_scores(model, split.train, users), users, 10)
    assert (lists >= 0).all()
    assert not (demo.items["category"].to_numpy()[lists] == category).any()


def test_evaluations_top_k_breaks_ties_at_the_cut_by_lower_index():
    """Lists with and without a re-ranking agree on ties (counts as scores): the lower index
    wins at the cut too, as in ``model.recommend``; NaN and -inf are never chosen."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 60))
        k, b = int(rng.integers(1, n + 1)), int(rng.integers(1, 6))
        scores = rng.integers(0, 5, size=(b, n)).astype(np.float32)
        scores[rng.random((b, n)) < 0.1] = -np.inf
        scores[rng.random((b, n)) < 0.05] = np.nan
        got = top_k(scores, k)[0]
        for row in range(b):
            values = np.where(np.isnan(scores[row]), -np.inf, scores[row])
            order = np.lexsort((np.arange(n), -values))[:k]
            want = [int(i) if np.isfinite(values[i]) else -1 for i in order]
            assert got[row].tolist() == want


def test_choices_list_what_filters_can_name(small):
    dataset, _ = small
    got = rerank.choices(dataset)
    assert got["categories"] == ["Art", "Food", "Music", "Sport"]
    assert got["tags"] == ["even", "odd", "t0", "t1", "t2"]
