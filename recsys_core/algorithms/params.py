"""An algorithm's hyperparameters: :class:`Param`, the schema the app's forms, the CLI's
``--param K=V``, the random search and the store's keys are generated from, and
:func:`resolve`, which turns defaults, a preset and given values into validated parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class Param:
    """One hyperparameter of an algorithm: the app's forms and the CLI's ``--param`` come from it.

    ``type`` is one of int, float, str, bool. Numbers may have ``low``/``high`` bounds (inclusive):
    the *valid* range, what ``fit`` accepts. Strings may have ``choices``.

    ``search`` is the *search* range ``(low, high)`` (inclusive) a random search draws from when
    no range is given (``tune --random N``, the Evaluate page): the values worth trying on a
    typical dataset at a typical cost, a sub-range of the valid one (ALS factors are valid from 1
    to 1024 but searched from 16 to 256). ``log`` draws it log-uniformly (then its low end is
    positive) and shows the parameter on a log axis. A number without ``search`` (seeds, threads)
    is not searched unless a range is given explicitly.

    ``label`` is what a person reads in a form ("Latent factors", "Random seed"), and ``help``
    its one-line explanation; the ``name`` stays the key of the URL, the CLI's ``--param`` and
    the store. Declare it after the other fields (``label="..."``); left out, it is the name in
    words ("max_sampled" -> "Max sampled").
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    log: bool = False
    search: tuple[float, float] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", words_of(self.name))
        if self.search is None:
            return
        where = f"Param {self.name}'s search range {self.search!r}"
        if self.type not in (int, float) or len(self.search) != 2:
            raise ValueError(f"{where} needs a numeric parameter and (low, high).")
        low, high = self.search
        if self.type is int and not (float(low).is_integer() and float(high).is_integer()):
            raise ValueError(f"{where} needs integer ends.")
        if not low < high:
            raise ValueError(f"{where} is empty.")
        below = self.low is not None and low < self.low
        if below or (self.high is not None and high > self.high):
            raise ValueError(f"{where} leaves the valid range ({self.describe()}).")
        if self.log and low <= 0:
            raise ValueError(f"{where} is log-uniform, so its low end must be positive.")

    @property
    def searchable(self) -> bool:
        """Whether a random search draws this parameter by default: choices, or a search range
        (bools are left alone)."""
        return self.type is not bool and (self.choices is not None or self.search is not None)

    def parse(self, text: Any) -> Any:
        """Turn a CLI string (or a value) into a validated value of the right type."""
        if isinstance(text, str):
            raw = text.strip()
            try:
                if self.type is bool:
                    lowered = raw.lower()
                    if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                        raise ValueError(raw)
                    value: Any = lowered in {"true", "1", "yes"}
                elif self.type is int:
                    as_float = float(raw)
                    if not as_float.is_integer():
                        raise ValueError(raw)
                    value = int(as_float)
                elif self.type is float:
                    value = float(raw)
                else:
                    value = raw
            except ValueError:
                raise ParameterError(
                    f"Parameter {self.name} needs {self.describe()}, got {text!r}."
                ) from None
        else:
            value = text
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        """``value`` as this parameter's type (an integral float as int, an int as float), or a
        one-sentence ParameterError naming what is accepted."""
        is_bool = isinstance(value, bool)
        is_float = isinstance(value, float | np.floating)
        if self.type is int and is_float and float(value).is_integer():
            value = int(value)
        if self.type is float and isinstance(value, int | np.integer) and not is_bool:
            value = float(value)
        if isinstance(value, np.generic):
            value = value.item()
        wrong_bool = self.type is not bool and isinstance(value, bool)
        ok = isinstance(value, self.type) and not wrong_bool
        if self.type is float and isinstance(value, float) and math.isnan(value):
            ok = False
        if ok and self.choices is not None and value not in self.choices:
            ok = False
        if ok and self.low is not None and value < self.low:
            ok = False
        if ok and self.high is not None and value > self.high:
            ok = False
        if not ok:
            raise ParameterError(f"Parameter {self.name} needs {self.describe()}, got {value!r}.")
        return value

    def describe(self) -> str:
        """What the parameter accepts, in words ("an integer from 1 to 1024")."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "text"}[self.type]
        if self.low is not None and self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{kind} of at least {self.low:g}"
        return kind

    def to_dict(self) -> dict:
        """The declaration as plain JSON values (``type`` as its name)."""
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "label": self.label,
            "help": self.help,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices is not None else None,
            "log": self.log,
            "search": list(self.search) if self.search is not None else None,
        }


def words_of(name: str) -> str:
    """A parameter key in words: ``"max_sampled"`` -> ``"Max sampled"``, ``"regParam"`` ->
    ``"Reg param"`` (the fallback label of a Param declared without one)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    text = " ".join(spaced.split()).lower()
    return text[:1].upper() + text[1:] if text else name


def resolve(
    algorithm: str,
    schema: tuple[Param, ...],
    presets: Mapping[str, Mapping[str, Any]],
    raw: Mapping[str, Any] | None = None,
    preset: str | None = None,
) -> dict[str, Any]:
    """Full, validated parameters: the defaults, then a preset, then ``raw``.

    Parameters
    ----------
    algorithm : str
        The registry key, for messages.
    schema : tuple of Param
        The algorithm's ``params``.
    presets : mapping
        The algorithm's ``presets``: ``{preset name: {param: value}}``.
    raw : mapping, optional
        Values as strings (the CLI's ``--param K=V``) or values (the app).
    preset : str, optional

    Returns
    -------
    dict
        Every parameter of the schema, validated. An unknown parameter or preset, or a value
        out of range, is a one-sentence ParameterError.
    """
    by_name = {p.name: p for p in schema}
    values = {p.name: p.default for p in schema}
    if preset:
        if preset not in presets:
            known = ", ".join(presets) or "none"
            raise ParameterError(f"{algorithm} has no preset {preset!r}; presets: {known}.")
        values.update(presets[preset])
    for key, value in (raw or {}).items():
        if key not in by_name:
            raise ParameterError(
                f"{algorithm} has no parameter {key!r}; valid: {', '.join(by_name) or 'none'}."
            )
        values[key] = by_name[key].parse(value)
    return {key: by_name[key].validate(value) for key, value in values.items()}


def parse_param_args(pairs: list[str] | None) -> dict[str, str]:
    """``["factors=64", "alpha=40"]`` -> ``{"factors": "64", "alpha": "40"}``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ParameterError(f"--param needs KEY=VALUE, got {pair!r}.")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out
