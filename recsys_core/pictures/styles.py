"""Styles: how a name's style adjective draws the picture's background.

:data:`STYLES` maps each style adjective of the demo's names ("low-poly", "voxel", "tilt
brush"...) to a background pattern (facets, studio floor, rig, pixels, brush strokes, rings) and
a variant within its family; the variant also picks the backdrop (light, deeper, dark stage) and
the view (as drawn, mirrored, a step back) in :mod:`.render`. :func:`background` draws the
pattern's marks.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["STYLES", "STYLE_LIST", "background"]

# one style family a line
# fmt: off
STYLES: dict[str, tuple[str, int]] = {
    "low-poly": ("facets", 0), "stylized": ("facets", 1), "game-ready": ("facets", 2),
    "photoscanned": ("studio", 0), "pbr": ("studio", 1), "realistic": ("studio", 2),
    "rigged": ("rig", 0), "animated": ("rig", 1),
    "voxel": ("pixels", 0), "pixel-art": ("pixels", 1),
    "tilt brush": ("strokes", 0), "hand-painted": ("strokes", 1),
    "sculpted": ("rings", 0), "high-poly": ("rings", 1),
}
# fmt: on
"""Style adjectives of names (lower case): the background pattern and its variant."""
STYLE_LIST = sorted(STYLES)
"""The style adjectives in a fixed order (a name without one gets one by its hash)."""


@lru_cache(maxsize=512)
def background(pattern: str, variant: int, ink: str) -> str:
    """Style marks over the tinted background, in ``ink`` (faint); "" for no pattern."""
    draw = _PATTERNS.get(pattern)
    return draw(variant, ink) if draw is not None else ""


def _facets(variant: int, ink: str) -> str:
    shapes = (
        ("M0 0H120L0 90Z", "M200 0V110L90 0Z", "M0 150L70 60L150 150Z", "M200 40V150H130Z"),
        ("M0 40L60 0H150L0 130Z", "M200 150H60L200 50Z", "M110 0H200V30Z"),
        (
            "M0 0H80L40 70L0 110Z",
            "M200 0V80L140 40L160 0Z",
            "M0 150L40 100L100 150Z",
            "M200 150H120L170 100Z",
            "M60 0L100 30L140 0Z",
        ),
    )[variant % 3]
    opacities = (".10", ".16", ".07", ".13", ".09")
    return "".join(
        f'<path d="{d}" fill="{ink}" fill-opacity="{opacities[i % 5]}"/>'
        for i, d in enumerate(shapes)
    )


def _studio(variant: int, ink: str) -> str:
    horizon = (104, 96, 112)[variant % 3]
    floor = (
        f'<rect y="{horizon}" width="200" height="{150 - horizon}" fill="{ink}" '
        'fill-opacity=".12"/>'
    )
    extra = (
        "",
        f'<ellipse cx="100" cy="{horizon + 22}" rx="70" ry="12" fill="{ink}" fill-opacity=".12"/>',
        f'<path d="M0 {horizon}H200" stroke="{ink}" stroke-opacity=".3"/>',
    )[variant % 3]
    return floor + extra


def _rig(variant: int, ink: str) -> str:
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


def _pixels(variant: int, ink: str) -> str:
    step = (10, 14)[variant % 2]
    cells = []
    for i in range(0, 200 // step):
        for j in range(0, 150 // step):
            # a checkerboard along the edges only
            edge = min(i, j, 200 // step - 1 - i, 150 // step - 1 - j)
            if edge < 2 and (i + j + variant) % (2 + edge) == 0:
                cells.append(f"M{i * step} {j * step}h{step}v{step}h-{step}z")
    return f'<path d="{"".join(cells)}" fill="{ink}" fill-opacity=".13"/>'


def _strokes(variant: int, ink: str) -> str:
    if variant % 2 == 0:
        return (
            f'<path d="M-10 40Q60 0 120 26T230 20M-10 128Q70 96 130 124T220 110" '
            f'stroke="{ink}" stroke-opacity=".16" stroke-width="14" fill="none" '
            'stroke-linecap="round"/>'
        )
    dabs = ((24, 26, 14), (176, 30, 12), (30, 120, 11), (170, 118, 15), (150, 66, 8), (44, 72, 8))
    return (
        f'<g fill="{ink}" fill-opacity=".14">'
        + "".join(
            f'<ellipse cx="{x}" cy="{y}" rx="{r}" ry="{r * 0.7:g}" '
            f'transform="rotate(-20 {x} {y})"/>'
            for x, y, r in dabs
        )
        + "</g>"
    )


def _rings(variant: int, ink: str) -> str:
    radii = (30, 52, 74, 96, 118) if variant % 2 == 0 else (24, 36, 48, 60, 72, 84, 96, 108)
    return (
        f'<g fill="none" stroke="{ink}" stroke-opacity=".13">'
        + "".join(f'<circle cx="100" cy="72" r="{r}"/>' for r in radii)
        + "</g>"
    )


_PATTERNS = {
    "facets": _facets,
    "studio": _studio,
    "rig": _rig,
    "pixels": _pixels,
    "strokes": _strokes,
    "rings": _rings,
}
"""Each background pattern's marks, by name."""
