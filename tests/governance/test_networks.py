"""Networks against a real database: joining by both sides' consent, network proposals counted by person
and by cooperative, the close claimed once, what each cooperative is owed, and what never crosses."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import col, select

from governance import decisions, funds, networks, rounds
from governance.clock import ManualClock
from governance.decisions import close_decision
from governance.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from governance.networks import NetworkDraft
from governance.permissions import Actor
from governance.register import register
from storage.database import Database
from storage.models import (
    Bucket,
    BucketFundingEvent,
    Decision,
    Fund,
    NetworkEvent,
    NetworkFund,
    NetworkLedgerEntry,
    NetworkMembership,
    NetworkProposal,
    OwedMessage,
    RoundAllocation,
    Vote,
)
from tests.governance.helpers import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    GUILD,
    MEMBER_ROLE,
    OTHER_GUILD,
    OTHER_MEMBER_ROLE,
    OTTO,
    TESS,
    VIC,
    audits,
    configure,
    deposit,
    entries,
    ident,
    key,
    make_fund,
    propose,
    vote,
)

THIRD_GUILD = 3_000
THIRD_MEMBER_ROLE = 31
OUTSIDE_GUILD = 4_000
OUTSIDE_MEMBER_ROLE = 41
TINA = Actor(user_id=301, role_ids=frozenset({THIRD_MEMBER_ROLE}))
TOM = Actor(user_id=302, role_ids=frozenset({THIRD_MEMBER_ROLE}))
OLGA = Actor(user_id=202, role_ids=frozenset({OTHER_MEMBER_ROLE}))
OUTSIDER = Actor(user_id=401, role_ids=frozenset({OUTSIDE_MEMBER_ROLE}))
NAMES = {GUILD: "Kōwhai Co-op", OTHER_GUILD: "Rātā Collective", THIRD_GUILD: "Totara Works"}


@pytest_asyncio.fixture
async def net_db(coop_db: Database, clock: ManualClock) -> Database:
    for guild_id, role in ((THIRD_GUILD, THIRD_MEMBER_ROLE), (OUTSIDE_GUILD, OUTSIDE_MEMBER_ROLE)):
        await configure(
            coop_db, clock.now(), guild_id, governance_channel_id=guild_id + 1, member_role_id=role
        )
    return coop_db


async def create(db: Database, clock: ManualClock, **kw: object) -> None:
    await networks.create_network(
        db,
        guild_id=GUILD,
        coop_name=NAMES[GUILD],
        actor=ADMIN,
        name="Aotearoa Commons",
        description="Ventures that pool and decide together.",
        now=clock.now(),
        **kw,  # type: ignore[arg-type]
    )


async def close_copy(db: Database, clock: ManualClock, decision: Decision, eligible: int) -> None:
    if clock.now() < decision.closes_at:
        clock.set(decision.closes_at + timedelta(seconds=1))
    await close_decision(
        db, guild_id=decision.guild_id, decision_id=ident(decision), eligible=eligible, now=clock.now()
    )


async def join_by_decision(db: Database, clock: ManualClock, guild_id: int, voter: Actor) -> Decision:
    """Another cooperative joins with a fresh code: its members pass the decision to join."""
    code = await networks.invite(
        db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
    )
    opened = await networks.join(
        db,
        guild_id=guild_id,
        coop_name=NAMES[guild_id],
        actor=ADMIN,
        code=code.code,
        decision_type=None,
        now=clock.now(),
    )
    await vote(db, opened.decision, voter, clock.now(), "no_objection")
    await close_copy(db, clock, opened.decision, eligible=3)
    return opened.decision


@pytest_asyncio.fixture
async def network(net_db: Database, clock: ManualClock) -> Database:
    """Three cooperatives in one network; a fourth outside it."""
    await create(net_db, clock)
    await join_by_decision(net_db, clock, OTHER_GUILD, OTTO)
    await join_by_decision(net_db, clock, THIRD_GUILD, TINA)
    return net_db


async def memberships(db: Database) -> list[tuple[int, str]]:
    async with db.read() as session:
        rows = await session.exec(select(NetworkMembership).order_by(col(NetworkMembership.id)))
        return [(row.guild_id, row.status) for row in rows.all()]


async def copies_of(db: Database, proposal_id: int) -> dict[int, Decision]:
    async with db.read() as session:
        rows = await session.exec(
            select(Decision).where(
                Decision.link_kind == networks.PROPOSAL_LINK, Decision.link_id == proposal_id
            )
        )
        return {row.guild_id: row for row in rows.all()}


async def owed(db: Database, kind: str, copies: dict[int, Decision] | None = None) -> list[tuple[int, int]]:
    """(guild, decision) of every message of `kind` owed (about these copies only, when given)."""
    async with db.read() as session:
        rows = await session.exec(
            select(OwedMessage).where(OwedMessage.kind == kind).order_by(col(OwedMessage.id))
        )
        found = [(row.guild_id, int(row.payload["decision_id"])) for row in rows.all()]
    wanted = None if copies is None else {ident(copy) for copy in copies.values()}
    return [(guild, decision) for guild, decision in found if wanted is None or decision in wanted]


async def proposal_row(db: Database, proposal_id: int) -> NetworkProposal:
    async with db.read() as session:
        row = await session.get(NetworkProposal, proposal_id)
    assert row is not None
    return row


async def put(
    db: Database, clock: ManualClock, actor: Actor = ALICE, guild_id: int = GUILD, **draft: Any
) -> networks.NetworkOpened:
    draft.setdefault("title", "Share a bookkeeper")
    return await networks.propose(
        db,
        guild_id=guild_id,
        actor=actor,
        network_name=None,
        draft=NetworkDraft(**draft),
        now=clock.now(),
    )


# --- joining ----------------------------------------------------------------------------------------


async def test_a_moderator_creates_a_network_with_their_cooperative_as_its_home(
    net_db: Database, clock: ManualClock
):
    await create(net_db, clock)

    view = await networks.show(net_db, guild_id=GUILD, network_name=None)
    assert view.network.name == "Aotearoa Commons"
    assert [coop.coop_name for coop in view.members] == ["Kōwhai Co-op"]
    assert [event.action for event in await audits(net_db, "network.create")] == ["network.create"]


async def test_only_moderators_create_and_a_cooperative_names_its_networks_apart(
    net_db: Database, clock: ManualClock
):
    with pytest.raises(NotAllowed):
        await networks.create_network(
            net_db, guild_id=GUILD, coop_name="x", actor=ALICE, name="Mine", now=clock.now()
        )
    await create(net_db, clock)
    with pytest.raises(Conflict, match="already in a network called"):
        await networks.create_network(
            net_db, guild_id=GUILD, coop_name="x", actor=ADMIN, name="AOTEAROA  commons", now=clock.now()
        )
    # Another server may use the same name: it learns nothing of networks it is not in.
    theirs = await networks.create_network(
        net_db, guild_id=OTHER_GUILD, coop_name="x", actor=ADMIN, name="Aotearoa Commons", now=clock.now()
    )
    # ...and the two stay apart: it cannot join ours under the same name while in its own.
    code = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
    )
    with pytest.raises(Conflict, match="already in a network called"):
        await networks.join(
            net_db,
            guild_id=OTHER_GUILD,
            coop_name="x",
            actor=ADMIN,
            code=code.code,
            decision_type=None,
            now=clock.now(),
        )
    assert (await networks.show(net_db, guild_id=OTHER_GUILD, network_name=None)).network.id == theirs.id


async def test_a_cooperative_joins_when_its_members_decide_to(net_db: Database, clock: ManualClock):
    await create(net_db, clock)
    code = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for="2d", now=clock.now()
    )
    assert code.expires_at == clock.now() + timedelta(days=2)

    opened = await networks.join(
        net_db,
        guild_id=OTHER_GUILD,
        coop_name=NAMES[OTHER_GUILD],
        actor=ADMIN,
        code=code.code.lower(),
        decision_type=None,
        now=clock.now(),
    )
    assert (opened.decision.guild_id, opened.decision.kind) == (OTHER_GUILD, "consent")
    assert (OTHER_GUILD, "joining") in await memberships(net_db)
    # Not a member yet: it sees no network.
    with pytest.raises(NotFound):
        await networks.show(net_db, guild_id=OTHER_GUILD, network_name=None)

    await vote(net_db, opened.decision, OTTO, clock.now(), "no_objection")
    await close_copy(net_db, clock, opened.decision, eligible=2)

    assert await memberships(net_db) == [(GUILD, "member"), (OTHER_GUILD, "member")]
    view = await networks.show(net_db, guild_id=OTHER_GUILD, network_name=None)
    assert [coop.coop_name for coop in view.members] == [NAMES[GUILD], NAMES[OTHER_GUILD]]


async def test_a_cooperative_whose_members_object_does_not_join(net_db: Database, clock: ManualClock):
    await create(net_db, clock)
    code = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
    )
    opened = await networks.join(
        net_db,
        guild_id=OTHER_GUILD,
        coop_name="Rātā",
        actor=ADMIN,
        code=code.code,
        decision_type=None,
        now=clock.now(),
    )
    await vote(net_db, opened.decision, OTTO, clock.now(), "objection", reason="Not now")
    await close_copy(net_db, clock, opened.decision, eligible=2)

    assert await memberships(net_db) == [(GUILD, "member"), (OTHER_GUILD, "declined")]


@pytest.mark.parametrize("problem", ["unknown", "used", "expired"])
async def test_a_code_that_is_unknown_used_or_expired_is_refused_and_changes_nothing(
    net_db: Database, clock: ManualClock, problem: str
):
    await create(net_db, clock)
    code = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for="1h", now=clock.now()
    )
    typed = code.code
    if problem == "unknown":
        typed = "ABCDEFGHJK" if code.code != "ABCDEFGHJK" else "KJHGFEDCBA"
    elif problem == "used":
        await networks.join(
            net_db,
            guild_id=THIRD_GUILD,
            coop_name="T",
            actor=ADMIN,
            code=code.code,
            decision_type=None,
            now=clock.now(),
        )
    else:
        clock.advance(timedelta(hours=1))
    before = await memberships(net_db)

    with pytest.raises(InvalidInput, match="not valid"):
        await networks.join(
            net_db,
            guild_id=OTHER_GUILD,
            coop_name="R",
            actor=ADMIN,
            code=typed,
            decision_type=None,
            now=clock.now(),
        )
    assert await memberships(net_db) == before


async def test_joining_and_inviting_take_a_moderator_and_a_yes_or_no_type(
    net_db: Database, clock: ManualClock
):
    await create(net_db, clock)
    with pytest.raises(NotAllowed):
        await networks.invite(
            net_db, guild_id=GUILD, actor=ALICE, network_name=None, valid_for=None, now=clock.now()
        )
    code = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
    )
    with pytest.raises(NotAllowed):
        await networks.join(
            net_db,
            guild_id=OTHER_GUILD,
            coop_name="R",
            actor=OTTO,
            code=code.code,
            decision_type=None,
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match="yes-or-no"):
        await networks.join(
            net_db,
            guild_id=OTHER_GUILD,
            coop_name="R",
            actor=ADMIN,
            code=code.code,
            decision_type="poll",
            now=clock.now(),
        )
    # Nothing was spent by the refusals: the code still works.
    opened = await networks.join(
        net_db,
        guild_id=OTHER_GUILD,
        coop_name="R",
        actor=ADMIN,
        code=code.code,
        decision_type="consensus",
        now=clock.now(),
    )
    assert opened.decision.kind == "consensus"


async def test_a_network_that_asks_for_its_own_acceptance_decides_by_cooperative(
    net_db: Database, clock: ManualClock
):
    await create(net_db, clock, requires_acceptance=True)
    await join_by_decision(net_db, clock, OTHER_GUILD, OTTO)
    assert (OTHER_GUILD, "accepting") in await memberships(net_db)

    async with net_db.read() as session:
        [acceptance] = (await session.exec(select(NetworkProposal))).all()
    assert (acceptance.counting, acceptance.link_kind) == ("cooperative", networks.ADMISSION_LINK)
    copies = await copies_of(net_db, ident_of(acceptance))
    assert set(copies) == {GUILD}  # only the members decide; the newcomer waits
    await vote(net_db, copies[GUILD], BOB, clock.now(), "no_objection")
    await close_copy(net_db, clock, copies[GUILD], eligible=6)

    assert await memberships(net_db) == [(GUILD, "member"), (OTHER_GUILD, "member")]


def ident_of(proposal: NetworkProposal) -> int:
    assert proposal.id is not None
    return proposal.id


async def test_leaving_is_the_leaving_cooperatives_decision_and_history_stays(
    network: Database, clock: ManualClock
):
    opened = await put(network, clock)
    proposal_id = ident_of(opened.proposal)
    leaving = await networks.leave(
        network, guild_id=THIRD_GUILD, actor=ADMIN, network_name=None, decision_type=None, now=clock.now()
    )
    with pytest.raises(Conflict, match="already deciding"):
        await networks.leave(
            network, guild_id=THIRD_GUILD, actor=ADMIN, network_name=None, decision_type=None, now=clock.now()
        )
    await vote(network, leaving.decision, TINA, clock.now(), "no_objection")
    await close_copy(network, clock, leaving.decision, eligible=2)

    assert (THIRD_GUILD, "left") in await memberships(network)
    with pytest.raises(NotFound):
        await networks.show(network, guild_id=THIRD_GUILD, network_name=None)
    # Its copy of the earlier proposal is still its own, and a new proposal no longer reaches it.
    assert THIRD_GUILD in await copies_of(network, proposal_id)
    later = await put(network, clock, title="Pool for a van")
    assert {copy.guild_id for copy in later.copies} == {GUILD, OTHER_GUILD}


# --- network proposals --------------------------------------------------------------------------------


async def test_a_network_proposal_is_owed_to_every_member_cooperative(network: Database, clock: ManualClock):
    opened = await put(network, clock, closes="3d")

    copies = await copies_of(network, ident_of(opened.proposal))
    assert set(copies) == {GUILD, OTHER_GUILD, THIRD_GUILD}
    assert {copy.closes_at for copy in copies.values()} == {opened.proposal.closes_at}
    assert copies[OTHER_GUILD].eligible_role_id == OTHER_MEMBER_ROLE
    assert sorted(await owed(network, networks.POST_KIND)) == sorted(
        (guild, ident(copy)) for guild, copy in copies.items()
    )
    # Nothing of it in the cooperative outside the network.
    assert OUTSIDE_GUILD not in {guild for guild, _ in await owed(network, networks.POST_KIND)}


async def test_counted_by_person_every_cooperatives_votes_count_together(
    network: Database, clock: ManualClock
):
    opened = await put(network, clock, kind="consent")
    copies = await copies_of(network, ident_of(opened.proposal))
    await vote(network, copies[GUILD], ALICE, clock.now(), "no_objection")
    await vote(network, copies[OTHER_GUILD], OTTO, clock.now(), "no_objection")
    await vote(network, copies[THIRD_GUILD], TINA, clock.now(), "objection", reason="Too costly")

    live = await networks.live_tally(network, copies[GUILD], local_eligible=6)
    assert live.voters == 3

    await close_copy(network, clock, copies[GUILD], eligible=6)
    await close_copy(network, clock, copies[OTHER_GUILD], eligible=2)
    # Two of three closed: the network waits, and nobody is told a result yet.
    assert (await proposal_row(network, ident_of(opened.proposal))).status == "open"
    assert await owed(network, decisions.CLOSED_KIND, copies) == []

    await close_copy(network, clock, copies[THIRD_GUILD], eligible=2)

    proposal = await proposal_row(network, ident_of(opened.proposal))
    assert (proposal.status, proposal.passed) == ("closed", False)
    assert proposal.result == {"ballot_counts": {"no_objection": 2, "objection": 1}, "eligible": 10}
    assert sorted(await owed(network, decisions.CLOSED_KIND, copies)) == sorted(
        (guild, ident(copy)) for guild, copy in copies.items()
    )
    closed = await copies_of(network, ident_of(opened.proposal))
    for copy in closed.values():
        assert copy.passed is False
        assert copy.result is not None and copy.result["ballot_counts"] == {"no_objection": 2, "objection": 1}
        assert copy.outcome is not None and copy.outcome.startswith("Across the network:")
    third = closed[THIRD_GUILD].result
    assert third is not None and third["local_counts"] == {"objection": 1}


async def test_counted_by_person_a_poll_counts_every_cooperatives_ballots(
    network: Database, clock: ManualClock
):
    opened = await put(network, clock, kind="poll", options=("Wellington", "Auckland"))
    copies = await copies_of(network, ident_of(opened.proposal))
    await vote(network, copies[GUILD], ALICE, clock.now(), [0])
    await vote(network, copies[OTHER_GUILD], OTTO, clock.now(), [1])
    await vote(network, copies[THIRD_GUILD], TINA, clock.now(), [1])
    for copy in copies.values():
        await close_copy(network, clock, copy, eligible=3)

    proposal = await proposal_row(network, ident_of(opened.proposal))
    assert proposal.outcome is not None and "Auckland" in proposal.outcome


@pytest.mark.parametrize(
    ("rule", "third_votes", "passed"),
    [
        ("consent", "objection", False),
        ("majority", "objection", True),
        ("consent", None, True),
        ("consensus", None, True),
    ],
)
async def test_counted_by_cooperative_each_outcome_is_one_vote_under_the_network_rule(
    network: Database, clock: ManualClock, rule: str, third_votes: str | None, passed: bool
):
    opened = await put(network, clock, kind="consent", counting="cooperative", rule=rule)
    copies = await copies_of(network, ident_of(opened.proposal))
    await vote(network, copies[GUILD], ALICE, clock.now(), "no_objection")
    await vote(network, copies[OTHER_GUILD], OTTO, clock.now(), "no_objection")
    if third_votes:
        await vote(network, copies[THIRD_GUILD], TINA, clock.now(), third_votes, reason="We can't")
    for copy in copies.values():
        await close_copy(network, clock, copy, eligible=2)

    proposal = await proposal_row(network, ident_of(opened.proposal))
    assert proposal.passed is passed
    assert proposal.result is not None
    votes = {row["coop"]: row["vote"] for row in proposal.result["cooperatives"]}
    assert votes == {
        NAMES[GUILD]: "agrees",
        NAMES[OTHER_GUILD]: "agrees",
        NAMES[THIRD_GUILD]: "objects" if third_votes else "stands aside",
    }
    third = (await copies_of(network, ident_of(opened.proposal)))[THIRD_GUILD]
    assert third.outcome is not None and "This cooperative:" in third.outcome


async def test_by_cooperative_takes_a_yes_or_no_type_and_a_known_rule(network: Database, clock: ManualClock):
    with pytest.raises(InvalidInput, match="pass or fail"):
        await put(network, clock, kind="poll", options=("a", "b"), counting="cooperative")
    with pytest.raises(InvalidInput, match="rule"):
        await put(network, clock, counting="cooperative", rule="loudest")


async def test_a_copy_is_not_the_cooperatives_to_extend_cancel_or_close_early(
    network: Database, clock: ManualClock
):
    opened = await put(network, clock)
    copy = (await copies_of(network, ident_of(opened.proposal)))[GUILD]
    for attempt in (
        decisions.extend_decision(
            network, guild_id=GUILD, decision_id=ident(copy), actor=ADMIN, closes="2d", now=clock.now()
        ),
        decisions.cancel_decision(
            network, guild_id=GUILD, decision_id=ident(copy), actor=ADMIN, now=clock.now()
        ),
        close_decision(
            network, guild_id=GUILD, decision_id=ident(copy), eligible=6, now=clock.now(), actor=ADMIN
        ),
    ):
        with pytest.raises(NotAllowed, match="network proposal"):
            await attempt
    assert (await copies_of(network, ident_of(opened.proposal)))[GUILD].status == "open"


async def test_only_members_of_a_member_cooperative_propose(network: Database, clock: ManualClock):
    with pytest.raises(NotAllowed):
        await put(network, clock, actor=VIC)
    with pytest.raises(NotFound):
        await put(network, clock, actor=OUTSIDER, guild_id=OUTSIDE_GUILD)


# --- the close is claimed once; votes racing it ---------------------------------------------------------


async def test_the_last_copies_closing_together_close_the_network_once(network: Database, clock: ManualClock):
    opened = await put(network, clock)
    copies = await copies_of(network, ident_of(opened.proposal))
    clock.set(opened.proposal.closes_at + timedelta(seconds=1))

    await asyncio.gather(
        *(
            close_decision(network, guild_id=guild, decision_id=ident(copy), eligible=2, now=clock.now())
            for guild, copy in copies.items()
            for _ in range(2)
        )
    )

    async with network.read() as session:
        closes = (
            await session.exec(select(NetworkEvent).where(NetworkEvent.action == "network.proposal.close"))
        ).all()
    assert len(closes) == 1
    assert len(await owed(network, decisions.CLOSED_KIND, copies)) == 3


async def test_members_of_three_cooperatives_voting_as_it_closes_never_land_after_the_close(
    network: Database, clock: ManualClock
):
    opened = await put(network, clock, kind="consensus")
    copies = await copies_of(network, ident_of(opened.proposal))
    roles = {GUILD: MEMBER_ROLE, OTHER_GUILD: OTHER_MEMBER_ROLE, THIRD_GUILD: THIRD_MEMBER_ROLE}
    voters = [
        (guild, Actor(user_id=50_000 + guild + n, role_ids=frozenset({roles[guild]})))
        for guild in copies
        for n in range(12)
    ]
    before_close = opened.proposal.closes_at - timedelta(milliseconds=1)
    at_close = opened.proposal.closes_at + timedelta(seconds=1)

    async def try_vote(guild: int, voter: Actor) -> bool:
        try:
            await vote(network, copies[guild], voter, before_close, "agree")
        except DomainError:
            return False
        return True

    async def close(guild: int) -> None:
        await asyncio.sleep(0)
        await close_decision(
            network, guild_id=guild, decision_id=ident(copies[guild]), eligible=12, now=at_close
        )

    outcome = await asyncio.gather(*(try_vote(g, v) for g, v in voters), *(close(g) for g in copies))
    accepted = sum(bool(ok) for ok in outcome[: len(voters)])
    late = await asyncio.gather(*(try_vote(g, v) for g, v in voters))

    assert not any(late)
    proposal = await proposal_row(network, ident_of(opened.proposal))
    assert proposal.status == "closed" and proposal.result is not None
    async with network.read() as session:
        stored = (
            await session.exec(
                select(Vote).where(col(Vote.decision_id).in_([ident(c) for c in copies.values()]))
            )
        ).all()
    assert len(stored) == accepted
    assert proposal.result["ballot_counts"].get("agree", 0) == accepted


# --- what never crosses ---------------------------------------------------------------------------------


async def test_a_cooperative_outside_the_network_reaches_nothing_of_it(network: Database, clock: ManualClock):
    opened = await put(network, clock)
    copies = await copies_of(network, ident_of(opened.proposal))
    own = await propose(network, clock.now(), title="Our own budget")

    for attempt in (
        networks.show(network, guild_id=OUTSIDE_GUILD, network_name=None),
        networks.show(network, guild_id=OUTSIDE_GUILD, network_name="Aotearoa Commons"),
        networks.proposals_page(network, guild_id=OUTSIDE_GUILD, network_name=None, page=1),
        networks.network_log(
            network, guild_id=OUTSIDE_GUILD, actor=ADMIN, network_name=None, page=1, now=clock.now()
        ),
        networks.invite(
            network, guild_id=OUTSIDE_GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
        ),
        networks.leave(
            network,
            guild_id=OUTSIDE_GUILD,
            actor=ADMIN,
            network_name=None,
            decision_type=None,
            now=clock.now(),
        ),
    ):
        with pytest.raises(NotFound):
            await attempt
    # Neither a copy held by a member cooperative nor that cooperative's own decision is found from outside,
    # nor from another member cooperative.
    for guild, decision in ((OUTSIDE_GUILD, copies[GUILD]), (OUTSIDE_GUILD, own), (OTHER_GUILD, own)):
        with pytest.raises(NotFound):
            await decisions.get_decision(network, guild, ident(decision))
        with pytest.raises(DomainError):
            await vote(
                network, decision.model_copy(update={"guild_id": guild}), OUTSIDER, clock.now(), "agree"
            )
    assert await networks.network_names(network, OUTSIDE_GUILD) == []


async def test_the_network_log_holds_network_actions_only_and_each_is_in_its_cooperatives_audit_log(
    network: Database, clock: ManualClock
):
    await propose(
        network, clock.now(), title="Our own budget"
    )  # a cooperative's own: not in the network's log
    await put(network, clock, actor=OTTO, guild_id=OTHER_GUILD)

    page = await networks.network_log(
        network, guild_id=THIRD_GUILD, actor=ADMIN, network_name=None, page=1, now=clock.now()
    )
    actions = [event.action for event in page.events]
    assert actions[0] == "network.propose"
    assert "decision.open" not in actions
    assert page.names[OTHER_GUILD] == NAMES[OTHER_GUILD]
    [proposed] = await audits(network, "network.propose")
    assert proposed.guild_id == OTHER_GUILD
    with pytest.raises(NotAllowed):
        await networks.network_log(
            network, guild_id=THIRD_GUILD, actor=TOM, network_name=None, page=1, now=clock.now()
        )


async def test_a_cooperative_in_two_networks_names_the_one_it_means(network: Database, clock: ManualClock):
    await networks.create_network(
        network, guild_id=GUILD, coop_name=NAMES[GUILD], actor=ADMIN, name="Pacific Makers", now=clock.now()
    )
    with pytest.raises(InvalidInput, match="several networks"):
        await networks.show(network, guild_id=GUILD, network_name=None)
    view = await networks.show(network, guild_id=GUILD, network_name="pacific makers")
    assert view.network.name == "Pacific Makers"
    assert await networks.network_names(network, GUILD) == ["Aotearoa Commons", "Pacific Makers"]
    assert CAROL and BOB  # the same people are in both


# --- network funds ----------------------------------------------------------------------------------------


async def network_fund(db: Database, clock: ManualClock, name: str = "Shared Van") -> None:
    await networks.create_fund(
        db, guild_id=GUILD, actor=ADMIN, network_name=None, name=name, currency="NZD", now=clock.now()
    )


async def give(
    db: Database,
    clock: ManualClock,
    amount: str,
    *,
    fund: str = "Commons",
    idempotency_key: str | None = None,
) -> networks.TransferReceipt:
    return await networks.contribute(
        db,
        guild_id=GUILD,
        actor=TESS,
        network_name=None,
        fund="Shared Van",
        from_fund=fund,
        amount=amount,
        idempotency_key=idempotency_key or key(),
        now=clock.now(),
    )


async def balances(db: Database) -> tuple[int, int, int, int]:
    """(the cooperative's Commons balance, its entries, the network fund's balance, its entries)."""
    async with db.read() as session:
        commons = (await session.exec(select(Fund).where(Fund.name == "Commons"))).one()
        van = (await session.exec(select(NetworkFund))).one()
        network_entries = (await session.exec(select(NetworkLedgerEntry))).all()
    return commons.balance, len(await entries(db)), van.balance, len(network_entries)


async def test_a_treasurer_moves_money_to_a_network_fund_in_one_transfer(
    network: Database, clock: ManualClock
):
    commons = await make_fund(network, clock)
    await deposit(network, clock, commons, "500")
    await network_fund(network, clock)

    receipt = await give(network, clock, "120.50", idempotency_key="click-1")

    assert (receipt.amount, receipt.fund.balance) == (12050, 12050)
    assert await balances(network) == (50000 - 12050, 2, 12050, 1)
    debit = (await entries(network))[-1]
    assert (debit.kind, debit.amount, debit.fund_id) == ("network_transfer", -12050, commons.id)
    assert receipt.entry.source_entry_id == debit.id
    # The same click again moves nothing more.
    again = await give(network, clock, "120.50", idempotency_key="click-1")
    assert again.duplicate and await balances(network) == (50000 - 12050, 2, 12050, 1)
    # Every member cooperative sees the fund, and who put in what (not from which of its funds).
    view = await networks.show_fund(network, guild_id=THIRD_GUILD, network_name=None, fund="shared van")
    assert view.by_coop == [(NAMES[GUILD], 12050)] and view.derived_balance == view.fund.balance == 12050
    [logged] = await audits(network, "network.fund.contribute")
    assert logged.guild_id == GUILD


async def test_a_transfer_never_overdraws_nor_takes_money_promised_to_requests(
    network: Database, clock: ManualClock
):
    commons = await make_fund(network, clock, policy="treasurer", limit="1000")
    await deposit(network, clock, commons, "100")
    await network_fund(network, clock)
    await funds.request_funds(
        network,
        guild_id=GUILD,
        fund="Commons",
        actor=CAROL,
        amount_min="60",
        purpose="Tools",
        now=clock.now(),
    )
    [(pending, _)] = await funds.list_requests(network, GUILD)
    assert pending.id is not None
    await funds.approve_request(network, guild_id=GUILD, request_id=pending.id, actor=TESS, now=clock.now())
    before = await balances(network)

    with pytest.raises(Conflict, match=r"promised to approved requests: at most 40\.00 NZD"):
        await give(network, clock, "41")
    with pytest.raises(InvalidInput):
        await give(network, clock, "-5")
    assert await balances(network) == before
    await give(network, clock, "40")
    assert await balances(network) == (6000, before[1] + 1, 4000, 1)


async def test_transfers_racing_from_one_fund_never_overdraw_it(network: Database, clock: ManualClock):
    commons = await make_fund(network, clock)
    await deposit(network, clock, commons, "100")
    await network_fund(network, clock)

    async def attempt() -> bool:
        try:
            await give(network, clock, "30")
        except Conflict:
            return False
        return True

    moved = await asyncio.gather(*(attempt() for _ in range(8)))

    assert sum(moved) == 3
    assert await balances(network) == (1000, 1 + 3, 9000, 3)


async def test_only_treasurers_move_money_and_only_in_the_funds_currency(
    network: Database, clock: ManualClock
):
    commons = await make_fund(network, clock)
    await deposit(network, clock, commons, "100")
    await make_fund(network, clock, "Euro pot", currency="EUR")
    await network_fund(network, clock)
    with pytest.raises(NotAllowed):
        await networks.contribute(
            network,
            guild_id=GUILD,
            actor=ALICE,
            network_name=None,
            fund="Shared Van",
            from_fund="Commons",
            amount="10",
            idempotency_key=key(),
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match="one currency"):
        await give(network, clock, "10", fund="Euro pot")
    with pytest.raises(NotAllowed):
        await networks.create_fund(
            network,
            guild_id=GUILD,
            actor=ALICE,
            network_name=None,
            name="Mine",
            currency="NZD",
            now=clock.now(),
        )
    with pytest.raises(Conflict, match="already has a fund"):
        await network_fund(network, clock, name="shared  VAN")


async def test_a_cooperative_outside_the_network_reaches_none_of_its_funds(
    network: Database, clock: ManualClock
):
    await network_fund(network, clock)
    with pytest.raises(NotFound):
        await networks.show_fund(network, guild_id=OUTSIDE_GUILD, network_name=None, fund="Shared Van")
    with pytest.raises(NotFound):
        await networks.create_fund(
            network,
            guild_id=OUTSIDE_GUILD,
            actor=ADMIN,
            network_name=None,
            name="X",
            currency="NZD",
            now=clock.now(),
        )
    assert await networks.network_fund_names(network, OUTSIDE_GUILD) == []
    assert await networks.network_fund_names(network, THIRD_GUILD) == ["Shared Van"]


async def funded_van(
    db: Database, clock: ManualClock, *, limit: str | None = "100", holds: str = "300"
) -> None:
    """The network's Shared Van fund (treasurers approve up to `limit`), holding `holds` from our Commons."""
    commons = await make_fund(db, clock)
    await deposit(db, clock, commons, "1000")
    await networks.create_fund(
        db,
        guild_id=GUILD,
        actor=ADMIN,
        network_name=None,
        name="Shared Van",
        currency="NZD",
        limit=limit,
        now=clock.now(),
    )
    await give(db, clock, holds)


