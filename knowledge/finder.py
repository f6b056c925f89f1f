"""The long-lived search service: holds the current index, rebuilds it when content changes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.content import content_version
from knowledge.lexicon import Lexicon
from knowledge.search import SearchIndex, SearchOutcome, SearchQuery, build_index


class ResourceFinder:
    """Answers searches from an in-memory index; `refresh()` swaps in a new one after changes."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], lexicon: Lexicon, zone: ZoneInfo
    ) -> None:
        self._sessions = sessions
        self.lexicon = lexicon
        self.zone = zone
        self._index: SearchIndex | None = None
        self._version = -1
        self._lock = asyncio.Lock()

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            raise RuntimeError("call refresh() before searching")
        return self._index

    async def refresh(self, force: bool = False) -> bool:
        """Rebuild the index if the content version moved (or when forced); True if rebuilt."""
        async with self._lock:
            async with self._sessions() as session:
                version = await content_version(session)
                if not force and self._index is not None and version == self._version:
                    return False
                documents_index = await build_index(session, self.lexicon, self.zone)
            self._index, self._version = documents_index, version
            return True

    def search(self, query: SearchQuery, now: datetime | None = None) -> SearchOutcome:
        return self.index.search(query, now)

    def resolve(self, reference: str) -> str:
        """A document id from callback data: the id itself, or '#' + its short hash."""
        if reference.startswith("#"):
            return self.index.id_for_hash(reference[1:]) or reference
        return reference
