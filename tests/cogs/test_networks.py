"""Networks through Discord: two cooperatives (servers) served by one bot create a network, join it by the
joining cooperative's decision, and decide a network proposal together; a third server outside it sees
nothing of it."""

from __future__ import annotations

import re
from datetime import timedelta

import simcord
from sqlmodel import col, select

from bot import CoopBot
from cogs.rounds._render import STATUS_WORDS
from governance import funds, rounds
from governance.clock import ManualClock
from governance.permissions import Actor
from storage.database import Database
from storage.models import Decision, NetworkProposal
from tests.cogs.helpers import close_due, create_fund, fields, refusal, reply, seen
from tests.conftest import Coop, build_coop, configure

CODE = re.compile(r"`([A-Z0-9]{10})`")


async def copies(db: Database) -> dict[int, Decision]:
    """Each cooperative's copy of the first network proposal, by server."""
    async with db.read() as session:
        rows = await session.exec(
            select(Decision).where(Decision.link_kind == "network_proposal").order_by(col(Decision.id))
        )
        return {row.guild_id: row for row in rows.all()}


def message_of(coop: Coop, decision: Decision):
    return next(message for message in coop.governance.history() if message.id == decision.message_id)


def thread_text(coop: Coop, decision: Decision) -> str:
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    return "\n".join(seen(message.content) for message in thread.history())


async def second_coop(env: simcord.Env, db: Database, clock: ManualClock, name: str) -> Coop:
    other = build_coop(env, name=name, member_count=2)
    await env.settle()
    await configure(other, db, clock)
    return other


async def network_of_two(
    home: Coop, env: simcord.Env, bot: CoopBot, db: Database, clock: ManualClock
) -> Coop:
    """Kōwhai creates the network; Rātā's members decide to join it."""
    created = await home.moderator.slash(home.governance, "network create", name="Aotearoa Commons")
    assert "**Aotearoa Commons** is created" in reply(created)
    invited = reply(await home.moderator.slash(home.governance, "network invite", valid_for="2d"))
    match = CODE.search(invited)
    assert match, invited
    other = await second_coop(env, db, clock, "Rātā Collective")
    joining = await other.moderator.slash(other.governance, "network join", code=match.group(1).lower())
    assert "decide whether to join **Aotearoa Commons**" in seen(reply(joining))
    decision_message = next(
        message
        for message in other.governance.history()
        if message.embeds and "Join the network Aotearoa Commons" in (message.embeds[0].title or "")
    )
    await other.alice.click(decision_message, label="No objection")
    await close_due(env, bot, clock, timedelta(days=8))
    return other


