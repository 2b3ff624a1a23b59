"""What is due, and when to wake up for it.

The database is the source of truth for everything due (closing times, reminders...). APScheduler is only
the alarm clock: one job, set for the earliest moment anything is due, which runs every registered
handler and sets itself again. At start-up it runs at once, so anything that came due while the bot was
down is done then. Handlers claim their rows before acting, so a retry, an overlapping run or a second
process never does the same thing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot import CoopBot

log = logging.getLogger("coopbot.due")

# A safety net for anything the alarm did not hear about (a row written by another tool, a clock jump).
SWEEP_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class DueHandler:
    name: str
    # Do everything due at `now`; must be idempotent (claim rows before acting).
    run_due: Callable[[datetime], Awaitable[None]]
    # The earliest moment something of this kind will be due, or None.
    next_due: Callable[[], Awaitable[datetime | None]]


class DueRunner:
    """Runs registered handlers when something is due. The bot has two: one for governance (closings,
    reminders), one for webhook deliveries, so that a slow receiver never delays a closing."""

    def __init__(self, bot: CoopBot, *, name: str = "due") -> None:
        self.bot = bot
        self.job_id = f"coopbot:{name}"
        self._handlers: dict[str, DueHandler] = {}
        self._lock = asyncio.Lock()
        self._planned: datetime | None = None
        self.started = False

    def register(self, handler: DueHandler) -> None:
        self._handlers[handler.name] = handler

    def unregister(self, name: str) -> None:
        self._handlers.pop(name, None)

    async def start(self) -> None:
        """Do what is overdue, then keep the alarm set."""
        self.started = True
        scheduler = self.bot.scheduler
        if scheduler is not None and scheduler.running:
            scheduler.add_job(
                self.run_now,
                "interval",
                seconds=SWEEP_INTERVAL.total_seconds(),
                id=f"{self.job_id}:sweep",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        await self.run_now()

    def stop(self) -> None:
        """Forget the alarm (the scheduler that held it is shutting down); `start` sets it again."""
        self.started = False
        self._planned = None

    async def run_now(self) -> None:
        """Run every handler for the current time, then set the alarm for the next due moment."""
        async with self._lock:
            now = self.bot.clock.now()
            for handler in list(self._handlers.values()):
                try:
                    await handler.run_due(now)
                except Exception:  # one failing kind must not stop the others; it is retried next wake
                    log.exception("Due handler %s failed", handler.name)
            await self._plan()

    def wake_at(self, moment: datetime) -> None:
        """Something new is due at `moment`: move the alarm earlier if needed."""
        if not self.started:
            return
        if self._planned is None or moment < self._planned:
            self._set_alarm(moment)

    def wake_soon(self) -> None:
        """Something is due now (e.g. an event for the webhooks was just committed)."""
        self.wake_at(self.bot.clock.now())

    async def next_due(self, *, after: datetime | None = None) -> datetime | None:
        """The earliest moment any handler has something due, or None. With `after`, only moments later
        than it count: a handler whose earliest is not (work that keeps failing stays due in the past) is
        passed over, so that whoever steps through time with this always moves forward."""
        moments: list[datetime] = []
        for handler in list(self._handlers.values()):
            try:
                moment = await handler.next_due()
            except Exception:
                log.exception("Could not read when %s is next due", handler.name)
                continue
            if moment is not None and (after is None or moment > after):
                moments.append(moment)
        return min(moments, default=None)

    async def _plan(self) -> None:
        self._set_alarm(await self.next_due())

    def _set_alarm(self, moment: datetime | None) -> None:
        self._planned = moment
        scheduler = self.bot.scheduler
        if scheduler is None or not scheduler.running:
            return
        if moment is None:
            if scheduler.get_job(self.job_id) is not None:
                scheduler.remove_job(self.job_id)
            return
        # The delay is measured on the bot's clock, and the alarm set that far ahead on the real one, so a
        # test's manual clock never makes the alarm ring in a loop.
        delay = max(timedelta(0), moment - self.bot.clock.now())
        scheduler.add_job(
            self.run_now,
            "date",
            run_date=datetime.now(scheduler.timezone) + delay,
            id=self.job_id,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            # run_now sets the next alarm while the current one is still running: with one instance
            # allowed, APScheduler would drop that new alarm. run_now's own lock keeps runs apart.
            max_instances=2,
        )
