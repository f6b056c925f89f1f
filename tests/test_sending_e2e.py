"""End to end: how the bot sends when Telegram is busy or unwell (issue 16, "Sending").

`python -m bot run` as its own process against the loopback Bot API server, which answers 429
whenever a rolling second would hold more than 30 sends, on SQLite and PostgreSQL:

- a flash crowd (300 families sending /subscribe at once) is answered, every one, within the
  server's limit (a handful of 429s at most);
- one chat's flood wait does not hold up another chat's reply, and the flooded chat's reply
  still arrives once the wait is over;
- a reply that gets a 502 is sent again; a success whose body is garbled is not;
- an outage during a broadcast: once the API is back, every subscriber gets it, once.

Arrival, order and counts are asserted; timings never are.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from test_broadcast_e2e import (
    COORDINATOR,
    FAMILIES,
    FINISH_SECONDS,
    BotProcess,
    broadcast_sends,
    is_report,
    seed_subscribers,
    start_broadcast,
)

from botapi import Call, FakeBotApi

CROWD = list(range(990_001, 990_301))  # 300 families who scanned the QR code at once
DONE = "Done! You will get announcements"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi().start()
    server.rate_limit(30)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def bot(api: FakeBotApi, database_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(api, database_url, tmp_path)
    yield process
    await asyncio.to_thread(process.stop)


async def started(bot: BotProcess) -> BotProcess:
    bot.start()
    await asyncio.to_thread(bot.wait_until_up)
    return bot


async def eventually(check: Callable[[], bool], what: str, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.3)


def answered(api: FakeBotApi, text: str) -> Counter[int]:
    """How many times each chat was sent `text`."""
    return Counter(
        int(c.chat_id)  # type: ignore[arg-type]
        for c in api.calls
        if c.ok and c.method == "sendMessage" and text in str(c.text)
    )


def replies_to(api: FakeBotApi, chat_id: int, text: str) -> list[Call]:
    return [
        c
        for c in api.calls
        if c.ok and c.method == "sendMessage" and c.chat_id == chat_id and text in str(c.text)
    ]


async def test_a_flash_crowd_is_answered_every_one_within_the_limits(
    api: FakeBotApi, bot: BotProcess
) -> None:
    await started(bot)
    for chat_id in CROWD:
        api.push_message(chat_id, "/subscribe")
    await eventually(
        lambda: len(answered(api, DONE)) >= len(CROWD), "every family's answer", FINISH_SECONDS
    )
    assert answered(api, DONE) == Counter({chat_id: 1 for chat_id in CROWD})
    assert api.count_429 <= 5, bot.output()
    assert api.max_sends_per_second <= 30


async def test_one_chats_flood_wait_does_not_hold_up_another_chats_reply(
    api: FakeBotApi, bot: BotProcess
) -> None:
    flooded, other = 991_001, 991_002
    await started(bot)
    api.flood_chat(flooded, 20)  # Telegram makes this chat wait 20 s
    flood_ends = time.time() + 20
    api.push_message(flooded, "/subscribe")
    await api.await_for(lambda c: c.error_code == 429 and c.chat_id == flooded, timeout=30)
    api.push_message(other, "/subscribe")
    answer = await api.await_for(
        lambda c: c.ok and c.chat_id == other and DONE in str(c.text), timeout=60
    )
    assert answer.time < flood_ends - 5  # not held up by the other chat's wait
    assert not replies_to(api, flooded, DONE)
    # ...and the flooded chat is answered once its wait is over: late, not lost.
    late = await api.await_for(
        lambda c: c.ok and c.chat_id == flooded and DONE in str(c.text), timeout=90
    )
    assert late.time >= flood_ends - 1
    assert len(replies_to(api, flooded, DONE)) == 1


async def test_a_reply_after_a_server_error_is_sent_again_and_a_garbled_success_is_not(
    api: FakeBotApi, bot: BotProcess
) -> None:
    retried, garbled = 992_001, 992_002
    await started(bot)
    api.fail_next("sendMessage", 502)
    api.push_message(retried, "/subscribe")
    await api.await_for(lambda c: c.ok and c.chat_id == retried, timeout=60)
    assert [c.error_code for c in api.calls if c.chat_id == retried] == [502, None]

    api.garble_next("sendMessage")
    api.push_message(garbled, "/subscribe")
    await api.await_for(lambda c: c.ok and c.chat_id == garbled, timeout=60)
    api.push_message(garbled, "/help")  # answered after the first one was settled
    await eventually(
        lambda: len([c for c in api.calls if c.ok and c.chat_id == garbled]) >= 2, "help", 60
    )
    await asyncio.sleep(3)  # a retry of the garbled one would have gone by now
    assert len(replies_to(api, garbled, DONE)) == 1


async def test_an_outage_mid_broadcast_then_recovery_delivers_everything_once(
    api: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    await seed_subscribers(database_url, FAMILIES)
    await started(bot)
    await start_broadcast(api, bot)
    await eventually(lambda: sum(broadcast_sends(api).values()) >= 20, "20 sends", 60)
    api.garble_next("sendMessage")  # one send goes through, its answer garbled
    api.outage()  # then every call fails with 502...
    await eventually(lambda: api.count_5xx >= 5, "failed sends", 60)
    await asyncio.sleep(8)  # ...for a while: far longer than a blip
    api.end_outage()
    # While it was down the bot probed now and then rather than trying every row in turn.
    assert api.count_5xx <= 30
    await api.await_for(is_report, timeout=FINISH_SECONDS)
    sends = broadcast_sends(api)
    assert sends == Counter({chat_id: 1 for chat_id in FAMILIES}), bot.output()
    assert sum(1 for c in api.calls if is_report(c)) == 1
    assert "Delivered: 200" in str(next(c for c in api.calls if is_report(c)).text)
    assert COORDINATOR not in sends
