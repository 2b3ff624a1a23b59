"""How onboarding looks in Discord: the welcome, the charter, a profile, the directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from cogs._text import EMBED_DESCRIPTION_LIMIT, EMBED_TITLE_LIMIT, FIELD_LIMIT, plain, shorten
from cogs.onboarding._items import AGREE_LABEL, INTRODUCE_LABEL
from governance.errors import InvalidInput
from governance.i18n import N_, SOURCE, Text, _, _n, translate
from governance.records import CoopSettings, Member, MemberStatus
from governance.timeparse import discord_timestamp, parse_timezone

COLOUR = discord.Colour.teal()

STANDING_LABELS = {
    MemberStatus.MEMBER: N_("Member"),
    MemberStatus.CONTRIBUTOR: N_("Contributor"),
    MemberStatus.VISITOR: N_("Visitor"),
    MemberStatus.DEPARTED: N_("Left"),
}


def has_charter(settings: CoopSettings) -> bool:
    return settings.charter_version >= 1 and bool(settings.charter_text)


def charter_embed(settings: CoopSettings, guild_name: str, language: str = SOURCE) -> discord.Embed:
    """The charter as written (in the words the cooperative wrote it), its heading in `language`."""
    embed = discord.Embed(
        title=shorten(_("The charter of {server}", server=guild_name).render(language), EMBED_TITLE_LIMIT),
        description=shorten(settings.charter_text, EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR,
    )
    embed.set_footer(text=_("Version {version}", version=settings.charter_version).render(language))
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


def charter_announcement(
    settings: CoopSettings, guild_name: str, *, first: bool, language: str = SOURCE
) -> str:
    """The post asking everyone to agree to a new charter version, in the cooperative's language."""
    agree = translate(AGREE_LABEL, language)
    if first:
        text = _(
            "**{server} has a charter** (version {version}). Please read it, and press **{agree}** when you "
            "agree with it.",
            server=guild_name,
            version=settings.charter_version,
            agree=agree,
        )
    else:
        text = _(
            "**The charter of {server} has changed: it is now version {version}.** Members and "
            "contributors, please read it again and press **{agree}** to agree to this version.",
            server=guild_name,
            version=settings.charter_version,
            agree=agree,
        )
    return f"📜 {text.render(language)}"


def _local_time(timezone: str | None, now: datetime, language: str = SOURCE) -> str | None:
    if not timezone:
        return None
    try:
        local = now.astimezone(parse_timezone(timezone))
    except InvalidInput:  # a zone this system no longer knows: show the name alone
        return timezone
    return _("{timezone} (now {time})", timezone=timezone, time=local.strftime("%H:%M")).render(language)


def profile_embed(
    row: Member | None,
    *,
    user: discord.abc.User,
    standing: MemberStatus,
    settings: CoopSettings,
    now: datetime,
    language: str = SOURCE,
) -> discord.Embed:
    """A person's profile as others see it (its headings in the reader's `language`)."""

    def say(text: Text) -> str:
        return text.render(language)

    name = row.display_name if row and row.display_name else user.display_name
    embed = discord.Embed(title=shorten(plain(name), EMBED_TITLE_LIMIT), colour=COLOUR)
    _thumbnail(embed, user)
    if row is not None and row.status == MemberStatus.MEMBER and row.admitted_at and standing == "member":
        status = say(_("Member since {date}", date=discord_timestamp(row.admitted_at, "D")))
    else:
        status = translate(STANDING_LABELS[standing], language)
    embed.add_field(name=say(_("In the cooperative")), value=f"{status} · {user.mention}")
    if row is None or row.introduced_at is None:
        embed.description = say(_("{person} has not introduced themselves yet.", person=user.display_name))
    else:
        for title, text in (
            (_("What they do"), row.what_they_do),
            (_("Skills"), row.skills),
            (_("What brings them here"), row.why),
        ):
            if text:
                embed.add_field(
                    name=say(title), value=shorten(plain(shorten(text, 900)), FIELD_LIMIT), inline=False
                )
        local = _local_time(row.member_timezone, now, language)
        if local:
            embed.add_field(name=say(_("Timezone")), value=local)
    if has_charter(settings):
        if row is not None and row.charter_version and row.charter_accepted_at:
            agreed_on = discord_timestamp(row.charter_accepted_at, "D")
            if row.charter_version != settings.charter_version:
                agreed = say(
                    _(
                        "Version {version}, {date} (the charter is now at version {current})",
                        version=row.charter_version,
                        date=agreed_on,
                        current=settings.charter_version,
                    )
                )
            else:
                agreed = say(_("Version {version}, {date}", version=row.charter_version, date=agreed_on))
        else:
            agreed = say(_("Not yet"))
        embed.add_field(name=say(_("Agreed to the charter")), value=agreed)
    return embed


def introduction_embed(row: Member, user: discord.abc.User, language: str = SOURCE) -> discord.Embed:
    """Posted in the welcome channel after the first introduction (in the cooperative's language)."""
    meet = _("Meet {person}", person=plain(row.display_name or user.display_name)).render(language)
    embed = discord.Embed(title=shorten(f"👋 {meet}", EMBED_TITLE_LIMIT), colour=COLOUR)
    _thumbnail(embed, user)
    for title, text in (
        (_("What they do"), row.what_they_do),
        (_("Skills"), row.skills),
        (_("What brings them here"), row.why),
        (_("Timezone"), row.member_timezone),
    ):
        if text:
            value = shorten(plain(shorten(text, 900)), FIELD_LIMIT)
            embed.add_field(name=title.render(language), value=value, inline=False)
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
    heading: Text,
    language: str = SOURCE,
) -> discord.Embed:
    """One page of the directory, in the reader's `language`."""
    lines = []
    for entry in entries:
        row = rows.get(entry.user_id)
        name = row.display_name if row and row.display_name else entry.name
        standing = translate(STANDING_LABELS[entry.standing], language)
        line = f"**{shorten(name, 80)}** · <@{entry.user_id}> · {standing}"
        if row and row.what_they_do:
            line += f"\n{plain(shorten(' '.join(row.what_they_do.split()), 120))}"
        if row and row.skills:
            skills = plain(shorten(" ".join(row.skills.split()), 150))
            line += "\n" + _("*Skills:* {skills}", skills=skills).render(language)
        lines.append(line)
    embed = discord.Embed(
        title=shorten(heading.render(language), EMBED_TITLE_LIMIT),
        description=shorten("\n\n".join(lines), EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR,
    )
    footer = _n(
        "Page {page} of {pages} · {count} person",
        "Page {page} of {pages} · {count} people",
        total,
        page=page + 1,
        pages=pages,
    )
    embed.set_footer(text=footer.render(language))
    return embed
