"""Nothing due is lost when Discord stumbles (issue 16): each message the bot owes (a close's result and the
proposal's edit, an admission's role and welcome, a personal reminder, a closing-soon nudge, a digest, a
treasurer's notice) meets a 503 from Discord at the moment it is sent, is kept as owed, and arrives once when
it is tried again; a refusal that will stand (403) is given up and shown to moderators."""

from __future__ import annotations

from datetime import timedelta

import simcord
from sqlmodel import col, select

from bot import CoopBot
from governance import outbox
from governance.clock import ManualClock
from storage.database import Database
from storage.models import Decision, DeliveryStatus, OwedMessage
from tests.cogs.helpers import (
    AGREE,
    INTRODUCE,
    PROFILE,
    fields,
    join,
    proposal_message,
    propose,
    welcome_of,
    write_charter,
)
from tests.conftest import Coop, allow_command


def _unavailable(env: simcord.Env, method: str, path: str) -> None:
    """The next matching call gets Discord's 503 (which discord.py does not retry)."""
    env.inject_error(method, path, status=503, message="Service Unavailable (injected)")


RETRY = outbox.FIRST_RETRY + timedelta(seconds=1)


async def _tick(bot: CoopBot, env: simcord.Env) -> None:
    await bot.due.run_now()
    await env.settle()


async def _owed(db: Database) -> list[OwedMessage]:
    async with db.read() as session:
        return list((await session.exec(select(OwedMessage).order_by(col(OwedMessage.id)))).all())


async def _decision(db: Database, decision_id: int = 1) -> Decision:
    async with db.read() as session:
        decision = await session.get(Decision, decision_id)
    assert decision is not None
    return decision


def _thread(coop: Coop, decision: Decision) -> simcord.ChannelHandle:
    return next(thread for thread in coop.governance.threads if thread.id == decision.thread_id)


def _containing(channel: simcord.ChannelHandle, text: str) -> list[str]:
    return [message.content for message in channel.history() if text in message.content]


