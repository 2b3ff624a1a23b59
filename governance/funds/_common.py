"""What the funds modules share: their values, limits, small checks, loading by reference and the
request bookkeeping (claims, audit events). Package-private: other modules use ``governance.funds``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, names
from governance.decision_types import DecisionKind
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.i18n import Text, _
from governance.ledger import derived_balance, exact_sum
from governance.money import format_amount, max_minor_units, parse_amount
from governance.names import clean_name
from governance.permissions import Actor, is_contributor, is_fund_steward, is_member
from storage.database import Database, is_postgresql
from storage.models import (
    MAX_ID,
    Contribution,
    CoopSettings,
    Decision,
    Fund,
    FundingRequest,
    FundPolicy,
    LedgerEntry,
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


def idempotency_key_of(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(_("This action has no usable idempotency key."))
    return key


def read_amount(value: str | int, currency: str) -> int:
    """Minor units from what a person typed (or from an int of minor units, for callers that have one)."""
    if isinstance(value, bool):
        raise InvalidInput(_("Type an amount, for example 12.50."))
    if isinstance(value, int):
        if value <= 0:
            raise InvalidInput(_("The amount must be more than zero."))
        if value > max_minor_units(currency):
            raise InvalidInput(_("That is more than the largest amount coopbot handles."))
        return value
    return parse_amount(value, currency)


_Owning = Literal["funding request", "contribution", "ledger entry"]


def _no_such(what: _Owning, number: int) -> Text:
    """The refusal for a row that is not there (one sentence for each kind of row)."""
    if what == "contribution":
        return _("There is no contribution #{number} in this server.", number=number)
    if what == "ledger entry":
        return _("There is no ledger entry #{number} in this server.", number=number)
    return _("There is no funding request #{number} in this server.", number=number)


def _plain_id(value: int, what: _Owning) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound(_no_such(what, value))
    return value


def can_use_funds(settings: CoopSettings, actor: Actor) -> bool:
    """Members contribute and request; treasurers and moderators too."""
    return is_member(settings, actor) or is_fund_steward(settings, actor)


def require_fund_member(settings: CoopSettings, actor: Actor) -> None:
    if not can_use_funds(settings, actor):
        raise NotAllowed(_("Only members of the cooperative can do this with its funds."))


def require_fund_reader(settings: CoopSettings, actor: Actor) -> None:
    """Anyone in the cooperative (contributors included) reads the funds and their ledgers."""
    if not (is_contributor(settings, actor) or is_fund_steward(settings, actor)):
        raise NotAllowed(_("Only people in the cooperative (contributors and members) can read its funds."))


async def find_fund_in(session: AsyncSession, guild_id: int, ref: str | int, *, lock: bool = False) -> Fund:
    """A fund of this cooperative by id (12, "#12") or by name; the same answer for "no such fund" and
    "another cooperative's fund", so nothing is revealed."""
    query = select(Fund).where(Fund.guild_id == guild_id)
    if isinstance(ref, int):
        missing = _("There is no fund #{number} in this server.", number=ref)
        if not 1 <= ref <= MAX_ID:
            raise NotFound(missing)
        query = query.where(Fund.id == ref)
    else:
        text = clean_name(ref)
        missing = _("There is no fund “{name}” in this server.", name=_echo(text))
        if not text:
            raise InvalidInput(_("Name a fund (start typing to see the cooperative's funds)."))
        match = _ID_REF.fullmatch(text)
        if match:
            number = int(match[1])
            missing = _("There is no fund #{number} in this server.", number=number)
            if not 1 <= number <= MAX_ID:
                raise NotFound(missing)
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
        raise NotFound(missing)
    return fund


async def _fund_by_id(session: AsyncSession, guild_id: int, fund_id: int, *, lock: bool = False) -> Fund:
    return await find_fund_in(session, guild_id, fund_id, lock=lock)


_Owned = TypeVar("_Owned", FundingRequest, Contribution, LedgerEntry)


_Receipt = TypeVar("_Receipt")


async def _load_owned(
    session: AsyncSession,
    model: type[_Owned],
    guild_id: int,
    row_id: int,
    what: _Owning,
    *,
    lock: bool = False,
) -> _Owned:
    """A row of this cooperative by its number; another cooperative's row is "not found", like a missing
    one, so nothing is revealed. `lock` holds it (SELECT ... FOR UPDATE) until the transaction ends."""
    _plain_id(row_id, what)
    query = select(model).where(model.id == row_id, model.guild_id == guild_id)
    if lock and is_postgresql(session):
        query = query.with_for_update()
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound(_no_such(what, row_id))
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


async def _committed(session: AsyncSession, fund_id: int) -> int:
    return await exact_sum(
        session,
        col(FundingRequest.approved_amount),
        FundingRequest.fund_id == fund_id,
        FundingRequest.status == RequestStatus.APPROVED.value,
    )


async def totals_in(session: AsyncSession, fund: Fund) -> FundTotals:
    assert fund.id is not None
    return FundTotals(
        balance=await derived_balance(session, fund.id),
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
        raise Conflict(
            _("The fund {fund} is archived: it takes no new contributions or requests.", fund=fund.name)
        )
