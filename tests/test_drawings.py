"""The drawings' data file (recsys_core/pictures/drawings.txt) and its loader.

The pictures were drawn from Python calls before the drawings became a data file; the digest
below is of the pictures that code made for the sample of names, so the data file draws exactly
what it did.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from recsys_core import pictures
from recsys_core.pictures import drawings

BEFORE_SHA256 = "20adf302a688a9e5fc37dfb24455dfbcc9f29b61c851c1ddf490fed6b647eb37"
"""sha256 of the sample's pictures (each SVG's UTF-8 bytes, then a NUL), made by the code of
recsys_core/_drawings.py and recsys_core/pictures.py at commit f0357e5, before the move."""


def _sample() -> list[tuple[str, str]]:
    """524 (name, category) pairs: every noun bare and with a style and a material, in turn
    over every style, material and category, plus names without a known noun (glyphs)."""
    nouns = sorted(pictures.DRAWINGS)
    styles = sorted(pictures.STYLES)
    materials = [""] + sorted(pictures.MATERIALS)
    categories = sorted(pictures.CATEGORY_COLOURS) + ["Comedy|Drama", "", "Lamps & <b>"]
    out = []
    for k, noun in enumerate(nouns):
        style = styles[k % len(styles)]
        material = materials[(k * 7) % len(materials)]
        category = categories[k % len(categories)]
        out.append((noun, category))
        out.append((" ".join(w for w in (style, material, noun) if w), category))
    for k in range(30):
        out.append((f"Film number {k}", categories[k % len(categories)]))
    return out


def test_the_pictures_are_byte_identical_to_those_of_the_python_drawings():
    digest = hashlib.sha256()
    sample = _sample()
    for name, category in sample:
        digest.update(pictures.picture_svg(name, category).encode("utf-8"))
        digest.update(b"\x00")
    assert len(sample) == 524
    assert digest.hexdigest() == BEFORE_SHA256


def test_every_drawing_parses_and_compiles_to_svg():
    assert len(drawings.DRAWINGS) == 247
    for noun, (natural, shapes) in drawings.DRAWINGS.items():
        assert natural.startswith("#") and len(natural) == 7, noun
        fragment = drawings.compile_shapes(shapes)
        filled = fragment.format_map({"M": "#111111", "D": "#222222", "L": "#333333"})
        root = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{filled}</svg>')
        assert len(list(root.iter())) > 1, noun
        assert fragment.count("<") == len(shapes.splitlines()), noun  # one element a line


def test_the_shorthands_are_written_out():
    text = "== Thing #123456\nwheel 10 20 14\nring K 100 74 34 14 4\ngrid B 1 2 2 1 3 4 5 0 2\n"
    natural, shapes = drawings.read_drawings(text)["Thing"]
    assert natural == "#123456"
    assert shapes.splitlines() == [
        "c K 10 20 14",
        "c G 10 20 6.3",
        "c K 134.0 74.0 14",
        "c K 100.0 108.0 14",
        "c K 66.0 74.0 14",
        "c K 100.0 40.0 14",
        "r B 1 2 3 4 2",
        "r B 6 2 3 4 2",
    ]
    petals = drawings.read_drawings("== P #000000\npetals M 100 52 24 7 2\n")["P"][1]
    assert petals.splitlines() == [
        "{ rotate(0 100 52)",
        "e M 100 28 7 14.4",
        "}",
        "{ rotate(180 100 52)",
        "e M 100 28 7 14.4",
        "}",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("c K 1 2 3\n", "before the first"),
        ("== Fox\nc K 1 2 3\n", "expected '== <Noun> <#rrggbb>'"),
        ("== Fox #111111\nc K 1 2 3\n== Fox #222222\nc K 1 2 3\n", "two drawings of 'Fox'"),
    ],
)
def test_a_malformed_file_says_which_line(text, message):
    with pytest.raises(ValueError, match=message):
        drawings.read_drawings(text)


def test_an_unknown_shape_or_paint_is_refused():
    with pytest.raises(ValueError, match="unknown shape"):
        drawings.compile_shapes("z K 1 2 3")
    with pytest.raises(ValueError, match="unknown paint"):
        drawings.compile_shapes("c Q 1 2 3")


def test_the_data_file_ships_in_the_package():
    assert drawings.SOURCE == Path(drawings.__file__).with_name("drawings.txt")
    assert drawings.SOURCE.is_file()
