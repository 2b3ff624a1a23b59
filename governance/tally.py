"""Ballots and tallies: how a vote is written down, and how the votes become a result.

A ballot is stored as a short canonical string, so that the database can count identical ballots with
``SELECT ballot, count(*) ... GROUP BY ballot`` and :func:`tally` never has to look at single voters:

=============  ======================  =========================================================
kind           canonical ballot        meaning
=============  ======================  =========================================================
positions      ``agree``               the position key (consent, consensus, significant, quorum,
                                       emergency, advice, sense_check, count)
poll           ``0,2``                 the chosen option indices, ascending
ranked         ``2,0,1``               option indices in rank order; a partial ranking is fine
score          ``0:5,1:3,2:0``         a score for every option, in option order
dot            ``0:3,2:5``             dots per option, ascending, options with no dot left out
=============  ======================  =========================================================

Option indices are 0-based here; messages shown to people number options from 1.

Use :func:`encode_ballot` (or the typed ``encode_*`` helpers) to turn what a voter chose into the string to
store, :func:`parse_ballot_text` to read what a person typed, :func:`decode_ballot` to read a stored string
back, and :func:`tally` to count. Every count is exact (integers and :class:`~fractions.Fraction`); floats
appear only when a fraction is formatted for people to read. Ties are never broken silently: they are
reported as ties (several ``winners``), except inside instant-runoff eliminations, whose tie-break is
documented on :func:`tally`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import cast

from governance.decision_types import DECISION_TYPES, Count, DecisionKind
from governance.errors import InvalidInput
from governance.i18n import Text, _, _n
from governance.text import percent

MIN_OPTIONS = 2
MAX_OPTIONS = 20
MAX_OPTION_LABEL = 100  # Discord's limit for a select-menu option label.
SCORE_FLOOR = -10
SCORE_CEILING = 100
MAX_DOTS = 1000

OPTION_KINDS = frozenset({DecisionKind.POLL, DecisionKind.RANKED, DecisionKind.SCORE, DecisionKind.DOT})
POSITION_KINDS = frozenset(kind for kind in DecisionKind if kind not in OPTION_KINDS)

RawBallot = str | Sequence[int] | Mapping[int, int]
"""What a voter chose, before encoding: a position key; option indices (poll, ranked); index -> number."""

Ballot = str | tuple[int, ...] | dict[int, int]
"""A decoded ballot: a position key; indices (poll ascending, ranked in rank order); index -> number."""


@dataclass(frozen=True)
class DecisionRules:
    """The counting rules of one decision, fixed when it opens.

    ``options`` are the labels of option kinds (poll, ranked, score, dot). ``max_choices`` applies to polls,
    ``score_min``/``score_max`` to score, ``dots`` (the budget of each voter) to dot votes, ``target`` to
    count. ``quorum`` is the share of eligible voters who must take part, on top of the kind's own rule.
    """

    kind: DecisionKind
    options: tuple[str, ...] = ()
    max_choices: int = 1
    score_min: int = 0
    score_max: int = 5
    dots: int = 8
    target: int | None = None
    quorum: Fraction | None = None


def validate_rules(rules: DecisionRules) -> None:
    """Raise InvalidInput when the rules cannot make a decision.

    Option kinds need 2 to 20 distinct, non-empty labels (compared ignoring case and surrounding spaces,
    at most 100 characters); position kinds take no options. A poll allows 1 to len(options) choices; a
    score range goes from a lower to a higher whole number within -10..100; a dot budget is 1..1000; a count
    needs a target of at least 1, and only a count takes a target. A quorum is a share in (0, 1].
    Settings that do not apply to the kind (max_choices, score range, dots) are ignored.
    """
    kind = DecisionKind(rules.kind)
    if kind in OPTION_KINDS:
        _validate_options(rules.options)
    elif rules.options:
        raise InvalidInput(_("Only poll, ranked, score and dot decisions have options."))
    if kind is DecisionKind.POLL and not 1 <= rules.max_choices <= len(rules.options):
        raise InvalidInput(
            _("A poll allows between 1 and {most} choices per voter.", most=len(rules.options))
        )
    if kind is DecisionKind.SCORE and not SCORE_FLOOR <= rules.score_min < rules.score_max <= SCORE_CEILING:
        raise InvalidInput(
            _(
                "Scores must go from a lower to a higher whole number, between {lowest} and {highest}.",
                lowest=SCORE_FLOOR,
                highest=SCORE_CEILING,
            )
        )
    if kind is DecisionKind.DOT and not 1 <= rules.dots <= MAX_DOTS:
        raise InvalidInput(_("Each voter gets between 1 and {most} dots.", most=MAX_DOTS))
    if kind is DecisionKind.COUNT:
        if rules.target is None or rules.target < 1:
            raise InvalidInput(_("A count decision needs a target of at least 1 person."))
    elif rules.target is not None:
        raise InvalidInput(_("Only count decisions have a target."))
    if rules.quorum is not None and not 0 < rules.quorum <= 1:
        raise InvalidInput(
            _(
                "A quorum must be more than {lowest} and at most {highest} of eligible voters.",
                lowest=percent(Fraction(0)),
                highest=percent(Fraction(1)),
            )
        )


def _validate_options(options: Sequence[str]) -> None:
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise InvalidInput(_("Give between {least} and {most} options.", least=MIN_OPTIONS, most=MAX_OPTIONS))
    seen: set[str] = set()
    for label in options:
        key = label.strip().casefold()
        if not key:
            raise InvalidInput(_("An option cannot be empty."))
        if len(label) > MAX_OPTION_LABEL:
            raise InvalidInput(_("An option can be at most {limit} characters long.", limit=MAX_OPTION_LABEL))
        if key in seen:
            raise InvalidInput(_("The option '{option}' is listed twice.", option=label.strip()))
        seen.add(key)


# --- encoding ------------------------------------------------------------------------------------------


def encode_ballot(rules: DecisionRules, raw: RawBallot) -> str:
    """Validate what a voter chose and return its canonical string; raises InvalidInput for a bad ballot.

    ``raw`` is a position key (str) for position kinds, a sequence of option indices for poll and ranked,
    and a mapping option index -> score or dots for score and dot. A raw ballot of the wrong shape for the
    kind is a programming error (TypeError), not a voter's mistake.
    """
    kind = DecisionKind(rules.kind)
    if kind in POSITION_KINDS:
        if not isinstance(raw, str):
            raise TypeError(f"a {kind} ballot is a position key, not {type(raw).__name__}")
        return encode_position(rules, raw)
    if kind in (DecisionKind.POLL, DecisionKind.RANKED):
        if isinstance(raw, str | Mapping):
            raise TypeError(f"a {kind} ballot is a sequence of option indices, not {type(raw).__name__}")
        return encode_poll(rules, raw) if kind is DecisionKind.POLL else encode_ranking(rules, raw)
    if not isinstance(raw, Mapping):
        raise TypeError(f"a {kind} ballot is a mapping of option index to number, not {type(raw).__name__}")
    return encode_scores(rules, raw) if kind is DecisionKind.SCORE else encode_dots(rules, raw)


def encode_position(rules: DecisionRules, key: str) -> str:
    """A position ballot ("agree", "objection"...); case and surrounding spaces are forgiven."""
    normalised = key.strip().lower()
    DECISION_TYPES[DecisionKind(rules.kind)].position(normalised)  # raises for an unknown position
    return normalised


def encode_poll(rules: DecisionRules, choices: Iterable[int]) -> str:
    """A poll ballot: one to ``max_choices`` distinct options, stored in ascending order."""
    chosen = _distinct_options(
        rules, choices, twice=lambda label: _("You chose '{label}' twice.", label=label)
    )
    if not chosen:
        raise InvalidInput(_("Choose at least one option."))
    if len(chosen) > rules.max_choices:
        if rules.max_choices == 1:
            raise InvalidInput(_("Choose only one option."))
        raise InvalidInput(_("Choose at most {most} options.", most=rules.max_choices))
    return ",".join(str(index) for index in sorted(chosen))


def encode_ranking(rules: DecisionRules, order: Iterable[int]) -> str:
    """A ranked ballot: distinct options, most preferred first; ranking only some of them is allowed."""
    ranking = _distinct_options(
        rules, order, twice=lambda label: _("'{label}' appears twice in your ranking.", label=label)
    )
    if not ranking:
        raise InvalidInput(_("Rank at least one option."))
    return ",".join(str(index) for index in ranking)


def encode_scores(rules: DecisionRules, scores: Mapping[int, int]) -> str:
    """A score ballot: a whole-number score within the range for every option."""
    for index, score in scores.items():
        _check_option(rules, index)
        if not _is_int(score) or not rules.score_min <= score <= rules.score_max:
            raise InvalidInput(
                _("Scores go from {lowest} to {highest}.", lowest=rules.score_min, highest=rules.score_max)
            )
    for index, label in enumerate(rules.options):
        if index not in scores:
            raise InvalidInput(_("Score every option: '{option}' has no score.", option=label))
    return ",".join(f"{index}:{scores[index]}" for index in range(len(rules.options)))


def encode_dots(rules: DecisionRules, dots: Mapping[int, int]) -> str:
    """A dot ballot: whole numbers of dots, none negative, at least one and at most the budget in all."""
    for index, count in dots.items():
        _check_option(rules, index)
        if not _is_int(count):
            raise InvalidInput(_("Dots are whole numbers."))
        if count < 0:
            raise InvalidInput(_("Dots cannot be negative."))
    spent = sum(dots.values())
    if spent > rules.dots:
        raise InvalidInput(
            _n(
                "You have {count} dot; this ballot spends {spent}.",
                "You have {count} dots; this ballot spends {spent}.",
                rules.dots,
                spent=spent,
            )
        )
    if spent == 0:
        raise InvalidInput(_("Place at least one dot."))
    return ",".join(f"{index}:{count}" for index, count in sorted(dots.items()) if count)


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a score is a bug upstream, not a vote.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_option(rules: DecisionRules, index: object) -> int:
    count = len(rules.options)
    if not isinstance(index, int) or isinstance(index, bool):
        raise InvalidInput(_("Unknown option; choose an option numbered 1 to {most}.", most=count))
    if not 0 <= index < count:
        raise InvalidInput(
            _(
                "There is no option {number}; choose an option numbered 1 to {most}.",
                number=index + 1,
                most=count,
            )
        )
    return index


def _distinct_options(
    rules: DecisionRules, indices: Iterable[int], *, twice: Callable[[str], Text]
) -> list[int]:
    seen: list[int] = []
    for raw_index in indices:
        index = _check_option(rules, raw_index)
        if index in seen:
            raise InvalidInput(twice(rules.options[index]))
        seen.append(index)
    return seen


# --- decoding ------------------------------------------------------------------------------------------


def decode_ballot(rules: DecisionRules, text: str) -> Ballot:
    """Read a stored canonical ballot back: a position key, a tuple of indices, or a dict index -> number.

    Poll indices come ascending, ranked ones in rank order; a score dict has every option, a dot dict only
    the options that got dots. Raises InvalidInput when ``text`` is not the canonical form of a valid
    ballot for these rules, so that two spellings of one choice can never be counted apart.
    """
    return _BallotReader(rules).decode(text)


class _BallotReader:
    """A strict reader of canonical ballots for one set of rules.

    It accepts exactly the strings the ``encode_*`` functions produce. Numbers are looked up in tables of
    their canonical spellings instead of going through ``int()``, which both rejects other spellings
    ("01", " 1", "+1") and keeps a tally of 100,000 distinct ballots fast.
    """

    def __init__(self, rules: DecisionRules) -> None:
        self.kind = DecisionKind(rules.kind)
        self.option_count = len(rules.options)
        self.max_choices = rules.max_choices
        self.positions = frozenset(DECISION_TYPES[self.kind].position_keys)
        self.index_of = {str(index): index for index in range(self.option_count)}
        values: range = range(0)
        if self.kind is DecisionKind.SCORE:
            values = range(rules.score_min, rules.score_max + 1)
        elif self.kind is DecisionKind.DOT:
            values = range(1, rules.dots + 1)  # a canonical dot ballot leaves zeros out
        self.value_of = {str(value): value for value in values}
        self.dot_budget = rules.dots
        # A canonical score ballot has "i:<score>" as its i-th part: one table per option checks both at once.
        self.score_columns: list[dict[str, int]] = []
        if self.kind is DecisionKind.SCORE:
            self.score_columns = [
                {f"{index}:{text}": value for text, value in self.value_of.items()}
                for index in range(self.option_count)
            ]

    def decode(self, text: str) -> Ballot:
        decoded = self.read(text)
        if decoded is None:
            raise _unfit(text)
        return decoded

    def score_row(self, text: str) -> tuple[int, ...]:
        """A canonical score ballot as its scores in option order; raises InvalidInput otherwise."""
        scores = self._read_scores(text.split(","))
        if scores is None:
            raise _unfit(text)
        return scores

    def read(self, text: str) -> Ballot | None:
        """The decoded ballot, or None when ``text`` is not a canonical ballot for these rules."""
        kind = self.kind
        if kind in POSITION_KINDS:
            return text if text in self.positions else None
        parts = text.split(",")
        if kind is DecisionKind.POLL or kind is DecisionKind.RANKED:
            return self._read_indices(parts)
        if kind is DecisionKind.SCORE:
            scores = self._read_scores(parts)
            return None if scores is None else dict(enumerate(scores))
        return self._read_dots(parts)

    def _read_indices(self, parts: list[str]) -> tuple[int, ...] | None:
        looked_up = tuple(map(self.index_of.get, parts))
        if None in looked_up:
            return None
        indices = cast(tuple[int, ...], looked_up)
        if self.kind is DecisionKind.RANKED:
            return indices if len(set(indices)) == len(indices) else None
        ascending = all(a < b for a, b in itertools.pairwise(indices))
        return indices if ascending and len(indices) <= self.max_choices else None

    def _read_scores(self, parts: list[str]) -> tuple[int, ...] | None:
        if len(parts) != self.option_count:
            return None
        scores = tuple(map(dict.get, self.score_columns, parts))
        return None if None in scores else cast(tuple[int, ...], scores)

    def _read_dots(self, parts: list[str]) -> dict[int, int] | None:
        index_of, value_of = self.index_of, self.value_of
        dots: dict[int, int] = {}
        previous = -1
        for part in parts:
            index_text, _, value_text = part.partition(":")
            index = index_of.get(index_text)
            value = value_of.get(value_text)
            if index is None or value is None or index <= previous:
                return None
            dots[index] = value
            previous = index
        return dots if sum(dots.values()) <= self.dot_budget else None


def _unfit(text: str) -> InvalidInput:
    return InvalidInput(_("The ballot '{ballot}' does not fit this decision.", ballot=text[:50]))


def describe_ballot(rules: DecisionRules, text: str) -> str:
    """A stored ballot in words, for the voter's receipt or an export: "Agree", "1. B, 2. A", "A: 3"."""
    decoded = decode_ballot(rules, text)
    kind = DecisionKind(rules.kind)
    if isinstance(decoded, str):
        return DECISION_TYPES[kind].position(decoded).label
    labels = rules.options
    if kind is DecisionKind.RANKED:
        assert isinstance(decoded, tuple)
        return ", ".join(f"{rank}. {labels[index]}" for rank, index in enumerate(decoded, start=1))
    if isinstance(decoded, tuple):
        return ", ".join(labels[index] for index in decoded)
    return ", ".join(f"{labels[index]}: {value}" for index, value in decoded.items())


