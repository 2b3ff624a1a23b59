"""Deployment: the container (checked as files: CI has no Docker engine), several processes sharing
shards, the migration lock, and backups."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import create_bot
from config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _instructions() -> list[tuple[str, str]]:
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [tuple(line.strip().split(None, 1)) for line in lines if line.strip() and not line.startswith("#")]  # type: ignore[misc]


def test_dockerfile_is_slim_non_root_and_health_checked() -> None:
    instructions = _instructions()
    keywords = [keyword.upper() for keyword, _ in instructions]
    assert instructions[0][1].endswith("-slim")
    user = [argument for keyword, argument in instructions if keyword.upper() == "USER"]
    assert user and user[-1] not in {"root", "0"}
    assert keywords.index("USER") > keywords.index("RUN")  # installs as root, runs as the user
    health = next(argument for keyword, argument in instructions if keyword.upper() == "HEALTHCHECK")
    assert '"coopbot", "check"' in health
    copied = " ".join(argument for keyword, argument in instructions if keyword.upper() == "COPY")
    for needed in ("pyproject.toml", "bot.py", "config.py", "cogs", "governance", "storage"):
        assert needed in copied
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_compose_runs_two_processes_over_the_shards_of_one_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    bots = {name: service for name, service in compose["services"].items() if name.startswith("bot")}
    assert len(bots) >= 2
    environments = [service["environment"] for service in bots.values()]
    assert {env["SHARD_COUNT"] for env in environments} == {str(len(bots))}
    assert sorted(env["SHARD_IDS"] for env in environments) == [str(i) for i in range(len(bots))]
    assert all(env["DATABASE_URL"].startswith("postgresql+asyncpg://") for env in environments)
    for service in bots.values():
        settings = Settings(
            _env_file=None, **{key.lower(): value for key, value in service["environment"].items()}
        )
        bot = create_bot(settings)
        assert bot.shard_count == settings.shard_count and bot.shard_ids == settings.shard_ids


def test_shard_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="SHARD_COUNT"):
        Settings(_env_file=None, shard_ids="0,1")
    with pytest.raises(ValueError, match="between 0 and SHARD_COUNT - 1"):
        Settings(_env_file=None, shard_ids="0,4", shard_count=4)


def _coopbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_backup_copies_a_live_sqlite_database(tmp_path: Path) -> None:
    database = tmp_path / "coopbot.db"
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    assert _coopbot("migrate", env=env).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO guilds (id, timezone, currency, default_decision_type, default_decision_seconds,"
            " charter_text, charter_version, admission_by_decision, admission_decision_type,"
            " reminder_lead_seconds, digest_weekday, digest_time, request_stale_days, created_at, updated_at)"
            " VALUES (42, 'UTC', 'NZD', 'consent', 604800, '', 0, 1, 'consent', 86400, 0, '09:00', 7,"
            " '2026-11-26 09:00:00', '2026-11-26 09:00:00')"
        )
    copy = tmp_path / "backup.db"
    done = _coopbot("backup", "--out", str(copy), env=env)
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT currency FROM guilds WHERE id = 42").fetchone() == ("NZD",)


def test_backup_explains_pg_dump_for_postgresql() -> None:
    done = _coopbot("backup", env={"DATABASE_URL": "postgresql://coop@127.0.0.1:5432/coop"})
    assert done.returncode == 2
    assert "pg_dump" in done.stderr
