"""A round's life: created (its pot set aside, or the members asked first), opened by their decision,
closed (buckets funded or refunded, the pot back in the fund) or cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import settings_in
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.funds import find_fund_in, read_amount, totals_in
from governance.i18n import N_, SOURCE, Text, _, _n
from governance.ledger import ledger_entry, move_balance
from governance.money import Money
from governance.networks._common import network_for
from governance.networks.funds import network_fund_in
from governance.permissions import Actor, is_moderator, require_fund_steward
from governance.proposing import ProposalDraft, open_decision_in
from governance.rounds import network
from governance.rounds._common import (
    LIVE_BUCKETS,
    MAX_DESCRIPTION,
    MAX_PHASE,
    MAX_TITLE,
    MIN_FUNDING,
    NETWORK_ROUND_LINK,
    ROUND_LINK,
    ClosedRound,
    RoundDraft,
    RoundReceipt,
    _fund_of,
    _funder_counts,
    _holds_money,
    _move_network_pot,
    _network_fund_of,
    _refund,
    _require_phase,
    _return_pot,
    _round_in,
    network_available,
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
    Network,
    NetworkFund,
    NetworkFundRequest,
    RequestStatus,
    Round,
    RoundPhase,
)


def _duration(text: str, what: Literal["ideas phase", "funding phase"]) -> timedelta:
    try:
        return parse_duration(text, maximum=MAX_PHASE)
    except InvalidInput as error:
        if what == "ideas phase":
            raise InvalidInput(_("The ideas phase: {problem}", problem=error.text)) from None
        raise InvalidInput(_("The funding phase: {problem}", problem=error.text)) from None


@dataclass(frozen=True)
class _Checked:
    """A draft's money, fund and times, checked."""

    fund: Fund | None  # the cooperative's fund; None for a network round
    network_fund: NetworkFund | None
    network: Network | None
    currency: str
    pot: int
    per_member: int
    cap: int | None
    ideas: timedelta
    funding: timedelta
    network_decides: bool = False  # a network round the network decides first

    @property
    def source(self) -> str:
        if self.fund is not None:
            return self.fund.name
        assert self.network is not None and self.network_fund is not None
        return f"{self.network.name} · {self.network_fund.name}"


async def _check(
    session: AsyncSession, guild_id: int, actor: Actor, draft: RoundDraft, now: datetime
) -> _Checked:
    require_fund_steward(await settings_in(session, guild_id, now), actor)
    ideas = (
        timedelta(0) if draft.ideas.strip() in ("0", "none", "") else _duration(draft.ideas, "ideas phase")
    )
    funding = _duration(draft.funding, "funding phase")
    if funding < MIN_FUNDING:
        raise InvalidInput(_("Funding must stay open for at least an hour."))
    if draft.network is not None:
        return await _check_network(session, guild_id, actor, draft, ideas, funding)
    fund = await find_fund_in(session, guild_id, draft.fund, lock=True)
    if fund.archived:
        raise Conflict(_("{fund} is archived: a round needs a fund in use.", fund=fund.name))
    pot = read_amount(draft.pot, fund.currency)
    per_member = read_amount(draft.allocation, fund.currency) if draft.allocation is not None else 0
    if per_member > pot:
        raise InvalidInput(_("Each person's allocation can't be more than the whole pot."))
    cap = read_amount(draft.max_per_bucket, fund.currency) if draft.max_per_bucket is not None else None
    if not draft.decide_first:
        available = (await totals_in(session, fund)).available
        if pot > available:
            raise Conflict(
                _(
                    "{fund} has {available} available: a pot of {pot} can't be set aside.",
                    fund=fund.name,
                    available=Money(max(available, 0), fund.currency),
                    pot=Money(pot, fund.currency),
                )
            )
    return _Checked(fund, None, None, fund.currency, pot, per_member, cap, ideas, funding)


async def _check_network(
    session: AsyncSession,
    guild_id: int,
    actor: Actor,
    draft: RoundDraft,
    ideas: timedelta,
    funding: timedelta,
) -> _Checked:
    """A network round's draft: the network fund's stewards set it up; above the fund's treasurer limit (or
    when asked), the network decides first, by cooperative under consent, as it decides such a request."""
    assert draft.network is not None
    if draft.role_id is not None:
        raise InvalidInput(
            _("A network round is for the members of every member cooperative: a role belongs to one server.")
        )
    network, _membership = await network_for(session, guild_id, draft.network)
    fund = await network_fund_in(session, network, str(draft.fund), lock=True)
    if fund.treasurer_ids and actor.user_id not in fund.treasurer_ids:
        raise NotAllowed(_("Only the treasurers named for {fund} set up a round on it.", fund=fund.name))
    pot = read_amount(draft.pot, fund.currency)
    if draft.allocation is None:
        raise InvalidInput(
            _(
                "A network round needs an allocation: each person's share, the same in every member "
                "cooperative (the members of other servers are not counted here to split the pot)."
            )
        )
    per_member = read_amount(draft.allocation, fund.currency)
    if per_member > pot:
        raise InvalidInput(_("Each person's allocation can't be more than the whole pot."))
    cap = read_amount(draft.max_per_bucket, fund.currency) if draft.max_per_bucket is not None else None
    decides = draft.decide_first or pot > fund.treasurer_limit
    available = await network_available(session, fund)
    if not decides and pot > available:
        raise Conflict(
            _(
                "{fund} has {available} available: a pot of {pot} can't be set aside.",
                fund=fund.name,
                available=Money(max(available, 0), fund.currency),
                pot=Money(pot, fund.currency),
            )
        )
    return _Checked(None, fund, network, fund.currency, pot, per_member, cap, ideas, funding, decides)


async def check_round(db: Database, *, guild_id: int, actor: Actor, draft: RoundDraft, now: datetime) -> str:
    """Everything about a draft that does not need its words (who asks, the fund, the money, the times), so
    that a form is shown only for a round that can be set up; the fund it comes from, by name."""
    async with db.read() as session:
        return (await _check(session, guild_id, actor, draft, now)).source


async def create_round(
    db: Database, *, guild_id: int, actor: Actor, draft: RoundDraft, now: datetime, language: str = SOURCE
) -> RoundReceipt:
    """A moderator or treasurer sets a round up. Without ``decide_first`` the pot leaves the fund now
    (refused when the fund has not that much available); with it, when the members' decision passes. A
    proposal to hold it is written in ``language`` (the cooperative's; for a network round, once for every
    member cooperative, in this one's)."""
    title = clean_text(draft.title, field=_("The title"), limit=MAX_TITLE, required=True, one_line=True)
    description = clean_text(draft.description, field=_("The description"), limit=MAX_DESCRIPTION)
    guidelines = parse_guidelines("\n".join(draft.guidelines))
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        checked = await _check(session, guild_id, actor, draft, now)
        fund, pot, per_member, cap = checked.fund, checked.pot, checked.per_member, checked.cap
        ideas, funding = checked.ideas, checked.funding
        round_ = Round(
            guild_id=guild_id,
            fund_id=fund.id if fund else None,
            network_id=checked.network.id if checked.network else None,
            network_fund_id=checked.network_fund.id if checked.network_fund else None,
            title=title,
            description=description,
            guidelines=list(guidelines),
            currency=checked.currency,
            pot=pot,
            per_member=per_member,
            role_id=draft.role_id,
            max_per_bucket=cap,
            own_buckets=draft.own_buckets,
            creators_open=draft.creators_open,
            phase=(
                RoundPhase.PROPOSED if draft.decide_first or checked.network_decides else RoundPhase.IDEAS
            ).value,
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
        network_proposal_id = None
        if checked.network is not None:
            network_proposal_id = await _open_network_round(session, round_, checked, actor, now, language)
        elif draft.decide_first:
            assert fund is not None
            decision = await open_decision_in(
                session,
                guild_id=guild_id,
                author_id=actor.user_id,
                draft=ProposalDraft(
                    title=_("Hold funding round #{number}: {title}", number=round_.id, title=title).render(
                        language
                    )[:200],
                    details=_decision_details(round_, fund.name, ideas, funding, language),
                ),
                now=now,
                link=(ROUND_LINK, round_.id),
            )
            round_.decision_id = decision.id
        else:
            assert fund is not None
            await _take_pot(session, round_, fund, actor.user_id, now)
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="round.create",
            subject=f"round:{round_.id}",
            details={
                "fund_id": fund.id if fund else None,
                "network_fund_id": round_.network_fund_id,
                "pot": pot,
                "currency": checked.currency,
                "decide_first": draft.decide_first,
                "funding_opens_at": round_.funding_opens_at.isoformat(),
                "funding_closes_at": round_.funding_closes_at.isoformat(),
            },
            at=now,
        )
        return RoundReceipt(round_, checked.source, decision, network_proposal_id)


async def _open_network_round(
    session: AsyncSession, round_: Round, checked: _Checked, actor: Actor, now: datetime, language: str
) -> int | None:
    """A network round: the pot leaves the network fund now and every member cooperative hears of it, or the
    network decides first (a network proposal, by cooperative, under consent); that proposal's id."""
    assert checked.network is not None and checked.network_fund is not None and round_.id is not None
    if not checked.network_decides:
        await _move_network_pot(session, round_, -round_.pot, actor.user_id, now)
        round_.opened_at = now
        await network.owe_round_news(session, round_, network.OPENED, now)
        return None
    from governance.networks.proposals import NetworkDraft, open_network_proposal_in

    ideas, funding = checked.ideas, checked.funding
    opened = await open_network_proposal_in(
        session,
        checked.network,
        guild_id=round_.guild_id,
        author_id=actor.user_id,
        draft=NetworkDraft(
            title=_(
                "Hold network funding round #{number}: {title}", number=round_.id, title=round_.title
            ).render(language)[:200],
            details=_decision_details(round_, checked.source, ideas, funding, language),
            kind="consent",
            counting="cooperative",
            rule="consent",
        ),
        now=now,
        link=(NETWORK_ROUND_LINK, round_.id),
    )
    round_.network_proposal_id = opened.proposal.id
    return opened.proposal.id


def _decision_details(round_: Round, source: str, ideas: timedelta, funding: timedelta, language: str) -> str:
    """The proposal to hold a round, in ``language`` (posted, and kept in the register)."""

    def say(text: Text) -> str:
        return text.render(language)

    lines = [
        say(_("**Pot:** {pot} from {source}", pot=Money(round_.pot, round_.currency), source=source)),
        say(
            _n("**Ideas phase:** {count} day", "**Ideas phase:** {count} days", ideas.days)
            if ideas
            else _("**Ideas phase:** none, funding opens at once")
        ),
        say(
            _n("**Funding phase:** {count} day", "**Funding phase:** {count} days", funding.days)
            if funding.days
            else _("**Funding phase:** under a day")
        ),
    ]
    if round_.description:
        lines.append(round_.description)
    if round_.per_member:
        lines.append(
            say(_("**Each person's share:** {amount}", amount=Money(round_.per_member, round_.currency)))
        )
    if round_.guidelines:
        lines.append(
            say(_("**Guidelines:**"))
            + "\n"
            + "\n".join(f"{n}. {g}" for n, g in enumerate(round_.guidelines, 1))
        )
    lines.append(
        say(_("If this passes, the pot is set aside and the round opens; the phases count from then."))
    )
    return "\n".join(lines)[:3900]


async def _take_pot(session: AsyncSession, round_: Round, fund: Fund, actor_id: int, now: datetime) -> None:
    """Set the pot aside: out of the fund's available money, onto the ledger, in this transaction."""
    assert round_.id is not None
    totals = await totals_in(session, fund)
    if round_.pot > totals.available:
        raise Conflict(
            _(
                "{fund} has {available} available: a pot of {pot} can't be set aside.",
                fund=fund.name,
                available=Money(max(totals.available, 0), fund.currency),
                pot=Money(round_.pot, round_.currency),
            )
        )
    await move_balance(session, fund, -round_.pot, overdraw=_("{fund} can't cover the pot.", fund=fund.name))
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
    if round_ is None or round_.decision_id != decision.id:
        return
    await open_decided_round(session, round_, passed=bool(result.passed), outcome=result.outcome, now=now)


