"""Pooled funds against a real database: contributions, requests, approvals, payouts, corrections, the
append-only ledger, the races, and another cooperative's funds staying out of reach."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, func, select

from governance import decisions, funds
from governance.clock import ManualClock
from governance.decisions import close_decision
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.funds import FundDraft
from governance.permissions import Actor
from governance.voting import cast_vote
from storage.database import Database
from storage.models import (
    Fund,
    FundingRequest,
    LedgerEntry,
)
from tests.governance.helpers import (
    ALICE,
    BOB,
    CAROL,
    CONNY,
    GUILD,
    MO,
    OTHER_GUILD,
    OTTO,
    TESS,
    TREVOR,
    VIC,
    approved_by_members,
    ask,
    audits,
    close_at_its_time,
    deposit,
    entries,
    fund_row,
    key,
    make_fund,
    request_row,
    snapshot,
    totals,
)

# --- funds ----------------------------------------------------------------------------------------------


async def test_a_treasurer_creates_a_fund_in_the_cooperatives_currency(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock, "  Commons   Fund ", description="For shared tools")

    assert (fund.name, fund.name_key, fund.currency, fund.balance) == (
        "Commons Fund",
        "commons fund",
        "NZD",
        0,
    )
    assert (fund.policy, fund.decision_type, fund.treasurer_limit) == ("decision", "consent", 0)
    [event] = await audits(coop_db, "fund.create")
    assert (event.actor_id, event.subject) == (TESS.user_id, f"fund:{fund.id}")
    # Found by name in any case and spacing, or by number.
    assert (await funds.get_fund(coop_db, GUILD, "COMMONS fund")).id == fund.id
    assert (await funds.get_fund(coop_db, GUILD, f"#{fund.id}")).id == fund.id

    jpy = await make_fund(
        coop_db, clock, "Travel", currency="jpy", policy="treasurer", limit="5,000", decision_type="consensus"
    )
    assert (jpy.currency, jpy.treasurer_limit, jpy.decision_type) == ("JPY", 5000, "consensus")


@pytest.mark.parametrize(
    ("actor", "draft", "error", "message"),
    [
        (ALICE, FundDraft(name="Mine"), NotAllowed, "Only treasurers or moderators"),
        (TESS, FundDraft(name="   "), InvalidInput, "Give the fund a name"),
        (TESS, FundDraft(name="#12"), InvalidInput, "can't be only a number"),
        (TESS, FundDraft(name="x" * 81), InvalidInput, "at most 80"),
        (TESS, FundDraft(name="Gold", currency="XAU"), InvalidInput, "not an ISO 4217"),
        (TESS, FundDraft(name="T", policy="treasurer"), InvalidInput, "give a limit"),
        (TESS, FundDraft(name="T", policy="treasurer", limit="-5"), InvalidInput, "positive"),
        (TESS, FundDraft(name="T", limit="50"), InvalidInput, "only applies"),
        (TESS, FundDraft(name="T", policy="sometimes"), InvalidInput, "decision or treasurer"),
        (TESS, FundDraft(name="T", decision_type="poll"), InvalidInput, "passes or fails"),
    ],
)
async def test_fund_creation_refusals_change_nothing(
    coop_db: Database,
    clock: ManualClock,
    actor: Actor,
    draft: FundDraft,
    error: type[Exception],
    message: str,
):
    before = await snapshot(coop_db)
    with pytest.raises(error, match=message):
        await funds.create_fund(coop_db, guild_id=GUILD, actor=actor, draft=draft, now=clock.now())
    assert await snapshot(coop_db) == before


async def test_fund_names_are_unique_in_a_cooperative_whatever_the_case(
    coop_db: Database, clock: ManualClock
):
    await make_fund(coop_db, clock, "Commons")
    with pytest.raises(Conflict, match="already a fund named Commons"):
        await make_fund(coop_db, clock, "  commons ")
    # Another cooperative may use the same name.
    other = await funds.create_fund(
        coop_db, guild_id=OTHER_GUILD, actor=OTTO, draft=FundDraft(name="Commons"), now=clock.now()
    )
    assert other.currency == "EUR"


# --- contributions --------------------------------------------------------------------------------------


async def test_a_members_contribution_waits_for_a_treasurer_then_reaches_the_ledger_once(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    receipt = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund="commons",
        actor=ALICE,
        amount="50",
        idempotency_key="k1",
        now=clock.now(),
    )
    contribution = receipt.contribution
    assert (contribution.status, contribution.amount, receipt.entry) == ("pending", 5000, None)
    assert (await totals(coop_db, fund)).balance == 0

    # A double click (the same interaction) records once.
    again = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund="commons",
        actor=ALICE,
        amount="50",
        idempotency_key="k1",
        now=clock.now(),
    )
    assert again.duplicate and again.contribution.id == contribution.id
    assert contribution.id is not None

    with pytest.raises(NotAllowed, match="Only treasurers"):
        await funds.confirm_contribution(
            coop_db, guild_id=GUILD, contribution_id=contribution.id, actor=ALICE, now=clock.now()
        )
    confirmed = await funds.confirm_contribution(
        coop_db, guild_id=GUILD, contribution_id=contribution.id, actor=TESS, now=clock.now()
    )
    assert confirmed.entry is not None
    assert (confirmed.entry.amount, confirmed.entry.kind, confirmed.entry.member_id) == (
        5000,
        "contribution",
        101,
    )
    assert confirmed.contribution.status == "confirmed"
    assert confirmed.contribution.ledger_entry_id == confirmed.entry.id
    with pytest.raises(Conflict, match="is confirmed, not pending"):
        await funds.confirm_contribution(
            coop_db, guild_id=GUILD, contribution_id=contribution.id, actor=TREVOR, now=clock.now()
        )
    assert [e.amount for e in await entries(coop_db)] == [5000]
    assert (await totals(coop_db, fund)).balance == 5000 == (await fund_row(coop_db, fund.id)).balance
    assert [len(await audits(coop_db, a)) for a in ("fund.contribution", "fund.contribution.confirm")] == [
        1,
        1,
    ]


async def test_a_treasurer_records_a_contribution_directly_and_members_only_their_own(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    direct = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund=fund.name,
        actor=TESS,
        amount="1,200.50",
        idempotency_key=key(),
        now=clock.now(),
        member_id=BOB.user_id,
        note="bank transfer 2026-11-25",
    )
    assert direct.entry is not None and direct.contribution.status == "confirmed"
    assert (direct.entry.amount, direct.entry.member_id, direct.entry.recorded_by) == (
        120050,
        102,
        TESS.user_id,
    )
    assert direct.entry.reference == "bank transfer 2026-11-25"

    before = await snapshot(coop_db)
    with pytest.raises(NotAllowed, match="for someone else"):
        await funds.record_contribution(
            coop_db,
            guild_id=GUILD,
            fund=fund.name,
            actor=ALICE,
            amount="5",
            idempotency_key=key(),
            now=clock.now(),
            member_id=BOB.user_id,
        )
    for outsider in (VIC, CONNY):
        with pytest.raises(NotAllowed, match="Only members"):
            await funds.record_contribution(
                coop_db,
                guild_id=GUILD,
                fund=fund.name,
                actor=outsider,
                amount="5",
                idempotency_key=key(),
                now=clock.now(),
            )
    assert await snapshot(coop_db) == before


async def test_a_rejected_contribution_never_reaches_the_ledger(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock)
    receipt = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund=fund.name,
        actor=ALICE,
        amount="20",
        idempotency_key=key(),
        now=clock.now(),
    )
    assert receipt.contribution.id is not None
    rejected = await funds.reject_contribution(
        coop_db,
        guild_id=GUILD,
        contribution_id=receipt.contribution.id,
        actor=TESS,
        now=clock.now(),
        reason="Nothing arrived",
    )
    assert rejected.contribution.status == "rejected"
    with pytest.raises(Conflict, match="rejected, not pending"):
        await funds.confirm_contribution(
            coop_db, guild_id=GUILD, contribution_id=receipt.contribution.id, actor=TESS, now=clock.now()
        )
    assert await entries(coop_db) == []
    [event] = await audits(coop_db, "fund.contribution.reject")
    assert event.details["reason"] == "Nothing arrived"


# --- amounts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "positive"),
        ("−5", "positive"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("12.345", "at most 2 decimal places"),
        ("NaN", "not an amount"),
        ("nan", "not an amount"),
        ("inf", "not an amount"),
        ("Infinity", "not an amount"),
        ("-Infinity", "not an amount"),
        ("1e5", "exponent"),
        ("10000000000000", "largest amount"),
        ("1" * 40, "largest amount"),
        ("twelve", "not an amount"),
        ("12,50", "point for decimals"),
        ("€12", "must be in NZD, not €"),
        ("", "Type an amount"),
    ],
)
async def test_every_bad_amount_is_refused_clearly_and_changes_nothing(
    coop_db: Database, clock: ManualClock, typed: str, message: str
):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "100")
    before = await snapshot(coop_db)
    with pytest.raises(InvalidInput, match=message):
        await funds.record_contribution(
            coop_db,
            guild_id=GUILD,
            fund=fund.name,
            actor=ALICE,
            amount=typed,
            idempotency_key=key(),
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match=message):
        await ask(coop_db, clock, fund, typed)
    with pytest.raises(InvalidInput, match=message):
        await ask(coop_db, clock, fund, "5", amount_max=typed)
    assert await snapshot(coop_db) == before


@pytest.mark.parametrize(
    ("currency", "typed", "minor"),
    [
        ("NZD", "12", 1200),
        ("NZD", "12.5", 1250),
        ("NZD", "12.50", 1250),
        ("NZD", "1,200.00", 120000),
        ("JPY", "1,200", 1200),
        ("BHD", "1,012.345", 1012345),
        ("BHD", "0.345", 345),
    ],
)
async def test_amounts_use_the_currencys_minor_units(
    coop_db: Database, clock: ManualClock, currency: str, typed: str, minor: int
):
    fund = await make_fund(coop_db, clock, f"Fund {currency}", currency=currency)
    receipt = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund=fund.name,
        actor=ALICE,
        amount=typed,
        idempotency_key=key(),
        now=clock.now(),
    )
    assert (receipt.contribution.amount, receipt.contribution.currency) == (minor, currency)


async def test_decimals_a_currency_does_not_have_are_refused(coop_db: Database, clock: ManualClock):
    yen = await make_fund(coop_db, clock, "Yen", currency="JPY")
    dinar = await make_fund(coop_db, clock, "Dinar", currency="BHD")
    with pytest.raises(InvalidInput, match="JPY has no minor units"):
        await funds.record_contribution(
            coop_db,
            guild_id=GUILD,
            fund=yen.name,
            actor=ALICE,
            amount="12.5",
            idempotency_key=key(),
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match="at most 3 decimal places"):
        await funds.record_contribution(
            coop_db,
            guild_id=GUILD,
            fund=dinar.name,
            actor=ALICE,
            amount="1.2345",
            idempotency_key=key(),
            now=clock.now(),
        )


# --- requests decided by the members --------------------------------------------------------------------


async def test_a_request_opens_a_linked_decision_that_approves_it_when_it_passes(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock, decision_type="consensus")
    await deposit(coop_db, clock, fund, "500")
    receipt = await ask(coop_db, clock, fund, "120", amount_max="150", details="Quote attached")

    request, decision = receipt.request, receipt.decision
    assert decision is not None and decision.id is not None
    assert (request.status, request.amount_min, request.amount_max, request.decision_id) == (
        "pending",
        12000,
        15000,
        decision.id,
    )
    assert (decision.kind, decision.link_kind, decision.link_id) == ("consensus", "fund_request", request.id)
    assert decision.title == f"Fund request #{request.id}: Tools"
    assert "120.00 NZD to 150.00 NZD" in decision.details and "Quote attached" in decision.details
    assert request.expires_at is None  # the decision decides, not the clock

    for voter in (ALICE, BOB):
        await cast_vote(
            coop_db, guild_id=GUILD, decision_id=decision.id, actor=voter, now=clock.now(), typed="agree"
        )
    closed = await close_at_its_time(coop_db, clock, decision.id)
    assert closed.result.passed is True

    approved = await request_row(coop_db, request.id)
    # Approved for the most asked: amount_max when a range was given.
    assert (approved.status, approved.approved_amount, approved.decided_by) == ("approved", 15000, None)
    found = await totals(coop_db, fund)
    assert (found.balance, found.committed, found.available) == (50000, 15000, 35000)
    [event] = await audits(coop_db, "fund.request.approve")
    assert event.actor_id is None and event.details["decision_id"] == decision.id


async def test_a_requests_proposal_is_written_in_the_cooperatives_language(
    coop_db: Database, clock: ManualClock
):
    # The proposal is posted and kept in the register: its amounts are written the cooperative's way.
    fund = await make_fund(coop_db, clock, currency="EUR")
    await deposit(coop_db, clock, fund, "5000")
    receipt = await ask(coop_db, clock, fund, "1200.50", language="de")

    decision = receipt.decision
    assert decision is not None
    assert "1.200,50\xa0€" in decision.details  # the amount asked, and what it is approved for
    assert "5.000,00\xa0€" in decision.details  # the fund's balance
    assert "1,200.50 EUR" not in decision.details
    assert decision.title.endswith(": Tools")


async def test_a_request_whose_decision_fails_is_rejected_with_the_outcome(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    receipt = await ask(coop_db, clock, fund, "80")
    assert receipt.decision is not None and receipt.decision.id is not None
    await cast_vote(
        coop_db,
        guild_id=GUILD,
        decision_id=receipt.decision.id,
        actor=BOB,
        now=clock.now(),
        typed="objection",
        reason="We just bought tools",
    )
    await close_at_its_time(coop_db, clock, receipt.decision.id)

    rejected = await request_row(coop_db, receipt.request.id)
    assert (rejected.status, rejected.approved_amount) == ("rejected", None)
    assert rejected.decision_note
    assert (await totals(coop_db, fund)).committed == 0


async def test_a_request_decided_by_treasurers_waits_and_expires(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    receipt = await ask(coop_db, clock, fund, "60")
    assert receipt.decision is None
    assert receipt.request.expires_at == clock.now() + funds.REQUEST_LIFETIME
    assert await funds.next_expiry(coop_db) == receipt.request.expires_at

    assert await funds.settle_due(coop_db, clock.now() + timedelta(days=29)) == []
    clock.advance(funds.REQUEST_LIFETIME)
    settled = await funds.settle_due(coop_db, clock.now())
    assert [(s.request.id, s.request.status) for s in settled] == [(receipt.request.id, "expired")]
    assert await funds.settle_due(coop_db, clock.now()) == []  # done once
    assert len(await audits(coop_db, "fund.request.expire")) == 1


async def test_cancelling_a_request_cancels_its_proposal_and_the_reverse(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    first = await ask(coop_db, clock, fund, "10")
    second = await ask(coop_db, clock, fund, "20")
    assert first.decision is not None and second.decision is not None and second.decision.id is not None
    assert first.request.id is not None and second.request.id is not None

    with pytest.raises(NotAllowed, match="Only the requester, a treasurer or a moderator"):
        await funds.cancel_request(
            coop_db, guild_id=GUILD, request_id=first.request.id, actor=BOB, now=clock.now()
        )
    change = await funds.cancel_request(
        coop_db, guild_id=GUILD, request_id=first.request.id, actor=CAROL, now=clock.now(), reason="Found one"
    )
    assert change.request.status == "cancelled" and change.cancelled_decision_id == first.decision.id
    assert change.cancelled_decision_id is not None
    assert (await decisions.get_decision(coop_db, GUILD, change.cancelled_decision_id)).status == "cancelled"
    with pytest.raises(Conflict, match="is cancelled"):
        await funds.cancel_request(
            coop_db, guild_id=GUILD, request_id=first.request.id, actor=CAROL, now=clock.now()
        )

    # The proposal cancelled on its own: the request follows at the next sweep.
    await decisions.cancel_decision(
        coop_db, guild_id=GUILD, decision_id=second.decision.id, actor=MO, now=clock.now()
    )
    settled = await funds.settle_due(coop_db, clock.now())
    assert [(s.request.id, s.request.status) for s in settled] == [(second.request.id, "cancelled")]


async def test_nobody_closes_a_requests_proposal_early_so_nobody_approves_their_own(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    receipt = await ask(coop_db, clock, fund, "100")
    assert receipt.decision is not None and receipt.decision.id is not None
    before = await snapshot(coop_db)
    # The requester (the proposal's author) and a moderator are told the same: a request's proposal runs
    # its full time (not "only a moderator can close it early", which would not be true).
    for closer in (CAROL, MO):
        with pytest.raises(NotAllowed, match=r"runs its full time, until .*: nobody closes it early"):
            await close_decision(
                coop_db,
                guild_id=GUILD,
                decision_id=receipt.decision.id,
                eligible=6,
                now=clock.now(),
                actor=closer,
            )
    assert await snapshot(coop_db) == before
    await close_at_its_time(coop_db, clock, receipt.decision.id)
    assert (await request_row(coop_db, receipt.request.id)).status == "approved"


# --- requests decided by a treasurer --------------------------------------------------------------------


async def test_a_treasurer_approves_within_the_threshold_and_never_above_it(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "1000")
    small = await ask(coop_db, clock, fund, "40", amount_max="100")
    large = await ask(coop_db, clock, fund, "40", amount_max="100.01")
    assert small.decision is None and small.request.id is not None
    assert large.decision is not None and large.request.id is not None  # above the limit: the members decide

    change = await funds.approve_request(
        coop_db,
        guild_id=GUILD,
        request_id=small.request.id,
        actor=TESS,
        now=clock.now(),
        amount="75",
        note="ok",
    )
    assert (change.request.status, change.request.approved_amount, change.request.decided_by) == (
        "approved",
        7500,
        TESS.user_id,
    )
    found = await totals(coop_db, fund)
    assert (found.balance, found.committed, found.available) == (100000, 7500, 92500)

    before = await snapshot(coop_db)
    with pytest.raises(Conflict, match="decided by the members in proposal"):
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=large.request.id, actor=TESS, now=clock.now()
        )
    assert await snapshot(coop_db) == before


async def test_a_treasurer_approval_is_checked_against_the_limit_the_range_and_what_is_available(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "60")
    receipt = await ask(coop_db, clock, fund, "50", amount_max="80")
    assert receipt.request.id is not None
    before = await snapshot(coop_db)
    request_id = receipt.request.id

    with pytest.raises(InvalidInput, match=r"asks for 50\.00 NZD to 80\.00 NZD: approve within that"):
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=request_id, actor=TESS, now=clock.now(), amount="90"
        )
    # The default is the most asked, 80, but only 60 is there.
    with pytest.raises(Conflict, match=r"60\.00 NZD available"):
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=request_id, actor=TESS, now=clock.now()
        )
    with pytest.raises(NotAllowed, match="Only treasurers"):
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=request_id, actor=ALICE, now=clock.now()
        )
    assert await snapshot(coop_db) == before
    approved = await funds.approve_request(
        coop_db, guild_id=GUILD, request_id=request_id, actor=TESS, now=clock.now(), amount="60"
    )
    assert approved.request.approved_amount == 6000
    assert (await totals(coop_db, fund)).available == 0


async def test_nobody_approves_rejects_or_pays_their_own_request(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "100")
    own = await ask(coop_db, clock, fund, "30", who=TESS)
    assert own.request.id is not None
    before = await snapshot(coop_db)
    with pytest.raises(NotAllowed, match="Nobody approves their own request"):
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=own.request.id, actor=TESS, now=clock.now()
        )
    with pytest.raises(NotAllowed, match="your own request"):
        await funds.reject_request(
            coop_db, guild_id=GUILD, request_id=own.request.id, actor=TESS, now=clock.now()
        )
    assert await snapshot(coop_db) == before

    await funds.approve_request(
        coop_db, guild_id=GUILD, request_id=own.request.id, actor=TREVOR, now=clock.now()
    )
    before = await snapshot(coop_db)
    with pytest.raises(NotAllowed, match="Nobody pays their own request"):
        await funds.pay_request(
            coop_db,
            guild_id=GUILD,
            request_id=own.request.id,
            actor=TESS,
            reference="self",
            idempotency_key=key(),
            now=clock.now(),
        )
    assert await snapshot(coop_db) == before


async def test_a_treasurer_rejects_a_request_with_a_reason(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    receipt = await ask(coop_db, clock, fund, "30")
    assert receipt.request.id is not None
    change = await funds.reject_request(
        coop_db,
        guild_id=GUILD,
        request_id=receipt.request.id,
        actor=TESS,
        now=clock.now(),
        reason="Out of scope",
    )
    assert (change.request.status, change.request.decision_note) == ("rejected", "Out of scope")
    with pytest.raises(Conflict, match="rejected, not pending"):
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=receipt.request.id, actor=TESS, now=clock.now()
        )


# --- payouts --------------------------------------------------------------------------------------------


async def test_the_payout_of_an_approved_request_is_recorded_once_with_its_reference(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "200")
    [request_id] = await approved_by_members(coop_db, clock, fund, ["120"])

    receipt = await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=request_id,
        actor=TESS,
        reference="TX-991",
        idempotency_key="pay-1",
        now=clock.now(),
    )
    assert (receipt.request.status, receipt.request.reference) == ("paid", "TX-991")
    assert (receipt.entry.kind, receipt.entry.amount, receipt.entry.request_id) == (
        "payout",
        -12000,
        request_id,
    )
    assert receipt.request.payout_entry_id == receipt.entry.id
    again = await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=request_id,
        actor=TESS,
        reference="TX-991",
        idempotency_key="pay-1",
        now=clock.now(),
    )
    assert again.duplicate and again.entry.id == receipt.entry.id
    with pytest.raises(Conflict, match="is paid; only an approved request is paid"):
        await funds.pay_request(
            coop_db,
            guild_id=GUILD,
            request_id=request_id,
            actor=TREVOR,
            reference="TX-992",
            idempotency_key=key(),
            now=clock.now(),
        )
    found = await totals(coop_db, fund)
    assert (found.balance, found.committed, found.available) == (8000, 0, 8000)
    assert len(await audits(coop_db, "fund.payout")) == 1


async def test_a_payout_that_would_overdraw_is_refused_and_changes_nothing(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "100")
    [request_id] = await approved_by_members(coop_db, clock, fund, ["100.01"])
    before = await snapshot(coop_db)
    with pytest.raises(Conflict, match="would overdraw"):
        await funds.pay_request(
            coop_db,
            guild_id=GUILD,
            request_id=request_id,
            actor=TESS,
            reference="x",
            idempotency_key=key(),
            now=clock.now(),
        )
    assert await snapshot(coop_db) == before


@pytest.mark.parametrize(
    ("seed", "count", "covered"),
    [(1, 12, 3), (2, 12, None), (3, 50, 10)],
    ids=["12 of 30, 3 covered", "12 random", "50 of 10, 10 covered"],
)
async def test_racing_payouts_exactly_the_covered_ones_succeed(
    coop_db: Database, clock: ManualClock, seed: int, count: int, covered: int | None
):
    """Approved requests promise more than the fund holds; all are paid at once. The database decides:
    the balance never goes below zero and every refused payout was more than what was left."""
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "100")
    rng = random.Random(seed)
    fixed = {1: "30", 3: "10"}
    amounts = (
        [fixed[seed]] * count
        if seed in fixed
        else [f"{rng.randint(5, 40)}.{rng.randint(0, 99):02d}" for _ in range(count)]
    )
    request_ids = await approved_by_members(coop_db, clock, fund, amounts)
    assert (await totals(coop_db, fund)).available < 0  # promised more than there is

    async def pay(request_id: int) -> bool:
        try:
            await funds.pay_request(
                coop_db,
                guild_id=GUILD,
                request_id=request_id,
                actor=TESS,
                reference=f"batch {request_id}",
                idempotency_key=key(),
                now=clock.now(),
            )
        except Conflict:
            return False
        return True

    outcomes = await asyncio.gather(*(pay(request_id) for request_id in request_ids))

    rows = {request_id: await request_row(coop_db, request_id) for request_id in request_ids}
    paid = [rows[r].approved_amount or 0 for r, ok in zip(request_ids, outcomes, strict=True) if ok]
    refused = [rows[r].approved_amount or 0 for r, ok in zip(request_ids, outcomes, strict=True) if not ok]
    final = await totals(coop_db, fund)
    assert final.balance == 10000 - sum(paid) >= 0
    assert final.consistent
    assert all(amount > final.balance for amount in refused)
    if covered is not None:
        assert sum(outcomes) == covered
        assert final.balance == 10000 - covered * int(fixed[seed]) * 100
    assert [rows[r].status for r, ok in zip(request_ids, outcomes, strict=True) if ok] == ["paid"] * len(paid)
    assert all(rows[r].status == "approved" for r, ok in zip(request_ids, outcomes, strict=True) if not ok)
    payouts = [e for e in await entries(coop_db, fund.id) if e.kind == "payout"]
    assert sorted(-e.amount for e in payouts) == sorted(paid)
    assert len(await audits(coop_db, "fund.payout")) == len(paid)


async def test_the_same_contribution_recorded_concurrently_is_recorded_once(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)

    async def record() -> funds.ContributionReceipt:
        return await funds.record_contribution(
            coop_db,
            guild_id=GUILD,
            fund=fund.name,
            actor=TESS,
            amount="25",
            idempotency_key="double-click",
            now=clock.now(),
            member_id=ALICE.user_id,
        )

    receipts = await asyncio.gather(*(record() for _ in range(8)))
    assert sum(not receipt.duplicate for receipt in receipts) == 1
    assert {receipt.contribution.id for receipt in receipts} == {receipts[0].contribution.id}
    assert [e.amount for e in await entries(coop_db)] == [2500]
    assert (await fund_row(coop_db, fund.id)).balance == 2500


# --- corrections ----------------------------------------------------------------------------------------


async def test_corrections_are_reversing_entries_that_name_the_entry_and_a_reason(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "100")
    await deposit(coop_db, clock, fund, "40", member=BOB)
    [mistake, kept] = await entries(coop_db)
    assert mistake.id is not None

    with pytest.raises(InvalidInput, match="reason can't be empty"):
        await funds.correct_entry(
            coop_db,
            guild_id=GUILD,
            entry_id=mistake.id,
            actor=TESS,
            reason=" ",
            idempotency_key=key(),
            now=clock.now(),
        )
    with pytest.raises(NotAllowed, match="Only treasurers or moderators"):
        await funds.correct_entry(
            coop_db,
            guild_id=GUILD,
            entry_id=mistake.id,
            actor=ALICE,
            reason="no",
            idempotency_key=key(),
            now=clock.now(),
        )
    receipt = await funds.correct_entry(
        coop_db,
        guild_id=GUILD,
        entry_id=mistake.id,
        actor=MO,
        reason="Recorded twice",
        idempotency_key="fix-1",
        now=clock.now(),
    )
    reversal = receipt.reversal
    assert (reversal.kind, reversal.amount, reversal.reverses_entry_id, reversal.reason) == (
        "reversal",
        -10000,
        mistake.id,
        "Recorded twice",
    )
    assert (await totals(coop_db, fund)).balance == 4000
    again = await funds.correct_entry(
        coop_db,
        guild_id=GUILD,
        entry_id=mistake.id,
        actor=MO,
        reason="Recorded twice",
        idempotency_key="fix-1",
        now=clock.now(),
    )
    assert again.duplicate and again.reversal.id == reversal.id
    assert reversal.id is not None
    with pytest.raises(Conflict, match="already corrected by entry"):
        await funds.correct_entry(
            coop_db,
            guild_id=GUILD,
            entry_id=mistake.id,
            actor=MO,
            reason="again",
            idempotency_key=key(),
            now=clock.now(),
        )
    with pytest.raises(Conflict, match="itself a correction"):
        await funds.correct_entry(
            coop_db,
            guild_id=GUILD,
            entry_id=reversal.id,
            actor=MO,
            reason="undo",
            idempotency_key=key(),
            now=clock.now(),
        )
    # The original entries are untouched.
    assert [(e.id, e.amount) for e in await entries(coop_db)] == [
        (mistake.id, 10000),
        (kept.id, 4000),
        (reversal.id, -10000),
    ]
    assert len(await audits(coop_db, "fund.correction")) == 1


async def test_a_correction_that_would_make_the_balance_negative_is_refused(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "100")
    [request_id] = await approved_by_members(coop_db, clock, fund, ["70"])
    await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=request_id,
        actor=TESS,
        reference="r",
        idempotency_key=key(),
        now=clock.now(),
    )
    contribution, payout = await entries(coop_db)
    assert contribution.id is not None and payout.id is not None
    before = await snapshot(coop_db)
    with pytest.raises(Conflict, match="can't go below zero"):
        await funds.correct_entry(
            coop_db,
            guild_id=GUILD,
            entry_id=contribution.id,
            actor=TESS,
            reason="x",
            idempotency_key=key(),
            now=clock.now(),
        )
    assert await snapshot(coop_db) == before

    # Reversing the payout returns the money and puts the request back to approved, to be paid again.
    receipt = await funds.correct_entry(
        coop_db,
        guild_id=GUILD,
        entry_id=payout.id,
        actor=TESS,
        reason="Bounced",
        idempotency_key=key(),
        now=clock.now(),
    )
    assert receipt.reopened_request is not None and receipt.reopened_request.id == request_id
    request = await request_row(coop_db, request_id)
    assert (request.status, request.payout_entry_id) == ("approved", None)
    found = await totals(coop_db, fund)
    assert (found.balance, found.committed) == (10000, 7000)


# --- the ledger itself ----------------------------------------------------------------------------------


async def test_the_database_refuses_to_change_or_delete_a_ledger_entry(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "10")
    [entry] = await entries(coop_db)
    for statement in (
        text("UPDATE ledger_entries SET amount = 999999"),
        text("UPDATE ledger_entries SET reason = 'edited'"),
        text("DELETE FROM ledger_entries"),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with coop_db.write() as session:
                await session.exec(statement)  # type: ignore[call-overload]
    with pytest.raises(DBAPIError, match="append-only"):
        async with coop_db.write() as session:
            await session.exec(update(LedgerEntry).values(amount=1))
    assert [e.model_dump() for e in await entries(coop_db)] == [entry.model_dump()]


async def test_the_cached_balance_is_checked_against_the_entries(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "10")
    assert (await totals(coop_db, fund)).consistent
    async with coop_db.write() as session:  # what a bug or a hand edit could do
        await session.exec(update(Fund).where(col(Fund.id) == fund.id).values(balance=5))
    found = await totals(coop_db, fund)
    assert (found.balance, found.cached_balance, found.consistent) == (1000, 5, False)
    overview = await funds.fund_overview(coop_db, GUILD, fund.name)
    assert overview.totals.balance == 1000


async def test_the_funds_table_refuses_a_negative_balance(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock)
    with pytest.raises(DBAPIError):
        async with coop_db.write() as session:
            await session.exec(update(Fund).where(col(Fund.id) == fund.id).values(balance=-1))


async def test_ledger_pages_balances_and_the_csv_have_every_entry(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock)
    for i in range(12):
        clock.advance(timedelta(hours=1))
        await deposit(coop_db, clock, fund, f"{i + 1}", member=[ALICE, BOB][i % 2])
    first = (await entries(coop_db))[0]
    assert first.id is not None
    await funds.correct_entry(
        coop_db,
        guild_id=GUILD,
        entry_id=first.id,
        actor=TESS,
        reason="=HYPERLINK(evil)",
        idempotency_key=key(),
        now=clock.now(),
    )

    page = await funds.ledger_page(coop_db, GUILD, fund.name)
    assert (page.total, page.pages, page.page, len(page.entries)) == (13, 2, 0, 10)
    newest = page.entries[0]
    assert newest.kind == "reversal" and page.balance_after[newest.id or 0] == 7800 - 100
    assert page.balance_after[page.entries[1].id or 0] == 7800
    last = await funds.ledger_page(coop_db, GUILD, fund.name, page=5)  # past the end: the last page
    assert (last.page, [e.amount for e in last.entries]) == (1, [300, 200, 100])
    assert last.reversed_by == {first.id: newest.id}
    assert last.balance_after[first.id] == 100
    bobs = await funds.ledger_page(coop_db, GUILD, fund.name, member_id=BOB.user_id)
    assert bobs.total == 6 and all(e.member_id == BOB.user_id for e in bobs.entries)
    reversals = await funds.ledger_page(coop_db, GUILD, fund.name, kind="reversal")
    assert [e.id for e in reversals.entries] == [newest.id]
    with pytest.raises(InvalidInput, match="contribution, payout or reversal"):
        await funds.ledger_page(coop_db, GUILD, fund.name, kind="refund")

    found, exported = await funds.export_ledger(coop_db, GUILD, fund.name)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [int(row["entry"]) for row in rows] == [e.id for e in await entries(coop_db)]
    assert [row["amount"] for row in rows[:2]] == ["1.00", "2.00"]
    assert rows[-1]["amount"] == "-1.00" and rows[-1]["balance_after"] == "77.00"
    assert rows[-1]["reason"] == "'=HYPERLINK(evil)"  # shown by a spreadsheet, never run
    assert sum(int(row["amount_minor_units"]) for row in rows) == (await totals(coop_db, found)).balance


# --- another cooperative --------------------------------------------------------------------------------


async def test_another_cooperatives_fund_request_contribution_and_entry_are_out_of_reach(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "100")
    pending = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund=fund.name,
        actor=ALICE,
        amount="5",
        idempotency_key=key(),
        now=clock.now(),
    )
    request = (await ask(coop_db, clock, fund, "20")).request
    [entry] = await entries(coop_db)
    assert fund.id is not None and request.id is not None and entry.id is not None
    assert pending.contribution.id is not None
    fund_id, request_id, entry_id, contribution_id = fund.id, request.id, entry.id, pending.contribution.id
    before = await snapshot(coop_db)

    async def attempts() -> list[Any]:
        common: dict[str, Any] = {"guild_id": OTHER_GUILD, "actor": OTTO, "now": clock.now()}
        return [
            funds.get_fund(coop_db, OTHER_GUILD, fund_id),
            funds.get_fund(coop_db, OTHER_GUILD, f"#{fund_id}"),
            funds.get_fund(coop_db, OTHER_GUILD, fund.name),
            funds.fund_overview(coop_db, OTHER_GUILD, str(fund_id)),
            funds.ledger_page(coop_db, OTHER_GUILD, fund_id),
            funds.export_ledger(coop_db, OTHER_GUILD, fund_id),
            funds.record_contribution(coop_db, fund=fund_id, amount="5", idempotency_key=key(), **common),
            funds.request_funds(coop_db, fund=f"#{fund_id}", amount_min="5", purpose="x", **common),
            funds.confirm_contribution(coop_db, contribution_id=contribution_id, **common),
            funds.approve_request(coop_db, request_id=request_id, **common),
            funds.reject_request(coop_db, request_id=request_id, **common),
            funds.cancel_request(coop_db, request_id=request_id, **common),
            funds.get_request(coop_db, OTHER_GUILD, request_id),
            funds.pay_request(coop_db, request_id=request_id, reference="x", idempotency_key=key(), **common),
            funds.correct_entry(coop_db, entry_id=entry_id, reason="x", idempotency_key=key(), **common),
        ]

    for attempt in await attempts():
        with pytest.raises(NotFound, match="in this server"):
            await attempt
    # Numbers beyond any id are simply not found (never a database error).
    with pytest.raises(NotFound):
        await funds.get_fund(coop_db, GUILD, "#99999999999999")
    with pytest.raises(NotFound):
        await funds.get_request(coop_db, GUILD, 2**40)
    assert await snapshot(coop_db) == before


async def test_counting_helpers_agree_with_sql(coop_db: Database, clock: ManualClock):
    """committed is the sum of approved, unpaid amounts, whatever the mix of states."""
    fund = await make_fund(coop_db, clock, policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "300")
    ids = []
    for amount in ("10", "20", "30", "40"):
        receipt = await ask(coop_db, clock, fund, amount)
        assert receipt.request.id is not None
        ids.append(receipt.request.id)
    for request_id in ids[:3]:
        await funds.approve_request(
            coop_db, guild_id=GUILD, request_id=request_id, actor=TESS, now=clock.now()
        )
    await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=ids[0],
        actor=TESS,
        reference="r",
        idempotency_key=key(),
        now=clock.now(),
    )
    await funds.cancel_request(coop_db, guild_id=GUILD, request_id=ids[1], actor=CAROL, now=clock.now())
    async with coop_db.read() as session:
        committed = (
            await session.exec(
                select(func.sum(FundingRequest.approved_amount)).where(FundingRequest.status == "approved")
            )
        ).one()
    found = await totals(coop_db, fund)
    assert found.committed == int(committed or 0) == 3000
    assert (found.balance, found.available) == (29000, 26000)
