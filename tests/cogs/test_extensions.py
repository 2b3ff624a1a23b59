"""Every extension can be reloaded (as an operator does after an upgrade, with `reload_extension`) and
leaves the command tree as it found it."""

from __future__ import annotations

import simcord

from bot import CoopBot, extension_names


def command_names(bot: CoopBot) -> set[str]:
    names: set[str] = set()
    for command in bot.tree.walk_commands():
        names.add(command.qualified_name)
    return names


async def test_every_extension_reloads_and_keeps_its_commands(
    simcord_env: simcord.Env, simcord_bot: CoopBot
) -> None:
    before = command_names(simcord_bot)
    assert {"proposal new", "fund create", "reminder add", "coop charter", "member apply"} <= before
    for name in extension_names():
        await simcord_bot.reload_extension(name)
        assert name in simcord_bot.extensions
        assert command_names(simcord_bot) == before, name
