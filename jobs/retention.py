"""Deletes what PRIVACY.md says is kept no longer: old search logs, finished deliveries..."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Handoff,
    Invitation,
    Message,
    QueryLog,
    Rsvp,
)

QUERY_LOG_DAYS = 180
FINISHED_DELIVERY_DAYS = 30
RSVP_DAYS_AFTER_EVENT = 30
HANDOFF_DAYS = 90
INVITATION_DAYS_AFTER_EXPIRY = 30
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
    return removed
