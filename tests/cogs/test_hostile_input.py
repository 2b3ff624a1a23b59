"""Hostile input (issue 8): every option of every slash command, and every text input of the forms they
open, fed with what a careless or malicious member could type. Whatever comes in:

- every interaction is answered: a success, or a short ephemeral refusal; never silence, never the apology
  of the error path (an unhandled exception), never a public refusal;
- nothing the bot sends can ping @everyone, @here or a role (allowed mentions of every request, and the
  messages as stored);
- a refusal writes nothing: the row count of every table (the audit log included) is unchanged.

Values are the ones Discord lets through (strings within the option's length, integers within its range,
one of its choices, entities of the server); what Discord itself refuses is checked separately to be
refused by SimCord before it reaches the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import discord
import pytest
import pytest_asyncio
import simcord
from discord import app_commands
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel, col, func, select

from bot import CoopBot
from cogs._common import GENERIC_APOLOGY, user_message_for
from governance.clock import ManualClock
from storage.database import Database
from storage.models import (
    MAX_ID,
    Bucket,
    BucketConcern,
    Contribution,
    Decision,
    FundingRequest,
    LedgerEntry,
    Reminder,
    Round,
    Webhook,
)
from tests.conftest import Coop, build_coop, configure

# Commands by family: one hypothesis test each. Every command of the tree must be in one of them.
FAMILIES: dict[str, tuple[str, ...]] = {
    "proposal": ("proposal", "decisions", "mod decision"),
    "fund": ("fund", "mod fund"),
    "member": ("member", "charter", "mod member"),
    "reminder": ("reminder", "remind", "mod reminder"),
    "coop": ("coop",),
    "round": ("round", "bucket"),
    "network": ("network",),
}
EXAMPLES = 15  # per family; each example runs every command of the family once
FOCUSED_EXAMPLES = 20  # per parsed option
REPLY_LIMIT = 2000
REFUSAL_LIMIT = 400  # a refusal says what is wrong and how to fix it, briefly
VIEWS_EXPIRE = 1000.0  # seconds: longer than any form's or view's timeout
OptionType = discord.AppCommandOptionType
TEXT_INPUT = 4  # Discord's component type of a modal's text input
# Integer options that name a row: drawn mostly from the ids that exist, here and in the other cooperative.
ID_OPTIONS: dict[str, Any] = {
    "proposal": Decision,
    "request": FundingRequest,
    "contribution": Contribution,
    "entry": LedgerEntry,
    "reminder": Reminder,
    "webhook": Webhook,
    "round": Round,
    "bucket": Bucket,
    "concern": BucketConcern,
}


def family_of(qualified_name: str) -> str:
    parts = qualified_name.split()
    return " ".join(parts[:2]) if parts[0] == "mod" else parts[0]


def leaf_commands(bot: CoopBot) -> list[app_commands.Command[Any, ..., Any]]:
    leaves: list[app_commands.Command[Any, ..., Any]] = []
    for root in bot.tree.get_commands():
        if isinstance(root, app_commands.Group):
            leaves.extend(c for c in root.walk_commands() if isinstance(c, app_commands.Command))
        elif isinstance(root, app_commands.Command):
            leaves.append(root)
    return sorted(leaves, key=lambda command: command.qualified_name)


# --- the world --------------------------------------------------------------------------------------


@dataclass
class World:
    """The cooperative under attack, a second cooperative whose objects it must never reach, and the
    entities an option can name."""

    env: simcord.Env
    bot: CoopBot
    db: Database
    clock: ManualClock
    coop: Coop
    other: Coop
    pingable: simcord.RoleHandle
    managed: simcord.RoleHandle
    news: simcord.ChannelHandle
    stranger: simcord.UserHandle
    robot: simcord.MemberActor
    initial_roles: dict[int, frozenset[int]] = field(default_factory=dict)
    # For each id option: the ids of this cooperative's rows, then the other cooperative's.
    ids: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    counter: int = 0  # for names that must be new
    seen_messages: set[int] = field(default_factory=set)

    @property
    def actors(self) -> list[simcord.MemberActor]:
        """Who types: a moderator (every command reachable) and a plain member."""
        return [self.coop.moderator, self.coop.alice]

    @property
    def people(self) -> list[simcord.MemberActor]:
        c = self.coop
        return [c.moderator, c.treasurer, *c.members, c.contributor, c.visitor, c.admin, self.robot]

    def users(self) -> list[Any]:
        # Members of this server, a bot, someone in the other cooperative only, and a stranger: a user
        # option takes any Discord user (the id of someone elsewhere).
        return [*self.people, self.other.alice.user, self.stranger]

    def roles(self) -> list[simcord.RoleHandle]:
        c = self.coop
        return [
            c.member_role,
            c.contributor_role,
            c.moderator_role,
            c.treasurer_role,
            c.guild.default_role,  # @everyone
            self.pingable,
            self.managed,
        ]

    def text_channels(self) -> list[simcord.ChannelHandle]:
        return [self.coop.governance, self.coop.welcome, self.news]

    def mention_tokens(self) -> list[str]:
        c, o = self.coop, self.other
        return [
            "@everyone",
            "@here",
            "@ everyone",
            "@\u200beveryone",
            "＠everyone",
            f"<@&{c.member_role.id}>",
            f"<@&{self.pingable.id}>",
            f"<@&{c.guild.id}>",  # the @everyone role by id
            f"<@&{o.member_role.id}>",
            f"<@{c.alice.id}>",
            f"<@!{c.moderator.id}>",
            f"<@{o.alice.id}>",
            f"<#{c.governance.id}>",
            f"<#{o.governance.id}>",
            f"<t:{2**63}:R>",
            f"https://discord.com/channels/{o.guild.id}/{o.governance.id}/1",
        ]

    async def restore(self) -> list[str]:
        """Undo what earlier examples did to the settings and to people's roles, so that the moderator
        stays a moderator and the member a member; let the forms and buttons left open expire (SimCord's
        settling slows down with every timer pending). Returns what the expiring views did wrong."""
        cursor = len(self.env.http_requests)
        await self.env.advance_time(VIEWS_EXPIRE)
        problems = [f"an expiring view: {p}" for p in _mass_mention_problems(self.env.http_requests[cursor:])]
        await configure(self.coop, self.db, self.clock)
        guild = self.bot.get_guild(self.coop.guild.id)
        assert guild is not None
        changed = False
        for person_id, wanted in self.initial_roles.items():
            member = guild.get_member(person_id)
            if member is None:
                continue
            have = frozenset(role.id for role in member.roles if not role.is_default())
            add = [r for r in guild.roles if r.id in wanted - have]
            remove = [r for r in member.roles if r.id in have - wanted]
            if add:
                await member.add_roles(*add)
                changed = True
            if remove:
                await member.remove_roles(*remove)
                changed = True
        if changed:
            await self.env.settle()
        async with self.db.read() as session:
            for option, model in ID_OPTIONS.items():
                rows = (await session.exec(select(model.id, model.guild_id))).all()
                ours = sorted(row_id for row_id, guild_id in rows if guild_id == self.coop.guild.id)
                theirs = sorted(row_id for row_id, guild_id in rows if guild_id != self.coop.guild.id)
                self.ids[option] = (ours, theirs)
        return problems


def _ok(result: simcord.InteractionResult) -> simcord.InteractionResult:
    assert result.acknowledged, result
    for reply in _replies(result):
        assert "went wrong" not in reply.content, reply
    return result


async def _propose(coop: Coop, author: simcord.MemberActor, title: str, **options: object) -> None:
    shown = _ok(await author.slash(coop.governance, "proposal new", **options))
    assert shown.modal is not None, shown
    done = _ok(await author.submit_modal(shown, {"title": title, "details": "Seeded"}))
    assert any("is open until" in reply.content for reply in _replies(done)), _replies(done)


async def _request(coop: Coop, author: simcord.MemberActor, fund: str, amount: str, purpose: str) -> None:
    shown = _ok(await author.slash(coop.governance, "fund request new", fund=fund, amount=amount))
    assert shown.modal is not None, shown.response
    _ok(await author.submit_modal(shown, {"purpose": purpose}))


async def _seed(coop: Coop, tag: str) -> None:
    """Proposals of several kinds (open, closed), funds with pending and confirmed contributions and
    requests, reminders, a webhook and a charter: so that ids and names point at something."""
    g, mod, alice = coop.governance, coop.admin, coop.alice
    await _propose(coop, alice, f"{tag} consent", type="consent", closes="3d")
    await _propose(
        coop, alice, f"{tag} poll", type="poll", options="Soup;Salad;Pie", closes="3d", max_choices=2
    )
    await _propose(coop, alice, f"{tag} ranked", type="ranked", options="A;B;C;D;E;F", closes="3d")
    await _propose(coop, alice, f"{tag} dots", type="dot", options="Tools;Books;Food", closes="3d", dots=5)
    await _propose(
        coop, alice, f"{tag} secret", type="consent", closes="3d", anonymous=True, hide_results=True
    )
    await _propose(coop, alice, f"{tag} settled", type="consent", closes="3d")
    _ok(await mod.slash(g, "proposal close", proposal=await _last_decision_id(coop)))
    _ok(await mod.slash(g, "fund create", name=f"{tag} Commons", policy="treasurer", limit="1000"))
    _ok(await mod.slash(g, "fund create", name=f"{tag} Travel"))
    _ok(await alice.slash(g, "fund contribute", fund=f"{tag} Commons", amount="50"))
    _ok(await alice.slash(g, "fund contribute", fund=f"{tag} Commons", amount="20", note="bank"))
    _ok(await mod.slash(g, "fund contribution confirm", contribution=await _last_contribution(coop, 1)))
    await _request(coop, alice, f"{tag} Commons", "10", f"{tag} tools")
    await _request(coop, alice, f"{tag} Travel", "5", f"{tag} train")
    _ok(
        await mod.slash(
            g, "reminder add", channel=g, message=f"{tag} check-in", schedule="every monday 09:00"
        )
    )
    _ok(await alice.slash(g, "remind me", when="tomorrow 9:00", what=f"{tag} call the bank"))
    _ok(await mod.slash(g, "coop webhooks add", url=f"https://hooks.example.invalid/{tag}"))
    shown = _ok(await mod.slash(g, "coop charter"))
    _ok(await mod.submit_modal(shown, {"charter": f"{tag}: we decide together."}))


async def _last_decision_id(coop: Coop) -> int:
    bot = coop.env.bot
    assert isinstance(bot, CoopBot)
    async with bot.database.read() as session:
        query = select(func.max(Decision.id)).where(Decision.guild_id == coop.guild.id)
        return int((await session.exec(query)).one() or 0)


async def _last_contribution(coop: Coop, offset: int = 0) -> int:
    bot = coop.env.bot
    assert isinstance(bot, CoopBot)
    async with bot.database.read() as session:
        query = (
            select(Contribution.id)
            .where(Contribution.guild_id == coop.guild.id)
            .order_by(col(Contribution.id).desc())
        )
        return int((await session.exec(query)).all()[offset] or 0)


async def _build_world(
    coop: Coop, env: simcord.Env, bot: CoopBot, db: Database, clock: ManualClock, *, rich: bool
) -> World:
    # Nothing here is about time: keep the alarm clock still. Webhooks would be delivered over the network,
    # and APScheduler's real-time wake-ups (the one-minute sweep, a reminder due in a second) make SimCord
    # advance its clock in the middle of an interaction.
    bot.webhooks.stop()
    if bot.scheduler is not None:
        bot.scheduler.pause()
    # The other cooperative is seeded first, so the smallest ids of everything are not this one's.
    other = build_coop(env, name="Other Collective")
    await env.settle()
    await configure(other, db, clock)
    # Every command visible to everyone (as a server admin can allow in Integrations settings): only the
    # bot's own checks stand between anyone and any command, whatever roles the examples take away.
    # (What tests.conftest.allow_command does, with the commands fetched once.)
    for registered in await bot.tree.fetch_commands():
        for each in (other, coop):
            each.guild.set_command_permissions(registered.id, {each.guild.default_role: True})
    built = World(
        env=env,
        bot=bot,
        db=db,
        clock=clock,
        coop=coop,
        other=other,
        pingable=coop.guild.create_role("Pingable", mentionable=True),
        managed=coop.guild.create_role("Integration", managed=True),
        news=coop.guild.create_news_channel("announcements"),
        stranger=env.create_user("stranger"),
        robot=coop.guild.add_member(env.create_user("robot", bot=True), roles=[coop.member_role]),
    )
    await env.settle()
    if rich:
        await _seed(other, "Other")
        await _seed(coop, "Ours")
    else:
        g = coop.governance
        await _propose(coop, coop.alice, "Ours consent", type="consent", closes="3d")
        await _propose(coop, coop.alice, "Ours poll", type="poll", options="Soup;Salad", closes="3d")
        await _propose(coop, coop.alice, "Ours ranked", type="ranked", options="A;B;C;D;E;F", closes="3d")
        await _propose(coop, coop.alice, "Ours dots", type="dot", options="A;B;C", closes="3d", dots=5)
        _ok(await coop.admin.slash(g, "fund create", name="Ours Commons", policy="treasurer", limit="1000"))
    guild = bot.get_guild(coop.guild.id)
    assert guild is not None
    for person in built.people:
        member = guild.get_member(person.id)
        assert member is not None
        built.initial_roles[person.id] = frozenset(r.id for r in member.roles if not r.is_default())
    _new_bot_messages(built)  # what the seeding posted is checked by the other tests
    return built


@pytest_asyncio.fixture
async def world(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> World:
    """Both cooperatives with proposals of every state, funds, requests, reminders, a webhook, a charter."""
    return await _build_world(configured, simcord_env, simcord_bot, db, clock, rich=True)


@pytest_asyncio.fixture
async def light_world(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, db: Database, clock: ManualClock
) -> World:
    """This cooperative with a few open proposals and a fund; the rest is made as needed."""
    return await _build_world(configured, simcord_env, simcord_bot, db, clock, rich=False)


# --- hostile values ---------------------------------------------------------------------------------

MARKUP = ["**", "__", "*", "_", "~~", "`", "```", "> ", ">>> ", "||", "# ", "-# ", "\\", "[x](https://e.org)"]
INVISIBLE = list("\u202e\u202d\u2066\u2069\u200d\u200b\u200e\u2060\ufeff\u00ad")  # RTL, ZWJ, ZWSP...
CONTROL = ["\x00", "\x07", "\x1b[31m", "\r", "\n", "\r\n", "\t", "\x7f", "\x85", "\u2028", "\u2029"]
UNUSUAL = ["👨‍👩‍👧‍👦", "🏳️‍🌈", "e\u0301", "Ⅻ", "١٢", "１２", "𝟘", "ǅ", "ß", "İ", "ﷺ", "\U000e0041", "꙰"]
INJECTION = ["%", "_", "'", '"', ";", "--", "' OR '1'='1", "%s", "{0}", "{}", "${x}", "NULL", "None", "\\N"]
NUMBERISH = ["0", "-0", "-1", "1e9", "1e309", "-1e309", "NaN", "nan", "inf", "-Infinity", "0.0000001"]
NUMBERISH += [
    "1,200.50",
    "9" * 30,
    "0x10",
    "1_000",
    "+5",
    ".5",
    "5.",
    "1.2.3",
    "٣",
    "１０",
    "½",
    "1e-7",
    "2**31",
]
DURATIONISH = ["0s", "0m", "-1d", "99999w", "99999999999999999999w", "1.5h", "0.0001m", "1d-1h", "3d 3d 3d"]
DURATIONISH += ["in -2h", "in 0s", "366d", "367d", "52w", "1 week and", "d", "1", "3 days ago", "NaNd"]
DATEISH = ["2026-02-30 25:61", "2026-02-29", "0000-01-01", "9999-12-31 23:59", "9999-12-31T23:59-23:59"]
DATEISH += ["2026-12-01T10:00+99:99", "2026-13-01", "1/12/2026", "tomorrow 25:00", "today 0:00", "noon"]
DATEISH += ["next friday 13pm", "31 feb", "feb 29 2027", "dec 32", "0:60", "24:00", "12am", "0pm", "13:00 pm"]
SCHEDULEISH = ["every monday 09:00", "every 0 weeks on friday 16:00", "every 99 weeks on friday 16:00"]
SCHEDULEISH += ["monthly on day 31 10:00", "monthly on day 32 10:00", "last friday of the month 25:00"]
SCHEDULEISH += ["0 9 * * 1", "0 0 31 2 *", "0 0 30 2 *", "*/0 * * * *", "60 24 32 13 8", "* * * * * *"]
SCHEDULEISH += ["cron: 0 0 29 2 *", "every weekday 09:00", "every day", "0-59/1 * * * *", "1-0 * * * *"]
TIMEZONEISH = ["UTC", "Pacific/Auckland", "america/new york", "Factory", "localtime", "posixrules"]
TIMEZONEISH += ["Etc/GMT+14", "../../etc/passwd", "Europe/Berlin\x00", "Auckland", "+05:30", "EST5EDT"]
CURRENCYISH = ["NZD", "nzd", "EUR", "JPY", "KWD", "XXX", "XTS", "XAU", "BTC", "€", "$", "EUR\u200b", "ZZZ"]
URLISH = ["https://hooks.example.invalid/x", "http://localhost/x", "http://127.0.0.1:1/x", "https://"]
URLISH += ["https://u:p@e.invalid/", "https://[::1", "https://e.invalid:99999/", "javascript:alert(1)"]
URLISH += [
    "https://e.invalid/@everyone",
    "file:///etc/passwd",
    "//e.invalid",
    "https://e.invalid/\n",
    "https:e",
]
BALLOTISH = ["agree", "block", "objection", "no objection", "stand aside", "advice", "1", "1, 2, 3", "2 > 1"]
BALLOTISH += ["1 > 1", "1:5", "1:999999999999", "1:-1", "1:NaN", "0", "-1", "99999999999999999999", "1,,2"]
BALLOTISH += ["1:5, 1:3", "3 > 2 > 1 > 4", "1:1e309", "a > b", ">", ":", ",", "yes", "abstain"]
FUNDISH = ["Ours Commons", "ours commons", "  OURS COMMONS  ", "Ours Travel", "Other Commons", "#1", "1"]
FUNDISH += ["#0", "0", "-1", str(MAX_ID), str(MAX_ID + 1), "9" * 40, "#", "# 1", "1.0", "١"]


def edgy(low: int, high: int, *edges: int) -> Any:
    """A whole number in [low, high], or one at or beyond its edges, as often."""
    return st.integers(low, high) | st.sampled_from([low, high, *edges])


def clock_texts() -> Any:
    """Times of day, valid or not: 9:30, 25:61, 0pm, 12:00am..."""
    hour, minute = edgy(0, 23, 24, 25, 99), edgy(0, 59, 60, 61, 99)
    suffix = st.sampled_from(["", "", "am", "pm", " p.m.", "PM"])
    return st.builds(lambda h, m, p: f"{h}:{m:02d}{p}", hour, minute, suffix) | st.builds(
        lambda h, p: f"{h}{p}", hour, suffix
    )


EDGES = {
    "mo": [0, 13, 99],
    "d": [0, 29, 30, 31, 32, 99],
    "h": [24, 25, 99],
    "mi": [60, 61, 99],
    "s": [60, 61, 99],
}


def iso_dates() -> Any:
    """ISO dates and times, valid or with one field out of range: 2026-02-30, 2026-12-01T25:00,
    2026-12-01 10:00:61, 2027-01-01T09:00+99:99."""
    fields = st.fixed_dictionaries(
        {
            "y": st.integers(2026, 2027) | st.sampled_from([0, 1, 1970, 9999]),
            "mo": st.integers(1, 12),
            "d": st.integers(1, 28),
            "h": st.integers(0, 23),
            "mi": st.integers(0, 59),
            "s": st.integers(0, 59),
        }
    )
    wrong = st.sampled_from([None, None, *EDGES]).flatmap(
        lambda name: (
            st.just((None, 0)) if name is None else st.tuples(st.just(name), st.sampled_from(EDGES[name]))
        )
    )
    shape = st.sampled_from(["date", "minutes", "seconds"])
    sep = st.sampled_from([" ", "T", "t"])
    offset = st.sampled_from(
        ["", "", "", "Z", "+02:00", "-23:59", "+24:00", "+99:99", "+0530", "+00:99", "-00"]
    )

    def render(f: dict[str, int], bad: tuple[str | None, int], shape: str, sep: str, offset: str) -> str:
        if bad[0] is not None:
            f = {**f, bad[0]: bad[1]}
        text = f"{f['y']:04d}-{f['mo']:02d}-{f['d']:02d}"
        if shape != "date" or bad[0] in ("h", "mi", "s"):
            text += f"{sep}{f['h']:02d}:{f['mi']:02d}"
        if shape == "seconds" or bad[0] == "s":
            text += f":{f['s']:02d}"
        return text + offset

    return st.builds(render, fields, wrong, shape, sep, offset)


def durations() -> Any:
    """Durations, valid or not: 3d, 1.5 hours, 99999999999999999999w, 1d 12h, in -2h, 0s."""
    number = st.integers(0, 10**25).map(str) | st.sampled_from(["-1", "0", "0.5", "1.", ".5", "00", "1e3"])
    unit = st.sampled_from(["s", "m", "min", "h", "hours", "d", "days", "w", "weeks", "y", "mo", "ms", ""])
    part = st.builds(lambda n, sp, u: f"{n}{sp}{u}", number, st.sampled_from(["", " "]), unit)
    joined = st.builds(
        lambda parts, sep: sep.join(parts),
        st.lists(part, min_size=1, max_size=4),
        st.sampled_from(["", " ", ", ", " and "]),
    )
    return st.builds(
        lambda pre, d, post: f"{pre}{d}{post}",
        st.sampled_from(["", "", "in ", "-"]),
        joined,
        st.sampled_from(["", "", " ago"]),
    )


def moments() -> Any:
    """What a member types for "when": durations, dates, weekdays and months with a time of day."""
    day = st.sampled_from(["", "today", "tomorrow", "friday", "next monday", "on sun", "31 feb", "feb 29"])
    day |= st.builds(
        lambda d, m, y: f"{d} {m}{y}",
        st.integers(0, 40),
        st.sampled_from(["dec", "February"]),
        st.sampled_from(["", " 2026", " 0", " 9999"]),
    )
    named = st.builds(
        lambda d, at, c: f"{d}{at}{c}".strip(), day, st.sampled_from([" ", " at ", ""]), clock_texts()
    )
    return st.one_of(
        durations(), iso_dates(), iso_dates(), iso_dates(), named, st.sampled_from(DURATIONISH + DATEISH)
    )


def schedules() -> Any:
    cron_field = st.sampled_from(["*", "*/0", "*/7", "0", "59", "60", "1-0", "0-59/1", "mon", "7", "32", "?"])
    cron = st.lists(cron_field, min_size=4, max_size=6).map(" ".join)
    every = st.builds(
        lambda n, day, c: f"every {n}{day} {c}",
        st.sampled_from(["", "0 weeks on ", "2 weeks on ", "99 weeks on "]),
        st.sampled_from(["monday", "weekday", "day", "sunday and friday", "funday"]),
        clock_texts(),
    )
    monthly = st.builds(lambda d, c: f"monthly on day {d} {c}", st.integers(-1, 40), clock_texts())
    return cron | every | monthly | st.sampled_from(SCHEDULEISH)


def amounts() -> Any:
    digits = st.integers(0, 10**30).map(str)
    decimal = st.builds(lambda a, b: f"{a}.{b}", digits, st.integers(0, 10**9).map(str))
    return digits | decimal | st.sampled_from(NUMBERISH)


SPECIAL: dict[str, Any] = {
    "closes": moments(),
    "review": moments(),
    "when": moments(),
    "since": moments() | st.builds(lambda m: f"{m} ago", durations()),
    "default_duration": durations(),
    "closing_soon": durations(),
    "time": clock_texts() | st.sampled_from(["9", "09:00", "25", "-1", "12:60", "noon", "midday"]),
    "schedule": schedules(),
    "amount": amounts(),
    "max_amount": amounts(),
    "limit": amounts(),
    "timezone": st.sampled_from(TIMEZONEISH),
    "currency": st.sampled_from(CURRENCYISH),
    "url": st.sampled_from(URLISH),
    "choice": st.sampled_from(BALLOTISH),
    "ballot": st.sampled_from(BALLOTISH),
    "fund": st.sampled_from(FUNDISH),
}


def hostile_text(world: World, *, max_size: int, special: Any = None, min_size: int = 1) -> Any:
    """Text a member could type into a field of `max_size` characters: mentions, markup, invisible and
    control characters, other scripts, huge and blank strings, and what the field expects (`special`),
    alone or with something stuck to it."""
    tokens = [*world.mention_tokens(), *MARKUP, *INVISIBLE, *CONTROL, *UNUSUAL, *INJECTION, *NUMBERISH]
    tokens += [*DURATIONISH, *DATEISH]
    characters = st.characters(
        codec="utf-8",
        categories=("Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Lu", "Ll", "Lo", "Nd", "No", "Po", "Sm", "So"),
    )
    piece = st.one_of(st.sampled_from(tokens), st.text(characters, min_size=1, max_size=6))
    composed = st.lists(piece, min_size=1, max_size=6).map("".join)
    huge = st.sampled_from([*tokens, "x", "🙂", " ", "\u200b"]).map(lambda t: (t * max_size)[:max_size])
    blank = st.text(st.sampled_from(" \t\n\u00a0\u2003\u3000\u200b"), min_size=1, max_size=4)
    options = [composed, huge, blank, st.sampled_from(tokens)]
    if special is not None:
        # Mostly what the field expects, so that the hostile values reach its parser.
        options = [*[special] * 6, st.tuples(special, piece).map("".join), *options]
    value = st.one_of(*options).map(lambda v: v[:max_size])
    if min_size == 0:
        return st.one_of(st.just(""), value)
    return value.map(lambda v: v if len(v) >= min_size else (v + "x" * min_size)[:max_size])


def option_strategy(world: World, command: str, parameter: app_commands.Parameter) -> Any:
    """A value Discord would let through for this option."""
    if parameter.choices:
        return st.sampled_from([choice.value for choice in parameter.choices])
    kind = parameter.type
    if kind is OptionType.integer:
        low = int(parameter.min_value if parameter.min_value is not None else -(2**53) + 1)
        high = int(parameter.max_value if parameter.max_value is not None else 2**53 - 1)
        bounds = st.sampled_from([low, high, max(low, high - 1)])
        if parameter.name in ID_OPTIONS:
            # Which row is decided when the command runs (the rows change as examples go): a strategy that
            # read them would draw differently from one example to the next.
            existing = st.tuples(st.sampled_from(["ours", "ours", "theirs"]), st.integers(0, 63))
            return st.one_of(existing.map(lambda pick: RowPick(*pick)), bounds, st.integers(low, high))
        return st.one_of(bounds, st.integers(low, high))
    if kind is OptionType.number:
        low_f = float(parameter.min_value if parameter.min_value is not None else -(2**53))
        high_f = float(parameter.max_value if parameter.max_value is not None else 2**53)
        return st.floats(low_f, high_f, allow_nan=False, allow_infinity=False)
    if kind is OptionType.boolean:
        return st.booleans()
    if kind is OptionType.role:
        return st.sampled_from(world.roles())
    if kind is OptionType.channel:
        return st.sampled_from(world.text_channels())
    if kind in (OptionType.user, OptionType.mentionable):
        return st.sampled_from(world.users())
    assert kind is OptionType.string, (command, parameter.name, kind)
    max_size = int(parameter.max_value) if parameter.max_value is not None else 6000
    min_size = int(parameter.min_value) if parameter.min_value is not None else 0
    special = SPECIAL.get(parameter.name)
    if parameter.name == "options":
        line = hostile_text(world, max_size=60)
        joined = st.lists(line, min_size=0, max_size=12).map(";".join)
        special = st.sampled_from([";", ";;;;", "a;" * 1000, "Soup;Soup", " ; ; "])
        return st.one_of(joined, hostile_text(world, max_size=max_size, special=special)).map(
            lambda v: (v or ";")[:max_size]
        )
    return hostile_text(world, max_size=max_size, special=special, min_size=max(1, min_size))


@dataclass(frozen=True)
class RowPick:
    """The `index`-th id (modulo their number) of this cooperative's rows ("ours") or the other's."""

    whose: str
    index: int

    def resolve(self, world: World, option: str) -> int:
        ours, theirs = world.ids[option]
        found = ours if self.whose == "ours" else theirs
        return found[self.index % len(found)] if found else MAX_ID


def draw_options(
    data: st.DataObject, world: World, command: app_commands.Command[Any, ..., Any]
) -> dict[str, Any]:
    name = command.qualified_name
    options: dict[str, Any] = {}
    for parameter in command.parameters:
        # An optional option is given one time in three: with all of them, most examples stop at the
        # first option that does not fit the others, before the hostile values reach their parsers.
        given_ = st.sampled_from([False, False, True])
        if not parameter.required and not data.draw(given_, label=f"/{name} gives {parameter.name}"):
            continue
        value = data.draw(option_strategy(world, name, parameter), label=f"/{name} {parameter.name}")
        options[parameter.name] = (
            value.resolve(world, parameter.name) if isinstance(value, RowPick) else value
        )
    return options


def _text_inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == TEXT_INPUT and node.get("custom_id"):
                found[node["custom_id"]] = node
            for child in (*node.get("components", ()), node.get("component")):
                walk(child)

    for component in modal.get("components", ()):
        walk(component)
    return found


def draw_modal_values(data: st.DataObject, world: World, modal: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for custom_id, spec in _text_inputs(modal).items():
        required = bool(spec.get("required", True))
        max_size = int(spec.get("max_length") or 4000)
        min_size = max(int(spec.get("min_length") or 0), 1 if required else 0)
        special = SPECIAL.get(custom_id)
        if custom_id.startswith("option-"):
            special = st.integers(-(10**5), 10**6).map(str) | st.sampled_from([*NUMBERISH, " ", "1 ", "+1"])
        elif custom_id == "options":
            lines = st.lists(hostile_text(world, max_size=100), max_size=30).map("\n".join)
            special = lines | st.sampled_from(["One\nOne", "\n\n\n", "a\n" * 1000, "@everyone\n@here"])
        strategy = hostile_text(world, max_size=max_size, special=special, min_size=min_size)
        values[custom_id] = data.draw(strategy, label=f"modal {modal.get('custom_id')} {custom_id}")
    return values


# --- checks -----------------------------------------------------------------------------------------


def _replies(result: simcord.InteractionResult) -> list[simcord.ResponseMessage]:
    return [reply for reply in (result.response, *result.followups) if reply is not None]


def _mass_mention_problems(entries: Sequence[simcord.HttpLogEntry]) -> list[str]:
    """Every message payload the bot sent allows user pings at most (as assert_no_mass_mentions)."""
    problems = []
    for request in entries:
        body = request.json if isinstance(request.json, dict) else {}
        payload = body["data"] if isinstance(body.get("data"), dict) else body
        if "content" not in payload and "embeds" not in payload:
            continue
        mentions = payload.get("allowed_mentions")
        if mentions is None or not set(mentions.get("parse", [])) <= {"users"} or mentions.get("roles"):
            problems.append(f"{request.method} {request.path} allowed_mentions={mentions!r}")
    return problems


def _new_bot_messages(world: World) -> list[Any]:
    """The messages the bot stored since the last call, in every channel, thread and DM (as SimCord keeps
    them: reading each channel's history as discord.py messages gets slow as the examples add up)."""
    bot_id = world.bot.user.id if world.bot.user else 0
    fresh = []
    for messages in world.env.backend.messages.values():
        for message_id, message in messages.items():
            if message_id not in world.seen_messages:
                world.seen_messages.add(message_id)
                if message.author_id == bot_id:
                    fresh.append(message)
    return fresh


def _pings(stored: Any) -> list[str]:
    """Whom a stored message pinged: @everyone/@here, or roles. A role's mention syntax in the text is not a
    ping (Discord shows it whatever the allowed mentions; SimCord lists it in `role_mentions` too); a ping
    is what SimCord notified, after the allowed mentions."""
    problems = []
    if stored.mention_everyone:
        problems.append("pings @everyone/@here")
    if stored.ping_role_ids:
        problems.append(f"pings roles {stored.ping_role_ids}")
    return problems


async def row_counts(db: Database) -> dict[str, int]:
    names = [table.name for table in SQLModel.metadata.sorted_tables]
    query = " UNION ALL ".join(f"SELECT '{name}', COUNT(*) FROM \"{name}\"" for name in names)
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text(query))).all()
    return {str(name): int(count) for name, count in rows}


