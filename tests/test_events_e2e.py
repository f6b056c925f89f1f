"""End to end, as a coordinator would do it: `python -m bot run` as its own process against the
loopback Bot API server. Families subscribe, a coordinator creates an event by chat, the
announcement (with its .ics) reaches the families, they answer, the coordinator sees the
counts, the reminder arrives; and a reminder that falls due while the bot is down (killed)
arrives once after it restarts.

Only arrival is asserted, with generous timeouts, never timings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from botapi import Call, FakeBotApi
from harness import BotProcess, running_bot
from knowledge.db import create_engine
from knowledge.models import utcnow

COORDINATOR = 890_001
FAMILY_A, FAMILY_B = 890_101, 890_102
# The coordinator types the start as local wall time, seconds from now. In a zone with summer
# time that cannot name a moment in the hour that repeats when it ends (Chicago's 01:00-02:00
# on the first Sunday of November: the bot reads the earlier one, already past, and refuses
# it), so the bot runs in a Central zone without summer time, which also shows TIMEZONE is
# honoured rather than defaulted.
TIMEZONE = "America/Regina"
ZONE = ZoneInfo(TIMEZONE)
REPLY_SECONDS = 20


# What these tests set beyond the database and the API (harness.BotProcess).
SETTINGS = {
    "COORDINATOR_IDS": str(COORDINATOR),
    "TIMEZONE": TIMEZONE,
    "REMINDER_CHECK_SECONDS": "1",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BotProcess]:
    yield from running_bot(request.param, tmp_path, SETTINGS)


def said(call: Call) -> str:
    return str(call.text or call.caption or "")


def reply(api: FakeBotApi, chat_id: int, text: str) -> Call:
    api.push_message(chat_id, text)
    return api.wait_for_reply(chat_id, timeout=REPLY_SECONDS)


def press(api: FakeBotApi, chat_id: int, label: str) -> None:
    update_id = api.press(chat_id, label, timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)


def sent_after(api: FakeBotApi, chat_id: int, start: int, needle: str, timeout: float) -> Call:
    return api.wait_for(
        lambda c: c.ok and c.chat_id == chat_id and needle in said(c),
        timeout=timeout,
        after_index=start,
    )


def count_sent(api: FakeBotApi, chat_id: int, needle: str) -> int:
    return sum(1 for c in api.sent_to(chat_id) if needle in said(c))


def subscribe_families(api: FakeBotApi) -> None:
    for family in (FAMILY_A, FAMILY_B):
        answer = reply(api, family, "/subscribe")
        assert "announcements" in said(answer)


def create_event_by_chat(api: FakeBotApi, title: str, starts: datetime, reminders: str) -> Call:
    """The coordinator's whole /newevent conversation; returns the bot's final confirmation."""
    assert "What is it called" in said(reply(api, COORDINATOR, "/newevent"))
    assert "Which day" in said(reply(api, COORDINATOR, title))
    local = starts.astimezone(ZONE)
    answer = reply(api, COORDINATOR, f"{local:%Y-%m-%d %H:%M:%S}")
    assert "Where is it" in said(answer), said(answer)
    assert "Who is it for" in said(reply(api, COORDINATOR, "Lincoln cafeteria"))
    mark = api.mark()
    press(api, COORDINATOR, "All schools")
    assert "When should I remind" in said(api.wait_for_reply(COORDINATOR, after_index=mark))
    summary = reply(api, COORDINATOR, reminders)
    assert title in said(summary) and "Reminders:" in said(summary)
    mark = api.mark()
    press(api, COORDINATOR, "Create and announce")
    return api.wait_for_reply(COORDINATOR, after_index=mark, timeout=REPLY_SECONDS)


def test_coordinator_creates_an_event_families_answer_and_get_the_reminder(
    bot: BotProcess,
) -> None:
    api = bot.api
    subscribe_families(api)
    start_index = api.mark()
    # The reminder is due 20 seconds after the event is typed in: "2m" before a start 2m20s on.
    starts = (utcnow() + timedelta(minutes=2, seconds=20)).replace(microsecond=0)
    done = create_event_by_chat(api, "Family Math Night", starts, "2m")
    assert "Families it will reach: 2" in said(done), said(done)

    for family in (FAMILY_A, FAMILY_B):
        announcement = sent_after(api, family, start_index, "Family Math Night", REPLY_SECONDS)
        assert announcement.method == "sendDocument"
        assert {"✅ Going", "❌ Can't go"} <= set(announcement.button_labels)
        ics = announcement.document
        assert ics is not None and ics.file_name.endswith(".ics")
        [entry] = icalendar.Calendar.from_ical(ics.data).walk("VEVENT")
        assert entry.decoded("DTSTART") == starts
        assert str(entry["DTSTART"].params["TZID"]) == TIMEZONE

    press(api, FAMILY_A, "Going")
    press(api, FAMILY_B, "Can't go")
    counts = reply(api, COORDINATOR, "/events")
    listing = api.wait_for(
        lambda c: c.ok and c.chat_id == COORDINATOR and "Going: 1 · Can't go: 1" in said(c),
        timeout=REPLY_SECONDS,
        after_index=counts.index,
    )
    assert "Family Math Night" in said(listing)
    assert any("Cancel event" in label for label in listing.button_labels)

    reminder = sent_after(api, FAMILY_A, start_index, "Reminder", 150)
    assert "Family Math Night" in said(reminder)
    time.sleep(3)  # a few more checks: nothing more comes
    assert count_sent(api, FAMILY_A, "Reminder") == 1
    assert count_sent(api, FAMILY_B, "Reminder") == 0  # said they can't go
    assert not [c for c in api.errors if c.method != "getUpdates"], bot.output()


async def _open_deliveries(database_url: str) -> int:
    from jobs.outbox import open_deliveries
    from knowledge.db import create_sessionmaker

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await open_deliveries(session)
    finally:
        await engine.dispose()


def wait_until_outbox_settles(bot: BotProcess, timeout: float) -> None:
    """Until every delivery is recorded: a kill before that may resend the row on the wire,
    which the delivery engine allows (at-least-once for in-flight rows), but this test is
    about reminders, not that window."""
    deadline = time.monotonic() + timeout
    while asyncio.run(_open_deliveries(bot.database_url)) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_reminder_due_while_the_bot_is_down_arrives_once_after_restart(
    bot: BotProcess,
) -> None:
    api = bot.api
    subscribe_families(api)
    start_index = api.mark()
    starts = (utcnow() + timedelta(minutes=2, seconds=30)).replace(microsecond=0)
    due = starts - timedelta(minutes=2)
    done = create_event_by_chat(api, "Science Fair", starts, "2m")
    assert "Families it will reach: 2" in said(done), said(done)
    for family in (FAMILY_A, FAMILY_B):
        sent_after(api, family, start_index, "Science Fair", REPLY_SECONDS)
    deadline = time.monotonic() + REPLY_SECONDS
    while api.pending_updates and time.monotonic() < deadline:  # every update acknowledged
        time.sleep(0.1)
    wait_until_outbox_settles(bot, REPLY_SECONDS)
    assert utcnow() < due, "the event took too long to create; the reminder is not after the kill"
    bot.kill()
    assert count_sent(api, FAMILY_A, "Reminder") == 0
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 2)  # it falls due while down

    bot.start()
    for family in (FAMILY_A, FAMILY_B):
        reminder = sent_after(api, family, start_index, "Reminder", 60)
        assert "Science Fair" in said(reminder)
    time.sleep(4)
    assert count_sent(api, FAMILY_A, "Reminder") == 1
    assert count_sent(api, FAMILY_B, "Reminder") == 1
    assert count_sent(api, FAMILY_A, "Science Fair") == 2  # the announcement, the reminder
