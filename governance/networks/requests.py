"""Asking a network fund for money, and paying it.

A member of a member cooperative asks (`request_money`). Up to the fund's treasurer limit, a treasurer of any
member cooperative approves or rejects it; above it, the network decides: a network proposal, counted by
cooperative under consent, opened with the request. An approved request is paid by a treasurer (never the
asker): a payout on the network fund's ledger, its balance moved by the database, never overdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.coop import settings_in
from governance.errors import Conflict, NotAllowed, NotFound
from governance.funds import idempotency_key_of, read_amount
from governance.i18n import SOURCE, _
from governance.money import Money
from governance.networks._common import REQUEST_LINK, log, memberships_of, network_for
from governance.networks.funds import network_fund_in
from governance.networks.membership import coop_names
from governance.permissions import Actor, is_treasurer, require_member, require_treasurer
from governance.text import clean_text
from storage.database import Database, is_postgresql
from storage.models import (
    Network,
    NetworkFund,
    NetworkFundRequest,
    NetworkLedgerEntry,
    NetworkProposal,
)

MAX_PURPOSE = 1000
MAX_REFERENCE = 200
PAYOUT = "payout"  # a network ledger entry's kind: money paid out on a request


class NetworkRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


@dataclass(frozen=True)
class NetworkRequestReceipt:
    network: Network
    fund: NetworkFund
    request: NetworkFundRequest
    proposal: NetworkProposal | None  # the network's decision on it, when above the treasurer limit
    entry: NetworkLedgerEntry | None = None
    duplicate: bool = False


def request_label(request: NetworkFundRequest) -> str:
    return f"R{request.id}"


async def request_money(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    network_name: str | None,
    fund: str,
    amount: str,
    purpose: str,
    now: datetime,
    language: str = SOURCE,
) -> NetworkRequestReceipt:
    """A member asks a network fund for money; above the treasurer limit, the network decides, in a proposal
    written once for every member cooperative in ``language``: the asking cooperative's."""
    from governance.networks.proposals import NetworkDraft, open_network_proposal_in

    purpose = clean_text(purpose, field=_("The purpose"), limit=MAX_PURPOSE, required=True)
    async with db.write() as session:
        require_member(await settings_in(session, guild_id, now), actor)
        network, membership = await network_for(session, guild_id, network_name)
        target = await network_fund_in(session, network, fund)
        assert network.id is not None and target.id is not None
        cents = read_amount(amount, target.currency)
        request = NetworkFundRequest(
            network_fund_id=target.id,
            guild_id=guild_id,
            requester_id=actor.user_id,
            amount=cents,
            currency=target.currency,
            purpose=purpose,
            status=NetworkRequestStatus.PENDING.value,
            created_at=now,
        )
        session.add(request)
        await session.flush()
        assert request.id is not None
        proposal: NetworkProposal | None = None
        if cents > target.treasurer_limit:
            pay = _("Pay {amount} from {fund}", amount=Money(cents, target.currency), fund=target.name)
            asked_by = _(
                "Asked by {person} of {coop} (request {request}).",
                person=f"<@{actor.user_id}>",
                coop=membership.coop_name,
                request=request_label(request),
            )
            opened = await open_network_proposal_in(
                session,
                network,
                guild_id=guild_id,
                author_id=actor.user_id,
                draft=NetworkDraft(
                    title=pay.render(language)[:200],
                    details=f"{purpose}\n\n{asked_by.render(language)}",
                    kind="consent",
                    counting="cooperative",
                    rule="consent",
                ),
                now=now,
                link=(REQUEST_LINK, request.id),
            )
            proposal = opened.proposal
            request.proposal_id = proposal.id
            session.add(request)
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.fund.request",
            subject=f"network_request:{request.id}",
            details={
                "amount": cents,
                "currency": target.currency,
                "fund_id": target.id,
                "network_proposal_id": proposal.id if proposal else None,
            },
            at=now,
        )
    return NetworkRequestReceipt(network, target, request, proposal)