async def ask_van(
    db: Database, clock: ManualClock, amount: str, who: Actor = TINA, guild_id: int = THIRD_GUILD
):
    return await networks.request_money(
        db,
        guild_id=guild_id,
        actor=who,
        network_name=None,
        fund="Shared Van",
        amount=amount,
        purpose="Diesel for the market run",
        now=clock.now(),
    )


async def pay_van(
    db: Database, clock: ManualClock, request_id: int, who: Actor = TESS, idem: str | None = None
):
    return await networks.pay_request(
        db,
        guild_id=GUILD if who is TESS else OTHER_GUILD,
        actor=who,
        request_id=request_id,
        reference="bank 42",
        idempotency_key=idem or key(),
        now=clock.now(),
    )


async def test_a_request_within_the_limit_is_approved_by_a_treasurer_and_paid_once(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock)
    asked = await ask_van(network, clock, "80")
    assert asked.proposal is None and asked.request.status == "pending"
    request_id = asked.request.id
    assert request_id is not None

    decided = await networks.decide_request(
        network, guild_id=OTHER_GUILD, actor=OTTO, request_id=request_id, approve=True, now=clock.now()
    )
    assert decided.request.status == "approved"
    paid = await pay_van(network, clock, request_id, idem="pay-1")
    assert (paid.request.status, paid.fund.balance) == ("paid", 22000)
    assert paid.entry is not None and (paid.entry.amount, paid.entry.guild_id) == (-8000, THIRD_GUILD)
    again = await pay_van(network, clock, request_id, idem="pay-1")
    assert again.duplicate
    with pytest.raises(Conflict, match="only an approved request is paid"):
        await pay_van(network, clock, request_id)
    view = await networks.show_fund(network, guild_id=OTHER_GUILD, network_name=None, fund="Shared Van")
    assert view.fund.balance == view.derived_balance == 22000


