"""Issue 8, isolation: every command that takes an id (or a fund), tried by people of cooperative B on
cooperative A's objects, is refused exactly as for an id that never existed, reveals nothing of A, and
changes nothing; B's autocomplete, lists and exports never show A's objects.

Two cooperatives live in one simulated Discord. A holds a proposal, a fund, a pending and a confirmed
contribution (the latter with its ledger entry), a funding request, a channel reminder, a personal reminder
and a webhook, all with recognisable text and amounts. B holds a few objects of its own, so that its
autocomplete and lists have something to show. B's moderator and B's member run every command that has an
id or fund option (Discord's default-permission hint lifted for both, so only the bot decides), once with
A's reference and once with a reference that names nothing; the two answers must be the same apart from
the reference typed, A's rows must be exactly as they were, and no answer may mention A's titles, names,
amounts, notes or people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord
import pytest
import simcord
from discord import app_commands
from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel

from bot import CoopBot
from governance import decisions, funds, networks, proposing, reminders, rounds, webhooks
from governance.clock import ManualClock
from governance.funds import FundDraft
from governance.permissions import Actor
from governance.proposing import ProposalDraft
from storage.database import Database
from tests.cogs.helpers import EXPECTED, V, propose
from tests.conftest import Coop, build_coop, configure

# What A's objects say: none of it may ever reach B.
A_PROPOSAL = "Secret merger with Kauri Holdings"
A_FUND = "Hidden Reserve"
A_PENDING = "4,321.09"
A_ARRIVED = "8,765.43"
A_REQUEST = "1,357.91"
A_PURPOSE = "A yacht for the board"
A_NOTE = "bank ref ZX-81"
A_CHANNEL_REMINDER = "Confidential hui about salaries"
A_PERSONAL_REMINDER = "Private dentist appointment"
A_WEBHOOK = "https://a.example/secret-hook"
A_GUILD = "Kōwhai Collective"
A_NETWORK = "Kōwhai Secret Alliance"
A_ROUND = "Board bonus pool"
A_NETWORK_ROUND = "Alliance war chest"
A_BUCKET = "Gold-plated taps"
A_CONCERN = "Nobody asked the staff"

B_FUND = "Open Pot"
B_PROPOSAL = "Public picnic"
B_PURPOSE = "Picnic blankets"

NEVER = 987_654  # an id no object of any cooperative has
NEVER_FUND = "Nowhere Fund"
ID_OPTIONS = (
    "proposal",
    "fund",
    "contribution",
    "request",
    "entry",
    "reminder",
    "webhook",
    "round",
    "bucket",
    "concern",
)


@dataclass
class ObjectsOfA:
    proposal: int
    fund: int
    pending: int
    arrived: int
    entry: int
    request: int
    channel_reminder: int
    personal_reminder: int
    webhook: int
    round: int  # a round on A's own fund, and one on its network's fund
    network_round: int
    bucket: int
    network_bucket: int
    concern: int

    def references(self, option: str) -> list[object]:
        """What someone could type for `option` to name one of A's objects."""
        typed: dict[str, list[object]] = {
            "proposal": [self.proposal],
            "fund": [f"#{self.fund}", A_FUND],
            "contribution": [self.pending, self.arrived],
            "request": [self.request],
            "entry": [self.entry],
            "reminder": [self.channel_reminder, self.personal_reminder],
            "webhook": [self.webhook],
            "round": [self.round, self.network_round],
            "bucket": [self.bucket, self.network_bucket],
            "concern": [self.concern],
        }
        return typed[option]

    def ids(self, option: str) -> set[object]:
        """The values an autocomplete would offer for A's objects (ids, or the fund's name)."""
        values: dict[str, set[object]] = {
            "proposal": {self.proposal},
            "fund": {self.fund, A_FUND, f"#{self.fund}"},
            "contribution": {self.pending, self.arrived},
            "request": {self.request},
            "entry": {self.entry},
            "reminder": {self.channel_reminder, self.personal_reminder},
            "webhook": {self.webhook},
            "round": {self.round, self.network_round},
            "bucket": {self.bucket, self.network_bucket},
            "concern": {self.concern},
        }
        return values.get(option, set())


