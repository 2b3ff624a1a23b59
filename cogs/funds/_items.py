"""The persistent buttons of funds: ledger pages, and the treasurers' buttons on the notices of pending
contributions and requests. Their custom ids carry what they act on, so they keep working after a
restart; every click is checked again by the governance layer (role, guild, state)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from cogs._common import report_error

if TYPE_CHECKING:
    from cogs.funds._cog import Funds


def _funds(interaction: discord.Interaction[Any]) -> Funds:
    from cogs.funds._cog import Funds

    cog = interaction.client.get_cog(Funds.__cog_name__)
    assert isinstance(cog, Funds)
    return cog


class _RoutesToCog:
    """Hands the click to the funds cog, and any error to the one error path."""

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.handle(_funds(interaction), interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def handle(self, cog: Funds, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


class LedgerPageButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=(
        r"coop:fledger:(?P<fund>[0-9]{1,10}):(?P<page>[0-9]{1,6}):(?P<kind>[a-z]{0,12}):"
        r"(?P<member>[0-9]{0,20}):(?P<dir>[pn])"
    ),
):
    """◀ / ▶ under a ledger page; the filters travel in the id."""

    def __init__(
        self,
        fund_id: int,
        page: int,
        *,
        kind: str | None,
        member_id: int | None,
        forward: bool,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label="Newer" if not forward else "Older",
                emoji="◀️" if not forward else "▶️",
                disabled=disabled,
                custom_id=(
                    f"coop:fledger:{fund_id}:{page}:{kind or ''}:{member_id or ''}:{'n' if forward else 'p'}"
                ),
            )
        )
        self.fund_id = fund_id
        self.page = page
        self.kind = kind
        self.member_id = member_id
        self.forward = forward

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> LedgerPageButton:
        return cls(
            int(match["fund"]),
            int(match["page"]),
            kind=match["kind"] or None,
            member_id=int(match["member"]) if match["member"] else None,
            forward=match["dir"] == "n",
        )

    async def handle(self, cog: Funds, interaction: discord.Interaction[Any]) -> None:
        await cog.show_ledger(
            interaction, self.fund_id, page=self.page, kind=self.kind, member_id=self.member_id, edit=True
        )


class ContributionButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:fcontrib:(?P<id>[0-9]{1,10}):(?P<action>confirm|reject)",
):
    """Confirm / Reject on the notice of a pending contribution (treasurers only)."""

    def __init__(self, contribution_id: int, action: str) -> None:
        confirm = action == "confirm"
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success if confirm else discord.ButtonStyle.danger,
                label="Confirm (money arrived)" if confirm else "Reject",
                custom_id=f"coop:fcontrib:{contribution_id}:{action}",
            )
        )
        self.contribution_id = contribution_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ContributionButton:
        return cls(int(match["id"]), match["action"])

    async def handle(self, cog: Funds, interaction: discord.Interaction[Any]) -> None:
        await cog.on_contribution_click(interaction, self.contribution_id, self.action)


class RequestButton(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:freq:(?P<id>[0-9]{1,10}):(?P<action>approve|reject)",
):
    """Approve / Reject on the notice of a request a treasurer decides (never the requester)."""

    def __init__(self, request_id: int, action: str) -> None:
        approve = action == "approve"
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.danger,
                label="Approve" if approve else "Reject",
                custom_id=f"coop:freq:{request_id}:{action}",
            )
        )
        self.request_id = request_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RequestButton:
        return cls(int(match["id"]), match["action"])

    async def handle(self, cog: Funds, interaction: discord.Interaction[Any]) -> None:
        await cog.on_request_click(interaction, self.request_id, self.action)


PERSISTENT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    LedgerPageButton,
    ContributionButton,
    RequestButton,
)


def ledger_view(
    fund_id: int, page: int, pages: int, *, kind: str | None, member_id: int | None
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        LedgerPageButton(
            fund_id, max(page - 1, 0), kind=kind, member_id=member_id, forward=False, disabled=page <= 0
        )
    )
    view.add_item(
        LedgerPageButton(
            fund_id, page + 1, kind=kind, member_id=member_id, forward=True, disabled=page + 1 >= pages
        )
    )
    return view


def contribution_view(contribution_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ContributionButton(contribution_id, "confirm"))
    view.add_item(ContributionButton(contribution_id, "reject"))
    return view


def request_view(request_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RequestButton(request_id, "approve"))
    view.add_item(RequestButton(request_id, "reject"))
    return view
