"""The command line as a person at a terminal meets it: each way `coopbot run` can fail at start is one line
(no traceback, no voice warnings), `check` judges the token offline and, with --online, asks Discord, and
`export` and `backup` say when there is nothing to work on.

Every command runs in a child process, as `make run` would, with its own settings in the environment. The
Discord side is real sockets on this machine: a port nothing listens on, a name that cannot resolve, a port
that accepts and never answers, and a small HTTP server that answers the two requests a start makes the way
Discord does. discord.py is pointed at them through its API base URL (`Route.BASE`), so no test ever reaches
the real Discord.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy.engine import make_url

from bot import TOKEN_HELP, token_user_id
from config import Settings
from storage import migrate
from storage.database import Database
from storage.models import CoopSettings, Member

ROOT = Path(__file__).resolve().parent.parent
BOT_ID = 123456789012345678


def _token(user_id: int, secret: str) -> str:
    """A token of the shape Discord issues: base64url(user id), a timestamp part, an HMAC part."""
    first = base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")
    return f"{first}.GAbcde.{secret:_<38}"


TOKEN = _token(BOT_ID, "good")  # the stand-in Discord knows it: its app has the Server Members Intent
NO_INTENT_TOKEN = _token(BOT_ID + 1, "nointent")  # known, but its app has the intent off
REVOKED_TOKEN = _token(BOT_ID, "revoked")  # well-formed, refused with 401

# Run like the `coopbot` script (bot:main), after pointing discord.py at this test's Discord stand-in.
_MAIN = """
import os, sys
import discord.http
import bot
discord.http.Route.BASE = os.environ["TEST_DISCORD_API"]
bot.DISCORD_CHECK_TIMEOUT = float(os.environ.get("TEST_CHECK_TIMEOUT", bot.DISCORD_CHECK_TIMEOUT))
raise SystemExit(bot.main(sys.argv[1:]))
"""

# Run as `python bot.py ARGS` runs it: the file as __main__, beside the importable `bot` module.
_AS_SCRIPT = """
import os, runpy, sys
import discord.http
discord.http.Route.BASE = os.environ["TEST_DISCORD_API"]
sys.argv = [os.path.join(os.environ["PYTHONPATH"], "bot.py"), *sys.argv[1:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _free_port() -> int:
    """A local port nothing listens on (it was just free)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


# A PostgreSQL server to be refused by: the test suite's own (CI), else a local one.
POSTGRES = make_url(
    os.environ.get("COOPBOT_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)
needs_postgres = pytest.mark.skipif(
    not _listening(POSTGRES.host or "localhost", POSTGRES.port or 5432), reason=f"no PostgreSQL at {POSTGRES}"
)


@pytest.fixture
def refused_api() -> str:
    return f"http://127.0.0.1:{_free_port()}/api/v10"


def coopbot(
    tmp_path: Path,
    *args: str,
    discord_api: str,
    check_timeout: float | None = None,
    script: str = _MAIN,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`coopbot ARGS` with only the given settings (DATA_DIR is tmp_path) and no .env file."""
    settings_vars = {name.upper() for name in Settings.model_fields}
    environment = {key: value for key, value in os.environ.items() if key not in settings_vars}
    environment.update(PYTHONPATH=str(ROOT), DATA_DIR=str(tmp_path), TEST_DISCORD_API=discord_api, **env)
    if check_timeout is not None:
        environment["TEST_CHECK_TIMEOUT"] = str(check_timeout)
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=tmp_path,  # no .env here
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed start prints; fails the test on anything more."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("coopbot: ")
    assert not done.stdout
    return lines[0]


class _Discord(BaseHTTPRequestHandler):
    """Answers GET /users/@me and /oauth2/applications/@me as Discord does, for the tokens above."""

    # token -> its application's flags (1 << 15: the Server Members Intent, below 100 servers)
    APPS: ClassVar[dict[str, int]] = {TOKEN: 1 << 15, NO_INTENT_TOKEN: 0}

    def do_GET(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bot ")
        if token not in self.APPS:
            self._answer(401, {"message": "401: Unauthorized", "code": 0})
        elif self.path == "/api/v10/users/@me":
            user_id = token_user_id(token)
            self._answer(200, {"id": str(user_id), "username": "coopbot", "discriminator": "0", "bot": True})
        elif self.path == "/api/v10/oauth2/applications/@me":
            self._answer(200, {"id": "42", "name": "coopbot", "flags": self.APPS[token]})
        else:
            self._answer(404, {"message": "404: Not Found", "code": 0})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def discord_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discord)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v10"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_api() -> Iterator[str]:
    """A port that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v10"


def _database(tmp_path: Path, *, guilds: tuple[int, ...] = (), members_of: tuple[int, ...] = ()) -> Path:
    """DATA_DIR's default SQLite file, migrated: `guilds` with settings, `members_of` with a member only."""
    path = tmp_path / "coopbot.db"
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    async def build() -> None:
        database = Database.from_url(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(database.engine)
        async with database.write() as session:
            for guild_id in guilds:
                session.add(CoopSettings(id=guild_id, currency="NZD", created_at=now, updated_at=now))
            for guild_id in members_of:
                session.add(Member(guild_id=guild_id, user_id=7, joined_at=now))
        await database.dispose()

    asyncio.run(build())
    return path


# --- the token's shape ------------------------------------------------------------------------------


def test_a_well_formed_token_names_its_bot() -> None:
    assert token_user_id(TOKEN) == BOT_ID


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("obviously-wrong", "three parts"),
        ("MTIz.GAbcde", "three parts"),
        (f"{TOKEN}.extra", "three parts"),
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4..abc", "three parts"),
        (f"Bot {TOKEN}", "'Bot '"),
        (TOKEN.replace("GAbcde", "GA bc+e"), "only letters"),
        ("aGVsbG8.GAbcde.abcdefghijklmnopqrstuvwxyz0", "user id"),  # "hello"
        ("%%%%.GAbcde.abcdefghijklmnopqrstuvwxyz0", "only letters"),
        ("////.GAbcde.abcdefghijklmnopqrstuvwxyz0", "only letters"),
        ("_w.GAbcde.abcdefghijklmnopqrstuvwxyz0", "user id"),  # not ASCII once decoded
    ],
)
def test_a_token_of_the_wrong_shape_is_refused_saying_why(token: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        token_user_id(token)


# --- coopbot run ------------------------------------------------------------------------------------


def test_run_without_a_token_says_how_to_get_one(tmp_path: Path, refused_api: str) -> None:
    done = coopbot(tmp_path, "run", discord_api=refused_api)
    assert done.returncode == 2
    assert done.stderr.strip() == TOKEN_HELP.strip()


def test_run_refuses_a_malformed_token_before_anything_else(tmp_path: Path, refused_api: str) -> None:
    done = coopbot(tmp_path, "run", discord_api=refused_api, DISCORD_TOKEN="obviously-wrong")
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith("coopbot: DISCORD_TOKEN is malformed: a bot token is three parts")
    assert "obviously-wrong" not in line
    assert not (tmp_path / "coopbot.db").exists()  # neither the database nor Discord was tried


def test_run_reports_a_token_discord_refuses(tmp_path: Path, discord_api: str) -> None:
    done = coopbot(tmp_path, "run", discord_api=discord_api, DISCORD_TOKEN=REVOKED_TOKEN)
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith("coopbot: Discord refused the token (401 Unauthorized)")
    assert "Reset Token" in line
    assert (tmp_path / "coopbot.db").exists()  # the database was made ready first


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        ("http://coopbot-test.invalid/api/v10", "(coopbot-test.invalid:80): DNS lookup failed"),
        ("refused", "connection refused"),
    ],
    ids=["dns", "connection-refused"],
)
def test_run_reports_discord_unreachable(tmp_path: Path, refused_api: str, api: str, expected: str) -> None:
    api = refused_api if api == "refused" else api
    done = coopbot(tmp_path, "run", discord_api=api, DISCORD_TOKEN=TOKEN)
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("coopbot: Could not reach Discord (")
    assert expected in line
    assert "internet connection" in line
    for noise in ("Traceback", "PyNaCl", "davey", "logging in"):
        assert noise not in done.stderr


