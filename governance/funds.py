"""Pooled funds: funds, contributions, funding requests, payouts and the append-only ledger.

Money is integer minor units of the fund's ISO 4217 currency (``governance.money``), never a float. A fund's
balance is the sum of its ledger entries; ``funds.balance`` caches it so that the database itself can refuse
an overdraw: every movement that takes money out is a conditional
``UPDATE funds SET balance = balance - :x WHERE id = :id AND balance >= :x`` whose row count decides, inside
the same transaction as the entry it records (and the table has ``CHECK (balance >= 0)`` besides). Two
payouts racing on one fund are therefore settled by the database: on SQLite the write transactions queue
(BEGIN IMMEDIATE), on PostgreSQL the second UPDATE waits for the first and re-reads the row.

The ledger is append-only (database triggers refuse UPDATE and DELETE); a mistake is corrected by a reversal
entry naming the entry it corrects and why. Each entry carries an idempotency key (the Discord interaction
id), unique per cooperative, so a double click or a retried interaction records once.

Requests: pending → approved → paid, or rejected / cancelled / expired.

* By the fund's policy a request is decided by the members (a linked decision of the fund's decision type
  is opened in the same transaction) or, when the fund lets treasurers approve and the most asked is
  within the fund's treasurer limit, by a treasurer. Nobody approves, rejects or pays their own request.
* When the linked decision passes, the request is approved for what was asked at most: ``amount_max`` when
  a range was given, else ``amount_min``. A treasurer approving may choose any amount within
  [``amount_min``, ``amount_max``] (by default the most asked), but never more than the fund has available.
  The members' decision is not limited by what is available: it records what was decided, and the payout
  still can never overdraw.
* committed = the sum of approved, unpaid amounts; available = balance - committed.
* A proposal that decides a request runs its full time: closing it early is refused (its author is the
  requester, who could otherwise approve their own request by closing it before any objection).
* A request waiting for a treasurer expires after :data:`REQUEST_LIFETIME`; a request whose proposal was
  cancelled is cancelled with it (both by :func:`settle_due`).

Every state change writes one audit event in its own transaction (actions ``fund.*``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, names, outbox
from governance.coop import settings_in
from governance.decision_types import DecisionKind, get_type
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.limits import HOUR, UNLIMITED, Limits, enforce
from governance.money import (
    MAX_BALANCE,
    format_amount,
    max_minor_units,
    parse_amount,
    parse_currency,
    to_decimal,
)
from governance.names import clean_name
from governance.permissions import (
    Actor,
    is_contributor,
    is_fund_steward,
    is_member,
    is_treasurer,
    require_fund_steward,
    require_treasurer,
)
from governance.proposing import ProposalDraft, open_decision_in
from governance.tally import TallyResult
from governance.text import clean_text
from storage.database import Database, is_postgresql
from storage.models import (
    MAX_ID,
    Contribution,
    ContributionStatus,
    Decision,
    DecisionStatus,
    Fund,
    FundingRequest,
    FundPolicy,
    Guild,
    LedgerEntry,
    LedgerKind,
    OwedMessage,
    RequestStatus,
)

LINK_KIND = "fund_request"
# The treasurers' notices a pending contribution or request owes (governance/outbox.py).
CONTRIBUTION_NOTICE = "contribution-notice"
REQUEST_NOTICE = "request-notice"
MAX_FUND_NAME = 80
MAX_DESCRIPTION = 1000
MAX_PURPOSE = 200
MAX_DETAILS = 3000  # the linked proposal adds a header; proposals take 4,000 characters
MAX_NOTE = 500
MAX_REFERENCE = 200
MAX_REASON = 1000
MAX_IDEMPOTENCY_KEY = 64
LEDGER_PAGE_SIZE = 10
REQUEST_LIFETIME = timedelta(days=30)
# Ids are 32-bit integer columns: a larger number names nothing (and PostgreSQL would refuse to compare).
# Decision types a request can go to: those with a pass or a fail.
FUND_DECISION_KINDS: tuple[str, ...] = tuple(
    kind.value
    for kind in (
        DecisionKind.CONSENT,
        DecisionKind.CONSENSUS,
        DecisionKind.SIGNIFICANT,
        DecisionKind.QUORUM,
        DecisionKind.EMERGENCY,
    )
)
OPEN_REQUEST_STATUSES = (RequestStatus.PENDING.value, RequestStatus.APPROVED.value)

_ID_REF = re.compile(r"#?\s*([0-9]{1,20})")
_MAX_ECHO = 40


# --- values -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundDraft:
    """A fund as a treasurer asks for it; None means "the cooperative's default"."""

    name: str
    currency: str | None = None
    description: str = ""
    policy: str = FundPolicy.DECISION.value
    limit: str | int | None = None
    decision_type: str | None = None


@dataclass(frozen=True)
class FundTotals:
    """What a fund holds: the balance derived from its entries, the cached one, and what is promised."""

    balance: int
    cached_balance: int
    committed: int

    @property
    def available(self) -> int:
        return self.balance - self.committed

    @property
    def consistent(self) -> bool:
        return self.balance == self.cached_balance


@dataclass(frozen=True)
class FundOverview:
    fund: Fund
    totals: FundTotals
    open_requests: list[FundingRequest]
    recent: list[LedgerEntry]
    pending_contributions: int
    entry_count: int


@dataclass(frozen=True)
class ContributionReceipt:
    contribution: Contribution
    fund: Fund
    entry: LedgerEntry | None  # None while pending
    duplicate: bool = False  # the same interaction was already recorded


@dataclass(frozen=True)
class RequestReceipt:
    request: FundingRequest
    fund: Fund
    decision: Decision | None  # the linked decision, when the members decide


@dataclass(frozen=True)
class RequestChange:
    request: FundingRequest
    fund: Fund
    cancelled_decision_id: int | None = None


@dataclass(frozen=True)
class PayoutReceipt:
    request: FundingRequest
    fund: Fund
    entry: LedgerEntry
    duplicate: bool = False


@dataclass(frozen=True)
class CorrectionReceipt:
    original: LedgerEntry
    reversal: LedgerEntry
    fund: Fund
    reopened_request: FundingRequest | None = None  # a reversed payout puts its request back to approved
    duplicate: bool = False


@dataclass(frozen=True)
class LedgerPage:
    fund: Fund
    entries: list[LedgerEntry]  # newest first
    balance_after: dict[int, int]  # entry id -> the fund's balance once that entry was recorded
    reversed_by: dict[int, int]  # entry id -> the reversal that corrects it
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class RequestView:
    request: FundingRequest
    fund: Fund
    decision: Decision | None


@dataclass(frozen=True)
class SettledRequest:
    """A request the clock changed: expired while waiting, or cancelled with its proposal."""

    request: FundingRequest
    fund: Fund


# --- small helpers ----------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """How fund names are compared: names that look the same have the same key ("Commons Fund",
    "commons  fund", "Com\u200bmons Fund"), cut to the column's width (case folding can lengthen a name)."""
    return names.name_key(name)[:MAX_FUND_NAME]


