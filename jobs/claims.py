"""Claiming outbox rows, and knowing which workers are alive (see jobs/delivery.py).

Several processes on one PostgreSQL never take the same row (``FOR UPDATE SKIP LOCKED``); a
worker proves it is alive with a lock the operating system or database drops the moment the
process dies (a session advisory lock on PostgreSQL, an exclusive `flock` on SQLite, where one
process sends), so the rows of a worker that died are reclaimed within seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from knowledge.models import Delivery, DeliveryStatus

ADVISORY_CLASS = 74201  # first key of the PostgreSQL advisory locks workers hold


# --- claiming ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    message_id: int
    chat_id: int
    attempts: int
    priority: int


async def claim(
    session: AsyncSession,
    worker: str,
    limit: int,
    now: datetime,
    held: ColumnElement[bool] | None = None,
) -> list[Claimed]:
    """Take up to `limit` due pending rows for `worker`, urgent then oldest first, in one
    statement; rows matching `held` (texts in quiet hours) wait.

    PostgreSQL: rows another transaction is claiming are skipped (SKIP LOCKED), not waited
    for, so two processes claim disjoint batches. The locking select is a MATERIALIZED CTE,
    run once: as an ``IN (subquery)`` PostgreSQL may run it again per row, and the rows this
    very statement already updated are then skipped too, so LIMIT stops limiting. SQLite: no
    row locks (the clause is left out), but the statement is atomic and only one process sends
    from a SQLite file.
    """
    due = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .where(*(() if held is None else (~held,)))
        .order_by(Delivery.priority, Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == due.c.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_by=worker, claimed_at=now)
        .returning(
            Delivery.id, Delivery.message_id, Delivery.chat_id, Delivery.attempts, Delivery.priority
        )
        .execution_options(synchronize_session=False)
    )
    rows = [Claimed(*row) for row in result.all()]
    return sorted(rows, key=lambda r: (r.priority, r.id))


async def reclaim(
    session: AsyncSession,
    *,
    live_keys: Callable[[], Awaitable[set[int] | None]],
    lease_cutoff: datetime,
) -> int:
    """Put back to pending the rows claimed by workers that are gone: those whose key is not
    among `live_keys()` (None: unknown, skip that test) and any claim older than `lease_cutoff`.

    The claimers are read before the live workers: a worker takes its lock before it claims
    anything, so one that claimed since is seen alive rather than robbed.
    """
    claimers = list(
        await session.scalars(
            select(Delivery.claimed_by).where(Delivery.status == DeliveryStatus.SENDING).distinct()
        )
    )
    live = await live_keys() if claimers else None
    dead = [c for c in claimers if c is not None and live is not None and worker_key(c) not in live]
    back = {"status": DeliveryStatus.PENDING, "claimed_by": None, "claimed_at": None}
    gone = Delivery.claimed_at < lease_cutoff
    if dead:
        gone = gone | Delivery.claimed_by.in_(dead)
    if None in claimers:
        gone = gone | Delivery.claimed_by.is_(None)
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, gone)
        .values(**back)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def worker_key(claimed_by: str) -> int:
    try:
        return int(claimed_by.rsplit(":", 1)[-1])
    except ValueError:
        return -1


# --- is this worker (and which others) alive --------------------------------------------------


class Presence:
    """Proof of life a crash cannot leave behind. Base: a lone in-memory database."""

    def __init__(self, key: int) -> None:
        self.key = key

    async def acquire(self) -> bool:
        """May this worker send now?"""
        return True

    async def live_keys(self) -> set[int] | None:
        return {self.key}

    async def release(self) -> None:
        return None


class SqlitePresence(Presence):
    """One sender per SQLite file: an exclusive flock the OS drops when the process dies."""

    def __init__(self, key: int, lock_path: Path) -> None:
        super().__init__(key)
        self.lock_path = lock_path
        self._handle: TextIO | None = None

    async def acquire(self) -> bool:
        if self._handle is not None:
            return True
        handle = open(self.lock_path, "a")  # noqa: SIM115 - held for the worker's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    async def live_keys(self) -> set[int] | None:
        # Only the lock holder ever claims rows, so any other claimer is dead.
        return {self.key} if self._handle is not None else None

    async def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class PostgresPresence(Presence):
    """A session advisory lock (ADVISORY_CLASS, key) on a connection kept for the purpose;
    PostgreSQL drops it when the process's connection goes, crash included."""

    LIVE = text(
        "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = :cls AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    def __init__(self, key: int, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(key)
        bind = sessions.kw["bind"]
        self.engine = bind
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = await self.engine.connect()
        try:
            locked = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:cls, :key)"),
                {"cls": ADVISORY_CLASS, "key": self.key},
            )
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if not locked:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def live_keys(self) -> set[int] | None:
        if self._connection is None:
            return None
        try:
            rows = await self._connection.execute(self.LIVE, {"cls": ADVISORY_CLASS})
            keys = {int(row[0]) for row in rows}
            await self._connection.commit()
        except Exception:
            # The connection broke, so the lock is gone: take it again on the next round.
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
            raise
        return keys if self.key in keys else None

    async def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:cls, :key)"),
                    {"cls": ADVISORY_CLASS, "key": self.key},
                )
                await self._connection.commit()
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None


def presence_for(key: int, sessions: async_sessionmaker[AsyncSession]) -> Presence:
    url = make_url(str(sessions.kw["bind"].url))
    if url.get_backend_name() == "postgresql":
        return PostgresPresence(key, sessions)
    database = url.database
    if database and database != ":memory:":
        return SqlitePresence(key, Path(f"{database}.sender-lock"))
    return Presence(key)
