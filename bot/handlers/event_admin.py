"""Coordinators acting on an event: the edit/cancel menu under an event card, and the small
conversation that moves it or changes its place. Whoever heard of the event (its announcement,
a change notice, or Going) is told of the change, through the outbox.

Callback data: evm:<event>:<edit|cancel|cancel!|keep> (the menu), eve:<event>:<time|place> (the
edit conversation). The role is read from the database on every coordinator action.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.handlers.event_cards import (
    MAX_PLACE,
    MAX_TITLE,
    ChatEventTexts,
    coordinator_keyboard,
    event_card,
)
from bot.render import button, escape, keyboard, one_line
from bot.services import Caller, caller, current_role, services
from jobs.reminders import notify_told
from knowledge.calendar import (
    cancel_event,
    reschedule_event,
)
from knowledge.content import bump_content_version
from knowledge.dates import event_times, parse_when
from knowledge.models import Event, Role, utcnow

EDIT_TIME, EDIT_PLACE = range(10, 12)


# --- helpers the event handlers share ------------------------------------------------------------


async def is_coordinator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Read the role from the database now (not from the chat's cache)."""
    return await current_role(update, context) == Role.COORDINATOR


async def after_change(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-arm the reminder timer after an event was added or moved (the outbox wakes itself
    when the transaction that queued something commits)."""
    reminders = context.bot_data.get("reminders")
    if reminders is not None:
        await reminders.rearm()


def event_id_of(data: str) -> int | None:
    parts = data.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


async def say(update: Update, text: str, markup: Any = None) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(text, reply_markup=markup)


def private_text() -> filters.BaseFilter:
    return filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE


def local_today(zone: ZoneInfo) -> date:
    return utcnow().astimezone(zone).date()


def example(context: ContextTypes.DEFAULT_TYPE) -> str:
    zone = services(context).settings.zone
    return f"{local_today(zone) + timedelta(days=7):%Y-%m-%d} 18:00"


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
        await say(update, escape(_("Sorry, I can't find that event any more.")))
        return
    if event.cancelled_at is not None:
        await say(update, escape(_("That event is already cancelled.")))
        return
    card = event_card(event, app.settings.zone, who.language)
    if action == "edit":
        await say(
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
        await say(
            update,
            card
            + "\n\n"
            + escape(_("Cancel this event? Everyone who was told about it will be told.")),
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
            told = await notify_told(
                session,
                event,
                ChatEventTexts(app.settings.zone),
                app.settings.zone,
                cancelled=True,
                created_by=who.chat_id,
            )
            await bump_content_version(session)
    if event is None:
        await say(update, escape(_("That event is already cancelled.")))
        return
    await after_change(context)
    query = update.callback_query
    text = escape(
        _(
            "Cancelled: “{title}”. Its reminders are off, and I am telling the families who "
            "heard about it ({count})."
        ).format(title=one_line(event.title, MAX_TITLE), count=told)
    )
    if query is not None:
        await query.edit_message_text(text)
    else:
        await say(update, text)


# --- editing time or place (a small conversation) ----------------------------------------


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
        await say(
            update,
            escape(
                _("Send the new date and time, for example {example}.").format(
                    example=example(context)
                )
            )
            + "\n"
            + escape(_("Or /cancel to stop.")),
        )
        return EDIT_TIME
    await say(update, escape(_("Send the new place.")) + "\n" + escape(_("Or /cancel to stop.")))
    return EDIT_PLACE


async def edited_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Move the event; reminders follow; whoever heard of it is told."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    _ = who._
    zone = services(context).settings.zone
    day, clock, until = parse_when(message.text, local_today(zone), who.language)
    if day is None or clock is None:
        await say(
            update,
            escape(
                _("I didn't understand that. Send the date and time like {example}.").format(
                    example=example(context)
                )
            ),
        )
        return EDIT_TIME
    starts, ends = event_times(day, clock, until, zone)
    if starts <= utcnow():
        await say(update, escape(_("That time has already passed. Send a later one.")))
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
        await say(update, escape(_("Only coordinators can do that.")))
        return ConversationHandler.END
    assert context.user_data is not None
    event_id = context.user_data.pop("edit_event", None)
    app = services(context)
    async with app.transaction() as session:
        event = await session.get(Event, event_id) if event_id is not None else None
        if event is None or event.cancelled_at is not None:
            await say(update, escape(_("Sorry, I can't find that event any more.")))
            return ConversationHandler.END
        await reschedule_event(session, event, starts_at=starts, ends_at=ends, where=where)
        told = await notify_told(
            session,
            event,
            ChatEventTexts(app.settings.zone),
            app.settings.zone,
            cancelled=False,
            created_by=who.chat_id,
        )
        await bump_content_version(session)
    await after_change(context)
    await say(
        update,
        escape(
            _("Saved. I am telling the families who heard about it ({count}).").format(count=told)
        )
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
    await say(update, escape(who._("OK, nothing changed.")))
    return ConversationHandler.END


# --- the conversation, as the application registers it -------------------------------------------


def edit_event_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """Edit time/place: a button, then one typed answer."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message.*")
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(start_edit, pattern=r"^eve:\d+:(time|place)$")],
            states={
                EDIT_TIME: [MessageHandler(private_text(), edited_time)],
                EDIT_PLACE: [MessageHandler(private_text(), edited_place)],
            },
            fallbacks=[CommandHandler("cancel", stop_edit)],
            allow_reentry=True,
            name="edit_event",
        )
