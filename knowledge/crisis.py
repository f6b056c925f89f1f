"""Danger first: recognising a message that says a life or someone's safety is at risk.

The signals are data (knowledge/lexicon/crisis.yaml, plus `crisis*.yaml` files in LEXICON_DIR),
so a community adds what its families write without touching code. Matching forgives typos in
longer words and one extra word inside a phrase, and nothing more: a crisis reply on "kill the
lice" or "emergency food" would teach families to skip it. The tests (tests/test_crisis.py) say
both ways what must fire and what must not.

Also here: where the directory's own crisis and domestic-violence lines are (by lexicon concept,
so by taxonomy term or by their words, never by id), and how often the reply fired (counts only).
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.directory import ServiceRecord
from knowledge.finder import ResourceFinder
from knowledge.hours import is_always_open
from knowledge.lexicon import LEXICON_DIR
from knowledge.models import CrisisSignal, utcnow
from knowledge.search import SearchHit, SearchQuery
from knowledge.text import message_words as words
from knowledge.typos import TypoReader

# In the order the reply speaks of them: the most urgent first.
KINDS = ("emergency", "suicide", "abuse", "threat")
LANGUAGES = ("en", "es")
MAX_GAP = 1  # extra words allowed between two words of a phrase
LINES_PER_KIND = 2
CRISIS_MIN_SCORE = 0.75  # share of what was said a result must cover to follow a crisis reply


@dataclass(frozen=True, slots=True)
class Phrase:
    kind: str
    language: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Danger:
    """What a message signalled: its kinds (most urgent first) and the language it was in."""

    kinds: tuple[str, ...]
    language: str | None  # None when the matching phrases were in both languages ("911")


def _mentions(text: str, phrases: Iterable[str]) -> bool:
    folded = f" {' '.join(words(text))} "
    return any(f" {phrase} " in folded for phrase in phrases)


@dataclass(frozen=True, slots=True)
class KindRule:
    """What the reply looks for in the directory for one kind of danger (crisis.yaml)."""

    concept: str  # whose services may be the kind's lines
    line_names: tuple[str, ...]  # folded; a line's name uses one
    around_the_clock: bool = False  # a service of the concept open 24/7 is a line too
    topics: tuple[str, ...] = ()  # folded; what results after the reply must be about

    def is_line(self, record: ServiceRecord) -> bool:
        if not record.phones:
            return False
        return _mentions(record.name, self.line_names) or (
            self.around_the_clock and is_always_open(record.hours)
        )


@dataclass
class CrisisSignals:
    phrases: list[Phrase]
    quiet: list[tuple[str, ...]] = field(default_factory=list)
    not_typos: frozenset[str] = frozenset()
    rules: dict[str, KindRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_first: dict[str, list[Phrase]] = defaultdict(list)
        for phrase in self.phrases:
            self._by_first[phrase.words[0]].append(phrase)
        vocabulary = {w for p in self.phrases for w in p.words} | {w for q in self.quiet for w in q}
        self._typos = TypoReader(vocabulary, self.not_typos)

    def _matches(
        self, readings: list[frozenset[str]], phrase: tuple[str, ...], start: int
    ) -> list[int] | None:
        """Positions of `phrase`'s words from `start`, at most MAX_GAP extra words apart."""
        positions = [start]
        for wanted in phrase[1:]:
            last = positions[-1]
            for position in range(last + 1, min(last + 2 + MAX_GAP, len(readings))):
                if wanted in readings[position]:
                    positions.append(position)
                    break
            else:
                return None
        return positions

    def detect(self, text: str) -> Danger | None:
        """The danger `text` signals, or None for an ordinary question."""
        message = words(text)[:200]
        if not message:
            return None
        readings = [self._typos.readings(word) for word in message]
        quieted: set[int] = set()
        for quiet in self.quiet:
            for start, reading in enumerate(readings):
                if quiet[0] in reading:
                    quieted.update(self._matches(readings, quiet, start) or ())
        kinds: set[str] = set()
        # phrase words -> (its languages, whether the message has it exactly, typo-free)
        found: dict[tuple[str, ...], tuple[set[str], bool]] = {}
        for start, reading in enumerate(readings):
            if start in quieted:
                continue
            for first in reading:
                for phrase in self._by_first.get(first, ()):
                    positions = self._matches(readings, phrase.words, start)
                    if positions and not quieted.intersection(positions):
                        kinds.add(phrase.kind)
                        typed = [message[p] for p in positions]
                        languages, exact = found.get(phrase.words, (set(), False))
                        languages.add(phrase.language)
                        found[phrase.words] = (languages, exact or tuple(typed) == phrase.words)
        if not kinds:
            return None
        return Danger(kinds=tuple(k for k in KINDS if k in kinds), language=_language(found))


