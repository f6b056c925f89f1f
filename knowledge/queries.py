"""The query log behind the coordinators' gap report: what was asked and how it went."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import QueryLog
from knowledge.search import SearchOutcome

MAX_LOGGED_CHARACTERS = 500


async def log_search(session: AsyncSession, outcome: SearchOutcome) -> int:
    """Store the question and its outcome (never who asked); returns the log id."""
    entry = QueryLog(
        text=outcome.query.strip()[:MAX_LOGGED_CHARACTERS],
        language=outcome.language,
        matched=outcome.matched,
        result_count=outcome.total,
        top_result_id=outcome.hits[0].id if outcome.hits else None,
        concept=outcome.concepts[0] if outcome.concepts else None,
    )
    session.add(entry)
    await session.flush()
    return entry.id


async def record_feedback(session: AsyncSession, log_id: int, helpful: bool) -> bool:
    result = await session.execute(
        update(QueryLog).where(QueryLog.id == log_id).values(helpful=helpful)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
