"""Network proposals: one question put to every member cooperative, counted by person or by cooperative.

Each member cooperative holds a *copy*: an ordinary decision of its own (linked to the network proposal),
posted in its governance channel by the bot process that serves it (the per-server outbox), with its
buttons, thread and closing-soon reminders. The copies share the network's closing time. Each copy closes in
its own cooperative as any decision does (no vote lands after it); the close of the last copy closes the
network proposal, once, in the same transaction, and owes every member cooperative the announcement of the
network's result.

- **By person**: the copies' votes are counted together under the proposal's rules, over the electorate of
  every member cooperative (each cooperative's eligible count, as its process last counted it). A person in
  two member cooperatives is in both electorates and votes in each.
- **By cooperative**: each copy is that cooperative's own decision; its outcome is its one vote (it passed:
  the cooperative agrees; nobody voted: it stands aside; else it objects). The network rule decides:
  consent (no cooperative objects, at least one agrees), majority (more agree than object), or consensus
  (every cooperative that took part agrees, and at least half of them took part).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit, outbox
from governance.coop import settings_in
from governance.decision_types import DecisionKind, get_type
from governance.decisions import CLOSED_KIND, close_decision, rules_of
from governance.errors import DomainError, InvalidInput, NotFound
from governance.i18n import N_, Joined, Text, Translated, _, _n, recorded
from governance.networks._common import (
    ADMISSION_LINK,
    PAGE_SIZE,
    POST_KIND,
    PROPOSAL_LINK,
    REFRESH_KIND,
    REQUEST_LINK,
    log,
    member_coops,
    network_for,
)
from governance.networks.membership import coop_names, on_network_admission_closed
from governance.permissions import Actor, require_member
from governance.proposing import ProposalDraft, build_decision
from governance.tally import TallyResult, tally
from storage.database import Database, is_postgresql
from storage.models import (
    Decision,
    DecisionStatus,
    Network,
    NetworkCopy,
    NetworkCounting,
    NetworkProposal,
    Vote,
)
from storage.types import as_utc

# How a network proposal counted by cooperative passes, said within a sentence ("It passes across the
# network when …"): marked, and said in each reader's language.
RULES = {
    "consent": N_("no cooperative objects, and at least one agrees"),
    "majority": N_("more cooperatives agree than object"),
    "consensus": N_("every cooperative that takes part agrees, and at least half of them take part"),
}
AGREE, OBJECT, ASIDE = "agrees", "objects", "stands aside"


@dataclass(frozen=True)
class NetworkDraft:
    title: str
    details: str = ""
    kind: str | None = None
    counting: str = NetworkCounting.PERSON.value
    rule: str = "consent"
    options: tuple[str, ...] = ()
    closes: str | None = None
    anonymous: bool = False


@dataclass(frozen=True)
class NetworkOpened:
    proposal: NetworkProposal
    network: Network
    copies: list[Decision]
    skipped: list[str]  # cooperatives that could not hold a copy, and why


@dataclass(frozen=True)
class CopyNote:
    """What a copy's message says of the network it belongs to."""

    network: str
    proposal_id: int
    counting: str
    rule: str
    cooperatives: int
    local_voters: int | None  # by person: how many of this cooperative voted (None: not counted here)
    local_eligible: int


def label(proposal: NetworkProposal) -> str:
    """How people refer to a network proposal: N3 (its cooperatives' copies have their own #numbers)."""
    return f"N{proposal.id}"


def _checked(draft: NetworkDraft) -> NetworkDraft:
    if draft.counting not in {counting.value for counting in NetworkCounting}:
        raise InvalidInput(_("Count by person or by cooperative."))
    if draft.counting == NetworkCounting.COOPERATIVE.value:
        if draft.rule not in RULES:
            raise InvalidInput(_("The network rule is one of: {rules}.", rules=", ".join(RULES)))
        if not get_type(draft.kind or DecisionKind.CONSENT.value).has_pass_fail:
            raise InvalidInput(
                _(
                    "Counted by cooperative, each cooperative's outcome is its one vote, so the type must "
                    "pass "
                    "or fail (consent, consensus…): count a poll or a ranked vote by person."
                )
            )
    return draft


