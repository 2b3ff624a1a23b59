"""The Discord side of the benchmarks: a SimCord world, the minimal baseline bot, a REST recorder with the
model network, and the click driver.

Driver. SimCord's actor verbs (`member.click`) settle the loop after every action, which caps a loop of
verbs near 19 actions/s whatever the bot does. The driver here builds each interaction the way the verb does
(`simcord.interactions.base_payload` plus the clicked message), emits it with `backend.emit(
"INTERACTION_CREATE", ...)` WITHOUT settling, and waits for that interaction's acknowledgement as observed
at the REST boundary. K worker tasks, each with one click in flight, give "K clicks in flight" (a closed
loop: a worker clicks again as soon as its previous click was acknowledged). The clicked message is
serialised once per phase (the bot does not read it). SimCord deep-copies every gateway payload (about
0.3 ms for coopbot's 3.5 KB click, where a real gateway's json.loads costs about 0.08 ms): that cost is in
both bots' CPU figures, a little more in coopbot's, whose proposal message is larger.

Model network. SimCord's REST is in-memory and never waits. `NetworkRecorder` wraps the bot's fake HTTP
client (`bot.http.request`) and the interaction webhook adapter (`env._webhook_adapter.request`): each REST
call first awaits `latency` seconds on a plain event-loop timer made outside the bot's SimCord scope, so
SimCord neither tracks nor virtualises it, like a socket read. The wrapper also records every
acknowledgement (POST /interactions/{id}/{token}/callback) and every message edit (PATCH .../messages/...).

Real time during measurements. SimCord tracks every task and timer the bot creates and runs the bot's
timers on a virtual clock: a timer's real-time fallback advances that clock only after the whole bot has
settled (no runnable work). Under a sustained burst the bot never settles, so the tally refresher's 2 s
timer would wait for the burst to end (or fail with SimCord's 5 s settle timeout), and the settle loop
itself polls and burns CPU while it waits. `release_settlement(env)` therefore hands the event loop and
`time.monotonic` back to asyncio once the world is set up and settled: from then on the bot runs on real
time as in production, and SimCord stays the fake Discord (gateway, REST routes, state). Both the baseline
and coopbot are measured this way.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import simcord
from discord.ext import commands
from simcord import interactions as sim_interactions
from simcord.backend import serializers

from bench._common import latency_summary

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday, as in the tests
INTERACTION_COMPONENT = 3
COMPONENT_BUTTON = 2
_CALLBACK = re.compile(r"/interactions/(\d+)/[^/]+/callback")
_MESSAGE_EDIT = re.compile(r"/channels/(\d+)/messages/(\d+)$")


# --- the world -----------------------------------------------------------------------------------


@dataclass
class GuildWorld:
    guild_id: int
    governance_id: int
    channel_ids: list[int]
    member_role_id: int
    moderator_role_id: int
    admin_id: int
    member_ids: list[int]


def build_guild(
    env: simcord.Env, *, members: int, name: str = "Kōwhai Collective", extra_channels: int = 0
) -> GuildWorld:
    """One cooperative's server: roles, a governance channel and `members` people with the member role.
    Built through the backend before the bot starts, so nobody "joins" while the bot watches."""
    backend = env.backend
    guild = env.create_guild(name)
    member_role = guild.create_role("Member")
    moderator_role = guild.create_role("Steward")
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    governance = guild.create_text_channel("governance")
    channels = [guild.create_text_channel(f"circle-{i}").id for i in range(extra_channels)]
    member_ids = []
    for index in range(members):
        user = backend.make_user(f"member{index}")
        backend.add_member(guild.id, user.id, roles=[member_role.id], announce=False)
        member_ids.append(user.id)
    admin = backend.make_user(f"admin-{guild.id % 10_000}")
    backend.add_member(guild.id, admin.id, roles=[admin_role.id, member_role.id], announce=False)
    return GuildWorld(
        guild_id=guild.id,
        governance_id=governance.id,
        channel_ids=channels,
        member_role_id=member_role.id,
        moderator_role_id=moderator_role.id,
        admin_id=admin.id,
        member_ids=member_ids,
    )


def coopbot_settings(database_url: str) -> Any:
    """coopbot's Settings for a benchmark: the database given, no token, no .env, one shard (SimCord needs
    the count an AutoShardedBot would otherwise ask Discord for)."""
    from config import Settings

    values: dict[str, Any] = {"database_url": database_url, "discord_token": None}
    if "shard_count" in Settings.model_fields:
        values["shard_count"] = 1
    return Settings(_env_file=None, **values)


# --- the baseline --------------------------------------------------------------------------------

BASELINE_REPLY = "Your vote is recorded."


class AckButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"coop:vote:(?P<decision>[0-9]{1,20}):(?P<key>[a-z_]{1,20})",
):
    """The floor: the same persistent custom id as coopbot's vote button; it only acknowledges."""

    def __init__(self, decision_id: int, key: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success, label=key, custom_id=f"coop:vote:{decision_id}:{key}"
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AckButton:
        return cls(int(match["decision"]), match["key"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(BASELINE_REPLY, ephemeral=True)


class BaselineBot(commands.Bot):
    """A minimal discord.py bot: same intents as coopbot, one persistent button that only acknowledges."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True, members=True),
            help_command=None,
            guild_ready_timeout=0.05,
        )

    async def setup_hook(self) -> None:
        self.add_dynamic_items(AckButton)


async def post_baseline_ballot(bot: discord.Client, channel_id: int, decision_id: int = 1) -> int:
    """Post a message carrying the floor's buttons; returns its id."""
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    view = discord.ui.View(timeout=None)
    for key in ("agree", "abstain", "disagree"):
        view.add_item(AckButton(decision_id, key))
    message = await channel.send("Proposal #1", view=view)
    return message.id


async def chunk_all(bot: discord.Client) -> None:
    """Fill the member cache of every guild. A bot with the members intent does this before READY, but
    SimCord sets guild_ready_timeout to 0, so an AutoShardedBot only chunks the first guild by itself."""
    for guild in bot.guilds:
        if not guild.chunked:
            await guild.chunk()


def release_settlement(env: simcord.Env) -> None:
    """Stop SimCord's task tracking and virtual timers (see the module docstring); env.shutdown() still
    works afterwards. Uses SimCord 3.2 internals (simcord._runtime._restore_loop)."""
    from simcord import _dpy_internals
    from simcord._runtime import _restore_loop

    loop = asyncio.get_running_loop()
    virtual_now = env._virtual_time
    # Timers the bot set before (e.g. APScheduler's next wake-up) become plain timers on the real clock.
    carried = [
        record
        for record in env._work.callbacks
        if record.when is not None and record.handle is not None and not record.handle.cancelled()
    ]
    _restore_loop(env)
    _dpy_internals.release_clocks(env)
    for record in carried:
        if record.real_handle is not None:
            record.real_handle.cancel()
            record.real_handle = None
        handle = record.handle

        def fire(handle: Any = handle) -> None:
            if not handle.cancelled():
                handle._run()

        assert record.when is not None
        loop.call_later(max(0.0, record.when - virtual_now), fire)


async def wait_for_tally_edits(bot: discord.Client, *, grace: float = 0.3, limit: float = 30.0) -> None:
    """Wait until coopbot's debounced tally refresher has nothing pending, plus `grace` for the last edit
    (polled: the refresher's pending map is private and signals nothing)."""
    get_cog = getattr(bot, "get_cog", None)
    cog = get_cog("Proposals") if get_cog else None
    refresher = getattr(cog, "refresher", None)
    pending = getattr(refresher, "_pending", None)
    deadline = time.perf_counter() + limit
    for _ in range(int(limit / 0.05)):
        if not pending or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(grace)


# --- REST recording and the model network ---------------------------------------------------------


def _external_sleep(delay: float) -> asyncio.Future[None]:
    """A wait on a plain loop timer created outside any SimCord bot scope (an empty context), as a socket
    read would be: SimCord neither tracks it nor turns it into virtual time."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    contextvars.Context().run(loop.call_later, delay, wake)
    return future


@dataclass
class RestCall:
    method: str
    path: str
    issued: float
    done: float
    ok: bool


class NetworkRecorder:
    """Wraps the bot's REST transports: adds the model network's latency, records acknowledgements (per
    interaction), message edits, and every call's timing."""

    def __init__(self, env: simcord.Env, bot: discord.Client, *, latency: float = 0.0) -> None:
        self.env = env
        self.bot = bot
        self.latency = latency
        self.calls: list[RestCall] = []
        self.ack_attempts: Counter[int] = Counter()
        self.acks_ok: Counter[int] = Counter()
        self.ack_contents: dict[int, str] = {}
        self._waiters: dict[int, asyncio.Future[float]] = {}
        self.edits: list[tuple[float, str]] = []
        self.record_calls = True

    def install(self) -> None:
        adapter = self.env._webhook_adapter
        webhook_request = adapter.request
        http_request = self.bot.http.request

        async def via_webhook(route: Any, session: Any, **kwargs: Any) -> Any:
            path = route.url
            match = _CALLBACK.search(path)
            interaction_id = int(match.group(1)) if match else None
            if interaction_id is not None:
                self.ack_attempts[interaction_id] += 1
            return await self._call(
                route.method, path, webhook_request(route, session, **kwargs), interaction_id, kwargs
            )

        async def via_http(route: Any, **kwargs: Any) -> Any:
            return await self._call(route.method, route.url, http_request(route, **kwargs), None, kwargs)

        adapter.request = via_webhook
        self.bot.http.request = via_http  # type: ignore[method-assign]

    async def _call(
        self, method: str, path: str, call: Any, interaction_id: int | None, kwargs: dict[str, Any]
    ) -> Any:
        issued = time.perf_counter()
        if self.latency:
            await _external_sleep(self.latency)
        ok = False
        try:
            result = await call
            ok = True
            return result
        finally:
            done = time.perf_counter()
            if self.record_calls:
                self.calls.append(RestCall(method, path, issued, done, ok))
            if method == "PATCH" and _MESSAGE_EDIT.search(path):
                self.edits.append((issued, path))  # when the bot sent it: what its debounce governs
            if interaction_id is not None:
                if ok:
                    self.acks_ok[interaction_id] += 1
                    payload = kwargs.get("payload") or {}
                    data = payload.get("data") or {}
                    self.ack_contents[interaction_id] = str(data.get("content", ""))
                waiter = self._waiters.pop(interaction_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(done)
            if not ok and asyncio.iscoroutine(call):
                call.close()

    def expect(self, interaction_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[interaction_id] = future
        return future


# --- the click driver ----------------------------------------------------------------------------


@dataclass
class PhaseResult:
    clicks: int
    seconds: float
    cpu_seconds: float
    driver_seconds: float
    latencies: list[float]
    unanswered: int
    interaction_ids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        done = len(self.latencies)
        return {
            "clicks": self.clicks,
            "answered": done,
            "unanswered": self.unanswered,
            "seconds": self.seconds,
            "ops_per_s": done / self.seconds if self.seconds else float("nan"),
            "cpu_ms_per_op": self.cpu_seconds * 1000 / max(done, 1),
            "driver_ms_per_op": self.driver_seconds * 1000 / max(self.clicks, 1),
            **latency_summary(self.latencies),
        }


class ClickDriver:
    """Emits button clicks on one message, `in_flight` at a time, and times each to its acknowledgement."""

    def __init__(
        self,
        env: simcord.Env,
        recorder: NetworkRecorder,
        *,
        guild_id: int,
        channel_id: int,
        message_id: int,
        answer_timeout: float = 30.0,
    ) -> None:
        self.env = env
        self.recorder = recorder
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.message_id = message_id
        self.answer_timeout = answer_timeout

    def _message_payload(self) -> dict[str, Any]:
        backend = self.env.backend
        return dict(
            serializers.message_payload(backend, backend.get_message(self.channel_id, self.message_id))
        )

    def _prepare(
        self, user_id: int, custom_id: str, message: dict[str, Any]
    ) -> tuple[int, asyncio.Future[float], dict[str, Any]]:
        """Build a click as Discord would send it, and register the wait for its acknowledgement."""
        record, payload = sim_interactions.base_payload(
            self.env.backend,
            type=INTERACTION_COMPONENT,
            channel_id=self.channel_id,
            guild_id=self.guild_id,
            user_id=user_id,
            data={"custom_id": custom_id, "component_type": COMPONENT_BUTTON},
        )
        payload["message"] = message
        record.source_message_id = self.message_id
        return int(record.id), self.recorder.expect(int(record.id)), payload

    async def click_once(self, user_id: int, custom_id: str) -> float | None:
        """One click, waited for: seconds to its acknowledgement, or None when unanswered."""
        _interaction_id, waiter, payload = self._prepare(user_id, custom_id, self._message_payload())
        started = time.perf_counter()
        self.env.backend.emit("INTERACTION_CREATE", payload)
        try:
            done = await asyncio.wait_for(waiter, self.answer_timeout)
        except TimeoutError:
            return None
        return done - started

    async def run(self, clicks: Sequence[tuple[int, str]], in_flight: int) -> PhaseResult:
        message = self._message_payload()
        latencies: list[float] = []
        interaction_ids: list[int] = []
        unanswered = 0
        driver_seconds = 0.0
        next_index = 0

        async def worker() -> None:
            nonlocal next_index, unanswered, driver_seconds
            while next_index < len(clicks):
                user_id, custom_id = clicks[next_index]
                next_index += 1
                built = time.perf_counter()
                interaction_id, waiter, payload = self._prepare(user_id, custom_id, message)
                started = time.perf_counter()
                driver_seconds += started - built
                self.env.backend.emit("INTERACTION_CREATE", payload)
                interaction_ids.append(interaction_id)
                try:
                    done = await asyncio.wait_for(waiter, self.answer_timeout)
                except TimeoutError:
                    unanswered += 1
                    continue
                latencies.append(done - started)

        cpu_before = time.process_time()
        wall_before = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(in_flight, len(clicks)))))
        seconds = time.perf_counter() - wall_before
        cpu_seconds = time.process_time() - cpu_before
        return PhaseResult(
            clicks=len(clicks),
            seconds=seconds,
            cpu_seconds=cpu_seconds,
            driver_seconds=driver_seconds,
            latencies=latencies,
            unanswered=unanswered,
            interaction_ids=interaction_ids,
        )


def edit_spacing(edits: Sequence[tuple[float, str]], window: float = 2.0) -> dict[str, Any]:
    """For each edited message: the smallest gap between two edits and the most edits in any `window`."""
    by_message: dict[str, list[float]] = {}
    for moment, path in edits:
        by_message.setdefault(path, []).append(moment)
    min_gap = float("inf")
    most_in_window = 0
    for moments in by_message.values():
        moments.sort()
        for a, b in itertools.pairwise(moments):
            min_gap = min(min_gap, b - a)
        start = 0
        for end, moment in enumerate(moments):
            while moment - moments[start] >= window:
                start += 1
            most_in_window = max(most_in_window, end - start + 1)
    return {
        "edits": len(edits),
        "edit_min_gap_ms": min_gap * 1000 if min_gap != float("inf") else None,
        "edits_in_any_2s_max": most_in_window,
    }
