"""Funding requests: asked, decided by the members (a linked decision) or a treasurer, cancelled, or
expired by the clock; what a closed decision on a request does (``on_request_decision_closed``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, outbox
from governance.coop import settings_in
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.funds._common import (
    LINK_KIND,
    MAX_DETAILS,
    MAX_PURPOSE,
    MAX_REASON,
    OPEN_REQUEST_STATUSES,
    REQUEST_LIFETIME,
    REQUEST_NOTICE,
    FundTotals,
    RequestChange,
    RequestReceipt,
    RequestView,
    SettledRequest,
    _claim_request,
    _fund_by_id,
    _load_request,
    _record_request_event,
    _refuse_archived,
    find_fund_in,
    read_amount,
    requested_top,
    require_fund_member,
    totals_in,
)
from governance.i18n import SOURCE, Text, _, _n
from governance.limits import HOUR, UNLIMITED, Limits, enforce
from governance.money import Money
from governance.permissions import Actor, is_fund_steward, require_treasurer
from governance.proposing import ProposalDraft, open_decision_in
from governance.tally import TallyResult
from governance.text import clean_text
from storage.database import Database
from storage.models import Decision, DecisionStatus, Fund, FundingRequest, FundPolicy, RequestStatus


def _requested_amounts(
    fund: Fund, amount_min: str | int, amount_max: str | int | None
) -> tuple[int, int | None]:
    low = read_amount(amount_min, fund.currency)
    if amount_max is None:
        return low, None
    high = read_amount(amount_max, fund.currency)
    if high < low:
        raise InvalidInput(
            _(
                "The maximum ({maximum}) is less than the minimum ({minimum}).",
                maximum=Money(high, fund.currency),
                minimum=Money(low, fund.currency),
            )
        )
    return low, (high if high != low else None)


def decided_by_treasurer(fund: Fund, top: int) -> bool:
    """Whether a request for at most `top` is a treasurer's to approve (else the members decide)."""
    return fund.policy == FundPolicy.TREASURER.value and top <= fund.treasurer_limit


@dataclass(frozen=True)
class RequestPlan:
    """What a request would be, checked before the member writes its purpose."""

    fund: Fund
    amount_min: int
    amount_max: int | None
    by_treasurer: bool


async def plan_request(
    db: Database,
    *,
    guild_id: int,
    fund: str | int,
    actor: Actor,
    amount_min: str | int,
    amount_max: str | int | None,
    now: datetime,
) -> RequestPlan:
    """Refuse a request before its text is typed (nothing is written)."""
    async with db.read() as session:
        require_fund_member(await settings_in(session, guild_id, now), actor)
        found = await find_fund_in(session, guild_id, fund)
    _refuse_archived(found)
    low, high = _requested_amounts(found, amount_min, amount_max)
    return RequestPlan(found, low, high, decided_by_treasurer(found, high or low))


def _decision_title(request_id: int, purpose: str, language: str) -> str:
    """The proposal's title in the cooperative's language, its purpose cut to fit."""

    def title(shown: str) -> str:
        return _("Fund request #{number}: {purpose}", number=request_id, purpose=shown).render(language)

    room = 200 - len(title(""))
    return title(purpose if len(purpose) <= room else purpose[: room - 1].rstrip() + "…")


def _asked(request: FundingRequest) -> Money | Text:
    """What a request asks for: an amount, or a range."""
    low = Money(request.amount_min, request.currency)
    if request.amount_max is None:
        return low
    return _("{minimum} to {maximum}", minimum=low, maximum=Money(request.amount_max, request.currency))


def _decision_details(request: FundingRequest, fund: Fund, totals: FundTotals, language: str) -> str:
    """The proposal's details, in the cooperative's language (they are posted, and kept in the register)."""
    top = requested_top(request)
    lines = [
        _("**Amount:** {amount} from the fund **{fund}**", amount=_asked(request), fund=fund.name),
        _("**Requested by:** {person}", person=f"<@{request.requester_id}>"),
        _(
            "**The fund now:** balance {balance}, available {available}",
            balance=Money(totals.balance, fund.currency),
            available=Money(totals.available, fund.currency),
        ),
        _(
            "If this passes, request #{number} is approved for {amount}; if it does not, the request is "
            "rejected.",
            number=request.id,
            amount=Money(top, fund.currency),
        ),
    ]
    said = [line.render(language) for line in lines]
    if request.details:
        said += ["", request.details]
    return "\n".join(said)


