"""A round's life: created (its pot set aside, or the members asked first), opened by their decision,
closed (buckets funded or refunded, the pot back in the fund) or cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import settings_in
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.funds import find_fund_in, read_amount, totals_in
from governance.ledger import ledger_entry, move_balance
from governance.money import format_amount
from governance.permissions import Actor, is_moderator, require_fund_steward
from governance.proposing import ProposalDraft, open_decision_in
from governance.rounds._common import (
    LIVE_BUCKETS,
    MAX_DESCRIPTION,
    MAX_PHASE,
    MAX_TITLE,
    MIN_FUNDING,
    ROUND_LINK,
    ClosedRound,
    RoundDraft,
    RoundReceipt,
    _fund_of,
    _funder_counts,
    _holds_money,
    _money,
    _refund,
    _require_phase,
    _return_pot,
    _round_in,
    parse_guidelines,
)
from governance.tally import TallyResult
from governance.text import clean_text
from governance.timeparse import parse_duration
from storage.database import Database
from storage.models import (
    Bucket,
    BucketStatus,
    Decision,
    Fund,
    FundingRequest,
    LedgerKind,
    RequestStatus,
    Round,
    RoundPhase,
)


def _duration(text: str, what: str) -> timedelta:
    try:
        return parse_duration(text, maximum=MAX_PHASE)
    except InvalidInput as error:
        raise InvalidInput(f"The {what}: {error.message}") from None


@dataclass(frozen=True)
class _Checked:
    """A draft's money, fund and times, checked."""

    fund: Fund
    pot: int
    per_member: int
    cap: int | None
    ideas: timedelta
    funding: timedelta


async def _check(
    session: AsyncSession, guild_id: int, actor: Actor, draft: RoundDraft, now: datetime
) -> _Checked:
    require_fund_steward(await settings_in(session, guild_id, now), actor)
    ideas = (
        timedelta(0) if draft.ideas.strip() in ("0", "none", "") else _duration(draft.ideas, "ideas phase")
    )
    funding = _duration(draft.funding, "funding phase")
    if funding < MIN_FUNDING:
        raise InvalidInput("Funding must stay open for at least an hour.")
    fund = await find_fund_in(session, guild_id, draft.fund, lock=True)
    if fund.archived:
        raise Conflict(f"{fund.name} is archived: a round needs a fund in use.")
    pot = read_amount(draft.pot, fund.currency)
    per_member = read_amount(draft.allocation, fund.currency) if draft.allocation is not None else 0
    if per_member > pot:
        raise InvalidInput("Each person's allocation can't be more than the whole pot.")
    cap = read_amount(draft.max_per_bucket, fund.currency) if draft.max_per_bucket is not None else None
    if not draft.decide_first:
        available = (await totals_in(session, fund)).available
        if pot > available:
            raise Conflict(
                f"{fund.name} has {format_amount(max(available, 0), fund.currency)} available: a pot of "
                f"{format_amount(pot, fund.currency)} can't be set aside."
            )
    return _Checked(fund, pot, per_member, cap, ideas, funding)


async def check_round(db: Database, *, guild_id: int, actor: Actor, draft: RoundDraft, now: datetime) -> Fund:
    """Everything about a draft that does not need its words (who asks, the fund, the money, the times), so
    that a form is shown only for a round that can be set up; the fund it comes from."""
    async with db.read() as session:
        return (await _check(session, guild_id, actor, draft, now)).fund


async def create_round(
    db: Database, *, guild_id: int, actor: Actor, draft: RoundDraft, now: datetime
) -> RoundReceipt:
    """A moderator or treasurer sets a round up. Without ``decide_first`` the pot leaves the fund now
    (refused when the fund has not that much available); with it, when the members' decision passes."""
    title = clean_text(draft.title, field="The title", limit=MAX_TITLE, required=True, one_line=True)
    description = clean_text(draft.description, field="The description", limit=MAX_DESCRIPTION)
    guidelines = parse_guidelines("\n".join(draft.guidelines))
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        checked = await _check(session, guild_id, actor, draft, now)
        fund, pot, per_member, cap = checked.fund, checked.pot, checked.per_member, checked.cap
        ideas, funding = checked.ideas, checked.funding
        round_ = Round(
            guild_id=guild_id,
            fund_id=fund.id or 0,
            title=title,
            description=description,
            guidelines=list(guidelines),
            currency=fund.currency,
            pot=pot,
            per_member=per_member,
            role_id=draft.role_id,
            max_per_bucket=cap,
            own_buckets=draft.own_buckets,
            creators_open=draft.creators_open,
            phase=(RoundPhase.PROPOSED if draft.decide_first else RoundPhase.IDEAS).value,
            funding_opens_at=now + ideas,
            funding_closes_at=now + ideas + funding,
            channel_id=settings.governance_channel_id,
            created_by=actor.user_id,
            created_at=now,
        )
        session.add(round_)
        await session.flush()
        assert round_.id is not None
        decision = None
        if draft.decide_first:
            decision = await open_decision_in(
                session,
                guild_id=guild_id,
                author_id=actor.user_id,
                draft=ProposalDraft(
                    title=f"Hold funding round #{round_.id}: {title}"[:200],
                    details=_decision_details(round_, fund, ideas, funding),
                ),
                now=now,
                link=(ROUND_LINK, round_.id),
            )
            round_.decision_id = decision.id
        else:
            await _take_pot(session, round_, fund, actor.user_id, now)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="round.create",
            subject=f"round:{round_.id}",
            details={
                "fund_id": fund.id,
                "pot": pot,
                "currency": fund.currency,
                "decide_first": draft.decide_first,
                "funding_opens_at": round_.funding_opens_at.isoformat(),
                "funding_closes_at": round_.funding_closes_at.isoformat(),
            },
            at=now,
        )
        return RoundReceipt(round_, fund, decision)


def _decision_details(round_: Round, fund: Fund, ideas: timedelta, funding: timedelta) -> str:
    lines = [
        f"**Pot:** {_money(round_.pot, round_)} from {fund.name}",
        f"**Ideas phase:** {ideas.days} days" if ideas else "**Ideas phase:** none, funding opens at once",
        f"**Funding phase:** {funding.days} days" if funding.days else "**Funding phase:** under a day",
    ]
    if round_.description:
        lines.append(round_.description)
    if round_.guidelines:
        lines.append("**Guidelines:**\n" + "\n".join(f"{n}. {g}" for n, g in enumerate(round_.guidelines, 1)))
    lines.append("If this passes, the pot is set aside and the round opens; the phases count from then.")
    return "\n".join(lines)[:3900]


async def _take_pot(session: AsyncSession, round_: Round, fund: Fund, actor_id: int, now: datetime) -> None:
    """Set the pot aside: out of the fund's available money, onto the ledger, in this transaction."""
    assert round_.id is not None
    totals = await totals_in(session, fund)
    if round_.pot > totals.available:
        raise Conflict(
            f"{fund.name} has {format_amount(max(totals.available, 0), fund.currency)} available: a pot of "
            f"{_money(round_.pot, round_)} can't be set aside."
        )
    await move_balance(session, fund, -round_.pot, overdraw=f"{fund.name} can't cover the pot.")
    session.add(
        ledger_entry(
            fund,
            kind=LedgerKind.ROUND_POT,
            amount=-round_.pot,
            recorded_by=actor_id,
            key=f"round:{round_.id}:pot",
            now=now,
            reference=f"round #{round_.id}",
            reason=round_.title[:200],
        )
    )
    round_.opened_at = now


async def on_round_decision_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    """In the transaction that closes the members' decision on holding a round: it opens (the phases keep
    their lengths, counted from now) or is cancelled. A fund that can no longer cover the pot cancels it."""
    if decision.link_id is None:
        return
    round_ = (
        await session.exec(
            select(Round).where(Round.id == decision.link_id, Round.guild_id == decision.guild_id)
        )
    ).first()
    if round_ is None or round_.phase != RoundPhase.PROPOSED.value or round_.decision_id != decision.id:
        return
    note = result.outcome
    if result.passed:
        shift = now - round_.created_at
        round_.funding_opens_at += shift
        round_.funding_closes_at += shift
        fund = await _fund_of(session, round_, lock=True)
        totals = await totals_in(session, fund)
        if round_.pot <= totals.available:
            await _take_pot(session, round_, fund, decision.author_id, now)
            round_.phase = RoundPhase.IDEAS.value
        else:
            round_.phase = RoundPhase.CANCELLED.value
            round_.closed_at = now
            note = f"{note} The fund no longer has the pot available, so the round is cancelled."
    else:
        round_.phase = RoundPhase.CANCELLED.value
        round_.closed_at = now
    session.add(round_)
    audit.record(
        session,
        guild_id=round_.guild_id,
        actor_id=None,
        action="round.open" if round_.phase == RoundPhase.IDEAS.value else "round.cancel",
        subject=f"round:{round_.id}",
        details={"decision_id": decision.id, "outcome": note},
        at=now,
    )


