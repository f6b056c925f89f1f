"""Database fixtures: every test that asks for one runs on SQLite and, when TEST_DATABASE_URL
points at a PostgreSQL database, on PostgreSQL too.

Each test gets a database of its own: a copy of a migrated SQLite file, or a PostgreSQL schema
dropped and migrated again (about 0.3 s), so no test sees another's rows.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from harness import reset_postgres
from knowledge.db import create_engine, create_sessionmaker
from knowledge.migrate import upgrade_database

if TYPE_CHECKING:
    from harness import BotHarness

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test run; tests get copies (cheaper than migrating each)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies a consistent database even if a WAL file is still around.
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


async def _empty_database(backend: str, sqlite_path: Path, sqlite_template: Path) -> str:
    if backend == "sqlite":
        await asyncio.to_thread(_copy_sqlite, sqlite_template, sqlite_path)
        return f"sqlite:///{sqlite_path}"
    url = os.environ["TEST_DATABASE_URL"]
    await reset_postgres(url)
    # Alembic's env.py calls asyncio.run(), which cannot nest in this loop: run it in a thread.
    await asyncio.to_thread(upgrade_database, url)
    return url


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """A migrated, empty database of its own for this test."""
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    return await _empty_database(request.param, tmp_path / "test.db", sqlite_template)


@pytest.fixture
def fresh_database(
    database_url: str, tmp_path: Path, sqlite_template: Path
) -> Callable[[], Awaitable[str]]:
    """Makes another empty database on the test's backend (round trips, "fresh install" cases).

    PostgreSQL tests share one database, so there it wipes and re-migrates `database_url`
    itself: dispose of engines on the first database before calling it.
    """
    backend = make_url(database_url).get_backend_name()
    count = 0

    async def make() -> str:
        nonlocal count
        count += 1
        path = tmp_path / f"fresh-{count}.db"
        return await _empty_database(backend, path, sqlite_template)

    return make


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[BotHarness]:
    """The real Application on this test's database, talking to an in-process Bot API."""
    from bot.application import build_application, post_init
    from bot.config import load_settings
    from bot.local_chat import LOCAL_TOKEN, InProcessBotApi
    from harness import COORDINATOR_ID, BotHarness

    settings = load_settings(database_url=database_url, coordinator_ids=str(COORDINATOR_ID))
    api = InProcessBotApi()
    application = build_application(settings, request=api, token=LOCAL_TOKEN)
    async with application:
        await post_init(application)
        yield BotHarness(application, api)
        if application.post_shutdown:
            await application.post_shutdown(application)
