"""``train --force`` replaces a model atomically: a kill -9 at any moment leaves the old model or
the new one, loadable, and never a model that is gone (or swept as a stale temporary folder).

The CLI runs in a subprocess that pauses at one step of the replace (a wrapper around that step
writes a marker file and sleeps) and is killed there with SIGKILL; then the store must give a
model. Both ways of replacing are covered: the one-step exchange of the two folders (Linux
``renameat2``) and the fallback that parks the old folder, which must be put back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from recsys_core import datasets
from recsys_core.datasets import load_dataset
from recsys_core.errors import StoreError
from recsys_core.store import ModelStore
from recsys_core.store import folders as store_folders
from recsys_core.training import fit_model, train

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALGORITHM, PARAMS = "item-knn", {"K": 10}
TRAIN = ["train", "demo", ALGORITHM, "--param", "K=10", "--force"]

# The CLI's ``train --force`` with one step of the store wrapped: ``pause()`` marks the moment
# and waits to be killed. ``fallback`` turns the exchange off (as on a filesystem without it).
_DRIVER = """
import os, sys, time
from pathlib import Path

import numpy as np

from recsys_core import training
from recsys_core.store import folders
from recsys_core.cli import main

step, fallback, marker = sys.argv[1], sys.argv[2] == "fallback", Path(sys.argv[3])


def pause():
    marker.write_text(str(os.getpid()))
    while True:
        time.sleep(60)


def before(module, name, caller=None):
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        if caller is None or sys._getframe(1).f_code.co_name == caller:
            pause()
        return real(*args, **kwargs)

    setattr(module, name, wrapper)


if fallback:
    folders._exchange = lambda first, second: False
if step == "fit":
    before(training, "fit_model")
elif step == "write":
    def half_written(handle, **arrays):
        handle.write(b"PK\\x03\\x04 half an npz")
        handle.flush()
        pause()
    np.savez = half_written
elif step in ("exchange", "park", "place"):
    before(folders, {"exchange": "_exchange", "park": "_park", "place": "_place"}[step])
elif step == "cleanup":  # the new folder is in place, the old one not yet removed
    before(folders, "remove_path", caller="move_into_place")
sys.exit(main(sys.argv[4:]))
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("force_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECSYS_HOME", str(path))
        datasets.clear_memo()
        yield path
    datasets.clear_memo()


@pytest.fixture(autouse=True)
def _module_home(home, monkeypatch):
    monkeypatch.setenv("RECSYS_HOME", str(home))


@pytest.fixture(scope="module")
def demo(home):
    return load_dataset("demo")


@pytest.fixture
def stored(home, demo):
    """A trained model, made an hour and a half old: (store, model id, its meta["created"])."""
    store = ModelStore()
    model_id = train(demo, ALGORITHM, PARAMS, store=store, force=True).model_id
    old = time.time() - 5400
    for path in (store.root / model_id, *(store.root / model_id).iterdir()):
        os.utime(path, (old, old))
    return store, model_id, store.meta(model_id)["created"]


def _env(home: Path) -> dict:
    return {
        **os.environ,
        "RECSYS_HOME": str(home),
        "PYTHONPATH": str(PROJECT_ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
    }


def _kill_at(home: Path, tmp_path: Path, step: str, mode: str) -> None:
    """Run ``train --force`` until it reaches ``step``, then kill -9 it."""
    marker = tmp_path / f"{step}-{mode}.pid"
    process = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, step, mode, str(marker), *TRAIN],
        cwd=PROJECT_ROOT,
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError(f"never reached {step}: {process.stderr.read()[-3000:]}")
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


def _assert_one_good_model(store: ModelStore, model_id: str, demo) -> dict:
    """The model loads (through a fresh store, as the next process would) and is listed once."""
    fresh = ModelStore(store.root)
    model = fresh.load(model_id, demo)
    want, _ = fit_model(demo, ALGORITHM, PARAMS).similar_items(demo.item_index(demo.example_item))
    got, _ = model.similar_items(demo.item_index(demo.example_item))
    np.testing.assert_array_equal(got, want)
    entries = fresh.list()
    assert [(e.model_id, e.ok) for e in entries] == [(model_id, True)]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".tmp-old-")]
    return fresh.meta(model_id)


# (step where the writer dies, exchange or fallback, which model must be there after)
MOMENTS = [
    ("fit", "exchange", "old"),
    ("write", "exchange", "old"),
    ("exchange", "exchange", "old"),
    ("cleanup", "exchange", "new"),
    ("park", "fallback", "old"),
    ("place", "fallback", "old"),  # the old folder parked, the new one not in place: put back
    ("cleanup", "fallback", "new"),
]


@pytest.mark.parametrize(("step", "mode", "left"), MOMENTS, ids=[f"{s}-{m}" for s, m, _ in MOMENTS])
def test_a_kill_during_force_leaves_the_old_or_the_new_model(
    step, mode, left, stored, home, demo, tmp_path
):
    store, model_id, created = stored
    _kill_at(home, tmp_path, step, mode)
    if step == "place":  # the moment the old code lost the model: it is parked, not in place
        assert not (store.root / model_id).exists()
        assert [p.name for p in store.root.iterdir() if p.name.startswith(f".tmp-old-{model_id}")]
    meta = _assert_one_good_model(store, model_id, demo)
    assert (meta["created"] == created) == (left == "old")


