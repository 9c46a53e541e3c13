"""Hyperparameter search: grid or random over an algorithm's parameter schema.

Every candidate is fitted on the train part of one split and evaluated on its test part with
:func:`recsys_core.evaluation.evaluate`. Rows (parameters, metrics, fit seconds) are appended to a
JSON-lines file under ``$RECSYS_HOME/cache/tuning`` named after the dataset fingerprint, the
algorithm and the search spec, so an interrupted search (Ctrl-C, a time budget, a crash) resumes
where it stopped: candidates already in the file are skipped. The best candidate's model is saved
to the model store (trained on the split, with its metrics in ``meta.json``).

A random search draws each parameter from its *search* range (``Param.search``, log-uniform where
``Param.log``), the values worth trying at a reasonable cost, never from the whole valid range
(ALS accepts alpha up to 1e5 and 1024 factors; it is searched over alpha 1-100 and 16-256 factors).
The resolved ranges are part of the results file's key.

The original WRMF post's grid is one command::

    python -m recsys_core tune sketchfab als --split holdout:5:0.2 -k 5 --patience 4 \\
        --grid factors=10,20,40,80,120 --grid regularization=0,1e-5,1e-3,0.1,10,100 \\
        --grid alpha=1,10,50,100,500,1000 --param iterations=38

(:data:`WRMF_POST_GRID` holds the same values; the post's best was factors 40, regularization
0.1, alpha 50 at 22 iterations, the ``als`` preset ``sketchfab-best``.)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import ParameterGrid, ParameterSampler

from . import config
from .algorithms import get_algorithm, parse_params
from .algorithms.base import Param, Progress, Recommender
from .errors import ModelFitError, ParameterError
from .evaluation import (
    ACCURACY_METRICS,
    EvaluationResult,
    evaluate,
    evaluate_model,
    save_result,
)

WRMF_POST_GRID: dict[str, list] = {
    "factors": [10, 20, 40, 80, 120],
    "regularization": [0.0, 1e-5, 1e-3, 0.1, 10.0, 100.0],
    "alpha": [1.0, 10.0, 50.0, 100.0, 500.0, 1000.0],
}
"""The grid of Ethan Rosenthal's WRMF post on the Sketchfab likes (180 candidates; the post ran
each for epochs 2 to 38 and kept the best epoch, which ``patience`` approximates)."""

NOT_SEARCHED_BY_DEFAULT = frozenset(
    {"random_state", "seed", "num_threads", "blocks", "iterations", "epochs", "maxIter", "K1", "B"}
)
"""Parameters a random search leaves at their value unless named in ``space``: seeds, threads
and blocks (they have no search range) and epoch counts (they have one, drawn when named; use
``patience`` to let learning curves pick the epochs)."""

_SCHEMA_VERSION = 2
"""Part of each results file's key. 2: ``precision`` is hits / k (``METRICS_VERSION`` 2), so rows
written while it meant implicit's convention are never resumed or ranked with today's."""


# ---------------------------------------------------------------------------- search space
class _IntDistribution:
    """Integers from ``low`` to ``high`` inclusive, uniform or log-uniform (``rvs`` for sklearn)."""

    def __init__(self, low: int, high: int, log: bool) -> None:
        self.low, self.high, self.log = int(low), int(high), bool(log)

    def rvs(self, random_state: Any = None) -> int:
        rng = _rng(random_state)
        if self.log:
            low = max(self.low, 1)
            value = math.exp(rng.uniform(math.log(low), math.log(self.high + 1)))
        else:
            value = rng.uniform(self.low, self.high + 1)
        return int(min(max(math.floor(value), self.low), self.high))

    def describe(self) -> str:
        return f"int {self.low}..{self.high}{' log' if self.log else ''}"


class _FloatDistribution:
    def __init__(self, low: float, high: float, log: bool) -> None:
        self.low, self.high, self.log = float(low), float(high), bool(log)

    def rvs(self, random_state: Any = None) -> float:
        rng = _rng(random_state)
        if self.log:
            low = self.low if self.low > 0 else self.high * 1e-6
            return float(math.exp(rng.uniform(math.log(low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def describe(self) -> str:
        return f"float {self.low:g}..{self.high:g}{' log' if self.log else ''}"


def _rng(random_state: Any) -> Any:
    """A RandomState or Generator (sklearn passes a RandomState); both have ``uniform``."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    return random_state


