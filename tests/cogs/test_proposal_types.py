"""Every decision type end to end in Discord (SimCord): members vote with the buttons, the select and the
ballot form exactly as people would, the decision closes on time, and the proposal message, its thread, the
register (/decisions) and the stored decision all tell the same result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from typing import Any

import discord
import pytest
import simcord
from PIL import Image
from sqlmodel import col, select

from bot import CoopBot
from governance.clock import ManualClock
from storage.database import Database
from storage.models import Decision, DecisionStatus, Vote, VoteEvent
from tests.cogs.helpers import fields, proposal_message, propose, seen
from tests.conftest import Coop

CLOSES = "3w"  # longer than every type's minimum (emergency: 10 working days in Pacific/Auckland)
PASSED, FAILED, INFORMATIONAL = "✅", "❌", "ℹ️"  # the register's icons; the outcome says it in words


def reply_of(result: simcord.InteractionResult) -> simcord.ResponseMessage:
    """What the bot answered, whether as the response or (after a deferral) as the first follow-up."""
    reply = result.followups[0] if result.followups else result.response
    assert reply is not None, result
    return reply


@dataclass
class Room:
    """The cooperative and the means to act in it, the database and the clock to check and move time."""

    coop: Coop
    env: simcord.Env
    bot: CoopBot
    clock: ManualClock
    db: Database

    @property
    def alice(self) -> simcord.MemberActor:
        return self.coop.members[0]

    @property
    def bob(self) -> simcord.MemberActor:
        return self.coop.members[1]

    @property
    def carol(self) -> simcord.MemberActor:
        return self.coop.members[2]

    @property
    def mo(self) -> simcord.MemberActor:
        return self.coop.moderator

    @property
    def tess(self) -> simcord.MemberActor:
        return self.coop.treasurer

    def add_members(self, *names: str) -> list[simcord.MemberActor]:
        return [
            self.coop.guild.add_member(self.env.create_user(name), roles=[self.coop.member_role])
            for name in names
        ]

    # --- reading ------------------------------------------------------------------------------------

    async def decision(self, decision_id: int) -> Decision:
        async with self.db.read() as session:
            decision = await session.get(Decision, decision_id)
        assert decision is not None
        return decision

    async def votes(self, decision_id: int) -> dict[int, str]:
        async with self.db.read() as session:
            rows = await session.exec(select(Vote).where(Vote.decision_id == decision_id))
            return {vote.voter_id: vote.ballot for vote in rows.all()}

    async def history(self, decision_id: int, voter: simcord.MemberActor) -> list[tuple[str, str | None]]:
        async with self.db.read() as session:
            rows = await session.exec(
                select(VoteEvent)
                .where(VoteEvent.decision_id == decision_id, VoteEvent.voter_id == voter.id)
                .order_by(col(VoteEvent.id))
            )
            return [(event.action, event.ballot) for event in rows.all()]

    async def message(self, decision_id: int) -> discord.Message:
        message: discord.Message = await proposal_message(self.coop, self.db, decision_id)
        return message

    # --- acting -------------------------------------------------------------------------------------

    async def open(self, title: str, **options: Any) -> int:
        """Alice proposes through /proposal new and its modal; returns the new decision's id."""
        done = await propose(self.coop, self.alice, title, closes=CLOSES, **options)
        assert done.ephemeral
        async with self.db.read() as session:
            newest = (await session.exec(select(Decision).order_by(col(Decision.id).desc()))).first()
        assert newest is not None and newest.id is not None and newest.message_id is not None
        assert f"Proposal #{newest.id} is open until" in reply_of(done).content
        return newest.id

    async def click(
        self, member: simcord.MemberActor, decision_id: int, label: str, reason: str | None = None
    ) -> simcord.InteractionResult:
        """Click a position button; with a reason, fill in the reason modal that it opens."""
        shown = await member.click(await self.message(decision_id), label=label)
        if reason is None:
            assert shown.modal is None, shown
            assert shown.ephemeral
            return shown
        assert shown.modal is not None, shown
        submitted = await member.submit_modal(shown, {"reason": reason})
        assert submitted.ephemeral
        return submitted

    async def choose(
        self, member: simcord.MemberActor, decision_id: int, options: list[int]
    ) -> simcord.InteractionResult:
        """Poll: click "Vote", then choose in the ephemeral select."""
        shown = await member.click(await self.message(decision_id), label="Vote")
        assert shown.ephemeral and shown.response is not None, shown
        return await member.select(shown.response, [str(option) for option in options])

    async def fill(
        self, member: simcord.MemberActor, decision_id: int, values: dict[str, str]
    ) -> simcord.InteractionResult:
        """Ranked, score, dot: click "Vote", then fill in the ballot form."""
        shown = await member.click(await self.message(decision_id), label="Vote")
        assert shown.modal is not None, shown
        submitted = await member.submit_modal(shown, values)
        assert submitted.ephemeral
        return submitted

    async def run_due(self) -> None:
        await self.bot.due.run_now()
        await self.env.settle()

    async def close_on_time(self, decision_id: int) -> Decision:
        """Move the clock to just before the closing time (still open), then just after (closed)."""
        closes_at = (await self.decision(decision_id)).closes_at
        self.clock.set(closes_at - timedelta(minutes=1))
        await self.run_due()
        assert (await self.decision(decision_id)).status == DecisionStatus.OPEN
        self.clock.set(closes_at + timedelta(minutes=1))
        await self.run_due()
        decision = await self.decision(decision_id)
        assert decision.status == DecisionStatus.CLOSED
        assert decision.closed_at == closes_at + timedelta(minutes=1)
        return decision

    # --- checking -----------------------------------------------------------------------------------

    async def check_closed(
        self,
        decision_id: int,
        *,
        passed: bool | None,
        result: str,
        counts: list[str],
        mark: str,
        participation: str | None = None,
    ) -> str:
        """The closed decision everywhere: stored row, proposal message, thread, register. Returns the
        thread's result message."""
        decision = await self.decision(decision_id)
        assert decision.status == DecisionStatus.CLOSED
        assert decision.passed is passed
        assert decision.outcome == result

        message = await self.message(decision_id)
        embed = message.embeds[0]
        assert embed.title is not None and embed.title.endswith("(closed)"), embed.title
        shown = fields(message)
        assert "Votes so far" not in shown and "If it closed now" not in shown
        assert shown["Result"] == result
        final_count = shown["Final count"].splitlines()
        for line in counts:
            assert line in final_count, (line, final_count)
        if participation is not None:
            assert shown["Participation"].startswith(participation), shown["Participation"]
        buttons = [
            child
            for row in message.components
            if isinstance(row, discord.ActionRow)
            for child in row.children
            if isinstance(child, discord.Button)
        ]
        assert buttons and all(button.disabled for button in buttons), buttons
        for button in buttons:
            with pytest.raises(simcord.SetupError, match="disabled"):
                await self.bob.click(message, label=button.label)

        threads = [thread for thread in self.coop.governance.threads if thread.id == decision.thread_id]
        assert len(threads) == 1
        announcement = threads[0].last_message
        assert announcement is not None
        text = seen(announcement.content)
        assert text.startswith(f"**#{decision_id} has closed.** {result}"), text
        for line in counts:
            assert line in text.splitlines(), (line, text)
        if participation is not None:
            # The thread gives the participation without the quorum (the result already names it).
            assert f"Participation: {participation.split(' · ')[0]}" in text

        listed = await self.carol.slash(self.coop.governance, "decisions")
        assert listed.ephemeral
        entries = {str(field.name): str(field.value) for field in listed.response.embeds[0].fields}
        entry = seen(entries[f"#{decision_id} · {decision.title}"])
        # The outcome once, after its icon ("❌ Fails: 1 objection stands", not "❌ Failed · Fails: ..."),
        # then when it closed.
        assert entry.startswith(f"{mark} {result} · closed <t:"), entry
        assert "Failed" not in entry and "Passed" not in entry

        await self.check_chart(decision_id, result)
        return text

    async def check_chart(self, decision_id: int, result: str) -> None:
        """/proposal results answers privately with the result and a PNG chart of it."""
        charted = await self.carol.slash(self.coop.governance, "proposal results", proposal=decision_id)
        assert charted.ephemeral
        reply = reply_of(charted)
        assert reply.content == f"#{decision_id}: {result}"
        (attachment,) = reply.attachments
        assert attachment.filename == f"proposal-{decision_id}.png"
        image = Image.open(BytesIO(await attachment.read()))
        assert image.format == "PNG"
        assert image.width > 100 and image.height > 100


