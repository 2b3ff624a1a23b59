"""Pooled funds: funds, contributions, funding requests, payouts and the append-only ledger.

Money is integer minor units of the fund's ISO 4217 currency (``governance.money``), never a float. A fund's
balance is the sum of its ledger entries; ``funds.balance`` caches it so that the database itself can refuse
an overdraw: every movement that takes money out is a conditional
``UPDATE funds SET balance = balance - :x WHERE id = :id AND balance >= :x`` whose row count decides, inside
the same transaction as the entry it records (and the table has ``CHECK (balance >= 0)`` besides). Two
payouts racing on one fund are therefore settled by the database: on SQLite the write transactions queue
(BEGIN IMMEDIATE), on PostgreSQL the second UPDATE waits for the first and re-reads the row.

The ledger is append-only (database triggers refuse UPDATE and DELETE); a mistake is corrected by a reversal
entry naming the entry it corrects and why. Each entry carries an idempotency key (the Discord interaction
id), unique per cooperative, so a double click or a retried interaction records once.

Requests: pending → approved → paid, or rejected / cancelled / expired.

* By the fund's policy a request is decided by the members (a linked decision of the fund's decision type
  is opened in the same transaction) or, when the fund lets treasurers approve and the most asked is
  within the fund's treasurer limit, by a treasurer. Nobody approves, rejects or pays their own request.
* When the linked decision passes, the request is approved for what was asked at most: ``amount_max`` when
  a range was given, else ``amount_min``. A treasurer approving may choose any amount within
  [``amount_min``, ``amount_max``] (by default the most asked), but never more than the fund has available.
  The members' decision is not limited by what is available: it records what was decided, and the payout
  still can never overdraw.
* committed = the sum of approved, unpaid amounts; available = balance - committed.
* A proposal that decides a request runs its full time: closing it early is refused (its author is the
  requester, who could otherwise approve their own request by closing it before any objection).
* A request waiting for a treasurer expires after :data:`REQUEST_LIFETIME`; a request whose proposal was
  cancelled is cancelled with it (both by :func:`settle_due`).

Every state change writes one audit event in its own transaction (actions ``fund.*``).

The package: ``accounts`` (funds themselves), ``contributions``, ``requests`` (asked, decided, expired),
``payouts`` (money out and corrections), ``export`` (the ledger as people read it); the ledger's
primitives are ``governance.ledger``. Callers use ``governance.funds`` as one module.
"""

from __future__ import annotations

from governance.funds._common import (
    CONTRIBUTION_NOTICE,
    FUND_DECISION_KINDS,
    LEDGER_PAGE_SIZE,
    LINK_KIND,
    MAX_DESCRIPTION,
    MAX_DETAILS,
    MAX_FUND_NAME,
    MAX_IDEMPOTENCY_KEY,
    MAX_NOTE,
    MAX_PURPOSE,
    MAX_REASON,
    MAX_REFERENCE,
    OPEN_REQUEST_STATUSES,
    REQUEST_LIFETIME,
    REQUEST_NOTICE,
    ContributionReceipt,
    CorrectionReceipt,
    FundDraft,
    FundOverview,
    FundTotals,
    LedgerPage,
    PayoutReceipt,
    RequestChange,
    RequestReceipt,
    RequestView,
    SettledRequest,
    can_use_funds,
    describe_amounts,
    find_fund_in,
    idempotency_key_of,
    name_key,
    read_amount,
    requested_top,
    require_fund_member,
    require_fund_reader,
    totals_in,
)
from governance.funds.accounts import (
    create_fund,
    fund_overview,
    fund_totals,
    get_fund,
    list_funds,
    suggest_funds,
)
from governance.funds.contributions import (
    confirm_contribution,
    list_contributions,
    owed_contribution,
    owed_request,
    record_contribution,
    reject_contribution,
)
from governance.funds.export import (
    CSV_COLUMNS,
    all_entries,
    balance_points,
    export_ledger,
    ledger_csv,
    ledger_page,
)
from governance.funds.payouts import correct_entry, pay_request, suggest_entries
from governance.funds.requests import (
    RequestPlan,
    approve_request,
    cancel_request,
    decided_by_treasurer,
    get_request,
    list_requests,
    next_expiry,
    on_request_decision_closed,
    plan_request,
    reject_request,
    request_funds,
    settle_due,
)

__all__ = [
    "CONTRIBUTION_NOTICE",
    "CSV_COLUMNS",
    "FUND_DECISION_KINDS",
    "LEDGER_PAGE_SIZE",
    "LINK_KIND",
    "MAX_DESCRIPTION",
    "MAX_DETAILS",
    "MAX_FUND_NAME",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_NOTE",
    "MAX_PURPOSE",
    "MAX_REASON",
    "MAX_REFERENCE",
    "OPEN_REQUEST_STATUSES",
    "REQUEST_LIFETIME",
    "REQUEST_NOTICE",
    "ContributionReceipt",
    "CorrectionReceipt",
    "FundDraft",
    "FundOverview",
    "FundTotals",
    "LedgerPage",
    "PayoutReceipt",
    "RequestChange",
    "RequestPlan",
    "RequestReceipt",
    "RequestView",
    "SettledRequest",
    "all_entries",
    "approve_request",
    "balance_points",
    "can_use_funds",
    "cancel_request",
    "confirm_contribution",
    "correct_entry",
    "create_fund",
    "decided_by_treasurer",
    "describe_amounts",
    "export_ledger",
    "find_fund_in",
    "fund_overview",
    "fund_totals",
    "get_fund",
    "get_request",
    "idempotency_key_of",
    "ledger_csv",
    "ledger_page",
    "list_contributions",
    "list_funds",
    "list_requests",
    "name_key",
    "next_expiry",
    "on_request_decision_closed",
    "owed_contribution",
    "owed_request",
    "pay_request",
    "plan_request",
    "read_amount",
    "record_contribution",
    "reject_contribution",
    "reject_request",
    "request_funds",
    "requested_top",
    "require_fund_member",
    "require_fund_reader",
    "settle_due",
    "suggest_entries",
    "suggest_funds",
    "totals_in",
]
