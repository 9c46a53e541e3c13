"""The sentences a file's problems are reported in: one :class:`DatasetError` each, naming the
file by its label (never a server path), and the row and column where that helps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DatasetError


def quote_names(values: Sequence[str], limit: int = 8) -> str:
    """``'a', 'b' and 3 more``: the first ``limit`` values quoted."""
    shown = [repr(str(v)) for v in list(values)[:limit]]
    more = len(values) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def alternatives(values: Sequence[str]) -> str:
    """``a, b or c``."""
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def short_value(value: Any) -> str:
    """A value quoted, cut at 40 characters."""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def size_text(n_bytes: float) -> str:
    """``4 GB``, ``200 MB``, ``1.5 GB`` (binary units, as Streamlit states its upload limit)."""
    if n_bytes >= 1024**3:
        return f"{n_bytes / 1024**3:,.2f}".rstrip("0").rstrip(".") + " GB"
    return f"{n_bytes / 1024**2:,.0f} MB"


def safe_detail(error: BaseException, path: Path | None = None, label: str = "") -> str:
    """A reader's message made safe to show: one line, short, without server paths."""
    text = " ".join(str(error).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    if path is not None:
        for secret in (str(path), str(path.parent), path.name):
            if secret and secret != label:
                text = text.replace(secret, label or "the file")
    text = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/:]+){2,}", "<path>", text)
    return text[:77] + "..." if len(text) > 80 else text


def bad_value(source: str, row: int, column: str, value: Any, wanted: str) -> DatasetError:
    """Row ``row`` of ``source`` has ``value`` (or nothing) in ``column``, not ``wanted``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DatasetError(
            f"Row {row:,} of {source} has no value in column {column!r}; fill it in or remove "
            "that row."
        )
    if isinstance(value, (float, int, np.floating, np.integer)):
        shown = f"{float(value):g}"
    else:
        text = str(value)
        shown = repr(text if len(text) <= 40 else text[:37] + "...")
    return DatasetError(
        f"Row {row:,} of {source} has {shown} in column {column!r}, which is not {wanted}; fix "
        "or remove that row."
    )


def too_many_rows(label: str, limit: int) -> DatasetError:
    return DatasetError(
        f"{label} has more than {limit:,} rows, the limit here; use a sample of it."
    )


def too_many_cells(label: str, rows: int, n_columns: int, limit: int) -> DatasetError:
    return DatasetError(
        f"{label} has {rows:,} rows of {n_columns:,} columns, more than the {limit:,} values "
        "an items file may hold here; keep only the columns and items you need."
    )


def too_big_decoded(label: str, max_bytes: int) -> DatasetError:
    return DatasetError(
        f"{label} expands to more than {size_text(max_bytes)} when read, the limit for one file "
        "here; use a sample of it."
    )


def empty_file(label: str) -> DatasetError:
    return DatasetError(
        f"{label} is empty; it needs a header line and at least one row of user and item."
    )
