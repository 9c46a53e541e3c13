"""Words for the evaluation protocols: a split, its seed and the list length.

:func:`split_label` reads a split spec, a protocol key or a model variant as words ("5 held-out
likes per user · seed 0 · top 10"), :func:`split_help` says in one line how the split holds likes
out.
"""

from __future__ import annotations

import re
from typing import Any

from ..split import parse_split_spec

__all__ = ["MOVIELENS_SPLITS", "RERANK_SEPARATOR", "SEP", "split_help", "split_label"]

SEP = " · "
"""Between the parts of a label ("5 held-out likes per user · seed 0 · top 10")."""

MOVIELENS_SPLITS = ("ua", "ub", "u1", "u2", "u3", "u4", "u5")
"""ml-100k's predefined splits (``datasets.movielens.SPLITS_100K``, which tests/test_words.py
checks against: importing ``recsys_core.datasets`` here would load every data source)."""

RERANK_SEPARATOR = "|rerank:"
"""``recsys_core.rerank.KEY_SEPARATOR``, repeated so that words imports nothing above the
render layer (a test checks they agree)."""

_PROTOCOL = re.compile(r"^(?P<split>.*):seed=(?P<seed>[^:@]*)@k=(?P<k>\d+)$")

_VARIANT = re.compile(r"^split=(?P<split>.*):seed=(?P<seed>[^:@]*)$")


def _likes(n: int) -> str:
    return "1 like" if n == 1 else f"{n:,} likes"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"


def _parse_stored(spec: str) -> tuple[str, int | None, int | None]:
    """``"holdout:5:seed=0@k=10"`` -> ``("holdout:5", 0, 10)``; ``"split=holdout:5:seed=0"``
    -> ``("holdout:5", 0, None)``; anything else -> ``(spec, None, None)``."""
    for pattern in (_PROTOCOL, _VARIANT):
        match = pattern.match(spec)
        if match:
            seed = match.group("seed")
            k = match.groupdict().get("k")
            return (
                match.group("split"),
                int(seed) if seed.isdigit() else None,
                int(k) if k else None,
            )
    return spec, None, None


def _split_words(spec: str) -> tuple[str, bool] | None:
    """``(words, seeded)`` for a split spec, None when it is not one."""
    if spec == "given":
        return "Train and test given", False
    try:
        kind, args = parse_split_spec(spec)
    except Exception:  # a UserError, or anything odd: the key stays the label
        return None
    if kind == "holdout":
        n = int(args[0])
        who = "per user" if len(args) == 1 else f"for {_percent(args[1])} of users"
        return f"{n:,} held-out {'like' if n == 1 else 'likes'} {who}", True
    if kind == "random":
        return f"Random {_percent(args[0])} held out", True
    if kind == "leave-last":
        n = int(args[0])
        return ("Leave the last like out" if n == 1 else f"Leave the last {n:,} likes out"), False
    name = str(args[0])
    if name.lower() in MOVIELENS_SPLITS:
        return f"MovieLens split {name}", False
    return f"Predefined split {name}", False


def split_label(spec: Any, k: int | None = None, seed: int | None = None) -> str:
    """A split (spec, protocol key or model variant) in words, with its seed and list length.

    Parameters
    ----------
    spec : str
        ``"holdout:5"``, ``"holdout:5:0.5"``, ``"random:0.2"``, ``"leave-last:1"``, a
        predefined split name (``"u1"``), ``"given"``, a protocol key
        ``"holdout:5:seed=0@k=10"`` or a model variant ``"split=holdout:5:seed=0"``.
    k, seed : int, optional
        The list length and the split's seed; given, they override the ones in a stored key.
        The seed is shown only for splits that draw at random (holdout, random).

    Returns
    -------
    str
        ``"5 held-out likes per user · seed 0 · top 10"``; the spec itself when unreadable.
    """
    text = str(spec).strip() if spec is not None else "given"
    text, _, steering = text.partition(RERANK_SEPARATOR)
    base, stored_seed, stored_k = _parse_stored(text)
    seed = stored_seed if seed is None else seed
    k = stored_k if k is None else k
    found = _split_words(base)
    if found is None:
        return text
    words, seeded = found
    parts = [words]
    if seeded and seed is not None:
        parts.append(f"seed {seed}")
    if k is not None:
        parts.append(f"top {int(k)}")
    if steering:  # a re-ranked protocol key: "… · steered: popularity 0.5, diversity 0.3"
        parts.append("steered: " + ", ".join(p.replace("=", " ") for p in steering.split(",")))
    return SEP.join(parts)


def split_help(spec: Any) -> str:
    """One line on how a split (spec, protocol key or variant) holds likes out; "" if unknown."""
    base, _, _ = _parse_stored(str(spec).strip() if spec is not None else "given")
    if base == "given":
        return "The training and test likes were given separately."
    try:
        kind, args = parse_split_spec(base)
    except Exception:
        return ""
    if kind == "holdout":
        n = int(args[0])
        who = "every user" if len(args) == 1 else f"a random {_percent(args[1])} of the users"
        hidden = "1 random like is" if n == 1 else f"{n:,} random likes are"
        them = "it" if n == 1 else "them"
        return (
            f"For {who} with at least {_likes(2 * n)}, {hidden} hidden from training; the model "
            f"has to find {them}."
        )
    if kind == "random":
        return (
            f"A random {_percent(args[0])} of all likes is hidden from training; the model has "
            "to find them."
        )
    if kind == "leave-last":
        n = int(args[0])
        if n == 1:
            return "Each user's latest like is hidden from training; the model has to predict it."
        return (
            f"Each user's {n:,} latest likes are hidden from training; the model has to predict "
            "them."
        )
    name = str(args[0])
    if name.lower() in ("ua", "ub"):
        return f"MovieLens 100k's own split {name}: 10 ratings of every user held out."
    if name.lower() in MOVIELENS_SPLITS:
        return f"MovieLens 100k's own split {name}: one fifth of the ratings held out (5 folds)."
    return f"The split {name} shipped with the data."
