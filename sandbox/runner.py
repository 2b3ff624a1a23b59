"""The Sandbox: starting the bot in SimCord, moving its time as a clock does (each moment that comes due,
in order), relaying what the page cannot show, serving the page, and saving its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot import CoopBot, create_bot
from config import Settings
from governance import coop
from governance.clock import ManualClock
from governance.i18n import DISCORD_LOCALES, SOURCE, Text, _, _n, babel_locale, language_of
from governance.permissions import Actor
from governance.timeparse import Duration, discord_timestamp, parse_duration

if TYPE_CHECKING:
    import simcord
from sandbox.seeding import Seeding
from sandbox.state import DEFAULT_DATA_DIR, Paths, SandboxError, State
from sandbox.world import (
    BOT_NAME,
    CHANNEL_NAME,
    GUILD_NAME,
    NEIGHBOUR_NAME,
    NEWCOMER,
    PEOPLE,
    World,
    _name_the_bot,
    build_world,
    intro,
    standing,
    world_ids,
)

log = logging.getLogger("coopbot.sandbox")

MAX_ADVANCE = timedelta(days=366)
# The most moments one advance steps through one by one (each costs a few database reads and a settle).
MAX_STEPS = 1_000
# How long an advance waits for a page action that is running to finish before giving up.
OPERATION_PATIENCE = 30.0
RELAY_LIMIT = 1_900


T = TypeVar("T")


@dataclass
class Options:
    fresh: bool = False
    advance: timedelta | None = None
    port: int = 0
    data_dir: Path = DEFAULT_DATA_DIR
    out: Any = None  # where the banner goes (stdout by default); never a log
    language: str | None = None  # the demo in another language (a catalogue code, governance/i18n.py)


class Sandbox(Seeding):
    def __init__(self, options: Options) -> None:
        self.options = options
        self.language = options.language or SOURCE  # what the sandbox says, and the demo's contents
        self.paths = Paths(options.data_dir)
        self._unspeak: Callable[[], None] | None = None
        self.out = options.out or sys.stdout
        self.notes: list[str] = []  # told in the banner (in the sandbox's language)
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
            if state is None:
                note = _(
                    "{folder} had a sandbox without its state file sandbox.json, so it starts afresh "
                    "(the old files are kept with .old added).",
                    folder=str(self.paths.data_dir),
                )
            else:
                note = _(
                    "{folder} had a sandbox without its database sandbox.db, so it starts afresh "
                    "(the old files are kept with .old added).",
                    folder=str(self.paths.data_dir),
                )
            self.notes.append(self._say(note))
            self.paths.reset(keep_old=True)
            return None, True
        if state.world != world_ids():
            self.notes.append(
                self._say(
                    _(
                        "This SimCord builds the demo world with other ids than the saved sandbox refers to "
                        "(was SimCord upgraded?), so the sandbox starts afresh; the old database is kept as "
                        "sandbox.db.old."
                    )
                )
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
        self.world = build_world(self.env, roles_held, newcomer_later=fresh, language=self.language)
        self.state = State(now=start, world=self.world.ids(), roles_held=state.roles_held if state else {})
        started = False
        try:
            await self.env.start()
            started = True
            if self.env.now() > self.clock.now():  # a computer clock before SimCord's own epoch
                self.clock.set(self.env.now())
            await self.env.advance_time((self.clock.now() - self.env.now()).total_seconds())
            await self._install_commands()
            if self.options.language:
                await self._speak(self.options.language)
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
                    self._say(
                        _(
                            "Time moved forward {duration} (from {moment}): what came due was done, each at "
                            "its own time, and is summed up in the channel.",
                            duration=Duration(self.options.advance),
                            moment=_Moment(was, year=False),
                        )
                    )
                )
            else:
                await self._run_due()
            yield
        finally:
            self._save()
            if started:
                await self.env.shutdown()
            await self.bot.close()
            if self._unspeak is not None:  # SimCord's own interactions again
                self._unspeak()

    async def _speak(self, language: str) -> None:
        """The demo in another language: the cooperative posts in it, and every person's client speaks it
        (SimCord's interactions say en-US; the sandbox says what a client in that language would)."""
        import simcord.interactions

        await coop.configure_guild(
            self.bot.database,
            guild_id=self.world.guild.id,
            actor=Actor(user_id=self.world.guild.owner.id, manages_guild=True),
            changes=coop.SetupChanges(language=language),
            now=self.clock.now(),
        )
        locale = DISCORD_LOCALES[language][0]
        original = simcord.interactions.base_payload

        def in_language(*args: Any, **kwargs: Any) -> Any:
            record, payload = original(*args, **kwargs)
            payload["locale"] = locale
            return record, payload

        simcord.interactions.base_payload = in_language

        def unspeak() -> None:
            simcord.interactions.base_payload = original

        self._unspeak = unspeak

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

    def _say(self, text: Text) -> str:
        """What the sandbox says (its notes, summaries and its own posts), in its language."""
        return text.render(self.language)

    async def _post_intro(self, *, resumed: bool) -> None:
        text = self._say(intro(await self._who_is_who()))
        if resumed:
            text += "\n-# " + self._say(
                _(
                    "Resumed from the saved sandbox: the channel's history is not kept between runs, "
                    "so the open proposals are posted again below."
                )
            )
        await self._channel().send(text, allowed_mentions=discord.AllowedMentions.none())

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
            crowding = _n(
                "🧪 *Sandbox: more than {count} moment came due in this advance; what came due after "
                "the first was done together at its end, so it says it is late.*",
                "🧪 *Sandbox: more than {count} moments came due in this advance; what came due after "
                "the {count}th was done together at its end, so it says it is late.*",
                MAX_STEPS,
            )
            await self._channel().send(
                self._say(crowding),
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
        places: list[tuple[str, Any]] = []
        neighbour = self.world.neighbour
        if neighbour is not None:  # the network's other server first: nothing else on the page shows it
            where = f"{NEIGHBOUR_NAME} #{CHANNEL_NAME}"
            places += [(where, neighbour.channel)]
            places += [
                (self._say(_("{place}, thread “{thread}”", place=where, thread=thread.name)), thread)
                for thread in neighbour.channel.threads
            ]
        places += [
            (self._say(_("thread “{thread}”", thread=thread.name)), thread)
            for thread in self.world.channel.threads
        ]
        names = {spec.key: spec.name for spec in PEOPLE}
        places += [
            (self._say(_("DM to {person}", person=names[key])), user.dm_channel)
            for key, user in self.world.users.items()
        ]
        found: dict[int, tuple[str, dict[int, str]]] = {}
        for name, channel in places:
            found[channel.id] = (
                name,
                {m.id: _gist(m, self.language) for m in channel.history() if m.author.id == bot_id},
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
        body = self._say(
            _(
                "🧪 *Sandbox: meanwhile, in threads and DMs, and in the network's other server (this page "
                "shows only #{channel}):*",
                channel=CHANNEL_NAME,
            )
        )
        for index, line in enumerate(lines):
            if len(body) + len(line) + 40 > RELAY_LIMIT:
                left = len(lines) - index
                body += "\n> " + self._say(_n("…and {count} more", "…and {count} more", left))
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
                locale=DISCORD_LOCALES[self.options.language or "en"][0],
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
        stopped = _(
            "coopbot sandbox stopped. Everything is kept in {folder} (start afresh with --fresh).",
            folder=str(self.paths.data_dir),
        )
        print("\n" + self._say(stopped), file=self.out, flush=True)
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
        say = self._say
        page, time, data, act_as, not_loaded = (
            say(_("Open this page:")),
            say(_("Sandbox time:")),
            say(_("Data:")),
            say(_("Act as:")),
            say(_("Not loaded:")),
        )
        width = max(len(label) for label in (page, time, data, act_as, not_loaded)) + 2  # values in a column
        lines = [
            "",
            say(
                _(
                    "coopbot sandbox: {cooperative}, a demo cooperative in a simulated Discord (no token; "
                    "nothing leaves this computer but the calls to webhooks you add).",
                    cooperative=GUILD_NAME,
                )
            ),
            "",
            f"  {page:<{width}}{url}",
            "  " + say(_("(the address is the key to the sandbox: anyone who has it can act in it)")),
            "",
            f"  {time:<{width}}"
            + say(
                _(
                    "{moment} UTC: it moves only with /sandbox advance duration:1d, or --advance 1d at start",
                    moment=_Moment(self.clock.now()),
                )
            ),
            f"  {data:<{width}}"
            + say(_("{path} (start afresh with --fresh)", path=str(self.paths.database))),
            f"  {act_as:<{width}}{people}",
        ]
        if self.bot.failed_extensions:
            failed = ", ".join(sorted(self.bot.failed_extensions))
            lines.append(f"  {not_loaded:<{width}}" + say(_("{extensions} (see the log)", extensions=failed)))
        if self.seeded:
            lines.append("  " + say(_("Set up:")))
            lines += [f"    - {item}" for item in self.seeded]
        lines += ["  " + say(_("Note: {note}", note=note)) for note in self.notes]
        lines += ["", "  " + say(_("Stop with Ctrl-C.")), ""]
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
            described = standing((role_keys[role] for role in role_ids or []), self.language)
            people.append(f"{spec.name} ({described})")
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


def _gist(message: discord.Message, language: str = SOURCE) -> str:
    """A message's text on one line (an embed's title when it has no text)."""
    text = message.content
    if not text and message.embeds:
        text = message.embeds[0].title or message.embeds[0].description or _("(an embed)").render(language)
    return " ".join(text.split())


@dataclass(frozen=True)
class _Moment:
    """A moment of the sandbox's time, in UTC, for its notes and banner: "Tue 01 Dec 2026 09:00" in
    English, each language's own way otherwise ("mar, 1 dic 2026, 9:00")."""

    moment: datetime
    year: bool = True

    def render(self, language: str) -> str:
        language = language_of(language)
        if language == SOURCE:
            return f"{self.moment:%a %d %b %Y %H:%M}" if self.year else f"{self.moment:%a %d %b %H:%M}"
        from babel.dates import format_skeleton, get_datetime_format

        locale = babel_locale(language)
        day = format_skeleton("yMMMEd" if self.year else "MMMEd", self.moment, tzinfo=UTC, locale=locale)
        time = format_skeleton("Hm", self.moment, tzinfo=UTC, locale=locale)
        return str(get_datetime_format("medium", locale=locale)).replace("{1}", day).replace("{0}", time)

    def __str__(self) -> str:
        return self.render(SOURCE)


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
        moved = _(
            "⏩ {person} moves the sandbox's time forward {duration}, to {moment}. What comes due shows up "
            "here in a moment.",
            person=interaction.user.mention,
            duration=Duration(delta),
            moment=discord_timestamp(target, "f"),
        )
        await interaction.response.send_message(
            sandbox._say(moved),  # a post in the channel: in the cooperative's (the sandbox's) language
            allowed_mentions=discord.AllowedMentions.none(),
        )

    return group
