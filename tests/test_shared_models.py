"""A model is shared by the app's sessions (threads): lazily built state must be safe to race."""

from __future__ import annotations

import threading
import time

import numpy as np

from recsys_core.datasets import load_dataset
from recsys_core.training import fit_model


def test_similar_items_on_a_model_many_threads_ask_at_once(monkeypatch):
    model = fit_model(load_dataset("demo"), "als", {"factors": 8, "iterations": 2})
    expected = model.similar_items(3, 10)
    model._normed_items = None  # as after loading: built on the first question
    model.__dict__.pop("_normed_items_f", None)
    real = np.asfortranarray

    def slow(array, *args, **kwargs):  # widens the window between the lazy attributes
        time.sleep(0.05)
        return real(array, *args, **kwargs)

    monkeypatch.setattr(np, "asfortranarray", slow)
    results, errors = [], []

    def ask():
        try:
            results.append(model.similar_items(3, 10))
        except Exception as error:  # noqa: BLE001 - the race shows as any exception
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == 8
    for ids, scores in results:
        np.testing.assert_array_equal(ids, expected[0])
        np.testing.assert_allclose(scores, expected[1], rtol=1e-6)
