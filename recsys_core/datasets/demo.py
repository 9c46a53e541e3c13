"""``demo``: synthetic demo data, a 3D-model marketplace with a planted taste structure.

Generated deterministically from a seed in a fraction of a second, without the network, and
cached under ``RECSYS_HOME/datasets/demo``. The default dataset: every algorithm has something
real to find in it, and the planted truth is kept so tests can check that models recover it.

The structure
-------------
- 12 categories (Animals, Vehicles, ... Music), each with two taste groups;
  a taste group is one category x one cluster of style tags (low-poly, photogrammetry, rigged,
  voxel, tiltbrush, sculpt), with its own nouns and category tags: 24 groups in all.
- Items have readable names built from a style adjective, a colour or material and a noun of
  their group ("Low-poly Red Fox", "Sculpted Chrome Corridor Kit"), tags, and a generated
  picture of their noun in their material (:mod:`recsys_core.pictures`) as an SVG ``data:`` URI.
  ``items["group"]`` is each item's planted group.
- Users like items of 1 to 3 groups (``users["group"]`` the primary one, ``users["groups"]``
  all of them as ``"3|7"``), with a long-tailed activity (lognormal, at least 3 likes) over a
  long-tailed item popularity (lognormal), plus ~10% likes drawn outside their groups.
- Likes carry timestamps spread over two years (2022-2023), so leave-last-out splits work.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import config
from ..dataset import Dataset, normalise_items
from ..errors import DatasetError
from ..pictures import picture_data_uri
from ..util.files import atomic_write, write_via
from . import Source, register
from .demo_catalogue import (
    CATEGORIES,
    CATEGORY_NAMES,
    COLOURS,
    GROUP_LABELS,
    GROUPS,
    STYLE_TAGS,
    STYLES,
)
from .progress import Progress

NAME = "demo"
GENERATOR_VERSION = 1
DESCRIPTION = (
    "A 3D-model marketplace (12 categories, tags, generated thumbnails) whose likes come from "
    "24 planted taste groups: synthetic demo data, generated locally, no download."
)
DEFAULTS = {"n_users": 8_000, "n_items": 3_000, "n_likes": 210_000, "noise": 0.1}

# ---------------------------------------------------------------------------- generation
_T0 = 1_640_995_200.0  # 2022-01-01 UTC
_SPAN = 2 * 365 * 86_400.0
_GROUP_SLOT_CUM = np.array([[1.0, 1.0, 1.0], [2 / 3, 1.0, 1.0], [4 / 7, 6 / 7, 1.0]])


def _split_evenly(total: int, shares: np.ndarray) -> np.ndarray:
    """Integers proportional to ``shares`` that sum to ``total`` (largest remainders)."""
    exact = shares / shares.sum() * total
    sizes = np.floor(exact).astype(np.int64)
    sizes[np.argsort(-(exact - sizes), kind="stable")[: total - sizes.sum()]] += 1
    return sizes


def _catalogue(rng: np.random.Generator, sizes: np.ndarray) -> tuple[list[str], list[list[str]]]:
    """Names and tags for items in group order (``sizes[g]`` items of group ``g``)."""
    names: list[str] = []
    tags: list[list[str]] = []
    n_colours = len(COLOURS)
    for (c, group), size in zip(GROUPS, sizes.tolist()):
        category = CATEGORIES[c]
        styles = STYLES[group.style]
        n_combos = len(styles) * n_colours * len(group.nouns)
        if size <= n_combos:
            combos = rng.choice(n_combos, size=size, replace=False)
        else:
            combos = rng.integers(0, n_combos, size=size)
        extra_style = rng.random(size) < 0.5
        n_group_tags = rng.integers(1, len(group.tags) + 1, size=size)
        noise_tag = rng.random(size) < 0.08
        noise_pick = rng.integers(0, len(STYLE_TAGS), size=size)
        for k, combo in enumerate(combos.tolist()):
            style, rest = divmod(combo, n_colours * len(group.nouns))
            colour, noun = divmod(rest, len(group.nouns))
            tag, adjective = styles[style]
            names.append(" ".join(w for w in (adjective, COLOURS[colour], group.nouns[noun]) if w))
            item_tags = [tag]
            if extra_style[k]:
                item_tags.append(styles[(style + 1) % len(styles)][0])
            item_tags.append(category.tag)
            item_tags.extend(group.tags[: int(n_group_tags[k])])
            if noise_tag[k] and STYLE_TAGS[noise_pick[k]] not in item_tags:
                item_tags.append(STYLE_TAGS[noise_pick[k]])
            tags.append(item_tags)
    return names, tags


def _unique_names(names: list[str]) -> list[str]:
    """Number repeated names ("Voxel Red Taco 2"); only happens for very large catalogues."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} {count}")
    return out


