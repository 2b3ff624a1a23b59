"""The nudges decisions and requests need: closing soon (to those who have not voted), the review date of a
decision's outcome, and a request waiting for a treasurer. Each is claimed before it is sent, by a
conditional UPDATE of its "reminded" mark, so two processes or a restart never send one twice.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import outbox
from storage.database import Database, is_postgresql
from storage.models import (
    CoopSettings,
    Decision,
    DecisionStatus,
    FundingRequest,
    OwedMessage,
    RequestStatus,
)
from storage.types import as_utc

# What the claims below owe (governance/outbox.py).
NUDGE_KIND = "closing-soon"
STALE_REQUEST_KIND = "stale-request"
# The longest closing-soon lead a guild may choose; bounds the candidate query.
MAX_LEAD = timedelta(days=7)
JULIAN_DAY_OF_1970 = 2440587.5
SECONDS_PER_DAY = 86400.0


def closing_soon_lead(opens_at: datetime, closes_at: datetime, lead_seconds: int) -> timedelta:
    """How long before its close a decision's closing-soon reminder goes: the guild's lead, or half the
    time the decision is open when that is shorter (a 12-hour decision is nudged 6 hours before its close,
    not before it opened)."""
    return min(timedelta(seconds=lead_seconds), (closes_at - opens_at) / 2)


def _epoch_seconds(session: AsyncSession, column: Any) -> Any:
    """A timestamp column as seconds since 1970 UTC, in the SQL of either database."""
    if is_postgresql(session):
        return func.extract("epoch", column)
    return (func.julianday(column) - JULIAN_DAY_OF_1970) * SECONDS_PER_DAY  # SQLite stores naive UTC


def _closing_soon_moment(session: AsyncSession) -> Any:
    """Each open decision's closing-soon moment in epoch seconds, in SQL (what closing_soon_lead says):
    the later of a lead before its close and halfway through. Computed by the database, so that finding
    the due ones and the next one reads a few rows, not every open decision."""
    opens = _epoch_seconds(session, Decision.opens_at)
    closes = _epoch_seconds(session, Decision.closes_at)
    by_lead, halfway = closes - CoopSettings.reminder_lead_seconds, (opens + closes) / 2
    return func.greatest(by_lead, halfway) if is_postgresql(session) else func.max(by_lead, halfway)


def _waiting_for_closing_soon(guild_ids: Collection[int] | None) -> list[Any]:
    conditions = [Decision.status == DecisionStatus.OPEN.value, col(Decision.reminded_at).is_(None)]
    if guild_ids is not None:
        conditions.append(col(Decision.guild_id).in_(guild_ids))
    return conditions


async def closing_soon_candidates(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None
) -> list[tuple[Decision, int]]:
    """Open decisions whose closing-soon reminder is due: (decision, lead seconds of its guild)."""
    async with db.read() as session:
        query = (
            select(Decision, CoopSettings.reminder_lead_seconds)
            .join(CoopSettings, col(CoopSettings.id) == Decision.guild_id)
            .where(
                *_waiting_for_closing_soon(guild_ids),
                col(Decision.closes_at) > now,
                # The database's float arithmetic narrows the rows; the exact test is below.
                _closing_soon_moment(session) <= now.timestamp() + 1,
            )
        )
        rows = (await session.exec(query)).all()
    return [
        (decision, lead)
        for decision, lead in rows
        if decision.closes_at - closing_soon_lead(decision.opens_at, decision.closes_at, lead) <= now
    ]


async def claim_closing_soon(db: Database, decision: Decision, now: datetime, lead_seconds: int) -> bool:
    """Claim the closing-soon reminder of `decision`; True when this run won it, and the reminder is owed
    (governance/outbox.py, kind NUDGE_KIND) from then on."""
    assert decision.id is not None
    async with db.write() as session:
        won = await session.exec(
            update(Decision)
            .where(
                col(Decision.id) == decision.id,
                col(Decision.reminded_at).is_(None),
                col(Decision.status) == DecisionStatus.OPEN.value,
                # An extension since the candidates were read makes this reminder early: leave it.
                col(Decision.closes_at) == decision.closes_at,
            )
            .values(reminded_at=now)
        )
        if won.rowcount:
            await outbox.owe(
                session,
                guild_id=decision.guild_id,
                kind=NUDGE_KIND,
                key=f"{NUDGE_KIND}:{decision.id}:{decision.closes_at.isoformat()}",
                payload={"decision_id": decision.id},
                now=now,
            )
    return bool(won.rowcount)


async def next_closing_soon(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    """When the next closing-soon reminder comes due (rounded up to the second: never before it is)."""
    async with db.read() as session:
        query = (
            select(func.min(_closing_soon_moment(session)))
            .select_from(Decision)
            .join(CoopSettings, col(CoopSettings.id) == Decision.guild_id)
            .where(*_waiting_for_closing_soon(guild_ids))
        )
        earliest = (await session.exec(query)).one()
    return None if earliest is None else datetime.fromtimestamp(math.ceil(float(earliest)), UTC)


async def _claim_mark(
    db: Database, row: Decision | FundingRequest, mark: str, now: datetime, *, owes: str | None = None
) -> bool:
    """Set the row's reminded mark (the column `mark`) to `now` unless another run set it first, in a
    transaction of its own; True when this run won the claim and so sends the reminder. With `owes`, the
    reminder is owed (governance/outbox.py, that kind) in the same transaction."""
    model = type(row)
    async with db.write() as session:
        won = await session.exec(
            update(model)
            .where(col(model.id) == row.id, col(getattr(model, mark)).is_(None))
            .values({mark: now})
        )
        if won.rowcount and owes is not None:
            await outbox.owe(
                session,
                guild_id=row.guild_id,
                kind=owes,
                key=f"{owes}:{row.id}:{now.isoformat()}",
                payload={"id": row.id},
                now=now,
            )
    return bool(won.rowcount)


async def claim_due_reviews(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None
) -> list[Decision]:
    """Closed decisions whose review date has come, each claimed once."""
    async with db.read() as session:
        query = select(Decision).where(
            Decision.status == DecisionStatus.CLOSED.value,
            col(Decision.review_at) <= now,
            col(Decision.review_reminded_at).is_(None),
        )
        if guild_ids is not None:
            query = query.where(col(Decision.guild_id).in_(guild_ids))
        candidates = list((await session.exec(query)).all())
    return [decision for decision in candidates if await _claim_mark(db, decision, "review_reminded_at", now)]


async def next_review(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = select(func.min(Decision.review_at)).where(
            Decision.status == DecisionStatus.CLOSED.value, col(Decision.review_reminded_at).is_(None)
        )
        if guild_ids is not None:
            query = query.where(col(Decision.guild_id).in_(guild_ids))
        return as_utc((await session.exec(query)).one())


def _waiting_for_a_treasurer() -> Any:
    """Requests a treasurer must act on: pending ones no proposal decides (approve or reject), and
    approved ones not paid yet (record the payout). Each is nudged once per wait (the approval starts a
    new one)."""
    return col(FundingRequest.stale_reminded_at).is_(None) & (
        (
            (col(FundingRequest.status) == RequestStatus.PENDING.value)
            & col(FundingRequest.decision_id).is_(None)
        )
        | (
            (col(FundingRequest.status) == RequestStatus.APPROVED.value)
            & col(FundingRequest.decided_at).is_not(None)
        )
    )


def waiting_since(status: str, created_at: datetime, decided_at: datetime | None) -> datetime:
    """When a request's wait for a treasurer began: its approval, or else the request."""
    return decided_at if status == RequestStatus.APPROVED.value and decided_at is not None else created_at


async def claim_stale_requests(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None
) -> list[FundingRequest]:
    """Funding requests waiting for a treasurer longer than the guild's limit, each claimed once per wait."""
    async with db.read() as session:
        query = (
            select(FundingRequest, CoopSettings.request_stale_days)
            .join(CoopSettings, col(CoopSettings.id) == FundingRequest.guild_id)
            .where(_waiting_for_a_treasurer())
            .order_by(col(FundingRequest.id))
        )
        if guild_ids is not None:
            query = query.where(col(FundingRequest.guild_id).in_(guild_ids))
        rows = (await session.exec(query)).all()
    return [
        request
        for request, days in rows
        if waiting_since(request.status, request.created_at, request.decided_at) + timedelta(days=days) <= now
        and await _claim_mark(db, request, "stale_reminded_at", now, owes=STALE_REQUEST_KIND)
    ]


async def owed_request(db: Database, owed: OwedMessage) -> FundingRequest | None:
    """The funding request a stale-request notice is owed for (None when it is gone)."""
    async with db.read() as session:
        request = await session.get(FundingRequest, int(owed.payload["id"]))
    return request if request is not None and request.guild_id == owed.guild_id else None


async def next_stale_request(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = (
            select(
                FundingRequest.status,
                FundingRequest.created_at,
                FundingRequest.decided_at,
                CoopSettings.request_stale_days,
            )
            .join(CoopSettings, col(CoopSettings.id) == FundingRequest.guild_id)
            .where(_waiting_for_a_treasurer())
        )
        if guild_ids is not None:
            query = query.where(col(FundingRequest.guild_id).in_(guild_ids))
        moments = [
            waiting_since(status, created_at, decided_at) + timedelta(days=days)
            for status, created_at, decided_at, days in (await session.exec(query)).all()
        ]
    return min(moments) if moments else None
