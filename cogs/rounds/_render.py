"""What people read of rounds and buckets: embeds, progress, the results, and the fund buttons' amounts."""

from __future__ import annotations

import math

import discord

from cogs._text import EMBED_DESCRIPTION_LIMIT, FIELD_LIMIT, numbered, one_line, plain, shorten
from governance import rounds
from governance.i18n import N_, SOURCE, Text, _, _n, translate
from governance.money import Money, minor_units
from governance.records import Bucket, BucketStatus, Round, RoundPhase

COLOUR_ROUND = discord.Colour.dark_gold()
COLOUR_FUNDED = discord.Colour.green()
COLOUR_UNFUNDED = discord.Colour.dark_grey()
BAR_CELLS = 10
SHOWN_BUCKETS = 15

STATUS_WORDS = {
    BucketStatus.IDEA.value: N_("💡 Idea, waiting for approval"),
    BucketStatus.OPEN.value: N_("🟢 Open for funding"),
    BucketStatus.FUNDED.value: N_("✅ Funded"),
    BucketStatus.UNFUNDED.value: N_("↩️ Not funded: its funders got their money back"),
    BucketStatus.CANCELLED.value: N_("✖️ Cancelled"),
}
# A bucket's status in a list of buckets: its first words.
STATUS_SHORT = {**STATUS_WORDS, BucketStatus.IDEA.value: N_("💡 Idea")}


def money(minor: int, round_: Round) -> Money:
    """An amount in the round's currency, as a placeholder's value: each reader sees their own format
    (``str()`` is the English)."""
    return Money(minor, round_.currency)


def bar(part: int, whole: int) -> str:
    share = 0.0 if whole <= 0 else min(max(part / whole, 0.0), 1.0)
    filled = round(share * BAR_CELLS)
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


def bucket_progress(bucket: Bucket, round_: Round, language: str = SOURCE) -> str:
    """“▰▰▰▱▱ 60.00 of 100.00 NZD minimum · stretch 150.00 NZD”: what is in it against what it needs."""
    if bucket.max_total > bucket.min_total:
        needs = _(
            "{funded} of {minimum} minimum · stretch {stretch}",
            funded=money(bucket.funded, round_),
            minimum=money(bucket.min_total, round_),
            stretch=money(bucket.max_total, round_),
        )
    else:
        needs = _(
            "{funded} of {minimum} minimum",
            funded=money(bucket.funded, round_),
            minimum=money(bucket.min_total, round_),
        )
    return f"`{bar(bucket.funded, bucket.min_total)}` {needs.render(language)}"


