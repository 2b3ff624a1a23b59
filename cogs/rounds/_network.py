"""A network round in each member cooperative: what the outbox delivers to the process that serves it (the
round's news, each bucket's post and its fresh figures), and the share its members get when funding opens.

A mixin of the Rounds cog, apart because it is the cross-server half: the round itself is closed and
opened by its home cooperative's process; everything here runs in the process of the cooperative it is
owed to, and only touches that cooperative's channel and people.
"""

from __future__ import annotations

import asyncio
import io
import logging

import discord

from cogs._base import CoopCog
from cogs._charts import Tone, render_bar_chart
from cogs._delivery import owed_elsewhere
from cogs._text import one_line
from cogs.rounds._items import bucket_view
from cogs.rounds._render import bucket_embed, chart_of, money, results_text, round_embed, round_title
from governance import outbox, reminders, rounds
from governance.errors import NotFound
from governance.records import Bucket, ConcernStatus, OwedMessage, Round

log = logging.getLogger(__name__)


class NetworkRoundPosts(CoopCog):
    def _register_network_senders(self) -> None:
        self.bot.outbox.register(rounds.NETWORK_ROUND_KIND, self._deliver_round_news)
        self.bot.outbox.register(rounds.NETWORK_BUCKET_KIND, self._deliver_bucket)

    def _unregister_network_senders(self) -> None:
        self.bot.outbox.unregister(rounds.NETWORK_ROUND_KIND)
        self.bot.outbox.unregister(rounds.NETWORK_BUCKET_KIND)

    async def _recipients(self, guild: discord.Guild | None, round_: Round) -> list[int]:
        """Who receives a share here: the holders of the round's role, else of the member role."""
        if guild is None:
            return []
        if not guild.chunked:
            await guild.chunk()
        role_id = round_.role_id or (await self._settings(guild.id)).member_role_id
        role = guild.get_role(role_id) if role_id else None
        return sorted(member.id for member in (role.members if role else []) if not member.bot)

    # --- the round's news -------------------------------------------------------------------------

    async def _deliver_round_news(self, owed: OwedMessage) -> None:
        guild_id, event = owed.guild_id, str(owed.payload["event"])
        try:
            round_ = await rounds.get_round(self.bot.database, guild_id, int(owed.payload["round_id"]))
        except NotFound:
            return  # this cooperative left the network meanwhile: the round is no longer its to show
        channel_id = (await self._settings(guild_id)).governance_channel_id
        if event == rounds.FUNDING:
            await self._open_funding_here(owed, round_, channel_id)
            return
        if outbox.is_done(owed, "post"):
            return
        if event == rounds.OPENED:
            overview = await rounds.round_overview(self.bot.database, guild_id, round_.id or 0)
            await self._post(
                channel_id,
                f"📣 A network funding round is open for ideas: the members of every cooperative in the "
                f"network propose buckets with `/bucket new round:{round_.id}`, and fund them when funding "
                "opens.",
                embed=round_embed(overview),
            )
        elif event == rounds.IDEAS_ENDING:
            await self._post(
                channel_id,
                f"⏰ Network {round_title(round_)} takes ideas until "
                f"{rounds.phase_line(round_).split('opens ')[-1]}: propose a bucket with "
                f"`/bucket new round:{round_.id}`.",
            )
        elif event == rounds.FUNDING_ENDING:
            await self._nudge_unspent(guild_id, round_)
        elif event == rounds.CLOSED:
            await self._refresh_posts_here(guild_id, round_)
            await self._announce_network_close(guild_id, round_, channel_id)
        elif event == rounds.CANCELLED:
            await self._refresh_posts_here(guild_id, round_)
            await self._post(
                channel_id,
                f"✖️ Network {round_title(round_)} was cancelled; its pot is back in the network fund.",
            )
        await outbox.step_done(self.bot.database, owed, "post")

    async def _open_funding_here(self, owed: OwedMessage, round_: Round, channel_id: int | None) -> None:
        """Funding opened: this cooperative's members get their share (once each: a retry grants nobody
        twice), the posts here show the buttons, and the members hear of it."""
        guild_id = owed.guild_id
        people = await self._recipients(self.bot.get_guild(guild_id), round_)
        granted = await rounds.grant_allocations(
            self.bot.database,
            guild_id=guild_id,
            round_id=round_.id or 0,
            recipients=people,
            now=self._now(),
            why="funding opened",
        )
        if outbox.is_done(owed, "post"):
            return
        await self._refresh_posts_here(guild_id, round_)
        await self._post(
            channel_id,
            f"🪣 Funding is open in network {round_title(round_)}: {len(granted)} people here have "
            f"{money(round_.per_member, round_)} each to put into buckets, until "
            f"{rounds.phase_line(round_).split('· ')[-1]}. Use the buttons under each bucket, or "
            "/bucket fund.",
        )
        await outbox.step_done(self.bot.database, owed, "post")
        for user_id in sorted(await reminders.dm_opted_in(self.bot.database, guild_id, list(granted))):
            await self._dm(
                user_id,
                f"🪣 You have {money(granted[user_id], round_)} to spend in network round #{round_.id} "
                f"({one_line(round_.title, 60)}): fund the buckets you want to see happen.",
            )

    async def _nudge_unspent(self, guild_id: int, round_: Round) -> None:
        unspent = await rounds.unspent_in(self.bot.database, guild_id=guild_id, round_id=round_.id or 0)
        for user_id, left in sorted(unspent.items()):
            await self._dm(
                user_id,
                f"⏰ Funding in network round #{round_.id} ({one_line(round_.title, 60)}) closes soon and "
                f"you still have {money(left, round_)} to spend.",
            )

    async def _announce_network_close(self, guild_id: int, round_: Round, channel_id: int | None) -> None:
        closed = await rounds.closed_round_of(self.bot.database, guild_id, round_.id or 0)
        await self._post(channel_id, results_text(closed), files=await self._results_chart(closed))
        for bucket in closed.funded:
            if bucket.guild_id != guild_id:
                continue  # its creators are told by their own cooperative's process
            await self._dm(
                bucket.creator_id,
                f"🎉 Your bucket #{bucket.id} was funded with {money(bucket.funded, round_)} in network "
                f"round #{round_.id}: network request R{bucket.request_id} is approved, and a network "
                "treasurer pays it.",
            )

    async def _results_chart(self, closed: rounds.ClosedRound) -> list[discord.File]:
        """The close's chart: what each bucket holds, the funded ones in gold."""
        round_ = closed.round
        title, labels, values, winners = chart_of(closed)
        if not labels:
            return []
        chart = await asyncio.to_thread(
            render_bar_chart,
            title,
            labels,
            values,
            subtitle=f"{round_.currency} · funded buckets in gold, the others refunded",
            value_format=lambda value: money(round(value), round_),
            tones=[Tone.WINNER if index in winners else Tone.NEUTRAL for index in range(len(labels))],
            highlight=winners,
        )
        return [
            discord.File(
                io.BytesIO(chart.png), filename=f"round-{round_.id}.png", description=chart.description
            )
        ]

    # --- the buckets' posts -----------------------------------------------------------------------

    async def _deliver_bucket(self, owed: OwedMessage) -> None:
        """Post a network round's bucket in this cooperative, or show its new figures under the post."""
        guild_id, bucket_id = owed.guild_id, int(owed.payload["bucket_id"])
        try:
            view = await rounds.bucket_view(self.bot.database, guild_id, bucket_id)
        except NotFound:
            return  # this cooperative left the network meanwhile
        post = await rounds.bucket_post_in(self.bot.database, bucket_id=bucket_id, guild_id=guild_id)
        if post is not None:
            await self._edit_bucket_post(view.bucket, guild_id, post.channel_id, post.message_id)
            return
        settings = await self._settings(guild_id)
        message = await self._post(
            settings.governance_channel_id,
            f"💡 A bucket is proposed in network round #{view.round.id}.",
            embed=bucket_embed(view.bucket, view.round, funders=len(view.funders)),
            view=bucket_view(view.bucket, view.round),
        )
        if message is not None:
            await rounds.attach_bucket_post(
                self.bot.database,
                bucket_id=bucket_id,
                guild_id=guild_id,
                channel_id=message.channel.id,
                message_id=message.id,
            )

    async def _refresh_network_bucket(self, bucket: Bucket, guild_id: int) -> None:
        """A network round's bucket changed here: its post here shows it now; the other cooperatives' posts
        are owed the new figures, each delivered by the process that serves it."""
        post = await rounds.bucket_post_in(self.bot.database, bucket_id=bucket.id or 0, guild_id=guild_id)
        if post is not None:
            await self._edit_bucket_post(bucket, guild_id, post.channel_id, post.message_id)
        if await rounds.owe_bucket_refresh(
            self.bot.database, bucket=bucket, except_guild=guild_id, now=self._now()
        ):
            await self.bot.outbox.send_due()

    async def _refresh_posts_here(self, guild_id: int, round_: Round) -> None:
        for bucket in await rounds.list_buckets(self.bot.database, guild_id, round_.id):
            post = await rounds.bucket_post_in(self.bot.database, bucket_id=bucket.id or 0, guild_id=guild_id)
            if post is not None:
                await self._edit_bucket_post(bucket, guild_id, post.channel_id, post.message_id)

    async def _edit_bucket_post(
        self, bucket: Bucket, guild_id: int, channel_id: int, message_id: int
    ) -> None:
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        view = await rounds.bucket_view(self.bot.database, guild_id, bucket.id or 0)
        open_concerns = sum(1 for c in view.concerns if c.status == ConcernStatus.OPEN.value)
        try:
            await channel.get_partial_message(message_id).edit(
                embed=bucket_embed(
                    view.bucket, view.round, funders=len(view.funders), open_concerns=open_concerns
                ),
                view=bucket_view(view.bucket, view.round),
            )
        except discord.NotFound:
            return  # the post was deleted: nothing to keep current
        except discord.HTTPException as error:
            owed_elsewhere(error)
            log.warning("Could not update the post of bucket %s", bucket.id, exc_info=True)
