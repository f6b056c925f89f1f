"""End to end: `python -m bot run` as its own process (two, for the scale-out test) against the
loopback Bot API server, on SQLite and PostgreSQL.

- a broadcast to 200 subscribers, some of whom blocked the bot, while the server answers 429
  with retry_after (forced, and whenever a rolling second would exceed 30 sends), plus a 400
  and a 502, reaches every reachable subscriber exactly once;
- killed (SIGKILL) mid-broadcast and started again, the bot finishes it with no duplicates;
- a family pressing a forged coordinator button is refused;
- two processes on one PostgreSQL (webhook mode, the way it scales out) deliver each row once.

Arrival and counts are asserted, with generous timeouts; timings never are, except the
server's own window counts (max_sends_per_second), which are behaviour.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.telegram_sender import MAX_IN_FLIGHT
from botapi import Call, FakeBotApi
from harness import StoppableProcess
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import Chat, Delivery, DeliveryStatus, Message

COORDINATOR = 880_001
FAMILIES = list(range(880_101, 880_301))  # 200 subscribers
BLOCKED = FAMILIES[::20]  # 10 of them blocked the bot
STARTUP_SECONDS = 90
FINISH_SECONDS = 180
TEXT = "Family night is Thursday at 6 pm"


@dataclass
class BotProcess(StoppableProcess):
    """`python -m bot run` on one database: started, killed and started again."""

    api: FakeBotApi
    database_url: str
    folder: Path
    name: str = "bot"
    webhook_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.runs += 1
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "HEALTH_"))},
            **self.api.env(),
            "DATABASE_URL": self.database_url,
            "COORDINATOR_IDS": str(COORDINATOR),
            "PYTHONUNBUFFERED": "1",
        }
        if self.webhook_port is not None:
            env.update(
                WEBHOOK_URL="https://bot.invalid/",
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(self.webhook_port),
                WEBHOOK_SECRET="loopback-secret",
            )
        log = self.folder / f"{self.name}-{self.runs}.log"
        self.logs.append(log)
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "-v", "run"],
                env=env,
                cwd=self.folder,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited:\n{self.output()}")
            if self.webhook_port is None:
                try:
                    self.api.wait_until_polling(timeout=1)
                    return
                except TimeoutError:
                    continue
            try:
                url = f"http://127.0.0.1:{self.webhook_port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"{self.name} did not come up:\n{self.output()}")

    def post_update(self, update: dict[str, object]) -> None:
        """What Telegram does in webhook mode: POST the update to this process."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.webhook_port}/telegram",
            data=json.dumps(update).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": "loopback-secret",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi().start()
    server.rate_limit(30)  # 429 whenever a rolling second would hold more than 30 sends
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def processes() -> AsyncIterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for process in started:
        await asyncio.to_thread(process.stop)


async def seed_subscribers(database_url: str, chat_ids: list[int]) -> None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for chat_id in chat_ids:
                session.add(Chat(id=chat_id, language="en", subscribed=True, blocked=False))
    finally:
        await engine.dispose()


