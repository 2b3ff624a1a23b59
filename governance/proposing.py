"""Opening a proposal: a member's draft checked against the cooperative's rules, stored as an open decision.

What is checked here (title, details, type, options, closing time, quorum, who may propose) is checked before
anything is posted; the caller posts the decision and attaches its message, or discards a decision that
could not be posted. Decisions that other records open (a funding request, an admission) come in through
:func:`open_decision_in`, inside the caller's own transaction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import default_open_time, settings_in
from governance.decision_types import DecisionType, get_type
from governance.errors import InvalidInput
from governance.i18n import Lowered, _, _n
from governance.limits import HOUR, UNLIMITED, Limits, enforce
from governance.permissions import Actor, is_moderator, require_member
from governance.tally import (
    MAX_OPTIONS,
    DecisionRules,
    validate_rules,
)
from governance.text import clean_text
from governance.timeparse import (
    check_minimum,
    earliest_close,
    parse_timezone,
    parse_when,
)
from storage.database import Database
from storage.models import CoopSettings, Decision, DecisionStatus

MAX_TITLE = 200
MAX_DETAILS = 4000


@dataclass(frozen=True)
class ProposalDraft:
    """What a member asked for; None means "the cooperative's default"."""

    title: str
    details: str = ""
    kind: str | None = None
    options: tuple[str, ...] = ()
    closes: str | None = None
    max_choices: int = 1
    score_min: int = 0
    score_max: int = 5
    dots: int = 8
    target: int | None = None
    quorum_percent: int | None = None
    eligible_role_id: int | None = None
    anonymous: bool = False
    hide_results: bool = False
    reasons_required: bool = False


def _closing_time(
    settings: CoopSettings, decision_type: DecisionType, closes: str | None, now: datetime
) -> datetime:
    """When a new decision closes: what the member typed, or the default, never sooner than the type's
    minimum (Enspiral's minimums count working days in the cooperative's timezone)."""
    tz = parse_timezone(settings.timezone)
    min_duration, min_working_days = decision_type.min_duration, decision_type.min_working_days
    if closes is None or not closes.strip():
        default = default_open_time(settings, decision_type.kind.value)
        earliest = earliest_close(now, min_duration=min_duration, min_working_days=min_working_days, tz=tz)
        return max(now + default, earliest)
    moment = parse_when(closes, now=now, tz=tz)
    check_minimum(
        now,
        moment,
        min_duration=min_duration,
        min_working_days=min_working_days,
        tz=tz,
        subject=_("A {type} decision", type=Lowered(decision_type.label)),
    )
    return moment


def build_decision(
    settings: CoopSettings,
    *,
    author_id: int,
    draft: ProposalDraft,
    now: datetime,
    link: tuple[str, int] | None = None,
) -> Decision:
    """A new, validated, not yet stored decision; raises InvalidInput for anything unusable."""
    guild_id = settings.id
    decision_type = get_type(draft.kind or settings.default_decision_type)
    title = clean_text(draft.title, field=_("The title"), limit=MAX_TITLE, required=True)
    details = clean_text(draft.details, field=_("The details"), limit=MAX_DETAILS)
    options = tuple(option.strip() for option in draft.options if option.strip())
    if draft.quorum_percent is not None and not 1 <= draft.quorum_percent <= 100:
        raise InvalidInput(_("The quorum is a percentage of eligible voters, from 1 to 100."))
    rules = DecisionRules(
        kind=decision_type.kind,
        options=options if decision_type.uses_options else (),
        max_choices=draft.max_choices,
        score_min=draft.score_min,
        score_max=draft.score_max,
        dots=draft.dots,
        target=draft.target,
        quorum=Fraction(draft.quorum_percent, 100) if draft.quorum_percent else None,
    )
    if decision_type.uses_options and not options:
        raise InvalidInput(
            _("A {type} vote needs options: give at least two.", type=Lowered(decision_type.label))
        )
    if draft.reasons_required and not decision_type.positions:
        raise InvalidInput(
            _(
                "Reasons can be required where voters take a position, not in a {type} vote (anyone can add "
                "one with /proposal vote).",
                type=Lowered(decision_type.label),
            )
        )
    validate_rules(rules)
    eligible_role_id = draft.eligible_role_id or settings.member_role_id
    if eligible_role_id is None:
        raise InvalidInput(_("Choose who can vote (a role), or set a member role first with /coop setup."))
    closes_at = _closing_time(settings, decision_type, draft.closes, now)
    return Decision(
        guild_id=guild_id,
        kind=decision_type.kind.value,
        title=title,
        details=details,
        author_id=author_id,
        options=list(rules.options),
        max_choices=rules.max_choices,
        score_min=rules.score_min,
        score_max=rules.score_max,
        dots=rules.dots,
        target=rules.target,
        quorum_percent=draft.quorum_percent,
        eligible_role_id=eligible_role_id,
        anonymous=draft.anonymous,
        hide_results=draft.hide_results,
        reasons_required=draft.reasons_required,
        status=DecisionStatus.OPEN.value,
        opens_at=now,
        closes_at=closes_at,
        link_kind=link[0] if link else None,
        link_id=link[1] if link else None,
        created_at=now,
        updated_at=now,
    )


async def open_decision_in(
    session: AsyncSession,
    *,
    guild_id: int,
    author_id: int,
    draft: ProposalDraft,
    now: datetime,
    link: tuple[str, int] | None = None,
) -> Decision:
    """Insert a validated decision in `session`'s transaction (for other use-cases: admission, funds)."""
    settings = await settings_in(session, guild_id, now)
    decision = build_decision(settings, author_id=author_id, draft=draft, now=now, link=link)
    session.add(decision)
    await session.flush()
    audit.record(
        session,
        guild_id=guild_id,
        actor_id=author_id,
        action="decision.open",
        subject=f"decision:{decision.id}",
        details={"kind": decision.kind, "title": decision.title, "closes_at": decision.closes_at.isoformat()},
        at=now,
    )
    return decision


