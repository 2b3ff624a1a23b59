"""Several bot processes on one database: each runs the scheduled work of the servers its shards hold,
every job of every server runs exactly once, and two processes that both hold a server never double it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from governance.coop import SetupChanges, configure_guild
from governance.permissions import Actor
from governance.proposing import ProposalDraft, open_decision
from storage.database import Database
from storage.models import AuditEvent, Decision

ROOT = Path(__file__).resolve().parent.parent
SHARDS = 4
# Snowflakes whose shard ((id >> 22) % SHARDS) is known: three servers on each of the four shards.
GUILDS = [(10_000 + n) << 22 for n in range(12)]
ROLE = 77
OPENED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


async def _open_decisions(db: Database) -> dict[int, list[int]]:
    """Three open decisions per server, all due before the workers' clock."""
    by_guild: dict[int, list[int]] = {}
    for guild_id in GUILDS:
        admin = Actor(user_id=1, manages_guild=True)
        await configure_guild(
            db, guild_id=guild_id, actor=admin, changes=SetupChanges(member_role_id=ROLE), now=OPENED
        )
        author = Actor(user_id=2, role_ids=frozenset({ROLE}))
        for n in range(3):
            decision = await open_decision(
                db,
                guild_id=guild_id,
                actor=author,
                draft=ProposalDraft(title=f"Proposal {n}", kind="consent", closes="3d"),
                now=OPENED,
            )
            assert decision.id is not None
            by_guild.setdefault(guild_id, []).append(decision.id)
    return by_guild


async def _run_workers(url: str, shard_sets: list[list[int]]) -> list[dict[str, list[int]]]:
    async def worker(shards: list[int]) -> dict[str, list[int]]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.processes.shard_worker",
            url,
            str(SHARDS),
            ",".join(map(str, shards)),
            ",".join(map(str, GUILDS)),
            cwd=ROOT,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, stderr.decode()[-3000:]
        result: dict[str, list[int]] = json.loads(stdout.decode().strip().splitlines()[-1])
        return result

    return list(await asyncio.gather(*(worker(shards) for shards in shard_sets)))


async def _close_events(db: Database) -> dict[str, int]:
    async with db.read() as session:
        rows = await session.exec(
            select(AuditEvent.subject, func.count())
            .where(AuditEvent.action == "decision.close")
            .group_by(col(AuditEvent.subject))
        )
        return dict(rows.all())


@pytest.mark.long
async def test_two_processes_split_the_servers_and_run_every_job_once(
    db: Database, database_url: str
) -> None:
    assert sorted({(g >> 22) % SHARDS for g in GUILDS}) == list(range(SHARDS))  # every shard has servers
    by_guild = await _open_decisions(db)

    first, second = await _run_workers(database_url, [[0, 1], [2, 3]])

    for result in (first, second):
        own = [g for g in GUILDS if (g >> 22) % SHARDS in result["shards"]]
        assert result["guilds"] == sorted(own)
        assert sorted(result["closed"]) == sorted(d for g in own for d in by_guild[g])
    every = sorted(d for ids in by_guild.values() for d in ids)
    assert sorted(first["closed"] + second["closed"]) == every
    assert await _close_events(db) == {f"decision:{d}": 1 for d in every}
    async with db.read() as session:
        statuses = (await session.exec(select(Decision.status))).all()
    assert set(statuses) == {"closed"}


@pytest.mark.long
async def test_processes_that_both_hold_every_server_still_do_each_job_once(
    db: Database, database_url: str
) -> None:
    by_guild = await _open_decisions(db)

    first, second = await _run_workers(database_url, [[0, 1, 2, 3], [0, 1, 2, 3]])

    every = sorted(d for ids in by_guild.values() for d in ids)
    assert sorted(first["closed"] + second["closed"]) == every  # each closed by exactly one of them
    assert await _close_events(db) == {f"decision:{d}": 1 for d in every}
