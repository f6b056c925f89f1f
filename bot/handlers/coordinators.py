"""Roles, subscriptions and broadcasts: /subscribe, /unsubscribe (/stop), /invite, /join,
/broadcast, and their buttons.

Every coordinator action, button presses included, reads the role from the database
(`_role`), never from the client or a cache: callback data can be forged. Broadcast buttons
carry only the id of a draft stored server-side: ``bc:to:<draft>:<school|all>``,
``bc:send:<draft>``, ``bc:cancel:<draft>``; school choices are ``sub:<school|all>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.handlers import partners
from bot.i18n import Translate, translator
from bot.render import button, escape, keyboard
from bot.services import Caller, caller, current_role, services
from jobs.outbox import BROADCAST, Progress, discard_draft, get_draft, save_draft, send_draft
from knowledge.models import Role
from knowledge.roles import (
    INVITABLE,
    create_invitation,
    display_code,
    invitation_organization,
    redeem_invitation,
)
from knowledge.subscriptions import (
    School,
    choose_school,
    count_subscribers,
    schools,
    subscribe,
    subscriber_ids,
    unsubscribe,
)
from knowledge.text import short_hash

# The preview shows a header above the text; both must fit one 4096-character message.
MAX_BROADCAST = 3500
ALL = "all"
WRITING = 0  # /broadcast's one state: the next message is the announcement
_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?\s*")


def number(value: int, language: str) -> str:
    return format_decimal(value, locale=language)


async def _role(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Role:
    """The user's role, read from the database now (and the handlers' cache brought up to date)."""
    return await current_role(update, context)


async def _refuse(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    await context.bot.send_message(who.chat_id, who._("Sorry, only coordinators can do that."))


# --- subscriptions -----------------------------------------------------------------------------


def _school_keyboard(
    options: Sequence[School], current: str | None, _: Translate
) -> InlineKeyboardMarkup:
    def mark(chosen: bool, label: str) -> str:
        return ("✅ " if chosen else "") + label

    rows = [[button(mark(current is None, _("All schools")), "sub", ALL)]]
    rows += [[button(mark(current == s.id, s.name), "sub", s.id)] for s in options]
    return keyboard(rows)


def _find_school(options: Sequence[School], value: str) -> School | None:
    """A school from callback data: its id, or '#' and its hash when the id was too long."""
    for school in options:
        if value in (school.id, "#" + short_hash(school.id)):
            return school
    return None


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opt in to announcements and reminders; offer to narrow them to one school."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    app = services(context)
    async with app.transaction() as session:
        chat = await subscribe(
            session,
            who.chat_id,
            language=who.language,
            coordinator_ids=app.settings.coordinator_ids,
        )
        options = await schools(session)
    text = (
        _("Done! You will get announcements and event reminders from your school.")
        + "\n"
        + _("Send /unsubscribe to stop them at any time.")
    )
    if len(options) > 1:
        text += "\n\n" + _("Which school do you want to hear from?")
        await message.reply_text(text, reply_markup=_school_keyboard(options, chat.school_id, _))
    else:
        await message.reply_text(text)


async def choose_school_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Narrow the subscription to the school pressed, or widen it to all."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _ = who._
    value = query.data.split(":", 1)[1]
    app = services(context)
    async with app.transaction() as session:
        options = await schools(session)
        chosen = _find_school(options, value)
        if value != ALL and chosen is None:
            await query.edit_message_text(_("That school is no longer in the directory."))
            return
        await choose_school(
            session,
            who.chat_id,
            chosen.id if chosen else None,
            language=who.language,
            coordinator_ids=app.settings.coordinator_ids,
        )
    if chosen is None:
        text = _("You will hear from all schools.")
    else:
        text = _("You will hear from {school} (and news for all schools).").format(
            school=escape(chosen.name)
        )
    await query.edit_message_text(text + "\n" + _("Send /unsubscribe to stop at any time."))


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opt out of announcements and reminders (/unsubscribe, /stop)."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    async with services(context).transaction() as session:
        was = await unsubscribe(session, who.chat_id)
    if was:
        await message.reply_text(
            _("OK, no more announcements or reminders. Send /subscribe to get them again.")
        )
    else:
        await message.reply_text(
            _("You are not subscribed. Send /subscribe to get announcements and event reminders.")
        )


# --- roles -------------------------------------------------------------------------------------


async def invite_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Make a one-time code that gives a coordinator or staff role (coordinators only)."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    if await _role(update, context) != Role.COORDINATOR:
        await _refuse(update, context, who)
        return
    wanted = (context.args[0].lower() if context.args else "").strip()
    if wanted == "partner":  # /invite partner ORG: linked to that organization's listings
        await partners.invite_partner(update, context, who, " ".join((context.args or [])[1:]))
        return
    role = INVITABLE.get(wanted)
    if role is None:
        await message.reply_text(
            _("Use /invite coordinator, /invite staff or /invite partner ORGANIZATION.")
        )
        return
    async with services(context).transaction() as session:
        invitation = await create_invitation(session, role=role, created_by=who.chat_id)
    code = display_code(invitation.code)
    until = invitation.expires_at.astimezone(services(context).settings.zone)
    who_for = _("a coordinator") if role == Role.COORDINATOR else _("a staff member")
    await message.reply_text(
        _("Invitation for {who}. It works once, until {date}.").format(
            who=who_for, date=until.strftime("%Y-%m-%d")
        )
        + "\n"
        + _("They send me this message:")
        + f"\n<code>/join {escape(code)}</code>"
    )


async def join_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Redeem an invitation code: /join CODE."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    code = "".join(context.args or [])
    if not code:
        await message.reply_text(_("Send the code you were given, like this: /join ABCDE-FGHJK"))
        return
    app = services(context)
    async with app.transaction() as session:
        partner_code = await invitation_organization(session, code) is not None
        role = await redeem_invitation(
            session,
            code,
            who.chat_id,
            coordinator_ids=app.settings.coordinator_ids,
            language=who.language,
        )
    if role is None:
        await message.reply_text(
            _(
                "That code does not work: it may be mistyped, used already or expired. "
                "Ask for a new one."
            )
        )
        return
    if context.chat_data is not None:
        context.chat_data["role"] = role
    if partner_code:  # staff or a coordinator may speak for a partner organization too
        await partners.welcome_partner(message, context, who)
    elif role == Role.COORDINATOR:
        await message.reply_text(
            _("Welcome! You are a coordinator now.")
            + "\n/broadcast – "
            + _("send an announcement to subscribed families")
            + "\n/invite – "
            + _("invite staff or coordinators")
        )
    else:
        await message.reply_text(_("Welcome! You have staff access now."))


# --- broadcasts --------------------------------------------------------------------------------


def _body(message: Message) -> tuple[str, str]:
    """The text after the command: (HTML with the sender's formatting kept, plain text)."""
    plain = (message.text or "").split(None, 1)
    body_plain = plain[1].strip() if len(plain) > 1 else ""
    if not body_plain:
        return "", ""
    rendered = message.text_html  # every character escaped, formatting entities as tags
    match = _COMMAND.match(rendered)
    body_html = rendered[match.end() :].strip() if match else escape(body_plain)
    return body_html, body_plain


async def _preview(
    session: AsyncSession,
    draft_id: int,
    text: str,
    school_id: str | None,
    _: Translate,
    language: str,
) -> tuple[str, InlineKeyboardMarkup]:
    audience = await count_subscribers(session, school_id)
    options = await schools(session)
    target = next((s for s in options if s.id == school_id), None)
    where = escape(target.name) if target else _("all schools")
    header = _("📣 Preview, for {where}. Subscribers who will get it: {count}").format(
        count=number(audience, language), where=where
    )
    rows = []
    if len(options) > 1:
        choices = [(None, _("All schools")), *((s.id, s.name) for s in options)]
        for value, label in choices:
            chosen = "✅ " if value == school_id else ""
            rows.append([button(chosen + label, "bc", "to", str(draft_id), value or ALL)])
    rows.append(
        [
            button("📣 " + _("Send"), "bc", "send", str(draft_id)),
            button("✖️ " + _("Cancel"), "bc", "cancel", str(draft_id)),
        ]
    )
    return f"{header}\n\n{text}", keyboard(rows)


async def _preview_draft(
    message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, html: str, plain: str
) -> bool:
    """Store the announcement as a draft and show its preview with the audience and [Send]
    [Cancel]; False (and why) when it is too long."""
    _ = who._
    if len(plain) > MAX_BROADCAST:
        await message.reply_text(
            _("That is too long: keep it under {limit} characters.").format(
                limit=number(MAX_BROADCAST, who.language)
            )
            + "\n"
            + _("Send a shorter one, or /cancel.")
        )
        return False
    async with services(context).transaction() as session:
        draft = await save_draft(session, text=html, created_by=who.chat_id)
        text, markup = await _preview(session, draft.id, draft.text, None, _, who.language)
    await message.reply_text(text, reply_markup=markup)
    return True


async def broadcast_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/broadcast [text]: preview the text (coordinators only), or ask for it."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    if await _role(update, context) != Role.COORDINATOR:
        await _refuse(update, context, who)
        return ConversationHandler.END
    body_html, body_plain = _body(message)
    if body_plain:
        return (
            WRITING
            if not await _preview_draft(message, context, who, body_html, body_plain)
            else ConversationHandler.END
        )
    await message.reply_text(
        "📣 "
        + _("What do you want to tell the families? Send the announcement as your next message.")
        + "\n"
        + _("You will see a preview, choose who gets it, and confirm before anything is sent.")
        + "\n"
        + _("You can stop at any time with /cancel.")
    )
    return WRITING


async def got_announcement(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The message after a bare /broadcast is the announcement (never a search, never logged)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    if await _role(update, context) != Role.COORDINATOR:
        await _refuse(update, context, who)
        return ConversationHandler.END
    plain = message.text.strip()
    if not plain:
        return WRITING
    shown = await _preview_draft(message, context, who, message.text_html.strip(), plain)
    return ConversationHandler.END if shown else WRITING


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A photo or sticker while an announcement is awaited: ask for text."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    await message.reply_text(who._("Announcements are text only: please type it, or /cancel."))
    return WRITING


async def stop_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel while writing an announcement: nothing is stored or sent."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    await message.reply_text(who._("OK, no announcement. Nothing was sent."))
    return ConversationHandler.END


def broadcast_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    """/broadcast: the text after the command, or the next message, then the preview; its
    [Send] and [Cancel] buttons are `broadcast_button`'s (they work after a restart too)."""
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[CommandHandler("broadcast", broadcast_command, filters=private)],
        states={
            WRITING: [
                MessageHandler(filters.TEXT & ~filters.COMMAND & private, got_announcement),
                MessageHandler(~filters.COMMAND & private & ~filters.StatusUpdate.ALL, not_text),
            ]
        },
        fallbacks=[CommandHandler("cancel", stop_broadcast, filters=private)],
        allow_reentry=True,
        name="broadcast",
    )


async def broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Retarget, send or cancel a broadcast draft: its coordinator only, checked in the database."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _ = who._
    if await _role(update, context) != Role.COORDINATOR:
        await _refuse(update, context, who)
        return
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    draft_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
    app = services(context)
    async with app.transaction() as session:
        draft = await get_draft(session, draft_id, who.chat_id)
        if draft is None:
            gone = True
        elif action == "cancel":
            gone = not await discard_draft(session, draft.id, who.chat_id)
        elif action == "to" and len(parts) > 3:
            options = await schools(session)
            chosen = _find_school(options, parts[3])
            if (chosen.id if chosen else None) == draft.school_id:
                return  # already so: editing to the same text is an error in Telegram
            draft.school_id = chosen.id if chosen else None
            text, markup = await _preview(
                session, draft.id, draft.text, draft.school_id, _, who.language
            )
            gone = False
        elif action == "send":
            recipients = await subscriber_ids(session, draft.school_id)
            sent = None
            if recipients:
                sent = await send_draft(
                    session,
                    draft.id,
                    created_by=who.chat_id,
                    recipients=recipients,
                    progress_chat_id=who.chat_id,
                    progress_message_id=query.message.message_id if query.message else None,
                )
            gone = False
        else:
            return
    if gone:
        await context.bot.send_message(
            who.chat_id, _("That announcement was already sent or cancelled.")
        )
    elif action == "cancel":
        await query.edit_message_text(_("Cancelled. Nothing was sent."))
    elif action == "to":
        await query.edit_message_text(text, reply_markup=markup)
    elif not recipients:
        await context.bot.send_message(
            who.chat_id, _("Nobody is subscribed there yet, so there is no one to send it to.")
        )
    elif sent is None:
        await context.bot.send_message(
            who.chat_id, _("That announcement was already sent or cancelled.")
        )
    else:
        start = Progress(sent.id, BROADCAST, who.language, total=len(recipients))
        await query.edit_message_text(progress_text(start))


def progress_text(progress: Progress) -> str:
    """The live progress message and the final report, in the coordinator's language."""
    _ = translator(progress.language)

    def n(value: int) -> str:
        return number(value, progress.language)

    counts = "\n".join(
        [
            "✅ " + _("Delivered: {count}").format(count=n(progress.delivered)),
            "🚫 " + _("Blocked the bot (unsubscribed): {count}").format(count=n(progress.blocked)),
            "⚠️ " + _("Failed: {count}").format(count=n(progress.failed)),
        ]
    )
    if progress.finished:
        title = (
            _("Broadcast finished. Recipients: {total}")
            if progress.kind == BROADCAST
            else _("Sending finished. Recipients: {total}")
        )
        return "🏁 " + title.format(total=n(progress.total)) + "\n" + counts
    head = _("Sent {done} of {total}…").format(done=n(progress.done), total=n(progress.total))
    return "📣 " + head + "\n" + counts
