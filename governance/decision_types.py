"""The decision types a cooperative can use, described as data.

Each :class:`DecisionType` says what voters choose (fixed *positions* such as agree / block, or the
*options* the proposer lists), the passing rule in one human line, and the timing rules. A type with
positions also carries its rule as code (``decide``), written right beside its sentence so that the two
cannot drift apart; :mod:`governance.tally` reads ballots, counts them and calls it. Option types (poll,
ranked, score, dot) are counted by the tally itself: their rule is "the most wins".

Timing. ``default_duration`` is what a proposal gets when the author names no closing time.
``min_working_days`` follows the Enspiral Decisions Agreement (handbook.enspiral.com/agreements/decisions):
Standard (our ``consensus``) 3 working days, Significant 5, Quorum 5, Emergency 10 (Enspiral's
"emergency" decision is the safeguard against a destructive minority block, e.g. removing a member, not a
fast track; it is the slowest of all). Kinds Enspiral does not define have no working-day minimum.
``min_duration`` is a floor in plain time that applies to every kind, so that nobody can open a decision
that closes before anyone could see it; both minimums apply when both are set. Counting working days needs
the guild's timezone (and perhaps holidays), so that is left to the scheduler; this module only says how many.
Every default duration is long enough to contain its working-day minimum whatever day it starts on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType

from governance.errors import InvalidInput
from governance.i18n import N_, Lowered, Text, Translated, _, _n
from governance.text import percent

SIGNIFICANT_SHARE = Fraction(1, 2)  # strictly more than this share of positions must agree
SUPERMAJORITY = Fraction(3, 4)  # quorum (of eligible) and emergency (of positions): at least this share


class DecisionKind(StrEnum):
    CONSENT = "consent"
    CONSENSUS = "consensus"
    SIGNIFICANT = "significant"
    QUORUM = "quorum"
    EMERGENCY = "emergency"
    ADVICE = "advice"
    SENSE_CHECK = "sense_check"
    POLL = "poll"
    RANKED = "ranked"
    SCORE = "score"
    DOT = "dot"
    COUNT = "count"


@dataclass(frozen=True)
class Position:
    """A fixed choice of a position-based decision; ``key`` is what a ballot stores."""

    key: str
    label: str
    emoji: str
    needs_reason: bool = False
    stance: str = (
        "neutral"  # for, against, abstain or neutral: what the choice says, e.g. for a chart's colours
    )


# No type may close sooner than this, whatever its working-day rule.
_FLOOR = timedelta(hours=1)


@dataclass(frozen=True)
class Count:
    """What a position rule decides on: the votes per position key, the eligible voters, a count's target."""

    positions: Mapping[str, int]
    eligible: int
    target: int | None = None


# A position rule: passed (None when the type has no pass or fail) and the outcome in one sentence.
Verdict = tuple[bool | None, Text]  # passes (None: no pass or fail) and the outcome, in words
Rule = Callable[[Count], Verdict]


@dataclass(frozen=True)
class DecisionType:
    kind: DecisionKind
    label: str
    rule: str
    positions: tuple[Position, ...]  # empty: voters choose among the options the proposer lists
    has_pass_fail: bool
    default_duration: timedelta
    min_working_days: int = 0
    min_duration: timedelta = _FLOOR
    decide: Rule | None = None  # the rule of a position type, as code; None for option types

    @property
    def uses_options(self) -> bool:
        return not self.positions

    @property
    def position_keys(self) -> tuple[str, ...]:
        return tuple(position.key for position in self.positions)

    def position(self, key: str) -> Position:
        """The position with this key; raises InvalidInput naming the valid keys otherwise."""
        for position in self.positions:
            if position.key == key:
                return position
        if not self.positions:
            raise InvalidInput(_("A {type} decision has options, not positions.", type=Lowered(self.label)))
        valid = ", ".join(self.position_keys)
        raise InvalidInput(
            _("Unknown position '{position}'. Choose one of: {positions}.", position=key, positions=valid)
        )


# Enspiral's four positions, shared by every consensus-family kind.
_AGREE = Position("agree", N_("Agree"), "👍", stance="for")
_ABSTAIN = Position("abstain", N_("Abstain"), "🤐", stance="abstain")
_DISAGREE = Position("disagree", N_("Disagree"), "👎", stance="against")
_BLOCK = Position("block", N_("Block"), "🛑", needs_reason=True, stance="against")
_CONSENSUS_POSITIONS = (_AGREE, _ABSTAIN, _DISAGREE, _BLOCK)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _consent(count: Count) -> Verdict:
    objections = count.positions["objection"]
    if objections:
        return False, _n("Fails: {count} objection stands.", "Fails: {count} objections stand.", objections)
    return True, _("Passes: no objection stands.")