def test_run_with_debug_logging_shows_the_whole_error(tmp_path: Path, refused_api: str) -> None:
    done = coopbot(tmp_path, "run", discord_api=refused_api, DISCORD_TOKEN=TOKEN, LOG_LEVEL="DEBUG")
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("coopbot: Could not reach Discord (")


def test_run_reports_an_unreachable_database_without_needing_discord(
    tmp_path: Path, refused_api: str
) -> None:
    url = f"postgresql://coop:s3cret-pw@127.0.0.1:{_free_port()}/coop"
    done = coopbot(tmp_path, "run", discord_api=refused_api, DISCORD_TOKEN=TOKEN, DATABASE_URL=url)
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("coopbot: Could not reach PostgreSQL at 127.0.0.1:")
    assert "connection refused" in line and "DATABASE_URL" in line
    assert "s3cret-pw" not in done.stderr


def test_run_reports_an_unresolvable_database_host(tmp_path: Path, refused_api: str) -> None:
    url = "postgresql://coop:s3cret-pw@db.coopbot-test.invalid:5432/coop"
    done = coopbot(tmp_path, "run", discord_api=refused_api, DISCORD_TOKEN=TOKEN, DATABASE_URL=url)
    assert done.returncode == 1
    assert one_line(done) == (
        "coopbot: Could not reach PostgreSQL at db.coopbot-test.invalid:5432: DNS lookup failed — check that "
        "PostgreSQL runs there, and the host and port in DATABASE_URL"
    )


