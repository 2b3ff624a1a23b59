"""The persistent buttons of the welcome (in the welcome channel and in DMs) and of the charter.

Their custom ids carry the guild (a click in a DM has no guild of its own) and, for the agreement, the
charter version the person read, so they keep working after a restart and an old message can't make
someone agree to a newer text they have not seen."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._common import RoutesToCog
from governance.i18n import N_, SOURCE, translate

if TYPE_CHECKING:
    from cogs.onboarding._cog import Onboarding

AGREE_LABEL = N_("I agree to the charter")
INTRODUCE_LABEL = N_("Introduce yourself")


class _RoutesToCog(RoutesToCog["Onboarding"]):
    def cog_type(self) -> type[Onboarding]:
        from cogs.onboarding._cog import Onboarding

        return Onboarding


class AgreeButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:charter:(?P<guild>[0-9]{1,20}):(?P<version>[0-9]{1,9})",
):
    def __init__(self, guild_id: int, version: int, label: str = AGREE_LABEL) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success,
                label=label,
                emoji="✅",
                custom_id=f"coop:charter:{guild_id}:{version}",
            )
        )
        self.guild_id = guild_id
        self.version = version

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AgreeButton:
        return cls(int(match["guild"]), int(match["version"]))

    async def handle(self, cog: Onboarding, interaction: discord.Interaction[Any]) -> None:
        await cog.on_agree(interaction, self.guild_id, self.version)


class IntroduceButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:intro:(?P<guild>[0-9]{1,20})",
):
    def __init__(self, guild_id: int, label: str = INTRODUCE_LABEL) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label=label,
                emoji="👋",
                custom_id=f"coop:intro:{guild_id}",
            )
        )
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> IntroduceButton:
        return cls(int(match["guild"]))

    async def handle(self, cog: Onboarding, interaction: discord.Interaction[Any]) -> None:
        await cog.on_introduce(interaction, self.guild_id)


PERSISTENT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (AgreeButton, IntroduceButton)


def welcome_view(guild_id: int, charter_version: int | None, language: str = SOURCE) -> discord.ui.View:
    """The buttons under a welcome: agree (when there is a charter to agree to) and introduce."""
    view = discord.ui.View(timeout=None)
    if charter_version:
        view.add_item(AgreeButton(guild_id, charter_version, translate(AGREE_LABEL, language)))
    view.add_item(IntroduceButton(guild_id, translate(INTRODUCE_LABEL, language)))
    return view


def agree_view(guild_id: int, charter_version: int, language: str = SOURCE) -> discord.ui.View:
    """The agree button under the charter, in `language`."""
    view = discord.ui.View(timeout=None)
    view.add_item(AgreeButton(guild_id, charter_version, translate(AGREE_LABEL, language)))
    return view
