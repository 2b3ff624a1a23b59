"""Votes: cast, change and withdraw a vote on an open decision, alone or in a group-committed batch.

A vote is decided by the database inside one write transaction, never by what a process remembers: the
unique (decision, voter) constraint makes a double click one vote, the decision is re-read (locked on
PostgreSQL) in the transaction so that no vote lands after a close, and every change is kept in the vote
history. The buttons' votes go through :class:`VoteBatcher`, which commits a burst of clicks in a few
transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import delete
from sqlmodel import col

from governance.decision_types import Position
from governance.decisions import (
    MAX_REASON,
    label,
    load_decision_in,
    require_open,
    rules_of,
    type_of,
)
from governance.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from governance.i18n import Translated, _
from governance.permissions import Actor
from governance.tally import RawBallot, describe_ballot, encode_ballot, parse_ballot_text
from storage.database import Database
from storage.models import Decision, Vote, VoteAction, VoteEvent
from storage.vote_store import EventRow, VoteRow, decision_from_row, vote_transaction
from storage.vote_store import prepare as prepare_vote_store


@dataclass(frozen=True)
class VoteReceipt:
    decision: Decision
    ballot: str
    description: str
    previous: str | None
    unchanged: bool


# --- voting -----------------------------------------------------------------------------------------


def require_eligible(decision: Decision, actor: Actor) -> None:
    """Refuse whoever does not hold the decision's voting role (checked again with every vote)."""
    if decision.eligible_role_id is not None and decision.eligible_role_id not in actor.role_ids:
        raise NotAllowed(
            _(
                "Only people with the {role} role can vote on {proposal}.",
                role=f"<@&{decision.eligible_role_id}>",
                proposal=label(decision),
            )
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
    DomainError in its place and writes nothing; the others are committed together.

    The transaction runs at the driver (storage.vote_store): the decisions' rows (locked on PostgreSQL)
    and the voters' ballots are read, the history and the upserts written, each in one statement. The
    rules are built once per decision and kept while its row stays the same (any change to it, an
    extension, a close, an edit, builds them again)."""
    outcomes: list[VoteReceipt | DomainError] = []
    keys = list(dict.fromkeys((request.decision_id, request.actor.user_id) for request in requests))
    decision_ids = sorted({decision_id for decision_id, _ in keys})
    known = _known_decisions(db)
    async with vote_transaction(db, decision_ids, keys) as transaction:
        rules_by_id = {
            decision_id: known.get(decision_id, row) or known.build(db, decision_id, row)
            for decision_id, row in transaction.decisions.items()
        }
        current = dict(transaction.ballots)
        votes: dict[tuple[int, int], VoteRow] = {}
        events: list[EventRow] = []
        for request in requests:
            try:
                known_rules = rules_by_id.get(request.decision_id)
                if known_rules is None or known_rules.guild_id != request.guild_id:
                    raise NotFound(
                        _("There is no proposal #{number} in this server.", number=request.decision_id)
                    )
                ballot, description, reason = _checked_ballot(known_rules, request)
            except DomainError as refusal:
                outcomes.append(refusal)
                continue
            decision = known_rules.decision
            key = (request.decision_id, request.actor.user_id)
            previous = current.get(key)
            if previous == (ballot, reason):
                outcomes.append(VoteReceipt(decision, ballot, description, ballot, unchanged=True))
                continue
            current[key] = (ballot, reason)
            # One row per voter (the latest of the batch); every change in the history.
            votes[key] = (
                request.guild_id,
                request.decision_id,
                request.actor.user_id,
                ballot,
                reason,
                request.now,
            )
            action = VoteAction.CHANGE if previous else VoteAction.CAST
            events.append(
                (
                    request.guild_id,
                    request.decision_id,
                    request.actor.user_id,
                    action.value,
                    ballot,
                    reason,
                    request.now,
                )
            )
            outcomes.append(
                VoteReceipt(decision, ballot, description, previous[0] if previous else None, unchanged=False)
            )
        transaction.write(events, list(votes.values()))
    return outcomes


class _DecisionRules:
    """A decision as the vote path uses it, built once from its row: the decision, its rules and type, and
    each ballot already checked (a button's choice is checked once per row, not once per vote)."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.guild_id = decision.guild_id
        self.rules = rules_of(decision)
        self.type = type_of(decision)
        self._ballots: dict[str, tuple[str, str, Position | None]] = {}

    def ballot(self, raw: RawBallot) -> tuple[str, str, Position | None]:
        """The canonical ballot, its description, and the position when it asks for a reason."""
        if isinstance(raw, str) and (known := self._ballots.get(raw)) is not None:
            return known
        ballot = encode_ballot(self.rules, raw)
        position = self.type.position(ballot) if self.type.positions else None
        checked = (
            ballot,
            describe_ballot(self.rules, ballot),
            position if position is not None and position.needs_reason else None,
        )
        if isinstance(raw, str):
            self._ballots[raw] = checked
        return checked


class _KnownDecisions:
    """Decisions as the vote path last built them, with the row they were built from: a vote reads the
    row anyway (to refuse votes after a close), and builds the decision again only when the row changed.
    Bounded: the least recently voted on are forgotten first."""

    LIMIT = 512

    def __init__(self) -> None:
        self._entries: OrderedDict[int, tuple[tuple[Any, ...], _DecisionRules]] = OrderedDict()

    def get(self, decision_id: int, row: tuple[Any, ...]) -> _DecisionRules | None:
        entry = self._entries.get(decision_id)
        if entry is None or entry[0] != row:
            return None
        self._entries.move_to_end(decision_id)
        return entry[1]

    def build(self, db: Database, decision_id: int, row: tuple[Any, ...]) -> _DecisionRules:
        known = _DecisionRules(decision_from_row(db, row))
        self._entries[decision_id] = (row, known)
        self._entries.move_to_end(decision_id)
        while len(self._entries) > self.LIMIT:
            self._entries.popitem(last=False)
        return known


_KNOWN: WeakKeyDictionary[Database, _KnownDecisions] = WeakKeyDictionary()


def _known_decisions(db: Database) -> _KnownDecisions:
    known = _KNOWN.get(db)
    if known is None:
        known = _KNOWN[db] = _KnownDecisions()
    return known


def _checked_ballot(known: _DecisionRules, request: VoteRequest) -> tuple[str, str, str | None]:
    """The canonical ballot, its description and the reason of a vote, or the DomainError saying why it
    is refused."""
    decision = known.decision
    reason = (request.reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput(
            _(
                "A reason is at most {limit} characters (yours has {length}).",
                limit=MAX_REASON,
                length=len(reason),
            )
        )
    require_open(decision, request.now)
    require_eligible(decision, request.actor)
    raw = (
        request.choice if request.choice is not None else parse_ballot_text(known.rules, request.typed or "")
    )
    ballot, description, asks_reason = known.ballot(raw)
    if reason is None:
        if asks_reason is not None:
            raise InvalidInput(
                _(
                    "“{position}” needs a reason: say what would have to change.",
                    position=Translated(asks_reason.label),
                )
            )
        if decision.reasons_required:
            raise InvalidInput(
                _(
                    "Proposal {proposal} asks every voter for a reason: add one to your vote.",
                    proposal=label(decision),
                )
            )
    return ballot, description, reason


CLOSE_WAIT_SECONDS = 2.0  # the longest a vote waits for a close under way in this process


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
        self._closing: dict[int, asyncio.Future[None]] = {}
        self.transactions = 0  # batches written: observability for benchmarks and tests

    @asynccontextmanager
    async def closing(self, decision_id: int) -> AsyncIterator[None]:
        """While this process closes a decision: a vote on it that arrives meanwhile waits for the close to
        end, and is then decided against the closed row (refused), instead of slipping in while the close
        reads what it needs. Votes already waiting for a batch go first, as they would have anyway."""
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closing[decision_id] = ended
        try:
            yield
        finally:
            if self._closing.get(decision_id) is ended:
                del self._closing[decision_id]
            ended.set_result(None)

    async def prepare(self) -> None:
        """Get the vote path's connection and statements ready (at start-up, before the first vote)."""
        await prepare_vote_store(self._db)

    async def cast(self, request: VoteRequest) -> VoteReceipt:
        close = self._closing.get(request.decision_id)
        if close is not None:
            # Bounded: a click must be answered within Discord's three seconds; a vote that goes ahead
            # after the wait is still decided against the row as committed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(close), CLOSE_WAIT_SECONDS)
        future: asyncio.Future[VoteReceipt] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
            self._writer.add_done_callback(self._writer_ended)
        return await future

    def _writer_ended(self, writer: asyncio.Task[None]) -> None:
        # Cancelled (the bot shutting down), perhaps before it ran at all: the votes still queued are
        # cancelled with it rather than left waiting for a writer that will not come.
        if writer.cancelled():
            queued, self._queue = self._queue, []
            for _, future in queued:
                future.cancel()

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            self.transactions += 1
            try:
                outcomes = await cast_votes(self._db, [request for request, _ in batch])
            except BaseException as failure:  # e.g. the database went away: every waiting voter hears of it
                for _, future in batch:
                    if future.done():
                        continue
                    if isinstance(failure, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(failure)
                if not isinstance(failure, Exception):
                    raise  # cancelled (shutting down): the votes still queued are cancelled with the task
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
        decision = await load_decision_in(session, guild_id, decision_id, lock=True)
        require_open(decision, now)
        removed = await session.exec(
            delete(Vote).where(col(Vote.decision_id) == decision_id, col(Vote.voter_id) == actor.user_id)
        )
        if not removed.rowcount:
            raise Conflict(_("You have no vote on {proposal} to withdraw.", proposal=label(decision)))
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
