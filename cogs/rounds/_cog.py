"""Funding rounds in Discord: /round and /bucket, the posts of buckets with their fund buttons, and the
round's clock (funding opens, nudges, the close with its results and chart).

Longer than 700 lines on purpose: a slash command group is one class in discord.py (its commands, their
autocompletes and the handlers its buttons call), so the group stays in one module; its forms, buttons
and embeds live in the modules beside it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._common import (
    AMOUNT,
    actor_of,
    guild_id_of,
    language_for,
    network_choices,
    requires,
    send_ephemeral,
)
from cogs._scheduling import DueHandler
from cogs._text import AUTOCOMPLETE_LIMIT, one_line, plain, shorten
from cogs.rounds._forms import AmountModal, BucketModal, RoundModal
from cogs.rounds._items import PERSISTENT_ITEMS, bucket_view
from cogs.rounds._network import NetworkRoundPosts
from cogs.rounds._render import (
    bucket_embed,
    money,
    results_text,
    round_embed,
    round_name,
)
from governance import reminders, rounds
from governance.errors import InvalidInput
from governance.i18n import LowerCased, Text, _, _n
from governance.permissions import (
    require_fund_steward,
    require_insider,
    require_member,
    require_moderator,
    require_treasurer,
)
from governance.records import MAX_ID, Bucket, ConcernStatus, Round, RoundPhase
from governance.rounds import RoundDraft
from governance.timeparse import discord_timestamp

log = logging.getLogger(__name__)

ID = app_commands.Range[int, 1, MAX_ID]
DURATION = app_commands.Range[str, 1, 32]


class Rounds(NetworkRoundPosts):
    round_group = app_commands.Group(
        name="round", description="Funding rounds: members share a pot out among buckets", guild_only=True
    )
    bucket_group = app_commands.Group(
        name="bucket", description="Buckets: the projects members fund in a round", guild_only=True
    )

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        self.bot.due.register(DueHandler("rounds.due", self._run_due, self._next_due))
        self.bot.due.register(DueHandler("rounds.nudges", self._run_nudges, self._next_nudge))
        self._register_network_senders()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)
        self.bot.due.unregister("rounds.due")
        self.bot.due.unregister("rounds.nudges")
        self._unregister_network_senders()

    # --- rounds ------------------------------------------------------------------------------------

    @round_group.command(name="new")
    @requires(require_fund_steward)
    @app_commands.describe(
        fund="The fund the pot comes from",
        pot="How much the round shares out, e.g. 1,000",
        funding="How long funding stays open, e.g. 7d",
        ideas="How long buckets are proposed before funding opens, e.g. 3d (0: funding opens now)",
        allocation="Each person's share (default: the pot split equally when funding opens)",
        role="Who gets a share (default: the members)",
        max_per_bucket="The most one person may put into one bucket",
        own_buckets="May creators fund their own bucket? (default yes)",
        creators_open="May a bucket's creators open it for funding without a moderator? (default no)",
        decide_first="Do the members decide first whether to hold this round? (default no)",
        network="A network round: the pot comes from this network's fund, and all its cooperatives take part",
    )
    async def round_new(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: app_commands.Range[str, 1, 100],
        pot: AMOUNT,
        funding: DURATION,
        ideas: DURATION = "3d",
        allocation: AMOUNT | None = None,
        role: discord.Role | None = None,
        max_per_bucket: AMOUNT | None = None,
        own_buckets: bool = True,
        creators_open: bool = False,
        decide_first: bool = False,
        network: app_commands.Range[str, 1, 80] | None = None,
    ) -> None:
        """Set up a funding round (a form asks for its title, purpose and guidelines)."""
        if role is not None and (role.is_default() or role.managed):
            raise InvalidInput(_("Choose a role people hold, not @everyone or a bot's role."))
        draft = RoundDraft(
            title="",
            fund=fund,
            pot=pot,
            ideas=ideas,
            funding=funding,
            allocation=allocation,
            role_id=role.id if role else None,
            max_per_bucket=max_per_bucket,
            own_buckets=own_buckets,
            creators_open=creators_open,
            decide_first=decide_first,
            network=network,
        )
        await rounds.check_round(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            draft=draft,
            now=self._now(),
        )
        await interaction.response.send_modal(RoundModal(self, draft, language_for(interaction)))

    async def publish_round(
        self,
        interaction: discord.Interaction[Any],
        draft: RoundDraft,
        *,
        title: str,
        description: str,
        guidelines: tuple[str, ...],
    ) -> None:
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self._now()
        receipt = await rounds.create_round(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            draft=RoundDraft(
                **{**draft.__dict__, "title": title, "description": description, "guidelines": guidelines}
            ),
            now=now,
            language=await self._coop_language(guild_id),  # its proposal, if any, is public
        )
        round_ = receipt.round
        assert round_.id is not None
        if round_.network_id is not None:
            await self.bot.outbox.send_due()  # this server's post of the round, or of the network's decision
            network_set_up = (
                _(
                    "Network {round} is set up; the network decides first whether to hold it (N{proposal}), "
                    "posted in every member cooperative.",
                    round=round_name(round_),
                    proposal=receipt.network_proposal_id,
                )
                if receipt.network_proposal_id is not None
                else _(
                    "Network {round} is set up; {amount} is set aside from {fund} and every member "
                    "cooperative is told. {phase}.",
                    round=round_name(round_),
                    amount=money(round_.pot, round_),
                    fund=receipt.source,
                    phase=rounds.phase_line(round_),
                )
            )
            await send_ephemeral(interaction, network_set_up)
            return
        if receipt.decision is not None:
            message = await self._post_decision(receipt.decision, now)
            set_up = (
                _(
                    "{round} is set up; the members decide in proposal #{proposal}.",
                    round=round_name(round_),
                    proposal=receipt.decision.id,
                )
                if message
                else _("{round} is set up; its proposal could not be posted.", round=round_name(round_))
            )
            await send_ephemeral(interaction, set_up)
            return
        overview = await rounds.round_overview(self.bot.database, guild_id, round_.id)
        language = await self._coop_language(guild_id)  # a public post: the cooperative's language
        opened = _(
            "A funding round is open for ideas: propose a bucket with `/bucket new round:{round}`.",
            round=round_.id,
        )
        await self._post(
            round_.channel_id,
            f"📣 {opened.render(language)}",
            embed=round_embed(overview, language),
        )
        await send_ephemeral(
            interaction,
            _(
                "{round} is open for ideas; {amount} is set aside from {fund}. {phase}.",
                round=round_name(round_),
                amount=money(round_.pot, round_),
                fund=receipt.source,
                phase=rounds.phase_line(round_),
            ),
        )

    @round_group.command(name="list")
    @requires(require_insider)
    async def round_list(self, interaction: discord.Interaction[CoopBot]) -> None:
        """The rounds, newest first."""
        found = await rounds.list_rounds(self.bot.database, guild_id_of(interaction))
        if not found:
            await send_ephemeral(
                interaction, _("No round yet. Moderators and treasurers start one with /round new.")
            )
            return
        language = language_for(interaction)
        lines = [
            f"**#{r.id}** {plain(one_line(r.title, 60))} · {money(r.pot, r).render(language)} · "
            f"{rounds.phase_line(r).render(language)}"
            for r in found
        ]
        embed = discord.Embed(
            title=_("Funding rounds").render(language), description=shorten("\n".join(lines), 4000)
        )
        await send_ephemeral(interaction, embed=embed)

    @round_group.command(name="show")
    @requires(require_insider)
    @app_commands.describe(round="The round's number")
    async def round_show(self, interaction: discord.Interaction[CoopBot], round: ID) -> None:
        """A round: its pot, phase, buckets and what you have left to spend."""
        overview = await rounds.round_overview(
            self.bot.database, guild_id_of(interaction), round, interaction.user.id
        )
        await send_ephemeral(interaction, embed=round_embed(overview, language_for(interaction)))

    @round_group.command(name="allocate")
    @requires(require_treasurer)
    @app_commands.describe(
        round="The round's number",
        amount="The amount",
        member="One person (default: everyone who receives a share)",
        add="Add to what they have (default) or set it to this amount",
    )
    async def round_allocate(
        self,
        interaction: discord.Interaction[CoopBot],
        round: ID,
        amount: AMOUNT,
        member: discord.Member | None = None,
        add: bool = True,
    ) -> None:
        """A treasurer gives one person, or everyone, more to spend (or sets it)."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        round_ = await rounds.get_round(self.bot.database, guild_id, round)
        people = [member.id] if member else await self._recipients(interaction.guild, round_)
        changes = await rounds.set_allocations(
            self.bot.database,
            guild_id=guild_id,
            round_id=round,
            actor=actor_of(interaction),
            member_ids=people,
            amount=amount,
            add=add,
            now=self._now(),
        )
        if len(changes) == 1:
            change = changes[0]
            text = _(
                "{person} now has {amount} in round #{round} (was {before}).",
                person=f"<@{change.member_id}>",
                amount=money(change.after, round_),
                round=round,
                before=money(change.before, round_),
            )
        else:
            text = _n(
                "{count} people's allocations in round #{round} changed.",
                "{count} people's allocations in round #{round} changed.",
                len(changes),
                round=round,
            )
        await send_ephemeral(interaction, text)

    @round_group.command(name="close")
    @requires(require_moderator)
    @app_commands.describe(round="The round's number")
    async def round_close(self, interaction: discord.Interaction[CoopBot], round: ID) -> None:
        """Close a round now (moderators): buckets at their minimum are funded, the rest refunded."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        closed = await rounds.close_round(
            self.bot.database,
            guild_id=guild_id,
            round_id=round,
            now=self._now(),
            actor=actor_of(interaction),
            language=await self._coop_language(guild_id),  # the funded buckets' requests
        )
        assert closed is not None  # an early close is refused, never skipped
        if closed.round.network_id is not None:
            await self.bot.outbox.send_due()  # every member cooperative announces it, this one first
        else:
            await self._announce_close(closed)
        await send_ephemeral(
            interaction,
            _n(
                "Round #{round} is closed: {count} bucket(s) funded.",
                "Round #{round} is closed: {count} bucket(s) funded.",
                len(closed.funded),
                round=round,
            ),
        )

    @round_group.command(name="cancel")
    @requires(require_moderator)
    @app_commands.describe(round="The round's number")
    async def round_cancel(self, interaction: discord.Interaction[CoopBot], round: ID) -> None:
        """Cancel a round (moderators): every bucket is cancelled and the pot goes back to the fund."""
        guild_id = guild_id_of(interaction)
        cancelled = await rounds.cancel_round(
            self.bot.database, guild_id=guild_id, round_id=round, actor=actor_of(interaction), now=self._now()
        )
        if cancelled.network_id is not None:
            await self.bot.outbox.send_due()  # every member cooperative hears of it
        else:
            await self._refresh_round_posts(cancelled)
            language = await self._coop_language(guild_id)  # a public post: the cooperative's language
            news = _(
                "{round} was cancelled by {person}; its pot is back in the fund.",
                round=round_name(cancelled),
                person=f"<@{interaction.user.id}>",
            )
            await self._post(cancelled.channel_id, f"✖️ {news.render(language)}")
        await send_ephemeral(
            interaction,
            _("{round} is cancelled; the pot is back in the fund.", round=round_name(cancelled)),
        )

    # --- buckets -----------------------------------------------------------------------------------

    @bucket_group.command(name="new")
    @requires(require_member)
    @app_commands.describe(round="The round's number", co_creator="Someone who makes it with you")
    async def bucket_new(
        self, interaction: discord.Interaction[CoopBot], round: ID, co_creator: discord.Member | None = None
    ) -> None:
        """Propose a bucket in a round (a form asks for its budget)."""
        round_ = await rounds.get_round(self.bot.database, guild_id_of(interaction), round)
        if round_.phase not in (RoundPhase.IDEAS.value, RoundPhase.FUNDING.value):
            raise InvalidInput(
                _(
                    "Round #{round} is not taking buckets: {phase}.",
                    round=round,
                    phase=LowerCased(rounds.phase_line(round_)),
                )
            )
        others = (co_creator.id,) if co_creator and not co_creator.bot else ()
        await interaction.response.send_modal(BucketModal(self, round, others, language_for(interaction)))

    async def publish_bucket(
        self,
        interaction: discord.Interaction[Any],
        round_id: int,
        *,
        title: str,
        description: str,
        budget: str,
        co_creators: tuple[int, ...],
    ) -> None:
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        bucket = await rounds.propose_bucket(
            self.bot.database,
            guild_id=guild_id,
            round_id=round_id,
            actor=actor_of(interaction),
            title=title,
            description=description,
            budget=budget,
            co_creators=co_creators,
            now=self._now(),
        )
        round_ = await rounds.get_round(self.bot.database, guild_id, round_id)
        if round_.network_id is not None:
            await self.bot.outbox.send_due()  # posted in every member cooperative, here first
            await send_ephemeral(
                interaction,
                _(
                    "Bucket #{bucket} is proposed: {amount} at least. It is posted in every member "
                    "cooperative; a moderator here opens it for funding with /bucket approve.",
                    bucket=bucket.id,
                    amount=money(bucket.min_total, round_),
                ),
            )
            return
        message = await self.post_bucket(
            bucket,
            round_,
            _(
                "{person} proposes a bucket in round #{round}.",
                person=f"<@{interaction.user.id}>",
                round=round_id,
            ),
            emoji="💡",
        )
        where: Text | str = (
            self._where(message) if message else _("(I could not post it in the governance channel)")
        )
        await send_ephemeral(
            interaction,
            _(
                "Bucket #{bucket} is proposed: {amount} at least. A moderator opens it for funding with "
                "/bucket approve. {where}",
                bucket=bucket.id,
                amount=money(bucket.min_total, round_),
                where=where,
            ),
        )

    @bucket_group.command(name="list")
    @requires(require_insider)
    @app_commands.describe(round="Only this round (default: every open round)")
    async def bucket_list(self, interaction: discord.Interaction[CoopBot], round: ID | None = None) -> None:
        """The buckets of a round, or of every open round."""
        guild_id = guild_id_of(interaction)
        found = await rounds.list_buckets(self.bot.database, guild_id, round)
        if not found:
            await send_ephemeral(interaction, _("No bucket yet: propose one with /bucket new."))
            return
        language = language_for(interaction)
        cache: dict[int, Round] = {}
        lines = []
        for bucket in found:
            round_ = cache.get(bucket.round_id) or await rounds.get_round(
                self.bot.database, guild_id, bucket.round_id
            )
            cache[bucket.round_id] = round_
            line = _(
                "**#{bucket}** {title} · round #{round} · {status} · {funded} of {minimum}",
                bucket=bucket.id,
                title=plain(one_line(bucket.title, 50)),
                round=bucket.round_id,
                status=bucket.status,
                funded=money(bucket.funded, round_),
                minimum=money(bucket.min_total, round_),
            )
            lines.append(line.render(language))
        embed = discord.Embed(
            title=_("Buckets").render(language), description=shorten("\n".join(lines), 4000)
        )
        await send_ephemeral(interaction, embed=embed)

    @bucket_group.command(name="show")
    @requires(require_insider)
    @app_commands.describe(bucket="The bucket's number")
    async def bucket_show(self, interaction: discord.Interaction[CoopBot], bucket: ID) -> None:
        """A bucket: its budget, funding, funders and concerns, and what you hold in it."""
        await self.show_bucket(interaction, bucket)

    async def show_bucket(self, interaction: discord.Interaction[Any], bucket_id: int) -> None:
        await self._insider(interaction)
        guild_id = guild_id_of(interaction)
        view = await rounds.bucket_view(self.bot.database, guild_id, bucket_id)
        concerns = [c for c in view.concerns if c.status == ConcernStatus.OPEN.value]
        language = language_for(interaction)
        embed = bucket_embed(
            view.bucket,
            view.round,
            funders=len(view.funders),
            open_concerns=len(concerns),
            language=language,
        )
        for concern in view.concerns[:5]:
            mark = _("❓ Open") if concern.status == ConcernStatus.OPEN.value else _("✔️ Resolved")
            guideline = (
                view.round.guidelines[concern.guideline - 1]
                if concern.guideline <= len(view.round.guidelines)
                else ""
            )
            value = _(
                "{concern} (by {person})",
                concern=plain(shorten(concern.text, 300)),
                person=f"<@{concern.raised_by}>",
            ).render(language)
            if concern.resolution:
                resolution = _(
                    "**Resolution:** {resolution}", resolution=plain(shorten(concern.resolution, 300))
                )
                value += "\n" + resolution.render(language)
            name = _(
                "{status} concern #{number} · guideline {guideline}: {text}",
                status=mark,
                number=concern.id,
                guideline=concern.guideline,
                text=guideline,
            )
            embed.add_field(
                name=shorten(name.render(language), 256), value=shorten(value, 1024), inline=False
            )
        overview = await rounds.round_overview(
            self.bot.database, guild_id, view.round.id or 0, interaction.user.id
        )
        yours = view.funders.get(interaction.user.id, 0)
        lines = [_("You have {amount} in it.", amount=money(yours, view.round)).render(language)]
        if overview.yours is not None:
            left = overview.yours.allocated - overview.yours.spent
            lines.append(
                _(
                    "You have {amount} left to spend in round #{round}.",
                    amount=money(left, view.round),
                    round=view.round.id,
                ).render(language)
            )
        await send_ephemeral(interaction, " ".join(lines), embed=embed)

    @bucket_group.command(name="approve")
    @requires(require_member)
    @app_commands.describe(bucket="The bucket's number")
    async def bucket_approve(self, interaction: discord.Interaction[CoopBot], bucket: ID) -> None:
        """Open a bucket for funding (moderators, or its creators when the round lets them)."""
        guild_id = guild_id_of(interaction)
        opened = await rounds.open_bucket(
            self.bot.database,
            guild_id=guild_id,
            bucket_id=bucket,
            actor=actor_of(interaction),
            now=self._now(),
        )
        round_ = await rounds.get_round(self.bot.database, guild_id, opened.round_id)
        await self.refresh_bucket_post(opened, round_, guild_id)
        await send_ephemeral(
            interaction,
            _("Bucket #{bucket} is open for funding; members can fund it now.", bucket=bucket)
            if round_.phase == RoundPhase.FUNDING.value
            else _(
                "Bucket #{bucket} is open for funding; members can fund it when funding opens.", bucket=bucket
            ),
        )

    @bucket_group.command(name="fund")
    @requires(require_insider)
    @app_commands.describe(bucket="The bucket's number", amount="How much of your allocation to put in")
    async def bucket_fund(
        self, interaction: discord.Interaction[CoopBot], bucket: ID, amount: AMOUNT
    ) -> None:
        """Put money from your allocation into a bucket."""
        await self.fund_typed(interaction, bucket, amount)

    @bucket_group.command(name="withdraw")
    @requires(require_insider)
    @app_commands.describe(bucket="The bucket's number", amount="How much to take back (default: all of it)")
    async def bucket_withdraw(
        self, interaction: discord.Interaction[CoopBot], bucket: ID, amount: AMOUNT | None = None
    ) -> None:
        """Take back money you put into a bucket, while funding lasts."""
        await self._withdraw(interaction, bucket, amount)

    @bucket_group.command(name="cancel")
    @requires(require_member)
    @app_commands.describe(bucket="The bucket's number")
    async def bucket_cancel(self, interaction: discord.Interaction[CoopBot], bucket: ID) -> None:
        """Cancel a bucket (its creators or a moderator): its funders get their money back."""
        guild_id = guild_id_of(interaction)
        cancelled = await rounds.cancel_bucket(
            self.bot.database,
            guild_id=guild_id,
            bucket_id=bucket,
            actor=actor_of(interaction),
            now=self._now(),
        )
        round_ = await rounds.get_round(self.bot.database, guild_id, cancelled.bucket.round_id)
        await self.refresh_bucket_post(cancelled.bucket, round_, guild_id)
        language = await self._coop_language(guild_id)  # a DM: the cooperative's language
        for member_id, refund in cancelled.refunds.items():
            told = _(
                "Bucket #{bucket} ({title}) was cancelled: the {amount} you put in is back in your balance "
                "for round #{round}.",
                bucket=bucket,
                title=one_line(cancelled.bucket.title, 60),
                amount=money(refund, round_),
                round=round_.id,
            )
            await self._dm(member_id, told.render(language))
        await send_ephemeral(
            interaction,
            _n(
                "Bucket #{bucket} is cancelled; {count} funder(s) got their money back.",
                "Bucket #{bucket} is cancelled; {count} funder(s) got their money back.",
                len(cancelled.refunds),
                bucket=bucket,
            ),
        )

    @bucket_group.command(name="concern")
    @requires(require_member)
    @app_commands.describe(
        bucket="The bucket's number", guideline="The guideline's number", concern="What worries you"
    )
    async def bucket_concern(
        self,
        interaction: discord.Interaction[CoopBot],
        bucket: ID,
        guideline: app_commands.Range[int, 1, rounds.MAX_GUIDELINES],
        concern: app_commands.Range[str, 1, rounds.MAX_CONCERN],
    ) -> None:
        """Raise a concern about a bucket against one of the round's guidelines."""
        raised = await rounds.raise_concern(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            bucket_id=bucket,
            actor=actor_of(interaction),
            guideline=guideline,
            text=concern,
            now=self._now(),
        )
        view = await rounds.bucket_view(self.bot.database, raised.guild_id, bucket)
        language = await self._coop_language(raised.guild_id)  # a DM: the cooperative's language
        told = _(
            "A concern was raised about your bucket #{bucket} against guideline {guideline}: {concern} — "
            "resolve it with /bucket resolve concern:{number}.",
            bucket=bucket,
            guideline=guideline,
            concern=shorten(raised.text, 500),
            number=raised.id,
        )
        for creator in {view.bucket.creator_id, *view.bucket.co_creators}:
            await self._dm(creator, told.render(language))
        await send_ephemeral(
            interaction, _("Concern #{number} is raised; the bucket's creators are told.", number=raised.id)
        )

    @bucket_group.command(name="resolve")
    @requires(require_member)
    @app_commands.describe(concern="The concern's number", resolution="How it was resolved")
    async def bucket_resolve(
        self,
        interaction: discord.Interaction[CoopBot],
        concern: ID,
        resolution: app_commands.Range[str, 1, rounds.MAX_CONCERN],
    ) -> None:
        """Resolve a concern about your bucket (its creators or a moderator)."""
        resolved = await rounds.resolve_concern(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            concern_id=concern,
            actor=actor_of(interaction),
            resolution=resolution,
            now=self._now(),
        )
        language = await self._coop_language(guild_id_of(interaction))  # a DM: the cooperative's language
        told = _(
            "Your concern #{number} was resolved: {resolution}",
            number=concern,
            resolution=shorten(resolution, 500),
        )
        await self._dm(resolved.raised_by, told.render(language))
        await send_ephemeral(interaction, _("Concern #{number} is resolved.", number=concern))

    # --- money in and out ---------------------------------------------------------------------------

    async def ask_amount(self, interaction: discord.Interaction[Any], bucket_id: int) -> None:
        await self._insider(interaction)
        guild_id = guild_id_of(interaction)
        view = await rounds.bucket_view(self.bot.database, guild_id, bucket_id)
        overview = await rounds.round_overview(
            self.bot.database, guild_id, view.round.id or 0, interaction.user.id
        )
        if overview.yours is None:
            raise InvalidInput(
                _(
                    "You have no allocation in round #{round}: a treasurer can give you one.",
                    round=view.round.id,
                )
            )
        left = money(overview.yours.allocated - overview.yours.spent, view.round)
        await interaction.response.send_modal(AmountModal(self, bucket_id, left, language_for(interaction)))

    async def fund_from_button(
        self, interaction: discord.Interaction[Any], bucket_id: int, amount: int
    ) -> None:
        await self._fund(interaction, bucket_id, amount)

    async def fund_typed(self, interaction: discord.Interaction[Any], bucket_id: int, amount: str) -> None:
        await self._fund(interaction, bucket_id, amount)

    async def withdraw_from_button(self, interaction: discord.Interaction[Any], bucket_id: int) -> None:
        await self._withdraw(interaction, bucket_id, None)

    async def _insider(self, interaction: discord.Interaction[Any]) -> None:
        """The command's own check, for the buttons and forms that reach the same action."""
        require_insider(await self._settings(guild_id_of(interaction)), actor_of(interaction))

    async def _fund(self, interaction: discord.Interaction[Any], bucket_id: int, amount: str | int) -> None:
        await self._insider(interaction)
        receipt = await rounds.fund_bucket(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            bucket_id=bucket_id,
            actor=actor_of(interaction),
            amount=amount,
            idempotency_key=str(interaction.id),
            now=self._now(),
        )
        await self._answer_move(interaction, receipt)

    async def _withdraw(
        self, interaction: discord.Interaction[Any], bucket_id: int, amount: str | None
    ) -> None:
        await self._insider(interaction)
        receipt = await rounds.withdraw_from_bucket(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            bucket_id=bucket_id,
            actor=actor_of(interaction),
            amount=amount,
            idempotency_key=str(interaction.id),
            now=self._now(),
        )
        await self._answer_move(interaction, receipt)

    async def _answer_move(
        self, interaction: discord.Interaction[Any], receipt: rounds.FundingReceipt
    ) -> None:
        bucket = receipt.bucket
        guild_id = guild_id_of(interaction)
        round_ = await rounds.get_round(self.bot.database, guild_id, bucket.round_id)
        values = {
            "amount": money(abs(receipt.moved), round_),
            "bucket": bucket.id,
            "held": money(receipt.yours, round_),
            "left": money(receipt.remaining, round_),
        }
        moved = (
            _(
                "You put {amount} into bucket #{bucket}: you have {held} in it and {left} left to spend.",
                **values,
            )
            if receipt.moved > 0
            else _(
                "You took back {amount} from bucket #{bucket}: you have {held} in it and {left} left to "
                "spend.",
                **values,
            )
        )
        language = language_for(interaction)
        text = moved.render(language)
        if bucket.status == "funded":
            text += " 🎉 " + _("It is fully funded.").render(language)
        await send_ephemeral(interaction, text)
        await self.refresh_bucket_post(bucket, round_, guild_id)

    # --- posts -------------------------------------------------------------------------------------

    async def post_bucket(
        self, bucket: Bucket, round_: Round, text: Text | str, *, emoji: str = ""
    ) -> discord.Message | None:
        """Post a bucket in the round's channel with its buttons (`text` above it, after `emoji`, in the
        cooperative's language), and remember where."""
        language = await self._coop_language(bucket.guild_id)
        said = text.render(language) if isinstance(text, Text) else text
        message = await self._post(
            round_.channel_id,
            f"{emoji} {said}" if emoji else said,
            embed=bucket_embed(bucket, round_, funders=0, language=language),
            view=bucket_view(bucket, round_, language),
        )
        if message is not None:
            await rounds.attach_bucket_message(
                self.bot.database,
                guild_id=bucket.guild_id,
                bucket_id=bucket.id or 0,
                channel_id=message.channel.id,
                message_id=message.id,
            )
        return message

    async def refresh_bucket_post(self, bucket: Bucket, round_: Round, guild_id: int) -> None:
        """Show the bucket as it is now under its post (for a network round, its posts in every member
        cooperative), with the buttons its state allows."""
        if round_.network_id is not None:
            await self._refresh_network_bucket(bucket, guild_id)
            return
        if bucket.channel_id is None or bucket.message_id is None:
            return
        channel = await self._channel(bucket.channel_id)
        if channel is None:
            return
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        post = await self._bucket_post(bucket.guild_id, bucket.id or 0)
        try:
            await channel.get_partial_message(bucket.message_id).edit(**post)
        except discord.HTTPException:
            log.warning("Could not update the post of bucket %s", bucket.id, exc_info=True)

    async def _refresh_round_posts(self, round_: Round) -> None:
        for bucket in await rounds.list_buckets(self.bot.database, round_.guild_id, round_.id):
            await self.refresh_bucket_post(bucket, round_, round_.guild_id)

    async def _announce_close(self, closed: rounds.ClosedRound) -> None:
        round_ = closed.round
        await self._refresh_round_posts(round_)
        language = await self._coop_language(round_.guild_id)  # a public post and DMs: the cooperative's
        files = await self._results_chart(closed, language)
        await self._post(round_.channel_id, results_text(closed, language), files=files)
        await self._tell_funded_creators(closed, language)

    # --- the clock ---------------------------------------------------------------------------------

    async def _next_due(self) -> datetime | None:
        return await rounds.next_round_due(self.bot.database, self._served_guilds())

    async def _run_due(self, now: datetime) -> None:
        for round_ in await rounds.rounds_due(self.bot.database, now, self._served_guilds()):
            assert round_.id is not None
            network_round = round_.network_id is not None  # each member cooperative does its own part
            if round_.phase == RoundPhase.IDEAS.value:
                people = (
                    []
                    if network_round
                    else await self._recipients(self.bot.get_guild(round_.guild_id), round_)
                )
                opened = await rounds.open_funding(
                    self.bot.database,
                    guild_id=round_.guild_id,
                    round_id=round_.id,
                    recipients=people,
                    now=now,
                )
                if opened is not None and not network_round:
                    await self._announce_funding(opened, people)
            else:
                closed = await rounds.close_round(
                    self.bot.database,
                    guild_id=round_.guild_id,
                    round_id=round_.id,
                    now=now,
                    language=await self._coop_language(round_.guild_id),  # the funded buckets' requests
                )
                if closed is not None and not network_round:
                    await self._announce_close(closed)

    async def _announce_funding(self, round_: Round, people: list[int]) -> None:
        await self._refresh_round_posts(round_)
        language = await self._coop_language(round_.guild_id)  # a public post and DMs: the cooperative's
        funding = _n(
            "Funding is open in {round}: {count} people have {amount} each to put into buckets, until closes "
            "{closes}. Use the buttons under each bucket, or /bucket fund.",
            "Funding is open in {round}: {count} people have {amount} each to put into buckets, until closes "
            "{closes}. Use the buttons under each bucket, or /bucket fund.",
            len(people),
            round=round_name(round_),
            amount=money(round_.per_member, round_),
            closes=discord_timestamp(round_.funding_closes_at, "R"),
        )
        await self._post(round_.channel_id, f"🪣 {funding.render(language)}")
        told = _(
            "You have {amount} to spend in round #{round} ({title}): fund the buckets you want to see "
            "happen.",
            amount=money(round_.per_member, round_),
            round=round_.id,
            title=one_line(round_.title, 60),
        )
        for user_id in sorted(await reminders.dm_opted_in(self.bot.database, round_.guild_id, people)):
            await self._dm(user_id, f"🪣 {told.render(language)}")

    async def _next_nudge(self) -> datetime | None:
        return await rounds.next_round_nudge(self.bot.database, self._served_guilds())

    async def _run_nudges(self, now: datetime) -> None:
        for nudge in await rounds.claim_round_nudges(self.bot.database, now, self._served_guilds()):
            round_ = nudge.round
            language = await self._coop_language(round_.guild_id)  # a public post or DMs: the cooperative's
            if nudge.phase == RoundPhase.IDEAS.value:
                ideas = _(
                    "{round} takes ideas until {opens}: propose a bucket with `/bucket new round:{number}`.",
                    round=round_name(round_),
                    opens=discord_timestamp(round_.funding_opens_at, "R"),
                    number=round_.id,
                )
                await self._post(round_.channel_id, f"⏰ {ideas.render(language)}")
                continue
            for user_id, left in sorted(nudge.unspent.items()):
                nudged = _(
                    "Funding in round #{round} ({title}) closes soon and you still have {amount} to spend.",
                    round=round_.id,
                    title=one_line(round_.title, 60),
                    amount=money(left, round_),
                )
                await self._dm(user_id, f"⏰ {nudged.render(language)}")

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Someone who becomes a recipient while funding is open gets their share, while the pot lasts."""
        gained = set(after._roles) - set(before._roles)  # role ids without a cache lookup
        if not gained or after.bot:
            return
        settings = await self._settings(after.guild.id)
        for round_ in await rounds.list_rounds(self.bot.database, after.guild.id, open_only=True):
            if round_.phase != RoundPhase.FUNDING.value:
                continue
            role_id = round_.role_id or settings.member_role_id
            if role_id not in gained:
                continue
            given = await rounds.allocate_newcomer(
                self.bot.database,
                guild_id=after.guild.id,
                round_id=round_.id or 0,
                member_id=after.id,
                now=self._now(),
            )
            if given:
                language = await self._coop_language(after.guild.id)  # a DM: the cooperative's language
                told = _(
                    "You have {amount} to spend in round #{round}.",
                    amount=money(given, round_),
                    round=round_.id,
                )
                await self._dm(after.id, f"🪣 {told.render(language)}")

    # --- autocomplete -----------------------------------------------------------------------------

    @round_new.autocomplete("network")
    async def _network_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await network_choices(interaction, current)

    @round_show.autocomplete("round")
    @round_allocate.autocomplete("round")
    @round_close.autocomplete("round")
    @round_cancel.autocomplete("round")
    @bucket_new.autocomplete("round")
    @bucket_list.autocomplete("round")
    async def _round_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        needle = current.strip().lstrip("#").lower()
        found = await rounds.list_rounds(self.bot.database, interaction.guild_id, limit=100)
        return [
            app_commands.Choice(name=shorten(f"#{r.id} {r.title} · {r.phase}", 100), value=r.id or 0)
            for r in found
            if needle in f"{r.id} {r.title}".lower()
        ][:AUTOCOMPLETE_LIMIT]

    @bucket_show.autocomplete("bucket")
    @bucket_approve.autocomplete("bucket")
    @bucket_fund.autocomplete("bucket")
    @bucket_withdraw.autocomplete("bucket")
    @bucket_cancel.autocomplete("bucket")
    @bucket_concern.autocomplete("bucket")
    async def _bucket_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        needle = current.strip().lstrip("#").lower()
        found = await rounds.list_buckets(self.bot.database, interaction.guild_id)
        return [
            app_commands.Choice(name=shorten(f"#{b.id} {b.title} · {b.status}", 100), value=b.id or 0)
            for b in found
            if needle in f"{b.id} {b.title}".lower()
        ][:AUTOCOMPLETE_LIMIT]
