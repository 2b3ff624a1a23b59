"""The records the cogs show, as the cogs may see them: row types and their enums, read-only by convention.

The cogs never import ``storage`` (``make lint`` checks it with import-linter): what they need of the stored
records comes through here, so that a change of storage is a change of governance, never of a cog. The
cogs read these rows; only governance writes them.
"""

from __future__ import annotations

from storage.database import Database
from storage.models import (
    MAX_ID,
    Application,
    ApplicationStatus,
    AuditEvent,
    Bucket,
    BucketConcern,
    BucketStatus,
    ConcernStatus,
    Contribution,
    CoopSettings,
    Decision,
    DecisionStatus,
    Fund,
    FundingRequest,
    FundPolicy,
    LedgerEntry,
    LedgerKind,
    Member,
    MemberStatus,
    Network,
    NetworkEvent,
    NetworkFund,
    NetworkFundRequest,
    NetworkMembership,
    NetworkProposal,
    OwedMessage,
    Reminder,
    ReminderKind,
    RequestStatus,
    Round,
    RoundPhase,
)

__all__ = [
    "MAX_ID",
    "Application",
    "ApplicationStatus",
    "AuditEvent",
    "Bucket",
    "BucketConcern",
    "BucketStatus",
    "ConcernStatus",
    "Contribution",
    "CoopSettings",
    "Database",
    "Decision",
    "DecisionStatus",
    "Fund",
    "FundPolicy",
    "FundingRequest",
    "LedgerEntry",
    "LedgerKind",
    "Member",
    "MemberStatus",
    "Network",
    "NetworkEvent",
    "NetworkFund",
    "NetworkFundRequest",
    "NetworkMembership",
    "NetworkProposal",
    "OwedMessage",
    "Reminder",
    "ReminderKind",
    "RequestStatus",
    "Round",
    "RoundPhase",
]
