"""How funds look in Discord: the fund card, ledger pages, requests, and the notices for treasurers.

Everything here is pure: plain values in, text or embeds out, in the language given (the member's for an
answer, the cooperative's for a public post). User text (names, purposes, notes) is shortened visibly to
Discord's limits; mentions inside embeds never ping anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from cogs._text import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TITLE_LIMIT,
    FIELD_LIMIT,
    MESSAGE_LIMIT,
    one_line,
    plain,
    shorten,
)
from governance import funds
from governance.decision_types import get_type
from governance.i18n import N_, SOURCE, Text, _, _n, language_of, translate
from governance.money import Money
from governance.records import (
    Contribution,
    Fund,
    FundingRequest,
    FundPolicy,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)
from governance.timeparse import discord_timestamp

BAR_CELLS = 10
SHOWN_OPEN_REQUESTS = 8

COLOUR_FUND = discord.Colour.dark_teal()
COLOUR_WARNING = discord.Colour.orange()

STATUS_EMOJI = {
    RequestStatus.PENDING.value: "⏳",
    RequestStatus.APPROVED.value: "✅",
    RequestStatus.PAID.value: "💸",
    RequestStatus.REJECTED.value: "❌",
    RequestStatus.CANCELLED.value: "🚫",
    RequestStatus.EXPIRED.value: "⌛",
}
# A request's state, one word (after its emoji in lists and on the request card).
STATUS_WORDS = {
    RequestStatus.PENDING.value: N_("pending"),
    RequestStatus.APPROVED.value: N_("approved"),
    RequestStatus.PAID.value: N_("paid"),
    RequestStatus.REJECTED.value: N_("rejected"),
    RequestStatus.CANCELLED.value: N_("cancelled"),
    RequestStatus.EXPIRED.value: N_("expired"),
}
# A ledger entry's kind, as a line of the ledger names it (and the /fund ledger filter's choices).
KIND_LABELS = {
    LedgerKind.CONTRIBUTION.value: N_("contribution"),
    LedgerKind.PAYOUT.value: N_("payout"),
    LedgerKind.REVERSAL.value: N_("correction"),
}
# The same kinds in the plural, for a ledger page showing only one kind ("Only contributions").
KIND_PLURALS = {
    LedgerKind.CONTRIBUTION.value: N_("contributions"),
    LedgerKind.PAYOUT.value: N_("payouts"),
    LedgerKind.REVERSAL.value: N_("corrections"),
}


@dataclass(frozen=True)
class Signed:
    """A movement in or out of a fund, in the reader's way of writing numbers: "+" before a positive amount
    (English: as format_signed_amount writes it)."""

    minor: int
    currency: str

    def render(self, language: str) -> str:
        return ("+" if self.minor > 0 else "") + Money(self.minor, self.currency).render(language)

    def __str__(self) -> str:
        return self.render(SOURCE)


def asked(request: FundingRequest) -> Money | Text:
    """What a request asks for: an amount, or a range ("120.00 NZD to 200.00 NZD")."""
    low = Money(request.amount_min, request.currency)
    if request.amount_max is None:
        return low
    return _("{low} to {high}", low=low, high=Money(request.amount_max, request.currency))


def status_mark(status: str, language: str = SOURCE) -> str:
    """A request's state with its emoji ("⏳ pending")."""
    word = STATUS_WORDS.get(status)
    if word is None:
        return status
    return f"{STATUS_EMOJI[status]} {translate(word, language)}"


def status_word(status: str, language: str = SOURCE) -> str:
    word = STATUS_WORDS.get(status)
    return status if word is None else translate(word, language)


def kind_label(kind: str, language: str = SOURCE) -> str:
    label = KIND_LABELS.get(kind)
    return kind if label is None else translate(label, language)


def spaced(text: Text | str) -> Text | str:
    """A sentence to follow another: a space before it, in whichever language it is said."""
    return _(" {sentence}", sentence=text) if text else ""


