"""What the governance tests share: two cooperatives (ours in Auckland, paying in NZD, and another one),
the people in them, and the small steps many tests take (propose, vote, make a fund, deposit, ask). The
test modules import these from here and never from one another."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from hypothesis.stateful import RuleBasedStateMachine
from sqlalchemy import text
from sqlmodel import SQLModel, col, select

from governance import decisions, funds, links, voting
from governance.clock import ManualClock
from governance.coop import SetupChanges, configure_guild
from governance.decisions import close_decision
from governance.funds import FundDraft
from governance.links import Link
from governance.permissions import Actor
from governance.proposing import ProposalDraft, open_decision
from governance.timeparse import parse_timezone
from governance.voting import cast_vote
from storage.database import Database
from storage.models import AuditEvent, Contribution, Decision, Fund, FundingRequest, LedgerEntry
from tests.conftest import PG_URL, START

GUILD = 1_000
OTHER_GUILD = 2_000
MEMBER_ROLE = 11
MODERATOR_ROLE = 12
TREASURER_ROLE = 13
CONTRIBUTOR_ROLE = 14
OTHER_MEMBER_ROLE = 21
OTHER_TREASURER_ROLE = 23
AUCKLAND = parse_timezone("Pacific/Auckland")

ADMIN = Actor(user_id=1, manages_guild=True)
ALICE = Actor(user_id=101, role_ids=frozenset({MEMBER_ROLE}))
BOB = Actor(user_id=102, role_ids=frozenset({MEMBER_ROLE}))
CAROL = Actor(user_id=103, role_ids=frozenset({MEMBER_ROLE}))
MO = Actor(user_id=104, role_ids=frozenset({MEMBER_ROLE, MODERATOR_ROLE}))
TESS = Actor(user_id=105, role_ids=frozenset({MEMBER_ROLE, TREASURER_ROLE}))
TREVOR = Actor(user_id=106, role_ids=frozenset({MEMBER_ROLE, TREASURER_ROLE}))
CONNY = Actor(user_id=107, role_ids=frozenset({CONTRIBUTOR_ROLE}))
VIC = Actor(user_id=108)  # a visitor: no role at all
# A member (and treasurer) of the other cooperative.
OTTO = Actor(user_id=201, role_ids=frozenset({OTHER_MEMBER_ROLE, OTHER_TREASURER_ROLE}))

__all__ = ["START"]

_keys = iter(range(10**6, 10**7))


def key() -> str:
    """A fresh idempotency key, as a new interaction id would be."""
    return str(next(_keys))


async def configure(db: Database, now: datetime, guild_id: int = GUILD, **changes: Any) -> None:
    await configure_guild(db, guild_id=guild_id, actor=ADMIN, changes=SetupChanges(**changes), now=now)


@pytest_asyncio.fixture
async def coop_db(db: Database, clock: ManualClock) -> Database:
    """Two cooperatives: ours (Auckland, NZD, every role) and another one."""
    assert clock.now() == START
    await configure(
        db,
        clock.now(),
        governance_channel_id=500,
        member_role_id=MEMBER_ROLE,
        moderator_role_id=MODERATOR_ROLE,
        treasurer_role_id=TREASURER_ROLE,
        contributor_role_id=CONTRIBUTOR_ROLE,
        timezone="Pacific/Auckland",
        currency="NZD",
    )
    await configure(
        db,
        clock.now(),
        OTHER_GUILD,
        governance_channel_id=600,
        member_role_id=OTHER_MEMBER_ROLE,
        treasurer_role_id=OTHER_TREASURER_ROLE,
    )
    return db


@pytest.fixture
def close_hooks(monkeypatch: pytest.MonkeyPatch) -> dict[str, Link]:
    """The table of links for this test, with the real links in it; a test adds its own kind."""
    table = dict(links.links())
    monkeypatch.setattr(links, "links", lambda: table)
    return table


# --- decisions ------------------------------------------------------------------------------------------


def ident(decision: Decision) -> int:
    assert decision.id is not None
    return decision.id


async def propose(
    db: Database, now: datetime, *, actor: Actor = ALICE, guild_id: int = GUILD, **draft: Any
) -> Decision:
    draft.setdefault("title", "Buy a 3D printer")
    return await open_decision(db, guild_id=guild_id, actor=actor, draft=ProposalDraft(**draft), now=now)


async def vote(
    db: Database, decision: Decision, actor: Actor, now: datetime, choice: Any = None, **kw: Any
) -> voting.VoteReceipt:
    return await cast_vote(
        db, guild_id=decision.guild_id, decision_id=ident(decision), actor=actor, now=now, choice=choice, **kw
    )


async def audits(db: Database, action: str | None = None, subject: str | None = None) -> list[AuditEvent]:
    async with db.read() as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if action is not None:
            query = query.where(AuditEvent.action == action)
        if subject is not None:
            query = query.where(AuditEvent.subject == subject)
        return list((await session.exec(query)).all())


# --- funds ----------------------------------------------------------------------------------------------


async def make_fund(db: Database, clock: ManualClock, name: str = "Commons", **draft: Any) -> Fund:
    return await funds.create_fund(
        db, guild_id=GUILD, actor=TESS, draft=FundDraft(name=name, **draft), now=clock.now()
    )


async def deposit(db: Database, clock: ManualClock, fund: Fund, amount: str, member: Actor = ALICE) -> None:
    """Money that arrived, recorded by a treasurer for `member`."""
    await funds.record_contribution(
        db,
        guild_id=GUILD,
        fund=fund.name,
        actor=TESS,
        amount=amount,
        idempotency_key=key(),
        now=clock.now(),
        member_id=member.user_id,
    )


async def ask(
    db: Database, clock: ManualClock, fund: Fund, amount: str, who: Actor = CAROL, **more: Any
) -> funds.RequestReceipt:
    return await funds.request_funds(
        db,
        guild_id=GUILD,
        fund=fund.name,
        actor=who,
        amount_min=amount,
        purpose="Tools",
        now=clock.now(),
        **more,
    )


async def close_at_its_time(db: Database, clock: ManualClock, decision_id: int) -> decisions.ClosedDecision:
    decision = await decisions.get_decision(db, GUILD, decision_id)
    if clock.now() < decision.closes_at:
        clock.set(decision.closes_at + timedelta(seconds=1))
    closed = await close_decision(db, guild_id=GUILD, decision_id=decision_id, eligible=6, now=clock.now())
    assert closed is not None
    return closed


async def approved_by_members(db: Database, clock: ManualClock, fund: Fund, amounts: list[str]) -> list[int]:
    """Requests approved by passing decisions (which, unlike a treasurer, may promise more than is there)."""
    requesters = [ALICE, BOB, CAROL, MO]
    receipts = [await ask(db, clock, fund, amount, requesters[i % 4]) for i, amount in enumerate(amounts)]
    for receipt in receipts:
        assert receipt.decision is not None and receipt.decision.id is not None
        await close_at_its_time(db, clock, receipt.decision.id)
    ids = [receipt.request.id for receipt in receipts]
    assert all(request_id is not None for request_id in ids)
    return [request_id for request_id in ids if request_id is not None]


async def fund_row(db: Database, fund_id: int | None) -> Fund:
    async with db.read() as session:
        row = await session.get(Fund, fund_id)
    assert row is not None
    return row


async def request_row(db: Database, request_id: int | None) -> FundingRequest:
    async with db.read() as session:
        row = await session.get(FundingRequest, request_id)
    assert row is not None
    return row


async def entries(db: Database, fund_id: int | None = None) -> list[LedgerEntry]:
    async with db.read() as session:
        query = select(LedgerEntry).order_by(col(LedgerEntry.id))
        if fund_id is not None:
            query = query.where(LedgerEntry.fund_id == fund_id)
        return list((await session.exec(query)).all())


async def snapshot(db: Database) -> dict[str, Any]:
    """Everything funds can change, to prove a refusal changed nothing."""
    async with db.read() as session:
        result: dict[str, Any] = {}
        for model in (Fund, Contribution, FundingRequest, LedgerEntry, Decision, AuditEvent):
            rows = (await session.exec(select(model))).all()
            result[str(model.__tablename__)] = sorted(repr(row.model_dump()) for row in rows)
        return result


async def totals(db: Database, fund: Fund) -> funds.FundTotals:
    _, found = await funds.fund_totals(db, GUILD, fund.name)
    return found


# --- databases reused across examples -------------------------------------------------------------


async def truncate_all(url: str) -> None:
    database = Database.from_url(url)
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    async with database.engine.begin() as connection:
        # Replica mode skips the ledger's append-only triggers, which are for the application.
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await database.dispose()


T = TypeVar("T")


class DatabaseMachine(RuleBasedStateMachine):
    """A hypothesis state machine with a fresh, migrated database for each example: a copy of the template
    on SQLite, the test database emptied on PostgreSQL. Its steps run on its own event loop."""

    template_url: str = ""
    prefix = "props"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder: str | None = None
        if PG_URL:
            url = self.template_url
            self.run(truncate_all(url))
        else:
            self.folder = tempfile.mkdtemp(prefix=f"{self.prefix}-")
            target = Path(self.folder) / f"{self.prefix}.db"
            shutil.copyfile(self.template_url.removeprefix("sqlite+aiosqlite:///"), target)
            url = f"sqlite+aiosqlite:///{target}"
        self.db = Database.from_url(url)
        self.clock = ManualClock(START)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)
