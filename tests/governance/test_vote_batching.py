"""Group commit of votes: a burst of clicks is written in few transactions, each voter hears back only
after their vote is committed, refusals stay individual, and the latest vote of each voter counts."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from governance import voting
from governance.clock import ManualClock
from governance.decisions import cancel_decision, extend_decision
from governance.errors import Conflict, NotAllowed, NotFound
from governance.permissions import Actor
from governance.voting import VoteBatcher, VoteReceipt, VoteRequest
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Decision, Vote, VoteEvent
from storage.vote_store import decision_from_row, vote_transaction
from tests.governance.helpers import ALICE, GUILD, MEMBER_ROLE, OTHER_GUILD, ident, propose, vote

VOTERS = [Actor(user_id=1000 + n, role_ids=frozenset({MEMBER_ROLE})) for n in range(120)]


async def test_a_burst_of_votes_commits_in_few_transactions_with_the_latest_vote_kept(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    rng = random.Random(7)
    clicks = [(voter, rng.choice(["agree", "abstain", "disagree"])) for voter in VOTERS for _ in range(3)]
    rng.shuffle(clicks)

    receipts = await asyncio.gather(
        *(
            batcher.cast(VoteRequest(GUILD, ident(decision), voter, clock.now(), choice=choice))
            for voter, choice in clicks
        )
    )

    assert len(receipts) == len(clicks)
    assert batcher.transactions < len(clicks) / 10
    last_choice = {voter.user_id: choice for voter, choice in clicks}
    async with coop_db.read() as session:
        stored = {v.voter_id: v.ballot for v in (await session.exec(select(Vote))).all()}
        history = (await session.exec(select(VoteEvent).order_by(col(VoteEvent.id)))).all()
    assert stored == last_choice
    latest_event = {event.voter_id: event.ballot for event in history}
    assert latest_event == last_choice


async def test_refusals_in_a_batch_are_individual(coop_db: Database, clock: ManualClock) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    other = await propose(
        coop_db,
        clock.now(),
        kind="consent",
        closes="3d",
        guild_id=OTHER_GUILD,
        actor=Actor(201, frozenset({21})),
    )
    batcher = VoteBatcher(coop_db)
    outsider = Actor(user_id=9, role_ids=frozenset())
    results = await asyncio.gather(
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[0], clock.now(), choice="agree")),
        batcher.cast(VoteRequest(GUILD, ident(decision), outsider, clock.now(), choice="agree")),
        batcher.cast(VoteRequest(GUILD, ident(other), VOTERS[1], clock.now(), choice="no_objection")),
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[2], clock.now(), choice="block")),
        return_exceptions=True,
    )
    assert results[0].ballot == "agree"
    assert isinstance(results[1], NotAllowed)
    assert str(results[2]).startswith("There is no proposal")
    assert "needs a reason" in str(results[3])
    async with coop_db.read() as session:
        assert [v.voter_id for v in (await session.exec(select(Vote))).all()] == [VOTERS[0].user_id]


async def test_votes_racing_the_close_are_either_counted_or_refused(
    coop_db: Database, clock: ManualClock
) -> None:
    from governance.decisions import close_decision

    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    author = Actor(user_id=101, role_ids=frozenset({MEMBER_ROLE}))
    casts = [
        batcher.cast(VoteRequest(GUILD, ident(decision), voter, clock.now(), choice="agree"))
        for voter in VOTERS
    ]
    closing = close_decision(
        coop_db,
        guild_id=GUILD,
        decision_id=ident(decision),
        eligible=len(VOTERS),
        now=clock.now(),
        actor=author,
    )
    results = await asyncio.gather(*casts[:60], closing, *casts[60:], return_exceptions=True)
    closed = results[60]
    assert not isinstance(closed, BaseException) and closed is not None
    accepted = [r for r in results if not isinstance(r, BaseException) and r is not closed]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, Conflict) for r in refused)
    assert len(accepted) + len(refused) == len(VOTERS)
    assert closed.result.voters == len(accepted)
    async with coop_db.read() as session:
        assert len((await session.exec(select(Vote))).all()) == len(accepted)


async def test_a_vote_that_arrives_while_the_close_is_under_way_waits_and_is_refused(
    coop_db: Database, clock: ManualClock
) -> None:
    from governance.decisions import close_decision

    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    author = Actor(user_id=101, role_ids=frozenset({MEMBER_ROLE}))
    before = await batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[0], clock.now(), choice="agree"))
    async with batcher.closing(ident(decision)):
        late = asyncio.ensure_future(
            batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[1], clock.now(), choice="agree"))
        )
        await asyncio.sleep(0.05)  # time enough for a batch to commit, if the vote had not waited
        assert not late.done()
        closed = await close_decision(
            coop_db, guild_id=GUILD, decision_id=ident(decision), eligible=2, now=clock.now(), actor=author
        )
    with pytest.raises(Conflict, match="has closed"):
        await late
    assert before.ballot == "agree"
    assert closed is not None and closed.result.voters == 1
    async with coop_db.read() as session:
        assert [v.voter_id for v in (await session.exec(select(Vote))).all()] == [VOTERS[0].user_id]


async def test_a_close_that_fails_lets_the_waiting_votes_through(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    request = VoteRequest(GUILD, ident(decision), VOTERS[0], clock.now(), choice="disagree")
    waiting: list[asyncio.Future[VoteReceipt]] = []

    async def failing_close() -> None:
        async with batcher.closing(ident(decision)):
            waiting.append(asyncio.ensure_future(batcher.cast(request)))
            await asyncio.sleep(0)
            raise RuntimeError("the close failed")

    with pytest.raises(RuntimeError):
        await failing_close()
    assert (await waiting[0]).ballot == "disagree"
    async with coop_db.read() as session:
        assert [v.ballot for v in (await session.exec(select(Vote))).all()] == ["disagree"]


async def test_a_batch_larger_than_one_statement_commits_every_vote_and_its_history(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db, max_batch=2000)
    voters = [Actor(user_id=5000 + n, role_ids=frozenset({MEMBER_ROLE})) for n in range(1200)]
    await asyncio.gather(
        *(batcher.cast(VoteRequest(GUILD, ident(decision), v, clock.now(), choice="agree")) for v in voters)
    )
    assert batcher.transactions == 1
    async with coop_db.read() as session:
        stored = (await session.exec(select(Vote.voter_id))).all()
        history = (await session.exec(select(VoteEvent.voter_id))).all()
    assert sorted(stored) == sorted(history) == [v.user_id for v in voters]


async def test_preparing_the_vote_path_at_start_up_writes_nothing(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    await batcher.prepare()
    await batcher.prepare()  # a restart of the same bot prepares again
    async with coop_db.read() as session:
        assert (await session.exec(select(Vote))).all() == []
        assert (await session.exec(select(VoteEvent))).all() == []
    receipt = await batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[0], clock.now(), choice="agree"))
    assert receipt.ballot == "agree" and batcher.transactions == 1


async def test_a_vote_waits_for_a_close_only_so_long(
    coop_db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(voting, "CLOSE_WAIT_SECONDS", 0.05)
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    async with batcher.closing(ident(decision)):  # a close that never gets to its write
        receipt = await batcher.cast(
            VoteRequest(GUILD, ident(decision), VOTERS[0], clock.now(), choice="agree")
        )
    assert receipt.ballot == "agree"  # answered in time, and decided by the row as it is


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5, 8])
async def test_a_batch_cancelled_anywhere_leaves_the_database_writable(
    coop_db: Database, clock: ManualClock, turns: int
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="2w")
    batcher = VoteBatcher(coop_db)
    first = asyncio.ensure_future(
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[0], clock.now(), choice="agree"))
    )
    for _ in range(turns):
        await asyncio.sleep(0)
    if batcher._writer is not None:
        batcher._writer.cancel()  # the bot shutting down mid-batch
    with contextlib.suppress(asyncio.CancelledError):
        await first
    second = await batcher.cast(
        VoteRequest(GUILD, ident(decision), VOTERS[1], clock.now(), choice="block", reason="No")
    )
    assert second.ballot == "block"
    async with asyncio.timeout(5), coop_db.write() as session:  # no write lock left behind
        stored = {v.voter_id for v in (await session.exec(select(Vote))).all()}
    assert VOTERS[1].user_id in stored


@pytest.mark.parametrize("size", [1, 2])
async def test_a_small_batch_limit_still_commits_everything(
    coop_db: Database, clock: ManualClock, size: int
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consent", closes="3d")
    batcher = VoteBatcher(coop_db, max_batch=size)
    await asyncio.gather(
        *(
            batcher.cast(VoteRequest(GUILD, ident(decision), v, clock.now(), choice="no_objection"))
            for v in VOTERS[:9]
        )
    )
    async with coop_db.read() as session:
        assert len((await session.exec(select(Vote))).all()) == 9


# --- the lean path: rules kept while the decision's row stays the same --------------------------------


async def test_a_decision_read_at_the_driver_is_the_decision_the_orm_reads(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(
        coop_db, clock.now(), kind="score", closes="2w", options=["Kōwhai", "Online"], anonymous=True
    )
    async with vote_transaction(coop_db, [ident(decision)], [(ident(decision), 1)]) as transaction:
        built = decision_from_row(coop_db, transaction.decisions[ident(decision)])
    async with coop_db.read() as session:
        stored = await session.get(Decision, ident(decision))
    assert stored is not None
    assert built.model_dump() == stored.model_dump()
    assert built.closes_at.tzinfo is not None and built.options == ["Kōwhai", "Online"] and built.anonymous


async def test_votes_follow_every_change_of_the_decision_between_them(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="1w")
    first, second, third = VOTERS[:3]
    await vote(coop_db, decision, first, clock.now(), "agree")  # the rules are built and kept
    await extend_decision(
        coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, closes="3d", now=clock.now()
    )
    clock.advance(timedelta(days=8))  # past the first closing time, before the extended one
    receipt = await vote(coop_db, decision, second, clock.now(), "disagree")
    assert receipt.decision.closes_at == decision.closes_at + timedelta(days=3)
    await cancel_decision(coop_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, now=clock.now())
    with pytest.raises(Conflict, match="cancelled"):
        await vote(coop_db, decision, third, clock.now(), "agree")
    async with coop_db.read() as session:
        stored = {v.voter_id: v.ballot for v in (await session.exec(select(Vote))).all()}
    assert stored == {first.user_id: "agree", second.user_id: "disagree"}


async def test_each_vote_is_checked_again_whatever_the_kept_rules_remember(
    coop_db: Database, clock: ManualClock
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="1w")
    batcher = VoteBatcher(coop_db)
    outsider = Actor(user_id=9, role_ids=frozenset())
    now = clock.now()
    results = await asyncio.gather(
        batcher.cast(
            VoteRequest(GUILD, ident(decision), VOTERS[0], now, choice="block", reason="Too costly")
        ),
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[1], now, choice="block")),
        batcher.cast(VoteRequest(GUILD, ident(decision), outsider, now, choice="agree")),
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[2], now, choice="agree")),
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[3], now, typed="abstain")),
        batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[4], now, choice="maybe")),
        return_exceptions=True,
    )
    assert results[0].ballot == "block" and results[0].description == "Block"
    assert "needs a reason" in str(results[1])  # the same choice, remembered, still asks for a reason
    assert isinstance(results[2], NotAllowed)  # the same rules, another voter: eligibility is per vote
    assert results[3].ballot == "agree" and results[4].ballot == "abstain"
    assert "Unknown position" in str(results[5])
    clock.advance(timedelta(weeks=2))  # the same row, the same remembered choice, but past the close
    with pytest.raises(Conflict, match="has closed"):
        await batcher.cast(VoteRequest(GUILD, ident(decision), VOTERS[5], clock.now(), choice="agree"))


async def test_the_kept_rules_belong_to_their_database(
    coop_db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    decision = await propose(coop_db, clock.now(), kind="consensus", closes="1w")
    await vote(coop_db, decision, VOTERS[0], clock.now(), "agree")
    other = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        await upgrade(other.engine)
        # The same number in another database is nothing there, whatever this one kept.
        with pytest.raises(NotFound):
            await vote(other, decision, VOTERS[0], clock.now(), "agree")
    finally:
        await other.dispose()
