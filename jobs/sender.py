"""How jobs/ and bot/ talk to Telegram: the `Sender` protocol `bot/` implements, what a send can
end in, and `SendLimiter`, the one place that keeps every send within Telegram's limits.

Every Bot API call that sends a message takes its place here *before* it goes: the outbox's
deliveries (jobs.delivery) and the handlers' replies (bot.replies) share one limiter, so the
two together stay within the bot's budget, and a reply waiting for its turn goes before any
broadcast. (The SMS channel has a limiter of its own, at SMS_RATE_PER_SECOND: same code.)

Telegram allows a bot about 30 messages a second overall, about 1 a second per chat and 20 a
minute per group. The limiter keeps every rolling second at or under `per_second` sends,
measured the conservative way: a send holds its place in the window from the moment its
request starts until `window` seconds after its answer came back. Telegram counts a send
somewhere between those two moments, so however long a request spends on the wire, no
one-second window Telegram sees can hold more than `per_second` of them. Sends are also paced
on a grid `1 / per_second` apart, so nothing goes out in bursts, after a pause included
(python-telegram-bot's AIORateLimiter with its defaults, by contrast, measured on the loopback
server: about twice the budget in the first second, and its queue all at once after a pause).
A send Telegram refused (403, 400, 429) gives its place back: it was no message.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import html
import itertools
import math
import re
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
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

REPLY, OUTBOX = 0, 1  # who is waiting: a family for an answer, or the outbox; replies go first

# Whose send a call is, for a limiter it reaches without being told: the SMS channel, under
# the outbox's Bot API calls. The outbox's tasks set OUTBOX; everything else is a reply.
send_priority: ContextVar[int] = ContextVar("send_priority", default=REPLY)

GROUP_INTERVAL = 3.0  # Telegram: about 20 messages a minute in a group
REPLY_MAX_AGE = 300.0  # seconds a reply is worth retrying after it was first tried
REPLY_BACKOFF_MAX = 30.0
REPLY_BURST = 3  # a reply may be a few messages at once (a card, then its map)
FLOOD_CHATS = 3  # 429s for this many different chats within FLOOD_SPREAD: the whole bot waits
FLOOD_SPREAD = 2.0
OUTAGE_FAILURES = 3  # server errors in a row, none answered in between: the API is down
OUTAGE_PROBE_MAX = 30.0  # seconds between tries while it is down (1, 2, 4 … 30)


class Slot:
    """One send's place in the limiter; call `done()` when Telegram has answered."""

    __slots__ = ("_limiter", "chat_id", "started", "paced", "paced_after", "_open")

    def __init__(
        self, limiter: SendLimiter, chat_id: int, started: float, paced: float, paced_after: float
    ) -> None:
        self._limiter = limiter
        self.chat_id = chat_id
        self.started = started
        self.paced = paced  # its place on the pacing grid
        self.paced_after = paced_after  # the place before it
        self._open = True

    def done(self, sent: bool = True) -> None:
        """The answer came back. `sent=False` gives the place back (in the window, the pacing
        and the chat's budget): Telegram refused the message (blocked chat, bad request, flood
        wait), so it sent nothing."""
        if self._open:
            self._open = False
            self._limiter._finish(self, sent)


@dataclass(slots=True)
class _ChatBudget:
    """One chat's token bucket, its flood wait and whether a send to it is on the wire."""

    tokens: float
    updated: float
    free_at: float = -math.inf  # the outbox's spacing: an interval after the last answer
    paused_until: float = -math.inf
    in_flight: bool = False


@dataclass(slots=True)
class _Waiter:
    chat_id: int
    priority: int
    seq: int  # its place in line: lower goes first
    future: asyncio.Future[Slot]


