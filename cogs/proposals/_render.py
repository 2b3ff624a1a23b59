"""How a decision looks in Discord: the proposal embed, its buttons, the result message."""

from __future__ import annotations

from fractions import Fraction

import discord

from cogs._text import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TITLE_LIMIT,
    FIELD_LIMIT,
    MESSAGE_LIMIT,
    numbered,
    plain,
    shorten,
)
from cogs.proposals._items import BallotButton, PositionButton, WithdrawButton
from governance import decisions, networks
from governance.decision_types import DecisionType
from governance.i18n import SOURCE, Text, Translated, _, _n, recorded, render, translate
from governance.networks import CopyNote
from governance.records import Decision, DecisionStatus
from governance.tally import TallyResult
from governance.timeparse import Duration, discord_timestamp

CLOSE_POST_REASON_LIMIT = 300  # each reason in the close post; /proposal show gives them in full

COLOUR_OPEN = discord.Colour.blurple()
COLOUR_PASSED = discord.Colour.green()
COLOUR_FAILED = discord.Colour.red()
COLOUR_INFORMATIONAL = discord.Colour.gold()
COLOUR_CANCELLED = discord.Colour.dark_grey()


def percent(share: Fraction | None) -> str:
    return "—" if share is None else f"{round(float(share) * 100)}%"


def _who_can_vote(decision: Decision, language: str) -> str:
    if decision.eligible_role_id is None or decision.eligible_role_id == decision.guild_id:
        return _("Everyone in the server").render(language)
    return f"<@&{decision.eligible_role_id}>"


def tally_lines(decision: Decision, result: TallyResult, language: str = SOURCE) -> str:
    """The counts, in the decision's own terms."""
    decision_type = decisions.type_of(decision)
    if decision_type.positions:
        return "\n".join(
            f"{position.emoji} {translate(position.label, language)}: "
            f"**{result.position_counts.get(position.key, 0)}**"
            for position in decision_type.positions
        )
    lines = []
    for index, option in enumerate(decision.options):
        total = result.option_totals[index] if index < len(result.option_totals) else 0
        marker = "🏆 " if index in result.winners and result.voters else ""
        if decision_type.kind.value == "score":
            average = result.option_averages[index] if index < len(result.option_averages) else None
            detail = _n("**{count}** point", "**{count}** points", total).render(language) + (
                _(" (average {average})", average=f"{float(average):.1f}").render(language)
                if average is not None
                else ""
            )
        elif decision_type.kind.value == "dot":
            detail = _n("**{count}** dot", "**{count}** dots", total).render(language)
        elif decision_type.kind.value == "ranked":
            borda = result.borda[index] if index < len(result.borda) else 0
            firsts = _n("**{count}** first choice", "**{count}** first choices", total).render(language)
            detail = f"{firsts} · Borda {borda}"
        else:
            detail = _n("**{count}** vote", "**{count}** votes", total).render(language)
        lines.append(f"{marker}{numbered(index + 1, plain(shorten(option, 80)))} — {detail}")
    if decision_type.kind.value == "ranked" and len(result.rounds) > 1:
        lines.append(rounds_line(decision, result, language))
    return "\n".join(lines)


def rounds_line(decision: Decision, result: TallyResult, language: str = SOURCE) -> str:
    """The instant-runoff rounds in words: each round's counts of the options still in, and who went out."""
    rounds = []
    for number, irv_round in enumerate(result.rounds, start=1):
        standing = ", ".join(
            f"{plain(shorten(decision.options[index], 30))} {count}"
            for index, count in enumerate(irv_round.counts)
            if count or index in result.winners
        )
        out = (
            " → "
            + _("{option} out", option=plain(shorten(decision.options[irv_round.eliminated], 30))).render(
                language
            )
            if irv_round.eliminated is not None
            else ""
        )
        rounds.append(
            _("Round {number}: {standing}", number=number, standing=standing).render(language) + out
        )
    return "\n".join(rounds)


def _colour(decision: Decision) -> discord.Colour:
    if decision.status == DecisionStatus.CANCELLED:
        return COLOUR_CANCELLED
    if decision.status == DecisionStatus.OPEN:
        return COLOUR_OPEN
    if decision.passed is None:
        return COLOUR_INFORMATIONAL
    return COLOUR_PASSED if decision.passed else COLOUR_FAILED


