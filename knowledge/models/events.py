"""Events, RSVPs and the reminders owed for them."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from knowledge.models.base import Base, UTCDateTime, utcnow

DEFAULT_EVENT_DURATION = timedelta(hours=1)  # when an event does not say


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: not said
    where: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    school_id: Mapped[str | None] = mapped_column(String)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False: created without an announcement (`event add --no-announce`); the reminder job
    # then never announces it, and only those who said Going get its reminders.
    announce: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    reminders: Mapped[list[Reminder]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Reminder.due_at"
    )

    @property
    def ends(self) -> datetime:
        """When it ends: as given, or an hour after the start when no end was given."""
        return self.ends_at or self.starts_at + DEFAULT_EVENT_DURATION


class Rsvp(Base):
    __tablename__ = "rsvp"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True
    )
    going: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Reminder(Base):
    """A reminder owed for an event at `due_at`; once queued its deliveries are outbox rows."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ReminderStatus] = mapped_column(
        Enum(
            ReminderStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=ReminderStatus.PENDING,
    )

    event: Mapped[Event] = relationship(back_populates="reminders")
