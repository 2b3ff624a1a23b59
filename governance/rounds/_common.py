"""What the rounds modules share: limits, values, loading, permissions and the refunds. Package-private."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.errors import Conflict, InvalidInput, NotFound
from governance.funds import find_fund_in, read_amount
from governance.i18n import Text, Translated, _
from governance.ledger import ledger_entry, move_balance
from governance.money import Money, format_amount
from governance.permissions import Actor, is_member, is_moderator
from governance.timeparse import discord_timestamp
from storage.database import is_postgresql
from storage.models import (
    MAX_ID,
    Bucket,
    BucketConcern,
    BucketFunding,
    BucketFundingEvent,
    BucketStatus,
    CoopSettings,
    Decision,
    Fund,
    FundingRequest,
    LedgerKind,
    Network,
    NetworkFund,
    NetworkFundRequest,
    NetworkLedgerEntry,
    NetworkMembership,
    NetworkMemberStatus,
    Round,
    RoundAllocation,
    RoundPhase,
)

ROUND_LINK = "round"  # a decision whether to hold a round (its link id is the round's)
NETWORK_ROUND_LINK = "network_round"  # a network proposal whether to hold a network round
NETWORK_ROUND_KIND = "network-round"  # a network round's news owed to a member cooperative (outbox)
NETWORK_BUCKET_KIND = (
    "network-bucket"  # a network round's bucket owed a post, or a fresh one, in a cooperative
)
ROUND_POT = "round_pot"  # network ledger kinds: the pot set aside, and back
ROUND_RETURN = "round_return"
MAX_TITLE = 100
MAX_DESCRIPTION = 3000
MAX_GUIDELINES = 10
MAX_GUIDELINE = 200
MAX_BUDGET_LINES = 10
MAX_LINE_LABEL = 80
MAX_CO_CREATORS = 5
MAX_CONCERN = 1000
MIN_FUNDING = timedelta(hours=1)
MAX_PHASE = timedelta(days=90)
OPEN_PHASES = (RoundPhase.PROPOSED.value, RoundPhase.IDEAS.value, RoundPhase.FUNDING.value)
LIVE_BUCKETS = (BucketStatus.IDEA.value, BucketStatus.OPEN.value, BucketStatus.FUNDED.value)
_BUDGET_LINE = re.compile(r"^(?P<label>[^:]+):\s*(?P<low>[^–—]+?)(?:\s*(?:–|—|\bto\b|\.\.)\s*(?P<high>.+))?$")


@dataclass(frozen=True)
class RoundDraft:
    """A round as a moderator or treasurer asks for it; durations as typed ("3d", "1w")."""

    title: str
    fund: str | int
    pot: str | int
    ideas: str  # how long buckets are proposed before funding opens
    funding: str  # how long funding lasts
    description: str = ""
    guidelines: tuple[str, ...] = ()
    allocation: str | int | None = None  # each recipient's share; default: the pot split equally
    role_id: int | None = None  # who receives an allocation; default: the members
    max_per_bucket: str | int | None = None
    own_buckets: bool = True
    creators_open: bool = False
    decide_first: bool = False  # the members decide whether to hold it (the cooperative's default type)
    network: str | None = None  # a network round: ``fund`` is this network's fund, its members take part


@dataclass(frozen=True)
class RoundReceipt:
    round: Round
    source: str  # the fund the pot comes from, by name ("Coast Network · Commons" for a network fund)
    decision: Decision | None  # the members' decision whether to hold it, when they decide first
    network_proposal_id: int | None = None  # the network's decision, for a network round


@dataclass(frozen=True)
class FundingReceipt:
    """A click on a bucket: what moved (negative when taken back), and where things stand after it."""

    bucket: Bucket
    allocation: RoundAllocation
    moved: int
    yours: int  # what this person has in the bucket now
    duplicate: bool = False

    @property
    def remaining(self) -> int:
        return self.allocation.allocated - self.allocation.spent


@dataclass(frozen=True)
class AllocationChange:
    member_id: int
    before: int
    after: int


@dataclass(frozen=True)
class CancelledBucket:
    bucket: Bucket
    refunds: dict[int, int]  # member id -> what went back to their balance


@dataclass(frozen=True)
class ClosedRound:
    round: Round
    funded: list[Bucket]
    unfunded: list[Bucket]
    requests: list[FundingRequest | NetworkFundRequest]
    funders: dict[int, int]  # bucket id -> how many people put money in it

    @property
    def spent(self) -> int:
        return sum(bucket.funded for bucket in self.funded)

    @property
    def returned(self) -> int:
        """What goes back to the fund's available money: the pot less what the funded buckets won."""
        return self.round.pot - self.spent