def never_used(reference: object) -> object:
    """A reference of the same kind that names nothing."""
    if isinstance(reference, int):
        return NEVER
    return f"#{NEVER}" if str(reference).startswith("#") else NEVER_FUND


def normalised(text: str, reference: object) -> str:
    """The answer with the typed reference taken out, to compare two answers about two references."""
    typed = f"#{reference}" if isinstance(reference, int) else str(reference)
    return text.replace(typed, "<ref>")


def actor(who: simcord.MemberActor, *roles: simcord.RoleHandle) -> Actor:
    return Actor(user_id=who.id, role_ids=frozenset(role.id for role in roles))


async def make_objects_of_a(coop: Coop, db: Database, clock: ManualClock) -> ObjectsOfA:
    """A's objects: the proposal posted as a member does it, the rest through the governance layer."""
    await propose(coop, coop.alice, A_PROPOSAL, "Keep this between us.", type="consent", closes="3d")
    [proposal] = await decisions.list_open(db, coop.guild.id)
    guild_id, now = coop.guild.id, clock.now()
    alice = actor(coop.alice, coop.member_role)
    tess = actor(coop.treasurer, coop.member_role, coop.treasurer_role)
    mo = actor(coop.moderator, coop.member_role, coop.moderator_role)
    fund = await funds.create_fund(
        db,
        guild_id=guild_id,
        actor=tess,
        draft=FundDraft(name=A_FUND, policy="treasurer", limit="5000", description="Only for us"),
        now=now,
    )
    pending = await funds.record_contribution(
        db,
        guild_id=guild_id,
        fund=A_FUND,
        actor=alice,
        amount=A_PENDING,
        idempotency_key="a-pending",
        now=now,
        note=A_NOTE,
    )
    arrived = await funds.record_contribution(
        db,
        guild_id=guild_id,
        fund=A_FUND,
        actor=tess,
        amount=A_ARRIVED,
        idempotency_key="a-arrived",
        now=now,
        member_id=alice.user_id,
        note=A_NOTE,
    )
    request = await funds.request_funds(
        db, guild_id=guild_id, fund=A_FUND, actor=alice, amount_min=A_REQUEST, purpose=A_PURPOSE, now=now
    )
    channel_reminder = await reminders.add_channel_reminder(
        db,
        guild_id=guild_id,
        actor=mo,
        channel_id=coop.governance.id,
        message=A_CHANNEL_REMINDER,
        schedule="every monday 09:00",
        now=now,
    )
    personal_reminder = await reminders.add_personal_reminder(
        db,
        guild_id=guild_id,
        actor=alice,
        channel_id=coop.governance.id,
        when="in 2h",
        message=A_PERSONAL_REMINDER,
        now=now,
    )
    hook = await webhooks.add_webhook(db, guild_id=guild_id, actor=mo, url=A_WEBHOOK, events=None, now=now)
    # A network of A's, with a fund named as A's own fund: B, outside it, must reach neither by that name.
    await networks.create_network(db, guild_id=guild_id, coop_name=A_GUILD, actor=mo, name=A_NETWORK, now=now)
    await networks.create_fund(
        db, guild_id=guild_id, actor=mo, network_name=None, name=A_FUND, currency="NZD", limit="1000", now=now
    )
    await networks.contribute(
        db,
        guild_id=guild_id,
        actor=tess,
        network_name=None,
        fund=A_FUND,
        from_fund=A_FUND,
        amount="500",
        idempotency_key="a-to-network",
        now=now,
    )
    # A's rounds: one on its own fund, one on its network's, each with a bucket; a concern on the first.
    made = []
    for title, network in ((A_ROUND, None), (A_NETWORK_ROUND, A_NETWORK)):
        draft = rounds.RoundDraft(
            title=title,
            fund=A_FUND,
            pot="100",
            ideas="2d",
            funding="3d",
            allocation="10",
            guidelines=("Only for the board",),
            network=network,
        )
        round_ = (await rounds.create_round(db, guild_id=guild_id, actor=tess, draft=draft, now=now)).round
        bucket = await rounds.propose_bucket(
            db,
            guild_id=guild_id,
            round_id=round_.id or 0,
            actor=alice,
            title=A_BUCKET,
            description="",
            budget="Taps: 50",
            now=now,
        )
        made.append((round_.id or 0, bucket.id or 0))
    concern = await rounds.raise_concern(
        db, guild_id=guild_id, bucket_id=made[0][1], actor=alice, guideline=1, text=A_CONCERN, now=now
    )
    assert arrived.entry is not None
    values = ObjectsOfA(
        proposal=proposal.id or 0,
        fund=fund.id or 0,
        pending=pending.contribution.id or 0,
        arrived=arrived.contribution.id or 0,
        entry=arrived.entry.id or 0,
        request=request.request.id or 0,
        channel_reminder=channel_reminder.id or 0,
        personal_reminder=personal_reminder.id or 0,
        webhook=hook.webhook.id or 0,
        round=made[0][0],
        network_round=made[1][0],
        bucket=made[0][1],
        network_bucket=made[1][1],
        concern=concern.id or 0,
    )
    assert all(vars(values).values())
    return values


