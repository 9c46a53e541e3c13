"""CLI verbs over models: ``train``, ``models``, ``similar``, ``recommend`` (``python -m``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_core import datasets
from recsys_core.algorithms import algorithms
from recsys_core.cli import main
from recsys_core.store import ModelStore, model_id_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One RECSYS_HOME for this module's subprocesses (the demo is generated into it once)."""
    path = tmp_path_factory.mktemp("cli_models_home")
    with pytest.MonkeyPatch.context() as patch:  # for the module-scoped fixtures below
        patch.setenv("RECSYS_HOME", str(path))
        yield path


@pytest.fixture(autouse=True)
def _module_home(home, monkeypatch):
    monkeypatch.setenv("RECSYS_HOME", str(home))
    datasets.clear_memo()
    yield
    datasets.clear_memo()


def cli(home: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECSYS_HOME": str(home), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "recsys_core", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo(home):
    try:
        return datasets.load_dataset("demo")
    except Exception as error:  # the demo is written by another part of the project
        pytest.skip(f"the demo dataset is not available yet ({error})")


@pytest.fixture(scope="module")
def popularity_id(home, demo):
    done = cli(home, "train", "demo", "popularity", "--json")
    payload = json.loads(done.stdout)
    assert set(payload) == {"model_id", "fit_seconds", "reused"}
    assert payload["reused"] is False and payload["fit_seconds"] >= 0
    assert "training popularity" in done.stderr  # the progress bar, on stderr
    return payload["model_id"]


# ------------------------------------------------------------------------------------ train
def test_train_prints_a_stable_id_and_reuses_the_model(capsys, demo, popularity_id):
    assert popularity_id == model_id_for(demo.fingerprint, "popularity", {"weighted": False})
    code, out, err = run_main(capsys, "train", "demo", "popularity")
    assert code == 0 and out == popularity_id + "\n"  # only the id on stdout
    assert "reused" in err
    code, out, _ = run_main(
        capsys, "train", "demo", "popularity", "--param", "weighted=true", "--json"
    )
    other = json.loads(out)
    assert other["model_id"] != popularity_id and other["reused"] is False


def test_train_force_retrains(capsys, demo, popularity_id):
    code, out, _ = run_main(capsys, "train", "demo", "popularity", "--force", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["model_id"] == popularity_id and payload["reused"] is False


def test_train_with_a_preset(capsys, demo):
    if "als" not in algorithms() or "sketchfab-best" not in algorithms()["als"].presets:
        pytest.skip("als and its sketchfab-best preset are not registered yet")
    preset = dict(algorithms()["als"].presets["sketchfab-best"])
    code, out, _ = run_main(
        capsys,
        "train",
        "demo",
        "als",
        "--preset",
        "sketchfab-best",
        "--param",
        "iterations=2",
        "--json",
    )
    assert code == 0
    meta = ModelStore().meta(json.loads(out)["model_id"])
    assert meta["params"]["factors"] == preset["factors"]
    assert meta["params"]["alpha"] == preset["alpha"]
    assert meta["params"]["iterations"] == 2  # --param wins over the preset


# ----------------------------------------------------------------------------------- models
def test_models_lists_what_was_trained_and_damaged_entries(capsys, home, popularity_id):
    (home / "models" / "stray.txt").write_text("not a model")
    try:
        listed = json.loads(cli(home, "models", "--json").stdout)["models"]
        by_id = {entry["model_id"]: entry for entry in listed}
        entry = by_id[popularity_id]
        assert entry["algorithm"] == "popularity" and entry["dataset"] == "demo"
        assert entry["params"] == {"weighted": False} and entry["damaged"] is None
        assert "stray file" in by_id["stray.txt"]["damaged"]
        created = [e["created"] for e in listed if e["created"]]
        assert created == sorted(created, reverse=True)
        code, human, _ = run_main(capsys, "models", "--dataset", "demo")
        assert code == 0 and popularity_id in human and "stray.txt" not in human
        code, out, _ = run_main(capsys, "models", "--dataset", "sketchfab", "--json")
        assert json.loads(out) == {"models": []}
    finally:
        (home / "models" / "stray.txt").unlink()


# -------------------------------------------------------------------------------- recommend
def test_recommend_excludes_seen_items_unless_asked(capsys, home, demo, popularity_id):
    user = demo.example_user
    row = demo.user_index(user)
    seen = set(demo.interactions[row].indices.tolist())
    counts = demo.item_counts.astype(np.float64)
    order = np.lexsort((np.arange(demo.n_items), -counts))
    unseen = [int(i) for i in order if int(i) not in seen][:5]

    got = json.loads(cli(home, "recommend", popularity_id, user, "-k", "5", "--json").stdout)
    assert got["items"] == [
        {
            "item_id": demo.item_id(i),
            "name": demo.item_name(i),
            "category": demo.items["category"].iat[i] or None,
            "score": float(counts[i]),
        }
        for i in unseen
    ]
    code, out, _ = run_main(
        capsys, "recommend", popularity_id, user, "-k", "5", "--include-seen", "--json"
    )
    with_seen = json.loads(out)
    assert [item["item_id"] for item in with_seen["items"]] == [
        demo.item_id(int(i)) for i in order[:5]
    ]


def test_recommend_prints_a_table(capsys, demo, popularity_id):
    code, out, _ = run_main(capsys, "recommend", popularity_id, demo.example_user, "-k", "3")
    lines = out.splitlines()
    assert code == 0 and "item id" in lines[1] and len(lines) == 3 + 3
    assert demo.example_user in lines[0]


# ---------------------------------------------------------------------------------- similar
@pytest.fixture(scope="module")
def knn_id(home, demo):
    if "item-knn" not in algorithms():
        pytest.skip("item-knn is not registered yet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", io.StringIO())
        patch.setattr(sys, "stderr", io.StringIO())
        assert main(["train", "demo", "item-knn", "--param", "K=30", "--json"]) == 0
        return json.loads(sys.stdout.getvalue())["model_id"]


def test_similar_matches_the_stored_model(home, demo, knn_id):
    item = demo.example_item
    got = json.loads(cli(home, "similar", knn_id, item, "-k", "6", "--json").stdout)["items"]
    model = ModelStore().load(knn_id, demo)
    want, scores = model.similar_items(demo.item_index(item), 6)
    assert [g["item_id"] for g in got] == [demo.item_id(int(i)) for i in want]
    assert item not in [g["item_id"] for g in got]
    np.testing.assert_allclose([g["score"] for g in got], scores, rtol=1e-6)
    assert [g["name"] for g in got] == [demo.item_name(int(i)) for i in want]


def test_similar_prints_a_table(capsys, demo, knn_id):
    code, out, _ = run_main(capsys, "similar", knn_id, demo.example_item, "-k", "4")
    assert code == 0 and demo.item_name(demo.item_index(demo.example_item)) in out
    assert len(out.splitlines()) == 3 + 4


# ----------------------------------------------------------------------------------- errors
def one_sentence_error(code: int, err: str) -> str:
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_user_mistakes_are_one_sentence_exit_2(capsys, demo, popularity_id):
    message = one_sentence_error(*run_main(capsys, "similar", popularity_id[:-2], "x")[::2])
    assert "closest" in message and popularity_id in message
    message = one_sentence_error(
        *run_main(capsys, "recommend", popularity_id, "nobody-here", "--json")[::2]
    )
    assert "'nobody-here'" in message and "demo" in message
    message = one_sentence_error(
        *run_main(capsys, "train", "demo", "popularity", "--param", "weighted=maybe")[::2]
    )
    assert "weighted" in message and "true or false" in message
    message = one_sentence_error(
        *run_main(capsys, "train", "demo", "popularity", "--param", "factors=3")[::2]
    )
    assert "'factors'" in message and "weighted" in message
    message = one_sentence_error(
        *run_main(capsys, "train", "demo", "popularity", "--param", "weighted")[::2]
    )
    assert "KEY=VALUE" in message
    message = one_sentence_error(*run_main(capsys, "train", "demo", "nosuch")[::2])
    assert "'nosuch'" in message and "popularity" in message
    message = one_sentence_error(
        *run_main(capsys, "train", "demo", "popularity", "--preset", "fast")[::2]
    )
    assert "'fast'" in message
    message = one_sentence_error(
        *run_main(capsys, "similar", popularity_id, demo.example_item)[::2]
    )
    assert message == (
        "error: popularity has no notion of item similarity; for similar items, use a model of "
        "another algorithm."
    )
    message = one_sentence_error(
        *run_main(capsys, "recommend", popularity_id, demo.example_user, "-k", "0")[::2]
    )
    assert "-k" in message


def test_unknown_item_suggests_close_ones_without_a_traceback(home, demo, knn_id):
    name = demo.item_name(demo.item_index(demo.example_item))
    done = cli(home, "similar", knn_id, name.split()[-1].lower() + "zz", code=2)
    assert done.stderr.startswith("error: Item ") and "closest" in done.stderr


# ------------------------------------------------------------------------------ file datasets
def test_a_file_dataset_is_reloaded_from_its_path_and_checked(capsys, home, tmp_path):
    try:
        from recsys_core.datasets import tabular  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("the tabular (csv) loader is not written yet")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": rng.integers(0, 30, 400), "item": rng.integers(0, 50, 400)})
    frame["user"] = "user" + frame["user"].astype(str)
    frame["item"] = "item" + frame["item"].astype(str)
    frame = frame.drop_duplicates().reset_index(drop=True)
    path = tmp_path / "likes.csv"
    frame.to_csv(path, index=False)
    code, out, _ = run_main(capsys, "train", str(path), "popularity", "--json")
    model_id = json.loads(out)["model_id"]
    assert ModelStore(home / "models").meta(model_id)["dataset_source"]["spec"] == str(path)
    user = frame["user"].iloc[0]
    got = json.loads(cli(home, "recommend", model_id, user, "-k", "3", "--json").stdout)["items"]
    liked = set(frame.loc[frame["user"] == user, "item"])
    assert len(got) == 3 and not liked & {g["item_id"] for g in got}
    # the file changed after training: the model refuses rather than answer with wrong ids
    frame.iloc[:100].to_csv(path, index=False)
    datasets.clear_memo()
    message = one_sentence_error(*run_main(capsys, "recommend", model_id, user, "--json")[::2])
    assert "fingerprint" in message
