"""Widgets shared by the pages: item and user pickers, the selected-item panel, thumbnail grids.

Every user-generated string reaches HTML only through ``recsys_core.html`` (escaped, URLs
allow-listed). A thumbnail links to a page with the current view and its item
(:func:`item_link`); clicking it is a rerun in place (:mod:`recsys_core.ui.grid_component`)
that changes the URL, so the browser's back button walks back through the items visited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from .. import html
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UserError
from ..thumbnails import parse_item_reference
from . import grid_component, loaders, search_box, state, text

SEARCH_LIMIT = 40


def item_link(page: str, view: state.View | None, item_id: str, **extra: object) -> str:
    """``/page?...``: the current view (every URL parameter) with ``item`` and ``extra`` changed.

    ``view`` is unused (kept for callers); the link is built from the URL as it is when drawn.
    """
    return state.href(page, **{state.ITEM: item_id, **extra})


def item_label(data: Dataset, index: int) -> str:
    category = data.items.at[int(index), "category"]
    count = int(data.item_counts[int(index)])
    return (
        f"{data.item_name(index)} · {category} · {count:,} likes"
        if category
        else (f"{data.item_name(index)} · {count:,} likes")
    )


def suggestions(
    data: Dataset, query: str, *, marked: dict[int, str] | None = None
) -> tuple[list[dict[str, str]], str]:
    """What the search box suggests for ``query``: (options, a note over them).

    Every word of the query, in any order, as the start of a word of the name
    (``Dataset.search_items``: "typewriter chrome" finds "Chrome Typewriter"), most liked
    first, up to :data:`SEARCH_LIMIT`; a pasted link or id suggests its item; no match, the
    closest names; an empty query, none (only a hint). ``marked`` adds a badge to some items
    (``{index: "selected"}``).

    Returns
    -------
    (options, note) : list of dict (``id``, ``name``, ``meta``, ``colour``, ``mark``: plain
        text, see :func:`recsys_core.ui.search_box.show`) and one line of plain text.
    """
    text = (query or "").strip()
    reference = parse_item_reference(text) if text else None
    if reference and data.has_item(reference):
        found, note = [data.item_index(reference)], "The item this link or id names"
    elif not text:
        found, note = [], "Type part of a name (words in any order), or paste an item link or id"
    else:
        found = data.search_items(text, limit=SEARCH_LIMIT).tolist()
        if found:
            many = " (the most liked first)" if len(found) == SEARCH_LIMIT else ""
            note = f"{len(found)} match{'es' if len(found) > 1 else ''}{many}"
        else:
            found = _all_but_one_word(data, text, n=5) or data.closest_items(text, n=5)
            note = f"No item has every word of “{text}”" + (
                "; the closest names:" if found else "; try part of a name."
            )
    marked = marked or {}
    options = []
    for index in found:
        index = int(index)
        category = str(data.items.at[index, "category"] or "")
        likes = f"{int(data.item_counts[index]):,} likes"
        options.append(
            {
                "id": data.item_id(index),
                "name": data.item_name(index),
                "meta": f"{category} · {likes}" if category else likes,
                "colour": html.category_colour(category),
                "mark": marked.get(index, ""),
            }
        )
    return options, note


def _all_but_one_word(data: Dataset, text: str, n: int) -> list[int]:
    """Items that have every word of ``text`` but one (a typo in one word), most liked
    first; [] for a one-word query."""
    words = text.split()
    if len(words) < 2:
        return []
    found: set[int] = set()
    for left_out in range(len(words)):
        rest = " ".join(words[:left_out] + words[left_out + 1 :])
        found.update(int(i) for i in data.search_items(rest, limit=n))
    return sorted(found, key=lambda i: (-int(data.item_counts[i]), i))[:n]


def resolve_pick(data: Dataset, chosen: str | None, query: str) -> int | None:
    """The item a pick in the search box names: the suggestion chosen, else what the query
    names (a pasted link or id), else its best match; None when nothing matches."""
    if chosen is not None and data.has_item(chosen):
        return data.item_index(chosen)
    text = (query or "").strip()
    if not text:
        return None
    reference = parse_item_reference(text)
    if reference and data.has_item(reference):
        return data.item_index(reference)
    matches = data.search_items(text, limit=1)
    return int(matches[0]) if len(matches) else None


def item_search(
    data: Dataset,
    *,
    key: str,
    label: str,
    placeholder: str,
    on_pick: Callable[[int], None],
    marked: dict[int, str] | None = None,
) -> None:
    """A search box over item names that suggests while typing (:mod:`.search_box`); a pick
    (Enter: the highlighted suggestion or the best match; or a click) calls ``on_pick(index)``
    once, in a callback, and the whole page reruns.

    Not a fragment of its own: a pick then reruns the page once, URL and all (a fragment
    would rerun itself first and the page after it, a moment in which the page looks done
    but still shows the old item). Typing reruns the page (or the fragment the box is in),
    cheaply: everything on it is cached.
    """

    def picked(chosen: str | None, query: str) -> None:
        index = resolve_pick(data, chosen, query)
        if index is not None:
            on_pick(index)

    typed = search_box.query(key)
    options, note = suggestions(data, typed, marked=marked)
    search_box.show(
        key=key,
        label=label,
        placeholder=placeholder,
        answered=typed,
        options=options,
        note=note,
        on_pick=picked,
    )


def item_picker(data: Dataset, current: int | None, key: str = "item") -> int | None:
    """Search box over names that suggests while typing, paste a link or id, or surprise me.

    Every pick is written to the URL by a callback (so it happens once, when the person acts:
    a search text left in the box never overrides the back button or a clicked thumbnail).
    Enter picks the highlighted suggestion (the most liked match unless the arrows moved it),
    a click picks that one; the text stays, and the box shows its suggestions again when
    focused. Returns the item index of the view (``current``).
    """

    def pick(index: int) -> None:
        state.set_view(item=data.item_id(int(index)))

    def on_surprise() -> None:
        rng = np.random.default_rng()
        weights = np.sqrt(data.item_counts.astype(float) + 1)
        pick(int(rng.choice(data.n_items, p=weights / weights.sum())))

    cols = st.columns([5, 1], vertical_alignment="bottom")
    with cols[0]:
        item_search(
            data,
            key=f"{key}_query",
            label="Find an item",
            placeholder="Search by name, or paste an item link or id",
            on_pick=pick,
            marked={} if current is None else {int(current): "selected"},
        )
    cols[1].button(
        "Surprise me",
        key=f"{key}_surprise",
        icon=":material/casino:",
        width="stretch",
        on_click=on_surprise,
    )
    return current


def k_slider(label: str, *, key: str) -> int:
    """How many items to show, bound to the URL's ``k`` (left out of it at the default)."""
    return state.bound(
        st.slider,
        label,
        key=key,
        param=state.K,
        default=state.DEFAULT_K,
        parse=state.parse_k,
        min_value=state.K_MIN,
        max_value=state.K_MAX,
    )


