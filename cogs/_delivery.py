"""Sending to many people without tripping Discord's limits: mentions batched into messages under 2,000
characters, DMs paced, refusals (closed DMs) treated as normal. Only the users named are ever pinged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from enum import Enum

import aiohttp
import discord

from cogs._common import NO_MENTIONS, pinging_only
from cogs._text import MESSAGE_LIMIT

log = logging.getLogger("coopbot.delivery")

# Set while an owed message is being delivered (cogs/_outbox.py): then a transient failure anywhere in the
# code it runs must not pass for done, as it may elsewhere (a command's best-effort extra post).
_delivering: ContextVar[bool] = ContextVar("coopbot_delivering", default=False)


class Undeliverable(Exception):
    """An owed message that can never be delivered (its channel is gone…): the message says why."""


def is_transient(error: BaseException) -> bool:
    """A failure that a later try may not meet: Discord's 5xx or rate limit, a timeout, a lost connection.
    Not a refusal that will stand (403 Forbidden, 404 Not Found)."""
    if isinstance(error, discord.Forbidden | discord.NotFound):
        return False
    if isinstance(error, discord.HTTPException):
        return error.status >= 500 or error.status == 429
    return isinstance(error, aiohttp.ClientError | TimeoutError | OSError)


def owed_elsewhere(error: BaseException, *, transient_only: bool = False) -> None:
    """Where a send swallows a failure: inside an owed message's delivery it is raised again, so that the
    message stays owed (a transient failure, tried again later) or is recorded as undeliverable (a refusal
    that will stand, shown to moderators). `transient_only` where the caller deals with such a refusal
    itself (a role it may not give is told to the moderators)."""
    if _delivering.get() and (is_transient(error) or not transient_only):
        raise error


@contextlib.contextmanager
def delivering() -> Iterator[None]:
    """Around the delivery of an owed message (see `owed_elsewhere`)."""
    token = _delivering.set(True)
    try:
        yield
    finally:
        _delivering.reset(token)


# Discord allows a bot about 50 requests a second in all, and far fewer DMs a burst; space them out.
DM_INTERVAL = 0.25


def mention_messages(
    header: str, user_ids: Sequence[int], limit: int = MESSAGE_LIMIT
) -> list[tuple[str, list[int]]]:
    """Split `header` + mentions of `user_ids` into messages under `limit` characters; each message comes
    with the ids it mentions (its allowed mentions). The header goes in the first message only."""
    messages: list[tuple[str, list[int]]] = []
    text, ids = header[: limit - 30], list[int]()
    for user_id in user_ids:
        mention = f"<@{user_id}>"
        if len(text) + 1 + len(mention) > limit:
            messages.append((text, ids))
            text, ids = "", list[int]()
        text = f"{text} {mention}" if text else mention
        ids.append(user_id)
    if text:
        messages.append((text, ids))
    return messages


async def post_mentioning(channel: discord.abc.Messageable, header: str, user_ids: Sequence[int]) -> int:
    """Post `header` mentioning `user_ids` (in as many messages as needed); returns messages sent."""
    sent = 0
    for text, ids in mention_messages(header, user_ids):
        await channel.send(text, allowed_mentions=pinging_only(*ids))
        sent += 1
    return sent


class DmOutcome(Enum):
    SENT = "sent"
    CLOSED = "closed"  # the person does not accept DMs from the server: the one reason to say it in public
    FAILED = "failed"  # Discord failed, or the person is gone: nothing was said, and nothing in public


async def send_dm(
    user: discord.User | discord.Member | None, text: str, *, embed: discord.Embed | None = None
) -> DmOutcome:
    """Send a DM and say how it went (no error)."""
    if user is None:
        return DmOutcome.FAILED
    try:
        if embed is None:
            await user.send(text[:MESSAGE_LIMIT], allowed_mentions=NO_MENTIONS)
        else:
            await user.send(text[:MESSAGE_LIMIT], embed=embed, allowed_mentions=NO_MENTIONS)
    except discord.Forbidden:
        return DmOutcome.CLOSED
    except discord.HTTPException as error:
        owed_elsewhere(error)
        log.warning("Could not DM user %s", user.id, exc_info=True)
        return DmOutcome.FAILED
    return DmOutcome.SENT


async def dm(
    user: discord.User | discord.Member | None, text: str, *, embed: discord.Embed | None = None
) -> bool:
    """Send a DM; False (no error) when it was not delivered, for whatever reason."""
    return await send_dm(user, text, embed=embed) is DmOutcome.SENT


async def dm_each(users: Iterable[discord.User | discord.Member], text: str) -> int:
    """DM each user in turn, paced; returns how many accepted."""
    delivered = 0
    for index, user in enumerate(users):
        if index:
            await asyncio.sleep(DM_INTERVAL)
        delivered += await dm(user, text)
    return delivered
