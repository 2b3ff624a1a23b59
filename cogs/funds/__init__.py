"""Pooled funds (the extension). The parts live in private modules beside this one."""

from __future__ import annotations

from bot import CoopBot
from cogs.funds._cog import Funds


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(Funds(bot))
