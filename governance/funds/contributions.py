"""Contributions: money a member says they put in, pending until a treasurer confirms it arrived; on
confirmation it reaches the ledger. A treasurer may also record money that arrived, confirmed at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, outbox
from governance.coop import settings_in
from governance.errors import Conflict, NotAllowed
from governance.funds._common import (
    CONTRIBUTION_NOTICE,
    MAX_NOTE,
    MAX_REASON,
    MAX_REFERENCE,
    ContributionReceipt,
    _entry_by_key,
    _fund_by_id,
    _load_contribution,
    _once,
    _refuse_archived,
    find_fund_in,
    idempotency_key_of,
    read_amount,
    require_fund_member,
)
from governance.i18n import _
from governance.ledger import ledger_entry, move_balance, refuse_over_capacity
from governance.permissions import Actor, is_treasurer, require_treasurer
from governance.text import clean_text
from storage.database import Database
from storage.models import (
    Contribution,
    ContributionStatus,
    Fund,
    FundingRequest,
    LedgerEntry,
    LedgerKind,
    OwedMessage,
    RequestStatus,
)


async def record_contribution(
    db: Database,
    *,
    guild_id: int,
    fund: str | int,
    actor: Actor,
    amount: str | int,
    idempotency_key: str,
    now: datetime,
    member_id: int | None = None,
    note: str = "",
) -> ContributionReceipt:
    """A member says they put money in (pending until a treasurer confirms it arrived), or a treasurer
    records money that arrived, for themselves or for `member_id` (confirmed at once, on the ledger).
    The same idempotency key records once: a repeat returns the first record with ``duplicate``."""
    key = idempotency_key_of(idempotency_key)
    note = clean_text(note, field=_("The note"), limit=MAX_NOTE)

    async def recorded(session: AsyncSession) -> ContributionReceipt | None:
        existing = await _contribution_by_key(session, guild_id, key)
        return None if existing is None else await _contribution_receipt(session, existing, duplicate=True)

    return await _once(
        db, _record_contribution(db, guild_id, fund, actor, amount, key, now, member_id, note), recorded
    )


async def _contribution_by_key(session: AsyncSession, guild_id: int, key: str) -> Contribution | None:
    return (
        await session.exec(
            select(Contribution).where(Contribution.guild_id == guild_id, Contribution.idempotency_key == key)
        )
    ).first()


async def _contribution_receipt(
    session: AsyncSession, contribution: Contribution, *, duplicate: bool
) -> ContributionReceipt:
    fund = await _fund_by_id(session, contribution.guild_id, contribution.fund_id)
    entry = (
        await session.get(LedgerEntry, contribution.ledger_entry_id) if contribution.ledger_entry_id else None
    )
    return ContributionReceipt(contribution, fund, entry, duplicate=duplicate)


async def _record_contribution(
    db: Database,
    guild_id: int,
    fund_ref: str | int,
    actor: Actor,
    amount_value: str | int,
    key: str,
    now: datetime,
    member_id: int | None,
    note: str,
) -> ContributionReceipt:
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        require_fund_member(settings, actor)
        treasurer = is_treasurer(settings, actor)
        if member_id is not None and member_id != actor.user_id and not treasurer:
            raise NotAllowed(_("Only treasurers record contributions for someone else."))
        existing = await _contribution_by_key(session, guild_id, key)
        if existing is not None:
            return await _contribution_receipt(session, existing, duplicate=True)
        fund = await find_fund_in(session, guild_id, fund_ref)
        _refuse_archived(fund)
        assert fund.id is not None
        amount = read_amount(amount_value, fund.currency)
        refuse_over_capacity(fund, amount)
        contributor = member_id if member_id is not None else actor.user_id
        contribution = Contribution(
            guild_id=guild_id,
            fund_id=fund.id,
            member_id=contributor,
            amount=amount,
            currency=fund.currency,
            note=note,
            status=ContributionStatus.PENDING.value,
            recorded_by=actor.user_id,
            idempotency_key=key,
            created_at=now,
        )
        session.add(contribution)
        await session.flush()
        entry: LedgerEntry | None = None
        if treasurer:
            if await _entry_by_key(session, guild_id, key) is not None:
                raise Conflict(_("This interaction already recorded another ledger entry."))
            entry = await _book_contribution(
                session, fund, contribution, recorded_by=actor.user_id, key=key, now=now
            )
            contribution.status = ContributionStatus.CONFIRMED.value
            contribution.confirmed_by = actor.user_id
            contribution.ledger_entry_id = entry.id
            contribution.decided_at = now
            session.add(contribution)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="fund.contribution",
            subject=f"contribution:{contribution.id}",
            details={
                "fund_id": fund.id,
                "member_id": contributor,
                "amount": amount,
                "currency": fund.currency,
                "confirmed": entry is not None,
                "entry_id": entry.id if entry else None,
            },
            at=now,
        )
        if entry is None:  # the treasurers are owed a notice with buttons to confirm or reject it
            await outbox.owe(
                session,
                guild_id=guild_id,
                kind=CONTRIBUTION_NOTICE,
                key=f"{CONTRIBUTION_NOTICE}:{contribution.id}",
                payload={"id": contribution.id},
                now=now,
            )
    return ContributionReceipt(contribution, fund, entry)


async def owed_contribution(db: Database, owed: OwedMessage) -> tuple[Contribution, Fund] | None:
    """The contribution a treasurers' notice is owed for, while it still waits for them (else None)."""
    async with db.read() as session:
        contribution = await session.get(Contribution, int(owed.payload["id"]))
        if contribution is None or contribution.guild_id != owed.guild_id:
            return None
        if contribution.status != ContributionStatus.PENDING.value:
            return None
        fund = await _fund_by_id(session, owed.guild_id, contribution.fund_id)
    return contribution, fund