@pytest.fixture
def room(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> Room:
    # The extension's modules are imported afresh for every bot, so the cog is found by name, not class.
    cog: Any = simcord_bot.get_cog("Proposals")
    assert cog is not None
    # One edit per proposal message every 2 s spares Discord's rate limits; in a test it would only make
    # each click wait 2 real seconds for the previous click's edit. Every vote is shown at once instead.
    cog.refresher.interval = 0.0
    return Room(configured, simcord_env, simcord_bot, clock, db)


# --- consent ----------------------------------------------------------------------------------------


async def test_consent_with_an_objection_fails(room: Room) -> None:
    number = await room.open("Adopt the new charter", type="consent")

    agreed = await room.click(room.bob, number, "No objection")
    assert "recorded: **No objection**" in agreed.response.content
    # "until it closes, in 3 days": never "until in 3 days".
    assert re.search(r"You can change it until it closes, <t:\d+:R>\.$", agreed.response.content)

    objection = await room.carol.click(await room.message(number), label="Objection")
    assert objection.modal is not None
    assert objection.modal["title"] == f"Objection on #{number}"
    assert await room.votes(number) == {room.bob.id: "no_objection"}  # nothing stored before the reason
    objected = await room.carol.submit_modal(objection, {"reason": "Clause 4 leaves out contractors"})
    assert "recorded: **Objection**" in objected.response.content

    await room.close_on_time(number)
    thread = await room.check_closed(
        number,
        passed=False,
        result="Fails: 1 objection stands.",
        counts=["👌 No objection: **1**", "✋ Objection: **1**"],
        mark=FAILED,
        participation="2 of 5 eligible (40%)",
    )
    assert f"> <@{room.carol.id}> (Objection): Clause 4 leaves out contractors" in thread


# --- the consensus family ---------------------------------------------------------------------------


async def test_consensus_with_a_block_fails(room: Room) -> None:
    number = await room.open("Move to a four-day week", type="consensus")
    await room.click(room.alice, number, "Agree")
    await room.click(room.bob, number, "Disagree")
    blocked = await room.click(room.carol, number, "Block", reason="Our clients need Friday cover")
    assert "recorded: **Block**" in blocked.response.content

    await room.close_on_time(number)
    thread = await room.check_closed(
        number,
        passed=False,
        result="Fails: 1 block.",
        counts=["👍 Agree: **1**", "🤐 Abstain: **0**", "👎 Disagree: **1**", "🛑 Block: **1**"],
        mark=FAILED,
    )
    assert f"> <@{room.carol.id}> (Block): Our clients need Friday cover" in thread


async def test_consensus_without_a_block_passes(room: Room) -> None:
    number = await room.open("Move to a four-day week", type="consensus")
    await room.click(room.alice, number, "Agree")
    await room.click(room.bob, number, "Disagree")
    await room.click(room.carol, number, "Abstain")

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=True,
        result="Passes: no block.",
        counts=["👍 Agree: **1**", "🤐 Abstain: **1**", "👎 Disagree: **1**", "🛑 Block: **0**"],
        mark=PASSED,
        participation="3 of 5 eligible (60%)",
    )


