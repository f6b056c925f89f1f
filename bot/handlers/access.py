"""Who the bot listens to, before any handler; and who the coordinators are (/coordinators).

The bot talks with people in their own private chats. Business, channel and group updates
are dropped unanswered (nothing is ever posted into a group), except inline queries, which
have no chat by design. A button's data is checked before its handler sees it: numbers that no
row id can reach and dates that do not exist get a kind "that button is out of date", as does
a button on a message shared inline into another chat, which has no chat to answer in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.i18n import Translate, supported_language, translator
from bot.render import button, escape, keyboard
from bot.services import caller, current_role, services
from knowledge.models import Role
from knowledge.roles import list_coordinators, remove_coordinator

log = logging.getLogger(__name__)

SCREEN_GROUP = -100  # before every other handler group

INTEGER_MAX = 2**31 - 1  # the largest id of an Integer column (events, messages, reports)
BIG_INTEGER_MAX = 2**63 - 1  # of a BigInteger column (chats, the query log)


def _numbers_up_to(limit: int) -> Callable[[list[str]], bool]:
    def valid(parts: list[str]) -> bool:
        return all(int(part) <= limit for part in parts if part.isdecimal())

    return valid


def _new_event_choice(parts: list[str]) -> bool:
    """`ne:d:2026-12-24` must be a real day, `ne:t:1830` a real time."""
    kind, value = (parts + ["", ""])[:2]
    if kind == "d":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
    if kind == "t":
        return value.isdecimal() and len(value) == 4 and int(value[:2]) < 24 and int(value[2:]) < 60
    return _numbers_up_to(INTEGER_MAX)(parts)


# Button data by prefix: what its parts must be for its handler to take it.
VALID_PARTS: dict[str, Callable[[list[str]], bool]] = {
    "fb": _numbers_up_to(BIG_INTEGER_MAX),
    "crm": _numbers_up_to(BIG_INTEGER_MAX),
    "ne": _new_event_choice,
    **{
        prefix: _numbers_up_to(INTEGER_MAX)
        for prefix in ("rsvp", "ev", "evi", "evm", "eve", "fu", "rps", "rpc", "rv", "bc")
    },
}


def button_is_valid(data: str) -> bool:
    prefix, *parts = data.split(":")
    valid = VALID_PARTS.get(prefix)
    return valid is None or valid(parts)


def _is_business(update: Update) -> bool:
    return bool(
        update.business_connection
        or update.business_message
        or update.edited_business_message
        or update.deleted_business_messages
    )


async def screen_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop, before any handler, what the bot does not take (see the module's docstring)."""
    if _is_business(update):
        raise ApplicationHandlerStop
    query = update.callback_query
    if query is not None:
        if query.message is None or not button_is_valid(query.data or ""):
            user = update.effective_user
            _ = translator(supported_language(user.language_code if user else None))
            await query.answer(_("That button is out of date. Type your question or use /start."))
            raise ApplicationHandlerStop
        if update.effective_chat is not None and update.effective_chat.type != "private":
            await query.answer()  # stops the spinner; nothing is said in a group
            raise ApplicationHandlerStop
        return
    chat = update.effective_chat
    if chat is not None and (chat.type != "private" or update.effective_user is None):
        raise ApplicationHandlerStop  # groups and channels: silence


# --- /coordinators: who they are, and removing invited ones -------------------------------------


async def coordinators_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the coordinators; invited ones get a Remove button (coordinators only)."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    if await current_role(update, context) != Role.COORDINATOR:
        await message.reply_text(_("Sorry, only coordinators can do that."))
        return
    await message.reply_text(**await _coordinator_list(context, _))


async def _coordinator_list(context: ContextTypes.DEFAULT_TYPE, _: Translate) -> dict[str, Any]:
    app = services(context)
    async with app.sessions() as session:
        entries = await list_coordinators(session, app.settings.coordinator_ids)
    lines = ["<b>" + escape(_("Coordinators")) + "</b>"]
    rows = []
    for entry in entries:
        if entry.configured:
            lines.append("• " + escape(_("chat {id} (COORDINATOR_IDS)").format(id=entry.chat_id)))
            continue
        lines.append("• " + escape(_("chat {id} (invited)").format(id=entry.chat_id)))
        label = "✖ " + _("Remove {id}").format(id=entry.chat_id)
        rows.append([button(label, "crm", str(entry.chat_id))])
    lines += ["", escape(_("Those from COORDINATOR_IDS change only there, then a restart."))]
    return {"text": "\n".join(lines), "reply_markup": keyboard(rows)}


async def remove_coordinator_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove an invited coordinator: they are a family again (coordinators only)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _ = who._
    if await current_role(update, context) != Role.COORDINATOR:
        await query.edit_message_text(_("Sorry, only coordinators can do that."))
        return
    target = int(query.data.split(":", 1)[1])
    app = services(context)
    async with app.transaction() as session:
        removed = await remove_coordinator(session, target, app.settings.coordinator_ids)
    if removed:
        context.application.drop_chat_data(target)  # its cached role goes with it
        log.info("A coordinator removed an invited coordinator")
    listing = await _coordinator_list(context, _)
    done = (
        _("Removed: chat {id} is not a coordinator any more.")
        if removed
        else _("Chat {id} was not an invited coordinator; nothing changed.")
    ).format(id=target)
    await query.edit_message_text(
        escape(done) + "\n\n" + listing["text"], reply_markup=listing["reply_markup"]
    )
