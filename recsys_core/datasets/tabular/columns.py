"""Which column holds what (its role), and the role columns collected batch by batch.

Columns are found by name (``user``/``user_id``/``uid``/``userId``, ``item``/``item_id``/``mid``/
``movieId``/``itemId``, ``weight``/``count``/``plays``, ``rating``, ``timestamp``/``time``/``ts``)
or mapped explicitly with ``columns={"user": "customer", "item": "sku"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import DatasetError
from .dates import seconds
from .messages import alternatives, quote_names, too_big_decoded, too_many_rows
from .values import as_ids, as_numbers

ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id", "uid", "userId"),
    "item": ("item", "item_id", "mid", "movieId", "itemId"),
    "weight": ("weight", "count", "plays", "play_count"),
    "rating": ("rating",),
    "timestamp": ("timestamp", "time", "ts", "datetime"),
}
"""Column names recognised for each role (compared without case, ``_``, ``-`` or spaces)."""

ITEM_ALIASES: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id", "id", "item", "mid", "movieId", "itemId"),
    "name": ("name", "title", "modelname"),
    "url": ("url", "link"),
    "image_url": ("image_url", "image", "thumbnail", "thumbnail_url"),
    "category": ("category",),
    "tags": ("tags", "tag"),
}
"""Column names recognised in an items file."""


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def resolve_columns(
    found: Sequence[str],
    columns: Mapping[str, str | None] | None,
    *,
    source: str,
    aliases: Mapping[str, Sequence[str]] = ROLE_ALIASES,
    required: Sequence[str] = ("user", "item"),
) -> dict[str, str]:
    """Map roles to the file's column names: explicit entries first, then known names.

    Returns ``{role: column}`` for the roles present. Raises ``DatasetError`` naming the
    columns found and the ones wanted when a required role has no column.
    """
    found = [str(c) for c in found]
    mapped = columns is not None  # the caller maps columns: it can be told how
    columns = dict(columns or {})
    unknown = [role for role in columns if role not in aliases]
    if unknown:
        raise DatasetError(
            f"Unknown column role(s) {quote_names(unknown)} for {source}; map any of "
            f"{quote_names(list(aliases))} to a column name."
        )
    resolved: dict[str, str] = {}
    for role, column in columns.items():
        if column is None:
            continue
        if str(column) not in found:
            raise DatasetError(
                f"{source} has no column {str(column)!r} (mapped to {role}); its columns are "
                f"{quote_names(found)}."
            )
        resolved[role] = str(column)
    by_norm: dict[str, str] = {}
    for column in found:
        by_norm.setdefault(_norm(column), column)
    used = set(resolved.values())
    for role, names in aliases.items():
        if role in columns:
            continue
        for alias in names:
            column = by_norm.get(_norm(alias))
            if column is not None and column not in used:
                resolved[role] = column
                used.add(column)
                break
    missing = [role for role in required if role not in resolved]
    if missing:
        wanted = " and ".join(
            f"{'an' if role in ('item', 'item_id') else 'a'} {role} column "
            f"({alternatives(list(aliases[role]))})"
            for role in missing
        )
        example = ", ".join(f"{role!r}: ..." for role in missing)
        how = f" or map them with columns={{{example}}}" if mapped else ""
        raise DatasetError(
            f"{source} has the column(s) {quote_names(found)} but needs {wanted}; rename them "
            f"in the header{how}."
        )
    for role, column in resolved.items():
        count = found.count(column)
        if count > 1:
            raise DatasetError(
                f"{source} has {count} columns named {column!r}; rename all but one so it is "
                f"clear which holds the {role}."
            )
    return resolved


def refuse_duplicate_names(names: Sequence[str], label: str) -> None:
    """Raise ``DatasetError`` when two columns of ``label`` have one name."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DatasetError(
                f"{label} has {list(names).count(name)} columns named {name!r}; rename all but one."
            )
        seen.add(name)


def decoded_nbytes(array: pa.Array) -> int:
    """Bytes an array takes once decoded (a dictionary column: as plain text)."""
    if pa.types.is_dictionary(array.type):
        values = array.dictionary
        if (
            pa.types.is_string(values.type)
            or pa.types.is_binary(values.type)
            or (pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type))
        ):
            lengths = pc.binary_length(values).to_numpy(zero_copy_only=False)
            indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
            return int(lengths.astype(np.int64)[indices].sum()) + 4 * len(array)
        try:
            return max(values.type.bit_width // 8, 1) * len(array)
        except ValueError:  # not a fixed-width type
            return int(array.nbytes)
    return int(array.nbytes)


@dataclass
class Columns:
    """Role columns collected batch by batch (:meth:`take`), within the row and decoded-size
    limits: ids as Arrow arrays (see :func:`.values.as_ids`), other roles as numpy arrays."""

    ids: dict[str, list[pa.Array]] = field(default_factory=dict)
    numbers: dict[str, list[np.ndarray]] = field(default_factory=dict)
    n_rows: int = 0
    time_kind: str | None = None
    dictionaries: dict[str, list] = field(default_factory=dict)  # the last one per id role
    max_rows: int | None = None
    max_decoded: int | None = None  # bytes the columns may decode to (parquet)
    decoded: int = 0

    def take(self, batch: pa.RecordBatch, roles: Mapping[str, str], source: str) -> None:
        """Check and keep the role columns of one batch (``roles``: role -> column name)."""
        offset = self.n_rows
        if self.max_rows is not None and offset + batch.num_rows > self.max_rows:
            raise too_many_rows(source, self.max_rows)
        arrays = {
            role: batch.column(batch.schema.get_field_index(column))
            for role, column in roles.items()
        }
        if self.max_decoded is not None:  # before any dictionary column is decoded
            self.decoded += sum(decoded_nbytes(array) for array in arrays.values())
            if self.decoded > self.max_decoded:
                raise too_big_decoded(source, self.max_decoded)
        for role, column in roles.items():
            array = arrays[role]
            if role in ("user", "item"):
                memo = self.dictionaries.setdefault(role, [])
                self.ids.setdefault(role, []).append(as_ids(array, source, column, offset, memo))
            elif role == "timestamp":
                values, self.time_kind = seconds(array, source, column, offset, self.time_kind)
                self.numbers.setdefault(role, []).append(values)
            else:
                self.numbers.setdefault(role, []).append(
                    as_numbers(array, source, column, offset, non_negative=role == "weight")
                )
        self.n_rows += batch.num_rows
