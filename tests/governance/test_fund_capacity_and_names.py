"""What a fund can hold and what it is called (issue 15): a balance bounded so that no sum overflows a 64-bit
integer, sums that stay exact whatever the rows, names that cannot look like another fund's, and currencies
as ISO lists them now (BGN withdrawn but still read, XAD offered)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from governance import funds, ledger
from governance.clock import ManualClock
from governance.coop import SetupChanges, configure_guild
from governance.errors import Conflict, InvalidInput
from governance.money import MAX_BALANCE, format_amount, max_minor_units
from governance.permissions import Actor
from storage.database import Database
from storage.models import CoopSettings, Fund, FundingRequest, LedgerKind
from tests.governance.helpers import (
    ADMIN,
    ALICE,
    GUILD,
    TESS,
    approved_by_members,
    coop_db,
    deposit,
    entries,
    key,
    make_fund,
    snapshot,
    totals,
)

__all__ = ["coop_db"]  # the fixture, imported so that this module uses test_funds' cooperative

LARGEST_EUR = "1,000,000,000,000"  # the largest amount a member may type, 10**14 cents
FULL = "A fund holds at most 10,000,000,000,000.00 EUR"


async def contribute(db: Database, clock: ManualClock, fund: Fund, amount: str, *, by: Actor = TESS) -> None:
    await funds.record_contribution(
        db,
        guild_id=GUILD,
        fund=fund.name,
        actor=by,
        amount=amount,
        idempotency_key=key(),
        now=clock.now(),
    )


async def full_fund(db: Database, clock: ManualClock, name: str = "Big") -> Fund:
    fund = await make_fund(db, clock, name, currency="EUR")
    for _ in range(MAX_BALANCE // max_minor_units("EUR")):
        await deposit(db, clock, fund, LARGEST_EUR)
    assert (await totals(db, fund)).balance == MAX_BALANCE
    return fund


# --- the balance is bounded -------------------------------------------------------------------------------


async def test_a_fund_holds_at_most_the_bound_and_what_would_pass_it_is_refused_before_any_write(
    coop_db: Database, clock: ManualClock
):
    fund = await full_fund(coop_db, clock)
    before = await snapshot(coop_db)
    with pytest.raises(Conflict) as refused:
        await contribute(coop_db, clock, fund, "0.01")
    assert refused.value.message == (
        f"{FULL} and Big has 10,000,000,000,000.00 EUR: 0.01 EUR more would pass that. Nothing was recorded."
    )
    with pytest.raises(Conflict, match=FULL):  # a member's, which would wait for a treasurer, too
        await contribute(coop_db, clock, fund, "0.01", by=ALICE)
    assert await snapshot(coop_db) == before
    overview = await funds.fund_overview(coop_db, GUILD, fund.name)
    assert (overview.totals.balance, overview.totals.consistent) == (MAX_BALANCE, True)


async def test_one_contribution_of_the_largest_amount_in_four_decimals_passes_the_bound(
    coop_db: Database, clock: ManualClock
):
    """The issue's case: 923 of these made the balance pass 2**63; now not even one fits."""
    fund = await make_fund(coop_db, clock, "Units", currency="CLF")
    with pytest.raises(Conflict) as refused:
        await contribute(coop_db, clock, fund, "1,000,000,000,000 CLF")
    assert refused.value.message == (
        "A fund holds at most 100,000,000,000.0000 CLF and Units has 0.0000 CLF: "
        "1,000,000,000,000.0000 CLF more would pass that. Nothing was recorded."
    )
    await contribute(coop_db, clock, fund, "100,000,000,000 CLF")
    assert (await totals(coop_db, fund)).balance == MAX_BALANCE


async def test_confirming_a_contribution_that_would_pass_the_bound_is_refused(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock, "Big", currency="EUR")
    for _ in range(9):
        await deposit(coop_db, clock, fund, LARGEST_EUR)
    await deposit(coop_db, clock, fund, "999,999,999,999.98")
    await contribute(coop_db, clock, fund, "0.02", by=ALICE)  # fits, and waits for a treasurer
    await deposit(coop_db, clock, fund, "0.01")
    [(pending, _)] = await funds.list_contributions(coop_db, GUILD)
    assert pending.id is not None
    before = await snapshot(coop_db)
    with pytest.raises(Conflict, match=f"{FULL} and Big has 9,999,999,999,999.99 EUR: 0.02 EUR more"):
        await funds.confirm_contribution(
            coop_db, guild_id=GUILD, contribution_id=pending.id, actor=TESS, now=clock.now()
        )
    assert await snapshot(coop_db) == before


