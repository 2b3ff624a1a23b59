"""/proposal and /decisions: proposals posted with voting buttons, closed on time, kept in a register.

Longer than 700 lines on purpose: a slash command group is one class in discord.py (its commands, their
autocompletes and the handlers its buttons call), so the group stays in one module; its forms, buttons
and embeds live in the modules beside it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._base import CoopCog
from cogs._charts import Chart, Tone, number_format, render_bar_chart, render_stacked_rounds_chart
from cogs._common import (
    NO_MENTIONS,
    QueryPagedView,
    actor_of,
    guild_id_of,
    language_for,
    report_error,
    requires,
    send_ephemeral,
)
from cogs._delivery import dm_each, owed_elsewhere, post_mentioning
from cogs._moderation import attach_to_mod, detach_from_mod
from cogs._scheduling import DueHandler
from cogs._text import (
    AUTOCOMPLETE_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    FIELD_LIMIT,
    FIELD_NAME_LIMIT,
    MESSAGE_LIMIT,
    THREAD_NAME_LIMIT,
    plain,
    shorten,
)
from cogs.proposals._forms import (
    BallotFormModal,
    NewProposalModal,
    PollSelectView,
    ReasonModal,
    ReasonsView,
)
from cogs.proposals._items import PERSISTENT_ITEMS, PositionButton
from cogs.proposals._moderation import Closes, DecisionModeration, ProposalId
from cogs.proposals._render import (
    copy_line,
    proposal_embed,
    reason_pages,
    reasons_embed,
    result_message,
    voting_view,
)
from governance import coop, decisions, networks, nudges, outbox, proposing, reminders, voting
from governance import register as decision_register
from governance.decision_types import DECISION_TYPES
from governance.errors import Conflict, InvalidInput
from governance.i18n import SOURCE, Text, Translated, _, _n, translate
from governance.permissions import require_insider
from governance.records import Decision, DecisionStatus, OwedMessage
from governance.tally import TallyResult
from governance.timeparse import discord_timestamp

log = logging.getLogger("coopbot.proposals")

TYPE_CHOICES = [app_commands.Choice(name=t.label, value=k.value) for k, t in DECISION_TYPES.items()]
TALLY_EDIT_INTERVAL = 2.0  # seconds between two edits of one proposal message, whatever the vote rate


class TallyRefresher:
    """Keeps proposal messages' live tallies current with at most one edit per message per interval.

    The first vote after a quiet spell is shown at once; votes arriving during the interval are gathered
    into one edit at its end, which reads the current state, so the last vote is always shown. The pause
    is a timer started when an edit has gone out, so two edits are an interval apart by whatever clock
    runs the bot's timers (SimCord's in tests and benchmarks, the event loop's in Discord).
    """

    def __init__(self, refresh: Callable[[int, int], Awaitable[None]], interval: float = TALLY_EDIT_INTERVAL):
        self._refresh = refresh
        self.interval = interval
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._asked_again: set[int] = set()

    def request(self, guild_id: int, decision_id: int) -> None:
        if decision_id in self._pending:
            self._asked_again.add(decision_id)  # shown by the edit at the end of the pause
            return
        self._pending[decision_id] = asyncio.create_task(self._run(guild_id, decision_id))

    async def _run(self, guild_id: int, decision_id: int) -> None:
        try:
            while True:
                # Cleared before reading, so a vote that lands during the edit asks for another.
                self._asked_again.discard(decision_id)
                try:
                    await self._refresh(guild_id, decision_id)
                except Exception:
                    log.exception("Could not refresh the tally of decision %s", decision_id)
                await asyncio.sleep(self.interval)
                if decision_id not in self._asked_again:
                    return
        finally:
            self._pending.pop(decision_id, None)
            self._asked_again.discard(decision_id)

    def cancel_all(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
        self._asked_again.clear()


def _eligible(guild: discord.Guild | None, decision: Decision) -> Iterator[discord.Member]:
    """The people who may vote, from the member cache (members intent) as it is."""
    if guild is None or decision.eligible_role_id is None:
        return iter(())
    if decision.eligible_role_id == guild.id:
        members = guild.members
    else:
        role = guild.get_role(decision.eligible_role_id)
        members = role.members if role is not None else []
    return (member for member in members if not member.bot)


async def _complete_members(guild: discord.Guild | None) -> None:
    """Fetch the guild's members first when the cache is not complete yet (just after a start)."""
    if guild is not None and not guild.chunked:
        await guild.chunk()


async def eligible_members(guild: discord.Guild | None, decision: Decision) -> set[int]:
    """The ids of the people who may vote, from the complete member cache."""
    await _complete_members(guild)
    return {member.id for member in _eligible(guild, decision)}


async def eligible_number(guild: discord.Guild | None, decision: Decision) -> int:
    """How many people may vote, from the complete member cache."""
    await _complete_members(guild)
    return eligible_count(guild, decision)


def eligible_count(guild: discord.Guild | None, decision: Decision) -> int:
    """How many people may vote, from the member cache as it is."""
    return sum(1 for _ in _eligible(guild, decision))