def _distribution(param: Param, override: Any = None) -> Any:
    """A list or an ``rvs`` object for ``ParameterSampler`` from a Param (and a user override).

    ``override`` may be None (the schema's *search* range ``param.search``, log-uniform when
    ``param.log``; never its valid range, which for ALS reaches alpha 1e5 and 1024 factors), a
    list of values, or ``(low, high)`` / ``(low, high, "log")`` inside the valid range.
    """
    if isinstance(override, (list, tuple)) and not _is_range(override):
        return [param.validate(param.parse(v) if isinstance(v, str) else v) for v in override]
    if override is not None:
        low, high = param.parse(str(override[0])), param.parse(str(override[1]))
        log = len(override) > 2 and str(override[2]).lower() == "log"
    else:
        if param.choices is not None:
            return list(param.choices)
        if param.type is bool:
            return [False, True]
        if param.search is None:
            raise ParameterError(
                f"Parameter {param.name} has no search range (seeds, threads and the like are "
                f"not searched); leave it out of the random search or give it a range of values."
            )
        (low, high), log = param.search, param.log
    if low > high:
        raise ParameterError(f"The range of {param.name} is empty ({low:g} > {high:g}).")
    if log and low <= 0:
        raise ParameterError(
            f"The log range of {param.name} needs a positive low end, got {low:g}; "
            f"give e.g. {param.name}={high * 1e-3:g}:{high:g}:log."
        )
    if param.type is int:
        return _IntDistribution(int(low), int(high), log)
    if param.type is float:
        return _FloatDistribution(float(low), float(high), log)
    raise ParameterError(f"Parameter {param.name} ({param.type.__name__}) cannot take a range.")


def _is_range(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) in (2, 3) and (
        len(value) == 2 or str(value[2]).lower() == "log"
    )


def default_space(algorithm: str) -> list[str]:
    """The parameters a random search samples when none are named: every parameter with a search
    range or choices (:attr:`Param.searchable`), except :data:`NOT_SEARCHED_BY_DEFAULT`."""
    return [
        param.name for param in get_algorithm(algorithm).params
        if param.searchable and param.name not in NOT_SEARCHED_BY_DEFAULT
    ]


