"""A network's members: creating one, inviting a cooperative, its decision to join (and the network's to
accept it, where the network asks for that), its decision to leave, and what a member cooperative may read.

Joining is consensual on both sides: an invitation is issued by a moderator of a member cooperative (single
use, for a set time), and the invited cooperative's members decide whether to join. Leaving is the leaving
cooperative's own decision; its history stays on both sides.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.coop import settings_in
from governance.decision_types import DecisionKind
from governance.errors import Conflict, InvalidInput
from governance.i18n import SOURCE, Text, _
from governance.names import clean_name, name_key
from governance.networks._common import (
    ADMISSION_LINK,
    INVITE_DEFAULT,
    INVITE_MAX,
    JOIN_LINK,
    LEAVE_LINK,
    MAX_COOP_NAME,
    MAX_DESCRIPTION,
    MAX_NAME,
    PAGE_SIZE,
    log,
    member_coops,
    memberships_of,
    network_for,
    require_pass_fail,
)
from governance.permissions import Actor, require_moderator
from governance.proposing import ProposalDraft, open_decision_in
from governance.tally import TallyResult
from governance.text import clean_text
from governance.timeparse import discord_timestamp, parse_duration
from storage.database import Database
from storage.models import (
    Decision,
    DecisionStatus,
    Network,
    NetworkEvent,
    NetworkInvite,
    NetworkMembership,
    NetworkMemberStatus,
    NetworkProposal,
)

# Letters and digits that cannot be misread for one another (no 0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10
_LIVE = (
    NetworkMemberStatus.JOINING.value,
    NetworkMemberStatus.ACCEPTING.value,
    NetworkMemberStatus.MEMBER.value,
)
INVALID_CODE = _(
    "That invitation code is not valid: it is unknown, already used or expired. Ask for a new one."
)


@dataclass(frozen=True)
class JoinOpened:
    """A cooperative's decision to join (or leave) a network, opened and ready to be posted."""

    network: Network
    membership: NetworkMembership
    decision: Decision


@dataclass(frozen=True)
class NetworkView:
    """What a member cooperative sees of a network."""

    network: Network
    members: list[NetworkMembership]
    joining: list[NetworkMembership]
    open_proposals: int
    closed_proposals: int


@dataclass(frozen=True)
class NetworkLogPage:
    network: Network
    events: list[NetworkEvent]
    names: dict[int, str]  # guild id → the cooperative's name in the network
    page: int
    pages: int


def _coop_name(name: str) -> str:
    return clean_text(name, field=_("The server's name"), limit=MAX_COOP_NAME, required=True)


async def create_network(
    db: Database,
    *,
    guild_id: int,
    coop_name: str,
    actor: Actor,
    name: str,
    description: str = "",
    requires_acceptance: bool = False,
    now: datetime,
) -> Network:
    """A moderator creates a network with their cooperative as its first member (its home)."""
    shown = clean_name(name)
    clean_text(shown, field=_("The network's name"), limit=MAX_NAME, required=True)
    description = clean_text(description, field=_("The description"), limit=MAX_DESCRIPTION)
    async with db.write() as session:
        require_moderator(await settings_in(session, guild_id, now), actor)
        key = name_key(shown)
        # Names are the cooperative's way to tell its networks apart, not unique across coopbot: a server
        # learns nothing of other servers' networks by the names it may use.
        await _refuse_second_name(session, guild_id, key, shown)
        network = Network(
            name=shown,
            name_key=key,
            description=description,
            guild_id=guild_id,
            requires_acceptance=requires_acceptance,
            created_by=actor.user_id,
            created_at=now,
        )
        session.add(network)
        await session.flush()
        assert network.id is not None
        session.add(
            NetworkMembership(
                network_id=network.id,
                guild_id=guild_id,
                coop_name=_coop_name(coop_name),
                status=NetworkMemberStatus.MEMBER.value,
                created_at=now,
                joined_at=now,
            )
        )
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.create",
            subject=f"network:{network.id}",
            details={"name": shown, "requires_acceptance": requires_acceptance},
            at=now,
        )
    return network


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))


