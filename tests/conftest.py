"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when COOPBOT_TEST_DATABASE_URL is
set), the real bot driven through SimCord, and a ready-made cooperative."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
import simcord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from bot import CoopBot, create_bot
from cogs._common import user_message_for
from config import Settings
from governance.clock import ManualClock
from governance.coop import SetupChanges, configure_guild
from governance.permissions import Actor
from storage import migrate
from storage.database import Database, create_engine

PG_URL = os.environ.get("COOPBOT_TEST_DATABASE_URL")
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday


def _to_async_url(url: str) -> str:
    return Settings(database_url=url, _env_file=None).database_url


def _worker_database_url(url: str, worker: str) -> str:
    """Parallel workers (pytest-xdist) each get a PostgreSQL database of their own, made afresh beside the one
    COOPBOT_TEST_DATABASE_URL names and dropped at the end; one worker uses that database itself."""
    if worker == "master":
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"

    async def run() -> None:
        # CREATE DATABASE cannot run inside a transaction.
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()

    asyncio.run(run())
    return base.set(database=name).render_as_string(hide_password=False)


def _drop_worker_database(admin_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    async def run() -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            name = make_url(url).database
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    """Migrate once per run (per worker): a SQLite template file to copy, or this worker's PostgreSQL test
    database itself."""
    if PG_URL:
        admin_url = _to_async_url(PG_URL)
        url = _worker_database_url(admin_url, worker_id)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('template') / 'template.db'}"

    async def run() -> None:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(run())
    yield url
    if PG_URL and url != admin_url:
        _drop_worker_database(admin_url, url)


async def _empty_all(url: str) -> None:
    """Empty every table and restart the id sequences (DELETE is much faster than TRUNCATE on small
    tables; replica mode skips the ledger's append-only trigger, which is for the application)."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(SQLModel.metadata.sorted_tables):
            await connection.execute(text(f'DELETE FROM "{table.name}"'))
        sequences = await connection.execute(
            text(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = current_schema()"
            )
        )
        for (sequence,) in sequences.all():
            await connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    await engine.dispose()


@pytest_asyncio.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> str:
    """A fresh, migrated, empty database for this test."""
    if PG_URL:
        await _empty_all(migrated_template)
        return migrated_template
    source = Path(migrated_template.removeprefix("sqlite+aiosqlite:///"))
    target = tmp_path / "coopbot.db"
    shutil.copyfile(source, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """Direct access to the test database (for governance tests and for checking what was stored)."""
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    # One shard: SimCord needs the count an AutoShardedBot would otherwise ask Discord for.
    return Settings(database_url=database_url, discord_token=None, shard_count=1, _env_file=None)


@pytest.fixture
def simcord_bot(settings: Settings, clock: ManualClock) -> CoopBot:
    # SimCord builds the world after login; a short guild wait keeps start-up fast.
    return create_bot(settings, clock=clock, guild_ready_timeout=0.05)


def _tallies_at_once(bot: CoopBot) -> None:
    """One edit of a proposal message per 2 s spares Discord's rate limits; in a test it only makes each
    settle wait 2 real seconds for the last vote's edit. TallyRefresher's own tests keep the interval."""
    cog: Any = bot.get_cog("Proposals")
    if cog is not None:
        cog.refresher.interval = 0.0


@pytest_asyncio.fixture
async def simcord_env(simcord_bot: CoopBot, request: pytest.FixtureRequest) -> AsyncIterator[simcord.Env]:
    """The plugin's fixture, plus the explicit command sync that a real deployment does once."""
    marker = request.node.get_closest_marker("simcord")
    env = simcord.Env(simcord_bot, **(marker.kwargs if marker else {}))
    await env.start()
    _tallies_at_once(simcord_bot)
    try:
        await simcord_bot.tree.sync()
        yield env
    finally:
        await env.shutdown()
        # SimCord detaches the bot without closing it; close it as a process exit would.
        await env.bot.close()
        # A refusal the bot answered (a domain error, a failed check) is the bot working; anything the
        # error path had to apologise for is a bug and fails the test.
        unexpected = [error for error in env.errors if user_message_for(error) is None]
        if env.check_errors and unexpected:
            raise BaseExceptionGroup("the bot raised unexpected errors", unexpected)