@dataclass
class Attempt:
    """One interaction and what it left behind."""

    what: str
    result: simcord.InteractionResult
    errors: tuple[BaseException, ...]
    refusals: list[str]
    requests: list[simcord.HttpLogEntry]
    before: dict[str, int]
    after: dict[str, int]


async def attempt(world: World, what: str, act: Any) -> Attempt:
    env = world.env
    error_cursor, request_cursor = env.error_cursor, len(env.http_requests)
    refusals: list[str] = []

    async def on_refusal(interaction: discord.Interaction[Any], message: str) -> None:
        refusals.append(message)

    before = await row_counts(world.db)
    world.bot.add_listener(on_refusal, "on_refusal")
    try:
        result = await act()
        await env.settle()
    finally:
        world.bot.remove_listener(on_refusal, "on_refusal")
    return Attempt(
        what=what,
        result=result,
        errors=env.errors_since(error_cursor),
        refusals=refusals,
        requests=list(env.http_requests[request_cursor:]),
        before=before,
        after=await row_counts(world.db),
    )


def problems_of(world: World, done: Attempt) -> list[str]:
    """Everything issue 8 forbids, said precisely."""
    result, what = done.result, done.what
    problems: list[str] = []
    bugs = [error for error in done.errors if user_message_for(error) is None]
    refused = bool(done.refusals or done.errors)
    for bug in bugs:
        original = getattr(bug, "original", bug)
        first_line = str(original).splitlines()[0][:300] if str(original) else ""
        problems.append(f"{what}: unhandled {type(original).__name__}: {first_line}")
    if not result.acknowledged:
        problems.append(f"{what}: the interaction was never answered")
    replies = _replies(result)
    if result.modal is None and not replies:
        problems.append(f"{what}: no reply at all (deferred={result.deferred})")
    for reply in replies:
        content = reply.content
        if str(GENERIC_APOLOGY) in content:
            problems.append(f"{what}: answered with the apology of the error path")
        if refused and not reply.ephemeral:
            problems.append(f"{what}: a refusal was posted publicly: {content[:200]!r}")
        if refused and len(content) > REFUSAL_LIMIT:
            problems.append(f"{what}: a refusal of {len(content)} characters: {content[:200]!r}")
        if len(content) > REPLY_LIMIT:
            problems.append(f"{what}: a reply of {len(content)} characters")
        stored = world.env.backend.get_message(reply.channel_id, reply.id)
        problems.extend(f"{what}: the reply {issue}" for issue in _pings(stored))
    problems.extend(f"{what}: {issue}" for issue in _mass_mention_problems(done.requests))
    for message in _new_bot_messages(world):
        problems.extend(f"{what}: message {message.content[:80]!r} {issue}" for issue in _pings(message))
    if refused and done.before != done.after:
        changed = {
            name: (done.before.get(name), count)
            for name, count in done.after.items()
            if done.before.get(name) != count
        }
        problems.append(f"{what}: refused but rows changed: {changed}")
    return problems


