"""The thumbnail grid: item cards, the large item picture and score chips, as safe HTML.

Item names, tags, categories and uploaded text are user-generated: every builder here escapes
each such string (:func:`.safety.escape`) and passes each URL through :func:`.safety.safe_url`,
and returns :class:`.safety.SafeHtml`. An http(s) image that fails to load shows the item's
generated picture (:mod:`recsys_core.pictures`) in its place, without script.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..pictures import category_colours, picture_data_uri
from .safety import (
    SafeHtml,
    escape,
    is_data_image,
    is_http,
    safe_href,
    safe_internal_href,
    safe_url,
)

__all__ = [
    "CHIPS_CSS",
    "GRID_CSS",
    "NEUTRAL",
    "PICTURE_CSS",
    "category_colour",
    "format_score",
    "item_picture",
    "score_chips",
    "thumbnail_card",
    "thumbnail_grid_html",
]

NEUTRAL = "#64748b"
"""The colour of a card whose category has none."""
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_BASE64_IMAGE = re.compile(r"data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+={0,2}")
# The fallback: a box over a broken image only, filling it with the fallback picture.
_FALLBACK_CSS = (
    '.rx-fb{position:relative}.rx-fb::before{content:"";position:absolute;inset:0;'
    "background:var(--rx-fb) center/cover no-repeat,var(--rx-accent,#64748b)}"
)


def category_colour(category: Any) -> str:
    """The category's colour (``#rrggbb``): the one its generated pictures use."""
    try:
        colour = str(category_colours(str(category or ""))[0])
    except Exception:  # a value whose truth or text is undefined (pandas.NA, an array)
        return NEUTRAL
    return colour if _HEX_COLOUR.fullmatch(colour) else NEUTRAL


def format_score(score: Any) -> str:
    """A score for a badge: 3 significant figures ("" for None or NaN)."""
    if score is None:
        return ""
    try:
        value = float(score)
    except (TypeError, ValueError):
        return str(score)
    if value != value:  # NaN
        return ""
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.1e}"
    if abs(value) < 1000:
        return f"{value:.3g}"
    return f"{value:,.0f}"


def _host(url: str) -> str:
    match = re.match(r"^https?://(?:[^@/?#]*@)?([^/:?#]+)", url, re.IGNORECASE)
    host = match.group(1).lower() if match else ""
    return host[4:] if host.startswith("www.") else host


def thumbnail_card(
    *,
    name: Any,
    image_url: Any,
    score: Any = None,
    category: Any = "",
    url: Any = "",
    href: Any = "",
    tags: Sequence[Any] = (),
    rank: int | None = None,
    caption: Any = "",
    shared: bool = False,
    selected: bool = False,
    max_tags: int = 3,
    fallback_url: Any = None,
) -> SafeHtml:
    """One thumbnail card: image, name (once, two lines at most), score badge, tags (whole,
    wrapping onto more lines), category, link out.

    An http(s) image that fails to load in the browser (404, offline host, not an image) shows
    ``fallback_url`` in its place, never a broken-image icon: without script (Streamlit's
    ``st.html`` strips ``onerror``), by a ``::before`` box over the broken ``<img>``, which
    browsers draw only for an image that failed (a loaded image is a replaced element and has
    no ``::before``). The card carries the one CSS rule that does it.

    Parameters
    ----------
    name : str
        The item's name (user-generated: escaped).
    image_url : str
        Image source: http(s) or a ``data:image/`` URI (anything else shows no image, only the
        category colour).
    score : float, optional
        Shown as a small badge over the image (3 significant figures).
    category : str, optional
        Shown with a dot of the category colour, which also tints the image frame.
    url : str, optional
        The item's own page (http(s) only), opened in a new tab from a small "open" link.
    href : str, optional
        Where clicking the image or the name goes inside the app: a query string such as
        ``"?dataset=demo&item=i42"`` or a path (see :func:`safe_internal_href`); same tab.
    tags : sequence of str, optional
        Up to ``max_tags`` tags shown as small chips.
    rank : int, optional
        Shown as a small number in the image's top-left corner.
    caption : str, optional
        One more short line of text (e.g. "because you liked ...").
    shared, selected : bool
        Mark the card as shared between several lists (Compare) or as the current item.
    fallback_url : str, optional
        Shown where an http(s) ``image_url`` fails to load: a base64 ``data:image/`` URI (anything
        else is ignored). None uses the item's generated placeholder
        (:func:`recsys_core.pictures.picture_data_uri` of ``name`` and ``category``);
        ``""`` none (the broken image shows).
    """
    name_text = escape(name)
    score_text = format_score(score)
    overlay = (
        f'<span class="rx-score" title="score">{escape(score_text)}</span>' if score_text else ""
    )
    fallback = _fallback(image_url, fallback_url, name, category)
    image = _card_image(escape(safe_url(image_url)), name_text, fallback) + overlay
    marks = (f'<span class="rx-rank">{int(rank)}</span>' if rank is not None else "") + (
        '<span class="rx-flag">shared</span>' if shared else ""
    )
    thumb, title = _thumb_and_title(escape(safe_internal_href(href)), image, marks, name_text)
    caption_html = f'<div class="rx-caption">{escape(caption)}</div>' if caption else ""
    body = title + _tag_chips(tags, max_tags) + caption_html + _card_meta(category, url)
    classes = "rx-card" + (" rx-shared" if shared else "") + (" rx-selected" if selected else "")
    return SafeHtml(
        f'<div class="{classes}" style="--rx-accent:{category_colour(category)}">'
        f'{thumb}<div class="rx-body">{body}</div></div>'
    )


