"""The charter: written by moderators or proposed to the members, agreed to by each person (which makes
a visitor a contributor), and what a closed charter decision adopts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from governance.coop import locked_settings, record_settings_change, settings_in
from governance.decision_types import DecisionKind
from governance.errors import Conflict, InvalidInput
from governance.i18n import SOURCE, Text, _
from governance.membership._common import (
    CHARTER_LINK,
    MAX_CHARTER,
    CharterAcceptance,
    CharterChange,
    _record,
    _set_status,
    _settings_row,
    _settings_to_change,
    locked_member,
)
from governance.permissions import Actor
from governance.proposing import ProposalDraft, open_decision_in
from governance.tally import TallyResult
from governance.text import clean_text
from storage.database import Database
from storage.models import (
    CoopSettings,
    Decision,
    MemberStatus,
)


def _charter_problem(settings: CoopSettings, version: int) -> Text | None:
    if settings.charter_version < 1 or not settings.charter_text:
        return _("The cooperative has not written its charter yet, so there is nothing to agree to.")
    if version != settings.charter_version:
        return _(
            "The charter has changed since this message: it is now version {current}. "
            "Read the new one with /charter and agree there.",
            current=settings.charter_version,
        )
    return None


async def charter_to_accept(db: Database, *, guild_id: int, version: int, now: datetime) -> CoopSettings:
    """The settings, when `version` is the charter someone can agree to now (checked before any role is
    given); raises Conflict for a charter that does not exist or has changed."""
    async with db.read() as session:
        settings = await settings_in(session, guild_id, now)
    problem = _charter_problem(settings, version)
    if problem:
        raise Conflict(problem)
    return settings


async def accept_charter(
    db: Database, *, guild_id: int, user_id: int, version: int, standing: MemberStatus, now: datetime
) -> CharterAcceptance:
    """Record that the person agreed to charter `version` (once: a double click records nothing more).

    `standing` is where they stand by their roles after the bot's Discord side (with the contributor role,
    a contributor); the status follows it, so a role the bot could not give is not recorded as given."""
    async with db.write() as session:
        settings = await _settings_row(session, guild_id)
        problem = _charter_problem(settings, version)
        if problem:
            raise Conflict(problem)
        member = await locked_member(session, guild_id, user_id, now)
        new_acceptance = member.charter_version != version or member.charter_accepted_at is None
        previous_status = member.status
        if standing != MemberStatus.VISITOR and member.status != standing:
            _set_status(member, standing, now)
        if not new_acceptance and member.status == previous_status:
            assert member.charter_accepted_at is not None
            return CharterAcceptance(member, version, recorded=False, accepted_at=member.charter_accepted_at)
        details: dict[str, Any] = {"version": version}
        if member.status != previous_status:
            details["status"] = {"from": previous_status, "to": member.status}
        if new_acceptance:
            member.charter_version = version
            member.charter_accepted_at = now
        session.add(member)
        _record(session, member, "member.charter", actor_id=user_id, now=now, details=details)
    assert member.charter_accepted_at is not None
    return CharterAcceptance(member, version, recorded=new_acceptance, accepted_at=member.charter_accepted_at)


def check_charter_version(settings: CoopSettings, version: int, *, decide: bool) -> None:
    """Refuse a version the charter can't take: a moderator may keep the current one (a wording fix) or go
    higher; the members only ever decide a new, higher one."""
    current = settings.charter_version
    if decide and version <= current:
        raise InvalidInput(
            _(
                "The charter is at version {current}: the members decide a new version, {next} or higher.",
                current=current,
                next=current + 1,
            )
        )
    if version < max(current, 1):
        raise InvalidInput(
            _(
                "The charter is at version {current}: give {next} or higher for a new version, "
                "or {same} to fix its wording without asking everyone to agree again.",
                current=current,
                next=current + 1,
                same=max(current, 1),
            )
        )


async def set_charter(
    db: Database, *, guild_id: int, actor: Actor, text: str, version: int | None, now: datetime
) -> CharterChange:
    """A moderator sets the charter. A higher version asks everyone to agree again; keeping the version
    (a wording fix) keeps everyone's agreement. Without a version, changed text gets the next one."""
    cleaned = clean_text(text, field=_("The charter"), limit=MAX_CHARTER, required=True)
    assert cleaned is not None
    async with db.write() as session:
        settings = await _settings_to_change(session, guild_id, actor, now)
        current = settings.charter_version
        if version is None:
            if cleaned == settings.charter_text:
                raise Conflict(
                    _("That is already the charter (version {current}): nothing changed.", current=current)
                )
            version = current + 1
        check_charter_version(settings, version, decide=False)
        if version == current and cleaned == settings.charter_text:
            raise Conflict(
                _("That is already the charter (version {current}): nothing changed.", current=current)
            )
        settings.charter_text = cleaned
        settings.charter_version = version
        session.add(settings)
        record_settings_change(
            session,
            settings,
            actor=actor,
            action="coop.charter",
            details={"from_version": current, "to_version": version, "characters": len(cleaned)},
            now=now,
        )
    return CharterChange(settings, previous_version=current, reaccept=version > current)


async def propose_charter(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    text: str,
    version: int | None,
    now: datetime,
    language: str = SOURCE,
) -> Decision:
    """A moderator puts a new version of the charter to the members: a consent decision whose details are
    the text, adopted if it passes (`on_charter_decision_closed`); its title in ``language`` (the
    cooperative's). Posting it is the caller's job."""
    cleaned = clean_text(text, field=_("The charter"), limit=MAX_CHARTER, required=True)
    assert cleaned is not None
    async with db.write() as session:
        settings = await _settings_to_change(session, guild_id, actor, now)
        current = settings.charter_version
        if version is None:
            version = current + 1
        check_charter_version(settings, version, decide=True)
        if cleaned == settings.charter_text:
            raise Conflict(
                _("That is already the charter (version {current}): nothing to decide.", current=current)
            )
        return await open_decision_in(
            session,
            guild_id=guild_id,
            author_id=actor.user_id,
            draft=ProposalDraft(
                title=_("Adopt version {version} of the charter", version=version).render(language),
                details=cleaned,
                kind=DecisionKind.CONSENT,
            ),
            now=now,
            link=(CHARTER_LINK, version),
        )


async def adopted_charter(db: Database, decision: Decision) -> CoopSettings | None:
    """The cooperative's settings when the charter is now the version this decision adopted (not a later
    one set meanwhile); None otherwise."""
    if not decision.passed:
        return None
    async with db.read() as session:
        settings = await session.get(CoopSettings, decision.guild_id)
    return settings if settings is not None and settings.charter_version == decision.link_id else None


async def on_charter_decision_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    """The close hook: inside the closing transaction, a passed charter decision becomes the charter,
    unless a moderator has set this version or a later one meanwhile."""
    if not result.passed or decision.link_id is None:
        return
    settings = await locked_settings(session, decision.guild_id, now)
    current = settings.charter_version
    if current >= decision.link_id:
        return
    settings.charter_text = decision.details
    settings.charter_version = decision.link_id
    session.add(settings)
    record_settings_change(
        session,
        settings,
        actor=None,
        action="coop.charter",
        details={
            "from_version": current,
            "to_version": decision.link_id,
            "characters": len(decision.details),
            "decision_id": decision.id,
        },
        now=now,
    )
