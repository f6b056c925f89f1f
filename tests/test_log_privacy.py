"""The log never holds what a person wrote, a bot token or a phone number (PRIVACY.md, "Logs").

The failure paths are driven for real: the database itself refuses the rows (a trigger on
SQLite, a CHECK constraint on PostgreSQL, whose error repeats the failing row), and every
captured log line is scanned for the texts that were sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from botapi import FakeBotApi
from harness import COORDINATOR_ID, BotHarness, texts
from knowledge.db import is_sqlite
from knowledge.log_privacy import install_log_privacy

FAMILY = 5005
QUESTION = "my husband hits me, Rosa Quintero 4471"
SEARCH = "Quintero rent help 4472"


async def refuse_rows(sessions: async_sessionmaker[AsyncSession], url: str, table: str) -> None:
    """Make the database refuse every new row of `table`."""
    async with sessions() as session, session.begin():
        if is_sqlite(url):
            await session.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:  # PostgreSQL's error DETAIL repeats the whole failing row
            await session.execute(
                text(f"ALTER TABLE {table} ADD CONSTRAINT refuse_{table} CHECK (false) NOT VALID")
            )


def assert_nothing_personal(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    lines = [caplog.text] + [record.getMessage() for record in caplog.records]
    lines += [record.exc_text or "" for record in caplog.records]
    for secret in secrets:
        for part in (secret, *secret.split(", ")):
            assert all(part not in line for line in lines), f"{part!r} is in the log"


async def test_failed_writes_log_the_failure_but_not_the_words(
    bot: BotHarness,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # SQLAlchemy logs every statement and its values at INFO
    await refuse_rows(session_factory, database_url, "handoff")
    await refuse_rows(session_factory, database_url, "query_log")

    await bot.send(FAMILY, "/ask")
    calls = await bot.send(FAMILY, QUESTION)
    assert "Sorry, something went wrong" in texts(calls)  # the family hears of it
    await bot.send(FAMILY, SEARCH)
    for _ in range(100):  # the logger's own round may be writing the row just now
        await bot.flush_query_log()
        if "table query_log" in caplog.text:
            break
        await asyncio.sleep(0.1)

    assert "table handoff" in caplog.text  # what failed, and where, is still said
    assert "table query_log" in caplog.text
    assert_nothing_personal(caplog, QUESTION, SEARCH)
    assert COORDINATOR_ID  # alerts went out, without the words (tests/test_errors.py)


def test_tokens_and_phone_numbers_are_redacted_from_every_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_privacy()
    caplog.set_level(logging.INFO)
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"', "POST", f"https://api.telegram.org/bot{token}/getMe", "200"
    )
    logging.getLogger("bot.sms").warning("Could not text %s", "+15551234567")
    try:
        raise ValueError(f"no route to https://api.telegram.org/bot{token}/x for +15551234567")
    except ValueError:
        logging.getLogger("telegram.ext").exception("Polling failed")
    assert token not in caplog.text and "+15551234567" not in caplog.text
    assert "bot<token>/getMe" in caplog.text and "number#" in caplog.text
    assert "ValueError" in caplog.text


def test_the_running_bot_at_verbose_never_logs_its_token(database_url: str) -> None:
    with FakeBotApi() as api:
        env = {**os.environ, **api.env(), "DATABASE_URL": database_url}
        env.pop("WEBHOOK_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "-v", "run"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            api.wait_until_polling(timeout=60)
            api.push_message(5006, "dentist")
            api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 5006, timeout=30)
            process.send_signal(signal.SIGTERM)
            _, log = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert "HTTP Request: POST" in log  # httpx logs every call at -v
    assert api.token not in log and api.token.split(":")[1] not in log
    assert "/bot<token>/" in log
