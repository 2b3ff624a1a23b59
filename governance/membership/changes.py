"""Promote, demote, remove, leave: a standing changed by a moderator or by the person, checked before
anything happens in Discord and recorded after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select

from governance.errors import Conflict, InvalidInput
from governance.i18n import _
from governance.membership._common import (
    MAX_REASON,
    NO_MEMBER_ROLE,
    Change,
    _admission_left_unfinished,
    _open_application,
    _record,
    _require_charter,
    _set_status,
    _settings_row,
    _withdraw_open_applications,
    locked_member,
    standing_of,
)
from governance.permissions import Actor, require_moderator
from storage.database import Database
from storage.models import (
    Application,
    ApplicationStatus,
    CoopSettings,
    Decision,
    DecisionStatus,
    Member,
    MemberStatus,
)


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
            raise Conflict(_("{person} is already a member.", person=who))
        if pending is not None and pending.status == DecisionStatus.OPEN:
            raise Conflict(
                _(
                    "{person}'s admission is being decided in proposal #{proposal}: let it close, or cancel "
                    "it "
                    "with /proposal cancel proposal:{proposal} first.",
                    person=who,
                    proposal=pending.id,
                )
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
            raise Conflict(_("{person} is not a member, so there is nothing to demote.", person=who))
    elif change == Change.REMOVE:
        in_records = member is not None and member.status in (MemberStatus.MEMBER, MemberStatus.CONTRIBUTOR)
        if standing == MemberStatus.VISITOR and not in_records:
            raise Conflict(
                _("{person} is not in the cooperative (neither a member nor a contributor).", person=who)
            )
    elif standing == MemberStatus.VISITOR:
        raise Conflict(
            _("You are not a member or a contributor of the cooperative, so there is nothing to leave.")
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
