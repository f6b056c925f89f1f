"""The CSV file names the importer understands, HSDS 3.0 and 1.x, and what the export writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from knowledge.hsds.hsds1 import organization_address_to_place, regular_schedule_to_rrule

# Reads a row's non-blank source values by column; returns values to use instead (or skips).
RowTransform = Callable[[Mapping[str, str]], dict[str, str]]


@dataclass(frozen=True)
class FileKind:
    """One CSV file name the importer understands and how it maps onto an entity."""

    name: str
    entity: str
    # Older column name -> HSDS 3.0 column, applied only when the 3.0 column is absent.
    renames: Mapping[str, str] = field(default_factory=dict)
    # Values for columns the file lacks or leaves blank (1.x splits addresses by file).
    defaults: Mapping[str, str] = field(default_factory=dict)
    # Extra columns the transform fills in, the source columns it reads, and the transform.
    adds: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    transform: RowTransform | None = None
    hsds1: bool = False


# In dependency order: parents before the rows that point at them.
FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("organizations.csv", "organization", renames={"url": "website"}),
    FileKind("services.csv", "service", renames={"fees": "fees_description"}),
    FileKind("locations.csv", "location"),
    FileKind("addresses.csv", "address"),
    FileKind(
        "physical_addresses.csv",
        "address",
        defaults={"address_type": "physical"},
        adds=("location_id",),
        reads=("location_id", "organization_id"),
        transform=organization_address_to_place,
        hsds1=True,
    ),
    FileKind(
        "postal_addresses.csv",
        "address",
        defaults={"address_type": "postal"},
        adds=("location_id",),
        reads=("location_id", "organization_id"),
        transform=organization_address_to_place,
        hsds1=True,
    ),
    FileKind("service_at_location.csv", "service_at_location"),
    FileKind("services_at_location.csv", "service_at_location", hsds1=True),
    FileKind("phones.csv", "phone"),
    FileKind("schedules.csv", "schedule"),
    FileKind(
        "regular_schedules.csv",
        "schedule",
        adds=("byday", "freq"),
        reads=("weekday", "byday", "freq"),
        transform=regular_schedule_to_rrule,
        hsds1=True,
    ),
    FileKind("languages.csv", "language", renames={"language": "name"}),
    # 1.x calls the area's name `service_area`; 3.0 calls it `name`.
    FileKind("service_areas.csv", "service_area", renames={"service_area": "name"}),
    FileKind("required_documents.csv", "required_document"),
    FileKind("cost_options.csv", "cost_option"),
    FileKind("taxonomy_terms.csv", "taxonomy_term"),
    FileKind("attributes.csv", "attribute"),
)
FILE_KINDS_BY_NAME = {kind.name: kind for kind in FILE_KINDS}
# Only 1.x has these; their presence is what tells the flavours apart.
HSDS1_ONLY_FILES = frozenset(
    {kind.name for kind in FILE_KINDS if kind.hsds1} | {"holiday_schedules.csv"}
)

EXPORT_FILES: tuple[tuple[str, str], ...] = (
    ("organizations.csv", "organization"),
    ("services.csv", "service"),
    ("locations.csv", "location"),
    ("addresses.csv", "address"),
    ("service_at_location.csv", "service_at_location"),
    ("phones.csv", "phone"),
    ("schedules.csv", "schedule"),
    ("languages.csv", "language"),
    ("service_areas.csv", "service_area"),
    ("required_documents.csv", "required_document"),
    ("cost_options.csv", "cost_option"),
    ("taxonomy_terms.csv", "taxonomy_term"),
    ("attributes.csv", "attribute"),
)
