"""The decision types a cooperative can use, described as data.

Each :class:`DecisionType` says what voters choose (fixed *positions* such as agree / block, or the
*options* the proposer lists), the passing rule in one human line, and the timing rules. The counting
itself lives in :mod:`governance.tally`; this module holds no behaviour beyond lookups.

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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from governance.errors import InvalidInput


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


# No type may close sooner than this, whatever its working-day rule.
_FLOOR = timedelta(hours=1)


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
            raise InvalidInput(f"A {self.label.lower()} decision has options, not positions.")
        valid = ", ".join(self.position_keys)
        raise InvalidInput(f"Unknown position '{key}'. Choose one of: {valid}.")


# Enspiral's four positions, shared by every consensus-family kind.
_AGREE = Position("agree", "Agree", "👍")
_ABSTAIN = Position("abstain", "Abstain", "🤐")
_DISAGREE = Position("disagree", "Disagree", "👎")
_BLOCK = Position("block", "Block", "🛑", needs_reason=True)
_CONSENSUS_POSITIONS = (_AGREE, _ABSTAIN, _DISAGREE, _BLOCK)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


_TYPES: tuple[DecisionType, ...] = (
    DecisionType(
        kind=DecisionKind.CONSENT,
        label="Consent",
        rule="Passes at the closing time unless an objection stands",
        positions=(
            Position("no_objection", "No objection", "👌"),
            Position("objection", "Objection", "✋", needs_reason=True),
        ),
        has_pass_fail=True,
        default_duration=_days(3),
    ),
    DecisionType(
        kind=DecisionKind.CONSENSUS,
        label="Consensus",
        rule="Passes unless someone blocks",
        positions=_CONSENSUS_POSITIONS,
        has_pass_fail=True,
        default_duration=_days(7),
        min_working_days=3,
    ),
    DecisionType(
        kind=DecisionKind.SIGNIFICANT,
        label="Significant",
        rule="Passes with no block and more than 50% of those who took a position agreeing",
        positions=_CONSENSUS_POSITIONS,
        has_pass_fail=True,
        default_duration=_days(7),
        min_working_days=5,
    ),
    DecisionType(
        kind=DecisionKind.QUORUM,
        label="Quorum",
        rule="Passes with no block and at least 75% of eligible voters agreeing or abstaining",
        positions=_CONSENSUS_POSITIONS,
        has_pass_fail=True,
        default_duration=_days(7),
        min_working_days=5,
    ),
    DecisionType(
        kind=DecisionKind.EMERGENCY,
        label="Emergency",
        rule="Passes when at least 75% of those who took a position agree, even with blocks",
        positions=_CONSENSUS_POSITIONS,
        has_pass_fail=True,
        default_duration=_days(14),
        min_working_days=10,
    ),
    DecisionType(
        kind=DecisionKind.ADVICE,
        label="Advice",
        rule="Members give advice; the proposer decides and records the outcome",
        positions=(Position("advice", "Give advice", "💬", needs_reason=True),),
        has_pass_fail=False,
        default_duration=_days(5),
    ),
    DecisionType(
        kind=DecisionKind.SENSE_CHECK,
        label="Sense check",
        rule="Informational: shows how people feel, no pass or fail",
        positions=(
            Position("looks_good", "Looks good", "👍"),
            Position("not_sure", "Not sure", "🤔"),
            Position("concerned", "Concerned", "😟"),
        ),
        has_pass_fail=False,
        default_duration=_days(2),
    ),
    DecisionType(
        kind=DecisionKind.POLL,
        label="Poll",
        rule="The option with the most votes wins; ties are reported",
        positions=(),
        has_pass_fail=False,
        default_duration=_days(3),
    ),
    DecisionType(
        kind=DecisionKind.RANKED,
        label="Ranked choice",
        rule="Instant-runoff winner of the rankings; Borda count shown too",
        positions=(),
        has_pass_fail=False,
        default_duration=_days(5),
    ),
    DecisionType(
        kind=DecisionKind.SCORE,
        label="Score",
        rule="The option with the highest total score wins",
        positions=(),
        has_pass_fail=False,
        default_duration=_days(5),
    ),
    DecisionType(
        kind=DecisionKind.DOT,
        label="Dot vote",
        rule="Each voter spreads their dots; the option with the most dots wins",
        positions=(),
        has_pass_fail=False,
        default_duration=_days(5),
    ),
    DecisionType(
        kind=DecisionKind.COUNT,
        label="Count",
        rule="Passes when enough people are in to reach the target",
        positions=(
            Position("in", "I'm in", "🙋"),
            Position("out", "Not in", "🙅"),
        ),
        has_pass_fail=True,
        default_duration=_days(7),
    ),
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
        raise InvalidInput(f"Unknown decision type '{kind}'. Choose one of: {valid}.") from None
