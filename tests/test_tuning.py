"""Hyperparameter search: candidates from the schema, the WRMF post's grid, resume, budget,
early stopping, and the best model in the store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_core import Dataset, tuning
from recsys_core.errors import ParameterError
from recsys_core.store import ModelStore
from recsys_core.tuning import WRMF_POST_GRID, candidates, parse_grid_args, parse_range_args, tune


@pytest.fixture(scope="module")
def dataset():
    """150 users who like mostly the items of one of 3 groups (90 items)."""
    rng = np.random.default_rng(2)
    users, items = [], []
    for user in range(150):
        own = np.arange(user % 3, 90, 3)
        liked = set(rng.choice(own, size=12, replace=False).tolist())
        liked |= set(rng.choice(90, size=4, replace=False).tolist())
        users += [f"u{user}"] * len(liked)
        items += [f"i{item}" for item in sorted(liked)]
    return Dataset.from_frame("tuning-planted", pd.DataFrame({"user": users, "item": items}))


# ------------------------------------------------------------------------------ candidates
def test_grid_is_every_combination_over_fixed_values():
    tries = candidates(
        "als", grid={"factors": ["4", "8"], "alpha": [1, 10, 100]}, fixed={"iterations": "3"}
    )
    assert len(tries) == 6
    assert {(t["factors"], t["alpha"]) for t in tries} == {
        (f, a) for f in (4, 8) for a in (1.0, 10.0, 100.0)
    }
    assert all(t["iterations"] == 3 and t["regularization"] == 0.01 for t in tries)
    assert all(isinstance(t["alpha"], float) for t in tries)


def test_the_wrmf_post_grid_is_one_command():
    command = [
        "factors=10,20,40,80,120",
        "regularization=0,1e-5,1e-3,0.1,10,100",
        "alpha=1,10,50,100,500,1000",
    ]
    grid = parse_grid_args(command)
    tries = candidates("als", grid=grid, fixed={"iterations": "38"})
    assert len(tries) == 5 * 6 * 6 == 180
    assert candidates("als", grid=WRMF_POST_GRID, fixed={"iterations": 38}) == tries
    assert min(t["regularization"] for t in tries) == 0.0
    assert max(t["alpha"] for t in tries) == 1000.0
    # the wider reading of it (regularization up to 1000) is just as expressible
    wide = candidates("als", grid=parse_grid_args(["regularization=0,1,1000", "factors=10,120"]))
    assert len(wide) == 6 and max(t["regularization"] for t in wide) == 1000.0


def test_random_draws_respect_search_ranges_log_scale_and_choices():
    tries = candidates(
        "lightfm",
        n_random=300,
        space={"learning_rate": None, "loss": None, "no_components": (8, 64)},
        random_state=0,
    )
    rates = np.array([t["learning_rate"] for t in tries])
    # the search range (5e-3 to 0.2), not the valid one (1e-4 to 1)
    assert rates.min() >= 5e-3 and rates.max() <= 0.2
    # log-uniform: half the draws fall below the geometric middle, sqrt(5e-3 * 0.2) = 0.0316
    # (uniform would give 14%)
    assert 0.4 < (rates < np.sqrt(5e-3 * 0.2)).mean() < 0.6
    assert {t["loss"] for t in tries} == {"warp", "bpr", "logistic", "warp-kos"}
    components = [t["no_components"] for t in tries]
    assert all(isinstance(c, int) and 8 <= c <= 64 for c in components)
    assert {8, 64} & set(components)  # inclusive bounds are reachable
    again = candidates(
        "lightfm",
        n_random=300,
        space={"learning_rate": None, "loss": None, "no_components": (8, 64)},
        random_state=0,
    )
    assert again == tries  # seeded


def test_default_random_space_leaves_seeds_threads_and_epochs_alone():
    tries = candidates("bpr", n_random=20, random_state=1)
    assert {t["random_state"] for t in tries} == {0}
    assert {t["iterations"] for t in tries} == {100}
    assert len({t["factors"] for t in tries}) > 5
    assert space_names("bpr") == ["factors", "learning_rate", "regularization"]


def space_names(algorithm):
    return sorted(tuning.default_space(algorithm))


def test_bad_search_specs_are_one_sentence_errors():
    with pytest.raises(ParameterError, match="either a grid"):
        candidates("als")
    with pytest.raises(ParameterError, match="no parameter 'factor'"):
        candidates("als", grid={"factor": [1]})
    with pytest.raises(ParameterError, match="needs an integer from 1 to 1024"):
        candidates("als", grid={"factors": ["0"]})
    with pytest.raises(ParameterError, match="LOW:HIGH"):
        parse_range_args(["alpha=1:2:3"])
    with pytest.raises(ParameterError, match="no search range"):
        candidates("als", n_random=2, space={"random_state": None})
    with pytest.raises(ParameterError, match="positive low end"):
        candidates("als", n_random=2, space={"alpha": ("0", "100", "log")})
    # an explicit range for a parameter without a search range is still drawn from
    seeds = {
        t["random_state"]
        for t in candidates("als", n_random=20, space={"random_state": ("0", "9")})
    }
    assert seeds <= set(range(10)) and len(seeds) > 3
    assert parse_range_args(["alpha=1:1000:log", "loss=warp,bpr", "factors"]) == {
        "alpha": ("1", "1000", "log"),
        "loss": ["warp", "bpr"],
        "factors": None,
    }


# ------------------------------------------------------------------------------- searching
SMALL_WRMF = {"factors": [4, 8], "regularization": [0.0, 10.0], "alpha": [1.0, 50.0]}


def test_small_wrmf_grid_runs_and_stores_the_best_model(dataset, fresh_home):
    seen = []
    result = tune(
        dataset,
        "als",
        grid=SMALL_WRMF,
        fixed={"iterations": 3},
        split_spec="holdout:3",
        k=5,
        progress=lambda f, m: seen.append(f),
    )
    table = result.table
    assert len(table) == 8 and result.complete and result.n_resumed == 0
    assert (table["status"] == "ok").all()
    assert {"factors", "regularization", "alpha", "precision", "ndcg", "fit_seconds"} <= set(
        table.columns
    )
    best_row = table.loc[table["precision"].idxmax()]
    assert result.best["precision"] == best_row["precision"]
    assert result.best["params"]["factors"] == best_row["factors"]
    assert seen[-1] == 1.0
    meta = ModelStore().meta(result.best_model_id)
    assert meta["extra"]["split"] == {"spec": "holdout:3", "seed": 0}
    stored = meta["metrics"]["holdout:3:seed=0@k=5"]
    assert stored["precision"] == pytest.approx(result.best["precision"])
    assert meta["params"]["factors"] == result.best["params"]["factors"]
    assert result.path.parent == fresh_home / "cache" / "tuning"


def test_an_interrupted_search_resumes_where_it_stopped(dataset, fresh_home, monkeypatch):
    calls = []
    real = tuning._evaluate_candidate

    def counting(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 4 and interrupt["on"]:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    interrupt = {"on": True}
    monkeypatch.setattr(tuning, "_evaluate_candidate", counting)
    spec = dict(
        grid=SMALL_WRMF, fixed={"iterations": 2}, split_spec="holdout:3", k=5, save_best=False
    )
    with pytest.raises(KeyboardInterrupt):
        tune(dataset, "als", **spec)
    assert len(calls) == 4
    # a half-written last line (a crash mid-write) is skipped, not fatal
    files = list((fresh_home / "cache" / "tuning").glob("*.jsonl"))
    assert len(files) == 1
    with open(files[0], "a") as handle:
        handle.write('{"index": 7, "params": {"fac')
    interrupt["on"] = False
    calls.clear()
    result = tune(dataset, "als", **spec)
    assert result.n_resumed == 3 and len(calls) == 5 and len(result.table) == 8
    assert result.complete and sorted(result.table["index"]) == list(range(8))
    # a third run has nothing left to do
    calls.clear()
    again = tune(dataset, "als", **spec)
    assert calls == [] and again.n_resumed == 8
    assert again.best == result.best
    # a different search spec is a different file
    other = tune(dataset, "als", **{**spec, "k": 3})
    assert other.n_resumed == 0 and other.path != result.path


def test_the_time_budget_stops_starting_candidates(dataset, fresh_home):
    result = tune(
        dataset,
        "als",
        grid=SMALL_WRMF,
        fixed={"iterations": 2},
        split_spec="holdout:3",
        budget=1e-9,
        save_best=False,
    )
    assert not result.complete and len(result.table) == 0 and result.best is None
    rows = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert "header" in rows[0] and len(rows) == 1


def test_patience_stops_a_curve_that_stopped_improving(dataset, fresh_home):
    result = tune(
        dataset,
        "als",
        grid={"factors": [4]},
        fixed={"iterations": 40, "regularization": 1.0},
        split_spec="holdout:3",
        patience=2,
        save_best=False,
    )
    row = result.table.iloc[0]
    assert row["epochs"] < 40
    assert row["epochs"] - row["best_epoch"] == 2


def test_random_search_runs_and_failed_candidates_are_recorded(dataset, fresh_home):
    result = tune(
        dataset,
        "bpr",
        n_random=3,
        space={"learning_rate": (0.01, 0.1, "log"), "factors": [4, 8]},
        fixed={"iterations": 5},
        split_spec="holdout:3",
        save_best=False,
    )
    assert len(result.table) == 3 and result.searched == ["factors", "learning_rate"]
    assert result.table["learning_rate"].between(0.01, 0.1).all()
    payload = result.to_dict()
    assert payload["n_done"] == 3 and payload["rows"][0]["params"]["iterations"] == 5


def test_random_draws_come_from_search_ranges_and_a_new_range_is_a_new_file(
    dataset, fresh_home, monkeypatch
):
    from dataclasses import replace

    from recsys_core.algorithms import get_algorithm

    spec = dict(n_random=4, fixed={"iterations": 2}, split_spec="holdout:3", k=5, save_best=False)
    result = tune(dataset, "als", **spec)
    table = result.table
    assert result.searched == ["alpha", "factors", "regularization"] and len(table) == 4
    assert table["factors"].between(16, 256).all() and table["alpha"].between(1, 100).all()
    assert table["regularization"].between(1e-3, 10).all()
    # a search range changed in the schema draws other candidates into a file of their own,
    # never resumed from (or ranked with) the old draws
    als = get_algorithm("als")
    narrowed = tuple(replace(p, search=(2.0, 4.0)) if p.name == "alpha" else p for p in als.params)
    monkeypatch.setattr(als, "params", narrowed)
    again = tune(dataset, "als", **spec)
    assert again.path != result.path and again.n_resumed == 0
    assert again.table["alpha"].between(2, 4).all()
