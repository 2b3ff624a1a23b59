"""The persistent buttons of the welcome (in the welcome channel and in DMs) and of the charter.

Their custom ids carry the guild (a click in a DM has no guild of its own) and, for the agreement, the
charter version the person read, so they keep working after a restart and an old message can't make
someone agree to a newer text they have not seen."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._common import RoutesToCog

if TYPE_CHECKING:
    from cogs.onboarding._cog import Onboarding

AGREE_LABEL = "I agree to the charter"
INTRODUCE_LABEL = "Introduce yourself"


class _RoutesToCog(RoutesToCog["Onboarding"]):
    def cog_type(self) -> type[Onboarding]:
        from cogs.onboarding._cog import Onboarding

        return Onboarding


class AgreeButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:charter:(?P<guild>[0-9]{1,20}):(?P<version>[0-9]{1,9})",
):
    def __init__(self, guild_id: int, version: int) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success,
                label=AGREE_LABEL,
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
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label=INTRODUCE_LABEL,
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


def welcome_view(guild_id: int, charter_version: int | None) -> discord.ui.View:
    """The buttons under a welcome: agree (when there is a charter to agree to) and introduce."""
    view = discord.ui.View(timeout=None)
    if charter_version:
        view.add_item(AgreeButton(guild_id, charter_version))
    view.add_item(IntroduceButton(guild_id))
    return view


def agree_view(guild_id: int, charter_version: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AgreeButton(guild_id, charter_version))
    return view