async def test_nobody_decides_or_pays_their_own_request(network: Database, clock: ManualClock):
    await funded_van(network, clock)
    asked = await ask_van(network, clock, "50", who=TESS, guild_id=GUILD)
    request_id = asked.request.id
    assert request_id is not None
    with pytest.raises(NotAllowed, match="own request"):
        await networks.decide_request(
            network, guild_id=GUILD, actor=TESS, request_id=request_id, approve=True, now=clock.now()
        )
    with pytest.raises(NotAllowed):  # a member, not a treasurer
        await networks.decide_request(
            network, guild_id=THIRD_GUILD, actor=TINA, request_id=request_id, approve=True, now=clock.now()
        )
    await networks.decide_request(
        network, guild_id=OTHER_GUILD, actor=OTTO, request_id=request_id, approve=True, now=clock.now()
    )
    with pytest.raises(NotAllowed, match="own request"):
        await pay_van(network, clock, request_id)


async def test_a_larger_request_is_decided_by_the_network_counted_by_cooperative(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock)
    asked = await ask_van(network, clock, "250")
    assert asked.proposal is not None and asked.proposal.counting == "cooperative"
    request_id = asked.request.id
    assert request_id is not None
    with pytest.raises(Conflict, match="the network decides it"):
        await networks.decide_request(
            network, guild_id=OTHER_GUILD, actor=OTTO, request_id=request_id, approve=True, now=clock.now()
        )
    copies = await copies_of(network, ident_of(asked.proposal))
    assert set(copies) == {GUILD, OTHER_GUILD, THIRD_GUILD}
    await vote(network, copies[GUILD], ALICE, clock.now(), "no_objection")
    await vote(network, copies[OTHER_GUILD], OTTO, clock.now(), "no_objection")
    for copy in copies.values():
        await close_copy(network, clock, copy, eligible=3)

    paid = await pay_van(network, clock, request_id)
    assert (paid.request.status, paid.fund.balance) == ("paid", 5000)


