"""The app's projections in the background (recsys_core/projection/jobs.py): one computation
shared by every run that waits for it, stopped when nobody waits, and a cache look-up that never
computes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from recsys_core import projection
from recsys_core.datasets import load_dataset
from recsys_core.projection import jobs as background
from recsys_core.store import ModelStore


def test_a_background_projection_is_shared_and_stops_when_nobody_waits(monkeypatch):
    """Two runs waiting for the same projection share one computation; one nobody polls for
    ABANDON_SECONDS stops at its next progress report."""
    jobs = background.Jobs()
    started = threading.Event()
    release = threading.Event()
    calls = {"n": 0}

    def run(progress):
        calls["n"] += 1
        started.set()
        release.wait(5)
        progress(0.5, "half")
        return "map"

    first = jobs.attach(("k",), run)
    assert started.wait(5)
    assert jobs.attach(("k",), run) is first
    release.set()
    assert first.future.result(5) == "map" and calls["n"] == 1

    release.clear()
    started.clear()
    lonely = jobs.attach(("other",), run)
    assert started.wait(5)
    monkeypatch.setattr(background, "ABANDON_SECONDS", 0.05)  # once it runs: a busy machine
    time.sleep(0.1)  # nobody polls
    release.set()
    with pytest.raises(background.Abandoned):
        lonely.future.result(5)
    # an abandoned job is started again (waited for at once: no abandoning on a busy machine)
    monkeypatch.setattr(background, "ABANDON_SECONDS", 20.0)
    assert jobs.attach(("other",), lambda progress: "again").future.result(5) == "again"


def test_wait_reports_progress_returns_the_result_and_forgets_the_job():
    jobs = background.Jobs()
    release = threading.Event()

    def run(progress):
        progress(0.25, "a quarter")
        release.wait(5)
        return "map"

    seen: list[tuple[float, str]] = []

    def progress(fraction, message):
        seen.append((fraction, message))
        if fraction == 0.25:
            release.set()

    assert jobs.wait("k", run, progress=progress, poll=0.01) == "map"
    assert (0.25, "a quarter") in seen
    assert jobs.jobs == {}  # later visits read the disk cache


def test_wait_raises_what_the_job_raised_and_the_next_attach_starts_again():
    jobs = background.Jobs()

    def fails(progress):
        raise projection.NoVectorsError("no vectors")

    with pytest.raises(projection.NoVectorsError, match="no vectors"):
        jobs.wait("k", fails, progress=lambda f, m: None, poll=0.01)
    assert jobs.attach("k", lambda progress: "map").future.result(5) == "map"


def test_from_cache_answers_without_computing(app_models, monkeypatch):
    calls = {"n": 0}
    real = projection.methods.pca

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(projection.methods, "pca", counted)
    model = ModelStore().load(app_models["als"])
    projection.clear_cache(app_models["als"])
    assert background.from_cache(model, "pca", model_id=app_models["als"]) is None
    assert calls["n"] == 0
    made = projection.project_model(model, "pca", model_id=app_models["als"])
    hit = background.from_cache(model, "pca", model_id=app_models["als"])
    assert calls["n"] == 1 and hit is not None and hit.cached
    np.testing.assert_array_equal(hit.coords, made.coords)


def test_a_sample_of_items_is_stratified_by_category():
    demo = load_dataset("demo")
    strata = background.category_strata(demo, "items", 400)
    assert strata is not None and len(strata) == demo.n_items
    assert list(strata[:5]) == demo.items["category"].astype(str).tolist()[:5]
    assert background.category_strata(demo, "items", None) is None  # no sample
    assert background.category_strata(demo, "users", 400) is None


def test_only_a_large_slow_map_gets_a_first_picture():
    limit = background.FIRST_PICTURE_FROM
    assert background.wants_first_picture("tsne", limit + 1)
    assert background.wants_first_picture("umap", limit + 1)
    assert not background.wants_first_picture("tsne", limit)
    assert not background.wants_first_picture("pca", 10 * limit)  # PCA is the first picture