def fund_amounts(round_: Round) -> list[int]:
    """The amounts of the fund buttons, following the round's size: 5, 10 and 25 of a round unit about a
    twentieth of one person's share (5/10/25 for a share of 100, 50/100/250 for 1,000), none above it."""
    share = round_.per_member or max(round_.pot // 10, 1)
    unit = 10 ** minor_units(round_.currency)
    step = 10 ** math.floor(math.log10(max(share / unit / 20, 1 / unit))) * unit
    amounts = [max(round(step * factor), 1) for factor in (5, 10, 25)]
    return [amount for amount in amounts if amount <= share] or [share]


def round_name(round_: Round) -> Text:
    """“Round #3 · Spring round”, as a placeholder's value."""
    return _("Round #{number} · {title}", number=round_.id, title=round_.title)


def round_title(round_: Round, language: str = SOURCE) -> str:
    return shorten(round_name(round_).render(language), 256)


def round_embed(overview: rounds.RoundOverview, language: str = SOURCE) -> discord.Embed:
    """A round: its pot, where it stands, its guidelines and buckets, and (for one reader) their share."""

    def say(text: Text) -> str:
        return text.render(language)

    round_ = overview.round
    embed = discord.Embed(
        title=round_title(round_, language),
        description=shorten(plain(round_.description), 1500) or None,
        colour=COLOUR_ROUND,
    )
    embed.add_field(
        name=say(_("Pot")),
        value=say(
            _("{amount} from {fund}", amount=money(round_.pot, round_), fund=one_line(overview.source, 80))
        ),
    )
    embed.add_field(name=say(_("Now")), value=say(rounds.phase_line(round_)))
    if round_.per_member:
        embed.add_field(name=say(_("Each person")), value=money(round_.per_member, round_).render(language))
    if round_.guidelines:
        lines = [numbered(number, plain(text)) for number, text in enumerate(round_.guidelines, 1)]
        embed.add_field(name=say(_("Guidelines")), value=shorten("\n".join(lines), FIELD_LIMIT), inline=False)
    shown = overview.buckets[:SHOWN_BUCKETS]
    if shown:
        lines = []
        for b in shown:
            held = say(
                _("{funded} of {minimum}", funded=money(b.funded, round_), minimum=money(b.min_total, round_))
            )
            funders = (
                " · " + say(_n("{count} funders", "{count} funders", overview.funders.get(b.id or 0, 0)))
                if b.funded
                else ""
            )
            status = translate(STATUS_SHORT[b.status], language)
            lines.append(f"**#{b.id}** {plain(one_line(b.title, 60))} · {status} · {held}{funders}")
        if len(overview.buckets) > len(shown):
            more = len(overview.buckets) - len(shown)
            lines.append(say(_n("…and {count} more: /bucket list", "…and {count} more: /bucket list", more)))
        embed.add_field(name=say(_("Buckets")), value=shorten("\n".join(lines), FIELD_LIMIT), inline=False)
    else:
        embed.add_field(
            name=say(_("Buckets")), value=say(_("None yet: propose one with /bucket new.")), inline=False
        )
    if overview.yours is not None:
        left = overview.yours.allocated - overview.yours.spent
        embed.add_field(
            name=say(_("You")),
            value=say(
                _(
                    "{left} left to spend of {allocated}",
                    left=money(left, round_),
                    allocated=money(overview.yours.allocated, round_),
                )
            ),
            inline=False,
        )
    return embed


def bucket_embed(
    bucket: Bucket, round_: Round, *, funders: int, open_concerns: int = 0, language: str = SOURCE
) -> discord.Embed:
    """A bucket: its status, funding, budget, creators and funders, and its open concerns."""

    def say(text: Text) -> str:
        return text.render(language)

    colour = {
        BucketStatus.FUNDED.value: COLOUR_FUNDED,
        BucketStatus.UNFUNDED.value: COLOUR_UNFUNDED,
        BucketStatus.CANCELLED.value: COLOUR_UNFUNDED,
    }.get(bucket.status, COLOUR_ROUND)
    embed = discord.Embed(
        title=shorten(say(_("Bucket #{number} · {title}", number=bucket.id, title=bucket.title)), 256),
        description=shorten(plain(bucket.description), EMBED_DESCRIPTION_LIMIT // 2) or None,
        colour=colour,
    )
    embed.add_field(
        name=say(_("Status")), value=translate(STATUS_WORDS[bucket.status], language), inline=False
    )
    embed.add_field(name=say(_("Funding")), value=bucket_progress(bucket, round_, language), inline=False)
    budget = [
        "• "
        + say(
            _(
                "{label}: {minimum} (stretch {stretch})",
                label=plain(line["label"]),
                minimum=money(line["min"], round_),
                stretch=money(line["max"], round_),
            )
            if line["max"] > line["min"]
            else _("{label}: {minimum}", label=plain(line["label"]), minimum=money(line["min"], round_))
        )
        for line in bucket.budget
    ]
    embed.add_field(name=say(_("Budget")), value=shorten("\n".join(budget), FIELD_LIMIT), inline=False)
    people = [f"<@{bucket.creator_id}>", *(f"<@{user_id}>" for user_id in bucket.co_creators)]
    embed.add_field(name=say(_("Creators")), value=", ".join(people))
    embed.add_field(name=say(_("Funders")), value=str(funders))
    if open_concerns:
        embed.add_field(
            name=say(_("Concerns")),
            value=say(
                _n(
                    "{count} open: /bucket show {bucket}",
                    "{count} open: /bucket show {bucket}",
                    open_concerns,
                    bucket=bucket.id,
                )
            ),
        )
    embed.set_footer(text=round_name(round_).render(language)[:2048])
    return embed


def results_text(closed: rounds.ClosedRound, language: str = SOURCE) -> str:
    """The close's post: what was funded, what was refunded, and what stays in the fund."""

    def say(text: Text) -> str:
        return text.render(language)

    round_ = closed.round
    lines = [
        "🏁 "
        + say(
            _(
                "**Round #{number} {title} has closed.**",
                number=round_.id,
                title=plain(one_line(round_.title, 80)),
            )
        )
    ]
    if closed.funded:
        lines.append(
            say(
                _n(
                    "Funded: {count} bucket, {spent} of the {pot} pot; the treasurers pay them as approved "
                    "requests.",
                    "Funded: {count} buckets, {spent} of the {pot} pot; the treasurers pay them as approved "
                    "requests.",
                    len(closed.funded),
                    spent=money(closed.spent, round_),
                    pot=money(round_.pot, round_),
                )
            )
        )
        lines += [
            "✅ "
            + say(
                _n(
                    "#{bucket} {title}: {amount} from {count} people ({request})",
                    "#{bucket} {title}: {amount} from {count} people ({request})",
                    closed.funders.get(b.id or 0, 0),
                    bucket=b.id,
                    title=plain(one_line(b.title, 60)),
                    amount=money(b.funded, round_),
                    request=_request_ref(round_, b),
                )
            )
            for b in closed.funded
        ]
    else:
        lines.append(say(_("No bucket reached its minimum.")))
    lines += [
        "↩️ "
        + say(_("#{bucket} {title}: not funded, refunded", bucket=b.id, title=plain(one_line(b.title, 60))))
        for b in closed.unfunded
    ]
    lines.append(say(_("{amount} stays in the fund.", amount=money(closed.returned, round_))))
    return shorten("\n".join(lines), 1900)


def _request_ref(round_: Round, bucket: Bucket) -> Text:
    """The approved request a funded bucket became: on the cooperative's fund, or the network fund's."""
    if round_.network_id:
        return _("network request R{number}", number=bucket.request_id)
    return _("request #{number}", number=bucket.request_id)


def chart_of(
    closed: rounds.ClosedRound, language: str = SOURCE
) -> tuple[str, list[str], list[int], list[int]]:
    """Title, labels, what each bucket holds at the close (minor units: 0 for the refunded), and the
    funded ones' indices."""
    round_ = closed.round
    buckets = sorted(closed.funded + closed.unfunded, key=lambda b: b.id or 0)
    labels = [one_line(f"#{b.id} {b.title}", 40) for b in buckets]
    values = [b.funded if b.status == BucketStatus.FUNDED.value else 0 for b in buckets]
    winners = [index for index, b in enumerate(buckets) if b.status == BucketStatus.FUNDED.value]
    return round_name(round_).render(language)[:80], labels, values, winners


def phase_is(round_: Round, phase: RoundPhase) -> bool:
    return round_.phase == phase.value
