"""The entry point: one ``<img src>``-ready string per item asked for.

:func:`resolve_images` gives each item its metadata image, else its Sketchfab thumbnail (from the
cache, else fetched), else its generated picture (:func:`placeholder_data_uri`);
:func:`resolve_image_batch` also says which placeholders may still become images.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import pandas as pd

from ..html.safety import safe_url
from ..pictures import picture_data_uri, picture_svg
from . import cache
from .fetch import fetch_many
from .references import sketchfab_model_id

__all__ = [
    "ImageBatch",
    "placeholder_data_uri",
    "placeholder_svg",
    "resolve_image_batch",
    "resolve_images",
]


def placeholder_svg(name: Any, category: Any = "") -> str:
    """The item's generated picture: a 200 x 150 SVG of its object (the noun of its name) in its
    material, on its category's colour; the name is only the SVG's (XML-escaped) title.

    Deterministic; see :func:`recsys_core.pictures.picture_svg`.
    """
    return picture_svg(name, category)


def placeholder_data_uri(name: Any, category: Any = "") -> str:
    """:func:`placeholder_svg` as a ``data:image/svg+xml;base64,...`` URI for ``<img src>``
    (cached)."""
    return picture_data_uri(name, category)


def _items_frame(dataset_or_items: Any) -> tuple[pd.DataFrame, bool]:
    """The items table and whether its items are Sketchfab models by origin."""
    if isinstance(dataset_or_items, pd.DataFrame):
        items = dataset_or_items
        name = str(items.attrs.get("dataset", ""))
    else:
        items = dataset_or_items.items
        name = str(getattr(dataset_or_items, "name", ""))
    return items, name.strip().lower().startswith("sketchfab")


def _column(items: pd.DataFrame, column: str, rows: Sequence[int]) -> list[Any]:
    if column not in items.columns:
        return [""] * len(rows)
    return items[column].iloc[list(rows)].tolist()


class ImageBatch(NamedTuple):
    """What :func:`resolve_image_batch` found.

    Attributes
    ----------
    sources : list of str, length n
        An http(s) URL or a ``data:image/`` URI per item, in the order asked.
    pending : list of int
        Positions in ``sources`` that hold a placeholder only because the image API failed or did
        not answer in time: asking again later (after :data:`TRANSIENT_TTL` at most) may give an
        image. Empty when every answer is final (an image, a definite miss, or no API involved).
    """

    sources: list[str]
    pending: list[int]


def resolve_image_batch(
    dataset_or_items: Any,
    item_indices: Iterable[int],
    *,
    timeout: float = 2.0,
    max_workers: int = 8,
    session: Any = None,
) -> ImageBatch:
    """:func:`resolve_images`, also telling which placeholders may still become images.

    Callers that cache the result (the app's ``st.cache_data``) keep it only when ``pending`` is
    empty, so a placeholder shown during an outage is not pinned after the service recovers.
    Parameters, return values and errors otherwise as :func:`resolve_images`.
    """
    items, is_sketchfab = _items_frame(dataset_or_items)
    rows = [int(index) for index in item_indices]
    n_items = len(items)
    bad = [index for index in rows if not 0 <= index < n_items]
    if bad:
        raise IndexError(f"Item index {bad[0]} is outside 0..{n_items - 1}.")
    if not rows:
        return ImageBatch([], [])
    names = _column(items, "name", rows)
    categories = _column(items, "category", rows)
    image_urls = _column(items, "image_url", rows)
    urls = _column(items, "url", rows)
    ids = (
        _column(items, "item_id", rows)
        if "item_id" in items.columns
        else [str(items.index[i]) for i in rows]
    )

    results: list[str | None] = [None] * len(rows)
    pending: list[int] = []
    wanted: dict[str, list[int]] = {}
    for position in range(len(rows)):
        direct = safe_url(image_urls[position])
        if direct:
            results[position] = direct
            continue
        mid = sketchfab_model_id(ids[position], urls[position], sketchfab=is_sketchfab)
        if mid:
            wanted.setdefault(mid, []).append(position)

    if wanted:
        path = cache.cache_path()
        found = cache.lookup(path, wanted)
        missing = [mid for mid in wanted if mid not in found]
        if missing and timeout > 0:
            found.update(
                fetch_many(
                    missing,
                    timeout=float(timeout),
                    max_workers=max_workers,
                    session=session,
                    path=path,
                )
            )
        for mid, positions in wanted.items():
            answer = found.get(mid)
            if answer is not None and answer.url:
                for position in positions:
                    results[position] = answer.url
            elif answer is None or not answer.final:
                pending.extend(positions)

    sources = [
        value if value else placeholder_data_uri(names[i], categories[i])
        for i, value in enumerate(results)
    ]
    return ImageBatch(sources, sorted(pending))


def resolve_images(
    dataset_or_items: Any,
    item_indices: Iterable[int],
    *,
    timeout: float = 2.0,
    max_workers: int = 8,
    session: Any = None,
) -> list[str]:
    """One image source per item, ready for ``<img src>``; never raises for network trouble.

    Parameters
    ----------
    dataset_or_items : Dataset or pandas.DataFrame
        A :class:`~recsys_core.dataset.Dataset`, or its ``items`` table (columns ``item_id``,
        ``name``, ``url``, ``image_url``, ``category``; rows in item-index order). A frame whose
        ``attrs["dataset"]`` is ``"sketchfab"`` is treated like the Sketchfab dataset.
    item_indices : iterable of int, length n
        Item indices (matrix columns) to resolve; only these are looked up.
    timeout : float
        The most this call waits for the network, in seconds, for the whole batch; requests still
        running are cut ``timeout`` seconds later. 0 uses the cache only.
    max_workers : int
        Concurrent requests to the image API.
    session : requests.Session, optional
        Session to send requests with (a fresh one per call when None). A given session is used
        as it is: redirects are still not followed and every read is bounded by the time left,
        but its sockets are not cut at the hard stop.

    Returns
    -------
    list of str, length n
        An http(s) URL or a ``data:image/`` URI per item, in the order asked; a generated
        placeholder (:func:`placeholder_data_uri`) wherever no image could be found in time.

    Raises
    ------
    IndexError
        If an index is outside the items table (a bug in the caller, not a network problem).
    """
    return resolve_image_batch(
        dataset_or_items, item_indices, timeout=timeout, max_workers=max_workers, session=session
    ).sources
