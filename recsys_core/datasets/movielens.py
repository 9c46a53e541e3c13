"""The MovieLens ratings from GroupLens: 100k, latest-small, 1m, 20m and 25m.

Three file formats, read from the extracted folder or straight from the zip:

- ml-100k: ``u.data`` (tab-separated user, item, rating, timestamp), ``u.item`` (``|``-separated,
  latin-1, 19 genre flags named by ``u.genre``) and the predefined splits ``ua``, ``ub``,
  ``u1``..``u5`` (``*.base`` / ``*.test``);
- ml-latest-small, ml-20m, ml-25m: ``ratings.csv``, ``movies.csv`` (``|``-separated genres) and
  ``tags.csv`` (user tags);
- ml-1m: ``ratings.dat`` and ``movies.dat``, ``::``-separated, latin-1.

Ratings are kept as ``Dataset.ratings``; the implicit matrix holds one entry of weight 1 per rated
pair, or per pair rated at least ``min_rating``. Titles are names, genres the category (first) and
tags (all genres, then user tags by frequency).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from .. import config
from ..dataset import Dataset
from ..errors import DatasetError, DownloadError
from ..util.ids import MISSING, positions
from . import Source, register
from .download import download as download_file
from .download import extract_zip
from .progress import Progress
from .tabular.build import build_dataset

BASE_URL = "https://files.grouplens.org/datasets/movielens/"
MOVIE_URL = "https://movielens.org/movies/{id}"
NO_GENRE = "(no genres listed)"
SPLITS_100K = ("ua", "ub", "u1", "u2", "u3", "u4", "u5")


@dataclass(frozen=True)
class Variant:
    """One MovieLens release: registry name, archive, format and checksum."""

    name: str
    folder: str
    kind: str  # "100k" | "csv" | "dat"
    md5: str | None
    movielens_ids: bool
    description: str
    size_hint: str

    @property
    def zip_name(self) -> str:
        return f"{self.folder}.zip"

    @property
    def marker(self) -> str:
        return {"100k": "u.data", "csv": "ratings.csv", "dat": "ratings.dat"}[self.kind]


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "movielens-100k",
            "ml-100k",
            "100k",
            "0e33842e24a9c977be4e0107933c0723",
            False,
            "MovieLens 100k ratings (GroupLens, 1998) with predefined splits ua, ub, u1-u5",
            "5 MB zip, 943 users x 1,682 movies x 100,000 ratings",
        ),
        Variant(
            "movielens-latest-small",
            "ml-latest-small",
            "csv",
            None,
            True,
            "MovieLens latest-small ratings and tags (GroupLens, updated periodically)",
            "1 MB zip, 610 users x 9,724 movies x 100,836 ratings",
        ),
        Variant(
            "movielens-1m",
            "ml-1m",
            "dat",
            "c4d9eecfca2ab87c1945afe126590906",
            False,
            "MovieLens 1M ratings (GroupLens, 2003)",
            "6 MB zip, 6,040 users x 3,706 movies x 1,000,209 ratings",
        ),
        Variant(
            "movielens-20m",
            "ml-20m",
            "csv",
            "cd245b17a1ae2cc31bb14903e1204af3",
            True,
            "MovieLens 20M ratings and tags (GroupLens, 2015)",
            "190 MB zip, 138k users x 27k movies x 20M ratings",
        ),
        Variant(
            "movielens-25m",
            "ml-25m",
            "csv",
            "6b51fb2759a8657d3bfcbfc42b592ada",
            True,
            "MovieLens 25M ratings and tags (GroupLens, 2019)",
            "250 MB zip, 162k users x 59k movies x 25M ratings",
        ),
    )
}
"""The releases by registry name (MD5s as published by GroupLens; latest-small changes, so none)."""


def url_for(variant: Variant) -> str:
    return BASE_URL + variant.zip_name


def folder(name: str) -> Path:
    """Where ``fetch`` puts a release: ``RECSYS_HOME/datasets/<name>``."""
    return config.datasets_dir() / name


# ---------------------------------------------------------------------- finding the files
class _Files:
    """The files of one release, in a folder or inside a zip."""

    def __init__(self, root: Path, archive: Path | None = None, prefix: str = "") -> None:
        self.root = root
        self.archive = archive
        self.prefix = prefix
        self._names: set[str] | None = None

    def __repr__(self) -> str:
        return f"{self.archive}:{self.prefix}" if self.archive else str(self.root)

    def exists(self, name: str) -> bool:
        if self.archive is None:
            return (self.root / name).is_file()
        if self._names is None:
            with zipfile.ZipFile(self.archive) as archive:
                self._names = set(archive.namelist())
        return self.prefix + name in self._names

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self.archive is None:
            with open(self.root / name, "rb") as handle:
                yield handle
            return
        with zipfile.ZipFile(self.archive) as archive, archive.open(self.prefix + name) as handle:
            yield handle

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()


def _in_zip(path: Path, marker: str) -> _Files | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        raise DatasetError(
            f"{path} is not a readable zip archive; delete it and run fetch again, or unzip it "
            "yourself and pass the folder."
        ) from None
    hits = sorted((n for n in names if PurePosixPath(n).name == marker), key=len)
    if not hits:
        return None
    prefix = hits[0][: -len(marker)]
    return _Files(path.parent, archive=path, prefix=prefix)


def locate(root: Path, variant: Variant) -> _Files | None:
    """The release's files under ``root``: the folder itself, its ``ml-*`` subfolder, any
    subfolder holding the ratings file, the release's zip, or ``root`` being the zip."""
    marker = variant.marker
    if root.is_file() and root.suffix.lower() == ".zip":
        return _in_zip(root, marker)
    if not root.is_dir():
        return None
    for candidate in (root, root / variant.folder):
        if (candidate / marker).is_file():
            return _Files(candidate)
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if (child / marker).is_file():
            return _Files(child)
    archive = root / variant.zip_name
    if archive.is_file():
        return _in_zip(archive, marker)
    return None


