"""Issue 7: every governance action writes exactly one audit event, with its actor and its subject.

The whole life of a cooperative is driven through the governance layer, one action per step. After each
step the new audit events are read back: the step's action must appear exactly once, by the expected
actor (None only where coopbot itself acts: a scheduled close, an expiry, an admission confirmed after
the close), about the expected subject ("decision:3", "fund:1", "member:<user id>"...), at the step's
time, in the right guild; any other event the same change records (the proposal a request opens) must be
the expected one. Every failing step is reported by its action, all at once. A second test checks that
refused actions write nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from governance import decisions, export, funds, membership, proposing, reminders, webhooks
from governance.clock import ManualClock
from governance.coop import SetupChanges, configure_guild
from governance.errors import NotAllowed
from governance.funds import FundDraft
from governance.membership import Change, ProfileDraft
from governance.permissions import Actor
from governance.proposing import ProposalDraft
from storage.database import Database
from storage.models import AuditEvent, MemberStatus

GUILD = 7_000
GOVERNANCE_CHANNEL = 500
WELCOME_CHANNEL = 501
MEMBER_ROLE = 11
CONTRIBUTOR_ROLE = 12
MODERATOR_ROLE = 13
TREASURER_ROLE = 14
BOT = 9  # coopbot itself: the author of admission proposals

ADMIN = Actor(user_id=1, manages_guild=True)
ALICE = Actor(user_id=101, role_ids=frozenset({MEMBER_ROLE}))
BOB = Actor(user_id=102, role_ids=frozenset({MEMBER_ROLE}))
CAROL = Actor(user_id=103, role_ids=frozenset({MEMBER_ROLE}))
MO = Actor(user_id=104, role_ids=frozenset({MEMBER_ROLE, MODERATOR_ROLE}))
TESS = Actor(user_id=105, role_ids=frozenset({MEMBER_ROLE, TREASURER_ROLE}))
NINA = Actor(user_id=301, role_ids=frozenset({CONTRIBUTOR_ROLE}))
OMAR = Actor(user_id=302, role_ids=frozenset({CONTRIBUTOR_ROLE}))

SETUP = SetupChanges(
    governance_channel_id=GOVERNANCE_CHANNEL,
    welcome_channel_id=WELCOME_CHANNEL,
    member_role_id=MEMBER_ROLE,
    contributor_role_id=CONTRIBUTOR_ROLE,
    moderator_role_id=MODERATOR_ROLE,
    treasurer_role_id=TREASURER_ROLE,
    timezone="Pacific/Auckland",
    currency="NZD",
)
PROFILE = ProfileDraft(display_name="Nina Kahu", what_they_do="Design", skills="Illustration")
GOVERNANCE_DIR = Path(__file__).resolve().parent.parent / "governance"
# Names in governance/ that look like actions but are the event names webhook receivers see.
WEBHOOK_EVENT_NAMES = set(webhooks.EVENTS.values())


def member(actor: Actor) -> str:
    return f"member:{actor.user_id}"


def code_actions() -> set[str]:
    """Every audit action the governance code can write: the literal ones, and member.<change>."""
    pattern = re.compile(r"\"((?:coop|decision|fund|member|reminder|webhook)\.[a-z_.]+)\"")
    found = {
        name
        for path in GOVERNANCE_DIR.glob("*.py")
        for name in pattern.findall(path.read_text(encoding="utf-8"))
    }
    return (found - WEBHOOK_EVENT_NAMES) | {f"member.{change.value}" for change in Change}


async def events_after(db: Database, last_id: int) -> list[AuditEvent]:
    async with db.read() as session:
        rows = await session.exec(
            select(AuditEvent).where(col(AuditEvent.id) > last_id).order_by(col(AuditEvent.id))
        )
        return list(rows.all())


@dataclass
class Trail:
    """Runs the steps, remembers where the log was, and collects what went wrong, by action."""

    db: Database
    clock: ManualClock
    last_id: int = 0
    failures: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)

    async def _advance_marker(self) -> list[AuditEvent]:
        new = await events_after(self.db, self.last_id)
        if new:
            self.last_id = max(event.id or 0 for event in new)
        return new

    async def setup(self, run: Callable[[], Awaitable[Any]]) -> Any:
        """Something the scenario needs that is not checked here (its events are skipped)."""
        result = await run()
        await self._advance_marker()
        return result

    async def step(
        self,
        action: str,
        run: Callable[[], Awaitable[Any]],
        *,
        actor: int | None,
        subject: str | Callable[[Any], str],
        also: tuple[str, ...] = (),
        label: str = "",
    ) -> Any:
        """Perform one action; exactly one new `action` event by `actor` about `subject` must follow, and
        besides it exactly the `also` actions (what the same change records elsewhere)."""
        name = f"{action}{f' ({label})' if label else ''}"
        self.checked.add(action)
        now = self.clock.now()
        try:
            result = await run()
        except Exception as error:  # reported with the others: one broken step names its action
            self.failures.append(f"{name}: the action raised {error!r}")
            await self._advance_marker()
            return None
        new = await self._advance_marker()
        expected_subject = subject(result) if callable(subject) else subject
        mine = [event for event in new if event.action == action]
        others = Counter(event.action for event in new if event.action != action)
        problems = []
        if len(mine) != 1:
            problems.append(f"{len(mine)} {action} events instead of 1 (new: {[e.action for e in new]})")
        if others != Counter(also):
            problems.append(f"other new events {dict(others)} instead of {dict(Counter(also))}")
        for event in mine[:1]:
            if event.actor_id != actor:
                problems.append(f"actor {event.actor_id} instead of {actor}")
            if not event.subject or event.subject != expected_subject:
                problems.append(f"subject {event.subject!r} instead of {expected_subject!r}")
            if event.guild_id != GUILD:
                problems.append(f"guild {event.guild_id} instead of {GUILD}")
            if event.created_at != now:
                problems.append(f"recorded at {event.created_at} instead of {now}")
        if problems:
            self.failures.append(f"{name}: " + "; ".join(problems))
        return result


async def test_each_kind_of_action_writes_exactly_one_audit_event_with_actor_and_subject(
    db: Database, clock: ManualClock
) -> None:
    trail = Trail(db, clock)

    def now() -> datetime:
        return clock.now()

    guild = f"guild:{GUILD}"

    # --- the cooperative ------------------------------------------------------------------------------
    await trail.step(
        "coop.setup",
        lambda: configure_guild(db, guild_id=GUILD, actor=ADMIN, changes=SETUP, now=now()),
        actor=ADMIN.user_id,
        subject=guild,
    )
    await trail.step(
        "coop.charter",
        lambda: membership.set_charter(
            db, guild_id=GUILD, actor=MO, text="We share and decide together.", version=None, now=now()
        ),
        actor=MO.user_id,
        subject=guild,
    )
    await trail.step(
        "coop.admission",
        lambda: membership.configure_admission(
            db, guild_id=GUILD, actor=MO, by_decision=False, decision_type=None, now=now()
        ),
        actor=MO.user_id,
        subject=guild,
        label="moderators decide",
    )

    # --- a newcomer: join, charter, introduction, profile, application, moderators' decisions -----------
    await trail.step(
        "member.join",
        lambda: membership.record_join(db, guild_id=GUILD, user_id=NINA.user_id, now=now()),
        actor=NINA.user_id,
        subject=member(NINA),
    )
    await trail.step(
        "member.charter",
        lambda: membership.accept_charter(
            db,
            guild_id=GUILD,
            user_id=NINA.user_id,
            version=1,
            standing=MemberStatus.CONTRIBUTOR,
            now=now(),
        ),
        actor=NINA.user_id,
        subject=member(NINA),
    )
    await trail.step(
        "member.introduce",
        lambda: membership.save_profile(
            db,
            guild_id=GUILD,
            user_id=NINA.user_id,
            draft=PROFILE,
            standing=MemberStatus.CONTRIBUTOR,
            now=now(),
        ),
        actor=NINA.user_id,
        subject=member(NINA),
    )
    await trail.step(
        "member.profile",
        lambda: membership.save_profile(
            db,
            guild_id=GUILD,
            user_id=NINA.user_id,
            draft=ProfileDraft(display_name="Nina Kahu", skills="Illustration, facilitation"),
            standing=MemberStatus.CONTRIBUTOR,
            now=now(),
        ),
        actor=NINA.user_id,
        subject=member(NINA),
    )
    await trail.step(
        "member.apply",
        lambda: membership.apply_for_membership(
            db,
            guild_id=GUILD,
            applicant=NINA,
            applicant_name="Nina Kahu",
            sponsor=ALICE,
            statement="I'd like to share the load.",
            proposer_id=BOT,
            now=now(),
        ),
        actor=NINA.user_id,
        subject=member(NINA),
        label="a moderator decides",
    )
    await trail.step(
        "member.decline",
        lambda: membership.decline_application(
            db, guild_id=GUILD, actor=MO, user_id=NINA.user_id, reason="A project together first", now=now()
        ),
        actor=MO.user_id,
        subject=member(NINA),
        label="by a moderator",
    )
    # She applies again, and this time the moderator admits her by promoting her: the application is
    # admitted (as a passed admission decision admits one), and she becomes a member.
    await trail.setup(
        lambda: membership.apply_for_membership(
            db,
            guild_id=GUILD,
            applicant=NINA,
            applicant_name="Nina Kahu",
            sponsor=None,
            statement=None,
            proposer_id=BOT,
            now=now(),
        )
    )

    def promote(reason: str) -> Callable[[], Awaitable[Any]]:
        return lambda: membership.record_change(
            db,
            guild_id=GUILD,
            actor=MO,
            user_id=NINA.user_id,
            change=Change.PROMOTE,
            status=MemberStatus.MEMBER,
            now=now(),
            reason=reason,
        )

    await trail.step(
        "member.admit",
        promote("Agreed at the hui"),
        actor=MO.user_id,
        subject=member(NINA),
        also=("member.promote",),
        label="by a moderator, who promotes the applicant: admissions are the moderators' to decide",
    )
    await trail.step(
        "member.demote",
        lambda: membership.record_change(
            db,
            guild_id=GUILD,
            actor=MO,
            user_id=NINA.user_id,
            change=Change.DEMOTE,
            status=MemberStatus.CONTRIBUTOR,
            now=now(),
            reason="On leave",
        ),
        actor=MO.user_id,
        subject=member(NINA),
    )
    await trail.step(
        "member.promote",
        promote("Back from leave"),
        actor=MO.user_id,
        subject=member(NINA),
        label="by a moderator, no application",
    )
    await trail.step(
        "member.remove",
        lambda: membership.record_change(
            db,
            guild_id=GUILD,
            actor=MO,
            user_id=NINA.user_id,
            change=Change.REMOVE,
            status=MemberStatus.VISITOR,
            now=now(),
            reason="Asked to",
        ),
        actor=MO.user_id,
        subject=member(NINA),
    )
    await trail.step(
        "member.leave",
        lambda: membership.record_change(
            db,
            guild_id=GUILD,
            actor=BOB,
            user_id=BOB.user_id,
            change=Change.LEAVE,
            status=MemberStatus.CONTRIBUTOR,
            now=now(),
        ),
        actor=BOB.user_id,
        subject=member(BOB),
    )
    await trail.step(
        "member.depart",
        lambda: membership.record_departure(db, guild_id=GUILD, user_id=CAROL.user_id, now=now()),
        actor=CAROL.user_id,
        subject=member(CAROL),
    )

    # An application that ends because its decision could not be posted: coopbot withdraws it.
    await trail.setup(lambda: membership.record_join(db, guild_id=GUILD, user_id=OMAR.user_id, now=now()))
    await trail.setup(
        lambda: membership.accept_charter(
            db,
            guild_id=GUILD,
            user_id=OMAR.user_id,
            version=1,
            standing=MemberStatus.CONTRIBUTOR,
            now=now(),
        )
    )
    opened = await trail.setup(
        lambda: membership.apply_for_membership(
            db,
            guild_id=GUILD,
            applicant=OMAR,
            applicant_name="Omar",
            sponsor=None,
            statement=None,
            proposer_id=BOT,
            now=now(),
        )
    )
    await trail.step(
        "member.withdraw",
        lambda: membership.withdraw_application(
            db, guild_id=GUILD, application_id=opened.application.id, now=now(), reason="not posted"
        ),
        actor=None,
        subject=member(OMAR),
    )

    # Admission by the members: the application opens a proposal; its close admits; the role confirms.
    await trail.step(
        "coop.admission",
        lambda: membership.configure_admission(
            db, guild_id=GUILD, actor=MO, by_decision=True, decision_type="consent", now=now()
        ),
        actor=MO.user_id,
        subject=guild,
        label="the members decide",
    )
    applied = await trail.step(
        "member.apply",
        lambda: membership.apply_for_membership(
            db,
            guild_id=GUILD,
            applicant=OMAR,
            applicant_name="Omar",
            sponsor=None,
            statement=None,
            proposer_id=BOT,
            now=now(),
        ),
        actor=OMAR.user_id,
        subject=member(OMAR),
        also=("decision.open",),
        label="the members decide: its proposal opens too",
    )
    admission = applied.decision
    clock.advance(timedelta(days=8))
    await trail.step(
        "member.admit",
        lambda: decisions.close_decision(
            db, guild_id=GUILD, decision_id=admission.id, eligible=5, now=now(), actor=None
        ),
        actor=None,
        subject=member(OMAR),
        also=("decision.close",),
        label="its proposal closes on time",
    )
    await trail.step(
        "member.promote",
        lambda: membership.confirm_admission(
            db, guild_id=GUILD, application_id=applied.application.id, now=now()
        ),
        actor=None,
        subject=member(OMAR),
        label="the member role given after the admission",
    )

    # --- a decision's life ----------------------------------------------------------------------------
    proposal = await trail.step(
        "decision.open",
        lambda: proposing.open_decision(
            db,
            guild_id=GUILD,
            actor=ALICE,
            draft=ProposalDraft(title="Repaint the hall", kind="consent", closes="3d"),
            now=now(),
        ),
        actor=ALICE.user_id,
        subject=lambda d: f"decision:{d.id}",
    )
    about = f"decision:{proposal.id}"
    await trail.step(
        "decision.extend",
        lambda: decisions.extend_decision(
            db, guild_id=GUILD, decision_id=proposal.id, actor=ALICE, closes="1d", now=now()
        ),
        actor=ALICE.user_id,
        subject=about,
    )
    await trail.step(
        "decision.remind",
        lambda: decisions.authorise_remind(
            db, guild_id=GUILD, decision_id=proposal.id, actor=ALICE, now=now()
        ),
        actor=ALICE.user_id,
        subject=about,
    )
    await trail.step(
        "decision.close",
        lambda: decisions.close_decision(
            db, guild_id=GUILD, decision_id=proposal.id, eligible=5, now=now(), actor=ALICE
        ),
        actor=ALICE.user_id,
        subject=about,
        label="early, by its author",
    )
    await trail.step(
        "decision.outcome",
        lambda: decisions.record_outcome(
            db,
            guild_id=GUILD,
            decision_id=proposal.id,
            actor=ALICE,
            statement="We repaint in March.",
            review="90d",
            now=now(),
        ),
        actor=ALICE.user_id,
        subject=about,
    )
    await trail.step(
        "decision.reopen",
        lambda: decisions.reopen_decision(
            db, guild_id=GUILD, decision_id=proposal.id, actor=MO, closes="3d", now=now()
        ),
        actor=MO.user_id,
        subject=about,
    )
    await trail.step(
        "decision.cancel",
        lambda: decisions.cancel_decision(
            db, guild_id=GUILD, decision_id=proposal.id, actor=ALICE, now=now(), reason="Superseded"
        ),
        actor=ALICE.user_id,
        subject=about,
    )
    scheduled = await trail.setup(
        lambda: proposing.open_decision(
            db,
            guild_id=GUILD,
            actor=ALICE,
            draft=ProposalDraft(title="Buy a projector", kind="consent", closes="2d"),
            now=now(),
        )
    )
    clock.advance(timedelta(days=2, minutes=1))
    await trail.step(
        "decision.close",
        lambda: decisions.close_decision(
            db, guild_id=GUILD, decision_id=scheduled.id, eligible=5, now=now(), actor=None
        ),
        actor=None,
        subject=f"decision:{scheduled.id}",
        label="on time, by coopbot",
    )

    # --- money ----------------------------------------------------------------------------------------
    fund = await trail.step(
        "fund.create",
        lambda: funds.create_fund(
            db,
            guild_id=GUILD,
            actor=TESS,
            draft=FundDraft(name="Commons", policy="treasurer", limit="100"),
            now=now(),
        ),
        actor=TESS.user_id,
        subject=lambda f: f"fund:{f.id}",
    )
    pending = await trail.step(
        "fund.contribution",
        lambda: funds.record_contribution(
            db,
            guild_id=GUILD,
            fund="Commons",
            actor=ALICE,
            amount="500",
            idempotency_key="contribution-1",
            now=now(),
        ),
        actor=ALICE.user_id,
        subject=lambda receipt: f"contribution:{receipt.contribution.id}",
    )
    await trail.step(
        "fund.contribution.confirm",
        lambda: funds.confirm_contribution(
            db, guild_id=GUILD, contribution_id=pending.contribution.id, actor=TESS, now=now()
        ),
        actor=TESS.user_id,
        subject=f"contribution:{pending.contribution.id}",
    )
    unpaid = await trail.setup(
        lambda: funds.record_contribution(
            db,
            guild_id=GUILD,
            fund="Commons",
            actor=ALICE,
            amount="20",
            idempotency_key="contribution-2",
            now=now(),
        )
    )
    await trail.step(
        "fund.contribution.reject",
        lambda: funds.reject_contribution(
            db,
            guild_id=GUILD,
            contribution_id=unpaid.contribution.id,
            actor=TESS,
            now=now(),
            reason="Nothing arrived",
        ),
        actor=TESS.user_id,
        subject=f"contribution:{unpaid.contribution.id}",
    )

    def ask(amount: str, purpose: str) -> Callable[[], Awaitable[funds.RequestReceipt]]:
        return lambda: funds.request_funds(
            db, guild_id=GUILD, fund=fund.id, actor=ALICE, amount_min=amount, purpose=purpose, now=now()
        )

    def request_subject(receipt: funds.RequestReceipt) -> str:
        return f"fund_request:{receipt.request.id}"

    paid = await trail.step(
        "fund.request",
        ask("80", "A projector"),
        actor=ALICE.user_id,
        subject=request_subject,
        label="a treasurer decides",
    )
    await trail.step(
        "fund.request.approve",
        lambda: funds.approve_request(db, guild_id=GUILD, request_id=paid.request.id, actor=TESS, now=now()),
        actor=TESS.user_id,
        subject=f"fund_request:{paid.request.id}",
        label="by a treasurer",
    )
    payout = await trail.step(
        "fund.payout",
        lambda: funds.pay_request(
            db,
            guild_id=GUILD,
            request_id=paid.request.id,
            actor=TESS,
            reference="TX-42",
            idempotency_key="payout-1",
            now=now(),
        ),
        actor=TESS.user_id,
        subject=f"fund_request:{paid.request.id}",
    )
    await trail.step(
        "fund.correction",
        lambda: funds.correct_entry(
            db,
            guild_id=GUILD,
            entry_id=payout.entry.id,
            actor=TESS,
            reason="Paid twice by the bank",
            idempotency_key="correction-1",
            now=now(),
        ),
        actor=TESS.user_id,
        subject=f"ledger_entry:{payout.entry.id}",
    )
    declined = await trail.setup(ask("20", "Stamps"))
    await trail.step(
        "fund.request.reject",
        lambda: funds.reject_request(
            db, guild_id=GUILD, request_id=declined.request.id, actor=TESS, now=now(), reason="No"
        ),
        actor=TESS.user_id,
        subject=f"fund_request:{declined.request.id}",
        label="by a treasurer",
    )
    withdrawn = await trail.setup(ask("10", "Snacks"))
    await trail.step(
        "fund.request.cancel",
        lambda: funds.cancel_request(
            db, guild_id=GUILD, request_id=withdrawn.request.id, actor=ALICE, now=now(), reason="Not needed"
        ),
        actor=ALICE.user_id,
        subject=f"fund_request:{withdrawn.request.id}",
        label="by the requester",
    )
    by_members = await trail.step(
        "fund.request",
        ask("150", "A laptop"),
        actor=ALICE.user_id,
        subject=request_subject,
        also=("decision.open",),
        label="the members decide: its proposal opens too",
    )
    clock.advance(timedelta(days=7, minutes=1))
    await trail.step(
        "fund.request.approve",
        lambda: decisions.close_decision(
            db, guild_id=GUILD, decision_id=by_members.decision.id, eligible=5, now=now(), actor=None
        ),
        actor=None,
        subject=f"fund_request:{by_members.request.id}",
        also=("decision.close",),
        label="by the members: its proposal closes on time",
    )
    forgotten = await trail.setup(ask("5", "Tea"))
    clock.advance(funds.REQUEST_LIFETIME + timedelta(minutes=1))
    await trail.step(
        "fund.request.expire",
        lambda: funds.settle_due(db, now(), [GUILD]),
        actor=None,
        subject=f"fund_request:{forgotten.request.id}",
    )

    # --- the rhythm -----------------------------------------------------------------------------------
    reminder = await trail.step(
        "reminder.add",
        lambda: reminders.add_channel_reminder(
            db,
            guild_id=GUILD,
            actor=MO,
            channel_id=GOVERNANCE_CHANNEL,
            message="Hui on Monday",
            schedule="every monday 09:00",
            now=now(),
        ),
        actor=MO.user_id,
        subject=lambda r: f"reminder:{r.id}",
    )

    def change_reminder(
        change: Callable[..., Awaitable[Any]],
    ) -> Callable[[], Awaitable[Any]]:
        return lambda: change(db, guild_id=GUILD, reminder_id=reminder.id, actor=MO, now=now())

    for action, change in (
        ("reminder.pause", reminders.pause_reminder),
        ("reminder.resume", reminders.resume_reminder),
        ("reminder.remove", reminders.remove_reminder),
    ):
        await trail.step(action, change_reminder(change), actor=MO.user_id, subject=f"reminder:{reminder.id}")
    personal = await trail.setup(
        lambda: reminders.add_personal_reminder(
            db,
            guild_id=GUILD,
            actor=ALICE,
            channel_id=GOVERNANCE_CHANNEL,
            when="in 2h",
            message="Vote",
            now=now(),
        )
    )
    # Personal reminders are one person's own business, not governance: cancelling one leaves no event.
    cancelled = await trail.setup(
        lambda: reminders.cancel_personal_reminder(
            db, guild_id=GUILD, reminder_id=personal.id, actor=ALICE, now=now()
        )
    )
    assert cancelled.status == "cancelled"
    assert not [e for e in await events_after(db, 0) if e.subject == f"reminder:{personal.id}"]
    await trail.step(
        "reminder.digest",
        lambda: reminders.configure_digest(
            db, guild_id=GUILD, actor=MO, channel_id=GOVERNANCE_CHANNEL, weekday=0, at="09:00", now=now()
        ),
        actor=MO.user_id,
        subject=guild,
    )
    await trail.step(
        "reminder.settings",
        lambda: reminders.configure_rhythm(
            db, guild_id=GUILD, actor=MO, now=now(), lead=timedelta(hours=12), stale_days=5
        ),
        actor=MO.user_id,
        subject=guild,
    )

    await trail.step(
        "coop.export",
        lambda: export.authorise_export(db, guild_id=GUILD, actor=MO, now=now()),
        actor=MO.user_id,
        subject=guild,
    )

    # --- webhooks -------------------------------------------------------------------------------------
    hook = await trail.step(
        "webhook.add",
        lambda: webhooks.add_webhook(
            db, guild_id=GUILD, actor=MO, url="https://example.org/hook", events=None, now=now()
        ),
        actor=MO.user_id,
        subject=lambda added: f"webhook:{added.webhook.id}",
    )
    await trail.step(
        "webhook.test",
        lambda: webhooks.queue_test_event(
            db, guild_id=GUILD, webhook_id=hook.webhook.id, actor=MO, now=now()
        ),
        actor=MO.user_id,
        subject=f"webhook:{hook.webhook.id}",
    )
    await trail.step(
        "webhook.remove",
        lambda: webhooks.remove_webhook(db, guild_id=GUILD, webhook_id=hook.webhook.id, actor=MO, now=now()),
        actor=MO.user_id,
        subject=f"webhook:{hook.webhook.id}",
    )

    missing = sorted(code_actions() - trail.checked)
    if missing:
        trail.failures.append(f"actions in governance/ that no step performs: {missing}")
    failures = trail.failures
    assert not failures, "\n".join(failures)


# --- refusals write nothing ---------------------------------------------------------------------------


async def _nothing(db: Database, clock: ManualClock) -> int:
    return 0


async def _configured(db: Database, clock: ManualClock) -> int:
    await configure_guild(db, guild_id=GUILD, actor=ADMIN, changes=SETUP, now=clock.now())
    await membership.set_charter(db, guild_id=GUILD, actor=MO, text="Charter", version=None, now=clock.now())
    return 0


async def _with_a_request(db: Database, clock: ManualClock) -> int:
    await _configured(db, clock)
    fund = await funds.create_fund(
        db,
        guild_id=GUILD,
        actor=TESS,
        draft=FundDraft(name="Commons", policy="treasurer", limit="100"),
        now=clock.now(),
    )
    receipt = await funds.request_funds(
        db, guild_id=GUILD, fund=fund.id or 0, actor=BOB, amount_min="10", purpose="Tea", now=clock.now()
    )
    assert receipt.request.id is not None
    return receipt.request.id


async def _with_a_closed_proposal(db: Database, clock: ManualClock) -> int:
    await _configured(db, clock)
    decision = await proposing.open_decision(
        db, guild_id=GUILD, actor=BOB, draft=ProposalDraft(title="Paint", kind="consent"), now=clock.now()
    )
    assert decision.id is not None
    await decisions.close_decision(
        db, guild_id=GUILD, decision_id=decision.id, eligible=3, now=clock.now(), actor=BOB
    )
    return decision.id


@dataclass(frozen=True)
class Refusal:
    arrange: Callable[[Database, ManualClock], Awaitable[int]]
    attempt: Callable[[Database, ManualClock, int], Awaitable[Any]]


REFUSALS: dict[str, Refusal] = {
    "coop.setup of a new cooperative, by a member": Refusal(
        _nothing,
        lambda db, clock, _: configure_guild(db, guild_id=GUILD, actor=ALICE, changes=SETUP, now=clock.now()),
    ),
    "coop.setup by a member": Refusal(
        _configured,
        lambda db, clock, _: configure_guild(
            db,
            guild_id=GUILD,
            actor=ALICE,
            changes=SetupChanges(moderator_role_id=MEMBER_ROLE),
            now=clock.now(),
        ),
    ),
    "coop.charter by a member": Refusal(
        _configured,
        lambda db, clock, _: membership.set_charter(
            db, guild_id=GUILD, actor=ALICE, text="Mine now", version=None, now=clock.now()
        ),
    ),
    "member.promote by a member": Refusal(
        _configured,
        lambda db, clock, _: membership.record_change(
            db,
            guild_id=GUILD,
            actor=ALICE,
            user_id=NINA.user_id,
            change=Change.PROMOTE,
            status=MemberStatus.MEMBER,
            now=clock.now(),
        ),
    ),
    "decision.open by a contributor": Refusal(
        _configured,
        lambda db, clock, _: proposing.open_decision(
            db, guild_id=GUILD, actor=NINA, draft=ProposalDraft(title="Mine"), now=clock.now()
        ),
    ),
    "decision.reopen by a member": Refusal(
        _with_a_closed_proposal,
        lambda db, clock, decision_id: decisions.reopen_decision(
            db, guild_id=GUILD, decision_id=decision_id, actor=ALICE, closes="3d", now=clock.now()
        ),
    ),
    "fund.create by a member": Refusal(
        _configured,
        lambda db, clock, _: funds.create_fund(
            db, guild_id=GUILD, actor=ALICE, draft=FundDraft(name="Mine"), now=clock.now()
        ),
    ),
    "fund.request.approve by a member": Refusal(
        _with_a_request,
        lambda db, clock, request_id: funds.approve_request(
            db, guild_id=GUILD, request_id=request_id, actor=ALICE, now=clock.now()
        ),
    ),
    "reminder.add by a member": Refusal(
        _configured,
        lambda db, clock, _: reminders.add_channel_reminder(
            db,
            guild_id=GUILD,
            actor=ALICE,
            channel_id=GOVERNANCE_CHANNEL,
            message="Mine",
            schedule="every monday 09:00",
            now=clock.now(),
        ),
    ),
    "webhook.add by a member": Refusal(
        _configured,
        lambda db, clock, _: webhooks.add_webhook(
            db, guild_id=GUILD, actor=ALICE, url="https://example.org/x", events=None, now=clock.now()
        ),
    ),
}


@pytest.mark.parametrize("refused", list(REFUSALS))
async def test_a_refused_action_writes_no_audit_event(refused: str, db: Database, clock: ManualClock) -> None:
    case = REFUSALS[refused]
    context = await case.arrange(db, clock)
    before = await events_after(db, 0)
    with pytest.raises(NotAllowed):
        await case.attempt(db, clock, context)
    last = max((event.id or 0 for event in before), default=0)
    assert [event.action for event in await events_after(db, last)] == [], refused
