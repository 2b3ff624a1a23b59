"""Proposals and decisions (the extension). The parts live in private modules beside this one."""

from __future__ import annotations

from bot import CoopBot
from cogs.proposals._cog import Proposals


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(Proposals(bot))
