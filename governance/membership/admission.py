"""Admission: a contributor applies (with a sponsor), the members decide or a moderator does, and what a
closed admission decision carries out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from governance.coop import record_settings_change
from governance.decision_types import get_type
from governance.errors import Conflict, InvalidInput, NotAllowed, NotFound
from governance.i18n import SOURCE, Text, _
from governance.membership._common import (
    ADMISSION_KINDS,
    ADMISSION_LINK,
    MAX_DISPLAY_NAME,
    MAX_REASON,
    MAX_STATEMENT,
    NO_MEMBER_ROLE,
    ApplicationOpened,
    _open_application,
    _optional,
    _record,
    _require_charter,
    _set_status,
    _settings_row,
    _settings_to_change,
    clean_reason,
    locked_member,
    standing_of,
)
from governance.permissions import Actor, is_contributor, is_member, require_moderator
from governance.proposing import Lowered, ProposalDraft, open_decision_in
from governance.tally import TallyResult
from governance.timeparse import discord_timestamp
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
        raise InvalidInput(_("Nothing to change: say whether admission needs a decision, or its type."))
    kind: str | None = None
    if decision_type is not None:
        chosen = get_type(decision_type)
        if chosen.kind not in ADMISSION_KINDS:
            raise InvalidInput(
                _(
                    "An admission needs a yes or no, which {type} decisions don't give: "
                    "choose consent, consensus, significant, quorum or emergency.",
                    type=Lowered(chosen.label),
                )
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


def _admission_details(
    member: Member,
    applicant_id: int,
    sponsor_id: int | None,
    statement: str | None,
    settings: CoopSettings,
    language: str,
) -> str:
    """The admission proposal's details, in the cooperative's language (posted, and kept in the register)."""

    def cut(text: str, limit: int) -> str:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    def say(text: Text) -> str:
        return text.render(language)

    lines = [say(_("{person} asks to become a member of the cooperative.", person=f"<@{applicant_id}>"))]
    if sponsor_id is not None:
        lines.append(say(_("Sponsored by {person}.", person=f"<@{sponsor_id}>")))
    if member.charter_accepted_at is not None and member.charter_version:
        lines.append(
            say(
                _(
                    "Agreed to the charter (version {version}) {date}.",
                    version=member.charter_version,
                    date=discord_timestamp(member.charter_accepted_at, "D"),
                )
            )
        )
    if statement:
        lines.append(f"\n{say(_('**In their words**'))}\n{cut(statement, MAX_STATEMENT)}")
    if member.what_they_do:
        lines.append(f"\n{say(_('**What they do**'))}\n{cut(member.what_they_do, 1200)}")
    if member.skills:
        lines.append(f"\n{say(_('**Skills**'))}\n{cut(member.skills, 600)}")
    passes = _(
        "When this {type} decision passes, coopbot gives them the member role.",
        type=Lowered(get_type(settings.admission_decision_type).label),
    )
    lines.append(f"\n{say(passes)}")
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
    language: str = SOURCE,
) -> ApplicationOpened:
    """A contributor asks to become a member. With admission by decision, the linked decision is opened in
    the same transaction (`proposer_id` is its author: coopbot itself, so that the applicant cannot close
    their own admission early), written in ``language`` (the cooperative's). Posting it is the caller's
    job; one open application per person is enforced by the database."""
    cleaned_statement = _optional(statement or "", field=_("Your statement"), limit=MAX_STATEMENT)
    async with db.write() as session:
        settings = await _settings_row(session, guild_id)
        if settings.member_role_id is None:
            raise InvalidInput(NO_MEMBER_ROLE)
        if is_member(settings, applicant):
            raise Conflict(_("You are already a member of the cooperative."))
        if settings.admission_by_decision and settings.governance_channel_id is None:
            raise InvalidInput(
                _(
                    "The cooperative has no governance channel for the admission decision yet: "
                    "a moderator can set one with /coop setup."
                )
            )
        if sponsor is not None:
            if sponsor.user_id == applicant.user_id:
                raise InvalidInput(
                    _("You can't sponsor yourself: name a member who knows you, or leave it out.")
                )
            if not is_member(settings, sponsor):
                raise InvalidInput(
                    _(
                        "{person} is not a member of the cooperative, so they can't sponsor you. "
                        "Name a member, or apply without a sponsor.",
                        person=f"<@{sponsor.user_id}>",
                    )
                )
        member = await locked_member(
            session, guild_id, applicant.user_id, now, status=standing_of(settings, applicant)
        )
        _require_charter(settings, member, you=True)
        if settings.charter_version < 1 and not is_contributor(settings, applicant):
            raise NotAllowed(_("Only contributors can apply to become members."))
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
                    _(
                        "You already have an open application: proposal #{proposal} decides it, closing "
                        "{closes}.",
                        proposal=pending.id,
                        closes=discord_timestamp(pending.closes_at, "R"),
                    )
                )
            else:
                raise Conflict(_("You already have an open application: a moderator will decide it."))
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
            raise Conflict(_("You already have an open application.")) from None
        assert application.id is not None
        decision: Decision | None = None
        if settings.admission_by_decision:
            name = " ".join(applicant_name.split())[:MAX_DISPLAY_NAME] or _(
                "user {number}", number=applicant.user_id
            ).render(language)
            decision = await open_decision_in(
                session,
                guild_id=guild_id,
                author_id=proposer_id,
                draft=ProposalDraft(
                    title=_("Admit {name} as member", name=name).render(language),
                    details=_admission_details(
                        member,
                        applicant.user_id,
                        sponsor.user_id if sponsor else None,
                        cleaned_statement,
                        settings,
                        language,
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
            raise NotFound(_("There is no such application in this server."))
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
            raise NotFound(_("{person} has no open application.", person=f"<@{user_id}>"))
        if application.decision_id is not None:
            raise Conflict(
                _(
                    "{person}'s application is decided by proposal #{proposal}, not by a moderator.",
                    person=f"<@{user_id}>",
                    proposal=application.decision_id,
                )
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
