"""Proposals and decisions: open, vote, change, withdraw, close, extend, cancel, reopen, record the outcome.

Every function takes plain values (ids, role ids, text) and a Database; state changes that can race (a
vote at the closing second, a double click, two closers) are decided by the database inside one write
transaction: a conditional UPDATE for the close, the unique (decision, voter) constraint for votes, a row
lock on PostgreSQL. Counting happens in SQL (``GROUP BY ballot``), never by loading every vote.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, outbox
from governance.coop import default_open_time, default_settings
from governance.decision_types import DecisionType, get_type
from governance.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from governance.limits import HOUR, UNLIMITED, Limits, enforce
from governance.links import link_for
from governance.permissions import Actor, is_moderator, require_member
from governance.tally import (
    MAX_OPTIONS,
    DecisionRules,
    RawBallot,
    TallyResult,
    describe_ballot,
    encode_ballot,
    parse_ballot_text,
    tally,
    validate_rules,
)
from governance.text import clean_text
from governance.timeparse import (
    check_minimum,
    discord_timestamp,
    earliest_close,
    format_duration,
    parse_duration,
    parse_timezone,
    parse_when,
)
from storage.database import Database, is_postgresql
from storage.models import Decision, DecisionStatus, Guild, Vote, VoteAction, VoteEvent
from storage.types import as_utc

MAX_TITLE = 200
CLOSED_KIND = "decision-closed"  # what a close owes (governance/outbox.py)
MAX_DETAILS = 4000
MAX_REASON = 1000
MAX_OUTCOME_STATEMENT = 2000
REGISTER_PAGE_SIZE = 10


@dataclass(frozen=True)
class ProposalDraft:
    """What a member asked for; None means "the cooperative's default"."""

    title: str
    details: str = ""
    kind: str | None = None
    options: tuple[str, ...] = ()
    closes: str | None = None
    max_choices: int = 1
    score_min: int = 0
    score_max: int = 5
    dots: int = 8
    target: int | None = None
    quorum_percent: int | None = None
    eligible_role_id: int | None = None
    anonymous: bool = False
    hide_results: bool = False
    reasons_required: bool = False


@dataclass(frozen=True)
class VoteReceipt:
    decision: Decision
    ballot: str
    description: str
    previous: str | None
    unchanged: bool


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


async def _settings(session: AsyncSession, guild_id: int, now: datetime) -> Guild:
    return await session.get(Guild, guild_id) or default_settings(guild_id, now)


async def open_link_kinds(db: Database) -> list[str | None]:
    """The link kinds of the open decisions (checked against governance.links at start-up)."""
    async with db.read() as session:
        query = select(Decision.link_kind).where(Decision.status == DecisionStatus.OPEN).distinct()
        return list((await session.exec(query)).all())


async def _load(session: AsyncSession, guild_id: int, decision_id: int, *, lock: bool = False) -> Decision:
    query = select(Decision).where(Decision.id == decision_id, Decision.guild_id == guild_id)
    if lock and is_postgresql(session):
        query = query.with_for_update()
    decision = (await session.exec(query)).first()
    if decision is None:
        # Same answer for "never existed" and "belongs to another cooperative": nothing is revealed.
        raise NotFound(f"There is no proposal #{decision_id} in this server.")
    return decision


async def get_decision(db: Database, guild_id: int, decision_id: int) -> Decision:
    async with db.read() as session:
        return await _load(session, guild_id, decision_id)


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


async def register(
    db: Database,
    guild_id: int,
    *,
    search: str | None = None,
    page: int = 0,
    per_page: int = REGISTER_PAGE_SIZE,
) -> tuple[list[Decision], int]:
    """The decision register: closed decisions, newest first, optionally matching `search`."""
    conditions: list[Any] = [Decision.guild_id == guild_id, Decision.status == DecisionStatus.CLOSED]
    if search and search.strip():
        needle = search.strip().lower()[:100]
        conditions.append(
            or_(
                func.lower(Decision.title).contains(needle, autoescape=True),
                func.lower(func.coalesce(Decision.outcome, "")).contains(needle, autoescape=True),
                func.lower(func.coalesce(Decision.outcome_statement, "")).contains(needle, autoescape=True),
            )
        )
    async with db.read() as session:
        total = (await session.exec(select(func.count()).select_from(Decision).where(*conditions))).one()
        rows = await session.exec(
            select(Decision)
            .where(*conditions)
            .order_by(col(Decision.closed_at).desc(), col(Decision.id).desc())
            .offset(page * per_page)
            .limit(per_page)
        )
        return list(rows.all()), total


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


# --- opening ----------------------------------------------------------------------------------------


def _closing_time(
    settings: Guild, decision_type: DecisionType, closes: str | None, now: datetime
) -> datetime:
    """When a new decision closes: what the member typed, or the default, never sooner than the type's
    minimum (Enspiral's minimums count working days in the cooperative's timezone)."""
    tz = parse_timezone(settings.timezone)
    min_duration, min_working_days = decision_type.min_duration, decision_type.min_working_days
    if closes is None or not closes.strip():
        default = default_open_time(settings, decision_type.kind.value)
        earliest = earliest_close(now, min_duration=min_duration, min_working_days=min_working_days, tz=tz)
        return max(now + default, earliest)
    moment = parse_when(closes, now=now, tz=tz)
    check_minimum(
        now,
        moment,
        min_duration=min_duration,
        min_working_days=min_working_days,
        tz=tz,
        subject=f"A {decision_type.label.lower()} decision",
    )
    return moment


def build_decision(
    settings: Guild,
    *,
    author_id: int,
    draft: ProposalDraft,
    now: datetime,
    link: tuple[str, int] | None = None,
) -> Decision:
    """A new, validated, not yet stored decision; raises InvalidInput for anything unusable."""
    guild_id = settings.id
    decision_type = get_type(draft.kind or settings.default_decision_type)
    title = clean_text(draft.title, field="The title", limit=MAX_TITLE, required=True)
    details = clean_text(draft.details, field="The details", limit=MAX_DETAILS)
    options = tuple(option.strip() for option in draft.options if option.strip())
    if draft.quorum_percent is not None and not 1 <= draft.quorum_percent <= 100:
        raise InvalidInput("The quorum is a percentage of eligible voters, from 1 to 100.")
    rules = DecisionRules(
        kind=decision_type.kind,
        options=options if decision_type.uses_options else (),
        max_choices=draft.max_choices,
        score_min=draft.score_min,
        score_max=draft.score_max,
        dots=draft.dots,
        target=draft.target,
        quorum=Fraction(draft.quorum_percent, 100) if draft.quorum_percent else None,
    )
    if decision_type.uses_options and not options:
        raise InvalidInput(f"A {decision_type.label.lower()} vote needs options: give at least two.")
    if draft.reasons_required and not decision_type.positions:
        raise InvalidInput(
            f"Reasons can be required where voters take a position, not in a {decision_type.label.lower()} "
            "vote (anyone can add one with /proposal vote)."
        )
    validate_rules(rules)
    eligible_role_id = draft.eligible_role_id or settings.member_role_id
    if eligible_role_id is None:
        raise InvalidInput("Choose who can vote (a role), or set a member role first with /coop setup.")
    closes_at = _closing_time(settings, decision_type, draft.closes, now)
    return Decision(
        guild_id=guild_id,
        kind=decision_type.kind.value,
        title=title,
        details=details,
        author_id=author_id,
        options=list(rules.options),
        max_choices=rules.max_choices,
        score_min=rules.score_min,
        score_max=rules.score_max,
        dots=rules.dots,
        target=rules.target,
        quorum_percent=draft.quorum_percent,
        eligible_role_id=eligible_role_id,
        anonymous=draft.anonymous,
        hide_results=draft.hide_results,
        reasons_required=draft.reasons_required,
        status=DecisionStatus.OPEN.value,
        opens_at=now,
        closes_at=closes_at,
        link_kind=link[0] if link else None,
        link_id=link[1] if link else None,
        created_at=now,
        updated_at=now,
    )


async def open_decision_in(
    session: AsyncSession,
    *,
    guild_id: int,
    author_id: int,
    draft: ProposalDraft,
    now: datetime,
    link: tuple[str, int] | None = None,
) -> Decision:
    """Insert a validated decision in `session`'s transaction (for other use-cases: admission, funds)."""
    settings = await _settings(session, guild_id, now)
    decision = build_decision(settings, author_id=author_id, draft=draft, now=now, link=link)
    session.add(decision)
    await session.flush()
    audit.record(
        session,
        guild_id=guild_id,
        actor_id=author_id,
        action="decision.open",
        subject=f"decision:{decision.id}",
        details={"kind": decision.kind, "title": decision.title, "closes_at": decision.closes_at.isoformat()},
        at=now,
    )
    return decision


