"""``--items FILE`` on ``train``, ``info`` and ``evaluate``: a file dataset with its item metadata,
everything an upload can do, from the command line; the store records the items file so
``similar``, ``recommend`` and the app reopen the dataset with its names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from recsys_core.cli import main
from recsys_core.datasets import recorded_files, require_shareable
from recsys_core.store import ModelStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NAMES = {f"i{i}": f"Handmade thing number {i}" for i in range(8)}


@pytest.fixture
def files(tmp_path, fresh_home):
    rows = [(f"u{u}", f"i{(u + j) % 8}") for u in range(30) for j in range(3)]
    likes = tmp_path / "likes.csv"
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(likes, index=False)
    items = tmp_path / "items.csv"
    pd.DataFrame(
        {"item_id": list(NAMES), "name": list(NAMES.values()), "category": ["a", "b"] * 4}
    ).to_csv(items, index=False)
    return likes, items


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def similar_names(capsys, model_id: str, item: str = "i0") -> list[str]:
    code, out, err = run(capsys, "similar", model_id, item, "-k", "4", "--json")
    assert code == 0, err
    return [row["name"] for row in json.loads(out)["items"]]


def test_train_with_items_records_them_and_similar_shows_their_names(capsys, files):
    likes, items = files
    code, out, err = run(
        capsys, "train", likes, "item-knn", "--param", "K=5", "--items", items, "--json"
    )
    assert code == 0, err
    model_id = json.loads(out)["model_id"]
    names = similar_names(capsys, model_id)
    assert len(names) == 4 and set(names) <= set(NAMES.values())
    source = ModelStore().meta(model_id)["dataset_source"]
    assert source == {
        "spec": str(likes.resolve()),
        "data_dir": None,
        "options": {"items_path": str(items.resolve())},
    }
    recorded = recorded_files(ModelStore().list())  # what the app reads: it opens the file
    assert require_shareable(str(likes.resolve()), recorded=recorded) == str(likes.resolve())


def test_without_items_the_names_are_the_ids(capsys, files):
    likes, _ = files
    code, out, err = run(capsys, "train", likes, "item-knn", "--param", "K=5", "--json")
    assert code == 0, err
    names = similar_names(capsys, json.loads(out)["model_id"])
    assert names and set(names) <= set(NAMES)  # ids, not names: the test above can fail


def test_relative_paths_are_recorded_absolute(capsys, files, monkeypatch):
    likes, items = files
    monkeypatch.chdir(likes.parent)
    code, out, err = run(
        capsys, "train", "likes.csv", "item-knn", "--param", "K=5", "--items", "items.csv", "--json"
    )
    assert code == 0, err
    model_id = json.loads(out)["model_id"]
    monkeypatch.chdir(PROJECT_ROOT)
    source = ModelStore().meta(model_id)["dataset_source"]
    assert source["options"]["items_path"] == str(items.resolve())
    assert set(similar_names(capsys, model_id)) <= set(NAMES.values())


def test_info_with_items(capsys, files):
    likes, items = files
    code, out, err = run(capsys, "info", likes, "--items", items, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_items"] == 8
    assert summary["example_item_name"] == NAMES[summary["example_item"]]
    code, out, _ = run(capsys, "info", likes, "--items", items)
    assert code == 0 and NAMES[summary["example_item"]] in out


def test_evaluate_with_items_saves_a_model_that_keeps_them(capsys, files):
    likes, items = files
    code, out, err = run(
        capsys,
        "evaluate",
        likes,
        "item-knn",
        "--param",
        "K=5",
        "--items",
        items,
        "--split",
        "random:0.2",
        "-k",
        "3",
        "--save",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert "precision" in payload
    model_id = payload["model_id"]
    assert ModelStore().meta(model_id)["dataset_source"]["options"] == {
        "items_path": str(items.resolve())
    }
    assert set(similar_names(capsys, model_id)) <= set(NAMES.values())


def test_evaluate_with_items_and_min_rating(capsys, tmp_path, fresh_home):
    rows = [(f"u{u}", f"i{(u + j) % 8}", 1 + (u + j) % 5) for u in range(30) for j in range(4)]
    likes = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["user", "item", "rating"]).to_csv(likes, index=False)
    items = tmp_path / "items.csv"
    pd.DataFrame({"item_id": list(NAMES), "name": list(NAMES.values())}).to_csv(items, index=False)
    code, out, err = run(
        capsys,
        "evaluate",
        likes,
        "popularity",
        "--items",
        items,
        "--min-rating",
        "3",
        "--split",
        "random:0.2",
        "-k",
        "3",
        "--save",
        "--json",
    )
    assert code == 0, err
    options = ModelStore().meta(json.loads(out)["model_id"])["dataset_source"]["options"]
    assert options == {"min_rating": 3.0, "items_path": str(items.resolve())}


def test_tune_takes_items_too(capsys, files):
    likes, items = files
    code, out, err = run(
        capsys,
        "tune",
        likes,
        "item-knn",
        "--grid",
        "K=3,5",
        "--items",
        items,
        "--split",
        "random:0.2",
        "-k",
        "3",
        "--json",
    )
    assert code == 0, err
    model_id = json.loads(out)["best_model_id"]
    assert ModelStore().meta(model_id)["dataset_source"]["options"]["items_path"] == str(
        items.resolve()
    )


@pytest.mark.parametrize(
    "args, wanted",
    [
        (("train", "{likes}", "als", "--items", "{missing}"), "The items file"),
        (("info", "{likes}", "--items", "{missing}"), "does not exist"),
        (("evaluate", "{likes}", "als", "--items", "{folder}"), "is a folder"),
        (("train", "demo", "als", "--items", "{items}"), "--items goes with a DATASET"),
        (("info", "demo", "--items", "{items}"), "that dataset has its own item metadata"),
        (("evaluate", "--model", "als-000000000000", "--items", "{items}"), "--items"),
        (("train", "{likes}", "als", "--items", "{no_id}"), "item"),
        (("info", "{likes}", "--items", "{other_ids}"), "same ids"),
        (("train", "{missing}", "als"), "does not exist"),
    ],
)
def test_items_mistakes_are_one_sentence_and_exit_2(files, tmp_path, fresh_home, args, wanted):
    likes, items = files
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("title,colour\nA,red\n")
    other_ids = tmp_path / "other_ids.csv"
    other_ids.write_text("item_id,name\nzz1,Z\nzz2,Y\n")
    paths = {
        "likes": likes,
        "items": items,
        "missing": tmp_path / "nope.csv",
        "folder": tmp_path,
        "no_id": no_id,
        "other_ids": other_ids,
    }
    argv = [a.format(**paths) for a in args]
    env = {
        **os.environ,
        "RECSYS_HOME": str(fresh_home),
        "PYTHONPATH": str(PROJECT_ROOT),
        "OPENBLAS_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "recsys_core", *argv],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("warning:")]
    lines = [line for line in lines if line.startswith("error:")]
    assert len(lines) == 1 and wanted in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not done.stdout