def proposal_embed(
    decision: Decision, result: TallyResult, *, network: str | None = None, language: str = SOURCE
) -> discord.Embed:
    """The proposal message, in the cooperative's language: type and rule, who votes, when it closes, the
    tally, participation, and whether it would pass now — or, once closed, the result. `network`: the line
    of a network proposal's copy."""

    def say(text: Text) -> str:
        return text.render(language)

    decision_type = decisions.type_of(decision)
    status = {
        DecisionStatus.CLOSED: " " + say(_("(closed)")),
        DecisionStatus.CANCELLED: " " + say(_("(cancelled)")),
    }.get(DecisionStatus(decision.status), "")
    embed = discord.Embed(
        title=shorten(f"{decisions.label(decision)} · {plain(decision.title)}{status}", EMBED_TITLE_LIMIT),
        description=shorten(plain(shorten(decision.details, 3800)), EMBED_DESCRIPTION_LIMIT) or None,
        colour=_colour(decision),
    )
    embed.add_field(
        name=say(_("Decision type")),
        value=f"**{translate(decision_type.label, language)}**: {translate(decision_type.rule, language)}",
        inline=False,
    )
    if network:
        embed.add_field(
            name="🌐 " + say(_("Network proposal")), value=shorten(network, FIELD_LIMIT), inline=False
        )
    embed.add_field(name=say(_("Who can vote")), value=_who_can_vote(decision, language))
    closing_word = say(_("Closes")) if decision.status == DecisionStatus.OPEN else say(_("Closed"))
    closed_at = decision.closed_at or decision.closes_at
    moment = decision.closes_at if decision.status == DecisionStatus.OPEN else closed_at
    embed.add_field(
        name=closing_word, value=f"{discord_timestamp(moment)} ({discord_timestamp(moment, 'R')})"
    )
    if decision.reasons_required:
        embed.add_field(
            name=say(_("Reasons")), value=say(_("Asked of every voter: each vote comes with one."))
        )
    if decision.options and decision.hide_results and decision.status == DecisionStatus.OPEN:
        options = "\n".join(
            numbered(i + 1, plain(shorten(option, 80))) for i, option in enumerate(decision.options)
        )
        embed.add_field(name=say(_("Options")), value=shorten(options, FIELD_LIMIT), inline=False)
    participation = say(
        _(
            "{voters} of {eligible} eligible ({share})",
            voters=result.voters,
            eligible=result.eligible,
            share=percent(result.participation),
        )
    )
    if result.quorum_required is not None:
        participation += " · " + say(_("quorum {share}", share=percent(result.quorum_required)))
    if decision.status == DecisionStatus.OPEN and decision.hide_results:
        embed.add_field(name=say(_("Votes")), value=say(_("Hidden until the close.")), inline=False)
    elif decision.status != DecisionStatus.CANCELLED:
        heading = say(_("Votes so far")) if decision.status == DecisionStatus.OPEN else say(_("Final count"))
        embed.add_field(
            name=heading,
            value=shorten(tally_lines(decision, result, language), FIELD_LIMIT) or "—",
            inline=False,
        )
    embed.add_field(name=say(_("Participation")), value=participation, inline=False)
    if decision.status == DecisionStatus.OPEN and not decision.hide_results:
        embed.add_field(
            name=say(_("If it closed now")), value=shorten(say(result.said), FIELD_LIMIT), inline=False
        )
    elif decision.status == DecisionStatus.CLOSED:
        embed.add_field(
            name=say(_("Result")),
            value=shorten(outcome_in(decision, result, language), FIELD_LIMIT),
            inline=False,
        )
        if decision.outcome_statement:
            embed.add_field(
                name=say(_("Outcome statement")),
                value=shorten(plain(shorten(decision.outcome_statement, FIELD_LIMIT - 100)), FIELD_LIMIT),
                inline=False,
            )
    embed.add_field(name=say(_("Proposed by")), value=f"<@{decision.author_id}>")
    if decision.anonymous:
        embed.set_footer(text=say(_("Anonymous: choices are never shown with names")))
    return embed


def outcome_in(decision: Decision, result: TallyResult, language: str) -> str:
    """A closed decision's outcome in `language`: its tally's words, unless the decision keeps another
    outcome of its own (a network proposal's copy keeps the network's: said in `language` too, or in English
    for a copy closed before outcomes were kept as said)."""
    if decision.outcome and decision.outcome != result.outcome:
        return str(render(recorded(decision.outcome_said, decision.outcome), language))
    return result.said.render(language)


def voting_view(decision: Decision, language: str = SOURCE) -> discord.ui.View:
    """The buttons under a proposal; disabled once it is no longer open."""
    assert decision.id is not None
    closed = decision.status != DecisionStatus.OPEN
    view = discord.ui.View(timeout=None)
    decision_type: DecisionType = decisions.type_of(decision)
    if decision_type.positions:
        for position in decision_type.positions:
            view.add_item(
                PositionButton(
                    decision.id,
                    position.key,
                    asks_reason=decision.reasons_required or position.needs_reason,
                    label=translate(position.label, language),
                    emoji=position.emoji,
                )
            )
    else:
        view.add_item(BallotButton(decision.id, label=_("Vote").render(language)))
    view.add_item(WithdrawButton(decision.id, label=_("Withdraw my vote").render(language)))
    if closed:
        for item in view.children:
            if isinstance(item, discord.ui.DynamicItem):
                item.item.disabled = True
            elif isinstance(item, discord.ui.Button):
                item.disabled = True
    return view