def generate(
    seed: int = 0,
    *,
    n_users: int = DEFAULTS["n_users"],
    n_items: int = DEFAULTS["n_items"],
    n_likes: int = DEFAULTS["n_likes"],
    noise: float = DEFAULTS["noise"],
) -> Dataset:
    """Generate the demo dataset (no cache; see :func:`load` for the cached one).

    Parameters
    ----------
    seed : int
        The only source of randomness (``np.random.default_rng(seed)``): same seed, same data.
    n_users, n_items : int
        Matrix shape; ``n_items`` is spread over the 24 taste groups (at least 48).
    n_likes : int
        Target number of likes; the result is close to it (duplicates drawn are dropped, heavy
        users are capped at a third of the catalogue).
    noise : float
        Fraction of likes drawn from the whole catalogue (half by popularity, half uniformly)
        instead of from the user's groups.

    Returns
    -------
    Dataset
        ``interactions`` float32 [n_users, n_items] of ones, ``timestamps`` float64 of the same
        pattern, ``items`` with ``group`` (int) and ``group_label``, ``users`` with ``group``
        (primary, int), ``groups`` (``"3|7"``) and ``n_groups``; ``synthetic=True``.
    """
    _check_sizes(seed, n_users, n_items, n_likes, noise)
    rng = np.random.default_rng(seed)
    # the draws run in this order (same seed, same data): items, users, likes, times, names
    layout = _item_layout(rng, n_items)
    top3, user_n_groups, target = _user_tastes(rng, n_users, n_items, n_likes)
    rows, cols = _draw_likes(rng, layout, top3, user_n_groups, target, noise)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_users))])

    # timestamps: each user is active over a window of the two years
    start = _T0 + rng.uniform(0.0, 0.9, n_users) * _SPAN
    length = np.minimum(rng.lognormal(np.log(0.15), 0.8, n_users) * _SPAN, _T0 + _SPAN - start)
    stamps = np.floor(start[rows] + rng.random(len(rows)) * length[rows])

    names, tags = _catalogue(rng, layout.sizes)
    position_of_column = np.argsort(layout.column_of_pos)
    return _assemble(
        seed=seed,
        indptr=indptr,
        indices=cols,
        stamps=stamps,
        names=np.asarray(_unique_names(names))[position_of_column],
        tags=np.asarray(["|".join(t) for t in tags])[position_of_column],
        item_group=layout.group_of_pos[position_of_column],
        user_groups=np.asarray(
            ["|".join(map(str, row[:k])) for row, k in zip(top3.tolist(), user_n_groups.tolist())]
        ),
    )


@dataclass(frozen=True)
class _Layout:
    """Items in group order (position ``p``): the group sizes, each position's group and matrix
    column, where each group starts and ends, and the popularity CDFs within each group
    (``group + fraction``) and over the whole catalogue."""

    sizes: np.ndarray
    group_of_pos: np.ndarray
    column_of_pos: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    group_cdf: np.ndarray
    global_cdf: np.ndarray


def _item_layout(rng: np.random.Generator, n_items: int) -> _Layout:
    """Group sizes, a random column per item, a long-tailed popularity within each group."""
    n_groups = len(GROUPS)
    sizes = _split_evenly(n_items, rng.uniform(0.7, 1.3, n_groups))
    group_of_pos = np.repeat(np.arange(n_groups), sizes)
    column_of_pos = rng.permutation(n_items)
    popularity = rng.lognormal(0.0, 1.2, n_items)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    within = np.cumsum(popularity)
    before = np.concatenate([[0.0], within[ends[:-1] - 1]])
    group_total = within[ends - 1] - before
    group_cdf = group_of_pos + (within - before[group_of_pos]) / group_total[group_of_pos]
    group_cdf[ends - 1] = np.arange(1, n_groups + 1)
    global_cdf = within / within[-1]
    return _Layout(sizes, group_of_pos, column_of_pos, starts, ends, group_cdf, global_cdf)