@needs_postgres
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # "role ... does not exist" with trust authentication, "password authentication failed for user ..."
        # with passwords: either way PostgreSQL names the user.
        ({"username": "no_such_role", "password": "s3cret-pw"}, '"no_such_role"'),
        ({"database": "no_such_db"}, 'database "no_such_db" does not exist'),
    ],
    ids=["no-such-role", "no-such-database"],
)
def test_run_reports_a_database_refusing_the_connection(
    tmp_path: Path, refused_api: str, changes: dict[str, Any], reason: str
) -> None:
    url = POSTGRES.set(**changes)
    done = coopbot(
        tmp_path,
        "run",
        discord_api=refused_api,
        DISCORD_TOKEN=TOKEN,
        DATABASE_URL=url.render_as_string(hide_password=False),
    )
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith(f"coopbot: PostgreSQL at {url.host}:{url.port or 5432} refused the connection: ")
    assert reason in line and "check the user, password and database name in DATABASE_URL" in line
    assert not url.password or url.password not in done.stderr


def test_run_reports_an_unusable_sqlite_location(tmp_path: Path, refused_api: str) -> None:
    (tmp_path / "not-a-folder").write_text("")
    url = f"sqlite:///{tmp_path / 'not-a-folder' / 'coopbot.db'}"
    done = coopbot(tmp_path, "run", discord_api=refused_api, DISCORD_TOKEN=TOKEN, DATABASE_URL=url)
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith(f"coopbot: Could not open the SQLite database {tmp_path / 'not-a-folder'}")
    assert "check that coopbot may write in its folder" in line


def test_run_reports_a_failed_migration(tmp_path: Path, refused_api: str) -> None:
    with sqlite3.connect(tmp_path / "coopbot.db") as connection:  # as left by a newer coopbot
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('ffffffffffff')")
    connection.close()
    done = coopbot(tmp_path, "run", discord_api=refused_api, DISCORD_TOKEN=TOKEN)
    assert done.returncode == 1
    assert one_line(done) == (
        f"coopbot: Could not migrate the SQLite database {tmp_path / 'coopbot.db'} to the current schema: "
        "Can't locate revision identified by 'ffffffffffff' — it was migrated by a newer coopbot: run that "
        "version, or restore a backup"
    )


# --- coopbot check ----------------------------------------------------------------------------------


