"""Decisions once open: read them, count them, close, extend, cancel, reopen, record the outcome.

Opening is in :mod:`governance.proposing`, voting in :mod:`governance.voting`; what a linked decision acts on
when it closes is in :mod:`governance.links`. Every function takes plain values (ids, role ids, text) and a
Database; state changes that can race (a vote at the closing second, two closers) are decided by the
database inside one write transaction: a conditional UPDATE for the close, a row lock on PostgreSQL.
Counting happens in SQL (``GROUP BY ballot``), never by loading every vote.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, outbox
from governance.coop import settings_in
from governance.decision_types import DecisionType, get_type
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.i18n import Text, _
from governance.limits import UNLIMITED, Limits, enforce
from governance.links import link_for
from governance.permissions import Actor, is_moderator
from governance.tally import (
    DecisionRules,
    TallyResult,
    describe_ballot,
    tally,
)
from governance.text import clean_text
from governance.timeparse import (
    Duration,
    discord_timestamp,
    parse_duration,
    parse_timezone,
    parse_when,
)
from storage.database import Database, is_postgresql
from storage.models import CoopSettings, Decision, DecisionStatus, Vote, VoteEvent
from storage.types import as_utc

CLOSED_KIND = "decision-closed"  # what a close owes (governance/outbox.py)
MAX_REASON = 1000
MAX_OUTCOME_STATEMENT = 2000


@dataclass(frozen=True)
class ClosedDecision:
    decision: Decision
    result: TallyResult
    reasons: list[tuple[int | None, str, str]]


def rules_of(decision: Decision) -> DecisionRules:
    return DecisionRules(
        kind=get_type(decision.kind).kind,
        options=tuple(decision.options),
        max_choices=decision.max_choices,
        score_min=decision.score_min,
        score_max=decision.score_max,
        dots=decision.dots,
        target=decision.target,
        quorum=Fraction(decision.quorum_percent, 100) if decision.quorum_percent else None,
    )


def type_of(decision: Decision) -> DecisionType:
    return get_type(decision.kind)


def label(decision: Decision) -> str:
    """How people refer to a decision: #12."""
    return f"#{decision.id}"


# --- reading ----------------------------------------------------------------------------------------


async def open_link_kinds(db: Database) -> list[str | None]:
    """The link kinds of the open decisions (checked against governance.links at start-up)."""
    async with db.read() as session:
        query = select(Decision.link_kind).where(Decision.status == DecisionStatus.OPEN).distinct()
        return list((await session.exec(query)).all())


async def load_decision_in(
    session: AsyncSession, guild_id: int, decision_id: int, *, lock: bool = False
) -> Decision:
    query = select(Decision).where(Decision.id == decision_id, Decision.guild_id == guild_id)
    if lock and is_postgresql(session):
        query = query.with_for_update()
    decision = (await session.exec(query)).first()
    if decision is None:
        # Same answer for "never existed" and "belongs to another cooperative": nothing is revealed.
        raise NotFound(_("There is no proposal #{number} in this server.", number=decision_id))
    return decision


async def get_decision(db: Database, guild_id: int, decision_id: int) -> Decision:
    async with db.read() as session:
        return await load_decision_in(session, guild_id, decision_id)


async def ballot_counts(session: AsyncSession, decision_id: int) -> dict[str, int]:
    rows = await session.exec(
        select(Vote.ballot, func.count()).where(Vote.decision_id == decision_id).group_by(Vote.ballot)
    )
    return dict(rows.all())


async def current_tally(db: Database, decision: Decision, eligible: int) -> TallyResult:
    """What the result is now (or was at the close)."""
    if decision.status != DecisionStatus.OPEN and decision.result is not None:
        return final_tally(decision)
    assert decision.id is not None
    async with db.read() as session:
        counts = await ballot_counts(session, decision.id)
    return tally(rules_of(decision), counts, eligible)


@dataclass(frozen=True)
class ProposalState:
    """What a proposal's message shows, read at once: the decision, its counts while it is open (closed, its
    result holds them), and its cooperative's settings (the language it is posted in)."""

    decision: Decision
    counts: dict[str, int] | None
    settings: CoopSettings

    def tally(self, eligible: int) -> TallyResult:
        """What the result is now (or was at the close)."""
        if self.counts is None and self.decision.result is not None:
            return final_tally(self.decision)
        return tally(rules_of(self.decision), self.counts or {}, eligible)