def _confirmation(receipt: voting.VoteReceipt, language: str) -> str:
    decision = receipt.decision
    label = decisions.label(decision)
    vote = _described(receipt, language)
    if receipt.unchanged:
        return _("You already voted **{vote}** on {proposal}.", vote=vote, proposal=label).render(language)
    until = discord_timestamp(decision.closes_at, "R")
    if receipt.previous:
        text = _(
            "Your vote on {proposal} is changed to **{vote}**. You can change it until it closes, {until}.",
            proposal=label,
            vote=vote,
            until=until,
        )
    else:
        text = _(
            "Your vote on {proposal} is recorded: **{vote}**. You can change it until it closes, {until}.",
            proposal=label,
            vote=vote,
            until=until,
        )
    return shorten(text.render(language), MESSAGE_LIMIT)


def _translated_ballot(decision: Decision, ballot: str) -> Translated | str:
    """A ballot as its voter reads it: a position in their language, options as they were written."""
    description = decisions.describe(decision, ballot)
    positions = decisions.type_of(decision).positions
    return Translated(description) if any(p.label == description for p in positions) else description


def _spaced(text: Text | str) -> Text | str:
    """A sentence to follow another: a space before it, in whichever language it is said."""
    return _(" {sentence}", sentence=text) if text else ""


def _described(receipt: voting.VoteReceipt, language: str) -> str:
    """The vote as the member reads it: a position in their language, options as they were written."""
    decision_type = decisions.type_of(receipt.decision)
    for position in decision_type.positions:
        if receipt.description == position.label:
            return translate(position.label, language)
    return receipt.description


