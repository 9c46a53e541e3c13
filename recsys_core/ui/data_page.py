"""The Data page's sections: figures, long tails, popular items, categories and tags, k-core.

The numbers come from :mod:`recsys_core.dataviz` and :func:`recsys_core.preprocess.kcore_preview`
(cached per dataset fingerprint); this module only lays them out. The k-core preview works on
the full dataset behind the current spec (``demo`` for ``demo@kcore=5,5``), so moving the
minimums up or down always starts from all the data; "Use this thresholded dataset" makes
``<base>@kcore=U,I`` the view's dataset (models are then per thresholded dataset).

The headline figures are always shown; the rest is one section at a time (tabs whose closed
sections do not run), in a fragment: changing the section, the long-tail view or a minimum
reruns only that part. The last section uploads the visitor's own files (the sidebar's form,
with keys of its own): what a failed download or an empty store points to. URL parameters:
``section`` (popular, tail, categories, kcore, upload), ``tail``
(rank, histogram), ``min_user`` and ``min_item`` (the k-core preview's minimums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from .. import dataviz
from ..dataset import Dataset
from ..datasets import kcore_spec, split_spec
from ..errors import UserError
from ..preprocess import KcoreReport, kcore, kcore_preview
from . import fragments, loaders, state, text, widgets

KCORE_USER = "data_kcore_user"
KCORE_ITEM = "data_kcore_item"
KCORE_USE = "data_kcore_use"
KCORE_RESET = "data_kcore_full"
TAIL_VIEW = "data_tail_view"
TOP_ITEMS = 15
TOP_TAGS = 20
DEFAULT_MINIMUMS = (5, 5)
MAX_MINIMUM = 10**9
TAIL_VIEWS = {"rank": "Rank plot", "histogram": "Histogram (log bins)"}
SECTION = "section"
TAIL = "tail"
MIN_USER = "min_user"
MIN_ITEM = "min_item"
SECTION_KEY = "data_section"
SECTIONS = {
    "popular": "Most popular items",
    "tail": "Long tail",
    "categories": "Categories and tags",
    "kcore": "K-core thresholding",
    "upload": "Your own data",
}
"""The sections below the figures: URL value -> tab label. The first opens by default: the
items show at once, where a chart would first load Plotly (seconds on a small machine)."""
DEFAULT_SECTION = "popular"


def density_text(density: float) -> str:
    """A density as a percentage, as the WRMF post wrote it ("0.035%", "0.140%", "2.12%")."""
    percent = 100.0 * density
    if 0 < percent < 0.001:
        return f"{percent:.2g}%"
    return f"{percent:.3f}%" if percent < 1 else f"{percent:.2f}%"


# -------------------------------------------------------------------------------------- cache
@st.cache_data(show_spinner=False, max_entries=8)
def _overview(_data: Dataset, fingerprint: str, spec: str, home: str) -> dict:
    return {
        "figures": dataviz.figures(_data),
        "user_share": dataviz.head_share(_data.user_counts),
        "item_share": dataviz.head_share(_data.item_counts),
        "categories": dataviz.category_counts(_data),
        "tags": dataviz.tag_counts(_data, top=TOP_TAGS),
        "top": dataviz.top_items(_data, TOP_ITEMS),
    }


def overview(data: Dataset, spec: str) -> dict:
    """The dataset's figures and tables (computed once per dataset)."""
    return _overview(data, data.fingerprint, spec, loaders.home())


@st.cache_data(show_spinner=False, max_entries=64)
def _preview(_data: Dataset, fingerprint: str, min_user: int, min_item: int) -> KcoreReport:
    return kcore_preview(_data, min_user, min_item)


def preview(data: Dataset, min_user: int, min_item: int) -> KcoreReport:
    """:func:`kcore_preview` of ``data``, cached per (fingerprint, minimums)."""
    return _preview(data, data.fingerprint, int(min_user), int(min_item))


# ----------------------------------------------------------------------------------- sections
def figures_section(data: Dataset, spec: str) -> None:
    """Users, items, interactions, density; what the data is; where a k-core came from."""
    info = overview(data, spec)["figures"]
    text.subheader(info["label"])
    cols = st.columns(4)
    cols[0].metric("Users", f"{info['n_users']:,}")
    cols[1].metric("Items", f"{info['n_items']:,}")
    cols[2].metric("Interactions", f"{info['n_interactions']:,}")
    cols[3].metric("Density", density_text(info["density"]))
    notes = []
    if info["synthetic"]:
        notes.append(":material/science: Synthetic demo data, generated on this machine.")
    if data.description:
        notes.append(text.md_escape(data.description))
    if info["users_without"] or info["items_without"]:
        notes.append(
            f"{info['users_without']:,} users and {info['items_without']:,} items have no "
            "interaction (they are left out of the log plots)."
        )
    if notes:
        st.caption("  \n".join(notes))
    base, minimums = split_spec(spec)
    if minimums is not None:
        report = data.extras.get("kcore") or {}
        before = (
            f" (from {report['users_before']:,} users x {report['items_before']:,} items at "
            f"{density_text(report['density_before'])})"
            if report
            else ""
        )
        text.info(
            f"This is {base} cut to a k-core: every user has at least {minimums[0]} and every "
            f"item at least {minimums[1]} interactions{before}. Models trained on it are kept "
            "apart from the full dataset's.",
            icon=":material/filter_alt:",
        )