async def test_reversing_a_payout_that_would_pass_the_bound_is_refused(coop_db: Database, clock: ManualClock):
    fund = await full_fund(coop_db, clock)
    [request_id] = await approved_by_members(coop_db, clock, fund, ["70"])
    paid = await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=request_id,
        actor=TESS,
        reference="r",
        idempotency_key=key(),
        now=clock.now(),
    )
    await deposit(coop_db, clock, fund, "70")  # full again
    assert paid.entry.id is not None
    before = await snapshot(coop_db)
    with pytest.raises(Conflict, match=f"{FULL} and Big has 10,000,000,000,000.00 EUR: 70.00 EUR more"):
        await funds.correct_entry(
            coop_db,
            guild_id=GUILD,
            entry_id=paid.entry.id,
            actor=TESS,
            reason="Bounced",
            idempotency_key=key(),
            now=clock.now(),
        )
    assert await snapshot(coop_db) == before


async def test_the_database_itself_keeps_the_balance_within_the_bound(coop_db: Database, clock: ManualClock):
    """Even when a balance read earlier is out of date (another contribution came in meanwhile), the
    conditional UPDATE refuses to pass the bound, and the whole transaction is undone."""
    fund = await full_fund(coop_db, clock)
    async with coop_db.write() as session:
        await session.exec(update(Fund).where(col(Fund.id) == fund.id).values(balance=MAX_BALANCE - 1))
    before = await snapshot(coop_db)
    fund.balance = 0  # as read before the other contribution
    with pytest.raises(Conflict, match=FULL):
        async with coop_db.write() as session:
            await ledger.move_balance(session, fund, 2)
    assert await snapshot(coop_db) == before


# --- sums are exact whatever the rows ---------------------------------------------------------------------


async def test_sums_of_many_large_amounts_are_exact_in_any_order(coop_db: Database, clock: ManualClock):
    """A thousand maximal payouts and their money in, stored so that the database meets every positive
    entry before any negative one, and a thousand maximal approved requests: each sum passes 2**63 on the
    way (SQLite's SUM raised "integer overflow"), and comes out exact."""
    fund = await make_fund(coop_db, clock, "Units", currency="CLF")
    assert fund.id is not None
    largest = max_minor_units("CLF")  # 10**16
    start = clock.now()
    async with coop_db.write() as session:
        for index in range(1000):
            for amount, moment in ((largest, start), (-largest, start + timedelta(days=1))):
                session.add(
                    ledger.ledger_entry(
                        fund,
                        kind=LedgerKind.CONTRIBUTION if amount > 0 else LedgerKind.PAYOUT,
                        amount=amount,
                        recorded_by=TESS.user_id,
                        key=key(),
                        now=moment + timedelta(seconds=index),
                    )
                )
            session.add(
                FundingRequest(
                    guild_id=GUILD,
                    fund_id=fund.id,
                    requester_id=ALICE.user_id,
                    amount_min=largest,
                    approved_amount=largest,
                    currency="CLF",
                    purpose="Tools",
                    status="approved",
                    created_at=start,
                    updated_at=start,
                )
            )
    found = await totals(coop_db, fund)
    assert (found.balance, found.committed, found.consistent) == (0, 1000 * largest, True)
    assert found.available == -1000 * largest
    page = await funds.ledger_page(coop_db, GUILD, fund.name)
    assert page.total == 2000 and set(page.balance_after.values()) <= {0, largest}


# --- names that look the same are the same name ------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    [
        "Com\u200bmons",  # zero-width space
        "Commons\u2060",  # word joiner
        "\u202dCommons",  # left-to-right override
        "\u2067Commons\u2069",  # right-to-left isolate
        "Co\u00admmons",  # soft hyphen
        "Commons\ufe0f",  # variation selector
        "Commons\u3164",  # Hangul filler
        "Ｃｏｍｍｏｎｓ",  # full-width letters
        "\U0001d402ommons",  # mathematical bold C
        " commons ",
        "Commons\u00a0",
    ],
)
async def test_a_fund_that_only_looks_like_another_is_refused(
    coop_db: Database, clock: ManualClock, lookalike: str
):
    await make_fund(coop_db, clock, "Commons")
    before = await snapshot(coop_db)
    with pytest.raises(Conflict) as refused:
        await make_fund(coop_db, clock, lookalike)
    assert refused.value.message == "There is already a fund named Commons."
    assert await snapshot(coop_db) == before
    assert (await funds.get_fund(coop_db, GUILD, lookalike)).name == "Commons"


