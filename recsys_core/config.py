"""Where the product writes at run time: one home, ``RECSYS_HOME``.

Everything written at run time (downloaded datasets, the demo's cache, the model store,
projection and thumbnail caches) lives under :func:`home`. It is the ``RECSYS_HOME``
environment variable when set, else the project's ``data/`` folder. It is read on every call,
so a test can point the whole product at a temporary folder with ``monkeypatch.setenv``.

``RECSYS_DATA_DIRS`` (folders separated by ``os.pathsep``) lists the folders whose files the app
may open when a link names them (:func:`data_dirs`); the command line opens any path.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "RECSYS_HOME"
DATA_DIRS_ENV = "RECSYS_DATA_DIRS"


def home() -> Path:
    """The run-time home folder (created if missing)."""
    path = Path(os.environ.get(ENV_VAR) or PROJECT_ROOT / "data").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(*parts: str) -> Path:
    """A folder under the home (created if missing), e.g. ``subdir("datasets", "demo")``."""
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_dir() -> Path:
    return subdir("datasets")


def models_dir() -> Path:
    return subdir("models")


def cache_dir(*parts: str) -> Path:
    return subdir("cache", *parts)


def data_dirs() -> list[Path]:
    """The folders the operator shares with the app (``RECSYS_DATA_DIRS``), resolved.

    Symlinks in the folder names are followed, so a file is compared with where its folder
    really is; entries that are empty or not existing folders are left out.
    """
    folders: list[Path] = []
    for entry in (os.environ.get(DATA_DIRS_ENV) or "").split(os.pathsep):
        if not entry.strip():
            continue
        try:
            folder = Path(entry.strip()).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if folder.is_dir() and folder not in folders:
            folders.append(folder)
    return folders
