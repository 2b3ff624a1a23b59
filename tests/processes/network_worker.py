"""One bot process for the network scale-out test: the real CoopBot with some of the shards, in its own
simulated Discord (SimCord) holding the servers of those shards, on the shared database.

    python -m tests.processes.network_worker DATABASE_URL SHARD_COUNT SHARD_IDS GUILD_IDS MODE MINUTES

Its clock is START + MINUTES. Modes:
- ``vote``: post what is owed to its servers (their copies of the network proposal), then every person in
  each of its servers clicks "No objection" on their server's copy;
- ``close-once``: run what is due once (its copies close) and exit;
- ``close-crash``: as close-once, but the process dies (exit 3) the moment it would announce a close;
- ``close``: run what is due until every close owed to its servers is delivered.

It prints, as JSON, the copies it posted, the votes it took, and the network closes it announced.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import simcord
from sqlalchemy import update
from sqlmodel import col, func, select

from bot import create_bot
from config import Settings
from governance.clock import ManualClock
from governance.decisions import CLOSED_KIND, ClosedDecision
from governance.records import OwedMessage
from storage.models import CoopSettings, Decision, DeliveryStatus, NetworkProposal

START = datetime(2027, 3, 1, tzinfo=UTC)
PEOPLE = 3  # in each server
PROPOSAL_LINK = "network_proposal"


async def main(
    url: str, shard_count: int, shard_ids: list[int], guild_ids: list[int], mode: str, minutes: int
) -> None:
    settings = Settings(
        database_url=url, discord_token=None, shard_count=shard_count, shard_ids=shard_ids, _env_file=None
    )
    bot = create_bot(
        settings, clock=ManualClock(START + timedelta(minutes=minutes)), guild_ready_timeout=0.05
    )
    announced: list[int] = []

    async def on_coop_decision_closed(done: ClosedDecision) -> None:
        if done.decision.link_kind == PROPOSAL_LINK and done.decision.id is not None:
            announced.append(done.decision.id)

    bot.add_listener(on_coop_decision_closed)
    async with simcord.run(bot, check_errors=False) as env:
        proposals: Any = bot.get_cog("Proposals")
        proposals.refresher.interval = 0.0  # tallies edited at once: nothing to spare Discord here
        own = [g for g in guild_ids if (g >> 22) % shard_count in shard_ids]  # Discord's routing
        channels: dict[int, simcord.ChannelHandle] = {}
        people: dict[int, list[simcord.MemberActor]] = {}
        for guild_id in own:
            guild = env.create_guild(f"Guild {guild_id}", id=guild_id)
            channels[guild_id] = guild.create_text_channel("governance")
            role = guild.create_role("Member")
            people[guild_id] = [
                guild.add_member(env.create_user(f"p{guild_id % 1000}-{n}"), roles=[role])
                for n in range(PEOPLE)
            ]
            # This run's world has its own channel and role ids: the cooperative's settings and its copy
            # point at them (the result of a close goes to the channel).
            async with bot.database.write() as session:
                await session.exec(
                    update(CoopSettings)
                    .where(col(CoopSettings.id) == guild_id)
                    .values(governance_channel_id=channels[guild_id].id, member_role_id=role.id)
                )
                copy = (col(Decision.guild_id) == guild_id, col(Decision.link_kind) == PROPOSAL_LINK)
                await session.exec(update(Decision).where(*copy).values(eligible_role_id=role.id))
                if mode != "vote":
                    await session.exec(update(Decision).where(*copy).values(thread_id=channels[guild_id].id))
        await env.settle()
        if mode != "vote":
            # The proposal messages were posted in an earlier run's world: this run's bot posts stand-ins
            # in its own, for the close to edit.
            for guild_id in own:
                channel = bot.get_channel(channels[guild_id].id)
                assert isinstance(channel, discord.TextChannel)
                stand_in = await channel.send("(the network proposal)")
                async with bot.database.write() as session:
                    await session.exec(
                        update(Decision)
                        .where(col(Decision.guild_id) == guild_id, col(Decision.link_kind) == PROPOSAL_LINK)
                        .values(channel_id=channel.id, message_id=stand_in.id)
                    )
        if mode == "close-crash":

            async def die(owed: OwedMessage) -> None:
                os._exit(3)  # killed the moment the close is committed and its announcement is owed

            bot.outbox.register(CLOSED_KIND, die)
        posted: list[int] = []
        votes = 0
        await bot.due.run_now()
        await env.settle()
        if mode == "vote":
            for guild_id in own:
                for message in channels[guild_id].history():
                    if message.embeds and "Network proposal" in str(
                        [f.name for f in message.embeds[0].fields]
                    ):
                        posted.append(message.id)
                        for person in people[guild_id]:
                            clicked = await person.click(message, label="No objection")
                            votes += (
                                clicked.response is not None and "is recorded" in clicked.response.content
                            )
        elif mode == "close":
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not await _all_delivered(bot, own):
                await asyncio.sleep(0.2)
                await bot.due.run_now()
                await env.settle()
        results = sum(
            1
            for guild_id in own
            for message in channels[guild_id].history()
            if "has closed" in message.content
        )
        await bot.close()
    print(
        json.dumps(
            {"posted": len(posted), "votes": votes, "announced": sorted(announced), "results": results}
        )
    )


async def _all_delivered(bot: object, guild_ids: list[int]) -> bool:
    """The network decided, and nothing owed to these servers about its close is still pending."""
    database = bot.database  # type: ignore[attr-defined]
    async with database.read() as session:
        open_proposals = (
            await session.exec(
                select(func.count()).select_from(NetworkProposal).where(NetworkProposal.status == "open")
            )
        ).one()
        copies = (
            await session.exec(
                select(Decision.id).where(
                    col(Decision.guild_id).in_(guild_ids), Decision.link_kind == PROPOSAL_LINK
                )
            )
        ).all()
        pending = (
            await session.exec(
                select(OwedMessage.key).where(
                    OwedMessage.kind == CLOSED_KIND, OwedMessage.status == DeliveryStatus.PENDING.value
                )
            )
        ).all()
    waiting = [key for key in pending if int(key.split(":")[1]) in copies]
    return bool(open_proposals == 0 and not waiting)


if __name__ == "__main__":
    url, count, shards, guilds, mode, minutes = sys.argv[1:7]
    asyncio.run(
        main(
            url,
            int(count),
            [int(s) for s in shards.split(",")],
            [int(g) for g in guilds.split(",")],
            mode,
            int(minutes),
        )
    )
