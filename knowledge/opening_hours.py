"""Opening hours as people type them, read into HSDS schedule rows.

"Mon-Fri 9-5", "Mon–Fri 9am–5pm; Sat 10am–2pm", "lun a vie 9:00-17:00", "daily 8-20", "24/7".
Written here rather than taken from a library: the one parser of a standard form
(OpenStreetMap's opening_hours) expects "Mo-Fr 09:00-17:00", which is not what a parent or a
coordinator types on a phone, and no maintained package reads Spanish day names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from knowledge.hours import WEEKDAYS

_DAY_NAMES = {
    0: ("mon", "monday", "mondays", "lun", "lunes", "lu"),
    1: ("tue", "tues", "tuesday", "tuesdays", "mar", "martes", "ma"),
    2: ("wed", "weds", "wednesday", "wednesdays", "mie", "miercoles", "mi", "mier"),
    3: ("thu", "thur", "thurs", "thursday", "thursdays", "jue", "jueves", "ju"),
    4: ("fri", "friday", "fridays", "vie", "viernes", "vi"),
    5: ("sat", "saturday", "saturdays", "sab", "sabado", "sabados", "sa"),
    6: ("sun", "sunday", "sundays", "dom", "domingo", "domingos", "do"),
}
DAY_OF = {name: day for day, names in _DAY_NAMES.items() for name in names}
GROUPS = {
    "daily": range(7),
    "everyday": range(7),
    "diario": range(7),
    "diariamente": range(7),
    "weekdays": range(5),
    "weekends": range(5, 7),
}
ALL_WEEK = "24/7"
_TIME = r"(\d{1,2})(?:[:.h](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?"
_TOKEN = re.compile(
    rf"(?P<range>{_TIME}\s*(?:-|–|—|to|a|hasta)\s*{_TIME})"
    r"|(?P<word>[a-z]+)"
    r"|(?P<dash>-|–|—)"
)


@dataclass(frozen=True, slots=True)
class OpeningBlock:
    """One HSDS schedule row: these weekdays ("MO,TU"), from `opens` to `closes` ("09:00")."""

    byday: str
    opens: str
    closes: str


# An hour without am or pm before this opens in the afternoon: nothing opens at 1 a.m. to close
# at 6 a.m.
EARLIEST_OPENING = 6 * 60


def _minutes(hour: str, minute: str | None, half: str | None) -> int | None:
    h, m = int(hour), int(minute or 0)
    if half:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if half.startswith("p") else 0)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
        return None
    return h * 60 + m


def _span(groups: tuple[str | None, ...]) -> tuple[int, int] | None:
    h1, m1, half1, h2, m2, half2 = groups
    assert h1 is not None and h2 is not None
    closes = _minutes(h2, m2, half2)
    if half2 and not half1 and 1 <= int(h1) <= 12:
        # "1-5pm" shares the afternoon; "9-5pm" cannot, so it starts in the morning.
        opens = _minutes(h1, m1, half2)
        if opens is not None and closes is not None and opens >= closes:
            opens = _minutes(h1, m1, "am")
    else:
        opens = _minutes(h1, m1, half1)
    if opens is None or closes is None:
        return None
    if not half1 and not half2 and closes <= opens and closes < 12 * 60:
        closes += 12 * 60  # "9-5" means five in the afternoon
    elif not half1 and not half2 and opens < EARLIEST_OPENING and closes <= 12 * 60:
        opens, closes = opens + 12 * 60, closes + 12 * 60  # "Saturday 1-6": the afternoon
    if closes == opens:
        return None
    return opens, closes


# Opening hours said in prose: "The Schaberg Branch (650-780-7010) is located at 2140 Euclid
# Avenue and is open Tuesday-Thursday, 1-6; Saturday, 10-3." (a sentence ends at a full stop
# before a capital or the end, not at "a.m.")
_STATED = re.compile(
    r"(?:^|(?<=[.!?])\s+)(?P<subject>[^.!?]*?)\b(?:is|are) open (?:from )?"
    r"(?P<hours>.+?)(?:\.(?=\s+[A-Z])|\.?\s*$)"
)
_SUBJECT = re.compile(
    r"^(?:The\s+)?(?!(?:The|We|It|They|This|Our|Hours)\b)(?P<name>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)"
)


def stated_hours(text: str) -> list[tuple[str | None, list[OpeningBlock]]]:
    """The opening hours a description states, each with the name of what it says is open
    then ("Schaberg Branch"), or None when it names nothing ("The library is open...")."""
    found: list[tuple[str | None, list[OpeningBlock]]] = []
    for match in _STATED.finditer(text):
        hours = match.group("hours")
        blocks = parse_opening_hours(hours + "." if hours.endswith(("a.m", "p.m")) else hours)
        if blocks:
            named = _SUBJECT.match(match.group("subject").strip())
            found.append((named.group("name") if named else None, blocks))
    return found


def _plain(text: str) -> str:
    """Lowercase without accents, punctuation kept ("Miércoles 9:00–17:00")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clock(minutes: int) -> str:
    return "23:59" if minutes >= 24 * 60 else f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_opening_hours(text: str) -> list[OpeningBlock] | None:
    """The schedule `text` describes, or None when it cannot be read with confidence."""
    flat = _plain(text).replace("24 hours", ALL_WEEK).replace("24 horas", ALL_WEEK)
    if flat.strip() in (ALL_WEEK, "24 7"):
        return [OpeningBlock(",".join(WEEKDAYS), "00:00", "23:59")]
    flat = flat.replace("a.m.", "am").replace("p.m.", "pm")
    blocks: list[OpeningBlock] = []
    days: list[int] = []
    pending_range_from: int | None = None
    days_used = False
    for match in _TOKEN.finditer(flat):
        if match.group("range"):
            span = _span(match.groups()[1:7])
            if span is None or not days:
                return None
            byday = ",".join(WEEKDAYS[d] for d in sorted(set(days)))
            blocks.append(OpeningBlock(byday, _clock(span[0]), _clock(span[1])))
            days_used = True
            continue
        if match.group("dash"):
            continue
        word = match.group("word")
        if word in ("to", "a", "hasta", "y", "and", "de", "from", "desde") or word in (
            "am",
            "pm",
        ):
            if word in ("to", "a", "hasta") and days:
                pending_range_from = days[-1]
            continue
        if word in GROUPS:
            if days_used:
                days, days_used = [], False
            days += list(GROUPS[word])
            continue
        day = DAY_OF.get(word)
        if day is None:
            if word in ("closed", "cerrado"):
                days, days_used = [], False
                continue
            return None  # a word we do not understand: better to ask again than guess
        if days_used:
            days, days_used = [], False
        dash_before = flat[: match.start()].rstrip().endswith(("-", "–", "—"))
        if (dash_before or pending_range_from is not None) and days:
            start = days[-1] if pending_range_from is None else pending_range_from
            step = range(start, day + 1) if start <= day else [*range(start, 7), *range(day + 1)]
            days += list(step)
        else:
            days.append(day)
        pending_range_from = None
    return blocks or None


