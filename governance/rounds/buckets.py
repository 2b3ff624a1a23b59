"""Buckets: proposed with a budget, approved for funding, cancelled (their funders refunded), and the
concerns raised against the round's guidelines.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col

from governance import audit
from governance.coop import settings_in
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.i18n import N_, _
from governance.money import Money
from governance.permissions import Actor, require_member
from governance.rounds import network
from governance.rounds._common import (
    LIVE_BUCKETS,
    MAX_CO_CREATORS,
    MAX_CONCERN,
    MAX_DESCRIPTION,
    MAX_TITLE,
    CancelledBucket,
    _bucket_in,
    _is_creator,
    _moderates,
    _no_such,
    _plain_id,
    _refund,
    _require_phase,
    _round_in,
    parse_budget,
)
from governance.text import clean_text
from storage.database import Database
from storage.models import (
    Bucket,
    BucketConcern,
    BucketStatus,
    ConcernStatus,
    RoundPhase,
)


async def propose_bucket(
    db: Database,
    *,
    guild_id: int,
    round_id: int,
    actor: Actor,
    title: str,
    description: str,
    budget: str,
    co_creators: Collection[int] = (),
    now: datetime,
) -> Bucket:
    """A member proposes a bucket while the round takes ideas or funding."""
    title = clean_text(title, field=_("The title"), limit=MAX_TITLE, required=True, one_line=True)
    description = clean_text(description, field=_("The description"), limit=MAX_DESCRIPTION)
    others = sorted(set(co_creators) - {actor.user_id})
    if len(others) > MAX_CO_CREATORS:
        raise InvalidInput(_("A bucket has at most {limit} co-creators.", limit=MAX_CO_CREATORS))
    async with db.write() as session:
        require_member(await settings_in(session, guild_id, now), actor)
        round_ = await _round_in(session, guild_id, round_id, lock="share")
        _require_phase(round_, RoundPhase.IDEAS, RoundPhase.FUNDING, doing=N_("propose a bucket"))
        lines = parse_budget(budget, round_.currency)
        low, high = sum(line["min"] for line in lines), sum(line["max"] for line in lines)
        if low > round_.pot:
            raise InvalidInput(
                _(
                    "The minimum ({minimum}) is more than the whole pot ({pot}).",
                    minimum=Money(low, round_.currency),
                    pot=Money(round_.pot, round_.currency),
                )
            )
        bucket = Bucket(
            guild_id=guild_id,
            round_id=round_id,
            title=title,
            description=description,
            budget=lines,
            min_total=low,
            max_total=high,
            creator_id=actor.user_id,
            co_creators=others,
            created_at=now,
        )
        session.add(bucket)
        await session.flush()
        if round_.network_id is not None:
            await network.owe_bucket_posts(session, round_, bucket, now)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="bucket.create",
            subject=f"bucket:{bucket.id}",
            details={"round_id": round_id, "min": low, "max": high, "currency": round_.currency},
            at=now,
        )
        return bucket


async def attach_bucket_message(
    db: Database, *, guild_id: int, bucket_id: int, channel_id: int, message_id: int
) -> None:
    async with db.write() as session:
        bucket = await _bucket_in(session, guild_id, bucket_id)
        bucket.channel_id, bucket.message_id = channel_id, message_id
        session.add(bucket)


async def open_bucket(db: Database, *, guild_id: int, bucket_id: int, actor: Actor, now: datetime) -> Bucket:
    """A moderator approves a bucket for funding (or a co-creator, when the round lets them)."""
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        bucket = await _bucket_in(session, guild_id, bucket_id)
        round_ = await _round_in(session, guild_id, bucket.round_id, lock="share")
        if not (
            _moderates(settings, actor, bucket, guild_id)
            or (round_.creators_open and _is_creator(bucket, actor))
        ):
            raise NotAllowed(
                _(
                    "Only a moderator of the bucket's own cooperative approves a bucket for funding in this "
                    "round."
                )
                if _from_another_coop(bucket, guild_id)
                else _("Only a moderator approves a bucket for funding in this round.")
            )
        _require_phase(round_, RoundPhase.IDEAS, RoundPhase.FUNDING, doing=N_("approve a bucket"))
        opened = await session.exec(
            update(Bucket)
            .where(col(Bucket.id) == bucket_id, col(Bucket.status) == BucketStatus.IDEA.value)
            .values(status=BucketStatus.OPEN.value, opened_at=now)
        )
        if not opened.rowcount:
            raise Conflict(
                _(
                    "Bucket #{bucket} is {status}, not an idea waiting for approval.",
                    bucket=bucket.id,
                    status=bucket.status,
                )
            )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="bucket.approve",
            subject=f"bucket:{bucket_id}",
            details={"round_id": round_.id},
            at=now,
        )
        return await _bucket_in(session, guild_id, bucket_id)


async def cancel_bucket(
    db: Database, *, guild_id: int, bucket_id: int, actor: Actor, now: datetime
) -> CancelledBucket:
    """Its creators or a moderator cancel a bucket before the close: what is in it goes back to each
    funder's balance (each refund recorded as a funding event)."""
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        bucket = await _bucket_in(session, guild_id, bucket_id)
        if not (_is_creator(bucket, actor) or _moderates(settings, actor, bucket, guild_id)):
            raise NotAllowed(
                _("Only the bucket's creators or a moderator of the bucket's own cooperative can cancel it.")
                if _from_another_coop(bucket, guild_id)
                else _("Only the bucket's creators or a moderator can cancel it.")
            )
        round_ = await _round_in(session, guild_id, bucket.round_id, lock="update")
        _require_phase(round_, RoundPhase.IDEAS, RoundPhase.FUNDING, doing=N_("cancel a bucket"))
        if bucket.status not in LIVE_BUCKETS:
            raise Conflict(_("Bucket #{bucket} is already {status}.", bucket=bucket.id, status=bucket.status))
        refunds = await _refund(session, round_, bucket, now)
        bucket.status, bucket.funded, bucket.closed_at = BucketStatus.CANCELLED.value, 0, now
        session.add(bucket)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="bucket.cancel",
            subject=f"bucket:{bucket_id}",
            details={"round_id": round_.id, "refunded": sum(refunds.values()), "funders": len(refunds)},
            at=now,
        )
        return CancelledBucket(bucket, refunds)


