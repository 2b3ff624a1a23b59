"""A network across processes: three cooperatives served by two bot processes (different shards) on one
database. Each process posts the network proposal to its own servers only and takes their clicks; the
network's close is claimed once; each cooperative's announcement is delivered exactly once, by the process
that serves it, also when the process that closed the network is killed before announcing anything."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from governance import networks
from governance.coop import SetupChanges, configure_guild
from governance.decisions import CLOSED_KIND, close_decision
from governance.networks import NetworkDraft
from governance.permissions import Actor
from governance.voting import cast_vote
from storage.database import Database
from storage.models import Decision, NetworkEvent, NetworkProposal, OwedMessage, Vote
from tests.processes.network_worker import PEOPLE, START

ROOT = Path(__file__).resolve().parent
SHARDS = 2
# Two servers on shard 0 (process A), one on shard 1 (process B).
GUILDS = [(30_000 + n) << 22 for n in range(3)]
A, B = [0], [1]
ADMIN = Actor(user_id=1, manages_guild=True)
ROLE = 77  # the member role until each process's world has its own
CLOSES_AFTER = 3 * 24 * 60 + 1  # minutes: just after the proposal's closing time
LEASE_OVER = CLOSES_AFTER + 5  # minutes: a crashed sender's lease has run out


async def _network(db: Database) -> int:
    """Three cooperatives in one network (each joined by its members' decision) and a proposal to all of
    them, counted by person."""
    for guild_id in GUILDS:
        await configure_guild(
            db, guild_id=guild_id, actor=ADMIN, changes=SetupChanges(member_role_id=ROLE), now=START
        )
    home, *others = GUILDS
    await networks.create_network(db, guild_id=home, coop_name="Home", actor=ADMIN, name="Net", now=START)
    for n, guild_id in enumerate(others):
        code = await networks.invite(
            db, guild_id=home, actor=ADMIN, network_name=None, valid_for=None, now=START
        )
        opened = await networks.join(
            db,
            guild_id=guild_id,
            coop_name=f"Coop {n}",
            actor=ADMIN,
            code=code.code,
            decision_type=None,
            now=START,
        )
        assert opened.decision.id is not None
        voter = Actor(user_id=9, role_ids=frozenset({ROLE}))
        await cast_vote(
            db,
            guild_id=guild_id,
            decision_id=opened.decision.id,
            actor=voter,
            now=START,
            choice="no_objection",
        )
        await close_decision(
            db, guild_id=guild_id, decision_id=opened.decision.id, eligible=3, now=opened.decision.closes_at
        )
    author = Actor(user_id=2, role_ids=frozenset({ROLE}))
    proposed = await networks.propose(
        db,
        guild_id=home,
        actor=author,
        network_name=None,
        draft=NetworkDraft(title="Share", closes="3d"),
        now=START,
    )
    assert proposed.proposal.id is not None and len(proposed.copies) == 3
    return proposed.proposal.id


async def _worker(url: str, shards: list[int], mode: str, minutes: int) -> tuple[int, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.processes.network_worker",
        url,
        str(SHARDS),
        ",".join(map(str, shards)),
        ",".join(map(str, GUILDS)),
        mode,
        str(minutes),
        cwd=ROOT.parent,
        env={**os.environ, "LOG_LEVEL": "ERROR"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    lines = stdout.decode().strip().splitlines()
    assert process.returncode in (0, 3), stderr.decode()[-3000:]
    return process.returncode or 0, json.loads(lines[-1]) if process.returncode == 0 else {}


async def _copies(db: Database, proposal_id: int) -> dict[int, Decision]:
    async with db.read() as session:
        rows = await session.exec(
            select(Decision).where(
                Decision.link_kind == networks.PROPOSAL_LINK, Decision.link_id == proposal_id
            )
        )
        return {row.guild_id: row for row in rows.all()}


async def _closes_owed(db: Database, copy_ids: set[int]) -> list[tuple[int, str]]:
    async with db.read() as session:
        rows = (await session.exec(select(OwedMessage).where(OwedMessage.kind == CLOSED_KIND))).all()
    return sorted(
        (int(row.payload["decision_id"]), row.status)
        for row in rows
        if row.payload["decision_id"] in copy_ids
    )


@pytest.mark.long
async def test_a_network_proposal_across_two_processes_closes_once_and_is_announced_once_per_server(
    db: Database, database_url: str
) -> None:
    assert [(g >> 22) % SHARDS for g in GUILDS] == [0, 1, 0]
    proposal_id = await _network(db)
    copies = await _copies(db, proposal_id)
    ids = {guild: copy.id for guild, copy in copies.items() if copy.id is not None}

    # Each process posts its own servers' copies and takes their people's clicks.
    (_, a_votes), (_, b_votes) = await asyncio.gather(
        _worker(database_url, A, "vote", 0), _worker(database_url, B, "vote", 0)
    )
    assert (a_votes["posted"], a_votes["votes"]) == (2, 2 * PEOPLE)
    assert (b_votes["posted"], b_votes["votes"]) == (1, PEOPLE)
    async with db.read() as session:
        voted = (
            await session.exec(select(Vote.guild_id).where(col(Vote.decision_id).in_(ids.values())))
        ).all()
    assert sorted(voted) == sorted(g for g in GUILDS for _ in range(PEOPLE))

    # A closes its two copies: the network waits for B's.
    await _worker(database_url, A, "close-once", CLOSES_AFTER)
    assert (await _proposal(db, proposal_id)).status == "open"
    # B closes the last copy, which closes the network, and is killed before it announces anything.
    code, _ = await _worker(database_url, B, "close-crash", CLOSES_AFTER)
    assert code == 3
    proposal = await _proposal(db, proposal_id)
    assert proposal.status == "closed" and proposal.result == {
        "ballot_counts": {"no_objection": 3 * PEOPLE},
        "eligible": 3 * PEOPLE,
    }
    assert [status for _, status in await _closes_owed(db, set(ids.values()))] == ["pending"] * 3

    # Started again, each process announces to its own servers, once.
    _, b_after = await _worker(database_url, B, "close", LEASE_OVER)
    _, a_after = await _worker(database_url, A, "close", LEASE_OVER)
    assert b_after["announced"] == [ids[GUILDS[1]]] and b_after["results"] == 1
    assert a_after["announced"] == sorted([ids[GUILDS[0]], ids[GUILDS[2]]]) and a_after["results"] == 2
    assert [status for _, status in await _closes_owed(db, set(ids.values()))] == ["delivered"] * 3
    async with db.read() as session:
        closes = (
            await session.exec(select(NetworkEvent).where(NetworkEvent.action == "network.proposal.close"))
        ).all()
    assert len(closes) == 1


async def _proposal(db: Database, proposal_id: int) -> NetworkProposal:
    async with db.read() as session:
        row = await session.get(NetworkProposal, proposal_id)
    assert row is not None
    return row
