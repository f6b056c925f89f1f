"""Texts users read come from gettext catalogs (bot/locales/<lang>/LC_MESSAGES/messages.po).

English is the source language (msgids); the .po files are compiled in memory with Babel at
first use, so there is no build step and no compiled file to forget.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Translate:
    """`_("text")` in one language; it knows which, for what follows the locale (times, days)."""

    language: str
    catalog: gettext.NullTranslations

    def __call__(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form for `n` (Spanish says "a la 1:00" but "a las 2:00": n is the hour there)."""
        return self.catalog.ngettext(singular, plural, n)


@cache
def translations(language: str) -> gettext.NullTranslations:
    po_file = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translator(language: str | None) -> Translate:
    return _translator(supported_language(language))


@cache
def _translator(language: str) -> Translate:
    return Translate(language, translations(language))


def supported_language(code: str | None) -> str:
    """Telegram's `language_code` ("es-MX", "en") -> one of LANGUAGES."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def uses_miles(code: str | None) -> bool:
    """US English and US Spanish read distances in miles; everyone else in kilometres."""
    return (code or "en").lower() in ("en", "en-us", "es-us")