def remark(text: str, *, note: bool = False) -> Text | str:
    """What a treasurer wrote, to end a message with (" Reason: …" or " Note: …"), or nothing if they wrote
    nothing."""
    if not text.strip():
        return ""
    shown = one_line(text, 300)
    return spaced(_("Note: {note}", note=shown) if note else _("Reason: {reason}", reason=shown))


def progress_bar(share: float, cells: int = BAR_CELLS) -> str:
    """A text bar such as ▰▰▰▰▰▰▱▱▱▱ for 0.6 (clamped to [0, 1])."""
    share = min(max(share, 0.0), 1.0)
    filled = round(share * cells)
    return "▰" * filled + "▱" * (cells - filled)


def policy_text(fund: Fund, language: str = SOURCE) -> str:
    kind = translate(get_type(fund.decision_type).label, language)
    if language_of(language) == SOURCE:
        kind = kind.lower()  # "the members (consent)"; other languages keep the name as translated
    if fund.policy == FundPolicy.TREASURER.value:
        text = _(
            "A treasurer approves requests up to {amount}; larger ones are decided by the members ({type}).",
            amount=Money(fund.treasurer_limit, fund.currency),
            type=kind,
        )
    else:
        text = _("Every request is decided by the members ({type}).", type=kind)
    return text.render(language)


def request_line(request: FundingRequest, available: int, language: str = SOURCE) -> str:
    """One open request in a treasurer's words: what is asked, where it stands (pending a decision, or
    approved and waiting to be paid), and whether the fund holds enough to pay it now. No progress bar: a
    bar read as money already given for a request that nobody has approved."""
    top = funds.requested_top(request)
    head = f"**#{request.id}** {plain(one_line(request.purpose, 80))} · <@{request.requester_id}>"
    if request.status == RequestStatus.APPROVED.value and request.approved_amount is not None:
        approved = _(
            "Approved: {amount}, not paid yet · reserved in the fund",
            amount=Money(request.approved_amount, request.currency),
        )
        return f"{head}\n✅ {approved.render(language)}"
    where = (
        _("the members decide in proposal #{proposal}", proposal=request.decision_id)
        if request.decision_id
        else _("awaiting a treasurer")
    )
    if available >= top:
        cover = _("the fund could pay it now")
    elif available > 0:
        cover = _("the fund has {amount} of it available now", amount=Money(available, request.currency))
    else:
        cover = _("the fund has nothing available for it now")
    pending = _(
        "Pending: {amount} asked · {decider} · {cover}", amount=asked(request), decider=where, cover=cover
    )
    return f"{head}\n⏳ {pending.render(language)}"


def entry_line(
    entry: LedgerEntry,
    *,
    balance_after: int | None = None,
    reversed_by: int | None = None,
    language: str = SOURCE,
) -> str:
    def say(text: Text) -> str:
        return text.render(language)

    parts = [
        f"`#{entry.id}` {discord_timestamp(entry.created_at, 'd')}",
        f"**{Signed(entry.amount, entry.currency).render(language)}**",
        kind_label(entry.kind, language),
    ]
    if entry.member_id:
        parts.append(f"<@{entry.member_id}>")
    if entry.request_id and entry.kind == LedgerKind.PAYOUT.value:
        parts.append(say(_("request #{number}", number=entry.request_id)))
    if entry.reverses_entry_id:
        parts.append(say(_("reverses #{number}", number=entry.reverses_entry_id)))
    if entry.reference:
        parts.append(f"“{one_line(entry.reference, 60)}”")
    if entry.reason:
        parts.append(say(_("why: {reason}", reason=one_line(entry.reason, 80))))
    line = " · ".join(parts)
    if reversed_by is not None:
        line = say(_("~~{entry}~~ (corrected by #{number})", entry=line, number=reversed_by))
    if balance_after is not None:
        line += f" → {Money(balance_after, entry.currency).render(language)}"
    return line


