"""The governance rhythm: recurring channel reminders, personal reminders and the weekly digest. The
nudges that decisions and fund requests need (closing soon, review date, waiting for a treasurer) are in
:mod:`governance.nudges`.

Everything due is a row with a time. A run first *claims* its row with a conditional UPDATE (the time it
expects is still there, or the "reminded" mark is still empty); only the winner of the claim sends. Two
processes, a retry, or a restart right after a send therefore never send the same reminder twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from governance import audit, outbox
from governance.coop import get_settings, locked_settings, record_settings_change, settings_in
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.i18n import _
from governance.membership import locked_member
from governance.nudges import MAX_LEAD
from governance.permissions import Actor, is_moderator, require_moderator
from governance.schedules import Schedule, Weekly, next_run, parse_schedule
from governance.text import clean_text
from governance.timeparse import parse_time_of_day, parse_timezone, parse_when
from storage.database import Database
from storage.models import (
    CoopSettings,
    Decision,
    DecisionStatus,
    Fund,
    FundingRequest,
    Member,
    OwedMessage,
    Reminder,
    ReminderKind,
    ReminderStatus,
    RequestStatus,
    Vote,
)
from storage.types import as_utc

MAX_MESSAGE = 1800  # leaves room for the "late" note within Discord's 2,000 characters
MAX_CHANNEL_REMINDERS = 50
MAX_PERSONAL_REMINDERS = 25
# A run later than this after its time says so ("this was due while I was offline").
LATE_AFTER = timedelta(minutes=2)
# What a claimed run owes (governance/outbox.py).
REMINDER_KIND = "reminder-run"


@dataclass(frozen=True)
class DueRun:
    """A claimed reminder run: send it now. `late_by` is set when it came due while the bot was down."""

    reminder: Reminder
    due_at: datetime
    late_by: timedelta | None

    def payload(self) -> dict[str, Any]:
        """What the owed message keeps of the run (the reminder itself is read again when it is sent)."""
        return {
            "reminder_id": self.reminder.id,
            "due_at": self.due_at.isoformat(),
            "late_seconds": None if self.late_by is None else self.late_by.total_seconds(),
        }


def _next(schedule: Schedule, reminder_anchor: datetime, after: datetime, timezone: str) -> datetime:
    return next_run(schedule, after=after, tz=parse_timezone(timezone), anchor=reminder_anchor)


# --- channel reminders (moderators) ---------------------------------------------------------------


async def add_channel_reminder(
    db: Database, *, guild_id: int, actor: Actor, channel_id: int, message: str, schedule: str, now: datetime
) -> Reminder:
    """A recurring reminder in a channel, on a schedule in the cooperative's timezone."""
    text = clean_text(
        message,
        field=_("A reminder message"),
        limit=MAX_MESSAGE,
        required=True,
        empty_message=_("The reminder needs a message."),
    )
    parsed = parse_schedule(schedule)
    async with db.write() as session:
        settings = await locked_settings(session, guild_id, now)
        require_moderator(settings, actor)
        count = (
            await session.exec(
                select(func.count())
                .select_from(Reminder)
                .where(
                    Reminder.guild_id == guild_id,
                    Reminder.kind == ReminderKind.CHANNEL.value,
                    col(Reminder.status).in_([ReminderStatus.ACTIVE.value, ReminderStatus.PAUSED.value]),
                )
            )
        ).one()
        if count >= MAX_CHANNEL_REMINDERS:
            raise Conflict(
                _("This server has {limit} reminders already: remove one first.", limit=MAX_CHANNEL_REMINDERS)
            )
        reminder = Reminder(
            guild_id=guild_id,
            kind=ReminderKind.CHANNEL.value,
            channel_id=channel_id,
            user_id=actor.user_id,
            message=text,
            schedule=parsed.spec,
            anchor_at=now,
            next_run_at=_next(parsed, now, now, settings.timezone),
            status=ReminderStatus.ACTIVE.value,
            created_at=now,
        )
        session.add(reminder)
        await session.flush()
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="reminder.add",
            subject=f"reminder:{reminder.id}",
            details={"channel_id": channel_id, "schedule": parsed.spec},
            at=now,
        )
    return reminder


