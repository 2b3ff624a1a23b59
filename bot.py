"""coopbot: the bot (CoopBot), its factory (create_bot) and the command line (`coopbot ...`).

About 700 lines: the design keeps the bot and its command line in this one top-level file, and the command
line's one-line failures (every way a start can fail) are most of it."""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import logging
import pkgutil
import re
import socket
import sqlite3
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp
import discord
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

import cogs
from cogs._common import CoopTree
from cogs._ingress import CoopConnectionState
from cogs._outbox import Outbox
from cogs._scheduling import DueRunner
from cogs._translator import CatalogueTranslator
from config import Settings
from governance import audit, decisions, export, links, webhooks
from governance.clock import Clock, SystemClock
from governance.limits import Limits
from governance.voting import VoteBatcher
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
# coopbot never joins voice: without this, every Client made logs that the voice libraries (PyNaCl, davey)
# are missing.
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False

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
        self.limits = Limits(
            remind_every=timedelta(hours=settings.limit_remind_hours),
            proposals_per_hour=settings.limit_proposals_per_hour,
            requests_per_hour=settings.limit_requests_per_hour,
            exports_per_hour=settings.limit_exports_per_hour,
            webhook_tests_per_hour=settings.limit_webhook_tests_per_hour,
        )
        self.failed_extensions: dict[str, BaseException] = {}
        # Links to a message (https://discord.com/channels/...) lead somewhere only in Discord; the sandbox
        # turns them off and names the channel instead.
        self.message_links = True
        self.due = DueRunner(self)
        self.outbox = Outbox(self)
        self.webhooks = DueRunner(self, name="webhooks")
        self._stop_hearing_audit: Callable[[], None] | None = None
        self._start_scheduler = start_scheduler
        # Made in setup_hook: both need the running event loop.
        self.scheduler: AsyncIOScheduler | None = None

    def _get_state(self, **options: Any) -> CoopConnectionState:
        # discord.py's own seam for the connection state (AutoShardedClient overrides it the same way):
        # typed text is made storable before any command, view or form sees it.
        return CoopConnectionState(
            dispatch=self.dispatch, handlers=self._handlers, hooks=self._hooks, http=self.http, **options
        )

    async def setup_hook(self) -> None:
        await migrate.upgrade(self.database.engine)
        # An open decision linked to something nothing carries out would close without its consequence.
        links.check_known(await decisions.open_link_kinds(self.database))
        await self.votes.prepare()
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
        # Command names and descriptions in each member's language, sent with the commands when they sync.
        await self.tree.set_translator(CatalogueTranslator())
        # Last, so that what the other handlers make owed in a pass is delivered in the same pass.
        self.due.register(self.outbox.handler())

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

# Exit codes. 2: the configuration or the request must change first, so restarting as is cannot help (a
# supervisor can stop retrying, e.g. systemd's RestartPreventExitStatus=2). 1: a retry may pass.
EXIT_FIX_FIRST = 2
EXIT_FAILED = 1
# How long `coopbot check --online` waits for Discord's answers.
DISCORD_CHECK_TIMEOUT = 10.0

Stage = Literal["database", "migration", "discord"]


class CommandFailed(Exception):
    """Why a command could not do its work, in one line for the terminal (`main` prints it)."""

    def __init__(self, line: str, code: int = EXIT_FAILED) -> None:
        super().__init__(line)
        self.code = code


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("discord.http").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # Its only INFO line ("logging in using static token") would come before every start-up failure.
    logging.getLogger("discord.client").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = [f"  {'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()]
        print("coopbot: the configuration is not valid:\n" + "\n".join(lines), file=sys.stderr)
        raise SystemExit(EXIT_FIX_FIRST) from None


_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]+")