async def test_paying_never_overdraws_the_network_fund(network: Database, clock: ManualClock):
    await funded_van(network, clock, limit="500", holds="40")
    asked = await ask_van(network, clock, "100")
    request_id = asked.request.id
    assert request_id is not None
    await networks.decide_request(
        network, guild_id=OTHER_GUILD, actor=OTTO, request_id=request_id, approve=True, now=clock.now()
    )
    with pytest.raises(Conflict, match="would overdraw it"):
        await pay_van(network, clock, request_id)
    view = await networks.show_fund(network, guild_id=GUILD, network_name=None, fund="Shared Van")
    assert view.fund.balance == 4000
    [(still, _)] = await networks.open_requests(network, guild_id=GUILD, network_name=None, fund="Shared Van")
    assert still.status == "approved"


async def test_a_request_is_not_found_from_outside_the_network(network: Database, clock: ManualClock):
    await funded_van(network, clock)
    asked = await ask_van(network, clock, "50")
    request_id = asked.request.id
    assert request_id is not None
    await configure(network, clock.now(), OUTSIDE_GUILD, treasurer_role_id=42)
    outsider_treasurer = Actor(user_id=402, role_ids=frozenset({42, OUTSIDE_MEMBER_ROLE}))
    with pytest.raises(NotFound):
        await networks.decide_request(
            network,
            guild_id=OUTSIDE_GUILD,
            actor=outsider_treasurer,
            request_id=request_id,
            approve=True,
            now=clock.now(),
        )


