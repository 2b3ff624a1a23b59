"""One run of the bot as a real process for the crash test: the real CoopBot in a simulated Discord whose
REST calls each take 20 ms (a model network, so that a kill often lands in the middle of sending), on the
test's database. It does what is due at its clock and exits; the test kills it at random moments.

    python -m tests.processes.crash_worker DATABASE_URL MINUTES_AFTER_START GUILD_IDS
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import simcord
from sqlalchemy import update
from sqlmodel import col

from bot import create_bot
from config import Settings
from governance.clock import ManualClock
from storage.models import CoopSettings, Decision

START = datetime(2027, 1, 1, tzinfo=UTC)
REST_DELAY = 0.02


async def main(url: str, minutes: int, guild_ids: list[int]) -> None:
    settings = Settings(database_url=url, discord_token=None, shard_count=1, _env_file=None)
    bot = create_bot(
        settings, clock=ManualClock(START + timedelta(minutes=minutes)), guild_ready_timeout=0.05
    )
    async with simcord.run(bot, check_errors=False) as env:
        real_request = bot.http.request

        async def slow_request(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(REST_DELAY)
            return await real_request(*args, **kwargs)

        bot.http.request = slow_request  # type: ignore[method-assign]
        # The same world every run (SimCord's ids follow the order things are made in); the decisions'
        # results go to each server's #governance channel.
        for guild_id in guild_ids:
            guild = env.create_guild(f"Guild {guild_id}", id=guild_id)
            channel = guild.create_text_channel("governance")
            async with bot.database.write() as session:
                await session.exec(
                    update(CoopSettings)
                    .where(col(CoopSettings.id) == guild_id)
                    .values(governance_channel_id=channel.id)
                )
                await session.exec(
                    update(Decision).where(col(Decision.guild_id) == guild_id).values(thread_id=channel.id)
                )
        await env.settle()
        print("ready", flush=True)  # the test kills after this, while the work is under way
        await bot.due.run_now()
        await env.settle()
        await bot.close()
    print("done", flush=True)


if __name__ == "__main__":
    url, minutes, guilds = sys.argv[1:4]
    asyncio.run(main(url, int(minutes), [int(g) for g in guilds.split(",")]))
