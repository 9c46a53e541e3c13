"""The Evaluate page's workflow in the core (recsys_core.evaluation.workflow): a stored model is
evaluated once under a protocol and its recorded metrics are what a fresh evaluation gives; the
next ask reuses them; a model trained on the split is evaluated as stored; per-user values and
learning curves are kept as parquet (a hit reads, a miss computes, a damaged file is reported
and computed again) and nothing is ever unpickled."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pandas as pd
import pytest

from recsys_core import evaluation
from recsys_core.datasets import load_dataset
from recsys_core.evaluation import workflow
from recsys_core.evaluation.workflow import Protocol
from recsys_core.split import make_split
from recsys_core.store import ModelStore
from recsys_core.training import train

# unique to this module: no other test stores or caches these
ALS = {"factors": 8, "iterations": 2, "random_state": 31}
PROTO = Protocol("holdout:5", 0, 10)


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo")


@pytest.fixture(scope="module")
def fresh(demo):
    """The protocol's evaluation computed from scratch, as the command line does."""
    return evaluation.evaluate_model(demo, "als", ALS, PROTO.split, PROTO.k, PROTO.seed)


@pytest.fixture(scope="module")
def evaluated(demo):
    """A model trained on the whole demo, then evaluated by the workflow (refit on the
    split): (model id, outcome)."""
    model_id = train(demo, "als", ALS).model_id
    return model_id, workflow.evaluate_stored_model(demo, model_id, PROTO)


def _no_fit(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("nothing should be computed")

    for name in ("evaluate_model", "evaluate_stored", "learning_curve"):
        monkeypatch.setattr(evaluation, name, refuse)


def test_a_model_trained_on_everything_is_refit_and_records_a_fresh_evaluation(
    evaluated, fresh, demo
):
    model_id, outcome = evaluated
    assert outcome.how == "refit" and outcome.seconds > 0 and outcome.error is None
    recorded = ModelStore().meta(model_id)["metrics"][PROTO.key]
    assert PROTO.key == "holdout:5:seed=0@k=10"
    for name in evaluation.METRICS:
        want = fresh.metrics.get(name)
        if want is None or (isinstance(want, float) and np.isnan(want)):
            assert recorded.get(name) is None, name
        else:
            assert recorded[name] == pytest.approx(want, abs=1e-12), name
    assert recorded["evaluated"] == "refit"
    assert recorded["n_users"] == fresh.protocol["n_users"]
    slices = evaluation.slice_metrics(fresh.model, *_split(demo), PROTO.k, result=fresh).to_dict(
        orient="records"
    )
    assert [s["slice"] for s in recorded["slices"]] == [s["slice"] for s in slices]
    for got, want in zip(recorded["slices"], slices, strict=True):
        assert got["recall"] == pytest.approx(want["recall"], abs=1e-12)
        assert got["n_users"] == want["n_users"]


def _split(demo):
    split = make_split(demo, PROTO.split, random_state=PROTO.seed)
    return split.train, split.test


def test_the_recorded_metrics_are_reused_without_computing(evaluated, demo, monkeypatch):
    model_id, _ = evaluated
    _no_fit(monkeypatch)
    messages = []
    outcome = workflow.evaluate_stored_model(
        demo, model_id, PROTO, progress=lambda f, m: messages.append((f, m))
    )
    assert outcome == workflow.Outcome(model_id, "reused")
    assert messages == [(1.0, "Reused the stored metrics")]


def test_recompute_evaluates_again_with_the_same_numbers(evaluated, demo):
    model_id, _ = evaluated
    before = ModelStore().meta(model_id)["metrics"][PROTO.key]
    outcome = workflow.evaluate_stored_model(demo, model_id, PROTO, recompute=True)
    assert outcome.how == "refit"
    after = ModelStore().meta(model_id)["metrics"][PROTO.key]
    for name in ("precision", "recall", "ndcg", "map", "coverage"):
        assert after[name] == pytest.approx(before[name], abs=1e-12), name


def test_metrics_relabelled_from_an_old_version_are_not_reused():
    meta = {"metrics": {PROTO.key: {"precision": 0.2, "relabelled_from_version": 1}}}
    assert workflow.reusable_metrics(meta, PROTO) is None
    meta = {"metrics": {PROTO.key: {"precision": 0.2}}}
    assert workflow.reusable_metrics(meta, PROTO) == {"precision": 0.2}
    assert workflow.reusable_metrics({"metrics": {}}, PROTO) is None


def test_a_saved_candidate_is_evaluated_as_stored_with_the_same_numbers(demo, fresh):
    model_id = workflow.evaluate_and_save(
        demo, "als", ALS, PROTO, extra={"tuning": {"metric": "precision"}}
    )
    meta = ModelStore().meta(model_id)
    assert meta["extra"]["split"] == {"spec": "holdout:5", "seed": 0}
    assert meta["extra"]["tuning"] == {"metric": "precision"}
    assert workflow.trained_on_split(meta, PROTO.split, PROTO.seed)
    assert not workflow.trained_on_split(meta, PROTO.split, 1)
    recorded = meta["metrics"][PROTO.key]
    assert recorded["evaluated"] == "stored" and len(recorded["slices"]) == 4
    assert recorded["precision"] == pytest.approx(fresh["precision"], abs=1e-12)
    outcome = workflow.evaluate_stored_model(demo, model_id, PROTO, recompute=True)
    assert outcome.how == "stored"  # evaluated as stored (evaluate --model), not refit
    again = ModelStore().meta(model_id)["metrics"][PROTO.key]
    for name in ("precision", "recall", "ndcg", "auc", "coverage"):
        assert again[name] == pytest.approx(fresh[name], abs=1e-12), name


# ----------------------------------------------------------------------------- the disk cache
def test_per_user_values_are_kept_and_a_damaged_file_is_reported(evaluated, fresh, caplog):
    model_id, _ = evaluated
    meta = ModelStore().meta(model_id)
    kept = workflow.stored_per_user(meta, PROTO)
    want = evaluation.upgrade_per_user(fresh.per_user)
    assert kept is not None and len(kept) == fresh.protocol["n_users"]
    np.testing.assert_allclose(kept["ndcg"], want["ndcg"], atol=1e-12)
    assert list(kept.columns) == list(want.columns)
    assert workflow.stored_per_user(meta, Protocol("holdout:5", 0, 7)) is None  # a miss

    path = workflow.PER_USER.path(workflow.per_user_payload(meta, PROTO))
    path.write_bytes(b"not a parquet file")
    with caplog.at_level(logging.WARNING, logger="recsys_core.evaluation.workflow"):
        assert workflow.stored_per_user(meta, PROTO) is None
    assert any("damaged" in r.getMessage() and path.name in r.getMessage() for r in caplog.records)
    assert not path.exists()  # removed: evaluating again writes it anew
    workflow.evaluate_stored_model(load_dataset("demo"), model_id, PROTO, recompute=True)
    again = workflow.stored_per_user(ModelStore().meta(model_id), PROTO)
    np.testing.assert_allclose(again["ndcg"], want["ndcg"], atol=1e-12)


@pytest.fixture
def counted_curves(monkeypatch):
    calls = []
    real = evaluation.learning_curve

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "learning_curve", counting)
    return calls


