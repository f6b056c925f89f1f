"""Handler tests: the real Application and handlers, a real database, an in-process Bot API.

`BotHarness` feeds updates through `Application.process_update` and returns the Bot API calls
each one caused, so a test reads like a conversation.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application

from bot.local_chat import Call, InProcessBotApi, callback_update, location_update, message_update
from botapi import FakeBotApi
from knowledge.models import Language, Organization, Service

COORDINATOR_ID = 9001
BOT_STARTUP_SECONDS = 90


async def reset_postgres(url: str) -> None:
    """An empty `public` schema: tests and benchmarks share one PostgreSQL database."""
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from knowledge.db import create_engine

    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


class StoppableProcess:
    """Kill or stop the bot process a test started (`self.process`, logs in `self.logs`)."""

    process: subprocess.Popen[bytes] | None
    logs: list[Path]

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash or a pulled plug."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not end in time."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-4000:] for log in self.logs)


@dataclass
class BotProcess(StoppableProcess):
    """`python -m bot -v run` as its own process against the loopback Bot API, and the CLI with
    the same settings: `settings` are what a test sets beyond the database and the API."""

    api: FakeBotApi
    database_url: str
    folder: Path
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "HEALTH_"))},
            **self.api.env(),
            "DATABASE_URL": self.database_url,
            "QUIET_HOURS": "off",  # tests must not depend on the hour they run at
            "PYTHONUNBUFFERED": "1",
            **self.settings,
        }

    def start(self) -> None:
        log = self.folder / f"bot-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "-v", "run"],
                env=self.env(),
                cwd=self.folder,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            self.api.wait_until_polling(timeout=BOT_STARTUP_SECONDS)
        except TimeoutError:
            pytest.fail(f"the bot did not start polling:\n{self.output()}")

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=self.env(),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


def empty_database(backend: str, folder: Path) -> str:
    """The URL of an empty database of `backend` for a bot process: PostgreSQL's from
    TEST_DATABASE_URL, emptied (else the test is skipped), or a SQLite file in `folder`."""
    if backend == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set")
        asyncio.run(reset_postgres(url))
        return url
    return f"sqlite:///{folder / 'bot.db'}"


def running_bot(backend: str, folder: Path, settings: dict[str, str]) -> Iterator[BotProcess]:
    """A fixture's body: a started `BotProcess` on an empty database of `backend` (PostgreSQL
    from TEST_DATABASE_URL, else skipped), stopped afterwards."""
    url = empty_database(backend, folder)
    api = FakeBotApi().start()
    process = BotProcess(api, url, folder, settings)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        api.stop()


class BotHarness:
    def __init__(self, application: Application, api: InProcessBotApi) -> None:  # type: ignore[type-arg]
        self.application = application
        self.api = api

    async def _feed(self, update: dict[str, Any]) -> list[Call]:
        start = len(self.api.calls)
        await self.application.process_update(Update.de_json(update, self.application.bot))
        return self.api.calls[start:]

    async def send(self, chat_id: int, text: str, language: str = "en", **extra: Any) -> list[Call]:
        return await self._feed(message_update(chat_id, text, language, **extra))

    async def share_location(self, chat_id: int, latitude: float, longitude: float) -> list[Call]:
        return await self._feed(location_update(chat_id, latitude, longitude))

    async def press_data(self, chat_id: int, data: str, language: str = "en") -> list[Call]:
        message = self.latest_with_buttons(chat_id) or {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
        }
        return await self._feed(callback_update(chat_id, message, data, language))

    async def press(self, chat_id: int, label: str, language: str = "en") -> list[Call]:
        """Press the newest button in this chat whose text contains `label`."""
        for call in reversed(self.api.calls):
            for text, data in buttons(call):
                if label in text and int(call.params.get("chat_id", 0)) == chat_id:
                    return await self._feed(callback_update(chat_id, call.result, data, language))
        raise AssertionError(f"no button with {label!r} in chat {chat_id}")

    async def flush_query_log(self) -> None:
        """Write the buffered query log now (the bot does it about once a second)."""
        await self.application.bot_data["services"].query_log.flush()

    def latest_with_buttons(self, chat_id: int) -> dict[str, Any] | None:
        for call in reversed(self.api.calls):
            if buttons(call) and int(call.params.get("chat_id", 0)) == chat_id:
                return call.result  # type: ignore[no-any-return]
        return None


def buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def texts(calls: list[Call]) -> str:
    """Everything the bot said in these calls, as one string."""
    return "\n".join(
        str(c.params.get("text") or c.params.get("caption") or c.params.get("title") or "")
        for c in calls
    )


async def add_service(
    session: AsyncSession,
    service_id: str,
    name: str,
    description: str = "",
    *,
    status: str = "active",
    languages: tuple[str, ...] = (),
) -> None:
    """A service of a test organization, with the languages it is offered in (no hours)."""
    if await session.get(Organization, "org-test") is None:
        session.add(Organization(id="org-test", name="Test Organization"))
        await session.flush()
    session.add(
        Service(
            id=service_id,
            organization_id="org-test",
            name=name,
            description=description,
            status=status,
        )
    )
    await session.flush()
    for code in languages:
        session.add(Language(id=f"{service_id}-{code}", service_id=service_id, code=code))
    await session.flush()


@asynccontextmanager
async def bot_with_settings(database_url: str, **settings: object) -> AsyncIterator[BotHarness]:
    """The real Application on `database_url` with these settings (COORDINATOR_IDS defaults to
    COORDINATOR_ID), talking to an in-process Bot API; shut down as the bot would be."""
    from bot.application import build_application, post_init
    from bot.config import load_settings
    from bot.local_chat import LOCAL_TOKEN, InProcessBotApi

    settings.setdefault("coordinator_ids", str(COORDINATOR_ID))
    api = InProcessBotApi()
    application = build_application(
        load_settings(database_url=database_url, **settings), request=api, token=LOCAL_TOKEN
    )
    application.bot_data["set_commands"] = False
    async with application:
        await post_init(application)
        try:
            yield BotHarness(application, api)
        finally:
            if application.post_shutdown:
                await application.post_shutdown(application)
