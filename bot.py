"""coopbot: the bot (CoopBot), its factory (create_bot) and the command line (`coopbot ...`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import pkgutil
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands
from pydantic import ValidationError

import cogs
from cogs._common import CoopTree
from cogs._ingress import CoopConnectionState
from cogs._scheduling import DueRunner
from config import Settings
from governance import audit, export, webhooks
from governance.clock import Clock, SystemClock
from governance.decisions import VoteBatcher
from storage import migrate
from storage.database import Database

log = logging.getLogger("coopbot")

# Server Members is the one privileged intent: member join/leave drive onboarding.
INTENTS = discord.Intents(guilds=True, members=True)
# Bot permissions the features use; the invite URL below asks for exactly these.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    manage_roles=True,
)
DEFAULT_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)

TOKEN_HELP = f"""\
coopbot needs a Discord bot token to connect to Discord.

1. Open https://discord.com/developers/applications, choose "New Application", then "Bot".
2. Under "Privileged Gateway Intents" turn on "Server Members Intent" (welcome and membership need it).
3. "Reset Token", copy it, and put it in a file named .env next to bot.py:
       DISCORD_TOKEN=your-token-here
   (or export DISCORD_TOKEN in your shell). Never commit the token.
4. Invite the bot with this URL (replace APP_ID with your application's id from "General Information"):
       https://discord.com/oauth2/authorize?client_id=APP_ID&scope=bot+applications.commands&permissions={PERMISSIONS.value}
5. Publish the slash commands once: `coopbot sync` (or `coopbot sync --guild YOUR_SERVER_ID` for instantly),
   then `make run` again.

To try coopbot without Discord at all: `make sandbox` (a simulated Discord in your browser).
"""


def extension_names() -> list[str]:
    """Every extension in cogs/: each public module or package (names starting with _ are helpers)."""
    return sorted(
        f"{cogs.__name__}.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if not module.name.startswith("_")
    )


class CoopBot(commands.AutoShardedBot):
    """The bot: Discord on one side, the governance layer and its database on the other."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        start_scheduler: bool = True,
        **options: Any,
    ) -> None:
        options.setdefault("intents", INTENTS)
        # Several processes share the shards of one bot; each serves the guilds of its own shards (and runs
        # only their scheduled work, since the due handlers look at `self.guilds`).
        options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids:
            options.setdefault("shard_ids", settings.shard_ids)
        super().__init__(
            # Slash commands only; a mention prefix keeps commands.Bot happy without the message intent.
            command_prefix=commands.when_mentioned,
            help_command=None,
            tree_cls=CoopTree,
            allowed_mentions=DEFAULT_MENTIONS,
            owner_ids=set(settings.owner_ids) or None,
            **options,
        )
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.database = Database.from_url(settings.database_url, pool_size=settings.database_pool_size)
        # Votes from the buttons go through group commit: a burst of clicks costs a few transactions.
        self.votes = VoteBatcher(self.database)
        self.failed_extensions: dict[str, BaseException] = {}
        self.due = DueRunner(self)
        self.webhooks = DueRunner(self, name="webhooks")
        self._stop_hearing_audit: Callable[[], None] | None = None
        self._start_scheduler = start_scheduler
        # Made in setup_hook: both need the running event loop.
        self.scheduler: AsyncIOScheduler | None = None
        self.http_client: httpx.AsyncClient | None = None

    def _get_state(self, **options: Any) -> CoopConnectionState:
        # discord.py's own seam for the connection state (AutoShardedClient overrides it the same way):
        # typed text is made storable before any command, view or form sees it.
        return CoopConnectionState(
            dispatch=self.dispatch, handlers=self._handlers, hooks=self._hooks, http=self.http, **options
        )

    async def setup_hook(self) -> None:
        await migrate.upgrade(self.database.engine)
        self.http_client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        if self._start_scheduler:
            self.scheduler.start()
        self._stop_hearing_audit = audit.on_commit(self._on_audit_commit)
        for name in extension_names():
            if name in self.extensions:  # a restart of the same bot object keeps its cogs
                continue
            try:
                await self.load_extension(name)
            except Exception as error:  # one broken cog must not take the others down
                self.failed_extensions[name] = error
                log.exception("Could not load extension %s", name)

    async def dispatch_and_wait(self, event_name: str, /, *args: Any) -> None:
        """Run every listener of a bot event to its end, one after the other (`dispatch` only schedules
        them): for consequences that must be done before the caller records that they were."""
        for listener in list(self.extra_events.get(f"on_{event_name}", ())):
            try:
                await listener(*args)
            except Exception:  # one listener's failure must not stop the others
                await self.on_error(f"on_{event_name}", *args)

    def _on_audit_commit(self, actions: list[str]) -> None:
        # Called right after a commit: deliver webhook events soon, outside the command that caused them.
        if any(action in webhooks.EVENTS for action in actions):
            self.webhooks.wake_soon()

    async def close(self) -> None:
        await super().close()
        if self._stop_hearing_audit is not None:
            self._stop_hearing_audit()
        self.due.stop()
        self.webhooks.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.http_client is not None:
            await self.http_client.aclose()
        await self.database.dispose()

    async def on_ready(self) -> None:
        log.info("Connected as %s to %d server(s)", self.user, len(self.guilds))
        if self._start_scheduler and not self.due.started:
            # After READY the guild cache says which cooperatives this process serves.
            await self.due.start()
            await self.webhooks.start()


