"""Onboarding and membership (the extension): the welcome, the charter, profiles, applications and the
/member, /charter, /coop charter and /mod member commands. The parts live in private modules beside this
one."""

from __future__ import annotations

from bot import CoopBot
from cogs.onboarding._cog import Onboarding


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(Onboarding(bot))
