"""The events calendar: who an event is for, RSVPs, editing and cancelling, quiet hours, and
the .ics file.

No Telegram here: the bot, the CLI and the reminder job all use these. The session is the
caller's (nothing here commits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.events import check_end
from knowledge.models import (
    Chat,
    Delivery,
    DeliveryStatus,
    Event,
    Message,
    Reminder,
    ReminderStatus,
    Role,
    Rsvp,
    utcnow,
)
from knowledge.subscriptions import subscriber_ids

PRODID = "-//Community Schools Resource Finder//Events//EN"
UID_DOMAIN = "community-schools-resource-finder"
# Outbox messages about an event that must not go out once it is cancelled.
EVENT_MESSAGE_KINDS = ("announcement", "reminder", "event_update")
# Outbox messages that tell people about an event: whoever got one hears of a change.
TELLING_KINDS = ("announcement", "event_update")


@dataclass(frozen=True, slots=True)
class Recipient:
    chat_id: int
    language: str


@dataclass(frozen=True, slots=True)
class RsvpCount:
    going: int = 0
    not_going: int = 0


# --- quiet hours ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A nightly window, local time, when reminders wait; `start == end` means none."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


NO_QUIET_HOURS = QuietHours(time(0), time(0))
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str) -> QuietHours:
    """ "21:00-07:00" -> QuietHours; "" or "off" -> none. Raises ValueError otherwise."""
    if text.strip().lower() in ("", "off", "none", "no"):
        return NO_QUIET_HOURS
    match = _QUIET.match(text)
    if not match:
        raise ValueError("expected HH:MM-HH:MM such as 21:00-07:00, or off")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError("expected HH:MM-HH:MM such as 21:00-07:00, or off")
    return QuietHours(time(h1, m1), time(h2, m2))


def send_time(
    due_at: datetime, starts_at: datetime, zone: ZoneInfo, quiet_hours: QuietHours
) -> datetime:
    """When a reminder due at `due_at` should go out: at the end of quiet hours if it falls in
    them, unless the event starts before then (a late reminder is better than none)."""
    local = due_at.astimezone(zone)
    if not quiet_hours.contains(local.time().replace(tzinfo=None)):
        return due_at
    day = local.date() if local.time() < quiet_hours.end else local.date() + timedelta(days=1)
    quiet_end = datetime.combine(day, quiet_hours.end, tzinfo=zone)
    return quiet_end if quiet_end < starts_at else due_at


# --- the .ics file -----------------------------------------------------------------------------


def ics_filename(event: Event) -> str:
    return f"event-{event.id}.ics"


def event_ics(event: Event, zone: ZoneInfo) -> bytes:
    """One VEVENT in the community's time zone (with its VTIMEZONE), for a phone's calendar.

    The UID is stable per event, so a re-sent file (after an edit) updates the same entry.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if event.cancelled_at else "PUBLISH")
    entry = icalendar.Event()
    entry.add("uid", f"event-{event.id}@{UID_DOMAIN}")
    entry.add("dtstamp", utcnow())
    entry.add("dtstart", event.starts_at.astimezone(zone))
    entry.add("dtend", event.ends.astimezone(zone))
    entry.add("summary", event.title)
    if event.where:
        entry.add("location", event.where)
    if event.description:
        entry.add("description", event.description)
    entry.add("status", "CANCELLED" if event.cancelled_at else "CONFIRMED")
    calendar.add_component(entry)
    if hasattr(calendar, "add_missing_timezones"):  # icalendar >= 6.1 writes the VTIMEZONE
        calendar.add_missing_timezones()
    return calendar.to_ical()


# --- who an event is for -----------------------------------------------------------------------


async def _with_languages(session: AsyncSession, chat_ids: Iterable[int]) -> list[Recipient]:
    ids = sorted(set(chat_ids))
    if not ids:
        return []
    rows = await session.execute(
        select(Chat.id, Chat.language).where(Chat.id.in_(ids)).order_by(Chat.id)
    )
    return [Recipient(chat_id, language) for chat_id, language in rows]


