"""Onboarding and membership as people live it in Discord (SimCord): joining, the charter, the introduction,
applying, the members' decision, moderators' changes, leaving."""

from __future__ import annotations

from datetime import timedelta

import discord
import simcord
from discord import app_commands
from sqlmodel import col, select

from bot import CoopBot
from config import Settings
from governance import decisions, membership
from governance.clock import ManualClock
from governance.coop import get_settings
from storage.database import Database
from storage.models import Application, AuditEvent, Decision, Member
from tests.cogs.helpers import (
    AGREE,
    CHARTER,
    INTRODUCE,
    PROFILE,
    close_due,
    contributor,
    join,
    role_ids,
    welcome_of,
    write_charter,
)
from tests.conftest import Coop, allow_command, restart

# --- helpers -------------------------------------------------------------------------------------------


def button_labels(message: discord.Message) -> list[str]:
    return [str(getattr(child, "label", "")) for row in message.components for child in row.children]


def text_of(message: discord.Message | simcord.ResponseMessage | None) -> str:
    """The description of a message's first embed."""
    assert message is not None
    return message.embeds[0].description or ""


async def row_of(db: Database, coop: Coop, person: simcord.MemberActor) -> Member | None:
    return await membership.get_member(db, coop.guild.id, person.id)


async def audit_actions(db: Database, coop: Coop, person: simcord.MemberActor | None = None) -> list[str]:
    async with db.read() as session:
        query = select(AuditEvent).where(AuditEvent.guild_id == coop.guild.id).order_by(col(AuditEvent.id))
        if person is not None:
            query = query.where(AuditEvent.subject == f"member:{person.id}")
        return [event.action for event in (await session.exec(query)).all()]


async def refusal(result: simcord.InteractionResult) -> str:
    assert result.ephemeral
    assert result.response is not None
    content = result.response.content
    assert 0 < len(content) <= 400
    assert "went wrong" not in content
    return content


def sent(env: simcord.Env, content: str) -> dict[str, object]:
    """What the bot asked Discord to post with this content (to see whom it meant to notify)."""
    for request in reversed(env.http_requests):
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("content") == content:
            return body
    raise AssertionError(f"the bot never sent {content!r}")


def proposal_message(coop: Coop, decision_id: int) -> discord.Message:
    return next(
        m for m in coop.governance.history() if m.embeds and m.embeds[0].title.startswith(f"#{decision_id} ·")
    )


def bot_role(coop: Coop) -> discord.Role:
    me = coop.guild.me
    assert me is not None
    return me.top_role


# --- the path: join, agree, introduce, apply, admitted ---------------------------------------------------