async def open_network_proposal_in(
    session: AsyncSession,
    network: Network,
    *,
    guild_id: int,
    author_id: int,
    draft: NetworkDraft,
    now: datetime,
    link: tuple[str, int] | None = None,
) -> NetworkOpened:
    """Store a network proposal and a copy in every member cooperative that can hold one, each owed to its
    governance channel, in the caller's transaction. The closing time is read in the proposing
    cooperative's timezone (or its default for the type) and is the same everywhere."""
    assert network.id is not None
    draft = _checked(draft)
    kind = draft.kind or DecisionKind.CONSENT.value
    local = ProposalDraft(
        title=draft.title,
        details=draft.details,
        kind=kind,
        options=draft.options,
        closes=draft.closes,
        anonymous=draft.anonymous,
    )
    home = build_decision(
        await settings_in(session, guild_id, now), author_id=author_id, draft=local, now=now
    )
    proposal = NetworkProposal(
        network_id=network.id,
        guild_id=guild_id,
        author_id=author_id,
        title=home.title,
        details=home.details,
        kind=home.kind,
        counting=draft.counting,
        network_rule=draft.rule,
        options=list(home.options),
        anonymous=draft.anonymous,
        status=DecisionStatus.OPEN.value,
        closes_at=home.closes_at,
        link_kind=link[0] if link else None,
        link_id=link[1] if link else None,
        created_at=now,
    )
    session.add(proposal)
    await session.flush()
    assert proposal.id is not None
    copies: list[Decision] = []
    skipped: list[str] = []
    # Every copy has the network's rules and closing time; only who votes is each cooperative's own.
    as_copy = dataclasses.replace(local, closes=None)
    for coop in await member_coops(session, network.id):
        settings = await settings_in(session, coop.guild_id, now)
        try:
            copy = build_decision(
                settings, author_id=author_id, draft=as_copy, now=now, link=(PROPOSAL_LINK, proposal.id)
            )
        except DomainError:
            skipped.append(f"{coop.coop_name} (no member role is set there)")
            continue
        copy.closes_at = proposal.closes_at
        session.add(copy)
        await session.flush()
        assert copy.id is not None
        session.add(NetworkCopy(proposal_id=proposal.id, guild_id=coop.guild_id, decision_id=copy.id))
        audit.record(
            session,
            guild_id=coop.guild_id,
            actor_id=author_id,
            action="decision.open",
            subject=f"decision:{copy.id}",
            details={"kind": copy.kind, "title": copy.title, "network_proposal_id": proposal.id},
            at=now,
        )
        await outbox.owe(
            session,
            guild_id=coop.guild_id,
            kind=POST_KIND,
            key=f"{POST_KIND}:{copy.id}",
            payload={"decision_id": copy.id},
            now=now,
        )
        copies.append(copy)
    if not copies:
        raise InvalidInput(_("No member cooperative can hold this proposal: none has a member role set."))
    log(
        session,
        network_id=network.id,
        guild_id=guild_id,
        actor_id=author_id,
        action="network.propose",
        subject=f"network_proposal:{proposal.id}",
        details={
            "title": proposal.title,
            "counting": proposal.counting,
            "kind": proposal.kind,
            "closes_at": proposal.closes_at.isoformat(),
            "cooperatives": len(copies),
        },
        at=now,
    )
    return NetworkOpened(proposal, network, copies, skipped)


async def propose(
    db: Database, *, guild_id: int, actor: Actor, network_name: str | None, draft: NetworkDraft, now: datetime
) -> NetworkOpened:
    """A member of a member cooperative puts a question to the whole network."""
    async with db.write() as session:
        require_member(await settings_in(session, guild_id, now), actor)
        network, _membership = await network_for(session, guild_id, network_name)
        return await open_network_proposal_in(
            session, network, guild_id=guild_id, author_id=actor.user_id, draft=draft, now=now
        )


async def check_proposal(
    db: Database, *, guild_id: int, actor: Actor, network_name: str | None, draft: NetworkDraft, now: datetime
) -> Network:
    """Refuse a network proposal before its author writes it (the form comes next)."""
    async with db.read() as session:
        settings = await settings_in(session, guild_id, now)
        require_member(settings, actor)
        network, _membership = await network_for(session, guild_id, network_name)
    _checked(draft)
    kind = get_type(draft.kind or DecisionKind.CONSENT.value)
    options = draft.options or (("A", "B") if kind.uses_options else ())
    build_decision(
        settings,
        author_id=actor.user_id,
        draft=ProposalDraft(title="-", kind=kind.kind.value, options=options, closes=draft.closes),
        now=now,
    )
    return network