def _shown(values: dict[str, Any]) -> str:
    """Values as a failure message shows them: exact (repr), long ones cut."""
    parts = []
    for name, value in values.items():
        text = repr(value)
        parts.append(f"{name}={text[:160]}{'…' if len(text) > 160 else ''}")
    return "{" + ", ".join(parts) + "}"


async def run_command(
    data: st.DataObject, world: World, command: app_commands.Command[Any, ..., Any]
) -> list[str]:
    name = command.qualified_name
    actor = data.draw(st.sampled_from(world.actors), label=f"/{name} typed by")
    options = draw_options(data, world, command)
    shown = await attempt(
        world,
        f"/{name} by {actor.name} with {_shown(options)}",
        partial(actor.slash, world.coop.governance, name, **options),
    )
    problems = problems_of(world, shown)
    modal = shown.result.modal
    if modal is not None and not problems:
        values = draw_modal_values(data, world, modal)
        submitted = await attempt(
            world,
            f"/{name} by {actor.name} with {_shown(options)}, then the form with {_shown(values)}",
            partial(actor.submit_modal, shown.result, values),
        )
        problems += problems_of(world, submitted)
    return problems


def family_commands(bot: CoopBot, family: str) -> list[app_commands.Command[Any, ..., Any]]:
    return [c for c in leaf_commands(bot) if family_of(c.qualified_name) in FAMILIES[family]]


