"""HSDS import and export: Open Referral CSV folders, zips and datapackages in, HSDS 3.0 CSV out.

The importer is forgiving about the mess real directories ship with (BOMs, blank ids, stray
quotes, links to rows that are not there) but never silent: every row it skips or changes is
named in the report as `file:line: reason`. It writes through the caller's session with bulk
upserts and never commits, so the caller decides whether the whole import lands or none of it.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, ColumnDefault, Float, Integer, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from knowledge.models import Base

__all__ = [
    "DirectoryFormatError",
    "FileCounts",
    "ImportReport",
    "export_directory",
    "import_directory",
]

# Big enough to keep the number of round trips small, small enough that one statement's
# parameters stay well under SQLite's and PostgreSQL's bind-parameter limits per page.
BATCH_SIZE = 2000

SERVICE_STATUSES = frozenset({"active", "inactive", "defunct", "temporarily closed"})

# HSDS 1.x `weekday`: a day name, or 1-7 counted ISO-style from Monday.
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_NAMES = {
    **dict(zip(DAY_NAMES, WEEKDAYS, strict=True)),
    **{str(number): code for number, code in enumerate(WEEKDAYS, start=1)},
    **{code.lower(): code for code in WEEKDAYS},
}

# "9:00", "09:00:00", "4:00 PM", "3pm", "9 a.m." (a bare hour only with am/pm).
TIME_PATTERN = re.compile(r"^(\d{1,2})(?::(\d{2})(?::\d{2}(?:\.\d+)?)?)?\s*([ap]\.?m\.?)?$", re.I)


class DirectoryFormatError(ValueError):
    """The path is not something the importer can read as an HSDS directory."""


@dataclass
class FileCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    warned: int = 0


@dataclass
class ImportReport:
    flavour: str = "hsds3"
    files: dict[str, FileCounts] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False only when nothing at all went in (a directory that is all problems)."""
        return any(counts.inserted or counts.updated for counts in self.files.values())

    def summary_lines(self) -> list[str]:
        lines = [_counts_line(name, counts) for name, counts in self.files.items()]
        total = FileCounts()
        for counts in self.files.values():
            total.read += counts.read
            total.inserted += counts.inserted
            total.updated += counts.updated
            total.skipped += counts.skipped
            total.warned += counts.warned
        lines.append(_counts_line("total", total))
        if self.not_imported:
            lines.append("not imported: " + ", ".join(self.not_imported))
        return lines


def _counts_line(name: str, counts: FileCounts) -> str:
    line = (
        f"{name}: {counts.read} read, {counts.inserted} new, {counts.updated} updated, "
        f"{counts.skipped} skipped"
    )
    return line + (f", {counts.warned} warned" if counts.warned else "")


# --- What each file means ------------------------------------------------------------------


@dataclass(frozen=True)
class _Entity:
    """One HSDS table: which references must resolve and which may be dropped."""

    table: str
    required_refs: Mapping[str, str] = field(default_factory=dict)  # column -> parent table
    optional_refs: Mapping[str, str] = field(default_factory=dict)
    # Rows of these tables only make sense attached to something: at least one must remain.
    owners: tuple[str, ...] = ()
    # Leaf rows nobody links to by id may arrive without one (hsds-transformer output does).
    derive_blank_id: bool = False