def _user_tastes(
    rng: np.random.Generator, n_users: int, n_items: int, n_likes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each user's 1-3 distinct groups (Gumbel top-k over a group appeal; ``top3`` [n_users, 3]
    and how many of them count) and number of likes (long-tailed, capped)."""
    n_groups = len(GROUPS)
    appeal = rng.lognormal(0.0, 0.5, n_groups)
    keys = np.log(appeal) + rng.gumbel(size=(n_users, n_groups))
    top3 = np.argsort(-keys, axis=1)[:, :3]
    # users mostly like a few categories: a third take the primary group's sibling (same
    # category, other style) as their second group
    sibling = top3[:, 0] ^ 1
    take = (rng.random(n_users) < 0.35) & (top3[:, 1] != sibling)
    top3[take & (top3[:, 2] == sibling), 2] = top3[take & (top3[:, 2] == sibling), 1]
    top3[take, 1] = sibling[take]
    user_n_groups = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2], size=n_users)
    activity = rng.lognormal(0.0, 1.0, n_users)
    cap = max(3, n_items // 3)
    target = 3 + np.floor(activity / activity.sum() * max(n_likes - 3 * n_users, 0))
    target = np.minimum(target.astype(np.int64), cap)
    # the most active users range wider (and would otherwise exhaust a single group)
    user_n_groups = np.maximum(user_n_groups, 1 + (target > 60) + (target > 150))
    return top3, user_n_groups, target


def _draw_likes(
    rng: np.random.Generator,
    layout: _Layout,
    top3: np.ndarray,
    user_n_groups: np.ndarray,
    target: np.ndarray,
    noise: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, int32 cols) of the likes, sorted by (user, item): draws are oversampled, then each
    user keeps their first ``target`` distinct items."""
    n_users, n_items = len(target), len(layout.column_of_pos)
    draws = np.ceil(target * 1.6).astype(np.int64) + 3
    user = np.repeat(np.arange(n_users), draws)
    m = len(user)
    is_noise = rng.random(m) < noise
    slot = (rng.random(m)[:, None] > _GROUP_SLOT_CUM[user_n_groups[user] - 1]).sum(axis=1)
    group = top3[user, np.minimum(slot, user_n_groups[user] - 1)]
    pos = np.searchsorted(layout.group_cdf, group + rng.random(m), side="right")
    pos = np.clip(pos, layout.starts[group], layout.ends[group] - 1)
    # noise: half by popularity, half uniform (so the long tail still gets a few likes)
    noise_pos = np.where(
        rng.random(m) < 0.5,
        np.searchsorted(layout.global_cdf, rng.random(m), side="right"),
        rng.integers(0, n_items, m),
    )
    pos = np.where(is_noise, np.minimum(noise_pos, n_items - 1), pos)
    item = layout.column_of_pos[pos]

    _, first = np.unique(user * n_items + item, return_index=True)
    first.sort()
    kept_user = user[first]
    counts = np.bincount(kept_user, minlength=n_users)
    rank = np.arange(len(first)) - (np.cumsum(counts) - counts)[kept_user]
    keep = first[rank < target[kept_user]]
    rows, cols = _top_up(rng, user[keep], item[keep], n_users, n_items)
    order = np.argsort(rows * n_items + cols, kind="stable")
    return rows[order], cols[order].astype(np.int32)


def _top_up(
    rng: np.random.Generator, rows: np.ndarray, cols: np.ndarray, n_users: int, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Give the (rare) users left with fewer than 3 distinct likes random extra ones."""
    short = np.flatnonzero(np.bincount(rows, minlength=n_users) < 3)
    if len(short) == 0:
        return rows, cols
    extra_rows, extra_cols = [], []
    for u in short.tolist():
        mine = set(cols[rows == u].tolist())
        for candidate in rng.permutation(n_items).tolist():
            if len(mine) >= 3:
                break
            if candidate not in mine:
                mine.add(candidate)
                extra_rows.append(u)
                extra_cols.append(candidate)
    return (
        np.concatenate([rows, np.asarray(extra_rows, rows.dtype)]),
        np.concatenate([cols, np.asarray(extra_cols, cols.dtype)]),
    )


def _check_sizes(seed: Any, n_users: Any, n_items: Any, n_likes: Any, noise: Any) -> None:
    checks = (
        (
            isinstance(seed, (int, np.integer)) and seed >= 0,
            f"seed={seed!r}",
            "a whole number >= 0",
        ),
        (
            isinstance(n_users, (int, np.integer)) and n_users >= 10,
            f"n_users={n_users!r}",
            "a whole number >= 10",
        ),
        (
            isinstance(n_items, (int, np.integer)) and n_items >= 2 * len(GROUPS),
            f"n_items={n_items!r}",
            f"a whole number >= {2 * len(GROUPS)}",
        ),
        (
            isinstance(n_likes, (int, np.integer)) and n_likes >= 0,
            f"n_likes={n_likes!r}",
            "a whole number >= 0",
        ),
        (
            isinstance(noise, (int, float)) and 0.0 <= noise <= 1.0,
            f"noise={noise!r}",
            "a fraction between 0 and 1",
        ),
    )
    for ok, value, wanted in checks:
        if not ok:
            raise DatasetError(f"The demo cannot use {value}; give {wanted}.")


def _assemble(
    *,
    seed: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    stamps: np.ndarray,
    names: np.ndarray,
    tags: np.ndarray,
    item_group: np.ndarray,
    user_groups: np.ndarray,
) -> Dataset:
    """The Dataset from the arrays the generator draws (and the cache stores)."""
    n_users, n_items = len(indptr) - 1, len(names)
    shape = (n_users, n_items)
    indptr = np.asarray(indptr, np.int32)
    indices = np.asarray(indices, np.int32)
    ones = np.ones(len(indices), np.float32)
    interactions = sp.csr_matrix((ones, indices, indptr), shape=shape)
    timestamps = sp.csr_matrix(
        (np.asarray(stamps, np.float64), indices.copy(), indptr.copy()), shape=shape
    )
    item_ids = np.char.add(
        "i", np.char.zfill(np.arange(1, n_items + 1).astype(str), len(str(n_items)))
    )
    user_ids = np.char.add(
        "u", np.char.zfill(np.arange(1, n_users + 1).astype(str), len(str(n_users)))
    )
    item_group = np.asarray(item_group, np.int64)
    categories = [CATEGORY_NAMES[GROUPS[g][0]] for g in item_group.tolist()]
    names_list = names.tolist()
    items = pd.DataFrame(
        {
            "item_id": item_ids,
            "name": names_list,
            "url": "",
            "image_url": [
                picture_data_uri(n, c) for n, c in zip(names_list, categories, strict=True)
            ],
            "category": categories,
            "tags": [t.split("|") for t in tags.tolist()],
            "group": item_group,
            "group_label": [GROUP_LABELS[g] for g in item_group.tolist()],
        }
    )
    groups = np.asarray(user_groups).astype(str).tolist()
    users = pd.DataFrame(
        {
            "user_id": user_ids,
            "group": [int(g.split("|", 1)[0]) for g in groups],
            "groups": groups,
            "n_groups": [g.count("|") + 1 for g in groups],
        }
    )
    return Dataset(
        name=NAME,
        interactions=interactions,
        user_ids=user_ids,
        item_ids=item_ids,
        items=normalise_items(items, item_ids),
        users=users,
        timestamps=timestamps,
        synthetic=True,
        description=DESCRIPTION,
        extras={
            "seed": int(seed),
            "generator_version": GENERATOR_VERSION,
            "group_labels": list(GROUP_LABELS),
        },
    )


# ---------------------------------------------------------------------------- the cache
class DemoCacheWarning(UserWarning):
    """The demo's cache file was damaged or could not be written; the data was regenerated."""


def cache_path(seed: int = 0, **sizes: Any) -> Path:
    """Where the demo for ``seed`` (and non-default sizes) is cached."""
    merged = {**DEFAULTS, **sizes}
    tag = "" if merged == DEFAULTS else "-" + "-".join(f"{k}{merged[k]}" for k in sorted(merged))
    return config.datasets_dir() / NAME / f"demo-v{GENERATOR_VERSION}-seed{seed}{tag}.npz"


def _save(dataset: Dataset, path: Path) -> None:
    items, users = dataset.items, dataset.users
    arrays = {
        "names": items["name"].to_numpy(str),
        "tags": np.asarray(["|".join(t) for t in items["tags"]]),
        "item_group": items["group"].to_numpy(np.int64),
        "user_groups": users["groups"].to_numpy(str),
    }
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(handle: IO[bytes]) -> None:
        np.savez(
            handle,
            version=np.array(GENERATOR_VERSION),
            seed=np.array(dataset.extras["seed"]),
            fingerprint=np.array(dataset.fingerprint),
            indptr=dataset.interactions.indptr,
            indices=dataset.interactions.indices,
            stamps=dataset.timestamps.data,
            **arrays,
        )

    atomic_write(path, write_via(write))


def _read(path: Path, seed: int) -> Dataset:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    if int(arrays["version"]) != GENERATOR_VERSION or int(arrays["seed"]) != seed:
        raise ValueError("it was written by another generator version or seed")
    dataset = _assemble(
        seed=seed,
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        stamps=arrays["stamps"],
        names=arrays["names"],
        tags=arrays["tags"],
        item_group=arrays["item_group"],
        user_groups=arrays["user_groups"],
    )
    if dataset.fingerprint != str(arrays["fingerprint"]):
        raise ValueError("its content does not match its fingerprint")
    return dataset


def load(
    data_dir: str | Path | None = None,
    progress: Progress | None = None,
    download: bool = False,
    seed: int = 0,
    **sizes: Any,
) -> Dataset:
    """The demo dataset for ``seed``, from the cache or generated (and cached).

    A damaged cache file is reported with a :class:`DemoCacheWarning` and regenerated; a cache
    that cannot be written is reported the same way and the generated data is returned anyway.
    ``sizes`` are :func:`generate`'s keyword arguments (``n_users``, ``n_items``, ``n_likes``,
    ``noise``). ``download`` is accepted for the registry's signature and ignored.
    """
    if data_dir is not None:
        raise DatasetError(
            f"The demo is generated and reads no files, so --data-dir {data_dir} does not apply; "
            "drop it."
        )
    unknown = sorted(set(sizes) - set(DEFAULTS))
    if unknown:
        raise DatasetError(
            f"The demo has no option {unknown[0]!r}; it takes seed, {', '.join(DEFAULTS)}."
        )
    merged = {**DEFAULTS, **sizes}
    _check_sizes(seed, **merged)
    path = cache_path(seed, **sizes)
    if path.exists():
        try:
            return _read(path, seed)
        except Exception as error:  # any damage: report, regenerate, never crash
            warnings.warn(
                f"The demo cache {path} is damaged ({type(error).__name__}: {error}); "
                "regenerating it.",
                DemoCacheWarning,
                stacklevel=2,
            )
    if progress:
        progress(0.0, "Generating the demo data")
    begin = time.perf_counter()
    dataset = generate(seed, **sizes)
    dataset.extras["generate_seconds"] = time.perf_counter() - begin
    try:
        _save(dataset, path)
    except OSError as error:
        warnings.warn(
            f"Could not cache the demo at {path} ({error}); it will be generated again next time.",
            DemoCacheWarning,
            stacklevel=2,
        )
    if progress:
        progress(1.0, "Demo data ready")
    return dataset


SOURCE = register(
    Source(
        name=NAME,
        description=DESCRIPTION,
        load=load,
        is_local=lambda: True,
        fetch=None,
        synthetic=True,
        size_hint="8,000 users x 3,000 items x ~200k likes",
        options={"seed": 0},
    )
)

__all__ = [
    "CATEGORY_NAMES",
    "DESCRIPTION",
    "DemoCacheWarning",
    "GROUP_LABELS",
    "SOURCE",
    "cache_path",
    "generate",
    "load",
]
