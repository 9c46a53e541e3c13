"""The first model: on a fresh store the demo gets one ALS model with its defaults, once."""

from __future__ import annotations

import threading

import pytest

from recsys_core import training
from recsys_core.algorithms import parse_params
from recsys_core.datasets import demo as demo_source
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore, model_id_for


@pytest.fixture(scope="module")
def small_demo():
    """The demo's generator at a small size: a Dataset named "demo", synthetic, fast to fit."""
    return demo_source.generate(0, n_users=300, n_items=120, n_likes=4000)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(training.FIRST_MODEL_ENV, "on")
    return ModelStore(tmp_path / "models")


def test_a_fresh_store_gets_the_default_als_model_once(small_demo, store):
    assert training.wants_first_model(small_demo, store)
    calls = []
    result = training.ensure_first_model(
        small_demo, store=store, progress=lambda f, m: calls.append((f, m))
    )
    defaults = parse_params("als", None)
    assert result is not None and not result.reused
    assert result.model_id == model_id_for(small_demo.fingerprint, "als", defaults)
    # stored like any other model: listed, loadable, with the defaults and where it came from
    assert store.ids() == [result.model_id]
    meta = store.meta(result.model_id)
    assert meta["algorithm"] == "als" and meta["params"] == defaults
    assert training.is_first_model(meta)
    loaded = store.load(result.model_id, small_demo)
    indices, _ = loaded.similar_items(0, 12)
    assert len(indices) == 12
    # the progress went from start to end, one call per iteration
    assert calls[-1][0] == pytest.approx(1.0)
    assert sum("Epoch" in m for _, m in calls) == defaults["iterations"]
    # once: the store is no longer fresh
    assert not training.wants_first_model(small_demo, store)
    assert training.ensure_first_model(small_demo, store=store) is None
    assert store.ids() == [result.model_id]


def test_two_sessions_at_the_same_time_train_it_once(small_demo, store, monkeypatch):
    """Both find the store empty before either saves; the second waits and reuses."""
    both_checked = threading.Barrier(2, timeout=30)
    real_wants = training.wants_first_model

    def wants_then_meet(dataset, store=None):
        answer = real_wants(dataset, store)
        both_checked.wait()  # neither goes on before both have looked at the empty store
        return answer

    fits = []
    real_fit = training.fit_model

    def counted_fit(*args, **kwargs):
        fits.append(threading.current_thread().name)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(training, "wants_first_model", wants_then_meet)
    monkeypatch.setattr(training, "fit_model", counted_fit)
    results, errors = {}, []

    def session(name):
        try:
            results[name] = training.ensure_first_model(small_demo, store=store)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=session, args=(n,), name=n) for n in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(fits) == 1, "trained twice"
    assert results["one"] is not None and results["two"] is not None
    assert results["one"].model_id == results["two"].model_id
    assert sorted(r.reused for r in results.values()) == [False, True]
    assert len(store.list()) == 1


def test_only_the_demo_itself(small_demo, store, tmp_path):
    cut = load_dataset("demo@kcore=5,5")
    assert not training.is_first_model_dataset(cut)
    assert training.ensure_first_model(cut, store=store) is None
    likes = tmp_path / "likes.csv"
    likes.write_text(
        "user,item\n" + "".join(f"u{u},i{(u * 7 + j) % 11}\n" for u in range(30) for j in range(4))
    )
    other = load_dataset(str(likes))
    assert training.ensure_first_model(other, store=store) is None
    assert store.list() == []
    assert training.is_first_model_dataset(small_demo)


def test_not_when_the_store_holds_any_model(small_demo, store, tmp_path):
    likes = tmp_path / "likes.csv"
    likes.write_text(
        "user,item\n" + "".join(f"u{u},i{(u * 3 + j) % 9}\n" for u in range(20) for j in range(3))
    )
    other = load_dataset(str(likes))
    training.train(other, "popularity", store=store)
    assert not training.wants_first_model(small_demo, store)
    assert training.ensure_first_model(small_demo, store=store) is None
    assert [e.algorithm for e in store.list()] == ["popularity"]


def test_a_damaged_entry_counts_as_not_fresh(small_demo, store):
    (store.root / "als-000000000000").mkdir()  # a folder without its files: listed as damaged
    assert [e.ok for e in store.list()] == [False]
    assert training.ensure_first_model(small_demo, store=store) is None


@pytest.mark.parametrize("value", ["0", "off", "false", "no", "OFF"])
def test_the_switch_turns_it_off(small_demo, store, monkeypatch, value):
    monkeypatch.setenv(training.FIRST_MODEL_ENV, value)
    assert not training.first_model_enabled()
    assert training.ensure_first_model(small_demo, store=store) is None
    assert store.list() == []


def test_the_test_suite_runs_with_it_off():
    """conftest.py turns it off for every test that does not turn it on itself."""
    assert not training.first_model_enabled()


def test_sessions_starting_at_once_all_see_the_whole_registry():
    """Two browser sessions on a fresh server ask for the algorithms at the same moment: none
    may read the registry while another thread is still filling it (it once saw none)."""
    import subprocess
    import sys

    script = """
import threading
from recsys_core import algorithms
start = threading.Barrier(8)
sizes = []
def ask():
    start.wait()
    sizes.append(len(algorithms.algorithms()))
threads = [threading.Thread(target=ask) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sorted(set(sizes)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    sizes = eval(done.stdout.strip())  # noqa: S307 - our own script's list of ints
    assert len(sizes) == 1 and sizes[0] >= 5, done.stdout
