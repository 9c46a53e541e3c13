"""The sidebar's training jobs (recsys_core/ui/training_panel.py): a large dataset trains in a
process of its own, with a progress bar and a Cancel button polled by a fragment; when it is
done its model is selected in the URL. The demo is made "large" by lowering the threshold
(RECSYS_BACKGROUND_TRAINING=0) for the tests that want a job.
"""

from __future__ import annotations

import os
import time

import pytest

from recsys_core import training_jobs
from recsys_core.algorithms import parse_params
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from .helpers import open_page, shown

SLOW = {"iterations": 4000, "factors": 12}


@pytest.fixture
def in_background(monkeypatch):
    monkeypatch.setenv(training_jobs.BACKGROUND_ENV, "0")


def _key(algorithm: str, params: dict) -> str:
    data = load_dataset("demo")
    return training_jobs.job_key(data.fingerprint, algorithm, parse_params(algorithm, params))


def _submit(at, algorithm: str, params: dict):
    at.selectbox(key="train_algorithm").select(algorithm).run()
    for name, value in params.items():
        at.number_input(key=f"param_{algorithm}_{name}").set_value(value)
    [button] = [b for b in at.get("form_submit_button") if b.label == "Train"]
    button.click().run()
    assert not at.exception, at.exception
    return at


def _model(at) -> str:
    value = at.query_params.get("model", "")
    return value[0] if isinstance(value, list) else value


def _progress_texts(at) -> list[str]:
    return [element.proto.text for element in at.sidebar.get("progress")]


