"""The settings of a hyperparameter search: what it tries and how it scores each candidate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError
from ..store.metrics_format import ACCURACY_METRICS
from .space import candidates, default_space, describe_space, search_space

WRMF_POST_GRID: dict[str, list] = {
    "factors": [10, 20, 40, 80, 120],
    "regularization": [0.0, 1e-5, 1e-3, 0.1, 10.0, 100.0],
    "alpha": [1.0, 10.0, 50.0, 100.0, 500.0, 1000.0],
}
"""The grid of Ethan Rosenthal's WRMF post on the Sketchfab likes (180 candidates; the post ran
each for epochs 2 to 38 and kept the best epoch, which ``patience`` approximates)."""

EARLY_STOPPING_USERS = 2000
"""With ``patience``, the metric after each epoch is computed on at most this many test users
(a fixed sample, drawn with the search's seed)."""


@dataclass(frozen=True)
class SearchSettings:
    """What a search tries and how it scores each candidate (:func:`tune`'s arguments but the
    dataset and how the run reports, resumes and saves).

    Attributes
    ----------
    algorithm : str
        Registry key.
    grid, n_random, space, fixed, preset
        What to try (see :func:`~.space.candidates`).
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
    block_size : int, optional
        Users scored at once by each evaluation (default: evaluation's own).
    """

    algorithm: str
    grid: dict[str, list] | None = None
    n_random: int | None = None
    space: dict[str, Any] | None = None
    fixed: dict[str, Any] | None = None
    preset: str | None = None
    split_spec: str = "holdout:5"
    k: int = 10
    metric: str = "precision"
    seed: int | None = 0
    budget: float | None = None
    patience: int | None = None
    block_size: int | None = None

    def check(self) -> None:
        """ParameterError for an unknown metric, a budget or patience out of range."""
        if self.metric not in ACCURACY_METRICS:
            raise ParameterError(
                f"Unknown metric {self.metric!r}; use one of {', '.join(ACCURACY_METRICS)}."
            )
        if self.budget is not None and self.budget <= 0:
            raise ParameterError(
                f"--budget needs a positive number of seconds, got {self.budget:g}."
            )
        if self.patience is not None and self.patience < 1:
            raise ParameterError(f"--patience needs at least 1 epoch, got {self.patience}.")

    def candidates(self) -> list[dict[str, Any]]:
        """The full parameter sets to try, in order (:func:`~.space.candidates`)."""
        return candidates(
            self.algorithm,
            grid=self.grid,
            n_random=self.n_random,
            space=self.space,
            fixed=self.fixed,
            preset=self.preset,
            random_state=self.seed,
        )

    @property
    def searched(self) -> list[str]:
        """The parameters that vary between candidates (the table's columns)."""
        if self.grid is not None:
            return sorted(self.grid)
        return sorted(self.space or default_space(self.algorithm))

    def spec(self) -> dict[str, Any]:
        """The search as plain values: the header of its results file and part of its key."""
        spec = {
            "grid": {key: [str(v) for v in values] for key, values in (self.grid or {}).items()}
            or None,
            "n_random": self.n_random,
            "space": {
                key: (list(v) if isinstance(v, (list, tuple)) else v)
                for key, v in (self.space or {}).items()
            }
            or None,
            "fixed": {key: str(v) for key, v in (self.fixed or {}).items()} or None,
            "preset": self.preset,
            "split": self.split_spec,
            "k": int(self.k),
            "seed": self.seed,
            "metric": self.metric,
            "patience": self.patience,
        }
        if self.n_random is not None:
            spec["ranges"] = describe_space(search_space(self.algorithm, self.space))
        return spec
