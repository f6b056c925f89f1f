"""Turning CSV records into table rows: column plans, value cleaning, reference checks.

A row that cannot go in is skipped with its reason (`SkipRow`); a value that can be mended is
mended with a warning. Nothing here touches the database: the ids known so far come in.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, ColumnDefault, Date, Float, Integer, String, Table

from knowledge.hsds.tables import ENTITIES, Entity, table
from knowledge.models import UTCDateTime
from knowledge.reports import FORMULA_STARTS

SERVICE_STATUSES = frozenset({"active", "inactive", "defunct", "temporarily closed"})

# "9:00", "09:00:00", "4:00 PM", "3pm", "9 a.m." (a bare hour only with am/pm).
TIME_PATTERN = re.compile(r"^(\d{1,2})(?::(\d{2})(?::\d{2}(?:\.\d+)?)?)?\s*([ap]\.?m\.?)?$", re.I)
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

Converter = Callable[[str, list[str]], Any]
# Makes the parent row a required reference stands in for, or None to skip the row as before.
StandIn = Callable[[str, Mapping[str, Any]], dict[str, Any] | None]


class SkipRow(Exception):
    """Raised while checking a row: the message is why it is skipped, `kind` the reason without
    the row's own values (what the report totals by)."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or message


@dataclass
class Accepted:
    line: int
    record: dict[str, Any]
    warnings: list[str]


@dataclass(frozen=True)
class Field:
    """One column the upsert writes, with everything per-row checking needs precomputed."""

    name: str
    index: int | None  # position in the CSV record; None when the file lacks the column
    fallback: str | None  # the file kind's value for blank cells
    convert: Converter | None  # None: the stripped text goes in as it is
    blank_reason: str | None  # a blank cell skips the row with this reason...
    blank_value: Any  # ...or becomes this value


@dataclass
class FilePlan:
    """How the columns of one file land in its table."""

    kind: Any  # files.FileKind
    entity: Entity
    table: Table
    fields: list[Field]  # in the table's column order, id first
    reads: dict[str, int]  # source columns the kind's transform looks at
    header: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [spec.name for spec in self.fields]


def plan_file(kind: Any, header: Sequence[str]) -> FilePlan:
    target = table(kind.entity)
    entity = ENTITIES[kind.entity]
    positions = {name: index for index, name in reversed(list(enumerate(header))) if name}
    for old, new in kind.renames.items():
        if new not in positions and old in positions:
            positions[new] = positions[old]
    written = set(positions) | set(kind.defaults) | set(kind.adds) | {"id"}
    fields = [
        Field(
            name=column.name,
            index=positions.get(column.name),
            fallback=kind.defaults.get(column.name),
            convert=_converter(column),
            blank_reason=_blank_reason(entity, column),
            blank_value=_scalar_default(column),
        )
        for column in target.columns
        if column.name in written
    ]
    reads = {name: positions[name] for name in kind.reads if name in positions}
    return FilePlan(kind, entity, target, fields, reads, list(header))


def missing_columns(plan: FilePlan) -> list[str]:
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


def _blank_reason(entity: Entity, column: Column[Any]) -> str | None:
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
    if isinstance(column.type, Date):
        return _calendar_date(name)
    if isinstance(column.type, UTCDateTime):
        return _moment(name)
    return None


