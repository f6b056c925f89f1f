"""docker-compose.yml is valid Compose (no Docker engine here: check it against the schema)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_postgres_with_healthcheck_and_named_volume() -> None:
    spec = compose()
    db = spec["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert {"test", "interval", "retries"} <= set(db["healthcheck"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in spec["volumes"]


def test_bot_waits_for_a_healthy_database_and_migrates_on_start() -> None:
    bot = compose()["services"]["bot"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "db upgrade" in " ".join(bot["command"])
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert (ROOT / bot["build"] / "Dockerfile").exists()
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])


def test_compose_keys_are_known() -> None:
    spec = compose()
    assert set(spec) <= {"services", "volumes", "networks", "configs", "secrets", "name"}
    service_keys = {
        "image", "build", "restart", "environment", "volumes", "healthcheck", "depends_on",
        "command", "ports", "env_file", "stop_grace_period", "stop_signal", "expose",
    }  # fmt: skip
    for service in spec["services"].values():
        assert set(service) <= service_keys
