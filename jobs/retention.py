"""Deletes what PRIVACY.md says is kept no longer: old search logs, finished deliveries..."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.scheduler import add_interval_job
from knowledge.models import (
    CrisisSignal,
    Delivery,
    DeliveryStatus,
    Event,
    FollowUp,
    Handoff,
    Invitation,
    ListingReport,
    Message,
    OutcomeEvent,
    QueryLog,
    Rsvp,
    utcnow,
)
from knowledge.sms import purge_expired_sms
from knowledge.survey_answers import purge_idle_progress

log = logging.getLogger(__name__)

RETENTION_JOB = "retention"
RETENTION_SECONDS = 6 * 3600  # as PRIVACY.md says; expired rows go within hours
QUERY_LOG_DAYS = 180
FINISHED_DELIVERY_DAYS = 30
RSVP_DAYS_AFTER_EVENT = 30
HANDOFF_DAYS = 90
INVITATION_DAYS_AFTER_EXPIRY = 30
FOLLOW_UP_DAYS = 30  # after the last question or answer
OUTCOME_COUNT_DAYS = 730
RESOLVED_REPORT_DAYS = 180
FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.BLOCKED, DeliveryStatus.FAILED)


async def purge_expired(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Delete expired rows; returns how many per kind (the caller commits)."""
    removed: dict[str, int] = {}

    async def run(name: str, statement) -> None:  # type: ignore[no-untyped-def]
        result = await session.execute(statement)
        removed[name] = result.rowcount or 0  # type: ignore[attr-defined]

    await run(
        "query_log",
        delete(QueryLog).where(QueryLog.created_at < now - timedelta(days=QUERY_LOG_DAYS)),
    )
    cutoff = now - timedelta(days=FINISHED_DELIVERY_DAYS)
    await run(
        "delivery",
        delete(Delivery).where(
            Delivery.status.in_(FINISHED),
            Delivery.sent_at.is_not(None) & (Delivery.sent_at < cutoff)
            | Delivery.sent_at.is_(None) & (Delivery.next_attempt_at < cutoff),
        ),
    )
    # A message with no outbox rows left and older than the cut-off has nothing more to say.
    await run(
        "message",
        delete(Message).where(
            Message.created_at < cutoff,
            ~exists(select(Delivery.id).where(Delivery.message_id == Message.id)),
        ),
    )
    past_events = select(Event.id).where(
        Event.starts_at < now - timedelta(days=RSVP_DAYS_AFTER_EVENT)
    )
    await run("rsvp", delete(Rsvp).where(Rsvp.event_id.in_(past_events)))
    await run(
        "handoff", delete(Handoff).where(Handoff.created_at < now - timedelta(days=HANDOFF_DAYS))
    )
    await run(
        "invitation",
        delete(Invitation).where(
            Invitation.expires_at < now - timedelta(days=INVITATION_DAYS_AFTER_EXPIRY)
        ),
    )
    await run(
        "crisis_signal",
        delete(CrisisSignal).where(CrisisSignal.created_at < now - timedelta(days=QUERY_LOG_DAYS)),
    )
    follow_up_cutoff = now - timedelta(days=FOLLOW_UP_DAYS)
    await run(
        "follow_up",
        delete(FollowUp).where(
            FollowUp.status != "pending",
            FollowUp.created_at < follow_up_cutoff,
            (FollowUp.answered_at.is_(None) | (FollowUp.answered_at < follow_up_cutoff)),
            (FollowUp.sent_at.is_(None) | (FollowUp.sent_at < follow_up_cutoff)),
        ),
    )
    await run(
        "outcome_event",
        delete(OutcomeEvent).where(
            OutcomeEvent.created_at < now - timedelta(days=OUTCOME_COUNT_DAYS)
        ),
    )
    await run(
        "listing_report",
        delete(ListingReport).where(
            ListingReport.resolved_at < now - timedelta(days=RESOLVED_REPORT_DAYS)
        ),
    )
    removed["survey_progress"] = await purge_idle_progress(session, now)
    removed.update(await purge_expired_sms(session, now))
    return removed


def schedule_retention(
    scheduler: AsyncIOScheduler, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Purge now and every RETENTION_SECONDS. Safe in several processes: deletes are idempotent."""

    async def purge() -> None:
        async with sessions() as session, session.begin():
            removed = await purge_expired(session, utcnow())
        if any(removed.values()):
            log.info("Retention removed %s", ", ".join(f"{n} {k}" for k, n in removed.items() if n))

    add_interval_job(
        scheduler, purge, seconds=RETENTION_SECONDS, job_id=RETENTION_JOB, run_now=True
    )
