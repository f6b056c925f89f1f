"""Fairness: chats run concurrently, each chat in order; a flooding chat is throttled."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.local_chat import message_update
from bot.updates import ChatOrderedProcessor, FloodGuard


def update_from(chat_id: int, text: str) -> Update:
    return Update.de_json(message_update(chat_id, text), None)  # type: ignore[arg-type]


async def test_one_chat_in_order_while_another_is_not_delayed() -> None:
    processor = ChatOrderedProcessor(max_concurrent_updates=16)
    order: list[str] = []
    slow_started = asyncio.Event()

    async def handle(name: str, delay: float) -> None:
        if name == "a1":
            slow_started.set()
        await asyncio.sleep(delay)
        order.append(name)

    tasks = [
        asyncio.create_task(processor.process_update(update_from(1, "a1"), handle("a1", 0.2))),
        asyncio.create_task(processor.process_update(update_from(1, "a2"), handle("a2", 0.0))),
    ]
    await slow_started.wait()
    tasks.append(
        asyncio.create_task(processor.process_update(update_from(2, "b1"), handle("b1", 0.0)))
    )
    await asyncio.gather(*tasks)
    assert order == ["b1", "a1", "a2"]  # b1 did not wait for chat 1; a2 waited for a1


async def test_a_flooding_chat_is_throttled_and_warned_once() -> None:
    now = [0.0]
    guard = FloodGuard(window=10, limit=5, cooldown=30, clock=lambda: now[0])
    processor = ChatOrderedProcessor(guard=guard)
    handled: list[int] = []
    warned: list[int] = []

    async def warn(update: Update) -> None:
        warned.append(update.effective_chat.id)  # type: ignore[union-attr]

    async def handle(chat_id: int) -> None:
        handled.append(chat_id)

    processor.on_flood = warn
    for _ in range(40):
        await processor.process_update(update_from(1, "spam"), handle(1))
    await processor.process_update(update_from(2, "hello"), handle(2))
    assert handled.count(1) == 5 and handled.count(2) == 1
    assert warned == [1]
    now[0] = 31.0  # after the cool-down the chat is heard again
    await processor.process_update(update_from(1, "sorry"), handle(1))
    assert handled.count(1) == 6


def test_the_flood_guard_forgets_chats_that_went_quiet() -> None:
    now = [0.0]
    guard = FloodGuard(window=10, limit=5, cooldown=30, clock=lambda: now[0])
    for chat_id in range(20_000):  # a long-running bot hears from many chats once
        assert guard.admit(chat_id) == (True, False)
        now[0] += 0.01
    assert len(guard._seen) < 5_000  # only about the last window's chats are kept
    assert [guard.admit(7) for _ in range(6)][-1] == (False, True)
    for chat_id in range(100_000, 105_000):  # enough new chats for another sweep
        guard.admit(chat_id)
        now[0] += 0.001
    assert guard.admit(7) == (False, False)  # a muted chat stays muted through a sweep
