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
3. **record** the answer: delivered only after Telegram said ok; 403 marks the chat blocked
   and unsubscribes it; 400 fails the row for good; 429 and server or network errors put it
   back as pending with a later `next_attempt_at` (backoff for errors).

**Retried by age, not count.** A row is worth sending until its message is no longer useful:
an event's messages until the event starts, anything else for `max_age` after it was
written. Until then server errors, timeouts and network errors are retried with backoff (up
to `max_backoff`); after that the row fails as "too late". When the API is down (several
server errors in a row, see `SendLimiter.report_server_error`) the failures are the API's,
not the rows': sending pauses, the rows go back as they were, and one probe at growing
intervals finds out when it is back; then everything goes, paced.

**Crash safety.** A row moves pending → sending (claimed) → delivered/blocked/failed. Each
result is committed as soon as Telegram answers (a group commit: one transaction takes every
result that arrived while the previous one was being written, usually just one), and a send
holds one of at most `max_in_flight` places until its result is committed. So a process that
dies can leave at most `max_in_flight` rows (in practice the one or two whose request was on
the wire) sent but not recorded; those are the only rows a restart can send twice. Rows it
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

**Progress.** A message with a `progress_chat_id` gets a live progress message there (edited
at most every `progress_seconds`) and, once no row is open, a final report, itself queued here.
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.claims import Claimed, PostgresPresence, claim, presence_for, reclaim, worker_key
from jobs.outbox import (
    DRAFT,
    REPORT,
    Progress,
    ProgressText,
    enqueue,
    listening_workers,
    plain_progress,
    progress_of,
    status_counts,
)
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
from knowledge.models import Chat, Delivery, DeliveryStatus, Event, Message, utcnow
from knowledge.subscriptions import mark_unreachable

log = logging.getLogger(__name__)


# --- the worker --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Outcome:
    row: Claimed
    status: DeliveryStatus
    error: str | None = None
    retry_at: datetime | None = None
    attempted: bool = True  # counts as a try (a 429 does not, nor an outage's failure)


@dataclass
class _Watch:
    """What this worker last showed in a progress message."""

    text: str = ""
    edited: float = -math.inf


