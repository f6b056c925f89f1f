"""Dates and times as coordinators type them, in English and Spanish: "next tuesday 6pm",
"mañana a las 18:00", "12/3 6-8 pm", "el viernes de 6 a 8 de la tarde", "2026-12-03T18:00".

No Telegram here. The day and month words come from knowledge.timewords (one vocabulary).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from knowledge.timewords import (
    EVENING_WORDS,
    MORNING_WORDS,
    NEXT_WORDS,
    THIS_WORDS,
    fold,
    month,
    relative_day,
    weekday,
)

_TIME = re.compile(
    r"^(\d{1,2})(?:[:.h](\d{2})(?::(\d{2}))?)?\s*(a\.?\s?m\.?|p\.?\s?m\.?|h|hrs?)?$", re.IGNORECASE
)
# "18:00-20:00", "6 to 8 pm", "18 a 20 h" (but not the "a" of "a.m.")
_RANGE = re.compile(r"\s*[-–—]\s*|\s+(?:to|until|till|hasta|a)\s+(?!m\b|\.)", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?$")
# "December 3", "Dec 3rd, 2026"; "3 de diciembre (de 2026)", "3 diciembre"
_MONTH_DAY = re.compile(r"^([^\W\d]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:\s+(\d{4}))?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})\s+(?:de\s+)?([^\W\d]+)(?:\s+(?:de\s+|del\s+)?(\d{4}))?$")
# Words that join a day to its time: "at 6pm", "a las 18:00", "from 6 to 8".
_JOINERS = re.compile(r"(?:^|\s)(?:at|a las|a la|from|de|desde|@)(?=\s|$)")


def parse_time(text: str, bare_hour: bool = False) -> time | None:
    """ "18:00", "6pm", "6:30 pm", "18h", "9.15" -> time; None if it is not a time. A bare
    number ("18") is a time only with `bare_hour` (after "at" / "a las")."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute, second = (int(match.group(i) or 0) for i in (1, 2, 3))
    suffix = (match.group(4) or "").lower().replace(".", "").replace(" ", "")
    if match.group(2) is None and not suffix and not bare_hour:
        return None  # a bare number is not a time
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _weekday_date(words: list[str], today: date) -> date | None:
    """ "tuesday", "next tuesday", "el próximo martes", "el martes que viene", "this friday"."""
    if words[-2:] == ["que", "viene"]:
        words = ["next", *words[:-2]]
    following = False
    while len(words) > 1 and (fold(words[0]) in NEXT_WORDS or words[0] in THIS_WORDS):
        following = following or fold(words[0]) in NEXT_WORDS
        words = words[1:]
    if len(words) == 2 and fold(words[1]) in NEXT_WORDS:  # "martes próximo"
        following, words = True, words[:1]
    if len(words) != 1:
        return None
    day = weekday(words[0])
    if day is None:
        return None
    ahead = (day - today.weekday()) % 7
    return today + timedelta(days=ahead or (7 if following else 0))


def _this_or_next_year(today: date, month_number: int, day: int, year: str | None) -> date:
    if year:
        number = int(year)
        return date(number + 2000 if number < 100 else number, month_number, day)
    candidate = date(today.year, month_number, day)
    return candidate if candidate >= today else date(today.year + 1, month_number, day)


def parse_date(text: str, today: date, language: str) -> date | None:
    """ "2026-12-03", "12/3" (English) or "3/12" (Spanish), "December 3", "3 de diciembre",
    "today", "tomorrow", "pasado mañana", "tuesday", "next tuesday", "el próximo martes"."""
    text = " ".join(text.strip().lower().rstrip(",").replace(",", " ").split())
    if not text:
        return None
    ahead = relative_day(text)
    if ahead is not None:
        return today + timedelta(days=ahead)
    try:
        match = _ISO_DATE.match(text)
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _SLASH_DATE.match(text)
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            english = language.split("-")[0].lower() != "es"
            month_number, day = (first, second) if english else (second, first)
            return _this_or_next_year(today, month_number, day, match.group(3))
        words = [w for w in text.split() if w not in ("the", "of")]
        stripped = " ".join(w for w in words if w not in ("el", "la", "on", "this", "este"))
        for pattern, month_group, day_group in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
            match = pattern.match(stripped)
            named = month(match.group(month_group)) if match else None
            if match and named is not None:
                return _this_or_next_year(today, named, int(match.group(day_group)), match.group(3))
    except ValueError:  # February 30th
        return None
    return _weekday_date(words, today)


