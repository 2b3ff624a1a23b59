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
from typing import Any

import discord

from cogs._base import CoopCog
from cogs._charts import Tone, render_bar_chart
from cogs._delivery import owed_elsewhere
from cogs._text import one_line
from cogs.rounds._items import bucket_view
from cogs.rounds._render import bucket_embed, chart_of, money, results_text, round_embed, round_name
from governance import outbox, reminders, rounds
from governance.errors import NotFound
from governance.i18n import SOURCE, _, _n
from governance.records import Bucket, ConcernStatus, OwedMessage, Round
from governance.timeparse import discord_timestamp

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
        language = await self._coop_language(guild_id)  # posts and DMs here: this cooperative's language
        if event == rounds.OPENED:
            overview = await rounds.round_overview(self.bot.database, guild_id, round_.id or 0)
            opened = _(
                "A network funding round is open for ideas: the members of every cooperative in the network "
                "propose buckets with `/bucket new round:{round}`, and fund them when funding opens.",
                round=round_.id,
            )
            await self._post(
                channel_id, f"📣 {opened.render(language)}", embed=round_embed(overview, language)
            )
        elif event == rounds.IDEAS_ENDING:
            ideas = _(
                "Network {round} takes ideas until {opens}: propose a bucket with "
                "`/bucket new round:{number}`.",
                round=round_name(round_),
                opens=discord_timestamp(round_.funding_opens_at, "R"),
                number=round_.id,
            )
            await self._post(channel_id, f"⏰ {ideas.render(language)}")
        elif event == rounds.FUNDING_ENDING:
            await self._nudge_unspent(guild_id, round_, language)
        elif event == rounds.CLOSED:
            await self._refresh_posts_here(guild_id, round_)
            await self._announce_network_close(guild_id, round_, channel_id, language)
        elif event == rounds.CANCELLED:
            await self._refresh_posts_here(guild_id, round_)
            cancelled = _(
                "Network {round} was cancelled; its pot is back in the network fund.",
                round=round_name(round_),
            )
            await self._post(channel_id, f"✖️ {cancelled.render(language)}")
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
        language = await self._coop_language(guild_id)  # a post and DMs here: this cooperative's language
        funding = _n(
            "Funding is open in network {round}: {count} people here have {amount} each to put into buckets, "
            "until closes {closes}. Use the buttons under each bucket, or /bucket fund.",
            "Funding is open in network {round}: {count} people here have {amount} each to put into buckets, "
            "until closes {closes}. Use the buttons under each bucket, or /bucket fund.",
            len(granted),
            round=round_name(round_),
            amount=money(round_.per_member, round_),
            closes=discord_timestamp(round_.funding_closes_at, "R"),
        )
        await self._post(channel_id, f"🪣 {funding.render(language)}")
        await outbox.step_done(self.bot.database, owed, "post")
        for user_id in sorted(await reminders.dm_opted_in(self.bot.database, guild_id, list(granted))):
            told = _(
                "You have {amount} to spend in network round #{round} ({title}): fund the buckets you want "
                "to see happen.",
                amount=money(granted[user_id], round_),
                round=round_.id,
                title=one_line(round_.title, 60),
            )
            await self._dm(user_id, f"🪣 {told.render(language)}")

    async def _nudge_unspent(self, guild_id: int, round_: Round, language: str = SOURCE) -> None:
        unspent = await rounds.unspent_in(self.bot.database, guild_id=guild_id, round_id=round_.id or 0)
        for user_id, left in sorted(unspent.items()):
            nudged = _(
                "Funding in network round #{round} ({title}) closes soon and you still have {amount} to "
                "spend.",
                round=round_.id,
                title=one_line(round_.title, 60),
                amount=money(left, round_),
            )
            await self._dm(user_id, f"⏰ {nudged.render(language)}")

    async def _announce_network_close(
        self, guild_id: int, round_: Round, channel_id: int | None, language: str = SOURCE
    ) -> None:
        closed = await rounds.closed_round_of(self.bot.database, guild_id, round_.id or 0)
        await self._post(
            channel_id, results_text(closed, language), files=await self._results_chart(closed, language)
        )
        await self._tell_funded_creators(closed, language, guild_id=guild_id)

    async def _tell_funded_creators(
        self, closed: rounds.ClosedRound, language: str, *, guild_id: int | None = None
    ) -> None:
        """DM each funded bucket's creator what it won (in a network round, only the creators of this
        cooperative's buckets: the others hear from their own cooperative's process)."""
        round_ = closed.round
        for bucket in closed.funded:
            if guild_id is not None and bucket.guild_id != guild_id:
                continue
            values = {
                "bucket": bucket.id,
                "amount": money(bucket.funded, round_),
                "round": round_.id,
                "request": bucket.request_id,
            }
            funded = (
                _(
                    "Your bucket #{bucket} was funded with {amount} in network round #{round}: network "
                    "request R{request} is approved, and a network treasurer pays it.",
                    **values,
                )
                if round_.network_id is not None
                else _(
                    "Your bucket #{bucket} was funded with {amount} in round #{round}: request #{request} is "
                    "approved, and a treasurer pays it.",
                    **values,
                )
            )
            await self._dm(bucket.creator_id, f"🎉 {funded.render(language)}")

    async def _results_chart(self, closed: rounds.ClosedRound, language: str = SOURCE) -> list[discord.File]:
        """The close's chart, labelled in `language`: what each bucket holds, the funded ones in gold."""
        round_ = closed.round
        title, labels, values, winners = chart_of(closed, language)
        if not labels:
            return []
        refunded = _("funded buckets in gold, the others refunded").render(language)
        chart = await asyncio.to_thread(
            render_bar_chart,
            title,
            labels,
            values,
            subtitle=f"{round_.currency} · {refunded}",
            value_format=lambda value: money(round(value), round_).render(language),
            tones=[Tone.WINNER if index in winners else Tone.NEUTRAL for index in range(len(labels))],
            highlight=winners,
            language=language,
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
        language = await self._coop_language(guild_id)  # a post here: this cooperative's language
        proposed = _("A bucket is proposed in network round #{round}.", round=view.round.id)
        message = await self._post(
            settings.governance_channel_id,
            f"💡 {proposed.render(language)}",
            embed=bucket_embed(view.bucket, view.round, funders=len(view.funders), language=language),
            view=bucket_view(view.bucket, view.round, language),
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

    async def _bucket_post(self, guild_id: int, bucket_id: int) -> dict[str, Any]:
        """A bucket's post as it is now, in this cooperative's language (a post here): its embed and the
        buttons its state allows."""
        view = await rounds.bucket_view(self.bot.database, guild_id, bucket_id)
        open_concerns = sum(1 for c in view.concerns if c.status == ConcernStatus.OPEN.value)
        language = await self._coop_language(guild_id)
        return {
            "embed": bucket_embed(
                view.bucket,
                view.round,
                funders=len(view.funders),
                open_concerns=open_concerns,
                language=language,
            ),
            "view": bucket_view(view.bucket, view.round, language),
        }

    async def _edit_bucket_post(
        self, bucket: Bucket, guild_id: int, channel_id: int, message_id: int
    ) -> None:
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        post = await self._bucket_post(guild_id, bucket.id or 0)
        try:
            await channel.get_partial_message(message_id).edit(**post)
        except discord.NotFound:
            return  # the post was deleted: nothing to keep current
        except discord.HTTPException as error:
            owed_elsewhere(error)
            log.warning("Could not update the post of bucket %s", bucket.id, exc_info=True)
