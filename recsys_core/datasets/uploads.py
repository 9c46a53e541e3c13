"""Uploaded files: kept under ``RECSYS_HOME/uploads/<key>/``, keyed by their content and kind.

An upload is an interactions file (csv / tsv / psv / txt / parquet) and an optional items file.
Its key hashes both files with their kinds (suffixes), so the same bytes uploaded as ``.tsv`` and
as ``.csv`` are two uploads, and so are the same interactions with and without an items file.
It is referred to as the dataset spec ``upload:<key>``, so a link to a view of an uploaded
dataset keeps working for as long as the upload is kept.

An upload is written into a temporary folder, loaded there (so a bad interactions or items file
is refused with one sentence naming the file as the user named it), and only then renamed into
place: a refused upload leaves nothing behind, and identical uploads at the same moment end in
one folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import time
import unicodedata
import uuid
from pathlib import Path

from .. import config
from ..dataset import Dataset
from ..errors import DatasetError
from ..util.files import atomic_write_text, place_folder
from .tabular import load_file

PREFIX = "upload:"
MAX_UPLOAD_BYTES = 200 * 1024**2
"""Largest file kept, and most a parquet upload may decode to (Streamlit's own upload limit)."""
SUFFIXES = {".csv", ".tsv", ".psv", ".txt", ".parquet", ".pq"}
_SAME_KIND = {".pq": ".parquet"}
_KEY = re.compile(r"^[0-9a-f]{12}$")
NAME_FILE = "name.txt"
ITEMS_NAME_FILE = "items_name.txt"
_TEMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".old-"
STALE_SECONDS = 3600
"""Temporary folders older than this (left by a killed process) are removed by the next upload."""


def _uploads_dir() -> Path:
    return config.subdir("uploads")


def display_name(filename: str) -> str:
    """The name a user gave a file, safe to show and store: the last path part, without
    control characters, at most 120 characters (``"../x/likes.csv"`` -> ``"likes.csv"``)."""
    name = str(filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if len(name) > 120:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 110 - len(suffix)] + "…" + dot + suffix) if dot else name[:120]
    return name or "upload"


def _kind(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise DatasetError(f"{filename!r} is not a csv, tsv or parquet file; upload one of those.")
    return _SAME_KIND.get(suffix, suffix)


def upload_key(
    data: bytes, kind: str, items: bytes | None = None, items_kind: str | None = None
) -> str:
    """12 hex digits of a hash of both files and their kinds (``".csv"``, ``".parquet"``...).

    Each part is length-prefixed, so no two different uploads hash the same sequence of bytes.
    """
    digest = hashlib.sha256()
    parts = [b"interactions", kind.encode(), data]
    if items is not None:
        parts += [b"items", str(items_kind).encode(), items]
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:12]


def _check_size(data: bytes, name: str, max_bytes: int) -> None:
    if len(data) == 0:
        raise DatasetError(f"{name!r} is empty; upload a file with a header and some rows.")
    if len(data) > max_bytes:
        raise DatasetError(
            f"{name!r} is {len(data) / 1024**2:,.0f} MB, above the "
            f"{max_bytes / 1024**2:,.0f} MB upload limit; upload a sample of it, or save it as "
            "parquet, which is smaller."
        )


def _complete(folder: Path) -> bool:
    """Whether an upload folder holds what it was written with (its interactions, its name,
    and an items file exactly when it has an items name)."""
    if not folder.is_dir() or not (folder / NAME_FILE).is_file():
        return False
    has_items = any(folder.glob("items.*"))
    return any(folder.glob("interactions.*")) and has_items == (folder / ITEMS_NAME_FILE).is_file()


def _sweep(uploads: Path) -> None:
    """Remove temporary folders a killed process left (older than :data:`STALE_SECONDS`)."""
    now = time.time()
    for entry in uploads.iterdir():
        if not entry.name.startswith((_TEMP_PREFIX, _TRASH_PREFIX)):
            continue
        try:
            if now - entry.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def _rename(folder: Path, file: str, name: str) -> None:
    """Record the name a file was uploaded with, atomically (readers see one name or the other)."""
    if _read_name(folder / file, "") == name:
        return
    with contextlib.suppress(OSError):  # the folder went meanwhile: not worth an error
        atomic_write_text(folder / file, name)


