"""The data model: HSDS 3.0 core tables, toolkit content, chats, events and the outbox.

HSDS ids are kept exactly as the imported data gives them (strings). Everything the bot must
send (broadcasts, announcements, reminders) is a row, so the database, not the scheduler's
memory, says what is owed and what was delivered.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


DEFAULT_EVENT_DURATION = timedelta(hours=1)  # when an event does not say

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- HSDS 3.0 core ---------------------------------------------------------------------------


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)

    services: Mapped[list[Service]] = relationship(back_populates="organization")


class Service(Base):
    __tablename__ = "service"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String, default="active")
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    wait_time: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[float | None] = mapped_column(Float)
    maximum_age: Mapped[float | None] = mapped_column(Float)
    alert: Mapped[str | None] = mapped_column(Text)
    # HSDS: when the listing was last confirmed right, and when anything in it last changed.
    assured_date: Mapped[date | None] = mapped_column(Date)
    assurer_email: Mapped[str | None] = mapped_column(Text)  # who confirmed it (HSDS)
    last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(back_populates="services")


class Location(Base):
    __tablename__ = "location"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    location_type: Mapped[str] = mapped_column(String, default="physical")
    name: Mapped[str | None] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    url: Mapped[str | None] = mapped_column(Text)


class Address(Base):
    __tablename__ = "address"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    location_id: Mapped[str] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    attention: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str] = mapped_column(Text)
    address_2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    state_province: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(String, index=True)
    country: Mapped[str | None] = mapped_column(String)
    address_type: Mapped[str] = mapped_column(String, default="physical")


class ServiceAtLocation(Base):
    __tablename__ = "service_at_location"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)


class Phone(Base):
    __tablename__ = "phone"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_at_location.id", ondelete="CASCADE")
    )
    number: Mapped[str] = mapped_column(Text)
    extension: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String)
    description: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    """Opening hours as HSDS 3.0 RRULE-style rows (one row per weekday block)."""

    __tablename__ = "schedule"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_at_location.id", ondelete="CASCADE")
    )
    valid_from: Mapped[str | None] = mapped_column(String)
    valid_to: Mapped[str | None] = mapped_column(String)
    dtstart: Mapped[str | None] = mapped_column(String)
    timezone: Mapped[str | None] = mapped_column(String)
    until: Mapped[str | None] = mapped_column(String)
    count: Mapped[int | None] = mapped_column(Integer)
    wkst: Mapped[str | None] = mapped_column(String)
    freq: Mapped[str | None] = mapped_column(String)
    interval: Mapped[int | None] = mapped_column(Integer)
    byday: Mapped[str | None] = mapped_column(String)
    byweekno: Mapped[str | None] = mapped_column(String)
    bymonthday: Mapped[str | None] = mapped_column(String)
    byyearday: Mapped[str | None] = mapped_column(String)
    description: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[str | None] = mapped_column(String)
    closes_at: Mapped[str | None] = mapped_column(String)
    attending_type: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Language(Base):
    __tablename__ = "language"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    phone_id: Mapped[str | None] = mapped_column(ForeignKey("phone.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)


class ServiceArea(Base):
    """Where a service is offered (a county, a state, ZIP codes...), by name and/or GeoJSON."""

    __tablename__ = "service_area"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_at_location.id", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    extent: Mapped[str | None] = mapped_column(Text)
    extent_type: Mapped[str | None] = mapped_column(String)
    uri: Mapped[str | None] = mapped_column(Text)


class RequiredDocument(Base):
    """A document a family must bring to use a service."""

    __tablename__ = "required_document"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    document: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)


class CostOption(Base):
    """One price of a service (who pays what, for what), as HSDS 3.0 cost_option."""

    __tablename__ = "cost_option"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[str | None] = mapped_column(String)
    valid_to: Mapped[str | None] = mapped_column(String)
    option: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String)
    amount: Mapped[float | None] = mapped_column(Float)
    amount_description: Mapped[str | None] = mapped_column(Text)


class TaxonomyTerm(Base):
    __tablename__ = "taxonomy_term"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    code: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # Not a foreign key: HSDS data often names parents from taxonomies it does not ship.
    parent_id: Mapped[str | None] = mapped_column(String)
    taxonomy: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String)
    taxonomy_id: Mapped[str | None] = mapped_column(String)
    term_uri: Mapped[str | None] = mapped_column(Text)


class Attribute(Base):
    """Links any HSDS entity (by `link_entity`, `link_id`) to a taxonomy term."""

    __tablename__ = "attribute"
    __table_args__ = (Index("ix_attribute_link", "link_entity", "link_id"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    link_id: Mapped[str] = mapped_column(String)
    taxonomy_term_id: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_term.id", ondelete="CASCADE"), index=True
    )
    link_type: Mapped[str | None] = mapped_column(Text)
    link_entity: Mapped[str | None] = mapped_column(String)
    value: Mapped[str | None] = mapped_column(Text)


# --- Partnership toolkit and sample materials --------------------------------------------------


class ToolkitResource(Base):
    """One entry of the partnership toolkit (overview, best practice, report...)."""

    __tablename__ = "toolkit_resource"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    section: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title_en: Mapped[str] = mapped_column(Text)
    title_es: Mapped[str] = mapped_column(Text)
    summary_en: Mapped[str] = mapped_column(Text)
    summary_es: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    body_es: Mapped[str] = mapped_column(Text)
    keywords_en: Mapped[str] = mapped_column(Text, default="")
    keywords_es: Mapped[str] = mapped_column(Text, default="")
    # Where to read the whole thing (a report's public page); None for the toolkit's own texts.
    url: Mapped[str | None] = mapped_column(Text)


class SampleMaterial(Base):
    """A document staff can ask for (MOU template, needs assessment...), stored with its bytes."""

    __tablename__ = "sample_material"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title_en: Mapped[str] = mapped_column(Text)
    title_es: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    description_es: Mapped[str] = mapped_column(Text)
    keywords_en: Mapped[str] = mapped_column(Text, default="")
    keywords_es: Mapped[str] = mapped_column(Text, default="")
    filename_en: Mapped[str] = mapped_column(Text)
    filename_es: Mapped[str | None] = mapped_column(Text)
    content_en: Mapped[bytes] = mapped_column(LargeBinary)
    content_es: Mapped[bytes | None] = mapped_column(LargeBinary)


# --- People, events and the outbox -------------------------------------------------------------


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


class Message(Base):
    """Something to send to many chats: a broadcast, an event announcement, a reminder."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id", ondelete="SET NULL"))
    school_id: Mapped[str | None] = mapped_column(String)
    # Inline keyboard (Bot API JSON) and an optional file (an event's .ics) sent with the text.
    reply_markup: Mapped[str | None] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(Text)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Where the sender's live progress message lives, so a restart can keep editing it.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    BLOCKED = "blocked"
    FAILED = "failed"