async def request_funds(
    db: Database,
    *,
    guild_id: int,
    fund: str | int,
    actor: Actor,
    amount_min: str | int,
    purpose: str,
    now: datetime,
    amount_max: str | int | None = None,
    details: str = "",
    limits: Limits = UNLIMITED,
    language: str = SOURCE,
) -> RequestReceipt:
    """A member asks to be paid from a fund. When the members decide, the linked decision is opened in
    the same transaction (posting it is the caller's job); otherwise it waits for a treasurer. The
    decision's title and details are written in ``language``: the cooperative's."""
    purpose = clean_text(purpose, field=_("The purpose"), limit=MAX_PURPOSE, required=True)
    details = clean_text(details, field=_("The details"), limit=MAX_DETAILS)
    async with db.write() as session:
        require_fund_member(await settings_in(session, guild_id, now), actor)
        await enforce(
            session,
            guild_id=guild_id,
            action="fund.request",
            actor_id=actor.user_id,
            allowed=limits.requests_per_hour,
            window=HOUR,
            now=now,
            refusal=_n(
                "You have made {count} funding request in the last hour.",
                "You have made {count} funding requests in the last hour.",
                limits.requests_per_hour,
            ),
        )
        found = await find_fund_in(session, guild_id, fund)
        _refuse_archived(found)
        assert found.id is not None
        low, high = _requested_amounts(found, amount_min, amount_max)
        request = FundingRequest(
            guild_id=guild_id,
            fund_id=found.id,
            requester_id=actor.user_id,
            amount_min=low,
            amount_max=high,
            currency=found.currency,
            purpose=purpose,
            details=details,
            status=RequestStatus.PENDING.value,
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        await session.flush()
        assert request.id is not None
        decision: Decision | None = None
        if decided_by_treasurer(found, high or low):
            request.expires_at = now + REQUEST_LIFETIME
            # The treasurers are owed a notice with buttons to approve or reject it.
            await outbox.owe(
                session,
                guild_id=guild_id,
                kind=REQUEST_NOTICE,
                key=f"{REQUEST_NOTICE}:{request.id}",
                payload={"id": request.id},
                now=now,
            )
        else:
            decision = await open_decision_in(
                session,
                guild_id=guild_id,
                author_id=actor.user_id,
                draft=ProposalDraft(
                    title=_decision_title(request.id, purpose, language),
                    details=_decision_details(request, found, await totals_in(session, found), language),
                    kind=found.decision_type,
                ),
                now=now,
                link=(LINK_KIND, request.id),
            )
            request.decision_id = decision.id
        session.add(request)
        _record_request_event(
            session,
            request,
            actor_id=actor.user_id,
            action="fund.request",
            now=now,
            details={
                "amount_min": low,
                "amount_max": high,
                "currency": found.currency,
                "purpose": purpose,
                "decision_id": decision.id if decision else None,
            },
        )
    return RequestReceipt(request, found, decision)


async def _request_for_treasurer(
    session: AsyncSession, guild_id: int, request_id: int, actor: Actor, now: datetime, *, if_own: Text
) -> FundingRequest:
    """The request a treasurer is about to decide, locked: refused with `if_own` when it is their own, and
    when it is not pending or the members decide it."""
    require_treasurer(await settings_in(session, guild_id, now), actor)
    request = await _load_request(session, guild_id, request_id, lock=True)
    if request.requester_id == actor.user_id:
        raise NotAllowed(if_own)
    if request.status != RequestStatus.PENDING.value:
        raise Conflict(
            _("Request #{number} is {status}, not pending.", number=request.id, status=request.status)
        )
    if request.decision_id is not None:
        raise Conflict(
            _(
                "Request #{number} is being decided by the members in proposal #{proposal}; "
                "a treasurer can't decide it.",
                number=request.id,
                proposal=request.decision_id,
            )
        )
    return request


async def approve_request(
    db: Database,
    *,
    guild_id: int,
    request_id: int,
    actor: Actor,
    now: datetime,
    amount: str | int | None = None,
    note: str = "",
) -> RequestChange:
    """A treasurer approves a request within the fund's treasurer limit and what the fund has available;
    the amount defaults to the most asked and may be anything within what was asked."""
    note = clean_text(note, field=_("The note"), limit=MAX_REASON)
    async with db.write() as session:
        request = await _request_for_treasurer(
            session,
            guild_id,
            request_id,
            actor,
            now,
            if_own=_(
                "Nobody approves their own request: another treasurer must decide #{number}.",
                number=request_id,
            ),
        )
        fund = await _fund_by_id(session, guild_id, request.fund_id, lock=True)
        currency = fund.currency
        chosen = requested_top(request) if amount is None else read_amount(amount, currency)
        if not request.amount_min <= chosen <= requested_top(request):
            raise InvalidInput(
                _(
                    "Request #{number} asks for {amount}: approve within that.",
                    number=request_id,
                    amount=Money(request.amount_min, request.currency),
                )
                if request.amount_max is None
                else _(
                    "Request #{number} asks for {minimum} to {maximum}: approve within that.",
                    number=request_id,
                    minimum=Money(request.amount_min, request.currency),
                    maximum=Money(request.amount_max, request.currency),
                )
            )
        if not decided_by_treasurer(fund, chosen):
            raise NotAllowed(
                _(
                    "{amount} is more than a treasurer may approve from {fund}: its treasurer limit is "
                    "{limit}.",
                    amount=Money(chosen, currency),
                    fund=fund.name,
                    limit=Money(fund.treasurer_limit, currency),
                )
                if fund.policy == FundPolicy.TREASURER.value
                else _(
                    "{amount} is more than a treasurer may approve from {fund}: its requests are decided by "
                    "the "
                    "members.",
                    amount=Money(chosen, currency),
                    fund=fund.name,
                )
            )
        totals = await totals_in(session, fund)
        if chosen > totals.available:
            raise Conflict(
                _(
                    "{fund} has {available} available (balance {balance}, {committed} promised to approved "
                    "requests): {amount} can't be approved now.",
                    fund=fund.name,
                    available=Money(max(totals.available, 0), currency),
                    balance=Money(totals.balance, currency),
                    committed=Money(totals.committed, currency),
                    amount=Money(chosen, currency),
                )
            )
        if not await _claim_request(
            session,
            request_id,
            (RequestStatus.PENDING.value,),
            status=RequestStatus.APPROVED.value,
            approved_amount=chosen,
            decided_by=actor.user_id,
            decided_at=now,
            decision_note=note,
            updated_at=now,
            stale_reminded_at=None,  # a new wait begins, for the payout: treasurers may be nudged again
        ):
            raise Conflict(_("Request #{number} was decided meanwhile.", number=request_id))
        await session.refresh(request)
        _record_request_event(
            session,
            request,
            actor_id=actor.user_id,
            action="fund.request.approve",
            now=now,
            details={"amount": chosen, "currency": currency, "note": note},
        )
    return RequestChange(request, fund)


async def reject_request(
    db: Database, *, guild_id: int, request_id: int, actor: Actor, now: datetime, reason: str = ""
) -> RequestChange:
    """A treasurer declines a request that was theirs to decide."""
    reason = clean_text(reason, field=_("The reason"), limit=MAX_REASON)
    async with db.write() as session:
        request = await _request_for_treasurer(
            session,
            guild_id,
            request_id,
            actor,
            now,
            if_own=_(
                "You can't decide your own request; to withdraw #{number}, use /fund request cancel.",
                number=request_id,
            ),
        )
        if not await _claim_request(
            session,
            request_id,
            (RequestStatus.PENDING.value,),
            status=RequestStatus.REJECTED.value,
            decided_by=actor.user_id,
            decided_at=now,
            decision_note=reason,
            updated_at=now,
        ):
            raise Conflict(_("Request #{number} was decided meanwhile.", number=request_id))
        await session.refresh(request)
        fund = await _fund_by_id(session, guild_id, request.fund_id)
        _record_request_event(
            session,
            request,
            actor_id=actor.user_id,
            action="fund.request.reject",
            now=now,
            details={"reason": reason},
        )
    return RequestChange(request, fund)


async def _cancel_linked_decision(
    session: AsyncSession, request: FundingRequest, actor_id: int | None, now: datetime
) -> int | None:
    if request.decision_id is None:
        return None
    cancelled = await session.exec(
        update(Decision)
        .where(
            col(Decision.id) == request.decision_id,
            col(Decision.guild_id) == request.guild_id,
            col(Decision.status) == DecisionStatus.OPEN.value,
        )
        .values(status=DecisionStatus.CANCELLED.value, closed_at=now, updated_at=now)
    )
    if not cancelled.rowcount:
        return None
    audit.record(
        session,
        guild_id=request.guild_id,
        actor_id=actor_id,
        action="decision.cancel",
        subject=f"decision:{request.decision_id}",
        details={"reason": f"funding request #{request.id} was cancelled"},
        at=now,
    )
    return request.decision_id


async def cancel_request(
    db: Database, *, guild_id: int, request_id: int, actor: Actor, now: datetime, reason: str = ""
) -> RequestChange:
    """The requester withdraws their request (pending, or approved and not yet paid), or a treasurer
    cancels it; an open linked proposal is cancelled with it."""
    reason = clean_text(reason, field=_("The reason"), limit=MAX_REASON)
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        request = await _load_request(session, guild_id, request_id)
        if request.requester_id != actor.user_id and not is_fund_steward(settings, actor):
            raise NotAllowed(
                _(
                    "Only the requester, a treasurer or a moderator can cancel request #{number}.",
                    number=request_id,
                )
            )
        if request.status not in OPEN_REQUEST_STATUSES:
            raise Conflict(
                _(
                    "Request #{number} is {status}; it can't be cancelled.",
                    number=request_id,
                    status=request.status,
                )
            )
        # The decision first, as a close does, so that a cancel and a close never wait on each other.
        cancelled_decision = await _cancel_linked_decision(session, request, actor.user_id, now)
        if not await _claim_request(
            session,
            request_id,
            OPEN_REQUEST_STATUSES,
            status=RequestStatus.CANCELLED.value,
            decision_note=reason,
            updated_at=now,
        ):
            raise Conflict(
                _("Request #{number} changed meanwhile; it can't be cancelled.", number=request_id)
            )
        await session.refresh(request)
        fund = await _fund_by_id(session, guild_id, request.fund_id)
        _record_request_event(
            session,
            request,
            actor_id=actor.user_id,
            action="fund.request.cancel",
            now=now,
            details={"reason": reason, "decision_cancelled": cancelled_decision},
        )
    return RequestChange(request, fund, cancelled_decision)


async def on_request_decision_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    """Runs inside the transaction that closes a linked decision: the request is approved (for the most
    asked) when it passed, rejected otherwise, and nothing at all if it is no longer pending."""
    if decision.link_id is None:
        return
    request = (
        await session.exec(
            select(FundingRequest).where(
                FundingRequest.id == decision.link_id, FundingRequest.guild_id == decision.guild_id
            )
        )
    ).first()
    if request is None or request.decision_id != decision.id:
        return
    passed = result.passed is True
    values: dict[str, Any] = {
        "status": (RequestStatus.APPROVED if passed else RequestStatus.REJECTED).value,
        "decided_at": now,
        "decision_note": result.outcome[:MAX_REASON],
        "updated_at": now,
    }
    if passed:
        values["approved_amount"] = requested_top(request)
        values["stale_reminded_at"] = None  # a new wait begins, for the payout
    assert request.id is not None
    if not await _claim_request(session, request.id, (RequestStatus.PENDING.value,), **values):
        return
    _record_request_event(
        session,
        request,
        actor_id=None,
        action="fund.request.approve" if passed else "fund.request.reject",
        now=now,
        details={
            "decision_id": decision.id,
            "amount": values.get("approved_amount"),
            "currency": request.currency,
            "outcome": result.outcome,
        },
    )


async def get_request(db: Database, guild_id: int, request_id: int) -> RequestView:
    async with db.read() as session:
        request = await _load_request(session, guild_id, request_id)
        fund = await _fund_by_id(session, guild_id, request.fund_id)
        decision = await session.get(Decision, request.decision_id) if request.decision_id else None
    return RequestView(request, fund, decision)


async def list_requests(
    db: Database,
    guild_id: int,
    *,
    fund: str | int | None = None,
    statuses: Collection[str] | None = OPEN_REQUEST_STATUSES,
    requester_id: int | None = None,
    limit: int = 25,
) -> list[tuple[FundingRequest, Fund]]:
    async with db.read() as session:
        query = (
            select(FundingRequest, Fund)
            .join(Fund, col(Fund.id) == col(FundingRequest.fund_id))
            .where(FundingRequest.guild_id == guild_id)
        )
        if fund is not None:
            found = await find_fund_in(session, guild_id, fund)
            query = query.where(FundingRequest.fund_id == found.id)
        if statuses is not None:
            query = query.where(col(FundingRequest.status).in_(list(statuses)))
        if requester_id is not None:
            query = query.where(FundingRequest.requester_id == requester_id)
        rows = await session.exec(query.order_by(col(FundingRequest.id).desc()).limit(limit))
        return [(request, found_fund) for request, found_fund in rows.all()]


async def settle_due(
    db: Database,
    now: datetime,
    guild_ids: Collection[int] | None = None,
    language_of_coop: Callable[[int], Awaitable[str]] | None = None,
) -> list[SettledRequest]:
    """Expire requests that waited for a treasurer past their time, and cancel pending requests whose
    proposal was cancelled. Each change is claimed by a conditional UPDATE: never done twice. The note
    kept on each request is written in its cooperative's language (``language_of_coop``; else English)."""
    async with db.read() as session:
        expiring = select(FundingRequest.guild_id, FundingRequest.id).where(
            FundingRequest.status == RequestStatus.PENDING.value,
            col(FundingRequest.decision_id).is_(None),
            col(FundingRequest.expires_at) <= now,
        )
        orphaned = (
            select(FundingRequest.guild_id, FundingRequest.id)
            .join(Decision, col(Decision.id) == col(FundingRequest.decision_id))
            .where(
                FundingRequest.status == RequestStatus.PENDING.value,
                Decision.status == DecisionStatus.CANCELLED.value,
            )
        )
        if guild_ids is not None:
            expiring = expiring.where(col(FundingRequest.guild_id).in_(guild_ids))
            orphaned = orphaned.where(col(FundingRequest.guild_id).in_(guild_ids))
        to_expire = list((await session.exec(expiring)).all())
        to_cancel = list((await session.exec(orphaned)).all())
    settled: list[SettledRequest] = []
    for rows, status, action, note in (
        (to_expire, RequestStatus.EXPIRED, "fund.request.expire", _("no treasurer decided it in time")),
        (to_cancel, RequestStatus.CANCELLED, "fund.request.cancel", _("its proposal was cancelled")),
    ):
        for guild_id, request_id in rows:
            assert request_id is not None
            language = await language_of_coop(guild_id) if language_of_coop is not None else SOURCE
            async with db.write() as session:
                if not await _claim_request(
                    session,
                    request_id,
                    (RequestStatus.PENDING.value,),
                    status=status.value,
                    decision_note=note.render(language),
                    updated_at=now,
                ):
                    continue
                request = await _load_request(session, guild_id, request_id)
                await session.refresh(request)
                fund = await _fund_by_id(session, guild_id, request.fund_id)
                _record_request_event(
                    session, request, actor_id=None, action=action, now=now, details={"reason": str(note)}
                )
            settled.append(SettledRequest(request, fund))
    return settled


async def next_expiry(db: Database, guild_ids: Collection[int] | None = None) -> datetime | None:
    async with db.read() as session:
        query = select(FundingRequest.expires_at).where(
            FundingRequest.status == RequestStatus.PENDING.value,
            col(FundingRequest.decision_id).is_(None),
            col(FundingRequest.expires_at).is_not(None),
        )
        if guild_ids is not None:
            query = query.where(col(FundingRequest.guild_id).in_(guild_ids))
        return (await session.exec(query.order_by(col(FundingRequest.expires_at)).limit(1))).first()
