"""``python -m recsys_core project``: the map as CSV, equal to the core's, cached, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from recsys_core.datasets import load_dataset
from recsys_core.projection import project_model
from recsys_core.store import ModelStore


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recsys_core", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )


def test_pca_csv_equals_the_core_projection(app_models, tmp_path):
    out = tmp_path / "map.csv"
    done = cli("project", app_models["als"], "--method", "pca", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    demo = load_dataset("demo")
    assert summary["n_points"] == demo.n_items and summary["method"] == "pca"
    frame = pd.read_csv(out, dtype={"item_id": str})
    assert list(frame.columns) == ["item_id", "name", "category", "x", "y"]
    assert frame["item_id"].tolist() == demo.item_ids.tolist()
    model = ModelStore().load(app_models["als"], demo)
    expected = project_model(model, "pca", model_id=app_models["als"])
    np.testing.assert_allclose(frame[["x", "y"]].to_numpy(), expected.coords, rtol=1e-5, atol=1e-6)
    again = json.loads(cli("project", app_models["als"], "--json").stdout)
    assert again["cached"] is True


@pytest.mark.parametrize(
    "args, words",
    [
        (("project", "no-such-model"), "no model"),
        (("project", "__KNN__"), "no latent vectors"),
        (("project", "__ALS__", "--method", "mds"), "method"),
    ],
)
def test_mistakes_are_one_sentence_and_exit_2(app_models, args, words):
    args = tuple(
        {"__KNN__": app_models["item-knn"], "__ALS__": app_models["als"]}.get(a, a) for a in args
    )
    done = cli(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert words in done.stderr.lower()
    assert done.stderr.strip().count("\n") == 0