async def proposal_state(db: Database, guild_id: int, decision_id: int, now: datetime) -> ProposalState:
    """The decision, its counts and its cooperative's settings in one read (a live tally is redrawn up to
    every two seconds during a vote; three sessions cost it three times the trips)."""
    async with db.read() as session:
        decision = await load_decision_in(session, guild_id, decision_id)
        counts = None
        if decision.status == DecisionStatus.OPEN or decision.result is None:
            counts = await ballot_counts(session, decision_id)
        settings = await settings_in(session, guild_id, now)
    return ProposalState(decision, counts, settings)


def final_tally(decision: Decision) -> TallyResult:
    """The result recorded at the close, recomputed from the stored counts (no vote is read)."""
    assert decision.result is not None
    return tally(rules_of(decision), decision.result["ballot_counts"], decision.result["eligible"])


async def get_vote(db: Database, decision_id: int, voter_id: int) -> Vote | None:
    async with db.read() as session:
        query = select(Vote).where(Vote.decision_id == decision_id, Vote.voter_id == voter_id)
        return (await session.exec(query)).first()


async def voter_ids(db: Database, decision_id: int) -> set[int]:
    async with db.read() as session:
        return set((await session.exec(select(Vote.voter_id).where(Vote.decision_id == decision_id))).all())


async def reasons_given(db: Database, decision: Decision) -> list[tuple[int | None, str, str]]:
    """(voter or None when anonymous, ballot, reason) for every vote that gave a reason."""
    if decision.result is not None and "reasons" in decision.result:
        return [(None, ballot, reason) for ballot, reason in decision.result["reasons"]]
    assert decision.id is not None
    async with db.read() as session:
        rows = await session.exec(
            select(Vote.voter_id, Vote.ballot, Vote.reason)
            .where(Vote.decision_id == decision.id, col(Vote.reason).is_not(None))
            .order_by(col(Vote.cast_at), col(Vote.id))
        )
        given: list[tuple[int | None, str, str]] = [
            (voter, ballot, reason or "") for voter, ballot, reason in rows.all()
        ]
    if decision.anonymous:
        return [(None, ballot, reason) for ballot, reason in _without_names(given)]
    return given


def _without_names(rows: Sequence[tuple[Any, str, str | None]]) -> list[tuple[str, str]]:
    """An anonymous decision's reasons: (ballot, reason), in an order that says nothing about who gave
    which (sorted, not in the order they came)."""
    return sorted((ballot, reason) for _voter, ballot, reason in rows if reason)


async def list_open(
    db: Database, guild_id: int, *, not_voted_by: int | None = None, limit: int = 25
) -> list[Decision]:
    async with db.read() as session:
        query = (
            select(Decision)
            .where(Decision.guild_id == guild_id, Decision.status == DecisionStatus.OPEN)
            .order_by(col(Decision.closes_at))
            .limit(limit)
        )
        if not_voted_by is not None:
            voted = select(Vote.decision_id).where(Vote.voter_id == not_voted_by, Vote.guild_id == guild_id)
            query = query.where(col(Decision.id).not_in(voted))
        return list((await session.exec(query)).all())


async def due_decisions(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None
) -> list[tuple[int, int]]:
    """(guild id, decision id) of every open decision whose closing time has come."""
    async with db.read() as session:
        query = select(Decision.guild_id, Decision.id).where(
            Decision.status == DecisionStatus.OPEN, Decision.closes_at <= now
        )
        if guild_ids is not None:
            query = query.where(col(Decision.guild_id).in_(guild_ids))
        return [
            (guild_id, decision_id)
            for guild_id, decision_id in (await session.exec(query)).all()
            if decision_id
        ]