def _read_code(code: str) -> str:
    """A code as typed: spaces and dashes dropped, letters in capitals."""
    return "".join(char for char in code.upper() if char not in " -\t")


async def invite(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    network_name: str | None,
    valid_for: str | None,
    now: datetime,
) -> NetworkInvite:
    """A moderator of a member cooperative issues a single-use code another cooperative joins with."""
    span = INVITE_DEFAULT if not valid_for or not valid_for.strip() else parse_duration(valid_for)
    if span > INVITE_MAX:
        raise InvalidInput(_("An invitation is valid for 30 days at most."))
    if span < timedelta(minutes=10):
        raise InvalidInput(_("An invitation is valid for at least 10 minutes."))
    async with db.write() as session:
        require_moderator(await settings_in(session, guild_id, now), actor)
        network, _membership = await network_for(session, guild_id, network_name)
        assert network.id is not None
        invitation = NetworkInvite(
            network_id=network.id,
            code=_new_code(),
            guild_id=guild_id,
            created_by=actor.user_id,
            expires_at=now + span,
            created_at=now,
        )
        session.add(invitation)
        await session.flush()
        # The log says an invitation was issued and until when, never its code: it is a key.
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.invite",
            subject=f"invite:{invitation.id}",
            details={"expires_at": invitation.expires_at.isoformat()},
            at=now,
        )
    return invitation


async def join(
    db: Database,
    *,
    guild_id: int,
    coop_name: str,
    actor: Actor,
    code: str,
    decision_type: str | None,
    now: datetime,
    language: str = SOURCE,
) -> JoinOpened:
    """A moderator uses an invitation: the code is spent and the cooperative's members decide whether to
    join (consent unless the moderator chooses another yes-or-no type), in a proposal written in
    ``language`` (the cooperative's)."""
    kind = require_pass_fail(decision_type, default=DecisionKind.CONSENT.value, what="Joining a network")
    typed = _read_code(code)
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        require_moderator(settings, actor)
        invitation = (await session.exec(select(NetworkInvite).where(NetworkInvite.code == typed))).first()
        if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
            raise InvalidInput(INVALID_CODE)
        network = await session.get(Network, invitation.network_id)
        assert network is not None and network.id is not None
        live = (
            await session.exec(
                select(NetworkMembership).where(
                    NetworkMembership.network_id == network.id,
                    NetworkMembership.guild_id == guild_id,
                    col(NetworkMembership.status).in_(_LIVE),
                )
            )
        ).first()
        if live is not None and await _abandoned(session, live):
            # Its decision to join was cancelled (or could not be posted): it no longer stands in the way.
            live.status = NetworkMemberStatus.DECLINED.value
            session.add(live)
            await session.flush()
            live = None
        if live is None:
            await _refuse_second_name(
                session,
                guild_id,
                network.name_key,
                network.name,
                joining=True,
            )
        if live is not None:
            joining = live.status != NetworkMemberStatus.MEMBER.value
            raise Conflict(
                _(
                    "This cooperative is already joining the network {network}; the code was not used.",
                    network=network.name,
                )
                if joining
                else _(
                    "This cooperative is already a member of the network {network}; the code was not used.",
                    network=network.name,
                )
            )
        spent = await session.exec(
            update(NetworkInvite)
            .where(col(NetworkInvite.id) == invitation.id, col(NetworkInvite.used_at).is_(None))
            .values(used_at=now, used_by_guild_id=guild_id)
        )
        if not spent.rowcount:  # another cooperative used it a moment ago
            raise InvalidInput(INVALID_CODE)
        membership = NetworkMembership(
            network_id=network.id,
            guild_id=guild_id,
            coop_name=_coop_name(coop_name),
            status=NetworkMemberStatus.JOINING.value,
            created_at=now,
        )
        session.add(membership)
        await session.flush()
        assert membership.id is not None
        names = ", ".join(coop.coop_name for coop in await member_coops(session, network.id))
        details = (f"{network.description}\n\n" if network.description else "") + _(
            "Its member cooperatives: {names}. As a member, this cooperative takes part in network "
            "proposals; its own decisions, funds, members and log stay its own.",
            names=names,
        ).render(language)
        decision = await open_decision_in(
            session,
            guild_id=guild_id,
            author_id=actor.user_id,
            draft=ProposalDraft(
                title=_("Join the network {network}", network=network.name).render(language),
                details=details,
                kind=kind,
            ),
            now=now,
            link=(JOIN_LINK, membership.id),
        )
        membership.join_decision_id = decision.id
        session.add(membership)
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.join.decide",
            subject=f"membership:{membership.id}",
            details={"coop": membership.coop_name, "decision_id": decision.id, "invite_id": invitation.id},
            at=now,
        )
    return JoinOpened(network, membership, decision)


