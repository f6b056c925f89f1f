"""Events as families meet them: /events, an event opened from search results, the .ics file,
and the Going / Can't go buttons. (Coordinators: bot/handlers/new_event.py creates events,
bot/handlers/event_admin.py edits and cancels them; event_cards.py is how they read.)

Callback data: rsvp:<event>:<1|0>, ev:<event> (show), evi:<event> (.ics file).
Announcements, reminders and notices go through the outbox (jobs.outbox), never from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.handlers.event_admin import event_id_of, is_coordinator, say
from bot.handlers.event_cards import (
    MAX_TITLE,
    coordinator_keyboard,
    event_card,
    format_when,
    rsvp_keyboard,
)
from bot.render import button, escape, keyboard, one_line
from bot.services import Caller, Dialect, caller, services
from knowledge.calendar import (
    event_ics,
    ics_filename,
    rsvp_counts,
    rsvps_of,
    set_rsvp,
    upcoming_events,
)
from knowledge.chats import get_chat
from knowledge.models import Chat, Event, utcnow
from knowledge.subscriptions import schools

EVENTS_SHOWN = 8


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
        await say(
            update, escape(_("There are no upcoming events right now.")) + "\n" + escape(hint)
        )
        return
    if who.dialect is Dialect.SMS and not coordinator:  # one text; a number opens an event
        await say(update, *_texted_list(listed, app.settings.zone, who))
        return
    await say(update, escape(_("Upcoming events:")))
    for event in listed:
        if coordinator:
            audience_name = (
                names.get(event.school_id, event.school_id) if event.school_id else _("All schools")
            )
            text = event_card(
                event, app.settings.zone, who.language, counts.get(event.id), None, audience_name
            )
            await say(update, text, coordinator_keyboard(event.id, _))
        else:
            chosen = answers.get(event.id)
            text = event_card(event, app.settings.zone, who.language, chosen=chosen)
            await say(update, text, rsvp_keyboard(event.id, _, chosen, calendar=True))


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
    event_id = event_id_of(query.data)
    app = services(context)
    async with app.sessions() as session:
        event = await session.get(Event, event_id) if event_id is not None else None
        chosen = (await rsvps_of(session, who.chat_id, [event.id])).get(event.id) if event else None
    if event is None or event.cancelled_at is not None:
        await say(update, escape(who._("Sorry, that event was cancelled.")))
        return
    text = event_card(event, app.settings.zone, who.language, chosen=chosen)
    await say(update, text, rsvp_keyboard(event.id, who._, chosen, calendar=True))


async def send_calendar_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The event's .ics file, to add it to the phone's calendar."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    event_id = event_id_of(query.data)
    app = services(context)
    async with app.sessions() as session:
        event = await session.get(Event, event_id) if event_id is not None else None
    message = update.effective_message
    assert message is not None
    if event is None or event.cancelled_at is not None:
        await say(update, escape(who._("Sorry, that event was cancelled.")))
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
