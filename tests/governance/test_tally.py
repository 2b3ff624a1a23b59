"""The passing rules, ballot formats and counting methods, edge by edge, with worked examples."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from governance.decision_types import DECISION_TYPES, DecisionKind, get_type
from governance.errors import InvalidInput
from governance.tally import (
    DecisionRules,
    IrvRound,
    RawBallot,
    decode_ballot,
    describe_ballot,
    encode_ballot,
    parse_ballot_text,
    tally,
    validate_rules,
)

K = DecisionKind
ABC = ("A", "B", "C")
ABCD = ("A", "B", "C", "D")


# --- decision types ------------------------------------------------------------------------------------


def test_every_kind_has_a_type():
    assert set(DECISION_TYPES) == set(DecisionKind)
    for kind, decision_type in DECISION_TYPES.items():
        assert decision_type.kind is kind
        assert decision_type.rule
        assert decision_type.uses_options == (not decision_type.positions)
        assert decision_type.default_duration >= decision_type.min_duration > timedelta(0)
        # Seven calendar days always hold five working days, so a default never breaks its own minimum.
        assert decision_type.default_duration >= timedelta(days=decision_type.min_working_days * 7 / 5)


@pytest.mark.parametrize(
    ("kind", "keys", "needing_reason"),
    [
        (K.CONSENT, ("no_objection", "objection"), {"objection"}),
        (K.CONSENSUS, ("agree", "abstain", "disagree", "block"), {"block"}),
        (K.SIGNIFICANT, ("agree", "abstain", "disagree", "block"), {"block"}),
        (K.QUORUM, ("agree", "abstain", "disagree", "block"), {"block"}),
        (K.EMERGENCY, ("agree", "abstain", "disagree", "block"), {"block"}),
        (K.ADVICE, ("advice",), {"advice"}),
        (K.SENSE_CHECK, ("looks_good", "not_sure", "concerned"), set()),
        (K.COUNT, ("in", "out"), set()),
        (K.POLL, (), set()),
        (K.RANKED, (), set()),
        (K.SCORE, (), set()),
        (K.DOT, (), set()),
    ],
)
def test_positions(kind, keys, needing_reason):
    decision_type = DECISION_TYPES[kind]
    assert decision_type.position_keys == keys
    assert {p.key for p in decision_type.positions if p.needs_reason} == needing_reason


@pytest.mark.parametrize(
    ("kind", "has_pass_fail"),
    [
        (K.CONSENT, True),
        (K.CONSENSUS, True),
        (K.SIGNIFICANT, True),
        (K.QUORUM, True),
        (K.EMERGENCY, True),
        (K.COUNT, True),
        (K.ADVICE, False),
        (K.SENSE_CHECK, False),
        (K.POLL, False),
        (K.RANKED, False),
        (K.SCORE, False),
        (K.DOT, False),
    ],
)
def test_which_kinds_pass_or_fail(kind, has_pass_fail):
    assert DECISION_TYPES[kind].has_pass_fail is has_pass_fail


@pytest.mark.parametrize(
    ("name", "kind"),
    [("consent", K.CONSENT), ("  Ranked ", K.RANKED), ("sense-check", K.SENSE_CHECK), (K.DOT, K.DOT)],
)
def test_get_type(name, kind):
    assert get_type(name).kind is kind


def test_get_type_unknown_lists_valid_names():
    with pytest.raises(InvalidInput) as caught:
        get_type("majority")
    assert "Unknown decision type 'majority'" in caught.value.message
    assert "consent" in caught.value.message
    assert "sense_check" in caught.value.message


def test_enspiral_working_day_minimums():
    minimums = {kind: t.min_working_days for kind, t in DECISION_TYPES.items() if t.min_working_days}
    assert minimums == {K.CONSENSUS: 3, K.SIGNIFICANT: 5, K.QUORUM: 5, K.EMERGENCY: 10}


# --- rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (DecisionRules(K.POLL, options=("A",)), "Give between 2 and 20 options."),
        (DecisionRules(K.RANKED, options=tuple(str(i) for i in range(21))), "Give between 2 and 20 options."),
        (DecisionRules(K.POLL, options=("Yes", " yes ")), "The option 'yes' is listed twice."),
        (DecisionRules(K.DOT, options=("A", "  ")), "An option cannot be empty."),
        (DecisionRules(K.DOT, options=("A", "x" * 101)), "An option can be at most 100 characters long."),
        (DecisionRules(K.POLL, options=ABC, max_choices=0), "A poll allows between 1 and 3 choices"),
        (DecisionRules(K.POLL, options=ABC, max_choices=4), "A poll allows between 1 and 3 choices"),
        (DecisionRules(K.SCORE, options=ABC, score_min=5, score_max=5), "Scores must go from a lower"),
        (DecisionRules(K.SCORE, options=ABC, score_min=-11, score_max=5), "Scores must go from a lower"),
        (DecisionRules(K.SCORE, options=ABC, score_max=101), "Scores must go from a lower"),
        (DecisionRules(K.DOT, options=ABC, dots=0), "Each voter gets between 1 and 1000 dots."),
        (DecisionRules(K.DOT, options=ABC, dots=1001), "Each voter gets between 1 and 1000 dots."),
        (DecisionRules(K.COUNT), "A count decision needs a target of at least 1 person."),
        (DecisionRules(K.COUNT, target=0), "A count decision needs a target of at least 1 person."),
        (DecisionRules(K.POLL, options=ABC, target=3), "Only count decisions have a target."),
        (DecisionRules(K.CONSENT, options=ABC), "Only poll, ranked, score and dot decisions have options."),
        (DecisionRules(K.CONSENT, quorum=Fraction(0)), "A quorum must be more than 0%"),
        (DecisionRules(K.CONSENT, quorum=Fraction(3, 2)), "A quorum must be more than 0%"),
    ],
)
def test_invalid_rules(rules, message):
    with pytest.raises(InvalidInput) as caught:
        validate_rules(rules)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    "rules",
    [
        DecisionRules(K.CONSENT),
        DecisionRules(K.CONSENT, quorum=Fraction(1)),
        DecisionRules(K.POLL, options=ABC, max_choices=3),
        DecisionRules(K.RANKED, options=tuple(str(i) for i in range(20))),
        DecisionRules(K.SCORE, options=ABC, score_min=-10, score_max=100),
        DecisionRules(K.DOT, options=ABC, dots=1000),
        DecisionRules(K.COUNT, target=1),
        # Settings that do not apply to the kind are ignored, so a form may always send its defaults.
        DecisionRules(K.CONSENSUS, max_choices=0, dots=0, score_min=9, score_max=1),
    ],
)
def test_valid_rules(rules):
    validate_rules(rules)


# --- ballots -------------------------------------------------------------------------------------------

POLL2 = DecisionRules(K.POLL, options=ABC, max_choices=2)
POLL1 = DecisionRules(K.POLL, options=ABC)
RANKED = DecisionRules(K.RANKED, options=ABC)
SCORE = DecisionRules(K.SCORE, options=ABC)
DOT = DecisionRules(K.DOT, options=ABC)


@pytest.mark.parametrize(
    ("rules", "raw", "canonical"),
    [
        (DecisionRules(K.CONSENSUS), " Agree ", "agree"),
        (DecisionRules(K.CONSENT), "objection", "objection"),
        (DecisionRules(K.COUNT, target=2), "in", "in"),
        (POLL2, [2, 0], "0,2"),
        (POLL1, (1,), "1"),
        (RANKED, [2, 0, 1], "2,0,1"),
        (RANKED, [1], "1"),
        (SCORE, {2: 0, 0: 5, 1: 3}, "0:5,1:3,2:0"),
        (DOT, {2: 5, 0: 3, 1: 0}, "0:3,2:5"),
        (DOT, {1: 8}, "1:8"),
        (DecisionRules(K.SCORE, options=ABC, score_min=-2, score_max=2), {0: -2, 1: 0, 2: 2}, "0:-2,1:0,2:2"),
    ],
)
def test_encode_is_canonical_and_decodes_back(rules, raw, canonical):
    assert encode_ballot(rules, raw) == canonical
    decoded = decode_ballot(rules, canonical)
    assert encode_ballot(rules, decoded) == canonical


@pytest.mark.parametrize(
    ("rules", "raw", "message"),
    [
        (POLL2, [0, 1, 2], "Choose at most 2 options."),
        (POLL1, [0, 1], "Choose only one option."),
        (POLL2, [], "Choose at least one option."),
        (POLL2, [1, 1], "You chose 'B' twice."),
        (POLL2, [3], "There is no option 4; choose an option numbered 1 to 3."),
        (POLL2, [-1], "There is no option 0; choose an option numbered 1 to 3."),
        (RANKED, [0, 1, 0], "'A' appears twice in your ranking."),
        (RANKED, [], "Rank at least one option."),
        (RANKED, [0, 7], "There is no option 8; choose an option numbered 1 to 3."),
        (SCORE, {0: 6, 1: 0, 2: 0}, "Scores go from 0 to 5."),
        (SCORE, {0: -1, 1: 0, 2: 0}, "Scores go from 0 to 5."),
        (SCORE, {0: 5, 1: 3}, "Score every option: 'C' has no score."),
        (SCORE, {0: 5, 1: 3, 2: 1, 3: 1}, "There is no option 4; choose an option numbered 1 to 3."),
        (DOT, {0: 5, 1: 4}, "You have 8 dots; this ballot spends 9."),
        (DOT, {}, "Place at least one dot."),
        (DOT, {0: 0, 1: 0}, "Place at least one dot."),
        (DOT, {0: 9, 1: -2}, "Dots cannot be negative."),
        (DOT, {5: 1}, "There is no option 6; choose an option numbered 1 to 3."),
        (DecisionRules(K.CONSENSUS), "maybe", "Unknown position 'maybe'. Choose one of: agree, abstain"),
        (DecisionRules(K.CONSENT), "agree", "Unknown position 'agree'. Choose one of: no_objection"),
    ],
)
def test_bad_ballots(rules, raw, message):
    with pytest.raises(InvalidInput) as caught:
        encode_ballot(rules, raw)
    assert caught.value.message.startswith(message)


def test_wrong_shape_is_a_programming_error():
    with pytest.raises(TypeError):
        encode_ballot(POLL2, "0,1")
    with pytest.raises(TypeError):
        encode_ballot(SCORE, [5, 3, 0])
    with pytest.raises(TypeError):
        encode_ballot(DecisionRules(K.CONSENT), [0])


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        (DecisionRules(K.CONSENSUS), "Agree"),
        (DecisionRules(K.CONSENSUS), "objection"),
        (POLL2, "2,0"),
        (POLL2, "0,1,2"),
        (POLL2, "01"),
        (POLL2, ""),
        (RANKED, "0,0"),
        (RANKED, "0, 1"),
        (RANKED, "3"),
        (SCORE, "0:5,1:3"),
        (SCORE, "1:3,0:5,2:0"),
        (SCORE, "0:6,1:3,2:0"),
        (SCORE, "0:+5,1:3,2:0"),
        (DOT, "0:3,1:0,2:5"),
        (DOT, "2:5,0:3"),
        (DOT, "0:9"),
        (DOT, "0:3,0:2"),
    ],
)
def test_decode_refuses_anything_not_canonical(rules, text):
    with pytest.raises(InvalidInput):
        decode_ballot(rules, text)


def test_tally_refuses_a_ballot_that_does_not_fit():
    with pytest.raises(InvalidInput):
        tally(POLL1, {"0,1": 1}, 3)
    with pytest.raises(ValueError, match="negative"):
        tally(POLL1, {"0": -1}, 3)


@pytest.mark.parametrize(
    ("rules", "text", "raw"),
    [
        (DecisionRules(K.CONSENT), "No objection", "no_objection"),
        (DecisionRules(K.CONSENT), "no-objection", "no_objection"),
        (DecisionRules(K.CONSENSUS), "🛑", "block"),
        (DecisionRules(K.COUNT, target=3), "I'm in", "in"),
        (POLL2, "1, 3", [0, 2]),
        (POLL2, "c; a", [2, 0]),
        (RANKED, "B > a > 3", [1, 0, 2]),
        (SCORE, "A:5, B=3, c : 0", {0: 5, 1: 3, 2: 0}),
        (DOT, "3:8", {2: 8}),
        (DecisionRules(K.POLL, options=("2025", "2026")), "2025", [0]),
    ],
)
def test_parse_ballot_text(rules, text, raw: RawBallot):
    assert parse_ballot_text(rules, text) == raw
    encode_ballot(rules, parse_ballot_text(rules, text))


@pytest.mark.parametrize(
    ("rules", "text", "message"),
    [
        (DecisionRules(K.CONSENSUS), "perhaps", "Unknown position 'perhaps'. Choose one of: Agree, Abstain"),
        (RANKED, "B > Z", "Unknown option 'Z'."),
        (SCORE, "A 5", "Write each option with its number"),
        (SCORE, "A:five", "'five' is not a whole number."),
        (DOT, "A:1, a:2", "'A' is given twice."),
    ],
)
def test_parse_ballot_text_errors(rules, text, message):
    with pytest.raises(InvalidInput) as caught:
        parse_ballot_text(rules, text)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("rules", "text", "words"),
    [
        (DecisionRules(K.CONSENT), "no_objection", "No objection"),
        (POLL2, "0,2", "A, C"),
        (RANKED, "2,0", "1. C, 2. A"),
        (SCORE, "0:5,1:3,2:0", "A: 5, B: 3, C: 0"),
        (DOT, "0:3,2:5", "A: 3, C: 5"),
    ],
)
def test_describe_ballot(rules, text, words):
    assert describe_ballot(rules, text) == words


# --- position kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "counts", "eligible", "passed", "outcome"),
    [
        # consent: silence is consent; any standing objection stops it
        (K.CONSENT, {}, 10, True, "Passes: no objection stands."),
        (K.CONSENT, {"no_objection": 9}, 10, True, "Passes: no objection stands."),
        (K.CONSENT, {"no_objection": 9, "objection": 1}, 10, False, "Fails: 1 objection stands."),
        (K.CONSENT, {"objection": 2}, 10, False, "Fails: 2 objections stand."),
        # consensus: only a block stops it
        (K.CONSENSUS, {}, 10, True, "Passes: no block."),
        (K.CONSENSUS, {"agree": 1, "disagree": 9}, 10, True, "Passes: no block."),
        (K.CONSENSUS, {"agree": 20, "block": 1}, 20, False, "Fails: 1 block."),
        # significant: more than half of positions; abstentions are not positions
        (K.SIGNIFICANT, {"agree": 2, "disagree": 2}, 10, False, "Fails: 2 of 4 who took a position agree;"),
        (K.SIGNIFICANT, {"agree": 3, "disagree": 2}, 10, True, "Passes: 3 of 5 who took a position agree"),
        (K.SIGNIFICANT, {"agree": 3, "disagree": 2, "abstain": 9}, 20, True, "Passes: 3 of 5"),
        (K.SIGNIFICANT, {"agree": 1, "abstain": 5}, 10, True, "Passes: 1 of 1"),
        (K.SIGNIFICANT, {"abstain": 3}, 10, False, "Fails: nobody took a position."),
        (K.SIGNIFICANT, {}, 10, False, "Fails: nobody took a position."),
        (K.SIGNIFICANT, {"agree": 10, "block": 1}, 20, False, "Fails: 1 block."),
        # quorum: agree + abstain of eligible, at least 75%
        (K.QUORUM, {"agree": 5, "abstain": 1}, 8, True, "Passes: 6 of 8 eligible agree or abstain (75%"),
        (K.QUORUM, {"agree": 5, "disagree": 3}, 8, False, "Fails: 5 of 8 eligible agree or abstain; 75%"),
        (K.QUORUM, {"agree": 3}, 4, True, "Passes: 3 of 4"),
        (K.QUORUM, {"agree": 2}, 4, False, "Fails: 2 of 4"),
        (K.QUORUM, {"agree": 7, "block": 1}, 8, False, "Fails: 1 block."),
        (K.QUORUM, {}, 4, False, "Fails: 0 of 4"),
        (K.QUORUM, {}, 0, True, "Passes: 0 of 0"),
        # emergency: at least 75% of positions, blocks notwithstanding
        (K.EMERGENCY, {"agree": 3, "block": 1}, 10, True, "Passes despite 1 block: 3 of 4 who"),
        (K.EMERGENCY, {"agree": 3, "disagree": 1, "abstain": 6}, 10, True, "Passes: 3 of 4"),
        (K.EMERGENCY, {"agree": 2, "disagree": 1, "block": 1}, 10, False, "Fails: 2 of 4"),
        (K.EMERGENCY, {"agree": 5, "disagree": 2}, 10, False, "Fails: 5 of 7 who took a position agree;"),
        (K.EMERGENCY, {"abstain": 4}, 10, False, "Fails: nobody took a position."),
        (K.EMERGENCY, {}, 10, False, "Fails: nobody took a position."),
        # count: the target is reached or not
        (K.COUNT, {"in": 3, "out": 4}, 10, True, "Passes: 3 in, target of 3 reached."),
        (K.COUNT, {"in": 2, "out": 5}, 10, False, "Fails: 2 in, 3 needed."),
        (K.COUNT, {}, 10, False, "Fails: 0 in, 3 needed."),
        # informational kinds
        (K.ADVICE, {"advice": 3}, 10, None, "3 pieces of advice given; the proposer decides."),
        (K.ADVICE, {"advice": 1}, 10, None, "1 piece of advice given; the proposer decides."),
        (K.ADVICE, {}, 10, None, "No advice given; the proposer decides."),
        (K.SENSE_CHECK, {"looks_good": 2, "concerned": 1}, 9, None, "Looks good: 2, Not sure: 0, Concerned:"),
    ],
)
def test_position_rules(kind, counts, eligible, passed, outcome):
    rules = DecisionRules(kind, target=3 if kind is K.COUNT else None)
    result = tally(rules, counts, eligible)
    assert result.passed is passed
    assert result.outcome.startswith(outcome)
    assert result.quorum_met
    # Every position is present, even at zero.
    assert result.position_counts == {key: counts.get(key, 0) for key in DECISION_TYPES[kind].position_keys}
    assert result.voters == sum(counts.values())
    assert result.option_totals == []
    assert result.winners == ()


# --- quorum on top -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quorum", "voters", "eligible", "met"),
    [
        (Fraction(1, 2), 5, 10, True),  # exactly at the quorum
        (Fraction(1, 2), 4, 10, False),  # missed by one
        (Fraction(2, 3), 7, 10, True),
        (Fraction(2, 3), 6, 10, False),
        (Fraction(1), 10, 10, True),
        (Fraction(1), 9, 10, False),
        (Fraction(1, 2), 0, 10, False),  # no votes at all
        (Fraction(1, 2), 0, 0, True),  # nobody eligible: met trivially
    ],
)
def test_quorum(quorum, voters, eligible, met):
    rules = DecisionRules(K.CONSENT, quorum=quorum)
    result = tally(rules, {"no_objection": voters}, eligible)
    assert result.quorum_met is met
    assert result.quorum_required == quorum
    assert result.passed is met  # consent with no objection passes exactly when the quorum is met
    if not met:
        assert result.outcome.startswith(f"Fails: quorum not reached ({voters} of {eligible} took part,")


def test_quorum_outcome_wording():
    result = tally(DecisionRules(K.CONSENT, quorum=Fraction(1, 2)), {"no_objection": 3}, 10)
    assert result.outcome == "Fails: quorum not reached (3 of 10 took part, 50% needed)."
    result = tally(DecisionRules(K.CONSENSUS, quorum=Fraction(2, 3)), {"agree": 6}, 10)
    assert result.outcome == "Fails: quorum not reached (6 of 10 took part, 66.7% needed)."


def test_quorum_overrides_a_pass_but_informational_kinds_keep_their_counts():
    poll = DecisionRules(K.POLL, options=ABC, quorum=Fraction(1, 2))
    result = tally(poll, {"0": 2, "1": 1}, 10)
    assert result.passed is None
    assert not result.quorum_met
    assert result.winners == (0,)
    assert result.outcome == "Quorum not reached (3 of 10 took part, 50% needed). A wins with 2 votes."

    sense = DecisionRules(K.SENSE_CHECK, quorum=Fraction(1, 2))
    result = tally(sense, {"looks_good": 1}, 10)
    assert result.passed is None
    assert result.outcome.startswith("Quorum not reached (1 of 10 took part")


def test_participation_and_eligible():
    result = tally(DecisionRules(K.CONSENSUS), {"agree": 2, "abstain": 1}, 12)
    assert result.participation == Fraction(1, 4)
    assert result.eligible == 12
    assert tally(DecisionRules(K.CONSENSUS), {}, 0).participation is None
    # Whoever voted was eligible when they voted: a smaller eligible count is raised to the voters.
    result = tally(DecisionRules(K.QUORUM), {"agree": 5}, 3)
    assert result.eligible == 5
    assert result.participation == 1
    assert result.passed is True


def test_zero_counts_are_ignored():
    result = tally(DecisionRules(K.CONSENT), {"objection": 0, "no_objection": 2}, 5)
    assert result.passed is True
    assert result.voters == 2


# --- poll, score, dot ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "counts", "totals", "winners", "outcome"),
    [
        (POLL1, {"0": 3, "1": 2}, [3, 2, 0], (0,), "A wins with 3 votes."),
        (POLL1, {"1": 1}, [0, 1, 0], (1,), "B wins with 1 vote."),
        (POLL1, {"0": 2, "1": 2, "2": 1}, [2, 2, 1], (0, 1), "Tie between A and B (2 votes each)."),
        (POLL1, {"0": 1, "1": 1, "2": 1}, [1, 1, 1], (0, 1, 2), "Tie between A, B and C (1 vote each)."),
        (POLL1, {}, [0, 0, 0], (), "No votes, so no winner."),
        (POLL2, {"0,1": 3, "1,2": 2, "2": 1}, [3, 5, 3], (1,), "B wins with 5 votes."),
        (DOT, {"0:3,2:5": 1, "1:8": 1}, [3, 8, 5], (1,), "B wins with 8 dots."),
        (DOT, {"0:4,1:4": 2}, [8, 8, 0], (0, 1), "Tie between A and B (8 dots each)."),
        (DOT, {}, [0, 0, 0], (), "No votes, so no winner."),
        (
            SCORE,
            {"0:5,1:3,2:0": 2, "0:1,1:4,2:5": 1},
            [11, 10, 5],
            (0,),
            "A wins with 11 points (average 3.7).",
        ),
        (SCORE, {"0:5,1:3,2:0": 1, "0:3,1:5,2:1": 1}, [8, 8, 1], (0, 1), "Tie between A and B (8 points"),
    ],
)
def test_option_kinds(rules, counts, totals, winners, outcome):
    result = tally(rules, counts, 10)
    assert result.passed is None
    assert result.option_totals == totals
    assert result.winners == winners
    assert result.outcome.startswith(outcome)
    assert result.position_counts == {}


def test_score_averages_are_exact():
    result = tally(SCORE, {"0:5,1:3,2:0": 2, "0:1,1:4,2:5": 1}, 10)
    assert result.option_averages == [Fraction(11, 3), Fraction(10, 3), Fraction(5, 3)]
    assert tally(SCORE, {}, 10).option_averages == [None, None, None]


def test_negative_scores():
    rules = DecisionRules(K.SCORE, options=("A", "B"), score_min=-2, score_max=2)
    result = tally(rules, {"0:-2,1:1": 3, "0:2,1:-1": 1}, 4)
    assert result.option_totals == [-4, 2]
    assert result.winners == (1,)
    assert result.option_averages == [Fraction(-1), Fraction(1, 2)]


# --- ranked: instant-runoff and Borda --------------------------------------------------------------------


def ranked(options: tuple[str, ...], counts: dict[str, int]):
    return tally(DecisionRules(K.RANKED, options=options), counts, sum(counts.values()))


def test_irv_transfers_until_a_majority():
    # Round 1: A 8, B 5, C 4, D 3 of 20; nobody has more than 10. D is out and its 3 go to C.
    # Round 2: A 8, B 5, C 7. B is out and its 5 go to C. Round 3: C 12 of 20 wins.
    result = ranked(ABCD, {"0": 8, "1,2": 5, "2,1": 4, "3,2": 3})
    assert result.rounds == (
        IrvRound((8, 5, 4, 3), eliminated=3, exhausted=0),
        IrvRound((8, 5, 7, 0), eliminated=1, exhausted=0),
        IrvRound((8, 0, 12, 0), eliminated=None, exhausted=0),
    )
    assert result.winners == (2,)
    assert result.option_totals == [8, 5, 4, 3]
    assert result.outcome == "C wins in round 3 with 12 of 20 continuing ballots."
    # Borda with 4 options: 3 points for a first place, 2 for a second, 1 for a third.
    assert result.borda == [24, 15 + 8, 10 + 12 + 6, 9]


def test_irv_exhausted_ballots_drop_out():
    # A 5, B 4, C 4 of 13. B and C tie for fewest with 4 first preferences each; C has fewer Borda points
    # (8 against 10) and goes. Two of C's ballots ranked nothing else and are exhausted; two go to B.
    # Round 2: A 5, B 6 of 11 continuing ballots: B has a majority of those, though not of all 13.
    result = ranked(ABC, {"0": 5, "1": 4, "2": 2, "2,1": 2})
    assert result.rounds == (
        IrvRound((5, 4, 4), eliminated=2, exhausted=0),
        IrvRound((5, 6, 0), eliminated=None, exhausted=2),
    )
    assert result.winners == (1,)
    assert result.borda == [10, 10, 8]
    assert result.outcome == "B wins in round 2 with 6 of 11 continuing ballots."


def test_irv_tie_for_fewest_goes_to_first_preferences():
    # Round 1: A 6, B 4, C 3, D 2 -> D out: one D ballot goes to C, one to A.
    # Round 2: A 7, B 4, C 4: B and C tie; C had fewer first preferences (3 < 4) and goes.
    # Its ballots, and the D>C>B one, move on to B. Round 3: B 8 of 15 wins.
    result = ranked(ABCD, {"0": 6, "1": 4, "2,1": 3, "3,2,1": 1, "3,0": 1})
    assert [r.counts for r in result.rounds] == [(6, 4, 3, 2), (7, 4, 4, 0), (7, 8, 0, 0)]
    assert [r.eliminated for r in result.rounds] == [3, 2, None]
    assert result.winners == (1,)


def test_irv_full_tie_for_fewest_eliminates_the_lowest_index():
    # A and B tie in every respect; A, listed first, goes. Its ballot is exhausted; C wins 2 of 3.
    result = ranked(ABC, {"0": 1, "1": 1, "2": 2})
    assert [r.eliminated for r in result.rounds] == [0, None]
    assert result.rounds[-1] == IrvRound((0, 1, 2), eliminated=None, exhausted=1)
    assert result.winners == (2,)


def test_irv_reports_a_tie_when_all_standing_options_are_level():
    result = ranked(ABC, {"0,2": 2, "1,2": 2, "2,0": 1, "2,1": 1})
    # Round 1: A 2, B 2, C 2 of 6: all level, so a three-way tie, no elimination.
    assert result.rounds == (IrvRound((2, 2, 2), eliminated=None, exhausted=0),)
    assert result.winners == (0, 1, 2)
    assert result.outcome == "Tie between A, B and C in round 1 (2 ballots each)."

    # A tie that appears after an elimination: A 4, B 3, C 3 -> C (Borda 6 against B's 7) goes; two of
    # its ballots ranked nothing else, one goes to B: A 4, B 4 with 2 exhausted.
    result = ranked(ABC, {"0": 4, "1": 3, "2": 2, "2,1": 1})
    assert result.rounds[0] == IrvRound((4, 3, 3), eliminated=2, exhausted=0)
    assert result.rounds[-1] == IrvRound((4, 4, 0), eliminated=None, exhausted=2)
    assert result.winners == (0, 1)


def test_irv_majority_in_the_first_round():
    result = ranked(ABC, {"1,0": 3, "0": 2})
    assert result.rounds == (IrvRound((2, 3, 0), eliminated=None, exhausted=0),)
    assert result.winners == (1,)
    assert result.outcome == "B wins in round 1 with 3 of 5 continuing ballots."


def test_irv_no_votes():
    result = ranked(ABC, {})
    assert result.rounds == ()
    assert result.winners == ()
    assert result.borda == [0, 0, 0]
    assert result.outcome == "No votes, so no winner."


def test_borda_partial_rankings():
    # With 3 options: 2 points for a first place, 1 for a second; an unranked option gets nothing.
    result = ranked(ABC, {"0,1": 2, "2": 1})
    assert result.borda == [4, 2, 2]
    assert result.option_totals == [2, 0, 1]


def test_every_position_type_carries_its_rule_beside_its_sentence() -> None:
    """A type with positions decides by its own rule; an option type has none (the most wins)."""
    from governance.decision_types import DECISION_TYPES

    for decision_type in DECISION_TYPES.values():
        assert (decision_type.decide is None) == decision_type.uses_options, decision_type.kind