async def _refuse_second_name(
    session: AsyncSession, guild_id: int, key: str, shown: str, *, joining: bool = False
) -> None:
    """A cooperative names its networks to pick one: two of its networks may not share a name (``joining``:
    the refusal of an invitation code, which was not used)."""
    if any(network.name_key == key for network, _ in await memberships_of(session, guild_id)):
        raise Conflict(
            _(
                "This cooperative is already in a network called {network}: it can't join another of that "
                "name "
                "(the code was not used).",
                network=shown,
            )
            if joining
            else _(
                "This cooperative is already in a network called {network}: choose another name.",
                network=shown,
            )
        )


async def _abandoned(session: AsyncSession, membership: NetworkMembership) -> bool:
    """A cooperative on its way in whose decision (its own, or the network's) was cancelled."""
    if membership.status == NetworkMemberStatus.JOINING.value and membership.join_decision_id is not None:
        decision = await session.get(Decision, membership.join_decision_id)
        return decision is not None and decision.status == DecisionStatus.CANCELLED.value
    if membership.status == NetworkMemberStatus.ACCEPTING.value and membership.acceptance_proposal_id:
        proposal = await session.get(NetworkProposal, membership.acceptance_proposal_id)
        return proposal is not None and proposal.status == DecisionStatus.CANCELLED.value
    return False


async def _membership_for(session: AsyncSession, decision: Decision) -> NetworkMembership | None:
    if decision.link_id is None:
        return None
    membership = await session.get(NetworkMembership, decision.link_id)
    if membership is None or membership.guild_id != decision.guild_id:
        return None
    return membership


async def on_join_decision_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    """The cooperative decided whether to join: a member, or (where the network asks) awaiting the
    network's acceptance, or declined."""
    membership = await _membership_for(session, decision)
    if membership is None or membership.status != NetworkMemberStatus.JOINING.value:
        return
    network = await session.get(Network, membership.network_id)
    assert network is not None and network.id is not None and membership.id is not None
    if not result.passed:
        membership.status = NetworkMemberStatus.DECLINED.value
        action = "network.join.declined"
    elif network.requires_acceptance:
        from governance.networks.proposals import NetworkDraft, open_network_proposal_in

        membership.status = NetworkMemberStatus.ACCEPTING.value
        # Written once for every member cooperative: in the language of the one that asks to join (its
        # own setting; the close has no server to read a locale from).
        language = (await settings_in(session, membership.guild_id, now)).language or SOURCE
        draft = NetworkDraft(
            title=_("Accept {coop} into the network", coop=membership.coop_name).render(language),
            details=_(
                "{coop} decided to join {network}. Do we accept it?",
                coop=membership.coop_name,
                network=network.name,
            ).render(language),
            kind=DecisionKind.CONSENT.value,
            counting="cooperative",
            rule="consent",
        )
        opened = await open_network_proposal_in(
            session,
            network,
            guild_id=membership.guild_id,
            author_id=decision.author_id,
            draft=draft,
            now=now,
            link=(ADMISSION_LINK, membership.id),
        )
        membership.acceptance_proposal_id = opened.proposal.id
        action = "network.join.accepting"
    else:
        membership.status = NetworkMemberStatus.MEMBER.value
        membership.joined_at = now
        action = "network.join"
    session.add(membership)
    log(
        session,
        network_id=network.id,
        guild_id=membership.guild_id,
        actor_id=None,
        action=action,
        subject=f"membership:{membership.id}",
        details={"coop": membership.coop_name, "decision_id": decision.id},
        at=now,
    )


