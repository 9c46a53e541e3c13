"""The drawings: read once from ``drawings.txt`` (shipped beside this module), compiled to SVG.

``drawings.txt`` holds one block a noun: a ``== <Noun> <#natural colour>`` line, then its shapes
in a small language, one a line (the file's header describes it). :data:`DRAWINGS` is
``noun -> (natural colour, shapes)`` with the file's shorthands (``wheel``, ``ring``,
``petals``, ``grid``) written out; :func:`compile_shapes` turns shapes into an SVG fragment
whose material paints are left as ``{M}``, ``{D}`` and ``{L}`` for :mod:`.render` to fill.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

__all__ = ["DRAWINGS", "PAINTS", "compile_shapes", "fragment", "read_drawings"]

SOURCE = Path(__file__).with_name("drawings.txt")
"""The drawings' data file."""

PAINTS = {
    "K": "#2b2d38", "W": "#f8fafc", "G": "#9aa3af", "H": "#5b6472", "Y": "#facc15",
    "R": "#ef4444", "B": "#7dd3fc", "N": "#4ade80", "O": "#fb923c", "P": "#f9a8d4",
    "T": "#8b5a2b", "C": "#fde68a", "S": "#f1c27d", "V": "#a855f7", "F": "#15803d",
}  # fmt: skip
"""The fixed paints of the shapes, by letter (``M``, ``D``, ``L`` are the material's)."""

_HEADER = re.compile(r"== (?P<noun>\S.*?) +(?P<natural>#[0-9a-fA-F]{6})")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


# ---------------------------------------------------------------------------- the shorthands
def _wheel(x: float, y: float, r: float) -> str:
    return f"c K {x} {y} {r}\nc G {x} {y} {r * 0.45:.3g}\n"


def _ring(paint: str, cx: float, cy: float, radius: float, r: float, n: int) -> str:
    """``n`` circles of radius ``r`` on a circle of ``radius`` around (cx, cy)."""
    return "".join(
        f"c {paint} {cx + radius * math.cos(2 * math.pi * k / n):.1f} "
        f"{cy + radius * math.sin(2 * math.pi * k / n):.1f} {r}\n"
        for k in range(n)
    )


def _petals(paint: str, cx: float, cy: float, length: float, width: float, n: int) -> str:
    """``n`` ellipse petals around (cx, cy)."""
    return "".join(
        f"{{ rotate({360 * k / n:.0f} {cx} {cy})\n"
        f"e {paint} {cx} {cy - length} {width} {length * 0.6:.3g}\n}}\n"
        for k in range(n)
    )


def _grid(
    paint: str,
    x: float,
    y: float,
    cols: int,
    rows: int,
    w: float,
    h: float,
    dx: float,
    dy: float,
    rx: float = 1,
) -> str:
    """``cols`` x ``rows`` rectangles ``w`` x ``h``, ``dx`` and ``dy`` apart."""
    return "".join(
        f"r {paint} {x + i * dx:g} {y + j * dy:g} {w} {h} {rx}\n"
        for j in range(rows)
        for i in range(cols)
    )


_SHORTHANDS: dict[str, Callable[..., str]] = {
    "wheel": _wheel,
    "ring": _ring,
    "petals": _petals,
    "grid": _grid,
}


def _number(token: str) -> int | float:
    """``"14"`` -> 14, ``"2.5"`` -> 2.5 (an int stays an int: it is written back as typed)."""
    return float(token) if "." in token else int(token)


def _expand(line: str) -> str:
    """A shorthand line written out as shapes; any other line as it is."""
    word, _, rest = line.partition(" ")
    write = _SHORTHANDS.get(word)
    if write is None:
        return line
    args = rest.split()
    paint = [] if word == "wheel" else [args.pop(0)]
    return write(*paint, *map(_number, args)).rstrip("\n")


# ---------------------------------------------------------------------------- reading
def read_drawings(text: str) -> dict[str, tuple[str, str]]:
    """``noun -> (natural colour, shapes)`` from the text of a drawings file.

    Raises
    ------
    ValueError
        For a shape before the first ``==`` line, a malformed ``==`` line, or a noun drawn twice.
    """
    drawings: dict[str, tuple[str, str]] = {}
    noun = natural = None
    shapes: list[str] = []

    def close() -> None:
        if noun is not None:
            drawings[noun] = (natural, "\n".join(shapes) + "\n")

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("=="):
            close()
            header = _HEADER.fullmatch(line)
            if header is None:
                raise ValueError(f"line {number}: expected '== <Noun> <#rrggbb>', got {line!r}")
            noun, natural, shapes = header["noun"], header["natural"], []
            if noun in drawings:
                raise ValueError(f"line {number}: two drawings of {noun!r}")
            continue
        if noun is None:
            raise ValueError(f"line {number}: a shape before the first '==' line")
        shapes.append(_expand(line))
    close()
    return drawings


