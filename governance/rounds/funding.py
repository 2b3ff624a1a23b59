"""Putting money into a bucket and taking it back: conditional updates decide, so nothing overfunds or
overspends when people click at once, and a repeated click counts once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.funds import idempotency_key_of, read_amount
from governance.i18n import N_, _
from governance.money import Money
from governance.permissions import Actor
from governance.rounds._common import (
    FundingReceipt,
    _allocation_in,
    _bucket_in,
    _held_in,
    _is_creator,
    _require_phase,
    _round_in,
)
from storage.database import Database
from storage.models import (
    Bucket,
    BucketFunding,
    BucketFundingEvent,
    BucketStatus,
    Round,
    RoundAllocation,
    RoundPhase,
)


async def fund_bucket(
    db: Database,
    *,
    guild_id: int,
    bucket_id: int,
    actor: Actor,
    amount: str | int,
    idempotency_key: str,
    now: datetime,
) -> FundingReceipt:
    """Put money from one's allocation into an open bucket. Refused past the bucket's maximum, past what the
    person holds, past the round's cap per bucket, into one's own bucket when the round says so, and once
    funding has closed. A bucket that reaches its maximum is funded at once."""
    key = idempotency_key_of(idempotency_key)
    try:
        return await _move_money(db, guild_id, bucket_id, actor, amount, key, now, withdraw=False)
    except IntegrityError:
        return await _repeated(db, guild_id, bucket_id, actor, key)


async def withdraw_from_bucket(
    db: Database,
    *,
    guild_id: int,
    bucket_id: int,
    actor: Actor,
    amount: str | int | None,
    idempotency_key: str,
    now: datetime,
) -> FundingReceipt:
    """Take money back from a bucket (all of it without ``amount``) while funding lasts and the bucket is
    still open (a bucket funded at its maximum keeps its money)."""
    key = idempotency_key_of(idempotency_key)
    try:
        return await _move_money(db, guild_id, bucket_id, actor, amount, key, now, withdraw=True)
    except IntegrityError:
        return await _repeated(db, guild_id, bucket_id, actor, key)


async def _repeated(db: Database, guild_id: int, bucket_id: int, actor: Actor, key: str) -> FundingReceipt:
    """A concurrent repeat of the same click won the idempotency key (PostgreSQL): answer with its result."""
    async with db.read() as session:
        event = (
            await session.exec(
                select(BucketFundingEvent).where(
                    BucketFundingEvent.guild_id == guild_id, BucketFundingEvent.idempotency_key == key
                )
            )
        ).first()
        if event is None or event.bucket_id != bucket_id or event.member_id != actor.user_id:
            raise Conflict(_("That click was already counted for something else."))
        return await _receipt(session, guild_id, bucket_id, actor.user_id, event.delta, duplicate=True)


async def _receipt(
    session: AsyncSession, guild_id: int, bucket_id: int, member_id: int, moved: int, *, duplicate: bool
) -> FundingReceipt:
    bucket = await _bucket_in(session, guild_id, bucket_id)
    allocation = await _allocation_in(session, bucket.round_id, member_id)
    assert allocation is not None
    held = await _held_in(session, bucket_id, member_id)
    return FundingReceipt(bucket, allocation, moved, held.amount if held else 0, duplicate=duplicate)


async def _move_money(
    db: Database,
    guild_id: int,
    bucket_id: int,
    actor: Actor,
    amount: str | int | None,
    key: str,
    now: datetime,
    *,
    withdraw: bool,
) -> FundingReceipt:
    async with db.write() as session:
        existing = (
            await session.exec(
                select(BucketFundingEvent).where(
                    BucketFundingEvent.guild_id == guild_id, BucketFundingEvent.idempotency_key == key
                )
            )
        ).first()
        if existing is not None:
            if existing.bucket_id != bucket_id or existing.member_id != actor.user_id:
                raise Conflict(_("That click was already counted for something else."))
            return await _receipt(session, guild_id, bucket_id, actor.user_id, existing.delta, duplicate=True)
        bucket = await _bucket_in(session, guild_id, bucket_id)
        round_ = await _round_in(session, guild_id, bucket.round_id, lock="share")
        doing = N_("take money back") if withdraw else N_("fund buckets")
        _require_phase(round_, RoundPhase.FUNDING, doing=doing)
        if now >= round_.funding_closes_at:
            raise Conflict(_("Funding in round #{round} has closed.", round=round_.id))
        allocation = await _allocation_in(session, round_.id or 0, actor.user_id)
        if allocation is None:
            raise NotAllowed(
                _("You have no allocation in round #{round}: a treasurer can give you one.", round=round_.id)
            )
        held = await _held_in(session, bucket_id, actor.user_id)
        if withdraw:
            moved = await _take_back(session, round_, bucket, held, amount)
        else:
            moved = await _put_in(session, round_, bucket, allocation, held, amount, actor)
        if held is None:
            held = BucketFunding(
                guild_id=guild_id, round_id=bucket.round_id, bucket_id=bucket_id, member_id=actor.user_id
            )
        held.amount += moved
        session.add(held)
        session.add(
            BucketFundingEvent(
                guild_id=guild_id,
                round_id=bucket.round_id,
                bucket_id=bucket_id,
                member_id=actor.user_id,
                delta=moved,
                idempotency_key=key,
                created_at=now,
            )
        )
        await session.flush()
        bucket = await _bucket_in(session, guild_id, bucket_id)
        if not withdraw and bucket.funded == bucket.max_total:
            bucket.status, bucket.funded_at = BucketStatus.FUNDED.value, now
            session.add(bucket)
            audit.record(
                session,
                guild_id=guild_id,
                actor_id=actor.user_id,
                action="bucket.funded",
                subject=f"bucket:{bucket_id}",
                details={"round_id": round_.id, "amount": bucket.funded, "currency": round_.currency},
                at=now,
            )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="bucket.withdraw" if withdraw else "bucket.fund",
            subject=f"bucket:{bucket_id}",
            details={"round_id": round_.id, "amount": abs(moved), "currency": round_.currency},
            at=now,
        )
        return await _receipt(session, guild_id, bucket_id, actor.user_id, moved, duplicate=False)


async def _put_in(
    session: AsyncSession,
    round_: Round,
    bucket: Bucket,
    allocation: RoundAllocation,
    held: BucketFunding | None,
    amount: str | int | None,
    actor: Actor,
) -> int:
    if amount is None:
        raise InvalidInput(_("Say how much to put in."))
    value = read_amount(amount, round_.currency)
    if bucket.status != BucketStatus.OPEN.value:
        raise Conflict(
            _("Bucket #{bucket} is fully funded.", bucket=bucket.id)
            if bucket.status == BucketStatus.FUNDED.value
            else _("Bucket #{bucket} is not open for funding.", bucket=bucket.id)
        )
    if not round_.own_buckets and _is_creator(bucket, actor):
        raise NotAllowed(_("In round #{round} nobody funds their own bucket.", round=round_.id))
    already = held.amount if held else 0
    if round_.max_per_bucket is not None and already + value > round_.max_per_bucket:
        room = max(round_.max_per_bucket - already, 0)
        raise Conflict(
            _(
                "Round #{round} lets each person put at most {limit} into one bucket: you can add {room} "
                "more.",
                round=round_.id,
                limit=Money(round_.max_per_bucket, round_.currency),
                room=Money(room, round_.currency),
            )
        )
    spent = await session.exec(
        update(RoundAllocation)
        .where(
            col(RoundAllocation.id) == allocation.id,
            col(RoundAllocation.spent) <= col(RoundAllocation.allocated) - value,
        )
        .values(spent=col(RoundAllocation.spent) + value)
    )
    if not spent.rowcount:
        left = allocation.allocated - allocation.spent
        raise Conflict(
            _(
                "You have {amount} left to spend in round #{round}.",
                amount=Money(max(left, 0), round_.currency),
                round=round_.id,
            )
        )
    filled = await session.exec(
        update(Bucket)
        .where(
            col(Bucket.id) == bucket.id,
            col(Bucket.status) == BucketStatus.OPEN.value,
            col(Bucket.funded) <= col(Bucket.max_total) - value,
        )
        .values(funded=col(Bucket.funded) + value)
    )
    if not filled.rowcount:
        room = max(bucket.max_total - bucket.funded, 0)
        raise Conflict(
            _(
                "Bucket #{bucket} needs only {room} more to reach its maximum: put in that much at most.",
                bucket=bucket.id,
                room=Money(room, round_.currency),
            )
        )
    return value


async def _take_back(
    session: AsyncSession, round_: Round, bucket: Bucket, held: BucketFunding | None, amount: str | int | None
) -> int:
    if held is None or held.amount == 0:
        raise Conflict(_("You have nothing in bucket #{bucket}.", bucket=bucket.id))
    if bucket.status != BucketStatus.OPEN.value:
        raise Conflict(
            _("Bucket #{bucket} is {status}: its money stays.", bucket=bucket.id, status=bucket.status)
        )
    value = held.amount if amount is None else read_amount(amount, round_.currency)
    if value > held.amount:
        raise Conflict(
            _(
                "You have {amount} in bucket #{bucket}.",
                amount=Money(held.amount, round_.currency),
                bucket=bucket.id,
            )
        )
    taken = await session.exec(
        update(Bucket)
        .where(
            col(Bucket.id) == bucket.id,
            col(Bucket.status) == BucketStatus.OPEN.value,
            col(Bucket.funded) >= value,
        )
        .values(funded=col(Bucket.funded) - value)
    )
    if not taken.rowcount:
        raise Conflict(_("Bucket #{bucket} is no longer open: its money stays.", bucket=bucket.id))
    await session.exec(
        update(RoundAllocation)
        .where(col(RoundAllocation.round_id) == round_.id, col(RoundAllocation.member_id) == held.member_id)
        .values(spent=col(RoundAllocation.spent) - value)
    )
    return -value
