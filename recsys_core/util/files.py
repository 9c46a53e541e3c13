"""Write a file atomically: a temporary file in the same folder, then ``os.replace``.

A reader (another thread, another process) sees the old content or the new, never a half-written
file, and a failure leaves no temporary file behind. Every writer of a cache entry, a status file
or a stored table goes through :func:`atomic_write`; a folder written whole (an upload, a parsed
file's arrays) is put in place with :func:`place_folder`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .jsonsafe import json_default


def temporary_name(path: Path) -> Path:
    """A hidden, unique name beside ``path`` for its temporary file."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[Path], Any],
    *,
    fsync: bool = False,
) -> Path:
    """Call ``write(temporary_path)``, then move the result onto ``path`` in one step.

    Parameters
    ----------
    path : path-like
        The file to (re)place; its folder must exist.
    write : callable
        Writes the whole content to the path it is given (for example ``frame.to_parquet`` or
        ``np.save``). It must create exactly that file.
    fsync : bool
        Flush the file to disk before the rename (for files that must survive a power cut).

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    temp = temporary_name(target)
    try:
        write(temp)
        if fsync:
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(temp, target)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return target


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda temp: temp.write_bytes(data), fsync=fsync)


def atomic_write_text(path: str | os.PathLike, text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_write_json(
    path: str | os.PathLike,
    payload: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = True,
    fsync: bool = False,
) -> Path:
    """Write ``payload`` as JSON atomically; numpy values and paths are written as plain JSON
    (:func:`.jsonsafe.json_default`)."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(
        payload, indent=indent, sort_keys=sort_keys, separators=separators, default=json_default
    )
    return atomic_write_text(path, text + ("\n" if indent is not None else ""), fsync=fsync)


def write_via(handle_writer: Callable[[IO[bytes]], Any]) -> Callable[[Path], None]:
    """Adapt a writer of an open binary file to :func:`atomic_write`'s path argument."""

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            handle_writer(handle)

    return write


def place_folder(
    temp: str | os.PathLike,
    final: str | os.PathLike,
    *,
    keep: Callable[[Path], bool],
    trash_prefix: str = ".tmp-old-",
) -> bool:
    """Rename the complete folder ``temp`` onto ``final`` in one step (readers see the old folder
    or the new one, never a half-written one).

    When ``final`` exists already (another writer got there first), it stays if
    ``keep(final)`` (it is whole: ``temp`` is removed); otherwise it is renamed aside (to
    ``trash_prefix`` + its name, removed afterwards) and ``temp`` takes its place. A third writer
    that puts a folder ``keep`` accepts there meanwhile wins too.

    Parameters
    ----------
    temp, final : path-like
        Folders beside each other (one file system).
    keep : callable
        ``keep(final) -> bool``: whether a folder already at ``final`` is whole.
    trash_prefix : str
        Name prefix of the old folder while it is removed (so the owner's sweep finds one a
        killed process left).

    Returns
    -------
    bool
        True if ``temp`` was put in place, False if the folder already there was kept.

    Raises
    ------
    OSError
        If ``temp`` cannot be put in place and no whole folder is there.
    """
    temp, final = Path(temp), Path(final)
    try:
        os.rename(temp, final)
        return True
    except OSError:
        if keep(final):
            shutil.rmtree(temp, ignore_errors=True)
            return False
    trash = final.with_name(f"{trash_prefix}{final.name}-{uuid.uuid4().hex[:8]}")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.rename(final, trash)
        try:
            os.rename(temp, final)
        except OSError:
            if not keep(final):
                raise
            shutil.rmtree(temp, ignore_errors=True)
            return False
        return True
    finally:
        shutil.rmtree(trash, ignore_errors=True)
