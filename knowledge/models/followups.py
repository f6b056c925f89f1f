"""Closing the loop: listing changes, problem reports, follow-up check-ins, outcome counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base, UTCDateTime, utcnow


class ListingChange(Base):
    """One change to a listing: which field, from what to what, who made it and when."""

    __tablename__ = "listing_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # "partner", "review", ...
    changed_by: Mapped[int | None] = mapped_column(BigInteger)  # the chat that made it
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListingReport(Base):
    """A family's report that a listing is wrong, waiting in the coordinators' review queue.

    The reporting chat is kept only while the report is open (so the same family cannot file
    it twice, and /forget can find it); coordinators never see it."""

    __tablename__ = "listing_report"
    __table_args__ = (Index("ix_listing_report_status_service", "status", "service_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    problem: Mapped[str] = mapped_column(String(16))  # phone, hours, address, closed, other
    suggestion: Mapped[str | None] = mapped_column(Text)  # the right value, or what is wrong
    status: Mapped[str] = mapped_column(String(16), default="draft")
    source: Mapped[str] = mapped_column(String(16), default="card")  # card or check_in
    reporter_chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    # A coordinator typing the corrected value (survives a restart mid-edit).
    editing_by: Mapped[int | None] = mapped_column(BigInteger, index=True)
    editing_field: Mapped[str | None] = mapped_column(String(16))
    editing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """A check-in owed to a family about a service it looked at: "Did you get help?"

    Personal (it names the chat and the service): kept only while it is useful, removed by
    /forget. The anonymous counts live in OutcomeEvent."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    need: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    asks: Mapped[int] = mapped_column(Integer, default=0)  # check-ins sent so far (max 2)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(32))  # "wrong_information" is 17
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUpOptOut(Base):
    """A chat that said [No more check-ins]."""

    __tablename__ = "follow_up_opt_out"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutcomeEvent(Base):
    """One anonymous count for the outcomes report: a detail opened, a check-in sent, an answer.
    Never who: no chat id, no text."""

    __tablename__ = "outcome_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # detail_open, check_in_sent, answer
    service_id: Mapped[str] = mapped_column(String, index=True)  # no FK: counts outlive listings
    need: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(String(32))  # "wrong_information" is 17
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