def selected_item_panel(data: Dataset, spec: str, index: int) -> None:
    """The selected item: its picture, name, category, likes, id, tags and a link to its page.

    Compact (about 150 px high) so the grid under it starts on a laptop's first screen. The
    picture never shows a broken-image icon: an ``image_url`` that cannot load leaves the
    item's generated picture in view (:func:`recsys_core.html.item_picture`).
    """
    image = loaders.images(data, spec, [index])[0]
    row = data.items.iloc[int(index)]
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.html(html.item_picture(name=row["name"], image_url=image, category=row["category"]))
    with right:
        text.subheader(row["name"])
        count = int(data.item_counts[int(index)])
        line = text.fmt("{:,} interactions · id {}", count, row["item_id"])
        if row["category"]:
            line = text.fmt("**{}** · ", row["category"]) + line
        st.markdown(line)
        tags = [str(tag) for tag in row["tags"]]
        st.html(
            html.score_chips(tags, empty_text="No tags.", link=("Open its page", row.get("url")))
        )


def grid(
    data: Dataset,
    spec: str,
    indices: Sequence[int],
    *,
    scores: Sequence[float] | None = None,
    page: str = "similar",
    view: state.View | None = None,
    captions: Sequence[str] | None = None,
    shared: set[int] | None = None,
    selected: int | None = None,
    min_width: int = 150,
    empty_text: str = "Nothing to show.",
    key: str | None = None,
) -> None:
    """A responsive grid of thumbnail cards; clicking a card opens it on ``page``.

    ``key`` names the grid (unique on the page); without one it is derived from what it shows.
    """
    view = view or state.view()
    indices = [int(i) for i in indices if int(i) >= 0]
    images = loaders.images(data, spec, indices) if indices else []
    columns = ["item_id", "name", "category", "url", "tags"]
    rows = data.items.iloc[indices][columns].to_dict("records") if indices else []
    cards = []
    for position, (index, row) in enumerate(zip(indices, rows, strict=True)):
        cards.append(
            html.thumbnail_card(
                name=row["name"],
                image_url=images[position],
                score=None if scores is None else float(scores[position]),
                category=row["category"],
                url=row.get("url", ""),
                href=item_link(page, view, str(row["item_id"])),
                tags=list(row["tags"])[:3],
                rank=position + 1,
                caption=captions[position] if captions else "",
                shared=bool(shared and index in shared),
                selected=selected == index,
            )
        )
    markup = html.thumbnail_grid_html(cards, min_width=min_width, empty_text=empty_text)
    grid_component.show(markup, key=key or grid_key(page, indices, empty_text))


