"""Safe HTML for the app: escaping, URL allow-listing and the thumbnail grid.

Item names, tags, categories and uploaded text are user-generated. Everything here that builds
HTML escapes every such string (:func:`escape`) and passes every URL through :func:`safe_url`
(http(s) only, plus ``data:image/`` for images), so a name like ``<img src=x onerror=alert(1)>``
shows up as text and a ``javascript:`` link never reaches an ``href`` or ``src``.

Builders return :class:`SafeHtml`, a ``str`` marking markup made here; :func:`thumbnail_grid_html`
escapes anything else it is given as plain text.

In the app the grid is drawn by ``recsys_core/ui/grid_component.py`` (a Streamlit component that
turns a plain click on a card into a rerun in place); each card's ``href`` is still the whole view
with its item, so a middle click opens it in a new tab, and links out open in a new tab.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "GRID_CSS",
    "SafeHtml",
    "category_colour",
    "csv_cell",
    "csv_text",
    "escape",
    "file_name",
    "item_picture",
    "md_escape",
    "plotly_escape",
    "safe_href",
    "safe_internal_href",
    "safe_url",
    "score_chips",
    "thumbnail_card",
    "thumbnail_grid_html",
]

# Browsers drop ASCII tab and newline anywhere in a URL and C0 controls / spaces at its ends,
# so "java\tscript:" is "javascript:" to them: strip the same before looking at the scheme.
_URL_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
_URL_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21))) + "\x7f"
_HTTP = re.compile(r"^https?://[^/\\?#\s]+", re.IGNORECASE)
_DATA_IMAGE = re.compile(r"^data:image/[a-z0-9.+-]+[;,]", re.IGNORECASE)

NEUTRAL = "#64748b"
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class SafeHtml(str):
    """Markup built by this module (every user string in it escaped, every URL checked)."""

    __slots__ = ()


def escape(text: Any) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped; None is ``""``."""
    if text is None:
        return ""
    return _html.escape(str(text), quote=True)


def safe_url(url: Any, *, allow_data_images: bool = True) -> str:
    """``url`` if it is safe in ``src`` / ``href``, else ``""``.

    Only absolute ``http://`` and ``https://`` URLs (with a host) are allowed, and, when
    ``allow_data_images``, ``data:image/...`` URIs (for ``<img src>``). Anything else, e.g.
    ``javascript:``, ``vbscript:``, ``data:text/html``, ``file:``, relative or protocol-relative
    URLs, becomes ``""``. Tabs and newlines are removed first, as browsers do. The result still has
    to be escaped (:func:`escape`) when it goes into an attribute.
    """
    if url is None:
        return ""
    text = str(url)
    text = _URL_TAB_NEWLINE.sub("", text).strip(_C0_AND_SPACE)
    if not text:
        return ""
    if _HTTP.match(text):
        return text
    if allow_data_images and _DATA_IMAGE.match(text):
        return text
    return ""


def safe_href(url: Any) -> str:
    """A link out: ``url`` if it is http(s), else ``""`` (no ``data:`` URIs in links)."""
    return safe_url(url, allow_data_images=False)


def safe_internal_href(href: Any) -> str:
    """A link inside the app: a query string (``?item=...``) or an absolute path (``/similar?...``).

    Protocol-relative (``//host``) and backslash tricks (``/\\host``) are refused; anything that
    is not a same-site path or query becomes ``""``.
    """
    if href is None:
        return ""
    text = _URL_INVISIBLE.sub("", _URL_TAB_NEWLINE.sub("", str(href)))
    if text.startswith("?"):
        return text
    if text.startswith("/") and not text.startswith(("//", "/\\")) and "\\" not in text:
        return text
    return ""


def category_colour(category: Any) -> str:
    """The category's colour (``#rrggbb``): the one its generated pictures use."""
    try:
        from .pictures import category_colours  # the one palette for generated pictures

        colour = str(category_colours(str(category or ""))[0])
    except Exception:
        return NEUTRAL
    return colour if _HEX_COLOUR.fullmatch(colour) else NEUTRAL


