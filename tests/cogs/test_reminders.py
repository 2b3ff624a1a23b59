"""Reminders as members meet them in Discord: closing-soon nudges, channel reminders, personal reminders,
the digest — each at its time, once, to the right people, across restarts."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import discord
import simcord
from sqlmodel import select

from bot import CoopBot, create_bot
from config import Settings
from governance.clock import ManualClock
from storage.database import Database
from storage.models import Decision, Reminder
from tests.cogs.helpers import proposal_message, propose, refusal
from tests.conftest import Coop, allow_command, restart

NZ = ZoneInfo("Pacific/Auckland")


async def _decision(db: Database, decision_id: int) -> Decision:
    async with db.read() as session:
        decision = await session.get(Decision, decision_id)
    assert decision is not None
    return decision


def _thread_posts(coop: Coop, decision: Decision, starting: str) -> list:
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    return [message for message in thread.history() if message.content.startswith(starting)]


async def _tick(bot: CoopBot, env: simcord.Env) -> None:
    await bot.due.run_now()
    await env.settle()


async def test_closing_soon_mentions_only_those_who_have_not_voted_once(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Switch banks", type="consent", closes="3d")
    await coop.members[1].click(await proposal_message(coop, db, 1), label="No objection")
    decision = await _decision(db, 1)

    clock.set(decision.closes_at - timedelta(hours=24, minutes=1))
    await _tick(simcord_bot, simcord_env)
    assert _thread_posts(coop, decision, "⏰") == []

    clock.set(decision.closes_at - timedelta(hours=23))
    await _tick(simcord_bot, simcord_env)
    await _tick(simcord_bot, simcord_env)
    posts = _thread_posts(coop, decision, "⏰")
    assert len(posts) == 1
    reminded = {user.id for user in posts[0].mentions}
    assert reminded == {coop.alice.id, coop.members[2].id, coop.moderator.id, coop.treasurer.id}
    assert coop.members[1].id not in reminded
    assert not posts[0].mention_everyone and not posts[0].role_mentions


async def test_a_decision_shorter_than_the_lead_is_nudged_halfway(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Order lunch", type="consent", closes="12h")
    decision = await _decision(db, 1)
    clock.set(decision.closes_at - timedelta(hours=6, minutes=1))
    await _tick(simcord_bot, simcord_env)
    assert _thread_posts(coop, decision, "⏰") == []
    clock.set(decision.closes_at - timedelta(hours=6))
    await _tick(simcord_bot, simcord_env)
    clock.set(decision.closes_at - timedelta(hours=1))
    await _tick(simcord_bot, simcord_env)
    assert len(_thread_posts(coop, decision, "⏰")) == 1


async def test_author_reminds_on_demand_and_others_may_not(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "New logo", type="consent", closes="3d")
    refused = await refusal(await coop.members[1].slash(coop.governance, "proposal remind", proposal=1))
    assert "Only the author" in refused

    done = await coop.alice.slash(
        coop.governance, "proposal remind", proposal=1, message="Please have a look!"
    )
    assert "Reminded 5 people" in done.response.content
    posts = _thread_posts(coop, await _decision(db, 1), "⏰")
    assert len(posts) == 1 and "Please have a look!" in posts[0].content

    # Each reminder pings everyone who has not voted: not again within LIMIT_REMIND_HOURS (6), whoever asks.
    clock.advance(timedelta(hours=2))
    for who in (coop.alice, coop.moderator):
        refused = await refusal(await who.slash(coop.governance, "proposal remind", proposal=1))
        assert refused.startswith("The voters of #1 were reminded less than 6 hours ago. Try again <t:")
    assert len(_thread_posts(coop, await _decision(db, 1), "⏰")) == 1
    clock.advance(timedelta(hours=4))
    again = await coop.alice.slash(coop.governance, "proposal remind", proposal=1)
    assert "Reminded 5 people" in again.response.content
    assert len(_thread_posts(coop, await _decision(db, 1), "⏰")) == 2


async def test_channel_reminder_fires_weekly_at_local_time_once_and_survives_a_restart(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await allow_moderators(coop)
    added = await coop.moderator.slash(
        coop.governance,
        "reminder add",
        channel=coop.governance,
        message="Weekly check-in: review open proposals",
        schedule="every monday 09:00",
    )
    assert "every Monday at 09:00" in added.response.content
    async with db.read() as session:
        reminder = (await session.exec(select(Reminder))).one()
    assert reminder.next_run_at is not None
    assert reminder.next_run_at.astimezone(NZ).replace(tzinfo=None) == datetime(2026, 11, 30, 9, 0)

    bot = await restart(simcord_env, settings, clock)
    clock.set(reminder.next_run_at)
    await _tick(bot, simcord_env)
    bot = await restart(simcord_env, settings, clock)  # restarted right after the send: no second one
    await _tick(bot, simcord_env)
    posted = [m for m in coop.governance.history() if m.content.startswith("🔔 Weekly check-in")]
    assert len(posted) == 1
    assert "Late" not in posted[0].content

    async with db.read() as session:
        reminder = (await session.exec(select(Reminder))).one()
    assert reminder.next_run_at is not None
    assert reminder.next_run_at.astimezone(NZ).replace(tzinfo=None) == datetime(2026, 12, 7, 9, 0)


async def allow_moderators(coop: Coop) -> None:
    await allow_command(coop, "reminder", coop.moderator_role)


async def test_reminder_refusals_store_nothing(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    await allow_moderators(coop)
    await allow_command(coop, "reminder", coop.member_role)
    cases = [
        (coop.moderator, {"schedule": "whenever you like"}, "every"),
        (coop.moderator, {"schedule": "every monday 25:00"}, ""),
        (coop.moderator, {"schedule": "every monday 09:00", "message": "x" * 1900}, "1800"),
        (coop.alice, {"schedule": "every monday 09:00"}, "Only moderators"),
    ]
    for actor, options, expected in cases:
        arguments = {"channel": coop.governance, "message": "Hello", **options}
        refused = await refusal(await actor.slash(coop.governance, "reminder add", **arguments))
        assert expected in refused
    refused = await refusal(
        await coop.alice.slash(coop.governance, "remind me", when="yesterday 9:00", what="x")
    )
    assert "past" in refused or "couldn't" in refused.lower()
    async with db.read() as session:
        assert (await session.exec(select(Reminder))).all() == []


async def test_personal_reminder_by_dm_and_by_mention_when_dms_are_closed(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    done = await coop.alice.slash(coop.governance, "remind me", when="in 2h", what="Call the bank")
    assert "I'll remind you" in done.response.content
    await coop.members[1].slash(coop.governance, "remind me", when="in 3h", what="Send the minutes")

    clock.advance(timedelta(hours=2))
    await _tick(simcord_bot, simcord_env)
    assert [m.content for m in coop.alice.user.dm_channel.history()] == [
        "⏰ You asked me to remind you: Call the bank"
    ]

    # Bob's DMs are closed: the reminder comes as a mention where he set it.
    bob_dms = coop.members[1].user.dm_channel
    for path in ("/users/@me/channels", f"/channels/{bob_dms.id}/messages"):
        simcord_env.inject_error(
            "POST", path, status=403, code=50007, message="Cannot send messages to this user"
        )
    clock.advance(timedelta(hours=1))
    await _tick(simcord_bot, simcord_env)
    fallback = [m for m in coop.governance.history() if "Send the minutes" in m.content]
    assert len(fallback) == 1
    assert [user.id for user in fallback[0].mentions] == [coop.members[1].id]


async def test_a_personal_reminder_due_at_start_up_goes_by_dm_though_no_member_is_cached_yet(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    """Due while the bot was down, delivered at start-up before the members are known (a bot that does not
    chunk at start, as a large one does): it still goes by DM, never as a mention in the channel."""
    coop = configured
    await coop.alice.slash(coop.governance, "remind me", when="in 2h", what="water the seedlings")
    old = simcord_env.bot
    assert isinstance(old, CoopBot)
    await old.close()
    clock.advance(timedelta(hours=3))
    cold = create_bot(settings, clock=clock, guild_ready_timeout=0.05, chunk_guilds_at_startup=False)
    await simcord_env.restart_bot(cold)
    await simcord_env.settle()

    guild = cold.get_guild(coop.guild.id)
    assert guild is not None and not guild.chunked  # the cache was cold when the reminder went out
    said = [m.content for m in coop.alice.user.dm_channel.history()]
    assert len(said) == 1 and said[0].startswith("⏰ You asked me to remind you: water the seedlings")
    assert not [m for m in coop.governance.history() if "water the seedlings" in m.content]


async def test_digest_posts_the_state_of_the_cooperative(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    settings: Settings,
    clock: ManualClock,
    db: Database,
) -> None:
    coop = configured
    await allow_moderators(coop)
    await propose(coop, coop.alice, "Adopt a budget", type="consent", closes="1w")
    await coop.members[1].click(await proposal_message(coop, db, 1), label="No objection")
    # A time that is not one is refused in the moderator's own words, and sets nothing.
    refused = await coop.moderator.slash(
        coop.governance, "reminder digest", channel=coop.welcome, day=0, time="25:00"
    )
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content.startswith("“25:00” isn't a time of day"), refused.response
    done = await coop.moderator.slash(
        coop.governance, "reminder digest", channel=coop.welcome, day=0, time="8:30am"
    )
    assert "digest will be posted" in done.response.content

    async with db.read() as session:
        digest = (await session.exec(select(Reminder).where(Reminder.kind == "digest"))).one()
    assert digest.next_run_at is not None
    clock.set(digest.next_run_at)
    await _tick(simcord_bot, simcord_env)
    posted = coop.welcome.last_message
    assert posted is not None and posted.embeds[0].title == "Weekly governance digest"
    assert not posted.content  # on time: nothing to say about it
    fields = {field.name: field.value or "" for field in posted.embeds[0].fields}
    assert "#1" in fields["Open decisions"] and "1 of 5 voted" in fields["Open decisions"]

    # The next one comes due while the bot is down: it is posted once at start-up, and says it is late.
    await simcord_bot.close()
    clock.advance(timedelta(days=7, hours=3))
    await restart(simcord_env, settings, clock)
    await simcord_env.settle()
    digests = [
        m for m in coop.welcome.history() if m.embeds and m.embeds[0].title == "Weekly governance digest"
    ]
    assert len(digests) == 2
    assert digests[-1].content.startswith("-# Late: this was due <t:")


async def test_real_scheduler_wakes_the_bot_for_a_reminder_due_within_a_second(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, db: Database
) -> None:
    """One integration test of the real clock: APScheduler itself wakes the bot (no run_now call)."""
    coop = configured
    real_clock = _WallClock()
    bot = create_bot(settings, clock=real_clock, guild_ready_timeout=0.05)
    old = simcord_env.bot
    assert isinstance(old, CoopBot)
    await old.close()
    await simcord_env.restart_bot(bot)
    await simcord_env.settle()
    async with db.write() as session:
        session.add(
            Reminder(
                guild_id=coop.guild.id,
                kind="channel",
                channel_id=coop.governance.id,
                user_id=coop.moderator.id,
                message="Tea break",
                schedule="every day 09:00",
                anchor_at=real_clock.now(),
                next_run_at=real_clock.now() + timedelta(milliseconds=500),
                created_at=real_clock.now(),
            )
        )
    bot.due.wake_at(real_clock.now() + timedelta(milliseconds=500))

    for _ in range(50):
        await asyncio.sleep(0.1)  # real time passes: the reminder is due by the system clock
        await simcord_env.settle()
        if any(m.content.startswith("🔔 Tea break") for m in coop.governance.history()):
            break
    assert [m.content for m in coop.governance.history() if m.content.startswith("🔔 Tea break")] == [
        "🔔 Tea break"
    ]


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_treasurers_are_nudged_once_per_wait_for_a_decision_then_for_the_payout(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    g, tess = coop.governance, coop.treasurer
    await coop.admin.slash(g, "fund create", name="Commons", policy="treasurer", limit="500")
    await coop.alice.slash(g, "fund contribute", fund="Commons", amount="300")
    await tess.slash(g, "fund contribution confirm", contribution=1)
    shown = await coop.alice.slash(g, "fund request new", fund="Commons", amount="120")
    assert shown.modal is not None
    await coop.alice.submit_modal(shown, {"purpose": "A projector"})

    def nudges() -> list[discord.Message]:
        return [m for m in g.history() if m.content.startswith("💸 Funding request **#1**")]

    clock.advance(timedelta(days=7))
    await _tick(simcord_bot, simcord_env)
    [waiting] = nudges()
    assert "has waited 7 days for a treasurer" in waiting.content
    assert [user.id for user in waiting.mentions] == [tess.id]

    # Approved: a new wait begins, for the payout; the treasurers hear of it once.
    await tess.slash(g, "fund request approve", request=1)
    clock.advance(timedelta(days=3))
    await _tick(simcord_bot, simcord_env)
    assert len(nudges()) == 1
    clock.advance(timedelta(days=4))
    await _tick(simcord_bot, simcord_env)
    clock.advance(timedelta(days=4))
    await _tick(simcord_bot, simcord_env)
    assert len(nudges()) == 2
    unpaid = nudges()[-1].content
    assert "was approved 7 days ago for 120.00 NZD and is not paid yet" in unpaid
    assert "`/fund request pay`" in unpaid

    # Paid: nothing waits any more.
    await tess.slash(g, "fund request pay", request=1, reference="TX-1")
    clock.advance(timedelta(days=30))
    await _tick(simcord_bot, simcord_env)
    assert len(nudges()) == 2


async def test_a_schedule_is_said_in_the_cooperatives_zone_and_the_next_run_in_the_readers(
    configured: Coop, simcord_env: simcord.Env
) -> None:
    """09:00 is the cooperative's 09:00 (Auckland here); the next run is a timestamp each reader sees in
    their own time."""
    coop = configured
    await allow_command(coop, "reminder", coop.moderator_role)
    done = await coop.moderator.slash(
        coop.governance,
        "reminder add",
        channel=coop.governance,
        message="Check-in",
        schedule="every monday 09:00",
    )
    assert done.response is not None, done
    said = done.response.content
    assert re.search(r"\(Pacific/Auckland\), next <t:\d+:f>: Check-in$", said), said
    listed = await coop.moderator.slash(coop.governance, "reminder list")
    assert listed.response is not None and "(Pacific/Auckland), next <t:" in listed.response.content
