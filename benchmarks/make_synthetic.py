"""Synthetic interaction files for benchmarks: Sketchfab-sized likes and multi-million-row logs.

Import it from another benchmark (``sys.path`` holds ``benchmarks/`` when a script there runs) or
run it to write files::

    python benchmarks/make_synthetic.py sketchfab OUT_DIR          # 15k x 25k x 550k, psv
    python benchmarks/make_synthetic.py events OUT.csv --rows 5000000

Functions
---------
synthetic_likes(n_users, n_items, n_likes, seed) -> DataFrame
    Distinct (user, item) likes with long-tailed popularity and activity, Sketchfab-like ids.
synthetic_items(item_ids, seed) -> DataFrame
    Names (some with pipes, quotes, backslashes), a category and tags per item.
synthetic_events(n_rows, n_users, n_items, seed) -> DataFrame
    A play log: user, item, count, timestamp (repeat pairs allowed).
synthetic_matrix(n_users, n_items, n_likes, random_state) -> csr_matrix
    The likes as a binary float32 CSR matrix.
write_file(path, frame) / write_sketchfab(folder, likes, items)
    csv / tsv / psv / parquet by suffix; the Rec-a-Sketch format with its backslash quoting.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import scipy.sparse as sp

SKETCHFAB_SHAPE = (15_000, 25_000, 550_000)
"""Users, items, likes of the Sketchfab data after 5-core thresholding (the original post)."""

CATEGORIES = [
    "animals-pets",
    "architecture",
    "art-abstract",
    "cars-vehicles",
    "characters-creatures",
    "cultural-heritage-history",
    "electronics-gadgets",
    "fashion-style",
    "food-drink",
    "furniture-home",
    "music",
    "nature-plants",
    "news-politics",
    "people",
    "places-travel",
    "science-technology",
    "sports-fitness",
    "weapons-military",
]
WORDS = [
    "low-poly",
    "fox",
    "castle",
    "robot",
    "sci-fi",
    "corridor",
    "tree",
    "sword",
    "car",
    "chair",
    "dragon",
    "ship",
    "house",
    "skull",
    "helmet",
    "lamp",
    "rock",
    "tower",
    "knight",
    "whale",
]
ODD_NAMES = ["Pipe | name", 'Say "cheese"', "Back\\slash", "<b>bold</b>", "comma, name"]


def _popularity(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / (np.arange(n) + 10.0) ** exponent
    return rng.permutation(weights / weights.sum())


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 32-hex-digit ids (like Sketchfab's model ids and hashed user ids)."""
    raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64).view(np.uint64)
    halves = [np.char.zfill(np.char.mod("%x", raw[:, k]), 16) for k in (0, 1)]
    return np.char.add(*halves).astype(object)


