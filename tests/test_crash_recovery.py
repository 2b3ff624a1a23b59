"""Crashes: the bot runs as a real process and is killed with SIGKILL at random moments, over and over,
while 200 decisions come due; after a clean run, the database shows every one closed exactly once and
announced."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from governance.coop import SetupChanges, configure_guild
from governance.permissions import Actor
from governance.proposing import ProposalDraft, open_decision
from storage.database import Database
from storage.models import AuditEvent, Decision
from tests.processes.crash_worker import START

ROOT = Path(__file__).resolve().parent.parent
GUILDS = [(20_000 + n) << 22 for n in range(4)]
ITEMS = 200
KILLS = 22
ROLE = 55


async def _spawn(url: str, minutes: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.processes.crash_worker",
        url,
        str(minutes),
        ",".join(map(str, GUILDS)),
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "ERROR"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _counts(db: Database) -> tuple[int, int, dict[str, int]]:
    async with db.read() as session:
        closed = (await session.exec(select(func.count()).where(Decision.status == "closed"))).one()
        announced = (
            await session.exec(select(func.count()).where(col(Decision.announced_at).is_not(None)))
        ).one()
        events = dict(
            (
                await session.exec(
                    select(AuditEvent.subject, func.count())
                    .where(AuditEvent.action == "decision.close")
                    .group_by(col(AuditEvent.subject))
                )
            ).all()
        )
    return closed, announced, events


@pytest.mark.long
async def test_killed_at_random_the_bot_closes_and_announces_every_decision_exactly_once(
    db: Database, database_url: str
) -> None:
    opened = START - timedelta(days=3)
    author = Actor(user_id=2, role_ids=frozenset({ROLE}))
    for guild_id in GUILDS:
        await configure_guild(
            db,
            guild_id=guild_id,
            actor=Actor(user_id=1, manages_guild=True),
            changes=SetupChanges(member_role_id=ROLE),
            now=opened,
        )
    ids = []
    for n in range(ITEMS):
        decision = await open_decision(
            db,
            guild_id=GUILDS[n % len(GUILDS)],
            actor=author,
            draft=ProposalDraft(title=f"Item {n}", kind="consent", closes="2d"),
            now=opened,
        )
        ids.append(decision.id)

    rng = random.Random(20261126)
    progress = []
    for kill in range(KILLS):
        process = await _spawn(database_url, minutes=kill)
        assert process.stdout is not None
        # Start-up takes a while on a busy machine: kill at a random moment of the work itself.
        await asyncio.wait_for(process.stdout.readline(), timeout=120)
        await asyncio.sleep(rng.uniform(0.0, 1.2))
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()
        progress.append((await _counts(db))[:2])

    final = await _spawn(database_url, minutes=KILLS + 10)
    _, stderr = await asyncio.wait_for(final.communicate(), timeout=300)
    assert final.returncode == 0, stderr.decode()[-3000:]

    closed, announced, events = await _counts(db)
    assert closed == ITEMS and announced == ITEMS
    assert events == {f"decision:{decision_id}": 1 for decision_id in ids}
    # The kills landed at different stages: before any close, between closes, after all of them.
    assert len(set(progress)) > 3, progress
