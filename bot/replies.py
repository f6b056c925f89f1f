"""Replies to families within Telegram's limits, without making anyone wait who need not.

A reply answers someone who is waiting, so it goes out at once; the outbox (broadcasts,
reminders) is what gets paced (jobs.sender.SendLimiter). Two things tie the two together:

- every message a handler sends takes its place in the outbox limiter's window, so a broadcast
  gives way to replies within the bot's 30 a second instead of adding to them;
- a 429 is obeyed, not failed on: every reply waits out `retry_after` (and so does the outbox),
  then the request is made again, up to MAX_RETRIES times. A family's answer is late, not lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram_sender import retry_seconds
from jobs.sender import SendLimiter
from knowledge.sms import is_sms_chat

log = logging.getLogger(__name__)

MAX_RETRIES = 3
MAX_WAIT_SECONDS = 60.0  # a longer flood wait is reported, not slept through by a handler


def is_message(endpoint: str) -> bool:
    """Whether Telegram counts this call as a message sent (answering a button is not one)."""
    return endpoint.startswith(("send", "edit", "copy", "forward"))


class ReplyRateLimiter(BaseRateLimiter[None]):
    """python-telegram-bot's rate limiter hook for the application's Bot (not the outbox's)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.outbox: SendLimiter | None = None  # set once the delivery worker exists
        self._paused_until = 0.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        attempt = 0
        while True:
            if self.paused_for() > 0:
                await asyncio.sleep(self.paused_for())
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_seconds(error)
                self._paused_until = max(self._paused_until, self.clock() + seconds)
                if self.outbox is not None:
                    self.outbox.pause(seconds)
                attempt += 1
                if attempt > MAX_RETRIES or seconds > MAX_WAIT_SECONDS:
                    raise
                log.warning("%s: Telegram asked to wait %.0f s; retrying", endpoint, seconds)
                continue
            chat_id = data.get("chat_id")
            if (
                self.outbox is not None
                and is_message(endpoint)
                and isinstance(chat_id, int)
                and not is_sms_chat(chat_id)  # a text: Twilio's budget, not Telegram's
            ):
                self.outbox.record(chat_id)
            return result
