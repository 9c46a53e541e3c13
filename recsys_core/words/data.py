"""Words for the data: dataset names, taste groups, the map's colourings, and a natural sort.

:func:`dataset_name` says a registered dataset's name for people ("MovieLens 100k"),
:func:`group_label` a taste group ("Taste group 1 (Animals / low-poly)"), :func:`colour_label` a
colouring of the Embeddings map; :func:`natural_key` sorts "Taste group 2" before "Taste group 10".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "COLOUR_WORDS",
    "colour_label",
    "dataset_name",
    "group_label",
    "group_labels",
    "natural_key",
]

_DATASET_NAMES = {
    "demo": "the demo data",
    "sketchfab": "Sketchfab data",
}
"""Registry names whose words are not the name's own parts."""


def dataset_name(name: str) -> str:
    """A registered dataset's name for people, to use inside a sentence.

    ``"movielens-100k"`` -> ``"MovieLens 100k"``, ``"movielens-latest-small"`` ->
    ``"MovieLens latest-small"``, ``"movielens-1m"`` -> ``"MovieLens 1M"``, ``"demo"`` ->
    ``"the demo data"``; any other name is returned as it is.
    """
    text = str(name)
    if text in _DATASET_NAMES:
        return _DATASET_NAMES[text]
    match = re.fullmatch(r"movielens-(\d+)([km])", text)
    if match:
        size, unit = match.groups()
        return f"MovieLens {size}{unit if unit == 'k' else unit.upper()}"
    if text.startswith("movielens-") and len(text) > len("movielens-"):
        return "MovieLens " + text[len("movielens-") :]
    return text


COLOUR_WORDS: dict[str, tuple[str, str]] = {
    "category": ("Category", "Each item's category."),
    "group": (
        "Taste group",
        "The demo's planted taste groups: the audience each item was made for, or each user's "
        "main group.",
    ),
    "tag": ("Tag", "The items that carry the chosen tag, against the rest."),
    "popularity": ("Popularity", "How many users liked each item (log scale)."),
    "activity": ("Activity", "How many items each user liked (log scale)."),
}
"""``{key: (label, help)}`` for :func:`colour_label` (the Embeddings page's colourings)."""


def colour_label(key: str) -> tuple[str, str]:
    """The words for a colouring of the Embeddings map.

    Returns
    -------
    (label, help) : tuple of str
        ``(key, "")`` for a key this module does not know.
    """
    return COLOUR_WORDS.get(str(key), (str(key), ""))


def _group_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu":  # numpy integer
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def group_label(value: Any, names: Sequence[str] | None = None) -> str:
    """One taste group in words, numbered from 1 for people (the data's group 0 is "Taste
    group 1").

    Parameters
    ----------
    value : int or str
        A group number (``items["group"]``, ``users["group"]``: int, numpy int or digit
        string), or a users' ``"3|7"`` (``users["groups"]``); anything else is returned as text.
    names : sequence of str, optional
        A name per group number (the demo's ``dataset.extras["group_labels"]``).

    Returns
    -------
    str
        ``"Taste group 1 (Animals / low-poly)"``, ``"Taste group 4"``, ``"Taste groups 4 and
        8"``.
    """
    number = _group_number(value)
    if number is not None and number >= 0:
        name = ""
        if names is not None and number < len(names) and str(names[number]).strip():
            name = f" ({str(names[number]).strip()})"
        return f"Taste group {number + 1}{name}"
    text = "" if value is None else str(value)
    parts = text.split("|")
    if len(parts) > 1 and all(part.strip().isdigit() for part in parts):
        numbers = [str(int(part) + 1) for part in parts]
        return "Taste groups " + ", ".join(numbers[:-1]) + " and " + numbers[-1]
    return text


def group_labels(values: Iterable[Any], names: Sequence[str] | None = None) -> list[str]:
    """:func:`group_label` of every value of a column, shape [n] -> list of n str."""
    cache: dict[Any, str] = {}
    out = []
    for value in values:
        key = (type(value).__name__, value) if _hashable(value) else None
        if key is not None and key in cache:
            out.append(cache[key])
            continue
        label = group_label(value, names)
        if key is not None:
            cache[key] = label
        out.append(label)
    return out


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def natural_key(text: Any) -> tuple:
    """A sort key that orders the numbers inside text by value, case-insensitively.

    ``sorted(["Taste group 10", "Taste group 2"], key=natural_key)`` gives group 2 first;
    ``sorted(["10", "1", "0"], key=natural_key)`` gives ``["0", "1", "10"]``.
    """
    parts = re.split(r"(\d+)", str(text))
    return tuple(int(part) if index % 2 else part.casefold() for index, part in enumerate(parts))
