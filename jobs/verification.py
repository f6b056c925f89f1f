"""Partners' "Is this still right?" -> the outbox. The database says what is owed
(knowledge.partners); APScheduler says when to look.

`queue_due_checks` is the whole decision, in one transaction: services that gained partners
get their first check, and each due check is claimed (asked now; again VERIFY_EVERY later
unless answered) and queued as one outbox message to the organization's partners in the same
transaction, so it goes out exactly
once however many processes look and however often the bot restarts. Quiet hours hold them.

`VerificationScheduler` runs it on the shared AsyncIOScheduler like the follow-ups: an interval
job (the guarantee) and a date job armed for the next check (so it lands on time).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.outbox import enqueue
from jobs.scheduler import DueWork
from knowledge.calendar import NO_QUIET_HOURS, QuietHours
from knowledge.directory import ServiceRecord, service_record
from knowledge.followups import quiet_end
from knowledge.partners import claim_check, due_checks, next_due, schedule_checks

log = logging.getLogger(__name__)

LISTING_CHECK = "listing_check"  # the outbox message kind
CHECK_JOB_ID = "listing-checks-check"
NEXT_JOB_ID = "listing-checks-next"


class ListingCheckTexts(Protocol):
    """What the partner reads, in its language (the bot provides it; jobs/ knows no catalogs)."""

    def question(self, record: ServiceRecord, language: str) -> str: ...

    def question_markup(self, check_id: int, language: str) -> dict[str, Any]: ...


@dataclass
class ListingCheckRun:
    scheduled: int = 0
    asked: list[int] = field(default_factory=list)


async def queue_due_checks(
    session: AsyncSession,
    now: datetime,
    every: timedelta,
    zone: ZoneInfo,
    quiet_hours: QuietHours,
    texts: ListingCheckTexts,
) -> ListingCheckRun:
    """Schedule new services' first checks; queue every due question, exactly once."""
    run = ListingCheckRun(scheduled=await schedule_checks(session, now, every))
    if quiet_end(now, zone, quiet_hours) > now:
        return run
    for due in await due_checks(session, now):
        record = await service_record(session, due.service_id)
        if record is None or not await claim_check(session, due.check_id, now, every):
            continue  # gone, or another process took it
        by_language: dict[str, list[int]] = defaultdict(list)
        for chat_id, language in due.partners:
            by_language[language].append(chat_id)
        for language, chat_ids in sorted(by_language.items()):
            await enqueue(
                session,
                kind=LISTING_CHECK,
                text=texts.question(record, language),
                recipients=chat_ids,
                reply_markup=texts.question_markup(due.check_id, language),
            )
        run.asked.append(due.check_id)
    return run


class VerificationScheduler(DueWork[ListingCheckRun]):
    """Runs the look on an APScheduler AsyncIOScheduler (which the caller owns)."""

    check_job_id = CHECK_JOB_ID
    next_job_id = NEXT_JOB_ID
    what = "listing checks"

    def __init__(
        self,
        scheduler: Any,
        sessions: async_sessionmaker[AsyncSession],
        *,
        every: timedelta,
        zone: ZoneInfo,
        texts: ListingCheckTexts,
        quiet_hours: QuietHours = NO_QUIET_HOURS,
        check_seconds: float = 60,
    ) -> None:
        super().__init__(scheduler, sessions, check_seconds=check_seconds)
        self.every = every
        self.zone = zone
        self.texts = texts
        self.quiet_hours = quiet_hours

    async def queue_due(self, session: AsyncSession, now: datetime) -> ListingCheckRun:
        return await queue_due_checks(
            session, now, self.every, self.zone, self.quiet_hours, self.texts
        )

    async def next_due(self, session: AsyncSession) -> datetime | None:
        return await next_due(session)

    def log_run(self, run: ListingCheckRun) -> None:
        if run.asked:
            log.info("Listing checks: %d asked", len(run.asked))
