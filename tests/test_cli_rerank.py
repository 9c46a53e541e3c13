"""The command line's re-ranking: ``recommend``, ``similar`` and ``evaluate`` with ``--rerank``,
``--exclude-category`` and ``--only-category``; ``evaluate --sweep``; one sentence and exit 2
for a bad setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys_core import datasets
from recsys_core.cli import main
from recsys_core.store import ModelStore
from recsys_core.training import train

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo():
    return datasets.load_dataset("demo")


@pytest.fixture(scope="module")
def als_id(demo):
    return train(demo, "als", {"factors": 16, "iterations": 4, "random_state": 0}).model_id


@pytest.fixture(scope="module")
def knn_id(demo):
    return train(demo, "item-knn", {"K": 30}).model_id


def items_of(out: str) -> list[dict]:
    return json.loads(out)["items"]


def test_recommend_json_carries_categories(capsys, demo, als_id):
    code, out, _ = run(capsys, "recommend", als_id, demo.example_user, "-k", "6", "--json")
    got = items_of(out)
    assert code == 0 and len(got) == 6 and "rerank" not in json.loads(out)
    for item in got:
        assert item["category"] == demo.items["category"].iat[demo.item_index(item["item_id"])]


def test_recommend_excluding_a_category_still_returns_k(capsys, demo, als_id):
    plain = items_of(run(capsys, "recommend", als_id, demo.example_user, "-k", "10", "--json")[1])
    top = plain[0]["category"]  # the category the user's list is made of
    for user in (demo.example_user, demo.user_id(17), demo.user_id(4242)):
        code, out, _ = run(
            capsys,
            "recommend",
            als_id,
            user,
            "-k",
            "10",
            "--exclude-category",
            top,
            "--exclude-category",
            "Food",
            "--json",
        )
        got = items_of(out)
        assert code == 0 and len(got) == 10
        assert not {item["category"] for item in got} & {top, "Food"}
        assert json.loads(out)["rerank"] == "exclude_category=" + "|".join(sorted({top, "Food"}))


def test_recommend_only_category_and_dials(capsys, demo, als_id):
    code, out, _ = run(
        capsys,
        "recommend",
        als_id,
        demo.example_user,
        "-k",
        "8",
        "--only-category",
        "music",
        "--rerank",
        "diversity=0.5,popularity=0.4",
        "--json",
    )
    got = items_of(out)
    assert code == 0 and len(got) == 8 and {item["category"] for item in got} == {"Music"}
    assert json.loads(out)["rerank"] == "popularity=0.4,diversity=0.5,only_category=Music"


def test_popularity_dial_lowers_the_lists_popularity(capsys, demo, als_id):
    counts = demo.item_counts
    for user in (demo.example_user, demo.user_id(99)):
        lists = {}
        for dial in ("0", "1"):
            out = run(
                capsys,
                "recommend",
                als_id,
                user,
                "-k",
                "10",
                "--rerank",
                f"popularity={dial}",
                "--json",
            )[1]
            lists[dial] = [demo.item_index(item["item_id"]) for item in items_of(out)]
        assert counts[lists["1"]].mean() < counts[lists["0"]].mean()


def test_similar_with_filters_and_a_table(capsys, demo, als_id, knn_id):
    item = demo.item_id(5)
    code, out, _ = run(
        capsys,
        "similar",
        als_id,
        item,
        "-k",
        "7",
        "--exclude-category",
        demo.items["category"].iat[5],
        "--rerank",
        "diversity=1",
        "--json",
    )
    got = items_of(out)
    assert code == 0 and len(got) == 7 and item not in {g["item_id"] for g in got}
    assert demo.items["category"].iat[5] not in {g["category"] for g in got}
    code, out, _ = run(capsys, "similar", knn_id, item, "-k", "3", "--rerank", "popularity=1")
    lines = out.splitlines()
    assert code == 0 and "re-ranked: popularity=1" in lines[0] and "category" in lines[1]
    assert len(lines) == 3 + 3  # title, header, rule, 3 rows


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--rerank", "popularity=2"], "The popularity dial needs a number from 0 to 1"),
        (["--rerank", "colour=1"], "Unknown re-ranking setting 'colour'"),
        (["--rerank", "diversity"], "needs a value"),
        (["--exclude-category", "Fod"], "No category 'Fod'"),
        (["--rerank", "exclude_item=nope"], "Item 'nope' is not in"),
    ],
)
def test_bad_settings_are_one_sentence_and_exit_2(capsys, demo, als_id, args, words):
    for verb, target in (("recommend", demo.example_user), ("similar", demo.example_item)):
        code, out, err = run(capsys, verb, als_id, target, *args)
        assert code == 2 and out == ""
        assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_filters_no_item_passes_are_one_sentence_and_exit_2(capsys, demo, als_id):
    contradiction = ["--only-category", "Food", "--exclude-category", "food"]
    for verb, target in (("recommend", demo.example_user), ("similar", demo.example_item)):
        for args in (contradiction, ["--rerank", "min_popularity=100000"]):
            code, out, err = run(capsys, verb, als_id, target, *args)
            assert code == 2 and out == ""
            assert err.startswith(f"error: No item of {demo.label} passes the filters ")
            assert err.endswith("; loosen them.\n") and err.count("\n") == 1


def test_a_list_the_filters_leave_short_says_so(capsys, demo, als_id):
    popularity = np.bincount(demo.interactions.indices, minlength=demo.n_items)
    top = int(np.sort(popularity)[-3])  # three items at least that popular
    user = demo.example_user
    code, out, _ = run(capsys, "recommend", als_id, user, "--rerank", f"min_popularity={top}")
    seen = set(demo.interactions[demo.user_index(user)].indices.tolist())
    left = int(sum(1 for i in np.flatnonzero(popularity >= top) if int(i) not in seen))
    assert code == 0 and 0 < left < 10
    word = "item passes" if left == 1 else "items pass"
    assert out.splitlines()[-1] == (
        f"Only {left} {word} the filters for this list; loosen them for 10."
    )
    code, out, _ = run(
        capsys, "recommend", als_id, user, "--rerank", f"min_popularity={top}", "--json"
    )
    assert code == 0 and len(items_of(out)) == left  # the JSON stays data only


def test_evaluate_refuses_filters_no_item_passes_before_training(capsys, monkeypatch):
    import recsys_core.evaluation as evaluation

    def never(*args, **kwargs):
        raise AssertionError("trained a model for filters nothing passes")

    monkeypatch.setattr(evaluation, "evaluate_model", never)
    for extra in (["--rerank", "min_popularity=100000"], ["--sweep", "popularity"]):
        code, out, err = run(
            capsys,
            "evaluate",
            "demo",
            "als",
            "--only-category",
            "Food",
            "--exclude-category",
            "Food",
            *extra,
        )
        assert code == 2 and out == "" and "passes the filters" in err and "Traceback" not in err


def test_evaluate_split_refuses_filters_no_item_of_the_train_part_passes(demo):
    from recsys_core.errors import ParameterError
    from recsys_core.evaluation import evaluate_split, split_for
    from recsys_core.training import fit_model

    split = split_for(demo, "holdout:5", 0)
    model = fit_model(demo, "popularity", {}, interactions=split.train)
    with pytest.raises(ParameterError, match="passes the filters max_popularity=0; loosen"):
        evaluate_split(
            model, demo, split, 10, "popularity", False, None, None, rerank="max_popularity=0"
        )


def test_a_bad_setting_fails_before_loading_anything(capsys):
    code, _, err = run(capsys, "recommend", "no-such-model", "u1", "--rerank", "popularity=9")
    assert code == 2 and "popularity dial" in err  # not "no model no-such-model"
    code, _, err = run(capsys, "evaluate", "demo", "als", "--sweep", "colour")
    assert code == 2 and "--sweep takes a dial" in err


def test_the_command_line_itself_exits_2(tmp_path):
    env = {**os.environ, "RECSYS_HOME": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recsys_core",
            "evaluate",
            "demo",
            "als",
            "--rerank",
            "calibration=1.5",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("error: The calibration dial needs a number from 0 to 1, got '1.5'.\n")


# ---------------------------------------------------------------------------- evaluate
EVAL = ["--param", "factors=16", "--param", "iterations=4", "--param", "random_state=0"]


def test_evaluate_with_a_reranking(capsys, demo):
    code, out, _ = run(capsys, "evaluate", "demo", "als", *EVAL, "--json")
    plain = json.loads(out)
    code, out, _ = run(
        capsys,
        "evaluate",
        "demo",
        "als",
        *EVAL,
        "--rerank",
        "popularity=1",
        "--exclude-category",
        "Food",
        "--json",
    )
    tail = json.loads(out)
    assert code == 0 and tail["rerank"] == "popularity=1,exclude_category=Food"
    assert "rerank" not in plain
    assert tail["mean_popularity"] <= 0.7 * plain["mean_popularity"]
    assert tail["coverage"] > plain["coverage"]
    code, out, _ = run(capsys, "evaluate", "demo", "als", *EVAL, "--rerank", "popularity=1")
    assert code == 0 and "re-ranked: popularity=1" in out.splitlines()[0]


def test_evaluate_save_then_model_stores_each_under_its_key(capsys, demo):
    code, out, _ = run(capsys, "evaluate", "demo", "als", *EVAL, "--save", "--json")
    model_id = json.loads(out)["model_id"]
    code, out, _ = run(
        capsys, "evaluate", "--model", model_id, "--rerank", "diversity=0.5", "--json"
    )
    assert code == 0 and json.loads(out)["rerank"] == "diversity=0.5"
    metrics = ModelStore().meta(model_id)["metrics"]
    plain, keyed = "holdout:5:seed=0@k=10", "holdout:5:seed=0@k=10|rerank:diversity=0.5"
    assert set(metrics) == {plain, keyed}
    assert metrics[keyed]["diversity_category"] > metrics[plain]["diversity_category"]

    code, out, _ = run(capsys, "evaluate", "--model", model_id, "--sweep", "popularity", "--json")
    sweep = json.loads(out)["sweep"]
    assert code == 0 and [row["value"] for row in sweep] == [0, 0.25, 0.5, 0.75, 1]
    assert sweep[0]["precision"] == pytest.approx(metrics[plain]["precision"])
    assert sweep[0]["stored"] and not any(row["stored"] for row in sweep[1:])
    stored = ModelStore().meta(model_id)["metrics"]
    assert {f"{plain}|rerank:popularity={v}" for v in ("0.25", "0.5", "0.75", "1")} < set(stored)
    popularity = [row["mean_popularity"] for row in sweep]
    assert popularity[-1] < popularity[0] and np.all(np.diff(popularity) <= 1e-9)
    code, out, _ = run(capsys, "evaluate", "--model", model_id, "--sweep", "popularity", "--json")
    assert all(row["stored"] for row in json.loads(out)["sweep"])


def test_evaluate_sweep_prints_a_table(capsys, demo):
    code, out, _ = run(
        capsys, "evaluate", "demo", "als", *EVAL, "--sweep", "diversity", "--only-category", "Music"
    )
    lines = out.splitlines()
    assert code == 0 and lines[0] == "sweep of diversity (with only_category=Music), k=10"
    assert "coverage" in lines[1] and len(lines) == 2 + 5  # title, header, 5 values
