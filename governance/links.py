"""What a linked decision acts on: the one table from a decision's ``link_kind`` to what carries it out.

A decision may be *about* something: a funding request, an admission, a charter version. When it closes, the
thing it is about must be decided in the same transaction (the request approved or declined, the applicant
admitted). This table says, for each kind, which function does that and whether the decision may close early.

It is built here, in one place, by naming the functions, not by modules registering themselves when they are
imported: a decision closes the same way whichever modules happen to be loaded. A kind without an entry is an
error, raised at start-up (``check_known``) and at the close itself, never skipped.

``governance.decisions`` reads the table only when a decision closes (``link_for``): the modules named here
open their decisions through ``governance.decisions``, so importing them from its top would be a cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlmodel.ext.asyncio.session import AsyncSession

from governance.tally import TallyResult
from storage.models import Decision

__all__ = ["Link", "UnknownLink", "check_known", "link_for", "links"]

CloseAction = Callable[[AsyncSession, Decision, TallyResult, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Link:
    """What a decision of one link kind acts on when it closes."""

    on_close: (
        CloseAction  # runs inside the closing transaction: the decision and its consequence commit together
    )
    closes_early: bool = True  # False: nobody, not even a moderator, closes it before its time
    # False: its close is announced by what it acts on (a network proposal's copy waits for the network).
    announces: bool = True
    # False: its closing time and existence are not this cooperative's to change (no extend, no cancel).
    local_changes: bool = True
    # True: its author is who it decides about (their admission, their request), so they may not close it
    # early; False where the author only put the question (a moderator asking to join a network).
    author_is_subject: bool = True


class UnknownLink(RuntimeError):
    """A decision is linked to a kind nothing carries out: a programming or data error, never a refusal."""


@cache
def links() -> Mapping[str, Link]:
    """Every link kind and its action."""
    from governance import funds, membership, networks, rounds

    return {
        # The author of a request is the one it decides about, and a request's money waits on the whole vote.
        funds.LINK_KIND: Link(funds.on_request_decision_closed, closes_early=False),
        membership.ADMISSION_LINK: Link(membership.on_admission_decision_closed),
        membership.CHARTER_LINK: Link(membership.on_charter_decision_closed),
        rounds.ROUND_LINK: Link(rounds.on_round_decision_closed),
        networks.JOIN_LINK: Link(networks.on_join_decision_closed, author_is_subject=False),
        networks.LEAVE_LINK: Link(networks.on_leave_decision_closed, author_is_subject=False),
        # A copy of a network proposal closes at the network's time, and the network announces the result.
        networks.PROPOSAL_LINK: Link(
            networks.on_copy_closed, closes_early=False, announces=False, local_changes=False
        ),
    }


def link_for(kind: str) -> Link:
    """The action for ``kind``; UnknownLink when there is none."""
    try:
        return links()[kind]
    except KeyError:
        raise UnknownLink(f"No action is known for decisions linked to {kind!r}.") from None


def check_known(kinds: Iterable[str | None]) -> None:
    """Raise UnknownLink if any of ``kinds`` (e.g. those of the open decisions) has no action."""
    unknown = sorted({kind for kind in kinds if kind is not None} - set(links()))
    if unknown:
        raise UnknownLink(f"Open decisions are linked to kinds nothing carries out: {', '.join(unknown)}.")