# --- reading what a person typed -----------------------------------------------------------------------

_LIST_SEPARATORS = re.compile(r"[,;>\n]")
_PAIR_SEPARATORS = re.compile(r"[,;\n]")


def parse_ballot_text(rules: DecisionRules, text: str) -> RawBallot:
    """Read a ballot typed by a person (``/proposal vote``) into a raw ballot for :func:`encode_ballot`.

    Positions: the key, its label or its emoji ("block", "No objection"). Poll and ranked: options separated
    by commas, semicolons or ``>`` ("B > A > C", "1, 3"). Score and dot: ``option:number`` pairs separated by
    commas ("A:5, B:3" or "1=5, 2=3"). An option is its label (any case) or its number from 1. Only the
    reading is checked here; :func:`encode_ballot` checks the rules.
    """
    kind = DecisionKind(rules.kind)
    if kind in POSITION_KINDS:
        return _parse_position(rules, text)
    if kind in (DecisionKind.POLL, DecisionKind.RANKED):
        items = [item.strip() for item in _LIST_SEPARATORS.split(text)]
        return [_parse_option(rules, item) for item in items if item]
    values: dict[int, int] = {}
    for item in (item.strip() for item in _PAIR_SEPARATORS.split(text)):
        if not item:
            continue
        cut = max(item.rfind(":"), item.rfind("="))
        if cut < 0:
            raise InvalidInput(_("Write each option with its number, like 'A:3, B:5'."))
        index = _parse_option(rules, item[:cut].strip())
        number = item[cut + 1 :].strip()
        if not re.fullmatch(r"[+-]?\d{1,6}", number):
            raise InvalidInput(_("'{number}' is not a whole number.", number=number[:20]))
        if index in values:
            raise InvalidInput(_("'{option}' is given twice.", option=rules.options[index]))
        values[index] = int(number)
    return values


