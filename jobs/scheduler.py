"""The process's APScheduler: one AsyncIOScheduler on the bot's event loop, shared by every
periodic job (delivery safety net, reminders...). It only decides *when* to look; what is owed
lives in the database.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar, Generic, TypeVar

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.models import utcnow

log = logging.getLogger(__name__)
RunT = TypeVar("RunT")


def create_scheduler(timezone: tzinfo) -> AsyncIOScheduler:
    """A scheduler whose jobs never pile up: a late run is merged into one, never run twice."""
    return AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


def add_interval_job(
    scheduler: AsyncIOScheduler,
    func: Callable[[], Awaitable[Any] | Any],
    *,
    seconds: float,
    job_id: str,
    run_now: bool = False,
) -> Job:
    """Run `func` every `seconds` (also straight away with `run_now`); replaces a job with the
    same id."""
    options: dict[str, Any] = {"next_run_time": utcnow()} if run_now else {}
    return scheduler.add_job(
        func, "interval", seconds=seconds, id=job_id, replace_existing=True, **options
    )


def start(scheduler: AsyncIOScheduler) -> None:
    """Start on the running event loop (call from async code such as post_init); idempotent."""
    if not scheduler.running:
        scheduler.start()


def shutdown(scheduler: AsyncIOScheduler) -> None:
    """Stop firing jobs; jobs already running finish on their own. Idempotent."""
    if scheduler.running:
        scheduler.shutdown(wait=False)


class DueWork(ABC, Generic[RunT]):
    """Work the database says is owed (reminders, check-ins, listing checks), looked at on
    the shared scheduler: at once on `start()` (what fell due while the bot was down), every
    `check_seconds` (the guarantee: rows written by any process), and by a date job armed for
    the next one due (so it lands on time). `rearm()` after owing something new here.
    Subclasses say what one look queues and when the next is due."""

    check_job_id: ClassVar[str]
    next_job_id: ClassVar[str]
    what: ClassVar[str]  # for the log: "check-ins"

    def __init__(
        self,
        scheduler: Any,
        sessions: async_sessionmaker[AsyncSession],
        *,
        check_seconds: float = 60,
    ) -> None:
        self.scheduler = scheduler
        self.sessions = sessions
        self.check_seconds = check_seconds
        self._lock = asyncio.Lock()
        self._stopped = False

    @abstractmethod
    async def queue_due(self, session: AsyncSession, now: datetime) -> RunT:
        """Claim and queue what is due, in the caller's transaction."""

    @abstractmethod
    async def next_due(self, session: AsyncSession) -> datetime | None:
        """When the next one falls due, if any."""

    @abstractmethod
    def log_run(self, run: RunT) -> None:
        """One line about what a look queued, if anything."""

    async def start(self) -> None:
        self._stopped = False
        self.scheduler.add_job(
            self.check,
            "interval",
            seconds=self.check_seconds,
            id=self.check_job_id,
            replace_existing=True,
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    async def stop(self) -> None:
        """Remove the jobs and wait for a look in progress to finish."""
        self._stopped = True
        for job_id in (self.check_job_id, self.next_job_id):
            try:
                self.scheduler.remove_job(job_id)
            except Exception:  # JobLookupError, or the scheduler already shut down
                pass
        async with self._lock:
            pass

    async def look(self) -> RunT | None:
        """What one look does: queue what is due in one transaction; a failure is logged
        and left to the next look."""
        try:
            async with self.sessions() as session, session.begin():
                return await self.queue_due(session, utcnow())
        except Exception:
            log.exception("Queuing %s failed; the next look will try again", self.what)
            return None

    async def check(self) -> RunT | None:
        """One look, then arm the date job for the next one due."""
        async with self._lock:
            if self._stopped:
                return None
            run = await self.look()
            if run is not None:
                self.log_run(run)
            await self._arm()
            return run

    async def rearm(self) -> None:
        """Arm the date job again (after something fell owed in this process)."""
        async with self._lock:
            if not self._stopped:
                await self._arm()

    async def _arm(self) -> None:
        try:
            async with self.sessions() as session:
                when = await self.next_due(session)
        except Exception:
            log.exception("Could not find the next time for %s", self.what)
            return
        if when is None:
            try:
                self.scheduler.remove_job(self.next_job_id)
            except Exception:
                pass
            return
        when = max(when, utcnow() + timedelta(milliseconds=200))
        self.scheduler.add_job(
            self.check,
            "date",
            run_date=when,
            id=self.next_job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )
