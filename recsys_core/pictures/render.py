"""Generated item pictures: a small flat drawing of the item's object in its colour or material.

An item named like the demo's ("<Style> <Material> <Noun>", e.g. "Low-poly Emerald Fox",
"Sculpted Chrome Typewriter") gets a picture of its noun (:data:`DRAWINGS`: one drawing per noun
of the demo's vocabulary, plus a few generic ones), painted in its material (:data:`MATERIALS`:
flat colours, metallic gradients for Chrome or Golden, wood grain, marble veins, a glow for Neon,
translucency for Glass...), standing on a display base of the same material, on a background
tinted by its category. The style adjective (:data:`STYLES`) chooses a background pattern
(facets for Low-poly, pixels for Voxel, brush strokes for Tilt Brush...) and, within a style
family, a backdrop (light, deeper, dark stage) and a view (as drawn, mirrored, a step back). A
name without a material shows the noun's own colour, kept away from every material's colour.
So a grid of twelve items of one category shows twelve visibly different pictures.

Any other name gets the drawing of its last words where they are a known noun or alias
("Broken lamp" -> a floor lamp), else its category's glyph; its material and style are drawn from
a hash of the name, so pictures of one category still differ. The name itself is not drawn (the
card prints it); it is the SVG's ``<title>``, XML-escaped.

Everything is local and deterministic: the same name and category give the same bytes. A
picture is a 200 x 150 SVG of about 1.5-4 KB; :func:`picture_data_uri` is cached.

This module is the one palette of generated pictures (:func:`category_colours`), imported by
:mod:`recsys_core.html`, :mod:`recsys_core.thumbnails` and the demo generator; it imports none
of them.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from ._drawings import ALIASES, CATEGORY_GLYPH, DRAWINGS, GLYPH_WORDS

__all__ = [
    "CATEGORY_COLOURS",
    "DRAWINGS",
    "MATERIALS",
    "STYLES",
    "category_colours",
    "parse_name",
    "picture_data_uri",
    "picture_svg",
]

WIDTH, HEIGHT = 200, 150

# ---------------------------------------------------------------------------- category palette
CATEGORY_COLOURS: dict[str, tuple[str, str]] = {
    "animals": ("#fb923c", "#c2410c"),
    "vehicles": ("#60a5fa", "#1e3a8a"),
    "architecture": ("#a8a29e", "#44403c"),
    "characters": ("#f472b6", "#9d174d"),
    "weapons": ("#94a3b8", "#1e293b"),
    "furniture": ("#c08457", "#5c3317"),
    "sci-fi": ("#22d3ee", "#155e75"),
    "nature": ("#4ade80", "#166534"),
    "food": ("#fb7185", "#9f1239"),
    "electronics": ("#818cf8", "#312e81"),
    "fantasy": ("#c084fc", "#581c87"),
    "music": ("#facc15", "#a16207"),
}
"""(light, dark) colours of the demo's categories, by lower-case name."""
_PALETTE = tuple(CATEGORY_COLOURS.values()) + (("#2dd4bf", "#115e59"), ("#f87171", "#7f1d1d"))


def _digest(text: str, size: int = 4) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=size).digest(), "big")


def category_colours(category: Any) -> tuple[str, str]:
    """The category's ``(light, dark)`` colours (``#rrggbb``).

    The demo's categories have their own; any other category gets a stable one from its hash.
    """
    key = str(category or "").strip().lower()
    if key in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[key]
    return _PALETTE[_digest(key) % len(_PALETTE)]


def _category_glyph(category: str) -> str:
    """The generic drawing for a category: the demo's own, else by keyword, else a cube."""
    key = category.strip().lower()
    if key in CATEGORY_GLYPH:
        return CATEGORY_GLYPH[key]
    words = [w[:-1] if w.endswith("s") else w for w in re.split(r"[^a-z]+", key) if w]
    return next((GLYPH_WORDS[w] for w in words if w in GLYPH_WORDS), "Cube")


# ---------------------------------------------------------------------------- colour helpers
def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(max(v, 0.0), 1.0) * 255):02x}" for v in rgb)


def _mix(a: str, b: str, t: float) -> str:
    """``a`` moved a fraction ``t`` of the way to ``b``."""
    return _hex(tuple(x + (y - x) * t for x, y in zip(_rgb(a), _rgb(b))))  # type: ignore[arg-type]


