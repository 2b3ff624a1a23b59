"""The persistent buttons under a proposal. Their custom ids carry the decision id (and the position, and
whether the click asks for a reason first), so they keep working after a restart without reading the
database: discord.py matches a click to these classes by the id's template."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._common import RoutesToCog
from governance.decision_types import DECISION_TYPES

if TYPE_CHECKING:
    from cogs.proposals._cog import Proposals

# Positions that always come with a reason (a block, an objection, advice). Buttons posted before the
# custom id said whether a reason is asked are read with this.
POSITIONS_NEEDING_REASON = frozenset(
    position.key
    for decision_type in DECISION_TYPES.values()
    for position in decision_type.positions
    if position.needs_reason
)
ASKS_REASON = ":reason"
_STYLES = {
    "agree": discord.ButtonStyle.success,
    "no_objection": discord.ButtonStyle.success,
    "looks_good": discord.ButtonStyle.success,
    "in": discord.ButtonStyle.success,
    "objection": discord.ButtonStyle.danger,
    "block": discord.ButtonStyle.danger,
    "advice": discord.ButtonStyle.primary,
}


class _RoutesToCog(RoutesToCog["Proposals"]):
    def cog_type(self) -> type[Proposals]:
        from cogs.proposals._cog import Proposals

        return Proposals


class PositionButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:vote:(?P<decision>[0-9]{1,20}):(?P<key>[a-z_]{1,20})(?P<reason>:reason)?",
):
    """One position. With `asks_reason` the click opens the reason form instead of voting at once."""

    def __init__(
        self,
        decision_id: int,
        key: str,
        *,
        asks_reason: bool,
        label: str | None = None,
        emoji: str | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                style=_STYLES.get(key, discord.ButtonStyle.secondary),
                label=label,
                emoji=emoji,
                custom_id=f"coop:vote:{decision_id}:{key}{ASKS_REASON if asks_reason else ''}",
            )
        )
        self.decision_id = decision_id
        self.key = key
        self.asks_reason = asks_reason

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PositionButton:
        key = match["key"]
        return cls(
            int(match["decision"]),
            key,
            asks_reason=match["reason"] is not None or key in POSITIONS_NEEDING_REASON,
        )

    async def handle(self, cog: Proposals, interaction: discord.Interaction[Any]) -> None:
        await cog.on_position_click(interaction, self.decision_id, self.key, asks_reason=self.asks_reason)


class BallotButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:ballot:(?P<decision>[0-9]{1,20})",
):
    """For option kinds: opens a select (poll) or a form (ranked, score, dot)."""

    def __init__(self, decision_id: int, label: str = "Vote") -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label=label,
                emoji="🗳️",
                custom_id=f"coop:ballot:{decision_id}",
            )
        )
        self.decision_id = decision_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> BallotButton:
        return cls(int(match["decision"]))

    async def handle(self, cog: Proposals, interaction: discord.Interaction[Any]) -> None:
        await cog.on_ballot_click(interaction, self.decision_id)


class WithdrawButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:withdraw:(?P<decision>[0-9]{1,20})",
):
    def __init__(self, decision_id: int, label: str = "Withdraw my vote") -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label,
                custom_id=f"coop:withdraw:{decision_id}",
            )
        )
        self.decision_id = decision_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> WithdrawButton:
        return cls(int(match["decision"]))

    async def handle(self, cog: Proposals, interaction: discord.Interaction[Any]) -> None:
        await cog.on_withdraw_click(interaction, self.decision_id)


PERSISTENT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    PositionButton,
    BallotButton,
    WithdrawButton,
)
