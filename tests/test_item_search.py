"""Dataset.search_items: every word of the query, in any order, case- and accent-insensitive,
each word a prefix of a name's word (type-ahead), best matches then most popular first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_core import Dataset
from recsys_core.datasets import demo as demo_source

NAMES = {
    "a": "Chrome Typewriter",
    "b": "Emerald Typewriter",
    "c": "Chrome Rotary Phone",
    "d": "Neon Boombox",
    "e": "Red Fox",
    "f": "Amélie",
    "g": "Schindler's List",
    "h": "Typewriter",
    "i": "Wooden Typewriter Chrome-plated",
}
LIKES = {"a": 2, "b": 5, "c": 1, "d": 3, "e": 3, "f": 1, "g": 1, "h": 1, "i": 4}
"""Users per item: b is the most popular typewriter; d and e tie (the lower index first)."""


@pytest.fixture(scope="module")
def data() -> Dataset:
    rows = [(f"u{n}", item) for item, count in LIKES.items() for n in range(count)]
    interactions = pd.DataFrame(rows, columns=["user", "item"])
    items = pd.DataFrame({"item_id": list(NAMES), "name": list(NAMES.values())})
    return Dataset.from_frame("search", interactions, items=items)


def names(data: Dataset, query: str, limit: int = 20) -> list[str]:
    found = data.search_items(query, limit=limit)
    assert found.dtype == np.int64
    return [data.item_name(i) for i in found]


def test_words_in_any_order(data):
    assert names(data, "typewriter chrome") == [
        "Wooden Typewriter Chrome-plated",
        "Chrome Typewriter",  # 4 likes before 2
    ]
    assert names(data, "TYPEWRITER   Chrome") == names(data, "typewriter chrome")
    # typed exactly, the name leads whatever its popularity
    assert names(data, "chrome typewriter") == [
        "Chrome Typewriter",
        "Wooden Typewriter Chrome-plated",
    ]


def test_prefixes_of_words_for_type_ahead(data):
    assert names(data, "type chr") == ["Wooden Typewriter Chrome-plated", "Chrome Typewriter"]
    assert names(data, "chr type")[-1] == "Chrome Typewriter"
    assert names(data, "rot pho") == ["Chrome Rotary Phone"]


def test_every_word_must_match(data):
    assert names(data, "chrome boombox") == []
    assert names(data, "typewriter zebra") == []


def test_order_exact_name_then_popularity_then_index(data):
    # "Typewriter" (1 like) is the exact name, so it leads; the others by likes
    assert names(data, "typewriter") == [
        "Typewriter",
        "Emerald Typewriter",
        "Wooden Typewriter Chrome-plated",
        "Chrome Typewriter",
    ]
    # a tie in likes goes to the lower index, every time
    tied = names(data, "o")
    assert tied.index("Neon Boombox") < tied.index("Red Fox")
    assert names(data, "o") == tied


def test_inside_words_come_after_word_starts(data):
    # "ox" starts no word: Boombox and Fox contain it (today's substring search still works)
    assert names(data, "ox") == ["Neon Boombox", "Red Fox"]
    # "fox" starts a word of Red Fox, and is inside no other name
    assert names(data, "fox") == ["Red Fox"]
    # words starting with t first (by likes), then names with a t inside a word
    assert names(data, "t") == [
        "Emerald Typewriter",
        "Wooden Typewriter Chrome-plated",
        "Chrome Typewriter",
        "Typewriter",
        "Chrome Rotary Phone",
        "Schindler's List",
    ]
    assert names(data, "t", limit=2) == ["Emerald Typewriter", "Wooden Typewriter Chrome-plated"]


def test_accents_apostrophes_and_punctuation(data):
    assert names(data, "amelie") == ["Amélie"]
    assert names(data, "AMÉLIE") == ["Amélie"]
    assert names(data, "schindlers") == ["Schindler's List"]
    assert names(data, "schindler's li") == ["Schindler's List"]
    assert names(data, "chrome-plated") == ["Wooden Typewriter Chrome-plated"]
    assert names(data, "!!!") == []


def test_an_exact_id_comes_first_and_empty_query_lists_the_most_popular(data):
    assert names(data, "e")[0] == "Red Fox"  # the item whose id is "e"
    assert data.search_items("", limit=3).tolist() == [1, 8, 3]  # b (5), i (4), d (3)
    assert len(data.search_items("typewriter", limit=2)) == 2
    assert data.search_items("typewriter", limit=0).tolist() == []


def test_on_the_demo_a_name_is_found_from_its_words_reversed():
    data = demo_source.generate(0, n_users=200, n_items=240, n_likes=3_000)
    with_words = [i for i, name in enumerate(data.items["name"]) if len(name.split()) >= 2]
    for index in with_words[:: max(1, len(with_words) // 20)]:
        words = data.item_name(index).split()
        reversed_query = " ".join(reversed(words))
        prefixes = " ".join(word[:3] for word in reversed(words))
        assert index in data.search_items(reversed_query, limit=50).tolist()
        assert index in data.search_items(prefixes, limit=240).tolist()
