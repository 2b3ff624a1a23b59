"""CoopCog: what every cog reads from the bot (its clock, the cooperative's settings, the guilds it
serves) and how it reaches people: posting in the cooperative's channels, and telling one person by DM or,
where their DMs are closed, with a mention that pings them only. Nothing here raises for Discord's
refusals: a post or a DM that could not go out is logged, and the caller learns it from the result."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from cogs._common import NO_MENTIONS, pinging_only
from cogs._delivery import DmOutcome, owed_elsewhere, send_dm
from cogs._text import MESSAGE_LIMIT, shorten
from governance import coop, proposing
from governance.i18n import language_of
from governance.records import CoopSettings, Decision

if TYPE_CHECKING:
    from bot import CoopBot
    from cogs.proposals import Proposals

log = logging.getLogger("coopbot.cogs")

MENTION_ROOM = 30  # what "<@id> " takes before a text posted with a mention


class CoopCog(commands.Cog):
    """The base of coopbot's cogs (a GroupCog takes it first: `class X(CoopCog, commands.GroupCog, ...)`).
    Its helpers are private, and none is named like an attribute that discord.py reads on a cog."""

    def __init__(self, bot: CoopBot) -> None:
        self.bot = bot

    def _now(self) -> datetime:
        return self.bot.clock.now()

    async def _settings(self, guild_id: int) -> CoopSettings:
        return await coop.get_settings(self.bot.database, guild_id, self._now())

    async def _coop_language(self, guild_id: int) -> str:
        """The language of the cooperative's public posts: its own setting, else its server's locale."""
        return self._language_from(await self._settings(guild_id))

    def _language_from(self, settings: CoopSettings) -> str:
        """As `_coop_language`, from settings read already."""
        if settings.language:
            return settings.language
        guild = self.bot.get_guild(settings.id)
        return language_of(guild.preferred_locale if guild is not None else None)

    def _served_guilds(self) -> list[int]:
        # Not `_guild_ids`: discord.py reads a cog's `_guild_ids` when it removes the cog (unload, reload).
        return [guild.id for guild in self.bot.guilds]

    def _link(self, guild_id: int, channel_id: int | None, message_id: int | None) -> str | None:
        """A link to a message, or None where a link leads nowhere (the sandbox) or there is no message."""
        if not self.bot.message_links or channel_id is None or message_id is None:
            return None
        return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"

    def _where(self, message: discord.Message) -> str:
        """Where a message is, for a sentence: its link, or else (in the sandbox) its channel, by name."""
        return message.jump_url if self.bot.message_links else f"<#{message.channel.id}>"

    async def _channel(self, channel_id: int | None) -> discord.abc.Messageable | None:
        """A channel or thread to post in, from the cache or else fetched; None when it is gone."""
        if channel_id is None:
            return None
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.HTTPException as error:
                owed_elsewhere(error)
                return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def _post(
        self, channel_id: int | None, content: str | None = None, **kwargs: Any
    ) -> discord.Message | None:
        """Post in one of the cooperative's channels (pinging no one unless `allowed_mentions` says whom);
        None (logged) when it can't."""
        channel = await self._channel(channel_id)
        if channel is None:
            return None
        kwargs.setdefault("allowed_mentions", NO_MENTIONS)
        try:
            return await channel.send(shorten(content, MESSAGE_LIMIT) if content else None, **kwargs)
        except discord.HTTPException as error:
            owed_elsewhere(error)
            log.warning("Could not post in channel %s", channel_id, exc_info=True)
            return None

    async def _dm(self, user_id: int, text: str) -> DmOutcome:
        """DM someone, fetching them when the cache does not hold them (just after a start, or before the
        members are chunked): a cold cache must never read as closed DMs."""
        user = self.bot.get_user(user_id)
        if user is None:
            try:
                user = await self.bot.fetch_user(user_id)
            except discord.HTTPException as error:
                owed_elsewhere(error)
                log.warning("Could not fetch user %s to DM them", user_id, exc_info=True)
                return DmOutcome.FAILED
        return await send_dm(user, shorten(text, MESSAGE_LIMIT))

    async def _tell(self, user_id: int, text: str, *, fallback_channel_id: int | None) -> bool:
        """Tell one person: by DM, or, only when they don't accept DMs from the server, with a mention
        (pinging them only) in `fallback_channel_id`. False when neither worked."""
        text = shorten(text, MESSAGE_LIMIT - MENTION_ROOM)
        outcome = await self._dm(user_id, text)
        if outcome is not DmOutcome.CLOSED:
            return outcome is DmOutcome.SENT
        posted = await self._post(
            fallback_channel_id, f"<@{user_id}> {text}", allowed_mentions=pinging_only(user_id)
        )
        return posted is not None

    def _proposals(self) -> Proposals | None:
        """The proposals cog, which posts and shows every decision; None when its extension is not loaded."""
        from cogs.proposals import Proposals

        proposals = self.bot.get_cog(Proposals.__cog_name__)
        return proposals if isinstance(proposals, Proposals) else None

    async def _post_decision(self, decision: Decision, now: datetime) -> discord.Message | None:
        """Post a decision this cog opened (an admission, a fund request, a charter version) through the
        proposals cog, which cancels it when it can't be posted. Without that cog it is cancelled here: no
        decision stays open unseen. None when it was not posted."""
        proposals = self._proposals()
        if proposals is not None:
            return await proposals.post_decision(decision)
        assert decision.id is not None
        log.error("The proposals extension is not loaded: decision %s can't be posted", decision.id)
        await proposing.discard_unposted(
            self.bot.database, guild_id=decision.guild_id, decision_id=decision.id, now=now
        )
        return None