def _thumb_and_title(target: str, image: str, marks: str, name_text: str) -> tuple[str, str]:
    """The image box and the name line, links to ``target`` (escaped) when there is one."""
    if target:
        return (
            f'<a class="rx-thumb" href="{target}" target="_self">{image}</a>',
            f'<a class="rx-name" href="{target}" target="_self" title="{name_text}">'
            f"{marks}{name_text}</a>",
        )
    return (
        f'<div class="rx-thumb">{image}</div>',
        f'<div class="rx-name" title="{name_text}">{marks}{name_text}</div>',
    )


def _fallback(image_url: Any, fallback_url: Any, name: Any, category: Any) -> str:
    """The base64 ``data:image/`` URI shown where an http(s) ``image_url`` fails; "" for none
    (base64: nothing in it can end the CSS ``url('...')`` early)."""
    if not is_http(safe_url(image_url)):
        return ""
    if fallback_url is None:
        fallback_url = picture_data_uri(name, category)
    if isinstance(fallback_url, str) and _BASE64_IMAGE.fullmatch(fallback_url):
        return fallback_url
    return ""


def _card_image(image: str, name_text: str, fallback: str) -> str:
    """The card's ``<img>`` (``image`` escaped), over its fallback picture when it has one."""
    if not image:
        return '<span class="rx-noimg"></span>'
    if not fallback:
        return f'<img src="{image}" alt="{name_text}" loading="lazy" referrerpolicy="no-referrer">'
    return (
        f"<style>{_FALLBACK_CSS}</style>"
        f'<img class="rx-fb" src="{image}" alt="{name_text}" loading="lazy" '
        f'referrerpolicy="no-referrer" style="--rx-fb:url(&#39;{escape(fallback)}&#39;)">'
    )


def _tag_chips(tags: Sequence[Any], max_tags: int) -> str:
    """The first ``max_tags`` non-blank tags as chips; "" for none."""
    shown = [t for t in list(tags or [])[: max(0, max_tags)] if str(t).strip()]
    if not shown:
        return ""
    chips = "".join(f'<span class="rx-tag">{escape(tag)}</span>' for tag in shown)
    return f'<div class="rx-tags">{chips}</div>'


def _card_meta(category: Any, url: Any) -> str:
    """The card's last line: the category (with its colour's dot) and the link out."""
    category_text = escape(category) if category else ""
    meta = '<div class="rx-meta">'
    meta += (
        f'<span class="rx-cat" title="{category_text}"><span class="rx-dot"></span>'
        f"{category_text}</span>"
        if category_text
        else "<span></span>"
    )
    link_out = escape(safe_href(url))
    if link_out:
        meta += (
            f'<a class="rx-out" href="{link_out}" target="_blank" '
            f'rel="noopener noreferrer nofollow" title="Open on {escape(_host(safe_href(url)))}">'
            "open&nbsp;&#8599;</a>"
        )
    return meta + "</div>"


