"""Funding rounds (the extension). The parts live in private modules beside this one."""

from __future__ import annotations

from bot import CoopBot
from cogs.rounds._cog import Rounds


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(Rounds(bot))
