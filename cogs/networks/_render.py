"""What people see of a network: its card, its proposals, its log, and a copy's line on a proposal."""

from __future__ import annotations

import discord

from cogs._text import EMBED_DESCRIPTION_LIMIT, FIELD_LIMIT, plain, shorten
from governance import networks
from governance.i18n import N_, SOURCE, Text, Translated, _, recorded, render, translate
from governance.money import Money
from governance.networks import NetworkFundView, NetworkLogPage, NetworkView, ProposalPage
from governance.records import (
    NetworkEvent,
    NetworkFund,
    NetworkFundRequest,
    NetworkMembership,
    NetworkProposal,
)
from governance.timeparse import discord_timestamp

# A network proposal counted by cooperative: how the cooperatives' outcomes decide, in a word.
RULE_WORDS = {"consent": N_("consent"), "majority": N_("majority"), "consensus": N_("consensus")}
# A network fund's request still waiting, in a word (as the fund's card lists them).
REQUEST_STATUS_WORDS = {"pending": N_("pending"), "approved": N_("approved")}


def _membership(coop: NetworkMembership, language: str) -> str:
    """One cooperative of a network, for a list (said by governance, in the reader's language if it can)."""
    return plain(str(render(networks.describe_membership(coop), language)))


def network_embed(view: NetworkView, language: str = SOURCE) -> discord.Embed:
    def say(text: Text) -> str:
        return text.render(language)

    network = view.network
    embed = discord.Embed(
        title=shorten(f"🌐 {plain(network.name)}", 256),
        description=shorten(plain(network.description), EMBED_DESCRIPTION_LIMIT) or None,
        colour=discord.Colour.teal(),
    )
    members = "\n".join(f"• {_membership(coop, language)}" for coop in view.members)
    embed.add_field(
        name=say(_("Member cooperatives ({count})", count=len(view.members))),
        value=shorten(members, FIELD_LIMIT),
        inline=False,
    )
    if view.joining:
        waiting = "\n".join(f"• {_membership(coop, language)}" for coop in view.joining)
        embed.add_field(name=say(_("Joining")), value=shorten(waiting, FIELD_LIMIT), inline=False)
    embed.add_field(name=say(_("Open proposals")), value=str(view.open_proposals))
    embed.add_field(name=say(_("Decided")), value=str(view.closed_proposals))
    embed.add_field(
        name=say(_("Joining")),
        value=say(_("By the cooperative's decision and the network's"))
        if network.requires_acceptance
        else say(_("By the cooperative's decision")),
    )
    embed.set_footer(
        text=say(_("Shared across servers: the network, its cooperatives and its proposals. Nothing else."))
    )
    return embed


def _counting(proposal: NetworkProposal) -> Text | str:
    """How a network proposal is counted, in words ("by cooperative, consent")."""
    if proposal.counting == "cooperative":
        rule = RULE_WORDS.get(proposal.network_rule)
        return _(
            "by cooperative, {rule}", rule=Translated(rule) if rule is not None else proposal.network_rule
        )
    if proposal.counting == "person":
        return _("by person")
    return proposal.counting


def proposal_line(proposal: NetworkProposal, names: dict[int, str], language: str = SOURCE) -> str:
    head = f"**{networks.label(proposal)}** · {plain(shorten(proposal.title, 80))}"
    where = plain(names.get(proposal.guild_id, "?"))
    if proposal.status == "open":
        state = _("open until {closes}", closes=discord_timestamp(proposal.closes_at)).render(language)
    elif proposal.status == "closed":
        mark = "✅" if proposal.passed else ("❌" if proposal.passed is False else "🏁")
        outcome = render(recorded(proposal.outcome_said, proposal.outcome) or "", language)
        state = f"{mark} {plain(shorten(str(outcome), 200))}"
    else:
        state = _("cancelled").render(language)
    line = _(
        "{proposal} ({counting}; from {cooperative})",
        proposal=head,
        counting=_counting(proposal),
        cooperative=where,
    )
    return f"{line.render(language)}\n{state}"


def _page_footer(page: int, pages: int, language: str) -> str:
    return _("Page {page} of {pages}", page=page, pages=pages).render(language)


