"""Events -> reminder rows -> deliveries. The database says what is owed; APScheduler says when
to look.

`queue_due_reminders` is the whole decision, run in one transaction: every pending reminder
whose time has come (moved out of quiet hours when that still helps) is claimed with
``UPDATE … WHERE status = 'pending'`` and turned into outbox rows in the same transaction, so
it goes out exactly once, however many processes look and however often the bot restarts.
A reminder whose event has already started is skipped and the coordinators are told; one
whose time passed while the event is still ahead (the bot was down, the clock jumped forward)
goes late, saying so.

`announce_new_events` does the same for announcements: an event without an announcement
message (one added with `resource-finder event add` while the bot runs, say) gets one.

`ReminderScheduler` runs both on the shared APScheduler (jobs.scheduler.DueWork): an interval
job (the guarantee: it sees rows written by any process) and a date job armed for the next
reminder (so it lands on time).

Texts come from the caller through `EventTexts` (jobs/ does not know the bot's catalogs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.outbox import enqueue
from jobs.scheduler import DueWork
from knowledge.calendar import (
    NO_QUIET_HOURS,
    TELLING_KINDS,
    QuietHours,
    Recipient,
    audience,
    by_language,
    coordinator_recipients,
    event_ics,
    ics_filename,
    reminder_recipients,
    send_time,
    told_recipients,
    withdraw_unsent,
)
from knowledge.models import Event, Message, Reminder, ReminderStatus, utcnow

log = logging.getLogger(__name__)

CHECK_JOB_ID = "reminders-check"
NEXT_JOB_ID = "reminders-next"
ANNOUNCEMENT = "announcement"
REMINDER = "reminder"
CANCELLATION = "event_cancelled"
UPDATE = "event_update"
SKIPPED_REPORT = "reminder_skipped"
# A reminder found this long after its time says it is late (the bot was down, or the clock
# jumped forward); on time, a look finds it within a second or two (the date job).
LATE_AFTER = timedelta(minutes=5)


class EventTexts(Protocol):
    """What families and coordinators read, in their language (the bot provides it)."""

    def announcement(self, event: Event, language: str) -> str: ...

    def rsvp_markup(self, event: Event, language: str) -> dict[str, Any]: ...

    def reminder(self, event: Event, language: str, late: bool = False) -> str:
        """`late`: its time passed while the bot could not send it (down, or the clock
        jumped); the event is still ahead, so it goes, saying so."""
        ...

    def cancellation(self, event: Event, language: str) -> str: ...

    def update_notice(self, event: Event, language: str) -> str: ...

    def skipped_report(self, events: Sequence[Event], language: str) -> str: ...


# --- sending -------------------------------------------------------------------------------------


async def _enqueue_by_language(
    session: AsyncSession,
    recipients: Sequence[Recipient],
    *,
    kind: str,
    text: Callable[[str], str],
    event: Event | None = None,
    reminder: Reminder | None = None,
    markup: Callable[[str], dict[str, Any]] | None = None,
    attachment: bool = False,
    zone: ZoneInfo | None = None,
    created_by: int | None = None,
    urgent: bool = False,
) -> list[Message]:
    """One outbox message per language among the recipients (one, with none, as a record)."""
    groups = by_language(recipients) or {"en": []}
    ics = event_ics(event, zone) if attachment and event is not None and zone else None
    messages = []
    for language, chat_ids in sorted(groups.items()):
        messages.append(
            await enqueue(
                session,
                kind=kind,
                text=text(language),
                recipients=chat_ids,
                created_by=created_by,
                event_id=event.id if event is not None else None,
                reminder_id=reminder.id if reminder is not None else None,
                school_id=event.school_id if event is not None else None,
                reply_markup=markup(language) if markup is not None else None,
                attachment_name=ics_filename(event) if ics is not None and event else None,
                attachment=ics,
                urgent=urgent,
            )
        )
    return messages


async def announce_event(
    session: AsyncSession,
    event: Event,
    texts: EventTexts,
    zone: ZoneInfo,
    created_by: int | None = None,
) -> int:
    """Queue the announcement (RSVP buttons, .ics) to the event's audience; returns how many
    chats it goes to."""
    recipients = await audience(session, event)
    await _enqueue_by_language(
        session,
        recipients,
        kind=ANNOUNCEMENT,
        text=lambda language: texts.announcement(event, language),
        event=event,
        markup=lambda language: texts.rsvp_markup(event, language),
        attachment=True,
        zone=zone,
        created_by=created_by,
    )
    return len(recipients)


async def announce_new_events(
    session: AsyncSession, now: datetime, texts: EventTexts, zone: ZoneInfo
) -> list[int]:
    """Announce upcoming events nobody announced yet (added from the CLI, for instance)."""
    announced = exists().where(Message.event_id == Event.id, Message.kind == ANNOUNCEMENT)
    candidates = list(
        await session.scalars(
            select(Event.id).where(
                Event.cancelled_at.is_(None),
                Event.announce.is_(True),  # not the ones created with --no-announce
                Event.starts_at > now,
                ~announced,
            )
        )
    )
    done = []
    for event_id in candidates:
        # Lock the event (PostgreSQL) and look again, so two processes cannot both announce.
        event = await session.scalar(
            select(Event)
            .where(Event.id == event_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if event is None or event.cancelled_at is not None:
            continue
        already = await session.scalar(
            select(Message.id).where(Message.event_id == event_id, Message.kind == ANNOUNCEMENT)
        )
        if already is not None:
            continue
        await announce_event(session, event, texts, zone, created_by=event.created_by)
        done.append(event_id)
    return done


async def notify_told(
    session: AsyncSession,
    event: Event,
    texts: EventTexts,
    zone: ZoneInfo,
    *,
    cancelled: bool,
    created_by: int | None = None,
) -> int:
    """Tell everyone who heard of the event (its announcement, a change notice, Going) that it
    was cancelled or changed; returns how many.

    Call it after `cancel_event`, which has already withdrawn what had not gone out (those
    families never heard of it). For a change, what had not gone out carries the old details:
    it is withdrawn, and the change notice, with the new details and the RSVP buttons, goes in
    its place.
    """
    recipients = await told_recipients(session, event.id, with_unsent=not cancelled)
    if not cancelled:
        await withdraw_unsent(session, event.id, TELLING_KINDS, reason="event changed")
    if not recipients:
        return 0
    await _enqueue_by_language(
        session,
        recipients,
        kind=CANCELLATION if cancelled else UPDATE,
        text=lambda language: (
            texts.cancellation(event, language)
            if cancelled
            else texts.update_notice(event, language)
        ),
        event=event,
        markup=None if cancelled else (lambda language: texts.rsvp_markup(event, language)),
        attachment=not cancelled,
        zone=zone,
        created_by=created_by,
        urgent=True,
    )
    return len(recipients)


# --- the decision --------------------------------------------------------------------------------


@dataclass
class ReminderRun:
    """What one look at the reminders did (ids of reminders)."""

    queued: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # due, but held by quiet hours


async def _claim(session: AsyncSession, reminder_id: int, status: ReminderStatus) -> bool:
    """Move a pending reminder to `status`; False if someone else already did."""
    result = await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == ReminderStatus.PENDING)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _reminder_text(texts: EventTexts, event: Event, late: bool, language: str) -> str:
    return texts.reminder(event, language, late)


async def queue_due_reminders(
    session: AsyncSession,
    now: datetime,
    zone: ZoneInfo,
    quiet_hours: QuietHours,
    *,
    texts: EventTexts,
) -> ReminderRun:
    """Queue every reminder whose (quiet-hours-adjusted) time has come, exactly once.

    - event cancelled: the reminder is cancelled;
    - event already started: skipped, and the coordinators get one short report;
    - several reminders of one event due at once (the bot was down): only the latest goes
      out, the older ones are superseded (families do not get "tomorrow" and "in an hour"
      in the same minute);
    - otherwise one message per language to the event's audience (less those who said they
      can't go), and the reminder is marked queued in the same transaction.
    """
    run = ReminderRun()
    rows = (
        await session.execute(
            select(Reminder, Event)
            .join(Event, Reminder.event_id == Event.id)
            .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
            .order_by(Reminder.event_id, Reminder.due_at.desc(), Reminder.id)
        )
    ).all()
    skipped_events: list[Event] = []
    sent_for: set[int] = set()
    for reminder, event in rows:
        if event.cancelled_at is not None:
            if await _claim(session, reminder.id, ReminderStatus.CANCELLED):
                run.cancelled.append(reminder.id)
            continue
        if event.starts_at <= now:
            if await _claim(session, reminder.id, ReminderStatus.SKIPPED):
                run.skipped.append(reminder.id)
                if event not in skipped_events:
                    skipped_events.append(event)
            continue
        if event.id in sent_for:
            if await _claim(session, reminder.id, ReminderStatus.SKIPPED):
                run.superseded.append(reminder.id)
            continue
        due = send_time(reminder.due_at, event.starts_at, zone, quiet_hours)
        if due > now:
            run.waiting.append(reminder.id)
            continue
        if not await _claim(session, reminder.id, ReminderStatus.QUEUED):
            continue  # another process took it
        recipients = await reminder_recipients(session, event)
        await _enqueue_by_language(
            session,
            recipients,
            kind=REMINDER,
            text=partial(_reminder_text, texts, event, now - due > LATE_AFTER),
            event=event,
            reminder=reminder,
            urgent=True,
        )
        sent_for.add(event.id)
        run.queued.append(reminder.id)
    if skipped_events:
        coordinators = await coordinator_recipients(session)
        if coordinators:
            await _enqueue_by_language(
                session,
                coordinators,
                kind=SKIPPED_REPORT,
                text=lambda language: texts.skipped_report(skipped_events, language),
            )
    return run


async def next_send_time(
    session: AsyncSession, now: datetime, zone: ZoneInfo, quiet_hours: QuietHours, look: int = 50
) -> datetime | None:
    """When the next pending reminder should go out (for the date job), or None."""
    rows = (
        await session.execute(
            select(Reminder.due_at, Event.starts_at)
            .join(Event, Reminder.event_id == Event.id)
            .where(Reminder.status == ReminderStatus.PENDING, Event.cancelled_at.is_(None))
            .order_by(Reminder.due_at)
            .limit(look)
        )
    ).all()
    times = [send_time(due, starts, zone, quiet_hours) for due, starts in rows]
    return min(times) if times else None


# --- the scheduler -------------------------------------------------------------------------------


class ReminderScheduler(DueWork[ReminderRun]):
    """Reminders on the shared scheduler (jobs.scheduler.DueWork): a look announces events
    added elsewhere, then queues the reminders that are due. `rearm()` after creating or
    moving an event in this process; events other processes add are found by the interval job.
    """

    check_job_id = CHECK_JOB_ID
    next_job_id = NEXT_JOB_ID
    what = "reminders"

    def __init__(
        self,
        scheduler: Any,
        sessions: async_sessionmaker[AsyncSession],
        *,
        zone: ZoneInfo,
        texts: EventTexts,
        quiet_hours: QuietHours = NO_QUIET_HOURS,
        check_seconds: float = 30,
    ) -> None:
        super().__init__(scheduler, sessions, check_seconds=check_seconds)
        self.zone = zone
        self.texts = texts
        self.quiet_hours = quiet_hours

    async def look(self) -> ReminderRun | None:
        """Announcements and reminders commit separately, so trouble with one never holds up
        the other."""
        try:
            async with self.sessions() as session, session.begin():
                announced = await announce_new_events(session, utcnow(), self.texts, self.zone)
            if announced:
                log.info("Announced events added elsewhere: %s", announced)
        except Exception:
            log.exception("Announcing new events failed; the next look will try again")
        return await super().look()

    async def queue_due(self, session: AsyncSession, now: datetime) -> ReminderRun:
        return await queue_due_reminders(
            session, now, self.zone, self.quiet_hours, texts=self.texts
        )

    async def next_due(self, session: AsyncSession) -> datetime | None:
        return await next_send_time(session, utcnow(), self.zone, self.quiet_hours)

    def log_run(self, run: ReminderRun) -> None:
        if run.queued or run.skipped:
            log.info(
                "Reminders: %d queued, %d skipped (event started), %d superseded",
                len(run.queued),
                len(run.skipped),
                len(run.superseded),
            )
