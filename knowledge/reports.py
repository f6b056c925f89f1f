"""Reports for coordinators and funders as plain tables, written as text, JSON or CSV.

Every report (`resource-finder report …`) builds a `ReportTable` from the database and hands it
to `write_report`, so the formats behave the same everywhere: JSON is a list of objects keyed
by column, CSV has a header row and cells a spreadsheet will not run as formulas.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TextIO

ReportFormat = Literal["text", "json", "csv"]

# OWASP "CSV injection": a cell starting with one of these is read as a formula by Excel,
# LibreOffice and Google Sheets; a leading apostrophe makes it text again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The cell as text a spreadsheet shows rather than runs."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@dataclass
class ReportTable:
    columns: Sequence[str]
    rows: list[Mapping[str, Any]] = field(default_factory=list)
    title: str = ""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def write_json(table: ReportTable, out: TextIO) -> None:
    rows = [{column: _plain(row.get(column)) for column in table.columns} for row in table.rows]
    json.dump(rows, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_csv(table: ReportTable, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(
            [
                spreadsheet_safe(str(value)) if isinstance(value, str) else _plain(value)
                for value in (row.get(column) for column in table.columns)
            ]
        )


def write_text(table: ReportTable, out: TextIO) -> None:
    """Aligned columns for a terminal; numbers on the right."""
    cells = [[_cell(row.get(column)) for column in table.columns] for row in table.rows]
    widths = [
        max([len(column)] + [len(line[i]) for line in cells])
        for i, column in enumerate(table.columns)
    ]
    numeric = [
        all(isinstance(row.get(column), int | float) for row in table.rows if row.get(column))
        for column in table.columns
    ]
    if table.title:
        out.write(table.title + "\n\n")

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out.write(line(list(table.columns)) + "\n")
    for values in cells:
        out.write(line(values) + "\n")
    if not table.rows:
        out.write("(nothing yet)\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:.1f}"
    return str(_plain(value))


def write_report(table: ReportTable, report_format: ReportFormat, out: TextIO) -> None:
    {"json": write_json, "csv": write_csv, "text": write_text}[report_format](table, out)
