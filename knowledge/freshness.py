"""How current a listing is, as its card says: when it was last checked, and how many of
families' reports about it are still unresolved."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import ListingReport

OPEN = "open"  # ListingReport.status of a report waiting for review
STALE_AFTER_DAYS = 365  # over a year since it was checked: "may be out of date: call first"
SEVERAL_REPORTS = 2  # this many unresolved reports mark the listing on its card


def checked_on(assured: date | None, modified: datetime | None, zone: tzinfo) -> date | None:
    """When the listing was last checked: the latest of its confirmation (HSDS assured_date,
    a partner's "still right") and its last change (a fix), on the calendar of `zone` (a fix
    just after midnight there is today's, whatever the date in UTC)."""
    changed = modified.astimezone(zone).date() if modified else None
    days = [d for d in (assured, changed) if d is not None]
    return max(days) if days else None


async def unresolved_count(session: AsyncSession, service_id: str) -> int:
    """Reports on the listing that no coordinator has looked at yet."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ListingReport)
            .where(ListingReport.service_id == service_id, ListingReport.status == OPEN)
        )
        or 0
    )
