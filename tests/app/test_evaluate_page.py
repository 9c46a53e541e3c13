"""The Evaluate page (AppTest): the table equals the command line, metrics are recorded in the
store and reused, learning curves, and a tiny grid search that saves its best model. The two
precisions are labelled apart (hits / k, and implicit's hits / min(k, held-out)) and the page says
which is which; metrics stored while ``precision`` meant implicit's convention are shown under
implicit's name. Every label a person reads is words: no metric, parameter or protocol key
(``precision_k``, ``auc_full``, ``random_state``, ``holdout:5:seed=0``) shows anywhere on the
page, in any section, nor in the sidebar's training form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict

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
    for module, name in (
        (evaluation, "evaluate_model"),
        (evaluation, "learning_curve"),
        (tuning, "evaluate_model"),
    ):
        real = getattr(module, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


def _table(at, column="precision", without="status"):
    """The metrics, one row per model: the page's metric tables (hits, ranks, beyond accuracy,
    cost; indexed by model) side by side; with ``without=None``, the first table drawn with
    ``column`` (the search's table has a status column)."""
    tables = [d.value for d in at.dataframe]
    if without == "status":
        found = [f for f in tables if f.index.name == "model" and "status" not in f]
        assert found, f"no metrics table; drawn: {[list(f.columns) for f in tables]}"
        merged = pd.concat(found, axis=1)
        assert column in merged, list(merged.columns)
        return merged
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


# ------------------------------------------------------------------------ what a person reads
RAW_KEYS = (
    "precision_k",
    "precision_implicit",
    "auc_full",
    "hit_rate",
    "mean_popularity",
    "fit_seconds",
    "diversity_",
    "n_users",
    "n_test",
    "random_state",
    "calculate_training_loss",
    "num_threads",
    "no_components",
    "use_item_features",
    "holdout:5:seed=0",
    "@k=",
    "seed=",
    "holdout:5",
    "p@10",
)
"""Keys that stay keys (URL, CLI, store) and never show as text on the page."""
NOT_READ = frozenset(
    {
        "id",
        "formId",
        "pageScriptHash",
        "queryString",
        "page",
        "icon",
        "json",
        "spec",
        "arrowData",
        "columns",
        "config",
        "theme",
        "type",
    }
)
"""Proto fields that are not text a person reads (ids, links, data, chart specs handled
apart)."""


def _walk(node) -> Iterator:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_READ:
                _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def _chart_texts(spec: dict) -> list[str]:
    """Titles, axis titles, trace names, categories, hover texts and parallel-coordinate
    labels of a Plotly figure."""
    out: list[str] = []

    def visit(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                if k in ("title",) and isinstance(v, dict):
                    _strings(v.get("text", ""), out)
                elif k in ("name", "label", "ticktext", "hovertext", "text") and not (
                    isinstance(v, dict)
                ):
                    _strings(v, out)
                elif k in ("x", "y") and isinstance(v, list):
                    _strings([i for i in v if isinstance(i, str)], out)
                else:
                    visit(v, k)
        elif isinstance(value, list):
            for item in value:
                visit(item, key)

    visit(spec.get("data", []))
    visit(spec.get("layout", {}))
    return out


def _headers(element) -> list[str]:
    """The column headers a dataframe shows: its column config's labels, else the column
    names (shown raw), and the index's."""
    config = json.loads(element.proto.columns or "{}")
    frame = element.value
    out = [(config.get(str(c)) or {}).get("label") or str(c) for c in frame.columns]
    index = config.get("_index") or {}
    if not index.get("hidden"):
        out.append(index.get("label") or str(frame.index.name or ""))
    return out


def visible_text(at, *, area=None) -> list[str]:
    """Every text the page shows: widget labels, options, values and helps, tabs, expanders,
    alerts, captions, markdown (unescaped), dataframe headers, chart texts. Code blocks (the
    command line, on purpose) are left out."""
    out: list[str] = []
    root = at._tree if area is None else area
    for node in _walk(root):
        proto = getattr(node, "proto", None)
        if proto is None or getattr(node, "type", "") == "code":
            continue
        data = MessageToDict(proto)
        _strings(data, out)
        if getattr(node, "type", "") == "plotly_chart" and data.get("spec"):
            out += _chart_texts(json.loads(data["spec"]))
        if getattr(node, "type", "") == "dataframe":
            out += _headers(node)
    return [shown(text) for text in out if text]


def assert_no_raw_keys(at, *, area=None, allowed: tuple[str, ...] = ()) -> list[str]:
    """No key of :data:`RAW_KEYS` in any text the page shows; returns the texts."""
    texts = visible_text(at, area=area)
    for key in RAW_KEYS:
        found = [t for t in texts if key in t and not any(a in t for a in allowed)]
        assert not found, (key, found[:3])
    return texts


def _cli_metrics(session_home) -> dict:
    params = [arg for key, value in ALS.items() for arg in ("--param", f"{key}={value}")]
    env = dict(os.environ, RECSYS_HOME=str(session_home))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recsys_core",
            "evaluate",
            "demo",
            "als",
            *params,
            "--split",
            "holdout:5",
            "--seed",
            "0",
            "-k",
            "10",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
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
    row = _table(at).iloc[0]
    expected = _cli_metrics(session_home)
    for metric in (
        "precision",
        "precision_implicit",
        "recall",
        "ndcg",
        "map",
        "auc",
        "hit_rate",
        "mrr",
    ):
        assert row[metric] == pytest.approx(expected[metric], abs=1e-9), metric
    # holdout:5 at k = 10: hits / k is half of implicit's hits / 5 (which equals recall)
    assert row["precision"] == pytest.approx(row["recall"] / 2, abs=1e-12)
    assert row["precision_implicit"] == pytest.approx(row["recall"], abs=1e-12)
    labels = _labels(at)
    assert labels["precision"] == "Precision (hits / k)"
    assert labels["precision_implicit"] == "Implicit's precision"
    # the page says which precision is which, right under the table
    captions = [shown(c.value) for c in at.caption]
    which = [c for c in captions if c.startswith("Precision (hits / k) is precision as readers")]
    assert len(which) == 1, captions
    assert "top 10 divided by 10, averaged over users" in which[0]
    assert (
        "Implicit's precision is the number the implicit library reports: hits divided by "
        "the smaller of k and the user's held-out likes" in which[0]
    )
    assert "implicit's equals recall, and the headline precision is 5/10 of it" in which[0]
    # the sidebar's model label shows the new precision at once, not after a full rerun
    label = next(
        o
        for o in at.selectbox(key="sidebar_model").options
        if o.startswith("ALS (WRMF) · latent factors 16, training passes 3 · ")
    )
    assert label.endswith(f" · top-10 precision {expected['precision']:.3f}"), label

    # recorded in the model's meta, with the slices, under the protocol key
    recorded = ModelStore().meta(als_id)["metrics"][PROTOCOL]
    assert recorded["precision"] == pytest.approx(expected["precision"], abs=1e-12)
    assert recorded["evaluated"] == "refit"
    assert [s["slice"] for s in recorded["slices"]] == [
        "light users",
        "heavy users",
        "popular items",
        "long-tail items",
    ]
    assert sum(s["n_users"] for s in recorded["slices"][:2]) == expected["n_users"]
    assert any(c.value.startswith("Share of test users with no hit") for c in at.caption)
    texts = assert_no_raw_keys(at)  # the table, the histograms, the slices, the sidebar
    assert "5 held-out likes per user" in texts  # the split box shows the protocol in words
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
    at = open_page(
        "evaluate", dataset="demo", model=als_id, split="random:0.2", seed="3", eval_k="5"
    )
    assert at.selectbox(key="eval_split").value == "random:0.2"
    at.button(key="eval_run").click().run()
    assert not at.exception
    assert counted["evaluate_model"] == 1
    metrics = ModelStore().meta(als_id)["metrics"]
    assert metrics["random:0.2:seed=3@k=5"]["k"] == 5
    assert _table(at).iloc[0]["precision"] == pytest.approx(
        metrics["random:0.2:seed=3@k=5"]["precision"], abs=1e-12
    )


def test_learning_curve_is_plotted_per_epoch_and_cached(als_id, counted):
    at = open_page("evaluate", dataset="demo", model=als_id, section="Learning curves")
    assert not at.exception
    assert at.number_input(key=f"eval_curve_als_{als_id}_iterations").value == ALS["iterations"]
    at.button(key="eval_curve_run").click().run()
    assert not at.exception, at.exception
    assert counted["learning_curve"] == 1
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    main = next(
        c for c in charts if "per training pass" in json.dumps(c["layout"].get("title", ""))
    )
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
    texts = assert_no_raw_keys(at)
    assert "Track training loss" in texts  # the form's parameters read as words
    assert main["layout"]["yaxis"]["title"]["text"] == "Precision (hits / k)"


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

    labels = _labels(at, "status")
    assert labels["factors"] == "Latent factors" and labels["status"] == "Status"
    assert labels["precision_implicit"] == "Implicit's precision"
    assert_no_raw_keys(at)  # the table's headers, the parallel coordinates, the form
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
    old = {
        "precision": 0.5,
        "precision_k": 0.25,
        "recall": 0.5,
        "ndcg": 0.4,
        "k": 10,
        "split": "holdout:5",
        "seed": 0,
        "n_users": 100,
        "conventions": {"precision": "implicit", "precision_k": "lightfm"},
        "slices": [
            {
                "group": group,
                "slice": name,
                "definition": "as recorded",
                "n_users": 50,
                "n_test_interactions": 250,
                "precision": 0.5,
                "recall": 0.5,
            }
            for group, name in (
                ("users", "light users"),
                ("users", "heavy users"),
                ("items", "popular items"),
                ("items", "long-tail items"),
            )
        ],
    }
    ModelStore().record_metrics(model_id, PROTOCOL, old)
    loaders.clear_model_listing()
    at = open_page("evaluate", dataset="demo", model=model_id)
    assert not at.exception, at.exception
    row = _table(at).iloc[0]
    assert row["precision"] == pytest.approx(0.25)
    assert row["precision_implicit"] == pytest.approx(0.5)
    assert "precision_k" not in _table(at).columns
    options = at.selectbox(key="sidebar_model").options
    assert any(
        o.startswith("ALS (WRMF) · latent factors 8, training passes 2 · ")
        and o.endswith("top-10 precision 0.250")
        for o in options
    ), options
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
        "holdout:N:F, random:P, leave-last:N or a predefined split name. Showing 5 held-out "
        "likes per user instead."
    ]
    assert at.selectbox(key="eval_split").value == "holdout:5"
    assert at.number_input(key="eval_k").value == 1


def _params(at) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_url_with_the_curve_controls_reopens_the_same_view(als_id, counted):
    at = open_page(
        "evaluate",
        dataset="demo",
        model=als_id,
        split="random:0.2",
        seed="3",
        eval_k="5",
        section="curves",
        curve_algo="bpr",
        curve_metric="ndcg",
    )
    assert not at.exception
    assert at.selectbox(key="eval_split").value == "random:0.2"
    assert at.number_input(key="eval_k").value == 5
    assert at.number_input(key="eval_seed").value == 3
    assert at.selectbox(key="eval_curve_algorithm").value == "bpr"
    assert at.selectbox(key="eval_curve_metric").value == "ndcg"
    assert at.number_input(key="eval_curve_bpr_defaults_factors")  # bpr's form, its defaults
    assert any(
        "Trained once on the train part of Random 20% held out · seed 3 · top 5" in shown(c.value)
        for c in at.caption
    )
    with pytest.raises(KeyError):
        at.multiselect(key="eval_models")  # the Metrics tab is closed: it did not run
    assert counted == {"evaluate_model": 0, "learning_curve": 0}


def test_a_url_with_the_search_controls_reopens_the_same_view(als_id):
    at = open_page(
        "evaluate",
        dataset="demo",
        model=als_id,
        section="search",
        search_algo="ease",
        search_mode="random",
        search_metric="recall",
    )
    assert not at.exception
    assert at.selectbox(key="eval_search_algorithm").value == "ease"
    assert at.segmented_control(key="eval_search_mode").value == "random"
    assert at.selectbox(key="eval_search_metric").value == "recall"
    assert at.multiselect(key="eval_random_ease_params")  # the random search's form
    with pytest.raises(KeyError):
        at.text_input(key="eval_grid_ease_l2")


def test_the_chart_metrics_come_from_the_url_and_changes_go_back_to_it(als_id):
    demo = load_dataset("demo")
    from recsys_core.evaluation import workflow

    proto = workflow.Protocol("holdout:5", 0, 10)
    workflow.evaluate_stored_model(demo, als_id, proto)  # reused when already recorded
    at = open_page("evaluate", dataset="demo", model=als_id, dist="recall", slice="ndcg")
    assert not at.exception
    assert at.segmented_control(key="eval_dist_metric").value == "recall"
    assert at.segmented_control(key="eval_slice_metric").value == "ndcg"
    charts = {
        c["data"][0]["type"]: c for c in (json.loads(p.proto.spec) for p in at.get("plotly_chart"))
    }
    assert charts["histogram"]["layout"]["xaxis"]["title"]["text"] == "Recall per user"
    assert charts["bar"]["layout"]["yaxis"]["title"]["text"] == "NDCG"

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


@pytest.fixture(scope="module")
def lightfm_id(session_home):
    """A LightFM model (its evaluation has AUC over the whole catalogue), evaluated here."""
    from recsys_core.evaluation import workflow
    from recsys_core.ui import loaders

    demo = load_dataset("demo")
    model_id = train(
        demo, "lightfm", {"no_components": 8, "epochs": 2, "random_state": 13}
    ).model_id
    workflow.evaluate_stored_model(demo, model_id, workflow.Protocol())
    loaders.clear_model_listing()
    return model_id


def test_every_column_and_control_reads_as_words(lightfm_id, als_id):
    """The stored table of a LightFM model and an ALS one: every column in words with a
    one-line help, the two precisions apart, AUC over the whole catalogue named so."""
    from recsys_core.evaluation import workflow

    workflow.evaluate_stored_model(load_dataset("demo"), als_id, workflow.Protocol())
    at = open_page("evaluate", dataset="demo", model=f"{lightfm_id},{als_id}")
    assert not at.exception, at.exception
    table = _table(at)
    assert len(table) == 2
    labels = _labels(at)
    assert labels["auc_full"] == "AUC, all items"
    assert labels["precision"] == "Precision (hits / k)"
    assert set(labels) >= {"precision", "precision_implicit", "recall", "auc_full"}
    for element in at.dataframe:
        config = json.loads(element.proto.columns or "{}")
        for column in element.value.columns:
            entry = config.get(str(column)) or {}
            assert entry.get("label") and "_" not in entry["label"], column
            assert entry.get("help", "").strip(), column
        assert config["_index"]["label"] == "Model"
    names = list(table.index)
    assert names[0].startswith("LightFM · ") and "seed 13" in names[0], names
    texts = assert_no_raw_keys(at)
    assert "Implicit's precision" in texts and "AUC, all items" in texts
    # the model picker shows the same words
    assert at.multiselect(key="eval_models").value == [lightfm_id, als_id]
    assert all("_" not in option for option in at.multiselect(key="eval_models").options)
    # the definitions, one click away: each header's words, what it measures, and the key the
    # command line and the store use (the one place keys are shown, on purpose)
    at.session_state["eval_definitions"] = True
    at.run()
    glossary = at.table[0].value
    assert list(glossary.columns) == ["What it measures", "Equals", "Name in the command line"]
    assert glossary.loc["Implicit's precision", "Name in the command line"] == (
        "precision_implicit"
    )
    assert glossary.loc["Implicit's precision", "Equals"] == "implicit's"
    assert glossary.loc["AUC, all items", "What it measures"].startswith(
        "AUC over the whole catalogue: "
    )
    assert glossary.loc["Precision (hits / k)", "Equals"] == "LightFM's"


def test_the_protocol_reads_as_words_in_every_control(als_id):
    at = open_page(
        "evaluate",
        dataset="demo",
        model=als_id,
        split="holdout:2",
        seed="4",
        eval_k="20",
        section="search",
    )
    assert not at.exception, at.exception
    box = at.selectbox(key="eval_split")
    assert box.value == "holdout:2"
    assert box.label == "Held-out likes (the test)"
    assert "2 held-out likes per user" in box.options and "Random 20% held out" in box.options
    assert box.help.startswith("For every user with at least 4 likes, 2 random likes are hidden")
    assert at.number_input(key="eval_seed").label == "Random seed"
    assert at.number_input(key="eval_k").label == "List length (k)"
    assert at.selectbox(key="eval_search_algorithm").options[0] == "ALS (WRMF)"
    assert "Implicit's precision" in at.selectbox(key="eval_search_metric").options
    texts = assert_no_raw_keys(at)
    assert any(
        "trained on the train part of 2 held-out likes per user · seed 4 · top 20" in t
        for t in texts
    ), texts