async def check_draft(
    db: Database, *, guild_id: int, actor: Actor, draft: ProposalDraft, now: datetime
) -> Guild:
    """Refuse a draft before the member writes its text (the title is checked at the end, and so are the
    options when the form asks for them). Returns the cooperative's settings."""
    async with db.read() as session:
        settings = await _settings(session, guild_id, now)
    require_member_or_moderator(settings, actor)
    options = draft.options
    if get_type(draft.kind or settings.default_decision_type).uses_options and not options:
        # The form asks for the options: check the rest as if every option allowed had been given.
        options = tuple(f"Option {number}" for number in range(1, MAX_OPTIONS + 1))
    complete = dataclasses.replace(draft, title="-", options=options)
    build_decision(settings, author_id=actor.user_id, draft=complete, now=now)
    return settings


async def open_decision(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    draft: ProposalDraft,
    now: datetime,
    limits: Limits = UNLIMITED,
) -> Decision:
    """A member opens a proposal. Posting it to Discord is the caller's job (then `attach_message`)."""
    async with db.write() as session:
        settings = await _settings(session, guild_id, now)
        require_member_or_moderator(settings, actor)
        if not is_moderator(settings, actor):
            await enforce(
                session,
                guild_id=guild_id,
                action="decision.open",
                actor_id=actor.user_id,
                allowed=limits.proposals_per_hour,
                window=HOUR,
                now=now,
                refusal=f"You have opened {limits.proposals_per_hour} proposals in the last hour.",
            )
        return await open_decision_in(
            session, guild_id=guild_id, author_id=actor.user_id, draft=draft, now=now
        )


