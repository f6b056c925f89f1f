"""The directory: HSDS 3.0 core tables (organizations, services, locations, addresses,
phones, schedules, languages, service areas, documents, costs, taxonomy).

HSDS ids are kept exactly as the imported data gives them (strings)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from knowledge.models.base import Base, UTCDateTime


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
