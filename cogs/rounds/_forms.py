"""The forms of rounds: a new round's words, a new bucket, and an amount to put into a bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from cogs._common import CoopModal, language_for
from governance import rounds
from governance.money import normalise_amount

if TYPE_CHECKING:
    from cogs.rounds._cog import Rounds


class RoundModal(CoopModal):
    """What the round is for; the money and the times were checked before this form opened."""

    def __init__(self, cog: Rounds, draft: rounds.RoundDraft) -> None:
        super().__init__(title="New funding round", timeout=900)
        self.cog = cog
        self.draft = draft
        self.name: discord.ui.TextInput[RoundModal] = discord.ui.TextInput(
            label="Title", custom_id="title", max_length=rounds.MAX_TITLE, placeholder="Spring round 2027"
        )
        self.description: discord.ui.TextInput[RoundModal] = discord.ui.TextInput(
            label="What the round is for",
            custom_id="description",
            style=discord.TextStyle.paragraph,
            max_length=rounds.MAX_DESCRIPTION,
            required=False,
        )
        self.guidelines: discord.ui.TextInput[RoundModal] = discord.ui.TextInput(
            label="Guidelines, one per line",
            custom_id="guidelines",
            style=discord.TextStyle.paragraph,
            max_length=rounds.MAX_GUIDELINES * (rounds.MAX_GUIDELINE + 1),
            required=False,
            placeholder="Benefits the commons\nDone within a year",
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

    def __init__(self, cog: Rounds, round_id: int, co_creators: tuple[int, ...]) -> None:
        super().__init__(title=f"New bucket in round #{round_id}", timeout=900)
        self.cog = cog
        self.round_id = round_id
        self.co_creators = co_creators
        self.name: discord.ui.TextInput[BucketModal] = discord.ui.TextInput(
            label="Title", custom_id="title", max_length=rounds.MAX_TITLE, placeholder="A shed for the tools"
        )
        self.description: discord.ui.TextInput[BucketModal] = discord.ui.TextInput(
            label="What it is and who it helps",
            custom_id="description",
            style=discord.TextStyle.paragraph,
            max_length=rounds.MAX_DESCRIPTION,
            required=False,
        )
        self.budget: discord.ui.TextInput[BucketModal] = discord.ui.TextInput(
            label="Budget, one line each: label: min to max",
            custom_id="budget",
            style=discord.TextStyle.paragraph,
            max_length=1000,
            placeholder="Timber: 200 to 300\nPaint: 40",
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

    def __init__(self, cog: Rounds, bucket_id: int, left: str) -> None:
        super().__init__(title=f"Fund bucket #{bucket_id}", timeout=600)
        self.cog = cog
        self.bucket_id = bucket_id
        self.amount: discord.ui.TextInput[AmountModal] = discord.ui.TextInput(
            label="Amount", custom_id="amount", max_length=32, placeholder=f"You have {left} left"[:100]
        )
        self.add_item(self.amount)

    async def submitted(self, interaction: discord.Interaction[Any]) -> None:
        # Typed the member's way, as the amount options are (a decimal comma where their language has one).
        typed = normalise_amount(self.amount.value, language_for(interaction))
        await self.cog.fund_typed(interaction, self.bucket_id, typed)