# --- the tally while open -------------------------------------------------------------------------


async def _copies(session: AsyncSession, proposal_id: int) -> list[tuple[NetworkCopy, Decision]]:
    rows = await session.exec(
        select(NetworkCopy, Decision)
        .join(Decision, col(Decision.id) == col(NetworkCopy.decision_id))
        .where(NetworkCopy.proposal_id == proposal_id)
        .order_by(col(NetworkCopy.id))
    )
    return [(copy, decision) for copy, decision in rows.all()]


async def _copy_of(session: AsyncSession, decision: Decision) -> NetworkCopy | None:
    return (
        await session.exec(
            select(NetworkCopy).where(
                NetworkCopy.decision_id == decision.id, NetworkCopy.guild_id == decision.guild_id
            )
        )
    ).first()


async def live_tally(db: Database, decision: Decision, local_eligible: int) -> TallyResult:
    """A copy's tally while it is open: counted by person, the whole network's (every copy's current
    ballots over every cooperative's electorate); by cooperative, this cooperative's own. This
    cooperative's eligible count is kept for the other cooperatives' tallies."""
    async with db.read() as session:
        copy = await _copy_of(session, decision)
        if copy is None:
            raise NotFound(_("#{number} is not a network proposal.", number=decision.id))
        proposal = await session.get(NetworkProposal, copy.proposal_id)
        assert proposal is not None
        if proposal.counting == NetworkCounting.COOPERATIVE.value:
            ids = [decision.id]
            eligible = local_eligible
        else:
            siblings = await _copies(session, copy.proposal_id)
            ids = [sibling.id for _, sibling in siblings if sibling.status != DecisionStatus.CANCELLED.value]
            eligible = local_eligible + sum(
                other.eligible for other, sibling in siblings if sibling.id != decision.id
            )
        counts = dict(
            (
                await session.exec(
                    select(Vote.ballot, func.count())
                    .where(col(Vote.decision_id).in_(ids))
                    .group_by(Vote.ballot)
                )
            ).all()
        )
    if copy.eligible != local_eligible:  # written only when it changed: a tally is read far more often
        async with db.write() as session:
            await session.exec(
                update(NetworkCopy).where(col(NetworkCopy.id) == copy.id).values(eligible=local_eligible)
            )
    return tally(rules_of(decision), counts, eligible)


async def copy_note(db: Database, decision: Decision) -> CopyNote | None:
    """What a copy's message says of its network proposal; None for a decision that is not a copy."""
    if decision.link_kind != PROPOSAL_LINK or decision.link_id is None:
        return None
    async with db.read() as session:
        proposal = await session.get(NetworkProposal, decision.link_id)
        if proposal is None:
            return None
        network = await session.get(Network, proposal.network_id)
        assert network is not None and proposal.id is not None
        siblings = await _copies(session, proposal.id)
        local_voters: int | None = None
        local_eligible = next((copy.eligible for copy, d in siblings if d.id == decision.id), 0)
        if proposal.counting == NetworkCounting.PERSON.value:
            if decision.result is not None and "local_counts" in decision.result:
                local_voters = sum(decision.result["local_counts"].values())
                local_eligible = int(decision.result.get("local_eligible", local_eligible))
            else:
                local_voters = (
                    await session.exec(
                        select(func.count()).select_from(Vote).where(Vote.decision_id == decision.id)
                    )
                ).one()
    return CopyNote(
        network=network.name,
        proposal_id=proposal.id,
        counting=proposal.counting,
        rule=proposal.network_rule,
        cooperatives=sum(1 for _, d in siblings if d.status != DecisionStatus.CANCELLED.value),
        local_voters=local_voters,
        local_eligible=local_eligible,
    )


