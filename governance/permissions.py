"""Who may do what. Decided from plain values (role ids, a permission flag), never Discord objects."""

from __future__ import annotations

from dataclasses import dataclass

from governance.errors import NotAllowed
from governance.i18n import _
from storage.models import CoopSettings


@dataclass(frozen=True)
class Actor:
    """The person acting: their id, the ids of their roles in the guild, and whether they manage it."""

    user_id: int
    role_ids: frozenset[int] = frozenset()
    manages_guild: bool = False


def is_moderator(settings: CoopSettings, actor: Actor) -> bool:
    return actor.manages_guild or (
        settings.moderator_role_id is not None and settings.moderator_role_id in actor.role_ids
    )


def is_treasurer(settings: CoopSettings, actor: Actor) -> bool:
    """Who moves money (confirms contributions, approves requests, records payouts): the treasurer role, kept
    apart from the moderators' powers unless the cooperative chooses otherwise (separation of duties)."""
    if settings.treasurer_role_id is not None and settings.treasurer_role_id in actor.role_ids:
        return True
    return settings.moderators_are_treasurers and is_moderator(settings, actor)


def is_fund_steward(settings: CoopSettings, actor: Actor) -> bool:
    """Who looks after the funds without moving money (opens a fund, reads everything in it, cancels a
    request): treasurers and moderators."""
    return is_treasurer(settings, actor) or is_moderator(settings, actor)


def is_member(settings: CoopSettings, actor: Actor) -> bool:
    return settings.member_role_id is not None and settings.member_role_id in actor.role_ids


def is_contributor(settings: CoopSettings, actor: Actor) -> bool:
    return is_member(settings, actor) or (
        settings.contributor_role_id is not None and settings.contributor_role_id in actor.role_ids
    )


def require_moderator(settings: CoopSettings, actor: Actor) -> None:
    if not is_moderator(settings, actor):
        raise NotAllowed(
            _("Only moderators can do this (the moderator role or the Manage Server permission).")
        )


def require_treasurer(settings: CoopSettings, actor: Actor) -> None:
    if is_treasurer(settings, actor):
        return
    if is_moderator(settings, actor):
        raise NotAllowed(
            _(
                "Only treasurers move money. Moderators can too only if the cooperative allows it "
                "(/coop setup moderators_are_treasurers:True)."
            )
        )
    raise NotAllowed(_("Only treasurers can do this (the treasurer role)."))


def require_fund_steward(settings: CoopSettings, actor: Actor) -> None:
    if not is_fund_steward(settings, actor):
        raise NotAllowed(_("Only treasurers or moderators can do this."))


def require_member(settings: CoopSettings, actor: Actor) -> None:
    if not is_member(settings, actor):
        raise NotAllowed(_("Only members of the cooperative can do this."))


def is_insider(settings: CoopSettings, actor: Actor) -> bool:
    """Someone in the cooperative: a contributor, a member, a treasurer or a moderator (not a visitor)."""
    return is_contributor(settings, actor) or is_fund_steward(settings, actor)


def require_insider(settings: CoopSettings, actor: Actor) -> None:
    """What the cooperative records (decisions, the directory, funds) is read by the people in it only."""
    if not is_insider(settings, actor):
        raise NotAllowed(_("Only people in the cooperative (contributors and members) can see this."))
