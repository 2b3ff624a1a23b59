"""The shared command groups that several capabilities put their moderator commands in.

/mod is one top-level group (Manage Server by default, guild only; each command still checks
`requires(require_moderator)` itself, since default permissions are only a hint admins can change). Each
capability adds its own subgroup in its cog_load and takes it out in cog_unload:

    self.moderation = FundModeration(self)             # an app_commands.Group named e.g. "fund"
    attach_to_mod(self.bot.tree, self.moderation)      # in cog_load  → /mod fund ...
    detach_from_mod(self.bot.tree, self.moderation.name)  # in cog_unload

The group lives on the bot's own command tree, not in a module global, so a restarted bot (or two bots in
one process, as in tests) never shares it. Discord allows 25 subgroups and commands in it.

/coop is the Admin cog's group (cogs/admin.py), and a capability may add a command of its own to it, such
as /coop charter. Such a cog lists the commands in its `coop_commands` attribute, made for each cog object
(a command belongs to one group at a time), attaches them in cog_load and detaches them in cog_unload:

    self.coop_commands = (charter_command(self),)
    attach_to_coop(self.bot.tree, *self.coop_commands)   # in cog_load  → /coop charter
    detach_from_coop(self.bot.tree, *self.coop_commands)  # in cog_unload

When the Admin cog (re)loads, its /coop group is a new one: it takes in `contributed_coop_commands` of the
cogs already loaded, so the commands are there whichever cog loads or reloads first.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

MOD_GROUP_NAME = "mod"
COOP_GROUP_NAME = "coop"

Child = app_commands.Command[Any, ..., Any] | app_commands.Group


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


def _coop_group(tree: app_commands.CommandTree[Any]) -> app_commands.Group | None:
    group = tree.get_command(COOP_GROUP_NAME)
    return group if isinstance(group, app_commands.Group) else None


def attach_to_coop(tree: app_commands.CommandTree[Any], *children: Child) -> None:
    """Add (or replace) a capability's commands under /coop; until the Admin cog has made /coop, there is
    nothing to add them to yet, and it takes them in when it loads."""
    group = _coop_group(tree)
    if group is not None:
        for child in children:
            group.add_command(child, override=True)


def detach_from_coop(tree: app_commands.CommandTree[Any], *children: Child) -> None:
    """Take a capability's commands out of /coop (only these objects, not others of the same name)."""
    group = _coop_group(tree)
    if group is not None:
        for child in children:
            if group.get_command(child.name) is child:
                group.remove_command(child.name)


def contributed_coop_commands(bot: commands.bot.BotBase) -> list[Child]:
    """The /coop commands of the other cogs loaded now (each lists its own in `coop_commands`)."""
    return [child for cog in bot.cogs.values() for child in getattr(cog, "coop_commands", ())]