async def test_a_block_needs_a_reason(room: Room) -> None:
    number = await room.open("Move to a four-day week", type="consensus")
    shown = await room.bob.click(await room.message(number), label="Block")
    assert shown.modal is not None
    with pytest.raises(simcord.SetupError):  # the reason is a required field of the modal
        await room.bob.submit_modal(shown, {})
    assert await room.votes(number) == {}


async def test_significant_at_exactly_half_fails(room: Room) -> None:
    number = await room.open("Hire a bookkeeper", type="significant")
    await room.click(room.alice, number, "Agree")
    await room.click(room.bob, number, "Disagree")
    await room.click(room.carol, number, "Abstain")  # an abstention is not a position

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=False,
        result="Fails: 1 of 2 who took a position agree; more than 50% needed.",
        counts=["👍 Agree: **1**", "🤐 Abstain: **1**", "👎 Disagree: **1**", "🛑 Block: **0**"],
        mark=FAILED,
    )


async def test_significant_above_half_passes(room: Room) -> None:
    number = await room.open("Hire a bookkeeper", type="significant")
    await room.click(room.alice, number, "Agree")
    await room.click(room.bob, number, "Agree")
    await room.click(room.carol, number, "Disagree")
    await room.click(room.mo, number, "Abstain")

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=True,
        result="Passes: 2 of 3 who took a position agree (more than 50% needed).",
        counts=["👍 Agree: **2**", "🤐 Abstain: **1**", "👎 Disagree: **1**", "🛑 Block: **0**"],
        mark=PASSED,
    )


@pytest.mark.parametrize(
    ("abstaining", "passed", "result", "mark"),
    [
        (2, True, "Passes: 6 of 8 eligible agree or abstain (75% needed).", PASSED),
        (1, False, "Fails: 5 of 8 eligible agree or abstain; 75% needed.", FAILED),
    ],
)
async def test_quorum_counts_agreement_and_abstention_among_eligible(
    room: Room, abstaining: int, passed: bool, result: str, mark: str
) -> None:
    number = await room.open("Change the pay policy", type="quorum")
    # Joined after the proposal opened: eligibility is counted at the close, so 8 are eligible.
    dave, erin, frank = room.add_members("dave", "erin", "frank")
    for member in (room.alice, room.bob, room.carol, room.mo):
        await room.click(member, number, "Agree")
    for member in (dave, erin)[:abstaining]:
        await room.click(member, number, "Abstain")
    await room.click(frank, number, "Disagree")  # tess does not vote

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=passed,
        result=result,
        counts=["👍 Agree: **4**", f"🤐 Abstain: **{abstaining}**", "👎 Disagree: **1**", "🛑 Block: **0**"],
        mark=mark,
        participation=f"{5 + abstaining} of 8 eligible",
    )


