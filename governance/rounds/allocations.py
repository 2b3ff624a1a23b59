"""Allocations: equal shares when funding opens, a newcomer's share while the pot lasts, and what
treasurers add or set, each change audited with the amount before.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col

from governance import audit
from governance.coop import settings_in
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.funds import read_amount
from governance.i18n import N_, _
from governance.money import Money
from governance.permissions import Actor, is_treasurer
from governance.rounds import network
from governance.rounds._common import AllocationChange, _allocation_in, _require_phase, _round_in
from storage.database import Database
from storage.models import (
    Round,
    RoundAllocation,
    RoundPhase,
)


async def open_funding(
    db: Database, *, guild_id: int, round_id: int, recipients: Collection[int], now: datetime
) -> Round | None:
    """Funding opens (claimed once, when its time has come): every recipient gets the same allocation, the
    round's own or the pot split equally (what does not divide stays in the pot). None if not due or done.
    A network round's recipients are granted theirs by each member cooperative (``grant_allocations``)."""
    async with db.write() as session:
        claimed = await session.exec(
            update(Round)
            .where(
                col(Round.id) == round_id,
                col(Round.guild_id) == guild_id,
                col(Round.phase) == RoundPhase.IDEAS.value,
                col(Round.funding_opens_at) <= now,
            )
            .values(phase=RoundPhase.FUNDING.value, funding_opened_at=now)
        )
        if not claimed.rowcount:
            return None
        round_ = await _round_in(session, guild_id, round_id)
        if round_.network_id is not None:
            # Each member cooperative's process grants its own members their share when the news reaches it.
            await network.owe_round_news(session, round_, network.FUNDING, now)
            recipients = ()
        people = sorted(set(recipients))
        share = round_.per_member or (round_.pot // len(people) if people else 0)
        if people and share * len(people) > round_.pot:
            share = round_.pot // len(people)
        for member_id in people:
            session.add(
                RoundAllocation(
                    guild_id=guild_id, round_id=round_id, member_id=member_id, allocated=share, updated_at=now
                )
            )
        round_.per_member = share
        round_.allocated = share * len(people)
        session.add(round_)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=None,
            action="round.funding",
            subject=f"round:{round_id}",
            details={"recipients": len(people), "each": share, "currency": round_.currency},
            at=now,
        )
        return round_


async def allocate_newcomer(
    db: Database, *, guild_id: int, round_id: int, member_id: int, now: datetime
) -> int:
    """Someone who became a recipient during funding gets the same allocation, as far as the pot still
    holds it; what they got (0 when they had one already, or the round is not funding, or nothing is left)."""
    granted = await grant_allocations(
        db, guild_id=guild_id, round_id=round_id, recipients=[member_id], now=now, why="joined during funding"
    )
    return granted.get(member_id, 0)


async def grant_allocations(
    db: Database, *, guild_id: int, round_id: int, recipients: Collection[int], now: datetime, why: str
) -> dict[int, int]:
    """While funding is open, each of ``recipients`` (people of this cooperative) without an allocation gets
    the round's share, as far as the pot still holds it (the last one may get less), in one transaction;
    who got what. Someone who has one already (from this cooperative or another) gets nothing more."""
    granted: dict[int, int] = {}
    async with db.write() as session:
        round_ = await _round_in(session, guild_id, round_id, lock="update")
        if round_.phase != RoundPhase.FUNDING.value or now >= round_.funding_closes_at:
            return granted
        left = round_.pot - round_.allocated
        for member_id in sorted(set(recipients)):
            share = min(round_.per_member, left)
            if share <= 0:
                break
            if await _allocation_in(session, round_id, member_id) is not None:
                continue
            session.add(
                RoundAllocation(
                    guild_id=guild_id, round_id=round_id, member_id=member_id, allocated=share, updated_at=now
                )
            )
            granted[member_id] = share
            left -= share
        if not granted:
            return granted
        given = await session.exec(
            update(Round)
            .where(col(Round.id) == round_id, col(Round.allocated) <= col(Round.pot) - sum(granted.values()))
            .values(allocated=col(Round.allocated) + sum(granted.values()))
        )
        assert given.rowcount, "the round's row is locked (PostgreSQL) or the write serialised (SQLite)"
        for member_id, share in granted.items():
            audit.record(
                session,
                guild_id=guild_id,
                actor_id=None,
                action="round.allocate",
                subject=f"round:{round_id}",
                details={"member_id": member_id, "before": 0, "after": share, "why": why},
                at=now,
            )
    return granted


async def set_allocations(
    db: Database,
    *,
    guild_id: int,
    round_id: int,
    actor: Actor,
    member_ids: Collection[int],
    amount: str | int,
    add: bool,
    now: datetime,
) -> list[AllocationChange]:
    """A treasurer adds to (``add``) or sets the allocation of each of ``member_ids``, never below what they
    already put into buckets and never past the pot; each change audited with who made it and the amount
    before. All or nothing."""
    if not member_ids:
        raise InvalidInput(_("Name someone to allocate to."))
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        if not is_treasurer(settings, actor):
            raise NotAllowed(_("Only treasurers change allocations."))
        round_ = await _round_in(session, guild_id, round_id, lock="update")
        _require_phase(round_, RoundPhase.IDEAS, RoundPhase.FUNDING, doing=N_("change allocations"))
        value = read_amount(amount, round_.currency) if not (isinstance(amount, int) and amount == 0) else 0
        changes = []
        total = round_.allocated
        for member_id in sorted(set(member_ids)):
            row = await _allocation_in(session, round_id, member_id)
            before = row.allocated if row else 0
            after = before + value if add else value
            if row is not None and after < row.spent:
                raise Conflict(
                    _(
                        "{person} has already put {amount} into buckets: their allocation can't go below "
                        "that.",
                        person=f"<@{member_id}>",
                        amount=Money(row.spent, round_.currency),
                    )
                )
            total += after - before
            if row is None:
                row = RoundAllocation(guild_id=guild_id, round_id=round_id, member_id=member_id, allocated=0)
            row.allocated = after
            row.updated_at = now
            session.add(row)
            changes.append(AllocationChange(member_id, before, after))
        if total > round_.pot:
            raise Conflict(
                _(
                    "That would give out {amount} of a pot of {pot}.",
                    amount=Money(total, round_.currency),
                    pot=Money(round_.pot, round_.currency),
                )
            )
        round_.allocated = total
        session.add(round_)
        for change in changes:
            audit.record(
                session,
                guild_id=guild_id,
                actor_id=actor.user_id,
                action="round.allocate",
                subject=f"round:{round_id}",
                details={"member_id": change.member_id, "before": change.before, "after": change.after},
                at=now,
            )
        return changes
