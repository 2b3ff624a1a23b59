"""The local sandbox: the real coopbot in SimCord's simulated Discord, in a browser page, without a token.

`coopbot sandbox` (or `make sandbox`) starts the unmodified bot against SimCord, sets up a demo cooperative
the first time, serves SimCord's preview page on 127.0.0.1 and prints its URL. In the page a person picks who
they act as, runs slash commands, clicks buttons and fills modals; the bot answers as in Discord.

What persists, in ``data/`` (or ``--data-dir``):

- ``sandbox.db``: the bot's database (SQLite), as in production.
- ``sandbox.json``: what the simulated Discord cannot keep itself: the sandbox's time, the ids of the demo
  world (checked at every start) and who holds which role.

The simulated Discord lives in memory, so each start builds the world again. Its ids are reproducible: the
guild id is pinned, and SimCord gives every other object an id from its own fixed clock and a counter, so
building the same world in the same order, before anything else, gives the same ids; ``sandbox.json``
records them and a start that gets different ids (a SimCord upgrade could do that) explains it and starts
afresh, keeping the old database as ``sandbox.db.old``. Messages are not kept: on a restart the bot posts
the open proposals again (with the proposal extension's own ``post_decision``); the rest is in the
commands (``/decisions``, ``/fund show``, ...).

Time stands still in the sandbox: the bot runs on a ``ManualClock`` that only ``--advance`` and
``/sandbox advance`` move, together with SimCord's clock, and they move as a clock does: step by step to each
moment something comes due on the way (``next_due`` of the bot's two DueRunners: closings, reminders,
expiries, webhook deliveries), in time order, doing it there (``run_now``). So a close is recorded at its
closing time, a daily reminder fires once a day, and nothing is told as late or done while the bot was
offline: the bot says that only of what came due while it was truly down. Work that keeps failing stays due
in the past and is passed over (time only moves forward); past ``MAX_STEPS`` moments in one advance, the rest
is done together at its end, and the channel says so. The APScheduler alarm, which reads real time, is off
here. What the bot posted where the page cannot show it (threads, DMs) is summed up in the channel.

The bot is called coopbot from before it logs in (SimCord names its bot "TestBot"), and the intro and the
banner describe people by the roles they hold now. Two things the page shows otherwise than Discord: mentions
inside embeds stay raw ``<@id>`` (SimCord's page renders mentions in message text only), and links to a
message point at discord.com, outside the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot import INTENTS, CoopBot, create_bot
from config import PROJECT_ROOT, Settings
from governance import coop, decisions, proposing, voting
from governance.clock import ManualClock
from governance.errors import DomainError
from governance.permissions import Actor
from governance.timeparse import discord_timestamp, format_duration, parse_duration

if TYPE_CHECKING:
    import simcord

log = logging.getLogger("coopbot.sandbox")

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
STATE_VERSION = 1
MAX_ADVANCE = timedelta(days=366)
# The most moments one advance steps through one by one (each costs a few database reads and a settle).
MAX_STEPS = 1_000
# How long an advance waits for a page action that is running to finish before giving up.
OPERATION_PATIENCE = 30.0
RELAY_LIMIT = 1_900

# --- the demo world -----------------------------------------------------------------------------------

GUILD_ID = 1_300_000_000_000_000_001  # pinned; every other id follows from the build order
GUILD_NAME = "Harbour Commons"
BOT_NAME = "coopbot"
CHANNEL_NAME = "coop"
CHANNEL_TOPIC = "Governance, welcome and funds: everything coopbot posts lands here in the sandbox."
TIMEZONE = "Pacific/Auckland"
CURRENCY = "NZD"


@dataclass(frozen=True)
class RoleSpec:
    key: str
    name: str
    colour: int


ROLES = (
    RoleSpec("member", "Member", 0x2ECC71),
    RoleSpec("contributor", "Contributor", 0x95A5A6),
    RoleSpec("moderator", "Steward", 0xE67E22),
    RoleSpec("treasurer", "Treasurer", 0x3498DB),
)


@dataclass(frozen=True)
class PersonSpec:
    key: str
    username: str
    name: str
    roles: tuple[str, ...]
    label: str = ""  # shown after the name (the page's "Viewing as" list and messages)
    does: str = ""
    skills: str = ""

    @property
    def nick(self) -> str:
        return f"{self.name} · {self.label}" if self.label else self.name


PEOPLE = (
    PersonSpec(
        "moderator", "ana", "Ana", ("member", "moderator"), "moderator", "Facilitation", "facilitation, ops"
    ),
    PersonSpec(
        "treasurer", "tama", "Tama", ("member", "treasurer"), "treasurer", "Bookkeeping", "accounts, xero"
    ),
    PersonSpec("bea", "bea", "Bea", ("member",), does="Web developer", skills="python, design"),
    PersonSpec("caleb", "caleb", "Caleb", ("member",), does="Carpenter", skills="building, tools"),
    PersonSpec("dina", "dina", "Dina", ("member",), does="Community organiser", skills="events, writing"),
    PersonSpec("emeka", "emeka", "Emeka", ("member",), does="Teacher", skills="workshops, maths"),
    PersonSpec("farah", "farah", "Farah", ("member",), does="Illustrator", skills="drawing, print"),
    PersonSpec("newcomer", "gus", "Gus", ()),
)
NEWCOMER = "newcomer"

CHARTER = """\
1. We decide together: every member has a voice, and objections are heard before we act.
2. We share what we earn: members pool part of their income in the Commons fund.
3. We are open: decisions, money and their reasons are on record for every member.
4. We look after each other and the people who join us."""

INTRO = (
    "👋 **Welcome to the coopbot sandbox**: a simulated Discord on your computer, with the real bot.\n"
    "Choose who you are under **Viewing as**: {people}. Then type `/` below to run a command: "
    "`/proposal new`, `/proposal list`, `/decisions`, `/fund show fund:Commons`, `/coop settings`… and use "
    "the buttons.\n"
    "Time stands still here: `/sandbox advance duration:3d` moves it forward, and what comes due on the way "
    "(closings, reminders) happens at its own time. Threads and DMs are not shown in this page."
)


def standing(roles: Iterable[str]) -> str:
    """How the demo describes someone holding these roles (RoleSpec keys): their office, else member,
    contributor or, with no role, newcomer."""
    held = set(roles)
    offices = [key for key in ("moderator", "treasurer") if key in held]
    if offices:
        return " and ".join(offices)
    return next((key for key in ("member", "contributor") if key in held), "newcomer")


@dataclass
class World:
    """The simulated Discord side of the demo cooperative."""

    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    roles: dict[str, simcord.RoleHandle]
    users: dict[str, simcord.UserHandle]
    members: dict[str, simcord.MemberActor] = field(default_factory=dict)

    def ids(self) -> dict[str, Any]:
        return {
            "guild": self.guild.id,
            "channel": self.channel.id,
            "roles": {key: role.id for key, role in self.roles.items()},
            "people": {key: user.id for key, user in self.users.items()},
        }

    def person(self, key: str) -> simcord.MemberActor:
        return self.members[key]

    def actor(self, key: str) -> Actor:
        """The governance view of a person with the demo's starting roles (for seeding)."""
        spec = next(spec for spec in PEOPLE if spec.key == key)
        return Actor(
            user_id=self.users[key].id, role_ids=frozenset(self.roles[role].id for role in spec.roles)
        )