@pytest.mark.parametrize(
    ("agreeing", "passed", "result", "mark"),
    [
        (3, True, "Passes despite 1 block: 3 of 4 who took a position agree (75% needed).", PASSED),
        (2, False, "Fails: 2 of 3 who took a position agree; 75% needed.", FAILED),
    ],
)
async def test_emergency_passes_with_a_block_when_three_quarters_agree(
    room: Room, agreeing: int, passed: bool, result: str, mark: str
) -> None:
    number = await room.open("Remove a member who breached the charter", type="emergency")
    decision = await room.decision(number)
    assert decision.closes_at - decision.opens_at >= timedelta(days=14)  # 10 working days at least
    for member in (room.alice, room.bob, room.carol)[:agreeing]:
        await room.click(member, number, "Agree")
    await room.click(room.mo, number, "Block", reason="They have not been heard yet")

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=passed,
        result=result,
        counts=[f"👍 Agree: **{agreeing}**", "🛑 Block: **1**"],
        mark=mark,
    )


# --- advice and sense check (informational) ---------------------------------------------------------


async def test_advice_is_informational_and_the_proposer_records_the_outcome(room: Room) -> None:
    number = await room.open("Switch banks", type="advice")
    shown = await room.bob.click(await room.message(number), label="Give advice")
    assert shown.modal is not None and shown.modal["title"] == f"Advice on #{number}"
    await room.bob.submit_modal(shown, {"reason": "Ask about their ethical lending"})
    await room.click(room.carol, number, "Give advice", reason="Keep the old account for a month")

    await room.close_on_time(number)
    thread = await room.check_closed(
        number,
        passed=None,
        result="2 pieces of advice given; the proposer decides.",
        counts=["💬 Give advice: **2**"],
        mark=INFORMATIONAL,
    )
    assert f"> <@{room.bob.id}> (Give advice): Ask about their ethical lending" in thread
    assert f"> <@{room.carol.id}> (Give advice): Keep the old account for a month" in thread

    recorded = await room.alice.slash(
        room.coop.governance, "proposal outcome", proposal=number, statement="We move to Kiwibank."
    )
    assert recorded.ephemeral
    assert fields(await room.message(number))["Outcome statement"] == "We move to Kiwibank."
    listed = await room.bob.slash(room.coop.governance, "decisions")
    assert "**Outcome:** We move to Kiwibank." in str(listed.response.embeds[0].fields[0].value)
    assert (await room.decision(number)).passed is None


async def test_sense_check_is_informational(room: Room) -> None:
    number = await room.open("Should we run a winter retreat?", type="sense_check")
    await room.click(room.alice, number, "Looks good")
    await room.click(room.bob, number, "Looks good")
    await room.click(room.carol, number, "Not sure")
    await room.click(room.mo, number, "Concerned")

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Looks good: 2, Not sure: 1, Concerned: 1.",
        counts=["👍 Looks good: **2**", "🤔 Not sure: **1**", "😟 Concerned: **1**"],
        mark=INFORMATIONAL,
        participation="4 of 5 eligible (80%)",
    )


# --- options ----------------------------------------------------------------------------------------


async def test_poll_tie_is_reported_as_a_tie(room: Room) -> None:
    number = await room.open("Which day for the meeting?", type="poll", options="Tuesday;Wednesday;Thursday")
    chosen = await room.choose(room.alice, number, [0])
    assert "recorded: **Tuesday**" in chosen.response.content
    await room.choose(room.bob, number, [1])
    await room.choose(room.carol, number, [0])
    await room.choose(room.mo, number, [1])
    await room.choose(room.tess, number, [2])
    shown = await room.bob.click(await room.message(number), label="Vote")
    with pytest.raises(simcord.SetupError, match="between 1 and 1"):  # one choice only
        await room.bob.select(reply_of(shown), ["0", "2"])

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Tie between Tuesday and Wednesday (2 votes each).",
        # (Thursday's single vote: see test_a_single_vote_is_counted_in_the_singular.)
        counts=["🏆 1. Tuesday — **2** votes", "🏆 2. Wednesday — **2** votes"],
        mark=INFORMATIONAL,
        participation="5 of 5 eligible (100%)",
    )


