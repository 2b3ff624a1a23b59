"""Funding rounds against a real database: the pot leaves and returns through the ledger, allocations,
buckets funded and refunded, the close, the members' decision on holding a round, and the races."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select

from governance import funds, rounds
from governance.clock import ManualClock
from governance.decisions import close_decision
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.permissions import Actor
from governance.register import register
from governance.rounds import RoundDraft
from governance.voting import cast_vote
from storage.database import Database
from storage.models import (
    AuditEvent,
    Bucket,
    BucketFunding,
    BucketFundingEvent,
    FundingRequest,
    LedgerEntry,
    Round,
    RoundAllocation,
)
from tests.governance.helpers import (
    ALICE,
    BOB,
    CAROL,
    GUILD,
    MEMBER_ROLE,
    MO,
    OTHER_GUILD,
    OTTO,
    TESS,
    coop_db,
    deposit,
    key,
    make_fund,
)

__all__ = ["coop_db"]  # test_funds's cooperative (NZD, treasurers), not the one of governance/conftest.py

PEOPLE = [ALICE, BOB, CAROL]


async def make_round(db: Database, clock: ManualClock, pot: str = "300", **draft: Any) -> Round:
    fund = await make_fund(db, clock, name=draft.pop("fund_name", "Commons"))
    await deposit(db, clock, fund, draft.pop("deposit", "1000"))
    values: dict[str, Any] = {
        "title": "Spring round",
        "fund": fund.name,
        "pot": pot,
        "ideas": "2d",
        "funding": "5d",
    }
    values.update(draft)
    receipt = await rounds.create_round(
        db, guild_id=GUILD, actor=TESS, draft=RoundDraft(**values), now=clock.now()
    )
    return receipt.round


async def bucket(
    db: Database, clock: ManualClock, round_: Round, who: Actor = ALICE, budget: str = "Timber: 100 to 150"
) -> Bucket:
    made = await rounds.propose_bucket(
        db,
        guild_id=GUILD,
        round_id=round_.id or 0,
        actor=who,
        title=f"Shed by {who.user_id}",
        description="",
        budget=budget,
        now=clock.now(),
    )
    return await rounds.open_bucket(db, guild_id=GUILD, bucket_id=made.id or 0, actor=MO, now=clock.now())


async def start_funding(
    db: Database, clock: ManualClock, round_: Round, people: list[Actor] = PEOPLE
) -> Round:
    clock.set(round_.funding_opens_at)
    opened = await rounds.open_funding(
        db, guild_id=GUILD, round_id=round_.id or 0, recipients=[p.user_id for p in people], now=clock.now()
    )
    assert opened is not None
    return opened


async def fund(
    db: Database, clock: ManualClock, who: Actor, target: Bucket, amount: str
) -> rounds.FundingReceipt:
    return await rounds.fund_bucket(
        db,
        guild_id=GUILD,
        bucket_id=target.id or 0,
        actor=who,
        amount=amount,
        idempotency_key=key(),
        now=clock.now(),
    )


async def in_round(db: Database, round_id: int) -> dict[str, int]:
    """Where the pot is: not allocated, held unspent by people, in buckets (they must add up to the pot)."""
    async with db.read() as session:
        round_ = (await session.exec(select(Round).where(Round.id == round_id))).one()
        allocations = (
            await session.exec(select(RoundAllocation).where(RoundAllocation.round_id == round_id))
        ).all()
        buckets = (await session.exec(select(Bucket).where(Bucket.round_id == round_id))).all()
        held = (
            await session.exec(
                select(func.coalesce(func.sum(BucketFunding.amount), 0)).where(
                    BucketFunding.round_id == round_id
                )
            )
        ).one()
    return {
        "unallocated": round_.pot - round_.allocated,
        "unspent": sum(a.allocated - a.spent for a in allocations),
        "in_buckets": sum(b.funded for b in buckets),
        "held": int(held),
        "allocated": sum(a.allocated for a in allocations),
        "round_allocated": round_.allocated,
        "pot": round_.pot,
    }


def assert_books(state: dict[str, int]) -> None:
    assert state["unallocated"] + state["unspent"] + state["in_buckets"] == state["pot"], state
    assert state["held"] == state["in_buckets"], state
    assert state["allocated"] == state["round_allocated"], state


# --- a round's life -----------------------------------------------------------------------------------


async def test_a_round_sets_its_pot_aside_on_the_ledger_and_opens_funding_with_equal_shares(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock, pot="301", guidelines=("Local", "Open to all"))
    assert (round_.phase, round_.pot, round_.currency, round_.guidelines) == (
        "ideas",
        30100,
        "NZD",
        ["Local", "Open to all"],
    )
    _, totals = await funds.fund_totals(coop_db, GUILD, "Commons")
    assert (totals.balance, totals.available) == (100000 - 30100, 100000 - 30100)
    async with coop_db.read() as session:
        entry = (await session.exec(select(LedgerEntry).where(LedgerEntry.kind == "round_pot"))).one()
    assert (entry.amount, entry.reference) == (-30100, f"round #{round_.id}")

    # Funding cannot open before its time; then everyone gets 301 / 3 = 100.33, the cent left over stays.
    assert (
        await rounds.open_funding(
            coop_db, guild_id=GUILD, round_id=round_.id or 0, recipients=[1], now=clock.now()
        )
        is None
    )
    opened = await start_funding(coop_db, clock, round_)
    assert (opened.phase, opened.per_member, opened.allocated) == ("funding", 10033, 30099)
    state = await in_round(coop_db, round_.id or 0)
    assert state["unallocated"] == 1
    assert_books(state)
    # Opening twice gives nothing twice.
    assert (
        await rounds.open_funding(
            coop_db, guild_id=GUILD, round_id=round_.id or 0, recipients=[9], now=clock.now()
        )
        is None
    )


async def test_a_round_is_refused_beyond_what_the_fund_has_available_and_to_members(
    coop_db: Database, clock: ManualClock
) -> None:
    with pytest.raises(Conflict, match="available"):
        await make_round(coop_db, clock, pot="2000")
    fund = await funds.get_fund(coop_db, GUILD, "Commons")
    with pytest.raises(NotAllowed, match="treasurers or moderators"):
        await rounds.create_round(
            coop_db,
            guild_id=GUILD,
            actor=ALICE,
            draft=RoundDraft(title="Mine", fund=fund.name, pot="10", ideas="1d", funding="1d"),
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match="at least an hour"):
        await rounds.create_round(
            coop_db,
            guild_id=GUILD,
            actor=TESS,
            draft=RoundDraft(title="Quick", fund=fund.name, pot="10", ideas="1d", funding="30m"),
            now=clock.now(),
        )
    with pytest.raises(InvalidInput):
        await rounds.create_round(
            coop_db,
            guild_id=GUILD,
            actor=TESS,
            draft=RoundDraft(title="Odd", fund=fund.name, pot="12,5", ideas="1d", funding="2d"),
            now=clock.now(),
        )
    async with coop_db.read() as session:
        assert (await session.exec(select(func.count()).select_from(Round))).one() == 0


async def test_funding_buckets_and_the_close_fund_some_refund_others_and_return_the_pot(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock)
    shed = await bucket(coop_db, clock, round_, ALICE, "Timber: 100 to 150")
    oven = await bucket(coop_db, clock, round_, BOB, "Bricks: 80\nFlue: 40")
    await start_funding(coop_db, clock, round_)  # 100.00 each

    first = await fund(coop_db, clock, BOB, shed, "60")
    assert (first.moved, first.yours, first.remaining) == (6000, 6000, 4000)
    await fund(coop_db, clock, CAROL, shed, "50")
    await fund(coop_db, clock, ALICE, oven, "30")
    taken = await rounds.withdraw_from_bucket(
        coop_db,
        guild_id=GUILD,
        bucket_id=oven.id or 0,
        actor=ALICE,
        amount="10",
        idempotency_key=key(),
        now=clock.now(),
    )
    assert (taken.moved, taken.yours, taken.remaining) == (-1000, 2000, 8000)
    assert_books(await in_round(coop_db, round_.id or 0))

    clock.set(round_.funding_closes_at)
    closed = await rounds.close_round(coop_db, guild_id=GUILD, round_id=round_.id or 0, now=clock.now())
    assert closed is not None
    assert [b.id for b in closed.funded] == [shed.id] and [b.id for b in closed.unfunded] == [oven.id]
    assert (closed.spent, closed.returned, closed.funders[shed.id or 0]) == (11000, 19000, 2)
    request = closed.requests[0]
    assert (request.status, request.approved_amount, request.requester_id) == (
        "approved",
        11000,
        ALICE.user_id,
    )
    # The pot came back whole; the shed's 110.00 is now promised to an approved request.
    _, totals = await funds.fund_totals(coop_db, GUILD, "Commons")
    assert (totals.balance, totals.committed, totals.available) == (100000, 11000, 89000)
    # The oven's funders got their money back (a refund event each), then the round ended.
    async with coop_db.read() as session:
        refunds = (await session.exec(select(BucketFundingEvent).where(BucketFundingEvent.delta < 0))).all()
    assert sorted((e.member_id, e.delta) for e in refunds) == [(ALICE.user_id, -2000), (ALICE.user_id, -1000)]
    # The register keeps the round beside the cooperative's decisions, its outcome in words.
    entries, total = await register(coop_db, GUILD)
    assert total == 1
    assert (entries[0].label, entries[0].title, entries[0].outcome) == (
        f"Round #{round_.id}",
        round_.title,
        "1 of 2 buckets funded: 110.00 NZD of the 300.00 NZD pot; 190.00 NZD stays in the fund.",
    )
    assert (await register(coop_db, GUILD, search="BUCKETS FUNDED"))[1] == 1
    # Closing again does nothing; nobody funds after the close.
    assert await rounds.close_round(coop_db, guild_id=GUILD, round_id=round_.id or 0, now=clock.now()) is None
    with pytest.raises(Conflict, match="closed"):
        await fund(coop_db, clock, CAROL, shed, "1")


async def test_the_refusals_of_funding_change_nothing(coop_db: Database, clock: ManualClock) -> None:
    round_ = await make_round(coop_db, clock, own_buckets=False, max_per_bucket="70")
    shed = await bucket(coop_db, clock, round_, ALICE, "Timber: 100 to 130")
    with pytest.raises(Conflict, match="taking ideas"):
        await fund(coop_db, clock, BOB, shed, "10")
    await start_funding(coop_db, clock, round_)
    with pytest.raises(NotAllowed, match="own bucket"):
        await fund(coop_db, clock, ALICE, shed, "10")
    with pytest.raises(Conflict, match=r"at most 70\.00 NZD"):
        await fund(coop_db, clock, BOB, shed, "71")
    with pytest.raises(NotAllowed, match="no allocation"):
        await fund(coop_db, clock, MO, shed, "10")
    with pytest.raises(InvalidInput):
        await fund(coop_db, clock, BOB, shed, "-5")
    with pytest.raises(NotFound):
        await rounds.fund_bucket(
            coop_db,
            guild_id=OTHER_GUILD,
            bucket_id=shed.id or 0,
            actor=OTTO,
            amount="1",
            idempotency_key=key(),
            now=clock.now(),
        )
    await fund(coop_db, clock, BOB, shed, "70")
    await fund(coop_db, clock, CAROL, shed, "50")
    with pytest.raises(Conflict, match=r"needs only 10\.00 NZD more"):
        await fund(coop_db, clock, CAROL, shed, "20")
    with pytest.raises(Conflict, match="left to spend"):
        await fund(coop_db, clock, BOB, await bucket(coop_db, clock, round_, CAROL, "Paint: 50"), "31")
    state = await in_round(coop_db, round_.id or 0)
    assert state["in_buckets"] == 12000
    assert_books(state)


async def test_a_bucket_that_reaches_its_maximum_is_funded_at_once_and_keeps_its_money(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock)
    shed = await bucket(coop_db, clock, round_, ALICE, "Timber: 50 to 80")
    await start_funding(coop_db, clock, round_)
    await fund(coop_db, clock, BOB, shed, "40")
    full = await fund(coop_db, clock, CAROL, shed, "40")
    assert (full.bucket.status, full.bucket.funded) == ("funded", 8000)
    with pytest.raises(Conflict, match="fully funded"):
        await fund(coop_db, clock, ALICE, shed, "1")
    with pytest.raises(Conflict, match="stays"):
        await rounds.withdraw_from_bucket(
            coop_db,
            guild_id=GUILD,
            bucket_id=shed.id or 0,
            actor=BOB,
            amount=None,
            idempotency_key=key(),
            now=clock.now(),
        )
    async with coop_db.read() as session:
        actions = (
            await session.exec(select(AuditEvent.action).where(col(AuditEvent.action).like("bucket.%")))
        ).all()
    assert "bucket.funded" in actions


async def test_a_repeated_click_counts_once(coop_db: Database, clock: ManualClock) -> None:
    round_ = await make_round(coop_db, clock)
    shed = await bucket(coop_db, clock, round_)
    await start_funding(coop_db, clock, round_)
    click = key()
    receipts = await asyncio.gather(
        *(
            rounds.fund_bucket(
                coop_db,
                guild_id=GUILD,
                bucket_id=shed.id or 0,
                actor=BOB,
                amount="5",
                idempotency_key=click,
                now=clock.now(),
            )
            for _ in range(4)
        )
    )
    assert sorted(r.duplicate for r in receipts) == [False, True, True, True]
    assert {r.yours for r in receipts} == {500}
    assert_books(await in_round(coop_db, round_.id or 0))


async def test_a_cancelled_bucket_gives_its_funders_their_money_back(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock)
    shed = await bucket(coop_db, clock, round_, ALICE)
    await start_funding(coop_db, clock, round_)
    await fund(coop_db, clock, BOB, shed, "30")
    await fund(coop_db, clock, CAROL, shed, "20")
    with pytest.raises(NotAllowed):
        await rounds.cancel_bucket(
            coop_db, guild_id=GUILD, bucket_id=shed.id or 0, actor=BOB, now=clock.now()
        )
    cancelled = await rounds.cancel_bucket(
        coop_db, guild_id=GUILD, bucket_id=shed.id or 0, actor=ALICE, now=clock.now()
    )
    assert cancelled.refunds == {BOB.user_id: 3000, CAROL.user_id: 2000}
    assert (cancelled.bucket.status, cancelled.bucket.funded) == ("cancelled", 0)
    overview = await rounds.round_overview(coop_db, GUILD, round_.id or 0, BOB.user_id)
    assert overview.yours is not None and overview.yours.spent == 0
    assert_books(await in_round(coop_db, round_.id or 0))


async def test_treasurers_change_allocations_within_the_pot_and_the_log_keeps_the_amount_before(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock, pot="300", allocation="50")
    await start_funding(coop_db, clock, round_)  # 50.00 each for three: 150.00 of 300.00 given
    shed = await bucket(coop_db, clock, round_)
    await fund(coop_db, clock, BOB, shed, "40")
    with pytest.raises(NotAllowed):
        await rounds.set_allocations(
            coop_db,
            guild_id=GUILD,
            round_id=round_.id or 0,
            actor=BOB,
            member_ids=[BOB.user_id],
            amount="90",
            add=False,
            now=clock.now(),
        )
    with pytest.raises(Conflict, match="can't go below"):
        await rounds.set_allocations(
            coop_db,
            guild_id=GUILD,
            round_id=round_.id or 0,
            actor=TESS,
            member_ids=[BOB.user_id],
            amount="30",
            add=False,
            now=clock.now(),
        )
    with pytest.raises(Conflict, match=r"of a pot of 300\.00 NZD"):
        await rounds.set_allocations(
            coop_db,
            guild_id=GUILD,
            round_id=round_.id or 0,
            actor=TESS,
            member_ids=[ALICE.user_id, MO.user_id],
            amount="100",
            add=True,
            now=clock.now(),
        )
    changes = await rounds.set_allocations(
        coop_db,
        guild_id=GUILD,
        round_id=round_.id or 0,
        actor=TESS,
        member_ids=[BOB.user_id, MO.user_id],
        amount="25",
        add=True,
        now=clock.now(),
    )
    assert [(c.member_id, c.before, c.after) for c in changes] == [
        (BOB.user_id, 5000, 7500),
        (MO.user_id, 0, 2500),
    ]
    async with coop_db.read() as session:
        logged = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.action == "round.allocate").order_by(col(AuditEvent.id))
            )
        ).all()
    assert [(e.actor_id, e.details["before"], e.details["after"]) for e in logged] == [
        (TESS.user_id, 5000, 7500),
        (TESS.user_id, 0, 2500),
    ]
    assert_books(await in_round(coop_db, round_.id or 0))


async def test_a_newcomer_during_funding_gets_the_same_share_while_the_pot_lasts(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock, pot="250", allocation="100")
    await start_funding(coop_db, clock, round_, [ALICE, BOB])
    given = await rounds.allocate_newcomer(
        coop_db, guild_id=GUILD, round_id=round_.id or 0, member_id=CAROL.user_id, now=clock.now()
    )
    assert given == 5000  # only 50.00 of the pot was left
    assert (
        await rounds.allocate_newcomer(
            coop_db, guild_id=GUILD, round_id=round_.id or 0, member_id=CAROL.user_id, now=clock.now()
        )
        == 0
    )
    assert (
        await rounds.allocate_newcomer(
            coop_db, guild_id=GUILD, round_id=round_.id or 0, member_id=MO.user_id, now=clock.now()
        )
        == 0
    )
    assert_books(await in_round(coop_db, round_.id or 0))


async def test_concerns_are_raised_against_a_guideline_and_resolved_by_the_creators(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock, guidelines=("Benefits the commons", "Within a year"))
    shed = await bucket(coop_db, clock, round_, ALICE)
    with pytest.raises(InvalidInput, match="from 1 to 2"):
        await rounds.raise_concern(
            coop_db, guild_id=GUILD, bucket_id=shed.id or 0, actor=BOB, guideline=3, text="?", now=clock.now()
        )
    concern = await rounds.raise_concern(
        coop_db,
        guild_id=GUILD,
        bucket_id=shed.id or 0,
        actor=BOB,
        guideline=2,
        text="Two years of work",
        now=clock.now(),
    )
    with pytest.raises(NotAllowed):
        await rounds.resolve_concern(
            coop_db, guild_id=GUILD, concern_id=concern.id or 0, actor=CAROL, resolution="no", now=clock.now()
        )
    resolved = await rounds.resolve_concern(
        coop_db,
        guild_id=GUILD,
        concern_id=concern.id or 0,
        actor=ALICE,
        resolution="Split into phases",
        now=clock.now(),
    )
    assert (resolved.status, resolved.resolved_by) == ("resolved", ALICE.user_id)
    view = await rounds.bucket_view(coop_db, GUILD, shed.id or 0)
    assert [(c.guideline, c.status) for c in view.concerns] == [(2, "resolved")]


async def test_the_members_decide_whether_to_hold_a_round(coop_db: Database, clock: ManualClock) -> None:
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "500")
    receipt = await rounds.create_round(
        coop_db,
        guild_id=GUILD,
        actor=TESS,
        draft=RoundDraft(
            title="Decided", fund=fund.name, pot="200", ideas="2d", funding="5d", decide_first=True
        ),
        now=clock.now(),
    )
    assert receipt.round.phase == "proposed" and receipt.decision is not None
    _, totals = await funds.fund_totals(coop_db, GUILD, fund.name)
    assert totals.balance == 50000  # no money moves before the members say yes
    for voter in (ALICE, BOB):
        await cast_vote(
            coop_db,
            guild_id=GUILD,
            decision_id=receipt.decision.id or 0,
            actor=voter,
            now=clock.now(),
            typed="no_objection",
        )
    clock.set(receipt.decision.closes_at)
    await close_decision(
        coop_db, guild_id=GUILD, decision_id=receipt.decision.id or 0, eligible=6, now=clock.now()
    )
    opened = await rounds.get_round(coop_db, GUILD, receipt.round.id or 0)
    assert opened.phase == "ideas"
    # The phases keep their lengths, counted from the approval.
    assert opened.funding_opens_at == clock.now() + timedelta(days=2)
    assert opened.funding_closes_at == clock.now() + timedelta(days=7)
    _, totals = await funds.fund_totals(coop_db, GUILD, fund.name)
    assert totals.balance == 30000


async def test_a_cancelled_round_returns_its_pot_and_refunds_everyone(
    coop_db: Database, clock: ManualClock
) -> None:
    round_ = await make_round(coop_db, clock)
    shed = await bucket(coop_db, clock, round_)
    await start_funding(coop_db, clock, round_)
    await fund(coop_db, clock, BOB, shed, "30")
    with pytest.raises(NotAllowed):
        await rounds.cancel_round(
            coop_db, guild_id=GUILD, round_id=round_.id or 0, actor=TESS, now=clock.now()
        )
    cancelled = await rounds.cancel_round(
        coop_db, guild_id=GUILD, round_id=round_.id or 0, actor=MO, now=clock.now()
    )
    assert cancelled.phase == "cancelled"
    _, totals = await funds.fund_totals(coop_db, GUILD, "Commons")
    assert (totals.balance, totals.committed) == (100000, 0)
    async with coop_db.read() as session:
        assert (await session.exec(select(func.count()).select_from(FundingRequest))).one() == 0
    # Nothing was decided: a cancelled round is not in the register.
    assert await register(coop_db, GUILD) == ([], 0)


def test_budget_lines_read_one_way_or_are_refused() -> None:
    assert rounds.parse_budget("Timber: 200\nPaint: 20.50 to 40", "NZD") == [
        {"label": "Timber", "min": 20000, "max": 20000},
        {"label": "Paint", "min": 2050, "max": 4000},
    ]
    for bad in ("", "Timber", "Timber: lots", "Paint: 40 to 20", "Paint: 12,5"):
        with pytest.raises(InvalidInput):
            rounds.parse_budget(bad, "NZD")


# --- races --------------------------------------------------------------------------------------------


async def test_two_hundred_members_clicking_at_once_never_overfund_or_overspend(
    coop_db: Database, clock: ManualClock
) -> None:
    """200 people, 10.00 each, click 5.00 twice on three small buckets at the same moment: the buckets
    stop at their maximum, nobody spends more than they hold, and every acknowledged click is in the books."""
    round_ = await make_round(coop_db, clock, pot="2000", deposit="2000", allocation="10")
    targets = [
        await bucket(coop_db, clock, round_, ALICE, f"Item: 100 to {limit}") for limit in (150, 300, 400)
    ]
    crowd = [Actor(user_id=90_000 + n, role_ids=frozenset({MEMBER_ROLE})) for n in range(200)]
    await start_funding(coop_db, clock, round_, crowd)

    async def click(person: Actor, n: int) -> int:
        try:
            receipt = await fund(coop_db, clock, person, targets[(person.user_id + n) % 3], "5")
        except Conflict:
            return 0
        return receipt.moved

    moved = await asyncio.gather(*(click(person, n) for person in crowd for n in range(2)))
    acknowledged = sum(moved)
    state = await in_round(coop_db, round_.id or 0)
    assert_books(state)
    assert state["in_buckets"] == acknowledged
    async with coop_db.read() as session:
        final = (await session.exec(select(Bucket).where(Bucket.round_id == round_.id))).all()
        spent = (await session.exec(select(RoundAllocation))).all()
        events = (await session.exec(select(func.sum(BucketFundingEvent.delta)))).one()
    assert all(b.funded <= b.max_total for b in final)
    assert [b.funded for b in sorted(final, key=lambda b: b.id or 0)] == [
        15000,
        30000,
        40000,
    ]  # 2000 asked, 850 fit
    assert all(a.spent <= a.allocated for a in spent)
    assert events == acknowledged


async def test_a_closed_round_is_exported_and_published_to_webhooks(
    coop_db: Database, clock: ManualClock, tmp_path: Any
) -> None:
    import json

    from governance import export, webhooks

    round_ = await make_round(coop_db, clock)
    shed = await bucket(coop_db, clock, round_, ALICE, "Timber: 50 to 60")
    await start_funding(coop_db, clock, round_)
    await fund(coop_db, clock, BOB, shed, "60")
    clock.set(round_.funding_closes_at)
    await rounds.close_round(coop_db, guild_id=GUILD, round_id=round_.id or 0, now=clock.now())

    result = await export.export_guild(coop_db, GUILD, tmp_path, clock.now())
    assert (result.rows["rounds"], result.rows["buckets"], result.rows["bucket_contributions"]) == (1, 1, 1)
    exported = json.loads((tmp_path / export.JSON_NAME).read_text())
    assert (
        exported["buckets"][0]["status"] == "funded"
        and exported["round_allocations"][0]["allocated"] == 10000
    )
    async with coop_db.read() as session:
        events = (
            await session.exec(
                select(AuditEvent).where(col(AuditEvent.action).in_(("round.close", "bucket.funded")))
            )
        ).all()
    published = sorted(
        name for event in events if (found := webhooks.published(event)) for name in [found[0]]
    )
    assert published == ["bucket.funded", "round.closed"]


def test_an_export_is_summed_up_in_words_with_plurals() -> None:
    from governance import export

    assert str(
        export.summary({"members": 1, "vote_history": 13, "funds": 1, "funding_requests": 2, "ledger": 0})
    ) == ("1 person, 13 vote changes, 1 fund, 2 funding requests")
    assert str(export.summary({"funds": 0})) == "nothing yet"
    assert set(export.RECORD_WORDS) == {section.name for section in export.SECTIONS}
