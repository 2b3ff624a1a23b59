"""The governance rhythm against a real database: channel and personal reminders, the digest, closing-soon,
review and stale-request reminders. What is stored, what people are told, DST, and the races between two
schedulers sharing one database (nothing is ever sent twice)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlmodel import col, func, select

from governance.clock import ManualClock
from governance.decisions import close_decision, extend_decision, get_decision, record_outcome
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.nudges import (
    claim_closing_soon,
    claim_due_reviews,
    claim_stale_requests,
    closing_soon_candidates,
    next_closing_soon,
    next_review,
    next_stale_request,
)
from governance.permissions import Actor
from governance.reminders import (
    DueRun,
    add_channel_reminder,
    add_personal_reminder,
    build_digest,
    cancel_personal_reminder,
    claim_due_reminders,
    configure_digest,
    configure_rhythm,
    dm_opted_in,
    list_reminders,
    next_reminder_due,
    pause_reminder,
    remove_reminder,
    resume_reminder,
    set_dm_reminders,
)
from storage.database import Database
from storage.models import (
    AuditEvent,
    CoopSettings,
    Decision,
    Fund,
    FundingRequest,
    Member,
    Reminder,
    ReminderKind,
    ReminderStatus,
    RequestStatus,
)
from tests.governance.helpers import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    GUILD,
    MEMBER_ROLE,
    MO,
    MODERATOR_ROLE,
    OTHER_GUILD,
    OTHER_MEMBER_ROLE,
    START,
    audits,
    configure,
    ident,
    propose,
    vote,
)

NZ = ZoneInfo("Pacific/Auckland")
CHANNEL = 700
DIGEST_CHANNEL = 900
LEAD = timedelta(hours=24)  # the default closing-soon lead
NOT_A_MODERATOR = "Only moderators can do this (the moderator role or the Manage Server permission)."
# Thursday 2026-11-26 09:00 UTC is Thursday 22:00 NZDT; the next Monday 09:00 NZDT is Sunday 20:00 UTC.
FIRST_MONDAY = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


# --- helpers -------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def rhythm_db(db: Database, clock: ManualClock) -> Database:
    """Our cooperative (Auckland, member and moderator roles) and another one in UTC."""
    assert clock.now() == START
    await configure(
        db,
        clock.now(),
        governance_channel_id=500,
        member_role_id=MEMBER_ROLE,
        moderator_role_id=MODERATOR_ROLE,
        timezone="Pacific/Auckland",
        currency="NZD",
    )
    await configure(db, clock.now(), OTHER_GUILD, governance_channel_id=600, member_role_id=OTHER_MEMBER_ROLE)
    return db


@pytest_asyncio.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    """Another process's view of the same database: its own engine and connections."""
    other = Database.from_url(database_url)
    yield other
    await other.dispose()


async def add_weekly(
    db: Database,
    now: datetime,
    *,
    schedule: str = "every monday 09:00",
    actor: Actor = MO,
    message: str = "Stand-up: post your week in #governance",
    guild_id: int = GUILD,
) -> Reminder:
    return await add_channel_reminder(
        db, guild_id=guild_id, actor=actor, channel_id=CHANNEL, message=message, schedule=schedule, now=now
    )


async def remind_me(
    db: Database, now: datetime, when: str, *, actor: Actor = ALICE, message: str = "Call the bank"
) -> Reminder:
    return await add_personal_reminder(
        db, guild_id=GUILD, actor=actor, channel_id=CHANNEL, when=when, message=message, now=now
    )


def rid(reminder: Reminder) -> int:
    assert reminder.id is not None
    return reminder.id


async def all_reminders(db: Database) -> list[Reminder]:
    async with db.read() as session:
        return list((await session.exec(select(Reminder).order_by(col(Reminder.id)))).all())


async def reminder_row(db: Database, reminder_id: int) -> Reminder:
    async with db.read() as session:
        row = await session.get(Reminder, reminder_id)
    assert row is not None
    return row


async def guild_row(db: Database, guild_id: int = GUILD) -> CoopSettings | None:
    async with db.read() as session:
        return await session.get(CoopSettings, guild_id)


async def count(db: Database, model: Any) -> int:
    async with db.read() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


