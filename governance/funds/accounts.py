"""Funds themselves: create one, find it by name or number, list them, and show where each stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from governance import audit
from governance.coop import settings_in
from governance.decision_types import DecisionKind, get_type
from governance.errors import Conflict, InvalidInput
from governance.funds._common import (
    _ID_REF,
    FUND_DECISION_KINDS,
    MAX_DESCRIPTION,
    MAX_FUND_NAME,
    OPEN_REQUEST_STATUSES,
    FundDraft,
    FundOverview,
    FundTotals,
    find_fund_in,
    name_key,
    read_amount,
    totals_in,
)
from governance.i18n import _
from governance.money import parse_currency
from governance.names import clean_name
from governance.permissions import Actor, require_fund_steward
from governance.text import clean_text
from storage.database import Database
from storage.models import (
    Contribution,
    ContributionStatus,
    CoopSettings,
    Fund,
    FundingRequest,
    FundPolicy,
    LedgerEntry,
)


def _validated_fund(settings: CoopSettings, draft: FundDraft) -> dict[str, Any]:
    name = clean_name(draft.name)
    if not name:
        raise InvalidInput(_("Give the fund a name."))
    if len(name) > MAX_FUND_NAME:
        raise InvalidInput(
            _(
                "A fund's name is at most {limit} characters (yours has {length}).",
                limit=MAX_FUND_NAME,
                length=len(name),
            )
        )
    if _ID_REF.fullmatch(name):
        raise InvalidInput(_("A fund's name can't be only a number: funds are also found by their number."))
    currency = parse_currency(draft.currency) if draft.currency else parse_currency(settings.currency)
    description = clean_text(
        draft.description, field=_("The description"), limit=MAX_DESCRIPTION, required=False
    )
    try:
        policy = FundPolicy(draft.policy)
    except ValueError:
        raise InvalidInput(_("The approval policy is either decision or treasurer.")) from None
    limit = 0
    if policy is FundPolicy.TREASURER:
        if draft.limit is None:
            raise InvalidInput(
                _(
                    "With the treasurer policy, give a limit: the largest request a treasurer may approve "
                    "(larger ones go to the members)."
                )
            )
        limit = read_amount(draft.limit, currency)
    elif draft.limit is not None:
        raise InvalidInput(_("A limit only applies when treasurers approve requests (policy: treasurer)."))
    default_kind = (
        settings.default_decision_type
        if settings.default_decision_type in FUND_DECISION_KINDS
        else DecisionKind.CONSENT.value
    )
    decision_type = get_type(draft.decision_type or default_kind).kind.value
    if decision_type not in FUND_DECISION_KINDS:
        raise InvalidInput(
            _(
                "Requests are decided by a decision that passes or fails: consent, consensus, significant, "
                "quorum or emergency."
            )
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
                    raise Conflict(_("There is already a fund named {fund}.", fund=existing_name))
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
        raise Conflict(_("There is already a fund named {fund}.", fund=clean_name(draft.name))) from None
    return fund


async def get_fund(db: Database, guild_id: int, ref: str | int) -> Fund:
    async with db.read() as session:
        return await find_fund_in(session, guild_id, ref)


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
        fund = await find_fund_in(session, guild_id, ref)
        return fund, await totals_in(session, fund)


async def fund_overview(db: Database, guild_id: int, ref: str | int, *, recent: int = 5) -> FundOverview:
    """What /fund show shows: balance, committed, available, open requests and the latest movements."""
    async with db.read() as session:
        fund = await find_fund_in(session, guild_id, ref)
        assert fund.id is not None
        totals = await totals_in(session, fund)
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
