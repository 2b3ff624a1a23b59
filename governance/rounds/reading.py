"""What people read of rounds: a round with its buckets, a bucket with its funders and concerns, lists,
and what is due next.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select

from governance.coop import settings_in
from governance.rounds import network
from governance.rounds._common import (
    OPEN_PHASES,
    BucketView,
    ClosedRound,
    RoundOverview,
    _allocation_in,
    _bucket_in,
    _funder_counts,
    _round_in,
    _source_name,
    visible_from,
)
from storage.database import Database
from storage.models import (
    Bucket,
    BucketConcern,
    BucketFunding,
    BucketStatus,
    Round,
    RoundAllocation,
    RoundPhase,
)


async def get_round(db: Database, guild_id: int, round_id: int) -> Round:
    async with db.read() as session:
        return await _round_in(session, guild_id, round_id)


async def list_rounds(
    db: Database, guild_id: int, *, open_only: bool = False, limit: int = 25
) -> list[Round]:
    query = select(Round).where(visible_from(guild_id))
    if open_only:
        query = query.where(col(Round.phase).in_(OPEN_PHASES))
    async with db.read() as session:
        return list((await session.exec(query.order_by(col(Round.id).desc()).limit(limit))).all())


async def round_overview(
    db: Database, guild_id: int, round_id: int, reader_id: int | None = None
) -> RoundOverview:
    async with db.read() as session:
        round_ = await _round_in(session, guild_id, round_id)
        source = await _source_name(session, round_)
        buckets = list(
            (
                await session.exec(select(Bucket).where(Bucket.round_id == round_id).order_by(col(Bucket.id)))
            ).all()
        )
        yours = await _allocation_in(session, round_id, reader_id) if reader_id is not None else None
        in_buckets: dict[int, int] = {}
        if reader_id is not None:
            rows = await session.exec(
                select(BucketFunding).where(
                    BucketFunding.round_id == round_id,
                    BucketFunding.member_id == reader_id,
                    BucketFunding.amount > 0,
                )
            )
            in_buckets = {row.bucket_id: row.amount for row in rows.all()}
        return RoundOverview(
            round_, source, buckets, await _funder_counts(session, round_id), yours, in_buckets
        )


async def closed_round_of(db: Database, guild_id: int, round_id: int) -> ClosedRound:
    """A closed round as its close left it (funded and refunded buckets, funders), for a cooperative that
    announces the close of a network round after the close itself."""
    async with db.read() as session:
        round_ = await _round_in(session, guild_id, round_id)
        buckets = list(
            (
                await session.exec(
                    select(Bucket)
                    .where(
                        Bucket.round_id == round_id,
                        col(Bucket.status).in_((BucketStatus.FUNDED.value, BucketStatus.UNFUNDED.value)),
                    )
                    .order_by(col(Bucket.id))
                )
            ).all()
        )
        funded = [bucket for bucket in buckets if bucket.status == BucketStatus.FUNDED.value]
        unfunded = [bucket for bucket in buckets if bucket.status == BucketStatus.UNFUNDED.value]
        return ClosedRound(round_, funded, unfunded, [], await _funder_counts(session, round_id))


async def bucket_view(db: Database, guild_id: int, bucket_id: int) -> BucketView:
    async with db.read() as session:
        bucket = await _bucket_in(session, guild_id, bucket_id)
        round_ = await _round_in(session, guild_id, bucket.round_id)
        rows = await session.exec(
            select(BucketFunding).where(BucketFunding.bucket_id == bucket_id, BucketFunding.amount > 0)
        )
        concerns = await session.exec(
            select(BucketConcern).where(BucketConcern.bucket_id == bucket_id).order_by(col(BucketConcern.id))
        )
        return BucketView(
            bucket, round_, {row.member_id: row.amount for row in rows.all()}, list(concerns.all())
        )


async def list_buckets(db: Database, guild_id: int, round_id: int | None = None) -> list[Bucket]:
    """The buckets of one round, or of every round still open."""
    async with db.read() as session:
        query = (
            select(Bucket).join(Round, col(Round.id) == col(Bucket.round_id)).where(visible_from(guild_id))
        )
        if round_id is not None:
            await _round_in(session, guild_id, round_id)  # a round this cooperative does not see is not found
            query = query.where(Bucket.round_id == round_id)
        else:
            query = query.where(col(Round.phase).in_(OPEN_PHASES))
        return list((await session.exec(query.order_by(col(Bucket.id)).limit(100))).all())


async def rounds_due(db: Database, now: datetime, guild_ids: Collection[int] | None = None) -> list[Round]:
    """Rounds whose funding should open or close by ``now``."""
    query = select(Round).where(
        ((col(Round.phase) == RoundPhase.IDEAS.value) & (col(Round.funding_opens_at) <= now))
        | ((col(Round.phase) == RoundPhase.FUNDING.value) & (col(Round.funding_closes_at) <= now))
    )
    if guild_ids is not None:
        query = query.where(col(Round.guild_id).in_(guild_ids))
    async with db.read() as session:
        return list((await session.exec(query.order_by(col(Round.id)))).all())


async def next_round_due(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    """When the next round opens funding or closes."""
    opening = select(func.min(Round.funding_opens_at)).where(Round.phase == RoundPhase.IDEAS.value)
    closing = select(func.min(Round.funding_closes_at)).where(Round.phase == RoundPhase.FUNDING.value)
    if guild_ids is not None:
        opening = opening.where(col(Round.guild_id).in_(guild_ids))
        closing = closing.where(col(Round.guild_id).in_(guild_ids))
    async with db.read() as session:
        moments = [(await session.exec(opening)).one(), (await session.exec(closing)).one()]
    found = [moment for moment in moments if moment is not None]
    return min(found) if found else None


@dataclass(frozen=True)
class RoundNudge:
    """A closing-soon nudge claimed for a round: the ideas phase ending, or funding ending (with who still
    has money to spend, and how much)."""

    round: Round
    phase: str  # "ideas" or "funding"
    closes_at: datetime
    unspent: dict[int, int]  # member id -> what they still hold (funding only)


async def claim_round_nudges(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None
) -> list[RoundNudge]:
    """The nudges due now, each claimed once (a conditional update of its mark): the ideas phase or the
    funding phase ends within the cooperative's reminder lead."""
    nudges = []
    async with db.write() as session:
        query = select(Round).where(col(Round.phase).in_((RoundPhase.IDEAS.value, RoundPhase.FUNDING.value)))
        if guild_ids is not None:
            query = query.where(col(Round.guild_id).in_(guild_ids))
        for round_ in (await session.exec(query)).all():
            lead = timedelta(seconds=(await settings_in(session, round_.guild_id, now)).reminder_lead_seconds)
            ideas = round_.phase == RoundPhase.IDEAS.value
            closes_at = round_.funding_opens_at if ideas else round_.funding_closes_at
            mark = Round.ideas_reminded_at if ideas else Round.funding_reminded_at
            if not closes_at - lead <= now < closes_at:
                continue
            claimed = await session.exec(
                update(Round)
                .where(col(Round.id) == round_.id, col(Round.phase) == round_.phase, col(mark).is_(None))
                .values({mark: now})
            )
            if not claimed.rowcount:
                continue
            if round_.network_id is not None:  # each member cooperative nudges its own people
                await network.owe_round_news(
                    session, round_, network.IDEAS_ENDING if ideas else network.FUNDING_ENDING, now
                )
                continue
            unspent = {}
            if not ideas:
                rows = await session.exec(
                    select(RoundAllocation).where(
                        RoundAllocation.round_id == round_.id,
                        col(RoundAllocation.spent) < col(RoundAllocation.allocated),
                    )
                )
                unspent = {row.member_id: row.allocated - row.spent for row in rows.all()}
            nudges.append(RoundNudge(round_, round_.phase, closes_at, unspent))
    return nudges


async def next_round_nudge(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    """When the next unclaimed nudge falls due: a phase's end less the cooperative's reminder lead."""
    query = select(Round).where(
        ((col(Round.phase) == RoundPhase.IDEAS.value) & col(Round.ideas_reminded_at).is_(None))
        | ((col(Round.phase) == RoundPhase.FUNDING.value) & col(Round.funding_reminded_at).is_(None))
    )
    if guild_ids is not None:
        query = query.where(col(Round.guild_id).in_(guild_ids))
    moments = []
    async with db.read() as session:
        for round_ in (await session.exec(query)).all():
            settings = await settings_in(session, round_.guild_id, round_.created_at)
            closes_at = (
                round_.funding_opens_at
                if round_.phase == RoundPhase.IDEAS.value
                else round_.funding_closes_at
            )
            moments.append(closes_at - timedelta(seconds=settings.reminder_lead_seconds))
    return min(moments) if moments else None