async def list_reminders(
    db: Database, guild_id: int, *, kind: ReminderKind, user_id: int | None = None
) -> list[Reminder]:
    async with db.read() as session:
        query = select(Reminder).where(
            Reminder.guild_id == guild_id,
            Reminder.kind == kind.value,
            col(Reminder.status).in_([ReminderStatus.ACTIVE.value, ReminderStatus.PAUSED.value]),
        )
        if user_id is not None:
            query = query.where(Reminder.user_id == user_id)
        return list((await session.exec(query.order_by(col(Reminder.next_run_at)))).all())


@dataclass(frozen=True)
class _StatusChange:
    """Remove, pause or resume: the audit action, the status a reminder gets, the statuses it may have."""

    action: str
    to_status: ReminderStatus
    from_statuses: frozenset[ReminderStatus]


_REMOVE = _StatusChange(
    "reminder.remove", ReminderStatus.CANCELLED, frozenset({ReminderStatus.ACTIVE, ReminderStatus.PAUSED})
)
_PAUSE = _StatusChange("reminder.pause", ReminderStatus.PAUSED, frozenset({ReminderStatus.ACTIVE}))
_RESUME = _StatusChange("reminder.resume", ReminderStatus.ACTIVE, frozenset({ReminderStatus.PAUSED}))


async def _change_reminder(
    db: Database, change: _StatusChange, *, guild_id: int, reminder_id: int, actor: Actor, now: datetime
) -> Reminder:
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        reminder = (
            await session.exec(
                select(Reminder).where(Reminder.id == reminder_id, Reminder.guild_id == guild_id)
            )
        ).first()
        if reminder is None or reminder.kind == ReminderKind.DIGEST.value:
            raise NotFound(_("There is no reminder #{number} in this server.", number=reminder_id))
        mine = reminder.user_id == actor.user_id
        if reminder.kind == ReminderKind.PERSONAL.value and not mine:
            # Personal reminders are private: someone else's looks like no reminder at all.
            raise NotFound(_("There is no reminder #{number} in this server.", number=reminder_id))
        if reminder.kind == ReminderKind.CHANNEL.value and not is_moderator(settings, actor):
            raise NotAllowed(_("Only moderators can change channel reminders."))
        if reminder.status not in {status.value for status in change.from_statuses}:
            raise Conflict(_("Reminder #{number} is {status}.", number=reminder_id, status=reminder.status))
        reminder.status = change.to_status.value
        if change.to_status == ReminderStatus.ACTIVE and reminder.schedule:
            # Resuming skips what was missed while paused: the next run is the next one from now.
            reminder.next_run_at = _next(
                parse_schedule(reminder.schedule), reminder.anchor_at, now, settings.timezone
            )
        session.add(reminder)
        if reminder.kind != ReminderKind.PERSONAL.value:
            # Personal reminders are one person's own business, not governance: they stay out of the log.
            audit.record(
                session,
                guild_id=guild_id,
                actor_id=actor.user_id,
                action=change.action,
                subject=f"reminder:{reminder_id}",
                at=now,
            )
    return reminder


async def remove_reminder(
    db: Database, *, guild_id: int, reminder_id: int, actor: Actor, now: datetime
) -> Reminder:
    return await _change_reminder(
        db, _REMOVE, guild_id=guild_id, reminder_id=reminder_id, actor=actor, now=now
    )


async def pause_reminder(
    db: Database, *, guild_id: int, reminder_id: int, actor: Actor, now: datetime
) -> Reminder:
    return await _change_reminder(
        db, _PAUSE, guild_id=guild_id, reminder_id=reminder_id, actor=actor, now=now
    )


