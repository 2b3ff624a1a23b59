"""Network funds: money a network holds together, put in by its cooperatives from their own funds.

A contribution is one transfer in one transaction: a debit on the giving cooperative's ledger (a
``network_transfer`` entry on the fund it comes from) and a credit on the network fund's ledger, each
balance moved by the database, so neither is ever overdrawn and neither moves without the other. Only a
treasurer of a member cooperative moves its cooperative's money, and never money its fund has promised to
approved requests. Both ledgers are append-only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.coop import settings_in
from governance.errors import Conflict, InvalidInput, NotFound
from governance.funds import find_fund_in, idempotency_key_of, read_amount, totals_in
from governance.i18n import _
from governance.ledger import ledger_entry, move_balance
from governance.money import MAX_BALANCE, Money, parse_currency
from governance.names import clean_name, name_key
from governance.networks._common import log, memberships_of, network_for
from governance.networks.membership import coop_names
from governance.permissions import Actor, require_moderator, require_treasurer
from governance.text import clean_text
from storage.database import Database, is_postgresql
from storage.models import LedgerKind, Network, NetworkFund, NetworkLedgerEntry

MAX_FUND_NAME = 80
MAX_FUND_DESCRIPTION = 1000
MAX_REASON = 500
CONTRIBUTION = "contribution"  # a network ledger entry's kind: money in from a cooperative's fund
RECENT = 10
MAX_NAMED_TREASURERS = 10


@dataclass(frozen=True)
class TransferReceipt:
    network: Network
    fund: NetworkFund
    from_fund_name: str
    amount: int
    entry: NetworkLedgerEntry
    duplicate: bool = False


@dataclass(frozen=True)
class NetworkFundView:
    network: Network
    fund: NetworkFund
    by_coop: list[tuple[str, int]]  # each cooperative's contributions in all, largest first
    recent: list[tuple[NetworkLedgerEntry, str]]  # the latest entries, with the cooperative's name
    derived_balance: int  # the sum of its entries (equal to the cached balance, or a bug)


async def network_fund_in(
    session: AsyncSession, network: Network, name: str, *, lock: bool = False
) -> NetworkFund:
    """A network fund by name, among this network's only."""
    query = select(NetworkFund).where(
        NetworkFund.network_id == network.id, NetworkFund.name_key == name_key(clean_name(name))
    )
    if lock and is_postgresql(session):
        query = query.with_for_update()
    fund = (await session.exec(query)).first()
    if fund is None:
        raise NotFound(
            _(
                "The network {network} has no fund called {fund}.",
                network=network.name,
                fund=clean_name(name)[:MAX_FUND_NAME],
            )
        )
    return fund


async def create_fund(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    network_name: str | None,
    name: str,
    currency: str,
    description: str = "",
    limit: str | None = None,
    now: datetime,
) -> tuple[Network, NetworkFund]:
    """A moderator of a member cooperative opens a fund the network holds. Requests up to `limit` are
    approved by a treasurer; larger ones (all of them, without a limit) go to the network."""
    shown = clean_name(name)
    clean_text(shown, field=_("The fund's name"), limit=MAX_FUND_NAME, required=True)
    description = clean_text(description, field=_("The description"), limit=MAX_FUND_DESCRIPTION)
    code = parse_currency(currency)
    treasurer_limit = read_amount(limit, code) if limit and limit.strip() else 0
    try:
        async with db.write() as session:
            require_moderator(await settings_in(session, guild_id, now), actor)
            network, _membership = await network_for(session, guild_id, network_name)
            assert network.id is not None
            taken = await session.exec(
                select(NetworkFund.id).where(
                    NetworkFund.network_id == network.id, NetworkFund.name_key == name_key(shown)
                )
            )
            if taken.first() is not None:
                raise Conflict(
                    _(
                        "The network {network} already has a fund called {fund}.",
                        network=network.name,
                        fund=shown,
                    )
                )
            fund = NetworkFund(
                network_id=network.id,
                guild_id=guild_id,
                name=shown,
                name_key=name_key(shown),
                currency=code,
                description=description,
                balance=0,
                treasurer_limit=treasurer_limit,
                created_by=actor.user_id,
                created_at=now,
            )
            session.add(fund)
            await session.flush()
            log(
                session,
                network_id=network.id,
                guild_id=guild_id,
                actor_id=actor.user_id,
                action="network.fund.create",
                subject=f"network_fund:{fund.id}",
                details={"name": shown, "currency": code},
                at=now,
            )
    except IntegrityError:  # two moderators chose the same name at once (PostgreSQL)
        raise Conflict(_("The network already has a fund called {fund}.", fund=shown)) from None
    return network, fund