def test_learning_curves_hit_miss_and_damaged(demo, counted_curves, caplog):
    params = {**ALS, "random_state": 32}
    payload = workflow.curve_payload(demo.fingerprint, "als", params, PROTO, "ndcg")
    first, cached = workflow.cached_learning_curve(demo, payload)
    assert not cached and len(counted_curves) == 1
    want = evaluation.learning_curve(demo, "als", params, "holdout:5", 10, "ndcg", 0)
    pd.testing.assert_frame_equal(first, want)

    second, cached = workflow.cached_learning_curve(demo, payload)
    assert cached and len(counted_curves) == 2  # the reference above, not the workflow
    pd.testing.assert_frame_equal(second, want)

    other = workflow.curve_payload(demo.fingerprint, "als", params, PROTO, "recall")
    assert workflow.CURVES.get(other) is None  # another metric: a miss

    path = workflow.CURVES.path(payload)
    path.write_bytes(path.read_bytes()[:40])  # cut short
    with caplog.at_level(logging.WARNING, logger="recsys_core.evaluation.workflow"):
        third, cached = workflow.cached_learning_curve(demo, payload)
    assert not cached and len(counted_curves) == 3  # computed again
    assert any("damaged" in r.getMessage() for r in caplog.records)
    pd.testing.assert_frame_equal(third, want)
    pd.testing.assert_frame_equal(workflow.CURVES.get(payload), want)


def test_cache_files_are_parquet_written_whole_and_read_without_unpickling(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    cache = workflow.FrameCache("test")
    frame = pd.DataFrame({"user": np.arange(5), "ndcg": np.linspace(0.0, 1.0, 5)})
    path = cache.put({"a": 1}, frame)
    assert path.parent == tmp_path / "cache" / "evaluate" / "test"
    assert path.name == f"{workflow.digest({'a': 1})}.parquet"
    assert path.read_bytes()[:4] == b"PAR1"  # parquet, not a pickle
    cache.put({"a": 1}, frame.assign(ndcg=1.0))  # replaced in one step
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    got = cache.get({"a": 1})
    assert list(got["ndcg"]) == [1.0] * 5 and list(got["user"]) == [0, 1, 2, 3, 4]
    assert cache.get({"a": 2}) is None


def test_the_digest_names_stay_as_they_were():
    """Cache files written before the workflow moved to the core are still found."""
    assert workflow.digest(["m", "2026-01-01T00:00:00", "holdout:5:seed=0@k=10"]) == (
        "936293327dc9ae960474"
    )


def test_which_families_the_app_refits(demo):
    assert workflow.can_refit("als", demo)
    assert not workflow.can_refit("vectors", demo)  # vectors come from a file
    assert not workflow.can_refit("spark-als", demo)
    assert not workflow.can_refit("biased-mf", demo)  # the demo has no explicit ratings
    assert not workflow.can_refit("no-such-family", demo)


def test_an_uploads_recorded_source_names_its_file_and_its_k_core(fresh_home):
    from recsys_core.datasets import recorded_source
    from recsys_core.datasets.uploads import save_upload

    rows = "".join(f"u{u},i{(u + j) % 7}\n" for u in range(12) for j in range(4))
    spec = save_upload(f"user,item\n{rows}".encode(), "likes.csv")
    source = recorded_source(spec)
    assert source["data_dir"] is None and source["options"] == {}
    assert source["spec"].endswith(".csv") and "uploads" in source["spec"]
    cut = recorded_source(f"{spec}@kcore=2,3")
    assert cut["spec"] == f"{source['spec']}@kcore=2,3"
    assert recorded_source("demo") is None and recorded_source("demo@kcore=5,5") is None
