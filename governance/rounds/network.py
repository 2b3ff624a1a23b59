"""Network rounds: a round whose pot is in a network fund, with the members of every member cooperative
taking part.

The round is one row, homed in the cooperative that set it up: that cooperative's process opens funding
and closes it, each claimed once in the database as any round's. Everything a member cooperative sees of
it (the round's news, each bucket's post and its fresh figures) is owed to that cooperative through the
per-server outbox and delivered by the process that serves it. Allocations are granted per cooperative, by
its own process when funding opens there, to the holders of its member role: the same share each (the
round's `allocation`), while the pot lasts; someone in two member cooperatives gets one share.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import outbox
from governance.networks._common import member_coops
from governance.rounds._common import (
    NETWORK_BUCKET_KIND,
    NETWORK_ROUND_KIND,
)
from storage.database import Database
from storage.models import (
    Bucket,
    NetworkBucketPost,
    NetworkProposal,
    Round,
    RoundAllocation,
)

# What a network round's news to a member cooperative is about (the payload's "event").
OPENED = "opened"  # it takes ideas
FUNDING = "funding"  # funding opened: grant this cooperative's members their share, and tell them
IDEAS_ENDING = "ideas-ending"
FUNDING_ENDING = "funding-ending"  # DM this cooperative's people who still hold money
CLOSED = "closed"
CANCELLED = "cancelled"


async def owe_round_news(session: AsyncSession, round_: Round, event: str, now: datetime) -> None:
    """In the caller's transaction: each member cooperative is owed this news of a network round, delivered
    once by the process that serves it."""
    key = f"{NETWORK_ROUND_KIND}:{round_.id}:{event}"
    await _owe_members(session, round_, NETWORK_ROUND_KIND, key, {"round_id": round_.id, "event": event}, now)


async def owe_bucket_posts(session: AsyncSession, round_: Round, bucket: Bucket, now: datetime) -> None:
    """In the caller's transaction: each member cooperative is owed a post of a new bucket."""
    key = f"{NETWORK_BUCKET_KIND}:{bucket.id}:post"
    await _owe_members(session, round_, NETWORK_BUCKET_KIND, key, {"bucket_id": bucket.id}, now)


async def _owe_members(
    session: AsyncSession, round_: Round, kind: str, key: str, payload: dict[str, Any], now: datetime
) -> None:
    assert round_.network_id is not None
    for membership in await member_coops(session, round_.network_id):
        await outbox.owe(session, guild_id=membership.guild_id, kind=kind, key=key, payload=payload, now=now)


async def owe_bucket_refresh(db: Database, *, bucket: Bucket, except_guild: int, now: datetime) -> int:
    """After a bucket changed (money in or out, opened, cancelled): its posts in the other member
    cooperatives are owed its new figures, at most one waiting per post. How many were owed."""
    async with db.write() as session:
        rows = await session.exec(
            select(NetworkBucketPost.guild_id).where(
                NetworkBucketPost.bucket_id == bucket.id, NetworkBucketPost.guild_id != except_guild
            )
        )
        owed_to = {
            guild_id: (f"{NETWORK_BUCKET_KIND}:{bucket.id}:refresh:", {"bucket_id": bucket.id})
            for guild_id in rows.all()
        }
        return await outbox.owe_refresh(session, owed_to=owed_to, kind=NETWORK_BUCKET_KIND, now=now)


async def bucket_post_in(db: Database, *, bucket_id: int, guild_id: int) -> NetworkBucketPost | None:
    """Where a network round's bucket is posted in this cooperative, if it is."""
    async with db.read() as session:
        query = select(NetworkBucketPost).where(
            NetworkBucketPost.bucket_id == bucket_id, NetworkBucketPost.guild_id == guild_id
        )
        return (await session.exec(query)).first()


async def attach_bucket_post(
    db: Database, *, bucket_id: int, guild_id: int, channel_id: int, message_id: int
) -> None:
    async with db.write() as session:
        session.add(
            NetworkBucketPost(
                bucket_id=bucket_id, guild_id=guild_id, channel_id=channel_id, message_id=message_id
            )
        )


async def unspent_in(db: Database, *, guild_id: int, round_id: int) -> dict[int, int]:
    """This cooperative's people who still hold money in a round, and how much."""
    async with db.read() as session:
        rows = await session.exec(
            select(RoundAllocation).where(
                RoundAllocation.round_id == round_id,
                RoundAllocation.guild_id == guild_id,
                col(RoundAllocation.spent) < col(RoundAllocation.allocated),
            )
        )
        return {row.member_id: row.allocated - row.spent for row in rows.all()}


async def on_network_round_decided(
    session: AsyncSession, proposal: NetworkProposal, passed: bool, now: datetime
) -> None:
    """The network decided whether to hold a round (inside the network proposal's closing transaction)."""
    from governance.rounds.lifecycle import open_decided_round

    round_ = await session.get(Round, proposal.link_id)
    if round_ is None or round_.network_proposal_id != proposal.id:
        return
    await open_decided_round(session, round_, passed=passed, outcome=proposal.outcome or "", now=now)