@dataclass
class WorkerStats:
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    rate_limited: int = 0
    retried: int = 0
    reclaimed: int = 0
    lost_claims: int = 0


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
        self.describe = describe
        self.per_second = per_second
        self.limiter = limiter or SendLimiter(per_second, chat_interval=chat_interval)
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.max_age = max_age  # how long a message without an event is worth sending
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.lease = lease
        self.progress_seconds = progress_seconds
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
        self._results: list[_Outcome] = []
        self._write_lock = asyncio.Lock()
        self._contents: OrderedDict[int, Outgoing] = OrderedDict()  # messages are immutable
        self._useful_until: dict[int, datetime] = {}  # message id -> when it is too late
        self._watches: dict[int, _Watch] = {}
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
            await self._flush_results()
        if self._has_rights:
            with contextlib.suppress(Exception):
                await self._release_mine()
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
        await self._flush_results()
        await self._report_progress()

    async def _report_progress(self) -> int:
        """Edit progress messages that are due, finish messages with nothing open; returns how
        many messages are still unfinished."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Message.id,
                        Message.kind,
                        Message.progress_chat_id,
                        Message.progress_message_id,
                    ).where(
                        Message.finished_at.is_(None),
                        Message.kind != DRAFT,
                        exists().where(Delivery.message_id == Message.id),
                    )
                )
            ).all()
            if not rows:
                return 0
            counts = await status_counts(session, [r.id for r in rows])
            chats = {r.progress_chat_id for r in rows if r.progress_chat_id is not None}
            languages = (
                dict(
                    (
                        await session.execute(
                            select(Chat.id, Chat.language).where(Chat.id.in_(chats))
                        )
                    ).all()
                )
                if chats
                else {}
            )
        for row in rows:
            tally = counts[row.id]
            progress = progress_of(
                row.id, row.kind, languages.get(row.progress_chat_id, "en"), tally
            )
            if tally[DeliveryStatus.PENDING.value] or tally[DeliveryStatus.SENDING.value]:
                if row.progress_chat_id is not None:
                    await self._show_progress(
                        row.id, row.progress_chat_id, row.progress_message_id, progress
                    )
            else:
                await self._finish(row.id, row.progress_chat_id, row.progress_message_id, progress)
        return len(rows)

    async def _show_progress(
        self, message_id: int, chat_id: int, progress_message_id: int | None, progress: Progress
    ) -> None:
        if progress_message_id is not None and progress.done == 0:
            return  # the coordinator's message says "0 of N" already (bot.handlers.coordinators)
        watch = self._watches.setdefault(message_id, _Watch())
        now = self.limiter.clock()
        if now - watch.edited < self.progress_seconds:
            return
        text = self.describe(progress)
        if text == watch.text:
            return
        watch.edited, watch.text = now, text
        if progress_message_id is None:
            progress_message_id = await self._open_progress_message(message_id, chat_id, text)
            return
        if progress_message_id > 0:
            await self._edit(chat_id, progress_message_id, text)

    async def _open_progress_message(self, message_id: int, chat_id: int, text: str) -> int | None:
        """Send the progress message (one process does: 0 marks it taken)."""
        async with self._write_lock, self.sessions() as session, session.begin():
            taken = await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.progress_message_id.is_(None))
                .values(progress_message_id=0)
                .execution_options(synchronize_session=False)
            )
        if not taken.rowcount:  # type: ignore[attr-defined]
            return None
        slot = await self.limiter.acquire(chat_id)
        try:
            sent_id = await self.sender.send(chat_id, Outgoing(text))
        except Exception as error:
            slot.done(sent=isinstance(error, TemporaryFailure))
            log.info("Could not send the progress message for %d: %s", message_id, error)
            return None
        slot.done()
        async with self._write_lock, self.sessions() as session, session.begin():
            await session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(progress_message_id=sent_id)
                .execution_options(synchronize_session=False)
            )
        return sent_id

    async def _edit(self, chat_id: int, message_id: int, text: str) -> None:
        slot = await self.limiter.acquire(chat_id)
        try:
            await self.sender.edit(chat_id, message_id, text)
        except RateLimited as error:
            slot.done(sent=False)
            self.limiter.report_flood(chat_id, error.retry_after)
        except Exception as error:  # "not modified", message deleted...: progress is best effort
            slot.done(sent=isinstance(error, TemporaryFailure))
            log.debug("Progress edit in %d failed: %s", chat_id, error)
        else:
            slot.done()

    async def _finish(
        self,
        message_id: int,
        chat_id: int | None,
        progress_message_id: int | None,
        progress: Progress,
    ) -> None:
        """Nothing open is left: mark the message finished and, once, queue the final report."""
        text = self.describe(progress)
        async with self._write_lock, self.sessions() as session, session.begin():
            won = await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.finished_at.is_(None))
                .values(finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if won.rowcount and chat_id is not None:  # type: ignore[attr-defined]
                await enqueue(session, kind=REPORT, text=text, recipients=[chat_id])
        self._watches.pop(message_id, None)
        if won.rowcount and chat_id is not None and progress_message_id:  # type: ignore[attr-defined]
            await self._edit(chat_id, progress_message_id, text)
        if won.rowcount:  # type: ignore[attr-defined]
            log.info(
                "Message %d (%s) finished: %d delivered, %d blocked, %d failed",
                message_id,
                progress.kind,
                progress.delivered,
                progress.blocked,
                progress.failed,
            )

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
            await self._release(leftovers)

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
            outcome = await self._send(row, content, slot)
            self._results.append(outcome)
            await self._flush_results()
        except Exception:
            log.exception("Recording delivery %d failed; its claim will be reclaimed", row.id)
        finally:
            self._in_flight.release()

    async def _send(self, row: Claimed, content: Outgoing, slot: Slot) -> _Outcome:
        useful_until = self._useful_until.get(row.message_id)
        if useful_until is not None and utcnow() >= useful_until:
            slot.done(sent=False)
            return _Outcome(row, DeliveryStatus.FAILED, "too late: no longer useful", None, False)
        parts = content.parts()
        for index, part in enumerate(parts):
            if index:
                slot = await self.limiter.acquire(row.chat_id)
            try:
                await self.sender.send(row.chat_id, part)
            except ChatUnreachable as error:
                slot.done(sent=False)
                self.limiter.answered()
                return _Outcome(row, DeliveryStatus.BLOCKED, str(error))
            except PermanentFailure as error:
                slot.done(sent=False)
                self.limiter.answered()
                return _Outcome(row, DeliveryStatus.FAILED, str(error))
            except RateLimited as error:
                slot.done(sent=False)
                self.limiter.answered()
                self.limiter.report_flood(row.chat_id, error.retry_after)
                self.stats.rate_limited += 1
                if index:  # the text went out; send the file once the pause is over
                    return await self._send_rest(row, parts[index:], error)
                retry = utcnow() + timedelta(seconds=error.retry_after)
                return _Outcome(row, DeliveryStatus.PENDING, str(error), retry, attempted=False)
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
        return _Outcome(row, DeliveryStatus.DELIVERED)

    async def _send_rest(self, row: Claimed, parts: list[Outgoing], error: Exception) -> _Outcome:
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
            return _Outcome(row, DeliveryStatus.DELIVERED)
        return _Outcome(row, DeliveryStatus.FAILED, f"the text was sent, the file was not: {error}")

    def _retry_later(self, row: Claimed, error: Exception) -> _Outcome:
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
            return _Outcome(
                row, DeliveryStatus.FAILED, f"too late after {tries} tries; last: {error}"
            )
        self.stats.retried += 1
        return _Outcome(row, DeliveryStatus.PENDING, str(error), retry_at, attempted=not outage)

    # -- recording --

    async def _flush_results(self) -> None:
        """Group commit: whoever holds the lock writes every result that has arrived. A caller
        returns only once its own result is committed (by it, or by the writer it waited for)."""
        async with self._write_lock:
            if not self._results:
                return
            batch, self._results = self._results, []
            try:
                await self._write(batch)
            except Exception:
                self._results[:0] = batch  # try again with the next one
                raise

    async def _write(self, batch: list[_Outcome]) -> None:
        now = utcnow()
        mine = (Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by == self.name)
        written = 0
        async with self.sessions() as session, session.begin():
            delivered = [o.row.id for o in batch if o.status == DeliveryStatus.DELIVERED]
            if delivered:
                result = await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(delivered), *mine)
                    .values(
                        status=DeliveryStatus.DELIVERED,
                        sent_at=now,
                        attempts=Delivery.attempts + 1,
                        error=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                written += int(result.rowcount or 0)  # type: ignore[attr-defined]
            for outcome in batch:
                if outcome.status == DeliveryStatus.DELIVERED:
                    continue
                values: dict[str, Any] = {"status": outcome.status, "error": outcome.error}
                if outcome.attempted:
                    values["attempts"] = Delivery.attempts + 1
                if outcome.status == DeliveryStatus.PENDING:
                    values.update(
                        claimed_by=None, claimed_at=None, next_attempt_at=outcome.retry_at
                    )
                result = await session.execute(
                    update(Delivery)
                    .where(Delivery.id == outcome.row.id, *mine)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                written += int(result.rowcount or 0)  # type: ignore[attr-defined]
            await mark_unreachable(
                session, [o.row.chat_id for o in batch if o.status == DeliveryStatus.BLOCKED]
            )
        if written < len(batch):
            self.stats.lost_claims += len(batch) - written
            log.warning("%d results arrived after their claim was taken away", len(batch) - written)
        for outcome in batch:
            if outcome.status == DeliveryStatus.DELIVERED:
                self.stats.delivered += 1
            elif outcome.status == DeliveryStatus.BLOCKED:
                self.stats.blocked += 1
            elif outcome.status == DeliveryStatus.FAILED:
                self.stats.failed += 1

    async def _release(self, ids: list[int]) -> None:
        """Claimed rows this worker will not send after all: pending again, for anyone."""
        if not ids:
            return
        async with self._write_lock, self.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status == DeliveryStatus.SENDING,
                    Delivery.claimed_by == self.name,
                )
                .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )

    async def _release_mine(self) -> None:
        async with self._write_lock, self.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by == self.name)
                .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
