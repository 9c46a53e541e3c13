"""Downloads: CSV cells a spreadsheet shows as text, and safe file names.

Item names and ids are user-generated: :func:`csv_cell` stops a spreadsheet from running one as a
formula, :func:`csv_text` writes a whole table that way, and :func:`file_name` builds a download's
name from parts that may hold anything.
"""

from __future__ import annotations

import re
from typing import Any

from pandas.api.types import is_bool_dtype, is_numeric_dtype

__all__ = ["csv_cell", "csv_text", "file_name"]

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection"),
# the full-width forms included (some locales of Excel read them as the ASCII ones).
_FORMULA_START = tuple("=+-@\t\r") + ("\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FILE_PART = re.compile(r"[^A-Za-z0-9._]+")


def csv_cell(value: Any) -> Any:
    """A cell for a CSV file that a spreadsheet shows as text, never runs as a formula.

    A string that starts (after any spaces) with ``= + - @``, a tab or a carriage return gets
    a leading ``'``, unless it is a plain number (``-1.5``). Anything that is not a string is
    returned as it is (numbers stay numbers).
    """
    if not isinstance(value, str):
        return value
    start = value.lstrip(" ")
    if start.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(start):
        return "'" + value
    return value


def csv_text(frame: Any) -> str:
    """``frame`` (a pandas DataFrame) as CSV text, every text cell through :func:`csv_cell`.

    Parameters
    ----------
    frame : pandas.DataFrame, shape [n_rows, n_columns]
        What a page shows (item names and ids are user-generated).

    Returns
    -------
    str
        The CSV, with a header row and no index column.
    """
    safe = frame.copy()
    safe.columns = [csv_cell(str(column)) for column in safe.columns]
    for column in safe.columns:
        if not (is_numeric_dtype(safe[column]) or is_bool_dtype(safe[column])):
            safe[column] = safe[column].astype(object).map(csv_cell)
    return safe.to_csv(index=False)


def file_name(*parts: Any, ext: str = "csv") -> str:
    """A download's file name from parts that may hold anything (ids, model labels):
    letters, digits, ``.`` and ``_`` kept, every other run of characters one ``-``, each part
    at most 40 characters, e.g. ``file_name("similar", "i42", "ALS (WRMF)")`` is
    ``"similar-i42-ALS-WRMF.csv"``."""
    kept = [_FILE_PART.sub("-", str(part)).strip("-.")[:40].strip("-.") for part in parts]
    stem = "-".join(part for part in kept if part) or "download"
    return f"{stem}.{ext}"