def _parse_position(rules: DecisionRules, text: str) -> str:
    wanted = " ".join(text.casefold().replace("_", " ").replace("-", " ").split())
    positions = DECISION_TYPES[DecisionKind(rules.kind)].positions
    for position in positions:
        names = {position.key.replace("_", " "), position.label.casefold(), position.emoji}
        if wanted in names:
            return position.key
    valid = ", ".join(position.label for position in positions)
    raise InvalidInput(
        _(
            "Unknown position '{position}'. Choose one of: {positions}.",
            position=text.strip()[:40],
            positions=valid,
        )
    )


def _parse_option(rules: DecisionRules, item: str) -> int:
    wanted = item.casefold()
    # A label wins over a number, so that an option called "2025" means itself.
    for index, label in enumerate(rules.options):
        if label.strip().casefold() == wanted:
            return index
    if item.isdecimal() and len(item) <= 3:
        return int(item) - 1  # out-of-range numbers are reported by encode_ballot
    raise InvalidInput(_("Unknown option '{option}'.", option=item[:40]))


# --- tallying ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IrvRound:
    """One instant-runoff round: ``counts`` per option (0 for options already out), the option eliminated
    at its end (None in the final round), and the ballots exhausted before it (all their choices out)."""

    counts: tuple[int, ...]
    eliminated: int | None
    exhausted: int

    @property
    def continuing(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, kw_only=True)
