"""Turning domain objects into Telegram HTML and keyboards, within Telegram's limits.

Every data or user string goes through `escape` (Defaults set parse_mode=HTML); messages are
split under 4096 characters; callback data is kept under 64 bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, time

from babel.dates import format_time, get_day_names
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.freshness import freshness_line
from bot.i18n import Translate
from knowledge.directory import Place, ServiceRecord
from knowledge.fees import read_fees
from knowledge.hours import (
    MINUTES_PER_DAY,
    OpenInterval,
    hours_on,
    is_always_open,
    is_open,
    next_opening,
)
from knowledge.phones import PhoneLine, dialable
from knowledge.service_areas import Area
from knowledge.text import short_hash

MAX_MESSAGE = 4096
MAX_CALLBACK_BYTES = 64
SNIPPET = 140
KM_PER_MILE = 1.609344
CARD_PHONES = 2  # numbers on a result card; the details card shows them all
SHORT_LABEL = 24  # a directory's own description of a number is its label up to this length
MAX_PLACES = 5  # places listed on a details card; a county's 22 libraries would drown it


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


# A tag, an entity or one character: cutting between tokens never breaks `&amp;` or `<b>`.
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?([a-zA-Z-]+)")


def _telegram_length(token: str) -> int:
    """What Telegram counts for a token: UTF-16 units of the text it shows, tags count 0."""
    if token.startswith("<") and token.endswith(">") and len(token) > 1:
        return 0
    return len(html.unescape(token).encode("utf-16-le")) // 2


def telegram_length(text: str) -> int:
    """The length Telegram measures against 4096: the parsed text, in UTF-16 units."""
    return sum(_telegram_length(token) for token in _TOKEN.findall(text))


def fits(text: str, limit: int) -> bool:
    """Whether Telegram shows at most `limit` characters of `text`. Tags and entities only
    shorten what is shown, so text within `limit` as written fits without being tokenized
    (that is one Python call per character: most of a reply's CPU, and every reply asks)."""
    return len(text.encode("utf-16-le")) // 2 <= limit or telegram_length(text) <= limit


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split HTML so no part shows more than `limit` characters: at a line, else between words,
    never inside an entity or a tag; tags open at a cut are closed and opened again."""
    if fits(text, limit):
        return [text]
    parts: list[str] = []
    tokens = _TOKEN.findall(text)
    start, reopen = 0, ""
    while start < len(tokens):
        length, end, line_end, word_end = 0, start, start, start
        while end < len(tokens) and length + _telegram_length(tokens[end]) <= limit:
            if tokens[end] == "\n" and length >= limit // 2:
                line_end = end
            elif tokens[end] == " " and length >= limit // 2:
                word_end = end
            length += _telegram_length(tokens[end])
            end += 1
        if end < len(tokens):  # more to come: cut at a line, else a word, in the second half
            end = line_end if line_end > start else word_end if word_end > start else end
        piece = reopen + "".join(tokens[start:end])
        closing, reopen = _open_tags(piece)
        if html.unescape(re.sub(r"<[^>]*>", "", piece)).strip():
            parts.append(piece + closing)
        start = end
        while start < len(tokens) and tokens[start] in ("\n", " "):
            start += 1  # the separator at the cut is not sent
    return parts


def _open_tags(piece: str) -> tuple[str, str]:
    """The closing tags for what `piece` leaves open, and those opening tags to start the next."""
    stack: list[tuple[str, str]] = []
    for tag in re.findall(r"<[^>]*>", piece):
        match = _TAG_NAME.match(tag)
        if match is None:
            continue
        if tag.startswith("</"):
            if stack and stack[-1][0] == match.group(1):
                stack.pop()
        else:
            stack.append((match.group(1), tag))
    closing = "".join(f"</{name}>" for name, _tag in reversed(stack))
    return closing, "".join(tag for _name, tag in stack)


def format_distance(km: float, miles: bool) -> str:
    if miles:
        value = km / KM_PER_MILE
        return f"{value:.1f} mi"
    return f"{km:.1f} km" if km >= 1 else f"{round(km * 1000, -1):.0f} m"


def clock(minutes: int, _: Translate) -> str:
    """A time of day as the reader's locale writes it: "6:00 PM" in English, "18:00" in Spanish."""
    minutes %= MINUTES_PER_DAY
    return format_time(time(minutes // 60, minutes % 60), "short", locale=_.language)


def day_name(weekday: int, _: Translate) -> str:
    """The full name of a weekday (0 = Monday) in the reader's language: "Friday", "viernes"."""
    return str(get_day_names("wide", locale=_.language)[weekday])


def _hour(minutes: int) -> int:
    # Spanish says "a la 1:00" but "a las 2:00": the plural form follows the hour.
    return (minutes % MINUTES_PER_DAY) // 60


def today_hours(intervals: Sequence[OpenInterval], now: datetime, _: Translate) -> str | None:
    """ "Open now, until 5:00 PM", "Opens today at 2:00 PM", "Closed now, opens Monday at
    8:00 AM"..., in the reader's language and clock."""
    if not intervals:
        return None
    if is_always_open(intervals):
        return _("Open 24 hours")
    if is_open(intervals, now):
        minute = now.hour * 60 + now.minute
        closing = [c for o, c in hours_on(intervals, now.weekday()) if o <= minute < c]
        if not closing:  # open since yesterday evening
            closing = [c - 1440 for o, c in hours_on(intervals, (now.weekday() - 1) % 7)]
        until = max(closing)
        return _.ngettext("Open now, until {time}", "Open now, until {time}", _hour(until)).format(
            time=clock(until, _)
        )
    upcoming = next_opening(intervals, now)
    if upcoming is None:
        return None
    days, opens = upcoming
    at = clock(opens, _)
    if days == 0:
        return _.ngettext("Opens today at {time}", "Opens today at {time}", _hour(opens)).format(
            time=at
        )
    if days == 1:
        return _.ngettext(
            "Closed now, opens tomorrow at {time}",
            "Closed now, opens tomorrow at {time}",
            _hour(opens),
        ).format(time=at)
    day = day_name((now.weekday() + days) % 7, _)
    return _.ngettext(
        "Closed now, opens {day} at {time}", "Closed now, opens {day} at {time}", _hour(opens)
    ).format(day=day, time=at)


def week_hours(intervals: Sequence[OpenInterval], _: Translate) -> list[str]:
    """One line per weekday: "Monday: 9:00 AM – 5:00 PM", "Sunday: closed"."""
    if is_always_open(intervals):
        return [_("Open 24 hours, every day")]
    closed = _("closed")
    lines = []
    for day in range(7):
        blocks = hours_on(intervals, day)
        spans = ", ".join(f"{clock(o, _)} – {clock(c, _)}" for o, c in blocks)
        name = day_name(day, _)
        lines.append(f"{name[:1].upper()}{name[1:]}: {spans or closed}")
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


def areas_line(areas: Sequence[Area], _: Translate) -> str | None:
    """ "🗺 Serves all of Boone County, IL" (or the area as the directory words it)."""
    if any(area.kind == "country" for area in areas):
        return "🗺 " + escape(_("Serves the whole country"))
    whole = [area.label for area in areas if area.whole_area]
    if whole:
        return "🗺 " + escape(_("Serves all of {places}").format(places=", ".join(whole)))
    if areas:
        named = "; ".join(one_line(area.label, 120) for area in areas[:3])
        return "🗺 " + escape(_("Service area: {areas}").format(areas=named))
    return None


def street_address(record: ServiceRecord) -> str | None:
    """The first address a family can go to (not a mailing address), or the name of the one
    place it is offered at when the directory gives no address."""
    visited = [place for place in record.places if place.kind != "postal"]
    address = next((place.address for place in visited if place.address), None)
    if address is None and len(visited) == 1:
        return visited[0].name
    return address


def _place_line(place: Place, record: ServiceRecord, now: datetime, _: Translate) -> str | None:
    where = ", ".join(part for part in (place.name, place.address) if part)
    if not where:
        return None
    if place.kind == "postal":
        label = _("Mailing address")
        return f"📮 {escape(label)}: {escape(where)}"
    today = today_hours(place.hours, record.local(now), _) if record.hours_differ_by_place else None
    return f"📍 {escape(where)}" + (f" · 🕘 {escape(today)}" if today else "")


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
    if distance is None and record.mappable is None:
        # No map pin to offer: say where it is, and where it serves, in words.
        where = street_address(record)
        if where:
            lines.append(f"📍 {escape(one_line(where, 120))}")
        served = areas_line(record.areas, _)
        if served:
            lines.append(served)
    facts = []
    hours = today_hours(record.hours, record.local(now), _)
    if hours:
        facts.append(f"🕘 {escape(hours)}")
    if distance:
        facts.append(f"📍 {escape(distance)}")
    if facts:
        lines.append(" · ".join(facts))
    phones = phone_line(record.phones[:CARD_PHONES], _)
    if phones:
        lines.append(phones)
    extras = []
    if record.languages:
        extras.append(f"🗣 {escape(language_list(record.languages, _))}")
    fees = fees_text(record.fees, _, 60)
    if fees:
        extras.append(f"💲 {escape(fees)}")
    if extras:
        lines.append(" · ".join(extras))
    if fresh := freshness_line(record, now, _):
        lines.append(fresh)
    return "\n".join(lines)


def phone_labels(phones: Sequence[PhoneLine], _: Translate) -> list[str | None]:
    """What tells several numbers apart: the directory's short description, "Text", the
    language the line answers in, else "Main" for the first. One number needs no label, unless
    it only takes texts."""
    if len(phones) == 1:
        return [_("Text") if _is_text_line(phones[0]) else None]
    labels: list[str | None] = []
    names = language_names(_)
    for position, phone in enumerate(phones):
        description = " ".join((phone.description or "").split()).rstrip(".")
        if description and len(description) <= SHORT_LABEL:
            label = description
        elif _is_text_line(phone):
            label = _("Text")
        elif phone.languages and not {"en", "english"} & {x.lower() for x in phone.languages}:
            language = names.get(phone.languages[0].lower(), phone.languages[0])
            label = _("{language} line").format(language=language)
        else:
            label = _("Main") if position == 0 else _("Other")
        labels.append(label)
    # Two "Main front desk" numbers: the place each rings at tells them apart.
    return [
        phone.place if labels.count(label) > 1 and phone.place else label
        for phone, label in zip(phones, labels, strict=True)
    ]


def _is_text_line(phone: PhoneLine) -> bool:
    return (phone.kind or "").lower() in ("text", "sms")


def phone_line(phones: Sequence[PhoneLine], _: Translate) -> str | None:
    """ "☎ +1 515-555-0149", or "☎ Main: +1 515-555-0149 · ☎ Spanish line: +1 515-555-0150":
    numbers in international form, which a phone offers to call with one tap."""
    if not phones:
        return None
    parts = []
    for phone, label in zip(phones, phone_labels(phones, _), strict=True):
        number = escape(dialable(phone.number, phone.extension))
        parts.append(f"☎ {escape(label)}: {number}" if label else f"☎ {number}")
    return " · ".join(parts)


def fees_text(fees: str | None, _: Translate, limit: int) -> str | None:
    """The fees as a family should read them: "Free" for "None" or "$0", nothing for "N/A"."""
    reading = read_fees(fees)
    if reading is None:
        return None
    return _("Free") if reading.free else one_line(reading.text, limit)


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
    for phone, label in zip(record.phones, phone_labels(record.phones, _), strict=True):
        number = escape(dialable(phone.number, phone.extension))
        lines.append(f"☎ {escape(label)}: {number}" if label else f"☎ {number}")
    for place in record.places[:MAX_PLACES]:
        place_line = _place_line(place, record, now, _)
        if place_line:
            lines.append(place_line)
    if len(record.places) > MAX_PLACES:
        more = _("More places: {count}").format(count=len(record.places) - MAX_PLACES)
        lines.append(f"📍 {escape(more)}")
    served = areas_line(record.areas, _)
    if served:
        lines.append(served)
    if record.hours_differ_by_place:
        differ = _("Hours differ by place: today’s are shown with each.")
        lines += ["", f"🕘 {escape(differ)}"]
    elif record.hours:
        today = today_hours(record.hours, record.local(now), _)
        heading = _("Hours")
        lines += ["", f"🕘 <b>{escape(heading)}</b>" + (f" ({escape(today)})" if today else "")]
        lines += [escape(line) for line in week_hours(record.hours, _)]
    elif record.hours_note:
        lines += ["", f"🕘 {escape(one_line(record.hours_note, 300))}"]
    if record.languages:
        lines.append(f"🗣 {escape(language_list(record.languages, _))}")
    if record.interpretation:
        lines.append(f"💬 {escape(one_line(record.interpretation, 300))}")
    fees = fees_text(record.fees, _, 300)
    if fees:
        lines.append(f"💲 {escape(fees)}")
    for cost in record.costs[:5]:
        lines.append(f"💲 {escape(one_line(cost, 200))}")
    if record.required_documents:
        heading = _("What to bring")
        lines += ["", f"<b>{escape(heading)}</b>"]
        lines += [
            f"• {escape(one_line(document, 300))}" for document in record.required_documents[:6]
        ]
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
    """Cut a single message to `limit` at a line boundary (cards are built line by line),
    never inside an entity or a tag."""
    if fits(text, limit):
        return text
    return split_message(text, limit - 2)[0] + "\n…"