async def audience(session: AsyncSession, event: Event) -> list[Recipient]:
    """Who hears about the event: its subscribers (knowledge.subscriptions: a chat narrowed to
    a school hears that school's events and the all-school ones), plus anyone who said Going."""
    subscribers = await subscriber_ids(session, event.school_id)
    going = await session.scalars(
        select(Rsvp.chat_id)
        .join(Chat, Chat.id == Rsvp.chat_id)
        .where(Rsvp.event_id == event.id, Rsvp.going.is_(True), Chat.blocked.is_(False))
    )
    return await _with_languages(session, [*subscribers, *going])


async def reminder_recipients(session: AsyncSession, event: Event) -> list[Recipient]:
    """The audience, less those who said they can't go; for an event that was never announced,
    only those who said Going (nobody else was told of it)."""
    if not event.announce:
        return await going_recipients(session, event.id)
    declined = set(
        await session.scalars(
            select(Rsvp.chat_id).where(Rsvp.event_id == event.id, Rsvp.going.is_(False))
        )
    )
    return [r for r in await audience(session, event) if r.chat_id not in declined]


async def told_recipients(
    session: AsyncSession, event_id: int, *, with_unsent: bool
) -> list[Recipient]:
    """Everyone the event's announcement or a change notice reached (and, `with_unsent`, those
    it is still on its way to), plus everyone who said Going: whoever must hear of a change."""
    statuses = [DeliveryStatus.DELIVERED, DeliveryStatus.SENDING]
    if with_unsent:
        statuses.append(DeliveryStatus.PENDING)
    told = select(Delivery.chat_id).where(
        Delivery.status.in_(statuses),
        Delivery.message_id.in_(
            select(Message.id).where(Message.event_id == event_id, Message.kind.in_(TELLING_KINDS))
        ),
    )
    going = select(Rsvp.chat_id).where(Rsvp.event_id == event_id, Rsvp.going.is_(True))
    rows = await session.execute(
        select(Chat.id, Chat.language)
        .where(or_(Chat.id.in_(told), Chat.id.in_(going)), Chat.blocked.is_(False))
        .order_by(Chat.id)
    )
    return [Recipient(chat_id, language) for chat_id, language in rows]


async def going_recipients(session: AsyncSession, event_id: int) -> list[Recipient]:
    rows = await session.execute(
        select(Chat.id, Chat.language)
        .join(Rsvp, Rsvp.chat_id == Chat.id)
        .where(Rsvp.event_id == event_id, Rsvp.going.is_(True), Chat.blocked.is_(False))
    )
    return [Recipient(chat_id, language) for chat_id, language in rows]


async def coordinator_recipients(session: AsyncSession) -> list[Recipient]:
    rows = await session.execute(
        select(Chat.id, Chat.language).where(Chat.role == Role.COORDINATOR, Chat.blocked.is_(False))
    )
    return [Recipient(chat_id, language) for chat_id, language in rows]


def by_language(recipients: Iterable[Recipient]) -> dict[str, list[int]]:
    """Chat ids grouped by language, so each group gets the text in its own language."""
    groups: dict[str, list[int]] = {}
    for recipient in recipients:
        groups.setdefault(recipient.language or "en", []).append(recipient.chat_id)
    return groups


# --- listing -----------------------------------------------------------------------------------


async def upcoming_events(
    session: AsyncSession,
    now: datetime,
    *,
    school_id: str | None = None,
    every_school: bool = False,
    limit: int = 10,
) -> list[Event]:
    """Events not cancelled that have not ended by `now` (or started, when they give no end),
    soonest first.

    `every_school` (coordinators) lists them all; otherwise the all-school events and, when the
    chat is narrowed to a school, that school's.
    """
    query = select(Event).where(
        Event.cancelled_at.is_(None), or_(Event.starts_at > now, Event.ends_at > now)
    )
    if not every_school:
        query = query.where(
            or_(Event.school_id.is_(None), Event.school_id == school_id)
            if school_id is not None
            else Event.school_id.is_(None)
        )
    return list(await session.scalars(query.order_by(Event.starts_at, Event.id).limit(limit)))