async def resume_reminder(
    db: Database, *, guild_id: int, reminder_id: int, actor: Actor, now: datetime
) -> Reminder:
    return await _change_reminder(
        db, _RESUME, guild_id=guild_id, reminder_id=reminder_id, actor=actor, now=now
    )


# --- personal reminders -----------------------------------------------------------------------------


async def add_personal_reminder(
    db: Database, *, guild_id: int, actor: Actor, channel_id: int, when: str, message: str, now: datetime
) -> Reminder:
    """/remind me: once, by DM, falling back to a mention in `channel_id`."""
    text = clean_text(
        message,
        field=_("A reminder message"),
        limit=MAX_MESSAGE,
        required=True,
        empty_message=_("The reminder needs a message."),
    )
    settings = await get_settings(db, guild_id, now)
    moment = parse_when(when, now=now, tz=parse_timezone(settings.timezone))
    async with db.write() as session:
        await locked_settings(session, guild_id, now)  # serialises concurrent adds against the limit
        count = (
            await session.exec(
                select(func.count())
                .select_from(Reminder)
                .where(
                    Reminder.guild_id == guild_id,
                    Reminder.user_id == actor.user_id,
                    Reminder.kind == ReminderKind.PERSONAL.value,
                    Reminder.status == ReminderStatus.ACTIVE.value,
                )
            )
        ).one()
        if count >= MAX_PERSONAL_REMINDERS:
            raise Conflict(
                _(
                    "You have {limit} reminders waiting already: cancel one first.",
                    limit=MAX_PERSONAL_REMINDERS,
                )
            )
        reminder = Reminder(
            guild_id=guild_id,
            kind=ReminderKind.PERSONAL.value,
            channel_id=channel_id,
            user_id=actor.user_id,
            message=text,
            anchor_at=now,
            next_run_at=moment,
            status=ReminderStatus.ACTIVE.value,
            created_at=now,
        )
        session.add(reminder)
        await session.flush()
    return reminder


async def cancel_personal_reminder(
    db: Database, *, guild_id: int, reminder_id: int, actor: Actor, now: datetime
) -> Reminder:
    return await remove_reminder(db, guild_id=guild_id, reminder_id=reminder_id, actor=actor, now=now)


# --- the weekly digest ------------------------------------------------------------------------------


async def configure_digest(
    db: Database, *, guild_id: int, actor: Actor, channel_id: int | None, weekday: int, at: str, now: datetime
) -> Reminder | None:
    """Set (or with no channel, switch off) the weekly digest: one digest reminder row per guild."""
    if not 0 <= weekday <= 6:
        raise InvalidInput(_("Choose a day of the week."))
    # Read as a time of day, so that a refusal speaks of what the moderator typed.
    parsed = Weekly(weekdays=frozenset({weekday}), at=parse_time_of_day(at))
    async with db.write() as session:
        settings = await locked_settings(session, guild_id, now)
        require_moderator(settings, actor)
        existing = (
            await session.exec(
                select(Reminder).where(
                    Reminder.guild_id == guild_id,
                    Reminder.kind == ReminderKind.DIGEST.value,
                    col(Reminder.status).in_([ReminderStatus.ACTIVE.value, ReminderStatus.PAUSED.value]),
                )
            )
        ).first()
        settings.digest_channel_id = channel_id
        settings.digest_weekday = weekday
        settings.digest_time = parsed.times()[0].strftime("%H:%M")
        session.add(settings)
        if existing is not None:
            existing.status = ReminderStatus.CANCELLED.value
            session.add(existing)
        digest: Reminder | None = None
        if channel_id is not None:
            digest = Reminder(
                guild_id=guild_id,
                kind=ReminderKind.DIGEST.value,
                channel_id=channel_id,
                user_id=actor.user_id,
                message="",
                schedule=parsed.spec,
                anchor_at=now,
                next_run_at=_next(parsed, now, now, settings.timezone),
                status=ReminderStatus.ACTIVE.value,
                created_at=now,
            )
            session.add(digest)
        record_settings_change(
            session,
            settings,
            actor=actor,
            action="reminder.digest",
            details={"channel_id": channel_id, "schedule": parsed.spec if channel_id else None},
            now=now,
        )
    return digest