async def test_a_copy_its_own_server_never_closes_is_closed_hours_later_so_the_network_decides(
    network: Database, clock: ManualClock
):
    opened = await put(network, clock)
    copies = await copies_of(network, ident_of(opened.proposal))
    await vote(network, copies[OTHER_GUILD], OTTO, clock.now(), "no_objection")
    await networks.live_tally(network, copies[OTHER_GUILD], local_eligible=4)  # what its process last saw
    await close_copy(network, clock, copies[GUILD], eligible=6)
    await close_copy(network, clock, copies[THIRD_GUILD], eligible=2)
    # The bot was removed from the other server: nothing closes its copy there.
    due = await networks.next_stalled(network)
    assert due == opened.proposal.closes_at + networks.proposals.STALLED_AFTER
    clock.set(due - timedelta(seconds=1))
    assert await networks.close_stalled(network, clock.now()) == []

    clock.set(due)
    assert await networks.close_stalled(network, clock.now()) == [ident(copies[OTHER_GUILD])]
    assert await networks.close_stalled(network, clock.now()) == []  # once

    proposal = await proposal_row(network, ident_of(opened.proposal))
    assert proposal.status == "closed"
    assert proposal.result == {"ballot_counts": {"no_objection": 1}, "eligible": 12}
    assert len(await owed(network, decisions.CLOSED_KIND, copies)) == 3


