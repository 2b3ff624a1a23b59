"""The forms of rounds: a new round's words, a new bucket, and an amount to put into a bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal, language_for
from cogs._text import INPUT_LABEL_LIMIT, MODAL_TITLE_LIMIT, shorten
from governance import rounds
from governance.i18n import SOURCE, Text, _
from governance.money import Money, normalise_amount

if TYPE_CHECKING:
    from cogs.rounds._cog import Rounds

PLACEHOLDER_LIMIT = 100


def _label(text: Text, language: str) -> str:
    return shorten(text.render(language), INPUT_LABEL_LIMIT)


def _placeholder(text: Text, language: str) -> str:
    return shorten(text.render(language), PLACEHOLDER_LIMIT)


class RoundModal(CoopModal):
    """What the round is for; the money and the times were checked before this form opened."""

    def __init__(self, cog: Rounds, draft: rounds.RoundDraft, language: str = SOURCE) -> None:
        super().__init__(
            title=shorten(_("New funding round").render(language), MODAL_TITLE_LIMIT), timeout=900
        )
        self.cog = cog
        self.draft = draft
        self.name: discord.ui.TextInput[RoundModal] = discord.ui.TextInput(
            label=_label(_("Title"), language),
            custom_id="title",
            max_length=rounds.MAX_TITLE,
            placeholder=_placeholder(_("Spring round 2027"), language),
        )
        self.description: discord.ui.TextInput[RoundModal] = discord.ui.TextInput(
            label=_label(_("What the round is for"), language),
            custom_id="description",
            style=discord.TextStyle.paragraph,
            max_length=rounds.MAX_DESCRIPTION,
            required=False,
        )
        self.guidelines: discord.ui.TextInput[RoundModal] = discord.ui.TextInput(
            label=_label(_("Guidelines, one per line"), language),
            custom_id="guidelines",
            style=discord.TextStyle.paragraph,
            max_length=rounds.MAX_GUIDELINES * (rounds.MAX_GUIDELINE + 1),
            required=False,
            placeholder=_placeholder(_("Benefits the commons\nDone within a year"), language),
        )
        for item in (self.name, self.description, self.guidelines):
            self.add_item(item)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.publish_round(
            interaction,
            self.draft,
            title=self.name.value,
            description=self.description.value,
            guidelines=rounds.parse_guidelines(self.guidelines.value),
        )


class BucketModal(CoopModal):
    """A bucket: its title, what it is, and its budget lines."""

    def __init__(
        self, cog: Rounds, round_id: int, co_creators: tuple[int, ...], language: str = SOURCE
    ) -> None:
        super().__init__(
            title=shorten(
                _("New bucket in round #{round}", round=round_id).render(language), MODAL_TITLE_LIMIT
            ),
            timeout=900,
        )
        self.cog = cog
        self.round_id = round_id
        self.co_creators = co_creators
        self.name: discord.ui.TextInput[BucketModal] = discord.ui.TextInput(
            label=_label(_("Title"), language),
            custom_id="title",
            max_length=rounds.MAX_TITLE,
            placeholder=_placeholder(_("A shed for the tools"), language),
        )
        self.description: discord.ui.TextInput[BucketModal] = discord.ui.TextInput(
            label=_label(_("What it is and who it helps"), language),
            custom_id="description",
            style=discord.TextStyle.paragraph,
            max_length=rounds.MAX_DESCRIPTION,
            required=False,
        )
        # The budget is read with "to" (or "–", "..") between the minimum and the stretch goal, in every
        # language: the example keeps it as it is read.
        self.budget: discord.ui.TextInput[BucketModal] = discord.ui.TextInput(
            label=_label(_("Budget, one line each: label: min to max"), language),
            custom_id="budget",
            style=discord.TextStyle.paragraph,
            max_length=1000,
            placeholder=_placeholder(
                _("Timber: {range}\nPaint: {amount}", range="200 to 300", amount="40"), language
            ),
        )
        for item in (self.name, self.description, self.budget):
            self.add_item(item)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.publish_bucket(
            interaction,
            self.round_id,
            title=self.name.value,
            description=self.description.value,
            budget=self.budget.value,
            co_creators=self.co_creators,
        )


class AmountModal(CoopModal):
    """Another amount to put into a bucket."""

    def __init__(self, cog: Rounds, bucket_id: int, left: Money | str, language: str = SOURCE) -> None:
        super().__init__(
            title=shorten(_("Fund bucket #{bucket}", bucket=bucket_id).render(language), MODAL_TITLE_LIMIT),
            timeout=600,
        )
        self.cog = cog
        self.bucket_id = bucket_id
        self.amount: discord.ui.TextInput[AmountModal] = discord.ui.TextInput(
            label=_label(_("Amount"), language),
            custom_id="amount",
            max_length=32,
            placeholder=_placeholder(_("You have {amount} left", amount=left), language),
        )
        self.add_item(self.amount)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        # Typed the member's way, as the amount options are (a decimal comma where their language has one).
        typed = normalise_amount(self.amount.value, language_for(interaction))
        await self.cog.fund_typed(interaction, self.bucket_id, typed)
