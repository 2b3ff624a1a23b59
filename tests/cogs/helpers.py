"""What the Discord-side tests share: reading what a person was told, a proposal or a fund made through the
commands, a webhook receiver on 127.0.0.1, a newcomer joining, and the permission rule table. The test
modules import these from here and never from one another."""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import discord
import simcord

from bot import CoopBot
from governance import membership
from governance.clock import ManualClock
from governance.permissions import Actor
from storage.database import Database
from storage.models import Decision
from tests.conftest import Coop

# --- proposals and what people were told ----------------------------------------------------------------


async def propose(coop: Coop, author: simcord.MemberActor, title: str, details: str = "", **options: object):
    shown = await author.slash(coop.governance, "proposal new", **options)
    assert shown.modal is not None, shown
    values = {"title": title, "details": details}
    return await author.submit_modal(shown, values)


async def proposal_message(coop: Coop, db: Database, decision_id: int):
    """The proposal's message as everyone sees it now."""
    async with db.read() as session:
        decision = await session.get(Decision, decision_id)
    assert decision is not None and decision.message_id is not None
    return next(message for message in coop.governance.history() if message.id == decision.message_id)


def seen(text: str) -> str:
    """Text as a member sees it: Discord shows a Markdown escape (``1\\.``, ``\\*``) as the character."""
    return re.sub(r"\\(.)", r"\1", text)


def fields(message) -> dict[str, str]:
    """An embed's fields as a member reads them (Markdown escapes shown as their characters)."""
    return {field.name: seen(field.value) for field in message.embeds[0].fields}


def raw_fields(embed: discord.Embed) -> dict[str, str]:
    """An embed's fields as sent, Markdown escapes and all."""
    return {str(field.name): str(field.value) for field in embed.fields}


def reply(result: simcord.InteractionResult) -> str:
    """What the person was told, privately."""
    assert result.ephemeral, result
    assert result.response is not None, result
    return result.response.content


async def refusal(result: simcord.InteractionResult) -> str:
    """A clear, short, private refusal (never the apology for a bug)."""
    text = reply(result)
    assert 0 < len(text) <= 300, text
    assert "went wrong" not in text
    return text


async def create_fund(coop: Coop, name: str = "Commons", **options: object) -> None:
    done = await coop.treasurer.slash(coop.governance, "fund create", name=name, **options)
    assert f"The fund **{name}** is open." in reply(done)


