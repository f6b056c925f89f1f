"""The process's APScheduler: one AsyncIOScheduler on the bot's event loop, shared by every
periodic job (delivery safety net, reminders...). It only decides *when* to look; what is owed
lives in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from knowledge.models import utcnow


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