@fragments.fragment
def sections(data: Dataset, spec: str) -> None:
    """The sections as tabs bound to the URL's ``section``; only the open one runs."""
    labels = list(SECTIONS.values())
    slugs = {label: slug for slug, label in SECTIONS.items()}
    tabs = state.bound(
        st.tabs,
        labels,
        key=SECTION_KEY,
        param=SECTION,
        default=SECTIONS[DEFAULT_SECTION],
        parse=lambda raw: SECTIONS.get(raw, raw),
        dump=slugs.get,
        valid=labels,
    )
    draw = {
        "tail": long_tail_section,
        "popular": popular_section,
        "categories": categories_section,
        "kcore": kcore_section,
        "upload": upload_section,
    }
    for tab, slug in zip(tabs, SECTIONS, strict=True):
        with tab:
            if tab.open:
                draw[slug](data, spec)


def long_tail_section(data: Dataset, spec: str) -> None:
    """Interactions per user and per item on log axes, with the head's share."""
    kind = state.bound(
        st.radio,
        "Show as",
        key=TAIL_VIEW,
        param=TAIL,
        default="rank",
        valid=list(TAIL_VIEWS),
        options=list(TAIL_VIEWS),
        format_func=TAIL_VIEWS.get,
        horizontal=True,
        label_visibility="collapsed",
    )
    info = overview(data, spec)
    left, right = st.columns(2)
    for column, what, counts, share in (
        (left, "users", data.user_counts, info["user_share"]),
        (right, "items", data.item_counts, info["item_share"]),
    ):
        with column:
            st.plotly_chart(
                dataviz.long_tail_figure(counts, what, kind=kind),
                width="stretch",
                key=f"data_tail_{what}",
                config={"displaylogo": False},
            )
            st.caption(_tail_caption(counts, what, share))


def _tail_caption(counts: np.ndarray, what: str, share: dict) -> str:
    noun = "user" if what == "users" else "item"
    busiest = "most active user" if what == "users" else "most popular item"
    if counts.size == 0 or counts.max() == 0:
        return f"No {noun} has an interaction."
    shares = ", ".join(f"the top {fraction:.0%} {share[fraction]:.0%}" for fraction in share)
    return (
        f"Median {int(np.median(counts)):,} interactions per {noun}; the {busiest} has "
        f"{int(counts.max()):,}. Share of all interactions held by {shares}."
    )


def popular_section(data: Dataset, spec: str) -> None:
    """The most popular items as thumbnails (a click opens Similar items)."""
    top = overview(data, spec)["top"]
    counts = data.item_counts[top]
    widgets.grid(
        data,
        spec,
        top,
        page="similar",
        view=state.view(),
        captions=[f"{int(c):,} interactions" for c in counts],
        empty_text="This dataset has no items.",
        key="data_popular_grid",
    )


def categories_section(data: Dataset, spec: str) -> None:
    """Items per category and the most used tags, as bar charts."""
    info = overview(data, spec)
    categories: pd.DataFrame = info["categories"]
    tags: pd.DataFrame = info["tags"]
    left, right = st.columns(2)
    with left:
        if categories.empty or list(categories["category"]) == ["(none)"]:
            st.info("This dataset's items have no categories.", icon=":material/category:")
        else:
            st.plotly_chart(
                dataviz.category_figure(categories),
                width="stretch",
                key="data_categories",
                config={"displaylogo": False},
            )
    with right:
        if tags.empty:
            st.info("This dataset's items have no tags.", icon=":material/sell:")
        else:
            st.plotly_chart(
                dataviz.tag_figure(tags),
                width="stretch",
                key="data_tags",
                config={"displaylogo": False},
            )


def kcore_section(data: Dataset | None, spec: str) -> None:
    """Minimums per user and per item, the before / after table, and "use this dataset".

    ``data`` is the dataset behind ``spec`` (None if it cannot be built); for a thresholded spec
    the preview starts from its base dataset, with the spec's minimums.
    """
    base_spec, current = split_spec(spec)
    base = data if current is None and data is not None else loaders.dataset(base_spec)
    st.caption(
        "Users and items with very few interactions carry little signal and make the matrix "
        "sparser. A k-core keeps only users with at least the first minimum and items with at "
        "least the second, repeating both cuts until neither removes anything (dropping a rare "
        "item can push a user under the minimum)."
    )
    min_user, min_item = _kcore_minimums(current)
    report = preview(base, min_user, min_item)
    _kcore_table(report)
    _original_post_caption()
    if report.interactions_after == 0:
        # on the URL's own thresholds the sidebar already shows the error
        if kcore_spec(base_spec, report.min_user, report.min_item) != spec:
            _kcore_error(base, report)
        return
    _kcore_buttons(report, base_spec, current is not None, spec)


def _kcore_minimums(current: tuple[int, int] | None) -> tuple[int, int]:
    """The two number inputs (per user, per item), bound to the URL; the spec's own or the
    defaults first."""
    default_user, default_item = current or DEFAULT_MINIMUMS
    left, right = st.columns(2)
    min_user = state.bound(
        left.number_input,
        "Minimum interactions per user",
        key=KCORE_USER,
        param=MIN_USER,
        default=default_user,
        parse=_minimum,
        min_value=0,
        step=1,
    )
    min_item = state.bound(
        right.number_input,
        "Minimum interactions per item",
        key=KCORE_ITEM,
        param=MIN_ITEM,
        default=default_item,
        parse=_minimum,
        min_value=0,
        step=1,
    )
    return int(min_user), int(min_item)


def _kcore_table(report: KcoreReport) -> None:
    """The full data, then the k-core: users, items, interactions, density, rounds."""
    st.dataframe(
        dataviz.kcore_table(report),
        width="stretch",
        column_config={
            "_index": st.column_config.TextColumn("", help="The full data, then the k-core."),
            "users": st.column_config.NumberColumn("Users", format="localized"),
            "items": st.column_config.NumberColumn("Items", format="localized"),
            "interactions": st.column_config.NumberColumn("Interactions", format="localized"),
            "density (%)": st.column_config.NumberColumn(
                "Density", format="%.3f%%", help="Share of user-item pairs with an interaction."
            ),
            "rounds": st.column_config.NumberColumn(
                "Rounds", help="Passes over users then items until nothing more is removed."
            ),
        },
        key="data_kcore_table",
    )


def _original_post_caption() -> None:
    """For scale: what the original WRMF post's k-core did to the Sketchfab data."""
    post = dataviz.ORIGINAL_POST
    st.caption(
        f"For scale: the [original WRMF post]({post['url']}) kept Sketchfab users and models "
        f"with at least {post['min_user']} likes each, going from {post['users_before']:,} "
        f"users x {post['items_before']:,} models at {density_text(post['density_before'])} "
        f"dense to {post['users_after']:,} x {post['items_after']:,} at "
        f"{density_text(post['density_after'])}."
    )


def _kcore_error(base: Dataset, report: KcoreReport) -> None:
    """Minimums that leave nothing: the k-core's own sentence of why."""
    try:
        kcore(base, report.min_user, report.min_item)
    except UserError as error:
        text.error(str(error))


def _kcore_buttons(report: KcoreReport, base_spec: str, thresholded: bool, spec: str) -> None:
    """The buttons "Use this thresholded dataset" and, on a thresholded spec, "Back to the
    full ...": each switches the current dataset on every page."""
    removes = (report.users_after, report.items_after) != (report.users_before, report.items_before)
    target = kcore_spec(base_spec, report.min_user, report.min_item) if removes else base_spec
    if not removes:
        st.caption("These minimums remove nothing: the full dataset already meets them.")
    buttons = st.columns([2, 1.6, 1])  # wide enough for the labels at 1280 pixels
    use = buttons[0].button(
        "Use this thresholded dataset",
        key=KCORE_USE,
        type="primary",
        icon=":material/filter_alt:",
        disabled=target == spec,
        help="Makes it the current dataset on every page (train models for it in the sidebar).",
    )
    full = False
    if thresholded:
        full = buttons[1].button(
            text.fmt("Back to the full {}", base_spec), key=KCORE_RESET, icon=":material/undo:"
        )
    if use or full:
        chosen = target if use else base_spec
        try:
            loaders.dataset(chosen)
        except UserError as error:
            text.error(str(error))
            return
        state.set_view(
            dataset=chosen, models=None, item=None, user=None, **{MIN_USER: None, MIN_ITEM: None}
        )
        st.rerun()  # a new dataset: the whole page, sidebar included


def upload_section(data: Dataset | None, spec: str) -> None:
    """The visitor's own interactions (and items) file becomes the dataset on every page; a
    file that does not load gets one sentence naming it, and nothing is kept."""
    from .sidebar import upload_form

    st.caption(
        "Explore your own data: upload who liked what, train a model in the sidebar, and every "
        "page shows it. The files are kept on this server."
    )
    upload_form(prefix="data_up")


def _minimum(raw: str) -> int:
    """A URL parser for a k-core minimum: a whole number, at least 0 (ValueError otherwise)."""
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return min(value, MAX_MINIMUM)


def broken_kcore(spec: str) -> bool:
    """For a thresholded spec whose dataset cannot be built: draw the k-core section on its base.

    Returns True when it drew something (the sidebar already shows the error).
    """
    base_spec, minimums = split_spec(spec)
    if minimums is None:
        return False
    try:
        loaders.dataset(base_spec)
    except UserError:
        return False
    text.warning(
        f"Lower the minimums below to cut {base_spec} to a smaller k-core, or pick another "
        "dataset in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.subheader(SECTIONS["kcore"], anchor=False)
    kcore_section(None, spec)
    return True
