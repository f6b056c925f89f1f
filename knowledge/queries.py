"""The query log behind the coordinators' gap report: what was asked and how it went.

Never who asked. In the bot, entries are buffered and written in batches about once a second,
so answering a family never waits for a database write; a crash loses at most that second of
statistics, never anything a family is owed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.models import QueryLog, utcnow
from knowledge.search import SearchOutcome
from knowledge.text import clean_text

log = logging.getLogger(__name__)

MAX_LOGGED_CHARACTERS = 500
FLUSH_SECONDS = 1.0


def new_log_id() -> int:
    return secrets.randbits(53)  # see QueryLog.id


def log_row(outcome: SearchOutcome, log_id: int | None = None) -> dict[str, object]:
    return {
        "id": log_id if log_id is not None else new_log_id(),
        "text": clean_text(outcome.query).strip()[:MAX_LOGGED_CHARACTERS],
        "language": outcome.language,
        "matched": outcome.matched,
        "result_count": outcome.total,
        "top_result_id": outcome.hits[0].id if outcome.hits else None,
        "concept": outcome.concepts[0] if outcome.concepts else None,
        "helpful": None,
        "created_at": utcnow(),
    }


async def log_search(session: AsyncSession, outcome: SearchOutcome) -> int:
    """Store one question and its outcome now (the CLI's way); returns the log id."""
    row = log_row(outcome)
    await session.execute(insert(QueryLog), [row])
    return int(row["id"])  # type: ignore[call-overload]


async def record_feedback(session: AsyncSession, log_id: int, helpful: bool) -> bool:
    result = await session.execute(
        update(QueryLog).where(QueryLog.id == log_id).values(helpful=helpful)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class QueryLogger:
    """Buffers query-log rows and writes them in batches from a background task."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: dict[int, dict[str, object]] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, outcome: SearchOutcome) -> int:
        row = log_row(outcome)
        self._pending[int(row["id"])] = row  # type: ignore[call-overload]
        return int(row["id"])  # type: ignore[call-overload]

    async def feedback(self, log_id: int, helpful: bool) -> None:
        if log_id in self._pending:
            self._pending[log_id]["helpful"] = helpful
            return
        async with self._sessions() as session, session.begin():
            await record_feedback(session, log_id, helpful)

    async def flush(self) -> int:
        rows, self._pending = list(self._pending.values()), {}
        if not rows:
            return 0
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(insert(QueryLog), rows)
        except Exception:  # one odd row must not cost the others: write them one by one
            log.warning("Query log batch failed; writing rows one at a time", exc_info=True)
            for row in rows:
                try:
                    async with self._sessions() as session, session.begin():
                        await session.execute(insert(QueryLog), [row])
                except Exception:
                    log.warning("Dropped one query-log row that the database refused")
        return len(rows)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="query-log-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end the writer; retry next second
                log.exception("Could not write the query log")