async def test_names_are_stored_without_invisible_characters_and_found_as_typed(
    coop_db: Database, clock: ManualClock
):
    fund = await make_fund(coop_db, clock, "\u202eTravel\u200b  Fund\u2066 ")
    assert (fund.name, fund.name_key) == ("Travel Fund", "travel fund")
    pride = await make_fund(coop_db, clock, "🏳️\u200d🌈 Pride")
    assert pride.name == "🏳️\u200d🌈 Pride"  # an emoji sequence keeps its joiners
    with pytest.raises(Conflict, match="already a fund named 🏳️\u200d🌈 Pride"):
        await make_fund(coop_db, clock, "🏳🌈 pride")
    for typed in ("travel fund", "TRAVEL\u200b FUND", "Travel\u2009Fund"):
        assert (await funds.get_fund(coop_db, GUILD, typed)).id == fund.id
    assert [found.id for found in await funds.suggest_funds(coop_db, GUILD, "tra\u200bvel")] == [fund.id]
    with pytest.raises(InvalidInput, match="Give the fund a name"):
        await make_fund(coop_db, clock, "\u200b\u2060\u3164")
    with pytest.raises(InvalidInput, match="only a number"):
        await make_fund(coop_db, clock, "１２")


async def test_funds_named_before_names_were_normalized_are_still_found(
    coop_db: Database, clock: ManualClock
):
    """A fund stored with its old key (and a lookalike made then) stays reachable by its exact name, and a
    new fund that looks like it is refused."""
    commons = await make_fund(coop_db, clock, "Commons")
    async with coop_db.write() as session:
        for name in ("Com\u200bmons", "Cafe\u0301"):
            old_key = " ".join(name.split()).casefold()
            session.add(
                Fund(
                    guild_id=GUILD,
                    name=name,
                    name_key=old_key,
                    currency="NZD",
                    created_by=TESS.user_id,
                    created_at=clock.now(),
                )
            )
    lookalike = await funds.get_fund(coop_db, GUILD, "Com\u200bmons")
    assert lookalike.name == "Com\u200bmons" and lookalike.id != commons.id
    assert (await funds.get_fund(coop_db, GUILD, "Commons")).id == commons.id
    assert (await funds.get_fund(coop_db, GUILD, "Cafe\u0301")).name == "Cafe\u0301"
    await contribute(coop_db, clock, lookalike, "5")
    assert [entry.fund_id for entry in await entries(coop_db)] == [lookalike.id]
    with pytest.raises(Conflict, match="already a fund named Cafe\u0301"):
        await make_fund(coop_db, clock, "Café")


# --- currencies as ISO lists them -------------------------------------------------------------------------


async def test_bgn_is_refused_for_new_funds_and_as_the_cooperatives_currency(
    coop_db: Database, clock: ManualClock
):
    before = await snapshot(coop_db)
    with pytest.raises(InvalidInput, match="Bulgaria adopted the euro on 1 January 2026: use EUR"):
        await make_fund(coop_db, clock, "Leva", currency="BGN")
    with pytest.raises(InvalidInput, match="BGN is no longer an ISO 4217 currency"):
        await configure_guild(
            coop_db, guild_id=GUILD, actor=ADMIN, changes=SetupChanges(currency="bgn"), now=clock.now()
        )
    assert await snapshot(coop_db) == before
    # A cooperative that chose BGN before keeps it as a setting, but a new fund needs another currency.
    async with coop_db.write() as session:
        await session.exec(update(CoopSettings).where(col(CoopSettings.id) == GUILD).values(currency="BGN"))
    with pytest.raises(InvalidInput, match="BGN is no longer an ISO 4217 currency"):
        await make_fund(coop_db, clock, "Leva")
    assert (await make_fund(coop_db, clock, "Euro", currency="EUR")).currency == "EUR"


async def test_an_existing_bgn_fund_is_still_read_and_used(coop_db: Database, clock: ManualClock):
    async with coop_db.write() as session:
        session.add(
            Fund(
                guild_id=GUILD,
                name="Leva",
                name_key="leva",
                currency="BGN",
                created_by=TESS.user_id,
                created_at=clock.now(),
            )
        )
    fund = await funds.get_fund(coop_db, GUILD, "Leva")
    await contribute(coop_db, clock, fund, "1,200.50 BGN")
    [request_id] = await approved_by_members(coop_db, clock, fund, ["200"])
    await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=request_id,
        actor=TESS,
        reference="r",
        idempotency_key=key(),
        now=clock.now(),
    )
    overview = await funds.fund_overview(coop_db, GUILD, "Leva")
    assert format_amount(overview.totals.balance, fund.currency) == "1,000.50 BGN"
    _, exported = await funds.export_ledger(coop_db, GUILD, "Leva")
    assert ",1200.50,BGN,120050,1200.50," in exported


async def test_a_fund_in_arab_accounting_dinars(coop_db: Database, clock: ManualClock):
    fund = await make_fund(coop_db, clock, "Accounts", currency="xad")
    await contribute(coop_db, clock, fund, "12.50 XAD")
    assert (fund.currency, (await totals(coop_db, fund)).balance) == ("XAD", 1250)