def require_member_or_moderator(settings: Guild, actor: Actor) -> None:
    if not is_moderator(settings, actor):
        require_member(settings, actor)


async def attach_message(
    db: Database, *, guild_id: int, decision_id: int, channel_id: int, message_id: int, thread_id: int | None
) -> None:
    async with db.write() as session:
        await session.exec(
            update(Decision)
            .where(col(Decision.id) == decision_id, col(Decision.guild_id) == guild_id)
            .values(channel_id=channel_id, message_id=message_id, thread_id=thread_id)
        )


async def discard_unposted(db: Database, *, guild_id: int, decision_id: int, now: datetime) -> None:
    """A proposal that could not be posted is cancelled, so that no invisible decision stays open."""
    async with db.write() as session:
        await session.exec(
            update(Decision)
            .where(
                col(Decision.id) == decision_id,
                col(Decision.guild_id) == guild_id,
                col(Decision.message_id).is_(None),
            )
            .values(status=DecisionStatus.CANCELLED.value, closed_at=now, updated_at=now)
        )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=None,
            action="decision.cancel",
            subject=f"decision:{decision_id}",
            details={"reason": "could not be posted"},
            at=now,
        )


# --- voting -----------------------------------------------------------------------------------------


def _require_open(decision: Decision, now: datetime) -> None:
    if decision.status == DecisionStatus.CANCELLED:
        raise Conflict(f"Proposal {label(decision)} was cancelled; it takes no votes.")
    if decision.status == DecisionStatus.CLOSED or now >= decision.closes_at:
        raise Conflict(f"Voting on proposal {label(decision)} has closed.")


