"""Events: the .ics file, the calendar rows (audience, RSVPs, cancel, edit), reading dates, and
the coordinator and family flows through the real handlers (/newevent, /events, RSVP, cancel)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers.event_cards import ChatEventTexts
from harness import COORDINATOR_ID, BotHarness, buttons, texts
from jobs.reminders import ANNOUNCEMENT, CANCELLATION, announce_new_events
from knowledge.calendar import (
    audience,
    cancel_event,
    event_ics,
    reschedule_event,
    rsvp_counts,
    set_rsvp,
    upcoming_events,
)
from knowledge.dates import parse_date, parse_hours, parse_time, parse_when
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
    Rsvp,
    utcnow,
)

ZONE = ZoneInfo("America/Chicago")
FAMILY_A, FAMILY_B, FAMILY_C = 601, 602, 603


async def add_chats(
    sessions: async_sessionmaker[AsyncSession],
    *ids: int,
    school: str | None = None,
    **fields: object,
) -> None:
    async with sessions() as session, session.begin():
        for chat_id in ids:
            session.add(
                Chat(
                    id=chat_id,
                    language=str(fields.get("language", "en")),
                    role=fields.get("role", Role.FAMILY),
                    subscribed=bool(fields.get("subscribed", True)),
                    school_id=school,
                    blocked=False,
                )
            )


# --- the .ics file ----


def test_ics_parses_with_the_right_start_and_time_zone() -> None:
    starts = datetime(2026, 12, 3, 18, 30, tzinfo=ZONE)
    event = Event(id=7, title="Family Literacy Night", starts_at=starts, where="Lincoln library")
    calendar = icalendar.Calendar.from_ical(event_ics(event, ZONE))
    [entry] = calendar.walk("VEVENT")
    start = entry.decoded("DTSTART")
    assert start == starts
    assert start.utcoffset() == timedelta(hours=-6)
    assert str(entry["DTSTART"].params["TZID"]) == "America/Chicago"
    assert getattr(start.tzinfo, "key", str(start.tzinfo)) == "America/Chicago"
    assert entry.decoded("DTEND") - start == timedelta(hours=1)
    assert str(entry["SUMMARY"]) == "Family Literacy Night"
    assert str(entry["LOCATION"]) == "Lincoln library"
    assert str(entry["UID"]) == "event-7@community-schools-resource-finder"
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["America/Chicago"]


def test_ics_ends_when_the_event_says() -> None:
    starts = datetime(2026, 12, 3, 18, 0, tzinfo=ZONE)
    ends = starts + timedelta(hours=2)
    event = Event(id=9, title="Family Math Night", starts_at=starts, ends_at=ends)
    [entry] = icalendar.Calendar.from_ical(event_ics(event, ZONE)).walk("VEVENT")
    assert entry.decoded("DTEND") == ends


def test_ics_in_summer_time_and_for_a_cancelled_event() -> None:
    starts = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # 04:00 in Chicago (CDT, UTC-5)
    event = Event(id=8, title="Walk", starts_at=starts, cancelled_at=starts - timedelta(days=1))
    [entry] = icalendar.Calendar.from_ical(event_ics(event, ZONE)).walk("VEVENT")
    local = entry.decoded("DTSTART")
    assert (local.hour, local.utcoffset()) == (4, timedelta(hours=-5))
    assert str(entry["STATUS"]) == "CANCELLED"


# --- reading what a coordinator types ----


def test_dates_and_times_as_people_type_them() -> None:
    today = date(2026, 11, 28)
    assert parse_date("2026-12-03", today, "en") == date(2026, 12, 3)
    assert parse_date("12/3", today, "en") == date(2026, 12, 3)
    assert parse_date("3/12", today, "es") == date(2026, 12, 3)
    assert parse_date("1/5", today, "en") == date(2027, 1, 5)  # already past this year
    assert parse_date("tomorrow", today, "en") == date(2026, 11, 29)
    assert parse_date("mañana", today, "es") == date(2026, 11, 29)
    assert parse_date("2026-02-30", today, "en") is None
    assert parse_time("18:30") == time(18, 30)
    assert parse_time("6pm") == time(18, 0)
    assert parse_time("6:15 p.m.") == time(18, 15)
    assert parse_time("12 am") == time(0, 0)
    assert parse_time("18h") == time(18, 0)
    assert parse_time("7") is None and parse_time("25:00") is None
    day = date(2026, 12, 3)
    assert parse_when("2026-12-03 18:00", today, "en") == (day, time(18, 0), None)
    assert parse_when("2026-12-03T18:00", today, "en") == (day, time(18, 0), None)
    assert parse_when("12/3 6 pm", today, "en") == (day, time(18, 0), None)
    assert parse_when("2026-12-03", today, "en") == (day, None, None)
    assert parse_when("next thursday", today, "en") == (date(2026, 12, 3), None, None)
    assert parse_when("sometime soon", today, "en") == (None, None, None)
    assert parse_when("12/3 6 pm - 8 pm", today, "en") == (day, time(18), time(20))
    assert parse_when("3/12 18 a 20h", today, "es") == (day, time(18), time(20))


def test_day_words_in_english_and_spanish() -> None:
    today = date(2026, 12, 1)  # a Tuesday
    next_tuesday, thursday, tomorrow = date(2026, 12, 8), date(2026, 12, 3), date(2026, 12, 2)
    six, eight = time(18), time(20)
    assert parse_when("next tuesday 6pm", today, "en") == (next_tuesday, six, None)
    assert parse_when("tuesday 6pm", today, "en") == (today, six, None)
    assert parse_when("Thursday, 6-8pm", today, "en") == (thursday, six, eight)
    assert parse_when("tomorrow at 6:30 pm", today, "en") == (tomorrow, time(18, 30), None)
    assert parse_when("December 3 at 6pm", today, "en") == (thursday, six, None)
    assert parse_when("mañana a las 18:00", today, "es") == (tomorrow, six, None)
    assert parse_when("mañana a las 6 de la tarde", today, "es") == (tomorrow, six, None)
    assert parse_when("hoy a las 9 de la mañana", today, "es") == (today, time(9), None)
    assert parse_when("el próximo martes a las 18:00", today, "es") == (next_tuesday, six, None)
    assert parse_when("el martes que viene 6-8pm", today, "es") == (next_tuesday, six, eight)
    assert parse_when("el jueves de 6 a 8 pm", today, "es") == (thursday, six, eight)
    assert parse_when("3 de diciembre a las 18", today, "es") == (thursday, six, None)
    assert parse_when("miercoles 18h", today, "es") == (tomorrow, six, None)
    assert parse_when("esta noche a las 7", today, "es") == (today, time(19), None)
    assert parse_when("pasado mañana 18:00", today, "es") == (thursday, six, None)
    assert parse_when("friday 6-8", today, "en") == (None, None, None)  # morning or evening?


def test_hours_as_people_type_them() -> None:
    six, eight = time(18), time(20)
    assert parse_hours("18:00") == (six, None)
    assert parse_hours("18:00-20:00") == parse_hours("18:00 – 20:00") == (six, eight)
    assert parse_hours("6-8pm") == parse_hours("6 pm to 8 pm") == (six, eight)
    assert parse_hours("6:30 - 8pm") == (time(18, 30), eight)  # an evening, as meant
    assert parse_hours("9:00 - 5pm") == (time(9), time(17))  # a working day
    assert parse_hours("11-1pm") == (time(11), time(13))
    assert parse_hours("18 a 20h") == (six, eight)
    assert parse_hours("6 a.m. - 8 a.m.") == (time(6), time(8))  # not "6 a" to ".m."
    assert parse_hours("7") is None and parse_hours("6 - later") is None


# --- the calendar rows ----


async def test_audience_is_subscribers_of_all_schools_or_that_school(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_chats(session_factory, FAMILY_A)  # every school
    await add_chats(session_factory, FAMILY_B, school="loc-lincoln-elementary")
    await add_chats(session_factory, FAMILY_C, school="loc-roosevelt-middle")
    await add_chats(session_factory, 604, subscribed=False)
    async with session_factory() as session, session.begin():
        starts = utcnow() + timedelta(days=2)
        everyone = await create_event(session, title="Fair", starts_at=starts)
        lincoln = await create_event(
            session, title="Lincoln night", starts_at=starts, school_id="loc-lincoln-elementary"
        )
        assert {r.chat_id for r in await audience(session, everyone)} == {601, 602, 603}
        assert {r.chat_id for r in await audience(session, lincoln)} == {601, 602}
        shown = await upcoming_events(session, utcnow(), school_id="loc-roosevelt-middle")
        assert [e.title for e in shown] == ["Fair"]
        shown = await upcoming_events(session, utcnow(), every_school=True)
        assert {e.title for e in shown} == {"Fair", "Lincoln night"}


async def test_rsvp_can_change_and_is_counted(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B, FAMILY_C)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=utcnow() + timedelta(days=2))
        await set_rsvp(session, event.id, FAMILY_A, True)
        await set_rsvp(session, event.id, FAMILY_B, True)
        await set_rsvp(session, event.id, FAMILY_C, True)
        await set_rsvp(session, event.id, FAMILY_C, False)
        counts = (await rsvp_counts(session, [event.id]))[event.id]
    assert (counts.going, counts.not_going) == (2, 1)


async def test_cancel_drops_reminders_and_unsent_announcements_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B)
    texts_ = ChatEventTexts(ZONE)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=utcnow() + timedelta(days=2))
        assert await announce_new_events(session, utcnow(), texts_, ZONE) == [event.id]
    async with session_factory() as session, session.begin():
        assert (await cancel_event(session, event.id)) is not None
        assert await cancel_event(session, event.id) is None  # a second press does nothing
    async with session_factory() as session:
        statuses = set(await session.scalars(select(Reminder.status)))
        deliveries = set(await session.scalars(select(Delivery.status)))
        shown = await upcoming_events(session, utcnow(), every_school=True)
    assert statuses == {ReminderStatus.CANCELLED}
    assert deliveries <= {DeliveryStatus.FAILED, DeliveryStatus.DELIVERED, DeliveryStatus.SENDING}
    assert shown == []


async def test_moving_an_event_moves_its_reminders(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        starts = utcnow() + timedelta(days=3)
        event = await create_event(session, title="Fair", starts_at=starts)
        first = event.reminders[0]
        first.status = ReminderStatus.QUEUED  # the day-before one went out already
        later = starts + timedelta(days=2)
        await reschedule_event(session, event, starts_at=later, where="Gym")
    async with session_factory() as session:
        reminders = list(await session.scalars(select(Reminder).order_by(Reminder.due_at)))
        moved = await session.get(Event, event.id)
    assert moved is not None and moved.where == "Gym"
    assert [r.due_at for r in reminders] == [later - timedelta(days=1), later - timedelta(hours=1)]
    assert {r.status for r in reminders} == {ReminderStatus.PENDING}  # owed again, new time


async def test_an_event_with_an_end_keeps_its_length_when_moved_and_is_listed_until_over(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with session_factory() as session, session.begin():
        with pytest.raises(ValueError):
            await create_event(session, title="Backwards", starts_at=now, ends_at=now)
        event = await create_event(
            session,
            title="Fair",
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=3),
        )
        later = now + timedelta(days=4)
        await reschedule_event(session, event, starts_at=later)
        assert event.ends == later + timedelta(hours=3)
        going_on = await create_event(
            session,
            title="Book fair",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
        )
        await create_event(session, title="Over", starts_at=now - timedelta(hours=1))
    async with session_factory() as session:
        listed = [e.id for e in await upcoming_events(session, now)]
    assert listed == [going_on.id, event.id]  # started but not over yet, then the next


async def test_events_added_elsewhere_are_announced_once_with_rsvp_and_ics(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_chats(session_factory, FAMILY_A)
    await add_chats(session_factory, FAMILY_B, language="es")
    texts_ = ChatEventTexts(ZONE)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=utcnow() + timedelta(days=2))
        await create_event(session, title="Past", starts_at=utcnow() - timedelta(days=2))
    async with session_factory() as session, session.begin():
        assert await announce_new_events(session, utcnow(), texts_, ZONE) == [event.id]
    async with session_factory() as session, session.begin():
        assert await announce_new_events(session, utcnow(), texts_, ZONE) == []
    async with session_factory() as session:
        messages = list(await session.scalars(select(Message).order_by(Message.id)))
        per_chat = dict(
            (await session.execute(select(Delivery.chat_id, Delivery.message_id))).all()
        )
    assert [m.kind for m in messages] == [ANNOUNCEMENT, ANNOUNCEMENT]  # one per language
    assert len(per_chat) == 2 and per_chat[FAMILY_A] != per_chat[FAMILY_B]
    for message in messages:
        assert message.event_id == event.id and message.attachment_name == f"event-{event.id}.ics"
        assert message.attachment and b"BEGIN:VEVENT" in message.attachment
        assert message.reply_markup and f"rsvp:{event.id}:1" in str(message.reply_markup)


# --- through the handlers ----


def next_week(hour: int = 18) -> datetime:
    day = utcnow().astimezone(ZONE).date() + timedelta(days=7)
    return datetime.combine(day, time(hour, 0), tzinfo=ZONE)


async def create_by_chat(bot: BotHarness, title: str = "Family Math Night") -> list:  # type: ignore[type-arg]
    """A coordinator goes through /newevent with buttons where there are buttons."""
    calls = await bot.send(COORDINATOR_ID, "/newevent")
    assert "What is it called" in texts(calls)
    calls = await bot.send(COORDINATOR_ID, title)
    assert "Which day" in texts(calls)
    day = next_week().date()
    calls = await bot.press_data(COORDINATOR_ID, f"ne:d:{day.isoformat()}")
    assert "What time" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "18:00")
    assert "Where is it" in texts(calls)
    calls = await bot.send(COORDINATOR_ID, "Lincoln cafeteria")
    assert "Who is it for" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "All schools")
    assert "When should I remind" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "3 hours before")  # adds a third reminder
    calls = await bot.press(COORDINATOR_ID, "Done")
    summary = texts(calls)
    assert title in summary and "Lincoln cafeteria" in summary and "3 hours before" in summary
    return await bot.press(COORDINATOR_ID, "Create and announce")


async def test_coordinator_creates_an_event_by_chat_and_it_is_announced(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B)
    calls = await create_by_chat(bot)
    assert "Families it will reach: 2" in texts(calls)
    async with session_factory() as session:
        event = (await session.scalars(select(Event))).one()
        offsets = sorted(await session.scalars(select(Reminder.offset_minutes)))
        announced = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .join(Message)
            .where(Message.kind == ANNOUNCEMENT, Message.event_id == event.id)
        )
    assert event.starts_at == next_week() and event.where == "Lincoln cafeteria"
    assert event.created_by == COORDINATOR_ID and event.school_id is None
    assert offsets == [60, 180, 1440]
    assert announced == 2


async def test_newevent_typed_date_and_time_and_a_school(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(COORDINATOR_ID, "/newevent")
    await bot.send(COORDINATOR_ID, "Roosevelt open house")
    calls = await bot.send(COORDINATOR_ID, "yesterday-ish")
    assert "didn't understand that date" in texts(calls)
    calls = await bot.send(COORDINATOR_ID, f"{next_week().date():%Y-%m-%d} 5:30 pm")
    assert "Where is it" in texts(calls)
    await bot.press(COORDINATOR_ID, "No place")
    await bot.press(COORDINATOR_ID, "Roosevelt")
    calls = await bot.send(COORDINATOR_ID, "2h")
    assert "2 hours before" in texts(calls)
    await bot.press(COORDINATOR_ID, "Create and announce")
    async with session_factory() as session:
        event = (await session.scalars(select(Event))).one()
        reminders = list(await session.scalars(select(Reminder)))
    assert event.starts_at == next_week().replace(hour=17, minute=30)
    assert event.where is None and event.school_id == "loc-roosevelt-middle"
    assert [r.offset_minutes for r in reminders] == [120]


async def test_newevent_takes_typed_hours_and_shows_them(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(COORDINATOR_ID, "/newevent")
    await bot.send(COORDINATOR_ID, "Family Math Night")
    await bot.press(COORDINATOR_ID, "Tomorrow")
    calls = await bot.send(COORDINATOR_ID, "6-8pm")
    assert "Where is it" in texts(calls)
    await bot.press(COORDINATOR_ID, "No place")
    await bot.press(COORDINATOR_ID, "All schools")
    calls = await bot.press(COORDINATOR_ID, "Done")
    assert "6:00 PM – 8:00 PM" in texts(calls).replace("\u202f", " ")  # Babel's narrow space
    await bot.press(COORDINATOR_ID, "Create and announce")
    async with session_factory() as session:
        event = (await session.scalars(select(Event))).one()
    assert event.ends - event.starts_at == timedelta(hours=2)
    assert event.starts_at.astimezone(ZONE).hour == 18


async def test_newevent_can_be_cancelled_and_is_for_coordinators_only(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await bot.send(FAMILY_A, "/newevent")
    assert "Only coordinators" in texts(calls)
    await bot.send(COORDINATOR_ID, "/newevent")
    await bot.send(COORDINATOR_ID, "Something")
    calls = await bot.send(COORDINATOR_ID, "/cancel")
    assert "dropped the new event" in texts(calls)
    calls = await bot.send(COORDINATOR_ID, "dentist")  # back to searching
    assert "Dental" in texts(calls)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_families_rsvp_and_the_coordinator_sees_counts(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B, FAMILY_C)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=next_week())
    calls = await bot.send(FAMILY_A, "/events")
    assert "Fair" in texts(calls)
    labels = [label for call in calls for label, _ in buttons(call)]
    assert any("Going" in label for label in labels) and any(
        "calendar" in label for label in labels
    )
    calls = await bot.press(FAMILY_A, "Going")
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    assert answer.params["text"] == "See you there!"
    edited = next(c for c in calls if c.method == "editMessageReplyMarkup")
    assert "☑️ Going" in [label for label, _ in buttons(edited)]
    await bot.send(FAMILY_B, "/events")
    await bot.press(FAMILY_B, "Going")
    await bot.send(FAMILY_C, "/events")
    await bot.press(FAMILY_C, "Can't go")
    calls = await bot.press(FAMILY_A, "Add to my calendar")
    document = next(c for c in calls if c.method == "sendDocument")
    assert document.params["document"]["filename"] == f"event-{event.id}.ics"
    calls = await bot.send(COORDINATOR_ID, "/events")
    assert "Going: 2 · Can't go: 1" in texts(calls)
    labels = [label for call in calls for label, _ in buttons(call)]
    assert any("Edit time/place" in label for label in labels)
    assert any("Cancel event" in label for label in labels)


async def test_cancelling_tells_those_going_and_stops_reminders(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=next_week())
        await set_rsvp(session, event.id, FAMILY_A, True)
        await set_rsvp(session, event.id, FAMILY_B, False)
    await bot.send(COORDINATOR_ID, "/events")
    calls = await bot.press(COORDINATOR_ID, "Cancel event")
    assert "Everyone who was told about it will be told" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "Yes, cancel it")
    assert "heard about it (1)" in texts(calls)
    async with session_factory() as session:
        notice = (await session.scalars(select(Message).where(Message.kind == CANCELLATION))).one()
        told = list(
            await session.scalars(select(Delivery.chat_id).where(Delivery.message_id == notice.id))
        )
        statuses = set(await session.scalars(select(Reminder.status)))
    assert told == [FAMILY_A]
    assert statuses == {ReminderStatus.CANCELLED}
    calls = await bot.send(FAMILY_A, "/events")
    assert "no upcoming events" in texts(calls)
    calls = await bot.press_data(FAMILY_A, f"rsvp:{event.id}:1")
    assert "cancelled" in texts(calls) or any(
        "cancelled" in str(c.params.get("text")) for c in calls
    )


async def test_editing_the_time_moves_it_and_tells_those_going(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_chats(session_factory, FAMILY_A)
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=next_week())
        await set_rsvp(session, event.id, FAMILY_A, True)
    await bot.send(COORDINATOR_ID, "/events")
    await bot.press(COORDINATOR_ID, "Edit time/place")
    calls = await bot.press(COORDINATOR_ID, "Date and time")
    assert "Send the new date and time" in texts(calls)
    new_start = next_week(19) + timedelta(days=1)
    calls = await bot.send(COORDINATOR_ID, f"{new_start:%Y-%m-%d %H:%M}")
    assert "Saved" in texts(calls)
    await bot.press(COORDINATOR_ID, "Edit time/place")
    await bot.press(COORDINATOR_ID, "Place")
    await bot.send(COORDINATOR_ID, "The gym")
    async with session_factory() as session:
        moved = await session.get(Event, event.id)
        updates = list(await session.scalars(select(Message).where(Message.kind == "event_update")))
    assert moved is not None and moved.starts_at == new_start and moved.where == "The gym"
    assert len(updates) == 2 and updates[0].attachment is not None


async def test_coordinator_buttons_check_the_role_on_every_press(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        event = await create_event(session, title="Fair", starts_at=next_week())
    await add_chats(session_factory, FAMILY_A)
    for data in (f"evm:{event.id}:cancel!", f"eve:{event.id}:time"):
        calls = await bot.press_data(FAMILY_A, data)
        answer = next(c for c in calls if c.method == "answerCallbackQuery")
        assert "Only coordinators" in answer.params["text"]
    # A coordinator demoted in the database loses the buttons at once, cache or not.
    await add_chats(session_factory, COORDINATOR_ID + 1)
    async with session_factory() as session, session.begin():
        chat = await session.get(Chat, COORDINATOR_ID + 1)
        assert chat is not None
        chat.role = Role.COORDINATOR
    await bot.press_data(COORDINATOR_ID + 1, f"evm:{event.id}:cancel")
    async with session_factory() as session, session.begin():
        chat = await session.get(Chat, COORDINATOR_ID + 1)
        assert chat is not None
        chat.role = Role.FAMILY
    calls = await bot.press_data(COORDINATOR_ID + 1, f"evm:{event.id}:cancel!")
    assert "Only coordinators" in texts(calls) or any(
        "Only coordinators" in str(c.params.get("text")) for c in calls
    )
    async with session_factory() as session:
        assert (await session.get(Event, event.id)).cancelled_at is None  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(Rsvp)) == 0


# --- changes reach everyone who heard of the event ----


async def _deliveries(
    sessions: async_sessionmaker[AsyncSession], kind: str
) -> dict[int, DeliveryStatus]:
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Delivery.status)
            .join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == kind)
        )
        return {chat_id: status for chat_id, status in rows}


async def _announce(sessions: async_sessionmaker[AsyncSession], title: str) -> Event:
    """An event announced to the subscribers, delivered to A and B, still owed to C (waiting
    to retry after a failure)."""
    async with sessions() as session, session.begin():
        event = await create_event(session, title=title, starts_at=next_week())
        await announce_new_events(session, utcnow(), ChatEventTexts(ZONE), ZONE)
        await session.execute(
            update(Delivery)
            .where(Delivery.chat_id.in_([FAMILY_A, FAMILY_B]))
            .values(status=DeliveryStatus.DELIVERED)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.chat_id == FAMILY_C)
            .values(next_attempt_at=utcnow() + timedelta(days=1))
        )
    return event


async def test_cancelling_tells_everyone_the_announcement_reached(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B, FAMILY_C)
    event = await _announce(session_factory, "Book fair")
    await bot.send(COORDINATOR_ID, "/events")
    await bot.press(COORDINATOR_ID, "Cancel event")
    calls = await bot.press(COORDINATOR_ID, "Yes, cancel it")
    assert "heard about it (2)" in texts(calls)  # nobody said Going: told anyway
    told = await _deliveries(session_factory, CANCELLATION)
    assert set(told) == {FAMILY_A, FAMILY_B}  # C never got the announcement: withdrawn
    announcement = await _deliveries(session_factory, ANNOUNCEMENT)
    assert announcement[FAMILY_C] == DeliveryStatus.FAILED
    assert event.id


async def test_moving_tells_everyone_and_replaces_what_was_not_sent(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_chats(session_factory, FAMILY_A, FAMILY_B, FAMILY_C)
    await add_chats(session_factory, FAMILY_C + 1, subscribed=False)
    event = await _announce(session_factory, "Book fair")
    async with session_factory() as session, session.begin():
        await set_rsvp(session, event.id, FAMILY_C + 1, True)  # found it through /events
    await bot.send(COORDINATOR_ID, "/events")
    await bot.press(COORDINATOR_ID, "Edit time/place")
    await bot.press(COORDINATOR_ID, "Place")
    calls = await bot.send(COORDINATOR_ID, "The library")
    assert "heard about it (4)" in texts(calls)
    told = await _deliveries(session_factory, "event_update")
    assert set(told) == {FAMILY_A, FAMILY_B, FAMILY_C, FAMILY_C + 1}
    # C's announcement still carried the old place: the change notice replaces it.
    assert (await _deliveries(session_factory, ANNOUNCEMENT))[FAMILY_C] == DeliveryStatus.FAILED
    async with session_factory() as session:
        notice = (
            await session.scalars(select(Message).where(Message.kind == "event_update"))
        ).first()
    assert notice is not None and "The library" in notice.text
    assert notice.reply_markup is not None and "rsvp:" in notice.reply_markup