@dataclass(frozen=True)
class RoundOverview:
    round: Round
    source: str  # the fund the pot comes from, by name
    buckets: list[Bucket]
    funders: dict[int, int]  # bucket id -> people who put money in
    yours: RoundAllocation | None
    in_buckets: dict[int, int] = field(default_factory=dict)  # bucket id -> what the reader has in it

    @property
    def unspent(self) -> int:
        """Held by people, not yet in a bucket."""
        return self.round.allocated - sum(bucket.funded for bucket in self.buckets if _holds_money(bucket))


@dataclass(frozen=True)
class BucketView:
    bucket: Bucket
    round: Round
    funders: dict[int, int]  # member id -> amount
    concerns: list[BucketConcern]


def label(round_: Round) -> str:
    return f"round #{round_.id}"


def bucket_label(bucket: Bucket) -> str:
    return f"bucket #{bucket.id}"


def _holds_money(bucket: Bucket) -> bool:
    return bucket.status in (BucketStatus.OPEN.value, BucketStatus.FUNDED.value)


def _money(minor: int, round_: Round) -> str:
    return format_amount(minor, round_.currency)


def parse_guidelines(text: str) -> tuple[str, ...]:
    """One guideline per line (a leading "1." or "-" is dropped); at most MAX_GUIDELINES."""
    lines = [re.sub(r"^\s*(?:[0-9]{1,2}[.)]|[-*•])\s*", "", line).strip() for line in text.splitlines()]
    guidelines = tuple(line for line in lines if line)
    if len(guidelines) > MAX_GUIDELINES:
        raise InvalidInput(
            _(
                "A round has at most {limit} guidelines (you gave {count}).",
                limit=MAX_GUIDELINES,
                count=len(guidelines),
            )
        )
    for number, guideline in enumerate(guidelines, start=1):
        if len(guideline) > MAX_GUIDELINE:
            raise InvalidInput(
                _(
                    "Guideline {number} is over {limit} characters: shorten it.",
                    number=number,
                    limit=MAX_GUIDELINE,
                )
            )
    return guidelines


def parse_budget(text: str, currency: str) -> list[dict[str, Any]]:
    """Budget lines, one per line: "Timber: 200" or, with a stretch goal, "Timber: 200 to 300" (also "–" or
    ".."). Each amount is read as any amount is, so an amount that reads two ways is refused."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidInput(
            _("Give at least one budget line, for example “Timber: 200” or “Timber: 200 to 300”.")
        )
    if len(lines) > MAX_BUDGET_LINES:
        raise InvalidInput(
            _(
                "A bucket has at most {limit} budget lines (you gave {count}).",
                limit=MAX_BUDGET_LINES,
                count=len(lines),
            )
        )
    budget = []
    for number, line in enumerate(lines, start=1):
        found = _BUDGET_LINE.match(line)
        if found is None:
            raise InvalidInput(
                _(
                    "Budget line {number} needs a label and an amount, like “Timber: 200” or "
                    "“Timber: 200 to 300”.",
                    number=number,
                )
            )
        label_text = " ".join(found["label"].split())
        if len(label_text) > MAX_LINE_LABEL:
            raise InvalidInput(
                _(
                    "Budget line {number}'s label is over {limit} characters.",
                    number=number,
                    limit=MAX_LINE_LABEL,
                )
            )
        low = read_amount(found["low"].strip(), currency)
        high = read_amount(found["high"].strip(), currency) if found["high"] else low
        if high < low:
            raise InvalidInput(
                _("Budget line {number}: the stretch goal is less than the minimum.", number=number)
            )
        budget.append({"label": label_text, "min": low, "max": high})
    return budget


def _no_such(what: Literal["round", "bucket", "concern"], number: int) -> Text:
    """The refusal for a round, bucket or concern that is not there (one sentence for each)."""
    if what == "round":
        return _("There is no round #{number} in this server.", number=number)
    if what == "bucket":
        return _("There is no bucket #{number} in this server.", number=number)
    return _("There is no concern #{number} in this server.", number=number)


def _plain_id(value: int, what: Literal["round", "bucket", "concern"]) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(_no_such(what, value))
    return value


def visible_from(guild_id: int) -> ColumnElement[bool]:
    """The rounds a cooperative sees: its own, and the network rounds of the networks it is a member of
    (a network round is a network object; nothing else of another cooperative's is ever found)."""
    networks = select(NetworkMembership.network_id).where(
        NetworkMembership.guild_id == guild_id, NetworkMembership.status == NetworkMemberStatus.MEMBER.value
    )
    return or_(col(Round.guild_id) == guild_id, col(Round.network_id).in_(networks))


async def _round_in(session: AsyncSession, guild_id: int, round_id: int, *, lock: str = "") -> Round:
    """A round this cooperative sees; with ``lock`` ("share" or "update") its row is locked on PostgreSQL."""
    query = select(Round).where(Round.id == _plain_id(round_id, "round"), visible_from(guild_id))
    if lock and is_postgresql(session):
        query = query.with_for_update(read=lock == "share")
    found = (await session.exec(query.execution_options(populate_existing=True))).first()
    if found is None:
        raise NotFound(_no_such("round", round_id))
    return found


async def _bucket_in(session: AsyncSession, guild_id: int, bucket_id: int) -> Bucket:
    query = (
        select(Bucket)
        .join(Round, col(Round.id) == col(Bucket.round_id))
        .where(Bucket.id == _plain_id(bucket_id, "bucket"), visible_from(guild_id))
    )
    found = (await session.exec(query.execution_options(populate_existing=True))).first()
    if found is None:
        raise NotFound(_no_such("bucket", bucket_id))
    return found


async def _fund_of(session: AsyncSession, round_: Round, *, lock: bool = False) -> Fund:
    assert round_.fund_id is not None, "a network round's pot is in a network fund"
    return await find_fund_in(session, round_.guild_id, round_.fund_id, lock=lock)


async def _network_fund_of(session: AsyncSession, round_: Round, *, lock: bool = False) -> NetworkFund:
    query = select(NetworkFund).where(NetworkFund.id == round_.network_fund_id)
    if lock and is_postgresql(session):
        query = query.with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).one()


