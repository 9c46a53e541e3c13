"""The one palette of generated pictures: each category's colours, and colour arithmetic.

:func:`category_colours` is what :mod:`recsys_core.html` tints a card with and what the
pictures' backgrounds are made of; the helpers mix, lighten and measure ``#rrggbb`` colours.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from typing import Any

__all__ = ["CATEGORY_COLOURS", "category_colours", "digest", "distance", "light", "mix"]

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


def digest(text: str, size: int = 4) -> int:
    """A stable number from ``text`` (no salted ``hash``): the same in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=size).digest(), "big")


def category_colours(category: Any) -> tuple[str, str]:
    """The category's ``(light, dark)`` colours (``#rrggbb``).

    The demo's categories have their own; any other category gets a stable one from its hash.
    """
    key = str(category or "").strip().lower()
    if key in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[key]
    return _PALETTE[digest(key) % len(_PALETTE)]


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(max(v, 0.0), 1.0) * 255):02x}" for v in rgb)


def mix(a: str, b: str, t: float) -> str:
    """``a`` moved a fraction ``t`` of the way to ``b``."""
    return _hex(tuple(x + (y - x) * t for x, y in zip(_rgb(a), _rgb(b))))  # type: ignore[arg-type]


def light(colour: str, amount: float) -> str:
    """Lighter (``amount`` > 0) or darker (< 0), keeping the hue."""
    h, lightness, s = colorsys.rgb_to_hls(*_rgb(colour))
    if amount > 0:
        lightness = lightness + (1 - lightness) * amount
    else:
        lightness = lightness * (1 + amount)
    return _hex(colorsys.hls_to_rgb(h, lightness, s))


def distance(a: str, b: str) -> float:
    """How far apart two colours are, in RGB units (0-255 a channel)."""
    return math.dist(_rgb(a), _rgb(b)) * 255
