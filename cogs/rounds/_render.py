"""What people read of rounds and buckets: embeds, progress, the results, and the fund buttons' amounts."""

from __future__ import annotations

import math

import discord

from cogs._text import EMBED_DESCRIPTION_LIMIT, FIELD_LIMIT, numbered, one_line, plain, shorten
from governance import rounds
from governance.money import format_amount, minor_units
from governance.records import Bucket, BucketStatus, Round, RoundPhase

COLOUR_ROUND = discord.Colour.dark_gold()
COLOUR_FUNDED = discord.Colour.green()
COLOUR_UNFUNDED = discord.Colour.dark_grey()
BAR_CELLS = 10
SHOWN_BUCKETS = 15

STATUS_WORDS = {
    BucketStatus.IDEA.value: "💡 Idea, waiting for approval",
    BucketStatus.OPEN.value: "🟢 Open for funding",
    BucketStatus.FUNDED.value: "✅ Funded",
    BucketStatus.UNFUNDED.value: "↩️ Not funded: its funders got their money back",
    BucketStatus.CANCELLED.value: "✖️ Cancelled",
}


def money(minor: int, round_: Round) -> str:
    return format_amount(minor, round_.currency)


def bar(part: int, whole: int) -> str:
    share = 0.0 if whole <= 0 else min(max(part / whole, 0.0), 1.0)
    filled = round(share * BAR_CELLS)
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


def bucket_progress(bucket: Bucket, round_: Round) -> str:
    """“▰▰▰▱▱ 60.00 of 100.00 NZD minimum · stretch 150.00 NZD”: what is in it against what it needs."""
    needs = f"{money(bucket.min_total, round_)} minimum"
    if bucket.max_total > bucket.min_total:
        needs += f" · stretch {money(bucket.max_total, round_)}"
    return f"`{bar(bucket.funded, bucket.min_total)}` {money(bucket.funded, round_)} of {needs}"