@dataclass
class ObjectsOfB:
    proposal: int
    request: int
    contribution: int
    entry: int


async def make_objects_of_b(coop: Coop, db: Database, clock: ManualClock) -> ObjectsOfB:
    guild_id, now = coop.guild.id, clock.now()
    alice = actor(coop.alice, coop.member_role)
    tess = actor(coop.treasurer, coop.member_role, coop.treasurer_role)
    proposal = await proposing.open_decision(
        db, guild_id=guild_id, actor=alice, draft=ProposalDraft(title=B_PROPOSAL, kind="consent"), now=now
    )
    await funds.create_fund(
        db,
        guild_id=guild_id,
        actor=tess,
        draft=FundDraft(name=B_FUND, policy="treasurer", limit="100"),
        now=now,
    )
    pending = await funds.record_contribution(
        db, guild_id=guild_id, fund=B_FUND, actor=alice, amount="3", idempotency_key="b-pending", now=now
    )
    arrived = await funds.record_contribution(
        db,
        guild_id=guild_id,
        fund=B_FUND,
        actor=tess,
        amount="40",
        idempotency_key="b-arrived",
        now=now,
        member_id=alice.user_id,
    )
    request = await funds.request_funds(
        db, guild_id=guild_id, fund=B_FUND, actor=alice, amount_min="7", purpose=B_PURPOSE, now=now
    )
    assert arrived.entry is not None
    return ObjectsOfB(
        proposal=proposal.id or 0,
        request=request.request.id or 0,
        contribution=pending.contribution.id or 0,
        entry=arrived.entry.id or 0,
    )


def a_secrets(coop: Coop) -> list[str]:
    """Text that belongs to A alone: its titles, names, amounts, notes, messages, its people."""
    people = [coop.alice, *coop.members[1:], coop.treasurer, coop.moderator]
    return [
        A_PROPOSAL,
        A_FUND,
        A_PENDING,
        A_ARRIVED,
        A_REQUEST,
        A_PURPOSE,
        A_NOTE,
        A_CHANNEL_REMINDER,
        A_PERSONAL_REMINDER,
        A_WEBHOOK,
        A_GUILD,
        A_NETWORK,
        A_ROUND,
        A_NETWORK_ROUND,
        A_BUCKET,
        A_CONCERN,
        # The same amounts as they appear unformatted (CSV) and in minor units.
        "4321.09",
        "8765.43",
        "1357.91",
        "432109",
        "876543",
        "135791",
        *(str(person.id) for person in people),
    ]


def leaks(text: str, secrets: list[str], *, typed: object = None) -> list[str]:
    """Which of A's secrets `text` mentions (what the person typed themselves does not count)."""
    if typed is not None:
        text = text.replace(str(typed), "")
    return [secret for secret in secrets if secret in text]