async def owe_sibling_refresh(db: Database, decision: Decision, now: datetime) -> bool:
    """After a copy's tally changed, owe the other open copies (counted by person, they show the same
    network tally) a refresh, each to the process serving its cooperative. A copy that already has one
    waiting gets no second: the one waiting reads the tally as it is when it goes out. Each voting server
    asks at most once per tally interval, so the edits stay few; the last vote is always shown."""
    if decision.link_kind != PROPOSAL_LINK or decision.link_id is None:
        return False
    async with db.write() as session:
        proposal = await session.get(NetworkProposal, decision.link_id)
        if proposal is None or proposal.counting != NetworkCounting.PERSON.value:
            return False
        siblings = [
            sibling
            for _, sibling in await _copies(session, decision.link_id)
            if sibling.id != decision.id and sibling.status == DecisionStatus.OPEN.value
        ]
        owed_to = {
            sibling.guild_id: (f"{REFRESH_KIND}:{sibling.id}:", {"decision_id": sibling.id})
            for sibling in siblings
        }
        return bool(await outbox.owe_refresh(session, owed_to=owed_to, kind=REFRESH_KIND, now=now))


# --- the close --------------------------------------------------------------------------------------


async def on_copy_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    """A cooperative's copy closed (in its closing transaction): keep its electorate, and close the network
    proposal if this was the last copy open."""
    copy = await _copy_of(session, decision)
    if copy is None:
        return
    await session.exec(
        update(NetworkCopy).where(col(NetworkCopy.id) == copy.id).values(eligible=result.eligible)
    )
    await close_if_complete(session, copy.proposal_id, now)


async def close_if_complete(session: AsyncSession, proposal_id: int, now: datetime) -> NetworkProposal | None:
    """Close the network proposal when none of its copies is open any more; claimed once (a conditional
    UPDATE, the row locked on PostgreSQL), so two processes closing their last copies close it once.
    Returns it when this call closed it."""
    await session.flush()
    query = select(NetworkProposal).where(NetworkProposal.id == proposal_id)
    if is_postgresql(session):
        query = query.with_for_update()
    proposal = (await session.exec(query)).first()
    if proposal is None or proposal.status != DecisionStatus.OPEN.value:
        return None
    copies = await _copies(session, proposal_id)
    if any(decision.status == DecisionStatus.OPEN.value for _, decision in copies):
        return None
    closed = [decision for _, decision in copies if decision.status == DecisionStatus.CLOSED.value]
    claimed = await session.exec(
        update(NetworkProposal)
        .where(
            col(NetworkProposal.id) == proposal_id, col(NetworkProposal.status) == DecisionStatus.OPEN.value
        )
        .values(status=DecisionStatus.CLOSED.value, closed_at=now)
    )
    if not claimed.rowcount:
        return None
    names = await coop_names(session, proposal.network_id)
    passed: bool | None
    if proposal.counting == NetworkCounting.COOPERATIVE.value:
        passed, said, stored = _count_cooperatives(proposal, closed, names)
    else:
        passed, said, stored = _count_people(closed)
    # The outcome in English (the records, search, webhooks) and as said, for each reader's language.
    outcome, outcome_said = str(said), said.to_json()
    await session.exec(
        update(NetworkProposal)
        .where(col(NetworkProposal.id) == proposal_id)
        .values(passed=passed, outcome=outcome, outcome_said=outcome_said, result=stored)
    )
    proposal.status, proposal.closed_at = DecisionStatus.CLOSED.value, now
    proposal.passed, proposal.outcome, proposal.result = passed, outcome, stored
    proposal.outcome_said = outcome_said
    for decision in closed:
        _record_network_result(decision, proposal, said, stored)
        session.add(decision)
        # Every member cooperative is owed the network's result, delivered by the process serving it.
        await outbox.owe(
            session,
            guild_id=decision.guild_id,
            kind=CLOSED_KIND,
            key=f"{CLOSED_KIND}:{decision.id}:{now.isoformat()}",
            payload={"decision_id": decision.id},
            now=now,
        )
    if proposal.link_kind is not None:
        await _network_links()[proposal.link_kind](session, proposal, bool(passed), now)
    log(
        session,
        network_id=proposal.network_id,
        guild_id=proposal.guild_id,
        actor_id=None,
        action="network.proposal.close",
        subject=f"network_proposal:{proposal_id}",
        details={"passed": passed, "outcome": outcome},
        at=now,
    )
    return proposal