def describe_blocks(blocks: list[OpeningBlock]) -> str:
    """A plain record of the rows, for the change log: "MO,TU 09:00-17:00; SA 10:00-14:00"."""
    return "; ".join(f"{b.byday} {b.opens}-{b.closes}" for b in blocks)


# Whole day names only: "mar", "mi", "sa" are Spanish and English words in a description.
_FULL_DAY = {name: day for name, day in DAY_OF.items() if len(name) >= 5}
_DAY_WORD = re.compile(r"[a-z]+|-|–|—")
_ANY_DAY = re.compile(r"day|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo", re.I)
_UNTIL = frozenset({"-", "–", "—", "to", "through", "thru", "a", "al", "hasta"})


def days_named(text: str) -> frozenset[int]:
    """The weekdays a description names ("a Saturday morning feeding program", "delivered
    Monday-Friday", "de lunes a viernes"): a service without schedule rows that says when it
    is held is there on those days."""
    if not _ANY_DAY.search(text):  # most descriptions: not worth folding
        return frozenset()
    days: set[int] = set()
    words = _DAY_WORD.findall(_plain(text))
    for i, word in enumerate(words):
        first = _FULL_DAY.get(word)
        if first is None:
            continue
        days.add(first)
        if i + 2 < len(words) and words[i + 1] in _UNTIL and words[i + 2] in _FULL_DAY:
            last = _FULL_DAY[words[i + 2]]
            step = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
            days.update(step)
    return frozenset(days)