def answer_of(result: simcord.InteractionResult) -> str:
    """Everything the person was shown: text, embeds, file names, a form's title and fields."""
    parts: list[str] = []
    if result.modal is not None:
        parts.append(f"(a form) {result.modal}")
    for message in (result.response, *result.followups):
        if message is None:
            continue
        parts.append(message.content)
        for embed in message.embeds:
            parts.append(str(embed.to_dict()))
        parts.extend(attachment.filename for attachment in message.attachments)
    return "\n".join(parts)


def other_argument(coop: Coop, parameter: app_commands.Parameter) -> object:
    """A plausible value for a required option that is not the reference under test."""
    by_name: dict[str, object] = {
        "choice": "no objection",
        "closes": "2d",
        "statement": "Decided.",
        "amount": "5",
        "reference": "TX-1",
        "reason": "Because",
    }
    if parameter.name in by_name:
        return by_name[parameter.name]
    if parameter.choices:
        return parameter.choices[0].value
    kind = parameter.type
    if kind is discord.AppCommandOptionType.integer:
        return 1
    if kind is discord.AppCommandOptionType.boolean:
        return True
    if kind is discord.AppCommandOptionType.channel:
        return coop.governance
    if kind in (discord.AppCommandOptionType.user, discord.AppCommandOptionType.mentionable):
        return coop.members[1]
    if kind is discord.AppCommandOptionType.role:
        return coop.member_role
    return "1d"


def all_commands(bot: CoopBot) -> list[app_commands.Command[Any, ..., Any]]:
    found: list[app_commands.Command[Any, ..., Any]] = []
    for root in bot.tree.get_commands():
        if isinstance(root, app_commands.Command):
            found.append(root)
        elif isinstance(root, app_commands.Group):
            found.extend(c for c in root.walk_commands() if isinstance(c, app_commands.Command))
    return sorted(found, key=lambda command: command.qualified_name)


async def lift_hints(coop: Coop, bot: CoopBot, *roles: simcord.RoleHandle) -> None:
    for command in await bot.tree.fetch_commands():
        coop.guild.set_command_permissions(command.id, dict.fromkeys(roles, True))


async def snapshot(db: Database, guild_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the cooperative, table by table, in primary-key order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with db.read() as session:
        connection = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            assert isinstance(table, Table)
            owner = table.c.id if table.name == "guilds" else table.c.guild_id
            query = sa_select(table).where(owner == guild_id).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in (await connection.execute(query)).all()]
    return rows


