"""Ask a person: a family's question goes to every coordinator; a coordinator's reply comes back.

`/ask` (or the "Ask a person" button) marks the chat as writing a question, in the database
(`chat.question_asked_at`), so a restart in between changes nothing: the family's next text is
their question. These handlers run in their own group (`GROUP`, before the others). Whatever
they take they stop (`ApplicationHandlerStop`), so search never sees a question; anything else a
family does meanwhile (a command, a button, a location) ends the question and goes on to the
usual handlers. A coordinator's reply is relayed from a group of its own (`RELAY_GROUP`).

The family's chat id never leaves the server: coordinators see the question and its language,
and reply to the bot's message. When nobody answers questions (no coordinator), the button is
not shown and /ask gives the school office's number (SCHOOL_OFFICE_PHONE) instead.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.handlers.crisis import answer_danger
from bot.i18n import Translate, translator
from bot.render import escape, one_line, split_message
from bot.services import Caller, caller, services
from knowledge.chats import get_chat
from knowledge.crisis import default_crisis_signals
from knowledge.handoffs import (
    Coordinator,
    coordinators,
    create_handoff,
    discard_handoff,
    handoff_for_reply,
    mark_answered,
    record_copy,
)
from knowledge.models import Chat, utcnow
from knowledge.phones import dialable

log = logging.getLogger(__name__)

GROUP = -1
RELAY_GROUP = -2  # before GROUP: a coordinator's reply is never taken for a question
QUESTION_MARK = "❓"  # starts every question message coordinators get
STALE_AFTER = timedelta(hours=24)  # a question typed a day after /ask is a search again
MAX_ANSWER_CHARACTERS = 3500
ANSWERERS_SECONDS = 60.0  # how long who answers questions is remembered between looks
PENDING = "question_asked_at"  # chat_data: when /ask was sent (None: not asking), as stored


def _language_name(language: str, _: Translate) -> str:
    return {"en": _("English"), "es": _("Spanish")}.get(language, language)


async def _reply(update: Update, text: str) -> Message:
    """Reply with plain text (escaped: the bot speaks HTML)."""
    message = update.effective_message
    assert message is not None
    return await message.reply_text(escape(text))


async def answerers(context: ContextTypes.DEFAULT_TYPE, fresh: bool = False) -> list[Coordinator]:
    """Who answers families' questions (coordinators), remembered for a minute: every
    keyboard with an "Ask a person" button asks."""
    app = services(context)
    cached = context.bot_data.get("answerers")
    if not fresh and cached is not None and time.monotonic() - cached[0] < ANSWERERS_SECONDS:
        return cached[1]  # type: ignore[no-any-return]
    async with app.sessions() as session:
        people = await coordinators(session, app.settings.coordinator_ids)
    context.bot_data["answerers"] = (time.monotonic(), people)
    return people


async def can_ask(context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether "Ask a person" leads somewhere: someone answers, or the office has a number."""
    return bool(services(context).settings.school_office_phone) or bool(await answerers(context))


def _no_one_text(who: Caller, office_phone: str) -> str:
    if office_phone:
        return who._(
            "Nobody at the school answers questions here yet. Please call the school office: "
            "{phone}"
        ).format(phone=dialable(office_phone))
    return who._(
        "Sorry, nobody at the school answers questions here yet. Please call the school office."
    )


