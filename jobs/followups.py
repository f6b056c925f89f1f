"""Follow-up check-ins -> the outbox. The database says what is owed (knowledge.followups);
APScheduler says when to look.

`queue_due_check_ins` is the whole decision, in one transaction: each due check-in is claimed
(pending -> sent) and queued as one outbox message to one chat in the same transaction, so it
goes out exactly once, through whichever channel the chat is on (Telegram, SMS), however many
processes look and however often the bot restarts. Quiet hours hold them until they end.

`FollowUpScheduler` runs it on the shared AsyncIOScheduler: an interval job (the guarantee:
it sees rows written by any process, and what fell due while the bot was down) and a date job
armed for the next check-in (so it lands on time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.outbox import enqueue
from jobs.scheduler import DueWork
from knowledge.calendar import NO_QUIET_HOURS, QuietHours
from knowledge.followups import (
    CHECK_IN_SENT,
    claim_check_in,
    count_outcome,
    due_check_ins,
    next_due,
    quiet_end,
)

log = logging.getLogger(__name__)

CHECK_IN = "check_in"  # the outbox message kind
CHECK_JOB_ID = "follow-ups-check"
NEXT_JOB_ID = "follow-ups-next"


class CheckInTexts(Protocol):
    """What the family reads, in its language (the bot provides it; jobs/ knows no catalogs)."""

    def check_in(self, service_name: str, language: str, again: bool) -> str: ...

    def check_in_markup(self, follow_up_id: int, language: str) -> dict[str, Any]: ...


@dataclass
class CheckInRun:
    queued: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


async def queue_due_check_ins(
    session: AsyncSession,
    now: datetime,
    zone: ZoneInfo,
    quiet_hours: QuietHours,
    texts: CheckInTexts,
) -> CheckInRun:
    """Queue every check-in whose time has come, exactly once (none during quiet hours)."""
    run = CheckInRun()
    if quiet_end(now, zone, quiet_hours) > now:
        return run
    for due in await due_check_ins(session, now):
        follow_up = due.follow_up
        if not due.wanted:
            if await claim_check_in(session, follow_up.id, now, send=False):
                run.cancelled.append(follow_up.id)
            continue
        again = follow_up.asks > 0
        if not await claim_check_in(session, follow_up.id, now):
            continue  # another process took it
        await enqueue(
            session,
            kind=CHECK_IN,
            text=texts.check_in(due.service_name, due.language, again),
            recipients=[follow_up.chat_id],
            reply_markup=texts.check_in_markup(follow_up.id, due.language),
        )
        await count_outcome(session, CHECK_IN_SENT, follow_up.service_id, follow_up.need, now=now)
        run.queued.append(follow_up.id)
    return run


class FollowUpScheduler(DueWork[CheckInRun]):
    """Runs the check-in look on an APScheduler AsyncIOScheduler (which the caller owns)."""

    check_job_id = CHECK_JOB_ID
    next_job_id = NEXT_JOB_ID
    what = "check-ins"

    def __init__(
        self,
        scheduler: Any,
        sessions: async_sessionmaker[AsyncSession],
        *,
        zone: ZoneInfo,
        texts: CheckInTexts,
        quiet_hours: QuietHours = NO_QUIET_HOURS,
        check_seconds: float = 60,
    ) -> None:
        super().__init__(scheduler, sessions, check_seconds=check_seconds)
        self.zone = zone
        self.texts = texts
        self.quiet_hours = quiet_hours

    async def queue_due(self, session: AsyncSession, now: datetime) -> CheckInRun:
        return await queue_due_check_ins(session, now, self.zone, self.quiet_hours, self.texts)

    async def next_due(self, session: AsyncSession) -> datetime | None:
        return await next_due(session, self.zone, self.quiet_hours)

    def log_run(self, run: CheckInRun) -> None:
        if run.queued or run.cancelled:
            log.info("Check-ins: %d queued, %d cancelled", len(run.queued), len(run.cancelled))