def local(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.astimezone(NZ)


def ids_of(runs: list[DueRun]) -> list[int]:
    return [rid(run.reminder) for run in runs]


async def open_for(db: Database, now: datetime, closes: str, title: str = "Buy a 3D printer") -> Decision:
    return await propose(db, now, kind="consent", closes=closes, title=title)


async def closed_with_review(db: Database, clock: ManualClock, title: str, review: str) -> Decision:
    decision = await open_for(db, clock.now(), "2d", title)
    await vote(db, decision, BOB, clock.now(), "no_objection")
    closed = await close_decision(
        db, guild_id=GUILD, decision_id=ident(decision), eligible=3, now=decision.closes_at
    )
    assert closed is not None
    return await record_outcome(
        db,
        guild_id=GUILD,
        decision_id=ident(decision),
        actor=ALICE,
        statement="We bought one.",
        review=review,
        now=decision.closes_at,
    )


async def add_fund(db: Database, name: str, *, balance: int = 0, archived: bool = False) -> Fund:
    async with db.write() as session:
        fund = Fund(
            guild_id=GUILD,
            name=name,
            name_key=name.lower(),
            currency="NZD",
            balance=balance,
            archived=archived,
            created_by=MO.user_id,
            created_at=START,
        )
        session.add(fund)
        await session.flush()
    return fund


async def add_request(
    db: Database,
    fund: Fund,
    created_at: datetime,
    *,
    purpose: str = "A cordless drill",
    status: RequestStatus = RequestStatus.PENDING,
    decision_id: int | None = None,
) -> FundingRequest:
    assert fund.id is not None
    async with db.write() as session:
        request = FundingRequest(
            guild_id=GUILD,
            fund_id=fund.id,
            requester_id=ALICE.user_id,
            amount_min=25_000,
            currency="NZD",
            purpose=purpose,
            status=status.value,
            decision_id=decision_id,
            created_at=created_at,
            updated_at=created_at,
        )
        session.add(request)
        await session.flush()
    return request


async def insert_reminders(db: Database, rows: list[Reminder]) -> list[int]:
    async with db.write() as session:
        session.add_all(rows)
        await session.flush()
        return [rid(row) for row in rows]


# --- channel reminders ---------------------------------------------------------------------------------


async def test_add_channel_reminder_stores_canonical_spec_and_next_run_in_utc(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(
        rhythm_db, clock.now(), schedule="  Every Monday at 9am ", message="  Stand-up notes, please.  "
    )

    stored = await reminder_row(rhythm_db, rid(reminder))
    assert stored.kind == ReminderKind.CHANNEL.value
    assert stored.schedule == "every monday 09:00"
    # Monday 30 November 09:00 NZDT (UTC+13) is Sunday 29 November 20:00 UTC.
    assert stored.next_run_at == FIRST_MONDAY
    assert (local(stored.next_run_at).weekday(), local(stored.next_run_at).hour) == (0, 9)
    assert stored.message == "Stand-up notes, please."
    assert (stored.channel_id, stored.user_id, stored.guild_id) == (CHANNEL, MO.user_id, GUILD)
    assert stored.status == ReminderStatus.ACTIVE.value
    assert (stored.anchor_at, stored.created_at, stored.last_run_at, stored.run_count) == (
        START,
        START,
        None,
        0,
    )
    assert reminder.next_run_at == FIRST_MONDAY

    [event] = await audits(rhythm_db, "reminder.add")
    assert event.actor_id == MO.user_id
    assert event.subject == f"reminder:{rid(reminder)}"
    assert event.details == {"channel_id": CHANNEL, "schedule": "every monday 09:00"}
    assert event.created_at == START
    assert await next_reminder_due(rhythm_db) == FIRST_MONDAY
    assert await next_reminder_due(rhythm_db, [OTHER_GUILD]) is None


async def test_the_same_schedule_in_a_utc_guild_runs_at_09_00_utc(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now(), actor=ADMIN, guild_id=OTHER_GUILD)
    assert reminder.next_run_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_a_non_moderator_cannot_add_a_channel_reminder_and_nothing_is_stored(
    rhythm_db: Database, clock: ManualClock
) -> None:
    with pytest.raises(NotAllowed) as refused:
        await add_weekly(rhythm_db, clock.now(), actor=ALICE)

    assert refused.value.message == NOT_A_MODERATOR
    assert await all_reminders(rhythm_db) == []
    assert await audits(rhythm_db, "reminder.add") == []
    # A moderator of the other cooperative is nobody here.
    with pytest.raises(NotAllowed):
        await add_weekly(
            rhythm_db, clock.now(), actor=Actor(user_id=301, role_ids=frozenset({OTHER_MEMBER_ROLE}))
        )
    assert await all_reminders(rhythm_db) == []


async def test_an_unparseable_schedule_is_invalid_input(rhythm_db: Database, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as refused:
        await add_weekly(rhythm_db, clock.now(), schedule="whenever you feel like it")

    assert refused.value.message.startswith("I couldn't read “whenever you feel like it” as a schedule.")
    assert "every monday 09:00" in refused.value.message  # it shows examples
    with pytest.raises(InvalidInput, match="add a time of day"):
        await add_weekly(rhythm_db, clock.now(), schedule="every monday")
    assert await all_reminders(rhythm_db) == []


async def test_a_message_over_1800_characters_or_empty_is_refused(
    rhythm_db: Database, clock: ManualClock
) -> None:
    with pytest.raises(InvalidInput) as too_long:
        await add_weekly(rhythm_db, clock.now(), message="x" * 1801)
    assert too_long.value.message == "A reminder message is at most 1800 characters (yours has 1801)."

    for empty in ("", "   \n "):
        with pytest.raises(InvalidInput) as refused:
            await add_weekly(rhythm_db, clock.now(), message=empty)
        assert refused.value.message == "The reminder needs a message."
    assert await all_reminders(rhythm_db) == []

    # Exactly at the limit is fine.
    reminder = await add_weekly(rhythm_db, clock.now(), message="y" * 1800)
    assert (await reminder_row(rhythm_db, rid(reminder))).message == "y" * 1800


async def test_list_reminders_shows_active_and_paused_soonest_first(
    rhythm_db: Database, clock: ManualClock
) -> None:
    monday = await add_weekly(rhythm_db, clock.now())
    friday = await add_weekly(rhythm_db, clock.now(), schedule="every friday 16:00")
    gone = await add_weekly(rhythm_db, clock.now(), schedule="every day 12:00")
    await pause_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(monday), actor=MO, now=clock.now())
    await remove_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(gone), actor=MO, now=clock.now())
    mine = await remind_me(rhythm_db, clock.now(), "in 2h")
    await remind_me(rhythm_db, clock.now(), "in 3h", actor=BOB)

    listed = await list_reminders(rhythm_db, GUILD, kind=ReminderKind.CHANNEL)
    assert [rid(r) for r in listed] == [rid(friday), rid(monday)]  # Friday 16:00 NZDT comes first
    assert [r.status for r in listed] == ["active", "paused"]
    personal = await list_reminders(rhythm_db, GUILD, kind=ReminderKind.PERSONAL, user_id=ALICE.user_id)
    assert [rid(r) for r in personal] == [rid(mine)]
    assert await list_reminders(rhythm_db, OTHER_GUILD, kind=ReminderKind.CHANNEL) == []


# --- DST ---------------------------------------------------------------------------------------------------


async def _run_weekly_through(
    db: Database, clock: ManualClock, reminder: Reminder, until: datetime
) -> list[datetime]:
    """Claim the reminder at each of its runs (advancing the clock to it) until `until`; the UTC runs."""
    runs: list[datetime] = []
    due = reminder.next_run_at
    assert due is not None
    while due < until:
        clock.set(due - timedelta(seconds=1))
        assert await claim_due_reminders(db, clock.now()) == [], f"claimed before {due}"
        clock.set(due)
        claimed = await claim_due_reminders(db, clock.now())
        assert [(rid(run.reminder), run.due_at, run.late_by) for run in claimed] == [
            (rid(reminder), due, None)
        ]
        assert await claim_due_reminders(db, clock.now()) == [], f"claimed twice at {due}"
        runs.append(due)
        following = (await reminder_row(db, rid(reminder))).next_run_at
        assert following is not None and following > due
        due = following
    return runs


async def test_weekly_reminder_stays_at_09_00_auckland_across_both_dst_changes(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now())

    runs = await _run_weekly_through(rhythm_db, clock, reminder, datetime(2027, 10, 20, tzinfo=UTC))

    for run in runs:
        assert (local(run).weekday(), local(run).hour, local(run).minute) == (0, 9, 0), run
    # Once a week, every week, never twice: consecutive local dates are exactly 7 days apart.
    dates = [local(run).date() for run in runs]
    assert all((b - a).days == 7 for a, b in itertools.pairwise(dates))
    assert dates[0].isoformat() == "2026-11-30"
    assert dates[-1].isoformat() == "2027-10-18"
    assert len(runs) == 47
    # Around the April change (NZDT → NZST on Sunday 4 April 2027) and the September one (Sunday 26th).
    assert datetime(2027, 3, 28, 20, 0, tzinfo=UTC) in runs  # 09:00 NZDT (UTC+13)
    assert datetime(2027, 4, 4, 21, 0, tzinfo=UTC) in runs  # 09:00 NZST (UTC+12)
    assert datetime(2027, 9, 19, 21, 0, tzinfo=UTC) in runs  # 09:00 NZST
    assert datetime(2027, 9, 26, 20, 0, tzinfo=UTC) in runs  # 09:00 NZDT again
    assert (await reminder_row(rhythm_db, rid(reminder))).run_count == 47


async def test_a_reminder_in_the_repeated_and_the_skipped_hour_fires_once(
    rhythm_db: Database, clock: ManualClock
) -> None:
    # 02:30 on Sunday 4 April 2027 happens twice in Auckland (03:00 NZDT → 02:00 NZST): fire at the first.
    # 02:30 on Sunday 26 September 2027 never happens (02:00 → 03:00 NZDT): fire at the jump, 03:00.
    clock.set(datetime(2027, 3, 20, tzinfo=UTC))
    reminder = await add_weekly(rhythm_db, clock.now(), schedule="every sunday 02:30")

    runs = await _run_weekly_through(rhythm_db, clock, reminder, datetime(2027, 10, 10, tzinfo=UTC))

    april = [run for run in runs if local(run).date().isoformat() == "2027-04-04"]
    assert april == [datetime(2027, 4, 3, 13, 30, tzinfo=UTC)]  # 02:30 NZDT, the first occurrence
    september = [run for run in runs if local(run).date().isoformat() == "2027-09-26"]
    assert september == [datetime(2027, 9, 25, 14, 0, tzinfo=UTC)]  # 03:00 NZDT, the jump
    dates = [local(run).date() for run in runs]
    assert all((b - a).days == 7 for a, b in itertools.pairwise(dates))
    assert len(dates) == len(set(dates))


# --- claiming what is due ---------------------------------------------------------------------------


async def test_a_personal_reminder_is_claimed_once_at_its_time_then_done(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await remind_me(rhythm_db, clock.now(), "in 2h")
    due = START + timedelta(hours=2)
    assert reminder.next_run_at == due

    assert await claim_due_reminders(rhythm_db, due - timedelta(seconds=1)) == []
    [run] = await claim_due_reminders(rhythm_db, due)
    assert (rid(run.reminder), run.due_at, run.late_by) == (rid(reminder), due, None)
    assert run.reminder.message == "Call the bank"
    assert await claim_due_reminders(rhythm_db, due) == []
    assert await claim_due_reminders(rhythm_db, due + timedelta(days=30)) == []

    stored = await reminder_row(rhythm_db, rid(reminder))
    assert (stored.status, stored.next_run_at, stored.last_run_at, stored.run_count) == ("done", None, due, 1)
    assert await next_reminder_due(rhythm_db) is None


async def test_a_recurring_reminder_moves_to_its_next_run(rhythm_db: Database, clock: ManualClock) -> None:
    reminder = await add_weekly(rhythm_db, clock.now())

    # A minute late is not "late" (the alarm is not that precise); three minutes is.
    [run] = await claim_due_reminders(rhythm_db, FIRST_MONDAY + timedelta(minutes=1))
    assert (run.due_at, run.late_by) == (FIRST_MONDAY, None)
    stored = await reminder_row(rhythm_db, rid(reminder))
    assert stored.next_run_at == FIRST_MONDAY + timedelta(days=7)
    assert (stored.status, stored.run_count, stored.last_run_at) == (
        "active",
        1,
        FIRST_MONDAY + timedelta(minutes=1),
    )

    second = FIRST_MONDAY + timedelta(days=7)
    [late] = await claim_due_reminders(rhythm_db, second + timedelta(minutes=3))
    assert (late.due_at, late.late_by) == (second, timedelta(minutes=3))


async def test_runs_missed_while_down_for_three_weeks_collapse_into_one_late_run(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now())
    clock.set(FIRST_MONDAY + timedelta(days=21, hours=5))  # three Mondays missed, five hours after the fourth

    runs = await claim_due_reminders(rhythm_db, clock.now())

    assert [(rid(run.reminder), run.due_at, run.late_by) for run in runs] == [
        (rid(reminder), FIRST_MONDAY, timedelta(days=21, hours=5))
    ]
    assert await claim_due_reminders(rhythm_db, clock.now()) == []
    stored = await reminder_row(rhythm_db, rid(reminder))
    assert stored.next_run_at == FIRST_MONDAY + timedelta(days=28)
    assert stored.next_run_at > clock.now()
    assert stored.run_count == 1
    assert await next_reminder_due(rhythm_db) == FIRST_MONDAY + timedelta(days=28)


async def test_an_every_other_week_reminder_keeps_its_weeks_even_after_downtime(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now(), schedule="every other week on monday 09:00")
    assert reminder.schedule == "every 2 weeks on monday 09:00"
    assert reminder.next_run_at == FIRST_MONDAY

    [run] = await claim_due_reminders(rhythm_db, FIRST_MONDAY)
    assert (await reminder_row(rhythm_db, rid(reminder))).next_run_at == FIRST_MONDAY + timedelta(days=14)
    # Down from before the 14 December run until after 21 December: one late run, then the 28th (an "on"
    # week counted from the first run), not the 21st nor the 4th of January.
    clock.set(FIRST_MONDAY + timedelta(days=22))
    [late] = await claim_due_reminders(rhythm_db, clock.now())
    assert (late.due_at, late.late_by) == (FIRST_MONDAY + timedelta(days=14), timedelta(days=8))
    assert (await reminder_row(rhythm_db, rid(reminder))).next_run_at == FIRST_MONDAY + timedelta(days=28)
    assert run.late_by is None


async def test_a_paused_reminder_is_not_claimed_and_resume_skips_what_was_missed(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now())
    paused = await pause_reminder(
        rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=MO, now=clock.now()
    )
    assert paused.status == "paused"
    with pytest.raises(Conflict) as again:
        await pause_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=MO, now=clock.now())
    assert again.value.message == f"Reminder #{rid(reminder)} is paused."

    assert await claim_due_reminders(rhythm_db, FIRST_MONDAY + timedelta(days=15)) == []
    assert await next_reminder_due(rhythm_db) is None

    # Resumed on Wednesday 16 December (NZDT): the next run is Monday 21 December, not the missed ones.
    clock.set(FIRST_MONDAY + timedelta(days=16))
    resumed = await resume_reminder(
        rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=MO, now=clock.now()
    )
    assert resumed.status == "active"
    assert resumed.next_run_at == FIRST_MONDAY + timedelta(days=21)
    stored = await reminder_row(rhythm_db, rid(reminder))
    assert (stored.status, stored.next_run_at, stored.run_count) == (
        "active",
        FIRST_MONDAY + timedelta(days=21),
        0,
    )
    assert await claim_due_reminders(rhythm_db, clock.now()) == []
    [run] = await claim_due_reminders(rhythm_db, FIRST_MONDAY + timedelta(days=21))
    assert run.late_by is None
    assert [event.action for event in await audits(rhythm_db, subject=f"reminder:{rid(reminder)}")] == [
        "reminder.add",
        "reminder.pause",
        "reminder.resume",
    ]
    with pytest.raises(Conflict, match="is active"):
        await resume_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=MO, now=clock.now())


