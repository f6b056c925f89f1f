"""Report tables as text, JSON and CSV; CSV cells a spreadsheet will not run."""

from __future__ import annotations

import csv
import io
import json

import pytest

from knowledge.reports import ReportTable, spreadsheet_safe, write_report

TABLE = ReportTable(
    columns=("need", "searches", "share"),
    rows=[
        {"need": "dental", "searches": 12, "share": 0.75},
        {"need": '=HYPERLINK("http://x")', "searches": 3, "share": 0.25},
    ],
    title="Needs",
)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_are_neutralised(start: str) -> None:
    assert spreadsheet_safe(start + "cmd|' /C calc'!A0").startswith("'")
    assert spreadsheet_safe("food " + start) == "food " + start


def test_json_is_a_list_of_objects_keyed_by_column() -> None:
    out = io.StringIO()
    write_report(TABLE, "json", out)
    rows = json.loads(out.getvalue())
    assert rows[0] == {"need": "dental", "searches": 12, "share": 0.75}
    assert rows[1]["need"].startswith("=")  # JSON is data, not a spreadsheet


def test_csv_has_a_header_and_safe_cells() -> None:
    out = io.StringIO()
    write_report(TABLE, "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["need", "searches", "share"]
    assert rows[1] == ["dental", "12", "0.75"]
    assert rows[2][0].startswith("'=")


def test_text_aligns_columns_and_says_when_empty() -> None:
    out = io.StringIO()
    write_report(TABLE, "text", out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Needs"
    assert lines[2].split() == ["need", "searches", "share"]
    assert "75.0%" in lines[3]
    empty = io.StringIO()
    write_report(ReportTable(columns=("need",)), "text", empty)
    assert "(nothing yet)" in empty.getvalue()
