"""Ask a person: a family's question goes to every coordinator; a coordinator's reply comes back.

These handlers run in their own group (`GROUP`, before the others). Whatever they take they
stop (`ApplicationHandlerStop`), so search never sees a question; anything else a family does
while asked for their question (a command, a button, a location) ends the question and goes on
to the usual handlers. The family's chat id never leaves the server: coordinators see the
question and its language, and reply to the bot's message.
"""

from __future__ import annotations

import logging
import time

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes, ConversationHandler

from bot.i18n import Translate, translator
from bot.render import escape, one_line, split_message
from bot.services import Caller, caller, services
from knowledge.handoffs import (
    coordinators,
    create_handoff,
    discard_handoff,
    handoff_for_reply,
    mark_answered,
    record_copy,
)

log = logging.getLogger(__name__)

GROUP = -1
QUESTION = 0  # waiting for the family to type their question
QUESTION_MARK = "❓"  # starts every question message coordinators get
STALE_AFTER_SECONDS = 24 * 3600  # a question typed a day after /ask is a search again
MAX_ANSWER_CHARACTERS = 3500


def _language_name(language: str, _: Translate) -> str:
    return {"en": _("English"), "es": _("Spanish")}.get(language, language)


async def _reply(update: Update, text: str) -> Message:
    """Reply with plain text (escaped: the bot speaks HTML)."""
    message = update.effective_message
    assert message is not None
    return await message.reply_text(escape(text))


def _no_one_text(who: Caller) -> str:
    return who._(
        "Sorry, nobody at the school answers questions here yet. Please call the school office."
    )


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """`/ask` or the "Ask a person" button: ask the family to type their question."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    who = await caller(update, context)
    app = services(context)
    async with app.sessions() as session:
        people = await coordinators(session, app.settings.coordinator_ids)
    if not people:
        await _reply(update, _no_one_text(who))
        raise ApplicationHandlerStop(ConversationHandler.END)
    if context.chat_data is not None:
        context.chat_data["question_asked_at"] = time.time()
    await _reply(
        update,
        who._("Type your question in one message and I will pass it to a person at the school.")
        + "\n"
        + who._("They will not see your name. Send /cancel to stop."),
    )
    raise ApplicationHandlerStop(QUESTION)


async def forward_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The family's question: send it to every coordinator and say when to expect an answer."""
    message = update.effective_message
    assert message is not None and message.text is not None
    asked_at = (context.chat_data or {}).pop("question_asked_at", None)
    if asked_at is None or time.time() - asked_at > STALE_AFTER_SECONDS:
        return ConversationHandler.END  # long forgotten: let search answer it
    who = await caller(update, context)
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
        await _reply(update, _no_one_text(who))
    else:
        await _reply(
            update,
            who._("Thank you! I passed your question to a person at the school.")
            + "\n"
            + who._("They usually answer within one school day, right here in this chat."),
        )
    raise ApplicationHandlerStop(ConversationHandler.END)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """`/cancel` while asked for a question: send nothing."""
    who = await caller(update, context)
    (context.chat_data or {}).pop("question_asked_at", None)
    await _reply(update, who._("OK, I won't send anything."))
    raise ApplicationHandlerStop(ConversationHandler.END)


async def drop_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Anything but text while asked for a question ends it; the usual handlers then answer."""
    (context.chat_data or {}).pop("question_asked_at", None)
    return ConversationHandler.END


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
