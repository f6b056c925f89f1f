"""Reminders on a real database and a real APScheduler: on time, once, across restarts and
processes, out of quiet hours, never for a cancelled event.

"Arrives" here means the outbox holds it (jobs.delivery sends the outbox; the end-to-end test
watches it reach the chats). Timings are never asserted, only that things happen (or not).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers.event_cards import ChatEventTexts
from jobs.reminders import (
    ANNOUNCEMENT,
    REMINDER,
    SKIPPED_REPORT,
    ReminderScheduler,
    announce_new_events,
    queue_due_reminders,
)
from knowledge.calendar import (
    NO_QUIET_HOURS,
    QuietHours,
    cancel_event,
    parse_quiet_hours,
    send_time,
    set_rsvp,
)
from knowledge.db import create_engine, create_sessionmaker
from knowledge.events import create_event
from knowledge.models import (
    Chat,
    Delivery,
    DeliveryStatus,
    Event,
    Message,
    Reminder,
    ReminderStatus,
    Role,
    utcnow,
)

ZONE = ZoneInfo("America/Chicago")
TEXTS = ChatEventTexts(ZONE)
FAMILIES = (701, 702, 703)
COORDINATOR = 799
NIGHT = parse_quiet_hours("21:00-07:00")
ROOT = Path(__file__).parent.parent


async def add_people(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        for chat_id in FAMILIES:
            session.add(Chat(id=chat_id, language="en", role=Role.FAMILY, subscribed=True))
        session.add(Chat(id=COORDINATOR, language="en", role=Role.COORDINATOR, subscribed=False))


async def add_event(
    sessions: async_sessionmaker[AsyncSession], title: str, starts: datetime, due: datetime
) -> tuple[int, int]:
    """An event with one reminder due at `due`; returns (event id, reminder id)."""
    async with sessions() as session, session.begin():
        event = await create_event(session, title=title, starts_at=starts, reminders=[starts - due])
        return event.id, event.reminders[0].id


async def reminder_messages(
    sessions: async_sessionmaker[AsyncSession], reminder_id: int
) -> list[Message]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Message).where(Message.kind == REMINDER, Message.reminder_id == reminder_id)
            )
        )


async def recipients_of(
    sessions: async_sessionmaker[AsyncSession], message_ids: list[int]
) -> list[int]:
    async with sessions() as session:
        return sorted(
            await session.scalars(
                select(Delivery.chat_id).where(Delivery.message_id.in_(message_ids))
            )
        )


async def status_of(sessions: async_sessionmaker[AsyncSession], reminder_id: int) -> ReminderStatus:
    async with sessions() as session:
        reminder = await session.get(Reminder, reminder_id)
        assert reminder is not None
        return ReminderStatus(reminder.status)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"nothing happened within {timeout} s")
        await asyncio.sleep(0.1)


class Bot:
    """One "process": its own engine, AsyncIOScheduler and ReminderScheduler."""

    def __init__(
        self, url: str, check_seconds: float, quiet: QuietHours, zone: ZoneInfo = ZONE
    ) -> None:
        self.engine = create_engine(url)
        self.sessions = create_sessionmaker(self.engine)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.reminders = ReminderScheduler(
            self.scheduler,
            self.sessions,
            zone=zone,
            texts=TEXTS,
            quiet_hours=quiet,
            check_seconds=check_seconds,
        )

    async def start(self) -> Bot:
        self.scheduler.start()
        await self.reminders.start()
        return self

    async def stop(self) -> None:
        await self.reminders.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.engine.dispose()


@pytest.fixture
async def start_bot(database_url: str) -> AsyncIterator[Callable[..., Awaitable[Bot]]]:
    started: list[Bot] = []

    async def start(
        check_seconds: float = 0.5, quiet: QuietHours = NO_QUIET_HOURS, zone: ZoneInfo = ZONE
    ) -> Bot:
        bot = await Bot(database_url, check_seconds, quiet, zone).start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        await bot.stop()


# --- quiet hours, as arithmetic ----


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


def test_quiet_hours_wait_until_morning_unless_the_event_is_sooner() -> None:
    starts = local(4, 18)
    assert send_time(local(3, 22), starts, ZONE, NIGHT) == local(4, 7)  # evening -> next morning
    assert send_time(local(4, 5, 30), starts, ZONE, NIGHT) == local(4, 7)  # small hours -> 07:00
    assert send_time(local(3, 18), starts, ZONE, NIGHT) == local(3, 18)  # daytime: unchanged
    assert send_time(local(4, 7), starts, ZONE, NIGHT) == local(4, 7)  # the end is not quiet
    early = local(4, 6, 30)  # starts before quiet hours end: a late reminder beats none
    assert send_time(local(4, 5, 30), early, ZONE, NIGHT) == local(4, 5, 30)
    assert send_time(local(3, 22), starts, ZONE, NO_QUIET_HOURS) == local(3, 22)
    day_shift = parse_quiet_hours("12:00-13:30")  # a window that does not wrap midnight
    assert send_time(local(3, 12, 15), starts, ZONE, day_shift) == local(3, 13, 30)


def test_quiet_hours_setting_is_read_or_refused() -> None:
    assert parse_quiet_hours("off") == NO_QUIET_HOURS
    assert parse_quiet_hours(" 22:30 - 6:45 ") == QuietHours(time(22, 30), time(6, 45))
    for bad in ("21-07", "25:00-07:00", "evening"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


async def test_quiet_hours_move_a_reminder_to_the_morning(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_people(session_factory)
    _, reminder_id = await add_event(session_factory, "Breakfast club", local(4, 9), local(3, 22))
    async with session_factory() as session, session.begin():
        run = await queue_due_reminders(session, local(3, 22, 1), ZONE, NIGHT, texts=TEXTS)
    assert run.waiting == [reminder_id] and not run.queued
    async with session_factory() as session, session.begin():
        run = await queue_due_reminders(session, local(4, 6, 59), ZONE, NIGHT, texts=TEXTS)
    assert run.waiting == [reminder_id]
    async with session_factory() as session, session.begin():
        run = await queue_due_reminders(session, local(4, 7), ZONE, NIGHT, texts=TEXTS)
    assert run.queued == [reminder_id]
    assert await status_of(session_factory, reminder_id) == ReminderStatus.QUEUED


async def test_quiet_hours_move_a_reminder_with_a_running_scheduler(
    session_factory: async_sessionmaker[AsyncSession], start_bot: Callable[..., Awaitable[Bot]]
) -> None:
    await add_people(session_factory)
    now = utcnow()
    quiet_end = now + timedelta(seconds=3)
    # Quiet hours that began an hour ago and end in 3 seconds, local time. Local time here is
    # UTC: built from the wall clock, such a window cannot be said in Chicago time during the
    # hour that repeats when summer time ends (01:00-02:00 comes twice; its end would be read
    # as the first 01:xx, an hour early, and the reminder sent at once).
    zone = ZoneInfo("UTC")
    quiet = QuietHours(
        (now - timedelta(hours=1)).astimezone(zone).time().replace(tzinfo=None),
        quiet_end.astimezone(zone).time().replace(tzinfo=None),
    )
    _, reminder_id = await add_event(
        session_factory, "Book fair", now + timedelta(hours=2), now - timedelta(seconds=1)
    )
    await start_bot(check_seconds=60, quiet=quiet, zone=zone)  # only the date job sends it on time
    [message] = await eventually(lambda: reminder_messages(session_factory, reminder_id))
    assert message.created_at >= quiet_end.replace(microsecond=0)


# --- once, and across restarts ----


async def test_due_reminder_is_queued_once_for_everyone_but_those_who_cant_go(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_people(session_factory)
    now = utcnow()
    event_id, reminder_id = await add_event(
        session_factory, "Fair", now + timedelta(hours=1), now - timedelta(minutes=1)
    )
    async with session_factory() as session, session.begin():
        await set_rsvp(session, event_id, FAMILIES[0], True)
        await set_rsvp(session, event_id, FAMILIES[2], False)
    for _ in range(3):
        async with session_factory() as session, session.begin():
            await queue_due_reminders(session, utcnow(), ZONE, NO_QUIET_HOURS, texts=TEXTS)
    messages = await reminder_messages(session_factory, reminder_id)
    assert len(messages) == 1 and messages[0].event_id == event_id
    assert "Fair" in messages[0].text
    assert await recipients_of(session_factory, [messages[0].id]) == [701, 702]


async def test_reminder_scheduled_before_a_restart_arrives_after_it_once(
    session_factory: async_sessionmaker[AsyncSession], start_bot: Callable[..., Awaitable[Bot]]
) -> None:
    await add_people(session_factory)
    now = utcnow()
    _, reminder_id = await add_event(
        session_factory, "Science night", now + timedelta(hours=1), now + timedelta(seconds=4)
    )
    first = await start_bot(check_seconds=0.5)
    await asyncio.sleep(1)
    await first.stop()  # the bot goes down before the reminder is due...
    assert await reminder_messages(session_factory, reminder_id) == []
    await start_bot(check_seconds=60)  # ...and comes back: the date job it arms sends it
    messages = await eventually(lambda: reminder_messages(session_factory, reminder_id))
    await asyncio.sleep(1.5)
    assert len(await reminder_messages(session_factory, reminder_id)) == len(messages) == 1
    assert await recipients_of(session_factory, [messages[0].id]) == list(FAMILIES)


async def test_missed_reminders_are_sent_if_still_useful_and_reported_otherwise(
    session_factory: async_sessionmaker[AsyncSession], start_bot: Callable[..., Awaitable[Bot]]
) -> None:
    await add_people(session_factory)
    now = utcnow()  # both reminders fell due while the bot was down
    _, useful = await add_event(
        session_factory, "Still ahead", now + timedelta(hours=1), now - timedelta(minutes=10)
    )
    _, late = await add_event(
        session_factory, "Already started", now - timedelta(minutes=5), now - timedelta(hours=1)
    )
    await start_bot()
    await eventually(lambda: reminder_messages(session_factory, useful))
    assert await status_of(session_factory, late) == ReminderStatus.SKIPPED
    assert await reminder_messages(session_factory, late) == []
    async with session_factory() as session:
        report = (
            await session.scalars(select(Message).where(Message.kind == SKIPPED_REPORT))
        ).one()
    assert "Already started" in report.text and "Still ahead" not in report.text
    assert await recipients_of(session_factory, [report.id]) == [COORDINATOR]


async def test_after_a_long_downtime_only_the_latest_reminder_goes_out(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_people(session_factory)
    starts = utcnow() + timedelta(minutes=30)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=starts)  # 1 day, 1 hour before
        day_before, hour_before = event.reminders
    async with session_factory() as session, session.begin():
        run = await queue_due_reminders(session, utcnow(), ZONE, NO_QUIET_HOURS, texts=TEXTS)
    assert run.queued == [hour_before.id] and run.superseded == [day_before.id]


async def test_two_processes_send_a_reminder_once(
    session_factory: async_sessionmaker[AsyncSession], start_bot: Callable[..., Awaitable[Bot]]
) -> None:
    await add_people(session_factory)
    now = utcnow()
    _, reminder_id = await add_event(
        session_factory, "Fair", now + timedelta(hours=1), now + timedelta(seconds=1)
    )
    await start_bot(check_seconds=0.2)
    await start_bot(check_seconds=0.2)
    await eventually(lambda: reminder_messages(session_factory, reminder_id))
    await asyncio.sleep(1.5)
    messages = await reminder_messages(session_factory, reminder_id)
    assert len(messages) == 1
    assert await recipients_of(session_factory, [messages[0].id]) == list(FAMILIES)


async def test_a_cancelled_event_sends_nothing_more(
    session_factory: async_sessionmaker[AsyncSession], start_bot: Callable[..., Awaitable[Bot]]
) -> None:
    await add_people(session_factory)
    now = utcnow()
    event_id, reminder_id = await add_event(
        session_factory, "Fair", now + timedelta(hours=1), now + timedelta(seconds=2)
    )
    async with session_factory() as session, session.begin():
        await announce_new_events(session, now, TEXTS, ZONE)
        await cancel_event(session, event_id)
    await start_bot(check_seconds=0.3)
    await asyncio.sleep(3.5)  # past the reminder's time, several checks later
    assert await reminder_messages(session_factory, reminder_id) == []
    assert await status_of(session_factory, reminder_id) == ReminderStatus.CANCELLED
    async with session_factory() as session:
        owed = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
        )
        announcements = await session.scalar(
            select(func.count()).select_from(Message).where(Message.kind == ANNOUNCEMENT)
        )
    assert owed == 0 and announcements == 1  # the unsent announcement was withdrawn too


async def test_an_event_added_with_the_cli_while_running_is_announced_and_reminded(
    database_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    start_bot: Callable[..., Awaitable[Bot]],
) -> None:
    await add_people(session_factory)
    await start_bot(check_seconds=1)
    starts = (utcnow() + timedelta(seconds=75)).astimezone(ZONE)
    env = {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": ""}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "event", "add", "--title", "CLI night",
        "--starts", starts.isoformat(timespec="seconds"), "--remind", "1m", "--announce",
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()

    async def event_row() -> Event | None:
        async with session_factory() as session:
            return await session.scalar(select(Event).where(Event.title == "CLI night"))

    event = await eventually(event_row)

    async def announced() -> int:
        async with session_factory() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.kind == ANNOUNCEMENT, Message.event_id == event.id)
                )
                or 0
            )

    assert await eventually(announced) == 1
    async with session_factory() as session:
        reminder_id = (
            await session.scalars(select(Reminder.id).where(Reminder.event_id == event.id))
        ).one()
    [message] = await eventually(lambda: reminder_messages(session_factory, reminder_id), 60)
    assert "CLI night" in message.text
    assert await recipients_of(session_factory, [message.id]) == list(FAMILIES)


async def test_a_reminder_whose_time_passed_in_a_clock_jump_goes_late_and_says_so(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The clock jumps forward 50 minutes, past the reminder's time but not the event's start:
    the reminder is sent late, marked as such, rather than skipped."""
    await add_people(session_factory)
    now = utcnow()
    _, on_time = await add_event(
        session_factory, "Fair", now + timedelta(hours=2), now + timedelta(hours=1)
    )
    _, jumped = await add_event(
        session_factory, "Book swap", now + timedelta(hours=1), now + timedelta(minutes=10)
    )
    after_the_jump = now + timedelta(minutes=50)
    async with session_factory() as session, session.begin():
        run = await queue_due_reminders(session, after_the_jump, ZONE, NO_QUIET_HOURS, texts=TEXTS)
    assert run.queued == [jumped] and run.skipped == []
    (message,) = await reminder_messages(session_factory, jumped)
    assert "sent late" in message.text and "Book swap" in message.text
    async with session_factory() as session, session.begin():  # the other, on time
        run = await queue_due_reminders(
            session, now + timedelta(hours=1, seconds=1), ZONE, NO_QUIET_HOURS, texts=TEXTS
        )
    (message,) = await reminder_messages(session_factory, on_time)
    assert "sent late" not in message.text and "Reminder:" in message.text
