"""Concurrent update processing that keeps each chat's updates in order and throttles floods.

Updates from different chats run concurrently, so one slow or noisy chat cannot delay anyone
else; updates from the same chat run one at a time, in arrival order, so a conversation never
sees its messages reordered. A chat sending faster than a person can type is throttled: its
excess updates are dropped before they take a processing slot, and it is told once to slow down.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

FLOOD_WINDOW_SECONDS = 10.0
FLOOD_MAX_UPDATES = 20  # per window; a person tapping fast stays well under this
FLOOD_COOLDOWN_SECONDS = 30.0
SWEEP_ABOVE = 4096  # chats remembered before quiet ones are forgotten


class FloodGuard:
    """Sliding-window counter per chat; a chat over the limit is muted for a cool-down."""

    def __init__(
        self,
        window: float = FLOOD_WINDOW_SECONDS,
        limit: int = FLOOD_MAX_UPDATES,
        cooldown: float = FLOOD_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window, self.limit, self.cooldown, self.clock = window, limit, cooldown, clock
        self._seen: dict[int, deque[float]] = defaultdict(deque)
        self._muted_until: dict[int, float] = {}
        self._sweep_above = SWEEP_ABOVE

    def admit(self, chat_id: int) -> tuple[bool, bool]:
        """(whether to process this update, whether to warn the chat now)."""
        now = self.clock()
        if self._muted_until.get(chat_id, 0.0) > now:
            return False, False
        if len(self._seen) + len(self._muted_until) > self._sweep_above:
            self._forget_quiet_chats(now)
        seen = self._seen[chat_id]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        seen.append(now)
        if len(seen) > self.limit:
            self._muted_until[chat_id] = now + self.cooldown
            del self._seen[chat_id]
            return False, True
        return True, False

    def _forget_quiet_chats(self, now: float) -> None:
        """Drop chats with nothing in the window and expired mutes: a bot that runs for months
        hears from many chats once. Amortised: the next sweep waits until the maps double."""
        self._seen = defaultdict(
            deque, {c: d for c, d in self._seen.items() if d and d[-1] > now - self.window}
        )
        self._muted_until = {c: t for c, t in self._muted_until.items() if t > now}
        self._sweep_above = max(SWEEP_ABOVE, 2 * (len(self._seen) + len(self._muted_until)))


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs updates concurrently across chats and in order within a chat."""

    def __init__(self, max_concurrent_updates: int = 64, guard: FloodGuard | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self.guard = guard or FloodGuard()
        self.on_flood: Callable[[Update], Awaitable[None]] | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat_id = _chat_id(update)
        if chat_id is None:
            await coroutine
            return
        # A flood is dropped here, at once, so it never waits in line and holds no slot long.
        admitted, warn = self.guard.admit(chat_id)
        if not admitted:
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            if warn and self.on_flood is not None and isinstance(update, Update):
                await self.on_flood(update)
            return
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:  # forget idle chats so the maps stay small
                del self._waiting[chat_id]
                del self._locks[chat_id]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _chat_id(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:  # inline queries have a user, not a chat
            return update.effective_user.id
    return None
