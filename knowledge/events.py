"""Events and their reminders (the rows; jobs/ decides when to send them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.durations import parse_duration
from knowledge.models import Event, Reminder
from knowledge.text import clean_text

DEFAULT_REMINDERS = (timedelta(days=1), timedelta(hours=1))


def parse_offsets(text: str) -> list[timedelta]:
    """ "1d,1h,10m" -> offsets before the start; raises ValueError naming the bad part."""
    offsets = [parse_duration(part, units="mhdw") for part in text.split(",") if part.strip()]
    return sorted(set(offsets), reverse=True)


def check_end(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and (ends_at.tzinfo is None or ends_at <= starts_at):
        raise ValueError("the end must be after the start, with a time zone")


async def create_event(
    session: AsyncSession,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    where: str | None = None,
    description: str | None = None,
    school_id: str | None = None,
    created_by: int | None = None,
    reminders: list[timedelta] | None = None,
    announce: bool = True,
) -> Event:
    """Add an event with one reminder row per offset (defaults: a day and an hour before).
    `announce=False`: nobody is told (the reminder job will not announce it)."""
    if starts_at.tzinfo is None:
        raise ValueError("the start time needs a time zone")
    check_end(starts_at, ends_at)
    event = Event(
        title=clean_text(title).strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        where=clean_text(where or "").strip() or None,
        description=description,
        school_id=school_id,
        created_by=created_by,
        announce=announce,
    )
    offsets = DEFAULT_REMINDERS if reminders is None else reminders
    event.reminders = [
        Reminder(offset_minutes=int(offset.total_seconds() // 60), due_at=starts_at - offset)
        for offset in offsets
    ]
    session.add(event)
    await session.flush()
    return event