async def close_round(
    db: Database, *, guild_id: int, round_id: int, now: datetime, actor: Actor | None = None
) -> ClosedRound | None:
    """Close funding, in one transaction: each bucket at or above its minimum is funded (an approved request
    on the fund for what it won, to its creator), the others are refunded; the pot goes back to the fund.
    Without ``actor`` it is the scheduled close (None when not yet due or already done); with one it is a
    moderator closing early."""
    async with db.write() as session:
        if actor is not None:
            settings = await settings_in(session, guild_id, now)
            if not is_moderator(settings, actor):
                raise NotAllowed("Only a moderator closes a round early.")
            round_ = await _round_in(session, guild_id, round_id, lock="update")
            _require_phase(round_, RoundPhase.IDEAS, RoundPhase.FUNDING, doing="close it")
        claim = update(Round).where(
            col(Round.id) == round_id,
            col(Round.guild_id) == guild_id,
            col(Round.phase).in_((RoundPhase.IDEAS.value, RoundPhase.FUNDING.value)),
        )
        if actor is None:
            claim = claim.where(
                col(Round.phase) == RoundPhase.FUNDING.value, col(Round.funding_closes_at) <= now
            )
        claimed = await session.exec(claim.values(phase=RoundPhase.CLOSED.value, closed_at=now))
        if not claimed.rowcount:
            return None
        round_ = await _round_in(session, guild_id, round_id)
        await _return_pot(session, round_, actor.user_id if actor else round_.created_by, now)
        buckets = list(
            (
                await session.exec(select(Bucket).where(Bucket.round_id == round_id).order_by(col(Bucket.id)))
            ).all()
        )
        funders = await _funder_counts(session, round_id)
        funded, unfunded, requests = [], [], []
        for bucket in buckets:
            if bucket.status not in LIVE_BUCKETS:
                continue
            bucket.closed_at = now
            if _holds_money(bucket) and bucket.funded >= bucket.min_total:
                bucket.status = BucketStatus.FUNDED.value
                bucket.funded_at = bucket.funded_at or now
                request = _request_for(round_, bucket, now)
                session.add(request)
                await session.flush()
                bucket.request_id = request.id
                funded.append(bucket)
                requests.append(request)
            else:
                await _refund(session, round_, bucket, now)
                bucket.status, bucket.funded = BucketStatus.UNFUNDED.value, 0
                unfunded.append(bucket)
            session.add(bucket)
        round_.outcome = round_outcome(round_, funded, len(funded) + len(unfunded))
        session.add(round_)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id if actor else None,
            action="round.close",
            subject=f"round:{round_id}",
            details={
                "funded": [bucket.id for bucket in funded],
                "unfunded": [bucket.id for bucket in unfunded],
                "spent": sum(bucket.funded for bucket in funded),
                "pot": round_.pot,
                "currency": round_.currency,
                "early": actor is not None,
            },
            at=now,
        )
        return ClosedRound(round_, funded, unfunded, requests, funders)


def round_outcome(round_: Round, funded: list[Bucket], considered: int) -> str:
    """The close in one sentence, as the decision register keeps it."""
    if not funded:
        pot = format_amount(round_.pot, round_.currency)
        return f"No bucket reached its minimum: the {pot} pot stays in the fund."
    spent = sum(bucket.funded for bucket in funded)
    return (
        f"{len(funded)} of {considered} bucket{'s' if considered != 1 else ''} funded: "
        f"{format_amount(spent, round_.currency)} of the {format_amount(round_.pot, round_.currency)} pot; "
        f"{format_amount(round_.pot - spent, round_.currency)} stays in the fund."
    )


def _request_for(round_: Round, bucket: Bucket, now: datetime) -> FundingRequest:
    return FundingRequest(
        guild_id=round_.guild_id,
        fund_id=round_.fund_id,
        requester_id=bucket.creator_id,
        amount_min=bucket.funded,
        approved_amount=bucket.funded,
        currency=round_.currency,
        purpose=f"Bucket #{bucket.id}: {bucket.title}"[:200],
        details=f"Funded in round #{round_.id} ({round_.title}).",
        status=RequestStatus.APPROVED.value,
        decision_note=f"Funded in round #{round_.id}",
        created_at=now,
        updated_at=now,
        decided_at=now,
    )


async def cancel_round(db: Database, *, guild_id: int, round_id: int, actor: Actor, now: datetime) -> Round:
    """A moderator cancels a round before it closes: every bucket is cancelled and the pot goes back."""
    async with db.write() as session:
        if not is_moderator(await settings_in(session, guild_id, now), actor):
            raise NotAllowed("Only a moderator cancels a round.")
        round_ = await _round_in(session, guild_id, round_id, lock="update")
        _require_phase(round_, RoundPhase.PROPOSED, RoundPhase.IDEAS, RoundPhase.FUNDING, doing="cancel it")
        await _return_pot(session, round_, actor.user_id, now)
        buckets = (await session.exec(select(Bucket).where(Bucket.round_id == round_id))).all()
        for bucket in buckets:
            if bucket.status in LIVE_BUCKETS:
                await _refund(session, round_, bucket, now)
                bucket.status, bucket.funded, bucket.closed_at = BucketStatus.CANCELLED.value, 0, now
                session.add(bucket)
        round_.phase, round_.closed_at = RoundPhase.CANCELLED.value, now
        session.add(round_)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="round.cancel",
            subject=f"round:{round_id}",
            details={"pot": round_.pot, "currency": round_.currency},
            at=now,
        )
        return round_
