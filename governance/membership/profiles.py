"""People joining and leaving the server, their profiles (the introduction form), and reading them:
the directory, a skill search.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from governance.membership._common import (
    _ID_CHUNK,
    MAX_SKILL_SEARCH,
    ProfileDraft,
    ProfileSaved,
    _record,
    _set_status,
    _settings_row,
    _withdraw_open_applications,
    clean_profile,
    locked_member,
)
from storage.database import Database
from storage.models import (
    CoopSettings,
    Member,
    MemberStatus,
)


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
