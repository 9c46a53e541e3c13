"""Generated pictures: one drawing per noun, one paint per material, all different, safe XML."""

from __future__ import annotations

import ast
import base64
import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from recsys_core import pictures
from recsys_core.datasets import demo
from recsys_core.html import GRID_CSS, category_colour, thumbnail_card
from recsys_core.pictures.drawings import compile_shapes
from recsys_core.pictures.materials import paint_material
from recsys_core.pictures.styles import background
from recsys_core.thumbnails import placeholder_data_uri, placeholder_svg

SVG = "{http://www.w3.org/2000/svg}"
NOUNS = [noun for _, group in demo.GROUPS for noun in group.nouns]
CATEGORY_OF = {noun: demo.CATEGORIES[c].name for c, group in demo.GROUPS for noun in group.nouns}


@pytest.fixture(scope="module")
def data():
    return demo.generate(0)


def _drawn(svg: str) -> str:
    """What is drawn: the SVG without its title and its per-picture id suffix."""
    svg = re.sub(r"<title>.*?</title>", "", svg, flags=re.S)
    return re.sub(r'(id="|url\(#)([bmg])[0-9a-f]{6}', r"\1\2", svg)


def _fragment(noun: str) -> str:
    return compile_shapes(pictures.DRAWINGS[noun][1])


def _geometry(noun: str) -> list[str]:
    """The path data of a drawing (what it draws, whatever the paint)."""
    return re.findall(r' d="([^"]+)"', _fragment(noun))


def _draws(svg: str, noun: str) -> bool:
    return all(f' d="{d}"' in svg for d in _geometry(noun))


# ---------------------------------------------------------------------------- vocabulary
def test_every_noun_of_the_demo_has_its_own_drawing():
    assert len(NOUNS) == len(set(NOUNS)) == 240
    missing = [noun for noun in NOUNS if noun not in pictures.DRAWINGS]
    assert not missing
    fragments = {noun: _fragment(noun) for noun in pictures.DRAWINGS}
    by_fragment = defaultdict(list)
    for noun, fragment in fragments.items():
        by_fragment[fragment].append(noun)
    assert not [nouns for nouns in by_fragment.values() if len(nouns) > 1]
    for noun in NOUNS:  # a few shapes at least, and a part in the item's material
        assert fragments[noun].count("<") >= 3 and "{M}" in fragments[noun], noun


def test_every_material_and_style_adjective_has_a_treatment():
    colours = [c.lower() for c in demo.COLOURS if c]
    assert set(colours) == set(pictures.MATERIALS)
    styles = {adjective.lower() for cluster in demo.STYLES.values() for _, adjective in cluster}
    assert styles == set(pictures.STYLES)
    # every material paints differently, every style draws a different background
    paints = {repr(paint_material(m)) for m in pictures.MATERIALS.values()}
    assert len(paints) == len(pictures.MATERIALS)
    backgrounds = {background(*pictures.STYLES[s], "#123456") for s in styles}
    assert len(backgrounds) == len(styles) and "" not in backgrounds


def test_names_are_read_as_style_material_noun(data):
    for name, group in zip(data.items["name"], data.items["group"]):
        style, material, noun = pictures.parse_name(name)
        assert noun in demo.GROUPS[group][1].nouns, name
        words = name.split(" ")
        assert style == " ".join(words[: 2 if style == "tilt brush" else 1]).lower()
        assert material == (name[len(style) + 1 : -len(noun)].strip().lower() or None)
    assert pictures.parse_name("Low-poly Fox 2") == ("low-poly", None, "Fox")
    assert pictures.parse_name("Broken lamp") == (None, None, "Floor Lamp")
    assert pictures.parse_name("Old wooden chairs") == (None, "wooden", "Armchair")
    assert pictures.parse_name("Toy Story (1995)") == (None, None, None)
    assert pictures.parse_name(None) == (None, None, None)


# ---------------------------------------------------------------------------- every picture differs
def test_pictures_of_one_category_all_differ(data):
    items = data.items
    for category, rows in items.groupby("category"):
        drawn = [_drawn(pictures.picture_svg(n, category)) for n in rows["name"]]
        assert len(set(drawn)) == len(drawn), category
        # the first twelve (a grid), pairwise, and the shapes (not only the colours) of twelve
        # items with twelve different nouns
        first = drawn[:12]
        assert all(a != b for a, b in itertools.combinations(first, 2))
    for noun_a, noun_b in itertools.combinations(NOUNS[:12], 2):
        assert _drawn(pictures.picture_svg(noun_a, "Animals")) != _drawn(
            pictures.picture_svg(noun_b, "Animals")
        )


def test_same_noun_in_another_material_or_style_differs():
    base = _drawn(pictures.picture_svg("Low-poly Red Typewriter", "Electronics"))
    others = [f"Low-poly {c} Typewriter".replace("  ", " ") for c in demo.COLOURS if c != "Red"]
    others += [f"{a} Red Typewriter" for c in demo.STYLES.values() for _, a in c if a != "Low-poly"]
    drawn = [_drawn(pictures.picture_svg(name, "Electronics")) for name in others]
    assert base not in drawn and len(set(drawn)) == len(drawn)


