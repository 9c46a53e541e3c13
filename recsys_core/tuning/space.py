"""What a hyperparameter search tries: an algorithm's parameter schema as a grid or random draws.

A random search draws each parameter from its *search* range (``Param.search``, log-uniform where
``Param.log``), the values worth trying at a reasonable cost, never from the whole valid range
(ALS accepts alpha up to 1e5 and 1024 factors; it is searched over alpha 1-100 and 16-256
factors). :func:`candidates` gives the full, validated parameter sets of a search in order;
:func:`parse_grid_args` and :func:`parse_range_args` read the command line's ``--grid`` and
``--range``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

from ..algorithms import get_algorithm, parse_params
from ..algorithms.params import Param
from ..errors import ParameterError

NOT_SEARCHED_BY_DEFAULT = frozenset(
    {"random_state", "seed", "num_threads", "blocks", "iterations", "epochs", "maxIter", "K1", "B"}
)
"""Parameters a random search leaves at their value unless named in ``space``: seeds, threads
and blocks (they have no search range) and epoch counts (they have one, drawn when named; use
``patience`` to let learning curves pick the epochs)."""


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
    return (
        isinstance(value, tuple)
        and len(value) in (2, 3)
        and (len(value) == 2 or str(value[2]).lower() == "log")
    )


def default_space(algorithm: str) -> list[str]:
    """The parameters a random search samples when none are named: every parameter with a search
    range or choices (:attr:`Param.searchable`), except :data:`NOT_SEARCHED_BY_DEFAULT`."""
    return [
        param.name
        for param in get_algorithm(algorithm).params
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


def describe_space(distributions: dict[str, Any]) -> dict[str, Any]:
    """The resolved space as plain values (part of a random search's results-file key, so a
    search range changed in the schema starts a new file instead of resuming old draws)."""
    return {
        name: (dist.describe() if hasattr(dist, "describe") else [str(v) for v in dist])
        for name, dist in distributions.items()
    }


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
        raise ParameterError(
            "Give either a grid (--grid K=V1,V2) or a number of random draws "
            "(--random N), not both or neither."
        )
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    base = parse_params(algorithm, fixed or {}, preset)
    if grid is not None:
        for name in grid:
            _known(algorithm, schema, name)
        parsed = {
            name: [
                schema[name].parse(v) if isinstance(v, str) else schema[name].validate(v)
                for v in values
            ]
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
    """The ``--grid`` arguments as a grid: ``["factors=10,20", "alpha=1,50"]`` ->
    ``{"factors": ["10", "20"], "alpha": ["1", "50"]}``."""
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


__all__ = [
    "NOT_SEARCHED_BY_DEFAULT",
    "candidates",
    "default_space",
    "describe_space",
    "parse_grid_args",
    "parse_range_args",
    "search_space",
]
