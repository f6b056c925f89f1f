"""Programmes a service's description names ("Kids in the Middle is an education class for
separating parents", "the Alzheimer's Cafe", "Project Smile"): a family that names one is asking
for that service, though its own name ("Family Visitation Center") says nothing of it.

A name is a run of capitalised words, with the small words a title keeps lowercase between
them: two words or more, no address ("Middlefield Road"), no list ("English and Spanish"). The
index leaves out places ("San Mateo County") and names most services share. Hand-written: no
library reads programme names out of prose, and capitals are how directories write them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from knowledge.search_words import words_of

# Lowercase words a title keeps between capitalised ones: "Kids in the Middle", "Minds in Motion".
_JOINERS = r"(?:in|the|of|and|for|on|a|an|to|de|la|el|del|para|y)"
_JOINER_WORDS = frozenset(_JOINERS.strip("(?:)").split("|"))
# (possessive: a name is read once, never backtracked into; a quarter faster at 100k services.
# The capital comes before the word-start test so that the scan can skip to capitals: a third
# faster again.)
_NAME = re.compile(rf"[A-Z](?<=\b[A-Z])[\w'’]*+(?:(?:\s+{_JOINERS}\b)*+\s+[A-Z][\w'’]*+)++")
# Street and building words: "Middlefield Road", "Marine Parkway" are addresses.
_ADDRESS_WORDS = frozenset(
    "road rd street st avenue ave boulevard blvd parkway pkwy drive dr lane ln way court ct "
    "highway hwy suite floor".split()
)
MAX_PROGRAMME_WORDS = 6
_LEADING = frozenset({"the", "a", "an", "el", "la", "los", "las"})


def programme_names(text: str, is_everyday: Callable[[str], bool]) -> set[tuple[str, ...]]:
    """The folded word tuples of the programme names `text` mentions, places among them (the
    caller knows them: "San Mateo County"). `is_everyday(word)`: an everyday word, as a
    sentence's first word may be ("Offers a Brown Bag Program": it is the "Brown Bag
    Program")."""
    found: set[tuple[str, ...]] = set()
    described = text.split("Keywords:")[0]  # 211 keyword lists are no names
    for match in _NAME.finditer(described):
        start = match.start()
        opens_sentence = start < 3 or described[start - 3 : start].rstrip().endswith(
            (".", "!", "?", ":", ";")
        )
        if words := _name_in(match.group(0), opens_sentence, is_everyday):
            found.add(words)
    return found


def _name_in(
    run: str, opens_sentence: bool, is_everyday: Callable[[str], bool]
) -> tuple[str, ...] | None:
    """The programme name a run of capitalised words is, if it is one."""
    words = tuple(words_of(run))
    rest = _without_leading(words[1:])
    if opens_sentence and is_everyday(words[0]) and len(rest) - _joiners(rest) >= 2:
        words = rest
    words = _without_leading(words)
    named = len(words) - _joiners(words)
    if named < 2 or len(words) > MAX_PROGRAMME_WORDS:
        return None
    if named == 2 and set(words) & {"and", "y"}:  # "English and Spanish": a list
        return None
    if _ADDRESS_WORDS.intersection(words):
        return None
    return words


def _without_leading(words: Sequence[str]) -> tuple[str, ...]:
    """`words` less the articles and joiners they start with ("The Alzheimer's Cafe")."""
    words = tuple(words)
    while words and (words[0] in _LEADING or words[0] in _JOINER_WORDS):
        words = words[1:]
    return words


def _joiners(words: Sequence[str]) -> int:
    return sum(word in _JOINER_WORDS for word in words)


def word_runs(words: Sequence[str]) -> list[str]:
    """Every run of two to MAX_PROGRAMME_WORDS of `words`, joined: what may name a programme."""
    return [
        " ".join(words[i : i + size])
        for i in range(len(words))
        for size in range(2, MAX_PROGRAMME_WORDS + 1)
        if i + size <= len(words)
    ]
