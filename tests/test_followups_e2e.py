"""End to end, as families and a coordinator would do it: `python -m bot run` as its own process
against the loopback Bot API, with FOLLOW_UP_DELAY=15s.

Families search and open a card's details (in English and in Spanish); the bot is stopped and
started again before their check-ins are due; each check-in still arrives, once; they answer,
and the answers appear in `report outcomes --json`. A second card within the week schedules
nothing; [No more check-ins] stops them. A family reports a wrong phone, the coordinator sees it
in /review and applies the fix, and the card shows the new number.

Only arrival is asserted, with generous timeouts, never timings.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.pool import NullPool

from botapi import Call, FakeBotApi
from harness import BotProcess, running_bot
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import FollowUp, FollowUpOptOut, utcnow

COORDINATOR = 895_001
FAMILY_EN, FAMILY_ES, FAMILY_STOP, FAMILY_REPORT = 895_101, 895_102, 895_103, 895_104
REPLY_SECONDS = 20
CHECK_IN_SECONDS = 90  # 15 s of delay, a restart, and a loaded machine


@pytest.fixture(params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BotProcess]:
    yield from running_bot(
        request.param,
        tmp_path,
        {
            "COORDINATOR_IDS": str(COORDINATOR),
            "FOLLOW_UP_DELAY": "15s",
            "REMINDER_CHECK_SECONDS": "1",
        },
    )


def said(call: Call) -> str:
    return str(call.text or call.caption or "")


def sent(
    api: FakeBotApi, chat_id: int, needle: str, after: int, timeout: float = REPLY_SECONDS
) -> Call:
    return api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == chat_id
            and c.method in ("sendMessage", "editMessageText")
            and needle in said(c)
        ),
        timeout=timeout,
        after_index=after,
    )


def press(api: FakeBotApi, chat_id: int, label: str) -> None:
    update_id = api.press(chat_id, label, timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)


def count(api: FakeBotApi, chat_id: int, needle: str) -> int:
    return sum(1 for c in api.sent_to(chat_id) if needle in said(c))


def open_first_card(api: FakeBotApi, chat_id: int, question: str, language: str = "en") -> str:
    """Search, then press the first result's details; returns the details text."""
    mark = api.mark()
    api.push_message(chat_id, question, language_code=language)
    api.wait_for_reply(chat_id, after_index=mark, timeout=REPLY_SECONDS)
    mark = api.mark()
    press(api, chat_id, "ℹ️ 1.")
    return said(sent(api, chat_id, "☎", mark))


async def _database(url: str, work):  # type: ignore[no-untyped-def]
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def follow_ups_of(url: str, chat_id: int) -> int:
    async def work(session):  # type: ignore[no-untyped-def]
        return await session.scalar(
            select(func.count()).select_from(FollowUp).where(FollowUp.chat_id == chat_id)
        )

    return int(asyncio.run(_database(url, work)))


def a_week_passes(url: str, chat_id: int) -> None:
    async def work(session):  # type: ignore[no-untyped-def]
        await session.execute(
            update(FollowUp)
            .where(FollowUp.chat_id == chat_id)
            .values(created_at=utcnow() - timedelta(days=8))
        )

    asyncio.run(_database(url, work))


def opted_out(url: str, chat_id: int) -> bool:
    async def work(session):  # type: ignore[no-untyped-def]
        return await session.get(FollowUpOptOut, chat_id) is not None

    return bool(asyncio.run(_database(url, work)))


def test_check_ins_reports_and_the_review_queue(bot: BotProcess) -> None:
    api = bot.api
    start = api.mark()

    # Families open cards, in English and in Spanish; a second card within the week.
    assert "Dental" in open_first_card(api, FAMILY_EN, "dentist for my kid")
    open_first_card(api, FAMILY_EN, "food pantry")
    open_first_card(api, FAMILY_ES, "necesito dentista", language="es")
    open_first_card(api, FAMILY_STOP, "food pantry")
    assert follow_ups_of(bot.database_url, FAMILY_EN) == 1  # the second card scheduled nothing

    # A restart between the card and the check-in: it still arrives, once.
    bot.stop()
    bot.start()
    for family, question in (
        (FAMILY_EN, "Did you get help from"),
        (FAMILY_ES, "¿Recibiste ayuda de"),
        (FAMILY_STOP, "Did you get help from"),
    ):
        check_in = sent(api, family, question, start, timeout=CHECK_IN_SECONDS)
        assert all(len(b["callback_data"].encode()) <= 64 for b in check_in.buttons)

    mark = api.mark()
    press(api, FAMILY_EN, "Yes, I got help")
    sent(api, FAMILY_EN, "good to hear", mark)
    press(api, FAMILY_ES, "Sí, recibí ayuda")
    sent(api, FAMILY_ES, "Qué bueno", mark)
    press(api, FAMILY_STOP, "No more check-ins")
    sent(api, FAMILY_STOP, "no more check-ins", mark)
    assert opted_out(bot.database_url, FAMILY_STOP)
    a_week_passes(bot.database_url, FAMILY_STOP)
    open_first_card(api, FAMILY_STOP, "dentist")
    assert follow_ups_of(bot.database_url, FAMILY_STOP) == 1  # none after [No more check-ins]

    time.sleep(2)  # a few more looks of the scheduler: nothing more comes
    assert count(api, FAMILY_EN, "Did you get help from") == 1
    assert count(api, FAMILY_ES, "¿Recibiste ayuda de") == 1

    rows = json.loads(bot.cli("report", "outcomes", "--json"))
    dental = [r for r in rows if r["need"] == "dental" and r["service_id"] is None]
    assert dental and dental[0]["got_help"] == 2 and dental[0]["check_ins_sent"] == 2
    assert sum(r["detail_opens"] for r in rows if r["service_id"]) == 5
    assert str(FAMILY_EN) not in json.dumps(rows)

    # A wrong phone reaches /review; [Apply the fix] changes the card.
    before = open_first_card(api, FAMILY_REPORT, "necesito dentista", language="es")
    assert "515-555-0199" not in before
    mark = api.mark()
    press(api, FAMILY_REPORT, "Reportar un problema")
    press(api, FAMILY_REPORT, "Teléfono equivocado")
    sent(api, FAMILY_REPORT, "número de teléfono correcto", mark)
    api.push_message(FAMILY_REPORT, "515 555 0199", language_code="es")
    sent(api, FAMILY_REPORT, "Gracias", mark)
    queue = json.loads(bot.cli("review", "list", "--json"))
    assert [(r["problem"], r["suggestion"]) for r in queue] == [("phone", "515 555 0199")]

    mark = api.mark()
    api.push_message(COORDINATOR, "/review")
    shown = sent(api, COORDINATOR, "Report 1 of 1", mark)
    assert "515 555 0199" in said(shown) and "☎" in said(shown)
    press(api, COORDINATOR, "Apply the fix")
    fixed = sent(api, COORDINATOR, "Fixed", mark)
    assert "(515) 555-0199" in said(fixed)
    sent(api, COORDINATOR, "No reports to review", mark)

    after = open_first_card(api, FAMILY_REPORT, "necesito dentista", language="es")
    assert "+1 515-555-0199" in after and "Revisado hoy" in after
    assert json.loads(bot.cli("review", "list", "--json")) == []
    assert not [c for c in api.errors if c.method != "getUpdates"], bot.output()