def _expand(text: str, groups: dict[str, list[tuple[str, ...]]]) -> list[tuple[str, ...]]:
    """ "scared of my {partner}" -> one word tuple per group member."""
    options: list[list[tuple[str, ...]]] = []
    for token in str(text).split():
        if token.startswith("{") and token.endswith("}"):
            name = token[1:-1]
            if name not in groups:
                raise ValueError(f"crisis signals: unknown group {{{name}}} in {text!r}")
            options.append(groups[name])
        else:
            options.append([tuple(words(token))])
    return [
        tuple(w for part in combination for w in part)
        for combination in itertools.product(*options)
        if any(combination)
    ]


def _files(extra_dir: Path | None) -> list[Path]:
    files = [LEXICON_DIR / "crisis.yaml"]
    if extra_dir is not None:
        files += sorted(extra_dir.glob("crisis*.yaml"))
    return files


def load_crisis_signals(extra_dir: Path | None = None) -> CrisisSignals:
    """Read the signals; files in `extra_dir` add phrases, groups, quiet phrases and lines."""
    documents: list[dict[str, Any]] = []
    for path in _files(extra_dir):
        with path.open(encoding="utf-8") as handle:
            documents.append(yaml.safe_load(handle) or {})
    groups: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for document in documents:
        for name, members in (document.get("groups") or {}).items():
            groups[str(name)] += [tuple(words(str(m))) for m in members if words(str(m))]
    phrases: list[Phrase] = []
    for document in documents:
        for signal in document.get("signals") or []:
            kind = str(signal["kind"])
            if kind not in KINDS:
                raise ValueError(f"crisis signals: unknown kind {kind!r} (one of {KINDS})")
            for language in LANGUAGES:
                for text in signal.get(language) or []:
                    phrases += [Phrase(kind, language, w) for w in _expand(str(text), groups)]
    quiet = [tuple(words(str(q))) for document in documents for q in document.get("quiet") or []]
    not_typos = frozenset(
        w for document in documents for t in document.get("not_typos") or [] for w in words(str(t))
    )
    rules: dict[str, KindRule] = {}
    for document in documents:
        for kind, rule in (document.get("kinds") or {}).items():
            rules[str(kind)] = KindRule(
                concept=str(rule["concept"]),
                line_names=_folded(rule.get("line_names")),
                around_the_clock=bool(rule.get("around_the_clock", False)),
                topics=_folded(rule.get("topics")),
            )
    return CrisisSignals(
        phrases=list(dict.fromkeys(p for p in phrases if p.words)),
        quiet=[q for q in quiet if q],
        not_typos=not_typos,
        rules=rules,
    )


def _folded(phrases: Iterable[object] | None) -> tuple[str, ...]:
    return tuple(" ".join(words(str(p))) for p in phrases or [] if words(str(p)))


def _language(found: dict[tuple[str, ...], tuple[set[str], bool]]) -> str | None:
    """A phrase of one language only ("me quiero morir") says which; "911" says neither. What
    the message has exactly outweighs what it has with a typo ("suicidar" is also one typo
    from "suicidal")."""
    for exact_only in (True, False):
        said = {
            next(iter(languages))
            for languages, exact in found.values()
            if len(languages) == 1 and (exact or not exact_only)
        }
        if said:
            return next(iter(said)) if len(said) == 1 else None
    return None