ENTITIES: dict[str, _Entity] = {
    entity.table: entity
    for entity in (
        _Entity("organization"),
        _Entity("service", required_refs={"organization_id": "organization"}),
        _Entity("location", optional_refs={"organization_id": "organization"}),
        _Entity("address", required_refs={"location_id": "location"}, derive_blank_id=True),
        _Entity(
            "service_at_location",
            required_refs={"service_id": "service", "location_id": "location"},
            derive_blank_id=True,
        ),
        _Entity(
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
        _Entity(
            "schedule",
            optional_refs={
                "service_id": "service",
                "location_id": "location",
                "service_at_location_id": "service_at_location",
            },
            owners=("service_id", "location_id", "service_at_location_id"),
            derive_blank_id=True,
        ),
        _Entity(
            "language",
            optional_refs={"service_id": "service", "location_id": "location", "phone_id": "phone"},
            owners=("service_id", "location_id", "phone_id"),
            derive_blank_id=True,
        ),
        _Entity("taxonomy_term", optional_refs={"parent_id": "taxonomy_term"}),
        _Entity(
            "attribute", required_refs={"taxonomy_term_id": "taxonomy_term"}, derive_blank_id=True
        ),
    )
}


class _SkipRow(Exception):
    """Raised while checking a row: the message is the reason it is skipped."""


# Reads a row's non-blank source values by column; returns values to use instead (or skips).
RowTransform = Callable[[Mapping[str, str]], dict[str, str]]
Converter = Callable[[str, list[str]], Any]


@dataclass(frozen=True)
class _FileKind:
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


def _regular_schedule_to_rrule(row: Mapping[str, str]) -> dict[str, str]:
    """HSDS 1.x regular_schedules name a weekday; 3.0 says the same as a weekly RRULE."""
    if row.get("byday"):
        return {"freq": row.get("freq") or "WEEKLY"}
    weekday = row.get("weekday")
    if not weekday:
        raise _SkipRow("missing weekday")
    code = WEEKDAY_NAMES.get(weekday.lower()) or _weekday_from_prefix(weekday)
    if code is None:
        raise _SkipRow(f"bad weekday {weekday!r}")
    return {"byday": code, "freq": "WEEKLY"}


def _weekday_from_prefix(weekday: str) -> str | None:
    """Accept "Mon", "Tues", "thu." and the like, which hand-made 1.x files use."""
    text = weekday.strip().lower().rstrip(".")
    if len(text) < 2:
        return None
    matches = [code for name, code in WEEKDAY_NAMES.items() if name.startswith(text)]
    return matches[0] if len(set(matches)) == 1 else None


# In dependency order: parents before the rows that point at them.
FILE_KINDS: tuple[_FileKind, ...] = (
    _FileKind("organizations.csv", "organization", renames={"url": "website"}),
    _FileKind("services.csv", "service", renames={"fees": "fees_description"}),
    _FileKind("locations.csv", "location"),
    _FileKind("addresses.csv", "address"),
    _FileKind(
        "physical_addresses.csv", "address", defaults={"address_type": "physical"}, hsds1=True
    ),
    _FileKind("postal_addresses.csv", "address", defaults={"address_type": "postal"}, hsds1=True),
    _FileKind("service_at_location.csv", "service_at_location"),
    _FileKind("services_at_location.csv", "service_at_location", hsds1=True),
    _FileKind("phones.csv", "phone"),
    _FileKind("schedules.csv", "schedule"),
    _FileKind(
        "regular_schedules.csv",
        "schedule",
        adds=("byday", "freq"),
        reads=("weekday", "byday", "freq"),
        transform=_regular_schedule_to_rrule,
        hsds1=True,
    ),
    _FileKind("languages.csv", "language", renames={"language": "name"}),
    _FileKind("taxonomy_terms.csv", "taxonomy_term"),
    _FileKind("attributes.csv", "attribute"),
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
    ("taxonomy_terms.csv", "taxonomy_term"),
    ("attributes.csv", "attribute"),
)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


# --- Finding the files ---------------------------------------------------------------------


@dataclass
class _Source:
    """The recognised CSV files of one import, keyed by the name the report uses."""

    files: dict[str, tuple[_FileKind, Path]]
    not_imported: list[str]
    flavour: str


def _folder_source(folder: Path, flavour: str) -> _Source:
    files: dict[str, tuple[_FileKind, Path]] = {}
    others: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".csv":
            continue
        kind = FILE_KINDS_BY_NAME.get(path.name.lower())
        if kind is None:
            others.append(path.name)
        else:
            files[path.name] = (kind, path)
    return _Source(_in_import_order(files), others, _flavour_of(files, flavour))


def _in_import_order(files: dict[str, tuple[_FileKind, Path]]) -> dict[str, tuple[_FileKind, Path]]:
    order = {kind.name: position for position, kind in enumerate(FILE_KINDS)}
    return dict(sorted(files.items(), key=lambda item: order[item[1][0].name]))


def _flavour_of(files: Mapping[str, tuple[_FileKind, Path]], default: str) -> str:
    names = {kind.name for kind, _ in files.values()}
    return "hsds1" if names & HSDS1_ONLY_FILES else default


def _datapackage_source(package: Path, warnings: list[str]) -> _Source | None:
    """The CSVs a datapackage.json lists, or None (after one warning) when it is unusable."""
    resources = _datapackage_resources(package, warnings)
    if resources is None:
        return None
    files: dict[str, tuple[_FileKind, Path]] = {}
    others: list[str] = []
    for name, relative in resources:
        path = package.parent / relative
        kind = FILE_KINDS_BY_NAME.get(Path(relative).name.lower()) or FILE_KINDS_BY_NAME.get(
            f"{name.lower()}.csv"
        )
        if kind is None:
            others.append(relative)
        elif not path.is_file():
            warnings.append(f"{package.name}: resource {name!r} points at missing file {relative}")
        else:
            files[relative] = (kind, path)
    if not files:
        warnings.append(
            f"{package.name}: lists no HSDS table this importer reads; "
            "using the CSV files in the folder instead"
        )
        return None
    return _Source(_in_import_order(files), others, _flavour_of(files, "hsds3-datapackage"))


def _datapackage_resources(package: Path, warnings: list[str]) -> list[tuple[str, str]] | None:
    fallback = "using the CSV files in the folder instead"
    try:
        document = json.loads(package.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        warnings.append(f"{package.name}: not valid JSON ({error}); {fallback}")
        return None
    resources = document.get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list) or not resources:
        warnings.append(f"{package.name}: has no resources; {fallback}")
        return None
    found: list[tuple[str, str]] = []
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        relative = resource.get("path")
        if isinstance(relative, str) and not relative.startswith(("http://", "https://")):
            found.append((str(resource.get("name") or Path(relative).stem), relative))
        else:
            warnings.append(f"{package.name}: resource {resource.get('name')!r} has no local path")
    return found


def _zip_folder(archive: Path, target: Path) -> Path:
    """Unpack and return the folder holding the files: the zip's root or its one sub-folder."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            # extractall drops absolute paths and "..", so a hostile zip stays inside `target`.
            bundle.extractall(target)
    except (zipfile.BadZipFile, OSError) as error:
        raise DirectoryFormatError(f"{archive} is not a readable zip file ({error}).") from error
    if _holds_hsds_files(target):
        return target
    folders = [
        path
        for path in target.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__MACOSX"))
    ]
    if len(folders) == 1 and _holds_hsds_files(folders[0]):
        return folders[0]
    raise DirectoryFormatError(
        f"{archive} holds no HSDS CSV files at its root or in a single sub-folder."
    )


def _holds_hsds_files(folder: Path) -> bool:
    return (folder / "datapackage.json").is_file() or any(
        path.suffix.lower() == ".csv" for path in folder.iterdir() if path.is_file()
    )


def _locate(path: Path, unpack_to: Path, warnings: list[str]) -> _Source:
    if not path.exists():
        raise DirectoryFormatError(f"{path} does not exist.")
    if path.is_file() and zipfile.is_zipfile(path):
        return _folder_or_package(_zip_folder(path, unpack_to), "hsds3-zip", warnings)
    if path.is_file() and path.suffix.lower() == ".json":
        source = _datapackage_source(path, warnings)
        return source or _folder_source(path.parent, "hsds3")
    if path.is_dir():
        return _folder_or_package(path, "hsds3", warnings)
    raise DirectoryFormatError(
        f"{path} is neither a folder, a .zip of one, nor a datapackage.json."
    )


def _folder_or_package(folder: Path, flavour: str, warnings: list[str]) -> _Source:
    package = folder / "datapackage.json"
    if package.is_file():
        source = _datapackage_source(package, warnings)
        if source is not None:
            if flavour == "hsds3-zip" and source.flavour != "hsds1":
                source.flavour = flavour
            return source
    return _folder_source(folder, flavour)


# --- Reading CSV ---------------------------------------------------------------------------


@dataclass
class _CsvData:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (physical line where the record starts, values)
    notes: list[str] = field(default_factory=list)  # warnings about the file as a whole
    error: str | None = None  # why reading stopped early, as "file:line: reason"


def _read_csv(path: Path, display: str) -> _CsvData:
    """Read a whole CSV file; blocking, so callers run it in a thread."""
    try:
        return _parse_csv(path, display, "utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports are often Windows-1252; better readable than refused.
        data = _parse_csv(path, display, "cp1252")
        data.notes.append(f"{display}: not UTF-8; read as Windows-1252")
        return data


def _parse_csv(path: Path, display: str, encoding: str) -> _CsvData:
    errors = "strict" if encoding.startswith("utf") else "replace"
    with path.open(encoding=encoding, errors=errors, newline="") as stream:
        reader = csv.reader(stream)
        data = _CsvData(header=[], rows=[])
        previous_end = 0
        try:
            for values in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not any(value.strip() for value in values):
                    continue  # blank lines are not records
                if not data.header:
                    data.header = [value.strip().lower() for value in values]
                else:
                    data.rows.append((start, values))
        except csv.Error as error:
            line = previous_end + 1
            data.error = f"{display}:{line}: unreadable CSV ({error}); rest of file skipped"
    return data


# --- Checking rows -------------------------------------------------------------------------


@dataclass
class _Accepted:
    line: int
    record: dict[str, Any]
    warnings: list[str]


@dataclass(frozen=True)
class _Field:
    """One column the upsert writes, with everything per-row checking needs precomputed."""

    name: str
    index: int | None  # position in the CSV record; None when the file lacks the column
    fallback: str | None  # the file kind's value for blank cells
    convert: Converter | None  # None: the stripped text goes in as it is
    blank_reason: str | None  # a blank cell skips the row with this reason...
    blank_value: Any  # ...or becomes this value


@dataclass
class _FilePlan:
    """How the columns of one file land in its table."""

    kind: _FileKind
    entity: _Entity
    table: Table
    fields: list[_Field]  # in the table's column order, id first
    reads: dict[str, int]  # source columns the kind's transform looks at

    @property
    def columns(self) -> list[str]:
        return [spec.name for spec in self.fields]


def _plan_file(kind: _FileKind, header: Sequence[str]) -> _FilePlan:
    table = _table(kind.entity)
    entity = ENTITIES[kind.entity]
    positions = {name: index for index, name in reversed(list(enumerate(header))) if name}
    for old, new in kind.renames.items():
        if new not in positions and old in positions:
            positions[new] = positions[old]
    written = set(positions) | set(kind.defaults) | set(kind.adds) | {"id"}
    fields = [
        _Field(
            name=column.name,
            index=positions.get(column.name),
            fallback=kind.defaults.get(column.name),
            convert=_converter(column),
            blank_reason=_blank_reason(entity, column),
            blank_value=_scalar_default(column),
        )
        for column in table.columns
        if column.name in written
    ]
    reads = {name: positions[name] for name in kind.reads if name in positions}
    return _FilePlan(kind, entity, table, fields, reads)


def _missing_columns(plan: _FilePlan) -> list[str]:
    """Required columns the header lacks: every row would fail, so say it once."""
    required = [
        column.name
        for column in plan.table.columns
        if not column.nullable and column.default is None and column.name != "id"
    ]
    missing = [name for name in required if name not in plan.columns]
    if plan.fields[0].index is None and not plan.entity.derive_blank_id:
        missing.insert(0, "id")
    return missing


def _blank_reason(entity: _Entity, column: Column[Any]) -> str | None:
    """Why a blank cell in this column skips the row, or None when blank is acceptable."""
    if column.name == "id":
        # Leaf rows get an id derived from their content once they are known to be good.
        return None if entity.derive_blank_id else "missing id"
    if column.nullable or _scalar_default(column) is not None:
        return None
    if column.name in entity.required_refs:
        return f"{entity.table} has no {column.name}"
    return f"missing {column.name}"


def _scalar_default(column: Column[Any]) -> Any:
    default = column.default
    if isinstance(default, ColumnDefault) and default.is_scalar:
        return default.arg
    return None


def _converter(column: Column[Any]) -> Converter | None:
    base = COLUMN_CLEANERS.get(column.name) or _type_converter(column)
    length = column.type.length if isinstance(column.type, String) else None
    if not length:
        return base

    def convert(value: str, warnings: list[str]) -> Any:
        cleaned = base(value, warnings) if base is not None else value
        if isinstance(cleaned, str) and len(cleaned) > length:
            # PostgreSQL would refuse the whole batch; losing one over-long code is less harm.
            shown = cleaned[:40]
            warnings.append(f"{column.name} {shown!r} is longer than {length} characters; dropped")
            return None
        return cleaned

    return convert


def _type_converter(column: Column[Any]) -> Converter | None:
    name = column.name
    if isinstance(column.type, Float):
        return lambda value, _warnings: _number(name, value)
    if isinstance(column.type, Integer):
        return lambda value, _warnings: _integer(name, value)
    return None


class _RowChecker:
    """Turns CSV records of one file into table rows, given the ids known so far."""

    def __init__(self, plan: _FilePlan, known: Mapping[str, set[str]]) -> None:
        entity = plan.entity
        self.plan = plan
        self.required_refs = [
            (name, known[parent]) for name, parent in entity.required_refs.items()
        ]
        # Self-references (taxonomy parents) are checked once the whole file is read.
        self.optional_refs = [
            (name, known[parent])
            for name, parent in entity.optional_refs.items()
            if parent != entity.table
        ]
        self.owners = entity.owners
        self.no_owner = f"{entity.table} has no owner"
        self.needs = f"needs one of {', '.join(entity.owners)}"

    def check(self, values: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The row for the table and its warnings, or _SkipRow with the reason."""
        warnings: list[str] = []
        record = self._convert(values, warnings)
        self._check_references(record, warnings)
        if record["id"] is None:
            record["id"] = _derived_id(self.plan.kind.name, values)
            warnings.append(f"blank id; derived {record['id']}")
        return record, warnings

    def _convert(self, values: list[str], warnings: list[str]) -> dict[str, Any]:
        size = len(values)
        overrides = self._transformed(values)
        record: dict[str, Any] = {}
        for spec in self.plan.fields:
            index = spec.index
            text = values[index].strip() if index is not None and index < size else ""
            if overrides and spec.name in overrides:
                text = overrides[spec.name]
            if not text and spec.fallback:
                text = spec.fallback
            value: Any = None
            if text:
                value = spec.convert(text, warnings) if spec.convert is not None else text
            if value is None:
                if spec.blank_reason is not None:
                    raise _SkipRow(spec.blank_reason)
                value = spec.blank_value
            record[spec.name] = value
        return record

    def _transformed(self, values: list[str]) -> dict[str, str] | None:
        transform = self.plan.kind.transform
        if transform is None:
            return None
        size = len(values)
        source = {
            name: values[index].strip()
            for name, index in self.plan.reads.items()
            if index < size and values[index].strip()
        }
        return transform(source)

    def _check_references(self, record: dict[str, Any], warnings: list[str]) -> None:
        for name, known in self.required_refs:
            value = record[name]
            if value not in known:
                raise _SkipRow(f"unknown {name} {value}")
        dropped: list[str] = []
        for name, known in self.optional_refs:
            value = record.get(name)
            if value is not None and value not in known:
                record[name] = None
                dropped.append(f"unknown {name} {value}")
        if self.owners and not any(record.get(name) for name in self.owners):
            detail = f" left ({'; '.join(dropped)})" if dropped else ""
            raise _SkipRow(f"{self.no_owner}{detail}: {self.needs}")
        warnings.extend(f"{reason}; link dropped" for reason in dropped)


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _SkipRow(f"bad {name} {value!r}: not a number") from None
    if not math.isfinite(number):
        raise _SkipRow(f"bad {name} {value!r}: not a number")
    return number


def _integer(name: str, value: str) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise _SkipRow(f"bad {name} {value!r}: not a whole number")
    return int(number)


def _coordinate(name: str, limit: float) -> Callable[[str, list[str]], float]:
    def clean(value: str, _warnings: list[str]) -> float:
        number = _number(name, value)
        if not -limit <= number <= limit:
            raise _SkipRow(f"bad {name} {value}: out of range -{limit:g}..{limit:g}")
        return number

    return clean


def _phone_number(value: str, _warnings: list[str]) -> str | None:
    # Some exports quote numbers twice ("""+44 1234 234567""") so spreadsheets keep the "+".
    return value.strip().strip("\"'").strip() or None


def _time_of_day(name: str) -> Callable[[str, list[str]], str | None]:
    def clean(value: str, warnings: list[str]) -> str | None:
        normalised = _normalise_time(value)
        if normalised is None:
            warnings.append(f"bad {name} {value!r}; dropped")
        return normalised

    return clean


def _normalise_time(value: str) -> str | None:
    """'9:00', '09:00:00', '9:30 pm' -> 'HH:MM' (what "open now" compares), else None."""
    match = TIME_PATTERN.match(value.strip())
    if match is None:
        return None
    meridiem = (match.group(3) or "").lower().replace(".", "")
    if match.group(2) is None and not meridiem:
        return None  # a bare "9" could be anything
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if meridiem:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if meridiem == "pm" else 0)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return f"{hours:02d}:{minutes:02d}"


