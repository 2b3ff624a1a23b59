"""The sandbox's clock, without a browser: the sandbox started as `coopbot sandbox` starts it (its own
SimCord, database and ManualClock), driven through the bot's commands, its time moved as `/sandbox advance`
moves it.

What came due during an advance (closings, reminders, webhook deliveries and their retries) is done at its
own moment, never as "late" or "offline"; the bot is coopbot from its first log line; and the people are
described as they stand, also after a restart.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest
import pytest_asyncio
from sqlmodel import select

import sandbox.runner as sandbox_runner
from cogs._scheduling import DueHandler
from governance.schedules import next_run, parse_schedule
from governance.timeparse import discord_timestamp
from governance.webhooks import FIRST_RETRY
from sandbox import BOT_NAME, NEWCOMER, TIMEZONE, Options, Sandbox, standing
from storage.models import Decision, DecisionStatus, DeliveryStatus, WebhookDelivery
from tests.cogs.helpers import serve_receiver

STAND_UP = "Stand-up at the workshop"
DAILY = "every day 09:00"


@pytest_asyncio.fixture
async def running(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """A fresh sandbox, set up with the demo cooperative, without its page."""
    sandbox = Sandbox(Options(data_dir=tmp_path / "data", out=io.StringIO()))
    async with sandbox.started():
        yield sandbox


async def propose(sandbox: Sandbox, title: str, closes: str) -> Decision:
    """Ana (the moderator) opens a proposal as a person does: /proposal new, then its form."""
    ana = sandbox.world.person("moderator")
    shown = await ana.slash(sandbox.world.channel, "proposal new", closes=closes)
    assert shown.modal is not None, shown
    await ana.submit_modal(shown, {"title": title, "details": "Decided in the sandbox."})
    return next(decision for decision in await all_decisions(sandbox) if decision.title == title)


async def all_decisions(sandbox: Sandbox) -> list[Decision]:
    """The demo cooperative's decisions (not its neighbour's, in the network's other server)."""
    async with sandbox.bot.database.read() as session:
        query = select(Decision).where(Decision.guild_id == sandbox.world.guild.id)
        return list((await session.exec(query)).all())


def bot_posts(sandbox: Sandbox) -> list[discord.Message]:
    """Everything the bot posted: in the channel, its threads and everyone's DMs."""
    world = sandbox.world
    places = [world.channel, *world.channel.threads, *(user.dm_channel for user in world.users.values())]
    assert sandbox.bot.user is not None
    return [
        message for place in places for message in place.history() if message.author.id == sandbox.bot.user.id
    ]


def text_of(message: Any) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
        parts += [f"{field.name}\n{field.value}" for field in embed.fields]
    return "\n".join(parts)