async def raise_concern(
    db: Database, *, guild_id: int, bucket_id: int, actor: Actor, guideline: int, text: str, now: datetime
) -> BucketConcern:
    """A member raises a concern about a bucket against one of the round's guidelines (numbered from 1),
    while the round takes ideas."""
    text = clean_text(text, field=_("The concern"), limit=MAX_CONCERN, required=True)
    async with db.write() as session:
        require_member(await settings_in(session, guild_id, now), actor)
        bucket = await _bucket_in(session, guild_id, bucket_id)
        round_ = await _round_in(session, guild_id, bucket.round_id)
        _require_phase(round_, RoundPhase.IDEAS, doing=N_("raise a concern"))
        if not round_.guidelines:
            raise InvalidInput(
                _("Round #{round} has no guidelines to raise a concern against.", round=round_.id)
            )
        if not 1 <= guideline <= len(round_.guidelines):
            raise InvalidInput(_("Choose a guideline from 1 to {last}.", last=len(round_.guidelines)))
        concern = BucketConcern(
            guild_id=guild_id,
            bucket_id=bucket_id,
            guideline=guideline,
            text=text,
            raised_by=actor.user_id,
            created_at=now,
        )
        session.add(concern)
        await session.flush()
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="bucket.concern",
            subject=f"bucket:{bucket_id}",
            details={"concern_id": concern.id, "guideline": guideline},
            at=now,
        )
        return concern


async def resolve_concern(
    db: Database, *, guild_id: int, concern_id: int, actor: Actor, resolution: str, now: datetime
) -> BucketConcern:
    """The bucket's creators or a moderator resolve a concern, saying how."""
    resolution = clean_text(resolution, field=_("The resolution"), limit=MAX_CONCERN, required=True)
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        concern = await session.get(BucketConcern, _plain_id(concern_id, "concern"))
        try:
            # A concern is found where its bucket is: a network round's, from any member cooperative.
            bucket = await _bucket_in(session, guild_id, concern.bucket_id if concern else 0)
        except NotFound:
            raise NotFound(_no_such("concern", concern_id)) from None
        assert concern is not None
        if not (_is_creator(bucket, actor) or _moderates(settings, actor, bucket, guild_id)):
            raise NotAllowed(
                _(
                    "Only the bucket's creators or a moderator of the bucket's own cooperative resolve its "
                    "concerns."
                )
                if _from_another_coop(bucket, guild_id)
                else _("Only the bucket's creators or a moderator resolve its concerns.")
            )
        if concern.status != ConcernStatus.OPEN.value:
            raise Conflict(_("Concern #{number} is already resolved.", number=concern_id))
        concern.status, concern.resolution = ConcernStatus.RESOLVED.value, resolution
        concern.resolved_by, concern.resolved_at = actor.user_id, now
        session.add(concern)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="bucket.resolve",
            subject=f"bucket:{bucket.id}",
            details={"concern_id": concern_id},
            at=now,
        )
        return concern


def _from_another_coop(bucket: Bucket, guild_id: int) -> bool:
    """In a network round, a bucket from another cooperative is its own moderators' to act on."""
    return bucket.guild_id != guild_id