async def _source_name(session: AsyncSession, round_: Round) -> str:
    """The fund the pot comes from, as people read it."""
    if round_.network_fund_id is None:
        return (await _fund_of(session, round_)).name
    fund = await _network_fund_of(session, round_)
    network = await session.get(Network, fund.network_id)
    return f"{network.name if network else '?'} · {fund.name}"


def _moderates(settings: CoopSettings, actor: Actor, bucket: Bucket, guild_id: int) -> bool:
    """A moderator acts on the buckets of their own cooperative only (in a network round, a bucket from
    another cooperative is that cooperative's moderators' to open or cancel)."""
    return bucket.guild_id == guild_id and is_moderator(settings, actor)


def _is_creator(bucket: Bucket, actor: Actor) -> bool:
    return actor.user_id == bucket.creator_id or actor.user_id in bucket.co_creators


def _require_phase(round_: Round, *phases: RoundPhase, doing: str) -> None:
    """Refused unless the round is in one of ``phases``; ``doing`` is what was asked, marked with ``N_`` (an
    action, "propose a bucket"), and said in the reader's language."""
    if round_.phase not in {phase.value for phase in phases}:
        raise Conflict(_phase_refusal(round_, Translated(doing)))


def _phase_refusal(round_: Round, action: Translated) -> Text:
    """Why ``action`` can't happen in the round's phase, a sentence for each phase."""
    number = round_.id
    if round_.phase == RoundPhase.PROPOSED.value:
        return _(
            "Round #{round} is waiting for the members' decision: you can't {action} now.",
            round=number,
            action=action,
        )
    if round_.phase == RoundPhase.IDEAS.value:
        return _(
            "Round #{round} is taking ideas (funding has not opened): you can't {action} now.",
            round=number,
            action=action,
        )
    if round_.phase == RoundPhase.FUNDING.value:
        return _("Round #{round} is open for funding: you can't {action} now.", round=number, action=action)
    if round_.phase == RoundPhase.CLOSED.value:
        return _("Round #{round} is closed: you can't {action} now.", round=number, action=action)
    if round_.phase == RoundPhase.CANCELLED.value:
        return _("Round #{round} is cancelled: you can't {action} now.", round=number, action=action)
    raise KeyError(round_.phase)


def _phase_words(round_: Round) -> str:
    return {
        RoundPhase.PROPOSED.value: "waiting for the members' decision",
        RoundPhase.IDEAS.value: "taking ideas (funding has not opened)",
        RoundPhase.FUNDING.value: "open for funding",
        RoundPhase.CLOSED.value: "closed",
        RoundPhase.CANCELLED.value: "cancelled",
    }[round_.phase]


async def _return_pot(session: AsyncSession, round_: Round, actor_id: int, now: datetime) -> None:
    """The whole pot back in the fund (funded buckets are approved requests on it from now on)."""
    if round_.opened_at is None:
        return
    if round_.network_fund_id is not None:
        await _move_network_pot(session, round_, round_.pot, actor_id, now)
        return
    fund = await _fund_of(session, round_, lock=True)
    await move_balance(session, fund, round_.pot)
    session.add(
        ledger_entry(
            fund,
            kind=LedgerKind.ROUND_RETURN,
            amount=round_.pot,
            recorded_by=actor_id,
            key=f"round:{round_.id}:return",
            now=now,
            reference=f"round #{round_.id}",
            reason=round_.title[:200],
        )
    )