class _KindResult:
    """What a kind's own rule says, before any quorum is applied."""

    passed: bool | None
    outcome: str  # in English, as the decision keeps it
    said: Text  # the same, to say in each reader's language
    position_counts: dict[str, int] = field(default_factory=dict)
    option_totals: list[int] = field(default_factory=list)
    option_averages: list[Fraction | None] = field(default_factory=list)
    winners: tuple[int, ...] = ()
    rounds: tuple[IrvRound, ...] = ()
    borda: list[int] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class TallyResult(_KindResult):
    """The state of a decision's votes under its rules; at the close, its result.

    ``eligible`` is the number used for participation and quorum: the eligible count given, raised to the
    number of voters if it was lower (whoever voted was eligible when they voted). ``passed`` is None for
    kinds without pass/fail. ``winners`` holds option indices; more than one means a tie, none means no
    votes. Fields that do not apply to the kind are empty.
    """

    kind: DecisionKind
    voters: int
    eligible: int
    participation: Fraction | None
    quorum_required: Fraction | None
    quorum_met: bool


def tally(rules: DecisionRules, ballot_counts: Mapping[str, int], eligible: int) -> TallyResult:
    """Count the current ballots under the decision's rules; at any time, what the result would be now.

    ``ballot_counts`` maps each canonical ballot to the number of voters whose current ballot it is (what
    ``GROUP BY ballot`` returns; zero counts are ignored); ``eligible`` is the number of eligible voters
    (raised to the number of voters if lower: whoever voted was eligible when they voted).
    The work grows with the number of distinct ballots, never with the number of voters. Raises
    InvalidInput for a ballot that does not fit the rules, ValueError for a negative count.

    The rules, exactly ("positions" means agree + disagree + block: an abstention is not a position):

    - consent: passes unless an objection stands. No votes at all passes: silence is consent.
    - consensus: passes unless someone blocks; no votes passes.
    - significant: no block, and agree > 50% of positions. Exactly 50% fails; no positions fails.
    - quorum: no block, and agree + abstain >= 75% of eligible voters. Exactly 75% passes; with nobody
      eligible the threshold is 0 and it passes.
    - emergency: agree >= 75% of positions, blocks notwithstanding. Exactly 75% passes; no positions fails.
    - advice: passed None (the proposer decides); counts the advice given.
    - sense_check: informational, passed None; counts each position.
    - count: passes when the "in" count reaches the target.
    - poll: passed None; ``winners`` are the option(s) with the most votes (a tie gives several); no
      votes, no winner. ``option_totals`` are votes per option (a voter may choose up to max_choices).
    - score: passed None; the highest total wins (ties reported); ``option_averages`` are total / voters
      (every voter scores every option), None when nobody voted.
    - dot: passed None; the most dots wins (ties reported).
    - ranked: passed None; instant-runoff. Each ballot counts for its highest-ranked option still standing;
      a ballot with none left is exhausted and drops out. An option with more than half of the continuing
      ballots wins. Otherwise, if every standing option has the same count, they are all reported as a
      tie; if not, the option with the fewest votes is eliminated and its ballots move on. A tie for fewest
      is broken by eliminating the one with fewer first preferences, then fewer Borda points, then the
      lowest index (the option listed first): deterministic, and reproducible by hand from the published
      counts. One option is eliminated per round. ``option_totals`` are first preferences; ``borda`` gives
      an option n-1 points for each first place, n-2 for each second ... and 0 when unranked.

    Quorum on top (``rules.quorum``): met when voters >= quorum x eligible (exactly at the quorum is met;
    with nobody eligible it is met trivially). When it is not met a pass/fail kind fails, whatever its own
    rule says, and its outcome says so; a kind without pass/fail keeps its counts and winners and its
    outcome starts by saying the quorum was not reached.
    """
    validate_rules(rules)
    if eligible < 0:
        raise ValueError("eligible must not be negative")
    kind = DecisionKind(rules.kind)
    counts: dict[str, int] = {}
    for ballot, count in ballot_counts.items():
        if count < 0:
            raise ValueError(f"negative count for ballot {ballot!r}")
        if count:
            counts[ballot] = count
    voters = sum(counts.values())
    eligible = max(eligible, voters)
    participation = Fraction(voters, eligible) if eligible else None
    quorum = Fraction(rules.quorum) if rules.quorum is not None else None
    quorum_met = quorum is None or voters >= quorum * eligible

    if kind in POSITION_KINDS:
        result = _tally_positions(rules, counts, eligible)
    elif kind is DecisionKind.RANKED:
        result = _tally_ranked(rules, counts)
    else:
        result = _tally_totals(rules, counts, voters)

    if not quorum_met:
        assert quorum is not None
        took_part = {"voters": voters, "eligible": eligible, "needed": percent(quorum)}
        if DECISION_TYPES[kind].has_pass_fail:
            said = _(
                "Fails: quorum not reached ({voters} of {eligible} took part, {needed} needed).", **took_part
            )
            result = replace(result, passed=False, outcome=str(said), said=said)
        else:
            said = _(
                "Quorum not reached ({voters} of {eligible} took part, {needed} needed). {outcome}",
                outcome=result.said,
                **took_part,
            )
            result = replace(result, outcome=str(said), said=said)

    return TallyResult(
        **vars(result),
        kind=kind,
        voters=voters,
        eligible=eligible,
        participation=participation,
        quorum_required=quorum,
        quorum_met=quorum_met,
    )


