"""The send limiter (jobs/sender.py): its windows on a virtual clock, and measured against the
loopback Bot API server through the real python-telegram-bot sender.
"""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot

from bot.telegram_sender import TelegramSender
from botapi import FakeBotApi
from jobs.sender import OUTBOX, REPLY, Outgoing, RateLimited, SendLimiter

# --- on a virtual clock: deterministic, instant ---------------------------------------------


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def run_sends(
    limiter: SendLimiter, clock: VirtualClock, chats: list[int], latency: float
) -> list[float]:
    """Send to `chats` one after another as the limiter allows; returns the start times."""
    starts = []
    for chat_id in chats:
        clock.now = max(clock.now, limiter.ready_at(chat_id))
        slot = await limiter.acquire(chat_id)  # ready now: returns without waiting
        starts.append(clock.now)
        clock.now += latency
        slot.done()
    return starts


def busiest_second(times: list[float]) -> int:
    """The most sends in any window (t - 1, t], as Telegram and the loopback server count."""
    times = sorted(times)
    return max(sum(1 for u in times if t - 1.0 < u <= t) for t in times)


async def test_limiter_keeps_every_rolling_second_at_or_under_30() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    starts = await run_sends(limiter, clock, list(range(300)), latency=0.004)
    assert busiest_second(starts) <= 30
    # ...and with the request's time on the wire counted in, it still holds for any latency.
    assert all(b - a >= 1.0 + 0.004 - 1e-9 for a, b in zip(starts, starts[30:], strict=False))
    # Sustained: 300 sends take about 10 s, not much more.
    assert starts[-1] - starts[0] < 300 / 30 * 1.02


async def test_limiter_paces_sends_so_there_is_no_burst() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    starts = await run_sends(limiter, clock, list(range(60)), latency=0.0)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1 / 30 - 1e-9
    assert sum(1 for t in starts if t < 0.5) <= 16  # the first half second: half the budget


async def test_limiter_waits_out_retry_after_then_paces_without_a_burst() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    before = await run_sends(limiter, clock, list(range(45)), latency=0.002)
    paused_at = clock.now
    limiter.pause(3.0)
    after = await run_sends(limiter, clock, list(range(100, 190)), latency=0.002)
    assert after[0] >= paused_at + 3.0
    assert busiest_second(before + after) <= 30
    # No burst when the pause ends: the first second after it holds at most one second's worth,
    # evenly spread (the window emptied during the pause, a naive limiter would send 30 at once).
    assert sum(1 for t in after if t < after[0] + 0.5) <= 16


async def test_limiter_keeps_one_chat_to_one_send_a_second() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    starts = await run_sends(limiter, clock, [5, 5, 5, 5], latency=0.01)
    assert all(b - a >= 1.0 for a, b in zip(starts, starts[1:], strict=False))


async def test_a_reply_may_burst_a_little_then_keeps_to_a_second_and_the_outbox_waits() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    starts = []
    for _ in range(5):  # a handler answering with five messages in a row
        clock.now = max(clock.now, limiter.ready_at(5, REPLY))
        slot = await limiter.acquire(5, REPLY)
        starts.append(clock.now)
        clock.now += 0.01
        slot.done()
    assert starts[2] - starts[0] < 0.5  # the first three go at once (paced overall)...
    assert starts[3] - starts[0] >= 1.0 - 1e-9  # ...then about one a second
    # A broadcast to the chat just answered waits a full second after the last answer.
    assert limiter.ready_at(5) >= clock.now + 1.0 - 1e-9


async def test_a_group_gets_at_most_twenty_messages_a_minute() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    starts = await run_sends(limiter, clock, [-100] * 25, latency=0.01)
    assert sum(1 for t in starts if t < starts[0] + 60) <= 20


async def test_waiting_replies_go_before_waiting_broadcasts() -> None:
    limiter = SendLimiter(1000)
    limiter.pause(0.2)  # everyone queues up behind a flood wait
    order: list[str] = []

    async def send(chat_id: int, priority: int, kind: str) -> None:
        slot = await limiter.acquire(chat_id, priority)
        order.append(kind)
        slot.done()

    tasks = [asyncio.create_task(send(c, OUTBOX, "broadcast")) for c in range(1, 11)]
    await asyncio.sleep(0.01)  # the broadcasts were waiting first
    tasks += [asyncio.create_task(send(c, REPLY, "reply")) for c in range(11, 21)]
    await asyncio.gather(*tasks)
    assert order == ["reply"] * 10 + ["broadcast"] * 10


async def test_one_chats_flood_wait_holds_up_no_other_chat() -> None:
    limiter = SendLimiter(1000)
    limiter.report_flood(1, 60.0)  # a family provoked a 429 with retry_after 60
    flooded = asyncio.create_task(limiter.acquire(1, REPLY))
    others = [asyncio.create_task(limiter.acquire(c, REPLY)) for c in range(2, 30)]
    slots = await asyncio.wait_for(asyncio.gather(*others), timeout=10)
    for slot in slots:
        slot.done()
    assert not flooded.done() and limiter.paused_for() == 0
    flooded.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flooded


