"""The moderators' onboarding commands. /mod member: moderators promote, demote and remove people, decide
admissions that moderators decide, and choose how admissions are decided. /coop charter: they write the
charter. Attached under the shared /mod and /coop groups (see cogs/_moderation.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot import CoopBot
from cogs._common import requires
from governance.decision_types import DECISION_TYPES
from governance.membership import ADMISSION_KINDS, MAX_REASON, Change
from governance.permissions import require_moderator

if TYPE_CHECKING:
    from cogs.onboarding._cog import Onboarding

ADMISSION_TYPE_CHOICES = [
    app_commands.Choice(name=DECISION_TYPES[kind].label, value=kind.value) for kind in ADMISSION_KINDS
]
Reason = app_commands.Range[str, 1, MAX_REASON]
CharterVersion = app_commands.Range[int, 1, 1_000_000]


def charter_command(cog: Onboarding) -> app_commands.Command[Any, ..., None]:
    """/coop charter, made for each cog object: a command belongs to one group, and one bot, at a time."""

    @app_commands.command(name="charter")
    @requires(require_moderator)
    @app_commands.describe(
        version="The version number (default: the next one; the current one for a wording fix that "
        "keeps everyone's agreement)",
        decide="Put the new version to the members as a consent decision instead of adopting it now",
    )
    async def charter(
        interaction: discord.Interaction[CoopBot], version: CharterVersion | None = None, decide: bool = False
    ) -> None:
        """Write the charter (moderators). A new version asks everyone to agree again."""
        await cog.edit_charter(interaction, version, decide=decide)

    return charter


class MemberModeration(app_commands.Group):
    def __init__(self, cog: Onboarding) -> None:
        super().__init__(name="member", description="Promote, demote or remove people; decide admissions")
        self.cog = cog

    @app_commands.command(name="promote")
    @requires(require_moderator)
    @app_commands.describe(user="Who becomes a member", reason="Why (kept in the audit log)")
    async def promote(
        self, interaction: discord.Interaction[CoopBot], user: discord.Member, reason: Reason
    ) -> None:
        """Make someone a member: gives the member role (admits an application moderators decide)."""
        await self.cog.moderate(interaction, user, Change.PROMOTE, reason)

    @app_commands.command(name="demote")
    @requires(require_moderator)
    @app_commands.describe(user="The member who becomes a contributor", reason="Why (kept in the audit log)")
    async def demote(
        self, interaction: discord.Interaction[CoopBot], user: discord.Member, reason: Reason
    ) -> None:
        """Make a member a contributor again: takes the member role."""
        await self.cog.moderate(interaction, user, Change.DEMOTE, reason)

    @app_commands.command(name="remove")
    @requires(require_moderator)
    @app_commands.describe(user="Who leaves the cooperative", reason="Why (kept in the audit log)")
    async def remove(
        self, interaction: discord.Interaction[CoopBot], user: discord.Member, reason: Reason
    ) -> None:
        """Remove someone from the cooperative: takes the member and contributor roles (history stays)."""
        await self.cog.moderate(interaction, user, Change.REMOVE, reason)

    @app_commands.command(name="decline")
    @requires(require_moderator)
    @app_commands.describe(user="Whose application is declined", reason="Why (they are told, kindly)")
    async def decline(
        self, interaction: discord.Interaction[CoopBot], user: discord.Member, reason: Reason
    ) -> None:
        """Decline an application that moderators decide (not one a proposal decides)."""
        await self.cog.decline(interaction, user, reason)

    @app_commands.command(name="admission")
    @requires(require_moderator)
    @app_commands.describe(
        by_decision="True: the members decide each admission; False: a moderator does",
        type="The decision type of admissions (default consent)",
    )
    @app_commands.choices(type=ADMISSION_TYPE_CHOICES)
    async def admission(
        self,
        interaction: discord.Interaction[CoopBot],
        by_decision: bool | None = None,
        type: str | None = None,
    ) -> None:
        """Choose how contributors become members: by a decision of the members, or by a moderator."""
        await self.cog.configure_admission(interaction, by_decision, type)
