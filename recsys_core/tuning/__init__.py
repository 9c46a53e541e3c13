"""Hyperparameter search: grid or random over an algorithm's parameter schema.

Every candidate is fitted on the train part of one split and evaluated on its test part with
:func:`recsys_core.evaluation.evaluate`. Rows (parameters, metrics, fit seconds) are appended to a
JSON-lines file under ``$RECSYS_HOME/cache/tuning`` named after the dataset fingerprint, the
algorithm and the search spec, so an interrupted search (Ctrl-C, a time budget, a crash) resumes
where it stopped: candidates already in the file are skipped. The best candidate's model is saved
to the model store (trained on the split, with its metrics in ``meta.json``).

What a search tries comes from :mod:`.space` (a grid, or random draws from each parameter's
*search* range, never its whole valid range); the resolved ranges are part of the results file's
key.

The original WRMF post's grid is one command::

    python -m recsys_core tune sketchfab als --split holdout:5:0.2 -k 5 --patience 4 \\
        --grid factors=10,20,40,80,120 --grid regularization=0,1e-5,1e-3,0.1,10,100 \\
        --grid alpha=1,10,50,100,500,1000 --param iterations=38

(:data:`WRMF_POST_GRID` holds the same values; the post's best was factors 40, regularization
0.1, alpha 50 at 22 iterations, the ``als`` preset ``sketchfab-best``.)

The search itself is here (:func:`tune`, :func:`run_search`); :mod:`.settings` holds
:class:`SearchSettings` (what a search tries and how it scores), :mod:`.space` the search space
(candidates from an algorithm's schema, the command line's ``--grid`` / ``--range``) and
:mod:`.results` the resumable results file and :class:`TuningResult`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..algorithms import get_algorithm
from ..algorithms.base import Progress, Recommender
from ..errors import ModelFitError
from ..evaluation import EvaluationResult, evaluate, evaluate_model, save_result
from ..split import make_split
from ..util.jsonsafe import json_safe
from .results import (
    TuningResult,
    append_row,
    open_results,
    params_key,
    results_path,
    results_table,
    search_key,
)
from .settings import EARLY_STOPPING_USERS, WRMF_POST_GRID, SearchSettings
from .space import (
    NOT_SEARCHED_BY_DEFAULT,
    candidates,
    default_space,
    parse_grid_args,
    parse_range_args,
    search_space,
)


class _OverBudget(Exception):
    pass


def tune(
    dataset: Any,
    algorithm: str,
    *,
    grid: dict[str, list] | None = None,
    n_random: int | None = None,
    space: dict[str, Any] | None = None,
    fixed: dict[str, Any] | None = None,
    preset: str | None = None,
    split_spec: str = "holdout:5",
    k: int = 10,
    metric: str = "precision",
    seed: int | None = 0,
    budget: float | None = None,
    patience: int | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    save_best: bool = True,
    store: Any = None,
    source: dict | None = None,
    block_size: int | None = None,
) -> TuningResult:
    """Grid or random search; resumable; the best model goes to the store.

    Parameters
    ----------
    dataset : Dataset
    algorithm, grid, n_random, space, fixed, preset, split_spec, k, metric, seed, budget,
    patience, block_size
        The search (see :class:`SearchSettings`).
    progress : callable, optional
        ``progress(fraction of candidates done, message)``.
    resume : bool
        Skip candidates already in the results file (False: start the file over).
    save_best : bool
        Save the best candidate's model (trained on the split) to the store with its metrics.
    store : ModelStore, optional
    source : dict, optional
        How to reload the dataset, kept in the stored model's meta.

    Returns
    -------
    TuningResult
    """
    settings = SearchSettings(
        algorithm,
        grid=grid,
        n_random=n_random,
        space=space,
        fixed=fixed,
        preset=preset,
        split_spec=split_spec,
        k=k,
        metric=metric,
        seed=seed,
        budget=budget,
        patience=patience,
        block_size=block_size,
    )
    return run_search(
        dataset,
        settings,
        progress=progress,
        resume=resume,
        save_best=save_best,
        store=store,
        source=source,
    )


def run_search(
    dataset: Any,
    settings: SearchSettings,
    *,
    progress: Progress | None = None,
    resume: bool = True,
    save_best: bool = True,
    store: Any = None,
    source: dict | None = None,
) -> TuningResult:
    """:func:`tune` with its search given as :class:`SearchSettings` (same arguments)."""
    settings.check()
    tries = settings.candidates()
    path = results_path(dataset, settings)
    done, n_resumed = open_results(path, dataset, settings, len(tries), resume)
    search = _Search(dataset, settings, path, done)
    complete = search.run(tries, progress)
    table = results_table(done, settings.searched)
    best = _best_row(done, settings.metric)
    best_model_id = None
    if best is not None and save_best:
        best_model_id = search.save(best, store, source)
    best_out = None
    if best is not None:
        keys = ("index", "params", "fit_seconds", "epochs", "best_epoch")
        best_out = {key: best.get(key) for key in keys}
        best_out.update(best["metrics"])
    return TuningResult(
        table=table,
        metric=settings.metric,
        best=best_out,
        best_model_id=best_model_id,
        path=path,
        complete=complete,
        n_total=len(tries),
        n_resumed=n_resumed,
        searched=settings.searched,
    )


class _Search:
    """One run of a search: the split every candidate shares, the rows done so far (from the
    file and this run) and the best model fitted in this run."""

    def __init__(
        self, dataset: Any, settings: SearchSettings, path: Path, done: dict[str, dict]
    ) -> None:
        self.dataset, self.settings, self.path, self.done = dataset, settings, path, done
        self.start = time.monotonic()
        self.split = make_split(dataset, settings.split_spec, random_state=settings.seed)
        users = np.flatnonzero(np.diff(self.split.test.indptr) > 0)
        if len(users) > EARLY_STOPPING_USERS:
            rng = np.random.default_rng(settings.seed)
            users = np.sort(rng.choice(users, EARLY_STOPPING_USERS, replace=False))
        self.early_users = users
        has_epochs = get_algorithm(settings.algorithm).supports("epochs")
        self.patience = settings.patience if has_epochs else None
        self.best_model: tuple[int, EvaluationResult] | None = None
        best = _best_row(done, settings.metric)  # of an earlier run
        self.best_value = -math.inf if best is None else best["metrics"][settings.metric]

    def over_budget(self) -> bool:
        budget = self.settings.budget
        return budget is not None and time.monotonic() - self.start > budget

    def run(self, tries: list[dict[str, Any]], progress: Progress | None) -> bool:
        """Try every candidate not done yet, appending a row for each; False when the time
        budget stopped the search."""
        complete = True
        for index, params in enumerate(tries):
            key = params_key(params)
            if key in self.done:
                continue
            if self.over_budget():
                complete = False
                break
            if progress is not None:
                progress(index / len(tries), f"Candidate {index + 1} of {len(tries)}")
            try:
                row = self.try_one(index, params)
            except _OverBudget:
                complete = False
                break
            append_row(self.path, row)
            self.done[key] = row
        if progress is not None:
            progress(1.0, "Search complete" if complete else "Time budget reached")
        return complete

    def try_one(self, index: int, params: dict[str, Any]) -> dict[str, Any]:
        """The row of one candidate: fitted on the split's train part, evaluated on its test
        part (watched after each epoch for the budget and ``patience``)."""
        on_epoch, curve = self.epoch_watch()
        row: dict[str, Any] = {"index": index, "params": json_safe(params)}
        try:
            result = _evaluate_candidate(self.dataset, self.settings, params, self.split, on_epoch)
        except ModelFitError as error:
            row.update(
                {
                    "status": "failed",
                    "error": str(error),
                    "metrics": {},
                    "fit_seconds": None,
                    "eval_seconds": None,
                }
            )
            return row
        metrics = json_safe(result.metrics)
        row.update(
            {
                "status": "ok",
                "error": None,
                "metrics": metrics,
                "fit_seconds": result.protocol["fit_seconds"],
                "eval_seconds": result.protocol["eval_seconds"],
                "epochs": getattr(result.model, "epochs_done_", None),
                "best_epoch": max(curve, key=lambda pair: pair[1])[0] if curve else None,
            }
        )
        value = metrics.get(self.settings.metric)
        if value is not None and value > self.best_value:
            self.best_value = value
            self.best_model = (index, result)
        return row

    def epoch_watch(self) -> tuple[Any, list[tuple[int, float]]]:
        """An ``on_epoch`` callback enforcing the time budget and early stopping, and its
        curve."""
        curve: list[tuple[int, float]] = []
        settings, patience = self.settings, self.patience

        def on_epoch(epoch: int, model: Recommender) -> bool | None:
            if self.over_budget():
                raise _OverBudget
            if patience is None:
                return None
            value = evaluate(
                model,
                self.split.train,
                self.split.test,
                settings.k,
                users=self.early_users,
                item_vectors=None,
                block_size=settings.block_size,
            ).metrics[settings.metric]
            curve.append((epoch, value))
            best_epoch = max(curve, key=lambda pair: pair[1])[0]
            return False if epoch - best_epoch >= patience else None

        return on_epoch, curve

    def save(self, best: dict[str, Any], store: Any, source: dict | None) -> str | None:
        """Store the best candidate's model with its metrics (fitted again on the same split
        when it came from an earlier run); None for a family the store cannot hold."""
        if self.best_model is not None and self.best_model[0] == best["index"]:
            result = self.best_model[1]
        else:  # the best row came from an earlier run: fit it again on the same split
            result = _evaluate_candidate(
                self.dataset, self.settings, best["params"], self.split, None
            )
        extra = {"tuning": {"metric": self.settings.metric, "results": self.path.name}}
        try:
            return save_result(result, self.dataset, store=store, source=source, extra=extra)
        except NotImplementedError:  # a family the store cannot hold: the table still stands
            return None


def _evaluate_candidate(
    dataset: Any,
    settings: SearchSettings,
    params: dict[str, Any],
    split: Any,
    on_epoch: Any,
) -> EvaluationResult:
    return evaluate_model(
        dataset,
        settings.algorithm,
        params,
        settings.split_spec,
        settings.k,
        settings.seed,
        split=split,
        on_epoch=on_epoch,
        block_size=settings.block_size,
    )


def _best_row(done: dict[str, dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """The finished row with the highest ``metric`` (the earliest of equals)."""
    ok = [
        row
        for row in done.values()
        if row.get("status") == "ok" and (row.get("metrics") or {}).get(metric) is not None
    ]
    return max(ok, key=lambda row: (row["metrics"][metric], -row["index"])) if ok else None


__all__ = [
    "EARLY_STOPPING_USERS",
    "NOT_SEARCHED_BY_DEFAULT",
    "WRMF_POST_GRID",
    "SearchSettings",
    "TuningResult",
    "candidates",
    "default_space",
    "parse_grid_args",
    "parse_range_args",
    "run_search",
    "search_key",
    "search_space",
    "tune",
]