def test_the_cli_answers_after_the_kill_that_lost_the_model(stored, home, demo, tmp_path):
    """The next command (a new process) finds the model the killed one had parked."""
    _, model_id, created = stored
    _kill_at(home, tmp_path, "place", "fallback")
    done = subprocess.run(
        [sys.executable, "-m", "recsys_core", "similar", model_id, demo.example_item, "--json"],
        cwd=PROJECT_ROOT,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    want, _ = fit_model(demo, ALGORITHM, PARAMS).similar_items(demo.item_index(demo.example_item))
    assert [row["item_id"] for row in json.loads(done.stdout)["items"]] == [
        demo.item_id(int(i)) for i in want
    ]
    assert ModelStore().meta(model_id)["created"] == created


def test_kills_at_random_moments_of_the_real_command(stored, home, demo):
    """The unpatched ``train --force`` killed when its temporary folder appears, and at
    fractions of the time a whole run takes."""
    store, model_id, _ = stored
    command = [sys.executable, "-m", "recsys_core", *TRAIN]
    start = time.monotonic()
    subprocess.run(command, cwd=PROJECT_ROOT, env=_env(home), capture_output=True, check=True)
    whole = time.monotonic() - start
    rng = np.random.default_rng(0)
    for delay in ("tmp", *(whole * rng.uniform(0.6, 1.0, size=4))):
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        if delay == "tmp":
            while (
                process.poll() is None
                and time.monotonic() < deadline
                and not any(p.name.startswith(f".tmp-{model_id}") for p in store.root.iterdir())
            ):
                time.sleep(0.002)
        else:
            time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        _assert_one_good_model(store, model_id, demo)


# ------------------------------------------------------------------------------ in-process
def _temporary(store: ModelStore) -> set[str]:
    return {p.name for p in store.root.iterdir() if p.name.startswith(".tmp-")}


def test_replacing_swaps_the_folders_in_one_step(stored, demo, monkeypatch):
    store, model_id, created = stored
    before = _temporary(store)  # left by the kills above (swept after an hour)
    first, second = store.root / ".probe-a", store.root / ".probe-b"
    first.mkdir()
    second.mkdir()
    (first / "mark").touch()
    swapped = store_folders._exchange(first, second)
    assert swapped == (second / "mark").exists() != (first / "mark").exists()
    shutil.rmtree(first)
    shutil.rmtree(second)
    if not swapped:
        pytest.skip("this filesystem has no atomic exchange; the fallback is tested below")
    calls = []
    monkeypatch.setattr(store_folders, "_park", lambda *a: calls.append(a))
    train(demo, ALGORITHM, PARAMS, store=store, force=True)
    assert calls == []  # the exchange did it: no moment without a model
    assert store.meta(model_id)["created"] != created
    assert _temporary(store) == before


def test_the_fallback_replaces_and_leaves_nothing(stored, demo, monkeypatch):
    store, model_id, created = stored
    before = _temporary(store)
    monkeypatch.setattr(store_folders, "_exchange", lambda first, second: False)
    train(demo, ALGORITHM, PARAMS, store=store, force=True)
    assert store.meta(model_id)["created"] != created
    assert _temporary(store) == before


def test_a_parked_copy_is_put_back_not_swept(stored, demo):
    """What a kill between the fallback's two renames leaves: the model parked, older than an
    hour. A listing used to sweep it as a stale temporary folder; now it is put back."""
    store, model_id, created = stored
    parked = store.root / f".tmp-old-{model_id}-0123abcd"
    os.rename(store.root / model_id, parked)
    old = time.time() - 7200
    os.utime(parked, (old, old))
    assert [(e.model_id, e.ok) for e in store.list()] == [(model_id, True)]
    assert not parked.exists() and store.meta(model_id)["created"] == created


def test_loading_puts_a_parked_copy_back(stored, demo):
    store, model_id, created = stored
    os.rename(store.root / model_id, store.root / f".tmp-old-{model_id}-0123abcd")
    assert store.load(model_id, demo).is_fitted
    assert store.exists(model_id) and store.meta(model_id)["created"] == created


def test_a_parked_copy_beside_the_new_model_is_removed(stored, demo):
    store, model_id, _ = stored
    parked = store.root / f".tmp-old-{model_id}-0123abcd"
    (store.root / model_id).rename(parked)
    train(demo, ALGORITHM, PARAMS, store=store, force=True)  # takes the lock: puts it back first
    assert not parked.exists()
    assert [(e.model_id, e.ok) for e in store.list()] == [(model_id, True)]


def test_a_writer_holding_the_lock_is_left_alone(stored, demo):
    """A listing does not touch a parked copy while a writer holds the model's lock (it is
    between its two renames and will finish)."""
    store, model_id, _ = stored
    parked = store.root / f".tmp-old-{model_id}-0123abcd"
    with store.lock(model_id):
        (store.root / model_id).rename(parked)
        seen = []
        thread = threading.Thread(target=lambda: seen.append(store.list()))
        thread.start()
        thread.join()
        assert seen == [[]] and parked.exists()
        parked.rename(store.root / model_id)


def test_readers_never_miss_the_model_while_it_is_replaced(stored, demo):
    store, model_id, _ = stored
    stop, errors, loads = threading.Event(), [], [0]

    def read():
        reader = ModelStore(store.root)
        while not stop.is_set():
            try:
                reader.load(model_id, demo)
                loads[0] += 1
            except StoreError as error:  # pragma: no cover - what the test guards against
                errors.append(str(error))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(5):
            train(demo, ALGORITHM, PARAMS, store=store, force=True)
    finally:
        stop.set()
        thread.join()
    assert errors == [] and loads[0] > 0
