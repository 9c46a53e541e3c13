"""The ``evaluate`` and ``tune`` verbs: JSON fields, stored-model evaluation, resume, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_core.cli import main
from recsys_core.store import ModelStore

REQUIRED = (
    "precision",
    "precision_implicit",
    "recall",
    "map",
    "ndcg",
    "auc",
    "hit_rate",
    "coverage",
    "k",
    "n_users",
    "fit_seconds",
    "split",
    "seed",
)


@pytest.fixture
def likes_csv(tmp_path):
    """A small planted csv of likes: 120 users, 80 items in 4 taste groups."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(120):
        group = user % 4
        own = [i for i in range(80) if i % 4 == group]
        for item in rng.choice(own, size=12, replace=False):
            rows.append((f"user{user}", f"item{item}"))
        for item in rng.choice(80, size=3, replace=False):
            rows.append((f"user{user}", f"item{item}"))
    path = tmp_path / "likes.csv"
    pd.DataFrame(rows, columns=["user", "item"]).drop_duplicates().to_csv(path, index=False)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_json_has_the_fields(capsys, likes_csv, fresh_home):
    code, out, err = run(
        capsys,
        "evaluate",
        likes_csv,
        "als",
        "--param",
        "factors=8",
        "--param",
        "iterations=3",
        "--split",
        "holdout:3",
        "-k",
        "5",
        "--seed",
        "2",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    for key in REQUIRED:
        assert key in payload, key
    assert (payload["k"], payload["split"], payload["seed"]) == (5, "holdout:3", 2)
    assert payload["params"]["factors"] == 8 and payload["algorithm"] == "als"
    assert payload["n_users"] == 120 and payload["n_users_without_train"] == 0
    assert payload["precision_implicit"] > 0.3  # the planted groups are easy
    # precision is hits / k (LightFM's); implicit's hits / min(k, 3 test items) has its own key
    assert payload["conventions"]["precision"] == "lightfm"
    assert payload["conventions"]["precision_implicit"] == "implicit"
    assert "precision_k" not in payload
    assert payload["precision_implicit"] == pytest.approx(payload["recall"], abs=1e-12)
    assert payload["precision"] == pytest.approx(payload["recall"] * 3 / 5, abs=1e-12)
    assert payload["versions"]["implicit"]


def test_evaluate_the_demo_with_popularity(capsys, fresh_home):
    code, out, err = run(capsys, "evaluate", "demo", "popularity", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["split"] == "holdout:5" and payload["seed"] == 0 and payload["k"] == 10
    assert 0 < payload["precision"] < 0.2 and payload["coverage"] < 0.05


def test_evaluate_save_then_evaluate_the_stored_model(capsys, likes_csv, fresh_home):
    code, out, err = run(
        capsys, "evaluate", likes_csv, "item-knn", "--split", "holdout:3", "--save", "--json"
    )
    assert code == 0, err
    first = json.loads(out)
    model_id = first["model_id"]
    meta = ModelStore().meta(model_id)
    assert meta["extra"]["split"] == {"spec": "holdout:3", "seed": 0}
    stored = meta["metrics"]["holdout:3:seed=0@k=10"]
    assert stored["precision"] == pytest.approx(first["precision"])
    assert stored["precision_implicit"] == pytest.approx(first["precision_implicit"])
    assert stored["metrics_version"] == 2
    assert first["precision_implicit"] > 2 * first["precision"]  # 3 test items, k = 10
    # re-evaluating the stored model rebuilds its split: the same numbers, recorded at k=5 too
    code, out, err = run(capsys, "evaluate", "--model", model_id, "--json")
    assert code == 0, err
    again = json.loads(out)
    for key in ("precision", "precision_implicit", "map", "ndcg", "auc", "recall", "coverage"):
        assert again[key] == pytest.approx(first[key], abs=1e-12), key
    code, out, err = run(capsys, "evaluate", "--model", model_id, "-k", "5", "--json")
    assert code == 0, err
    assert set(ModelStore().meta(model_id)["metrics"]) == {
        "holdout:3:seed=0@k=10",
        "holdout:3:seed=0@k=5",
    }
    # the text form names the conventions
    code, out, err = run(capsys, "evaluate", "--model", model_id)
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "(lightfm convention)" in lines["precision"]
    assert "(implicit convention)" in lines["precision_implicit"]


def test_evaluate_refuses_a_model_trained_on_all_the_data(capsys, likes_csv, fresh_home):
    code, out, err = run(capsys, "train", likes_csv, "popularity", "--json")
    assert code == 0, err
    model_id = json.loads(out)["model_id"]
    code, out, err = run(capsys, "evaluate", "--model", model_id)
    assert code == 2 and out == ""
    assert "trained on all of" in err and "--save" in err and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "demo", "nope"], "Unknown algorithm 'nope'"),
        (["evaluate", "demo", "als", "--split", "holdout:x"], "holdout"),
        (["evaluate", "demo", "als", "--param", "factors=0"], "factors"),
        (["evaluate", "demo", "als", "-k", "0"], "-k needs to be at least 1"),
        (["evaluate"], "needs DATASET and ALGO"),
        (["evaluate", "demo", "--model", "als-000000000000"], "does not apply"),
        (["tune", "demo", "als"], "either a grid"),
        (["tune", "demo", "als", "--grid", "factors"], "--grid needs KEY=V1,V2"),
        (["tune", "demo", "als", "--range", "alpha=1:10"], "add --random N"),
    ],
)
def test_user_mistakes_are_one_sentence_on_stderr(capsys, fresh_home, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_tune_json_then_resume(capsys, likes_csv, fresh_home):
    argv = [
        "tune",
        likes_csv,
        "als",
        "--grid",
        "factors=4,8",
        "--grid",
        "alpha=1,50",
        "--param",
        "iterations=2",
        "--split",
        "holdout:3",
        "-k",
        "5",
        "--json",
    ]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["n_candidates"] == 4 and payload["n_done"] == 4 and payload["complete"]
    assert payload["n_resumed"] == 0 and payload["searched"] == ["alpha", "factors"]
    assert len(payload["rows"]) == 4 and all(row["status"] == "ok" for row in payload["rows"])
    best = max(payload["rows"], key=lambda row: row["precision"])
    assert payload["best"]["precision"] == best["precision"]
    assert ModelStore().exists(payload["best_model_id"])
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    again = json.loads(out)
    assert again["n_resumed"] == 4 and again["best"] == payload["best"]


def test_tune_ranks_by_either_precision(capsys, likes_csv, fresh_home):
    argv = [
        "tune",
        likes_csv,
        "als",
        "--grid",
        "factors=2,16",
        "--param",
        "iterations=3",
        "--split",
        "holdout:3",
        "-k",
        "10",
        "--no-save",
        "--json",
    ]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["metric"] == "precision"
    for row in payload["rows"]:  # 3 test items per user, k = 10: hits / 10 and hits / 3
        assert row["precision"] == pytest.approx(row["precision_implicit"] * 3 / 10, abs=1e-12)
    code, out, err = run(capsys, *argv, "--metric", "precision_implicit")
    assert code == 0, err
    again = json.loads(out)
    assert again["metric"] == "precision_implicit"
    best = max(again["rows"], key=lambda row: row["precision_implicit"])
    assert again["best"]["precision_implicit"] == best["precision_implicit"] > 0.2


def test_tune_random_text_output(capsys, likes_csv, fresh_home):
    code, out, err = run(
        capsys,
        "tune",
        likes_csv,
        "lightfm",
        "--random",
        "2",
        "--range",
        "learning_rate=0.01:0.1:log",
        "--range",
        "loss=warp,bpr",
        "--param",
        "epochs=2",
        "--split",
        "holdout:3",
        "--no-save",
    )
    assert code == 0, err
    assert "best precision" in out and "learning_rate" in out
    assert "2 of 2 candidates done" in err


def test_evaluate_explicit_ratings_with_min_rating(capsys, tmp_path, fresh_home):
    rng = np.random.default_rng(1)
    rows = [
        (f"u{u}", f"m{i}", int(rng.integers(1, 6)))
        for u in range(60)
        for i in rng.choice(40, size=12, replace=False)
    ]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["user", "item", "rating"]).to_csv(path, index=False)
    code, out, err = run(
        capsys, "evaluate", path, "biased-mf", "--min-rating", "4", "--split", "holdout:1", "--json"
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["n_users"] > 0 and payload["algorithm"] == "biased-mf"
    code, out, err = run(capsys, "evaluate", "demo", "als", "--min-rating", "4")
    assert code == 2 and "min_rating" in err and "Traceback" not in err
