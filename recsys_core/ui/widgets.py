"""Widgets shared by the pages: item and user pickers, the selected-item panel, thumbnail grids.

Every user-generated string reaches HTML only through ``recsys_core.html`` (escaped, URLs
allow-listed). A thumbnail links to a page with the current view and its item
(:func:`item_link`); clicking it is a rerun in place (:mod:`recsys_core.ui.grid_component`)
that changes the URL, so the browser's back button walks back through the items visited.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from .. import html
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UserError
from ..thumbnails import parse_item_reference
from . import grid_component, loaders, state, text

SEARCH_LIMIT = 40


def item_link(page: str, view: state.View | None, item_id: str, **extra: object) -> str:
    """``/page?...``: the current view (every URL parameter) with ``item`` and ``extra`` changed.

    ``view`` is unused (kept for callers); the link is built from the URL as it is when drawn.
    """
    return state.href(page, **{state.ITEM: item_id, **extra})


def item_label(data: Dataset, index: int) -> str:
    category = data.items.at[int(index), "category"]
    count = int(data.item_counts[int(index)])
    return f"{data.item_name(index)} · {category} · {count:,} likes" if category else (
        f"{data.item_name(index)} · {count:,} likes"
    )


def item_picker(data: Dataset, current: int | None, key: str = "item") -> int | None:
    """Search box over names (type-ahead), paste a link or id, or surprise me.

    Every pick is written to the URL by a widget callback (so it happens once, when the person
    acts: a search text left in the box never overrides the back button or a clicked thumbnail).
    Enter picks the most popular match at once, and a list of the other matches stays open to
    choose from. Returns the item index of the view (``current``).
    """
    query_key, match_key = f"{key}_query", f"{key}_match"

    def pick(index: int) -> None:
        state.set_view(item=data.item_id(int(index)))

    def on_query() -> None:
        query = (st.session_state.get(query_key) or "").strip()
        st.session_state.pop(match_key, None)
        if not query:
            return
        reference = parse_item_reference(query)
        if reference and data.has_item(reference):
            pick(data.item_index(reference))
            return
        matches = data.search_items(query, limit=SEARCH_LIMIT)
        if len(matches):
            pick(int(matches[0]))
            st.session_state[match_key] = int(matches[0])

    def on_match() -> None:
        chosen = st.session_state.get(match_key)
        if chosen is not None:
            pick(int(chosen))

    def on_surprise() -> None:
        rng = np.random.default_rng()
        weights = np.sqrt(data.item_counts.astype(float) + 1)
        st.session_state.pop(query_key, None)
        st.session_state.pop(match_key, None)
        pick(int(rng.choice(data.n_items, p=weights / weights.sum())))

    cols = st.columns([5, 1], vertical_alignment="bottom")
    cols[0].text_input(
        "Find an item",
        key=query_key,
        placeholder="Search by name, or paste an item link or id",
        on_change=on_query,
    )
    cols[1].button(
        "Surprise me",
        key=f"{key}_surprise",
        icon=":material/casino:",
        width="stretch",
        on_click=on_surprise,
    )
    query = (st.session_state.get(query_key) or "").strip()
    if query and not (parse_item_reference(query) and data.has_item(parse_item_reference(query))):
        matches = [int(i) for i in data.search_items(query, limit=SEARCH_LIMIT)]
        if not matches:
            close = data.closest_items(query)
            hint = "; closest: " + ", ".join(data.item_name(i) for i in close) if close else ""
            text.warning(f"No item matches {query!r}{hint}.")
        else:
            options: dict = {}
            if st.session_state.get(match_key) not in matches:  # no pick yet: start from the view
                st.session_state.pop(match_key, None)
                options["index"] = matches.index(current) if current in matches else None
            more = " (the most popular shown)" if len(matches) == SEARCH_LIMIT else ""
            st.selectbox(
                f"{len(matches)} match(es){more}",
                matches,
                format_func=lambda i: item_label(data, i),
                key=match_key,
                placeholder="Choose one of the matches",
                on_change=on_match,
                **options,
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
    """The selected item, large: thumbnail, name, category, tags, link to its page, interactions."""
    image = loaders.images(data, spec, [index])[0]
    row = data.items.iloc[int(index)]
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.html(
        f'<img src="{html.escape(html.safe_url(image))}" alt="{html.escape(row["name"])}" '
        'style="width:100%;max-width:320px;border-radius:14px;'
        'box-shadow:0 2px 10px rgba(0,0,0,.12)">'
    )
    with right:
        text.subheader(row["name"])
        tags = ", ".join(map(str, row["tags"])) if len(row["tags"]) else "none"
        details = [
            text.fmt("**Category:** {}", row["category"] or "—"),
            text.fmt("**Tags:** {}", tags),
            text.fmt("**Interactions:** {:,}", int(data.item_counts[int(index)])),
            text.fmt("**Id:** {}", row["item_id"]),
        ]
        st.markdown("  \n".join(details))
        link = html.safe_href(row.get("url", ""))
        if link:
            st.link_button("Open its page", link, icon=":material/open_in_new:")


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
