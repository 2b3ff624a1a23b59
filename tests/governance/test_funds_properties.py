"""Properties of the funds that must hold for any sequence of actions (hypothesis, stateful).

A model of what each action must do runs beside the real governance layer on a real database. After
every step: each fund's balance is the sum of its entries, equals the model's and is never negative; what
is committed is the sum of approved, unpaid requests; no entry was ever changed or removed; and every
action succeeded or was refused exactly as the rules say. Tampering with the ledger is refused by the
database itself.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from governance import decisions, funds, voting
from governance.coop import SetupChanges, configure_guild
from governance.errors import Conflict, DomainError, InvalidInput, NotAllowed
from governance.money import format_amount
from governance.permissions import Actor
from storage.models import Fund, FundingRequest, LedgerEntry
from tests.governance.helpers import DatabaseMachine, T

GUILD = 7_000
MEMBER_ROLE, TREASURER_ROLE = 71, 72
MEMBERS = [Actor(user_id=700 + i, role_ids=frozenset({MEMBER_ROLE})) for i in range(3)]
TREASURERS = [Actor(user_id=710 + i, role_ids=frozenset({MEMBER_ROLE, TREASURER_ROLE})) for i in range(2)]
PEOPLE = MEMBERS + TREASURERS
NZD_LIMIT = 5_000  # 50.00 NZD: the NZD fund's treasurer limit; above it (and in the JPY fund) members decide

Outcome = type[DomainError] | None


@dataclass
class ModelRequest:
    fund_id: int
    requester: int
    low: int
    high: int
    status: str = "pending"
    approved: int | None = None
    decision_id: int | None = None
    expires_at: Any = None
    payout_entry: int | None = None


@dataclass
class ModelEntry:
    fund_id: int
    kind: str
    amount: int
    request_id: int | None
    reversed: bool = False
    row: dict[str, Any] = field(default_factory=dict)  # the entry as first read, to prove it never changes


class FundsMachine(DatabaseMachine):
    prefix = "funds-props"

    contributions = Bundle("contributions")
    requests = Bundle("requests")
    keys = Bundle("keys")

    # --- set-up and tear-down, one fresh database per example -------------------------------------

    def __init__(self) -> None:
        super().__init__()
        self.keys_used = 0
        self.checks = 0
        self.balances: dict[int, int] = {}
        self.currencies: dict[int, str] = {}
        self.model_requests: dict[int, ModelRequest] = {}
        self.model_entries: dict[int, ModelEntry] = {}
        self.model_contributions: dict[int, tuple[int, int, str]] = {}  # id -> fund, amount, status

    def key(self) -> str:
        self.keys_used += 1
        return f"k{self.keys_used}"

    def attempt(self, awaitable: Awaitable[T], expected: Outcome) -> T | None:
        """Run an action and check that it succeeded, or was refused with the expected kind of error."""
        if expected is None:
            return self.run(awaitable)
        with pytest.raises(expected):
            self.run(awaitable)
        return None

    @initialize()
    def set_up(self) -> None:
        async def prepare() -> list[Fund]:
            await configure_guild(
                self.db,
                guild_id=GUILD,
                actor=Actor(user_id=1, manages_guild=True),
                changes=SetupChanges(
                    member_role_id=MEMBER_ROLE, treasurer_role_id=TREASURER_ROLE, currency="NZD"
                ),
                now=self.clock.now(),
            )
            nzd = await funds.create_fund(
                self.db,
                guild_id=GUILD,
                actor=TREASURERS[0],
                draft=funds.FundDraft(name="Pool", policy="treasurer", limit=NZD_LIMIT),
                now=self.clock.now(),
            )
            jpy = await funds.create_fund(
                self.db,
                guild_id=GUILD,
                actor=TREASURERS[0],
                draft=funds.FundDraft(name="Yen", currency="JPY"),
                now=self.clock.now(),
            )
            return [nzd, jpy]

        for fund in self.run(prepare()):
            assert fund.id is not None
            self.balances[fund.id] = 0
            self.currencies[fund.id] = fund.currency
        self.fund_ids = sorted(self.balances)

    # --- helpers ----------------------------------------------------------------------------------

    def typed(self, minor: int, fund_id: int) -> str:
        """How a person would type the amount (with thousands separators, the currency's decimals)."""
        return format_amount(minor, self.currencies[fund_id], with_code=False)

    def committed(self, fund_id: int) -> int:
        return sum(
            r.approved or 0
            for r in self.model_requests.values()
            if r.fund_id == fund_id and r.status == "approved"
        )

    def remember_entry(self, entry: LedgerEntry) -> int:
        assert entry.id is not None and entry.id not in self.model_entries
        self.model_entries[entry.id] = ModelEntry(
            entry.fund_id, entry.kind, entry.amount, entry.request_id, row=entry.model_dump()
        )
        self.balances[entry.fund_id] += entry.amount
        return entry.id

    # --- contributions ------------------------------------------------------------------------------

    @rule(
        target=keys,
        fund=st.integers(0, 1),
        person=st.sampled_from(PEOPLE),
        amount=st.integers(1, 20_000),
    )
    def contribute(self, fund: int, person: Actor, amount: int) -> Any:
        fund_id = self.fund_ids[fund]
        idempotency_key = self.key()
        receipt = self.attempt(
            funds.record_contribution(
                self.db,
                guild_id=GUILD,
                fund=fund_id,
                actor=person,
                amount=self.typed(amount, fund_id),
                idempotency_key=idempotency_key,
                now=self.clock.now(),
            ),
            None,
        )
        assert receipt is not None and not receipt.duplicate
        contribution = receipt.contribution
        assert contribution.id is not None and contribution.amount == amount
        if person in TREASURERS:
            assert receipt.entry is not None and contribution.status == "confirmed"
            self.remember_entry(receipt.entry)
        else:
            assert receipt.entry is None and contribution.status == "pending"
        self.model_contributions[contribution.id] = (fund_id, amount, contribution.status)
        return multiple(idempotency_key) if person in TREASURERS else multiple()

    @rule(
        target=contributions,
        fund=st.integers(0, 1),
        person=st.sampled_from(MEMBERS),
        amount=st.integers(1, 20_000),
    )
    def pledge(self, fund: int, person: Actor, amount: int) -> Any:
        fund_id = self.fund_ids[fund]
        receipt = self.attempt(
            funds.record_contribution(
                self.db,
                guild_id=GUILD,
                fund=fund_id,
                actor=person,
                amount=self.typed(amount, fund_id),
                idempotency_key=self.key(),
                now=self.clock.now(),
            ),
            None,
        )
        assert receipt is not None and receipt.contribution.id is not None
        self.model_contributions[receipt.contribution.id] = (fund_id, amount, "pending")
        return receipt.contribution.id

    @rule(idempotency_key=keys, person=st.sampled_from(TREASURERS))
    def repeat_an_interaction(self, idempotency_key: str, person: Actor) -> None:
        """A double click, or Discord retrying: the same key records nothing more."""
        receipt = self.attempt(
            funds.record_contribution(
                self.db,
                guild_id=GUILD,
                fund=self.fund_ids[0],
                actor=person,
                amount="1",
                idempotency_key=idempotency_key,
                now=self.clock.now(),
            ),
            None,
        )
        assert receipt is not None and receipt.duplicate

    @rule(contribution=contributions, person=st.sampled_from(PEOPLE), confirm=st.booleans())
    def decide_contribution(self, contribution: int, person: Actor, confirm: bool) -> None:
        fund_id, amount, status = self.model_contributions[contribution]
        expected: Outcome = None
        if person not in TREASURERS:
            expected = NotAllowed
        elif status != "pending":
            expected = Conflict
        action = funds.confirm_contribution if confirm else funds.reject_contribution
        receipt = self.attempt(
            action(self.db, guild_id=GUILD, contribution_id=contribution, actor=person, now=self.clock.now()),
            expected,
        )
        if receipt is None:
            return
        self.model_contributions[contribution] = (fund_id, amount, "confirmed" if confirm else "rejected")
        if confirm:
            assert receipt.entry is not None and receipt.entry.amount == amount
            self.remember_entry(receipt.entry)

    # --- requests -----------------------------------------------------------------------------------

    @rule(
        target=requests,
        fund=st.integers(0, 1),
        person=st.sampled_from(PEOPLE),
        low=st.integers(1, 10_000),
        extra=st.one_of(st.none(), st.integers(0, 5_000)),
    )
    def ask(self, fund: int, person: Actor, low: int, extra: int | None) -> Any:
        fund_id = self.fund_ids[fund]
        high = low + (extra or 0)
        receipt = self.attempt(
            funds.request_funds(
                self.db,
                guild_id=GUILD,
                fund=fund_id,
                actor=person,
                amount_min=self.typed(low, fund_id),
                amount_max=None if extra is None else self.typed(high, fund_id),
                purpose="Something useful",
                now=self.clock.now(),
            ),
            None,
        )
        assert receipt is not None and receipt.request.id is not None
        by_treasurer = fund == 0 and high <= NZD_LIMIT
        assert (receipt.decision is None) == by_treasurer
        self.model_requests[receipt.request.id] = ModelRequest(
            fund_id,
            person.user_id,
            low,
            high,
            decision_id=receipt.decision.id if receipt.decision else None,
            expires_at=receipt.request.expires_at,
        )
        return receipt.request.id

    @rule(
        request=requests, person=st.sampled_from(PEOPLE), choose=st.one_of(st.none(), st.integers(0, 16_000))
    )
    def treasurer_approves(self, request: int, person: Actor, choose: int | None) -> None:
        model = self.model_requests[request]
        chosen = model.high if choose is None else choose
        available = self.balances[model.fund_id] - self.committed(model.fund_id)
        expected: Outcome = None
        if person not in TREASURERS or person.user_id == model.requester:
            expected = NotAllowed
        elif model.status != "pending" or model.decision_id is not None:
            expected = Conflict
        elif chosen <= 0 or not model.low <= chosen <= model.high:
            expected = InvalidInput
        elif chosen > available:
            expected = Conflict
        change = self.attempt(
            funds.approve_request(
                self.db,
                guild_id=GUILD,
                request_id=request,
                actor=person,
                now=self.clock.now(),
                amount=None if choose is None else choose,
            ),
            expected,
        )
        if change is not None:
            assert change.request.approved_amount == chosen
            model.status, model.approved = "approved", chosen

    @rule(request=requests, person=st.sampled_from(PEOPLE))
    def treasurer_rejects(self, request: int, person: Actor) -> None:
        model = self.model_requests[request]
        expected: Outcome = None
        if person not in TREASURERS or person.user_id == model.requester:
            expected = NotAllowed
        elif model.status != "pending" or model.decision_id is not None:
            expected = Conflict
        change = self.attempt(
            funds.reject_request(
                self.db, guild_id=GUILD, request_id=request, actor=person, now=self.clock.now()
            ),
            expected,
        )
        if change is not None:
            model.status = "rejected"

    @rule(request=requests, objection=st.booleans())
    def members_decide(self, request: int, objection: bool) -> None:
        """The linked decision closes at its time: passing approves the most asked, failing rejects."""
        model = self.model_requests[request]
        if model.decision_id is None:
            return
        decision = self.run(decisions.get_decision(self.db, GUILD, model.decision_id))
        if decision.status != "open":
            return
        objection = objection and self.clock.now() < decision.closes_at
        if objection:
            self.run(
                voting.cast_vote(
                    self.db,
                    guild_id=GUILD,
                    decision_id=model.decision_id,
                    actor=MEMBERS[0],
                    now=self.clock.now(),
                    typed="objection",
                    reason="not now",
                )
            )
        self.clock.set(max(self.clock.now(), decision.closes_at))
        closed = self.run(
            decisions.close_decision(
                self.db, guild_id=GUILD, decision_id=model.decision_id, eligible=5, now=self.clock.now()
            )
        )
        assert closed is not None
        assert model.status == "pending"
        model.status = "rejected" if objection else "approved"
        model.approved = None if objection else model.high

    @rule(request=requests, person=st.sampled_from(PEOPLE))
    def cancel(self, request: int, person: Actor) -> None:
        model = self.model_requests[request]
        expected: Outcome = None
        if person.user_id != model.requester and person not in TREASURERS:
            expected = NotAllowed
        elif model.status not in ("pending", "approved"):
            expected = Conflict
        change = self.attempt(
            funds.cancel_request(
                self.db, guild_id=GUILD, request_id=request, actor=person, now=self.clock.now()
            ),
            expected,
        )
        if change is not None:
            assert change.cancelled_decision_id == (model.decision_id if model.status == "pending" else None)
            model.status = "cancelled"

    @rule(request=requests, person=st.sampled_from(PEOPLE))
    def pay(self, request: int, person: Actor) -> None:
        model = self.model_requests[request]
        expected: Outcome = None
        if person not in TREASURERS or person.user_id == model.requester:
            expected = NotAllowed
        elif model.status != "approved" or (model.approved or 0) > self.balances[model.fund_id]:
            expected = Conflict
        receipt = self.attempt(
            funds.pay_request(
                self.db,
                guild_id=GUILD,
                request_id=request,
                actor=person,
                reference="ref",
                idempotency_key=self.key(),
                now=self.clock.now(),
            ),
            expected,
        )
        if receipt is not None:
            assert receipt.entry.amount == -(model.approved or 0)
            model.payout_entry = self.remember_entry(receipt.entry)
            model.status = "paid"

    @precondition(lambda self: sum(r.status == "approved" for r in self.model_requests.values()) >= 2)
    @rule(data=st.data())
    def payouts_race(self, data: st.DataObject) -> None:
        """Several approved requests paid at once: the database decides which fit."""
        approved = sorted(
            request_id
            for request_id, r in self.model_requests.items()
            if r.status == "approved" and r.requester != TREASURERS[1].user_id
        )
        if len(approved) < 2:
            return
        chosen = data.draw(st.lists(st.sampled_from(approved), min_size=2, max_size=5, unique=True))

        async def pay(request_id: int) -> funds.PayoutReceipt | None:
            try:
                return await funds.pay_request(
                    self.db,
                    guild_id=GUILD,
                    request_id=request_id,
                    actor=TREASURERS[1],
                    reference="batch",
                    idempotency_key=f"race-{self.key()}",
                    now=self.clock.now(),
                )
            except Conflict:
                return None

        async def race() -> list[funds.PayoutReceipt | None]:
            return list(await asyncio.gather(*(pay(request_id) for request_id in chosen)))

        for request_id, receipt in zip(chosen, self.run(race()), strict=True):
            model = self.model_requests[request_id]
            if receipt is not None:
                model.payout_entry = self.remember_entry(receipt.entry)
                model.status = "paid"
        for request_id in chosen:
            model = self.model_requests[request_id]
            if model.status == "approved":  # refused: it was more than was left when its turn came
                assert (model.approved or 0) > self.balances[model.fund_id]

    @rule()
    def time_passes(self) -> None:
        """A month goes by: requests nobody decided expire (once)."""
        self.clock.advance(timedelta(days=31))
        settled = self.run(funds.settle_due(self.db, self.clock.now()))
        expected = {
            request_id
            for request_id, r in self.model_requests.items()
            if r.status == "pending" and r.decision_id is None and r.expires_at <= self.clock.now()
        }
        assert {s.request.id for s in settled} == expected
        for request_id in expected:
            self.model_requests[request_id].status = "expired"

    # --- corrections and tampering ----------------------------------------------------------------

    @precondition(lambda self: bool(self.model_entries))
    @rule(data=st.data(), person=st.sampled_from(PEOPLE))
    def correct(self, data: st.DataObject, person: Actor) -> None:
        entry = data.draw(st.sampled_from(sorted(self.model_entries)), label="entry")
        model = self.model_entries[entry]
        expected: Outcome = None
        if person not in TREASURERS:
            expected = NotAllowed
        elif model.kind == "reversal" or model.reversed or -model.amount + self.balances[model.fund_id] < 0:
            expected = Conflict
        receipt = self.attempt(
            funds.correct_entry(
                self.db,
                guild_id=GUILD,
                entry_id=entry,
                actor=person,
                reason="mistake",
                idempotency_key=self.key(),
                now=self.clock.now(),
            ),
            expected,
        )
        if receipt is None:
            return
        assert receipt.reversal.amount == -model.amount and receipt.reversal.reverses_entry_id == entry
        model.reversed = True
        self.remember_entry(receipt.reversal)
        if model.kind == "payout" and model.request_id is not None:
            request = self.model_requests[model.request_id]
            if request.status == "paid" and request.payout_entry == entry:
                request.status, request.payout_entry = "approved", None
                assert receipt.reopened_request is not None

    @precondition(lambda self: bool(self.model_entries))
    @rule(
        statement=st.sampled_from(
            ["UPDATE ledger_entries SET amount = amount + 1", "DELETE FROM ledger_entries"]
        )
    )
    def tamper(self, statement: str) -> None:
        async def try_it() -> None:
            async with self.db.write() as session:
                await session.exec(text(statement))  # type: ignore[call-overload]

        with pytest.raises(DBAPIError, match="append-only"):
            self.run(try_it())

    # --- what must always hold ----------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        if not self.balances:
            return

        async def read() -> tuple[list[Fund], list[LedgerEntry], list[FundingRequest]]:
            async with self.db.read() as session:
                found = list((await session.exec(select(Fund))).all())
                rows = list((await session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id)))).all())
                requests = list((await session.exec(select(FundingRequest))).all())
                return found, rows, requests

        found, rows, requests = self.run(read())
        # Entries are never changed or removed, and none appears that the model did not see recorded.
        assert {row.id: row.model_dump() for row in rows} == {i: e.row for i, e in self.model_entries.items()}
        for fund in found:
            assert fund.id is not None
            derived = sum(row.amount for row in rows if row.fund_id == fund.id)
            assert fund.balance == derived == self.balances[fund.id] >= 0
            committed = sum(
                r.approved_amount or 0 for r in requests if r.fund_id == fund.id and r.status == "approved"
            )
            assert committed == self.committed(fund.id)
        assert {r.id: (r.status, r.approved_amount) for r in requests} == {
            i: (m.status, m.approved) for i, m in self.model_requests.items()
        }
        # What people are shown agrees (one fund a step, alternately: the reads cost time).
        self.checks += 1
        fund_id = self.fund_ids[self.checks % len(self.fund_ids)]
        _, totals = self.run(funds.fund_totals(self.db, GUILD, fund_id))
        assert totals.consistent and totals.balance == self.balances[fund_id]
        assert totals.committed == self.committed(fund_id)


@pytest.mark.long
def test_any_sequence_of_fund_actions_keeps_the_books(migrated_template: str) -> None:
    FundsMachine.template_url = migrated_template
    run_state_machine_as_test(
        FundsMachine,
        settings=settings(
            max_examples=int(os.environ.get("COOPBOT_FUNDS_EXAMPLES", "12")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