class Proposals(CoopCog):
    proposal = app_commands.Group(
        name="proposal", description="Propose, vote and decide together", guild_only=True
    )

    def __init__(self, bot: CoopBot) -> None:
        super().__init__(bot)
        self.refresher = TallyRefresher(self._refresh_message)
        self._edit_locks: dict[int, asyncio.Lock] = {}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        attach_to_mod(self.bot.tree, DecisionModeration(self))
        self.bot.due.register(DueHandler("decisions.close", self._close_due, self._next_closing))
        self.bot.due.register(DueHandler("decisions.closing_soon", self._remind_due, self._next_reminder))
        self.bot.due.register(DueHandler("decisions.review", self._review_due, self._next_review))
        self.bot.outbox.register(decisions.CLOSED_KIND, self._deliver_close)
        self.bot.outbox.register(nudges.NUDGE_KIND, self._deliver_nudge)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)
        detach_from_mod(self.bot.tree, "decision")
        for name in ("decisions.close", "decisions.closing_soon", "decisions.review"):
            self.bot.due.unregister(name)
        self.bot.outbox.unregister(decisions.CLOSED_KIND)
        self.bot.outbox.unregister(nudges.NUDGE_KIND)
        self.refresher.cancel_all()

    # --- helpers ----------------------------------------------------------------------------------

    async def _tally(self, decision: Decision, state: decisions.ProposalState | None = None) -> TallyResult:
        """The decision's tally now (or at its close); from `state` where it was read already."""
        eligible = await eligible_number(self.bot.get_guild(decision.guild_id), decision)
        if decision.link_kind == networks.PROPOSAL_LINK and decision.status == DecisionStatus.OPEN:
            # A copy of a network proposal: counted by person, the tally is the whole network's.
            return await networks.live_tally(self.bot.database, decision, eligible)
        if state is not None:
            return state.tally(eligible)
        return await decisions.current_tally(self.bot.database, decision, eligible)

    async def _embed(
        self, decision: Decision, result: TallyResult, language: str | None = None
    ) -> discord.Embed:
        """The proposal message's embed, in `language` (by default the cooperative's: it is a public post);
        a network proposal's copy says which network and how it counts."""
        note = await networks.copy_note(self.bot.database, decision)
        language = language or await self._coop_language(decision.guild_id)
        network = copy_line(note, language) if note else None
        return proposal_embed(decision, result, network=network, language=language)

    async def refresh_message(self, decision: Decision) -> None:
        """Show the decision's current state on its proposal message. Edits of one message take turns and
        each reads the state afresh, so a tally edit that was under way can never paint over the close."""
        assert decision.id is not None
        await self._show_current(decision.guild_id, decision.id)

    async def _show_current(
        self, guild_id: int, decision_id: int, *, only_open: bool = False
    ) -> Decision | None:
        """Edit the proposal message to show the decision as it is now (`only_open`: unless it has closed
        or was cancelled, which show themselves); the decision as it was read."""
        lock = self._edit_locks.setdefault(decision_id, asyncio.Lock())
        async with lock:
            state = await decisions.proposal_state(self.bot.database, guild_id, decision_id, self._now())
            current = state.decision
            if only_open and current.status != DecisionStatus.OPEN:
                self._edit_locks.pop(decision_id, None)
                return None
            channel = await self._channel(current.channel_id)
            if channel is None or current.message_id is None:
                return current
            message = channel.get_partial_message(current.message_id)  # type: ignore[attr-defined]
            result = await self._tally(current, state)
            language = self._language_from(state.settings)
            try:
                await message.edit(
                    embed=await self._embed(current, result, language),
                    view=voting_view(current, language),
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as error:
                # A deleted proposal message is no reason to withhold the result from its thread, nor
                # what the decision carries out: only a failure that may pass keeps the close owed.
                owed_elsewhere(error, transient_only=isinstance(error, discord.NotFound))
                log.warning("Could not edit the message of decision %s", current.id, exc_info=True)
        if current.status != DecisionStatus.OPEN:
            self._edit_locks.pop(decision_id, None)
        return current

    async def _tell_thread(self, decision: Decision, text: str | Text, *, nonce: str | None = None) -> None:
        """Say something in the decision's thread (a Text: in the cooperative's language)."""
        if isinstance(text, Text):
            text = text.render(await self._coop_language(decision.guild_id))
        await self._post(decision.thread_id, text, nonce=nonce)

    async def _announce_change(
        self, interaction: discord.Interaction[Any], decision: Decision, reply: Text, thread_note: Text
    ) -> None:
        """After someone changed a decision: tell them (in their language), show it on the proposal, and say
        it in its thread (in the cooperative's)."""
        await send_ephemeral(interaction, reply)
        await self.refresh_message(decision)
        await self._tell_thread(decision, thread_note)

    async def _refresh_message(self, guild_id: int, decision_id: int) -> None:
        # Live tallies only: a close or a cancel shows itself.
        decision = await self._show_current(guild_id, decision_id, only_open=True)
        # The other cooperatives' copies of a network proposal show the network's tally too: each is
        # refreshed by the process that serves it (the outbox), at most once per interval.
        if (
            decision is not None
            and decision.link_kind == networks.PROPOSAL_LINK
            and await networks.owe_sibling_refresh(self.bot.database, decision, self._now())
        ):
            await self.bot.outbox.send_due()

    # --- opening ----------------------------------------------------------------------------------

    @proposal.command(name="new")
    @app_commands.describe(
        type="How the decision is made (default: the cooperative's default type)",
        closes="When voting closes: 3d, 48h, 1w, or a date like 2026-12-01 17:00",
        options="For polls, ranked, score and dot votes: the options, separated by ;",
        max_choices="Polls: how many options each voter may choose",
        quorum="Percent of eligible voters who must take part",
        eligible_role="Who can vote (default: the member role)",
        anonymous="Never show who chose what (cannot be switched off later)",
        hide_results="Hide the tally until the close",
        target="Count votes: how many must be in",
        dots="Dot votes: dots per voter",
        score_min="Score votes: the lowest score (default 0)",
        score_max="Score votes: the highest score (default 5)",
        reasons_required="Every voter must give a reason (positions only, not polls or other option votes)",
    )
    @app_commands.choices(type=TYPE_CHOICES)
    async def new(
        self,
        interaction: discord.Interaction[CoopBot],
        type: str | None = None,
        closes: Closes | None = None,
        options: app_commands.Range[str, 1, 2000] | None = None,
        max_choices: app_commands.Range[int, 1, 20] = 1,
        quorum: app_commands.Range[int, 1, 100] | None = None,
        eligible_role: discord.Role | None = None,
        anonymous: bool = False,
        hide_results: bool = False,
        target: app_commands.Range[int, 1, 100_000] | None = None,
        dots: app_commands.Range[int, 1, 1000] = 8,
        score_min: app_commands.Range[int, -10, 100] = 0,
        score_max: app_commands.Range[int, -10, 100] = 5,
        reasons_required: bool = False,
    ) -> None:
        """Propose something for the cooperative to decide."""
        guild_id = guild_id_of(interaction)
        draft = proposing.ProposalDraft(
            title="",
            kind=type,
            options=tuple(part for part in (options or "").split(";") if part.strip()),
            closes=closes,
            max_choices=max_choices,
            quorum_percent=quorum,
            eligible_role_id=eligible_role.id if eligible_role else None,
            anonymous=anonymous,
            hide_results=hide_results,
            target=target,
            dots=dots,
            score_min=score_min,
            score_max=score_max,
            reasons_required=reasons_required,
        )
        actor = actor_of(interaction)
        settings = await proposing.check_draft(
            self.bot.database, guild_id=guild_id, actor=actor, draft=draft, now=self._now()
        )
        if (
            settings.governance_channel_id is None
            or await self._channel(settings.governance_channel_id) is None
        ):
            raise InvalidInput(_("Set a governance channel first: /coop setup governance_channel:#channel"))
        kind = decisions.get_type(type or settings.default_decision_type)
        await interaction.response.send_modal(
            NewProposalModal(
                self,
                draft,
                ask_options=kind.uses_options and not draft.options,
                language=language_for(interaction),
            )
        )

    async def publish_proposal(
        self, interaction: discord.Interaction[Any], draft: proposing.ProposalDraft
    ) -> None:
        """The modal was submitted: store the decision, post it with its buttons and a thread."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self._now()
        decision = await proposing.open_decision(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            draft=draft,
            now=now,
            limits=self.bot.limits,
        )
        message = await self.post_decision(decision)
        if message is None:
            raise Conflict(
                _(
                    "I couldn't post in the governance channel, so the proposal was not opened. "
                    "Check my permissions there (Send Messages, Embed Links, Create Public Threads)."
                )
            )
        await send_ephemeral(
            interaction,
            _(
                "Proposal {proposal} is open until {closes}: {where}",
                proposal=decisions.label(decision),
                closes=discord_timestamp(decision.closes_at),
                where=self._where(message),
            ),
        )

    async def post_decision(self, decision: Decision) -> discord.Message | None:
        """Post an opened decision in the governance channel with its buttons and a discussion thread,
        and wake the scheduler for its close. Also used by other capabilities (admissions, fund requests)
        for the decisions they open. When it cannot be posted, the decision is cancelled and None returned:
        no invisible decision stays open."""
        assert decision.id is not None
        now = self._now()
        settings = await coop.get_settings(self.bot.database, decision.guild_id, now)
        channel = await self._channel(settings.governance_channel_id)
        message: discord.Message | None = None
        if channel is not None:
            try:
                language = await self._coop_language(decision.guild_id)
                message = await channel.send(
                    embed=await self._embed(decision, await self._tally(decision), language),
                    view=voting_view(decision, language),
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException:
                log.warning("Could not post decision %s", decision.id, exc_info=True)
        if message is None:
            await proposing.discard_unposted(
                self.bot.database, guild_id=decision.guild_id, decision_id=decision.id, now=now
            )
            return None
        thread_id: int | None = None
        try:
            thread = await message.create_thread(name=thread_name(decision))
            thread_id = thread.id
            await thread.send(
                _(
                    "Discussion of {proposal}, proposed by {author}.",
                    proposal=decisions.label(decision),
                    author=f"<@{decision.author_id}>",
                ).render(await self._coop_language(decision.guild_id)),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException:
            log.warning("Could not open a thread for decision %s", decision.id, exc_info=True)
        await proposing.attach_message(
            self.bot.database,
            guild_id=decision.guild_id,
            decision_id=decision.id,
            channel_id=message.channel.id,
            message_id=message.id,
            thread_id=thread_id,
        )
        decision.channel_id = message.channel.id
        decision.message_id = message.id
        decision.thread_id = thread_id
        self.bot.due.wake_at(decision.closes_at)
        return message

    # --- voting -----------------------------------------------------------------------------------

    async def cast_and_confirm(
        self,
        interaction: discord.Interaction[Any],
        decision_id: int,
        *,
        choice: Any = None,
        typed: str | None = None,
        reason: str | None = None,
        edit: bool = False,
    ) -> None:
        guild_id = guild_id_of(interaction)
        receipt = await self.bot.votes.cast(
            voting.VoteRequest(
                guild_id=guild_id,
                decision_id=decision_id,
                actor=actor_of(interaction),
                now=self._now(),
                choice=choice,
                typed=typed,
                reason=reason,
            )
        )
        text = _confirmation(receipt, language_for(interaction))
        if edit:
            await interaction.response.edit_message(content=text, view=None)
        else:
            await send_ephemeral(interaction, text)
        if not receipt.unchanged:
            self.refresher.request(guild_id, decision_id)

    @commands.Cog.listener("on_interaction")
    async def _route_vote_click(self, interaction: discord.Interaction[Any]) -> None:
        """A vote button's click, read from its custom id and voted at once (a reason form first where the
        position asks for one); answered, refused or apologised for like any other click."""
        if interaction.type is not discord.InteractionType.component or interaction.data is None:
            return
        click = PositionButton.read(str(interaction.data.get("custom_id", "")))
        if click is None:
            return
        decision_id, key, asks_reason = click
        try:
            await self.on_position_click(interaction, decision_id, key, asks_reason=asks_reason)
        except Exception as error:
            await report_error(interaction, error)

    async def on_position_click(
        self, interaction: discord.Interaction[Any], decision_id: int, key: str, *, asks_reason: bool
    ) -> None:
        if asks_reason:
            # Refused at the click, before the person writes a reason that could not count.
            decision = await decisions.get_decision(self.bot.database, guild_id_of(interaction), decision_id)
            voting.require_eligible(decision, actor_of(interaction))
            await interaction.response.send_modal(
                ReasonModal(self, decision_id, key, language_for(interaction))
            )
            return
        await self.cast_and_confirm(interaction, decision_id, choice=key)

    async def on_ballot_click(self, interaction: discord.Interaction[Any], decision_id: int) -> None:
        guild_id = guild_id_of(interaction)
        decision = await decisions.get_decision(self.bot.database, guild_id, decision_id)
        if decision.status != DecisionStatus.OPEN or self._now() >= decision.closes_at:
            raise Conflict(_("Voting on proposal {proposal} has closed.", proposal=decisions.label(decision)))
        # Refused at the click, not after choosing: the select or form would lead nowhere.
        voting.require_eligible(decision, actor_of(interaction))
        if decision.kind == "poll":
            await send_ephemeral(
                interaction,
                _("Your choice on {proposal}:", proposal=decisions.label(decision)),
                view=PollSelectView(self, decision, language_for(interaction)),
            )
        else:
            await interaction.response.send_modal(BallotFormModal(self, decision, language_for(interaction)))

    async def on_withdraw_click(self, interaction: discord.Interaction[Any], decision_id: int) -> None:
        guild_id = guild_id_of(interaction)
        decision = await voting.withdraw_vote(
            self.bot.database,
            guild_id=guild_id,
            decision_id=decision_id,
            actor=actor_of(interaction),
            now=self._now(),
        )
        await send_ephemeral(
            interaction, _("Your vote on {proposal} is withdrawn.", proposal=decisions.label(decision))
        )
        self.refresher.request(guild_id, decision_id)

    @proposal.command(name="vote")
    @requires(require_insider)
    @app_commands.describe(
        proposal="The proposal's number",
        choice="A position (agree, block…), option numbers (1, 3), a ranking (2 > 1) or scores (1:5)",
        reason="Why (required for a block or an objection, and where the proposal asks every voter)",
    )
    async def vote(
        self,
        interaction: discord.Interaction[CoopBot],
        proposal: ProposalId,
        choice: app_commands.Range[str, 1, 500],
        reason: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        """Vote without the buttons (for keyboards and scripts)."""
        await self.cast_and_confirm(interaction, proposal, typed=choice, reason=reason)

    # --- closing ----------------------------------------------------------------------------------

    async def _next_closing(self) -> datetime | None:
        return await decisions.next_closing(self.bot.database, self._served_guilds())

    async def _close_due(self, now: datetime) -> None:
        for guild_id, decision_id in await decisions.due_decisions(
            self.bot.database, now, self._served_guilds()
        ):
            try:
                await self._close(guild_id, decision_id, now=now)
            except Exception:  # one decision's failure must not keep the others open
                log.exception("Could not close decision %s", decision_id)

    async def _close(
        self, guild_id: int, decision_id: int, *, now: datetime, actor: Any = None
    ) -> decisions.ClosedDecision | None:
        async with self.bot.votes.closing(decision_id):
            decision = await decisions.get_decision(self.bot.database, guild_id, decision_id)
            closed = await decisions.close_decision(
                self.bot.database,
                guild_id=guild_id,
                decision_id=decision_id,
                eligible=await eligible_number(self.bot.get_guild(guild_id), decision),
                now=now,
                actor=actor,
            )
        if closed is not None:
            await self.bot.outbox.send_due()  # its announcement, owed by the close, goes out at once
        return closed

    async def _deliver_close(self, owed: OwedMessage) -> None:
        """What a close owes (governance/outbox.py), one step after the other, each recorded when done so
        that a retry does only what is left: the proposal message shows the result, the thread gets it (with
        a nonce: Discord drops a repeat within its window), then each capability linked to the decision acts
        on it (an admission's role and welcome, a request's news), awaited in turn."""
        closed = await decisions.closed_as_it_closed(
            self.bot.database, owed.guild_id, int(owed.payload["decision_id"])
        )
        if closed is None:  # reopened or cancelled since: its close has nothing left to say
            return
        decision = closed.decision
        assert decision.id is not None
        if not outbox.is_done(owed, "message"):
            await self.refresh_message(decision)
            await outbox.step_done(self.bot.database, owed, "message")
        if not outbox.is_done(owed, "result"):
            await self._tell_thread(
                decision,
                result_message(
                    decision, closed.result, closed.reasons, await self._coop_language(decision.guild_id)
                ),
                nonce=f"coop-close-{decision.id}",
            )
            await outbox.step_done(self.bot.database, owed, "result")
        for listener in list(self.bot.extra_events.get("on_coop_decision_closed", ())):
            step = f"then:{listener.__qualname__}"
            if not outbox.is_done(owed, step):
                await listener(closed)
                await outbox.step_done(self.bot.database, owed, step)
        await decisions.mark_announced(self.bot.database, decision.id, self._now())

    # --- reminders --------------------------------------------------------------------------------

    async def _next_reminder(self) -> datetime | None:
        return await nudges.next_closing_soon(self.bot.database, self._served_guilds())

    async def _remind_due(self, now: datetime) -> None:
        """Claim the closing-soon reminders that came due; each claim owes its reminder (the outbox)."""
        for decision, lead in await nudges.closing_soon_candidates(
            self.bot.database, now, self._served_guilds()
        ):
            await nudges.claim_closing_soon(self.bot.database, decision, now, lead)

    async def _deliver_nudge(self, owed: OwedMessage) -> None:
        decision = await decisions.get_decision(
            self.bot.database, owed.guild_id, int(owed.payload["decision_id"])
        )
        if decision.status == DecisionStatus.OPEN:  # else closed or cancelled since: nothing to remind of
            await self.remind_voters(decision)

    async def remind_voters(self, decision: Decision, note: str | None = None) -> int:
        """Mention, in the decision's thread, the eligible voters who have not voted (in batches under the
        message limit), and DM those who opted in. Returns how many were reminded."""
        assert decision.id is not None
        guild = self.bot.get_guild(decision.guild_id)
        if guild is None:
            return 0
        eligible = await eligible_members(guild, decision)
        waiting = sorted(eligible - await decisions.voter_ids(self.bot.database, decision.id))
        if not waiting:
            return 0
        language = await self._coop_language(decision.guild_id)  # a public post, and DMs alike
        title = plain(shorten(decision.title, 100))
        closes = discord_timestamp(decision.closes_at, "R")
        header = (
            "⏰ "
            + _(
                "**{proposal} {title}** closes {closes}.",
                proposal=decisions.label(decision),
                title=title,
                closes=closes,
            ).render(language)
            + (f" {shorten(note, 500)}" if note else "")
            + " "
            + _("Not voted yet:").render(language)
        )
        channel = await self._channel(decision.thread_id or decision.channel_id)
        if channel is not None:
            await post_mentioning(channel, header, waiting)
        opted_in = await reminders.dm_opted_in(self.bot.database, decision.guild_id, waiting)
        link = self._link(decision.guild_id, decision.channel_id, decision.message_id) or ""
        await dm_each(
            [member for user_id in sorted(opted_in) if (member := guild.get_member(user_id)) is not None],
            "⏰ "
            + _(
                "{proposal} {title} in {server} closes {closes} and you have not voted yet. {link}",
                proposal=decisions.label(decision),
                title=title,
                server=guild.name,
                closes=closes,
                link=link,
            ).render(language),
        )
        return len(waiting)

    async def _next_review(self) -> datetime | None:
        return await nudges.next_review(self.bot.database, self._served_guilds())

    async def _review_due(self, now: datetime) -> None:
        for decision in await nudges.claim_due_reviews(self.bot.database, now, self._served_guilds()):
            language = await self._coop_language(decision.guild_id)
            review = _(
                "Time to review {proposal} {title}, decided {decided}.",
                proposal=decisions.label(decision),
                title=plain(shorten(decision.title, 100)),
                decided=discord_timestamp(decision.closed_at or decision.closes_at, "D"),
            ).render(language)
            statement = (
                " "
                + _("Outcome: {statement}", statement=shorten(decision.outcome_statement, 800)).render(
                    language
                )
                if decision.outcome_statement
                else ""
            )
            advice = _("Open a new proposal if it should change.").render(language)
            await self._tell_thread(decision, f"🔁 {review}{statement} {advice}")

    @proposal.command(name="remind")
    @requires(require_insider)
    @app_commands.describe(proposal="The proposal's number", message="A word to add to the reminder")
    async def remind(
        self,
        interaction: discord.Interaction[CoopBot],
        proposal: ProposalId,
        message: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        """Remind those who have not voted yet (the author or a moderator)."""
        guild_id = guild_id_of(interaction)
        decision = await decisions.authorise_remind(
            self.bot.database,
            guild_id=guild_id,
            decision_id=proposal,
            actor=actor_of(interaction),
            now=self._now(),
            limits=self.bot.limits,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.remind_voters(decision, message)
        label = decisions.label(decision)
        text = (
            _n(
                "Reminded {count} person who has not voted on {proposal}.",
                "Reminded {count} people who have not voted on {proposal}.",
                count,
                proposal=label,
            )
            if count
            else _("Everyone eligible has voted on {proposal}.", proposal=label)
        )
        await send_ephemeral(interaction, text)

    # --- lifecycle commands -----------------------------------------------------------------------

    @proposal.command(name="close")
    @requires(require_insider)
    @app_commands.describe(proposal="The proposal's number")
    async def close(self, interaction: discord.Interaction[CoopBot], proposal: ProposalId) -> None:
        """Close a proposal now and count the votes (its author or a moderator)."""
        await self.close_now(interaction, proposal)

    async def close_now(self, interaction: discord.Interaction[CoopBot], proposal: int) -> None:
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        closed = await self._close(guild_id, proposal, now=self._now(), actor=actor_of(interaction))
        assert closed is not None
        await send_ephemeral(
            interaction,
            _(
                "Closed {proposal}. {outcome}",
                proposal=decisions.label(closed.decision),
                outcome=closed.result.said,
            ),
        )

    @proposal.command(name="extend")
    @requires(require_insider)
    @app_commands.describe(
        proposal="The proposal's number", closes="Extra time (2d, 12h) or a new closing date"
    )
    async def extend(
        self, interaction: discord.Interaction[CoopBot], proposal: ProposalId, closes: Closes
    ) -> None:
        """Give a proposal more time (its author or a moderator)."""
        await self.extend_now(interaction, proposal, closes)

    async def extend_now(self, interaction: discord.Interaction[CoopBot], proposal: int, closes: str) -> None:
        guild_id = guild_id_of(interaction)
        decision = await decisions.extend_decision(
            self.bot.database,
            guild_id=guild_id,
            decision_id=proposal,
            actor=actor_of(interaction),
            closes=closes,
            now=self._now(),
        )
        closes_at = discord_timestamp(decision.closes_at)
        await self._announce_change(
            interaction,
            decision,
            _("{proposal} now closes {closes}.", proposal=decisions.label(decision), closes=closes_at),
            _("Voting was extended: it now closes {closes}.", closes=closes_at),
        )

    @proposal.command(name="cancel")
    @requires(require_insider)
    @app_commands.describe(proposal="The proposal's number", reason="Why it is cancelled")
    async def cancel(
        self,
        interaction: discord.Interaction[CoopBot],
        proposal: ProposalId,
        reason: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        """Withdraw a proposal without a decision (its author or a moderator)."""
        await self.cancel_now(interaction, proposal, reason)

    async def cancel_now(
        self, interaction: discord.Interaction[CoopBot], proposal: int, reason: str | None
    ) -> None:
        guild_id = guild_id_of(interaction)
        decision = await decisions.cancel_decision(
            self.bot.database,
            guild_id=guild_id,
            decision_id=proposal,
            actor=actor_of(interaction),
            now=self._now(),
            reason=reason,
        )
        await self._announce_change(
            interaction,
            decision,
            _("{proposal} is cancelled.", proposal=decisions.label(decision)),
            _(
                "This proposal was cancelled by {person}.{reason}",
                person=f"<@{interaction.user.id}>",
                reason=f" {reason}" if reason else "",
            ),
        )

    @proposal.command(name="reopen")
    @app_commands.describe(proposal="The proposal's number", closes="When it closes again: 2d, or a date")
    async def reopen(
        self, interaction: discord.Interaction[CoopBot], proposal: ProposalId, closes: Closes
    ) -> None:
        """Reopen a closed decision for more votes (moderators; not anonymous ones)."""
        await self.reopen_now(interaction, proposal, closes)

    async def reopen_now(self, interaction: discord.Interaction[CoopBot], proposal: int, closes: str) -> None:
        guild_id = guild_id_of(interaction)
        decision = await decisions.reopen_decision(
            self.bot.database,
            guild_id=guild_id,
            decision_id=proposal,
            actor=actor_of(interaction),
            closes=closes,
            now=self._now(),
        )
        closes_at = discord_timestamp(decision.closes_at)
        await self._announce_change(
            interaction,
            decision,
            _(
                "{proposal} is open again until {closes}.",
                proposal=decisions.label(decision),
                closes=closes_at,
            ),
            _("Reopened until {closes}.", closes=closes_at),
        )
        self.bot.due.wake_at(decision.closes_at)

    @proposal.command(name="outcome")
    @app_commands.describe(
        proposal="The proposal's number",
        statement="What was decided and what happens next",
        review="When to review this decision: 3 months is 90d, or a date",
    )
    async def outcome(
        self,
        interaction: discord.Interaction[CoopBot],
        proposal: ProposalId,
        statement: app_commands.Range[str, 1, 2000],
        review: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        """Record the outcome statement of a closed decision (its author or a moderator)."""
        guild_id = guild_id_of(interaction)
        decision = await decisions.record_outcome(
            self.bot.database,
            guild_id=guild_id,
            decision_id=proposal,
            actor=actor_of(interaction),
            statement=statement,
            review=review,
            now=self._now(),
        )
        review_on: Text | str = (
            _("Review on {date}.", date=discord_timestamp(decision.review_at, "D"))
            if decision.review_at
            else ""
        )
        await self._announce_change(
            interaction,
            decision,
            _(
                "Outcome of {proposal} recorded.{review}",
                proposal=decisions.label(decision),
                review=_spaced(review_on),
            ),
            _("**Outcome:** {statement}{review}", statement=statement, review=_spaced(review_on)),
        )

    # --- reading ----------------------------------------------------------------------------------

    @proposal.command(name="list")
    @requires(require_insider)
    @app_commands.describe(unvoted="Only the ones I have not voted on")
    async def list_open(self, interaction: discord.Interaction[CoopBot], unvoted: bool = False) -> None:
        """The open proposals, soonest closing first."""
        guild_id = guild_id_of(interaction)
        open_decisions = await decisions.list_open(
            self.bot.database, guild_id, not_voted_by=interaction.user.id if unvoted else None
        )
        if not open_decisions:
            empty = (
                _("You have voted on every open proposal.")
                if unvoted
                else _("No proposal is open right now.")
            )
            await send_ephemeral(interaction, empty)
            return
        language = language_for(interaction)
        lines = [
            f"**{decisions.label(d)}** {plain(shorten(d.title, 80))} · "
            + _(
                "{type} · closes {closes}",
                type=Translated(decisions.type_of(d).label),
                closes=discord_timestamp(d.closes_at, "R"),
            ).render(language)
            + (f" · {link}" if (link := self._link(d.guild_id, d.channel_id, d.message_id)) else "")
            for d in open_decisions
        ]
        title = _("Open proposals you have not voted on") if unvoted else _("Open proposals")
        embed = discord.Embed(
            title=title.render(language),
            description=shorten("\n".join(lines), EMBED_DESCRIPTION_LIMIT),
            colour=discord.Colour.blurple(),
        )
        await send_ephemeral(interaction, embed=embed)

    @proposal.command(name="show")
    @requires(require_insider)
    @app_commands.describe(proposal="The proposal's number")
    async def show(self, interaction: discord.Interaction[CoopBot], proposal: ProposalId) -> None:
        """A proposal with its current tally (or result) and your vote."""
        guild_id = guild_id_of(interaction)
        decision = await decisions.get_decision(self.bot.database, guild_id, proposal)
        assert decision.id is not None
        language = language_for(interaction)
        embed = await self._embed(decision, await self._tally(decision), language)
        vote = await decisions.get_vote(self.bot.database, decision.id, interaction.user.id)
        lines = [
            (
                _("Your vote: **{vote}**", vote=_translated_ballot(decision, vote.ballot))
                if vote
                else _("You have not voted.")
            ).render(language)
        ]
        if link := self._link(decision.guild_id, decision.channel_id, decision.message_id):
            lines.append(link)
        hidden = decision.hide_results and decision.status == DecisionStatus.OPEN
        if hidden:
            lines.append(_("The reasons given are shown with the result, at the close.").render(language))
        await send_ephemeral(interaction, "\n".join(lines), embed=embed)
        if hidden:
            return
        pages = reason_pages(decision, await decisions.reasons_given(self.bot.database, decision), language)
        # In full, in a message of their own: the proposal's embed may take most of one message's room.
        if len(pages) == 1:
            await send_ephemeral(interaction, embed=reasons_embed(decision, pages, 0, language))
        elif pages:
            view = ReasonsView(decision, pages, language)
            view.message = await interaction.followup.send(
                embed=await view.render(), view=view, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True
            )

    @proposal.command(name="results")
    @requires(require_insider)
    @app_commands.describe(proposal="The proposal's number")
    async def results(self, interaction: discord.Interaction[CoopBot], proposal: ProposalId) -> None:
        """A chart of a proposal's result."""
        guild_id = guild_id_of(interaction)
        decision = await decisions.get_decision(self.bot.database, guild_id, proposal)
        if decision.hide_results and decision.status == DecisionStatus.OPEN:
            raise Conflict(
                _("The results of {proposal} are hidden until it closes.", proposal=decisions.label(decision))
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self._tally(decision)
        chart = await asyncio.to_thread(_chart, decision, result, language_for(interaction))
        await interaction.followup.send(
            f"{decisions.label(decision)}: {result.said.render(language_for(interaction))}",
            file=discord.File(
                io.BytesIO(chart.png), filename=f"proposal-{decision.id}.png", description=chart.description
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="decisions")
    @app_commands.guild_only()
    @requires(require_insider)
    @app_commands.describe(search="Words in the title or outcome", page="Page of results (10 per page)")
    async def register(
        self,
        interaction: discord.Interaction[CoopBot],
        search: app_commands.Range[str, 1, 100] | None = None,
        page: app_commands.Range[int, 1, 10_000] = 1,
    ) -> None:
        """The decision register: every closed decision and funding round, and its outcome."""
        guild_id = guild_id_of(interaction)
        rows, total = await decision_register.register(
            self.bot.database, guild_id, search=search, page=page - 1
        )
        if not rows:
            await send_ephemeral(
                interaction, _("No decision matches.") if total else _("No decision has closed yet.")
            )
            return
        language = language_for(interaction)
        await QueryPagedView(
            partial(self.register_page, guild_id, search, language=language), page=page - 1
        ).send(interaction)

    async def register_page(
        self, guild_id: int, search: str | None, page: int, *, language: str = SOURCE
    ) -> tuple[discord.Embed, int]:
        """One page of the register, in the reader's language, and how many pages there are."""
        rows, total = await decision_register.register(self.bot.database, guild_id, search=search, page=page)
        pages = max(
            1, (total + decision_register.REGISTER_PAGE_SIZE - 1) // decision_register.REGISTER_PAGE_SIZE
        )
        embed = discord.Embed(
            title=_("Decision register").render(language), colour=discord.Colour.dark_green()
        )
        for entry in rows:
            # The outcome says it in words ("Fails: 1 objection stands"): the mark is only its icon. A round
            # neither passes nor fails: its outcome says what was funded.
            mark = "🏁" if entry.kind == "round" else {True: "✅", False: "❌", None: "ℹ️"}[entry.passed]
            closed = (
                " · " + _("closed {date}", date=discord_timestamp(entry.closed_at, "D")).render(language)
                if entry.closed_at
                else ""
            )
            value = f"{mark} {plain(shorten(entry.outcome_in(language), 300))}{closed}"
            if entry.statement:
                value += "\n" + _(
                    "**Outcome:** {statement}{review}",
                    statement=plain(shorten(entry.statement, 300)),
                    review="",
                ).render(language)
            embed.add_field(
                name=shorten(f"{entry.label_in(language)} · {plain(entry.title)}", FIELD_NAME_LIMIT),
                value=shorten(value, FIELD_LIMIT),
                inline=False,
            )
        footer = _("Page {page} of {pages}", page=page + 1, pages=pages).render(language)
        footer += " · " + _n("{count} decision", "{count} decisions", total).render(language)
        if pages > 1:
            footer += " · " + _("◀️ ▶️ below, or the page option").render(language)
        embed.set_footer(text=footer)
        return embed, pages

    @remind.autocomplete("proposal")
    @show.autocomplete("proposal")
    @vote.autocomplete("proposal")
    @close.autocomplete("proposal")
    @extend.autocomplete("proposal")
    @cancel.autocomplete("proposal")
    async def _open_proposal_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        open_decisions = await decisions.list_open(self.bot.database, interaction.guild_id, limit=100)
        needle = current.strip().lstrip("#").lower()
        matching = [d for d in open_decisions if needle in f"{d.id} {d.title}".lower()]
        return [
            app_commands.Choice(name=shorten(f"#{d.id} {d.title}", 100), value=d.id)
            for d in matching[:AUTOCOMPLETE_LIMIT]
            if d.id is not None
        ]


def thread_name(decision: Decision) -> str:
    """The discussion thread's name: the title, with mention syntax broken so that nothing echoing the
    name (the "thread created" notice) can ping."""
    name = f"{decisions.label(decision)} {decision.title}".replace("@", "@\u200b")
    return shorten(name, THREAD_NAME_LIMIT)


def _chart(decision: Decision, result: TallyResult, language: str = SOURCE) -> Chart:
    """Render the result as a PNG, labelled in the reader's language (runs in a worker thread)."""
    decision_type = decisions.type_of(decision)
    voted = _("{voters} of {eligible} voted", voters=result.voters, eligible=result.eligible).render(language)
    subtitle = f"{result.said.render(language)} · {voted}"
    title = shorten(f"{decisions.label(decision)} {decision.title}", 80)
    if decision_type.kind.value == "ranked" and result.rounds:
        return render_stacked_rounds_chart(
            title,
            decision.options,
            [r.counts for r in result.rounds],
            eliminated=[r.eliminated for r in result.rounds],
            exhausted=[r.exhausted for r in result.rounds],
            highlight=result.winners,
            subtitle=subtitle,
            language=language,
        )
    if decision_type.positions:
        labels = [translate(position.label, language) for position in decision_type.positions]
        values = [result.position_counts.get(position.key, 0) for position in decision_type.positions]
        tones = [Tone(position.stance) for position in decision_type.positions]
        return render_bar_chart(title, labels, values, subtitle=subtitle, tones=tones, language=language)
    if decision_type.kind.value == "score" and decision.score_min < 0:
        # Bars can't go below zero: each is drawn from the lowest total possible (everyone giving the
        # lowest score), and labelled with the real total.
        floor = decision.score_min * result.voters
        points = number_format(language)
        return render_bar_chart(
            title,
            decision.options,
            [total - floor for total in result.option_totals],
            subtitle=f"{subtitle} · " + _("bars start at {floor} points", floor=floor).render(language),
            value_format=lambda value: points(value + floor),
            highlight=result.winners,
            language=language,
        )
    return render_bar_chart(
        title,
        decision.options,
        result.option_totals,
        subtitle=subtitle,
        highlight=result.winners,
        language=language,
    )