async def check_draft(
    db: Database, *, guild_id: int, actor: Actor, draft: ProposalDraft, now: datetime
) -> CoopSettings:
    """Refuse a draft before the member writes its text (the title is checked at the end, and so are the
    options when the form asks for them). Returns the cooperative's settings."""
    async with db.read() as session:
        settings = await settings_in(session, guild_id, now)
    require_member_or_moderator(settings, actor)
    options = draft.options
    if get_type(draft.kind or settings.default_decision_type).uses_options and not options:
        # The form asks for the options: check the rest as if every option allowed had been given.
        options = tuple(f"Option {number}" for number in range(1, MAX_OPTIONS + 1))
    complete = dataclasses.replace(draft, title="-", options=options)
    build_decision(settings, author_id=actor.user_id, draft=complete, now=now)
    return settings


async def open_decision(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    draft: ProposalDraft,
    now: datetime,
    limits: Limits = UNLIMITED,
) -> Decision:
    """A member opens a proposal. Posting it to Discord is the caller's job (then `attach_message`)."""
    async with db.write() as session:
        settings = await settings_in(session, guild_id, now)
        require_member_or_moderator(settings, actor)
        if not is_moderator(settings, actor):
            await enforce(
                session,
                guild_id=guild_id,
                action="decision.open",
                actor_id=actor.user_id,
                allowed=limits.proposals_per_hour,
                window=HOUR,
                now=now,
                refusal=_n(
                    "You have opened {count} proposal in the last hour.",
                    "You have opened {count} proposals in the last hour.",
                    limits.proposals_per_hour,
                ),
            )
        return await open_decision_in(
            session, guild_id=guild_id, author_id=actor.user_id, draft=draft, now=now
        )


def require_member_or_moderator(settings: CoopSettings, actor: Actor) -> None:
    if not is_moderator(settings, actor):
        require_member(settings, actor)


async def attach_message(
    db: Database, *, guild_id: int, decision_id: int, channel_id: int, message_id: int, thread_id: int | None
) -> None:
    async with db.write() as session:
        await session.exec(
            update(Decision)
            .where(col(Decision.id) == decision_id, col(Decision.guild_id) == guild_id)
            .values(channel_id=channel_id, message_id=message_id, thread_id=thread_id)
        )


async def discard_unposted(db: Database, *, guild_id: int, decision_id: int, now: datetime) -> None:
    """A proposal that could not be posted is cancelled, so that no invisible decision stays open."""
    async with db.write() as session:
        await session.exec(
            update(Decision)
            .where(
                col(Decision.id) == decision_id,
                col(Decision.guild_id) == guild_id,
                col(Decision.message_id).is_(None),
            )
            .values(status=DecisionStatus.CANCELLED.value, closed_at=now, updated_at=now)
        )
        audit.record(
            session,
            guild_id=guild_id,
            actor_id=None,
            action="decision.cancel",
            subject=f"decision:{decision_id}",
            details={"reason": "could not be posted"},
            at=now,
        )
