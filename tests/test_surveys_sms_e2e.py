"""End to end by text message: the needs survey reaches numbers that JOINed, as numbered
choices, and they answer it by replying numbers: `python -m bot run` with Twilio played by the
loopback fake and a coordinator on the loopback Bot API, on SQLite and PostgreSQL.

An English number starts, ticks, writes an "other" answer, says Later, and goes on after a
restart (its choices are in the database); a Spanish number answers and skips to the end. The
counts come out anonymous; every text keeps within three segments.

Arrival and counts are asserted with generous timeouts; timings never are.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_sms_e2e import COORDINATOR, REPLY_SECONDS, SmsBot, assert_within_three_segments

from bot.sms.text import to_gsm
from botapi import FakeBotApi
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import SurveyProgress
from knowledge.survey_answers import tallies
from knowledge.surveys import NEEDS_SURVEY
from twilioapi import FakeTwilio

FAMILY_EN = "+15551239001"
FAMILY_ES = "+15551239002"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi().start()
    try:
        yield server
    finally:
        server.stop()


def last_text(twilio: FakeTwilio, number: str) -> str:
    return twilio.sent_to(number)[-1].body


def key_for(text: str, label: str) -> str:
    """The number to reply for the choice `label` in the text ("3 - Skip" -> "3")."""
    found = re.search(rf"^(\S+) - {re.escape(to_gsm(label))}$", text, re.MULTILINE)
    assert found, f"no choice {label!r} in:\n{text}"
    return found.group(1)


def choose(bot: SmsBot, number: str, label: str, expect: str) -> str:
    return bot.ask(number, key_for(last_text(bot.twilio, number), label), expect)


async def counts(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            progress = await session.scalar(select(func.count()).select_from(SurveyProgress))
            return progress, await tallies(session, NEEDS_SURVEY)
    finally:
        await engine.dispose()


def answer_by_text(bot: SmsBot) -> None:
    twilio, api = bot.twilio, bot.api
    assert api is not None
    assert "announcements" in bot.ask(FAMILY_EN, "JOIN")
    assert "anuncios" in bot.ask(FAMILY_ES, "UNIRME")  # a new number's first text, in Spanish

    mark = api.mark()
    api.push_message(COORDINATOR, "/survey")
    api.wait_for_reply(COORDINATOR, after_index=mark, timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(api.press(COORDINATOR, "Family survey"), REPLY_SECONDS)
    api.wait_for_callback_answer(api.press(COORDINATOR, "Send"), REPLY_SECONDS)
    twilio.wait_for_text(FAMILY_EN, 0, "Start", REPLY_SECONDS)
    twilio.wait_for_text(FAMILY_ES, 0, "Empezar", REPLY_SECONDS)

    # English: household, "other" for the language, Later; a restart; Continue; a tick, Done.
    first = choose(bot, FAMILY_EN, "Start", "1/16")
    assert "How many people live in your home?" in first and "4 - 7 or more" in first
    choose(bot, FAMILY_EN, "3 or 4", "2/16")
    choose(bot, FAMILY_EN, "Other (write it)", "Type your answer")
    assert "3/16" in bot.ask(FAMILY_EN, "Vietnamese", "3/16")  # the answer, not a search
    choose(bot, FAMILY_EN, "Later", "saved")
    bot.stop()
    bot.start()
    choose(bot, FAMILY_EN, "Continue", "3/16")
    choose(bot, FAMILY_EN, "Yes", "4/16")
    choose(bot, FAMILY_EN, "Text message", "4/16")  # ticked: the question again
    choose(bot, FAMILY_EN, "Done", "5/16")
    while "Thank you" not in last_text(twilio, FAMILY_EN):
        choose(bot, FAMILY_EN, "Skip", "")

    # Spanish: household, then skip to the end.
    assert "Cuantas personas" in choose(bot, FAMILY_ES, "Empezar", "1/16")
    choose(bot, FAMILY_ES, "1 o 2", "2/16")
    assert "2/16" in bot.ask(FAMILY_ES, "encuesta", "2/16")  # the word for /survey: where it is
    while "Gracias" not in last_text(twilio, FAMILY_ES):
        choose(bot, FAMILY_ES, "Omitir", "")


async def test_numbers_answer_the_needs_survey_by_text(
    twilio: FakeTwilio, api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    bot = SmsBot(twilio, database_url, tmp_path, api=api)
    try:
        await asyncio.to_thread(bot.start)
        await asyncio.to_thread(answer_by_text, bot)
    finally:
        await asyncio.to_thread(bot.stop)

    progress, [tally] = await counts(database_url)
    assert progress == 0  # both finished: nothing names them any more
    assert (tally.started, tally.finished) == (2, 2)
    assert tally.counts[("household", "3-4")] == 1 and tally.counts[("household", "1-2")] == 1
    assert tally.counts[("language", "other")] == 1 and tally.counts[("language", "skip")] == 1
    assert tally.counts[("contact", "text")] == 1 and tally.counts[("contact", "skip")] == 1
    assert tally.counts[("interpreter", "yes")] == 1
    assert_within_three_segments(twilio)
