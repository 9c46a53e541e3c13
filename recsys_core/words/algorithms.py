"""Words for the algorithms: a registered algorithm's name and its parameters.

:func:`algorithm_label` gives an algorithm's short human name ("ALS (WRMF)"), :func:`param_label`
one parameter's label and help (its :class:`~recsys_core.algorithms.base.Param`), and
:func:`params_label` a model's parameters in words ("latent factors 40, confidence scale (alpha)
50"). The words of a model's label in the app (algorithm, parameters, seed) come from here.
"""

from __future__ import annotations

from typing import Any

from ..algorithms import loader

__all__ = ["algorithm_label", "param_label", "params_label"]


def _algorithm_class(name: Any) -> Any:
    """The registered adapter class of ``name`` (trainable or load-only), or None."""
    try:
        return loader(str(name))
    except Exception:
        return None


def param_label(algorithm: str, key: str) -> tuple[str, str]:
    """A registered algorithm's parameter in words: its Param's ``(label, help)``.

    ``(key, "")`` when the algorithm or the parameter is unknown.
    """
    cls = _algorithm_class(algorithm)
    for param in getattr(cls, "params", ()):
        if param.name == key:
            return param.label, param.help
    return str(key), ""


def algorithm_label(name: str) -> str:
    """A registered algorithm's short human name (``"ALS (WRMF)"``); the name if unknown."""
    cls = _algorithm_class(name)
    return getattr(cls, "label", "") or str(name)


_QUIET_PARAMS = frozenset({"random_state", "num_threads", "seed"})
"""Parameters a summary leaves out: they change no result a person compares (or only the
seed's draw)."""


def _lower_first(label: str) -> str:
    """The first letter lower case ("Latent factors" -> "latent factors"), unless the label starts
    with an acronym ("ALS", "K")."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _value_words(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def params_label(
    algorithm: str,
    params: dict[str, Any] | None,
    limit: int = 3,
    changed_only: bool = False,
) -> str:
    """A model's parameters in words, for a picker or a table row.

    Parameters
    ----------
    algorithm : str
        A registered algorithm (its Params give the words and the defaults).
    params : dict
        ``{key: value}`` as stored with the model.
    limit : int
        At most this many parameters; more are marked with "…".
    changed_only : bool
        Only the parameters that differ from the defaults ("" when none do); otherwise those
        first, then the leading ones in schema order.

    Returns
    -------
    str
        ``"latent factors 40, confidence scale (alpha) 50"``; a boolean reads as its label
        (true) or "no " + its label (false); "" for no parameters. Seeds and thread counts are
        left out.
    """
    if not params:
        return ""
    cls = _algorithm_class(algorithm)
    schema = {p.name: p for p in getattr(cls, "params", ())}
    order = [name for name in schema if name in params] + [k for k in params if k not in schema]
    order = [key for key in order if key not in _QUIET_PARAMS]
    changed = [k for k in order if k in schema and params[k] != schema[k].default]
    rest = (
        []
        if changed_only
        else [k for k in order if k not in changed and not isinstance(params[k], bool)]
    )
    shown = changed + rest

    def one(key: str) -> str:
        label = _lower_first(schema[key].label) if key in schema else str(key)
        value = params[key]
        if isinstance(value, bool):
            return label if value else f"no {label}"
        return f"{label} {_value_words(value)}"

    text = ", ".join(one(key) for key in shown[:limit])
    return text + (" …" if len(shown) > limit else "")
