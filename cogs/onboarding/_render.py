"""How onboarding looks in Discord: the welcome, the charter, a profile, the directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from cogs._text import EMBED_DESCRIPTION_LIMIT, EMBED_TITLE_LIMIT, FIELD_LIMIT, plain, shorten
from cogs.onboarding._items import AGREE_LABEL, INTRODUCE_LABEL
from governance.errors import InvalidInput
from governance.i18n import SOURCE, _, translate
from governance.records import CoopSettings, Member, MemberStatus
from governance.timeparse import discord_timestamp, parse_timezone

COLOUR = discord.Colour.teal()

STANDING_LABELS = {
    MemberStatus.MEMBER: "Member",
    MemberStatus.CONTRIBUTOR: "Contributor",
    MemberStatus.VISITOR: "Visitor",
    MemberStatus.DEPARTED: "Left",
}


def has_charter(settings: CoopSettings) -> bool:
    return settings.charter_version >= 1 and bool(settings.charter_text)


def charter_embed(settings: CoopSettings, guild_name: str) -> discord.Embed:
    embed = discord.Embed(
        title=shorten(f"The charter of {guild_name}", EMBED_TITLE_LIMIT),
        description=shorten(settings.charter_text, EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR,
    )
    embed.set_footer(text=f"Version {settings.charter_version}")
    return embed


def welcome_embed(settings: CoopSettings, guild_name: str, language: str = SOURCE) -> discord.Embed:
    """The welcome, in the cooperative's language: how to take part, then the charter itself."""
    agree, introduce = translate(AGREE_LABEL, language), translate(INTRODUCE_LABEL, language)
    if has_charter(settings):
        steps = _(
            "We decide and work together by our charter, below. When you agree with it, press **{agree}** "
            "to become a contributor. Then **{introduce}**, so that we get to know you. Contributors can "
            "later ask to become members with `/member apply`.",
            agree=agree,
            introduce=introduce,
        ).render(language)
        heading = _("**Our charter (version {version})**", version=settings.charter_version).render(language)
        room = EMBED_DESCRIPTION_LIMIT - len(steps) - len(heading) - 4
        description = f"{steps}\n\n{heading}\n{shorten(settings.charter_text, room)}"
    else:
        description = _(
            "Our charter is still being written: you'll be asked to agree to it when it's ready. "
            "Meanwhile, **{introduce}**, so that we get to know you.",
            introduce=introduce,
        ).render(language)
    title = _("Welcome to {server}!", server=guild_name).render(language)
    return discord.Embed(title=shorten(title, EMBED_TITLE_LIMIT), description=description, colour=COLOUR)


def charter_announcement(settings: CoopSettings, guild_name: str, *, first: bool) -> str:
    if first:
        return (
            f"📜 **{guild_name} has a charter** (version {settings.charter_version}). Please read it, and "
            "press **I agree to the charter** when you agree with it."
        )
    return (
        f"📜 **The charter of {guild_name} has changed: it is now version {settings.charter_version}.** "
        "Members and contributors, please read it again and press **I agree to the charter** to agree to "
        "this version."
    )


def _local_time(timezone: str | None, now: datetime) -> str | None:
    if not timezone:
        return None
    try:
        local = now.astimezone(parse_timezone(timezone))
    except InvalidInput:  # a zone this system no longer knows: show the name alone
        return timezone
    return f"{timezone} (now {local:%H:%M})"


def profile_embed(
    row: Member | None,
    *,
    user: discord.abc.User,
    standing: MemberStatus,
    settings: CoopSettings,
    now: datetime,
) -> discord.Embed:
    """A person's profile as others see it."""
    name = row.display_name if row and row.display_name else user.display_name
    embed = discord.Embed(title=shorten(plain(name), EMBED_TITLE_LIMIT), colour=COLOUR)
    _thumbnail(embed, user)
    status = STANDING_LABELS[standing]
    if row is not None and row.status == MemberStatus.MEMBER and row.admitted_at and standing == "member":
        status += f" since {discord_timestamp(row.admitted_at, 'D')}"
    embed.add_field(name="In the cooperative", value=f"{status} · {user.mention}")
    if row is None or row.introduced_at is None:
        embed.description = f"{user.display_name} has not introduced themselves yet."
    else:
        for title, text in (
            ("What they do", row.what_they_do),
            ("Skills", row.skills),
            ("What brings them here", row.why),
        ):
            if text:
                embed.add_field(
                    name=title, value=shorten(plain(shorten(text, 900)), FIELD_LIMIT), inline=False
                )
        local = _local_time(row.member_timezone, now)
        if local:
            embed.add_field(name="Timezone", value=local)
    if has_charter(settings):
        if row is not None and row.charter_version and row.charter_accepted_at:
            agreed = f"Version {row.charter_version}, {discord_timestamp(row.charter_accepted_at, 'D')}"
            if row.charter_version != settings.charter_version:
                agreed += f" (the charter is now at version {settings.charter_version})"
        else:
            agreed = "Not yet"
        embed.add_field(name="Agreed to the charter", value=agreed)
    return embed


def introduction_embed(row: Member, user: discord.abc.User) -> discord.Embed:
    """Posted in the welcome channel after the first introduction."""
    embed = discord.Embed(
        title=shorten(f"👋 Meet {plain(row.display_name or user.display_name)}", EMBED_TITLE_LIMIT),
        colour=COLOUR,
    )
    _thumbnail(embed, user)
    for title, text in (
        ("What they do", row.what_they_do),
        ("Skills", row.skills),
        ("What brings them here", row.why),
        ("Timezone", row.member_timezone),
    ):
        if text:
            embed.add_field(name=title, value=shorten(plain(shorten(text, 900)), FIELD_LIMIT), inline=False)
    return embed


def _thumbnail(embed: discord.Embed, user: discord.abc.User) -> None:
    """The person's own picture, when they have one. A default avatar is left out: it adds nothing, and
    where Discord's image servers are not reachable (the sandbox) it shows as "thumbnail unavailable"."""
    if user.avatar is not None:
        embed.set_thumbnail(url=user.avatar.url)


@dataclass(frozen=True)
class DirectoryEntry:
    user_id: int
    name: str
    standing: MemberStatus


def directory_embed(
    entries: list[DirectoryEntry],
    rows: dict[int, Member],
    *,
    page: int,
    pages: int,
    total: int,
    heading: str,
) -> discord.Embed:
    lines = []
    for entry in entries:
        row = rows.get(entry.user_id)
        name = row.display_name if row and row.display_name else entry.name
        line = f"**{shorten(name, 80)}** · <@{entry.user_id}> · {STANDING_LABELS[entry.standing]}"
        if row and row.what_they_do:
            line += f"\n{plain(shorten(' '.join(row.what_they_do.split()), 120))}"
        if row and row.skills:
            line += f"\n*Skills:* {plain(shorten(' '.join(row.skills.split()), 150))}"
        lines.append(line)
    embed = discord.Embed(
        title=shorten(heading, EMBED_TITLE_LIMIT),
        description=shorten("\n\n".join(lines), EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR,
    )
    embed.set_footer(text=f"Page {page + 1} of {pages} · {total} {'person' if total == 1 else 'people'}")
    return embed
