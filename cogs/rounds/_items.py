"""The persistent buttons under a bucket's post: fund an amount (three sizes and a custom one), take the
money back, and show the bucket with what you hold. Their custom ids carry the bucket and the amount, so
they keep working after a restart; every click is checked again by governance (phase, balance, room)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from cogs._common import RoutesToCog
from cogs.rounds._render import fund_amounts, money
from governance.i18n import N_, SOURCE, _, translate
from governance.records import Bucket, BucketStatus, Round, RoundPhase

if TYPE_CHECKING:
    from cogs.rounds._cog import Rounds

CUSTOM = "c"
OTHER_AMOUNT_LABEL = N_("Other amount")
WITHDRAW_LABEL = N_("Take mine back")
SHOW_LABEL = N_("Show")


class _RoutesToCog(RoutesToCog["Rounds"]):
    def cog_type(self) -> type[Rounds]:
        from cogs.rounds._cog import Rounds

        return Rounds


class FundButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:bfund:(?P<bucket>[0-9]{1,10}):(?P<amount>[0-9]{1,15}|c)",
):
    """Put this amount (minor units) into the bucket, or open a form for another amount."""

    def __init__(self, bucket_id: int, amount: int | None, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success if amount is not None else discord.ButtonStyle.primary,
                label=label,
                emoji="🪣" if amount is not None else None,
                custom_id=f"coop:bfund:{bucket_id}:{CUSTOM if amount is None else amount}",
            )
        )
        self.bucket_id = bucket_id
        self.amount = amount

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        amount = None if match["amount"] == CUSTOM else int(match["amount"])
        return cls(int(match["bucket"]), amount, item.label or "")  # type: ignore[attr-defined]

    async def handle(self, cog: Rounds, interaction: discord.Interaction[Any]) -> None:
        if self.amount is None:
            await cog.ask_amount(interaction, self.bucket_id)
        else:
            await cog.fund_from_button(interaction, self.bucket_id, self.amount)


class WithdrawButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:bwithdraw:(?P<bucket>[0-9]{1,10})",
):
    """Take back everything you put into the bucket."""

    def __init__(self, bucket_id: int, label: str = WITHDRAW_LABEL) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label,
                emoji="↩️",
                custom_id=f"coop:bwithdraw:{bucket_id}",
            )
        )
        self.bucket_id = bucket_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["bucket"]), item.label or WITHDRAW_LABEL)  # type: ignore[attr-defined]

    async def handle(self, cog: Rounds, interaction: discord.Interaction[Any]) -> None:
        await cog.withdraw_from_button(interaction, self.bucket_id)


class ShowButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:bshow:(?P<bucket>[0-9]{1,10})",
):
    """The bucket in full, with what you hold in it and what you have left."""

    def __init__(self, bucket_id: int, label: str = SHOW_LABEL) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label,
                emoji="🔎",
                custom_id=f"coop:bshow:{bucket_id}",
            )
        )
        self.bucket_id = bucket_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["bucket"]), item.label or SHOW_LABEL)  # type: ignore[attr-defined]

    async def handle(self, cog: Rounds, interaction: discord.Interaction[Any]) -> None:
        await cog.show_bucket(interaction, self.bucket_id)


PERSISTENT_ITEMS = (FundButton, WithdrawButton, ShowButton)


def bucket_view(bucket: Bucket, round_: Round, language: str = SOURCE) -> discord.ui.View:
    """The buttons a bucket's post carries now: fund and take back while it is open in a funding round,
    else only Show (labelled in `language`: the post's, the cooperative's)."""
    assert bucket.id is not None
    view = discord.ui.View(timeout=None)
    if bucket.status == BucketStatus.OPEN.value and round_.phase == RoundPhase.FUNDING.value:
        for amount in fund_amounts(round_):
            label = _("Fund {amount}", amount=money(amount, round_)).render(language)
            view.add_item(FundButton(bucket.id, amount, label))
        view.add_item(FundButton(bucket.id, None, translate(OTHER_AMOUNT_LABEL, language)))
        view.add_item(WithdrawButton(bucket.id, translate(WITHDRAW_LABEL, language)))
    view.add_item(ShowButton(bucket.id, translate(SHOW_LABEL, language)))
    return view
