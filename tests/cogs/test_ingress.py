"""Typed text that no database stores (U+0000, lone surrogates) is made storable where interactions come in:
the command runs on what the member meant, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import simcord
from sqlmodel import col, select

from bot import CoopBot
from cogs._ingress import scrub, storable_text
from storage.database import Database
from storage.models import Fund, FundingRequest, Member
from tests.conftest import Coop


def test_storable_text_drops_nul_and_replaces_lone_surrogates_only() -> None:
    assert storable_text("Com\x00mons\x00") == "Commons"
    assert storable_text("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    kept = "👨‍👩‍👧‍👦 \u202e\u200b\x07\t\n é ß"
    assert storable_text(kept) == kept
    payload = {"options": [{"name": "fund", "value": "x\x00"}, {"name": "n", "value": 3}]}
    assert scrub(payload) == {"options": [{"name": "fund", "value": "x"}, {"name": "n", "value": 3}]}


async def test_nul_in_options_and_form_fields_is_dropped_before_anything_reads_it(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database
) -> None:
    coop = configured
    created = await coop.admin.slash(coop.governance, "fund create", name="Com\x00mons")
    assert created.response is not None and "Commons" in created.response.content, created

    # The fund is found by the name typed with a NUL, as it is without.
    shown = await coop.alice.slash(coop.governance, "fund request new", fund="\x00commons", amount="10")
    assert shown.modal is not None, shown.response
    done = await coop.alice.submit_modal(shown, {"purpose": "New\x00 tools"})
    assert done.response is not None and "Request #1" in done.response.content, done.response

    # A search with a NUL is a search without it.
    edited = await coop.alice.slash(coop.governance, "member edit")
    assert edited.modal is not None
    await coop.alice.submit_modal(
        edited, {"display_name": "Alice", "what_they_do": "Accounts", "skills": "book\x00keeping"}
    )
    found = await coop.moderator.slash(coop.governance, "member list", skill="book\x00keep")
    assert found.response is not None and found.response.embeds, found.response
    assert "Alice" in (found.response.embeds[0].description or ""), found.response.embeds[0]

    async with db.read() as session:
        assert (await session.exec(select(Fund.name))).all() == ["Commons"]
        assert (await session.exec(select(FundingRequest.purpose))).all() == ["New tools"]
        skills = await session.exec(select(Member.skills).where(col(Member.user_id) == coop.alice.id))
        assert skills.all() == ["bookkeeping"]
