"""The Rec-a-Sketch data: Sketchfab users' likes of 3D models (Ethan Rosenthal, 2016-2017).

Two pipe-separated files from the public ``EthanRosenthal/rec-a-sketch`` repository:
``model_likes_anon.psv`` (``modelname|mid|uid``, one row per like) and ``model_feats.psv``
(``mid|type|value``, type ``category`` or ``tag``). They were written by Python's ``csv`` module
with ``quotechar='\\'``, because model names contain pipes, double quotes and backslashes, and are
read back with the same arguments the original notebooks used. Duplicate rows are dropped (the
original notebook found 155), and a user liking a model counts once.

Thumbnails are not in the files: ``image_url`` is left empty for the thumbnails module, which
resolves it through Sketchfab's API.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

from .. import config
from ..dataset import Dataset
from ..errors import DatasetError
from . import Source, register
from .download import download as download_file
from .progress import Progress
from .tabular.build import build_dataset

NAME = "sketchfab"
RAW_BASE = "https://raw.githubusercontent.com/EthanRosenthal/rec-a-sketch/master/data/"
LIKES_FILE = "model_likes_anon.psv"
FEATS_FILE = "model_feats.psv"
MODEL_URL = "https://sketchfab.com/models/{mid}"
READ_ARGS: dict[str, Any] = {"sep": "|", "quoting": csv.QUOTE_MINIMAL, "quotechar": "\\"}
"""The reading arguments of the original notebooks (and of the crawler's csv writer)."""

LIKES_COLUMNS = ("modelname", "mid", "uid")
FEATS_COLUMNS = ("mid", "type", "value")


def folder() -> Path:
    """Where ``fetch`` puts the files: ``RECSYS_HOME/datasets/sketchfab``."""
    return config.datasets_dir() / NAME


def is_local() -> bool:
    return (folder() / LIKES_FILE).is_file()


def fetch(progress: Progress | None = None, **_: Any) -> Path:
    """Download both files into :func:`folder` (the likes file first, about 90% of the bytes)."""
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    shares = ((LIKES_FILE, 0.0, 0.9), (FEATS_FILE, 0.9, 1.0))
    for file_name, start, end in shares:

        def step(fraction: float, message: str, start=start, end=end, file_name=file_name):
            if progress is not None:
                progress(start + (end - start) * fraction, f"{file_name}: {message}")

        download_file(RAW_BASE + file_name, target / file_name, progress=step)
    return target


def _read_psv(path: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            **READ_ARGS,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
            encoding_errors="replace",
        )
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"{path.name} is empty; fetch it again with `python -m recsys_core fetch sketchfab`."
        ) from None
    except (pd.errors.ParserError, ValueError) as error:
        raise DatasetError(
            f"{path.name} could not be read as Rec-a-Sketch data ({str(error)[:100]}); fetch it "
            "again with `python -m recsys_core fetch sketchfab`."
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        found = ", ".join(repr(c) for c in frame.columns)
        raise DatasetError(
            f"{path.name} has the columns {found} but needs {', '.join(map(repr, wanted))}; "
            "it is not a Rec-a-Sketch file, so fetch it again."
        )
    return frame


def read_likes(path: str | Path) -> tuple[pd.DataFrame, int]:
    """The likes (``modelname``, ``mid``, ``uid`` as str) without duplicate rows, and how many
    duplicate rows were dropped."""
    likes = _read_psv(Path(path), LIKES_COLUMNS)
    for column in ("mid", "uid"):
        likes[column] = likes[column].str.strip()
    blank = (likes["mid"] == "") | (likes["uid"] == "")
    if blank.any():
        row = int(blank.to_numpy().nonzero()[0][0]) + 1
        column = "mid" if likes["mid"].iloc[row - 1] == "" else "uid"
        raise DatasetError(
            f"Row {row:,} of {Path(path).name} has no value in column {column!r}; the file is "
            "damaged, so fetch it again."
        )
    before = len(likes)
    likes = likes.drop_duplicates(ignore_index=True)
    return likes, before - len(likes)


def read_items(likes: pd.DataFrame, feats_path: Path | None) -> pd.DataFrame:
    """One row per model: ``item_id``, ``name``, ``url``, ``image_url`` (empty), ``category``
    (the first category), ``categories`` (all) and ``tags``."""
    names = likes.drop_duplicates("mid")[["mid", "modelname"]]
    items = pd.DataFrame(
        {
            "item_id": names["mid"].to_numpy(dtype=object),
            "name": names["modelname"].to_numpy(dtype=object),
        }
    )
    items["url"] = [MODEL_URL.format(mid=mid) for mid in items["item_id"]]
    items["image_url"] = ""
    categories: dict[str, list[str]] = {}
    tags: dict[str, list[str]] = {}
    if feats_path is not None:
        feats = _read_psv(feats_path, FEATS_COLUMNS).drop_duplicates()
        kinds = {"category": categories, "tag": tags}
        for mid, kind, value in zip(
            feats["mid"].str.strip().tolist(),
            feats["type"].str.strip().str.lower().tolist(),
            feats["value"].tolist(),
        ):
            target = kinds.get(kind)
            if target is not None:
                target.setdefault(mid, []).append(value)
    items["categories"] = [categories.get(mid, []) for mid in items["item_id"]]
    items["category"] = [values[0] if values else "" for values in items["categories"]]
    items["tags"] = [tags.get(mid, []) for mid in items["item_id"]]
    return items


def load(
    data_dir: str | Path | None = None,
    progress: Progress | None = None,
    download: bool = False,
    **options: Any,
) -> Dataset:
    """Load the Rec-a-Sketch likes as a Dataset (weight 1 per liked model).

    Parameters
    ----------
    data_dir : path, optional
        A folder holding ``model_likes_anon.psv`` (and optionally ``model_feats.psv``); wins
        over the cache under ``RECSYS_HOME/datasets/sketchfab``.
    progress : callable, optional
        ``progress(fraction, message)``.
    download : bool
        Fetch the files first when they are not in the cache.
    **options
        None are supported (``min_rating=None`` is accepted: the data has likes, not ratings).
    """
    if options.get("min_rating") is not None:
        raise DatasetError(
            "sketchfab holds likes, not ratings, so min_rating does not apply; leave it out."
        )
    unknown = sorted(set(options) - {"min_rating"})
    if unknown:
        raise DatasetError(f"sketchfab has no option(s) {', '.join(map(repr, unknown))}.")
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not (root / LIKES_FILE).is_file():
            raise DatasetError(
                f"There is no {LIKES_FILE} in {root}; point --data-dir at the folder holding the "
                "Rec-a-Sketch files, or run `python -m recsys_core fetch sketchfab`."
            )
    else:
        root = folder()
        if not (root / LIKES_FILE).is_file():
            if not download:
                raise DatasetError(
                    "The Sketchfab data is not downloaded yet; run `python -m recsys_core fetch "
                    "sketchfab` or pass --data-dir with a folder holding model_likes_anon.psv."
                )
            fetch(progress=None if progress is None else lambda f, m: progress(0.5 * f, m))
    report = progress or (lambda fraction, message: None)
    base = 0.5 if download and data_dir is None and progress is not None else 0.0

    def step(fraction: float, message: str) -> None:
        report(base + (1 - base) * fraction, message)

    step(0.05, "reading likes")
    likes, dropped = read_likes(root / LIKES_FILE)
    if likes.empty:
        raise DatasetError(f"{LIKES_FILE} in {root} has a header but no likes; fetch it again.")
    feats_path = root / FEATS_FILE
    step(0.6, "reading model features")
    items = read_items(likes, feats_path if feats_path.is_file() else None)
    step(0.8, "building the matrix")
    n_rows = len(likes) + dropped
    dataset = build_dataset(
        NAME,
        likes.pop("uid"),
        likes.pop("mid"),
        items=items,
        drop_duplicates=True,
        description=(
            "Sketchfab likes of 3D models crawled for Rec-a-Sketch (Ethan Rosenthal, 2017); "
            "thumbnails from Sketchfab's API."
        ),
        extras={
            "source_path": str(root),
            "n_rows": int(n_rows),
            "duplicate_rows_dropped": int(dropped),
            "has_features": feats_path.is_file(),
        },
    )
    step(1.0, f"{dataset.n_interactions:,} likes")
    return dataset


register(
    Source(
        name=NAME,
        description="Sketchfab 3D-model likes from Rec-a-Sketch (real data, downloaded on request)",
        load=load,
        is_local=is_local,
        fetch=fetch,
        size_hint="62k users x 29k models x 630k likes",
    )
)
