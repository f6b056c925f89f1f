"""/newevent: a coordinator creates an event step by step (title, day, time, place, audience,
reminders), checks it, and it is created and announced in one transaction.

Callback data: ne:<step>:<value>. The role is checked at the start and again on confirming.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.handlers.event_admin import after_change, is_coordinator, local_today, private_text, say
from bot.handlers.event_cards import (
    MAX_PLACE,
    MAX_TITLE,
    ChatEventTexts,
    coordinator_keyboard,
    event_card,
    format_day,
    format_when,
    offset_label,
)
from bot.i18n import Translate
from bot.render import button, escape, keyboard, one_line
from bot.services import Caller, caller, services
from jobs.reminders import announce_event
from knowledge.content import bump_content_version
from knowledge.dates import event_times, parse_when, read_hours
from knowledge.events import create_event, parse_offsets
from knowledge.models import utcnow
from knowledge.subscriptions import schools

# Reminder choices offered as buttons, in minutes before the start.
REMINDER_CHOICES = (7 * 1440, 2 * 1440, 1440, 180, 60, 30, 10)
DEFAULT_REMINDER_CHOICES = frozenset({1440, 60})
TIME_CHOICES = ("09:00", "12:00", "15:00", "16:00", "17:00", "17:30", "18:00", "19:00")

TITLE, DATE, TIME, PLACE, AUDIENCE, REMINDERS, CONFIRM = range(7)


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data.setdefault("new_event", {})  # type: ignore[no-any-return]


async def new_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Start: ask for the title (coordinators only)."""
    who = await caller(update, context)
    _ = who._
    if not await is_coordinator(update, context):
        await say(update, escape(_("Only coordinators can create events.")))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["new_event"] = {"offsets": sorted(DEFAULT_REMINDER_CHOICES, reverse=True)}
    await say(
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
        await say(update, escape(who._("Please send the event's name.")))
        return TITLE
    _draft(context)["title"] = title
    await _ask_date(update, context, who)
    return DATE


async def _ask_date(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    _ = who._
    today = local_today(services(context).settings.zone)
    days = [today + timedelta(days=n) for n in range(8)]
    labels = [_("Today"), _("Tomorrow")] + [format_day(d, who.language) for d in days[2:]]
    buttons = [
        button(label, "ne", "d", d.isoformat()) for label, d in zip(labels, days, strict=True)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await say(
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
    day, clock, until = parse_when(message.text, local_today(zone), who.language)
    if day is None:
        await say(
            update,
            escape(
                _("I didn't understand that date. Pick a day, or type it like {example}.").format(
                    example=f"{local_today(zone) + timedelta(days=14):%Y-%m-%d}"
                )
            ),
        )
        return DATE
    if day < local_today(zone):
        await say(update, escape(_("That day has already passed. Pick a later one.")))
        return DATE
    _draft(context)["date"] = day.isoformat()
    if clock is not None:
        return await _set_time(update, context, who, clock, until)
    await _ask_time(update, who)
    return TIME


async def _ask_time(update: Update, who: Caller) -> None:
    _ = who._
    buttons = [button(label, "ne", "t", label.replace(":", "")) for label in TIME_CHOICES]
    await say(
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
    hours = read_hours(message.text)
    if hours is None:
        await say(
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
        await say(update, escape(_("That time has already passed. Pick a later one.")))
        await _ask_date(update, context, who)
        return DATE
    draft["starts"] = starts.isoformat()
    draft["ends"] = ends.isoformat() if ends is not None else None
    await say(
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
    await say(update, escape(_("Who is it for?")), keyboard(rows))
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
    await say(
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
            await say(
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
    await say(
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
    await after_change(context)
    await query.edit_message_reply_markup(reply_markup=None)
    await say(
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
    await say(update, escape(who._("OK, I dropped the new event.")))
    return ConversationHandler.END


# --- the conversation, as the application registers it -------------------------------------------


def new_event_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """/newevent: title, day, time, place, audience, reminders, confirm."""
    with warnings.catch_warnings():  # per_message=False with buttons is intended here
        warnings.filterwarnings("ignore", message=".*per_message.*")
        return ConversationHandler(
            entry_points=[CommandHandler("newevent", new_event, filters=filters.ChatType.PRIVATE)],
            states={
                TITLE: [MessageHandler(private_text(), got_title)],
                DATE: [
                    CallbackQueryHandler(picked_date, pattern=r"^ne:d:\d{4}-\d{2}-\d{2}$"),
                    MessageHandler(private_text(), typed_date),
                ],
                TIME: [
                    CallbackQueryHandler(picked_time, pattern=r"^ne:t:\d{4}$"),
                    MessageHandler(private_text(), typed_time),
                ],
                PLACE: [
                    CallbackQueryHandler(skipped_place, pattern=r"^ne:p:skip$"),
                    MessageHandler(private_text(), typed_place),
                ],
                AUDIENCE: [CallbackQueryHandler(picked_audience, pattern=r"^ne:a:")],
                REMINDERS: [
                    CallbackQueryHandler(toggled_reminder, pattern=r"^ne:r:(\d+|done)$"),
                    MessageHandler(private_text(), typed_reminders),
                ],
                CONFIRM: [CallbackQueryHandler(confirmed, pattern=r"^ne:c:(yes|no)$")],
            },
            fallbacks=[CommandHandler("cancel", stop_new_event)],
            allow_reentry=True,
            name="new_event",
        )
