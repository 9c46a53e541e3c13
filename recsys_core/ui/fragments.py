"""Parts of a page that rerun alone (``st.fragment``), kept in step with the rest of the page.

A control inside a fragment reruns only that fragment: changing the colouring of the Embeddings
map, k on Evaluate or the long-tail view on Data redraws that part, not the sidebar, the title or
the other sections. A fragment reads the view from the URL on every run (never from arguments
captured at the page's full run), so it always shows what the URL says.

One exception: the sidebar's page links carry the dataset, model(s), item and user
(:data:`recsys_core.ui.state.CARRIED`). When a control inside a fragment changes one of those
(a clicked point becomes the item, a second model is added), the whole page reruns instead, so
the sidebar and its links follow. A page calls :func:`mark_full_run` in its full run, before
its fragments; :func:`fragment` compares against it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from . import state

F = TypeVar("F", bound=Callable[..., Any])
FULL_RUN_VIEW = "fragments_full_run_view"


def mark_full_run() -> None:
    """Remember the carried parameters this full run drew the sidebar with."""
    st.session_state[FULL_RUN_VIEW] = state.carried()


def stale() -> bool:
    """True when the URL's carried parameters differ from those of the last full run."""
    seen = st.session_state.get(FULL_RUN_VIEW)
    return seen is not None and seen != state.carried()


def fragment(func: F) -> F:
    """``st.fragment``, rerunning the whole page instead when the fragment's own rerun finds a
    carried parameter changed since the full run (see the module docstring)."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if stale():
            st.rerun()
        return func(*args, **kwargs)

    return st.fragment(run)  # type: ignore[return-value]
