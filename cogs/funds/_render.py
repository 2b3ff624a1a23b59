"""How funds look in Discord: the fund card, ledger pages, requests, and the notices for treasurers.

Everything here is pure: plain values in, text or embeds out. User text (names, purposes, notes) is
shortened visibly to Discord's limits; mentions inside embeds never ping anyone.
"""

from __future__ import annotations

import discord

from cogs._text import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TITLE_LIMIT,
    FIELD_LIMIT,
    MESSAGE_LIMIT,
    one_line,
    plain,
    shorten,
)
from governance import funds
from governance.decision_types import get_type
from governance.money import format_amount, format_signed_amount
from governance.records import (
    Contribution,
    Fund,
    FundingRequest,
    FundPolicy,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)
from governance.timeparse import discord_timestamp

BAR_CELLS = 10
SHOWN_OPEN_REQUESTS = 8

COLOUR_FUND = discord.Colour.dark_teal()
COLOUR_WARNING = discord.Colour.orange()

STATUS_MARKS = {
    RequestStatus.PENDING.value: "⏳ pending",
    RequestStatus.APPROVED.value: "✅ approved",
    RequestStatus.PAID.value: "💸 paid",
    RequestStatus.REJECTED.value: "❌ rejected",
    RequestStatus.CANCELLED.value: "🚫 cancelled",
    RequestStatus.EXPIRED.value: "⌛ expired",
}
KIND_LABELS = {
    LedgerKind.CONTRIBUTION.value: "contribution",
    LedgerKind.PAYOUT.value: "payout",
    LedgerKind.REVERSAL.value: "correction",
}


def remark(label: str, text: str) -> str:
    """What a treasurer wrote, to end a message with (" Reason: …"), or nothing if they wrote nothing."""
    return f" {label}: {one_line(text, 300)}" if text.strip() else ""


def progress_bar(share: float, cells: int = BAR_CELLS) -> str:
    """A text bar such as ▰▰▰▰▰▰▱▱▱▱ for 0.6 (clamped to [0, 1])."""
    share = min(max(share, 0.0), 1.0)
    filled = round(share * cells)
    return "▰" * filled + "▱" * (cells - filled)


def policy_text(fund: Fund) -> str:
    decided = f"the members ({get_type(fund.decision_type).label.lower()})"
    if fund.policy == FundPolicy.TREASURER.value:
        return (
            f"A treasurer approves requests up to {format_amount(fund.treasurer_limit, fund.currency)}; "
            f"larger ones are decided by {decided}."
        )
    return f"Every request is decided by {decided}."


def request_line(request: FundingRequest, available: int) -> str:
    """One open request in a treasurer's words: what is asked, where it stands (pending a decision, or
    approved and waiting to be paid), and whether the fund holds enough to pay it now. No progress bar: a
    bar read as money already given for a request that nobody has approved."""
    top = funds.requested_top(request)
    head = f"**#{request.id}** {plain(one_line(request.purpose, 80))} · <@{request.requester_id}>"
    if request.status == RequestStatus.APPROVED.value and request.approved_amount is not None:
        amount = format_amount(request.approved_amount, request.currency)
        return f"{head}\n✅ Approved: {amount}, not paid yet · reserved in the fund"
    asked = funds.describe_amounts(request)
    where = (
        f"the members decide in proposal #{request.decision_id}"
        if request.decision_id
        else "awaiting a treasurer"
    )
    if available >= top:
        cover = "the fund could pay it now"
    elif available > 0:
        cover = f"the fund has {format_amount(available, request.currency)} of it available now"
    else:
        cover = "the fund has nothing available for it now"
    return f"{head}\n⏳ Pending: {asked} asked · {where} · {cover}"


def entry_line(
    entry: LedgerEntry,
    *,
    balance_after: int | None = None,
    reversed_by: int | None = None,
) -> str:
    parts = [
        f"`#{entry.id}` {discord_timestamp(entry.created_at, 'd')}",
        f"**{format_signed_amount(entry.amount, entry.currency)}**",
        KIND_LABELS.get(entry.kind, entry.kind),
    ]
    if entry.member_id:
        parts.append(f"<@{entry.member_id}>")
    if entry.request_id and entry.kind == LedgerKind.PAYOUT.value:
        parts.append(f"request #{entry.request_id}")
    if entry.reverses_entry_id:
        parts.append(f"reverses #{entry.reverses_entry_id}")
    if entry.reference:
        parts.append(f"“{one_line(entry.reference, 60)}”")
    if entry.reason:
        parts.append(f"why: {one_line(entry.reason, 80)}")
    line = " · ".join(parts)
    if reversed_by is not None:
        line = f"~~{line}~~ (corrected by #{reversed_by})"
    if balance_after is not None:
        line += f" → {format_amount(balance_after, entry.currency)}"
    return line


def list_embed(title: str, lines: list[str]) -> discord.Embed:
    """A list command's answer: one line per fund, request or contribution."""
    return discord.Embed(
        title=title, description=shorten("\n".join(lines), EMBED_DESCRIPTION_LIMIT), colour=COLOUR_FUND
    )