def fund_amounts(round_: Round) -> list[int]:
    """The amounts of the fund buttons, following the round's size: 5, 10 and 25 of a round unit about a
    twentieth of one person's share (5/10/25 for a share of 100, 50/100/250 for 1,000), none above it."""
    share = round_.per_member or max(round_.pot // 10, 1)
    unit = 10 ** minor_units(round_.currency)
    step = 10 ** math.floor(math.log10(max(share / unit / 20, 1 / unit))) * unit
    amounts = [max(round(step * factor), 1) for factor in (5, 10, 25)]
    return [amount for amount in amounts if amount <= share] or [share]


def round_title(round_: Round) -> str:
    return shorten(f"Round #{round_.id} · {round_.title}", 256)


def round_embed(overview: rounds.RoundOverview) -> discord.Embed:
    round_ = overview.round
    embed = discord.Embed(
        title=round_title(round_),
        description=shorten(plain(round_.description), 1500) or None,
        colour=COLOUR_ROUND,
    )
    embed.add_field(name="Pot", value=f"{money(round_.pot, round_)} from {one_line(overview.source, 80)}")
    embed.add_field(name="Now", value=rounds.phase_line(round_))
    if round_.per_member:
        embed.add_field(name="Each person", value=money(round_.per_member, round_))
    if round_.guidelines:
        lines = [numbered(number, plain(text)) for number, text in enumerate(round_.guidelines, 1)]
        embed.add_field(name="Guidelines", value=shorten("\n".join(lines), FIELD_LIMIT), inline=False)
    shown = overview.buckets[:SHOWN_BUCKETS]
    if shown:
        lines = [
            f"**#{b.id}** {plain(one_line(b.title, 60))} · {STATUS_WORDS[b.status].split(',')[0]} · "
            f"{money(b.funded, round_)} of {money(b.min_total, round_)}"
            + (f" · {overview.funders.get(b.id or 0, 0)} funders" if b.funded else "")
            for b in shown
        ]
        if len(overview.buckets) > len(shown):
            lines.append(f"…and {len(overview.buckets) - len(shown)} more: /bucket list")
        embed.add_field(name="Buckets", value=shorten("\n".join(lines), FIELD_LIMIT), inline=False)
    else:
        embed.add_field(name="Buckets", value="None yet: propose one with /bucket new.", inline=False)
    if overview.yours is not None:
        left = overview.yours.allocated - overview.yours.spent
        embed.add_field(
            name="You",
            value=f"{money(left, round_)} left to spend of {money(overview.yours.allocated, round_)}",
            inline=False,
        )
    return embed


def bucket_embed(bucket: Bucket, round_: Round, *, funders: int, open_concerns: int = 0) -> discord.Embed:
    colour = {
        BucketStatus.FUNDED.value: COLOUR_FUNDED,
        BucketStatus.UNFUNDED.value: COLOUR_UNFUNDED,
        BucketStatus.CANCELLED.value: COLOUR_UNFUNDED,
    }.get(bucket.status, COLOUR_ROUND)
    embed = discord.Embed(
        title=shorten(f"Bucket #{bucket.id} · {bucket.title}", 256),
        description=shorten(plain(bucket.description), EMBED_DESCRIPTION_LIMIT // 2) or None,
        colour=colour,
    )
    embed.add_field(name="Status", value=STATUS_WORDS[bucket.status], inline=False)
    embed.add_field(name="Funding", value=bucket_progress(bucket, round_), inline=False)
    budget = [
        f"• {plain(line['label'])}: {money(line['min'], round_)}"
        + (f" (stretch {money(line['max'], round_)})" if line["max"] > line["min"] else "")
        for line in bucket.budget
    ]
    embed.add_field(name="Budget", value=shorten("\n".join(budget), FIELD_LIMIT), inline=False)
    people = [f"<@{bucket.creator_id}>", *(f"<@{user_id}>" for user_id in bucket.co_creators)]
    embed.add_field(name="Creators", value=", ".join(people))
    embed.add_field(name="Funders", value=str(funders))
    if open_concerns:
        embed.add_field(name="Concerns", value=f"{open_concerns} open: /bucket show {bucket.id}")
    embed.set_footer(text=f"Round #{round_.id} · {round_.title}"[:2048])
    return embed


def results_text(closed: rounds.ClosedRound) -> str:
    round_ = closed.round
    lines = [f"🏁 **Round #{round_.id} {plain(one_line(round_.title, 80))} has closed.**"]
    if closed.funded:
        lines.append(
            f"Funded: {len(closed.funded)} bucket{'s' if len(closed.funded) != 1 else ''}, "
            f"{money(closed.spent, round_)} of the {money(round_.pot, round_)} pot; the treasurers pay them "
            "as approved requests."
        )
        lines += [
            f"✅ #{b.id} {plain(one_line(b.title, 60))}: {money(b.funded, round_)} from "
            f"{closed.funders.get(b.id or 0, 0)} people ({_request_ref(round_, b)})"
            for b in closed.funded
        ]
    else:
        lines.append("No bucket reached its minimum.")
    lines += [f"↩️ #{b.id} {plain(one_line(b.title, 60))}: not funded, refunded" for b in closed.unfunded]
    lines.append(f"{money(closed.returned, round_)} stays in the fund.")
    return shorten("\n".join(lines), 1900)


def _request_ref(round_: Round, bucket: Bucket) -> str:
    """The approved request a funded bucket became: on the cooperative's fund, or the network fund's."""
    return f"network request R{bucket.request_id}" if round_.network_id else f"request #{bucket.request_id}"


def chart_of(closed: rounds.ClosedRound) -> tuple[str, list[str], list[int], list[int]]:
    """Title, labels, what each bucket holds at the close (minor units: 0 for the refunded), and the
    funded ones' indices."""
    round_ = closed.round
    buckets = sorted(closed.funded + closed.unfunded, key=lambda b: b.id or 0)
    labels = [one_line(f"#{b.id} {b.title}", 40) for b in buckets]
    values = [b.funded if b.status == BucketStatus.FUNDED.value else 0 for b in buckets]
    winners = [index for index, b in enumerate(buckets) if b.status == BucketStatus.FUNDED.value]
    return f"Round #{round_.id} · {round_.title}"[:80], labels, values, winners


def phase_is(round_: Round, phase: RoundPhase) -> bool:
    return round_.phase == phase.value