async def test_every_command_belongs_to_a_hostile_input_family(
    simcord_env: simcord.Env, simcord_bot: CoopBot
) -> None:
    known = {name for names in FAMILIES.values() for name in names}
    families = {family_of(command.qualified_name) for command in leaf_commands(simcord_bot)}
    assert families and families <= known, families - known


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # An example runs a whole family on a world the earlier examples changed: shrinking it replays
    # hundreds of them (minutes) and rarely reproduces. The failure names the command and its values;
    # the focused test below shrinks each parsed option's failures to a minimal value.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
async def test_hostile_input_is_refused_briefly_and_harmlessly(
    world: World, family: str, data: st.DataObject
) -> None:
    problems = await world.restore()
    for command in family_commands(world.bot, family):
        problems += await run_command(data, world, command)
        if problems:
            break  # the first command that goes wrong is reported; the others would run on what it left
    assert not problems, "\n".join(problems)


# --- every parsed option, reached ---------------------------------------------------------------------
# The families above give each option anything, with the other options as hostile as it: many examples
# stop at the first refusal. Here each option a parser reads (times, durations, dates, schedules, amounts,
# currencies, timezones, ballots, URLs) gets its hostile values with every other option valid and the
# state it needs, so that its parser is reached every time.


async def _decision_ids(world: World, *, status: str, **where: Any) -> list[int]:
    async with world.db.read() as session:
        query = select(Decision.id).where(
            Decision.guild_id == world.coop.guild.id,
            Decision.status == status,
            col(Decision.link_kind).is_(None),
            col(Decision.anonymous).is_(False),
            *(getattr(Decision, name) == value for name, value in where.items()),
        )
        return sorted(row for row in (await session.exec(query)).all() if row is not None)