def fund_embed(overview: funds.FundOverview) -> discord.Embed:
    """/fund show: the balance, what is promised, what is available, open requests, recent movements."""
    fund, totals = overview.fund, overview.totals
    currency = fund.currency
    embed = discord.Embed(
        title=shorten(f"{plain(fund.name)} · {currency}", EMBED_TITLE_LIMIT),
        description=shorten(plain(shorten(fund.description, 3800)), EMBED_DESCRIPTION_LIMIT) or None,
        colour=COLOUR_FUND if totals.consistent else COLOUR_WARNING,
    )
    embed.add_field(name="Balance", value=format_amount(totals.balance, currency))
    embed.add_field(name="Committed", value=format_amount(totals.committed, currency))
    embed.add_field(name="Available", value=format_amount(totals.available, currency))
    embed.add_field(name="Approval", value=policy_text(fund), inline=False)
    if overview.open_requests:
        lines = [request_line(r, totals.available) for r in overview.open_requests[:SHOWN_OPEN_REQUESTS]]
        hidden = len(overview.open_requests) - SHOWN_OPEN_REQUESTS
        if hidden > 0:
            lines.append(f"… and {hidden} more (/fund request list)")
        embed.add_field(
            name=f"Open requests ({len(overview.open_requests)})",
            value=shorten("\n".join(lines), FIELD_LIMIT),
            inline=False,
        )
    else:
        embed.add_field(name="Open requests", value="None.", inline=False)
    movements = "\n".join(entry_line(entry) for entry in overview.recent) or "No movements yet."
    embed.add_field(name="Recent movements", value=shorten(movements, FIELD_LIMIT), inline=False)
    if overview.pending_contributions:
        count = overview.pending_contributions
        embed.add_field(
            name="Waiting for a treasurer",
            value=f"{count} contribution{'s' if count != 1 else ''} to confirm (/fund contribution list)",
            inline=False,
        )
    if not totals.consistent:
        embed.add_field(
            name="⚠️ Check",
            value=(
                f"The stored balance ({format_amount(totals.cached_balance, currency)}) differs from the "
                f"sum of the ledger ({format_amount(totals.balance, currency)}). The ledger is shown; tell a "
                "moderator."
            ),
            inline=False,
        )
    embed.set_footer(text=f"Fund #{fund.id} · {overview.entry_count} ledger entries · /fund ledger")
    return embed


def ledger_embed(page: funds.LedgerPage, *, kind: str | None, member_id: int | None) -> discord.Embed:
    fund = page.fund
    lines = [
        entry_line(
            entry,
            balance_after=page.balance_after.get(entry.id) if entry.id is not None else None,
            reversed_by=page.reversed_by.get(entry.id) if entry.id is not None else None,
        )
        for entry in page.entries
    ]
    filters = []
    if kind:
        filters.append(KIND_LABELS.get(kind, kind) + "s")
    if member_id:
        filters.append(f"<@{member_id}>")
    description = "\n".join(lines) or "No entries."
    if filters:
        description = f"Only {', '.join(filters)}\n\n{description}"
    embed = discord.Embed(
        title=shorten(f"Ledger · {plain(fund.name)}", EMBED_TITLE_LIMIT),
        description=shorten(description, EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR_FUND,
    )
    total = page.total
    embed.set_footer(
        text=f"Page {page.page + 1} of {page.pages} · {total} entr{'y' if total == 1 else 'ies'} · "
        f"newest first · → balance after each entry"
    )
    return embed


def request_embed(view: funds.RequestView) -> discord.Embed:
    request, fund = view.request, view.fund
    embed = discord.Embed(
        title=shorten(f"Request #{request.id} · {plain(request.purpose)}", EMBED_TITLE_LIMIT),
        description=shorten(plain(shorten(request.details, 3800)), EMBED_DESCRIPTION_LIMIT) or None,
        colour=COLOUR_FUND,
    )
    embed.add_field(name="Status", value=STATUS_MARKS.get(request.status, request.status))
    embed.add_field(name="Asked", value=funds.describe_amounts(request))
    if request.approved_amount is not None:
        embed.add_field(name="Approved", value=format_amount(request.approved_amount, request.currency))
    embed.add_field(name="Fund", value=shorten(plain(fund.name), FIELD_LIMIT))
    embed.add_field(name="Requested by", value=f"<@{request.requester_id}>")
    if view.decision is not None:
        embed.add_field(name="Decided by", value=f"the members, proposal #{view.decision.id}")
    elif request.decided_by is not None:
        embed.add_field(name="Decided by", value=f"<@{request.decided_by}>")
    elif request.status == RequestStatus.PENDING.value:
        embed.add_field(name="Decided by", value="a treasurer (within the fund's limit)")
    if request.decision_note:
        embed.add_field(name="Note", value=shorten(request.decision_note, FIELD_LIMIT), inline=False)
    if request.reference:
        embed.add_field(name="Payout reference", value=shorten(request.reference, FIELD_LIMIT), inline=False)
    if request.expires_at is not None and request.status == RequestStatus.PENDING.value:
        embed.add_field(name="Expires", value=discord_timestamp(request.expires_at, "R"))
    embed.set_footer(text=f"Asked on {request.created_at:%Y-%m-%d}")
    embed.timestamp = request.updated_at
    return embed


def contribution_notice(contribution: Contribution, fund: Fund) -> str:
    note = f" Note: “{plain(one_line(contribution.note, 300))}”." if contribution.note else ""
    return shorten(
        f"💰 <@{contribution.member_id}> says they contributed "
        f"**{format_amount(contribution.amount, fund.currency)}** to **{plain(one_line(fund.name, 80))}** "
        f"(contribution #{contribution.id}).{note} "
        "A treasurer confirms it once the money has arrived.",
        MESSAGE_LIMIT,
    )


def request_notice(request: FundingRequest, fund: Fund) -> str:
    return shorten(
        f"🧾 <@{request.requester_id}> asks for **{funds.describe_amounts(request)}** from "
        f"**{plain(one_line(fund.name, 80))}** (request #{request.id}): "
        f"{plain(one_line(request.purpose, 200))}. "
        "Within the fund's limit, a treasurer decides (not the requester).",
        MESSAGE_LIMIT,
    )