async def test_a_cooperative_whose_decision_to_join_was_cancelled_can_join_with_a_new_code(
    net_db: Database, clock: ManualClock
):
    await create(net_db, clock)
    first = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
    )
    opened = await networks.join(
        net_db,
        guild_id=OTHER_GUILD,
        coop_name="R",
        actor=ADMIN,
        code=first.code,
        decision_type=None,
        now=clock.now(),
    )
    await decisions.cancel_decision(
        net_db, guild_id=OTHER_GUILD, decision_id=ident(opened.decision), actor=ADMIN, now=clock.now()
    )
    second = await networks.invite(
        net_db, guild_id=GUILD, actor=ADMIN, network_name=None, valid_for=None, now=clock.now()
    )

    again = await networks.join(
        net_db,
        guild_id=OTHER_GUILD,
        coop_name="R",
        actor=ADMIN,
        code=second.code,
        decision_type=None,
        now=clock.now(),
    )

    assert again.decision.status == "open"
    assert await memberships(net_db) == [
        (GUILD, "member"),
        (OTHER_GUILD, "declined"),
        (OTHER_GUILD, "joining"),
    ]


async def test_named_treasurers_alone_decide_and_pay_a_funds_requests(network: Database, clock: ManualClock):
    await funded_van(network, clock)
    await networks.set_treasurers(
        network,
        guild_id=THIRD_GUILD,
        actor=ADMIN,
        network_name=None,
        fund="Shared Van",
        add=TOM.user_id,
        now=clock.now(),
    )
    asked = await ask_van(network, clock, "50")
    request_id = asked.request.id
    assert request_id is not None
    # A cooperative's treasurer who is not named no longer decides it; Tom, a member named for it, does.
    with pytest.raises(NotAllowed, match="named for Shared Van"):
        await networks.decide_request(
            network, guild_id=OTHER_GUILD, actor=OTTO, request_id=request_id, approve=True, now=clock.now()
        )
    decided = await networks.decide_request(
        network, guild_id=THIRD_GUILD, actor=TOM, request_id=request_id, approve=True, now=clock.now()
    )
    assert decided.request.status == "approved"
    with pytest.raises(NotAllowed):  # a member not named, for a request that does not exist: refused alike
        await networks.pay_request(
            network,
            guild_id=THIRD_GUILD,
            actor=TINA,
            request_id=999,
            reference="",
            idempotency_key=key(),
            now=clock.now(),
        )
    with pytest.raises(NotAllowed, match="named for Shared Van"):
        await pay_van(network, clock, request_id)
    await networks.set_treasurers(
        network,
        guild_id=GUILD,
        actor=ADMIN,
        network_name=None,
        fund="Shared Van",
        remove=TOM.user_id,
        now=clock.now(),
    )
    paid = await pay_van(network, clock, request_id)  # nobody named: every cooperative's treasurers again
    assert paid.request.status == "paid"


# --- funding rounds on a network fund ---------------------------------------------------------------


async def network_round(
    db: Database,
    clock: ManualClock,
    *,
    pot: str = "200",
    guild_id: int = OTHER_GUILD,
    actor: Actor = OTTO,
    **kw: Any,
) -> rounds.RoundReceipt:
    """Otto (a treasurer of Rātā) sets up a round on the network's Shared Van fund: 20.00 each."""
    values: dict[str, Any] = {
        "title": "Spring projects",
        "fund": "Shared Van",
        "pot": pot,
        "ideas": "1d",
        "funding": "3d",
        "allocation": "20",
        "network": "Aotearoa Commons",
        **kw,
    }
    return await rounds.create_round(
        db, guild_id=guild_id, actor=actor, draft=rounds.RoundDraft(**values), now=clock.now()
    )