def _format_score(score: Any) -> str:
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
        (:func:`recsys_core.thumbnails.placeholder_data_uri` of ``name`` and ``category``);
        ``""`` none (the broken image shows).
    """
    # The fallback: a box over a broken image only, filling it with the fallback picture.
    fallback_css = (
        '.rx-fb{position:relative}.rx-fb::before{content:"";position:absolute;inset:0;'
        "background:var(--rx-fb) center/cover no-repeat,var(--rx-accent,#64748b)}"
    )
    base64_image = re.compile(r"data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+={0,2}")

    name_text = escape(name)
    colour = category_colour(category)
    image = escape(safe_url(image_url))
    fallback = ""
    if _HTTP.match(safe_url(image_url)):
        if fallback_url is None:
            from .thumbnails import placeholder_data_uri

            fallback_url = placeholder_data_uri(name, category)
        if isinstance(fallback_url, str) and base64_image.fullmatch(fallback_url):
            fallback = fallback_url  # base64: nothing in it can end the CSS url('...') early
    link_out = escape(safe_href(url))
    target = escape(safe_internal_href(href))

    classes = ["rx-card"]
    if shared:
        classes.append("rx-shared")
    if selected:
        classes.append("rx-selected")

    score_text = _format_score(score)
    overlay = (
        f'<span class="rx-score" title="score">{escape(score_text)}</span>' if score_text else ""
    )
    img = (
        f'<img src="{image}" alt="{name_text}" loading="lazy" referrerpolicy="no-referrer">'
        if image
        else '<span class="rx-noimg"></span>'
    )
    if image and fallback:
        img = (
            f"<style>{fallback_css}</style>"
            f'<img class="rx-fb" src="{image}" alt="{name_text}" loading="lazy" '
            f'referrerpolicy="no-referrer" style="--rx-fb:url(&#39;{escape(fallback)}&#39;)">'
        )
    marks = ""
    if rank is not None:
        marks += f'<span class="rx-rank">{int(rank)}</span>'
    if shared:
        marks += '<span class="rx-flag">shared</span>'
    if target:
        thumb = f'<a class="rx-thumb" href="{target}" target="_self">{img}{overlay}</a>'
        title = (
            f'<a class="rx-name" href="{target}" target="_self" title="{name_text}">'
            f"{marks}{name_text}</a>"
        )
    else:
        thumb = f'<div class="rx-thumb">{img}{overlay}</div>'
        title = f'<div class="rx-name" title="{name_text}">{marks}{name_text}</div>'

    chips = ""
    shown_tags = [t for t in list(tags or [])[: max(0, max_tags)] if str(t).strip()]
    if shown_tags:
        chips = '<div class="rx-tags">' + "".join(
            f'<span class="rx-tag">{escape(tag)}</span>' for tag in shown_tags
        ) + "</div>"
    caption_html = f'<div class="rx-caption">{escape(caption)}</div>' if caption else ""

    category_text = escape(category) if category else ""
    meta = '<div class="rx-meta">'
    meta += (
        f'<span class="rx-cat" title="{category_text}"><span class="rx-dot"></span>'
        f"{category_text}</span>"
        if category_text
        else "<span></span>"
    )
    if link_out:
        meta += (
            f'<a class="rx-out" href="{link_out}" target="_blank" '
            f'rel="noopener noreferrer nofollow" title="Open on {escape(_host(safe_href(url)))}">'
            "open&nbsp;&#8599;</a>"
        )
    meta += "</div>"

    return SafeHtml(
        f'<div class="{" ".join(classes)}" style="--rx-accent:{colour}">'
        f"{thumb}"
        f'<div class="rx-body">{title}{chips}{caption_html}{meta}</div>'
        "</div>"
    )


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
    return SafeHtml(
        f'{css}<div class="rx-grid" style="--rx-min:{width}px">{"".join(parts)}</div>'
    )


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
        generated picture (:func:`recsys_core.thumbnails.placeholder_data_uri`).
    """
    image = safe_url(image_url)
    layers = [image] if image else []
    if not image or _HTTP.match(image):
        if fallback_url is None:
            from .thumbnails import placeholder_data_uri

            fallback_url = placeholder_data_uri(name, category)
        fallback = safe_url(fallback_url)
        if fallback and _DATA_IMAGE.match(fallback):
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
        shown = _format_score(score)
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


# ------------------------------------------------------------------------- markdown and plotly
WORD_JOINER = "\u2060"
"""Invisible, zero-width, no line break: splits a pattern that Streamlit's Markdown rewrites in
already-parsed text (where a backslash escape no longer helps)."""

