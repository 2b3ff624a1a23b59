"""One bot process for the scale-out test: the real CoopBot with some of the shards, in its own simulated
Discord (SimCord) holding the servers of those shards, on the shared database. It runs what is due once,
then prints the decisions it closed as JSON and exits.

    python -m tests.processes.shard_worker DATABASE_URL SHARD_COUNT SHARD_IDS GUILD_IDS
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

import simcord

from bot import create_bot
from config import Settings
from governance.clock import ManualClock
from governance.decisions import ClosedDecision


async def main(url: str, shard_count: int, shard_ids: list[int], guild_ids: list[int]) -> None:
    settings = Settings(
        database_url=url, discord_token=None, shard_count=shard_count, shard_ids=shard_ids, _env_file=None
    )
    # The test put every decision's closing time in the past of this clock.
    bot = create_bot(settings, clock=ManualClock(datetime(2027, 1, 1, tzinfo=UTC)), guild_ready_timeout=0.05)
    closed: list[int] = []

    async def on_coop_decision_closed(done: ClosedDecision) -> None:
        assert done.decision.id is not None
        closed.append(done.decision.id)

    bot.add_listener(on_coop_decision_closed)
    async with simcord.run(bot, check_errors=False) as env:
        for guild_id in guild_ids:
            if (guild_id >> 22) % shard_count in shard_ids:  # Discord delivers a server to its shard only
                env.create_guild(f"Guild {guild_id}", id=guild_id)
        await env.settle()
        await bot.due.run_now()
        await env.settle()
        await bot.close()
    print(json.dumps({"shards": shard_ids, "guilds": sorted(g.id for g in bot.guilds), "closed": closed}))


if __name__ == "__main__":
    url, count, shards, guilds = sys.argv[1:5]
    asyncio.run(
        main(url, int(count), [int(s) for s in shards.split(",")], [int(g) for g in guilds.split(",")])
    )