class SendLimiter:
    """At most `per_second` sends in any rolling `window`, paced on a `1 / per_second` grid;
    per chat one send on the wire at a time, a token bucket (one a `chat_interval`, replies
    may burst `reply_burst`; a group one every GROUP_INTERVAL), and the outbox a full interval
    after the chat's last answer. Waiting sends are granted in order, replies first, skipping
    those whose chat must wait (a chat in a flood wait holds up nobody else).

    A 429 for one chat pauses that chat (`report_flood`); 429s for several chats at once mean
    the bot as a whole is over its limit, and everything pauses, then resumes on a fresh grid
    (no burst). Server errors in a row (`report_server_error`) mean the API is down: sending
    pauses, then probes again at growing intervals until an answer comes back.
    """

    def __init__(
        self,
        per_second: float = 30,
        *,
        chat_interval: float = 1.0,
        group_interval: float = GROUP_INTERVAL,
        reply_burst: int = REPLY_BURST,
        window: float = 1.0,
        catch_up: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.group_interval = group_interval
        self.reply_burst = reply_burst
        self.window = window
        self.catch_up = catch_up
        self.clock = clock
        # The window: sends on the wire hold their place until answered (`_on_wire`); answered
        # ones until `window` after the answer. Answers come in clock order, so appending keeps
        # `_window_ends` sorted: the next place to free up is always at its left.
        self._on_wire = 0
        self._window_ends: deque[float] = deque()
        self._paced = -math.inf  # the pacing grid: where the latest send was due
        self._paused_until = -math.inf
        self._chats: dict[int, _ChatBudget] = {}
        # The waiting sends, per priority one line per chat: a chat's waiters are all allowed
        # at the same moment, so only the head of each line is ever looked at. Lines are
        # indexed by when their chat allows a send, so that finding the first one that may
        # go is a heap pop, not a scan of everyone waiting (1,000 replies at once):
        # - `_ready`: (head's seq, chat), per priority: lines that may go now, first come
        #   first; checked again when they come to the top (a 429 may have paused the chat);
        # - `_later`: (moment, priority, chat): lines waiting for their chat's token or pause;
        # - in neither: lines whose chat has a send on the wire; `_finish` puts them back.
        # An entry may be out of date (its head cancelled, its line granted or gone): it is
        # put right or dropped when it reaches the top.
        self._lines: tuple[dict[int, deque[_Waiter]], dict[int, deque[_Waiter]]] = ({}, {})
        self._ready: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        self._later: list[tuple[float, int, int]] = []
        self._seq = itertools.count()
        self._floods: deque[tuple[float, int]] = deque()
        self._server_errors = 0
        self._probe = 0.0  # the current pause between tries while the API is down
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._grant_pending = False

    # -- settings that change while running --

    def set_rate(self, per_second: float) -> None:
        """Change the budget (several processes share one bot's 30 a second)."""
        if per_second > 0 and per_second != self.per_second:
            self.per_second = per_second
            self._grant_soon()

    def pause(self, seconds: float) -> None:
        """Start nothing for `seconds`, then pace on a fresh grid (the sends that waited are not
        made up in a burst)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)
        self._paced = max(self._paced, self._paused_until - 1.0 / self.per_second)
        self._grant_soon()

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    def report_flood(self, chat_id: int, retry_after: float) -> None:
        """Telegram answered 429 for a send to `chat_id`: that chat waits `retry_after`; when
        several chats were refused at once, the bot was over its overall limit: all wait."""
        now = self.clock()
        budget = self._budget(chat_id, now)
        budget.paused_until = max(budget.paused_until, now + retry_after)
        while self._floods and self._floods[0][0] < now - FLOOD_SPREAD:
            self._floods.popleft()
        self._floods.append((now, chat_id))
        if len({chat for _, chat in self._floods}) >= FLOOD_CHATS:
            self._floods.clear()
            self.pause(retry_after)
        else:
            self._grant_soon()

    def report_server_error(self) -> None:
        """A send got a 5xx, a timeout or a network error. One is a blip, retried by its
        sender; several in a row with no answer between mean the API is down: pause, and
        each further failure once the pause is over doubles it (up to OUTAGE_PROBE_MAX)."""
        self._server_errors += 1
        if self._server_errors < OUTAGE_FAILURES or self.paused_for() > 0:
            return
        self._probe = min(OUTAGE_PROBE_MAX, self._probe * 2 if self._probe else 1.0)
        self.pause(self._probe)

    def answered(self) -> None:
        """The API answered (anything but a server error): it is up."""
        self._server_errors = 0
        self._probe = 0.0

    @property
    def api_down(self) -> bool:
        """Whether the last several sends all failed on the server's side."""
        return self._server_errors >= OUTAGE_FAILURES

    def outage_retry_seconds(self) -> float:
        """How long a send that failed during an outage should wait before it is tried again."""
        return max(self.paused_for(), self._probe)

    # -- when can the next send start --

    def _budget(self, chat_id: int, now: float) -> _ChatBudget:
        budget = self._chats.get(chat_id)
        if budget is None:
            budget = self._chats[chat_id] = _ChatBudget(self._capacity(chat_id), now)
        return budget

    def _capacity(self, chat_id: int) -> float:
        return 1.0 if chat_id < 0 else float(max(1, self.reply_burst))

    def _interval(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.chat_interval

    def _refill(self, chat_id: int, budget: _ChatBudget, now: float) -> None:
        interval = self._interval(chat_id)
        gained = (now - budget.updated) / interval if interval > 0 else math.inf
        budget.tokens = min(self._capacity(chat_id), budget.tokens + gained)
        budget.updated = now

    def chat_ready_at(self, chat_id: int, priority: int = OUTBOX) -> float:
        """The earliest moment a send to `chat_id` is allowed as far as the chat goes."""
        budget = self._chats.get(chat_id)
        if budget is None:
            return -math.inf
        if budget.in_flight:
            return math.inf
        now = self.clock()
        self._refill(chat_id, budget, now)
        interval = self._interval(chat_id)
        token_at = -math.inf if budget.tokens >= 1 else now + (1 - budget.tokens) * interval
        moments = [budget.paused_until, token_at]
        if priority == OUTBOX:
            moments.append(budget.free_at)
        ready = max(moments)
        if ready <= now and budget.tokens >= self._capacity(chat_id) and priority == OUTBOX:
            del self._chats[chat_id]  # nothing left to remember about it
            return -math.inf
        return ready

    def _global_ready_at(self, now: float) -> float:
        ends = self._window_ends
        while ends and ends[0] <= now:
            ends.popleft()
        ready = max(self._paused_until, self._paced + 1.0 / self.per_second)
        over = self._on_wire + len(ends) - max(1, int(self.per_second * self.window))
        if over >= 0:  # full: the next send waits for the place that frees first
            ready = max(ready, ends[over] if over < len(ends) else math.inf)  # inf: on the wire
        return ready

    def ready_at(self, chat_id: int | None = None, priority: int = OUTBOX) -> float:
        """The earliest moment a send (to `chat_id`) may start; inf while it waits on answers."""
        now = self.clock()
        if len(self._chats) > 4096:
            self._forget_idle_chats(now)
        ready = self._global_ready_at(now)
        if chat_id is not None:
            ready = max(ready, self.chat_ready_at(chat_id, priority))
        return ready

    def _forget_idle_chats(self, now: float) -> None:
        for chat_id in list(self._chats):
            self.chat_ready_at(chat_id)  # drops the chats that owe nothing

    # -- taking a place --

    async def acquire(self, chat_id: int, priority: int = OUTBOX) -> Slot:
        """Wait until a send to `chat_id` is allowed and nothing ahead of it is waiting, then
        take its place. Cancelling the wait gives the place back."""
        now = self.clock()
        if self.ready_at(chat_id, priority) <= now and not self._ready_ahead(priority, now):
            return self._take(chat_id, priority)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(chat_id, priority, next(self._seq), loop.create_future())
        line = self._lines[priority].get(chat_id)
        if line is None:
            line = self._lines[priority][chat_id] = deque()
            heapq.heappush(self._ready[priority], (waiter.seq, chat_id))
        line.append(waiter)
        self._grant_soon()
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                waiter.future.result().done(sent=False)
            line = self._lines[priority].get(chat_id)
            if line is not None:
                with contextlib.suppress(ValueError):
                    line.remove(waiter)
                if not line:
                    del self._lines[priority][chat_id]
            raise

    def _ready_ahead(self, priority: int, now: float) -> bool:
        """Whether a send waiting at `priority` or before could go now: it goes first. Sends
        that wait for their own chat (a family flooding the bot, a chat in a flood wait) hold
        up nobody: another chat's reply takes its place at once, not after a turn in line."""
        self._wake(now)
        return self._first_ready(priority, now) is not None

    def _wake(self, now: float) -> None:
        """Lines whose chat's moment has come may go now."""
        while self._later and self._later[0][0] <= now:
            _, priority, chat_id = heapq.heappop(self._later)
            line = self._lines[priority].get(chat_id)
            if line:
                heapq.heappush(self._ready[priority], (line[0].seq, chat_id))

    def _first_ready(self, priority: int, now: float) -> _Waiter | None:
        """The first waiter at `priority` or before whose chat allows a send now; it stays at
        the top of its `_ready` heap. Entries found out of date on the way are put right."""
        for level in range(priority + 1):
            ready, lines = self._ready[level], self._lines[level]
            while ready:
                seq, chat_id = ready[0]
                line = lines.get(chat_id)
                if not line:  # granted or cancelled meanwhile
                    heapq.heappop(ready)
                    if line is not None:  # emptied just below: no empty lines are kept
                        del lines[chat_id]
                    continue
                if line[0].future.done():  # cancelled; its task has not run to remove it yet
                    line.popleft()
                    continue
                if line[0].seq != seq:  # its head changed: take its place in line again
                    heapq.heapreplace(ready, (line[0].seq, chat_id))
                    continue
                chat_at = self.chat_ready_at(chat_id, level)
                if chat_at <= now:
                    return line[0]
                heapq.heappop(ready)
                if chat_at < math.inf:  # inf: a send on the wire; its answer puts it back
                    heapq.heappush(self._later, (chat_at, level, chat_id))
        return None

    def _grant_soon(self) -> None:
        """Grant once the caller is done changing things (a refused send gives its place back,
        then pauses: nobody may slip in between)."""
        if self._grant_pending or not any(self._lines):
            return
        self._grant_pending = True
        asyncio.get_running_loop().call_soon(self._grant)

    def _grant(self) -> None:
        """Hand out every place that is free now, in order; arm a timer for the next one."""
        self._grant_pending = False
        now = self.clock()
        self._wake(now)
        while (waiter := self._first_ready(OUTBOX, now)) is not None:
            open_at = self._global_ready_at(now)
            if open_at > now:
                self._arm(open_at, now)
                return
            # `waiter` heads its line and its entry tops its heap: both go.
            heapq.heappop(self._ready[waiter.priority])
            lines = self._lines[waiter.priority]
            lines[waiter.chat_id].popleft()
            if not lines[waiter.chat_id]:
                del lines[waiter.chat_id]
            waiter.future.set_result(self._take(waiter.chat_id, waiter.priority))
        if self._later:
            self._arm(self._later[0][0], now)

    def _arm(self, when: float, now: float) -> None:
        if when == math.inf or when >= self._timer_at:
            return  # an answer arriving calls _grant; an earlier timer is armed already
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = asyncio.get_running_loop().call_later(max(0.0, when - now), self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._grant()

    def _take(self, chat_id: int, priority: int) -> Slot:
        # Keep to the grid, so a late wake-up or a short stall (a busy event loop, a busy CPU)
        # is made up rather than lost for good; after a longer one, or idling, start a fresh
        # grid: nothing to make up, no burst. The window budget holds regardless.
        now = self.clock()
        due = self._paced + 1.0 / self.per_second
        paced = due if now - due <= self.catch_up else now
        slot = Slot(self, chat_id, now, paced, self._paced)
        self._on_wire += 1
        self._paced = paced
        budget = self._budget(chat_id, now)
        self._refill(chat_id, budget, now)
        budget.tokens -= 1
        budget.in_flight = True
        return slot

    def _finish(self, slot: Slot, sent: bool) -> None:
        now = self.clock()
        budget = self._budget(slot.chat_id, now)
        budget.in_flight = False
        self._on_wire -= 1
        if sent:
            ends = now + self.window
            if self._window_ends and ends < self._window_ends[-1]:
                bisect.insort(self._window_ends, ends)  # only if the clock went back
            else:
                self._window_ends.append(ends)
            budget.free_at = now + self._interval(slot.chat_id)
        else:
            # Not a message after all: its place in the window, the pacing and the chat's
            # budget are free again.
            budget.tokens = min(self._capacity(slot.chat_id), budget.tokens + 1)
            if self._paced == slot.paced:
                self._paced = slot.paced_after
        for priority, lines in enumerate(self._lines):  # its chat's lines may go again
            line = lines.get(slot.chat_id)
            if line:
                heapq.heappush(self._ready[priority], (line[0].seq, slot.chat_id))
        self._grant_soon()