def build_world(env: simcord.Env, roles_held: dict[str, list[int]] | None, *, newcomer_later: bool) -> World:
    """Create the guild, its channel, roles and people, always in the same order (the ids depend on it).

    `roles_held` maps user ids (as strings) to the role ids they held when the sandbox last stopped; None
    means the demo's starting roles. People missing from it had left the server. With `newcomer_later`,
    the newcomer's account exists but joins only once the bot runs (so that it sees the join)."""
    guild = env.create_guild(GUILD_NAME, id=GUILD_ID)
    roles = {spec.key: guild.create_role(spec.name, color=spec.colour, hoist=True) for spec in ROLES}
    channel = guild.create_text_channel(CHANNEL_NAME, topic=CHANNEL_TOPIC)
    users = {spec.key: env.create_user(spec.username, global_name=spec.name) for spec in PEOPLE}
    world = World(guild=guild, channel=channel, roles=roles, users=users)
    by_id = {role.id: role for role in roles.values()}
    for spec in PEOPLE:
        user = users[spec.key]
        if roles_held is None:
            if spec.key == NEWCOMER and newcomer_later:
                continue
            held = [roles[key] for key in spec.roles]
        elif str(user.id) in roles_held:
            held = [by_id[role_id] for role_id in roles_held[str(user.id)] if role_id in by_id]
        else:
            continue
        world.members[spec.key] = guild.add_member(user, roles=held, nick=spec.nick)
    return world


def _name_the_bot(env: simcord.Env) -> None:
    """SimCord calls its bot user "TestBot" and has no option for the name (3.2.1): rename it before the bot
    logs in, so that it is coopbot from "Connected as" on. SimCord's Backend is not public API, hence the
    care; without it the sandbox renames the bot through Discord's own route once connected."""
    user = getattr(getattr(env, "backend", None), "bot_user", None)
    if user is not None and isinstance(getattr(user, "name", None), str):
        user.name = BOT_NAME


def world_ids() -> dict[str, Any]:
    """The ids a world built now would get, from a throwaway simulation (nothing runs in it)."""
    import simcord

    probe = simcord.Env(discord.Client(intents=INTENTS))
    return build_world(probe, None, newcomer_later=False).ids()


# --- persistence ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "sandbox.db"

    @property
    def state(self) -> Path:
        return self.data_dir / "sandbox.json"

    def database_files(self) -> list[Path]:
        return [self.database.with_name(self.database.name + suffix) for suffix in ("", "-wal", "-shm")]

    def reset(self, *, keep_old: bool) -> None:
        """Forget the sandbox: delete (or, with keep_old, set aside as *.old) its database and state."""
        for path in [*self.database_files(), self.state]:
            if not path.exists():
                continue
            if keep_old:
                path.replace(path.with_name(path.name + ".old"))
            else:
                path.unlink()


