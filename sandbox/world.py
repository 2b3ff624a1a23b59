"""The demo cooperative: its server, roles and people (pinned ids, built in a fixed order so that a
restart gets the same ids), its charter and its intro, and naming the bot coopbot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

from bot import INTENTS
from governance.permissions import Actor

if TYPE_CHECKING:
    import simcord


log = logging.getLogger("coopbot.sandbox")

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

# A second cooperative, another server in the same network: the page shows Harbour Commons' channel, and
# what the bot posts in this one is summed up there, as threads and DMs are.
NEIGHBOUR_ID = 1_300_000_000_000_000_777
NEIGHBOUR_NAME = "Riverside Makers"
NETWORK_NAME = "Coast Network"
NEIGHBOURS = (
    PersonSpec("rangi", "rangi", "Rangi", ("member", "moderator"), "moderator", "Boat builder"),
    PersonSpec("sol", "sol", "Sol", ("member",), does="Weaver"),
    PersonSpec("tui", "tui", "Tui", ("member",), does="Potter"),
)

CHARTER = """\
1. We decide together: every member has a voice, and objections are heard before we act.
2. We share what we earn: members pool part of their income in the Commons fund.
3. We are open: decisions, money and their reasons are on record for every member.
4. We look after each other and the people who join us."""

INTRO = (
    "👋 **Welcome to the coopbot sandbox**: a simulated Discord on your computer, with the real bot.\n"
    "Choose who you are under **Viewing as**: {people}. Then type `/` below to run a command: "
    "`/proposal new`, `/proposal list`, `/decisions`, `/fund show fund:Commons`, `/network show`, "
    "`/coop settings`… and use the buttons.\n"
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
class Neighbour:
    """The other cooperative of the demo network: its server, channel, roles and people."""

    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    roles: dict[str, simcord.RoleHandle]
    members: dict[str, simcord.MemberActor]

    def actor(self, key: str) -> Actor:
        spec = next(spec for spec in NEIGHBOURS if spec.key == key)
        return Actor(
            user_id=self.members[key].id, role_ids=frozenset(self.roles[role].id for role in spec.roles)
        )


@dataclass
class World:
    """The simulated Discord side of the demo cooperative (and of its neighbour in the network)."""

    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    roles: dict[str, simcord.RoleHandle]
    users: dict[str, simcord.UserHandle]
    members: dict[str, simcord.MemberActor] = field(default_factory=dict)
    neighbour: Neighbour | None = None

    def ids(self) -> dict[str, Any]:
        ids: dict[str, Any] = {
            "guild": self.guild.id,
            "channel": self.channel.id,
            "roles": {key: role.id for key, role in self.roles.items()},
            "people": {key: user.id for key, user in self.users.items()},
        }
        if self.neighbour is not None:
            ids["neighbour"] = {
                "guild": self.neighbour.guild.id,
                "channel": self.neighbour.channel.id,
                "people": {key: member.id for key, member in self.neighbour.members.items()},
            }
        return ids

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
    world.neighbour = _build_neighbour(env)
    return world


def _build_neighbour(env: simcord.Env) -> Neighbour:
    """The neighbour cooperative, after the demo's own (so that the demo's ids stay as they were). Its
    people always have their starting roles: nobody views the page as one of them."""
    guild = env.create_guild(NEIGHBOUR_NAME, id=NEIGHBOUR_ID)
    roles = {spec.key: guild.create_role(spec.name, color=spec.colour, hoist=True) for spec in ROLES[:3]}
    channel = guild.create_text_channel(CHANNEL_NAME, topic="Riverside Makers' governance.")
    members = {
        spec.key: guild.add_member(
            env.create_user(spec.username, global_name=spec.name),
            roles=[roles[key] for key in spec.roles],
            nick=spec.nick,
        )
        for spec in NEIGHBOURS
    }
    return Neighbour(guild=guild, channel=channel, roles=roles, members=members)


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