_CONSENT = DecisionType(
    kind=DecisionKind.CONSENT,
    label=N_("Consent"),
    rule=N_("Passes at the closing time unless an objection stands"),
    positions=(
        Position("no_objection", N_("No objection"), "👌", stance="for"),
        Position("objection", N_("Objection"), "✋", needs_reason=True, stance="against"),
    ),
    has_pass_fail=True,
    default_duration=_days(3),
    decide=_consent,
)


def _blocked(count: Count) -> Verdict | None:
    blocks = count.positions["block"]
    return (False, _n("Fails: {count} block.", "Fails: {count} blocks.", blocks)) if blocks else None


def _consensus(count: Count) -> Verdict:
    return _blocked(count) or (True, _("Passes: no block."))


_CONSENSUS = DecisionType(
    kind=DecisionKind.CONSENSUS,
    label=N_("Consensus"),
    rule=N_("Passes unless someone blocks"),
    positions=_CONSENSUS_POSITIONS,
    has_pass_fail=True,
    default_duration=_days(7),
    min_working_days=3,
    decide=_consensus,
)


def _took_a_position(count: Count) -> int:
    return count.positions["agree"] + count.positions["disagree"] + count.positions["block"]


def _significant(count: Count) -> Verdict:
    if blocked := _blocked(count):
        return blocked
    agree, positions = count.positions["agree"], _took_a_position(count)
    if not positions:
        return False, _("Fails: nobody took a position.")
    counted = {"agree": agree, "positions": positions, "needed": percent(SIGNIFICANT_SHARE)}
    if agree > SIGNIFICANT_SHARE * positions:
        return True, _(
            "Passes: {agree} of {positions} who took a position agree (more than {needed} needed).", **counted
        )
    return False, _(
        "Fails: {agree} of {positions} who took a position agree; more than {needed} needed.", **counted
    )


_SIGNIFICANT = DecisionType(
    kind=DecisionKind.SIGNIFICANT,
    label=N_("Significant"),
    rule=N_("Passes with no block and more than half (50%) of those who took a position agreeing"),
    positions=_CONSENSUS_POSITIONS,
    has_pass_fail=True,
    default_duration=_days(7),
    min_working_days=5,
    decide=_significant,
)


def _quorum(count: Count) -> Verdict:
    if blocked := _blocked(count):
        return blocked
    support = count.positions["agree"] + count.positions["abstain"]
    counted = {"support": support, "eligible": count.eligible, "needed": percent(SUPERMAJORITY)}
    if support >= SUPERMAJORITY * count.eligible:
        return True, _(
            "Passes: {support} of {eligible} eligible agree or abstain ({needed} needed).", **counted
        )
    return False, _("Fails: {support} of {eligible} eligible agree or abstain; {needed} needed.", **counted)


_QUORUM = DecisionType(
    kind=DecisionKind.QUORUM,
    label=N_("Quorum"),
    rule=N_(
        "Passes with no block and at least three quarters (75%) of eligible voters agreeing or abstaining"
    ),
    positions=_CONSENSUS_POSITIONS,
    has_pass_fail=True,
    default_duration=_days(7),
    min_working_days=5,
    decide=_quorum,
)


def _emergency(count: Count) -> Verdict:
    agree, blocks, positions = count.positions["agree"], count.positions["block"], _took_a_position(count)
    if not positions:
        return False, _("Fails: nobody took a position.")
    counted = {"agree": agree, "positions": positions, "needed": percent(SUPERMAJORITY)}
    if agree >= SUPERMAJORITY * positions:
        if blocks:
            return True, _n(
                "Passes despite {count} block: {agree} of {positions} who took a position agree ({needed} "
                "needed).",
                "Passes despite {count} blocks: {agree} of {positions} who took a position agree ({needed} "
                "needed).",
                blocks,
                **counted,
            )
        return True, _(
            "Passes: {agree} of {positions} who took a position agree ({needed} needed).", **counted
        )
    return False, _("Fails: {agree} of {positions} who took a position agree; {needed} needed.", **counted)


_EMERGENCY = DecisionType(
    kind=DecisionKind.EMERGENCY,
    label=N_("Emergency"),
    rule=N_("Passes when at least three quarters (75%) of those who took a position agree, even with blocks"),
    positions=_CONSENSUS_POSITIONS,
    has_pass_fail=True,
    default_duration=_days(14),
    min_working_days=10,
    decide=_emergency,
)