async def open_decided_round(
    session: AsyncSession, round_: Round, *, passed: bool, outcome: str, now: datetime
) -> None:
    """The members (or, for a network round, the network) decided whether to hold a round: it opens, its
    phases keeping their lengths, counted from now, or it is cancelled. A fund that can no longer cover the
    pot cancels it."""
    if round_.phase != RoundPhase.PROPOSED.value:
        return
    note = outcome
    if passed:
        shift = now - round_.created_at
        round_.funding_opens_at += shift
        round_.funding_closes_at += shift
        if await _pot_available(session, round_) >= round_.pot:
            await _take_pot_for(session, round_, now)
            round_.phase = RoundPhase.IDEAS.value
        else:
            round_.phase = RoundPhase.CANCELLED.value
            round_.closed_at = now
            note = f"{note} The fund no longer has the pot available, so the round is cancelled."
    else:
        round_.phase = RoundPhase.CANCELLED.value
        round_.closed_at = now
    session.add(round_)
    if round_.network_id is not None:
        opened = round_.phase == RoundPhase.IDEAS.value
        await network.owe_round_news(session, round_, network.OPENED if opened else network.CANCELLED, now)
    audit.record(
        session,
        guild_id=round_.guild_id,
        actor_id=None,
        action="round.open" if round_.phase == RoundPhase.IDEAS.value else "round.cancel",
        subject=f"round:{round_.id}",
        details={
            "decision_id": round_.decision_id,
            "network_proposal_id": round_.network_proposal_id,
            "outcome": note,
        },
        at=now,
    )


async def _pot_available(session: AsyncSession, round_: Round) -> int:
    if round_.network_fund_id is not None:
        return await network_available(session, await _network_fund_of(session, round_, lock=True))
    return (await totals_in(session, await _fund_of(session, round_, lock=True))).available


async def _take_pot_for(session: AsyncSession, round_: Round, now: datetime) -> None:
    if round_.network_fund_id is not None:
        await _move_network_pot(session, round_, -round_.pot, round_.created_by, now)
        round_.opened_at = now
        return
    await _take_pot(session, round_, await _fund_of(session, round_, lock=True), round_.created_by, now)


async def close_round(
    db: Database,
    *,
    guild_id: int,
    round_id: int,
    now: datetime,
    actor: Actor | None = None,
    language: str = SOURCE,
) -> ClosedRound | None:
    """Close funding, in one transaction: each bucket at or above its minimum is funded (an approved request
    on the fund for what it won, to its creator), the others are refunded; the pot goes back to the fund.
    Without ``actor`` it is the scheduled close (None when not yet due or already done); with one it is a
    moderator closing early. The requests' texts are written in ``language``: the closing cooperative's
    (for a network round, its home's, once for every member cooperative)."""
    async with db.write() as session:
        if actor is not None:
            settings = await settings_in(session, guild_id, now)
            if not is_moderator(settings, actor):
                raise NotAllowed(_("Only a moderator closes a round early."))
            round_ = await _round_in(session, guild_id, round_id, lock="update")
            _require_home(round_, guild_id, doing="close it early")
            _require_phase(round_, RoundPhase.IDEAS, RoundPhase.FUNDING, doing=N_("close it"))
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
        funded: list[Bucket] = []
        unfunded: list[Bucket] = []
        requests: list[FundingRequest | NetworkFundRequest] = []
        for bucket in buckets:
            if bucket.status not in LIVE_BUCKETS:
                continue
            bucket.closed_at = now
            if _holds_money(bucket) and bucket.funded >= bucket.min_total:
                bucket.status = BucketStatus.FUNDED.value
                bucket.funded_at = bucket.funded_at or now
                request = _request_for(round_, bucket, now, language)
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
        said = round_outcome(round_, funded, len(funded) + len(unfunded))
        round_.outcome, round_.outcome_said = str(said), said.to_json()  # English, and for each reader
        session.add(round_)
        if round_.network_id is not None:
            await network.owe_round_news(session, round_, network.CLOSED, now)
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


