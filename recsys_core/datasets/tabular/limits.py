"""How much one file may hold, and the first check of a file (there, readable, not too big).

What a file expands to is bounded before memory is committed: at most :func:`row_limit` rows of
interactions (``RECSYS_MAX_ROWS``), :func:`item_cell_limit` rows x columns of items
(``RECSYS_MAX_ITEM_CELLS``), and no more decoded data than ``max_bytes`` (a parquet file may not
hold more than a csv file of that size could).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ...errors import DatasetError
from .messages import empty_file, size_text

MAX_VALUE = 1e30
"""Largest weight or rating (float32 holds them, and sums of a few of them, without overflow)."""

MAX_BYTES = 4 * 1024**3
"""Default size limit for one file, and for what a parquet file decodes to (the app passes a
smaller one for uploads)."""

MAX_ROWS = 50_000_000
"""Most rows read from one interactions file; the operator changes it with ``RECSYS_MAX_ROWS``."""
ROWS_ENV = "RECSYS_MAX_ROWS"

MAX_ITEM_CELLS = 20_000_000
"""Most rows x columns read from one items file (``RECSYS_MAX_ITEM_CELLS``)."""
ITEM_CELLS_ENV = "RECSYS_MAX_ITEM_CELLS"

BLOCK_SIZE = 1 << 20
"""Bytes of a delimited file read at a time."""
BATCH_BYTES = 64 * 1024**2
"""Most bytes one parquet batch may decode to (the batch size shrinks for long values)."""

logger = logging.getLogger(__name__)


def _limit_from_env(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip().replace("_", "").replace(",", "")
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        logger.warning("%s=%r is not a whole number; using %s.", variable, text, default)
        return default
    return max(value, 1)


def row_limit() -> int:
    """The most rows read from one interactions file: ``RECSYS_MAX_ROWS`` or :data:`MAX_ROWS`."""
    return _limit_from_env(ROWS_ENV, MAX_ROWS)


def item_cell_limit() -> int:
    """The most rows x columns read from one items file: ``RECSYS_MAX_ITEM_CELLS`` or
    :data:`MAX_ITEM_CELLS`."""
    return _limit_from_env(ITEM_CELLS_ENV, MAX_ITEM_CELLS)


def check_file(path: Path, max_bytes: int | None, label: str | None = None) -> None:
    """Raise ``DatasetError`` for a missing, unreadable, empty or oversized file (named by
    ``label``, else by its path: a missing file is named by the path it was looked for at)."""
    try:
        if not path.exists():
            raise DatasetError(f"There is no file at {label or path}; check the path.")
        if path.is_dir():
            raise DatasetError(
                f"{label or path} is a folder; give the path of a csv, tsv or parquet file."
            )
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as error:
        raise DatasetError(
            f"{label or path} cannot be opened ({error.strerror or 'unreadable'}); check the "
            "path and its permissions."
        ) from None
    label = label or path.name
    if size == 0:
        raise empty_file(label)
    if max_bytes is not None and size > max_bytes:
        raise DatasetError(
            f"{label} is {size_text(size)}, above the {size_text(max_bytes)} limit for one file; "
            "use a sample of it."
        )
