"""Follow-up check-ins: the rules (once a week, opt-out, quiet hours, exactly once, "didn't go
yet" once more), the answers as a family presses them, privacy, and the outcomes report.

On a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL), the real scheduler's
decision function and the real outbox rows; the handlers through the in-process harness.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harness import BotHarness, add_service, buttons, texts
from jobs.followups import CHECK_IN, queue_due_check_ins
from knowledge.calendar import NO_QUIET_HOURS, QuietHours
from knowledge.chats import forget_chat, get_chat
from knowledge.followups import (
    Answer,
    answer_check_in,
    schedule_check_in,
    stop_check_ins,
)
from knowledge.models import (
    Delivery,
    FollowUp,
    FollowUpOptOut,
    Message,
    OutcomeEvent,
    utcnow,
)
from knowledge.outcomes import COLUMNS, outcomes, outcomes_table
from knowledge.reports import write_report

ZONE = ZoneInfo("America/Chicago")
FAMILY = 4242
DELAY = timedelta(seconds=15)


class Texts:
    def check_in(self, service_name: str, language: str, again: bool) -> str:
        return f"[{language}] Did you get help from {service_name}?{' (again)' if again else ''}"

    def check_in_markup(self, follow_up_id: int, language: str) -> dict[str, object]:
        from bot.handlers.followups import ChatCheckInTexts

        return ChatCheckInTexts().check_in_markup(follow_up_id, language)


async def _service(
    session: AsyncSession, service_id: str = "svc-a", name: str = "Clinic A"
) -> None:
    await add_service(session, service_id, name, "A clinic for families")
    await session.commit()


async def _queue(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    quiet: QuietHours = NO_QUIET_HOURS,
) -> list[int]:
    async with sessions() as session, session.begin():
        run = await queue_due_check_ins(session, now, ZONE, quiet, Texts())
    return run.queued


async def test_a_check_in_is_owed_once_and_queued_exactly_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _service(session)
    now = utcnow()
    async with session_factory() as session, session.begin():
        owed = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need="dental",
            language="es",
            delay=DELAY,
            now=now,
        )
        assert owed is not None
        # A second card within the week schedules nothing.
        again = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need="dental",
            language="es",
            delay=DELAY,
            now=now + timedelta(days=2),
        )
        assert again is None

    assert await _queue(session_factory, now + timedelta(seconds=5)) == []  # not due yet
    assert await _queue(session_factory, now + DELAY) == [owed.id]
    assert await _queue(session_factory, now + DELAY + timedelta(seconds=1)) == []  # once

    async with session_factory() as session:
        message = await session.scalar(select(Message).where(Message.kind == CHECK_IN))
        assert message is not None
        assert message.text == "[es] Did you get help from Clinic A?"
        markup = json.loads(message.reply_markup or "{}")
        data = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        assert data == [f"fu:{owed.id}:{c}" for c in "yrtnwx"]
        assert all(len(d.encode()) <= 64 for d in data)
        labels = [b["text"] for row in markup["inline_keyboard"] for b in row]
        assert "✅ Sí, recibí ayuda" in labels and "🔕 No más seguimientos" in labels
        deliveries = list(await session.scalars(select(Delivery.chat_id)))
        assert deliveries == [FAMILY]

    # A week later, another card may be followed up again.
    async with session_factory() as session, session.begin():
        later = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need=None,
            language="en",
            delay=DELAY,
            now=now + timedelta(days=8),
        )
    assert later is not None


async def test_quiet_hours_hold_a_check_in_until_they_end(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _service(session)
    quiet = QuietHours(time(21), time(7))
    night = datetime(2026, 12, 2, 23, 30, tzinfo=ZONE).astimezone(UTC)
    async with session_factory() as session, session.begin():
        owed = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need=None,
            language="en",
            delay=DELAY,
            now=night - DELAY,
        )
    assert owed is not None
    assert await _queue(session_factory, night, quiet) == []
    morning = datetime(2026, 12, 3, 7, 0, tzinfo=ZONE).astimezone(UTC)
    assert await _queue(session_factory, morning, quiet) == [owed.id]


async def test_no_more_check_ins_and_blocked_chats_get_none(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _service(session)
    now = utcnow()
    async with session_factory() as session, session.begin():
        owed = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need=None,
            language="en",
            delay=DELAY,
            now=now,
        )
        assert owed is not None
        assert await stop_check_ins(session, FAMILY) == 1
        assert (
            await schedule_check_in(
                session,
                chat_id=FAMILY,
                service_id="svc-a",
                need=None,
                language="en",
                delay=DELAY,
                now=now + timedelta(days=30),
            )
            is None
        )
        blocked = await get_chat(session, 777)
        blocked.blocked = True
        assert (
            await schedule_check_in(
                session,
                chat_id=777,
                service_id="svc-a",
                need=None,
                language="en",
                delay=DELAY,
                now=now,
            )
            is None
        )
    assert await _queue(session_factory, now + DELAY) == []


async def test_answers_count_once_and_didnt_go_yet_asks_once_more(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _service(session)
    now = utcnow()
    async with session_factory() as session, session.begin():
        owed = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need="dental",
            language="en",
            delay=DELAY,
            now=now,
        )
    assert owed is not None
    await _queue(session_factory, now + DELAY)
    async with session_factory() as session, session.begin():
        # Someone else's chat cannot answer it.
        assert (
            await answer_check_in(
                session, owed.id, 999, Answer.GOT_HELP, ask_again_after=DELAY, now=now
            )
            is None
        )
        first = await answer_check_in(
            session, owed.id, FAMILY, Answer.NOT_YET, ask_again_after=DELAY, now=now + DELAY
        )
        assert first is not None and first.counted and first.asks_again
        pressed_again = await answer_check_in(
            session, owed.id, FAMILY, Answer.NOT_YET, ask_again_after=DELAY, now=now + DELAY
        )
        assert pressed_again is not None and not pressed_again.counted
    assert await _queue(session_factory, now + 2 * DELAY) == [owed.id]
    async with session_factory() as session:
        text = await session.scalar(
            select(Message.text).where(Message.kind == CHECK_IN).order_by(Message.id.desc())
        )
    assert text is not None and text.endswith("(again)")
    async with session_factory() as session, session.begin():
        last = await answer_check_in(
            session, owed.id, FAMILY, Answer.NOT_YET, ask_again_after=DELAY, now=now + 2 * DELAY
        )
        assert last is not None and last.counted and not last.asks_again
    assert await _queue(session_factory, now + 5 * DELAY) == []

    async with session_factory() as session:
        result = await outcomes(session, now - timedelta(days=1), now + timedelta(days=1))
    table = outcomes_table(result)
    [need_row, service_row] = table.rows
    assert need_row["service_id"] is None and need_row["need"] == "dental"
    assert service_row["service_id"] == "svc-a" and service_row["service"] == "Clinic A"
    assert service_row["check_ins_sent"] == 2 and service_row["not_yet"] == 2


async def test_forget_removes_check_ins_and_answers_but_the_counts_stay(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _service(session)
    now = utcnow()
    async with session_factory() as session, session.begin():
        owed = await schedule_check_in(
            session,
            chat_id=FAMILY,
            service_id="svc-a",
            need=None,
            language="en",
            delay=DELAY,
            now=now,
        )
        assert owed is not None
    await _queue(session_factory, now + DELAY)
    async with session_factory() as session, session.begin():
        await answer_check_in(
            session, owed.id, FAMILY, Answer.GOT_HELP, ask_again_after=DELAY, now=now + DELAY
        )
        await stop_check_ins(session, FAMILY)
        await forget_chat(session, FAMILY)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(FollowUp)) == 0
        assert await session.scalar(select(func.count()).select_from(FollowUpOptOut)) == 0
        counted = list(await session.scalars(select(OutcomeEvent.kind)))
        assert sorted(counted) == ["answer", "check_in_sent"]


async def test_outcomes_json_has_the_fields_the_issue_lists_and_no_chat(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    import io

    async with session_factory() as session:
        await _service(session)
        session.add(OutcomeEvent(kind="detail_open", service_id="svc-a", need="dental"))
        session.add(
            OutcomeEvent(kind="answer", service_id="svc-a", need="dental", answer="got_help")
        )
        await session.commit()
        now = utcnow()
        result = await outcomes(session, now - timedelta(days=1), now + timedelta(seconds=1))
    out = io.StringIO()
    write_report(outcomes_table(result), "json", out)
    rows = json.loads(out.getvalue())
    listed = [
        "service_id",
        "service",
        "need",
        "detail_opens",
        "check_ins_sent",
        "got_help",
        "could_not_reach",
        "turned_away",
        "not_yet",
        "wrong_information",
    ]
    assert list(COLUMNS[: len(listed)]) == listed
    service_row = next(r for r in rows if r["service_id"] == "svc-a")
    assert service_row["detail_opens"] == 1 and service_row["got_help"] == 1
    assert str(FAMILY) not in out.getvalue()


# --- as a family presses it ----------------------------------------------------------------------


async def test_a_family_opens_details_and_answers_the_check_in(bot: BotHarness) -> None:
    app = bot.application.bot_data["services"]
    chat = 5151
    calls = await bot.send(chat, "dentist for my kid")
    detail = next(data for _label, data in buttons(calls[-1]) if data.startswith("d:"))
    calls = await bot.press_data(chat, detail)
    labels = [label for label, _data in buttons(calls[-1])]
    assert any("Report a problem" in label for label in labels)
    async with app.sessions() as session:
        owed = await session.scalar(select(FollowUp).where(FollowUp.chat_id == chat))
        assert owed is not None and owed.need == "dental"
        opens = await session.scalar(
            select(func.count()).select_from(OutcomeEvent).where(OutcomeEvent.kind == "detail_open")
        )
        assert opens == 1
    await _queue(app.sessions, owed.due_at)
    # The family presses [Couldn't reach them] on its check-in.
    calls = await bot.press_data(chat, f"fu:{owed.id}:r")
    said = texts(calls)
    assert "Your answer: 📵 Couldn't reach them" in said
    assert "could not reach them" in said
    assert any("Other places for this need" in label for label, _ in buttons(calls[-1]))
    # A forged press on someone else's check-in changes nothing.
    calls = await bot.press_data(6262, f"fu:{owed.id}:y")
    assert "expired" in texts(calls)
    calls = await bot.press_data(chat, f"fu:{owed.id}:y")
    assert "have your answer already" in texts(calls)


async def test_the_information_was_wrong_leads_to_a_problem_report(bot: BotHarness) -> None:
    from knowledge.models import ListingReport

    app = bot.application.bot_data["services"]
    chat = 5252
    calls = await bot.send(chat, "necesito dentista", language="es")
    detail = next(data for _label, data in buttons(calls[-1]) if data.startswith("d:"))
    await bot.press_data(chat, detail, language="es")
    async with app.sessions() as session:
        owed = await session.scalar(select(FollowUp).where(FollowUp.chat_id == chat))
    assert owed is not None
    await _queue(app.sessions, owed.due_at)
    calls = await bot.press_data(chat, f"fu:{owed.id}:w", language="es")
    assert "¿Qué estaba mal en" in texts(calls)
    calls = await bot.press(chat, "Horario equivocado", language="es")
    assert "¿Cuál es el horario correcto?" in texts(calls)
    calls = await bot.send(chat, "lun a vie 9-17", language="es")
    assert "¡Gracias!" in texts(calls)
    assert "Esto es lo que encontré" not in texts(calls)  # the text was the report's, not a search
    async with app.sessions() as session:
        report = await session.scalar(select(ListingReport))
    assert report is not None
    assert (report.problem, report.suggestion, report.source, report.status) == (
        "hours",
        "lun a vie 9-17",
        "check_in",
        "open",
    )
