"""Giving and taking roles, and saying exactly what to fix when Discord won't let the bot.

The bot checks what it can see first (Manage Roles, its place in the role list), so that it asks Discord
only for what Discord will allow (refused requests count against the bot); a refusal it could not foresee
is reported the same way. The caller learns which roles the person really has afterwards, and records
that, never what it had hoped for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from cogs._delivery import owed_elsewhere
from governance.i18n import Text, _

log = logging.getLogger("coopbot.onboarding")

AUDIT_REASON_LIMIT = 512


@dataclass(frozen=True)
class RoleResult:
    role_ids: frozenset[int]  # the person's roles after what was done
    changed: bool  # whether anything was done at all
    problem: Text | None = None  # what stopped the rest, in words a moderator can act on

    @property
    def ok(self) -> bool:
        return self.problem is None


def blocker(guild: discord.Guild, role: discord.Role, *, verb: str) -> Text | None:
    """Why the bot can't give (or take: `verb`) `role` here, or None when it can."""
    give = verb == "give"
    if role.is_default():
        return _("@everyone is not a role anyone can be given: choose a specific role with /coop setup.")
    if role.managed:
        if give:
            return _(
                "I can't give {role}: it is managed by an integration. Choose another role with /coop setup.",
                role=role.mention,
            )
        return _(
            "I can't take {role}: it is managed by an integration. Choose another role with /coop setup.",
            role=role.mention,
        )
    me = guild.me
    no_permission = not me.guild_permissions.manage_roles
    too_low = role >= me.top_role
    values = {"role": role.mention, "my_role": me.top_role.mention}
    if no_permission and too_low:
        if give:
            return _(
                "I can't give {role}: I need the **Manage Roles** permission, and my role ({my_role}) must "
                "be above {role} in Server Settings → Roles.",
                **values,
            )
        return _(
            "I can't take {role}: I need the **Manage Roles** permission, and my role ({my_role}) must "
            "be above {role} in Server Settings → Roles.",
            **values,
        )
    if no_permission:
        if give:
            return _("I can't give {role}: I need the **Manage Roles** permission.", role=role.mention)
        return _("I can't take {role}: I need the **Manage Roles** permission.", role=role.mention)
    if too_low:
        if give:
            return _(
                "I can't give {role}: my role ({my_role}) must be above {role} in Server Settings → Roles.",
                **values,
            )
        return _(
            "I can't take {role}: my role ({my_role}) must be above {role} in Server Settings → Roles.",
            **values,
        )
    return None


def _refused(role: discord.Role, verb: str, error: discord.HTTPException) -> Text:
    give = verb == "give"
    if isinstance(error, discord.Forbidden):
        if give:
            return _(
                "Discord refused to let me give {role}: my role must be above it in Server Settings → Roles, "
                "and I need the **Manage Roles** permission.",
                role=role.mention,
            )
        return _(
            "Discord refused to let me take {role}: my role must be above it in Server Settings → Roles, "
            "and I need the **Manage Roles** permission.",
            role=role.mention,
        )
    if give:
        return _(
            "Discord didn't let me give {role} just now (error {error}); try again in a moment.",
            role=role.mention,
            error=error.status,
        )
    return _(
        "Discord didn't let me take {role} just now (error {error}); try again in a moment.",
        role=role.mention,
        error=error.status,
    )


async def change_roles(
    member: discord.Member,
    *,
    add: Sequence[discord.Role] = (),
    remove: Sequence[discord.Role] = (),
    reason: str,
) -> RoleResult:
    """Give `add` and take `remove`, in that order, one role at a time; stop at the first that fails.

    Giving before taking means a half-done change leaves someone with more roles rather than none (a
    demotion that fails after the contributor role was given leaves a member who is also a contributor)."""
    role_ids = {role.id for role in member.roles}
    changed = False
    steps = [(role, "give") for role in add if role.id not in role_ids]
    steps += [(role, "take") for role in remove if role.id in role_ids]
    for role, verb in steps:
        problem = blocker(member.guild, role, verb=verb)
        if problem is None:
            try:
                if verb == "give":
                    await member.add_roles(role, reason=reason[:AUDIT_REASON_LIMIT])
                else:
                    await member.remove_roles(role, reason=reason[:AUDIT_REASON_LIMIT])
            except discord.HTTPException as error:
                owed_elsewhere(error, transient_only=True)
                log.warning("Could not %s role %s to %s", verb, role.id, member.id, exc_info=True)
                problem = _refused(role, verb, error)
        if problem is not None:
            return RoleResult(frozenset(role_ids), changed, problem)
        changed = True
        if verb == "give":
            role_ids.add(role.id)
        else:
            role_ids.discard(role.id)
    return RoleResult(frozenset(role_ids), changed)