def runs_between(schedule: str, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's runs in (start, end], in the demo cooperative's timezone."""
    runs: list[datetime] = []
    moment = next_run(parse_schedule(schedule), after=start, tz=ZoneInfo(TIMEZONE))
    while moment <= end:
        runs.append(moment)
        moment = next_run(parse_schedule(schedule), after=moment, tz=ZoneInfo(TIMEZONE))
    return runs


async def test_an_advance_does_what_comes_due_each_at_its_own_moment(running: Sandbox) -> None:
    world = running.world
    start = running.clock.now()
    paint = await propose(running, "Paint the workshop", closes="1d")
    kettle = await propose(running, "Buy a kettle for the workshop", closes="2d")
    ana = world.person("moderator")
    added = await ana.slash(
        world.channel, "reminder add", channel=world.channel, message=STAND_UP, schedule=DAILY
    )
    assert added.response is not None and "Reminder added" in added.response.content

    await running._advance(timedelta(days=3))
    assert running.clock.now() == start + timedelta(days=3)
    assert running.env.now() == running.clock.now()

    # Each close is recorded at its closing time, and its result told in the thread then.
    closed = {d.id: d for d in await all_decisions(running) if d.status == DecisionStatus.CLOSED}
    assert {paint.id, kettle.id} <= set(closed)
    threads = {thread.id: thread for thread in world.channel.threads}
    for decision in closed.values():
        assert decision.closed_at == decision.closes_at, decision.title
        assert decision.thread_id is not None
        told = {message.created_at for message in threads[decision.thread_id].history()}
        assert decision.closes_at in told, decision.title

    # The register shows those dates.
    register = await world.person("bea").slash(world.channel, "decisions")
    assert register.response is not None
    entries = {f"{field.name}": f"{field.value}" for field in register.response.embeds[0].fields}
    for decision in closed.values():
        entry = next(value for name, value in entries.items() if decision.title in name)
        assert discord_timestamp(decision.closes_at, "D") in entry, entry

    # The daily reminder fired once per occurrence, each at its time.
    runs = runs_between(DAILY, start, running.clock.now())
    assert len(runs) >= 3
    fired = [m.created_at for m in world.channel.history() if m.content.startswith(f"🔔 {STAND_UP}")]
    assert fired == runs

    # Nothing says it came late or while the bot was offline.
    for message in bot_posts(running):
        text = text_of(message)
        assert "offline" not in text and "Late" not in text, text


async def test_advance_at_start_steps_through_time_too(tmp_path: Path) -> None:
    async with Sandbox(Options(data_dir=tmp_path / "data", out=io.StringIO())).started():
        pass  # the demo, saved
    resumed = Sandbox(Options(data_dir=tmp_path / "data", out=io.StringIO(), advance=timedelta(weeks=1)))
    async with resumed.started():
        closed = [d for d in await all_decisions(resumed) if d.status == DecisionStatus.CLOSED]
        assert len(closed) == 3, "the demo's proposal, the funding request's and the network proposal's copy"
        assert all(decision.closed_at == decision.closes_at for decision in closed)
        assert any("each at its own time" in note for note in resumed.notes)
        for message in bot_posts(resumed):
            assert "offline" not in text_of(message) and "Late" not in text_of(message)


async def test_work_that_keeps_failing_does_not_hold_the_time_still(
    running: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    start = running.clock.now()
    stuck_since = start - timedelta(hours=1)

    async def fails(now: datetime) -> None:
        raise RuntimeError("the receiver is down")

    async def still_due() -> datetime:
        return stuck_since

    running.bot.due.register(DueHandler("always failing", fails, still_due))
    paint = await propose(running, "Paint the workshop", closes="1d")

    await running._advance(timedelta(days=2))

    assert running.clock.now() == start + timedelta(days=2)
    closed = next(d for d in await all_decisions(running) if d.id == paint.id)
    assert closed.closed_at == closed.closes_at
    assert any("always failing" in record.getMessage() for record in caplog.records)


async def test_an_advance_with_too_many_moments_does_the_rest_at_its_end(
    running: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_runner, "MAX_STEPS", 2)
    world = running.world
    ana = world.person("moderator")
    await ana.slash(world.channel, "reminder add", channel=world.channel, message=STAND_UP, schedule=DAILY)

    start = running.clock.now()
    await running._advance(timedelta(days=5))

    assert running.clock.now() == start + timedelta(days=5)
    said = [message.content for message in world.channel.history()]
    assert any("more than 2 moments came due" in text for text in said), said
    fired = [text for text in said if text.startswith(f"🔔 {STAND_UP}")]
    assert len(fired) < len(runs_between(DAILY, start, running.clock.now())), "the rest collapsed into one"
    assert "Late" in fired[-1]


async def test_webhook_deliveries_and_their_retries_go_at_their_own_moments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOKS_ALLOW_HTTP_LOCALHOST", "true")  # the receiver is this test, on 127.0.0.1
    sandbox = Sandbox(Options(data_dir=tmp_path / "data", out=io.StringIO()))
    with serve_receiver() as receiver:
        receiver.answers = [503]  # the first attempt fails: it is tried again 30 seconds later
        receiver.hang_seconds = 0.3  # a slow receiver: time waits for its answer before it moves on
        async with sandbox.started():
            ana = sandbox.world.person("moderator")
            channel = sandbox.world.channel
            await ana.slash(channel, "coop webhooks add", url=receiver.url, event="decision.closed")
            paint = await propose(sandbox, "Paint the workshop", closes="1d")

            await sandbox._advance(timedelta(days=2))

            async with sandbox.bot.database.read() as session:
                deliveries = list((await session.exec(select(WebhookDelivery))).all())
    closed = [json.loads(body) for _, body in receiver.received]
    assert [body["subject"] for body in closed] == [f"decision:{paint.id}"] * 2, "tried, then tried again"
    assert {datetime.fromisoformat(body["occurred_at"]) for body in closed} == {paint.closes_at}
    assert [(d.status, d.attempts) for d in deliveries] == [(DeliveryStatus.DELIVERED.value, 2)]
    assert deliveries[0].delivered_at == paint.closes_at + FIRST_RETRY


def test_people_are_described_by_the_roles_they_hold() -> None:
    assert standing(["member", "moderator"]) == "moderator"
    assert standing(["member", "treasurer"]) == "treasurer"
    assert standing(["member"]) == "member"
    assert standing(["contributor"]) == "contributor"
    assert standing([]) == "newcomer"


async def test_the_bot_is_coopbot_and_a_restart_describes_people_as_they_are(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coopbot")
    options = Options(data_dir=tmp_path / "data", out=io.StringIO())
    first = Sandbox(options)
    async with first.started():
        assert first.bot.user is not None and first.bot.user.name == BOT_NAME
        intro = first.world.channel.history()[0].content
        assert "Ana (moderator)" in intro and "Gus (newcomer)" in intro
        # Gus agrees to the charter with the welcome's button: the bot makes him a contributor.
        gus = first.world.person(NEWCOMER)
        welcome = next(m for m in first.world.channel.history() if m.content.startswith("Welcome"))
        await gus.click(welcome, label="I agree to the charter")
        await first.env.settle()
    connected = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Connected as")]
    assert connected and all(f"Connected as {BOT_NAME}" in line for line in connected), connected

    second = Sandbox(options)
    async with second.started():
        intro = second.world.channel.history()[0].content
        assert "Gus (contributor)" in intro, intro
        assert "newcomer" not in intro
        people = await second._who_is_who()
        assert "Gus (contributor)" in people and "Farah (member)" in people


async def test_confirmations_in_the_sandbox_name_the_channel_instead_of_linking_to_discord(
    running: Sandbox,
) -> None:
    """A link to https://discord.com leads nowhere from the sandbox's page: the bot names the channel (the
    page shows a channel mention by name) and leaves the link out where it would only be a link."""
    ana = running.world.person("moderator")
    shown = await ana.slash(running.world.channel, "proposal new", closes="2d")
    assert shown.modal is not None, shown
    done = await ana.submit_modal(shown, {"title": "Linkless", "details": "In the sandbox."})
    assert done.response is not None, done
    assert "is open until" in done.response.content, done.response.content
    assert done.response.content.endswith(f"<#{running.world.channel.id}>"), done.response.content
    decision = next(d for d in await all_decisions(running) if d.title == "Linkless")
    listed = await ana.slash(running.world.channel, "proposal list")
    shown_one = await ana.slash(running.world.channel, "proposal show", proposal=decision.id)
    for result in (done, listed, shown_one):
        assert result.response is not None, result
        texts = [result.response.content or ""] + [
            embed.description or "" for embed in result.response.embeds
        ]
        assert all("discord.com" not in text for text in texts), texts


async def test_the_demo_has_a_round_open_for_funding_with_buttons_that_work(running: Sandbox) -> None:
    """Whoever tries the sandbox finds a round in its funding phase and can fund a bucket from its post."""
    posts = [m for m in running.world.channel.history() if m.content.startswith("💡 A bucket in round #1")]
    assert len(posts) == 2
    dina = running.world.person("dina")
    done = await dina.click(posts[0], label="Fund 5.00 NZD")
    assert done.response is not None, done
    assert done.response.content.startswith("You put 5.00 NZD into bucket #1"), done.response.content
    refreshed = next(m for m in running.world.channel.history() if m.id == posts[0].id)
    funding = next(field.value for field in refreshed.embeds[0].fields if field.name == "Funding")
    assert "30.00 NZD of 100.00 NZD minimum" in str(funding)


async def test_the_demo_network_counts_the_other_servers_votes_and_sums_up_its_posts(
    running: Sandbox,
) -> None:
    world = running.world
    copy = next(
        message
        for message in world.channel.history()
        if message.embeds and "Share a stall at the Saturday market" in (message.embeds[0].title or "")
    )
    shown = {field.name: field.value or "" for field in copy.embeds[0].fields}
    assert "Coast Network" in shown["🌐 Network proposal"]
    assert shown["Participation"].startswith("1 of 10 eligible")  # Tui voted in Riverside's server

    voted = await world.person("bea").click(copy, label="No objection")
    assert voted.response is not None and "is recorded" in voted.response.content
    await running._advance(timedelta(weeks=1, minutes=1))

    summed_up = "\n".join(m.content for m in world.channel.history() if "network's other server" in m.content)
    assert "Riverside Makers #coop" in summed_up
    assert "Across the network Coast Network: Passes" in summed_up


async def test_the_sandbox_shows_the_demo_cooperative_in_another_language(tmp_path: Path) -> None:
    """`coopbot sandbox --language es`: the cooperative posts in Spanish and its people's clients speak it;
    the sandbox's own messages and the demo it seeds are in Spanish too."""
    from governance.i18n import _, translate
    from governance.money import Money
    from governance.timeparse import Duration
    from sandbox.world import FUND, ROLES, intro

    out = io.StringIO()
    sandbox = Sandbox(Options(data_dir=tmp_path / "data", out=out, language="es"))
    async with sandbox.started():
        channel = sandbox.world.channel
        posts = [m for m in channel.history() if m.embeds and m.components]
        labels = {c.label for m in posts for row in m.components for c in row.children}
        assert translate("No objection", "es") in labels
        fields = {field["name"] for m in posts for field in m.embeds[0].to_dict().get("fields", [])}
        assert _("Decision type").render("es") in fields
        ana = sandbox.world.person("moderator")
        shown = await ana.slash(channel, "proposal new", closes="3d")
        assert shown.modal is not None and shown.modal["title"] == _("New proposal").render("es")

        # The sandbox's own words go through the catalogue, with amounts and durations the Spanish way.
        people = await sandbox._who_is_who()
        assert f"Bea ({standing(['member'], 'es')})" in people
        assert channel.history()[0].content == intro(people).render("es")
        assert f"fund:{translate(FUND, 'es')}`" in channel.history()[0].content
        seeded = "\n".join(sandbox.seeded)
        assert Money(80_000, "NZD").render("es") in seeded, seeded  # "800,00 NZD"
        assert Duration(timedelta(days=5)).render("es") in seeded, seeded  # the round's funding phase
        guild = sandbox.bot.get_guild(sandbox.world.guild.id)
        assert guild is not None
        assert {translate(spec.name, "es") for spec in ROLES} <= {role.name for role in guild.roles}
        moved = await ana.slash(channel, "sandbox advance", duration="1d")
        assert moved.response is not None
        assert Duration(timedelta(days=1)).render("es") in moved.response.content
        sandbox._banner("http://127.0.0.1:1/page", people)
        assert _("Stop with Ctrl-C.").render("es") in out.getvalue()
        assert Money(6_000, "NZD").render("es") in out.getvalue()  # Farah's contribution, in "Set up"
    # The sandbox's own patch of SimCord ends with it.
    import simcord.interactions

    assert simcord.interactions.base_payload.__name__ == "base_payload"