async def test_a_removed_reminder_is_cancelled_and_never_claimed(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now())

    removed = await remove_reminder(
        rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=MO, now=clock.now()
    )

    assert removed.status == "cancelled"
    assert (await reminder_row(rhythm_db, rid(reminder))).status == "cancelled"
    assert await claim_due_reminders(rhythm_db, FIRST_MONDAY + timedelta(days=60)) == []
    assert await next_reminder_due(rhythm_db) is None
    assert await list_reminders(rhythm_db, GUILD, kind=ReminderKind.CHANNEL) == []
    [event] = await audits(rhythm_db, "reminder.remove")
    assert (event.actor_id, event.subject) == (MO.user_id, f"reminder:{rid(reminder)}")
    with pytest.raises(Conflict) as again:
        await remove_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=MO, now=clock.now())
    assert again.value.message == f"Reminder #{rid(reminder)} is cancelled."


async def test_someone_elses_personal_reminder_does_not_exist_for_them(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await remind_me(rhythm_db, clock.now(), "in 2h")
    hidden = f"There is no reminder #{rid(reminder)} in this server."

    for action in (cancel_personal_reminder, pause_reminder, remove_reminder):
        for other in (BOB, MO, ADMIN):
            with pytest.raises(NotFound) as refused:
                await action(
                    rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=other, now=clock.now()
                )
            assert refused.value.message == hidden
    # Nor does it exist from the other cooperative, even for its owner.
    with pytest.raises(NotFound):
        await cancel_personal_reminder(
            rhythm_db, guild_id=OTHER_GUILD, reminder_id=rid(reminder), actor=ALICE, now=clock.now()
        )
    assert (await reminder_row(rhythm_db, rid(reminder))).status == "active"

    cancelled = await cancel_personal_reminder(
        rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=ALICE, now=clock.now()
    )
    assert cancelled.status == "cancelled"
    assert await claim_due_reminders(rhythm_db, START + timedelta(hours=3)) == []


async def test_a_channel_reminder_can_only_be_changed_by_a_moderator(
    rhythm_db: Database, clock: ManualClock
) -> None:
    reminder = await add_weekly(rhythm_db, clock.now())

    for action in (pause_reminder, remove_reminder):
        with pytest.raises(NotAllowed) as refused:
            await action(rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=ALICE, now=clock.now())
        assert refused.value.message == "Only moderators can change channel reminders."
    assert (await reminder_row(rhythm_db, rid(reminder))).status == "active"
    assert await audits(rhythm_db, "reminder.pause") == []
    with pytest.raises(NotFound, match=r"There is no reminder #\d+ in this server\."):
        await remove_reminder(rhythm_db, guild_id=GUILD, reminder_id=9999, actor=MO, now=clock.now())
    # Someone with Manage Server is a moderator even without the role.
    await pause_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(reminder), actor=ADMIN, now=clock.now())
    assert (await reminder_row(rhythm_db, rid(reminder))).status == "paused"


