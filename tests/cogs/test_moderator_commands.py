"""Every moderator command (/mod, /coop, /reminder) is refused to a plain member by the bot's own check,
even when a server admin has let members see the commands, and nothing is written."""

from __future__ import annotations

import discord
import simcord
from discord import app_commands
from sqlmodel import func, select

from bot import CoopBot
from storage.database import Database
from storage.models import AuditEvent
from tests.cogs.helpers import propose
from tests.conftest import Coop, allow_command

MODERATOR_GROUPS = ("mod", "coop", "reminder")


def _argument(coop: Coop, parameter: app_commands.Parameter) -> object:
    """A plausible value for a required option, so that only the permission check can refuse."""
    if parameter.choices:
        return parameter.choices[0].value
    kind = parameter.type
    if kind is discord.AppCommandOptionType.integer:
        return 1
    if kind is discord.AppCommandOptionType.boolean:
        return True
    if kind is discord.AppCommandOptionType.role:
        return coop.member_role
    if kind is discord.AppCommandOptionType.channel:
        return coop.governance
    if kind in (discord.AppCommandOptionType.user, discord.AppCommandOptionType.mentionable):
        return coop.members[1]
    return "1d"  # strings: a duration reads as one where one is expected; elsewhere it is just text


async def _audit_count(db: Database) -> int:
    async with db.read() as session:
        return (await session.exec(select(func.count()).select_from(AuditEvent))).one()


async def test_every_moderator_command_refuses_a_plain_member(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    coop = configured
    for group in MODERATOR_GROUPS:
        await allow_command(coop, group, coop.member_role)
    commands = [
        command
        for root in simcord_bot.tree.get_commands()
        if root.name in MODERATOR_GROUPS and isinstance(root, app_commands.Group)
        for command in root.walk_commands()
        if isinstance(command, app_commands.Command)
    ]
    names = sorted(command.qualified_name for command in commands)
    assert {"mod member promote", "mod decision close", "mod fund correct", "mod reminder remove"} <= set(
        names
    )
    assert {"coop setup", "coop audit", "coop export", "coop webhooks add", "reminder add"} <= set(names)

    before = await _audit_count(db)
    for command in commands:
        options = {p.name: _argument(coop, p) for p in command.parameters if p.required}
        result = await coop.alice.slash(coop.governance, command.qualified_name, **options)
        assert result.ephemeral, command.qualified_name
        assert result.response is not None, command.qualified_name
        assert result.response.content.startswith("Only moderators"), (
            command.qualified_name,
            result.response,
        )
    assert await _audit_count(db) == before


async def test_a_moderator_closes_any_decision_under_mod(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:

    coop = configured
    await allow_command(coop, "mod", coop.moderator_role)
    await propose(coop, coop.alice, "Repaint the hall", type="consent", closes="3d")
    closed = await coop.moderator.slash(coop.governance, "mod decision close", proposal=1)
    assert "Closed #1" in closed.response.content
    async with db.read() as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "decision.close"))).all()
    assert [(event.actor_id, event.subject) for event in events] == [(coop.moderator.id, "decision:1")]
