"""Recording what became of a delivery worker's claimed rows (see jobs/delivery.py).

**Group commit.** Each result is committed as soon as Telegram answers: one transaction takes
every result that arrived while the previous one was being written (usually just one), and
whoever sent it waits until it is committed. Rows a worker claimed and will not send after all
go back to pending, for anyone.

Every write is conditional on the claim: a result that arrives after the worker's claim was
taken away (reclaimed as dead) changes nothing and is counted in `WorkerStats.lost_claims`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.claims import Claimed
from knowledge.models import Delivery, DeliveryStatus, utcnow
from knowledge.subscriptions import mark_unreachable

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    row: Claimed
    status: DeliveryStatus
    error: str | None = None
    retry_at: datetime | None = None
    attempted: bool = True  # counts as a try (a 429 does not, nor an outage's failure)


@dataclass
class WorkerStats:
    """What one worker did, logged when it stops."""

    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    rate_limited: int = 0
    retried: int = 0
    reclaimed: int = 0
    lost_claims: int = 0


class Recorder:
    """Writes one worker's results and gives back the rows it will not send."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        claimed_by: str,
        write_lock: asyncio.Lock,
        stats: WorkerStats,
    ) -> None:
        self.sessions = sessions
        self.claimed_by = claimed_by
        self.write_lock = write_lock  # the worker's: all its writes go one at a time
        self.stats = stats
        self._results: list[Outcome] = []

    async def record(self, outcome: Outcome) -> None:
        """Returns once `outcome` is committed (with whatever else arrived meanwhile)."""
        self._results.append(outcome)
        await self.flush()

    async def flush(self) -> None:
        """Group commit: whoever holds the lock writes every result that has arrived. A caller
        returns only once its own result is committed (by it, or by the writer it waited for)."""
        async with self.write_lock:
            if not self._results:
                return
            batch, self._results = self._results, []
            try:
                await self._write(batch)
            except Exception:
                self._results[:0] = batch  # try again with the next one
                raise

    async def _write(self, batch: list[Outcome]) -> None:
        now = utcnow()
        mine = (Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by == self.claimed_by)
        written = 0
        async with self.sessions() as session, session.begin():
            delivered = [o.row.id for o in batch if o.status == DeliveryStatus.DELIVERED]
            if delivered:
                result = await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(delivered), *mine)
                    .values(
                        status=DeliveryStatus.DELIVERED,
                        sent_at=now,
                        attempts=Delivery.attempts + 1,
                        error=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                written += int(result.rowcount or 0)  # type: ignore[attr-defined]
            for outcome in batch:
                if outcome.status == DeliveryStatus.DELIVERED:
                    continue
                values: dict[str, Any] = {"status": outcome.status, "error": outcome.error}
                if outcome.attempted:
                    values["attempts"] = Delivery.attempts + 1
                if outcome.status == DeliveryStatus.PENDING:
                    values.update(
                        claimed_by=None, claimed_at=None, next_attempt_at=outcome.retry_at
                    )
                result = await session.execute(
                    update(Delivery)
                    .where(Delivery.id == outcome.row.id, *mine)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                written += int(result.rowcount or 0)  # type: ignore[attr-defined]
            await mark_unreachable(
                session, [o.row.chat_id for o in batch if o.status == DeliveryStatus.BLOCKED]
            )
        if written < len(batch):
            self.stats.lost_claims += len(batch) - written
            log.warning("%d results arrived after their claim was taken away", len(batch) - written)
        for outcome in batch:
            if outcome.status == DeliveryStatus.DELIVERED:
                self.stats.delivered += 1
            elif outcome.status == DeliveryStatus.BLOCKED:
                self.stats.blocked += 1
            elif outcome.status == DeliveryStatus.FAILED:
                self.stats.failed += 1

    async def release(self, ids: list[int]) -> None:
        """Claimed rows this worker will not send after all: pending again, for anyone."""
        if not ids:
            return
        async with self.write_lock, self.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status == DeliveryStatus.SENDING,
                    Delivery.claimed_by == self.claimed_by,
                )
                .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )

    async def release_all(self) -> None:
        """Every row this worker still holds: pending again (it is stopping)."""
        async with self.write_lock, self.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.status == DeliveryStatus.SENDING,
                    Delivery.claimed_by == self.claimed_by,
                )
                .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