async def network_available(session: AsyncSession, fund: NetworkFund) -> int:
    """What a network fund can still set aside: its balance less what it has promised to approved requests."""
    from governance.networks.requests import NetworkRequestStatus

    promised = (
        await session.exec(
            select(func.coalesce(func.sum(NetworkFundRequest.amount), 0)).where(
                NetworkFundRequest.network_fund_id == fund.id,
                NetworkFundRequest.status == NetworkRequestStatus.APPROVED.value,
            )
        )
    ).one()
    return fund.balance - int(promised)


async def _move_network_pot(
    session: AsyncSession, round_: Round, amount: int, actor_id: int, now: datetime
) -> None:
    """The pot out of (negative) or back into (positive) a network fund: its balance moved by the database,
    never below zero, and an entry on the network fund's append-only ledger."""
    fund = await _network_fund_of(session, round_, lock=True)
    moved = await session.exec(
        update(NetworkFund)
        .where(col(NetworkFund.id) == fund.id, col(NetworkFund.balance) >= -amount)
        .values(balance=col(NetworkFund.balance) + amount)
    )
    if not moved.rowcount:
        raise Conflict(
            _(
                "{fund} can't cover the pot of {amount}.",
                fund=fund.name,
                amount=Money(-amount, round_.currency),
            )
        )
    session.add(
        NetworkLedgerEntry(
            network_fund_id=fund.id or 0,
            guild_id=round_.guild_id,
            kind=ROUND_RETURN if amount > 0 else ROUND_POT,
            amount=amount,
            currency=fund.currency,
            reason=f"round #{round_.id}: {round_.title}"[:200],
            idempotency_key=f"round:{round_.id}:{'return' if amount > 0 else 'pot'}",
            recorded_by=actor_id,
            created_at=now,
        )
    )


async def _allocation_in(session: AsyncSession, round_id: int, member_id: int) -> RoundAllocation | None:
    query = select(RoundAllocation).where(
        RoundAllocation.round_id == round_id, RoundAllocation.member_id == member_id
    )
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def _held_in(session: AsyncSession, bucket_id: int, member_id: int) -> BucketFunding | None:
    query = select(BucketFunding).where(
        BucketFunding.bucket_id == bucket_id, BucketFunding.member_id == member_id
    )
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def _refund(session: AsyncSession, round_: Round, bucket: Bucket, now: datetime) -> dict[int, int]:
    rows = (
        await session.exec(
            select(BucketFunding).where(BucketFunding.bucket_id == bucket.id, BucketFunding.amount > 0)
        )
    ).all()
    refunds = {}
    for row in rows:
        await session.exec(
            update(RoundAllocation)
            .where(
                col(RoundAllocation.round_id) == round_.id, col(RoundAllocation.member_id) == row.member_id
            )
            .values(spent=col(RoundAllocation.spent) - row.amount)
        )
        session.add(
            BucketFundingEvent(
                guild_id=bucket.guild_id,
                round_id=bucket.round_id,
                bucket_id=bucket.id or 0,
                member_id=row.member_id,
                delta=-row.amount,
                idempotency_key=f"refund:{bucket.id}:{row.member_id}",
                created_at=now,
            )
        )
        refunds[row.member_id] = row.amount
        row.amount = 0
        session.add(row)
    return refunds


async def _funder_counts(session: AsyncSession, round_id: int) -> dict[int, int]:
    rows = await session.exec(
        select(BucketFunding.bucket_id, func.count())
        .where(BucketFunding.round_id == round_id, BucketFunding.amount > 0)
        .group_by(col(BucketFunding.bucket_id))
    )
    return dict(rows.all())


def phase_line(round_: Round) -> Text:
    """Where a round stands, with its next moment as a Discord timestamp (said in the reader's language)."""
    if round_.phase == RoundPhase.IDEAS.value:
        return _(
            "Taking ideas · funding opens {opens}", opens=discord_timestamp(round_.funding_opens_at, "R")
        )
    if round_.phase == RoundPhase.FUNDING.value:
        return _(
            "Open for funding · closes {closes}", closes=discord_timestamp(round_.funding_closes_at, "R")
        )
    if round_.phase == RoundPhase.PROPOSED.value:
        return _("Waiting for the members' decision")
    return _("Closed") if round_.phase == RoundPhase.CLOSED.value else _("Cancelled")


def is_recipient(settings: CoopSettings, round_: Round, actor: Actor) -> bool:
    """Whether ``actor`` receives an allocation in ``round_`` (the round's role, else membership)."""
    if round_.role_id is not None:
        return round_.role_id in actor.role_ids
    return is_member(settings, actor)


def eligible_ids(settings: CoopSettings, round_: Round, people: Sequence[Actor]) -> list[int]:
    return [person.user_id for person in people if is_recipient(settings, round_, person)]
