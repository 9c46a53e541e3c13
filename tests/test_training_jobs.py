"""Training jobs (recsys_core.training_jobs): a model trained in a process of its own, with its
progress in a status file, cancellable, found again by its key and never run twice at once.

Fast models (popularity, item k-NN on the demo) finish; ALS with thousands of iterations on the
demo is the slow one that gets cancelled.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from recsys_core import training_jobs
from recsys_core.store import ModelStore

SLOW = {"iterations": 5000, "factors": 16}
"""ALS on the demo with this many iterations runs for minutes: it is always cancelled."""


@pytest.fixture(scope="module")
def jobs_home(tmp_path_factory):
    """A RECSYS_HOME of this module's own (its store and jobs), with the demo generated once."""
    return tmp_path_factory.mktemp("jobs_home")


@pytest.fixture
def home(jobs_home, monkeypatch):
    from recsys_core import datasets

    monkeypatch.setenv("RECSYS_HOME", str(jobs_home))
    datasets.clear_memo()
    yield jobs_home
    datasets.clear_memo()


@pytest.fixture
def demo(home):
    from recsys_core.datasets import load_dataset

    return load_dataset("demo")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes only once reaped; report it as alive
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone(key: str, pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        training_jobs.status(key)  # reaps our child once it has exited
        time.sleep(0.05)
    assert not _alive(pid), f"process {pid} of job {key} is still there"


def _wait_for(key: str, condition, timeout: float = 120.0) -> training_jobs.JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = training_jobs.status(key)
        if current is not None and condition(current):
            return current
        time.sleep(0.05)
    raise AssertionError(f"job {key} never met the condition: {training_jobs.status(key)}")


def _store_leftovers(store: ModelStore) -> list[str]:
    return [name for name in os.listdir(store.root) if name.startswith(".tmp-")]


@pytest.mark.parametrize(("algorithm", "params"), [("popularity", {}), ("item-knn", {"K": 11})])
def test_a_fast_job_stores_its_model_under_its_key(demo, algorithm, params):
    key = training_jobs.job_key(
        demo.fingerprint, algorithm, training_jobs_params(algorithm, params)
    )
    store = ModelStore()
    assert not store.exists(key)
    started = training_jobs.start(demo, algorithm, params, spec="demo")
    assert started.key == key and started.state in ("starting", "running", "done")
    finished = training_jobs.wait(key, timeout=120)
    assert finished.state == "done", finished.error
    assert finished.model_id == key and not finished.reused
    assert finished.fraction == 1.0 and finished.fit_seconds is not None
    assert finished.elapsed() > 0
    assert store.exists(key)
    model = store.load(key, demo)
    assert model.name == algorithm
    assert store.meta(key)["params"] == training_jobs_params(algorithm, params)
    assert key in {job.key for job in training_jobs.jobs(demo.fingerprint)}
    assert training_jobs.jobs("another fingerprint") == []
    _gone(key, finished.pid)  # it exits right after writing "done"
    # the same training asked for again: the stored model, no process
    again = training_jobs.start(demo, algorithm, params, spec="demo")
    assert again.state == "done" and again.reused and again.model_id == key
    assert again.pid is None


def training_jobs_params(algorithm: str, params: dict) -> dict:
    from recsys_core.algorithms import parse_params

    return parse_params(algorithm, params)


def test_a_slow_job_reports_progress_runs_once_and_cancels_leaving_nothing(demo):
    store = ModelStore()
    job = training_jobs.start(demo, "als", SLOW, spec="demo")
    assert job.state == "starting" and job.active
    # asked again (another session, the page reopened): the same run, no second process
    twin = training_jobs.start(demo, "als", dict(SLOW), spec="demo")
    assert twin.key == job.key and twin.run == job.run
    running = _wait_for(job.key, lambda s: (s.epoch or 0) >= 2)
    assert running.state == "running" and running.phase == "training"
    assert running.epochs == SLOW["iterations"]
    assert 0 < running.fraction < 0.01
    assert running.started is not None and running.pid is not None
    assert os.getpgid(running.pid) == running.pid  # its own process group
    with open(f"/proc/{running.pid}/stat") as handle:
        child_nice = int(handle.read().rsplit(")", 1)[1].split()[16])
    assert child_nice >= min(19, os.nice(0) + training_jobs.NICE)
    assert training_jobs.start(demo, "als", SLOW, spec="demo").run == job.run  # still once
    began = time.monotonic()
    final = training_jobs.cancel(job.key)
    assert time.monotonic() - began < training_jobs.CANCEL_GRACE + 5
    assert final.state == "cancelled" and not final.active
    assert final.finished is not None and final.model_id is None
    assert not _alive(running.pid)
    assert not store.exists(job.key)
    assert _store_leftovers(store) == []
    assert job.key not in {entry.model_id for entry in store.list()}
    # a new request after the cancel starts a new run
    again = training_jobs.start(demo, "als", SLOW, spec="demo")
    assert again.run != job.run and again.active
    training_jobs.cancel(again.key)
    assert not store.exists(job.key)


def test_request_cancel_returns_at_once_and_the_status_follows(demo):
    params = {**SLOW, "factors": 17}
    job = training_jobs.start(demo, "als", params, spec="demo")
    running = _wait_for(job.key, lambda s: (s.epoch or 0) >= 1)
    began = time.monotonic()
    asked = training_jobs.request_cancel(job.key)
    assert time.monotonic() - began < 1.0
    assert asked.state == "cancelled" or asked.cancel_requested
    done = _wait_for(job.key, lambda s: not s.active, timeout=training_jobs.CANCEL_GRACE + 10)
    assert done.state == "cancelled"
    _gone(job.key, running.pid)
    assert not ModelStore().exists(job.key)


def test_two_sessions_starting_the_same_training_at_once_get_one_process(demo):
    params = {**SLOW, "factors": 18}
    results: list = []
    barrier = threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        results.append(training_jobs.start(demo, "als", params, spec="demo"))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({job.run for job in results}) == 1
    key = results[0].key
    _wait_for(key, lambda s: s.pid is not None)
    children = [pid for pid in _children_of(os.getpid()) if _cmdline_has(pid, key)]
    assert len(children) == 1
    training_jobs.cancel(key)


def _children_of(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(name))
    return found


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return text.encode() in handle.read()
    except OSError:
        return False


def test_an_error_in_the_child_comes_back_as_one_sentence(demo):
    # biased MF needs explicit ratings, which the demo does not have: a UserError in the child
    job = training_jobs.start(demo, "biased-mf", {}, spec="demo")
    final = training_jobs.wait(job.key, timeout=120)
    assert final.state == "failed"
    assert "needs explicit ratings" in final.error
    assert "\n" not in final.error and "Traceback" not in final.error
    assert not ModelStore().exists(job.key)


def test_an_unexpected_error_in_the_child_is_one_sentence_and_its_trace_stays_in_the_log(demo):
    # an option the loader cannot even look up (a list where a value is expected): a TypeError
    job = training_jobs.start(demo, "item-knn", {"K": 14}, spec="demo", options={"seed": [1]})
    final = training_jobs.wait(job.key, timeout=120)
    assert final.state == "failed"
    assert final.error == (
        "Training Item k-NN stopped with an unexpected error (TypeError); "
        "the details are in the job's log on the server."
    )
    log = (training_jobs.jobs_dir() / f"{job.key}.log").read_text()
    assert "Traceback" in log and "TypeError" in log
    assert not ModelStore().exists(job.key)


def test_a_dataset_that_changed_is_refused_in_one_sentence(demo):
    # the dataset on screen is the demo, but the spec loads its 5-core: another fingerprint
    job = training_jobs.start(demo, "item-knn", {"K": 13}, spec="demo@kcore=5,5")
    final = training_jobs.wait(job.key, timeout=120)
    assert final.state == "failed"
    assert final.error.endswith("reload the page and train again.")
    assert not ModelStore().exists(job.key)


def test_a_process_killed_from_outside_is_reported_failed(demo):
    job = training_jobs.start(demo, "als", {**SLOW, "factors": 19}, spec="demo")
    running = _wait_for(job.key, lambda s: (s.epoch or 0) >= 1)
    os.killpg(running.pid, signal.SIGKILL)
    final = _wait_for(job.key, lambda s: not s.active, timeout=20)
    assert final.state == "failed"
    assert final.error.startswith("The training process was killed")
    assert not ModelStore().exists(job.key)
    assert _store_leftovers(ModelStore()) == []


def test_a_damaged_status_file_is_ignored(home):
    key = "als-0123456789ab"
    path = training_jobs.jobs_dir() / f"{key}.json"
    for payload in (
        "{not json",
        json.dumps({"key": key, "state": "exploded"}),
        json.dumps([1, 2]),
        "x" * (training_jobs.STATUS_MAX_BYTES + 10),
    ):
        path.write_text(payload)
        assert training_jobs.status(key) is None
        assert key not in {job.key for job in training_jobs.jobs()}
    path.write_text(
        json.dumps(
            {
                "key": key,
                "state": "done",
                "fraction": "lots",
                "model_id": "../../etc",
                "pid": True,
                "created": 1.0,
            }
        )
    )
    odd = training_jobs.status(key)
    assert odd.fraction == 0.0 and odd.model_id is None and odd.pid is None
    path.unlink()
    assert training_jobs.status("../escape") is None
    with pytest.raises(ValueError):
        training_jobs.forget("../escape")


def test_the_thread_budget_leaves_a_core_to_the_server(monkeypatch):
    monkeypatch.delenv(training_jobs.THREADS_ENV, raising=False)
    assert training_jobs.thread_budget(1) == 1
    assert training_jobs.thread_budget(2) == 1
    assert training_jobs.thread_budget(8) == 7
    monkeypatch.setenv(training_jobs.THREADS_ENV, "3")
    assert training_jobs.thread_budget(2) == 3


def test_only_large_datasets_train_in_the_background(demo, monkeypatch):
    monkeypatch.delenv(training_jobs.BACKGROUND_ENV, raising=False)
    assert demo.n_interactions < training_jobs.BACKGROUND_MIN_INTERACTIONS
    assert not training_jobs.runs_in_background(demo)
    monkeypatch.setenv(training_jobs.BACKGROUND_ENV, str(demo.n_interactions))
    assert training_jobs.runs_in_background(demo)
    monkeypatch.setenv(training_jobs.BACKGROUND_ENV, "0")
    assert training_jobs.runs_in_background(demo)


def test_the_niceness_can_be_set_and_stays_in_range(monkeypatch):
    monkeypatch.delenv(training_jobs.NICE_ENV, raising=False)
    assert training_jobs.niceness() == training_jobs.NICE
    monkeypatch.setenv(training_jobs.NICE_ENV, "19")
    assert training_jobs.niceness() == 19
    monkeypatch.setenv(training_jobs.NICE_ENV, "40")
    assert training_jobs.niceness() == 19
    monkeypatch.setenv(training_jobs.NICE_ENV, "-5")  # raising priority is not offered
    assert training_jobs.niceness() == training_jobs.NICE
