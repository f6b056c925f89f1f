"""Importing one directory: find its files, check each file's rows, write them, then fill in
what HSDS 1.x leaves to the organization (see inference.py) and measure the coverage."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.hsds.checking import (
    Accepted,
    RowChecker,
    SkipRow,
    StandIn,
    missing_columns,
    plan_file,
    resolve_self_references,
)
from knowledge.hsds.coverage import directory_coverage
from knowledge.hsds.described_hours import schedules_from_descriptions
from knowledge.hsds.files import FILE_KINDS, FileKind
from knowledge.hsds.hsds1 import ORGANIZATION_PLACE_PREFIX
from knowledge.hsds.inference import Made, fill_in, organization_places, stand_in_organizations
from knowledge.hsds.limits import DEFAULT_LIMITS, ImportLimits
from knowledge.hsds.reading import CsvStream
from knowledge.hsds.report import DirectoryFormatError, FileCounts, ImportReport
from knowledge.hsds.sources import locate
from knowledge.hsds.tables import ENTITIES, table
from knowledge.hsds.writing import KnownIds, upsert, upsert_rows


async def import_directory(
    session: AsyncSession, path: Path, limits: ImportLimits = DEFAULT_LIMITS
) -> ImportReport:
    """Import an HSDS 3.0 folder, zip or datapackage, or an HSDS 1.x folder, into `session`.

    Upserts by HSDS id and flushes; the caller commits (or rolls back: nothing is committed
    here, so a failure part-way leaves the database as it was once the caller rolls back).
    """
    report = ImportReport()
    made = Made()
    with tempfile.TemporaryDirectory(prefix="hsds-") as unpack_to:
        source = await asyncio.to_thread(
            locate, Path(path), Path(unpack_to), limits, report.warnings
        )
        if not source.files:
            raise DirectoryFormatError(
                f"{path} holds no HSDS file this importer reads "
                f"(looked for {', '.join(kind.name for kind in FILE_KINDS)})."
            )
        report.flavour = source.flavour
        report.not_imported = list(source.not_imported)
        known = KnownIds()
        made.earlier_stand_ins = await stand_in_organizations(session)
        made.earlier_places = await organization_places(session)
        for display, (kind, file_path) in source.files.items():
            await _import_file(session, known, display, kind, file_path, limits, report, made)
    await session.flush()
    await fill_in(session, made, report)
    await schedules_from_descriptions(session, made.services, report)
    await session.flush()
    report.coverage = await directory_coverage(session)
    return report


@dataclass
class _FileResult:
    header: list[str]
    read: int = 0
    accepted: dict[str, Accepted] = field(default_factory=dict)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, kind)
    made: dict[str, dict[str, tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    missing: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


async def _import_file(
    session: AsyncSession,
    known: KnownIds,
    display: str,
    kind: FileKind,
    path: Path,
    limits: ImportLimits,
    report: ImportReport,
    made: Made,
) -> None:
    entity = ENTITIES[kind.entity]
    ids = await known.load(
        session,
        {
            entity.table,
            "organization",
            *entity.required_refs.values(),
            *entity.optional_refs.values(),
        },
    )
    # What earlier imports stood in for is made again, so every import reports the same.
    checked_against = {
        **ids,
        "organization": ids["organization"] - made.earlier_stand_ins,
        "location": ids.get("location", set()) - made.earlier_places,
    }
    result = await asyncio.to_thread(
        _read_and_check, path, display, kind, checked_against, _stand_ins(ids), limits
    )
    counts = report.files.setdefault(display, FileCounts())
    counts.read = result.read
    report.warnings.extend(result.notes)
    if result.error:
        report.problems.append(result.error)
    if not result.header:
        return
    if result.missing:
        report.problems.append(
            f"{display}:1: missing column {', '.join(result.missing)}; "
            f"all {counts.read} rows skipped"
        )
        counts.skipped = counts.read
        report.skipped_reasons["missing column"] += counts.read
        return
    resolve_self_references(entity, result.accepted, ids)
    existing = ids[entity.table]
    counts.skipped = len(result.problems)
    counts.updated = sum(1 for row_id in result.accepted if row_id in existing)
    counts.inserted = len(result.accepted) - counts.updated
    counts.warned = sum(1 for row in result.accepted.values() if row.warnings)
    report.problems.extend(text for _, text, _ in sorted(result.problems))
    report.skipped_reasons.update(reason for _, _, reason in result.problems)
    report.warnings.extend(_warning_lines(display, result.accepted.values()))
    for parent, rows in result.made.items():
        await upsert_rows(session, parent, [row for _, row in rows.values()])
        ids[parent].update(rows)
        made.record(parent, display, rows)
        made.forget_earlier(rows)  # made again: known from here on
    records = [row.record for row in result.accepted.values()]
    columns = result.columns
    if entity.table == "service":
        placeholders = [r for r in records if is_placeholder(r.get("description"))]
        for record in placeholders:  # kept, as the directory holds it, but never shown
            record["status"] = "inactive"
        if placeholders:
            report.inferred["test rows kept inactive (placeholder text)"] += len(placeholders)
            if "status" not in columns:
                columns = [*columns, "status"]
                for record in records:
                    record.setdefault("status", "active")  # the column's default
    await upsert(session, table(entity.table), columns, records)
    existing.update(result.accepted)
    made.forget_earlier(result.accepted)  # in the files now: the directory's own rows
    if entity.table == "address":
        made.states.update(r["state_province"] for r in records if r.get("state_province"))
    if entity.table == "service":
        made.services.update(result.accepted)


PLACEHOLDER_MARKERS = ("lorem ipsum", "not a real service", "for testing purposes")


def is_placeholder(description: str | None) -> bool:
    """Whether a service's description says it is a test row ("Lorem ipsum", "[NOTE THIS IS
    NOT A REAL SERVICE]"): a family must never be sent to one."""
    folded = (description or "").lower()
    return any(marker in folded for marker in PLACEHOLDER_MARKERS)