GRID_CSS = """
.rx-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(var(--rx-min,150px),1fr));
 gap:14px;margin:4px 0 14px;font-family:inherit}
.rx-card{position:relative;display:flex;flex-direction:column;min-width:0;border-radius:12px;
 overflow:hidden;background:rgba(127,127,127,.06);border:1px solid rgba(127,127,127,.18);
 box-shadow:0 1px 2px rgba(0,0,0,.06),0 2px 8px rgba(0,0,0,.05);
 transition:transform .12s ease,box-shadow .12s ease}
.rx-card:hover{transform:translateY(-2px);box-shadow:0 6px 16px rgba(0,0,0,.12)}
.rx-card.rx-selected{border-color:#ff4b4b;box-shadow:0 0 0 2px #ff4b4b}
.rx-card.rx-shared{border-color:#12b886;box-shadow:0 0 0 2px rgba(18,184,134,.55)}
.rx-thumb{position:relative;display:block;aspect-ratio:4/3;overflow:hidden;
 background:linear-gradient(135deg,var(--rx-accent),rgba(127,127,127,.35))}
.rx-thumb img{display:block;width:100%;height:100%;object-fit:cover}
.rx-noimg{display:block;width:100%;height:100%}
.rx-score{position:absolute;top:6px;right:6px;padding:1px 7px;border-radius:999px;
 font-size:.7rem;font-weight:600;line-height:1.5;color:#fff;background:rgba(15,15,20,.72);
 font-variant-numeric:tabular-nums}
.rx-rank,.rx-flag{display:inline-block;margin-right:5px;padding:0 6px;border-radius:999px;
 font-size:.68rem;font-weight:600;line-height:1.45;vertical-align:1px;
 font-variant-numeric:tabular-nums}
.rx-rank{background:rgba(127,127,127,.18)}
.rx-flag{color:#fff;background:#12b886}
.rx-body{display:flex;flex-direction:column;gap:4px;flex:1;padding:8px 10px 9px}
.rx-name{display:-webkit-box;-webkit-line-clamp:2;line-clamp:2;-webkit-box-orient:vertical;
 overflow:hidden;overflow-wrap:anywhere;min-height:2.5em;font-size:.85rem;font-weight:600;
 line-height:1.25;color:inherit;text-decoration:none}
a.rx-name:hover{text-decoration:underline}
.rx-tags{display:flex;flex-wrap:wrap;gap:3px;min-width:0}
.rx-tag{flex:0 1 auto;max-width:100%;font-size:.66rem;line-height:1.5;padding:0 6px;
 border-radius:999px;background:rgba(127,127,127,.14);overflow-wrap:anywhere}
.rx-caption{font-size:.72rem;opacity:.75;line-height:1.25;overflow-wrap:anywhere}
.rx-meta{display:flex;align-items:center;justify-content:space-between;gap:6px;margin-top:auto;
 font-size:.72rem;opacity:.8}
.rx-cat{display:inline-flex;align-items:center;gap:5px;min-width:0;white-space:nowrap;
 overflow:hidden;text-overflow:ellipsis}
.rx-dot{flex:none;width:8px;height:8px;border-radius:50%;background:var(--rx-accent)}
.rx-out{flex:none;color:inherit;text-decoration:none;opacity:.75}
.rx-out:hover{opacity:1;text-decoration:underline}
.rx-empty{padding:18px;border-radius:12px;border:1px dashed rgba(127,127,127,.35);
 text-align:center;opacity:.8}
""".strip()


def thumbnail_grid_html(
    cards: Iterable[Any],
    *,
    min_width: int = 150,
    empty_text: str = "Nothing to show.",
    include_css: bool = True,
) -> SafeHtml:
    """A responsive CSS-grid of cards (columns of at least ``min_width`` pixels).

    Parameters
    ----------
    cards : iterable of SafeHtml
        Cards from :func:`thumbnail_card`. Anything that is not :class:`SafeHtml` is escaped and
        shown as text, never as markup.
    min_width : int
        The narrowest a column may get, in CSS pixels.
    empty_text : str
        Shown (escaped) when there are no cards.
    include_css : bool
        Prepend the ``<style>`` block (leave it out when it is already on the page).
    """
    parts = []
    for card in cards:
        parts.append(card if isinstance(card, SafeHtml) else f"<div>{escape(card)}</div>")
    css = f"<style>{GRID_CSS}</style>" if include_css else ""
    if not parts:
        return SafeHtml(f'{css}<div class="rx-empty">{escape(empty_text)}</div>')
    width = max(60, min(int(min_width), 600))
    return SafeHtml(f'{css}<div class="rx-grid" style="--rx-min:{width}px">{"".join(parts)}</div>')


_CSS_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f'\"()\\<>]")


def _css_url(url: str) -> str:
    """``url("...")`` for a CSS value: every character that could end the string or the
    ``url()`` (quotes, brackets, backslash, whitespace, controls, ``<>``) percent-encoded."""
    return 'url("' + _CSS_URL_UNSAFE.sub(lambda m: f"%{ord(m[0]):02X}", url) + '")'


