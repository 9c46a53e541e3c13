"""The demo's pictures in Chromium: twelve items of a category are twelve visibly different
pictures, in a page of their own and in the Similar grid of the running app.

"Visibly different" is measured on the pixels Chromium draws at card size (about 180 px wide):
two pictures differ when at least :data:`MIN_CHANGED` of their pixels differ by more than
:data:`STRONG` in some colour channel (a change a person sees, not antialiasing).
"""

from __future__ import annotations

import io
import itertools
import re
from html import escape

import numpy as np
from PIL import Image

from recsys_core.datasets import load_dataset
from recsys_core.pictures import parse_name, picture_data_uri

from .conftest import ARTIFACTS, screenshot, wait_for_app

K = 12
WIDTH = 180
STRONG = 40
MIN_CHANGED = 0.03


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that differ by more than STRONG in some channel (common area)."""
    height, width = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    diff = np.abs(a[:height, :width] - b[:height, :width]).max(axis=2)
    return float((diff > STRONG).mean())


def _closest_pair(images: list[np.ndarray], labels: list[str]) -> tuple[float, str, str]:
    return min(
        (_changed(images[i], images[j]), labels[i], labels[j])
        for i, j in itertools.combinations(range(len(images)), 2)
    )


def _hard_twelve(items, category: str) -> list[int]:
    """Twelve items of ``category`` as alike as the demo has: the most common noun first
    (pictures that differ only in material or style), then the next nouns."""
    rows = items.index[items["category"] == category].tolist()
    by_noun: dict[str, list[int]] = {}
    for row in rows:
        by_noun.setdefault(parse_name(items.at[row, "name"])[2], []).append(row)
    ordered = sorted(by_noun.values(), key=len, reverse=True)
    return [row for group in ordered for row in group][:K]


def _render(page, pictures: list[tuple[str, str]]) -> list[np.ndarray]:
    """Each (name, data URI) as an <img> WIDTH px wide; their pixels as Chromium draws them."""
    cells = "".join(
        f'<figure><img src="{uri}" width="{WIDTH}"><figcaption>{escape(name)}</figcaption></figure>'
        for name, uri in pictures
    )
    page.set_content(
        "<body style='margin:6px;font:11px sans-serif;display:flex;flex-wrap:wrap;gap:6px;"
        "align-content:flex-start'>"
        f"<style>figure{{margin:0;width:{WIDTH}px}}</style>{cells}</body>"
    )
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    return [_pixels(img.screenshot()) for img in page.locator("img").all()]


def test_twelve_items_of_every_category_are_twelve_visibly_different_pictures(page):
    items = load_dataset("demo").items
    page.set_viewport_size({"width": 6 * (WIDTH + 6) + 12, "height": 800})
    closest = []
    for category in sorted(items["category"].unique()):
        first = items.index[items["category"] == category][:K].tolist()
        for label, rows in (("first", first), ("alike", _hard_twelve(items, category))):
            names = [items.at[row, "name"] for row in rows]
            assert len(names) == K
            images = _render(
                page, [(items.at[row, "name"], items.at[row, "image_url"]) for row in rows]
            )
            assert all(image.std() > 10 for image in images)  # pictures, not flat colours
            share, a, b = _closest_pair(images, names)
            closest.append((share, category, label, a, b))
            if label == "alike":
                slug = re.sub(r"[^a-z]+", "-", category.lower())
                screenshot(page, f"pictures-{slug}")
    (ARTIFACTS / "pictures-closest.txt").write_text(
        "\n".join(f"{s:.3f} {c} {label}: {a} / {b}" for s, c, label, a, b in sorted(closest))
    )
    worst = min(closest)
    assert worst[0] >= MIN_CHANGED, worst


def test_a_grid_of_fifty_pictures_paints_quickly(page):
    items = load_dataset("demo").items
    uris = items["image_url"].tolist()[:50]
    cells = "".join(f'<img src="{uri}" width="{WIDTH}">' for uri in uris)
    page.set_content("<body style='margin:0'></body>")
    elapsed = page.evaluate(
        """cells => new Promise(done => {
            const start = performance.now();
            document.body.innerHTML = cells;
            Promise.all([...document.images].map(i => i.decode())).then(() =>
                requestAnimationFrame(() => done(performance.now() - start)));
        })""",
        cells,
    )
    assert page.evaluate("() => [...document.images].every(i => i.naturalWidth === 200)")
    assert elapsed < 3000, elapsed  # well under a second on an idle machine


def test_the_same_name_draws_the_same_pixels(page):
    name, category = "Sculpted Chrome Typewriter", "Electronics"
    first, again = _render(page, [(name, picture_data_uri(name, category))] * 2)
    assert _changed(first, again) == 0.0


def test_the_similar_grid_shows_twelve_different_pictures_and_each_name_once(
    page, app_url, app_models
):
    demo = load_dataset("demo")
    page.goto(
        f"{app_url}/similar?dataset=demo&model={app_models['als']}&item={demo.example_item}&k={K}"
    )
    wait_for_app(page)
    page.wait_for_function(
        "k => [...document.querySelectorAll('.rx-grid img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= k",
        arg=K,
    )
    cards = page.locator(".rx-grid .rx-card")
    assert cards.count() == K
    cards.first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    screenshot(page, "pictures-similar")
    names, images = [], []
    for position in range(K):
        card = cards.nth(position)
        name = card.locator(".rx-name").get_attribute("title")
        names.append(name)
        # the name is printed once: in the card's text, and not in the picture
        assert card.inner_text().count(name) == 1, name
        assert parse_name(name)[2] is not None
        thumb = card.locator(".rx-thumb")
        assert 120 <= thumb.bounding_box()["width"] <= 320
        images.append(_pixels(thumb.screenshot()))
    share, a, b = _closest_pair(images, names)
    assert share >= MIN_CHANGED, (share, a, b)
    # tag chips are whole: none is cut (a chip's text fits its box)
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('.rx-grid .rx-tag')]"
        ".filter(t => t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1)"
        ".map(t => t.textContent)"
    )
    assert not clipped
    tags = page.locator(".rx-grid .rx-tag").all_inner_texts()
    assert tags and not [t for t in tags if t.endswith("\u2026")]
    page.locator(".rx-grid").screenshot(path=str(ARTIFACTS / "pictures-similar-grid.png"))