def _stand_ins(ids: Mapping[str, set[str]]) -> dict[str, StandIn]:
    """What stands in for a missing parent: an organization named later from what the data
    offers; the place an organization-level (HSDS 1.x) address describes."""
    organizations = ids["organization"]

    def organization(value: str, _record: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": value, "name": f"Organization {value}"}

    def organization_place(value: str, record: Mapping[str, Any]) -> dict[str, Any] | None:
        if not value.startswith(ORGANIZATION_PLACE_PREFIX):
            return None
        organization_id = value.removeprefix(ORGANIZATION_PLACE_PREFIX)
        if organization_id not in organizations:
            raise SkipRow(f"unknown organization_id {organization_id}", "unknown organization_id")
        return {
            "id": value,
            "organization_id": organization_id,
            "location_type": "postal" if record.get("address_type") == "postal" else "physical",
        }

    return {"organization_id": organization, "location_id": organization_place}


def _read_and_check(
    path: Path,
    display: str,
    kind: FileKind,
    ids: Mapping[str, set[str]],
    stand_ins: Mapping[str, StandIn],
    limits: ImportLimits,
) -> _FileResult:
    """Read and check one file; blocking, so callers run it in a thread."""
    stream = CsvStream(path, display, limits)
    records = stream.records()
    first = next(records, None)
    result = _FileResult(header=stream.header)
    if stream.header:
        plan = plan_file(kind, stream.header)
        result.columns = plan.columns
        result.missing = missing_columns(plan)
        rows: Iterable[tuple[int, list[str]]] = itertools.chain(
            [first] if first is not None else [], records
        )
        if result.missing:
            for _ in rows:
                pass  # counted by the stream
        else:
            checker = RowChecker(plan, ids, stand_ins, limits.max_cell_chars)
            _check_rows(checker, rows, display, result)
            result.made = checker.made
    result.read = stream.read
    result.notes = stream.notes
    result.error = stream.error
    return result


def _check_rows(
    checker: RowChecker,
    rows: Iterable[tuple[int, list[str]]],
    display: str,
    result: _FileResult,
) -> None:
    accepted = result.accepted
    for line, values in rows:
        try:
            record, warnings = checker.check(line, values)
        except SkipRow as skip:
            result.problems.append((line, f"{display}:{line}: {skip}", skip.kind))
            continue
        earlier = accepted.pop(record["id"], None)
        if earlier is not None:
            # Later rows win, as a later edit in a spreadsheet would.
            reason = f"duplicate id {record['id']}; line {line} wins"
            result.problems.append(
                (earlier.line, f"{display}:{earlier.line}: {reason}", "duplicate id")
            )
        accepted[record["id"]] = Accepted(line, record, warnings)


def _warning_lines(display: str, rows: Iterable[Accepted]) -> list[str]:
    return [
        f"{display}:{row.line}: {warning}"
        for row in sorted(rows, key=lambda row: row.line)
        for warning in row.warnings
    ]