async def network_books(db: Database) -> tuple[int, list[tuple[str, int]]]:
    """The network fund's balance and its ledger's (kind, amount) entries, oldest first."""
    async with db.read() as session:
        van = (await session.exec(select(NetworkFund))).one()
        rows = await session.exec(select(NetworkLedgerEntry).order_by(col(NetworkLedgerEntry.id)))
        return van.balance, [(row.kind, row.amount) for row in rows.all()]


async def round_news(db: Database, round_id: int) -> dict[str, set[int]]:
    """Which cooperatives are owed which news of a round."""
    news: dict[str, set[int]] = {}
    async with db.read() as session:
        rows = await session.exec(select(OwedMessage).where(OwedMessage.kind == rounds.NETWORK_ROUND_KIND))
        for row in rows.all():
            if row.payload["round_id"] == round_id:
                news.setdefault(row.payload["event"], set()).add(row.guild_id)
    return news


async def bucket_in(
    db: Database, clock: ManualClock, round_id: int, who: Actor, guild_id: int, budget: str, title: str
) -> Bucket:
    return await rounds.propose_bucket(
        db,
        guild_id=guild_id,
        round_id=round_id,
        actor=who,
        title=title,
        description="",
        budget=budget,
        now=clock.now(),
    )


async def put_in(
    db: Database, clock: ManualClock, who: Actor, guild_id: int, bucket_id: int, amount: str
) -> rounds.FundingReceipt:
    return await rounds.fund_bucket(
        db,
        guild_id=guild_id,
        bucket_id=bucket_id,
        actor=who,
        amount=amount,
        idempotency_key=key(),
        now=clock.now(),
    )


async def test_a_network_round_sets_its_pot_aside_from_the_network_fund_and_every_cooperative_hears_of_it(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock, limit="500", holds="300")
    receipt = await network_round(network, clock)
    round_ = receipt.round
    assert receipt.network_proposal_id is None and receipt.source == "Aotearoa Commons · Shared Van"
    assert (round_.guild_id, round_.fund_id, round_.phase, round_.per_member) == (
        OTHER_GUILD,
        None,
        "ideas",
        2000,
    )
    assert await network_books(network) == (10000, [("contribution", 30000), ("round_pot", -20000)])
    assert await round_news(network, round_.id or 0) == {"opened": {GUILD, OTHER_GUILD, THIRD_GUILD}}
    # Every member cooperative sees it; a cooperative outside the network does not.
    for guild_id in (GUILD, THIRD_GUILD):
        assert [found.id for found in await rounds.list_rounds(network, guild_id)] == [round_.id]
    assert await rounds.list_rounds(network, OUTSIDE_GUILD) == []
    with pytest.raises(NotFound, match="no round"):
        await rounds.get_round(network, OUTSIDE_GUILD, round_.id or 0)
    overview = await rounds.round_overview(network, THIRD_GUILD, round_.id or 0)
    assert overview.source == "Aotearoa Commons · Shared Van"


async def test_a_network_round_is_refused_what_it_can_not_be_and_nothing_changes(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock, limit="500", holds="300")
    before = await network_books(network)
    with pytest.raises(InvalidInput, match="allocation"):
        await network_round(network, clock, allocation=None)
    with pytest.raises(InvalidInput, match="role belongs to one server"):
        await network_round(network, clock, role_id=MEMBER_ROLE)
    with pytest.raises(Conflict, match="available"):
        await network_round(network, clock, pot="400")
    with pytest.raises(NotAllowed):  # a member, not a treasurer
        await network_round(network, clock, guild_id=THIRD_GUILD, actor=TINA)
    with pytest.raises(NotFound):
        await network_round(network, clock, guild_id=OUTSIDE_GUILD, actor=ADMIN)
    assert await network_books(network) == before
    assert await rounds.list_rounds(network, OTHER_GUILD) == []


async def test_members_of_every_cooperative_propose_and_fund_buckets_and_the_winner_is_a_network_request(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock, limit="500", holds="300")
    round_ = (await network_round(network, clock)).round
    round_id = round_.id or 0
    van = await bucket_in(network, clock, round_id, TINA, THIRD_GUILD, "Brakes: 60", "Van repairs")
    tools = await bucket_in(network, clock, round_id, ALICE, GUILD, "Tools: 30 to 50", "Shared tools")
    async with network.read() as session:
        posts = (
            await session.exec(select(OwedMessage).where(OwedMessage.kind == rounds.NETWORK_BUCKET_KIND))
        ).all()
    assert sorted((row.payload["bucket_id"], row.guild_id) for row in posts) == sorted(
        (bucket.id, guild_id) for bucket in (van, tools) for guild_id in (GUILD, OTHER_GUILD, THIRD_GUILD)
    )
    # A bucket is opened by its own cooperative's moderators, not by another's.
    with pytest.raises(NotAllowed, match="bucket's own cooperative"):
        await rounds.open_bucket(network, guild_id=GUILD, bucket_id=van.id or 0, actor=ADMIN, now=clock.now())
    await rounds.open_bucket(
        network, guild_id=THIRD_GUILD, bucket_id=van.id or 0, actor=ADMIN, now=clock.now()
    )
    await rounds.open_bucket(network, guild_id=GUILD, bucket_id=tools.id or 0, actor=ADMIN, now=clock.now())

    clock.set(round_.funding_opens_at)
    opened = await rounds.open_funding(
        network, guild_id=OTHER_GUILD, round_id=round_id, recipients=[OTTO.user_id], now=clock.now()
    )
    assert opened is not None and opened.allocated == 0  # each cooperative grants its own members
    assert (await round_news(network, round_id))["funding"] == {GUILD, OTHER_GUILD, THIRD_GUILD}
    grants = {
        GUILD: [ALICE.user_id, BOB.user_id, TESS.user_id],
        OTHER_GUILD: [OTTO.user_id, OLGA.user_id],
        THIRD_GUILD: [TINA.user_id, TOM.user_id, ALICE.user_id],  # Alice is in two member cooperatives
    }
    granted = {
        guild_id: await rounds.grant_allocations(
            network,
            guild_id=guild_id,
            round_id=round_id,
            recipients=people,
            now=clock.now(),
            why="funding opened",
        )
        for guild_id, people in grants.items()
    }
    assert granted[THIRD_GUILD] == {TINA.user_id: 2000, TOM.user_id: 2000}  # one share each, Alice's once
    again = await rounds.grant_allocations(
        network, guild_id=GUILD, round_id=round_id, recipients=grants[GUILD], now=clock.now(), why="retry"
    )
    assert again == {}

    await put_in(network, clock, TOM, THIRD_GUILD, tools.id or 0, "20")
    for who, guild_id in ((OTTO, OTHER_GUILD), (ALICE, GUILD), (BOB, GUILD)):
        await put_in(network, clock, who, guild_id, van.id or 0, "20")
    filled = (await rounds.bucket_view(network, THIRD_GUILD, van.id or 0)).bucket
    assert (filled.status, filled.funded) == ("funded", 6000)
    with pytest.raises(NotFound):  # a cooperative outside the network can't fund its buckets
        await put_in(network, clock, OUTSIDER, OUTSIDE_GUILD, tools.id or 0, "5")

    clock.set(round_.funding_closes_at)
    closed = await rounds.close_round(network, guild_id=OTHER_GUILD, round_id=round_id, now=clock.now())
    assert closed is not None
    assert ([b.id for b in closed.funded], [b.id for b in closed.unfunded]) == ([van.id], [tools.id])
    assert (await round_news(network, round_id))["closed"] == {GUILD, OTHER_GUILD, THIRD_GUILD}
    # The pot came back whole; the van's 60.00 is an approved request on the network fund, paid as any is.
    assert await network_books(network) == (
        30000,
        [("contribution", 30000), ("round_pot", -20000), ("round_return", 20000)],
    )
    [request] = closed.requests
    assert (request.status, request.requester_id, request.guild_id, request.amount) == (
        "approved",
        TINA.user_id,
        THIRD_GUILD,
        6000,
    )
    assert request.id is not None
    paid = await pay_van(network, clock, request.id)
    assert (paid.request.status, paid.fund.balance) == ("paid", 24000)
    seen = await rounds.closed_round_of(network, GUILD, round_id)
    assert [b.id for b in seen.funded] == [van.id] and seen.funders == {van.id: 3}
    # Every member cooperative's decision register holds the round; an outside one's does not.
    for guild_id in (GUILD, OTHER_GUILD, THIRD_GUILD):
        rounds_held = [entry for entry in (await register(network, guild_id))[0] if entry.kind == "round"]
        assert [(entry.label, entry.outcome) for entry in rounds_held] == [
            (f"Round #{round_id}", closed.round.outcome)
        ]
    assert await register(network, OUTSIDE_GUILD) == ([], 0)
    async with network.read() as session:
        tom = (
            await session.exec(
                select(RoundAllocation).where(
                    RoundAllocation.round_id == round_id, RoundAllocation.member_id == TOM.user_id
                )
            )
        ).one()
    assert (tom.guild_id, tom.spent) == (THIRD_GUILD, 0)  # refunded from the unfunded bucket


