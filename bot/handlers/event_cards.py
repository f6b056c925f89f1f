"""How events read in a chat: the card, "Thu, December 3 at 6:00 PM", reminder labels, the RSVP
and coordinator buttons, and the texts the reminder job and the outbox send (ChatEventTexts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translate, supported_language, translator
from bot.render import button, escape, keyboard, one_line
from knowledge.calendar import (
    RsvpCount,
)
from knowledge.models import Event, utcnow

MAX_TITLE = 120
MAX_PLACE = 200


def format_when(
    moment: datetime, zone: ZoneInfo, language: str, until: datetime | None = None
) -> str:
    """ "Thu, December 3 at 6:00 PM" (to "8:00 PM" with `until`) in the chat's language and the
    community's time zone."""
    locale = supported_language(language)
    _ = translator(locale)
    day = format_skeleton("MMMMEEEEd", moment, tzinfo=zone, locale=locale)
    if moment.astimezone(zone).year != utcnow().astimezone(zone).year:
        day = format_skeleton("yMMMMEEEEd", moment, tzinfo=zone, locale=locale)
    clock = format_time(moment, "short", tzinfo=zone, locale=locale)
    if until is not None and until.astimezone(zone).date() == moment.astimezone(zone).date():
        clock += " – " + format_time(until, "short", tzinfo=zone, locale=locale)
    elif until is not None:
        return (
            _("{date} at {time}").format(date=day, time=clock)
            + " – "
            + format_when(until, zone, language)
        )
    return _("{date} at {time}").format(date=day, time=clock)


def format_day(day: date, language: str) -> str:
    return format_skeleton("MMMEd", day, locale=supported_language(language))


def offset_label(minutes: int, _: Translate) -> str:
    """ "1 day before", "3 hours before", "10 minutes before"."""
    for size, one, many in (
        (7 * 1440, _("1 week before"), _("{count} weeks before")),
        (1440, _("1 day before"), _("{count} days before")),
        (60, _("1 hour before"), _("{count} hours before")),
    ):
        if minutes % size == 0:
            count = minutes // size
            return one if count == 1 else many.format(count=count)
    return (
        _("1 minute before") if minutes == 1 else _("{count} minutes before").format(count=minutes)
    )


def event_card(
    event: Event,
    zone: ZoneInfo,
    language: str,
    counts: RsvpCount | None = None,
    chosen: bool | None = None,
    audience_name: str | None = None,
) -> str:
    """The event as HTML: title, when, where; RSVP counts for coordinators; the chat's answer."""
    _ = translator(language)
    lines = [f"📅 <b>{escape(one_line(event.title, MAX_TITLE))}</b>"]
    lines.append("🕘 " + escape(format_when(event.starts_at, zone, language, event.ends_at)))
    if event.where:
        lines.append("📍 " + escape(one_line(event.where, MAX_PLACE)))
    if event.description:
        lines.append(escape(one_line(event.description, 300)))
    if audience_name:
        lines.append("👥 " + escape(audience_name))
    if counts is not None:
        lines.append(
            escape(
                _("Going: {going} · Can't go: {not_going}").format(
                    going=counts.going, not_going=counts.not_going
                )
            )
        )
    if chosen is True:
        lines.append(escape(_("You said you are going.")))
    elif chosen is False:
        lines.append(escape(_("You said you can't go.")))
    return "\n".join(lines)


def rsvp_buttons(
    event_id: int, _: Translate, chosen: bool | None = None
) -> list[InlineKeyboardButton]:
    going = ("☑️ " if chosen is True else "✅ ") + _("Going")
    not_going = ("☑️ " if chosen is False else "❌ ") + _("Can't go")
    return [
        button(going, "rsvp", str(event_id), "1"),
        button(not_going, "rsvp", str(event_id), "0"),
    ]


def rsvp_keyboard(
    event_id: int, _: Translate, chosen: bool | None = None, calendar: bool = False
) -> InlineKeyboardMarkup:
    rows = [rsvp_buttons(event_id, _, chosen)]
    if calendar:
        rows.append([button("🗓 " + _("Add to my calendar"), "evi", str(event_id))])
    return keyboard(rows)


def coordinator_keyboard(event_id: int, _: Translate) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                button("✏️ " + _("Edit time/place"), "evm", str(event_id), "edit"),
                button("🚫 " + _("Cancel event"), "evm", str(event_id), "cancel"),
            ]
        ]
    )


class ChatEventTexts:
    """The texts the reminder job and the outbox send, from the bot's catalogs (EventTexts)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def _card(self, event: Event, language: str) -> str:
        return event_card(event, self.zone, language)

    def announcement(self, event: Event, language: str) -> str:
        _ = translator(language)
        return (
            escape(_("New event! Will you come?"))
            + "\n\n"
            + self._card(event, language)
            + "\n\n"
            + escape(_("Open the file to add it to your calendar."))
        )

    def rsvp_markup(self, event: Event, language: str) -> dict[str, Any]:
        return rsvp_keyboard(event.id, translator(language)).to_dict()

    def reminder(self, event: Event, language: str, late: bool = False) -> str:
        _ = translator(language)
        head = _("Reminder, sent late (sorry!):") if late else _("Reminder:")
        return "⏰ " + escape(head) + "\n\n" + self._card(event, language)

    def cancellation(self, event: Event, language: str) -> str:
        _ = translator(language)
        return (
            "🚫 "
            + escape(_("This event is cancelled. Sorry for the change!"))
            + "\n\n"
            + f"<s>{escape(one_line(event.title, MAX_TITLE))}</s>\n"
            + "🕘 "
            + escape(format_when(event.starts_at, self.zone, language))
        )

    def update_notice(self, event: Event, language: str) -> str:
        _ = translator(language)
        return (
            "✏️ "
            + escape(_("An event you heard about has changed. Here are the new details:"))
            + "\n\n"
            + self._card(event, language)
        )

    def skipped_report(self, events: Sequence[Event], language: str) -> str:
        _ = translator(language)
        lines = [
            escape(
                _(
                    "These reminders were not sent because their events had already started "
                    "when I could send them (the bot was not running):"
                )
            )
        ]
        for event in events:
            when = format_when(event.starts_at, self.zone, language)
            lines.append(f"• {escape(one_line(event.title, MAX_TITLE))} ({escape(when)})")
        return "\n".join(lines)