# generous: a job runs at nice 10, so on a machine busy with other work it gets little CPU
def _until(at, condition, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition(at):
            return at
        time.sleep(0.3)
        at.run()  # what the fragment's timer does in a browser
        assert not at.exception, at.exception
    raise AssertionError(f"never happened; sidebar progress: {_progress_texts(at)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_small_dataset_still_trains_in_the_script_run(app_models, monkeypatch):
    monkeypatch.delenv(training_jobs.BACKGROUND_ENV, raising=False)
    at = open_page("similar", dataset="demo", model=app_models["als"])
    _submit(at, "item-knn", {"K": 8})
    key = _key("item-knn", {"K": 8})
    assert _model(at) == key  # trained and selected in that very run
    assert ModelStore().exists(key)
    assert training_jobs.status(key) is None  # no job was involved


def test_a_job_shows_its_progress_and_its_model_is_selected_when_done(app_models, in_background):
    at = open_page("similar", dataset="demo", model=app_models["als"])
    params = {"K": 9}
    key = _key("item-knn", params)
    _submit(at, "item-knn", params)
    job = training_jobs.status(key)
    assert job is not None and job.request["spec"] == "demo"
    if job.active:  # item k-NN on the demo takes a second or two: usually still running
        texts = _progress_texts(at)
        assert texts and any(("Starting" in t or "Loading" in t or "%" in t) for t in texts)
        assert at.button(key=f"cancel_job_{key}").label == "Cancel"
    _until(at, lambda at: _model(at) == key)
    assert ModelStore().meta(key)["params"]["K"] == 9
    assert at.sidebar.selectbox(key="sidebar_model").value == key
    assert _progress_texts(at) == []  # nothing left to poll
    assert training_jobs.status(key).state == "done"


def test_a_job_cancelled_from_the_sidebar_leaves_no_model(app_models, in_background):
    at = open_page("similar", dataset="demo", model=app_models["als"])
    key = _key("als", SLOW)
    _submit(at, "als", SLOW)
    _until(at, lambda at: any("Epoch" in t for t in _progress_texts(at)))
    [text] = [t for t in _progress_texts(at) if "Epoch" in t]
    assert f"of {SLOW['iterations']}" in text and " s" in text  # the epochs and the time
    pid = training_jobs.status(key).pid
    at.button(key=f"cancel_job_{key}").click().run()
    assert not at.exception
    _until(
        at,
        lambda at: any("was cancelled" in shown(i.value) for i in at.sidebar.info),
        timeout=training_jobs.CANCEL_GRACE + 30,
    )
    [said] = [shown(i.value) for i in at.sidebar.info if "was cancelled" in shown(i.value)]
    assert said.startswith("Training ALS (WRMF) was cancelled after ")
    assert said.endswith("nothing was saved.")
    assert not ModelStore().exists(key)
    assert _model(at) == app_models["als"]  # the model on screen stays
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        training_jobs.status(key)
        time.sleep(0.05)
    assert not _alive(pid)
    at.run()
    assert not any("was cancelled" in shown(i.value) for i in at.sidebar.info)  # said once


def test_a_reopened_page_finds_the_job_and_the_same_form_does_not_start_another(
    app_models, in_background
):
    params = {**SLOW, "factors": 13}
    key = _key("als", params)
    first = open_page("similar", dataset="demo", model=app_models["als"])
    _submit(first, "als", params)
    run = training_jobs.status(key).run
    # the page closed and opened again: a new session on the same dataset
    second = open_page("similar", dataset="demo", model=app_models["als"])
    assert not second.exception
    captions = [shown(c.value) for c in second.sidebar.caption]
    assert any(c.startswith("Training ALS (WRMF)") and "another window" in c for c in captions)
    assert second.button(key=f"cancel_job_{key}").label == "Cancel"
    _submit(second, "als", params)  # found again by its key: the same run, now its own
    assert training_jobs.status(key).run == run
    captions = [shown(c.value) for c in second.sidebar.caption]
    assert not any("another window" in c for c in captions)
    second.button(key=f"cancel_job_{key}").click().run()
    _until(
        second,
        lambda at: any("was cancelled" in shown(i.value) for i in at.sidebar.info),
        timeout=training_jobs.CANCEL_GRACE + 30,
    )
    assert not ModelStore().exists(key)
    # the session that started it hears that it was cancelled, and stops polling
    _until(first, lambda at: any("was cancelled" in shown(i.value) for i in at.sidebar.info))
    assert _progress_texts(first) == []


def test_a_failed_job_says_one_sentence(app_models, in_background, monkeypatch):
    params = {"K": 17}  # trained by no other test: a stored model would be reused, no job run
    key = _key("item-knn", params)
    at = open_page("similar", dataset="demo", model=app_models["als"])
    # the child loads the 5-core of the demo instead: another fingerprint, refused
    real = training_jobs.start

    def elsewhere(*args, **kwargs):
        kwargs["spec"] = "demo@kcore=5,5"
        return real(*args, **kwargs)

    monkeypatch.setattr(training_jobs, "start", elsewhere)
    _submit(at, "item-knn", params)
    _until(at, lambda at: any("train again" in shown(e.value) for e in at.sidebar.error))
    [said] = [shown(e.value) for e in at.sidebar.error if "train again" in shown(e.value)]
    assert "\n" not in said and "Traceback" not in said
    assert not ModelStore().exists(key)


def test_progress_words():
    from recsys_core.ui.training_panel import duration, overall_fraction, progress_text

    job = training_jobs.JobStatus(
        key="als-0123456789ab",
        state="running",
        phase="training",
        fraction=0.2,
        epoch=3,
        epochs=15,
        created=100.0,
    )
    assert progress_text(job, now=164.0) == "Epoch 3 of 15 (20%) · 1 min 04 s"
    assert overall_fraction(job) == pytest.approx(0.05 + 0.95 * 0.2)
    loading = training_jobs.JobStatus(
        key="als-0123456789ab", state="running", phase="loading", fraction=0.5, created=100.0
    )
    assert progress_text(loading, now=112.0) == "Loading the dataset (50%) · 12 s"
    assert overall_fraction(loading) == pytest.approx(0.025)
    assert duration(7325) == "2 h 02 min" and duration(8.4) == "8 s"
