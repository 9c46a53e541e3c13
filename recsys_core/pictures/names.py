"""Names: which drawing, material and style a name asks for.

A demo name reads "<Style> <Material> <Noun>" (:func:`parse_name`); any other name is drawn as its
last words where they name a drawing or one of :data:`ALIASES` ("Broken lamp" -> Floor Lamp), else
as its category's glyph (:func:`category_glyph`: the demo's categories by :data:`CATEGORY_GLYPH`,
other datasets' by the words of :data:`GLYPH_WORDS`, else a cube).
"""

from __future__ import annotations

import re
from typing import Any

from .drawings import DRAWINGS
from .materials import MATERIALS
from .styles import STYLES

__all__ = ["ALIASES", "CATEGORY_GLYPH", "GLYPH_WORDS", "category_glyph", "parse_name"]

# one group of words a line
# fmt: off
CATEGORY_GLYPH: dict[str, str] = {
    "animals": "Paw", "vehicles": "Sports Car", "architecture": "Cottage",
    "characters": "Person", "weapons": "Longsword", "furniture": "Armchair",
    "sci-fi": "Rocket", "nature": "Oak Tree", "food": "Apple", "electronics": "Monitor",
    "fantasy": "Gem", "music": "Music Note",
}
"""The drawing for a name without a known noun, by (lower-case) demo category."""

GLYPH_WORDS: dict[str, str] = {
    word: glyph
    for words, glyph in (
        (("animal", "pet", "bird", "creature", "wildlife"), "Paw"),
        (("car", "vehicle", "transport", "automotive"), "Sports Car"),
        (("architecture", "place", "building", "travel", "house", "city"), "Cottage"),
        (("character", "people", "person", "human", "fashion"), "Person"),
        (("weapon", "military"), "Longsword"),
        (("furniture", "home", "interior"), "Armchair"),
        (("sci", "science", "space", "robot"), "Rocket"),
        (("nature", "plant", "landscape"), "Oak Tree"),
        (("food", "drink"), "Apple"),
        (("electronic", "technology", "tech", "gadget"), "Monitor"),
        (("fantasy", "magic", "art", "abstract"), "Gem"),
        (("music", "sound", "musical"), "Music Note"),
        (("film", "movie", "comedy", "drama", "action", "thriller", "romance", "horror",
          "documentary", "animation", "adventure", "crime", "mystery", "western", "war",
          "musical", "children", "noir", "imax", "fi"), "Clapperboard"),
    )
    for word in words
}
"""Words of other datasets' categories ("animals-pets", "Comedy|Drama") -> a glyph; matched on
whole words, a trailing "s" dropped."""

ALIASES: dict[str, str] = {
    "dog": "Puppy", "rabbit": "Bunny", "bird": "Eagle", "kitten": "Cat", "hen": "Chicken",
    "car": "Sports Car", "truck": "Pickup Truck", "bus": "School Bus", "plane": "Cargo Plane",
    "airplane": "Cargo Plane", "jet": "Fighter Jet", "motorcycle": "Motorbike",
    "house": "Cottage", "castle": "Castle Keep", "church": "Chapel", "tower": "Wizard Tower",
    "bridge": "Stone Bridge", "windmill": "Old Mill", "knight": "Medieval Knight",
    "pirate": "Pirate Captain", "elf": "Elf Ranger", "orc": "Orc Warlord",
    "sword": "Longsword", "axe": "Battle Axe", "hammer": "War Hammer", "shield": "Round Shield",
    "gun": "Revolver", "pistol": "Flintlock Pistol", "rifle": "Assault Rifle",
    "chair": "Armchair", "sofa": "Chesterfield Sofa", "couch": "Chesterfield Sofa",
    "clock": "Grandfather Clock", "desk": "Writing Desk", "bed": "Four-poster Bed",
    "table": "Coffee Table", "lamp": "Floor Lamp", "stool": "Bar Stool", "shelf": "Shelf Unit",
    "cabinet": "Filing Cabinet", "spaceship": "Starfighter", "ship": "Starfighter",
    "robot": "Android", "drone": "Quadcopter", "tree": "Oak Tree", "rock": "Boulder",
    "stone": "Boulder", "mushroom": "Mushroom Cluster", "flower": "Sunflower",
    "rose": "Rose Bush", "bread": "Sourdough Loaf", "cheese": "Cheese Wheel",
    "pizza": "Pizza Slice", "cake": "Birthday Cake", "ice cream": "Ice Cream Cone",
    "phone": "Smartphone", "telephone": "Rotary Phone", "camera": "Instant Camera",
    "tv": "CRT Television", "television": "CRT Television", "computer": "Gaming PC",
    "pc": "Gaming PC", "watch": "Smartwatch", "speaker": "Stage Speaker",
    "potion": "Potion Bottle", "book": "Spell Book", "staff": "Magic Staff",
    "chest": "Treasure Chest", "guitar": "Acoustic Guitar", "piano": "Grand Piano",
    "drum": "Drum Kit", "drums": "Drum Kit", "sax": "Saxophone", "mic": "Microphone",
    "synth": "Synthesizer", "monitor": "Monitor", "gem": "Gem", "crystal": "Gem",
}
"""Other names' last words that have a drawing of their own ("Broken lamp" -> Floor Lamp)."""
# fmt: on


def category_glyph(category: str) -> str:
    """The generic drawing for a category: the demo's own, else by keyword, else a cube."""
    key = category.strip().lower()
    if key in CATEGORY_GLYPH:
        return CATEGORY_GLYPH[key]
    words = [w[:-1] if w.endswith("s") else w for w in re.split(r"[^a-z]+", key) if w]
    return next((GLYPH_WORDS[w] for w in words if w in GLYPH_WORDS), "Cube")


_NOUN_KEYS = {noun.lower(): noun for noun in DRAWINGS}
_ALIAS_KEYS = {alias.lower(): noun for alias, noun in ALIASES.items()}

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
