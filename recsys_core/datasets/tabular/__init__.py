"""Interactions from a csv / tsv / psv / parquet file, plus an optional items file.

This is what ``load_dataset("path/to/likes.csv")`` and the app's upload use (:func:`load_file`);
the other file-based sources share :func:`build_dataset`. The package, by what each module holds:

- :mod:`.load`: :func:`load_file`, the entry point (options, the parse cache's key, the checks on
  what was built);
- :mod:`.delimited`: encodings, delimiter and header sniffing, csv / tsv / psv reading;
- :mod:`.parquet`: parquet files, bounded from their metadata before they are read;
- :mod:`.items`: items files (:func:`read_items`);
- :mod:`.columns`: column roles (:func:`resolve_columns`) and the role columns collected batch by
  batch; :mod:`.values`: ids and numbers; :mod:`.dates`: times;
- :mod:`.build`: ids factorized, pairs sorted, the CSR matrices (:func:`build_dataset`);
- :mod:`.limits`: how much one file may hold; :mod:`.messages`: the sentences errors are in.
"""

from __future__ import annotations

from .build import build_dataset, build_from_columns, factorize_ids
from .columns import ITEM_ALIASES, ROLE_ALIASES, resolve_columns
from .delimited import sniff_encoding, text_encoding
from .items import read_items
from .limits import (
    ITEM_CELLS_ENV,
    MAX_BYTES,
    MAX_ITEM_CELLS,
    MAX_ROWS,
    ROWS_ENV,
    item_cell_limit,
    row_limit,
)
from .load import load_file

__all__ = [
    "ITEM_ALIASES",
    "ITEM_CELLS_ENV",
    "MAX_BYTES",
    "MAX_ITEM_CELLS",
    "MAX_ROWS",
    "ROLE_ALIASES",
    "ROWS_ENV",
    "build_dataset",
    "build_from_columns",
    "factorize_ids",
    "item_cell_limit",
    "load_file",
    "read_items",
    "resolve_columns",
    "row_limit",
    "sniff_encoding",
    "text_encoding",
]