def _like_pairs(
    n_users: int, n_items: int, n_likes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``n_likes`` distinct (user, item) pairs, every user with at least 5 likes."""
    if n_likes > n_users * n_items // 2:
        raise ValueError(f"n_likes={n_likes:,} is too dense for {n_users:,} x {n_items:,}.")
    activity = rng.lognormal(0.0, 1.0, n_users)
    per_user = np.maximum(5, np.round(activity / activity.sum() * n_likes)).astype(np.int64)
    per_user = np.minimum(per_user, n_items // 4)
    popularity = _popularity(rng, n_items, 1.0)
    keys = np.zeros(0, dtype=np.int64)
    draws = per_user
    while True:
        rows = np.repeat(np.arange(n_users, dtype=np.int64), draws)
        cols = rng.choice(n_items, size=len(rows), p=popularity)
        keys = np.sort(np.concatenate([keys, rows * n_items + cols]))
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        if len(keys) >= n_likes:
            break
        draws = np.maximum(1, per_user // 4)
    keep = np.sort(rng.choice(len(keys), size=n_likes, replace=False))
    keys = keys[keep]
    return keys // n_items, keys % n_items


def synthetic_likes(n_users: int, n_items: int, n_likes: int, seed: int = 0) -> pd.DataFrame:
    """Distinct likes with Sketchfab-like 32-hex ids and a long tail on both sides.

    Parameters
    ----------
    n_users, n_items, n_likes : int
        Shape and number of distinct likes (exact).
    seed : int
        The only source of randomness.

    Returns
    -------
    DataFrame, n_likes rows
        ``user`` and ``item`` (str, 32 hex digits), ``user_index`` and ``item_index`` (int64
        positions in 0..n-1), ``timestamp`` (int64 seconds, 2012-2016).
    """
    rng = np.random.default_rng(seed)
    rows, cols = _like_pairs(n_users, n_items, n_likes, rng)
    user_ids = _hex_ids(rng, n_users)
    item_ids = _hex_ids(rng, n_items)
    order = rng.permutation(n_likes)  # files are not sorted by user
    rows, cols = rows[order], cols[order]
    return pd.DataFrame(
        {
            "user": user_ids[rows],
            "item": item_ids[cols],
            "user_index": rows,
            "item_index": cols,
            "timestamp": 1_325_376_000 + rng.integers(0, 4 * 365 * 86_400, n_likes),
        }
    )


def synthetic_items(item_ids: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """A name, a category and 1-4 tags per item; one name in 50 has a pipe, quote, backslash,
    HTML or comma in it."""
    rng = np.random.default_rng(seed)
    n = len(item_ids)
    first = rng.choice(WORDS, n)
    second = rng.choice(WORDS, n)
    names = np.char.add(np.char.add(first.astype(str), " "), second.astype(str)).astype(object)
    odd = rng.random(n) < 0.02
    names[odd] = [f"{rng.choice(ODD_NAMES)} {i}" for i in np.flatnonzero(odd)]
    categories = rng.choice(CATEGORIES, n)
    n_tags = rng.integers(1, 5, n)
    tags = [list(rng.choice(WORDS, k, replace=False)) for k in n_tags]
    return pd.DataFrame({"item_id": item_ids, "name": names, "category": categories, "tags": tags})


def synthetic_events(
    n_rows: int, n_users: int = 100_000, n_items: int = 40_000, seed: int = 0
) -> pd.DataFrame:
    """A play log of ``n_rows`` rows: ``user`` (str like ``u0012345``), ``item`` (int64),
    ``count`` (int32, 1-20) and ``timestamp`` (int64 seconds); pairs may repeat."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, n_users)
    users = rng.choice(n_users, size=n_rows, p=activity / activity.sum())
    items = rng.choice(n_items, size=n_rows, p=_popularity(rng, n_items, 0.9))
    names = np.char.add("u", np.char.zfill(np.arange(n_users).astype(str), 7)).astype(object)
    return pd.DataFrame(
        {
            "user": names[users],
            "item": items.astype(np.int64) + 1,
            "count": rng.geometric(0.4, n_rows).clip(max=20).astype(np.int32),
            "timestamp": 1_500_000_000 + rng.integers(0, 3 * 365 * 86_400, n_rows),
        }
    )


def synthetic_matrix(
    n_users: int = SKETCHFAB_SHAPE[0],
    n_items: int = SKETCHFAB_SHAPE[1],
    n_likes: int = SKETCHFAB_SHAPE[2],
    random_state: int = 0,
) -> sp.csr_matrix:
    """The likes of :func:`synthetic_likes` as a binary float32 CSR [n_users, n_items]."""
    rng = np.random.default_rng(random_state)
    rows, cols = _like_pairs(n_users, n_items, n_likes, rng)
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(n_users, n_items))
    matrix.sort_indices()
    return matrix


def write_file(path: str | Path, frame: pd.DataFrame, columns: list[str] | None = None) -> Path:
    """Write ``frame`` (or its ``columns``) as csv / tsv / psv / parquet, chosen by suffix.

    Delimited files use double quotes where needed; lists become ``|``-joined text.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = frame[columns] if columns else frame
    frame = frame.assign(
        **{
            c: frame[c].map("|".join)
            for c in frame.columns
            if frame[c].dtype == object and len(frame) and isinstance(frame[c].iloc[0], list)
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        pq.write_table(table, path)
        return path
    delimiter = {".tsv": "\t", ".psv": "|"}.get(suffix, ",")
    pa_csv.write_csv(
        table, path, write_options=pa_csv.WriteOptions(delimiter=delimiter, quoting_style="needed")
    )
    return path


def write_sketchfab(folder: str | Path, likes: pd.DataFrame, items: pd.DataFrame) -> Path:
    """``model_likes_anon.psv`` and ``model_feats.psv`` as the Rec-a-Sketch crawler wrote them
    (``|`` separated, ``\\`` as the quote character)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = dict(zip(items["item_id"], items["name"]))
    with open(folder / "model_likes_anon.psv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|", quotechar="\\", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["modelname", "mid", "uid"])
        writer.writerows(zip(likes["item"].map(names), likes["item"], likes["user"]))
    with open(folder / "model_feats.psv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|", quotechar="\\", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["mid", "type", "value"])
        for mid, category, tags in zip(items["item_id"], items["category"], items["tags"]):
            writer.writerow([mid, "category", category])
            writer.writerows([mid, "tag", tag] for tag in tags)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    sketch = sub.add_parser("sketchfab", help="Rec-a-Sketch format files (15k x 25k x 550k)")
    sketch.add_argument("out_dir")
    sketch.add_argument("--seed", type=int, default=0)
    events = sub.add_parser("events", help="a play log (csv / tsv / psv / parquet by suffix)")
    events.add_argument("out")
    events.add_argument("--rows", type=int, default=5_000_000)
    events.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.kind == "sketchfab":
        likes = synthetic_likes(*SKETCHFAB_SHAPE, seed=args.seed)
        items = synthetic_items(np.unique(likes["item"]), seed=args.seed)
        print(write_sketchfab(args.out_dir, likes, items))
    else:
        print(write_file(args.out, synthetic_events(args.rows, seed=args.seed)))


if __name__ == "__main__":
    main()
