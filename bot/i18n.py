"""Texts users read come from gettext catalogs (bot/locales/<lang>/LC_MESSAGES/messages.po).

English is the source language (msgids); the .po files are compiled in memory with Babel at
first use, so there is no build step and no compiled file to forget.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"

Translate = Callable[[str], str]


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
    return translations(supported_language(language)).gettext


def supported_language(code: str | None) -> str:
    """Telegram's `language_code` ("es-MX", "en") -> one of LANGUAGES."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def uses_miles(code: str | None) -> bool:
    """US English and US Spanish read distances in miles; everyone else in kilometres."""
    return (code or "en").lower() in ("en", "en-us", "es-us")
