"""Cooperative setup: the settings a guild's governance runs on."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance import audit
from governance.decision_types import get_type
from governance.errors import Conflict, InvalidInput
from governance.i18n import LANGUAGES, _
from governance.money import parse_currency
from governance.permissions import Actor, require_moderator
from governance.timeparse import Duration, parse_duration, parse_timezone
from storage.database import Database, is_postgresql
from storage.models import CoopSettings

MIN_DEFAULT_DURATION = timedelta(hours=1)
MAX_DEFAULT_DURATION = timedelta(days=90)


@dataclass(frozen=True)
class SetupChanges:
    """What a moderator asked to change; None means "leave as it is"."""

    governance_channel_id: int | None = None
    welcome_channel_id: int | None = None
    member_role_id: int | None = None
    contributor_role_id: int | None = None
    moderator_role_id: int | None = None
    treasurer_role_id: int | None = None
    timezone: str | None = None
    currency: str | None = None
    language: str | None = None  # a catalogue code (governance/i18n.py LANGUAGES)
    default_decision_type: str | None = None
    default_duration: str | None = None
    moderators_are_treasurers: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def default_settings(guild_id: int, now: datetime) -> CoopSettings:
    """The settings of a guild that has never been set up."""
    return CoopSettings(id=guild_id, created_at=now, updated_at=now)


async def locked_settings(session: AsyncSession, guild_id: int, now: datetime) -> CoopSettings:
    """The guild's settings row inside a write transaction, created with the defaults when missing and
    locked on PostgreSQL, so that changes that depend on what they read (limits, "the one digest") are
    serialised. (SQLite's write transactions are serialised already: BEGIN IMMEDIATE.)"""
    insert = pg_insert if is_postgresql(session) else sqlite_insert
    await session.exec(
        insert(CoopSettings)
        .values(**default_settings(guild_id, now).model_dump())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    query = select(CoopSettings).where(CoopSettings.id == guild_id).execution_options(populate_existing=True)
    if is_postgresql(session):
        query = query.with_for_update()
    return (await session.exec(query)).one()


async def get_settings(db: Database, guild_id: int, now: datetime) -> CoopSettings:
    """The guild's settings, or the defaults when it was never set up (nothing is written)."""
    async with db.read() as session:
        return await settings_in(session, guild_id, now)


async def settings_in(session: AsyncSession, guild_id: int, now: datetime) -> CoopSettings:
    """As get_settings, inside a transaction already open."""
    return await session.get(CoopSettings, guild_id) or default_settings(guild_id, now)


def record_settings_change(
    session: AsyncSession,
    settings: CoopSettings,
    *,
    actor: Actor | None,
    action: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """Stamp the guild's settings as changed now and write the audit event that says how, in the caller's
    transaction (so the change and its record commit or roll back together). No actor: coopbot itself,
    carrying out a decision."""
    settings.updated_at = now
    audit.record(
        session,
        guild_id=settings.id,
        actor_id=actor.user_id if actor is not None else None,
        action=action,
        subject=f"guild:{settings.id}",
        details=details,
        at=now,
    )


def _validated(changes: SetupChanges, guild_id: int) -> dict[str, object]:
    """Turn the requested changes into column values, refusing anything unusable before any write."""
    values: dict[str, object] = {}
    for role_field in ("member_role_id", "contributor_role_id", "moderator_role_id", "treasurer_role_id"):
        role_id = getattr(changes, role_field)
        if role_id is not None:
            # The @everyone role shares the guild's id: granting or checking it would mean "anyone".
            if role_id == guild_id:
                raise InvalidInput(_("Choose a specific role, not @everyone."))
            values[role_field] = role_id
    for channel_field in ("governance_channel_id", "welcome_channel_id"):
        if getattr(changes, channel_field) is not None:
            values[channel_field] = getattr(changes, channel_field)
    if changes.timezone is not None:
        values["timezone"] = parse_timezone(changes.timezone).key
    if changes.currency is not None:
        values["currency"] = parse_currency(changes.currency)
    if changes.language is not None:
        if changes.language not in LANGUAGES:
            raise InvalidInput(_("coopbot speaks {languages}.", languages=", ".join(LANGUAGES.values())))
        values["language"] = changes.language
    if changes.default_decision_type is not None:
        values["default_decision_type"] = get_type(changes.default_decision_type).kind.value
    if changes.default_duration is not None:
        values["default_decision_seconds"] = _default_seconds(changes.default_duration)
    if changes.moderators_are_treasurers is not None:
        values["moderators_are_treasurers"] = changes.moderators_are_treasurers
    return values


def _default_seconds(text: str) -> int:
    """A default decision time, in seconds, within the bounds a cooperative may choose."""
    duration = parse_duration(text)
    if not MIN_DEFAULT_DURATION <= duration <= MAX_DEFAULT_DURATION:
        raise InvalidInput(
            _(
                "The default decision time must be between {shortest} and {longest}.",
                shortest=Duration(MIN_DEFAULT_DURATION),
                longest=Duration(MAX_DEFAULT_DURATION),
            )
        )
    return int(duration.total_seconds())


def default_open_time(settings: CoopSettings, kind: str) -> timedelta:
    """How long a decision of this type stays open when no closing time is given: the cooperative's
    choice for the type, else its default time if it is the default type, else the type's own."""
    if kind in settings.decision_seconds:
        return timedelta(seconds=settings.decision_seconds[kind])
    if kind == settings.default_decision_type:
        return timedelta(seconds=settings.default_decision_seconds)
    return get_type(kind).default_duration


async def set_decision_duration(
    db: Database, *, guild_id: int, actor: Actor, kind: str, duration: str | None, now: datetime
) -> CoopSettings:
    """How long decisions of one type stay open by default; None puts the type back to the default."""
    kind = get_type(kind).kind.value
    seconds = None if duration is None else _default_seconds(duration)
    async with db.write() as session:
        row = await locked_settings(session, guild_id, now)
        require_moderator(row, actor)
        before = row.decision_seconds.get(kind)
        if before == seconds:
            raise Conflict(_("That is already the setting: nothing changed."))
        chosen = {name: value for name, value in row.decision_seconds.items() if name != kind}
        if seconds is not None:
            chosen[kind] = seconds
        row.decision_seconds = chosen  # a new dict: the JSON column sees assignments, not edits in place
        session.add(row)
        record_settings_change(
            session,
            row,
            actor=actor,
            action="coop.setup",
            details={"changed": {f"decision_seconds.{kind}": {"from": before, "to": seconds}}},
            now=now,
        )
    return row


async def configure_guild(
    db: Database, *, guild_id: int, actor: Actor, changes: SetupChanges, now: datetime
) -> CoopSettings:
    """Apply `changes` to the guild's settings, with one audit event naming what changed (old → new)."""
    if changes.is_empty():
        raise InvalidInput(_("Nothing to change: give at least one setting."))
    values = _validated(changes, guild_id)
    async with db.write() as session:
        # The check runs against the locked settings inside this transaction, so a concurrent change of
        # the moderator role cannot slip a non-moderator through.
        row = await locked_settings(session, guild_id, now)
        require_moderator(row, actor)
        changed = {
            name: {"from": getattr(row, name), "to": value}
            for name, value in values.items()
            if getattr(row, name) != value
        }
        for name, value in values.items():
            setattr(row, name, value)
        record_settings_change(
            session, row, actor=actor, action="coop.setup", details={"changed": changed}, now=now
        )
    return row


def is_configured(settings: CoopSettings) -> bool:
    """Enough is set for governance to run: a channel to post in and a member role."""
    return settings.governance_channel_id is not None and settings.member_role_id is not None
