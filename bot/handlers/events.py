"""Events: /newevent (coordinators), /events, RSVP buttons, editing and cancelling.

Callback data: rsvp:<event>:<1|0>, ev:<event> (show), evi:<event> (.ics file),
evm:<event>:<edit|cancel|cancel!|keep> (coordinator menu), eve:<event>:<time|place> (edit
conversation), ne:<step>:<value> (the /newevent conversation).

Announcements, reminders and notices go through the outbox (jobs.delivery), never from here.
The role is read from the database on every coordinator action.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, supported_language, translator
from bot.render import button, escape, keyboard, one_line
from bot.services import Caller, Dialect, caller, services
from jobs.reminders import announce_event, notify_going
from knowledge.calendar import (
    RsvpCount,
    cancel_event,
    event_ics,
    ics_filename,
    reschedule_event,
    rsvp_counts,
    rsvps_of,
    set_rsvp,
    upcoming_events,
)
from knowledge.chats import get_chat
from knowledge.content import bump_content_version
from knowledge.events import create_event, parse_offsets
from knowledge.models import Chat, Event, Role, utcnow
from knowledge.roles import role_of
from knowledge.subscriptions import schools

log = logging.getLogger(__name__)

MAX_TITLE = 120
MAX_PLACE = 200
EVENTS_SHOWN = 8
# Reminder choices offered as buttons, in minutes before the start.
REMINDER_CHOICES = (7 * 1440, 2 * 1440, 1440, 180, 60, 30, 10)
DEFAULT_REMINDER_CHOICES = frozenset({1440, 60})
TIME_CHOICES = ("09:00", "12:00", "15:00", "16:00", "17:00", "17:30", "18:00", "19:00")

# /newevent states, and the edit conversation's
TITLE, DATE, TIME, PLACE, AUDIENCE, REMINDERS, CONFIRM = range(7)
EDIT_TIME, EDIT_PLACE = range(10, 12)


# --- formatting ----------------------------------------------------------------------------------


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

    def reminder(self, event: Event, language: str) -> str:
        _ = translator(language)
        return "⏰ " + escape(_("Reminder:")) + "\n\n" + self._card(event, language)

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
            + escape(_("An event you are going to has changed. Here are the new details:"))
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


# --- helpers -------------------------------------------------------------------------------------


async def is_coordinator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Read the role from the database now (not from the chat's cache)."""
    chat = update.effective_chat
    if chat is None:
        return False
    app = services(context)
    async with app.transaction() as session:
        role = await role_of(session, chat.id, app.settings.coordinator_ids)
    if context.chat_data is not None:
        context.chat_data["role"] = role
    return role == Role.COORDINATOR