async def test_poll_with_several_choices(room: Room) -> None:
    number = await room.open("Food for the AGM", type="poll", options="Pizza;Sushi;Tacos", max_choices=2)
    chosen = await room.choose(room.alice, number, [0, 1])
    assert "recorded: **Pizza, Sushi**" in chosen.response.content
    await room.choose(room.bob, number, [1, 2])
    await room.choose(room.carol, number, [1])
    shown = await room.mo.click(await room.message(number), label="Vote")
    with pytest.raises(simcord.SetupError, match="between 1 and 2"):
        await room.mo.select(reply_of(shown), ["0", "1", "2"])
    assert await room.votes(number) == {room.alice.id: "0,1", room.bob.id: "1,2", room.carol.id: "1"}

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Sushi wins with 3 votes.",
        counts=["🏆 2. Sushi — **3** votes"],
        mark=INFORMATIONAL,
        participation="3 of 5 eligible (60%)",
    )


async def test_ranked_winner_comes_from_transfers(room: Room) -> None:
    dave, erin = room.add_members("dave", "erin")
    number = await room.open("Colour of the logo", type="ranked", options="Red;Green;Blue")
    # Red leads on first choices (3), but Green's voters prefer Blue next: Blue wins in round 2, 4 of 7.
    for member in (room.alice, room.bob, room.carol):
        await room.fill(member, number, {"option-0": "1", "option-2": "2"})
    for member in (room.mo, room.tess):
        ranked = await room.fill(member, number, {"option-1": "1", "option-2": "2"})
        assert "recorded: **1. Green, 2. Blue**" in ranked.response.content
    for member in (dave, erin):
        await room.fill(member, number, {"option-2": "1", "option-1": "2", "option-0": ""})
    refused = await room.fill(erin, number, {"option-0": "1", "option-1": "1"})
    assert "different rank" in refused.response.content
    assert (await room.votes(number))[erin.id] == "2,1"

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Blue wins in round 2 with 4 of 7 continuing ballots.",
        counts=[
            "1. Red — **3** first choices · Borda 6",
            "2. Green — **2** first choices · Borda 6",
            "🏆 3. Blue — **2** first choices · Borda 9",
        ],
        mark=INFORMATIONAL,
        participation="7 of 7 eligible (100%)",
    )


async def test_score_shows_totals_and_averages(room: Room) -> None:
    number = await room.open("Venue for the retreat", type="score", options="Marae;Lodge", score_max=5)
    scored = await room.fill(room.alice, number, {"option-0": "5", "option-1": "3"})
    assert "recorded: **Marae: 5, Lodge: 3**" in scored.response.content
    await room.fill(room.bob, number, {"option-0": "2", "option-1": "4"})
    await room.fill(room.carol, number, {"option-0": "4", "option-1": "1"})
    refused = await room.fill(room.mo, number, {"option-0": "6", "option-1": "0"})
    assert refused.response.content == "Scores go from 0 to 5."
    assert room.mo.id not in await room.votes(number)

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Marae wins with 11 points (average 3.7).",
        counts=["🏆 1. Marae — **11** points (average 3.7)", "2. Lodge — **8** points (average 2.7)"],
        mark=INFORMATIONAL,
        participation="3 of 5 eligible (60%)",
    )


async def test_a_score_range_may_go_below_zero(room: Room) -> None:
    # The range must go from a lower to a higher score: refused at /proposal new, before the form.
    refused = await room.alice.slash(
        room.coop.governance, "proposal new", type="score", options="A;B", score_min=2, score_max=2
    )
    assert refused.modal is None and refused.ephemeral
    assert "score" in refused.response.content.lower()

    number = await room.open("Which logo", type="score", options="Fern;Wave", score_min=-2, score_max=2)
    assert number == 1, "the refused range opened nothing"
    shown = await room.alice.click(await room.message(number), label="Vote")
    assert shown.modal is not None
    placeholders = [row["components"][0]["placeholder"] for row in shown.modal["components"]]
    assert placeholders == ["score from -2 to 2", "score from -2 to 2"]
    scored = await room.alice.submit_modal(shown, {"option-0": "-2", "option-1": "2"})
    assert "recorded: **Fern: -2, Wave: 2**" in scored.response.content
    refused = await room.fill(room.bob, number, {"option-0": "-3", "option-1": "0"})
    assert refused.response.content == "Scores go from -2 to 2."
    assert room.bob.id not in await room.votes(number)
    await room.fill(room.bob, number, {"option-0": "1", "option-1": "-1"})
    await room.fill(room.carol, number, {"option-0": "0", "option-1": "1"})

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Wave wins with 2 points (average 0.7).",
        counts=["1. Fern — **-1** points (average -0.3)", "🏆 2. Wave — **2** points (average 0.7)"],
        mark=INFORMATIONAL,
        participation="3 of 5 eligible (60%)",
    )


