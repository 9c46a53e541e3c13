"""A search's results: its JSON-lines file (one row per finished candidate, resumable) and
:class:`TuningResult`.

The file lives under ``$RECSYS_HOME/cache/tuning``, named after the dataset, the algorithm and
:func:`search_key`; its first line is the search's header, then one row per candidate, appended
and fsynced as each finishes, so an interrupted search resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import config
from ..util.jsonsafe import json_safe
from .settings import SearchSettings

_SCHEMA_VERSION = 2
"""Part of each results file's key. 2: ``precision`` is hits / k (``METRICS_VERSION`` 2), so rows
written while it meant implicit's convention are never resumed or ranked with today's."""


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
            {key: json_safe(value) for key, value in record.items()}
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


def search_key(
    dataset: Any,
    algorithm: str,
    spec: dict[str, Any],
) -> str:
    """The results file's key: dataset fingerprint + algorithm + search spec (hex digest)."""
    payload = json.dumps(
        {
            "fingerprint": dataset.fingerprint,
            "algorithm": algorithm,
            "spec": spec,
            "schema": _SCHEMA_VERSION,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


def results_path(dataset: Any, settings: SearchSettings) -> Path:
    key = search_key(dataset, settings.algorithm, settings.spec())
    name = f"{_slug(dataset.name)}-{settings.algorithm}-{key}.jsonl"
    return config.cache_dir("tuning") / name


def open_results(
    path: Path, dataset: Any, settings: SearchSettings, n_candidates: int, resume: bool
) -> tuple[dict[str, dict[str, Any]], int]:
    """The rows a results file holds already (none when not ``resume``) and their count; a new
    file gets its header line."""
    if not resume and path.exists():
        path.unlink()
    done = read_rows(path)
    _end_with_newline(path)  # after a crash mid-line, the next row starts on a line of its own
    if not path.exists():
        header = {
            "header": settings.spec(),
            "dataset": dataset.name,
            "algorithm": settings.algorithm,
            "fingerprint": dataset.fingerprint,
            "n_candidates": n_candidates,
        }
        append_row(path, header)
    return done, len(done)


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(json_safe(params), sort_keys=True, separators=(",", ":"))


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line and fsync: a crash leaves at most one unreadable last line."""
    line = json.dumps(json_safe(row), separators=(",", ":"), default=str) + "\n"
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


def read_rows(path: Path) -> dict[str, dict[str, Any]]:
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
            rows[params_key(row["params"])] = row
    return rows


def results_table(rows: dict[str, dict[str, Any]], searched: list[str]) -> pd.DataFrame:
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