def _tally_positions(rules: DecisionRules, counts: Mapping[str, int], eligible: int) -> _KindResult:
    kind = DecisionKind(rules.kind)
    decision_type = DECISION_TYPES[kind]
    tallied = dict.fromkeys(decision_type.position_keys, 0)
    reader = _BallotReader(rules)
    for ballot, count in counts.items():
        key = reader.decode(ballot)
        assert isinstance(key, str)
        tallied[key] += count

    assert decision_type.decide is not None
    passed, said = decision_type.decide(Count(tallied, eligible, rules.target))
    return _KindResult(passed=passed, outcome=str(said), said=said, position_counts=tallied)


def _tally_totals(rules: DecisionRules, counts: Mapping[str, int], voters: int) -> _KindResult:
    """Poll, score and dot: add up per option, the highest total wins."""
    kind = DecisionKind(rules.kind)
    totals = [0] * len(rules.options)
    reader = _BallotReader(rules)
    if kind is DecisionKind.SCORE:
        # Every score ballot is a full row; summing columns runs in C. That matters because nearly every
        # voter's ballot is distinct (6 scores over 10 options allow 60 million different ballots).
        rows = [reader.score_row(ballot) for ballot in counts]
        weighted = [
            row if count == 1 else [score * count for score in row]
            for row, count in zip(rows, counts.values(), strict=True)
        ]
        if weighted:
            totals = [sum(column) for column in zip(*weighted, strict=True)]
    else:
        for ballot, count in counts.items():
            decoded = reader.decode(ballot)
            if isinstance(decoded, tuple):
                for index in decoded:
                    totals[index] += count
            else:
                assert isinstance(decoded, dict)
                for index, value in decoded.items():
                    totals[index] += value * count

    averages: list[Fraction | None] = []
    if kind is DecisionKind.SCORE:
        averages = [Fraction(total, voters) if voters else None for total in totals]
    winners = _top(totals) if voters else ()
    if not winners:
        said = _("No votes, so no winner.")
    elif len(winners) == 1:
        (winner,) = winners
        average = averages[winner] if averages else None
        said = _win(kind, totals[winner], option=rules.options[winner])
        if average is not None:
            said = _("{win} (average {average}).", win=said, average=f"{float(average):.1f}")
        else:
            said = _("{win}.", win=said)
    else:
        said = _tie(kind, totals[winners[0]], options=_names(rules, winners))
    return _KindResult(
        passed=None,
        outcome=str(said),
        said=said,
        option_totals=totals,
        option_averages=averages,
        winners=winners,
    )