async def next_closing(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = select(func.min(Decision.closes_at)).where(Decision.status == DecisionStatus.OPEN)
        if guild_ids is not None:
            query = query.where(col(Decision.guild_id).in_(guild_ids))
        value = (await session.exec(query)).one()
    # func.min bypasses the column type on SQLite: normalise to aware UTC here.
    return as_utc(value)


def require_open(decision: Decision, now: datetime) -> None:
    if decision.status == DecisionStatus.CANCELLED:
        raise Conflict(_("Proposal {proposal} was cancelled; it takes no votes.", proposal=label(decision)))
    if decision.status == DecisionStatus.CLOSED or now >= decision.closes_at:
        raise Conflict(_("Voting on proposal {proposal} has closed.", proposal=label(decision)))


# --- closing and the lifecycle ----------------------------------------------------------------------


def _require_local(decision: Decision) -> None:
    """Refuse to change, here, a decision whose time belongs to something wider (a network proposal)."""
    if decision.link_kind is not None and not link_for(decision.link_kind).local_changes:
        raise NotAllowed(
            _(
                "{proposal} is this cooperative's part of a network proposal: it runs until the "
                "network's closing time, and nobody extends, cancels or closes it here.",
                proposal=label(decision),
            )
        )


def _require_author_or_moderator(
    settings: CoopSettings,
    decision: Decision,
    actor: Actor,
    doing: Literal["close", "extend", "cancel", "record the outcome of", "send reminders for"],
) -> None:
    if actor.user_id != decision.author_id and not is_moderator(settings, actor):
        raise NotAllowed(_refused_to_others(label(decision), doing))


def _refused_to_others(
    proposal: str, doing: Literal["close", "extend", "cancel", "record the outcome of", "send reminders for"]
) -> Text:
    """Who may do ``doing`` to a proposal, a sentence for each."""
    if doing == "close":
        return _("Only the author of {proposal} or a moderator can close it.", proposal=proposal)
    if doing == "extend":
        return _("Only the author of {proposal} or a moderator can extend it.", proposal=proposal)
    if doing == "cancel":
        return _("Only the author of {proposal} or a moderator can cancel it.", proposal=proposal)
    if doing == "record the outcome of":
        return _(
            "Only the author of {proposal} or a moderator can record the outcome of it.", proposal=proposal
        )
    return _("Only the author of {proposal} or a moderator can send reminders for it.", proposal=proposal)


async def close_decision(
    db: Database,
    *,
    guild_id: int,
    decision_id: int,
    eligible: int,
    now: datetime,
    actor: Actor | None = None,
) -> ClosedDecision | None:
    """Close and count. With an `actor` it is an early close by the author or a moderator; without, the
    scheduled close, which only happens once the closing time has passed and returns None when another
    process or a retry already closed it."""
    async with db.write() as session:
        if actor is not None:
            decision = await load_decision_in(session, guild_id, decision_id)
            _require_author_or_moderator(await settings_in(session, guild_id, now), decision, actor, "close")
            full_time = decision.link_kind is not None and not link_for(decision.link_kind).closes_early
            if full_time and now < decision.closes_at:
                _require_local(decision)
                # Said alike to its author and to a moderator: neither may close it early.
                raise NotAllowed(
                    _(
                        "Proposal {proposal} runs its full time, until {closes}: nobody closes it early. It "
                        "can be "
                        "cancelled instead.",
                        proposal=label(decision),
                        closes=discord_timestamp(decision.closes_at),
                    )
                )
            linked = link_for(decision.link_kind) if decision.link_kind is not None else None
            if linked is not None and linked.author_is_subject and actor.user_id == decision.author_id:
                # The author of a linked decision is its subject (their admission, their request).
                raise NotAllowed(
                    _(
                        "{proposal} decides on your own request: only a moderator can close it early.",
                        proposal=label(decision),
                    )
                )
        claim = (
            update(Decision)
            .where(
                col(Decision.id) == decision_id,
                col(Decision.guild_id) == guild_id,
                col(Decision.status) == DecisionStatus.OPEN.value,
            )
            .values(status=DecisionStatus.CLOSED.value, closed_at=now, updated_at=now)
        )
        if actor is None:
            claim = claim.where(col(Decision.closes_at) <= now)
        claimed = await session.exec(claim)
        if not claimed.rowcount:
            if actor is None:
                return None
            raise Conflict(_("Proposal {proposal} is not open.", proposal=label(decision)))
        decision = await load_decision_in(session, guild_id, decision_id)
        await session.refresh(decision)
        counts = await ballot_counts(session, decision_id)
        result = tally(rules_of(decision), counts, eligible)
        reasons_rows = (
            await session.exec(
                select(Vote.voter_id, Vote.ballot, Vote.reason)
                .where(Vote.decision_id == decision_id, col(Vote.reason).is_not(None))
                .order_by(col(Vote.cast_at), col(Vote.id))
            )
        ).all()
        stored: dict[str, Any] = {"ballot_counts": counts, "eligible": result.eligible}
        if decision.anonymous:
            # From here on nothing links a voter to a choice: the counts and the reasons stay, the votes
            # and their history go. Reasons are kept sorted so their order says nothing about who.
            stored["reasons"] = [[ballot, reason] for ballot, reason in _without_names(reasons_rows)]
            await session.exec(delete(Vote).where(col(Vote.decision_id) == decision_id))
            await session.exec(delete(VoteEvent).where(col(VoteEvent.decision_id) == decision_id))
        decision.result = stored
        decision.passed = result.passed
        decision.outcome = result.outcome
        decision.outcome_said = result.said.to_json()  # the same, for each reader's language
        session.add(decision)
        if decision.link_kind is not None:
            await link_for(decision.link_kind).on_close(session, decision, result, now)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id if actor else None,
            action="decision.close",
            subject=f"decision:{decision_id}",
            details={"passed": result.passed, "outcome": result.outcome, "early": actor is not None},
            at=now,
        )
        # Its announcement (the message, the result in the thread, the consequences) is owed from here on,
        # unless what it acts on announces it (a network proposal, once every cooperative has closed).
        if decision.link_kind is None or link_for(decision.link_kind).announces:
            await outbox.owe(
                session,
                guild_id=guild_id,
                kind=CLOSED_KIND,
                key=f"{CLOSED_KIND}:{decision_id}:{now.isoformat()}",
                payload={"decision_id": decision_id},
                now=now,
            )
    reasons: list[tuple[int | None, str, str]]
    if decision.anonymous:
        reasons = [(None, ballot, reason) for ballot, reason in stored["reasons"]]
    else:
        reasons = [(voter, ballot, reason or "") for voter, ballot, reason in reasons_rows]
    return ClosedDecision(decision, result, reasons)


