"""Downloads that leave nothing half-written, and zip extraction that stays inside its folder.

:func:`download` streams a URL to a temporary file next to the destination, reports progress,
checks the size and (when known) the MD5 checksum, then renames the file into place
(:func:`recsys_core.util.files.atomic_write`). Any failure
(timeout, HTTP error, truncated body, bad checksum, interruption) deletes the temporary file and
raises :class:`~recsys_core.errors.DownloadError` with one sentence. :func:`extract_zip` refuses
archives that are not zips, fail their CRC check, or hold paths that would land outside the
destination folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import requests

from ..errors import DownloadError
from ..util.files import atomic_write
from .progress import Progress

DEFAULT_TIMEOUT = (5.0, 30.0)


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:,.1f} MB"


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 160 else text[:157] + "..."


def download(
    url: str,
    dest: str | Path,
    *,
    progress: Progress | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    expected_size: int | None = None,
    md5: str | None = None,
    chunk: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``dest`` atomically.

    Parameters
    ----------
    url : str
        An http(s) URL.
    dest : path
        Where the file ends up; its folder is created if missing. An existing file is replaced
        only once the new one is complete and verified.
    progress : callable, optional
        ``progress(fraction, message)``; fraction is 0 until the size is known.
    timeout : (float, float)
        Connect and read timeouts in seconds (the read timeout applies to each chunk).
    expected_size : int, optional
        Size in bytes the file must have.
    md5 : str, optional
        Hex MD5 digest the file must have.
    chunk : int
        Bytes per read.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        On a timeout, a connection error, an HTTP error status, a body shorter than announced,
        a size or checksum mismatch. The temporary file is deleted and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def fetch(temp: Path) -> None:
        _download_to(temp, url, progress, timeout, expected_size, md5, chunk)

    atomic_write(dest, fetch, fsync=True)
    if progress is not None:
        progress(1.0, f"{_mb(dest.stat().st_size)} done")
    return dest


def _download_to(
    temp: Path,
    url: str,
    progress: Progress | None,
    timeout: tuple[float, float],
    expected_size: int | None,
    md5: str | None,
    chunk: int,
) -> None:
    """Stream ``url`` into ``temp``, then check its size and checksum."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(temp, "wb") as handle, _get(url, timeout) as response:
        received = _stream(response, handle, digest, url, progress, timeout, expected_size, chunk)
    if expected_size is not None and received != expected_size:
        raise DownloadError(
            f"{url} gave {received:,} bytes but {expected_size:,} were expected; the file "
            "may have changed upstream or been cut off, so run fetch again."
        )
    if md5 is not None and digest.hexdigest() != md5.lower():
        raise DownloadError(
            f"{url} failed its checksum (md5 {digest.hexdigest()}, expected {md5.lower()}); "
            "the download is corrupt or the file changed upstream, so run fetch again."
        )


def _get(url: str, timeout: tuple[float, float]) -> requests.Response:
    """The streamed response to ``url``; DownloadError for a timeout, no connection or an HTTP
    error status."""
    try:
        response = requests.get(url, stream=True, timeout=timeout)
    except requests.Timeout as error:
        raise DownloadError(
            f"Downloading {url} timed out after {timeout[0]:g} s connect / "
            f"{timeout[1]:g} s read; check your connection and run fetch again."
        ) from error
    except requests.RequestException as error:
        raise DownloadError(
            f"Could not connect to {url} ({_short(error)}); check your connection and "
            "run fetch again."
        ) from error
    if response.status_code >= 400:
        response.close()
        raise DownloadError(
            f"Downloading {url} failed with HTTP {response.status_code} "
            f"{response.reason or ''}".rstrip()
            + "; check the address or try again later."
        )
    return response