@lru_cache(maxsize=1)
def default_crisis_signals() -> CrisisSignals:
    extra = os.environ.get("LEXICON_DIR")
    return load_crisis_signals(Path(extra) if extra else None)


# --- the directory's own lines ------------------------------------------------------------------


async def directory_lines(
    finder: ResourceFinder, signals: CrisisSignals, kinds: Iterable[str]
) -> dict[str, list[ServiceRecord]]:
    """Per kind, the directory's lines for it: services of the kind's concept that have a
    number and that are a line by name ("24-Hour Domestic Violence Hotline") or by hours
    (open around the clock). None of them may be there: a directory of legal aid has none."""
    found: dict[str, list[ServiceRecord]] = {}
    for kind in kinds:
        rule = signals.rules.get(kind)
        if rule is None:
            continue
        outcome = finder.search(
            SearchQuery(concept=rule.concept, kinds=frozenset({"service"}), limit=20)
        )
        records = []
        for hit in outcome.hits:
            record = await finder.service_record(hit.id)
            if record is not None and rule.is_line(record):
                records.append(record)
            if len(records) == LINES_PER_KIND:
                break
        found[kind] = records
    return found


async def results_about(
    finder: ResourceFinder, signals: CrisisSignals, danger: Danger, query: SearchQuery
) -> list[str] | None:
    """The ids of the results that may follow the crisis reply: confident ones whose name or
    description is about one of the kinds' topics. None: the kinds have no topics, so any
    confident result may follow ("my child is not breathing")."""
    rules = [signals.rules[kind] for kind in danger.kinds if kind in signals.rules]
    topics = [topic for rule in rules for topic in rule.topics]
    if not topics:
        return None
    kept = []
    for hit in finder.search(query).hits:
        if hit.kind != "service" or hit.score < CRISIS_MIN_SCORE:
            continue
        record = await finder.service_record(hit.id)
        if record is not None and _mentions(f"{record.name} {record.description or ''}", topics):
            kept.append(hit.id)
    return kept


def crisis_results(
    hits: Sequence[SearchHit],
    first: Sequence[SearchHit],
    offset: int,
    only: Sequence[str] | None = None,
) -> list[SearchHit]:
    """The results that follow a crisis reply: `first` (the crisis lines it named) at the top
    of the first page and not again later, so no other service comes before them; then only
    results that answer what was said (`only`, from results_about, and confident ones), not
    those sharing a word with it ("Eviction Prevention" after "I want to kill myself")."""
    ids = {hit.id for hit in first}
    allowed = set(only) if only is not None else None
    rest = [
        hit
        for hit in hits
        if hit.id not in ids
        and hit.score >= CRISIS_MIN_SCORE
        and (allowed is None or hit.id in allowed)
    ]
    return [*first, *rest] if offset == 0 else rest


# --- how often it fired -------------------------------------------------------------------------


async def record_danger(session: AsyncSession, danger: Danger) -> None:
    """Count one crisis reply: its kinds and the time, never who or what was written."""
    session.add(CrisisSignal(kinds=",".join(danger.kinds), created_at=utcnow()))
    await session.flush()


@dataclass(frozen=True, slots=True)
class DangerCounts:
    replies: int
    by_kind: dict[str, int]  # a reply may count under several kinds


async def count_dangers(session: AsyncSession, since: datetime, until: datetime) -> DangerCounts:
    """How many crisis replies in [since, until], and how many showed each kind."""
    rows = await session.scalars(
        select(CrisisSignal.kinds).where(
            CrisisSignal.created_at >= since, CrisisSignal.created_at <= until
        )
    )
    replies, by_kind = 0, dict.fromkeys(KINDS, 0)
    for kinds in rows:
        replies += 1
        for kind in kinds.split(","):
            if kind in by_kind:
                by_kind[kind] += 1
    return DangerCounts(replies, by_kind)