async def _asked_at(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> datetime | None:
    """When this chat sent /ask, if it is writing a question (read once, then remembered)."""
    cache = context.chat_data if context.chat_data is not None else {}
    if PENDING not in cache:
        async with services(context).sessions() as session:
            cache[PENDING] = await session.scalar(
                select(Chat.question_asked_at).where(Chat.id == chat_id)
            )
    return cache[PENDING]  # type: ignore[no-any-return]


async def _set_asked_at(
    context: ContextTypes.DEFAULT_TYPE, who: Caller, when: datetime | None
) -> None:
    async with services(context).transaction() as session:
        if when is None:
            chat = await session.get(Chat, who.chat_id)
            if chat is not None:
                chat.question_asked_at = None
        else:  # asking a person is worth remembering: the answer must find its way back
            chat = await get_chat(session, who.chat_id, who.language)
            chat.question_asked_at = when
    if context.chat_data is not None:
        context.chat_data[PENDING] = when


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/ask` or the "Ask a person" button: ask the family to type their question."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    who = await caller(update, context)
    app = services(context)
    if not await answerers(context, fresh=True):
        await _reply(update, _no_one_text(who, app.settings.school_office_phone))
        raise ApplicationHandlerStop
    await _set_asked_at(context, who, utcnow())
    await _reply(
        update,
        who._("Type your question in one message and I will pass it to a person at the school.")
        + "\n"
        + who._("They will not see your name. Send /cancel to stop."),
    )
    raise ApplicationHandlerStop


async def forward_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The family's question: send it to every coordinator and say when to expect an answer."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and message.text is not None and chat is not None
    asked_at = await _asked_at(context, chat.id)
    if asked_at is None:
        return  # not asking: the usual handlers answer
    who = await caller(update, context)
    await _set_asked_at(context, who, None)
    if utcnow() - asked_at > STALE_AFTER:
        return  # long forgotten: let search answer it
    danger = default_crisis_signals().detect(message.text)
    if danger is not None:  # danger in a question is answered first, as anywhere else
        who, _lines = await answer_danger(update, context, who, danger)
    app = services(context)
    async with app.transaction() as session:
        people = await coordinators(session, app.settings.coordinator_ids)
        handoff = await create_handoff(session, who.chat_id, message.text, who.language)
        question, handoff_id = handoff.question, handoff.id
    delivered: list[tuple[int, int]] = []
    for person in people:
        _ = translator(person.language)
        text = (
            f"{QUESTION_MARK} <b>"
            + escape(
                _("Question from a family ({language}):").format(
                    language=_language_name(who.language, _)
                )
            )
            + f"</b>\n\n{escape(question)}\n\n<i>"
            + escape(_("Reply to this message to answer. I will send your answer to the family."))
            + "</i>"
        )
        try:
            sent = await context.bot.send_message(person.chat_id, text)
        except TelegramError:
            log.warning(
                "Could not pass a question to coordinator %s", person.chat_id, exc_info=True
            )
            continue
        delivered.append((person.chat_id, sent.message_id))
    async with app.transaction() as session:
        if not delivered:
            await discard_handoff(session, handoff_id)
        for chat_id, message_id in delivered:
            await record_copy(session, handoff_id, chat_id, message_id)
    if not delivered:
        await _reply(update, _no_one_text(who, app.settings.school_office_phone))
    else:
        await _reply(
            update,
            who._("Thank you! I passed your question to a person at the school.")
            + "\n"
            + who._("They usually answer within one school day, right here in this chat."),
        )
    raise ApplicationHandlerStop


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/cancel` while asked for a question: send nothing. Otherwise it is someone else's."""
    chat = update.effective_chat
    assert chat is not None
    if await _asked_at(context, chat.id) is None:
        return  # a wizard's /cancel, or nothing to cancel: the usual handlers answer
    who = await caller(update, context)
    await _set_asked_at(context, who, None)
    await _reply(update, who._("OK, I won't send anything."))
    raise ApplicationHandlerStop


async def drop_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything but text while asked for a question ends it; the usual handlers then answer."""
    chat = update.effective_chat
    if chat is None or chat.type != "private" or await _asked_at(context, chat.id) is None:
        return
    await _set_asked_at(context, await caller(update, context), None)


async def relay_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A coordinator's reply to a question: send it to the family and confirm."""
    message = update.effective_message
    assert message is not None and message.text is not None
    original = message.reply_to_message
    if original is None or original.from_user is None or not original.from_user.is_bot:
        return
    who = await caller(update, context)
    if not who.is_coordinator:
        return  # only coordinators answer; a family's reply is just a message
    app = services(context)
    async with app.sessions() as session:
        handoff = await handoff_for_reply(session, who.chat_id, original.message_id)
    if handoff is None:
        if (original.text or "").startswith(QUESTION_MARK):
            await _reply(
                update,
                who._("I can't find the family for that question any more, so I can't pass it on."),
            )
            raise ApplicationHandlerStop
        return  # a reply to some other message of the bot: not ours
    _ = translator(handoff.language)
    text = (
        "💬 <b>"
        + escape(_("Answer from the school:"))
        + f"</b>\n\n{escape(message.text[:MAX_ANSWER_CHARACTERS])}\n\n<i>"
        + escape(_("You asked: “{question}”").format(question=one_line(handoff.question, 200)))
        + "</i>"
    )
    try:
        for part in split_message(text):
            await context.bot.send_message(handoff.chat_id, part)
    except TelegramError:
        log.warning("Could not deliver an answer to handoff %s", handoff.id, exc_info=True)
        await _reply(
            update,
            who._("I couldn't deliver your answer: the family may have blocked the bot."),
        )
        raise ApplicationHandlerStop from None
    async with app.transaction() as session:
        first = await mark_answered(session, handoff.id)
    confirmation = who._("Sent to the family.")
    if not first:
        confirmation += " " + who._("Someone had already answered this question before you.")
    await _reply(update, "✅ " + confirmation)
    raise ApplicationHandlerStop
