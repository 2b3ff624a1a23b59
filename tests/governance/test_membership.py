"""Onboarding and membership against a real database: what is recorded, what is refused, and the races."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from governance import membership
from governance.clock import ManualClock
from governance.coop import SetupChanges, configure_guild, get_settings
from governance.decisions import cancel_decision, close_decision, get_decision
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.membership import Change, ProfileDraft
from governance.permissions import Actor
from governance.voting import cast_vote
from storage.database import Database
from storage.models import Application, AuditEvent, Decision, Member, MemberStatus

GUILD = 1_000
OTHER_GUILD = 2_000
MEMBER_ROLE = 11
CONTRIBUTOR_ROLE = 12
MODERATOR_ROLE = 13
BOT = 9
CHARTER = "We share, we decide together, we look after each other."

ADMIN = Actor(user_id=1, manages_guild=True)
MO = Actor(user_id=104, role_ids=frozenset({MEMBER_ROLE, MODERATOR_ROLE}))
ALICE = Actor(user_id=101, role_ids=frozenset({MEMBER_ROLE}))
BOB = Actor(user_id=102, role_ids=frozenset({MEMBER_ROLE}))
NINA = Actor(user_id=301, role_ids=frozenset({CONTRIBUTOR_ROLE}))  # a contributor (once she agreed)
VIC = Actor(user_id=302)  # a visitor
PROFILE = ProfileDraft(
    display_name="  Nina   Kahu ",
    what_they_do="Design studio",
    skills="Illustration, MĀORI language",
    why="Sharing",
    timezone="europe/berlin",
)


@pytest_asyncio.fixture
async def coop_db(db: Database, clock: ManualClock) -> Database:
    """Our cooperative (roles, channels, a charter at version 1) and another one."""
    await configure_guild(
        db,
        guild_id=GUILD,
        actor=ADMIN,
        changes=SetupChanges(
            governance_channel_id=500,
            welcome_channel_id=501,
            member_role_id=MEMBER_ROLE,
            contributor_role_id=CONTRIBUTOR_ROLE,
            moderator_role_id=MODERATOR_ROLE,
        ),
        now=clock.now(),
    )
    await configure_guild(
        db,
        guild_id=OTHER_GUILD,
        actor=ADMIN,
        changes=SetupChanges(governance_channel_id=600, member_role_id=21),
        now=clock.now(),
    )
    await membership.set_charter(db, guild_id=GUILD, actor=ADMIN, text=CHARTER, version=None, now=clock.now())
    return db


async def row(db: Database, user_id: int, guild_id: int = GUILD) -> Member:
    found = await membership.get_member(db, guild_id, user_id)
    assert found is not None
    return found


async def actions(db: Database, user_id: int | None = None) -> list[str]:
    async with db.read() as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if user_id is not None:
            query = query.where(AuditEvent.subject == f"member:{user_id}")
        return [event.action for event in (await session.exec(query)).all()]


async def applications(db: Database) -> list[Application]:
    async with db.read() as session:
        return list((await session.exec(select(Application).order_by(col(Application.id)))).all())


async def agree(db: Database, now: datetime, user_id: int = NINA.user_id, version: int = 1, **kw: Any):
    kw.setdefault("standing", MemberStatus.CONTRIBUTOR)
    return await membership.accept_charter(
        db, guild_id=GUILD, user_id=user_id, version=version, now=now, **kw
    )


async def apply(db: Database, now: datetime, applicant: Actor = NINA, sponsor: Actor | None = None):
    return await membership.apply_for_membership(
        db,
        guild_id=GUILD,
        applicant=applicant,
        applicant_name="Nina",
        sponsor=sponsor,
        statement="I'd like to share the load",
        proposer_id=BOT,
        now=now,
    )


# --- joining, the charter, the profile -----------------------------------------------------------------


async def test_join_makes_a_visitor_and_nothing_is_recorded_where_coopbot_is_not_set_up(
    coop_db: Database, clock: ManualClock
):
    assert await membership.record_join(coop_db, guild_id=3_000, user_id=VIC.user_id, now=clock.now()) is None
    assert await membership.get_member(coop_db, 3_000, VIC.user_id) is None

    settings = await membership.record_join(coop_db, guild_id=GUILD, user_id=VIC.user_id, now=clock.now())
    assert settings is not None and settings.charter_version == 1
    vic = await row(coop_db, VIC.user_id)
    assert (vic.status, vic.joined_at, vic.departed_at) == ("visitor", clock.now(), None)

    clock.advance(timedelta(days=1))
    await membership.record_departure(coop_db, guild_id=GUILD, user_id=VIC.user_id, now=clock.now())
    assert (await row(coop_db, VIC.user_id)).status == "departed"
    clock.advance(timedelta(days=1))
    await membership.record_join(coop_db, guild_id=GUILD, user_id=VIC.user_id, now=clock.now())
    vic = await row(coop_db, VIC.user_id)
    assert (vic.status, vic.joined_at, vic.departed_at) == ("visitor", clock.now(), None)
    assert await actions(coop_db, VIC.user_id) == ["member.join", "member.depart", "member.join"]
    async with coop_db.read() as session:
        rejoin = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()))).first()
    assert rejoin is not None and rejoin.details == {"returning": True}


async def test_agreeing_records_the_version_once(coop_db: Database, clock: ManualClock):
    first = await agree(coop_db, clock.now())
    assert first.recorded and first.accepted_at == clock.now()
    nina = await row(coop_db, NINA.user_id)
    assert (nina.status, nina.charter_version, nina.charter_accepted_at) == ("contributor", 1, clock.now())

    clock.advance(timedelta(minutes=1))
    again = await agree(coop_db, clock.now())
    assert not again.recorded and again.accepted_at == first.accepted_at
    # A double click at the same moment records once too.
    both = await asyncio.gather(
        agree(coop_db, clock.now(), user_id=555), agree(coop_db, clock.now(), user_id=555)
    )
    assert sorted(result.recorded for result in both) == [False, True]
    assert await actions(coop_db, NINA.user_id) == ["member.charter"]
    assert await actions(coop_db, 555) == ["member.charter"]


async def test_a_role_that_could_not_be_given_is_not_recorded(coop_db: Database, clock: ManualClock):
    # The bot could not give the contributor role: the agreement stands, the status does not move.
    await agree(coop_db, clock.now(), user_id=VIC.user_id, standing=MemberStatus.VISITOR)
    vic = await row(coop_db, VIC.user_id)
    assert (vic.status, vic.charter_version) == ("visitor", 1)
    # Once the role is given (a later click), the status follows, with its own audit event.
    result = await agree(coop_db, clock.now(), user_id=VIC.user_id, standing=MemberStatus.CONTRIBUTOR)
    assert not result.recorded
    assert (await row(coop_db, VIC.user_id)).status == "contributor"
    async with coop_db.read() as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "member.charter"))).all()
    assert [event.details for event in events] == [
        {"version": 1},
        {"version": 1, "status": {"from": "visitor", "to": "contributor"}},
    ]


async def test_agreeing_to_a_charter_that_changed_or_does_not_exist_is_refused(
    coop_db: Database, clock: ManualClock
):
    with pytest.raises(Conflict, match="it is now version 1"):
        await agree(coop_db, clock.now(), version=2)
    with pytest.raises(Conflict, match="not written its charter"):
        await membership.accept_charter(
            coop_db,
            guild_id=OTHER_GUILD,
            user_id=NINA.user_id,
            version=1,
            standing=MemberStatus.CONTRIBUTOR,
            now=clock.now(),
        )
    assert await membership.get_member(coop_db, GUILD, NINA.user_id) is None


async def test_charter_versions(coop_db: Database, clock: ManualClock):
    with pytest.raises(NotAllowed):
        await membership.set_charter(
            coop_db, guild_id=GUILD, actor=ALICE, text="Mine", version=None, now=clock.now()
        )
    with pytest.raises(Conflict, match="already the charter"):
        await membership.set_charter(
            coop_db, guild_id=GUILD, actor=MO, text=CHARTER, version=None, now=clock.now()
        )
    # A wording fix keeps the version and everyone's agreement.
    fix = await membership.set_charter(
        coop_db, guild_id=GUILD, actor=MO, text=CHARTER + "!", version=1, now=clock.now()
    )
    assert (fix.settings.charter_version, fix.reaccept) == (1, False)
    new = await membership.set_charter(
        coop_db, guild_id=GUILD, actor=MO, text=CHARTER + " We meet monthly.", version=None, now=clock.now()
    )
    assert (new.settings.charter_version, new.previous_version, new.reaccept) == (2, 1, True)
    with pytest.raises(InvalidInput, match="at version 2"):
        await membership.set_charter(
            coop_db, guild_id=GUILD, actor=MO, text="Older", version=1, now=clock.now()
        )
    with pytest.raises(InvalidInput, match="at most 4000 characters"):
        await membership.set_charter(
            coop_db, guild_id=GUILD, actor=MO, text="x" * 4001, version=None, now=clock.now()
        )
    async with coop_db.read() as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "coop.charter"))).all()
    assert [(e.details["from_version"], e.details["to_version"]) for e in events] == [(0, 1), (1, 1), (1, 2)]


async def test_the_members_decide_a_new_charter_version(coop_db: Database, clock: ManualClock):
    with pytest.raises(NotAllowed):
        await membership.propose_charter(
            coop_db, guild_id=GUILD, actor=ALICE, text="Mine", version=None, now=clock.now()
        )
    with pytest.raises(InvalidInput, match="the members decide a new version, 2 or higher"):
        await membership.propose_charter(
            coop_db, guild_id=GUILD, actor=MO, text=CHARTER + "!", version=1, now=clock.now()
        )
    with pytest.raises(Conflict, match="nothing to decide"):
        await membership.propose_charter(
            coop_db, guild_id=GUILD, actor=MO, text=CHARTER, version=None, now=clock.now()
        )
    text = CHARTER + " We meet every month."
    passing = await membership.propose_charter(
        coop_db, guild_id=GUILD, actor=MO, text=text, version=None, now=clock.now()
    )
    failing = await membership.propose_charter(
        coop_db, guild_id=GUILD, actor=MO, text="We never meet.", version=3, now=clock.now()
    )
    assert (passing.kind, passing.title, passing.details) == (
        "consent",
        "Adopt version 2 of the charter",
        text,
    )
    assert (passing.link_kind, passing.link_id, failing.link_id) == ("charter", 2, 3)
    assert passing.id is not None and failing.id is not None
    # Nothing changes while the members decide.
    assert (await get_settings(coop_db, GUILD, clock.now())).charter_version == 1

    await cast_vote(
        coop_db,
        guild_id=GUILD,
        decision_id=failing.id,
        actor=BOB,
        now=clock.now(),
        choice="objection",
        reason="We meet monthly",
    )
    clock.set(max(passing.closes_at, failing.closes_at))
    for decision_id in (failing.id, passing.id):
        await close_decision(coop_db, guild_id=GUILD, decision_id=decision_id, eligible=3, now=clock.now())

    settings = await get_settings(coop_db, GUILD, clock.now())
    assert (settings.charter_version, settings.charter_text) == (2, text)
    adopted = await membership.adopted_charter(coop_db, await get_decision(coop_db, GUILD, passing.id))
    assert adopted is not None and adopted.charter_version == 2
    assert await membership.adopted_charter(coop_db, await get_decision(coop_db, GUILD, failing.id)) is None
    async with coop_db.read() as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "coop.charter"))).all()
    assert [(e.actor_id, e.details["to_version"], e.details.get("decision_id")) for e in events][-1:] == [
        (None, 2, passing.id)
    ]


async def test_a_charter_set_meanwhile_is_not_overwritten_by_an_older_decision(
    coop_db: Database, clock: ManualClock
):
    proposed = await membership.propose_charter(
        coop_db, guild_id=GUILD, actor=MO, text="Version two.", version=None, now=clock.now()
    )
    await membership.set_charter(
        coop_db, guild_id=GUILD, actor=MO, text="Version three.", version=3, now=clock.now()
    )
    clock.set(proposed.closes_at)
    assert proposed.id is not None
    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=proposed.id, eligible=3, now=clock.now()
    )
    assert closed is not None and closed.result.passed
    settings = await get_settings(coop_db, GUILD, clock.now())
    assert (settings.charter_version, settings.charter_text) == (3, "Version three.")
    assert await membership.adopted_charter(coop_db, closed.decision) is None


async def test_profile_limits_and_timezone(coop_db: Database, clock: ManualClock):
    over = {
        "display_name": ("Your name", 81),
        "what_they_do": ("“What you do”", 1001),
        "skills": ("Skills", 501),
        "why": ("“What brings you here”", 1001),
    }
    for field, (label, size) in over.items():
        draft = ProfileDraft(**{**PROFILE.__dict__, field: "x" * size})
        with pytest.raises(InvalidInput) as refused:
            await membership.save_profile(
                coop_db,
                guild_id=GUILD,
                user_id=NINA.user_id,
                draft=draft,
                standing=MemberStatus.VISITOR,
                now=clock.now(),
            )
        assert refused.value.message.startswith(
            f"{label} is at most {size - 1} characters (yours has {size})"
        )
    with pytest.raises(InvalidInput, match="I don't know the timezone"):
        membership.clean_profile(ProfileDraft(display_name="Nina", timezone="Mars/Olympus"))
    with pytest.raises(InvalidInput, match="can't be empty"):
        membership.clean_profile(ProfileDraft(display_name="   "))
    assert await membership.get_member(coop_db, GUILD, NINA.user_id) is None

    saved = await membership.save_profile(
        coop_db,
        guild_id=GUILD,
        user_id=NINA.user_id,
        draft=PROFILE,
        standing=MemberStatus.VISITOR,
        now=clock.now(),
    )
    assert saved.first and saved.changed
    nina = await row(coop_db, NINA.user_id)
    assert (nina.display_name, nina.member_timezone, nina.introduced_at) == (
        "Nina Kahu",
        "Europe/Berlin",
        clock.now(),
    )
    same = await membership.save_profile(
        coop_db,
        guild_id=GUILD,
        user_id=NINA.user_id,
        draft=PROFILE,
        standing=MemberStatus.VISITOR,
        now=clock.now(),
    )
    assert not same.first and not same.changed
    edited = await membership.save_profile(
        coop_db,
        guild_id=GUILD,
        user_id=NINA.user_id,
        draft=ProfileDraft(display_name="Nina", skills="Bookkeeping"),
        standing=MemberStatus.VISITOR,
        now=clock.now(),
    )
    assert edited.changed and not edited.first
    assert await actions(coop_db, NINA.user_id) == ["member.introduce", "member.profile"]
    async with coop_db.read() as session:
        last = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()))).first()
    assert last is not None
    assert last.details == {"fields": ["display_name", "what_they_do", "skills", "why", "member_timezone"]}


async def test_skill_search_is_case_insensitive_and_scoped_to_the_guild(
    coop_db: Database, clock: ManualClock
):
    for guild_id in (GUILD, OTHER_GUILD):
        await membership.save_profile(
            coop_db,
            guild_id=guild_id,
            user_id=NINA.user_id if guild_id == GUILD else 999,
            draft=PROFILE,
            standing=MemberStatus.VISITOR,
            now=clock.now(),
        )
    assert await membership.users_with_skill(coop_db, GUILD, "māori") == {NINA.user_id}
    assert await membership.users_with_skill(coop_db, GUILD, "100%") == set()
    found = await membership.profiles(coop_db, GUILD, [NINA.user_id, 999])
    assert list(found) == [NINA.user_id]


# --- applying and the admission decision ---------------------------------------------------------------


async def test_application_refusals_change_nothing(coop_db: Database, clock: ManualClock):
    now = clock.now()
    with pytest.raises(NotAllowed, match="Agree to the charter first"):
        await apply(coop_db, now)
    await agree(coop_db, now)
    with pytest.raises(InvalidInput, match="is not a member of the cooperative"):
        await apply(coop_db, now, sponsor=Actor(user_id=303, role_ids=frozenset({CONTRIBUTOR_ROLE})))
    with pytest.raises(InvalidInput, match="can't sponsor yourself"):
        await apply(coop_db, now, sponsor=NINA)
    with pytest.raises(Conflict, match="already a member"):
        await apply(coop_db, now, applicant=ALICE)
    assert await applications(coop_db) == []
    async with coop_db.read() as session:
        assert (await session.exec(select(Decision))).all() == []

    # The charter changes: the old agreement no longer lets anyone apply.
    await membership.set_charter(coop_db, guild_id=GUILD, actor=MO, text="New", version=None, now=now)
    with pytest.raises(NotAllowed, match="you agreed to it \\(version 1; it is now version 2\\)"):
        await apply(coop_db, now)


async def test_an_application_opens_a_linked_decision_once(coop_db: Database, clock: ManualClock):
    await agree(coop_db, clock.now())
    opened = await apply(coop_db, clock.now(), sponsor=ALICE)
    application, decision = opened.application, opened.decision
    assert decision is not None
    assert (decision.kind, decision.title, decision.author_id) == ("consent", "Admit Nina as member", BOT)
    assert (decision.link_kind, decision.link_id, decision.eligible_role_id) == (
        "admission",
        application.id,
        MEMBER_ROLE,
    )
    assert f"<@{NINA.user_id}> asks to become a member" in decision.details
    assert f"Sponsored by <@{ALICE.user_id}>" in decision.details
    assert (application.status, application.decision_id, application.sponsor_id) == (
        "open",
        decision.id,
        ALICE.user_id,
    )
    with pytest.raises(Conflict, match=f"proposal #{decision.id} decides it"):
        await apply(coop_db, clock.now())
    assert await actions(coop_db, NINA.user_id) == ["member.charter", "member.apply"]

    # The database itself holds one open application per person.
    async with coop_db.write() as session:
        session.add(Application(guild_id=GUILD, user_id=NINA.user_id, status="open", created_at=clock.now()))
        with pytest.raises(IntegrityError):
            await session.flush()
        await session.rollback()


async def test_two_applications_at_once_open_one(coop_db: Database, clock: ManualClock):
    await agree(coop_db, clock.now())
    results = await asyncio.gather(
        apply(coop_db, clock.now()), apply(coop_db, clock.now()), return_exceptions=True
    )
    assert sorted(type(result).__name__ for result in results) == ["ApplicationOpened", "Conflict"]
    assert len(await applications(coop_db)) == 1
    async with coop_db.read() as session:
        assert len((await session.exec(select(Decision))).all()) == 1


async def test_the_admission_decision_admits_and_the_role_confirms(coop_db: Database, clock: ManualClock):
    await agree(coop_db, clock.now())
    opened = await apply(coop_db, clock.now())
    assert opened.decision is not None and opened.decision.id is not None
    await cast_vote(
        coop_db,
        guild_id=GUILD,
        decision_id=opened.decision.id,
        actor=BOB,
        now=clock.now(),
        choice="no_objection",
    )
    clock.set(opened.decision.closes_at)
    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=opened.decision.id, eligible=3, now=clock.now()
    )
    assert closed is not None and closed.result.passed

    [application] = await applications(coop_db)
    assert (application.status, application.decided_at) == ("admitted", clock.now())
    # Until Discord has given the role, the person is still recorded as a contributor.
    assert (await row(coop_db, NINA.user_id)).status == "contributor"
    assert await membership.admission_of(coop_db, closed.decision) == application

    assert application.id is not None
    member = await membership.confirm_admission(
        coop_db, guild_id=GUILD, application_id=application.id, now=clock.now()
    )
    assert member is not None and (member.status, member.admitted_at) == ("member", clock.now())
    # Confirming twice records nothing more.
    assert (
        await membership.confirm_admission(
            coop_db, guild_id=GUILD, application_id=application.id, now=clock.now()
        )
        is None
    )
    assert await actions(coop_db, NINA.user_id) == [
        "member.charter",
        "member.apply",
        "member.admit",
        "member.promote",
    ]


async def test_a_moderator_promoting_after_a_refused_role_completes_the_admission(
    coop_db: Database, clock: ManualClock
):
    await agree(coop_db, clock.now())
    opened = await apply(coop_db, clock.now())
    assert opened.decision is not None and opened.decision.id is not None
    clock.set(opened.decision.closes_at)
    await close_decision(coop_db, guild_id=GUILD, decision_id=opened.decision.id, eligible=3, now=clock.now())
    # Discord refused the member role: confirm_admission never ran. The moderator gives it by hand.
    clock.advance(timedelta(hours=2))

    async def promote() -> Member:
        return await membership.record_change(
            coop_db,
            guild_id=GUILD,
            actor=MO,
            user_id=NINA.user_id,
            change=Change.PROMOTE,
            status=MemberStatus.MEMBER,
            now=clock.now(),
            reason="Role fixed",
        )

    assert (await promote()).status == "member"
    # Demoted, then promoted again: that promotion ends no admission.
    await membership.record_change(
        coop_db,
        guild_id=GUILD,
        actor=MO,
        user_id=NINA.user_id,
        change=Change.DEMOTE,
        status=MemberStatus.CONTRIBUTOR,
        now=clock.now(),
        reason="On leave",
    )
    clock.advance(timedelta(days=1))
    await promote()
    async with coop_db.read() as session:
        promotions = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.action == "member.promote").order_by(col(AuditEvent.id))
            )
        ).all()
    assert [(e.details.get("application_id"), e.details.get("decision_id")) for e in promotions] == [
        (opened.application.id, opened.decision.id),
        (None, None),
    ]


async def test_a_declined_admission_and_a_cancelled_one(coop_db: Database, clock: ManualClock):
    await agree(coop_db, clock.now())
    opened = await apply(coop_db, clock.now())
    assert opened.decision is not None and opened.decision.id is not None
    await cast_vote(
        coop_db,
        guild_id=GUILD,
        decision_id=opened.decision.id,
        actor=BOB,
        now=clock.now(),
        choice="objection",
        reason="Not yet",
    )
    clock.set(opened.decision.closes_at)
    closed = await close_decision(
        coop_db, guild_id=GUILD, decision_id=opened.decision.id, eligible=3, now=clock.now()
    )
    assert closed is not None and closed.result.passed is False
    [application] = await applications(coop_db)
    assert application.status == "declined"
    assert application.id is not None
    assert (
        await membership.confirm_admission(
            coop_db, guild_id=GUILD, application_id=application.id, now=clock.now()
        )
        is None
    )

    # A second application whose decision a moderator cancels does not block a third one.
    second = await apply(coop_db, clock.now())
    assert second.decision is not None and second.decision.id is not None
    await cancel_decision(coop_db, guild_id=GUILD, decision_id=second.decision.id, actor=MO, now=clock.now())
    third = await apply(coop_db, clock.now())
    assert [a.status for a in await applications(coop_db)] == ["declined", "withdrawn", "open"]
    assert third.decision is not None
    assert (await row(coop_db, NINA.user_id)).status == "contributor"


async def test_moderators_decide_admissions_when_the_cooperative_says_so(
    coop_db: Database, clock: ManualClock
):
    with pytest.raises(InvalidInput, match="needs a yes or no"):
        await membership.configure_admission(
            coop_db, guild_id=GUILD, actor=MO, by_decision=None, decision_type="poll", now=clock.now()
        )
    with pytest.raises(NotAllowed):
        await membership.configure_admission(
            coop_db, guild_id=GUILD, actor=ALICE, by_decision=False, decision_type=None, now=clock.now()
        )
    settings = await membership.configure_admission(
        coop_db, guild_id=GUILD, actor=MO, by_decision=False, decision_type="consensus", now=clock.now()
    )
    assert (settings.admission_by_decision, settings.admission_decision_type) == (False, "consensus")
    await agree(coop_db, clock.now())
    opened = await apply(coop_db, clock.now())
    assert opened.decision is None
    with pytest.raises(Conflict, match="a moderator will decide it"):
        await apply(coop_db, clock.now())

    await membership.check_change(coop_db, guild_id=GUILD, actor=MO, target=NINA, change=Change.PROMOTE)
    await membership.record_change(
        coop_db,
        guild_id=GUILD,
        actor=MO,
        user_id=NINA.user_id,
        change=Change.PROMOTE,
        status=MemberStatus.MEMBER,
        reason="Welcome",
        now=clock.now(),
    )
    [application] = await applications(coop_db)
    assert application.status == "admitted"
    assert (await row(coop_db, NINA.user_id)).status == "member"

    # Another applicant is declined by a moderator, with a reason.
    await agree(coop_db, clock.now(), user_id=VIC.user_id)
    await apply(
        coop_db, clock.now(), applicant=Actor(user_id=VIC.user_id, role_ids=frozenset({CONTRIBUTOR_ROLE}))
    )
    declined = await membership.decline_application(
        coop_db,
        guild_id=GUILD,
        actor=MO,
        user_id=VIC.user_id,
        reason="Let's work together first",
        now=clock.now(),
    )
    assert declined.status == "declined"


# --- moderators and leaving ------------------------------------------------------------------------------


async def test_moderator_changes_are_checked_first(coop_db: Database, clock: ManualClock):
    with pytest.raises(NotAllowed, match="Only moderators"):
        await membership.check_change(
            coop_db, guild_id=GUILD, actor=ALICE, target=NINA, change=Change.PROMOTE
        )
    with pytest.raises(NotAllowed, match="hasn't agreed to the charter"):
        await membership.check_change(coop_db, guild_id=GUILD, actor=MO, target=NINA, change=Change.PROMOTE)
    with pytest.raises(Conflict, match="already a member"):
        await membership.check_change(coop_db, guild_id=GUILD, actor=MO, target=ALICE, change=Change.PROMOTE)
    with pytest.raises(Conflict, match="not a member"):
        await membership.check_change(coop_db, guild_id=GUILD, actor=MO, target=NINA, change=Change.DEMOTE)
    with pytest.raises(Conflict, match="not in the cooperative"):
        await membership.check_change(coop_db, guild_id=GUILD, actor=MO, target=VIC, change=Change.REMOVE)
    with pytest.raises(Conflict, match="nothing to leave"):
        await membership.check_change(coop_db, guild_id=GUILD, actor=VIC, target=VIC, change=Change.LEAVE)
    # While the members decide an admission, a moderator doesn't decide it for them.
    await agree(coop_db, clock.now())
    opened = await apply(coop_db, clock.now())
    assert opened.decision is not None
    with pytest.raises(Conflict, match=f"being decided in proposal #{opened.decision.id}"):
        await membership.check_change(coop_db, guild_id=GUILD, actor=MO, target=NINA, change=Change.PROMOTE)
    assert await actions(coop_db, NINA.user_id) == ["member.charter", "member.apply"]


async def test_removal_and_leaving_keep_history(coop_db: Database, clock: ManualClock):
    await agree(coop_db, clock.now())
    await membership.save_profile(
        coop_db,
        guild_id=GUILD,
        user_id=NINA.user_id,
        draft=PROFILE,
        standing=MemberStatus.CONTRIBUTOR,
        now=clock.now(),
    )
    await apply(coop_db, clock.now())
    # Removed (the bot took the roles: no coop role left), the open application goes with it.
    removed = await membership.record_change(
        coop_db,
        guild_id=GUILD,
        actor=MO,
        user_id=NINA.user_id,
        change=Change.REMOVE,
        status=MemberStatus.VISITOR,
        reason="Asked to",
        now=clock.now(),
    )
    assert (removed.status, removed.departed_at, removed.display_name) == (
        "departed",
        clock.now(),
        "Nina Kahu",
    )
    assert [a.status for a in await applications(coop_db)] == ["withdrawn"]

    # A member steps down to contributor; then leaves the server.
    await membership.record_change(
        coop_db,
        guild_id=GUILD,
        actor=ALICE,
        user_id=ALICE.user_id,
        change=Change.LEAVE,
        status=MemberStatus.CONTRIBUTOR,
        now=clock.now(),
    )
    assert (await row(coop_db, ALICE.user_id)).status == "contributor"
    clock.advance(timedelta(hours=1))
    await membership.record_departure(coop_db, guild_id=GUILD, user_id=ALICE.user_id, now=clock.now())
    alice = await row(coop_db, ALICE.user_id)
    assert (alice.status, alice.departed_at) == ("departed", clock.now())
    async with coop_db.read() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.subject == f"member:{ALICE.user_id}"))
        ).all()
    assert [(e.action, e.details.get("to")) for e in events] == [
        ("member.leave", "contributor"),
        ("member.depart", None),
    ]
