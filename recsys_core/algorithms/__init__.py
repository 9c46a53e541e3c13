"""The algorithm registry: registry key -> adapter class (with its parameter schema).

Adapters live one family per module and register themselves with :func:`register`. The app's
forms and the CLI's ``--param K=V`` are generated from ``cls.params``.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ..errors import ParameterError
from .base import CAPABILITIES, Param, Recommender

_REGISTRY: dict[str, type[Recommender]] = {}
_LOAD_ONLY: dict[str, tuple[type[Recommender], str]] = {}
"""Adapters whose training dependency is missing: stored models still load (``loader``), but
the algorithm is not offered for training; the value's str is why (one sentence)."""

# modules that register adapters; a module that fails to import (optional dependency missing)
# is skipped, and its algorithms are simply absent
_MODULES = (
    "implicit_models",
    "lightfm_model",
    "ease",
    "popularity",
    "content",
    "svd",
    "biased_mf",
    "vectors",
    "spark_als",
)
_loaded = False
_loading = False
_LOAD_LOCK = threading.RLock()


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator: add an adapter to the registry under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a registry name.")
    _REGISTRY[cls.name] = cls
    return cls


def register_load_only(cls: type[Recommender], reason: str) -> type[Recommender]:
    """Keep ``cls`` for loading stored models only (its training library is missing).

    ``get_algorithm`` then raises ``ParameterError(reason)`` and ``algorithms()`` leaves it out,
    while :func:`loader` still returns it, so the model store opens its models.
    """
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a registry name.")
    _LOAD_ONLY[cls.name] = (cls, reason)
    return cls


def loader(name: str) -> type[Recommender] | None:
    """The adapter that rebuilds stored models of ``name`` (trainable or load-only), or None."""
    _ensure_loaded()
    if name in _REGISTRY:
        return _REGISTRY[name]
    entry = _LOAD_ONLY.get(name)
    return entry[0] if entry else None


def _ensure_loaded() -> None:
    """Import the adapter modules once. Two threads (two browser sessions on a fresh server)
    asking at the same time: the second waits for the first, never reads a half-filled
    registry; a thread asking again while it imports them (an adapter module that looks
    something up) gets what is registered so far, as before."""
    global _loaded, _loading
    if _loaded:
        return
    with _LOAD_LOCK:
        if _loaded or _loading:
            return
        _loading = True
        try:
            for module in _MODULES:
                try:
                    importlib.import_module(f"{__name__}.{module}")
                except ModuleNotFoundError as error:  # a missing module of ours or optional dep
                    if error.name and error.name.endswith(module):
                        continue
                    if error.name in {"pyspark"}:
                        continue
                    raise
        finally:
            _loading = False
        _loaded = True


def algorithms() -> dict[str, type[Recommender]]:
    """Every registered adapter by registry key."""
    _ensure_loaded()
    return dict(_REGISTRY)


def get_algorithm(name: str) -> type[Recommender]:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        if name in _LOAD_ONLY:
            raise ParameterError(_LOAD_ONLY[name][1]) from None
        raise ParameterError(
            f"Unknown algorithm {name!r}; use one of {', '.join(sorted(_REGISTRY))}."
        ) from None


def parse_params(
    name: str, raw: dict[str, Any] | None = None, preset: str | None = None
) -> dict[str, Any]:
    """Full, validated parameters for an algorithm: defaults, then a preset, then ``raw``.

    ``raw`` values may be strings (from the CLI's ``--param K=V``) or values (from the app).
    An unknown parameter or preset, or a value out of range, is a one-sentence ParameterError.
    """
    cls = get_algorithm(name)
    schema = {p.name: p for p in cls.params}
    values = {p.name: p.default for p in cls.params}
    if preset:
        if preset not in cls.presets:
            known = ", ".join(cls.presets) or "none"
            raise ParameterError(f"{name} has no preset {preset!r}; presets: {known}.")
        values.update(cls.presets[preset])
    for key, value in (raw or {}).items():
        if key not in schema:
            raise ParameterError(
                f"{name} has no parameter {key!r}; valid: {', '.join(schema) or 'none'}."
            )
        values[key] = schema[key].parse(value)
    return {key: schema[key].validate(value) for key, value in values.items()}


def parse_param_args(pairs: list[str] | None) -> dict[str, str]:
    """``["factors=64", "alpha=40"]`` -> ``{"factors": "64", "alpha": "40"}``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ParameterError(f"--param needs KEY=VALUE, got {pair!r}.")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def create(name: str, **params: Any) -> Recommender:
    """An unfitted adapter with validated parameters."""
    return get_algorithm(name)(**parse_params(name, params))


__all__ = [
    "CAPABILITIES",
    "Param",
    "Recommender",
    "algorithms",
    "create",
    "get_algorithm",
    "loader",
    "parse_param_args",
    "parse_params",
    "register",
    "register_load_only",
]