def items_table(
    data: Dataset,
    indices: Sequence[int],
    scores: Sequence[float] | None = None,
    **columns: object,
) -> pd.DataFrame:
    """What a grid shows, as a table: ``columns`` (the same value on every row, e.g. the
    model), then rank, item id, name, category and score (empty without scores).

    Returns
    -------
    pandas.DataFrame, shape [n_items, len(columns) + 5]
    """
    indices = [int(i) for i in indices if int(i) >= 0]
    frame = pd.DataFrame({name: [value] * len(indices) for name, value in columns.items()})
    frame["rank"] = np.arange(1, len(indices) + 1)
    frame["item_id"] = [data.item_id(i) for i in indices]
    frame["name"] = [data.item_name(i) for i in indices]
    frame["category"] = [str(data.items.at[i, "category"] or "") for i in indices]
    frame["score"] = (
        [float(scores[n]) for n in range(len(indices))] if scores is not None else np.nan
    )
    return frame


def download_csv(frame: pd.DataFrame, *, file_name: str, key: str, help: str) -> None:
    """A compact "CSV" button that downloads ``frame`` (text cells safe from spreadsheet
    formulas: :func:`recsys_core.html.csv_text`), without rerunning the page."""
    st.download_button(
        "CSV",
        data=html.csv_text(frame),
        file_name=file_name,
        mime="text/csv",
        key=key,
        help=help,
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
    )


def grid_key(page: str, indices: Sequence[int], note: str = "") -> str:
    """A key for a grid drawn without one: the same for the same cards on the same page."""
    import hashlib

    digest = hashlib.blake2b(f"{page}|{list(indices)}|{note}".encode(), digest_size=8)
    return f"grid_{page}_{digest.hexdigest()}"


def resolve_item(data: Dataset, item_id: str | None) -> int | None:
    """The index of the URL's item, or None with a friendly message naming the closest items."""
    if not item_id:
        return None
    try:
        return data.item_index(item_id)
    except UserError as error:
        text.warning(str(error))
        return None


def model_or_stop(data: Dataset, spec: str, model_id: str | None) -> Recommender:
    """The view's model, or a friendly stop that says how to get one (on a fresh store, the
    demo's first model is trained here: :mod:`recsys_core.ui.first_visit`)."""
    if not model_id:
        from .first_visit import no_model_or_stop

        no_model_or_stop(data)
    try:
        return loaders.model(model_id, data, spec)
    except UserError as error:
        text.error(str(error))
        st.stop()
    raise AssertionError("unreachable")
