"""Programmes a service's description names ("Kids in the Middle is an education class for
separating parents", "the Alzheimer's Cafe", "Project Smile"): a family that names one is asking
for that service, though its own name ("Family Visitation Center") says nothing of it.

A name is a run of capitalised words, with the small words a title keeps lowercase between
them; only runs of two or more words that are no place ("San Mateo County", "Middlefield Road")
and whose words are not all everyday filler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from knowledge.search_words import words_of

# Lowercase words a title keeps between capitalised ones: "Kids in the Middle", "Minds in Motion".
_JOINERS = r"(?:in|the|of|and|for|on|a|an|to|de|la|el|del|para|y)"
_JOINER_WORDS = frozenset(_JOINERS.strip("(?:)").split("|"))
_NAME = re.compile(rf"\b[A-Z][\w'’]*(?:(?:\s+{_JOINERS})*\s+[A-Z][\w'’]*)+")
# Street and building words: "Middlefield Road", "Marine Parkway" are addresses.
_ADDRESS_WORDS = frozenset(
    "road rd street st avenue ave boulevard blvd parkway pkwy drive dr lane ln way court ct "
    "highway hwy suite floor".split()
)
MAX_PROGRAMME_WORDS = 6
_LEADING = frozenset({"the", "a", "an", "el", "la", "los", "las"})


def programme_names(
    text: str, is_place: Callable[[Sequence[str]], bool], is_everyday: Callable[[str], bool]
) -> set[tuple[str, ...]]:
    """The folded word tuples of the programme names `text` mentions. `is_place(words)`: the
    words are all a place's name; `is_everyday(word)`: an everyday word, as a sentence's first
    word may be ("Offers a Brown Bag Program": the programme is the "Brown Bag Program")."""
    found: set[tuple[str, ...]] = set()
    described = text.split("Keywords:")[0]  # 211 keyword lists are no names
    for match in _NAME.finditer(described):
        words = tuple(words_of(match.group(0)))
        rest = _without_leading(words[1:])
        opens_sentence = not described[: match.start()].strip() or described[
            : match.start()
        ].rstrip().endswith((".", "!", "?", ":", ";"))
        if opens_sentence and is_everyday(words[0]) and len(rest) - _joiners(rest) >= 2:
            words = rest
        words = _without_leading(words)
        named = len(words) - _joiners(words)
        if named < 2 or len(words) > MAX_PROGRAMME_WORDS:
            continue
        if named == 2 and set(words) & {"and", "y"}:  # "English and Spanish": a list
            continue
        if _ADDRESS_WORDS.intersection(words) or is_place(words):
            continue
        found.add(words)
    return found


def _without_leading(words: Sequence[str]) -> tuple[str, ...]:
    """`words` less the articles and joiners they start with ("The Alzheimer's Cafe")."""
    words = tuple(words)
    while words and (words[0] in _LEADING or words[0] in _JOINER_WORDS):
        words = words[1:]
    return words


def _joiners(words: Sequence[str]) -> int:
    return sum(word in _JOINER_WORDS for word in words)


def named_programmes(
    words: Sequence[str], by_first_word: Mapping[str, Iterable[tuple[str, ...]]]
) -> list[tuple[str, ...]]:
    """The programme names (indexed by their first word) that `words`, folded and in order,
    contain."""
    found = []
    for i, word in enumerate(words):
        for name in by_first_word.get(word, ()):
            if tuple(words[i : i + len(name)]) == name:
                found.append(name)
    return found
