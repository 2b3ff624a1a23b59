"""Funding rounds: a pot set aside from a fund, shared out by the members among buckets, as in Cobudget.

The life of a round: *proposed* (only when the members decide first whether to hold it) → *ideas* (buckets
are proposed and discussed; concerns are raised against the round's guidelines) → *funding* (every
recipient gets the same allocation and puts it into open buckets) → *closed* (every bucket at or above its
minimum is funded, the rest refunded) or *cancelled*.

Money. The pot leaves the fund's available balance when the round opens (a ``round_pot`` ledger entry) and
comes back whole when it ends (``round_return``); at the close each funded bucket becomes an approved
request on the fund for what it won, paid by the treasurers like any request, so the fund never promises
more than it holds. Inside the round, amounts are integer minor units in three places whose sum is the pot
at every moment: what is not allocated (``pot - allocated``), what people hold unspent
(``allocated - spent`` per person), and what is in buckets (``funded`` per bucket).

Races. Every movement is decided by the database in one transaction, by conditional UPDATEs whose row count
decides: a bucket never passes its maximum (``funded <= max_total - x``), a person never spends more than
they hold (``spent <= allocated - x``), the round never gives out more than its pot. The round's row is
read with a lock on PostgreSQL (shared for a click, exclusive for the close), so no money lands in a bucket
after the close; on SQLite the write transactions queue. Each click carries its interaction id as an
idempotency key: a repeat counts once.

A network round takes its pot from a network fund, and the members of every member cooperative take part
(``network``: its news and its buckets' posts owed to each member cooperative through the outbox).

The package: ``lifecycle`` (create, open, close, cancel), ``allocations``, ``buckets``, ``funding`` (money
into buckets and back), ``reading``, ``network``. Callers use ``governance.rounds`` as one module.
"""

from __future__ import annotations

from governance.rounds._common import (
    LIVE_BUCKETS,
    MAX_BUDGET_LINES,
    MAX_CO_CREATORS,
    MAX_CONCERN,
    MAX_DESCRIPTION,
    MAX_GUIDELINE,
    MAX_GUIDELINES,
    MAX_LINE_LABEL,
    MAX_PHASE,
    MAX_TITLE,
    MIN_FUNDING,
    NETWORK_BUCKET_KIND,
    NETWORK_ROUND_KIND,
    NETWORK_ROUND_LINK,
    OPEN_PHASES,
    ROUND_LINK,
    AllocationChange,
    BucketView,
    CancelledBucket,
    ClosedRound,
    FundingReceipt,
    RoundDraft,
    RoundOverview,
    RoundReceipt,
    bucket_label,
    eligible_ids,
    is_recipient,
    label,
    parse_budget,
    parse_guidelines,
    phase_line,
    visible_from,
)
from governance.rounds.allocations import allocate_newcomer, grant_allocations, open_funding, set_allocations
from governance.rounds.buckets import (
    attach_bucket_message,
    cancel_bucket,
    open_bucket,
    propose_bucket,
    raise_concern,
    resolve_concern,
)
from governance.rounds.funding import fund_bucket, withdraw_from_bucket
from governance.rounds.lifecycle import (
    cancel_round,
    check_round,
    close_round,
    create_round,
    on_round_decision_closed,
)
from governance.rounds.network import (
    CANCELLED,
    CLOSED,
    FUNDING,
    FUNDING_ENDING,
    IDEAS_ENDING,
    OPENED,
    attach_bucket_post,
    bucket_post_in,
    on_network_round_decided,
    owe_bucket_refresh,
    unspent_in,
)
from governance.rounds.reading import (
    RoundNudge,
    bucket_view,
    claim_round_nudges,
    closed_round_of,
    get_round,
    list_buckets,
    list_rounds,
    next_round_due,
    next_round_nudge,
    round_overview,
    rounds_due,
)

__all__ = [
    "CANCELLED",
    "CLOSED",
    "FUNDING",
    "FUNDING_ENDING",
    "IDEAS_ENDING",
    "LIVE_BUCKETS",
    "MAX_BUDGET_LINES",
    "MAX_CONCERN",
    "MAX_CO_CREATORS",
    "MAX_DESCRIPTION",
    "MAX_GUIDELINE",
    "MAX_GUIDELINES",
    "MAX_LINE_LABEL",
    "MAX_PHASE",
    "MAX_TITLE",
    "MIN_FUNDING",
    "NETWORK_BUCKET_KIND",
    "NETWORK_ROUND_KIND",
    "NETWORK_ROUND_LINK",
    "OPENED",
    "OPEN_PHASES",
    "ROUND_LINK",
    "AllocationChange",
    "BucketView",
    "CancelledBucket",
    "ClosedRound",
    "FundingReceipt",
    "RoundDraft",
    "RoundNudge",
    "RoundOverview",
    "RoundReceipt",
    "allocate_newcomer",
    "attach_bucket_message",
    "attach_bucket_post",
    "bucket_label",
    "bucket_post_in",
    "bucket_view",
    "cancel_bucket",
    "cancel_round",
    "check_round",
    "claim_round_nudges",
    "close_round",
    "closed_round_of",
    "create_round",
    "eligible_ids",
    "fund_bucket",
    "get_round",
    "grant_allocations",
    "is_recipient",
    "label",
    "list_buckets",
    "list_rounds",
    "next_round_due",
    "next_round_nudge",
    "on_network_round_decided",
    "on_round_decision_closed",
    "open_bucket",
    "open_funding",
    "owe_bucket_refresh",
    "parse_budget",
    "parse_guidelines",
    "phase_line",
    "propose_bucket",
    "raise_concern",
    "resolve_concern",
    "round_overview",
    "rounds_due",
    "set_allocations",
    "unspent_in",
    "visible_from",
    "withdraw_from_bucket",
]