def token_user_id(token: str) -> int:
    """The bot user id a token is for, read from its shape alone (nothing is asked of Discord): a bot token
    is three base64url parts joined by dots, the first being the id. ValueError says why it cannot be one."""
    if token.lower().startswith("bot "):
        raise ValueError("remove the 'Bot ' in front of it (discord.py adds that itself)")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("a bot token is three parts joined by two dots")
    if not all(_TOKEN_PART.fullmatch(part) for part in parts):
        raise ValueError("a bot token holds only letters, digits, '-', '_' and two dots")
    try:
        user_id = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode("ascii")
    except ValueError:  # binascii.Error and UnicodeDecodeError both are
        user_id = ""
    if not user_id.isdigit():
        raise ValueError("the first part of a bot token is the bot's user id, and this one's is not")
    return int(user_id)


def _token(settings: Settings) -> str:
    return settings.discord_token.get_secret_value().strip() if settings.discord_token else ""


def _malformed_token(error: ValueError) -> str:
    return (
        f"DISCORD_TOKEN is malformed: {error} — copy it again from the Developer Portal (Bot → Reset Token)"
    )


def _require_token(settings: Settings) -> str:
    """The token, or the way to get one when it is missing; never a token that cannot be valid."""
    token = _token(settings)
    if not token:
        print(TOKEN_HELP, file=sys.stderr)
        raise SystemExit(EXIT_FIX_FIRST)
    try:
        token_user_id(token)
    except ValueError as error:
        raise CommandFailed(_malformed_token(error), EXIT_FIX_FIRST) from None
    return token


def _network_reason(error: BaseException) -> str | None:
    """What went wrong on the way to a server, in a few words; None when `error` is not about that."""
    if isinstance(error, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return "DNS lookup failed"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        why = getattr(error.certificate_error, "verify_message", None) or error.certificate_error
        return f"its TLS certificate is not trusted ({why})"
    if isinstance(error, aiohttp.ClientConnectorError):
        error = error.os_error
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):  # asyncio's and aiohttp's timeouts too
        return "no answer in time"
    if isinstance(error, ssl.SSLError):
        return f"the TLS handshake failed ({error.reason or error})"
    if isinstance(error, OSError):
        return error.strerror or str(error) or error.__class__.__name__
    if isinstance(error, aiohttp.ClientError):
        return str(error) or error.__class__.__name__
    return None


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _discord_failure(error: Exception) -> CommandFailed | None:
    if isinstance(error, discord.LoginFailure):
        return CommandFailed(
            "Discord refused the token (401 Unauthorized): it was reset or revoked — reset it in the "
            "Developer Portal (Bot → Reset Token) and update DISCORD_TOKEN",
            EXIT_FIX_FIRST,
        )
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return CommandFailed(
            "Discord refused the Server Members intent — turn on 'Server Members Intent' under Bot in the "
            "Developer Portal, then start again",
            EXIT_FIX_FIRST,
        )
    if isinstance(error, discord.HTTPException):
        said = _first_line(error.text) or "no details"
        advice = " — Discord is having trouble: see https://discordstatus.com" if error.status >= 500 else ""
        return CommandFailed(f"Discord answered {error.status} {error.response.reason}: {said}{advice}")
    reason = _network_reason(error)
    if reason is None:
        return None
    if isinstance(error, aiohttp.ClientConnectorError):
        address = f"{error.host}:{error.port}"
    else:  # a timeout or a dropped connection: the API's address is the best guess
        api = yarl.URL(discord.http.Route.BASE)
        address = f"{api.host}:{api.port}"
    return CommandFailed(
        f"Could not reach Discord ({address}): {reason} — check this machine's internet connection, DNS, "
        "firewall or proxy"
    )


def _database_place(settings: Settings) -> str:
    sqlite_file = _sqlite_file(settings)
    if sqlite_file is not None:
        return f"the SQLite database {sqlite_file}"
    url = make_url(settings.database_url)
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}"


