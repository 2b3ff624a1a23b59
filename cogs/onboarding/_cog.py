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
    language_for,
    pinging_only,
    requires,
    send_ephemeral,
)
from cogs._moderation import attach_to_coop, attach_to_mod, detach_from_coop, detach_from_mod
from cogs._text import one_line, shorten
from cogs.onboarding._forms import (
    EDIT_AGAIN_LABEL,
    CharterModal,
    DirectoryView,
    LeaveConfirmView,
    ProfileModal,
    RetryProfileView,
)
from cogs.onboarding._items import INTRODUCE_LABEL, PERSISTENT_ITEMS, agree_view, welcome_view
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
from governance.i18n import Lowered, Text, Translated, _, recorded
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


def _done(change: Change, person: str) -> Text:
    """What a moderator is told when a change of standing is done."""
    if change == Change.PROMOTE:
        return _("{person} is now a member.", person=person)
    if change == Change.DEMOTE:
        return _("{person} is now a contributor.", person=person)
    return _("{person} is no longer in the cooperative; their history stays.", person=person)


def _in_channel(message: discord.Message) -> str:
    """The channel a message was posted in, as a mention."""
    return f"<#{message.channel.id}>"


def _directory_heading(role: str | None, skill: str | None) -> Text:
    """The directory's title: whom it lists (everyone, members or contributors), and with which skill."""
    if skill:
        skill = shorten(skill, 60)
        if role == MemberStatus.MEMBER:
            return _("Members with “{skill}” among their skills", skill=skill)
        if role == MemberStatus.CONTRIBUTOR:
            return _("Contributors with “{skill}” among their skills", skill=skill)
        return _("The cooperative with “{skill}” among their skills", skill=skill)
    if role == MemberStatus.MEMBER:
        return _("Members")
    if role == MemberStatus.CONTRIBUTOR:
        return _("Contributors")
    return _("The cooperative")


