"""SQLModel tables. Every row that belongs to a cooperative carries `guild_id`.

Discord ids are 64-bit snowflakes, hence BigInteger. Times are aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# Constraint names are explicit so that migrations on SQLite (batch mode) and PostgreSQL agree.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# coopbot's own record ids (decisions, funds, reminders...) are 32-bit integers on every database.
MAX_ID = 2**31 - 1


def snowflake(*, primary_key: bool = False, nullable: bool = False, index: bool = False) -> Any:
    """A Discord id column."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            BigInteger, primary_key=primary_key, nullable=nullable, index=index, autoincrement=False
        ),
    )


def utc_datetime(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class CoopSettings(SQLModel, table=True):
    """A cooperative's settings: one Discord server's roles, channels, rules and rhythm (table ``guilds``,
    keyed by the server's id). Not to be confused with ``config.Settings``, the operator's settings."""

    __tablename__ = "guilds"

    id: int = snowflake(primary_key=True)
    governance_channel_id: int | None = snowflake(nullable=True)
    welcome_channel_id: int | None = snowflake(nullable=True)
    member_role_id: int | None = snowflake(nullable=True)
    contributor_role_id: int | None = snowflake(nullable=True)
    moderator_role_id: int | None = snowflake(nullable=True)
    treasurer_role_id: int | None = snowflake(nullable=True)
    timezone: str = Field(default="UTC", sa_column=Column(String(64), nullable=False))
    currency: str = Field(default="EUR", sa_column=Column(String(3), nullable=False))
    # The language of public posts (a catalogue code, governance/i18n.py); None: the server's own locale.
    language: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    default_decision_type: str = Field(default="consent", sa_column=Column(String(32), nullable=False))
    default_decision_seconds: int = Field(default=7 * 24 * 3600)
    # How long decisions of a type stay open when no closing time is given, by type ("poll": 172800); a
    # type not here uses default_decision_seconds if it is the default type, else its own default.
    decision_seconds: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Onboarding
    charter_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    charter_version: int = 0
    admission_by_decision: bool = True
    admission_decision_type: str = Field(default="consent", sa_column=Column(String(32), nullable=False))
    # The governance rhythm
    reminder_lead_seconds: int = Field(default=24 * 3600)
    digest_channel_id: int | None = snowflake(nullable=True)
    digest_weekday: int = 0  # Monday
    digest_time: str = Field(default="09:00", sa_column=Column(String(5), nullable=False))
    request_stale_days: int = 7
    # Money: only the treasurer role moves it, unless the cooperative lets its moderators act as treasurers.
    moderators_are_treasurers: bool = False
    created_at: datetime = utc_datetime()
    updated_at: datetime = utc_datetime()


class MemberStatus(StrEnum):
    VISITOR = "visitor"
    CONTRIBUTOR = "contributor"
    MEMBER = "member"
    DEPARTED = "departed"


class Member(SQLModel, table=True):
    """A person in a cooperative, as the cooperative knows them (their Discord roles are the live truth)."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("guild_id", "user_id", name="uq_members_guild_user"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default=MemberStatus.VISITOR.value, sa_column=Column(String(16), nullable=False))
    joined_at: datetime = utc_datetime()
    admitted_at: datetime | None = utc_datetime(nullable=True)
    departed_at: datetime | None = utc_datetime(nullable=True)
    charter_version: int | None = None
    charter_accepted_at: datetime | None = utc_datetime(nullable=True)
    # The profile, from the introduction form.
    display_name: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    what_they_do: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    skills: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    why: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    member_timezone: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    introduced_at: datetime | None = utc_datetime(nullable=True)
    # Whether closing-soon reminders may also come by DM.
    dm_reminders: bool = False


class AuditEvent(SQLModel, table=True):
    """One governance action: who did what to which subject, when. Written in the same transaction."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_guild_created", "guild_id", "created_at"),
        # /coop audit about:someone, and a member's history, read one subject of one guild.
        Index("ix_audit_events_guild_subject", "guild_id", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    actor_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    subject: str = Field(default="", sa_column=Column(String(128), nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_datetime()


class DecisionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Decision(SQLModel, table=True):
    """A proposal and, once closed, its decision: the register is the closed ones."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_guild_status", "guild_id", "status"),
        Index("ix_decisions_status_closes", "status", "closes_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    details: str = Field(default="", sa_column=Column(Text, nullable=False))
    author_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    max_choices: int = 1
    score_min: int = 0
    score_max: int = 5
    dots: int = 8
    target: int | None = None
    quorum_percent: int | None = None
    eligible_role_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    anonymous: bool = False
    hide_results: bool = False
    # Every vote needs a reason (a block, an objection and advice always do).
    reasons_required: bool = False
    status: str = Field(default=DecisionStatus.OPEN.value, sa_column=Column(String(16), nullable=False))
    opens_at: datetime = utc_datetime()
    closes_at: datetime = utc_datetime()
    closed_at: datetime | None = utc_datetime(nullable=True)
    channel_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    thread_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    passed: bool | None = None
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The same outcome as said (governance.i18n Text.to_json), for each reader's language; None before 0018.
    outcome_said: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The final tally as data (counts per ballot, rounds...), so the register never recounts votes that
    # an anonymous decision no longer keeps.
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    outcome_statement: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    review_at: datetime | None = utc_datetime(nullable=True)
    # What the decision is about when it acts on something: ("admission", member id), ("fund_request", id).
    link_kind: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    link_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # When the closing-soon and review reminders went out (claimed before sending: at most once).
    reminded_at: datetime | None = utc_datetime(nullable=True)
    review_reminded_at: datetime | None = utc_datetime(nullable=True)
    # When the close was shown in Discord (message edited, result posted, linked actions told). Empty
    # after a crash between the close and the announcement: it is then announced at the next run.
    announced_at: datetime | None = utc_datetime(nullable=True)
    created_at: datetime = utc_datetime()
    updated_at: datetime = utc_datetime()


class Vote(SQLModel, table=True):
    """A voter's current ballot on a decision: at most one, which the database enforces."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("decision_id", "voter_id", name="uq_votes_decision_voter"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    decision_id: int = Field(
        sa_column=Column(Integer, ForeignKey("decisions.id", ondelete="CASCADE"), nullable=False)
    )
    voter_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    ballot: str = Field(sa_column=Column(String(400), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cast_at: datetime = utc_datetime()
    updated_at: datetime = utc_datetime()


class VoteAction(StrEnum):
    CAST = "cast"
    CHANGE = "change"
    WITHDRAW = "withdraw"


class VoteEvent(SQLModel, table=True):
    """The history of every vote, change and withdrawal (dropped for anonymous decisions at the close)."""

    __tablename__ = "vote_events"
    __table_args__ = (Index("ix_vote_events_decision", "decision_id"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    decision_id: int = Field(
        sa_column=Column(Integer, ForeignKey("decisions.id", ondelete="CASCADE"), nullable=False)
    )
    voter_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    action: str = Field(sa_column=Column(String(16), nullable=False))
    ballot: str | None = Field(default=None, sa_column=Column(String(400), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = utc_datetime()


class ApplicationStatus(StrEnum):
    OPEN = "open"
    ADMITTED = "admitted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Application(SQLModel, table=True):
    """A contributor's request to become a member, decided by a linked decision (or a moderator)."""

    __tablename__ = "applications"
    __table_args__ = (
        # One open application per person, enforced by the database.
        Index(
            "uq_applications_one_open",
            "guild_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    sponsor_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    decision_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("decisions.id"), nullable=True)
    )
    status: str = Field(default=ApplicationStatus.OPEN.value, sa_column=Column(String(16), nullable=False))
    statement: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_datetime()
    decided_at: datetime | None = utc_datetime(nullable=True)


class FundPolicy(StrEnum):
    DECISION = "decision"  # every request goes to the members
    TREASURER = (
        "treasurer"  # requests up to the fund's limit are approved by a treasurer, larger ones decided
    )


class Fund(SQLModel, table=True):
    """A pool of money in one currency. Its balance is the sum of its ledger entries (cached here, and
    checked against them), never below zero."""

    __tablename__ = "funds"
    __table_args__ = (
        UniqueConstraint("guild_id", "name_key", name="uq_funds_guild_name"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(sa_column=Column(String(80), nullable=False))
    name_key: str = Field(sa_column=Column(String(80), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    policy: str = Field(default=FundPolicy.DECISION.value, sa_column=Column(String(16), nullable=False))
    treasurer_limit: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    decision_type: str = Field(default="consent", sa_column=Column(String(32), nullable=False))
    balance: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    archived: bool = False
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()


class LedgerKind(StrEnum):
    CONTRIBUTION = "contribution"
    PAYOUT = "payout"
    REVERSAL = "reversal"
    ROUND_POT = "round_pot"  # a funding round's pot set aside from the fund (negative)
    ROUND_RETURN = "round_return"  # the pot back in the fund when the round ends (positive)
    NETWORK_TRANSFER = "network_transfer"  # to a network's fund (negative; its entry there is positive)


class LedgerEntry(SQLModel, table=True):
    """One movement of money. Append-only: a database trigger refuses any UPDATE or DELETE; a mistake is
    corrected by a reversal entry naming the entry it corrects."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("guild_id", "idempotency_key", name="uq_ledger_idempotency"),
        UniqueConstraint("reverses_entry_id", name="uq_ledger_reverses_once"),
        Index("ix_ledger_fund_created", "fund_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    fund_id: int = Field(sa_column=Column(Integer, ForeignKey("funds.id"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    # Signed minor units: contributions positive, payouts negative, a reversal the opposite of its entry.
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    member_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    request_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    contribution_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reverses_entry_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("ledger_entries.id"), nullable=True)
    )
    reference: str = Field(default="", sa_column=Column(String(200), nullable=False))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False))
    recorded_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()


class ContributionStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Contribution(SQLModel, table=True):
    """Money a member says they put in; it reaches the ledger when a treasurer confirms it arrived."""

    __tablename__ = "contributions"
    __table_args__ = (UniqueConstraint("guild_id", "idempotency_key", name="uq_contributions_idempotency"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    fund_id: int = Field(sa_column=Column(Integer, ForeignKey("funds.id"), nullable=False))
    member_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(
        default=ContributionStatus.PENDING.value, sa_column=Column(String(16), nullable=False)
    )
    recorded_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    confirmed_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ledger_entry_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = utc_datetime()
    decided_at: datetime | None = utc_datetime(nullable=True)


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class FundingRequest(SQLModel, table=True):
    """A member asks to be paid from a fund: pending → approved → paid, or rejected/cancelled/expired."""

    __tablename__ = "funding_requests"
    __table_args__ = (Index("ix_funding_requests_fund_status", "fund_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    fund_id: int = Field(sa_column=Column(Integer, ForeignKey("funds.id"), nullable=False))
    requester_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount_min: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount_max: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    approved_amount: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    purpose: str = Field(sa_column=Column(String(200), nullable=False))
    details: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=RequestStatus.PENDING.value, sa_column=Column(String(16), nullable=False))
    decision_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("decisions.id"), nullable=True)
    )
    decided_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    decision_note: str = Field(default="", sa_column=Column(Text, nullable=False))
    payout_entry_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reference: str = Field(default="", sa_column=Column(String(200), nullable=False))
    expires_at: datetime | None = utc_datetime(nullable=True)
    stale_reminded_at: datetime | None = utc_datetime(nullable=True)
    created_at: datetime = utc_datetime()
    updated_at: datetime = utc_datetime()
    decided_at: datetime | None = utc_datetime(nullable=True)


class ReminderKind(StrEnum):
    CHANNEL = "channel"  # a recurring governance reminder posted in a channel
    PERSONAL = "personal"  # /remind me: a DM (or a mention where DMs are closed)
    DIGEST = "digest"  # the weekly digest


class ReminderStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class Reminder(SQLModel, table=True):
    """Something to say at a time: once (personal) or on a schedule in the guild's timezone (channel,
    digest). `next_run_at` is claimed (moved on, or the status set to done) before the message is sent."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_status_next", "status", "next_run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    channel_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    schedule: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    anchor_at: datetime = utc_datetime()
    next_run_at: datetime | None = utc_datetime(nullable=True)
    last_run_at: datetime | None = utc_datetime(nullable=True)
    status: str = Field(default=ReminderStatus.ACTIVE.value, sa_column=Column(String(16), nullable=False))
    run_count: int = 0
    created_at: datetime = utc_datetime()


class Webhook(SQLModel, table=True):
    """An outbound webhook: events are POSTed as signed JSON to `url`."""

    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    url: str = Field(sa_column=Column(String(500), nullable=False))
    secret: str = Field(sa_column=Column(String(128), nullable=False))
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    # The audit log is the outbox: events after this audit id have not been turned into deliveries yet.
    last_event_id: int = 0
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: stored before sending, retried with backoff until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    webhook_id: int = Field(
        sa_column=Column(Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    delivery_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    event: str = Field(sa_column=Column(String(64), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING.value, sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = utc_datetime(nullable=True)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_datetime()
    delivered_at: datetime | None = utc_datetime(nullable=True)


class OwedMessage(SQLModel, table=True):
    """Something the bot owes people in Discord (a close's result, a reminder, a nudge, a digest...):
    written in the transaction that made it owed, kept until Discord confirms it, retried with backoff when
    Discord stumbles, given up (and shown to moderators) when it cannot be delivered."""

    __tablename__ = "owed_messages"
    __table_args__ = (
        # A repeat of the same thing owed (a retried claim, a second process) is the same row.
        UniqueConstraint("guild_id", "key", name="uq_owed_messages_key"),
        Index("ix_owed_messages_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    key: str = Field(sa_column=Column(String(160), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING.value, sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = utc_datetime(nullable=True)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_datetime()
    delivered_at: datetime | None = utc_datetime(nullable=True)


class RoundPhase(StrEnum):
    PROPOSED = "proposed"  # the members decide whether to hold it; no money has moved yet
    IDEAS = "ideas"  # buckets are proposed and discussed
    FUNDING = "funding"  # members put their allocation into buckets
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Round(SQLModel, table=True):
    """A funding round: a pot set aside from one fund, shared out by the members among buckets. The pot
    leaves the fund's ledger when the round opens and comes back when it ends; what the funded buckets won
    becomes approved requests on the fund, paid as any request is."""

    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint("pot > 0", name="pot_positive"),
        CheckConstraint("allocated >= 0 AND allocated <= pot", name="allocated_within_pot"),
        CheckConstraint("(fund_id IS NULL) <> (network_fund_id IS NULL)", name="one_source"),
        Index("ix_rounds_phase", "phase"),
        Index("ix_rounds_network", "network_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Its home: the cooperative that set it up (and, for a network round, closes it).
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Where the pot comes from: one of the cooperative's funds, or, for a network round, a network fund
    # (the members of every member cooperative then take part).
    fund_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("funds.id"), nullable=True)
    )
    network_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("networks.id"), nullable=True)
    )
    network_fund_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("network_funds.id"), nullable=True)
    )
    # The network's decision whether to hold it (a network round above its fund's treasurer limit).
    network_proposal_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    guidelines: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    pot: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Each recipient's share; 0 until funding opens when it is the pot split equally.
    per_member: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    allocated: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    role_id: int | None = snowflake(nullable=True)  # who receives an allocation; None: the members
    max_per_bucket: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    own_buckets: bool = True  # may a creator fund their own bucket
    creators_open: bool = False  # co-creators start funding their bucket without a moderator
    phase: str = Field(default=RoundPhase.IDEAS.value, sa_column=Column(String(16), nullable=False))
    funding_opens_at: datetime = utc_datetime()
    funding_closes_at: datetime = utc_datetime()
    decision_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    channel_id: int | None = snowflake(nullable=True)
    message_id: int | None = snowflake(nullable=True)
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()
    opened_at: datetime | None = utc_datetime(nullable=True)  # the pot left the fund
    funding_opened_at: datetime | None = utc_datetime(nullable=True)
    closed_at: datetime | None = utc_datetime(nullable=True)
    # What the close did, in words, as the decision register shows it.
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    outcome_said: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The closing-soon nudges, claimed once each.
    ideas_reminded_at: datetime | None = utc_datetime(nullable=True)
    funding_reminded_at: datetime | None = utc_datetime(nullable=True)


class RoundAllocation(SQLModel, table=True):
    """What one person may spend in a round: given (allocated) and put into buckets (spent)."""

    __tablename__ = "round_allocations"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id", name="uq_round_allocations_member"),
        CheckConstraint("spent >= 0 AND spent <= allocated", name="spent_within_allocated"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    round_id: int = Field(sa_column=Column(Integer, ForeignKey("rounds.id"), nullable=False))
    member_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    allocated: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    spent: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = utc_datetime()


class BucketStatus(StrEnum):
    IDEA = "idea"  # proposed, not yet open for funding
    OPEN = "open"  # members can fund it
    FUNDED = "funded"  # reached its maximum, or its minimum at the close
    UNFUNDED = "unfunded"  # below its minimum at the close: its funders got their money back
    CANCELLED = "cancelled"


class Bucket(SQLModel, table=True):
    """A project proposed in a round, with a budget (a minimum, and a maximum as its stretch goal)."""

    __tablename__ = "buckets"
    __table_args__ = (
        CheckConstraint("min_total > 0 AND min_total <= max_total", name="budget_in_order"),
        CheckConstraint("funded >= 0 AND funded <= max_total", name="funded_within_budget"),
        Index("ix_buckets_round_status", "round_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    round_id: int = Field(sa_column=Column(Integer, ForeignKey("rounds.id"), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    # [{"label": "Timber", "min": 20000, "max": 30000}, ...] in minor units; max may equal min.
    budget: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_total: int = Field(sa_column=Column(BigInteger, nullable=False))
    max_total: int = Field(sa_column=Column(BigInteger, nullable=False))
    funded: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default=BucketStatus.IDEA.value, sa_column=Column(String(16), nullable=False))
    creator_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    co_creators: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel_id: int | None = snowflake(nullable=True)
    message_id: int | None = snowflake(nullable=True)
    request_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = utc_datetime()
    opened_at: datetime | None = utc_datetime(nullable=True)
    funded_at: datetime | None = utc_datetime(nullable=True)
    closed_at: datetime | None = utc_datetime(nullable=True)


class BucketFunding(SQLModel, table=True):
    """What one person has in one bucket now (the sum of their funding events)."""

    __tablename__ = "bucket_funding"
    __table_args__ = (
        UniqueConstraint("bucket_id", "member_id", name="uq_bucket_funding_member"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    round_id: int = Field(sa_column=Column(Integer, ForeignKey("rounds.id"), nullable=False))
    bucket_id: int = Field(sa_column=Column(Integer, ForeignKey("buckets.id"), nullable=False))
    member_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class BucketFundingEvent(SQLModel, table=True):
    """Every change of what someone has in a bucket: put in (positive), taken back or refunded (negative).
    The interaction id is its idempotency key, so a repeated click counts once."""

    __tablename__ = "bucket_funding_events"
    __table_args__ = (UniqueConstraint("guild_id", "idempotency_key", name="uq_bucket_funding_events_key"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    round_id: int = Field(sa_column=Column(Integer, ForeignKey("rounds.id"), nullable=False))
    bucket_id: int = Field(sa_column=Column(Integer, ForeignKey("buckets.id"), nullable=False))
    member_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    delta: int = Field(sa_column=Column(BigInteger, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = utc_datetime()


class ConcernStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class NetworkBucketPost(SQLModel, table=True):
    """Where a network round's bucket is posted in one member cooperative: each cooperative shows every
    bucket in its own governance channel, posted and kept current by the process that serves it."""

    __tablename__ = "network_bucket_posts"
    __table_args__ = (UniqueConstraint("bucket_id", "guild_id", name="uq_network_bucket_posts_bucket_guild"),)

    id: int | None = Field(default=None, primary_key=True)
    bucket_id: int = Field(sa_column=Column(Integer, ForeignKey("buckets.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    channel_id: int = snowflake()
    message_id: int = snowflake()


class BucketConcern(SQLModel, table=True):
    """A concern raised about a bucket against one of its round's guidelines, until resolved."""

    __tablename__ = "bucket_concerns"

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    bucket_id: int = Field(sa_column=Column(Integer, ForeignKey("buckets.id"), nullable=False))
    guideline: int  # 1-based position in the round's guidelines
    text: str = Field(sa_column=Column(Text, nullable=False))
    raised_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default=ConcernStatus.OPEN.value, sa_column=Column(String(16), nullable=False))
    resolution: str = Field(default="", sa_column=Column(Text, nullable=False))
    resolved_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = utc_datetime()
    resolved_at: datetime | None = utc_datetime(nullable=True)


# --- networks: cooperatives (servers) that decide together -----------------------------------------


class Network(SQLModel, table=True):
    """Cooperatives (Discord servers running coopbot) that decide together. Only what is shared on purpose
    (its name, its member cooperatives, its proposals and their votes) is visible across servers."""

    __tablename__ = "networks"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(80), nullable=False))
    name_key: str = Field(sa_column=Column(String(80), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Its home: the cooperative that created it (every row names the cooperative it came from).
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # A cooperative that joined by its own decision also waits for the network's (a network proposal).
    requires_acceptance: bool = False
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()


class NetworkMemberStatus(StrEnum):
    JOINING = "joining"  # the cooperative's own decision to join is open
    ACCEPTING = "accepting"  # the network's decision to accept it is open
    MEMBER = "member"
    DECLINED = "declined"  # one side said no
    LEFT = "left"


class NetworkMembership(SQLModel, table=True):
    """One cooperative's place in one network, from its decision to join until it leaves (kept after)."""

    __tablename__ = "network_memberships"
    __table_args__ = (
        # At most one live membership (joining, accepting or member) per cooperative and network.
        Index(
            "uq_network_memberships_live",
            "network_id",
            "guild_id",
            unique=True,
            sqlite_where=text("status IN ('joining', 'accepting', 'member')"),
            postgresql_where=text("status IN ('joining', 'accepting', 'member')"),
        ),
        Index("ix_network_memberships_guild", "guild_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(sa_column=Column(Integer, ForeignKey("networks.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The server's name when it joined: what the other cooperatives see of it.
    coop_name: str = Field(sa_column=Column(String(100), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    join_decision_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    acceptance_proposal_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    leave_decision_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = utc_datetime()
    joined_at: datetime | None = utc_datetime(nullable=True)
    left_at: datetime | None = utc_datetime(nullable=True)


class NetworkInvite(SQLModel, table=True):
    """A single-use invitation for one more cooperative, valid until `expires_at`."""

    __tablename__ = "network_invites"
    __table_args__ = (UniqueConstraint("code", name="uq_network_invites_code"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(sa_column=Column(Integer, ForeignKey("networks.id"), nullable=False))
    code: str = Field(sa_column=Column(String(16), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # the cooperative that issued it
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: datetime = utc_datetime()
    used_by_guild_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    used_at: datetime | None = utc_datetime(nullable=True)
    created_at: datetime = utc_datetime()


class NetworkCounting(StrEnum):
    PERSON = "person"  # every eligible member of every member cooperative votes
    COOPERATIVE = "cooperative"  # each cooperative decides inside; its outcome is its one vote


class NetworkProposal(SQLModel, table=True):
    """A proposal to the whole network. Each member cooperative holds a copy (a decision of its own, linked
    here) with its buttons and thread; the network closes when every copy has closed."""

    __tablename__ = "network_proposals"
    __table_args__ = (Index("ix_network_proposals_network_status", "network_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(sa_column=Column(Integer, ForeignKey("networks.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # where it was proposed
    author_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    details: str = Field(default="", sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    counting: str = Field(sa_column=Column(String(16), nullable=False))
    # Counting by cooperative: consent (no cooperative objects), majority, or consensus.
    network_rule: str = Field(default="consent", sa_column=Column(String(16), nullable=False))
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    anonymous: bool = False
    status: str = Field(default=DecisionStatus.OPEN.value, sa_column=Column(String(16), nullable=False))
    closes_at: datetime = utc_datetime()
    closed_at: datetime | None = utc_datetime(nullable=True)
    passed: bool | None = None
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    outcome_said: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # What it decides when it is about something: ("network_admission", membership id).
    link_kind: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    link_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = utc_datetime()


class NetworkCopy(SQLModel, table=True):
    """A network proposal as one member cooperative holds it: its decision there and how many of its people
    may vote (as its bot process last counted them, for the network-wide tally)."""

    __tablename__ = "network_copies"
    __table_args__ = (
        UniqueConstraint("proposal_id", "guild_id", name="uq_network_copies_proposal_guild"),
        UniqueConstraint("decision_id", name="uq_network_copies_decision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(sa_column=Column(Integer, ForeignKey("network_proposals.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    decision_id: int = Field(sa_column=Column(Integer, ForeignKey("decisions.id"), nullable=False))
    eligible: int = 0


class NetworkEvent(SQLModel, table=True):
    """The network's own log: every network action, by which cooperative and person (each is also in the
    audit log of the cooperative where it happened)."""

    __tablename__ = "network_events"
    __table_args__ = (Index("ix_network_events_network_created", "network_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(sa_column=Column(Integer, ForeignKey("networks.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    actor_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    subject: str = Field(default="", sa_column=Column(String(128), nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_datetime()


class NetworkFund(SQLModel, table=True):
    """Money a network holds together, in one currency, put in by its cooperatives from their own funds.
    Its balance is the sum of its entries (cached here), never below zero."""

    __tablename__ = "network_funds"
    __table_args__ = (
        UniqueConstraint("network_id", "name_key", name="uq_network_funds_network_name"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(sa_column=Column(Integer, ForeignKey("networks.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # the cooperative that opened it
    name: str = Field(sa_column=Column(String(80), nullable=False))
    name_key: str = Field(sa_column=Column(String(80), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    balance: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Requests up to this are approved by a treasurer of a member cooperative; larger ones go to the network.
    treasurer_limit: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Named people who decide and pay its requests, from any member cooperative; none named: the treasurers
    # of every member cooperative do.
    treasurer_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()


class NetworkLedgerEntry(SQLModel, table=True):
    """One movement of a network fund's money. Append-only (a database trigger refuses UPDATE and DELETE),
    like a cooperative's ledger; a transfer in has its twin, the debit, on the giving cooperative's ledger."""

    __tablename__ = "network_ledger_entries"
    __table_args__ = (
        UniqueConstraint("network_fund_id", "idempotency_key", name="uq_network_ledger_idempotency"),
        Index("ix_network_ledger_fund_created", "network_fund_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    network_fund_id: int = Field(sa_column=Column(Integer, ForeignKey("network_funds.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # the cooperative the money came from
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))  # signed minor units
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    # The giving cooperative's own entry for the same money (its debit).
    source_entry_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("ledger_entries.id"), nullable=True)
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False))
    recorded_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_datetime()


class NetworkFundRequest(SQLModel, table=True):
    """A member of a member cooperative asks a network fund for money: pending → approved → paid, or
    rejected. Decided by a network proposal, or by a treasurer within the fund's limit."""

    __tablename__ = "network_fund_requests"
    __table_args__ = (Index("ix_network_fund_requests_fund_status", "network_fund_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    network_fund_id: int = Field(sa_column=Column(Integer, ForeignKey("network_funds.id"), nullable=False))
    guild_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # the asker's cooperative
    requester_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    proposal_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    decided_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    paid_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    payout_entry_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reference: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = utc_datetime()
    decided_at: datetime | None = utc_datetime(nullable=True)