class Delivery(Base):
    """One outbox row: one message to one chat. Unique, so nothing is owed twice."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "chat_id"),
        Index("ix_delivery_status_priority_next", "status", "priority", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # 0: time-bound (a reminder, a cancellation), claimed before 1: bulk (broadcasts).
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


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


# --- Listing changes, problem reports, follow-up check-ins (closing the loop) ------------------


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


# --- Partners keeping their listings current --------------------------------------------------


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


# --- Text messages (SMS through Twilio; WhatsApp the same way later) ---------------------------


class SmsNumber(Base):
    """A phone number that texted the bot. Its chat id is `knowledge.sms.chat_id_of(id)`, in a
    range no Telegram id reaches, so the same handlers, roles and outbox serve it. The number
    is kept only to reply and deliver; FORGET deletes the row (knowledge.sms.forget_number)."""

    __tablename__ = "sms_number"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # E.164 ("+15551234567"); a WhatsApp sender would be "whatsapp:+15551234567".
    address: Mapped[str] = mapped_column(String(48), unique=True)
    # Said STOP (or a carrier refused it): nothing is sent until START.
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last text from it (retention; WhatsApp's 24-hour reply window).
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsChoice(Base):
    """A numbered choice offered to a number ("2", "M", "YES"): what replying it presses.
    Kept in the database, so a reply still works after a restart."""

    __tablename__ = "sms_choice"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    data: Mapped[str] = mapped_column(String(128))  # the button's callback data
    message_id: Mapped[int] = mapped_column(BigInteger)  # the message the button was on
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsSearch(Base):
    """A number's last search (what "M" pages through), so "M" works after a restart. It holds
    the question with the number, so it goes after a day, at FORGET and at STOP."""

    __tablename__ = "sms_search"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(Text)  # JSON: text or need, place, page
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsSending(Base):
    """A text handed to Twilio whose answer is not in yet (body digest, no number, no text).
    Left behind by a crash or a timeout, it makes the next send of the same text to the same
    number ask Twilio first whether it went, so a restart does not text anyone twice."""

    __tablename__ = "sms_sending"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsInbound(Base):
    """Twilio's id of a text already taken in, so a retried webhook is answered once. No
    number and no text: only the id and when."""

    __tablename__ = "sms_inbound"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SmsFile(Base):
    """A file the bot sent as a link instead of an attachment (a material, an event's .ics):
    served on the SMS port under a signed link until `expires_at`."""

    __tablename__ = "sms_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # one row per distinct file
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# --- Surveys and polls (the partnership's own needs assessment) --------------------------------


class SurveyRun(Base):
    """One sending of a survey (or a one-question poll) to an audience. The survey is kept as
    it was sent (`definition`, JSON), so editing its file later changes nothing in flight."""

    __tablename__ = "survey_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="survey")  # survey or poll
    title: Mapped[str] = mapped_column(Text)
    definition: Mapped[str] = mapped_column(Text)
    school_id: Mapped[str | None] = mapped_column(String)  # None: every school
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, sent
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # None: the command line
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class SurveyResponse(Base):
    """One family's answers to one run, as a whole. Anonymous: no chat id, ever; while the
    family is still answering, only its SurveyProgress row points here."""

    __tablename__ = "survey_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_run.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyProgress(Base):
    """Where a family is in a survey and its answers so far: personal, so it lives only while
    the family is answering (deleted when it finishes, at /forget, or after 60 idle days)."""

    __tablename__ = "survey_progress"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("survey_run.id", ondelete="CASCADE"), primary_key=True
    )
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)  # the question being asked
    # JSON: question id -> {"options": [option ids], "other": text} ({} when skipped).
    answers: Mapped[str] = mapped_column(Text, default="{}")
    ticked: Mapped[str] = mapped_column(String(256), default="")  # multiple choice, so far
    awaiting_other: Mapped[bool] = mapped_column(Boolean, default=False)  # next text is "other"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SurveyAnswer(Base):
    """One chosen option of a finished response (or "skip", or "other" with its text)."""

    __tablename__ = "survey_answer"
    __table_args__ = (Index("ix_survey_answer_survey_question", "survey_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_run.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(64))
    option_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)  # what a family wrote for "other"
