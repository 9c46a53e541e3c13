"""Finding items by name: the word index behind :meth:`recsys_core.dataset.Dataset.search_items`.

Names are folded (:func:`fold`: lower case, accents and apostrophes off) and split into words;
a query's words are matched as prefixes of a name's words, then, for few matches, as parts of
them (``"ox"`` finds "Boombox").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

NO_MATCH = 4
"""The tier of an item whose name does not match (see :meth:`NameIndex.tiers`)."""
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower case, accents off, apostrophes dropped, anything else that is not a letter or a
    digit a space: ``"Schindler's  Liste-Émile"`` -> ``"schindlers liste emile"``."""
    text = str(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("", text.casefold())
    return _NON_WORD.sub(" ", text).strip()


class NameIndex:
    """Words of item names for :meth:`~recsys_core.dataset.Dataset.search_items`, built once
    per dataset.

    ``vocab`` holds every distinct name word (folded by :func:`fold`) in sorted order, and
    ``items[indptr[w]:indptr[w + 1]]`` the items whose name has word ``w``. Words starting with a
    prefix are one contiguous range of ``vocab`` (two binary searches), so a query costs a few
    array slices per word, not a pass over the names.
    """

    def __init__(self, names: list[Any]) -> None:
        folded = [fold("" if name is None else name) for name in names]
        self.n_items = len(folded)
        self.names = np.asarray(folded, dtype=object)
        split = [name.split() for name in folded]
        words = [word for name_words in split for word in name_words]
        owners = np.repeat(
            np.arange(self.n_items, dtype=np.int64),
            np.fromiter((len(name_words) for name_words in split), np.int64, self.n_items),
        )
        codes, vocab = pd.factorize(pd.Series(words, dtype=object), sort=True)
        pairs = np.unique(codes.astype(np.int64) * max(self.n_items, 1) + owners)
        word_of = pairs // max(self.n_items, 1)
        self.items = pairs % max(self.n_items, 1)
        self.vocab = np.asarray(vocab, dtype=object)
        self.indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(word_of, minlength=len(self.vocab)), out=self.indptr[1:])
        self._joined: tuple[str, np.ndarray] | None = None

    def tiers(self, query: str, need: int) -> np.ndarray:
        """Match quality per item, int8 [n_items]: 1 the name equals the query, 2 every query
        word starts a name word, 3 every query word is inside a name word (looked for only when
        tiers 1-2 hold fewer than ``need`` items), ``NO_MATCH`` otherwise."""
        tier = np.full(self.n_items, NO_MATCH, dtype=np.int8)
        folded = fold(query)
        words = list(dict.fromkeys(folded.split()))
        if not words or self.n_items == 0:
            return tier
        prefix = np.ones(self.n_items, dtype=bool)
        for word in words:
            low = np.searchsorted(self.vocab, word, side="left")
            high = np.searchsorted(self.vocab, word + "\U0010ffff", side="left")
            prefix &= self._items_of(np.arange(low, high))
        tier[prefix] = 2
        matched = np.flatnonzero(prefix)
        tier[matched[self.names[matched] == folded]] = 1
        if len(matched) < need:
            inside = ~prefix
            for word in words:
                inside &= self._items_of(self._words_containing(word))
            tier[inside] = 3
        return tier

    def _items_of(self, word_codes: np.ndarray) -> np.ndarray:
        """bool [n_items]: items whose name has any of the words."""
        mask = np.zeros(self.n_items, dtype=bool)
        if len(word_codes) == 0:
            return mask
        word_codes = np.asarray(word_codes, dtype=np.int64)
        if word_codes[-1] - word_codes[0] + 1 == len(word_codes):  # a contiguous range
            mask[self.items[self.indptr[word_codes[0]] : self.indptr[word_codes[-1] + 1]]] = True
            return mask
        starts, ends = self.indptr[word_codes], self.indptr[word_codes + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        mask[self.items[np.arange(int(lengths.sum())) + offsets]] = True
        return mask

    def _words_containing(self, word: str) -> np.ndarray:
        """Codes of the vocabulary words that contain ``word``: one scan of the words joined in
        a single string (found in C), then a binary search from positions to words."""
        if self._joined is None:
            text = "\n".join(self.vocab.tolist())
            lengths = np.fromiter((len(w) + 1 for w in self.vocab), np.int64, len(self.vocab))
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            self._joined = (text, starts)
        text, starts = self._joined
        positions = np.fromiter(
            (match.start() for match in re.finditer(re.escape(word), text)), np.int64
        )
        return np.unique(np.searchsorted(starts, positions, side="right") - 1)
