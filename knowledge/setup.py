"""Gets a database ready to serve: migrations applied, built-in content present."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.content import (
    DEMO_DIRECTORY,
    bump_content_version,
    directory_is_empty,
    load_toolkit_and_materials,
)
from knowledge.hsds import import_directory
from knowledge.migrate import upgrade_database_async


async def prepare_database(
    database_url: str, sessions: async_sessionmaker[AsyncSession], demo: bool = True
) -> list[str]:
    """Migrate, refresh the toolkit and materials, and (with `demo`, as the bot does on its
    first run) import the demo town into an empty directory.

    `db upgrade` and `import` prepare without the demo: a database they leave is ready to
    serve the toolkit and materials, and the first import is the directory.
    Returns one line per thing it did, for the caller to print or log.
    """
    await upgrade_database_async(database_url)
    done: list[str] = []
    async with sessions() as session, session.begin():
        counts = await load_toolkit_and_materials(session)
        if demo and await directory_is_empty(session):
            report = await import_directory(session, DEMO_DIRECTORY)
            done.append(
                f"Loaded the demo directory (fictional town of Riverbend): "
                f"{report.files['services.csv'].inserted} services."
            )
        await bump_content_version(session)
    done.insert(0, f"Toolkit: {counts.toolkit} entries, {counts.materials} sample materials.")
    return done
