"""Migrations create every table the models declare, on SQLite (in WAL mode) and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.migrate import alembic_config, upgrade_database_async
from knowledge.models import Base, utcnow


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_upgrade_twice_is_harmless(database_url: str, engine: AsyncEngine) -> None:
    await upgrade_database_async(database_url)
    async with engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version is not None


async def test_no_model_change_is_missing_a_migration(
    database_url: str, engine: AsyncEngine
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def differences(sync_connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_sqlite_runs_in_wal_mode(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        assert (await connection.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
        assert await connection.scalar(text("PRAGMA foreign_keys")) == 1


async def test_deliveries_owed_before_priorities_survive_the_upgrade(
    database_url: str, engine: AsyncEngine
) -> None:
    """A deployment upgraded mid-broadcast keeps what it owes, as bulk (and can go back)."""
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0001")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO message (id, kind, text, created_at) VALUES (1, 'broadcast', 'Hi', :t)"
            ),
            {"t": utcnow()},
        )
        await connection.execute(
            text(
                "INSERT INTO delivery (message_id, chat_id, status, attempts, next_attempt_at) "
                "VALUES (1, 42, 'pending', 0, :t)"
            ),
            {"t": utcnow()},
        )
    await engine.dispose()
    await upgrade_database_async(database_url)
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT status, priority FROM delivery"))).one()
    assert tuple(row) == ("pending", 1)