def _status(value: str, warnings: list[str]) -> str:
    status = value.strip().lower().replace("_", " ")
    if status not in SERVICE_STATUSES:
        warnings.append(f"unknown status {value!r}; kept as given")
    return status


COLUMN_CLEANERS: dict[str, Callable[[str, list[str]], Any]] = {
    "latitude": _coordinate("latitude", 90),
    "longitude": _coordinate("longitude", 180),
    "number": _phone_number,
    "opens_at": _time_of_day("opens_at"),
    "closes_at": _time_of_day("closes_at"),
    "status": _status,
}


def _derived_id(file_name: str, values: Iterable[str]) -> str:
    """Same file, same content, same id: re-imports update the row instead of adding another."""
    content = "\x1f".join(value.strip() for value in values)
    digest = hashlib.sha1(f"{file_name}\x1e{content}".encode()).hexdigest()[:16]
    return f"{Path(file_name).stem}-{digest}"


def _resolve_self_references(
    entity: _Entity, accepted: Mapping[str, _Accepted], known: Mapping[str, set[str]]
) -> None:
    """Taxonomy parents may come later in the same file, so they are checked after it is read."""
    for name, parent in entity.optional_refs.items():
        if parent != entity.table:
            continue
        for row in accepted.values():
            value = row.record.get(name)
            if value is not None and value not in accepted and value not in known[parent]:
                row.record[name] = None
                row.warnings.append(f"unknown {name} {value}; link dropped")


