"""Writing rows: bulk upserts by HSDS id, through the caller's session, never committing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from knowledge.hsds.tables import table

# Big enough to keep the number of round trips small, small enough that one statement's
# parameters stay well under SQLite's and PostgreSQL's bind-parameter limits per page.
BATCH_SIZE = 2000


def upsert_statement(dialect: str, target: Table, columns: Sequence[str]) -> Insert:
    if dialect == "sqlite":
        sqlite_statement = sqlite.insert(target)
        updates = {name: sqlite_statement.excluded[name] for name in columns if name != "id"}
        return sqlite_statement.on_conflict_do_update(index_elements=["id"], set_=updates)
    if dialect == "postgresql":
        pg_statement = postgresql.insert(target)
        updates = {name: pg_statement.excluded[name] for name in columns if name != "id"}
        return pg_statement.on_conflict_do_update(index_elements=["id"], set_=updates)
    raise NotImplementedError(f"HSDS import supports SQLite and PostgreSQL, not {dialect}")


def batches(rows: Sequence[dict[str, Any]], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def upsert(
    session: AsyncSession, target: Table, columns: Sequence[str], records: Sequence[dict[str, Any]]
) -> None:
    """Insert or update `records` (each with every one of `columns`) by id."""
    if not records:
        return
    statement = upsert_statement(session.get_bind().dialect.name, target, columns)
    for batch in batches(records):
        await session.execute(statement, list(batch))


async def upsert_rows(
    session: AsyncSession, table_name: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Upsert rows that may name different columns: each gets the others as NULL."""
    if not rows:
        return
    target = table(table_name)
    columns = [column.name for column in target.columns if any(column.name in r for r in rows)]
    filled = [{name: row.get(name) for name in columns} for row in rows]
    await upsert(session, target, columns, filled)


class KnownIds:
    """Ids per table, read from the database once per import and grown as files go in."""

    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}

    async def load(self, session: AsyncSession, tables: Iterable[str]) -> dict[str, set[str]]:
        for name in tables:
            if name not in self._ids:
                target = table(name)
                result = await session.execute(select(target.c.id))
                self._ids[name] = set(result.scalars())
        return self._ids