async def restart(env: simcord.Env, settings: Settings, clock: ManualClock) -> CoopBot:
    """Stop the running bot as a process exit would, and start a new one on the same database and world."""
    old = env.bot
    assert isinstance(old, CoopBot)
    await old.close()
    fresh = create_bot(settings, clock=clock, guild_ready_timeout=0.05)
    await env.restart_bot(fresh)
    _tallies_at_once(fresh)
    return fresh


@dataclass
class Coop:
    """A cooperative as a test arranges it: one guild, its channels, roles and people."""

    env: simcord.Env
    guild: simcord.GuildHandle
    governance: simcord.ChannelHandle
    welcome: simcord.ChannelHandle
    voice: simcord.ChannelHandle
    member_role: simcord.RoleHandle
    contributor_role: simcord.RoleHandle
    moderator_role: simcord.RoleHandle
    treasurer_role: simcord.RoleHandle
    moderator: simcord.MemberActor
    treasurer: simcord.MemberActor
    members: list[simcord.MemberActor]
    contributor: simcord.MemberActor
    visitor: simcord.MemberActor
    admin: simcord.MemberActor

    @property
    def alice(self) -> simcord.MemberActor:
        return self.members[0]


def build_coop(env: simcord.Env, *, name: str = "Kōwhai Collective", member_count: int = 3) -> Coop:
    guild = env.create_guild(name)
    member_role = guild.create_role("Member")
    contributor_role = guild.create_role("Contributor")
    moderator_role = guild.create_role("Steward")
    treasurer_role = guild.create_role("Treasurer")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    members = [
        guild.add_member(
            env.create_user(f"{names[i % len(names)]}{i // len(names) or ''}"), roles=[member_role]
        )
        for i in range(member_count)
    ]
    return Coop(
        env=env,
        guild=guild,
        governance=guild.create_text_channel("governance"),
        welcome=guild.create_text_channel("welcome"),
        voice=guild.create_voice_channel("hangout"),
        member_role=member_role,
        contributor_role=contributor_role,
        moderator_role=moderator_role,
        treasurer_role=treasurer_role,
        moderator=guild.add_member(env.create_user("mo"), roles=[member_role, moderator_role]),
        treasurer=guild.add_member(env.create_user("tess"), roles=[member_role, treasurer_role]),
        members=members,
        contributor=guild.add_member(env.create_user("conny"), roles=[contributor_role]),
        visitor=guild.add_member(env.create_user("vic")),
        admin=guild.add_member(env.create_user("ada"), roles=[admin_role]),
    )


async def allow_command(coop: Coop, name: str, role: simcord.RoleHandle) -> None:
    """Lift Discord's default-permission hint for `role`, as a server admin can in Integrations settings,
    so that only the bot's own checks stand between that role and the command."""
    bot = coop.env.bot
    assert isinstance(bot, CoopBot)
    commands = await bot.tree.fetch_commands()
    command = next(command for command in commands if command.name == name)
    coop.guild.set_command_permissions(command.id, {role: True})


@pytest_asyncio.fixture
async def coop(simcord_env: simcord.Env) -> Coop:
    """A cooperative whose Discord side exists; its coopbot settings are not made yet."""
    coop = build_coop(simcord_env)
    await simcord_env.settle()  # the bot has heard every join before the test goes on
    return coop


async def configure(coop: Coop, db: Database, clock: ManualClock, **overrides: object) -> None:
    """Set the cooperative up as a moderator would with /coop setup (through the governance layer)."""
    values: dict[str, object] = {
        "governance_channel_id": coop.governance.id,
        "welcome_channel_id": coop.welcome.id,
        "member_role_id": coop.member_role.id,
        "contributor_role_id": coop.contributor_role.id,
        "moderator_role_id": coop.moderator_role.id,
        "treasurer_role_id": coop.treasurer_role.id,
        "timezone": "Pacific/Auckland",
        "currency": "NZD",
    }
    values.update(overrides)
    await configure_guild(
        db,
        guild_id=coop.guild.id,
        actor=Actor(user_id=coop.admin.id, manages_guild=True),
        changes=SetupChanges(**values),  # type: ignore[arg-type]
        now=clock.now(),
    )


@pytest_asyncio.fixture
async def configured(coop: Coop, db: Database, clock: ManualClock) -> Coop:
    """A cooperative that has been set up: channels, roles, timezone Pacific/Auckland, currency NZD."""
    await configure(coop, db, clock)
    return coop


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first: xdist hands each worker a contiguous share, and a minute-long test at the end
    of one share would leave the other worker idle for that minute."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
