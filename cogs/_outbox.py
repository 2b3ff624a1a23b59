"""Delivering what the bot owes people (governance/outbox.py) until Discord confirms it.

Each kind of owed message has one sender, registered by the cog that knows how to say it. A sender raises
when the message did not get through; inside it, the sends that are best-effort elsewhere raise their
transient failures too (`cogs._delivery.delivering`). The outcome decides: delivered; owed again later
(Discord stumbled: a 5xx, a rate limit, a timeout); or given up (a refusal that will stand, or too many
tries), logged and shown to moderators. The outbox is one due handler, run after the others in each pass,
so whatever a pass made owed goes out in the same pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from cogs._delivery import Undeliverable, delivering, is_transient
from cogs._scheduling import DueHandler
from governance import outbox
from governance.records import OwedMessage

if TYPE_CHECKING:
    from bot import CoopBot

log = logging.getLogger("coopbot.outbox")

Sender = Callable[[OwedMessage], Awaitable[None]]


def describe(error: BaseException) -> str:
    """An error in a few words, for the record moderators may read."""
    if isinstance(error, discord.HTTPException):
        return f"Discord answered {error.status}: {error.text or error.__class__.__name__}"
    return f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__


class Outbox:
    def __init__(self, bot: CoopBot) -> None:
        self.bot = bot
        self._senders: dict[str, Sender] = {}

    def register(self, kind: str, sender: Sender) -> None:
        self._senders[kind] = sender

    def unregister(self, kind: str) -> None:
        self._senders.pop(kind, None)

    def handler(self) -> DueHandler:
        return DueHandler("outbox", self.send_due, self._next_due)

    async def _next_due(self) -> datetime | None:
        return await outbox.next_due(self.bot.database, self._served())

    def _served(self) -> list[int]:
        return [guild.id for guild in self.bot.guilds]

    async def send_due(self, now: datetime | None = None) -> None:
        """Send everything owed and due (also right after a command made something owed), including what
        a send itself made owed (a network proposal's copy, posted, owes the other copies its count)."""
        now = now or self.bot.clock.now()
        while True:
            claimed = await outbox.claim_due(self.bot.database, now, self._served())
            for owed in claimed:
                await self._send(owed, now)
                # A send that completes without waiting must not keep the clicks of a burst waiting
                # behind hundreds of messages: let them in between sends.
                await asyncio.sleep(0)
            if not claimed:
                return

    async def _send(self, owed: OwedMessage, now: datetime) -> None:
        sender = self._senders.get(owed.kind)
        error: str | None = None
        retry = True
        if sender is None:  # its extension is not loaded (yet): keep it owed
            error = f"nothing delivers {owed.kind} now"
        else:
            try:
                with delivering():
                    await sender(owed)
            except Exception as failure:
                error, retry = describe(failure), is_transient(failure)
                if not isinstance(failure, discord.HTTPException | Undeliverable) and not retry:
                    # Not Discord refusing, nor the network: a bug. Tried again (with backoff, a few
                    # times) in case it was passing, and logged with its traceback.
                    retry = True
                    log.error("Could not deliver %s (%s)", owed.key, owed.kind, exc_info=failure)
        given_up = await outbox.record_outcome(
            self.bot.database, owed, self.bot.clock.now(), error=error, retry=retry
        )
        if given_up:
            log.warning("Gave up delivering %s after %d tries: %s", owed.key, owed.attempts, error)
