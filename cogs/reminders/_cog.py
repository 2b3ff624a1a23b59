"""/reminder (moderators: recurring channel reminders, the weekly digest, the rhythm's settings) and
/remind (anyone: personal reminders), plus the due handlers that send them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from fractions import Fraction

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._base import CoopCog
from cogs._common import NO_MENTIONS, actor_of, guild_id_of, language_for, requires, send_ephemeral
from cogs._delivery import Undeliverable, post_mentioning
from cogs._moderation import attach_to_mod, detach_from_mod
from cogs._scheduling import DueHandler
from cogs._text import FIELD_LIMIT, shorten
from cogs.proposals._cog import eligible_count
from cogs.proposals._render import percent
from governance import coop, nudges, reminders, rounds
from governance.errors import InvalidInput
from governance.i18n import SOURCE, Text, _, _n
from governance.money import Money
from governance.permissions import require_moderator
from governance.records import MAX_ID, OwedMessage, Reminder, ReminderKind, RequestStatus
from governance.schedules import parse_schedule
from governance.timeparse import Duration, discord_timestamp, parse_duration

log = logging.getLogger("coopbot.reminders")

CLAIM_BATCH = 500
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAY_CHOICES = [app_commands.Choice(name=name, value=index) for index, name in enumerate(WEEKDAYS)]
ReminderNumber = app_commands.Range[int, 1, MAX_ID]


def _late_note(run: reminders.DueRun, language: str = SOURCE) -> str:
    if run.late_by is None:
        return ""
    late = _("Late: this was due {due}, while I was offline.", due=discord_timestamp(run.due_at, "R"))
    return "\n-# " + late.render(language)


def _describe(reminder: Reminder, timezone: str) -> Text:
    """A reminder in a line (to render in the reader's language). A schedule's times are the cooperative's
    (``timezone``), and say so; the next run is a Discord timestamp, which every reader sees in their own
    time."""
    paused = reminder.status == "paused"
    said: dict[str, object] = {
        "number": reminder.id,
        "when": discord_timestamp(reminder.next_run_at, "f") if reminder.next_run_at else "—",
        "message": shorten(reminder.message, 120),
        "timezone": timezone,
    }
    if not reminder.schedule:
        return (
            _("**#{number}**, once (paused), next {when}: {message}", **said)
            if paused
            else _("**#{number}**, once, next {when}: {message}", **said)
        )
    said["schedule"] = parse_schedule(reminder.schedule)  # said in the reader's language
    if reminder.kind == ReminderKind.CHANNEL.value:
        said["channel"] = f"<#{reminder.channel_id}>"
        line = (
            _("**#{number}** in {channel}, {schedule} ({timezone}) (paused), next {when}: {message}", **said)
            if paused
            else _("**#{number}** in {channel}, {schedule} ({timezone}), next {when}: {message}", **said)
        )
    else:
        line = (
            _("**#{number}**, {schedule} ({timezone}) (paused), next {when}: {message}", **said)
            if paused
            else _("**#{number}**, {schedule} ({timezone}), next {when}: {message}", **said)
        )
    return line


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class GovernanceReminders(
    CoopCog,
    commands.GroupCog,
    group_name="reminder",
    group_description="Recurring governance reminders and the digest",
):
    async def cog_load(self) -> None:
        self.bot.due.register(DueHandler("reminders", self._claim_due, self._next_due))
        attach_to_mod(self.bot.tree, ReminderModeration(self))
        self.bot.due.register(DueHandler("funds.stale", self._claim_stale_requests, self._next_stale))
        self.bot.outbox.register(reminders.REMINDER_KIND, self._deliver_owed_run)
        self.bot.outbox.register(nudges.STALE_REQUEST_KIND, self._deliver_stale_request)

    async def cog_unload(self) -> None:
        detach_from_mod(self.bot.tree, "reminder")
        self.bot.due.unregister("reminders")
        self.bot.due.unregister("funds.stale")
        self.bot.outbox.unregister(reminders.REMINDER_KIND)
        self.bot.outbox.unregister(nudges.STALE_REQUEST_KIND)

    # --- sending what is due ----------------------------------------------------------------------

    async def _next_due(self) -> datetime | None:
        return await reminders.next_reminder_due(self.bot.database, self._served_guilds())

    async def _claim_due(self, now: datetime) -> None:
        """Claim what came due; each claim owes its message (delivered by the outbox, in the same pass)."""
        while True:  # a burst larger than one batch is claimed batch after batch, not one per alarm
            runs = await reminders.claim_due_reminders(
                self.bot.database, now, self._served_guilds(), limit=CLAIM_BATCH
            )
            if len(runs) < CLAIM_BATCH:
                return

    async def _deliver_owed_run(self, owed: OwedMessage) -> None:
        run = await reminders.owed_run(self.bot.database, owed)
        if run is not None:  # else removed since: nothing to say
            await self._deliver(run, self._now())

    async def _deliver(self, run: reminders.DueRun, now: datetime) -> None:
        reminder = run.reminder
        # A channel reminder on time says only its own text: the cooperative's language (a settings read)
        # is looked up only when the bot has words to add.
        needs_words = reminder.kind != ReminderKind.CHANNEL.value or run.late_by is not None
        language = await self._coop_language(reminder.guild_id) if needs_words else SOURCE
        if reminder.kind == ReminderKind.PERSONAL.value:
            # By DM; in public (a mention where it was set, pinging only that person) only when the
            # person's DMs are closed: never because the member cache is not complete yet.
            asked = _("You asked me to remind you: {reminder}", reminder=reminder.message).render(language)
            text = f"⏰ {asked}{_late_note(run, language)}"
            await self._tell(reminder.user_id, text, fallback_channel_id=reminder.channel_id)
            return
        channel = await self._channel(reminder.channel_id)
        if channel is None:
            raise Undeliverable(f"the channel {reminder.channel_id} is gone")
        if reminder.kind == ReminderKind.CHANNEL.value:
            await channel.send(
                f"🔔 {reminder.message}{_late_note(run, language)}", allowed_mentions=NO_MENTIONS
            )
        elif reminder.kind == ReminderKind.DIGEST.value:
            await channel.send(
                _late_note(run, language).strip() or None,
                embed=await self.digest_embed(reminder.guild_id, now),
                allowed_mentions=NO_MENTIONS,
            )

    async def digest_embed(self, guild_id: int, now: datetime) -> discord.Embed:
        digest = await reminders.build_digest(self.bot.database, guild_id, now)
        guild = self.bot.get_guild(guild_id)
        language = await self._coop_language(guild_id)  # a public post: the cooperative's language

        def say(text: Text) -> str:
            return text.render(language)

        embed = discord.Embed(
            title=say(_("Weekly governance digest")), colour=discord.Colour.teal(), timestamp=now
        )
        lines = []
        for decision, voters in digest.open_decisions:
            eligible = max(eligible_count(guild, decision), voters)
            share = percent(Fraction(voters, eligible) if eligible else None)
            lines.append(
                say(
                    _(
                        "**#{number}** {title}: {voters} of {eligible} voted ({share}), closes {closes}",
                        number=decision.id,
                        title=shorten(decision.title, 80),
                        voters=voters,
                        eligible=eligible,
                        share=share,
                        closes=discord_timestamp(decision.closes_at, "R"),
                    )
                )
            )
        embed.add_field(
            name=say(_("Open decisions")),
            value=shorten("\n".join(lines) or say(_("None open.")), FIELD_LIMIT),
            inline=False,
        )
        waiting = [
            f"**#{r.id}** {shorten(r.purpose, 80)}: "
            + (
                say(
                    _(
                        "{amount}, approved, to pay",
                        amount=Money(r.approved_amount, r.currency),
                    )
                )
                if r.approved_amount is not None and r.status == RequestStatus.APPROVED.value
                else Money(r.amount_min, r.currency).render(language)
            )
            for r in digest.waiting_requests
        ]
        embed.add_field(
            name=say(_("Requests waiting")),
            value=shorten("\n".join(waiting) or say(_("None waiting.")), FIELD_LIMIT),
            inline=False,
        )
        open_rounds = await rounds.list_rounds(self.bot.database, guild_id, open_only=True)
        if open_rounds:
            lines = [
                f"**#{r.id}** {shorten(r.title, 80)}: {Money(r.pot, r.currency).render(language)} · "
                f"{rounds.phase_line(r).render(language)}"
                for r in open_rounds
            ]
            embed.add_field(
                name=say(_("Funding rounds")), value=shorten("\n".join(lines), FIELD_LIMIT), inline=False
            )
        balances = [
            f"{fund.name}: {Money(fund.balance, fund.currency).render(language)}" for fund in digest.funds
        ]
        embed.add_field(
            name=say(_("Fund balances")),
            value=shorten("\n".join(balances) or say(_("No funds yet.")), FIELD_LIMIT),
            inline=False,
        )
        people = [say(_("{person} joined", person=f"<@{member.user_id}>")) for member in digest.joined] + [
            say(_("{person} became a member", person=f"<@{member.user_id}>")) for member in digest.admitted
        ]
        embed.add_field(
            name=say(_("New people")),
            value=shorten("\n".join(people) or say(_("No one new this week.")), FIELD_LIMIT),
            inline=False,
        )
        return embed

    async def _next_stale(self) -> datetime | None:
        return await nudges.next_stale_request(self.bot.database, self._served_guilds())

    async def _claim_stale_requests(self, now: datetime) -> None:
        """Claim the requests that waited too long; each claim owes the treasurers a notice."""
        await nudges.claim_stale_requests(self.bot.database, now, self._served_guilds())

    async def _deliver_stale_request(self, owed: OwedMessage) -> None:
        request = await nudges.owed_request(self.bot.database, owed)
        if request is None:
            return
        now = self._now()
        settings = await coop.get_settings(self.bot.database, request.guild_id, now)
        guild = self.bot.get_guild(request.guild_id)
        channel = await self._channel(settings.governance_channel_id)
        if guild is None or channel is None:
            raise Undeliverable("the governance channel is not set or is gone")
        role = guild.get_role(settings.treasurer_role_id) if settings.treasurer_role_id else None
        treasurers = sorted(member.id for member in (role.members if role else []) if not member.bot)
        waited = Duration(now - nudges.waiting_since(request.status, request.created_at, request.decided_at))
        language = await self._coop_language(request.guild_id)
        if request.status == RequestStatus.APPROVED.value and request.approved_amount is not None:
            header = _(
                "Funding request **#{number}** ({purpose}) was approved {waited} ago for {amount} and is not "
                "paid yet: a treasurer records the payout with `/fund request pay`.",
                number=request.id,
                purpose=shorten(request.purpose, 100),
                waited=waited,
                amount=Money(request.approved_amount, request.currency),
            )
        else:
            header = _(
                "Funding request **#{number}** ({purpose}, {amount}) has waited {waited} for a treasurer.",
                number=request.id,
                purpose=shorten(request.purpose, 100),
                amount=Money(request.amount_min, request.currency),
                waited=waited,
            )
        await post_mentioning(channel, "💸 " + header.render(language), treasurers)

    # --- moderator commands -----------------------------------------------------------------------

    @app_commands.command(name="add")
    @requires(require_moderator)
    @app_commands.describe(
        channel="Where to post it",
        message="What to say",
        schedule="e.g. every monday 09:00, every 2 weeks on friday 16:00, monthly on day 1 10:00, or cron",
    )
    async def add(
        self,
        interaction: discord.Interaction[CoopBot],
        channel: discord.TextChannel,
        message: app_commands.Range[str, 1, 2000],
        schedule: app_commands.Range[str, 1, 100],
    ) -> None:
        """Add a recurring reminder in a channel (in the cooperative's timezone)."""
        guild_id = guild_id_of(interaction)
        if not channel.permissions_for(channel.guild.me).send_messages:
            raise InvalidInput(
                _("I can't post in {channel}: give me Send Messages there.", channel=channel.mention)
            )
        reminder = await reminders.add_channel_reminder(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            channel_id=channel.id,
            message=message,
            schedule=schedule,
            now=self._now(),
        )
        if reminder.next_run_at is not None:
            self.bot.due.wake_at(reminder.next_run_at)
        timezone = (await self._settings(guild_id)).timezone
        await send_ephemeral(
            interaction, _("Reminder added: {reminder}", reminder=_describe(reminder, timezone))
        )

    @app_commands.command(name="list")
    @requires(require_moderator)
    async def list_reminders(self, interaction: discord.Interaction[CoopBot]) -> None:
        """The channel reminders, with their next run."""
        guild_id = guild_id_of(interaction)
        rows = await reminders.list_reminders(self.bot.database, guild_id, kind=ReminderKind.CHANNEL)
        timezone = (await self._settings(guild_id)).timezone
        empty = _("No channel reminders yet: /reminder add.").render(language_for(interaction))
        lines = [_describe(reminder, timezone).render(language_for(interaction)) for reminder in rows]
        text = "\n".join(lines) or empty
        await send_ephemeral(interaction, shorten(text, 2000))

    async def change(self, interaction: discord.Interaction[CoopBot], reminder_id: int, change: str) -> None:
        guild_id = guild_id_of(interaction)
        operation = {
            "removed": reminders.remove_reminder,
            "paused": reminders.pause_reminder,
            "resumed": reminders.resume_reminder,
        }[change]
        reminder = await operation(
            self.bot.database,
            guild_id=guild_id,
            reminder_id=reminder_id,
            actor=actor_of(interaction),
            now=self._now(),
        )
        if change == "resumed" and reminder.next_run_at is not None:
            self.bot.due.wake_at(reminder.next_run_at)
        said = {
            "removed": _("Reminder #{number} removed.", number=reminder.id),
            "paused": _("Reminder #{number} paused.", number=reminder.id),
            "resumed": _("Reminder #{number} resumed.", number=reminder.id),
        }[change]
        await send_ephemeral(interaction, said)

    @app_commands.command(name="remove")
    @requires(require_moderator)
    @app_commands.describe(reminder="The reminder's number (see /reminder list)")
    async def remove(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Remove a channel reminder."""
        await self.change(interaction, reminder, "removed")

    @app_commands.command(name="pause")
    @requires(require_moderator)
    @app_commands.describe(reminder="The reminder's number (see /reminder list)")
    async def pause(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Pause a channel reminder."""
        await self.change(interaction, reminder, "paused")

    @app_commands.command(name="resume")
    @requires(require_moderator)
    @app_commands.describe(reminder="The reminder's number (see /reminder list)")
    async def resume(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Resume a paused channel reminder (from its next run; missed ones are skipped)."""
        await self.change(interaction, reminder, "resumed")

    @app_commands.command(name="digest")
    @requires(require_moderator)
    @app_commands.describe(
        channel="Where to post the weekly digest (leave out to switch it off)",
        day="Day of the week",
        time="Time of day, e.g. 09:00",
    )
    @app_commands.choices(day=DAY_CHOICES)
    async def digest(
        self,
        interaction: discord.Interaction[CoopBot],
        channel: discord.TextChannel | None = None,
        day: int = 0,
        time: app_commands.Range[str, 1, 10] = "09:00",
    ) -> None:
        """Set up (or switch off) the weekly governance digest."""
        guild_id = guild_id_of(interaction)
        digest = await reminders.configure_digest(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            channel_id=channel.id if channel else None,
            weekday=day,
            at=time,
            now=self._now(),
        )
        if digest is None or digest.next_run_at is None:
            await send_ephemeral(interaction, _("The weekly digest is switched off."))
            return
        self.bot.due.wake_at(digest.next_run_at)
        posted = _(
            "The digest will be posted in {channel} {schedule} ({timezone}), next {when}.",
            channel=f"<#{digest.channel_id}>",
            schedule=parse_schedule(digest.schedule) if digest.schedule else "",
            timezone=(await self._settings(guild_id)).timezone,
            when=discord_timestamp(digest.next_run_at, "f"),
        )
        await send_ephemeral(interaction, posted)

    @app_commands.command(name="settings")
    @requires(require_moderator)
    @app_commands.describe(
        closing_soon="How long before a close to remind those who have not voted, e.g. 24h or 2d",
        request_wait_days="Days a funding request may wait for a treasurer before they are reminded",
    )
    async def settings(
        self,
        interaction: discord.Interaction[CoopBot],
        closing_soon: app_commands.Range[str, 1, 20] | None = None,
        request_wait_days: app_commands.Range[int, 1, 90] | None = None,
    ) -> None:
        """The governance rhythm: closing-soon lead time and treasurer reminders."""
        guild_id = guild_id_of(interaction)
        settings = await reminders.configure_rhythm(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            now=self._now(),
            lead=parse_duration(closing_soon) if closing_soon else None,
            stale_days=request_wait_days,
        )
        await self.bot.due.run_now()
        lead = Duration(timedelta(seconds=settings.reminder_lead_seconds))
        await send_ephemeral(
            interaction,
            _n(
                "Those who have not voted are reminded {lead} before a close; treasurers after a request has "
                "waited {count} day.",
                "Those who have not voted are reminded {lead} before a close; treasurers after a request has "
                "waited {count} days.",
                settings.request_stale_days,
                lead=lead,
            ),
        )


class ReminderModeration(app_commands.Group):
    """/mod reminder: moderators remove, pause or resume any channel reminder (someone else's too)."""

    def __init__(self, cog: GovernanceReminders) -> None:
        super().__init__(name="reminder", description="Remove, pause or resume any channel reminder")
        self.cog = cog

    @app_commands.command(name="remove")
    @requires(require_moderator)
    @app_commands.describe(reminder="The reminder's number (see /reminder list)")
    async def remove(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Remove a channel reminder."""
        await self.cog.change(interaction, reminder, "removed")

    @app_commands.command(name="pause")
    @requires(require_moderator)
    @app_commands.describe(reminder="The reminder's number (see /reminder list)")
    async def pause(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Pause a channel reminder."""
        await self.cog.change(interaction, reminder, "paused")

    @app_commands.command(name="resume")
    @requires(require_moderator)
    @app_commands.describe(reminder="The reminder's number (see /reminder list)")
    async def resume(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Resume a paused channel reminder."""
        await self.cog.change(interaction, reminder, "resumed")


@app_commands.guild_only()
class PersonalReminders(
    CoopCog, commands.GroupCog, group_name="remind", group_description="Your own reminders"
):
    @app_commands.command(name="me")
    @app_commands.describe(
        when="in 2h, tomorrow 9:00, friday 17:00 or 2026-12-01 10:00 (the cooperative's timezone)",
        what="What to remind you of",
    )
    async def me(
        self,
        interaction: discord.Interaction[CoopBot],
        when: app_commands.Range[str, 1, 60],
        what: app_commands.Range[str, 1, 1500],
    ) -> None:
        """Remind me of something, by DM (or here, if my DMs are closed)."""
        assert interaction.channel_id is not None
        reminder = await reminders.add_personal_reminder(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            channel_id=interaction.channel_id,
            when=when,
            message=what,
            now=self._now(),
        )
        assert reminder.next_run_at is not None
        self.bot.due.wake_at(reminder.next_run_at)
        await send_ephemeral(
            interaction,
            _(
                "I'll remind you {when} ({moment}). Reminder #{number}.",
                when=discord_timestamp(reminder.next_run_at, "R"),
                moment=discord_timestamp(reminder.next_run_at, "f"),
                number=reminder.id,
            ),
        )

    @app_commands.command(name="list")
    async def list_mine(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Your waiting reminders."""
        guild_id = guild_id_of(interaction)
        rows = await reminders.list_reminders(
            self.bot.database, guild_id, kind=ReminderKind.PERSONAL, user_id=interaction.user.id
        )
        timezone = (await self._settings(guild_id)).timezone
        lines = [_describe(reminder, timezone).render(language_for(interaction)) for reminder in rows]
        text = "\n".join(lines) or str(_("You have no reminders waiting.").render(language_for(interaction)))
        await send_ephemeral(interaction, shorten(text, 2000))

    @app_commands.command(name="cancel")
    @app_commands.describe(reminder="The reminder's number (see /remind list)")
    async def cancel(self, interaction: discord.Interaction[CoopBot], reminder: ReminderNumber) -> None:
        """Cancel one of your reminders."""
        guild_id = guild_id_of(interaction)
        cancelled = await reminders.cancel_personal_reminder(
            self.bot.database,
            guild_id=guild_id,
            reminder_id=reminder,
            actor=actor_of(interaction),
            now=self._now(),
        )
        await send_ephemeral(interaction, _("Reminder #{number} cancelled.", number=cancelled.id))

    @app_commands.command(name="dms")
    @app_commands.describe(enabled="Also DM me when a decision I have not voted on closes soon")
    async def dms(self, interaction: discord.Interaction[CoopBot], enabled: bool) -> None:
        """Choose whether closing-soon reminders also come to you by DM."""
        guild_id = guild_id_of(interaction)
        await reminders.set_dm_reminders(
            self.bot.database,
            guild_id=guild_id,
            user_id=interaction.user.id,
            enabled=enabled,
            now=self._now(),
            joined_at=getattr(interaction.user, "joined_at", None),
        )
        await send_ephemeral(
            interaction,
            _("Closing-soon reminders will also come by DM.") if enabled else _("No more closing-soon DMs."),
        )