def result_message(
    decision: Decision,
    result: TallyResult,
    reasons: list[tuple[int | None, str, str]],
    language: str = SOURCE,
) -> str:
    """What the thread is told at the close, in the cooperative's language: the result, the counts, and
    the reasons people gave."""

    def say(text: Text) -> str:
        return text.render(language)

    label = decisions.label(decision)
    lines = [
        say(_("**{proposal} has closed.**", proposal=label)) + f" {outcome_in(decision, result, language)}"
    ]
    late = decisions.closed_late_by(decision)
    if late is not None:
        lines.append(
            "⏰ "
            + say(
                _(
                    "Closed {late} after its closing time: I was offline when it came due.",
                    late=Duration(late),
                )
            )
        )
    counts = tally_lines(decision, result, language)
    if counts:
        lines.append(counts)
    lines.append(
        say(
            _(
                "Participation: {voters} of {eligible} eligible ({share}).",
                voters=result.voters,
                eligible=result.eligible,
                share=percent(result.participation),
            )
        )
    )
    if reasons:
        lines.append(say(_("**Reasons given**")))
        lines.extend(
            reason_line(decision, voter, ballot, reason, limit=CLOSE_POST_REASON_LIMIT, language=language)
            for voter, ballot, reason in reasons
        )
        if any(len(reason) > CLOSE_POST_REASON_LIMIT for _voter, _ballot, reason in reasons):
            lines.append(
                "-# "
                + say(
                    _(
                        "Reasons are shortened here: /proposal show {proposal} gives them in full.",
                        proposal=label,
                    )
                )
            )
    return shorten(
        "\n".join(lines),
        MESSAGE_LIMIT,
        more="\n… " + say(_("(shortened: see /proposal show for the full record)")),
    )


def reason_line(
    decision: Decision, voter: int | None, ballot: str, reason: str, *, limit: int, language: str = SOURCE
) -> str:
    """One reason given, quoted: who (or "Someone" when anonymous), their choice, and the reason."""
    who = f"<@{voter}>" if voter is not None else _("Someone").render(language)
    quoted = plain(shorten(reason, limit)).replace("\n", "\n> ")
    return f"> {who} ({_ballot(decision, ballot, language)}): {quoted}"


def _ballot(decision: Decision, ballot: str, language: str) -> str:
    """A ballot in words: a position in the reader's language, options as they were written."""
    description = decisions.describe(decision, ballot)
    positions = decisions.type_of(decision).positions
    return translate(description, language) if any(p.label == description for p in positions) else description


def reason_pages(
    decision: Decision, reasons: list[tuple[int | None, str, str]], language: str = SOURCE
) -> list[str]:
    """Every reason in full, in pages that each fit an embed's description (a reason is at most
    decisions.MAX_REASON characters, so one always fits a page), in the reader's language."""
    pages: list[str] = []
    page = ""
    for voter, ballot, reason in reasons:
        line = shorten(
            reason_line(decision, voter, ballot, reason, limit=decisions.MAX_REASON, language=language),
            EMBED_DESCRIPTION_LIMIT,
        )
        if page and len(page) + 1 + len(line) > EMBED_DESCRIPTION_LIMIT:
            pages.append(page)
            page = ""
        page = f"{page}\n{line}" if page else line
    return [*pages, page] if page else pages


def reasons_embed(decision: Decision, pages: list[str], page: int, language: str = SOURCE) -> discord.Embed:
    """One page of the reasons given on a decision, for /proposal show, in the reader's language."""
    embed = discord.Embed(
        title=_("Reasons given on {proposal}", proposal=decisions.label(decision)).render(language),
        description=pages[page],
        colour=_colour(decision),
    )
    notes = (
        [_("Page {page} of {pages}", page=page + 1, pages=len(pages)).render(language)]
        if len(pages) > 1
        else []
    )
    if decision.anonymous:
        notes.append(_("Anonymous: reasons are shown without names").render(language))
    if notes:
        embed.set_footer(text=" · ".join(notes))
    return embed


def copy_line(note: CopyNote, language: str = SOURCE) -> str:
    """What a cooperative's copy of a network proposal says of the network and how it counts, in the
    reader's language."""
    values = {"number": note.proposal_id, "network": plain(note.network)}
    if note.counting == "cooperative":
        rule = networks.RULES.get(note.rule)
        return _n(
            "N{number} in **{network}**, across {count} cooperative, counted by cooperative: this "
            "cooperative's outcome is its one vote. It passes across the network when {rule}.",
            "N{number} in **{network}**, across {count} cooperatives, counted by cooperative: this "
            "cooperative's outcome is its one vote. It passes across the network when {rule}.",
            note.cooperatives,
            rule=Translated(rule) if rule is not None else note.rule,
            **values,
        ).render(language)
    line = _n(
        "N{number} in **{network}**, across {count} cooperative, counted by person: the count below is "
        "the whole network's.",
        "N{number} in **{network}**, across {count} cooperatives, counted by person: the count below is "
        "the whole network's.",
        note.cooperatives,
        **values,
    ).render(language)
    if note.local_voters is None:
        return line
    local = _(
        "This cooperative: {voters} of {eligible} voted.",
        voters=note.local_voters,
        eligible=note.local_eligible,
    )
    return f"{line} {local.render(language)}"