async def test_claims_are_limited_to_the_guilds_asked_for(rhythm_db: Database, clock: ManualClock) -> None:
    ours = await add_weekly(rhythm_db, clock.now())
    theirs = await add_weekly(rhythm_db, clock.now(), actor=ADMIN, guild_id=OTHER_GUILD)
    later = FIRST_MONDAY + timedelta(days=1)

    assert ids_of(await claim_due_reminders(rhythm_db, later, [OTHER_GUILD])) == [rid(theirs)]
    assert ids_of(await claim_due_reminders(rhythm_db, later, [GUILD, OTHER_GUILD])) == [rid(ours)]


# --- two schedulers on one database ------------------------------------------------------------------


async def _gather_claims(databases: list[Database], now: datetime) -> Counter[int]:
    """Every database claims what is due at `now`, all at the same time: how often each reminder was won."""
    results = await asyncio.gather(*(claim_due_reminders(database, now) for database in databases))
    return Counter(rid(run.reminder) for runs in results for run in runs)


async def test_two_schedulers_never_claim_the_same_reminder_twice(
    rhythm_db: Database, second_db: Database, clock: ManualClock
) -> None:
    # 50 due each round: 25 channel reminders every day at 09:00 Auckland and 25 fresh one-off personal ones.
    recurring = await insert_reminders(
        rhythm_db,
        [
            Reminder(
                guild_id=GUILD,
                kind=ReminderKind.CHANNEL.value,
                channel_id=CHANNEL,
                user_id=MO.user_id,
                message=f"daily #{n}",
                schedule="every day 09:00",
                anchor_at=START,
                next_run_at=datetime(2026, 11, 26, 20, 0, tzinfo=UTC),  # Friday 09:00 NZDT
                created_at=START,
            )
            for n in range(25)
        ],
    )
    now = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    for round_number in range(3):
        personal = await insert_reminders(
            rhythm_db,
            [
                Reminder(
                    guild_id=GUILD,
                    kind=ReminderKind.PERSONAL.value,
                    channel_id=CHANNEL,
                    user_id=1000 + n,
                    message=f"once #{round_number}.{n}",
                    anchor_at=START,
                    next_run_at=now - timedelta(minutes=n),
                    created_at=START,
                )
                for n in range(25)
            ],
        )
        claimed = await _gather_claims([rhythm_db, second_db, rhythm_db, second_db], now)
        assert set(claimed) == set(recurring) | set(personal), f"round {round_number}"
        assert [reminder_id for reminder_id, times in claimed.items() if times > 1] == [], (
            f"round {round_number}"
        )
        now += timedelta(days=1)

    rows = await all_reminders(rhythm_db)
    assert {row.run_count for row in rows if row.kind == "channel"} == {3}
    assert {(row.status, row.run_count) for row in rows if row.kind == "personal"} == {("done", 1)}


async def test_ten_concurrent_closing_soon_claims_give_exactly_one_reminder(
    rhythm_db: Database, second_db: Database, clock: ManualClock
) -> None:
    decision = await open_for(rhythm_db, clock.now(), "3d")
    now = decision.closes_at - timedelta(hours=23)
    [(candidate, lead)] = await closing_soon_candidates(rhythm_db, now)

    results = await asyncio.gather(
        *(claim_closing_soon(db, candidate, now, lead) for db in [rhythm_db, second_db] * 5)
    )

    assert sorted(results) == [False] * 9 + [True]
    assert (await get_decision(rhythm_db, GUILD, ident(decision))).reminded_at == now


