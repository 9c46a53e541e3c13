"""The Evaluate page (AppTest): the table equals the command line, metrics are recorded in the
store and reused, learning curves, and a tiny grid search that saves its best model. The two
precisions are labelled apart (hits / k, and implicit's hits / min(k, held-out)); metrics stored
while ``precision`` meant implicit's convention are shown under implicit's name."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recsys_core import evaluation, tuning
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore
from recsys_core.training import train

from .helpers import ROOT, open_page, shown

# small and unique to this module (no other test records metrics for these ids)
ALS = {"factors": 16, "iterations": 3, "random_state": 11}
PROTOCOL = "holdout:5:seed=0@k=10"


@pytest.fixture(scope="module")
def als_id(session_home):
    from recsys_core.ui import loaders

    model_id = train(load_dataset("demo"), "als", ALS).model_id
    loaders.clear_model_listing()  # the listing is cached for 5 s
    return model_id


@pytest.fixture
def counted(monkeypatch):
    """Counts fits: evaluations (the page's and the search's) and learning curves."""
    calls = {"evaluate_model": 0, "learning_curve": 0}
    for module, name in ((evaluation, "evaluate_model"), (evaluation, "learning_curve"),
                         (tuning, "evaluate_model")):
        real = getattr(module, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


def _table(at, column="precision", without="status"):
    """The first table drawn with ``column`` and without ``without`` (the metrics table by
    default; the search's table has a status column)."""
    tables = [d.value for d in at.dataframe]
    found = [f for f in tables if column in f.columns and (not without or without not in f)]
    assert found, f"no table with {column!r}; drawn: {[list(f.columns) for f in tables]}"
    return found[0]


def _labels(at, column="precision") -> dict[str, str]:
    """Column labels of the first table drawn with ``column`` (from its column config)."""
    for element in at.dataframe:
        if column in element.value.columns:
            config = json.loads(element.proto.columns or "{}")
            return {key: value.get("label") for key, value in config.items()}
    raise AssertionError(f"no table with {column!r}")


def _cli_metrics(session_home) -> dict:
    params = [arg for key, value in ALS.items() for arg in ("--param", f"{key}={value}")]
    env = dict(os.environ, RECSYS_HOME=str(session_home))
    done = subprocess.run(
        [sys.executable, "-m", "recsys_core", "evaluate", "demo", "als", *params,
         "--split", "holdout:5", "--seed", "0", "-k", "10", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )
    return json.loads(done.stdout)


def test_page_runs_on_the_demo(app_models):
    at = open_page("evaluate", dataset="demo", model=app_models["popularity"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Evaluate"]
    assert at.selectbox(key="eval_split").value == "holdout:5"
    assert at.number_input(key="eval_k").value == 10
    assert at.multiselect(key="eval_models").value == [app_models["popularity"]]


def test_table_equals_the_cli_and_is_reused_from_the_store(als_id, session_home, counted):
    at = open_page("evaluate", dataset="demo", model=als_id)
    assert not at.exception
    assert not (ModelStore().meta(als_id).get("metrics") or {}).get(PROTOCOL)
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    assert counted["evaluate_model"] == 1
    shown = _table(at).iloc[0]
    expected = _cli_metrics(session_home)
    for metric in ("precision", "precision_implicit", "recall", "ndcg", "map", "auc",
                   "hit_rate", "mrr"):
        assert shown[metric] == pytest.approx(expected[metric], abs=1e-9), metric
    # holdout:5 at k = 10: hits / k is half of implicit's hits / 5 (which equals recall)
    assert shown["precision"] == pytest.approx(shown["recall"] / 2, abs=1e-12)
    assert shown["precision_implicit"] == pytest.approx(shown["recall"], abs=1e-12)
    labels = _labels(at)
    assert labels["precision"] == "Precision (hits / k)"
    assert labels["precision_implicit"] == (
        "Precision (implicit's convention: hits / min(k, held-out))")
    assert any("precision = hits / k" in c.value and "precision_implicit = hits / min(k, "
               "held-out)" in c.value for c in at.caption)

    # recorded in the model's meta, with the slices, under the protocol key
    recorded = ModelStore().meta(als_id)["metrics"][PROTOCOL]
    assert recorded["precision"] == pytest.approx(expected["precision"], abs=1e-12)
    assert recorded["evaluated"] == "refit"
    assert [s["slice"] for s in recorded["slices"]] == [
        "light users", "heavy users", "popular items", "long-tail items"]
    assert sum(s["n_users"] for s in recorded["slices"][:2]) == expected["n_users"]
    assert any(c.value.startswith("Share of test users with no hit") for c in at.caption)
    assert not at.code  # the command line is drawn only when its expander is opened
    at.session_state["eval_cli"] = True
    at.run()
    command = at.code[0].value  # what the page says to run for the same numbers
    assert "evaluate demo als" in command and "--param factors=16" in command
    assert "--param random_state=11" in command
    assert command.endswith("--split holdout:5 --seed 0 -k 10 --json")

    # a new session reads the table back from the store: no refit, even when pressed again
    again = open_page("evaluate", dataset="demo", model=als_id)
    assert _table(again).iloc[0]["precision"] == pytest.approx(expected["precision"], abs=1e-9)
    again.button(key="eval_run").click().run()
    assert not again.exception
    assert counted["evaluate_model"] == 1
    assert any("reused the stored metrics of 1" in s.value.lower() for s in again.success)


def test_other_protocol_is_evaluated_apart(als_id, counted):
    at = open_page("evaluate", dataset="demo", model=als_id, split="random:0.2", seed="3",
                   eval_k="5")
    assert at.selectbox(key="eval_split").value == "random:0.2"
    at.button(key="eval_run").click().run()
    assert not at.exception
    assert counted["evaluate_model"] == 1
    metrics = ModelStore().meta(als_id)["metrics"]
    assert metrics["random:0.2:seed=3@k=5"]["k"] == 5
    assert _table(at).iloc[0]["precision"] == pytest.approx(
        metrics["random:0.2:seed=3@k=5"]["precision"], abs=1e-12)


def test_learning_curve_is_plotted_per_epoch_and_cached(als_id, counted):
    at = open_page("evaluate", dataset="demo", model=als_id, section="Learning curves")
    assert not at.exception
    assert at.number_input(key=f"eval_curve_als_{als_id}_iterations").value == ALS["iterations"]
    at.button(key="eval_curve_run").click().run()
    assert not at.exception, at.exception
    assert counted["learning_curve"] == 1
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    main = next(c for c in charts if "per epoch" in json.dumps(c["layout"].get("title", "")))
    traces = {t["name"]: t for t in main["data"]}
    assert set(traces) == {"train", "test"}
    for trace in traces.values():
        assert list(_values(trace["x"])) == [1, 2, 3]
    demo = load_dataset("demo")
    frame = evaluation.learning_curve(demo, "als", ALS, "holdout:5", 10, "precision", 0)
    test = frame[(frame["metric"] == "precision") & (frame["split"] == "test")]
    assert list(_values(traces["test"]["y"])) == pytest.approx(list(test["value"]), abs=1e-12)
    counted["learning_curve"] = 0
    at.button(key="eval_curve_run").click().run()  # same form: read from the cache
    assert counted["learning_curve"] == 0
    assert at.get("plotly_chart")


def _values(encoded):
    """Plotly JSON arrays: a list, or {"dtype", "bdata"} (base64 typed array)."""
    if isinstance(encoded, dict) and "bdata" in encoded:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]).tolist()
    return list(encoded)


def test_tiny_grid_search_shows_its_table_and_saves_the_best(als_id, counted):
    at = open_page("evaluate", dataset="demo", model=als_id, section="Search")
    assert not at.exception
    assert at.selectbox(key="eval_search_algorithm").value == "als"
    at.text_input(key="eval_grid_als_factors").input("8, 16")
    at.text_input(key="eval_grid_als_iterations").input("3")
    at.text_input(key="eval_grid_als_random_state").input("11")
    at.button(key="eval_search_run").click().run()
    assert not at.exception, at.exception
    assert counted["evaluate_model"] == 2
    table = _table(at, "status", without=None)
    assert sorted(table["factors"]) == [8, 16]
    assert list(table["precision"]) == sorted(table["precision"], reverse=True)
    assert len(at.get("plotly_chart")) == 1  # the parallel coordinates

    at.button(key="eval_search_run").click().run()  # the same form resumes: nothing refit
    assert counted["evaluate_model"] == 2
    assert any("2 row(s) came from an earlier run" in shown(c.value) for c in at.caption)

    at.button(key="eval_search_save").click().run()
    assert not at.exception, at.exception
    saved = at.query_params["model"]
    saved = saved[0] if isinstance(saved, list) else saved
    assert saved != als_id
    meta = ModelStore().meta(saved)
    assert meta["params"]["factors"] == int(table.iloc[0]["factors"])
    assert meta["extra"]["split"] == {"spec": "holdout:5", "seed": 0}
    recorded = meta["metrics"][PROTOCOL]
    assert recorded["precision"] == pytest.approx(table.iloc[0]["precision"], abs=1e-12)
    assert len(recorded["slices"]) == 4
    # the page now shows the saved model's metrics, read from the store
    assert _table(at).iloc[0]["precision"] == pytest.approx(recorded["precision"], abs=1e-12)


def test_metrics_stored_before_the_split_show_under_implicits_name(session_home, counted):
    """A meta.json written while ``precision`` meant implicit's convention: the table shows that
    number as precision_implicit and the old precision_k as precision, the sidebar's p@10 too;
    pressing Evaluate evaluates the model again (its slices lack hits / k) instead of reusing."""
    from recsys_core.ui import loaders

    params = {"factors": 8, "iterations": 2, "random_state": 5}
    model_id = train(load_dataset("demo"), "als", params).model_id
    old = {"precision": 0.5, "precision_k": 0.25, "recall": 0.5, "ndcg": 0.4, "k": 10,
           "split": "holdout:5", "seed": 0, "n_users": 100,
           "conventions": {"precision": "implicit", "precision_k": "lightfm"},
           "slices": [{"group": group, "slice": name, "definition": "as recorded",
                       "n_users": 50, "n_test_interactions": 250, "precision": 0.5,
                       "recall": 0.5}
                      for group, name in (("users", "light users"), ("users", "heavy users"),
                                          ("items", "popular items"),
                                          ("items", "long-tail items"))]}
    ModelStore().record_metrics(model_id, PROTOCOL, old)
    loaders.clear_model_listing()
    at = open_page("evaluate", dataset="demo", model=model_id)
    assert not at.exception, at.exception
    row = _table(at).iloc[0]
    assert row["precision"] == pytest.approx(0.25)
    assert row["precision_implicit"] == pytest.approx(0.5)
    assert "precision_k" not in _table(at).columns
    options = at.selectbox(key="sidebar_model").options
    assert any(model_id.split("-")[0] in o and "p@10 0.250" in o for o in options), options
    at.button(key="eval_run").click().run()
    assert not at.exception, at.exception
    assert counted["evaluate_model"] == 1  # evaluated again, not reused
    recorded = ModelStore().meta(model_id)["metrics"][PROTOCOL]
    assert recorded["metrics_version"] == 2 and "relabelled_from_version" not in recorded
    assert recorded["precision"] == pytest.approx(recorded["recall"] / 2, abs=1e-12)
    assert all(s["precision"] is not None for s in recorded["slices"])


def test_bad_split_in_the_url_is_one_clear_sentence(als_id):
    at = open_page("evaluate", dataset="demo", model=als_id, split="holdout:zero", eval_k="0")
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        "Split spec 'holdout:zero' has 'zero' where a whole number is expected; use holdout:N, "
        "holdout:N:F, random:P, leave-last:N or a predefined split name. Showing holdout:5 "
        "instead."
    ]
    assert at.selectbox(key="eval_split").value == "holdout:5"
    assert at.number_input(key="eval_k").value == 1


def _params(at) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_url_with_the_curve_controls_reopens_the_same_view(als_id, counted):
    at = open_page("evaluate", dataset="demo", model=als_id, split="random:0.2", seed="3",
                   eval_k="5", section="curves", curve_algo="bpr", curve_metric="ndcg")
    assert not at.exception
    assert at.selectbox(key="eval_split").value == "random:0.2"
    assert at.number_input(key="eval_k").value == 5
    assert at.number_input(key="eval_seed").value == 3
    assert at.selectbox(key="eval_curve_algorithm").value == "bpr"
    assert at.selectbox(key="eval_curve_metric").value == "ndcg"
    assert at.number_input(key="eval_curve_bpr_defaults_factors")  # bpr's form, its defaults
    assert any("Fitted once on the train part of random:0.2, seed 3, k=5" in shown(c.value)
               for c in at.caption)
    with pytest.raises(KeyError):
        at.multiselect(key="eval_models")  # the Metrics tab is closed: it did not run
    assert counted == {"evaluate_model": 0, "learning_curve": 0}


def test_a_url_with_the_search_controls_reopens_the_same_view(als_id):
    at = open_page("evaluate", dataset="demo", model=als_id, section="search",
                   search_algo="ease", search_mode="random", search_metric="recall")
    assert not at.exception
    assert at.selectbox(key="eval_search_algorithm").value == "ease"
    assert at.segmented_control(key="eval_search_mode").value == "random"
    assert at.selectbox(key="eval_search_metric").value == "recall"
    assert at.multiselect(key="eval_random_ease_params")  # the random search's form
    with pytest.raises(KeyError):
        at.text_input(key="eval_grid_ease_l2")


def test_the_chart_metrics_come_from_the_url_and_changes_go_back_to_it(als_id):
    demo = load_dataset("demo")
    from recsys_core.ui import evaluate_page

    proto = evaluate_page.Protocol("holdout:5", 0, 10)
    evaluate_page.evaluate_stored_model(demo, als_id, proto)  # reused when already recorded
    at = open_page("evaluate", dataset="demo", model=als_id, dist="recall", slice="ndcg")
    assert not at.exception
    assert at.segmented_control(key="eval_dist_metric").value == "recall"
    assert at.segmented_control(key="eval_slice_metric").value == "ndcg"
    charts = {c["data"][0]["type"]: c
              for c in (json.loads(p.proto.spec) for p in at.get("plotly_chart"))}
    assert charts["histogram"]["layout"]["xaxis"]["title"]["text"] == "per-user recall"
    assert charts["bar"]["layout"]["yaxis"]["title"]["text"] == "ndcg"

    at.segmented_control(key="eval_dist_metric").set_value("ndcg").run()
    assert not at.exception
    assert _params(at) == {"dataset": "demo", "model": als_id, "slice": "ndcg"}  # default out
    at.number_input(key="eval_k").set_value(7).run()
    assert _params(at)["eval_k"] == "7"
    assert at.number_input(key="eval_k").value == 7


def test_old_links_with_a_section_label_still_open_it(als_id):
    at = open_page("evaluate", dataset="demo", model=als_id, section="Search")
    assert not at.exception
    assert at.selectbox(key="eval_search_algorithm").value == "als"
