"""The persistent buttons under a proposal. Their custom ids carry the decision id (and the position, and
whether the click asks for a reason first), so they keep working after a restart without reading the
database: discord.py matches a click to these classes by the id's template (a vote button's click is
read by the proposals cog itself, see PositionButton)."""

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


class PositionButton(discord.ui.Button[Any]):
    """One position. With `asks_reason` the click opens the reason form instead of voting at once.

    Vote clicks are most of the bot's interactions, so they skip discord.py's view store: the button is
    not dispatchable (no view is kept or rebuilt for it), and the proposals cog reads each click's custom id
    itself (:meth:`read`), after a restart as before it."""

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
            style=_STYLES.get(key, discord.ButtonStyle.secondary),
            label=label,
            emoji=emoji,
            custom_id=f"coop:vote:{decision_id}:{key}{ASKS_REASON if asks_reason else ''}",
        )
        self.decision_id = decision_id
        self.key = key
        self.asks_reason = asks_reason

    def is_dispatchable(self) -> bool:
        return False

    @classmethod
    def read(cls, custom_id: str) -> tuple[int, str, bool] | None:
        """A vote click's (decision id, position, asks reason), or None for another component's id."""
        match = VOTE_CLICK.fullmatch(custom_id)
        if match is None:
            return None
        key = match["key"]
        return int(match["decision"]), key, match["reason"] is not None or key in POSITIONS_NEEDING_REASON


VOTE_CLICK = re.compile(r"coop:vote:(?P<decision>[0-9]{1,20}):(?P<key>[a-z_]{1,20})(?P<reason>:reason)?")


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


# Persistent through discord.py's dynamic items (PositionButton's clicks are routed by the cog).
PERSISTENT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    BallotButton,
    WithdrawButton,
)