def _database_failure(error: Exception, settings: Settings, stage: Stage) -> CommandFailed | None:
    place = _database_place(settings)
    original = error.orig if isinstance(error, DBAPIError) else error
    reason = _first_line(str(original)) or error.__class__.__name__
    if stage == "migration":
        from alembic import util as alembic_util  # only a failed migration needs it (and alembic is slow)

        advice = (
            "it was migrated by a newer coopbot: run that version, or restore a backup"
            if isinstance(error, alembic_util.CommandError) and "Can't locate revision" in reason
            else "`LOG_LEVEL=DEBUG coopbot migrate` shows the details"
        )
        return CommandFailed(f"Could not migrate {place} to the current schema: {reason} — {advice}")
    if settings.is_sqlite:
        if not isinstance(error, OSError | SQLAlchemyError):
            return None
        return CommandFailed(
            f"Could not open {place}: {reason} — check that coopbot may write in its folder "
            "(DATA_DIR or DATABASE_URL)",
            EXIT_FIX_FIRST,
        )
    network = _network_reason(error)
    if network is not None:
        return CommandFailed(
            f"Could not reach {place}: {network} — check that PostgreSQL runs there, and the host and port "
            "in DATABASE_URL"
        )
    if not isinstance(error, DBAPIError):
        return None
    # SQLSTATE class 28 (invalid authorization: password, role) and 3D000 (no such database).
    sqlstate = str(getattr(original, "sqlstate", "") or "")
    if sqlstate.startswith("28") or sqlstate == "3D000":
        return CommandFailed(
            f"{place} refused the connection: {reason} — check the user, password and database name in "
            "DATABASE_URL",
            EXIT_FIX_FIRST,
        )
    return CommandFailed(f"{place} refused the connection: {reason}")


def _without_secrets(line: str, settings: Settings) -> str:
    # Belt and braces: no message we build quotes them, but a driver's might.
    for secret in (make_url(settings.database_url).password, _token(settings)):
        if secret:
            line = line.replace(secret, "***")
    return line


def startup_failure(error: Exception, stage: Stage, settings: Settings) -> CommandFailed | None:
    """The one line that tells what failed at `stage` of a start and what to check (never a secret), or
    None when `error` is not one of the ways a start can fail: a bug, which keeps its traceback."""
    failure = _discord_failure(error) if stage == "discord" else _database_failure(error, settings, stage)
    if failure is None:
        return None
    return CommandFailed(_without_secrets(str(failure), settings), failure.code)


@contextmanager
def _explained(stage: Stage, settings: Settings) -> Iterator[None]:
    """Turn the start-up failures of the block into CommandFailed."""
    try:
        yield
    except CommandFailed:
        raise
    except Exception as error:
        failure = startup_failure(error, stage, settings)
        if failure is None:
            raise
        raise failure from error


@asynccontextmanager
async def _database(settings: Settings, *, upgrade: bool = True) -> AsyncIterator[Database]:
    """The database, connected and (unless `upgrade` is false) migrated; CommandFailed says why not."""
    with _explained("database", settings):
        database = Database.from_url(settings.database_url)
    try:
        with _explained("database", settings):
            async with database.engine.connect():
                pass
        if upgrade:
            with _explained("migration", settings):
                await migrate.upgrade(database.engine)
        yield database
    finally:
        await database.dispose()


async def _prepare_database(settings: Settings) -> None:
    async with _database(settings):
        pass


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.database_url)
    return Path(url.database or "") if url.get_backend_name() == "sqlite" else None


def _require_existing_database(settings: Settings) -> None:
    """Refuse a SQLite file that does not exist: a command that reads must not create an empty database
    where the user expected theirs."""
    path = _sqlite_file(settings)
    if path is not None and not path.exists():
        raise CommandFailed(
            f"There is no database at {path} yet — check DATA_DIR or DATABASE_URL", EXIT_FIX_FIRST
        )


def _run(settings: Settings) -> int:
    token = _require_token(settings)
    # The database first: a problem there is reported as one, whether Discord is reachable or not.
    asyncio.run(_prepare_database(settings))
    bot = create_bot(settings)
    with _explained("discord", settings):
        bot.run(token, log_handler=None)
    return 0


