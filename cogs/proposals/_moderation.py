"""/mod decision: moderators close, extend, cancel or reopen any decision. The same work as the /proposal
commands (which already let moderators act), gathered under /mod with the moderator check up front."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import CoopBot
from cogs._common import requires
from governance.permissions import require_moderator
from governance.records import MAX_ID

if TYPE_CHECKING:
    from cogs.proposals._cog import Proposals

# The options /mod decision and /proposal share.
ProposalId = app_commands.Range[int, 1, MAX_ID]
Closes = app_commands.Range[str, 1, 60]


class DecisionModeration(app_commands.Group):
    def __init__(self, cog: Proposals) -> None:
        super().__init__(name="decision", description="Close, extend, cancel or reopen any decision")
        self.cog = cog

    @app_commands.command(name="close")
    @requires(require_moderator)
    @app_commands.describe(proposal="The proposal's number")
    async def close(self, interaction: discord.Interaction[CoopBot], proposal: ProposalId) -> None:
        """Close any decision now and count the votes."""
        await self.cog.close_now(interaction, proposal)

    @app_commands.command(name="extend")
    @requires(require_moderator)
    @app_commands.describe(
        proposal="The proposal's number", closes="Extra time (2d, 12h) or a new closing date"
    )
    async def extend(
        self, interaction: discord.Interaction[CoopBot], proposal: ProposalId, closes: Closes
    ) -> None:
        """Give any decision more time."""
        await self.cog.extend_now(interaction, proposal, closes)

    @app_commands.command(name="cancel")
    @requires(require_moderator)
    @app_commands.describe(proposal="The proposal's number", reason="Why it is cancelled")
    async def cancel(
        self,
        interaction: discord.Interaction[CoopBot],
        proposal: ProposalId,
        reason: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        """Cancel any open decision."""
        await self.cog.cancel_now(interaction, proposal, reason)

    @app_commands.command(name="reopen")
    @requires(require_moderator)
    @app_commands.describe(proposal="The proposal's number", closes="When it closes again: 2d, or a date")
    async def reopen(
        self, interaction: discord.Interaction[CoopBot], proposal: ProposalId, closes: Closes
    ) -> None:
        """Reopen a closed decision (not an anonymous one)."""
        await self.cog.reopen_now(interaction, proposal, closes)