def _sentences(language: str, *texts: Text | None) -> str:
    """Whole sentences said one after another, each in `language` (None: left out)."""
    return " ".join(text.render(language) for text in texts if text is not None)


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

    async def _tell_moderators(self, guild_id: int, text: Text) -> None:
        """Something a moderator must fix goes to the governance channel, in the cooperative's language."""
        settings = await self._settings(guild_id)
        language = await self._coop_language(guild_id)
        posted = await self._post(
            settings.governance_channel_id or settings.welcome_channel_id, text.render(language)
        )
        if posted is None:
            log.warning("Could not tell the moderators of guild %s: %s", guild_id, text)

    async def _person(
        self, interaction: discord.Interaction[Any], guild_id: int
    ) -> tuple[discord.Guild, discord.Member]:
        """The guild a button belongs to and the clicker as its member (a click in a DM has no guild)."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise NotFound(_("I'm not in that server any more."))
        user = interaction.user
        if isinstance(user, discord.Member) and user.guild.id == guild_id:
            return guild, user
        person = guild.get_member(user.id)
        if person is None:
            try:
                person = await guild.fetch_member(user.id)
            except discord.NotFound:
                raise NotFound(_("You are not in {server} any more.", server=guild.name)) from None
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
        problem: Text | None = None
        role_given = False
        if standing == MemberStatus.VISITOR:
            role = guild.get_role(settings.contributor_role_id) if settings.contributor_role_id else None
            if settings.contributor_role_id is None:
                standing = MemberStatus.CONTRIBUTOR  # no role to give: agreeing is what makes a contributor
            elif role is None:
                problem = _("the contributor role set with /coop setup no longer exists: choose it again.")
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
        language = language_for(interaction)
        if acceptance.recorded:
            thanks = _(
                "Thank you for agreeing to the charter of **{server}** (version {version}).",
                server=guild.name,
                version=version,
            )
        else:
            thanks = _(
                "You already agreed to version {version} of the charter {when}.",
                version=version,
                when=discord_timestamp(acceptance.accepted_at, "R"),
            )
        next_step = None
        if role_given:
            next_step = _(
                "You are now a contributor. Next, **{introduce}** so that we get to know you; when you are "
                "ready to become a member, use `/member apply`.",
                introduce=Translated(INTRODUCE_LABEL),
            )
        text = _sentences(language, thanks, next_step)
        if problem:
            text += "\n" + _(
                "I couldn't give you the contributor role yet: the moderators have been told."
            ).render(language)
            await self._tell_moderators(
                guild_id,
                _(
                    "⚠️ {person} agreed to the charter, but I couldn't give them the contributor role. "
                    "{problem}",
                    person=person.mention,
                    problem=problem,
                ),
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
            ProfileModal(
                self,
                guild_id,
                _draft_of(row, person.display_name),
                first=first,
                language=language_for(interaction),
            )
        )

    async def save_profile(
        self, interaction: discord.Interaction[Any], guild_id: int, draft: ProfileDraft, *, first: bool
    ) -> None:
        """The introduction (or profile) form was submitted."""
        try:
            membership.clean_profile(draft)
        except InvalidInput as refusal:
            language = language_for(interaction)
            await send_ephemeral(
                interaction,
                _(
                    "{problem} Press **{edit_again}** to fix it: what you wrote is kept.",
                    problem=refusal.text,
                    edit_again=Translated(EDIT_AGAIN_LABEL),
                ),
                view=RetryProfileView(self, guild_id, draft, first=first, language=language),
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
            coop_language = await self._coop_language(guild_id)  # a public post
            posted = await self._post(
                settings.welcome_channel_id,
                _("{person} introduced themselves.", person=person.mention).render(coop_language),
                embed=introduction_embed(saved.member, person, coop_language),
            )
            if posted is not None:
                text = _(
                    "Thank you, {name}! Your introduction is saved and posted in {channel}.",
                    name=saved.member.display_name,
                    channel=_in_channel(posted),
                )
            else:
                text = _("Thank you, {name}! Your introduction is saved.", name=saved.member.display_name)
        elif saved.changed:
            text = _("Your profile is updated.")
        else:
            text = _("Nothing changed in your profile.")
        await interaction.followup.send(
            text.render(language_for(interaction)), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

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
            raise InvalidInput(
                _("{person} is a bot and can't sponsor you: name a member.", person=sponsor.mention)
            )
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
            language=await self._coop_language(guild.id),  # its proposal is public: the cooperative's
        )
        application = opened.application
        assert application.id is not None
        language = language_for(interaction)
        if opened.decision is None:
            settings = await self._settings(guild.id)
            if sponsor is not None:
                asks = _(
                    "{person} asks to become a member, sponsored by {sponsor}. Moderators decide: "
                    "`/mod member promote` to admit, `/mod member decline` to decline.",
                    person=interaction.user.mention,
                    sponsor=sponsor.mention,
                )
            else:
                asks = _(
                    "{person} asks to become a member. Moderators decide: `/mod member promote` to admit, "
                    "`/mod member decline` to decline.",
                    person=interaction.user.mention,
                )
            post = f"📨 {asks.render(await self._coop_language(guild.id))}"  # a public post
            await self._post(
                settings.governance_channel_id,
                post + (f"\n> {shorten(statement, 1500)}" if statement else ""),
            )
            await interaction.followup.send(
                _(
                    "Your application is in: a moderator will decide it, and I'll tell you the outcome."
                ).render(language),
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
                _(
                    "I couldn't post your application in the governance channel, so nothing was opened. "
                    "A moderator should check my permissions there (Send Messages, Embed Links, "
                    "Create Public Threads)."
                )
            )
        opened_line = _(
            "Your application is open: the members decide in proposal #{number}, which closes {closes}: "
            "{where}",
            number=decision.id,
            closes=discord_timestamp(decision.closes_at, "R"),
            where=self._where(message),
        )
        outcome_promise = _("I'll tell you the outcome.")
        await interaction.followup.send(
            f"{opened_line.render(language)}\n{outcome_promise.render(language)}",
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
                _(
                    "{person} is not in this server and the cooperative has no record of them.",
                    person=target.mention,
                )
            )
        await send_ephemeral(
            interaction,
            embed=profile_embed(
                row,
                user=person or target,
                standing=standing,
                settings=settings,
                now=self._now(),
                language=language_for(interaction),
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
                interaction, _("No one matches.") if role or skill else _("The directory is empty.")
            )
            return
        entries.sort(key=lambda entry: (entry.name.casefold(), entry.user_id))
        view = DirectoryView(
            self,
            guild.id,
            entries,
            heading=_directory_heading(role, skill),
            language=language_for(interaction),
        )
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
            raise Conflict(_("You are not a member, so there is nothing to step down from."))
        question = (
            _("Step down from membership to contributor? You can apply again later.")
            if to == MemberStatus.CONTRIBUTOR
            else _(
                "Leave the cooperative? You'll no longer be a member or a contributor; your history stays."
            )
        )
        view = LeaveConfirmView(self, to=to, language=language_for(interaction))
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
                _("Done: you are a contributor now. Thank you for your time as a member.")
                if to == MemberStatus.CONTRIBUTOR
                else _("Done: you have left the cooperative. Thank you for all you did; you're welcome back.")
            )
        else:
            text = _("I couldn't change your roles, so nothing changed yet: the moderators have been told.")
            await self._tell_moderators(
                person.guild.id,
                _("⚠️ {person} asked to leave, but {problem}", person=person.mention, problem=result.problem),
            )
        await interaction.edit_original_response(content=text.render(language_for(interaction)), view=None)

    # --- the charter: /charter, and /coop charter (cogs/onboarding/_moderation.py) ------------------

    @app_commands.command(name="charter")
    @app_commands.guild_only()
    async def show_charter(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Read the cooperative's charter, and agree to it."""
        assert interaction.guild is not None
        settings = await self._settings(interaction.guild.id)
        if not has_charter(settings):
            await send_ephemeral(
                interaction, _("The cooperative has not written its charter yet (moderators: /coop charter).")
            )
            return
        row = await membership.get_member(self.bot.database, interaction.guild.id, interaction.user.id)
        if row and row.charter_version == settings.charter_version and row.charter_accepted_at:
            note = _(
                "You agreed to this version {when}.", when=discord_timestamp(row.charter_accepted_at, "R")
            )
        elif row and row.charter_version:
            note = _("You agreed to version {version}; this one is new to you.", version=row.charter_version)
        else:
            note = _("You haven't agreed to it yet.")
        language = language_for(interaction)
        await send_ephemeral(
            interaction,
            note,
            embed=charter_embed(settings, interaction.guild.name, language),
            view=agree_view(interaction.guild.id, settings.charter_version, language),
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
            CharterModal(
                self,
                current=settings.charter_text,
                version=version,
                decide=decide,
                language=language_for(interaction),
            )
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
        saved = _("The charter is saved as version {version}.", version=settings.charter_version)
        if change.reaccept:
            posted = await self._ask_everyone_to_agree(guild, settings, first=change.previous_version == 0)
            if posted is not None:
                then = _("Everyone is asked to agree to it in {channel}.", channel=_in_channel(posted))
            else:
                then = _("I couldn't post it for everyone to agree: set a welcome channel with /coop setup.")
        else:
            then = _("It's a wording fix: everyone's agreement stands.")
        await interaction.followup.send(
            _sentences(language_for(interaction), saved, then), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def _ask_everyone_to_agree(
        self, guild: discord.Guild, settings: CoopSettings, *, first: bool
    ) -> discord.Message | None:
        """Post a new charter version with its agree button (in the welcome channel, else governance), in
        the cooperative's language."""
        language = await self._coop_language(guild.id)
        return await self._post(
            settings.welcome_channel_id or settings.governance_channel_id,
            charter_announcement(settings, guild.name, first=first, language=language),
            embed=charter_embed(settings, guild.name, language),
            view=agree_view(guild.id, settings.charter_version, language),
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
            language=await self._coop_language(guild_id),  # its proposal is public: the cooperative's
        )
        message = await self._post_decision(decision, now)
        if message is None:
            raise Conflict(
                _(
                    "I couldn't post the proposal in the governance channel, so nothing was opened. Check my "
                    "permissions there (Send Messages, Embed Links, Create Public Threads)."
                )
            )
        language = language_for(interaction)
        in_hands = _(
            "Version {version} of the charter is in the members' hands: proposal #{number} closes {closes}: "
            "{where}",
            version=decision.link_id,
            number=decision.id,
            closes=discord_timestamp(decision.closes_at, "R"),
            where=self._where(message),
        )
        if_passes = _("If it passes, it becomes the charter and everyone is asked to agree to it.")
        await interaction.followup.send(
            f"{in_hands.render(language)}\n{if_passes.render(language)}",
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
        where = (
            _("Everyone is asked to agree to it in {channel}.", channel=_in_channel(posted))
            if posted is not None
            else None
        )
        adopted = _("Version {version} is now the charter.", version=settings.charter_version)
        await self._post(decision.thread_id, _sentences(await self._coop_language(guild.id), adopted, where))

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
        language = await self._coop_language(guild.id)  # DMs and posts: the cooperative's language
        who = f"<@{application.user_id}>"
        person = await self._member_of(guild, application.user_id)
        if person is None:
            await self._tell_moderators(
                guild.id,
                _(
                    "{person} was admitted by proposal #{number}, but is no longer in the server.",
                    person=who,
                    number=decision.id,
                ),
            )
            return
        role = guild.get_role(settings.member_role_id or 0)
        if role is None:
            problem: Text | None = _(
                "the member role set with /coop setup no longer exists: choose it again."
            )
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
            welcome = _(
                "Welcome as a member of **{server}**! The cooperative agreed to admit you "
                "(proposal #{number}), and you now have the member role.",
                server=guild.name,
                number=decision.id,
            )
            await self._tell(
                person.id,
                f"🎉 {welcome.render(language)}",
                fallback_channel_id=decision.thread_id or settings.governance_channel_id,
            )
            await self._post(
                decision.thread_id,
                _("{person} now has the member role. Welcome!", person=person.mention).render(language),
            )
            return
        await self._tell_moderators(
            guild.id,
            _(
                "⚠️ {person} was admitted by proposal #{number}, but I couldn't give them the member role. "
                "{problem} Once that is fixed, a moderator can give it with `/mod member promote`.",
                person=person.mention,
                number=decision.id,
                problem=problem,
            ),
        )
        admitted = _(
            "The cooperative **{server}** agreed to admit you as a member (proposal #{number})! I couldn't "
            "give you the member role yet; the moderators have been told and will sort it out.",
            server=guild.name,
            number=decision.id,
        )
        await self._tell(
            person.id,
            f"🎉 {admitted.render(language)}",
            fallback_channel_id=decision.thread_id or settings.governance_channel_id,
        )

    async def _tell_declined(
        self, application: Application, decision: Decision, reasons: list[tuple[int | None, str, str]]
    ) -> None:
        guild = self.bot.get_guild(application.guild_id)
        language = await self._coop_language(application.guild_id)  # a DM: the cooperative's language
        lines = [
            _(
                "Thank you for applying to become a member of **{server}**. This time the cooperative "
                "did not agree to admit you (proposal #{number}: {outcome}).",
                server=guild.name if guild else _("the cooperative"),
                number=decision.id,
                outcome=recorded(decision.outcome_said, decision.outcome) or _("not passed"),
            ).render(language)
        ]
        given = [reason for _voter, _ballot, reason in reasons if reason.strip()]
        if given:
            lines.append(_("What members said:").render(language))
            lines.extend(f"> {one_line(reason, 400)}" for reason in given)
        lines.append(
            _(
                "You remain a contributor. Talk with the members about what they raised; you are welcome to "
                "apply again when the time is right."
            ).render(language)
        )
        await self._tell(application.user_id, "\n".join(lines), fallback_channel_id=decision.thread_id)

    # --- moderation (the /mod member commands call these) -----------------------------------------

    async def moderate(
        self, interaction: discord.Interaction[Any], user: discord.Member, change: Change, reason: str
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        if user.bot:
            raise InvalidInput(_("Bots are not part of the cooperative."))
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
            raise InvalidInput(_("The member role set with /coop setup no longer exists: choose it again."))
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
        language = language_for(interaction)
        if result.ok:
            text = _sentences(language, _done(change, user.mention), _("Recorded in the audit log."))
        else:
            assert result.problem is not None
            if not result.changed:
                outcome = _("Nothing was changed, and nothing was recorded.")
            else:
                outcome = _(
                    "Only part of it was done: {person} is now {standing}, and that is what I recorded.",
                    person=user.mention,
                    standing=Lowered(STANDING_LABELS[standing]),
                )
            text = f"{result.problem.render(language)}\n{outcome.render(language)}"
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
        coop_language = await self._coop_language(guild.id)  # a DM: the cooperative's language
        declined = _(
            "Thank you for applying to become a member of **{server}**. This time the moderators did not "
            "admit you. Their reason:",
            server=guild.name,
        )
        remain = _("You remain a contributor; you are welcome to apply again when the time is right.")
        told = await self._tell(
            application.user_id,
            f"{declined.render(coop_language)}\n> {one_line(reason, 800)}\n{remain.render(coop_language)}",
            # The reason is theirs to read, not the server's: no public fallback.
            fallback_channel_id=None,
        )
        note = (
            _("I've told them by DM.")
            if told
            else _("Their DMs are closed: please tell them yourself, kindly.")
        )
        await interaction.followup.send(
            _sentences(
                language_for(interaction),
                _("{person}'s application is declined.", person=user.mention),
                note,
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
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
            text = _(
                "Admissions are decided by the members, with a {decision_type} decision for each "
                "application.",
                decision_type=Lowered(get_type(settings.admission_decision_type).label),
            )
        else:
            text = _("Admissions are decided by a moderator: `/mod member promote` or `/mod member decline`.")
        await send_ephemeral(interaction, text)
