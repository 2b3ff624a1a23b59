"""The form a network proposal is written in."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import discord

from cogs.proposals._forms import ProposalForm
from governance.i18n import _
from governance.networks import NetworkDraft

if TYPE_CHECKING:
    from cogs.networks._cog import Networks


class NetworkProposalModal(ProposalForm):
    """Title and details (and options, for option kinds) of a network proposal."""

    def __init__(self, cog: Networks, network: str | None, draft: NetworkDraft, *, ask_options: bool) -> None:
        super().__init__(
            title=_("New network proposal"),
            about=_("Context, the proposal itself, what each cooperative should weigh"),
            options=draft.options,
            ask_options=ask_options,
        )
        self.cog, self.network, self.draft = cog, network, draft

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        title, details, options = self.written()
        draft = dataclasses.replace(self.draft, title=title, details=details, options=options)
        await self.cog.publish(interaction, self.network, draft)
