"""The SMS dialect of the conversation: what the handlers (and the outbox) send, as texts.

A Bot API call to a number's chat (sendMessage, editMessageText, sendVenue, sendDocument,
answerCallbackQuery with a text...) becomes one text: the HTML made plain and GSM-7 where it
can be (bot.sms.text), the buttons as numbered choices (bot.choices) stored for the number so
a reply "2" presses one even after a restart, files as signed links, places as map links, all
within three segments. Every text takes its place from the SMS pacer first (SMS_RATE_PER_SECOND
overall, one a second per number; jobs.sender.SendLimiter, as on Telegram), replies ahead of
the outbox; Twilio's 429 is waited out.

The outbox reaches numbers the same way: its Telegram sender's calls for a number's chat come
here through bot.sms.request.ChannelRequest, so a broadcast or a reminder is rendered exactly
as a reply would be.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.choices import TEXT_MESSAGE, Choice, choice_lines, choices_of
from bot.sms.links import LinkSigner
from bot.sms.text import fit, html_to_text, segments, to_gsm
from bot.sms.twilio_api import TwilioMessages
from jobs.sender import (
    REPLY,
    REPLY_BACKOFF_MAX,
    REPLY_MAX_AGE,
    ChatUnreachable,
    PermanentFailure,
    RateLimited,
    SendLimiter,
    TemporaryFailure,
    send_priority,
)
from knowledge.models import Chat
from knowledge.sms import (
    mask,
    number_of_chat,
    save_choices,
    set_opted_out,
    settle_send,
    start_send,
    store_file,
    text_digest,
    unsettled_send,
)

log = logging.getLogger(__name__)

MAX_SEGMENTS = 3  # a reply; a card keeps within two (bot.sms.cards)
LINK_KEEP = timedelta(days=30)  # a material, or an event's calendar file (events come later)
MAX_RATE_LIMIT_WAITS = 5
MAX_WAIT_SECONDS = 60.0
RECENT_SECONDS = 600.0
RECENT_MAX = 10_000
MAP_URL = "https://maps.google.com/?q={latitude:.6f},{longitude:.6f}"


@dataclass(frozen=True, slots=True)
class Rendered:
    body: str
    choices: list[Choice]


def render(
    html_text: str,
    markup: Any = None,
    links: Sequence[str] = (),
    language: str | None = None,
    max_segments: int = MAX_SEGMENTS,
) -> Rendered:
    """One text: the message, then its file links, then its choices; trimmed to fit."""
    choices, button_links = choices_of(markup, TEXT_MESSAGE)
    body = to_gsm(commands_as_words(html_to_text(html_text)))
    lines = [*links, *button_links, *choice_lines(choices, language)]
    footer = to_gsm("\n".join(lines))
    return Rendered(fit(body, max_segments, footer), choices)


# What a text says instead of a Telegram command (bot.sms.keywords reads them back). /cancel
# is not CANCEL: that word opts a number out of everything.
COMMAND_WORDS = {
    "start": "MENU",
    "subscribe": "JOIN",
    "unsubscribe": "LEAVE",
    "stop": "LEAVE",
    "cancel": "MENU",
    "forget": "FORGET",
    "language": "LANGUAGE",
    "privacy": "PRIVACY",
    "events": "EVENTS",
    "ask": "ASK",
    "help": "HELP",
    "toolkit": "TOOLKIT",
    "materials": "MATERIALS",
    "survey": "SURVEY",
}
_COMMAND = re.compile(r"(?<![\w/])/(" + "|".join(COMMAND_WORDS) + r")\b")


def commands_as_words(text: str) -> str:
    """ "Send /unsubscribe to stop" -> "Send LEAVE to stop"."""
    return _COMMAND.sub(lambda match: COMMAND_WORDS[match.group(1)], text)


class SmsChannel:
    """Texts out (replies and the outbox) through Twilio, paced and remembered."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: TwilioMessages,
        links: LinkSigner,
        per_second: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.links = links
        self.limiter = SendLimiter(per_second, chat_interval=1.0)
        # Message ids for the chats' "messages": a button pressed by a reply names one.
        self._message_ids = itertools.count(int(time.time() * 1000) % 2**40)
        # The numbers that wrote in the last minutes, so the answer to FORGET still reaches
        # the number whose row it just deleted. Memory only, and only that long.
        self._recent: OrderedDict[int, tuple[float, str]] = OrderedDict()

    def remember_address(self, chat_id: int, address: str) -> None:
        now = time.monotonic()
        self._recent[chat_id] = (now, address)
        self._recent.move_to_end(chat_id)
        while self._recent and (
            len(self._recent) > RECENT_MAX
            or next(iter(self._recent.values()))[0] < now - RECENT_SECONDS
        ):
            self._recent.popitem(last=False)

    def _recent_address(self, chat_id: int) -> str | None:
        seen = self._recent.get(chat_id)
        return seen[1] if seen and seen[0] >= time.monotonic() - RECENT_SECONDS else None

    @staticmethod
    def plain(text: str) -> str:
        """A plain text of the bot's own (a keyword's answer), as it will be sent."""
        return fit(to_gsm(text), MAX_SEGMENTS)

    async def close(self) -> None:
        await self.client.close()

    # -- what the handlers send (Bot API calls for a number's chat) --

    async def bot_api_call(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> Any:
        """Answer one Bot API call for a number's chat as Telegram would, sending a text when
        the call says something. Raises jobs.sender's errors when the text could not go."""
        chat_id = _chat_id(params)
        markup = params.get("reply_markup")
        if method in ("sendMessage", "editMessageText"):
            text = str(params.get("text", ""))
            return await self.say(chat_id, text, markup)
        if method in ("sendDocument", "sendPhoto"):
            caption = str(params.get("caption") or "")
            upload = next(iter(files.values()), None)
            return await self.say(chat_id, caption, markup, [upload] if upload else [])
        if method in ("sendVenue", "sendLocation"):
            place = ", ".join(str(params[k]) for k in ("title", "address") if params.get(k))
            url = MAP_URL.format(
                latitude=float(params["latitude"]), longitude=float(params["longitude"])
            )
            return await self.say(chat_id, "", markup, links=[f"{place} {url}".strip()])
        if method == "answerCallbackQuery":
            if params.get("text"):
                await self.say(chat_id, str(params["text"]))
            return True
        if method == "editMessageReplyMarkup":
            choices, _ = choices_of(markup, TEXT_MESSAGE)
            await self._remember(chat_id, choices, int(params.get("message_id") or 0))
            return self._message(chat_id, int(params.get("message_id") or 0), "")
        return True  # sendChatAction, deleteMessage, copyMessage...: nothing a text can show

    async def say(
        self,
        chat_id: int,
        html_text: str,
        markup: Any = None,
        files: Sequence[tuple[str, bytes]] = (),
        links: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Send one text to the number's chat; returns it as a Bot API Message."""
        file_links = [await self._link(name, content) for name, content in files]
        async with self.sessions() as session:
            language = await session.scalar(select(Chat.language).where(Chat.id == chat_id))
        rendered = render(html_text, markup, [*file_links, *links], language)
        message_id = next(self._message_ids)
        await self.send_text(chat_id, rendered.body)
        await self._remember(chat_id, rendered.choices, message_id)
        return self._message(chat_id, message_id, rendered.body)

    async def send_text(
        self, chat_id: int, body: str, *, wait_out: bool = True, even_opted_out: bool = False
    ) -> str:
        """Send `body` as it is (already rendered) to the number's chat, within the pacer;
        Twilio's 429 is waited out (`wait_out`) or raised for the outbox to reschedule; a
        reply's server errors and timeouts are retried for REPLY_MAX_AGE.
        `even_opted_out`: the one confirmation of a STOP."""
        async with self.sessions() as session:
            number = await number_of_chat(session, chat_id)
        if number is not None and number.opted_out and not even_opted_out:
            raise ChatUnreachable("the number opted out")
        address = number.address if number is not None else self._recent_address(chat_id)
        if address is None:
            raise ChatUnreachable("the number is forgotten")
        digest = text_digest(body)
        if await self._went_before(chat_id, address, body, digest):
            return ""
        async with self.sessions() as session, session.begin():
            await start_send(session, chat_id, digest)
        waits = failures = 0
        give_up_at = time.monotonic() + REPLY_MAX_AGE
        while True:
            slot = await self.limiter.acquire(chat_id, send_priority.get())
            try:
                sid = await self.client.send(address, body)
            except RateLimited as error:
                slot.done(sent=False)
                self.limiter.pause(error.retry_after)
                waits += 1
                if not wait_out or waits > MAX_RATE_LIMIT_WAITS:
                    await self._settle(chat_id, digest)
                    raise
                await asyncio.sleep(min(error.retry_after, MAX_WAIT_SECONDS))
                continue
            except ChatUnreachable:
                slot.done(sent=False)
                async with self.sessions() as session, session.begin():
                    await set_opted_out(session, chat_id, True)
                    await settle_send(session, chat_id, digest)
                log.info("%s cannot be texted any more; it is opted out", mask(address))
                raise
            except PermanentFailure:
                slot.done(sent=False)
                await self._settle(chat_id, digest)
                raise
            except TemporaryFailure as error:
                slot.done(sent=True)  # it may have gone out: the next try asks Twilio first
                failures += 1
                delay = min(REPLY_BACKOFF_MAX, 0.5 * 2**failures)
                # a family waiting for an answer: retried for minutes, like a Telegram reply;
                # the outbox reschedules its own rows by their age
                if send_priority.get() != REPLY or time.monotonic() + delay > give_up_at:
                    raise
                log.warning("Texting %s failed (%s); again in %.0f s", mask(address), error, delay)
                await asyncio.sleep(delay)
                if await self._went_before(chat_id, address, body, digest):
                    return ""
                continue
            except Exception:
                slot.done(sent=True)  # it may have gone out: the next try asks Twilio first
                raise
            slot.done()
            await self._settle(chat_id, digest)
            log.info("Texted %s (%d segments)", mask(address), segments(body))
            return sid

    async def _went_before(self, chat_id: int, address: str, body: str, digest: str) -> bool:
        """A send of this very text whose answer was lost (a crash, a timeout): did it go?"""
        async with self.sessions() as session:
            started = await unsettled_send(session, chat_id, digest)
        if started is None:
            return False
        went = await self.client.was_sent(address, body, started)
        if went:
            await self._settle(chat_id, digest)
            log.info("A text to %s went before its answer was lost: not sent again", mask(address))
        return bool(went)

    async def _settle(self, chat_id: int, digest: str) -> None:
        async with self.sessions() as session, session.begin():
            await settle_send(session, chat_id, digest)

    # -- helpers --

    async def _link(self, name: str, content: bytes) -> str:
        async with self.sessions() as session, session.begin():
            row = await store_file(session, name, content, LINK_KEEP)
            file_id, expires_at = row.id, row.expires_at
        return self.links.url(file_id, name, expires_at)

    async def _remember(self, chat_id: int, choices: Sequence[Choice], message_id: int) -> None:
        if choices:
            async with self.sessions() as session, session.begin():
                await save_choices(session, chat_id, [(c.key, c.data) for c in choices], message_id)

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "text": text,
        }


def _chat_id(params: dict[str, Any]) -> int:
    if "chat_id" in params:
        return int(params["chat_id"])
    return callback_chat(str(params.get("callback_query_id", ""))) or 0


CALLBACK_PREFIX = "sms:"


def callback_query_id(chat_id: int, serial: int) -> str:
    """The id of a button pressed by a reply; it names the chat, so the answer finds it."""
    return f"{CALLBACK_PREFIX}{chat_id}:{serial}"


def callback_chat(query_id: str) -> int | None:
    if not query_id.startswith(CALLBACK_PREFIX):
        return None
    head = query_id[len(CALLBACK_PREFIX) :].split(":", 1)[0]
    return int(head) if head.isdigit() else None
