"""Money out and corrections: paying an approved request (never past the balance, also when payouts race)
and reversing a ledger entry with a reason (never an edit).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import settings_in
from governance.errors import Conflict, NotAllowed
from governance.funds._common import (
    MAX_REASON,
    MAX_REFERENCE,
    CorrectionReceipt,
    PayoutReceipt,
    _claim_request,
    _entry_by_key,
    _fund_by_id,
    _load_entry,
    _load_request,
    _once,
    _record_request_event,
    idempotency_key_of,
    name_key,
)
from governance.i18n import _
from governance.ledger import ledger_entry, move_balance, refuse_over_capacity
from governance.money import Money
from governance.permissions import Actor, require_fund_steward, require_treasurer
from governance.text import clean_text
from storage.database import Database
from storage.models import Fund, FundingRequest, LedgerEntry, LedgerKind, RequestStatus


async def pay_request(
    db: Database,
    *,
    guild_id: int,
    request_id: int,
    actor: Actor,
    reference: str,
    idempotency_key: str,
    now: datetime,
) -> PayoutReceipt:
    """A treasurer records that an approved request was paid. Refused when it would overdraw the fund,
    also when payouts race: the balance update is conditional and decides inside the transaction."""
    key = idempotency_key_of(idempotency_key)
    reference = clean_text(reference, field=_("The reference"), limit=MAX_REFERENCE, required=True)

    async def paid(session: AsyncSession) -> PayoutReceipt | None:
        existing = await _entry_by_key(session, guild_id, key)
        if existing is None or existing.request_id != request_id:
            return None
        request = await _load_request(session, guild_id, request_id)
        fund = await _fund_by_id(session, guild_id, request.fund_id)
        return PayoutReceipt(request, fund, existing, duplicate=True)

    return await _once(db, _pay(db, guild_id, request_id, actor, reference, key, now), paid)


async def _pay(
    db: Database, guild_id: int, request_id: int, actor: Actor, reference: str, key: str, now: datetime
) -> PayoutReceipt:
    async with db.write() as session:
        require_treasurer(await settings_in(session, guild_id, now), actor)
        request = await _load_request(session, guild_id, request_id, lock=True)
        existing = await _entry_by_key(session, guild_id, key)
        if existing is not None:
            if existing.kind != LedgerKind.PAYOUT.value or existing.request_id != request_id:
                raise Conflict(_("This interaction already recorded another ledger entry."))
            fund = await _fund_by_id(session, guild_id, request.fund_id)
            return PayoutReceipt(request, fund, existing, duplicate=True)
        if request.requester_id == actor.user_id:
            raise NotAllowed(
                _(
                    "Nobody pays their own request: another treasurer records the payout of #{number}.",
                    number=request_id,
                )
            )
        if request.status != RequestStatus.APPROVED.value or request.approved_amount is None:
            raise Conflict(
                _(
                    "Request #{number} is {status}; only an approved request is paid.",
                    number=request_id,
                    status=request.status,
                )
            )
        fund = await _fund_by_id(session, guild_id, request.fund_id)
        amount = request.approved_amount
        if not await _claim_request(
            session,
            request_id,
            (RequestStatus.APPROVED.value,),
            status=RequestStatus.PAID.value,
            reference=reference,
            updated_at=now,
        ):
            raise Conflict(_("Request #{number} was paid or changed meanwhile.", number=request_id))
        await move_balance(
            session,
            fund,
            -amount,
            overdraw=_(
                "{fund} holds {balance}: paying {amount} would overdraw it. Nothing was recorded.",
                fund=fund.name,
                balance=Money(fund.balance, fund.currency),
                amount=Money(amount, fund.currency),
            ),
        )
        entry = ledger_entry(
            fund,
            kind=LedgerKind.PAYOUT,
            amount=-amount,
            recorded_by=actor.user_id,
            key=key,
            now=now,
            member_id=request.requester_id,
            request_id=request_id,
            reference=reference,
        )
        session.add(entry)
        await session.flush()
        await session.exec(
            update(FundingRequest)
            .where(col(FundingRequest.id) == request_id)
            .values(payout_entry_id=entry.id)
        )
        await session.refresh(request)
        _record_request_event(
            session,
            request,
            actor_id=actor.user_id,
            action="fund.payout",
            now=now,
            details={
                "amount": amount,
                "currency": fund.currency,
                "entry_id": entry.id,
                "reference": reference,
            },
        )
    return PayoutReceipt(request, fund, entry)


async def correct_entry(
    db: Database,
    *,
    guild_id: int,
    entry_id: int,
    actor: Actor,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> CorrectionReceipt:
    """A treasurer or moderator reverses a ledger entry with a reason: a new entry of the opposite amount
    naming the one it corrects (never an edit). A reversed payout puts its request back to approved, to be
    paid again correctly; a correction that would make the balance negative is refused."""
    key = idempotency_key_of(idempotency_key)
    reason = clean_text(reason, field=_("The reason"), limit=MAX_REASON, required=True)

    async def corrected(session: AsyncSession) -> CorrectionReceipt | None:
        existing = await _entry_by_key(session, guild_id, key)
        if existing is None or existing.reverses_entry_id != entry_id:
            return None
        original = await _load_entry(session, guild_id, entry_id)
        fund = await _fund_by_id(session, guild_id, original.fund_id)
        return CorrectionReceipt(original, existing, fund, duplicate=True)

    return await _once(db, _correct(db, guild_id, entry_id, actor, reason, key, now), corrected)


async def _correct(
    db: Database, guild_id: int, entry_id: int, actor: Actor, reason: str, key: str, now: datetime
) -> CorrectionReceipt:
    async with db.write() as session:
        # A correction reverses a mistake, it moves no new money: moderators may make one (product §5).
        require_fund_steward(await settings_in(session, guild_id, now), actor)
        original = await _load_entry(session, guild_id, entry_id)
        fund = await _fund_by_id(session, guild_id, original.fund_id)
        existing = await _entry_by_key(session, guild_id, key)
        if existing is not None:
            if existing.reverses_entry_id != entry_id:
                raise Conflict(_("This interaction already recorded another ledger entry."))
            return CorrectionReceipt(original, existing, fund, duplicate=True)
        if original.kind == LedgerKind.REVERSAL.value:
            raise Conflict(
                _(
                    "Entry #{number} is itself a correction and can't be reversed; record the movement anew.",
                    number=entry_id,
                )
            )
        already = (
            await session.exec(select(LedgerEntry).where(LedgerEntry.reverses_entry_id == entry_id))
        ).first()
        if already is not None:
            raise Conflict(
                _(
                    "Entry #{number} was already corrected by entry #{correction}.",
                    number=entry_id,
                    correction=already.id,
                )
            )
        refuse_over_capacity(fund, -original.amount)  # a reversed payout puts money back
        reopened: FundingRequest | None = None
        if original.kind == LedgerKind.PAYOUT.value and original.request_id is not None:
            # The request first (as a payout locks it first), then the fund.
            reopen = await session.exec(
                update(FundingRequest)
                .where(
                    col(FundingRequest.id) == original.request_id,
                    col(FundingRequest.guild_id) == guild_id,
                    col(FundingRequest.status) == RequestStatus.PAID.value,
                    col(FundingRequest.payout_entry_id) == entry_id,
                )
                .values(status=RequestStatus.APPROVED.value, payout_entry_id=None, updated_at=now)
            )
            if reopen.rowcount:
                reopened = await session.get(FundingRequest, original.request_id)
                if reopened is not None:
                    await session.refresh(reopened)
        amount = -original.amount
        await move_balance(
            session,
            fund,
            amount,
            overdraw=_(
                "Reversing entry #{number} takes {amount} out of {fund}, which holds {balance}: the balance "
                "can't go below zero.",
                number=entry_id,
                amount=Money(-amount, fund.currency),
                fund=fund.name,
                balance=Money(fund.balance, fund.currency),
            ),
        )
        reversal = ledger_entry(
            fund,
            kind=LedgerKind.REVERSAL,
            amount=amount,
            recorded_by=actor.user_id,
            key=key,
            now=now,
            member_id=original.member_id,
            request_id=original.request_id,
            contribution_id=original.contribution_id,
            reverses_entry_id=entry_id,
            reason=reason,
        )
        session.add(reversal)
        await session.flush()
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="fund.correction",
            subject=f"ledger_entry:{entry_id}",
            details={
                "fund_id": fund.id,
                "reversal_id": reversal.id,
                "amount": amount,
                "currency": fund.currency,
                "reason": reason,
                "request_reopened": reopened.id if reopened else None,
            },
            at=now,
        )
    return CorrectionReceipt(original, reversal, fund, reopened)


async def suggest_entries(
    db: Database, guild_id: int, query: str, limit: int = 25
) -> list[tuple[LedgerEntry, Fund]]:
    """Recent entries that can still be corrected (not reversals, not already reversed)."""
    needle = name_key(query).lstrip("#")
    async with db.read() as session:
        reversed_ids = select(LedgerEntry.reverses_entry_id).where(
            LedgerEntry.guild_id == guild_id, col(LedgerEntry.reverses_entry_id).is_not(None)
        )
        statement = (
            select(LedgerEntry, Fund)
            .join(Fund, col(Fund.id) == col(LedgerEntry.fund_id))
            .where(
                LedgerEntry.guild_id == guild_id,
                LedgerEntry.kind != LedgerKind.REVERSAL.value,
                col(LedgerEntry.id).not_in(reversed_ids),
            )
            .order_by(col(LedgerEntry.id).desc())
            .limit(200)
        )
        rows = (await session.exec(statement)).all()
    matching = [
        (entry, fund) for entry, fund in rows if not needle or needle in f"{entry.id} {name_key(fund.name)}"
    ]
    return matching[:limit]