def changed_tables(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@pytest.mark.long
async def test_another_cooperatives_ids_are_refused_as_unknown_reveal_nothing_and_change_nothing(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    a = configured
    objects = await make_objects_of_a(a, db, clock)
    b = build_coop(simcord_env, name="Other Collective")
    # B's moderator may run every command there, money included, so every id reaches its lookup.
    await configure(b, db, clock, moderators_are_treasurers=True)
    await simcord_env.settle()
    await make_objects_of_b(b, db, clock)
    await lift_hints(b, simcord_bot, b.moderator_role, b.member_role)
    secrets = a_secrets(a)
    a_before = await snapshot(db, a.guild.id)
    b_before = await snapshot(db, b.guild.id)

    commands = [
        command
        for command in all_commands(simcord_bot)
        if any(parameter.name in ID_OPTIONS for parameter in command.parameters)
    ]
    names = {command.qualified_name for command in commands}
    assert {"proposal vote", "fund show", "fund request pay", "fund correct", "mod decision reopen"} <= names
    assert {"remind cancel", "reminder pause", "coop webhooks test", "fund contribution reject"} <= names

    problems: list[str] = []
    tried = 0
    for person, who in ((b.moderator, "B's moderator"), (b.alice, "B's member")):
        for command in commands:
            option = next(p.name for p in command.parameters if p.name in ID_OPTIONS)
            others = {
                p.name: other_argument(b, p) for p in command.parameters if p.required and p.name != option
            }
            for reference in objects.references(option):
                name = f"{command.qualified_name} {option}:{reference} by {who}"
                tried += 1
                told = await person.slash(
                    b.governance, command.qualified_name, **{option: reference}, **others
                )
                unknown = await person.slash(
                    b.governance, command.qualified_name, **{option: never_used(reference)}, **others
                )
                text, baseline = answer_of(told), answer_of(unknown)
                if normalised(text, reference) != normalised(baseline, never_used(reference)):
                    problems.append(f"{name}: answered {text[:200]!r}, but for nothing: {baseline[:200]!r}")
                # A network's objects are not found from outside it in words of their own (the same for
                # A's and for nothing, as checked above).
                network_object = command.qualified_name.startswith("network ")
                if (
                    person is b.moderator
                    and not network_object
                    and not (text.startswith("There is no ") and text.endswith(" in this server."))
                ):
                    problems.append(f"{name}: not “There is no … in this server.”: {text[:200]!r}")
                if not told.ephemeral:
                    problems.append(f"{name}: the answer is not private")
                if mentioned := leaks(text, secrets, typed=reference):
                    problems.append(f"{name}: mentions A's {mentioned}")
                if changed := changed_tables(a_before, await snapshot(db, a.guild.id)):
                    problems.append(f"{name}: changed A's {changed}")
                    a_before = await snapshot(db, a.guild.id)
                if changed := changed_tables(b_before, await snapshot(db, b.guild.id)):
                    problems.append(f"{name}: changed B's {changed}")
                    b_before = await snapshot(db, b.guild.id)
    assert tried >= 80
    assert not problems, "\n".join(problems)


async def test_b_autocomplete_lists_and_exports_never_show_a(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    a = configured
    objects = await make_objects_of_a(a, db, clock)
    b = build_coop(simcord_env, name="Other Collective")
    await configure(b, db, clock)
    await simcord_env.settle()
    mine = await make_objects_of_b(b, db, clock)
    await lift_hints(b, simcord_bot, b.moderator_role, b.member_role)
    await configure(b, db, clock, moderators_are_treasurers=True)  # B's moderator completes every option
    secrets = a_secrets(a)
    problems: list[str] = []

    # Autocomplete: every option that completes, with nothing typed, with A's numbers and A's names.
    completing = [
        (command, parameter)
        for command in all_commands(simcord_bot)
        for parameter in command.parameters
        if parameter.autocomplete
    ]
    assert {(c.qualified_name, p.name) for c, p in completing} >= {
        ("proposal show", "proposal"),
        ("fund show", "fund"),
        ("fund request approve", "request"),
        ("fund contribution confirm", "contribution"),
        ("fund correct", "entry"),
    }
    offered: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for person, who in ((b.moderator, "B's moderator"), (b.alice, "B's member")):
        for command, parameter in completing:
            own = objects.ids(parameter.name)
            typed_values = ["", "Secret", "Hidden", "yacht", *(str(value).lstrip("#") for value in own)]
            for typed in dict.fromkeys(typed_values):
                choices = await person.autocomplete(
                    b.governance, command.qualified_name, parameter.name, typed
                )
                if typed == "" and person is b.moderator:
                    offered[(command.qualified_name, parameter.name)] = choices
                shown = " ".join(f"{choice['name']} {choice['value']}" for choice in choices)
                label = f"autocomplete {command.qualified_name} {parameter.name}:{typed!r} by {who}"
                if mentioned := leaks(shown, secrets):
                    problems.append(f"{label}: mentions A's {mentioned}")
                if a_values := [choice["value"] for choice in choices if choice["value"] in own]:
                    problems.append(f"{label}: offers A's {a_values}")
    # ...and it does offer B's own objects (so the checks above looked at real lists).
    expected_own = {
        ("proposal show", "proposal"): mine.proposal,
        ("fund show", "fund"): B_FUND,
        ("fund request show", "request"): mine.request,
        ("fund contribution confirm", "contribution"): mine.contribution,
        ("fund correct", "entry"): mine.entry,
    }
    for key, value in expected_own.items():
        values = [choice["value"] for choice in offered.get(key, [])]
        if value not in values:
            problems.append(f"autocomplete {key[0]} {key[1]} by B's moderator does not offer B's {value!r}")

    # Lists, reads and the export of B: only B's record.
    reads: list[tuple[str, dict[str, object]]] = [
        ("proposal list", {}),
        ("proposal show", {"proposal": mine.proposal}),
        ("decisions", {}),
        ("fund list", {}),
        ("fund show", {"fund": B_FUND}),
        ("fund ledger", {"fund": B_FUND}),
        ("fund export", {"fund": B_FUND}),
        ("fund request list", {"status": "all"}),
        ("fund request show", {"request": mine.request}),
        ("fund contribution list", {}),
        ("member list", {}),
        ("reminder list", {}),
        ("remind list", {}),
        ("coop webhooks list", {}),
        ("coop audit", {}),
        ("coop settings", {}),
        ("coop export", {}),
    ]
    for name, options in reads:
        result = await b.moderator.slash(b.governance, name, **options)
        text = answer_of(result)
        files = [
            (await attachment.read()).decode("utf-8", errors="replace")
            for message in (result.response, *result.followups)
            if message is not None
            for attachment in message.attachments
        ]
        if not text.strip():
            problems.append(f"{name} by B's moderator: no answer")
        if mentioned := leaks("\n".join([text, *files]), secrets):
            problems.append(f"{name} by B's moderator: mentions A's {mentioned}")
        if name in ("coop export", "fund export") and not files:
            problems.append(f"{name} by B's moderator: no file to check")
        if name == "coop export":
            ids = {int(found) for content in files for found in re.findall(r"\b(\d{17,20})\b", content)}
            if a.guild.id in ids:
                problems.append("coop export of B names A's guild")
    assert not problems, "\n".join(problems)


async def test_autocomplete_shows_nothing_to_whoever_may_not_run_the_command(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    """Every autocomplete of every command, typed into by A's visitor and by B's moderator who has joined A
    without a role: where the product refuses them the command, the list is empty; where it lets them run
    it (their own reminders, say), nothing of A's record shows. A's moderator sees the same lists filled."""
    a = configured
    objects = await make_objects_of_a(a, db, clock)
    b = build_coop(simcord_env, name="Other Collective")
    await configure(b, db, clock, moderators_are_treasurers=True)
    await configure(a, db, clock, moderators_are_treasurers=True)
    guest = a.guild.add_member(b.moderator.user)  # in A, no role: a visitor there
    await simcord_env.settle()
    await lift_hints(a, simcord_bot, a.moderator_role, a.member_role)
    for synced in await simcord_bot.tree.fetch_commands():  # and for people with no role at all
        a.guild.set_command_permissions(synced.id, {a.guild.default_role: True})
    secrets = a_secrets(a)
    completing = [
        (command, parameter)
        for command in all_commands(simcord_bot)
        for parameter in command.parameters
        if parameter.autocomplete
    ]
    assert len(completing) >= 20
    problems: list[str] = []
    filled = 0
    for command, parameter in completing:
        name = command.qualified_name
        for typed in dict.fromkeys(["", "Secret", "Hidden", *map(str, objects.ids(parameter.name))]):
            for person, who in ((a.visitor, "A's visitor"), (guest, "B's moderator in A")):
                choices = await person.autocomplete(a.governance, name, parameter.name, typed)
                label = f"autocomplete {name} {parameter.name}:{typed!r} by {who}"
                if V not in EXPECTED[name] and choices:
                    problems.append(f"{label}: offers {[c['name'] for c in choices][:3]}")
                shown = " ".join(f"{choice['name']} {choice['value']}" for choice in choices)
                if mentioned := leaks(shown, secrets):
                    problems.append(f"{label}: mentions A's {mentioned}")
            filled += bool(await a.moderator.autocomplete(a.governance, name, parameter.name, typed))
    assert not problems, "\n".join(problems)
    assert filled >= len(completing)  # the lists a visitor saw empty are not empty for everyone
