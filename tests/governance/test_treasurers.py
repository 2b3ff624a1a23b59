"""Money in treasurers' hands (issue 15): a moderator without the treasurer role does not confirm
contributions, approve or reject requests or record payouts, unless the cooperative lets its moderators act
as treasurers; and the ledger refuses to be emptied, TRUNCATE included."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from governance import funds
from governance.clock import ManualClock
from governance.coop import SetupChanges, configure_guild
from governance.errors import NotAllowed
from storage.database import Database
from tests.governance.helpers import (
    ADMIN,
    ALICE,
    CAROL,
    GUILD,
    MO,
    TESS,
    ask,
    coop_db,
    deposit,
    entries,
    key,
    make_fund,
    snapshot,
)

__all__ = ["coop_db"]


async def test_a_moderator_moves_no_money_unless_the_cooperative_allows_it(
    coop_db: Database, clock: ManualClock
) -> None:
    fund = await make_fund(coop_db, clock, "Commons", policy="treasurer", limit="100")
    await deposit(coop_db, clock, fund, "80")
    pending = await funds.record_contribution(
        coop_db,
        guild_id=GUILD,
        fund="Commons",
        actor=ALICE,
        amount="20",
        idempotency_key=key(),
        now=clock.now(),
    )
    assert pending.entry is None and pending.contribution.id is not None
    request = (await ask(coop_db, clock, fund, "30")).request
    assert request.id is not None
    before = await snapshot(coop_db)

    attempts = {
        "confirm": funds.confirm_contribution(
            coop_db, guild_id=GUILD, contribution_id=pending.contribution.id, actor=MO, now=clock.now()
        ),
        "reject contribution": funds.reject_contribution(
            coop_db, guild_id=GUILD, contribution_id=pending.contribution.id, actor=MO, now=clock.now()
        ),
        "approve": funds.approve_request(
            coop_db, guild_id=GUILD, request_id=request.id, actor=MO, now=clock.now()
        ),
        "reject request": funds.reject_request(
            coop_db, guild_id=GUILD, request_id=request.id, actor=MO, now=clock.now()
        ),
        "record for a member": funds.record_contribution(
            coop_db,
            guild_id=GUILD,
            fund="Commons",
            actor=MO,
            amount="5",
            idempotency_key=key(),
            now=clock.now(),
            member_id=ALICE.user_id,
        ),
    }
    for what, attempt in attempts.items():
        with pytest.raises(NotAllowed, match="Only treasurers") as refused:
            await attempt
        if what != "record for a member":  # that refusal names its own rule
            assert "moderators_are_treasurers" in refused.value.message, what
    assert await snapshot(coop_db) == before

    # The cooperative lets its moderators act as treasurers: the same moderator now approves and pays.
    await configure_guild(
        coop_db,
        guild_id=GUILD,
        actor=ADMIN,
        changes=SetupChanges(moderators_are_treasurers=True),
        now=clock.now(),
    )
    confirmed = await funds.confirm_contribution(
        coop_db, guild_id=GUILD, contribution_id=pending.contribution.id, actor=MO, now=clock.now()
    )
    assert confirmed.entry is not None and confirmed.entry.amount == 2000
    await funds.approve_request(coop_db, guild_id=GUILD, request_id=request.id, actor=MO, now=clock.now())
    paid = await funds.pay_request(
        coop_db,
        guild_id=GUILD,
        request_id=request.id,
        actor=MO,
        reference="bank 42",
        idempotency_key=key(),
        now=clock.now(),
    )
    assert paid.entry.amount == -3000
    assert [entry.amount for entry in await entries(coop_db, fund.id)] == [8000, 2000, -3000]


async def test_moderators_still_open_funds_and_correct_mistakes(
    coop_db: Database, clock: ManualClock
) -> None:
    """Opening a fund and reversing a mistake move no new money: moderators keep them (product §3, §5)."""
    fund = await funds.create_fund(
        coop_db, guild_id=GUILD, actor=MO, draft=funds.FundDraft(name="Travel"), now=clock.now()
    )
    await deposit(coop_db, clock, fund, "12.50")
    wrong = (await entries(coop_db, fund.id))[0]
    assert wrong.id is not None
    corrected = await funds.correct_entry(
        coop_db,
        guild_id=GUILD,
        entry_id=wrong.id,
        actor=MO,
        reason="Recorded twice",
        idempotency_key=key(),
        now=clock.now(),
    )
    assert corrected.reversal.amount == -1250
    with pytest.raises(NotAllowed):
        await funds.create_fund(
            coop_db, guild_id=GUILD, actor=CAROL, draft=funds.FundDraft(name="Mine"), now=clock.now()
        )
    assert TESS.user_id != MO.user_id


async def test_the_application_cannot_empty_the_ledger(coop_db: Database, clock: ManualClock) -> None:
    fund = await make_fund(coop_db, clock)
    await deposit(coop_db, clock, fund, "10")
    # PostgreSQL's TRUNCATE skips row triggers; SQLite has none, its truncation is a DELETE without WHERE.
    emptying = "TRUNCATE ledger_entries CASCADE" if not coop_db.is_sqlite else "DELETE FROM ledger_entries"
    with pytest.raises(DBAPIError, match="append-only"):
        async with coop_db.engine.begin() as connection:
            await connection.execute(text(emptying))
    assert len(await entries(coop_db, fund.id)) == 1
