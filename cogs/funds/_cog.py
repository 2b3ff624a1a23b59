"""/fund: pooled funds in Discord. Contributions, requests decided by the members or a treasurer, payouts,
corrections, and a ledger everyone in the cooperative can read, page through, export and chart.

The rules live in governance.funds; this cog turns interactions into calls with plain values (the
interaction id is the idempotency key of every movement) and results or refusals into short replies.

Longer than 700 lines on purpose: a slash command group is one class in discord.py (its commands, their
autocompletes and the handlers its buttons call), so the group stays in one module; its forms, buttons
and embeds live in the modules beside it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._base import CoopCog
from cogs._charts import Chart, render_line_chart
from cogs._common import (
    AMOUNT,
    NO_MENTIONS,
    actor_of,
    guild_id_of,
    language_for,
    requires,
    send_ephemeral,
)
from cogs._delivery import Undeliverable
from cogs._moderation import attach_to_mod, detach_from_mod
from cogs._scheduling import DueHandler
from cogs._text import AUTOCOMPLETE_LIMIT, MESSAGE_LIMIT, one_line, shorten
from cogs.funds._forms import RejectModal, RequestModal
from cogs.funds._items import PERSISTENT_ITEMS, contribution_view, ledger_view, request_view
from cogs.funds._render import (
    KIND_LABELS,
    Signed,
    asked,
    contribution_notice,
    fund_embed,
    kind_label,
    ledger_embed,
    list_embed,
    remark,
    request_embed,
    request_notice,
    spaced,
    status_mark,
    status_word,
)
from governance import decisions, funds
from governance.decision_types import get_type
from governance.errors import Conflict, InvalidInput, NotAllowed
from governance.i18n import SOURCE, Text, _, _n
from governance.money import Money, amount_figure, currency_label, suggest_currencies
from governance.permissions import Actor, require_fund_steward, require_moderator, require_treasurer
from governance.records import (
    MAX_ID,
    CoopSettings,
    Database,
    Fund,
    FundingRequest,
    FundPolicy,
    OwedMessage,
    RequestStatus,
)
from governance.timeparse import discord_timestamp, parse_timezone

log = logging.getLogger("coopbot.funds")

ID = app_commands.Range[int, 1, MAX_ID]
FUND_REF = app_commands.Range[str, 1, 100]  # a fund's name or number, as typed
POLICY_CHOICES = [
    app_commands.Choice(name="Decided by the members (a linked proposal)", value=FundPolicy.DECISION.value),
    app_commands.Choice(name="A treasurer approves up to a limit", value=FundPolicy.TREASURER.value),
]
DECISION_TYPE_CHOICES = [
    app_commands.Choice(name=get_type(kind).label, value=kind) for kind in funds.FUND_DECISION_KINDS
]
KIND_CHOICES = [app_commands.Choice(name=label, value=kind) for kind, label in KIND_LABELS.items()]
STATUS_CHOICES = [
    app_commands.Choice(name="open (pending or approved)", value="open"),
    *(app_commands.Choice(name=status.value, value=status.value) for status in RequestStatus),
    app_commands.Choice(name="all", value="all"),
]


class Funds(CoopCog):
    fund_group = app_commands.Group(
        name="fund", description="Pooled funds: contribute, request, pay, read the ledger", guild_only=True
    )
    request_group = app_commands.Group(
        name="request", description="Ask to be paid from a fund, and decide requests", parent=fund_group
    )
    contribution_group = app_commands.Group(
        name="contribution", description="Pending contributions, for treasurers", parent=fund_group
    )

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        attach_to_mod(self.bot.tree, FundModeration(self))
        self.bot.due.register(DueHandler("funds.settle", self._settle_due, self._next_due))
        self.bot.outbox.register(funds.CONTRIBUTION_NOTICE, self._deliver_contribution_notice)
        self.bot.outbox.register(funds.REQUEST_NOTICE, self._deliver_request_notice)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)
        detach_from_mod(self.bot.tree, "fund")
        self.bot.due.unregister("funds.settle")
        self.bot.outbox.unregister(funds.CONTRIBUTION_NOTICE)
        self.bot.outbox.unregister(funds.REQUEST_NOTICE)

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def _db(self) -> Database:
        return self.bot.database

    async def _check(
        self, interaction: discord.Interaction[Any], rule: Callable[[CoopSettings, Actor], None]
    ) -> None:
        """The same rule as a command check, for buttons (and before opening a form)."""
        guild_id = guild_id_of(interaction)
        rule(await self._settings(guild_id), actor_of(interaction))

    async def _tell_requester(self, request: FundingRequest, text: Text) -> None:
        """Tell the requester what became of their request, in the cooperative's language: by DM, else in
        the governance channel."""
        settings = await self._settings(request.guild_id)
        language = await self._coop_language(request.guild_id)
        await self._tell(
            request.requester_id, text.render(language), fallback_channel_id=settings.governance_channel_id
        )

    async def _dm_member(self, guild_id: int, user_id: int, text: Text) -> None:
        """A DM about a fund, in the cooperative's language."""
        await self._dm(user_id, text.render(await self._coop_language(guild_id)))

    async def _governance_channel(self, guild_id: int) -> discord.abc.Messageable | None:
        return await self._channel((await self._settings(guild_id)).governance_channel_id)

    async def _post_notice(self, guild_id: int, text: str, view: discord.ui.View) -> None:
        channel_id = (await self._settings(guild_id)).governance_channel_id
        if await self._post(channel_id, text, view=view) is None:
            raise Undeliverable("the governance channel is not set or is gone")

    async def _deliver_contribution_notice(self, owed: OwedMessage) -> None:
        """The treasurers' notice of a pending contribution (owed by recording it), while it still waits."""
        found = await funds.owed_contribution(self._db, owed)
        if found is not None:
            contribution, fund = found
            assert contribution.id is not None
            language = await self._coop_language(owed.guild_id)  # a public post: the cooperative's language
            await self._post_notice(
                owed.guild_id,
                contribution_notice(contribution, fund, language),
                contribution_view(contribution.id, language),
            )

    async def _deliver_request_notice(self, owed: OwedMessage) -> None:
        """The treasurers' notice of a request they decide (owed by making it), while it still waits."""
        found = await funds.owed_request(self._db, owed)
        if found is not None:
            request, fund = found
            assert request.id is not None
            language = await self._coop_language(owed.guild_id)  # a public post: the cooperative's language
            await self._post_notice(
                owed.guild_id, request_notice(request, fund, language), request_view(request.id, language)
            )

    # --- funds ------------------------------------------------------------------------------------

    @fund_group.command(name="create")
    @requires(require_fund_steward)
    @app_commands.describe(
        name="The fund's name, e.g. Commons or Travel",
        currency="ISO 4217 currency (default: the cooperative's)",
        description="What the fund is for",
        policy="Who approves requests (default: the members decide)",
        limit="With the treasurer policy: the largest request a treasurer may approve, e.g. 200",
        decision_type="How the members decide requests (default: consent)",
    )
    @app_commands.choices(policy=POLICY_CHOICES, decision_type=DECISION_TYPE_CHOICES)
    async def create(
        self,
        interaction: discord.Interaction[CoopBot],
        name: app_commands.Range[str, 1, funds.MAX_FUND_NAME],
        currency: app_commands.Range[str, 1, 16] | None = None,
        description: app_commands.Range[str, 1, funds.MAX_DESCRIPTION] | None = None,
        policy: str = FundPolicy.DECISION.value,
        limit: AMOUNT | None = None,
        decision_type: str | None = None,
    ) -> None:
        """Open a pooled fund (treasurers and moderators)."""
        guild_id = guild_id_of(interaction)
        fund = await funds.create_fund(
            self._db,
            guild_id=guild_id,
            actor=actor_of(interaction),
            draft=funds.FundDraft(
                name=name,
                currency=currency,
                description=description or "",
                policy=policy,
                limit=limit,
                decision_type=decision_type,
            ),
            now=self._now(),
        )
        overview = await funds.fund_overview(self._db, guild_id, fund.id or 0)
        await send_ephemeral(
            interaction,
            _("The fund **{fund}** is open.", fund=fund.name),
            embed=fund_embed(overview, language_for(interaction)),
        )

    @fund_group.command(name="list")
    @requires(funds.require_fund_reader)
    async def list_funds(self, interaction: discord.Interaction[CoopBot]) -> None:
        """The cooperative's funds with their balances."""
        guild_id = guild_id_of(interaction)
        rows = await funds.list_funds(self._db, guild_id)
        if not rows:
            await send_ephemeral(
                interaction, _("There is no fund yet. A treasurer opens one with /fund create.")
            )
            return
        language = language_for(interaction)
        lines = []
        for fund in rows[:AUTOCOMPLETE_LIMIT]:
            _fund, totals = await funds.fund_totals(self._db, guild_id, fund.id or 0)
            lines.append(
                _(
                    "**{fund}** (#{number}) · balance {balance} · available {available}",
                    fund=one_line(fund.name, 80),
                    number=fund.id,
                    balance=Money(totals.balance, fund.currency),
                    available=Money(totals.available, fund.currency),
                ).render(language)
            )
        await send_ephemeral(interaction, embed=list_embed(_("Funds"), lines, language))

    @fund_group.command(name="show")
    @requires(funds.require_fund_reader)
    @app_commands.describe(fund="The fund's name or number")
    async def show(self, interaction: discord.Interaction[CoopBot], fund: FUND_REF) -> None:
        """A fund: balance, committed, available, open requests and recent movements."""
        guild_id = guild_id_of(interaction)
        overview = await funds.fund_overview(self._db, guild_id, fund)
        if not overview.totals.consistent:
            log.error(
                "Fund %s: cached balance %s differs from the ledger's %s",
                overview.fund.id,
                overview.totals.cached_balance,
                overview.totals.balance,
            )
        await send_ephemeral(interaction, embed=fund_embed(overview, language_for(interaction)))

    # --- contributions ----------------------------------------------------------------------------

    @fund_group.command(name="contribute")
    @requires(funds.require_fund_member)
    @app_commands.describe(
        fund="The fund's name or number",
        amount="How much, e.g. 50 or 1,200.50",
        note="How it was paid (bank reference, date...)",
        member="Treasurers: record a contribution that arrived from this member",
    )
    async def contribute(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: FUND_REF,
        amount: AMOUNT,
        note: app_commands.Range[str, 1, funds.MAX_NOTE] | None = None,
        member: discord.Member | None = None,
    ) -> None:
        """Record money you put into a fund (a treasurer confirms it arrived)."""
        guild_id = guild_id_of(interaction)
        receipt = await funds.record_contribution(
            self._db,
            guild_id=guild_id,
            fund=fund,
            actor=actor_of(interaction),
            amount=amount,
            idempotency_key=str(interaction.id),
            now=self._now(),
            member_id=member.id if member else None,
            note=note or "",
        )
        contribution, found = receipt.contribution, receipt.fund
        shown = Money(contribution.amount, found.currency)
        if receipt.duplicate:
            await send_ephemeral(
                interaction,
                _(
                    "Already recorded as contribution #{number} ({amount}).",
                    number=contribution.id,
                    amount=shown,
                ),
            )
            return
        if receipt.entry is not None:
            _fund, totals = await funds.fund_totals(self._db, guild_id, found.id or 0)
            await send_ephemeral(
                interaction,
                _(
                    "Recorded {amount} from {person} into **{fund}** (entry #{entry}). Balance now "
                    "{balance}.",
                    amount=shown,
                    person=f"<@{contribution.member_id}>",
                    fund=found.name,
                    entry=receipt.entry.id,
                    balance=Money(totals.balance, found.currency),
                ),
            )
            if contribution.member_id != interaction.user.id:
                await self._dm_member(
                    guild_id,
                    contribution.member_id,
                    _(
                        "A treasurer recorded your contribution of {amount} to {fund}. Thank you!",
                        amount=shown,
                        fund=found.name,
                    ),
                )
            return
        await send_ephemeral(
            interaction,
            _(
                "Thank you! Contribution #{number} of {amount} to **{fund}** is pending until a treasurer "
                "confirms the money has arrived.",
                number=contribution.id,
                amount=shown,
                fund=found.name,
            ),
        )
        await self.bot.outbox.send_due()  # the treasurers' notice, owed by the contribution

    @contribution_group.command(name="list")
    @requires(funds.require_fund_reader)
    @app_commands.describe(fund="Only this fund")
    async def contribution_list(
        self, interaction: discord.Interaction[CoopBot], fund: FUND_REF | None = None
    ) -> None:
        """Contributions waiting for a treasurer to confirm them."""
        guild_id = guild_id_of(interaction)
        rows = await funds.list_contributions(self._db, guild_id, fund=fund)
        if not rows:
            await send_ephemeral(interaction, _("No contribution is waiting for a treasurer."))
            return
        language = language_for(interaction)
        lines = [
            _(
                "**#{number}** {amount} to {fund} from {person} · {when}",
                number=c.id,
                amount=Money(c.amount, f.currency),
                fund=one_line(f.name, 60),
                person=f"<@{c.member_id}>",
                when=discord_timestamp(c.created_at, "R"),
            ).render(language)
            + (f" · “{one_line(c.note, 60)}”" if c.note else "")
            for c, f in rows
        ]
        await send_ephemeral(interaction, embed=list_embed(_("Contributions to confirm"), lines, language))

    @contribution_group.command(name="confirm")
    @requires(require_treasurer)
    @app_commands.describe(contribution="The contribution's number")
    async def contribution_confirm(self, interaction: discord.Interaction[CoopBot], contribution: ID) -> None:
        """Confirm that a contribution's money arrived: it goes on the ledger (treasurers)."""
        text = await self._confirm(interaction, contribution)
        await send_ephemeral(interaction, text)

    @contribution_group.command(name="reject")
    @requires(require_treasurer)
    @app_commands.describe(contribution="The contribution's number", reason="Why (told to the member)")
    async def contribution_reject(
        self,
        interaction: discord.Interaction[CoopBot],
        contribution: ID,
        reason: app_commands.Range[str, 1, funds.MAX_REASON] | None = None,
    ) -> None:
        """The money never arrived: the contribution stays off the ledger (treasurers)."""
        text = await self._reject_contribution(interaction, contribution, reason or "")
        await send_ephemeral(interaction, text)

    async def _confirm(self, interaction: discord.Interaction[Any], contribution_id: int) -> Text:
        guild_id = guild_id_of(interaction)
        receipt = await funds.confirm_contribution(
            self._db,
            guild_id=guild_id,
            contribution_id=contribution_id,
            actor=actor_of(interaction),
            now=self._now(),
        )
        contribution, fund = receipt.contribution, receipt.fund
        shown = Money(contribution.amount, fund.currency)
        assert receipt.entry is not None
        await self._dm_member(
            guild_id,
            contribution.member_id,
            _(
                "Your contribution #{number} of {amount} to {fund} was confirmed. Thank you!",
                number=contribution.id,
                amount=shown,
                fund=fund.name,
            ),
        )
        return _(
            "✅ Confirmed by {treasurer}: contribution #{number} of {amount} from {person} is on the ledger "
            "(entry #{entry}). Balance of {fund}: {balance}.",
            treasurer=f"<@{interaction.user.id}>",
            number=contribution.id,
            amount=shown,
            person=f"<@{contribution.member_id}>",
            entry=receipt.entry.id,
            fund=one_line(fund.name, 80),
            balance=Money(fund.balance, fund.currency),
        )

    async def _reject_contribution(
        self, interaction: discord.Interaction[Any], contribution_id: int, reason: str
    ) -> Text:
        guild_id = guild_id_of(interaction)
        receipt = await funds.reject_contribution(
            self._db,
            guild_id=guild_id,
            contribution_id=contribution_id,
            actor=actor_of(interaction),
            now=self._now(),
            reason=reason,
        )
        contribution, fund = receipt.contribution, receipt.fund
        shown = Money(contribution.amount, fund.currency)
        why = remark(reason)
        await self._dm_member(
            guild_id,
            contribution.member_id,
            _(
                "Your contribution #{number} of {amount} to {fund} was not confirmed: the treasurer did not "
                "find the money.{reason}",
                number=contribution.id,
                amount=shown,
                fund=fund.name,
                reason=why,
            ),
        )
        return _(
            "❌ Rejected by {treasurer}: contribution #{number} of {amount}.{reason}",
            treasurer=f"<@{interaction.user.id}>",
            number=contribution.id,
            amount=shown,
            reason=why,
        )

    async def on_contribution_click(
        self, interaction: discord.Interaction[Any], contribution_id: int, action: str
    ) -> None:
        await self._check(interaction, require_treasurer)
        if action == "reject":
            await interaction.response.send_modal(
                RejectModal(self, "contribution", contribution_id, language_for(interaction))
            )
            return
        outcome = await self._confirm(interaction, contribution_id)
        await self._close_notice(interaction, outcome)

    async def reject_contribution_from_notice(
        self, interaction: discord.Interaction[Any], contribution_id: int, reason: str
    ) -> None:
        outcome = await self._reject_contribution(interaction, contribution_id, reason)
        await self._close_notice(interaction, outcome)

    async def _close_notice(self, interaction: discord.Interaction[Any], outcome: Text) -> None:
        """The notice now says what was decided, by whom, and has no more buttons. It is a public post, in
        the cooperative's language like the notice itself."""
        original = interaction.message.content if interaction.message else ""
        said = outcome.render(await self._coop_language(guild_id_of(interaction)))
        await interaction.response.edit_message(
            content=shorten(f"{original}\n{said}", MESSAGE_LIMIT), view=None, allowed_mentions=NO_MENTIONS
        )

    # --- requests ---------------------------------------------------------------------------------

    @request_group.command(name="new")
    @requires(funds.require_fund_member)
    @app_commands.describe(
        fund="The fund's name or number",
        amount="How much you need (the minimum), e.g. 120",
        max_amount="Optionally, the most that would be useful (a range, as in Cobudget)",
    )
    async def request_new(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: FUND_REF,
        amount: AMOUNT,
        max_amount: AMOUNT | None = None,
    ) -> None:
        """Ask to be paid from a fund (a form asks what for)."""
        guild_id = guild_id_of(interaction)
        plan = await funds.plan_request(
            self._db,
            guild_id=guild_id,
            fund=fund,
            actor=actor_of(interaction),
            amount_min=amount,
            amount_max=max_amount,
            now=self._now(),
        )
        if not plan.by_treasurer and await self._governance_channel(guild_id) is None:
            raise InvalidInput(
                _(
                    "The members decide this request, but there is no governance channel to post it in: "
                    "a moderator sets one with /coop setup."
                )
            )
        await interaction.response.send_modal(RequestModal(self, plan, language_for(interaction)))

    async def submit_request(
        self, interaction: discord.Interaction[Any], plan: funds.RequestPlan, purpose: str, details: str
    ) -> None:
        """The form was sent: record the request, then post its proposal or the treasurers' notice."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor = actor_of(interaction)
        receipt = await funds.request_funds(
            self._db,
            guild_id=guild_id,
            fund=plan.fund.id or 0,
            actor=actor,
            amount_min=plan.amount_min,
            amount_max=plan.amount_max,
            purpose=purpose,
            details=details,
            now=self._now(),
            limits=self.bot.limits,
            language=await self._coop_language(guild_id),  # its proposal is public: the cooperative's
        )
        request, fund = receipt.request, receipt.fund
        assert request.id is not None
        # The amount in the asker's way of writing numbers (1.200,50 € in German).
        amount = asked(request)
        if receipt.decision is not None:
            message = await self._post_decision(receipt.decision, self._now())
            if message is None:
                await funds.cancel_request(
                    self._db,
                    guild_id=guild_id,
                    request_id=request.id,
                    actor=actor,
                    now=self._now(),
                    # Kept as the request's note, which the cooperative reads: in its language.
                    reason=_("its proposal could not be posted").render(await self._coop_language(guild_id)),
                )
                raise Conflict(
                    _(
                        "I couldn't post the proposal in the governance channel, so the request was "
                        "withdrawn. Check my permissions there (Send Messages, Embed Links, Create Public "
                        "Threads)."
                    )
                )
            text = _(
                "Request #{number} for {amount} from **{fund}** is in the members' hands: proposal "
                "#{proposal}, open until {closes}. {where}",
                number=request.id,
                amount=amount,
                fund=fund.name,
                proposal=receipt.decision.id,
                closes=discord_timestamp(receipt.decision.closes_at),
                where=self._where(message),
            )
        else:
            await self.bot.outbox.send_due()  # the treasurers' notice, owed by the request
            if request.expires_at:
                text = _(
                    "Request #{number} for {amount} from **{fund}** waits for a treasurer. If nobody "
                    "decides, it expires {expires}.",
                    number=request.id,
                    amount=amount,
                    fund=fund.name,
                    expires=discord_timestamp(request.expires_at, "R"),
                )
            else:
                text = _(
                    "Request #{number} for {amount} from **{fund}** waits for a treasurer.",
                    number=request.id,
                    amount=amount,
                    fund=fund.name,
                )
        await send_ephemeral(interaction, text)

    @request_group.command(name="list")
    @requires(funds.require_fund_reader)
    @app_commands.describe(
        fund="Only this fund", status="Which requests (default: open ones)", mine="Only mine"
    )
    @app_commands.choices(status=STATUS_CHOICES)
    async def request_list(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: FUND_REF | None = None,
        status: str = "open",
        mine: bool = False,
    ) -> None:
        """Funding requests: open ones by default."""
        guild_id = guild_id_of(interaction)
        statuses: tuple[str, ...] | None
        if status == "open":
            statuses = funds.OPEN_REQUEST_STATUSES
        elif status == "all":
            statuses = None
        else:
            statuses = (RequestStatus(status).value,)
        rows = await funds.list_requests(
            self._db,
            guild_id,
            fund=fund,
            statuses=statuses,
            requester_id=interaction.user.id if mine else None,
        )
        if not rows:
            await send_ephemeral(interaction, _("No request matches."))
            return
        language = language_for(interaction)
        lines = [
            _(
                "**#{number}** {purpose} · {amount} from {fund} · {person} · {status}{proposal}",
                number=r.id,
                purpose=one_line(r.purpose, 70),
                amount=asked(r),
                fund=one_line(f.name, 40),
                person=f"<@{r.requester_id}>",
                status=status_mark(r.status, language),
                proposal=(
                    spaced(_("(proposal #{proposal})", proposal=r.decision_id))
                    if r.decision_id and r.status == RequestStatus.PENDING
                    else ""
                ),
            ).render(language)
            for r, f in rows
        ]
        await send_ephemeral(interaction, embed=list_embed(_("Funding requests"), lines, language))

    @request_group.command(name="show")
    @requires(funds.require_fund_reader)
    @app_commands.describe(request="The request's number")
    async def request_show(self, interaction: discord.Interaction[CoopBot], request: ID) -> None:
        """A funding request: what, how much, its state and who decided."""
        guild_id = guild_id_of(interaction)
        view = await funds.get_request(self._db, guild_id, request)
        await send_ephemeral(interaction, embed=request_embed(view, language_for(interaction)))

    @request_group.command(name="approve")
    @requires(require_treasurer)
    @app_commands.describe(
        request="The request's number",
        amount="The amount to approve, within what was asked (default: the most asked)",
        note="A note for the requester and the record",
    )
    async def request_approve(
        self,
        interaction: discord.Interaction[CoopBot],
        request: ID,
        amount: AMOUNT | None = None,
        note: app_commands.Range[str, 1, funds.MAX_REASON] | None = None,
    ) -> None:
        """Approve a request within the fund's treasurer limit (treasurers; never your own)."""
        text = await self._approve(interaction, request, amount=amount, note=note or "")
        await send_ephemeral(interaction, text)

    @request_group.command(name="reject")
    @requires(require_treasurer)
    @app_commands.describe(request="The request's number", reason="Why (told to the requester)")
    async def request_reject(
        self,
        interaction: discord.Interaction[CoopBot],
        request: ID,
        reason: app_commands.Range[str, 1, funds.MAX_REASON] | None = None,
    ) -> None:
        """Reject a request that is a treasurer's to decide (treasurers; never your own)."""
        text = await self._reject_request(interaction, request, reason or "")
        await send_ephemeral(interaction, text)

    async def _approve(
        self, interaction: discord.Interaction[Any], request_id: int, *, amount: str | None, note: str
    ) -> Text:
        guild_id = guild_id_of(interaction)
        change = await funds.approve_request(
            self._db,
            guild_id=guild_id,
            request_id=request_id,
            actor=actor_of(interaction),
            now=self._now(),
            amount=amount,
            note=note,
        )
        request, fund = change.request, change.fund
        assert request.approved_amount is not None
        shown = Money(request.approved_amount, fund.currency)
        await self._tell_requester(
            request,
            _(
                "Your funding request #{number} ({purpose}) was approved by a treasurer for {amount} from "
                "{fund}. The payout will be recorded when it is made.{note}",
                number=request.id,
                purpose=one_line(request.purpose, 100),
                amount=shown,
                fund=fund.name,
                note=remark(note, note=True),
            ),
        )
        return _(
            "✅ Approved by {treasurer}: request #{number} for {amount} from {fund}.",
            treasurer=f"<@{interaction.user.id}>",
            number=request.id,
            amount=shown,
            fund=fund.name,
        )

    async def _reject_request(
        self, interaction: discord.Interaction[Any], request_id: int, reason: str
    ) -> Text:
        guild_id = guild_id_of(interaction)
        change = await funds.reject_request(
            self._db,
            guild_id=guild_id,
            request_id=request_id,
            actor=actor_of(interaction),
            now=self._now(),
            reason=reason,
        )
        request, fund = change.request, change.fund
        why = remark(reason)
        await self._tell_requester(
            request,
            _(
                "Your funding request #{number} ({purpose}) from {fund} was not approved.{reason}",
                number=request.id,
                purpose=one_line(request.purpose, 100),
                fund=fund.name,
                reason=why,
            ),
        )
        return _(
            "❌ Rejected by {treasurer}: request #{number}.{reason}",
            treasurer=f"<@{interaction.user.id}>",
            number=request.id,
            reason=why,
        )

    async def on_request_click(
        self, interaction: discord.Interaction[Any], request_id: int, action: str
    ) -> None:
        await self._check(interaction, require_treasurer)
        if action == "reject":
            view = await funds.get_request(self._db, guild_id_of(interaction), request_id)
            if view.request.requester_id == interaction.user.id:
                raise NotAllowed(
                    _(
                        "You can't decide your own request; to withdraw #{number}, use /fund request cancel.",
                        number=request_id,
                    )
                )
            await interaction.response.send_modal(
                RejectModal(self, "request", request_id, language_for(interaction))
            )
            return
        outcome = await self._approve(interaction, request_id, amount=None, note="")
        await self._close_notice(interaction, outcome)

    async def reject_request_from_notice(
        self, interaction: discord.Interaction[Any], request_id: int, reason: str
    ) -> None:
        outcome = await self._reject_request(interaction, request_id, reason)
        await self._close_notice(interaction, outcome)

    @request_group.command(name="cancel")
    @requires(funds.require_fund_reader)
    @app_commands.describe(request="The request's number", reason="Why (optional)")
    async def request_cancel(
        self,
        interaction: discord.Interaction[CoopBot],
        request: ID,
        reason: app_commands.Range[str, 1, funds.MAX_REASON] | None = None,
    ) -> None:
        """Withdraw your request (treasurers, moderators: cancel one); its open proposal is cancelled too."""
        guild_id = guild_id_of(interaction)
        change = await funds.cancel_request(
            self._db,
            guild_id=guild_id,
            request_id=request,
            actor=actor_of(interaction),
            now=self._now(),
            reason=reason or "",
        )
        extra: Text | str = ""
        if change.cancelled_decision_id is not None:
            extra = spaced(
                _("Its proposal #{proposal} is cancelled too.", proposal=change.cancelled_decision_id)
            )
            await self._refresh_proposal(guild_id, change.cancelled_decision_id)
        await send_ephemeral(
            interaction, _("Request #{number} is cancelled.{more}", number=change.request.id, more=extra)
        )
        if change.request.requester_id != interaction.user.id:
            why = spaced(_("Reason: {reason}", reason=one_line(reason, 300))) if reason else ""
            await self._dm_member(
                guild_id,
                change.request.requester_id,
                _(
                    "Your funding request #{number} ({purpose}) was cancelled by a treasurer.{reason}",
                    number=change.request.id,
                    purpose=one_line(change.request.purpose, 100),
                    reason=why,
                ),
            )

    async def _refresh_proposal(self, guild_id: int, decision_id: int) -> None:
        """Show a proposal cancelled with its request as cancelled (buttons disabled)."""
        proposals = self._proposals()
        if proposals is None:
            return
        try:
            decision = await decisions.get_decision(self._db, guild_id, decision_id)
            await proposals.refresh_message(decision)
        except Exception:  # the request is cancelled either way; the message is only a view of it
            log.warning("Could not refresh the message of decision %s", decision_id, exc_info=True)

    @request_group.command(name="pay")
    @requires(require_treasurer)
    @app_commands.describe(request="The approved request's number", reference="Bank or payment reference")
    async def request_pay(
        self,
        interaction: discord.Interaction[CoopBot],
        request: ID,
        reference: app_commands.Range[str, 1, funds.MAX_REFERENCE],
    ) -> None:
        """Record the payout of an approved request (treasurers; never your own)."""
        guild_id = guild_id_of(interaction)
        receipt = await funds.pay_request(
            self._db,
            guild_id=guild_id,
            request_id=request,
            actor=actor_of(interaction),
            reference=reference,
            idempotency_key=str(interaction.id),
            now=self._now(),
        )
        paid, fund, entry = receipt.request, receipt.fund, receipt.entry
        shown = Money(-entry.amount, fund.currency)
        if receipt.duplicate:
            await send_ephemeral(
                interaction,
                _(
                    "Already recorded: entry #{entry}, {amount} for request #{number}.",
                    entry=entry.id,
                    amount=shown,
                    number=paid.id,
                ),
            )
            return
        await send_ephemeral(
            interaction,
            _(
                "💸 Paid {amount} to {person} for request #{number} from **{fund}** (entry #{entry}, "
                "reference “{reference}”). Balance now {balance}.",
                amount=shown,
                person=f"<@{paid.requester_id}>",
                number=paid.id,
                fund=fund.name,
                entry=entry.id,
                reference=one_line(reference, 100),
                balance=Money(fund.balance, fund.currency),
            ),
        )
        told = _(
            "The payout of your funding request #{number} ({purpose}) is recorded: {amount} from {fund}, "
            "reference “{reference}”.",
            number=paid.id,
            purpose=one_line(paid.purpose, 100),
            amount=shown,
            fund=fund.name,
            reference=one_line(reference, 100),
        )
        await self._tell(
            paid.requester_id,
            told.render(await self._coop_language(guild_id)),
            fallback_channel_id=None,
        )

    # --- the ledger -------------------------------------------------------------------------------

    @fund_group.command(name="ledger")
    @requires(funds.require_fund_reader)
    @app_commands.describe(
        fund="The fund's name or number", kind="Only one kind of entry", member="Only this member"
    )
    @app_commands.choices(kind=KIND_CHOICES)
    async def ledger(
        self,
        interaction: discord.Interaction[CoopBot],
        fund: FUND_REF,
        kind: str | None = None,
        member: discord.Member | None = None,
    ) -> None:
        """Every movement of a fund, newest first, page by page."""
        await self.show_ledger(interaction, fund, page=0, kind=kind, member_id=member.id if member else None)

    async def show_ledger(
        self,
        interaction: discord.Interaction[Any],
        fund: str | int,
        *,
        page: int,
        kind: str | None,
        member_id: int | None,
        edit: bool = False,
    ) -> None:
        guild_id = guild_id_of(interaction)
        if edit:
            await self._check(interaction, funds.require_fund_reader)
        shown = await funds.ledger_page(self._db, guild_id, fund, page=page, kind=kind, member_id=member_id)
        assert shown.fund.id is not None
        language = language_for(interaction)  # an ephemeral answer (or its page turned): the member's
        embed = ledger_embed(shown, kind=kind, member_id=member_id, language=language)
        view = ledger_view(
            shown.fund.id, shown.page, shown.pages, kind=kind, member_id=member_id, language=language
        )
        if edit:
            await interaction.response.edit_message(embed=embed, view=view)
        else:
            await send_ephemeral(interaction, embed=embed, view=view)

    @fund_group.command(name="export")
    @requires(funds.require_fund_reader)
    @app_commands.describe(fund="The fund's name or number")
    async def export(self, interaction: discord.Interaction[CoopBot], fund: FUND_REF) -> None:
        """The whole ledger of a fund as a CSV file."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        found, entries = await funds.all_entries(self._db, guild_id, fund)
        csv_text = funds.ledger_csv(found, entries)
        file = discord.File(io.BytesIO(csv_text.encode("utf-8")), filename=f"fund-{found.id}-ledger.csv")
        text = _n(
            "The ledger of **{fund}**: {count} entry, oldest first, amounts in major and minor units.",
            "The ledger of **{fund}**: {count} entries, oldest first, amounts in major and minor units.",
            len(entries),
            fund=found.name,
        )
        await interaction.followup.send(
            text.render(language_for(interaction)),
            file=file,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @fund_group.command(name="chart")
    @requires(funds.require_fund_reader)
    @app_commands.describe(fund="The fund's name or number")
    async def chart(self, interaction: discord.Interaction[CoopBot], fund: FUND_REF) -> None:
        """A chart of a fund's balance over time."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        found, entries = await funds.all_entries(self._db, guild_id, fund)
        settings = await self._settings(guild_id)
        language = language_for(interaction)
        chart = await asyncio.to_thread(_balance_chart, found, entries, settings.timezone, language)
        await interaction.followup.send(
            _("The balance of **{fund}** over time.", fund=found.name).render(language),
            file=discord.File(
                io.BytesIO(chart.png), filename=f"fund-{found.id}-balance.png", description=chart.description
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @fund_group.command(name="correct")
    @requires(require_fund_steward)
    @app_commands.describe(entry="The ledger entry's number", reason="What was wrong (kept on the ledger)")
    async def correct(
        self,
        interaction: discord.Interaction[CoopBot],
        entry: ID,
        reason: app_commands.Range[str, 1, funds.MAX_REASON],
    ) -> None:
        """Correct a ledger entry with a reversing entry (treasurers and moderators)."""
        await self.correct_entry(interaction, entry, reason)

    async def correct_entry(self, interaction: discord.Interaction[CoopBot], entry: int, reason: str) -> None:
        guild_id = guild_id_of(interaction)
        receipt = await funds.correct_entry(
            self._db,
            guild_id=guild_id,
            entry_id=entry,
            actor=actor_of(interaction),
            reason=reason,
            idempotency_key=str(interaction.id),
            now=self._now(),
        )
        fund, reversal = receipt.fund, receipt.reversal
        if receipt.duplicate:
            await send_ephemeral(
                interaction,
                _("Already recorded: entry #{entry} reverses #{number}.", entry=reversal.id, number=entry),
            )
            return
        reopened = (
            spaced(
                _(
                    "Request #{number} is approved and unpaid again.",
                    number=receipt.reopened_request.id,
                )
            )
            if receipt.reopened_request is not None
            else ""
        )
        await send_ephemeral(
            interaction,
            _(
                "Entry #{number} is corrected by entry #{entry} ({amount}). Balance of **{fund}** now "
                "{balance}.{reopened}",
                number=entry,
                entry=reversal.id,
                amount=Signed(reversal.amount, fund.currency),
                fund=fund.name,
                balance=Money(fund.balance, fund.currency),
                reopened=reopened,
            ),
        )

    # --- what happens on its own --------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_coop_decision_closed(self, closed: decisions.ClosedDecision) -> None:
        """A request's proposal closed (the request changed in the same transaction): say so in its
        thread, and tell the requester."""
        decision = closed.decision
        if decision.link_kind != funds.LINK_KIND or decision.link_id is None:
            return
        try:
            view = await funds.get_request(self._db, decision.guild_id, decision.link_id)
        except Exception:
            log.exception("Could not read the request of decision %s", decision.id)
            return
        request, fund = view.request, view.fund
        if request.decision_id != decision.id:
            return
        language = await self._coop_language(decision.guild_id)  # the thread, and the DM alike
        purpose = one_line(request.purpose, 100)
        if request.status == RequestStatus.APPROVED.value and request.approved_amount is not None:
            shown = Money(request.approved_amount, fund.currency)
            note = _(
                "Funding request #{number} is **approved** for {amount} from {fund}.",
                number=request.id,
                amount=shown,
                fund=fund.name,
            ).render(language)
            told = _(
                "Your funding request #{number} ({purpose}) was approved by the members (proposal "
                "#{proposal}) for {amount} from {fund}. A treasurer will record the payout.",
                number=request.id,
                purpose=purpose,
                proposal=decision.id,
                amount=shown,
                fund=fund.name,
            ).render(language)
        elif request.status == RequestStatus.REJECTED.value:
            note = _("Funding request #{number} is **not approved**.", number=request.id).render(language)
            reasons = [reason for _voter, _ballot, reason in closed.reasons if reason][:3]
            given = "".join(f"\n> {one_line(reason, 300)}" for reason in reasons)
            told = _(
                "Your funding request #{number} ({purpose}) was not approved by the members (proposal "
                "#{proposal}): {outcome}",
                number=request.id,
                purpose=purpose,
                proposal=decision.id,
                outcome=closed.result.said,
            ).render(language)
            if given:
                told += "\n" + _("What was said:").render(language) + given
        else:
            return
        await self._post(decision.thread_id, note)
        await self._tell(request.requester_id, told, fallback_channel_id=decision.thread_id)

    async def _next_due(self) -> datetime | None:
        return await funds.next_expiry(self._db, self._served_guilds())

    async def _settle_due(self, now: datetime) -> None:
        settled = await funds.settle_due(self._db, now, self._served_guilds(), self._coop_language)
        for item in settled:
            request = item.request
            if request.status == RequestStatus.EXPIRED.value:
                text = _(
                    "Your funding request #{number} ({purpose}) from {fund} expired: no treasurer decided it "
                    "in time. You can ask again.",
                    number=request.id,
                    purpose=one_line(request.purpose, 100),
                    fund=item.fund.name,
                )
            else:
                text = _(
                    "Your funding request #{number} ({purpose}) is cancelled because its proposal was "
                    "cancelled. You can ask again.",
                    number=request.id,
                    purpose=one_line(request.purpose, 100),
                )
            await self._tell_requester(request, text)

    # --- autocomplete -----------------------------------------------------------------------------

    @show.autocomplete("fund")
    @contribute.autocomplete("fund")
    @ledger.autocomplete("fund")
    @export.autocomplete("fund")
    @chart.autocomplete("fund")
    @request_new.autocomplete("fund")
    @request_list.autocomplete("fund")
    @contribution_list.autocomplete("fund")
    async def _fund_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        found = await funds.suggest_funds(self._db, interaction.guild_id, current, AUTOCOMPLETE_LIMIT)
        return [
            app_commands.Choice(name=shorten(f"{fund.name} · {fund.currency}", 100), value=fund.name)
            for fund in found
        ]

    @request_show.autocomplete("request")
    @request_approve.autocomplete("request")
    @request_reject.autocomplete("request")
    @request_cancel.autocomplete("request")
    @request_pay.autocomplete("request")
    async def _request_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        command = interaction.command.name if interaction.command else ""
        statuses: tuple[str, ...] | None = {
            "approve": (RequestStatus.PENDING.value,),
            "reject": (RequestStatus.PENDING.value,),
            "pay": (RequestStatus.APPROVED.value,),
            "cancel": funds.OPEN_REQUEST_STATUSES,
        }.get(command)
        rows = await funds.list_requests(self._db, interaction.guild_id, statuses=statuses, limit=100)
        if command in ("approve", "reject"):
            rows = [(r, f) for r, f in rows if r.decision_id is None]
        needle = current.strip().lstrip("#").casefold()
        language = language_for(interaction)
        return [
            app_commands.Choice(name=_request_choice(r, language), value=r.id)
            for r, _f in rows
            if r.id is not None and needle in f"{r.id} {r.purpose}".casefold()
        ][:AUTOCOMPLETE_LIMIT]

    @contribution_confirm.autocomplete("contribution")
    @contribution_reject.autocomplete("contribution")
    async def _contribution_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        rows = await funds.list_contributions(self._db, interaction.guild_id, limit=100)
        guild = interaction.guild
        needle = current.strip().lstrip("#").casefold()
        language = language_for(interaction)
        choices = []
        for contribution, fund in rows:
            member = guild.get_member(contribution.member_id) if guild else None
            who = member.display_name if member else str(contribution.member_id)
            name = _(
                "#{number} {amount} from {person} to {fund}",
                number=contribution.id,
                amount=Money(contribution.amount, fund.currency),
                person=who,
                fund=fund.name,
            ).render(language)
            if contribution.id is not None and needle in name.casefold():
                choices.append(app_commands.Choice(name=shorten(name, 100), value=contribution.id))
        return choices[:AUTOCOMPLETE_LIMIT]

    @correct.autocomplete("entry")
    async def _entry_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        rows = await funds.suggest_entries(self._db, interaction.guild_id, current, AUTOCOMPLETE_LIMIT)
        language = language_for(interaction)
        return [
            app_commands.Choice(
                name=shorten(
                    f"#{entry.id} {Signed(entry.amount, entry.currency).render(language)} "
                    f"{kind_label(entry.kind, language)} · {fund.name}",
                    100,
                ),
                value=entry.id,
            )
            for entry, fund in rows
            if entry.id is not None
        ]

    @create.autocomplete("currency")
    async def _currency_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        language = language_for(interaction)
        return [
            app_commands.Choice(name=currency_label(code, language), value=code)
            for code in suggest_currencies(current, limit=AUTOCOMPLETE_LIMIT, language=language)
        ]


def _request_choice(request: FundingRequest, language: str = SOURCE) -> str:
    return shorten(
        f"#{request.id} {one_line(request.purpose, 60)} · {asked(request).render(language)} "
        f"· {status_word(request.status, language)}",
        100,
    )


def _balance_chart(fund: Fund, entries: list[Any], timezone: str, language: str = SOURCE) -> Chart:
    """The balance over time as a PNG, dated in the cooperative's timezone and labelled in the reader's
    language (runs in a worker thread)."""
    tz = parse_timezone(timezone)
    points = [(moment.astimezone(tz), value) for moment, value in funds.balance_points(fund, entries)]
    title = _("{fund}: balance", fund=fund.name).render(language)
    subtitle = _n(
        "{currency} · {count} movements",
        "{currency} · {count} movements",
        len(entries),
        currency=fund.currency,
    ).render(language)
    return render_line_chart(
        shorten(title, 80),
        points,
        value_format=lambda value: amount_figure(round(value), fund.currency, language),
        subtitle=subtitle,
        value_label=fund.currency,
        language=language,
    )


class FundModeration(app_commands.Group):
    """/mod fund: corrections, gathered under /mod with the moderator check up front."""

    def __init__(self, cog: Funds) -> None:
        super().__init__(name="fund", description="Correct the ledger of any fund")
        self.cog = cog

    @app_commands.command(name="correct")
    @requires(require_moderator)
    @app_commands.describe(entry="The ledger entry's number", reason="What was wrong (kept on the ledger)")
    async def correct(
        self,
        interaction: discord.Interaction[CoopBot],
        entry: ID,
        reason: app_commands.Range[str, 1, funds.MAX_REASON],
    ) -> None:
        """Correct a ledger entry with a reversing entry."""
        await self.cog.correct_entry(interaction, entry, reason)
