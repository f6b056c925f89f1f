"""Small talk: "hi", "thanks", "help", "menu", "?", "hola", "gracias", "ok" are not questions.

They get a friendly answer with the menu, not a search, so they never show up as unmet needs in
the coordinators' gap report. The phrases are data (knowledge/lexicon/smalltalk.yaml, plus
`smalltalk*.yaml` files in LEXICON_DIR).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.lexicon import LEXICON_DIR
from knowledge.text import message_words
from knowledge.typos import TypoReader

# When a message mixes kinds ("ok thanks", "hi, help"), the first of these answers it.
KINDS = ("help", "menu", "thanks", "bye", "no", "yes", "greeting")
LANGUAGES = ("en", "es")
FILLER = "filler"
MAX_WORDS = 12  # longer than this, it is a question whatever words it uses


@dataclass(frozen=True, slots=True)
class SmallTalk:
    kind: str  # one of KINDS
    language: str | None  # the language it was written in, when its words say so


class SmallTalkPhrases:
    def __init__(self, phrases: dict[tuple[str, ...], dict[str, set[str]]]) -> None:
        """`phrases`: words -> kind -> languages ("filler" is a kind that says nothing)."""
        self._phrases = phrases
        self._longest = max((len(p) for p in phrases), default=1)
        self._typos = TypoReader({w for p in phrases for w in p})

    def recognise(self, text: str) -> SmallTalk | None:
        """What kind of small talk `text` is, or None when it is (or may be) a question."""
        words = message_words(text)
        if not words:  # "?", "👍", "🙏🙏"
            if not text.strip():
                return None
            return SmallTalk("help" if "?" in text else "menu", None)
        if len(words) > MAX_WORDS:
            return None
        readings = [self._typos.readings(word) for word in words]
        # best[i]: the phrases covering words[:i], as (words, kind -> languages) pairs
        best: dict[int, list[dict[str, set[str]]]] = {0: []}
        for start in range(len(words)):
            if start not in best:
                continue
            for size in range(1, min(self._longest, len(words) - start) + 1):
                for phrase in self._phrases_for(readings[start : start + size]):
                    end = start + size
                    if end not in best or len(best[end]) > len(best[start]) + 1:
                        best[end] = [*best[start], self._phrases[phrase]]
        covered = best.get(len(words))
        if covered is None:
            return None
        kinds: dict[str, set[str]] = defaultdict(set)
        for meanings in covered:
            for kind, languages in meanings.items():
                if kind != FILLER:
                    kinds[kind] |= languages
        if not kinds:
            return None  # only filler: "please", "so"
        kind = next(k for k in KINDS if k in kinds)
        return SmallTalk(kind, _language(covered))

    def phrases_in(self, language: str) -> set[str]:
        """Every phrase of this language, filler included (for telling languages apart)."""
        return {
            " ".join(words)
            for words, kinds in self._phrases.items()
            if any(language in languages for languages in kinds.values())
        }

    def _phrases_for(self, readings: list[frozenset[str]]) -> Iterable[tuple[str, ...]]:
        candidates: list[tuple[str, ...]] = [()]
        for reading in readings:
            candidates = [(*c, w) for c in candidates for w in reading]
        return [c for c in candidates if c in self._phrases]


def _language(covered: list[dict[str, set[str]]]) -> str | None:
    """The one language the phrases were in ("gracias"), or None ("ok", "menu", "hola thanks")."""
    said: set[str] = set()
    for meanings in covered:
        languages = set().union(*(langs for k, langs in meanings.items() if k != FILLER))
        if len(languages) == 1:
            said |= languages
    return next(iter(said)) if len(said) == 1 else None


def _files(extra_dir: Path | None) -> list[Path]:
    files = [LEXICON_DIR / "smalltalk.yaml"]
    if extra_dir is not None:
        files += sorted(extra_dir.glob("smalltalk*.yaml"))
    return files


def load_small_talk(extra_dir: Path | None = None) -> SmallTalkPhrases:
    phrases: dict[tuple[str, ...], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in _files(extra_dir):
        with path.open(encoding="utf-8") as handle:
            document: dict[str, Any] = yaml.safe_load(handle) or {}
        for kind, by_language in document.items():
            if kind not in (*KINDS, FILLER):
                raise ValueError(f"{path.name}: unknown kind {kind!r} (one of {KINDS}, filler)")
            for language in LANGUAGES:
                for text in (by_language or {}).get(language) or []:
                    words = tuple(message_words(str(text)))
                    if words:
                        phrases[words][str(kind)].add(language)
    return SmallTalkPhrases({words: dict(kinds) for words, kinds in phrases.items()})


@lru_cache(maxsize=1)
def default_small_talk() -> SmallTalkPhrases:
    extra = os.environ.get("LEXICON_DIR")
    return load_small_talk(Path(extra) if extra else None)
