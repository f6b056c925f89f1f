"""Text folding shared by the index and the queries: case, accents and punctuation."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lowercase, strip accents ("inglés" -> "ingles", "pañales" -> "panales"), drop punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", stripped).strip()


def tokens(text: str) -> list[str]:
    return fold(text).split()


def short_hash(value: str) -> str:
    """A stable 16-hex-digit stand-in for an id too long for Telegram's 64-byte callback data."""
    return hashlib.sha1(value.encode()).hexdigest()[:16]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """User text safe to store: no NUL or other control characters (PostgreSQL refuses NUL)."""
    return _CONTROL.sub("", text)


def message_words(text: str) -> list[str]:
    """What a person wrote as folded words, apostrophes dropped first: "I'm" is "im", "can't"
    "cant", "¿Dónde?" "donde"."""
    return fold(text.replace("'", "").replace("\u2019", "")).split()