async def test_dot_over_budget_is_refused_and_most_dots_win(room: Room) -> None:
    number = await room.open("Where the surplus goes", type="dot", options="Garden;Library;Bikes", dots=6)
    spent = await room.fill(room.alice, number, {"option-0": "4", "option-2": "2"})
    assert "recorded: **Garden: 4, Bikes: 2**" in spent.response.content

    refused = await room.fill(room.bob, number, {"option-0": "5", "option-1": "2"})
    assert refused.ephemeral
    assert refused.response.content == "You have 6 dots; this ballot spends 7."
    assert room.bob.id not in await room.votes(number)
    assert await room.history(number, room.bob) == []

    await room.fill(room.bob, number, {"option-1": "6"})
    await room.fill(room.carol, number, {"option-0": "3", "option-1": "3"})

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Library wins with 9 dots.",
        counts=["1. Garden — **7** dots", "🏆 2. Library — **9** dots", "3. Bikes — **2** dots"],
        mark=INFORMATIONAL,
        participation="3 of 5 eligible (60%)",
    )


async def test_ballot_with_more_options_than_a_form_holds_is_typed(room: Room) -> None:
    number = await room.open("Book club picks", type="dot", options="A;B;C;D;E;F")
    shown = await room.alice.click(await room.message(number), label="Vote")
    assert shown.modal is not None
    typed = await room.alice.submit_modal(shown, {"ballot": "1:3, 6:5"})
    assert "recorded: **A: 3, F: 5**" in typed.response.content

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="F wins with 5 dots.",
        counts=["1. A — **3** dots", "🏆 6. F — **5** dots"],
        mark=INFORMATIONAL,
    )


# --- count ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("people_in", "passed", "result", "mark"),
    [
        (3, True, "Passes: 3 in, target of 3 reached.", PASSED),
        (2, False, "Fails: 2 in, 3 needed.", FAILED),
    ],
)
async def test_count_passes_when_the_target_is_reached(
    room: Room, people_in: int, passed: bool, result: str, mark: str
) -> None:
    number = await room.open("Working bee on Saturday", type="count", target=3)
    for member in (room.alice, room.bob, room.carol)[:people_in]:
        joined = await room.click(member, number, "I'm in")
        assert "recorded: **I'm in**" in joined.response.content
    await room.click(room.mo, number, "Not in")

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=passed,
        result=result,
        counts=[f"🙋 I'm in: **{people_in}**", "🙅 Not in: **1**"],
        mark=mark,
    )


# --- changing and withdrawing -----------------------------------------------------------------------


async def test_latest_vote_counts_and_a_withdrawn_vote_does_not(room: Room) -> None:
    number = await room.open("Buy a shared van", type="consensus")

    await room.click(room.bob, number, "Agree")
    await room.click(room.bob, number, "Block", reason="Too expensive this year")
    changed = await room.click(room.bob, number, "Disagree")
    assert "changed to **Disagree**" in changed.response.content
    again = await room.click(room.bob, number, "Disagree")
    assert "You already voted **Disagree**" in again.response.content

    await room.click(room.carol, number, "Agree")
    withdrawn = await room.carol.click(await room.message(number), label="Withdraw my vote")
    assert withdrawn.ephemeral
    assert withdrawn.response.content == f"Your vote on #{number} is withdrawn."
    nothing = await room.carol.click(await room.message(number), label="Withdraw my vote")
    assert nothing.response.content == f"You have no vote on #{number} to withdraw."

    await room.click(room.mo, number, "Agree")
    assert await room.votes(number) == {room.bob.id: "disagree", room.mo.id: "agree"}
    live = fields(await room.message(number))
    assert live["Votes so far"].splitlines() == [
        "👍 Agree: **1**",
        "🤐 Abstain: **0**",
        "👎 Disagree: **1**",
        "🛑 Block: **0**",
    ]
    assert live["Participation"] == "2 of 5 eligible (40%)"
    assert live["If it closed now"] == "Passes: no block."
    assert await room.history(number, room.bob) == [
        ("cast", "agree"),
        ("change", "block"),
        ("change", "disagree"),
    ]
    assert await room.history(number, room.carol) == [("cast", "agree"), ("withdraw", None)]

    await room.close_on_time(number)
    thread = await room.check_closed(
        number,
        passed=True,
        result="Passes: no block.",
        counts=["👍 Agree: **1**", "🤐 Abstain: **0**", "👎 Disagree: **1**", "🛑 Block: **0**"],
        mark=PASSED,
        participation="2 of 5 eligible (40%)",
    )
    assert "Too expensive this year" not in thread  # the block was replaced, its reason with it