async def _as_treasurer(
    session: AsyncSession, guild_id: int, actor: Actor, request_id: int, now: datetime
) -> tuple[Network, NetworkFund, NetworkFundRequest]:
    """The request, for someone who may decide and pay it: the people named for its fund, or, where the
    fund names none, the treasurers of every member cooperative. Whoever may not is refused alike whether
    the request exists or not."""
    settings = await settings_in(session, guild_id, now)
    try:
        network, fund, request = await _request_in(session, guild_id, request_id, lock=True)
    except NotFound:
        if not is_treasurer(settings, actor):
            require_treasurer(settings, actor)
        raise
    if fund.treasurer_ids:
        if actor.user_id not in fund.treasurer_ids:
            raise NotAllowed(
                _("Only the treasurers named for {fund} decide and pay its requests.", fund=fund.name)
            )
    else:
        require_treasurer(settings, actor)
    return network, fund, request


async def _request_in(
    session: AsyncSession, guild_id: int, request_id: int, *, lock: bool = False
) -> tuple[Network, NetworkFund, NetworkFundRequest]:
    """A request to a fund of one of this cooperative's networks; the same answer for one that does not
    exist and one of a network it is not in."""
    ids = [network.id for network, _ in await memberships_of(session, guild_id)]
    query = (
        select(NetworkFundRequest, NetworkFund, Network)
        .join(NetworkFund, col(NetworkFund.id) == col(NetworkFundRequest.network_fund_id))
        .join(Network, col(Network.id) == col(NetworkFund.network_id))
        .where(NetworkFundRequest.id == request_id, col(Network.id).in_(ids))
    )
    if lock and is_postgresql(session):
        query = query.with_for_update(of=NetworkFundRequest)
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound(
            _("There is no network request #{number} in this cooperative's networks.", number=request_id)
        )
    request, fund, network = row
    return network, fund, request


async def decide_request(
    db: Database, *, guild_id: int, actor: Actor, request_id: int, approve: bool, now: datetime
) -> NetworkRequestReceipt:
    """A treasurer of a member cooperative approves or rejects a request within the fund's limit."""
    async with db.write() as session:
        network, fund, request = await _as_treasurer(session, guild_id, actor, request_id, now)
        label = request_label(request)
        if request.proposal_id is not None:
            raise Conflict(
                _(
                    "{request} is above the fund's treasurer limit: the network decides it (N{proposal}).",
                    request=label,
                    proposal=request.proposal_id,
                )
            )
        if request.requester_id == actor.user_id:
            raise NotAllowed(
                _("Nobody decides their own request: another treasurer decides {request}.", request=label)
            )
        if request.status != NetworkRequestStatus.PENDING.value:
            raise Conflict(
                _(
                    "{request} is {status}; only a pending request is decided.",
                    request=label,
                    status=request.status,
                )
            )
        status = NetworkRequestStatus.APPROVED if approve else NetworkRequestStatus.REJECTED
        claimed = await session.exec(
            update(NetworkFundRequest)
            .where(
                col(NetworkFundRequest.id) == request_id,
                col(NetworkFundRequest.status) == NetworkRequestStatus.PENDING.value,
            )
            .values(status=status.value, decided_by=actor.user_id, decided_at=now)
        )
        if not claimed.rowcount:
            raise Conflict(_("{request} was decided meanwhile.", request=label))
        await session.refresh(request)
        assert network.id is not None
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action=f"network.fund.{'approve' if approve else 'reject'}",
            subject=f"network_request:{request_id}",
            details={"amount": request.amount, "currency": request.currency},
            at=now,
        )
    return NetworkRequestReceipt(network, fund, request, None)


async def on_request_proposal_closed(
    session: AsyncSession, proposal: NetworkProposal, passed: bool, now: datetime
) -> None:
    """The network decided a request (inside the network proposal's closing transaction)."""
    request = await session.get(NetworkFundRequest, proposal.link_id)
    if request is None or request.status != NetworkRequestStatus.PENDING.value:
        return
    request.status = (NetworkRequestStatus.APPROVED if passed else NetworkRequestStatus.REJECTED).value
    request.decided_at = now
    session.add(request)
    log(
        session,
        network_id=proposal.network_id,
        guild_id=request.guild_id,
        actor_id=None,
        action=f"network.fund.{'approve' if passed else 'reject'}",
        subject=f"network_request:{request.id}",
        details={"amount": request.amount, "network_proposal_id": proposal.id},
        at=now,
    )


