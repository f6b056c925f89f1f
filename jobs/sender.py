"""How jobs/ talks to Telegram: the `Sender` protocol `bot/` implements, what a send can end
in, and `SendLimiter`, the one place that keeps sends within Telegram's limits.

Telegram allows a bot about 30 messages a second overall and 1 a second per chat. The limiter
keeps every rolling second at or under `per_second` sends and a chat's sends at least
`chat_interval` apart, measured the conservative way: a send holds its place in the window from
the moment its request starts until `window` seconds after its answer came back. Telegram counts
a send somewhere between those two moments, so however long a request spends on the wire, no
one-second window Telegram sees can hold more than `per_second` of them. Sends are also paced
on a grid `1 / per_second` apart, so nothing goes out in bursts, after a RetryAfter pause
included (python-telegram-bot's AIORateLimiter with its defaults, by contrast, measured on the
loopback server: about twice the budget in the first second, and its queue all at once after
a pause). A send Telegram refused (403, 400, 429) gives its place back: it was no message.
"""

from __future__ import annotations

import asyncio
import html
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

MAX_CAPTION = 1024


# --- what a send can end in -------------------------------------------------------------------


class DeliveryError(Exception):
    """A send that did not deliver; the subclass says what to do about it."""


class ChatUnreachable(DeliveryError):
    """403: the user blocked the bot (or the chat is gone). Never retried; unsubscribes."""


class PermanentFailure(DeliveryError):
    """400 and the like: this message can never reach this chat as it is. Never retried."""


class RateLimited(DeliveryError):
    """429: Telegram says wait `retry_after` seconds. The row is retried, not counted as a fault."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"flood control: retry after {retry_after:g} s")
        self.retry_after = float(retry_after)


class TemporaryFailure(DeliveryError):
    """Network trouble or a server error: retried with backoff."""


# --- what is sent -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as the outbox holds it: HTML text, an optional inline keyboard (Bot API
    JSON) and an optional file sent with the text as its caption."""

    text: str
    reply_markup: str | None = None
    attachment_name: str | None = None
    attachment: bytes | None = None

    def parts(self) -> list[Outgoing]:
        """The API calls this takes: one, or two when the text is too long to be a caption
        (the text with its keyboard first, then the file)."""
        if self.attachment is None or visible_length(self.text) <= MAX_CAPTION:
            return [self]
        return [
            Outgoing(self.text, self.reply_markup),
            Outgoing("", None, self.attachment_name, self.attachment),
        ]


_TAG = re.compile(r"<[^>]*>")


def visible_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after HTML parsing."""
    plain = html.unescape(_TAG.sub("", text))
    return len(plain.encode("utf-16-le")) // 2


class Sender(Protocol):
    """Telegram, as the delivery engine needs it. Implementations raise the errors above."""

    async def send(self, chat_id: int, outgoing: Outgoing) -> int:
        """Send one part; returns Telegram's message id."""
        ...

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        """Replace the text of a message the bot sent (progress reports)."""
        ...


# --- the limiter ------------------------------------------------------------------------------


class Slot:
    """One send's place in the limiter; call `done()` when Telegram has answered."""

    __slots__ = ("_limiter", "chat_id", "started", "paced", "paced_after", "ends", "_open")

    def __init__(
        self, limiter: SendLimiter, chat_id: int, started: float, paced: float, paced_after: float
    ) -> None:
        self._limiter = limiter
        self.chat_id = chat_id
        self.started = started
        self.paced = paced  # its place on the pacing grid
        self.paced_after = paced_after  # the place before it
        self.ends = math.inf  # in flight: holds its place until answered
        self._open = True

    def done(self, sent: bool = True) -> None:
        """The answer came back. `sent=False` gives the place back (in the window and in the
        pacing): Telegram refused the message (blocked chat, bad request, flood wait), so it
        sent nothing."""
        if self._open:
            self._open = False
            self._limiter._finish(self, sent)