async def contribute(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    network_name: str | None,
    fund: str,
    from_fund: str,
    amount: str,
    idempotency_key: str,
    now: datetime,
    reason: str = "",
) -> TransferReceipt:
    """A treasurer moves money from one of their cooperative's funds to a network fund: one debit there,
    one credit here, in one transaction. A repeat of the same interaction records nothing more."""
    key = idempotency_key_of(idempotency_key)
    reason = clean_text(reason, field=_("The note"), limit=MAX_REASON)
    async with db.write() as session:
        require_treasurer(await settings_in(session, guild_id, now), actor)
        network, _membership = await network_for(session, guild_id, network_name)
        target = await network_fund_in(session, network, fund, lock=True)
        assert target.id is not None
        again = (
            await session.exec(
                select(NetworkLedgerEntry).where(
                    NetworkLedgerEntry.network_fund_id == target.id,
                    NetworkLedgerEntry.idempotency_key == key,
                    NetworkLedgerEntry.guild_id == guild_id,
                )
            )
        ).first()
        source = await find_fund_in(session, guild_id, from_fund, lock=True)
        if again is not None:
            return TransferReceipt(network, target, source.name, again.amount, again, duplicate=True)
        if source.archived:
            raise Conflict(_("{fund} is archived: no money leaves it.", fund=source.name))
        if source.currency != target.currency:
            raise InvalidInput(
                _(
                    "{fund} holds {currency} and {network_fund} {network_currency}: a transfer stays in one "
                    "currency.",
                    fund=source.name,
                    currency=source.currency,
                    network_fund=target.name,
                    network_currency=target.currency,
                )
            )
        cents = read_amount(amount, target.currency)
        totals = await totals_in(session, source)
        free = source.balance - totals.committed
        if cents > free:
            raise Conflict(
                _(
                    "{fund} holds {balance}, of which {committed} is promised to approved requests: at most "
                    "{available} can go to the network. Nothing was moved.",
                    fund=source.name,
                    balance=Money(source.balance, source.currency),
                    committed=Money(totals.committed, source.currency),
                    available=Money(max(free, 0), source.currency),
                )
                if totals.committed
                else _(
                    "{fund} holds {balance}: at most {available} can go to the network. Nothing was moved.",
                    fund=source.name,
                    balance=Money(source.balance, source.currency),
                    available=Money(max(free, 0), source.currency),
                )
            )
        await move_balance(
            session,
            source,
            -cents,
            overdraw=_(
                "{fund} no longer holds {amount}. Nothing was moved.",
                fund=source.name,
                amount=Money(cents, source.currency),
            ),
        )
        debit = ledger_entry(
            source,
            kind=LedgerKind.NETWORK_TRANSFER,
            amount=-cents,
            recorded_by=actor.user_id,
            key=key,
            now=now,
            reference=f"to {network.name}: {target.name}"[:200],
            reason=reason,
        )
        session.add(debit)
        await session.flush()
        credited = await session.exec(
            update(NetworkFund)
            .where(col(NetworkFund.id) == target.id, col(NetworkFund.balance) <= MAX_BALANCE - cents)
            .values(balance=col(NetworkFund.balance) + cents)
        )
        if not credited.rowcount:
            raise Conflict(_("{fund} would hold more than a fund can. Nothing was moved.", fund=target.name))
        await session.refresh(target, attribute_names=["balance"])
        entry = NetworkLedgerEntry(
            network_fund_id=target.id,
            guild_id=guild_id,
            kind=CONTRIBUTION,
            amount=cents,
            currency=target.currency,
            source_entry_id=debit.id,
            reason=reason,
            idempotency_key=key,
            recorded_by=actor.user_id,
            created_at=now,
        )
        session.add(entry)
        await session.flush()
        assert network.id is not None
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.fund.contribute",
            subject=f"network_fund:{target.id}",
            details={
                "amount": cents,
                "currency": target.currency,
                "from_fund_id": source.id,
                "entry_id": debit.id,
                "network_entry_id": entry.id,
            },
            at=now,
        )
    return TransferReceipt(network, target, source.name, cents, entry)