def _validate(folder: Path, name: str, items_name: str | None) -> None:
    interactions = next(folder.glob("interactions.*"))
    items = next(folder.glob("items.*"), None)
    load_file(
        interactions,
        items_path=items,
        name=name,
        label=name,
        items_label=items_name,
        max_bytes=MAX_UPLOAD_BYTES,
    )


def save_upload(
    data: bytes,
    filename: str,
    items: bytes | None = None,
    items_filename: str | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> str:
    """Check an upload, keep it, and return its dataset spec (``upload:<key>``).

    Parameters
    ----------
    data : bytes
        The interactions file.
    filename : str
        Its name as uploaded (its suffix says how to read it); messages name the file by it.
    items, items_filename : bytes and str, optional
        An items file and its name.
    max_bytes : int
        The largest file taken.

    Raises
    ------
    DatasetError
        One sentence naming the file (as uploaded) for an empty, oversized or unknown kind of
        file, or one that does not load (see :func:`recsys_core.datasets.tabular.load_file`).
        Nothing is left under ``RECSYS_HOME/uploads`` then.
    """
    name = display_name(filename)
    _check_size(data, name, max_bytes)
    kind = _kind(name)
    items_name = items_kind = None
    if items is not None or items_filename:
        items_name = display_name(items_filename or "items.csv")
        _check_size(items or b"", items_name, max_bytes)
        items_kind = _kind(items_name)
    key = upload_key(data, kind, items, items_kind)
    uploads = _uploads_dir()
    _sweep(uploads)
    final = uploads / key
    if _complete(final):  # the same files again (validated when first kept): the newest names
        _rename(final, NAME_FILE, name)
        if items_name is not None:
            _rename(final, ITEMS_NAME_FILE, items_name)
        return PREFIX + key
    temp = uploads / f"{_TEMP_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        (temp / f"interactions{kind}").write_bytes(data)
        (temp / NAME_FILE).write_text(name, encoding="utf-8")
        if items is not None:
            (temp / f"items{items_kind}").write_bytes(items)
            (temp / ITEMS_NAME_FILE).write_text(str(items_name), encoding="utf-8")
        _validate(temp, name, items_name)
        # if another upload got there first, theirs stays (same content, already validated)
        # unless it is incomplete, which this one then replaces
        place_folder(temp, final, keep=_complete, trash_prefix=_TRASH_PREFIX)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return PREFIX + key


def is_upload(spec: str) -> bool:
    return spec.startswith(PREFIX)


def _folder(spec: str) -> tuple[str, Path]:
    key = spec[len(PREFIX) :]
    folder = config.home() / "uploads" / key
    if not _KEY.match(key) or not folder.is_dir():
        raise DatasetError(f"The upload {key[:40]!r} is not here any more; upload the file again.")
    return key, folder


def _read_name(path: Path, default: str) -> str:
    try:
        return display_name(path.read_text(encoding="utf-8").strip()) if path.is_file() else default
    except (OSError, UnicodeError):
        return default


def upload_files(spec: str) -> tuple[Path, Path | None, str]:
    """(interactions path, items path or None, original file name) of an upload spec."""
    key, folder = _folder(spec)
    interactions = next(iter(sorted(folder.glob("interactions.*"))), None)
    if interactions is None:
        raise DatasetError(f"The upload {key!r} is incomplete; upload the file again.")
    items = next(iter(sorted(folder.glob("items.*"))), None)
    return interactions, items, _read_name(folder / NAME_FILE, key)


def upload_names(spec: str) -> tuple[str, str | None]:
    """The names the files of an upload were uploaded with: (interactions, items or None)."""
    interactions, items, name = upload_files(spec)
    if items is None:
        return name, None
    return name, _read_name(interactions.parent / ITEMS_NAME_FILE, "the items file")


def load_upload(spec: str) -> Dataset:
    """The dataset of an upload spec (``upload:<key>``), named as it was uploaded."""
    interactions, items, name = upload_files(spec)
    _, items_name = upload_names(spec)
    dataset = load_file(
        interactions,
        items_path=items,
        name=name,
        label=name,
        items_label=items_name,
        max_bytes=MAX_UPLOAD_BYTES,
    )
    extra = " with its items file" if items else ""
    return dataset.replace(description=f"Uploaded in the app: {name}{extra}.")


def source_for(spec: str) -> dict:
    """What the model store records to load this dataset again (CLI: a path and options)."""
    interactions, items, _ = upload_files(spec)
    options = {"items_path": str(items)} if items else {}
    return {"spec": str(interactions), "data_dir": None, "options": options}
