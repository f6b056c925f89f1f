"""The concept lexicon: how families ask (English, Spanish) -> what services are called.

It is data (YAML beside this file), so a coordinator can extend it without touching code:
add phrases to a concept, or drop a `concepts-*.yaml` file with more concepts next to
`concepts.yaml` (or in the folder named by `LEXICON_DIR`).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.text import fold, tokens

LEXICON_DIR = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    emoji: str
    label: dict[str, str]


@dataclass(slots=True)
class Concept:
    id: str
    category: str
    label: dict[str, str]
    terms: list[str]  # service-side words, folded
    phrases: dict[str, list[str]] = field(default_factory=dict)  # language -> folded phrases
    # Of those, the ones a family with this need may say that do not make a service one of
    # its kind ("eviction" may mean rent help; an eviction defence desk pays no rent).
    asked_only: set[str] = field(default_factory=set)
    # A group of people (seniors, veterans) rather than a need: a service for the group does
    # not answer a need it does not meet.
    group: bool = False
    # Only services of this concept answer a question naming it (an animal's needs).
    only: bool = False
    # A kind of help for many needs (legal aid): a service of it specialised in another need
    # does not answer a need of its own ("custody lawyer" is no immigration service's).
    broad: bool = False
    # The broad help it is a part of ("legal-aid" for eviction): where nothing for the need
    # itself is at the place asked about, that help answers, not "no match".
    within: str | None = None
    # Who a service is for, when its name says so ("Legal advocates for people with
    # disabilities"): such a service answers only a question saying it, as a rehab centre for
    # ages 21-60 answers none about a father of 65.
    named_for: bool = False
    # A thing handed out (a meal, a food parcel), which a service of broad help (legal aid) never
    # is, whatever its name says: "Advice desk - Tuesday night supper" is a lawyer at a supper.
    handed_out: bool = False


@dataclass(frozen=True, slots=True)
class Lexicon:
    categories: list[Category]
    concepts: list[Concept]
    stopwords: frozenset[str]
    # ("medi", "cal") -> "CA": programmes one state runs under its own name.
    state_programmes: dict[tuple[str, ...], str] = field(default_factory=dict)

    def concept(self, concept_id: str) -> Concept | None:
        return next((c for c in self.concepts if c.id == concept_id), None)

    def concepts_in(self, category_id: str) -> list[Concept]:
        return [c for c in self.concepts if c.category == category_id]

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def offering(self, concept_ids: Collection[str]) -> Lexicon:
        """The same lexicon with only these concepts, and only the categories holding one:
        the buttons to show where a directory has nothing for the others."""
        concepts = [c for c in self.concepts if c.id in concept_ids]
        held = {c.category for c in concepts}
        categories = [c for c in self.categories if c.id in held]
        return replace(self, categories=categories, concepts=concepts)


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _concept_files(folders: list[Path]) -> list[Path]:
    """Each folder's concepts.yaml first (where concepts get their category and label), then
    the files adding to it ("concepts-rights.yaml" sorts before it)."""
    files: list[Path] = []
    for folder in folders:
        found = sorted(folder.glob("concepts*.yaml"))
        files += sorted(found, key=lambda path: path.name != "concepts.yaml")
    return files


def load_lexicon(extra_dir: Path | None = None) -> Lexicon:
    """Read categories, concepts and stop-words; later files add phrases to earlier concepts."""
    folders = [LEXICON_DIR] + ([extra_dir] if extra_dir else [])
    categories = [
        Category(id=str(row["id"]), emoji=str(row.get("emoji", "")), label=dict(row["label"]))
        for row in _read(LEXICON_DIR / "categories.yaml")
    ]
    by_id: dict[str, Concept] = {}
    for path in _concept_files(folders):
        for row in _read(path) or []:
            concept = by_id.get(row["id"])
            if concept is None:
                concept = Concept(
                    id=str(row["id"]),
                    category=str(row.get("category", "")),
                    label=dict(row.get("label") or {"en": row["id"], "es": row["id"]}),
                    terms=[],
                )
                by_id[concept.id] = concept
            concept.terms += [fold(str(t)) for t in row.get("terms") or [] if fold(str(t))]
            concept.group = concept.group or bool(row.get("group"))
            concept.only = concept.only or bool(row.get("only"))
            concept.broad = concept.broad or bool(row.get("broad"))
            concept.within = concept.within or row.get("within")
            concept.named_for = concept.named_for or bool(row.get("named_for"))
            concept.handed_out = concept.handed_out or bool(row.get("handed_out"))
            asked = row.get("asked") or {}
            for language in ("en", "es"):
                only_asked = [fold(str(p)) for p in asked.get(language) or []]
                concept.asked_only.update(p for p in only_asked if p)
                phrases = [fold(str(p)) for p in row.get(language) or []] + only_asked
                # The label and the id are ways of asking too ("Dentista", "food-pantry").
                phrases += [fold(concept.label.get(language, "")), fold(concept.id)]
                known = concept.phrases.setdefault(language, [])
                known += [p for p in phrases if p and p not in known]
    stop_rows = _read(LEXICON_DIR / "stopwords.yaml") or {}
    stopwords = frozenset(
        word
        for language_words in stop_rows.values()
        for phrase in language_words
        for word in tokens(str(phrase))
    )
    programme_rows = _read(LEXICON_DIR / "state-programmes.yaml") or {}
    state_programmes = {
        tuple(tokens(str(name))): str(state)
        for state, names in programme_rows.items()
        for name in names
        if tokens(str(name))
    }
    return Lexicon(
        categories=categories,
        concepts=list(by_id.values()),
        stopwords=stopwords,
        state_programmes=state_programmes,
    )


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    extra = os.environ.get("LEXICON_DIR")
    return load_lexicon(Path(extra) if extra else None)
