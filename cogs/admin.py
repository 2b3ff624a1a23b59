"""Cooperative administration: /coop setup, settings, audit, export and webhooks. Other capabilities may add
commands of their own to /coop (as onboarding adds /coop charter): see cogs/_moderation.py."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import CoopBot
from cogs._base import CoopCog
from cogs._common import QueryPagedView, actor_of, guild_id_of, language_for, requires, send_ephemeral
from cogs._moderation import contributed_coop_commands
from cogs._scheduling import DueHandler
from cogs._text import EMBED_DESCRIPTION_LIMIT, FIELD_LIMIT, one_line, shorten
from governance import audit, coop, export, outbox, webhooks
from governance.decision_types import DECISION_TYPES, get_type
from governance.errors import InvalidInput
from governance.i18n import LANGUAGES, N_, SOURCE, Text, Translated, _, _n, translate
from governance.money import currency_label, format_amount, suggest_currencies
from governance.outbound import Outbound
from governance.permissions import require_moderator
from governance.records import MAX_ID, AuditEvent, CoopSettings
from governance.timeparse import (
    Duration,
    discord_timestamp,
    parse_timezone,
    parse_when,
    suggest_timezones,
)

log = logging.getLogger("coopbot.admin")
WEBHOOK_EVENT_CHOICES = [
    app_commands.Choice(name=name, value=name) for name in sorted(webhooks.EVENTS.values())
]

DECISION_TYPE_CHOICES = [
    app_commands.Choice(name=decision_type.label, value=kind.value)
    for kind, decision_type in DECISION_TYPES.items()
]
# Each language by its own name, as its speakers look for it.
LANGUAGE_CHOICES = [app_commands.Choice(name=name, value=code) for code, name in LANGUAGES.items()]


# The refusals of a role that can't be one of the cooperative's, by the role it was given for.
_EVERYONE_REFUSALS: dict[str, Text] = {
    "member": _("The member role must be a specific role, not @everyone."),
    "contributor": _("The contributor role must be a specific role, not @everyone."),
    "moderator": _("The moderator role must be a specific role, not @everyone."),
    "treasurer": _("The treasurer role must be a specific role, not @everyone."),
}
_MANAGED_REFUSALS: dict[str, Callable[[str], Text]] = {
    "member": lambda role: _("{role} is managed by an integration and can't be the member role.", role=role),
    "contributor": lambda role: _(
        "{role} is managed by an integration and can't be the contributor role.", role=role
    ),
    "moderator": lambda role: _(
        "{role} is managed by an integration and can't be the moderator role.", role=role
    ),
    "treasurer": lambda role: _(
        "{role} is managed by an integration and can't be the treasurer role.", role=role
    ),
}


def _assignable(role: discord.Role | None, label: str) -> int | None:
    """Refuse roles that Discord will not let anyone be given or that mean everyone (`label`: member,
    contributor, moderator or treasurer)."""
    if role is None:
        return None
    if role.is_default():
        raise InvalidInput(_EVERYONE_REFUSALS[label])
    if role.managed:
        raise InvalidInput(_MANAGED_REFUSALS[label](role.name))
    return role.id


def _mention_channel(channel_id: int | None, language: str = SOURCE) -> str:
    return f"<#{channel_id}>" if channel_id else _("not set").render(language)


def _mention_role(role_id: int | None, language: str = SOURCE) -> str:
    return f"<@&{role_id}>" if role_id else _("not set").render(language)


def settings_embed(settings: CoopSettings, *, title: Text, language: str = SOURCE) -> discord.Embed:
    """The cooperative's settings, for a moderator (in their `language`)."""

    def say(text: Text | Duration) -> str:
        return text.render(language)

    def channel(channel_id: int | None) -> str:
        return _mention_channel(channel_id, language)

    def role(role_id: int | None) -> str:
        return _mention_role(role_id, language)

    decision_type = get_type(settings.default_decision_type)
    embed = discord.Embed(title=say(title), colour=discord.Colour.green())
    embed.add_field(name=say(_("Governance channel")), value=channel(settings.governance_channel_id))
    embed.add_field(name=say(_("Welcome channel")), value=channel(settings.welcome_channel_id))
    embed.add_field(name=say(_("Timezone")), value=settings.timezone)
    embed.add_field(name=say(_("Member role")), value=role(settings.member_role_id))
    embed.add_field(name=say(_("Contributor role")), value=role(settings.contributor_role_id))
    embed.add_field(name=say(_("Moderator role")), value=role(settings.moderator_role_id))
    embed.add_field(name=say(_("Treasurer role")), value=role(settings.treasurer_role_id))
    embed.add_field(
        name=say(_("Who moves money")),
        value=say(_("Treasurers and moderators"))
        if settings.moderators_are_treasurers
        else say(_("Treasurers only")),
    )
    embed.add_field(name=say(_("Currency")), value=settings.currency)
    embed.add_field(
        name=say(_("Language")),
        # Each language by its own name, as its speakers know it.
        value=LANGUAGES[settings.language] if settings.language else say(_("The server's language")),
    )
    default_open = Duration(coop.default_open_time(settings, decision_type.kind.value))
    embed.add_field(
        name=say(_("Default decision")),
        value=say(
            _(
                "{decision_type}, open {duration}",
                decision_type=Translated(decision_type.label),
                duration=default_open,
            )
        ),
    )
    chosen = [
        f"{translate(get_type(kind).label, language)}: {say(Duration(timedelta(seconds=seconds)))}"
        for kind, seconds in sorted(settings.decision_seconds.items())
        if kind != decision_type.kind.value
    ]
    if chosen:
        embed.add_field(name=say(_("Open by default")), value="\n".join(chosen))
    if not coop.is_configured(settings):
        embed.set_footer(
            text=say(_("Set at least a governance channel and a member role to start deciding together."))
        )
    return embed


