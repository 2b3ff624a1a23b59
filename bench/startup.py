"""Benchmark 5: start-up at scale.

100 cooperatives (guilds of 50 members), 100,000 scheduled items (95,000 personal reminders over the next
90 days and 5,000 weekly channel reminders, 50 per cooperative) and 10,000 open decisions (100 per
cooperative, closing in 2 to 30 days), written once with bulk SQL into a SQLite file. Then, in a fresh
process per repetition: the same SimCord world is built (not timed: it is the fake Discord), and the clock
starts when the bot is created: `create_bot`, login and `setup_hook` (migrations check, cogs), the gateway
READY with 100 GUILD_CREATEs, `on_ready` starting the DueRunners (the run at start-up that does whatever
is overdue, then sets the alarm for the earliest due item): ready, with every job scheduled. Filling the
member caches of all guilds (discord.py does it before READY; SimCord only for the first guild) is timed
on its own. Resident memory is read at ready.

Targets: ready in under 5 s; resident memory under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import simcord

from bench import _db
from bench._common import median, peak_rss_mb, progress, rss_mb, run_child, table, verdict, write_results
from bench._simenv import START, GuildWorld, build_guild, chunk_all, coopbot_settings

TARGET_SECONDS = 5.0
TARGET_RSS_MB = 300.0


def _world(env: simcord.Env, guilds: int, members: int) -> list[GuildWorld]:
    worlds = []
    for index in range(guilds):
        world = build_guild(env, members=members, name=f"Cooperative {index}", extra_channels=2)
        worlds.append(world)
    return worlds


async def prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Build the database once: a world's ids, then guild settings, decisions and reminders in bulk."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    from storage.database import create_engine
    from storage.models import CoopSettings, Decision, Reminder

    guilds, members = params["guilds"], params["members"]
    env = simcord.Env(_placeholder_bot())
    worlds = _world(env, guilds, members)
    url = await _db.fresh_sqlite(Path(params["folder"]))
    engine: AsyncEngine = create_engine(url)
    rng = random.Random(5)
    started = time.perf_counter()
    try:
        await _db.bulk_insert(
            engine,
            _db.table_of(CoopSettings),
            [
                {
                    "id": world.guild_id,
                    "governance_channel_id": world.governance_id,
                    "welcome_channel_id": world.channel_ids[0],
                    "member_role_id": world.member_role_id,
                    "moderator_role_id": world.moderator_role_id,
                    "timezone": "Pacific/Auckland",
                    "currency": "NZD",
                    "default_decision_type": "consent",
                    "default_decision_seconds": 7 * 24 * 3600,
                    "charter_text": "",
                    "charter_version": 0,
                    "admission_by_decision": True,
                    "admission_decision_type": "consent",
                    "reminder_lead_seconds": 24 * 3600,
                    "digest_weekday": 0,
                    "digest_time": "09:00",
                    "request_stale_days": 7,
                    "created_at": START,
                    "updated_at": START,
                }
                for world in worlds
            ],
        )
        decisions: list[dict[str, Any]] = []
        for world in worlds:
            for index in range(params["decisions"] // guilds):
                closes = START + timedelta(days=2 + rng.random() * 28)
                decisions.append(
                    {
                        "guild_id": world.guild_id,
                        "kind": "consent",
                        "title": f"Proposal {index} of {world.guild_id % 1000}",
                        "details": "Details of the proposal, as a member wrote them.",
                        "author_id": world.admin_id,
                        "options": [],
                        "max_choices": 1,
                        "score_min": 0,
                        "score_max": 5,
                        "dots": 8,
                        "eligible_role_id": world.member_role_id,
                        "anonymous": False,
                        "hide_results": False,
                        "status": "open",
                        "opens_at": START - timedelta(days=1),
                        "closes_at": closes,
                        "channel_id": world.governance_id,
                        "message_id": None,
                        "created_at": START - timedelta(days=1),
                        "updated_at": START - timedelta(days=1),
                    }
                )
        await _db.bulk_insert(engine, _db.table_of(Decision), decisions)
        reminders: list[dict[str, Any]] = []
        per_guild = params["scheduled"] // guilds
        for world in worlds:
            for index in range(per_guild):
                channel = index < 50
                reminders.append(
                    {
                        "guild_id": world.guild_id,
                        "kind": "channel" if channel else "personal",
                        "channel_id": world.channel_ids[index % len(world.channel_ids)],
                        "user_id": world.member_ids[index % len(world.member_ids)]
                        if not channel
                        else world.admin_id,
                        "message": "Time for the circle check-in." if channel else "Renew the insurance.",
                        "schedule": "every monday 09:00" if channel else None,
                        "anchor_at": START - timedelta(days=7),
                        "next_run_at": START + timedelta(minutes=5 + rng.random() * 90 * 24 * 60),
                        "status": "active",
                        "run_count": 0,
                        "created_at": START - timedelta(days=7),
                    }
                )
        await _db.bulk_insert(engine, _db.table_of(Reminder), reminders)
        reminder_times: list[datetime] = [row["next_run_at"] for row in reminders]
        closing_times: list[datetime] = [row["closes_at"] for row in decisions]
    finally:
        await engine.dispose()
    return {
        "url": url,
        "seconds": time.perf_counter() - started,
        "guild_ids": [world.guild_id for world in worlds],
        "decisions": len(decisions),
        "reminders": len(reminders),
        "earliest_reminder": min(reminder_times).isoformat(),
        "earliest_closing_soon": (min(closing_times) - timedelta(days=1)).isoformat(),
    }


def _placeholder_bot() -> Any:
    """A bot object for SimCord's Env when only the world is wanted (Env needs a client to exist)."""
    from bench._simenv import BaselineBot

    return BaselineBot()


