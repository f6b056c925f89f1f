"""By text message too, a failed write leaves neither the number nor the words in the log.

The SMS bot runs as a process at -v against the loopback Twilio; the database refuses the
family's question and, later, a new number's row (PostgreSQL's error repeats the failing row,
number included). The whole log is then scanned.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_log_privacy import refuse_rows
from test_sms_e2e import REPLY_SECONDS, SmsBot, bots, start, twilio  # noqa: F401 (fixtures)

from knowledge.db import create_engine, create_sessionmaker
from twilioapi import FakeTwilio

FAMILY = "+15551239901"
NEWCOMER = "+15551239902"
QUESTION = "Can Rosa Quintero 4471 get help with rent before Friday?"


async def test_failed_writes_by_text_leave_no_number_or_words_in_the_log(
    twilio: FakeTwilio,  # noqa: F811
    database_url: str,
    tmp_path: Path,
    bots: list[SmsBot],  # noqa: F811
) -> None:
    bot = await start(SmsBot(twilio, database_url, tmp_path), bots)
    engine = create_engine(database_url)
    sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    try:
        assert await asyncio.to_thread(bot.ask, FAMILY, "food pantry")  # the number has a row
        await refuse_rows(sessions, database_url, "handoff")
        await asyncio.to_thread(bot.ask, FAMILY, "/ask")
        sorry = await asyncio.to_thread(bot.ask, FAMILY, QUESTION)
        assert "went wrong" in sorry

        await refuse_rows(sessions, database_url, "sms_number")
        await asyncio.to_thread(bot.text, NEWCOMER, "food pantry")
        await asyncio.sleep(3)  # whatever it answers, the failure is in the log by now
    finally:
        await engine.dispose()
    await asyncio.to_thread(bot.stop)
    log = "\n".join(path.read_text(errors="replace") for path in bot.logs)
    assert "table handoff" in log
    for secret in (FAMILY, NEWCOMER, FAMILY[1:], NEWCOMER[1:], "Quintero", "before Friday"):
        assert secret not in log, secret
