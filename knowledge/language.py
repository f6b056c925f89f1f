"""Which language a message is written in, when its words say so clearly.

The words that tell are those only one language uses: the lexicon's ways of asking
("dentist"/"dentista"), its filler words ("where", "need"/"donde", "necesito") and the small-talk
phrases. Words both languages use ("snap", "ok", "a", "me") say nothing. Switching a chat to
English takes two such words: families whose phones are set to English write in Spanish, and
Spanish borrows English words ("lunch", "food stamps").
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from knowledge.lexicon import LEXICON_DIR, Lexicon
from knowledge.text import message_words

LANGUAGES = ("en", "es")
SPANISH_LETTERS = frozenset("ñ¿¡áéíóú")
# How many words only one language uses it takes to say that the message is in it.
EVIDENCE_NEEDED = {"en": 2, "es": 1}


class LanguageGuesser:
    def __init__(self, words_by_language: dict[str, set[str]]) -> None:
        shared = set.intersection(*(words_by_language.get(lang, set()) for lang in LANGUAGES))
        self._language_of = {
            word: language
            for language in LANGUAGES
            for word in words_by_language.get(language, set()) - shared
        }

    def guess(self, text: str) -> str | None:
        """ "en" or "es" when the message's words say so clearly; None when they don't."""
        votes = Counter(
            self._language_of[word] for word in message_words(text) if word in self._language_of
        )
        if SPANISH_LETTERS & set(text.lower()):
            votes["es"] += 1
        for language, other in (("es", "en"), ("en", "es")):
            if votes[language] >= EVIDENCE_NEEDED[language] and votes[language] > 2 * votes[other]:
                return language
        return None


def language_guesser(
    lexicon: Lexicon, extra_phrases: dict[str, set[str]] | None = None
) -> LanguageGuesser:
    """Built from the lexicon's phrases, its stop-words per language and `extra_phrases`
    (language -> phrases, e.g. the small-talk ones)."""
    words: dict[str, set[str]] = {language: set() for language in LANGUAGES}
    for concept in lexicon.concepts:
        for language in LANGUAGES:
            for phrase in concept.phrases.get(language, ()):
                words[language].update(message_words(phrase))
    for source in (_stopwords(LEXICON_DIR / "stopwords.yaml"), extra_phrases or {}):
        for language, phrases in source.items():
            for phrase in phrases:
                words[language].update(message_words(phrase))
    return LanguageGuesser(words)


def _stopwords(path: Path) -> dict[str, set[str]]:
    with path.open(encoding="utf-8") as handle:
        rows = yaml.safe_load(handle) or {}
    return {str(k): {str(p) for p in v or []} for k, v in rows.items() if k in LANGUAGES}
