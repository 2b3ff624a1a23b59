"""Pooled funds as people use them in Discord (SimCord): contributions, requests decided by the members or
a treasurer, payouts, corrections, the ledger, its export and chart, and every refusal."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import discord
import simcord
from PIL import Image
from sqlmodel import col, select

from bot import CoopBot
from config import Settings
from governance import funds
from governance.clock import ManualClock
from governance.permissions import Actor
from storage.database import Database
from storage.models import AuditEvent, Contribution, Decision, FundingRequest, LedgerEntry
from tests.cogs.helpers import create_fund, raw_fields, refusal, reply
from tests.conftest import Coop, build_coop, configure, restart

TREASURERS_ONLY = "Only treasurers can do this (the treasurer role)."


def assert_no_mass_pings(env: simcord.Env) -> None:
    """No message the bot posted or edited pinged everyone, here or a role (users only, where meant).
    System messages (a thread's creation, which repeats its name) are Discord's, not the bot's text."""
    bot_id = env.bot.user.id
    posted = [
        m
        for channel in env.backend.messages.values()
        for m in channel.values()
        if m.author_id == bot_id
        and m.type in (discord.MessageType.default.value, discord.MessageType.reply.value)
    ]
    assert posted
    assert not [(m.id, m.content) for m in posted if m.ping_role_ids or m.mention_everyone]


def pinged(env: simcord.Env, message: discord.Message) -> tuple[list[int], list[int], bool]:
    """Who a message really pinged: users, roles, everyone."""
    stored = env.backend.get_message(message.channel.id, message.id)
    return stored.ping_user_ids, stored.ping_role_ids, stored.mention_everyone


def last_post(channel: simcord.ChannelHandle, starts: str) -> discord.Message:
    return [message for message in channel.history() if message.content.startswith(starts)][-1]


def dms(member: simcord.MemberActor) -> list[str]:
    return [message.content for message in member.user.dm_channel.history()]


async def rows(db: Database, model: Any) -> list[Any]:
    async with db.read() as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def actions(db: Database) -> list[str]:
    return [event.action for event in await rows(db, AuditEvent) if event.action.startswith("fund.")]


async def proposal_of(coop: Coop, db: Database, request_id: int) -> discord.Message:
    async with db.read() as session:
        decision = (await session.exec(select(Decision).where(Decision.link_id == request_id))).one()
    return next(message for message in coop.governance.history() if message.id == decision.message_id)


async def test_a_fund_from_contributions_to_a_paid_request_shown_exactly_on_the_ledger(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    alice, bob, carol = coop.members
    await create_fund(coop, description="Shared tools and equipment")

    # Two members contribute; each contribution waits for a treasurer, with a notice for treasurers.
    said = reply(await alice.slash(coop.governance, "fund contribute", fund="Commons", amount="50"))
    assert "Contribution #1 of 50.00 NZD to **Commons** is pending" in said
    said = reply(
        await bob.slash(coop.governance, "fund contribute", fund="commons", amount="1,200.50", note="bank")
    )
    assert "Contribution #2 of 1,200.50 NZD" in said
    notice = last_post(coop.governance, f"💰 {alice.mention}")
    assert "50.00 NZD" in notice.content

    # The treasurer confirms one from its notice's button, the other with the command.
    await coop.treasurer.click(notice, label="Confirm (money arrived)")
    notice = next(m for m in coop.governance.history() if m.id == notice.id)
    assert f"✅ Confirmed by {coop.treasurer.mention}" in notice.content
    assert notice.components == []
    said = reply(await coop.treasurer.slash(coop.governance, "fund contribution confirm", contribution=2))
    assert "Balance of Commons: 1,250.50 NZD" in said
    assert any("contribution #1 of 50.00 NZD to Commons was confirmed" in text for text in dms(alice))

    # A member asks for money: a form, then a consent proposal linked to the request.
    shown = await carol.slash(
        coop.governance, "fund request new", fund="Commons", amount="120", max_amount="150"
    )
    assert shown.modal is not None
    done = await carol.submit_modal(
        shown, {"purpose": "A projector for meetings", "details": "Quote: 149 NZD"}
    )
    assert "Request #1 for 120.00 NZD to 150.00 NZD from **Commons** is in the members' hands" in reply(done)
    proposal = await proposal_of(coop, db, 1)
    assert proposal.embeds[0].title.startswith("#1 · Fund request #1: A projector for meetings")
    # Pending, it reads as asked, not as funded (no progress bar before anything is approved).
    pending = raw_fields((await alice.slash(coop.governance, "fund show", fund="Commons")).response.embeds[0])
    assert pending["Open requests (1)"].endswith(
        "⏳ Pending: 120.00 NZD to 150.00 NZD asked · the members decide in proposal #1 · the fund could pay "
        "it now"
    )
    assert "▰" not in pending["Open requests (1)"]

    # The members vote with the buttons; the decision passes at its closing time.
    for voter in (alice, bob):
        await voter.click(proposal, label="No objection")
    clock.advance(timedelta(days=7, minutes=1))
    await simcord_bot.due.run_now()
    await simcord_env.settle()

    [request] = await rows(db, FundingRequest)
    assert (request.status, request.approved_amount) == ("approved", 15000)
    assert any("approved by the members (proposal #1) for 150.00 NZD" in text for text in dms(carol))
    thread = next(t for t in coop.governance.threads if t.id == proposal.thread.id)
    assert any("Funding request #1 is **approved** for 150.00 NZD" in m.content for m in thread.history())

    shown_fund = await alice.slash(coop.governance, "fund show", fund="Commons")
    assert raw_fields(shown_fund.response.embeds[0])["Committed"] == "150.00 NZD"
    assert raw_fields(shown_fund.response.embeds[0])["Open requests (1)"].endswith(
        "✅ Approved: 150.00 NZD, not paid yet · reserved in the fund"
    )
    assert raw_fields(shown_fund.response.embeds[0])["Available"] == "1,100.50 NZD"

    # The treasurer records the payout.
    said = reply(
        await coop.treasurer.slash(coop.governance, "fund request pay", request=1, reference="TX-42")
    )
    assert f"💸 Paid 150.00 NZD to {carol.mention} for request #1" in said
    assert "Balance now 1,100.50 NZD" in said
    assert any("payout of your funding request #1" in text and "TX-42" in text for text in dms(carol))

    # What everyone sees: the balance, nothing committed, and exactly these movements.
    embed = (await alice.slash(coop.governance, "fund show", fund="Commons")).response.embeds[0]
    shown_fields = raw_fields(embed)
    assert (shown_fields["Balance"], shown_fields["Committed"], shown_fields["Available"]) == (
        "1,100.50 NZD",
        "0.00 NZD",
        "1,100.50 NZD",
    )
    assert shown_fields["Open requests"] == "None."
    movements = shown_fields["Recent movements"].splitlines()
    assert len(movements) == 3
    assert "**-150.00 NZD** · payout" in movements[0] and "“TX-42”" in movements[0]
    assert "**+1,200.50 NZD** · contribution" in movements[1] and bob.mention in movements[1]
    assert "**+50.00 NZD** · contribution" in movements[2] and alice.mention in movements[2]

    ledger = (await bob.slash(coop.governance, "fund ledger", fund="Commons")).response.embeds[0]
    lines = (ledger.description or "").splitlines()
    assert len(lines) == 3 and lines[0].endswith("→ 1,100.50 NZD") and lines[2].endswith("→ 50.00 NZD")
    assert ledger.footer.text.startswith("Page 1 of 1 · 3 entries")

    # The CSV has every entry, and the chart is an image.
    exported = await carol.slash(coop.governance, "fund export", fund="Commons")
    [attachment] = exported.response.attachments
    assert attachment.filename == "fund-1-ledger.csv"
    table = list(csv.DictReader(io.StringIO((await attachment.read()).decode())))
    assert [(r["kind"], r["amount"], r["balance_after"]) for r in table] == [
        ("contribution", "50.00", "50.00"),
        ("contribution", "1200.50", "1250.50"),
        ("payout", "-150.00", "1100.50"),
    ]
    assert [int(r["entry"]) for r in table] == [e.id for e in await rows(db, LedgerEntry)]
    charted = await alice.slash(coop.governance, "fund chart", fund="Commons")
    [png] = charted.response.attachments
    image = Image.open(io.BytesIO(await png.read()))
    assert (image.format, image.width) == ("PNG", 800)

    assert await actions(db) == [
        "fund.create",
        "fund.contribution",
        "fund.contribution",
        "fund.contribution.confirm",
        "fund.contribution.confirm",
        "fund.request",
        "fund.request.approve",
        "fund.payout",
    ]
    assert_no_mass_pings(simcord_env)


async def test_a_treasurer_approves_below_the_threshold_never_above_it_nor_their_own(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    alice, bob, carol = coop.members
    await create_fund(coop, "Small things", policy="treasurer", limit="100")
    said = reply(
        await coop.treasurer.slash(
            coop.governance, "fund contribute", fund="Small things", amount="500", member=alice
        )
    )
    assert f"Recorded 500.00 NZD from {alice.mention} into **Small things**" in said

    # Within the limit: no proposal, a notice with Approve / Reject for treasurers.
    shown = await carol.slash(coop.governance, "fund request new", fund="Small things", amount="80")
    done = await carol.submit_modal(shown, {"purpose": "Paint"})
    assert "waits for a treasurer" in reply(done)
    notice = last_post(coop.governance, f"🧾 {carol.mention}")
    assert await refusal(await alice.click(notice, label="Approve")) == TREASURERS_ONLY
    await coop.treasurer.click(notice, label="Approve")
    notice = next(m for m in coop.governance.history() if m.id == notice.id)
    assert f"✅ Approved by {coop.treasurer.mention}: request #1 for 80.00 NZD" in notice.content
    assert any("approved by a treasurer for 80.00 NZD" in text for text in dms(carol))

    # Above the limit: the members decide, and a treasurer can't.
    shown = await bob.slash(coop.governance, "fund request new", fund="Small things", amount="100.01")
    assert "in the members' hands: proposal #1" in reply(
        await bob.submit_modal(shown, {"purpose": "A laptop"})
    )
    said = await refusal(await coop.treasurer.slash(coop.governance, "fund request approve", request=2))
    assert said == "Request #2 is being decided by the members in proposal #1; a treasurer can't decide it."
    # A treasurer approving more than the limit from a range is refused too.
    shown = await alice.slash(
        coop.governance, "fund request new", fund="Small things", amount="50", max_amount="90"
    )
    await alice.submit_modal(shown, {"purpose": "Chairs"})
    said = await refusal(
        await coop.treasurer.slash(coop.governance, "fund request approve", request=3, amount="95")
    )
    assert "approve within that" in said

    # Their own request: refused by command and by button; another treasurer may.
    trevor = coop.guild.add_member(
        coop.env.create_user("trevor"), roles=[coop.member_role, coop.treasurer_role]
    )
    shown = await coop.treasurer.slash(coop.governance, "fund request new", fund="Small things", amount="30")
    await coop.treasurer.submit_modal(shown, {"purpose": "Stamps"})
    said = await refusal(await coop.treasurer.slash(coop.governance, "fund request approve", request=4))
    assert said.startswith("Nobody approves their own request")
    own_notice = last_post(coop.governance, f"🧾 {coop.treasurer.mention}")
    assert (await refusal(await coop.treasurer.click(own_notice, label="Approve"))).startswith(
        "Nobody approves"
    )
    assert "own request" in await refusal(await coop.treasurer.click(own_notice, label="Reject"))
    said = await refusal(await trevor.slash(coop.governance, "fund request approve", request=4, amount="25"))
    assert said == "Request #4 asks for 30.00 NZD: approve within that."
    said = reply(await trevor.slash(coop.governance, "fund request approve", request=4))
    assert "request #4 for 30.00 NZD" in said
    # Nor may they pay it.
    said = await refusal(
        await coop.treasurer.slash(coop.governance, "fund request pay", request=4, reference="x")
    )
    assert said.startswith("Nobody pays their own request")

    # A plain member is refused by the bot's own check.
    said = await refusal(await alice.slash(coop.governance, "fund request approve", request=3))
    assert said == TREASURERS_ONLY

    requests = {r.id: (r.status, r.approved_amount) for r in await rows(db, FundingRequest)}
    assert requests == {
        1: ("approved", 8000),
        2: ("pending", None),
        3: ("pending", None),
        4: ("approved", 3000),
    }
    assert [e.amount for e in await rows(db, LedgerEntry)] == [50000]

    # A month later: the request nobody decided has expired and its requester is told; the one the
    # members decided was approved at its proposal's close.
    clock.advance(funds.REQUEST_LIFETIME + timedelta(minutes=1))
    await simcord_bot.due.run_now()
    await simcord_env.settle()
    statuses = {r.id: r.status for r in await rows(db, FundingRequest)}
    assert statuses == {1: "approved", 2: "approved", 3: "expired", 4: "approved"}
    assert any("request #3 (Chairs) from Small things expired" in text for text in dms(alice))


async def test_bad_amounts_and_another_cooperatives_fund_get_clear_private_refusals(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    alice = coop.alice
    await create_fund(coop)
    await coop.treasurer.slash(coop.governance, "fund contribute", fund="Commons", amount="100", member=alice)
    before = [await rows(db, model) for model in (Contribution, FundingRequest, LedgerEntry, Decision)]

    bad = {
        "-5": "The amount must be positive; type it without a minus sign.",
        "0": "The amount must be more than zero.",
        "12.345": "NZD amounts have at most 2 decimal places.",
        "NaN": "“NaN” is not an amount; type a number such as 12.50.",
        "inf": "“inf” is not an amount; type a number such as 12.50.",
        "Infinity": "“Infinity” is not an amount; type a number such as 12.50.",
        "1e9": "Write the amount in full, without exponent notation such as 1e5.",
        "99999999999999": "That is more than the largest amount coopbot handles (1,000,000,000,000 NZD).",
        "12,50": "Use a point for decimals, as in 12.50; commas only group thousands, as in 1,200.",
    }
    for typed, message in bad.items():
        assert (
            await refusal(await alice.slash(coop.governance, "fund contribute", fund="Commons", amount=typed))
            == message
        )
        assert (
            await refusal(
                await alice.slash(coop.governance, "fund request new", fund="Commons", amount=typed)
            )
            == message
        )
        said = await refusal(
            await alice.slash(
                coop.governance, "fund request new", fund="Commons", amount="5", max_amount=typed
            )
        )
        assert said == message
    said = await refusal(
        await alice.slash(coop.governance, "fund request new", fund="Commons", amount="20", max_amount="10")
    )
    assert said == "The maximum (10.00 NZD) is less than the minimum (20.00 NZD)."
    assert (
        await refusal(await coop.treasurer.slash(coop.governance, "fund create", name="Gold", currency="XAU"))
        == "“XAU” is not an ISO 4217 currency code (for example NZD, EUR, USD)."
    )
    assert await refusal(
        await coop.treasurer.slash(coop.governance, "fund create", name="Petty", policy="treasurer")
    ) == (
        "With the treasurer policy, give a limit: the largest request a treasurer may approve "
        "(larger ones go to the members)."
    )

    # Another cooperative, even its treasurers and moderators, cannot see or touch this fund by number.
    other = build_coop(simcord_env, name="Other Collective")
    await configure(other, db, clock)
    for who in (other.treasurer, other.moderator):
        for command, options in [
            ("fund show", {"fund": "#1"}),
            ("fund show", {"fund": "Commons"}),
            ("fund ledger", {"fund": "1"}),
            ("fund export", {"fund": "#1"}),
            ("fund chart", {"fund": "#1"}),
            ("fund contribute", {"fund": "#1", "amount": "5"}),
            ("fund request new", {"fund": "#1", "amount": "5"}),
        ]:
            said = await refusal(await who.slash(other.governance, command, **options))
            assert said in (
                "There is no fund #1 in this server.",
                "There is no fund “Commons” in this server.",
            )
        said = await refusal(await who.slash(other.governance, "fund contribution confirm", contribution=1))
        if who is other.treasurer:
            assert said == "There is no contribution #1 in this server."
        else:  # a moderator moves no money, here or anywhere
            assert said.startswith("Only treasurers move money.")
        said = await refusal(await who.slash(other.governance, "fund correct", entry=1, reason="mine now"))
        assert said == "There is no ledger entry #1 in this server."
    after = [await rows(db, model) for model in (Contribution, FundingRequest, LedgerEntry, Decision)]
    assert [[r.model_dump() for r in table] for table in after] == [
        [r.model_dump() for r in t] for t in before
    ]


async def test_requests_from_another_cooperative_are_out_of_reach(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await create_fund(coop, policy="treasurer", limit="100")
    await coop.treasurer.slash(
        coop.governance, "fund contribute", fund="Commons", amount="100", member=coop.alice
    )
    shown = await coop.alice.slash(coop.governance, "fund request new", fund="Commons", amount="10")
    await coop.alice.submit_modal(shown, {"purpose": "Tea"})
    other = build_coop(simcord_env, name="Other Collective")
    await configure(other, db, clock)
    for command, options in [
        ("fund request show", {}),
        ("fund request approve", {}),
        ("fund request reject", {}),
        ("fund request cancel", {}),
        ("fund request pay", {"reference": "x"}),
    ]:
        said = await refusal(await other.treasurer.slash(other.governance, command, request=1, **options))
        assert said == "There is no funding request #1 in this server."
    [request] = await rows(db, FundingRequest)
    assert request.status == "pending"


async def test_a_rejected_request_is_told_in_the_thread_when_dms_are_closed(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    _alice, bob, carol = coop.members
    await create_fund(coop)
    shown = await carol.slash(coop.governance, "fund request new", fund="Commons", amount="40")
    await carol.submit_modal(shown, {"purpose": f"Thank @everyone and <@&{coop.member_role.id}>"})
    proposal = await proposal_of(coop, db, 1)
    objecting = await bob.click(proposal, label="Objection")
    await bob.submit_modal(objecting, {"reason": "The fund is empty"})

    simcord_env.inject_error(
        "POST", f"/channels/{carol.user.dm_channel.id}/messages", status=403, code=50007, times=None
    )
    clock.advance(timedelta(days=7, minutes=1))
    await simcord_bot.due.run_now()
    await simcord_env.settle()

    [request] = await rows(db, FundingRequest)
    assert request.status == "rejected"
    thread = next(t for t in coop.governance.threads if t.id == proposal.thread.id)
    [told] = [m for m in thread.history() if m.content.startswith(carol.mention)]
    assert "was not approved by the members" in told.content and "The fund is empty" in told.content
    # The purpose (typed by the requester) is echoed, but only the requester is pinged.
    assert "Thank @everyone" in told.content
    assert pinged(simcord_env, told) == ([carol.id], [], False)
    assert_no_mass_pings(simcord_env)


async def test_contributions_rejected_from_the_notice_and_refused_to_members(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    alice = coop.alice
    await create_fund(coop)
    await alice.slash(coop.governance, "fund contribute", fund="Commons", amount="75", note="cash")
    notice = last_post(coop.governance, f"💰 {alice.mention}")
    said = await refusal(await alice.click(notice, label="Confirm (money arrived)"))
    assert said == TREASURERS_ONLY
    said = await refusal(await alice.slash(coop.governance, "fund contribution confirm", contribution=1))
    assert said == TREASURERS_ONLY
    listed = await coop.treasurer.slash(coop.governance, "fund contribution list")
    assert "**#1** 75.00 NZD to Commons" in (listed.response.embeds[0].description or "")

    form = await coop.treasurer.click(notice, label="Reject")
    await coop.treasurer.submit_modal(form, {"reason": "Nothing in the account"})
    notice = next(m for m in coop.governance.history() if m.id == notice.id)
    assert "❌ Rejected by" in notice.content and "Nothing in the account" in notice.content
    assert any("was not confirmed" in text and "Nothing in the account" in text for text in dms(alice))
    said = await refusal(
        await coop.treasurer.slash(coop.governance, "fund contribution confirm", contribution=1)
    )
    assert said == "Contribution #1 is rejected, not pending."
    assert await rows(db, LedgerEntry) == []
    assert [c.status for c in await rows(db, Contribution)] == ["rejected"]


async def test_the_ledger_pages_with_buttons_that_survive_a_restart_and_corrections_reverse(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await create_fund(coop)
    for amount in range(1, 13):
        await funds.record_contribution(
            db,
            guild_id=coop.guild.id,
            fund="Commons",
            actor=Actor(user_id=coop.treasurer.id, role_ids=frozenset({coop.treasurer_role.id})),
            amount=str(amount),
            idempotency_key=f"seed-{amount}",
            now=clock.now(),
            member_id=coop.alice.id,
        )
    said = reply(
        await coop.moderator.slash(coop.governance, "fund correct", entry=3, reason="Typed 3, was 30")
    )
    assert "Entry #3 is corrected by entry #13 (-3.00 NZD). Balance of **Commons** now 75.00 NZD." in said
    said = await refusal(await coop.moderator.slash(coop.governance, "fund correct", entry=3, reason="again"))
    assert said == "Entry #3 was already corrected by entry #13."
    said = await refusal(await coop.alice.slash(coop.governance, "fund correct", entry=4, reason="mine"))
    assert said == "Only treasurers or moderators can do this."

    first = await coop.alice.slash(coop.governance, "fund ledger", fund="Commons")
    embed = first.response.embeds[0]
    assert embed.footer.text.startswith("Page 1 of 2 · 13 entries")
    assert (embed.description or "").splitlines()[0].startswith("`#13`")

    assert first.response is not None
    await restart(simcord_env, settings, clock)
    await coop.alice.click(first.response, label="Older")
    page = next(m for m in coop.governance.history(viewer=coop.alice) if m.id == first.response.id)
    assert page.embeds[0].footer.text.startswith("Page 2 of 2")
    lines = (page.embeds[0].description or "").splitlines()
    assert [line.split("`")[1] for line in lines] == ["#3", "#2", "#1"]
    assert lines[0].startswith("~~") and "(corrected by #13)" in lines[0]
    await coop.alice.click(page, label="Newer")
    page = next(m for m in coop.governance.history(viewer=coop.alice) if m.id == first.response.id)
    assert page.embeds[0].footer.text.startswith("Page 1 of 2")

    only_corrections = await coop.alice.slash(coop.governance, "fund ledger", fund="Commons", kind="reversal")
    description = only_corrections.response.embeds[0].description or ""
    assert "reverses #3" in description and "why: Typed 3, was 30" in description
    assert [e.amount for e in await rows(db, LedgerEntry)][-1] == -300


async def test_a_requester_cancels_and_the_proposal_shows_it(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    alice, bob, _carol = coop.members
    await create_fund(coop)
    shown = await alice.slash(coop.governance, "fund request new", fund="Commons", amount="10")
    await alice.submit_modal(shown, {"purpose": "Snacks"})
    said = await refusal(await bob.slash(coop.governance, "fund request cancel", request=1))
    assert said == "Only the requester, a treasurer or a moderator can cancel request #1."
    # Closing the proposal early would let the requester approve their own request: nobody may, and the
    # requester and a moderator are told the same.
    said = await refusal(await alice.slash(coop.governance, "proposal close", proposal=1))
    assert said.startswith("Proposal #1 runs its full time, until <t:")
    assert said.endswith(": nobody closes it early. It can be cancelled instead.")
    assert await refusal(await coop.moderator.slash(coop.governance, "proposal close", proposal=1)) == said
    said = reply(await alice.slash(coop.governance, "fund request cancel", request=1, reason="Not needed"))
    assert said == "Request #1 is cancelled. Its proposal #1 is cancelled too."
    proposal = await proposal_of(coop, db, 1)
    assert "(cancelled)" in (proposal.embeds[0].title or "")
    listed = await bob.slash(coop.governance, "fund request list", status="all")
    assert "🚫 cancelled" in (listed.response.embeds[0].description or "")
    assert await actions(db) == ["fund.create", "fund.request", "fund.request.cancel"]


async def test_autocomplete_offers_this_cooperatives_funds_and_requests(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await create_fund(coop, "Commons")
    await create_fund(coop, "Travel", currency="EUR", policy="treasurer", limit="50")
    other = build_coop(simcord_env, name="Other Collective")
    await configure(other, db, clock)
    await other.treasurer.slash(other.governance, "fund create", name="Secret stash")

    choices = await coop.alice.autocomplete(coop.governance, "fund show", "fund", "")
    assert [c["value"] for c in choices] == ["Commons", "Travel"]
    choices = await coop.alice.autocomplete(coop.governance, "fund show", "fund", "tra")
    assert [c["name"] for c in choices] == ["Travel · EUR"]
    shown = await coop.alice.slash(coop.governance, "fund request new", fund="Travel", amount="20")
    await coop.alice.submit_modal(shown, {"purpose": "Train to the retreat"})
    choices = await coop.treasurer.autocomplete(coop.governance, "fund request approve", "request", "")
    assert [c["name"] for c in choices] == ["#1 Train to the retreat · 20.00 EUR · pending"]
    assert await other.treasurer.autocomplete(other.governance, "fund request approve", "request", "") == []
