"""Modals and short-lived views: the introduction, the charter editor, confirming a leave, the directory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal, CoopView, ExpiringView, PagedView, language_for
from cogs._text import INPUT_LABEL_LIMIT, MODAL_TITLE_LIMIT, shorten
from cogs.onboarding._render import DirectoryEntry, directory_embed
from governance import membership
from governance.i18n import N_, SOURCE, Text, _, _n, translate
from governance.membership import ProfileDraft

if TYPE_CHECKING:
    from cogs.onboarding._cog import Onboarding

# Discord's own cap on a text input; the cooperative's limits (lower) are checked by the bot, which says
# what to shorten and keeps the text for another try instead of losing it.
INPUT_LIMIT = 4000
FORM_TIMEOUT = 900.0
VIEW_TIMEOUT = 600.0
DIRECTORY_PAGE_SIZE = 10
PLACEHOLDER_LIMIT = 100
EDIT_AGAIN_LABEL = N_("Edit again")
CANCEL_LABEL = N_("Cancel")


def _label(text: Text, language: str) -> str:
    """A field's label in `language`, within Discord's limit (a translation may run longer)."""
    return shorten(text.render(language), INPUT_LABEL_LIMIT)


def _hint(text: Text, language: str) -> str:
    """A field's placeholder in `language`, within Discord's limit."""
    return shorten(text.render(language), PLACEHOLDER_LIMIT)


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
    """The introduction, and later the profile editor: name, what they do, skills, why, timezone (in the
    language of the person filling it in)."""

    def __init__(
        self, cog: Onboarding, guild_id: int, draft: ProfileDraft, *, first: bool, language: str = SOURCE
    ) -> None:
        title = _("Introduce yourself") if first else _("Edit your profile")
        super().__init__(title=shorten(title.render(language), MODAL_TITLE_LIMIT), timeout=FORM_TIMEOUT)
        self.cog = cog
        self.guild_id = guild_id
        self.first = first
        self.name: discord.ui.TextInput[ProfileModal] = discord.ui.TextInput(
            label=_label(_("Your name, as you'd like to be called"), language),
            custom_id="display_name",
            max_length=membership.MAX_DISPLAY_NAME,
            default=draft.display_name[: membership.MAX_DISPLAY_NAME] or None,
        )
        self.what = _paragraph(
            _label(
                _n(
                    "What you do (up to {count} character)",
                    "What you do (up to {count} characters)",
                    membership.MAX_WHAT_THEY_DO,
                ),
                language,
            ),
            "what_they_do",
            draft.what_they_do,
            placeholder=_hint(_("Your work, your projects, your venture"), language),
        )
        self.skills = _paragraph(
            _label(
                _n(
                    "Skills (up to {count} character)",
                    "Skills (up to {count} characters)",
                    membership.MAX_SKILLS,
                ),
                language,
            ),
            "skills",
            draft.skills,
            required=False,
            placeholder=_hint(_("e.g. facilitation, bookkeeping, Python, carpentry"), language),
        )
        self.why = _paragraph(
            _label(_("What brings you here (up to {count})", count=membership.MAX_WHY), language),
            "why",
            draft.why,
            required=False,
        )
        self.timezone: discord.ui.TextInput[ProfileModal] = discord.ui.TextInput(
            label=_label(_("Your timezone"), language),
            custom_id="timezone",
            max_length=100,
            required=False,
            default=draft.timezone[:100] or None,
            placeholder=_hint(_("e.g. Europe/Berlin or Pacific/Auckland"), language),
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

    def __init__(
        self, cog: Onboarding, guild_id: int, draft: ProfileDraft, *, first: bool, language: str = SOURCE
    ) -> None:
        super().__init__(timeout=FORM_TIMEOUT)
        self.cog = cog
        self.guild_id = guild_id
        self.draft = draft
        self.first = first
        self.again.label = translate(EDIT_AGAIN_LABEL, language)

    @discord.ui.button(label=EDIT_AGAIN_LABEL, style=discord.ButtonStyle.primary, emoji="✏️")
    async def again(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(
            ProfileModal(
                self.cog, self.guild_id, self.draft, first=self.first, language=language_for(interaction)
            )
        )


class CharterModal(CoopModal):
    """The charter's text, for a moderator to write (in the moderator's language)."""

    def __init__(
        self,
        cog: Onboarding,
        *,
        current: str,
        version: int | None,
        decide: bool = False,
        language: str = SOURCE,
    ) -> None:
        title = _("Propose a charter") if decide else _("The charter")
        super().__init__(title=shorten(title.render(language), MODAL_TITLE_LIMIT), timeout=FORM_TIMEOUT)
        self.cog = cog
        self.version = version
        self.decide = decide
        self.text: discord.ui.TextInput[CharterModal] = discord.ui.TextInput(
            label=_label(_("The charter's text"), language),
            custom_id="charter",
            style=discord.TextStyle.paragraph,
            max_length=membership.MAX_CHARTER,
            default=current[: membership.MAX_CHARTER] or None,
            placeholder=_hint(_("Our purpose, how we decide, what we expect of each other"), language),
        )
        self.add_item(self.text)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.publish_charter(interaction, self.text.value, self.version, decide=self.decide)


class LeaveConfirmView(ExpiringView):
    """Asks before someone steps down or leaves the cooperative."""

    def __init__(self, cog: Onboarding, *, to: str, language: str = SOURCE) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.cog = cog
        self.to = to
        confirm = _("Yes, step down") if to == "contributor" else _("Yes, leave the cooperative")
        self.confirm.label = confirm.render(language)
        self.cancel.label = translate(CANCEL_LABEL, language)

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await self.cog.leave_confirmed(interaction, self.to)

    @discord.ui.button(label=CANCEL_LABEL, style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=_("Nothing changed.").render(language_for(interaction)), view=None
        )


class DirectoryView(PagedView):
    """The member directory, a page at a time (profiles are read for the page shown only)."""

    def __init__(
        self,
        cog: Onboarding,
        guild_id: int,
        entries: list[DirectoryEntry],
        *,
        heading: Text,
        language: str = SOURCE,
    ) -> None:
        super().__init__(
            pages=-(-len(entries) // DIRECTORY_PAGE_SIZE), timeout=VIEW_TIMEOUT, language=language
        )
        self.cog = cog
        self.guild_id = guild_id
        self.entries = entries
        self.heading = heading
        self.language = language

    async def render_page(self) -> discord.Embed:
        shown = self.entries[self.page * DIRECTORY_PAGE_SIZE : (self.page + 1) * DIRECTORY_PAGE_SIZE]
        rows = await membership.profiles(self.cog.bot.database, self.guild_id, [e.user_id for e in shown])
        return directory_embed(
            shown,
            rows,
            page=self.page,
            pages=self.pages,
            total=len(self.entries),
            heading=self.heading,
            language=self.language,
        )
