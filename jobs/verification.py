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

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.delivery import enqueue
from knowledge.calendar import NO_QUIET_HOURS, QuietHours
from knowledge.directory import ServiceRecord, service_record
from knowledge.followups import quiet_end
from knowledge.models import utcnow
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


class VerificationScheduler:
    """Runs the look on an APScheduler AsyncIOScheduler (which the caller owns): at once, every
    `check_seconds`, and at the next check's time."""

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
        self.scheduler = scheduler
        self.sessions = sessions
        self.every = every
        self.zone = zone
        self.texts = texts
        self.quiet_hours = quiet_hours
        self.check_seconds = check_seconds
        self._lock = asyncio.Lock()
        self._stopped = False

    async def start(self) -> None:
        self._stopped = False
        self.scheduler.add_job(
            self.check,
            "interval",
            seconds=self.check_seconds,
            id=CHECK_JOB_ID,
            replace_existing=True,
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    async def stop(self) -> None:
        """Remove the jobs and wait for a look in progress to finish."""
        self._stopped = True
        for job_id in (CHECK_JOB_ID, NEXT_JOB_ID):
            try:
                self.scheduler.remove_job(job_id)
            except Exception:  # JobLookupError, or the scheduler already shut down
                pass
        async with self._lock:
            pass

    async def check(self) -> ListingCheckRun | None:
        """One look: queue what is due, then arm the date job for the next one."""
        async with self._lock:
            if self._stopped:
                return None
            run = None
            try:
                async with self.sessions() as session, session.begin():
                    run = await queue_due_checks(
                        session, utcnow(), self.every, self.zone, self.quiet_hours, self.texts
                    )
            except Exception:
                log.exception("Queuing listing checks failed; the next look will try again")
            if run is not None and run.asked:
                log.info("Listing checks: %d asked", len(run.asked))
            await self._arm()
            return run

    async def rearm(self) -> None:
        """Arm the date job again (after a partner answered in this process)."""
        async with self._lock:
            if not self._stopped:
                await self._arm()

    async def _arm(self) -> None:
        try:
            async with self.sessions() as session:
                when = await next_due(session)
        except Exception:
            log.exception("Could not find the next listing check time")
            return
        if when is None:
            try:
                self.scheduler.remove_job(NEXT_JOB_ID)
            except Exception:
                pass
            return
        when = max(when, utcnow() + timedelta(milliseconds=200))
        self.scheduler.add_job(
            self.check,
            "date",
            run_date=when,
            id=NEXT_JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,
        )