def _win(kind: DecisionKind, total: int, *, option: str) -> Text:
    """ "Option A wins with 3 votes" (points, dots): the count in the words of the kind."""
    if kind is DecisionKind.POLL:
        return _n("{option} wins with {count} vote", "{option} wins with {count} votes", total, option=option)
    if kind is DecisionKind.SCORE:
        return _n(
            "{option} wins with {count} point", "{option} wins with {count} points", total, option=option
        )
    return _n("{option} wins with {count} dot", "{option} wins with {count} dots", total, option=option)


def _tie(kind: DecisionKind, total: int, *, options: str) -> Text:
    if kind is DecisionKind.POLL:
        return _n(
            "Tie between {options} ({count} vote each).",
            "Tie between {options} ({count} votes each).",
            total,
            options=options,
        )
    if kind is DecisionKind.SCORE:
        return _n(
            "Tie between {options} ({count} point each).",
            "Tie between {options} ({count} points each).",
            total,
            options=options,
        )
    return _n(
        "Tie between {options} ({count} dot each).",
        "Tie between {options} ({count} dots each).",
        total,
        options=options,
    )


def _top(values: Sequence[int]) -> tuple[int, ...]:
    best = max(values)
    return tuple(index for index, value in enumerate(values) if value == best)


def _tally_ranked(rules: DecisionRules, counts: Mapping[str, int]) -> _KindResult:
    option_count = len(rules.options)
    rankings: list[tuple[tuple[int, ...], int]] = []
    reader = _BallotReader(rules)
    for ballot, count in counts.items():
        decoded = reader.decode(ballot)
        assert isinstance(decoded, tuple)
        rankings.append((decoded, count))

    first = [0] * option_count
    borda = [0] * option_count
    points = range(option_count - 1, -1, -1)  # n-1 for a first place, down to 0 for the last
    for ranking, count in rankings:
        first[ranking[0]] += count
        for index, point in zip(ranking, points, strict=False):
            borda[index] += point * count

    if not rankings:
        said = _("No votes, so no winner.")
        return _KindResult(passed=None, outcome=str(said), said=said, option_totals=first, borda=borda)

    rounds, winners = _instant_runoff(option_count, rankings, first, borda)
    final = rounds[-1]
    if len(winners) == 1:
        (winner,) = winners
        said = _(
            "{option} wins in round {round} with {votes} of {continuing} continuing ballots.",
            option=rules.options[winner],
            round=len(rounds),
            votes=final.counts[winner],
            continuing=final.continuing,
        )
    else:
        said = _n(
            "Tie between {options} in round {round} ({count} ballot each).",
            "Tie between {options} in round {round} ({count} ballots each).",
            final.counts[winners[0]],
            options=_names(rules, winners),
            round=len(rounds),
        )
    return _KindResult(
        passed=None,
        outcome=str(said),
        said=said,
        option_totals=first,
        winners=winners,
        rounds=rounds,
        borda=borda,
    )