_WHITESPACE = re.compile(r"\s+")
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Rewritten after parsing, so escapes cannot stop them (Streamlit's StreamlitMarkdown.tsx and
# the remark plugins it runs over text nodes):
_SHORTCODE = re.compile(r":(?=[\w+-]+:)")  # :smile: (remark-emoji), :material_x:, :streamlit:
_SCHEME_SLASHES = re.compile(r":(?=//)")  # http://host (GFM autolink literal)
_WWW = re.compile(r"(www)(?=\.)", re.IGNORECASE)  # www.host (GFM autolink literal)
_EMAIL_AT = re.compile(r"(?<=[-.\w+])@")  # a@b.co (GFM autolink literal -> mailto:)
# " -> " becomes "→" (JavaScript's \s also holds U+FEFF, which Python's does not)
_ARROW = re.compile(r"(?:(?<=[\s\ufeff])|^)(<->|->|<-|--|>=|<=|~=)(?=[\s\ufeff]|$)")


def md_escape(text: Any) -> str:
    """``text`` as literal text inside Streamlit Markdown (``st.markdown``, ``st.error``,
    ``st.caption``, widget labels, ...): it renders exactly as typed, with no markup.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of
    them), which stops emphasis, headings, lists, code, links ``[t](u)``, images ``![x](u)``,
    autolinks ``<u>``, raw HTML and entities, KaTeX ``$...$``, Streamlit's directives
    (``:red[...]``, ``:small[...]``, ``:help[...]``) and its ``:material/icon:`` icons.
    Patterns that Streamlit rewrites *after* parsing, where an escape is gone, get an invisible
    :data:`WORD_JOINER` instead: emoji shortcodes (``:smile:``, ``:material_x:``,
    ``:streamlit:``), bare URLs and e-mail addresses (GFM autolinks) and the typographic
    arrows (``" -> "``). Whitespace, newlines included, becomes one space, so a value never
    starts a new block.

    Parameters
    ----------
    text : Any
        A name, tag, id, file name, URL parameter or error message; None is ``""``.

    Returns
    -------
    str
        Markdown whose rendering is ``text`` (whitespace collapsed; word joiners are invisible).
    """
    if text is None:
        return ""
    value = _WHITESPACE.sub(" ", str(text))
    value = _SHORTCODE.sub(":" + WORD_JOINER, value)
    value = _SCHEME_SLASHES.sub(":" + WORD_JOINER, value)
    value = _WWW.sub(r"\1" + WORD_JOINER, value)
    value = _EMAIL_AT.sub(WORD_JOINER + "@", value)
    value = _ARROW.sub(lambda m: m[1][0] + WORD_JOINER + m[1][1:], value)
    return _ASCII_PUNCTUATION.sub(r"\\\1", value)


def plotly_escape(text: Any) -> str:
    """``text`` as literal text in a Plotly label (hover text, tick labels, legend entries,
    titles, annotations), which Plotly renders as a small HTML subset (``<a href>``, ``<b>``,
    ``<br>``, ``<span style>``...).

    Only ``&``, ``<`` and ``>`` are escaped: Plotly decodes ``&amp;``, ``&lt;`` and ``&gt;``
    but shows ``&quot;`` as typed, and a quote cannot open a tag once ``<`` is escaped.
    None is ``""``.
    """
    if text is None:
        return ""
    return _html.escape(str(text), quote=False)


# ------------------------------------------------------------------------------------ exports
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection"),
# the full-width forms included (some locales of Excel read them as the ASCII ones).
_FORMULA_START = tuple("=+-@\t\r") + ("\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FILE_PART = re.compile(r"[^A-Za-z0-9._]+")


def csv_cell(value: Any) -> Any:
    """A cell for a CSV file that a spreadsheet shows as text, never runs as a formula.

    A string that starts (after any spaces) with ``= + - @``, a tab or a carriage return gets
    a leading ``'``, unless it is a plain number (``-1.5``). Anything that is not a string is
    returned as it is (numbers stay numbers).
    """
    if not isinstance(value, str):
        return value
    start = value.lstrip(" ")
    if start.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(start):
        return "'" + value
    return value


def csv_text(frame: Any) -> str:
    """``frame`` (a pandas DataFrame) as CSV text, every text cell through :func:`csv_cell`.

    Parameters
    ----------
    frame : pandas.DataFrame, shape [n_rows, n_columns]
        What a page shows (item names and ids are user-generated).

    Returns
    -------
    str
        The CSV, with a header row and no index column.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    safe = frame.copy()
    safe.columns = [csv_cell(str(column)) for column in safe.columns]
    for column in safe.columns:
        if not (is_numeric_dtype(safe[column]) or is_bool_dtype(safe[column])):
            safe[column] = safe[column].astype(object).map(csv_cell)
    return safe.to_csv(index=False)


def file_name(*parts: Any, ext: str = "csv") -> str:
    """A download's file name from parts that may hold anything (ids, model labels):
    letters, digits, ``.`` and ``_`` kept, every other run of characters one ``-``, each part
    at most 40 characters, e.g. ``file_name("similar", "i42", "ALS (WRMF)")`` is
    ``"similar-i42-ALS-WRMF.csv"``."""
    kept = [_FILE_PART.sub("-", str(part)).strip("-.")[:40].strip("-.") for part in parts]
    stem = "-".join(part for part in kept if part) or "download"
    return f"{stem}.{ext}"