async def test_a_network_round_above_the_funds_limit_is_the_networks_decision(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock, limit="100", holds="300")
    receipt = await network_round(network, clock)
    assert receipt.round.phase == "proposed" and receipt.network_proposal_id is not None
    assert (await network_books(network))[0] == 30000  # nothing set aside before the network decides
    copies = await copies_of(network, receipt.network_proposal_id)
    assert set(copies) == {GUILD, OTHER_GUILD, THIRD_GUILD}
    await vote(network, copies[GUILD], ALICE, clock.now(), "no_objection")
    await vote(network, copies[OTHER_GUILD], OTTO, clock.now(), "no_objection")
    for copy in copies.values():
        await close_copy(network, clock, copy, eligible=3)
    opened = await rounds.get_round(network, THIRD_GUILD, receipt.round.id or 0)
    assert opened.phase == "ideas"
    assert (await network_books(network))[0] == 10000
    assert (await round_news(network, opened.id or 0)) == {"opened": {GUILD, OTHER_GUILD, THIRD_GUILD}}

    refused = await network_round(network, clock, pot="150")
    copies = await copies_of(network, refused.network_proposal_id or 0)
    await vote(network, copies[THIRD_GUILD], TINA, clock.now(), "objection", reason="Not this spring")
    for copy in copies.values():
        await close_copy(network, clock, copy, eligible=3)
    cancelled = await rounds.get_round(network, GUILD, refused.round.id or 0)
    assert cancelled.phase == "cancelled"
    assert (await network_books(network))[0] == 10000
    assert (await round_news(network, cancelled.id or 0)) == {"cancelled": {GUILD, OTHER_GUILD, THIRD_GUILD}}


async def test_only_the_home_cooperative_closes_or_cancels_a_network_round(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock, limit="500", holds="300")
    round_ = (await network_round(network, clock)).round
    round_id = round_.id or 0
    for act in (rounds.close_round, rounds.cancel_round):
        with pytest.raises(NotAllowed, match="cooperative that set it up"):
            await act(network, guild_id=GUILD, round_id=round_id, actor=ADMIN, now=clock.now())
    with pytest.raises(NotFound):
        await rounds.cancel_round(
            network, guild_id=OUTSIDE_GUILD, round_id=round_id, actor=ADMIN, now=clock.now()
        )
    assert (await rounds.get_round(network, GUILD, round_id)).phase == "ideas"
    cancelled = await rounds.cancel_round(
        network, guild_id=OTHER_GUILD, round_id=round_id, actor=ADMIN, now=clock.now()
    )
    assert cancelled.phase == "cancelled"
    assert (await network_books(network))[0] == 30000
    assert (await round_news(network, round_id))["cancelled"] == {GUILD, OTHER_GUILD, THIRD_GUILD}


async def test_members_of_three_cooperatives_funding_as_a_network_round_closes_never_land_after_it(
    network: Database, clock: ManualClock
):
    await funded_van(network, clock, limit="1000", holds="1000")
    round_ = (await network_round(network, clock, pot="900", allocation="10")).round
    round_id = round_.id or 0
    target = await bucket_in(network, clock, round_id, TINA, THIRD_GUILD, "Brakes: 100 to 800", "Van repairs")
    await rounds.open_bucket(
        network, guild_id=THIRD_GUILD, bucket_id=target.id or 0, actor=ADMIN, now=clock.now()
    )
    clock.set(round_.funding_opens_at)
    await rounds.open_funding(
        network, guild_id=OTHER_GUILD, round_id=round_id, recipients=[], now=clock.now()
    )
    roles = {GUILD: MEMBER_ROLE, OTHER_GUILD: OTHER_MEMBER_ROLE, THIRD_GUILD: THIRD_MEMBER_ROLE}
    crowd = [
        (guild_id, Actor(user_id=guild_id * 10 + n, role_ids=frozenset({role})))
        for guild_id, role in roles.items()
        for n in range(20)
    ]
    for guild_id in roles:
        people = [person.user_id for home, person in crowd if home == guild_id]
        await rounds.grant_allocations(
            network,
            guild_id=guild_id,
            round_id=round_id,
            recipients=people,
            now=clock.now(),
            why="funding opened",
        )
    clock.set(round_.funding_closes_at - timedelta(seconds=1))

    async def click(guild_id: int, person: Actor) -> int:
        try:
            return (await put_in(network, clock, person, guild_id, target.id or 0, "10")).moved
        except Conflict:
            return 0

    async def close() -> rounds.ClosedRound | None:
        clock.set(round_.funding_closes_at)
        return await rounds.close_round(network, guild_id=OTHER_GUILD, round_id=round_id, now=clock.now())

    results = await asyncio.gather(
        *(click(g, p) for g, p in crowd[:30]), close(), *(click(g, p) for g, p in crowd[30:])
    )
    closed = results[30]
    assert isinstance(closed, rounds.ClosedRound)
    acknowledged = sum(moved for moved in results if isinstance(moved, int))
    async with network.read() as session:
        events = (
            await session.exec(select(BucketFundingEvent).where(BucketFundingEvent.round_id == round_id))
        ).all()
        final = (await session.exec(select(Bucket).where(Bucket.id == target.id))).one()
    assert all(event.created_at < round_.funding_closes_at for event in events)  # nothing after the close
    assert sum(event.delta for event in events) == acknowledged == final.funded
    if final.funded >= final.min_total:
        assert final.status == "funded" and closed.requests[0].amount == final.funded
    else:
        assert final.status == "unfunded"