async def rsvp_counts(session: AsyncSession, event_ids: Iterable[int]) -> dict[int, RsvpCount]:
    ids = list(event_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Rsvp.event_id,
            func.sum(case((Rsvp.going.is_(True), 1), else_=0)),
            func.sum(case((Rsvp.going.is_(False), 1), else_=0)),
        )
        .where(Rsvp.event_id.in_(ids))
        .group_by(Rsvp.event_id)
    )
    counts = {event_id: RsvpCount(int(going or 0), int(no or 0)) for event_id, going, no in rows}
    return {event_id: counts.get(event_id, RsvpCount()) for event_id in ids}


async def rsvps_of(
    session: AsyncSession, chat_id: int, event_ids: Iterable[int]
) -> dict[int, bool]:
    """This chat's answers (event id -> going) for these events."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Rsvp.event_id, Rsvp.going).where(Rsvp.chat_id == chat_id, Rsvp.event_id.in_(ids))
    )
    return {event_id: going for event_id, going in rows}


# --- RSVPs, edits, cancelling -------------------------------------------------------------------


async def set_rsvp(session: AsyncSession, event_id: int, chat_id: int, going: bool) -> Rsvp:
    """Record (or change) a chat's answer. The chat row must exist."""
    rsvp = await session.get(Rsvp, (event_id, chat_id))
    if rsvp is None:
        rsvp = Rsvp(event_id=event_id, chat_id=chat_id, going=going, answered_at=utcnow())
        session.add(rsvp)
    else:
        rsvp.going = going
        rsvp.answered_at = utcnow()
    await session.flush()
    return rsvp


async def withdraw_unsent(
    session: AsyncSession,
    event_id: int,
    kinds: Iterable[str] = EVENT_MESSAGE_KINDS,
    reason: str = "event cancelled",
) -> int:
    """Stop outbox rows about the event that have not gone out yet; returns how many."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.message_id.in_(
                select(Message.id).where(
                    Message.event_id == event_id, Message.kind.in_(list(kinds))
                )
            ),
        )
        .values(status=DeliveryStatus.FAILED, error=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def cancel_event(
    session: AsyncSession, event_id: int, now: datetime | None = None
) -> Event | None:
    """Mark the event cancelled, drop its pending reminders and unsent announcements.

    Returns the event, or None if there is no such event or it was already cancelled (so two
    presses of "Cancel" tell families only once).
    """
    now = now or utcnow()
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id, Event.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    await session.execute(
        update(Reminder)
        .where(Reminder.event_id == event_id, Reminder.status == ReminderStatus.PENDING)
        .values(status=ReminderStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    await withdraw_unsent(session, event_id)
    event = await session.get(Event, event_id, populate_existing=True)
    return event


async def reschedule_event(
    session: AsyncSession,
    event: Event,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    where: str | None = None,
    now: datetime | None = None,
) -> Event:
    """Change the time and/or place. A new start without a new end keeps the event's length.
    Reminders follow the new time: each one still ahead is owed again (pending), even if it had
    gone out for the old time."""
    now = now or utcnow()
    if where is not None:
        event.where = where.strip() or None
    if starts_at is not None and starts_at.tzinfo is None:
        raise ValueError("the start time needs a time zone")
    if starts_at is not None and ends_at is None and event.ends_at is not None:
        ends_at = starts_at + (event.ends_at - event.starts_at)
    if ends_at is not None:
        check_end(starts_at or event.starts_at, ends_at)
        event.ends_at = ends_at
    if starts_at is not None and starts_at != event.starts_at:
        event.starts_at = starts_at
        reminders = await session.scalars(select(Reminder).where(Reminder.event_id == event.id))
        for reminder in reminders:
            if reminder.status == ReminderStatus.CANCELLED:
                continue
            reminder.due_at = starts_at - timedelta(minutes=reminder.offset_minutes)
            if reminder.due_at > now:
                reminder.status = ReminderStatus.PENDING
    await session.flush()
    return event