# --- running what is due ----------------------------------------------------------------------------


async def next_reminder_due(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = select(func.min(Reminder.next_run_at)).where(Reminder.status == ReminderStatus.ACTIVE.value)
        if guild_ids is not None:
            query = query.where(col(Reminder.guild_id).in_(guild_ids))
        return as_utc((await session.exec(query)).one())


async def claim_due_reminders(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None, *, limit: int = 500
) -> list[DueRun]:
    """Claim every reminder due at `now`: a one-off is marked done, a recurring one moves to its next run
    (missed runs while the bot was down collapse into this one). Only claimed runs are returned."""
    async with db.read() as session:
        query = (
            select(Reminder)
            .where(Reminder.status == ReminderStatus.ACTIVE.value, col(Reminder.next_run_at) <= now)
            .order_by(col(Reminder.next_run_at))
            .limit(limit)
        )
        if guild_ids is not None:
            query = query.where(col(Reminder.guild_id).in_(guild_ids))
        candidates = list((await session.exec(query)).all())
        timezones = {
            guild.id: guild.timezone
            for guild in (
                await session.exec(
                    select(CoopSettings).where(col(CoopSettings.id).in_({r.guild_id for r in candidates}))
                )
            ).all()
        }
    claimed: list[DueRun] = []
    for reminder in candidates:
        due_at = reminder.next_run_at
        assert due_at is not None and reminder.id is not None
        if reminder.schedule:
            following: datetime | None = _next(
                parse_schedule(reminder.schedule),
                reminder.anchor_at,
                now,
                timezones.get(reminder.guild_id, "UTC"),
            )
            status = ReminderStatus.ACTIVE.value
        else:
            following, status = None, ReminderStatus.DONE.value
        late = now - due_at
        run = DueRun(reminder, due_at, late if late > LATE_AFTER else None)
        async with db.write() as session:
            won = await session.exec(
                update(Reminder)
                .where(
                    col(Reminder.id) == reminder.id,
                    col(Reminder.status) == ReminderStatus.ACTIVE.value,
                    col(Reminder.next_run_at) == due_at,
                )
                .values(
                    next_run_at=following,
                    status=status,
                    last_run_at=now,
                    run_count=Reminder.run_count + 1,
                )
            )
            if won.rowcount:
                # This run's message is owed from here on (governance/outbox.py).
                await outbox.owe(
                    session,
                    guild_id=reminder.guild_id,
                    kind=REMINDER_KIND,
                    key=f"{REMINDER_KIND}:{reminder.id}:{due_at.isoformat()}",
                    payload=run.payload(),
                    now=now,
                )
        if won.rowcount:
            claimed.append(run)
    return claimed


async def owed_run(db: Database, owed: OwedMessage) -> DueRun | None:
    """The reminder run an owed message is for, or None when the reminder was removed since."""
    async with db.read() as session:
        reminder = await session.get(Reminder, int(owed.payload["reminder_id"]))
    if reminder is None or reminder.guild_id != owed.guild_id:
        return None
    late = owed.payload.get("late_seconds")
    return DueRun(
        reminder,
        datetime.fromisoformat(owed.payload["due_at"]),
        None if late is None else timedelta(seconds=late),
    )


@dataclass(frozen=True)
class Digest:
    """What the weekly digest says: open decisions (with how many voted), requests waiting, fund balances,
    and the people who joined or were admitted in the last week."""

    open_decisions: list[tuple[Decision, int]]
    waiting_requests: list[FundingRequest]
    funds: list[Fund]
    joined: list[Member]
    admitted: list[Member]


async def build_digest(db: Database, guild_id: int, now: datetime) -> Digest:
    week_ago = now - timedelta(days=7)
    async with db.read() as session:
        voters = (
            select(Vote.decision_id, func.count().label("voters")).group_by(col(Vote.decision_id)).subquery()
        )
        open_rows = (
            await session.exec(
                select(Decision, func.coalesce(voters.c.voters, 0))
                .outerjoin(voters, voters.c.decision_id == Decision.id)
                .where(Decision.guild_id == guild_id, Decision.status == DecisionStatus.OPEN.value)
                .order_by(col(Decision.closes_at))
                .limit(20)
            )
        ).all()
        waiting = (
            await session.exec(
                select(FundingRequest)
                .where(
                    FundingRequest.guild_id == guild_id,
                    col(FundingRequest.status).in_(
                        [RequestStatus.PENDING.value, RequestStatus.APPROVED.value]
                    ),
                )
                .order_by(col(FundingRequest.created_at))
                .limit(20)
            )
        ).all()
        funds = (
            await session.exec(
                select(Fund)
                .where(Fund.guild_id == guild_id, col(Fund.archived).is_(False))
                .order_by(col(Fund.name))
            )
        ).all()
        joined = (
            await session.exec(
                select(Member).where(Member.guild_id == guild_id, col(Member.joined_at) >= week_ago).limit(50)
            )
        ).all()
        admitted = (
            await session.exec(
                select(Member)
                .where(Member.guild_id == guild_id, col(Member.admitted_at) >= week_ago)
                .limit(50)
            )
        ).all()
    return Digest(
        open_decisions=[(decision, int(count)) for decision, count in open_rows],
        waiting_requests=list(waiting),
        funds=list(funds),
        joined=list(joined),
        admitted=list(admitted),
    )


async def set_dm_reminders(
    db: Database,
    *,
    guild_id: int,
    user_id: int,
    enabled: bool,
    now: datetime,
    joined_at: datetime | None = None,
) -> None:
    """Whether closing-soon reminders also reach this person by DM (off unless they opt in). `joined_at`
    (when they joined the server) is recorded if coopbot did not know them yet."""
    async with db.write() as session:
        member = await locked_member(session, guild_id, user_id, now, joined_at=joined_at)
        member.dm_reminders = enabled
        session.add(member)


async def dm_opted_in(db: Database, guild_id: int, user_ids: Collection[int]) -> set[int]:
    if not user_ids:
        return set()
    async with db.read() as session:
        rows = await session.exec(
            select(Member.user_id).where(
                Member.guild_id == guild_id,
                col(Member.dm_reminders).is_(True),
                col(Member.user_id).in_(user_ids),
            )
        )
        return set(rows.all())


async def configure_rhythm(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    now: datetime,
    lead: timedelta | None = None,
    stale_days: int | None = None,
) -> CoopSettings:
    """The closing-soon lead time and how long a request may wait for a treasurer before a reminder."""
    if lead is not None and not timedelta(hours=1) <= lead <= MAX_LEAD:
        raise InvalidInput(_("The closing-soon reminder can come 1 hour to 7 days before the close."))
    if stale_days is not None and not 1 <= stale_days <= 90:
        raise InvalidInput(_("Requests can wait 1 to 90 days before treasurers are reminded."))
    if lead is None and stale_days is None:
        raise InvalidInput(_("Nothing to change: give the closing-soon lead time or the request wait."))
    async with db.write() as session:
        settings = await locked_settings(session, guild_id, now)
        require_moderator(settings, actor)
        changed: dict[str, Any] = {}
        if lead is not None:
            changed["reminder_lead_seconds"] = int(lead.total_seconds())
        if stale_days is not None:
            changed["request_stale_days"] = stale_days
        for name, value in changed.items():
            setattr(settings, name, value)
        record_settings_change(
            session, settings, actor=actor, action="reminder.settings", details=changed, now=now
        )
    return settings