# How far back /coop settings shows the messages the bot gave up delivering.
UNDELIVERED_SHOWN_FOR = timedelta(days=7)
_OWED_WORDS: dict[str, Callable[[str], Text]] = {
    "decision-closed": lambda number: _("the result of proposal #{number}", number=number),
    "closing-soon": lambda number: _("the closing-soon reminder of proposal #{number}", number=number),
    "reminder-run": lambda number: _("a run of reminder #{number}", number=number),
    "stale-request": lambda number: _("the treasurers' notice about request #{number}", number=number),
}


def undelivered_text(count: int, latest: list[outbox.Undelivered], language: str = SOURCE) -> str:
    """What moderators read about the messages given up: how many, and the latest with why (the error as
    Discord gave it)."""
    heading = _n(
        "{count} message in the last {days} days:",
        "{count} messages in the last {days} days:",
        count,
        days=UNDELIVERED_SHOWN_FOR.days,
    )
    lines = [heading.render(language)]
    for item in latest:
        found = re.search(r":(\d+)", item.key)
        number = found.group(1) if found else "?"
        owed = _OWED_WORDS.get(item.kind)
        words = owed(number).render(language) if owed is not None else f"{item.kind} {number}"
        lines.append(f"• {words}, {discord_timestamp(item.at, 'R')}: {one_line(item.error, 200)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class _Permissions:
    """Discord permissions' names (marked with ``N_``), listed in the reader's language."""

    names: tuple[str, ...]

    def render(self, language: str) -> str:
        return ", ".join(translate(name, language) for name in self.names)

    def __str__(self) -> str:
        return self.render(SOURCE)


def _usable_channel(channel: discord.TextChannel | None, purpose: str) -> int | None:
    """Refuse a channel the bot could not work in, now rather than at the first proposal (`purpose`:
    governance or welcome). The permissions are named as Discord names them, in the reader's language."""
    if channel is None:
        return None
    permissions = channel.permissions_for(channel.guild.me)
    needed = {
        N_("View Channel"): permissions.view_channel,
        N_("Send Messages"): permissions.send_messages,
        N_("Embed Links"): permissions.embed_links,
        N_("Create Public Threads"): permissions.create_public_threads,
        N_("Send Messages in Threads"): permissions.send_messages_in_threads,
    }
    missing = tuple(name for name, granted in needed.items() if not granted)
    if missing:
        values = {"channel": channel.mention, "permissions": _Permissions(missing)}
        if purpose == "welcome":
            raise InvalidInput(
                _("I can't work in {channel} as the welcome channel: I need {permissions} there.", **values)
            )
        raise InvalidInput(
            _("I can't work in {channel} as the governance channel: I need {permissions} there.", **values)
        )
    return channel.id


# --- the audit log's lines --------------------------------------------------------------------------

# Every line of a full page fits the embed, newlines included.
AUDIT_LINE_LIMIT = (EMBED_DESCRIPTION_LIMIT - audit.PAGE_SIZE) // audit.PAGE_SIZE
TYPED_LIMIT = 80  # of a reason, a title… within a line
_PEOPLE = {"member_id", "sponsor_id", "user_id"}
_LABELS = {"decision_id": "proposal", "request_reopened": "reopened request"}
# The details of audit events are shown as recorded, in English, like the actions' names: they are the
# record itself, not the bot's words (see `audit_line`).
Summary = Callable[[Mapping[str, Any]], str]


def _label(key: str) -> str:
    return _LABELS.get(key) or key.removesuffix("_id").replace("_", " ")


def _moment(text: str) -> datetime | None:
    """An ISO date and time with its offset (as details store them), else None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if "T" in text and moment.tzinfo is not None else None


def _shown(key: str, value: Any) -> str:
    """One value of an event's details: ids as mentions or numbers, times in each reader's timezone, text
    on one line with its markdown escaped (it was typed by someone, it must not restyle the log)."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and key.endswith("role_id"):
        return f"<@&{value}>"
    if isinstance(value, int) and key.endswith("channel_id"):
        return f"<#{value}>"
    if isinstance(value, int) and key in _PEOPLE:
        return f"<@{value}>"
    if isinstance(value, int) and key.endswith("_id"):
        return f"#{value}"
    if isinstance(value, list):
        return ", ".join(_shown(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(_parts(value))
    moment = _moment(value) if isinstance(value, str) else None
    if moment is not None:
        return discord_timestamp(moment, "f")
    return discord.utils.escape_markdown(one_line(str(value), TYPED_LIMIT))


def _change(details: Mapping[str, Any], before: str, after: str, *, of: str = "") -> str:
    """`from → to`, or the one of them that is there; `of` the setting changed (its values show as it)."""
    was = _shown(of or before, details.get(before))
    now = _shown(of or after, details.get(after))
    if before not in details:
        return f"to {now}"
    if after not in details:
        return f"from {was}"
    return f"{was} → {now}"


def _typed(key: str) -> Summary:
    """Text a person typed (a reason, a title), quoted as they wrote it."""
    return lambda details: f"{_label(key)} “{_shown(key, details[key])}”"


def _result(details: Mapping[str, Any]) -> str:
    if details.get("outcome"):
        shown = f"“{_shown('outcome', details['outcome'])}”"
    elif details.get("passed") is not None:
        shown = "passed" if details["passed"] else "not passed"
    else:
        shown = "no result"
    return shown + (", closed early" if details.get("early") else "")


def _amounts(details: Mapping[str, Any]) -> str:
    """Amounts are minor units of the currency beside them (shown as 12.50 NZD); without one, as stored."""
    currency = details.get("currency")

    def amount(value: Any) -> str:
        if isinstance(currency, str) and isinstance(value, int) and not isinstance(value, bool):
            try:
                return format_amount(value, currency)
            except InvalidInput:
                pass
        return f"{_shown('amount', value)} (minor units)"

    if details.get("amount") is not None:
        return f"amount {amount(details['amount'])}"
    if details.get("amount_max") is not None:
        return f"amount {amount(details.get('amount_min'))} to {amount(details['amount_max'])}"
    if details.get("amount_min") is not None:
        return f"amount {amount(details['amount_min'])}"
    return f"currency {_shown('currency', currency)}"


# The keys that read better together or in their own words, most telling first; the others follow as
# `key value`, by name. A line that is too long loses its last parts, not its first.
_SUMMARIES: tuple[tuple[tuple[str, ...], Summary], ...] = (
    (("reason",), _typed("reason")),
    (("outcome", "passed", "early"), _result),
    (("from", "to"), lambda details: _change(details, "from", "to")),
    (
        ("from_version", "to_version"),
        lambda details: "version " + _change(details, "from_version", "to_version"),
    ),
    (("amount", "amount_min", "amount_max", "currency"), _amounts),
    (("title",), _typed("title")),
    (("statement",), _typed("statement")),
    (("purpose",), _typed("purpose")),
    (("note",), _typed("note")),
    (("reference",), _typed("reference")),
)
_SUMMARISED = {key for keys, _summary in _SUMMARIES for key in keys}


def _parts(details: Mapping[str, Any]) -> list[str]:
    """What an event's details say, in short parts (empty details, no parts)."""
    parts = [
        summary(details) for keys, summary in _SUMMARIES if any(details.get(key) is not None for key in keys)
    ]
    for key in sorted(set(details) - _SUMMARISED):
        value = details[key]
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, dict) and not {"from", "to"} <= set(value):
            parts.extend(_parts(value))  # e.g. {"changed": {"timezone": {...}, ...}}: each change its part
        elif isinstance(value, dict):
            parts.append(f"{_label(key)} {_change(value, 'from', 'to', of=key)}")
        else:
            parts.append(f"{_label(key)} {_shown(key, value)}")
    return parts


def audit_line(event: AuditEvent) -> str:
    """One event of /coop audit: when, what, about what, by whom, and what its details say, on one line
    of at most AUDIT_LINE_LIMIT characters."""
    kind, _colon, subject_id = event.subject.partition(":")
    subject = (
        f"<@{subject_id}>"
        if kind == "member" and subject_id.isdigit()
        else discord.utils.escape_markdown(event.subject)
    )
    actor = f"<@{event.actor_id}>" if event.actor_id else "coopbot"
    head = f"{discord_timestamp(event.created_at, 'f')} · **{event.action}** {subject} · {actor}"
    parts = _parts(event.details)
    whole = f"{head} · {', '.join(parts)}" if parts else head
    if len(whole) <= AUDIT_LINE_LIMIT:
        return whole
    # Too long: the first parts that fit, whole (a mention or a time cut in two would show as code).
    line, room = head, AUDIT_LINE_LIMIT - len(" …")
    for number, part in enumerate(parts):
        addition = f" · {part}" if number == 0 else f", {part}"
        if len(line) + len(addition) > room:
            break
        line += addition
    return line + " …"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class CoopAdmin(
    CoopCog, commands.GroupCog, group_name="coop", group_description="Set up and run the cooperative"
):
    webhooks_group = app_commands.Group(
        name="webhooks", description="Tell other tools what the cooperative decides"
    )
    outbound: Outbound  # how webhook URLs are checked and sent to
    sending: set[asyncio.Task[None]]  # webhook deliveries in flight

    async def cog_load(self) -> None:
        self.outbound = Outbound(
            timeout=self.bot.settings.webhook_timeout_seconds,
            allow_loopback=self.bot.settings.webhooks_allow_http_localhost,
        )
        self.sending = set()
        self.bot.webhooks.register(DueHandler("webhooks", self._deliver_webhooks, self._next_delivery))
        # /coop is made anew with this cog: take in the commands that the cogs loaded before it keep here.
        group = self.app_command
        assert group is not None
        for command in contributed_coop_commands(self.bot):
            group.add_command(command, override=True)

    async def cog_unload(self) -> None:
        self.bot.webhooks.unregister("webhooks")
        # A delivery cut short was claimed with its attempt counted: it is tried again when its lease ends.
        for task in self.sending:
            task.cancel()
        await asyncio.gather(*self.sending, return_exceptions=True)

    @app_commands.command(name="setup")
    @requires(require_moderator)
    @app_commands.describe(
        governance_channel="Where proposals are posted and discussed",
        welcome_channel="Where newcomers are welcomed",
        member_role="The role of full members (they vote by default)",
        contributor_role="The role of contributors (accepted the charter, not yet members)",
        moderator_role="The role that may run moderator commands",
        treasurer_role="The role that confirms contributions and records payouts",
        timezone="The cooperative's timezone, e.g. Pacific/Auckland",
        currency="Default currency (ISO 4217), e.g. NZD",
        default_decision_type="The decision type used when none is chosen",
        default_duration="How long decisions stay open by default, e.g. 3d or 1w",
        moderators_are_treasurers="Let moderators move money as treasurers do (off by default)",
        language="The language of the bot's public posts (default: the server's language)",
    )
    @app_commands.choices(default_decision_type=DECISION_TYPE_CHOICES, language=LANGUAGE_CHOICES)
    async def setup_command(
        self,
        interaction: discord.Interaction[CoopBot],
        governance_channel: discord.TextChannel | None = None,
        welcome_channel: discord.TextChannel | None = None,
        member_role: discord.Role | None = None,
        contributor_role: discord.Role | None = None,
        moderator_role: discord.Role | None = None,
        treasurer_role: discord.Role | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        currency: app_commands.Range[str, 1, 16] | None = None,
        default_decision_type: str | None = None,
        default_duration: app_commands.Range[str, 1, 32] | None = None,
        moderators_are_treasurers: bool | None = None,
        language: str | None = None,
    ) -> None:
        """Configure channels, roles, timezone, currency, language, decision defaults and who moves money."""
        guild_id = guild_id_of(interaction)
        changes = coop.SetupChanges(
            governance_channel_id=_usable_channel(governance_channel, "governance"),
            welcome_channel_id=_usable_channel(welcome_channel, "welcome"),
            member_role_id=_assignable(member_role, "member"),
            contributor_role_id=_assignable(contributor_role, "contributor"),
            moderator_role_id=_assignable(moderator_role, "moderator"),
            treasurer_role_id=_assignable(treasurer_role, "treasurer"),
            timezone=timezone,
            currency=currency,
            default_decision_type=default_decision_type,
            default_duration=default_duration,
            moderators_are_treasurers=moderators_are_treasurers,
            language=language,
        )
        settings = await coop.configure_guild(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            changes=changes,
            now=self._now(),
        )
        await interaction.response.send_message(
            embed=settings_embed(
                settings, title=_("Cooperative settings saved"), language=language_for(interaction)
            ),
            ephemeral=True,
        )

    @app_commands.command(name="duration")
    @requires(require_moderator)
    @app_commands.describe(
        type="The decision type",
        duration="How long its decisions stay open when no closing time is given, e.g. 2d; "
        "'default' to go back to the usual time",
    )
    @app_commands.choices(type=DECISION_TYPE_CHOICES)
    async def duration_command(
        self,
        interaction: discord.Interaction[CoopBot],
        type: str,
        duration: app_commands.Range[str, 1, 32],
    ) -> None:
        """Set how long decisions of one type stay open by default."""
        guild_id = guild_id_of(interaction)
        settings = await coop.set_decision_duration(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            kind=type,
            duration=None if duration.strip().casefold() == "default" else duration,
            now=self._now(),
        )
        open_time = Duration(coop.default_open_time(settings, type))
        await send_ephemeral(
            interaction,
            _(
                "{decision_type} decisions now stay open {duration} unless given a closing time.",
                decision_type=Translated(get_type(type).label),
                duration=open_time,
            ),
        )

    @app_commands.command(name="settings")
    @requires(require_moderator)
    async def settings_command(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Show the cooperative's current settings."""
        guild_id = guild_id_of(interaction)
        settings = await self._settings(guild_id)
        language = language_for(interaction)
        embed = settings_embed(settings, title=_("Cooperative settings"), language=language)
        since = self._now() - UNDELIVERED_SHOWN_FOR
        count, latest = await outbox.undelivered(self.bot.database, guild_id, since)
        if count:
            embed.add_field(
                name=_("Could not be delivered").render(language),
                value=shorten(undelivered_text(count, latest, language), FIELD_LIMIT),
                inline=False,
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @setup_command.autocomplete("timezone")
    async def _timezone_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in suggest_timezones(current, limit=25)]

    @setup_command.autocomplete("currency")
    async def _currency_autocomplete(
        self, interaction: discord.Interaction[CoopBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=currency_label(code, language_for(interaction)), value=code)
            for code in suggest_currencies(current, limit=25, language=language_for(interaction))
        ]

    # --- audit --------------------------------------------------------------------------------------

    @app_commands.command(name="audit")
    @requires(require_moderator)
    @app_commands.describe(
        action="Only actions starting with this, e.g. decision, fund.request, member",
        user="Only what this person did",
        about="Only what was about this person (joining, the charter, applying, their standing…)",
        since="Only since this date or time ago, e.g. 2026-11-01 or 7d ago",
        page="Page (15 per page, newest first)",
    )
    async def audit_log(
        self,
        interaction: discord.Interaction[CoopBot],
        action: app_commands.Range[str, 1, 64] | None = None,
        user: discord.User | None = None,
        about: discord.User | None = None,
        since: app_commands.Range[str, 1, 40] | None = None,
        page: app_commands.Range[int, 1, 100_000] = 1,
    ) -> None:
        """The audit log: every governance action, who did it, what it was and when."""
        guild_id = guild_id_of(interaction)
        now = self._now()
        since_moment = await self._since(guild_id, since, now) if since else None
        query = {
            "guild_id": guild_id,
            "actions": action.strip().lower() if action else None,
            "actor_id": user.id if user else None,
            "subject": f"member:{about.id}" if about else None,
            "since": since_moment,
        }
        language = language_for(interaction)
        await QueryPagedView(partial(self.audit_page, query, language), page=page - 1).send(interaction)

    async def audit_page(self, query: dict[str, Any], language: str, page: int) -> tuple[discord.Embed, int]:
        """One page of the audit log for `query`, and how many pages there are (its frame in the reader's
        `language`; the events as recorded)."""
        found = await audit.search(self.bot.database, page=page, **query)
        lines = [audit_line(event) for event in found.events]
        embed = discord.Embed(
            title=_("Audit log").render(language),
            description="\n".join(lines) or _("Nothing matches.").render(language),
            colour=discord.Colour.dark_grey(),
        )
        # The English says "events" whatever the count (as it always has); other languages follow their
        # own plural rules.
        footer = _n(
            "Page {page} of {pages} · {count} events",
            "Page {page} of {pages} · {count} events",
            found.total,
            page=found.page + 1,
            pages=found.pages,
        ).render(language)
        if found.pages > 1:
            footer += " · " + _("◀️ ▶️ below, or the page option").render(language)
        embed.set_footer(text=footer)
        return embed, found.pages

    async def _since(self, guild_id: int, text: str, now: datetime) -> datetime:
        """A past moment: "7d ago"/"7d" counts back from now, a date is read in the guild's timezone."""
        cleaned = text.strip().lower().removesuffix(" ago")
        settings = await coop.get_settings(self.bot.database, guild_id, now)
        tz = parse_timezone(settings.timezone)
        try:
            ahead = parse_when(cleaned, now=now - timedelta(days=3660), tz=tz)
        except InvalidInput:
            raise InvalidInput(_("“since” takes a date like 2026-11-01 or a span like 7d.")) from None
        if cleaned[:1].isdigit() and not any(sep in cleaned for sep in "-/:"):
            # A span: parse_when measured it from ten years ago; measure it back from now instead.
            return now - (ahead - (now - timedelta(days=3660)))
        return ahead

    # --- export -------------------------------------------------------------------------------------

    @app_commands.command(name="export")
    @requires(require_moderator)
    async def export_command(self, interaction: discord.Interaction[CoopBot]) -> None:
        """Export the cooperative's whole record (JSON and CSV files)."""
        assert interaction.guild is not None
        now = self._now()
        await export.authorise_export(
            self.bot.database,
            guild_id=interaction.guild.id,
            actor=actor_of(interaction),
            now=now,
            limits=self.bot.limits,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        language = language_for(interaction)
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="coopbot-export-"))
        try:
            result = await export.export_guild(self.bot.database, interaction.guild.id, folder, now)
            if result.size <= interaction.guild.filesize_limit:
                files = [discord.File(path, filename=path.name) for path in result.files]
                record = _("The cooperative's record: {contents}.", contents=export.summary(result.rows))
                await interaction.followup.send(record.render(language), files=files, ephemeral=True)
                return
            settings = self.bot.settings
            kept = await asyncio.to_thread(
                export.keep_export,
                folder,
                settings.data_dir / "exports",
                interaction.guild.id,
                now,
                keep_days=settings.export_keep_days,
                keep_mb=settings.export_keep_mb,
            )
            size = f"{result.size / 1_000_000:.1f}"
            command = f"coopbot export --guild {interaction.guild.id} --out DIR"
            too_big = _n(
                "The export is {size} MB, more than Discord accepts here. The bot's operator keeps it as "
                "`{file}` for {count} day, and can make a full copy any time with `{command}`.",
                "The export is {size} MB, more than Discord accepts here. The bot's operator keeps it as "
                "`{file}` for {count} days, and can make a full copy any time with `{command}`.",
                settings.export_keep_days,
                size=size,
                file=kept.name,
                command=command,
            )
            await interaction.followup.send(too_big.render(language), ephemeral=True)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    # --- webhooks -----------------------------------------------------------------------------------

    @webhooks_group.command(name="add")
    @requires(require_moderator)
    @app_commands.describe(
        url="The https:// address to POST events to", event="Only this event (default: all)"
    )
    @app_commands.choices(event=WEBHOOK_EVENT_CHOICES)
    async def webhook_add(
        self,
        interaction: discord.Interaction[CoopBot],
        url: app_commands.Range[str, 1, 500],
        event: str | None = None,
    ) -> None:
        """Send events (decision closed, request approved or paid, member admitted) to another tool."""
        guild_id = guild_id_of(interaction)
        added = await webhooks.add_webhook(
            self.bot.database,
            guild_id=guild_id,
            actor=actor_of(interaction),
            url=url,
            events=[event] if event else None,
            now=self._now(),
            outbound=self.outbound,
        )
        lines = [
            _(
                "Webhook #{number} added for {events}.",
                number=added.webhook.id,
                events=", ".join(added.webhook.events),
            ),
            _("Its signing secret, shown only now: `{secret}`", secret=added.secret),
            _(
                "Each POST carries `{header}: sha256=<HMAC-SHA256 of the body>`, made with this secret.",
                header=webhooks.SIGNATURE_HEADER,
            ),
        ]
        if not added.looked_up:
            lines.append(_("I could not look its host name up now: it is checked before each delivery."))
        language = language_for(interaction)
        await send_ephemeral(interaction, "\n".join(line.render(language) for line in lines))

    @webhooks_group.command(name="list")
    @requires(require_moderator)
    async def webhook_list(self, interaction: discord.Interaction[CoopBot]) -> None:
        """The webhooks and how their deliveries went."""
        guild_id = guild_id_of(interaction)
        statuses = await webhooks.list_webhooks(self.bot.database, guild_id)
        language = language_for(interaction)
        lines = []
        for status in statuses:
            counts = {"delivered": status.delivered, "pending": status.pending, "failed": status.failed}
            if status.last_error:
                deliveries = _(
                    "delivered {delivered} · pending {pending} · failed {failed} · last error: {error}",
                    error=translate(status.last_error, language)[:200],
                    **counts,
                )
            else:
                deliveries = _("delivered {delivered} · pending {pending} · failed {failed}", **counts)
            lines.append(
                f"**#{status.webhook.id}** {status.webhook.url} · {', '.join(status.webhook.events)}\n"
                + deliveries.render(language)
            )
        await send_ephemeral(
            interaction, "\n".join(lines)[:2000] or _("No webhooks yet: /coop webhooks add.").render(language)
        )

    @webhooks_group.command(name="remove")
    @requires(require_moderator)
    @app_commands.describe(webhook="The webhook's number (see /coop webhooks list)")
    async def webhook_remove(
        self, interaction: discord.Interaction[CoopBot], webhook: app_commands.Range[int, 1, MAX_ID]
    ) -> None:
        """Stop sending events to a webhook."""
        guild_id = guild_id_of(interaction)
        removed = await webhooks.remove_webhook(
            self.bot.database,
            guild_id=guild_id,
            webhook_id=webhook,
            actor=actor_of(interaction),
            now=self._now(),
        )
        await send_ephemeral(interaction, _("Webhook #{number} removed.", number=removed.id))

    @webhooks_group.command(name="test")
    @requires(require_moderator)
    @app_commands.describe(webhook="The webhook's number (see /coop webhooks list)")
    async def webhook_test(
        self, interaction: discord.Interaction[CoopBot], webhook: app_commands.Range[int, 1, MAX_ID]
    ) -> None:
        """Send a test event (ping) to a webhook."""
        guild_id = guild_id_of(interaction)
        delivery_id = await webhooks.queue_test_event(
            self.bot.database,
            guild_id=guild_id,
            webhook_id=webhook,
            actor=actor_of(interaction),
            now=self._now(),
            outbound=self.outbound,
            limits=self.bot.limits,
        )
        self.bot.webhooks.wake_soon()
        await send_ephemeral(
            interaction,
            _(
                "A test event is on its way (delivery `{delivery}`); see /coop webhooks list.",
                delivery=delivery_id,
            ),
        )

    async def _next_delivery(self) -> datetime | None:
        return await webhooks.next_due(self.bot.database, self._served_guilds())

    async def _deliver_webhooks(self, now: datetime) -> None:
        await webhooks.fan_out(self.bot.database, now, self._served_guilds())
        # Each claimed delivery is sent on its own and not awaited here: this run (and the due runner's lock
        # around it) ends at once, so a slow receiver delays no other delivery; the lease keeps the next run
        # from claiming it again meanwhile.
        for attempt in await webhooks.claim_due(self.bot.database, now, self._served_guilds()):
            task = asyncio.create_task(self._deliver_webhook(attempt))
            self.sending.add(task)
            task.add_done_callback(self._sent)

    async def _deliver_webhook(self, attempt: webhooks.Attempt) -> None:
        """One delivery attempt, and its outcome recorded (Outbound.post says which failures are retried)."""
        outcome = await self.outbound.post(attempt.url, attempt.body, attempt.headers)
        retry_at = await webhooks.record_outcome(
            self.bot.database, attempt, self._now(), error=outcome.error, retry=outcome.retry
        )
        if retry_at is not None:
            self.bot.webhooks.wake_at(retry_at)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Recording failed (the database): the lease ends and the delivery is tried again.
            log.error("Could not record a webhook delivery", exc_info=task.exception())


async def setup(bot: CoopBot) -> None:
    await bot.add_cog(CoopAdmin(bot))
