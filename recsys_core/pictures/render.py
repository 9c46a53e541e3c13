"""Rendering: a name and a category -> the item's picture, a 200 x 150 SVG.

The name's noun chooses the drawing (:mod:`.names`, :mod:`.drawings`), its material the paint
(:mod:`.materials`), its style the background marks, backdrop and view (:mod:`.styles`); the
category tints the background (:mod:`.palette`). A name without a known noun gets its
category's glyph, and a material and style from a hash of the name.
"""

from __future__ import annotations

import base64
import math
import re
from functools import lru_cache
from typing import Any

from .drawings import DRAWINGS, fragment
from .materials import MATERIALS, Material, natural_colour, paint_material
from .names import category_glyph, parse_name
from .palette import category_colours, digest, mix
from .styles import STYLE_LIST, STYLES, background

__all__ = ["HEIGHT", "WIDTH", "picture_data_uri", "picture_svg"]

WIDTH, HEIGHT = 200, 150

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    text = _XML_INVALID.sub("", str(text))
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


@lru_cache(maxsize=512)
def _backdrop(category: str, variant: int, neon: str) -> tuple[str, str, str]:
    """Background gradient (top, bottom) and the ink of its style marks, from the category's
    colours: light (style variant 0), deeper (1) or a dark stage (2); darkened behind a
    ``neon`` object (whose colour is then the ink)."""
    light, dark = category_colours(category)
    if neon:
        return mix(dark, "#000000", 0.55), mix(dark, "#000000", 0.78), neon
    if variant == 1:
        return mix(light, "#ffffff", 0.45), mix(light, dark, 0.3), dark
    if variant == 2:
        return mix(dark, "#000000", 0.2), mix(dark, "#000000", 0.6), light
    return mix(light, "#ffffff", 0.78), mix(light, "#ffffff", 0.52), dark


_NEON_TUBES = (
    MATERIALS["neon"],
    Material("neon", "#22d3ee", ("#e0fbff",)),
    Material("neon", "#a3e635", ("#f4ffe0",)),
)
# the display stand every object stands on, in its material (a 3D model on a turntable)
_STAND = (
    '<path fill="{D}" d="M32 127v7a68 10 0 0 0 136 0v-7z"/>'
    '<ellipse fill="{M}" cx="100" cy="127" rx="68" ry="10"/>'
)
# the object as drawn, mirrored, or a step back (style variants 0, 1, 2)
_VIEWS = ("", ' transform="matrix(-1 0 0 1 200 0)"', ' transform="matrix(.84 0 0 .84 16 20.5)"')


def _render(name: str, category: str) -> str:
    style, material_key, noun = parse_name(name)
    seed = digest(f"{name}\x1f{category}", 4)
    uid = f"{seed & 0xFFFFFF:06x}"
    if noun is None:
        # any other name: its category's glyph, a material and a style from its hash, so a
        # grid of one category still varies
        noun = category_glyph(category)
        material_key = material_key or sorted(MATERIALS)[seed % len(MATERIALS)]
        style = style or STYLE_LIST[(seed >> 8) % len(STYLE_LIST)]
    natural = DRAWINGS[noun][0]
    material = (
        MATERIALS[material_key] if material_key else Material("natural", natural_colour(natural))
    )
    pattern, variant = STYLES.get(style or "", ("", 0))
    if material.kind == "neon":  # the backdrop stays dark: the style picks the tube's colour
        material = _NEON_TUBES[variant]
    paints, defs = paint_material(material)
    paints = {key: value.replace("{uid}", uid) for key, value in paints.items()}
    defs = defs.replace("{uid}", uid)
    neon = material.kind == "neon"
    top, bottom, ink = _backdrop(category, variant, material.base if neon else "")
    if neon:
        outline = f'stroke="{material.stops[0]}" stroke-width="1.6" filter="url(#g{uid})"'
        shadow = ""
    elif variant == 2:  # on the dark stage: a spotlight, a light outline
        outline = 'stroke="#ffffff" stroke-opacity=".7" stroke-width="1.3"'
        defs += (
            f'<radialGradient id="s{uid}"><stop offset="0" stop-color="{ink}" '
            f'stop-opacity=".5"/><stop offset="1" stop-color="{ink}" stop-opacity="0"/>'
            "</radialGradient>"
        )
        shadow = f'<ellipse cx="100" cy="80" rx="92" ry="74" fill="url(#s{uid})"/>'
    else:
        outline = 'stroke="#1b1f2a" stroke-opacity=".45" stroke-width="1.3"'
        shadow = '<ellipse cx="100" cy="140" rx="74" ry="7" fill="#000000" fill-opacity=".14"/>'
    body = _STAND.format_map(paints) + fragment(noun).format_map(paints)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}"><title>{_xml_text(name)}</title>'
        f'<defs><linearGradient id="b{uid}" x2="0" y2="1"><stop offset="0" stop-color="{top}"/>'
        f'<stop offset="1" stop-color="{bottom}"/></linearGradient>{defs}</defs>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#b{uid})"/>'
        f"{background(pattern, variant, ink)}{shadow}"
        f'<g {outline} stroke-linejoin="round" stroke-linecap="round"{_VIEWS[variant]}>'
        f"{body}</g></svg>"
    )


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def picture_svg(name: Any, category: Any = "") -> str:
    """The item's picture: a 200 x 150 SVG document.

    Parameters
    ----------
    name : str
        The item's name: chooses the drawing (its noun), the paint (its material adjective) and
        the background pattern (its style adjective); see :func:`parse_name`. It is the SVG's
        ``<title>``, XML-escaped (characters XML cannot hold dropped); it is not drawn.
    category : str
        Tints the background (:func:`category_colours`); chooses the drawing when the name has
        no known noun.

    Returns
    -------
    str
        ``<svg xmlns=... viewBox="0 0 200 150">...</svg>``, the same for the same arguments.
    """
    return _render(_text(name), _text(category))


@lru_cache(maxsize=8192)
def _data_uri(name: str, category: str) -> str:
    svg = _render(name, category)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def picture_data_uri(name: Any, category: Any = "") -> str:
    """:func:`picture_svg` as a ``data:image/svg+xml;base64,...`` URI for ``<img src>``."""
    return _data_uri(_text(name), _text(category))