# A scheduled close later than this after the closing time says so: the bot was not running when it came
# due (product §4). An early close (by the author or a moderator) comes before the closing time.
CLOSE_LATE_AFTER = timedelta(minutes=5)


def closed_late_by(decision: Decision) -> timedelta | None:
    """How long after its closing time a closed decision was closed, when that is late enough to say so."""
    if decision.status != DecisionStatus.CLOSED or decision.closed_at is None:
        return None
    late = decision.closed_at - decision.closes_at
    return late if late > CLOSE_LATE_AFTER else None


async def closed_as_it_closed(db: Database, guild_id: int, decision_id: int) -> ClosedDecision | None:
    """A closed decision with its result and reasons as they were at the close (for its announcement),
    or None when it is not closed (it was reopened, or cancelled, since)."""
    async with db.read() as session:
        decision = (
            await session.exec(
                select(Decision).where(Decision.id == decision_id, Decision.guild_id == guild_id)
            )
        ).first()
    if decision is None or decision.status != DecisionStatus.CLOSED.value:
        return None
    return ClosedDecision(decision, final_tally(decision), await reasons_given(db, decision))


async def mark_announced(db: Database, decision_id: int, now: datetime) -> None:
    async with db.write() as session:
        await session.exec(
            update(Decision)
            .where(col(Decision.id) == decision_id, col(Decision.announced_at).is_(None))
            .values(announced_at=now)
        )


async def extend_decision(
    db: Database, *, guild_id: int, decision_id: int, actor: Actor, closes: str, now: datetime
) -> Decision:
    """Move the closing time later: by a duration ("2d", added to the current closing time) or to a date."""
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        decision = await load_decision_in(session, guild_id, decision_id, lock=True)
        _require_author_or_moderator(settings, decision, actor, "extend")
        _require_local(decision)
        require_open(decision, now)
        try:
            new_close = decision.closes_at + parse_duration(closes)
        except InvalidInput:
            new_close = parse_when(closes, now=now, tz=parse_timezone(settings.timezone))
        if new_close <= decision.closes_at:
            raise InvalidInput(
                _(
                    "{proposal} already closes at {closes}: an extension must be later.",
                    proposal=label(decision),
                    closes=discord_timestamp(decision.closes_at),
                )
            )
        previous = decision.closes_at
        decision.closes_at = new_close
        decision.updated_at = now
        if new_close - timedelta(seconds=settings.reminder_lead_seconds) > now:
            decision.reminded_at = None  # far enough off again: it earns a new closing-soon reminder
        session.add(decision)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="decision.extend",
            subject=f"decision:{decision_id}",
            details={"from": previous.isoformat(), "to": new_close.isoformat()},
            at=now,
        )
    return decision


async def cancel_decision(
    db: Database, *, guild_id: int, decision_id: int, actor: Actor, now: datetime, reason: str | None = None
) -> Decision:
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        decision = await load_decision_in(session, guild_id, decision_id, lock=True)
        _require_author_or_moderator(settings, decision, actor, "cancel")
        _require_local(decision)
        if decision.status != DecisionStatus.OPEN:
            raise Conflict(
                _("Proposal {proposal} is not open, so it can't be cancelled.", proposal=label(decision))
            )
        decision.status = DecisionStatus.CANCELLED.value
        decision.closed_at = now
        decision.updated_at = now
        session.add(decision)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="decision.cancel",
            subject=f"decision:{decision_id}",
            details={"reason": (reason or "")[:MAX_REASON]},
            at=now,
        )
    return decision


