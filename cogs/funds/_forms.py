"""Modals of funds: a request's purpose and details, and a reason when a treasurer says no."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal
from cogs._text import MODAL_TITLE_LIMIT, shorten
from governance import funds

if TYPE_CHECKING:
    from cogs.funds._cog import Funds


class RequestModal(CoopModal):
    """What the money is for; the amounts were checked before this form opened."""

    def __init__(self, cog: Funds, plan: funds.RequestPlan) -> None:
        super().__init__(title=shorten(f"Request from {plan.fund.name}", MODAL_TITLE_LIMIT), timeout=900)
        self.cog = cog
        self.plan = plan
        self.purpose: discord.ui.TextInput[RequestModal] = discord.ui.TextInput(
            label="Purpose",
            custom_id="purpose",
            max_length=funds.MAX_PURPOSE,
            placeholder="What the money is for, in one line",
        )
        self.details: discord.ui.TextInput[RequestModal] = discord.ui.TextInput(
            label="Details",
            custom_id="details",
            style=discord.TextStyle.paragraph,
            max_length=funds.MAX_DETAILS,
            required=False,
            placeholder="Costs, quotes, timing, links",
        )
        self.add_item(self.purpose)
        self.add_item(self.details)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.submit_request(interaction, self.plan, self.purpose.value, self.details.value)


class RejectModal(CoopModal):
    """Why a treasurer rejects a contribution or a request (optional, shown to the person)."""

    def __init__(self, cog: Funds, subject: str, subject_id: int) -> None:
        super().__init__(title=shorten(f"Reject {subject} #{subject_id}", MODAL_TITLE_LIMIT), timeout=900)
        self.cog = cog
        self.subject = subject
        self.subject_id = subject_id
        self.reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label="Why (shown to them)",
            custom_id="reason",
            style=discord.TextStyle.paragraph,
            max_length=funds.MAX_REASON,
            required=False,
        )
        self.add_item(self.reason)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        if self.subject == "contribution":
            await self.cog.reject_contribution_from_notice(interaction, self.subject_id, self.reason.value)
        else:
            await self.cog.reject_request_from_notice(interaction, self.subject_id, self.reason.value)