@dataclass
class State:
    now: datetime
    world: dict[str, Any]
    roles_held: dict[str, list[int]]

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version") != STATE_VERSION:
                return None
            now = datetime.fromisoformat(raw["now"])
            if now.tzinfo is None:
                return None
            return cls(
                now=now.astimezone(UTC),
                world=dict(raw["world"]),
                roles_held={str(k): [int(r) for r in v] for k, v in raw["roles_held"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, path: Path) -> None:
        payload = {
            "version": STATE_VERSION,
            "now": self.now.isoformat(),
            "world": self.world,
            "roles_held": self.roles_held,
        }
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)


# --- the sandbox ------------------------------------------------------------------------------------

T = TypeVar("T")


class SandboxError(Exception):
    """Something that stops the sandbox from starting, told to the person as it is."""


@dataclass
class Options:
    fresh: bool = False
    advance: timedelta | None = None
    port: int = 0
    data_dir: Path = DEFAULT_DATA_DIR
    out: Any = None  # where the banner goes (stdout by default); never a log


class Sandbox:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.paths = Paths(options.data_dir)
        self.out = options.out or sys.stdout
        self.notes: list[str] = []  # told in the banner
        self.seeded: list[str] = []
        self._advances: asyncio.Queue[timedelta] = asyncio.Queue()
        self._planned: datetime | None = None  # where time will be once queued advances are done
        self._stop = asyncio.Event()
        # Made in run():
        self.clock: ManualClock
        self.bot: CoopBot
        self.env: simcord.Env
        self.world: World
        self.state: State
        self.preview: simcord.Preview | None = None
        self._ready = False  # the demo is set up (or resumed): from then on the state is worth saving
        self._newcomer_to_join = False  # a fresh start: the newcomer joins once the demo is set up

    # --- start ------------------------------------------------------------------------------------

    def _prepare_files(self) -> tuple[State | None, bool]:
        """Decide between reusing the saved sandbox and starting afresh. Returns (state, fresh)."""
        self.paths.data_dir.mkdir(parents=True, exist_ok=True)
        if self.options.fresh:
            self.paths.reset(keep_old=False)
            return None, True
        state = State.load(self.paths.state)
        has_database = self.paths.database.exists()
        if state is None and not has_database:
            return None, True
        if state is None or not has_database:
            missing = "its state file sandbox.json" if state is None else "its database sandbox.db"
            self.notes.append(
                f"{self.paths.data_dir} had a sandbox without {missing}, so it starts afresh "
                "(the old files are kept with .old added)."
            )
            self.paths.reset(keep_old=True)
            return None, True
        if state.world != world_ids():
            self.notes.append(
                "This SimCord builds the demo world with other ids than the saved sandbox refers to "
                "(was SimCord upgraded?), so the sandbox starts afresh; the old database is kept as "
                "sandbox.db.old."
            )
            self.paths.reset(keep_old=True)
            return None, True
        return state, False

    async def run(self) -> int:
        async with self.started():
            return await self._serve()

    @contextlib.asynccontextmanager
    async def started(self) -> AsyncIterator[None]:
        """The sandbox set up (or resumed) and running, its time moved as asked, without the page: `run`
        serves the page inside it, tests drive it directly. Everything is saved and stopped on the way out."""
        import simcord

        state, fresh = self._prepare_files()
        start = state.now if state else datetime.now(UTC).replace(microsecond=0)
        self.clock = ManualClock(start)
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{self.paths.database}",
            discord_token=None,
            shard_count=1,
            _env_file=None,
        )
        # The alarm clock (APScheduler) reads real time, which does not pass here: what is due is run
        # explicitly whenever the sandbox's time moves.
        self.bot = create_bot(settings, clock=self.clock, start_scheduler=False, guild_ready_timeout=0.05)
        self.bot.message_links = (
            False  # the page has no address for a message: confirmations name the channel
        )
        self.env = simcord.Env(self.bot, check_errors=False)
        _name_the_bot(self.env)
        # No one at all in the server is not a state the sandbox can be left in: then, the starting roles.
        roles_held = state.roles_held if state and state.roles_held else None
        self._newcomer_to_join = fresh
        self.world = build_world(self.env, roles_held, newcomer_later=fresh)
        self.state = State(now=start, world=self.world.ids(), roles_held=state.roles_held if state else {})
        started = False
        try:
            await self.env.start()
            started = True
            if self.env.now() > self.clock.now():  # a computer clock before SimCord's own epoch
                self.clock.set(self.env.now())
            await self.env.advance_time((self.clock.now() - self.env.now()).total_seconds())
            await self._install_commands()
            if self.bot.user is not None and self.bot.user.name != BOT_NAME:
                # Should _name_the_bot find nothing to rename (SimCord changed), the public way, late.
                await self.bot.user.edit(username=BOT_NAME)
            await self._post_intro(resumed=not fresh)
            if fresh:
                await self._seed()
            else:
                await self._repost_open_decisions()
            self._ready = True
            self._save()
            if self.options.advance:
                was = self.clock.now()
                await self._advance(self.options.advance)
                self.notes.append(
                    f"Time moved forward {format_duration(self.options.advance)} "
                    f"(from {was:%a %d %b %H:%M}): what came due was done, each at its own time, and is "
                    "summed up in the channel."
                )
            else:
                await self._run_due()
            yield
        finally:
            self._save()
            if started:
                await self.env.shutdown()
            await self.bot.close()

    async def _install_commands(self) -> None:
        """Add the sandbox's own command group, publish the commands, and let the moderator role use the
        moderator commands (what an admin does once in Server Settings → Integrations)."""
        self.bot.tree.add_command(sandbox_commands(self))
        await self.bot.tree.sync()
        for command in await self.bot.tree.fetch_commands():
            if command.default_member_permissions is not None:
                self.world.guild.set_command_permissions(command.id, {self.world.roles["moderator"]: True})

    def _channel(self) -> discord.TextChannel:
        channel = self.bot.get_channel(self.world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        return channel

    async def _post_intro(self, *, resumed: bool) -> None:
        text = INTRO.format(people=await self._who_is_who())
        if resumed:
            text += (
                "\n-# Resumed from the saved sandbox: the channel's history is not kept between runs, "
                "so the open proposals are posted again below."
            )
        await self._channel().send(text, allowed_mentions=discord.AllowedMentions.none())

    # --- seeding ----------------------------------------------------------------------------------

    async def _seed(self) -> None:
        """The demo cooperative, through the governance layer and the bot's own posting code."""
        now = self.clock.now()
        database = self.bot.database
        world = self.world
        owner = Actor(user_id=world.guild.owner.id, manages_guild=True)
        await coop.configure_guild(
            database,
            guild_id=world.guild.id,
            actor=owner,
            changes=coop.SetupChanges(
                governance_channel_id=world.channel.id,
                welcome_channel_id=world.channel.id,
                member_role_id=world.roles["member"].id,
                contributor_role_id=world.roles["contributor"].id,
                moderator_role_id=world.roles["moderator"].id,
                treasurer_role_id=world.roles["treasurer"].id,
                timezone=TIMEZONE,
                currency=CURRENCY,
                default_decision_type="consent",
                default_duration="3d",
            ),
            now=now,
        )
        self.seeded.append(
            f"the cooperative {GUILD_NAME}: #{CHANNEL_NAME} as governance, welcome and funds channel; roles "
            f"Member, Contributor, Steward (moderators), Treasurer; {TIMEZONE}, {CURRENCY}"
        )
        await self._seed_step("charter", self._seed_charter)
        await self._seed_step("fund", self._seed_fund)
        await self._seed_step("proposal", self._seed_proposal)
        await self._seed_step("funding request", self._seed_request)
        await self._seed_step("funding round", self._seed_round)
        await self._seed_step("newcomer", self._seed_newcomer)

    async def _seed_step(self, name: str, step: Callable[[], Awaitable[str | None]]) -> None:
        """One part of the demo. A part whose feature is not there (yet) is left out and said so."""
        try:
            done = await step()
        except Exception as error:
            log.warning("Sandbox demo: could not seed the %s", name, exc_info=True)
            self.seeded.append(f"{name}: NOT seeded ({error.__class__.__name__}: {error})")
            return
        if done:
            self.seeded.append(done)

    async def _seed_charter(self) -> str:
        try:
            from governance import membership
        except ImportError:
            return "charter: not seeded (governance.membership is not there)"
        if not hasattr(membership, "set_charter"):
            return "charter: not seeded (governance.membership has no set_charter)"
        now = self.clock.now()
        database = self.bot.database
        await membership.set_charter(
            database,
            guild_id=self.world.guild.id,
            actor=self.world.actor("moderator"),
            text=CHARTER,
            version=1,
            now=now,
        )
        agreed = 0
        from storage.models import MemberStatus

        members = [spec for spec in PEOPLE if "member" in spec.roles]
        for spec in members:
            user_id = self.world.users[spec.key].id
            if hasattr(membership, "accept_charter"):
                await membership.accept_charter(
                    database,
                    guild_id=self.world.guild.id,
                    user_id=user_id,
                    version=1,
                    standing=MemberStatus.MEMBER,
                    now=now,
                )
                agreed += 1
            if hasattr(membership, "save_profile") and hasattr(membership, "ProfileDraft"):
                await membership.save_profile(
                    database,
                    guild_id=self.world.guild.id,
                    user_id=user_id,
                    draft=membership.ProfileDraft(
                        display_name=spec.name, what_they_do=spec.does, skills=spec.skills, timezone=TIMEZONE
                    ),
                    standing=MemberStatus.MEMBER,
                    now=now,
                )
        profiles = " with their profiles" if hasattr(membership, "save_profile") else ""
        return f"a charter (version 1), agreed by the {agreed} members{profiles}"

    async def _seed_fund(self) -> str:
        try:
            from governance import funds
        except ImportError:
            return "fund: not seeded (governance.funds is not there)"
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        fund = await funds.create_fund(
            database,
            guild_id=guild_id,
            actor=self.world.actor("treasurer"),
            draft=funds.FundDraft(
                name="Commons",
                description="Our shared pot: tools, workshops and gatherings. Members put in monthly.",
            ),
            now=now,
        )
        assert fund.id is not None
        confirmed = {"treasurer": "250", "bea": "200", "caleb": "150", "dina": "120", "emeka": "80"}
        for number, (key, amount) in enumerate(confirmed.items(), start=1):
            await funds.record_contribution(
                database,
                guild_id=guild_id,
                fund=fund.id,
                actor=self.world.actor("treasurer"),
                amount=amount,
                idempotency_key=f"sandbox-seed-{number}",
                now=now,
                member_id=self.world.users[key].id,
                note=f"{now:%B} contribution",
            )
        total = sum(int(amount) for amount in confirmed.values())
        text = (
            f"the fund Commons: {len(confirmed)} contributions confirmed by the treasurer "
            f"({CURRENCY} {total}.00)"
        )
        # One contribution waits for the treasurer: made through /fund contribute itself, so that its
        # notice with the treasurer's buttons is in the channel.
        farah = self.world.person("farah")
        if "fund contribute" in farah.available_commands(self.world.channel):
            posted = len(self.world.channel.history())
            await farah.slash(
                self.world.channel, "fund contribute", fund="Commons", amount="60", note="Bank transfer"
            )
            if len(self.world.channel.history()) == posted:
                raise SandboxError("/fund contribute posted no notice for the treasurer")
            text += f", and 1 of {CURRENCY} 60.00 by Farah waiting for the treasurer (/fund contribute)"
        return text

    def _proposals(self) -> Any:
        from cogs.proposals import Proposals

        cog = self.bot.get_cog(Proposals.__cog_name__)
        if not isinstance(cog, Proposals):
            raise SandboxError("the proposals extension did not load")
        return cog

    async def _seed_proposal(self) -> str:
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        decision = await proposing.open_decision(
            database,
            guild_id=guild_id,
            actor=self.world.actor("moderator"),
            draft=proposing.ProposalDraft(
                title="Meet in person on the first Thursday of every month",
                details=(
                    "Our online calls work, but we miss each other. Proposal: a shared dinner and work "
                    "session on the first Thursday of each month, at the Harbour Street workshop, "
                    "from 5 pm. Costs come out of the Commons fund (about NZD 120 a month)."
                ),
                kind="consensus",
                closes="1w",
            ),
            now=now,
        )
        assert decision.id is not None
        votes = {"bea": "agree", "caleb": "agree", "treasurer": "agree", "dina": "abstain"}
        for key, choice in votes.items():
            await voting.cast_vote(
                database,
                guild_id=guild_id,
                decision_id=decision.id,
                actor=self.world.actor(key),
                now=now,
                choice=choice,
            )
        if await self._proposals().post_decision(decision) is None:
            raise SandboxError("the proposal could not be posted")
        return f"proposal #{decision.id} (consensus, open a week) with {len(votes)} votes"

    async def _seed_request(self) -> str:
        try:
            from governance import funds
        except ImportError:
            return "funding request: not seeded (governance.funds is not there)"
        now = self.clock.now()
        receipt = await funds.request_funds(
            self.bot.database,
            guild_id=self.world.guild.id,
            fund="Commons",
            actor=self.world.actor("emeka"),
            amount_min="300",
            purpose="A laptop for the newcomers' workshops",
            details="A second-hand laptop that stays at the workshop, for people who join without one.",
            now=now,
        )
        text = f"funding request #{receipt.request.id} from Emeka for {CURRENCY} 300.00"
        if receipt.decision is not None:
            assert receipt.decision.id is not None
            await voting.cast_vote(
                self.bot.database,
                guild_id=self.world.guild.id,
                decision_id=receipt.decision.id,
                actor=self.world.actor("bea"),
                now=now,
                choice="no_objection" if receipt.decision.kind == "consent" else "agree",
            )
            if await self._proposals().post_decision(receipt.decision) is None:
                raise SandboxError("the request's proposal could not be posted")
            text += f", decided by proposal #{receipt.decision.id} ({receipt.decision.kind}, 1 vote)"
        return text

    async def _seed_round(self) -> str:
        """A funding round in its funding phase, with two buckets posted and some money in one, so that a
        visitor can fund a bucket with its buttons."""
        from cogs.rounds import Rounds
        from governance import rounds

        cog = self.bot.get_cog(Rounds.__cog_name__)
        if not isinstance(cog, Rounds):
            raise SandboxError("the rounds extension did not load")
        now = self.clock.now()
        database = self.bot.database
        guild_id = self.world.guild.id
        receipt = await rounds.create_round(
            database,
            guild_id=guild_id,
            actor=self.world.actor("treasurer"),
            draft=rounds.RoundDraft(
                title="Workshop round",
                description="Share NZD 350 from the Commons among the workshop's projects.",
                guidelines=("Useful to everyone at the workshop", "Done before the summer"),
                fund="Commons",
                pot="350",
                ideas="0",
                funding="5d",
            ),
            now=now,
        )
        round_id = receipt.round.id or 0
        ideas = {
            "caleb": ("A tool wall", "Pegboard: 80 to 120\nHooks: 20"),
            "dina": ("Gathering kit", "Urn: 60\nMugs: 40 to 60"),
        }
        for key, (title, budget) in ideas.items():
            bucket = await rounds.propose_bucket(
                database,
                guild_id=guild_id,
                round_id=round_id,
                actor=self.world.actor(key),
                title=title,
                description="",
                budget=budget,
                now=now,
            )
            bucket = await rounds.open_bucket(
                database,
                guild_id=guild_id,
                bucket_id=bucket.id or 0,
                actor=self.world.actor("moderator"),
                now=now,
            )
            round_ = await rounds.get_round(database, guild_id, round_id)
            await cog.post_bucket(bucket, round_, f"💡 A bucket in round #{round_id}.")
        await self._run_due()  # funding opens now: everyone with the member role gets a share
        first = (await rounds.list_buckets(database, guild_id, round_id))[0]
        funded = await rounds.fund_bucket(
            database,
            guild_id=guild_id,
            bucket_id=first.id or 0,
            actor=self.world.actor("bea"),
            amount="25",
            idempotency_key="sandbox-seed-round",
            now=now,
        )
        await cog.refresh_bucket_post(funded.bucket, await rounds.get_round(database, guild_id, round_id))
        return (
            f"funding round #{round_id} (NZD 350, funding open 5 days) with 2 buckets, Bea's 25.00 in the "
            "first (/round show, the buttons under each bucket)"
        )

    async def _seed_newcomer(self) -> str:
        """Gus joins now that the bot runs, so the bot sees the join (the welcome, when onboarding is on)."""
        spec = next(spec for spec in PEOPLE if spec.key == NEWCOMER)
        self.world.members[NEWCOMER] = self.world.guild.add_member(self.world.users[NEWCOMER], nick=spec.nick)
        self._newcomer_to_join = False
        await self.env.settle()
        return "Gus, a newcomer, joined the server (no role yet)"

    async def _repost_open_decisions(self) -> None:
        """The simulated Discord starts empty: post the open proposals again, with their buttons."""
        guild_id = self.world.guild.id
        open_decisions = await decisions.list_open(self.bot.database, guild_id, limit=100)
        posted = 0
        for decision in sorted(open_decisions, key=lambda d: d.id or 0):
            if await self._proposals().post_decision(decision) is not None:
                posted += 1
        buckets = await self._repost_open_buckets()
        self.notes.append(
            f"Resumed from {self.paths.database}: {posted} open proposal{'s' if posted != 1 else ''} and "
            f"{buckets} bucket{'s' if buckets != 1 else ''} posted again (the channel's history is not kept "
            "between runs)."
        )

    async def _repost_open_buckets(self) -> int:
        """The buckets of the open rounds, posted again with their buttons."""
        from cogs.rounds import Rounds
        from governance import rounds

        cog = self.bot.get_cog(Rounds.__cog_name__)
        if not isinstance(cog, Rounds):
            return 0
        posted = 0
        for bucket in await rounds.list_buckets(self.bot.database, self.world.guild.id):
            round_ = await rounds.get_round(self.bot.database, bucket.guild_id, bucket.round_id)
            if bucket.status in ("idea", "open") and await cog.post_bucket(bucket, round_, "🪣 A bucket."):
                posted += 1
        return posted

    # --- time -------------------------------------------------------------------------------------

    def request_advance(self, delta: timedelta) -> datetime:
        """Queue a move of time (from the page's /sandbox advance); returns where time will then be."""
        self._planned = (self._planned or self.clock.now()) + delta
        self._advances.put_nowait(delta)
        return self._planned

    async def _when_free(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a SimCord operation once no page action is running (they cannot overlap)."""
        import simcord

        loop = asyncio.get_running_loop()
        deadline = loop.time() + OPERATION_PATIENCE
        while True:
            try:
                return await operation()
            except simcord.SetupError as error:
                if "overlaps" not in str(error) or loop.time() > deadline:
                    raise
            await asyncio.sleep(0.05)

    async def _advance(self, delta: timedelta) -> None:
        """Move the sandbox's time forward by `delta` as a clock moves: step to each moment something comes
        due on the way, in time order, with both clocks (the bot's and SimCord's), and do it then. So a close
        is recorded at its closing time and a recurring reminder fires at each of its times: nothing is late,
        which is what the bot says only of what came due while it was truly down. Then tell what happened
        where the page cannot show it."""
        before = self._out_of_sight()
        target = self.clock.now() + delta
        await self._run_due()  # what a page action made due just now
        steps, crowded = 0, False
        while self.clock.now() < target:
            upcoming = await self._next_due(after=self.clock.now())
            # A cron every minute over a year is half a million moments: past the bound, the rest is done
            # together at the end, as after a time offline (and said so).
            crowded = crowded or (upcoming is not None and upcoming < target and steps >= MAX_STEPS)
            moment = upcoming if upcoming is not None and upcoming < target and not crowded else target
            await self._move_to(moment)
            await self._run_due()
            steps += 1
        if self._planned is not None and self._planned <= self.clock.now():
            self._planned = None
        if crowded:
            await self._channel().send(
                f"🧪 *Sandbox: more than {MAX_STEPS} moments came due in this advance; what came due after "
                f"the {MAX_STEPS}th was done together at its end, so it says it is late.*",
                allowed_mentions=discord.AllowedMentions.none(),
            )
        await self._relay(before)

    async def _next_due(self, *, after: datetime) -> datetime | None:
        """The next moment after `after` when the bot has something to do: governance work or a webhook
        delivery (strictly later, so that work that keeps failing cannot hold time still)."""
        moments = [await runner.next_due(after=after) for runner in (self.bot.due, self.bot.webhooks)]
        return min((moment for moment in moments if moment is not None), default=None)

    async def _move_to(self, moment: datetime) -> None:
        """Move SimCord's clock (its timers fire on the way) and the bot's to `moment`, and save it."""
        seconds = max(0.0, (moment - self.env.now()).total_seconds())
        await self._when_free(lambda: self.env.advance_time(seconds))
        self.clock.set(moment)
        self._save()

    async def _run_due(self) -> None:
        """Do what is due now: what the alarm (off here) does in production, for both runners. The webhook
        deliveries that sends off are awaited too: their outcome belongs to this moment, and a delivery still
        in flight when time jumps past its lease would be claimed and sent again."""
        await self.bot.due.run_now()
        await self.bot.webhooks.run_now()
        in_flight = getattr(self.bot.get_cog("CoopAdmin"), "sending", ())
        await asyncio.gather(*in_flight, return_exceptions=True)
        await self._when_free(self.env.settle)

    def _out_of_sight(self) -> dict[int, tuple[str, dict[int, str]]]:
        """The bot's messages where the page cannot show them: by channel, its name (a thread of the
        channel, someone's DMs) and the messages' text by id."""
        bot_id = self.bot.user.id if self.bot.user else 0
        places = [(f"thread “{thread.name}”", thread) for thread in self.world.channel.threads]
        names = {spec.key: spec.name for spec in PEOPLE}
        places += [(f"DM to {names[key]}", user.dm_channel) for key, user in self.world.users.items()]
        found: dict[int, tuple[str, dict[int, str]]] = {}
        for name, channel in places:
            found[channel.id] = (
                name,
                {m.id: _gist(m) for m in channel.history() if m.author.id == bot_id},
            )
        return found

    async def _relay(self, before: dict[int, tuple[str, dict[int, str]]]) -> None:
        """Sum up in the channel what the bot posted in threads and DMs since `before`."""
        lines: list[str] = []
        for channel_id, (name, messages) in self._out_of_sight().items():
            seen = before.get(channel_id, ("", {}))[1]
            lines += [
                f"> **{name}**: {_clip(text, 300)}" for i, text in sorted(messages.items()) if i not in seen
            ]
        if not lines:
            return
        body = "🧪 *Sandbox: meanwhile, in threads and DMs (this page shows only #coop):*"
        for index, line in enumerate(lines):
            if len(body) + len(line) + 40 > RELAY_LIMIT:
                body += f"\n> …and {len(lines) - index} more"
                break
            body += "\n" + line
        await self._channel().send(body, allowed_mentions=discord.AllowedMentions.none())

    # --- serving ----------------------------------------------------------------------------------

    async def _serve(self) -> int:
        if self._stop.is_set():  # Ctrl-C while starting
            return 0
        viewers = [self.world.members[spec.key] for spec in PEOPLE if spec.key in self.world.members]
        try:
            preview_context = self.env.preview(
                self.world.channel,
                viewers=viewers,
                layout="channel",
                port=self.options.port,
                timezone=_local_timezone(),
            )
            async with preview_context as preview:
                self.preview = preview
                self._banner(preview.url, await self._who_is_who())
                await self._supervise(preview)
        except Exception as error:
            import simcord

            if isinstance(error, simcord.SetupError) and "port" in str(error):
                raise SandboxError(
                    f"The page could not be served on 127.0.0.1:{self.options.port}: is something else "
                    "using that port? Choose another with --port, or 0 for any free one."
                ) from error
            raise
        finally:
            self.preview = None
        print(
            "\ncoopbot sandbox stopped. Everything is kept in "
            f"{self.paths.data_dir} (start afresh with --fresh).",
            file=self.out,
            flush=True,
        )
        return 0

    async def _supervise(self, preview: simcord.Preview) -> None:
        """Until Ctrl-C or "End preview session": move time when the page asks."""
        closed = asyncio.ensure_future(preview.wait_closed())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            while True:
                advance = asyncio.ensure_future(self._advances.get())
                done, _ = await asyncio.wait({closed, stopping, advance}, return_when=asyncio.FIRST_COMPLETED)
                if advance not in done:
                    advance.cancel()
                    return
                try:
                    await self._advance(advance.result())
                    await self._when_free(preview.refresh)
                except Exception:
                    log.exception("The sandbox could not move time forward")
        finally:
            for task in (closed, stopping):
                task.cancel()

    def stop(self) -> None:
        self._stop.set()

    def _banner(self, url: str, people: str) -> None:
        lines = [
            "",
            f"coopbot sandbox: {GUILD_NAME}, a demo cooperative in a simulated Discord (no token; nothing "
            "leaves this computer but the calls to webhooks you add).",
            "",
            f"  Open this page:  {url}",
            "  (the address is the key to the sandbox: anyone who has it can act in it)",
            "",
            f"  Sandbox time:    {self.clock.now():%a %d %b %Y %H:%M} UTC: it moves only with "
            "/sandbox advance duration:1d, or --advance 1d at start",
            f"  Data:            {self.paths.database} (start afresh with --fresh)",
            f"  Act as:          {people}",
        ]
        if self.bot.failed_extensions:
            lines.append(f"  Not loaded:      {', '.join(sorted(self.bot.failed_extensions))} (see the log)")
        if self.seeded:
            lines.append("  Set up:")
            lines += [f"    - {item}" for item in self.seeded]
        lines += [f"  Note: {note}" for note in self.notes]
        lines += ["", "  Stop with Ctrl-C.", ""]
        print("\n".join(lines), file=self.out, flush=True)

    # --- persistence ------------------------------------------------------------------------------

    def _roles_now(self) -> dict[str, list[int]] | None:
        """Who is in the server with which of the demo's roles, by user id, as the bot sees it now (it grants
        and removes some); None before the bot has the server."""
        guild = self.bot.get_guild(self.world.guild.id)
        if guild is None:
            return None
        known = {role.id for role in self.world.roles.values()}
        held: dict[str, list[int]] = {}
        for user in self.world.users.values():
            member = guild.get_member(user.id)
            if member is not None:
                held[str(user.id)] = sorted(role.id for role in member.roles if role.id in known)
        return held

    async def _who_is_who(self) -> str:
        """Everyone in the server as they stand now, from the roles they hold: "Ana (moderator), ...". On a
        fresh start the newcomer counts before joining (the intro is posted first)."""
        guild = self.bot.get_guild(self.world.guild.id)
        if guild is not None and not guild.chunked:  # just after the start, the bot knows few members yet
            await guild.chunk()
        held = self._roles_now() or {}
        role_keys = {role.id: key for key, role in self.world.roles.items()}
        people: list[str] = []
        for spec in PEOPLE:
            role_ids = held.get(str(self.world.users[spec.key].id))
            if role_ids is None and not (spec.key == NEWCOMER and self._newcomer_to_join):
                continue  # left the server
            people.append(f"{spec.name} ({standing(role_keys[role] for role in role_ids or [])})")
        return ", ".join(people)

    def _remember_roles(self) -> None:
        """Who is in the server with which roles, for the next start."""
        held = self._roles_now()
        if held is not None:
            self.state.roles_held = held

    def _save(self) -> None:
        """Write the sandbox's time, world ids and roles; only once the demo is complete, so that a start
        that failed half-way is not taken for a sandbox to resume."""
        if not self._ready:
            return
        self._remember_roles()
        self.state.now = self.clock.now()
        self.state.save(self.paths.state)


def _gist(message: discord.Message) -> str:
    """A message's text on one line (an embed's title when it has no text)."""
    text = message.content
    if not text and message.embeds:
        text = message.embeds[0].title or message.embeds[0].description or "(an embed)"
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _local_timezone() -> str:
    """The computer's IANA timezone for the page's timestamps, or UTC."""
    from zoneinfo import ZoneInfo

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    with contextlib.suppress(OSError):
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ValueError, OSError):
            continue
        return name
    return "UTC"


def sandbox_commands(sandbox: Sandbox) -> app_commands.Group:
    """The sandbox's own commands (registered only in the sandbox, never in the real bot)."""
    group = app_commands.Group(
        name="sandbox", description="Controls of the local sandbox (not part of coopbot in Discord)"
    )

    @group.command(name="advance")
    @app_commands.describe(duration="How far to move time: 30m, 12h, 1d, 1w")
    async def advance(
        interaction: discord.Interaction[CoopBot], duration: app_commands.Range[str, 1, 32]
    ) -> None:
        """Move the sandbox's time forward: closings and reminders that come due happen."""
        delta = parse_duration(duration, maximum=MAX_ADVANCE)
        target = sandbox.request_advance(delta)
        await interaction.response.send_message(
            f"⏩ {interaction.user.mention} moves the sandbox's time forward {format_duration(delta)}, to "
            f"{discord_timestamp(target, 'f')}. What comes due shows up here in a moment.",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    return group


# --- command line -----------------------------------------------------------------------------------


def parse_advance(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text, maximum=MAX_ADVANCE)
    except DomainError as error:
        raise SandboxError(f"--advance: {error.message}") from None


def _check_runtime() -> None:
    """The preview is an optional extra: say how to get it rather than fail on an import."""
    try:
        import simcord
        from simcord.preview import _require_preview_runtime

        _require_preview_runtime()
    except ImportError as error:
        raise SandboxError(_MISSING_EXTRA) from error
    except Exception as error:
        if error.__class__.__name__ == "SetupError":
            raise SandboxError(f"{_MISSING_EXTRA}\n({error})") from error
        raise
    del simcord


_MISSING_EXTRA = (
    "The sandbox needs SimCord's preview (the `sandbox` extra). Install it with\n"
    "    .venv/bin/pip install -e '.[sandbox]'\n"
    "or run `make sandbox`, which does it."
)


class _KnownNoise(logging.Filter):
    """discord.py's warnings that are true of every SimCord run and mean nothing for the sandbox: voice
    libraries not installed (coopbot uses no voice) and a client state SimCord makes without intents."""

    NOISE = ("voice will NOT be supported", "Guilds intent seems to be disabled")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


def run(
    *,
    fresh: bool = False,
    advance: str | None = None,
    port: int = 0,
    data_dir: Path | str | None = None,
) -> int:
    """Run the sandbox until Ctrl-C (or the page's "End preview session"). Returns the exit status."""
    for name in ("discord.client", "discord.state"):
        logging.getLogger(name).addFilter(_KnownNoise())
    try:
        _check_runtime()
        if not 0 <= port <= 65535:
            raise SandboxError("--port must be between 0 (any free port) and 65535.")
        options = Options(
            fresh=fresh,
            advance=parse_advance(advance),
            port=port,
            data_dir=Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR,
        )
        return asyncio.run(_main(options))
    except SandboxError as error:
        print(f"coopbot sandbox: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130


async def _main(options: Options) -> int:
    sandbox = Sandbox(options)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def stop() -> None:
        # The first Ctrl-C stops cleanly; with the handlers gone, a second one interrupts at once.
        for signum in signals:
            loop.remove_signal_handler(signum)
        sandbox.stop()

    for signum in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop)
    try:
        return await sandbox.run()
    finally:
        for signum in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m sandbox` (the same as `coopbot sandbox`)."""
    parser = argparse.ArgumentParser(prog="sandbox", description="Try coopbot in a simulated Discord.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(fresh=args.fresh, advance=args.advance, port=args.port, data_dir=args.data_dir)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fresh", action="store_true", help="start again from the demo cooperative")
    parser.add_argument(
        "--advance", metavar="DURATION", help="move the sandbox's time forward first, e.g. 1d"
    )
    parser.add_argument("--port", type=int, default=0, help="serve the page on this port (default: any free)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where the sandbox keeps its files (default: {DEFAULT_DATA_DIR})",
    )


if __name__ == "__main__":
    raise SystemExit(main())
