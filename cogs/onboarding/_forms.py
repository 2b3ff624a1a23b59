"""Modals and short-lived views: the introduction, the charter editor, confirming a leave, the directory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal, CoopView, ExpiringView, PagedView
from cogs.onboarding._render import DirectoryEntry, directory_embed
from governance import membership
from governance.membership import ProfileDraft

if TYPE_CHECKING:
    from cogs.onboarding._cog import Onboarding

# Discord's own cap on a text input; the cooperative's limits (lower) are checked by the bot, which says
# what to shorten and keeps the text for another try instead of losing it.
INPUT_LIMIT = 4000
FORM_TIMEOUT = 900.0
VIEW_TIMEOUT = 600.0
DIRECTORY_PAGE_SIZE = 10


def _paragraph(
    label: str, custom_id: str, default: str, *, required: bool = True, placeholder: str | None = None
) -> discord.ui.TextInput[ProfileModal]:
    """A long answer that Discord lets run to its own cap (INPUT_LIMIT): the cooperative's lower limit,
    named in the label, is checked by the bot, which keeps the text when it is over."""
    return discord.ui.TextInput(
        label=label,
        custom_id=custom_id,
        style=discord.TextStyle.paragraph,
        max_length=INPUT_LIMIT,
        required=required,
        default=default[:INPUT_LIMIT] or None,  # never more than the field holds: Discord refuses the form
        placeholder=placeholder,
    )


class ProfileModal(CoopModal):
    """The introduction, and later the profile editor: name, what they do, skills, why, timezone."""

    def __init__(self, cog: Onboarding, guild_id: int, draft: ProfileDraft, *, first: bool) -> None:
        super().__init__(title="Introduce yourself" if first else "Edit your profile", timeout=FORM_TIMEOUT)
        self.cog = cog
        self.guild_id = guild_id
        self.first = first
        self.name: discord.ui.TextInput[ProfileModal] = discord.ui.TextInput(
            label="Your name, as you'd like to be called",
            custom_id="display_name",
            max_length=membership.MAX_DISPLAY_NAME,
            default=draft.display_name[: membership.MAX_DISPLAY_NAME] or None,
        )
        self.what = _paragraph(
            f"What you do (up to {membership.MAX_WHAT_THEY_DO} characters)",
            "what_they_do",
            draft.what_they_do,
            placeholder="Your work, your projects, your venture",
        )
        self.skills = _paragraph(
            f"Skills (up to {membership.MAX_SKILLS} characters)",
            "skills",
            draft.skills,
            required=False,
            placeholder="e.g. facilitation, bookkeeping, Python, carpentry",
        )
        self.why = _paragraph(
            f"What brings you here (up to {membership.MAX_WHY})", "why", draft.why, required=False
        )
        self.timezone: discord.ui.TextInput[ProfileModal] = discord.ui.TextInput(
            label="Your timezone",
            custom_id="timezone",
            max_length=100,
            required=False,
            default=draft.timezone[:100] or None,
            placeholder="e.g. Europe/Berlin or Pacific/Auckland",
        )
        for field in (self.name, self.what, self.skills, self.why, self.timezone):
            self.add_item(field)

    def draft(self) -> ProfileDraft:
        return ProfileDraft(
            display_name=self.name.value,
            what_they_do=self.what.value,
            skills=self.skills.value,
            why=self.why.value,
            timezone=self.timezone.value,
        )

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.save_profile(interaction, self.guild_id, self.draft(), first=self.first)


class RetryProfileView(CoopView):
    """Under a refused profile: opens the form again with what the person typed."""

    def __init__(self, cog: Onboarding, guild_id: int, draft: ProfileDraft, *, first: bool) -> None:
        super().__init__(timeout=FORM_TIMEOUT)
        self.cog = cog
        self.guild_id = guild_id
        self.draft = draft
        self.first = first

    @discord.ui.button(label="Edit again", style=discord.ButtonStyle.primary, emoji="✏️")
    async def again(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(
            ProfileModal(self.cog, self.guild_id, self.draft, first=self.first)
        )


class CharterModal(CoopModal):
    def __init__(self, cog: Onboarding, *, current: str, version: int | None, decide: bool = False) -> None:
        super().__init__(title="Propose a charter" if decide else "The charter", timeout=FORM_TIMEOUT)
        self.cog = cog
        self.version = version
        self.decide = decide
        self.text: discord.ui.TextInput[CharterModal] = discord.ui.TextInput(
            label="The charter's text",
            custom_id="charter",
            style=discord.TextStyle.paragraph,
            max_length=membership.MAX_CHARTER,
            default=current[: membership.MAX_CHARTER] or None,
            placeholder="Our purpose, how we decide, what we expect of each other",
        )
        self.add_item(self.text)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.publish_charter(interaction, self.text.value, self.version, decide=self.decide)


class LeaveConfirmView(ExpiringView):
    """Asks before someone steps down or leaves the cooperative."""

    def __init__(self, cog: Onboarding, *, to: str) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.cog = cog
        self.to = to
        self.confirm.label = "Yes, step down" if to == "contributor" else "Yes, leave the cooperative"

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await self.cog.leave_confirmed(interaction, self.to)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing changed.", view=None)


class DirectoryView(PagedView):
    """The member directory, a page at a time (profiles are read for the page shown only)."""

    def __init__(
        self, cog: Onboarding, guild_id: int, entries: list[DirectoryEntry], *, heading: str
    ) -> None:
        super().__init__(pages=-(-len(entries) // DIRECTORY_PAGE_SIZE), timeout=VIEW_TIMEOUT)
        self.cog = cog
        self.guild_id = guild_id
        self.entries = entries
        self.heading = heading

    async def render_page(self) -> discord.Embed:
        shown = self.entries[self.page * DIRECTORY_PAGE_SIZE : (self.page + 1) * DIRECTORY_PAGE_SIZE]
        rows = await membership.profiles(self.cog.bot.database, self.guild_id, [e.user_id for e in shown])
        return directory_embed(
            shown, rows, page=self.page, pages=self.pages, total=len(self.entries), heading=self.heading
        )