async def measure(params: dict[str, Any]) -> dict[str, Any]:
    """One start in a fresh process."""
    imported = time.perf_counter()
    from bot import create_bot
    from governance.clock import ManualClock

    import_seconds = time.perf_counter() - imported
    rss_imports = rss_mb()
    clock = ManualClock(START)
    created = time.perf_counter()
    bot = create_bot(coopbot_settings(params["url"]), clock=clock, guild_ready_timeout=0.05)
    create_seconds = time.perf_counter() - created
    env = simcord.Env(bot, settle_timeout=120)
    worlds = _world(env, params["guilds"], params["members"])  # ids allocated exactly as in prepare()
    guild_ids = [world.guild_id for world in worlds]
    rss_world = rss_mb()

    marks: dict[str, float] = {}
    started = time.perf_counter() - create_seconds  # the clock includes create_bot
    original_setup = bot.setup_hook
    original_due_start = bot.due.start

    async def timed_setup() -> None:
        marks["setup_hook_start"] = time.perf_counter() - started
        await original_setup()
        marks["setup_hook_end"] = time.perf_counter() - started

    async def timed_due_start() -> None:
        marks["due_start"] = time.perf_counter() - started
        await original_due_start()
        marks["due_ready"] = time.perf_counter() - started

    bot.setup_hook = timed_setup  # type: ignore[method-assign]
    bot.due.start = timed_due_start  # type: ignore[method-assign]
    await env.start()
    ready = time.perf_counter() - started
    rss_ready = rss_mb()
    scheduler = bot.scheduler
    jobs = sorted(job.id for job in scheduler.get_jobs()) if scheduler is not None else []
    alarm = scheduler.get_job("coopbot:due") if scheduler is not None else None
    planned = getattr(bot.due, "_planned", None)
    chunk_started = time.perf_counter()
    await chunk_all(bot)
    chunk_seconds = time.perf_counter() - chunk_started
    rss_chunked = rss_mb()
    result = {
        "import_s": import_seconds,
        "ready_s": ready,
        "marks": marks,
        "chunk_all_s": chunk_seconds,
        "rss_after_imports_mb": rss_imports,
        "rss_world_mb": rss_world,
        "rss_ready_mb": rss_ready,
        "rss_chunked_mb": rss_chunked,
        "rss_peak_mb": peak_rss_mb(),
        "guilds_seen": len(bot.guilds),
        "guild_ids_match": sorted(guild.id for guild in bot.guilds) == sorted(params["guild_ids"])
        and guild_ids == params["guild_ids"],
        "jobs": jobs,
        "alarm_set": alarm is not None,
        "alarm_for": planned.isoformat() if planned is not None else None,
        "bot_errors": len(env.errors),
    }
    await env.shutdown()
    await bot.close()
    return result