class RowChecker:
    """Turns CSV records of one file into table rows, given the ids known so far."""

    def __init__(
        self,
        plan: FilePlan,
        known: Mapping[str, set[str]],
        stand_ins: Mapping[str, StandIn] | None = None,
        max_cell_chars: int | None = None,
    ) -> None:
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
        self.stand_ins = {
            name: maker for name, maker in (stand_ins or {}).items() if name in entity.stand_in_refs
        }
        # Parent rows to make before this file's rows go in: parent table -> id -> row.
        self.made: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {}
        self.max_cell_chars = max_cell_chars
        self.owners = entity.owners
        self.no_owner = f"{entity.table} has no owner"
        self.needs = f"needs one of {', '.join(entity.owners)}"

    def check(self, line: int, values: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The row for the table and its warnings, or SkipRow with the reason."""
        if self.max_cell_chars is not None:
            self._check_cell_sizes(values)
        warnings: list[str] = []
        record = self._convert(values, warnings)
        self._check_references(line, record, warnings)
        if record["id"] is None:
            record["id"] = derived_id(self.plan.kind.name, values)
            warnings.append(f"blank id; derived {record['id']}")
        return record, warnings

    def _check_cell_sizes(self, values: list[str]) -> None:
        limit = self.max_cell_chars or 0
        if not values or max(map(len, values)) <= limit:
            return  # the common case, at C speed
        for index, value in enumerate(values):
            if len(value) > limit:
                header = self.plan.header
                column = header[index] if index < len(header) else f"column {index + 1}"
                raise SkipRow(
                    f"{column} is {len(value):,} characters long, over the {limit:,} a cell "
                    "may hold (an unclosed quote?)",
                    "cell over the size limit",
                )

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
            if text[:1] == "'" and text[1:2] and text[1] in FORMULA_STARTS:
                text = text[1:]  # a cell our export (or a spreadsheet) kept from running
            value: Any = None
            if text:
                value = spec.convert(text, warnings) if spec.convert is not None else text
            if value is None:
                if spec.blank_reason is not None:
                    raise SkipRow(spec.blank_reason)
                value = spec.blank_value
            record[spec.name] = value
        if "latitude" in record and "longitude" in record:
            if (record["latitude"] is None) != (record["longitude"] is None):
                record["latitude"] = record["longitude"] = None  # half a pin is no pin
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
        result: dict[str, str] = transform(source)
        return result

    def _check_references(self, line: int, record: dict[str, Any], warnings: list[str]) -> None:
        for name, known in self.required_refs:
            value = record[name]
            if value in known:
                continue
            parent = self.plan.entity.stand_in_refs.get(name)
            maker = self.stand_ins.get(name)
            made = maker(value, record) if maker is not None else None
            if parent is None or made is None:
                raise SkipRow(f"unknown {name} {value}", f"unknown {name}")
            self.made.setdefault(parent, {}).setdefault(value, (line, made))
        dropped: list[str] = []
        for name, known in self.optional_refs:
            value = record.get(name)
            if value is not None and value not in known:
                record[name] = None
                dropped.append(f"unknown {name} {value}")
        if self.owners and not any(record.get(name) for name in self.owners):
            detail = f" left ({'; '.join(dropped)})" if dropped else ""
            raise SkipRow(f"{self.no_owner}{detail}: {self.needs}", self.no_owner)
        warnings.extend(f"{reason}; link dropped" for reason in dropped)


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SkipRow(f"bad {name} {value!r}: not a number", f"bad {name}") from None
    if not math.isfinite(number):
        raise SkipRow(f"bad {name} {value!r}: not a number", f"bad {name}")
    return number


def _integer(name: str, value: str) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise SkipRow(f"bad {name} {value!r}: not a whole number", f"bad {name}")
    return int(number)


def _coordinate(name: str, limit: float) -> Converter:
    """A coordinate out of range loses the place its map pin, not the place itself."""

    def clean(value: str, warnings: list[str]) -> float | None:
        try:
            number = _number(name, value)
        except SkipRow:
            number = math.nan
        if not -limit <= number <= limit:
            warnings.append(f"bad {name} {value}: not a number in -{limit:g}..{limit:g}; dropped")
            return None
        return number

    return clean


def _phone_number(value: str, _warnings: list[str]) -> str | None:
    # Some exports quote numbers twice ("""+44 1234 234567""") so spreadsheets keep the "+".
    number = value.strip().strip("\"'").strip()
    if number and not any(character.isdigit() for character in number):
        # "no phone", "N/A", "call the front desk": a card would offer it as a number.
        raise SkipRow(f"number {number!r} has no digits", "number without digits")
    return number or None


def _time_of_day(name: str) -> Converter:
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


def parse_moment(value: str) -> datetime | None:
    """ISO 8601 ("2023-03-15T10:30:45.123Z", "2023-03-15"), or a US "3/15/2023"; UTC when the
    text gives no offset."""
    text = value.strip()
    us = US_DATE.match(text)
    try:
        if us is not None:
            moment = datetime(int(us.group(3)), int(us.group(1)), int(us.group(2)))
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _calendar_date(name: str) -> Converter:
    def clean(value: str, warnings: list[str]) -> date | None:
        moment = parse_moment(value)
        if moment is None:
            warnings.append(f"bad {name} {value!r}: not a date; dropped")
            return None
        return moment.date()

    return clean


def _moment(name: str) -> Converter:
    def clean(value: str, warnings: list[str]) -> datetime | None:
        moment = parse_moment(value)
        if moment is None:
            warnings.append(f"bad {name} {value!r}: not a date and time; dropped")
        return moment

    return clean


def _status(value: str, warnings: list[str]) -> str:
    status = value.strip().lower().replace("_", " ")
    if status not in SERVICE_STATUSES:
        warnings.append(f"unknown status {value!r}; kept as given")
    return status


COLUMN_CLEANERS: dict[str, Converter] = {
    "latitude": _coordinate("latitude", 90),
    "longitude": _coordinate("longitude", 180),
    "number": _phone_number,
    "opens_at": _time_of_day("opens_at"),
    "closes_at": _time_of_day("closes_at"),
    "status": _status,
}


def derived_id(file_name: str, values: Iterable[str]) -> str:
    """Same file, same content, same id: re-imports update the row instead of adding another."""
    content = "\x1f".join(value.strip() for value in values)
    digest = hashlib.sha1(f"{file_name}\x1e{content}".encode()).hexdigest()[:16]
    return f"{Path(file_name).stem}-{digest}"


def resolve_self_references(
    entity: Entity, accepted: Mapping[str, Accepted], known: Mapping[str, set[str]]
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