def _light(colour: str, amount: float) -> str:
    """Lighter (``amount`` > 0) or darker (< 0), keeping the hue."""
    h, light, s = colorsys.rgb_to_hls(*_rgb(colour))
    light = light + (1 - light) * amount if amount > 0 else light * (1 + amount)
    return _hex(colorsys.hls_to_rgb(h, light, s))


# ---------------------------------------------------------------------------- materials
@dataclass(frozen=True)
class Material:
    """How an adjective paints an object: its kind and colours.

    kind: ``solid`` (flat), ``metal`` (banded gradient), ``gem`` (diagonal gradient), ``wood``,
    ``marble``, ``speckle``, ``stars`` (patterns), ``glass`` (translucent), ``neon`` (glow on a dark
    background). ``stops`` are the gradient's colours, ``base`` the flat colour details use.
    """

    kind: str
    base: str
    stops: tuple[str, ...] = ()
    offsets: tuple[str, ...] = ("0", ".45", ".55", "1")


MATERIALS: dict[str, Material] = {
    "red": Material("solid", "#e53935"),
    "blue": Material("solid", "#1e6fd9"),
    "golden": Material("metal", "#e9b526", ("#fff3b0", "#f2c230", "#a8750c", "#f7d774")),
    "silver": Material("metal", "#b9c0c9", ("#f4f6f8", "#c3c9d1", "#8b95a2", "#dde1e6")),
    "rusty": Material("speckle", "#b04a1c", ("#4f1d08", "#e98a3c")),
    "wooden": Material("wood", "#c98f55", ("#7a4a22",)),
    "marble": Material("marble", "#f4f3f0", ("#5f6673",)),
    "neon": Material("neon", "#ff4fd8", ("#ffe3fa",)),
    "chrome": Material(
        "metal", "#8d99a8", ("#f8fbff", "#c3d0de", "#2a313b", "#8a96a4"), ("0", ".48", ".52", "1")
    ),
    "mossy": Material("speckle", "#4f7a2a", ("#2a4a12", "#b6e05a")),
    "crimson": Material("gem", "#b0122c", ("#ff7d93", "#c0132f", "#5a0414")),
    "emerald": Material("gem", "#0f9f58", ("#8cf5bf", "#10a35a", "#04492a")),
    "obsidian": Material("gem", "#25222d", ("#77738c", "#27232f", "#08070b")),
    "ivory": Material("solid", "#f0dca6"),
    "copper": Material("metal", "#d26a48", ("#ffc4ae", "#de6d47", "#7a2410", "#f29c80")),
    "frosted": Material("speckle", "#b3e0f7", ("#ffffff", "#6fb8e0")),
    "sandstone": Material("speckle", "#d9b271", ("#a97c3f", "#f3ddb0")),
    "teal": Material("solid", "#149c9c"),
    "midnight": Material("stars", "#1f2b5e", ("#c7d2fe",)),
    "bronze": Material("metal", "#8f6a2c", ("#dcc27e", "#977535", "#3f2e0c", "#bca05c")),
    "jade": Material("gem", "#5cae86", ("#d2f4e1", "#63b98f", "#2d6a4d")),
    "amber": Material("gem", "#e07b12", ("#ffcf8a", "#e27d14", "#7a3400")),
    "glass": Material("glass", "#bfe6ff"),
}
"""Material adjectives of names (lower case) and how they paint."""

def _distance(a: str, b: str) -> float:
    return math.dist(_rgb(a), _rgb(b)) * 255


@cache
def _natural(colour: str) -> str:
    """A noun's own colour, moved lighter or darker (as little as it takes) until it is well
    away from every material's colour, so "Low-poly Sports Car" (red by nature) does not look
    like "Low-poly Red Sports Car"."""
    references = [m.stops[1] if m.kind in ("metal", "gem") else m.base for m in MATERIALS.values()]
    for step in (0.0, 0.2, -0.2, 0.35, -0.35, 0.5, -0.5, 0.65):
        candidate = _light(colour, step)
        if min(_distance(candidate, ref) for ref in references) >= _NATURAL_GAP:
            return candidate
    return _light(colour, 0.65)


_NATURAL_GAP = 30.0