def list_embed(title: Text, lines: list[str], language: str = SOURCE) -> discord.Embed:
    """A list command's answer: one line per fund, request or contribution."""
    return discord.Embed(
        title=title.render(language),
        description=shorten("\n".join(lines), EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR_FUND,
    )


def fund_embed(overview: funds.FundOverview, language: str = SOURCE) -> discord.Embed:
    """/fund show: the balance, what is promised, what is available, open requests, recent movements."""

    def say(text: Text) -> str:
        return text.render(language)

    fund, totals = overview.fund, overview.totals
    currency = fund.currency
    embed = discord.Embed(
        title=shorten(f"{plain(fund.name)} · {currency}", EMBED_TITLE_LIMIT),
        description=shorten(plain(shorten(fund.description, 3800)), EMBED_DESCRIPTION_LIMIT) or None,
        colour=COLOUR_FUND if totals.consistent else COLOUR_WARNING,
    )
    embed.add_field(name=say(_("Balance")), value=Money(totals.balance, currency).render(language))
    embed.add_field(name=say(_("Committed")), value=Money(totals.committed, currency).render(language))
    embed.add_field(name=say(_("Available")), value=Money(totals.available, currency).render(language))
    embed.add_field(name=say(_("Approval")), value=policy_text(fund, language), inline=False)
    if overview.open_requests:
        lines = [
            request_line(r, totals.available, language) for r in overview.open_requests[:SHOWN_OPEN_REQUESTS]
        ]
        hidden = len(overview.open_requests) - SHOWN_OPEN_REQUESTS
        if hidden > 0:
            lines.append(
                say(
                    _n(
                        "… and {count} more (/fund request list)",
                        "… and {count} more (/fund request list)",
                        hidden,
                    )
                )
            )
        embed.add_field(
            name=say(_("Open requests ({count})", count=len(overview.open_requests))),
            value=shorten("\n".join(lines), FIELD_LIMIT),
            inline=False,
        )
    else:
        embed.add_field(name=say(_("Open requests")), value=say(_("None.")), inline=False)
    movements = "\n".join(entry_line(entry, language=language) for entry in overview.recent) or say(
        _("No movements yet.")
    )
    embed.add_field(name=say(_("Recent movements")), value=shorten(movements, FIELD_LIMIT), inline=False)
    if overview.pending_contributions:
        count = overview.pending_contributions
        embed.add_field(
            name=say(_("Waiting for a treasurer")),
            value=say(
                _n(
                    "{count} contribution to confirm (/fund contribution list)",
                    "{count} contributions to confirm (/fund contribution list)",
                    count,
                )
            ),
            inline=False,
        )
    if not totals.consistent:
        embed.add_field(
            name="⚠️ " + say(_("Check")),
            value=say(
                _(
                    "The stored balance ({stored}) differs from the sum of the ledger ({ledger}). The ledger "
                    "is shown; tell a moderator.",
                    stored=Money(totals.cached_balance, currency),
                    ledger=Money(totals.balance, currency),
                )
            ),
            inline=False,
        )
    embed.set_footer(
        text=say(
            _n(
                "Fund #{number} · {count} ledger entries · /fund ledger",
                "Fund #{number} · {count} ledger entries · /fund ledger",
                overview.entry_count,
                number=fund.id,
            )
        )
    )
    return embed


def ledger_embed(
    page: funds.LedgerPage, *, kind: str | None, member_id: int | None, language: str = SOURCE
) -> discord.Embed:
    def say(text: Text) -> str:
        return text.render(language)

    fund = page.fund
    lines = [
        entry_line(
            entry,
            balance_after=page.balance_after.get(entry.id) if entry.id is not None else None,
            reversed_by=page.reversed_by.get(entry.id) if entry.id is not None else None,
            language=language,
        )
        for entry in page.entries
    ]
    filters = []
    if kind:
        plural = KIND_PLURALS.get(kind)
        filters.append(translate(plural, language) if plural is not None else kind)
    if member_id:
        filters.append(f"<@{member_id}>")
    description = "\n".join(lines) or say(_("No entries."))
    if filters:
        description = say(_("Only {filters}", filters=", ".join(filters))) + f"\n\n{description}"
    embed = discord.Embed(
        title=shorten(say(_("Ledger · {fund}", fund=plain(fund.name))), EMBED_TITLE_LIMIT),
        description=shorten(description, EMBED_DESCRIPTION_LIMIT),
        colour=COLOUR_FUND,
    )
    embed.set_footer(
        text=say(
            _n(
                "Page {page} of {pages} · {count} entry · newest first · → balance after each entry",
                "Page {page} of {pages} · {count} entries · newest first · → balance after each entry",
                page.total,
                page=page.page + 1,
                pages=page.pages,
            )
        )
    )
    return embed


def request_embed(view: funds.RequestView, language: str = SOURCE) -> discord.Embed:
    def say(text: Text) -> str:
        return text.render(language)

    request, fund = view.request, view.fund
    embed = discord.Embed(
        title=shorten(
            say(_("Request #{number} · {purpose}", number=request.id, purpose=plain(request.purpose))),
            EMBED_TITLE_LIMIT,
        ),
        description=shorten(plain(shorten(request.details, 3800)), EMBED_DESCRIPTION_LIMIT) or None,
        colour=COLOUR_FUND,
    )
    embed.add_field(name=say(_("Status")), value=status_mark(request.status, language))
    embed.add_field(name=say(_("Asked")), value=asked(request).render(language))
    if request.approved_amount is not None:
        embed.add_field(
            name=say(_("Approved")), value=Money(request.approved_amount, request.currency).render(language)
        )
    embed.add_field(name=say(_("Fund")), value=shorten(plain(fund.name), FIELD_LIMIT))
    embed.add_field(name=say(_("Requested by")), value=f"<@{request.requester_id}>")
    if view.decision is not None:
        embed.add_field(
            name=say(_("Decided by")),
            value=say(_("the members, proposal #{proposal}", proposal=view.decision.id)),
        )
    elif request.decided_by is not None:
        embed.add_field(name=say(_("Decided by")), value=f"<@{request.decided_by}>")
    elif request.status == RequestStatus.PENDING.value:
        embed.add_field(name=say(_("Decided by")), value=say(_("a treasurer (within the fund's limit)")))
    if request.decision_note:
        embed.add_field(name=say(_("Note")), value=shorten(request.decision_note, FIELD_LIMIT), inline=False)
    if request.reference:
        embed.add_field(
            name=say(_("Payout reference")), value=shorten(request.reference, FIELD_LIMIT), inline=False
        )
    if request.expires_at is not None and request.status == RequestStatus.PENDING.value:
        embed.add_field(name=say(_("Expires")), value=discord_timestamp(request.expires_at, "R"))
    embed.set_footer(text=say(_("Asked on {date}", date=f"{request.created_at:%Y-%m-%d}")))
    embed.timestamp = request.updated_at
    return embed


def contribution_notice(contribution: Contribution, fund: Fund, language: str = SOURCE) -> str:
    """The treasurers' notice of a pending contribution, in the governance channel."""
    written = plain(one_line(contribution.note, 300))
    note = spaced(_("Note: “{note}”.", note=written)) if contribution.note else ""
    text = _(
        "{person} says they contributed **{amount}** to **{fund}** (contribution #{number}).{note} A "
        "treasurer confirms it once the money has arrived.",
        person=f"<@{contribution.member_id}>",
        amount=Money(contribution.amount, fund.currency),
        fund=plain(one_line(fund.name, 80)),
        number=contribution.id,
        note=note,
    )
    return shorten(f"💰 {text.render(language)}", MESSAGE_LIMIT)


def request_notice(request: FundingRequest, fund: Fund, language: str = SOURCE) -> str:
    """The treasurers' notice of a request they decide, in the governance channel."""
    text = _(
        "{person} asks for **{amount}** from **{fund}** (request #{number}): {purpose}. Within the fund's "
        "limit, a treasurer decides (not the requester).",
        person=f"<@{request.requester_id}>",
        amount=asked(request),
        fund=plain(one_line(fund.name, 80)),
        number=request.id,
        purpose=plain(one_line(request.purpose, 200)),
    )
    return shorten(f"🧾 {text.render(language)}", MESSAGE_LIMIT)