def test_check_refuses_a_malformed_token_and_creates_nothing(tmp_path: Path, refused_api: str) -> None:
    done = coopbot(tmp_path, "check", discord_api=refused_api, DISCORD_TOKEN="obviously-wrong")
    assert done.returncode == 1
    assert "token:          MALFORMED" in done.stdout
    assert "schema:         no database yet" in done.stdout
    assert done.stderr.splitlines() == [
        "problem:        DISCORD_TOKEN is malformed: a bot token is three parts joined by two dots — copy it "
        "again from the Developer Portal (Bot → Reset Token)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_check_offline_passes_a_well_formed_token(tmp_path: Path, refused_api: str) -> None:
    _database(tmp_path)
    done = coopbot(tmp_path, "check", discord_api=refused_api, DISCORD_TOKEN=TOKEN)
    assert done.returncode == 0, done.stderr
    assert f"token:          set, well-formed (bot user id {BOT_ID})" in done.stdout
    assert "discord:        not asked" in done.stdout
    assert "schema:         up to date" in done.stdout


def test_check_online_names_the_bot_the_token_is_for(tmp_path: Path, discord_api: str) -> None:
    done = coopbot(tmp_path, "check", "--online", discord_api=discord_api, DISCORD_TOKEN=TOKEN)
    assert done.returncode == 0, done.stderr
    assert f"discord:        the token is coopbot's (user id {BOT_ID})" in done.stdout
    assert "members intent: on" in done.stdout


def test_python_bot_py_does_what_the_coopbot_command_does(tmp_path: Path, discord_api: str) -> None:
    """`python bot.py` runs the importable module's main, so the cogs' CoopBot is the one running."""
    as_command = coopbot(tmp_path, "check", "--online", discord_api=discord_api, DISCORD_TOKEN=TOKEN)
    as_script = coopbot(
        tmp_path, "check", "--online", discord_api=discord_api, script=_AS_SCRIPT, DISCORD_TOKEN=TOKEN
    )
    assert as_command.returncode == as_script.returncode == 0, as_script.stderr
    assert (as_script.stdout, as_script.stderr) == (as_command.stdout, as_command.stderr)
    assert "the token is coopbot's" in as_script.stdout


def test_check_online_reports_the_members_intent_off(tmp_path: Path, discord_api: str) -> None:
    done = coopbot(tmp_path, "check", "--online", discord_api=discord_api, DISCORD_TOKEN=NO_INTENT_TOKEN)
    assert done.returncode == 1
    assert "members intent: OFF" in done.stdout
    assert "'Server Members Intent' is off" in done.stderr


@pytest.mark.parametrize(
    ("server", "token", "expected"),
    [
        ("discord", REVOKED_TOKEN, "Discord refused the token (401 Unauthorized)"),
        ("refused", TOKEN, "connection refused"),
        ("silent", TOKEN, "no answer in time"),
    ],
    ids=["refused-token", "connection-refused", "timeout"],
)
def test_check_online_says_why_discord_did_not_confirm_the_token(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    server: str,
    token: str,
    expected: str,
) -> None:
    api = request.getfixturevalue(f"{server}_api")
    done = coopbot(tmp_path, "check", "--online", discord_api=api, check_timeout=0.5, DISCORD_TOKEN=token)
    assert done.returncode == 1
    assert "discord:        FAILED" in done.stdout
    problems = done.stderr.splitlines()
    assert len(problems) == 1 and expected in problems[0], done.stderr
    assert "Traceback" not in done.stderr


# --- coopbot export and backup ----------------------------------------------------------------------


def test_export_refuses_a_server_the_database_never_saw_and_writes_nothing(
    tmp_path: Path, refused_api: str
) -> None:
    _database(tmp_path, guilds=(1001,))
    out = tmp_path / "export"
    done = coopbot(tmp_path, "export", "--guild", "999", "--out", str(out), discord_api=refused_api)
    assert done.returncode == 2
    assert one_line(done) == (
        f"coopbot: the SQLite database {tmp_path / 'coopbot.db'} holds nothing of server 999: nothing was "
        "exported — check the server id (right-click the server in Discord → Copy Server ID) and DATABASE_URL"
    )
    assert not out.exists()


def test_export_without_a_database_creates_none(tmp_path: Path, refused_api: str) -> None:
    out = tmp_path / "export"
    done = coopbot(tmp_path, "export", "--guild", "999", "--out", str(out), discord_api=refused_api)
    assert done.returncode == 2
    assert one_line(done).startswith(f"coopbot: There is no database at {tmp_path / 'coopbot.db'} yet")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("known_by", ["settings", "a member"])
def test_export_writes_a_known_server(tmp_path: Path, refused_api: str, known_by: str) -> None:
    # A server is known by its settings row or by any record: it gets settings at its first change of them.
    _database(tmp_path, **({"guilds": (1001,)} if known_by == "settings" else {"members_of": (1001,)}))
    out = tmp_path / "export"
    done = coopbot(tmp_path, "export", "--guild", "1001", "--out", str(out), discord_api=refused_api)
    assert done.returncode == 0, done.stderr
    exported = json.loads((out / "coopbot-export.json").read_text())
    assert exported["guild_id"] == "1001"
    assert len(exported["members"]) == (known_by == "a member")


def test_backup_says_an_empty_database_holds_no_cooperative(tmp_path: Path, refused_api: str) -> None:
    _database(tmp_path)
    copy = tmp_path / "backup.db"
    done = coopbot(tmp_path, "backup", "--out", str(copy), discord_api=refused_api)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("integrity ok; it holds no cooperative yet).")
    assert copy.exists()


def test_backup_counts_the_cooperatives(tmp_path: Path, refused_api: str) -> None:
    _database(tmp_path, guilds=(1001, 1002), members_of=(1002, 1003))
    done = coopbot(tmp_path, "backup", "--out", str(tmp_path / "backup.db"), discord_api=refused_api)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("integrity ok; 3 cooperatives).")


def test_backup_without_a_database_says_so(tmp_path: Path, refused_api: str) -> None:
    done = coopbot(tmp_path, "backup", discord_api=refused_api)
    assert done.returncode == 2
    assert one_line(done).startswith(f"coopbot: There is no database at {tmp_path / 'coopbot.db'} yet")
    assert list(tmp_path.iterdir()) == []