def render(summary: dict[str, Any]) -> str:
    r = summary
    rows = [
        ["start -> ready, every job scheduled (s)", r["ready_s"], verdict(r["ready_s"], TARGET_SECONDS)],
        ["  of which setup_hook: migrations check, cogs (s)", r["setup_hook_s"], ""],
        ["  of which READY + DueRunner start-up run (s)", r["due_s"], ""],
        ["fill the member caches of every guild (s, extra)", r["chunk_all_s"], ""],
        ["resident memory at ready (MB)", r["rss_ready_mb"], verdict(r["rss_ready_mb"], TARGET_RSS_MB)],
        ["  of which before start: imports + SimCord world (MB)", r["rss_world_mb"], ""],
        [
            "resident memory with member caches (MB)",
            r["rss_chunked_mb"],
            verdict(r["rss_chunked_mb"], TARGET_RSS_MB),
        ],
        ["imports (s, before the clock starts)", r["import_s"], ""],
    ]
    return (
        table(
            ["start-up at scale (medians of the starts)", "value", "verdict"],
            rows,
            title=f"Start-up: {r['guilds']} guilds, {r['reminders']:,} scheduled items, "
            f"{r['decisions']:,} open decisions (SQLite)",
        )
        + f"\nAPScheduler jobs at ready: {', '.join(r['jobs'])}; alarm set for {r['alarm_for']}. "
        "The resident memory includes SimCord's simulated Discord (the world), which a real process does not "
        "hold."
    )


def run(quick: bool, *, stamp: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    scale = (
        {"guilds": 20, "members": 20, "scheduled": 10_000, "decisions": 1_000}
        if quick
        else {"guilds": 100, "members": 50, "scheduled": 100_000, "decisions": 10_000}
    )
    folder = tempfile.mkdtemp(prefix="coopbot-bench-startup-")
    report: dict[str, Any] = {"quick": quick, **scale}
    try:
        progress(
            f"start-up: writing {scale['scheduled']:,} scheduled items and {scale['decisions']:,} decisions"
        )
        prepared = run_child("bench.startup:prepare", {**scale, "folder": folder}, timeout=900)
        if "error" in prepared:
            report["error"] = prepared
            print(
                f"\nstartup: preparing the database failed: {prepared['error']}\n{prepared.get('stderr', '')}"
            )
            return report
        report["prepared"] = prepared
        starts = []
        for rep in range(3):
            progress(f"start-up: start {rep + 1}/3")
            # Each start gets its own copy: a start may write (claims), the next must see the same data.
            copy = Path(folder) / f"start-{rep}.db"
            shutil.copyfile(prepared["url"].removeprefix("sqlite+aiosqlite:///"), copy)
            outcome = run_child(
                "bench.startup:measure",
                {**scale, "url": f"sqlite+aiosqlite:///{copy}", "guild_ids": prepared["guild_ids"]},
                timeout=600,
            )
            starts.append(outcome)
        report["starts"] = starts
        ok = [s for s in starts if "error" not in s]
        if not ok:
            print(f"\nstartup failed: {json.dumps(starts)[:3000]}")
            return report
        summary = {
            **scale,
            "reminders": prepared["reminders"],
            "ready_s": median(s["ready_s"] for s in ok),
            "setup_hook_s": median(s["marks"]["setup_hook_end"] - s["marks"]["setup_hook_start"] for s in ok),
            "due_s": median(
                s["marks"].get("due_ready", s["ready_s"]) - s["marks"]["setup_hook_end"] for s in ok
            ),
            "chunk_all_s": median(s["chunk_all_s"] for s in ok),
            "rss_ready_mb": median(s["rss_ready_mb"] for s in ok),
            "rss_world_mb": median(s["rss_world_mb"] for s in ok),
            "rss_chunked_mb": median(s["rss_chunked_mb"] for s in ok),
            "import_s": median(s["import_s"] for s in ok),
            "jobs": ok[0]["jobs"],
            "alarm_for": ok[0]["alarm_for"],
            "guild_ids_match": all(s["guild_ids_match"] for s in ok),
            "failed_starts": len(starts) - len(ok),
        }
        report["summary"] = summary
        print(render(summary))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        report["seconds"] = time.perf_counter() - started
        path = write_results("startup", report, stamp)
        print(f"\nstartup: {report['seconds']:.0f} s, results in {path}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 guilds, 10,000 items, 1,000 decisions")
    args = parser.parse_args()
    run(args.quick)


if __name__ == "__main__":
    main()
