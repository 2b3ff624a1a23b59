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
from governance.i18n import N_, SOURCE, Text, Translated, _, translate
from governance.permissions import Actor

if TYPE_CHECKING:
    import simcord


log = logging.getLogger("coopbot.sandbox")

GUILD_ID = 1_300_000_000_000_000_001  # pinned; every other id follows from the build order
GUILD_NAME = "Harbour Commons"
BOT_NAME = "coopbot"
CHANNEL_NAME = "coop"
CHANNEL_TOPIC = N_("Governance, welcome and funds: everything coopbot posts lands here in the sandbox.")
TIMEZONE = "Pacific/Auckland"
CURRENCY = "NZD"
FUND = N_("Commons")  # the demo's fund, named in the sandbox's language


@dataclass(frozen=True)
class RoleSpec:
    key: str
    name: str  # marked with N_: the role is named in the sandbox's language
    colour: int


ROLES = (
    RoleSpec("member", N_("Member"), 0x2ECC71),
    RoleSpec("contributor", N_("Contributor"), 0x95A5A6),
    RoleSpec("moderator", N_("Steward"), 0xE67E22),
    RoleSpec("treasurer", N_("Treasurer"), 0x3498DB),
)


@dataclass(frozen=True)
class PersonSpec:
    key: str
    username: str
    name: str
    roles: tuple[str, ...]
    # Marked with N_, said in the sandbox's language: shown after the name (the page's "Viewing as" list
    # and messages), and their profile's work and skills.
    label: str = ""
    does: str = ""
    skills: str = ""

    def nick(self, language: str = SOURCE) -> str:
        return f"{self.name} · {translate(self.label, language)}" if self.label else self.name


PEOPLE = (
    PersonSpec(
        "moderator",
        "ana",
        "Ana",
        ("member", "moderator"),
        N_("moderator"),
        N_("Facilitation"),
        N_("facilitation, ops"),
    ),
    PersonSpec(
        "treasurer",
        "tama",
        "Tama",
        ("member", "treasurer"),
        N_("treasurer"),
        N_("Bookkeeping"),
        N_("accounts, xero"),
    ),
    PersonSpec("bea", "bea", "Bea", ("member",), does=N_("Web developer"), skills=N_("python, design")),
    PersonSpec("caleb", "caleb", "Caleb", ("member",), does=N_("Carpenter"), skills=N_("building, tools")),
    PersonSpec(
        "dina", "dina", "Dina", ("member",), does=N_("Community organiser"), skills=N_("events, writing")
    ),
    PersonSpec("emeka", "emeka", "Emeka", ("member",), does=N_("Teacher"), skills=N_("workshops, maths")),
    PersonSpec("farah", "farah", "Farah", ("member",), does=N_("Illustrator"), skills=N_("drawing, print")),
    PersonSpec("newcomer", "gus", "Gus", ()),
)
NEWCOMER = "newcomer"

# A second cooperative, another server in the same network: the page shows Harbour Commons' channel, and
# what the bot posts in this one is summed up there, as threads and DMs are.
NEIGHBOUR_ID = 1_300_000_000_000_000_777
NEIGHBOUR_NAME = "Riverside Makers"
NETWORK_NAME = "Coast Network"
NEIGHBOURS = (
    PersonSpec("rangi", "rangi", "Rangi", ("member", "moderator"), N_("moderator"), N_("Boat builder")),
    PersonSpec("sol", "sol", "Sol", ("member",), does=N_("Weaver")),
    PersonSpec("tui", "tui", "Tui", ("member",), does=N_("Potter")),
)


def charter() -> Text:
    """The demo cooperative's charter."""
    return _(
        "1. We decide together: every member has a voice, and objections are heard before we act.\n"
        "2. We share what we earn: members pool part of their income in the {fund} fund.\n"
        "3. We are open: decisions, money and their reasons are on record for every member.\n"
        "4. We look after each other and the people who join us.",
        fund=Translated(FUND),
    )


def intro(people: str) -> Text:
    """The sandbox's first message in the channel, with who is who ("Ana (moderator), ...")."""
    return _(
        "👋 **Welcome to the coopbot sandbox**: a simulated Discord on your computer, with the real bot.\n"
        "Choose who you are under **Viewing as**: {people}. Then type `/` below to run a command: "
        "`/proposal new`, `/proposal list`, `/decisions`, `/fund show fund:{fund}`, `/network show`, "
        "`/coop settings`… and use the buttons.\n"
        "Time stands still here: `/sandbox advance duration:3d` moves it forward, and what comes due on the "
        "way (closings, reminders) happens at its own time. Threads and DMs are not shown in this page.",
        people=people,
        fund=Translated(FUND),
    )


# How the demo describes people by the roles they hold (RoleSpec keys), and newcomers with none.
STANDINGS = {
    "moderator": N_("moderator"),
    "treasurer": N_("treasurer"),
    "member": N_("member"),
    "contributor": N_("contributor"),
    "newcomer": N_("newcomer"),
}


def standing(roles: Iterable[str], language: str = SOURCE) -> str:
    """How the demo describes someone holding these roles (RoleSpec keys), in `language`: their office,
    else member, contributor or, with no role, newcomer."""
    held = set(roles)
    offices = [translate(STANDINGS[key], language) for key in ("moderator", "treasurer") if key in held]
    if len(offices) == 2:
        return _("{office} and {other_office}", office=offices[0], other_office=offices[1]).render(language)
    if offices:
        return offices[0]
    key = next((key for key in ("member", "contributor") if key in held), "newcomer")
    return translate(STANDINGS[key], language)


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


def build_world(
    env: simcord.Env,
    roles_held: dict[str, list[int]] | None,
    *,
    newcomer_later: bool,
    language: str = SOURCE,
) -> World:
    """Create the guild, its channel, roles and people, always in the same order (the ids depend on it).

    `roles_held` maps user ids (as strings) to the role ids they held when the sandbox last stopped; None
    means the demo's starting roles. People missing from it had left the server. With `newcomer_later`,
    the newcomer's account exists but joins only once the bot runs (so that it sees the join). Roles,
    topics and the labels after people's names are in `language` (the ids do not depend on names)."""
    guild = env.create_guild(GUILD_NAME, id=GUILD_ID)
    roles = {
        spec.key: guild.create_role(translate(spec.name, language), color=spec.colour, hoist=True)
        for spec in ROLES
    }
    channel = guild.create_text_channel(CHANNEL_NAME, topic=translate(CHANNEL_TOPIC, language))
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
        world.members[spec.key] = guild.add_member(user, roles=held, nick=spec.nick(language))
    world.neighbour = _build_neighbour(env, language)
    return world


def _build_neighbour(env: simcord.Env, language: str = SOURCE) -> Neighbour:
    """The neighbour cooperative, after the demo's own (so that the demo's ids stay as they were). Its
    people always have their starting roles: nobody views the page as one of them."""
    guild = env.create_guild(NEIGHBOUR_NAME, id=NEIGHBOUR_ID)
    roles = {
        spec.key: guild.create_role(translate(spec.name, language), color=spec.colour, hoist=True)
        for spec in ROLES[:3]
    }
    topic = _("Governance of {cooperative}.", cooperative=NEIGHBOUR_NAME)
    channel = guild.create_text_channel(CHANNEL_NAME, topic=topic.render(language))
    members = {
        spec.key: guild.add_member(
            env.create_user(spec.username, global_name=spec.name),
            roles=[roles[key] for key in spec.roles],
            nick=spec.nick(language),
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
