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

This package is the one palette of generated pictures (:func:`category_colours`). It is data
generation, not rendering: a name and a category in, SVG text out, no HTML and no other part of
recsys_core imported (``tests/test_pictures.py`` checks). So it sits in the data layer, beside
:mod:`recsys_core.datasets`, whose demo generator stores each item's picture as its
``image_url``; :mod:`recsys_core.html` and :mod:`recsys_core.thumbnails` import it from above.

Modules: :mod:`.palette` (category colours, colour arithmetic), :mod:`.materials` (material
adjectives -> paints), :mod:`.styles` (style adjectives -> background marks), :mod:`.drawings`
(the drawings, read from ``drawings.txt``, and their compiler), :mod:`.names` (a name -> style,
material, noun), :mod:`.render` (the SVG).
"""

from __future__ import annotations

from .drawings import DRAWINGS
from .materials import MATERIALS
from .names import parse_name
from .palette import CATEGORY_COLOURS, category_colours
from .render import picture_data_uri, picture_svg
from .styles import STYLES

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
