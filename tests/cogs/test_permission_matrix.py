"""Issue 8, permissions: every slash command × (visitor, contributor, member, treasurer, moderator), allowed
exactly where the product says, by the bot's own checks.

Each role gets its own cooperative (guild) in one simulated Discord, with the same objects made in it: an
open proposal and a fund, a pending contribution, a ledger entry, a funding request (all someone else's),
a channel reminder, the person's own personal reminder and a webhook. Discord's default-permission hint
is lifted for the role on every command group, so only the bot's own checks decide. Every command of the
tree is run with generated required options, and each answer is classified: refused for permission (the
reply starts with "Only ..." or says the user may not do this) or not (done, a form, or a refusal about the
state of things such as "already a member"). The whole matrix is compared with EXPECTED at once; every
refused command must also have written nothing to the audit log.

EXPECTED is the product's rule (product.md §5: member commands need the member role, or the contributor
role where contributors act; moderator commands the moderator role or Manage Server; money the treasurer
role, moderators only where the cooperative allows it). Reading what the cooperative records (funds,
proposals, the register, profiles and the directory) is a member command open to contributors too
(require_insider): a visitor who never agreed to the charter reads none of it. The charter itself is open
to all, as visitors are asked to agree to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord
import pytest
import simcord
from discord import app_commands
from sqlmodel import col, func, select

from bot import CoopBot
from governance import funds, proposing, reminders, webhooks
from governance.clock import ManualClock
from governance.funds import FundDraft
from governance.permissions import Actor
from governance.proposing import ProposalDraft
from storage.database import Database
from storage.models import AuditEvent
from tests.cogs.helpers import EXPECTED, MO, ROLES, C, M, T, V
from tests.conftest import Coop, build_coop, configure

# The order commands run in for each person: reading and adding first, then what changes or ends the
# objects, so that where a person may act the action is mostly carried out, not met by an ended object.
RUN_LAST = {
    "approve": 1,
    "confirm": 1,
    "pause": 1,
    "pay": 2,
    "resume": 2,
    "close": 3,
    "outcome": 4,
    "reopen": 5,
    "reject": 6,
    "correct": 6,
    "decline": 6,
    "demote": 6,
    "cancel": 7,
    "remove": 8,
}

# Replies that refuse for permission, beyond those starting with "Only ".
PERMISSION_PHRASES = (
    "only a moderator",
    "only treasurers",
    "only moderators",
    "only members",
    "you don't have permission",
    "you can't use this command",
    "you may not",
    "not allowed",
)


@dataclass
class Objects:
    """What each cooperative holds, so that every id option names something real."""

    proposal: int
    fund: str
    contribution: int
    entry: int
    request: int
    reminder: int
    personal_reminder: int
    webhook: int


@dataclass
class Cell:
    refused: bool
    reply: str
    wrote_audit: bool = False
    silent: bool = False


def _actor(coop: Coop, who: simcord.MemberActor, *roles: simcord.RoleHandle) -> Actor:
    return Actor(user_id=who.id, role_ids=frozenset(role.id for role in roles))


async def make_objects(coop: Coop, db: Database, clock: ManualClock, person: simcord.MemberActor) -> Objects:
    """Someone else's open proposal, fund, contribution, entry and request; a channel reminder; the
    acting person's own personal reminder; a webhook (through the governance layer: fast and exact)."""
    guild_id, now = coop.guild.id, clock.now()
    bob = _actor(coop, coop.members[1], coop.member_role)
    tess = _actor(coop, coop.treasurer, coop.member_role, coop.treasurer_role)
    mo = _actor(coop, coop.moderator, coop.member_role, coop.moderator_role)
    proposal = await proposing.open_decision(
        db,
        guild_id=guild_id,
        actor=bob,
        draft=ProposalDraft(title="Repaint the hall", kind="consent", closes="3d"),
        now=now,
    )
    await funds.create_fund(
        db,
        guild_id=guild_id,
        actor=tess,
        draft=FundDraft(name="Commons", policy="treasurer", limit="100"),
        now=now,
    )
    pending = await funds.record_contribution(
        db, guild_id=guild_id, fund="Commons", actor=bob, amount="20", idempotency_key="pending", now=now
    )
    arrived = await funds.record_contribution(
        db,
        guild_id=guild_id,
        fund="Commons",
        actor=tess,
        amount="500",
        idempotency_key="arrived",
        now=now,
        member_id=bob.user_id,
    )
    request = await funds.request_funds(
        db, guild_id=guild_id, fund="Commons", actor=bob, amount_min="30", purpose="Paint", now=now
    )
    reminder = await reminders.add_channel_reminder(
        db,
        guild_id=guild_id,
        actor=mo,
        channel_id=coop.governance.id,
        message="Hui on Monday",
        schedule="every monday 09:00",
        now=now,
    )
    personal = await reminders.add_personal_reminder(
        db,
        guild_id=guild_id,
        actor=Actor(user_id=person.id),
        channel_id=coop.governance.id,
        when="in 2h",
        message="Vote on the hall",
        now=now,
    )
    hook = await webhooks.add_webhook(
        db, guild_id=guild_id, actor=mo, url="https://example.org/hook", events=None, now=now
    )
    assert arrived.entry is not None
    ids = (
        proposal.id,
        pending.contribution.id,
        arrived.entry.id,
        request.request.id,
        reminder.id,
        personal.id,
        hook.webhook.id,
    )
    assert all(isinstance(value, int) for value in ids)
    return Objects(
        proposal=proposal.id or 0,
        fund="Commons",
        contribution=pending.contribution.id or 0,
        entry=arrived.entry.id or 0,
        request=request.request.id or 0,
        reminder=reminder.id or 0,
        personal_reminder=personal.id or 0,
        webhook=hook.webhook.id or 0,
    )