# --- settings on top of the type's rule -------------------------------------------------------------


async def test_a_quorum_setting_fails_a_decision_too_few_took_part_in(room: Room) -> None:
    number = await room.open("Adopt the meeting protocol", type="consent", quorum=60)
    assert fields(await room.message(number))["Participation"] == "0 of 5 eligible (0%) · quorum 60%"
    await room.click(room.alice, number, "No objection")
    await room.click(room.bob, number, "No objection")

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=False,
        result="Fails: quorum not reached (2 of 5 took part, 60% needed).",
        counts=["👌 No objection: **2**", "✋ Objection: **0**"],
        mark=FAILED,
        participation="2 of 5 eligible (40%) · quorum 60%",
    )


async def test_hidden_results_show_only_at_the_close(room: Room) -> None:
    number = await room.open(
        "Name of the newsletter", type="poll", options="Kōrero;Dispatch", hide_results=True
    )
    await room.choose(room.alice, number, [1])
    await room.choose(room.bob, number, [1])
    await room.choose(room.carol, number, [0])
    live = fields(await room.message(number))
    assert live["Votes"] == "Hidden until the close."
    assert live["Options"] == "1. Kōrero\n2. Dispatch"
    assert "If it closed now" not in live
    refused = await room.mo.slash(room.coop.governance, "proposal results", proposal=number)
    assert refused.response.content == f"The results of #{number} are hidden until it closes."

    await room.close_on_time(number)
    await room.check_closed(
        number,
        passed=None,
        result="Dispatch wins with 2 votes.",
        counts=["🏆 2. Dispatch — **2** votes"],
        mark=INFORMATIONAL,
    )


async def test_only_eligible_members_can_vote(room: Room) -> None:
    number = await room.open("Adopt the new charter", type="consent")
    for outsider in (room.coop.visitor, room.coop.contributor):
        refused = await outsider.click(await room.message(number), label="No objection")
        assert refused.ephemeral
        assert refused.response.content == (
            f"Only people with the <@&{room.coop.member_role.id}> role can vote on #{number}."
        )
    assert await room.votes(number) == {}


@pytest.mark.parametrize(
    ("kind", "too_soon", "earliest", "working_days"),
    [
        ("consensus", "4d", "5d", 3),  # Thursday evening in Auckland + 3 working days: Tuesday evening
        ("significant", "6d", "1w", 5),
        ("quorum", "6d", "1w", 5),
        ("emergency", "13d", "2w", 10),
    ],
)
async def test_enspiral_types_stay_open_their_working_days(
    room: Room, kind: str, too_soon: str, earliest: str, working_days: int
) -> None:
    refused = await room.alice.slash(room.coop.governance, "proposal new", type=kind, closes=too_soon)
    assert refused.modal is None
    assert refused.ephemeral
    assert f"stays open at least {working_days} working days" in refused.response.content
    accepted = await room.alice.slash(room.coop.governance, "proposal new", type=kind, closes=earliest)
    assert accepted.modal is not None, accepted


async def test_a_single_vote_is_counted_in_the_singular(room: Room) -> None:
    """The final count reads like the outcome does: "1 vote", not "1 votes" (the same wording is used for
    dots, points and first choices)."""
    number = await room.open("Which day?", type="poll", options="Tuesday;Wednesday")
    await room.choose(room.alice, number, [0])

    await room.close_on_time(number)
    assert (await room.decision(number)).outcome == "Tuesday wins with 1 vote."
    final_count = fields(await room.message(number))["Final count"].splitlines()
    assert "🏆 1. Tuesday — **1** vote" in final_count, final_count


async def test_anonymous_decision_keeps_counts_and_reasons_without_names(room: Room) -> None:
    number = await room.open("Review the steward's pay", type="consensus", anonymous=True)
    await room.click(room.alice, number, "Agree")
    await room.click(room.bob, number, "Block", reason="We should hear the steward first")

    await room.close_on_time(number)
    thread = await room.check_closed(
        number,
        passed=False,
        result="Fails: 1 block.",
        counts=["👍 Agree: **1**", "🛑 Block: **1**"],
        mark=FAILED,
        participation="2 of 5 eligible (40%)",
    )
    assert "> Someone (Block): We should hear the steward first" in thread
    assert str(room.bob.id) not in thread and str(room.alice.id) not in thread
    assert await room.votes(number) == {}
    assert await room.history(number, room.bob) == []
    assert (await room.message(number)).embeds[
        0
    ].footer.text == "Anonymous: choices are never shown with names"