def proposals_embed(page: ProposalPage, language: str = SOURCE) -> discord.Embed:
    lines = [proposal_line(proposal, page.names, language) for proposal in page.proposals]
    embed = discord.Embed(
        title=shorten(
            _("Network decisions · {network}", network=plain(page.network.name)).render(language), 256
        ),
        description=shorten("\n\n".join(lines), EMBED_DESCRIPTION_LIMIT)
        or _("No network proposal yet.").render(language),
        colour=discord.Colour.teal(),
    )
    embed.set_footer(text=_page_footer(page.page, page.pages, language))
    return embed


def event_line(event: NetworkEvent, names: dict[int, str]) -> str:
    """One action of the network's log: its action's name and details as recorded, not translated."""
    actor = f"<@{event.actor_id}>" if event.actor_id else "coopbot"
    where = plain(names.get(event.guild_id, "?"))
    title = event.details.get("title") or event.details.get("coop") or ""
    about = f" · {plain(shorten(str(title), 80))}" if title else ""
    return f"{discord_timestamp(event.created_at, 'f')} · **{event.action}** · {where} · {actor}{about}"


def log_embed(page: NetworkLogPage, language: str = SOURCE) -> discord.Embed:
    lines = [event_line(event, page.names) for event in page.events]
    embed = discord.Embed(
        title=shorten(_("Network log · {network}", network=plain(page.network.name)).render(language), 256),
        description=shorten("\n".join(lines), EMBED_DESCRIPTION_LIMIT) or _("Nothing yet.").render(language),
        colour=discord.Colour.dark_grey(),
    )
    embed.set_footer(text=_page_footer(page.page, page.pages, language))
    return embed


def network_fund_embed(
    view: NetworkFundView, waiting: list[tuple[NetworkFundRequest, str]], language: str = SOURCE
) -> discord.Embed:
    def say(text: Text) -> str:
        return text.render(language)

    def amount(minor: int) -> str:
        return Money(minor, currency).render(language)

    fund = view.fund
    currency = fund.currency
    embed = discord.Embed(
        title=shorten(f"💰 {plain(fund.name)} · {plain(view.network.name)}", 256),
        description=shorten(plain(fund.description), EMBED_DESCRIPTION_LIMIT) or None,
        colour=discord.Colour.teal(),
    )
    embed.add_field(name=say(_("Holds")), value=amount(fund.balance))
    given = "\n".join(f"• {plain(coop)}: {amount(put_in)}" for coop, put_in in view.by_coop)
    embed.add_field(
        name=say(_("Put in by")), value=shorten(given, FIELD_LIMIT) or say(_("Nobody yet.")), inline=False
    )
    lines = [
        " · ".join(
            part
            for part in (
                discord_timestamp(entry.created_at, "d"),
                amount(entry.amount),
                plain(coop),
                plain(shorten(entry.reason, 80)),
            )
            if part
        )
        for entry, coop in view.recent
    ]
    embed.add_field(
        name=say(_("Latest entries")),
        value=shorten("\n".join(lines), FIELD_LIMIT) or say(_("None yet.")),
        inline=False,
    )
    embed.add_field(
        name=say(_("Requests decided and paid by")), value=treasurers_line(fund, language), inline=False
    )
    asked = "\n".join(
        f"• {networks.request_label(request)} · {amount(request.amount)} · {plain(coop)} · "
        f"{_request_status(request.status, language)} · {plain(shorten(request.purpose, 60))}"
        for request, coop in waiting[:10]
    )
    if asked:
        embed.add_field(name=say(_("Requests waiting")), value=shorten(asked, FIELD_LIMIT), inline=False)
    if view.derived_balance != fund.balance:  # never expected: the two are moved in one transaction
        embed.set_footer(
            text="⚠️ " + say(_("The fund's balance and its entries disagree: tell the operator."))
        )
    else:
        embed.set_footer(
            text=say(
                _("Put in by each cooperative's treasurers from its own funds; the ledger is append-only.")
            )
        )
    return embed


def _request_status(status: str, language: str) -> str:
    word = REQUEST_STATUS_WORDS.get(status)
    return translate(word, language) if word is not None else status


def treasurers_line(fund: NetworkFund, language: str = SOURCE) -> str:
    """Who decides and pays a network fund's requests, in words (mentions in an embed ping nobody)."""
    if not fund.treasurer_ids:
        return _("the treasurers of every member cooperative").render(language)
    return ", ".join(f"<@{user}>" for user in fund.treasurer_ids)
