"""Reading a typed word as the word it was meant to be, within a small vocabulary.

Used where a few hundred phrases must be recognised with typos (crisis signals, small talk);
the search has its own, larger machinery. Short words are never corrected: "me" is not "mi",
"hit" is not "hot", "paga" is not "pega" (`not_typos` lists longer real words like that).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

CACHE_SIZE = 20_000  # words remembered with their readings; people type the same words


def max_typos(word: str) -> int:
    """One typo (a transposition counts as one) from five letters, two from eight."""
    if len(word) >= 8:
        return 2
    return 1 if len(word) >= 5 else 0


class TypoReader:
    def __init__(self, vocabulary: Iterable[str], not_typos: Iterable[str] = ()) -> None:
        self._correctable = sorted({w for w in vocabulary if max_typos(w)})
        self._not_typos = frozenset(not_typos)
        self._cache: dict[str, frozenset[str]] = {}

    def readings(self, word: str) -> frozenset[str]:
        """`word` itself, and each vocabulary word it is a typo of."""
        known = self._cache.get(word)
        if known is not None:
            return known
        found = {word}
        if word not in self._not_typos and len(word) >= 4:
            for candidate, distance, _ in process.extract(
                word, self._correctable, scorer=OSA.distance, score_cutoff=2, limit=None
            ):
                if distance <= max_typos(candidate):
                    found.add(candidate)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[word] = frozenset(found)
        return self._cache[word]
