"""What people see of a network: its card, its proposals, its log, and a copy's line on a proposal."""

from __future__ import annotations

import discord

from cogs._text import EMBED_DESCRIPTION_LIMIT, FIELD_LIMIT, plain, shorten
from governance import networks
from governance.money import format_amount
from governance.networks import NetworkFundView, NetworkLogPage, NetworkView, ProposalPage
from governance.records import NetworkEvent, NetworkFund, NetworkFundRequest, NetworkProposal
from governance.timeparse import discord_timestamp

COUNTING = {"person": "by person", "cooperative": "by cooperative"}


def network_embed(view: NetworkView) -> discord.Embed:
    network = view.network
    embed = discord.Embed(
        title=shorten(f"🌐 {plain(network.name)}", 256),
        description=shorten(plain(network.description), EMBED_DESCRIPTION_LIMIT) or None,
        colour=discord.Colour.teal(),
    )
    members = "\n".join(f"• {plain(networks.describe_membership(coop))}" for coop in view.members)
    embed.add_field(
        name=f"Member cooperatives ({len(view.members)})", value=shorten(members, FIELD_LIMIT), inline=False
    )
    if view.joining:
        waiting = "\n".join(f"• {plain(networks.describe_membership(coop))}" for coop in view.joining)
        embed.add_field(name="Joining", value=shorten(waiting, FIELD_LIMIT), inline=False)
    embed.add_field(name="Open proposals", value=str(view.open_proposals))
    embed.add_field(name="Decided", value=str(view.closed_proposals))
    embed.add_field(
        name="Joining",
        value="By the cooperative's decision and the network's"
        if network.requires_acceptance
        else "By the cooperative's decision",
    )
    embed.set_footer(
        text="Shared across servers: the network, its cooperatives and its proposals. Nothing else."
    )
    return embed


def proposal_line(proposal: NetworkProposal, names: dict[int, str]) -> str:
    head = f"**{networks.label(proposal)}** · {plain(shorten(proposal.title, 80))}"
    how = COUNTING.get(proposal.counting, proposal.counting)
    if proposal.counting == "cooperative":
        how += f", {proposal.network_rule}"
    where = plain(names.get(proposal.guild_id, "?"))
    if proposal.status == "open":
        state = f"open until {discord_timestamp(proposal.closes_at)}"
    elif proposal.status == "closed":
        mark = "✅" if proposal.passed else ("❌" if proposal.passed is False else "🏁")
        state = f"{mark} {plain(shorten(proposal.outcome or '', 200))}"
    else:
        state = "cancelled"
    return f"{head} ({how}; from {where})\n{state}"


def proposals_embed(page: ProposalPage) -> discord.Embed:
    lines = [proposal_line(proposal, page.names) for proposal in page.proposals]
    embed = discord.Embed(
        title=shorten(f"Network decisions · {plain(page.network.name)}", 256),
        description=shorten("\n\n".join(lines), EMBED_DESCRIPTION_LIMIT) or "No network proposal yet.",
        colour=discord.Colour.teal(),
    )
    embed.set_footer(text=f"Page {page.page} of {page.pages}")
    return embed


def event_line(event: NetworkEvent, names: dict[int, str]) -> str:
    actor = f"<@{event.actor_id}>" if event.actor_id else "coopbot"
    where = plain(names.get(event.guild_id, "?"))
    title = event.details.get("title") or event.details.get("coop") or ""
    about = f" · {plain(shorten(str(title), 80))}" if title else ""
    return f"{discord_timestamp(event.created_at, 'f')} · **{event.action}** · {where} · {actor}{about}"


def log_embed(page: NetworkLogPage) -> discord.Embed:
    lines = [event_line(event, page.names) for event in page.events]
    embed = discord.Embed(
        title=shorten(f"Network log · {plain(page.network.name)}", 256),
        description=shorten("\n".join(lines), EMBED_DESCRIPTION_LIMIT) or "Nothing yet.",
        colour=discord.Colour.dark_grey(),
    )
    embed.set_footer(text=f"Page {page.page} of {page.pages}")
    return embed


def network_fund_embed(view: NetworkFundView, waiting: list[tuple[NetworkFundRequest, str]]) -> discord.Embed:
    fund = view.fund
    currency = fund.currency
    embed = discord.Embed(
        title=shorten(f"💰 {plain(fund.name)} · {plain(view.network.name)}", 256),
        description=shorten(plain(fund.description), EMBED_DESCRIPTION_LIMIT) or None,
        colour=discord.Colour.teal(),
    )
    embed.add_field(name="Holds", value=format_amount(fund.balance, currency))
    given = "\n".join(f"• {plain(coop)}: {format_amount(amount, currency)}" for coop, amount in view.by_coop)
    embed.add_field(name="Put in by", value=shorten(given, FIELD_LIMIT) or "Nobody yet.", inline=False)
    lines = [
        " · ".join(
            part
            for part in (
                discord_timestamp(entry.created_at, "d"),
                format_amount(entry.amount, currency),
                plain(coop),
                plain(shorten(entry.reason, 80)),
            )
            if part
        )
        for entry, coop in view.recent
    ]
    embed.add_field(
        name="Latest entries", value=shorten("\n".join(lines), FIELD_LIMIT) or "None yet.", inline=False
    )
    embed.add_field(name="Requests decided and paid by", value=treasurers_line(fund), inline=False)
    asked = "\n".join(
        f"• {networks.request_label(request)} · {format_amount(request.amount, currency)} · {plain(coop)} · "
        f"{request.status} · {plain(shorten(request.purpose, 60))}"
        for request, coop in waiting[:10]
    )
    if asked:
        embed.add_field(name="Requests waiting", value=shorten(asked, FIELD_LIMIT), inline=False)
    if view.derived_balance != fund.balance:  # never expected: the two are moved in one transaction
        embed.set_footer(text="⚠️ The fund's balance and its entries disagree: tell the operator.")
    else:
        embed.set_footer(
            text="Put in by each cooperative's treasurers from its own funds; the ledger is append-only."
        )
    return embed


def treasurers_line(fund: NetworkFund) -> str:
    """Who decides and pays a network fund's requests, in words (mentions in an embed ping nobody)."""
    if not fund.treasurer_ids:
        return "the treasurers of every member cooperative"
    return ", ".join(f"<@{user}>" for user in fund.treasurer_ids)
