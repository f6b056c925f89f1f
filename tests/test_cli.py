"""The `resource-finder` commands, run as a user would run them (a real process, real database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.models import Event, QueryLog, Reminder, Service, utcnow

FIXTURES = Path(__file__).parent / "fixtures" / "hsds"
# A year whose events are ahead whenever the suite runs (a written year turns into the past,
# and then `event add` refuses it). 4 and 5 March are in standard time in Chicago every year.
FUTURE = utcnow().year + 5


def cli(
    database_url: str, *args: str, stdin: str = "", token: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": token}
    env.pop("COORDINATOR_IDS", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_db_upgrade_creates_a_new_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bot.db"
    result = cli(f"sqlite:///{path}", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert path.exists()


def test_chat_answers_a_dental_question_and_exits_zero(database_url: str) -> None:
    result = cli(database_url, "chat", stdin="dentist\n")
    assert result.returncode == 0, result.stderr
    assert "Dental" in result.stdout


def test_run_without_token_opens_the_local_chat(database_url: str) -> None:
    result = cli(database_url, "run", stdin="necesito comida\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().startswith("No TELEGRAM_BOT_TOKEN set: starting the local chat")
    assert "Pantry" in result.stdout or "Despensa" in result.stdout


def test_search_json_has_the_documented_fields(database_url: str) -> None:
    assert cli(database_url, "chat", stdin="").returncode == 0  # seeds the demo directory
    result = cli(database_url, "search", "dentst", "for", "my", "kid", "--json", "--limit", "3")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert 1 <= len(hits) <= 3
    assert {"id", "kind", "title", "score"} <= set(hits[0])
    assert hits[0]["kind"] == "service" and "dental" in hits[0]["title"].lower()


def test_search_near_reports_distances(database_url: str) -> None:
    cli(database_url, "chat", stdin="")
    result = cli(database_url, "search", "food pantry", "--json", "--near", "41.59,-93.62")
    hits = json.loads(result.stdout)
    distances = [h["distance_km"] for h in hits]
    assert distances == sorted(distances)


def test_search_batch_prints_one_line_per_query(database_url: str, tmp_path: Path) -> None:
    cli(database_url, "chat", stdin="")
    batch = tmp_path / "queries.txt"
    batch.write_text("dentist\n\nlentes para mi hija\nasdfghjkl\n", encoding="utf-8")
    result = cli(database_url, "search", "--batch", str(batch), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["dentist", "lentes para mi hija", "asdfghjkl"]
    assert all(isinstance(line["elapsed_ms"], float) for line in lines)
    assert lines[1]["results"] and lines[2]["results"] == []


async def test_search_logs_the_question_only_when_asked_and_not_the_asker(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cli(database_url, "chat", stdin="")
    tried = cli(database_url, "search", "qwertyuiop zxcv")  # trying the search out
    assert tried.returncode == 0
    assert "No good match" in tried.stdout and "saved" not in tried.stdout
    logged = cli(database_url, "search", "qwertyuiop zxcv", "--log")
    assert "saved for the coordinators' gap report" in logged.stdout
    async with session_factory() as session:
        entry = (
            await session.scalars(select(QueryLog).where(QueryLog.text == "qwertyuiop zxcv"))
        ).one()
    assert entry.matched is False


def test_search_answers_as_the_role_asked(database_url: str) -> None:
    cli(database_url, "chat", stdin="")
    family = json.loads(cli(database_url, "search", "health", "--json").stdout)
    staff = json.loads(cli(database_url, "search", "health", "--json", "--as", "staff").stdout)
    assert family[0]["kind"] == "service"
    assert staff[0]["kind"] == "resource"
    # A family's need is never answered with policy reports.
    card = json.loads(cli(database_url, "search", "report card", "--json").stdout)
    assert card and all(hit["kind"] == "service" for hit in card)
    spanish = json.loads(
        cli(database_url, "search", "como financiar una escuela comunitaria", "--json").stdout
    )
    assert spanish[0]["id"] == "toolkit-funding"
    assert spanish[0]["title"].startswith("Financiamiento")
    bad = cli(database_url, "search", "health", "--as", "mayor")
    assert bad.returncode == 2


async def test_import_reports_bad_rows_and_replaces_the_demo(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cli(database_url, "chat", stdin="")
    result = cli(database_url, "import", str(FIXTURES / "hsds3"))
    assert result.returncode == 0, result.stderr
    assert "services.csv:" in result.stdout
    assert "The demo directory was removed" in result.stdout
    async with session_factory() as session:
        services = set(await session.scalars(select(Service.id)))
    assert services and not any(s.startswith("svc-") and "dental" in s for s in services)


def test_import_of_a_missing_path_is_one_line(database_url: str) -> None:
    result = cli(database_url, "import", "/nonexistent/folder")
    assert result.returncode == 2
    assert result.stderr.strip() == "resource-finder: /nonexistent/folder: no such file or folder"


def test_export_writes_hsds_csv(database_url: str, tmp_path: Path) -> None:
    cli(database_url, "chat", stdin="")
    result = cli(database_url, "export", "--format", "hsds", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "services.csv").exists()
    assert (tmp_path / "out" / "organizations.csv").exists()


async def test_event_add_creates_the_event_and_its_reminders(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    result = cli(
        database_url,
        "event", "add", "--title", "Family math night",
        "--starts", f"{FUTURE}-03-05T18:00", "--ends", f"{FUTURE}-03-05T20:00",
        "--where", "Lincoln Elementary gym", "--remind", "1h,10m", "--no-announce",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "18:00 CST to 20:00" in result.stdout
    async with session_factory() as session:
        event = (await session.scalars(select(Event))).one()
        reminders = list(await session.scalars(select(Reminder.offset_minutes)))
    assert event.title == "Family math night"
    assert event.starts_at.isoformat() == f"{FUTURE}-03-06T00:00:00+00:00"  # 18:00 in Chicago
    assert event.ends_at is not None and event.ends_at - event.starts_at == timedelta(hours=2)
    assert sorted(reminders) == [10, 60]


async def test_event_add_defaults_to_a_day_and_an_hour_before(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    result = cli(
        database_url,
        "event", "add", "--title", "Clinic", "--starts", f"{FUTURE}-03-05T18:00Z", "--no-announce",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    async with session_factory() as session:
        assert sorted(await session.scalars(select(Reminder.offset_minutes))) == [60, 1440]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--starts", "next tuesday"], "--starts expects ISO 8601"),
        (
            ["--starts", f"{FUTURE}-01-01T10:00", "--ends", f"{FUTURE}-01-01T09:00"],
            "--ends must be after",
        ),
        (
            ["--starts", f"{FUTURE}-01-01T10:00", "--remind", "soon"],
            "--remind: 'soon' is not a duration",
        ),
    ],
)
def test_event_add_bad_input_is_one_clear_line(
    database_url: str, args: list[str], message: str
) -> None:
    result = cli(database_url, "event", "add", "--title", "X", "--announce", *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_services_count_unchanged_by_repeat_chat_runs(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cli(database_url, "chat", stdin="")
    cli(database_url, "chat", stdin="")
    async with session_factory() as session:
        count = await session.scalar(select(func.count()).select_from(Service))
    assert count and count < 100


def test_report_gaps_lists_what_found_nothing(database_url: str) -> None:
    assert cli(database_url, "chat", stdin="zzqx blorft\n").returncode == 0
    result = cli(database_url, "report", "gaps", "--json")
    assert result.returncode == 0, result.stderr
    assert [row["example"] for row in json.loads(result.stdout)] == ["zzqx blorft"]
    bad = cli(database_url, "report", "gaps", "--since", "yesterday")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "resource-finder: --since expects a date such as 2026-09-01, not 'yesterday'"
    )
