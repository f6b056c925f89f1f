"""The words people use for days and times, in English and Spanish: weekday and month names,
"today", "tomorrow", "tonight"... One vocabulary for every reader of time words (the event
wizard's dates, the search's "on Saturday"), so a word added here is understood everywhere.

Keys are lowercase and also listed without accents, as people type them on phones.
"""

from __future__ import annotations

import unicodedata

# Monday is 0, as datetime.weekday() counts.
WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "lunes": 0, "lun": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "martes": 1, "mar": 1,
    "wednesday": 2, "wed": 2, "miércoles": 2, "miercoles": 2, "mié": 2, "mie": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "jueves": 3, "jue": 3,
    "friday": 4, "fri": 4, "viernes": 4, "vie": 4,
    "saturday": 5, "sat": 5, "sábado": 5, "sabado": 5, "sáb": 5, "sab": 5,
    "sunday": 6, "sun": 6, "domingo": 6, "dom": 6,
}  # fmt: skip

# Days counted from today.
RELATIVE_DAYS: dict[str, int] = {
    "today": 0, "hoy": 0, "tonight": 0, "esta noche": 0, "esta tarde": 0,
    "tomorrow": 1, "mañana": 1, "manana": 1,
    "day after tomorrow": 2, "the day after tomorrow": 2, "pasado mañana": 2, "pasado manana": 2,
}  # fmt: skip

# "next tuesday" / "el próximo martes": the first one after today; "this friday": today or later.
NEXT_WORDS = frozenset({"next", "próximo", "proximo", "próxima", "proxima", "siguiente"})
THIS_WORDS = frozenset({"this", "este", "esta", "on", "el", "la", "coming", "que viene"})

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "enero": 1, "ene": 1,
    "february": 2, "feb": 2, "febrero": 2,
    "march": 3, "mar": 3, "marzo": 3,
    "april": 4, "apr": 4, "abril": 4, "abr": 4,
    "may": 5, "mayo": 5,
    "june": 6, "jun": 6, "junio": 6,
    "july": 7, "jul": 7, "julio": 7,
    "august": 8, "aug": 8, "agosto": 8, "ago": 8,
    "september": 9, "sep": 9, "sept": 9, "septiembre": 9, "setiembre": 9,
    "october": 10, "oct": 10, "octubre": 10,
    "november": 11, "nov": 11, "noviembre": 11,
    "december": 12, "dec": 12, "diciembre": 12, "dic": 12,
}  # fmt: skip

# Parts of the day that say whether "6" is morning or evening.
MORNING_WORDS = ("de la mañana", "de la manana", "in the morning", "en la mañana")
EVENING_WORDS = (
    "de la tarde", "de la noche", "in the evening", "in the afternoon", "at night",
    "en la tarde", "en la noche", "por la tarde", "por la noche",
)  # fmt: skip


def fold(text: str) -> str:
    """Lowercase without accents ("Miércoles" -> "miercoles"), but keeping ñ."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("ñ", "\0"))
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return plain.replace("\0", "ñ")


def weekday(word: str) -> int | None:
    """ "tuesday", "Mar", "miércoles" -> 0..6; None if it is not a weekday name."""
    word = word.strip(" ,.").lower()
    return WEEKDAYS.get(word, WEEKDAYS.get(fold(word)))


def relative_day(words: str) -> int | None:
    """ "tomorrow", "pasado mañana" -> days from today; None otherwise."""
    words = " ".join(words.lower().split())
    return RELATIVE_DAYS.get(words, RELATIVE_DAYS.get(fold(words)))


def month(word: str) -> int | None:
    word = word.strip(" ,.").lower()
    return MONTHS.get(word, MONTHS.get(fold(word)))
