"""Applies the Alembic migrations that ship with the package."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from knowledge.db import normalize_database_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # ConfigParser interpolation would choke on a %-encoded password.
    config.set_main_option(
        "sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%")
    )
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Create or migrate the database to `revision` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_database_async(database_url: str, revision: str = "head") -> None:
    # env.py runs asyncio.run(), which cannot nest inside a running loop: use a thread.
    await asyncio.to_thread(upgrade_database, database_url, revision)