# ---------------------------------------------------------------------------- styles
STYLES: dict[str, tuple[str, int]] = {
    "low-poly": ("facets", 0), "stylized": ("facets", 1), "game-ready": ("facets", 2),
    "photoscanned": ("studio", 0), "pbr": ("studio", 1), "realistic": ("studio", 2),
    "rigged": ("rig", 0), "animated": ("rig", 1),
    "voxel": ("pixels", 0), "pixel-art": ("pixels", 1),
    "tilt brush": ("strokes", 0), "hand-painted": ("strokes", 1),
    "sculpted": ("rings", 0), "high-poly": ("rings", 1),
}
"""Style adjectives of names (lower case): the background pattern and its variant."""
_STYLE_LIST = sorted(STYLES)


@lru_cache(maxsize=512)
def _background(pattern: str, variant: int, ink: str) -> str:
    """Style marks over the tinted background, in ``ink`` (faint)."""
    if pattern == "facets":
        shapes = (
            ("M0 0H120L0 90Z", "M200 0V110L90 0Z", "M0 150L70 60L150 150Z", "M200 40V150H130Z"),
            ("M0 40L60 0H150L0 130Z", "M200 150H60L200 50Z", "M110 0H200V30Z"),
            ("M0 0H80L40 70L0 110Z", "M200 0V80L140 40L160 0Z", "M0 150L40 100L100 150Z",
             "M200 150H120L170 100Z", "M60 0L100 30L140 0Z"),
        )[variant % 3]
        opacities = (".10", ".16", ".07", ".13", ".09")
        return "".join(
            f'<path d="{d}" fill="{ink}" fill-opacity="{opacities[i % 5]}"/>'
            for i, d in enumerate(shapes)
        )
    if pattern == "studio":
        horizon = (104, 96, 112)[variant % 3]
        floor = f'<rect y="{horizon}" width="200" height="{150 - horizon}" fill="{ink}" ' \
            'fill-opacity=".12"/>'
        extra = (
            "",
            f'<ellipse cx="100" cy="{horizon + 22}" rx="70" ry="12" fill="{ink}" '
            'fill-opacity=".12"/>',
            f'<path d="M0 {horizon}H200" stroke="{ink}" stroke-opacity=".3"/>',
        )[variant % 3]
        return floor + extra
    if pattern == "rig":
        if variant % 2 == 0:
            return (
                f'<circle cx="100" cy="72" r="62" fill="none" stroke="{ink}" stroke-opacity=".18" '
                'stroke-width="2" stroke-dasharray="3 6"/>'
                f'<path d="M26 30L46 44L40 70M174 30L154 44L160 70" stroke="{ink}" '
                'stroke-opacity=".2" stroke-width="2" fill="none"/>'
                f'<g fill="{ink}" fill-opacity=".25"><circle cx="26" cy="30" r="4"/>'
                '<circle cx="46" cy="44" r="3"/><circle cx="174" cy="30" r="4"/>'
                '<circle cx="154" cy="44" r="3"/></g>'
            )
        return (
            f'<path d="M14 40H44M6 58H38M14 76H32M186 92H156M194 110H162M186 128H168" '
            f'stroke="{ink}" stroke-opacity=".22" stroke-width="4" stroke-linecap="round"/>'
        )
    if pattern == "pixels":
        step = (10, 14)[variant % 2]
        cells = []
        for i in range(0, 200 // step):
            for j in range(0, 150 // step):
                # a checkerboard along the edges only
                edge = min(i, j, 200 // step - 1 - i, 150 // step - 1 - j)
                if edge < 2 and (i + j + variant) % (2 + edge) == 0:
                    cells.append(f"M{i * step} {j * step}h{step}v{step}h-{step}z")
        return f'<path d="{"".join(cells)}" fill="{ink}" fill-opacity=".13"/>'
    if pattern == "strokes":
        if variant % 2 == 0:
            return (
                f'<path d="M-10 40Q60 0 120 26T230 20M-10 128Q70 96 130 124T220 110" '
                f'stroke="{ink}" stroke-opacity=".16" stroke-width="14" fill="none" '
                'stroke-linecap="round"/>'
            )
        dabs = ((24, 26, 14), (176, 30, 12), (30, 120, 11), (170, 118, 15), (150, 66, 8),
                (44, 72, 8))
        return f'<g fill="{ink}" fill-opacity=".14">' + "".join(
            f'<ellipse cx="{x}" cy="{y}" rx="{r}" ry="{r * 0.7:g}" '
            f'transform="rotate(-20 {x} {y})"/>'
            for x, y, r in dabs
        ) + "</g>"
    if pattern == "rings":
        radii = (30, 52, 74, 96, 118) if variant % 2 == 0 else (24, 36, 48, 60, 72, 84, 96, 108)
        return f'<g fill="none" stroke="{ink}" stroke-opacity=".13">' + "".join(
            f'<circle cx="100" cy="72" r="{r}"/>' for r in radii
        ) + "</g>"
    return ""


# ---------------------------------------------------------------------------- the drawings
_PAINTS = {
    "K": "#2b2d38", "W": "#f8fafc", "G": "#9aa3af", "H": "#5b6472", "Y": "#facc15",
    "R": "#ef4444", "B": "#7dd3fc", "N": "#4ade80", "O": "#fb923c", "P": "#f9a8d4",
    "T": "#8b5a2b", "C": "#fde68a", "S": "#f1c27d", "V": "#a855f7", "F": "#15803d",
}
_SHAPE_ARGS = {"r": 4, "c": 3, "e": 4, "o": 4}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _paint(token: str) -> tuple[str, str]:
    """``(attrs for the fill, attrs for a stroke)`` of a paint token: ``M`` ``D`` ``L`` (the
    material), a letter of :data:`_PAINTS`, or ``#rrggbb``; ``@.5`` sets the opacity, a trailing
    ``!`` drops the outline."""
    bare = token.endswith("!")
    token = token.rstrip("!")
    colour, _, opacity = token.partition("@")
    if colour in ("M", "D", "L"):
        value = "{" + colour + "}"
    elif colour in _PAINTS:
        value = _PAINTS[colour]
    elif re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        value = colour.lower()
    else:
        raise ValueError(f"unknown paint {token!r}")
    fill = f'fill="{value}"' + (f' fill-opacity="{opacity}"' if opacity else "")
    stroke = f'stroke="{value}"' + (f' stroke-opacity="{opacity}"' if opacity else "")
    if bare:
        fill += ' stroke="none"'
    return fill, stroke


def _compile(source: str) -> str:
    """A drawing's shape list -> an SVG fragment with ``{M}``, ``{D}``, ``{L}`` left to fill.

    One shape a line: ``r paint x y w h [rx]``, ``c paint cx cy r``, ``e paint cx cy rx ry``,
    ``p paint d`` (path), ``q paint d`` (path, even-odd), ``s paint width d`` (stroked path, no
    fill), ``o paint width cx cy r`` (stroked circle), ``{ transform`` / ``}`` (a group).
    """
    out = []
    for raw in source.strip().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        if kind == "{":
            out.append(f'<g transform="{rest.strip()}">')
            continue
        if kind == "}":
            out.append("</g>")
            continue
        paint, _, rest = rest.strip().partition(" ")
        fill, stroke = _paint(paint)
        if kind == "p":
            out.append(f'<path {fill} d="{rest.strip()}"/>')
        elif kind == "q":
            out.append(f'<path {fill} fill-rule="evenodd" d="{rest.strip()}"/>')
        elif kind == "s":
            width, _, d = rest.strip().partition(" ")
            out.append(f'<path {stroke} stroke-width="{width}" fill="none" d="{d.strip()}"/>')
        else:
            nums = _NUMBER.findall(rest)
            if kind == "r":
                x, y, w, h = nums[:4]
                rx = f' rx="{nums[4]}"' if len(nums) > 4 else ""
                out.append(f'<rect {fill} x="{x}" y="{y}" width="{w}" height="{h}"{rx}/>')
            elif kind == "c":
                out.append(f'<circle {fill} cx="{nums[0]}" cy="{nums[1]}" r="{nums[2]}"/>')
            elif kind == "e":
                cx, cy, rx, ry = nums[:4]
                out.append(f'<ellipse {fill} cx="{cx}" cy="{cy}" rx="{rx}" ry="{ry}"/>')
            elif kind == "o":
                width, cx, cy, r = nums[:4]
                out.append(
                    f'<circle {stroke} stroke-width="{width}" fill="none" cx="{cx}" cy="{cy}" '
                    f'r="{r}"/>'
                )
            else:
                raise ValueError(f"unknown shape {line!r}")
    return "".join(out)


@cache
def _fragment(noun: str) -> str:
    return _compile(DRAWINGS[noun][1])


_NOUN_KEYS = {noun.lower(): noun for noun in DRAWINGS}
_ALIAS_KEYS = {alias.lower(): noun for alias, noun in ALIASES.items()}


# ---------------------------------------------------------------------------- names
_TRAILING_NUMBER = re.compile(r"\s+\d+$")


def parse_name(name: Any) -> tuple[str | None, str | None, str | None]:
    """``(style, material, noun)`` read from a name; None for what it does not have.

    The noun is the longest run of last words naming a drawing (or an alias, plurals allowed,
    a trailing number such as "Fox 2" ignored), the material the word before it, the style
    whatever comes first. All three lower case, the noun as in :data:`DRAWINGS`.

    Examples
    --------
    >>> parse_name("Tilt Brush Wooden Chalice")
    ('tilt brush', 'wooden', 'Chalice')
    >>> parse_name("Low-poly Fox 2")
    ('low-poly', None, 'Fox')
    """
    words = _TRAILING_NUMBER.sub("", " ".join(str(name or "").split())).split(" ")
    lower = [w.lower() for w in words]
    noun = None
    used = 0
    for size in (3, 2, 1):
        if size > len(lower):
            continue
        tail = " ".join(lower[-size:])
        found = _NOUN_KEYS.get(tail) or _ALIAS_KEYS.get(tail)
        if found is None and tail.endswith("s"):
            found = _NOUN_KEYS.get(tail[:-1]) or _ALIAS_KEYS.get(tail[:-1])
        if found:
            noun, used = found, size
            break
    rest = lower[: len(lower) - used]
    material = rest[-1] if rest and rest[-1] in MATERIALS else None
    if material:
        rest = rest[:-1]
    style = " ".join(rest) if " ".join(rest) in STYLES else None
    return style, material, noun


# ---------------------------------------------------------------------------- rendering
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    text = _XML_INVALID.sub("", str(text))
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("'", "&#39;")
    )


@lru_cache(maxsize=256)
def _paint_material(material: Material) -> tuple[dict[str, str], str]:
    """The ``{M}``, ``{D}``, ``{L}`` values and the ``<defs>`` content for a material, with
    ``{uid}`` left in its ids (so one drawing's ids cannot clash with another's)."""
    uid = "{uid}"
    base = material.base
    dark, light = _light(base, -0.35), _light(base, 0.45)
    kind, stops = material.kind, material.stops
    ref = f"url(#m{uid})"
    if kind == "metal":
        defs = (
            f'<linearGradient id="m{uid}" x2="0" y2="1">'
            + "".join(
                f'<stop offset="{o}" stop-color="{c}"/>' for o, c in zip(material.offsets, stops)
            )
            + "</linearGradient>"
        )
        return {"M": ref, "D": _mix(stops[2], base, 0.3), "L": stops[0]}, defs
    if kind == "gem":
        defs = (
            f'<linearGradient id="m{uid}" x2="1" y2="1">'
            f'<stop offset="0" stop-color="{stops[0]}"/><stop offset=".45" '
            f'stop-color="{stops[1]}"/><stop offset="1" stop-color="{stops[2]}"/>'
            "</linearGradient>"
        )
        return {"M": ref, "D": _mix(stops[2], stops[1], 0.35), "L": stops[0]}, defs
    if kind == "wood":
        defs = (
            f'<pattern id="m{uid}" width="26" height="9" patternUnits="userSpaceOnUse">'
            f'<rect width="26" height="9" fill="{base}"/><path d="M0 2.5q6.5-2 13 0t13 0M0 7q7 1.6 '
            f'13 0t13 0" stroke="{stops[0]}" stroke-width="1.5" fill="none"/></pattern>'
        )
        return {"M": ref, "D": stops[0], "L": light}, defs
    if kind == "marble":
        defs = (
            f'<pattern id="m{uid}" width="44" height="44" patternUnits="userSpaceOnUse">'
            f'<rect width="44" height="44" fill="{base}"/><path d="M-2 14q10-8 19 3t29-3M8 44q6-14 '
            f'18-16t20-16M0 33q8 2 12-4" stroke="{stops[0]}" stroke-width="1.4" fill="none"/>'
            "</pattern>"
        )
        return {"M": ref, "D": "#b9bec7", "L": "#ffffff"}, defs
    if kind in ("speckle", "stars"):
        if kind == "stars":
            dots = (f'<circle cx="3" cy="4" r=".9" fill="{stops[0]}"/>'
                    f'<circle cx="11" cy="12" r=".6" fill="{stops[0]}"/>')
            size = 16
        else:
            dots = (f'<circle cx="3" cy="3" r="2.1" fill="{stops[0]}"/>'
                    f'<circle cx="10" cy="9" r="1.6" fill="{stops[1]}"/>'
                    f'<circle cx="11" cy="2" r="1" fill="{stops[0]}"/>'
                    f'<circle cx="4" cy="11" r="1" fill="{stops[1]}"/>')
            size = 14
        defs = (
            f'<pattern id="m{uid}" width="{size}" height="{size}" patternUnits="userSpaceOnUse">'
            f'<rect width="{size}" height="{size}" fill="{base}"/>{dots}</pattern>'
        )
        return {"M": ref, "D": dark, "L": light}, defs
    if kind == "natural":
        defs = (
            f'<linearGradient id="m{uid}"><stop offset="0" stop-color="{_light(base, 0.45)}"/>'
            f'<stop offset=".5" stop-color="{base}"/><stop offset="1" '
            f'stop-color="{_light(base, -0.3)}"/></linearGradient>'
        )
        return {"M": ref, "D": dark, "L": light}, defs
    if kind == "glass":
        defs = (
            f'<linearGradient id="m{uid}" x2="1" y2="1"><stop offset="0" stop-color="#ffffff" '
            'stop-opacity=".9"/><stop offset="1" stop-color="#3d83e6" stop-opacity=".7"/>'
            "</linearGradient>"
        )
        return {"M": ref, "D": "#7fb6d9", "L": "#ffffff"}, defs
    if kind == "neon":
        defs = (
            f'<filter id="g{uid}" x="-20%" y="-20%" width="140%" height="140%">'
            '<feGaussianBlur stdDeviation="2.6" result="b"/><feMerge><feMergeNode in="b"/>'
            '<feMergeNode in="SourceGraphic"/></feMerge></filter>'
        )
        return {"M": base, "D": _light(base, -0.45), "L": stops[0]}, defs
    return {"M": base, "D": dark, "L": light}, ""


@lru_cache(maxsize=512)
def _backdrop(category: str, variant: int, neon: str) -> tuple[str, str, str]:
    """Background gradient (top, bottom) and the ink of its style marks, from the category's
    colours: light (style variant 0), deeper (1) or a dark stage (2); darkened behind a
    ``neon`` object (whose colour is then the ink)."""
    light, dark = category_colours(category)
    if neon:
        return _mix(dark, "#000000", 0.55), _mix(dark, "#000000", 0.78), neon
    if variant == 1:
        return _mix(light, "#ffffff", 0.45), _mix(light, dark, 0.3), dark
    if variant == 2:
        return _mix(dark, "#000000", 0.2), _mix(dark, "#000000", 0.6), light
    return _mix(light, "#ffffff", 0.78), _mix(light, "#ffffff", 0.52), dark


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
_VIEWS = ("", ' transform="matrix(-1 0 0 1 200 0)"',
          ' transform="matrix(.84 0 0 .84 16 20.5)"')


def _render(name: str, category: str) -> str:
    style, material_key, noun = parse_name(name)
    seed = _digest(f"{name}\x1f{category}", 4)
    uid = f"{seed & 0xFFFFFF:06x}"
    if noun is None:
        # any other name: its category's glyph, a material and a style from its hash, so a
        # grid of one category still varies
        noun = _category_glyph(category)
        material_key = material_key or sorted(MATERIALS)[seed % len(MATERIALS)]
        style = style or _STYLE_LIST[(seed >> 8) % len(_STYLE_LIST)]
    natural = DRAWINGS[noun][0]
    material = MATERIALS[material_key] if material_key else Material("natural", _natural(natural))
    pattern, variant = STYLES.get(style or "", ("", 0))
    if material.kind == "neon":  # the backdrop stays dark: the style picks the tube's colour
        material = _NEON_TUBES[variant]
    paints, defs = _paint_material(material)
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
    body = _STAND.format_map(paints) + _fragment(noun).format_map(paints)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}"><title>{_xml_text(name)}</title>'
        f'<defs><linearGradient id="b{uid}" x2="0" y2="1"><stop offset="0" stop-color="{top}"/>'
        f'<stop offset="1" stop-color="{bottom}"/></linearGradient>{defs}</defs>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#b{uid})"/>'
        f"{_background(pattern, variant, ink)}{shadow}"
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