async def on_network_admission_closed(
    session: AsyncSession, proposal: NetworkProposal, passed: bool, now: datetime
) -> None:
    """The network decided whether to accept a cooperative that decided to join it."""
    membership = await session.get(NetworkMembership, proposal.link_id)
    if membership is None or membership.status != NetworkMemberStatus.ACCEPTING.value:
        return
    membership.status = NetworkMemberStatus.MEMBER.value if passed else NetworkMemberStatus.DECLINED.value
    if passed:
        membership.joined_at = now
    session.add(membership)
    log(
        session,
        network_id=membership.network_id,
        guild_id=membership.guild_id,
        actor_id=None,
        action="network.join" if passed else "network.join.refused",
        subject=f"membership:{membership.id}",
        details={"coop": membership.coop_name, "network_proposal_id": proposal.id},
        at=now,
    )


async def leave(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    network_name: str | None,
    decision_type: str | None,
    now: datetime,
    language: str = SOURCE,
) -> JoinOpened:
    """A moderator puts leaving the network to the cooperative's members, in a proposal written in
    ``language`` (the cooperative's)."""
    kind = require_pass_fail(decision_type, default=DecisionKind.CONSENT.value, what="Leaving a network")
    async with db.write() as session:
        require_moderator(await settings_in(session, guild_id, now), actor)
        network, membership = await network_for(session, guild_id, network_name)
        assert network.id is not None and membership.id is not None
        if membership.leave_decision_id is not None:
            pending = await session.get(Decision, membership.leave_decision_id)
            if pending is not None and pending.status == DecisionStatus.OPEN.value:
                raise Conflict(
                    _(
                        "The members are already deciding whether to leave {network} (#{proposal}).",
                        network=network.name,
                        proposal=pending.id,
                    )
                )
        decision = await open_decision_in(
            session,
            guild_id=guild_id,
            author_id=actor.user_id,
            draft=ProposalDraft(
                title=_("Leave the network {network}", network=network.name).render(language),
                details=_(
                    "If this passes, the cooperative leaves the network: it takes no part in network "
                    "proposals from then on. What was decided together stays in both registers."
                ).render(language),
                kind=kind,
            ),
            now=now,
            link=(LEAVE_LINK, membership.id),
        )
        membership.leave_decision_id = decision.id
        session.add(membership)
        log(
            session,
            network_id=network.id,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="network.leave.decide",
            subject=f"membership:{membership.id}",
            details={"coop": membership.coop_name, "decision_id": decision.id},
            at=now,
        )
    return JoinOpened(network, membership, decision)


async def on_leave_decision_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    membership = await _membership_for(session, decision)
    if membership is None or membership.status != NetworkMemberStatus.MEMBER.value or not result.passed:
        return
    membership.status = NetworkMemberStatus.LEFT.value
    membership.left_at = now
    session.add(membership)
    log(
        session,
        network_id=membership.network_id,
        guild_id=membership.guild_id,
        actor_id=None,
        action="network.leave",
        subject=f"membership:{membership.id}",
        details={"coop": membership.coop_name, "decision_id": decision.id},
        at=now,
    )


# --- reading ----------------------------------------------------------------------------------------


async def network_names(db: Database, guild_id: int) -> list[str]:
    """The names of the networks this cooperative is a member of (for autocomplete)."""
    async with db.read() as session:
        return [network.name for network, _ in await memberships_of(session, guild_id)]