async def test_newcomer_is_welcomed_agrees_and_introduces_themselves(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await join(coop, "nina")

    welcome = welcome_of(coop, nina)
    mentions = sent(simcord_env, welcome.content)["allowed_mentions"]
    assert mentions == {"parse": [], "users": [nina.id]}
    assert CHARTER in text_of(welcome)
    assert button_labels(welcome) == [AGREE, INTRODUCE]
    dm = nina.user.dm_channel.history()
    assert len(dm) == 1 and button_labels(dm[0]) == [AGREE, INTRODUCE]
    row = await row_of(db, coop, nina)
    assert row is not None and row.status == "visitor"

    agreed = await nina.click(welcome, label=AGREE)
    assert agreed.ephemeral and "You are now a contributor" in agreed.response.content
    assert coop.contributor_role.id in role_ids(nina)
    row = await row_of(db, coop, nina)
    assert row is not None
    assert (row.status, row.charter_version, row.charter_accepted_at) == ("contributor", 1, clock.now())

    # A second click (here in the DM) records nothing more.
    again = await nina.user.click(dm[0], label=AGREE)
    assert "already agreed to version 1" in again.response.content

    shown = await nina.user.click(dm[0], label=INTRODUCE)
    assert shown.modal is not None
    done = await nina.user.submit_modal(shown, PROFILE)
    assert "Your introduction is saved and posted" in done.response.content
    row = await row_of(db, coop, nina)
    assert row is not None
    assert (row.display_name, row.skills, row.member_timezone) == (
        "Nina Kahu",
        PROFILE["skills"],
        "Pacific/Auckland",
    )
    posted = coop.welcome.history()[-1]
    assert posted.content == f"{nina.mention} introduced themselves."
    assert posted.embeds[0].title == "👋 Meet Nina Kahu"
    # No picture of her own: no thumbnail (a default avatar's URL may not load, e.g. in the sandbox).
    assert not posted.embeds[0].thumbnail
    assert sent(simcord_env, posted.content)["allowed_mentions"] == {"parse": []}  # shown, not pinged
    assert await audit_actions(db, coop, nina) == ["member.join", "member.charter", "member.introduce"]

    # The profile and the directory show it.
    profile = await coop.alice.slash(coop.governance, "member profile", user=nina)
    fields = {field.name: field.value for field in profile.response.embeds[0].fields}
    assert profile.response.embeds[0].title == "Nina Kahu"
    assert fields["Skills"] == PROFILE["skills"]
    assert fields["In the cooperative"].startswith("Contributor")
    listed = await coop.alice.slash(coop.governance, "member list", skill="māori")
    assert "Nina Kahu" in text_of(listed.response)


async def test_a_closed_dm_is_no_error_and_the_welcome_channel_still_greets(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    user = simcord_env.create_user("quiet")
    simcord_env.inject_error(
        "POST",
        f"/channels/{user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
    )
    quiet = coop.guild.add_member(user)
    await simcord_env.settle()

    welcome = welcome_of(coop, quiet)
    # No charter yet: only the introduction is offered.
    assert button_labels(welcome) == [INTRODUCE]
    assert "still being written" in text_of(welcome)
    assert quiet.user.dm_channel.history() == []
    row = await row_of(db, coop, quiet)
    assert row is not None and row.status == "visitor"


async def test_welcome_buttons_work_after_a_restart(
    configured: Coop, simcord_env: simcord.Env, settings: Settings, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await join(coop, "nina")

    await restart(simcord_env, settings, clock)

    agreed = await nina.click(welcome_of(coop, nina), label=AGREE)
    assert "You are now a contributor" in agreed.response.content
    assert coop.contributor_role.id in role_ids(nina)
    shown = await nina.user.click(nina.user.dm_channel.history()[0], label=INTRODUCE)
    await nina.user.submit_modal(shown, PROFILE)
    row = await row_of(db, coop, nina)
    assert row is not None and row.display_name == "Nina Kahu" and row.status == "contributor"


async def test_an_application_passes_and_the_member_role_is_granted(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await contributor(coop, db, clock)

    applied = await nina.slash(
        coop.governance, "member apply", sponsor=coop.alice, statement="I'd love to share the load."
    )
    assert "proposal #1" in applied.response.content
    proposal = proposal_message(coop, 1)
    assert proposal.embeds[0].title == "#1 · Admit Nina Kahu as member"
    assert "Sponsored by" in text_of(proposal)
    async with db.read() as session:
        decision = await session.get(Decision, 1)
        application = (await session.exec(select(Application))).one()
    assert decision is not None and decision.kind == "consent" and decision.link_kind == "admission"
    assert (application.status, application.sponsor_id, application.decision_id) == ("open", coop.alice.id, 1)
    # The applicant can't vote on their own admission, the members can.
    assert "role can vote" in await refusal(await nina.click(proposal, label="No objection"))
    for member in coop.members:
        await member.click(proposal, label="No objection")

    await close_due(simcord_env, simcord_bot, clock, timedelta(days=8))

    assert coop.member_role.id in role_ids(nina)
    row = await row_of(db, coop, nina)
    assert row is not None and (row.status, row.admitted_at) == ("member", clock.now())
    assert "Welcome as a member" in nina.user.dm_channel.history()[-1].content
    assert await audit_actions(db, coop, nina) == [
        "member.join",
        "member.charter",
        "member.introduce",
        "member.apply",
        "member.admit",
        "member.promote",
    ]
    again = await refusal(await nina.slash(coop.governance, "member apply"))
    assert again == "You are already a member of the cooperative."


async def test_an_admission_closed_just_before_a_crash_is_carried_out_once_after_the_restart(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    settings: Settings,
    clock: ManualClock,
    db: Database,
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await contributor(coop, db, clock)
    await nina.slash(coop.governance, "member apply", sponsor=coop.alice, statement="Count me in.")
    for member in coop.members:
        await member.click(proposal_message(coop, 1), label="No objection")

    # The close is committed, then the process dies before Discord hears of it: no role yet.
    await simcord_bot.close()
    clock.advance(timedelta(days=8))
    closed = await decisions.close_decision(
        db, guild_id=coop.guild.id, decision_id=1, eligible=len(coop.members), now=clock.now()
    )
    assert closed is not None and closed.result.passed
    before = await row_of(db, coop, nina)
    assert before is not None and before.status == "contributor"

    # The close owes its announcement: the next process delivers it, and the admission is carried out with
    # it, once (a second restart finds nothing owed).
    await restart(simcord_env, settings, clock)
    await simcord_env.settle()
    await restart(simcord_env, settings, clock)
    await simcord_env.settle()
    # (Discord's record of her roles: the restarted bot has not loaded every member.)
    assert coop.member_role.id in simcord_env.backend.get_member(coop.guild.id, nina.id).role_ids
    row = await row_of(db, coop, nina)
    assert row is not None and row.status == "member"
    welcomes = [m for m in nina.user.dm_channel.history() if "Welcome as a member" in m.content]
    assert len(welcomes) == 1
    assert (await audit_actions(db, coop, nina))[-2:] == ["member.admit", "member.promote"]


async def test_a_failed_admission_tells_the_applicant_kindly_and_gives_no_role(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await contributor(coop, db, clock)
    await nina.slash(coop.governance, "member apply")
    shown = await coop.members[1].click(proposal_message(coop, 1), label="Objection")
    await coop.members[1].submit_modal(shown, {"reason": "Let's get to know Nina on a project first."})

    await close_due(simcord_env, simcord_bot, clock, timedelta(days=8))

    assert coop.member_role.id not in role_ids(nina)
    told = nina.user.dm_channel.history()[-1].content
    assert "did not agree to admit you" in told
    assert "> Let's get to know Nina on a project first." in told
    assert coop.members[1].mention not in told  # reasons, not names
    row = await row_of(db, coop, nina)
    assert row is not None and row.status == "contributor"
    async with db.read() as session:
        application = (await session.exec(select(Application))).one()
    assert application.status == "declined"
    # A new application can follow.
    reapplied = await nina.slash(coop.governance, "member apply")
    assert "proposal #2" in reapplied.response.content


# --- refusals --------------------------------------------------------------------------------------------


async def test_refusals_are_clear_and_change_nothing(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await join(coop, "nina")

    # Applying before agreeing to the charter.
    refused = await refusal(await nina.slash(coop.governance, "member apply"))
    assert refused.startswith("Agree to the charter first")

    await nina.click(welcome_of(coop, nina), label=AGREE)
    # A sponsor who is not a member.
    refused = await refusal(await nina.slash(coop.governance, "member apply", sponsor=coop.contributor))
    assert "is not a member of the cooperative, so they can't sponsor you" in refused
    async with db.read() as session:
        assert (await session.exec(select(Application))).all() == []

    # Applying twice.
    await nina.slash(coop.governance, "member apply")
    refused = await refusal(await nina.slash(coop.governance, "member apply"))
    assert refused.startswith("You already have an open application: proposal #1")
    async with db.read() as session:
        assert len((await session.exec(select(Application))).all()) == 1

    # A profile field over its limit: refused, and the text is kept for another try.
    shown = await nina.slash(coop.governance, "member edit")
    too_long = {**PROFILE, "skills": "carpentry " * 60}
    refused_result = await nina.submit_modal(shown, too_long)
    refused = await refusal(refused_result)
    assert refused.startswith("Skills is at most 500 characters (yours has 599)")
    row = await row_of(db, coop, nina)
    assert row is not None and row.skills is None
    assert refused_result.response is not None
    retry = await nina.click(refused_result.response, label="Edit again")
    assert retry.modal is not None
    skills_input = next(
        component
        for row_ in retry.modal["components"]
        for component in row_["components"]
        if component["custom_id"] == "skills"
    )
    assert skills_input["value"] == too_long["skills"]
    refused = await refusal(await nina.submit_modal(retry, {**PROFILE, "timezone": "Mars/Olympus"}))
    assert "I don't know the timezone" in refused

    # A plain member using /mod, with Discord's hint lifted so that only the bot's check stands.
    await allow_command(coop, "mod", coop.member_role)
    refused = await refusal(
        await coop.alice.slash(coop.governance, "mod member promote", user=nina, reason="she's great")
    )
    assert refused.startswith("Only moderators")
    assert coop.member_role.id not in role_ids(nina)
    assert "member.promote" not in await audit_actions(db, coop)


# --- moderators ------------------------------------------------------------------------------------------


async def test_moderators_promote_demote_and_remove_with_reasons(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    await allow_command(coop, "mod", coop.moderator_role)
    nina = await contributor(coop, db, clock)

    done = await coop.moderator.slash(
        coop.governance, "mod member promote", user=nina, reason="Founding team"
    )
    assert done.response.content.startswith(f"{nina.mention} is now a member.")
    assert coop.member_role.id in role_ids(nina)
    assert (await row_of(db, coop, nina)).status == "member"

    done = await coop.moderator.slash(coop.governance, "mod member demote", user=nina, reason="On leave")
    assert coop.member_role.id not in role_ids(nina) and coop.contributor_role.id in role_ids(nina)
    assert (await row_of(db, coop, nina)).status == "contributor"

    done = await coop.moderator.slash(coop.governance, "mod member remove", user=nina, reason="Asked to")
    assert "no longer in the cooperative" in done.response.content
    assert not role_ids(nina) & {coop.member_role.id, coop.contributor_role.id}
    row = await row_of(db, coop, nina)
    assert row is not None and row.status == "departed" and row.display_name == "Nina Kahu"

    async with db.read() as session:
        events = (await session.exec(select(AuditEvent).where(col(AuditEvent.action).like("member.%")))).all()
    moderation = [
        (e.action, e.actor_id, e.details.get("reason"))
        for e in events
        if e.subject == f"member:{nina.id}" and e.actor_id == coop.moderator.id
    ]
    assert moderation == [
        ("member.promote", coop.moderator.id, "Founding team"),
        ("member.demote", coop.moderator.id, "On leave"),
        ("member.remove", coop.moderator.id, "Asked to"),
    ]
    refused = await refusal(
        await coop.moderator.slash(coop.governance, "mod member demote", user=nina, reason="again")
    )
    assert "is not a member" in refused


async def test_without_manage_roles_the_moderator_is_told_what_to_fix_and_nothing_is_recorded(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    await allow_command(coop, "mod", coop.moderator_role)
    nina = await contributor(coop, db, clock)
    events_before = await audit_actions(db, coop)

    role = bot_role(coop)
    without = discord.Permissions(role.permissions.value)
    without.manage_roles = False
    simcord_env.backend.edit_role(coop.guild.id, role.id, {"permissions": without.value})
    await simcord_env.settle()

    told = await coop.moderator.slash(coop.governance, "mod member promote", user=nina, reason="Ready")
    text = told.response.content
    assert f"I can't give {coop.member_role.mention}" in text
    assert "Manage Roles" in text
    assert "Nothing was changed, and nothing was recorded." in text
    assert coop.member_role.id not in role_ids(nina)
    assert (await row_of(db, coop, nina)).status == "contributor"
    assert await audit_actions(db, coop) == events_before

    # A newcomer who agrees meanwhile: the agreement is recorded, the role and the status are not; the
    # moderators are told in the governance channel.
    omar = await join(coop, "omar")
    agreed = await omar.click(welcome_of(coop, omar), label=AGREE)
    assert "couldn't give you the contributor role yet" in agreed.response.content
    row = await row_of(db, coop, omar)
    assert row is not None and (row.status, row.charter_version) == ("visitor", 1)
    assert coop.contributor_role.id not in role_ids(omar)
    warning = coop.governance.history()[-1].content
    assert omar.mention in warning and "Manage Roles" in warning


async def test_a_role_above_the_bot_and_a_refused_grant_after_an_admission(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    nina = await contributor(coop, db, clock)
    await nina.slash(coop.governance, "member apply")

    # The member role moves above the bot's own role before the decision closes.
    top = bot_role(coop).position
    simcord_env.backend.reorder_roles(coop.guild.id, [{"id": coop.member_role.id, "position": top + 5}])
    await simcord_env.settle()
    await close_due(simcord_env, simcord_bot, clock, timedelta(days=8))

    assert coop.member_role.id not in role_ids(nina)
    row = await row_of(db, coop, nina)
    assert row is not None and row.status == "contributor" and row.admitted_at is None
    async with db.read() as session:
        application = (await session.exec(select(Application))).one()
    assert application.status == "admitted"  # the decision is what it is; the role is what is missing
    warning = next(m.content for m in reversed(coop.governance.history()) if m.content.startswith("⚠️"))
    assert f"{nina.mention} was admitted by proposal #1" in warning
    assert f"must be above {coop.member_role.mention} in Server Settings → Roles" in warning
    assert "/mod member promote" in warning
    assert "moderators have been told" in nina.user.dm_channel.history()[-1].content

    # Discord refusing a grant the bot expected to work is reported the same way.
    simcord_env.backend.reorder_roles(coop.guild.id, [{"id": coop.member_role.id, "position": 1}])
    await simcord_env.settle()
    await allow_command(coop, "mod", coop.moderator_role)
    simcord_env.inject_error(
        "PUT", f"/guilds/{coop.guild.id}/members/{nina.id}/roles/*", status=403, code=50013, message="Missing"
    )
    told = await coop.moderator.slash(coop.governance, "mod member promote", user=nina, reason="Fixed")
    assert "Discord refused to let me give" in told.response.content
    assert (await row_of(db, coop, nina)).status == "contributor"
    # Once it works, the promotion is done and recorded.
    done = await coop.moderator.slash(coop.governance, "mod member promote", user=nina, reason="Fixed")
    assert "is now a member" in done.response.content
    assert (await row_of(db, coop, nina)).status == "member"


# --- the charter, the directory, leaving ------------------------------------------------------------------


async def test_a_new_charter_version_asks_everyone_to_agree_again(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    await allow_command(coop, "coop", coop.moderator_role)
    nina = await contributor(coop, db, clock)

    shown = await coop.moderator.slash(coop.governance, "coop charter")
    done = await coop.moderator.submit_modal(shown, {"charter": CHARTER + " We meet every month."})
    assert "saved as version 2" in done.response.content

    announcement = coop.welcome.history()[-1]
    assert "now version 2" in announcement.content
    assert "We meet every month." in text_of(announcement)
    assert button_labels(announcement) == [AGREE]
    # The old welcome's button is for version 1: it does not agree to a text nina has not seen.
    stale = await refusal(await nina.click(welcome_of(coop, nina), label=AGREE))
    assert "it is now version 2" in stale
    await nina.click(announcement, label=AGREE)
    row = await row_of(db, coop, nina)
    assert row is not None and row.charter_version == 2
    shown_charter = await nina.slash(coop.governance, "charter")
    assert shown_charter.response.content.startswith("You agreed to this version")


async def test_the_members_decide_a_new_charter_version(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    await allow_command(coop, "coop", coop.moderator_role)
    text = CHARTER + " We meet every month."
    # A wording fix is not for the members to decide: refused before the form.
    refused = await coop.moderator.slash(coop.governance, "coop charter", version=1, decide=True)
    assert refused.modal is None
    assert "the members decide a new version, 2 or higher" in await refusal(refused)

    shown = await coop.moderator.slash(coop.governance, "coop charter", decide=True)
    assert shown.modal is not None and shown.modal["title"] == "Propose a charter"
    done = await coop.moderator.submit_modal(shown, {"charter": text})
    assert "Version 2 of the charter is in the members' hands: proposal #1" in done.response.content
    proposal = proposal_message(coop, 1)
    assert proposal.embeds[0].title == "#1 · Adopt version 2 of the charter"
    assert "We meet every month." in text_of(proposal)
    # Nothing changes while the members decide.
    assert (await get_settings(db, coop.guild.id, clock.now())).charter_version == 1
    welcomes = len(coop.welcome.history())

    for member in coop.members:
        await member.click(proposal, label="No objection")
    await close_due(simcord_env, simcord_bot, clock, timedelta(days=8))

    settings = await get_settings(db, coop.guild.id, clock.now())
    assert (settings.charter_version, settings.charter_text) == (2, text)
    [announcement] = coop.welcome.history()[welcomes:]
    assert "now version 2" in announcement.content and button_labels(announcement) == [AGREE]
    decision = await decisions.get_decision(db, coop.guild.id, 1)
    thread = next(t for t in coop.governance.threads if t.id == decision.thread_id)
    assert any(m.content.startswith("Version 2 is now the charter.") for m in thread.history())


async def test_moderators_write_the_charter_with_coop_charter_and_everyone_reads_it_with_charter(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    # Discord shows /coop only to those with Manage Server until an admin lets a role use it: let the
    # member role (the moderator holds it too), so that only the bot's own check stands in alice's way.
    await allow_command(coop, "coop", coop.member_role)
    unwritten = await coop.alice.slash(coop.governance, "charter")
    assert unwritten.response.content == (
        "The cooperative has not written its charter yet (moderators: /coop charter)."
    )

    shown = await coop.moderator.slash(coop.governance, "coop charter")
    assert shown.modal is not None
    done = await coop.moderator.submit_modal(shown, {"charter": CHARTER})
    assert done.response.content.startswith("The charter is saved as version 1.")
    announcement = coop.welcome.history()[-1]
    assert "has a charter** (version 1)" in announcement.content
    assert text_of(announcement) == CHARTER

    read = await coop.alice.slash(coop.governance, "charter")
    assert read.ephemeral
    assert read.response.content == "You haven't agreed to it yet."
    assert text_of(read.response) == CHARTER
    assert read.response.embeds[0].footer.text == "Version 1"
    assert [button["label"] for row in read.response.components for button in row["components"]] == [AGREE]

    audit = await audit_actions(db, coop)
    refused = await coop.alice.slash(coop.governance, "coop charter")
    assert refused.modal is None
    assert (await refusal(refused)).startswith("Only moderators")
    assert await audit_actions(db, coop) == audit
    settings = await get_settings(db, coop.guild.id, clock.now())
    assert (settings.charter_text, settings.charter_version) == (CHARTER, 1)


async def test_coop_charter_stays_through_reloads_and_a_restart(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    settings: Settings,
    clock: ManualClock,
    db: Database,
) -> None:
    """/coop is the admin cog's group and /coop charter the onboarding cog's command: reloading either
    (in either order), or restarting the bot, keeps the one inside the other."""
    coop = configured
    await allow_command(coop, "coop", coop.moderator_role)

    async def write(text: str) -> str:
        shown = await coop.moderator.slash(coop.governance, "coop charter")
        done = await coop.moderator.submit_modal(shown, {"charter": text})
        return done.response.content

    def coop_commands(bot: CoopBot) -> list[str]:
        group = bot.tree.get_command("coop")
        assert isinstance(group, app_commands.Group)
        return sorted(command.name for command in group.commands)

    expected = ["audit", "charter", "duration", "export", "settings", "setup", "webhooks"]
    assert coop_commands(simcord_bot) == expected
    await simcord_bot.reload_extension("cogs.onboarding")
    assert coop_commands(simcord_bot) == expected
    assert "version 1" in await write("First words.")
    await simcord_bot.reload_extension("cogs.admin")
    assert coop_commands(simcord_bot) == expected
    assert "version 2" in await write("Second words.")
    await simcord_bot.unload_extension("cogs.onboarding")
    assert "charter" not in coop_commands(simcord_bot)
    await simcord_bot.load_extension("cogs.onboarding")
    assert coop_commands(simcord_bot) == expected

    fresh = await restart(simcord_env, settings, clock)
    assert coop_commands(fresh) == expected
    assert "version 3" in await write("Third words.")
    read = await coop.alice.slash(coop.governance, "charter")
    assert text_of(read.response) == "Third words."


async def test_the_directory_pages_and_filters(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    for index in range(10):
        coop.guild.add_member(simcord_env.create_user(f"m{index:02d}"), roles=[coop.member_role])
    await simcord_env.settle()

    listed = await coop.alice.slash(coop.governance, "member list", role="member")
    embed = listed.response.embeds[0]
    assert embed.footer.text == "Page 1 of 2 · 15 people"  # 3 members, mo, tess and 10 more
    assert embed.description.count("\n\n") == 9
    assert listed.response is not None
    turned = await coop.alice.click(listed.response, label="Next")
    assert turned.response.embeds[0].footer.text == "Page 2 of 2 · 15 people"
    contributors = await coop.alice.slash(coop.governance, "member list", role="contributor")
    assert "conny" in text_of(contributors.response)
    assert contributors.response.embeds[0].footer.text.startswith("Page 1 of 1")
    nobody = await coop.alice.slash(coop.governance, "member list", skill="juggling")
    assert nobody.response.content == "No one matches."


async def test_stepping_down_and_leaving_the_server_keep_history(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    asked = await coop.alice.slash(coop.governance, "member leave", to="contributor")
    assert "Step down" in asked.response.content
    assert asked.response is not None
    done = await coop.alice.click(asked.response, label="Yes, step down")
    assert done.response.content.startswith("Done: you are a contributor now")
    assert coop.member_role.id not in role_ids(coop.alice)
    assert coop.contributor_role.id in role_ids(coop.alice)
    row = await row_of(db, coop, coop.alice)
    assert row is not None and row.status == "contributor"

    coop.guild.remove_member(coop.alice)
    await simcord_env.settle()
    row = await row_of(db, coop, coop.alice)
    assert row is not None and (row.status, row.departed_at) == ("departed", clock.now())
    # (alice joined while the fixture set the cooperative up: her join may or may not be on record.)
    actions = [action for action in await audit_actions(db, coop, coop.alice) if action != "member.join"]
    assert actions == ["member.leave", "member.depart"]


async def test_when_moderators_decide_admissions(
    configured: Coop, simcord_env: simcord.Env, clock: ManualClock, db: Database
) -> None:
    coop = configured
    await write_charter(coop, db, clock)
    await allow_command(coop, "mod", coop.moderator_role)
    done = await coop.moderator.slash(coop.governance, "mod member admission", by_decision=False)
    assert done.response.content.startswith("Admissions are decided by a moderator")

    nina = await contributor(coop, db, clock)
    omar = await contributor(coop, db, clock, name="omar")
    applied = await nina.slash(coop.governance, "member apply", statement="Ready to commit")
    assert "a moderator will decide it" in applied.response.content
    notice = coop.governance.history()[-1].content
    assert notice.startswith(f"📨 {nina.mention} asks to become a member") and "Ready to commit" in notice
    async with db.read() as session:
        assert (await session.exec(select(Decision))).all() == []

    await coop.moderator.slash(coop.governance, "mod member promote", user=nina, reason="Agreed at the hui")
    assert coop.member_role.id in role_ids(nina)
    await omar.slash(coop.governance, "member apply")
    declined = await coop.moderator.slash(
        coop.governance, "mod member decline", user=omar, reason="Let's do a project together first"
    )
    assert "I've told them by DM" in declined.response.content
    told = omar.user.dm_channel.history()[-1].content
    assert "did not admit you" in told and "> Let's do a project together first" in told
    async with db.read() as session:
        statuses = {a.user_id: a.status for a in (await session.exec(select(Application))).all()}
    assert statuses == {nina.id: "admitted", omar.id: "declined"}