def parse_hours(text: str, bare_hour: bool = False) -> tuple[time, time | None] | None:
    """ "18:00" -> (18:00, None); "18:00-20:00", "6-8pm", "6 pm to 8 pm", "18 a 20h" -> (start,
    end); None if it is not a time."""
    text = text.strip()
    parts = _RANGE.split(text, maxsplit=1)
    if len(parts) == 1:
        start = parse_time(text, bare_hour)
        return (start, None) if start is not None else None
    first, second = parts
    end = parse_time(second, bare_hour)
    if end is None:
        return None
    start = parse_time(first, bare_hour=True)
    first_match, second_match = _TIME.match(first.strip()), _TIME.match(second.strip())
    end_suffix = (second_match.group(4) or "") if second_match else ""
    evening = end_suffix.lower().startswith("p")
    if end_suffix.lower().startswith(("a", "p")) and first_match and not first_match.group(4):
        start = parse_time(f"{first} {end_suffix}")  # "6-8pm": the start takes the end's pm
        if start is not None and start > end and evening:
            start = parse_time(f"{first} am")  # "9-5pm", "11-1pm" start in the morning
    return (start, end) if start is not None else None


def _day_part(text: str) -> str:
    """ "6 de la tarde" -> "6 pm", "9 de la mañana" -> "9 am" (before "mañana" means tomorrow)."""
    for words, suffix in ((MORNING_WORDS, " am"), (EVENING_WORDS, " pm")):
        for phrase in words:
            text = text.replace(" " + phrase, suffix)
    return text


def _evening_without_suffix(hours: tuple[time, time | None], text: str) -> tuple[time, time | None]:
    """A bare "6" after "a las" is 18:00 when the text said evening ("tonight", "esta noche")."""
    start, end = hours
    if start.hour < 12 and re.search(r"\b(tonight|esta noche|esta tarde)\b", text):
        start = start.replace(hour=start.hour + 12)
        if end is not None and end.hour < 12:
            end = end.replace(hour=end.hour + 12)
    return start, end


def parse_when(
    text: str, today: date, language: str
) -> tuple[date | None, time | None, time | None]:
    """A date, maybe then a time or hours -> (day, start, end): "2026-12-03 18:00",
    "12/3 6-8 pm", "next tuesday 6pm", "mañana a las 18:00", "el viernes de 6 a 8 de la tarde",
    "2026-12-03T18:00". (None, None, None) when no day can be read."""
    raw = re.sub(r"^(\d{4}-\d{1,2}-\d{1,2})T", r"\1 ", text.strip())
    flat = _day_part(" ".join(raw.lower().replace(",", " ").split()))
    day = parse_date(flat, today, language)
    if day is not None:
        return day, None, None
    words = flat.split()
    for split in range(len(words) - 1, 0, -1):
        day = parse_date(" ".join(words[:split]), today, language)
        if day is None:
            continue
        hours = read_hours(" ".join(words[split:]))
        if hours is not None:
            return day, *_evening_without_suffix(hours, flat)
    return None, None, None


def read_hours(text: str) -> tuple[time, time | None] | None:
    """A time or hours as typed: "18:30", "6-8pm", "a las 6 de la tarde", "at 6pm", "de 6 a 8
    pm" -> (start, end or None)."""
    flat = _day_part(" ".join(text.lower().split()))
    joined = _JOINERS.sub(" ", " " + flat).strip()
    return parse_hours(joined, bare_hour=joined != flat)


def event_times(
    day: date, start: time, end: time | None, zone: ZoneInfo
) -> tuple[datetime, datetime | None]:
    """The start and end as moments in the community's zone (an end at or before the start is
    after midnight)."""
    starts = datetime.combine(day, start, tzinfo=zone)
    if end is None:
        return starts, None
    ends = datetime.combine(day, end, tzinfo=zone)
    return starts, ends if ends > starts else ends + timedelta(days=1)
