"""Proposals and decisions, as members use them in Discord (SimCord)."""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest
import simcord
from sqlmodel import select

from bot import CoopBot, create_bot
from config import Settings
from governance.clock import ManualClock
from storage.database import Database
from storage.models import AuditEvent, Decision, Vote, VoteEvent
from tests.cogs.helpers import fields, proposal_message, propose, refusal
from tests.conftest import Coop, build_coop, configure, restart


def assert_no_mass_mentions(env: simcord.Env) -> None:
    """Every message the bot sent may ping users at most: never everyone, here or a role."""
    sent = 0
    for request in env.http_requests:
        body = request.json if isinstance(request.json, dict) else {}
        payload = body.get("data", body) if isinstance(body.get("data"), dict) else body
        if "content" not in payload and "embeds" not in payload:
            continue
        sent += 1
        mentions = payload.get("allowed_mentions")
        assert mentions is not None, request.path
        assert set(mentions.get("parse", [])) <= {"users"}, request.path
        assert not mentions.get("roles"), request.path
    assert sent > 0


async def test_consent_proposal_is_posted_voted_and_closed(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    done = await propose(
        coop, coop.alice, "Adopt the new charter", "Text at https://example.org", closes="3d"
    )
    assert done.ephemeral
    posted = await proposal_message(coop, db, 1)
    assert posted.embeds[0].title.startswith("#1 · Adopt the new charter")

    vote = await coop.members[1].click(posted, label="No objection")
    assert vote.ephemeral
    assert "No objection" in vote.response.content

    posted = await proposal_message(coop, db, 1)
    assert "No objection: **1**" in fields(posted)["Votes so far"]

    clock.advance(timedelta(days=3, minutes=1))
    await simcord_bot.due.run_now()
    await simcord_env.settle()

    closed = await proposal_message(coop, db, 1)
    assert "(closed)" in closed.embeds[0].title
    assert fields(closed)["Result"].startswith("Passes")


async def _decision(db: Database, decision_id: int) -> Decision:
    async with db.read() as session:
        decision = await session.get(Decision, decision_id)
    assert decision is not None
    return decision


async def _votes(db: Database, decision_id: int) -> dict[int, str]:
    async with db.read() as session:
        rows = await session.exec(select(Vote).where(Vote.decision_id == decision_id))
        return {vote.voter_id: vote.ballot for vote in rows.all()}


async def test_open_decision_survives_a_restart_and_closes_on_time(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Move the retreat to March", type="consensus", closes="1w")
    await coop.members[1].click(await proposal_message(coop, db, 1), label="Agree")

    bot = await restart(simcord_env, settings, clock)

    # The buttons of the message posted before the restart still work.
    again = await coop.members[2].click(await proposal_message(coop, db, 1), label="Agree")
    assert "Agree" in again.response.content
    assert await _votes(db, 1) == {coop.members[1].id: "agree", coop.members[2].id: "agree"}

    clock.advance(timedelta(weeks=1))
    await bot.due.run_now()
    await simcord_env.settle()
    decision = await _decision(db, 1)
    assert decision.status == "closed" and decision.passed is True
    # Eligibility is counted from the member list after the restart too (5 hold the member role).
    assert decision.result is not None and decision.result["eligible"] == 5
    assert "(closed)" in (await proposal_message(coop, db, 1)).embeds[0].title


async def test_decision_due_while_the_bot_was_down_closes_once_at_start_up(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Buy a projector", type="consent", closes="2d")
    old = simcord_env.bot
    assert isinstance(old, CoopBot)
    await old.close()
    clock.advance(timedelta(days=3))  # the bot is down when the decision comes due

    fresh = create_bot(settings, clock=clock, guild_ready_timeout=0.05)
    await simcord_env.restart_bot(fresh)
    await simcord_env.settle()

    decision = await _decision(db, 1)
    assert decision.status == "closed" and decision.passed is True
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    closing_posts = [m for m in thread.history() if m.content.startswith("**#1 has closed.**")]
    assert len(closing_posts) == 1
    # A second start (or a retry) finds nothing left to do.
    await fresh.due.run_now()
    await simcord_env.settle()
    assert len([m for m in thread.history() if m.content.startswith("**#1 has closed.**")]) == 1


async def test_vote_refusals_change_nothing(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Paint the office", type="consensus", closes="1w")
    message = await proposal_message(coop, db, 1)

    # Not eligible: a contributor cannot vote on a member decision.
    refused = await refusal(await coop.contributor.click(message, label="Agree"))
    assert "role can vote" in refused
    # A block needs a reason: the modal asks for one, and an empty one is not accepted by Discord; a typed
    # block without a reason is refused by the bot.
    refused = await refusal(
        await coop.members[1].slash(coop.governance, "proposal vote", proposal=1, choice="block")
    )
    assert "needs a reason" in refused
    # An unknown proposal number, and a decision that does not exist here.
    refused = await refusal(
        await coop.members[1].slash(coop.governance, "proposal vote", proposal=99, choice="agree")
    )
    assert refused == "There is no proposal #99 in this server."
    assert await _votes(db, 1) == {}

    # After the closing time, even before the close ran.
    clock.advance(timedelta(weeks=1, seconds=1))
    refused = await refusal(await coop.members[1].click(message, label="Agree"))
    assert "has closed" in refused
    assert await _votes(db, 1) == {}


async def test_cancelled_decision_takes_no_votes(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Rename the coop", type="consent", closes="3d")
    message = await proposal_message(coop, db, 1)

    refused = await refusal(await coop.members[1].slash(coop.governance, "proposal cancel", proposal=1))
    assert "Only the author" in refused
    done = await coop.alice.slash(coop.governance, "proposal cancel", proposal=1, reason="Superseded")
    assert "cancelled" in done.response.content

    message = await proposal_message(coop, db, 1)
    assert "(cancelled)" in message.embeds[0].title
    with pytest.raises(simcord.SetupError, match="disabled"):
        await coop.members[1].click(message, label="No objection")
    refused = await refusal(
        await coop.members[1].slash(coop.governance, "proposal vote", proposal=1, choice="no objection")
    )
    assert "cancelled" in refused
    assert await _votes(db, 1) == {}


async def test_another_cooperatives_decision_is_invisible(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Internal matter", type="consent", closes="3d")
    other = build_coop(simcord_env, name="Other Collective")
    await configure(other, db, clock)

    for command, options in [
        ("proposal vote", {"choice": "objection", "reason": "no"}),
        ("proposal show", {}),
        ("proposal close", {}),
        ("proposal cancel", {}),
        ("proposal results", {}),
    ]:
        refused = await refusal(await other.moderator.slash(other.governance, command, proposal=1, **options))
        assert refused == "There is no proposal #1 in this server."
    decision = await _decision(db, 1)
    assert decision.status == "open"
    assert await _votes(db, 1) == {}


async def test_proposal_option_refusals(configured: Coop, simcord_env: simcord.Env, db: Database) -> None:
    coop = configured
    # Shorter than the type's minimum (significant: 5 working days in Pacific/Auckland).
    refused = await refusal(
        await coop.alice.slash(coop.governance, "proposal new", type="significant", closes="1d")
    )
    assert "working days" in refused and "<t:" in refused
    # A poll needs options, and more choices than options makes no sense.
    refused = await refusal(
        await coop.alice.slash(coop.governance, "proposal new", type="poll", options="Only one", closes="3d")
    )
    assert "option" in refused.lower()
    # A visitor cannot propose.
    refused = await refusal(await coop.visitor.slash(coop.governance, "proposal new", type="consent"))
    assert "members" in refused
    async with db.read() as session:
        assert (await session.exec(select(Decision))).all() == []


async def test_a_poll_without_options_asks_for_them_in_the_form(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    shown = await coop.alice.slash(coop.governance, "proposal new", type="poll", max_choices=2, closes="3d")
    assert shown.modal is not None, shown.response
    labels = [row["components"][0]["label"] for row in shown.modal["components"]]
    assert labels == ["Title", "Details", "Options, one per line"]
    # One option is not a poll: refused, nothing opened.
    refused = await refusal(await coop.alice.submit_modal(shown, {"title": "Lunch", "options": "Soup\n  \n"}))
    assert "between 2 and 20 options" in refused
    async with db.read() as session:
        assert (await session.exec(select(Decision))).all() == []
    # Two choices of three options, from the form.
    shown = await coop.alice.slash(coop.governance, "proposal new", type="poll", max_choices=2, closes="3d")
    done = await coop.alice.submit_modal(shown, {"title": "Lunch", "options": "Soup\n\nSalad \nPie"})
    assert done.response is not None and "is open until" in done.response.content, done
    decision = await _decision(db, 1)
    # In Discord the confirmation links to the posted proposal.
    link = f"https://discord.com/channels/{coop.guild.id}/{decision.channel_id}/{decision.message_id}"
    assert done.response.content.endswith(link), done.response.content
    assert (decision.kind, decision.options, decision.max_choices) == ("poll", ["Soup", "Salad", "Pie"], 2)


async def test_too_many_poll_choices_and_dots_over_budget(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    await propose(
        coop, coop.alice, "Lunch", type="poll", options="Soup;Salad;Pie", closes="3d", max_choices=2
    )
    refused = await refusal(
        await coop.members[1].slash(coop.governance, "proposal vote", proposal=1, choice="1, 2, 3")
    )
    assert "at most 2" in refused
    await propose(coop, coop.alice, "Budget", type="dot", options="Tools;Books;Food", closes="3d", dots=5)
    shown = await coop.members[1].click(await proposal_message(coop, db, 2), label="Vote")
    refused = await refusal(await coop.members[1].submit_modal(shown, {"option-0": "4", "option-1": "3"}))
    assert "5 dots" in refused
    assert await _votes(db, 1) == {} and await _votes(db, 2) == {}


async def test_long_title_is_refused_by_discord_and_mentions_never_ping(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    shown = await coop.alice.slash(coop.governance, "proposal new", type="consent")
    with pytest.raises(simcord.SetupError):
        await coop.alice.submit_modal(shown, {"title": "x" * 300})

    title = f"Thank @everyone and @here and <@&{coop.member_role.id}>"
    await propose(coop, coop.alice, title, f"Ping <@&{coop.member_role.id}> @everyone", type="consent")
    assert_no_mass_mentions(simcord_env)
    message = await proposal_message(coop, db, 1)
    assert message.embeds[0].title.startswith("#1 · Thank @everyone")
    assert not message.mention_everyone and not message.role_mentions


async def test_anonymous_decision_keeps_no_link_between_voter_and_choice(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Salary bands", type="consent", closes="3d", anonymous=True)
    message = await proposal_message(coop, db, 1)
    await coop.members[1].click(message, label="No objection")
    shown = await coop.members[2].click(message, label="Objection")
    await coop.members[2].submit_modal(shown, {"reason": "Too steep"})

    clock.advance(timedelta(days=3, minutes=1))
    await simcord_bot.due.run_now()
    await simcord_env.settle()

    decision = await _decision(db, 1)
    assert decision.passed is False
    assert decision.result is not None and decision.result["ballot_counts"] == {
        "no_objection": 1,
        "objection": 1,
    }
    assert await _votes(db, 1) == {}
    async with db.read() as session:
        assert (await session.exec(select(VoteEvent).where(VoteEvent.decision_id == 1))).all() == []
        events = (await session.exec(select(AuditEvent))).all()
    voter_ids = {str(coop.members[1].id), str(coop.members[2].id)}
    assert not any(voter in str(event.details) for event in events for voter in voter_ids)
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    posted = "\n".join(m.content for m in thread.history())
    assert "Too steep" in posted
    assert not any(voter in posted for voter in voter_ids)
    refused = await refusal(
        await coop.moderator.slash(coop.governance, "proposal reopen", proposal=1, closes="2d")
    )
    assert "anonymous" in refused


async def _reasons(db: Database, decision_id: int) -> dict[int, tuple[str, str | None]]:
    async with db.read() as session:
        rows = await session.exec(select(Vote).where(Vote.decision_id == decision_id))
        return {vote.voter_id: (vote.ballot, vote.reason) for vote in rows.all()}


async def test_a_decision_can_ask_every_voter_for_a_reason(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    bob, carol = coop.members[1], coop.members[2]
    await propose(coop, coop.alice, "Open the books", type="consent", closes="3d", reasons_required=True)
    message = await proposal_message(coop, db, 1)
    assert fields(message)["Reasons"] == "Asked of every voter: each vote comes with one."

    # Even "No objection" asks for the reason first; nothing is stored until the form is sent.
    shown = await bob.click(message, label="No objection")
    assert shown.modal is not None, shown
    assert shown.modal["title"] == "No objection on #1"
    assert await _votes(db, 1) == {}
    done = await bob.submit_modal(shown, {"reason": "Members should see where the money goes"})
    assert done.ephemeral and "recorded: **No objection**" in done.response.content
    assert await _reasons(db, 1) == {bob.id: ("no_objection", "Members should see where the money goes")}

    # Typed without a reason: refused, nothing stored.
    refused = await refusal(
        await carol.slash(coop.governance, "proposal vote", proposal=1, choice="no objection")
    )
    assert refused == "Proposal #1 asks every voter for a reason: add one to your vote."
    assert set(await _votes(db, 1)) == {bob.id}


async def test_a_poll_cannot_ask_every_voter_for_a_reason(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    shown = await coop.alice.slash(
        coop.governance, "proposal new", type="poll", options="Soup;Pie", closes="3d", reasons_required=True
    )
    assert shown.modal is None
    refused = await refusal(shown)
    assert refused.startswith("Reasons can be required where voters take a position, not in a poll vote")
    async with db.read() as session:
        assert (await session.exec(select(Decision))).all() == []


async def test_buttons_posted_before_reasons_could_be_required_still_vote(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    """A proposal message from before the custom ids said whether a reason is asked: its plain position
    votes at once, its objection still asks for the reason."""
    coop = configured
    await propose(coop, coop.alice, "Buy a kettle", type="consent", closes="3d")
    old_view = discord.ui.View(timeout=None)
    for key, label in [("no_objection", "No objection"), ("objection", "Objection")]:
        old_view.add_item(discord.ui.Button(label=label, custom_id=f"coop:vote:1:{key}"))
    channel = simcord_bot.get_channel(coop.governance.id)
    assert isinstance(channel, discord.TextChannel)
    old = await channel.send("#1, as posted by an older version", view=old_view)
    posted = next(m for m in coop.governance.history() if m.id == old.id)

    voted = await coop.members[1].click(posted, label="No objection")
    assert voted.modal is None and "recorded: **No objection**" in voted.response.content
    shown = await coop.members[2].click(posted, label="Objection")
    assert shown.modal is not None and shown.modal["title"] == "Objection on #1"
    await coop.members[2].submit_modal(shown, {"reason": "We have one"})
    assert await _reasons(db, 1) == {
        coop.members[1].id: ("no_objection", None),
        coop.members[2].id: ("objection", "We have one"),
    }


async def test_a_close_done_at_start_up_says_it_is_late(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Buy a projector", type="consent", closes="2d")
    await propose(coop, coop.alice, "Buy a screen", type="consent", closes="2d")
    closes_at = (await _decision(db, 1)).closes_at
    # #2 is closed early by its author: never late, whenever it is announced.
    await coop.alice.slash(coop.governance, "proposal close", proposal=2)
    old = simcord_env.bot
    assert isinstance(old, CoopBot)
    await old.close()
    clock.set(closes_at + timedelta(hours=3))  # the bot is down when #1 comes due

    await simcord_env.restart_bot(create_bot(settings, clock=clock, guild_ready_timeout=0.05))
    await simcord_env.settle()

    decision = await _decision(db, 1)
    assert decision.closed_at == closes_at + timedelta(hours=3)
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    (post,) = [m for m in thread.history() if m.content.startswith("**#1 has closed.**")]
    assert post.content.splitlines()[:2] == [
        f"**#1 has closed.** {decision.outcome}",
        "⏰ Closed 3 hours after its closing time: I was offline when it came due.",
    ]
    early = await _decision(db, 2)
    early_thread = next(t for t in coop.governance.threads if t.id == early.thread_id)
    (early_post,) = [m for m in early_thread.history() if m.content.startswith("**#2 has closed.**")]
    assert "⏰" not in early_post.content and "offline" not in early_post.content


async def test_proposal_show_gives_every_reason_in_full_a_page_at_a_time(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Four-day week", type="consensus", closes="1w")
    voters = [*coop.members, coop.treasurer, coop.moderator]
    reasons = {voter.id: f"Reason {n}: " + "so much to say " * 70 for n, voter in enumerate(voters)}
    reasons = {voter: reason[:999] + "!" for voter, reason in reasons.items()}  # 1,000: the most allowed
    for voter in voters:
        done = await voter.slash(
            coop.governance, "proposal vote", proposal=1, choice="disagree", reason=reasons[voter.id]
        )
        assert "recorded" in done.response.content
        clock.advance(timedelta(minutes=1))
    clock.advance(timedelta(weeks=1))
    await simcord_bot.due.run_now()
    await simcord_env.settle()
    decision = await _decision(db, 1)
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    posted = thread.last_message.content.splitlines()
    assert f"> <@{coop.alice.id}> (Disagree): {reasons[coop.alice.id][:299].rstrip()}…" in posted
    assert posted[-1] == "-# Reasons are shortened here: /proposal show #1 gives them in full."

    shown = await coop.contributor.slash(coop.governance, "proposal show", proposal=1)
    assert shown.ephemeral and shown.response.embeds[0].title.startswith("#1 · Four-day week")
    (page,) = shown.followups
    seen: list[str] = []
    for number in (1, 2):
        embed = page.embeds[0]
        assert embed.title == "Reasons given on #1"
        assert embed.footer.text == f"Page {number} of 2"
        assert embed.description is not None and len(embed.description) <= 4096
        seen.extend(embed.description.splitlines())
        if number == 1:
            turned = await coop.contributor.click(page, label="Next")
            assert turned.response is not None
            page = turned.response
    assert seen == [f"> <@{voter.id}> (Disagree): {reasons[voter.id]}" for voter in voters]


async def test_proposal_show_gives_an_anonymous_decisions_reasons_without_names(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Salary bands", type="consent", closes="3d", anonymous=True)
    bob, carol = coop.members[1], coop.members[2]
    await bob.slash(coop.governance, "proposal vote", proposal=1, choice="objection", reason="Too steep")
    await carol.slash(coop.governance, "proposal vote", proposal=1, choice="no objection", reason="Fair")

    shown = await coop.alice.slash(coop.governance, "proposal show", proposal=1)
    (page,) = shown.followups
    embed = page.embeds[0]
    # Sorted by choice and text, as at the close: the order says nothing about who voted first.
    assert embed.description.splitlines() == [
        "> Someone (No objection): Fair",
        "> Someone (Objection): Too steep",
    ]
    assert embed.footer.text == "Anonymous: reasons are shown without names"
    assert not page.components
    assert str(bob.id) not in str(embed.to_dict()) and str(carol.id) not in str(embed.to_dict())
