"""Outbound webhooks against a real HTTP server on 127.0.0.1, the export, and the audit log."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import simcord
from sqlmodel import select

from bot import CoopBot
from config import Settings
from governance import export
from governance.clock import ManualClock
from storage.database import Database
from storage.models import WebhookDelivery
from tests.cogs.helpers import (
    Receiver,
    close_due,
    contributor,
    deliver,
    proposal_message,
    propose,
    refusal,
    role_ids,
    serve_receiver,
    write_charter,
)
from tests.conftest import Coop, allow_command


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Webhooks to the test's own server: http on loopback is allowed here, and a short timeout.
    return Settings(
        database_url=database_url,
        discord_token=None,
        webhooks_allow_http_localhost=True,
        webhook_timeout_seconds=1.0,
        shard_count=1,
        _env_file=None,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_receiver() as state:
        yield state


async def _add_webhook(coop: Coop, url: str) -> str:
    added = await coop.admin.slash(coop.governance, "coop webhooks add", url=url)
    content = added.response.content
    assert "Webhook #1 added" in content, content
    return content.split("`")[1]


async def _deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.read() as session:
        return list((await session.exec(select(WebhookDelivery))).all())


async def test_a_closed_decision_reaches_the_receiver_signed(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    db: Database,
    receiver: Receiver,
) -> None:
    coop = configured
    secret = await _add_webhook(coop, receiver.url)
    await propose(coop, coop.alice, "Join the federation", type="consent", closes="3d")
    await coop.members[1].click(await proposal_message(coop, db, 1), label="No objection")
    await coop.alice.slash(coop.governance, "proposal close", proposal=1)
    await deliver(simcord_bot)

    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-coopbot-signature"], expected)
    payload = json.loads(body)
    assert payload["schema_version"] == 1
    assert payload["event"] == headers["x-coopbot-event"] == "decision.closed"
    assert payload["delivery_id"] == headers["x-coopbot-delivery"]
    assert payload["subject"] == "decision:1"
    assert payload["data"]["passed"] is True
    assert payload["guild_id"] == str(coop.guild.id)

    # Running again sends nothing more.
    await deliver(simcord_bot)
    assert len(receiver.received) == 1
    listed = await coop.admin.slash(coop.governance, "coop webhooks list")
    assert "delivered 1 · pending 0 · failed 0" in listed.response.content


async def test_a_failing_receiver_gets_the_event_once_after_retries(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    receiver: Receiver,
) -> None:
    coop = configured
    await _add_webhook(coop, receiver.url)
    receiver.answers = [500, 503]
    await propose(coop, coop.alice, "Buy a van", type="consent", closes="3d")
    await coop.alice.slash(coop.governance, "proposal close", proposal=1)

    await deliver(simcord_bot)
    [delivery] = await _deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    clock.advance(timedelta(seconds=30))
    await deliver(simcord_bot)
    clock.advance(timedelta(seconds=90))
    await deliver(simcord_bot)
    clock.advance(timedelta(minutes=10))
    await deliver(simcord_bot)

    [delivery] = await _deliveries(db)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    ids = {headers["x-coopbot-delivery"] for headers, _ in receiver.received}
    assert len(receiver.received) == 3 and ids == {delivery.delivery_id}
    assert receiver.answers == []  # two failures, then the one success


async def test_a_receiver_that_never_answers_does_not_hold_the_reply(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    db: Database,
    receiver: Receiver,
) -> None:
    coop = configured
    await _add_webhook(coop, receiver.url)
    receiver.env = simcord_env
    receiver.hang_seconds = 2.0  # longer than the bot's 1 s webhook timeout
    await propose(coop, coop.alice, "Change the logo", type="consent", closes="3d")
    # Deliver from the test's own task below: SimCord runs the bot's own timers on its virtual clock, and
    # the point here is the real timeout.
    simcord_bot.webhooks.stop()

    closed = await coop.alice.slash(coop.governance, "proposal close", proposal=1)
    assert "Closed #1" in closed.response.content
    await deliver(simcord_bot)

    # The interaction was answered before the receiver was even contacted.
    assert receiver.seen_before_arrival
    assert any("/callback" in path for path in receiver.seen_before_arrival[0])
    [delivery] = await _deliveries(db)
    assert delivery.status == "pending" and delivery.last_error == "the receiver did not answer in time"


def _sent(receiver: Receiver, event: str) -> list[dict[str, Any]]:
    """The bodies of the `event` deliveries the receiver got."""
    bodies = [json.loads(body) for _, body in receiver.received]
    return [body for body in bodies if body["event"] == event]


async def _applied_and_agreed(coop: Coop, db: Database, clock: ManualClock) -> simcord.MemberActor:
    """Nina, a contributor, applies; every member agrees to admit her (the decision is not closed yet)."""
    await write_charter(coop, db, clock)
    nina = await contributor(coop, db, clock)
    await nina.slash(coop.governance, "member apply")
    for member in coop.members:
        await member.click(await proposal_message(coop, db, 1), label="No objection")
    return nina


async def test_member_admitted_is_sent_once_the_member_role_is_given(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    receiver: Receiver,
) -> None:
    coop = configured
    await _add_webhook(coop, receiver.url)
    nina = await _applied_and_agreed(coop, db, clock)

    await close_due(simcord_env, simcord_bot, clock, timedelta(days=8))
    await deliver(simcord_bot)
    await deliver(simcord_bot)

    assert coop.member_role.id in role_ids(nina)
    [admitted] = _sent(receiver, "member.admitted")
    assert admitted["subject"] == f"member:{nina.id}"
    assert admitted["data"] == {"application_id": 1, "decision_id": 1, "by": "decision"}
    assert [body["subject"] for body in _sent(receiver, "decision.closed")] == ["decision:1"]


async def test_an_admission_whose_member_role_discord_refuses_sends_no_member_admitted(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    receiver: Receiver,
) -> None:
    coop = configured
    await _add_webhook(coop, receiver.url)
    nina = await _applied_and_agreed(coop, db, clock)
    simcord_env.inject_error(
        "PUT", f"/guilds/{coop.guild.id}/members/{nina.id}/roles/*", status=403, code=50013, message="Missing"
    )

    await close_due(simcord_env, simcord_bot, clock, timedelta(days=8))
    await deliver(simcord_bot)

    assert coop.member_role.id not in role_ids(nina)
    # Receivers hear that the decision closed (it did), not that Nina is a member (she is not).
    assert [body["data"]["passed"] for body in _sent(receiver, "decision.closed")] == [True]
    assert _sent(receiver, "member.admitted") == []


async def test_a_moderator_admitting_an_applicant_sends_member_admitted_a_promotion_back_does_not(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    receiver: Receiver,
) -> None:
    coop = configured
    await _add_webhook(coop, receiver.url)
    await allow_command(coop, "mod", coop.moderator_role)
    await coop.moderator.slash(coop.governance, "mod member admission", by_decision=False)
    await write_charter(coop, db, clock)
    nina = await contributor(coop, db, clock)
    await nina.slash(coop.governance, "member apply")

    await coop.moderator.slash(coop.governance, "mod member promote", user=nina, reason="Welcome aboard")
    await coop.moderator.slash(coop.governance, "mod member demote", user=nina, reason="On leave")
    await coop.moderator.slash(coop.governance, "mod member promote", user=nina, reason="Back from leave")
    await deliver(simcord_bot)

    [admitted] = _sent(receiver, "member.admitted")
    assert admitted["subject"] == f"member:{nina.id}"
    assert admitted["actor_id"] == str(coop.moderator.id)
    assert admitted["data"] == {"application_id": 1, "decision_id": None, "by": "moderator"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.org/hook", "https://"),
        ("https://", "not a URL"),
        ("not a url at all", "not a URL"),
        ("ftp://example.org/x", "not a URL"),
        ("https://user:pw@example.org/x", "password"),
        ("https://example.org:99999/x", "not a URL"),
    ],
)
async def test_unusable_webhook_urls_are_refused(
    configured: Coop, simcord_env: simcord.Env, db: Database, url: str, expected: str
) -> None:
    refused = await refusal(await configured.admin.slash(configured.governance, "coop webhooks add", url=url))
    assert expected in refused
    listed = await configured.admin.slash(configured.governance, "coop webhooks list")
    assert "No webhooks yet" in listed.response.content


async def test_export_is_complete_valid_and_keeps_anonymous_votes_anonymous(
    configured: Coop,
    simcord_env: simcord.Env,
    simcord_bot: CoopBot,
    clock: ManualClock,
    db: Database,
    tmp_path: Path,
) -> None:
    coop = configured
    await propose(coop, coop.alice, "Open books", type="consent", closes="3d")
    await propose(coop, coop.alice, "Pay rates", type="consensus", closes="2w", anonymous=True)
    await coop.members[1].click(await proposal_message(coop, db, 1), label="No objection")
    await coop.members[1].click(await proposal_message(coop, db, 2), label="Agree")
    await coop.members[2].click(await proposal_message(coop, db, 2), label="Disagree")

    result = await export.export_guild(db, coop.guild.id, tmp_path, clock.now())

    data = json.loads((tmp_path / export.JSON_NAME).read_text())
    jsonschema.validate(data, export.EXPORT_SCHEMA)
    assert [d["title"] for d in data["decisions"]] == ["Open books", "Pay rates"]
    named = [vote for vote in data["votes"] if vote["decision_id"] == 1]
    anonymous = [vote for vote in data["votes"] if vote["decision_id"] == 2]
    assert [vote["voter_id"] for vote in named] == [coop.members[1].id]
    assert len(anonymous) == 2 and all(vote["voter_id"] is None for vote in anonymous)
    assert all(event["voter_id"] is None for event in data["vote_history"] if event["decision_id"] == 2)
    for section in export.SECTIONS:
        with (tmp_path / f"{section.name}.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == result.rows[section.name] == len(data[section.name])
    with (tmp_path / "votes.csv").open(newline="", encoding="utf-8") as handle:
        assert {row["voter_id"] for row in csv.DictReader(handle) if row["decision_id"] == "2"} == {""}

    sent = await coop.admin.slash(coop.governance, "coop export")
    assert sent.response is not None
    # Said in people's words ("1 fund", "2 vote changes"), never table names ("vote_history").
    said = sent.response.content
    assert said == "The cooperative's record: 2 decisions, 3 votes, 3 vote changes, 4 audit events.", said
    attachments = sent.response.attachments if sent.response else []
    assert sorted(a.filename for a in attachments) == sorted(path.name for path in result.files)
