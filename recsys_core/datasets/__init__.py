"""Dataset sources behind one registry.

Each source module registers a :class:`Source`: a name, a one-line description, whether the
data is on disk, how to fetch it and how to load it. ``load_dataset(spec)`` takes a registry name
or a path to a csv / tsv / parquet file of interactions.

Loaded datasets are memoised in-process by (name, options, file stamps); the app adds Streamlit's
cache on top.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..dataset import Dataset
from ..errors import DatasetError

Progress = Callable[[float, str], None]
"""A progress callback: ``progress(fraction_done, message)``, fraction in [0, 1]."""


@dataclass(frozen=True)
class Source:
    """A registered dataset source.

    ``load(data_dir=None, progress=None, **options) -> Dataset`` reads from ``data_dir`` when
    given (a folder that already holds the raw files, no download), else from the cache under
    ``RECSYS_HOME/datasets/<name>``, downloading first if ``fetch`` is set and the files are absent
    and ``download=True`` is passed. ``is_local()`` says whether it loads without the network.
    """

    name: str
    description: str
    load: Callable[..., Dataset]
    is_local: Callable[[], bool]
    fetch: Callable[..., Path] | None = None
    synthetic: bool = False
    size_hint: str = ""
    options: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, Source] = {}
_MEMO: dict[tuple, Dataset] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 4


def register(source: Source) -> Source:
    _REGISTRY[source.name] = source
    return source


_SOURCE_MODULES = ("demo", "movielens", "sketchfab")
_LOADED = False


def _ensure_loaded() -> None:
    # a flag, not `if _REGISTRY`: importing one source module directly must not hide the others
    global _LOADED
    if _LOADED:
        return
    import importlib

    for module in _SOURCE_MODULES:  # they register themselves; one not written yet is skipped
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{module}":
                raise
    _LOADED = True


def sources() -> dict[str, Source]:
    """Every registered source by name, the demo first."""
    _ensure_loaded()
    return dict(sorted(_REGISTRY.items(), key=lambda entry: entry[0] != "demo"))


def get_source(name: str) -> Source:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise DatasetError(
            f"Unknown dataset {name!r}; use one of {known}, "
            "or a path to a csv, tsv or parquet file."
        ) from None


def is_path_spec(spec: str) -> bool:
    return any(sep in spec for sep in ("/", "\\")) or Path(spec).suffix.lower() in {
        ".csv",
        ".tsv",
        ".psv",
        ".txt",
        ".parquet",
        ".pq",
    }


KCORE_SUFFIX = "@kcore="
_KCORE_SPEC = re.compile(r"^(?P<base>.+)@kcore=(?P<user>\d{1,9}),(?P<item>\d{1,9})$")


def split_spec(spec: str) -> tuple[str, tuple[int, int] | None]:
    """The base spec and the k-core minimums of a thresholded spec like ``"demo@kcore=5,5"``.

    ``"demo"`` gives ``("demo", None)``; ``"demo@kcore=5,10"`` gives ``("demo", (5, 10))``
    (at least 5 interactions per user and 10 per item).

    Raises
    ------
    DatasetError
        If the spec has an ``@kcore=`` part that is not two whole numbers.
    """
    text = str(spec)
    if KCORE_SUFFIX not in text:
        return text, None
    match = _KCORE_SPEC.match(text)
    if match is None:
        base = text.split(KCORE_SUFFIX, 1)[0]
        raise DatasetError(
            f"Dataset spec {text!r} has a malformed k-core part; write it like "
            f"'{base}@kcore=5,5' (minimum interactions per user, then per item)."
        )
    return match["base"], (int(match["user"]), int(match["item"]))


def kcore_spec(base: str, min_user: int, min_item: int) -> str:
    """The spec of ``base`` cut to a k-core: ``kcore_spec("demo", 5, 5) == "demo@kcore=5,5"``."""
    base, _ = split_spec(base)
    return f"{base}{KCORE_SUFFIX}{int(min_user)},{int(min_item)}"


def _load_kcore(
    spec: str, base: str, minimums: tuple[int, int], *, data_dir, progress, download, options
) -> Dataset:
    from ..preprocess import kcore

    key = (spec, str(config.home()), str(data_dir) if data_dir else None,
           tuple(sorted(options.items())))
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    full = load_dataset(base, data_dir=data_dir, progress=progress, download=download, **options)
    smaller, report = kcore(full, *minimums)
    extras = dict(smaller.extras)
    extras.update(source=spec, base_spec=base, kcore=report.as_dict())
    if extras.get("path"):  # how the store reloads it (default_source prefers "path")
        extras["path"] = f"{extras['path']}{KCORE_SUFFIX}{minimums[0]},{minimums[1]}"
    dataset = smaller.replace(
        name=f"{full.name}, k-core {minimums[0]}/{minimums[1]}", extras=extras
    )
    with _MEMO_LOCK:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = dataset
    return dataset


def load_dataset(
    spec: str = "demo",
    *,
    data_dir: str | Path | None = None,
    progress: Progress | None = None,
    download: bool = False,
    **options: Any,
) -> Dataset:
    """Load a dataset by registry name or file path.

    Parameters
    ----------
    spec : str
        ``"demo"``, ``"sketchfab"``, ``"movielens-100k"`` ... or a path to an interactions file;
        any of these followed by ``@kcore=U,I`` is that dataset thresholded with
        :func:`recsys_core.preprocess.kcore` (at least U interactions per user and I per item),
        e.g. ``"demo@kcore=5,5"``. Its fingerprint is its own, so models are per thresholded
        dataset; a threshold that leaves nothing raises DatasetError.
    data_dir : path, optional
        A folder that already holds the source's raw files (nothing is downloaded).
    progress : callable, optional
        ``progress(fraction, message)`` for downloads and long reads.
    download : bool
        Fetch a missing remote dataset first (otherwise a missing dataset is an error that says
        how to fetch it).
    **options
        Source options, e.g. ``min_rating=4`` for MovieLens, ``items_path=...`` for files.
    """
    base, minimums = split_spec(str(spec))
    if minimums is not None:
        return _load_kcore(
            str(spec), base, minimums,
            data_dir=data_dir, progress=progress, download=download, options=options,
        )
    if str(spec).startswith("upload:"):
        from ..uploads import load_upload

        return load_upload(str(spec))
    if spec not in sources() and is_path_spec(str(spec)):
        from . import tabular

        return tabular.load_file(spec, progress=progress, **options)
    source = get_source(spec)
    key = (
        spec,
        str(config.home()),
        str(data_dir) if data_dir else None,
        tuple(sorted(options.items())),
    )
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    dataset = source.load(data_dir=data_dir, progress=progress, download=download, **options)
    with _MEMO_LOCK:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = dataset
    return dataset


def clear_memo() -> None:
    with _MEMO_LOCK:
        _MEMO.clear()


def fetch_dataset(name: str, *, progress: Progress | None = None) -> Path:
    """Download a remote dataset's raw files into ``RECSYS_HOME/datasets/<name>``."""
    source = get_source(name)
    if source.fetch is None:
        raise DatasetError(f"{name} is generated locally; there is nothing to download.")
    return source.fetch(progress=progress)


__all__ = [
    "Progress",
    "Source",
    "clear_memo",
    "fetch_dataset",
    "get_source",
    "kcore_spec",
    "load_dataset",
    "register",
    "sources",
    "split_spec",
]
