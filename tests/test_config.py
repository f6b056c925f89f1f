"""Configuration: sensible defaults, async driver mapping, one clear line for a wrong value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_URL",
        "DATABASE_URL",
        "COORDINATOR_IDS",
        "TIMEZONE",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert "data" in settings.database_url
    assert settings.coordinator_ids == frozenset()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
        ("postgres://u:p@h/d", "postgresql+asyncpg://u:p@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_database_urls_map_to_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().database_url == expected


def test_coordinator_ids_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COORDINATOR_IDS", "12345, 678")
    assert load_settings().coordinator_ids == frozenset({12345, 678})


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Madrid\nCOORDINATOR_IDS=7\n")
    settings = load_settings()
    assert settings.timezone == "Europe/Madrid"
    assert settings.coordinator_ids == frozenset({7})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "not a url"),
        ("COORDINATOR_IDS", "alice,bob"),
        ("TIMEZONE", "Mars/Olympus_Mons"),
        ("TELEGRAM_BOT_TOKEN", "no-colon"),
        ("TELEGRAM_API_URL", "ftp://example"),
        ("WEBHOOK_SECRET", "has spaces!"),
    ],
)
def test_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}: ")
    assert "\n" not in str(error.value)


def test_a_webhook_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without one, anyone who finds the URL could post updates as any user."""
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/")
    with pytest.raises(SettingsError, match="^WEBHOOK_SECRET: required when WEBHOOK_URL is set"):
        load_settings()
    monkeypatch.setenv("WEBHOOK_SECRET", "a-long-random-secret")
    assert load_settings().webhook_secret == "a-long-random-secret"


def test_wrong_value_at_start_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEZONE", "Nowhere/Special")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "resource-finder: TIMEZONE: expected an IANA time zone such as America/Chicago"
    ]