async def test_concurrent_review_claims_claim_each_decision_once(
    rhythm_db: Database, second_db: Database, clock: ManualClock
) -> None:
    decisions = [
        await closed_with_review(rhythm_db, clock, f"Policy {n}", "2027-01-15 10:00") for n in range(8)
    ]
    now = datetime(2027, 1, 15, tzinfo=UTC)

    results = await asyncio.gather(
        *(claim_due_reviews(db, now) for db in [rhythm_db, second_db, second_db, rhythm_db, second_db])
    )

    claimed = Counter(ident(decision) for batch in results for decision in batch)
    assert claimed == Counter({ident(decision): 1 for decision in decisions})


# --- closing soon ------------------------------------------------------------------------------------


async def test_closing_soon_is_due_a_lead_before_the_close_and_claimed_once(
    rhythm_db: Database, clock: ManualClock
) -> None:
    decision = await open_for(rhythm_db, clock.now(), "3d")
    due = decision.closes_at - LEAD
    assert decision.closes_at == START + timedelta(days=3)

    nxt = await next_closing_soon(rhythm_db)
    assert nxt == due
    assert nxt is not None and nxt.utcoffset() == timedelta(0)
    assert await closing_soon_candidates(rhythm_db, START) == []
    assert await closing_soon_candidates(rhythm_db, due - timedelta(seconds=1)) == []
    [(candidate, lead)] = await closing_soon_candidates(rhythm_db, due)
    assert (ident(candidate), lead) == (ident(decision), 24 * 3600)
    assert await closing_soon_candidates(rhythm_db, due, [OTHER_GUILD]) == []

    assert await claim_closing_soon(rhythm_db, candidate, due, lead) is True
    assert await claim_closing_soon(rhythm_db, candidate, due, lead) is False
    assert await closing_soon_candidates(rhythm_db, due + timedelta(hours=1)) == []
    assert await next_closing_soon(rhythm_db) is None
    assert (await get_decision(rhythm_db, GUILD, ident(decision))).reminded_at == due


async def test_the_closing_soon_lead_follows_configure_rhythm(
    rhythm_db: Database, clock: ManualClock
) -> None:
    decision = await open_for(rhythm_db, clock.now(), "4d")
    settings = await configure_rhythm(
        rhythm_db, guild_id=GUILD, actor=MO, now=clock.now(), lead=timedelta(hours=48)
    )
    assert settings.reminder_lead_seconds == 48 * 3600
    due = decision.closes_at - timedelta(hours=48)

    assert await next_closing_soon(rhythm_db) == due
    assert await closing_soon_candidates(rhythm_db, due - timedelta(minutes=1)) == []
    [(candidate, lead)] = await closing_soon_candidates(rhythm_db, due)
    assert lead == 48 * 3600
    assert await claim_closing_soon(rhythm_db, candidate, due, lead) is True


async def test_a_decision_shorter_than_the_lead_is_nudged_halfway(
    rhythm_db: Database, clock: ManualClock
) -> None:
    decision = await open_for(rhythm_db, clock.now(), "12h")
    halfway = START + timedelta(hours=6)  # the 24-hour lead would fall before it opened

    assert await next_closing_soon(rhythm_db) == halfway
    assert await closing_soon_candidates(rhythm_db, halfway - timedelta(seconds=1)) == []
    [(candidate, lead)] = await closing_soon_candidates(rhythm_db, halfway)
    assert ident(candidate) == ident(decision)
    assert await claim_closing_soon(rhythm_db, candidate, halfway, lead) is True
    assert await next_closing_soon(rhythm_db) is None

    # Extended by three days, it earns the usual reminder a lead before the new close.
    clock.set(halfway + timedelta(hours=1))
    extended = await extend_decision(
        rhythm_db, guild_id=GUILD, decision_id=ident(decision), actor=ALICE, closes="3d", now=clock.now()
    )
    assert extended.closes_at == START + timedelta(hours=12, days=3)
    assert extended.reminded_at is None
    due = extended.closes_at - LEAD
    assert await next_closing_soon(rhythm_db) == due
    assert await closing_soon_candidates(rhythm_db, clock.now()) == []
    [(again, lead)] = await closing_soon_candidates(rhythm_db, due)
    assert await claim_closing_soon(rhythm_db, again, due, lead) is True


async def test_extending_far_later_earns_a_new_closing_soon_reminder(
    rhythm_db: Database, clock: ManualClock
) -> None:
    decision = await open_for(rhythm_db, clock.now(), "3d")
    first_due = decision.closes_at - LEAD + timedelta(hours=1)
    [(candidate, lead)] = await closing_soon_candidates(rhythm_db, first_due)
    assert await claim_closing_soon(rhythm_db, candidate, first_due, lead) is True

    clock.set(first_due + timedelta(hours=1))
    extended = await extend_decision(
        rhythm_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, closes="1w", now=clock.now()
    )

    assert extended.closes_at == START + timedelta(days=10)
    assert (await get_decision(rhythm_db, GUILD, ident(decision))).reminded_at is None
    assert await closing_soon_candidates(rhythm_db, clock.now()) == []
    second_due = extended.closes_at - LEAD
    assert await next_closing_soon(rhythm_db) == second_due
    [(again, lead)] = await closing_soon_candidates(rhythm_db, second_due)
    assert await claim_closing_soon(rhythm_db, again, second_due, lead) is True
    assert await claim_closing_soon(rhythm_db, again, second_due, lead) is False


async def test_a_small_extension_inside_the_lead_does_not_remind_again(
    rhythm_db: Database, clock: ManualClock
) -> None:
    decision = await open_for(rhythm_db, clock.now(), "3d")
    due = decision.closes_at - timedelta(hours=2)
    [(candidate, lead)] = await closing_soon_candidates(rhythm_db, due)
    assert await claim_closing_soon(rhythm_db, candidate, due, lead) is True

    await extend_decision(
        rhythm_db, guild_id=GUILD, decision_id=ident(decision), actor=MO, closes="2h", now=due
    )

    assert (await get_decision(rhythm_db, GUILD, ident(decision))).reminded_at == due
    assert await closing_soon_candidates(rhythm_db, due + timedelta(hours=1)) == []


# --- reviews -------------------------------------------------------------------------------------------


async def test_a_review_date_is_claimed_once_when_it_comes(rhythm_db: Database, clock: ManualClock) -> None:
    decision = await closed_with_review(rhythm_db, clock, "Switch banks", "2027-01-15 10:00")
    review_at = datetime(2027, 1, 14, 21, 0, tzinfo=UTC)  # 10:00 NZDT
    assert decision.review_at == review_at
    other = await closed_with_review(rhythm_db, clock, "Buy a van", "2027-02-01 10:00")

    assert await next_review(rhythm_db) == review_at
    assert await next_review(rhythm_db, [OTHER_GUILD]) is None
    assert await claim_due_reviews(rhythm_db, review_at - timedelta(seconds=1)) == []
    [claimed] = await claim_due_reviews(rhythm_db, review_at)
    assert ident(claimed) == ident(decision)
    assert claimed.outcome_statement == "We bought one."
    assert await claim_due_reviews(rhythm_db, review_at + timedelta(days=1)) == []
    assert (await get_decision(rhythm_db, GUILD, ident(decision))).review_reminded_at == review_at
    assert await next_review(rhythm_db) == other.review_at
    assert await claim_due_reviews(rhythm_db, datetime(2027, 3, 1, tzinfo=UTC), [OTHER_GUILD]) == []