async def test_a_cooperative_joins_by_its_members_decision_and_both_see_the_network(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> None:
    other = await network_of_two(configured, simcord_env, simcord_bot, db, clock)

    async with db.read() as session:
        join = (await session.exec(select(Decision).where(Decision.link_kind == "network_join"))).one()
    assert "This cooperative is now a member of the network Aotearoa Commons." in thread_text(other, join)
    for coop in (configured, other):
        shown = await coop.alice.slash(coop.governance, "network show")
        embed = shown.response.embeds[0]
        assert embed.title == "🌐 Aotearoa Commons"
        members = fields(shown.response)["Member cooperatives (2)"]
        assert "Kōwhai Collective" in members and "Rātā Collective" in members
    # The code was single use.
    outsider = await second_coop(simcord_env, db, clock, "Outside Co-op")
    assert "not in a network" in await refusal(
        await outsider.alice.slash(outsider.governance, "network show")
    )


async def test_a_network_proposal_is_voted_in_each_server_and_decided_across_them(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> None:
    home = configured
    other = await network_of_two(home, simcord_env, simcord_bot, db, clock)

    shown = await other.alice.slash(other.governance, "network propose", type="consent", closes="3d")
    assert shown.modal is not None, shown
    done = await other.alice.submit_modal(shown, {"title": "Share a bookkeeper", "details": "Half each"})
    assert "Network proposal N1 is open in 2 cooperatives of **Aotearoa Commons**" in reply(done)
    await simcord_env.settle()

    held = await copies(db)
    assert set(held) == {home.guild.id, other.guild.id}
    for coop in (home, other):
        shown_fields = fields(message_of(coop, held[coop.guild.id]))
        assert (
            "N1 in **Aotearoa Commons**, across 2 cooperatives, counted by person"
            in shown_fields["🌐 Network proposal"]
        )

    await home.alice.click(message_of(home, held[home.guild.id]), label="No objection")
    await home.members[1].click(message_of(home, held[home.guild.id]), label="No objection")
    await other.alice.click(message_of(other, held[other.guild.id]), label="No objection")
    await simcord_env.settle()
    # Each server shows the whole network's count: three votes, two here and one there.
    home_view = fields(message_of(home, held[home.guild.id]))
    assert home_view["Participation"].startswith("3 of ")
    assert "This cooperative: 2 of " in home_view["🌐 Network proposal"]
    assert fields(message_of(other, held[other.guild.id]))["Participation"].startswith("3 of ")

    await close_due(simcord_env, simcord_bot, clock, timedelta(days=4))

    async with db.read() as session:
        proposal = (await session.exec(select(NetworkProposal))).one()
    assert (proposal.status, proposal.passed) == ("closed", True)
    closed = await copies(db)
    for coop in (home, other):
        message = message_of(coop, closed[coop.guild.id])
        assert "(closed)" in message.embeds[0].title
        assert fields(message)["Result"].startswith("Across the network: Passes")
        assert "Across the network Aotearoa Commons: Passes" in thread_text(coop, closed[coop.guild.id])

    listed = await home.alice.slash(home.governance, "network decisions")
    assert "N1" in str(listed.response.embeds[0].description)
    log = await home.moderator.slash(home.governance, "network audit")
    text = seen(str(log.response.embeds[0].description))
    assert "network.proposal.close" in text and "network.propose" in text and "Rātā Collective" in text


async def test_a_copy_refuses_a_local_early_close_and_a_member_of_another_server_cannot_vote_on_it(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> None:
    home = configured
    other = await network_of_two(home, simcord_env, simcord_bot, db, clock)
    shown = await home.alice.slash(home.governance, "network propose", counting="cooperative")
    await home.alice.submit_modal(shown, {"title": "Adopt the shared charter", "details": ""})
    await simcord_env.settle()
    held = await copies(db)
    copy_id = held[home.guild.id].id

    early = await home.alice.slash(home.governance, "proposal close", proposal=copy_id)  # she proposed it
    assert "network proposal" in await refusal(early)
    # From the other server, the home copy's number is not found: it is not that cooperative's decision.
    crossed = await other.alice.slash(
        other.governance, "proposal vote", proposal=copy_id, choice="no objection"
    )
    assert "There is no proposal" in await refusal(crossed)
    assert "counted by cooperative" in fields(message_of(home, held[home.guild.id]))["🌐 Network proposal"]


async def test_a_treasurer_moves_money_to_a_network_fund_and_the_other_cooperative_sees_it(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> None:
    home = configured
    other = await network_of_two(home, simcord_env, simcord_bot, db, clock)
    await create_fund(home, "Commons")
    await funds.record_contribution(
        db,
        guild_id=home.guild.id,
        fund="Commons",
        actor=Actor(user_id=home.treasurer.id, role_ids=frozenset({home.treasurer_role.id})),
        amount="500",
        idempotency_key="arrived",
        now=clock.now(),
        member_id=home.alice.id,
    )

    opened = await home.moderator.slash(
        home.governance, "network fund create", name="Shared Van", currency="NZD"
    )
    assert "**Shared Van** (NZD) is open" in reply(opened)
    refused = await home.alice.slash(
        home.governance, "network fund contribute", fund="Shared Van", from_fund="Commons", amount="50"
    )
    assert (await refusal(refused)).startswith("Only treasurers")
    moved = await home.treasurer.slash(
        home.governance, "network fund contribute", fund="Shared Van", from_fund="Commons", amount="120.50"
    )
    assert "Moved 120.50 NZD from **Commons** to the network fund **Shared Van**" in reply(moved)
    too_much = await home.treasurer.slash(
        home.governance, "network fund contribute", fund="Shared Van", from_fund="Commons", amount="400"
    )
    assert "at most 379.50 NZD can go to the network" in await refusal(too_much)

    shown = await other.alice.slash(other.governance, "network fund show", fund="Shared Van")
    view = fields(shown.response)
    assert view["Holds"] == "120.50 NZD"
    assert "Kōwhai Collective: 120.50 NZD" in view["Put in by"]
    own = await home.alice.slash(home.governance, "fund show", fund="Commons")
    assert "379.50" in str(own.response.embeds[0].to_dict())


async def test_a_member_asks_the_network_fund_and_treasurers_of_another_server_approve_and_pay(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> None:
    home = configured
    other = await network_of_two(home, simcord_env, simcord_bot, db, clock)
    await create_fund(home, "Commons")
    treasurer = Actor(user_id=home.treasurer.id, role_ids=frozenset({home.treasurer_role.id}))
    await funds.record_contribution(
        db,
        guild_id=home.guild.id,
        fund="Commons",
        actor=treasurer,
        amount="500",
        idempotency_key="arrived",
        now=clock.now(),
        member_id=home.alice.id,
    )
    await home.moderator.slash(
        home.governance, "network fund create", name="Shared Van", currency="NZD", limit="100"
    )
    await home.treasurer.slash(
        home.governance, "network fund contribute", fund="Shared Van", from_fund="Commons", amount="300"
    )

    asked = await other.alice.slash(
        other.governance, "network fund request", fund="Shared Van", amount="80", purpose="Diesel"
    )
    assert "Request R1 for 80.00 NZD is waiting for a treasurer" in reply(asked)
    shown = fields((await home.alice.slash(home.governance, "network fund show", fund="Shared Van")).response)
    assert "R1 · 80.00 NZD · Rātā Collective · pending · Diesel" in shown["Requests waiting"]

    approved = await home.treasurer.slash(home.governance, "network fund approve", request=1)
    assert reply(approved).startswith("Approved R1 (80.00 NZD)")
    paid = await other.treasurer.slash(other.governance, "network fund pay", request=1, reference="bank 7")
    assert "R1 paid, 80.00 NZD from **Shared Van**, which now holds 220.00 NZD." in reply(paid)

    bigger = await other.alice.slash(
        other.governance, "network fund request", fund="Shared Van", amount="150", purpose="New tyres"
    )
    assert "the network decides it, by cooperative, in network proposal N1" in reply(bigger)


def bucket_post(coop: Coop, bucket_id: int):
    """This server's post of a network round's bucket."""
    return next(
        message
        for message in coop.governance.history()
        if message.embeds and (message.embeds[0].title or "").startswith(f"Bucket #{bucket_id} ·")
    )


async def test_a_network_round_is_posted_and_funded_in_both_servers_and_closes_in_each(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> None:
    home = configured
    other = await network_of_two(home, simcord_env, simcord_bot, db, clock)
    await create_fund(home, "Commons")
    reply(await home.treasurer.slash(home.governance, "fund contribute", fund="Commons", amount="500"))
    await home.moderator.slash(
        home.governance, "network fund create", name="Shared Van", currency="NZD", limit="400"
    )
    await home.treasurer.slash(
        home.governance, "network fund contribute", fund="Shared Van", from_fund="Commons", amount="300"
    )

    # Rātā's treasurer sets the round up on the network's fund; both servers are told.
    options = {"fund": "Shared Van", "pot": "200", "funding": "3d", "ideas": "1d", "allocation": "20"}
    assert "a role belongs to one server" in await refusal(
        await other.treasurer.slash(
            other.governance, "round new", network="Aotearoa Commons", role=other.member_role, **options
        )
    )
    shown = await other.treasurer.slash(other.governance, "round new", network="Aotearoa Commons", **options)
    assert shown.modal is not None, shown
    done = await other.treasurer.submit_modal(
        shown, {"title": "Spring projects", "description": "", "guidelines": "Shared by all"}
    )
    assert (
        "Network Round #1 · Spring projects is set up; 200.00 NZD is set aside from Aotearoa Commons · "
        "Shared Van and every member cooperative is told." in reply(done)
    )
    await simcord_env.settle()
    for coop in (home, other):
        assert any(
            "A network funding round is open for ideas" in m.content for m in coop.governance.history()
        )

    # A member of Kōwhai proposes a bucket: it is posted in both servers; Kōwhai's moderator opens it.
    form = await home.alice.slash(home.governance, "bucket new", round=1)
    assert form.modal is not None, form
    said = reply(
        await home.alice.submit_modal(
            form, {"title": "Van repairs", "description": "", "budget": "Brakes: 40"}
        )
    )
    assert "It is posted in every member cooperative" in said
    await simcord_env.settle()
    assert "bucket's own cooperative" in await refusal(
        await other.moderator.slash(other.governance, "bucket approve", bucket=1)
    )
    reply(await home.moderator.slash(home.governance, "bucket approve", bucket=1))
    await simcord_env.settle()

    # Funding opens by the clock: each server grants its own members their share and says so.
    round_ = await rounds.get_round(db, home.guild.id, 1)
    clock.set(round_.funding_opens_at)
    await simcord_bot.due.run_now()
    await simcord_env.settle()
    for coop in (home, other):
        assert any("Funding is open in network Round #1" in m.content for m in coop.governance.history())

    # Rātā's member funds from Rātā's post; Kōwhai's post shows it.
    said = reply(await other.alice.click(bucket_post(other, 1), label="Fund 10.00 NZD"))
    assert said.startswith("You put 10.00 NZD into bucket #1")
    await simcord_env.settle()
    assert "10.00 NZD of 40.00 NZD" in fields(bucket_post(home, 1))["Funding"]
    reply(await home.members[1].click(bucket_post(home, 1), label="Fund 10.00 NZD"))
    reply(await home.alice.click(bucket_post(home, 1), label="Fund 10.00 NZD"))
    reply(await other.members[1].click(bucket_post(other, 1), label="Fund 10.00 NZD"))
    await simcord_env.settle()
    assert fields(bucket_post(other, 1))["Status"] == STATUS_WORDS["funded"]  # it reached its maximum

    # The close, by the home server's clock: each server posts the results.
    clock.set(round_.funding_closes_at)
    await simcord_bot.due.run_now()
    await simcord_env.settle()
    for coop in (home, other):
        results = next(m for m in reversed(coop.governance.history()) if m.content.startswith("🏁"))
        assert "✅ #1 Van repairs: 40.00 NZD from 4 people (network request R1)" in results.content
    van = fields((await home.alice.slash(home.governance, "network fund show", fund="Shared Van")).response)
    assert van["Holds"] == "300.00 NZD"
    assert "R1 · 40.00 NZD · Kōwhai Collective · approved" in van["Requests waiting"]
