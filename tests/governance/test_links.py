"""Linked decisions close the same way whatever is imported: the table of links is explicit, and a kind that
nothing carries out is an error, never silently skipped."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest
from sqlmodel import select

from governance import decisions, links
from governance.clock import ManualClock
from governance.errors import NotAllowed
from governance.proposing import ProposalDraft, open_decision_in
from governance.voting import cast_vote
from storage.database import Database
from storage.models import Decision, DecisionStatus, FundingRequest
from tests.governance.helpers import ALICE, BOB, GUILD, MO, ask, coop_db, deposit, make_fund

__all__ = ["coop_db"]  # test_funds's cooperative (with treasurers), not the one of governance/conftest.py

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: only governance.decisions (and storage) is imported before the close.
CLOSE_ALONE = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime, timedelta
    from governance import decisions
    from storage.database import Database

    async def main(url, decision_id):
        db = Database.from_url(url)
        try:
            decision = await decisions.get_decision(db, {guild}, decision_id)
            assert "governance.funds" not in sys.modules, "imported before the close"
            now = decision.closes_at + timedelta(seconds=1)
            closed = await decisions.close_decision(
                db, guild_id={guild}, decision_id=decision_id, eligible=6, now=now
            )
            print(closed.result.passed if closed else "not closed")
        finally:
            await db.dispose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


async def test_a_request_is_decided_by_its_close_when_only_the_decision_module_is_imported(
    coop_db: Database, clock: ManualClock, database_url: str
) -> None:
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "500")
    receipt = await ask(coop_db, clock, fund, "120")
    assert receipt.decision is not None and receipt.decision.id is not None
    for voter in (ALICE, BOB):
        await cast_vote(
            coop_db,
            guild_id=GUILD,
            decision_id=receipt.decision.id,
            actor=voter,
            now=clock.now(),
            typed="no_objection",
        )

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLOSE_ALONE.format(guild=GUILD),
        database_url,
        str(receipt.decision.id),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == "True"
    async with coop_db.read() as session:
        request = (
            await session.exec(select(FundingRequest).where(FundingRequest.id == receipt.request.id))
        ).one()
    assert (request.status, request.approved_amount) == ("approved", 12000)


async def _linked_to(db: Database, clock: ManualClock, kind: str) -> Decision:
    async with db.write() as session:
        return await open_decision_in(
            session,
            guild_id=GUILD,
            author_id=ALICE.user_id,
            draft=ProposalDraft(title="About something unknown", kind="consent"),
            now=clock.now(),
            link=(kind, 7),
        )


async def test_a_close_linked_to_an_unknown_kind_fails_loudly_and_leaves_the_decision_open(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await _linked_to(coop_db, clock, "no_such_kind")
    assert decision.id is not None
    with pytest.raises(links.UnknownLink, match="no_such_kind"):
        await decisions.close_decision(
            coop_db, guild_id=GUILD, decision_id=decision.id, eligible=3, now=decision.closes_at
        )
    with pytest.raises(links.UnknownLink, match="no_such_kind"):
        await decisions.close_decision(
            coop_db, guild_id=GUILD, decision_id=decision.id, eligible=3, now=clock.now(), actor=MO
        )
    assert (await decisions.get_decision(coop_db, GUILD, decision.id)).status == DecisionStatus.OPEN


def test_start_up_checks_every_link_kind_of_the_open_decisions() -> None:
    links.check_known(["fund_request", "admission", "charter", None])
    with pytest.raises(links.UnknownLink, match="bucket, no_such_kind"):
        links.check_known(["fund_request", "no_such_kind", "bucket"])


async def test_a_request_decision_runs_its_full_time_even_for_a_moderator(
    coop_db: Database, clock: ManualClock
) -> None:
    fund = await make_fund(coop_db, clock)
    receipt = await ask(coop_db, clock, fund, "120")
    assert receipt.decision is not None and receipt.decision.id is not None
    with pytest.raises(NotAllowed, match="runs its full time"):
        await decisions.close_decision(
            coop_db, guild_id=GUILD, decision_id=receipt.decision.id, eligible=6, now=clock.now(), actor=MO
        )