async def pay_request(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    request_id: int,
    reference: str,
    idempotency_key: str,
    now: datetime,
) -> NetworkRequestReceipt:
    """A treasurer records that an approved request was paid: a payout on the network fund's ledger."""
    key = idempotency_key_of(idempotency_key)
    reference = clean_text(reference, field=_("The reference"), limit=MAX_REFERENCE)
    async with db.write() as session:
        network, fund, request = await _as_treasurer(session, guild_id, actor, request_id, now)
        label = request_label(request)
        assert fund.id is not None and network.id is not None
        again = (
            await session.exec(
                select(NetworkLedgerEntry).where(
                    NetworkLedgerEntry.network_fund_id == fund.id, NetworkLedgerEntry.idempotency_key == key
                )
            )
        ).first()
        if again is not None and again.id == request.payout_entry_id:
            return NetworkRequestReceipt(network, fund, request, None, again, duplicate=True)
        if request.requester_id == actor.user_id:
            raise NotAllowed(
                _(
                    "Nobody pays their own request: another treasurer records the payout of {request}.",
                    request=label,
                )
            )
        if request.status != NetworkRequestStatus.APPROVED.value:
            raise Conflict(
                _(
                    "{request} is {status}; only an approved request is paid.",
                    request=label,
                    status=request.status,
                )
            )
        claimed = await session.exec(
            update(NetworkFundRequest)
            .where(
                col(NetworkFundRequest.id) == request_id,
                col(NetworkFundRequest.status) == NetworkRequestStatus.APPROVED.value,
            )
            .values(status=NetworkRequestStatus.PAID.value, paid_by=actor.user_id, reference=reference)
        )
        if not claimed.rowcount:
            raise Conflict(_("{request} was paid or changed meanwhile.", request=label))
        taken = await session.exec(
            update(NetworkFund)
            .where(col(NetworkFund.id) == fund.id, col(NetworkFund.balance) >= request.amount)
            .values(balance=col(NetworkFund.balance) - request.amount)
        )
        if not taken.rowcount:
            raise Conflict(
                _(
                    "{fund} holds {balance}: paying {amount} would overdraw it. Nothing was recorded.",
                    fund=fund.name,
                    balance=Money(fund.balance, fund.currency),
                    amount=Money(request.amount, fund.currency),
                )
            )
        entry = NetworkLedgerEntry(
            network_fund_id=fund.id,
            guild_id=request.guild_id,
            kind=PAYOUT,
            amount=-request.amount,
            currency=fund.currency,
            reason=f"{label}: {request.purpose}"[:MAX_PURPOSE],
            idempotency_key=key,
            recorded_by=actor.user_id,
            created_at=now,
        )
        session.add(entry)
        await session.flush()
        await session.exec(
            update(NetworkFundRequest)
            .where(col(NetworkFundRequest.id) == request_id)
            .values(payout_entry_id=entry.id)
        )
        await session.refresh(request)
        await session.refresh(fund, attribute_names=["balance"])
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.fund.payout",
            subject=f"network_request:{request_id}",
            details={"amount": request.amount, "currency": fund.currency, "reference": reference},
            at=now,
        )
    return NetworkRequestReceipt(network, fund, request, None, entry)


async def open_requests(
    db: Database, *, guild_id: int, network_name: str | None, fund: str
) -> list[tuple[NetworkFundRequest, str]]:
    """A network fund's requests not yet paid or rejected, oldest first, with the asker's cooperative."""
    async with db.read() as session:
        network, _membership = await network_for(session, guild_id, network_name)
        found = await network_fund_in(session, network, fund)
        assert network.id is not None
        rows = (
            await session.exec(
                select(NetworkFundRequest)
                .where(
                    NetworkFundRequest.network_fund_id == found.id,
                    col(NetworkFundRequest.status).in_(
                        (NetworkRequestStatus.PENDING.value, NetworkRequestStatus.APPROVED.value)
                    ),
                )
                .order_by(col(NetworkFundRequest.id))
            )
        ).all()
        names = await coop_names(session, network.id)
    return [(row, names.get(row.guild_id, "?")) for row in rows]
