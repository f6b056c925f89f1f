"""Result cards and details for a text message: short, numbered, the phone first.

A result list is at most three cards and a line saying what to reply ("Reply 1-3 for details,
M for more, 0 for the menu"), within three segments; each card is a name and one line of facts
(phone, today's hours, distance), with a few words of description when they still fit.
Details keep within two segments: name, phone (phones make it a call link), address, today's
hours, a map link, cost and languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from telegram import InlineKeyboardMarkup

from bot.i18n import Translate
from bot.render import (
    button,
    fees_text,
    keyboard,
    language_list,
    one_line,
    phone_labels,
    today_hours,
)
from bot.sms.channel import MAP_URL
from bot.sms.text import fit, segments, to_gsm
from knowledge.directory import ServiceRecord
from knowledge.phones import dialable
from knowledge.search import SearchHit

LIST_SEGMENTS = 3
CARD_SEGMENTS = 2
NAME_CHARACTERS = 48
DESCRIPTION_CHARACTERS = 70
DETAIL_KINDS = {"service": "d", "resource": "tk", "material": "mat", "event": "ev"}


def _card(
    number: int,
    hit: SearchHit,
    record: ServiceRecord | None,
    now: datetime,
    _: Translate,
    distance: str | None,
) -> tuple[str, str]:
    """(the card without description, the description line or "")."""
    name = one_line(record.name if record else hit.title, NAME_CHARACTERS)
    if record is None:
        label = {"resource": _("Toolkit"), "material": _("Sample material"), "event": _("Event")}
        return f"{number}. {name} ({label.get(hit.kind, '')})", ""
    first = record.phones[0] if record.phones else None
    facts = [dialable(first.number, first.extension)] if first is not None else []
    hours = today_hours(record.hours, record.local(now), _)
    if hours:
        facts.append(hours)
    if distance:
        facts.append(distance)
    card = f"{number}. {name}" + ("\n" + ", ".join(facts) if facts else "")
    description = one_line(record.description, DESCRIPTION_CHARACTERS) if record.description else ""
    return card, description


def results_text(
    header: str,
    hits: Sequence[SearchHit],
    records: Sequence[ServiceRecord | None],
    distances: Sequence[str | None],
    start: int,
    more: bool,
    now: datetime,
    _: Translate,
) -> str:
    """The numbered short cards and what to reply, within three segments."""
    cards = [
        _card(number, hit, record, now, _, distance)
        for number, (hit, record, distance) in enumerate(
            zip(hits, records, distances, strict=True), start=start + 1
        )
    ]
    first, last = start + 1, start + len(hits)
    numbers = f"{first}" if first == last else f"{first}-{last}"
    footer = (
        _("Reply {numbers} for details, M for more, 0 for the menu.")
        if more
        else _("Reply {numbers} for details, 0 for the menu.")
    ).format(numbers=numbers)
    blocks = [card for card, _description in cards]
    # Descriptions while they fit, best result first.
    for index, (card, description) in enumerate(cards):
        if not description:
            continue
        trial = [*blocks]
        trial[index] = f"{card}\n{description}"
        if segments(to_gsm("\n".join([header, *trial, footer]))) <= LIST_SEGMENTS:
            blocks = trial
    return fit(to_gsm("\n".join([header, *blocks])), LIST_SEGMENTS, to_gsm(footer))


def results_keyboard(hits: Sequence[SearchHit], start: int, more: bool) -> InlineKeyboardMarkup:
    """Buttons labelled by their reply: "1"-"3" open a result, "M" the next page, "0" the menu."""
    rows = [
        [button(str(number), DETAIL_KINDS.get(hit.kind, "d"), hit.id)]
        for number, hit in enumerate(hits, start=start + 1)
    ]
    if more:
        rows.append([button("M", "more")])
    rows.append([button("0", "cats")])
    return keyboard(rows)


def details_text(record: ServiceRecord, now: datetime, _: Translate) -> str:
    """One service in two segments at most, the most useful lines first."""
    lines = [one_line(record.name, 80)]
    phones = record.phones[:2]
    for phone, label in zip(phones, phone_labels(phones, _), strict=True):
        number = dialable(phone.number, phone.extension)
        lines.append(_("Call {phone}").format(phone=f"{label}: {number}" if label else number))
    place = record.mappable or (record.places[0] if record.places else None)
    if place is not None and (place.address or place.name):
        lines.append(one_line(place.address or place.name, 100))
    hours = today_hours(record.hours, record.local(now), _)
    if hours:
        lines.append(hours)
    mappable = record.mappable
    if mappable is not None and mappable.latitude is not None and mappable.longitude is not None:
        url = MAP_URL.format(latitude=mappable.latitude, longitude=mappable.longitude)
        lines.append(_("Map: {url}").format(url=url))
    if fees := fees_text(record.fees, _, 60):
        lines.append(fees)
    if record.languages:
        lines.append(language_list(record.languages, _))
    if record.description:
        lines.append(one_line(record.description, 120))
    footer = _("0 for the menu.")
    return fit(to_gsm("\n".join(lines)), CARD_SEGMENTS, to_gsm(footer))


def menu_keyboard() -> InlineKeyboardMarkup:
    return keyboard([[button("0", "cats")]])