PICTURE_CSS = """
.rx-pic{display:block;width:100%;aspect-ratio:4/3;border-radius:12px;
 background-color:var(--rx-accent,#64748b);background-position:center;background-size:cover;
 background-repeat:no-repeat;box-shadow:0 2px 10px rgba(0,0,0,.12)}
""".strip()


def item_picture(
    *, name: Any, image_url: Any, category: Any = "", fallback_url: Any = None
) -> SafeHtml:
    """An item's picture, large (the selected item), that never shows a broken-image icon.

    Drawn as the CSS backgrounds of a 4:3 box (``role="img"``, labelled with the name): the
    image, and under it the item's generated picture, so an ``image_url`` that cannot load
    (404, offline host, not an image) leaves the generated picture in view. No ``<img>``, no
    script (Streamlit's ``st.html`` strips ``onerror``).

    Parameters
    ----------
    name : str
        The item's name (escaped; the box's label and tooltip).
    image_url : str
        http(s) or a ``data:image/`` URI; anything else shows the generated picture only.
    category : str, optional
        Tints the box while the picture loads.
    fallback_url : str, optional
        Shown under an http(s) ``image_url``: a ``data:image/`` URI. None uses the item's
        generated picture (:func:`recsys_core.pictures.picture_data_uri`).
    """
    image = safe_url(image_url)
    layers = [image] if image else []
    if not image or is_http(image):
        if fallback_url is None:
            fallback_url = picture_data_uri(name, category)
        fallback = safe_url(fallback_url)
        if fallback and is_data_image(fallback):
            layers.append(fallback)
    backgrounds = ",".join(_css_url(layer) for layer in layers) or "none"
    label = escape(name)
    return SafeHtml(
        f"<style>{PICTURE_CSS}</style>"
        f'<div class="rx-pic" role="img" aria-label="{label}" title="{label}" '
        f'style="--rx-accent:{category_colour(category)};'
        f'background-image:{escape(backgrounds)}"></div>'
    )


CHIPS_CSS = """
.rx-chips{display:flex;flex-wrap:wrap;gap:6px;margin:2px 0 10px}
.rx-chip{display:inline-flex;align-items:center;gap:6px;max-width:100%;padding:2px 4px 2px 10px;
 border-radius:999px;font-size:.85rem;line-height:1.5;background:rgba(127,127,127,.12);
 border:1px solid rgba(127,127,127,.2)}
.rx-chip-name{overflow-wrap:anywhere}
.rx-chip-score{flex:none;padding:0 7px;border-radius:999px;font-size:.72rem;font-weight:600;
 font-variant-numeric:tabular-nums;color:#fff;background:rgba(15,15,20,.62)}
.rx-chip.rx-chip-plain{padding:1px 10px;font-size:.8rem}
.rx-chips-empty{opacity:.75;font-size:.9rem}
.rx-chip-link{align-self:center;margin-left:4px;font-size:.85rem;color:inherit;opacity:.8}
.rx-chip-link:hover{opacity:1}
""".strip()


def score_chips(
    labels: Sequence[Any],
    scores: Sequence[Any] | None = None,
    *,
    empty_text: str = "None.",
    link: tuple[Any, Any] | None = None,
) -> SafeHtml:
    """Chips, each a label (escaped) with its score (3 significant figures) beside it.

    Parameters
    ----------
    labels : sequence of str, length n
        E.g. the tags a model suggests for an item (user-generated: escaped).
    scores : sequence of float, length n, optional
        Their scores, in the same order; None shows the labels alone (an item's own tags).
    empty_text : str
        Shown (escaped) when there are no labels.
    link : (text, url), optional
        A link out after the chips (http(s) only, new tab), e.g. the item's own page.
    """
    if scores is None:
        pairs = [(label, None) for label in labels]
    else:
        pairs = list(zip(labels, scores, strict=True))
    chips = ""
    for label, score in pairs:
        shown = format_score(score)
        title = f"{label}: score {shown}" if shown else str(label)
        badge = f'<span class="rx-chip-score">{escape(shown)}</span>' if shown else ""
        chips += (
            f'<span class="rx-chip{" rx-chip-plain" if not shown else ""}" '
            f'title="{escape(title)}"><span class="rx-chip-name">{escape(label)}</span>'
            f"{badge}</span>"
        )
    body = chips or f'<span class="rx-chips-empty">{escape(empty_text)}</span>'
    out = escape(safe_href(link[1])) if link else ""
    if out:
        body += (
            f'<a class="rx-chip-link" href="{out}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{escape(link[0])}&nbsp;&#8599;</a>'
        )
    return SafeHtml(f'<style>{CHIPS_CSS}</style><div class="rx-chips">{body}</div>')
