"""Materials: how a name's material adjective paints its object.

:data:`MATERIALS` maps each adjective of the demo's names ("golden", "wooden", "neon"...) to a
:class:`Material`; :func:`paint_material` turns one into the values of the drawings' ``M``, ``D``
and ``L`` paints and the SVG ``<defs>`` (gradients, patterns, a glow) they refer to. A name
without a material is painted in its noun's own colour (:func:`natural_colour`), kept away from
every material's colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from . import palette

__all__ = ["MATERIALS", "Material", "natural_colour", "paint_material"]


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


@cache
def natural_colour(colour: str) -> str:
    """A noun's own colour, moved lighter or darker (as little as it takes) until it is well
    away from every material's colour, so "Low-poly Sports Car" (red by nature) does not look
    like "Low-poly Red Sports Car"."""
    references = [m.stops[1] if m.kind in ("metal", "gem") else m.base for m in MATERIALS.values()]
    for step in (0.0, 0.2, -0.2, 0.35, -0.35, 0.5, -0.5, 0.65):
        candidate = palette.light(colour, step)
        if min(palette.distance(candidate, ref) for ref in references) >= _NATURAL_GAP:
            return candidate
    return palette.light(colour, 0.65)


_NATURAL_GAP = 30.0


@lru_cache(maxsize=256)
def paint_material(material: Material) -> tuple[dict[str, str], str]:
    """The ``{M}``, ``{D}``, ``{L}`` values and the ``<defs>`` content for a material, with
    ``{uid}`` left in its ids (so one drawing's ids cannot clash with another's)."""
    uid = "{uid}"
    base = material.base
    dark, light = palette.light(base, -0.35), palette.light(base, 0.45)
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
        return {"M": ref, "D": palette.mix(stops[2], base, 0.3), "L": stops[0]}, defs
    if kind == "gem":
        defs = (
            f'<linearGradient id="m{uid}" x2="1" y2="1">'
            f'<stop offset="0" stop-color="{stops[0]}"/><stop offset=".45" '
            f'stop-color="{stops[1]}"/><stop offset="1" stop-color="{stops[2]}"/>'
            "</linearGradient>"
        )
        return {"M": ref, "D": palette.mix(stops[2], stops[1], 0.35), "L": stops[0]}, defs
    if kind in ("wood", "marble", "speckle", "stars"):
        shades = {"wood": (stops[0], light), "marble": ("#b9bec7", "#ffffff")}
        shade, highlight = shades.get(kind, (dark, light))
        return {"M": ref, "D": shade, "L": highlight}, _pattern(material, uid)
    if kind == "natural":
        defs = (
            f'<linearGradient id="m{uid}"><stop offset="0" stop-color="{light}"/>'
            f'<stop offset=".5" stop-color="{base}"/><stop offset="1" '
            f'stop-color="{palette.light(base, -0.3)}"/></linearGradient>'
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
        return {"M": base, "D": palette.light(base, -0.45), "L": stops[0]}, defs
    return {"M": base, "D": dark, "L": light}, ""


def _pattern(material: Material, uid: str) -> str:
    """The ``<pattern>`` that fills a wood, marble, speckle or stars material."""
    base, stops = material.base, material.stops
    if material.kind == "wood":
        return (
            f'<pattern id="m{uid}" width="26" height="9" patternUnits="userSpaceOnUse">'
            f'<rect width="26" height="9" fill="{base}"/><path d="M0 2.5q6.5-2 13 0t13 0M0 7q7 1.6 '
            f'13 0t13 0" stroke="{stops[0]}" stroke-width="1.5" fill="none"/></pattern>'
        )
    if material.kind == "marble":
        return (
            f'<pattern id="m{uid}" width="44" height="44" patternUnits="userSpaceOnUse">'
            f'<rect width="44" height="44" fill="{base}"/><path d="M-2 14q10-8 19 3t29-3M8 44q6-14 '
            f'18-16t20-16M0 33q8 2 12-4" stroke="{stops[0]}" stroke-width="1.4" fill="none"/>'
            "</pattern>"
        )
    if material.kind == "stars":
        dots = (
            f'<circle cx="3" cy="4" r=".9" fill="{stops[0]}"/>'
            f'<circle cx="11" cy="12" r=".6" fill="{stops[0]}"/>'
        )
        size = 16
    else:
        dots = (
            f'<circle cx="3" cy="3" r="2.1" fill="{stops[0]}"/>'
            f'<circle cx="10" cy="9" r="1.6" fill="{stops[1]}"/>'
            f'<circle cx="11" cy="2" r="1" fill="{stops[0]}"/>'
            f'<circle cx="4" cy="11" r="1" fill="{stops[1]}"/>'
        )
        size = 14
    return (
        f'<pattern id="m{uid}" width="{size}" height="{size}" patternUnits="userSpaceOnUse">'
        f'<rect width="{size}" height="{size}" fill="{base}"/>{dots}</pattern>'
    )
