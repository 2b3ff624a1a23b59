"""Onboarding and membership: visitor → contributor → member, and out again.

A person's Discord roles are the live truth for what they may do; ``Member.status`` records what the bot did
(or saw): it changes only after the matching Discord change succeeded, so the database never says that
something happened that did not. The Discord side (roles, messages) belongs to the cog; every function here
takes plain values and writes one audit event in the same transaction as the change it records.

The path:

- joining the server (``record_join``) makes a visitor; agreeing to the charter (``accept_charter``) records
  the version and time, and with the contributor role the person becomes a contributor;
- the introduction (``save_profile``) is the profile;
- ``apply_for_membership`` opens an application and, when the cooperative decides admissions together, a
  linked decision; its close hook marks the application admitted or declined inside the closing
  transaction, and ``confirm_admission`` records the status once the member role was granted;
- moderators promote, demote and remove (``check_change`` before the Discord side, ``record_change`` after);
  a person steps down or leaves the cooperative themselves (``Change.LEAVE``) or leaves the server
  (``record_departure``). History stays: rows are never deleted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import default_settings, locked_settings, record_settings_change, settings_in
from governance.decision_types import DecisionKind, get_type
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.permissions import Actor, is_contributor, is_member, require_moderator
from governance.proposing import ProposalDraft, open_decision_in
from governance.tally import TallyResult
from governance.text import clean_text
from governance.timeparse import discord_timestamp, parse_timezone
from storage.database import Database, is_postgresql
from storage.models import (
    Application,
    ApplicationStatus,
    CoopSettings,
    Decision,
    DecisionStatus,
    Member,
    MemberStatus,
)

ADMISSION_LINK = "admission"
CHARTER_LINK = "charter"  # a decision to adopt a charter version (its link id is the version)
# The decision types that say yes or no to a person (a count needs a target; options are for choices).
ADMISSION_KINDS = (
    DecisionKind.CONSENT,
    DecisionKind.CONSENSUS,
    DecisionKind.SIGNIFICANT,
    DecisionKind.QUORUM,
    DecisionKind.EMERGENCY,
)

MAX_DISPLAY_NAME = 80
MAX_WHAT_THEY_DO = 1000
MAX_SKILLS = 500
MAX_WHY = 1000
MAX_TIMEZONE = 64
MAX_STATEMENT = 1000
MAX_REASON = 500
MAX_CHARTER = 4000
MAX_SKILL_SEARCH = 100
NO_MEMBER_ROLE = "The cooperative has no member role yet: a moderator can set one with /coop setup."
# Sent to the database in chunks: SQLite limits the number of bound parameters of one statement.
_ID_CHUNK = 500


# --- values -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileDraft:
    """What a person typed in the introduction form (empty strings for fields left blank)."""

    display_name: str
    what_they_do: str = ""
    skills: str = ""
    why: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class Profile:
    """A validated profile: trimmed text within the limits, the timezone as its canonical IANA name."""

    display_name: str
    what_they_do: str | None
    skills: str | None
    why: str | None
    timezone: str | None


@dataclass(frozen=True)
class ProfileSaved:
    member: Member
    first: bool  # the first introduction (to be posted), not an edit
    changed: bool


@dataclass(frozen=True)
class CharterAcceptance:
    member: Member
    version: int
    recorded: bool  # False when this version had already been accepted (a double click)
    accepted_at: datetime


@dataclass(frozen=True)
class ApplicationOpened:
    application: Application
    decision: Decision | None  # None when moderators decide admissions


@dataclass(frozen=True)
class CharterChange:
    settings: CoopSettings
    previous_version: int
    reaccept: bool  # the version went up: everyone is asked to agree again


class Change(StrEnum):
    """A change of someone's place in the cooperative; the audit action is ``member.<value>``."""

    PROMOTE = "promote"
    DEMOTE = "demote"
    REMOVE = "remove"
    LEAVE = "leave"


