"""Networks (the extension): cooperatives that decide together across servers. The parts live in private
modules beside this one."""

from __future__ import annotations

from bot import CoopBot
from cogs.networks._cog import Networks


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(Networks(bot))