async def test_a_close_whose_result_and_edit_meet_503s_is_announced_once_when_tried_again(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Buy a kettle", type="consent", closes="3d")
    await coop.members[1].click(await proposal_message(coop, db, 1), label="No objection")
    decision = await _decision(db)
    thread = _thread(coop, decision)

    # The proposal's edit fails first; on the next try the edit goes through and the result post fails.
    _unavailable(simcord_env, "PATCH", f"/channels/{coop.governance.id}/messages/*")
    clock.set(decision.closes_at + timedelta(seconds=1))
    await _tick(simcord_bot, simcord_env)
    [owed] = await _owed(db)
    assert (owed.status, owed.attempts, owed.payload.get("done", [])) == ("pending", 1, [])
    assert "503" in owed.last_error
    assert "Final count" not in fields(await proposal_message(coop, db, 1))
    assert not _containing(thread, "has closed")
    assert (await _decision(db)).announced_at is None

    _unavailable(simcord_env, "POST", f"/channels/{thread.id}/messages")
    clock.advance(RETRY)
    await _tick(simcord_bot, simcord_env)
    assert "Final count" in fields(await proposal_message(coop, db, 1))
    assert not _containing(thread, "has closed")

    clock.advance(RETRY * 3)
    await _tick(simcord_bot, simcord_env)
    await _tick(simcord_bot, simcord_env)  # a later pass finds nothing owed
    assert len(_containing(thread, "**#1 has closed.**")) == 1
    [owed] = await _owed(db)
    assert (owed.status, owed.attempts) == ("delivered", 3)
    assert (await _decision(db)).announced_at is not None


async def test_an_admission_whose_role_meets_a_503_is_carried_out_once(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await join(coop, "nina")
    await nina.click(welcome_of(coop, nina), label=AGREE)
    await nina.submit_modal(await nina.click(welcome_of(coop, nina), label=INTRODUCE), PROFILE)
    await nina.slash(coop.governance, "member apply", sponsor=coop.alice, statement="Count me in.")
    for member in coop.members:
        await member.click(await proposal_message(coop, db, 1), label="No objection")
    decision = await _decision(db)

    _unavailable(simcord_env, "PUT", f"/guilds/{coop.guild.id}/members/{nina.id}/roles/*")
    clock.set(decision.closes_at + timedelta(seconds=1))
    await _tick(simcord_bot, simcord_env)
    assert coop.member_role.id not in simcord_env.backend.get_member(coop.guild.id, nina.id).role_ids
    [owed] = await _owed(db)
    done = owed.payload["done"]
    assert owed.status == "pending" and {"message", "result"} <= set(done)
    assert not [step for step in done if "Onboarding" in step]  # the admission is still owed

    clock.advance(RETRY)
    await _tick(simcord_bot, simcord_env)
    await _tick(simcord_bot, simcord_env)
    assert coop.member_role.id in simcord_env.backend.get_member(coop.guild.id, nina.id).role_ids
    assert len([m for m in nina.user.dm_channel.history() if "Welcome as a member" in m.content]) == 1
    assert len(_containing(_thread(coop, decision), "**#1 has closed.**")) == 1
    assert [owed.status for owed in await _owed(db)] == ["delivered"]


async def test_a_personal_reminder_a_nudge_and_a_digest_that_meet_503s_arrive_once_later(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await allow_command(coop, "reminder", coop.moderator_role)
    await coop.alice.slash(coop.governance, "remind me", when="in 2h", what="Call the bank")
    # 09:00 UTC is 22:00 on Thursday in Auckland: the digest comes an hour later.
    await coop.moderator.slash(coop.governance, "reminder digest", channel=coop.welcome, day=3, time="23:00")
    await propose(coop, coop.members[1], "Repaint the hall", type="consent", closes="5h")
    decision = await _decision(db)
    thread = _thread(coop, decision)
    dms = coop.alice.user.dm_channel

    for channel in (dms, thread, coop.welcome):
        _unavailable(simcord_env, "POST", f"/channels/{channel.id}/messages")
    clock.advance(timedelta(hours=3))  # past the digest (1 h), the reminder (2 h) and the nudge (halfway)
    await _tick(simcord_bot, simcord_env)
    assert not _containing(dms, "Call the bank")
    assert not _containing(coop.governance, "Call the bank")  # a failed DM is not said in public
    assert not _containing(thread, "Not voted yet")
    assert not [m for m in coop.welcome.history() if m.embeds]
    assert sorted((owed.kind, owed.status) for owed in await _owed(db)) == [
        ("closing-soon", "pending"),
        ("reminder-run", "pending"),
        ("reminder-run", "pending"),
    ]

    clock.advance(RETRY)
    await _tick(simcord_bot, simcord_env)
    await _tick(simcord_bot, simcord_env)
    assert len(_containing(dms, "Call the bank")) == 1
    assert len(_containing(thread, "Not voted yet")) == 1
    assert len([m for m in coop.welcome.history() if m.embeds]) == 1
    assert sorted(owed.status for owed in await _owed(db)) == ["delivered"] * 3


async def test_a_message_discord_refuses_for_good_is_given_up_and_shown_to_moderators(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Buy a kettle", type="consent", closes="3d")
    decision = await _decision(db)
    thread = _thread(coop, decision)
    simcord_env.inject_error(
        "POST",
        f"/channels/{thread.id}/messages",
        status=403,
        code=50013,
        message="Missing Permissions",
        times=None,
    )
    clock.set(decision.closes_at + timedelta(seconds=1))
    await _tick(simcord_bot, simcord_env)
    [owed] = await _owed(db)
    assert (owed.status, owed.attempts) == (DeliveryStatus.FAILED.value, 1)  # never tried for ever
    assert "403" in owed.last_error

    await allow_command(coop, "coop", coop.moderator_role)
    shown = await coop.moderator.slash(coop.governance, "coop settings")
    [embed] = shown.response.embeds
    undelivered = {field.name: field.value or "" for field in embed.fields}["Could not be delivered"]
    assert undelivered.startswith("1 message in the last 7 days")
    assert "the result of proposal #1" in undelivered and "403" in undelivered


async def test_a_proposal_whose_message_was_deleted_still_gets_its_result_in_the_thread(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Buy a kettle", type="consent", closes="3d")
    decision = await _decision(db)
    simcord_env.inject_error(
        "PATCH",
        f"/channels/{decision.channel_id}/messages/{decision.message_id}",
        status=404,
        code=10008,
        message="Unknown Message",
        times=None,
    )
    clock.set(decision.closes_at + timedelta(seconds=1))
    await _tick(simcord_bot, simcord_env)

    [owed] = await _owed(db)
    assert owed.status == DeliveryStatus.DELIVERED.value
    assert len(_containing(_thread(coop, decision), "#1 has closed")) == 1


async def test_the_treasurers_notices_that_meet_503s_are_posted_once_later(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await coop.treasurer.slash(
        coop.governance, "fund create", name="Commons", policy="treasurer", limit="100"
    )
    await coop.treasurer.slash(
        coop.governance, "fund contribute", fund="Commons", amount="80", member=coop.alice
    )

    _unavailable(simcord_env, "POST", f"/channels/{coop.governance.id}/messages")
    said = await coop.alice.slash(coop.governance, "fund contribute", fund="Commons", amount="20")
    assert "is pending until a treasurer confirms" in said.response.content  # the member is answered
    _unavailable(simcord_env, "POST", f"/channels/{coop.governance.id}/messages")
    shown = await coop.members[1].slash(coop.governance, "fund request new", fund="Commons", amount="30")
    await coop.members[1].submit_modal(shown, {"purpose": "Tea"})
    assert not _containing(coop.governance, "💰") and not _containing(coop.governance, "🧾")
    assert sorted((owed.kind, owed.status) for owed in await _owed(db)) == [
        ("contribution-notice", "pending"),
        ("request-notice", "pending"),
    ]

    clock.advance(RETRY)
    await _tick(simcord_bot, simcord_env)
    await _tick(simcord_bot, simcord_env)
    assert len(_containing(coop.governance, "💰")) == 1 and len(_containing(coop.governance, "🧾")) == 1
    assert [owed.status for owed in await _owed(db)] == ["delivered", "delivered"]


def test_what_counts_as_a_stumble_and_what_as_a_refusal_that_stands() -> None:
    """Timeouts and lost connections are tried again like Discord's 5xx and 429; 403 and 404 are not."""
    import aiohttp
    import discord

    from cogs._delivery import Undeliverable, is_transient

    class Response:
        def __init__(self, status: int) -> None:
            self.status, self.reason = status, "x"

    def http(kind: type[discord.HTTPException], status: int) -> discord.HTTPException:
        return kind(Response(status), {"message": "x", "code": 0})

    assert is_transient(TimeoutError())
    assert is_transient(aiohttp.ServerDisconnectedError())
    assert is_transient(ConnectionResetError())
    assert is_transient(http(discord.DiscordServerError, 503))
    assert is_transient(http(discord.HTTPException, 429))
    assert not is_transient(http(discord.Forbidden, 403))
    assert not is_transient(http(discord.NotFound, 404))
    assert not is_transient(http(discord.HTTPException, 400))
    assert not is_transient(Undeliverable("the channel is gone"))
