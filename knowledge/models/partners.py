"""Partners keeping their listings current."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base, UTCDateTime, utcnow


class PartnerLink(Base):
    """A chat that speaks for a partner organization (joined with a partner invitation)."""

    __tablename__ = "partner_link"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[str] = mapped_column(String, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListingCheck(Base):
    """When a partner is next asked "Is this still right?" about one service, and whether the
    question is out: one row per service, so it is never asked twice at once.

    pending (due at `due_at`) -> asked (sent to the organization's partners; due again
    VERIFY_EVERY later while nobody answers) -> pending, VERIFY_EVERY after someone answers.
    A partner typing a new value is recorded here (`editing_by`, `editing_field`), so a
    restart loses nothing."""

    __tablename__ = "listing_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    editing_by: Mapped[int | None] = mapped_column(BigInteger, index=True)
    editing_field: Mapped[str | None] = mapped_column(String(16))
