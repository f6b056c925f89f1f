"""The delivery engine: the outbox on a real database (both backends), sent by a worker through
a scripted in-memory `Sender`. The limiter's own tests are in test_send_limiter.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.claims import claim
from jobs.delivery import DeliveryWorker
from jobs.outbox import REPORT, enqueue, open_deliveries
from jobs.sender import ChatUnreachable, Outgoing, PermanentFailure, RateLimited, TemporaryFailure
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import Chat, Delivery, DeliveryStatus, Event, Message, utcnow

COORDINATOR = 77


# --- helpers ---------------------------------------------------------------------------------


class ScriptedSender:
    """A Sender that answers as told: blocked chats, bad requests, flaky and flooded sends."""

    def __init__(
        self,
        *,
        blocked: set[int] = frozenset(),  # type: ignore[assignment]
        bad: set[int] = frozenset(),  # type: ignore[assignment]
        flaky: dict[int, int] | None = None,
        flooded: dict[int, float] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.blocked, self.bad = set(blocked), set(bad)
        self.flaky = dict(flaky or {})
        self.flooded = dict(flooded or {})
        self.latency = latency
        self.sent: list[tuple[int, Outgoing]] = []
        self.attempts: Counter[int] = Counter()
        self.edits: list[tuple[int, int, str]] = []
        self._ids = itertools.count(1000)
        self.hold: asyncio.Event | None = None

    async def send(self, chat_id: int, outgoing: Outgoing) -> int:
        self.attempts[chat_id] += 1
        if self.hold is not None:
            await self.hold.wait()
        if self.latency:
            await asyncio.sleep(self.latency)
        if chat_id in self.blocked:
            raise ChatUnreachable("Forbidden: bot was blocked by the user")
        if chat_id in self.bad:
            raise PermanentFailure("Bad Request: can't parse entities")
        if self.flaky.get(chat_id, 0) > 0:
            self.flaky[chat_id] -= 1
            raise TemporaryFailure("connection reset")
        if chat_id in self.flooded:
            raise RateLimited(self.flooded.pop(chat_id))
        self.sent.append((chat_id, outgoing))
        return next(self._ids)

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        self.edits.append((chat_id, message_id, text))

    def delivered_to(self) -> Counter[int]:
        return Counter(chat_id for chat_id, _ in self.sent)


def fast_worker(
    sessions: async_sessionmaker[AsyncSession], sender: object, **options: object
) -> DeliveryWorker:
    defaults: dict[str, object] = {
        "per_second": 1000,
        "chat_interval": 0.0,
        "backoff": 0.05,
        "housekeeping_seconds": 0.05,
        "progress_seconds": 0.05,
        "idle_seconds": 0.2,
    }
    defaults.update(options)
    return DeliveryWorker(sessions, sender, **defaults)  # type: ignore[arg-type]


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def all_finished(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        if await open_deliveries(session):
            return False
        unfinished = await session.scalar(
            select(func.count()).select_from(Message).where(Message.finished_at.is_(None))
        )
        return not unfinished


async def add_chats(session: AsyncSession, ids: list[int], **fields: object) -> None:
    for chat_id in ids:
        session.add(Chat(id=chat_id, language="en", subscribed=True, blocked=False, **fields))
    await session.flush()


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[int, Delivery]:
    async with sessions() as session:
        rows = await session.scalars(select(Delivery).order_by(Delivery.id))
        return {row.chat_id: row for row in rows}


@pytest.fixture
async def workers() -> AsyncIterator[list[DeliveryWorker]]:
    """Workers a test starts; stopped at the end whatever happens."""
    started: list[DeliveryWorker] = []
    yield started
    for worker in started:
        await worker.stop()


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


# --- the outbox ------------------------------------------------------------------------------


async def test_enqueue_owes_each_recipient_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        message = await enqueue(
            session,
            kind="broadcast",
            text="<b>Family night</b>",
            recipients=[3, 1, 2, 3, 1],
            reply_markup={"inline_keyboard": [[{"text": "Going", "callback_data": "rsvp:1"}]]},
        )
        empty = await enqueue(session, kind="reminder", text="x", recipients=[])
    async with session_factory() as session:
        rows = list(
            await session.scalars(select(Delivery).where(Delivery.message_id == message.id))
        )
        assert sorted(r.chat_id for r in rows) == [1, 2, 3]
        assert {r.status for r in rows} == {DeliveryStatus.PENDING}
        stored = await session.get(Message, message.id)
        assert stored is not None and json.loads(stored.reply_markup or "")["inline_keyboard"]
        assert stored.finished_at is None
        nothing = await session.get(Message, empty.id)
        assert nothing is not None and nothing.finished_at is not None


async def test_worker_delivers_once_and_records_every_outcome(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    chats = list(range(1, 41))
    async with session_factory() as session, session.begin():
        await add_chats(session, chats)
        await enqueue(session, kind="broadcast", text="Hello", recipients=chats)
    sender = ScriptedSender(blocked={3, 4, 5}, bad={6, 7}, flaky={8: 1, 9: 2}, flooded={10: 0.2})
    worker = fast_worker(session_factory, sender)
    workers.append(worker)
    await worker.start()
    await until(lambda: all_finished(session_factory))

    reachable = [c for c in chats if c not in {3, 4, 5, 6, 7}]
    assert sender.delivered_to() == Counter(reachable)  # every reachable chat exactly once
    assert sender.attempts[3] == sender.attempts[6] == 1  # 403 and 400 are never retried
    assert sender.attempts[9] == 3  # two network errors, then delivered
    rows = await statuses(session_factory)
    assert {c for c, r in rows.items() if r.status == DeliveryStatus.DELIVERED} == set(reachable)
    assert {c for c, r in rows.items() if r.status == DeliveryStatus.BLOCKED} == {3, 4, 5}
    assert {c for c, r in rows.items() if r.status == DeliveryStatus.FAILED} == {6, 7}
    assert "blocked" in (rows[3].error or "") and "parse entities" in (rows[6].error or "")
    assert rows[9].attempts == 3 and rows[10].attempts == 1  # a 429 is not the row's fault
    assert all(r.sent_at is not None for c, r in rows.items() if c in reachable)
    async with session_factory() as session:
        blocked = {c.id: c for c in await session.scalars(select(Chat).where(Chat.id.in_([3, 4])))}
        assert all(c.blocked and not c.subscribed for c in blocked.values())


async def test_network_errors_are_retried_until_the_message_is_no_longer_useful(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Hello", recipients=[1, 2])
    sender = ScriptedSender(flaky={2: 10**6})  # chat 2's sends always fail on the way
    worker = fast_worker(session_factory, sender, max_age=timedelta(seconds=2), backoff=0.01)
    workers.append(worker)
    await worker.start()
    await until(lambda: all_finished(session_factory))
    rows = await statuses(session_factory)
    assert rows[1].status == DeliveryStatus.DELIVERED
    assert rows[2].status == DeliveryStatus.FAILED and "too late" in (rows[2].error or "")
    assert sender.attempts[2] > 2  # retried until then, however many tries that took


async def test_an_events_message_is_not_sent_once_the_event_has_started(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    async with session_factory() as session, session.begin():
        event = Event(title="Fair", starts_at=utcnow() - timedelta(minutes=1))
        session.add(event)
        await session.flush()
        await enqueue(
            session, kind="reminder", text="Soon!", recipients=[1], event_id=event.id, urgent=True
        )
    sender = ScriptedSender()
    worker = fast_worker(session_factory, sender)
    workers.append(worker)
    await worker.start()
    await until(lambda: all_finished(session_factory))
    rows = await statuses(session_factory)
    assert rows[1].status == DeliveryStatus.FAILED and "too late" in (rows[1].error or "")
    assert sender.sent == []


async def test_an_outage_then_recovery_delivers_everything_once(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    """The API answers nothing but server errors for a while (the old engine gave each row up
    after 8 tries); once it is back, every row is delivered, once."""
    chats = list(range(1, 41))
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Hello", recipients=chats)
    sender = ScriptedSender(flaky={chat: 10**6 for chat in chats})
    worker = fast_worker(session_factory, sender, backoff=0.01)
    workers.append(worker)
    await worker.start()
    await until(lambda: asyncio.sleep(0, result=sender.attempts.total() >= 6))  # probes
    assert sender.sent == [] and worker.limiter.api_down
    sender.flaky.clear()  # the API is back
    await until(lambda: all_finished(session_factory), timeout=60)
    rows = await statuses(session_factory)
    assert {row.status for row in rows.values()} == {DeliveryStatus.DELIVERED}
    assert sender.delivered_to() == Counter({chat: 1 for chat in chats})


async def test_restart_resumes_without_resending_delivered_rows(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    """What a process killed mid-broadcast leaves: delivered rows, pending rows, and rows it
    had claimed (status sending) under a worker name whose lock is gone."""
    chats = list(range(1, 31))
    async with session_factory() as session, session.begin():
        message = await enqueue(session, kind="broadcast", text="Hello", recipients=chats)
        await session.execute(
            update(Delivery)
            .where(Delivery.message_id == message.id, Delivery.chat_id <= 10)
            .values(status=DeliveryStatus.DELIVERED, sent_at=utcnow(), attempts=1)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.message_id == message.id, Delivery.chat_id.between(11, 15))
            .values(
                status=DeliveryStatus.SENDING, claimed_by="old-host:4242:12345", claimed_at=utcnow()
            )
        )
    sender = ScriptedSender()
    worker = fast_worker(session_factory, sender)
    workers.append(worker)
    await worker.start()
    await until(lambda: all_finished(session_factory))
    assert sender.delivered_to() == Counter(range(11, 31))  # never 1-10 again; 11-15 reclaimed
    rows = await statuses(session_factory)
    assert all(r.status == DeliveryStatus.DELIVERED for r in rows.values())
    assert worker.stats.reclaimed == 5


async def test_stopping_puts_claimed_rows_back_and_a_new_worker_finishes(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    chats = list(range(1, 101))
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Hello", recipients=chats)
    first_sender = ScriptedSender()
    first = fast_worker(session_factory, first_sender, per_second=100, batch_size=30)
    await first.start()
    await until(lambda: _delivered_at_least(session_factory, 20))
    await first.stop()
    async with session_factory() as session:
        sending = await session.scalar(
            select(func.count()).where(Delivery.status == DeliveryStatus.SENDING)
        )
    assert sending == 0  # nothing left claimed by a worker that is gone
    second_sender = ScriptedSender()
    second = fast_worker(session_factory, second_sender)
    workers.append(second)
    await second.start()
    await until(lambda: all_finished(session_factory))
    total = first_sender.delivered_to() + second_sender.delivered_to()
    assert total == Counter(chats)


async def _delivered_at_least(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    async with sessions() as session:
        done = await session.scalar(
            select(func.count()).where(Delivery.status == DeliveryStatus.DELIVERED)
        )
        return (done or 0) >= count


async def test_progress_message_is_edited_and_the_final_report_queued_once(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    chats = list(range(1, 61))
    async with session_factory() as session, session.begin():
        await add_chats(session, [COORDINATOR])
        message = await enqueue(
            session, kind="broadcast", text="Hello", recipients=chats, progress_chat_id=COORDINATOR
        )
    sender = ScriptedSender(blocked={1, 2})
    worker = fast_worker(session_factory, sender, per_second=60, progress_seconds=0.2)
    workers.append(worker)
    await worker.start()
    await until(lambda: all_finished(session_factory))
    # The worker opened the progress message in the coordinator's chat, edited it, and the
    # final report went out through the outbox like any message.
    to_coordinator = [o.text for c, o in sender.sent if c == COORDINATOR]
    assert len(to_coordinator) == 2  # the progress message, then the report
    assert "Finished: 60 of 60" in to_coordinator[-1] and "blocked 2" in to_coordinator[-1]
    assert any("Sending" in text for _, _, text in sender.edits)
    assert "Finished" in sender.edits[-1][2]
    async with session_factory() as session:
        stored = await session.get(Message, message.id)
        assert stored is not None and stored.finished_at is not None and stored.progress_message_id
        reports = await session.scalar(select(func.count()).where(Message.kind == REPORT))
        assert reports == 1


async def test_long_text_with_a_file_goes_as_text_then_file(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    async with session_factory() as session, session.begin():
        await enqueue(
            session,
            kind="announcement",
            text="x" * 1500,
            recipients=[1],
            attachment_name="event.ics",
            attachment=b"BEGIN:VCALENDAR",
        )
        await enqueue(
            session,
            kind="announcement",
            text="short",
            recipients=[2],
            attachment_name="event.ics",
            attachment=b"BEGIN:VCALENDAR",
        )
    sender = ScriptedSender()
    worker = fast_worker(session_factory, sender)
    workers.append(worker)
    await worker.start()
    await until(lambda: all_finished(session_factory))
    first = [o for c, o in sender.sent if c == 1]
    assert [o.attachment is not None for o in first] == [False, True]
    second = [o for c, o in sender.sent if c == 2]
    assert len(second) == 1 and second[0].attachment and second[0].text == "short"


async def test_claims_skip_rows_another_transaction_holds(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if not is_postgres(database_url):
        pytest.skip("row locks: PostgreSQL (one process sends from a SQLite file)")
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Hello", recipients=range(1, 21))
    async with session_factory() as first, session_factory() as second:
        async with first.begin():
            mine = await claim(first, "a:1:1", 10, utcnow())
            # `first` has not committed: `second` must neither wait nor take the same rows.
            async with second.begin():
                theirs = await asyncio.wait_for(claim(second, "b:1:2", 15, utcnow()), 5)
    assert len(mine) == 10 and len(theirs) == 10
    assert not {r.id for r in mine} & {r.id for r in theirs}


async def test_a_reminder_goes_before_a_broadcast_already_owed(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Book fair", recipients=range(1, 101))
        await enqueue(
            session, kind="reminder", text="Starts in 1 hour", recipients=[500], urgent=True
        )
    async with session_factory() as session, session.begin():
        batch = await claim(session, "a:1:1", 10, utcnow())
    assert [r.chat_id for r in batch] == [500, *range(1, 10)]


async def test_a_reminder_overtakes_a_broadcast_being_sent(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Book fair", recipients=range(1, 301))
    sender = ScriptedSender()
    workers.append(fast_worker(session_factory, sender, per_second=100))
    await workers[0].start()

    async def broadcast_under_way() -> bool:
        return len(sender.sent) >= 20

    await until(broadcast_under_way)
    async with session_factory() as session, session.begin():
        await enqueue(
            session, kind="reminder", text="Starts in 1 hour", recipients=[999], urgent=True
        )
    await until(lambda: all_finished(session_factory))
    order = [chat_id for chat_id, _ in sender.sent]
    assert order.index(999) < 100 and len(order) == 301


async def test_two_workers_deliver_each_row_once(
    database_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    workers: list[DeliveryWorker],
) -> None:
    """Two workers with their own connections, as two processes would have. On PostgreSQL both
    send (disjoint claims, the rate split between them); on SQLite one holds the file's sender
    lock and the other stands by."""
    chats = list(range(1, 301))
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="broadcast", text="Hello", recipients=chats)
    other_engine = create_engine(database_url)
    try:
        senders = [ScriptedSender(latency=0.002), ScriptedSender(latency=0.002)]
        for sessions, sender in zip(
            (session_factory, create_sessionmaker(other_engine)), senders, strict=True
        ):
            worker = fast_worker(sessions, sender, per_second=200, batch_size=10)
            workers.append(worker)
            await worker.start()
        await until(lambda: all_finished(session_factory))
        for worker in workers:
            await worker.stop()
    finally:
        await other_engine.dispose()
    total = senders[0].delivered_to() + senders[1].delivered_to()
    assert total == Counter(chats)
    shares = sorted(len(s.sent) for s in senders)
    if is_postgres(database_url):
        assert shares[0] > 0  # both took part
        async with session_factory() as session:
            claimers = await session.scalar(select(func.count(func.distinct(Delivery.claimed_by))))
        assert claimers == 2
    else:
        assert shares[0] == 0


async def test_enqueue_wakes_an_idle_worker_on_commit(
    session_factory: async_sessionmaker[AsyncSession], workers: list[DeliveryWorker]
) -> None:
    """The worker sleeps up to a minute when idle; the commit that queues a message wakes it."""
    sender = ScriptedSender()
    worker = fast_worker(session_factory, sender, idle_seconds=60)
    workers.append(worker)
    await worker.start()
    await asyncio.sleep(0.2)
    async with session_factory() as session, session.begin():
        await enqueue(session, kind="reminder", text="Tomorrow!", recipients=[1, 2, 3])
    await until(lambda: all_finished(session_factory), timeout=10)
    assert sender.delivered_to() == Counter([1, 2, 3])