async def owed_request(db: Database, owed: OwedMessage) -> tuple[FundingRequest, Fund] | None:
    """The request a treasurers' notice is owed for, while it still waits for them (else None)."""
    async with db.read() as session:
        request = await session.get(FundingRequest, int(owed.payload["id"]))
        if request is None or request.guild_id != owed.guild_id:
            return None
        if request.status != RequestStatus.PENDING.value:
            return None
        fund = await _fund_by_id(session, owed.guild_id, request.fund_id)
    return request, fund


async def _book_contribution(
    session: AsyncSession,
    fund: Fund,
    contribution: Contribution,
    *,
    recorded_by: int,
    key: str,
    now: datetime,
) -> LedgerEntry:
    """Put a contribution's money on the ledger: its entry, then the fund's balance."""
    refuse_over_capacity(fund, contribution.amount)
    entry = ledger_entry(
        fund,
        kind=LedgerKind.CONTRIBUTION,
        amount=contribution.amount,
        recorded_by=recorded_by,
        key=key,
        now=now,
        member_id=contribution.member_id,
        contribution_id=contribution.id,
        reference=contribution.note[:MAX_REFERENCE],
    )
    session.add(entry)
    await session.flush()
    await move_balance(session, fund, contribution.amount)
    return entry


async def _decide_pending_contribution(
    session: AsyncSession,
    guild_id: int,
    contribution_id: int,
    actor: Actor,
    status: ContributionStatus,
    now: datetime,
) -> Contribution:
    """A treasurer confirms or rejects a pending contribution. The conditional UPDATE decides, so two
    treasurers clicking at once decide it once; the contribution is returned as it was read before."""
    require_treasurer(await settings_in(session, guild_id, now), actor)
    contribution = await _load_contribution(session, guild_id, contribution_id)
    claimed = await session.exec(
        update(Contribution)
        .where(
            col(Contribution.id) == contribution_id,
            col(Contribution.guild_id) == guild_id,
            col(Contribution.status) == ContributionStatus.PENDING.value,
        )
        .values(status=status.value, confirmed_by=actor.user_id, decided_at=now)
    )
    if not claimed.rowcount:
        raise Conflict(
            _(
                "Contribution #{number} is {status}, not pending.",
                number=contribution_id,
                status=contribution.status,
            )
        )
    return contribution


async def confirm_contribution(
    db: Database, *, guild_id: int, contribution_id: int, actor: Actor, now: datetime
) -> ContributionReceipt:
    """A treasurer confirms the money arrived: the contribution reaches the ledger, once."""
    async with db.write() as session:
        contribution = await _decide_pending_contribution(
            session, guild_id, contribution_id, actor, ContributionStatus.CONFIRMED, now
        )
        fund = await _fund_by_id(session, guild_id, contribution.fund_id)
        entry = await _book_contribution(
            session,
            fund,
            contribution,
            recorded_by=actor.user_id,
            key=f"contribution:{contribution_id}",
            now=now,
        )
        await session.exec(
            update(Contribution)
            .where(col(Contribution.id) == contribution_id)
            .values(ledger_entry_id=entry.id)
        )
        await session.refresh(contribution)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="fund.contribution.confirm",
            subject=f"contribution:{contribution_id}",
            details={
                "fund_id": fund.id,
                "amount": contribution.amount,
                "currency": fund.currency,
                "entry_id": entry.id,
            },
            at=now,
        )
    return ContributionReceipt(contribution, fund, entry)


async def reject_contribution(
    db: Database, *, guild_id: int, contribution_id: int, actor: Actor, now: datetime, reason: str = ""
) -> ContributionReceipt:
    """A treasurer says the money never arrived: the contribution stays off the ledger."""
    reason = clean_text(reason, field=_("The reason"), limit=MAX_REASON)
    async with db.write() as session:
        contribution = await _decide_pending_contribution(
            session, guild_id, contribution_id, actor, ContributionStatus.REJECTED, now
        )
        await session.refresh(contribution)
        fund = await _fund_by_id(session, guild_id, contribution.fund_id)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="fund.contribution.reject",
            subject=f"contribution:{contribution_id}",
            details={
                "fund_id": fund.id,
                "amount": contribution.amount,
                "currency": fund.currency,
                "reason": reason,
            },
            at=now,
        )
    return ContributionReceipt(contribution, fund, None)


async def list_contributions(
    db: Database,
    guild_id: int,
    *,
    fund: str | int | None = None,
    status: str | None = ContributionStatus.PENDING.value,
    limit: int = 25,
) -> list[tuple[Contribution, Fund]]:
    async with db.read() as session:
        query = (
            select(Contribution, Fund)
            .join(Fund, col(Fund.id) == col(Contribution.fund_id))
            .where(Contribution.guild_id == guild_id)
        )
        if fund is not None:
            found = await find_fund_in(session, guild_id, fund)
            query = query.where(Contribution.fund_id == found.id)
        if status is not None:
            query = query.where(Contribution.status == status)
        rows = await session.exec(query.order_by(col(Contribution.id).desc()).limit(limit))
        return [(contribution, found_fund) for contribution, found_fund in rows.all()]