async def reopen_decision(
    db: Database, *, guild_id: int, decision_id: int, actor: Actor, closes: str, now: datetime
) -> Decision:
    """A moderator reopens a closed decision (never an anonymous one: its votes are gone by design)."""
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        if not is_moderator(settings, actor):
            raise NotAllowed(_("Only moderators can reopen a decision."))
        decision = await load_decision_in(session, guild_id, decision_id, lock=True)
        if decision.status != DecisionStatus.CLOSED:
            raise Conflict(_("Proposal {proposal} is not closed.", proposal=label(decision)))
        if decision.anonymous:
            raise Conflict(
                _(
                    "{proposal} was anonymous: its votes were not kept, so it can't reopen.",
                    proposal=label(decision),
                )
            )
        if decision.link_kind is not None:
            raise Conflict(
                _(
                    "{proposal} has already been acted on ({link}); open a new one.",
                    proposal=label(decision),
                    link=decision.link_kind,
                )
            )
        decision.closes_at = parse_when(closes, now=now, tz=parse_timezone(settings.timezone))
        decision.status = DecisionStatus.OPEN.value
        decision.closed_at = None
        decision.passed = None
        decision.outcome = None
        decision.outcome_said = None
        decision.result = None
        decision.reminded_at = None
        decision.announced_at = None
        decision.updated_at = now
        session.add(decision)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="decision.reopen",
            subject=f"decision:{decision_id}",
            details={"closes_at": decision.closes_at.isoformat()},
            at=now,
        )
    return decision


async def record_outcome(
    db: Database,
    *,
    guild_id: int,
    decision_id: int,
    actor: Actor,
    statement: str,
    now: datetime,
    review: str | None = None,
) -> Decision:
    """The author (or a moderator) writes what was decided, and optionally when to review it."""
    statement = clean_text(
        statement, field=_("The outcome statement"), limit=MAX_OUTCOME_STATEMENT, required=True
    )
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        decision = await load_decision_in(session, guild_id, decision_id, lock=True)
        _require_author_or_moderator(settings, decision, actor, "record the outcome of")
        if decision.status == DecisionStatus.CANCELLED:
            raise Conflict(
                _(
                    "Proposal {proposal} was cancelled: there is no outcome to record.",
                    proposal=label(decision),
                )
            )
        if decision.status != DecisionStatus.CLOSED:
            raise Conflict(
                _(
                    "Proposal {proposal} is still open: record the outcome once it has closed.",
                    proposal=label(decision),
                )
            )
        decision.outcome_statement = statement
        if review is not None and review.strip():
            decision.review_at = parse_when(review, now=now, tz=parse_timezone(settings.timezone))
        decision.updated_at = now
        session.add(decision)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="decision.outcome",
            subject=f"decision:{decision_id}",
            details={
                "statement": statement,
                "review_at": decision.review_at.isoformat() if decision.review_at else None,
            },
            at=now,
        )
    return decision


async def authorise_remind(
    db: Database,
    *,
    guild_id: int,
    decision_id: int,
    actor: Actor,
    now: datetime,
    limits: Limits = UNLIMITED,
) -> Decision:
    """May `actor` remind the voters of this decision now? (Its author or a moderator, while it is open, and
    not again within `limits.remind_every`: each reminder pings everyone who has not voted.) Recorded in the
    audit log, as every manual nudge is a governance action."""
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        decision = await load_decision_in(session, guild_id, decision_id)
        _require_author_or_moderator(settings, decision, actor, "send reminders for")
        require_open(decision, now)
        await enforce(
            session,
            guild_id=guild_id,
            action="decision.remind",
            subject=f"decision:{decision_id}",
            allowed=1,
            window=limits.remind_every,
            now=now,
            refusal=_(
                "The voters of {proposal} were reminded less than {duration} ago.",
                proposal=label(decision),
                duration=Duration(limits.remind_every),
            ),
        )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="decision.remind",
            subject=f"decision:{decision_id}",
            at=now,
        )
    return decision


def describe(decision: Decision, ballot: str) -> str:
    """A ballot in words, e.g. "1. Blue, 2. Green"."""
    return describe_ballot(rules_of(decision), ballot)