async def _migrate(settings: Settings) -> int:
    async with _database(settings) as database:
        print(f"Database is at revision {await migrate.current_revision(database.engine)}.")
    return 0


async def _sync(settings: Settings, guild_id: int | None) -> int:
    token = _require_token(settings)
    await _prepare_database(settings)
    bot = create_bot(settings, start_scheduler=False)
    with _explained("discord", settings):
        async with bot:
            await bot.login(token)  # runs setup_hook, which registers every command
            if guild_id is not None:
                target = discord.Object(id=guild_id)
                bot.tree.copy_global_to(guild=target)
                synced = await bot.tree.sync(guild=target)
                print(f"Synced {len(synced)} command(s) to server {guild_id} (available now).")
            else:
                synced = await bot.tree.sync()
                print(
                    f"Synced {len(synced)} global command(s) (Discord may take up to an hour to show them)."
                )
    return 0


async def _ask_discord(token: str) -> tuple[discord.types.user.User, discord.types.appinfo.AppInfo]:
    """Whose token it is and its application, asked with discord.py's own HTTP client (the requests that
    `run` makes first), within DISCORD_CHECK_TIMEOUT."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        async with asyncio.timeout(DISCORD_CHECK_TIMEOUT):
            user = await http.static_login(token)
            application = await http.application_info()
    finally:
        await http.close()
    return user, application


# Either flag means "Server Members Intent" is on (the limited one below 100 servers).
_MEMBERS_INTENT = (
    discord.ApplicationFlags.gateway_guild_members.flag
    | discord.ApplicationFlags.gateway_guild_members_limited.flag
)


async def _check_discord(settings: Settings, token: str, problems: list[str]) -> None:
    try:
        with _explained("discord", settings):
            user, application = await _ask_discord(token)
    except CommandFailed as failure:
        problems.append(str(failure))
        print("discord:        FAILED")
        return
    name = (
        user["username"]
        if user.get("discriminator", "0") == "0"
        else f"{user['username']}#{user['discriminator']}"
    )
    print(f"discord:        the token is {name}'s (user id {user['id']})")
    if not user.get("bot"):
        problems.append(
            "DISCORD_TOKEN is a person's token, not a bot's: use the one under Bot in the Developer Portal"
        )
    members = bool(application.get("flags", 0) & _MEMBERS_INTENT)
    print(f"members intent: {'on' if members else 'OFF'}")
    if not members:
        problems.append("'Server Members Intent' is off: turn it on under Bot in the Developer Portal")


async def _schema_state(settings: Settings, problems: list[str]) -> str:
    sqlite_file = _sqlite_file(settings)
    if sqlite_file is not None and not sqlite_file.exists():  # `check` reads: it creates nothing
        return "no database yet (`coopbot run` creates it)"
    try:
        async with _database(settings, upgrade=False) as database:
            with _explained("database", settings):
                current = await migrate.current_revision(database.engine)
    except CommandFailed as failure:
        problems.append(str(failure))
        return "unreachable"
    head = migrate.head_revision()
    return "up to date" if current == head else f"at {current or 'nothing'}, will migrate to {head}"


async def _check(settings: Settings, online: bool) -> int:
    """Print what would run and whether it can; non-zero when something would stop the bot."""
    problems: list[str] = []
    token = _token(settings)
    if not token:
        problems.append("DISCORD_TOKEN is not set (see `make run` for how to get one)")
        print("token:          MISSING")
    else:
        try:
            print(f"token:          set, well-formed (bot user id {token_user_id(token)})")
        except ValueError as error:
            problems.append(_malformed_token(error))
            print("token:          MALFORMED")
            token = ""
    if not online:
        print("discord:        not asked (`coopbot check --online` asks whose token it is)")
    elif token:
        await _check_discord(settings, token, problems)
    else:
        print("discord:        not asked (no usable token)")
    print(f"database:       {_redacted(settings.database_url)}")
    print(f"schema:         {await _schema_state(settings, problems)}")
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
    _require_existing_database(settings)
    async with _database(settings) as database:
        # Checked before anything is written: an unknown id is a typo or the wrong database, and an export
        # of nothing (with made-up default settings) would pass for a real one.
        if not await export.has_record(database, guild_id):
            raise CommandFailed(
                f"{_database_place(settings)} holds nothing of server {guild_id}: nothing was exported — "
                "check the server id (right-click the server in Discord → Copy Server ID) and DATABASE_URL",
                EXIT_FIX_FIRST,
            )
        result = await export.export_guild(database, guild_id, out, datetime.now(UTC))
    for path in result.files:
        print(path)
    size = f"{result.size / 1_000_000:.1f} MB"
    print(f"{sum(result.rows.values())} records ({export.summary(result.rows)}), {size}.")
    return 0


def _count_cooperatives(connection: sqlite3.Connection) -> int | None:
    """How many cooperatives a SQLite database holds; None when its schema cannot say (not migrated yet)."""
    query = select(func.count()).select_from(export.known_guilds().subquery())
    try:
        return int(connection.execute(str(query.compile(dialect=sqlite_dialect()))).fetchone()[0])
    except sqlite3.OperationalError:
        return None


def _backup(settings: Settings, out: Path | None) -> int:
    """SQLite's online backup: a consistent copy even while the bot writes (WAL included). This runs in
    the command-line process, never on the bot's event loop, so the blocking sqlite3 calls are fine."""
    source_path = _sqlite_file(settings)
    if source_path is None:
        print(
            "coopbot backup copies SQLite databases. For PostgreSQL use pg_dump, for example:\n"
            "    pg_dump --format=custom --file=coopbot.dump 'postgresql://USER@HOST:5432/DBNAME'\n"
            "and restore with pg_restore --clean --dbname=... coopbot.dump",
            file=sys.stderr,
        )
        return EXIT_FIX_FIRST
    _require_existing_database(settings)
    target = out or settings.data_dir / "backups" / f"coopbot-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source_path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
        status = copy.execute("PRAGMA integrity_check").fetchone()[0]
        cooperatives = _count_cooperatives(copy)
    if status != "ok":
        print(f"The backup at {target} failed its integrity check: {status}", file=sys.stderr)
        return EXIT_FAILED
    holds = {None: "", 0: "; it holds no cooperative yet", 1: "; 1 cooperative"}.get(
        cooperatives, f"; {cooperatives} cooperatives"
    )
    print(f"Backed up to {target} ({target.stat().st_size / 1_000_000:.1f} MB, integrity ok{holds}).")
    return 0