def _require_eligible(decision: Decision, actor: Actor) -> None:
    if decision.eligible_role_id is not None and decision.eligible_role_id not in actor.role_ids:
        raise NotAllowed(
            f"Only people with the <@&{decision.eligible_role_id}> role can vote on {label(decision)}."
        )


@dataclass(frozen=True)
class VoteRequest:
    """One vote as it arrived: a structured `choice`, or text the voter `typed`."""

    guild_id: int
    decision_id: int
    actor: Actor
    now: datetime
    choice: RawBallot | None = None
    typed: str | None = None
    reason: str | None = None


async def cast_vote(
    db: Database,
    *,
    guild_id: int,
    decision_id: int,
    actor: Actor,
    now: datetime,
    choice: RawBallot | None = None,
    typed: str | None = None,
    reason: str | None = None,
) -> VoteReceipt:
    """Record `actor`'s ballot; the latest ballot counts and every change is kept in the history."""
    request = VoteRequest(guild_id, decision_id, actor, now, choice, typed, reason)
    [outcome] = await cast_votes(db, [request])
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def cast_votes(db: Database, requests: Sequence[VoteRequest]) -> list[VoteReceipt | DomainError]:
    """Record many votes in ONE transaction (group commit), in order. A vote the rules refuse gets its
    DomainError in its place and writes nothing; the others are committed together."""
    outcomes: list[VoteReceipt | DomainError] = []
    async with db.write() as session:
        decisions_by_id = await _decisions_for(session, requests)
        keys = {(request.decision_id, request.actor.user_id) for request in requests}
        current: dict[tuple[int, int], tuple[str, str | None]] = {}
        for decision_id in {decision_id for decision_id, _ in keys}:
            voters = [voter for d, voter in keys if d == decision_id]
            rows = await session.exec(
                select(Vote.voter_id, Vote.ballot, Vote.reason).where(
                    Vote.decision_id == decision_id, col(Vote.voter_id).in_(voters)
                )
            )
            current.update({(decision_id, voter): (ballot, reason) for voter, ballot, reason in rows.all()})
        upserts: dict[tuple[int, int], dict[str, Any]] = {}
        for request in requests:
            try:
                decision = decisions_by_id.get(request.decision_id)
                if decision is None or decision.guild_id != request.guild_id:
                    raise NotFound(f"There is no proposal #{request.decision_id} in this server.")
                ballot, reason = _checked_ballot(decision, request)
            except DomainError as refusal:
                outcomes.append(refusal)
                continue
            key = (request.decision_id, request.actor.user_id)
            previous = current.get(key)
            description = describe(decision, ballot)
            if previous == (ballot, reason):
                outcomes.append(VoteReceipt(decision, ballot, description, ballot, unchanged=True))
                continue
            current[key] = (ballot, reason)
            upserts[key] = {
                "guild_id": request.guild_id,
                "decision_id": request.decision_id,
                "voter_id": request.actor.user_id,
                "ballot": ballot,
                "reason": reason,
                "cast_at": request.now,
                "updated_at": request.now,
            }
            session.add(
                VoteEvent(
                    guild_id=request.guild_id,
                    decision_id=request.decision_id,
                    voter_id=request.actor.user_id,
                    action=(VoteAction.CHANGE if previous else VoteAction.CAST).value,
                    ballot=ballot,
                    reason=reason,
                    at=request.now,
                )
            )
            outcomes.append(
                VoteReceipt(decision, ballot, description, previous[0] if previous else None, unchanged=False)
            )
        if upserts:
            insert = pg_insert(Vote) if is_postgresql(session) else sqlite_insert(Vote)
            # One row per voter (the latest of the batch); the unique (decision, voter) constraint decides
            # against a concurrent transaction, and the update keeps the first cast_at.
            await session.exec(
                insert.values(list(upserts.values())).on_conflict_do_update(
                    index_elements=["decision_id", "voter_id"],
                    set_={
                        "ballot": insert.excluded.ballot,
                        "reason": insert.excluded.reason,
                        "updated_at": insert.excluded.updated_at,
                    },
                )
            )
    return outcomes