# ---------------------------------------------------------------------- readers
def _read_table(
    data: bytes | IO[bytes],
    *,
    sep: str,
    names: list[str] | None,
    types: dict[str, pa.DataType],
    encoding: str = "utf8",
    quoted: bool = True,
    source: str = "",
) -> pa.Table:
    source_stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        return pa_csv.read_csv(
            source_stream,
            read_options=pa_csv.ReadOptions(
                column_names=names, encoding=encoding, block_size=8 << 20
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=sep, quote_char='"' if quoted else False, newlines_in_values=quoted
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, KeyError) as error:
        raise DatasetError(
            f"{source} is not in the MovieLens format ({str(error)[:100]}); fetch it again."
        ) from None


RATING_TYPES = {  # whole-number ids: 4 bytes a row instead of a string (25M rows in ml-25m)
    "user": pa.int32(),
    "item": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.float64(),
}


def _dat(files: _Files, name: str) -> bytes:
    # pyarrow splits on one character: turn "::" into the unit separator (absent from the data)
    return files.read_bytes(name).replace(b"::", b"\x1f")


def _read_ratings(files: _Files, variant: Variant, name: str | None = None) -> pa.Table:
    kind = variant.kind
    if kind == "100k":
        name = name or "u.data"
        with files.open(name) as handle:
            return _read_table(
                handle,
                sep="\t",
                names=list(RATING_TYPES),
                types=RATING_TYPES,
                quoted=False,
                source=name,
            )
    if kind == "dat":
        return _read_table(
            _dat(files, "ratings.dat"),
            sep="\x1f",
            names=list(RATING_TYPES),
            types=RATING_TYPES,
            quoted=False,
            source="ratings.dat",
        )
    with files.open("ratings.csv") as handle:
        table = _read_table(
            handle,
            sep=",",
            names=None,
            types={
                "userId": pa.int32(),
                "movieId": pa.int32(),
                "rating": pa.float32(),
                "timestamp": pa.float64(),
            },
            source="ratings.csv",
        )
    return table.rename_columns(list(RATING_TYPES))


def _split_genres(text: str) -> list[str]:
    return [g for g in str(text).split("|") if g and g != NO_GENRE]


def _read_movies(files: _Files, variant: Variant) -> pd.DataFrame:
    """``item_id``, ``name``, ``genres`` (list) for every movie listed."""
    if variant.kind == "100k":
        genre_names: list[str] = []
        if files.exists("u.genre"):
            for line in files.read_bytes("u.genre").decode("latin-1").splitlines():
                if "|" in line:
                    label, index = line.rsplit("|", 1)
                    if index.strip().isdigit():
                        genre_names.append((int(index), label))  # type: ignore[arg-type]
            genre_names = [label for _, label in sorted(genre_names)]  # type: ignore[misc]
        if len(genre_names) != 19:
            genre_names = [f"genre {i}" for i in range(19)]
        names = ["item_id", "name", "release_date", "video_release_date", "imdb_url"] + [
            f"g{i}" for i in range(19)
        ]
        with files.open("u.item") as handle:
            table = _read_table(
                handle,
                sep="|",
                names=names,
                types={n: pa.string() for n in names},
                encoding="latin-1",
                quoted=False,
                source="u.item",
            )
        frame = table.to_pandas()
        flags = frame[[f"g{i}" for i in range(19)]].to_numpy() == "1"
        genres = [
            [genre_names[j] for j in np.flatnonzero(row) if genre_names[j] != "unknown"]
            for row in flags
        ]
        return pd.DataFrame(
            {"item_id": frame["item_id"].str.strip(), "name": frame["name"], "genres": genres}
        )
    if variant.kind == "dat":
        table = _read_table(
            _dat(files, "movies.dat"),
            sep="\x1f",
            names=["item_id", "name", "genres"],
            types={"item_id": pa.string(), "name": pa.string(), "genres": pa.string()},
            encoding="latin-1",
            quoted=False,
            source="movies.dat",
        )
    else:
        with files.open("movies.csv") as handle:
            table = _read_table(
                handle,
                sep=",",
                names=None,
                types={"movieId": pa.string(), "title": pa.string(), "genres": pa.string()},
                source="movies.csv",
            )
        table = table.rename_columns(["item_id", "name", "genres"])
    frame = table.to_pandas()
    return pd.DataFrame(
        {
            "item_id": frame["item_id"].str.strip(),
            "name": frame["name"],
            "genres": [_split_genres(g) for g in frame["genres"]],
        }
    )


def _read_user_tags(files: _Files) -> dict[str, list[str]]:
    """Per movie, its distinct user tags (case-insensitive), most used first."""
    if not files.exists("tags.csv"):
        return {}
    with files.open("tags.csv") as handle:
        table = _read_table(
            handle,
            sep=",",
            names=None,
            types={"movieId": pa.string(), "tag": pa.string()},
            source="tags.csv",
        )
    tags = table.to_pandas()
    tags.columns = ["item_id", "tag"]
    tags["tag"] = tags["tag"].str.strip()
    tags = tags[tags["tag"] != ""]
    tags["key"] = tags["tag"].str.lower()
    counts = (
        tags.groupby(["item_id", "key"], sort=False)
        .agg(tag=("tag", "first"), n=("tag", "size"))
        .reset_index()
        .sort_values(["item_id", "n"], ascending=[True, False], kind="stable")
    )
    return counts.groupby("item_id", sort=False)["tag"].agg(list).to_dict()


def _items(files: _Files, variant: Variant) -> pd.DataFrame:
    movies = _read_movies(files, variant)
    user_tags = _read_user_tags(files) if variant.kind == "csv" else {}
    movies["category"] = [g[0] if g else "" for g in movies["genres"]]
    tags = []
    for item_id, genres in zip(movies["item_id"], movies["genres"]):
        seen = {g.lower() for g in genres}
        extra = [t for t in user_tags.get(item_id, []) if t.lower() not in seen]
        tags.append(list(genres) + extra)
    movies["tags"] = tags
    if variant.movielens_ids:
        movies["url"] = [MOVIE_URL.format(id=i) for i in movies["item_id"]]
    else:
        movies["url"] = ""
    movies["image_url"] = ""
    return movies[["item_id", "name", "url", "image_url", "category", "tags", "genres"]]


def _predefined_splits(files: _Files, variant: Variant, dataset: Dataset) -> dict:
    """ml-100k's splits as sorted int64 linear keys (user_index * n_items + item_index) of the
    test pairs that are in the implicit matrix."""
    matrix = dataset.interactions
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    present = rows * dataset.n_items + matrix.indices
    user_ids = dataset.user_ids
    item_ids = dataset.item_ids
    splits = {}
    for split in SPLITS_100K:
        if not files.exists(f"{split}.test"):
            continue
        table = _read_ratings(files, variant, name=f"{split}.test")
        users = np.asarray(table.column("user").to_numpy(zero_copy_only=False), dtype=str)
        items = np.asarray(table.column("item").to_numpy(zero_copy_only=False), dtype=str)
        u = positions(user_ids, np.char.strip(users))
        i = positions(item_ids, np.char.strip(items))
        known = (u != MISSING) & (i != MISSING)
        keys = np.unique(u[known].astype(np.int64) * dataset.n_items + i[known])
        splits[split] = keys[np.isin(keys, present)]
    return splits


# ---------------------------------------------------------------------- fetch and load
def fetch_variant(name: str, progress: Progress | None = None) -> Path:
    """Download and unzip one release into :func:`folder`; the zip is removed afterwards."""
    variant = VARIANTS[name]
    target = folder(name)
    target.mkdir(parents=True, exist_ok=True)
    archive = target / variant.zip_name
    download_file(url_for(variant), archive, progress=progress, md5=variant.md5)
    try:
        extract_zip(archive, target)
    except DownloadError:
        archive.unlink(missing_ok=True)
        raise
    archive.unlink(missing_ok=True)
    if locate(target, variant) is None:
        raise DownloadError(
            f"{variant.zip_name} holds no {variant.marker}; the archive is not the MovieLens "
            "release expected, so report it or pass --data-dir."
        )
    return target


def load_variant(
    name: str,
    data_dir: str | Path | None = None,
    progress: Progress | None = None,
    download: bool = False,
    **options: Any,
) -> Dataset:
    """Load one release (see the module docstring). ``min_rating`` is the only option."""
    variant = VARIANTS[name]
    unknown = sorted(set(options) - {"min_rating"})
    if unknown:
        raise DatasetError(
            f"{name} has no option(s) {', '.join(map(repr, unknown))}; it takes min_rating."
        )
    min_rating = options.get("min_rating")
    report = progress or (lambda fraction, message: None)
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        files = locate(root, variant)
        if files is None:
            raise DatasetError(
                f"There is no {variant.marker} (or {variant.zip_name}) in {root}; point "
                f"--data-dir at the folder holding the {variant.folder} files."
            )
    else:
        files = locate(folder(name), variant)
        if files is None:
            if not download:
                raise DatasetError(
                    f"{name} is not downloaded yet; run `python -m recsys_core fetch {name}` or "
                    f"pass --data-dir with a folder holding the {variant.folder} files."
                )
            fetch_variant(name, progress=lambda f, m: report(0.5 * f, m))
            files = locate(folder(name), variant)
            if files is None:  # pragma: no cover - fetch_variant checks this
                raise DownloadError(f"{name} was fetched but its files are missing.")
    report(0.55 if download else 0.05, "reading ratings")
    ratings = _read_ratings(files, variant)
    if ratings.num_rows == 0:
        raise DatasetError(f"{variant.marker} in {files} has no ratings; fetch it again.")
    report(0.7, "reading movies")
    items = _items(files, variant)
    report(0.8, "building the matrix")
    dataset = build_dataset(
        name,
        ratings.column("user"),
        ratings.column("item"),
        rating=ratings.column("rating").to_numpy(),
        timestamp=ratings.column("timestamp").to_numpy(),
        items=items,
        min_rating=min_rating,
        description=variant.description,
        extras={"source_path": str(files), "min_rating": min_rating},
    )
    del ratings
    if variant.kind == "100k":
        dataset.extras["predefined_splits"] = _predefined_splits(files, variant, dataset)
    report(1.0, f"{dataset.n_interactions:,} interactions")
    return dataset


def is_local_variant(name: str) -> bool:
    return locate(folder(name), VARIANTS[name]) is not None


def _register(name: str) -> None:
    variant = VARIANTS[name]

    def load(data_dir=None, progress=None, download=False, **options) -> Dataset:
        return load_variant(name, data_dir, progress, download, **options)

    def fetch(progress: Progress | None = None, **_: Any) -> Path:
        return fetch_variant(name, progress=progress)

    load.__doc__ = load_variant.__doc__
    register(
        Source(
            name=name,
            description=variant.description,
            load=load,
            is_local=lambda: is_local_variant(name),
            fetch=fetch,
            size_hint=variant.size_hint,
            options={"min_rating": None},
        )
    )


for _name in VARIANTS:
    _register(_name)