def _stream(
    response: requests.Response,
    handle: BinaryIO,
    digest: Any,
    url: str,
    progress: Progress | None,
    timeout: tuple[float, float],
    expected_size: int | None,
    chunk: int,
) -> int:
    """Write the body to ``handle`` (and ``digest``), reporting progress; the bytes received.

    Raises DownloadError when the body stalls, is cut off, or is shorter than announced.
    """
    announced = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity") != "identity"
    total = int(announced) if announced and announced.isdigit() else None
    if encoded:  # the announced length counts compressed bytes
        total = None
    if total is None:
        total = expected_size
    if progress is not None:
        progress(0.0, f"0 / {_mb(total)}" if total else "starting")
    received = 0
    try:
        for block in response.iter_content(chunk_size=chunk):
            if not block:
                continue
            handle.write(block)
            digest.update(block)
            received += len(block)
            if progress is not None:
                if total:
                    fraction = min(received / total, 1.0)
                    progress(fraction, f"{_mb(received)} / {_mb(total)}")
                else:
                    progress(0.0, _mb(received))
    except requests.RequestException as error:
        if isinstance(error, requests.Timeout) or "timed out" in str(error).lower():
            raise DownloadError(
                f"Downloading {url} stalled for more than {timeout[1]:g} s after "
                f"{_mb(received)}; run fetch again."
            ) from error
        raise DownloadError(
            f"The download of {url} was cut off after {_mb(received)}"
            + (f" of {_mb(total)}" if total else "")
            + "; run fetch again."
        ) from error
    if announced and announced.isdigit() and not encoded and received != int(announced):
        raise DownloadError(
            f"The download of {url} was cut off after {received:,} of "
            f"{int(announced):,} bytes; run fetch again."
        )
    return received


def _member_target(root: Path, name: str) -> Path | None:
    """Where a member lands under ``root``, or None for a directory entry; raises if unsafe."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise DownloadError(
            f"The archive member {name!r} would be written outside the destination folder; "
            "the zip is unsafe, so delete it and fetch it again from the original source."
        )
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts:
        return None
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise DownloadError(
            f"The archive member {name!r} would be written outside the destination folder; "
            "the zip is unsafe, so delete it and fetch it again from the original source."
        )
    return target


def extract_zip(zip_path: str | Path, dest_dir: str | Path) -> Path:
    """Extract a zip archive into ``dest_dir``, all or nothing.

    Members are extracted into a temporary folder beside ``dest_dir`` and moved into place only
    once every member is out and its CRC checked; top-level entries already in ``dest_dir``
    with the same names are replaced. Symbolic links in the archive are refused.

    Parameters
    ----------
    zip_path : path
        The archive.
    dest_dir : path
        The folder to extract into (created if missing).

    Returns
    -------
    Path
        ``dest_dir``.

    Raises
    ------
    DownloadError
        If the file is not a zip, is damaged, or holds a member whose path is absolute, climbs
        out with ``..`` or is a link.
    """
    zip_path = Path(zip_path)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if not zipfile.is_zipfile(zip_path):
        raise DownloadError(
            f"{zip_path.name} is not a zip archive (the download is damaged or the server sent "
            "something else); delete it and fetch again."
        )
    staging = Path(tempfile.mkdtemp(dir=dest_dir.parent, prefix=f".{dest_dir.name}.unzip."))
    try:
        try:
            with zipfile.ZipFile(zip_path) as archive:
                for info in archive.infolist():
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        raise DownloadError(
                            f"The archive member {info.filename!r} is a symbolic link; the zip "
                            "is unsafe, so delete it and fetch it again from the original source."
                        )
                    target = _member_target(staging, info.filename)
                    if target is None or info.is_dir():
                        if target is not None:
                            target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    # ZipExtFile checks the CRC when the member has been read to the end.
                    with archive.open(info) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink, 1 << 20)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
            raise DownloadError(
                f"{zip_path.name} is damaged ({_short(error)}); delete it and fetch again."
            ) from error
        for entry in staging.iterdir():
            final = dest_dir / entry.name
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            elif final.exists() or final.is_symlink():
                final.unlink()
            os.replace(entry, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest_dir


__all__ = ["DEFAULT_TIMEOUT", "download", "extract_zip"]