def search_space(algorithm: str, space: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a random search draws from, per parameter: a list of values or an ``rvs`` object.

    Parameters
    ----------
    algorithm : str
        Registry key.
    space : dict, optional
        Parameter name -> None (its search range), a list, or ``(low, high[, "log"])``
        (see :func:`candidates`). Default: :func:`default_space`, each over its search range.

    Returns
    -------
    dict
        Name -> list of values, or a distribution with ``rvs(random_state)`` and ``describe()``.
    """
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    names = list(space) if space else default_space(algorithm)
    if not names:
        raise ParameterError(f"{algorithm} has no parameter with a range to search.")
    distributions = {}
    for name in names:
        _known(algorithm, schema, name)
        distributions[name] = _distribution(schema[name], (space or {}).get(name))
    return distributions


def _describe_space(distributions: dict[str, Any]) -> dict[str, Any]:
    """The resolved space as plain values (part of a random search's results-file key, so a
    search range changed in the schema starts a new file instead of resuming old draws)."""
    return {name: (dist.describe() if hasattr(dist, "describe") else [str(v) for v in dist])
            for name, dist in distributions.items()}


def candidates(
    algorithm: str,
    *,
    grid: dict[str, list] | None = None,
    n_random: int | None = None,
    space: dict[str, Any] | None = None,
    fixed: dict[str, Any] | None = None,
    preset: str | None = None,
    random_state: int | None = 0,
) -> list[dict[str, Any]]:
    """The full, validated parameter sets a search tries, in order.

    Parameters
    ----------
    grid : dict of lists, optional
        Every combination (``sklearn.model_selection.ParameterGrid``).
    n_random : int, optional
        That many draws (``ParameterSampler``) from ``space``: per parameter a list (drawn
        uniformly), a range ``(low, high)`` or ``(low, high, "log")``, or None for the schema's
        search range (``Param.search``, log-uniform when ``Param.log``) or choices. Default
        space: :func:`default_space`.
    fixed : dict, optional
        Values kept for every candidate (strings are parsed).
    preset : str, optional
        Applied before ``fixed`` and the searched values.
    random_state : int or None
        Seed of the random draws (one ``RandomState`` threads through every draw, so the same
        seed gives the same candidates).

    Returns
    -------
    list of dict
        Full parameter dicts (defaults, preset, fixed, then the candidate's values).
    """
    if (grid is None) == (n_random is None):
        raise ParameterError("Give either a grid (--grid K=V1,V2) or a number of random draws "
                             "(--random N), not both or neither.")
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    base = parse_params(algorithm, fixed or {}, preset)
    if grid is not None:
        for name in grid:
            _known(algorithm, schema, name)
        parsed = {
            name: [schema[name].parse(v) if isinstance(v, str) else schema[name].validate(v)
                   for v in values]
            for name, values in grid.items()
        }
        for name, values in parsed.items():
            if not values:
                raise ParameterError(f"The grid of {name} has no values; give K=V1,V2.")
        drawn = list(ParameterGrid(parsed)) if parsed else [{}]
    else:
        if int(n_random) < 1:
            raise ParameterError(f"--random needs at least 1 draw, got {n_random}.")
        distributions = search_space(algorithm, space)
        sampler = ParameterSampler(distributions, n_iter=int(n_random), random_state=random_state)
        drawn = list(sampler)
    out = []
    for values in drawn:
        params = dict(base)
        params.update({name: schema[name].validate(value) for name, value in values.items()})
        out.append(params)
    return out


def _known(algorithm: str, schema: dict[str, Param], name: str) -> None:
    if name not in schema:
        raise ParameterError(
            f"{algorithm} has no parameter {name!r}; valid: {', '.join(schema) or 'none'}."
        )


def parse_grid_args(pairs: list[str] | None) -> dict[str, list[str]]:
    """``["factors=10,20", "alpha=1,50"]`` -> ``{"factors": ["10", "20"], "alpha": ["1", "50"]}``.
    """
    out: dict[str, list[str]] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ParameterError(f"--grid needs KEY=V1,V2,..., got {pair!r}.")
        key, values = pair.split("=", 1)
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not items:
            raise ParameterError(f"--grid {key.strip()} has no values; give {key.strip()}=V1,V2.")
        out.setdefault(key.strip(), []).extend(items)
    return out


def parse_range_args(pairs: list[str] | None) -> dict[str, Any]:
    """``["alpha=1:1000:log", "loss=warp,bpr", "factors"]`` -> a random-search ``space``.

    ``K=LOW:HIGH[:log]`` is a range, ``K=V1,V2`` a list, a bare ``K`` the schema's own range.
    """
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not value:
            out[key] = None
        elif ":" in value:
            parts = value.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() != "log"):
                raise ParameterError(
                    f"--range needs KEY=LOW:HIGH or KEY=LOW:HIGH:log, got {pair!r}."
                )
            out[key] = tuple(parts)
        else:
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
    return out


# ---------------------------------------------------------------------------- the search
@dataclass
class TuningResult:
    """What :func:`tune` returns.

    Attributes
    ----------
    table : pd.DataFrame
        One row per finished candidate, in search order: ``index``, one column per searched
        parameter (``params`` holds the full dict), every metric, ``fit_seconds``,
        ``eval_seconds``, ``epochs`` and ``best_epoch`` (with patience), ``status``
        ("ok" / "failed") and ``error``.
    metric : str
        The metric that ranks candidates (higher is better).
    best : dict or None
        The best row (``params``, metrics ...).
    best_model_id : str or None
        The store id of the best model (None when not saved).
    path : Path
        The JSON-lines results file (resumable).
    complete : bool
        False when the time budget stopped the search early.
    n_total, n_resumed : int
        Candidates in the search, and rows found in the file from an earlier run.
    """

    table: pd.DataFrame
    metric: str
    best: dict | None
    best_model_id: str | None
    path: Path
    complete: bool
    n_total: int
    n_resumed: int
    searched: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {key: _finite(_plain(value)) for key, value in record.items()}
            for record in self.table.to_dict(orient="records")
        ]
        return {
            "metric": self.metric,
            "best": self.best,
            "best_model_id": self.best_model_id,
            "complete": self.complete,
            "n_candidates": self.n_total,
            "n_done": len(self.table),
            "n_resumed": self.n_resumed,
            "searched": self.searched,
            "results_path": str(self.path),
            "rows": rows,
        }


class _OverBudget(Exception):
    pass


def search_key(
    dataset: Any,
    algorithm: str,
    spec: dict[str, Any],
) -> str:
    """The results file's key: dataset fingerprint + algorithm + search spec (hex digest)."""
    payload = json.dumps(
        {"fingerprint": dataset.fingerprint, "algorithm": algorithm, "spec": spec,
         "schema": _SCHEMA_VERSION},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


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
    algorithm : str
    grid, n_random, space, fixed, preset
        What to try (see :func:`candidates`).
    split_spec, k, seed
        The protocol (one split, drawn with ``seed``, shared by every candidate; ``seed`` also
        seeds the random draws).
    metric : str
        The accuracy metric to maximise (:data:`~recsys_core.evaluation.ACCURACY_METRICS`);
        default ``precision`` (hits / k; ``precision_implicit`` is implicit's convention).
    budget : float, optional
        Seconds; no candidate starts after it, and a candidate still training when it runs out is
        stopped and left for the next run (not recorded).
    patience : int, optional
        For families with epochs: evaluate ``metric`` on the test part after every epoch and stop
        a candidate once it has not improved for this many epochs (the row keeps the metrics of
        the model when it stopped, and ``best_epoch``).
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
    from .split import make_split

    if metric not in ACCURACY_METRICS:
        raise ParameterError(
            f"Unknown metric {metric!r}; use one of {', '.join(ACCURACY_METRICS)}."
        )
    if budget is not None and budget <= 0:
        raise ParameterError(f"--budget needs a positive number of seconds, got {budget:g}.")
    if patience is not None and patience < 1:
        raise ParameterError(f"--patience needs at least 1 epoch, got {patience}.")
    tries = candidates(
        algorithm, grid=grid, n_random=n_random, space=space, fixed=fixed, preset=preset,
        random_state=seed,
    )
    searched = sorted(grid) if grid is not None else sorted(space or default_space(algorithm))
    spec = {
        "grid": {key: [str(v) for v in values] for key, values in (grid or {}).items()} or None,
        "n_random": n_random,
        "space": {key: (list(v) if isinstance(v, (list, tuple)) else v)
                  for key, v in (space or {}).items()} or None,
        "fixed": {key: str(v) for key, v in (fixed or {}).items()} or None,
        "preset": preset,
        "split": split_spec,
        "k": int(k),
        "seed": seed,
        "metric": metric,
        "patience": patience,
    }
    if n_random is not None:
        spec["ranges"] = _describe_space(search_space(algorithm, space))
    path = config.cache_dir("tuning") / (
        f"{_slug(dataset.name)}-{algorithm}-{search_key(dataset, algorithm, spec)}.jsonl"
    )
    if not resume and path.exists():
        path.unlink()
    done = _read_rows(path)
    n_resumed = len(done)
    _end_with_newline(path)  # after a crash mid-line, the next row starts on a line of its own
    if not path.exists():
        _append(path, {"header": spec, "dataset": dataset.name, "algorithm": algorithm,
                       "fingerprint": dataset.fingerprint, "n_candidates": len(tries)})

    start = time.monotonic()
    split = make_split(dataset, split_spec, random_state=seed)
    test_users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    early_users = test_users
    if len(early_users) > 2000:
        early_users = np.sort(np.random.default_rng(seed).choice(early_users, 2000, replace=False))
    has_epochs = "epochs" in get_algorithm(algorithm).capabilities
    best_model: tuple[int, Recommender] | None = None
    best_value = -math.inf
    for row in done.values():
        value = (row.get("metrics") or {}).get(metric)
        if row.get("status") == "ok" and value is not None and value > best_value:
            best_value = value
    complete = True

    for index, params in enumerate(tries):
        key = _params_key(params)
        if key in done:
            continue
        if budget is not None and time.monotonic() - start > budget:
            complete = False
            break
        if progress is not None:
            progress(index / len(tries), f"Candidate {index + 1} of {len(tries)}")
        on_epoch, curve = _epoch_watch(
            split, k, metric, early_users, block_size, start, budget,
            patience if has_epochs else None,
        )
        row: dict[str, Any] = {"index": index, "params": _plain(params)}
        try:
            result = _evaluate_candidate(
                dataset, algorithm, params, split, split_spec, k, seed, on_epoch, block_size
            )
        except _OverBudget:
            complete = False
            break
        except ModelFitError as error:
            row.update({"status": "failed", "error": str(error), "metrics": {},
                        "fit_seconds": None, "eval_seconds": None})
        else:
            metrics = {key: _finite(value) for key, value in result.metrics.items()}
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
            value = metrics.get(metric)
            if value is not None and value > best_value:
                best_value = value
                best_model = (index, result)
        _append(path, row)
        done[key] = row
    if progress is not None:
        progress(1.0, "Search complete" if complete else "Time budget reached")

    table = _table(done, searched)
    ok = [row for row in done.values() if row.get("status") == "ok"
          and (row.get("metrics") or {}).get(metric) is not None]
    best = max(ok, key=lambda row: (row["metrics"][metric], -row["index"])) if ok else None
    best_model_id = None
    if best is not None and save_best:
        if best_model is not None and best_model[0] == best["index"]:
            result = best_model[1]
        else:  # the best row came from an earlier run: fit it again on the same split
            result = _evaluate_candidate(
                dataset, algorithm, best["params"], split, split_spec, k, seed, None, block_size
            )
        try:
            best_model_id = save_result(
                result, dataset, store=store, source=source,
                extra={"tuning": {"metric": metric, "results": path.name}},
            )
        except NotImplementedError:  # a family the store cannot hold: the table still stands
            best_model_id = None
    best_out = None
    if best is not None:
        best_out = {key: best.get(key) for key in ("index", "params", "fit_seconds",
                                                   "epochs", "best_epoch")}
        best_out.update(best["metrics"])
    return TuningResult(
        table=table,
        metric=metric,
        best=best_out,
        best_model_id=best_model_id,
        path=path,
        complete=complete,
        n_total=len(tries),
        n_resumed=n_resumed,
        searched=searched,
    )


def _epoch_watch(
    split: Any,
    k: int,
    metric: str,
    users: np.ndarray,
    block_size: int | None,
    start: float,
    budget: float | None,
    patience: int | None,
) -> tuple[Any, list[tuple[int, float]]]:
    """An ``on_epoch`` callback enforcing the time budget and early stopping, and its curve."""
    curve: list[tuple[int, float]] = []

    def on_epoch(epoch: int, model: Recommender) -> bool | None:
        if budget is not None and time.monotonic() - start > budget:
            raise _OverBudget
        if patience is None:
            return None
        value = evaluate(model, split.train, split.test, k, users=users, item_vectors=None,
                         block_size=block_size).metrics[metric]
        curve.append((epoch, value))
        best_epoch = max(curve, key=lambda pair: pair[1])[0]
        return False if epoch - best_epoch >= patience else None

    return on_epoch, curve


def _evaluate_candidate(
    dataset: Any,
    algorithm: str,
    params: dict[str, Any],
    split: Any,
    split_spec: str,
    k: int,
    seed: int | None,
    on_epoch: Any,
    block_size: int | None,
) -> EvaluationResult:
    return evaluate_model(
        dataset, algorithm, params, split_spec, k, seed,
        split=split, on_epoch=on_epoch, block_size=block_size,
    )


# ---------------------------------------------------------------------------- results file
def _params_key(params: dict[str, Any]) -> str:
    return json.dumps(_plain(params), sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def _append(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line and fsync: a crash leaves at most one unreadable last line."""
    line = json.dumps(_plain(row), separators=(",", ":"), default=str) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _end_with_newline(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            handle.write(b"\n")


def _read_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The finished rows of a results file by parameter key (damaged lines skipped)."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(row, dict) or "params" not in row or "index" not in row:
                continue
            rows[_params_key(row["params"])] = row
    return rows


def _table(rows: dict[str, dict[str, Any]], searched: list[str]) -> pd.DataFrame:
    records = []
    for row in sorted(rows.values(), key=lambda r: r["index"]):
        record: dict[str, Any] = {"index": row["index"]}
        for name in searched:
            record[name] = row["params"].get(name)
        record.update(row.get("metrics") or {})
        for key in ("fit_seconds", "eval_seconds", "epochs", "best_epoch", "status", "error"):
            record[key] = row.get(key)
        record["params"] = row["params"]
        records.append(record)
    return pd.DataFrame.from_records(records)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))[:60] or "dataset"


__all__ = [
    "NOT_SEARCHED_BY_DEFAULT",
    "WRMF_POST_GRID",
    "TuningResult",
    "candidates",
    "default_space",
    "parse_grid_args",
    "parse_range_args",
    "search_key",
    "search_space",
    "tune",
]