# --- Writing -------------------------------------------------------------------------------


def _upsert_statement(dialect: str, table: Table, columns: Sequence[str]) -> Insert:
    if dialect == "sqlite":
        sqlite_statement = sqlite.insert(table)
        updates = {name: sqlite_statement.excluded[name] for name in columns if name != "id"}
        return sqlite_statement.on_conflict_do_update(index_elements=["id"], set_=updates)
    if dialect == "postgresql":
        pg_statement = postgresql.insert(table)
        updates = {name: pg_statement.excluded[name] for name in columns if name != "id"}
        return pg_statement.on_conflict_do_update(index_elements=["id"], set_=updates)
    raise NotImplementedError(f"HSDS import supports SQLite and PostgreSQL, not {dialect}")


def _batches(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class _KnownIds:
    """Ids per table, read from the database once per import and grown as files go in."""

    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}

    async def load(self, session: AsyncSession, tables: Iterable[str]) -> dict[str, set[str]]:
        for name in tables:
            if name not in self._ids:
                table = _table(name)
                result = await session.execute(select(table.c.id))
                self._ids[name] = set(result.scalars())
        return self._ids


# --- Import --------------------------------------------------------------------------------


async def import_directory(session: AsyncSession, path: Path) -> ImportReport:
    """Import an HSDS 3.0 folder, zip or datapackage, or an HSDS 1.x folder, into `session`.

    Upserts by HSDS id and flushes; the caller commits (or rolls back: nothing is committed
    here, so a failure part-way leaves the database as it was once the caller rolls back).
    """
    report = ImportReport()
    with tempfile.TemporaryDirectory(prefix="hsds-") as unpack_to:
        source = await asyncio.to_thread(_locate, Path(path), Path(unpack_to), report.warnings)
        if not source.files:
            raise DirectoryFormatError(
                f"{path} holds no HSDS file this importer reads "
                f"(looked for {', '.join(kind.name for kind in FILE_KINDS)})."
            )
        report.flavour = source.flavour
        report.not_imported = list(source.not_imported)
        dialect = session.get_bind().dialect.name
        known = _KnownIds()
        for display, (kind, file_path) in source.files.items():
            await _import_file(session, dialect, known, display, kind, file_path, report)
    await session.flush()
    return report


