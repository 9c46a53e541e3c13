"""The view state: everything that makes a view lives in the URL's query parameters.

A link reopens exactly the same view; every change of item, user or model is a new browser
history entry (Streamlit pushes query-parameter changes), so the back button walks back through
the items visited. Pages read the view with :func:`view` and change it with :func:`set_view`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

DATASET = "dataset"
MODEL = "model"
ITEM = "item"
USER = "user"
K = "k"
KEYS = (DATASET, MODEL, ITEM, USER, K)

DEFAULT_DATASET = "demo"
DEFAULT_K = 12
K_MIN, K_MAX = 5, 50


@dataclass(frozen=True)
class View:
    dataset: str = DEFAULT_DATASET
    models: tuple[str, ...] = ()
    item: str | None = None
    user: str | None = None
    k: int = DEFAULT_K
    extra: dict = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        return self.models[0] if self.models else None


def _clamp_k(raw: str | None) -> int:
    try:
        value = int(raw) if raw is not None else DEFAULT_K
    except ValueError:
        value = DEFAULT_K
    return max(K_MIN, min(K_MAX, value))


def view() -> View:
    """The current view, read from the query parameters (with defaults)."""
    params = st.query_params
    models = tuple(m for m in (params.get(MODEL) or "").split(",") if m)
    return View(
        dataset=params.get(DATASET) or DEFAULT_DATASET,
        models=models,
        item=params.get(ITEM) or None,
        user=params.get(USER) or None,
        k=_clamp_k(params.get(K)),
        extra={k: v for k, v in params.to_dict().items() if k not in KEYS},
    )


def set_view(**changes: object) -> None:
    """Change some query parameters (None removes one) in one step: one browser history entry.

    ``models=[...]`` sets the comma-separated ``model`` parameter. Nothing happens when nothing
    changes.
    """
    current = st.query_params.to_dict()
    wanted = dict(current)
    for key, value in changes.items():
        if key == "models":
            key, value = MODEL, ",".join(value) if value else None  # type: ignore[arg-type]
        if value is None or value == "":
            wanted.pop(key, None)
        else:
            wanted[key] = str(value)
    if wanted != current:
        st.query_params.from_dict(wanted)


def link(page: str, **params: object) -> str:
    """A relative link to a page with query parameters (for thumbnails in HTML)."""
    from urllib.parse import urlencode

    clean = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return f"./{page}?{urlencode(clean)}" if clean else f"./{page}"
