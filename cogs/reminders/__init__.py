"""Reminders and the governance rhythm (the extension)."""

from __future__ import annotations

from bot import CoopBot
from cogs.reminders._cog import GovernanceReminders, PersonalReminders


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(GovernanceReminders(bot))
    await bot.add_cog(PersonalReminders(bot))
