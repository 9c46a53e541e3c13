"""The app's pages, defined once: app.py's ``st.navigation`` and the sidebar's links read the
same list, so they cannot drift apart.

Streamlit's own page list is hidden (``position="hidden"``); the sidebar draws the links itself
with ``st.page_link``, each carrying the view (dataset, model(s), item, user) to the next page,
and Streamlit marks the current page's link. Moving to a page never reloads the browser page.
"""

from __future__ import annotations

import contextvars
import runpy
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import streamlit as st

from . import state

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"
STEERING = "rerank"
"""The steering's URL parameter (``recsys_core.ui.steering.PARAM``): the links carry it too."""
GOTO = "_nav_goto"
"""session_state key: a page a thumbnail click asked for (followed at the start of the next run)."""


@dataclass(frozen=True)
class PageInfo:
    script: str
    """Path of the page's script, relative to app.py."""
    title: str
    icon: str
    url_path: str
    """The page's path in the URL ("" for the start page, at /)."""
    section: str
    default: bool = False


PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/start.py", "Start", ":material/home:", "", "Browse", default=True),
    PageInfo("pages/similar.py", "Similar items", ":material/grid_view:", "similar", "Browse"),
    PageInfo("pages/compare.py", "Compare", ":material/compare:", "compare", "Browse"),
    PageInfo("pages/users.py", "Users", ":material/person:", "users", "Browse"),
    PageInfo(
        "pages/embeddings.py", "Embeddings", ":material/scatter_plot:", "embeddings", "Understand"
    ),
    PageInfo("pages/evaluate.py", "Evaluate", ":material/leaderboard:", "evaluate", "Understand"),
    PageInfo("pages/data.py", "Data", ":material/dataset:", "data", "Understand"),
)
BY_PATH = {info.url_path: info for info in PAGES}


def pages() -> dict[str, list[st.Page]]:
    """The pages for ``st.navigation``, by section."""
    sections: dict[str, list[st.Page]] = {}
    for info in PAGES:
        page = st.Page(
            info.script,
            title=info.title,
            icon=info.icon,
            url_path=info.url_path or None,
            default=info.default,
        )
        sections.setdefault(info.section, []).append(page)
    return sections


def links(params: dict[str, str] | None = None) -> None:
    """The page links (in the current container), each carrying ``params``: by default the
    URL's dataset, model(s), item and user (:func:`recsys_core.ui.state.carried`).

    Draw them once the page has written its defaults to the URL (the model, item or user it
    shows), so the links carry what is on screen.
    """
    params = state.carried() if params is None else params
    steering = st.query_params.get(STEERING)
    if params and steering:  # the sidebar's Steer the lists (recsys_core/ui/steering.py)
        params = {**params, STEERING: steering}
    for section in dict.fromkeys(info.section for info in PAGES):
        st.caption(section)
        for info in (i for i in PAGES if i.section == section):
            st.page_link(info.script, label=info.title, icon=info.icon, query_params=params)


# ------------------------------------------------------------------------ the main area's status
OPENED = "_nav_opened"
"""session_state key: set on a visit's first run."""
OPENING = "Opening the dataset… a large one takes a while the first time."
_STATUS: contextvars.ContextVar = contextvars.ContextVar("recsys_status", default=None)


def open_status() -> None:
    """The top of the main area, for the page to say what it is loading (app.py, before the
    page runs, so a visit's first run says so before the page's modules are even imported)."""
    slot = st.empty()
    if OPENED not in st.session_state:  # a visit's first run: it may load for a while
        st.session_state[OPENED] = True
        slot.info(OPENING, icon=":material/hourglass_top:")
        _STATUS.set((slot, True))
    else:
        _STATUS.set((slot, False))


def status() -> tuple:
    """``(slot, opening)``: the ``st.empty`` at the top of the main area and whether it shows
    the first run's note (a new one, without note, when app.py did not make one)."""
    found = _STATUS.get()
    _STATUS.set(None)
    return found if found is not None else (st.empty(), False)


# ------------------------------------------------------------------ thumbnails to another page
def go(url_path: str, query: str) -> None:
    """Ask for ``url_path`` with the query string ``query``; :func:`follow` switches to it.

    For widget callbacks (a thumbnail click), which cannot switch pages themselves.
    """
    if url_path in BY_PATH:
        st.session_state[GOTO] = (url_path, query)


def follow() -> None:
    """Switch to the page a thumbnail click asked for, if any (app.py, after ``st.navigation``).

    ``st.switch_page`` changes page without reloading the browser page; the grid already put
    the same query string on the current history entry, so the move adds one entry.
    """
    goto = st.session_state.pop(GOTO, None)
    if not goto:
        return
    url_path, query = goto
    info = BY_PATH.get(url_path)
    if info is not None:
        st.switch_page(info.script, query_params=parse_qsl(query, keep_blank_values=True))


# ------------------------------------------------------------------------ deep links, first visit
def ensure_app_navigation() -> None:
    """Run the page through app.py's ``st.navigation`` even on a fresh server's first deep link.

    Why: when a ``pages/`` folder sits beside the entry script, Streamlit (1.67) starts in its
    legacy multipage mode (``PagesManager.uses_pages_directory``, set when the first session
    starts): until some session has run ``st.navigation``, the script runner calls
    ``script_runner._mpa_v1``, which runs the requested page's script directly, without
    app.py. The ``pages/`` folder is part of the product's layout and Streamlit has no
    supported switch for this, so the page (whose first call is the sidebar's, which calls
    this) runs app.py in place: its ``st.navigation`` turns the legacy mode off for good and
    runs this page again, inside it, with the app's pages and sidebar links. (Not a rerun: a
    rerun would drop the widget event that started this run.)

    Relies on private Streamlit names; ``tests/app/test_navigation.py`` fails loudly if an
    upgrade renames or removes them.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(APP_SCRIPT), run_name="__main__")
        st.stop()
