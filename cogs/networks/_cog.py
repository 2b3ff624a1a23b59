"""Networks in Discord: /network, the posting of each cooperative's copy of a network proposal by the process
that serves it (the outbox), and what a closed network decision says in each cooperative."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._base import CoopCog
from cogs._common import (
    AMOUNT,
    QueryPagedView,
    actor_of,
    guild_id_of,
    language_for,
    network_choices,
    requires,
    send_ephemeral,
)
from cogs._scheduling import DueHandler
from cogs._text import AUTOCOMPLETE_LIMIT, shorten
from cogs.networks._forms import NetworkProposalModal
from cogs.networks._render import (
    log_embed,
    network_embed,
    network_fund_embed,
    proposals_embed,
    treasurers_line,
)
from governance import decisions, funds, networks
from governance.decision_types import DECISION_TYPES
from governance.decisions import ClosedDecision
from governance.errors import Conflict, InvalidInput
from governance.i18n import Text, _, _n, render
from governance.money import Money
from governance.networks import NetworkDraft
from governance.permissions import require_insider, require_member, require_moderator, require_treasurer
from governance.records import MAX_ID, DecisionStatus, OwedMessage
from governance.timeparse import discord_timestamp

log = logging.getLogger("coopbot.networks")

TYPE_CHOICES = [app_commands.Choice(name=t.label, value=k.value) for k, t in DECISION_TYPES.items()]
YES_NO_CHOICES = [
    app_commands.Choice(name=t.label, value=k.value) for k, t in DECISION_TYPES.items() if t.has_pass_fail
]
COUNTING_CHOICES = [
    app_commands.Choice(name="By person: every member of every cooperative votes", value="person"),
    app_commands.Choice(name="By cooperative: each cooperative decides, one vote each", value="cooperative"),
]
RULE_CHOICES = [
    app_commands.Choice(name="Consent: no cooperative objects", value="consent"),
    app_commands.Choice(name="Majority: more cooperatives agree than object", value="majority"),
    app_commands.Choice(name="Consensus: every cooperative that takes part agrees", value="consensus"),
]
NetworkName = app_commands.Range[str, 1, 80]
RequestId = app_commands.Range[int, 1, MAX_ID]


class Networks(CoopCog):
    """/network: create, invite, join, leave, show, propose, decisions, audit."""

    network_group = app_commands.Group(
        name="network",
        description="Networks: cooperatives that decide together across servers",
        guild_only=True,
    )

    fund_group = app_commands.Group(
        name="fund", description="Money the network holds together", parent=network_group
    )

    async def cog_load(self) -> None:
        self.bot.outbox.register(networks.POST_KIND, self._deliver_copy)
        self.bot.outbox.register(networks.REFRESH_KIND, self._deliver_refresh)
        self.bot.due.register(DueHandler("networks.stalled", self._close_stalled, self._next_stalled))

    async def cog_unload(self) -> None:
        self.bot.outbox.unregister(networks.POST_KIND)
        self.bot.outbox.unregister(networks.REFRESH_KIND)
        self.bot.due.unregister("networks.stalled")

    async def _next_stalled(self) -> datetime | None:
        return await networks.next_stalled(self.bot.database)

    async def _close_stalled(self, now: datetime) -> None:
        """Copies that their own server's bot never closed (removed from it, or down for hours) are closed
        here, so that the network decides; their announcement waits for that server's process."""
        closed = await networks.close_stalled(self.bot.database, now)
        if closed:
            log.warning("Closed network proposal copies %s for servers whose bot did not", closed)
            await self.bot.outbox.send_due()

    # --- membership ---------------------------------------------------------------------------------

    @network_group.command(name="create")
    @requires(require_moderator)
    @app_commands.describe(
        name="The network's name (different from this cooperative's other networks)",
        description="What the network is for (shown to its cooperatives)",
        requires_acceptance="Also ask the network's cooperatives before a new one joins (default: no)",
    )
    async def create(
        self,
        interaction: discord.Interaction[CoopBot],
        name: NetworkName,
        description: app_commands.Range[str, 1, 1000] | None = None,
        requires_acceptance: bool = False,
    ) -> None:
        """Create a network with this cooperative as its first member."""
        network = await networks.create_network(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            coop_name=self._coop_name(interaction),
            actor=actor_of(interaction),
            name=name,
            description=description or "",
            requires_acceptance=requires_acceptance,
            now=self._now(),
        )
        await send_ephemeral(
            interaction,
            _(
                "The network **{network}** is created, with this cooperative as its first member. Invite "
                "another cooperative with `/network invite`.",
                network=discord.utils.escape_markdown(network.name),
            ),
        )

    @network_group.command(name="invite")
    @requires(require_moderator)
    @app_commands.describe(
        network="Which network (when this cooperative is in several)",
        valid_for="How long the code can be used: 1h, 3d… (default 7 days, at most 30)",
    )
    async def invite(
        self,
        interaction: discord.Interaction[CoopBot],
        network: NetworkName | None = None,
        valid_for: app_commands.Range[str, 1, 32] | None = None,
    ) -> None:
        """Issue a single-use code another cooperative joins with."""
        invitation = await networks.invite(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            valid_for=valid_for,
            now=self._now(),
        )
        await send_ephemeral(
            interaction,
            _(
                "Invitation code: `{code}` (single use, valid until {expires}). A moderator of the other "
                "cooperative runs `/network join code:{code}` in their server; their members then decide "
                "whether to join.",
                code=invitation.code,
                expires=discord_timestamp(invitation.expires_at),
            ),
        )

    @network_group.command(name="join")
    @requires(require_moderator)
    @app_commands.describe(
        code="The invitation code from a cooperative of the network",
        type="How this cooperative decides whether to join (default: consent)",
    )
    @app_commands.choices(type=YES_NO_CHOICES)
    async def join(
        self,
        interaction: discord.Interaction[CoopBot],
        code: app_commands.Range[str, 1, 32],
        type: str | None = None,
    ) -> None:
        """Put joining a network to this cooperative's members."""
        await self._require_governance_channel(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        opened = await networks.join(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            coop_name=self._coop_name(interaction),
            actor=actor_of(interaction),
            code=code,
            decision_type=type,
            now=self._now(),
            language=await self._coop_language(guild_id_of(interaction)),  # a public proposal
        )
        if opened.network.requires_acceptance:
            await self._put_to_members(
                interaction,
                opened,
                lambda network, where: _(
                    "The members now decide whether to join **{network}**: {where}. When it passes, this "
                    "cooperative is a member once the network accepts it too.",
                    network=network,
                    where=where,
                ),
            )
        else:
            await self._put_to_members(
                interaction,
                opened,
                lambda network, where: _(
                    "The members now decide whether to join **{network}**: {where}. When it passes, this "
                    "cooperative is a member.",
                    network=network,
                    where=where,
                ),
            )

    @network_group.command(name="leave")
    @requires(require_moderator)
    @app_commands.describe(
        network="Which network (when this cooperative is in several)",
        type="How this cooperative decides whether to leave (default: consent)",
    )
    @app_commands.choices(type=YES_NO_CHOICES)
    async def leave(
        self,
        interaction: discord.Interaction[CoopBot],
        network: NetworkName | None = None,
        type: str | None = None,
    ) -> None:
        """Put leaving a network to this cooperative's members."""
        await self._require_governance_channel(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        opened = await networks.leave(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            decision_type=type,
            now=self._now(),
            language=await self._coop_language(guild_id_of(interaction)),  # a public proposal
        )
        await self._put_to_members(
            interaction,
            opened,
            lambda network, where: _(
                "The members now decide whether to leave **{network}**: {where}. If it passes, this "
                "cooperative leaves it.",
                network=network,
                where=where,
            ),
        )

    async def _put_to_members(
        self,
        interaction: discord.Interaction[CoopBot],
        opened: networks.JoinOpened,
        said: Callable[[str, str], Text],
    ) -> None:
        """Post the cooperative's decision to join or leave, and tell the moderator where it is (`said`: the
        answer, from the network's name and where the decision is)."""
        message = await self._post_decision(opened.decision, self._now())
        if message is None:  # cancelled: a new /network join or leave can follow once the bot can post
            raise Conflict(
                _(
                    "I couldn't post the decision in the governance channel, so it was cancelled. Check my "
                    "permissions there (Send Messages, Embed Links, Create Public Threads) and try again (to "
                    "join, with a new code: this one is used)."
                )
            )
        name = discord.utils.escape_markdown(opened.network.name)
        await send_ephemeral(interaction, said(name, self._where(message)))

    # --- reading ------------------------------------------------------------------------------------

    @network_group.command(name="show")
    @requires(require_insider)
    @app_commands.describe(network="Which network (when this cooperative is in several)")
    async def show(
        self, interaction: discord.Interaction[CoopBot], network: NetworkName | None = None
    ) -> None:
        """The network: its cooperatives and its proposals."""
        view = await networks.show(self.bot.database, guild_id=guild_id_of(interaction), network_name=network)
        await send_ephemeral(interaction, embed=network_embed(view, language_for(interaction)))

    @network_group.command(name="decisions")
    @requires(require_insider)
    @app_commands.describe(network="Which network (when this cooperative is in several)", page="Which page")
    async def decisions_list(
        self,
        interaction: discord.Interaction[CoopBot],
        network: NetworkName | None = None,
        page: app_commands.Range[int, 1, 10_000] = 1,
    ) -> None:
        """The network's proposals: open ones first, then what it decided."""
        guild_id = guild_id_of(interaction)
        await networks.proposals_page(self.bot.database, guild_id=guild_id, network_name=network, page=1)
        language = language_for(interaction)
        await QueryPagedView(partial(self._proposals_page, guild_id, network, language), page=page - 1).send(
            interaction
        )

    async def _proposals_page(
        self, guild_id: int, network: str | None, language: str, page: int
    ) -> tuple[discord.Embed, int]:
        found = await networks.proposals_page(
            self.bot.database, guild_id=guild_id, network_name=network, page=page + 1
        )
        return proposals_embed(found, language), found.pages

    @network_group.command(name="audit")
    @requires(require_moderator)
    @app_commands.describe(network="Which network (when this cooperative is in several)", page="Which page")
    async def audit(
        self,
        interaction: discord.Interaction[CoopBot],
        network: NetworkName | None = None,
        page: app_commands.Range[int, 1, 10_000] = 1,
    ) -> None:
        """The network's log: every network action, by which cooperative and person."""
        guild_id, actor = guild_id_of(interaction), actor_of(interaction)
        language = language_for(interaction)
        await self._log_page(guild_id, actor, network, language, 0)  # refusals before any view is built
        await QueryPagedView(partial(self._log_page, guild_id, actor, network, language), page=page - 1).send(
            interaction
        )

    async def _log_page(
        self, guild_id: int, actor: Any, network: str | None, language: str, page: int
    ) -> tuple[discord.Embed, int]:
        found = await networks.network_log(
            self.bot.database,
            guild_id=guild_id,
            actor=actor,
            network_name=network,
            page=page + 1,
            now=self._now(),
        )
        return log_embed(found, language), found.pages

    # --- proposing ----------------------------------------------------------------------------------

    @network_group.command(name="propose")
    @requires(require_member)
    @app_commands.describe(
        network="Which network (when this cooperative is in several)",
        counting="Count by person (every member votes) or by cooperative (one vote each)",
        type="The decision type (default: consent)",
        rule="By cooperative: how the cooperatives' outcomes decide (default: consent)",
        closes="When voting closes everywhere: 3d, 1w, or a date like 2026-12-20 17:00",
        options="For polls, ranked, score and dot votes: the options, separated by ;",
        anonymous="Never show who chose what",
    )
    @app_commands.choices(counting=COUNTING_CHOICES, type=TYPE_CHOICES, rule=RULE_CHOICES)
    async def propose(
        self,
        interaction: discord.Interaction[CoopBot],
        counting: str = "person",
        type: str | None = None,
        rule: str = "consent",
        network: NetworkName | None = None,
        closes: app_commands.Range[str, 1, 60] | None = None,
        options: app_commands.Range[str, 1, 2000] | None = None,
        anonymous: bool = False,
    ) -> None:
        """Put a question to every cooperative of the network."""
        draft = NetworkDraft(
            title="",
            kind=type,
            counting=counting,
            rule=rule,
            options=tuple(part for part in (options or "").split(";") if part.strip()),
            closes=closes,
            anonymous=anonymous,
        )
        await networks.check_proposal(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            draft=draft,
            now=self._now(),
        )
        kind = decisions.get_type(type or "consent")
        await interaction.response.send_modal(
            NetworkProposalModal(self, network, draft, ask_options=kind.uses_options and not draft.options)
        )

    async def publish(
        self, interaction: discord.Interaction[Any], network: str | None, draft: NetworkDraft
    ) -> None:
        """The form was submitted: store the proposal and its copies; each cooperative's copy is posted by the
        process that serves it (this one posts its own at once)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        opened = await networks.propose(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            draft=draft,
            now=self._now(),
        )
        await self.bot.outbox.send_due()
        self.bot.due.wake_at(opened.proposal.closes_at)
        language = language_for(interaction)
        text = _n(
            "Network proposal {proposal} is open in {count} cooperative of **{network}** until {closes}.",
            "Network proposal {proposal} is open in {count} cooperatives of **{network}** until {closes}.",
            len(opened.copies),
            proposal=networks.label(opened.proposal),
            network=discord.utils.escape_markdown(opened.network.name),
            closes=discord_timestamp(opened.proposal.closes_at),
        ).render(language)
        if opened.skipped:
            text += " " + _("Not posted in: {cooperatives}.", cooperatives=", ".join(opened.skipped)).render(
                language
            )
        await send_ephemeral(interaction, shorten(text, 2000))

    # --- network funds ------------------------------------------------------------------------------

    @fund_group.command(name="create")
    @requires(require_moderator)
    @app_commands.describe(
        name="The fund's name in the network",
        currency="Its currency, e.g. NZD or EUR (the cooperatives' funds that feed it must hold the same)",
        description="What the money is for",
        limit="Requests up to this are approved by a treasurer; larger ones go to the network (default: all)",
        network="Which network (when this cooperative is in several)",
    )
    async def fund_create(
        self,
        interaction: discord.Interaction[CoopBot],
        name: app_commands.Range[str, 1, 80],
        currency: app_commands.Range[str, 1, 40],
        description: app_commands.Range[str, 1, 1000] | None = None,
        limit: AMOUNT | None = None,
        network: NetworkName | None = None,
    ) -> None:
        """Open a fund the network holds together."""
        found, fund = await networks.create_fund(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            name=name,
            currency=currency,
            description=description or "",
            limit=limit,
            now=self._now(),
        )
        await send_ephemeral(
            interaction,
            _(
                "The network fund **{fund}** ({currency}) is open in **{network}**. Treasurers of its "
                "cooperatives put money in with `/network fund contribute`.",
                fund=discord.utils.escape_markdown(fund.name),
                currency=fund.currency,
                network=discord.utils.escape_markdown(found.name),
            ),
        )

    @fund_group.command(name="contribute")
    @requires(require_treasurer)
    @app_commands.describe(
        fund="The network fund",
        from_fund="This cooperative's fund the money comes from",
        amount="How much, e.g. 250 or 1,200.50",
        note="Why, or the payment's reference",
        network="Which network (when this cooperative is in several)",
    )
    async def fund_contribute(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: app_commands.Range[str, 1, 80],
        from_fund: app_commands.Range[str, 1, 80],
        amount: AMOUNT,
        note: app_commands.Range[str, 1, 500] | None = None,
        network: NetworkName | None = None,
    ) -> None:
        """Move money from one of this cooperative's funds to a network fund (one transfer)."""
        receipt = await networks.contribute(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            fund=fund,
            from_fund=from_fund,
            amount=amount,
            idempotency_key=str(interaction.id),
            now=self._now(),
            reason=note or "",
        )
        moved = Money(receipt.amount, receipt.fund.currency)
        to = discord.utils.escape_markdown(receipt.fund.name)
        if receipt.duplicate:
            await send_ephemeral(
                interaction, _("Already moved: {amount} to **{fund}**.", amount=moved, fund=to)
            )
            return
        await send_ephemeral(
            interaction,
            _(
                "Moved {amount} from **{from_fund}** to the network fund **{fund}**, which now holds "
                "{balance}.",
                amount=moved,
                from_fund=discord.utils.escape_markdown(receipt.from_fund_name),
                fund=to,
                balance=Money(receipt.fund.balance, receipt.fund.currency),
            ),
        )

    @fund_group.command(name="show")
    @requires(require_insider)
    @app_commands.describe(
        fund="The network fund", network="Which network (when this cooperative is in several)"
    )
    async def fund_show(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: app_commands.Range[str, 1, 80],
        network: NetworkName | None = None,
    ) -> None:
        """A network fund: what it holds, who put in what, its latest entries."""
        guild_id = guild_id_of(interaction)
        view = await networks.show_fund(self.bot.database, guild_id=guild_id, network_name=network, fund=fund)
        waiting = await networks.open_requests(
            self.bot.database, guild_id=guild_id, network_name=network, fund=fund
        )
        await send_ephemeral(interaction, embed=network_fund_embed(view, waiting, language_for(interaction)))

    @fund_group.command(name="request")
    @requires(require_member)
    @app_commands.describe(
        fund="The network fund",
        amount="How much, e.g. 250 or 1,200.50",
        purpose="What it is for",
        network="Which network (when this cooperative is in several)",
    )
    async def fund_request(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: app_commands.Range[str, 1, 80],
        amount: AMOUNT,
        purpose: app_commands.Range[str, 1, 1000],
        network: NetworkName | None = None,
    ) -> None:
        """Ask a network fund for money (a treasurer decides within its limit, else the network)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        receipt = await networks.request_money(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            fund=fund,
            amount=amount,
            purpose=purpose,
            now=self._now(),
            language=await self._coop_language(guild_id_of(interaction)),  # its proposal's, if any
        )
        label = networks.request_label(receipt.request)
        asked = Money(receipt.request.amount, receipt.request.currency)
        if receipt.proposal is None:
            text = _(
                "Request {request} for {amount} is waiting for a treasurer of one of the network's "
                "cooperatives (`/network fund approve`).",
                request=label,
                amount=asked,
            )
        else:
            await self.bot.outbox.send_due()  # this server's copy of the network's decision
            self.bot.due.wake_at(receipt.proposal.closes_at)
            text = _(
                "Request {request} for {amount} is above the fund's treasurer limit: the network decides it, "
                "by cooperative, in network proposal {proposal} (until {closes}).",
                request=label,
                amount=asked,
                proposal=networks.label(receipt.proposal),
                closes=discord_timestamp(receipt.proposal.closes_at),
            )
        await send_ephemeral(interaction, text)

    @fund_group.command(name="approve")
    @requires(
        require_insider
    )  # the fund's treasurers (named people, or every cooperative's): governance decides
    @app_commands.describe(request="The request's number (R12: 12)")
    async def fund_approve(self, interaction: discord.Interaction[CoopBot], request: RequestId) -> None:
        """Approve a request to a network fund within its treasurer limit."""
        await self._decide(interaction, request, approve=True)

    @fund_group.command(name="reject")
    @requires(
        require_insider
    )  # the fund's treasurers (named people, or every cooperative's): governance decides
    @app_commands.describe(request="The request's number (R12: 12)")
    async def fund_reject(self, interaction: discord.Interaction[CoopBot], request: RequestId) -> None:
        """Reject a request to a network fund within its treasurer limit."""
        await self._decide(interaction, request, approve=False)

    async def _decide(
        self, interaction: discord.Interaction[CoopBot], request_id: int, *, approve: bool
    ) -> None:
        receipt = await networks.decide_request(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            request_id=request_id,
            approve=approve,
            now=self._now(),
        )
        label = networks.request_label(receipt.request)
        shown = Money(receipt.request.amount, receipt.request.currency)
        if approve:
            await send_ephemeral(
                interaction,
                _(
                    "Approved {request} ({amount}); record its payment with `/network fund pay`.",
                    request=label,
                    amount=shown,
                ),
            )
        else:
            await send_ephemeral(
                interaction, _("Rejected {request} ({amount}).", request=label, amount=shown)
            )

    @fund_group.command(name="pay")
    @requires(
        require_insider
    )  # the fund's treasurers (named people, or every cooperative's): governance decides
    @app_commands.describe(request="The request's number (R12: 12)", reference="The payment's reference")
    async def fund_pay(
        self,
        interaction: discord.Interaction[CoopBot],
        request: RequestId,
        reference: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Record that an approved request to a network fund was paid."""
        receipt = await networks.pay_request(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            request_id=request,
            reference=reference or "",
            idempotency_key=str(interaction.id),
            now=self._now(),
        )
        label = networks.request_label(receipt.request)
        values = {
            "request": label,
            "amount": Money(receipt.request.amount, receipt.request.currency),
            "fund": discord.utils.escape_markdown(receipt.fund.name),
            "balance": Money(receipt.fund.balance, receipt.fund.currency),
        }
        await send_ephemeral(
            interaction,
            _(
                "Already recorded: {request} paid, {amount} from **{fund}**, which now holds {balance}.",
                **values,
            )
            if receipt.duplicate
            else _("{request} paid, {amount} from **{fund}**, which now holds {balance}.", **values),
        )

    @fund_group.command(name="treasurers")
    @requires(require_moderator)
    @app_commands.describe(
        fund="The network fund",
        add="Someone of this server who will decide and pay its requests",
        remove="Someone who no longer will",
        network="Which network (when this cooperative is in several)",
    )
    async def fund_treasurers(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: app_commands.Range[str, 1, 80],
        add: discord.Member | None = None,
        remove: discord.User | None = None,
        network: NetworkName | None = None,
    ) -> None:
        """Name who decides and pays a network fund's requests."""
        found = await networks.set_treasurers(
            self.bot.database,
            guild_id=guild_id_of(interaction),
            actor=actor_of(interaction),
            network_name=network,
            fund=fund,
            add=add.id if add else None,
            remove=remove.id if remove else None,
            now=self._now(),
        )
        await send_ephemeral(
            interaction,
            _(
                "**{fund}**'s requests are now decided and paid by {treasurers}.",
                fund=discord.utils.escape_markdown(found.name),
                treasurers=treasurers_line(found, language_for(interaction)),
            ),
        )

    # --- what the outbox delivers -------------------------------------------------------------------

    async def _deliver_copy(self, owed: OwedMessage) -> None:
        """Post this cooperative's copy of a network proposal (once: a posted copy is left alone)."""
        decision = await decisions.get_decision(
            self.bot.database, owed.guild_id, int(owed.payload["decision_id"])
        )
        if decision.status != DecisionStatus.OPEN or decision.message_id is not None:
            return
        now = self._now()
        if await self._post_decision(decision, now) is None:
            # Cancelled where it could not be posted: the network does not wait for it.
            await networks.settle_unposted(self.bot.database, decision, now)
            return
        # Counted by person, the other copies' tallies now include this cooperative's electorate.
        await networks.owe_sibling_refresh(self.bot.database, decision, now)

    async def _deliver_refresh(self, owed: OwedMessage) -> None:
        """Show the network's new tally on this cooperative's copy."""
        proposals = self._proposals()
        decision = await decisions.get_decision(
            self.bot.database, owed.guild_id, int(owed.payload["decision_id"])
        )
        if proposals is not None and decision.status == DecisionStatus.OPEN:
            await proposals.refresh_message(decision)

    @commands.Cog.listener()
    async def on_coop_decision_closed(self, closed: ClosedDecision) -> None:
        """Say in the thread of a network decision what it means for this cooperative."""
        decision = closed.decision
        if decision.link_kind == networks.PROPOSAL_LINK:
            text = await networks.closing_words(self.bot.database, decision)
        elif decision.link_kind in (networks.JOIN_LINK, networks.LEAVE_LINK):
            text = await networks.membership_words(self.bot.database, decision)
        else:
            return
        if text and decision.thread_id is not None:
            language = await self._coop_language(decision.guild_id)  # a public post: the cooperative's
            said = str(render(text, language))
            await self._post(decision.thread_id, shorten(said, 2000), nonce=f"coop-network-{decision.id}")

    # --- helpers ------------------------------------------------------------------------------------

    def _coop_name(self, interaction: discord.Interaction[Any]) -> str:
        return interaction.guild.name if interaction.guild is not None else f"Server {interaction.guild_id}"

    async def _require_governance_channel(self, interaction: discord.Interaction[Any]) -> None:
        settings = await self._settings(guild_id_of(interaction))
        if (
            settings.governance_channel_id is None
            or await self._channel(settings.governance_channel_id) is None
        ):
            raise InvalidInput(_("Set a governance channel first: /coop setup governance_channel:#channel"))

    @fund_create.autocomplete("network")
    @fund_contribute.autocomplete("network")
    @fund_show.autocomplete("network")
    @fund_request.autocomplete("network")
    @fund_treasurers.autocomplete("network")
    @invite.autocomplete("network")
    @leave.autocomplete("network")
    @show.autocomplete("network")
    @decisions_list.autocomplete("network")
    @audit.autocomplete("network")
    @propose.autocomplete("network")
    async def _network_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await network_choices(interaction, current)

    @fund_contribute.autocomplete("fund")
    @fund_show.autocomplete("fund")
    @fund_treasurers.autocomplete("fund")
    @fund_request.autocomplete("fund")
    async def _network_fund_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        names = await networks.network_fund_names(self.bot.database, interaction.guild_id)
        typed = current.casefold()
        return [app_commands.Choice(name=name, value=name) for name in names if typed in name.casefold()][
            :AUTOCOMPLETE_LIMIT
        ]

    @fund_contribute.autocomplete("from_fund")
    async def _own_fund_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        found = await funds.suggest_funds(
            self.bot.database, interaction.guild_id, current, AUTOCOMPLETE_LIMIT
        )
        return [
            app_commands.Choice(name=shorten(f"{fund.name} · {fund.currency}", 100), value=fund.name)
            for fund in found
        ]