def standing_of(settings: CoopSettings, person: Actor) -> MemberStatus:
    """Where someone stands by their live Discord roles."""
    if is_member(settings, person):
        return MemberStatus.MEMBER
    if is_contributor(settings, person):
        return MemberStatus.CONTRIBUTOR
    return MemberStatus.VISITOR


def _optional(text: str, **check: Any) -> str | None:
    """A profile field checked by clean_text, None when left empty."""
    return clean_text(text, **check) or None


def clean_profile(draft: ProfileDraft) -> Profile:
    """Refuse anything over its limit or an unknown timezone, with a message that says what to fix."""
    display_name = clean_text(
        draft.display_name, field="Your name", limit=MAX_DISPLAY_NAME, required=True, one_line=True
    )
    timezone = clean_text(draft.timezone, field="The timezone", limit=MAX_TIMEZONE, one_line=True)
    return Profile(
        display_name=display_name,
        what_they_do=_optional(draft.what_they_do, field="“What you do”", limit=MAX_WHAT_THEY_DO),
        skills=_optional(draft.skills, field="Skills", limit=MAX_SKILLS),
        why=_optional(draft.why, field="“What brings you here”", limit=MAX_WHY),
        timezone=parse_timezone(timezone).key if timezone else None,
    )


def clean_reason(reason: str) -> str:
    return clean_text(reason, field="The reason", limit=MAX_REASON, required=True)


# --- rows ---------------------------------------------------------------------------------------------


async def _settings_row(session: AsyncSession, guild_id: int) -> CoopSettings:
    settings = await session.get(CoopSettings, guild_id)
    if settings is None:
        raise InvalidInput("coopbot isn't set up in this server yet: a moderator can start with /coop setup.")
    return settings


async def _settings_to_change(
    session: AsyncSession, guild_id: int, actor: Actor, now: datetime
) -> CoopSettings:
    """The guild's settings row for a moderator to change; one with the defaults is added when the guild was
    never set up (only once the moderator check passed)."""
    settings = await session.get(CoopSettings, guild_id)
    require_moderator(settings if settings is not None else default_settings(guild_id, now), actor)
    if settings is None:
        settings = default_settings(guild_id, now)
        session.add(settings)
    return settings


