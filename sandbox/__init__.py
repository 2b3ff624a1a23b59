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
inside embeds stay raw ``<@id>`` (SimCord's page renders mentions in message text only), and where the bot
would link to a message on discord.com it names the channel instead (the page has no address for a message).

The package: ``world`` (the demo cooperative), ``state`` (its saved state), ``seeding`` (its contents),
``runner`` (the Sandbox: start, time, relay, serve), ``cli`` (``/sandbox advance`` and ``coopbot sandbox``).
"""

from __future__ import annotations

from sandbox.cli import add_arguments, main, parse_advance, run
from sandbox.runner import MAX_ADVANCE, MAX_STEPS, Options, Sandbox, sandbox_commands
from sandbox.state import DEFAULT_DATA_DIR, Paths, SandboxError, State
from sandbox.world import BOT_NAME, GUILD_ID, NEWCOMER, TIMEZONE, World, build_world, standing, world_ids

__all__ = [
    "BOT_NAME",
    "DEFAULT_DATA_DIR",
    "GUILD_ID",
    "MAX_ADVANCE",
    "MAX_STEPS",
    "NEWCOMER",
    "TIMEZONE",
    "Options",
    "Paths",
    "Sandbox",
    "SandboxError",
    "State",
    "World",
    "add_arguments",
    "build_world",
    "main",
    "parse_advance",
    "run",
    "sandbox_commands",
    "standing",
    "world_ids",
]