async def show(db: Database, *, guild_id: int, network_name: str | None) -> NetworkView:
    async with db.read() as session:
        network, _membership = await network_for(session, guild_id, network_name)
        assert network.id is not None
        members = await member_coops(session, network.id)
        joining = list(
            (
                await session.exec(
                    select(NetworkMembership)
                    .where(
                        NetworkMembership.network_id == network.id,
                        col(NetworkMembership.status).in_(
                            (NetworkMemberStatus.JOINING.value, NetworkMemberStatus.ACCEPTING.value)
                        ),
                    )
                    .order_by(col(NetworkMembership.id))
                )
            ).all()
        )
        counts = dict(
            (
                await session.exec(
                    select(NetworkProposal.status, func.count())
                    .where(NetworkProposal.network_id == network.id)
                    .group_by(NetworkProposal.status)
                )
            ).all()
        )
    return NetworkView(
        network,
        members,
        joining,
        open_proposals=int(counts.get(DecisionStatus.OPEN.value, 0)),
        closed_proposals=int(counts.get(DecisionStatus.CLOSED.value, 0)),
    )


async def network_log(
    db: Database, *, guild_id: int, actor: Actor, network_name: str | None, page: int, now: datetime
) -> NetworkLogPage:
    """The network's log, newest first, for the moderators of its member cooperatives."""
    async with db.read() as session:
        require_moderator(await settings_in(session, guild_id, now), actor)
        network, _membership = await network_for(session, guild_id, network_name)
        assert network.id is not None
        total = (
            await session.exec(
                select(func.count()).select_from(NetworkEvent).where(NetworkEvent.network_id == network.id)
            )
        ).one()
        pages = max(1, -(-int(total) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        events = list(
            (
                await session.exec(
                    select(NetworkEvent)
                    .where(NetworkEvent.network_id == network.id)
                    .order_by(col(NetworkEvent.id).desc())
                    .offset((page - 1) * PAGE_SIZE)
                    .limit(PAGE_SIZE)
                )
            ).all()
        )
        names = await coop_names(session, network.id)
    return NetworkLogPage(network, events, names, page, pages)


async def coop_names(session: AsyncSession, network_id: int) -> dict[int, str]:
    """Every cooperative that ever joined (or asked to), by guild id: the latest name it joined under."""
    rows = await session.exec(
        select(NetworkMembership.guild_id, NetworkMembership.coop_name)
        .where(NetworkMembership.network_id == network_id)
        .order_by(col(NetworkMembership.id))
    )
    return dict(rows.all())


def describe_membership(membership: NetworkMembership) -> Text:
    """One member cooperative, for a list: its name and since when (said in the reader's language)."""
    name = membership.coop_name
    if membership.status == NetworkMemberStatus.MEMBER.value and membership.joined_at is not None:
        return _(
            "{cooperative} (since {date})",
            cooperative=name,
            date=discord_timestamp(membership.joined_at, "D"),
        )
    if membership.status == NetworkMemberStatus.JOINING.value:
        return _("{cooperative} (deciding to join)", cooperative=name)
    return _("{cooperative} (awaiting the network)", cooperative=name)


__all__ = [
    "INVALID_CODE",
    "JoinOpened",
    "NetworkLogPage",
    "NetworkView",
    "create_network",
    "describe_membership",
    "invite",
    "join",
    "leave",
    "network_log",
    "network_names",
    "on_join_decision_closed",
    "on_leave_decision_closed",
    "on_network_admission_closed",
    "show",
]


async def membership_words(db: Database, decision: Decision) -> Text | None:
    """What the thread of a decision to join or leave is told once it closed."""
    async with db.read() as session:
        membership = await _membership_for(session, decision)
        network = await session.get(Network, membership.network_id) if membership else None
    if membership is None or network is None:
        return None
    status, name = membership.status, network.name
    if decision.link_kind == LEAVE_LINK:
        if status == NetworkMemberStatus.LEFT.value:
            return _(
                "This cooperative has left the network {network}. What was decided together stays on record.",
                network=name,
            )
        return _("This cooperative stays in the network {network}.", network=name)
    return {
        NetworkMemberStatus.MEMBER.value: _(
            "This cooperative is now a member of the network {network}.", network=name
        ),
        NetworkMemberStatus.ACCEPTING.value: _(
            "This cooperative decided to join {network}: the network's cooperatives now decide whether to "
            "accept it.",
            network=name,
        ),
        NetworkMemberStatus.DECLINED.value: _(
            "This cooperative does not join the network {network}.", network=name
        ),
    }.get(status)
