"""The /mod command group, shared by every capability's moderator commands.

/mod is one top-level group (Manage Server by default, guild only; each command still checks
`requires(require_moderator)` itself, since default permissions are only a hint admins can change). Each
capability adds its own subgroup in its cog_load and takes it out in cog_unload:

    self.moderation = FundModeration(self)             # an app_commands.Group named e.g. "fund"
    attach_to_mod(self.bot.tree, self.moderation)      # in cog_load  → /mod fund ...
    detach_from_mod(self.bot.tree, self.moderation.name)  # in cog_unload

The group lives on the bot's own command tree, not in a module global, so a restarted bot (or two bots in
one process, as in tests) never shares it. Discord allows 25 subgroups and commands in it.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

MOD_GROUP_NAME = "mod"


def mod_group(tree: app_commands.CommandTree[Any]) -> app_commands.Group:
    """The tree's /mod group, made and added on first use."""
    existing = tree.get_command(MOD_GROUP_NAME)
    if existing is not None:
        if not isinstance(existing, app_commands.Group):
            raise RuntimeError(f"/{MOD_GROUP_NAME} is already a command, not a group")
        return existing
    group = app_commands.Group(
        name=MOD_GROUP_NAME,
        description="Moderator tools",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    tree.add_command(group)
    return group


def attach_to_mod(tree: app_commands.CommandTree[Any], subgroup: app_commands.Group) -> None:
    """Add (or replace) a capability's subgroup under /mod."""
    mod_group(tree).add_command(subgroup, override=True)


def detach_from_mod(tree: app_commands.CommandTree[Any], name: str) -> None:
    """Take a subgroup out of /mod; /mod itself goes when nothing is left in it."""
    group = tree.get_command(MOD_GROUP_NAME)
    if not isinstance(group, app_commands.Group):
        return
    group.remove_command(name)
    if not group.commands:
        tree.remove_command(MOD_GROUP_NAME)


def moderator_subgroup(name: str, description: str) -> app_commands.Group:
    """An empty /mod subgroup for a capability to fill with its moderator commands."""
    return app_commands.Group(name=name, description=description)
