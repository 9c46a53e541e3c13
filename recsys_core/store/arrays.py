"""``arrays.npz``: a model's arrays, written with ``np.savez`` and read back member by member.

Reading never unpickles and never trusts the file: only plain numeric ``.npy`` members stored
uncompressed (what ``np.savez`` writes), each exactly as long as its header says, so the memory
taken is bounded by the file's size. What is wrong comes back as :class:`Damaged`, one clause.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..algorithms.stored import describe_dtype

ARRAYS = "arrays.npz"


class Damaged(Exception):
    """What is wrong with a stored file (a clause: "arrays.npz is truncated ...")."""


def check_numeric(name: str, arrays: dict[str, Any]) -> None:
    """TypeError unless every array of ``name``'s ``to_arrays()`` holds plain numbers."""
    for key, value in arrays.items():
        dtype = np.asarray(value).dtype
        if dtype.kind not in "biuf" or dtype.fields is not None:
            kind = "an object" if dtype.hasobject else f"a {dtype}"
            raise TypeError(
                f"{name}.to_arrays()[{key!r}] is {kind} array; the store never "
                "pickles and reads numbers only, so return numeric arrays."
            )


def write_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """``np.savez`` of ``arrays`` into ``path``, flushed to disk (``path`` is in a folder being
    written, which is renamed into place once whole)."""
    with open(path, "wb") as handle:
        np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})
        handle.flush()
        os.fsync(handle.fileno())


def read_npz(path: Path, *, data: bool) -> dict[str, Any]:
    """The arrays of an ``arrays.npz`` (with ``data=False`` only ``(dtype, shape)`` of each).

    Read member by member without ``np.load``: only plain numeric ``.npy`` members stored
    uncompressed (what ``np.savez`` writes), each exactly as long as its header says, so no
    object is unpickled and the memory taken is bounded by the file's size.

    Raises
    ------
    Damaged
        Missing, empty, truncated, not a zip of arrays, compressed, an object / text / record
        array, a header that does not match the data, or a bad checksum.
    """
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if not infos:
                raise Damaged(f"{ARRAYS} is empty")
            if sum(info.compress_size for info in infos) > size:
                raise Damaged(f"{ARRAYS} is truncated")
            found = {}
            for info in infos:
                if info.is_dir() or not info.filename.endswith(".npy"):
                    raise Damaged(f"{ARRAYS} holds something other than arrays")
                if info.compress_type != zipfile.ZIP_STORED:
                    raise Damaged(f"{ARRAYS} is compressed, which the store never writes")
                if info.file_size != info.compress_size:
                    raise Damaged(f"{ARRAYS} is truncated or not an npz archive")
                with archive.open(info) as handle:
                    found[info.filename[:-4]] = _read_member(handle, info.file_size, data)
            return found
    except FileNotFoundError:
        raise Damaged(f"{ARRAYS} is missing") from None
    except Damaged:
        raise
    except zipfile.BadZipFile as error:
        if "CRC" in str(error):
            raise Damaged(f"{ARRAYS} fails its checksum (it changed on disk)") from None
        raise Damaged(f"{ARRAYS} is truncated or not an npz archive") from None
    except (
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        RuntimeError,
        NotImplementedError,
        OverflowError,
        MemoryError,
    ):
        raise Damaged(f"{ARRAYS} is truncated or not an npz archive") from None


def _read_member(handle: Any, size: int, data: bool) -> Any:
    """One ``.npy`` member: its array, or ``(dtype, shape)`` when not ``data``."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise Damaged(f"{ARRAYS} holds an array in a format this version does not read")
    except (ValueError, TypeError, SyntaxError):
        raise Damaged(f"{ARRAYS} holds an array whose header is unreadable") from None
    if dtype.hasobject:
        raise Damaged(f"{ARRAYS} holds an object array, which the store refuses to unpickle")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise Damaged(f"{ARRAYS} holds an array of {describe_dtype(dtype)}, not numbers")
    count = math.prod(shape)
    if min(shape, default=0) < 0 or handle.tell() + count * dtype.itemsize != size:
        raise Damaged(f"{ARRAYS} holds an array whose size does not match its header")
    if not data:
        return dtype, tuple(shape)
    flat = np.empty(count, dtype=dtype)
    buffer = memoryview(flat).cast("B")
    filled = 0
    while filled < len(buffer):
        got = handle.readinto(buffer[filled:])
        if not got:
            raise Damaged(f"{ARRAYS} is truncated")
        filled += got
    handle.read(1)  # at the end of the member: zipfile checks the CRC
    return flat.reshape(shape, order="F" if fortran else "C")


def arrays_bytes(headers: dict[str, tuple[np.dtype, tuple[int, ...]]]) -> int:
    """The bytes the arrays described by :func:`read_npz` ``(data=False)`` take in memory."""
    return sum(dtype.itemsize * math.prod(shape) for dtype, shape in headers.values())