def _redacted(url: str) -> str:
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
    check_parser = sub.add_parser(
        "check", help="validate the configuration and database, print what would run"
    )
    check_parser.add_argument("--online", action="store_true", help="also ask Discord whose token it is")
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
    try:
        if args.command in (None, "run"):
            return _run(settings)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "sync":
            guild_id = args.guild if args.guild is not None else settings.dev_guild_id
            return asyncio.run(_sync(settings, guild_id))
        if args.command == "check":
            return asyncio.run(_check(settings, args.online))
        if args.command == "export":
            return asyncio.run(_export(settings, args.guild, args.out))
        if args.command == "backup":
            return _backup(settings, args.out)
        if args.command == "sandbox":
            return sandbox.run(
                fresh=args.fresh,
                advance=args.advance,
                port=args.port,
                data_dir=args.data_dir,
                language=args.language,
            )
    except CommandFailed as failure:
        log.debug("The command failed", exc_info=failure.__cause__)  # LOG_LEVEL=DEBUG: the whole story
        print(f"coopbot: {failure}", file=sys.stderr)
        return failure.code
    parser.error(f"unknown command {args.command}")
    return EXIT_FIX_FIRST


if __name__ == "__main__":
    # `python bot.py` / `python -m bot` run this file as __main__, a second copy of the module beside the
    # `bot` that the cogs import: its CoopBot would fail their isinstance checks. Run the importable one.
    from bot import main as _main

    raise SystemExit(_main())
