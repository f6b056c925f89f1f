"""Turning domain objects into Telegram HTML and keyboards, within Telegram's limits.

Every data or user string goes through `escape` (Defaults set parse_mode=HTML); messages are
split under 4096 characters; callback data is kept under 64 bytes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.freshness import freshness_line
from bot.i18n import Translate
from knowledge.directory import ServiceRecord
from knowledge.hours import (
    OpenInterval,
    format_minutes,
    hours_on,
    is_always_open,
    is_open,
    next_opening,
)
from knowledge.text import short_hash

MAX_MESSAGE = 4096
MAX_CALLBACK_BYTES = 64
SNIPPET = 140
KM_PER_MILE = 1.609344


def escape(text: object) -> str:
    return html.escape(str(text), quote=False)


def one_line(text: str | None, limit: int = SNIPPET) -> str:
    """The first sentence-ish of a description, trimmed to `limit` characters."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    for stop in (". ", "; "):
        if stop in cut[limit // 2 :]:
            return cut[: cut.rindex(stop) + 1]
    return cut.rsplit(" ", 1)[0] + "…"


def callback(*parts: str) -> str:
    """Join parts with ':'; a part that would push data past 64 bytes is replaced by its hash."""
    data = ":".join(parts)
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    *head, last = parts
    return ":".join([*head, "#" + short_hash(last)])


def button(text: str, *parts: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callback(*parts))


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split on blank lines, then lines, so no part exceeds `limit` and no tag is cut."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for block in text.split("\n"):
        candidate = f"{current}\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(block) > limit:  # one enormous line: cut between words
            cut = block.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            parts.append(block[:cut])
            block = block[cut:].lstrip()
        current = block
    if current:
        parts.append(current)
    return parts


def format_distance(km: float, miles: bool) -> str:
    if miles:
        value = km / KM_PER_MILE
        return f"{value:.1f} mi"
    return f"{km:.1f} km" if km >= 1 else f"{round(km * 1000, -1):.0f} m"


def weekday_names(_: Translate) -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def today_hours(intervals: Sequence[OpenInterval], now: datetime, _: Translate) -> str | None:
    """ "Open now, until 17:00", "Opens today at 14:00", "Closed now, opens Mon 08:00"..."""
    if not intervals:
        return None
    if is_always_open(intervals):
        return _("Open 24 hours")
    if is_open(intervals, now):
        minute = now.hour * 60 + now.minute
        closing = [c for o, c in hours_on(intervals, now.weekday()) if o <= minute < c]
        if not closing:  # open since yesterday evening
            closing = [c - 1440 for o, c in hours_on(intervals, (now.weekday() - 1) % 7)]
        return _("Open now, until {time}").format(time=format_minutes(max(closing)))
    upcoming = next_opening(intervals, now)
    if upcoming is None:
        return None
    days, opens = upcoming
    if days == 0:
        return _("Opens today at {time}").format(time=format_minutes(opens))
    if days == 1:
        return _("Closed now, opens tomorrow at {time}").format(time=format_minutes(opens))
    day = weekday_names(_)[(now.weekday() + days) % 7]
    return _("Closed now, opens {day} at {time}").format(day=day, time=format_minutes(opens))


def week_hours(intervals: Sequence[OpenInterval], _: Translate) -> list[str]:
    if is_always_open(intervals):
        return [_("Open 24 hours, every day")]
    names = weekday_names(_)
    closed = _("closed")
    lines = []
    for day in range(7):
        blocks = hours_on(intervals, day)
        spans = ", ".join(f"{format_minutes(o)}–{format_minutes(c)}" for o, c in blocks)
        lines.append(f"{names[day]}: {spans or closed}")
    return lines


def language_names(_: Translate) -> dict[str, str]:
    """Names for the language codes and English names directories use, in the reader's language."""
    english, spanish, vietnamese, arabic = _("English"), _("Spanish"), _("Vietnamese"), _("Arabic")
    return {
        "en": english,
        "english": english,
        "es": spanish,
        "spanish": spanish,
        "vi": vietnamese,
        "vietnamese": vietnamese,
        "ar": arabic,
        "arabic": arabic,
    }


def language_list(names: Sequence[str], _: Translate) -> str:
    known = language_names(_)
    shown = [known.get(name.strip().lower(), name) for name in names]
    return ", ".join(dict.fromkeys(shown))


def service_card(
    record: ServiceRecord,
    number: int,
    now: datetime,
    _: Translate,
    distance: str | None = None,
) -> str:
    """The compact card shown in a result list."""
    lines = [f"<b>{number}. {escape(record.name)}</b>"]
    if record.description:
        lines.append(escape(one_line(record.description)))
    facts = []
    hours = today_hours(record.hours, now, _)
    if hours:
        facts.append(f"🕘 {escape(hours)}")
    if distance:
        facts.append(f"📍 {escape(distance)}")
    if facts:
        lines.append(" · ".join(facts))
    extras = []
    if record.languages:
        extras.append(f"🗣 {escape(language_list(record.languages, _))}")
    if record.fees:
        extras.append(f"💲 {escape(one_line(record.fees, 60))}")
    if extras:
        lines.append(" · ".join(extras))
    if fresh := freshness_line(record, now, _):
        lines.append(fresh)
    return "\n".join(lines)


def service_details(record: ServiceRecord, now: datetime, _: Translate) -> str:
    """The full record: phone, address, week hours, eligibility, how to apply, website."""
    lines = [f"<b>{escape(record.name)}</b>"]
    if record.organization and record.organization != record.name:
        lines.append(f"<i>{escape(record.organization)}</i>")
    if record.alert:
        lines.append(f"⚠️ {escape(one_line(record.alert, 400))}")
    if fresh := freshness_line(record, now, _):
        lines.append(fresh)
    if record.description:
        lines += ["", escape(one_line(record.description, 1500))]
    lines.append("")
    for number, _kind in record.phones:
        lines.append(f"📞 {escape(number)}")
    for place in record.places:
        where = ", ".join(p for p in (place.name, place.address) if p)
        if where:
            lines.append(f"📍 {escape(where)}")
    if record.hours:
        today = today_hours(record.hours, now, _)
        heading = _("Hours")
        lines += ["", f"🕘 <b>{escape(heading)}</b>" + (f" ({escape(today)})" if today else "")]
        lines += [escape(line) for line in week_hours(record.hours, _)]
    elif record.hours_note:
        lines += ["", f"🕘 {escape(one_line(record.hours_note, 300))}"]
    if record.languages:
        lines.append(f"🗣 {escape(language_list(record.languages, _))}")
    if record.interpretation:
        lines.append(f"💬 {escape(one_line(record.interpretation, 300))}")
    if record.fees:
        lines.append(f"💲 {escape(one_line(record.fees, 300))}")
    if record.eligibility:
        heading = _("Who can use it")
        lines += ["", f"<b>{escape(heading)}</b>", escape(one_line(record.eligibility, 600))]
    if record.application_process:
        heading = _("How to get it")
        lines += [
            "",
            f"<b>{escape(heading)}</b>",
            escape(one_line(record.application_process, 600)),
        ]
    if record.website:
        lines.append(f"🌐 {escape(one_line(record.website, 200))}")
    if record.email:
        lines.append(f"✉️ {escape(one_line(record.email, 200))}")
    return trim("\n".join(lines))


def trim(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut a single message to `limit` at a line boundary (cards are built line by line)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 2].rsplit("\n", 1)[0]
    return cut + "\n…"
