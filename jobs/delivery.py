"""The outbox and its sender: every broadcast, announcement and reminder goes out through here.

What is owed lives in the database. `enqueue` writes one `message` row and one `delivery` row
per recipient (unique per message and chat, so nobody is owed anything twice). A
`DeliveryWorker` per bot process then loops:

1. **claim** a small batch of due pending rows, urgent ones (reminders, cancellations) first:
   ``WITH due AS MATERIALIZED (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) UPDATE … FROM due …
   RETURNING …``, so several processes on one PostgreSQL never take the same row (SQLite has
   no row locks; there one process sends, see `jobs.claims`);
2. **send** each through the `Sender` as `SendLimiter` allows (≤ 30 in any rolling second,
   1 per chat per second, paced, a chat's 429 pausing that chat; replies go first);
3. **record** the answer (`jobs.recording`): delivered only after Telegram said ok; 403 marks
   the chat blocked and unsubscribes it; 400 fails the row for good; 429 and server or network
   errors put it back as pending with a later `next_attempt_at` (backoff for errors).

**Retried by age, not count.** A row is worth sending until its message is no longer useful:
an event's messages until the event starts, anything else for `max_age` after it was
written. Until then server errors, timeouts and network errors are retried with backoff (up
to `max_backoff`); after that the row fails as "too late". When the API is down (several
server errors in a row, see `SendLimiter.report_server_error`) the failures are the API's,
not the rows': sending pauses, the rows go back as they were, and one probe at growing
intervals finds out when it is back; then everything goes, paced.

**Crash safety.** A row moves pending → sending (claimed) → delivered/blocked/failed. Each
result is committed as soon as Telegram answers (a group commit, see `jobs.recording`), and
a send holds one of at most `max_in_flight` places until its result is committed. So a process
that dies can leave at most `max_in_flight` rows (in practice the one or two whose request was
on the wire) sent but not recorded; those are the only rows a restart can send twice. Rows it
claimed and never sent go back to pending and are sent once. Delivered rows are never touched
again. (No sender can do better over an API without idempotency keys: a request that timed
out may or may not have reached Telegram, and is retried, the same trade-off.)

**Dead claimers.** A worker proves it is alive with a lock the operating system or database
drops the moment the process dies: on PostgreSQL a session advisory lock keyed by the number at
the end of its `claimed_by` (so its rows are reclaimed within seconds of a ``kill -9``); on
SQLite an exclusive `flock` on ``<database>.sender-lock``, held by the one process allowed to
send. As a backstop, a claim older than `lease` is reclaimed too (live workers renew theirs).

**Rate across processes.** Workers on one PostgreSQL count each other through those advisory
locks and split the bot's 30 a second between them.

**Progress.** Beside sending, the worker keeps each message's progress message and final report
up to date (`jobs.progress`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.claims import Claimed, PostgresPresence, claim, presence_for, reclaim, worker_key
from jobs.outbox import ProgressText, listening_workers, plain_progress
from jobs.progress import ProgressReporter
from jobs.recording import Outcome, Recorder, WorkerStats
from jobs.sender import (
    OUTBOX,
    ChatUnreachable,
    Outgoing,
    PermanentFailure,
    RateLimited,
    Sender,
    SendLimiter,
    Slot,
    TemporaryFailure,
    send_priority,
)
from knowledge.models import Delivery, DeliveryStatus, Event, Message, utcnow

log = logging.getLogger(__name__)


# --- the worker --------------------------------------------------------------------------------


class DeliveryWorker:
    """Sends what the outbox owes, within Telegram's limits. One per process.

    `start()` from the application's post_init, `stop()` from post_shutdown; `wake()` when
    something was queued (enqueue does it on commit; an interval job calls it as a safety net).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender,
        *,
        describe: ProgressText = plain_progress,
        per_second: float = 30,
        chat_interval: float = 1.0,
        limiter: SendLimiter | None = None,
        batch_size: int = 30,
        max_in_flight: int = 16,
        max_age: timedelta = timedelta(hours=12),
        backoff: float = 2.0,
        max_backoff: float = 300.0,
        lease: timedelta = timedelta(minutes=5),
        progress_seconds: float = 3.0,
        housekeeping_seconds: float = 1.0,
        idle_seconds: float = 30.0,
        name: str | None = None,
        held: Callable[[], ColumnElement[bool] | None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.held = held  # rows that wait for now (texts in quiet hours), asked each round
        self.sender = sender
        self.per_second = per_second
        self.limiter = limiter or SendLimiter(per_second, chat_interval=chat_interval)
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.max_age = max_age  # how long a message without an event is worth sending
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.lease = lease
        self.housekeeping_seconds = housekeeping_seconds
        self.idle_seconds = idle_seconds
        key = secrets.randbelow(2**31 - 2) + 1
        self.name = name or f"{socket.gethostname()[:32]}:{os.getpid()}:{key}"
        self.key = worker_key(self.name)
        self.stats = WorkerStats()
        self._presence = presence_for(self.key, sessions)
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._sending: set[asyncio.Task[None]] = set()
        self._write_lock = asyncio.Lock()  # claims, results, progress: one write at a time
        self._recorder = Recorder(sessions, self.name, self._write_lock, self.stats)
        self._progress = ProgressReporter(
            sessions,
            sender,
            self.limiter,
            self._write_lock,
            describe=describe,
            progress_seconds=progress_seconds,
        )
        self._contents: OrderedDict[int, Outgoing] = OrderedDict()  # messages are immutable
        self._useful_until: dict[int, datetime] = {}  # message id -> when it is too late
        self._last_renewal = -math.inf
        self._has_rights = False

    # -- lifecycle --

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._stopped.clear()
            listening_workers.add(self)
            self._task = asyncio.create_task(self._run(), name=f"delivery {self.name}")

    async def stop(self, grace: float = 15.0) -> None:
        """Finish the sends on the wire, put claimed-but-unsent rows back, let go of the lock."""
        listening_workers.discard(self)
        if self._task is None:
            return
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            log.warning("Delivery worker did not stop in %ss; cancelling it", grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None
        log.info("Delivery worker %s stopped: %s", self.name, self.stats)

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- the loop --

    async def _run(self) -> None:
        keeper = asyncio.create_task(self._keep_house(), name=f"delivery housekeeping {self.name}")
        failures = 0
        try:
            while not self._stopping:
                try:
                    self._wake.clear()  # anything queued from here on wakes the next idle
                    if not await self._ensure_rights():
                        await self._idle(5.0)
                        continue
                    rows = await self._claim()
                    if rows:
                        await self._dispatch(rows)
                    else:
                        await self._idle(await self._idle_time())
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception:
                    failures += 1
                    log.exception("Delivery worker round failed (%d in a row); retrying", failures)
                    await self._idle(min(30.0, 0.5 * 2**failures))
        finally:
            self._stopped.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(keeper, 10)
            await self._shutdown()

    async def _keep_house(self) -> None:
        """Beside the sending loop, so it never holds up a send: dead claims, the shared rate,
        progress messages, finished messages."""
        send_priority.set(OUTBOX)
        while not self._stopping:
            if self._has_rights:
                try:
                    await self._housekeeping()
                except Exception:
                    log.exception("Delivery housekeeping failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.housekeeping_seconds)

    async def _shutdown(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._recorder.flush()
        if self._has_rights:
            with contextlib.suppress(Exception):
                await self._recorder.release_all()
        with contextlib.suppress(Exception):
            await self._presence.release()
        self._has_rights = False

    async def _idle(self, seconds: float) -> None:
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, seconds))

    async def _idle_time(self) -> float:
        """Until the next row is due, or the safety-net poll."""
        wait = self.idle_seconds
        async with self.sessions() as session:
            held = self.held() if self.held else None
            due = await session.scalar(
                select(func.min(Delivery.next_attempt_at))
                .where(Delivery.status == DeliveryStatus.PENDING)
                .where(*(() if held is None else (~held,)))
            )
        if due is not None:
            wait = min(wait, (due - utcnow()).total_seconds())
        return wait

    async def _ensure_rights(self) -> bool:
        if not await self._presence.acquire():
            if self._has_rights:
                log.warning("Delivery worker %s lost its lock; pausing", self.name)
            self._has_rights = False
            return False
        if not self._has_rights:
            self._has_rights = True
            log.info("Delivery worker %s is sending", self.name)
        return True

    # -- housekeeping: dead claims, shared rate, progress --

    async def _housekeeping(self) -> None:
        now = self.limiter.clock()
        if isinstance(self._presence, PostgresPresence):
            live = await self._presence.live_keys()
            if live is not None:  # share the bot's budget with the other live workers
                self.limiter.set_rate(self.per_second / max(1, len(live)))
        async with self._write_lock, self.sessions() as session, session.begin():
            if now - self._last_renewal > self.lease.total_seconds() / 4:
                self._last_renewal = now
                await session.execute(
                    update(Delivery)
                    .where(
                        Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by == self.name
                    )
                    .values(claimed_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            back = await reclaim(
                session, live_keys=self._presence.live_keys, lease_cutoff=utcnow() - self.lease
            )
        if back:
            self.stats.reclaimed += back
            log.warning("Reclaimed %d deliveries claimed by workers that stopped", back)
        await self._recorder.flush()
        await self._progress.report()

    # -- claiming and sending --

    async def _claim(self) -> list[Claimed]:
        if self._stopping:
            return []
        async with self._write_lock, self.sessions() as session, session.begin():
            held = self.held() if self.held else None
            rows = await claim(session, self.name, self.batch_size, utcnow(), held)
            missing = {r.message_id for r in rows} - set(self._contents)
            if missing:
                found = await session.execute(
                    select(Message, Event.starts_at)
                    .outerjoin(Event, Message.event_id == Event.id)
                    .where(Message.id.in_(missing))
                )
                for message, starts_at in found.all():
                    self._contents[message.id] = Outgoing(
                        message.text,
                        message.reply_markup,
                        message.attachment_name,
                        message.attachment,
                    )
                    self._useful_until[message.id] = starts_at or message.created_at + self.max_age
        for message_id in {r.message_id for r in rows}:
            self._contents.move_to_end(message_id)
        while len(self._contents) > 256:  # least recently claimed first; those in hand stay
            gone, _ = self._contents.popitem(last=False)
            self._useful_until.pop(gone, None)
        return rows

    async def _dispatch(self, rows: list[Claimed]) -> None:
        """Start each row's send as the limiter allows (rows whose chat must wait go later),
        claiming the next batch before this one runs out so sending never stalls on it."""
        queue = deque(rows)
        refill: asyncio.Task[list[Claimed]] | None = None
        exhausted = False
        try:
            while queue or refill is not None:
                if self._stopping or self.limiter.paused_for() > self.lease.total_seconds() / 10:
                    return  # the finally block hands the rows back
                if refill is None and not exhausted and len(queue) <= self.batch_size // 3:
                    refill = asyncio.create_task(self._claim())
                if refill is not None and (refill.done() or not queue):
                    more = await refill
                    refill = None
                    exhausted = not more
                    queue.extend(more)
                    continue
                row = self._next_ready(queue)
                if row is None:
                    soonest = min(self.limiter.chat_ready_at(r.chat_id) for r in queue)
                    await asyncio.sleep(min(1.0, max(0.005, soonest - self.limiter.clock())))
                    continue
                await self._in_flight.acquire()
                slot = await self.limiter.acquire(row.chat_id)
                task = asyncio.create_task(self._deliver(row, self._contents[row.message_id], slot))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
        finally:
            leftovers = [row.id for row in queue]
            if refill is not None:
                with contextlib.suppress(Exception):
                    leftovers += [row.id for row in await refill]
            await self._recorder.release(leftovers)

    def _next_ready(self, queue: deque[Claimed]) -> Claimed | None:
        now = self.limiter.clock()
        for index, row in enumerate(queue):
            if self.limiter.chat_ready_at(row.chat_id) <= now:
                del queue[index]
                return row
        return None

    async def _deliver(self, row: Claimed, content: Outgoing, slot: Slot) -> None:
        send_priority.set(OUTBOX)  # this task's own context: an SMS goes after waiting replies
        try:
            await self._recorder.record(await self._send(row, content, slot))
        except Exception:
            log.exception("Recording delivery %d failed; its claim will be reclaimed", row.id)
        finally:
            self._in_flight.release()

    async def _send(self, row: Claimed, content: Outgoing, slot: Slot) -> Outcome:
        useful_until = self._useful_until.get(row.message_id)
        if useful_until is not None and utcnow() >= useful_until:
            slot.done(sent=False)
            return Outcome(row, DeliveryStatus.FAILED, "too late: no longer useful", None, False)
        parts = content.parts()
        for index, part in enumerate(parts):
            if index:
                slot = await self.limiter.acquire(row.chat_id)
            try:
                await self.sender.send(row.chat_id, part)
            except ChatUnreachable as error:
                slot.done(sent=False)
                self.limiter.answered()
                return Outcome(row, DeliveryStatus.BLOCKED, str(error))
            except PermanentFailure as error:
                slot.done(sent=False)
                self.limiter.answered()
                return Outcome(row, DeliveryStatus.FAILED, str(error))
            except RateLimited as error:
                slot.done(sent=False)
                self.limiter.answered()
                self.limiter.report_flood(row.chat_id, error.retry_after)
                self.stats.rate_limited += 1
                if index:  # the text went out; send the file once the pause is over
                    return await self._send_rest(row, parts[index:], error)
                retry = utcnow() + timedelta(seconds=error.retry_after)
                return Outcome(row, DeliveryStatus.PENDING, str(error), retry, attempted=False)
            except Exception as error:  # TemporaryFailure, or anything unforeseen
                # It may have reached Telegram: keep its place in the window.
                slot.done(sent=True)
                if isinstance(error, TemporaryFailure):
                    self.limiter.report_server_error()
                else:
                    log.exception("Unexpected error sending delivery %d", row.id)
                if index:
                    return await self._send_rest(row, parts[index:], error)
                return self._retry_later(row, error)
            slot.done()
            self.limiter.answered()
        return Outcome(row, DeliveryStatus.DELIVERED)

    async def _send_rest(self, row: Claimed, parts: list[Outgoing], error: Exception) -> Outcome:
        """The text reached the chat but its file did not: retry the file here (a few times)
        rather than the whole row, which would send the text twice."""
        for attempt in range(3):
            await asyncio.sleep(min(self.max_backoff, self.backoff * 2**attempt))
            slot = await self.limiter.acquire(row.chat_id)
            try:
                await self.sender.send(row.chat_id, parts[-1])
            except RateLimited as again:
                slot.done(sent=False)
                self.limiter.report_flood(row.chat_id, again.retry_after)
                error = again
                continue
            except TemporaryFailure as again:
                slot.done(sent=True)
                self.limiter.report_server_error()
                error = again
                continue
            except Exception as again:
                slot.done(sent=False)
                error = again
                break
            slot.done()
            return Outcome(row, DeliveryStatus.DELIVERED)
        return Outcome(row, DeliveryStatus.FAILED, f"the text was sent, the file was not: {error}")

    def _retry_later(self, row: Claimed, error: Exception) -> Outcome:
        """Try again later, while the message is still worth sending."""
        outage = self.limiter.api_down
        if outage:  # the API's fault, not the row's: back in line once it answers again
            delay = self.limiter.outage_retry_seconds()
        else:
            delay = min(self.max_backoff, self.backoff * 2**row.attempts)
            delay *= 0.75 + secrets.randbelow(500) / 1000  # spread retries out
        retry_at = utcnow() + timedelta(seconds=delay)
        useful_until = self._useful_until.get(row.message_id)
        if useful_until is not None and retry_at >= useful_until:
            tries = row.attempts + 1
            return Outcome(
                row, DeliveryStatus.FAILED, f"too late after {tries} tries; last: {error}"
            )
        self.stats.retried += 1
        return Outcome(row, DeliveryStatus.PENDING, str(error), retry_at, attempted=not outage)