def _instant_runoff(
    option_count: int,
    rankings: Sequence[tuple[tuple[int, ...], int]],
    first: Sequence[int],
    borda: Sequence[int],
) -> tuple[tuple[IrvRound, ...], tuple[int, ...]]:
    """Run the rounds (rules on :func:`tally`); returns the rounds and the winner(s).

    Each group of identical rankings sits in the pile of the option it currently counts for, with a
    cursor into its ranking. Eliminating an option moves only that option's pile, so a whole count costs
    O(total length of the distinct rankings), however many voters share them.
    """
    standing = set(range(option_count))
    cursor = [0] * len(rankings)
    piles: list[list[int]] = [[] for _ in range(option_count)]
    counts = [0] * option_count
    for group, (ranking, count) in enumerate(rankings):
        piles[ranking[0]].append(group)
        counts[ranking[0]] += count
    exhausted = 0
    rounds: list[IrvRound] = []

    while True:
        snapshot = tuple(counts)
        continuing = sum(snapshot)
        leader = max(standing, key=lambda index: counts[index])
        if 2 * counts[leader] > continuing:
            rounds.append(IrvRound(snapshot, None, exhausted))
            return tuple(rounds), (leader,)
        fewest = min(counts[index] for index in standing)
        if fewest == counts[leader]:
            rounds.append(IrvRound(snapshot, None, exhausted))
            return tuple(rounds), tuple(sorted(standing))

        out = min(
            (index for index in standing if counts[index] == fewest),
            key=lambda index: (first[index], borda[index], index),
        )
        rounds.append(IrvRound(snapshot, out, exhausted))
        standing.remove(out)
        counts[out] = 0
        for group in piles[out]:
            ranking, count = rankings[group]
            place = cursor[group] + 1
            while place < len(ranking) and ranking[place] not in standing:
                place += 1
            if place < len(ranking):
                cursor[group] = place
                piles[ranking[place]].append(group)
                counts[ranking[place]] += count
            else:
                exhausted += count
        piles[out] = []


# --- wording -------------------------------------------------------------------------------------------


def _names(rules: DecisionRules, indices: Sequence[int]) -> str:
    labels = [rules.options[index] for index in indices]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
