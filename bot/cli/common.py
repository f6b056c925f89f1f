"""What every `resource-finder` command shares: the usage error, the database, argument types."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from knowledge.db import create_engine, create_sessionmaker

# A command: reads settings and its parsed arguments, returns the exit status.
Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def parse_point(text: str) -> tuple[float, float]:
    try:
        latitude, longitude = (float(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--near expects LAT,LON such as 41.59,-93.62, not '{text}'") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise UsageError(f"--near {text}: latitude or longitude out of range")
    return latitude, longitude


def parse_moment(option: str, text: str, settings: Settings) -> datetime:
    """ISO 8601; the community's TIMEZONE when the text gives no offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} expects ISO 8601 such as 2026-12-03T18:00, not '{text}'"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)
