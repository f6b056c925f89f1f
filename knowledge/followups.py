"""Follow-up check-ins: after a family opens a service's details, ask later, once, whether it
got help there.

The rules, all decided here on the database (so every process and every restart agree):
- a detail open schedules a check-in `delay` later, unless the chat opted out, blocked the bot,
  or already had one scheduled in the last week ("at most one check-in per family a week");
- a due check-in is claimed with ``UPDATE … WHERE status = 'pending'`` and queued in the outbox
  in the same transaction, so it goes out exactly once however many processes look; quiet hours
  hold it until they end;
- "Didn't go yet" asks once more, `delay` later (MAX_ASKS in all);
- [No more check-ins] cancels what is pending and asks nothing again.

Every detail open, check-in sent and answer is also counted in `outcome_event`, with no chat id:
those counts stay when a family uses /forget. The session is the caller's; nothing here commits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import (
    Chat,
    FollowUp,
    FollowUpOptOut,
    OutcomeEvent,
    Service,
    utcnow,
)

if TYPE_CHECKING:  # calendar -> subscriptions -> chats -> here
    from knowledge.calendar import QuietHours

WEEK = timedelta(days=7)
MAX_ASKS = 2  # the check-in, and once more after "Didn't go yet"
BATCH = 200

PENDING, SENT, ANSWERED, CANCELLED = "pending", "sent", "answered", "cancelled"
DETAIL_OPEN, CHECK_IN_SENT, ANSWER = "detail_open", "check_in_sent", "answer"


class Answer(enum.StrEnum):
    GOT_HELP = "got_help"
    COULD_NOT_REACH = "could_not_reach"
    TURNED_AWAY = "turned_away"
    NOT_YET = "not_yet"
    WRONG_INFORMATION = "wrong_information"


# One letter per answer in callback data ("fu:<id>:<letter>"); "x" is [No more check-ins].
ANSWER_CODES = {
    "y": Answer.GOT_HELP,
    "r": Answer.COULD_NOT_REACH,
    "t": Answer.TURNED_AWAY,
    "n": Answer.NOT_YET,
    "w": Answer.WRONG_INFORMATION,
}
STOP_CODE = "x"


# --- counting (anonymous) ------------------------------------------------------------------------


async def count_outcome(
    session: AsyncSession,
    kind: str,
    service_id: str,
    need: str | None,
    answer: str | None = None,
    now: datetime | None = None,
) -> None:
    session.add(
        OutcomeEvent(
            kind=kind, service_id=service_id, need=need, answer=answer, created_at=now or utcnow()
        )
    )
    await session.flush()


# --- scheduling ----------------------------------------------------------------------------------


async def opted_out(session: AsyncSession, chat_id: int) -> bool:
    return await session.get(FollowUpOptOut, chat_id) is not None


async def schedule_check_in(
    session: AsyncSession,
    *,
    chat_id: int,
    service_id: str,
    need: str | None,
    language: str,
    delay: timedelta,
    now: datetime | None = None,
) -> FollowUp | None:
    """Owe this chat a check-in about the service `delay` from now; None when the rules say
    not to (opted out, blocked, one already scheduled this week, no such service)."""
    now = now or utcnow()
    if await opted_out(session, chat_id):
        return None
    if await session.scalar(select(Chat.blocked).where(Chat.id == chat_id)):
        return None
    recent = await session.scalar(
        select(FollowUp.id)
        .where(
            FollowUp.chat_id == chat_id,
            or_(FollowUp.created_at > now - WEEK, FollowUp.status == PENDING),
        )
        .limit(1)
    )
    if recent is not None or await session.get(Service, service_id) is None:
        return None
    follow_up = FollowUp(
        chat_id=chat_id,
        service_id=service_id,
        need=need,
        language=language,
        status=PENDING,
        asks=0,
        due_at=now + delay,
        created_at=now,
    )
    session.add(follow_up)
    await session.flush()
    return follow_up


async def stop_check_ins(session: AsyncSession, chat_id: int, now: datetime | None = None) -> int:
    """[No more check-ins]: remember it, cancel what is pending; returns how many were."""
    if not await opted_out(session, chat_id):
        session.add(FollowUpOptOut(chat_id=chat_id, created_at=now or utcnow()))
    result = await session.execute(
        update(FollowUp)
        .where(FollowUp.chat_id == chat_id, FollowUp.status == PENDING)
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_follow_ups(session: AsyncSession, chat_id: int) -> None:
    """Everything that names the chat: its check-ins, answers and opt-out (counts stay)."""
    await session.execute(delete(FollowUp).where(FollowUp.chat_id == chat_id))
    await session.execute(delete(FollowUpOptOut).where(FollowUpOptOut.chat_id == chat_id))


# --- sending -------------------------------------------------------------------------------------


def quiet_end(moment: datetime, zone: ZoneInfo, quiet_hours: QuietHours) -> datetime:
    """`moment`, or the end of the quiet hours it falls in."""
    local = moment.astimezone(zone)
    if not quiet_hours.contains(local.time().replace(tzinfo=None)):
        return moment
    day = local.date() if local.time() < quiet_hours.end else local.date() + timedelta(days=1)
    return datetime.combine(day, quiet_hours.end, tzinfo=zone)


@dataclass(frozen=True, slots=True)
class DueCheckIn:
    follow_up: FollowUp
    service_name: str
    language: str  # the chat's language now, or the one it had when it opened the card
    wanted: bool  # False: the chat opted out or blocked the bot, or the listing closed


async def due_check_ins(
    session: AsyncSession, now: datetime, limit: int = BATCH
) -> list[DueCheckIn]:
    """Pending check-ins whose time has come, oldest first."""
    rows = (
        await session.execute(
            select(FollowUp, Service.name, Service.status, Chat.language, Chat.blocked)
            .join(Service, Service.id == FollowUp.service_id)
            .outerjoin(Chat, Chat.id == FollowUp.chat_id)
            .where(FollowUp.status == PENDING, FollowUp.due_at <= now)
            .order_by(FollowUp.due_at, FollowUp.id)
            .limit(limit)
        )
    ).all()
    due = []
    for follow_up, name, status, chat_language, blocked in rows:
        active = (status or "active").lower() == "active"
        wanted = active and not blocked and not await opted_out(session, follow_up.chat_id)
        due.append(DueCheckIn(follow_up, name, chat_language or follow_up.language, wanted))
    return due


async def claim_check_in(
    session: AsyncSession, follow_up_id: int, now: datetime, *, send: bool = True
) -> bool:
    """Mark a pending check-in sent (or cancelled, `send=False`); False if another process
    already did. Queue it in the same transaction: that is what makes it exactly once."""
    values: dict[str, Any] = (
        {"status": SENT, "asks": FollowUp.asks + 1, "sent_at": now}
        if send
        else {"status": CANCELLED}
    )
    result = await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.status == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def next_due(
    session: AsyncSession, zone: ZoneInfo, quiet_hours: QuietHours
) -> datetime | None:
    """When the next pending check-in may go out (for the scheduler's date job)."""
    due = await session.scalar(
        select(FollowUp.due_at).where(FollowUp.status == PENDING).order_by(FollowUp.due_at)
    )
    return quiet_end(due, zone, quiet_hours) if due is not None else None


# --- answers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerResult:
    follow_up: FollowUp
    answer: Answer
    counted: bool  # False: this check-in was answered already (a second press)
    asks_again: bool  # "Didn't go yet" and one more check-in is owed


async def check_in_of(session: AsyncSession, follow_up_id: int, chat_id: int) -> FollowUp | None:
    """The chat's own check-in; None for anyone else's, or one that is gone."""
    follow_up = await session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.chat_id != chat_id:
        return None
    return follow_up


async def answer_check_in(
    session: AsyncSession,
    follow_up_id: int,
    chat_id: int,
    answer: Answer,
    *,
    ask_again_after: timedelta,
    now: datetime | None = None,
) -> AnswerResult | None:
    """Record the chat's answer to its check-in, once; None if it is not the chat's."""
    now = now or utcnow()
    follow_up = await check_in_of(session, follow_up_id, chat_id)
    if follow_up is None:
        return None
    claimed = await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.status == SENT)
        .values(status=ANSWERED, answer=answer.value, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return AnswerResult(follow_up, answer, counted=False, asks_again=False)
    await session.refresh(follow_up)
    await count_outcome(session, ANSWER, follow_up.service_id, follow_up.need, answer.value, now)
    asks_again = (
        answer == Answer.NOT_YET
        and follow_up.asks < MAX_ASKS
        and not await opted_out(session, chat_id)
    )
    if asks_again:
        follow_up.status = PENDING
        follow_up.due_at = now + ask_again_after
        await session.flush()
    return AnswerResult(follow_up, answer, counted=True, asks_again=asks_again)
