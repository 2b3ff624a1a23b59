"""Cooperative administration: /coop setup and /coop settings."""

from __future__ import annotations

from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._common import actor_of, requires
from governance import coop
from governance.decision_types import DECISION_TYPES, get_type
from governance.errors import InvalidInput
from governance.money import currency_label, suggest_currencies
from governance.permissions import require_moderator
from governance.timeparse import format_duration, suggest_timezones
from storage.models import Guild

DECISION_TYPE_CHOICES = [
    app_commands.Choice(name=decision_type.label, value=kind.value)
    for kind, decision_type in DECISION_TYPES.items()
]


def _assignable(role: discord.Role | None, label: str) -> int | None:
    """Refuse roles that Discord will not let anyone be given or that mean everyone."""
    if role is None:
        return None
    if role.is_default():
        raise InvalidInput(f"The {label} role must be a specific role, not @everyone.")
    if role.managed:
        raise InvalidInput(f"{role.name} is managed by an integration and can't be the {label} role.")
    return role.id


def _mention_channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "not set"


def _mention_role(role_id: int | None) -> str:
    return f"<@&{role_id}>" if role_id else "not set"


def settings_embed(settings: Guild, *, title: str) -> discord.Embed:
    decision_type = get_type(settings.default_decision_type)
    embed = discord.Embed(title=title, colour=discord.Colour.green())
    embed.add_field(name="Governance channel", value=_mention_channel(settings.governance_channel_id))
    embed.add_field(name="Welcome channel", value=_mention_channel(settings.welcome_channel_id))
    embed.add_field(name="Timezone", value=settings.timezone)
    embed.add_field(name="Member role", value=_mention_role(settings.member_role_id))
    embed.add_field(name="Contributor role", value=_mention_role(settings.contributor_role_id))
    embed.add_field(name="Moderator role", value=_mention_role(settings.moderator_role_id))
    embed.add_field(name="Treasurer role", value=_mention_role(settings.treasurer_role_id))
    embed.add_field(name="Currency", value=settings.currency)
    default_open = format_duration(timedelta(seconds=settings.default_decision_seconds))
    embed.add_field(name="Default decision", value=f"{decision_type.label}, open {default_open}")
    if not coop.is_configured(settings):
        embed.set_footer(
            text="Set at least a governance channel and a member role to start deciding together."
        )
    return embed


def _usable_channel(channel: discord.TextChannel | None, purpose: str) -> int | None:
    """Refuse a channel the bot could not work in, now rather than at the first proposal."""
    if channel is None:
        return None
    permissions = channel.permissions_for(channel.guild.me)
    needed = {
        "View Channel": permissions.view_channel,
        "Send Messages": permissions.send_messages,
        "Embed Links": permissions.embed_links,
        "Create Public Threads": permissions.create_public_threads,
        "Send Messages in Threads": permissions.send_messages_in_threads,
    }
    missing = [name for name, granted in needed.items() if not granted]
    if missing:
        raise InvalidInput(
            f"I can't work in {channel.mention} as the {purpose} channel: I need {', '.join(missing)} there."
        )
    return channel.id


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class CoopAdmin(commands.GroupCog, group_name="coop", group_description="Set up and run the cooperative"):
    def __init__(self, bot: CoopBot) -> None:
        self.bot = bot

    @app_commands.command(name="setup")
    @requires(require_moderator)
    @app_commands.describe(
        governance_channel="Where proposals are posted and discussed",
        welcome_channel="Where newcomers are welcomed",
        member_role="The role of full members (they vote by default)",
        contributor_role="The role of contributors (accepted the charter, not yet members)",
        moderator_role="The role that may run moderator commands",
        treasurer_role="The role that confirms contributions and records payouts",
        timezone="The cooperative's timezone, e.g. Pacific/Auckland",
        currency="Default currency (ISO 4217), e.g. NZD",
        default_decision_type="The decision type used when none is chosen",
        default_duration="How long decisions stay open by default, e.g. 3d or 1w",
    )
    @app_commands.choices(default_decision_type=DECISION_TYPE_CHOICES)
    async def setup_command(
        self,
        interaction: discord.Interaction[CoopBot],
        governance_channel: discord.TextChannel | None = None,
        welcome_channel: discord.TextChannel | None = None,
        member_role: discord.Role | None = None,
        contributor_role: discord.Role | None = None,
        moderator_role: discord.Role | None = None,
        treasurer_role: discord.Role | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        currency: app_commands.Range[str, 1, 16] | None = None,
        default_decision_type: str | None = None,
        default_duration: app_commands.Range[str, 1, 32] | None = None,
    ) -> None:
        """Configure channels, roles, timezone, currency and decision defaults."""
        assert interaction.guild_id is not None
        changes = coop.SetupChanges(
            governance_channel_id=_usable_channel(governance_channel, "governance"),
            welcome_channel_id=_usable_channel(welcome_channel, "welcome"),
            member_role_id=_assignable(member_role, "member"),
            contributor_role_id=_assignable(contributor_role, "contributor"),
            moderator_role_id=_assignable(moderator_role, "moderator"),
            treasurer_role_id=_assignable(treasurer_role, "treasurer"),
            timezone=timezone,
            currency=currency,
            default_decision_type=default_decision_type,
            default_duration=default_duration,
        )
        settings = await coop.configure_guild(
            self.bot.database,
            guild_id=interaction.guild_id,
            actor=actor_of(interaction),
            changes=changes,
            now=self.bot.clock.now(),
        )
        await interaction.response.send_message(
            embed=settings_embed(settings, title="Cooperative settings saved"), ephemeral=True
        )

    @app_commands.command(name="settings")
    @requires(require_moderator)
    async def settings_command(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Show the cooperative's current settings."""
        assert interaction.guild_id is not None
        settings = await coop.get_settings(self.bot.database, interaction.guild_id, self.bot.clock.now())
        await interaction.response.send_message(
            embed=settings_embed(settings, title="Cooperative settings"), ephemeral=True
        )

    @setup_command.autocomplete("timezone")
    async def _timezone_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in suggest_timezones(current, limit=25)]

    @setup_command.autocomplete("currency")
    async def _currency_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=currency_label(code), value=code)
            for code in suggest_currencies(current, limit=25)
        ]


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(CoopAdmin(bot))
