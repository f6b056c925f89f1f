"""Chats and their roles, invitations, handoffs to a person, crisis counts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    FAMILY = "family"
    PARTNER = "partner"  # a partner organization's staff: keeps its own listings current
    STAFF = "staff"
    COORDINATOR = "coordinator"


class Chat(Base):
    """A Telegram chat the bot talks to; the only personal data kept."""

    __tablename__ = "chat"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), default="en")
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Role.FAMILY,
    )
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Narrows announcements to one school (an HSDS location id); None means all schools.
    school_id: Mapped[str | None] = mapped_column(String)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The role came from an invitation; one from COORDINATOR_IDS goes when the id leaves it.
    invited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by /ask until the family's next message, which is their question for a person; in the
    # database so that a restart in between does not turn the question into a search.
    question_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invitation(Base):
    """A one-time code that gives whoever redeems it a role (`/invite`, `/join CODE`)."""

    __tablename__ = "invitation"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A partner invitation links whoever redeems it to this organization (no foreign key: an
    # invitation naming an organization a re-import dropped simply links to nothing).
    organization_id: Mapped[str | None] = mapped_column(String)


class Handoff(Base):
    """A family's question forwarded to the coordinators ("ask a person")."""

    __tablename__ = "handoff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HandoffCopy(Base):
    """Which coordinator message carries which handoff, so a reply to it finds the family."""

    __tablename__ = "handoff_copy"

    coordinator_chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoff.id", ondelete="CASCADE"), index=True
    )


class CrisisSignal(Base):
    """One crisis reply, counted for coordinators: its kinds ("suicide,abuse"; see
    knowledge.crisis.KINDS) and the time only, never who wrote or what."""

    __tablename__ = "crisis_signal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kinds: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
