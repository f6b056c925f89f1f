"""An incoming text, taken in: once per MessageSid, carrier keywords first, then into the
conversation as a Telegram-shaped update for the number's chat.

The carriers' keywords are answered here, outside the conversation, because they are rules
of the channel: STOP (and its synonyms) opts the number out of everything at once and is
confirmed once (not at all when Twilio's own opt-out handling already confirmed it, which it
says with the OptOutType field); nothing else is sent to it until START. A number that opted
out is not answered. Everything else becomes a message from the number's chat and goes through
the same handlers as Telegram's.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.i18n import translator
from bot.sms.channel import SmsChannel
from bot.sms.keywords import Carrier, carrier_keyword
from jobs.sender import DeliveryError
from knowledge.models import Chat
from knowledge.sms import (
    Number,
    first_time_seen,
    mask,
    normalize_address,
    number_for_address,
)
from knowledge.sms import set_opted_out as store_opted_out

log = logging.getLogger(__name__)

MAX_BODY_CHARACTERS = 1600  # Twilio's own limit for a text
_update_ids = itertools.count(int(time.time()) % 2**31)


@dataclass(frozen=True, slots=True)
class Incoming:
    message_sid: str
    address: str
    body: str
    media: int = 0
    handled_by_twilio: str | None = None  # OptOutType: Twilio already answered this keyword


def read_incoming(params: dict[str, str]) -> Incoming | None:
    """Twilio's form fields as an Incoming text; None if they do not make one."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    address = normalize_address(params.get("From", ""))
    if not sid or address is None:
        return None
    media = params.get("NumMedia", "0")
    return Incoming(
        message_sid=sid[:64],
        address=address,
        body=params.get("Body", "")[:MAX_BODY_CHARACTERS],
        media=int(media) if media.isdigit() else 0,
        handled_by_twilio=(params.get("OptOutType") or "").upper() or None,
    )


def help_text(language: str) -> str:
    _ = translator(language)
    return (
        _("School Resource Finder: local help by text (food, health, housing and more).")
        + "\n"
        + _("Text what you need, or MENU. JOIN: school news. FORGET: delete your data.")
        + "\n"
        + _("Msg & data rates may apply. Reply STOP to end, HELP for help.")
    )


def opted_out_text(language: str) -> str:
    _ = translator(language)
    return _("You are unsubscribed and will get no more texts from us. Reply START to come back.")


def opted_in_text(language: str) -> str:
    _ = translator(language)
    return (
        _("Welcome back! Text what you need, or MENU.")
        + " "
        + _("Reply JOIN for school news, STOP to end.")
    )


async def take_in(
    application: Application,  # type: ignore[type-arg]
    channel: SmsChannel,
    incoming: Incoming,
) -> None:
    """Answer the carrier's keywords, or hand the text to the conversation."""
    async with channel.sessions() as session, session.begin():
        if not await first_time_seen(session, incoming.message_sid):
            log.info("Text %s was taken in before; not answered again", incoming.message_sid)
            return
        number = await number_for_address(session, incoming.address)
        row = await session.get(Chat, number.chat_id)
        stored_language = row.language if row is not None else None
    channel.remember_address(number.chat_id, number.address)
    try:
        await _answer(application, channel, incoming, number, stored_language)
    except DeliveryError as error:  # Twilio refused the answer; the number's state is stored
        log.info("Could not answer %s: %s", mask(number.address), error)


async def _answer(
    application: Application,  # type: ignore[type-arg]
    channel: SmsChannel,
    incoming: Incoming,
    number: Number,
    stored_language: str | None,
) -> None:
    keyword = carrier_keyword(incoming.body, opted_out=number.opted_out)
    language = stored_language or (keyword.language if keyword else None) or "en"
    if keyword is not None and keyword.kind is Carrier.OPT_OUT:
        await set_opted_out(application, channel, number.chat_id, True)
        log.info("%s opted out", mask(number.address))
        if incoming.handled_by_twilio is None:  # the one confirmation the rules allow
            text = channel.plain(opted_out_text(language))
            await channel.send_text(number.chat_id, text, even_opted_out=True)
        return
    if keyword is not None and keyword.kind is Carrier.OPT_IN:
        await set_opted_out(application, channel, number.chat_id, False)
        if incoming.handled_by_twilio is None:
            await channel.send_text(number.chat_id, channel.plain(opted_in_text(language)))
        return
    if number.opted_out:
        log.info("%s opted out; its text is not answered", mask(number.address))
        return
    if keyword is not None and keyword.kind is Carrier.HELP:
        if incoming.handled_by_twilio is None:
            await channel.send_text(number.chat_id, channel.plain(help_text(language)))
        return
    # No language_code: the chat's stored language, or the words it writes, decide (and a US
    # number reads distances in miles, as uses_miles() assumes without one).
    update = message_update(number.chat_id, incoming, None)
    await application.update_queue.put(Update.de_json(update, application.bot))


async def set_opted_out(
    application: Application,  # type: ignore[type-arg]
    channel: SmsChannel,
    chat_id: int,
    opted_out: bool,
) -> None:
    async with channel.sessions() as session, session.begin():
        await store_opted_out(session, chat_id, opted_out)
    if opted_out:
        application.drop_chat_data(chat_id)  # the cached role, language and last search


def message_update(chat_id: int, incoming: Incoming, language: str | None) -> dict[str, Any]:
    """A Telegram update as if the number's chat had written `incoming`."""
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": user(chat_id, language),
    }
    if incoming.body.strip():
        message["text"] = incoming.body.strip()
        if message["text"].startswith("/"):
            command = message["text"].split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    elif incoming.media:  # a picture with no words: the handlers say what they can read
        message["photo"] = [{"file_id": "mms", "file_unique_id": "mms", "width": 1, "height": 1}]
    else:
        message["text"] = "?"
    return {"update_id": next(_update_ids), "message": message}


def user(chat_id: int, language: str | None) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "SMS", "language_code": language}
