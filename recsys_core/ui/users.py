"""The Users page's pieces: activity bands, the user picker, history order, "because you liked".

Activity bands (by the number of interactions in the user's row):

- *active*: the top decile, at least the 90th percentile of interactions per user;
- *light*: the bottom quartile (at most the 25th percentile) among users with at least
  ``LIGHT_MIN`` interactions, so a light user still has a history to explain from.

History order: most recent first when the dataset has timestamps; otherwise the most
characteristic first, which here means the least popular first (an item few people like says
more about a taste than a best-seller does, the idea behind IDF weighting); ties by index.

New-user (cold start) mode is in the URL too: ``mode=new&picks=<item ids, comma-separated>``
(:func:`recsys_core.ui.state.dump_list`), so the picks survive a reload, a link and the back
button. Every action adds at most one pick (Enter in the search box adds the highlighted
suggestion, the best match unless the arrows moved it; a click on a suggestion adds that one),
except *Three of one taste*, which says it adds three.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from .. import html
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..errors import UnknownIdError
from . import grid_component, loaders, state, text, widgets

ACTIVE_QUANTILE = 0.9
LIGHT_QUANTILE = 0.25
LIGHT_MIN = 3
HISTORY_LIMIT = 24
USER_SEARCH_LIMIT = 40
BANDS = ("active", "light")

# widget keys
MODE = "users_mode"
NEW_QUERY = "users_new_query"
NEW_PICKS = "users_new_picks"

MODES = {"known": ":material/person: A user in the data", "new": ":material/person_add: A new user"}


# ------------------------------------------------------------------------------ core helpers
def activity_band(data: Dataset, band: str) -> np.ndarray:
    """Indices of the users in an activity band (see the module docstring), ascending.

    Parameters
    ----------
    data : Dataset
    band : {"active", "light"}

    Returns
    -------
    np.ndarray of int64, shape [n_band_users]
        Empty when no user qualifies (e.g. every user has fewer than ``LIGHT_MIN`` interactions).
    """
    counts = data.user_counts
    if band == "active":
        return np.flatnonzero(counts >= np.quantile(counts, ACTIVE_QUANTILE)).astype(np.int64)
    if band == "light":
        cut = np.quantile(counts, LIGHT_QUANTILE)
        return np.flatnonzero((counts >= LIGHT_MIN) & (counts <= cut)).astype(np.int64)
    raise ValueError(f"Unknown activity band {band!r}; use one of {', '.join(BANDS)}.")


def band_of(data: Dataset, user: int) -> str | None:
    """One user index's band: "active", "light" or None (in between)."""
    counts = data.user_counts
    count = counts[int(user)]
    if count >= np.quantile(counts, ACTIVE_QUANTILE):
        return "active"
    if LIGHT_MIN <= count <= np.quantile(counts, LIGHT_QUANTILE):
        return "light"
    return None


def random_user(
    data: Dataset, band: str, random_state: int | np.random.Generator | None = None
) -> int | None:
    """A user index drawn uniformly from an activity band (None if the band is empty)."""
    users = activity_band(data, band)
    if users.size == 0:
        return None
    rng = np.random.default_rng(random_state)
    return int(rng.choice(users))


def default_user(data: Dataset) -> int:
    """The user shown when the URL names none: a fixed draw (seed 0) among the active users."""
    drawn = random_user(data, "active", random_state=0)
    return drawn if drawn is not None else int(np.argmax(data.user_counts))


def history_order(data: Dataset, user: int) -> tuple[np.ndarray, str]:
    """The user's history, ordered for display, and how it is ordered (a short phrase).

    Returns
    -------
    (indices, how) : int64 array [n_history] (all of the user's items) and e.g. "most recent
        first" or "least popular first".
    """
    row = data.interactions[int(user)]
    items = row.indices.astype(np.int64)
    if items.size == 0:
        return items, "empty"
    if data.timestamps is not None:
        stamps = data.timestamps[int(user)]
        # timestamps share the interactions' sparsity (same sorted indices)
        lookup = dict(zip(stamps.indices.tolist(), stamps.data.tolist()))
        when = np.array([lookup.get(int(i), 0.0) for i in items])
        order = np.lexsort((items, -when))
        return items[order], "most recent first"
    popularity = data.item_counts[items]
    order = np.lexsort((items, popularity))
    return items[order], "least popular first"


def search_users(data: Dataset, query: str, limit: int = USER_SEARCH_LIMIT) -> np.ndarray:
    """User indices whose id contains ``query`` (case-insensitive), most active first."""
    text = str(query).strip().lower()
    if not text:
        return np.zeros(0, np.int64)
    hits = np.flatnonzero([text in uid.lower() for uid in data.user_ids.tolist()])
    hits = hits[np.argsort(-data.user_counts[hits], kind="stable")][:limit]
    return hits.astype(np.int64)


