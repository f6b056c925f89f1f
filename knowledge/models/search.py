"""What the search keeps in the database: the content version that tells every process to
rebuild its index, and the anonymous log of what was asked."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base, UTCDateTime, utcnow


class ContentVersion(Base):
    """A counter bumped whenever searchable data changes, so every process can rebuild its index
    (an import from the CLI while the bot runs, say) without a restart."""

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueryLog(Base):
    """What was asked and how it went, for the gap report. Never who asked."""

    __tablename__ = "query_log"

    # Random and assigned here, not by the database, so the 👍/👎 buttons can name a row that
    # is still in the bot's write buffer (knowledge.queries); 53 bits fit JSON numbers.
    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, default=lambda: secrets.randbits(53)
    )
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    matched: Mapped[bool] = mapped_column(Boolean)
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    top_result_id: Mapped[str | None] = mapped_column(String)
    concept: Mapped[str | None] = mapped_column(String(64))  # the need it was about, if known
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