async def open_proposal(world: World) -> int:
    found = await _decision_ids(world, status="open", kind="consent", author_id=world.coop.alice.id)
    if not found:
        await _propose(world.coop, world.coop.alice, "Open for hostile input", type="consent", closes="3d")
        found = await _decision_ids(world, status="open", kind="consent", author_id=world.coop.alice.id)
    return found[0]


async def closed_proposal(world: World) -> int:
    found = await _decision_ids(world, status="closed")
    if not found:
        proposal = await open_proposal(world)
        _ok(await world.coop.moderator.slash(world.coop.governance, "proposal close", proposal=proposal))
        found = await _decision_ids(world, status="closed")
    return found[0]


async def pending_request(world: World) -> int:
    async with world.db.read() as session:
        query = select(FundingRequest.id).where(
            FundingRequest.guild_id == world.coop.guild.id,
            FundingRequest.status == "pending",
            col(FundingRequest.decision_id).is_(None),
        )
        found = [row for row in (await session.exec(query)).all() if row is not None]
    if not found:
        await _request(world.coop, world.coop.alice, "Ours Commons", "10", "Hostile amounts")
        return await pending_request(world)
    return found[0]


@dataclass(frozen=True)
class Focus:
    command: str
    option: str
    by: str  # "moderator" or "member"
    others: Any = None  # async (world, data or None) -> the other options, all valid

    async def options(self, world: World, data: st.DataObject | None) -> dict[str, Any]:
        return dict(await self.others(world, data)) if self.others is not None else {}


