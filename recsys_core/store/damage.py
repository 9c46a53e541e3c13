"""Damage found in stored models, remembered for this process's listings.

A listing rebuilds small models only (:data:`~.listing.LISTING_CHECK_BYTES`); damage in the data
of a larger one (an index out of range, a NaN) is found when it is loaded, and from then on this
process's listings report it too, until the model's files change. Models a listing rebuilt
without damage are remembered too, so they are not rebuilt again.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .arrays import ARRAYS
from .meta import META

_FOUND_DAMAGED: dict[str, tuple[tuple, str]] = {}
"""``{folder: (signature of its files, reason)}``: damage a load found in the arrays' data,
reported by this process's listings until the files change."""
_FOUND_GOOD: dict[str, tuple] = {}
"""``{folder: signature of its files}``: models a listing rebuilt without finding damage."""


def damaged_error(root: Path, model_id: str, reason: str) -> StoreError:
    """The one-sentence error for a damaged entry, remembered for this process's listings."""
    remember_damage(root / model_id, reason)
    error = StoreError(f"Model {model_id} is damaged: {reason}; train it again.")
    error.reason = reason
    return error


def remember_damage(folder: Path, reason: str) -> None:
    _FOUND_DAMAGED[str(folder)] = (_signature(folder), reason)


def remember_good(folder: Path) -> None:
    _FOUND_GOOD[str(folder)] = _signature(folder)


def known_good(folder: Path) -> bool:
    """Whether a listing rebuilt this folder's model, unchanged since, without damage."""
    return _FOUND_GOOD.get(str(folder)) == _signature(folder)


def known_damage(folder: Path) -> str | None:
    """The damage found in this folder's model, unless its files changed since."""
    found = _FOUND_DAMAGED.get(str(folder))
    if found is None:
        return None
    signature, reason = found
    if signature != _signature(folder):
        _FOUND_DAMAGED.pop(str(folder), None)
        return None
    return reason


def _signature(folder: Path) -> tuple:
    parts = []
    for name in (ARRAYS, META):
        try:
            info = os.stat(folder / name)
            parts.append((info.st_ino, info.st_size, info.st_mtime_ns))
        except OSError:
            parts.append(None)
    return tuple(parts)