DRAWINGS: dict[str, tuple[str, str]] = read_drawings(SOURCE.read_text(encoding="utf-8"))
"""``noun -> (natural colour, shapes)``: one drawing per noun of the demo's vocabulary, plus the
generic glyphs (``Paw``, ``Person``, ``Cube``...)."""


# ---------------------------------------------------------------------------- compiling
def paint(token: str) -> tuple[str, str]:
    """``(attrs for the fill, attrs for a stroke)`` of a paint token: ``M`` ``D`` ``L`` (the
    material), a letter of :data:`PAINTS`, or ``#rrggbb``; ``@.5`` sets the opacity, a trailing
    ``!`` drops the outline."""
    bare = token.endswith("!")
    token = token.rstrip("!")
    colour, _, opacity = token.partition("@")
    if colour in ("M", "D", "L"):
        value = "{" + colour + "}"
    elif colour in PAINTS:
        value = PAINTS[colour]
    elif re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        value = colour.lower()
    else:
        raise ValueError(f"unknown paint {token!r}")
    fill = f'fill="{value}"' + (f' fill-opacity="{opacity}"' if opacity else "")
    stroke = f'stroke="{value}"' + (f' stroke-opacity="{opacity}"' if opacity else "")
    if bare:
        fill += ' stroke="none"'
    return fill, stroke


def _shape(kind: str, rest: str, line: str) -> str:
    """One shape line (not a group) as an SVG element."""
    paint_token, _, rest = rest.strip().partition(" ")
    fill, stroke = paint(paint_token)
    if kind == "p":
        return f'<path {fill} d="{rest.strip()}"/>'
    if kind == "q":
        return f'<path {fill} fill-rule="evenodd" d="{rest.strip()}"/>'
    if kind == "s":
        width, _, d = rest.strip().partition(" ")
        return f'<path {stroke} stroke-width="{width}" fill="none" d="{d.strip()}"/>'
    nums = _NUMBER.findall(rest)
    if kind == "r":
        x, y, w, h = nums[:4]
        rx = f' rx="{nums[4]}"' if len(nums) > 4 else ""
        return f'<rect {fill} x="{x}" y="{y}" width="{w}" height="{h}"{rx}/>'
    if kind == "c":
        return f'<circle {fill} cx="{nums[0]}" cy="{nums[1]}" r="{nums[2]}"/>'
    if kind == "e":
        cx, cy, rx, ry = nums[:4]
        return f'<ellipse {fill} cx="{cx}" cy="{cy}" rx="{rx}" ry="{ry}"/>'
    if kind == "o":
        width, cx, cy, r = nums[:4]
        return f'<circle {stroke} stroke-width="{width}" fill="none" cx="{cx}" cy="{cy}" r="{r}"/>'
    raise ValueError(f"unknown shape {line!r}")


def compile_shapes(source: str) -> str:
    """A drawing's shape list -> an SVG fragment with ``{M}``, ``{D}``, ``{L}`` left to fill.

    One shape a line: ``r paint x y w h [rx]``, ``c paint cx cy r``, ``e paint cx cy rx ry``,
    ``p paint d`` (path), ``q paint d`` (path, even-odd), ``s paint width d`` (stroked path, no
    fill), ``o paint width cx cy r`` (stroked circle), ``{ transform`` / ``}`` (a group).

    Raises
    ------
    ValueError
        For an unknown shape or paint.
    """
    out = []
    for raw in source.strip().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        if kind == "{":
            out.append(f'<g transform="{rest.strip()}">')
        elif kind == "}":
            out.append("</g>")
        else:
            out.append(_shape(kind, rest, line))
    return "".join(out)


@cache
def fragment(noun: str) -> str:
    """The compiled drawing of ``noun`` (a key of :data:`DRAWINGS`)."""
    return compile_shapes(DRAWINGS[noun][1])