async def outbox(database_url: str) -> tuple[Counter[str], dict[int, Chat], list[str | None]]:
    """Delivery statuses, the chats, and who claimed each delivered row."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(Delivery.status, Delivery.claimed_by)
                    .join(Message, Message.id == Delivery.message_id)
                    .where(Message.kind == "broadcast")
                )
            ).all()
            chats = {c.id: c for c in await session.scalars(select(Chat))}
    finally:
        await engine.dispose()
    statuses = Counter(DeliveryStatus(status).value for status, _ in rows)
    claimers = [c for s, c in rows if DeliveryStatus(s) == DeliveryStatus.DELIVERED]
    return statuses, chats, claimers


async def open_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(
                        Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
                    )
                )
                or 0
            )
    finally:
        await engine.dispose()


def broadcast_sends(api: FakeBotApi) -> Counter[int]:
    return Counter(
        int(c.chat_id)  # type: ignore[arg-type]
        for c in api.calls
        if c.ok and c.method == "sendMessage" and TEXT in str(c.text) and c.chat_id != COORDINATOR
    )


def is_report(call: Call) -> bool:
    return (
        call.ok
        and call.method == "sendMessage"
        and call.chat_id == COORDINATOR
        and "Broadcast finished" in str(call.text)
    )


async def start_broadcast(api: FakeBotApi, bot: BotProcess, failures: tuple[int, ...] = ()) -> None:
    """The coordinator writes /broadcast, checks the preview and presses Send. `failures`:
    error codes the server answers the first sends after Send with."""
    api.push_message(COORDINATOR, f"/broadcast {TEXT}")
    preview = await api.await_reply(COORDINATOR, timeout=30)
    assert f"Subscribers who will get it: {len(FAMILIES)}" in str(preview.text)
    for code in failures:
        api.fail_next("sendMessage", code, retry_after=1 if code == 429 else None)
    update_id = await api.apress(COORDINATOR, "Send", timeout=30)
    await asyncio.to_thread(api.wait_for_callback_answer, update_id, 30)


async def running_bot(
    api: FakeBotApi, database_url: str, folder: Path, processes: list[BotProcess]
) -> BotProcess:
    for chat_id in BLOCKED:
        api.block_chat(chat_id)
    await seed_subscribers(database_url, FAMILIES)
    bot = BotProcess(api, database_url, folder)
    processes.append(bot)
    bot.start()
    await asyncio.to_thread(bot.wait_until_up)
    return bot


def assert_exactly_once(api: FakeBotApi, reachable: list[int], bot: BotProcess) -> None:
    sends = broadcast_sends(api)
    missing = [c for c in reachable if sends[c] == 0]
    twice = {c: n for c, n in sends.items() if n > 1}
    assert not missing and not twice, f"missing {missing[:5]}, twice {twice}\n{bot.output()}"
    assert not any(sends[c] for c in BLOCKED)


# --- the broadcast ---------------------------------------------------------------------------


async def test_broadcast_reaches_every_reachable_subscriber_exactly_once(
    api: FakeBotApi, database_url: str, tmp_path: Path, processes: list[BotProcess]
) -> None:
    bot = await running_bot(api, database_url, tmp_path, processes)
    # What Telegram can throw at a broadcast, for the first sends after Send: flood waits,
    # a request it rejects (400, never retried), a gateway error (retried later).
    await start_broadcast(api, bot, failures=(429, 400, 429, 502, 429))
    report = await api.await_for(is_report, timeout=FINISH_SECONDS)

    rejected = [c for c in api.errors if c.error_code == 400 and c.method == "sendMessage"]
    assert len(rejected) == 1
    bad_chat = int(rejected[0].chat_id)  # type: ignore[arg-type]
    reachable = [c for c in FAMILIES if c not in BLOCKED and c != bad_chat]
    assert_exactly_once(api, reachable, bot)
    assert broadcast_sends(api)[bad_chat] == 0  # a 400 is not retried
    # Each blocked chat was tried once (403), never again.
    forbidden = Counter(int(c.chat_id) for c in api.errors if c.error_code == 403)  # type: ignore[arg-type]
    assert forbidden == Counter(BLOCKED)
    # Within Telegram's limits: only the forced 429s, never one of the server's own.
    assert api.count_429 == 3
    assert api.max_sends_per_second <= 30
    assert max(api.max_chat_sends_per_second.values()) <= 1

    statuses, chats, _ = await outbox(database_url)
    assert statuses == Counter(delivered=len(reachable), blocked=len(BLOCKED), failed=1)
    assert all(chats[c].blocked and not chats[c].subscribed for c in BLOCKED)
    assert all(chats[c].subscribed for c in reachable)
    # Live progress in the preview message, then the final report.
    progress = [
        str(c.text)
        for c in api.calls
        if c.ok and c.method == "editMessageText" and c.chat_id == COORDINATOR
    ]
    assert any(re.search(r"Sent \d[\d,]* of 200", text) for text in progress)
    assert "Broadcast finished. Recipients: 200" in progress[-1]
    assert f"Delivered: {len(reachable)}" in str(report.text)
    assert f"Blocked the bot (unsubscribed): {len(BLOCKED)}" in str(report.text)
    assert "Failed: 1" in str(report.text)
    assert sum(1 for c in api.calls if is_report(c)) == 1


async def test_killed_mid_broadcast_the_restarted_bot_finishes_without_duplicates(
    api: FakeBotApi, database_url: str, tmp_path: Path, processes: list[BotProcess]
) -> None:
    bot = await running_bot(api, database_url, tmp_path, processes)
    await start_broadcast(api, bot)
    await asyncio.to_thread(lambda: _wait_for_sends(api, 60))
    # Kill it while it waits out a flood pause: claimed rows in hand, none on the wire. (A 429
    # for one chat pauses that chat only; for several chats at once, the whole bot.)
    for _ in range(3):
        api.fail_next("sendMessage", 429, retry_after=5)
    await asyncio.to_thread(lambda: api.wait_for(lambda c: api.count_429 >= 3, timeout=30))
    await asyncio.sleep(1.0)
    await asyncio.to_thread(bot.kill)
    sent_before = sum(broadcast_sends(api).values())
    assert 60 <= sent_before < len(FAMILIES) - len(BLOCKED)
    assert await open_rows(database_url) > 0

    bot.start()
    await asyncio.to_thread(bot.wait_until_up)
    await api.await_for(is_report, timeout=FINISH_SECONDS)
    reachable = [c for c in FAMILIES if c not in BLOCKED]
    assert_exactly_once(api, reachable, bot)
    statuses, _, _ = await outbox(database_url)
    assert statuses == Counter(delivered=len(reachable), blocked=len(BLOCKED))
    assert sum(1 for c in api.calls if is_report(c)) == 1
    assert api.max_sends_per_second <= 30


async def test_killed_at_any_moment_only_the_sends_on_the_wire_can_repeat(
    api: FakeBotApi, database_url: str, tmp_path: Path, processes: list[BotProcess]
) -> None:
    """The worst moment: right as Telegram accepts a send, before the bot hears back and
    records it. Nobody is lost; at most the sends then in flight go out again (there is no
    exactly-once over an API without idempotency keys; the engine keeps that window to the
    sends on the wire, committing each result as soon as it arrives)."""
    bot = await running_bot(api, database_url, tmp_path, processes)
    await start_broadcast(api, bot)
    await asyncio.to_thread(lambda: _wait_for_sends(api, 80))
    await asyncio.to_thread(bot.kill)
    bot.start()
    await asyncio.to_thread(bot.wait_until_up)
    await api.await_for(is_report, timeout=FINISH_SECONDS)
    sends = broadcast_sends(api)
    reachable = [c for c in FAMILIES if c not in BLOCKED]
    assert all(sends[c] >= 1 for c in reachable), bot.output()
    repeated = sum(n - 1 for n in sends.values())
    assert repeated <= MAX_IN_FLIGHT
    statuses, _, _ = await outbox(database_url)
    assert statuses == Counter(delivered=len(reachable), blocked=len(BLOCKED))


def _wait_for_sends(api: FakeBotApi, count: int) -> None:
    deadline = time.monotonic() + FINISH_SECONDS
    while sum(broadcast_sends(api).values()) < count:
        assert time.monotonic() < deadline, "the broadcast did not get going"
        time.sleep(0.01)


async def test_a_family_pressing_a_forged_coordinator_button_is_refused(
    api: FakeBotApi, database_url: str, tmp_path: Path, processes: list[BotProcess]
) -> None:
    bot = await running_bot(api, database_url, tmp_path, processes)
    api.push_message(COORDINATOR, f"/broadcast {TEXT}")
    preview = await api.await_reply(COORDINATOR, timeout=30)
    send_data = next(b["callback_data"] for b in preview.buttons if "Send" in b["text"])
    family = FAMILIES[1]
    api.push_message(family, "/start")
    greeting = await api.await_reply(family, timeout=30)
    # The family's client sends the coordinator's callback data under a bot message of its own.
    update_id = api.push_callback(family, greeting.message_id, send_data)  # type: ignore[arg-type]
    await asyncio.to_thread(api.wait_for_callback_answer, update_id, 30)
    refusal = await api.await_for(
        lambda c: c.ok and c.chat_id == family and "only coordinators" in str(c.text), timeout=30
    )
    assert refusal.method == "sendMessage"
    await asyncio.sleep(2)  # time enough for anything wrongly queued to start going out
    assert not broadcast_sends(api)
    statuses, _, _ = await outbox(database_url)
    assert not statuses
    assert bot.process is not None and bot.process.poll() is None


async def test_two_processes_on_postgresql_deliver_each_row_once(
    api: FakeBotApi, database_url: str, tmp_path: Path, processes: list[BotProcess]
) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("scale-out needs PostgreSQL (one process sends from a SQLite file)")
    for chat_id in BLOCKED:
        api.block_chat(chat_id)
    await seed_subscribers(database_url, FAMILIES)
    first, second = (
        BotProcess(api, database_url, tmp_path, name=name, webhook_port=_free_port())
        for name in ("first", "second")
    )
    processes += [first, second]
    first.start()
    await asyncio.to_thread(first.wait_until_up)  # one at a time: both migrate on start
    second.start()
    await asyncio.to_thread(second.wait_until_up)
    await asyncio.sleep(2)  # each sees the other (and takes half the rate) before work arrives

    # A load balancer in front: /broadcast reaches the first process, the Send press the second.
    api.push_message(COORDINATOR, f"/broadcast {TEXT}")
    first.post_update(api.pending_updates[-1])
    await api.await_reply(COORDINATOR, timeout=30)
    api.press(COORDINATOR, "Send", timeout=30)
    second.post_update(api.pending_updates[-1])
    await api.await_for(is_report, timeout=FINISH_SECONDS)

    reachable = [c for c in FAMILIES if c not in BLOCKED]
    assert_exactly_once(api, reachable, first)
    statuses, _, claimers = await outbox(database_url)
    assert statuses == Counter(delivered=len(reachable), blocked=len(BLOCKED))
    shares = Counter(claimers)
    assert len(shares) == 2, f"only one process sent: {shares}"
    assert api.max_sends_per_second <= 30  # the two shared the bot's 30 a second
    assert sum(1 for c in api.calls if is_report(c)) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