def explanations(
    model: Recommender, user: int, items: Sequence[int], top: int = 2
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """``model.explain`` for each recommended item: (contributing history items, shares).

    None when the model cannot explain (``model.supports("explain")`` is false).
    """
    if not model.supports("explain"):
        return None
    out = []
    for item in items:
        contributors, shares = model.explain(int(user), int(item), k=top)
        out.append((np.asarray(contributors, np.int64), np.asarray(shares, np.float64)))
    return out


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_explanations(
    model_id: str, fingerprint: str, spec: str, home: str, user: int, items: tuple[int, ...]
) -> list[tuple[list[int], list[float]]] | None:
    model = loaders.model(model_id, loaders.dataset(spec), spec)
    found = explanations(model, user, items)
    return None if found is None else [(c.tolist(), s.tolist()) for c, s in found]


def cached_explanations(
    model_id: str, data: Dataset, spec: str, user: int, items: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """:func:`explanations` for a stored model, cached per (model, user, items)."""
    found = _cached_explanations(
        model_id, data.fingerprint, spec, loaders.home(), int(user), tuple(int(i) for i in items)
    )
    if found is None:
        return None
    return [(np.asarray(c, np.int64), np.asarray(s, np.float64)) for c, s in found]


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def because_caption(
    data: Dataset, contributors: np.ndarray, shares: np.ndarray, *, short: bool = True
) -> str:
    """'because you liked Foo (42%) and Bar (17%)' (plain text; escaped where drawn); names
    cut to 30 characters unless ``short`` is False."""
    parts = [
        f"{_short(data.item_name(int(i))) if short else data.item_name(int(i))} ({share:.0%})"
        for i, share in zip(contributors, shares)
        if share > 0
    ]
    if not parts:
        return ""
    return "because you liked " + " and ".join(parts[:2])


def user_line(data: Dataset, user: int) -> str:
    """'u0042 · 57 interactions · active (top 10% by activity)' as Markdown-safe text."""
    count = int(data.user_counts[int(user)])
    band = band_of(data, user)
    label = {
        "active": "an active user (top 10% by activity)",
        "light": "a light user (bottom 25% by activity)",
    }.get(band or "", "")
    line = text.fmt("User **{}** · {:,} interactions", data.user_id(user), count)
    return line + (f" · {label}" if label else "")


# ------------------------------------------------------------------------------ widgets
def _set_user(user_id: str | None) -> None:
    if user_id:
        state.set_view(user=user_id)


def _on_random(data: Dataset, band: str, key: str) -> None:
    user = random_user(data, band)
    if user is None:
        st.session_state[f"{key}_{band}_missing"] = True
        return
    st.session_state[f"{key}_query"] = ""
    _set_user(data.user_id(user))


def _on_query(data: Dataset, key: str) -> None:
    query = str(st.session_state.get(f"{key}_query") or "").strip()
    if query and data.has_user(query):
        _set_user(query)


def _on_match(data: Dataset, key: str) -> None:
    picked = st.session_state.get(f"{key}_match")
    if picked is not None:
        _set_user(data.user_id(int(picked)))


def user_picker(data: Dataset, key: str = "users") -> None:
    """Search a user by id (suggestions when unknown), or draw an active or light one.

    Every choice goes straight to the URL (``state.set_view(user=...)``) in a callback; the
    caller reads the user from :func:`state.view`. Widget keys: ``<key>_query``,
    ``<key>_match``, ``<key>_random_active``, ``<key>_random_light``.
    """
    cols = st.columns([4, 2, 2], vertical_alignment="bottom")
    cols[0].text_input(
        "Find a user",
        key=f"{key}_query",
        placeholder=f"Type a user id, e.g. {data.example_user}",
        on_change=_on_query,
        args=(data, key),
    )
    for col, band, icon, hint in (
        (
            cols[1],
            "active",
            ":material/local_fire_department:",
            "Top 10% of users by number of interactions",
        ),
        (
            cols[2],
            "light",
            ":material/eco:",
            f"Bottom 25% by number of interactions, with at least {LIGHT_MIN}",
        ),
    ):
        col.button(
            f"A random {band} user",
            key=f"{key}_random_{band}",
            icon=icon,
            width="stretch",
            on_click=_on_random,
            args=(data, band, key),
            help=hint,
        )
        if st.session_state.pop(f"{key}_{band}_missing", False):
            text.warning(f"No {band} user in {data.label}; search by id instead.")
    query = str(st.session_state.get(f"{key}_query") or "").strip()
    if query and not data.has_user(query):
        matches = search_users(data, query)
        if len(matches) == 0:
            try:
                data.user_index(query)
            except UnknownIdError as error:
                text.warning(str(error))
            return
        st.selectbox(
            f"{len(matches)} matching user(s)",
            [int(u) for u in matches],
            index=None,
            placeholder="Pick one of the matching users",
            format_func=lambda u: f"{data.user_id(u)} · {int(data.user_counts[u]):,} interactions",
            key=f"{key}_match",
            on_change=_on_match,
            args=(data, key),
        )


def resolve_user(data: Dataset, user_id: str | None) -> int | None:
    """The index of the URL's user, or None with a warning naming close ids."""
    if not user_id:
        return None
    try:
        return data.user_index(user_id)
    except UnknownIdError as error:
        text.warning(str(error))
        return None


# ------------------------------------------------------------------------------ drawing
WHY_CSS = """
.ux-cell{display:flex;flex-direction:column;gap:5px;min-width:0}
.ux-cell>.rx-card{flex:1}
.ux-why{display:flex;align-items:center;gap:6px;min-width:0;font-size:.7rem;opacity:.85}
.ux-why-label{flex:none;opacity:.75}
.ux-mini{position:relative;flex:1 1 0;display:block;min-width:0;max-width:60px;
 aspect-ratio:4/3;border-radius:7px;
 overflow:hidden;background:var(--rx-accent);box-shadow:0 0 0 1px rgba(127,127,127,.25)}
.ux-mini img{display:block;width:100%;height:100%;object-fit:cover}
.ux-share{position:absolute;right:2px;bottom:2px;padding:0 4px;border-radius:999px;
 font-size:.6rem;font-weight:600;line-height:1.4;color:#fff;background:rgba(15,15,20,.72)}
""".strip()


def recommendation_grid(
    data: Dataset,
    spec: str,
    indices: Sequence[int],
    scores: Sequence[float],
    why: list[tuple[np.ndarray, np.ndarray]] | None,
    *,
    view: state.View,
    min_width: int = 150,
    empty_text: str = "No recommendations.",
    key: str = "users_recommendations",
) -> None:
    """Recommendation cards, each with its "because you liked" caption and, under the card, the
    contributing history items as small thumbnails with their share. Clicks go to /similar."""
    indices = [int(i) for i in indices if int(i) >= 0]
    contributors = sorted({int(c) for pair in (why or []) for c in pair[0]})
    sources = loaders.images(data, spec, indices + contributors) if indices else []
    image_of = dict(zip(indices + contributors, sources))
    cells = []
    for position, index in enumerate(indices):
        row = data.items.iloc[index]
        caption = because_caption(data, *why[position]) if why else ""
        card = html.thumbnail_card(
            name=row["name"],
            image_url=image_of.get(index, ""),
            score=float(scores[position]),
            category=row["category"],
            url=row.get("url", ""),
            href=widgets.item_link("similar", view, str(row["item_id"])),
            tags=list(row["tags"])[:3],
            rank=position + 1,
            caption=caption,
        )
        minis = ""
        if why:
            for item, share in zip(*why[position]):
                if share <= 0:
                    continue
                item = int(item)
                name = data.item_name(item)
                href = html.safe_internal_href(
                    widgets.item_link("similar", view, data.item_id(item))
                )
                colour = html.category_colour(data.items.at[item, "category"])
                minis += (
                    f'<a class="ux-mini" href="{html.escape(href)}" target="_self" '
                    f'style="--rx-accent:{colour}" '
                    f'title="{html.escape(f"{name}: {share:.0%} of the score")}">'
                    f'<img src="{html.escape(html.safe_url(image_of.get(item, "")))}" '
                    f'alt="{html.escape(name)}" loading="lazy">'
                    f'<span class="ux-share">{share:.0%}</span></a>'
                )
        why_row = (
            f'<div class="ux-why"><span class="ux-why-label">because of</span>{minis}</div>'
            if minis
            else ""
        )
        cells.append(html.SafeHtml(f'<div class="ux-cell">{card}{why_row}</div>'))
    grid_component.show(
        f"<style>{WHY_CSS}</style>"
        + html.thumbnail_grid_html(cells, min_width=min_width, empty_text=empty_text),
        key=key,
    )


def mode_control() -> str:
    """A user in the data or a new user: the URL's ``mode`` ("known" when absent)."""
    return state.bound(
        st.segmented_control,
        "Who",
        key=MODE,
        param=state.MODE,
        default="known",
        valid=list(MODES),
        options=list(MODES),
        format_func=MODES.get,
        required=True,
        label_visibility="collapsed",
    )


# ------------------------------------------------------------------------------ new user
def picks_in_url(data: Dataset) -> list[str]:
    """The new user's picks named by the URL (item ids of ``data``, in order, no repeats)."""
    return [i for i in state.parse_list(st.query_params.get(state.PICKS)) if data.has_item(i)]


def _set_picks(picks: Sequence[str]) -> None:
    state.set_view(**{state.PICKS: state.dump_list(picks) if picks else None})


def _add_pick(data: Dataset, index: int) -> None:
    picks = picks_in_url(data)
    item_id = data.item_id(int(index))
    if item_id not in picks:
        _set_picks([*picks, item_id])


def _on_add_surprise(data: Dataset) -> None:
    """Add three items a person with one taste might like: popular items of one category."""
    rng = np.random.default_rng()
    categories = data.items["category"].replace("", np.nan).dropna().unique()
    if len(categories):
        category = rng.choice(categories)
        pool = np.flatnonzero(data.items["category"].to_numpy() == category)
    else:
        pool = np.arange(data.n_items)
    weights = data.item_counts[pool].astype(float) + 1.0
    chosen = rng.choice(pool, size=min(3, len(pool)), replace=False, p=weights / weights.sum())
    picks = picks_in_url(data)
    picks += [i for i in (data.item_id(int(x)) for x in chosen) if i not in picks]
    _set_picks(picks)


def new_user_picks(data: Dataset) -> list[int]:
    """Search items and add them one at a time; returns the picks' indices (from the URL).

    The search box suggests while typing (:func:`recsys_core.ui.widgets.item_search`); each
    pick adds one item. The picks are a multiselect of the picks only (remove one with its
    cross), so typing in the multiselect never adds anything.
    """
    picks = picks_in_url(data)
    cols = st.columns([4, 2, 2], vertical_alignment="bottom")
    with cols[0]:
        widgets.item_search(
            data,
            key=NEW_QUERY,
            label="Search items to add",
            placeholder="Part of a name, then Enter adds the best match",
            on_pick=functools.partial(_add_pick, data),
            marked={data.item_index(i): "added" for i in picks},
        )
    cols[1].button(
        "Three of one taste",
        key="users_new_surprise",
        icon=":material/casino:",
        width="stretch",
        on_click=_on_add_surprise,
        args=(data,),
        help="Add three popular items of one random category",
    )
    cols[2].button(
        "Start again",
        key="users_new_clear",
        icon=":material/restart_alt:",
        width="stretch",
        on_click=_set_picks,
        args=([],),
        disabled=not picks,
    )
    chosen = state.bound(
        st.multiselect,
        "Items this new user liked",
        key=NEW_PICKS,
        param=state.PICKS,
        default=[],
        parse=lambda raw: [i for i in state.parse_list(raw) if data.has_item(i)],
        dump=state.dump_list,
        options=picks,
        format_func=lambda i: widgets.item_label(data, data.item_index(i)),
        placeholder="Search above to add items",
    )
    return [data.item_index(i) for i in chosen]


# ------------------------------------------------------------------------------ export
def export_table(
    data: Dataset,
    *,
    user: str,
    model: str,
    first: tuple[str, Sequence[int]],
    recommended: Sequence[int],
    scores: Sequence[float],
    why: list[tuple[np.ndarray, np.ndarray]] | None = None,
    steering: str = "",
) -> pd.DataFrame:
    """What the page shows, as one table: the items on the left (``first``: its list name,
    "history" or "pick", and the items in the order shown), then the recommendations with
    their scores and, when the model explains, "because you liked ...".

    ``steering`` (the canonical re-ranking string of :mod:`recsys_core.ui.steering`) adds a
    last column, ``steering``, on the recommendations' rows, when the lists are steered.

    Returns
    -------
    pandas.DataFrame, shape [len(first items) + len(recommended), 9 or 10]
        Columns: user_id, list, rank, item_id, name, category, score, because, model (and
        steering).
    """
    name, shown = first
    left = widgets.items_table(data, shown, None, user_id=user, list=name)
    left["because"] = ""
    right = widgets.items_table(data, recommended, scores, user_id=user, list="recommended")
    right["because"] = [
        because_caption(data, *why[n], short=False) if why else "" for n in range(len(right))
    ]
    table = pd.concat([left, right], ignore_index=True)
    table["model"] = model
    if steering:
        table["steering"] = [steering if name == "recommended" else "" for name in table["list"]]
    return table