async def locked_member(
    session: AsyncSession,
    guild_id: int,
    user_id: int,
    now: datetime,
    *,
    status: MemberStatus = MemberStatus.VISITOR,
    joined_at: datetime | None = None,
) -> Member:
    """The person's row, created when missing (a double click or two processes race on the unique
    (guild, user) constraint, never on a duplicate), and locked on PostgreSQL."""
    insert = pg_insert if is_postgresql(session) else sqlite_insert
    await session.exec(
        insert(Member)
        .values(
            guild_id=guild_id,
            user_id=user_id,
            status=status.value,
            joined_at=joined_at or now,
            dm_reminders=False,
        )
        .on_conflict_do_nothing(index_elements=["guild_id", "user_id"])
    )
    query = (
        select(Member)
        .where(Member.guild_id == guild_id, Member.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    if is_postgresql(session):
        query = query.with_for_update()
    return (await session.exec(query)).one()


async def _open_application(session: AsyncSession, guild_id: int, user_id: int) -> Application | None:
    query = select(Application).where(
        Application.guild_id == guild_id,
        Application.user_id == user_id,
        Application.status == ApplicationStatus.OPEN.value,
    )
    if is_postgresql(session):
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def _admission_left_unfinished(session: AsyncSession, member: Member) -> Application | None:
    """The person's latest admitted application, when they have not become a member since it was decided
    (its member role could not be given)."""
    admitted = (
        await session.exec(
            select(Application)
            .where(
                Application.guild_id == member.guild_id,
                Application.user_id == member.user_id,
                Application.status == ApplicationStatus.ADMITTED.value,
            )
            .order_by(col(Application.decided_at).desc(), col(Application.id).desc())
        )
    ).first()
    if admitted is None or admitted.decided_at is None:
        return None
    if member.admitted_at is not None and member.admitted_at >= admitted.decided_at:
        return None
    return admitted


async def _withdraw_open_applications(
    session: AsyncSession, guild_id: int, user_id: int, now: datetime
) -> None:
    await session.exec(
        update(Application)
        .where(
            col(Application.guild_id) == guild_id,
            col(Application.user_id) == user_id,
            col(Application.status) == ApplicationStatus.OPEN.value,
        )
        .values(status=ApplicationStatus.WITHDRAWN.value, decided_at=now)
    )


def _record(
    session: AsyncSession,
    person: Member | Application,
    action: str,
    *,
    actor_id: int | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """The audit event of `action` about a person, named by their member row or their application."""
    audit.record(
        session,
        guild_id=person.guild_id,
        actor_id=actor_id,
        action=action,
        subject=f"member:{person.user_id}",
        details=details,
        at=now,
    )


def _set_status(member: Member, status: MemberStatus, now: datetime) -> None:
    if status == MemberStatus.MEMBER and member.status != MemberStatus.MEMBER:
        member.admitted_at = now
    if status == MemberStatus.DEPARTED and member.status != MemberStatus.DEPARTED:
        member.departed_at = now
    if status != MemberStatus.DEPARTED:
        member.departed_at = None
    member.status = status.value


# --- reading ------------------------------------------------------------------------------------------


async def get_member(db: Database, guild_id: int, user_id: int) -> Member | None:
    async with db.read() as session:
        query = select(Member).where(Member.guild_id == guild_id, Member.user_id == user_id)
        return (await session.exec(query)).first()


async def profiles(db: Database, guild_id: int, user_ids: Collection[int]) -> dict[int, Member]:
    """The rows of these people (those the cooperative knows), by user id."""
    ids = list(dict.fromkeys(user_ids))
    found: dict[int, Member] = {}
    async with db.read() as session:
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            rows = await session.exec(
                select(Member).where(Member.guild_id == guild_id, col(Member.user_id).in_(chunk))
            )
            found.update({row.user_id: row for row in rows.all()})
    return found


async def users_with_skill(db: Database, guild_id: int, skill: str) -> set[int]:
    """Who lists `skill` (a case-insensitive part of their skills)."""
    needle = " ".join(skill.split()).lower()[:MAX_SKILL_SEARCH]
    if not needle:
        return set()
    async with db.read() as session:
        rows = await session.exec(
            select(Member.user_id).where(
                Member.guild_id == guild_id,
                func.lower(func.coalesce(Member.skills, "")).contains(needle, autoescape=True),
            )
        )
        return set(rows.all())


async def admission_of(db: Database, decision: Decision) -> Application | None:
    """The application a closed admission decision was about, if it still concerns that decision."""
    if decision.link_kind != ADMISSION_LINK or decision.link_id is None:
        return None
    async with db.read() as session:
        query = select(Application).where(
            Application.id == decision.link_id,
            Application.guild_id == decision.guild_id,
            Application.decision_id == decision.id,
        )
        return (await session.exec(query)).first()


# --- joining, the charter, the profile ---------------------------------------------------------------


async def record_join(
    db: Database,
    *,
    guild_id: int,
    user_id: int,
    now: datetime,
    standing: MemberStatus = MemberStatus.VISITOR,
) -> CoopSettings | None:
    """Someone joined the server: a visitor (again), unless they came with roles (`standing`). Returns the
    cooperative's settings, or None when coopbot is not set up in that server (nothing is recorded then)."""
    async with db.write() as session:
        settings = await session.get(CoopSettings, guild_id)
        if settings is None:
            return None
        member = await locked_member(session, guild_id, user_id, now)
        returning = member.joined_at < now
        member.joined_at = now
        _set_status(member, standing, now)
        session.add(member)
        _record(session, member, "member.join", actor_id=user_id, now=now, details={"returning": returning})
    return settings


async def record_departure(
    db: Database, *, guild_id: int, user_id: int, now: datetime, joined_at: datetime | None = None
) -> Member | None:
    """Someone left the server: they are departed; an open application is withdrawn; history stays."""
    async with db.write() as session:
        if await session.get(CoopSettings, guild_id) is None:
            return None
        member = await locked_member(session, guild_id, user_id, now, joined_at=joined_at)
        previous = member.status
        _set_status(member, MemberStatus.DEPARTED, now)
        member.departed_at = now
        session.add(member)
        await _withdraw_open_applications(session, guild_id, user_id, now)
        _record(session, member, "member.depart", actor_id=user_id, now=now, details={"from": previous})
    return member


def _charter_problem(settings: CoopSettings, version: int) -> str | None:
    if settings.charter_version < 1 or not settings.charter_text:
        return "The cooperative has not written its charter yet, so there is nothing to agree to."
    if version != settings.charter_version:
        return (
            f"The charter has changed since this message: it is now version {settings.charter_version}. "
            "Read the new one with /charter and agree there."
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


async def save_profile(
    db: Database,
    *,
    guild_id: int,
    user_id: int,
    draft: ProfileDraft,
    standing: MemberStatus,
    now: datetime,
) -> ProfileSaved:
    """The introduction (the first time) or an edit of the profile."""
    profile = clean_profile(draft)
    values = {
        "display_name": profile.display_name,
        "what_they_do": profile.what_they_do,
        "skills": profile.skills,
        "why": profile.why,
        "member_timezone": profile.timezone,
    }
    async with db.write() as session:
        await _settings_row(session, guild_id)
        member = await locked_member(session, guild_id, user_id, now, status=standing)
        first = member.introduced_at is None
        changed = [name for name, value in values.items() if getattr(member, name) != value]
        if not first and not changed:
            return ProfileSaved(member, first=False, changed=False)
        for name, value in values.items():
            setattr(member, name, value)
        if first:
            member.introduced_at = now
        session.add(member)
        _record(
            session,
            member,
            "member.introduce" if first else "member.profile",
            actor_id=user_id,
            now=now,
            details={"fields": changed},
        )
    return ProfileSaved(member, first=first, changed=True)


def check_charter_version(settings: CoopSettings, version: int, *, decide: bool) -> None:
    """Refuse a version the charter can't take: a moderator may keep the current one (a wording fix) or go
    higher; the members only ever decide a new, higher one."""
    current = settings.charter_version
    if decide and version <= current:
        raise InvalidInput(
            f"The charter is at version {current}: the members decide a new version, {current + 1} or higher."
        )
    if version < max(current, 1):
        raise InvalidInput(
            f"The charter is at version {current}: give {current + 1} or higher for a new version, "
            f"or {max(current, 1)} to fix its wording without asking everyone to agree again."
        )


async def set_charter(
    db: Database, *, guild_id: int, actor: Actor, text: str, version: int | None, now: datetime
) -> CharterChange:
    """A moderator sets the charter. A higher version asks everyone to agree again; keeping the version
    (a wording fix) keeps everyone's agreement. Without a version, changed text gets the next one."""
    cleaned = clean_text(text, field="The charter", limit=MAX_CHARTER, required=True)
    assert cleaned is not None
    async with db.write() as session:
        settings = await _settings_to_change(session, guild_id, actor, now)
        current = settings.charter_version
        if version is None:
            if cleaned == settings.charter_text:
                raise Conflict(f"That is already the charter (version {current}): nothing changed.")
            version = current + 1
        check_charter_version(settings, version, decide=False)
        if version == current and cleaned == settings.charter_text:
            raise Conflict(f"That is already the charter (version {current}): nothing changed.")
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
    db: Database, *, guild_id: int, actor: Actor, text: str, version: int | None, now: datetime
) -> Decision:
    """A moderator puts a new version of the charter to the members: a consent decision whose details are
    the text, adopted if it passes (`on_charter_decision_closed`). Posting it is the caller's job."""
    cleaned = clean_text(text, field="The charter", limit=MAX_CHARTER, required=True)
    assert cleaned is not None
    async with db.write() as session:
        settings = await _settings_to_change(session, guild_id, actor, now)
        current = settings.charter_version
        if version is None:
            version = current + 1
        check_charter_version(settings, version, decide=True)
        if cleaned == settings.charter_text:
            raise Conflict(f"That is already the charter (version {current}): nothing to decide.")
        return await open_decision_in(
            session,
            guild_id=guild_id,
            author_id=actor.user_id,
            draft=ProposalDraft(
                title=f"Adopt version {version} of the charter", details=cleaned, kind=DecisionKind.CONSENT
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


async def configure_admission(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    by_decision: bool | None,
    decision_type: str | None,
    now: datetime,
) -> CoopSettings:
    """How contributors become members: by a decision of the members (of a yes/no type), or by a moderator."""
    if by_decision is None and decision_type is None:
        raise InvalidInput("Nothing to change: say whether admission needs a decision, or its type.")
    kind: str | None = None
    if decision_type is not None:
        chosen = get_type(decision_type)
        if chosen.kind not in ADMISSION_KINDS:
            raise InvalidInput(
                f"An admission needs a yes or no, which {chosen.label.lower()} decisions don't give: "
                "choose consent, consensus, significant, quorum or emergency."
            )
        kind = chosen.kind.value
    async with db.write() as session:
        settings = await _settings_to_change(session, guild_id, actor, now)
        changed: dict[str, Any] = {}
        if by_decision is not None and by_decision != settings.admission_by_decision:
            changed["admission_by_decision"] = {"from": settings.admission_by_decision, "to": by_decision}
            settings.admission_by_decision = by_decision
        if kind is not None and kind != settings.admission_decision_type:
            changed["admission_decision_type"] = {"from": settings.admission_decision_type, "to": kind}
            settings.admission_decision_type = kind
        record_settings_change(
            session, settings, actor=actor, action="coop.admission", details={"changed": changed}, now=now
        )
    return settings


# --- applying ------------------------------------------------------------------------------------------


def _require_charter(settings: CoopSettings, member: Member, *, you: bool, who: str = "") -> None:
    if settings.charter_version < 1:
        return
    if member.charter_version == settings.charter_version and member.charter_accepted_at is not None:
        return
    subject = "you" if you else who
    if member.charter_version:
        raise NotAllowed(
            f"The charter has changed since {subject} agreed to it (version {member.charter_version}; it is "
            f"now version {settings.charter_version}). "
            + ("Read it with /charter and agree to it first." if you else "They need to agree again.")
        )
    raise NotAllowed(
        "Agree to the charter first: read it with /charter and press “I agree to the charter”."
        if you
        else f"{who} hasn't agreed to the charter (version {settings.charter_version}) yet."
    )


def _admission_details(
    member: Member, applicant_id: int, sponsor_id: int | None, statement: str | None, settings: CoopSettings
) -> str:
    def cut(text: str, limit: int) -> str:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    lines = [f"<@{applicant_id}> asks to become a member of the cooperative."]
    if sponsor_id is not None:
        lines.append(f"Sponsored by <@{sponsor_id}>.")
    if member.charter_accepted_at is not None and member.charter_version:
        lines.append(
            f"Agreed to the charter (version {member.charter_version}) "
            f"{discord_timestamp(member.charter_accepted_at, 'D')}."
        )
    if statement:
        lines.append(f"\n**In their words**\n{cut(statement, MAX_STATEMENT)}")
    if member.what_they_do:
        lines.append(f"\n**What they do**\n{cut(member.what_they_do, 1200)}")
    if member.skills:
        lines.append(f"\n**Skills**\n{cut(member.skills, 600)}")
    type_label = get_type(settings.admission_decision_type).label.lower()
    lines.append(f"\nWhen this {type_label} decision passes, coopbot gives them the member role.")
    return "\n".join(lines)


async def apply_for_membership(
    db: Database,
    *,
    guild_id: int,
    applicant: Actor,
    applicant_name: str,
    sponsor: Actor | None,
    statement: str | None,
    proposer_id: int,
    now: datetime,
) -> ApplicationOpened:
    """A contributor asks to become a member. With admission by decision, the linked decision is opened in
    the same transaction (`proposer_id` is its author: coopbot itself, so that the applicant cannot close
    their own admission early). Posting it is the caller's job; one open application per person is
    enforced by the database."""
    cleaned_statement = _optional(statement or "", field="Your statement", limit=MAX_STATEMENT)
    async with db.write() as session:
        settings = await _settings_row(session, guild_id)
        if settings.member_role_id is None:
            raise InvalidInput(NO_MEMBER_ROLE)
        if is_member(settings, applicant):
            raise Conflict("You are already a member of the cooperative.")
        if settings.admission_by_decision and settings.governance_channel_id is None:
            raise InvalidInput(
                "The cooperative has no governance channel for the admission decision yet: "
                "a moderator can set one with /coop setup."
            )
        if sponsor is not None:
            if sponsor.user_id == applicant.user_id:
                raise InvalidInput(
                    "You can't sponsor yourself: name a member who knows you, or leave it out."
                )
            if not is_member(settings, sponsor):
                raise InvalidInput(
                    f"<@{sponsor.user_id}> is not a member of the cooperative, so they can't sponsor you. "
                    "Name a member, or apply without a sponsor."
                )
        member = await locked_member(
            session, guild_id, applicant.user_id, now, status=standing_of(settings, applicant)
        )
        _require_charter(settings, member, you=True)
        if settings.charter_version < 1 and not is_contributor(settings, applicant):
            raise NotAllowed("Only contributors can apply to become members.")
        existing = await _open_application(session, guild_id, applicant.user_id)
        if existing is not None:
            pending = None
            if existing.decision_id is not None:
                pending = await session.get(Decision, existing.decision_id)
            if pending is not None and pending.status != DecisionStatus.OPEN:
                # Its decision was cancelled (or could not be posted): that application is over.
                existing.status = ApplicationStatus.WITHDRAWN.value
                existing.decided_at = now
                session.add(existing)
                await session.flush()
            elif pending is not None:
                raise Conflict(
                    f"You already have an open application: proposal #{pending.id} decides it, closing "
                    f"{discord_timestamp(pending.closes_at, 'R')}."
                )
            else:
                raise Conflict("You already have an open application: a moderator will decide it.")
        application = Application(
            guild_id=guild_id,
            user_id=applicant.user_id,
            sponsor_id=sponsor.user_id if sponsor else None,
            status=ApplicationStatus.OPEN.value,
            statement=cleaned_statement or "",
            created_at=now,
        )
        session.add(application)
        try:
            await session.flush()
        except IntegrityError:
            # Another click of the same person won the race for the one open application.
            raise Conflict("You already have an open application.") from None
        assert application.id is not None
        decision: Decision | None = None
        if settings.admission_by_decision:
            name = " ".join(applicant_name.split())[:MAX_DISPLAY_NAME] or f"user {applicant.user_id}"
            decision = await open_decision_in(
                session,
                guild_id=guild_id,
                author_id=proposer_id,
                draft=ProposalDraft(
                    title=f"Admit {name} as member",
                    details=_admission_details(
                        member,
                        applicant.user_id,
                        sponsor.user_id if sponsor else None,
                        cleaned_statement,
                        settings,
                    ),
                    kind=settings.admission_decision_type,
                ),
                now=now,
                link=(ADMISSION_LINK, application.id),
            )
            application.decision_id = decision.id
            session.add(application)
        _record(
            session,
            application,
            "member.apply",
            actor_id=applicant.user_id,
            now=now,
            details={
                "application_id": application.id,
                "decision_id": decision.id if decision else None,
                "sponsor_id": sponsor.user_id if sponsor else None,
            },
        )
    return ApplicationOpened(application, decision)


async def withdraw_application(
    db: Database, *, guild_id: int, application_id: int, now: datetime, reason: str
) -> None:
    """An application whose decision could not be posted (or that its author takes back) ends here."""
    async with db.write() as session:
        application = await session.get(Application, application_id)
        if application is None or application.guild_id != guild_id:
            raise NotFound("There is no such application in this server.")
        if application.status != ApplicationStatus.OPEN:
            return
        application.status = ApplicationStatus.WITHDRAWN.value
        application.decided_at = now
        session.add(application)
        _record(
            session,
            application,
            "member.withdraw",
            actor_id=None,
            now=now,
            details={"application_id": application_id, "reason": reason[:MAX_REASON]},
        )


async def on_admission_decision_closed(
    session: AsyncSession, decision: Decision, result: TallyResult, now: datetime
) -> None:
    """The close hook: inside the closing transaction, the decision's result becomes the application's.
    The member role and status follow in `confirm_admission`, once Discord has given the role."""
    query = select(Application).where(
        Application.id == decision.link_id,
        Application.guild_id == decision.guild_id,
        Application.decision_id == decision.id,
    )
    if is_postgresql(session):
        query = query.with_for_update()
    application = (await session.exec(query)).first()
    if application is None or application.status != ApplicationStatus.OPEN:
        return  # withdrawn meanwhile (the person left, or a moderator removed them)
    admitted = bool(result.passed)
    application.status = (ApplicationStatus.ADMITTED if admitted else ApplicationStatus.DECLINED).value
    application.decided_at = now
    session.add(application)
    _record(
        session,
        application,
        "member.admit" if admitted else "member.decline",
        actor_id=None,
        now=now,
        details={"application_id": application.id, "decision_id": decision.id},
    )


async def confirm_admission(
    db: Database, *, guild_id: int, application_id: int, now: datetime, joined_at: datetime | None = None
) -> Member | None:
    """The member role was given after an admission passed: the person is a member. None when there was
    nothing to record (not admitted, or already a member)."""
    async with db.write() as session:
        application = await session.get(Application, application_id)
        if (
            application is None
            or application.guild_id != guild_id
            or application.status != ApplicationStatus.ADMITTED
        ):
            return None
        member = await locked_member(session, guild_id, application.user_id, now, joined_at=joined_at)
        if member.status == MemberStatus.MEMBER:
            return None
        previous = member.status
        _set_status(member, MemberStatus.MEMBER, now)
        session.add(member)
        _record(
            session,
            member,
            "member.promote",
            actor_id=None,
            now=now,
            details={
                "via": "admission",
                "application_id": application_id,
                "decision_id": application.decision_id,
                "from": previous,
            },
        )
    return member


async def decline_application(
    db: Database, *, guild_id: int, actor: Actor, user_id: int, reason: str, now: datetime
) -> Application:
    """A moderator declines an application that moderators decide (no decision is open for it)."""
    cleaned = clean_reason(reason)
    async with db.write() as session:
        settings = await _settings_row(session, guild_id)
        require_moderator(settings, actor)
        application = await _open_application(session, guild_id, user_id)
        if application is None:
            raise NotFound(f"<@{user_id}> has no open application.")
        if application.decision_id is not None:
            raise Conflict(
                f"<@{user_id}>'s application is decided by proposal #{application.decision_id}, not by a "
                "moderator."
            )
        application.status = ApplicationStatus.DECLINED.value
        application.decided_at = now
        session.add(application)
        _record(
            session,
            application,
            "member.decline",
            actor_id=actor.user_id,
            now=now,
            details={"application_id": application.id, "reason": cleaned},
        )
    return application


# --- promote, demote, remove, leave --------------------------------------------------------------------


async def check_change(
    db: Database, *, guild_id: int, actor: Actor, target: Actor, change: Change
) -> CoopSettings:
    """Refuse a change before anything happens in Discord. A moderator promotes, demotes or removes someone
    else (or themselves); LEAVE is the person themself (stepping down to contributor, or out)."""
    async with db.read() as session:
        settings = await _settings_row(session, guild_id)
        if change != Change.LEAVE:
            require_moderator(settings, actor)
        if settings.member_role_id is None:
            raise InvalidInput(NO_MEMBER_ROLE)
        member = (
            await session.exec(
                select(Member).where(Member.guild_id == guild_id, Member.user_id == target.user_id)
            )
        ).first()
        application = (
            await session.exec(
                select(Application).where(
                    Application.guild_id == guild_id,
                    Application.user_id == target.user_id,
                    Application.status == ApplicationStatus.OPEN.value,
                )
            )
        ).first()
        pending = (
            await session.get(Decision, application.decision_id)
            if application is not None and application.decision_id is not None
            else None
        )
    who = f"<@{target.user_id}>"
    standing = standing_of(settings, target)
    if change == Change.PROMOTE:
        if standing == MemberStatus.MEMBER:
            raise Conflict(f"{who} is already a member.")
        if pending is not None and pending.status == DecisionStatus.OPEN:
            raise Conflict(
                f"{who}'s admission is being decided in proposal #{pending.id}: let it close, or cancel it "
                f"with /proposal cancel proposal:{pending.id} first."
            )
        if settings.charter_version >= 1:
            _require_charter(
                settings,
                member or Member(guild_id=guild_id, user_id=target.user_id, status="visitor"),
                you=False,
                who=who,
            )
    elif change == Change.DEMOTE:
        if standing != MemberStatus.MEMBER:
            raise Conflict(f"{who} is not a member, so there is nothing to demote.")
    elif change == Change.REMOVE:
        in_records = member is not None and member.status in (MemberStatus.MEMBER, MemberStatus.CONTRIBUTOR)
        if standing == MemberStatus.VISITOR and not in_records:
            raise Conflict(f"{who} is not in the cooperative (neither a member nor a contributor).")
    elif standing == MemberStatus.VISITOR:
        raise Conflict(
            "You are not a member or a contributor of the cooperative, so there is nothing to leave."
        )
    return settings


async def record_change(
    db: Database,
    *,
    guild_id: int,
    actor: Actor,
    user_id: int,
    change: Change,
    status: MemberStatus,
    now: datetime,
    reason: str | None = None,
    joined_at: datetime | None = None,
    complete: bool = True,
) -> Member:
    """Record where the person stands after the Discord side of `change` (`status`, from the roles the
    bot actually changed; `complete` False when only part of it could be done)."""
    if change in (Change.REMOVE, Change.LEAVE) and status == MemberStatus.VISITOR:
        status = MemberStatus.DEPARTED  # out of the cooperative, whether or not still in the server
    async with db.write() as session:
        settings = await _settings_row(session, guild_id)
        if change != Change.LEAVE:
            require_moderator(settings, actor)
        member = await locked_member(session, guild_id, user_id, now, joined_at=joined_at)
        previous = member.status
        unfinished = (
            await _admission_left_unfinished(session, member)
            if status == MemberStatus.MEMBER and previous != MemberStatus.MEMBER
            else None
        )
        _set_status(member, status, now)
        session.add(member)
        details: dict[str, Any] = {"from": previous, "to": status.value}
        if unfinished is not None:
            # The members admitted them but Discord refused the role, and the moderator gives it now
            # (as they were told to): this promotion completes that admission, as confirm_admission would.
            details.update(via="admission", application_id=unfinished.id, decision_id=unfinished.decision_id)
        if reason:
            details["reason"] = reason[:MAX_REASON]
        if not complete:
            details["complete"] = False
        if status == MemberStatus.MEMBER:
            application = await _open_application(session, guild_id, user_id)
            if application is not None and application.decision_id is None:
                application.status = ApplicationStatus.ADMITTED.value
                application.decided_at = now
                session.add(application)
                details["application_id"] = application.id
                # A moderator's admission is an admission like a decision's: the log and the webhooks
                # (member.admitted) hear of it the same way.
                _record(
                    session,
                    application,
                    "member.admit",
                    actor_id=actor.user_id,
                    now=now,
                    details={"application_id": application.id, "by": "moderator"},
                )
        elif status == MemberStatus.DEPARTED:
            await _withdraw_open_applications(session, guild_id, user_id, now)
        _record(session, member, f"member.{change.value}", actor_id=actor.user_id, now=now, details=details)
    return member
