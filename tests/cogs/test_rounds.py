"""A funding round's whole life in Discord (SimCord), driven as people would: set up with its form, buckets
proposed and approved, funding opened by the clock, the buttons under a bucket's post, a typed amount, the
close with its results, and the refusals."""

from __future__ import annotations

import discord
import simcord
from sqlmodel import col, select

from bot import CoopBot
from governance.clock import ManualClock
from storage.database import Database
from storage.models import AuditEvent, Bucket, FundingRequest, Round
from tests.cogs.helpers import create_fund, raw_fields, refusal, reply
from tests.conftest import Coop


async def _tick(bot: CoopBot, env: simcord.Env) -> None:
    await bot.due.run_now()
    await env.settle()


def _post_of(coop: Coop, message_id: int | None) -> discord.Message:
    return next(message for message in coop.governance.history() if message.id == message_id)


async def _row(db: Database, model: type, row_id: int) -> object:
    async with db.read() as session:
        return (await session.exec(select(model).where(model.id == row_id))).one()  # type: ignore[attr-defined]


async def _funded_coop(coop: Coop) -> None:
    """A fund with 1,000.00 NZD in it."""
    await create_fund(coop)
    reply(await coop.treasurer.slash(coop.governance, "fund contribute", fund="Commons", amount="1,000"))


