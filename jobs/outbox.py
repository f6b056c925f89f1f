"""The outbox's rows: writing them (`enqueue`, one `message` row and one `delivery` row per
recipient, unique per message and chat so nobody is owed anything twice), /broadcast drafts,
and what the outbox says about a message (`Progress`). Sending them is jobs/delivery.py's.
"""

from __future__ import annotations

import json
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import Delivery, DeliveryStatus, Message, utcnow

BROADCAST = "broadcast"
DRAFT = "broadcast_draft"  # a /broadcast preview waiting for Send; has no delivery rows
REPORT = "report"  # the final report of a message with a progress chat
DRAFT_TTL = timedelta(days=2)
INSERT_CHUNK = 1000
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
URGENT, BULK = 0, 1  # Delivery.priority: claimed in this order


# --- writing the outbox ------------------------------------------------------------------------


class Wakeable(Protocol):
    def wake(self) -> None: ...


# This process's delivery workers (they add themselves), woken when rows are committed.
listening_workers: weakref.WeakSet[Wakeable] = weakref.WeakSet()


def wake_workers(*_: Any) -> None:
    """Tell this process's workers there is something new to send."""
    for worker in list(listening_workers):
        worker.wake()


def _wake_after_commit(session: AsyncSession) -> None:
    event.listen(session.sync_session, "after_commit", wake_workers, once=True)


def _markup_json(reply_markup: str | dict[str, Any] | None) -> str | None:
    if reply_markup is None or isinstance(reply_markup, str):
        return reply_markup
    return json.dumps(reply_markup, ensure_ascii=False, separators=(",", ":"))


async def _add_recipients(
    session: AsyncSession, message: Message, recipients: Iterable[int], priority: int = BULK
) -> int:
    chat_ids = list(dict.fromkeys(int(c) for c in recipients))
    now = utcnow()
    for start in range(0, len(chat_ids), INSERT_CHUNK):
        await session.execute(
            insert(Delivery),
            [
                {
                    "message_id": message.id,
                    "chat_id": chat_id,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "priority": priority,
                    "next_attempt_at": now,
                }
                for chat_id in chat_ids[start : start + INSERT_CHUNK]
            ],
        )
    if not chat_ids:
        message.finished_at = now  # nothing owed: done already
    _wake_after_commit(session)
    await session.flush()
    return len(chat_ids)


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    text: str,
    recipients: Iterable[int],
    created_by: int | None = None,
    event_id: int | None = None,
    reminder_id: int | None = None,
    school_id: str | None = None,
    reply_markup: str | dict[str, Any] | None = None,
    attachment_name: str | None = None,
    attachment: bytes | None = None,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    urgent: bool = False,
) -> Message:
    """Owe `text` (Telegram HTML) to every chat in `recipients`, once each; `urgent` ones (time
    bound: a reminder, a cancellation) are sent before any bulk message still owed.

    Commit the session to make it real; this process's workers wake on that commit, other
    processes' on their next poll. With an attachment, the text goes as its caption when it
    fits (1024 characters), else as a message of its own just before the file.
    `progress_chat_id` gets live progress and a final report (`progress_message_id`: an
    existing bot message there to edit; otherwise the worker sends one).
    """
    message = Message(
        kind=kind,
        text=text,
        created_by=created_by,
        event_id=event_id,
        reminder_id=reminder_id,
        school_id=school_id,
        reply_markup=_markup_json(reply_markup),
        attachment_name=attachment_name,
        attachment=attachment,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )
    session.add(message)
    await session.flush()
    await _add_recipients(session, message, recipients, URGENT if urgent else BULK)
    return message


# --- broadcast drafts (the /broadcast preview, stored so Send can carry just an id) -----------


async def save_draft(
    session: AsyncSession, *, text: str, created_by: int, school_id: str | None = None
) -> Message:
    await session.execute(
        delete(Message).where(Message.kind == DRAFT, Message.created_at < utcnow() - DRAFT_TTL)
    )
    draft = Message(kind=DRAFT, text=text, created_by=created_by, school_id=school_id)
    session.add(draft)
    await session.flush()
    return draft


async def get_draft(session: AsyncSession, draft_id: int, created_by: int) -> Message | None:
    """The draft, if it is still one and `created_by` wrote it."""
    return await session.scalar(
        select(Message).where(
            Message.id == draft_id, Message.kind == DRAFT, Message.created_by == created_by
        )
    )


async def discard_draft(session: AsyncSession, draft_id: int, created_by: int) -> bool:
    result = await session.execute(
        delete(Message).where(
            Message.id == draft_id, Message.kind == DRAFT, Message.created_by == created_by
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def send_draft(
    session: AsyncSession,
    draft_id: int,
    *,
    created_by: int,
    recipients: Iterable[int],
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> Message | None:
    """Turn the draft into a broadcast owed to `recipients`. One statement flips it, so a
    double press (or two processes) sends it once; None if it was sent or discarded already."""
    flipped = await session.execute(
        update(Message)
        .where(Message.id == draft_id, Message.kind == DRAFT, Message.created_by == created_by)
        .values(
            kind=BROADCAST,
            created_at=utcnow(),
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
        )
        .execution_options(synchronize_session=False)
    )
    if not flipped.rowcount:  # type: ignore[attr-defined]
        return None
    message = await session.scalar(
        select(Message).where(Message.id == draft_id).execution_options(populate_existing=True)
    )
    assert message is not None
    await _add_recipients(session, message, recipients)
    return message


# --- what the outbox says ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one message stands, for the progress message and the final report."""

    message_id: int
    kind: str
    language: str
    total: int
    delivered: int = 0
    blocked: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.delivered + self.blocked + self.failed

    @property
    def finished(self) -> bool:
        return self.done >= self.total


ProgressText = Callable[[Progress], str]


def plain_progress(progress: Progress) -> str:
    """A language-neutral progress text (the bot passes a translated one)."""
    head = "Finished" if progress.finished else "Sending"
    return (
        f"{head}: {progress.done:,} of {progress.total:,}. Delivered {progress.delivered:,}, "
        f"blocked {progress.blocked:,}, failed {progress.failed:,}."
    )


async def status_counts(
    session: AsyncSession, message_ids: Iterable[int]
) -> dict[int, Counter[str]]:
    ids = list(message_ids)
    counts: dict[int, Counter[str]] = {i: Counter() for i in ids}
    if ids:
        rows = await session.execute(
            select(Delivery.message_id, Delivery.status, func.count())
            .where(Delivery.message_id.in_(ids))
            .group_by(Delivery.message_id, Delivery.status)
        )
        for message_id, status, count in rows:
            counts[message_id][DeliveryStatus(status).value] = int(count)
    return counts


def progress_of(message_id: int, kind: str, language: str, counts: Counter[str]) -> Progress:
    return Progress(
        message_id=message_id,
        kind=kind,
        language=language,
        total=sum(counts.values()),
        delivered=counts[DeliveryStatus.DELIVERED.value],
        blocked=counts[DeliveryStatus.BLOCKED.value],
        failed=counts[DeliveryStatus.FAILED.value],
    )


async def open_deliveries(session: AsyncSession) -> int:
    """Rows still owed (pending or being sent), all messages together."""
    return int(
        await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status.in_(OPEN))
        )
        or 0
    )