def _network_links() -> dict[str, Callable[[AsyncSession, NetworkProposal, bool, datetime], Awaitable[None]]]:
    """What a network proposal acts on when it closes, by its link kind (a kind missing here is a bug, and
    fails the close rather than being skipped)."""
    from governance.networks.requests import on_request_proposal_closed
    from governance.rounds import NETWORK_ROUND_LINK, on_network_round_decided

    return {
        ADMISSION_LINK: on_network_admission_closed,
        REQUEST_LINK: on_request_proposal_closed,
        NETWORK_ROUND_LINK: on_network_round_decided,
    }


def _count_people(closed: list[Decision]) -> tuple[bool | None, Text, dict[str, Any]]:
    counts: Counter[str] = Counter()
    eligible = 0
    for decision in closed:
        assert decision.result is not None
        counts.update(decision.result["ballot_counts"])
        eligible += int(decision.result["eligible"])
    if not closed:
        return None, _("No cooperative held the proposal."), {"ballot_counts": {}, "eligible": 0}
    result = tally(rules_of(closed[0]), dict(counts), eligible)
    return result.passed, result.said, {"ballot_counts": dict(counts), "eligible": result.eligible}


# How the cooperatives' outcomes decide, in a word, as a proposal counted by cooperative says it.
_RULE_WORDS = {"consent": N_("consent"), "majority": N_("majority"), "consensus": N_("consensus")}


def _count_cooperatives(
    proposal: NetworkProposal, closed: list[Decision], names: dict[int, str]
) -> tuple[bool, Text, dict[str, Any]]:
    votes: list[dict[str, Any]] = []
    for decision in closed:
        assert decision.result is not None
        voters = sum(decision.result["ballot_counts"].values())
        vote = ASIDE if voters == 0 else (AGREE if decision.passed else OBJECT)
        votes.append(
            {
                "guild_id": decision.guild_id,
                "coop": names.get(decision.guild_id, "?"),
                "vote": vote,
                "outcome": decision.outcome or "",
            }
        )
    tally_of = Counter(vote["vote"] for vote in votes)
    agree, objects, aside = tally_of[AGREE], tally_of[OBJECT], tally_of[ASIDE]
    took_part = agree + objects
    if proposal.network_rule == "majority":
        passed = agree > objects
    elif proposal.network_rule == "consensus":
        passed = objects == 0 and agree > 0 and took_part * 2 >= len(votes)
    else:
        passed = objects == 0 and agree > 0
    counted = {
        "rule": Translated(_RULE_WORDS.get(proposal.network_rule, proposal.network_rule)),
        "agree": _n("{count} cooperative agrees", "{count} cooperatives agree", agree),
        "objects": _n("{count} objects", "{count} object", objects),
        "aside": _n("{count} stands aside", "{count} stand aside", aside),
    }
    if passed:
        outcome = _("Passed ({rule}): {agree}, {objects}, {aside}.", **counted)
    else:
        outcome = _("Did not pass ({rule}): {agree}, {objects}, {aside}.", **counted)
    return passed, outcome, {"cooperatives": votes, "rule": proposal.network_rule}


def _record_network_result(
    decision: Decision, proposal: NetworkProposal, said: Text, stored: dict[str, Any]
) -> None:
    """A copy records the network's result (``said``) as its own (what its message and its register show),
    keeping what this cooperative alone said."""
    assert decision.result is not None
    local = decision.result
    if proposal.counting == NetworkCounting.PERSON.value:
        decision.result = {
            **local,
            "ballot_counts": stored["ballot_counts"],
            "eligible": stored["eligible"],
            "local_counts": local["ballot_counts"],
            "local_eligible": local["eligible"],
        }
        across = _("Across the network: {outcome}", outcome=said)
    else:
        across = _(
            "Across the network: {outcome} This cooperative: {local}",
            outcome=said,
            local=recorded(decision.outcome_said, decision.outcome) or "",
        )
    decision.outcome, decision.outcome_said = str(across), across.to_json()
    decision.passed = proposal.passed


async def settle_unposted(db: Database, decision: Decision, now: datetime) -> None:
    """A copy that could not be posted was cancelled: the network proposal closes without it when it was
    the last one open."""
    if decision.link_kind != PROPOSAL_LINK or decision.link_id is None:
        return
    async with db.write() as session:
        await close_if_complete(session, decision.link_id, now)


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalPage:
    network: Network
    proposals: list[NetworkProposal]
    names: dict[int, str]
    page: int
    pages: int