async def _none(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {}


async def _on_open(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"proposal": await open_proposal(world)}


async def _on_closed(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"proposal": await closed_proposal(world), "statement": "Done."}


async def _on_closed_only(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"proposal": await closed_proposal(world)}


async def _on_any_open(world: World, data: st.DataObject | None) -> dict[str, Any]:
    found = await _decision_ids(world, status="open")
    if data is None:  # the known values go to each open proposal in turn
        world.counter += 1
        index = world.counter
    else:
        index = data.draw(st.integers(0, 63), label="which open proposal")
    return {"proposal": found[index % len(found)]}


async def _new_fund(world: World, data: st.DataObject | None) -> dict[str, Any]:
    world.counter += 1
    return {"name": f"Fund {world.counter}", "policy": "treasurer", "limit": "100"}


async def _commons(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"fund": "Ours Commons", "amount": "10"}


async def _approve(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"request": await pending_request(world)}


async def _reminder(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"channel": world.coop.governance, "message": "Check-in"}


async def _call_the_bank(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"what": "Call the bank"}


async def _digest(world: World, data: st.DataObject | None) -> dict[str, Any]:
    return {"channel": world.coop.governance}


FOCUSES = [
    Focus("proposal new", "closes", "member", _none),
    Focus("proposal new", "options", "member", _none),
    Focus("proposal extend", "closes", "member", _on_open),
    Focus("mod decision extend", "closes", "moderator", _on_open),
    Focus("proposal reopen", "closes", "moderator", _on_closed_only),
    Focus("mod decision reopen", "closes", "moderator", _on_closed_only),
    Focus("proposal outcome", "review", "moderator", _on_closed),
    Focus("proposal vote", "choice", "member", _on_any_open),
    Focus("remind me", "when", "member", _call_the_bank),
    Focus("coop audit", "since", "moderator", _none),
    Focus("coop setup", "default_duration", "moderator", _none),
    Focus("coop setup", "timezone", "moderator", _none),
    Focus("coop setup", "currency", "moderator", _none),
    Focus("coop webhooks add", "url", "moderator", _none),
    Focus("reminder settings", "closing_soon", "moderator", _none),
    Focus("reminder digest", "time", "moderator", _digest),
    Focus("reminder add", "schedule", "moderator", _reminder),
    Focus("fund create", "limit", "moderator", _new_fund),
    Focus("fund create", "currency", "moderator", _new_fund),
    Focus("fund contribute", "amount", "member", _commons),
    Focus("fund request new", "amount", "member", _commons),
    Focus("fund request new", "max_amount", "member", _commons),
    Focus("fund request approve", "amount", "moderator", _approve),
]


def focused_strategy(world: World, parameter: app_commands.Parameter) -> Any:
    max_size = int(parameter.max_value) if parameter.max_value is not None else 6000
    special = SPECIAL.get(parameter.name)
    if special is None:
        return option_strategy(world, "", parameter)
    hostile = hostile_text(world, max_size=max_size, special=special)
    return st.one_of(special, special, special, special, hostile).map(lambda v: v[:max_size] or "x")


@pytest.mark.parametrize("focus", FOCUSES, ids=lambda focus: f"{focus.command} {focus.option}")
@settings(
    max_examples=FOCUSED_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no "explain": it costs a minute
)
@given(data=st.data())
async def test_every_parsed_option_refuses_hostile_values_briefly_and_harmlessly(
    light_world: World, focus: Focus, data: st.DataObject
) -> None:
    world = light_world
    problems = await world.restore()
    command = next(c for c in leaf_commands(world.bot) if c.qualified_name == focus.command)
    parameter = next(p for p in command.parameters if p.name == focus.option)
    actor = world.coop.moderator if focus.by == "moderator" else world.coop.alice
    options = await focus.options(world, data)
    options[focus.option] = data.draw(focused_strategy(world, parameter), label=focus.option)
    done = await attempt(
        world,
        f"/{focus.command} by {actor.name} with {_shown(options)}",
        partial(actor.slash, world.coop.governance, focus.command, **options),
    )
    problems += problems_of(world, done)
    assert not problems, "\n".join(problems)


MOMENT_CASES = [
    "2026-12-01 10:00:60",
    "2026-02-30",
    "2026-12-01 24:00",
    "2027-01-01T09:00+24:00",
    "9999-12-31T23:59-23:59",
    "0001-01-01T00:00+23:59",
    "in 99999999999999999999w",
    "friday 13pm",
]
DURATION_CASES = ["0s", "-1d", "99999999999999999999w", "1e309d", "0.0000001m", "NaNd", "367d", "1d-1h"]
KNOWN_CASES: dict[str, list[str]] = {
    "closes": MOMENT_CASES,
    "review": MOMENT_CASES,
    "when": MOMENT_CASES,
    "since": [*MOMENT_CASES, "99999999999999999999w ago", "0s ago"],
    "default_duration": DURATION_CASES,
    "closing_soon": DURATION_CASES,
    "time": ["24:00", "23:60", "0pm", "13pm", "99", "-1", "12:00:60", "noon"],
    "schedule": [
        "0 0 31 2 *",
        "*/0 * * * *",
        "60 24 32 13 8",
        "every 0 weeks on friday 16:00",
        "monthly on day 32 10:00",
        "every monday 24:00",
        "cron: 0 0 29 2 *",
        "0 0 29 2 1",
    ],
    "amount": ["1e9", "NaN", "-0", "0.0000001", "9" * 64, "1,2,3", "٣", "Infinity", "0"],
    "max_amount": ["1e9", "NaN", "-0", "0.0000001", "9" * 64, "1,2,3", "٣", "Infinity", "0"],
    "limit": ["1e9", "NaN", "-0", "0.0000001", "9" * 64, "1,2,3", "٣", "Infinity", "0"],
    "currency": ["XXX", "xts", "€", "EUR\u200b", "ZZZ", "BTC"],
    "timezone": ["Factory", "localtime", "posixrules", "../../etc/passwd", "Etc/GMT+14", "+05:30"],
    "url": URLISH,
    "choice": BALLOTISH,
    "options": [";", ";;;", "a;" * 1000, "@everyone;@here", "x;x;x"],
}


async def test_known_hostile_values_of_every_parsed_option(light_world: World) -> None:
    """The values that broke parsers before (or break them elsewhere), for every parsed option, all of
    them every time (the property tests above draw only some). Also the same few hostile strings."""
    world = light_world
    problems = await world.restore()
    commands = {c.qualified_name: c for c in leaf_commands(world.bot)}
    common = ["\u200b \t", f"@everyone <@&{world.coop.member_role.id}>", "\u202e3d", "３d"]
    for focus in FOCUSES:
        parameter = next(p for p in commands[focus.command].parameters if p.name == focus.option)
        max_size = int(parameter.max_value) if parameter.max_value is not None else 6000
        actor = world.coop.moderator if focus.by == "moderator" else world.coop.alice
        for value in [*KNOWN_CASES[focus.option], *common]:
            options = await focus.options(world, None)
            options[focus.option] = value[:max_size]
            done = await attempt(
                world,
                f"/{focus.command} by {actor.name} with {_shown(options)}",
                partial(actor.slash, world.coop.governance, focus.command, **options),
            )
            problems += problems_of(world, done)
    assert not problems, "\n".join(problems)


# --- what Discord itself refuses never reaches the bot --------------------------------------------------


def _plausible(world: World, parameter: app_commands.Parameter) -> Any:
    """A value Discord accepts for an option (to fill the options not under test)."""
    if parameter.choices:
        return parameter.choices[0].value
    kind = parameter.type
    if kind is OptionType.integer:
        return int(parameter.min_value) if parameter.min_value is not None else 1
    if kind is OptionType.boolean:
        return True
    if kind is OptionType.role:
        return world.coop.member_role
    if kind is OptionType.channel:
        return world.coop.governance
    if kind in (OptionType.user, OptionType.mentionable):
        return world.coop.members[1]
    return "x"


def _refused_by_discord(world: World, parameter: app_commands.Parameter) -> list[tuple[str, Any]]:
    """Values Discord does not let through for this option, each with what it breaks."""
    kind, low, high = parameter.type, parameter.min_value, parameter.max_value
    cases: list[tuple[str, Any]] = []
    if parameter.choices:
        outside = "not one of the choices" if kind is OptionType.string else 10**6
        cases.append(("not a choice", outside))
    elif kind is OptionType.string:
        cases.append(("empty", ""))
        if high is not None:
            cases.append(("too long", "x" * (int(high) + 1)))
    elif kind is OptionType.integer:
        cases += [("below the range", int(low) - 1 if low is not None else -(2**53))]
        cases += [("above the range", int(high) + 1 if high is not None else 2**53)]
        cases += [("not an integer", "1")]
    elif kind is OptionType.boolean:
        cases.append(("not a boolean", "yes"))
    elif kind is OptionType.role:
        cases += [("a role of another server", world.other.member_role), ("a user", world.coop.alice)]
    elif kind is OptionType.channel:
        cases.append(("a channel of another server", world.other.governance))
        if parameter.channel_types:
            cases.append(("a voice channel", world.coop.voice))
    elif kind is OptionType.user:
        cases += [("a role", world.coop.member_role), ("a channel", world.coop.governance)]
    return cases


async def test_what_discord_refuses_never_reaches_the_bot(light_world: World) -> None:
    """Out-of-range numbers, over-long or empty strings, values outside the choices, entities of the
    wrong kind or of another server, a missing required option, an over-long or empty form field:
    Discord refuses them in the client, and SimCord (synced) refuses them the same way. Nothing of it
    reaches the bot."""
    world = light_world
    env = world.env
    tried = 0
    for command in leaf_commands(world.bot):
        name = command.qualified_name
        valid = {p.name: _plausible(world, p) for p in command.parameters if p.required}
        cases = [
            (parameter.name, why, value)
            for parameter in command.parameters
            for why, value in _refused_by_discord(world, parameter)
        ]
        cases += [(p.name, "missing", None) for p in command.parameters if p.required]
        for option, why, value in cases:
            options = {**valid, option: value}
            if why == "missing":
                del options[option]
            requests, errors = len(env.http_requests), env.error_cursor
            with pytest.raises(simcord.SetupError):
                await world.coop.moderator.slash(world.coop.governance, name, **options)
            assert len(env.http_requests) == requests, (name, option, why)
            assert env.error_cursor == errors, (name, option, why)
            tried += 1
    assert tried > 200
    # Forms: a field over its length, a required field left empty.
    shown = _ok(await world.coop.alice.slash(world.coop.governance, "proposal new", type="consent"))
    for values in ({"title": "x" * 201}, {"title": ""}, {"title": "ok", "details": "x" * 4001}):
        with pytest.raises(simcord.SetupError):
            await world.coop.alice.submit_modal(shown, values)
    shown = _ok(await world.coop.moderator.slash(world.coop.governance, "coop charter"))
    with pytest.raises(simcord.SetupError):
        await world.coop.moderator.submit_modal(shown, {"charter": "x" * 4001})


FORMS = [  # the slash commands that open a form, with options that let them open it
    ("proposal new", {"type": "consent"}),
    ("fund request new", {"fund": "Ours Commons", "amount": "10"}),
    ("coop charter", {}),
    ("member edit", {}),
]


async def test_control_and_invisible_characters_in_every_text_option(world: World) -> None:
    """Every free-text option and form field, all of them every time, with a NUL and the other control,
    bidirectional and zero-width characters, and mentions. (PostgreSQL cannot store U+0000 in text.)"""
    problems = await world.restore()
    ours = {option: found[0] for option, (found, _theirs) in world.ids.items() if found}
    nasty = [
        "a\x00b",
        f"\u202e@everyone\u200d<@&{world.coop.member_role.id}>\x1b[31m\u2028\ufeff@here\x07",
    ]
    mo, here = world.coop.moderator, world.coop.governance
    for command in leaf_commands(world.bot):
        name = command.qualified_name
        valid = {p.name: _plausible(world, p) for p in command.parameters if p.required}
        valid.update({option: ours[option] for option in valid if option in ours})
        if "fund" in valid:
            valid["fund"] = "Ours Commons"
        for parameter in command.parameters:
            if parameter.type is not OptionType.string or parameter.choices:
                continue
            for value in nasty:
                options = {**valid, parameter.name: value[: int(parameter.max_value or 6000)]}
                done = await attempt(
                    world, f"/{name} by mo with {_shown(options)}", partial(mo.slash, here, name, **options)
                )
                problems += problems_of(world, done)
    for name, options in FORMS:
        for value in nasty:
            shown = await attempt(world, f"/{name} by mo", partial(mo.slash, here, name, **options))
            problems += problems_of(world, shown)
            assert shown.result.modal is not None, (name, _replies(shown.result))
            fields = _text_inputs(shown.result.modal)
            values = {cid: value[: int(spec.get("max_length") or 4000)] for cid, spec in fields.items()}
            submitted = await attempt(
                world,
                f"/{name} by mo, then the form with {_shown(values)}",
                partial(mo.submit_modal, shown.result, values),
            )
            problems += problems_of(world, submitted)
    assert not problems, "\n".join(problems)
