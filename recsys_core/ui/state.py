"""The view state: everything that makes a view lives in the URL's query parameters.

A link reopens exactly the same view; every change of item, user or model is a new browser
history entry (Streamlit pushes query-parameter changes), so the back button walks back through
the items visited. Pages read the view with :func:`view` and change it with :func:`set_view`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

DATASET = "dataset"
MODEL = "model"
ITEM = "item"
USER = "user"
K = "k"
MODE = "mode"
PICKS = "picks"
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


def parse_k(raw: str | None) -> int:
    """The URL's ``k`` as an int within [K_MIN, K_MAX] (the default when absent or not a number)."""
    try:
        value = int(raw) if raw is not None else DEFAULT_K
    except ValueError:
        value = DEFAULT_K
    return max(K_MIN, min(K_MAX, value))


def view() -> View:
    """The current view, read from the query parameters (with defaults)."""
    params = st.query_params
    models = tuple(parse_list(params.get(MODEL)))
    return View(
        dataset=params.get(DATASET) or DEFAULT_DATASET,
        models=models,
        item=params.get(ITEM) or None,
        user=params.get(USER) or None,
        k=parse_k(params.get(K)),
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
            key, value = MODEL, dump_list(value) if value else None  # type: ignore[arg-type]
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


def href(page: str, **changes: object) -> str:
    """A link to ``page`` with the current view changed by ``changes`` (None removes one).

    Every parameter of the URL is kept, in order, so the link opens the same view with only
    the change (a thumbnail: ``href("similar", item="i42")``), and so its query string is the
    one Streamlit writes for the same parameters (both use ``urllib.parse.urlencode``): a
    thumbnail grid can move to another page with one browser-history entry.
    """
    from urllib.parse import urlencode

    params = st.query_params.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"/{page}?{urlencode(params)}" if params else f"/{page}"


def dump_list(values: Sequence[str]) -> str:
    """Ids as one URL value, comma-separated (``%`` and ``,`` inside an id escaped)."""
    return ",".join(str(v).replace("%", "%25").replace(",", "%2C") for v in values)


def parse_list(raw: str | None) -> list[str]:
    """The ids of :func:`dump_list`, in order, without empties or repeats."""
    from urllib.parse import unquote

    parts = (unquote(part) for part in (raw or "").split(","))
    return list(dict.fromkeys(part for part in parts if part))


# ------------------------------------------------------------------------ widgets bound to the URL
_MISSING = object()


def read(
    param: str,
    default: Any,
    parse: Callable[[str], Any] = str,
    valid: Callable[[Any], bool] | Sequence | None = None,
) -> Any:
    """The URL's value of ``param``, parsed; ``default`` when absent, unparsable or not valid.

    ``valid`` is a predicate or a collection of allowed values.
    """
    raw = st.query_params.get(param)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except (TypeError, ValueError):
        return default
    if valid is not None:
        ok = valid(value) if callable(valid) else value in valid
        if not ok:
            return default
    return value


def bound(
    widget: Callable[..., Any],
    label: str,
    *,
    key: str,
    param: str,
    default: Any,
    parse: Callable[[str], Any] = str,
    dump: Callable[[Any], str] = str,
    valid: Callable[[Any], bool] | Sequence | None = None,
    reset: Sequence[str] = (),
    current: Any = _MISSING,
    **kwargs: Any,
) -> Any:
    """Draw ``widget`` (``st.selectbox``, ``st.slider``…) bound to the URL's ``param``.

    The URL is the one source of truth: before drawing, the widget's value is set from the URL
    (a link, the back button or another control may have changed it); when the person
    changes the widget, its ``on_change`` callback writes the URL once (one history entry) before
    the rerun, so the rerun reads the new value and any number of changes in a row take effect.
    A value equal to ``default`` is removed from the URL; ``reset`` lists parameters that the
    change clears (e.g. a new dataset clears the item). ``current``, when given, is the value
    to show instead of the one read from the URL (a page that resolved the URL's value itself,
    e.g. an unknown dataset shown as the demo). Do not pass ``value`` / ``index``.

    Why not Streamlit's ``bind="query-params"``: a bound parameter cannot be written through
    ``st.query_params``, and the views here are also changed by links, thumbnails and training,
    which write the URL directly.
    """
    if current is _MISSING:
        current = read(param, default, parse, valid)
    # set on every run, not only when it differs: the browser keeps a widget's value as the
    # option's label, and a label that changed since (a model evaluated meanwhile) would come
    # back as no option at all and be shown as the first one
    st.session_state[key] = current
    user_callback = kwargs.pop("on_change", None)

    def write() -> None:
        value = st.session_state.get(key)
        if valid is not None and not (valid(value) if callable(valid) else value in valid):
            return  # not a choice of this run's options (such a stale label): the URL stays
        changes: dict[str, object] = {param: None if value == default else dump(value)}
        changes.update({name: None for name in reset})
        set_view(**changes)
        if user_callback is not None:
            user_callback()

    return widget(label, key=key, on_change=write, **kwargs)


CARRIED = (DATASET, MODEL, ITEM, USER)
"""What a page link carries from one page to the next: the same data, model(s), item and user."""


def carried() -> dict[str, str]:
    """The query parameters a sidebar page link keeps (dataset, model(s), item, user)."""
    params = st.query_params
    return {key: params[key] for key in CARRIED if params.get(key)}
