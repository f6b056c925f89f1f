"""Export: the directory as HSDS 3.0 CSV, one file per table, safe to open in a spreadsheet.

Services carry `assured_date` (when the listing was last confirmed, by a partner say) and
`last_modified`; every recorded change to a listing (a partner's, a coordinator's fix) goes
out as HSDS 3.0 `metadata` rows, who in kind ("partner", "review"), never a chat id."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.hsds.files import EXPORT_FILES
from knowledge.hsds.tables import table
from knowledge.models import ListingChange
from knowledge.reports import spreadsheet_safe

METADATA_FILE = "metadata.csv"
METADATA_COLUMNS = (
    "id",
    "resource_id",
    "resource_type",
    "last_action_date",
    "last_action_type",
    "field_name",
    "previous_value",
    "replacement_value",
    "updated_by",
)


async def export_directory(session: AsyncSession, directory: Path) -> dict[str, int]:
    """Write the directory as HSDS 3.0 CSV files into `directory`; rows written per file."""
    directory = Path(directory)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for file_name, table_name in EXPORT_FILES:
        target = table(table_name)
        result = await session.execute(select(target).order_by(target.c.id))
        rows = [tuple(row) for row in result]
        header = list(target.columns.keys())
        written[file_name] = await asyncio.to_thread(
            _write_csv, directory / file_name, header, rows
        )
    changes = await session.scalars(select(ListingChange).order_by(ListingChange.id))
    metadata = [
        (
            f"listing-change-{change.id}",
            change.service_id,
            "service",
            change.changed_at,
            "update",
            change.field,
            change.old_value,
            change.new_value,
            change.source,
        )
        for change in changes
    ]
    written[METADATA_FILE] = await asyncio.to_thread(
        _write_csv, directory / METADATA_FILE, METADATA_COLUMNS, metadata
    )
    return written


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows([csv_value(value) for value in row] for row in rows)
    return len(rows)


def csv_value(value: Any) -> str:
    """A cell: numbers as numbers, dates in ISO 8601, text that a spreadsheet will not run as a
    formula (OWASP: a leading apostrophe before = + - @ tab CR; the importer takes it off)."""
    if value is None:
        return ""
    if isinstance(value, float):
        # 12.0 years reads better as 12; repr keeps every digit of a coordinate.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)
