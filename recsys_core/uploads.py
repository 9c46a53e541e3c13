"""Uploaded files: kept under ``RECSYS_HOME/uploads/<key>/``, keyed by their content.

An upload is an interactions file (csv / tsv / parquet) and an optional items file. It is
written once (atomically) and referred to as the dataset spec ``upload:<key>``, so a link to a
view of an uploaded dataset keeps working for as long as the upload is kept.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from . import config
from .dataset import Dataset
from .errors import DatasetError

PREFIX = "upload:"
MAX_UPLOAD_BYTES = 200 * 1024**2
SUFFIXES = {".csv", ".tsv", ".psv", ".txt", ".parquet", ".pq"}
_KEY = re.compile(r"^[0-9a-f]{12}$")


def _suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise DatasetError(
            f"{filename!r} is not a csv, tsv or parquet file; upload one of those."
        )
    return suffix


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_upload(
    data: bytes,
    filename: str,
    items: bytes | None = None,
    items_filename: str | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> str:
    """Keep an upload and return its dataset spec (``upload:<key>``)."""
    if len(data) == 0:
        raise DatasetError(f"{filename!r} is empty; upload a file with a header and some rows.")
    for blob, name in ((data, filename), (items or b"", items_filename or "")):
        if len(blob) > max_bytes:
            raise DatasetError(
                f"{name!r} is {len(blob) / 1e6:,.0f} MB, above the {max_bytes / 1e6:,.0f} MB "
                "upload limit; use the command line with a file path instead."
            )
    suffix = _suffix(filename)
    digest = hashlib.sha256(data)
    if items:
        digest.update(b"\x00items\x00" + items)
    key = digest.hexdigest()[:12]
    folder = config.subdir("uploads", key)
    _write(folder / f"interactions{suffix}", data)
    if items:
        _write(folder / f"items{_suffix(items_filename or 'items.csv')}", items)
    (folder / "name.txt").write_text(Path(filename).name, encoding="utf-8")
    return PREFIX + key


def is_upload(spec: str) -> bool:
    return spec.startswith(PREFIX)


def upload_files(spec: str) -> tuple[Path, Path | None, str]:
    """(interactions path, items path or None, original file name) of an upload spec."""
    key = spec[len(PREFIX):]
    folder = config.home() / "uploads" / key
    if not _KEY.match(key) or not folder.is_dir():
        raise DatasetError(f"The upload {key!r} is not here any more; upload the file again.")
    interactions = next(iter(sorted(folder.glob("interactions.*"))), None)
    if interactions is None:
        raise DatasetError(f"The upload {key!r} is incomplete; upload the file again.")
    items = next(iter(sorted(folder.glob("items.*"))), None)
    name_file = folder / "name.txt"
    name = name_file.read_text(encoding="utf-8").strip() if name_file.exists() else key
    return interactions, items, name


def load_upload(spec: str) -> Dataset:
    from .datasets import tabular

    interactions, items, name = upload_files(spec)
    dataset = tabular.load_file(interactions, items_path=items, name=name)
    extra = " with its items file" if items else ""
    return dataset.replace(description=f"Uploaded in the app: {name}{extra}.")


def source_for(spec: str) -> dict:
    """What the model store records to load this dataset again (CLI: a path and options)."""
    interactions, items, _ = upload_files(spec)
    options = {"items_path": str(items)} if items else {}
    return {"spec": str(interactions), "data_dir": None, "options": options}