def test_other_datasets_get_their_category_glyph_in_varied_materials():
    films = [f"Film number {k}" for k in range(12)]
    drawn = [_drawn(pictures.picture_svg(name, "Comedy|Drama")) for name in films]
    assert len(set(drawn)) == 12
    assert all(_draws(d, "Clapperboard") for d in drawn)
    assert _draws(pictures.picture_svg("Broken lamp", "Lamps"), "Floor Lamp")
    assert _draws(pictures.picture_svg("x", "cars-vehicles"), "Sports Car")
    assert _draws(pictures.picture_svg("x", "Animals"), "Paw")
    assert _draws(pictures.picture_svg("x", ""), "Cube")
    assert _draws(pictures.picture_svg("Sculpted Emerald Typewriter", "Comedy"), "Typewriter")
    assert pictures.picture_svg("x", "cars-vehicles") != pictures.picture_svg("x", "y")


# ---------------------------------------------------------------------------- bytes
def test_pictures_are_deterministic_small_and_well_formed(data):
    names, categories = data.items["name"].tolist(), data.items["category"].tolist()
    for name, category in zip(names, categories):
        svg = pictures.picture_svg(name, category)
        assert len(svg.encode()) < 6_000, name  # a few KB
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 200 150"
        assert root.find(f"{SVG}title").text == name
        assert not list(root.iter(f"{SVG}text"))  # the name is not drawn: the card prints it
        assert "{" not in svg  # every paint filled in
    # a grid of 50 stays light: about 2 KB a picture
    assert sum(len(uri) for uri in data.items["image_url"][:50]) < 160_000
    assert pictures.picture_svg(names[0], categories[0]) == placeholder_svg(names[0], categories[0])
    uri = pictures.picture_data_uri(names[0], categories[0])
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == placeholder_svg(
        *data.items.loc[0, ["name", "category"]]
    )
    assert placeholder_data_uri(names[0], categories[0]) == uri == data.items.at[0, "image_url"]
    # same bytes in a new process (no salted hash anywhere)
    code = (
        "from recsys_core.pictures import picture_svg; import sys; "
        "sys.stdout.write(picture_svg('Neon Chrome Fox 7', 'Jazz / <x>'))"
    )
    again = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
        cwd=str(__import__("pathlib").Path.cwd()),
    ).stdout
    assert again == pictures.picture_svg("Neon Chrome Fox 7", "Jazz / <x>")


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ('<img src=x onerror=alert(1)> "Chrome" Fox', '"><script>alert(1)</script>'),
        ("Low-poly <b>Golden</b> Typewriter & 'Co'", "Electronics"),
        ('Tom & "Jerry" \\ | \x00\x07 \u00e9t\u00e9 \U0001f98a Fox', "Animals"),
        ("]]><!-- Neon --> <![CDATA[ Fox", "<!ENTITY x SYSTEM 'file:///etc/passwd'>"),
        ("Chrome", "Chrome"),
        ("", ""),
    ],
)
def test_odd_names_and_categories_stay_text(name, category):
    svg = pictures.picture_svg(name, category)
    root = ET.fromstring(svg)
    tags = {el.tag.split("}")[-1] for el in root.iter()}
    assert not tags & {"script", "img", "foreignObject", "a", "image", "use", "b"}
    expected = "".join(ch for ch in name if ch in "\t\n\r" or ord(ch) >= 0x20)
    assert (root.find(f"{SVG}title").text or "") == expected
    assert "<!ENTITY" not in svg and "<![CDATA[" not in svg and "<!--" not in svg
    assert "href" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


# ---------------------------------------------------------------------------- the card
def test_the_card_prints_the_name_once_and_lets_tags_wrap():
    name = "Sculpted Chrome Typewriter"
    card = thumbnail_card(
        name=name,
        image_url=placeholder_data_uri(name, "Electronics"),
        category="Electronics",
        href="?item=i1",
        tags=["sculpt", "high-poly", "electronics"],
    )
    text = re.sub(r"<[^>]*>", " ", card)  # the card's text, attributes left out
    assert text.count(name) == 1
    svg = placeholder_svg(name, "Electronics")
    assert name not in re.sub(r"<title>.*?</title>", "", svg)
    assert all(f">{tag}<" in card for tag in ("sculpt", "high-poly", "electronics"))
    rules = dict(re.findall(r"\.(rx-tags?)\{([^}]*)\}", GRID_CSS))
    assert "flex-wrap:wrap" in rules["rx-tags"] and "overflow:hidden" not in rules["rx-tags"]
    assert "ellipsis" not in rules["rx-tag"] and "nowrap" not in rules["rx-tag"]


def test_pictures_import_no_other_part_of_recsys_core():
    """The data layer (the demo generator) imports pictures, so pictures import nothing above."""
    folder = Path(pictures.__file__).parent
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from outside pictures"
                assert not (node.module or "").startswith("recsys_core"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("recsys_core") for a in node.names), path.name


def test_one_palette_outside_the_demo_generator():
    assert category_colour("Animals") == pictures.category_colours("Animals")[0] == "#fb923c"
    assert category_colour("anything") == pictures.category_colours("anything")[0]
    code = (
        "import sys, recsys_core.html, recsys_core.pictures, recsys_core.thumbnails; "
        "recsys_core.html.category_colour('Food'); "
        "recsys_core.html.thumbnail_card(name='x', image_url='https://a.example/x.png'); "
        "print('recsys_core.datasets.demo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
