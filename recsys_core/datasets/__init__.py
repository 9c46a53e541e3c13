"""Dataset sources behind one registry.

Each source module registers a :class:`Source`: a name, a one-line description, whether the
data is on disk, how to fetch it and how to load it. ``load_dataset(spec)`` takes a registry name
or a path to a csv / tsv / parquet file of interactions.

Registry datasets and ``@kcore`` cuts are memoised in-process by (spec, options); a file (and an
upload) is parsed once into ``RECSYS_HOME/cache/parsed``, keyed by its content, and every later
load, in any process, reads its arrays back (:mod:`recsys_core.datasets.parsed`); the app adds
Streamlit's cache on top.

``load_dataset`` opens any path: the command line is run by the machine's own user. A spec that
comes from a link (the app's URL) goes through :func:`require_shareable` first, which allows only
registry names, uploads kept under ``RECSYS_HOME``, their ``@kcore=U,I`` cuts, file datasets a
stored model records, and files under the folders listed in ``RECSYS_DATA_DIRS``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..dataset import Dataset
from ..errors import DatasetError
from ..preprocess import kcore
from .progress import Progress
from .tabular import load_file
from .uploads import is_upload, load_upload, source_for


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


def recorded_source(spec: str) -> dict | None:
    """What the model store records to load a dataset spec again: an upload's source (its
    file's path and options, :func:`.uploads.source_for`), cut to the spec's k-core when it has
    one; None for every other spec (the store records those itself)."""
    base, cut = split_spec(spec)
    if not is_upload(base):
        return None
    source = source_for(base)
    if cut is not None:
        source["spec"] = kcore_spec(source["spec"], *cut)
    return source


def _load_kcore(
    spec: str, base: str, minimums: tuple[int, int], *, data_dir, progress, download, options
) -> Dataset:
    key = (
        spec,
        str(config.home()),
        str(data_dir) if data_dir else None,
        tuple(sorted(options.items())),
    )
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
            str(spec),
            base,
            minimums,
            data_dir=data_dir,
            progress=progress,
            download=download,
            options=options,
        )
    if str(spec).startswith("upload:"):
        return load_upload(str(spec))
    if spec not in sources() and is_path_spec(str(spec)):
        return load_file(spec, progress=progress, **options)
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


# --------------------------------------------------------------------- what a link may open
NOT_AVAILABLE = "This link names a dataset that is not available here; pick one in the sidebar."
FILE_SUFFIXES = frozenset({".csv", ".tsv", ".psv", ".txt", ".parquet", ".pq"})
_UPLOAD_KEY = re.compile(r"^upload:[0-9a-f]{12}$")
_MAX_SPEC_CHARS = 4096
_MAX_SHARED_FILES = 500
_MAX_WALKED = 20_000  # names looked at under the data folders before the listing stops


class DatasetNotAvailable(DatasetError):
    """A link names a dataset the app may not open. The message is always :data:`NOT_AVAILABLE`:
    it echoes nothing of the spec (no path, no line of the file, not whether it exists)."""

    def __init__(self) -> None:
        super().__init__(NOT_AVAILABLE)


def sources_of(meta: Any) -> list[dict]:
    """Every dataset source a stored model's meta records: ``dataset_source`` (the one it was
    trained on) first, then its ``reused_sources`` (files of the same content it was reused for,
    :meth:`recsys_core.store.ModelStore.add_sources`). Anything but a dict is left out (the
    caller checks the fields it reads); a meta written before ``reused_sources`` existed gives
    its one source."""
    if not isinstance(meta, dict):
        return []
    more = meta.get("reused_sources")
    found = [meta.get("dataset_source")] + (more if isinstance(more, list) else [])
    return [source for source in found if isinstance(source, dict)]


def recorded_files(entries: Iterable[Any]) -> dict[str, dict]:
    """The file datasets stored models record, with the options they were loaded with.

    Parameters
    ----------
    entries : iterable of ModelEntry
        A store listing, ``ModelStore().list()`` (read by the caller: the store sits above the
        datasets).

    Returns
    -------
    dict
        ``{file spec: options}`` from each model's ``meta["dataset_source"]`` and the
        ``meta["reused_sources"]`` of files with the same content it was reused for
        (:func:`sources_of`; an ``@kcore=`` part removed), newest model
        first; ``options`` is e.g. ``{"items_path": ...}`` (the first recorded non-empty options
        win). Registry names and uploads are left out, and so is any source that does not have
        that shape.
    """
    files: dict[str, dict] = {}
    for entry in entries:
        for source in sources_of(getattr(entry, "meta", None)):
            spec = source.get("spec")
            if not isinstance(spec, str) or not spec or len(spec) > _MAX_SPEC_CHARS:
                continue
            try:
                base, _ = split_spec(spec)
            except DatasetError:
                continue
            if base.startswith("upload:") or not is_path_spec(base) or base in sources():
                continue
            options = source.get("options")
            options = dict(options) if isinstance(options, dict) else {}
            if not files.get(base):
                files[base] = options
    return files


def _under_data_dir(path: Path) -> bool:
    """Whether ``path``, once resolved (symlinks followed), is a data file inside one of the
    folders of ``RECSYS_DATA_DIRS``."""
    try:
        real = path.expanduser().resolve(strict=True)
        if not real.is_file():
            return False
    except (OSError, RuntimeError, ValueError):
        return False
    if real.suffix.lower() not in FILE_SUFFIXES:
        return False
    return any(real.is_relative_to(folder) for folder in config.data_dirs())


def require_shareable(spec: str, *, recorded: Iterable[str]) -> str:
    """``spec`` if a link may open it, else raise :class:`DatasetNotAvailable`.

    Allowed: a registry name; ``upload:<12 hex digits>`` whose folder is under
    ``RECSYS_HOME/uploads``; a file dataset a stored model records (the same string as its
    ``dataset_source.spec``); a file that, resolved with every symlink followed, lies inside a
    folder of ``RECSYS_DATA_DIRS``; and any of these followed by ``@kcore=U,I``. Nothing is read
    before the answer, and every refusal carries the same sentence.

    Parameters
    ----------
    spec : str
        The dataset spec as the link gives it.
    recorded : iterable of str
        The file specs stored models record: ``recorded_files(ModelStore().list())`` (looked at
        only when ``spec`` names a file).

    Returns
    -------
    str
        ``spec`` unchanged (load it with :func:`load_dataset`).
    """
    text = spec if isinstance(spec, str) else ""
    if not text or len(text) > _MAX_SPEC_CHARS or "\x00" in text:
        raise DatasetNotAvailable()
    try:
        base, cut = split_spec(text)
    except DatasetError:
        raise DatasetNotAvailable() from None
    if cut is not None and KCORE_SUFFIX in base:  # a cut of a cut is never made by the app
        raise DatasetNotAvailable()
    if base in sources():
        return text
    if base.startswith("upload:"):
        if _UPLOAD_KEY.match(base) and (config.home() / "uploads" / base[7:]).is_dir():
            return text
        raise DatasetNotAvailable()
    if not is_path_spec(base):
        raise DatasetNotAvailable()
    if base in set(recorded) or _under_data_dir(Path(base)):
        return text
    raise DatasetNotAvailable()


def is_shareable(spec: str, *, recorded: Iterable[str]) -> bool:
    """Whether a link may open ``spec`` (see :func:`require_shareable`)."""
    try:
        require_shareable(spec, recorded=recorded)
    except DatasetNotAvailable:
        return False
    return True


def shared_files(recorded: Iterable[str]) -> list[str]:
    """File datasets a link may open: those stored models record (and that still exist), then
    the data files under the folders of ``RECSYS_DATA_DIRS`` (hidden ones skipped, sorted, at
    most 500, from the first 20,000 names walked).

    Parameters
    ----------
    recorded : iterable of str
        The file specs stored models record (see :func:`require_shareable`).

    Returns
    -------
    list of str
        Specs to pass to :func:`load_dataset`; show them by file name only.
    """
    files = [spec for spec in recorded if Path(spec).is_file()]
    seen = set(files)
    walked = 0
    for folder in config.data_dirs():
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            walked += len(dirs) + len(names)
            if walked > _MAX_WALKED:
                return files
            for name in sorted(names):
                path = Path(root) / name
                if name.startswith(".") or path.suffix.lower() not in FILE_SUFFIXES:
                    continue
                if str(path) in seen or not _under_data_dir(path):
                    continue
                files.append(str(path))
                seen.add(str(path))
                if len(files) >= _MAX_SHARED_FILES:
                    return files
    return files


def file_labels(specs: Iterable[str]) -> dict[str, str]:
    """Short labels of file specs, by file name only: ``{"/srv/data/likes.csv": "likes.csv
    (file)"}``; a name several of them share gets its folder's name too (``"a/likes.csv
    (file)"``)."""
    specs = list(specs)
    counts: dict[str, int] = {}
    for spec in specs:
        counts[Path(spec).name] = counts.get(Path(spec).name, 0) + 1
    labels = {}
    for spec in specs:
        path = Path(spec)
        name = path.name if counts[path.name] == 1 else f"{path.parent.name}/{path.name}"
        labels[spec] = f"{name} (file)"
    return labels


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
    "NOT_AVAILABLE",
    "DatasetNotAvailable",
    "Progress",
    "Source",
    "clear_memo",
    "fetch_dataset",
    "file_labels",
    "get_source",
    "is_shareable",
    "kcore_spec",
    "load_dataset",
    "recorded_files",
    "recorded_source",
    "register",
    "require_shareable",
    "shared_files",
    "sources",
    "sources_of",
    "split_spec",
]
