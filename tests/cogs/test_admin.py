"""/coop setup, /coop settings and /coop audit, driven as people would through SimCord."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest
import simcord
from sqlmodel import select

from storage.database import Database
from storage.models import AuditEvent, CoopSettings, Decision
from tests.conftest import Coop, allow_command


async def _guild_row(db: Database, guild_id: int) -> CoopSettings | None:
    async with db.read() as session:
        return await session.get(CoopSettings, guild_id)


async def _audit(db: Database, guild_id: int) -> list[AuditEvent]:
    """The audit events of cooperative settings (other capabilities log their own actions too)."""
    async with db.read() as session:
        query = select(AuditEvent).where(AuditEvent.guild_id == guild_id, AuditEvent.action == "coop.setup")
        return list((await session.exec(query)).all())


async def test_admin_sets_up_the_cooperative(coop: Coop, db: Database) -> None:
    result = await coop.admin.slash(
        coop.governance,
        "coop setup",
        governance_channel=coop.governance,
        welcome_channel=coop.welcome,
        member_role=coop.member_role,
        contributor_role=coop.contributor_role,
        moderator_role=coop.moderator_role,
        treasurer_role=coop.treasurer_role,
        timezone="Pacific/Auckland",
        currency="nzd",
    )

    assert result.ephemeral
    embed = result.response.embeds[0]
    fields = {field.name: field.value for field in embed.fields}
    assert embed.title == "Cooperative settings saved"
    assert fields["Governance channel"] == coop.governance.mention
    assert fields["Member role"] == coop.member_role.mention
    assert fields["Timezone"] == "Pacific/Auckland"
    assert fields["Currency"] == "NZD"

    # The moderator role now counts; the server admin lets it see /coop (Server Settings > Integrations).
    await allow_command(coop, "coop", coop.moderator_role)
    shown = await coop.moderator.slash(coop.governance, "coop settings")
    shown_fields = {field.name: field.value for field in shown.response.embeds[0].fields}
    assert shown.ephemeral
    assert shown_fields == fields

    row = await _guild_row(db, coop.guild.id)
    assert row is not None
    assert (row.governance_channel_id, row.welcome_channel_id) == (coop.governance.id, coop.welcome.id)
    assert (row.member_role_id, row.contributor_role_id) == (coop.member_role.id, coop.contributor_role.id)
    assert (row.moderator_role_id, row.treasurer_role_id) == (coop.moderator_role.id, coop.treasurer_role.id)
    assert (row.timezone, row.currency) == ("Pacific/Auckland", "NZD")

    events = await _audit(db, coop.guild.id)
    assert len(events) == 1
    assert events[0].action == "coop.setup"
    assert events[0].actor_id == coop.admin.id
    assert events[0].details["changed"]["timezone"] == {"from": "UTC", "to": "Pacific/Auckland"}


async def test_manage_server_permission_is_enough_before_any_role_exists(coop: Coop, db: Database) -> None:
    result = await coop.admin.slash(coop.governance, "coop setup", moderator_role=coop.moderator_role)

    assert result.ephemeral
    row = await _guild_row(db, coop.guild.id)
    assert row is not None and row.moderator_role_id == coop.moderator_role.id


async def test_plain_member_is_refused_by_the_bot_itself(coop: Coop, db: Database) -> None:
    # Lift Discord's visibility hint, so that only the bot's own check stands in the way.
    await allow_command(coop, "coop", coop.member_role)

    result = await coop.alice.slash(coop.governance, "coop setup", timezone="Europe/Berlin")

    assert result.ephemeral
    assert "Only moderators" in result.response.content
    assert await _guild_row(db, coop.guild.id) is None
    assert await _audit(db, coop.guild.id) == []


async def test_moderator_role_counts_once_configured(coop: Coop, db: Database) -> None:
    await coop.admin.slash(coop.governance, "coop setup", moderator_role=coop.moderator_role)
    await allow_command(coop, "coop", coop.moderator_role)

    result = await coop.moderator.slash(coop.governance, "coop setup", currency="EUR")

    assert result.response.embeds[0].title == "Cooperative settings saved"
    row = await _guild_row(db, coop.guild.id)
    assert row is not None and row.currency == "EUR"


async def _refused(coop: Coop, db: Database, **options: object) -> str:
    await coop.admin.slash(coop.governance, "coop setup", timezone="Europe/Berlin")
    before = await _guild_row(db, coop.guild.id)
    events_before = len(await _audit(db, coop.guild.id))

    result = await coop.admin.slash(coop.governance, "coop setup", **options)

    assert result.ephemeral
    assert not result.response.embeds
    assert await _guild_row(db, coop.guild.id) == before
    assert len(await _audit(db, coop.guild.id)) == events_before
    content = result.response.content
    assert 0 < len(content) < 300
    return content


async def test_unknown_timezone_is_refused(coop: Coop, db: Database) -> None:
    message = await _refused(coop, db, timezone="Mars/Olympus_Mons", currency="NZD")
    assert "Mars/Olympus_Mons" in message


async def test_unknown_currency_is_refused(coop: Coop, db: Database) -> None:
    message = await _refused(coop, db, currency="XYZ")
    assert "XYZ" in message


async def test_channel_the_bot_cannot_post_in_is_refused(coop: Coop, db: Database) -> None:
    bot_role = next(role for role in coop.guild.roles.values() if role.name == "TestBot")
    muted = coop.guild.create_text_channel(
        "archive", overwrites={bot_role: discord.PermissionOverwrite(send_messages=False)}
    )
    message = await _refused(coop, db, governance_channel=muted)
    assert "Send Messages" in message and muted.mention in message


async def test_voice_channel_cannot_even_be_offered(coop: Coop, db: Database) -> None:
    # Discord itself only offers text channels for these options, so a voice channel never reaches the bot.
    with pytest.raises(simcord.OptionError):
        await coop.admin.slash(coop.governance, "coop setup", governance_channel=coop.voice)
    assert await _guild_row(db, coop.guild.id) is None


async def test_everyone_role_is_refused(coop: Coop, db: Database) -> None:
    message = await _refused(coop, db, member_role=coop.guild.default_role)
    assert "@everyone" in message


async def test_setup_without_options_changes_nothing(coop: Coop, db: Database) -> None:
    message = await _refused(coop, db)
    assert "Nothing to change" in message


async def test_default_duration_out_of_range_is_refused(coop: Coop, db: Database) -> None:
    message = await _refused(coop, db, default_duration="5m")
    assert "between" in message


async def test_timezone_autocomplete_suggests_iana_names(coop: Coop, simcord_env: simcord.Env) -> None:
    choices = await coop.admin.autocomplete(coop.governance, "coop setup", "timezone", "auckland")
    assert "Pacific/Auckland" in [choice["value"] for choice in choices]


async def test_currency_autocomplete_names_the_currency(coop: Coop) -> None:
    choices = await coop.admin.autocomplete(coop.governance, "coop setup", "currency", "nz")
    assert choices[0] == {"name": "NZD — New Zealand Dollar", "value": "NZD"}


async def test_audit_about_a_person_shows_what_happened_to_them_and_pings_nobody(
    configured: Coop, simcord_env: simcord.Env
) -> None:
    coop = configured
    await allow_command(coop, "mod", coop.moderator_role)
    await allow_command(coop, "coop", coop.moderator_role)
    bob, carol = coop.members[1], coop.members[2]
    reason = f"Asked for a break @everyone\nback in **March** {coop.member_role.mention}"
    await coop.moderator.slash(coop.governance, "mod member demote", user=bob, reason=reason)
    await coop.moderator.slash(coop.governance, "mod member demote", user=carol, reason="Moved away")

    shown = await coop.moderator.slash(coop.governance, "coop audit", about=bob)

    assert shown.ephemeral and shown.response is not None
    [line] = (shown.response.embeds[0].description or "").splitlines()
    # Who it was about, who did it, and the reason as typed: on one line, its markdown shown, not applied.
    assert f"**member.demote** {bob.mention} · {coop.moderator.mention}" in line
    assert (
        f"reason “Asked for a break @everyone back in \\*\\*March\\*\\* {coop.member_role.mention}”" in line
    )
    assert line.endswith("→ contributor")  # the standing it changed
    assert "Moved away" not in line and carol.mention not in line
    assert shown.response.embeds[0].footer.text == "Page 1 of 1 · 1 events"
    # Nobody is pinged: not @everyone, not the role named in the reason, not the people on the line.
    answer = [r.json for r in simcord_env.http_requests if r.path.endswith("/callback")][-1]
    assert isinstance(answer, dict) and answer["data"]["allowed_mentions"] == {"parse": []}
    stored = simcord_env.backend.get_message(shown.response.channel_id, shown.response.id)
    assert (stored.mention_everyone, stored.ping_role_ids, stored.ping_user_ids) == (False, [], [])

    # The other filters still narrow it: by who acted, by action.
    by_alice = await coop.moderator.slash(coop.governance, "coop audit", about=bob, user=coop.alice)
    assert by_alice.response.embeds[0].description == "Nothing matches."
    carols = await coop.moderator.slash(coop.governance, "coop audit", about=carol, action="member.demote")
    assert "reason “Moved away”" in (carols.response.embeds[0].description or "")


async def test_each_decision_type_can_have_its_own_default_time(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    coop = configured
    await allow_command(coop, "coop", coop.member_role)
    done = await coop.moderator.slash(coop.governance, "coop duration", type="poll", duration="2d")
    assert done.ephemeral and done.response.content == (
        "Poll decisions now stay open 2 days unless given a closing time."
    )
    shown = await coop.moderator.slash(coop.governance, "coop settings")
    fields = {field.name: field.value for field in shown.response.embeds[0].fields}
    assert fields["Open by default"] == "Poll: 2 days"

    # A poll without a closing time closes two days after it opens; other types keep their time.
    form = await coop.alice.slash(coop.governance, "proposal new", type="poll", options="Tea;Coffee")
    assert form.modal is not None
    await coop.alice.submit_modal(form, {"title": "Drinks"})
    async with db.read() as session:
        poll = (await session.exec(select(Decision).where(Decision.kind == "poll"))).one()
    assert poll.closes_at - poll.opens_at == timedelta(days=2)

    # Refusals: a member, a time out of bounds; neither changes anything.
    before = await _audit(db, coop.guild.id)
    refused = await coop.alice.slash(coop.governance, "coop duration", type="poll", duration="5d")
    assert refused.ephemeral and refused.response.content.startswith("Only moderators")
    refused = await coop.moderator.slash(coop.governance, "coop duration", type="poll", duration="200d")
    assert refused.ephemeral and "between 1 hour and 90 days" in refused.response.content
    assert await _audit(db, coop.guild.id) == before

    # Back to the usual time.
    done = await coop.moderator.slash(coop.governance, "coop duration", type="poll", duration="Default")
    assert "Poll decisions now stay open" in done.response.content
    row = await _guild_row(db, coop.guild.id)
    assert row is not None and row.decision_seconds == {}
    changes = [event.details["changed"] for event in await _audit(db, coop.guild.id)][-2:]
    assert changes == [
        {"decision_seconds.poll": {"from": None, "to": 172800}},
        {"decision_seconds.poll": {"from": 172800, "to": None}},
    ]


async def test_a_long_audit_log_turns_its_pages_with_buttons(
    configured: Coop, simcord_env: simcord.Env, db: Database
) -> None:
    """More than a page of events: the answer carries Previous and Next, and the footer says how to turn."""
    coop = configured
    await allow_command(coop, "coop", coop.moderator_role)
    for number in range(10):  # 20 settings changes, 15 a page
        for zone in ("Europe/Paris", "Pacific/Auckland"):
            await coop.moderator.slash(
                coop.governance, "coop setup", timezone=zone, default_duration=f"{number + 2}d"
            )
    shown = await coop.moderator.slash(coop.governance, "coop audit", action="coop")
    assert shown.ephemeral and shown.response is not None
    first = shown.response.embeds[0]
    assert first.footer.text is not None and first.footer.text.startswith("Page 1 of 2 ·")
    assert "◀️ ▶️ below, or the page option" in first.footer.text
    buttons = _buttons(shown.response.components)
    assert buttons == {"Previous": True, "Next": False}
    turned = await coop.moderator.click(shown.response, label="Next")
    assert turned.response is not None
    second = turned.response.embeds[0]
    assert second.footer.text is not None and second.footer.text.startswith("Page 2 of 2 ·")
    assert (second.description or "").splitlines() != (first.description or "").splitlines()
    assert _buttons(turned.response.components) == {"Previous": False, "Next": True}


def _buttons(rows: list[Any]) -> dict[str, bool]:
    """Each button's label and whether it is disabled, from the components as sent."""
    return {
        str(button["label"]): bool(button.get("disabled", False))
        for row in rows
        for button in (row["components"] if isinstance(row, dict) else [b.to_dict() for b in row.children])
    }