async def test_a_vote_after_the_closing_time_is_not_counted(room: Room) -> None:
    number = await room.open("Working bee on Saturday", type="count", target=2)
    await room.click(room.alice, number, "I'm in")
    message = await room.message(number)
    room.clock.set((await room.decision(number)).closes_at)  # the closing second, before the close has run
    late = await room.bob.click(message, label="I'm in")
    assert late.ephemeral
    assert late.response.content == f"Voting on proposal #{number} has closed."

    await room.run_due()
    await room.check_closed(
        number,
        passed=False,
        result="Fails: 1 in, 2 needed.",
        counts=["🙋 I'm in: **1**", "🙅 Not in: **0**"],
        mark=FAILED,
    )


# --- refusals -----------------------------------------------------------------------------------------


async def test_a_refusal_is_an_ordinary_answer_for_a_command_a_select_and_a_form(room: Room) -> None:
    """A refused command, select and form each end as an answered interaction: the member reads the short
    private refusal, and nothing reaches the error path (which SimCord's page shows as a failed action)."""
    completed: list[str] = []

    async def on_app_command_completion(interaction: discord.Interaction[Any], command: Any) -> None:
        completed.append(command.qualified_name)

    room.bot.add_listener(on_app_command_completion)
    cursor = room.env.error_cursor

    command = await room.coop.visitor.slash(room.coop.governance, "proposal new", type="consent")
    assert command.ephemeral
    assert command.response.content.startswith("Only members")
    assert completed == ["proposal new"]

    dots = await room.open("Where the surplus goes", type="dot", options="Garden;Library", dots=2)
    form = await room.fill(room.bob, dots, {"option-0": "3"})
    assert form.ephemeral
    assert form.response.content == "You have 2 dots; this ballot spends 3."

    poll = await room.open("When to meet", type="poll", options="Tuesday;Thursday")
    shown = await room.carol.click(await room.message(poll), label="Vote")
    assert shown.response is not None
    await room.close_on_time(poll)
    select = await room.carol.select(shown.response, ["0"])
    assert select.ephemeral
    assert "closed" in reply_of(select).content
    assert room.carol.id not in await room.votes(poll)

    assert room.env.errors_since(cursor) == ()


async def test_a_poll_tally_keeps_its_numbers_and_shows_markdown_as_typed(room: Room) -> None:
    """Lines that start "1.", "2." are a numbered list to Discord, which renumbers them (a 🏆 line breaks
    the list); options that look like Markdown would be bolded, linked or made a heading. The tally writes
    its numbers and the options so that Discord shows them as written."""
    options = ["1. Tuesday", "**Wednesday**", "[Thursday](https://example.com)", "# Friday"]
    number = await room.open("Which day?", type="poll", options=";".join(options))
    await room.choose(room.alice, number, [2])
    await room.choose(room.bob, number, [0])
    await room.choose(room.bob, number, [2])  # a vote changed: the tally is edited
    raw = (await room.message(number)).embeds[0].fields
    tally = next(str(field.value) for field in raw if field.name == "Votes so far")
    lines = tally.splitlines()
    # Nothing Markdown would read as a list, a heading, bold or a link.
    assert not [line for line in lines if re.match(r"^\s*(\d+[.)]\s|#|[-*+] )", line)], lines
    assert re.search(r"(?<!\\)\[", tally) is None, tally  # every "[" escaped: no link
    assert "\\*\\*Wednesday\\*\\*" in tally  # the asterisks escaped: not bold
    assert [seen(line) for line in lines] == [
        "1. 1. Tuesday — **0** votes",
        "2. **Wednesday** — **0** votes",
        "🏆 3. [Thursday](https://example.com) — **2** votes",
        "4. # Friday — **0** votes",
    ]


async def test_a_visitor_is_refused_at_the_click_not_after_choosing(room: Room) -> None:
    """The Vote button of a poll opens a select only for those who may vote; an objection's form likewise."""
    number = await room.open("Which day?", type="poll", options="Tuesday;Wednesday")
    visitor = room.coop.visitor
    clicked = await visitor.click(await room.message(number), label="Vote")
    assert clicked.ephemeral and clicked.response is not None, clicked
    assert clicked.response.content.startswith("Only people with the"), clicked.response.content
    assert not clicked.response.components  # no select to pick from
    consent = await room.open("Paint the door", type="consent")
    objected = await visitor.click(await room.message(consent), label="Objection")
    assert objected.modal is None and objected.response is not None, objected
    assert objected.response.content.startswith("Only people with the"), objected.response.content
