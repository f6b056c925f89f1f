"""Progress messages: how far each message in the outbox has gone, shown to whoever sent it.

A message with a `progress_chat_id` gets a live progress message there (edited at most every
`progress_seconds`) and, once no row is open, a final report, itself queued in the outbox. Each
delivery worker (jobs/delivery.py) runs `ProgressReporter.report` from its housekeeping; the
counts and their wording are jobs/outbox.py's (`Progress`, `ProgressText`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.outbox import DRAFT, REPORT, Progress, ProgressText, enqueue, progress_of, status_counts
from jobs.sender import Outgoing, RateLimited, Sender, SendLimiter, TemporaryFailure
from knowledge.models import Chat, Delivery, DeliveryStatus, Message, utcnow

log = logging.getLogger(__name__)


@dataclass
class _Watch:
    """What this worker last showed in a progress message."""

    text: str = ""
    edited: float = -math.inf


class ProgressReporter:
    """Shows and finishes the progress of every unfinished message. One per delivery worker."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender,
        limiter: SendLimiter,
        write_lock: asyncio.Lock,
        *,
        describe: ProgressText,
        progress_seconds: float,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.limiter = limiter
        self.write_lock = write_lock  # the worker's: all its writes go one at a time
        self.describe = describe
        self.progress_seconds = progress_seconds
        self._watches: dict[int, _Watch] = {}

    async def report(self) -> None:
        """Edit progress messages that are due, finish messages with nothing open."""
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
                return
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
                    await self._show(
                        row.id, row.progress_chat_id, row.progress_message_id, progress
                    )
            else:
                await self._finish(row.id, row.progress_chat_id, row.progress_message_id, progress)

    async def _show(
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
            await self._open_message(message_id, chat_id, text)
        elif progress_message_id > 0:
            await self._edit(chat_id, progress_message_id, text)

    async def _open_message(self, message_id: int, chat_id: int, text: str) -> int | None:
        """Send the progress message (one process does: 0 marks it taken)."""
        async with self.write_lock, self.sessions() as session, session.begin():
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
        async with self.write_lock, self.sessions() as session, session.begin():
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
        async with self.write_lock, self.sessions() as session, session.begin():
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