def argument(
    coop: Coop,
    command: app_commands.Command[Any, ..., Any],
    parameter: app_commands.Parameter,
    objects: Objects,
) -> object:
    """A plausible value for a required option: real ids of this cooperative, so that only the checks
    (or the state of things) can refuse."""
    by_name: dict[str, object] = {
        "proposal": objects.proposal,
        "fund": objects.fund,
        "contribution": objects.contribution,
        "entry": objects.entry,
        "request": objects.request,
        "webhook": objects.webhook,
        "reminder": objects.personal_reminder
        if command.qualified_name == "remind cancel"
        else objects.reminder,
        "closes": "2d",
        "choice": "no objection",
        "statement": "We repaint in March.",
        "amount": "5",
        "name": "Tools",
        "reference": "TX-1",
        "reason": "Because it matters",
        "url": "https://example.org/other",
        "message": "Hui",
        "schedule": "every friday 16:00",
        "when": "in 3h",
        "what": "Read the proposals",
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
    if kind is discord.AppCommandOptionType.role:
        return coop.member_role
    if kind is discord.AppCommandOptionType.channel:
        return coop.governance
    if kind in (discord.AppCommandOptionType.user, discord.AppCommandOptionType.mentionable):
        return coop.members[2]  # carol: a member who is none of the people acting
    return "1d"


def is_permission_refusal(text: str) -> bool:
    lowered = text.lower()
    return text.startswith("Only ") or any(phrase in lowered for phrase in PERMISSION_PHRASES)


def reply_text(result: simcord.InteractionResult) -> tuple[str, bool]:
    """What the person was told (or that a form opened), and whether nothing at all came back."""
    if result.modal is not None:
        return "(a form opened)", False
    messages = [message for message in (result.response, *result.followups) if message is not None]
    for message in messages:
        if message.content:
            return message.content, False
        for embed in message.embeds:
            return f"(embed) {embed.title or ''}: {(embed.description or '')[:80]}", False
        if message.attachments:
            return "(a file)", False
    return "(no reply)", True


async def audit_count(db: Database, guild_id: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(AuditEvent).where(col(AuditEvent.guild_id) == guild_id)
        return (await session.exec(query)).one()


def all_commands(bot: CoopBot) -> list[app_commands.Command[Any, ..., Any]]:
    found: list[app_commands.Command[Any, ..., Any]] = []
    for root in bot.tree.get_commands():
        if isinstance(root, app_commands.Command):
            found.append(root)
        elif isinstance(root, app_commands.Group):
            found.extend(c for c in root.walk_commands() if isinstance(c, app_commands.Command))
    return sorted(found, key=lambda command: (RUN_LAST.get(command.name, 0), command.qualified_name))


async def lift_hints(coop: Coop, bot: CoopBot, role: simcord.RoleHandle) -> None:
    """As a server admin can in Integrations settings: every command group is allowed for `role`."""
    for command in await bot.tree.fetch_commands():
        coop.guild.set_command_permissions(command.id, {role: True})


def render(matrix: dict[str, dict[str, Cell]]) -> str:
    width = max(len(name) for name in matrix)
    head = " " * width + " | " + " | ".join(f"{role[:5]:5}" for role in ROLES)
    lines = [head, "-" * len(head)]
    for name, row in matrix.items():
        marks = []
        for role in ROLES:
            cell = row[role]
            mark = "no" if cell.refused else "yes"
            if (role in EXPECTED.get(name, frozenset())) == cell.refused:
                mark += "!"
            marks.append(f"{mark:5}")
        lines.append(f"{name:{width}} | " + " | ".join(marks))
    return "\n".join(lines)


@pytest.mark.long
async def test_every_command_by_every_role_is_allowed_exactly_where_the_product_says(
    configured: Coop, simcord_env: simcord.Env, simcord_bot: CoopBot, clock: ManualClock, db: Database
) -> None:
    coops: dict[str, Coop] = {MO: configured}
    for role in (V, C, M, T):
        coops[role] = build_coop(simcord_env, name=f"Cooperative of the {role}")
        await configure(coops[role], db, clock)
    await simcord_env.settle()
    people: dict[str, simcord.MemberActor] = {}
    for role, coop in coops.items():
        people[role] = {
            V: coop.visitor,
            C: coop.contributor,
            M: coop.alice,
            T: coop.treasurer,
            MO: coop.moderator,
        }[role]
        hint_role = {
            V: coop.guild.default_role,
            C: coop.contributor_role,
            M: coop.member_role,
            T: coop.treasurer_role,
            MO: coop.moderator_role,
        }[role]
        await lift_hints(coop, simcord_bot, hint_role)

    commands = all_commands(simcord_bot)
    names = [command.qualified_name for command in commands]
    unexpected = sorted(set(names) - set(EXPECTED))
    gone = sorted(set(EXPECTED) - set(names))
    assert not unexpected, f"commands without an expected row (add them to EXPECTED): {unexpected}"
    assert not gone, f"EXPECTED names commands the bot no longer has: {gone}"

    matrix: dict[str, dict[str, Cell]] = {name: {} for name in names}
    for role in ROLES:
        coop, person = coops[role], people[role]
        objects = await make_objects(coop, db, clock, person)
        for command in commands:
            options = {p.name: argument(coop, command, p, objects) for p in command.parameters if p.required}
            before = await audit_count(db, coop.guild.id)
            result = await person.slash(coop.governance, command.qualified_name, **options)
            text, silent = reply_text(result)
            cell = Cell(refused=is_permission_refusal(text), reply=text, silent=silent)
            if cell.refused:
                cell.wrote_audit = await audit_count(db, coop.guild.id) != before
                assert result.ephemeral, (command.qualified_name, role, text)
            matrix[command.qualified_name][role] = cell

    mismatches = [
        f"{name} × {role}: expected {'allowed' if role in EXPECTED[name] else 'refused'}, "
        f"got {'refused' if cell.refused else 'allowed'}: {cell.reply[:160]!r}"
        for name, row in matrix.items()
        for role, cell in row.items()
        if (role in EXPECTED[name]) == cell.refused
    ]
    unanswered = [
        f"{name} × {role}" for name, row in matrix.items() for role, cell in row.items() if cell.silent
    ]
    written = [
        f"{name} × {role}" for name, row in matrix.items() for role, cell in row.items() if cell.wrote_audit
    ]
    table = render(matrix)
    print(table)
    assert not (mismatches or unanswered or written), "\n".join(
        [table, "", "Mismatches (! in the table):", *mismatches]
        + (["", "No answer at all:", *unanswered] if unanswered else [])
        + (["", "Refused, yet audited:", *written] if written else [])
    )