def create_bot(settings: Settings | None = None, **options: Any) -> CoopBot:
    return CoopBot(settings or Settings(), **options)


# --- command line -----------------------------------------------------------------------------------


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("discord.http").setLevel(max(logging.INFO, logging.getLevelName(level)))


def _load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = [f"  {'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()]
        print("coopbot: the configuration is not valid:\n" + "\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None


def _require_token(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        print(TOKEN_HELP, file=sys.stderr)
        raise SystemExit(2)
    return token


def _run(settings: Settings) -> int:
    token = _require_token(settings)
    bot = create_bot(settings)
    try:
        bot.run(token, log_handler=None)
    except discord.LoginFailure:
        print(
            "Discord refused the token: reset it in the Developer Portal and update DISCORD_TOKEN.",
            file=sys.stderr,
        )
        return 2
    except discord.PrivilegedIntentsRequired:
        print(
            "Discord refused the Server Members intent: turn on 'Server Members Intent' under Bot in the "
            "Developer Portal, then start again.",
            file=sys.stderr,
        )
        return 2
    return 0


async def _migrate(settings: Settings) -> int:
    database = Database.from_url(settings.database_url)
    try:
        await migrate.upgrade(database.engine)
        print(f"Database is at revision {await migrate.current_revision(database.engine)}.")
    finally:
        await database.dispose()
    return 0


async def _sync(settings: Settings, guild_id: int | None) -> int:
    token = _require_token(settings)
    bot = create_bot(settings, start_scheduler=False)
    async with bot:
        await bot.login(token)  # runs setup_hook, which registers every command
        if guild_id is not None:
            target = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=target)
            synced = await bot.tree.sync(guild=target)
            print(f"Synced {len(synced)} command(s) to server {guild_id} (available now).")
        else:
            synced = await bot.tree.sync()
            print(f"Synced {len(synced)} global command(s) (Discord may take up to an hour to show them).")
    return 0


async def _check(settings: Settings) -> int:
    """Print what would run and whether it can; non-zero when something would stop the bot."""
    problems: list[str] = []
    token_state = "set" if settings.discord_token and settings.discord_token.get_secret_value() else "MISSING"
    if token_state == "MISSING":
        problems.append("DISCORD_TOKEN is not set (see `make run` for how to get one)")
    print(f"token:          {token_state}")
    print(f"database:       {_redacted(settings.database_url)}")
    database = Database.from_url(settings.database_url)
    try:
        current = await migrate.current_revision(database.engine)
        head = migrate.head_revision()
        state = "up to date" if current == head else f"at {current or 'nothing'}, will migrate to {head}"
        print(f"schema:         {state}")
    except Exception as error:  # the point of `check` is to report, not to crash
        problems.append(f"database unreachable: {error}")
        print(f"schema:         unreachable ({error.__class__.__name__})")
    finally:
        await database.dispose()
    print(f"log level:      {settings.log_level}")
    print(f"owners:         {', '.join(map(str, settings.owner_ids)) or 'none'}")
    print(f"dev guild:      {settings.dev_guild_id or 'none'}")
    print(f"intents:        {', '.join(name for name, on in INTENTS if on)}")
    for name in extension_names():
        try:
            module = importlib.import_module(name)
            if not callable(getattr(module, "setup", None)):
                raise RuntimeError("it has no setup() function")
            print(f"extension:      {name} ok")
        except Exception as error:
            problems.append(f"extension {name} fails to load: {error}")
            print(f"extension:      {name} FAILED ({error})")
    for problem in problems:
        print(f"problem:        {problem}", file=sys.stderr)
    return 1 if problems else 0


async def _export(settings: Settings, guild_id: int, out: Path) -> int:
    database = Database.from_url(settings.database_url)
    try:
        await migrate.upgrade(database.engine)
        result = await export.export_guild(database, guild_id, out, datetime.now(UTC))
    finally:
        await database.dispose()
    for path in result.files:
        print(path)
    print(f"{sum(result.rows.values())} records, {result.size / 1_000_000:.1f} MB.")
    return 0


def _backup(settings: Settings, out: Path | None) -> int:
    """SQLite's online backup: a consistent copy even while the bot writes (WAL included). This runs in
    the command-line process, never on the bot's event loop, so the blocking sqlite3 calls are fine."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        print(
            "coopbot backup copies SQLite databases. For PostgreSQL use pg_dump, for example:\n"
            "    pg_dump --format=custom --file=coopbot.dump 'postgresql://USER@HOST:5432/DBNAME'\n"
            "and restore with pg_restore --clean --dbname=... coopbot.dump",
            file=sys.stderr,
        )
        return 2
    source_path = Path(url.database or "")
    if not source_path.exists():
        print(f"There is no database at {source_path} yet.", file=sys.stderr)
        return 2
    target = out or settings.data_dir / "backups" / f"coopbot-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
        status = copy.execute("PRAGMA integrity_check").fetchone()[0]
    if status != "ok":
        print(f"The backup at {target} failed its integrity check: {status}", file=sys.stderr)
        return 1
    print(f"Backed up to {target} ({target.stat().st_size / 1_000_000:.1f} MB, integrity ok).")
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coopbot", description="The governance assistant of a cooperative.")
    sub = parser.add_subparsers(dest="command")
    run_parser = sub.add_parser("run", help="connect to Discord and serve (the default)")
    run_parser.add_argument("--shard-ids", help="the shards this process runs, e.g. 0,1 (with --shard-count)")
    run_parser.add_argument("--shard-count", type=int, help="the total number of shards over all processes")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sync = sub.add_parser("sync", help="publish the slash commands to Discord")
    sync.add_argument("--guild", type=int, help="sync to this server only (instant, for development)")
    sub.add_parser("check", help="validate the configuration and database, print what would run")
    export_parser = sub.add_parser("export", help="write a cooperative's whole record as JSON and CSV files")
    export_parser.add_argument("--guild", type=int, required=True, help="the server (guild) id")
    export_parser.add_argument("--out", type=Path, required=True, help="the folder to write into")
    backup_parser = sub.add_parser("backup", help="copy the SQLite database safely while the bot runs")
    backup_parser.add_argument("--out", type=Path, help="the backup file (default: DATA_DIR/backups/...)")
    import sandbox  # cheap: it imports SimCord's preview (the `sandbox` extra) only when it runs

    sandbox.add_arguments(
        sub.add_parser("sandbox", help="try coopbot in a simulated Discord in your browser (no token needed)")
    )
    args = parser.parse_args(argv)

    overrides: dict[str, object] = {}
    if getattr(args, "shard_count", None) is not None:
        overrides["shard_count"] = args.shard_count
    if getattr(args, "shard_ids", None):
        overrides["shard_ids"] = args.shard_ids
    settings = _load_settings(**overrides)
    _configure_logging(settings.log_level)
    if args.command in (None, "run"):
        return _run(settings)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "sync":
        return asyncio.run(_sync(settings, args.guild if args.guild is not None else settings.dev_guild_id))
    if args.command == "check":
        return asyncio.run(_check(settings))
    if args.command == "export":
        return asyncio.run(_export(settings, args.guild, args.out))
    if args.command == "backup":
        return _backup(settings, args.out)
    if args.command == "sandbox":
        return sandbox.run(fresh=args.fresh, advance=args.advance, port=args.port, data_dir=args.data_dir)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