async def _decisions_for(session: AsyncSession, requests: Sequence[VoteRequest]) -> dict[int, Decision]:
    ids = sorted({request.decision_id for request in requests})
    query = select(Decision).where(col(Decision.id).in_(ids))
    if is_postgresql(session):
        # Votes and the close of a decision take turns on its row: a vote never lands after the close, and
        # a voter's previous ballot is read after any concurrent change of theirs committed.
        query = query.with_for_update()
    return {
        decision.id: decision for decision in (await session.exec(query)).all() if decision.id is not None
    }


def _checked_ballot(decision: Decision, request: VoteRequest) -> tuple[str, str | None]:
    """The canonical ballot and reason of a vote, or the DomainError saying why it is refused."""
    reason = (request.reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput(f"A reason is at most {MAX_REASON} characters (yours has {len(reason)}).")
    _require_open(decision, request.now)
    _require_eligible(decision, request.actor)
    rules = rules_of(decision)
    raw = request.choice if request.choice is not None else parse_ballot_text(rules, request.typed or "")
    ballot = encode_ballot(rules, raw)
    if reason is None:
        decision_type = type_of(decision)
        if decision_type.positions and decision_type.position(ballot).needs_reason:
            position = decision_type.position(ballot)
            raise InvalidInput(f"“{position.label}” needs a reason: say what would have to change.")
        if decision.reasons_required:
            raise InvalidInput(
                f"Proposal {label(decision)} asks every voter for a reason: add one to your vote."
            )
    return ballot, reason


class VoteBatcher:
    """Group commit for the vote buttons. Votes that arrive while a batch is being written wait for the
    next one; each batch is one transaction; every voter's call returns only once the transaction holding
    their vote has committed. One commit per vote caps a button at a fraction of Discord's speed; this
    commits a burst of votes at the cost of a few."""

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: list[tuple[VoteRequest, asyncio.Future[VoteReceipt]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0  # batches written: observability for benchmarks and tests

    async def cast(self, request: VoteRequest) -> VoteReceipt:
        future: asyncio.Future[VoteReceipt] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            self.transactions += 1
            try:
                outcomes = await cast_votes(self._db, [request for request, _ in batch])
            except Exception as failure:  # e.g. the database went away: every waiting voter hears of it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


async def withdraw_vote(
    db: Database, *, guild_id: int, decision_id: int, actor: Actor, now: datetime
) -> Decision:
    async with db.write() as session:
        decision = await _load(session, guild_id, decision_id, lock=True)
        _require_open(decision, now)
        removed = await session.exec(
            delete(Vote).where(col(Vote.decision_id) == decision_id, col(Vote.voter_id) == actor.user_id)
        )
        if not removed.rowcount:
            raise Conflict(f"You have no vote on {label(decision)} to withdraw.")
        session.add(
            VoteEvent(
                guild_id=guild_id,
                decision_id=decision_id,
                voter_id=actor.user_id,
                action=VoteAction.WITHDRAW.value,
                at=now,
            )
        )
    return decision


# --- closing and the lifecycle ----------------------------------------------------------------------


def _require_author_or_moderator(settings: Guild, decision: Decision, actor: Actor, doing: str) -> None:
    if actor.user_id != decision.author_id and not is_moderator(settings, actor):
        raise NotAllowed(f"Only the author of {label(decision)} or a moderator can {doing} it.")


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
            decision = await _load(session, guild_id, decision_id)
            _require_author_or_moderator(await _settings(session, guild_id, now), decision, actor, "close")
            full_time = decision.link_kind is not None and not link_for(decision.link_kind).closes_early
            if full_time and now < decision.closes_at:
                # Said alike to its author and to a moderator: neither may close it early.
                raise NotAllowed(
                    f"Proposal {label(decision)} runs its full time, until "
                    f"{discord_timestamp(decision.closes_at)}: nobody closes it early. It can be cancelled "
                    "instead."
                )
            if decision.link_kind is not None and actor.user_id == decision.author_id:
                # The author of a linked decision is its subject (their admission, their request).
                raise NotAllowed(
                    f"{label(decision)} decides on your own request: only a moderator can close it early."
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
            raise Conflict(f"Proposal {label(decision)} is not open.")
        decision = await _load(session, guild_id, decision_id)
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
        # Its announcement (the message, the result in the thread, the consequences) is owed from here on.
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
        settings = await _settings(session, guild_id, now)
        decision = await _load(session, guild_id, decision_id, lock=True)
        _require_author_or_moderator(settings, decision, actor, "extend")
        _require_open(decision, now)
        try:
            new_close = decision.closes_at + parse_duration(closes)
        except InvalidInput:
            new_close = parse_when(closes, now=now, tz=parse_timezone(settings.timezone))
        if new_close <= decision.closes_at:
            raise InvalidInput(
                f"{label(decision)} already closes at {discord_timestamp(decision.closes_at)}: "
                "an extension must be later."
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
        settings = await _settings(session, guild_id, now)
        decision = await _load(session, guild_id, decision_id, lock=True)
        _require_author_or_moderator(settings, decision, actor, "cancel")
        if decision.status != DecisionStatus.OPEN:
            raise Conflict(f"Proposal {label(decision)} is not open, so it can't be cancelled.")
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
        settings = await _settings(session, guild_id, now)
        if not is_moderator(settings, actor):
            raise NotAllowed("Only moderators can reopen a decision.")
        decision = await _load(session, guild_id, decision_id, lock=True)
        if decision.status != DecisionStatus.CLOSED:
            raise Conflict(f"Proposal {label(decision)} is not closed.")
        if decision.anonymous:
            raise Conflict(f"{label(decision)} was anonymous: its votes were not kept, so it can't reopen.")
        if decision.link_kind is not None:
            raise Conflict(
                f"{label(decision)} has already been acted on ({decision.link_kind}); open a new one."
            )
        decision.closes_at = parse_when(closes, now=now, tz=parse_timezone(settings.timezone))
        decision.status = DecisionStatus.OPEN.value
        decision.closed_at = None
        decision.passed = None
        decision.outcome = None
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
        statement, field="The outcome statement", limit=MAX_OUTCOME_STATEMENT, required=True
    )
    async with db.write() as session:
        settings = await _settings(session, guild_id, now)
        decision = await _load(session, guild_id, decision_id, lock=True)
        _require_author_or_moderator(settings, decision, actor, "record the outcome of")
        if decision.status == DecisionStatus.CANCELLED:
            raise Conflict(f"Proposal {label(decision)} was cancelled: there is no outcome to record.")
        if decision.status != DecisionStatus.CLOSED:
            raise Conflict(
                f"Proposal {label(decision)} is still open: record the outcome once it has closed."
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
        settings = await _settings(session, guild_id, now)
        decision = await _load(session, guild_id, decision_id)
        _require_author_or_moderator(settings, decision, actor, "send reminders for")
        _require_open(decision, now)
        await enforce(
            session,
            guild_id=guild_id,
            action="decision.remind",
            subject=f"decision:{decision_id}",
            allowed=1,
            window=limits.remind_every,
            now=now,
            refusal=f"The voters of {label(decision)} were reminded less than "
            f"{format_duration(limits.remind_every)} ago.",
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
