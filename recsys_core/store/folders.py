"""Model folders: ids, temporary and parked names, atomic placement and recovery.

A model lives in ``<root>/<model_id>``; it is written as ``.tmp-<model_id>-<8 hex>`` and put in
place by :func:`move_into_place` (one rename, or one exchange of two folders where Linux offers
``renameat2(RENAME_EXCHANGE)``; elsewhere the old folder is parked as
``.tmp-old-<model_id>-<8 hex>`` until the new one is in place). :func:`settle` puts back a parked
copy whose model is missing, so a kill at any moment leaves the old model or the new one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..util.jsonsafe import json_default
from .locks import file_lock

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")
"""What a model id looks like (and so what a model folder is called)."""
TMP_PREFIX = ".tmp-"
"""The name prefix of folders being written, parked or removed (a listing skips them)."""
LOCK_DIR = ".locks"
PARKED = re.compile(r"^\.tmp-old-(?P<model_id>.+)-[0-9a-f]{8}$")
"""The name of an old copy parked by a replace that has not finished."""
STALE_TMP_SECONDS = 3600.0
"""A temporary folder older than this (an hour) was left by a crashed writer."""
RECOVERY_WAIT_SECONDS = 2.0
"""How long a reader waits for a model's lock to put back a parked copy."""


def model_id_for(
    fingerprint: str, algorithm: str, params: dict[str, Any], variant: str | None = None
) -> str:
    """The store key of a model: ``"<algorithm>-<12 hex digits>"``, e.g. ``"als-1a2b3c4d5e6f"``.

    Parameters
    ----------
    fingerprint : str
        The dataset's content fingerprint (``Dataset.fingerprint``).
    algorithm : str
        Registry key.
    params : dict
        Full parameter values (``get_params()``); serialised as sorted JSON, so key order and
        ``1`` vs ``1.0`` for a float parameter validated the same way give the same id.
    variant : str, optional
        Anything else that changes the trained model for the same dataset (for example the train
        part of a split: ``"split=user-holdout:0.2:seed=0"``); None for the whole dataset.
    """
    payload = json.dumps(
        {"fingerprint": fingerprint, "algorithm": algorithm, "params": params, "variant": variant},
        sort_keys=True,
        separators=(",", ":"),
        default=json_default,
    )
    digest = hashlib.blake2b(payload.encode("utf-8"), digest_size=6).hexdigest()
    return f"{algorithm}-{digest}"


def check_id(model_id: str) -> None:
    """StoreError unless ``model_id`` looks like a model id."""
    if not ID_PATTERN.match(str(model_id)):
        raise StoreError(
            f"{model_id!r} is not a model id; ids look like 'als-1a2b3c4d5e6f' "
            "(see `python -m recsys_core models`)."
        )


def temporary_folder(root: Path, model_id: str, kind: str = "") -> Path:
    """A new name in ``root`` for a folder of ``model_id`` being written (``kind`` ``""``),
    parked (``"old-"``) or removed (``"del-"``)."""
    return root / f"{TMP_PREFIX}{kind}{model_id}-{uuid.uuid4().hex[:8]}"


def lock_path(root: Path, model_id: str) -> Path:
    """The file whose flock guards writes of ``model_id`` (its folder is created)."""
    folder = root / LOCK_DIR
    folder.mkdir(exist_ok=True)
    return folder / f"{model_id}.lock"


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (where the filesystem allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:  # some filesystems refuse fsync on folders
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def remove_path(path: Path) -> None:
    """Remove a folder (or a file, or a symlink) if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def partial_folders(root: Path, model_id: str) -> list[Path]:
    """Folders of ``model_id`` being written, or left half-written by a killed writer (remove
    them only under the model's lock, so a live writer's folder is never touched)."""
    pattern = re.compile(rf"^{re.escape(TMP_PREFIX)}{re.escape(model_id)}-[0-9a-f]{{8}}$")
    try:
        return [root / name for name in os.listdir(root) if pattern.match(name)]
    except OSError:
        return []


def sweep_stale(path: Path) -> None:
    """Remove a temporary folder left by a crashed writer (older than an hour)."""
    try:
        if time.time() - path.stat().st_mtime > STALE_TMP_SECONDS:
            remove_path(path)
    except OSError:
        pass


# ------------------------------------------------------------------------- placing a folder
def move_into_place(tmp: Path, target: Path) -> None:
    """Put the folder ``tmp`` at ``target`` (the caller holds the model's lock), so that a kill
    at any moment leaves the old folder or the new one there.

    A new model is one rename. A replacement is one exchange of the two folders where the
    filesystem offers it; elsewhere the old folder is parked (``.tmp-old-<id>-*``) before
    the new one is renamed in, and :func:`settle` puts it back if that never happens.
    """
    root = target.parent
    if not (target.exists() or target.is_symlink()):
        try:
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(root)
        return
    try:
        swapped = _exchange(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if swapped:  # tmp now holds the old folder
        fsync_dir(root)
        remove_path(tmp)
        return
    old = temporary_folder(root, target.name, "old-")
    try:
        _park(target, old)
        _place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.exists() and old.exists():
            os.rename(old, target)
        raise
    fsync_dir(root)
    remove_path(old)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_RENAMEAT2: list = []  # [the libc function or None], looked up once


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False, having changed nothing, where the system or the filesystem lacks it.
    """
    if not _RENAMEAT2:
        function = None
        with contextlib.suppress(OSError, AttributeError, TypeError):
            function = ctypes.CDLL(None, use_errno=True).renameat2
            function.argtypes = [
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_uint,
            ]
            function.restype = ctypes.c_int
        _RENAMEAT2.append(function)
    function = _RENAMEAT2[0]
    if function is None:
        return False
    result = function(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(first))


def _park(target: Path, parked: Path) -> None:
    """Move the old folder aside (the fallback replace's first rename)."""
    os.rename(target, parked)


def _place(folder: Path, target: Path) -> None:
    """Move the new folder into place (the fallback replace's second rename)."""
    os.rename(folder, target)


# ------------------------------------------------------------------------ parked copies
def parked_copies(root: Path, model_id: str) -> list[Path]:
    """Old copies of ``model_id`` parked by an interrupted replace (usually none)."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    found = []
    for name in names:
        match = PARKED.match(name)
        if match and match["model_id"] == model_id:
            found.append(root / name)
    return sorted(found)


def parked_ids(names: list[str]) -> set[str]:
    """The model ids that have a parked copy among the folder names ``names``."""
    found = {match["model_id"] for match in map(PARKED.match, names) if match}
    return {model_id for model_id in found if ID_PATTERN.match(model_id)}


def settle(root: Path, model_id: str) -> None:
    """Put a parked copy back if ``model_id``'s folder is missing, and remove parked copies
    no longer needed (the caller holds the lock)."""
    parked = parked_copies(root, model_id)
    if not parked:
        return
    target = root / model_id
    if not target.exists():
        with contextlib.suppress(OSError):
            os.rename(parked.pop(), target)
            fsync_dir(root)
    for path in parked:
        remove_path(path)


def recover(root: Path, model_id: str, wait: float) -> None:
    """Settle ``model_id``'s parked copies if its lock comes free within ``wait`` seconds
    (a live writer holding it settles them itself)."""
    try:
        with file_lock(lock_path(root, model_id), timeout=wait) as held:
            if held:
                settle(root, model_id)
    except OSError:
        pass  # a read-only store: nothing to repair, the listing carries on