async def test_a_chats_waiting_sends_go_one_by_one_in_order_skipping_a_cancelled_one() -> None:
    limiter = SendLimiter(1000, chat_interval=0.0)
    on_the_wire = await limiter.acquire(7)
    waiting = [asyncio.create_task(limiter.acquire(7)) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(task.done() for task in waiting)  # one send to a chat on the wire at a time
    waiting[0].cancel()  # the first in line gives up: the next one is not held up by it
    on_the_wire.done()
    second = await asyncio.wait_for(waiting[1], timeout=5)
    assert waiting[0].cancelled() and not waiting[2].done()
    second.done()
    (await asyncio.wait_for(waiting[2], timeout=5)).done()


async def test_a_flooding_chats_waiting_replies_do_not_queue_another_chats_reply() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    for _ in range(3):  # the flooding family used up its burst...
        clock.now = max(clock.now, limiter.ready_at(1, REPLY))
        (await limiter.acquire(1, REPLY)).done()
    # ...so its next replies wait for the chat's one-a-second turn.
    flooder = [asyncio.create_task(limiter.acquire(1, REPLY)) for _ in range(5)]
    await asyncio.sleep(0)
    clock.now = limiter.ready_at(2, REPLY)  # the grid's next place, still inside that second
    assert clock.now < limiter.chat_ready_at(1, REPLY)
    # Another family's reply takes its place at once: it does not even wait for a turn of
    # the event loop behind the flooder's queue.
    asking = limiter.acquire(2, REPLY)
    with pytest.raises(StopIteration) as taken:
        asking.send(None)
    slot = taken.value.value
    assert slot.chat_id == 2 and not any(task.done() for task in flooder)
    slot.done()
    for task in flooder:
        task.cancel()
    await asyncio.gather(*flooder, return_exceptions=True)


async def test_a_chat_whose_flood_wait_is_over_gets_its_turn() -> None:
    limiter = SendLimiter(1000)
    limiter.report_flood(1, 0.2)
    slot = await asyncio.wait_for(limiter.acquire(1, REPLY), timeout=10)
    slot.done()


async def test_floods_for_several_chats_at_once_pause_the_whole_bot() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    limiter.report_flood(1, 5.0)
    limiter.report_flood(2, 5.0)
    assert limiter.paused_for() == 0  # two families: their chats wait, nobody else
    limiter.report_flood(3, 5.0)
    assert limiter.paused_for() == pytest.approx(5.0)  # the bot itself is over its limit


async def test_server_errors_in_a_row_pause_sending_until_an_answer_comes_back() -> None:
    clock = VirtualClock()
    limiter = SendLimiter(30, clock=clock)
    limiter.report_server_error()
    limiter.report_server_error()
    assert not limiter.api_down and limiter.paused_for() == 0  # a blip or two
    limiter.report_server_error()
    assert limiter.api_down and limiter.paused_for() == pytest.approx(1.0)
    clock.now += 1.0
    limiter.report_server_error()  # the probe failed too: wait twice as long
    assert limiter.paused_for() == pytest.approx(2.0)
    limiter.answered()
    assert not limiter.api_down


async def test_limiter_gives_back_the_place_of_a_refused_send() -> None:
    async def ready_after(refuse_second: bool) -> float:
        clock = VirtualClock()
        limiter = SendLimiter(2, clock=clock)
        first = await limiter.acquire(1)
        clock.now = 0.5
        second = await limiter.acquire(2)
        clock.now = 0.6  # both answers arrive
        first.done()
        second.done(sent=not refuse_second)  # refused (403): Telegram sent nothing
        return limiter.ready_at(3)

    assert await ready_after(refuse_second=False) == pytest.approx(1.6)  # both places held
    # Refused: neither its window place nor its pacing slot is held; the next may go now (0.6).
    assert await ready_after(refuse_second=True) <= 0.6


# --- against the loopback Bot API server ----------------------------------------------------


async def test_limiter_measured_against_the_loopback_server() -> None:
    """Real sends through python-telegram-bot: no 429 from a server that answers 429 whenever a
    rolling second holds more than 30 sends, and a pause after a forced 429 with no burst."""
    with FakeBotApi() as api:
        api.rate_limit(30)
        bot = Bot(api.token, base_url=api.base_url)
        await bot.initialize()
        sender = TelegramSender(bot)
        limiter = SendLimiter(30)
        try:

            async def send(chat_id: int) -> None:
                slot = await limiter.acquire(chat_id)
                try:
                    await sender.send(chat_id, Outgoing(f"hello {chat_id}"))
                except RateLimited as error:
                    slot.done(sent=False)
                    limiter.pause(error.retry_after)  # the server's overall limit
                    await send(chat_id)
                    return
                slot.done()

            tasks = []
            for chat_id in range(1, 76):
                if chat_id == 40:
                    api.fail_next("sendMessage", 429, retry_after=1)
                slot_wait = asyncio.create_task(send(chat_id))
                tasks.append(slot_wait)
                await asyncio.sleep(0)  # let it take its place in order
            await asyncio.gather(*tasks)
        finally:
            await bot.shutdown()
        errors = [repr(c) for c in api.errors]
        assert api.count_429 == 1, errors  # only the forced one: the limiter never overshoots
        assert api.max_sends_per_second <= 30
        assert all(count <= 1 for count in api.max_chat_sends_per_second.values())
        sends = [c for c in api.calls if c.method == "sendMessage" and c.ok]
        assert len(sends) == 75
        flood = next(c for c in api.calls if c.error_code == 429)
        after = sorted(c.time for c in sends if c.time > flood.time)
        assert after and after[0] >= flood.time + 0.9, after[:3]  # waited out retry_after
        # ...and no burst when it ended: paced (16 in half a second), give or take the wire's
        # jitter, where a naive limiter releases everything that queued up during the pause.
        assert sum(1 for t in after if t < after[0] + 0.5) <= 20, after[:25]
