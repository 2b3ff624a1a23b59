"""Onboarding and membership in Discord: the welcome on joining, agreeing to the charter, the introduction,
/member, /charter, /coop charter, /mod member, and the consequences of admission decisions and of leaving
the server.

Roles first, records second: the bot changes a role in Discord, then records where the person stands by
the roles they really have afterwards, so the database never says that something happened that did not.
When Discord refuses, the person (or the moderator) is told what to fix, in the server's own words.

Longer than 700 lines on purpose: a slash command group is one class in discord.py (its commands, their
autocompletes and the handlers its buttons call), so the group stays in one module; its forms, buttons
and embeds live in the modules beside it.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._base import CoopCog
from cogs._common import (
    NO_MENTIONS,
    actor_from,
    actor_of,
    guild_id_of,
    pinging_only,
    requires,
    send_ephemeral,
)
from cogs._moderation import attach_to_coop, attach_to_mod, detach_from_coop, detach_from_mod
from cogs._text import one_line, shorten
from cogs.onboarding._forms import (
    CharterModal,
    DirectoryView,
    LeaveConfirmView,
    ProfileModal,
    RetryProfileView,
)
from cogs.onboarding._items import PERSISTENT_ITEMS, agree_view, welcome_view
from cogs.onboarding._moderation import MemberModeration, charter_command
from cogs.onboarding._render import (
    STANDING_LABELS,
    DirectoryEntry,
    charter_announcement,
    charter_embed,
    has_charter,
    introduction_embed,
    profile_embed,
    welcome_embed,
)
from cogs.onboarding._roles import change_roles
from governance import decisions, membership
from governance.decision_types import get_type
from governance.errors import Conflict, InvalidInput, NotFound
from governance.i18n import _
from governance.membership import Change, ProfileDraft
from governance.permissions import Actor, require_insider
from governance.records import Application, ApplicationStatus, CoopSettings, Decision, Member, MemberStatus
from governance.timeparse import discord_timestamp

log = logging.getLogger("coopbot.onboarding")

ROLE_CHOICES = [
    app_commands.Choice(name="Members", value=MemberStatus.MEMBER.value),
    app_commands.Choice(name="Contributors", value=MemberStatus.CONTRIBUTOR.value),
]
LEAVE_CHOICES = [
    app_commands.Choice(name="Step down to contributor", value=MemberStatus.CONTRIBUTOR.value),
    app_commands.Choice(name="Leave the cooperative", value=MemberStatus.DEPARTED.value),
]
DONE = {
    Change.PROMOTE: "{who} is now a member.",
    Change.DEMOTE: "{who} is now a contributor.",
    Change.REMOVE: "{who} is no longer in the cooperative; their history stays.",
}


def _draft_of(row: Member | None, fallback_name: str) -> ProfileDraft:
    if row is None or row.introduced_at is None:
        return ProfileDraft(display_name=fallback_name)
    return ProfileDraft(
        display_name=row.display_name or fallback_name,
        what_they_do=row.what_they_do or "",
        skills=row.skills or "",
        why=row.why or "",
        timezone=row.member_timezone or "",
    )


class Onboarding(CoopCog):
    member = app_commands.Group(
        name="member",
        description="Your place in the cooperative: apply, profiles, directory",
        guild_only=True,
    )

    def __init__(self, bot: CoopBot) -> None:
        super().__init__(bot)
        self.moderation = MemberModeration(self)
        self.coop_commands = (charter_command(self),)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        attach_to_mod(self.bot.tree, self.moderation)
        attach_to_coop(self.bot.tree, *self.coop_commands)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)
        detach_from_mod(self.bot.tree, self.moderation.name)
        detach_from_coop(self.bot.tree, *self.coop_commands)

    # --- helpers ----------------------------------------------------------------------------------

    async def _tell_moderators(self, guild_id: int, text: str) -> None:
        """Something a moderator must fix goes to the governance channel."""
        settings = await self._settings(guild_id)
        posted = await self._post(settings.governance_channel_id or settings.welcome_channel_id, text)
        if posted is None:
            log.warning("Could not tell the moderators of guild %s: %s", guild_id, text)

    async def _person(
        self, interaction: discord.Interaction[Any], guild_id: int
    ) -> tuple[discord.Guild, discord.Member]:
        """The guild a button belongs to and the clicker as its member (a click in a DM has no guild)."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise NotFound("I'm not in that server any more.")
        user = interaction.user
        if isinstance(user, discord.Member) and user.guild.id == guild_id:
            return guild, user
        person = guild.get_member(user.id)
        if person is None:
            try:
                person = await guild.fetch_member(user.id)
            except discord.NotFound:
                raise NotFound(f"You are not in {guild.name} any more.") from None
        return guild, person

    async def _member_of(self, guild: discord.Guild, user_id: int) -> discord.Member | None:
        person = guild.get_member(user_id)
        if person is None:
            try:
                person = await guild.fetch_member(user_id)
            except discord.HTTPException:
                return None
        return person

    # --- joining and leaving the server ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if member.bot:
            return
        # Discord gives a newcomer no roles; another bot (or a test world) may have given some already.
        known = await self._settings(member.guild.id)
        standing = membership.standing_of(known, actor_from(member))
        settings = await membership.record_join(
            self.bot.database, guild_id=member.guild.id, user_id=member.id, now=self._now(), standing=standing
        )
        if settings is None or standing != MemberStatus.VISITOR:
            return  # coopbot is not set up here, or they arrived with the cooperative's roles already
        version = settings.charter_version if has_charter(settings) else None
        language = await self._coop_language(member.guild.id)
        await self._post(
            settings.welcome_channel_id,
            _("Welcome, {person}!", person=member.mention).render(language),
            embed=welcome_embed(settings, member.guild.name, language),
            view=welcome_view(member.guild.id, version, language),
            allowed_mentions=pinging_only(member.id),
        )
        try:
            await member.send(
                embed=welcome_embed(settings, member.guild.name, language),
                view=welcome_view(member.guild.id, version, language),
            )
        except discord.HTTPException:
            # People may close their DMs to server members; the welcome channel has it all.
            log.debug("Could not DM the welcome to %s", member.id)

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        if payload.user.bot:
            return
        joined_at = payload.user.joined_at if isinstance(payload.user, discord.Member) else None
        await membership.record_departure(
            self.bot.database,
            guild_id=payload.guild_id,
            user_id=payload.user.id,
            now=self._now(),
            joined_at=joined_at,
        )

    # --- the charter and the introduction (persistent buttons) ------------------------------------

    async def on_agree(self, interaction: discord.Interaction[Any], guild_id: int, version: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild, person = await self._person(interaction, guild_id)
        now = self._now()
        settings = await membership.charter_to_accept(
            self.bot.database, guild_id=guild_id, version=version, now=now
        )
        standing = membership.standing_of(settings, actor_from(person))
        problem: str | None = None
        role_given = False
        if standing == MemberStatus.VISITOR:
            role = guild.get_role(settings.contributor_role_id) if settings.contributor_role_id else None
            if settings.contributor_role_id is None:
                standing = MemberStatus.CONTRIBUTOR  # no role to give: agreeing is what makes a contributor
            elif role is None:
                problem = "the contributor role set with /coop setup no longer exists: choose it again."
            else:
                result = await change_roles(
                    person, add=[role], reason=f"Agreed to the charter (version {version})"
                )
                problem = result.problem
                role_given = result.changed
                standing = membership.standing_of(settings, Actor(person.id, result.role_ids))
        acceptance = await membership.accept_charter(
            self.bot.database,
            guild_id=guild_id,
            user_id=person.id,
            version=version,
            standing=standing,
            now=now,
        )
        if acceptance.recorded:
            text = f"Thank you for agreeing to the charter of **{guild.name}** (version {version})."
        else:
            text = (
                f"You already agreed to version {version} of the charter "
                f"{discord_timestamp(acceptance.accepted_at, 'R')}."
            )
        if role_given:
            text += (
                " You are now a contributor. Next, **Introduce yourself** so that we get to know you; "
                "when you are ready to become a member, use `/member apply`."
            )
        if problem:
            text += "\nI couldn't give you the contributor role yet: the moderators have been told."
            await self._tell_moderators(
                guild_id,
                f"⚠️ {person.mention} agreed to the charter, but I couldn't give them the contributor role. "
                f"{problem}",
            )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def on_introduce(self, interaction: discord.Interaction[Any], guild_id: int) -> None:
        guild, person = await self._person(interaction, guild_id)
        await self._open_profile_form(interaction, guild.id, person)

    async def _open_profile_form(
        self, interaction: discord.Interaction[Any], guild_id: int, person: discord.Member
    ) -> None:
        row = await membership.get_member(self.bot.database, guild_id, person.id)
        first = row is None or row.introduced_at is None
        await interaction.response.send_modal(
            ProfileModal(self, guild_id, _draft_of(row, person.display_name), first=first)
        )

    async def save_profile(
        self, interaction: discord.Interaction[Any], guild_id: int, draft: ProfileDraft, *, first: bool
    ) -> None:
        """The introduction (or profile) form was submitted."""
        try:
            membership.clean_profile(draft)
        except InvalidInput as refusal:
            await send_ephemeral(
                interaction,
                f"{refusal.message} Press **Edit again** to fix it: what you wrote is kept.",
                view=RetryProfileView(self, guild_id, draft, first=first),
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        _guild, person = await self._person(interaction, guild_id)
        settings = await self._settings(guild_id)
        saved = await membership.save_profile(
            self.bot.database,
            guild_id=guild_id,
            user_id=person.id,
            draft=draft,
            standing=membership.standing_of(settings, actor_from(person)),
            now=self._now(),
        )
        if saved.first:
            posted = await self._post(
                settings.welcome_channel_id,
                f"{person.mention} introduced themselves.",
                embed=introduction_embed(saved.member, person),
            )
            where = f" and posted in <#{posted.channel.id}>" if posted is not None else ""
            text = f"Thank you, {saved.member.display_name}! Your introduction is saved{where}."
        elif saved.changed:
            text = "Your profile is updated."
        else:
            text = "Nothing changed in your profile."
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # --- /member ----------------------------------------------------------------------------------

    @member.command(name="apply")
    @app_commands.describe(
        sponsor="A member who supports your application (optional)",
        statement="Why you want to become a member (optional)",
    )
    async def apply(
        self,
        interaction: discord.Interaction[CoopBot],
        sponsor: discord.Member | None = None,
        statement: app_commands.Range[str, 1, membership.MAX_STATEMENT] | None = None,
    ) -> None:
        """Ask to become a member of the cooperative; the members decide."""
        assert interaction.guild is not None and self.bot.user is not None
        if sponsor is not None and sponsor.bot:
            raise InvalidInput(f"{sponsor.mention} is a bot and can't sponsor you: name a member.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = interaction.guild
        now = self._now()
        row = await membership.get_member(self.bot.database, guild.id, interaction.user.id)
        opened = await membership.apply_for_membership(
            self.bot.database,
            guild_id=guild.id,
            applicant=actor_of(interaction),
            applicant_name=row.display_name if row and row.display_name else interaction.user.display_name,
            sponsor=actor_from(sponsor) if sponsor is not None else None,
            statement=statement,
            proposer_id=self.bot.user.id,
            now=now,
        )
        application = opened.application
        assert application.id is not None
        if opened.decision is None:
            settings = await self._settings(guild.id)
            await self._post(
                settings.governance_channel_id,
                f"📨 {interaction.user.mention} asks to become a member"
                + (f", sponsored by {sponsor.mention}" if sponsor else "")
                + ". Moderators decide: `/mod member promote` to admit, `/mod member decline` to decline."
                + (f"\n> {shorten(statement, 1500)}" if statement else ""),
            )
            await interaction.followup.send(
                "Your application is in: a moderator will decide it, and I'll tell you the outcome.",
                ephemeral=True,
            )
            return
        decision = opened.decision
        assert decision.id is not None
        message = await self._post_decision(decision, now)
        if message is None:
            await membership.withdraw_application(
                self.bot.database,
                guild_id=guild.id,
                application_id=application.id,
                now=now,
                reason="the admission decision could not be posted",
            )
            raise Conflict(
                "I couldn't post your application in the governance channel, so nothing was opened. "
                "A moderator should check my permissions there (Send Messages, Embed Links, "
                "Create Public Threads)."
            )
        await interaction.followup.send(
            f"Your application is open: the members decide in proposal #{decision.id}, which closes "
            f"{discord_timestamp(decision.closes_at, 'R')}: {self._where(message)}\n"
            "I'll tell you the outcome.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @member.command(name="profile")
    @requires(require_insider)
    @app_commands.describe(user="Whose profile (default: yours)")
    async def profile(
        self, interaction: discord.Interaction[CoopBot], user: discord.User | None = None
    ) -> None:
        """Show someone's profile in the cooperative."""
        assert interaction.guild is not None
        target = user or interaction.user
        person = interaction.guild.get_member(target.id)
        settings = await self._settings(interaction.guild.id)
        row = await membership.get_member(self.bot.database, interaction.guild.id, target.id)
        if person is not None:
            standing = membership.standing_of(settings, actor_from(person))
        else:
            standing = MemberStatus.DEPARTED
        if row is None and person is None:
            raise NotFound(
                f"{target.mention} is not in this server and the cooperative has no record of them."
            )
        await send_ephemeral(
            interaction,
            embed=profile_embed(
                row, user=person or target, standing=standing, settings=settings, now=self._now()
            ),
        )

    @member.command(name="edit")
    async def edit(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Edit your profile: name, what you do, skills, what brings you, timezone."""
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        await self._open_profile_form(interaction, interaction.guild.id, interaction.user)

    @member.command(name="list")
    @requires(require_insider)
    @app_commands.describe(role="Only members or only contributors", skill="Only people with this skill")
    @app_commands.choices(role=ROLE_CHOICES)
    async def list_members(
        self,
        interaction: discord.Interaction[CoopBot],
        role: str | None = None,
        skill: app_commands.Range[str, 1, membership.MAX_SKILL_SEARCH] | None = None,
    ) -> None:
        """The cooperative's directory: members and contributors, 10 a page."""
        assert interaction.guild is not None
        guild = interaction.guild
        settings = await self._settings(guild.id)
        entries = []
        for person in guild.members:
            if person.bot:
                continue
            standing = membership.standing_of(settings, actor_from(person))
            if standing == MemberStatus.VISITOR or (role is not None and standing != role):
                continue
            entries.append(DirectoryEntry(person.id, person.display_name, standing))
        if skill is not None:
            with_skill = await membership.users_with_skill(self.bot.database, guild.id, skill)
            entries = [entry for entry in entries if entry.user_id in with_skill]
        if not entries:
            await send_ephemeral(
                interaction, "No one matches." if role or skill else "The directory is empty."
            )
            return
        entries.sort(key=lambda entry: (entry.name.casefold(), entry.user_id))
        heading = {None: "The cooperative", "member": "Members", "contributor": "Contributors"}[role]
        if skill:
            heading += f" with “{shorten(skill, 60)}” among their skills"
        view = DirectoryView(self, guild.id, entries, heading=heading)
        embed = await view.render()
        if view.pages > 1:
            await send_ephemeral(interaction, embed=embed, view=view)
            view.origin = interaction
        else:
            await send_ephemeral(interaction, embed=embed)

    @member.command(name="leave")
    @app_commands.describe(to="Step down to contributor, or leave the cooperative")
    @app_commands.choices(to=LEAVE_CHOICES)
    async def leave(self, interaction: discord.Interaction[CoopBot], to: str) -> None:
        """Step down from membership, or leave the cooperative (your history stays)."""
        assert interaction.guild is not None
        actor = actor_of(interaction)
        settings = await membership.check_change(
            self.bot.database, guild_id=interaction.guild.id, actor=actor, target=actor, change=Change.LEAVE
        )
        standing = membership.standing_of(settings, actor)
        if to == MemberStatus.CONTRIBUTOR and standing != MemberStatus.MEMBER:
            raise Conflict("You are not a member, so there is nothing to step down from.")
        question = (
            "Step down from membership to contributor? You can apply again later."
            if to == MemberStatus.CONTRIBUTOR
            else "Leave the cooperative? You'll no longer be a member or a contributor; your history stays."
        )
        view = LeaveConfirmView(self, to=to)
        await send_ephemeral(interaction, question, view=view)
        view.origin = interaction

    async def leave_confirmed(self, interaction: discord.Interaction[Any], to: str) -> None:
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        await interaction.response.defer()
        person = interaction.user
        actor = actor_from(person)
        settings = await membership.check_change(
            self.bot.database, guild_id=person.guild.id, actor=actor, target=actor, change=Change.LEAVE
        )
        member_role = person.guild.get_role(settings.member_role_id or 0)
        contributor_role = person.guild.get_role(settings.contributor_role_id or 0)
        if to == MemberStatus.CONTRIBUTOR:
            add = [contributor_role] if contributor_role else []
            remove = [member_role] if member_role else []
        else:
            add, remove = [], [r for r in (member_role, contributor_role) if r is not None]
        result = await change_roles(person, add=add, remove=remove, reason="Left by their own choice")
        standing = membership.standing_of(settings, Actor(person.id, result.role_ids))
        if result.changed or result.ok:
            await membership.record_change(
                self.bot.database,
                guild_id=person.guild.id,
                actor=actor,
                user_id=person.id,
                change=Change.LEAVE,
                status=standing,
                now=self._now(),
                joined_at=person.joined_at,
                complete=result.ok,
            )
        if result.ok:
            text = (
                "Done: you are a contributor now. Thank you for your time as a member."
                if to == MemberStatus.CONTRIBUTOR
                else "Done: you have left the cooperative. Thank you for all you did; you're welcome back."
            )
        else:
            text = "I couldn't change your roles, so nothing changed yet: the moderators have been told."
            await self._tell_moderators(
                person.guild.id, f"⚠️ {person.mention} asked to leave, but {result.problem}"
            )
        await interaction.edit_original_response(content=text, view=None)

    # --- the charter: /charter, and /coop charter (cogs/onboarding/_moderation.py) ------------------

    @app_commands.command(name="charter")
    @app_commands.guild_only()
    async def show_charter(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Read the cooperative's charter, and agree to it."""
        assert interaction.guild is not None
        settings = await self._settings(interaction.guild.id)
        if not has_charter(settings):
            await send_ephemeral(
                interaction, "The cooperative has not written its charter yet (moderators: /coop charter)."
            )
            return
        row = await membership.get_member(self.bot.database, interaction.guild.id, interaction.user.id)
        if row and row.charter_version == settings.charter_version and row.charter_accepted_at:
            note = f"You agreed to this version {discord_timestamp(row.charter_accepted_at, 'R')}."
        elif row and row.charter_version:
            note = f"You agreed to version {row.charter_version}; this one is new to you."
        else:
            note = "You haven't agreed to it yet."
        await send_ephemeral(
            interaction,
            note,
            embed=charter_embed(settings, interaction.guild.name),
            view=agree_view(interaction.guild.id, settings.charter_version),
        )

    async def edit_charter(
        self, interaction: discord.Interaction[Any], version: int | None, *, decide: bool = False
    ) -> None:
        """Open the charter's form, with its current text (/coop charter; moderators only). With `decide`,
        what is written goes to the members as a decision instead of becoming the charter at once."""
        assert interaction.guild is not None
        settings = await self._settings(interaction.guild.id)
        if version is not None:  # refused before the form, not after the moderator has written it
            membership.check_charter_version(settings, version, decide=decide)
        await interaction.response.send_modal(
            CharterModal(self, current=settings.charter_text, version=version, decide=decide)
        )

    async def publish_charter(
        self, interaction: discord.Interaction[Any], text: str, version: int | None, *, decide: bool = False
    ) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        if decide:
            await self._propose_charter(interaction, text, version)
            return
        guild = interaction.guild
        change = await membership.set_charter(
            self.bot.database,
            guild_id=guild.id,
            actor=actor_of(interaction),
            text=text,
            version=version,
            now=self._now(),
        )
        settings = change.settings
        reply = f"The charter is saved as version {settings.charter_version}."
        if change.reaccept:
            posted = await self._ask_everyone_to_agree(guild, settings, first=change.previous_version == 0)
            if posted is not None:
                reply += f" Everyone is asked to agree to it in <#{posted.channel.id}>."
            else:
                reply += " I couldn't post it for everyone to agree: set a welcome channel with /coop setup."
        else:
            reply += " It's a wording fix: everyone's agreement stands."
        await interaction.followup.send(reply, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _ask_everyone_to_agree(
        self, guild: discord.Guild, settings: CoopSettings, *, first: bool
    ) -> discord.Message | None:
        """Post a new charter version with its agree button (in the welcome channel, else governance)."""
        return await self._post(
            settings.welcome_channel_id or settings.governance_channel_id,
            charter_announcement(settings, guild.name, first=first),
            embed=charter_embed(settings, guild.name),
            view=agree_view(guild.id, settings.charter_version),
        )

    async def _propose_charter(
        self, interaction: discord.Interaction[Any], text: str, version: int | None
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self._now()
        decision = await membership.propose_charter(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            text=text,
            version=version,
            now=now,
        )
        message = await self._post_decision(decision, now)
        if message is None:
            raise Conflict(
                "I couldn't post the proposal in the governance channel, so nothing was opened. Check my "
                "permissions there (Send Messages, Embed Links, Create Public Threads)."
            )
        await interaction.followup.send(
            f"Version {decision.link_id} of the charter is in the members' hands: proposal #{decision.id} "
            f"closes {discord_timestamp(decision.closes_at, 'R')}: {self._where(message)}\nIf it passes, it "
            "becomes the charter and everyone is asked to agree to it.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    async def _charter_decided(self, decision: Decision) -> None:
        """A charter decision closed: if it was adopted (the close hook), ask everyone to agree to it."""
        settings = await membership.adopted_charter(self.bot.database, decision)
        guild = self.bot.get_guild(decision.guild_id)
        if settings is None or guild is None:
            return
        posted = await self._ask_everyone_to_agree(guild, settings, first=False)
        where = f" Everyone is asked to agree to it in <#{posted.channel.id}>." if posted is not None else ""
        await self._post(decision.thread_id, f"Version {settings.charter_version} is now the charter.{where}")

    # --- admissions -------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_coop_decision_closed(self, closed: decisions.ClosedDecision) -> None:
        """An admission decision closed: its result is on the application (the close hook); now give the
        member role, or tell the applicant kindly. A charter decision closed: announce the new version."""
        decision = closed.decision
        if decision.link_kind == membership.CHARTER_LINK:
            await self._charter_decided(decision)
            return
        if decision.link_kind != membership.ADMISSION_LINK:
            return
        application = await membership.admission_of(self.bot.database, decision)
        if application is None:
            return
        if application.status == ApplicationStatus.ADMITTED:
            await self._admit(application, decision)
        elif application.status == ApplicationStatus.DECLINED:
            await self._tell_declined(application, decision, closed.reasons)

    async def _admit(self, application: Application, decision: Decision) -> None:
        assert application.id is not None
        guild = self.bot.get_guild(application.guild_id)
        if guild is None:
            return
        settings = await self._settings(guild.id)
        who = f"<@{application.user_id}>"
        person = await self._member_of(guild, application.user_id)
        if person is None:
            await self._tell_moderators(
                guild.id, f"{who} was admitted by proposal #{decision.id}, but is no longer in the server."
            )
            return
        role = guild.get_role(settings.member_role_id or 0)
        if role is None:
            problem: str | None = "the member role set with /coop setup no longer exists: choose it again."
        else:
            problem = (
                await change_roles(person, add=[role], reason=f"Admitted by proposal #{decision.id}")
            ).problem
        if problem is None:
            await membership.confirm_admission(
                self.bot.database,
                guild_id=guild.id,
                application_id=application.id,
                now=self._now(),
                joined_at=person.joined_at,
            )
            await self._tell(
                person.id,
                f"🎉 Welcome as a member of **{guild.name}**! The cooperative agreed to admit you "
                f"(proposal #{decision.id}), and you now have the member role.",
                fallback_channel_id=decision.thread_id or settings.governance_channel_id,
            )
            await self._post(decision.thread_id, f"{person.mention} now has the member role. Welcome!")
            return
        await self._tell_moderators(
            guild.id,
            f"⚠️ {person.mention} was admitted by proposal #{decision.id}, but I couldn't give them the "
            f"member role. {problem} Once that is fixed, a moderator can give it with "
            f"`/mod member promote`.",
        )
        await self._tell(
            person.id,
            f"🎉 The cooperative **{guild.name}** agreed to admit you as a member (proposal #{decision.id})! "
            "I couldn't give you the member role yet; the moderators have been told and will sort it out.",
            fallback_channel_id=decision.thread_id or settings.governance_channel_id,
        )

    async def _tell_declined(
        self, application: Application, decision: Decision, reasons: list[tuple[int | None, str, str]]
    ) -> None:
        guild = self.bot.get_guild(application.guild_id)
        name = guild.name if guild else "the cooperative"
        lines = [
            f"Thank you for applying to become a member of **{name}**. This time the cooperative did not "
            f"agree to admit you (proposal #{decision.id}: {decision.outcome or 'not passed'})."
        ]
        given = [reason for _voter, _ballot, reason in reasons if reason.strip()]
        if given:
            lines.append("What members said:")
            lines.extend(f"> {one_line(reason, 400)}" for reason in given)
        lines.append(
            "You remain a contributor. Talk with the members about what they raised; you are welcome to "
            "apply again when the time is right."
        )
        await self._tell(application.user_id, "\n".join(lines), fallback_channel_id=decision.thread_id)

    # --- moderation (the /mod member commands call these) -----------------------------------------

    async def moderate(
        self, interaction: discord.Interaction[Any], user: discord.Member, change: Change, reason: str
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        if user.bot:
            raise InvalidInput("Bots are not part of the cooperative.")
        reason = membership.clean_reason(reason)
        actor = actor_of(interaction)
        target = actor_from(user)
        settings = await membership.check_change(
            self.bot.database, guild_id=guild.id, actor=actor, target=target, change=change
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        member_role = guild.get_role(settings.member_role_id or 0)
        contributor_role = guild.get_role(settings.contributor_role_id or 0)
        if member_role is None:
            raise InvalidInput("The member role set with /coop setup no longer exists: choose it again.")
        audit_reason = f"{change.value} by {interaction.user} ({interaction.user.id}): {reason}"
        if change == Change.PROMOTE:
            result = await change_roles(user, add=[member_role], reason=audit_reason)
        elif change == Change.DEMOTE:
            add = [contributor_role] if contributor_role else []
            result = await change_roles(user, add=add, remove=[member_role], reason=audit_reason)
        else:
            remove = [r for r in (member_role, contributor_role) if r is not None]
            result = await change_roles(user, remove=remove, reason=audit_reason)
        standing = membership.standing_of(settings, Actor(user.id, result.role_ids))
        if result.changed or result.ok:
            await membership.record_change(
                self.bot.database,
                guild_id=guild.id,
                actor=actor,
                user_id=user.id,
                change=change,
                status=standing,
                reason=reason,
                now=self._now(),
                joined_at=user.joined_at,
                complete=result.ok,
            )
        if result.ok:
            text = DONE[change].format(who=user.mention) + " Recorded in the audit log."
        elif not result.changed:
            text = f"{result.problem}\nNothing was changed, and nothing was recorded."
        else:
            text = (
                f"{result.problem}\nOnly part of it was done: {user.mention} is now "
                f"{STANDING_LABELS[standing].lower()}, and that is what I recorded."
            )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def decline(self, interaction: discord.Interaction[Any], user: discord.Member, reason: str) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        application = await membership.decline_application(
            self.bot.database,
            guild_id=guild.id,
            actor=actor_of(interaction),
            user_id=user.id,
            reason=reason,
            now=self._now(),
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        told = await self._tell(
            application.user_id,
            f"Thank you for applying to become a member of **{guild.name}**. This time the moderators did "
            f"not admit you. Their reason:\n> {one_line(reason, 800)}\nYou remain a "
            "contributor; you are welcome to apply again when the time is right.",
            # The reason is theirs to read, not the server's: no public fallback.
            fallback_channel_id=None,
        )
        note = "I've told them by DM." if told else "Their DMs are closed: please tell them yourself, kindly."
        await interaction.followup.send(
            f"{user.mention}'s application is declined. {note}", ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def configure_admission(
        self, interaction: discord.Interaction[Any], by_decision: bool | None, decision_type: str | None
    ) -> None:
        assert interaction.guild is not None
        settings = await membership.configure_admission(
            self.bot.database,
            guild_id=interaction.guild.id,
            actor=actor_of(interaction),
            by_decision=by_decision,
            decision_type=decision_type,
            now=self._now(),
        )
        if settings.admission_by_decision:
            label = get_type(settings.admission_decision_type).label.lower()
            text = f"Admissions are decided by the members, with a {label} decision for each application."
        else:
            text = "Admissions are decided by a moderator: `/mod member promote` or `/mod member decline`."
        await send_ephemeral(interaction, text)