async def _after_change(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-arm the reminder timer after an event was added or moved (the outbox wakes itself
    when the transaction that queued something commits)."""
    reminders = context.bot_data.get("reminders")
    if reminders is not None:
        await reminders.rearm()


def _event_id(data: str) -> int | None:
    parts = data.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


async def _say(update: Update, text: str, markup: Any = None) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(text, reply_markup=markup)


# --- /events -------------------------------------------------------------------------------------


async def events_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Upcoming events: RSVP buttons for families; counts, edit and cancel for coordinators."""
    who = await caller(update, context)
    _ = who._
    app = services(context)
    coordinator = await is_coordinator(update, context)
    now = utcnow()
    async with app.sessions() as session:
        chat = await session.get(Chat, who.chat_id)
        school_id = chat.school_id if chat is not None else None
        listed = await upcoming_events(
            session, now, school_id=school_id, every_school=coordinator, limit=EVENTS_SHOWN
        )
        ids = [event.id for event in listed]
        counts = await rsvp_counts(session, ids) if coordinator else {}
        answers = await rsvps_of(session, who.chat_id, ids)
        names = {school.id: school.name for school in await schools(session)} if coordinator else {}
    if not listed:
        hint = (
            _("Create one with /newevent.")
            if coordinator
            else _("I will tell you when there is one.")
        )
        await _say(
            update, escape(_("There are no upcoming events right now.")) + "\n" + escape(hint)
        )
        return
    if who.dialect is Dialect.SMS and not coordinator:  # one text; a number opens an event
        await _say(update, *_texted_list(listed, app.settings.zone, who))
        return
    await _say(update, escape(_("Upcoming events:")))
    for event in listed:
        if coordinator:
            audience_name = (
                names.get(event.school_id, event.school_id) if event.school_id else _("All schools")
            )
            text = event_card(
                event, app.settings.zone, who.language, counts.get(event.id), None, audience_name
            )
            await _say(update, text, coordinator_keyboard(event.id, _))
        else:
            chosen = answers.get(event.id)
            text = event_card(event, app.settings.zone, who.language, chosen=chosen)
            await _say(update, text, rsvp_keyboard(event.id, _, chosen, calendar=True))


def _texted_list(
    listed: Sequence[Event], zone: ZoneInfo, who: Caller
) -> tuple[str, InlineKeyboardMarkup]:
    """Upcoming events as one text message: a line each, a number to open one (and answer
    YES or NO there: several invitations in one text would make YES ambiguous)."""
    _ = who._
    lines = [_("Upcoming events:")]
    for number, event in enumerate(listed, start=1):
        when = format_when(event.starts_at, zone, who.language)
        lines.append(f"{number}. {one_line(event.title, MAX_TITLE)} - {when}")
    lines.append(_("Reply a number to answer or to get it for your calendar."))
    markup = keyboard([[button(str(n), "ev", str(e.id))] for n, e in enumerate(listed, start=1)])
    return escape("\n".join(lines)), markup


async def show_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One event (from search results): the card with RSVP buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    event_id = _event_id(query.data)
    app = services(context)
    async with app.sessions() as session:
        event = await session.get(Event, event_id) if event_id is not None else None
        chosen = (await rsvps_of(session, who.chat_id, [event.id])).get(event.id) if event else None
    if event is None or event.cancelled_at is not None:
        await _say(update, escape(who._("Sorry, that event was cancelled.")))
        return
    text = event_card(event, app.settings.zone, who.language, chosen=chosen)
    await _say(update, text, rsvp_keyboard(event.id, who._, chosen, calendar=True))


async def send_calendar_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The event's .ics file, to add it to the phone's calendar."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    event_id = _event_id(query.data)
    app = services(context)
    async with app.sessions() as session:
        event = await session.get(Event, event_id) if event_id is not None else None
    message = update.effective_message
    assert message is not None
    if event is None or event.cancelled_at is not None:
        await _say(update, escape(who._("Sorry, that event was cancelled.")))
        return
    await message.reply_document(
        document=event_ics(event, app.settings.zone),
        filename=ics_filename(event),
        caption=escape(who._("Open the file to add it to your calendar.")),
    )


async def rsvp(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Going / Can't go: store the answer (changing it is fine) and mark the chosen button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    _ = who._
    _prefix, event_text, vote = query.data.split(":")
    going = vote == "1"
    app = services(context)
    async with app.transaction() as session:
        event = await session.get(Event, int(event_text))
        if event is None or event.cancelled_at is not None:
            await query.answer(_("Sorry, that event was cancelled."))
            return
        if event.starts_at <= utcnow():
            await query.answer(_("This event has already started."))
            return
        await get_chat(session, who.chat_id, who.language)
        await set_rsvp(session, event.id, who.chat_id, going)
    await query.answer(_("See you there!") if going else _("Thanks for letting us know."))
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return
    calendar = any(
        (b.callback_data or "").startswith("evi:") for row in markup.inline_keyboard for b in row
    )
    try:
        await query.edit_message_reply_markup(
            reply_markup=rsvp_keyboard(event.id, _, going, calendar=calendar)
        )
    except BadRequest as error:  # the same answer twice: nothing to change
        if "not modified" not in str(error).lower():
            raise


# --- coordinator actions on an event -------------------------------------------------------------


async def manage_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Edit or cancel an event (coordinators; checked on every press)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    _ = who._
    if not await is_coordinator(update, context):
        await query.answer(_("Only coordinators can do that."), show_alert=True)
        return
    await query.answer()
    parts = query.data.split(":")
    event_id, action = int(parts[1]), parts[2] if len(parts) > 2 else ""
    app = services(context)
    async with app.sessions() as session:
        event = await session.get(Event, event_id)
    if event is None:
        await _say(update, escape(_("Sorry, I can't find that event any more.")))
        return
    if event.cancelled_at is not None:
        await _say(update, escape(_("That event is already cancelled.")))
        return
    card = event_card(event, app.settings.zone, who.language)
    if action == "edit":
        await _say(
            update,
            card + "\n\n" + escape(_("What do you want to change?")),
            keyboard(
                [
                    [
                        button("🕘 " + _("Date and time"), "eve", str(event_id), "time"),
                        button("📍 " + _("Place"), "eve", str(event_id), "place"),
                    ]
                ]
            ),
        )
    elif action == "cancel":
        await _say(
            update,
            card + "\n\n" + escape(_("Cancel this event? Families who said Going will be told.")),
            keyboard(
                [
                    [
                        button("🚫 " + _("Yes, cancel it"), "evm", str(event_id), "cancel!"),
                        button(_("No, keep it"), "evm", str(event_id), "keep"),
                    ]
                ]
            ),
        )
    elif action == "cancel!":
        await _cancel(update, context, who, event_id)
    elif action == "keep":
        await query.edit_message_text(card + "\n\n" + escape(_("OK, the event stays.")))


async def _cancel(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, event_id: int
) -> None:
    _ = who._
    app = services(context)
    async with app.transaction() as session:
        event = await cancel_event(session, event_id)
        told = 0
        if event is not None:
            told = await notify_going(
                session,
                event,
                ChatEventTexts(app.settings.zone),
                app.settings.zone,
                cancelled=True,
                created_by=who.chat_id,
            )
            await bump_content_version(session)
    if event is None:
        await _say(update, escape(_("That event is already cancelled.")))
        return
    await _after_change(context)
    query = update.callback_query
    text = escape(
        _(
            "Cancelled: “{title}”. Its reminders are off, and I am telling the families who said "
            "Going ({count})."
        ).format(title=one_line(event.title, MAX_TITLE), count=told)
    )
    if query is not None:
        await query.edit_message_text(text)
    else:
        await _say(update, text)


# --- editing time or place (a small conversation) ------------------------------------------------


async def start_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Ask for the new date and time, or the new place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    _ = who._
    if not await is_coordinator(update, context):
        await query.answer(_("Only coordinators can do that."), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    _prefix, event_text, what = query.data.split(":")
    assert context.user_data is not None
    context.user_data["edit_event"] = int(event_text)
    if what == "time":
        await _say(
            update,
            escape(
                _("Send the new date and time, for example {example}.").format(
                    example=_example(context)
                )
            )
            + "\n"
            + escape(_("Or /cancel to stop.")),
        )
        return EDIT_TIME
    await _say(update, escape(_("Send the new place.")) + "\n" + escape(_("Or /cancel to stop.")))
    return EDIT_PLACE


async def edited_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Move the event; reminders follow; families who said Going are told."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    _ = who._
    zone = services(context).settings.zone
    day, clock, until = parse_when(message.text, _today(zone), who.language)
    if day is None or clock is None:
        await _say(
            update,
            escape(
                _("I didn't understand that. Send the date and time like {example}.").format(
                    example=_example(context)
                )
            ),
        )
        return EDIT_TIME
    starts, ends = event_times(day, clock, until, zone)
    if starts <= utcnow():
        await _say(update, escape(_("That time has already passed. Send a later one.")))
        return EDIT_TIME
    return await _save_edit(update, context, who, starts=starts, ends=ends)


async def edited_place(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    return await _save_edit(update, context, who, where=message.text.strip()[:MAX_PLACE])


async def _save_edit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    starts: datetime | None = None,
    ends: datetime | None = None,
    where: str | None = None,
) -> int:
    _ = who._
    if not await is_coordinator(update, context):
        await _say(update, escape(_("Only coordinators can do that.")))
        return ConversationHandler.END
    assert context.user_data is not None
    event_id = context.user_data.pop("edit_event", None)
    app = services(context)
    async with app.transaction() as session:
        event = await session.get(Event, event_id) if event_id is not None else None
        if event is None or event.cancelled_at is not None:
            await _say(update, escape(_("Sorry, I can't find that event any more.")))
            return ConversationHandler.END
        await reschedule_event(session, event, starts_at=starts, ends_at=ends, where=where)
        told = await notify_going(
            session,
            event,
            ChatEventTexts(app.settings.zone),
            app.settings.zone,
            cancelled=False,
            created_by=who.chat_id,
        )
        await bump_content_version(session)
    await _after_change(context)
    await _say(
        update,
        escape(_("Saved. I am telling the families who said Going ({count}).").format(count=told))
        + "\n\n"
        + event_card(event, app.settings.zone, who.language),
        coordinator_keyboard(event.id, _),
    )
    return ConversationHandler.END


async def stop_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel while editing: nothing changes."""
    who = await caller(update, context)
    if context.user_data is not None:
        context.user_data.pop("edit_event", None)
    await _say(update, escape(who._("OK, nothing changed.")))
    return ConversationHandler.END


# --- reading dates and times ---------------------------------------------------------------------

_TIME = re.compile(
    r"^(\d{1,2})(?:[:.h](\d{2})(?::(\d{2}))?)?\s*(a\.?\s?m\.?|p\.?\s?m\.?|h)?$", re.IGNORECASE
)
# "18:00-20:00", "6 to 8 pm", "18 a 20 h" (but not the "a" of "a.m.")
_RANGE = re.compile(r"\s*[-–—]\s*|\s+(?:to|until|hasta|a)\s+(?!m\b|\.)", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?$")
_TODAY = {"today", "hoy"}
_TOMORROW = {"tomorrow", "mañana", "manana"}


def parse_time(text: str) -> time | None:
    """ "18:00", "6pm", "6:30 pm", "18h", "9.15" -> time; None if it is not a time."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute, second = (int(match.group(i) or 0) for i in (1, 2, 3))
    suffix = (match.group(4) or "").lower().replace(".", "").replace(" ", "")
    if match.group(2) is None and not suffix:
        return None  # a bare number is not a time
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_date(text: str, today: date, language: str) -> date | None:
    """ "2026-12-03", "12/3" (English) or "3/12" (Spanish), "today", "tomorrow"."""
    text = text.strip().lower().rstrip(",")
    if text in _TODAY:
        return today
    if text in _TOMORROW:
        return today + timedelta(days=1)
    try:
        match = _ISO_DATE.match(text)
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _SLASH_DATE.match(text)
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            english = supported_language(language) == "en"
            month, day = (first, second) if english else (second, first)
            if match.group(3):
                year = int(match.group(3))
                return date(year + 2000 if year < 100 else year, month, day)
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None
    return None


def parse_hours(text: str) -> tuple[time, time | None] | None:
    """ "18:00" -> (18:00, None); "18:00-20:00", "6-8pm", "6 pm to 8 pm", "18 a 20h" -> (start,
    end); None if it is not a time."""
    parts = _RANGE.split(text.strip(), maxsplit=1)
    if len(parts) == 1:
        start = parse_time(text)
        return (start, None) if start is not None else None
    first, second = parts
    end = parse_time(second)
    if end is None:
        return None
    start = parse_time(first)
    first_match, second_match = _TIME.match(first.strip()), _TIME.match(second.strip())
    end_suffix = (second_match.group(4) or "") if second_match else ""
    evening = end_suffix.lower().startswith("p")
    if start is None and end_suffix:  # "6-8pm": the start takes the end's pm
        start = parse_time(f"{first} {end_suffix}")
        if start is not None and start > end and evening:
            start = parse_time(f"{first} am")  # "11-1pm" starts in the morning
    elif start is not None and evening and first_match and not first_match.group(4):
        later = time(start.hour + 12, start.minute) if start.hour < 12 else start
        start = later if later < end else start  # "6:30-8pm" is the evening, "9-5pm" is not
    return (start, end) if start is not None else None


def parse_when(
    text: str, today: date, language: str
) -> tuple[date | None, time | None, time | None]:
    """A date, maybe then a time or hours: "2026-12-03 18:00", "12/3 6-8 pm",
    "2026-12-03T18:00" -> (day, start, end)."""
    text = " ".join(re.sub(r"^(\d{4}-\d{1,2}-\d{1,2})T", r"\1 ", text.strip()).split())
    day = parse_date(text, today, language)
    if day is not None:
        return day, None, None
    words = text.split()
    for size in range(1, 6):
        if len(words) > size:
            hours = parse_hours(" ".join(words[-size:]))
            day = parse_date(" ".join(words[:-size]), today, language)
            if hours is not None and day is not None:
                return day, *hours
    return None, None, None


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


def _today(zone: ZoneInfo) -> date:
    return utcnow().astimezone(zone).date()


def _example(context: ContextTypes.DEFAULT_TYPE) -> str:
    zone = services(context).settings.zone
    return f"{_today(zone) + timedelta(days=7):%Y-%m-%d} 18:00"


# --- /newevent -----------------------------------------------------------------------------------


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data.setdefault("new_event", {})  # type: ignore[no-any-return]


async def new_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Start: ask for the title (coordinators only)."""
    who = await caller(update, context)
    _ = who._
    if not await is_coordinator(update, context):
        await _say(update, escape(_("Only coordinators can create events.")))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["new_event"] = {"offsets": sorted(DEFAULT_REMINDER_CHOICES, reverse=True)}
    await _say(
        update,
        escape(_("Let's create an event. What is it called?"))
        + "\n"
        + escape(_("You can stop at any time with /cancel.")),
    )
    return TITLE


async def got_title(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    title = " ".join(message.text.split())[:MAX_TITLE]
    if not title:
        await _say(update, escape(who._("Please send the event's name.")))
        return TITLE
    _draft(context)["title"] = title
    await _ask_date(update, context, who)
    return DATE


async def _ask_date(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    _ = who._
    today = _today(services(context).settings.zone)
    days = [today + timedelta(days=n) for n in range(8)]
    labels = [_("Today"), _("Tomorrow")] + [format_day(d, who.language) for d in days[2:]]
    buttons = [
        button(label, "ne", "d", d.isoformat()) for label, d in zip(labels, days, strict=True)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await _say(
        update,
        escape(
            _("Which day? Pick one, or type the date like {example}.").format(
                example=f"{today + timedelta(days=14):%Y-%m-%d}"
            )
        ),
        keyboard(rows),
    )


async def picked_date(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    day = date.fromisoformat(query.data.split(":")[2])
    _draft(context)["date"] = day.isoformat()
    await query.edit_message_text(
        escape(who._("Day: {day}").format(day=format_day(day, who.language)))
    )
    await _ask_time(update, who)
    return TIME


async def typed_date(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    _ = who._
    zone = services(context).settings.zone
    day, clock, until = parse_when(message.text, _today(zone), who.language)
    if day is None:
        await _say(
            update,
            escape(
                _("I didn't understand that date. Pick a day, or type it like {example}.").format(
                    example=f"{_today(zone) + timedelta(days=14):%Y-%m-%d}"
                )
            ),
        )
        return DATE
    if day < _today(zone):
        await _say(update, escape(_("That day has already passed. Pick a later one.")))
        return DATE
    _draft(context)["date"] = day.isoformat()
    if clock is not None:
        return await _set_time(update, context, who, clock, until)
    await _ask_time(update, who)
    return TIME


async def _ask_time(update: Update, who: Caller) -> None:
    _ = who._
    buttons = [button(label, "ne", "t", label.replace(":", "")) for label in TIME_CHOICES]
    await _say(
        update,
        escape(_("What time does it start? Pick one, or type it like 18:30, or 18:00-20:00.")),
        keyboard([buttons[:4], buttons[4:]]),
    )


async def picked_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    raw = query.data.split(":")[2]
    clock = time(int(raw[:2]), int(raw[2:]))
    await query.edit_message_text(escape(who._("Time: {time}").format(time=f"{clock:%H:%M}")))
    return await _set_time(update, context, who, clock)


async def typed_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    hours = parse_hours(message.text)
    if hours is None:
        await _say(
            update,
            escape(who._("I didn't understand that time. Type it like 18:30, or 18:00-20:00.")),
        )
        return TIME
    return await _set_time(update, context, who, *hours)


async def _set_time(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    clock: time,
    until: time | None = None,
) -> int:
    _ = who._
    draft = _draft(context)
    zone = services(context).settings.zone
    starts, ends = event_times(date.fromisoformat(draft["date"]), clock, until, zone)
    if starts <= utcnow():
        await _say(update, escape(_("That time has already passed. Pick a later one.")))
        await _ask_date(update, context, who)
        return DATE
    draft["starts"] = starts.isoformat()
    draft["ends"] = ends.isoformat() if ends is not None else None
    await _say(
        update,
        escape(_("Where is it? Type the place, or skip.")),
        keyboard([[button("⏭ " + _("No place"), "ne", "p", "skip")]]),
    )
    return PLACE


async def typed_place(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _draft(context)["where"] = " ".join(message.text.split())[:MAX_PLACE]
    return await _ask_audience(update, context)


async def skipped_place(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    who = await caller(update, context)
    _draft(context)["where"] = None
    await query.edit_message_text(escape(who._("Place: none")))
    return await _ask_audience(update, context)


async def _ask_audience(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    who = await caller(update, context)
    _ = who._
    async with services(context).sessions() as session:
        found = await schools(session)
    draft = _draft(context)
    draft["schools"] = [(school.id, school.name) for school in found]
    if not found:
        draft["school"] = None
        return await _ask_reminders(update, context, who)
    rows = [[button("🏫 " + _("All schools"), "ne", "a", "all")]]
    rows += [[button(one_line(s.name, 40), "ne", "a", str(i))] for i, s in enumerate(found)]
    await _say(update, escape(_("Who is it for?")), keyboard(rows))
    return AUDIENCE


async def picked_audience(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    draft = _draft(context)
    choice = query.data.split(":")[2]
    known = draft.get("schools") or []
    if choice.isdigit() and int(choice) < len(known):
        draft["school"], name = known[int(choice)]
    else:
        draft["school"], name = None, who._("All schools")
    await query.edit_message_text(escape(who._("For: {audience}").format(audience=name)))
    return await _ask_reminders(update, context, who)


def _reminder_keyboard(selected: Sequence[int], _: Translate) -> InlineKeyboardMarkup:
    buttons = [
        button(
            ("✅ " if minutes in selected else "▫️ ") + offset_label(minutes, _),
            "ne",
            "r",
            str(minutes),
        )
        for minutes in REMINDER_CHOICES
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button("✔️ " + _("Done"), "ne", "r", "done")])
    return keyboard(rows)


async def _ask_reminders(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> int:
    _ = who._
    await _say(
        update,
        escape(
            _(
                "When should I remind families? Tap to choose, then Done. "
                "Or type times like 1d,1h,10m."
            )
        ),
        _reminder_keyboard(_draft(context)["offsets"], _),
    )
    return REMINDERS


async def toggled_reminder(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    draft = _draft(context)
    value = query.data.split(":")[2]
    if value == "done":
        await query.edit_message_reply_markup(reply_markup=None)
        return await _ask_confirm(update, context, who)
    minutes = int(value)
    selected = set(draft["offsets"])
    selected ^= {minutes}
    draft["offsets"] = sorted(selected, reverse=True)
    await query.edit_message_reply_markup(reply_markup=_reminder_keyboard(draft["offsets"], who._))
    return REMINDERS


async def typed_reminders(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    text = message.text.strip()
    if text.lower() in ("none", "no", "ninguno", "0"):
        offsets: list[timedelta] = []
    else:
        try:
            offsets = parse_offsets(text)
        except ValueError:
            await _say(
                update,
                escape(
                    who._(
                        "I didn't understand that. Type reminder times like 1d,1h,10m, "
                        "or tap the buttons."
                    )
                ),
            )
            return REMINDERS
    _draft(context)["offsets"] = sorted(
        {int(o.total_seconds() // 60) for o in offsets}, reverse=True
    )
    return await _ask_confirm(update, context, who)


def _draft_end(draft: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(draft["ends"]) if draft.get("ends") else None


def _kept_offsets(draft: dict[str, Any]) -> list[int]:
    """The chosen reminders that are still ahead (a reminder already late is not useful)."""
    starts = datetime.fromisoformat(draft["starts"])
    now = utcnow()
    return [m for m in draft["offsets"] if starts - timedelta(minutes=m) > now]


async def _ask_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> int:
    _ = who._
    draft = _draft(context)
    zone = services(context).settings.zone
    starts = datetime.fromisoformat(draft["starts"])
    school_name = next((n for i, n in draft.get("schools") or [] if i == draft.get("school")), None)
    kept = _kept_offsets(draft)
    lines = [
        escape(_("Please check the event:")),
        "",
        f"📅 <b>{escape(draft['title'])}</b>",
        "🕘 " + escape(format_when(starts, zone, who.language, _draft_end(draft))),
    ]
    if draft.get("where"):
        lines.append("📍 " + escape(draft["where"]))
    lines.append("👥 " + escape(school_name or _("All schools")))
    reminders = ", ".join(offset_label(m, _) for m in kept) or _("no reminders")
    lines.append("⏰ " + escape(_("Reminders: {reminders}").format(reminders=reminders)))
    late = [offset_label(m, _) for m in draft["offsets"] if m not in kept]
    if late:
        lines.append(escape(_("Too late for: {reminders}.").format(reminders=", ".join(late))))
    await _say(
        update,
        "\n".join(lines),
        keyboard(
            [
                [
                    button("✅ " + _("Create and announce"), "ne", "c", "yes"),
                    button("✖️ " + _("Cancel"), "ne", "c", "no"),
                ]
            ]
        ),
    )
    return CONFIRM


async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Create the event and queue its announcement in one transaction."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _ = who._
    draft = _draft(context)
    if query.data.endswith(":no") or "starts" not in draft:
        context.user_data.pop("new_event", None)  # type: ignore[union-attr]
        await query.edit_message_text(escape(_("OK, I dropped the new event.")))
        return ConversationHandler.END
    if not await is_coordinator(update, context):
        await query.edit_message_text(escape(_("Only coordinators can create events.")))
        return ConversationHandler.END
    app = services(context)
    zone = app.settings.zone
    starts = datetime.fromisoformat(draft["starts"])
    if starts <= utcnow():
        await query.edit_message_text(
            escape(_("That time has already passed. Start again with /newevent."))
        )
        return ConversationHandler.END
    async with app.transaction() as session:
        event = await create_event(
            session,
            title=draft["title"],
            starts_at=starts,
            ends_at=_draft_end(draft),
            where=draft.get("where"),
            school_id=draft.get("school"),
            created_by=who.chat_id,
            reminders=[timedelta(minutes=m) for m in _kept_offsets(draft)],
        )
        count = await announce_event(
            session, event, ChatEventTexts(zone), zone, created_by=who.chat_id
        )
        await bump_content_version(session)
    context.user_data.pop("new_event", None)  # type: ignore[union-attr]
    await _after_change(context)
    await query.edit_message_reply_markup(reply_markup=None)
    await _say(
        update,
        escape(_("Done! I am announcing it. Families it will reach: {count}.").format(count=count))
        + "\n\n"
        + event_card(event, zone, who.language),
        coordinator_keyboard(event.id, _),
    )
    return ConversationHandler.END


async def stop_new_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel: drop the draft."""
    who = await caller(update, context)
    if context.user_data is not None:
        context.user_data.pop("new_event", None)
    await _say(update, escape(who._("OK, I dropped the new event.")))
    return ConversationHandler.END


# --- the conversations, as the application registers them ----------------------------------------


def _text() -> filters.BaseFilter:
    return filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE


def new_event_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """/newevent: title, day, time, place, audience, reminders, confirm."""
    with warnings.catch_warnings():  # per_message=False with buttons is intended here
        warnings.filterwarnings("ignore", message=".*per_message.*")
        return ConversationHandler(
            entry_points=[CommandHandler("newevent", new_event, filters=filters.ChatType.PRIVATE)],
            states={
                TITLE: [MessageHandler(_text(), got_title)],
                DATE: [
                    CallbackQueryHandler(picked_date, pattern=r"^ne:d:\d{4}-\d{2}-\d{2}$"),
                    MessageHandler(_text(), typed_date),
                ],
                TIME: [
                    CallbackQueryHandler(picked_time, pattern=r"^ne:t:\d{4}$"),
                    MessageHandler(_text(), typed_time),
                ],
                PLACE: [
                    CallbackQueryHandler(skipped_place, pattern=r"^ne:p:skip$"),
                    MessageHandler(_text(), typed_place),
                ],
                AUDIENCE: [CallbackQueryHandler(picked_audience, pattern=r"^ne:a:")],
                REMINDERS: [
                    CallbackQueryHandler(toggled_reminder, pattern=r"^ne:r:(\d+|done)$"),
                    MessageHandler(_text(), typed_reminders),
                ],
                CONFIRM: [CallbackQueryHandler(confirmed, pattern=r"^ne:c:(yes|no)$")],
            },
            fallbacks=[CommandHandler("cancel", stop_new_event)],
            allow_reentry=True,
            name="new_event",
        )


def edit_event_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """Edit time/place: a button, then one typed answer."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message.*")
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(start_edit, pattern=r"^eve:\d+:(time|place)$")],
            states={
                EDIT_TIME: [MessageHandler(_text(), edited_time)],
                EDIT_PLACE: [MessageHandler(_text(), edited_place)],
            },
            fallbacks=[CommandHandler("cancel", stop_edit)],
            allow_reentry=True,
            name="edit_event",
        )
