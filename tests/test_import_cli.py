"""`db upgrade`, `import` and `export` as a coordinator runs them: a real process, real database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_cli import cli

from knowledge.content import holds_demo_directory
from knowledge.models import SampleMaterial, Service, ToolkitResource

FIXTURES = Path(__file__).parent / "fixtures" / "hsds"


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_db_upgrade_leaves_the_toolkit_and_materials_but_no_demo(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    result = cli(database_url, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Toolkit: 12 entries, 5 sample materials.",
        "Database is up to date.",
    ]
    async with session_factory() as session:
        assert await count(session, ToolkitResource) == 12
        assert await count(session, SampleMaterial) == 5
        assert await count(session, Service) == 0  # the demo town is the bot's first run's


def test_db_upgrade_then_import_then_search_finds_the_mou_template(database_url: str) -> None:
    assert cli(database_url, "db", "upgrade").returncode == 0
    imported = cli(database_url, "import", str(FIXTURES / "hsds1-organization-level"))
    assert imported.returncode == 0, imported.stderr
    assert "The demo directory was removed" not in imported.stdout

    found = cli(database_url, "search", "MOU", "template", "--json", "--as", "staff")
    if found.returncode == 2 and "--as" in found.stderr:  # before the search gains --as
        found = cli(database_url, "search", "MOU", "template", "--json")

    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits and hits[0]["id"] == "material-mou-template"


def test_import_without_db_upgrade_is_ready_too(database_url: str, tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}" if database_url.startswith("sqlite") else None
    url = fresh or database_url
    assert cli(url, "import", str(FIXTURES / "hsds3")).returncode == 0
    found = cli(url, "search", "data", "sharing", "agreement", "--json")
    assert any(hit["id"] == "material-data-sharing" for hit in json.loads(found.stdout))


async def test_import_then_run_keeps_the_directory_without_the_demo(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    assert cli(database_url, "db", "upgrade").returncode == 0
    assert cli(database_url, "import", str(FIXTURES / "hsds3")).returncode == 0
    assert cli(database_url, "chat", stdin="").returncode == 0  # what `run` does at start

    async with session_factory() as session:
        assert not await holds_demo_directory(session)
        assert await count(session, Service) == 4


def test_the_import_summary_says_what_was_inferred_and_the_coverage(database_url: str) -> None:
    result = cli(database_url, "import", str(FIXTURES / "hsds1-organization-level"))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "phones.csv:5: number 'no phone' has no digits" in lines
    assert "skipped rows by reason: 1 number without digits" in lines
    assert (
        "inferred: 9 services offered at their organization's places, "
        "5 services with a service area read from their name, eligibility or organization, "
        "4 stand-in organizations (missing from organizations.csv), "
        "1 organization addresses kept as the organization's place"
    ) in lines
    assert lines[-1].startswith("coverage of 9 services: 2 with an address (22%), 4 with hours")


def test_export_then_import_elsewhere_round_trips(database_url: str, tmp_path: Path) -> None:
    assert cli(database_url, "import", str(FIXTURES / "hsds1-organization-level")).returncode == 0
    exported = cli(database_url, "export", "--format", "hsds", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    assert "service_areas.csv: 7 rows" in exported.stdout.splitlines()

    second = f"sqlite:///{tmp_path / 'second.db'}"
    again = cli(second, "import", str(tmp_path / "out"))
    assert again.returncode == 0, again.stderr
    assert "inferred" not in again.stdout  # it is all there, in HSDS 3.0 terms
    *_, coverage, history = again.stdout.splitlines()
    assert coverage.startswith(
        "coverage of 9 services: 2 with an address (22%), 4 with hours (44%)"
    )
    # The listings' change history (HSDS metadata) goes out for others; it is not read back.
    assert history == "not imported: metadata.csv"
    with (tmp_path / "out" / "organizations.csv").open(encoding="utf-8") as stream:
        names = {row["id"]: row["name"] for row in csv.DictReader(stream)}
    assert names["org-boone"] == "Boone County Courthouse"
