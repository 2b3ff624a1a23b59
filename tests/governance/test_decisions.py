"""Proposals and decisions against a real database: what is stored, what people are told, and the races."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.clock import ManualClock
from governance.decisions import (
    ClosedDecision,
    cancel_decision,
    close_decision,
    current_tally,
    due_decisions,
    extend_decision,
    final_tally,
    get_decision,
    list_open,
    next_closing,
    reasons_given,
    record_outcome,
    reopen_decision,
)
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.links import Link
from governance.permissions import Actor
from governance.proposing import ProposalDraft, open_decision_in
from governance.register import RegisterEntry, register
from governance.tally import TallyResult
from governance.timeparse import add_working_days, working_days_between
from governance.voting import cast_vote, withdraw_vote
from storage.database import Database
from storage.models import AuditEvent, Decision, Member, Vote, VoteEvent
from tests.governance.helpers import (
    ADMIN,
    ALICE,
    AUCKLAND,
    BOB,
    CAROL,
    GUILD,
    MEMBER_ROLE,
    MO,
    OTHER_GUILD,
    OTHER_MEMBER_ROLE,
    OTTO,
    START,
    VIC,
    audits,
    configure,
    ident,
    propose,
    vote,
)

VOTER_ROLE = 15
SIGNIFICANT_FROM_START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # Thursday + 5 working days, Auckland


# --- helpers -------------------------------------------------------------------------------------------


async def votes_of(db: Database, decision_id: int) -> list[Vote]:
    async with db.read() as session:
        query = select(Vote).where(Vote.decision_id == decision_id).order_by(col(Vote.voter_id))
        return list((await session.exec(query)).all())


async def events_of(db: Database, decision_id: int) -> list[VoteEvent]:
    async with db.read() as session:
        query = select(VoteEvent).where(VoteEvent.decision_id == decision_id).order_by(col(VoteEvent.id))
        return list((await session.exec(query)).all())


async def row_counts(db: Database) -> dict[str, int]:
    counts = {}
    async with db.read() as session:
        for model in (Decision, Vote, VoteEvent, AuditEvent, Member):
            counts[model.__name__] = (await session.exec(select(func.count()).select_from(model))).one()
    return counts


async def reload(db: Database, decision: Decision) -> Decision:
    return await get_decision(db, decision.guild_id, ident(decision))


def history(events: list[VoteEvent]) -> list[tuple[int, str, str | None]]:
    return [(event.voter_id, event.action, event.ballot) for event in events]


# --- opening -------------------------------------------------------------------------------------------


async def test_open_uses_guild_default_type_duration_and_member_role(coop_db: Database, clock: ManualClock):
    await configure(coop_db, clock.now(), default_decision_type="sense_check", default_duration="4d")

    decision = await propose(coop_db, clock.now(), details="  For the makerspace.  ")

    stored = await reload(coop_db, decision)
    assert stored.kind == "sense_check"
    assert stored.closes_at == START + timedelta(days=4)
    assert stored.eligible_role_id == MEMBER_ROLE
    assert stored.status == "open"
    assert stored.author_id == ALICE.user_id
    assert stored.opens_at == START
    assert stored.title == "Buy a 3D printer"
    assert stored.details == "For the makerspace."
    assert stored.result is None
    assert stored.closed_at is None


async def test_open_other_kind_gets_its_type_default_not_the_guild_duration(
    coop_db: Database, clock: ManualClock
):
    await configure(coop_db, clock.now(), default_decision_type="consent", default_duration="4d")
    poll = await propose(coop_db, clock.now(), kind="poll", options=("Red", "Blue"))
    assert (await reload(coop_db, poll)).closes_at == START + timedelta(days=3)  # the poll type's default


async def test_significant_opened_thursday_closes_no_sooner_than_five_working_days(
    coop_db: Database, clock: ManualClock
):
    # The guild's default time (1 day) is shorter than Enspiral's minimum for a significant decision.
    await configure(coop_db, clock.now(), default_decision_type="significant", default_duration="1d")

    decision = await propose(coop_db, clock.now())

    stored = await reload(coop_db, decision)
    assert stored.kind == "significant"
    # Thursday 22:00 in Auckland + 5 working days = next Thursday 22:00 in Auckland.
    assert stored.closes_at == SIGNIFICANT_FROM_START
    assert working_days_between(START, stored.closes_at, AUCKLAND) == 5


async def test_working_days_are_counted_in_the_guild_timezone(coop_db: Database, clock: ManualClock):
    await configure(coop_db, clock.now(), default_decision_type="consensus", default_duration="1h")
    # Saturday 12:00 UTC is already Sunday 01:00 in Auckland: the three working days are Mon–Wed there.
    clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))

    decision = await propose(coop_db, clock.now())

    # Thursday 3 December 01:00 NZDT; counted in UTC it would have been Thursday 12:00 UTC instead.
    expected = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert expected == add_working_days(clock.now(), 3, AUCKLAND)
    assert (await reload(coop_db, decision)).closes_at == expected


async def test_open_by_a_non_member_is_refused_and_writes_nothing(coop_db: Database, clock: ManualClock):
    before = await row_counts(coop_db)

    with pytest.raises(NotAllowed) as refused:
        await propose(coop_db, clock.now(), actor=VIC)

    assert refused.value.message == "Only members of the cooperative can do this."
    assert await row_counts(coop_db) == before
    # A member of another cooperative is no member here either.
    with pytest.raises(NotAllowed):
        await propose(coop_db, clock.now(), actor=OTTO)
    assert await row_counts(coop_db) == before


async def test_a_moderator_without_the_member_role_may_open(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), actor=ADMIN)
    assert (await reload(coop_db, decision)).author_id == ADMIN.user_id


async def test_a_title_of_300_characters_is_refused_naming_the_limit(coop_db: Database, clock: ManualClock):
    before = await row_counts(coop_db)

    with pytest.raises(InvalidInput) as refused:
        await propose(coop_db, clock.now(), title="x" * 300)

    assert refused.value.message == "The title is at most 200 characters (yours has 300)."
    assert await row_counts(coop_db) == before
    with pytest.raises(InvalidInput, match="can't be empty"):
        await propose(coop_db, clock.now(), title="   ")
    # Exactly at the limit is fine.
    assert (await reload(coop_db, await propose(coop_db, clock.now(), title="y" * 200))).title == "y" * 200


@pytest.mark.parametrize("options", [(), ("", "   ")])
async def test_an_option_kind_without_options_is_refused(
    coop_db: Database, clock: ManualClock, options: tuple[str, ...]
):
    before = await row_counts(coop_db)

    with pytest.raises(InvalidInput) as refused:
        await propose(coop_db, clock.now(), kind="poll", options=options)

    assert refused.value.message == "A poll vote needs options: give at least two."
    assert await row_counts(coop_db) == before


async def test_a_closing_time_sooner_than_the_minimum_is_refused_with_a_discord_timestamp(
    coop_db: Database, clock: ManualClock
):
    before = await row_counts(coop_db)

    with pytest.raises(InvalidInput) as refused:
        await propose(coop_db, clock.now(), kind="significant", closes="2d")

    message = refused.value.message
    assert "5 working days" in message
    assert f"<t:{int(SIGNIFICANT_FROM_START.timestamp())}:" in message
    assert await row_counts(coop_db) == before

    # The time it names is accepted: Thursday 3 December 22:00 in Auckland.
    accepted = await propose(coop_db, clock.now(), kind="significant", closes="2026-12-03 22:00")
    assert (await reload(coop_db, accepted)).closes_at == SIGNIFICANT_FROM_START


async def test_open_writes_a_decision_open_audit_event(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consent", closes="3d")

    events = await audits(coop_db, "decision.open")
    assert len(events) == 1
    (event,) = events
    assert event.guild_id == GUILD
    assert event.actor_id == ALICE.user_id
    assert event.subject == f"decision:{ident(decision)}"
    assert event.created_at == START
    assert event.details["kind"] == "consent"
    assert event.details["title"] == "Buy a 3D printer"
    assert datetime.fromisoformat(event.details["closes_at"]) == START + timedelta(days=3)


# --- voting --------------------------------------------------------------------------------------------


async def test_cast_then_change_keeps_the_latest_and_the_history(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    did = ident(decision)

    first = await vote(coop_db, decision, BOB, clock.now(), "agree")
    assert (first.ballot, first.description, first.previous, first.unchanged) == (
        "agree",
        "Agree",
        None,
        False,
    )

    clock.advance(timedelta(hours=1))
    second = await vote(coop_db, decision, BOB, clock.now(), " Disagree ")
    assert (second.ballot, second.description, second.previous, second.unchanged) == (
        "disagree",
        "Disagree",
        "agree",
        False,
    )

    (current,) = await votes_of(coop_db, did)
    assert (current.voter_id, current.ballot, current.guild_id) == (BOB.user_id, "disagree", GUILD)
    assert current.cast_at == START
    assert current.updated_at == START + timedelta(hours=1)
    assert history(await events_of(coop_db, did)) == [
        (BOB.user_id, "cast", "agree"),
        (BOB.user_id, "change", "disagree"),
    ]
    now_tally = await current_tally(coop_db, await reload(coop_db, decision), eligible=5)
    assert now_tally.position_counts == {"agree": 0, "abstain": 0, "disagree": 1, "block": 0}


async def test_the_same_ballot_twice_is_unchanged_and_writes_no_history(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    await vote(coop_db, decision, BOB, clock.now(), "agree")

    again = await vote(coop_db, decision, BOB, clock.now() + timedelta(minutes=5), "agree")

    assert again.unchanged is True
    assert again.ballot == "agree"
    assert len(await votes_of(coop_db, ident(decision))) == 1
    assert history(await events_of(coop_db, ident(decision))) == [(BOB.user_id, "cast", "agree")]
    # A new reason on the same ballot is a change.
    with_reason = await vote(coop_db, decision, BOB, clock.now(), "agree", reason="Good price")
    assert with_reason.unchanged is False
    assert [e.action for e in await events_of(coop_db, ident(decision))] == ["cast", "change"]


async def test_withdraw_removes_the_vote_and_records_it(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    await vote(coop_db, decision, BOB, clock.now(), "agree")
    await vote(coop_db, decision, CAROL, clock.now(), "abstain")

    await withdraw_vote(
        coop_db, guild_id=GUILD, decision_id=ident(decision), actor=BOB, now=clock.now() + timedelta(hours=1)
    )

    assert [v.voter_id for v in await votes_of(coop_db, ident(decision))] == [CAROL.user_id]
    events = await events_of(coop_db, ident(decision))
    assert history(events) == [
        (BOB.user_id, "cast", "agree"),
        (CAROL.user_id, "cast", "abstain"),
        (BOB.user_id, "withdraw", None),
    ]
    assert events[-1].at == START + timedelta(hours=1)


async def test_withdrawing_without_a_vote_is_a_conflict(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    before = await row_counts(coop_db)

    with pytest.raises(Conflict) as refused:
        await withdraw_vote(coop_db, guild_id=GUILD, decision_id=ident(decision), actor=BOB, now=clock.now())

    assert refused.value.message == f"You have no vote on #{ident(decision)} to withdraw."
    assert await row_counts(coop_db) == before


async def test_voting_without_the_eligible_role_is_refused_and_writes_nothing(
    coop_db: Database, clock: ManualClock
):
    restricted = await propose(coop_db, clock.now(), kind="consensus", eligible_role_id=VOTER_ROLE)
    default = await propose(coop_db, clock.now(), kind="consensus")
    before = await row_counts(coop_db)

    with pytest.raises(NotAllowed) as refused:
        await vote(coop_db, restricted, BOB, clock.now(), "agree")
    assert refused.value.message == (
        f"Only people with the <@&{VOTER_ROLE}> role can vote on #{ident(restricted)}."
    )
    with pytest.raises(NotAllowed, match=f"<@&{MEMBER_ROLE}>"):
        await vote(coop_db, default, VIC, clock.now(), "agree")
    # A moderator is not a voter by office.
    with pytest.raises(NotAllowed):
        await vote(coop_db, default, ADMIN, clock.now(), "agree")
    assert await row_counts(coop_db) == before

    voter = Actor(user_id=106, role_ids=frozenset({VOTER_ROLE}))
    await vote(coop_db, restricted, voter, clock.now(), "agree")
    assert [v.voter_id for v in await votes_of(coop_db, ident(restricted))] == [voter.user_id]


async def test_voting_after_the_closing_time_is_refused_before_the_close_job_ran(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    await vote(coop_db, decision, BOB, clock.now(), "agree")
    before = await row_counts(coop_db)

    clock.set(decision.closes_at)  # the closing second itself is too late
    with pytest.raises(Conflict) as refused:
        await vote(coop_db, decision, CAROL, clock.now(), "agree")
    assert refused.value.message == f"Voting on proposal #{ident(decision)} has closed."
    clock.advance(timedelta(minutes=1))
    with pytest.raises(Conflict):
        await vote(coop_db, decision, BOB, clock.now(), "block", reason="Changed my mind")
    with pytest.raises(Conflict):
        await withdraw_vote(coop_db, guild_id=GUILD, decision_id=ident(decision), actor=BOB, now=clock.now())

    assert await row_counts(coop_db) == before
    assert (await reload(coop_db, decision)).status == "open"  # nobody closed it yet


async def test_voting_on_a_cancelled_decision_is_a_conflict(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    await cancel_decision(coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, now=clock.now())
    before = await row_counts(coop_db)

    with pytest.raises(Conflict) as refused:
        await vote(coop_db, decision, BOB, clock.now(), "agree")

    assert refused.value.message == f"Proposal #{ident(decision)} was cancelled; it takes no votes."
    assert await row_counts(coop_db) == before


async def test_a_decision_of_another_guild_is_not_found_like_a_missing_one(
    coop_db: Database, clock: ManualClock
):
    ours = await propose(coop_db, clock.now(), kind="consensus")
    theirs = await propose(coop_db, clock.now(), kind="consensus", actor=OTTO, guild_id=OTHER_GUILD)
    before = await row_counts(coop_db)

    with pytest.raises(NotFound) as foreign:
        await cast_vote(
            coop_db, guild_id=GUILD, decision_id=ident(theirs), actor=BOB, now=clock.now(), choice="agree"
        )
    with pytest.raises(NotFound) as missing:
        await cast_vote(
            coop_db, guild_id=GUILD, decision_id=9_999, actor=BOB, now=clock.now(), choice="agree"
        )

    assert foreign.value.message == f"There is no proposal #{ident(theirs)} in this server."
    assert missing.value.message == "There is no proposal #9999 in this server."
    assert foreign.value.message.replace(str(ident(theirs)), "N") == missing.value.message.replace(
        "9999", "N"
    )
    # The other way round, and for the other actions too.
    with pytest.raises(NotFound, match=f"no proposal #{ident(ours)} in this server"):
        await cast_vote(
            coop_db,
            guild_id=OTHER_GUILD,
            decision_id=ident(ours),
            actor=OTTO,
            now=clock.now(),
            choice="agree",
        )
    with pytest.raises(NotFound):
        await withdraw_vote(coop_db, guild_id=GUILD, decision_id=ident(theirs), actor=BOB, now=clock.now())
    with pytest.raises(NotFound):
        await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(theirs), eligible=3, now=clock.now(), actor=MO
        )
    with pytest.raises(NotFound):
        await cancel_decision(coop_db, guild_id=GUILD, decision_id=ident(theirs), actor=MO, now=clock.now())
    with pytest.raises(NotFound):
        await get_decision(coop_db, GUILD, ident(theirs))
    assert await row_counts(coop_db) == before
    assert (await reload(coop_db, theirs)).status == "open"


async def test_a_decision_can_ask_every_voter_for_a_reason(coop_db: Database, clock: ManualClock):
    asking = await propose(coop_db, clock.now(), kind="consensus", reasons_required=True)
    assert asking.reasons_required

    before = await row_counts(coop_db)
    for position in ("agree", "abstain", "disagree"):
        with pytest.raises(InvalidInput) as refused:
            await vote(coop_db, asking, BOB, clock.now(), position, reason="  ")
        assert refused.value.message == (
            f"Proposal #{ident(asking)} asks every voter for a reason: add one to your vote."
        )
    assert await row_counts(coop_db) == before

    receipt = await vote(coop_db, asking, BOB, clock.now(), "agree", reason="It pays for itself")
    assert (receipt.ballot, receipt.unchanged) == ("agree", False)
    assert [(v.ballot, v.reason) for v in await votes_of(coop_db, ident(asking))] == [
        ("agree", "It pays for itself")
    ]
    # Reasons stay optional by default; and a poll can't require them (its buttons ask for choices only).
    await vote(coop_db, await propose(coop_db, clock.now(), kind="consensus"), BOB, clock.now(), "agree")
    with pytest.raises(InvalidInput, match="Reasons can be required where voters take a position"):
        await propose(coop_db, clock.now(), kind="poll", options=("Tea", "Coffee"), reasons_required=True)


async def test_a_block_or_an_objection_needs_a_reason(coop_db: Database, clock: ManualClock):
    consensus = await propose(coop_db, clock.now(), kind="consensus")
    consent = await propose(coop_db, clock.now(), kind="consent")

    with pytest.raises(InvalidInput) as refused:
        await vote(coop_db, consensus, BOB, clock.now(), "block")
    assert refused.value.message == "“Block” needs a reason: say what would have to change."
    with pytest.raises(InvalidInput, match="needs a reason"):
        await vote(coop_db, consensus, BOB, clock.now(), "block", reason="   ")
    with pytest.raises(InvalidInput, match="“Objection” needs a reason"):
        await vote(coop_db, consent, BOB, clock.now(), "objection")
    assert await votes_of(coop_db, ident(consensus)) == []
    assert await events_of(coop_db, ident(consensus)) == []

    with pytest.raises(InvalidInput) as too_long:
        await vote(coop_db, consensus, BOB, clock.now(), "block", reason="x" * 1001)
    assert too_long.value.message == "A reason is at most 1000 characters (yours has 1001)."

    await vote(coop_db, consensus, BOB, clock.now(), "block", reason="  It breaks our budget.  ")
    (stored,) = await votes_of(coop_db, ident(consensus))
    assert (stored.ballot, stored.reason) == ("block", "It breaks our budget.")


async def test_more_choices_than_a_poll_allows_is_refused(coop_db: Database, clock: ManualClock):
    single = await propose(coop_db, clock.now(), kind="poll", options=("Red", "Blue", "Green"))
    double = await propose(coop_db, clock.now(), kind="poll", options=("Red", "Blue", "Green"), max_choices=2)

    with pytest.raises(InvalidInput) as one:
        await vote(coop_db, single, BOB, clock.now(), [0, 1])
    with pytest.raises(InvalidInput) as two:
        await vote(coop_db, double, BOB, clock.now(), [0, 1, 2])

    assert one.value.message == "Choose only one option."
    assert two.value.message == "Choose at most 2 options."
    assert await votes_of(coop_db, ident(single)) == await votes_of(coop_db, ident(double)) == []
    assert (await vote(coop_db, double, BOB, clock.now(), [2, 0])).ballot == "0,2"


async def test_dots_over_the_budget_are_refused(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="dot", options=("Mural", "Bench", "Garden"))

    with pytest.raises(InvalidInput) as refused:
        await vote(coop_db, decision, BOB, clock.now(), {0: 5, 2: 4})

    assert refused.value.message == "You have 8 dots; this ballot spends 9."
    assert await votes_of(coop_db, ident(decision)) == []
    receipt = await vote(coop_db, decision, BOB, clock.now(), {0: 5, 1: 0, 2: 3})
    assert (receipt.ballot, receipt.description) == ("0:5,2:3", "Mural: 5, Garden: 3")


async def test_typed_ballots(coop_db: Database, clock: ManualClock):
    ranked = await propose(coop_db, clock.now(), kind="ranked", options=("A", "B", "C"))
    poll = await propose(coop_db, clock.now(), kind="poll", options=("A", "B", "C"), max_choices=2)
    consent = await propose(coop_db, clock.now(), kind="consent")

    ranking = await vote(coop_db, ranked, BOB, clock.now(), typed="B > A")
    choices = await vote(coop_db, poll, BOB, clock.now(), typed="1, 3")
    position = await vote(coop_db, consent, BOB, clock.now(), typed="No objection")

    assert (ranking.ballot, ranking.description) == ("1,0", "1. B, 2. A")
    assert (choices.ballot, choices.description) == ("0,2", "A, C")
    assert (position.ballot, position.description) == ("no_objection", "No objection")
    assert [v.ballot for v in await votes_of(coop_db, ident(ranked))] == ["1,0"]
    assert [v.ballot for v in await votes_of(coop_db, ident(poll))] == ["0,2"]
    with pytest.raises(InvalidInput, match="Unknown option 'D'"):
        await vote(coop_db, ranked, CAROL, clock.now(), typed="D > A")
    with pytest.raises(InvalidInput, match="There is no option 4"):
        await vote(coop_db, poll, CAROL, clock.now(), typed="4")
    assert len(await votes_of(coop_db, ident(ranked))) == len(await votes_of(coop_db, ident(poll))) == 1


# --- concurrency ---------------------------------------------------------------------------------------


async def test_fifty_concurrent_ballots_of_one_voter_leave_one_vote_matching_the_history(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="score", options=("A", "B", "C"))
    ballots = [{0: i % 6, 1: (i // 6) % 6, 2: i // 36} for i in range(50)]

    await asyncio.gather(*(vote(coop_db, decision, BOB, clock.now(), ballot) for ballot in ballots))

    votes = await votes_of(coop_db, ident(decision))
    events = await events_of(coop_db, ident(decision))
    assert len(votes) == 1
    assert len(events) == 50
    assert [e.action for e in events] == ["cast"] + ["change"] * 49
    assert votes[0].ballot == events[-1].ballot
    assert {e.ballot for e in events} == {f"0:{b[0]},1:{b[1]},2:{b[2]}" for b in ballots}


async def test_a_hundred_concurrent_voters_each_get_one_vote(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    voters = [Actor(user_id=10_000 + i, role_ids=frozenset({MEMBER_ROLE})) for i in range(100)]

    await asyncio.gather(*(vote(coop_db, decision, voter, clock.now(), "agree") for voter in voters))

    votes = await votes_of(coop_db, ident(decision))
    assert sorted(v.voter_id for v in votes) == [voter.user_id for voter in voters]
    assert len(await events_of(coop_db, ident(decision))) == 100
    counted = await current_tally(coop_db, await reload(coop_db, decision), eligible=100)
    assert counted.position_counts["agree"] == 100


async def test_concurrent_scheduled_closes_close_once(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consent")
    await vote(coop_db, decision, BOB, clock.now(), "no_objection")
    clock.set(decision.closes_at + timedelta(seconds=1))

    results = await asyncio.gather(
        *(
            close_decision(coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=4, now=clock.now())
            for _ in range(5)
        )
    )

    assert sum(result is not None for result in results) == 1
    assert len(await audits(coop_db, "decision.close", f"decision:{ident(decision)}")) == 1


async def test_votes_racing_an_early_close_are_either_counted_or_refused(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    voters = [Actor(user_id=20_000 + i, role_ids=frozenset({MEMBER_ROLE})) for i in range(20)]

    async def try_vote(voter: Actor) -> bool:
        try:
            await vote(coop_db, decision, voter, clock.now(), "agree")
        except Conflict:
            return False
        return True

    async def close() -> ClosedDecision | None:
        await asyncio.sleep(0)
        return await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=30, now=clock.now(), actor=ALICE
        )

    racing = await asyncio.gather(*(try_vote(v) for v in voters[:10]), close())
    accepted, closed = [bool(ok) for ok in racing[:-1]], racing[-1]
    late = await asyncio.gather(*(try_vote(v) for v in voters[10:]))

    assert isinstance(closed, ClosedDecision)
    stored = await reload(coop_db, decision)
    assert stored.result is not None
    assert stored.result["ballot_counts"].get("agree", 0) == sum(accepted)
    assert not any(late)
    assert len(await votes_of(coop_db, ident(decision))) == sum(accepted)


# --- closing -------------------------------------------------------------------------------------------


async def test_scheduled_close_before_the_closing_time_does_nothing(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consent")
    await vote(coop_db, decision, BOB, clock.now(), "no_objection")
    before = await row_counts(coop_db)

    clock.set(decision.closes_at - timedelta(seconds=1))
    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=4, now=clock.now()
    )

    assert closed is None
    stored = await reload(coop_db, decision)
    assert (stored.status, stored.closed_at, stored.result, stored.passed, stored.outcome) == (
        "open",
        None,
        None,
        None,
        None,
    )
    assert await row_counts(coop_db) == before


async def test_scheduled_close_after_the_closing_time_closes_once_and_stores_the_result(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="significant")
    for voter, ballot in ((ALICE, "agree"), (BOB, "agree"), (CAROL, "disagree"), (MO, "abstain")):
        await vote(
            coop_db, decision, voter, clock.now(), ballot, reason="Too soon" if voter is CAROL else None
        )
    clock.set(decision.closes_at + timedelta(minutes=3))

    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=10, now=clock.now()
    )

    assert closed is not None
    assert closed.result.passed is True
    assert closed.result.outcome == "Passes: 2 of 3 who took a position agree (more than 50% needed)."
    assert closed.reasons == [(CAROL.user_id, "disagree", "Too soon")]
    stored = await reload(coop_db, decision)
    assert stored.status == "closed"
    assert stored.closed_at == clock.now()
    assert stored.passed is True
    assert stored.outcome == closed.result.outcome
    assert stored.result is not None
    assert stored.result["ballot_counts"] == {"agree": 2, "disagree": 1, "abstain": 1}
    assert stored.result["eligible"] == 10
    assert final_tally(stored) == closed.result
    assert await current_tally(coop_db, stored, eligible=99) == closed.result  # the close, not a recount
    # Votes of a non-anonymous decision stay, with their voters.
    assert len(await votes_of(coop_db, ident(decision))) == 4
    assert await reasons_given(coop_db, stored) == [(CAROL.user_id, "disagree", "Too soon")]

    clock.advance(timedelta(minutes=1))
    again = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=10, now=clock.now()
    )
    assert again is None
    assert (await reload(coop_db, decision)).closed_at == decision.closes_at + timedelta(minutes=3)
    (event,) = await audits(coop_db, "decision.close", f"decision:{ident(decision)}")
    assert event.actor_id is None
    assert event.details == {"passed": True, "outcome": closed.result.outcome, "early": False}


async def test_early_close_by_the_author_or_a_moderator_not_another_member(
    coop_db: Database, clock: ManualClock
):
    by_author = await propose(coop_db, clock.now(), kind="consensus")
    by_moderator = await propose(coop_db, clock.now(), kind="consensus")
    await vote(coop_db, by_author, BOB, clock.now(), "agree")

    with pytest.raises(NotAllowed) as refused:
        await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(by_author), eligible=4, now=clock.now(), actor=BOB
        )
    assert refused.value.message == f"Only the author of #{ident(by_author)} or a moderator can close it."
    assert (await reload(coop_db, by_author)).status == "open"
    assert await audits(coop_db, "decision.close") == []

    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(by_author), eligible=4, now=clock.now(), actor=ALICE
    )
    assert closed is not None and closed.decision.status == "closed"
    assert closed.result.passed is True
    moderated = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(by_moderator), eligible=4, now=clock.now(), actor=MO
    )
    assert moderated is not None
    assert (await reload(coop_db, by_moderator)).status == "closed"
    assert (await reload(coop_db, by_author)).closed_at == START
    events = await audits(coop_db, "decision.close")
    assert [(e.subject, e.actor_id, e.details["early"]) for e in events] == [
        (f"decision:{ident(by_author)}", ALICE.user_id, True),
        (f"decision:{ident(by_moderator)}", MO.user_id, True),
    ]
    with pytest.raises(Conflict, match=f"Proposal #{ident(by_author)} is not open"):
        await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(by_author), eligible=4, now=clock.now(), actor=ALICE
        )
    assert len(await audits(coop_db, "decision.close")) == 2


@pytest.mark.parametrize(
    ("ballots", "passed", "outcome"),
    [
        ([("no_objection", None), ("objection", "Not in this budget")], False, "Fails: 1 objection stands."),
        ([("no_objection", None), ("no_objection", None)], True, "Passes: no objection stands."),
        ([], True, "Passes: no objection stands."),
    ],
)
async def test_consent_fails_with_an_objection_and_passes_without(
    coop_db: Database,
    clock: ManualClock,
    ballots: list[tuple[str, str | None]],
    passed: bool,
    outcome: str,
):
    decision = await propose(coop_db, clock.now(), kind="consent")
    for voter, (ballot, reason) in zip((BOB, CAROL), ballots, strict=False):
        await vote(coop_db, decision, voter, clock.now(), ballot, reason=reason)
    clock.set(decision.closes_at)

    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=5, now=clock.now()
    )

    assert closed is not None
    stored = await reload(coop_db, decision)
    assert (stored.passed, stored.outcome) == (passed, outcome)
    assert final_tally(stored).passed is passed


# --- anonymous decisions -------------------------------------------------------------------------------


async def test_an_anonymous_decision_forgets_who_voted_what_at_the_close(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="consensus", anonymous=True)
    await vote(coop_db, decision, ALICE, clock.now(), "agree")
    await vote(coop_db, decision, BOB, clock.now(), "disagree", reason="Wait for the audit")
    await vote(coop_db, decision, BOB, clock.now(), "block", reason="Too costly")
    await vote(coop_db, decision, CAROL, clock.now(), "abstain", reason="Away next month")
    await vote(coop_db, decision, MO, clock.now(), "agree")
    await withdraw_vote(coop_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, now=clock.now())
    # While open, the voter is not shown with the reason either.
    open_reasons = await reasons_given(coop_db, await reload(coop_db, decision))
    assert all(voter is None for voter, _, _ in open_reasons)
    clock.set(decision.closes_at)

    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=6, now=clock.now()
    )

    assert closed is not None
    assert await votes_of(coop_db, ident(decision)) == []
    assert await events_of(coop_db, ident(decision)) == []
    stored = await reload(coop_db, decision)
    assert stored.result is not None
    assert stored.result["ballot_counts"] == {"agree": 1, "block": 1, "abstain": 1}
    assert (stored.passed, stored.outcome) == (False, "Fails: 1 block.")
    assert final_tally(stored) == closed.result
    expected_reasons = [(None, "abstain", "Away next month"), (None, "block", "Too costly")]
    assert await reasons_given(coop_db, stored) == expected_reasons
    assert sorted(closed.reasons) == expected_reasons
    stored_text = json.dumps(stored.result)
    assert all(str(a.user_id) not in stored_text for a in (ALICE, BOB, CAROL, MO))

    with pytest.raises(Conflict) as refused:
        await reopen_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, closes="3d", now=clock.now()
        )
    assert "anonymous" in refused.value.message
    assert (await reload(coop_db, decision)).status == "closed"


# --- extend, cancel, reopen, outcome -------------------------------------------------------------------


async def test_extend_by_a_duration_adds_to_the_current_closing_time(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consent", closes="3d")
    clock.advance(timedelta(hours=5))

    extended = await extend_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, closes="2d", now=clock.now()
    )

    assert extended.closes_at == START + timedelta(days=5)
    assert (await reload(coop_db, decision)).closes_at == START + timedelta(days=5)
    (event,) = await audits(coop_db, "decision.extend")
    assert event.actor_id == ALICE.user_id
    assert datetime.fromisoformat(event.details["from"]) == START + timedelta(days=3)
    assert datetime.fromisoformat(event.details["to"]) == START + timedelta(days=5)

    # To a date, read in the guild's timezone: 10 December 12:00 in Auckland is 23:00 UTC the day before.
    moved = await extend_decision(
        coop_db,
        guild_id=GUILD,
        decision_id=ident(decision),
        actor=MO,
        closes="2026-12-10 12:00",
        now=clock.now(),
    )
    assert moved.closes_at == datetime(2026, 12, 9, 23, 0, tzinfo=UTC)


async def test_extend_to_an_earlier_time_or_by_another_member_is_refused(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="consent", closes="5d")
    closes_at = START + timedelta(days=5)

    with pytest.raises(InvalidInput) as earlier:
        await extend_decision(
            coop_db,
            guild_id=GUILD,
            decision_id=ident(decision),
            actor=ALICE,
            closes="tomorrow",
            now=clock.now(),
        )
    stamp = f"<t:{int(closes_at.timestamp())}:f>"
    assert earlier.value.message == (
        f"#{ident(decision)} already closes at {stamp}: an extension must be later."
    )
    with pytest.raises(NotAllowed, match=r"Only the author .* or a moderator can extend it"):
        await extend_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=BOB, closes="2d", now=clock.now()
        )
    assert (await reload(coop_db, decision)).closes_at == closes_at
    assert await audits(coop_db, "decision.extend") == []

    clock.set(closes_at)
    with pytest.raises(Conflict):
        await extend_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, closes="2d", now=clock.now()
        )


async def test_cancel_by_the_author_once(coop_db: Database, clock: ManualClock):
    decision = await propose(coop_db, clock.now(), kind="consent")
    clock.advance(timedelta(hours=2))

    with pytest.raises(NotAllowed, match="can cancel it"):
        await cancel_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=BOB, now=clock.now()
        )
    assert (await reload(coop_db, decision)).status == "open"

    await cancel_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, now=clock.now(), reason="Duplicate"
    )

    stored = await reload(coop_db, decision)
    assert (stored.status, stored.closed_at) == ("cancelled", START + timedelta(hours=2))
    (event,) = await audits(coop_db, "decision.cancel")
    assert (event.actor_id, event.details) == (ALICE.user_id, {"reason": "Duplicate"})
    with pytest.raises(Conflict) as twice:
        await cancel_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, now=clock.now()
        )
    assert twice.value.message == f"Proposal #{ident(decision)} is not open, so it can't be cancelled."
    assert len(await audits(coop_db, "decision.cancel")) == 1
    # A cancelled decision is neither open, due, nor in the register.
    assert await list_open(coop_db, GUILD) == []
    assert await register(coop_db, GUILD) == ([], 0)
    assert await due(coop_db, stored.closes_at + timedelta(days=1)) == []
    assert (
        await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=3, now=stored.closes_at
        )
        is None
    )
    # A moderator may cancel someone else's proposal.
    other = await propose(coop_db, clock.now(), kind="consent")
    await cancel_decision(coop_db, guild_id=GUILD, decision_id=ident(other), actor=MO, now=clock.now())
    assert (await reload(coop_db, other)).status == "cancelled"


async def test_reopen_by_a_moderator_keeps_the_votes_and_counts_them_again(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="consensus")
    await vote(coop_db, decision, BOB, clock.now(), "agree")
    await vote(coop_db, decision, CAROL, clock.now(), "block", reason="Wrong supplier")

    with pytest.raises(Conflict, match="is not closed"):
        await reopen_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, closes="3d", now=clock.now()
        )
    await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=5, now=clock.now(), actor=ALICE
    )
    assert (await reload(coop_db, decision)).passed is False

    with pytest.raises(NotAllowed) as refused:
        await reopen_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, closes="3d", now=clock.now()
        )
    assert refused.value.message == "Only moderators can reopen a decision."
    assert (await reload(coop_db, decision)).status == "closed"

    clock.advance(timedelta(hours=1))
    await reopen_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, closes="3d", now=clock.now()
    )

    stored = await reload(coop_db, decision)
    assert (stored.status, stored.closed_at, stored.result, stored.passed, stored.outcome) == (
        "open",
        None,
        None,
        None,
        None,
    )
    assert stored.closes_at == clock.now() + timedelta(days=3)
    assert [(v.voter_id, v.ballot) for v in await votes_of(coop_db, ident(decision))] == [
        (BOB.user_id, "agree"),
        (CAROL.user_id, "block"),
    ]
    (event,) = await audits(coop_db, "decision.reopen")
    assert event.actor_id == MO.user_id

    await vote(coop_db, decision, CAROL, clock.now(), "agree")
    await vote(coop_db, decision, ALICE, clock.now(), "abstain")
    clock.set(stored.closes_at)
    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=5, now=clock.now()
    )
    assert closed is not None
    again = await reload(coop_db, decision)
    assert again.result is not None
    assert again.result["ballot_counts"] == {"agree": 2, "abstain": 1}
    assert again.passed is True


async def test_record_outcome_after_the_close_by_the_author_or_a_moderator(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="advice")

    with pytest.raises(Conflict) as too_early:
        await record_outcome(
            coop_db,
            guild_id=GUILD,
            decision_id=ident(decision),
            actor=ALICE,
            statement="Done",
            now=clock.now(),
        )
    assert too_early.value.message == (
        f"Proposal #{ident(decision)} is still open: record the outcome once it has closed."
    )
    await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=5, now=clock.now(), actor=ALICE
    )
    with pytest.raises(NotAllowed, match="can record the outcome of it"):
        await record_outcome(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=BOB, statement="Mine", now=clock.now()
        )
    with pytest.raises(InvalidInput, match="outcome statement can't be empty"):
        await record_outcome(
            coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, statement=" ", now=clock.now()
        )
    assert await audits(coop_db, "decision.outcome") == []

    await record_outcome(
        coop_db,
        guild_id=GUILD,
        decision_id=ident(decision),
        actor=ALICE,
        statement="  We buy the Prusa.  ",
        review="2027-01-15 10:00",
        now=clock.now(),
    )

    stored = await reload(coop_db, decision)
    assert stored.outcome_statement == "We buy the Prusa."
    # 10:00 on 15 January in Auckland (NZDT, UTC+13) is 21:00 UTC the day before.
    assert stored.review_at == datetime(2027, 1, 14, 21, 0, tzinfo=UTC)
    (event,) = await audits(coop_db, "decision.outcome")
    assert event.actor_id == ALICE.user_id
    assert event.details["statement"] == "We buy the Prusa."

    await record_outcome(
        coop_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, statement="Amended", now=clock.now()
    )
    stored = await reload(coop_db, decision)
    assert stored.outcome_statement == "Amended"
    assert stored.review_at == datetime(2027, 1, 14, 21, 0, tzinfo=UTC)


async def test_record_outcome_of_a_cancelled_decision_does_not_call_it_open(
    coop_db: Database, clock: ManualClock
):
    decision = await propose(coop_db, clock.now(), kind="advice")
    await cancel_decision(coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, now=clock.now())

    with pytest.raises(Conflict) as refused:
        await record_outcome(
            coop_db,
            guild_id=GUILD,
            decision_id=ident(decision),
            actor=ALICE,
            statement="Done",
            now=clock.now(),
        )

    assert "cancelled" in refused.value.message
    assert "still open" not in refused.value.message
    assert (await reload(coop_db, decision)).outcome_statement is None


# --- lists and the register ----------------------------------------------------------------------------


async def test_list_open_and_not_voted_by(coop_db: Database, clock: ManualClock):
    later = await propose(coop_db, clock.now(), kind="consent", closes="3d", title="Later")
    sooner = await propose(coop_db, clock.now(), kind="consent", closes="1d", title="Sooner")
    middle = await propose(coop_db, clock.now(), kind="consent", closes="2d", title="Middle")
    closed = await propose(coop_db, clock.now(), kind="consent", closes="1d", title="Closed")
    await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(closed), eligible=3, now=clock.now(), actor=ALICE
    )
    theirs = await propose(coop_db, clock.now(), kind="consent", actor=OTTO, guild_id=OTHER_GUILD)
    await vote(coop_db, middle, BOB, clock.now(), "no_objection")
    await vote(
        coop_db, theirs, Actor(BOB.user_id, frozenset({OTHER_MEMBER_ROLE})), clock.now(), "no_objection"
    )

    assert [d.title for d in await list_open(coop_db, GUILD)] == ["Sooner", "Middle", "Later"]
    assert [d.id for d in await list_open(coop_db, GUILD, not_voted_by=BOB.user_id)] == [
        ident(sooner),
        ident(later),
    ]
    assert [d.title for d in await list_open(coop_db, GUILD, not_voted_by=CAROL.user_id)] == [
        "Sooner",
        "Middle",
        "Later",
    ]
    assert [d.title for d in await list_open(coop_db, GUILD, limit=2)] == ["Sooner", "Middle"]
    assert [d.id for d in await list_open(coop_db, OTHER_GUILD, not_voted_by=CAROL.user_id)] == [
        ident(theirs)
    ]
    assert await list_open(coop_db, OTHER_GUILD, not_voted_by=BOB.user_id) == []


async def _closed(db: Database, now: datetime, title: str, *, objection: bool = False) -> Decision:
    decision = await propose(db, now, kind="consent", title=title)
    if objection:
        await vote(db, decision, BOB, now, "objection", reason="No")
    await close_decision(db, guild_id=GUILD, decision_id=ident(decision), eligible=3, now=now, actor=ALICE)
    return decision


async def test_register_search_matches_title_and_outcome_case_insensitively(
    coop_db: Database, clock: ManualClock
):
    printer = await _closed(coop_db, clock.now(), "Buy a 3D Printer")
    clock.advance(timedelta(minutes=1))
    roster = await _closed(coop_db, clock.now(), "Garden roster", objection=True)
    clock.advance(timedelta(minutes=1))
    energy = await _closed(coop_db, clock.now(), "Energy supplier")
    await record_outcome(
        coop_db,
        guild_id=GUILD,
        decision_id=ident(energy),
        actor=ALICE,
        statement="We chose Solar Co-op.",
        now=clock.now(),
    )
    await propose(coop_db, clock.now(), kind="consent", title="Printer paper")  # open: not in the register

    def ids(found: tuple[list[RegisterEntry], int]) -> tuple[list[int], int]:
        assert all(entry.kind == "decision" for entry in found[0])
        return [entry.id for entry in found[0]], found[1]

    assert ids(await register(coop_db, GUILD)) == ([ident(energy), ident(roster), ident(printer)], 3)
    assert ids(await register(coop_db, GUILD, search="  PRINTER ")) == ([ident(printer)], 1)
    assert ids(await register(coop_db, GUILD, search="fails: 1 OBJECTION")) == ([ident(roster)], 1)
    assert ids(await register(coop_db, GUILD, search="solar co-op")) == ([ident(energy)], 1)
    assert ids(await register(coop_db, GUILD, search="no such thing")) == ([], 0)
    assert ids(await register(coop_db, GUILD, per_page=2, page=1)) == ([ident(printer)], 3)
    assert await register(coop_db, OTHER_GUILD, search="printer") == ([], 0)


async def test_register_search_takes_percent_and_underscore_literally(coop_db: Database, clock: ManualClock):
    percent = await _closed(coop_db, clock.now(), "100% renewable energy")
    await _closed(coop_db, clock.now(), "1000 flyers")
    underscore = await _closed(coop_db, clock.now(), "Rename member_dues")
    await _closed(coop_db, clock.now(), "Member dues review")

    async def found(search: str) -> list[int]:
        decisions_found, total = await register(coop_db, GUILD, search=search)
        assert total == len(decisions_found)
        return [entry.id for entry in decisions_found]

    assert await found("100%") == [ident(percent)]
    assert await found("%") == [ident(percent)]
    assert await found("member_dues") == [ident(underscore)]
    assert await found("_") == [ident(underscore)]


async def test_register_search_ignores_the_case_of_non_ascii_letters(coop_db: Database, clock: ManualClock):
    decision = await _closed(coop_db, clock.now(), "TE REO MĀORI SIGNAGE")

    assert [entry.id for entry in (await register(coop_db, GUILD, search="māori"))[0]] == [ident(decision)]


# --- what is due ---------------------------------------------------------------------------------------


def _is_aware_utc(moment: datetime | None) -> bool:
    return moment is not None and moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


async def due(db: Database, now: datetime, guild_ids: list[int] | None = None) -> list[tuple[int, int]]:
    return sorted(await due_decisions(db, now, guild_ids))


async def test_due_decisions_and_next_closing(coop_db: Database, clock: ManualClock):
    assert await next_closing(coop_db) is None
    first = await propose(coop_db, clock.now(), kind="consent", closes="1d")
    third = await propose(coop_db, clock.now(), kind="consent", closes="3d")
    second = await propose(
        coop_db, clock.now(), kind="consent", closes="2d", actor=OTTO, guild_id=OTHER_GUILD
    )
    ours_first, ours_third = (GUILD, ident(first)), (GUILD, ident(third))
    theirs_second = (OTHER_GUILD, ident(second))

    soonest = await next_closing(coop_db)
    assert soonest == START + timedelta(days=1)
    assert _is_aware_utc(soonest)
    theirs = await next_closing(coop_db, guild_ids=[OTHER_GUILD])
    assert theirs == START + timedelta(days=2)
    assert _is_aware_utc(theirs)
    assert await next_closing(coop_db, guild_ids=[]) is None
    assert await next_closing(coop_db, guild_ids=[3_000]) is None

    assert await due(coop_db, START + timedelta(days=1) - timedelta(seconds=1)) == []
    assert await due(coop_db, START + timedelta(days=1)) == [ours_first]
    assert await due(coop_db, START + timedelta(days=2)) == sorted([ours_first, theirs_second])
    assert await due(coop_db, START + timedelta(days=2), guild_ids=[GUILD]) == [ours_first]
    assert await due(coop_db, START + timedelta(days=5), guild_ids=[OTHER_GUILD]) == [theirs_second]
    assert await due(coop_db, START + timedelta(days=5), guild_ids=[]) == []
    # A timezone-aware "now" in another zone means the same instant.
    in_auckland = (START + timedelta(days=3)).astimezone(AUCKLAND)
    assert await due(coop_db, in_auckland, guild_ids=[GUILD]) == sorted([ours_first, ours_third])

    await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(first), eligible=3, now=START + timedelta(days=1)
    )
    assert await next_closing(coop_db) == START + timedelta(days=2)
    assert await next_closing(coop_db, guild_ids=[GUILD]) == START + timedelta(days=3)
    assert await due(coop_db, START + timedelta(days=5), guild_ids=[GUILD]) == [ours_third]


# --- close hooks ---------------------------------------------------------------------------------------


async def _open_linked(db: Database, now: datetime) -> Decision:
    async with db.write() as session:
        decision = await open_decision_in(
            session,
            guild_id=GUILD,
            author_id=ALICE.user_id,
            draft=ProposalDraft(title="Admit Dana", kind="consent"),
            now=now,
            link=("test_link", 7),
        )
    assert (decision.link_kind, decision.link_id) == ("test_link", 7)
    return decision


async def test_a_close_hook_runs_inside_the_closing_transaction(
    coop_db: Database, clock: ManualClock, close_hooks: dict[str, Link]
):
    decision = await _open_linked(coop_db, clock.now())
    await vote(coop_db, decision, BOB, clock.now(), "no_objection")
    seen: list[tuple[Any, ...]] = []

    async def hook(session: AsyncSession, closing: Decision, result: TallyResult, now: datetime) -> None:
        # What the hook's own transaction sees: the decision closed, with its result.
        in_tx = (await session.exec(select(Decision.status).where(Decision.id == closing.id))).one()
        # What everyone else sees meanwhile: still open, since nothing is committed yet.
        async with coop_db.read() as outside:
            committed = (await outside.exec(select(Decision.status).where(Decision.id == closing.id))).one()
        seen.append((closing.link_id, closing.status, closing.passed, result.passed, in_tx, committed, now))
        assert closing.link_id is not None
        session.add(Member(guild_id=GUILD, user_id=closing.link_id, status="member", joined_at=now))

    close_hooks["test_link"] = Link(hook)
    clock.set(decision.closes_at)

    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=3, now=clock.now()
    )

    assert closed is not None
    assert seen == [(7, "closed", True, True, "closed", "open", clock.now())]
    async with coop_db.read() as session:
        members = list((await session.exec(select(Member))).all())
    assert [(m.guild_id, m.user_id, m.status) for m in members] == [(GUILD, 7, "member")]
    assert len(await audits(coop_db, "decision.close")) == 1
    # Closing again does not run the hook again.
    assert (
        await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=3, now=clock.now()
        )
        is None
    )
    assert len(seen) == 1


async def test_a_failing_close_hook_leaves_the_decision_open(
    coop_db: Database, clock: ManualClock, close_hooks: dict[str, Link]
):
    decision = await _open_linked(coop_db, clock.now())
    await vote(coop_db, decision, BOB, clock.now(), "no_objection")

    async def hook(session: AsyncSession, closing: Decision, result: TallyResult, now: datetime) -> None:
        session.add(Member(guild_id=GUILD, user_id=7, status="member", joined_at=now))
        await session.flush()
        raise RuntimeError("the admission could not be recorded")

    close_hooks["test_link"] = Link(hook)
    clock.set(decision.closes_at)
    before = await row_counts(coop_db)

    with pytest.raises(RuntimeError, match="admission could not be recorded"):
        await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=3, now=clock.now()
        )

    stored = await reload(coop_db, decision)
    assert (stored.status, stored.closed_at, stored.result, stored.passed, stored.outcome) == (
        "open",
        None,
        None,
        None,
        None,
    )
    assert await row_counts(coop_db) == before
    assert await audits(coop_db, "decision.close") == []
    assert await due(coop_db, clock.now()) == [(GUILD, ident(decision))]
