"""What each HSDS table means to the importer: which links must resolve, which may be dropped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Table

from knowledge.models import Base


@dataclass(frozen=True)
class Entity:
    """One HSDS table: which references must resolve and which may be dropped."""

    table: str
    required_refs: Mapping[str, str] = field(default_factory=dict)  # column -> parent table
    optional_refs: Mapping[str, str] = field(default_factory=dict)
    # Required references that an unknown value does not skip: a stand-in parent is made
    # instead (a service whose organization is missing from organizations.csv is still a service).
    stand_in_refs: Mapping[str, str] = field(default_factory=dict)
    # Rows of these tables only make sense attached to something: at least one must remain.
    owners: tuple[str, ...] = ()
    # Leaf rows nobody links to by id may arrive without one (hsds-transformer output does).
    derive_blank_id: bool = False


ENTITIES: dict[str, Entity] = {
    entity.table: entity
    for entity in (
        Entity("organization"),
        Entity(
            "service",
            required_refs={"organization_id": "organization"},
            stand_in_refs={"organization_id": "organization"},
        ),
        Entity("location", optional_refs={"organization_id": "organization"}),
        Entity(
            "address",
            required_refs={"location_id": "location"},
            stand_in_refs={"location_id": "location"},
            derive_blank_id=True,
        ),
        Entity(
            "service_at_location",
            required_refs={"service_id": "service", "location_id": "location"},
            derive_blank_id=True,
        ),
        Entity(
            "phone",
            optional_refs={
                "location_id": "location",
                "service_id": "service",
                "organization_id": "organization",
                "service_at_location_id": "service_at_location",
            },
            owners=("location_id", "service_id", "organization_id", "service_at_location_id"),
            derive_blank_id=True,
        ),
        Entity(
            "schedule",
            optional_refs={
                "service_id": "service",
                "location_id": "location",
                "service_at_location_id": "service_at_location",
            },
            owners=("service_id", "location_id", "service_at_location_id"),
            derive_blank_id=True,
        ),
        Entity(
            "language",
            optional_refs={"service_id": "service", "location_id": "location", "phone_id": "phone"},
            owners=("service_id", "location_id", "phone_id"),
            derive_blank_id=True,
        ),
        Entity(
            "service_area",
            optional_refs={
                "service_id": "service",
                "service_at_location_id": "service_at_location",
            },
            owners=("service_id", "service_at_location_id"),
            derive_blank_id=True,
        ),
        Entity("required_document", required_refs={"service_id": "service"}, derive_blank_id=True),
        Entity("cost_option", required_refs={"service_id": "service"}, derive_blank_id=True),
        Entity("taxonomy_term", optional_refs={"parent_id": "taxonomy_term"}),
        Entity(
            "attribute", required_refs={"taxonomy_term_id": "taxonomy_term"}, derive_blank_id=True
        ),
    )
}


def table(name: str) -> Table:
    return Base.metadata.tables[name]
