"""Text messages read as what a tap would be: "2" presses the second choice offered, "M" asks
for more, "YES" answers an invitation, "JOIN" is /subscribe, "MENU" is /start.

Runs first (GROUP), for numbers' chats only, in order with the rest of the chat's updates,
so "2" means the list the number last received even if it was sent a moment ago. A text that
is none of these goes on to the usual handlers (a question, or the answer /ask waits for).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, filters

from bot.choices import reply_key
from bot.services import services
from bot.sms.channel import callback_query_id
from bot.sms.inbound import user
from bot.sms.keywords import command_word
from knowledge.sms import SMS_CHAT_BASE, choice_for, last_search

GROUP = -5  # before review (-4), follow-up reports (-3), the handoff (-2, -1), the search (0)
_serials = itertools.count(1)


class NumberChat(filters.MessageFilter):
    """Messages from a number's chat (SMS), not from Telegram."""

    def filter(self, message: Any) -> bool:
        return bool(message.chat and message.chat.id >= SMS_CHAT_BASE)


NUMBER_CHAT = NumberChat(name="NumberChat")


async def read_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A choice's key presses its button; one of the bot's words runs its command."""
    message = update.effective_message
    assert message is not None and message.text is not None
    chat_id = message.chat.id
    language = message.from_user.language_code if message.from_user else None
    key = reply_key(message.text)
    if key is not None:
        async with services(context).sessions() as session:
            choice = await choice_for(session, chat_id, key)
        if choice is not None:
            if choice.data == "more" and context.chat_data is not None:
                if "search" not in context.chat_data:  # the bot restarted since the list
                    async with services(context).sessions() as session:
                        state = await last_search(session, chat_id)
                    if state is not None:
                        context.chat_data["search"] = state
            pressed = {
                "update_id": update.update_id,
                "callback_query": {
                    "id": callback_query_id(chat_id, next(_serials)),
                    "from": user(chat_id, language),
                    "chat_instance": str(chat_id),
                    "message": {
                        "message_id": choice.message_id,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"},
                        "text": "",
                    },
                    "data": choice.data,
                },
            }
            await context.application.process_update(Update.de_json(pressed, context.bot))
            raise ApplicationHandlerStop
    word = command_word(message.text)
    if word is None and key == "0":
        word = ("/start", None)  # "0 for the menu", whatever was offered last
    if word is None:
        return
    command, word_language = word
    if word_language is not None and context.chat_data is not None:
        # "UNIRME" from a new number is Spanish: read the language again (a stored chat keeps
        # its own) instead of the default cached when the text first arrived.
        context.chat_data.pop("language", None)
    text = {
        "update_id": update.update_id,
        "message": {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": user(chat_id, word_language or language),
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }
    await context.application.process_update(Update.de_json(text, context.bot))
    raise ApplicationHandlerStop