def _advice(count: Count) -> Verdict:
    given = count.positions["advice"]
    if not given:
        return None, _("No advice given; the proposer decides.")
    return None, _n(
        "{count} piece of advice given; the proposer decides.",
        "{count} pieces of advice given; the proposer decides.",
        given,
    )


_ADVICE = DecisionType(
    kind=DecisionKind.ADVICE,
    label=N_("Advice"),
    rule=N_("Members give advice; the proposer decides and records the outcome"),
    positions=(Position("advice", N_("Give advice"), "💬", needs_reason=True),),
    has_pass_fail=False,
    default_duration=_days(5),
    decide=_advice,
)


def _sense_check(count: Count) -> Verdict:
    looks_good, not_sure, concerned = (count.positions[p.key] for p in _SENSE_POSITIONS)
    return None, _(
        "{looks_good}: {good}, {not_sure}: {unsure}, {concerned}: {worried}.",
        looks_good=Translated(_SENSE_POSITIONS[0].label),
        good=looks_good,
        not_sure=Translated(_SENSE_POSITIONS[1].label),
        unsure=not_sure,
        concerned=Translated(_SENSE_POSITIONS[2].label),
        worried=concerned,
    )


_SENSE_POSITIONS = (
    Position("looks_good", N_("Looks good"), "👍", stance="for"),
    Position("not_sure", N_("Not sure"), "🤔", stance="abstain"),
    Position("concerned", N_("Concerned"), "😟", stance="against"),
)


_SENSE_CHECK = DecisionType(
    kind=DecisionKind.SENSE_CHECK,
    label=N_("Sense check"),
    rule=N_("Informational: shows how people feel, no pass or fail"),
    positions=_SENSE_POSITIONS,
    has_pass_fail=False,
    default_duration=_days(2),
    decide=_sense_check,
)


_POLL = DecisionType(
    kind=DecisionKind.POLL,
    label=N_("Poll"),
    rule=N_("The option with the most votes wins; ties are reported"),
    positions=(),
    has_pass_fail=False,
    default_duration=_days(3),
)


_RANKED = DecisionType(
    kind=DecisionKind.RANKED,
    label=N_("Ranked choice"),
    rule=N_("Instant-runoff winner of the rankings; Borda count shown too"),
    positions=(),
    has_pass_fail=False,
    default_duration=_days(5),
)


_SCORE = DecisionType(
    kind=DecisionKind.SCORE,
    label=N_("Score"),
    rule=N_("The option with the highest total score wins"),
    positions=(),
    has_pass_fail=False,
    default_duration=_days(5),
)


_DOT = DecisionType(
    kind=DecisionKind.DOT,
    label=N_("Dot vote"),
    rule=N_("Each voter spreads their dots; the option with the most dots wins"),
    positions=(),
    has_pass_fail=False,
    default_duration=_days(5),
)


def _count(count: Count) -> Verdict:
    people_in, target = count.positions["in"], count.target
    assert target is not None
    if people_in >= target:
        return True, _("Passes: {people} in, target of {target} reached.", people=people_in, target=target)
    return False, _("Fails: {people} in, {target} needed.", people=people_in, target=target)


_COUNT = DecisionType(
    kind=DecisionKind.COUNT,
    label=N_("Count"),
    rule=N_("Passes when enough people are in to reach the target"),
    positions=(
        Position("in", N_("I'm in"), "🙋", stance="for"),
        Position("out", N_("Not in"), "🙅", stance="against"),
    ),
    has_pass_fail=True,
    default_duration=_days(7),
    decide=_count,
)


_TYPES: tuple[DecisionType, ...] = (
    _CONSENT,
    _CONSENSUS,
    _SIGNIFICANT,
    _QUORUM,
    _EMERGENCY,
    _ADVICE,
    _SENSE_CHECK,
    _POLL,
    _RANKED,
    _SCORE,
    _DOT,
    _COUNT,
)

DECISION_TYPES: Mapping[DecisionKind, DecisionType] = MappingProxyType({t.kind: t for t in _TYPES})


def get_type(kind: str) -> DecisionType:
    """The decision type named ``kind`` (a DecisionKind or its name; case, spaces and dashes are forgiven).

    Raises InvalidInput listing the valid names when there is no such type.
    """
    normalised = kind.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return DECISION_TYPES[DecisionKind(normalised)]
    except ValueError:
        valid = ", ".join(k.value for k in DecisionKind)
        raise InvalidInput(
            _("Unknown decision type '{type}'. Choose one of: {types}.", type=kind, types=valid)
        ) from None