async def test_a_round_from_its_form_to_funded_buckets_and_an_approved_request(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    alice, bob, carol = coop.members
    await _funded_coop(coop)

    # The treasurer sets a round up: the command checks the money and times, the form asks for the words.
    shown = await coop.treasurer.slash(
        coop.governance, "round new", fund="Commons", pot="300", funding="5d", ideas="2d"
    )
    assert shown.modal is not None, shown
    done = await coop.treasurer.submit_modal(
        shown,
        {"title": "Spring round", "description": "Tools for the shed", "guidelines": "Local\nOpen to all"},
    )
    assert "Round #1 · Spring round is open for ideas; 300.00 NZD is set aside from Commons." in reply(done)
    announced = coop.governance.last_message
    assert announced is not None and "propose a bucket with `/bucket new round:1`" in announced.content
    assert raw_fields(announced.embeds[0])["Guidelines"] == "1\\. Local\n2\\. Open to all"
    # The weekly digest shows it among the open rounds.
    from cogs.reminders._cog import GovernanceReminders

    reminders_cog = simcord_bot.get_cog(GovernanceReminders.__cog_name__)
    assert isinstance(reminders_cog, GovernanceReminders)
    digest = await reminders_cog.digest_embed(coop.guild.id, clock.now())
    assert raw_fields(digest)["Funding rounds"].startswith("**#1** Spring round: 300.00 NZD · Taking ideas")

    # Two members propose buckets with their forms; a moderator approves them.
    for person, title, budget in (
        (alice, "Shed", "Timber: 100 to 150"),
        (bob, "Oven", "Bricks: 80\nFlue: 40"),
    ):
        form = await person.slash(coop.governance, "bucket new", round=1)
        assert form.modal is not None, form
        said = reply(await person.submit_modal(form, {"title": title, "description": "", "budget": budget}))
        assert "A moderator opens it for funding with /bucket approve." in said
    assert "Only a moderator approves" in await refusal(
        await carol.slash(coop.governance, "bucket approve", bucket=1)
    )
    for bucket_id in (1, 2):
        reply(await coop.moderator.slash(coop.governance, "bucket approve", bucket=bucket_id))
    shed = await _row(db, Bucket, 1)
    assert isinstance(shed, Bucket)
    post = _post_of(coop, shed.message_id)
    assert [c.label for row in post.components for c in row.children] == ["Show"]  # funding not open yet

    # Funding opens by the clock: each of the 5 people with the member role gets 60.00, and the fund buttons
    # appear under the buckets' posts.
    round_ = await _row(db, Round, 1)
    assert isinstance(round_, Round)
    clock.set(round_.funding_opens_at)
    await _tick(simcord_bot, simcord_env)
    assert any("Funding is open in Round #1" in m.content for m in coop.governance.history())
    post = _post_of(coop, shed.message_id)
    labels = [c.label for row in post.components for c in row.children]
    assert labels == [
        "Fund 5.00 NZD",
        "Fund 10.00 NZD",
        "Fund 25.00 NZD",
        "Other amount",
        "Take mine back",
        "Show",
    ]

    # Members fund with the buttons and a typed amount; each is told what they have left.
    said = reply(await bob.click(post, label="Fund 25.00 NZD"))
    assert said == "You put 25.00 NZD into bucket #1: you have 25.00 NZD in it and 35.00 NZD left to spend."
    form = await carol.click(post, label="Other amount")
    assert form.modal is not None, form
    said = reply(await carol.submit_modal(form, {"amount": "60"}))
    assert said.endswith("you have 60.00 NZD in it and 0.00 NZD left to spend.")
    said = reply(await alice.slash(coop.governance, "bucket fund", bucket=2, amount="30"))
    assert "into bucket #2" in said
    # Refusals: more than one holds, a visitor, after taking back.
    assert "You have 35.00 NZD left to spend" in await refusal(
        await bob.slash(coop.governance, "bucket fund", bucket=1, amount="36")
    )
    assert (await refusal(await coop.visitor.click(post, label="Fund 5.00 NZD"))).startswith("Only ")
    said = reply(await alice.slash(coop.governance, "bucket withdraw", bucket=2, amount="10"))
    assert "You took back 10.00 NZD from bucket #2" in said
    post = _post_of(coop, shed.message_id)
    assert "85.00 NZD of 100.00 NZD minimum" in raw_fields(post.embeds[0])["Funding"]

    # Bob tops the shed up past its minimum; at the close the shed is funded, the oven refunded.
    reply(await bob.click(post, label="Fund 25.00 NZD"))
    clock.set(round_.funding_closes_at)
    await _tick(simcord_bot, simcord_env)
    results = next(m for m in reversed(coop.governance.history()) if m.content.startswith("🏁"))
    assert "Funded: 1 bucket, 110.00 NZD of the 300.00 NZD pot" in results.content
    assert "✅ #1 Shed: 110.00 NZD from 2 people (request #1)" in results.content
    assert "↩️ #2 Oven: not funded, refunded" in results.content
    [chart] = results.attachments
    assert (
        chart.filename == "round-1.png"
        and chart.description
        and "#1 Shed: 110.00 NZD; #2 Oven: 0.00 NZD. Highlighted: #1 Shed." in chart.description
    )
    request = await _row(db, FundingRequest, 1)
    assert isinstance(request, FundingRequest)
    assert (request.status, request.approved_amount, request.requester_id) == ("approved", 11000, alice.id)
    post = _post_of(coop, shed.message_id)
    assert [c.label for row in post.components for c in row.children] == ["Show"]
    assert "Funded" in raw_fields(post.embeds[0])["Status"]
    # The register keeps the round among the cooperative's decisions.
    listed = await carol.slash(coop.governance, "decisions")
    [entry] = listed.response.embeds[0].fields
    assert entry.name == "Round #1 · Spring round"
    assert str(entry.value).startswith(
        "🏁 1 of 2 buckets funded: 110.00 NZD of the 300.00 NZD pot; 190.00 NZD stays in the fund."
    )
    # The treasurers pay it as any approved request.
    said = reply(await coop.treasurer.slash(coop.governance, "fund request pay", request=1, reference="TX-1"))
    assert "paid" in said.lower()
    async with db.read() as session:
        logged = (
            await session.exec(select(AuditEvent.action).where(col(AuditEvent.action).like("round.%")))
        ).all()
    assert {"round.create", "round.funding", "round.close"} <= set(logged)


async def test_round_refusals_are_answers_and_set_nothing_up(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    coop = configured
    await _funded_coop(coop)
    alice = coop.alice
    assert (
        await refusal(await alice.slash(coop.governance, "round new", fund="Commons", pot="10", funding="2d"))
    ).startswith("Only ")
    said = await refusal(
        await coop.treasurer.slash(coop.governance, "round new", fund="Commons", pot="5,000", funding="2d")
    )
    assert "available" in said
    said = await refusal(
        await coop.treasurer.slash(coop.governance, "round new", fund="Commons", pot="10", funding="20m")
    )
    assert "at least an hour" in said
    said = await refusal(
        await coop.treasurer.slash(coop.governance, "round new", fund="Nope", pot="10", funding="2d")
    )
    assert "no fund" in said.lower()
    said = await refusal(await alice.slash(coop.governance, "bucket new", round=7))
    assert said == "There is no round #7 in this server."
    async with db.read() as session:
        assert (await session.exec(select(Round))).all() == []
