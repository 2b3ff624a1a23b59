"""Races through Discord: a thousand vote clicks from two hundred members arrive together, with double
clicks, and the close lands in the middle. No voter ends with two votes, no vote is taken after the
close, every click is answered once, and the posted tally is the database's.

The clicks are emitted the way SimCord's `click` verb builds them but without settling between them, so
the bot handles them concurrently (the verb settles after each action)."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any, cast

import pytest
import simcord
from simcord import interactions as sim_interactions
from simcord.backend import serializers
from simcord.results import InteractionResult
from sqlmodel import func, select

from bot import CoopBot
from cogs.proposals._cog import Proposals
from governance.clock import ManualClock
from governance.permissions import Actor
from storage.database import Database
from storage.models import Decision, Vote, VoteEvent
from tests.cogs.helpers import fields, proposal_message, propose
from tests.conftest import Coop

COMPONENT = 3  # interaction type: a component (button)
BUTTON = 2
VOTERS = 200
CLICKS = 1000


def _click(env: simcord.Env, coop: Coop, decision: Decision, user_id: int, custom_id: str) -> Any:
    """Emit one button click as Discord would, without waiting for the bot; returns its record."""
    assert decision.channel_id is not None and decision.message_id is not None
    backend = env.backend
    record, payload = sim_interactions.base_payload(
        backend,
        type=COMPONENT,
        channel_id=decision.channel_id,
        guild_id=coop.guild.id,
        user_id=user_id,
        data={"custom_id": custom_id, "component_type": BUTTON},
    )
    payload["message"] = dict(
        serializers.message_payload(backend, backend.get_message(decision.channel_id, decision.message_id))
    )
    record.source_message_id = decision.message_id
    backend.emit("INTERACTION_CREATE", payload)
    return record


@pytest.mark.long
async def test_a_thousand_clicks_with_double_clicks_and_the_close_in_the_middle(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coop = configured
    voters = [
        coop.guild.add_member(simcord_env.create_user(f"voter{n}"), roles=[coop.member_role])
        for n in range(VOTERS)
    ]
    await simcord_env.settle(timeout=30)  # two hundred joins to record (within the minute's sweep timer)
    await propose(coop, coop.alice, "Adopt the budget", type="consensus", closes="2w")
    async with db.read() as session:
        decision = await session.get(Decision, 1)
    assert decision is not None and decision.id is not None

    rng = random.Random(1126)
    clicks: list[tuple[int, str]] = []
    while len(clicks) < CLICKS:
        voter = rng.choice(voters)
        choice = rng.choice(["agree", "abstain", "disagree"])
        clicks.append((voter.id, f"coop:vote:{decision.id}:{choice}"))
        if rng.random() < 0.3:  # a double click: the same button again at once
            clicks.append((voter.id, f"coop:vote:{decision.id}:{choice}"))
    clicks = clicks[:CLICKS]

    found = simcord_bot.get_cog(Proposals.__cog_name__)
    # Not isinstance: a bot that closes unloads its extensions, and the next one imports them anew.
    assert found is not None and type(found).__qualname__ == Proposals.__qualname__
    cog = cast(Proposals, found)
    # SimCord runs the bot's timers on its own clock, which moves only when the bot is idle; the tally
    # refresher's pause would then wait for the whole burst. The pause is tested on its own.
    cog.refresher.interval = 0.0
    moderator = Actor(user_id=coop.moderator.id, role_ids=frozenset({coop.moderator_role.id}))
    records = [_click(simcord_env, coop, decision, user, custom) for user, custom in clicks[: CLICKS // 2]]
    closing = asyncio.ensure_future(cog._close(coop.guild.id, decision.id, now=clock.now(), actor=moderator))
    records += [_click(simcord_env, coop, decision, user, custom) for user, custom in clicks[CLICKS // 2 :]]
    await simcord_env.settle(timeout=30)
    closed = await closing
    assert closed is not None

    answers = [InteractionResult(simcord_env, record) for record in records]
    assert all(answer.acknowledged and answer.response is not None for answer in answers)
    accepted = [a for a in answers if a.response is not None and "has closed" not in a.response.content]
    refused = [a for a in answers if a.response is not None and "has closed" in a.response.content]
    assert len(accepted) + len(refused) == CLICKS
    assert accepted and refused  # the close really landed in the middle

    async with db.read() as session:
        current = (await session.exec(select(Vote.voter_id, Vote.ballot))).all()
        history = (await session.exec(select(func.count()).select_from(VoteEvent))).one()
        decision = await session.get(Decision, 1)
    assert decision is not None and decision.result is not None
    assert len(current) == len({voter for voter, _ in current})  # one current vote per voter
    counts: dict[str, int] = {}
    for _, ballot in current:
        counts[ballot] = counts.get(ballot, 0) + 1
    assert decision.result["ballot_counts"] == counts  # nothing counted that was not stored, or after
    changed = [a for a in accepted if a.response is not None and "already voted" not in a.response.content]
    assert history == len(changed)  # every vote the bot confirmed, and no other, is in the history

    posted = fields(await proposal_message(coop, db, 1))["Final count"]
    shown = {
        key: int(number)
        for key, number in re.findall(r"(Agree|Abstain|Disagree|Block): \*\*(\d+)\*\*", posted)
    }
    assert shown == {
        "Agree": counts.get("agree", 0),
        "Abstain": counts.get("abstain", 0),
        "Disagree": counts.get("disagree", 0),
        "Block": counts.get("block", 0),
    }