# --- stale funding requests --------------------------------------------------------------------------


async def test_a_request_waiting_for_a_treasurer_too_long_is_claimed_once(
    rhythm_db: Database, clock: ManualClock
) -> None:
    fund = await add_fund(rhythm_db, "Tools")
    waiting = await add_request(rhythm_db, fund, START)
    newer = await add_request(rhythm_db, fund, START + timedelta(days=3), purpose="A ladder")
    decision = await open_for(rhythm_db, clock.now(), "3d")
    await add_request(rhythm_db, fund, START, purpose="A lathe", decision_id=ident(decision))
    await add_request(rhythm_db, fund, START, purpose="Paint", status=RequestStatus.APPROVED)

    assert await next_stale_request(rhythm_db) == START + timedelta(days=7)
    assert await claim_stale_requests(rhythm_db, START + timedelta(days=7) - timedelta(seconds=1)) == []
    claimed = await claim_stale_requests(rhythm_db, START + timedelta(days=7))
    assert [request.id for request in claimed] == [waiting.id]
    assert await claim_stale_requests(rhythm_db, START + timedelta(days=8)) == []
    assert await next_stale_request(rhythm_db) == START + timedelta(days=10)

    [later] = await claim_stale_requests(rhythm_db, START + timedelta(days=30))
    assert later.id == newer.id
    assert await claim_stale_requests(rhythm_db, START + timedelta(days=60)) == []
    assert await next_stale_request(rhythm_db) is None


async def test_the_stale_limit_follows_configure_rhythm(rhythm_db: Database, clock: ManualClock) -> None:
    fund = await add_fund(rhythm_db, "Tools")
    request = await add_request(rhythm_db, fund, START)
    await configure_rhythm(rhythm_db, guild_id=GUILD, actor=MO, now=clock.now(), stale_days=2)

    assert await next_stale_request(rhythm_db) == START + timedelta(days=2)
    assert await next_stale_request(rhythm_db, [OTHER_GUILD]) is None
    assert await claim_stale_requests(rhythm_db, START + timedelta(days=2), [OTHER_GUILD]) == []
    assert [r.id for r in await claim_stale_requests(rhythm_db, START + timedelta(days=2))] == [request.id]


# --- personal reminders ------------------------------------------------------------------------------


async def test_personal_reminders_read_times_in_the_guild_timezone(
    rhythm_db: Database, clock: ManualClock
) -> None:
    soon = await remind_me(rhythm_db, clock.now(), "in 2h", message="  Call the bank  ")
    # It is Thursday 22:00 in Auckland: tomorrow 9:00 is Friday 09:00 NZDT, i.e. Thursday 20:00 UTC.
    tomorrow = await remind_me(rhythm_db, clock.now(), "tomorrow 9:00")

    stored = await reminder_row(rhythm_db, rid(soon))
    assert stored.next_run_at == START + timedelta(hours=2)
    assert (stored.kind, stored.schedule, stored.message) == ("personal", None, "Call the bank")
    assert (stored.user_id, stored.channel_id, stored.status) == (ALICE.user_id, CHANNEL, "active")
    assert tomorrow.next_run_at == datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    assert (local(tomorrow.next_run_at).day, local(tomorrow.next_run_at).hour) == (27, 9)


