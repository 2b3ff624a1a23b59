"""What the network modules share: link kinds, limits, the network's log, and finding the network a
cooperative means. Package-private.

Every lookup starts from the cooperative asking (its guild id) and reaches only the networks it is a member
of: a network, its proposals and its log are never found from a server outside it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.decision_types import get_type
from governance.errors import InvalidInput, NotFound
from governance.i18n import _
from governance.names import name_key
from governance.proposing import Lowered
from storage.models import Network, NetworkEvent, NetworkMembership, NetworkMemberStatus

# Decisions a cooperative holds about a network (their link kinds, governance/links.py).
JOIN_LINK = "network_join"
LEAVE_LINK = "network_leave"
PROPOSAL_LINK = "network_proposal"  # a member cooperative's copy of a network proposal
# What a network proposal may be about.
ADMISSION_LINK = "network_admission"
REQUEST_LINK = "network_fund_request"

POST_KIND = "network-post"  # a copy owed to a cooperative's governance channel (governance/outbox.py)
REFRESH_KIND = "network-tally"  # a copy's message owed the network's new tally

MAX_NAME = 80
MAX_DESCRIPTION = 1000
MAX_COOP_NAME = 100
INVITE_DEFAULT = timedelta(days=7)
INVITE_MAX = timedelta(days=30)
PAGE_SIZE = 10

NOT_IN_A_NETWORK = _(
    "This cooperative is not in a network. A moderator can create one with /network create, or join one "
    "with /network join and a code from one of its cooperatives."
)


def require_pass_fail(
    kind: str | None, *, default: str, what: Literal["Joining a network", "Leaving a network"]
) -> str:
    """The decision type for a yes-or-no question (joining, leaving, a cooperative's one vote)."""
    decision_type = get_type(kind or default)
    if not decision_type.has_pass_fail:
        if what == "Joining a network":
            raise InvalidInput(
                _(
                    "Joining a network is a yes-or-no question: choose a type that passes or fails (consent, "
                    "consensus…), not a {type} vote.",
                    type=Lowered(decision_type.label),
                )
            )
        raise InvalidInput(
            _(
                "Leaving a network is a yes-or-no question: choose a type that passes or fails (consent, "
                "consensus…), not a {type} vote.",
                type=Lowered(decision_type.label),
            )
        )
    return decision_type.kind.value


def log(
    session: AsyncSession,
    *,
    network_id: int,
    guild_id: int,
    actor_id: int | None,
    action: str,
    at: datetime,
    subject: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """One network action, in the network's log and in the audit log of the cooperative where it happened,
    in the caller's transaction."""
    details = {"network_id": network_id, **(details or {})}
    session.add(
        NetworkEvent(
            network_id=network_id,
            guild_id=guild_id,
            actor_id=actor_id,
            action=action,
            subject=subject,
            details=details,
            created_at=at,
        )
    )
    audit.record(
        session, guild_id=guild_id, actor_id=actor_id, action=action, subject=subject, details=details, at=at
    )


async def memberships_of(session: AsyncSession, guild_id: int) -> list[tuple[Network, NetworkMembership]]:
    """The networks this cooperative is a member of, by name."""
    rows = await session.exec(
        select(Network, NetworkMembership)
        .join(NetworkMembership, col(NetworkMembership.network_id) == col(Network.id))
        .where(
            NetworkMembership.guild_id == guild_id,
            NetworkMembership.status == NetworkMemberStatus.MEMBER.value,
        )
        .order_by(col(Network.name_key))
    )
    return [(network, membership) for network, membership in rows.all()]


async def network_for(
    session: AsyncSession, guild_id: int, name: str | None
) -> tuple[Network, NetworkMembership]:
    """The network this cooperative means: the one named, among its own; or its only one when none is
    named. A network it is not in is not found, whether or not it exists."""
    mine = await memberships_of(session, guild_id)
    if not mine:
        raise NotFound(NOT_IN_A_NETWORK)
    if name is None or not name.strip():
        if len(mine) == 1:
            return mine[0]
        names = ", ".join(network.name for network, _ in mine)
        raise InvalidInput(
            _("This cooperative is in several networks: name one ({networks}).", networks=names)
        )
    key = name_key(name)
    for network, membership in mine:
        if network.name_key == key:
            return network, membership
    raise NotFound(
        _("This cooperative is not in a network called {network}.", network=name.strip()[:MAX_NAME])
    )


async def member_coops(session: AsyncSession, network_id: int) -> list[NetworkMembership]:
    """The network's member cooperatives now, oldest member first."""
    rows = await session.exec(
        select(NetworkMembership)
        .where(
            NetworkMembership.network_id == network_id,
            NetworkMembership.status == NetworkMemberStatus.MEMBER.value,
        )
        .order_by(col(NetworkMembership.joined_at), col(NetworkMembership.id))
    )
    return list(rows.all())