@dataclass
class Receiver:
    """What the test's webhook receiver was sent, and how it answers."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to answer with, in turn; then 200
    hang_seconds: float = 0.0
    seen_before_arrival: list[list[str]] = field(default_factory=list)
    env: simcord.Env | None = None


@contextmanager
def serve_receiver(tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (over TLS with `tls`), its URL naming `host`."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.env is not None:
                state.seen_before_arrival.append([request.path for request in state.env.http_requests])
            if state.hang_seconds:
                time.sleep(state.hang_seconds)
            status = state.answers.pop(0) if state.answers else 200
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"{state.url}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "http" if tls is None else "https"
    state.url = f"{scheme}://{host}:{server.server_address[1]}/hooks/coopbot"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def deliver(bot: CoopBot) -> None:
    """What the alarm does for webhooks (claim what is due and send it off), then wait until every
    delivery sent off has its outcome recorded."""
    await bot.webhooks.run_now()
    admin: Any = bot.get_cog("CoopAdmin")  # an extension's own copy of cogs.admin: no isinstance
    await asyncio.gather(*admin.sending)


# --- onboarding ---------------------------------------------------------------------------------------

CHARTER = "We share what we earn, decide together, and look after each other."
AGREE = "I agree to the charter"
INTRODUCE = "Introduce yourself"
PROFILE = {
    "display_name": "Nina Kahu",
    "what_they_do": "I run a small design studio.",
    "skills": "Illustration, facilitation, Māori language",
    "why": "I want to work with people who share.",
    "timezone": "pacific/auckland",
}


async def write_charter(coop: Coop, db: Database, clock: ManualClock, text: str = CHARTER) -> None:
    await membership.set_charter(
        db,
        guild_id=coop.guild.id,
        actor=Actor(user_id=coop.admin.id, manages_guild=True),
        text=text,
        version=None,
        now=clock.now(),
    )


async def join(coop: Coop, name: str) -> simcord.MemberActor:
    newcomer = coop.guild.add_member(coop.env.create_user(name))
    await coop.env.settle()
    return newcomer


def welcome_of(coop: Coop, person: simcord.MemberActor) -> discord.Message:
    return next(m for m in reversed(coop.welcome.history()) if m.content == f"Welcome, {person.mention}!")


def role_ids(person: simcord.MemberActor) -> set[int]:
    assert person.member is not None
    return {role.id for role in person.member.roles}


async def contributor(
    coop: Coop, db: Database, clock: ManualClock, name: str = "nina"
) -> simcord.MemberActor:
    """Someone who joined, agreed to the charter and introduced themselves."""
    newcomer = await join(coop, name)
    await newcomer.click(welcome_of(coop, newcomer), label=AGREE)
    shown = await newcomer.click(welcome_of(coop, newcomer), label=INTRODUCE)
    await newcomer.submit_modal(shown, PROFILE)
    return newcomer


async def close_due(env: simcord.Env, bot: CoopBot, clock: ManualClock, after: timedelta) -> None:
    clock.advance(after)
    await bot.due.run_now()
    await env.settle()


# --- who may do what (the permission matrix; the isolation tests walk it too) -------------------------

ROLES = ("visitor", "contributor", "member", "treasurer", "moderator")
V, C, M, T, MO = ROLES
EVERYONE = frozenset(ROLES)
IN_THE_COOP = frozenset({C, M, T, MO})  # contributors and members
MEMBERS = frozenset({M, T, MO})  # everyone holding the member role (the treasurer and moderator do)
TREASURERS = frozenset({T})  # "a treasurer role for money", apart from the moderators' powers
STEWARDS = frozenset({T, MO})  # who looks after the funds without moving money
MODERATORS = frozenset({MO})


# Who may run each command, by the product's rules. A role missing from a set must be refused for
# permission; a role in it must not be (it may still be told that the state forbids it).
EXPECTED: dict[str, frozenset[str]] = {
    # /coop, /mod, /reminder: moderator commands (§5).
    "coop setup": MODERATORS,
    "coop settings": MODERATORS,
    "coop duration": MODERATORS,
    "coop audit": MODERATORS,
    "coop export": MODERATORS,
    "coop webhooks add": MODERATORS,
    "coop webhooks list": MODERATORS,
    "coop webhooks remove": MODERATORS,
    "coop webhooks test": MODERATORS,
    "coop charter": MODERATORS,
    "mod fund correct": MODERATORS,
    "mod member promote": MODERATORS,
    "mod member demote": MODERATORS,
    "mod member remove": MODERATORS,
    "mod member decline": MODERATORS,
    "mod member admission": MODERATORS,
    "mod decision close": MODERATORS,
    "mod decision extend": MODERATORS,
    "mod decision cancel": MODERATORS,
    "mod decision reopen": MODERATORS,
    "mod reminder remove": MODERATORS,
    "mod reminder pause": MODERATORS,
    "mod reminder resume": MODERATORS,
    "reminder add": MODERATORS,
    "reminder list": MODERATORS,
    "reminder remove": MODERATORS,
    "reminder pause": MODERATORS,
    "reminder resume": MODERATORS,
    "reminder digest": MODERATORS,
    "reminder settings": MODERATORS,
    # Money (§3): treasurers alone confirm or reject contributions, approve, reject and pay requests
    # (separation of duties; a cooperative may let moderators act as treasurers, off by default);
    # treasurers and moderators create funds, correct the ledger and cancel someone else's request;
    # members contribute and request; anyone in the cooperative reads the funds and their ledgers.
    "fund create": STEWARDS,
    # Rounds: moderators and treasurers set one up, treasurers allocate, moderators close and cancel;
    # members propose buckets (their creators or moderators approve, cancel and resolve, refused by the
    # state of the bucket); anyone in the cooperative reads them and spends an allocation they were given.
    "round new": STEWARDS,
    "round allocate": TREASURERS,
    "round close": MODERATORS,
    "round cancel": MODERATORS,
    "round list": IN_THE_COOP,
    "round show": IN_THE_COOP,
    "bucket new": MEMBERS,
    "bucket approve": MEMBERS,
    "bucket cancel": MEMBERS,
    "bucket concern": MEMBERS,
    "bucket resolve": MEMBERS,
    "bucket list": IN_THE_COOP,
    "bucket show": IN_THE_COOP,
    "bucket fund": IN_THE_COOP,
    "bucket withdraw": IN_THE_COOP,
    "fund contribution confirm": TREASURERS,
    "fund contribution reject": TREASURERS,
    "fund request approve": TREASURERS,
    "fund request reject": TREASURERS,
    "fund request pay": TREASURERS,
    "fund request cancel": STEWARDS,
    "fund correct": STEWARDS,
    "fund contribute": MEMBERS,
    "fund request new": MEMBERS,
    "fund list": IN_THE_COOP,
    "fund show": IN_THE_COOP,
    "fund ledger": IN_THE_COOP,
    "fund export": IN_THE_COOP,
    "fund chart": IN_THE_COOP,
    "fund contribution list": IN_THE_COOP,
    "fund request list": IN_THE_COOP,
    "fund request show": IN_THE_COOP,
    # Decisions (§2): members propose and vote (the member role is eligible by default); the author or a
    # moderator closes, extends, cancels, reminds and records the outcome (the proposal here is someone
    # else's); a moderator reopens. Reading them is for the people in the cooperative (§5).
    "proposal new": MEMBERS,
    "proposal vote": MEMBERS,
    "proposal remind": MODERATORS,
    "proposal close": MODERATORS,
    "proposal extend": MODERATORS,
    "proposal cancel": MODERATORS,
    "proposal outcome": MODERATORS,
    "proposal reopen": MODERATORS,
    "proposal list": IN_THE_COOP,
    "proposal show": IN_THE_COOP,
    "proposal results": IN_THE_COOP,
    "decisions": IN_THE_COOP,
    # Membership (§1): contributors apply (members are told they already are); everyone has a profile
    # (the introduction is a visitor's first step: they write it with /member edit) and reads the charter;
    # profiles and the directory are read by the people in the cooperative only; leaving is refused by
    # state, not by role, for those with nothing to leave.
    "member apply": IN_THE_COOP,
    "member profile": IN_THE_COOP,
    "member edit": EVERYONE,
    "member list": IN_THE_COOP,
    "member leave": EVERYONE,
    "charter": EVERYONE,
    # Networks (issue 20): a cooperative's moderators create, invite, join, leave and read the network's
    # log; its members propose to the network; anyone in the cooperative reads the network and its
    # decisions (refused by state, not by role, where the cooperative is in no network).
    "network create": MODERATORS,
    "network invite": MODERATORS,
    "network join": MODERATORS,
    "network leave": MODERATORS,
    "network audit": MODERATORS,
    "network propose": MEMBERS,
    "network show": IN_THE_COOP,
    "network decisions": IN_THE_COOP,
    # Network funds: moderators open one; a cooperative's money moves only by its treasurers.
    "network fund create": MODERATORS,
    "network fund contribute": TREASURERS,
    "network fund show": IN_THE_COOP,
    "network fund request": MEMBERS,
    "network fund approve": TREASURERS,
    "network fund reject": TREASURERS,
    "network fund pay": TREASURERS,
    "network fund treasurers": MODERATORS,
    # Personal reminders (§4): anyone's own.
    "remind me": EVERYONE,
    "remind list": EVERYONE,
    "remind cancel": EVERYONE,
    "remind dms": EVERYONE,
}