@pytest.mark.parametrize("when", ["2026-11-01 10:00", "today 9:00"])
async def test_a_personal_reminder_in_the_past_is_refused(
    rhythm_db: Database, clock: ManualClock, when: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await remind_me(rhythm_db, clock.now(), when)

    assert refused.value.message.startswith("That time is in the past (<t:")
    assert refused.value.message.endswith("Choose a time in the future.")
    assert await all_reminders(rhythm_db) == []


async def test_at_most_25_personal_reminders_wait_per_person(rhythm_db: Database, clock: ManualClock) -> None:
    made = [await remind_me(rhythm_db, clock.now(), f"in {n + 1}h") for n in range(25)]

    with pytest.raises(Conflict) as refused:
        await remind_me(rhythm_db, clock.now(), "in 2d")

    assert refused.value.message == "You have 25 reminders waiting already: cancel one first."
    assert await count(rhythm_db, Reminder) == 25
    # Someone else is not limited by Alice's reminders; one done or cancelled frees a place.
    await remind_me(rhythm_db, clock.now(), "in 2d", actor=BOB)
    await claim_due_reminders(rhythm_db, START + timedelta(hours=1))
    assert (await reminder_row(rhythm_db, rid(made[0]))).status == "done"
    await remind_me(rhythm_db, clock.now(), "in 2d")
    with pytest.raises(Conflict):
        await remind_me(rhythm_db, clock.now(), "in 3d")
    await cancel_personal_reminder(
        rhythm_db, guild_id=GUILD, reminder_id=rid(made[1]), actor=ALICE, now=clock.now()
    )
    await remind_me(rhythm_db, clock.now(), "in 3d")


# --- the weekly digest -------------------------------------------------------------------------------


async def _digests(db: Database) -> list[Reminder]:
    return [row for row in await all_reminders(db) if row.kind == ReminderKind.DIGEST.value]


async def test_configure_digest_creates_one_digest_on_the_local_weekday_and_time(
    rhythm_db: Database, clock: ManualClock
) -> None:
    digest = await configure_digest(
        rhythm_db,
        guild_id=GUILD,
        actor=MO,
        channel_id=DIGEST_CHANNEL,
        weekday=4,
        at="5:30pm",
        now=clock.now(),
    )

    assert digest is not None
    [stored] = await _digests(rhythm_db)
    assert rid(stored) == rid(digest)
    assert (stored.schedule, stored.channel_id, stored.status) == (
        "every friday 17:30",
        DIGEST_CHANNEL,
        "active",
    )
    # Friday 27 November 17:30 NZDT.
    assert stored.next_run_at == datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
    settings = await guild_row(rhythm_db)
    assert settings is not None
    assert (settings.digest_channel_id, settings.digest_weekday, settings.digest_time) == (
        DIGEST_CHANNEL,
        4,
        "17:30",
    )
    [event] = await audits(rhythm_db, "reminder.digest")
    assert event.details == {"channel_id": DIGEST_CHANNEL, "schedule": "every friday 17:30"}
    # The digest is not a channel reminder: it is not listed there, nor removable as one.
    assert await list_reminders(rhythm_db, GUILD, kind=ReminderKind.CHANNEL) == []
    with pytest.raises(NotFound):
        await remove_reminder(rhythm_db, guild_id=GUILD, reminder_id=rid(digest), actor=MO, now=clock.now())

    # It runs through the same claims, once, and moves to the next Friday.
    [run] = await claim_due_reminders(rhythm_db, datetime(2026, 11, 27, 4, 30, tzinfo=UTC))
    assert run.reminder.kind == "digest"
    assert (await reminder_row(rhythm_db, rid(digest))).next_run_at == datetime(
        2026, 12, 4, 4, 30, tzinfo=UTC
    )


async def test_configuring_the_digest_again_replaces_it_and_no_channel_switches_it_off(
    rhythm_db: Database, clock: ManualClock
) -> None:
    first = await configure_digest(
        rhythm_db, guild_id=GUILD, actor=MO, channel_id=DIGEST_CHANNEL, weekday=4, at="17:30", now=clock.now()
    )
    second = await configure_digest(
        rhythm_db,
        guild_id=GUILD,
        actor=MO,
        channel_id=DIGEST_CHANNEL + 1,
        weekday=0,
        at="09:00",
        now=clock.now(),
    )

    assert first is not None and second is not None
    rows = await _digests(rhythm_db)
    assert [(rid(row), row.status) for row in rows] == [(rid(first), "cancelled"), (rid(second), "active")]
    assert second.next_run_at == FIRST_MONDAY
    assert (second.channel_id, second.schedule) == (DIGEST_CHANNEL + 1, "every monday 09:00")

    off = await configure_digest(
        rhythm_db, guild_id=GUILD, actor=MO, channel_id=None, weekday=0, at="09:00", now=clock.now()
    )

    assert off is None
    assert {row.status for row in await _digests(rhythm_db)} == {"cancelled"}
    settings = await guild_row(rhythm_db)
    assert settings is not None and settings.digest_channel_id is None
    assert await claim_due_reminders(rhythm_db, FIRST_MONDAY + timedelta(days=30)) == []
    assert [event.details["channel_id"] for event in await audits(rhythm_db, "reminder.digest")] == [
        DIGEST_CHANNEL,
        DIGEST_CHANNEL + 1,
        None,
    ]


async def test_configure_digest_is_for_moderators_and_a_real_weekday(
    rhythm_db: Database, clock: ManualClock
) -> None:
    with pytest.raises(NotAllowed) as refused:
        await configure_digest(
            rhythm_db,
            guild_id=GUILD,
            actor=ALICE,
            channel_id=DIGEST_CHANNEL,
            weekday=0,
            at="09:00",
            now=clock.now(),
        )
    assert refused.value.message == NOT_A_MODERATOR
    with pytest.raises(InvalidInput) as bad_day:
        await configure_digest(
            rhythm_db,
            guild_id=GUILD,
            actor=MO,
            channel_id=DIGEST_CHANNEL,
            weekday=7,
            at="09:00",
            now=clock.now(),
        )
    assert bad_day.value.message == "Choose a day of the week."
    with pytest.raises(InvalidInput):
        await configure_digest(
            rhythm_db,
            guild_id=GUILD,
            actor=MO,
            channel_id=DIGEST_CHANNEL,
            weekday=0,
            at="25:00",
            now=clock.now(),
        )
    assert await _digests(rhythm_db) == []
    settings = await guild_row(rhythm_db)
    assert settings is not None and settings.digest_channel_id is None


async def test_build_digest_lists_decisions_requests_funds_and_new_members(
    rhythm_db: Database, clock: ManualClock
) -> None:
    soon = await open_for(rhythm_db, clock.now(), "2d", "Switch banks")
    later = await open_for(rhythm_db, clock.now(), "5d", "Buy a van")
    done = await open_for(rhythm_db, clock.now(), "1d", "Paint the door")
    await vote(rhythm_db, soon, ALICE, clock.now(), "no_objection")
    await vote(rhythm_db, soon, BOB, clock.now(), "no_objection")
    await vote(rhythm_db, done, CAROL, clock.now(), "no_objection")
    await close_decision(rhythm_db, guild_id=GUILD, decision_id=ident(done), eligible=3, now=done.closes_at)
    tools = await add_fund(rhythm_db, "Tools", balance=12_000)
    await add_fund(rhythm_db, "Old fund", archived=True)
    events = await add_fund(rhythm_db, "Events", balance=500)
    first = await add_request(rhythm_db, tools, START - timedelta(days=2), purpose="A drill")
    second = await add_request(rhythm_db, tools, START - timedelta(days=1), purpose="A lathe")
    await add_request(rhythm_db, tools, START, purpose="Paint", status=RequestStatus.PAID)
    now = START + timedelta(days=1, hours=1)
    async with rhythm_db.write() as session:
        session.add_all(
            [
                Member(guild_id=GUILD, user_id=501, joined_at=now - timedelta(days=3)),
                Member(guild_id=GUILD, user_id=502, joined_at=now - timedelta(days=10)),
                Member(
                    guild_id=GUILD,
                    user_id=503,
                    joined_at=now - timedelta(days=60),
                    admitted_at=now - timedelta(days=2),
                    status="member",
                ),
                Member(
                    guild_id=GUILD,
                    user_id=504,
                    joined_at=now - timedelta(days=90),
                    admitted_at=now - timedelta(days=30),
                ),
                Member(guild_id=OTHER_GUILD, user_id=505, joined_at=now - timedelta(days=1)),
            ]
        )

    digest = await build_digest(rhythm_db, GUILD, now)

    assert [(decision.title, voters) for decision, voters in digest.open_decisions] == [
        ("Switch banks", 2),
        ("Buy a van", 0),
    ]
    assert ident(later) == ident(digest.open_decisions[1][0])
    assert [request.id for request in digest.waiting_requests] == [first.id, second.id]
    assert [(fund.name, fund.balance) for fund in digest.funds] == [("Events", 500), ("Tools", 12_000)]
    assert events.id in {fund.id for fund in digest.funds}
    assert {member.user_id for member in digest.joined} == {501}
    assert {member.user_id for member in digest.admitted} == {503}
    empty = await build_digest(rhythm_db, OTHER_GUILD, now)
    assert (empty.open_decisions, empty.waiting_requests, empty.funds, empty.admitted) == ([], [], [], [])
    assert [member.user_id for member in empty.joined] == [505]


# --- DMs and the rhythm settings -----------------------------------------------------------------------


async def _members(db: Database, guild_id: int, user_id: int) -> list[Member]:
    async with db.read() as session:
        query = select(Member).where(Member.guild_id == guild_id, Member.user_id == user_id)
        return list((await session.exec(query)).all())


async def test_dm_reminders_opt_in_round_trip(rhythm_db: Database, clock: ManualClock) -> None:
    assert await dm_opted_in(rhythm_db, GUILD, {ALICE.user_id, BOB.user_id}) == set()
    assert await dm_opted_in(rhythm_db, GUILD, []) == set()

    await set_dm_reminders(rhythm_db, guild_id=GUILD, user_id=ALICE.user_id, enabled=True, now=clock.now())

    [created] = await _members(rhythm_db, GUILD, ALICE.user_id)
    assert (created.dm_reminders, created.joined_at, created.status) == (True, START, "visitor")
    assert await dm_opted_in(rhythm_db, GUILD, {ALICE.user_id, BOB.user_id}) == {ALICE.user_id}
    assert await dm_opted_in(rhythm_db, OTHER_GUILD, {ALICE.user_id}) == set()

    clock.advance(timedelta(days=3))
    await set_dm_reminders(rhythm_db, guild_id=GUILD, user_id=ALICE.user_id, enabled=True, now=clock.now())
    await set_dm_reminders(rhythm_db, guild_id=GUILD, user_id=ALICE.user_id, enabled=False, now=clock.now())

    [row] = await _members(rhythm_db, GUILD, ALICE.user_id)
    assert (row.id, row.dm_reminders, row.joined_at) == (created.id, False, START)
    assert await dm_opted_in(rhythm_db, GUILD, {ALICE.user_id}) == set()


async def test_dm_opt_in_keeps_an_existing_member_row(rhythm_db: Database, clock: ManualClock) -> None:
    joined = START - timedelta(days=400)
    async with rhythm_db.write() as session:
        session.add(Member(guild_id=GUILD, user_id=BOB.user_id, joined_at=joined, status="member"))

    await set_dm_reminders(rhythm_db, guild_id=GUILD, user_id=BOB.user_id, enabled=True, now=clock.now())

    [row] = await _members(rhythm_db, GUILD, BOB.user_id)
    assert (row.dm_reminders, row.joined_at, row.status) == (True, joined, "member")
    assert await count(rhythm_db, Member) == 1


async def test_configure_rhythm_refuses_out_of_bounds_values(rhythm_db: Database, clock: ManualClock) -> None:
    lead_message = "The closing-soon reminder can come 1 hour to 7 days before the close."
    stale_message = "Requests can wait 1 to 90 days before treasurers are reminded."
    for lead, stale_days, message in (
        (timedelta(minutes=59), None, lead_message),
        (timedelta(days=7, seconds=1), None, lead_message),
        (None, 0, stale_message),
        (None, 91, stale_message),
        (timedelta(hours=2), 91, stale_message),  # nothing is half-applied
    ):
        with pytest.raises(InvalidInput) as refused:
            await configure_rhythm(
                rhythm_db, guild_id=GUILD, actor=MO, now=clock.now(), lead=lead, stale_days=stale_days
            )
        assert refused.value.message == message

    settings = await guild_row(rhythm_db)
    assert settings is not None
    assert (settings.reminder_lead_seconds, settings.request_stale_days) == (24 * 3600, 7)
    assert await audits(rhythm_db, "reminder.settings") == []


async def test_configure_rhythm_accepts_the_bounds_and_is_audited(
    rhythm_db: Database, clock: ManualClock
) -> None:
    for lead, stale_days in ((timedelta(hours=1), 1), (timedelta(days=7), 90)):
        settings = await configure_rhythm(
            rhythm_db, guild_id=GUILD, actor=MO, now=clock.now(), lead=lead, stale_days=stale_days
        )
        assert (settings.reminder_lead_seconds, settings.request_stale_days) == (
            lead.total_seconds(),
            stale_days,
        )
    stored = await guild_row(rhythm_db)
    assert stored is not None
    assert (stored.reminder_lead_seconds, stored.request_stale_days) == (7 * 24 * 3600, 90)
    events = await audits(rhythm_db, "reminder.settings")
    assert [event.details for event in events] == [
        {"reminder_lead_seconds": 3600, "request_stale_days": 1},
        {"reminder_lead_seconds": 7 * 24 * 3600, "request_stale_days": 90},
    ]
    assert {(event.actor_id, event.subject) for event in events} == {(MO.user_id, f"guild:{GUILD}")}


async def test_configure_rhythm_is_for_moderators(rhythm_db: Database, clock: ManualClock) -> None:
    with pytest.raises(NotAllowed) as refused:
        await configure_rhythm(
            rhythm_db, guild_id=GUILD, actor=ALICE, now=clock.now(), lead=timedelta(hours=2)
        )

    assert refused.value.message == NOT_A_MODERATOR
    settings = await guild_row(rhythm_db)
    assert settings is not None and settings.reminder_lead_seconds == 24 * 3600
    assert await audits(rhythm_db, "reminder.settings") == []
    # A guild that was never set up gets no settings row from a refused attempt.
    with pytest.raises(NotAllowed):
        await configure_rhythm(rhythm_db, guild_id=3_000, actor=ALICE, now=clock.now(), stale_days=3)
    assert await guild_row(rhythm_db, 3_000) is None
    assert await count(rhythm_db, AuditEvent) == len(await audits(rhythm_db, "coop.setup"))


async def test_two_concurrent_digest_setups_leave_one_active_digest(
    rhythm_db: Database, second_db: Database, clock: ManualClock
) -> None:
    # Two moderators (or one double submit, or two processes) set the digest up at the same moment: the
    # cooperative must still get one digest a week, never two.
    for attempt in range(5):
        await asyncio.gather(
            configure_digest(
                rhythm_db,
                guild_id=GUILD,
                actor=MO,
                channel_id=DIGEST_CHANNEL,
                weekday=0,
                at="09:00",
                now=clock.now(),
            ),
            configure_digest(
                second_db,
                guild_id=GUILD,
                actor=ADMIN,
                channel_id=DIGEST_CHANNEL + 1,
                weekday=0,
                at="09:00",
                now=clock.now(),
            ),
        )
        active = [row for row in await _digests(rhythm_db) if row.status == ReminderStatus.ACTIVE.value]
        assert len(active) == 1, f"attempt {attempt}: {[(rid(row), row.channel_id) for row in active]}"
    assert len(await claim_due_reminders(rhythm_db, FIRST_MONDAY)) == 1


async def test_two_concurrent_first_dm_opt_ins_keep_one_member_row(
    rhythm_db: Database, second_db: Database, clock: ManualClock
) -> None:
    # A double click on the opt-in (or two processes) for someone the cooperative has no row for yet.
    for user_id in range(601, 606):
        await asyncio.gather(
            set_dm_reminders(rhythm_db, guild_id=GUILD, user_id=user_id, enabled=True, now=clock.now()),
            set_dm_reminders(second_db, guild_id=GUILD, user_id=user_id, enabled=True, now=clock.now()),
        )
        assert len(await _members(rhythm_db, GUILD, user_id)) == 1
    assert await dm_opted_in(rhythm_db, GUILD, set(range(601, 606))) == set(range(601, 606))