async def _import_file(
    session: AsyncSession,
    dialect: str,
    known: _KnownIds,
    display: str,
    kind: _FileKind,
    path: Path,
    report: ImportReport,
) -> None:
    data = await asyncio.to_thread(_read_csv, path, display)
    counts = report.files.setdefault(display, FileCounts())
    counts.read = len(data.rows)
    report.warnings.extend(data.notes)
    if data.error:
        report.problems.append(data.error)
    if not data.header:
        return
    plan = _plan_file(kind, data.header)
    missing = _missing_columns(plan)
    if missing:
        report.problems.append(
            f"{display}:1: missing column {', '.join(missing)}; all {counts.read} rows skipped"
        )
        counts.skipped = counts.read
        return
    entity = plan.entity
    ids = await known.load(
        session,
        {entity.table, *entity.required_refs.values(), *entity.optional_refs.values()},
    )
    accepted, problems = _check_rows(plan, data.rows, ids, display)
    _resolve_self_references(entity, accepted, ids)
    existing = ids[entity.table]
    counts.skipped = len(problems)
    counts.updated = sum(1 for row_id in accepted if row_id in existing)
    counts.inserted = len(accepted) - counts.updated
    counts.warned = sum(1 for row in accepted.values() if row.warnings)
    report.problems.extend(text for _, text in sorted(problems))
    report.warnings.extend(_warning_lines(display, accepted.values()))
    await _upsert(session, dialect, plan, [row.record for row in accepted.values()])
    existing.update(accepted)


