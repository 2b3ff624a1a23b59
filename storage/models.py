"""SQLModel tables. Every row that belongs to a cooperative carries `guild_id`.

Discord ids are 64-bit snowflakes, hence BigInteger. Times are aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class Guild(SQLModel, table=True):
    """A cooperative: one Discord server and its governance settings."""

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
    default_decision_type: str = Field(default="consent", sa_column=Column(String(32), nullable=False))
    default_decision_seconds: int = Field(default=7 * 24 * 3600)
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


class AuditEvent(SQLModel, table=True):
    """One governance action: who did what to which subject, when. Written in the same transaction."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_guild_created", "guild_id", "created_at"),)

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
    status: str = Field(default=DecisionStatus.OPEN.value, sa_column=Column(String(16), nullable=False))
    opens_at: datetime = utc_datetime()
    closes_at: datetime = utc_datetime()
    closed_at: datetime | None = utc_datetime(nullable=True)
    channel_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    thread_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    passed: bool | None = None
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The final tally as data (counts per ballot, rounds...), so the register never recounts votes that
    # an anonymous decision no longer keeps.
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    outcome_statement: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    review_at: datetime | None = utc_datetime(nullable=True)
    # What the decision is about when it acts on something: ("admission", member id), ("fund_request", id).
    link_kind: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    link_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
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
