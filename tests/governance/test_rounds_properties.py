"""A funding round's books under any sequence of actions (hypothesis state machine, on a real database):
allocate, fund, take back, cancel a bucket, add a newcomer, close. After every step the pot is exactly what
is not allocated, plus what people hold, plus what is in buckets; no bucket passes its maximum, nobody spends
more than they were given, every bucket's money is the sum of its funders' and of their funding events; and
after the close the fund's books hold (the pot back, the funded buckets approved requests)."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import col, func, select

from governance import funds, rounds
from governance.coop import SetupChanges, configure_guild
from governance.errors import DomainError
from governance.permissions import Actor
from storage.models import Bucket, BucketFunding, BucketFundingEvent, FundingRequest, Round, RoundAllocation
from tests.governance.helpers import DatabaseMachine, T

GUILD = 8_000
MEMBER_ROLE, TREASURER_ROLE, MODERATOR_ROLE = 81, 82, 83
PEOPLE = [Actor(user_id=800 + n, role_ids=frozenset({MEMBER_ROLE})) for n in range(4)]
TREASURER = Actor(user_id=810, role_ids=frozenset({MEMBER_ROLE, TREASURER_ROLE}))
MODERATOR = Actor(user_id=811, role_ids=frozenset({MEMBER_ROLE, MODERATOR_ROLE}))
NEWCOMER = 899
POT = 40_000  # 400.00 NZD


class RoundMachine(DatabaseMachine):
    prefix = "rounds-props"

    def __init__(self) -> None:
        super().__init__()
        self.keys = 0
        self.closed = False
        self.round_id = 0
        self.fund_id = 0
        self.buckets: list[int] = []

    def attempt(self, awaitable: Awaitable[T]) -> T | None:
        """An action that may be refused: a refusal is a DomainError and changes nothing (the invariants
        check that); anything else is a bug."""
        try:
            return self.run(awaitable)
        except DomainError:
            return None

    def key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    @initialize(budgets=st.lists(st.tuples(st.integers(1, 150), st.integers(0, 100)), min_size=1, max_size=3))
    def set_up(self, budgets: list[tuple[int, int]]) -> None:
        async def prepare() -> None:
            await configure_guild(
                self.db,
                guild_id=GUILD,
                actor=Actor(user_id=1, manages_guild=True),
                changes=SetupChanges(
                    member_role_id=MEMBER_ROLE,
                    treasurer_role_id=TREASURER_ROLE,
                    moderator_role_id=MODERATOR_ROLE,
                    currency="NZD",
                ),
                now=self.clock.now(),
            )
            fund = await funds.create_fund(
                self.db,
                guild_id=GUILD,
                actor=TREASURER,
                draft=funds.FundDraft(name="Pool"),
                now=self.clock.now(),
            )
            await funds.record_contribution(
                self.db,
                guild_id=GUILD,
                fund=fund.name,
                actor=TREASURER,
                amount="1000",
                idempotency_key="seed",
                now=self.clock.now(),
            )
            receipt = await rounds.create_round(
                self.db,
                guild_id=GUILD,
                actor=TREASURER,
                draft=rounds.RoundDraft(title="Props", fund=fund.name, pot="400", ideas="1d", funding="3d"),
                now=self.clock.now(),
            )
            self.fund_id, self.round_id = fund.id or 0, receipt.round.id or 0
            for low, extra in budgets:
                made = await rounds.propose_bucket(
                    self.db,
                    guild_id=GUILD,
                    round_id=self.round_id,
                    actor=PEOPLE[0],
                    title=f"B{low}",
                    description="",
                    budget=f"Item: {low} to {low + extra}",
                    now=self.clock.now(),
                )
                await rounds.open_bucket(
                    self.db, guild_id=GUILD, bucket_id=made.id or 0, actor=MODERATOR, now=self.clock.now()
                )
                self.buckets.append(made.id or 0)
            self.clock.set(receipt.round.funding_opens_at)
            await rounds.open_funding(
                self.db,
                guild_id=GUILD,
                round_id=self.round_id,
                recipients=[p.user_id for p in PEOPLE],
                now=self.clock.now(),
            )

        self.run(prepare())

    # --- actions (after the close each is refused, and the invariants see that nothing moved) ----------

    @rule(
        person=st.sampled_from(PEOPLE),
        bucket=st.integers(0, 2),
        amount=st.integers(1, 12_000),
        repeat=st.booleans(),
    )
    def fund(self, person: Actor, bucket: int, amount: int, repeat: bool) -> None:
        key = self.key()
        for _ in range(2 if repeat else 1):
            self.attempt(
                rounds.fund_bucket(
                    self.db,
                    guild_id=GUILD,
                    bucket_id=self.buckets[bucket % len(self.buckets)],
                    actor=person,
                    amount=amount,
                    idempotency_key=key,
                    now=self.clock.now(),
                )
            )

    @rule(
        person=st.sampled_from(PEOPLE),
        bucket=st.integers(0, 2),
        amount=st.one_of(st.none(), st.integers(1, 8_000)),
    )
    def withdraw(self, person: Actor, bucket: int, amount: int | None) -> None:
        self.attempt(
            rounds.withdraw_from_bucket(
                self.db,
                guild_id=GUILD,
                bucket_id=self.buckets[bucket % len(self.buckets)],
                actor=person,
                amount=amount,
                idempotency_key=self.key(),
                now=self.clock.now(),
            )
        )

    @rule(
        people=st.lists(st.sampled_from([*PEOPLE, MODERATOR]), min_size=1, max_size=3),
        amount=st.integers(0, 20_000),
        add=st.booleans(),
    )
    def allocate(self, people: list[Actor], amount: int, add: bool) -> None:
        self.attempt(
            rounds.set_allocations(
                self.db,
                guild_id=GUILD,
                round_id=self.round_id,
                actor=TREASURER,
                member_ids=[p.user_id for p in people],
                amount=amount,
                add=add,
                now=self.clock.now(),
            )
        )

    @rule()
    def newcomer(self) -> None:
        self.attempt(
            rounds.allocate_newcomer(
                self.db, guild_id=GUILD, round_id=self.round_id, member_id=NEWCOMER, now=self.clock.now()
            )
        )

    @rule(bucket=st.integers(0, 2))
    def cancel_bucket(self, bucket: int) -> None:
        self.attempt(
            rounds.cancel_bucket(
                self.db,
                guild_id=GUILD,
                bucket_id=self.buckets[bucket % len(self.buckets)],
                actor=MODERATOR,
                now=self.clock.now(),
            )
        )

    @precondition(lambda self: not self.closed)
    @rule(early=st.booleans())
    def close(self, early: bool) -> None:
        round_ = self.run(rounds.get_round(self.db, GUILD, self.round_id))
        if not early:
            self.clock.set(round_.funding_closes_at + timedelta(seconds=1))
        closed = self.run(
            rounds.close_round(
                self.db,
                guild_id=GUILD,
                round_id=self.round_id,
                now=self.clock.now(),
                actor=None if not early else MODERATOR,
            )
        )
        assert closed is not None
        self.closed = True
        assert all(b.funded >= b.min_total for b in closed.funded)
        assert [r.approved_amount for r in closed.requests] == [b.funded for b in closed.funded]

    # --- the books ----------------------------------------------------------------------------------

    @invariant()
    def books_hold(self) -> None:
        if not self.round_id:
            return

        async def read() -> dict[str, Any]:
            async with self.db.read() as session:
                round_ = (await session.exec(select(Round).where(Round.id == self.round_id))).one()
                allocations = (await session.exec(select(RoundAllocation))).all()
                buckets = (await session.exec(select(Bucket))).all()
                held = (await session.exec(select(BucketFunding))).all()
                events = (
                    await session.exec(
                        select(
                            BucketFundingEvent.bucket_id,
                            BucketFundingEvent.member_id,
                            func.sum(BucketFundingEvent.delta),
                        ).group_by(col(BucketFundingEvent.bucket_id), col(BucketFundingEvent.member_id))
                    )
                ).all()
                requests = (await session.exec(select(FundingRequest))).all()
            _, totals = await funds.fund_totals(self.db, GUILD, self.fund_id)
            return {
                "round": round_,
                "allocations": allocations,
                "buckets": buckets,
                "held": held,
                "events": events,
                "requests": requests,
                "totals": totals,
            }

        state = self.run(read())
        round_: Round = state["round"]
        allocations = state["allocations"]
        buckets = state["buckets"]
        assert all(0 <= a.spent <= a.allocated for a in allocations)
        assert sum(a.allocated for a in allocations) == round_.allocated <= round_.pot
        assert all(0 <= b.funded <= b.max_total for b in buckets)
        for bucket in buckets:
            assert bucket.funded == sum(h.amount for h in state["held"] if h.bucket_id == bucket.id), bucket
        held = {(h.bucket_id, h.member_id): h.amount for h in state["held"]}
        assert {(b, m): int(total) for b, m, total in state["events"]} == held
        totals = state["totals"]
        assert totals.consistent
        if round_.phase == "funding":
            in_buckets = sum(b.funded for b in buckets if b.status in ("open", "funded"))
            unspent = sum(a.allocated - a.spent for a in allocations)
            assert (round_.pot - round_.allocated) + unspent + in_buckets == round_.pot
            assert totals.balance == 100_000 - POT
        if round_.phase == "closed":
            funded = [b for b in buckets if b.status == "funded"]
            assert totals.balance == 100_000
            assert totals.committed == sum(b.funded for b in funded)
            assert sorted(r.approved_amount or 0 for r in state["requests"]) == sorted(
                b.funded for b in funded
            )


@pytest.mark.long
def test_any_sequence_of_round_actions_keeps_the_books(migrated_template: str) -> None:
    RoundMachine.template_url = migrated_template
    run_state_machine_as_test(
        RoundMachine,
        settings=settings(
            max_examples=int(os.environ.get("COOPBOT_ROUNDS_EXAMPLES", "10")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
