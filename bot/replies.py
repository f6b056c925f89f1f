"""Replies to families within Telegram's limits: paced before they go, never dropped.

Every message a handler sends takes its place in the bot's one `SendLimiter` (the outbox's
too) before it goes, as a reply: ahead of any broadcast still waiting, a few at once to the
same chat (a card and its map), at most about one a second to a chat after that. So a flash
crowd (300 families scanning a QR code at once) is answered at the bot's 30 a second, in
order, instead of all at once and into Telegram's flood control.

What can go wrong is waited out, not failed on:

- a 429 for the chat pauses that chat only (several chats at once: the whole bot), and the
  reply takes its turn again once the wait is over;
- a server error, a timeout or a network error is retried with backoff for up to
  `REPLY_MAX_AGE`: a family's answer is late rather than lost, but not minutes after they
  have given up on it.

Calls that send nothing (answering a button, getMe...) and texts to a number (the SMS channel
paces those at Twilio's rate) are not paced here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram_sender import retry_seconds
from jobs.sender import REPLY, REPLY_BACKOFF_MAX, REPLY_MAX_AGE, SendLimiter
from knowledge.sms import is_sms_chat

log = logging.getLogger(__name__)


def is_message(endpoint: str) -> bool:
    """Whether Telegram counts this call as a message sent (answering a button is not one)."""
    return endpoint.startswith(("send", "edit", "copy", "forward")) and endpoint != "sendChatAction"


class ReplyRateLimiter(BaseRateLimiter[None]):
    """python-telegram-bot's rate limiter hook for the application's Bot: the bot's limiter
    (shared with the outbox), at reply priority."""

    def __init__(self, limiter: SendLimiter, clock: Callable[[], float] = time.monotonic) -> None:
        self.limiter = limiter
        self.clock = clock

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if not (is_message(endpoint) and isinstance(chat_id, int) and not is_sms_chat(chat_id)):
            return await callback(*args, **kwargs)
        give_up_at = self.clock() + REPLY_MAX_AGE
        failures = 0
        while True:
            slot = await self.limiter.acquire(chat_id, REPLY)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                slot.done(sent=False)
                self.limiter.answered()
                seconds = retry_seconds(error)
                self.limiter.report_flood(chat_id, seconds)
                if self.clock() + seconds > give_up_at:
                    raise
                log.warning("%s: Telegram asked this chat to wait %.0f s", endpoint, seconds)
                continue  # its turn comes again once the wait is over
            except BadRequest:  # a NetworkError subclass, but the message's own fault
                slot.done(sent=False)
                self.limiter.answered()
                raise
            except NetworkError as error:  # 5xx, timeouts, connection trouble
                slot.done(sent=True)  # it may have gone out: keep its place
                self.limiter.report_server_error()
                failures += 1
                delay = min(REPLY_BACKOFF_MAX, 0.5 * 2**failures)
                if self.clock() + delay > give_up_at:
                    raise
                log.warning("%s failed (%s); retrying in %.0f s", endpoint, error, delay)
                await asyncio.sleep(delay)
                continue
            except Exception:
                slot.done(sent=False)
                self.limiter.answered()
                raise
            except BaseException:  # cancelled on the wire: it may have gone; free the chat
                slot.done(sent=True)
                raise
            slot.done()
            self.limiter.answered()
            return result
