"""The persistent buttons of funds: ledger pages, and the treasurers' buttons on the notices of pending
contributions and requests. Their custom ids carry what they act on, so they keep working after a
restart; every click is checked again by the governance layer (role, guild, state)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord

from cogs._common import RoutesToCog
from governance.i18n import N_, SOURCE, translate

if TYPE_CHECKING:
    from cogs.funds._cog import Funds

NEWER_LABEL = N_("Newer")
OLDER_LABEL = N_("Older")
REJECT_LABEL = N_("Reject")
CONFIRM_LABEL = N_("Confirm (money arrived)")
APPROVE_LABEL = N_("Approve")


class _RoutesToCog(RoutesToCog["Funds"]):
    def cog_type(self) -> type[Funds]:
        from cogs.funds._cog import Funds

        return Funds


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
        language: str = SOURCE,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=translate(OLDER_LABEL if forward else NEWER_LABEL, language),
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


class _TreasurerAnswer(
    _RoutesToCog,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    # discord.py wants a template on every DynamicItem class; only the subclasses, with their own, are added.
    template=r"coop:(?:fcontrib|freq):(?P<id>[0-9]{1,10}):(?P<action>[a-z]{1,12})",
):
    """A treasurer's yes (green) or Reject (red) under a notice. The subject's number and the action
    travel in the custom id, so the button works after a restart."""

    id_prefix: ClassVar[str]
    yes_action: ClassVar[str]
    yes_label: ClassVar[str]

    def __init__(self, subject_id: int, action: str, language: str = SOURCE) -> None:
        yes = action == self.yes_action
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success if yes else discord.ButtonStyle.danger,
                label=translate(self.yes_label if yes else REJECT_LABEL, language),
                custom_id=f"{self.id_prefix}:{subject_id}:{action}",
            )
        )
        self.subject_id = subject_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["id"]), match["action"])


class ContributionButton(
    _TreasurerAnswer,
    template=r"coop:fcontrib:(?P<id>[0-9]{1,10}):(?P<action>confirm|reject)",
):
    """Confirm / Reject on the notice of a pending contribution (treasurers only)."""

    id_prefix = "coop:fcontrib"
    yes_action = "confirm"
    yes_label = CONFIRM_LABEL

    async def handle(self, cog: Funds, interaction: discord.Interaction[Any]) -> None:
        await cog.on_contribution_click(interaction, self.subject_id, self.action)


class RequestButton(
    _TreasurerAnswer,
    template=r"coop:freq:(?P<id>[0-9]{1,10}):(?P<action>approve|reject)",
):
    """Approve / Reject on the notice of a request a treasurer decides (never the requester)."""

    id_prefix = "coop:freq"
    yes_action = "approve"
    yes_label = APPROVE_LABEL

    async def handle(self, cog: Funds, interaction: discord.Interaction[Any]) -> None:
        await cog.on_request_click(interaction, self.subject_id, self.action)


PERSISTENT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    LedgerPageButton,
    ContributionButton,
    RequestButton,
)


def ledger_view(
    fund_id: int,
    page: int,
    pages: int,
    *,
    kind: str | None,
    member_id: int | None,
    language: str = SOURCE,
) -> discord.ui.View:
    """◀ Newer / Older ▶ under a ledger page, labelled in the reader's language."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        LedgerPageButton(
            fund_id,
            max(page - 1, 0),
            kind=kind,
            member_id=member_id,
            forward=False,
            disabled=page <= 0,
            language=language,
        )
    )
    view.add_item(
        LedgerPageButton(
            fund_id,
            page + 1,
            kind=kind,
            member_id=member_id,
            forward=True,
            disabled=page + 1 >= pages,
            language=language,
        )
    )
    return view


def contribution_view(contribution_id: int, language: str = SOURCE) -> discord.ui.View:
    """Confirm / Reject under a pending contribution's notice, in the cooperative's language."""
    view = discord.ui.View(timeout=None)
    view.add_item(ContributionButton(contribution_id, "confirm", language))
    view.add_item(ContributionButton(contribution_id, "reject", language))
    return view


def request_view(request_id: int, language: str = SOURCE) -> discord.ui.View:
    """Approve / Reject under a request's notice, in the cooperative's language."""
    view = discord.ui.View(timeout=None)
    view.add_item(RequestButton(request_id, "approve", language))
    view.add_item(RequestButton(request_id, "reject", language))
    return view