async def proposals_page(db: Database, *, guild_id: int, network_name: str | None, page: int) -> ProposalPage:
    """The network's proposals, open ones first (soonest to close), then the decided ones, newest first."""
    async with db.read() as session:
        network, _membership = await network_for(session, guild_id, network_name)
        assert network.id is not None
        where = (NetworkProposal.network_id == network.id,)
        total = int(
            (await session.exec(select(func.count()).select_from(NetworkProposal).where(*where))).one()
        )
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        is_open = col(NetworkProposal.status) == DecisionStatus.OPEN.value
        rows = await session.exec(
            select(NetworkProposal)
            .where(*where)
            .order_by(is_open.desc(), col(NetworkProposal.closed_at).desc(), col(NetworkProposal.id).desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
        proposals = list(rows.all())
        names = await coop_names(session, network.id)
    return ProposalPage(network, proposals, names, page, pages)


def _vote_line(coop: str, vote: str) -> Text | str:
    """How one cooperative decided, as a line of the list (its stored vote word said in the reader's
    language)."""
    if vote == AGREE:
        return _("- {coop} agrees", coop=coop)
    if vote == OBJECT:
        return _("- {coop} objects", coop=coop)
    if vote == ASIDE:
        return _("- {coop} stands aside", coop=coop)
    return f"- {coop} {vote}"


async def closing_words(db: Database, decision: Decision) -> Text | None:
    """What a copy's thread is told when the network decided: how each cooperative decided (by
    cooperative), or how many of this cooperative took part (by person)."""
    if decision.link_kind != PROPOSAL_LINK or decision.link_id is None:
        return None
    async with db.read() as session:
        proposal = await session.get(NetworkProposal, decision.link_id)
        network = await session.get(Network, proposal.network_id) if proposal else None
    if proposal is None or network is None or proposal.status != DecisionStatus.CLOSED.value:
        return None
    outcome = recorded(proposal.outcome_said, proposal.outcome) or ""
    head = _("Across the network {network}: {outcome}", network=network.name, outcome=outcome)
    if proposal.counting == NetworkCounting.COOPERATIVE.value and proposal.result:
        lines = [_vote_line(row["coop"], row["vote"]) for row in proposal.result.get("cooperatives", [])]
        return _("{head}\nHow each cooperative decided:\n{lines}", head=head, lines=Joined(tuple(lines)))
    if decision.result and "local_counts" in decision.result:
        voted = sum(decision.result["local_counts"].values())
        return _(
            "{head}\nThis cooperative: {voted} of {eligible} voted.",
            head=head,
            voted=voted,
            eligible=decision.result["local_eligible"],
        )
    return head


# --- a cooperative whose bot no longer serves it ----------------------------------------------------------

# How long after the network's closing time the other cooperatives wait for a copy its own bot process has
# not closed (the bot was removed from that server, or its process is down): then any process closes it,
# with the electorate that server last reported, and the network decides.
STALLED_AFTER = timedelta(hours=6)


async def next_stalled(db: Database) -> datetime | None:
    """When the earliest open copy would count as stalled."""
    async with db.read() as session:
        earliest = (
            await session.exec(
                select(func.min(Decision.closes_at)).where(
                    Decision.link_kind == PROPOSAL_LINK, Decision.status == DecisionStatus.OPEN.value
                )
            )
        ).one()
    moment = as_utc(earliest)
    return None if moment is None else moment + STALLED_AFTER


async def close_stalled(db: Database, now: datetime) -> list[int]:
    """Close the copies still open long after the network's closing time, whichever server they are in
    (each close is claimed once, so processes that both try close it once). Returns the decisions closed."""
    async with db.read() as session:
        rows = (
            await session.exec(
                select(Decision.guild_id, Decision.id, NetworkCopy.eligible)
                .join(NetworkCopy, col(NetworkCopy.decision_id) == col(Decision.id))
                .where(
                    Decision.link_kind == PROPOSAL_LINK,
                    Decision.status == DecisionStatus.OPEN.value,
                    col(Decision.closes_at) <= now - STALLED_AFTER,
                )
            )
        ).all()
    closed = []
    for guild_id, decision_id, eligible in rows:
        assert decision_id is not None
        if await close_decision(db, guild_id=guild_id, decision_id=decision_id, eligible=eligible, now=now):
            closed.append(decision_id)
    return closed
