"""What the membership modules share: its values, limits and standings, and the rows they change
(the member row, locked; the settings row; the audit record of a change). Package-private.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.coop import default_settings
from governance.decision_types import DecisionKind
from governance.errors import InvalidInput, NotAllowed
from governance.i18n import _
from governance.permissions import Actor, is_contributor, is_member, require_moderator
from governance.text import clean_text
from governance.timeparse import parse_timezone
from storage.database import is_postgresql
from storage.models import (
    Application,
    ApplicationStatus,
    CoopSettings,
    Decision,
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
NO_MEMBER_ROLE = _("The cooperative has no member role yet: a moderator can set one with /coop setup.")
# Sent to the database in chunks: SQLite limits the number of bound parameters of one statement.
_ID_CHUNK = 500


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
        draft.display_name, field=_("Your name"), limit=MAX_DISPLAY_NAME, required=True, one_line=True
    )
    timezone = clean_text(draft.timezone, field=_("The timezone"), limit=MAX_TIMEZONE, one_line=True)
    return Profile(
        display_name=display_name,
        what_they_do=_optional(draft.what_they_do, field=_("“What you do”"), limit=MAX_WHAT_THEY_DO),
        skills=_optional(draft.skills, field=_("Skills"), limit=MAX_SKILLS),
        why=_optional(draft.why, field=_("“What brings you here”"), limit=MAX_WHY),
        timezone=parse_timezone(timezone).key if timezone else None,
    )


def clean_reason(reason: str) -> str:
    return clean_text(reason, field=_("The reason"), limit=MAX_REASON, required=True)


async def _settings_row(session: AsyncSession, guild_id: int) -> CoopSettings:
    settings = await session.get(CoopSettings, guild_id)
    if settings is None:
        raise InvalidInput(
            _("coopbot isn't set up in this server yet: a moderator can start with /coop setup.")
        )
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


def _require_charter(settings: CoopSettings, member: Member, *, you: bool, who: str = "") -> None:
    if settings.charter_version < 1:
        return
    if member.charter_version == settings.charter_version and member.charter_accepted_at is not None:
        return
    if member.charter_version:
        raise NotAllowed(
            _(
                "The charter has changed since you agreed to it (version {version}; it is now version "
                "{current}). Read it with /charter and agree to it first.",
                version=member.charter_version,
                current=settings.charter_version,
            )
            if you
            else _(
                "The charter has changed since {person} agreed to it (version {version}; it is now version "
                "{current}). They need to agree again.",
                person=who,
                version=member.charter_version,
                current=settings.charter_version,
            )
        )
    raise NotAllowed(
        _("Agree to the charter first: read it with /charter and press “I agree to the charter”.")
        if you
        else _(
            "{person} hasn't agreed to the charter (version {current}) yet.",
            person=who,
            current=settings.charter_version,
        )
    )
