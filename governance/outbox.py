"""What the bot owes people in Discord, kept until Discord confirms it.

Whatever makes a message owed (a decision closes, a reminder comes due, a decision nears its close) records
it here with `owe`, in the same transaction, under a key that names it (``decision-closed:12:<closed_at>``),
so a retried claim or a second process owes it once. The Discord side claims what is due (an attempt counted
and a lease taken, so no other run sends it at the same time), sends it, and records the outcome: delivered;
owed again later, with backoff, when Discord stumbled (a 5xx, a rate limit, a timeout, a lost connection);
or given up when it never can be (the channel is gone, the bot lost its permission, or too many attempts),
which moderators see. A crash mid-send leaves the lease to run out, and the message is sent again then: where
Discord lets the bot avoid a repeat (a nonce, editing its own message), the sender uses it.

A multi-step message (a close: the proposal's edit, the result in its thread, its consequences) records each
step done in its payload (`step_done`), so a retry does only what is left.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Database, is_postgresql
from storage.models import DeliveryStatus, OwedMessage
from storage.types import as_utc

# Long enough for any one send (several Discord calls) to finish; a crashed sender's message is retried after.
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
# 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h, 6 h: then it is given up (about 9 hours in all).
MAX_ATTEMPTS = 8
CLAIM_BATCH = 100
ERROR_LIMIT = 300


@dataclass(frozen=True)
class Undelivered:
    """A message given up, as moderators are told of it."""

    kind: str
    key: str
    error: str
    at: datetime


async def owe(
    session: AsyncSession,
    *,
    guild_id: int,
    kind: str,
    key: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record, in the caller's transaction, that `kind` is owed (once per `key`; due at once)."""
    insert = pg_insert if is_postgresql(session) else sqlite_insert
    statement = (
        insert(OwedMessage)
        .values(
            guild_id=guild_id,
            kind=kind,
            key=key[:160],
            payload=payload or {},
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["guild_id", "key"])
    )
    await session.exec(statement)


async def owe_refresh(
    session: AsyncSession, *, owed_to: dict[int, tuple[str, dict[str, Any]]], kind: str, now: datetime
) -> int:
    """Owe a message a fresh look in each cooperative of ``owed_to`` (guild id -> the message's key prefix
    and payload), unless one is already waiting there and not yet taken by a sender: the one waiting reads
    the state as it is when it goes out, so edits stay few and the last change always shows. How many were
    owed."""
    if not owed_to:
        return 0
    waiting = set(
        (
            await session.exec(
                select(OwedMessage.key).where(
                    OwedMessage.kind == kind,
                    OwedMessage.status == DeliveryStatus.PENDING.value,
                    # One already taken by a sender may have read the state before this change.
                    col(OwedMessage.next_attempt_at) <= now,
                    col(OwedMessage.guild_id).in_(list(owed_to)),
                )
            )
        ).all()
    )
    count = 0
    for guild_id, (prefix, payload) in owed_to.items():
        if any(key.startswith(prefix) for key in waiting):
            continue
        await owe(
            session, guild_id=guild_id, kind=kind, key=prefix + secrets.token_hex(8), payload=payload, now=now
        )
        count += 1
    return count


async def claim_due(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None, *, limit: int = CLAIM_BATCH
) -> list[OwedMessage]:
    """Claim what is due now, oldest first: each gets an attempt counted and a lease."""
    async with db.read() as session:
        query = (
            select(OwedMessage)
            .where(
                OwedMessage.status == DeliveryStatus.PENDING.value,
                col(OwedMessage.next_attempt_at) <= now,
            )
            .order_by(col(OwedMessage.next_attempt_at), col(OwedMessage.id))
            .limit(limit)
        )
        if guild_ids is not None:
            query = query.where(col(OwedMessage.guild_id).in_(guild_ids))
        candidates = list((await session.exec(query)).all())
    claimed = []
    for owed in candidates:
        async with db.write() as session:
            won = await session.exec(
                update(OwedMessage)
                .where(
                    col(OwedMessage.id) == owed.id,
                    col(OwedMessage.status) == DeliveryStatus.PENDING.value,
                    col(OwedMessage.next_attempt_at) == owed.next_attempt_at,
                )
                .values(attempts=OwedMessage.attempts + 1, next_attempt_at=now + LEASE)
            )
        if won.rowcount:
            owed.attempts += 1
            claimed.append(owed)
    return claimed


async def step_done(db: Database, owed: OwedMessage, step: str) -> None:
    """One step of a multi-step message is delivered: a retry skips it."""
    done = [*owed.payload.get("done", []), step]
    owed.payload = {**owed.payload, "done": done}
    async with db.write() as session:
        await session.exec(
            update(OwedMessage).where(col(OwedMessage.id) == owed.id).values(payload=owed.payload)
        )


def is_done(owed: OwedMessage, step: str) -> bool:
    return step in owed.payload.get("done", [])


def backoff(attempts: int) -> timedelta:
    """Three times longer each try: 30 s, 1.5 min, 4.5 min…"""
    return FIRST_RETRY * int(3 ** max(0, attempts - 1))


async def record_outcome(
    db: Database, owed: OwedMessage, now: datetime, *, error: str | None, retry: bool
) -> bool:
    """After an attempt: delivered; owed again with backoff; or given up (returns True when given up)."""
    given_up = False
    if error is None:
        values: dict[str, Any] = {
            "status": DeliveryStatus.DELIVERED.value,
            "delivered_at": now,
            "last_error": "",
        }
    elif retry and owed.attempts < MAX_ATTEMPTS:
        values = {"next_attempt_at": now + backoff(owed.attempts), "last_error": error[:ERROR_LIMIT]}
    else:
        values = {"status": DeliveryStatus.FAILED.value, "last_error": error[:ERROR_LIMIT]}
        given_up = True
    async with db.write() as session:
        await session.exec(
            update(OwedMessage)
            .where(col(OwedMessage.id) == owed.id, col(OwedMessage.status) == DeliveryStatus.PENDING.value)
            .values(**values)
        )
    return given_up


async def next_due(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = select(func.min(OwedMessage.next_attempt_at)).where(
            OwedMessage.status == DeliveryStatus.PENDING.value
        )
        if guild_ids is not None:
            query = query.where(col(OwedMessage.guild_id).in_(guild_ids))
        return as_utc((await session.exec(query)).one())


async def undelivered(
    db: Database, guild_id: int, since: datetime, *, limit: int = 5
) -> tuple[int, list[Undelivered]]:
    """What could not be delivered since `since`: how many, and the latest few."""
    async with db.read() as session:
        where = (
            OwedMessage.guild_id == guild_id,
            OwedMessage.status == DeliveryStatus.FAILED.value,
            col(OwedMessage.created_at) >= since,
        )
        count = (await session.exec(select(func.count()).select_from(OwedMessage).where(*where))).one()
        rows = (
            await session.exec(
                select(OwedMessage).where(*where).order_by(col(OwedMessage.id).desc()).limit(limit)
            )
        ).all()
    return int(count), [
        Undelivered(row.kind, row.key, row.last_error, row.next_attempt_at or row.created_at) for row in rows
    ]