def _check_rows(
    plan: _FilePlan,
    rows: Iterable[tuple[int, list[str]]],
    ids: Mapping[str, set[str]],
    display: str,
) -> tuple[dict[str, _Accepted], list[tuple[int, str]]]:
    checker = _RowChecker(plan, ids)
    accepted: dict[str, _Accepted] = {}
    problems: list[tuple[int, str]] = []
    for line, values in rows:
        try:
            record, warnings = checker.check(values)
        except _SkipRow as skip:
            problems.append((line, f"{display}:{line}: {skip}"))
            continue
        earlier = accepted.pop(record["id"], None)
        if earlier is not None:
            # Later rows win, as a later edit in a spreadsheet would.
            reason = f"duplicate id {record['id']}; line {line} wins"
            problems.append((earlier.line, f"{display}:{earlier.line}: {reason}"))
        accepted[record["id"]] = _Accepted(line, record, warnings)
    return accepted, problems


def _warning_lines(display: str, rows: Iterable[_Accepted]) -> list[str]:
    return [
        f"{display}:{row.line}: {warning}"
        for row in sorted(rows, key=lambda row: row.line)
        for warning in row.warnings
    ]


async def _upsert(
    session: AsyncSession, dialect: str, plan: _FilePlan, records: Sequence[dict[str, Any]]
) -> None:
    if not records:
        return
    statement = _upsert_statement(dialect, plan.table, plan.columns)
    for batch in _batches(records, BATCH_SIZE):
        await session.execute(statement, list(batch))


# --- Export --------------------------------------------------------------------------------


async def export_directory(session: AsyncSession, directory: Path) -> dict[str, int]:
    """Write the directory as HSDS 3.0 CSV files into `directory`; rows written per file."""
    directory = Path(directory)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for file_name, table_name in EXPORT_FILES:
        table = _table(table_name)
        result = await session.execute(select(table).order_by(table.c.id))
        rows = [tuple(row) for row in result]
        header = list(table.columns.keys())
        written[file_name] = await asyncio.to_thread(
            _write_csv, directory / file_name, header, rows
        )
    return written


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows([_csv_value(value) for value in row] for row in rows)
    return len(rows)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # 12.0 years reads better as 12; repr keeps every digit of a coordinate.
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