def _legacy_name_key(name: str) -> str:
    """The key of a fund created before names were normalized (spaces collapsed, case folded), which it
    keeps: rewriting old keys could give two existing funds the same one."""
    return " ".join(name.split()).casefold()[:MAX_FUND_NAME]


def requested_top(request: FundingRequest) -> int:
    """The most a request asks for."""
    return request.amount_max if request.amount_max is not None else request.amount_min


def describe_amounts(request: FundingRequest) -> str:
    low = format_amount(request.amount_min, request.currency)
    if request.amount_max is None:
        return low
    return f"{low} to {format_amount(request.amount_max, request.currency)}"


def _echo(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _MAX_ECHO else flat[: _MAX_ECHO - 1].rstrip() + "…"


def _key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput("This action has no usable idempotency key.")
    return key


def _amount(value: str | int, currency: str) -> int:
    """Minor units from what a person typed (or from an int of minor units, for callers that have one)."""
    if isinstance(value, bool):
        raise InvalidInput("Type an amount, for example 12.50.")
    if isinstance(value, int):
        if value <= 0:
            raise InvalidInput("The amount must be more than zero.")
        if value > max_minor_units(currency):
            raise InvalidInput("That is more than the largest amount coopbot handles.")
        return value
    return parse_amount(value, currency)


def _plain_id(value: int, what: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"There is no {what} #{value} in this server.")
    return value


def can_use_funds(settings: Guild, actor: Actor) -> bool:
    """Members contribute and request; treasurers and moderators too."""
    return is_member(settings, actor) or is_fund_steward(settings, actor)


def require_fund_member(settings: Guild, actor: Actor) -> None:
    if not can_use_funds(settings, actor):
        raise NotAllowed("Only members of the cooperative can do this with its funds.")


def require_fund_reader(settings: Guild, actor: Actor) -> None:
    """Anyone in the cooperative (contributors included) reads the funds and their ledgers."""
    if not (is_contributor(settings, actor) or is_fund_steward(settings, actor)):
        raise NotAllowed("Only people in the cooperative (contributors and members) can read its funds.")


# --- loading ----------------------------------------------------------------------------------------


async def _find_fund(session: AsyncSession, guild_id: int, ref: str | int, *, lock: bool = False) -> Fund:
    """A fund of this cooperative by id (12, "#12") or by name; the same answer for "no such fund" and
    "another cooperative's fund", so nothing is revealed."""
    query = select(Fund).where(Fund.guild_id == guild_id)
    if isinstance(ref, int):
        shown = f"#{ref}"
        if not 1 <= ref <= MAX_ID:
            raise NotFound(f"There is no fund {shown} in this server.")
        query = query.where(Fund.id == ref)
    else:
        text = clean_name(ref)
        shown = f"“{_echo(text)}”"
        if not text:
            raise InvalidInput("Name a fund (start typing to see the cooperative's funds).")
        match = _ID_REF.fullmatch(text)
        if match:
            number = int(match[1])
            shown = f"#{number}"
            if not 1 <= number <= MAX_ID:
                raise NotFound(f"There is no fund {shown} in this server.")
            query = query.where(Fund.id == number)
        else:
            # A fund made before names were normalized keeps its old key, which is the more exact one:
            # a name typed (or picked) exactly as stored finds that fund, not a newer lookalike.
            legacy = _legacy_name_key(ref)
            query = query.where(col(Fund.name_key).in_({name_key(text), legacy})).order_by(
                col(Fund.name_key) != legacy
            )
    if lock and is_postgresql(session):
        query = query.with_for_update()
    fund = (await session.exec(query)).first()
    if fund is None:
        raise NotFound(f"There is no fund {shown} in this server.")
    return fund


async def _fund_by_id(session: AsyncSession, guild_id: int, fund_id: int, *, lock: bool = False) -> Fund:
    return await _find_fund(session, guild_id, fund_id, lock=lock)


_Owned = TypeVar("_Owned", FundingRequest, Contribution, LedgerEntry)
_Receipt = TypeVar("_Receipt")


async def _load_owned(
    session: AsyncSession, model: type[_Owned], guild_id: int, row_id: int, what: str, *, lock: bool = False
) -> _Owned:
    """A row of this cooperative by its number; another cooperative's row is "not found", like a missing
    one, so nothing is revealed. `lock` holds it (SELECT ... FOR UPDATE) until the transaction ends."""
    _plain_id(row_id, what)
    query = select(model).where(model.id == row_id, model.guild_id == guild_id)
    if lock and is_postgresql(session):
        query = query.with_for_update()
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound(f"There is no {what} #{row_id} in this server.")
    return row


async def _load_request(
    session: AsyncSession, guild_id: int, request_id: int, *, lock: bool = False
) -> FundingRequest:
    return await _load_owned(session, FundingRequest, guild_id, request_id, "funding request", lock=lock)


async def _load_contribution(
    session: AsyncSession, guild_id: int, contribution_id: int, *, lock: bool = False
) -> Contribution:
    return await _load_owned(session, Contribution, guild_id, contribution_id, "contribution", lock=lock)


async def _load_entry(session: AsyncSession, guild_id: int, entry_id: int) -> LedgerEntry:
    return await _load_owned(session, LedgerEntry, guild_id, entry_id, "ledger entry")


# SQLite's SUM raises "integer overflow" once its running total passes 2**63 - 1, and the order in which it
# adds rows is its own, so a sum of many large amounts is taken in two halves: each value's quotient by 2**32
# (at most 2**31 in size) and its remainder (below 2**32), which SQLite and PostgreSQL both truncate toward
# zero. A table has fewer than 2**31 rows (ids are 32-bit), so neither half's sum can reach 2**63, whatever
# the rows and their order; Python puts the halves together exactly.
_SUM_SPLIT = 2**32


async def _exact_sum(session: AsyncSession, column: Mapped[Any], *conditions: Any) -> int:
    """The exact sum of an integer column over the rows matching `conditions` (0 for none)."""
    high, low = (
        await session.exec(
            select(func.sum(column // _SUM_SPLIT), func.sum(column % _SUM_SPLIT)).where(*conditions)
        )
    ).one()
    return int(high or 0) * _SUM_SPLIT + int(low or 0)


async def _derived_balance(session: AsyncSession, fund_id: int) -> int:
    return await _exact_sum(session, col(LedgerEntry.amount), LedgerEntry.fund_id == fund_id)


async def _committed(session: AsyncSession, fund_id: int) -> int:
    return await _exact_sum(
        session,
        col(FundingRequest.approved_amount),
        FundingRequest.fund_id == fund_id,
        FundingRequest.status == RequestStatus.APPROVED.value,
    )


async def _totals(session: AsyncSession, fund: Fund) -> FundTotals:
    assert fund.id is not None
    return FundTotals(
        balance=await _derived_balance(session, fund.id),
        cached_balance=fund.balance,
        committed=await _committed(session, fund.id),
    )


async def _once(
    db: Database, writing: Awaitable[_Receipt], recorded: Callable[[AsyncSession], Awaitable[_Receipt | None]]
) -> _Receipt:
    """Await ``writing``, an idempotent write; when a concurrent repeat of the same interaction won its unique
    key (PostgreSQL raises IntegrityError), answer with what ``recorded`` reads back of that repeat."""
    try:
        return await writing
    except IntegrityError:
        async with db.read() as session:
            again = await recorded(session)
        if again is None:
            raise
        return again


async def _entry_by_key(session: AsyncSession, guild_id: int, key: str) -> LedgerEntry | None:
    return (
        await session.exec(
            select(LedgerEntry).where(LedgerEntry.guild_id == guild_id, LedgerEntry.idempotency_key == key)
        )
    ).first()


async def _claim_request(
    session: AsyncSession, request_id: int, from_statuses: Collection[str], **values: Any
) -> bool:
    """Change a request that is still in one of `from_statuses`, by a conditional UPDATE: of two changes
    racing, the database lets one match the row, and the other gets False and changes nothing."""
    claimed = await session.exec(
        update(FundingRequest)
        .where(col(FundingRequest.id) == request_id, col(FundingRequest.status).in_(from_statuses))
        .values(**values)
    )
    return bool(claimed.rowcount)


def _record_request_event(
    session: AsyncSession,
    request: FundingRequest,
    *,
    actor_id: int | None,
    action: str,
    now: datetime,
    details: dict[str, Any],
) -> None:
    """The audit event of a change to a request (its fund's id first in the details)."""
    audit.record(
        session,
        guild_id=request.guild_id,
        actor_id=actor_id,
        action=action,
        subject=f"fund_request:{request.id}",
        details={"fund_id": request.fund_id, **details},
        at=now,
    )


def _refuse_archived(fund: Fund) -> None:
    if fund.archived:
        raise Conflict(f"The fund {fund.name} is archived: it takes no new contributions or requests.")


def _over_capacity(fund: Fund, amount: int) -> Conflict:
    currency = fund.currency
    return Conflict(
        f"A fund holds at most {format_amount(MAX_BALANCE, currency)} and {fund.name} has "
        f"{format_amount(fund.balance, currency)}: {format_amount(amount, currency)} more would pass that. "
        "Nothing was recorded."
    )


def _refuse_over_capacity(fund: Fund, amount: int) -> None:
    """Refuse, before anything is written, money that would take the fund past :data:`MAX_BALANCE`."""
    if amount > MAX_BALANCE - fund.balance:
        raise _over_capacity(fund, amount)


async def _move_balance(session: AsyncSession, fund: Fund, amount: int, *, overdraw: str = "") -> None:
    """Add `amount` (negative takes money out) to the fund's balance, decided by the database: taking out
    more than the balance (refused with `overdraw`), or adding past MAX_BALANCE, matches no row, and the
    whole transaction is refused. The bound is compared before the sum is made, which never overflows."""
    assert fund.id is not None
    statement = update(Fund).where(col(Fund.id) == fund.id, col(Fund.guild_id) == fund.guild_id)
    if amount < 0:
        statement = statement.where(col(Fund.balance) >= -amount)
    else:
        statement = statement.where(col(Fund.balance) <= MAX_BALANCE - amount)
    moved = await session.exec(statement.values(balance=col(Fund.balance) + amount))
    if not moved.rowcount:
        raise Conflict(overdraw) if amount < 0 else _over_capacity(fund, amount)
    await session.refresh(fund, attribute_names=["balance"])


def _entry(
    fund: Fund,
    *,
    kind: LedgerKind,
    amount: int,
    recorded_by: int,
    key: str,
    now: datetime,
    member_id: int | None = None,
    request_id: int | None = None,
    contribution_id: int | None = None,
    reverses_entry_id: int | None = None,
    reference: str = "",
    reason: str = "",
) -> LedgerEntry:
    assert fund.id is not None
    return LedgerEntry(
        guild_id=fund.guild_id,
        fund_id=fund.id,
        kind=kind.value,
        amount=amount,
        currency=fund.currency,
        member_id=member_id,
        request_id=request_id,
        contribution_id=contribution_id,
        reverses_entry_id=reverses_entry_id,
        reference=reference,
        reason=reason,
        idempotency_key=key,
        recorded_by=recorded_by,
        created_at=now,
    )


# --- funds ------------------------------------------------------------------------------------------


def _validated_fund(settings: Guild, draft: FundDraft) -> dict[str, Any]:
    name = clean_name(draft.name)
    if not name:
        raise InvalidInput("Give the fund a name.")
    if len(name) > MAX_FUND_NAME:
        raise InvalidInput(f"A fund's name is at most {MAX_FUND_NAME} characters (yours has {len(name)}).")
    if _ID_REF.fullmatch(name):
        raise InvalidInput("A fund's name can't be only a number: funds are also found by their number.")
    currency = parse_currency(draft.currency) if draft.currency else parse_currency(settings.currency)
    description = clean_text(
        draft.description, field="The description", limit=MAX_DESCRIPTION, required=False
    )
    try:
        policy = FundPolicy(draft.policy)
    except ValueError:
        raise InvalidInput("The approval policy is either decision or treasurer.") from None
    limit = 0
    if policy is FundPolicy.TREASURER:
        if draft.limit is None:
            raise InvalidInput(
                "With the treasurer policy, give a limit: the largest request a treasurer may approve "
                "(larger ones go to the members)."
            )
        limit = _amount(draft.limit, currency)
    elif draft.limit is not None:
        raise InvalidInput("A limit only applies when treasurers approve requests (policy: treasurer).")
    default_kind = (
        settings.default_decision_type
        if settings.default_decision_type in FUND_DECISION_KINDS
        else DecisionKind.CONSENT.value
    )
    decision_type = get_type(draft.decision_type or default_kind).kind.value
    if decision_type not in FUND_DECISION_KINDS:
        raise InvalidInput(
            "Requests are decided by a decision that passes or fails: consent, consensus, significant, "
            "quorum or emergency."
        )
    return {
        "name": name,
        "name_key": name_key(name),
        "currency": currency,
        "description": description,
        "policy": policy.value,
        "treasurer_limit": limit,
        "decision_type": decision_type,
    }


async def create_fund(db: Database, *, guild_id: int, actor: Actor, draft: FundDraft, now: datetime) -> Fund:
    """A treasurer (or moderator) opens a fund. Its currency defaults to the cooperative's."""
    try:
        async with db.write() as session:
            settings = await settings_in(session, guild_id, now)
            require_fund_steward(settings, actor)
            values = _validated_fund(settings, draft)
            # Compared with every fund's name normalized now, as funds made before names were normalized
            # are stored under an older key (a cooperative has a few funds, not thousands).
            named = await session.exec(select(Fund.name, Fund.name_key).where(Fund.guild_id == guild_id))
            for existing_name, existing_key in named.all():
                if values["name_key"] in (existing_key, name_key(existing_name)):
                    raise Conflict(f"There is already a fund named {existing_name}.")
            fund = Fund(guild_id=guild_id, balance=0, created_by=actor.user_id, created_at=now, **values)
            session.add(fund)
            await session.flush()
            audit.record(
                session,
                guild_id=guild_id,
                actor_id=actor.user_id,
                action="fund.create",
                subject=f"fund:{fund.id}",
                details={
                    "name": fund.name,
                    "currency": fund.currency,
                    "policy": fund.policy,
                    "treasurer_limit": fund.treasurer_limit,
                    "decision_type": fund.decision_type,
                },
                at=now,
            )
    except IntegrityError:
        # Two treasurers created the same name at once (PostgreSQL): the unique constraint decided.
        raise Conflict(f"There is already a fund named {clean_name(draft.name)}.") from None
    return fund


async def get_fund(db: Database, guild_id: int, ref: str | int) -> Fund:
    async with db.read() as session:
        return await _find_fund(session, guild_id, ref)


async def list_funds(db: Database, guild_id: int, *, include_archived: bool = False) -> list[Fund]:
    async with db.read() as session:
        query = select(Fund).where(Fund.guild_id == guild_id)
        if not include_archived:
            query = query.where(col(Fund.archived).is_(False))
        return list((await session.exec(query.order_by(col(Fund.name_key)))).all())


async def suggest_funds(db: Database, guild_id: int, query: str, limit: int = 25) -> list[Fund]:
    """Funds whose name starts with, then contains, what was typed (or whose number it is)."""
    needle = name_key(query).lstrip("#")
    keyed = [(fund, name_key(fund.name)) for fund in await list_funds(db, guild_id)]
    starts = [fund for fund, key in keyed if key.startswith(needle) or str(fund.id) == needle]
    contains = [fund for fund, key in keyed if needle in key and fund not in starts]
    return [*starts, *contains][:limit]


async def fund_totals(db: Database, guild_id: int, ref: str | int) -> tuple[Fund, FundTotals]:
    async with db.read() as session:
        fund = await _find_fund(session, guild_id, ref)
        return fund, await _totals(session, fund)


async def fund_overview(db: Database, guild_id: int, ref: str | int, *, recent: int = 5) -> FundOverview:
    """What /fund show shows: balance, committed, available, open requests and the latest movements."""
    async with db.read() as session:
        fund = await _find_fund(session, guild_id, ref)
        assert fund.id is not None
        totals = await _totals(session, fund)
        requests = (
            await session.exec(
                select(FundingRequest)
                .where(
                    FundingRequest.fund_id == fund.id,
                    col(FundingRequest.status).in_(OPEN_REQUEST_STATUSES),
                )
                .order_by(col(FundingRequest.id))
            )
        ).all()
        entries = (
            await session.exec(
                select(LedgerEntry)
                .where(LedgerEntry.fund_id == fund.id)
                .order_by(col(LedgerEntry.id).desc())
                .limit(recent)
            )
        ).all()
        pending = (
            await session.exec(
                select(func.count())
                .select_from(Contribution)
                .where(
                    Contribution.fund_id == fund.id, Contribution.status == ContributionStatus.PENDING.value
                )
            )
        ).one()
        count = (
            await session.exec(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.fund_id == fund.id)
            )
        ).one()
    return FundOverview(fund, totals, list(requests), list(entries), int(pending), int(count))


# --- contributions ----------------------------------------------------------------------------------


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
    key = _key(idempotency_key)
    note = clean_text(note, field="The note", limit=MAX_NOTE)

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
            raise NotAllowed("Only treasurers record contributions for someone else.")
        existing = await _contribution_by_key(session, guild_id, key)
        if existing is not None:
            return await _contribution_receipt(session, existing, duplicate=True)
        fund = await _find_fund(session, guild_id, fund_ref)
        _refuse_archived(fund)
        assert fund.id is not None
        amount = _amount(amount_value, fund.currency)
        _refuse_over_capacity(fund, amount)
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
                raise Conflict("This interaction already recorded another ledger entry.")
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
    _refuse_over_capacity(fund, contribution.amount)
    entry = _entry(
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
    await _move_balance(session, fund, contribution.amount)
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
        raise Conflict(f"Contribution #{contribution_id} is {contribution.status}, not pending.")
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
    reason = clean_text(reason, field="The reason", limit=MAX_REASON)
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
            found = await _find_fund(session, guild_id, fund)
            query = query.where(Contribution.fund_id == found.id)
        if status is not None:
            query = query.where(Contribution.status == status)
        rows = await session.exec(query.order_by(col(Contribution.id).desc()).limit(limit))
        return [(contribution, found_fund) for contribution, found_fund in rows.all()]


# --- requests ---------------------------------------------------------------------------------------


def _requested_amounts(
    fund: Fund, amount_min: str | int, amount_max: str | int | None
) -> tuple[int, int | None]:
    low = _amount(amount_min, fund.currency)
    if amount_max is None:
        return low, None
    high = _amount(amount_max, fund.currency)
    if high < low:
        raise InvalidInput(
            f"The maximum ({format_amount(high, fund.currency)}) is less than the minimum "
            f"({format_amount(low, fund.currency)})."
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
        found = await _find_fund(session, guild_id, fund)
    _refuse_archived(found)
    low, high = _requested_amounts(found, amount_min, amount_max)
    return RequestPlan(found, low, high, decided_by_treasurer(found, high or low))


def _decision_title(request_id: int, purpose: str) -> str:
    head = f"Fund request #{request_id}: "
    room = 200 - len(head)
    return head + (purpose if len(purpose) <= room else purpose[: room - 1].rstrip() + "…")


def _decision_details(request: FundingRequest, fund: Fund, totals: FundTotals) -> str:
    top = requested_top(request)
    lines = [
        f"**Amount:** {describe_amounts(request)} from the fund **{fund.name}**",
        f"**Requested by:** <@{request.requester_id}>",
        f"**The fund now:** balance {format_amount(totals.balance, fund.currency)}, "
        f"available {format_amount(totals.available, fund.currency)}",
        f"If this passes, request #{request.id} is approved for {format_amount(top, fund.currency)}; "
        "if it does not, the request is rejected.",
    ]
    if request.details:
        lines += ["", request.details]
    return "\n".join(lines)


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
) -> RequestReceipt:
    """A member asks to be paid from a fund. When the members decide, the linked decision is opened in
    the same transaction (posting it is the caller's job); otherwise it waits for a treasurer."""
    purpose = clean_text(purpose, field="The purpose", limit=MAX_PURPOSE, required=True)
    details = clean_text(details, field="The details", limit=MAX_DETAILS)
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
            refusal=f"You have made {limits.requests_per_hour} funding requests in the last hour.",
        )
        found = await _find_fund(session, guild_id, fund)
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
                    title=_decision_title(request.id, purpose),
                    details=_decision_details(request, found, await _totals(session, found)),
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
    session: AsyncSession, guild_id: int, request_id: int, actor: Actor, now: datetime, *, if_own: str
) -> FundingRequest:
    """The request a treasurer is about to decide, locked: refused with `if_own` when it is their own, and
    when it is not pending or the members decide it."""
    require_treasurer(await settings_in(session, guild_id, now), actor)
    request = await _load_request(session, guild_id, request_id, lock=True)
    if request.requester_id == actor.user_id:
        raise NotAllowed(if_own)
    if request.status != RequestStatus.PENDING.value:
        raise Conflict(f"Request #{request.id} is {request.status}, not pending.")
    if request.decision_id is not None:
        raise Conflict(
            f"Request #{request.id} is being decided by the members in proposal #{request.decision_id}; "
            "a treasurer can't decide it."
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
    note = clean_text(note, field="The note", limit=MAX_REASON)
    async with db.write() as session:
        request = await _request_for_treasurer(
            session,
            guild_id,
            request_id,
            actor,
            now,
            if_own=f"Nobody approves their own request: another treasurer must decide #{request_id}.",
        )
        fund = await _fund_by_id(session, guild_id, request.fund_id, lock=True)
        currency = fund.currency
        chosen = requested_top(request) if amount is None else _amount(amount, currency)
        if not request.amount_min <= chosen <= requested_top(request):
            raise InvalidInput(
                f"Request #{request_id} asks for {describe_amounts(request)}: approve within that."
            )
        if not decided_by_treasurer(fund, chosen):
            limit = (
                f"its treasurer limit is {format_amount(fund.treasurer_limit, currency)}"
                if fund.policy == FundPolicy.TREASURER.value
                else "its requests are decided by the members"
            )
            raise NotAllowed(
                f"{format_amount(chosen, currency)} is more than a treasurer may approve from {fund.name}: "
                f"{limit}."
            )
        totals = await _totals(session, fund)
        if chosen > totals.available:
            raise Conflict(
                f"{fund.name} has {format_amount(max(totals.available, 0), currency)} available (balance "
                f"{format_amount(totals.balance, currency)}, {format_amount(totals.committed, currency)} "
                f"promised to approved requests): {format_amount(chosen, currency)} can't be approved now."
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
            raise Conflict(f"Request #{request_id} was decided meanwhile.")
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
    reason = clean_text(reason, field="The reason", limit=MAX_REASON)
    async with db.write() as session:
        request = await _request_for_treasurer(
            session,
            guild_id,
            request_id,
            actor,
            now,
            if_own=f"You can't decide your own request; to withdraw #{request_id}, use /fund request cancel.",
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
            raise Conflict(f"Request #{request_id} was decided meanwhile.")
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
    reason = clean_text(reason, field="The reason", limit=MAX_REASON)
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        request = await _load_request(session, guild_id, request_id)
        if request.requester_id != actor.user_id and not is_fund_steward(settings, actor):
            raise NotAllowed(
                f"Only the requester, a treasurer or a moderator can cancel request #{request_id}."
            )
        if request.status not in OPEN_REQUEST_STATUSES:
            raise Conflict(f"Request #{request_id} is {request.status}; it can't be cancelled.")
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
            raise Conflict(f"Request #{request_id} changed meanwhile; it can't be cancelled.")
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
    key = _key(idempotency_key)
    reference = clean_text(reference, field="The reference", limit=MAX_REFERENCE, required=True)

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
                raise Conflict("This interaction already recorded another ledger entry.")
            fund = await _fund_by_id(session, guild_id, request.fund_id)
            return PayoutReceipt(request, fund, existing, duplicate=True)
        if request.requester_id == actor.user_id:
            raise NotAllowed(
                f"Nobody pays their own request: another treasurer records the payout of #{request_id}."
            )
        if request.status != RequestStatus.APPROVED.value or request.approved_amount is None:
            raise Conflict(f"Request #{request_id} is {request.status}; only an approved request is paid.")
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
            raise Conflict(f"Request #{request_id} was paid or changed meanwhile.")
        await _move_balance(
            session,
            fund,
            -amount,
            overdraw=(
                f"{fund.name} holds {format_amount(fund.balance, fund.currency)}: paying "
                f"{format_amount(amount, fund.currency)} would overdraw it. Nothing was recorded."
            ),
        )
        entry = _entry(
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
            found = await _find_fund(session, guild_id, fund)
            query = query.where(FundingRequest.fund_id == found.id)
        if statuses is not None:
            query = query.where(col(FundingRequest.status).in_(list(statuses)))
        if requester_id is not None:
            query = query.where(FundingRequest.requester_id == requester_id)
        rows = await session.exec(query.order_by(col(FundingRequest.id).desc()).limit(limit))
        return [(request, found_fund) for request, found_fund in rows.all()]


# --- corrections ------------------------------------------------------------------------------------


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
    key = _key(idempotency_key)
    reason = clean_text(reason, field="The reason", limit=MAX_REASON, required=True)

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
                raise Conflict("This interaction already recorded another ledger entry.")
            return CorrectionReceipt(original, existing, fund, duplicate=True)
        if original.kind == LedgerKind.REVERSAL.value:
            raise Conflict(
                f"Entry #{entry_id} is itself a correction and can't be reversed; record the movement anew."
            )
        already = (
            await session.exec(select(LedgerEntry).where(LedgerEntry.reverses_entry_id == entry_id))
        ).first()
        if already is not None:
            raise Conflict(f"Entry #{entry_id} was already corrected by entry #{already.id}.")
        _refuse_over_capacity(fund, -original.amount)  # a reversed payout puts money back
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
        await _move_balance(
            session,
            fund,
            amount,
            overdraw=(
                f"Reversing entry #{entry_id} takes {format_amount(-amount, fund.currency)} out of "
                f"{fund.name}, which holds {format_amount(fund.balance, fund.currency)}: "
                "the balance can't go below zero."
            ),
        )
        reversal = _entry(
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


# --- the ledger -------------------------------------------------------------------------------------


def _ledger_filter(fund_id: int, kind: str | None, member_id: int | None) -> list[Any]:
    conditions: list[Any] = [LedgerEntry.fund_id == fund_id]
    if kind:
        try:
            conditions.append(LedgerEntry.kind == LedgerKind(kind).value)
        except ValueError:
            raise InvalidInput("Filter by contribution, payout or reversal.") from None
    if member_id is not None:
        conditions.append(LedgerEntry.member_id == member_id)
    return conditions


async def ledger_page(
    db: Database,
    guild_id: int,
    fund: str | int,
    *,
    page: int = 0,
    per_page: int = LEDGER_PAGE_SIZE,
    kind: str | None = None,
    member_id: int | None = None,
) -> LedgerPage:
    """One page of a fund's ledger, newest first, optionally only one kind or one member's entries; each
    entry with the fund's balance right after it and the entry that reversed it, if any."""
    async with db.read() as session:
        found = await _find_fund(session, guild_id, fund)
        assert found.id is not None
        conditions = _ledger_filter(found.id, kind, member_id)
        total = int(
            (await session.exec(select(func.count()).select_from(LedgerEntry).where(*conditions))).one()
        )
        pages = max(1, -(-total // per_page))
        page = min(max(page, 0), pages - 1)
        entries = list(
            (
                await session.exec(
                    select(LedgerEntry)
                    .where(*conditions)
                    .order_by(col(LedgerEntry.id).desc())
                    .offset(page * per_page)
                    .limit(per_page)
                )
            ).all()
        )
        balance_after: dict[int, int] = {}
        reversed_by: dict[int, int] = {}
        if entries:
            ids = [entry.id for entry in entries if entry.id is not None]
            # The balance after the newest entry on the page, then walk back through the fund's entries.
            running = await _exact_sum(
                session,
                col(LedgerEntry.amount),
                LedgerEntry.fund_id == found.id,
                col(LedgerEntry.id) <= max(ids),
            )
            between = (
                await session.exec(
                    select(LedgerEntry.id, LedgerEntry.amount)
                    .where(
                        LedgerEntry.fund_id == found.id,
                        col(LedgerEntry.id) >= min(ids),
                        col(LedgerEntry.id) <= max(ids),
                    )
                    .order_by(col(LedgerEntry.id).desc())
                )
            ).all()
            for entry_id, amount in between:
                assert entry_id is not None
                balance_after[entry_id] = running
                running -= amount
            reversals = await session.exec(
                select(LedgerEntry.reverses_entry_id, LedgerEntry.id).where(
                    col(LedgerEntry.reverses_entry_id).in_(ids)
                )
            )
            reversed_by = {
                original: reversal for original, reversal in reversals.all() if original and reversal
            }
    return LedgerPage(found, entries, balance_after, reversed_by, page, pages, total)


async def all_entries(db: Database, guild_id: int, fund: str | int) -> tuple[Fund, list[LedgerEntry]]:
    async with db.read() as session:
        found = await _find_fund(session, guild_id, fund)
        rows = await session.exec(
            select(LedgerEntry).where(LedgerEntry.fund_id == found.id).order_by(col(LedgerEntry.id))
        )
        return found, list(rows.all())


CSV_COLUMNS = (
    "entry",
    "created_at_utc",
    "kind",
    "amount",
    "currency",
    "amount_minor_units",
    "balance_after",
    "member_id",
    "request_id",
    "contribution_id",
    "reverses_entry",
    "reference",
    "reason",
    "recorded_by",
    "idempotency_key",
)


def _sheet_safe(text: str) -> str:
    """Text that a spreadsheet will show, not run: a cell starting with = + - @ is a formula to Excel."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ledger_csv(fund: Fund, entries: Sequence[LedgerEntry]) -> str:
    """Every entry of the fund, oldest first, with the running balance (exact decimals, no floats)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    balance = 0
    for entry in entries:
        balance += entry.amount
        writer.writerow(
            [
                entry.id,
                entry.created_at.isoformat(),
                entry.kind,
                str(to_decimal(entry.amount, fund.currency)),
                entry.currency,
                entry.amount,
                str(to_decimal(balance, fund.currency)),
                entry.member_id or "",
                entry.request_id or "",
                entry.contribution_id or "",
                entry.reverses_entry_id or "",
                _sheet_safe(entry.reference),
                _sheet_safe(entry.reason),
                entry.recorded_by,
                entry.idempotency_key,
            ]
        )
    return buffer.getvalue()


async def export_ledger(db: Database, guild_id: int, fund: str | int) -> tuple[Fund, str]:
    found, entries = await all_entries(db, guild_id, fund)
    return found, ledger_csv(found, entries)


def balance_points(fund: Fund, entries: Sequence[LedgerEntry]) -> list[tuple[datetime, int]]:
    """The balance over time: zero when the fund was made, then the running sum after each entry."""
    points = [(fund.created_at, 0)]
    balance = 0
    for entry in entries:
        balance += entry.amount
        points.append((entry.created_at, balance))
    return points


# --- what the clock changes -------------------------------------------------------------------------


async def settle_due(
    db: Database, now: datetime, guild_ids: Collection[int] | None = None
) -> list[SettledRequest]:
    """Expire requests that waited for a treasurer past their time, and cancel pending requests whose
    proposal was cancelled. Each change is claimed by a conditional UPDATE: never done twice."""
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
        (to_expire, RequestStatus.EXPIRED, "fund.request.expire", "no treasurer decided it in time"),
        (to_cancel, RequestStatus.CANCELLED, "fund.request.cancel", "its proposal was cancelled"),
    ):
        for guild_id, request_id in rows:
            assert request_id is not None
            async with db.write() as session:
                if not await _claim_request(
                    session,
                    request_id,
                    (RequestStatus.PENDING.value,),
                    status=status.value,
                    decision_note=note,
                    updated_at=now,
                ):
                    continue
                request = await _load_request(session, guild_id, request_id)
                await session.refresh(request)
                fund = await _fund_by_id(session, guild_id, request.fund_id)
                _record_request_event(
                    session, request, actor_id=None, action=action, now=now, details={"reason": note}
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