class SendLimiter:
    """At most `per_second` sends in any rolling `window`, one per chat per `chat_interval`,
    paced on a `1 / per_second` grid, and nothing during a RetryAfter pause."""

    def __init__(
        self,
        per_second: float = 30,
        *,
        chat_interval: float = 1.0,
        window: float = 1.0,
        catch_up: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.window = window
        self.catch_up = catch_up
        self.clock = clock
        self._slots: list[Slot] = []  # every slot whose place has not expired yet
        self._paced = -math.inf  # the pacing grid: where the latest send was due
        self._paused_until = -math.inf
        self._chat_free_at: dict[int, float] = {}
        self._changed = asyncio.Event()

    # -- settings that change while running --

    def set_rate(self, per_second: float) -> None:
        """Change the budget (several processes share one bot's 30 a second)."""
        if per_second > 0 and per_second != self.per_second:
            self.per_second = per_second
            self._changed.set()

    def pause(self, seconds: float) -> None:
        """Telegram answered 429: start nothing for `seconds`, then pace on a fresh grid (the
        sends that waited are not made up in a burst)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)
        self._paced = max(self._paced, self._paused_until - 1.0 / self.per_second)
        self._changed.set()

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    def record(self, chat_id: int) -> None:
        """A message that went out another way (a reply to a family): it takes its place in the
        window and makes the chat wait as any send would, so the two together keep the limits."""
        now = self.clock()
        if len(self._slots) > 1024:  # nothing may be sending through the limiter to prune them
            self._slots = [s for s in self._slots if s.ends > now]
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}
        slot = Slot(self, chat_id, now, self._paced, self._paced)
        slot.ends = now + self.window
        slot._open = False
        self._slots.append(slot)
        free = self._chat_free_at.get(chat_id, now)
        self._chat_free_at[chat_id] = max(free, now + self.chat_interval)

    # -- when can the next send start --

    def chat_ready_at(self, chat_id: int) -> float:
        free = self._chat_free_at.get(chat_id)
        if free is not None and free <= self.clock():
            del self._chat_free_at[chat_id]
            return -math.inf
        return -math.inf if free is None else free

    def ready_at(self, chat_id: int | None = None) -> float:
        """The earliest moment a send (to `chat_id`) may start; inf while it waits on answers."""
        now = self.clock()
        self._slots = [s for s in self._slots if s.ends > now]
        if len(self._chat_free_at) > 4096:
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}
        budget = max(1, int(self.per_second * self.window))
        moments = [self._paused_until, self._paced + 1.0 / self.per_second]
        if len(self._slots) >= budget:
            ends = sorted(s.ends for s in self._slots)
            moments.append(ends[len(self._slots) - budget])
        if chat_id is not None:
            moments.append(self.chat_ready_at(chat_id))
        return max(moments)

    async def acquire(self, chat_id: int) -> Slot:
        """Wait until a send to `chat_id` is allowed and take its place."""
        while True:
            now = self.clock()
            ready = self.ready_at(chat_id)
            if ready <= now:
                break
            self._changed.clear()
            # An answer arriving or a rate change can make it sooner: wake on those too.
            wait = 1.0 if ready == math.inf else min(ready - now, 1.0)
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=wait)
            except TimeoutError:
                pass
        # Keep to the grid, so a late wake-up or a short stall (a busy event loop, a busy CPU)
        # is made up rather than lost for good; after a longer one, or idling, start a fresh
        # grid: nothing to make up, no burst. The window budget above holds regardless.
        step = 1.0 / self.per_second
        due = self._paced + step
        paced = due if now - due <= self.catch_up else now
        slot = Slot(self, chat_id, now, paced, self._paced)
        self._slots.append(slot)
        self._paced = paced
        self._chat_free_at[chat_id] = math.inf
        return slot

    def _finish(self, slot: Slot, sent: bool) -> None:
        now = self.clock()
        if sent:
            slot.ends = now + self.window
            self._chat_free_at[slot.chat_id] = now + self.chat_interval
        else:
            # Not a message after all: its place in the window and in the pacing are free again.
            slot.ends = now
            self._chat_free_at.pop(slot.chat_id, None)
            if self._paced == slot.paced:
                self._paced = slot.paced_after
        self._changed.set()
