"""The one algorithm registry: registry key -> adapter class, and whether it can train here.

Adapters live one family per module of this package and register themselves with
:func:`register` when their module is imported; the registry imports every module of the
package the first time it is asked (no list to keep up to date). A family whose training
library is missing registers with :func:`register_load_only`: its stored models still load
(:func:`loader`), but it is not offered for training (:func:`algorithms`) and
:func:`get_algorithm` says why in one sentence.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from .base import Recommender
from .params import resolve

OPTIONAL_LIBRARIES = frozenset({"pyspark"})
"""Libraries whose absence only removes the module that needs them (its algorithms are absent)."""


@dataclass(frozen=True)
class _Entry:
    cls: type[Recommender]
    unavailable: str | None = None
    """None: trainable here; else why not (one sentence), and only stored models load."""


_REGISTRY: dict[str, _Entry] = {}
_loaded = False
_loading = False
_LOAD_LOCK = threading.RLock()


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator: add an adapter to the registry under ``cls.name``."""
    return _add(cls, None)


def register_load_only(cls: type[Recommender], reason: str) -> type[Recommender]:
    """Keep ``cls`` for loading stored models only (its training library is missing).

    ``get_algorithm`` then raises ``ParameterError(reason)`` and ``algorithms()`` leaves it out,
    while :func:`loader` still returns it, so the model store opens its models.
    """
    return _add(cls, reason)


def _add(cls: type[Recommender], unavailable: str | None) -> type[Recommender]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a registry name.")
    _REGISTRY[cls.name] = _Entry(cls, unavailable)
    return cls


def _ensure_loaded() -> None:
    """Import the adapter modules once. Two threads (two browser sessions on a fresh server)
    asking at the same time: the second waits for the first, never reads a half-filled
    registry; a thread asking again while it imports them (an adapter module that looks
    something up) gets what is registered so far."""
    global _loaded, _loading
    if _loaded:
        return
    with _LOAD_LOCK:
        if _loaded or _loading:
            return
        _loading = True
        try:
            package = __name__.rpartition(".")[0]
            for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
                try:
                    importlib.import_module(f"{package}.{module.name}")
                except ModuleNotFoundError as error:
                    if error.name not in OPTIONAL_LIBRARIES:
                        raise
        finally:
            _loading = False
        _loaded = True


def algorithms() -> dict[str, type[Recommender]]:
    """Every adapter that can train here, by registry key."""
    _ensure_loaded()
    return {name: entry.cls for name, entry in _REGISTRY.items() if entry.unavailable is None}


def loader(name: str) -> type[Recommender] | None:
    """The adapter that rebuilds stored models of ``name`` (trainable or load-only), or None."""
    _ensure_loaded()
    entry = _REGISTRY.get(name)
    return entry.cls if entry else None


def get_algorithm(name: str) -> type[Recommender]:
    """The adapter registered as ``name``, to train; a one-sentence ParameterError for an
    unknown name or one whose training library is missing here."""
    _ensure_loaded()
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ParameterError(
            f"Unknown algorithm {name!r}; use one of {', '.join(sorted(algorithms()))}."
        )
    if entry.unavailable is not None:
        raise ParameterError(entry.unavailable)
    return entry.cls


def missing_input(cls: type[Recommender], data: Any) -> str | None:
    """What a family needs to train that the dataset ``data`` lacks: ``"ratings"`` (explicit
    ratings), or None when it can train on it.

    The one check behind "can this algorithm train on this dataset" (the train form, the
    Evaluate page's curves and search); whether it can train here at all is
    :func:`algorithms` / :func:`get_algorithm`. Item metadata is always there (a Dataset always
    has its items table).
    """
    if "ratings" in cls.needs and getattr(data, "ratings", None) is None:
        return "ratings"
    return None


def parse_params(
    name: str, raw: dict[str, Any] | None = None, preset: str | None = None
) -> dict[str, Any]:
    """Full, validated parameters for an algorithm: defaults, then a preset, then ``raw``.

    ``raw`` values may be strings (from the CLI's ``--param K=V``) or values (from the app).
    An unknown parameter or preset, or a value out of range, is a one-sentence ParameterError.
    """
    cls = get_algorithm(name)
    return resolve(name, cls.params, cls.presets, raw, preset)


def create(name: str, **params: Any) -> Recommender:
    """An unfitted adapter with validated parameters."""
    return get_algorithm(name)(**parse_params(name, params))
