"""Modals of funds: a request's purpose and details, and a reason when a treasurer says no."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal
from cogs._text import MODAL_TITLE_LIMIT, shorten
from governance import funds
from governance.i18n import SOURCE, Text, _

if TYPE_CHECKING:
    from cogs.funds._cog import Funds


class RequestModal(CoopModal):
    """What the money is for; the amounts were checked before this form opened."""

    def __init__(self, cog: Funds, plan: funds.RequestPlan, language: str = SOURCE) -> None:
        def say(text: Text) -> str:
            return text.render(language)

        title = say(_("Request from {fund}", fund=plan.fund.name))
        super().__init__(title=shorten(title, MODAL_TITLE_LIMIT), timeout=900)
        self.cog = cog
        self.plan = plan
        self.purpose: discord.ui.TextInput[RequestModal] = discord.ui.TextInput(
            label=say(_("Purpose")),
            custom_id="purpose",
            max_length=funds.MAX_PURPOSE,
            placeholder=say(_("What the money is for, in one line")),
        )
        self.details: discord.ui.TextInput[RequestModal] = discord.ui.TextInput(
            label=say(_("Details")),
            custom_id="details",
            style=discord.TextStyle.paragraph,
            max_length=funds.MAX_DETAILS,
            required=False,
            placeholder=say(_("Costs, quotes, timing, links")),
        )
        self.add_item(self.purpose)
        self.add_item(self.details)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.submit_request(interaction, self.plan, self.purpose.value, self.details.value)


class RejectModal(CoopModal):
    """Why a treasurer rejects a contribution or a request (optional, shown to the person)."""

    def __init__(self, cog: Funds, subject: str, subject_id: int, language: str = SOURCE) -> None:
        title = (
            _("Reject contribution #{number}", number=subject_id)
            if subject == "contribution"
            else _("Reject request #{number}", number=subject_id)
        )
        super().__init__(title=shorten(title.render(language), MODAL_TITLE_LIMIT), timeout=900)
        self.cog = cog
        self.subject = subject
        self.subject_id = subject_id
        self.reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label=_("Why (shown to them)").render(language),
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