async def show_fund(db: Database, *, guild_id: int, network_name: str | None, fund: str) -> NetworkFundView:
    """A network fund as every member cooperative may see it: balance, who put in what, the latest entries
    (which cooperative, never which fund of it the money came from)."""
    async with db.read() as session:
        network, _membership = await network_for(session, guild_id, network_name)
        found = await network_fund_in(session, network, fund)
        assert network.id is not None and found.id is not None
        entries = list(
            (
                await session.exec(
                    select(NetworkLedgerEntry)
                    .where(NetworkLedgerEntry.network_fund_id == found.id)
                    .order_by(col(NetworkLedgerEntry.id))
                )
            ).all()
        )
        names = await coop_names(session, network.id)
    given: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.kind == CONTRIBUTION:
            given[names.get(entry.guild_id, "?")] += entry.amount
    recent = [(entry, names.get(entry.guild_id, "?")) for entry in reversed(entries[-RECENT:])]
    return NetworkFundView(
        network,
        found,
        sorted(given.items(), key=lambda item: -item[1]),
        recent,
        derived_balance=sum(entry.amount for entry in entries),
    )


async def network_fund_names(db: Database, guild_id: int) -> list[str]:
    """The funds of the networks this cooperative is in (for autocomplete)."""
    async with db.read() as session:
        ids = [network.id for network, _ in await memberships_of(session, guild_id)]
        rows = await session.exec(
            select(NetworkFund.name)
            .where(col(NetworkFund.network_id).in_(ids))
            .order_by(col(NetworkFund.name))
        )
        return list(rows.all())


async def set_treasurers(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    network_name: str | None,
    fund: str,
    add: int | None = None,
    remove: int | None = None,
    now: datetime,
) -> NetworkFund:
    """A moderator of a member cooperative names (or stops naming) someone who decides and pays a network
    fund's requests. While anyone is named, only they do; with nobody named, every member cooperative's
    treasurers do."""
    if add is None and remove is None:
        raise InvalidInput(_("Name someone to add or to remove."))
    async with db.write() as session:
        require_moderator(await settings_in(session, guild_id, now), actor)
        network, _membership = await network_for(session, guild_id, network_name)
        found = await network_fund_in(session, network, fund, lock=True)
        named = [user for user in found.treasurer_ids if user != remove]
        if add is not None and add not in named:
            if len(named) >= MAX_NAMED_TREASURERS:
                raise Conflict(
                    _(
                        "{fund} has {limit} named treasurers already.",
                        fund=found.name,
                        limit=MAX_NAMED_TREASURERS,
                    )
                )
            named.append(add)
        if named == found.treasurer_ids:
            raise Conflict(_("Nothing changes: that person is already named, or was not."))
        found.treasurer_ids = named
        session.add(found)
        assert network.id is not None
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.fund.treasurers",
            subject=f"network_fund:{found.id}",
            details={"added": add, "removed": remove, "named": named},
            at=now,
        )
    return found
