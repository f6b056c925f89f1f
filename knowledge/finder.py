"""The long-lived search service: holds the current index, rebuilds it when content changes."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.content import content_version
from knowledge.directory import ServiceRecord, service_record
from knowledge.lexicon import Lexicon
from knowledge.search import SearchIndex, SearchOutcome, SearchQuery, build_index

# How stale the index may be: another process (the CLI importing, say) changed the data at most
# this long ago. Checking on every question would cost a database round trip each time.
CHECK_INTERVAL_SECONDS = 2.0


class ResourceFinder:
    """Answers searches from an in-memory index; `refresh()` swaps in a new one after changes.

    It also keeps the full records of services it has shown, until the data changes: a result
    list shows three of them, and reading each from the database is most of the work.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], lexicon: Lexicon, zone: ZoneInfo
    ) -> None:
        self._sessions = sessions
        self.lexicon = lexicon
        self.zone = zone
        self._index: SearchIndex | None = None
        # The category and need buttons: only needs the directory has a service for.
        self.browsing = lexicon
        self._version = -1
        self._checked_at = -CHECK_INTERVAL_SECONDS
        # Tasks, not records: many questions arriving at once share one read per service.
        self._records: dict[str, asyncio.Task[ServiceRecord | None]] = {}
        self._lock = asyncio.Lock()

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            raise RuntimeError("call refresh() before searching")
        return self._index

    async def refresh(self, force: bool = False) -> bool:
        """Rebuild the index if the content version moved (or when forced); True if rebuilt."""
        if not force and time.monotonic() - self._checked_at < CHECK_INTERVAL_SECONDS:
            return False
        async with self._lock:
            self._checked_at = time.monotonic()
            async with self._sessions() as session:
                version = await content_version(session)
                if not force and self._index is not None and version == self._version:
                    return False
                documents_index = await build_index(session, self.lexicon, self.zone)
            # Worked out here, off the event loop, not on a family's first tap.
            offered = await asyncio.to_thread(documents_index.offered_concepts)
            self._index, self._version = documents_index, version
            self.browsing = self.lexicon.offering(offered)
            self._records = {}
            return True

    async def service_record(self, service_id: str) -> ServiceRecord | None:
        """One service's full record, from memory when it was read since the data last changed."""
        task = self._records.get(service_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(self._read_record(service_id))
            self._records[service_id] = task
        return await asyncio.shield(task)

    def forget_record(self, service_id: str) -> None:
        """Read this service again next time (a family reported a problem with it)."""
        self._records.pop(service_id, None)

    async def _read_record(self, service_id: str) -> ServiceRecord | None:
        async with self._sessions() as session:
            return await service_record(session, service_id)

    def search(self, query: SearchQuery, now: datetime | None = None) -> SearchOutcome:
        return self.index.search(query, now)

    def resolve(self, reference: str) -> str:
        """A document id from callback data: the id itself, or '#' + its short hash."""
        if reference.startswith("#"):
            return self.index.id_for_hash(reference[1:]) or reference
        return reference