def round_outcome(round_: Round, funded: list[Bucket], considered: int) -> Text:
    """The close in one sentence, as the decision register keeps it."""
    pot = Money(round_.pot, round_.currency)
    if not funded:
        return _("No bucket reached its minimum: the {pot} pot stays in the fund.", pot=pot)
    spent = sum(bucket.funded for bucket in funded)
    return _n(
        "{funded} of {count} bucket funded: {spent} of the {pot} pot; {left} stays in the fund.",
        "{funded} of {count} buckets funded: {spent} of the {pot} pot; {left} stays in the fund.",
        considered,
        funded=len(funded),
        spent=Money(spent, round_.currency),
        pot=pot,
        left=Money(round_.pot - spent, round_.currency),
    )


def _request_for(
    round_: Round, bucket: Bucket, now: datetime, language: str
) -> FundingRequest | NetworkFundRequest:
    """What a funded bucket won: an approved request to its creator, on the fund the pot came from; its
    texts in ``language``."""
    if round_.network_fund_id is not None:
        from governance.networks.requests import NetworkRequestStatus

        return NetworkFundRequest(
            network_fund_id=round_.network_fund_id,
            guild_id=bucket.guild_id,
            requester_id=bucket.creator_id,
            amount=bucket.funded,
            currency=round_.currency,
            purpose=_(
                "Bucket #{bucket}: {title} (funded in network round #{round})",
                bucket=bucket.id,
                title=bucket.title,
                round=round_.id,
            ).render(language)[:1000],
            status=NetworkRequestStatus.APPROVED.value,
            created_at=now,
            decided_at=now,
        )
    assert round_.fund_id is not None
    return FundingRequest(
        guild_id=round_.guild_id,
        fund_id=round_.fund_id,
        requester_id=bucket.creator_id,
        amount_min=bucket.funded,
        approved_amount=bucket.funded,
        currency=round_.currency,
        purpose=_("Bucket #{bucket}: {title}", bucket=bucket.id, title=bucket.title).render(language)[:200],
        details=_("Funded in round #{round} ({title}).", round=round_.id, title=round_.title).render(
            language
        ),
        status=RequestStatus.APPROVED.value,
        decision_note=_("Funded in round #{round}", round=round_.id).render(language),
        created_at=now,
        updated_at=now,
        decided_at=now,
    )


async def cancel_round(db: Database, *, guild_id: int, round_id: int, actor: Actor, now: datetime) -> Round:
    """A moderator cancels a round before it closes: every bucket is cancelled and the pot goes back."""
    async with db.write() as session:
        if not is_moderator(await settings_in(session, guild_id, now), actor):
            raise NotAllowed(_("Only a moderator cancels a round."))
        round_ = await _round_in(session, guild_id, round_id, lock="update")
        _require_home(round_, guild_id, doing="cancel it")
        _require_phase(
            round_, RoundPhase.PROPOSED, RoundPhase.IDEAS, RoundPhase.FUNDING, doing=N_("cancel it")
        )
        await _return_pot(session, round_, actor.user_id, now)
        buckets = (await session.exec(select(Bucket).where(Bucket.round_id == round_id))).all()
        for bucket in buckets:
            if bucket.status in LIVE_BUCKETS:
                await _refund(session, round_, bucket, now)
                bucket.status, bucket.funded, bucket.closed_at = BucketStatus.CANCELLED.value, 0, now
                session.add(bucket)
        round_.phase, round_.closed_at = RoundPhase.CANCELLED.value, now
        session.add(round_)
        if round_.network_id is not None:
            await network.owe_round_news(session, round_, network.CANCELLED, now)
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


def _require_home(round_: Round, guild_id: int, *, doing: Literal["close it early", "cancel it"]) -> None:
    """A network round is closed early or cancelled by the cooperative that set it up."""
    if round_.guild_id != guild_id:
        raise NotAllowed(
            _(
                "Round #{round} belongs to the cooperative that set it up: its moderators close it early.",
                round=round_.id,
            )
            if doing == "close it early"
            else _(
                "Round #{round} belongs to the cooperative that set it up: its moderators cancel it.",
                round=round_.id,
            )
        )
